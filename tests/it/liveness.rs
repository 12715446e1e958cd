//! Liveness: the local engine on frames synthesised from real face photos
//! (head turns rendered with a depth model, a smile warp, screen replays),
//! and the Azure Face adapter against a local stub server.
//!
//! The photos and dlib models come from the pinned registry packages
//! (`tessera::models::test_store`).

use crate::common;

use std::sync::{Arc, OnceLock};

use image::RgbImage;
use crate::liveness_synth::{FaceGeometry, clean_variants, jpeg, moire, on_screen, screen_replay, smile, turn_head};
use serde_json::json;
use tessera::engine::face::LocalFaceEngine;
use tessera::engine::liveness::{FaceAnalyzer, LocalLivenessEngine, pose};
use tessera::engine::{LivenessInput, LivenessResult, LivenessTolerances};
use tessera::models::{FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, test_store};
use tessera::service::types::LivenessMode;

struct Fixture {
    faces: Arc<LocalFaceEngine>,
    engine: LocalLivenessEngine,
    obama: RgbImage,
    obama_geometry: FaceGeometry,
    biden: RgbImage,
    biden_geometry: FaceGeometry,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let store = test_store(&[&FACE_RECOGNITION_MODELS, &FACE_TEST_IMAGES]);
        let faces = Arc::new(LocalFaceEngine::new(store.clone()));
        let load = |name: &str| image::open(store.file(&FACE_TEST_IMAGES, name).unwrap()).unwrap().to_rgb8();
        let geometry = |img: &RgbImage| {
            let found = faces.detect(img).unwrap();
            assert_eq!(found.len(), 1, "the test photo shows one face");
            FaceGeometry::from_landmarks(&found[0].landmarks)
        };
        let (obama, biden) = (load("obama.jpg"), load("biden.jpg"));
        let (obama_geometry, biden_geometry) = (geometry(&obama), geometry(&biden));
        let engine = LocalLivenessEngine::new(faces.clone());
        Fixture { faces, engine, obama, obama_geometry, biden, biden_geometry }
    })
}

/// The frame answering `step` for a face.
fn step_frame(img: &RgbImage, g: &FaceGeometry, step: &str) -> RgbImage {
    match step {
        "turn_left" => turn_head(img, g, 28.0, 0.0),
        "turn_right" => turn_head(img, g, -28.0, 0.0),
        "look_up" => turn_head(img, g, 0.0, 28.0),
        "smile" => smile(img, g, 1.0),
        other => panic!("no synthesis for {other}"),
    }
}

fn active(frames: Vec<Vec<u8>>, steps: &[&str]) -> LivenessResult {
    let input = LivenessInput {
        mode: LivenessMode::PassiveActive,
        frames,
        challenge: Some(json!({ "steps": steps })),
        tolerances: LivenessTolerances::default(),
    };
    fixture().engine.analyze(&input).expect("the engine answers")
}

fn capture(steps: &[&str]) -> Vec<Vec<u8>> {
    let f = fixture();
    let mut frames = vec![jpeg(&f.obama)];
    frames.extend(steps.iter().map(|s| jpeg(&step_frame(&f.obama, &f.obama_geometry, s))));
    frames
}

#[test]
fn the_pose_estimator_separates_yaw_from_pitch_on_rendered_turns() {
    let f = fixture();
    let frame0 = pose::eye_line_frame(&f.faces.detect(&f.obama).unwrap()[0].landmarks).unwrap();
    let pose_of = |yaw: f32, pitch: f32| {
        let img = turn_head(&f.obama, &f.obama_geometry, yaw, pitch);
        let found = f.faces.detect(&img).unwrap();
        assert_eq!(found.len(), 1, "one face after a turn of ({yaw}, {pitch})");
        pose::relative_pose(&frame0, &pose::eye_line_frame(&found[0].landmarks).unwrap())
    };
    for yaw in [-28.0, 28.0] {
        let p = pose_of(yaw, 0.0);
        assert!(p.yaw * f64::from(yaw) > 0.0 && p.yaw.abs() > 12.0, "yaw {yaw}: {p:?}");
        assert!(p.pitch.abs() < p.yaw.abs() / 2.0, "yaw {yaw} leaks into pitch: {p:?}");
    }
    for pitch in [-20.0, 28.0] {
        let p = pose_of(0.0, pitch);
        assert!(p.pitch * f64::from(pitch) > 0.0 && p.pitch.abs() > 8.0, "pitch {pitch}: {p:?}");
        assert!(p.yaw.abs() < p.pitch.abs() / 2.0, "pitch {pitch} leaks into yaw: {p:?}");
    }
}

#[test]
fn an_active_capture_that_follows_the_challenge_is_live() {
    let steps = ["turn_left", "look_up", "smile", "turn_right"];
    let r = active(capture(&steps), &steps);
    assert!(r.is_live, "{r:?}");
    assert!(r.score >= LivenessTolerances::default().minimum_liveness, "{r:?}");
    let steps_evidence = r.evidence.as_ref().unwrap()["active"].as_array().unwrap().clone();
    assert_eq!(steps_evidence.len(), 4);
    assert!(steps_evidence.iter().all(|s| s["passed"] == true), "{steps_evidence:?}");
}

