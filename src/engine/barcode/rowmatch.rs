//! Codewords of a heavily blurred symbol read from whole symbol rows.
//!
//! Under a blur of about a module or more, no single scan line keeps the
//! one-module elements, and a codeword's profile carries its neighbours'
//! edges. Here the unrestored profiles of all lines that cross one symbol
//! row are averaged per codeword slot (the noise drops with the number of
//! lines), and each slot is matched against the 929 symbols of its row's
//! cluster rendered with the measured blur — together with what is known
//! of the neighbours: at first only that a codeword ends with a space and
//! starts with a bar (and the row indicators, which follow from the
//! symbol's rows, columns and error-correction level), then the previous
//! round's choices. The model is linear (a blurred profile is a weighted
//! sum of module values), so a neighbour's share is computed once per slot
//! and added to every candidate. Each slot is also matched at small shifts
//! (the grid between the end patterns is good to a fraction of a module).
//! Each slot keeps its ten best symbols, and each row is then read jointly:
//! the sequence of candidates whose windows, every one rendered with its
//! actual neighbours, correlate best in sum (a Viterbi search; matched one
//! by one, a slot's choice leans on neighbours that may be wrong). The
//! least certain slots (smallest lead of the best sequence through the
//! choice over the best through another candidate) are tried as erasures
//! in growing numbers; a read is accepted on the same terms as the
//! scan-line reader's (a margin left in the code, a length descriptor that
//! fits the symbol). Up to three rounds, each matching the slots again
//! with the previous round's choices as neighbours.

use super::rows::{EC_MARGIN, codeword_bits, correct_and_decode};
use std::sync::{Arc, Mutex, OnceLock};

/// Modules of context kept each side of a codeword in its window.
pub(super) const CONTEXT: usize = 3;
/// Samples per module of the averaged observations.
pub(super) const FINE_SPM: usize = 6;
/// Modules of room each side of the context for shifting the window.
const ROOM: usize = 3;
/// Where an observation starts: modules before its codeword.
pub(super) const OBS_START: usize = CONTEXT + ROOM;
/// Modules of an observation window: the codeword, its context and room each side.
pub(super) const OBS_MODULES: usize = 17 + 2 * OBS_START;
/// Samples per module of the matching.
const SPM: usize = 3;
/// Samples of a matching window.
const SAMPLES: usize = (17 + 2 * CONTEXT) * SPM;
/// The widest shift, in fine samples.
const MAX_SHIFT: i32 = (ROOM * FINE_SPM) as i32;

/// One slot's averaged observation: the unrestored profile (dark
/// positive) at [`FINE_SPM`] per module from module `-OBS_START` of the
/// codeword, and the blur across the bars in modules.
#[derive(Debug, Clone)]
pub(super) struct Observation {
    pub fine: Vec<f32>,
    pub sigma: f32,
}

/// The symbol as far as the row indicators told: rows, data columns and
/// error-correction level.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    pub rows: usize,
    pub cols: usize,
    pub ecl: usize,
}

impl Shape {
    /// The row indicator codeword of row `r` (left or right).
    pub(super) fn indicator(&self, r: usize, left: bool) -> u32 {
        let info = match (r % 3, left) {
            (0, true) | (1, false) => (self.rows - 1) / 3,
            (1, true) | (2, false) => self.ecl * 3 + (self.rows - 1) % 3,
            _ => self.cols - 1,
        };
        (30 * (r / 3) + info) as u32
    }
}

/// Blurred templates for one blur: the sample weights of every module of
/// the window and its reach, and each symbol's own share, centred.
struct Templates {
    /// Modules covered by the weights: from `-(CONTEXT + reach)`.
    reach: usize,
    /// weights[j][m]: the share of module `m - CONTEXT - reach` in sample `j`.
    weights: Vec<Vec<f32>>,
    /// Per cluster and codeword: the symbol's own share, centred.
    own: Vec<Vec<[f32; SAMPLES]>>,
    /// Its squared norm.
    own_sq: Vec<Vec<f32>>,
}

/// Standard normal distribution function (Abramowitz-Stegun 7.1.26, error < 2e-7).
fn phi(z: f32) -> f32 {
    let x = f64::from(z.abs()) / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    let v = 0.5 * (1.0 + erf);
    (if z < 0.0 { 1.0 - v } else { v }) as f32
}

