//! Master key rotation: values written under key A stay readable when B is
//! current and A previous, `tessera keys rotate` moves them all to B (a real
//! process, killed halfway and run again), and afterwards B alone reads
//! everything; a value under a key nobody holds is a clear error.

use crate::common::{self, TestApp, backends};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tessera::service::keys::{self, Protected, RotateOptions};
use tessera::service::{faces, files, liveness, webhooks};
use tessera::state::AppState;
use tessera::storage::MasterKey;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// The same database and storage as `app`, in a new process state holding
/// `current` and `previous` (a restart with other keys).
async fn restart(app: &TestApp, current: &MasterKey, previous: &[&MasterKey]) -> AppState {
    let mut config = (*app.state.config).clone();
    config.master_key = Some(current.to_base64());
    config.previous_master_keys =
        (!previous.is_empty()).then(|| previous.iter().map(|k| k.to_base64()).collect::<Vec<_>>().join(","));
    tessera::build_state(config).await.expect("restart")
}

/// A server over `state` on port 0; its base URL.
async fn serve(state: &AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = state.clone();
    tokio::spawn(async move { tessera::serve(state, listener, std::future::pending()).await.expect("server") });
    base
}

fn png(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 64, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed).rotate_left(x % 13);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Stores an image blob and its file row the way uploads do.
async fn store_image(state: &AppState, client_id: &str, session_id: &str, seed: u32) -> (entity::stored_file::Model, Vec<u8>) {
    let bytes = png(seed);
    let image = files::validate_image("image", bytes.clone()).unwrap();
    let owner = files::FileOwner { client_id, session_kind: "idv", session_id, identity_id: None };
    let row = files::put_image(&state.storage, &owner, tessera::service::types::StorageFileType::Selfie, &image).await.unwrap();
    (row.insert(&state.db).await.unwrap(), bytes)
}

async fn new_session(app: &TestApp) -> String {
    let (s, _, b) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
    assert_eq!(s, 200, "{b}");
    b["session_id"].as_str().unwrap().to_string()
}

async fn face_template(state: &AppState, client_id: &str, owner_id: &str, vector: Vec<f32>) -> entity::face_template::Model {
    let id = tessera::ids::new_id();
    let embedding = tessera::engine::FaceEmbedding { model: "test-model".into(), vector };
    entity::face_template::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.to_string()),
        owner_kind: Set("idv_session".into()),
        owner_id: Set(owner_id.to_string()),
        source: Set("selfie".into()),
        model: Set("test-model".into()),
        embedding: Set(faces::seal_face_embedding(state.storage.master_key(), &id, &embedding)),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&state.db)
    .await
    .unwrap()
}

async fn post(base: &str, path: &str, key: &str, idempotency_key: &str, body: &Value) -> (u16, String, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency_key)
        .json(body)
        .send()
        .await
        .unwrap();
    common::read(resp).await
}

