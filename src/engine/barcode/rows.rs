//! Our own PDF417 reader for an upright cut-out: many scan lines, a vote per
//! codeword, Reed-Solomon with erasures.
//!
//! rxing samples each symbol row on few lines and gives up when a row
//! indicator or a codeword is unreadable. Here every scan line (a few px
//! apart, each averaged over about a module along the bars) is binarised
//! with a local threshold (mid-point of the local dark and light envelopes,
//! so a glare stripe or a shadow shifts it with the light), the start and
//! stop patterns are found on the lines where they are clear and fitted as
//! straight edges over all lines, and every line is cut into codewords on a
//! 1-D perspective grid between them (codeword borders snapped to the
//! nearest bar edge). A codeword is read by sampling its 17 module centres;
//! only valid symbols count. Row indicators give the row number of their
//! line (and the symbol's rows, columns and error-correction level); a
//! smooth fit of row number over the cut-out places the other codewords,
//! whose cluster (row mod 3) settles the row exactly. Each codeword takes
//! the majority of the lines that read it; unread or tied ones are erasures
//! for [`super::rs929::correct`], which corrects twice as many erasures as
//! errors. A read is accepted only with a margin left in the code and a
//! length descriptor that agrees with the symbol's size, so the reader
//! returns nothing rather than a wrong text. When a blur is given and all
//! that fails, whole symbol rows are matched against blurred templates
//! ([`super::rowmatch`]) after the rows are registered anew on the row
//! indicators' known codewords ([`register_rows`]).

use super::locate::Plane;
use super::rowmatch::{self, FINE_SPM, OBS_MODULES, OBS_START, Observation, Shape};
use super::rs929;
use rxing::pdf417::decoder::decoded_bit_stream_parser;
use rxing::pdf417::pdf_417_common::getCodeword;

const START: [f32; 8] = [8.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0];
const STOP: [f32; 9] = [7.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 2.0, 1.0];
/// Error-correction codewords left unused before a correction is trusted.
pub(super) const EC_MARGIN: usize = 4;

/// One scan line: the profile across the bars, its local threshold, the
/// elements (start, width, dark) between threshold crossings.
struct Line {
    y: f32,
    p: Vec<f32>,
    /// The profile before restoration (for saturation and template matching).
    raw: Vec<f32>,
    t: Vec<f32>,
    saturated: Vec<bool>,
    elements: Vec<(f32, f32, bool)>,
    /// Light-to-dark crossings (left edges of bars).
    rising: Vec<f32>,
}

impl Line {
    fn new(y: f32, p: Vec<f32>, raw: Vec<f32>, module: f32) -> Line {
        let t = threshold(&p, module);
        let saturated = raw.iter().map(|&v| v >= 250.0).collect();
        let mut line = Line { y, p, raw, t, saturated, elements: Vec::new(), rising: Vec::new() };
        line.crossings();
        line
    }

    fn reversed(&self, module: f32) -> Line {
        let p: Vec<f32> = self.p.iter().rev().copied().collect();
        let raw = self.raw.iter().rev().copied().collect();
        Line::new(self.y, p, raw, module)
    }

    fn crossings(&mut self) {
        let d: Vec<f32> = self.t.iter().zip(&self.p).map(|(t, p)| t - p).collect();
        let mut edges: Vec<(f32, bool)> = Vec::new();
        for x in 0..d.len().saturating_sub(1) {
            let (a, b) = (d[x], d[x + 1]);
            if (a > 0.0) != (b > 0.0) {
                let pos = x as f32 + if (a - b).abs() > 1e-6 { a / (a - b) } else { 0.5 };
                edges.push((pos, b > 0.0));
            }
        }
        for pair in edges.windows(2) {
            self.elements.push((pair[0].0, pair[1].0 - pair[0].0, pair[0].1));
        }
        self.rising = edges.iter().filter(|e| e.1).map(|e| e.0).collect();
    }

    /// Linear interpolation of profile minus threshold (positive = dark).
    fn darkness(&self, x: f32) -> Option<f32> {
        if x < 0.0 || x >= (self.p.len() - 1) as f32 {
            return None;
        }
        let i = x as usize;
        let f = x - i as f32;
        let d = |j: usize| self.t[j] - self.p[j];
        Some(d(i) * (1.0 - f) + d(i + 1) * f)
    }

    fn nearest_rising(&self, x: f32, reach: f32) -> Option<f32> {
        let i = self.rising.partition_point(|&e| e < x);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter_map(|j| self.rising.get(j).copied())
            .filter(|e| (e - x).abs() <= reach)
            .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()))
    }

    /// The best match of `pattern` (modules per element, starting with a
    /// bar): (begin, unit, end). Start patterns need light before them,
    /// stop patterns light after them.
    fn find(&self, pattern: &[f32], start: bool) -> Option<(f32, f32, f32)> {
        let modules: f32 = pattern.iter().sum();
        let el = &self.elements;
        let k = pattern.len();
        let mut best: Option<(f32, (f32, f32, f32))> = None;
        for i in 0..el.len().saturating_sub(k - 1) {
            if !el[i].2 {
                continue;
            }
            let total: f32 = el[i..i + k].iter().map(|e| e.1).sum();
            let unit = total / modules;
            if unit < 0.5 {
                continue;
            }
            let mut err = 0.0;
            let mut ok = true;
            for (e, &m) in el[i..i + k].iter().zip(pattern) {
                let dev = (e.1 / unit - m).abs();
                if dev > 0.5 + 0.2 * m {
                    ok = false;
                    break;
                }
                err += dev;
            }
            if !ok || err > 2.5 {
                continue;
            }
            // Quiet zone: at least two modules of light outside the pattern.
            let quiet = if start { i.checked_sub(1).map(|j| el[j].1) } else { el.get(i + k).map(|e| e.1) };
            if quiet.is_some_and(|q| q < 2.0 * unit) {
                continue;
            }
            if best.as_ref().is_none_or(|(b, _)| err < *b) {
                best = Some((err, (el[i].0, unit, el[i].0 + total)));
            }
        }
        best.map(|(_, m)| m)
    }
}

/// Local threshold: the mid-point of the dark and light envelopes (block
/// extremes over +-5 modules), interpolated per pixel.
fn threshold(p: &[f32], module: f32) -> Vec<f32> {
    let n = p.len();
    let b = (module.round() as usize).max(1);
    let nb = n.div_ceil(b);
    let (mut bmax, mut bmin) = (vec![f32::MIN; nb], vec![f32::MAX; nb]);
    for (x, &v) in p.iter().enumerate() {
        bmax[x / b] = bmax[x / b].max(v);
        bmin[x / b] = bmin[x / b].min(v);
    }
    let r = ((5.0 * module) / b as f32).ceil() as usize;
    let mid: Vec<f32> = (0..nb)
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(r), (i + r + 1).min(nb));
            let mx = bmax[lo..hi].iter().copied().fold(f32::MIN, f32::max);
            let mn = bmin[lo..hi].iter().copied().fold(f32::MAX, f32::min);
            (mx + mn) / 2.0
        })
        .collect();
    (0..n)
        .map(|x| {
            let c = (x as f32 + 0.5) / b as f32 - 0.5;
            let i = (c.max(0.0) as usize).min(nb - 1);
            let j = (i + 1).min(nb - 1);
            let f = (c - i as f32).clamp(0.0, 1.0);
            mid[i] * (1.0 - f) + mid[j] * f
        })
        .collect()
}

/// Least-squares line x = a + b y over `pts` (y, x), dropping outliers
/// beyond `tol` (or 2.5 median deviations) and refitting.
fn robust_line(pts: &[(f32, f32)], tol: f32) -> Option<(f32, f32)> {
    let mut keep: Vec<(f32, f32)> = pts.to_vec();
    let mut fit = None;
    for _ in 0..4 {
        if keep.len() < 3 {
            return fit;
        }
        let n = keep.len() as f64;
        let (sy, sx) = keep.iter().fold((0f64, 0f64), |(a, b), p| (a + f64::from(p.0), b + f64::from(p.1)));
        let (my, mx) = (sy / n, sx / n);
        let (mut syy, mut sxy) = (0f64, 0f64);
        for p in &keep {
            syy += (f64::from(p.0) - my).powi(2);
            sxy += (f64::from(p.0) - my) * (f64::from(p.1) - mx);
        }
        let b = if syy > 1e-9 { sxy / syy } else { 0.0 };
        let a = mx - b * my;
        let (a, b) = (a as f32, b as f32);
        fit = Some((a, b));
        let mut dev: Vec<f32> = keep.iter().map(|p| (p.1 - a - b * p.0).abs()).collect();
        dev.sort_by(f32::total_cmp);
        let limit = tol.max(2.5 * dev[dev.len() / 2]);
        let before = keep.len();
        keep.retain(|p| (p.1 - a - b * p.0).abs() <= limit);
        if keep.len() == before {
            break;
        }
    }
    fit
}

/// Solves a small linear system (Gaussian elimination with pivoting).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            for k in col..n {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0f64; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Row number as a smooth function of the position: a + b y + c x + d x y
/// (rows of a symbol under perspective are straight but not parallel), or
/// a + b y when the observations do not spread across the symbol.
struct RowFit(Vec<f64>, f64);

impl RowFit {
    fn features(x: f32, y: f32, scale: f64) -> [f64; 4] {
        let (x, y) = (f64::from(x) / scale, f64::from(y) / scale);
        [1.0, y, x, x * y]
    }

    fn fit(obs: &[(f32, f32, f32)], full: bool, scale: f64) -> Option<RowFit> {
        let k = if full { 4 } else { 2 };
        let mut keep: Vec<(f32, f32, f32)> = obs.to_vec();
        let mut model = None;
        for _ in 0..3 {
            if keep.len() < k + 2 {
                return model;
            }
            let mut ata = vec![vec![0f64; k]; k];
            let mut atb = vec![0f64; k];
            for &(x, y, v) in &keep {
                let f = Self::features(x, y, scale);
                for i in 0..k {
                    for j in 0..k {
                        ata[i][j] += f[i] * f[j];
                    }
                    atb[i] += f[i] * f64::from(v);
                }
            }
            let coef = solve(ata, atb)?;
            let m = RowFit(coef, scale);
            let before = keep.len();
            keep.retain(|&(x, y, v)| (m.at(x, y) - v).abs() <= 1.0);
            model = Some(m);
            if keep.len() == before {
                break;
            }
        }
        model
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let f = Self::features(x, y, self.1);
        self.0.iter().zip(f).map(|(c, f)| c * f).sum::<f64>() as f32
    }
}