/// The templates for a blur of `sigma` modules, cached per 0.05 module.
fn templates(sigma: f32) -> Arc<Templates> {
    static CACHE: OnceLock<Mutex<std::collections::HashMap<u32, Arc<Templates>>>> = OnceLock::new();
    let key = (sigma / 0.05).round().clamp(2.0, 60.0) as u32;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return t;
    }
    let sigma = key as f32 * 0.05;
    let reach = (3.0 * sigma).ceil() as usize + 1;
    let modules = 17 + 2 * (CONTEXT + reach);
    let weights: Vec<Vec<f32>> = (0..SAMPLES)
        .map(|j| {
            let x = -(CONTEXT as f32) + (j as f32 + 0.5) / SPM as f32;
            (0..modules)
                .map(|m| {
                    let m0 = m as f32 - (CONTEXT + reach) as f32;
                    phi((m0 + 1.0 - x) / sigma) - phi((m0 - x) / sigma)
                })
                .collect()
        })
        .collect();
    let first = CONTEXT + reach;
    let mut own = vec![vec![[0f32; SAMPLES]; 929]; 3];
    let mut own_sq = vec![vec![0f32; 929]; 3];
    for clu in 0..3 {
        for cw in 0..929u32 {
            let Some(bits) = codeword_bits(clu, cw) else { continue };
            let mut t = [0f32; SAMPLES];
            for (j, w) in weights.iter().enumerate() {
                let mut acc = 0.0;
                for m in 0..17 {
                    let v = if (bits >> (16 - m)) & 1 == 1 { 1.0 } else { -1.0 };
                    acc += w[first + m] * v;
                }
                t[j] = acc;
            }
            let mean = t.iter().sum::<f32>() / SAMPLES as f32;
            t.iter_mut().for_each(|v| *v -= mean);
            own_sq[clu][cw as usize] = dot(&t, &t);
            own[clu][cw as usize] = t;
        }
    }
    let t = Arc::new(Templates { reach, weights, own, own_sq });
    if let Ok(mut c) = cache.lock() {
        c.insert(key, t.clone());
    }
    t
}

/// Dot product with eight accumulators (vectorised by the compiler).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for k in 0..8 {
            acc[k] += a[c * 8 + k] * b[c * 8 + k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        s += a[i] * b[i];
    }
    s
}

/// A slot's best match: codeword, correlation, lead over the runner-up.
#[derive(Debug, Clone, Copy)]
struct Match {
    cw: u32,
    score: f32,
    lead: f32,
    /// The shift (fine samples) of the best match.
    shift: i32,
}

/// Module values of a neighbour (+1 bar, -1 space, 0 unknown) for the
/// modules outside the codeword: `left` (module -1 first, going left) and
/// `right` (module 17 first).
fn neighbour_modules(bits: Option<u32>, left: bool, count: usize) -> Vec<f32> {
    (0..count)
        .map(|i| match bits {
            // Left neighbour: its last module is module -1.
            Some(b) if left && i < 17 => bit(b, 16 - i),
            Some(b) if !left && i < 17 => bit(b, i),
            Some(_) => 0.0,
            // Unknown: a codeword ends with a space and starts with a bar.
            None if i == 0 => {
                if left {
                    -1.0
                } else {
                    1.0
                }
            }
            None => 0.0,
        })
        .collect()
}

fn bit(bits: u32, module: usize) -> f32 {
    if (bits >> (16 - module)) & 1 == 1 { 1.0 } else { -1.0 }
}

/// The neighbours' share of every sample of a window (centred), from the
/// left (`left`) or right neighbour's bits; `None`: only that a codeword
/// ends with a space and starts with a bar.
fn side_share(t: &Templates, bits: Option<u32>, left: bool) -> [f32; SAMPLES] {
    let outside = CONTEXT + t.reach;
    let modules = neighbour_modules(bits, left, outside);
    let mut share = [0f32; SAMPLES];
    for (j, w) in t.weights.iter().enumerate() {
        let mut acc = 0.0;
        for (i, v) in modules.iter().enumerate() {
            acc += if left { w[outside - 1 - i] } else { w[outside + 17 + i] } * v;
        }
        share[j] = acc;
    }
    let mean = share.iter().sum::<f32>() / SAMPLES as f32;
    share.iter_mut().for_each(|v| *v -= mean);
    share
}

/// The observation's matching window at shift `s` (fine samples), centred
/// and of unit norm; `None` when it is flat.
fn window(obs: &Observation, s: i32) -> Option<[f32; SAMPLES]> {
    let mut o = [0f32; SAMPLES];
    for (j, v) in o.iter_mut().enumerate() {
        let i = (OBS_START * FINE_SPM) as i32 - (CONTEXT * FINE_SPM) as i32 + 2 * j as i32 + 1 + s;
        *v = obs.fine[i as usize];
    }
    let mean = o.iter().sum::<f32>() / SAMPLES as f32;
    o.iter_mut().for_each(|v| *v -= mean);
    let norm = dot(&o, &o).sqrt();
    if norm < 1e-3 {
        return None;
    }
    o.iter_mut().for_each(|v| *v /= norm);
    Some(o)
}

