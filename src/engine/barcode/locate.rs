//! Finding the barcode in a photo and cutting it out straight.
//!
//! A PDF417 symbol is a patch of many parallel edges: its gradient structure
//! tensor, summed over a neighbourhood, has a high energy and a coherence
//! near 1, unlike text, faces or backgrounds. [`locate`] finds the largest
//! such patch (tensor summed per block of a coarse grid, gradients taken at
//! full resolution so fine modules do not alias), joined with the pieces a
//! glare stripe cut off it, refines its angle by the sharpest projection of
//! its pixels ([`refine_angle`]) and returns it as an oriented rectangle
//! ([`locate_all`]: the next largest too); [`cut_out`] resamples that
//! rectangle upright (bars vertical) at any scale. The hot loops work on
//! plain slices, so they stay cheap in unoptimised (test) builds.

use image::{GrayImage, Luma};

/// The coarse grid of the locator has about this many blocks on the long side.
const LOCATE_SIDE: u32 = 640;

/// An oriented rectangle around a barcode, in the coordinates of the image
/// it was found in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub center: (f32, f32),
    /// Direction across the bars (the symbol's rows), degrees from the x axis.
    pub angle_deg: f32,
    /// Extent across the bars and along them (px).
    pub length: f32,
    pub height: f32,
}

/// A grayscale image as floats.
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn from_gray(img: &GrayImage) -> Self {
        let data = img.as_raw().iter().map(|&v| f32::from(v)).collect();
        Plane { w: img.width() as usize, h: img.height() as usize, data }
    }

    pub fn to_gray(&self) -> GrayImage {
        let data = self.data.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect();
        GrayImage::from_raw(self.w as u32, self.h as u32, data).unwrap_or_else(|| GrayImage::new(1, 1))
    }
}

/// Box sums of radius `r` (clamped at the borders), separable running sums.
fn box_sum(data: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &data[y * w..][..w];
        let out = &mut tmp[y * w..][..w];
        let mut acc: f32 = row[..(r + 1).min(w)].iter().sum();
        for x in 0..w {
            out[x] = acc;
            if x + r + 1 < w {
                acc += row[x + r + 1];
            }
            if x >= r {
                acc -= row[x - r];
            }
        }
    }
    let mut out = vec![0f32; w * h];
    for x in 0..w {
        let mut acc: f32 = (0..(r + 1).min(h)).map(|y| tmp[y * w + x]).sum();
        for y in 0..h {
            out[y * w + x] = acc;
            if y + r + 1 < h {
                acc += tmp[(y + r + 1) * w + x];
            }
            if y >= r {
                acc -= tmp[(y - r) * w + x];
            }
        }
    }
    out
}

/// The most barcode-like patch of `img`, if any.
pub fn locate(img: &GrayImage) -> Option<Region> {
    locate_all(img, 1).into_iter().next()
}

/// The `max` most barcode-like patches of `img`, best first (the best
/// patch's pieces joined into it, see `join_split_patches`); a patch
/// under a tenth of the best one's score is not given. Under heavy
/// defocus a card's block of text lines can outscore the symbol, and the
/// card's edges or a patterned background can come between them.
pub fn locate_all(img: &GrayImage, max: usize) -> Vec<Region> {
    locate_patches(img, max).unwrap_or_default()
}

