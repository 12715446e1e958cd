//! Synthetic liveness frames from one face photo (shared by liveness.rs
//! and benches/liveness.rs).
//!
//! A head turn is rendered by giving the face a depth map — an ellipsoid for
//! the head plus a bump for the nose — and rotating it: every output pixel
//! looks up the source pixel whose rotated position lands on it (a few
//! fixed-point iterations of the inverse map). The near side of the face
//! stretches, the far side compresses and the nose moves more than the eyes,
//! as on a real turn; a flat warp of a photo would not move the nose
//! relative to the eyes at all. A smile pulls the mouth corners outwards and
//! up with a smooth displacement field.
#![allow(dead_code)]

use image::{Rgb, RgbImage};

/// Where the face is, from the detector's 5 landmarks.
#[derive(Debug, Clone, Copy)]
pub struct FaceGeometry {
    /// Midpoint between the eyes.
    pub eyes_mid: (f32, f32),
    /// Inter-eye distance (pixels).
    pub eye_distance: f32,
    /// Base of the nose.
    pub nose: (f32, f32),
}

impl FaceGeometry {
    pub fn from_landmarks(l: &[(f32, f32); 5]) -> Self {
        let a = ((l[0].0 + l[1].0) / 2.0, (l[0].1 + l[1].1) / 2.0);
        let b = ((l[2].0 + l[3].0) / 2.0, (l[2].1 + l[3].1) / 2.0);
        let eyes_mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        FaceGeometry { eyes_mid, eye_distance: (a.0 - b.0).hypot(a.1 - b.1), nose: l[4] }
    }

    /// Head centre (in the image plane) and ellipsoid semi-axes.
    fn head(&self) -> ((f32, f32), f32, f32, f32) {
        let d = self.eye_distance;
        let centre = (self.eyes_mid.0, self.eyes_mid.1 + 0.55 * d);
        (centre, 1.25 * d, 1.7 * d, 1.0 * d)
    }

    /// Depth of the face surface at an image point (0 outside the head).
    fn depth(&self, x: f32, y: f32) -> f32 {
        let ((cx, cy), a, b, c) = self.head();
        let (u, v) = ((x - cx) / a, (y - cy) / b);
        let r = 1.0 - u * u - v * v;
        let head = if r > 0.0 { c * r.sqrt() } else { 0.0 };
        // The nose: a ridge from between the eyes to the nose base.
        let d = self.eye_distance;
        let (nx, ny) = (self.nose.0, self.nose.1 - 0.15 * d);
        let dn = ((x - nx) / (0.22 * d)).powi(2) + ((y - ny) / (0.45 * d)).powi(2);
        head + 0.3 * d * (-dn).exp()
    }
}

fn sample(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x = x.clamp(0.0, w - 1.0);
    let y = y.clamp(0.0, h - 1.0);
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(img.width() - 1), (y0 + 1).min(img.height() - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let p = |xx, yy| f32::from(img.get_pixel(xx, yy)[c]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        *o = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    Rgb(out)
}

/// Rotates the head by `yaw` (positive: the nose moves to the image's right,
/// the subject turns to their left) and `pitch` (positive: looks up), degrees.
pub fn turn_head(img: &RgbImage, g: &FaceGeometry, yaw: f32, pitch: f32) -> RgbImage {
    let ((cx, cy), _, _, _) = g.head();
    let (sy, cyw) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    RgbImage::from_fn(img.width(), img.height(), |ox, oy| {
        let (ox, oy) = (ox as f32, oy as f32);
        // Forward: x' = cx + dx·cos(yaw) + z·sin(yaw); y' = cy + dy·cos(pitch) − z·sin(pitch).
        let (mut x, mut y) = (ox, oy);
        for _ in 0..12 {
            let z = g.depth(x, y);
            let nx = cx + (ox - cx - z * sy) / cyw;
            let ny = cy + (oy - cy + z * sp) / cp;
            x = 0.5 * x + 0.5 * nx;
            y = 0.5 * y + 0.5 * ny;
        }
        sample(img, x, y)
    })
}

/// Pulls the mouth corners outwards and up (a smile's geometry).
pub fn smile(img: &RgbImage, g: &FaceGeometry, strength: f32) -> RgbImage {
    let d = g.eye_distance;
    let mouth = (g.nose.0, g.nose.1 + 0.5 * d);
    let corners = [(mouth.0 - 0.42 * d, mouth.1, -1.0f32), (mouth.0 + 0.42 * d, mouth.1, 1.0f32)];
    let sigma2 = (0.22 * d).powi(2);
    RgbImage::from_fn(img.width(), img.height(), |ox, oy| {
        let (x, y) = (ox as f32, oy as f32);
        let (mut dx, mut dy) = (0.0, 0.0);
        for (kx, ky, side) in corners {
            let w = (-((x - kx).powi(2) + (y - ky).powi(2)) / (2.0 * sigma2)).exp();
            dx += w * side * 0.14 * d * strength;
            dy -= w * 0.12 * d * strength;
        }
        // Lips part a little: the centre of the mouth opens.
        let wc = (-((x - mouth.0).powi(2) / (2.0 * (0.3 * d).powi(2)) + (y - mouth.1).powi(2) / (2.0 * (0.08 * d).powi(2)))).exp();
        let lighten = wc * 40.0 * strength;
        let p = sample(img, x - dx, y - dy);
        Rgb([
            (f32::from(p[0]) + lighten).min(255.0) as u8,
            (f32::from(p[1]) + lighten).min(255.0) as u8,
            (f32::from(p[2]) + lighten).min(255.0) as u8,
        ])
    })
}

/// Adds a fine diagonal grating, the trace a screen's pixel grid leaves.
pub fn moire(img: &RgbImage, amplitude: f32, period: f32) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let phase = 2.0 * std::f32::consts::PI * (x as f32 * 0.8 + y as f32 * 0.6) / period;
        let p = img.get_pixel(x, y);
        let add = amplitude * phase.sin();
        Rgb([0, 1, 2].map(|c| (f32::from(p[c]) + add).clamp(0.0, 255.0) as u8))
    })
}

