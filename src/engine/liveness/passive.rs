//! Passive deny-cues on one frame: signs that the camera filmed a screen or
//! a print instead of a face. No model that can *confirm* liveness ships in
//! any registry package, so the local passive check can only look for the
//! known traces of a replay:
//!
//! - **moiré**: a screen's pixel grid beating with the camera's sensor makes
//!   narrow, isolated peaks in the face's spectrum, far above the smooth
//!   radial fall-off of a natural face;
//! - **glare**: a glossy screen or photo reflects light sources into
//!   clipped white blobs over the face;
//! - **bezel**: straight edges enclosing the face on three or four sides
//!   (a phone, tablet or print held up to the camera);
//! - **blur**: a re-photographed picture is usually soft.
//!
//! Each cue is a strength in 0..1. What it cannot catch: a sharp print or a
//! high-resolution screen filling the frame without reflections, a mask, a
//! deepfake injected as the camera stream. The local passive score is
//! therefore capped (see [`super::LOCAL_PASSIVE_CEILING`]).

use serde::Serialize;

use super::gray::Gray;

/// A face box in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// The measured cues of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveCues {
    /// Largest spectral peak above its ring's median (natural log units).
    pub moire_peak: f64,
    pub moire: f64,
    /// Fraction of clipped-white pixels in the face box.
    pub glare_fraction: f64,
    pub glare: f64,
    /// Sides of an enclosing rectangle found (0..4).
    pub bezel_sides: u8,
    pub bezel: f64,
    /// Variance of the Laplacian of the face resampled to 128 px.
    pub sharpness: f64,
    pub blur: f64,
    /// 0..1: 1 when no cue fired.
    pub evidence: f64,
}

// Calibration (see tests/it/liveness.rs for the synthetic replays used).
const MOIRE_CLEAN: f64 = 3.0;
const MOIRE_FULL: f64 = 5.0;
const GLARE_CLEAN: f64 = 0.05;
const GLARE_FULL: f64 = 0.25;
const SHARP_OK: f64 = 30.0;
const SHARP_BLURRED: f64 = 8.0;

fn ramp(value: f64, clean: f64, full: f64) -> f64 {
    ((value - clean) / (full - clean)).clamp(0.0, 1.0)
}

/// Measures every cue on `image` (the passive frame) around `face`.
pub fn measure(image: &Gray, rgb: &image::RgbImage, face: Rect) -> PassiveCues {
    let moire_peak = spectral_peak(image, face);
    let glare_fraction = clipped_fraction(rgb, face);
    let bezel_sides = enclosing_sides(image, face);
    let sharpness = laplacian_variance(image, face);
    let moire = ramp(moire_peak, MOIRE_CLEAN, MOIRE_FULL);
    let glare = ramp(glare_fraction, GLARE_CLEAN, GLARE_FULL);
    // Two straight sides are common in real scenes (a door, a shelf, the
    // shoulders' line); a screen or print held up shows three or four.
    let bezel = match bezel_sides {
        0..=2 => 0.0,
        3 => 0.7,
        _ => 1.0,
    };
    let blur = ramp(-sharpness, -SHARP_OK, -SHARP_BLURRED);
    let evidence = (1.0 - 0.7 * moire) * (1.0 - 0.5 * glare) * (1.0 - 0.7 * bezel) * (1.0 - 0.5 * blur);
    PassiveCues { moire_peak, moire, glare_fraction, glare, bezel_sides, bezel, sharpness, blur, evidence }
}

// ---------------------------------------------------------------- moiré

const FFT_N: usize = 128;

fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * std::f64::consts::PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (ang * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let (tr, ti) = (re[b] * c - im[b] * s, re[b] * s + im[b] * c);
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// Log-magnitude spectrum peak above the median of its frequency ring, over
/// mid-to-high frequencies of the Hann-windowed face box.
pub fn spectral_peak(image: &Gray, face: Rect) -> f64 {
    // At the frame's own resolution (the centre of a large face): resampling
    // the whole face box would average a fine screen grid away.
    let n = FFT_N as f32;
    let window = if face.w.min(face.h) >= n {
        (face.x + face.w / 2.0 - n / 2.0, face.y + face.h / 2.0 - n / 2.0, n, n)
    } else {
        (face.x, face.y, face.w, face.h)
    };
    let patch = image.crop_resize(window, FFT_N, FFT_N);
    let mean = patch.data.iter().map(|v| f64::from(*v)).sum::<f64>() / (FFT_N * FFT_N) as f64;
    let hann: Vec<f64> =
        (0..FFT_N).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (FFT_N - 1) as f64).cos()).collect();
    let mut re: Vec<f64> = (0..FFT_N * FFT_N)
        .map(|i| (f64::from(patch.data[i]) - mean) * hann[i % FFT_N] * hann[i / FFT_N])
        .collect();
    let mut im = vec![0.0; FFT_N * FFT_N];
    for row in 0..FFT_N {
        let r = row * FFT_N..(row + 1) * FFT_N;
        fft(&mut re[r.clone()], &mut im[r]);
    }
    let (mut col_re, mut col_im) = (vec![0.0; FFT_N], vec![0.0; FFT_N]);
    for col in 0..FFT_N {
        for row in 0..FFT_N {
            col_re[row] = re[row * FFT_N + col];
            col_im[row] = im[row * FFT_N + col];
        }
        fft(&mut col_re, &mut col_im);
        for row in 0..FFT_N {
            re[row * FFT_N + col] = col_re[row];
            im[row * FFT_N + col] = col_im[row];
        }
    }
    // Rings of integer radius over the upper half plane (the spectrum of a
    // real image is symmetric).
    let half = FFT_N as i64 / 2;
    let (r_min, r_max) = (12usize, 60usize);
    let mut rings: Vec<Vec<f64>> = vec![Vec::new(); r_max + 1];
    for ky in 0..=half {
        for kx in -half + 1..=half {
            let r = ((kx * kx + ky * ky) as f64).sqrt().round() as usize;
            if r < r_min || r > r_max || (ky == 0 && kx < 0) {
                continue;
            }
            let (row, col) = (ky as usize, kx.rem_euclid(FFT_N as i64) as usize);
            let i = row * FFT_N + col;
            rings[r].push((re[i] * re[i] + im[i] * im[i]).sqrt().max(1e-9).ln());
        }
    }
    let mut peak: f64 = 0.0;
    for ring in rings.iter_mut().filter(|r| r.len() >= 8) {
        let max = ring.iter().copied().fold(f64::MIN, f64::max);
        ring.sort_by(|a, b| a.total_cmp(b));
        let median = ring[ring.len() / 2];
        peak = peak.max(max - median);
    }
    peak
}

// ---------------------------------------------------------------- glare

fn clipped_fraction(rgb: &image::RgbImage, face: Rect) -> f64 {
    let (w, h) = (rgb.width() as f32, rgb.height() as f32);
    let x0 = face.x.clamp(0.0, w) as u32;
    let y0 = face.y.clamp(0.0, h) as u32;
    let x1 = (face.x + face.w).clamp(0.0, w) as u32;
    let y1 = (face.y + face.h).clamp(0.0, h) as u32;
    let (mut clipped, mut total) = (0u64, 0u64);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = rgb.get_pixel(x, y);
            total += 1;
            if p[0] >= 245 && p[1] >= 245 && p[2] >= 245 {
                clipped += 1;
            }
        }
    }
    if total == 0 { 0.0 } else { clipped as f64 / total as f64 }
}

// ---------------------------------------------------------------- bezel

const BEZEL_MAX_SIDE: usize = 480;
/// Gradient magnitude of an edge (gray levels per pixel, Sobel / 4).
const EDGE_MIN: f32 = 12.0;

/// Counts the sides of a rectangle around the face: a straight edge above,
/// below, left and right of it, each longer than the face and spanning it,
/// within two face sizes.
fn enclosing_sides(image: &Gray, face: Rect) -> u8 {
    let small = image.downscaled(BEZEL_MAX_SIDE);
    let s = small.width as f32 / image.width.max(1) as f32;
    let f = Rect { x: face.x * s, y: face.y * s, w: face.w * s, h: face.h * s };
    let (w, h) = (small.width, small.height);
    if w < 8 || h < 8 || f.w < 4.0 || f.h < 4.0 {
        return 0;
    }
    // Horizontal edges (strong vertical gradient) and vertical edges.
    let mut horizontal = vec![false; w * h];
    let mut vertical = vec![false; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let p = |dx: isize, dy: isize| small.at((x as isize + dx) as usize, (y as isize + dy) as usize);
            let gx = (p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1)) / 4.0;
            let gy = (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1)) / 4.0;
            horizontal[y * w + x] = gy.abs() >= EDGE_MIN && gy.abs() > 2.0 * gx.abs();
            vertical[y * w + x] = gx.abs() >= EDGE_MIN && gx.abs() > 2.0 * gy.abs();
        }
    }
    // The longest run of edge pixels along a line, tolerating 2-pixel gaps
    // and a one-pixel wobble across it.
    let run = |along: &mut dyn Iterator<Item = bool>| {
        let (mut best, mut current, mut gap) = (0usize, 0usize, 0usize);
        for on in along {
            if on {
                current += 1 + gap;
                gap = 0;
            } else if current > 0 && gap < 2 {
                gap += 1;
            } else {
                current = 0;
                gap = 0;
            }
            best = best.max(current);
        }
        best
    };
    let row_has_edge = |y: usize, x0: usize, x1: usize| {
        let len = run(&mut (x0..x1).map(|x| (y.saturating_sub(1)..=(y + 1).min(h - 1)).any(|yy| horizontal[yy * w + x])));
        len as f32 >= 1.1 * f.w
    };
    let col_has_edge = |x: usize, y0: usize, y1: usize| {
        let len = run(&mut (y0..y1).map(|y| (x.saturating_sub(1)..=(x + 1).min(w - 1)).any(|xx| vertical[y * w + xx])));
        len as f32 >= 1.1 * f.h
    };
    let clamp_x = |v: f32| v.clamp(0.0, (w - 1) as f32) as usize;
    let clamp_y = |v: f32| v.clamp(0.0, (h - 1) as f32) as usize;
    // Lines must span the face's extent on that axis.
    let (span_x0, span_x1) = (clamp_x(f.x - 1.2 * f.w), clamp_x(f.x + 2.2 * f.w));
    let (span_y0, span_y1) = (clamp_y(f.y - 1.2 * f.h), clamp_y(f.y + 2.2 * f.h));
    let spans_face_x = |y: usize| row_has_edge(y, span_x0, span_x1);
    let top = (clamp_y(f.y - 2.0 * f.h)..clamp_y(f.y - 0.15 * f.h)).any(spans_face_x);
    let bottom = (clamp_y(f.y + 1.35 * f.h)..clamp_y(f.y + 3.0 * f.h)).any(spans_face_x);
    let left = (clamp_x(f.x - 2.0 * f.w)..clamp_x(f.x - 0.1 * f.w)).any(|x| col_has_edge(x, span_y0, span_y1));
    let right = (clamp_x(f.x + 1.1 * f.w)..clamp_x(f.x + 3.0 * f.w)).any(|x| col_has_edge(x, span_y0, span_y1));
    [top, bottom, left, right].into_iter().filter(|b| *b).count() as u8
}

