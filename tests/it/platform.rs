//! Platform foundation: migrations, API keys, tenancy, system endpoints,
//! problem+json errors, admin login with CSRF and rate limit, encrypted blobs.

use crate::common;

use crate::common::{TestApp, assert_problem, backends, seed};
use serde_json::{Value, json};

#[tokio::test]
async fn api_key_auth_missing_invalid_revoked_valid() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (s, ct, b) = app.post_json("/api/v1/api-key/list", None, &json!({})).await;
        assert_problem(s, &ct, &b, 401);
        let (s, ct, b) = app.post_json("/api/v1/api-key/list", Some("tsk_not_a_real_key"), &json!({})).await;
        assert_problem(s, &ct, &b, 401);

        let (s, _, created) = app.post_json("/api/v1/api-key/create", Some(&app.demo_key), &json!({"name": "ci"})).await;
        assert_eq!(s, 200, "{created}");
        let new_key = created["api_key"].as_str().unwrap().to_string();
        assert!(new_key.starts_with("tsk_"));
        let (s, _, list) = app.post_json("/api/v1/api-key/list", Some(&new_key), &json!({})).await;
        assert_eq!(s, 200, "{list}");
        assert_eq!(list["api_keys"].as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(&new_key), "secrets never listed");

        let id = created["id"].as_str().unwrap();
        let (s, _, revoked) = app.post_json("/api/v1/api-key/revoke", Some(&app.demo_key), &json!({"id": id})).await;
        assert_eq!(s, 200, "{revoked}");
        assert!(revoked["revoked_at"].is_string());
        let (s, ct, b) = app.post_json("/api/v1/api-key/list", Some(&new_key), &json!({})).await;
        assert_problem(s, &ct, &b, 401);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn another_clients_object_is_not_found() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let other = tessera::service::tenancy::create_client(&app.state.db, "Other Inc", false).await.unwrap();
        let other_key = tessera::service::tenancy::create_api_key(&app.state.db, &other.id, None, None).await.unwrap();
        // The other tenant's key id is invisible to the demo client.
        let (s, ct, b) = app
            .post_json("/api/v1/api-key/revoke", Some(&app.demo_key), &json!({"id": other_key.model.id}))
            .await;
        assert_problem(s, &ct, &b, 404);
        let (_, _, list) = app.post_json("/api/v1/api-key/list", Some(&app.demo_key), &json!({})).await;
        assert!(!list.to_string().contains(&other_key.model.id));
        // and it still works for its owner
        let (s, _, _) = app.post_json("/api/v1/api-key/list", Some(&other_key.plaintext), &json!({})).await;
        assert_eq!(s, 200);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn system_endpoints_have_exactly_the_seed_keys() {
    let samples = seed::response_samples();
    let app = TestApp::spawn("sqlite").await;
    let metrics_json = {
        let resp = app.http.get(app.url("/metrics")).header("accept", "application/json").send().await.unwrap();
        common::read(resp).await
    };
    let cases = [
        ("/", samples[0].clone(), app.get("/").await),
        ("/api/v1", samples[1].clone(), app.get("/api/v1").await),
        ("/metrics", samples[2].clone(), metrics_json),
        ("/health", samples[3].clone(), app.get("/health").await),
    ];
    for (path, sample, (status, ct, body)) in cases {
        assert_eq!(status, 200, "{path}: {body}");
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        let mut diff = Vec::new();
        seed::shape_diff(path, &sample, &body, &mut diff);
        assert!(diff.is_empty(), "{path} differs from the seed: {diff:#?}\n{body}");
    }
    // Real values, not placeholders.
    let (_, _, health) = app.get("/health").await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["checks"]["database"], "ok");
    assert_eq!(health["checks"]["storage"], "ok");
    assert!(health["uptime"].as_f64().unwrap() >= 0.0);
    let (_, _, m) = app.get("/api/v1").await;
    assert_eq!(m["endpoints"]["api_spec"], "/api/v1/openapi.json");
    let resp = app.http.get(app.url("/metrics")).header("accept", "application/json").send().await.unwrap();
    let (_, _, m) = common::read(resp).await;
    assert_eq!(m["system"]["pid"], std::process::id());
    assert!(m["system"]["memory"]["rss"].as_u64().unwrap() > 1_000_000);
    assert!(m["system"]["node_version"].as_str().unwrap().starts_with("rustc "));
    assert_eq!(m["environment"]["node_env"], "test");
}

#[tokio::test]
async fn prometheus_metrics_count_requests_per_route() {
    let app = TestApp::spawn("sqlite").await;
    for _ in 0..3 {
        app.get("/health/live").await;
    }
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("tessera_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(text.contains("tessera_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health/live\",le=\"+Inf\"} 3"));
}

