//! Hostile clients over real sockets: slow and greedy connections, image
//! bombs, brute force, invented methods, secrets at rest, key scopes,
//! oversize filters, header hygiene, webhook address policy, audit floods,
//! and a `kill -9` in the middle of concurrent uploads.

use crate::common;

use std::io::Cursor;
use std::net::IpAddr;
use std::time::Duration;

use crate::common::{TestApp, assert_problem, backends, read};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous upper bound for "the server acted": far above every configured
/// timeout of these tests, so it only trips when the server never acts.
const NEVER: Duration = Duration::from_secs(20);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; what it sent, or `None`
/// when it kept the connection open past [`NEVER`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let result = tokio::time::timeout(NEVER, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    result.ok().map(|_| String::from_utf8_lossy(&out).into_owned())
}

/// A client whose connections come from another loopback address than the
/// hostile ones (its own per-address share).
fn second_address_client() -> reqwest::Client {
    reqwest::Client::builder().local_address("127.0.0.2".parse::<IpAddr>().ok()).build().unwrap()
}

async fn sdk(app: &TestApp, path: &str, body: Value) -> (u16, String, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    read(resp).await
}

/// A session ready for its document front.
async fn session_for_upload(app: &TestApp) -> String {
    let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    let (st, _, v) = sdk(app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
    assert_eq!(st, 200, "{v}");
    let (st, _, v) =
        sdk(app, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
    assert_eq!(st, 200, "{v}");
    sid
}

async fn upload_front(http: &reqwest::Client, base: &str, client_id: &str, sid: &str, bytes: Vec<u8>, mime: &str) -> u16 {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("doc.img").mime_str(mime).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("session_id", sid.to_string())
        .text("latitude", "40.7128")
        .text("longitude", "-74.0060")
        .part("image", part);
    match http
        .post(format!("{base}/api/v1/sdk/idv/document/front"))
        .header("X-Client-Id", client_id)
        .multipart(form)
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x / 31) as u8, (y / 31) as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([((x * 7 + y * 3) % 251) as u8, (x ^ y) as u8, 60]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Resident memory of process `pid` (Linux `/proc`), 0 when unreadable.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

// ---------------------------------------------------------------- sockets

#[tokio::test]
async fn slowloris_headers_are_closed_while_a_normal_client_is_served() {
    let app = TestApp::spawn_with("sqlite", |c| {
        c.header_read_timeout_secs = 1;
        c.max_connections_per_address = 20;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    // A client from another address is served while they hang.
    let normal = second_address_client();
    let resp = normal.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut refused = 0;
    for s in &mut slow {
        let sent = read_until_closed(s).await.expect("a slow connection was held past the header timeout");
        if sent.starts_with("HTTP/1.1 503") {
            refused += 1;
        }
    }
    assert_eq!(refused, 20, "past its share of 20 connections an address is refused at once");
    // Their slots are given back.
    let resp = reqwest::get(app.url("/health/live")).await.unwrap();
    assert_eq!(resp.status(), 200);
    app.cleanup().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_closed() {
    let app = TestApp::spawn_with("sqlite", |c| c.body_idle_timeout_secs = 1).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\": \"a").await.unwrap();
    let sent = read_until_closed(&mut s).await.expect("a stalled body was waited on past the body timeout");
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(sent.to_ascii_lowercase().contains("connection: close"), "{sent}");
    assert!(sent.contains("application/problem+json"), "{sent}");
    app.cleanup().await;
}

#[tokio::test]
async fn an_oversize_declared_body_gets_413_before_it_is_sent() {
    let app = TestApp::spawn("sqlite").await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(b"POST /api/v1/idv/session/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n").await.unwrap();
    let sent = read_until_closed(&mut s).await.expect("no answer to a 1 GiB declared body");
    assert!(sent.starts_with("HTTP/1.1 413"), "{sent}");
    assert!(sent.contains("\"status\":413"), "{sent}");
    app.cleanup().await;
}

#[tokio::test]
async fn connections_over_the_process_cap_are_refused_and_slots_return() {
    let app = TestApp::spawn_with("sqlite", |c| {
        c.max_connections = 6;
        c.max_connections_per_address = 0;
        c.header_read_timeout_secs = 30;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..6 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(s);
    }
    let mut extra = TcpStream::connect(addr(&app)).await.unwrap();
    let sent = read_until_closed(&mut extra).await.unwrap();
    assert!(sent.starts_with("HTTP/1.1 503"), "{sent}");
    assert!(sent.contains("too_many_connections"), "{sent}");
    drop(held);
    // The server notices the closed connections and gives their slots back.
    let mut served = false;
    for _ in 0..100 {
        if reqwest::get(app.url("/health/live")).await.is_ok_and(|r| r.status() == 200) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "slots were not given back");
    app.cleanup().await;
}

// ---------------------------------------------------------------- images

/// The server runs as its own process here (the built binary), so the
/// figure is that server's resident memory, not the test harness's.
#[tokio::test]
async fn sixteen_giant_pngs_keep_memory_within_the_budget() {
    const BUDGET: u64 = 400 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("tessera.db").display());
    let mut config = tessera::config::Config::default();
    config.data_dir = dir.path().to_path_buf();
    config.database_url = Some(database_url.clone());
    config.environment = "test".into();
    config.sanctions_refresh_hours = 0;
    config.models_auto_fetch = false;
    let (demo_key, client_id) = {
        let state = tessera::build_state(config).await.unwrap();
        let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.unwrap().unwrap();
        state.db.close().await.ok();
        (info.demo_api_key, info.demo_client_id)
    };
    let (mut child, base) = start_server(dir.path(), &database_url).await;
    let pid = child.id().expect("the server's pid");
    let http = reqwest::Client::new();
    let giant = png_bytes(8000, 8000);
    assert!(giant.len() < 10 * 1024 * 1024, "fixture of {} bytes", giant.len());
    let mut sessions = Vec::new();
    for _ in 0..16 {
        let v: Value = http.post(format!("{base}/api/v1/idv/session/create")).bearer_auth(&demo_key).json(&json!({})).send().await.unwrap().json().await.unwrap();
        let sid = v["session_id"].as_str().unwrap().to_string();
        for (path, body) in [
            ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
            ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
        ] {
            let r = http.post(format!("{base}{path}")).header("X-Client-Id", &client_id).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        sessions.push(sid);
    }
    let baseline = rss_bytes(pid);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let uploads = sessions.iter().map(|sid| upload_front(&http, &base, &client_id, sid, giant.clone(), "image/png"));
    let statuses = futures::future::join_all(uploads).await;
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.await.unwrap();
    child.start_kill().ok();
    child.wait().await.ok();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(baseline > 0, "could not read the server's resident memory");
    let growth = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(baseline);
    eprintln!("16 × 8000×8000 PNG ({} bytes each): server RSS grew by {} MB", giant.len(), growth / (1024 * 1024));
    assert!(growth <= BUDGET, "RSS grew by {} MB", growth / (1024 * 1024));
}

#[tokio::test]
async fn forged_and_truncated_jpegs_are_refused() {
    let app = TestApp::spawn_with("sqlite", |c| c.models_auto_fetch = false).await;
    // A small scan under a header claiming 8000×8000 px.
    let mut bomb = jpeg_bytes(64, 48);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 7].copy_from_slice(&8000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&8000u16.to_be_bytes());
    // A truncated JPEG with the end marker appended.
    let full = jpeg_bytes(640, 480);
    let mut truncated = full[..full.len() * 2 / 3].to_vec();
    truncated.extend_from_slice(&[0xFF, 0xD9]);
    for bad in [bomb, truncated] {
        let sid = session_for_upload(&app).await;
        let status = upload_front(&app.http, &app.base, &app.demo_client_id, &sid, bad, "image/jpeg").await;
        assert_eq!(status, 422);
        let stored = tessera::service::files::list_in_session(&app.state.db, &app.demo_client_id, &sid).await.unwrap();
        assert!(stored.is_empty(), "a refused image was stored");
    }
    let sid = session_for_upload(&app).await;
    assert_eq!(upload_front(&app.http, &app.base, &app.demo_client_id, &sid, full, "image/jpeg").await, 200);
    app.cleanup().await;
}

// ---------------------------------------------------------------- brute force

#[tokio::test]
async fn concurrent_brute_force_gets_429s_and_never_gets_in_after_the_limit() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await; // login_max_failures = 3
        let guesses = (0..40).map(|i| {
            let http = reqwest::Client::new();
            let url = app.url("/api/v1/auth/login");
            let email = app.admin_email.clone();
            async move {
                let body = json!({"email": email, "password": format!("wrong guess {i}")});
                http.post(url).json(&body).send().await.unwrap().status().as_u16()
            }
        });
        let statuses = futures::future::join_all(guesses).await;
        let limited = statuses.iter().filter(|s| **s == 429).count();
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert_eq!((checked, limited), (3, 37), "{backend}: {statuses:?}");
        // The right password after the limit is refused too.
        let body = json!({"email": app.admin_email, "password": app.admin_password});
        let resp = reqwest::Client::new().post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 429, "{backend}");
        assert!(resp.headers().contains_key("retry-after"));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_successful_login_resets_the_email_counter_and_gives_its_slot_back() {
    use sea_orm::EntityTrait;
    let app = TestApp::spawn("sqlite").await; // login_max_failures = 3
    let login = |password: String| {
        let http = reqwest::Client::new();
        let url = app.url("/api/v1/auth/login");
        let email = app.admin_email.clone();
        async move { http.post(url).json(&json!({"email": email, "password": password})).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(login("wrong one".into()).await, 401);
    assert_eq!(login("wrong two".into()).await, 401);
    assert_eq!(login(app.admin_password.clone()).await, 200);
    let rows = entity::login_throttle::Entity::find().all(&app.state.db).await.unwrap();
    assert!(rows.iter().all(|r| !r.key.starts_with("email:")), "{rows:?}");
    let by_address: Vec<i32> = rows.iter().filter(|r| r.key.starts_with("ip:")).map(|r| r.attempts).collect();
    assert_eq!(by_address, vec![2], "the two failures stay counted against the address");
    app.cleanup().await;
}

// ---------------------------------------------------------------- metrics

#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let app = TestApp::spawn("sqlite").await;
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let _ = app.http.request(method, app.url(&format!("/nowhere/{i}"))).send().await.unwrap();
    }
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("INVENTED"), "invented methods became labels");
    assert!(!text.contains("/nowhere/"), "raw paths became labels");
    assert!(text.contains("method=\"other\""), "{text}");
    app.cleanup().await;
}

// ---------------------------------------------------------------- secrets at rest

#[cfg(unix)]
#[tokio::test]
async fn data_files_are_private_and_the_database_holds_no_usable_session() {
    use sea_orm::EntityTrait;
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn_with("sqlite", |c| c.models_auto_fetch = false).await;
    let sid = session_for_upload(&app).await;
    assert_eq!(upload_front(&app.http, &app.base, &app.demo_client_id, &sid, png_bytes(300, 200), "image/png").await, 200);
    let data_dir = app.state.config.data_dir.clone();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&data_dir.join("tessera.db")), 0o600);
    let blobs: Vec<_> = walk(&app.state.config.storage_path());
    assert!(!blobs.is_empty());
    for blob in &blobs {
        assert_eq!(mode(blob), 0o600, "{}", blob.display());
    }

    // Log in and read the session rows as someone with the database file would.
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let body = json!({"email": app.admin_email, "password": app.admin_password});
    let resp = http.post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tessera_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("session cookie");
    let me: Value = resp.json().await.unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let rows = entity::login_session::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    for row in &rows {
        let data = String::from_utf8_lossy(&row.data);
        assert_ne!(row.id, cookie);
        assert!(!data.contains(&cookie), "the session id is stored in clear");
        assert!(!data.contains(&csrf), "the CSRF token is stored in clear");
        // Replaying the stored id as a cookie does not log in.
        let resp = reqwest::Client::new()
            .get(app.url("/api/v1/auth/me"))
            .header("cookie", format!("tessera_session={}", row.id))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    // The real cookie still works, with its CSRF token.
    let resp = http.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let me2: Value = resp.json().await.unwrap();
    assert_eq!(me2["csrf_token"], json!(csrf));
    let resp = http.post(app.url("/api/v1/auth/logout")).header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    app.cleanup().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

// ---------------------------------------------------------------- key scopes

#[tokio::test]
async fn api_keys_are_no_wider_than_their_creators_role() {
    use tessera::service::tenancy::{self, Role};
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let viewer = tenancy::create_user(db, &app.demo_client_id, "viewer@example.com", Role::Viewer, "a long viewer password").await.unwrap();
        let viewer_key = tenancy::create_api_key(db, &app.demo_client_id, Some(&viewer.id), Some("viewer's")).await.unwrap().plaintext;
        let admin_writes = [
            ("/api/v1/idv/weights/update", json!({"name": "x"})),
            ("/api/v1/api-key/create", json!({"name": "more"})),
            ("/api/v1/api-key/revoke", json!({"id": "anything"})),
            ("/api/v1/webhook/create", json!({"name": "x", "url": "https://example.com/h"})),
            ("/api/v1/identity/delete", json!({"identity_id": "anything"})),
            ("/api/v1/idv/requirements/update", json!({})),
            ("/api/v1/idv/session/create", json!({})),
        ];
        for (path, body) in &admin_writes {
            let (s, ct, b) = app.post_json(path, Some(&viewer_key), body).await;
            assert_problem(s, &ct, &b, 403);
        }
        let (s, _, b) = app.post_json("/api/v1/idv/session/list", Some(&viewer_key), &json!({})).await;
        assert_eq!(s, 200, "a read_only key reads: {b}");

        // An admin key hands out narrower keys; an integrator key integrates but does not administer.
        let (s, _, b) = app.post_json("/api/v1/api-key/create", Some(&app.demo_key), &json!({"name": "svc", "scope": "integrator"})).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["scope"], "integrator");
        let integrator = b["api_key"].as_str().unwrap().to_string();
        let (s, _, b) = app.post_json("/api/v1/idv/session/create", Some(&integrator), &json!({})).await;
        assert_eq!(s, 200, "{b}");
        for (path, body) in &admin_writes[..5] {
            let (s, ct, b) = app.post_json(path, Some(&integrator), body).await;
            assert_problem(s, &ct, &b, 403);
        }
        // Keys bound to a viewer cannot be wider than read_only, whoever creates them.
        let (s, ct, b) = app
            .post_json("/api/v1/api-key/create", Some(&app.demo_key), &json!({"user_id": viewer.id, "scope": "admin"}))
            .await;
        assert_problem(s, &ct, &b, 403);
        let (s, _, b) = app.post_json("/api/v1/api-key/create", Some(&app.demo_key), &json!({"user_id": viewer.id})).await;
        assert_eq!((s, b["scope"].as_str()), (200, Some("read_only")), "{b}");
        let (s, ct, b) = app.post_json("/api/v1/api-key/create", Some(&app.demo_key), &json!({"scope": "root"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "scope");
        // Old requests keep working: the demo key (no scope asked) administers.
        let (s, _, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": "x", "url": "https://example.com/h"})).await;
        assert_eq!(s, 200, "{b}");
        app.cleanup().await;
    }
}

// ---------------------------------------------------------------- filters, headers, tokens

#[tokio::test]
async fn filter_lists_longer_than_the_limit_are_a_400_naming_the_field() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let many: Vec<String> = (0..40_000).map(|i| format!("id{i}")).collect();
        for (path, field) in [
            ("/api/v1/idv/session/list", "identity_id"),
            ("/api/v1/ida/session/list", "identity_id"),
            ("/api/v1/identity/list", "user_id"),
        ] {
            let (s, ct, b) = app.post_json(path, Some(&app.demo_key), &json!({ field: many })).await;
            assert_problem(s, &ct, &b, 400);
            assert_eq!(b["errors"][0]["field"], field, "{path}: {b}");
        }
        let q = "query($ids: [String!]) { idvSessions(filter: {identityIds: $ids}) { totalCount } }";
        let resp = app.http.post(app.url("/graphql")).bearer_auth(&app.demo_key).json(&json!({"query": q, "variables": {"ids": many}})).send().await.unwrap();
        let b: Value = resp.json().await.unwrap();
        assert_eq!(b["errors"][0]["extensions"]["status"], 400, "{b}");
        let (s, _, b) = app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"identity_id": many[..1000]})).await;
        assert_eq!(s, 200, "1000 ids are accepted: {b}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn personal_answers_are_not_cached_and_images_are_inert() {
    let app = TestApp::spawn_with("sqlite", |c| c.models_auto_fetch = false).await;
    let sid = session_for_upload(&app).await;
    // A polyglot: a real PNG with HTML after its end chunk.
    let mut polyglot = png_bytes(120, 80);
    polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
    assert_eq!(upload_front(&app.http, &app.base, &app.demo_client_id, &sid, polyglot, "image/png").await, 200);
    let resp = app
        .http
        .post(app.url("/api/v1/idv/document/download"))
        .bearer_auth(&app.demo_key)
        .json(&json!({"session_id": sid, "storage_file_type_e": "driver_license_front"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(h["cache-control"], "no-store");

    let resp = app.http.post(app.url("/api/v1/idv/session/read")).bearer_auth(&app.demo_key).json(&json!({"session_id": sid})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = app.http.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    app.cleanup().await;
}

#[tokio::test]
async fn an_empty_liveness_token_is_invalid_not_absent() {
    let app = TestApp::spawn("sqlite").await;
    let sid = session_for_upload(&app).await;
    let frame = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(jpeg_bytes(320, 240))
    };
    let here = json!({"session_id": sid, "latitude": 40.7, "longitude": -74.0});
    let (s, _, b) = sdk(&app, "/api/v1/sdk/idv/liveness/generate", here.clone()).await;
    assert_eq!(s, 200, "{b}");
    let mut process = here;
    process["token"] = json!("");
    process["images"] = json!([frame]);
    let (s, ct, b) = sdk(&app, "/api/v1/sdk/idv/liveness/process", process).await;
    assert_problem(s, &ct, &b, 400);
    assert_eq!(b["errors"][0]["field"], "token");
    app.cleanup().await;
}

// ---------------------------------------------------------------- webhooks

#[tokio::test]
async fn addresses_the_delivery_policy_refuses_are_refused_at_registration() {
    let app = TestApp::spawn("sqlite").await; // webhook_allow_loopback in development
    for url in ["http://example.com/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "http://[fd00::5]/h"] {
        let (s, ct, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": "x", "url": url})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "url", "{url}");
    }
    let (s, _, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": "x", "url": "http://127.0.0.1:9/hook"})).await;
    assert_eq!(s, 200, "{b}");
    app.cleanup().await;

    let app = TestApp::spawn_with("sqlite", |c| c.webhook_allow_loopback = false).await;
    let (s, ct, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": "x", "url": "http://127.0.0.1:9/hook"})).await;
    assert_problem(s, &ct, &b, 400);
    app.cleanup().await;
}

#[tokio::test]
async fn a_delivery_the_policy_refuses_fails_at_once() {
    let app = TestApp::spawn_with("sqlite", |c| {
        c.webhook_allow_loopback = false;
        c.webhook_workers = 1;
        c.webhook_poll_ms = 20;
    })
    .await;
    // A host name is checked at connect time: `localhost` resolves to loopback, which is refused.
    let (s, _, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": "x", "url": "https://localhost:9/hook"})).await;
    assert_eq!(s, 200, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let (s, _, b) = app.post_json("/api/v1/webhook/test", Some(&app.demo_key), &json!({"id": id})).await;
    assert_eq!(s, 200, "{b}");
    let mut last = Value::Null;
    for _ in 0..200 {
        let (_, _, b) = app.post_json("/api/v1/webhook/delivery/list", Some(&app.demo_key), &json!({"webhook_id": id})).await;
        last = b;
        let status = last["deliveries"][0]["status"].as_str().unwrap_or_default().to_string();
        if status == "failed" || status == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = &last["deliveries"][0];
    assert_eq!(d["status"], "failed", "{last}");
    assert_eq!(d["attempts"], 1, "{last}");
    app.cleanup().await;
}

// ---------------------------------------------------------------- audit

#[tokio::test]
async fn a_thousand_aliases_of_one_node_write_one_audit_row() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = TestApp::spawn("sqlite").await;
    let (_, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
    let sid = v["session_id"].as_str().unwrap().to_string();
    let fields: Vec<String> = (0..1000).map(|i| format!("a{i}: idvSession(id: $id) {{ id }}")).collect();
    let q = format!("query($id: String!) {{ {} }}", fields.join(" "));
    let resp = app.http.post(app.url("/graphql")).bearer_auth(&app.demo_key).json(&json!({"query": q, "variables": {"id": sid}})).send().await.unwrap();
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["data"]["a999"]["id"], json!(sid), "{}", &b.to_string()[..b.to_string().len().min(500)]);
    let rows = entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq("idv_session.view"))
        .filter(entity::audit_log::Column::TargetId.eq(sid.clone()))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    app.cleanup().await;
}

// ---------------------------------------------------------------- kill -9

/// A server process of the built binary over `dir` and `database_url`;
/// returns it with its base URL once it answers.
async fn start_server(dir: &std::path::Path, database_url: &str) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_ENVIRONMENT", "test")
        .env("TESSERA_JOB_WORKERS", "0")
        .env("TESSERA_WEBHOOK_WORKERS", "0")
        .env("TESSERA_SANCTIONS_REFRESH_HOURS", "0")
        .env("TESSERA_MODELS_AUTO_FETCH", "false")
        .env("TESSERA_SWEEP_INTERVAL_SECS", "0")
        .env("TESSERA_BLOCKED_MAX_FAILURES", "1000")
        .env_remove("TESSERA_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the tessera binary");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(NEVER * 3, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("Tessera listening on ") {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[tokio::test]
async fn kill_9_during_concurrent_uploads_leaves_every_answered_upload_readable_and_no_orphans() {
    use sea_orm::{ConnectionTrait, Database, EntityTrait};
    for backend in backends().await {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, pg) = match backend {
            "postgres" => {
                let admin_url = std::env::var(common::PG_ENV).unwrap();
                let name = format!("tessera_kill_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
                let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
                (url, Some((admin, name)))
            }
            _ => (format!("sqlite://{}?mode=rwc", dir.path().join("tessera.db").display()), None),
        };
        let mut config = tessera::config::Config::default();
        config.data_dir = dir.path().to_path_buf();
        config.database_url = Some(database_url.clone());
        config.environment = "test".into();
        config.sanctions_refresh_hours = 0;
        config.models_auto_fetch = false;
        let (demo_key, client_id) = {
            let state = tessera::build_state(config.clone()).await.unwrap();
            let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.unwrap().unwrap();
            state.db.close().await.ok();
            (info.demo_api_key, info.demo_client_id)
        };

        let (mut child, base) = start_server(dir.path(), &database_url).await;
        let http = reqwest::Client::new();
        let mut sessions = Vec::new();
        for _ in 0..200 {
            let v: Value = http.post(format!("{base}/api/v1/idv/session/create")).bearer_auth(&demo_key).json(&json!({})).send().await.unwrap().json().await.unwrap();
            let sid = v["session_id"].as_str().unwrap().to_string();
            for (path, body) in [
                ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
                ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
            ] {
                let r = http.post(format!("{base}{path}")).header("X-Client-Id", &client_id).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 200);
            }
            sessions.push(sid);
        }
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let uploads: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(i, sid)| {
                let (http, base, client_id, sid, done) = (http.clone(), base.clone(), client_id.clone(), sid.clone(), done.clone());
                tokio::spawn(async move {
                    let status = upload_front(&http, &base, &client_id, &sid, png_bytes(400 + i as u32, 300), "image/png").await;
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    (sid, status)
                })
            })
            .collect();
        while done.load(std::sync::atomic::Ordering::SeqCst) < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        let results: Vec<(String, u16)> = futures::future::join_all(uploads).await.into_iter().map(Result::unwrap).collect();
        let answered: Vec<&String> = results.iter().filter(|(_, s)| *s == 200).map(|(sid, _)| sid).collect();
        let failed = results.len() - answered.len();
        assert!(!answered.is_empty() && failed > 0, "{backend}: the kill must land mid-burst ({} answered)", answered.len());

        // Restart; the orphan sweep (no grace) runs.
        let state = tessera::build_state(config.clone()).await.unwrap();
        let removed = tessera::service::orphans::sweep(&state.db, &state.storage, Duration::ZERO).await.unwrap();
        let rows = entity::stored_file::Entity::find().all(&state.db).await.unwrap();
        for sid in &answered {
            let file = rows.iter().find(|r| &&r.session_id == sid).unwrap_or_else(|| panic!("{backend}: answered upload of {sid} lost"));
            let bytes = tessera::service::files::read_bytes(&state.storage, file).await.unwrap();
            image::load_from_memory(&bytes).unwrap();
        }
        for row in &rows {
            assert!(state.storage.get(&row.object_key).await.unwrap().is_some(), "{backend}: a row without its blob");
        }
        let blobs = walk(&config.storage_path()).into_iter().filter(|p| p.to_string_lossy().contains("/clients/")).count();
        assert_eq!(blobs, rows.len(), "{backend}: blobs without rows remain after the sweep (removed {removed})");
        eprintln!("{backend}: {} answered, {failed} cut off, {} rows, {removed} orphan blobs removed", answered.len(), rows.len());

        // The restarted server serves an answered upload.
        state.db.close().await.ok();
        let (mut child, base) = start_server(dir.path(), &database_url).await;
        let r = http
            .post(format!("{base}/api/v1/idv/document/download"))
            .bearer_auth(&demo_key)
            .json(&json!({"session_id": answered[0], "storage_file_type_e": "driver_license_front"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{backend}");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        if let Some((admin, name)) = pg {
            let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}