fn locate_patches(img: &GrayImage, max: usize) -> Option<Vec<Region>> {
    let long = img.width().max(img.height());
    let factor = long.div_ceil(LOCATE_SIDE).max(1) as usize;
    let (fw, fh) = (img.width() as usize, img.height() as usize);
    let (w, h) = (fw / factor, fh / factor);
    if w < 16 || h < 16 {
        return None;
    }
    // Gradients at full resolution (fine modules would alias on a small
    // copy), their tensor summed per factor x factor block.
    let p = img.as_raw();
    let (mut jxx, mut jyy, mut jxy) = (vec![0f32; w * h], vec![0f32; w * h], vec![0f32; w * h]);
    for y in 1..(h * factor).min(fh - 1) {
        let by = y / factor;
        for x in 1..(w * factor).min(fw - 1) {
            let i = y * fw + x;
            let gx = f32::from(p[i + 1]) - f32::from(p[i - 1]);
            let gy = f32::from(p[i + fw]) - f32::from(p[i - fw]);
            let b = by * w + x / factor;
            jxx[b] += gx * gx;
            jyy[b] += gy * gy;
            jxy[b] += gx * gy;
        }
    }
    let r = (w.max(h) / 100).max(2);
    let (sxx, syy, sxy) = (box_sum(&jxx, w, h, r), box_sum(&jyy, w, h, r), box_sum(&jxy, w, h, r));
    // Score: energy x coherence^2 = ((sxx - syy)^2 + 4 sxy^2) / (sxx + syy).
    let score: Vec<f32> = (0..w * h)
        .map(|i| {
            let e = sxx[i] + syy[i];
            if e <= 1e-3 {
                return 0.0;
            }
            let d = sxx[i] - syy[i];
            (d * d + 4.0 * sxy[i] * sxy[i]) / e
        })
        .collect();
    let mut sorted: Vec<f32> = score.iter().copied().step_by(7).collect();
    sorted.sort_by(f32::total_cmp);
    let top = sorted[(sorted.len() * 995 / 1000).min(sorted.len() - 1)];
    if top <= 0.0 {
        return None;
    }
    // Seeds above 0.3 of the top score grow into blocks above 0.08 of it
    // whose orientation agrees with the seed's (hysteresis).
    let (seed_level, grow_level) = (top * 0.3, top * 0.08);
    let angle = |i: usize| 0.5 * (2.0 * sxy[i]).atan2(sxx[i] - syy[i]);
    let mut label = vec![false; w * h];
    // Every patch: (summed score, members).
    let mut patches: Vec<(f32, Vec<usize>)> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if label[start] || score[start] < seed_level {
            continue;
        }
        let seed_angle = angle(start);
        label[start] = true;
        stack.push(start);
        let mut members = Vec::new();
        let mut total = 0.0;
        while let Some(i) = stack.pop() {
            members.push(i);
            total += score[i];
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if !label[j] && score[j] >= grow_level && angle_gap(angle(j).to_degrees(), seed_angle.to_degrees()) < 15.0 {
                    label[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        patches.push((total, members));
    }
    // A patch's orientation from its summed tensor (gradient direction = across the bars).
    let orientation = |members: &[usize]| -> f32 {
        let (mut a, mut b, mut c) = (0f64, 0f64, 0f64);
        for &i in members {
            a += f64::from(jxx[i]);
            b += f64::from(jyy[i]);
            c += f64::from(jxy[i]);
        }
        (0.5 * (2.0 * c).atan2(a - b)).to_degrees() as f32
    };
    let mut regions = Vec::new();
    let mut used = vec![false; patches.len()];
    let mut top_score = None;
    while regions.len() < max {
        let Some(best) = (0..patches.len()).filter(|&k| !used[k]).max_by(|&i, &j| patches[i].0.total_cmp(&patches[j].0)) else { break };
        let top = *top_score.get_or_insert(patches[best].0);
        if patches[best].1.len() < (w * h) / 400 || patches[best].0 < top / 10.0 {
            break;
        }
        let (members, joined) = join_split_patches(&patches, best, &used, w, &orientation);
        for k in joined {
            used[k] = true;
        }
        regions.push(patch_region(img, &members, orientation(&members), w, factor));
    }
    Some(regions)
}

/// The oriented rectangle around a patch (`members`, blocks of a grid `w`
/// wide, `factor` px each) whose tensor gives the angle `coarse`.
fn patch_region(img: &GrayImage, members: &[usize], coarse: f32, w: usize, factor: usize) -> Region {
    // Fine modules alias on the small copy and bias its angle: refine it on
    // the full-resolution pixels of the patch's bounding box.
    let (mut bx0, mut by0, mut bx1, mut by1) = (usize::MAX, usize::MAX, 0, 0);
    for &i in members {
        let (x, y) = (i % w, i / w);
        (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x + 1), by1.max(y + 1));
    }
    let fine = dominant_angle(img, [bx0 * factor, by0 * factor, bx1 * factor, by1 * factor]);
    // The fine estimate is modulo 90 degrees: take the branch nearest the coarse one.
    let theta_deg = [fine - 90.0, fine, fine + 90.0]
        .into_iter()
        .min_by(|x, y| angle_gap(*x, coarse).total_cmp(&angle_gap(*y, coarse)))
        .unwrap_or(coarse);
    let theta = f64::from(theta_deg).to_radians();
    let (s, co) = (theta.sin() as f32, theta.cos() as f32);
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &i in members {
        let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
        let (u, v) = (x * co + y * s, -x * s + y * co);
        umin = umin.min(u);
        umax = umax.max(u);
        vmin = vmin.min(v);
        vmax = vmax.max(v);
    }
    let f = factor as f32;
    let (uc, vc) = ((umin + umax) / 2.0, (vmin + vmax) / 2.0);
    let center = ((uc * co - vc * s) * f, (uc * s + vc * co) * f);
    let length = (umax - umin) * f;
    let height = (vmax - vmin) * f;
    let mut region = Region { center, angle_deg: theta.to_degrees() as f32, length, height };
    region.angle_deg = refine_angle(img, &region);
    region
}

/// The best patch (of those not `used`) joined with the patches a glare stripe or a shadow cut
/// off it (a stripe of lost contrast through a symbol leaves two or three
/// pieces; the largest alone would cut an end pattern off). A piece has the
/// same orientation (within 6 degrees) and at least a twentieth of the best
/// patch's score, and either
/// - lies along the symbol's rows: at least 70 % of its extent along the
///   bars inside the joined band and covering 30 % of it, with a gap across
///   the bars of at most half the joined length (a card's edge, as tall as
///   the card, is not inside the band); or
/// - lies across them: 90 % of its length inside the joined length (a
///   second stripe may cut a piece shorter still), covering 30 % of it,
///   with a gap of at most 30 % of the joined height.
fn join_split_patches(patches: &[(f32, Vec<usize>)], best: usize, used: &[bool], w: usize, orientation: &dyn Fn(&[usize]) -> f32) -> (Vec<usize>, Vec<usize>) {
    let theta = orientation(&patches[best].1);
    let (s, c) = theta.to_radians().sin_cos();
    // Extent of a patch in the best patch's frame: (u0, u1, v0, v1), u across the bars.
    let extent = |members: &[usize]| -> [f32; 4] {
        let mut e = [f32::MAX, f32::MIN, f32::MAX, f32::MIN];
        for &i in members {
            let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
            let (u, v) = (x * c + y * s, -x * s + y * c);
            e = [e[0].min(u - 0.5), e[1].max(u + 0.5), e[2].min(v - 0.5), e[3].max(v + 0.5)];
        }
        e
    };
    let mut joined = extent(&patches[best].1);
    let mut members = patches[best].1.clone();
    let mut joined_patches = vec![best];
    let mut candidates: Vec<(usize, [f32; 4])> = (0..patches.len())
        .filter(|&k| k != best && !used[k] && patches[k].0 >= patches[best].0 / 20.0 && patches[k].1.len() >= 4)
        .filter(|&k| angle_gap(orientation(&patches[k].1), theta) < 6.0)
        .map(|k| (k, extent(&patches[k].1)))
        .collect();
    // Of interval b against interval a: the share of b inside a, b's length
    // as a share of a's, and the gap between them.
    let relate = |a0: f32, a1: f32, b0: f32, b1: f32| {
        let (la, lb) = ((a1 - a0).max(1.0), (b1 - b0).max(1.0));
        ((a1.min(b1) - a0.max(b0)).max(0.0) / lb, lb / la, (b0 - a1).max(a0 - b1).max(0.0))
    };
    loop {
        let before = candidates.len();
        candidates.retain(|&(k, e)| {
            let (inside_v, share_v, gap_v) = relate(joined[2], joined[3], e[2], e[3]);
            let (inside_u, share_u, gap_u) = relate(joined[0], joined[1], e[0], e[1]);
            let (span_u, span_v) = (joined[1].max(e[1]) - joined[0].min(e[0]), joined[3].max(e[3]) - joined[2].min(e[2]));
            let along_rows = inside_v >= 0.7 && share_v >= 0.3 && gap_u <= 0.5 * span_u;
            let across_rows = inside_u >= 0.9 && share_u >= 0.3 && gap_v <= 0.3 * span_v;
            let fits = along_rows || across_rows;
            if fits {
                joined = [joined[0].min(e[0]), joined[1].max(e[1]), joined[2].min(e[2]), joined[3].max(e[3])];
                members.extend_from_slice(&patches[k].1);
                joined_patches.push(k);
            }
            !fits
        });
        if candidates.len() == before {
            break;
        }
    }
    (members, joined_patches)
}

/// The angle at which the bars of `region` line up best: the projection of
/// its pixels across the bars is sharpest (largest sum of squared bin
/// means). Gradient angles of fine patterns are biased towards the pixel
/// axes; a projection is not.
pub fn refine_angle(img: &GrayImage, region: &Region) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let p = img.as_raw();
    let (hl, hh) = (region.length / 2.0, region.height * 0.4);
    let reach = hl.hypot(hh);
    let (cx, cy) = region.center;
    let x0 = (cx - reach).max(0.0) as usize;
    let x1 = ((cx + reach) as usize).min(w);
    let y0 = (cy - reach).max(0.0) as usize;
    let y1 = ((cy + reach) as usize).min(h);
    let bins = (2.0 * hl) as usize + 2;
    let sharpness = |deg: f32| -> f64 {
        let (s, c) = deg.to_radians().sin_cos();
        let (mut sum, mut count) = (vec![0f64; bins], vec![0u32; bins]);
        for y in (y0..y1).step_by(2) {
            let dy = y as f32 - cy;
            for x in x0..x1 {
                let dx = x as f32 - cx;
                let u = dx * c + dy * s;
                let v = -dx * s + dy * c;
                if v.abs() > hh || u.abs() >= hl {
                    continue;
                }
                let b = (u + hl) as usize;
                sum[b] += f64::from(p[y * w + x]);
                count[b] += 1;
            }
        }
        let (total, n) = sum.iter().zip(&count).fold((0.0, 0u32), |(t, n), (s, c)| (t + s, n + c));
        if n == 0 {
            return 0.0;
        }
        let mean = total / f64::from(n);
        sum.iter().zip(&count).filter(|(_, c)| **c > 0).map(|(s, c)| {
            let m = s / f64::from(*c) - mean;
            m * m * f64::from(*c)
        }).sum()
    };
    let mut best = region.angle_deg;
    for (span, step) in [(4.0f32, 0.5f32), (0.5, 0.1)] {
        let center = best;
        let mut best_score = f64::MIN;
        let n = (span / step).round() as i32;
        for k in -n..=n {
            let deg = center + k as f32 * step;
            let score = sharpness(deg);
            if score > best_score {
                best_score = score;
                best = deg;
            }
        }
    }
    best
}