/// Puts the photo on a "phone": a dark bezel around a shrunken copy.
pub fn on_screen(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let (mx, my) = (w / 6, h / 8);
    RgbImage::from_fn(w, h, |x, y| {
        let inside = x >= mx && x < w - mx && y >= my && y < h - my;
        if inside {
            let sx = (x - mx) as f32 * w as f32 / (w - 2 * mx) as f32;
            let sy = (y - my) as f32 * h as f32 / (h - 2 * my) as f32;
            sample(img, sx, sy)
        } else {
            Rgb([18, 18, 22])
        }
    })
}

/// A photo replayed on a phone held up to the camera: a wall around the
/// phone, a dark bezel, the screen showing a shrunken copy with its pixel
/// grid beating against the camera's sensor (a fine grating), a glare spot
/// of a lamp on the glass, and the softness of re-photographing.
pub fn screen_replay(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    // The phone: 64% of the frame width, the photo's aspect ratio.
    let (sw, sh) = (0.64 * w, (0.64 * w * h / w).min(0.8 * h));
    let (sx0, sy0) = ((w - sw) / 2.0, (h - sh) / 2.0);
    let bezel = 0.05 * w;
    let glare = (sx0 + 0.75 * sw, sy0 + 0.2 * sh, 0.12 * sw);
    let sharp = RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let (x, y) = (x as f32, y as f32);
        let (u, v) = ((x - sx0) / sw, (y - sy0) / sh);
        if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v) {
            let p = sample(img, u * (w - 1.0), v * (h - 1.0));
            let d2 = ((x - glare.0).powi(2) + (y - glare.1).powi(2)) / glare.2.powi(2);
            let shine = 150.0 * (-d2).exp();
            Rgb([0, 1, 2].map(|c| (f32::from(p[c]) * 0.9 + shine).clamp(0.0, 255.0) as u8))
        } else if x > sx0 - bezel && x < sx0 + sw + bezel && y > sy0 - bezel && y < sy0 + sh + bezel {
            Rgb([20, 20, 24])
        } else {
            // A plain wall, lit from one side.
            let l = 190.0 - 40.0 * x / w;
            Rgb([l as u8, (l * 0.95) as u8, (l * 0.85) as u8])
        }
    });
    // Re-photographing softens (a 3x3 box blur: the optics), and the
    // sensor sampling the screen's pixel grid leaves a moiré beat over the
    // screen (after the optics, so not blurred).
    let inside = |x: u32, y: u32| {
        let (u, v) = ((x as f32 - sx0) / sw, (y as f32 - sy0) / sh);
        (0.0..1.0).contains(&u) && (0.0..1.0).contains(&v)
    };
    RgbImage::from_fn(sharp.width(), sharp.height(), |x, y| {
        let beat = if inside(x, y) {
            10.0 * (2.0 * std::f32::consts::PI * (0.8 * x as f32 + 0.6 * y as f32) / 5.5).sin()
        } else {
            0.0
        };
        let mut acc = [0u32; 3];
        for dy in 0..3 {
            for dx in 0..3 {
                let px = (x + dx).saturating_sub(1).min(sharp.width() - 1);
                let py = (y + dy).saturating_sub(1).min(sharp.height() - 1);
                let p = sharp.get_pixel(px, py);
                for c in 0..3 {
                    acc[c] += u32::from(p[c]);
                }
            }
        }
        Rgb(acc.map(|a| (a as f32 / 9.0 + beat).clamp(0.0, 255.0) as u8))
    })
}

/// Clean variants of a real photo that must never look like a replay:
/// JPEG re-compression and resizing.
pub fn clean_variants(img: &RgbImage) -> Vec<(String, RgbImage)> {
    use image::imageops::{FilterType, resize};
    let recompress = |q: u8| {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode_image(img).expect("jpeg encodes");
        image::load_from_memory(&out).expect("decodes").to_rgb8()
    };
    let (w, h) = (img.width(), img.height());
    vec![
        ("as is".into(), img.clone()),
        ("jpeg q30".into(), recompress(30)),
        ("jpeg q60".into(), recompress(60)),
        ("jpeg q90".into(), recompress(90)),
        ("half size".into(), resize(img, w / 2, h / 2, FilterType::Triangle)),
        ("0.75 size".into(), resize(img, w * 3 / 4, h * 3 / 4, FilterType::CatmullRom)),
        ("double size".into(), resize(img, w * 2, h * 2, FilterType::CatmullRom)),
    ]
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
    img.write_with_encoder(enc).expect("jpeg encodes");
    out
}
