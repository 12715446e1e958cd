//! Image restoration for the barcode cut-out: 1-D Wiener deconvolution
//! across the bars (of a Gaussian defocus, or of a linear motion blur: a
//! box) and a bicubic (Catmull-Rom) cut-out for small modules.
//!
//! After [`super::locate::cut_out`] the bars are vertical, so defocus that
//! smears them into each other can be undone along x only: a Gaussian blur
//! of sigma s has the transfer function H(f) = exp(-2 pi^2 s^2 f^2) and the
//! Wiener filter H / (H^2 + lambda) restores the frequencies that are still
//! above the noise. The filter is applied as a spatial kernel (its inverse
//! DFT, truncated where it has died out), so a row costs a short
//! convolution. Averaging along the bars first (the cut-out's rows of a
//! module or more) lowers the noise the filter amplifies.

use super::locate::{Plane, Region};
use image::{GrayImage, Luma};

/// The Wiener deconvolution kernel for a Gaussian blur of `sigma` px with
/// noise-to-signal `lambda`, normalised to a DC gain of 1.
pub fn wiener_kernel(sigma: f32, lambda: f32) -> Vec<f32> {
    let s = f64::from(sigma);
    wiener_of(|f| (-2.0 * std::f64::consts::PI.powi(2) * s * s * f * f).exp(), (5.0 * sigma).ceil() as usize + 4, lambda)
}

/// The Wiener deconvolution kernel for a linear motion blur of `length`
/// px across the bars (a box: H(f) = sin(pi L f) / (pi L f), whose lobes
/// past 1 / L invert the contrast of finer bars, which a Gaussian's
/// filter would sharpen inverted) with noise-to-signal `lambda`,
/// normalised to a DC gain of 1.
pub fn motion_wiener_kernel(length: f32, lambda: f32) -> Vec<f32> {
    let l = f64::from(length);
    let box_transfer = |f: f64| {
        let x = std::f64::consts::PI * l * f;
        if x.abs() < 1e-9 { 1.0 } else { x.sin() / x }
    };
    wiener_of(box_transfer, (3.0 * length).ceil() as usize + 4, lambda)
}

/// The spatial kernel (`radius` each side) of the Wiener filter H / (H^2 +
/// `lambda`) for the transfer function `h` (of cycles per px), normalised
/// to a DC gain of 1.
fn wiener_of(h: impl Fn(f64) -> f64, radius: usize, lambda: f32) -> Vec<f32> {
    let n = 1024usize.max(8 * radius);
    let spectrum: Vec<f64> = (0..n)
        .map(|k| {
            let h = h(k.min(n - k) as f64 / n as f64);
            h / (h * h + f64::from(lambda))
        })
        .collect();
    let mut kernel: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let t = i as f64 - radius as f64;
            spectrum.iter().enumerate().map(|(k, w)| w * (std::f64::consts::TAU * k as f64 * t / n as f64).cos()).sum::<f64>() / n as f64
        })
        .collect();
    let sum: f64 = kernel.iter().sum();
    if sum.abs() > 1e-9 {
        kernel.iter_mut().for_each(|v| *v /= sum);
    }
    kernel.into_iter().map(|v| v as f32).collect()
}

/// Convolves every row of `p` with `kernel` (odd length, centred; borders clamped).
pub fn convolve_x(p: &Plane, kernel: &[f32]) -> Plane {
    let r = kernel.len() / 2;
    let (w, h) = (p.w, p.h);
    let mut out = vec![0f32; w * h];
    let mut padded = vec![0f32; w + 2 * r];
    for y in 0..h {
        let row = &p.data[y * w..][..w];
        for (i, v) in padded.iter_mut().enumerate() {
            *v = row[i.saturating_sub(r).min(w - 1)];
        }
        let dst = &mut out[y * w..][..w];
        // Plain indexed loops: cheap in unoptimised builds too.
        let k = kernel.len();
        for x in 0..w {
            let window = &padded[x..x + k];
            let mut acc = 0.0;
            let mut i = 0;
            while i < k {
                acc += window[i] * kernel[i];
                i += 1;
            }
            dst[x] = acc;
        }
    }
    Plane { w, h, data: out }
}

/// Wiener deconvolution across the bars (x) of an upright cut-out.
pub fn deconvolve_x(p: &Plane, sigma: f32, lambda: f32) -> Plane {
    convolve_x(p, &wiener_kernel(sigma, lambda))
}

