//! The expression step ("smile") with only dlib's 5 landmarks.
//!
//! Five points carry no mouth, so a smile cannot be measured as lip
//! geometry. What can be measured honestly is *change of the mouth region*
//! against the user's own frame 0: both faces are resampled into the same
//! eye-aligned chip (eye line horizontal, unit = inter-eye distance, anchored
//! at the nose base), and the mouth window's appearance is compared by
//! normalised cross-correlation (insensitive to brightness and contrast).
//! The eye window is compared the same way as a control: a change of pose,
//! focus or lighting alters both, an expression mostly the mouth.
//!
//! Limits, stated plainly: this detects "the lower face changed while the
//! upper face did not" — a smile, but equally an open mouth, speech or a hand
//! in front of the mouth. It cannot tell a smile from a grimace, and a video
//! replay of someone smiling passes it like the real person would. It does
//! reject the cheapest attack: one still photo replayed for every step.

use super::gray::{Gray, ncc};
use super::pose::{Point, eyes_and_nose};

const MOUTH_W: usize = 40;
const MOUTH_H: usize = 20;
const EYES_W: usize = 48;
const EYES_H: usize = 12;
/// Mouth-window decorrelation seen between two frames of a still face
/// (resampling, JPEG, small pose jitter): below it counts as no change.
pub const NOISE: f64 = 0.04;
/// Decorrelation above NOISE that counts as a full expression (score 1).
pub const FULL: f64 = 0.25;
/// How strongly a change of the eye window discounts the mouth's.
const CONTROL_WEIGHT: f64 = 1.5;

/// The two windows of one face, resampled in eye-aligned coordinates.
#[derive(Debug, Clone)]
pub struct FaceWindows {
    mouth: Vec<f32>,
    eyes: Vec<f32>,
}

/// Samples the windows; `None` when the landmarks are degenerate.
pub fn windows(image: &Gray, landmarks: &[Point; 5]) -> Option<FaceWindows> {
    let (left, right, nose) = eyes_and_nose(landmarks);
    let (dx, dy) = (right.0 - left.0, right.1 - left.1);
    let d = dx.hypot(dy);
    if !d.is_finite() || d < 4.0 {
        return None;
    }
    let ex = (dx / d, dy / d);
    let ey = (-ex.1, ex.0);
    let mid = ((left.0 + right.0) / 2.0, (left.1 + right.1) / 2.0);
    let nose_v = ((nose.0 - mid.0) * ey.0 + (nose.1 - mid.1) * ey.1) / d;
    let to_image = |cx: f32, cy: f32| (mid.0 + d * (cx * ex.0 + cy * ey.0), mid.1 + d * (cx * ex.1 + cy * ey.1));
    // Each output sample averages a 3x3 grid of bilinear taps over its cell.
    let window = |x0: f32, x1: f32, y0: f32, y1: f32, w: usize, h: usize| {
        let (sx, sy) = ((x1 - x0) / w as f32, (y1 - y0) / h as f32);
        let mut out = Vec::with_capacity(w * h);
        for j in 0..h {
            for i in 0..w {
                let mut acc = 0.0;
                for ty in 0..3 {
                    for tx in 0..3 {
                        let cx = x0 + (i as f32 + (tx as f32 + 0.5) / 3.0) * sx;
                        let cy = y0 + (j as f32 + (ty as f32 + 0.5) / 3.0) * sy;
                        let (px, py) = to_image(cx, cy);
                        acc += image.sample(px, py);
                    }
                }
                out.push(acc / 9.0);
            }
        }
        out
    };
    let mouth = window(-0.75, 0.75, nose_v + 0.1, nose_v + 0.85, MOUTH_W, MOUTH_H);
    let eyes = window(-0.95, 0.95, -0.3, 0.2, EYES_W, EYES_H);
    Some(FaceWindows { mouth, eyes })
}

/// How the mouth region changed from frame 0 to this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpressionChange {
    /// 1 − NCC of the mouth windows.
    pub mouth_change: f64,
    /// 1 − NCC of the eye windows (the control).
    pub eyes_change: f64,
    /// 0..1: the mouth's change beyond noise and beyond the control's.
    pub score: f64,
}

pub fn expression_change(reference: &FaceWindows, frame: &FaceWindows) -> ExpressionChange {
    let mouth_change = 1.0 - ncc(&reference.mouth, &frame.mouth);
    let eyes_change = 1.0 - ncc(&reference.eyes, &frame.eyes);
    let excess = mouth_change - CONTROL_WEIGHT * eyes_change - NOISE;
    ExpressionChange { mouth_change, eyes_change, score: (excess / FULL).clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(mouth_width: f32) -> Gray {
        // A synthetic "face": dark eyes and a dark mouth bar on a gradient.
        let mut g = Gray::new(200, 200);
        for y in 0..200 {
            for x in 0..200 {
                let mut v = 120.0 + (x as f32) * 0.2 + (y as f32) * 0.1;
                let eye = |cx: f32| ((x as f32 - cx).powi(2) + (y as f32 - 80.0).powi(2)).sqrt() < 6.0;
                if eye(70.0) || eye(130.0) {
                    v = 30.0;
                }
                if (y as f32 - 145.0).abs() < 3.0 && (x as f32 - 100.0).abs() < mouth_width {
                    v = 40.0;
                }
                g.data[y * 200 + x] = v;
            }
        }
        g
    }

    const LANDMARKS: [Point; 5] = [(140.0, 80.0), (120.0, 80.0), (60.0, 80.0), (80.0, 80.0), (100.0, 118.0)];

    #[test]
    fn a_changed_mouth_scores_and_a_still_face_does_not() {
        let neutral = windows(&face(18.0), &LANDMARKS).unwrap();
        let same = windows(&face(18.0), &LANDMARKS).unwrap();
        assert_eq!(expression_change(&neutral, &same).score, 0.0);
        let wide = windows(&face(34.0), &LANDMARKS).unwrap();
        let change = expression_change(&neutral, &wide);
        assert!(change.score > 0.5, "{change:?}");
        assert!(change.eyes_change < 0.01, "{change:?}");
    }

    #[test]
    fn a_brightness_change_is_not_an_expression() {
        let neutral = windows(&face(18.0), &LANDMARKS).unwrap();
        let mut brighter = face(18.0);
        brighter.data.iter_mut().for_each(|v| *v = *v * 1.3 + 10.0);
        let change = expression_change(&neutral, &windows(&brighter, &LANDMARKS).unwrap());
        assert!(change.score < 0.01, "{change:?}");
    }
}