/// Every symbol's best correlation with the slot (with the neighbours'
/// bits where known) over `shifts`, and the shift it had; `None` when the
/// observation is flat.
fn slot_scores(obs: &Observation, cluster: usize, left: Option<u32>, right: Option<u32>, shifts: &[i32], only: Option<u32>) -> Option<(Vec<f32>, Vec<i32>)> {
    let t = templates(obs.sigma);
    let (l, r) = (side_share(&t, left, true), side_share(&t, right, false));
    let nb: Vec<f32> = l.iter().zip(&r).map(|(a, b)| a + b).collect();
    let nb_sq = dot(&nb, &nb);
    let own = &t.own[cluster];
    let own_sq = &t.own_sq[cluster];
    let norms: Vec<f32> = (0..929)
        .map(|c| {
            if only.is_some_and(|o| o as usize != c) {
                return 0.0;
            }
            let sq = own_sq[c] + 2.0 * dot(&own[c], &nb) + nb_sq;
            if own_sq[c] > 0.0 && sq > 1e-9 { sq.sqrt().recip() } else { 0.0 }
        })
        .collect();
    let mut scores = vec![f32::MIN; 929];
    let mut best_shift = vec![0i32; 929];
    for &s in shifts {
        let o = window(obs, s)?;
        let base = dot(&o, &nb);
        for c in 0..929 {
            if norms[c] == 0.0 {
                continue;
            }
            let score = (dot(&o, &own[c]) + base) * norms[c];
            if score > scores[c] {
                (scores[c], best_shift[c]) = (score, s);
            }
        }
    }
    Some((scores, best_shift))
}

/// Matches one slot against the 929 symbols of `cluster`, with the
/// neighbours' bits where known.
fn match_slot(obs: &Observation, cluster: usize, left: Option<u32>, right: Option<u32>, shifts: &[i32], only: Option<u32>) -> Option<Match> {
    let (scores, shifts) = slot_scores(obs, cluster, left, right, shifts, only)?;
    let (mut best, mut best_cw) = (f32::MIN, 0usize);
    for (c, &s) in scores.iter().enumerate() {
        if s > best {
            (best, best_cw) = (s, c);
        }
    }
    if best == f32::MIN {
        return None;
    }
    let second = scores.iter().enumerate().filter(|(c, _)| *c != best_cw).map(|(_, s)| *s).fold(f32::MIN, f32::max);
    Some(Match { cw: best_cw as u32, score: best, lead: best - second, shift: shifts[best_cw] })
}

/// Candidates kept per slot for the joint reading of a row.
const JOINT_CANDIDATES: usize = 10;

/// One position of a row for the joint reading: its candidate codewords
/// (`None`: unknown) with the shift each matched at.
struct Position<'a> {
    obs: Option<&'a Observation>,
    cands: Vec<(Option<u32>, i32)>,
}

