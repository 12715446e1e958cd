//! Liveness: the local provider (the default) and the Azure Face adapter.
//!
//! The local engine judges the frames of one capture — the passive frame,
//! then one frame per active step of the issued challenge:
//!
//! 1. every frame decodes and shows exactly one face;
//! 2. every frame shows the person of frame 0 (face embedding distance);
//! 3. passive deny-cues on frame 0 (moiré, glare, bezel, blur: see
//!    [`passive`]) give the passive evidence;
//! 4. in `passive_active` mode each step is judged against frame 0: head
//!    turns by the pose from the 5 landmarks ([`pose`]), the expression step
//!    by the change of the mouth region ([`expression`]).
//!
//! What this can and cannot catch: a replayed still photo (no pose change,
//! no expression change), a person swap between steps, crude screen or
//! print replays (moiré, glare, a frame around the face). It cannot catch a
//! video replay of the person doing the steps, a good mask, or frames
//! injected into the camera stream; no local model that could is available.
//! The passive-only score is capped at [`LOCAL_PASSIVE_CEILING`] so that it
//! never claims more than it measured (and never skips the active steps at
//! the default `passive_active_skip_tolerance`). For certified presentation
//! attack detection configure the Azure provider ([`azure`]).

pub mod azure;
mod dlib_faces;
pub mod expression;
pub mod gray;
pub mod passive;
pub mod pose;

use std::sync::Arc;

use image::RgbImage;
use serde_json::json;

use super::{EngineError, EngineFuture, LivenessEngine, LivenessInput, LivenessResult, LivenessTolerances};
use crate::domain::LivenessMode;
use gray::Gray;
use passive::Rect;
use pose::{Point, Step};

/// The most a passive-only local decision may score: deny-cues can show a
/// replay, never prove a live person.
pub const LOCAL_PASSIVE_CEILING: f64 = 0.85;
/// Largest embedding distance between two frames of one capture that still
/// counts as the same person (same person 0.33–0.44 across different
/// photos, different people 0.80–0.90: docs/engines.md).
pub const SAME_PERSON_MAX_DISTANCE: f64 = 0.55;
/// Frames are analysed at most this large (longer side, pixels).
pub const MAX_SIDE: u32 = 1024;
/// A second face smaller than this fraction of the largest one is ignored
/// (a face on a poster in the background).
const SECOND_FACE_MIN_FRACTION: f32 = 0.25;
/// The score given to a capture that failed a hard requirement.
const HARD_FAIL_SCORE_MAX: f64 = 0.2;

/// One face found in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceObservation {
    pub rect: Rect,
    /// dlib's 5-point shape: two corners of each eye, the base of the nose.
    pub landmarks: [Point; 5],
}

/// What the liveness engine needs from a face model: detection with 5
/// landmarks, and an identity embedding of a detected face.
pub trait FaceAnalyzer: Send + Sync {
    fn version(&self) -> String;
    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceObservation>, String>;
    /// [`Self::detect`] on a frame decoded from `bytes`. An analyzer that
    /// reads the same capture again later (the face match of the same job)
    /// may remember what it found here.
    fn detect_frame(&self, bytes: &[u8], image: &RgbImage) -> Result<Vec<FaceObservation>, String> {
        let _ = bytes;
        self.detect(image)
    }
    /// The identity embedding of `face` (Euclidean distance compares two).
    fn embed(&self, image: &RgbImage, face: &FaceObservation) -> Result<Vec<f32>, String>;
}

/// The local liveness provider.
#[derive(Clone)]
pub struct LocalLivenessEngine {
    faces: Arc<dyn FaceAnalyzer>,
}

/// One analysed frame.
struct Frame {
    rgb: RgbImage,
    gray: Gray,
    face: FaceObservation,
    embedding: Vec<f32>,
}

/// A failed hard requirement (the capture is not live, whatever else).
struct HardFail(String);

impl LocalLivenessEngine {
    pub fn new(faces: Arc<dyn FaceAnalyzer>) -> Self {
        Self { faces }
    }