#[test]
fn each_turn_passes_its_own_direction_and_fails_the_others() {
    for done in ["turn_left", "turn_right", "look_up"] {
        let frames = capture(&[done]);
        for asked in ["turn_left", "turn_right", "look_up"] {
            let r = active(frames.clone(), &[asked]);
            assert_eq!(r.is_live, done == asked, "did {done}, asked {asked}: {r:?}");
        }
    }
}

#[test]
fn swapped_turns_fail() {
    let frames = capture(&["turn_right", "turn_left"]);
    let r = active(frames, &["turn_left", "turn_right"]);
    assert!(!r.is_live, "{r:?}");
    assert!(r.detail.contains("step 1 (turn_left)") && r.detail.contains("step 2 (turn_right)"), "{}", r.detail);
}

#[test]
fn one_photo_replayed_for_every_step_fails() {
    let f = fixture();
    let steps = ["turn_left", "turn_right", "look_up", "smile"];
    let photo = jpeg(&f.obama);
    let r = active(vec![photo; 5], &steps);
    assert!(!r.is_live, "{r:?}");
    assert!(r.score < 0.3, "{r:?}");
    for step in steps {
        assert!(r.detail.contains(step), "{step} should be reported failed: {}", r.detail);
    }
}

#[test]
fn a_different_person_in_step_3_fails() {
    let f = fixture();
    let steps = ["turn_left", "turn_right", "look_up", "smile"];
    let mut frames = capture(&steps);
    frames[3] = jpeg(&step_frame(&f.biden, &f.biden_geometry, steps[2]));
    let r = active(frames, &steps);
    assert!(!r.is_live, "{r:?}");
    assert!(r.detail.contains("frame 3 shows a different person"), "{}", r.detail);
}

#[test]
fn the_smile_step_needs_a_changed_mouth() {
    let f = fixture();
    let smiling = active(capture(&["smile"]), &["smile"]);
    assert!(smiling.is_live, "{smiling:?}");
    let neutral = active(vec![jpeg(&f.obama), jpeg(&turn_head(&f.obama, &f.obama_geometry, 3.0, 0.0))], &["smile"]);
    assert!(!neutral.is_live, "{neutral:?}");
}

#[test]
fn missing_step_frames_fail_and_a_missing_challenge_is_unavailable() {
    let r = active(capture(&["turn_left"]), &["turn_left", "look_up"]);
    assert!(!r.is_live && r.detail.contains("2 active step frame(s) expected, 1 received"), "{r:?}");
    let input = LivenessInput {
        mode: LivenessMode::PassiveActive,
        frames: capture(&[]),
        challenge: None,
        tolerances: LivenessTolerances::default(),
    };
    assert!(fixture().engine.analyze(&input).is_err());
}

fn passive(frames: Vec<Vec<u8>>) -> LivenessResult {
    let input =
        LivenessInput { mode: LivenessMode::Passive, frames, challenge: None, tolerances: LivenessTolerances::default() };
    fixture().engine.analyze(&input).expect("the engine answers")
}

fn cues(r: &LivenessResult) -> serde_json::Value {
    r.evidence.as_ref().map(|e| e["passive"].clone()).unwrap_or_default()
}

#[test]
fn passive_cues_flag_screen_replays_and_not_the_photo() {
    let f = fixture();
    let clean = passive(vec![jpeg(&f.obama)]);
    // A dark frame around a shrunken copy (a phone's bezel), nothing else.
    let screen = passive(vec![jpeg(&on_screen(&f.obama))]);
    // A fine grating over the face (a screen's pixel grid), nothing else.
    let grid = passive(vec![jpeg(&moire(&f.obama, 14.0, 3.0))]);
    // The photo on a phone held up to the camera: bezel, pixel grid, glare, softness.
    let replays: Vec<(&str, LivenessResult)> =
        [("obama", &f.obama), ("biden", &f.biden)].into_iter().map(|(n, img)| (n, passive(vec![jpeg(&screen_replay(img))]))).collect();
    for (what, r) in [("clean", &clean), ("bezel only", &screen), ("grating only", &grid)].into_iter().chain(replays.iter().map(|(n, r)| (*n, r))) {
        eprintln!("{what}: {} -> {}", cues(r), r.detail);
    }

    assert!(clean.is_live, "{clean:?}");
    assert!(clean.detail.contains("no replay cue found"), "{}", clean.detail);
    assert!(clean.score <= tessera::engine::liveness::LOCAL_PASSIVE_CEILING + 1e-9);

    assert!(!screen.is_live, "{screen:?}");
    assert!(screen.detail.contains("frame around the face"), "{}", screen.detail);

    assert!(cues(&grid)["moire"].as_f64().unwrap() > 0.5, "{grid:?}");
    assert!(!grid.is_live, "{grid:?}");

    for (name, replay) in &replays {
        assert!(!replay.is_live, "{name}: {replay:?}");
        assert!(replay.detail.contains("frame around the face"), "{name}: {}", replay.detail);
        assert!(replay.detail.contains("moiré"), "{name}: {}", replay.detail);
    }
}

