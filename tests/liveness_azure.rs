//! The Azure Face liveness provider end to end against a local stub of the
//! Azure API: a client configured for Azure gets the Azure session's token
//! from liveness/generate, the SDK's process call needs no frames, and the
//! analysis job fetches the verdict server-side.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{TestApp, backends, read};
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
