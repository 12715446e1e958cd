//! The hosted capture page and its links: a capture link (from session
//! create or the mint endpoint) drives the SDK steps with its token
//! instead of the client id, for its own session only; expired, revoked
//! and finished links cannot upload and answer a clear page; the page and
//! the web SDK are served by the binary and name no other origin; the
//! client's page settings are validated and reach the page.
//!
//! The browser half (`capture_browser` tests) walks the page in headless
//! Chromium with a fake camera: on a phone-sized screen to a verdict, and
//! on a desktop that hands off to a phone by QR code. Screenshots of each
//! step go to target/ui-screenshots/capture-*.png.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::{TestApp, assert_problem, backends, read};

const PHONE_UA: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";

fn token_of(capture_url: &str) -> String {
    capture_url.rsplit('/').next().unwrap().to_string()
}

async fn create_with_link(app: &TestApp, extra: Value) -> (String, String) {
    let mut body = json!({"liveness_mode": "passive", "capture_link": {}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &body).await;
    assert_eq!(st, 200, "{v}");
    let url = v["capture_url"].as_str().unwrap_or_else(|| panic!("no capture_url in {v}")).to_string();
    (v["session_id"].as_str().unwrap().to_string(), url)
}

/// A session with a capture link whose user consented: (session id, token).
async fn consented_link(app: &TestApp) -> (String, String) {
    let (sid, url) = create_with_link(app, json!({})).await;
    let token = token_of(&url);
    let (st, _, v) = with_token(app, &token, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
    assert_eq!(st, 200, "{v}");
    (sid, token)
}

async fn with_token(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, String, Value) {
    read(app.http.post(app.url(path)).header("X-Capture-Token", token).json(&body).send().await.unwrap()).await
}

fn small_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 400, |x, y| image::Rgb([(x % 200) as u8 + 30, (y % 200) as u8 + 30, 120]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload_with_token(app: &TestApp, token: &str, side: &str, session_id: &str) -> (u16, String, Value) {
    let part = reqwest::multipart::Part::bytes(small_png()).file_name("doc.png").mime_str("image/png").unwrap();
    let form = reqwest::multipart::Form::new().text("session_id", session_id.to_string()).part("image", part);
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/sdk/idv/document/{side}")))
        .header("X-Capture-Token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// GET /verify/{token}: (status, the link state written into the page).
async fn page_state(app: &TestApp, token: &str) -> (u16, String) {
    let resp = app.http.get(app.url(&format!("/verify/{token}"))).send().await.unwrap();
    let status = resp.status().as_u16();
    let html = resp.text().await.unwrap();
    let marker = "name=\"tessera-link-state\" content=\"";
    let state = html.split(marker).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    (status, state)
}

#[tokio::test]
async fn a_capture_link_drives_its_session_without_the_client_id() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (sid, url) = create_with_link(&app, json!({})).await;
        assert!(url.starts_with(&format!("{}/verify/tcl_", app.base)), "{url}");
        let token = token_of(&url);

        // Only the hash is stored.
        let links = entity::capture_link::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(links.len(), 1);
        assert_ne!(links[0].token_hash, token);
        assert!(!serde_json::to_string(&links[0]).unwrap().contains(&token[4..]), "the token is stored in plain");

        assert_eq!(page_state(&app, &token).await, (200, "open".to_string()), "{backend}");
        let resp = app
            .http
            .post(app.url("/api/v1/sdk/idv/capture/start"))
            .header("X-Capture-Token", &token)
            .header("User-Agent", PHONE_UA)
            .send()
            .await
            .unwrap();
        let (st, _, start) = read(resp).await;
        assert_eq!(st, 200, "{start}");
        assert_eq!(start["session_id"], sid);
        assert_eq!(start["state"], "open");
        assert_eq!(start["progress"]["consented"], false);

        for (path, body) in [
            ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
            ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
        ] {
            let (st, _, v) = with_token(&app, &token, path, body).await;
            assert_eq!(st, 200, "{backend} {path}: {v}");
        }
        let (st, _, v) = upload_with_token(&app, &token, "front", &sid).await;
        assert_eq!(st, 200, "{backend}: upload without a position: {v}");
        let (st, _, v) = with_token(&app, &token, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["document_front_given"], true);
        // Without a token the client id still answers, and still needs its position.
        let resp = app
            .http
            .post(app.url("/api/v1/sdk/idv/liveness/generate"))
            .header("X-Client-Id", &app.demo_client_id)
            .json(&json!({"session_id": sid}))
            .send()
            .await
            .unwrap();
        let (st, ct, v) = read(resp).await;
        assert_problem(st, &ct, &v, 400);
        assert_eq!(v["errors"][0]["field"], "latitude", "{v}");

        // The opening is recorded: device and browser, in the link and the history.
        let link = entity::capture_link::Entity::find().one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(link.device.as_deref(), Some("phone"));
        assert_eq!(link.browser.as_deref(), Some("Chrome 124 on Android"));
        let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200);
        let events: Vec<&str> = s["history"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
        assert!(events.contains(&"capture_link_created") && events.contains(&"capture_page_opened"), "{events:?}");

        // The page's own calls take only a token.
        let resp = app.http.post(app.url("/api/v1/sdk/idv/capture/status")).header("X-Client-Id", &app.demo_client_id).send().await.unwrap();
        let (st, ct, v) = read(resp).await;
        assert_problem(st, &ct, &v, 401);

        // The dashboard sees how the session was captured.
        let viewer = crate::graphql::login(&app, &app.demo_client_id, "viewer@demo.test", tessera::service::tenancy::Role::Viewer).await;
        let q = "query($id: String!) { idvSession(id: $id) { captureOpenings { origin device browser openedAt } } }";
        let body = viewer.gql(&app, q, json!({"id": sid})).await;
        let openings = &body["data"]["idvSession"]["captureOpenings"];
        assert_eq!(openings[0]["device"], "phone", "{body}");
        assert_eq!((openings[0]["origin"].as_str(), openings[0]["browser"].as_str()), (Some("api"), Some("Chrome 124 on Android")));

        // Deleting the session deletes its links: the page no longer knows the token.
        let (st, _, v) = app.post_json("/api/v1/idv/session/delete", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(entity::capture_link::Entity::find().all(&app.state.db).await.unwrap().len(), 0);
        assert_eq!(page_state(&app, &token).await, (404, "unknown".to_string()));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_link_is_minted_and_checked_field_by_field() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
        assert_eq!(st, 200);
        assert!(v.get("capture_url").is_none(), "no link unless asked: {v}");
        let sid = v["session_id"].as_str().unwrap().to_string();
        let (st, _, v) = app
            .post_json("/api/v1/idv/session/capture-link/create", Some(&app.demo_key), &json!({"session_id": sid, "ttl_minutes": 5}))
            .await;
        assert_eq!(st, 200, "{v}");
        let expires: chrono::DateTime<Utc> = v["expires_at"].as_str().unwrap().parse().unwrap();
        assert!(expires <= Utc::now() + Duration::minutes(5) && expires > Utc::now() + Duration::minutes(4), "{v}");
        for (body, field) in [
            (json!({"session_id": sid, "ttl_minutes": 0}), "ttl_minutes"),
            (json!({"session_id": sid, "redirect_url": "javascript:alert(1)"}), "redirect_url"),
        ] {
            let (st, ct, v) = app.post_json("/api/v1/idv/session/capture-link/create", Some(&app.demo_key), &body).await;
            assert_problem(st, &ct, &v, 400);
            assert_eq!(v["errors"][0]["field"], field, "{v}");
        }
        let (st, ct, v) = app
            .post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"capture_link": {"ttl_minutes": 99999}}))
            .await;
        assert_problem(st, &ct, &v, 400);
        assert_eq!(v["errors"][0]["field"], "capture_link.ttl_minutes", "{v}");
        let (st, ct, v) = app
            .post_json("/api/v1/idv/session/capture-link/create", Some(&app.demo_key), &json!({"session_id": "no-such-session"}))
            .await;
        assert_problem(st, &ct, &v, 404);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn expired_revoked_and_finished_links_cannot_upload() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;

        // Expired: the link's time is over (moved into the past in the database).
        let (sid, token) = consented_link(&app).await;
        let link = entity::capture_link::Entity::find()
            .filter(entity::capture_link::Column::SessionId.eq(&sid))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut am: entity::capture_link::ActiveModel = link.into();
        am.expires_at = Set(Utc::now() - Duration::seconds(1));
        am.update(&app.state.db).await.unwrap();
        let (st, ct, v) = upload_with_token(&app, &token, "front", &sid).await;
        assert_problem(st, &ct, &v, 401);
        assert!(v["detail"].as_str().unwrap().contains("expired"), "{v}");
        assert_eq!(page_state(&app, &token).await, (410, "expired".to_string()), "{backend}");

        // Revoked by the integrator.
        let (sid, token) = consented_link(&app).await;
        let (st, _, v) =
            app.post_json("/api/v1/idv/session/capture-link/revoke", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!((st, v["revoked"].as_u64()), (200, Some(1)), "{v}");
        let (st, ct, v) = upload_with_token(&app, &token, "front", &sid).await;
        assert_problem(st, &ct, &v, 401);
        assert!(v["detail"].as_str().unwrap().contains("revoked"), "{v}");
        assert_eq!(page_state(&app, &token).await, (410, "revoked".to_string()), "{backend}");
        // The client id is not revoked with it.
        let resp = app.http.post(app.url("/api/v1/sdk/idv/session/read")).header("X-Client-Id", &app.demo_client_id).json(&json!({"session_id": sid})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);

        // Finished: finalized through the link itself.
        let (sid, token) = consented_link(&app).await;
        let mut finalized = false;
        for _ in 0..30 {
            let (st, _, v) = with_token(&app, &token, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
            if st == 503 {
                continue;
            }
            assert_eq!(st, 200, "{v}");
            finalized = true;
            break;
        }
        assert!(finalized);
        let (st, ct, v) = upload_with_token(&app, &token, "front", &sid).await;
        assert_problem(st, &ct, &v, 409);
        assert!(v["detail"].as_str().unwrap().contains("finalized"), "{v}");
        assert_eq!(page_state(&app, &token).await, (410, "finished".to_string()), "{backend}");
        let (st, _, v) = app
            .post_json("/api/v1/idv/session/capture-link/create", Some(&app.demo_key), &json!({"session_id": sid}))
            .await;
        assert_eq!(st, 409, "no new link to a finished session: {v}");

        // Unknown tokens.
        assert_eq!(page_state(&app, "tcl_nothing").await, (404, "unknown".to_string()));
        assert_eq!(page_state(&app, "<script>").await.1, "unknown");
        let (st, ct, v) = upload_with_token(&app, "tcl_nothing", "front", &sid).await;
        assert_problem(st, &ct, &v, 401);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn one_sessions_token_cannot_touch_another_session() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (sid_a, url_a) = create_with_link(&app, json!({})).await;
        let (sid_b, _) = create_with_link(&app, json!({})).await;
        let token_a = token_of(&url_a);
        for (path, body) in [
            ("/api/v1/sdk/idv/session/read", json!({"session_id": sid_b})),
            ("/api/v1/sdk/idv/consent", json!({"session_id": sid_b, "consented": true})),
            ("/api/v1/sdk/idv/document/type", json!({"session_id": sid_b, "document_type_e": "passport"})),
            ("/api/v1/sdk/idv/metadata/update", json!({"session_id": sid_b, "sdk_metadata": {"a": "b"}})),
            ("/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid_b})),
            ("/api/v1/sdk/idv/finalize", json!({"session_id": sid_b})),
        ] {
            let (st, ct, v) = with_token(&app, &token_a, path, body).await;
            assert_problem(st, &ct, &v, 404);
            assert!(!v.to_string().contains(&sid_b), "{path}: {v}");
        }
        let (st, ct, v) = upload_with_token(&app, &token_a, "front", &sid_b).await;
        assert_problem(st, &ct, &v, 404);
        // Session B is untouched.
        let (_, _, b) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid_b})).await;
        assert_eq!((b["consented"].as_bool(), b["document_front_given"].as_bool()), (Some(false), Some(false)), "{b}");
        // A capture token is not an IDA or identity credential either.
        for path in ["/api/v1/sdk/ida/session/read", "/api/v1/sdk/identity/status"] {
            let (st, ct, v) = with_token(&app, &token_a, path, json!({"session_id": sid_a})).await;
            assert_problem(st, &ct, &v, 401);
        }
        // Its own session answers.
        let (st, _, v) = with_token(&app, &token_a, "/api/v1/sdk/idv/session/read", json!({"session_id": sid_a})).await;
        assert_eq!(st, 200, "{v}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn capture_settings_reach_the_page_and_its_frame_policy() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let settings = json!({
            "consent_text": "Acme Bank verifies your identity with Tessera.",
            "primary_color": "#0A7B3E",
            "background_color": "#FFFFFF",
            "logo_data_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
            "redirect_url": "https://bank.example/after",
            "frame_ancestors": ["https://bank.example/"]
        });
        let (st, _, v) = app.post_json("/api/v1/capture/settings/update", Some(&app.demo_key), &settings).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["primary_color"], "#0a7b3e");
        assert_eq!(v["frame_ancestors"], json!(["https://bank.example"]));
        let resp = app.http.get(app.url("/api/v1/capture/settings")).bearer_auth(&app.demo_key).send().await.unwrap();
        let (st, _, read_back) = read(resp).await;
        assert_eq!((st, &read_back), (200, &v));
        for (body, field) in [
            (json!({"primary_color": "green"}), "primary_color"),
            (json!({"logo_data_url": "https://cdn.example/logo.png"}), "logo_data_url"),
            (json!({"frame_ancestors": ["not an origin"]}), "frame_ancestors[0]"),
        ] {
            let (st, ct, v) = app.post_json("/api/v1/capture/settings/update", Some(&app.demo_key), &body).await;
            assert_problem(st, &ct, &v, 400);
            assert_eq!(v["errors"][0]["field"], field, "{v}");
        }

        let (_, url) = create_with_link(&app, json!({})).await;
        let token = token_of(&url);
        let resp = app.http.get(app.url(&format!("/verify/{token}"))).send().await.unwrap();
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors https://bank.example"), "{csp}");
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        // A revoked link still shows its closed page inside the integrator's frame.
        let (sid_closed, url_closed) = create_with_link(&app, json!({})).await;
        let (st, _, v) = app
            .post_json("/api/v1/idv/session/capture-link/revoke", Some(&app.demo_key), &json!({"session_id": sid_closed}))
            .await;
        assert_eq!(st, 200, "{v}");
        let resp = app.http.get(app.url(&format!("/verify/{}", token_of(&url_closed)))).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 410);
        let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors https://bank.example"), "{csp}");
        let (st, _, start) = with_token(&app, &token, "/api/v1/sdk/idv/capture/start", json!({})).await;
        assert_eq!(st, 200, "{start}");
        assert_eq!(start["settings"]["consent_text"], settings["consent_text"]);
        assert_eq!(start["settings"]["primary_color"], "#0a7b3e");
        assert_eq!(start["redirect_url"], "https://bank.example/after");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_desktop_mints_a_handoff_link_with_a_qr_code() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (sid, url) = create_with_link(&app, json!({})).await;
        let token = token_of(&url);
        let (st, _, v) = with_token(&app, &token, "/api/v1/sdk/idv/capture/handoff", json!({})).await;
        assert_eq!(st, 200, "{v}");
        let phone_url = v["capture_url"].as_str().unwrap();
        assert_ne!(phone_url, url);
        assert!(v["qr_svg"].as_str().unwrap().contains("<svg"), "{v}");
        assert_eq!(v["qr_svg"].as_str(), Some(tessera::rest::capture::qr_svg(phone_url).unwrap().as_str()), "the QR code encodes the phone's link");
        let phone_token = token_of(phone_url);
        let (st, _, start) = with_token(&app, &phone_token, "/api/v1/sdk/idv/capture/start", json!({})).await;
        assert_eq!(st, 200, "{start}");
        assert_eq!((start["session_id"].as_str(), start["handoff"].as_bool()), (Some(sid.as_str()), Some(true)));
        let expires: chrono::DateTime<Utc> = v["expires_at"].as_str().unwrap().parse().unwrap();
        assert!(expires <= Utc::now() + Duration::minutes(15), "a handoff link is short-lived: {v}");
        // Progress made on the phone shows on the desktop's status.
        assert_eq!(with_token(&app, &phone_token, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.0, 200);
        let (st, _, status) = with_token(&app, &token, "/api/v1/sdk/idv/capture/status", json!({})).await;
        assert_eq!(st, 200, "{status}");
        assert_eq!(status["progress"]["consented"], true);
        assert_eq!(status["documents"]["front"], "missing");
        app.cleanup().await;
    }
}