/// The cluster (0, 3 or 6) of a 17-module symbol: (b1 - b2 + b3 - b4 + 9) mod 9 over bar widths.
fn cluster(bits: u32) -> Option<u32> {
    let mut runs = Vec::with_capacity(8);
    let mut prev = (bits >> 16) & 1;
    let mut len = 0;
    for i in (0..17).rev() {
        let b = (bits >> i) & 1;
        if b == prev {
            len += 1;
        } else {
            runs.push(len);
            prev = b;
            len = 1;
        }
    }
    runs.push(len);
    if runs.len() != 8 || (bits >> 16) & 1 != 1 {
        return None;
    }
    let c = (runs[0] + 9 - runs[2] + runs[4] + 9 - runs[6]) % 9;
    matches!(c, 0 | 3 | 6).then_some(c)
}

/// Samples the 17 module centres between `l` and `r`: the codeword and its cluster.
fn sample(line: &Line, l: f32, r: f32) -> Option<(u32, u32)> {
    let u = (r - l) / 17.0;
    let mut bits = 0u32;
    let mut saturated = 0;
    for j in 0..17 {
        let x = l + (j as f32 + 0.5) * u;
        let d = line.darkness(x)?;
        // Glare clips the spaces first: a clipped space is still a space,
        // a clipped bar is not to be trusted.
        if line.saturated[(x as usize).min(line.saturated.len() - 1)] {
            saturated += if d > 0.0 { 17 } else { 1 };
        }
        bits = (bits << 1) | u32::from(d > 0.0);
    }
    if saturated > 13 {
        return None;
    }
    let cw = getCodeword(bits);
    if cw < 0 {
        return None;
    }
    Some((cw as u32, cluster(bits)?))
}

/// What one line read: (codeword column incl. row indicators, x centre, codeword, cluster).
type Reads = Vec<(usize, f32, u32, u32)>;

/// Reads a PDF417 symbol from an upright cut-out (`plane`, bars vertical;
/// `source` the same pixels before any restoration, for saturation) whose
/// narrow module is about `module` px.
pub fn read(plane: &Plane, source: &Plane, module: f32, blur: Option<f32>) -> Option<String> {
    read_traced(plane, source, module, blur, &mut Vec::new())
}

/// [`read`], noting in `trace` how far it got (for the bench's diagnosis of misses).
/// With `blur` (the Gaussian sigma of `source` across the bars, px), a
/// codeword that thresholding misreads gets a second chance: the line's
/// `source` profile is matched against the 929 symbols of its row's
/// cluster, each blurred alike ([`match_codeword`]).
pub fn read_traced(plane: &Plane, source: &Plane, module: f32, blur: Option<f32>, trace: &mut Vec<String>) -> Option<String> {
    if plane.w < 40 || plane.h < 8 || source.w != plane.w || source.h != plane.h || !(0.8..=20.0).contains(&module) {
        return None;
    }
    let mut lines = build_lines(plane, source, module);
    // A module estimate far from the start/stop patterns' own is replaced
    // (the scan lines' spacing, averaging and threshold window follow it).
    let mut module = module;
    if let Some(unit) = pattern_unit(&lines, module) {
        if (unit / module - 1.0).abs() > 0.25 {
            trace.push(format!("module {module:.2} -> {unit:.2}"));
            module = unit;
            lines = build_lines(plane, source, module);
        }
    }
    let hits = |lines: &[Line]| (lines.iter().filter(|l| l.find(&START, true).is_some()).count(), lines.iter().filter(|l| l.find(&STOP, false).is_some()).count());
    let forward = hits(&lines);
    let reversed: Vec<Line> = lines.iter().map(|l| l.reversed(module)).collect();
    let back = hits(&reversed);
    trace.push(format!("lines {} pattern hits {}+{}/{}+{}", lines.len(), forward.0, forward.1, back.0, back.1));
    let weak = |h: (usize, usize)| h.0 < 3 || h.1 < 3;
    if !weak(forward) || !weak(back) {
        let flipped = back.0 + back.1 > forward.0 + forward.1;
        let lines = if flipped { reversed } else { lines };
        return decode_lines(&lines, module, blur, None, Some(Source { plane: source, flipped }), trace);
    }
    // Both ends unclear on the thresholded lines: match them by correlation.
    let value = |e: &Option<Ends>| e.as_ref().map_or(0.0, |e| e.score * (e.starts.len() + e.stops.len()) as f32);
    let (f_ends, b_ends) = (find_ends(&lines, module), find_ends(&reversed, module));
    let flip = if value(&f_ends) == value(&b_ends) { back.0 + back.1 > forward.0 + forward.1 } else { value(&b_ends) > value(&f_ends) };
    let (mut lines, ends) = if flip { (reversed, b_ends) } else { (lines, f_ends) };
    let src = Some(Source { plane: source, flipped: flip });
    let Some(ends) = ends else { return decode_lines(&lines, module, blur, None, src, trace) };
    trace.push(format!("ends by correlation: {} start {} stop, unit {:.2} blur {:.2} score {:.2}", ends.starts.len(), ends.stops.len(), ends.unit, ends.blur, ends.score));
    if (ends.unit / module - 1.0).abs() > 0.2 {
        module = ends.unit;
        lines = build_lines(plane, source, module);
        if flip {
            lines = lines.iter().map(|l| l.reversed(module)).collect();
        }
    }
    decode_lines(&lines, module, Some(ends.blur), Some(&ends), src, trace)
}

fn build_lines(plane: &Plane, source: &Plane, module: f32) -> Vec<Line> {
    let step = (module * 0.5).round().max(1.0) as usize;
    let half = (module * 0.5).round() as usize;
    let mut lines = Vec::new();
    let mut y = half;
    while y + half < plane.h {
        let mut p = vec![0f32; plane.w];
        let mut s = vec![0f32; plane.w];
        for yy in y - half..=y + half {
            let (prow, srow) = (&plane.data[yy * plane.w..][..plane.w], &source.data[yy * plane.w..][..plane.w]);
            for x in 0..plane.w {
                p[x] += prow[x];
                s[x] += srow[x];
            }
        }
        let k = (2 * half + 1) as f32;
        p.iter_mut().for_each(|v| *v /= k);
        s.iter_mut().for_each(|v| *v /= k);
        lines.push(Line::new(y as f32, p, s, module));
        y += step;
    }
    lines
}

/// The median unit (px per module) of the start and stop patterns found on
/// `lines` in either direction, when at least three were found.
fn pattern_unit(lines: &[Line], module: f32) -> Option<f32> {
    let mut units = Vec::new();
    for l in lines {
        for pattern_line in [Some(l), None] {
            let owned;
            let line = match pattern_line {
                Some(l) => l,
                None => {
                    owned = l.reversed(module);
                    &owned
                }
            };
            if let Some((_, u, _)) = line.find(&START, true) {
                units.push(u);
            }
            if let Some((_, u, _)) = line.find(&STOP, false) {
                units.push(u);
            }
        }
    }
    if units.len() < 3 {
        return None;
    }
    units.sort_by(f32::total_cmp);
    Some(units[units.len() / 2])
}

/// The module width (px) of an upright cut-out measured on its start and
/// stop patterns, when they are found.
pub fn measure_module(plane: &Plane, module: f32) -> Option<f32> {
    if plane.w < 40 || plane.h < 8 || !(0.8..=20.0).contains(&module) {
        return None;
    }
    pattern_unit(&build_lines(plane, plane, module), module)
}

/// Samples per module of the end-pattern templates.
const END_SPM: usize = 3;
/// Modules of light kept outside an end pattern in its template (the quiet
/// zone) and of the neighbouring codeword inside it (it starts with a bar
/// after the start pattern and ends with a space before the stop pattern).
const END_QUIET: f32 = 3.0;

/// The start (or stop) pattern with its quiet zone and one module of the
/// neighbouring codeword, blurred by `sigma` modules, sampled at
/// [`END_SPM`] per module; centred and normalised (dark positive). The
/// pattern begins `END_QUIET` (start) or 1 (stop) modules into it.
fn end_template(start: bool, sigma: f32) -> Vec<f32> {
    const FINE: usize = 12;
    let pattern: &[f32] = if start { &START } else { &STOP };
    // Elements with their darkness: light quiet zone, the pattern, one module of the codeword.
    let mut elements: Vec<(f32, f32)> = Vec::new();
    if start {
        elements.push((END_QUIET, -1.0));
    } else {
        elements.push((1.0, -1.0));
    }
    for (i, &m) in pattern.iter().enumerate() {
        elements.push((m, if i % 2 == 0 { 1.0 } else { -1.0 }));
    }
    if start {
        elements.push((1.0, 1.0));
    } else {
        elements.push((END_QUIET, -1.0));
    }
    let modules: f32 = elements.iter().map(|e| e.0).sum();
    let n = (modules as usize) * FINE;
    // Outside the window: light on the quiet side, unknown (0) on the symbol's side.
    let (before, after) = if start { (-1.0, 0.0) } else { (0.0, -1.0) };
    let s = sigma * FINE as f32;
    let pad = (3.0 * s).ceil() as usize + 1;
    let mut fine = vec![0f32; n + 2 * pad];
    let mut i = pad;
    fine[..pad].iter_mut().for_each(|v| *v = before);
    for &(m, v) in &elements {
        for _ in 0..(m as usize * FINE) {
            fine[i] = v;
            i += 1;
        }
    }
    fine[i..].iter_mut().for_each(|v| *v = after);
    let kernel = fine_kernel(s);
    let kr = kernel.len() / 2;
    let mut t: Vec<f32> = (0..modules as usize * END_SPM)
        .map(|j| {
            let centre = pad + j * FINE / END_SPM + FINE / (2 * END_SPM);
            kernel.iter().enumerate().map(|(k, w)| fine[(centre + k).saturating_sub(kr).min(fine.len() - 1)] * w).sum()
        })
        .collect();
    normalise(&mut t);
    t
}

/// Dot product of two equally long vectors (a plain indexed loop: cheap in
/// unoptimised builds too, where the tests run).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = 0.0;
    let mut i = 0;
    while i < n {
        acc += a[i] * b[i];
        i += 1;
    }
    acc
}