#[test]
fn no_clean_test_photo_trips_a_deny_cue() {
    let store = test_store(&[&FACE_RECOGNITION_MODELS, &FACE_TEST_IMAGES]);
    let _ = fixture();
    let mut tripped = Vec::new();
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let photo = image::open(store.file(&FACE_TEST_IMAGES, name).unwrap()).unwrap().to_rgb8();
        for (variant, img) in clean_variants(&photo) {
            let r = passive(vec![jpeg(&img)]);
            let c = cues(&r);
            eprintln!("{name} {variant} ({}x{}): {c}", img.width(), img.height());
            let fired: Vec<&str> =
                ["moire", "glare", "bezel", "blur"].into_iter().filter(|k| c[*k].as_f64() != Some(0.0)).collect();
            if !fired.is_empty() || !r.is_live || !r.detail.contains("no replay cue found") {
                tripped.push(format!("{name} {variant}: {fired:?} {}", r.detail));
            }
        }
    }
    assert!(tripped.is_empty(), "clean photos flagged:\n{}", tripped.join("\n"));
}

#[test]
fn undecodable_and_faceless_frames_fail() {
    let _ = fixture();
    let r = passive(vec![b"not an image".to_vec()]);
    assert!(!r.is_live && r.detail.contains("does not decode"), "{r:?}");
    let blank = RgbImage::from_pixel(400, 300, image::Rgb([128, 128, 128]));
    let r = passive(vec![jpeg(&blank)]);
    assert!(!r.is_live && r.detail.contains("no face"), "{r:?}");
    // Two people side by side: not asserted yet (the composite of the test photos was read as one face).
}

// ---------------------------------------------------------------- over HTTP

async fn sdk_call(app: &common::TestApp, path: &str, body: serde_json::Value) -> (u16, String, serde_json::Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    common::read(resp).await
}

fn frame_b64(shade: u8) -> String {
    use base64::Engine;
    let img = RgbImage::from_fn(480, 640, |x, y| image::Rgb([shade, ((x + 2 * y) % 200) as u8, 90]));
    base64::engine::general_purpose::STANDARD.encode(jpeg(&img))
}

#[tokio::test]
async fn an_idv_liveness_token_answers_one_process_call() {
    for backend in common::backends().await {
        let app = common::TestApp::spawn(backend).await;
        let (st, _, v) =
            app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"liveness_mode": "passive"})).await;
        assert_eq!(st, 200, "{v}");
        let sid = v["session_id"].as_str().unwrap().to_string();
        let (st, _, v) = sdk_call(&app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        assert_eq!(st, 200, "{v}");
        let (st, _, v) =
            sdk_call(&app, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0})).await;
        assert_eq!(st, 200, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        let process = |token: Option<&str>, shade: u8| {
            let mut body = json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0, "images": [frame_b64(shade)]});
            if let Some(t) = token {
                body["token"] = json!(t);
            }
            sdk_call(&app, "/api/v1/sdk/idv/liveness/process", body)
        };

        let (st, _, v) = process(Some(&token), 100).await;
        assert_eq!(st, 200, "{v}");
        let next = v["token"].as_str().unwrap().to_string();
        assert_ne!(next, token, "process hands out a fresh challenge");

        // The same token again, and the generate's challenge without a token: both refused.
        for replay in [Some(token.as_str()), None] {
            let (st, ct, p) = process(replay, 120).await;
            common::assert_problem(st, &ct, &p, 409);
            assert!(p["detail"].as_str().unwrap().contains("already used"), "{p}");
        }

        // The fresh token works once.
        let (st, _, v) = process(Some(&next), 140).await;
        assert_eq!(st, 200, "{v}");
        let (st, ct, p) = process(Some(&next), 140).await;
        common::assert_problem(st, &ct, &p, 409);

        // Six concurrent calls with one fresh token: exactly one is accepted,
        // the others are refused with 409 (never a 500), while the analysis
        // jobs of the earlier calls write to the database.
        let (_, _, v) =
            sdk_call(&app, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0})).await;
        let racing = v["token"].as_str().unwrap().to_string();
        let answers = futures::future::join_all((0..6u8).map(|i| process(Some(&racing), 150 + i))).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{backend}: {statuses:?} {answers:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 5, "{backend}: {statuses:?} {answers:?}");

        // Only the three accepted calls left a trace.
        let history = tessera::service::history::list(&app.state.db, &app.demo_client_id, &sid).await.unwrap();
        let processed = history.iter().filter(|h| h.event == tessera::service::liveness::PROCESSED_EVENT).count();
        assert_eq!(processed, 3, "{history:?}");
        app.cleanup().await;
    }
}