/// After an upload the page hears what the analysis made of it: a photo
/// with no document on it is `unreadable` once its analysis ran.
#[tokio::test]
async fn the_page_hears_what_the_analysis_read() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (sid, token) = consented_link(&app).await;
        let (st, _, v) = with_token(&app, &token, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
        assert_eq!(st, 200, "{v}");
        let (_, _, status) = with_token(&app, &token, "/api/v1/sdk/idv/capture/status", json!({})).await;
        assert_eq!(status["documents"], json!({"front": "missing", "back": "missing"}), "{status}");
        assert_eq!(upload_with_token(&app, &token, "back", &sid).await.0, 200);
        let mut last = Value::Null;
        for _ in 0..150 {
            let (st, _, status) = with_token(&app, &token, "/api/v1/sdk/idv/capture/status", json!({})).await;
            assert_eq!(st, 200, "{status}");
            last = status["documents"].clone();
            if last["back"] != "analysing" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(last, json!({"front": "missing", "back": "unreadable"}), "{backend}");
        app.cleanup().await;
    }
}

/// The page, its assets and the SDK are served by the binary and name no
/// other origin (no CDN, fonts or analytics); the SDK is importable cross-origin.
#[tokio::test]
async fn the_page_and_the_sdk_are_served_and_name_no_other_origin() {
    let app = TestApp::spawn("sqlite").await;
    for (path, ct) in [
        ("/capture/capture.js", "text/javascript"),
        ("/capture/strings.js", "text/javascript"),
        ("/capture/quality.js", "text/javascript"),
        ("/capture/capture.css", "text/css"),
        ("/sdk/tessera-capture.js", "text/javascript"),
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with(ct), "{path}");
        if path.starts_with("/sdk/") {
            assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = ["ui/capture/index.html", "ui/capture/capture.js", "ui/capture/strings.js", "ui/capture/quality.js", "ui/capture/capture.css", "sdk/web/tessera-capture.js"];
    for f in files {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let comment = ["//", "*", "/*"].iter().any(|p| line.trim_start().starts_with(p));
            let names_origin = line.contains("http://") || line.contains("https://");
            assert!(comment || !names_origin, "{f}:{}: names another origin: {line}", i + 1);
        }
    }
    let resp = app.http.get(app.url("/verify/tcl_unknown")).send().await.unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("http"), "{csp}");
    app.cleanup().await;
}