/// Centres `v` and scales it to unit norm; false when it is flat.
fn normalise(v: &mut [f32]) -> bool {
    let mean = v.iter().sum::<f32>() / v.len().max(1) as f32;
    v.iter_mut().for_each(|x| *x -= mean);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm < 1e-3 {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// `len` samples of the darkness profile `d` from `x0`, `step` px apart
/// (linear interpolation), normalised; `None` off the profile or flat.
fn profile_window(d: &[f32], x0: f32, step: f32, len: usize, out: &mut Vec<f32>) -> bool {
    out.clear();
    let last = (d.len() - 1) as f32;
    if x0 < 0.0 || x0 + step * len as f32 >= last {
        return false;
    }
    let mut x = x0 + 0.5 * step;
    for _ in 0..len {
        let i = x as usize;
        let f = x - i as f32;
        out.push(d[i] * (1.0 - f) + d[i + 1] * f);
        x += step;
    }
    normalise(out)
}

/// Where an end pattern matches a darkness profile best.
#[derive(Debug, Clone, Copy)]
struct EndMatch {
    /// Window start (px), unit (px per module), blur (modules), correlation.
    x0: f32,
    unit: f32,
    sigma: f32,
    score: f32,
}

/// The best match of the start (or stop) template on `d` for windows
/// starting in `xs` (px), units in `units` and blurs in `sigmas` (modules).
fn best_end(d: &[f32], start: bool, xs: (f32, f32), x_step: f32, units: &[f32], sigmas: &[f32], templates: &[Vec<f32>]) -> Option<EndMatch> {
    let len = templates.first()?.len();
    let mut best: Option<EndMatch> = None;
    let mut window = Vec::with_capacity(len);
    let _ = start;
    for &unit in units {
        let step = unit / END_SPM as f32;
        let dx = if x_step > 0.0 { x_step } else { step };
        let mut x0 = xs.0;
        while x0 <= xs.1 {
            if profile_window(d, x0, step, len, &mut window) {
                for (t, &sigma) in templates.iter().zip(sigmas) {
                    let score = dot(t, &window);
                    if best.is_none_or(|b| score > b.score) {
                        best = Some(EndMatch { x0, unit, sigma, score });
                    }
                }
            }
            x0 += dx;
        }
    }
    best
}

/// End patterns found by correlating blurred templates with the
/// unrestored profiles (thresholding loses the one-module elements of a
/// symbol blurred by about a module): per band of lines, the start
/// pattern's end and the stop pattern's beginning with their units.
#[derive(Debug, Clone, Default)]
pub struct Ends {
    starts: Vec<(f32, f32)>,
    stops: Vec<(f32, f32)>,
    su: Vec<(f32, f32)>,
    eu: Vec<(f32, f32)>,
    /// Mean correlation of the matches kept.
    pub score: f32,
    /// Module (px) and Gaussian blur across the bars (px) of the best fits.
    pub unit: f32,
    pub blur: f32,
}

/// Correlation threshold for a band's end-pattern match.
const END_MIN_SCORE: f32 = 0.75;

fn find_ends(lines: &[Line], module: f32) -> Option<Ends> {
    if lines.len() < 4 {
        return None;
    }
    let n = lines.iter().map(|l| l.raw.len()).min()?;
    let darkness = |ls: &[Line]| -> Vec<f32> {
        let mut d = vec![0f32; n];
        for l in ls {
            for (a, b) in d.iter_mut().zip(&l.raw) {
                *a -= b;
            }
        }
        d
    };
    let (start_len, stop_len) = (17.0 + END_QUIET + 1.0, 18.0 + 1.0 + END_QUIET);
    // Whole-height profile: the end patterns are the same on every row, the
    // codewords average out. A coarse search over position, unit and blur.
    let all = darkness(lines);
    // Units from 1.8x the estimate down to a quarter of it (at least
    // 0.8 px): counting edges overestimates a blurred symbol's module
    // several times, when its narrow elements merge.
    let lo = (0.25 * module).max(0.8).min(0.6 * module);
    let units: Vec<f32> = (0..).map(|k| lo * 1.04f32.powi(k)).take_while(|u| *u <= 1.8 * module).collect();
    let coarse_sigmas = [0.3f32, 0.6, 0.9, 1.2];
    let fine_sigmas: Vec<f32> = (1..=16).map(|k| k as f32 * 0.1).collect();
    let coarse = |start: bool| coarse_sigmas.iter().map(|&s| end_template(start, s)).collect::<Vec<_>>();
    let fine = |start: bool| fine_sigmas.iter().map(|&s| end_template(start, s)).collect::<Vec<_>>();
    let (cs, ce, fs, fe) = (coarse(true), coarse(false), fine(true), fine(false));
    let nf = n as f32;
    let g_start = best_end(&all, true, (0.0, 0.5 * nf), 0.0, &units, &coarse_sigmas, &cs)?;
    let g_stop = best_end(&all, false, (0.5 * nf - stop_len * module, nf), 0.0, &units, &coarse_sigmas, &ce)?;
    // Per band: a local search around the whole-height match.
    let band_lines = (lines.len() / 8).max(3);
    let mut ends = Ends::default();
    let (mut scores, mut blurs, mut unit_all) = (Vec::new(), Vec::new(), Vec::new());
    for band in lines.chunks(band_lines) {
        if band.len() < 2 {
            continue;
        }
        let d = darkness(band);
        let y = band.iter().map(|l| l.y).sum::<f32>() / band.len() as f32;
        for (g, start, templates) in [(g_start, true, &fs), (g_stop, false, &fe)] {
            let local_units: Vec<f32> = (-4..=4).map(|k| g.unit * (1.0 + 0.015 * k as f32)).collect();
            let reach = 3.0 * g.unit;
            let Some(m) = best_end(&d, start, (g.x0 - reach, g.x0 + reach), 0.25, &local_units, &fine_sigmas, templates) else { continue };
            if m.score < END_MIN_SCORE {
                continue;
            }
            scores.push(m.score);
            blurs.push(m.sigma * m.unit);
            unit_all.push(m.unit);
            if start {
                ends.starts.push((y, m.x0 + (END_QUIET + 17.0) * m.unit));
                ends.su.push((y, m.unit));
            } else {
                ends.stops.push((y, m.x0 + m.unit));
                ends.eu.push((y, m.unit));
            }
        }
    }
    let _ = start_len;
    if ends.starts.len() + ends.stops.len() < 3 {
        return None;
    }
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    ends.score = scores.iter().sum::<f32>() / scores.len() as f32;
    ends.blur = median(&mut blurs);
    ends.unit = median(&mut unit_all);
    Some(ends)
}

/// The module (px) and the Gaussian blur across the bars (px) of an
/// upright cut-out, from its end patterns matched against blurred
/// templates; `None` when they are not found.
pub fn estimate_blur(plane: &Plane, module: f32) -> Option<(f32, f32)> {
    end_evidence(plane, module).map(|(unit, blur, _)| (unit, blur))
}

/// [`estimate_blur`] with how clearly the end patterns were found: the
/// mean correlation of the matches times the share of the bands of lines
/// (8 or 9 over the cut-out, a start and a stop each) that matched, 0-1.
pub fn end_evidence(plane: &Plane, module: f32) -> Option<(f32, f32, f32)> {
    if plane.w < 40 || plane.h < 8 || !(0.8..=20.0).contains(&module) {
        return None;
    }
    let lines = build_lines(plane, plane, module);
    let value = |e: &Ends| e.score * (e.starts.len() + e.stops.len()) as f32;
    let forward = find_ends(&lines, module);
    let reversed: Vec<Line> = lines.iter().map(|l| l.reversed(module)).collect();
    let back = find_ends(&reversed, module);
    let best = match (forward, back) {
        (Some(f), Some(b)) => if value(&b) > value(&f) { b } else { f },
        (f, b) => f.or(b)?,
    };
    let bands = lines.len().div_ceil((lines.len() / 8).max(3));
    Some((best.unit, best.blur, (value(&best) / (2 * bands) as f32).min(1.0)))
}

/// Lines `unit = a + b y` of the start and the stop pattern's module
/// through their `(y, unit)` per line. An end seen on a third as many
/// lines as the other or fewer (a glare stripe over the rest) takes the
/// other end's line scaled by the median ratio of the two on the lines
/// that saw both (at least five): its own slope, fitted over a short
/// stretch, is carried far over the lines that did not see it (on a
/// tilted symbol, enough to put the codeword borders a module off there).
fn end_modules(su: &[(f32, f32)], eu: &[(f32, f32)], module: f32) -> Option<((f32, f32), (f32, f32))> {
    let (mut su_fit, mut eu_fit) = (robust_line(su, module * 0.08)?, robust_line(eu, module * 0.08)?);
    let ratio = || {
        let mut r: Vec<f32> = eu.iter().filter_map(|(y, e)| su.iter().find(|(ys, _)| ys == y).map(|(_, s)| e / s)).collect();
        r.sort_by(f32::total_cmp);
        r.get(r.len() / 2).copied().filter(|_| r.len() >= 5)
    };
    let (few_stops, few_starts) = (eu.len() * 3 <= su.len(), su.len() * 3 <= eu.len());
    if let Some(k) = (few_stops || few_starts).then(ratio).flatten() {
        if few_stops {
            eu_fit = (su_fit.0 * k, su_fit.1 * k);
        } else {
            su_fit = (eu_fit.0 / k, eu_fit.1 / k);
        }
    }
    Some((su_fit, eu_fit))
}

/// The data columns from the row indicator codewords read in the slot
/// `slot(y)` of every line: those of cluster `cluster` hold columns - 1.
fn columns_next_to(lines: &[Line], slot: impl Fn(f32) -> (f32, f32), cluster: u32) -> Option<usize> {
    let mut votes = [0u32; 30];
    for l in lines {
        let (x0, x1) = slot(l.y);
        let unit = (x1 - x0) / 17.0;
        let l0 = l.nearest_rising(x0, 1.2 * unit).unwrap_or(x0);
        let r0 = l.nearest_rising(x1, 1.2 * unit).unwrap_or(x1);
        for (a, b) in [(l0, r0), (x0, x1)] {
            if let Some((cw, clu)) = sample(l, a, b) {
                if clu / 3 == cluster {
                    votes[(cw % 30) as usize] += 1;
                }
                break;
            }
        }
    }
    let (best, count) = votes.iter().enumerate().max_by_key(|(_, c)| **c)?;
    (*count >= 2).then_some(best + 1)
}

/// The codeword borders between the start pattern's end `a` and the stop
/// pattern's begin `b` of one line (`total` codewords, the row indicators
/// included) on a 1-D perspective grid: the module grows from `us` (the
/// start pattern's) to `ue` (the stop pattern's).
fn grid(a: f32, b: f32, us: f32, ue: f32, total: usize) -> Option<Vec<f32>> {
    if us <= 0.3 || ue <= 0.3 || b <= a {
        return None;
    }
    let span = (17 * total) as f32;
    let g = (us / ue).sqrt().clamp(0.7, 1.4);
    let r = (g - 1.0) / span;
    let q = (b * g - a) / span;
    Some((0..=total).map(|k| (a + q * 17.0 * k as f32) / (1.0 + r * 17.0 * k as f32)).collect())
}

/// Reads the codeword in slot `k` of `nominal` (a line's codeword
/// borders) on `line`: between the nearest bar edges, else between the
/// nominal borders. Returns the slot's borders (the snapped ones unless
/// they stretch the slot by more than 1.5 modules) and what was read:
/// (centre, codeword, cluster).
fn read_slot(line: &Line, nominal: &[f32], k: usize) -> ((f32, f32), Option<(f32, u32, u32)>) {
    let total = nominal.len() - 1;
    let snap = |k: usize| {
        let unit = (nominal[(k + 1).min(total)] - nominal[k.saturating_sub(1)]) / if k == 0 || k == total { 17.0 } else { 34.0 };
        line.nearest_rising(nominal[k], 1.2 * unit).unwrap_or(nominal[k])
    };
    let (nl, nr) = (nominal[k], nominal[k + 1]);
    let (sl, sr) = (snap(k), snap(k + 1));
    let mut candidates = vec![(sl, sr), (nl, nr)];
    if ((sr - sl) - (nr - nl)).abs() > 1.5 * (nr - nl) / 17.0 {
        candidates.remove(0);
    }
    let read = candidates.iter().find_map(|&(cl, cr)| sample(line, cl, cr).map(|(cw, clu)| ((cl + cr) / 2.0, cw, clu)));
    (candidates[0], read)
}

/// An end pattern extrapolated from the other one lands where the
/// measured module puts it, which a few per cent of error in the module
/// moves by half a codeword over a wide symbol; and on a tilted card the
/// hidden end's module differs from the seen one's (by a quarter at 13
/// degrees of tilt), which moves the middle codewords' borders by more.
/// The stretch of the extrapolated span `f` (0.90-1.10) and the hidden
/// end's module as a share of the seen one's `g` (about 0.63-1.41) under
/// which the most codewords read on a sample of the lines: a coarse grid
/// of both (f in steps of 0.01, g of 12 per cent, on 24 lines: the best
/// stretch moves with the ratio), then a finer one around its best (f in
/// steps of 0.0025, g of 6 per cent, on 48 lines). `place(f, g)` gives
/// the start's and the stop's fitted edges, `modules(g)` the start's and
/// the stop's module lines.
fn best_stretch(
    lines: &[Line],
    total: usize,
    modules: impl Fn(f32) -> ((f32, f32), (f32, f32)),
    place: impl Fn(f32, f32) -> ((f32, f32), (f32, f32)),
) -> (f32, f32) {
    let at = |f: (f32, f32), y: f32| f.0 + f.1 * y;
    let count = |f: f32, g: f32, sample: usize| -> usize {
        let (a, b) = place(f, g);
        let (us, ue) = modules(g);
        let mut count = 0;
        for l in lines.iter().step_by((lines.len() / sample).max(1)) {
            let Some(nominal) = grid(at(a, l.y), at(b, l.y), at(us, l.y), at(ue, l.y), total) else { continue };
            count += (0..total).filter(|&k| read_slot(l, &nominal, k).1.is_some()).count();
        }
        count
    };
    // The most read; ties go to the pair nearest (1, 1).
    let best_of = |pairs: &mut dyn Iterator<Item = (f32, f32)>, sample: usize| -> (f32, f32) {
        let off = |(f, g): (f32, f32)| (f - 1.0).abs() + (g.ln()).abs();
        let mut best = (0usize, (1.0f32, 1.0f32));
        for pair in pairs {
            let c = count(pair.0, pair.1, sample);
            if c > best.0 || (c == best.0 && off(pair) < off(best.1)) {
                best = (c, pair);
            }
        }
        best.1
    };
    let coarse = (-3..=2).flat_map(|k| (0..=20).map(move |i| (0.90 + 0.01 * i as f32, 1.12f32.powi(k))));
    let (f, g) = best_of(&mut coarse.into_iter(), 24);
    let fine = (-2..=2).flat_map(|k| (-4..=4).map(move |i| ((f + 0.0025 * i as f32).clamp(0.9, 1.1), g * 1.06f32.powi(k))));
    best_of(&mut fine.into_iter(), 48)
}

fn decode_lines(lines: &[Line], module: f32, blur: Option<f32>, ends: Option<&Ends>, source: Option<Source>, trace: &mut Vec<String>) -> Option<String> {
    // Start and stop edges over all lines.
    let (mut starts, mut stops, mut su, mut eu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for l in lines {
        if let Some((_, unit, end)) = l.find(&START, true) {
            starts.push((l.y, end));
            su.push((l.y, unit));
        }
        if let Some((begin, unit, _)) = l.find(&STOP, false) {
            stops.push((l.y, begin));
            eu.push((l.y, unit));
        }
    }
    trace.push(format!("start {} stop {}", starts.len(), stops.len()));
    if let Some(e) = ends {
        if starts.len() < 3 && e.starts.len() >= 3 {
            (starts, su) = (e.starts.clone(), e.su.clone());
        }
        if stops.len() < 3 && e.stops.len() >= 3 {
            (stops, eu) = (e.stops.clone(), e.eu.clone());
        }
    }
    // An end pattern found on a fifth as many lines as the other or fewer
    // is taken for noise (a glare stripe over it leaves a few chance
    // matches) unless its hits lie on one line, as the part of a real end
    // that the glare left does: it is extrapolated from the other end
    // instead.
    let chance = |hits: &[(f32, f32)]| {
        let Some((a, b)) = robust_line(hits, module) else { return true };
        let on = hits.iter().filter(|(y, x)| (x - a - b * y).abs() <= module).count();
        on < 12 || 4 * on < 3 * hits.len()
    };
    if starts.len() * 5 <= stops.len() && chance(&starts) {
        starts.clear();
    } else if stops.len() * 5 <= starts.len() && chance(&stops) {
        stops.clear();
    }
    let at = |f: (f32, f32), y: f32| f.0 + f.1 * y;
    let (a_fit, b_fit, su_fit, eu_fit, placed) = match (robust_line(&starts, module), robust_line(&stops, module)) {
        (Some(a), Some(b)) => {
            let (su_fit, eu_fit) = end_modules(&su, &eu, module)?;
            (a, b, su_fit, eu_fit, None)
        }
        // One end pattern hidden (glare, the photo's edge): the columns from
        // the row indicator next to the other, the hidden edge extrapolated
        // (`d`: the way from the seen end to the hidden one).
        (seen_start, seen_stop) => {
            let (e, units, d) = match (seen_start, seen_stop) {
                (Some(a), _) => (a, &su, 1.0f32),
                (_, Some(b)) => (b, &eu, -1.0),
                _ => return None,
            };
            let u = robust_line(units, module * 0.08)?;
            let indicator = |y: f32| {
                let (x, w) = (at(e, y), 17.0 * at(u, y));
                if d > 0.0 { (x, x + w) } else { (x - w, x) }
            };
            let c = columns_next_to(lines, indicator, if d > 0.0 { 2 } else { 0 })?;
            let span = 17.0 * (c + 2) as f32;
            let hidden = |g: f32| (u.0 * g, u.1 * g);
            let edge = |f: f32, g: f32| {
                let k = d * f * span * (1.0 + g) / 2.0;
                (e.0 + k * u.0, e.1 + k * u.1)
            };
            // (start, stop) of a seen and a hidden value.
            let ends = |seen, hidden| if d > 0.0 { (seen, hidden) } else { (hidden, seen) };
            let (f, g) = best_stretch(lines, c + 2, |g| ends(u, hidden(g)), |f, g| ends(e, edge(f, g)));
            trace.push(format!("{} extrapolated, columns {c}, stretch {f:.3}, module ratio {g:.2}", if d > 0.0 { "stop" } else { "start" }));
            let ((a, b), (us, ue)) = (ends(e, edge(f, g)), ends(u, hidden(g)));
            (a, b, us, ue, Some(c + 2))
        }
    };
    // Columns (data columns + 2 row indicators): the row indicator's where
    // the span was placed for them, else the span's in modules. Under a
    // perspective the module changes as 1 / (1 + r t)^2 along the span (see
    // `grid`), so the span holds as many modules of the ends' geometric
    // mean: their arithmetic mean counted a steeply tilted symbol of 14
    // columns as 13.
    let total = placed.unwrap_or_else(|| {
        let mut spans: Vec<f32> = lines
            .iter()
            .map(|l| {
                let u = (at(su_fit, l.y) * at(eu_fit, l.y)).max(0.0).sqrt();
                (at(b_fit, l.y) - at(a_fit, l.y)) / (17.0 * u)
            })
            .collect();
        spans.sort_by(f32::total_cmp);
        let span = spans[spans.len() / 2];
        trace.push(format!("span {span:.2} codewords"));
        span.round() as usize
    });
    if !(3..=32).contains(&total) {
        return None;
    }
    let cols = total - 2;
    trace.push(format!("columns {cols}"));
    // Every line cut into codewords on a 1-D perspective grid.
    let mut reads: Vec<(f32, Reads)> = Vec::with_capacity(lines.len());
    let mut bounds: Vec<Vec<(f32, f32)>> = Vec::with_capacity(lines.len());
    // The lines cut into codewords, in step with `reads` and `bounds` (a
    // line without a usable grid is skipped in all three).
    let mut kept: Vec<&Line> = Vec::with_capacity(lines.len());
    // The codeword borders at height `y` on a 1-D perspective grid between the end patterns.
    let grid_at = |y: f32| grid(at(a_fit, y), at(b_fit, y), at(su_fit, y), at(eu_fit, y), total);
    for l in lines {
        let Some(nominal) = grid_at(l.y) else { continue };
        let mut got = Vec::new();
        let mut slots = Vec::with_capacity(total);
        for k in 0..total {
            let (slot, read) = read_slot(l, &nominal, k);
            slots.push(slot);
            if let Some((x, cw, clu)) = read {
                got.push((k, x, cw, clu));
            }
        }
        reads.push((l.y, got));
        bounds.push(slots);
        kept.push(l);
    }
    // Row indicators that thresholding missed on most lines (heavy blur):
    // matched against the templates of all three clusters.
    if let Some(sigma) = blur {
        let seen = |reads: &[(f32, Reads)], k: usize| reads.iter().filter(|(_, got)| got.iter().any(|g| g.0 == k)).count();
        if seen(&reads, 0) < 4 || seen(&reads, total - 1) < 4 {
            let mut matched = 0;
            for ((l, (_, got)), slots) in kept.iter().copied().zip(reads.iter_mut()).zip(&bounds) {
                if slots.len() != total {
                    continue;
                }
                for k in [0, total - 1] {
                    if got.iter().any(|g| g.0 == k) {
                        continue;
                    }
                    let (cl, cr) = slots[k];
                    let Some(o) = observe(l, cl, cr) else { continue };
                    let set = templates(sigma / ((cr - cl) / 17.0));
                    let candidates = (0..3usize).flat_map(|c| (0..929u32).map(move |cw| (c * 929 + cw as usize, c, cw)));
                    if let Some(i) = best_match(&o, &set, candidates) {
                        got.push((k, (cl + cr) / 2.0, (i % 929) as u32, (i / 929) as u32 * 3));
                        matched += 1;
                    }
                }
            }
            trace.push(format!("indicators matched in any cluster {matched}"));
        }
    }
    // Row indicators: row numbers and the symbol's metadata. Under heavy
    // blur most indicator reads are chance matches, whose rows and values
    // are noise; the reads that lie on one line of rows per side are kept
    // when there are enough of them.
    let h = lines.iter().map(|l| l.y).fold(0f32, f32::max);
    // Per side, in the order of `reads`: whether each indicator read is kept.
    let kept_on = |k: usize| -> std::vec::IntoIter<bool> {
        let side: Vec<(f32, f32)> =
            reads.iter().flat_map(|(y, got)| got.iter().filter(|g| g.0 == k).map(move |g| (*y, indicator_row(g.2, g.3) as f32))).collect();
        row_line_inliers(&side, 2.0 * module, h).unwrap_or_else(|| vec![true; side.len()]).into_iter()
    };
    let (mut kept_left, mut kept_right) = (kept_on(0), kept_on(total - 1));
    let (mut rows_div3, mut rows_mod3, mut ec_level, mut col_votes) = ([0u32; 31], [0u32; 3], [0u32; 9], [0u32; 31]);
    let mut obs = Vec::new();
    let (mut left_seen, mut right_seen, mut dropped) = (0, 0, 0);
    for (y, got) in &reads {
        for &(k, x, cw, clu) in got {
            if k != 0 && k != total - 1 {
                continue;
            }
            let left = k == 0;
            if !(if left { kept_left.next() } else { kept_right.next() }).unwrap_or(true) {
                dropped += 1;
                continue;
            }
            let row = indicator_row(cw, clu);
            let info = (cw % 30) as usize;
            match (clu, left) {
                (0, true) | (3, false) => rows_div3[info] += 1,
                (3, true) | (6, false) => {
                    // 27-29 are no level's: a misread.
                    if info < 27 {
                        ec_level[info / 3] += 1;
                        rows_mod3[info % 3] += 1;
                    }
                }
                _ => col_votes[info] += 1,
            }
            obs.push((x, *y, row as f32 + 0.5));
            if left {
                left_seen += 1;
            } else {
                right_seen += 1;
            }
        }
    }
    let argmax = |v: &[u32]| v.iter().enumerate().max_by_key(|(_, c)| **c).filter(|(_, c)| **c > 0).map(|(i, _)| i);
    trace.push(format!("row indicators left {left_seen} right {right_seen}, {dropped} off the rows' lines"));
    let rows = 3 * argmax(&rows_div3)? + argmax(&rows_mod3)? + 1;
    // The level most voted among those whose codewords fit the symbol.
    let fits = |e: usize| (1usize << (e + 1)) + 2 <= rows * cols;
    let ecl = argmax(&std::array::from_fn::<u32, 9, _>(|e| if fits(e) { ec_level[e] } else { 0 }))?;
    trace.push(format!("rows {rows} ec level {ecl} column votes {:?}", argmax(&col_votes)));
    let top = |v: &[u32]| {
        let mut t: Vec<(usize, u32)> = v.iter().copied().enumerate().filter(|(_, c)| *c > 0).collect();
        t.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
        t.truncate(4);
        t
    };
    trace.push(format!("votes (value, count): rows/3 {:?} rows%3 {:?} ec level {:?} columns-1 {:?}", top(&rows_div3), top(&rows_mod3), top(&ec_level), top(&col_votes)));
    if argmax(&col_votes).is_some_and(|c| c + 1 != cols) || !(3..=90).contains(&rows) {
        return None;
    }
    // Lines whose row indicators thresholding missed: match them against
    // the indicators every row of this symbol must have.
    if let Some(sigma) = blur {
        let value = |r: usize, left: bool| -> u32 {
            let info = match (r % 3, left) {
                (0, true) | (1, false) => (rows - 1) / 3,
                (1, true) | (2, false) => ecl * 3 + (rows - 1) % 3,
                _ => cols - 1,
            };
            (30 * (r / 3) + info) as u32
        };
        let mut matched = 0;
        for ((l, (y, got)), slots) in kept.iter().copied().zip(&reads).zip(&bounds) {
            if slots.len() != total {
                continue;
            }
            for (k, left) in [(0usize, true), (total - 1, false)] {
                if got.iter().any(|g| g.0 == k) {
                    continue;
                }
                let (cl, cr) = slots[k];
                let Some(o) = observe(l, cl, cr) else { continue };
                let set = templates(sigma / ((cr - cl) / 17.0));
                if let Some(r) = best_match(&o, &set, (0..rows).map(|r| (r, r % 3, value(r, left)))) {
                    obs.push(((cl + cr) / 2.0, *y, r as f32 + 0.5));
                    matched += 1;
                    if left {
                        left_seen += 1;
                    } else {
                        right_seen += 1;
                    }
                }
            }
        }
        trace.push(format!("indicator matches {matched}"));
    }
    let scale = lines.iter().map(|l| l.p.len()).max().unwrap_or(1) as f64;
    let rowfit = RowFit::fit(&obs, left_seen >= 3 && right_seen >= 3, scale).or_else(|| RowFit::fit(&obs, false, scale))?;
    // Votes per codeword.
    let n = rows * cols;
    let mut votes: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    for (y, got) in &reads {
        for &(k, x, cw, clu) in got {
            if k == 0 || k == total - 1 {
                continue;
            }
            let f = rowfit.at(x, *y) - 0.5;
            let m = (clu / 3) as f32;
            let r = 3.0 * ((f - m) / 3.0).round() + m;
            if (r - f).abs() > 1.3 || r < 0.0 || r as usize >= rows {
                continue;
            }
            let slot = &mut votes[r as usize * cols + (k - 1)];
            match slot.iter_mut().find(|(v, _)| *v == cw) {
                Some(e) => e.1 += 1,
                None => slot.push((cw, 1)),
            }
        }
    }
    if let Some(text) = correct_votes(&votes, n, ecl, trace) {
        return Some(text);
    }
    // Template matching of the data codewords on the unrestored profiles.
    if let Some(sigma) = blur {
        let mut matched = 0;
        for ((l, (y, _)), slots) in kept.iter().copied().zip(&reads).zip(&bounds) {
            if slots.len() != total {
                continue;
            }
            for k in 1..total - 1 {
                let (cl, cr) = slots[k];
                let f = rowfit.at((cl + cr) / 2.0, *y);
                let frac = f - f.floor();
                if !(0.2..=0.8).contains(&frac) || f < 0.0 || f as usize >= rows {
                    continue;
                }
                let r = f as usize;
                if let Some(cw) = match_codeword(l, cl, cr, r % 3, sigma) {
                    matched += 1;
                    let slot = &mut votes[r * cols + (k - 1)];
                    match slot.iter_mut().find(|(v, _)| *v == cw) {
                        Some(e) => e.1 += 2,
                        None => slot.push((cw, 2)),
                    }
                }
            }
        }
        trace.push(format!("template matches {matched}"));
        if let Some(text) = correct_votes(&votes, n, ecl, trace) {
            return Some(text);
        }
        // Whole symbol rows: the pixel rows near a row's centre averaged per slot.
        if let Some(source) = source {
            let shape = Shape { rows, cols, ecl };
            // Rows registered anew on the row indicators' known codewords
            // (the fit above comes from single lines, which mislead under
            // heavy blur).
            let registered = register_rows(source, &grid_at, &rowfit, shape, sigma, scale, trace);
            let obs = row_observations(source, &grid_at, registered.as_ref().unwrap_or(&rowfit), cols, rows, sigma);
            return rowmatch::decode(&obs, shape, &votes, trace);
        }
        return None;
    }
    None
}

/// The averaged observation of slot `k` (0 = left row indicator) over
/// the pixel rows `ys` (see [`row_observations`]).
fn observe_band(source: Source, grids: &[Option<Vec<f32>>], k: usize, ys: impl Iterator<Item = usize>, sigma_px: f32) -> Option<Observation> {
    let plane = source.plane;
    let w = plane.w;
    let last = (w - 1) as f32;
    let len = OBS_MODULES * FINE_SPM;
    let (mut acc, mut count, mut units) = (vec![0f32; len], 0.0f32, 0.0f32);
    for y in ys {
        let Some(g) = grids.get(y).and_then(|g| g.as_ref()) else { continue };
        let (Some(&cl), Some(&cr)) = (g.get(k), g.get(k + 1)) else { continue };
        let u = (cr - cl) / 17.0;
        let step = u / FINE_SPM as f32;
        let x0 = cl - OBS_START as f32 * u;
        if u <= 0.3 || x0 < 0.0 || x0 + step * len as f32 >= last {
            continue;
        }
        let row = &plane.data[y * w..][..w];
        let pixel = |xl: f32| -> f32 {
            let xp = if source.flipped { last - xl } else { xl };
            let j = (xp as usize).min(w - 2);
            let t = xp - j as f32;
            row[j] * (1.0 - t) + row[j + 1] * t
        };
        if (0..len).filter(|&i| pixel(x0 + step * i as f32) >= 250.0).count() > 2 * FINE_SPM {
            continue;
        }
        for (i, a) in acc.iter_mut().enumerate() {
            *a -= pixel(x0 + step * i as f32);
        }
        count += 1.0;
        units += u;
    }
    (count > 0.0).then(|| Observation { fine: acc.into_iter().map(|v| v / count).collect(), sigma: sigma_px / (units / count) })
}

/// The row a row indicator codeword `cw` of cluster `clu` (0, 3 or 6) names.
fn indicator_row(cw: u32, clu: u32) -> u32 {
    3 * (cw / 30) + clu / 3
}

/// Which of one side's row indicator reads `(y, row)` lie on one line of
/// rows: of the lines through two of them (rows at least `min_height` px
/// high, at least two across the `h` px of the lines), the one that the
/// most reads fall within a row of, refitted on those reads; kept are the
/// reads within 0.75 of a row of it (a read's row is its row's centre, so
/// the reads of a row spread half a row each side of the line). `None`
/// when no line holds at least four reads and a fifth of them (the reads
/// are then taken as they are).
fn row_line_inliers(pts: &[(f32, f32)], min_height: f32, h: f32) -> Option<Vec<bool>> {
    const SEARCH: f32 = 1.0;
    const TOL: f32 = 0.75;
    if pts.len() < 4 {
        return None;
    }
    // Lines through pairs of up to 40 reads spread over the side.
    let step = pts.len().div_ceil(40);
    let anchors: Vec<(f32, f32)> = pts.iter().step_by(step).copied().collect();
    let max_slope = 1.0 / min_height.max(1.0);
    let (mut best, mut best_line) = (0usize, None);
    for (i, p) in anchors.iter().enumerate() {
        for q in &anchors[i + 1..] {
            let dy = q.0 - p.0;
            if dy.abs() < min_height {
                continue;
            }
            let b = (q.1 - p.1) / dy;
            if b.abs() > max_slope || b.abs() * h < 2.0 {
                continue;
            }
            let a = p.1 - b * p.0;
            let n = pts.iter().filter(|(y, v)| (v - a - b * y).abs() <= SEARCH).count();
            if n > best {
                (best, best_line) = (n, Some((a, b)));
            }
        }
    }
    let (a, b) = best_line?;
    if best < 4 || 5 * best < pts.len() {
        return None;
    }
    // Refined on its own reads.
    let on: Vec<(f32, f32)> = pts.iter().copied().filter(|(y, v)| (v - a - b * y).abs() <= SEARCH).collect();
    let (a, b) = theil_sen(&on).unwrap_or((a, b));
    Some(pts.iter().map(|(y, v)| (v - a - b * y).abs() <= TOL).collect())
}

/// A line v = a + b y through `pts` (y, v) that outliers do not move:
/// the median of the pairwise slopes, the median intercept.
fn theil_sen(pts: &[(f32, f32)]) -> Option<(f32, f32)> {
    if pts.len() < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(pts.len() * pts.len() / 2);
    for (i, p) in pts.iter().enumerate() {
        for q in &pts[i + 1..] {
            if (q.0 - p.0).abs() > 1e-3 {
                slopes.push((q.1 - p.1) / (q.0 - p.0));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f32::total_cmp);
    let b = slopes[slopes.len() / 2];
    let mut intercepts: Vec<f32> = pts.iter().map(|p| p.1 - b * p.0).collect();
    intercepts.sort_by(f32::total_cmp);
    Some((intercepts[intercepts.len() / 2], b))
}

/// The rows fitted anew on bands of pixel rows (a quarter of a row apart)
/// whose row indicators match one row's known indicator codeword clearly
/// best; `None` when too few do.
fn register_rows(source: Source, grid_at: &dyn Fn(f32) -> Option<Vec<f32>>, rowfit: &RowFit, shape: Shape, sigma_px: f32, scale: f64, trace: &mut Vec<String>) -> Option<RowFit> {
    let h = source.plane.h;
    let total = shape.cols + 2;
    let grids: Vec<Option<Vec<f32>>> = (0..h).map(|y| grid_at(y as f32).filter(|g| g.len() == total + 1)).collect();
    let mid = grid_at(h as f32 / 2.0).filter(|g| g.len() == total + 1)?;
    let mut pts = Vec::new();
    let (mut left_n, mut right_n) = (0, 0);
    for (k, left) in [(0usize, true), (total - 1, false)] {
        let x = (mid[k] + mid[k + 1]) / 2.0;
        let per_px = (rowfit.at(x, 1.0) - rowfit.at(x, 0.0)).abs();
        if per_px < 1e-4 {
            continue;
        }
        let height = 1.0 / per_px;
        let step = (height / 4.0).max(1.0);
        let half = (height / 8.0).floor() as usize;
        let mut y = half as f32;
        while (y as usize) + half < h {
            let yc = y as usize;
            if let Some(o) = observe_band(source, &grids, k, yc - half..=yc + half, sigma_px) {
                if let Some(row) = rowmatch::best_row(&o, shape, left) {
                    pts.push((x, y, row as f32 + 0.5));
                    if left {
                        left_n += 1;
                    } else {
                        right_n += 1;
                    }
                }
            }
            y += step;
        }
    }
    // Stray matches (a band off the symbol, a wrong row) are dropped
    // against a median-of-slopes line per side before the fit.
    let mut kept = Vec::new();
    let mut sides: Vec<f32> = pts.iter().map(|p| p.0).collect();
    sides.dedup();
    for x in sides {
        let side: Vec<(f32, f32)> = pts.iter().filter(|p| p.0 == x).map(|p| (p.1, p.2)).collect();
        let Some((a, b)) = theil_sen(&side) else { continue };
        kept.extend(side.iter().filter(|(y, v)| (v - a - b * y).abs() <= 0.6).map(|&(y, v)| (x, y, v)));
    }
    // The fit from the lines stands when it already puts nine in ten of
    // them in their row.
    let agree = kept.iter().filter(|p| (rowfit.at(p.0, p.1) - p.2).abs() < 0.5).count();
    trace.push(format!("rows registered on {left_n} + {right_n} bands, {} kept, {agree} in their row before", kept.len()));
    if kept.len() < 6 || 10 * agree >= 9 * kept.len() {
        return None;
    }
    fit_registered(&kept, left_n >= 3 && right_n >= 3, scale, trace)
}

/// The rows fitted on the registered bands' points `(x, y, row)` (both
/// sides' when `both`: at least three bands each).
fn fit_registered(kept: &[(f32, f32, f32)], both: bool, scale: f64, trace: &mut Vec<String>) -> Option<RowFit> {
    // The rows' height differs between the sides by what the tilt makes
    // of it, far less than twice. A side whose own line has no rows going
    // down the cut-out has matched stray rows (under heavy blur a band can
    // match one row's indicator all along a side); where both go down but
    // their heights differ by more, the side with fewer bands is taken
    // for the stray one. The rows are then fitted on the other side
    // alone, level across the cut-out (it is cut out upright).
    let side_fit = |x: f32| -> Option<(f32, usize)> {
        let side: Vec<(f32, f32)> = kept.iter().filter(|p| p.0 == x).map(|p| (p.1, p.2)).collect();
        theil_sen(&side).map(|(_, b)| (b, side.len())).filter(|(b, _)| *b > 0.0)
    };
    let mut xs: Vec<f32> = kept.iter().map(|p| p.0).collect();
    xs.dedup();
    if let [xl, xr] = xs[..] {
        let (l, r) = (side_fit(xl), side_fit(xr));
        let good = match (l, r) {
            (Some(l), Some(r)) if (0.5..=2.0).contains(&(l.0 / r.0)) => None,
            (Some(l), Some(r)) => Some(if l.1 >= r.1 { xl } else { xr }),
            (Some(_), None) => Some(xl),
            (None, Some(_)) => Some(xr),
            (None, None) => None,
        };
        if let Some(x) = good {
            trace.push(format!(
                "the sides' rows disagree ({l:?} / {r:?} rows per px, bands): fitted on the {} side",
                if x == xl { "left" } else { "right" }
            ));
            let side: Vec<(f32, f32, f32)> = kept.iter().filter(|p| p.0 == x).copied().collect();
            return RowFit::fit(&side, false, scale);
        }
    }
    RowFit::fit(kept, both, scale).or_else(|| RowFit::fit(kept, false, scale))
}

/// The unrestored pixels under the scan lines, and whether the lines run
/// right to left over them.
#[derive(Clone, Copy)]
struct Source<'a> {
    plane: &'a Plane,
    flipped: bool,
}

/// Per slot of every column, row indicators included (`row * (cols + 2)
/// + column`), the unrestored pixel rows within a quarter of a row's
/// height of its centre (where the neighbouring rows' blur reaches least),
/// each cut on the grid at its own height and averaged, at [`FINE_SPM`]
/// samples per module from module `-OBS_START` (dark positive); with the
/// blur `sigma_px` in the slot's modules. Pixel rows with clipped (glare)
/// samples are left out.
fn row_observations(source: Source, grid_at: &dyn Fn(f32) -> Option<Vec<f32>>, rowfit: &RowFit, cols: usize, rows: usize, sigma_px: f32) -> Vec<Option<Observation>> {
    let h = source.plane.h;
    let total = cols + 2;
    let grids: Vec<Option<Vec<f32>>> = (0..h).map(|y| grid_at(y as f32).filter(|g| g.len() == total + 1)).collect();
    let mut out = vec![None; rows * total];
    let Some(mid) = grid_at(h as f32 / 2.0).filter(|g| g.len() == total + 1) else { return out };
    for c in 0..total {
        let x = (mid[c] + mid[c + 1]) / 2.0;
        let a0 = rowfit.at(x, 0.0);
        let per_px = rowfit.at(x, 1.0) - a0;
        if per_px.abs() < 1e-4 {
            continue;
        }
        let half = 0.25 / per_px.abs();
        for r in 0..rows {
            let yc = (r as f32 + 0.5 - a0) / per_px;
            let (y0, y1) = ((yc - half).ceil().max(0.0), (yc + half).floor().min((h - 1) as f32));
            let band: Vec<usize> = if y1 >= y0 {
                (y0 as usize..=y1 as usize).collect()
            } else if (0.0..h as f32 - 0.5).contains(&yc) {
                vec![yc.round() as usize]
            } else {
                Vec::new()
            };
            out[r * total + c] = observe_band(source, &grids, c, band.into_iter(), sigma_px);
        }
    }
    out
}

/// Majority per codeword (ties and unread ones are erasures), corrected
/// with a margin left in the code; a second try also erases codewords read
/// by a single line.
fn correct_votes(votes: &[Vec<(u32, u32)>], n: usize, ecl: usize, trace: &mut Vec<String>) -> Option<String> {
    let ec = 1usize << (ecl + 1);
    if ec + 2 > n {
        return None;
    }
    for min_votes in [1u32, 2] {
        let mut word = vec![0u32; n];
        let mut erasures = Vec::new();
        for (i, slot) in votes.iter().enumerate() {
            let mut sorted = slot.clone();
            sorted.sort_by(|a, b| b.1.cmp(&a.1));
            match sorted.as_slice() {
                [(v, c), rest @ ..] if *c >= min_votes && rest.first().is_none_or(|s| s.1 < *c) => word[i] = *v,
                _ => erasures.push(i),
            }
        }
        trace.push(format!("min votes {min_votes}: {} codewords, {} erasures, ec {ec}", n, erasures.len()));
        if erasures.len() + EC_MARGIN > ec {
            continue;
        }
        if let Some(text) = correct_and_decode(&mut word, &erasures, ecl, trace) {
            return Some(text);
        }
    }
    None
}


#[cfg(test)]
thread_local! {
    /// The last corrected word that decoded (for the tests' diagnosis).
    pub(super) static LAST_WORD: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Corrects `word` (`erasures` unknown) and decodes it, when the
/// correction leaves [`EC_MARGIN`] codewords of the code unused and the
/// length descriptor fits the symbol.
pub(super) fn correct_and_decode(word: &mut [u32], erasures: &[usize], ecl: usize, trace: &mut Vec<String>) -> Option<String> {
    let (n, ec) = (word.len(), 1usize << (ecl + 1));
    if erasures.len() + EC_MARGIN > ec {
        return None;
    }
    let Some(fixed) = rs929::correct(word, ec, erasures) else {
        trace.push("uncorrectable".into());
        return None;
    };
    trace.push(format!("corrected {} errors {} erasures", fixed.errors, fixed.erasures));
    if 2 * fixed.errors + fixed.erasures + EC_MARGIN > ec || word[0] as usize != n - ec {
        return None;
    }
    let result = decoded_bit_stream_parser::decode(word, &ecl.to_string()).ok()?;
    #[cfg(test)]
    LAST_WORD.with(|w| *w.borrow_mut() = word.to_vec());
    let text = result.getText().to_string();
    (!text.is_empty()).then_some(text)
}

/// The 17 modules (bar = 1, first module highest) of codeword `cw` in
/// cluster `row_cluster` (0, 1, 2 for row mod 3).
pub(super) fn codeword_bits(row_cluster: usize, cw: u32) -> Option<u32> {
    static TABLE: std::sync::OnceLock<Vec<[u32; 929]>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = vec![[0u32; 929]; 3];
        for &symbol in rxing::pdf417::pdf_417_common::SYMBOL_TABLE.iter() {
            let bits = symbol & 0x1FFFF;
            if let (Some(clu), cw) = (cluster(bits), getCodeword(bits)) {
                if (0..929).contains(&cw) {
                    t[(clu / 3) as usize][cw as usize] = bits;
                }
            }
        }
        t
    });
    table.get(row_cluster)?.get(cw as usize).copied().filter(|b| *b != 0)
}

/// Samples per module of the templates.
const SPM: usize = 3;

/// Blurred templates of every symbol, per cluster (0, 1, 2) and codeword:
/// centred and normalised samples at [`SPM`] per module, for a blur of
/// `sigma` modules. Cached per 0.05 module of blur.
fn templates(sigma: f32) -> std::sync::Arc<[Vec<Vec<f32>>; 3]> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<u32, Arc<[Vec<Vec<f32>>; 3]>>>> = OnceLock::new();
    let key = (sigma / 0.05).round().clamp(0.0, 60.0) as u32;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return t;
    }
    let sigma = key as f32 * 0.05;
    // Fine rendering: 12 samples per module, 2 modules of context each side
    // (the previous codeword ends light, the next starts dark).
    const FINE: usize = 12;
    let pad = 2 * FINE;
    let n = 17 * FINE + 2 * pad;
    let s = sigma * FINE as f32;
    let kernel = fine_kernel(s);
    let kr = kernel.len() / 2;
    // The blurred value of a sample is a weighted sum of the module values:
    // the weights (kernel mass per module) are the same for every symbol.
    const MODULES: usize = 21;
    let weights: Vec<[f32; MODULES]> = (0..17 * SPM)
        .map(|j| {
            let centre = pad + j * FINE / SPM + FINE / (2 * SPM);
            let mut w = [0f32; MODULES];
            for (k, kv) in kernel.iter().enumerate() {
                w[((centre + k).saturating_sub(kr).min(n - 1) / FINE).min(MODULES - 1)] += kv;
            }
            w
        })
        .collect();
    let mut out: [Vec<Vec<f32>>; 3] = [vec![Vec::new(); 929], vec![Vec::new(); 929], vec![Vec::new(); 929]];
    for &symbol in rxing::pdf417::pdf_417_common::SYMBOL_TABLE.iter() {
        let bits = symbol & 0x1FFFF;
        let (Some(clu), cw) = (cluster(bits), getCodeword(bits)) else { continue };
        if cw < 0 {
            continue;
        }
        // Module values: two of context each side (the previous codeword
        // ends light, the next starts dark, beyond that unknown).
        let mut v = [0f32; MODULES];
        v[1] = -1.0;
        v[19] = 1.0;
        for (m, value) in v[2..19].iter_mut().enumerate() {
            *value = if (bits >> (16 - m)) & 1 == 1 { 1.0 } else { -1.0 };
        }
        let mut t: Vec<f32> = weights
            .iter()
            .map(|w| dot(w, &v))
            .collect();
        let mean = t.iter().sum::<f32>() / t.len() as f32;
        t.iter_mut().for_each(|v| *v -= mean);
        let norm = t.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
        t.iter_mut().for_each(|v| *v /= norm);
        out[(clu / 3) as usize][cw as usize] = t;
    }
    let arc = Arc::new(out);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, arc.clone());
    }
    arc
}