    fn decode(&self, i: usize, bytes: &[u8]) -> Result<RgbImage, HardFail> {
        let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes));
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(10_000);
        limits.max_image_height = Some(10_000);
        limits.max_alloc = Some(512 * 1024 * 1024);
        reader.limits(limits);
        let img = reader
            .with_guessed_format()
            .ok()
            .and_then(|r| r.decode().ok())
            .ok_or_else(|| HardFail(format!("frame {i} does not decode as an image")))?;
        let img = if img.width().max(img.height()) > MAX_SIDE {
            img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
        } else {
            img
        };
        Ok(img.to_rgb8())
    }

    fn analyse_frame(&self, i: usize, bytes: &[u8], embed: bool) -> Result<Result<Frame, HardFail>, EngineError> {
        let rgb = match self.decode(i, bytes) {
            Ok(rgb) => rgb,
            Err(e) => return Ok(Err(e)),
        };
        let mut faces = self.faces.detect_frame(bytes, &rgb).map_err(EngineError::Unavailable)?;
        faces.sort_by(|a, b| (b.rect.w * b.rect.h).total_cmp(&(a.rect.w * a.rect.h)));
        let Some(main) = faces.first().cloned() else {
            return Ok(Err(HardFail(format!("no face in frame {i}"))));
        };
        let significant = faces.iter().filter(|f| f.rect.w >= SECOND_FACE_MIN_FRACTION * main.rect.w).count();
        if significant > 1 {
            return Ok(Err(HardFail(format!("{significant} faces in frame {i}: the capture must show one person"))));
        }
        let embedding = if embed { self.faces.embed(&rgb, &main).map_err(EngineError::Unavailable)? } else { Vec::new() };
        let gray = Gray::from_rgb(&rgb);
        Ok(Ok(Frame { rgb, gray, face: main, embedding }))
    }

    /// The whole decision, synchronously (the trait runs it on the blocking pool).
    pub fn analyze(&self, input: &LivenessInput) -> Result<LivenessResult, EngineError> {
        if input.frames.is_empty() {
            return Err(EngineError::InvalidInput("no liveness frames".into()));
        }
        let tol = input.tolerances;
        let steps = challenge_steps(input)?;
        let mut evidence = json!({ "provider": "local", "frames": input.frames.len(), "steps": steps.iter().map(|s| s.as_str()).collect::<Vec<_>>() });
        let embed = input.frames.len() > 1;
        let mut frames = Vec::with_capacity(input.frames.len());
        for (i, bytes) in input.frames.iter().enumerate() {
            match self.analyse_frame(i, bytes, embed)? {
                Ok(f) => frames.push(f),
                Err(HardFail(reason)) => return Ok(hard_fail(0.0, reason, evidence)),
            }
        }
        // Identity: every frame against frame 0.
        let mut distances = Vec::new();
        for (i, f) in frames.iter().enumerate().skip(1) {
            let d = euclidean(&frames[0].embedding, &f.embedding);
            distances.push(d);
            if d.is_nan() || d > SAME_PERSON_MAX_DISTANCE {
                evidence["identity_distances"] = json!(distances);
                return Ok(hard_fail(0.0, format!("frame {i} shows a different person than frame 0 (distance {d:.2})"), evidence));
            }
        }
        evidence["identity_distances"] = json!(distances);

        let cues = passive::measure(&frames[0].gray, &frames[0].rgb, frames[0].face.rect);
        evidence["passive"] = serde_json::to_value(cues).unwrap_or_default();
        let passive_score = LOCAL_PASSIVE_CEILING * cues.evidence;
        evidence["passive_score"] = json!(passive_score);
        let cue_note = cue_summary(&cues);

        let active = input.mode == LivenessMode::PassiveActive && !steps.is_empty();
        if !active || passive_score >= tol.passive_active_skip {
            let skipped = if active { " (active steps skipped: passive score at or above passive_active_skip_tolerance)" } else { "" };
            let is_live = passive_score >= tol.minimum_liveness;
            let detail = format!(
                "passive check (deny-cues only, no proof of liveness): {cue_note}; score {passive_score:.2}{skipped}"
            );
            return Ok(LivenessResult { is_live, score: passive_score, detail, evidence: Some(evidence) });
        }

        // Active steps: frame i+1 answers step i.
        if frames.len() < steps.len() + 1 {
            let reason = format!("{} active step frame(s) expected, {} received", steps.len(), frames.len() - 1);
            return Ok(hard_fail(passive_score, reason, evidence));
        }
        let reference = pose::eye_line_frame(&frames[0].face.landmarks)
            .ok_or_else(|| EngineError::InvalidInput("degenerate landmarks on frame 0".into()))?;
        let reference_windows = expression::windows(&frames[0].gray, &frames[0].face.landmarks);
        let mut step_reports = Vec::new();
        let mut step_scores = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for (k, step) in steps.iter().enumerate() {
            let frame = &frames[k + 1];
            let Some(here) = pose::eye_line_frame(&frame.face.landmarks) else {
                failed.push(format!("step {} ({}): degenerate landmarks", k + 1, step.as_str()));
                step_scores.push(0.0);
                continue;
            };
            let rel = pose::relative_pose(&reference, &here);
            let mut report = json!({
                "step": step.as_str(), "frame": k + 1,
                "yaw": round2(rel.yaw), "pitch": round2(rel.pitch), "roll": round2(rel.roll),
            });
            let (passed, score) = if *step == Step::Smile {
                let change = match (&reference_windows, expression::windows(&frame.gray, &frame.face.landmarks)) {
                    (Some(a), Some(b)) => expression::expression_change(a, &b),
                    _ => expression::ExpressionChange { mouth_change: 0.0, eyes_change: 0.0, score: 0.0 },
                };
                report["mouth_change"] = json!(round3(change.mouth_change));
                report["eyes_change"] = json!(round3(change.eyes_change));
                report["expression_score"] = json!(round3(change.score));
                let need = tol.expression.clamp(0.0, 1.0);
                let passed = change.score >= need && change.score > 0.0;
                let span = (1.0 - need).max(0.05);
                let mut s = (pose::SCORE_AT_TOLERANCE + (1.0 - pose::SCORE_AT_TOLERANCE) * (change.score - need) / span).clamp(0.0, 1.0);
                if !passed {
                    s = (change.score / need.max(0.05)).min(1.0) * (pose::SCORE_AT_TOLERANCE - 0.01);
                }
                (passed, s)
            } else {
                match pose::judge_turn(*step, &rel, tol.direction_degrees) {
                    Some(j) => {
                        report["on_axis"] = json!(round2(j.on_axis));
                        report["off_axis"] = json!(round2(j.off_axis));
                        (j.passed, j.score)
                    }
                    None => (false, 0.0),
                }
            };
            report["passed"] = json!(passed);
            report["score"] = json!(round3(score));
            if !passed {
                failed.push(format!("step {} ({})", k + 1, step.as_str()));
            }
            step_scores.push(score);
            step_reports.push(report);
        }
        evidence["active"] = json!(step_reports);
        let active_score = step_scores.iter().sum::<f64>() / step_scores.len().max(1) as f64;
        let score = (cues.evidence * active_score).clamp(0.0, 1.0);
        evidence["active_score"] = json!(active_score);
        if !failed.is_empty() {
            let reason = format!("active challenge not met: {} failed; passive: {cue_note}", failed.join(", "));
            return Ok(LivenessResult { is_live: false, score: score.min(tol.minimum_liveness - 0.01).max(0.0), detail: reason, evidence: Some(evidence) });
        }
        let is_live = score >= tol.minimum_liveness;
        let detail = format!(
            "{} of {} active steps met, same person in every frame; passive: {cue_note}; score {score:.2}",
            steps.len(),
            steps.len()
        );
        Ok(LivenessResult { is_live, score, detail, evidence: Some(evidence) })
    }
}

