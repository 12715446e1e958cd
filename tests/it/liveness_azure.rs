//! The Azure Face liveness provider end to end against a local stub of the
//! Azure API: a client configured for Azure gets the Azure session's token
//! from liveness/generate, the SDK's process call needs no frames, and the
//! analysis job fetches the verdict server-side.


use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use crate::common::{TestApp, backends, read};
use serde_json::{Value, json};
use tessera::engine::liveness::azure::{AzureLivenessEngine, AzureSettings};
use tessera::service::types::{LivenessMode, LivenessProvider};

const KEY: &str = "stub-face-key";

#[derive(Default)]
struct Stub {
    decision: String,
    created: Vec<Value>,
    fetched: Vec<String>,
}

type Shared = Arc<Mutex<Stub>>;

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("Ocp-Apim-Subscription-Key").and_then(|v| v.to_str().ok()) == Some(KEY)
}

async fn create(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key."}})));
    }
    let mut stub = s.lock().unwrap();
    stub.created.push(body);
    let n = stub.created.len();
    (StatusCode::OK, Json(json!({"sessionId": format!("b12e033e-bda7-4b83-a211-00000000000{n}"), "authToken": format!("azure-sdk-token-{n}")})))
}

async fn result(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "401", "message": "denied"}})));
    }
    let mut stub = s.lock().unwrap();
    stub.fetched.push(id.clone());
    let body = json!({
        "sessionId": id, "authToken": "x", "status": "Succeeded", "modelVersion": "2024-11-15",
        "results": {"attempts": [{"attemptId": 1, "attemptStatus": "Succeeded",
            "result": {"livenessDecision": stub.decision, "digest": "ABC", "sessionImageId": "img-1"}}]}
    });
    (StatusCode::OK, Json(body))
}

async fn stub_server(decision: &str) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Stub { decision: decision.into(), ..Default::default() }));
    let app = Router::new()
        .route("/face/v1.2/detectLiveness-sessions", post(create))
        .route("/face/v1.2/detectLiveness-sessions/{id}", get(result))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

fn settings(endpoint: &str, key: &str) -> AzureSettings {
    AzureSettings { endpoint: endpoint.into(), api_key: key.into(), api_version: "v1.2".into() }
}

async fn sdk(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    let (st, _, v) = read(resp).await;
    (st, v)
}

async fn liveness_check(app: &TestApp, session_id: &str) -> entity::check_result::Model {
    assert!(tessera::jobs::wait_for_session(&app.state.db, session_id, std::time::Duration::from_secs(20)).await.unwrap());
    let checks = tessera::service::checks::for_session(&app.state.db, &app.demo_client_id, session_id).await.unwrap();
    checks.into_iter().find(|c| c.check_name == "liveness").expect("a liveness check")
}