/// Catmull-Rom weights for the fractional offset `t`.
fn cubic_weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// Like [`super::locate::cut_out`] (same geometry) but bicubic: enlarging a
/// symbol whose modules are 1-2 px keeps their contrast, where bilinear
/// interpolation flattens them. Returns floats (no clamping of overshoot).
pub fn cut_out_cubic(img: &GrayImage, region: &Region, margin: f32, scale: f32) -> Plane {
    let g = super::locate::CutOut::new(region, margin, scale);
    let (ow, oh) = (g.width, g.height);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut out = vec![255f32; ow * oh];
    for oy in 0..oh {
        for ox in 0..ow {
            let (sx, sy) = g.source(ox, oy);
            if sx < 1.0 || sy < 1.0 {
                continue;
            }
            let (xi, yi) = (sx as usize, sy as usize);
            if xi + 2 >= w || yi + 2 >= h {
                continue;
            }
            let (wx, wy) = (cubic_weights(sx - xi as f32), cubic_weights(sy - yi as f32));
            let mut acc = 0.0;
            for (j, wyj) in wy.iter().enumerate() {
                let row = (yi + j - 1) * w;
                let mut racc = 0.0;
                for (i, wxi) in wx.iter().enumerate() {
                    racc += f32::from(src[row + xi + i - 1]) * wxi;
                }
                acc += racc * wyj;
            }
            out[oy * ow + ox] = acc;
        }
    }
    Plane { w: ow, h: oh, data: out }
}

/// A plane as an 8-bit image, stretched so its 1st..99th percentile spans 0..255.
pub fn stretch(p: &Plane) -> GrayImage {
    let mut sample: Vec<f32> = p.data.iter().step_by(7).copied().collect();
    if sample.is_empty() {
        return GrayImage::from_pixel(1, 1, Luma([255]));
    }
    sample.sort_by(f32::total_cmp);
    let lo = sample[sample.len() / 100];
    let hi = sample[sample.len() * 99 / 100];
    let k = if hi - lo > 1e-3 { 255.0 / (hi - lo) } else { 1.0 };
    Plane { w: p.w, h: p.h, data: p.data.iter().map(|v| (v - lo) * k).collect() }.to_gray()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiener_undoes_a_gaussian_blur_of_bars() {
        // Bars of 4 px, blurred with sigma 3: contrast almost gone, restored by the filter.
        let w = 200;
        let row: Vec<f32> = (0..w).map(|x| if (x / 4) % 2 == 0 { 40.0 } else { 220.0 }).collect();
        let p = Plane { w, h: 1, data: row.clone() };
        let g = 3.0f32;
        let blur_kernel: Vec<f32> = {
            let r = 12i32;
            let k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * g * g)).exp()).collect();
            let s: f32 = k.iter().sum();
            k.iter().map(|v| v / s).collect()
        };
        let blurred = convolve_x(&p, &blur_kernel);
        let contrast = |d: &[f32]| {
            let mid = &d[60..140];
            mid.iter().copied().fold(f32::MIN, f32::max) - mid.iter().copied().fold(f32::MAX, f32::min)
        };
        assert!(contrast(&blurred.data) < 20.0, "blurred contrast {}", contrast(&blurred.data));
        let restored = deconvolve_x(&blurred, g, 1e-4);
        assert!(contrast(&restored.data) > 100.0, "restored contrast {}", contrast(&restored.data));
        // Bars on the right side of the threshold.
        let mean = 130.0;
        let agree = (60..140).filter(|&x| (restored.data[x] < mean) == (row[x] < mean)).count();
        assert!(agree >= 76, "{agree}/80");
    }

    #[test]
    fn the_motion_filter_undoes_a_box_blur_that_inverts_fine_bars() {
        // Bars and spaces of 4, 8 and 12 px (period 8 px = 0.125 cycles/px:
        // past the first zero of a 10 px box at 0.1, so inverted by it).
        let w = 400;
        let widths = [4usize, 8, 4, 12, 4, 4, 8, 4, 12, 8];
        let mut row = Vec::with_capacity(w);
        let mut dark = true;
        while row.len() < w {
            for &width in &widths {
                row.extend(std::iter::repeat_n(if dark { 40.0f32 } else { 220.0 }, width));
                dark = !dark;
            }
        }
        row.truncate(w);
        let p = Plane { w, h: 1, data: row.clone() };
        let box10: Vec<f32> = (0..11).map(|i| if i == 0 || i == 10 { 0.05 } else { 0.1 }).collect();
        let blurred = convolve_x(&p, &box10);
        let mean = 130.0;
        let agree = |d: &[f32]| (100..300).filter(|&x| (d[x] < mean) == (row[x] < mean)).count();
        // At the cascade's noise-to-signal (measured: 194, 153 and 144 of 200).
        let motion = convolve_x(&blurred, &motion_wiener_kernel(10.0, 1e-2));
        let gaussian = deconvolve_x(&blurred, 10.0 / 12f32.sqrt(), 1e-2);
        let (m, g, b) = (agree(&motion.data), agree(&gaussian.data), agree(&blurred.data));
        assert!(m >= 185 && m > g + 25 && m > b + 30, "motion filter {m}/200, the Gaussian's {g}/200, blurred {b}/200");
    }
}