impl LivenessEngine for LocalLivenessEngine {
    fn version(&self) -> String {
        format!("tessera-liveness-local 1 ({})", self.faces.version())
    }

    fn check(&self, input: LivenessInput) -> EngineFuture<'_, LivenessResult> {
        let engine = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || engine.analyze(&input))
                .await
                .map_err(|e| EngineError::Transient(format!("liveness analysis panicked or was cancelled: {e}")))?
        })
    }
}

/// The active steps of the issued challenge (`steps` of the token), in order.
fn challenge_steps(input: &LivenessInput) -> Result<Vec<Step>, EngineError> {
    if input.mode != LivenessMode::PassiveActive {
        return Ok(Vec::new());
    }
    let Some(challenge) = &input.challenge else {
        return Err(EngineError::InvalidInput(
            "passive_active capture without its issued challenge: the active steps cannot be checked".into(),
        ));
    };
    let raw = challenge.get("steps").and_then(|s| s.as_array()).cloned().unwrap_or_default();
    raw.iter()
        .map(|s| {
            s.as_str()
                .and_then(Step::parse)
                .ok_or_else(|| EngineError::InvalidInput(format!("unknown active step {s} in the challenge")))
        })
        .collect()
}

fn hard_fail(score: f64, reason: String, evidence: serde_json::Value) -> LivenessResult {
    LivenessResult { is_live: false, score: score.min(HARD_FAIL_SCORE_MAX), detail: reason, evidence: Some(evidence) }
}

fn cue_summary(c: &passive::PassiveCues) -> String {
    let mut fired = Vec::new();
    if c.moire > 0.0 {
        fired.push(format!("moiré {:.2}", c.moire));
    }
    if c.glare > 0.0 {
        fired.push(format!("glare {:.2}", c.glare));
    }
    if c.bezel > 0.0 {
        fired.push(format!("frame around the face ({} sides)", c.bezel_sides));
    }
    if c.blur > 0.0 {
        fired.push(format!("blur {:.2}", c.blur));
    }
    if fired.is_empty() { "no replay cue found".into() } else { format!("replay cues: {}", fired.join(", ")) }
}

fn euclidean(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum::<f64>().sqrt()
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Default for LivenessTolerances {
    /// The platform defaults of the weights (service::weights).
    fn default() -> Self {
        Self { minimum_liveness: 0.6, passive_active_skip: 0.9, direction_degrees: 15.0, expression: 0.5 }
    }
}