/// The line's unrestored profile between `l` and `r` at [`SPM`] samples
/// per module, centred and normalised (dark positive); `None` when off the
/// line, flat or saturated.
fn observe(line: &Line, l: f32, r: f32) -> Option<Vec<f32>> {
    let u = (r - l) / 17.0;
    if u <= 0.3 {
        return None;
    }
    let n = line.raw.len();
    let mut o: Vec<f32> = Vec::with_capacity(17 * SPM);
    let mut saturated = 0;
    for j in 0..17 * SPM {
        let x = l + (j as f32 + 0.5) * u / SPM as f32;
        if x < 0.0 || x >= (n - 1) as f32 {
            return None;
        }
        let i = x as usize;
        let f = x - i as f32;
        saturated += usize::from(line.saturated[i]);
        o.push(-(line.raw[i] * (1.0 - f) + line.raw[i + 1] * f));
    }
    if saturated > 2 * SPM {
        return None;
    }
    let mean = o.iter().sum::<f32>() / o.len() as f32;
    o.iter_mut().for_each(|v| *v -= mean);
    let norm = o.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm < 1e-3 {
        return None;
    }
    o.iter_mut().for_each(|v| *v /= norm);
    Some(o)
}

/// The best of `candidates` (index, cluster 0..2, codeword) by correlation
/// of its blurred template with `o`; `None` unless clearly the best.
fn best_match(o: &[f32], set: &[Vec<Vec<f32>>; 3], candidates: impl Iterator<Item = (usize, usize, u32)>) -> Option<usize> {
    let (mut best, mut second, mut best_i) = (f32::MIN, f32::MIN, 0);
    for (i, clu, cw) in candidates {
        let t = &set[clu][cw as usize];
        if t.len() != o.len() {
            continue;
        }
        let c = dot(t, o);
        if c > best {
            second = best;
            best = c;
            best_i = i;
        } else if c > second {
            second = c;
        }
    }
    (best > 0.75 && best - second > 0.02).then_some(best_i)
}