/// Difference of two axis angles (degrees, modulo 180).
fn angle_gap(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(180.0);
    d.min(180.0 - d)
}

/// The dominant edge angle (degrees, -45..45, modulo 90) inside `bbox`
/// (left, top, right, bottom) of `img`: the peak of a magnitude-weighted
/// histogram of gradient angles in 0.5 degree bins, refined by a parabola.
/// Positive when the content is turned clockwise on screen (y down).
/// Good for card edges; the finite differences bias it by a degree or two
/// on fine bar patterns, which [`refine_angle`] corrects.
pub fn dominant_angle(img: &GrayImage, bbox: [usize; 4]) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let [x0, y0, x1, y1] = [bbox[0].max(1), bbox[1].max(1), bbox[2].min(w.saturating_sub(1)), bbox[3].min(h.saturating_sub(1))];
    const BINS: usize = 180;
    let mut hist = [0f64; BINS];
    let p = img.as_raw();
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * w + x;
            let v = |j: usize| f32::from(p[j]);
            // Scharr weights (3, 10, 3).
            let gx = 3.0 * (v(i - w + 1) - v(i - w - 1)) + 10.0 * (v(i + 1) - v(i - 1)) + 3.0 * (v(i + w + 1) - v(i + w - 1));
            let gy = 3.0 * (v(i + w - 1) - v(i - w - 1)) + 10.0 * (v(i + w) - v(i - w)) + 3.0 * (v(i + w + 1) - v(i - w + 1));
            let mag2 = gx * gx + gy * gy;
            if mag2 < 160.0 * 160.0 {
                continue;
            }
            let deg = gy.atan2(gx).to_degrees().rem_euclid(90.0);
            hist[((deg * 2.0) as usize).min(BINS - 1)] += f64::from(mag2.sqrt());
        }
    }
    let smooth: Vec<f64> = (0..BINS).map(|i| (0..5).map(|k| hist[(i + BINS + k - 2) % BINS]).sum()).collect();
    let peak = (0..BINS).max_by(|&a, &b| smooth[a].total_cmp(&smooth[b])).unwrap_or(0);
    let (l, c, r) = (smooth[(peak + BINS - 1) % BINS], smooth[peak], smooth[(peak + 1) % BINS]);
    let denom = l - 2.0 * c + r;
    let offset = if denom.abs() > f64::EPSILON { (0.5 * (l - r) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    let deg = ((peak as f64 + 0.5 + offset) / 2.0) as f32;
    if deg >= 45.0 { deg - 90.0 } else { deg }
}

/// The geometry of a cut-out: `region` upright (across-bar direction along
/// x), enlarged by `margin` (fraction of each side) and scaled by `scale`;
/// maps a pixel of the cut-out to its position in the source image.
pub struct CutOut {
    pub width: usize,
    pub height: usize,
    center: (f32, f32),
    sin: f32,
    cos: f32,
}

impl CutOut {
    pub fn new(region: &Region, margin: f32, scale: f32) -> Self {
        let len = region.length * (1.0 + 2.0 * margin) + 16.0;
        let hgt = region.height * (1.0 + 2.0 * margin) + 16.0;
        let t = region.angle_deg.to_radians();
        Self {
            width: ((len * scale) as usize).clamp(1, 6000),
            height: ((hgt * scale) as usize).clamp(1, 3000),
            center: region.center,
            sin: t.sin() / scale,
            cos: t.cos() / scale,
        }
    }

    /// Source position of the cut-out pixel `(ox, oy)`.
    pub fn source(&self, ox: usize, oy: usize) -> (f32, f32) {
        let dx = ox as f32 - self.width as f32 / 2.0;
        let dy = oy as f32 - self.height as f32 / 2.0;
        (self.center.0 + dx * self.cos - dy * self.sin, self.center.1 + dx * self.sin + dy * self.cos)
    }
}

/// Resamples `region` of `img` upright (across-bar direction along x),
/// enlarged by `margin` (fraction of each side) and scaled by `scale`;
/// bilinear, white outside the image.
pub fn cut_out(img: &GrayImage, region: &Region, margin: f32, scale: f32) -> GrayImage {
    let g = CutOut::new(region, margin, scale);
    let (ow, oh) = (g.width, g.height);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut out = vec![255u8; ow * oh];
    for oy in 0..oh {
        let row = &mut out[oy * ow..][..ow];
        for (ox, o) in row.iter_mut().enumerate() {
            let (sx, sy) = g.source(ox, oy);
            if sx < 0.0 || sy < 0.0 {
                continue;
            }
            let (xi, yi) = (sx as usize, sy as usize);
            if xi + 1 >= w || yi + 1 >= h {
                continue;
            }
            let (fx, fy) = (sx - xi as f32, sy - yi as f32);
            let i = yi * w + xi;
            let top = f32::from(src[i]) * (1.0 - fx) + f32::from(src[i + 1]) * fx;
            let bottom = f32::from(src[i + w]) * (1.0 - fx) + f32::from(src[i + w + 1]) * fx;
            *o = (top * (1.0 - fy) + bottom * fy + 0.5) as u8;
        }
    }
    GrayImage::from_raw(ow as u32, oh as u32, out).unwrap_or_else(|| GrayImage::from_pixel(1, 1, Luma([255])))
}

/// The narrow module width (px) of an upright symbol, from the number of
/// bar/space edges per row: PDF417 has 8 elements per 17 modules.
pub fn module_width(img: &GrayImage) -> Option<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 32 || h < 8 {
        return None;
    }
    let raw = img.as_raw();
    let mut estimates = Vec::new();
    for k in 3..=7 {
        let y = h * k / 10;
        let row: Vec<f32> = (0..w).map(|x| (f32::from(raw[y * w + x]) + f32::from(raw[(y - 1) * w + x]) + f32::from(raw[(y + 1) * w + x])) / 3.0).collect();
        let (lo, hi) = row.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        if hi - lo < 20.0 {
            continue;
        }
        let mid = (lo + hi) / 2.0;
        let band = (hi - lo) * 0.1;
        let (mut dark, mut edges, mut first, mut last) = (row[0] < mid, 0usize, 0usize, 0usize);
        for (x, &v) in row.iter().enumerate() {
            let flip = if dark { v > mid + band } else { v < mid - band };
            if flip {
                dark = !dark;
                if edges == 0 {
                    first = x;
                }
                last = x;
                edges += 1;
            }
        }
        if edges >= 20 {
            let elements = (edges - 1) as f32;
            estimates.push((last - first) as f32 / (elements * 17.0 / 8.0));
        }
    }
    estimates.sort_by(f32::total_cmp);
    estimates.get(estimates.len() / 2).copied()
}