// ---------------------------------------------------------------- sharpness

fn laplacian_variance(image: &Gray, face: Rect) -> f64 {
    // The central part of the face box: skin, eyes, nose, mouth.
    let inner = (face.x + 0.15 * face.w, face.y + 0.15 * face.h, 0.7 * face.w, 0.7 * face.h);
    // At most the face's own resolution: upsampling a small face would
    // soften it and read as blur.
    let n = (inner.2.min(inner.3).round() as usize).clamp(32, 128);
    let p = image.crop_resize(inner, n, n);
    let mut values = Vec::with_capacity((n - 2) * (n - 2));
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let l = p.at(x - 1, y) + p.at(x + 1, y) + p.at(x, y - 1) + p.at(x, y + 1) - 4.0 * p.at(x, y);
            values.push(f64::from(l));
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn textured(w: usize, h: usize) -> Gray {
        // Smooth pseudo-random texture: a sum of a few blurry bumps.
        let mut g = Gray::new(w, h);
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) as f32) / (u32::MAX >> 1) as f32
        };
        let bumps: Vec<(f32, f32, f32, f32)> =
            (0..400).map(|_| (rnd() * w as f32, rnd() * h as f32, 2.0 + rnd() * 10.0, rnd() * 60.0 - 30.0)).collect();
        for y in 0..h {
            for x in 0..w {
                let mut v = 128.0;
                for (bx, by, r, a) in &bumps {
                    let d2 = (x as f32 - bx).powi(2) + (y as f32 - by).powi(2);
                    if d2 < 9.0 * r * r {
                        v += a * (-d2 / (2.0 * r * r)).exp();
                    }
                }
                g.data[y * w + x] = v;
            }
        }
        g
    }

    #[test]
    fn a_grating_makes_a_spectral_peak() {
        let face = Rect { x: 40.0, y: 40.0, w: 160.0, h: 160.0 };
        let clean = textured(240, 240);
        let mut screen = clean.clone();
        for y in 0..240 {
            for x in 0..240 {
                let phase = 2.0 * std::f32::consts::PI * (0.23 * x as f32 + 0.11 * y as f32);
                screen.data[y * 240 + x] += 10.0 * phase.sin();
            }
        }
        let (a, b) = (spectral_peak(&clean, face), spectral_peak(&screen, face));
        assert!(a < MOIRE_CLEAN, "clean texture peak {a}");
        assert!(b > MOIRE_FULL, "grating peak {b}");
    }

    #[test]
    fn a_frame_around_the_face_is_found() {
        let face = Rect { x: 100.0, y: 80.0, w: 80.0, h: 90.0 };
        let plain = textured(320, 320);
        assert!(enclosing_sides(&plain, face) <= 1);
        let mut framed = plain.clone();
        for y in 0..320 {
            for x in 0..320 {
                let inside = (50..260).contains(&x) && (30..280).contains(&y);
                if !inside {
                    framed.data[y * 320 + x] = 10.0;
                }
            }
        }
        assert_eq!(enclosing_sides(&framed, face), 4);
    }

    #[test]
    fn blur_lowers_the_laplacian_variance() {
        let face = Rect { x: 20.0, y: 20.0, w: 200.0, h: 200.0 };
        let sharp = textured(240, 240);
        let mut blurred = sharp.clone();
        for _ in 0..6 {
            let src = blurred.clone();
            for y in 1..239 {
                for x in 1..239 {
                    let s: f32 = (0..3).flat_map(|dy| (0..3).map(move |dx| (dx, dy))).map(|(dx, dy)| src.at(x + dx - 1, y + dy - 1)).sum();
                    blurred.data[y * 240 + x] = s / 9.0;
                }
            }
        }
        let (b, s) = (laplacian_variance(&blurred, face), laplacian_variance(&sharp, face));
        assert!(b < s, "blurred {b} vs sharp {s}");
    }
}