#[tokio::test]
async fn health_probes_answer() {
    let app = TestApp::spawn("sqlite").await;
    let (s, _, b) = app.get("/health/ready").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ready")));
    let (s, _, b) = app.get("/health/live").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("alive")));
}

#[tokio::test]
async fn health_says_how_far_the_models_are_loaded() {
    use tessera::engine::Warmth;
    let app = TestApp::spawn("sqlite").await;
    let (s, _, b) = app.get("/health").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["checks"]["external_services"]["models"], "ok", "{b}");
    assert_eq!(b["details"]["external_services"]["models"]["state"], "on_first_use", "{b}");

    // While the start-up warm-up loads the models, a load balancer waits.
    app.state.engines.warmth.set(Warmth::Warming);
    let (s, _, b) = app.get("/health/ready").await;
    assert_eq!((s, b["status"].as_str()), (503, Some("warming")));
    let (s, _, b) = app.get("/health").await;
    assert_eq!((s, b["checks"]["external_services"]["models"].as_str()), (200, Some("degraded")), "{b}");

    // A package still downloading does not hold readiness.
    app.state.engines.warmth.set(Warmth::Fetching);
    let (s, _, _) = app.get("/health/ready").await;
    assert_eq!(s, 200);

    // Models that could not be loaded: ready, health degraded with the reason.
    app.state.engines.warmth.set(Warmth::Incomplete);
    let (s, _, _) = app.get("/health/ready").await;
    assert_eq!(s, 200);
    let (_, _, b) = app.get("/health").await;
    assert_eq!(b["status"], "degraded", "{b}");
    assert!(b["error"].as_str().unwrap().contains("models"), "{b}");

    app.state.engines.warmth.set(Warmth::Warm);
    let (_, _, b) = app.get("/health").await;
    assert_eq!(b["checks"]["external_services"]["models"], "ok", "{b}");
    assert_eq!(b["details"]["external_services"]["models"]["state"], "warm", "{b}");
}

#[tokio::test]
async fn health_reports_a_broken_database_as_503() {
    let app = TestApp::spawn("sqlite").await;
    app.state.db.clone().close().await.unwrap();
    let (s, _, b) = app.get("/health").await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(b["status"], "error");
    assert_eq!(b["checks"]["database"], "error");
    assert!(b["error"].is_string());
}