/// Gaussian blur of a plane (separable, kernel radius 3 sigma).
pub fn gaussian(p: &Plane, sigma: f32) -> Plane {
    let r = ((3.0 * sigma).ceil() as usize).max(1);
    let kernel: Vec<f32> = (0..=2 * r).map(|i| (-((i as f32 - r as f32).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
    let (w, h) = (p.w, p.h);
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &p.data[y * w..][..w];
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let xx = (x + k).saturating_sub(r).min(w - 1);
                acc += row[xx] * kv;
            }
            tmp[y * w + x] = acc;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for (k, &kv) in kernel.iter().enumerate() {
            let yy = (y + k).saturating_sub(r).min(h - 1);
            let src = &tmp[yy * w..][..w];
            let dst = &mut out[y * w..][..w];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s * kv;
            }
        }
    }
    Plane { w, h, data: out }
}

/// Unsharp mask: `p + amount (p - gaussian(p, sigma))`.
pub fn unsharp(p: &Plane, sigma: f32, amount: f32) -> GrayImage {
    let blurred = gaussian(p, sigma);
    let data = p.data.iter().zip(&blurred.data).map(|(&o, &b)| o + amount * (o - b)).collect();
    Plane { w: p.w, h: p.h, data }.to_gray()
}

/// Gaussian smoothing along y only: along the bars of an upright symbol,
/// so noise averages out without blurring the bars into each other.
pub fn smooth_along_bars(p: &Plane, sigma: f32) -> Plane {
    let r = ((3.0 * sigma).ceil() as usize).max(1);
    let kernel: Vec<f32> = (0..=2 * r).map(|i| (-((i as f32 - r as f32).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    let (w, h) = (p.w, p.h);
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for (k, &kv) in kernel.iter().enumerate() {
            let yy = (y + k).saturating_sub(r).min(h - 1);
            let src = &p.data[yy * w..][..w];
            let dst = &mut out[y * w..][..w];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s * kv / sum;
            }
        }
    }
    Plane { w, h, data: out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxing::pdf417::PDF417Writer;
    use rxing::{BarcodeFormat, EncodeHints, Writer};

    /// A PDF417 symbol at 3 px per module on a gray page with a line of
    /// text-like blobs above it, turned by `degrees`.
    fn page(degrees: f32) -> (GrayImage, (f32, f32)) {
        let hints = EncodeHints { Margin: Some("0".into()), ..Default::default() };
        let m = PDF417Writer.encode_with_hints("ANSI 636014100102DL DAQD1234567 DCSDOE DACJANE", &BarcodeFormat::PDF_417, 10000, 1, &hints).unwrap();
        let mut img = GrayImage::from_pixel(900, 600, Luma([200]));
        for x in (100..800).step_by(23) {
            for y in 80..100 {
                for dx in 0..14 {
                    img.put_pixel(x + dx, y, Luma([60]));
                }
            }
        }
        let (ox, oy) = (150u32, 250u32);
        for y in 0..m.getHeight() * 3 {
            for x in 0..m.getWidth() * 3 {
                let v = if m.get(x / 3, y / 3) { 20 } else { 245 };
                img.put_pixel(ox + x, oy + y, Luma([v]));
            }
        }
        let center = (ox as f32 + m.getWidth() as f32 * 1.5, oy as f32 + m.getHeight() as f32 * 1.5);
        let turned = super::super::rotate_about_center(&img, degrees);
        // Where the symbol's centre went.
        let (cx, cy) = (450.0, 300.0);
        let (ncx, ncy) = (turned.width() as f32 / 2.0, turned.height() as f32 / 2.0);
        let (s, c) = degrees.to_radians().sin_cos();
        let (dx, dy) = (center.0 - cx, center.1 - cy);
        (turned, (ncx + c * dx + s * dy, ncy - s * dx + c * dy))
    }

    #[test]
    fn a_turned_symbol_is_found_with_its_angle() {
        for degrees in [0.0f32, 6.0, -13.0] {
            let (img, center) = page(degrees);
            let r = locate(&img).expect("a barcode region");
            // rotate_about_center turns counter-clockwise on screen for positive degrees.
            assert!(angle_gap(r.angle_deg, -degrees) < 0.4, "{degrees}: angle {}", r.angle_deg);
            assert!((r.center.0 - center.0).hypot(r.center.1 - center.1) < 30.0, "{degrees}: {r:?} vs {center:?}");
            let upright = cut_out(&img, &r, 0.04, 1.0);
            let module = module_width(&upright).expect("a module width");
            assert!((module - 3.0).abs() < 0.6, "{degrees}: module {module}");
        }
    }

    #[test]
    fn a_symbol_cut_in_two_by_a_glare_stripe_is_found_whole() {
        let (img, _) = page(4.0);
        let whole = locate(&img).expect("a barcode region");
        // A white stripe 40 px wide, turned 20 degrees from the bars, a third
        // of the way along the symbol: no edges are left in it.
        let (s, c) = (whole.angle_deg.to_radians().sin(), whole.angle_deg.to_radians().cos());
        let (gx, gy) = (whole.center.0 - c * whole.length / 6.0, whole.center.1 - s * whole.length / 6.0);
        let (tx, ty) = ((whole.angle_deg + 70.0).to_radians().cos(), (whole.angle_deg + 70.0).to_radians().sin());
        let mut glared = img.clone();
        for (x, y, px) in glared.enumerate_pixels_mut() {
            let (dx, dy) = (x as f32 - gx, y as f32 - gy);
            if (dx * ty - dy * tx).abs() < 20.0 {
                px.0[0] = 255;
            }
        }
        let split = locate(&glared).expect("a barcode region");
        assert!(split.length >= 0.95 * whole.length, "{split:?} vs {whole:?}");
        assert!((split.center.0 - whole.center.0).hypot(split.center.1 - whole.center.1) < 0.05 * whole.length, "{split:?} vs {whole:?}");
        assert!(angle_gap(split.angle_deg, whole.angle_deg) < 0.5);
    }

    #[test]
    fn the_next_best_patch_is_given_after_the_best() {
        // Two symbols: a large one upright, a smaller one turned a quarter.
        let hints = EncodeHints { Margin: Some("0".into()), ..Default::default() };
        let m = PDF417Writer.encode_with_hints("ANSI 636014100102DL DAQD1234567 DCSDOE DACJANE", &BarcodeFormat::PDF_417, 10000, 1, &hints).unwrap();
        let draw = |px: u32| {
            GrayImage::from_fn(m.getWidth() * px, m.getHeight() * px, |x, y| Luma([if m.get(x / px, y / px) { 20 } else { 245 }]))
        };
        let (large, small) = (draw(3), image::imageops::rotate90(&draw(2)));
        let mut img = GrayImage::from_pixel(1000, 900, Luma([200]));
        image::imageops::overlay(&mut img, &large, 40, 40);
        image::imageops::overlay(&mut img, &small, 1000 - 40 - i64::from(small.width()), 900 - 40 - i64::from(small.height()));
        let found = locate_all(&img, 3);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(angle_gap(found[0].angle_deg, 0.0) < 1.0 && angle_gap(found[1].angle_deg, 90.0) < 1.0, "{found:?}");
        let centre = |w: u32, h: u32, x: f32, y: f32| (x + w as f32 / 2.0, y + h as f32 / 2.0);
        for (r, (cx, cy)) in found.iter().zip([
            centre(large.width(), large.height(), 40.0, 40.0),
            centre(small.width(), small.height(), (1000 - 40 - small.width()) as f32, (900 - 40 - small.height()) as f32),
        ]) {
            assert!((r.center.0 - cx).hypot(r.center.1 - cy) < 20.0, "{r:?} vs ({cx}, {cy})");
        }
        assert_eq!(locate(&img), Some(found[0]));
    }

    #[test]
    fn a_plain_page_has_no_barcode() {
        assert_eq!(locate(&GrayImage::from_pixel(640, 480, Luma([128]))), None);
        assert_eq!(locate(&GrayImage::from_pixel(10, 10, Luma([0]))), None);
    }
}