/// Reads one symbol row jointly: each data slot's candidates (its few
/// best symbols as matched alone, with what was known of its neighbours),
/// then the sequence of them along the
/// row whose windows, each rendered with its actual neighbours, correlate
/// best in sum (a Viterbi search over pairs of neighbouring choices, as a
/// slot's window reaches into both neighbours). Returns each data slot's
/// choice with its lead: the best sum through it against the best sum
/// through any other of its candidates.
fn joint_row(positions: &[Position], cluster: usize) -> Vec<Option<Match>> {
    let n = positions.len();
    let k: Vec<usize> = positions.iter().map(|p| p.cands.len().max(1)).collect();
    // score[i][(a * k[i] + c) * k[i + 1] + b]: slot i's correlation with
    // candidate c between a (at i - 1) and b (at i + 1); 0 where nothing
    // is observed.
    let mut score: Vec<Vec<f32>> = vec![Vec::new(); n];
    for i in 1..n.saturating_sub(1) {
        let p = &positions[i];
        let (ka, kc, kb) = (k[i - 1], k[i], k[i + 1]);
        let mut s = vec![0f32; ka * kc * kb];
        if let Some(obs) = p.obs {
            let t = templates(obs.sigma);
            let lefts: Vec<[f32; SAMPLES]> = positions[i - 1].cands.iter().map(|(b, _)| side_share(&t, b.and_then(|cw| codeword_bits(cluster, cw)), true)).collect();
            let rights: Vec<[f32; SAMPLES]> = positions[i + 1].cands.iter().map(|(b, _)| side_share(&t, b.and_then(|cw| codeword_bits(cluster, cw)), false)).collect();
            // The neighbours' overlap, the same for every candidate.
            let lr: Vec<f32> = lefts.iter().flat_map(|l| rights.iter().map(move |r| dot(l, r))).collect();
            let ll: Vec<f32> = lefts.iter().map(|l| dot(l, l)).collect();
            let rr: Vec<f32> = rights.iter().map(|r| dot(r, r)).collect();
            for (ci, &(cw, shift)) in p.cands.iter().enumerate() {
                let (Some(cw), Some(o)) = (cw, window(obs, shift)) else { continue };
                let own = &t.own[cluster][cw as usize];
                let own_sq = t.own_sq[cluster][cw as usize];
                let ol: Vec<(f32, f32, f32)> = lefts.iter().zip(&ll).map(|(l, sq)| (dot(&o, l), dot(own, l), *sq)).collect();
                let or: Vec<(f32, f32, f32)> = rights.iter().zip(&rr).map(|(r, sq)| (dot(&o, r), dot(own, r), *sq)).collect();
                let base = dot(&o, own);
                for ai in 0..lefts.len() {
                    for bi in 0..rights.len() {
                        let num = base + ol[ai].0 + or[bi].0;
                        let sq = own_sq + 2.0 * (ol[ai].1 + or[bi].1) + ol[ai].2 + or[bi].2 + 2.0 * lr[ai * rights.len() + bi];
                        s[(ai * kc + ci) * kb + bi] = if sq > 1e-9 { num / sq.sqrt() } else { 0.0 };
                    }
                }
            }
        }
        score[i] = s;
    }
    // Forward: fwd[i][a * k[i] + c], the best sum of slots 1..i (exclusive
    // of i) with a at i - 1 and c at i.
    let mut fwd: Vec<Vec<f32>> = vec![Vec::new(); n];
    fwd[1] = vec![0f32; k[0] * k[1]];
    for i in 1..n - 1 {
        let (ka, kc, kb) = (k[i - 1], k[i], k[i + 1]);
        let mut next = vec![f32::MIN; kc * kb];
        for a in 0..ka {
            for c in 0..kc {
                let f = fwd[i][a * kc + c];
                for b in 0..kb {
                    let v = f + score[i][(a * kc + c) * kb + b];
                    if v > next[c * kb + b] {
                        next[c * kb + b] = v;
                    }
                }
            }
        }
        fwd[i + 1] = next;
    }
    // Backward: bwd[i][a * k[i] + c], the best sum of slots i..n-1 given a, c.
    let mut bwd: Vec<Vec<f32>> = vec![Vec::new(); n];
    bwd[n - 1] = vec![0f32; k[n - 2] * k[n - 1]];
    for i in (1..n - 1).rev() {
        let (ka, kc, kb) = (k[i - 1], k[i], k[i + 1]);
        let mut here = vec![f32::MIN; ka * kc];
        for a in 0..ka {
            for c in 0..kc {
                for b in 0..kb {
                    let v = score[i][(a * kc + c) * kb + b] + bwd[i + 1][c * kb + b];
                    if v > here[a * kc + c] {
                        here[a * kc + c] = v;
                    }
                }
            }
        }
        bwd[i] = here;
    }
    (1..n - 1)
        .map(|i| {
            let p = &positions[i];
            p.obs?;
            let (ka, kc) = (k[i - 1], k[i]);
            let mut through = vec![f32::MIN; kc];
            for a in 0..ka {
                for c in 0..kc {
                    through[c] = through[c].max(fwd[i][a * kc + c] + bwd[i][a * kc + c]);
                }
            }
            let best = (0..kc).max_by(|&x, &y| through[x].total_cmp(&through[y]))?;
            let (cw, shift) = p.cands[best];
            let second = (0..kc).filter(|&c| c != best).map(|c| through[c]).fold(f32::MIN, f32::max);
            // The slot's own correlation on the best path.
            let kb = k[i + 1];
            let own = (0..ka)
                .flat_map(|a| (0..kb).map(move |b| (a, b)))
                .max_by(|&(a, b), &(x, y)| {
                    let sum = |a: usize, b: usize| fwd[i][a * kc + best] + score[i][(a * kc + best) * kb + b] + bwd[i + 1][best * kb + b];
                    sum(a, b).total_cmp(&sum(x, y))
                })
                .map_or(0.0, |(a, b)| score[i][(a * kc + best) * kb + b]);
            Some(Match { cw: cw?, score: own, lead: if second == f32::MIN { 1.0 } else { through[best] - second }, shift })
        })
        .collect()
}

/// The row whose left (or right) row indicator matches `obs` clearly
/// best, at any shift.
pub(super) fn best_row(obs: &Observation, shape: Shape, left: bool) -> Option<usize> {
    let wide: Vec<i32> = (-MAX_SHIFT..=MAX_SHIFT).collect();
    let (mut best, mut second, mut row) = (f32::MIN, f32::MIN, 0);
    for r in 0..shape.rows {
        let Some(m) = match_slot(obs, r % 3, None, None, &wide, Some(shape.indicator(r, left))) else { continue };
        if m.score > best {
            (second, best, row) = (best, m.score, r);
        } else if m.score > second {
            second = m.score;
        }
    }
    (best > 0.8 && best - second > 0.05).then_some(row)
}

