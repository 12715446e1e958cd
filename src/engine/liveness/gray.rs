//! A small grayscale float image with the sampling the liveness checks need.

use image::RgbImage;

#[derive(Debug, Clone)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Gray {
    pub fn from_rgb(img: &RgbImage) -> Gray {
        let data = img
            .pixels()
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Gray { width: img.width() as usize, height: img.height() as usize, data }
    }

    pub fn new(width: usize, height: usize) -> Gray {
        Gray { width, height, data: vec![0.0; width * height] }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear sample; coordinates outside are clamped to the border.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        if self.width == 0 || self.height == 0 || !x.is_finite() || !y.is_finite() {
            return 0.0;
        }
        let x = x.clamp(0.0, (self.width - 1) as f32);
        let y = y.clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// The rectangle `(x, y, w, h)` (clamped to the image) resampled to
    /// `out_w × out_h` by area averaging, so high frequencies alias as
    /// little as a box filter allows.
    pub fn crop_resize(&self, rect: (f32, f32, f32, f32), out_w: usize, out_h: usize) -> Gray {
        let mut out = Gray::new(out_w, out_h);
        if self.width == 0 || self.height == 0 || out_w == 0 || out_h == 0 {
            return out;
        }
        let (rx, ry, rw, rh) = rect;
        let x0 = rx.clamp(0.0, self.width as f32 - 1.0);
        let y0 = ry.clamp(0.0, self.height as f32 - 1.0);
        let x1 = (rx + rw).clamp(x0 + 1.0, self.width as f32);
        let y1 = (ry + rh).clamp(y0 + 1.0, self.height as f32);
        let (sx, sy) = ((x1 - x0) / out_w as f32, (y1 - y0) / out_h as f32);
        // Up to 4x4 taps per output pixel: enough to average a cell.
        let taps_x = (sx.ceil() as usize).clamp(1, 4);
        let taps_y = (sy.ceil() as usize).clamp(1, 4);
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut acc = 0.0;
                for ty in 0..taps_y {
                    for tx in 0..taps_x {
                        let x = x0 + (ox as f32 + (tx as f32 + 0.5) / taps_x as f32) * sx - 0.5;
                        let y = y0 + (oy as f32 + (ty as f32 + 0.5) / taps_y as f32) * sy - 0.5;
                        acc += self.sample(x, y);
                    }
                }
                out.data[oy * out_w + ox] = acc / (taps_x * taps_y) as f32;
            }
        }
        out
    }

    /// Halves the image until its longer side is at most `max_side`.
    pub fn downscaled(&self, max_side: usize) -> Gray {
        let longer = self.width.max(self.height);
        if longer <= max_side || longer == 0 {
            return self.clone();
        }
        let scale = max_side as f32 / longer as f32;
        let (w, h) = (((self.width as f32 * scale) as usize).max(1), ((self.height as f32 * scale) as usize).max(1));
        self.crop_resize((0.0, 0.0, self.width as f32, self.height as f32), w, h)
    }
}

/// Zero-mean normalised cross-correlation of two equally sized patches
/// (1 = identical up to brightness and contrast). Flat patches give 0.
pub fn ncc(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let n = a.len() as f64;
    let ma = a.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let mb = b.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(*x) - ma, f64::from(*y) - mb);
        ab += dx * dy;
        aa += dx * dx;
        bb += dy * dy;
    }
    if aa < 1e-6 || bb < 1e-6 { 0.0 } else { ab / (aa * bb).sqrt() }
}