#[tokio::test]
async fn bad_requests_are_problem_json() {
    let app = TestApp::spawn_with("sqlite", |c| c.max_body_bytes = 64 * 1024).await;
    let key = &app.demo_key;
    // malformed JSON
    let resp = app
        .http
        .post(app.url("/api/v1/api-key/create"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let (s, ct, b) = common::read(resp).await;
    assert_problem(s, &ct, &b, 400);
    // wrong type names the field
    let (s, ct, b) = app.post_json("/api/v1/api-key/create", Some(key), &json!({"name": 5})).await;
    assert_problem(s, &ct, &b, 400);
    assert_eq!(b["errors"][0]["field"], "name", "{b}");
    // missing field is named
    let (s, ct, b) = app.post_json("/api/v1/api-key/revoke", Some(key), &json!({})).await;
    assert_problem(s, &ct, &b, 400);
    assert_eq!(b["errors"][0]["field"], "id", "{b}");
    // wrong content type
    let resp = app
        .http
        .post(app.url("/api/v1/api-key/create"))
        .bearer_auth(key)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    let (s, ct, b) = common::read(resp).await;
    assert_problem(s, &ct, &b, 415);
    // oversized body
    let big = json!({"name": "x".repeat(200 * 1024)});
    let (s, ct, b) = app.post_json("/api/v1/api-key/create", Some(key), &big).await;
    assert_problem(s, &ct, &b, 413);
    // unknown route and wrong method
    let (s, ct, b) = app.get("/api/v1/nope").await;
    assert_problem(s, &ct, &b, 404);
    let (s, ct, b) = app.get("/api/v1/api-key/create").await;
    assert_problem(s, &ct, &b, 405);
    // nothing was written by the failed creates
    let (_, _, list) = app.post_json("/api/v1/api-key/list", Some(key), &json!({})).await;
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 1);
}

async fn login(app: &TestApp, http: &reqwest::Client, password: &str) -> (u16, String, Value, Option<String>) {
    let resp = http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": app.admin_email, "password": password}))
        .send()
        .await
        .unwrap();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tessera_session="))
        .map(str::to_string);
    let (s, ct, b) = common::read(resp).await;
    (s, ct, b, cookie)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn admin_login_logout_with_cookie_and_csrf() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let (s, _, me, cookie) = login(&app, &http, &app.admin_password.clone()).await;
        assert_eq!(s, 200, "{me}");
        let cookie = cookie.expect("session cookie set");
        let lower = cookie.to_lowercase();
        assert!(lower.contains("httponly") && lower.contains("samesite=strict"), "{cookie}");
        assert_eq!(me["role"], "admin");
        let csrf = me["csrf_token"].as_str().unwrap().to_string();

        let (s, _, b) = common::read(http.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["email"], app.admin_email.as_str());

        // A second login rotates the session id; the old cookie stops working.
        let (_, _, _, cookie2) = login(&app, &http, &app.admin_password.clone()).await;
        let old = cookie_value(&cookie);
        assert_ne!(old, cookie_value(cookie2.as_ref().unwrap()));
        let bare = reqwest::Client::new();
        let resp = bare.get(app.url("/api/v1/auth/me")).header("cookie", &old).send().await.unwrap();
        assert_eq!(resp.status(), 401);

        let (_, _, me) = common::read(http.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        let csrf2 = me["csrf_token"].as_str().unwrap().to_string();
        assert_ne!(csrf, csrf2, "a new login issues a new CSRF token");
        // Logout without / with a wrong CSRF token is refused.
        let (s, ct, b) = common::read(http.post(app.url("/api/v1/auth/logout")).send().await.unwrap()).await;
        assert_problem(s, &ct, &b, 403);
        let resp = http.post(app.url("/api/v1/auth/logout")).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        let resp = http.post(app.url("/api/v1/auth/logout")).header("x-csrf-token", &csrf2).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let (s, ct, b) = common::read(http.get(app.url("/api/v1/auth/me")).send().await.unwrap()).await;
        assert_problem(s, &ct, &b, 401);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn wrong_password_is_401_then_rate_limited() {
    let app = TestApp::spawn("sqlite").await; // login_max_failures = 3 in tests
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let (s, ct, b, cookie) = login(&app, &http, "wrong password!").await;
        assert_problem(s, &ct, &b, 401);
        assert!(cookie.is_none(), "no session for a failed login");
    }
    let resp = http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": app.admin_email, "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    let (s, ct, b) = common::read(resp).await;
    assert_problem(s, &ct, &b, 429);
    // unknown accounts answer exactly like wrong passwords
    let resp = http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "nobody@example.com", "password": "whatever-long"}))
        .send()
        .await
        .unwrap();
    // the client address is over the limit too
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn blobs_are_encrypted_at_rest() {
    let app = TestApp::spawn("sqlite").await;
    let plaintext = b"PASSPORT-PLAINTEXT-MARKER-0123456789".repeat(10);
    app.state.storage.put("sessions/s1/front", &plaintext).await.unwrap();
    let raw = app.state.storage.get_raw("sessions/s1/front").await.unwrap().unwrap();
    assert!(!raw.windows(16).any(|w| w == &plaintext[..16]), "plaintext visible at rest");
    let on_disk = std::fs::read(app.state.config.storage_path().join("sessions/s1/front")).unwrap();
    assert_eq!(on_disk, raw);
    assert_eq!(app.state.storage.get("sessions/s1/front").await.unwrap().unwrap(), plaintext);
    assert!(app.state.storage.get("sessions/s1/missing").await.unwrap().is_none());
    // master key file is private
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.state.config.data_dir.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn openapi_spec_is_served_and_committed() {
    let app = TestApp::spawn("sqlite").await;
    let (s, _, served) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(served["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var("TESSERA_UPDATE_SCHEMA").is_ok() {
        std::fs::write(path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == pretty,
        "schema/openapi.json drifted from the served spec; regenerate with TESSERA_UPDATE_SCHEMA=1 cargo test --test it platform::openapi"
    );
    let (s, ct, _) = app.get("/docs").await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/html"));
}

#[tokio::test]
async fn private_metrics_need_an_api_key() {
    let app = TestApp::spawn_with("sqlite", |c| c.metrics_public = false).await;
    let (s, ct, b) = app.get("/metrics").await;
    assert_problem(s, &ct, &b, 401);
    let resp = app.http.get(app.url("/metrics")).bearer_auth(&app.demo_key).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// A `TestApp` dropped without `cleanup` (a failing test unwinds past it)
/// drops its PostgreSQL database all the same.
#[tokio::test]
async fn a_dropped_test_app_leaves_no_postgres_database() {
    let Ok(admin_url) = std::env::var(common::PG_ENV) else {
        eprintln!("note: {} not set; skipped", common::PG_ENV);
        return;
    };
    let app = TestApp::spawn("postgres").await;
    let name = app.pg_database_name().expect("a postgres database").to_string();
    let unwound = tokio::spawn(async move {
        let _app = app;
        panic!("a failing test");
    })
    .await;
    assert!(unwound.is_err(), "the task panicked");
    use sea_orm::{ConnectionTrait, Database, Statement};
    let admin = Database::connect(&admin_url).await.unwrap();
    let rows = admin
        .query_all_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await
        .unwrap();
    assert!(rows.is_empty(), "database {name} was left behind");
}