/// Reads the symbol from per-slot observations (`obs[row * (cols + 2) +
/// column]`, the row indicators' columns included). The row indicators'
/// codewords follow from the shape, so matching them over a wide range of
/// shifts tells where each row's grid really is (the grid between the end
/// patterns drifts by a module or more over a blurred symbol); the data
/// slots are searched around the shift interpolated between them. `None`
/// when the code does not correct.
pub(super) fn decode(obs: &[Option<Observation>], shape: Shape, votes: &[Vec<(u32, u32)>], trace: &mut Vec<String>) -> Option<String> {
    let Shape { rows, cols, ecl } = shape;
    let total = cols + 2;
    let n = rows * cols;
    if obs.len() != rows * total || n == 0 {
        return None;
    }
    let data = |r: usize, c: usize| obs[r * total + c + 1].as_ref();
    let observed = (0..n).filter(|i| data(i / cols, i % cols).is_some()).count();
    let ec = 1usize << (ecl + 1);
    if ec + 2 > n || observed + ec < n + EC_MARGIN {
        let per_row: Vec<usize> = (0..rows).map(|r| (0..cols).filter(|&c| data(r, c).is_some()).count()).collect();
        trace.push(format!("row matching: {observed} of {n} slots observed (per row {per_row:?})"));
        return None;
    }
    // Each row's indicators placed by their known codewords.
    let wide: Vec<i32> = (-MAX_SHIFT..=MAX_SHIFT).collect();
    let place = |r: usize, left: bool| -> Option<i32> {
        let o = obs[r * total + if left { 0 } else { total - 1 }].as_ref()?;
        let m = match_slot(o, r % 3, None, None, &wide, Some(shape.indicator(r, left)))?;
        (m.score > 0.7).then_some(m.shift)
    };
    let mut ends: Vec<Option<(i32, i32)>> = (0..rows)
        .map(|r| match (place(r, true), place(r, false)) {
            (Some(a), Some(b)) => Some((a, b)),
            (Some(a), None) | (None, Some(a)) => Some((a, a)),
            (None, None) => None,
        })
        .collect();
    let placed = ends.iter().filter(|e| e.is_some()).count();
    trace.push(format!("row matching: {observed} of {n} slots observed, indicators placed on {placed} of {rows} rows"));
    // A row with neither indicator placed takes the nearest row's.
    let known_rows: Vec<usize> = (0..rows).filter(|&r| ends[r].is_some()).collect();
    for r in 0..rows {
        if ends[r].is_none() {
            ends[r] = known_rows.iter().min_by_key(|&&k| k.abs_diff(r)).and_then(|&k| ends[k]);
        }
    }
    let expected: Vec<i32> = (0..n)
        .map(|i| {
            let (a, b) = ends[i / cols].unwrap_or((0, 0));
            let t = (i % cols + 1) as f32 / (total - 1) as f32;
            (a as f32 + (b - a) as f32 * t).round() as i32
        })
        .collect();
    let mut matches: Vec<Option<Match>> = vec![None; n];
    let mut candidates: Vec<Vec<(Option<u32>, i32)>> = vec![Vec::new(); n];
    for pass in 0..3 {
        let previous = matches.clone();
        // A neighbour's bits: the row indicator beyond the data columns,
        // else the previous pass's choice when it was clear.
        let known = |r: usize, c: isize| -> Option<u32> {
            if c < 0 {
                return codeword_bits(r % 3, shape.indicator(r, true));
            }
            if c as usize >= cols {
                return codeword_bits(r % 3, shape.indicator(r, false));
            }
            let m = previous[r * cols + c as usize]?;
            (m.lead > 0.01).then(|| codeword_bits(r % 3, m.cw)).flatten()
        };
        // Each slot's best symbols with the neighbours as known: the
        // candidates of the joint reading (with the earlier passes' ones).
        let mut alone: Vec<Option<Match>> = vec![None; n];
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                let Some(o) = data(r, c) else { continue };
                // Around the expected shift; after the first pass, next to the slot's best.
                let centre = previous[i].map_or(expected[i], |m| m.shift);
                let reach = if previous[i].is_some() { 1 } else { 3 };
                let shifts: Vec<i32> = (centre - reach..=centre + reach).filter(|s| s.abs() <= MAX_SHIFT).collect();
                let Some((scores, at)) = slot_scores(o, r % 3, known(r, c as isize - 1), known(r, c as isize + 1), &shifts, None) else { continue };
                let mut order: Vec<usize> = (0..929).filter(|&c| scores[c] > f32::MIN).collect();
                let by_score = |x: &usize, y: &usize| scores[*y].total_cmp(&scores[*x]).then(x.cmp(y));
                if order.len() > JOINT_CANDIDATES {
                    order.select_nth_unstable_by(JOINT_CANDIDATES - 1, by_score);
                    order.truncate(JOINT_CANDIDATES);
                }
                order.sort_by(by_score);
                let Some(&best) = order.first() else { continue };
                let second = order.get(1).map_or(f32::MIN, |&c| scores[c]);
                alone[i] = Some(Match { cw: best as u32, score: scores[best], lead: scores[best] - second, shift: at[best] });
                let mut cands: Vec<(Option<u32>, i32)> = order.iter().map(|&c| (Some(c as u32), at[c])).collect();
                for &old in &candidates[i] {
                    if !cands.iter().any(|(cw, _)| *cw == old.0) {
                        cands.push(old);
                    }
                }
                candidates[i] = cands;
            }
        }
        if let Some(t) = against_truth("alone", &alone, &candidates, ec) {
            trace.push(t);
        }
        if pass == 0
            && let Some(text) = correct_ranked(&alone, n, ecl, trace)
        {
            return Some(text);
        }
        // Each row read jointly from its slots' candidates.
        for r in 0..rows {
            let indicator = |left: bool| Position { obs: None, cands: vec![(Some(shape.indicator(r, left)), 0)] };
            let mut positions = vec![indicator(true)];
            for c in 0..cols {
                let cands = &candidates[r * cols + c];
                positions.push(match data(r, c) {
                    Some(o) if !cands.is_empty() => Position { obs: Some(o), cands: cands.clone() },
                    _ => Position { obs: None, cands: vec![(None, 0)] },
                });
            }
            positions.push(indicator(false));
            for (c, m) in joint_row(&positions, r % 3).into_iter().enumerate() {
                matches[r * cols + c] = m;
            }
        }
        #[cfg(test)]
        PASSES.with(|p| p.borrow_mut().push(matches.iter().map(|m| m.map(|m| (m.cw, m.score, m.lead, m.shift))).collect()));
        let changed = matches.iter().zip(&previous).filter(|(a, b)| a.map(|m| m.cw) != b.map(|m| m.cw)).count();
        trace.push(format!("row matching pass {pass}: {changed} changed"));
        if let Some(t) = against_truth("joint", &matches, &candidates, ec) {
            trace.push(t);
        }
        if let Some(t) = beside_votes(&matches, votes) {
            trace.push(t);
        }
        if pass > 0 && changed == 0 {
            break;
        }
        if let Some(text) = correct_ranked(&matches, n, ecl, trace) {
            return Some(text);
        }
    }
    None
}