/// The codeword of row cluster `cluster` (0, 1, 2 for row mod 3) whose
/// blurred template correlates best with the line's unrestored profile
/// between `l` and `r`.
fn match_codeword(line: &Line, l: f32, r: f32, cluster: usize, sigma_px: f32) -> Option<u32> {
    let o = observe(line, l, r)?;
    let set = templates(sigma_px / ((r - l) / 17.0));
    best_match(&o, &set, (0..929u32).map(|cw| (cw as usize, cluster, cw))).map(|i| i as u32)
}

/// A normalised Gaussian kernel of `s` fine samples (radius 3s; a single
/// tap below 0.3 samples), for blurring the finely rendered templates.
fn fine_kernel(s: f32) -> Vec<f32> {
    if s < 0.3 {
        return vec![1.0];
    }
    let r = (3.0 * s).ceil() as i32;
    let k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * s * s)).exp()).collect();
    let sum: f32 = k.iter().sum();
    k.iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::barcode::restore;
    use rxing::pdf417::PDF417Writer;
    use rxing::pdf417::encoder::Dimensions;
    use rxing::{BarcodeFormat, EncodeHints, Writer};

    #[test]
    fn an_end_seen_on_few_lines_follows_the_other_ends_module() {
        // A tilted symbol: both ends' modules grow from 3.0 to 3.6 px over
        // 400 px, the stop's 10 % wider; the stop pattern is seen on the
        // top 40 lines only, its measured module off by up to 0.06 px (a
        // little wide on the first 20, a little narrow on the next).
        let su: Vec<(f32, f32)> = (0..200).map(|i| (2.0 * i as f32, 3.0 + 0.0015 * 2.0 * i as f32)).collect();
        let wobble = [0.06, -0.05, 0.04, -0.06, 0.05, -0.04, 0.06, -0.05];
        let eu: Vec<(f32, f32)> =
            su[..40].iter().enumerate().map(|(i, (y, u))| (*y, 1.1 * u + wobble[i % 8] / 2.0 + if i < 20 { 0.03 } else { -0.03 })).collect();
        let (_, e) = end_modules(&su, &eu, 3.0).expect("both ends");
        let at_bottom = e.0 + e.1 * 398.0;
        let truth = 1.1 * (3.0 + 0.0015 * 398.0);
        assert!((at_bottom - truth).abs() < 0.03, "{at_bottom} against {truth}");
        // Its own line, fitted on the 80 px it was seen on, is off there.
        let own = robust_line(&eu, 3.0 * 0.08).expect("a line");
        assert!((own.0 + own.1 * 398.0 - truth).abs() > 0.1, "{own:?}");
    }

    #[test]
    fn indicator_reads_off_the_rows_line_are_left_out() {
        // Rows 12 px high, a read every 4 px; every third read is a chance
        // match whose row has nothing to do with its place.
        let mut pts = Vec::new();
        let mut chance = Vec::new();
        for i in 0..60 {
            let y = 4.0 * i as f32;
            if i % 3 == 1 {
                chance.push(pts.len());
                pts.push((y, ((i * 7919) % 31) as f32 + 0.5));
            } else {
                pts.push((y, (y / 12.0).floor() + 0.5));
            }
        }
        let kept = row_line_inliers(&pts, 6.0, 240.0).expect("the rows' line");
        let kept_chance = chance.iter().filter(|&&i| kept[i]).count();
        let kept_true = (0..pts.len()).filter(|i| !chance.contains(i) && kept[*i]).count();
        assert!(kept_true >= 36, "{kept_true} of 40 true reads kept");
        assert!(kept_chance <= 3, "{kept_chance} of 20 chance reads kept");
        // Reads that are all noise: no line holds a fifth of them.
        let noise: Vec<(f32, f32)> = (0..60).map(|i| (4.0 * i as f32, ((i * 7919 + 13) % 31) as f32 + 0.5)).collect();
        assert!(row_line_inliers(&noise, 6.0, 240.0).is_none_or(|k| k.iter().filter(|x| **x).count() < 20));
    }

    #[test]
    fn a_side_whose_bands_all_matched_one_row_does_not_bend_the_rows() {
        // Left: 34 rows of 13.9 px from y = 97; right: every band matched
        // the middle row's indicator (a heavily blurred side).
        let row_at = |y: f32| (y - 97.0) / 13.9;
        let mut kept: Vec<(f32, f32, f32)> = (0..30).map(|i| 100.0 + 15.0 * i as f32).map(|y| (269.0, y, row_at(y).floor() + 0.5)).collect();
        kept.extend((0..12).map(|i| (790.0, 150.0 + 30.0 * i as f32, 16.5)));
        let mut trace = Vec::new();
        let fit = fit_registered(&kept, true, 1000.0, &mut trace).expect("fits");
        for x in [269.0f32, 530.0, 790.0] {
            let per_px = fit.at(x, 1.0) - fit.at(x, 0.0);
            assert!((per_px * 13.9 - 1.0).abs() < 0.05, "row height at x {x}: {} px", 1.0 / per_px);
            assert!((fit.at(x, 300.0) - row_at(300.0)).abs() < 0.5, "row at x {x}: {}", fit.at(x, 300.0));
        }
        // Sides that agree keep their own offsets (a slight rotation).
        let both: Vec<(f32, f32, f32)> = (0..30)
            .flat_map(|i| {
                let y = 100.0 + 15.0 * i as f32;
                [(269.0, y, row_at(y)), (790.0, y, row_at(y) + 1.0)]
            })
            .collect();
        let fit = fit_registered(&both, true, 1000.0, &mut trace).expect("fits");
        assert!((fit.at(790.0, 300.0) - fit.at(269.0, 300.0) - 1.0).abs() < 0.1);
    }

    const TEXT: &str = "@\n\u{1e}\rANSI 636014100102DL00410278ZC03190008DLDAQD7654321\nDCSGARCIA-LOPEZ\nDACMARIA\nDBB08311988\nDAG1234 SUNSET BLVD\nDAILOS ANGELES\nDAJCA\nDAK900280000\r";

    /// The symbol at `module` px (rows 4 modules tall), blurred across the
    /// bars with `sigma`, with noise; a plane with a light margin.
    fn symbol(module: f32, sigma: f32, noise: f32, reverse: bool) -> Plane {
        symbol_in_perspective(module, module, sigma, noise, reverse)
    }

    /// [`symbol`] seen in perspective (a card turned about an upright
    /// axis): its module goes from `left` px at the start pattern to
    /// `right` px at the stop pattern as a camera makes it, `u(k) = left /
    /// (1 + r k)^2` over the symbol's modules `k`; rows 4 `left` modules
    /// tall.
    fn symbol_in_perspective(left: f32, right: f32, sigma: f32, noise: f32, reverse: bool) -> Plane {
        let module = left;
        let hints = EncodeHints {
            ErrorCorrection: Some("5".into()),
            Margin: Some("0".into()),
            Pdf417Dimensions: Some(Dimensions::new(8, 8, 3, 90)),
            ..Default::default()
        };
        let m = PDF417Writer.encode_with_hints(TEXT, &BarcodeFormat::PDF_417, 10000, 1, &hints).unwrap();
        let margin = 6.0 * module;
        // x(k) = left k / (1 + r k), so k(x) = x / (left - r x).
        let modules = m.getWidth() as f32;
        let r = ((left / right).sqrt() - 1.0) / modules;
        let width = left * modules / (1.0 + r * modules);
        let to_module = |x: f32| x / (left - r * x);
        let w = (width + 2.0 * margin) as usize;
        let h = (m.getHeight() as f32 * module + 2.0 * margin) as usize;
        let mut data = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                // Area sampling over 4x4 sub-pixels.
                let mut dark = 0.0;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let mx = to_module(x as f32 + (sx as f32 + 0.5) / 4.0 - margin).floor();
                        let my = ((y as f32 + (sy as f32 + 0.5) / 4.0 - margin) / module).floor();
                        if mx >= 0.0 && my >= 0.0 && (mx as u32) < m.getWidth() && (my as u32) < m.getHeight() && m.get(mx as u32, my as u32) {
                            dark += 1.0 / 16.0;
                        }
                    }
                }
                data[y * w + x] = 220.0 - 180.0 * dark;
            }
        }
        let mut p = Plane { w, h, data };
        if sigma > 0.0 {
            let r = (3.0 * sigma).ceil() as i32;
            let k: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
            let s: f32 = k.iter().sum();
            let k: Vec<f32> = k.iter().map(|v| v / s).collect();
            p = restore::convolve_x(&p, &k);
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for v in &mut p.data {
            let mut acc = 0.0f32;
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                acc += (state >> 40) as f32 / (1u64 << 24) as f32;
            }
            *v += (acc - 6.0) * noise;
        }
        if reverse {
            p.data.reverse();
        }
        p
    }

    #[test]
    fn a_clean_symbol_is_read_either_way_up() {
        for reverse in [false, true] {
            let p = symbol(3.0, 0.0, 2.0, reverse);
            let mut trace = Vec::new();
            let text = read_traced(&p, &p, 3.0, None, &mut trace);
            assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
        }
    }

    #[test]
    fn a_blurred_symbol_is_read_after_deconvolution() {
        let p = symbol(3.5, 2.6, 3.0, false);
        let mut trace = Vec::new();
        let sharp = restore::deconvolve_x(&p, 2.6, 2e-3);
        let text = read_traced(&sharp, &p, 3.5, Some(2.6), &mut trace);
        assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
    }

    #[test]
    fn end_patterns_and_blur_are_found_by_correlation() {
        // Blur of about a module: thresholding loses the patterns' one-module elements.
        let p = symbol(3.0, 3.0, 2.0, false);
        let (unit, blur) = estimate_blur(&p, 4.0).expect("end patterns found");
        assert!((unit - 3.0).abs() < 0.15, "unit {unit}");
        assert!((blur - 3.0).abs() < 0.6, "blur {blur}");
    }

    #[test]
    fn a_symbol_blurred_by_a_module_is_read() {
        let p = symbol(3.0, 2.7, 2.0, true);
        let mut trace = Vec::new();
        let sharp = restore::deconvolve_x(&p, 2.7, 2e-3);
        let text = read_traced(&sharp, &p, 3.0, Some(2.7), &mut trace);
        assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
    }

    #[test]
    fn a_symbol_blurred_well_beyond_a_module_is_read_from_whole_rows() {
        // Blur of 1.4 modules: no line keeps the one-module elements and
        // per-line template matches are too noisy; whole rows are not.
        let p = symbol(3.0, 4.2, 3.0, false);
        let mut trace = Vec::new();
        let sharp = restore::deconvolve_x(&p, 4.2, 2e-3);
        let text = read_traced(&sharp, &p, 3.0, Some(4.2), &mut trace);
        assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
        assert!(trace.iter().any(|t| t.starts_with("row matching read")), "{trace:?}");
    }

    #[test]
    #[ignore = "diagnosis"]
    fn diagnose_the_blurred_symbol() {
        let clean = symbol(3.0, 0.0, 2.0, false);
        assert!(read_traced(&clean, &clean, 3.0, None, &mut Vec::new()).is_some());
        let truth = LAST_WORD.with(|w| w.borrow().clone());
        for reverse in [false, true] {
            let p = symbol(3.0, 4.2, 3.0, reverse);
            let mut trace = Vec::new();
            let sharp = restore::deconvolve_x(&p, 4.2, 2e-3);
            rowmatch::PASSES.with(|p| p.borrow_mut().clear());
            let text = read_traced(&sharp, &p, 3.0, Some(4.2), &mut trace);
            eprintln!("reverse {reverse}: {} {}", text.is_some(), trace.join(", "));
            for pass in rowmatch::PASSES.with(|p| p.borrow().clone()) {
                let right = pass.iter().zip(&truth).filter(|(m, t)| m.is_some_and(|m| m.0 == **t)).count();
                let mut shifts = std::collections::BTreeMap::new();
                for m in pass.iter().flatten() {
                    *shifts.entry(m.3).or_insert(0) += 1;
                }
                eprintln!("  right {right} of {} shifts {shifts:?}", pass.len());
            }
        }
    }

    #[test]
    fn a_symbol_with_one_end_pattern_under_glare_is_read_from_the_other() {
        for reverse in [false, true] {
            let mut p = symbol(3.0, 0.5, 2.0, reverse);
            // Clipped white over the left quiet zone, the start pattern and
            // the left row indicator (turned round: the stop pattern and the
            // right row indicator).
            let modules = if reverse { 35.0 } else { 34.0 };
            let hidden = ((6.0 + modules) * 3.0) as usize;
            for y in 0..p.h {
                p.data[y * p.w..][..hidden].fill(255.0);
            }
            let mut trace = Vec::new();
            let text = read_traced(&p, &p, 3.0, None, &mut trace);
            assert_eq!(text.as_deref(), Some(TEXT), "reverse {reverse}: {trace:?}");
            assert!(trace.iter().any(|t| t.contains("extrapolated")), "{trace:?}");
        }
    }

    #[test]
    fn a_symbol_in_perspective_with_its_start_under_glare_is_read_from_the_stop() {
        // The module grows from 2.4 px at the start to 3.4 px at the stop
        // (the hidden end's is 0.7 of the seen one's); clipped white over
        // the left quiet zone, the start pattern and the left row indicator.
        let mut p = symbol_in_perspective(2.4, 3.4, 0.5, 2.0, false);
        let hidden = ((6.0 + 34.0) * 2.4 * 1.02) as usize;
        for y in 0..p.h {
            p.data[y * p.w..][..hidden].fill(255.0);
        }
        let mut trace = Vec::new();
        let text = read_traced(&p, &p, 2.9, None, &mut trace);
        assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
        let placed = trace.iter().find(|t| t.contains("start extrapolated")).expect("the start extrapolated");
        let ratio: f32 = placed.rsplit("module ratio ").next().and_then(|v| v.parse().ok()).expect("a module ratio");
        assert!((0.62..=0.8).contains(&ratio), "{placed}");
    }

    #[test]
    fn a_symbol_in_steep_perspective_is_counted_in_the_ends_geometric_mean_module() {
        // 10 codewords from start to stop (8 data columns and the row
        // indicators). The module grows by half, then doubles: the span is
        // 10 codewords of the ends' geometric mean module, 9.80 and 9.43 of
        // their arithmetic mean (the second then counted 7 columns).
        for (right, read) in [(3.6, true), (4.8, false)] {
            let left = right / if read { 1.5 } else { 2.0 };
            let p = symbol_in_perspective(left, right, 0.5, 2.0, false);
            let mut trace = Vec::new();
            let text = read_traced(&p, &p, 3.0, None, &mut trace);
            let span: f32 = trace.iter().find_map(|t| t.strip_prefix("span ")?.strip_suffix(" codewords")?.parse().ok()).expect("a span");
            assert!((span - 10.0).abs() < 0.12, "{left} to {right} px: {trace:?}");
            assert!(trace.iter().any(|t| t == "columns 8"), "{trace:?}");
            if read {
                assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
            }
        }
    }

    #[test]
    fn end_patterns_are_clear_on_an_upright_symbol_only() {
        let p = symbol(3.0, 2.0, 2.0, false);
        let (_, _, upright) = end_evidence(&p, 3.0).expect("end patterns found");
        // Turned a quarter (transposed): scan lines cross the rows.
        let turned = Plane { w: p.h, h: p.w, data: (0..p.w * p.h).map(|i| p.data[(i % p.h) * p.w + i / p.h]).collect() };
        let across = end_evidence(&turned, 3.0).map_or(0.0, |e| e.2);
        assert!(upright >= 0.8 && across < upright - 0.3, "upright {upright}, turned {across}");
    }

    #[test]
    fn a_symbol_with_torn_rows_is_read_with_erasures() {
        let mut p = symbol(3.0, 0.0, 2.0, false);
        // A vertical stripe of glare over two codeword columns.
        let (x0, x1) = (p.w / 2, p.w / 2 + 90);
        for y in 0..p.h {
            for x in x0..x1 {
                p.data[y * p.w + x] = 255.0;
            }
        }
        let mut trace = Vec::new();
        let text = read_traced(&p, &p, 3.0, None, &mut trace);
        assert_eq!(text.as_deref(), Some(TEXT), "{trace:?}");
    }
}