/// Walks the page in real browsers with a fake camera.
mod capture_browser {
    use super::*;
    use crate::common::browser::{self, Browser};
    use crate::verify_e2e::{JOHN, back, engine_app, front, jpeg, portrait};
    use std::path::{Path, PathBuf};
    use std::time::{Duration as StdDuration, Instant};

    /// A y4m video (4:2:0) of one still image, for Chromium's fake camera.
    pub fn write_y4m(img: &image::RgbImage, path: &Path) {
        let (w, h) = (img.width() & !1, img.height() & !1);
        let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
        let mut y_plane = Vec::with_capacity((w * h) as usize);
        let mut u_plane = Vec::with_capacity((w * h / 4) as usize);
        let mut v_plane = Vec::with_capacity((w * h / 4) as usize);
        let px = |x: u32, y: u32| {
            let p = img.get_pixel(x, y).0;
            (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))
        };
        for y in 0..h {
            for x in 0..w {
                let (r, g, b) = px(x, y);
                y_plane.push((0.299 * r + 0.587 * g + 0.114 * b).round().clamp(0.0, 255.0) as u8);
            }
        }
        for y in (0..h).step_by(2) {
            for x in (0..w).step_by(2) {
                let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (pr, pg, pb) = px(x + dx, y + dy);
                    r += pr / 4.0;
                    g += pg / 4.0;
                    b += pb / 4.0;
                }
                u_plane.push((128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b).round().clamp(0.0, 255.0) as u8);
                v_plane.push((128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b).round().clamp(0.0, 255.0) as u8);
            }
        }
        for _ in 0..2 {
            out.extend_from_slice(b"FRAME\n");
            out.extend_from_slice(&y_plane);
            out.extend_from_slice(&u_plane);
            out.extend_from_slice(&v_plane);
        }
        std::fs::write(path, out).unwrap();
    }

    /// The licence front held up to a desk camera: 1280×720, the card in the middle on a grey desk.
    fn card_on_desk(card: &image::RgbImage) -> image::RgbImage {
        let mut frame = image::RgbImage::from_fn(1280, 720, |x, y| image::Rgb([92 + ((x + y) % 7) as u8, 96, 102]));
        let card = image::imageops::resize(card, 1000, 630, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut frame, &card, 140, 45);
        frame
    }

    /// A face photo as a webcam sees it: 640×480, head and shoulders in the middle.
    fn face_frame(name: &str) -> image::RgbImage {
        let face = portrait(name);
        let face = image::imageops::resize(&face, 360, 480, image::imageops::FilterType::Triangle);
        let mut frame = image::RgbImage::from_pixel(640, 480, image::Rgb([176, 170, 160]));
        image::imageops::overlay(&mut frame, &face, 140, 0);
        frame
    }

    fn camera_args(video: &Path, phone: bool) -> Vec<String> {
        let mut args = vec![
            "--use-fake-ui-for-media-stream".to_string(),
            "--use-fake-device-for-media-stream".to_string(),
            format!("--use-file-for-fake-video-capture={}", video.display()),
        ];
        if phone {
            args.push(format!("--user-agent={PHONE_UA}"));
        }
        args
    }

    async fn wait_step(b: &Browser, step: &str, limit_secs: u64) {
        let started = Instant::now();
        let expr = format!("document.getElementById('main') && document.getElementById('main').dataset.step === '{step}'");
        loop {
            if b.eval(&expr).await == true {
                return;
            }
            if started.elapsed() > StdDuration::from_secs(limit_secs) {
                let text = b.text_of("body").await;
                panic!("the page never reached step {step}; page text:\n{text}");
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }

    /// Sends a document side by the file fallback, then accepts the review and the server's answer.
    async fn upload_side(b: &Browser, side: &str, file: &Path, shot: &str) {
        wait_step(b, side, 30).await;
        b.wait_for("the camera", "document.getElementById('take-photo') && !document.getElementById('take-photo').disabled").await;
        b.screenshot(&format!("{shot}-camera")).await;
        b.send_keys("#file-input", &file.display().to_string()).await;
        accept_photo(b, side, shot).await;
    }

    async fn accept_photo(b: &Browser, side: &str, shot: &str) {
        b.find("#use-photo").await;
        b.screenshot(&format!("{shot}-review")).await;
        b.click_css("#use-photo").await;
        // The server's answer: read (the page moves on) or unreadable (the user may continue).
        let started = Instant::now();
        loop {
            let here = b.eval(&format!("document.getElementById('main').dataset.step === '{side}'")).await == true;
            if !here {
                return;
            }
            if b.find_now("#continue-anyway").await.is_some() {
                b.screenshot(&format!("{shot}-answer")).await;
                let answer = b.text_of("#server-answer").await;
                eprintln!("note: the server could not read the {side}: {answer}");
                b.click_css("#continue-anyway").await;
                return;
            }
            assert!(started.elapsed() < StdDuration::from_secs(90), "no answer after the {side} upload");
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }

    async fn consent_and_type(b: &Browser, shot: &str) {
        wait_step(b, "consent", 20).await;
        b.screenshot(&format!("{shot}-1-consent")).await;
        // Continue without ticking: the page says why and keeps the user here.
        b.click_css("#consent-continue").await;
        b.wait_text("Please tick the box").await;
        b.click_css("#consent-check").await;
        b.click_css("#consent-continue").await;
        wait_step(b, "document_type", 20).await;
        b.screenshot(&format!("{shot}-2-document-type")).await;
        b.click_css("#document-type-continue").await;
    }

    async fn selfie_and_done(b: &Browser, shot: &str) {
        wait_step(b, "selfie", 60).await;
        b.screenshot(&format!("{shot}-5-selfie")).await;
        b.click_css("#selfie-start").await;
        b.find("#liveness-instruction").await;
        tokio::time::sleep(StdDuration::from_millis(800)).await;
        b.screenshot(&format!("{shot}-6-liveness")).await;
        wait_step(b, "done", 240).await;
        b.screenshot(&format!("{shot}-7-done")).await;
    }

    struct Fixtures {
        _dir: tempfile::TempDir,
        front: PathBuf,
        back: PathBuf,
        card_video: PathBuf,
        face_video: PathBuf,
    }

    fn fixtures() -> Fixtures {
        let dir = tempfile::tempdir().unwrap();
        let card = front(&JOHN, &portrait("obama2.jpg"));
        let front_path = dir.path().join("front.jpg");
        std::fs::write(&front_path, jpeg(&card, 92)).unwrap();
        let back_path = dir.path().join("back.jpg");
        std::fs::write(&back_path, jpeg(&back(&JOHN, 11), 92)).unwrap();
        let card_video = dir.path().join("card.y4m");
        write_y4m(&card_on_desk(&card), &card_video);
        let face_video = dir.path().join("face.y4m");
        write_y4m(&face_frame("obama.jpg"), &face_video);
        Fixtures { front: front_path, back: back_path, card_video, face_video, _dir: dir }
    }

    async fn session_verdict(app: &TestApp, sid: &str) -> Value {
        let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{s}");
        s
    }

    /// Every resource the page loaded came from the server itself.
    async fn assert_only_own_resources(b: &Browser, app: &TestApp) {
        let names = b.eval("performance.getEntriesByType('resource').map((e) => e.name).concat([location.href])").await;
        let names = names.as_array().cloned().unwrap_or_default();
        assert!(names.len() >= 4, "resources: {names:?}");
        for n in &names {
            let n = n.as_str().unwrap_or_default();
            assert!(n.starts_with(&app.base) || n.starts_with("data:") || n.starts_with("blob:"), "an external resource: {n}");
        }
    }

    /// The page's own quality hints on drawn pixels: a dark photo, a
    /// featureless (blurred) one, a sharp well-lit one.
    async fn assert_quality_hints(b: &Browser) {
        let script = r#"import('/capture/quality.js').then((q) => {
            const img = (f) => { const w = 400, h = 250, d = new Uint8ClampedArray(w * h * 4);
                for (let i = 0; i < w * h; i++) { const v = f(i % w, Math.floor(i / w)); d.set([v, v, v, 255], i * 4); }
                return { width: w, height: h, data: d }; };
            return {
                dark: q.hints(q.measure(img((x, y) => ((x >> 2) + (y >> 2)) % 2 ? 40 : 5))),
                flat: q.hints(q.measure(img(() => 140))),
                sharp: q.hints(q.measure(img((x, y) => ((x >> 3) + (y >> 3)) % 2 ? 215 : 40))),
            };
        })"#;
        let v = b.eval(script).await;
        let has = |k: &str, hint: &str| v[k].as_array().is_some_and(|a| a.iter().any(|h| h == hint));
        assert!(has("dark", "hintDark"), "{v}");
        assert!(has("flat", "hintBlurry") && has("flat", "hintSmall"), "{v}");
        assert_eq!(v["sharp"], json!([]), "{v}");
    }

    #[tokio::test]
    async fn a_phone_walks_the_hosted_page_to_a_verdict() {
        let (chromium, driver) = match browser::locate() {
            Ok(found) => found,
            Err(why) => return eprintln!("skipped: {why}"),
        };
        let fx = fixtures();
        let app = engine_app("sqlite").await;
        let (sid, url) = create_with_link(&app, json!({"settings": {"perform_aamva_test": false}})).await;
        let b = Browser::start_with(&chromium, &driver, 390, 844, &camera_args(&fx.face_video, true)).await;
        b.goto(&url).await;
        consent_and_type(&b, "capture-phone").await;
        upload_side(&b, "front", &fx.front, "capture-phone-3-front").await;
        upload_side(&b, "back", &fx.back, "capture-phone-4-back").await;
        assert!(b.find_now("#handoff-button:not([hidden])").await.is_none(), "a phone is not offered a handoff");
        selfie_and_done(&b, "capture-phone").await;
        assert_only_own_resources(&b, &app).await;
        let s = session_verdict(&app, &sid).await;
        assert_eq!(s["status_e"], "complete", "{s}");
        assert_eq!(s["verified"], true, "the applicant is verified: {s}");
        eprintln!("phone flow verdict: verified={} score={} reasons={}", s["verified"], s["score"], s["reasons"]);
        let link = entity::capture_link::Entity::find().one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(link.device.as_deref(), Some("phone"));
        assert_quality_hints(&b).await;
        // The finished link now answers the closed page.
        b.goto(&url).await;
        b.wait_text("This verification is finished").await;
        b.screenshot("capture-phone-8-finished-link").await;
        b.quit().await;
        app.cleanup().await;
    }

    /// The integrator's page on another origin: imports the SDK from the
    /// Tessera server, embeds `?u=<capture url>` inline (`?modal` as a
    /// modal) and records the SDK's events in `window.events`.
    async fn integrator_site(app_base: &str) -> String {
        let html = format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body>
<h1>Open an account</h1><div id="kyc" style="height:760px"></div>
<script type="module">
import {{ TesseraCapture }} from '{app_base}/sdk/tessera-capture.js';
window.events = [];
const q = new URLSearchParams(location.search);
const capture = q.has('modal') ? TesseraCapture.open(q.get('u')) : TesseraCapture.mount(document.getElementById('kyc'), q.get('u'));
for (const type of ['ready', 'step', 'complete', 'error']) capture.on(type, (e) => window.events.push(type + (e.step ? ':' + e.step : '')));
</script></body></html>"#
        );
        let site = axum::Router::new().route("/", axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, site).await.unwrap() });
        base
    }

    async fn events(b: &Browser) -> Vec<String> {
        let v = b.eval("window.events || []").await;
        v.as_array().map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    async fn wait_event(b: &Browser, event: &str) {
        let started = Instant::now();
        while !events(b).await.iter().any(|e| e == event) {
            assert!(started.elapsed() < StdDuration::from_secs(60), "no {event} event; events so far: {:?}", events(b).await);
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }

    /// The web SDK embeds the page in another origin's page (inline and as
    /// a modal) and reports ready, each step and complete; the page is
    /// usable inside the frame.
    #[tokio::test]
    async fn the_web_sdk_embeds_the_page_and_reports_its_events() {
        let (chromium, driver) = match browser::locate() {
            Ok(found) => found,
            Err(why) => return eprintln!("skipped: {why}"),
        };
        let app = TestApp::spawn("sqlite").await;
        let site = integrator_site(&app.base).await;
        let (st, _, v) = app
            .post_json("/api/v1/capture/settings/update", Some(&app.demo_key), &json!({"frame_ancestors": [site]}))
            .await;
        assert_eq!(st, 200, "{v}");
        let b = Browser::start(&chromium, &driver, 1024, 900).await;

        // Inline: the user works inside the frame; the host page hears each step.
        let (_, url) = create_with_link(&app, json!({})).await;
        b.goto(&format!("{site}/?u={}", urlencode(&url))).await;
        wait_event(&b, "step:consent").await;
        b.screenshot("capture-sdk-1-inline").await;
        b.enter_frame("iframe").await;
        b.click_css("#consent-check").await;
        b.click_css("#consent-continue").await;
        b.find("#document-type-continue").await;
        b.leave_frames().await;
        wait_event(&b, "step:document_type").await;
        assert_eq!(events(&b).await[..3], ["ready", "step:consent", "step:document_type"]);

        // Modal: a session whose captures are all in finishes in the dialog and completes.
        let (sid, url) = captured_link(&app, json!({})).await;
        b.goto(&format!("{site}/?modal&u={}", urlencode(&url))).await;
        b.find("dialog[open] iframe").await;
        wait_event(&b, "complete").await;
        b.screenshot("capture-sdk-2-modal-complete").await;
        let got = events(&b).await;
        assert_eq!(got.first().map(String::as_str), Some("ready"), "{got:?}");
        assert!(got.contains(&"step:finalize".to_string()), "{got:?}");
        let (_, _, s) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(s["status_e"], "complete", "{s}");

        // Not framed, a link with a redirect_url sends the user back, naming the session.
        let back = format!("{}/health/live", app.base);
        let (sid, url) = captured_link(&app, json!({"redirect_url": back})).await;
        b.goto(&url).await;
        wait_step(&b, "done", 60).await;
        b.screenshot("capture-redirect-done").await;
        let expected = format!("{back}?session_id={sid}");
        b.wait_for("the redirect", &format!("location.href === {}", serde_json::to_string(&expected).unwrap())).await;
        b.quit().await;
        app.cleanup().await;
    }

    /// A session (with a capture link of `options`) whose captures were all
    /// sent with the link's token: only finalize is left for the page.
    async fn captured_link(app: &TestApp, options: Value) -> (String, String) {
        let (st, _, v) = app
            .post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"capture_link": options}))
            .await;
        assert_eq!(st, 200, "{v}");
        let (sid, url) = (v["session_id"].as_str().unwrap().to_string(), v["capture_url"].as_str().unwrap().to_string());
        let token = token_of(&url);
        for (path, body) in [
            ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
            ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
        ] {
            assert_eq!(with_token(app, &token, path, body).await.0, 200);
        }
        assert_eq!(upload_with_token(app, &token, "front", &sid).await.0, 200);
        assert_eq!(upload_with_token(app, &token, "back", &sid).await.0, 200);
        let (st, _, t) = with_token(app, &token, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{t}");
        use base64::Engine;
        let frame = base64::engine::general_purpose::STANDARD.encode(small_png());
        let body = json!({"session_id": sid, "token": t["token"], "images": [frame]});
        let (st, _, v) = with_token(app, &token, "/api/v1/sdk/idv/liveness/process", body).await;
        assert_eq!(st, 200, "{v}");
        (sid, url)
    }

    /// A `passive_active` session: the page shows the generated challenge's
    /// steps one at a time (after the straight look), each active step
    /// once, and sends a frame for every step.
    #[tokio::test]
    async fn the_liveness_steps_of_the_challenge_are_shown_one_by_one() {
        let (chromium, driver) = match browser::locate() {
            Ok(found) => found,
            Err(why) => return eprintln!("skipped: {why}"),
        };
        let fx = fixtures();
        let app = TestApp::spawn("sqlite").await;
        let (sid, url) = create_with_link(&app, json!({"liveness_mode": "passive_active"})).await;
        let token = token_of(&url);
        for (path, body) in [
            ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
            ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
        ] {
            assert_eq!(with_token(&app, &token, path, body).await.0, 200);
        }
        assert_eq!(upload_with_token(&app, &token, "front", &sid).await.0, 200);
        assert_eq!(upload_with_token(&app, &token, "back", &sid).await.0, 200);
        let b = Browser::start_with(&chromium, &driver, 390, 844, &camera_args(&fx.face_video, true)).await;
        b.goto(&url).await;
        wait_step(&b, "selfie", 30).await;
        b.click_css("#selfie-start").await;
        let mut shown: Vec<String> = Vec::new();
        let started = Instant::now();
        while b.eval("document.getElementById('main').dataset.step").await != "done" {
            let step = b.eval("(document.getElementById('liveness-instruction') || {dataset: {}}).dataset.step || ''").await;
            if let Some(step) = step.as_str().filter(|s| !s.is_empty()) {
                if shown.last().map(String::as_str) != Some(step) {
                    shown.push(step.to_string());
                    b.screenshot(&format!("capture-liveness-step-{}", shown.len())).await;
                }
            }
            assert!(started.elapsed() < StdDuration::from_secs(120), "the page never finished; steps shown: {shown:?}");
            tokio::time::sleep(StdDuration::from_millis(150)).await;
        }
        assert_eq!(shown.first().map(String::as_str), Some("look"), "{shown:?}");
        let mut active: Vec<&str> = shown[1..].iter().map(String::as_str).collect();
        let in_order = active.clone();
        active.sort_unstable();
        assert_eq!(active, ["look_up", "smile", "turn_left", "turn_right"], "each active step once: {shown:?}");
        // A frame per active step was stored.
        let files = entity::stored_file::Entity::find()
            .filter(entity::stored_file::Column::SessionId.eq(&sid))
            .all(&app.state.db)
            .await
            .unwrap();
        for n in 1..=4 {
            assert!(files.iter().any(|f| f.file_type == format!("liveness_active_step_{n}")), "step {n} frame: {in_order:?}");
        }
        b.quit().await;
        app.cleanup().await;
    }

    fn urlencode(s: &str) -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }

    #[tokio::test]
    async fn a_desktop_hands_off_to_a_phone_by_qr_code() {
        let (chromium, driver) = match browser::locate() {
            Ok(found) => found,
            Err(why) => return eprintln!("skipped: {why}"),
        };
        let fx = fixtures();
        let app = engine_app("sqlite").await;
        let (sid, url) = create_with_link(&app, json!({"settings": {"perform_aamva_test": false}})).await;
        let desktop = Browser::start_with(&chromium, &driver, 1280, 900, &camera_args(&fx.card_video, false)).await;
        desktop.goto(&url).await;
        consent_and_type(&desktop, "capture-desktop").await;
        // The front through the desktop camera (the card held up to it).
        wait_step(&desktop, "front", 30).await;
        desktop.wait_for("the camera", "!document.getElementById('take-photo').disabled").await;
        desktop.screenshot("capture-desktop-3-front-camera").await;
        desktop.click_css("#take-photo").await;
        accept_photo(&desktop, "front", "capture-desktop-3-front").await;
        upload_side(&desktop, "back", &fx.back, "capture-desktop-4-back").await;

        // Continue on the phone: a QR code of a fresh link, progress followed live.
        wait_step(&desktop, "selfie", 60).await;
        desktop.click_css("#handoff-button").await;
        desktop.find("#handoff-qr").await;
        desktop.screenshot("capture-desktop-5-handoff-qr").await;
        let phone_url = desktop.eval("document.getElementById('handoff-url').textContent").await.as_str().unwrap().to_string();
        assert!(phone_url.starts_with(&format!("{}/verify/tcl_", app.base)) && phone_url != url, "{phone_url}");
        let qr_src = desktop.eval("document.getElementById('handoff-qr').src").await;
        assert!(qr_src.as_str().unwrap().starts_with("data:image/svg+xml;base64,"));

        let phone = Browser::start_with(&chromium, &driver, 390, 844, &camera_args(&fx.face_video, true)).await;
        phone.goto(&phone_url).await;
        // The phone continues where the desktop stopped.
        selfie_and_done(&phone, "capture-handoff-phone").await;
        assert_only_own_resources(&phone, &app).await;
        wait_step(&desktop, "done", 30).await;
        desktop.screenshot("capture-desktop-6-done-on-phone").await;
        assert_only_own_resources(&desktop, &app).await;

        let s = session_verdict(&app, &sid).await;
        assert_eq!(s["status_e"], "complete", "{s}");
        assert_eq!(s["verified"], true, "the applicant is verified: {s}");
        eprintln!("handoff flow verdict: verified={} score={} reasons={}", s["verified"], s["score"], s["reasons"]);
        let links = entity::capture_link::Entity::find().all(&app.state.db).await.unwrap();
        let mut seen: Vec<(String, Option<String>)> = links.iter().map(|l| (l.origin.clone(), l.device.clone())).collect();
        seen.sort();
        assert_eq!(seen, vec![("api".to_string(), Some("desktop".to_string())), ("handoff".to_string(), Some("phone".to_string()))]);
        phone.quit().await;
        desktop.quit().await;
        app.cleanup().await;
    }
}