/// Logs the administrator in; the session cookie and its CSRF token.
async fn login(app: &TestApp) -> (String, String) {
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": app.admin_email, "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (s, _, body) = common::read(resp).await;
    assert_eq!(s, 200, "{body}");
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

/// A cookie-authenticated write (logout) with a CSRF token: its status.
async fn logout(base: &str, (cookie, csrf): &(String, String)) -> u16 {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/logout"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

/// What was written under the first key, to read back later.
struct Written {
    file: entity::stored_file::Model,
    image: Vec<u8>,
    webhook_id: String,
    first_secret: String,
    secret: String,
    template_id: String,
    vector: Vec<f32>,
    create_body: Value,
    created: Value,
    /// A blob no file row names (as review attachments are).
    attachment_key: String,
}

const ATTACHMENT: &[u8] = b"%PDF-1.4 a note's attachment %%EOF";

const AZURE_KEY: &str = "azure-resource-key-0123";

async fn write_everything(app: &TestApp) -> Written {
    let sid = new_session(app).await;
    let (file, image) = store_image(&app.state, &app.demo_client_id, &sid, 1).await;
    // Created with an Idempotency-Key: the stored response (with the secret) is sealed too.
    let create_body = json!({"name": "rotation", "url": "http://127.0.0.1:9/hook"});
    let (s, _, created) = post(&app.base, "/api/v1/webhook/create", &app.demo_key, "rotation-1", &create_body).await;
    assert_eq!(s, 200, "{created}");
    let webhook_id = created["id"].as_str().unwrap().to_string();
    let first_secret = created["secret"].as_str().unwrap().to_string();
    // A rotated secret keeps the previous one (sealed) during the overlap.
    let (s, _, rotated) = app
        .post_json("/api/v1/webhook/rotate-secret", Some(&app.demo_key), &json!({"id": webhook_id, "overlap_hours": 24}))
        .await;
    assert_eq!(s, 200, "{rotated}");
    let secret = rotated["secret"].as_str().unwrap().to_string();
    let vector: Vec<f32> = (0..128).map(|i| (i as f32 * 0.37).sin()).collect();
    let template = face_template(&app.state, &app.demo_client_id, &sid, vector.clone()).await;
    let azure = tessera::engine::liveness::azure::AzureSettings {
        endpoint: "https://tessera-test.cognitiveservices.azure.com".into(),
        api_key: AZURE_KEY.into(),
        api_version: tessera::engine::liveness::azure::DEFAULT_API_VERSION.into(),
    };
    liveness::configure_provider(
        &app.state.db,
        app.state.storage.master_key(),
        &app.demo_client_id,
        tessera::service::types::LivenessProvider::Azure,
        Some(azure),
    )
    .await
    .unwrap();
    let attachment_key = format!("clients/{}/review/case-1/{}", app.demo_client_id, tessera::ids::new_id());
    app.state.storage.put(&attachment_key, ATTACHMENT).await.unwrap();
    Written { file, image, webhook_id, first_secret, secret, template_id: template.id, vector, create_body, created, attachment_key }
}

/// Every value written by [`write_everything`] reads back under `state`'s keys.
async fn assert_readable(state: &AppState, w: &Written, client_id: &str, api_key: &str, what: &str) {
    let master = state.storage.master_key();
    assert_eq!(files::read_bytes(&state.storage, &w.file).await.unwrap(), w.image, "{what}: image");
    assert_eq!(state.storage.get(&w.attachment_key).await.unwrap().as_deref(), Some(ATTACHMENT), "{what}: other blob");
    let hook = entity::webhook::Entity::find_by_id(w.webhook_id.clone()).one(&state.db).await.unwrap().unwrap();
    assert_eq!(webhooks::open_secret(master, &hook.id, &hook.secret_ciphertext).unwrap(), w.secret, "{what}: secret");
    let previous = hook.previous_secret_ciphertext.as_deref().expect("previous secret kept");
    assert_eq!(webhooks::open_secret(master, &hook.id, previous).unwrap(), w.first_secret, "{what}: previous secret");
    let template = entity::face_template::Entity::find_by_id(w.template_id.clone()).one(&state.db).await.unwrap().unwrap();
    assert_eq!(faces::open_face_embedding(master, &template).unwrap().vector, w.vector, "{what}: face template");
    let client = entity::client::Entity::find_by_id(client_id.to_string()).one(&state.db).await.unwrap().unwrap();
    let (_, azure) = liveness::client_provider(master, &client).unwrap();
    assert_eq!(azure.unwrap().api_key, AZURE_KEY, "{what}: Azure key");
    // The idempotent create replays its sealed response through a server on these keys.
    let base = serve(state).await;
    let (s, _, replayed) = post(&base, "/api/v1/webhook/create", api_key, "rotation-1", &w.create_body).await;
    assert_eq!(s, 200, "{what}: replay {replayed}");
    assert_eq!(replayed, w.created, "{what}: the replay is the first answer");
}

#[tokio::test]
async fn values_under_the_old_key_read_during_and_after_rotation_and_an_unknown_key_is_a_clear_error() {
    for backend in backends().await {
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
        let app = TestApp::spawn_with(backend, |c| c.master_key = Some(a.to_base64())).await;
        let w = write_everything(&app).await;
        let (login_1, login_2) = (login(&app).await, login(&app).await);

        // Rolling restart: B current, A previous. Everything reads; new values go under B.
        let both = restart(&app, &b, &[&a]).await;
        assert_readable(&both, &w, &app.demo_client_id, &app.demo_key, &format!("{backend} B+A")).await;
        // A login from before the restart keeps its CSRF token while A is held, and only then.
        assert_eq!(logout(&serve(&restart(&app, &b, &[]).await).await, &login_1).await, 403, "{backend}");
        assert!(logout(&serve(&both).await, &login_2).await < 300, "{backend}");
        let status = keys::status(&both.db, &both.storage, 2).await.unwrap();
        assert_eq!(status.under(&a_id), 7, "{backend}: {status:?}");
        assert_eq!(status.not_current(), 7, "{backend}: {status:?}");
        let (fresh, _) = store_image(&both, &app.demo_client_id, &w.file.session_id, 2).await;
        assert_eq!(fresh.master_key_id.as_deref(), Some(b_id.as_str()), "{backend}: new blobs are under B");

        let mut batches = 0;
        let report = keys::rotate(&both.db, &both.storage, RotateOptions { batch_size: 1, ..Default::default() }, |_, _| batches += 1)
            .await
            .unwrap();
        assert_eq!(report.failed(), 0, "{backend}: {:?}", report.failures);
        for kind in Protected::ALL {
            assert_eq!(report.tallies[&kind].rewrapped, 1, "{backend}: {kind:?} {:?}", report.tallies);
        }
        assert!(batches >= 7, "{backend}: progress after each batch ({batches})");
        let status = keys::status(&both.db, &both.storage, 2).await.unwrap();
        assert_eq!((status.not_current(), status.under(&a_id)), (0, 0), "{backend}: {status:?}");
        assert_eq!(status.under(&b_id), 8, "{backend}: {status:?}");

        // Running it again changes nothing.
        let again = keys::rotate(&both.db, &both.storage, RotateOptions::default(), |_, _| {}).await.unwrap();
        assert!(again.tallies.values().all(|t| t.rewrapped == 0 && t.failed == 0), "{backend}: {:?}", again.tallies);

        // A removed: B alone reads everything; the blob header and its row name B.
        let only_b = restart(&app, &b, &[]).await;
        assert_readable(&only_b, &w, &app.demo_client_id, &app.demo_key, &format!("{backend} B")).await;
        let raw = only_b.storage.get_raw(&w.file.object_key).await.unwrap().unwrap();
        assert_eq!((&raw[..4], hex::encode(&raw[4..12])), (&b"TSB2"[..], b_id.clone()), "{backend}");
        let row = entity::stored_file::Entity::find_by_id(w.file.id.clone()).one(&only_b.db).await.unwrap().unwrap();
        assert_eq!(row.master_key_id.as_deref(), Some(b_id.as_str()));

        // A process without B: a clear error naming the key, never a panic.
        let stranger = restart(&app, &MasterKey::generate(), &[&a]).await;
        let err = files::read_bytes(&stranger.storage, &w.file).await.unwrap_err().to_string();
        assert!(err.contains(&b_id) && err.contains("does not hold"), "{backend}: {err}");
        let hook = entity::webhook::Entity::find_by_id(w.webhook_id.clone()).one(&stranger.db).await.unwrap().unwrap();
        let err = webhooks::open_secret(stranger.storage.master_key(), &hook.id, &hook.secret_ciphertext).unwrap_err();
        assert!(err.to_string().contains(&b_id), "{backend}: {err}");
        let base = serve(&stranger).await;
        let (s, ct, body) = post(&base, "/api/v1/webhook/create", &app.demo_key, "rotation-1", &w.create_body).await;
        common::assert_problem(s, &ct, &body, 500);
        let status = keys::status(&stranger.db, &stranger.storage, 100).await.unwrap();
        assert!(status.counts[&Protected::FaceTemplates].keys().any(|k| k.to_string().contains("not held")), "{status:?}");
        let failed = keys::rotate(&stranger.db, &stranger.storage, RotateOptions::default(), |_, _| {}).await.unwrap();
        assert_eq!(failed.failed(), 8, "{backend}: every value is under B: {:?}", failed.tallies);
        assert!(failed.failures.iter().all(|f| f.contains(&b_id)), "{:?}", failed.failures);
        app.cleanup().await;
    }
}

/// `tessera keys …` against the test's database and storage.
fn keys_command(app: &TestApp, current: &MasterKey, previous: &MasterKey, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(app.state.config.data_dir.clone())
        .env("TESSERA_DATA_DIR", &app.state.config.data_dir)
        .env("TESSERA_DATABASE_URL", app.state.config.database_url())
        .env("TESSERA_MASTER_KEY", current.to_base64())
        .env("TESSERA_PREVIOUS_MASTER_KEYS", previous.to_base64())
        .env("TESSERA_LOG", "warn")
        .args(["keys"])
        .args(args);
    c
}

#[tokio::test]
async fn a_rotation_killed_halfway_completes_when_run_again() {
    for backend in backends().await {
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let (a_id, b_id) = (a.id().to_string(), b.id().to_string());
        let app = TestApp::spawn_with(backend, |c| c.master_key = Some(a.to_base64())).await;
        let sid = new_session(&app).await;
        let mut images = Vec::new();
        for seed in 0..4 {
            images.push(store_image(&app.state, &app.demo_client_id, &sid, seed).await);
        }
        for i in 0..6 {
            face_template(&app.state, &app.demo_client_id, &sid, vec![i as f32; 8]).await;
        }

        // One value per batch, slowly; killed (SIGKILL) after the first batch.
        let mut child = keys_command(&app, &b, &a, &["rotate", "--batch-size", "1", "--pause-ms", "500"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        loop {
            assert!(Instant::now() < deadline, "{backend}: no progress: {seen:?}");
            let line = lines.next().expect("rotate printed progress").unwrap();
            seen.push(line.clone());
            if line.starts_with("image blobs: 1 re-wrapped") {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let both = restart(&app, &b, &[&a]).await;
        let status = keys::status(&both.db, &both.storage, 100).await.unwrap();
        assert!(status.under(&a_id) >= 8 && status.under(&b_id) >= 1, "{backend}: half done: {status:?}");

        let out = keys_command(&app, &b, &a, &["rotate", "--batch-size", "3"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{backend}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("face templates: 6 re-wrapped"), "{backend}: {stdout}");
        let status = keys::status(&both.db, &both.storage, 100).await.unwrap();
        assert_eq!((status.not_current(), status.under(&b_id)), (0, 10), "{backend}: {status:?}");
        let out = keys_command(&app, &b, &a, &["status"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains("everything is under the current key"), "{backend}: {stdout}");
        assert!(stdout.contains(&format!("{b_id} (current): 4")), "{backend}: {stdout}");

        let only_b = restart(&app, &b, &[]).await;
        for (file, bytes) in &images {
            assert_eq!(&files::read_bytes(&only_b.storage, file).await.unwrap(), bytes, "{backend}");
        }
        let templates = entity::face_template::Entity::find()
            .filter(entity::face_template::Column::OwnerId.eq(sid.clone()))
            .all(&only_b.db)
            .await
            .unwrap();
        assert_eq!(templates.len(), 6);
        for t in &templates {
            faces::open_face_embedding(only_b.storage.master_key(), t).unwrap();
        }
        app.cleanup().await;
    }
}

/// The same rotation with blobs in an S3 bucket (moto): objects are
/// rewritten in place under the new key and read with it alone.
#[tokio::test]
async fn blobs_on_s3_are_rewrapped_in_place() {
    let Some(s3) = crate::s3_storage::start_s3().await else { return };
    let bucket = crate::s3_storage::bucket(&s3).await;
    let (a, b) = (MasterKey::generate(), MasterKey::generate());
    let app = TestApp::spawn_with("sqlite", |c| {
        crate::s3_storage::s3_config(c, &s3, &bucket);
        c.master_key = Some(a.to_base64());
    })
    .await;
    let sid = new_session(&app).await;
    let (file, bytes) = store_image(&app.state, &app.demo_client_id, &sid, 5).await;
    let before = app.state.storage.get_raw(&file.object_key).await.unwrap().unwrap();

    let both = restart(&app, &b, &[&a]).await;
    let report = keys::rotate(&both.db, &both.storage, RotateOptions::default(), |_, _| {}).await.unwrap();
    assert_eq!(report.tallies[&Protected::ImageBlobs].rewrapped, 1, "{:?}", report.tallies);
    let after = both.storage.get_raw(&file.object_key).await.unwrap().unwrap();
    assert_eq!(after.len(), before.len(), "only the header changed");
    assert_eq!(after[84..], before[84..], "the image ciphertext is kept");
    assert_eq!(hex::encode(&after[4..12]), b.id().to_string());

    let only_b = restart(&app, &b, &[]).await;
    assert_eq!(files::read_bytes(&only_b.storage, &file).await.unwrap(), bytes);
    assert!(files::read_bytes(&app.state.storage, &file).await.is_err(), "A alone no longer opens it");
    app.cleanup().await;
}