thread_local! {
    /// The symbol's true data codewords, when a diagnosis knows them.
    pub(super) static TRUTH: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Against the true codewords (a diagnosis): how many matches are right,
/// how many wrong ones the lowest leads would erase, how many slots hold
/// the truth among their candidates.
fn against_truth(label: &str, matches: &[Option<Match>], candidates: &[Vec<(Option<u32>, i32)>], ec: usize) -> Option<String> {
    let truth = TRUTH.with(|t| t.borrow().clone());
    if truth.len() != matches.len() {
        return None;
    }
    let right = matches.iter().zip(&truth).filter(|(m, t)| m.is_some_and(|m| m.cw == **t)).count();
    let mut ranked: Vec<(f32, bool)> = matches.iter().zip(&truth).filter_map(|(m, t)| m.map(|m| (m.lead, m.cw == *t))).collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let wrong_low = ranked.iter().take(ec).filter(|r| !r.1).count();
    let in_cands = candidates.iter().zip(&truth).filter(|(c, t)| c.iter().any(|(cw, _)| *cw == Some(**t))).count();
    Some(format!("{label}: truth {right} right of {}, {wrong_low} wrong among the {ec} lowest leads, truth among candidates {in_cands}", truth.len()))
}

/// The scan lines' majority in a slot: the codeword with strictly the most votes.
fn majority(votes: &[(u32, u32)]) -> Option<u32> {
    let top = votes.iter().map(|v| v.1).max()?;
    let mut best = votes.iter().filter(|v| v.1 == top);
    let first = best.next()?;
    best.next().is_none().then_some(first.0)
}

/// Against the true codewords (a diagnosis), the row matching beside the
/// scan lines' votes (`votes[slot]`: codeword and votes): the slots where
/// both agree, where the lines have no majority, where they disagree, and
/// how many of each are right.
fn beside_votes(matches: &[Option<Match>], votes: &[Vec<(u32, u32)>]) -> Option<String> {
    let truth = TRUTH.with(|t| t.borrow().clone());
    if truth.len() != matches.len() || votes.len() != matches.len() {
        return None;
    }
    let (mut agree, mut agree_right, mut none, mut none_right, mut disagree, mut match_right, mut vote_right) = (0, 0, 0, 0, 0, 0, 0);
    for ((m, v), t) in matches.iter().zip(votes).zip(&truth) {
        let m = m.map(|m| m.cw);
        match majority(v) {
            Some(b) if m == Some(b) => {
                agree += 1;
                agree_right += usize::from(b == *t);
            }
            None => {
                none += 1;
                none_right += usize::from(m == Some(*t));
            }
            Some(b) => {
                disagree += 1;
                match_right += usize::from(m == Some(*t));
                vote_right += usize::from(b == *t);
            }
        }
    }
    Some(format!(
        "beside the votes: agree {agree} ({agree_right} right), no majority {none} ({none_right} right), disagree {disagree} (matching right {match_right}, votes right {vote_right})"
    ))
}

#[cfg(test)]
thread_local! {
    /// Every pass's matches: codeword, score, lead, shift (for the tests' diagnosis).
    pub(super) static PASSES: std::cell::RefCell<Vec<Vec<Option<(u32, f32, f32, i32)>>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Tries the code with the least certain matches as erasures, in growing numbers.
fn correct_ranked(matches: &[Option<Match>], n: usize, ecl: usize, trace: &mut Vec<String>) -> Option<String> {
    let ec = 1usize << (ecl + 1);
    let mut word = vec![0u32; n];
    let mut missing = Vec::new();
    let mut ranked: Vec<(f32, usize)> = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        match m {
            Some(m) if m.score > 0.3 => {
                word[i] = m.cw;
                ranked.push((m.lead, i));
            }
            _ => missing.push(i),
        }
    }
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut extra = 0;
    while missing.len() + extra + EC_MARGIN <= ec {
        let mut erasures = missing.clone();
        erasures.extend(ranked.iter().take(extra).map(|(_, i)| *i));
        let mut w = word.clone();
        if let Some(text) = correct_and_decode(&mut w, &erasures, ecl, &mut Vec::new()) {
            trace.push(format!("row matching read with {} erasures", erasures.len()));
            return Some(text);
        }
        extra += 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_function_is_accurate() {
        for (z, v) in [(0.0f32, 0.5f32), (1.0, 0.841_344_7), (-1.0, 0.158_655_3), (2.5, 0.993_790_3), (-3.0, 0.001_349_9)] {
            assert!((phi(z) - v).abs() < 1e-5, "phi({z}) = {}", phi(z));
        }
    }

    #[test]
    fn the_weights_of_a_sample_sum_to_one() {
        let t = templates(1.2);
        for w in &t.weights {
            let s: f32 = w.iter().sum();
            assert!((s - 1.0).abs() < 1e-3, "{s}");
        }
    }

    /// Diagnosis on a photo (`TESSERA_DEBUG_PHOTO`): the row matches of
    /// the unrestored cut-out against the word that a restored read
    /// corrected.
    #[test]
    #[ignore = "diagnosis tool"]
    fn diagnose_a_photo() {
        use crate::engine::barcode::{downscale, locate, restore, rows, MAX_DECODE_SIDE};
        let path = std::env::var("TESSERA_DEBUG_PHOTO").expect("photo");
        let img = image::open(path).expect("photo");
        let gray = downscale(img.to_luma8(), MAX_DECODE_SIDE);
        let region = locate::locate(&gray).expect("located");
        let crop = locate::cut_out(&gray, &region, 0.04, 1.0);
        let module = locate::module_width(&crop);
        let scale = module.map_or(1.5, |m| (3.5 / m).clamp(1.0, 3.0));
        let module_px = module.map_or(3.5, |m| m * scale).clamp(1.0, 8.0);
        let wide = locate::Plane::from_gray(&locate::cut_out(&gray, &region, 0.12, scale));
        let (unit, blur) = rows::estimate_blur(&wide, module_px).expect("ends");
        eprintln!("unit {unit} blur {blur}");
        let mut truth = Vec::new();
        'outer: for m in [module_px, unit] {
        for sigma in [blur, blur * 0.8, blur * 1.2, 1.6 * scale, 2.6 * scale] {
            let sharp = restore::deconvolve_x(&wide, sigma, 2e-3);
            let mut trace = Vec::new();
            if rows::read_traced(&sharp, &wide, m, Some(sigma), &mut trace).is_some() {
                truth = rows::LAST_WORD.with(|w| w.borrow().clone());
                eprintln!("read at sigma {sigma}: {}", trace.join(", "));
                break 'outer;
            }
        }
        }
        PASSES.with(|p| p.borrow_mut().clear());
        let mut trace = Vec::new();
        let got = rows::read_traced(&wide, &wide, unit, Some(blur), &mut trace);
        eprintln!("unrestored: {:?} {}", got.is_some(), trace.join(", "));
        let passes = PASSES.with(|p| p.borrow().clone());
        for (i, pass) in passes.iter().enumerate() {
            let mut shifts = std::collections::BTreeMap::new();
            let (mut right, mut wrong, mut none) = (Vec::new(), Vec::new(), 0);
            for (k, m) in pass.iter().enumerate() {
                match m {
                    Some((cw, score, lead, shift)) => {
                        *shifts.entry(*shift).or_insert(0) += 1;
                        if truth.get(k) == Some(cw) { right.push((*score, *lead)) } else { wrong.push((*score, *lead)) }
                    }
                    None => none += 1,
                }
            }
            let mean = |v: &[(f32, f32)], f: fn(&(f32, f32)) -> f32| v.iter().map(f).sum::<f32>() / v.len().max(1) as f32;
            eprintln!(
                "pass {i}: right {} (score {:.2} lead {:.3}) wrong {} (score {:.2} lead {:.3}) none {none} shifts {shifts:?}",
                right.len(), mean(&right, |v| v.0), mean(&right, |v| v.1), wrong.len(), mean(&wrong, |v| v.0), mean(&wrong, |v| v.1)
            );
        }
    }

    /// One symbol row (cluster 0, the given data codewords between the
    /// row indicators of a 10-row, 5-level shape's first row) blurred by
    /// `sigma` modules, with noise of `noise` (module contrast 2), as the
    /// observations of its data slots.
    fn blurred_row(data: &[u32], sigma: f32, noise: f32, seed: u64) -> (Vec<Observation>, Shape) {
        let shape = Shape { rows: 10, cols: data.len(), ecl: 5 };
        let mut modules: Vec<f32> = vec![-1.0; 20];
        let mut words = vec![shape.indicator(0, true)];
        words.extend_from_slice(data);
        words.push(shape.indicator(0, false));
        for &cw in &words {
            let bits = codeword_bits(0, cw).expect("codeword");
            modules.extend((0..17).map(|m| bit(bits, m)));
        }
        modules.extend(std::iter::repeat_n(-1.0, 20));
        let mut state = seed;
        let mut gauss = || {
            // Box-Muller on a linear congruential generator.
            let mut u = || {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 11) as f64 / (1u64 << 53) as f64).max(1e-12) as f32
            };
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
        };
        let samples: Vec<f32> = (0..modules.len() * FINE_SPM)
            .map(|j| {
                let x = (j as f32 + 0.5) / FINE_SPM as f32;
                let v: f32 = modules.iter().enumerate().map(|(m, v)| v * (phi((m as f32 + 1.0 - x) / sigma) - phi((m as f32 - x) / sigma))).sum();
                v + noise * gauss()
            })
            .collect();
        let obs = (0..data.len())
            .map(|i| {
                let start = (20 + 17 * (i + 1) - OBS_START) * FINE_SPM;
                Observation { fine: samples[start..start + OBS_MODULES * FINE_SPM].to_vec(), sigma }
            })
            .collect();
        (obs, shape)
    }

    #[test]
    fn a_row_read_jointly_settles_what_slot_by_slot_matching_does_not() {
        let data: Vec<u32> = (0..14u32).map(|i| (i * 337 + 101) % 929).collect();
        let (mut alone_right, mut joint_right, mut total) = (0, 0, 0);
        for seed in 1..=6u64 {
            let (obs, shape) = blurred_row(&data, 1.4, 0.12, seed);
            let shifts: Vec<i32> = (-2..=2).collect();
            let mut positions = vec![Position { obs: None, cands: vec![(Some(shape.indicator(0, true)), 0)] }];
            for (i, o) in obs.iter().enumerate() {
                // Slot by slot, as the first pass matches: the neighbours unknown.
                let left = (i == 0).then(|| codeword_bits(0, shape.indicator(0, true))).flatten();
                let right = (i + 1 == data.len()).then(|| codeword_bits(0, shape.indicator(0, false))).flatten();
                let (scores, at) = slot_scores(o, 0, left, right, &shifts, None).expect("observed");
                let mut order: Vec<usize> = (0..929).filter(|&c| scores[c] > f32::MIN).collect();
                order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]));
                alone_right += usize::from(order[0] as u32 == data[i]);
                order.truncate(JOINT_CANDIDATES);
                positions.push(Position { obs: Some(o), cands: order.iter().map(|&c| (Some(c as u32), at[c])).collect() });
            }
            positions.push(Position { obs: None, cands: vec![(Some(shape.indicator(0, false)), 0)] });
            let joint = joint_row(&positions, 0);
            joint_right += joint.iter().zip(&data).filter(|(m, t)| m.is_some_and(|m| m.cw == **t)).count();
            total += data.len();
        }
        eprintln!("slot by slot {alone_right}, jointly {joint_right} of {total}");
        assert!(joint_right > alone_right, "slot by slot {alone_right}, jointly {joint_right} of {total}");
        assert!(joint_right * 10 >= total * 9, "jointly {joint_right} of {total}");
    }

    #[test]
    fn row_indicators_follow_the_shape() {
        let shape = Shape { rows: 20, cols: 10, ecl: 5 };
        // Row 0: left holds (rows - 1) / 3, right the columns - 1.
        assert_eq!(shape.indicator(0, true), 6);
        assert_eq!(shape.indicator(0, false), 9);
        // Row 4 (cluster 1, row group 1): left holds ecl * 3 + (rows - 1) % 3.
        assert_eq!(shape.indicator(4, true), 30 + 16);
    }
}