#[tokio::test]
async fn the_client_sdk_gets_the_azure_token_and_the_verdict_is_fetched_server_side() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (url, stub) = stub_server("realface").await;
        tessera::service::liveness::configure_provider(
            &app.state.db,
            app.state.storage.master_key(),
            &app.demo_client_id,
            LivenessProvider::Azure,
            Some(settings(&url, KEY)),
        )
        .await
        .unwrap();
        // The key is stored sealed, never in clear.
        let client = tessera::service::tenancy::find_client(&app.state.db, &app.demo_client_id).await.unwrap().unwrap();
        assert!(!client.settings.to_string().contains(KEY), "{}", client.settings);

        let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"liveness_mode": "passive_active"})).await;
        assert_eq!(st, 200, "{v}");
        let sid = v["session_id"].as_str().unwrap().to_string();
        let (st, v) = sdk(&app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = sdk(&app, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["token"], "azure-sdk-token-1", "the SDK gets Azure's token");
        {
            let stub = stub.lock().unwrap();
            assert_eq!(stub.created[0]["livenessOperationMode"], "PassiveActive");
            assert_eq!(stub.created[0]["deviceCorrelationId"], sid.as_str());
        }
        let (_, v) = sdk(&app, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(v["liveness_provider_e"], "azure");

        // The Azure SDK uploaded to Azure: process carries no frames.
        let (st, v) = sdk(&app, "/api/v1/sdk/idv/liveness/process", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0, "images": []})).await;
        assert_eq!(st, 200, "{v}");
        let check = liveness_check(&app, &sid).await;
        assert_eq!(check.status, "pass", "{check:?}");
        let evidence = check.evidence.clone().unwrap();
        assert_eq!(evidence["provider"], "azure");
        assert_eq!(evidence["liveness_decision"], "realface");
        assert_eq!(stub.lock().unwrap().fetched, ["b12e033e-bda7-4b83-a211-000000000001"]);
        let (_, v) = sdk(&app, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(v["liveness_detected"], true);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_spoof_decision_is_not_live() {
    let (url, _stub) = stub_server("spoofface").await;
    let engine = AzureLivenessEngine::new(settings(&url, KEY)).unwrap();
    let created = engine.create_session(LivenessMode::Passive, "device-1").await.unwrap();
    let verdict = engine.session_result(&created.session_id).await.unwrap();
    assert!(!verdict.is_live && verdict.score == 0.0, "{verdict:?}");
}

#[tokio::test]
async fn a_wrong_key_is_an_error_not_a_verdict() {
    let (url, _stub) = stub_server("realface").await;
    let engine = AzureLivenessEngine::new(settings(&url, "wrong")).unwrap();
    let err = engine.create_session(LivenessMode::Passive, "d").await.unwrap_err();
    assert!(!err.is_retryable() && err.to_string().contains("401"), "{err}");
    let err = engine.session_result("abc").await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    // Nothing listens: a transport failure is retried.
    let engine = AzureLivenessEngine::new(settings("http://127.0.0.1:9", KEY)).unwrap();
    assert!(engine.session_result("abc").await.unwrap_err().is_retryable());
}

/// `tessera client set-liveness` in a scratch directory (SQLite under ./data).
fn cli(dir: &std::path::Path, args: &[&str], azure_key: Option<&str>) -> (bool, String, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.current_dir(dir)
        .env_remove("TESSERA_DATABASE_URL")
        .env_remove("TESSERA_AZURE_FACE_KEY")
        .env("TESSERA_LOG", "warn")
        .env("TESSERA_MODELS_AUTO_FETCH", "false")
        .args(args)
        .stdin(std::process::Stdio::null());
    if let Some(k) = azure_key {
        c.env("TESSERA_AZURE_FACE_KEY", k);
    }
    let out = c.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn the_cli_sets_a_clients_liveness_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(dir.path(), &["client", "create", "--name", "Acme"], None);
    assert!(ok, "{err}");
    let client_id = out.lines().find_map(|l| l.trim().strip_prefix("id:")).unwrap().trim().to_string();

    // Azure without settings, an unknown client, a bad endpoint: refused, nothing stored.
    let (ok, _, err) = cli(dir.path(), &["client", "set-liveness", "--client", &client_id, "--provider", "azure"], None);
    assert!(!ok && err.contains("azure needs an endpoint and a key"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["client", "set-liveness", "--client", "nope", "--provider", "local"], None);
    assert!(!ok && err.contains("client not found"), "{err}");
    let (ok, _, err) = cli(
        dir.path(),
        &["client", "set-liveness", "--client", &client_id, "--provider", "azure", "--azure-endpoint", "ftp://x"],
        Some(KEY),
    );
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["client", "set-liveness", "--client", &client_id, "--provider", "other"], None);
    assert!(!ok && err.contains("local"), "{err}");

    let (ok, out, err) = cli(
        dir.path(),
        &["client", "set-liveness", "--client", &client_id, "--provider", "azure", "--azure-endpoint", "https://acme.cognitiveservices.azure.com"],
        Some(KEY),
    );
    assert!(ok, "{err}");
    assert!(out.contains("provider: azure") && out.contains("https://acme.cognitiveservices.azure.com"), "{out}");
    assert!(!out.contains(KEY), "the key is never printed: {out}");

    let read_back = || async {
        let mut config = tessera::config::Config::default();
        config.data_dir = dir.path().join("data");
        let state = tessera::build_state(config).await.unwrap();
        let client = tessera::service::tenancy::find_client(&state.db, &client_id).await.unwrap().unwrap();
        assert!(!client.settings.to_string().contains(KEY), "stored sealed: {}", client.settings);
        let found = tessera::service::liveness::client_provider(state.storage.master_key(), &client).unwrap();
        state.db.close().await.ok();
        found
    };
    let (provider, settings) = read_back().await;
    assert_eq!(provider, LivenessProvider::Azure);
    let settings = settings.unwrap();
    assert_eq!((settings.endpoint.as_str(), settings.api_key.as_str(), settings.api_version.as_str()), ("https://acme.cognitiveservices.azure.com", KEY, "v1.2"));

    // Back to local: the Azure settings stay stored for a later switch back without the key.
    let (ok, out, err) = cli(dir.path(), &["client", "set-liveness", "--client", &client_id, "--provider", "local"], None);
    assert!(ok && out.contains("provider: local"), "{out}{err}");
    assert_eq!(read_back().await.0, LivenessProvider::Local);
    let (ok, out, err) = cli(dir.path(), &["client", "set-liveness", "--client", &client_id, "--provider", "azure"], None);
    assert!(ok && out.contains("provider: azure"), "{out}{err}");
    assert_eq!(read_back().await.0, LivenessProvider::Azure);
}
