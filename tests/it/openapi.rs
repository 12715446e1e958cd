//! The OpenAPI document as an integrator's tools read it: every enum lists
//! the spellings on the wire, every response is described, every error is a
//! documented problem, every operation has an example request; an
//! independent validator (`openapi-spec-validator`) accepts the document and
//! a client generated from it (`openapi-python-client`) creates and reads a
//! session against a real server. The `/docs` page and the document speak
//! of the API, not of internal history.
//!
//! The two Python tools skip with a message when they are missing; `.ci/run`
//! installs them and sets `TESSERA_REQUIRE_CONTRACT_TOOLS=1`, which turns a
//! skip into a failure. The property-based run (schemathesis against the
//! release binary) is `.ci/contract`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::TestApp;
use serde_json::{Value, json};
use tessera::service::types;

async fn served_document(app: &TestApp) -> Value {
    let (status, _, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    doc
}

/// Declares, for each enum schema of the API, its Rust type and every
/// variant: the wire values are what serde writes for them, and each listed
/// value must read back into the type and write out unchanged.
macro_rules! api_enums {
    ($($name:ident: $ty:ty = $all:expr;)+) => {
        fn enum_types() -> BTreeSet<&'static str> {
            [$(stringify!($name)),+].into_iter().collect()
        }

        fn wire_values(name: &str) -> Vec<String> {
            match name {
                $(stringify!($name) => {
                    let all: &[$ty] = $all;
                    all.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_string()).collect()
                })+
                _ => vec![],
            }
        }

        fn round_trips(name: &str, value: &str) -> bool {
            match name {
                $(stringify!($name) => serde_json::from_value::<$ty>(json!(value))
                    .ok()
                    .and_then(|v| serde_json::to_value(v).ok())
                    == Some(json!(value)),)+
                _ => false,
            }
        }
    };
}

use tessera::engine::policy::Action;
use tessera::engine::scoring::Decision;
use tessera::service::capture;
use tessera::service::review;

api_enums!(
    DocumentType: types::DocumentType = types::DocumentType::ALL;
    SessionStatus: types::SessionStatus = types::SessionStatus::ALL;
    LivenessMode: types::LivenessMode = types::LivenessMode::ALL;
    LivenessProvider: types::LivenessProvider = types::LivenessProvider::ALL;
    AamvaRetry: types::AamvaRetry = types::AamvaRetry::ALL;
    Gender: types::Gender = types::Gender::ALL;
    OfacStatus: types::OfacStatus = types::OfacStatus::ALL;
    DmvStatus: types::DmvStatus = types::DmvStatus::ALL;
    DataSource: types::DataSource = types::DataSource::ALL;
    StorageFileType: types::StorageFileType = types::StorageFileType::ALL;
    CaptureType: types::CaptureType = types::CaptureType::ALL;
    CheckStatus: types::CheckStatus = types::CheckStatus::ALL;
    Action: Action = &[Action::Score, Action::KnockOut, Action::Review];
    Decision: Decision = &[Decision::Verified, Decision::Rejected, Decision::NeedsReview];
    ReviewPriority: review::Priority = &[review::Priority::Low, review::Priority::Normal, review::Priority::High];
    ReviewAction: review::ReviewAction = &[review::ReviewAction::Approve, review::ReviewAction::Reject];
    LinkState: capture::LinkState = &[
        capture::LinkState::Open,
        capture::LinkState::Expired,
        capture::LinkState::Revoked,
        capture::LinkState::Finished,
        capture::LinkState::Unknown,
    ];
    SideFeedback: capture::SideFeedback = &[
        capture::SideFeedback::Missing,
        capture::SideFeedback::Analysing,
        capture::SideFeedback::Read,
        capture::SideFeedback::Unreadable,
    ];
);

/// Every `enum` in the document with the JSON pointer where it sits.
fn all_enums(value: &Value, at: String, out: &mut Vec<(String, Vec<Value>)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                out.push((at.clone(), values.clone()));
            }
            for (k, v) in map {
                all_enums(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                all_enums(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_enum_lists_the_values_the_api_sends_and_reads() {
    let app = TestApp::spawn("sqlite").await;
    let doc = served_document(&app).await;
    let mut enums = Vec::new();
    all_enums(&doc, String::new(), &mut enums);
    assert!(!enums.is_empty());

    let mut failures = Vec::new();
    let mut named = BTreeSet::new();
    for (at, values) in &enums {
        let Some(name) = at.strip_prefix("/components/schemas/").filter(|n| !n.contains('/')) else {
            // An enum inside a property: its values must still be wire spellings.
            for v in values {
                let s = v.as_str().unwrap_or_default();
                if s.is_empty() || s != s.to_lowercase() {
                    failures.push(format!("{at}: `{v}` is not a wire spelling"));
                }
            }
            continue;
        };
        named.insert(name);
        if !enum_types().contains(name) {
            failures.push(format!("{at}: enum schema {name} is not checked by this test; add its type to api_enums!"));
            continue;
        }
        let listed: Vec<String> = values.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect();
        for value in &listed {
            if !round_trips(name, value) {
                failures.push(format!("{name}: `{value}` does not round-trip through serde"));
            }
        }
        assert_eq!(listed, wire_values(name), "{name} lists exactly the type's values, in order");
    }
    for t in enum_types() {
        if !named.contains(t) {
            failures.push(format!("{t} is not a schema of the document"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The spellings an integrator sees in the reference.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["SessionStatus"]["enum"].as_array().unwrap().contains(&json!("in_progress")));
    assert!(schemas["DocumentType"]["enum"].as_array().unwrap().contains(&json!("driver_license")));
    assert!(schemas["LivenessMode"]["enum"].as_array().unwrap().contains(&json!("passive_active")));
    app.cleanup().await;
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

#[tokio::test]
async fn every_response_is_described_and_every_error_is_a_problem() {
    let app = TestApp::spawn("sqlite").await;
    let doc = served_document(&app).await;
    let mut failures = Vec::new();
    let mut ids = BTreeMap::new();
    for (path, method, op) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        if let Some(id) = op["operationId"].as_str() {
            if let Some(other) = ids.insert(id.to_string(), name.clone()) {
                failures.push(format!("{name}: operationId {id} also used by {other}"));
            }
        }
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            if response["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
                failures.push(format!("{name} {status}: no description"));
            }
            let code: u16 = status.parse().unwrap();
            let content = &response["content"];
            if code >= 400 && content.get("application/problem+json").is_none() && !(path.starts_with("/health")) {
                failures.push(format!("{name} {status}: no application/problem+json body"));
            }
        }
        let authenticated = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
        if authenticated && !responses.contains_key("401") {
            failures.push(format!("{name}: authenticated but no 401"));
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                if !responses.contains_key(status) {
                    failures.push(format!("{name}: takes a body but documents no {status}"));
                }
            }
        }
    }
    // Limits the server enforces are in the document.
    let list = &doc["components"]["schemas"]["SessionListRequest"]["properties"];
    assert_eq!(list["take"]["maximum"], 500, "{list}");
    assert_eq!(list["skip"]["maximum"], i64::MAX, "{list}");
    // `/metrics` answers Prometheus text by default and JSON on request.
    let metrics = &doc["paths"]["/metrics"]["get"]["responses"];
    assert!(metrics["200"]["content"]["text/plain"].is_object(), "{metrics}");
    assert!(metrics["200"]["content"]["application/json"]["schema"].is_object(), "{metrics}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.cleanup().await;
}

/// Words of internal history that must not reach a user.
fn internal_wording(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    for (i, _) in lower.match_indices("seed") {
        let before = lower[..i].chars().last().unwrap_or(' ');
        let after = lower[i + 4..].chars().next().unwrap_or(' ');
        if !before.is_alphanumeric() && !after.is_alphanumeric() {
            let start = lower.floor_char_boundary(i.saturating_sub(40));
            let end = lower.ceil_char_boundary((i + 44).min(lower.len()));
            found.push(lower[start..end].to_string());
        }
    }
    found
}

#[tokio::test]
async fn docs_speak_to_users_and_every_operation_has_an_example_request() {
    let app = TestApp::spawn("sqlite").await;
    let doc = served_document(&app).await;
    let text = serde_json::to_string(&doc).unwrap();
    assert_eq!(internal_wording(&text), Vec::<String>::new(), "internal wording in the OpenAPI document");
    for page in ["/docs", "/docs/docs.js"] {
        let resp = app.http.get(app.url(page)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{page}");
        let body = resp.text().await.unwrap();
        assert_eq!(internal_wording(&body), Vec::<String>::new(), "internal wording in {page}");
    }
    let mut failures = Vec::new();
    for (path, method, op) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        let sample = op["x-codeSamples"][0]["source"].as_str().unwrap_or_default();
        if !sample.starts_with("curl") || !sample.contains(&path.split('{').next().unwrap().to_string()) {
            failures.push(format!("{name}: no curl example request: {sample:?}"));
        }
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for (ct, media) in content {
                if media.get("example").is_none() && media.get("examples").is_none() {
                    failures.push(format!("{name}: no example body for {ct}"));
                }
            }
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p.get("example").is_none() {
                failures.push(format!("{name}: parameter {} has no example", p["name"]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // An example body is a body the server reads: session create answers 200.
    let create = &doc["paths"]["/api/v1/idv/session/create"]["post"]["requestBody"]["content"]["application/json"]["example"];
    let (status, _, body) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), create).await;
    assert_eq!(status, 200, "the documented example of session create: {create} → {body}");
    app.cleanup().await;
}

/// Runs a Python tool; `None` (with the reason printed) when Python or the
/// module is missing and CI did not require it.
fn python_module(module: &str, install: &str) -> Option<()> {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(());
    }
    let why = format!("python3 with the `{module}` module is needed (pip install {install})");
    if std::env::var("TESSERA_REQUIRE_CONTRACT_TOOLS").is_ok_and(|v| v == "1") {
        panic!("{why}; TESSERA_REQUIRE_CONTRACT_TOOLS=1 makes it required");
    }
    eprintln!("SKIPPED: {why}. .ci/run installs it.");
    None
}

#[tokio::test]
async fn an_independent_validator_accepts_the_document() {
    if python_module("openapi_spec_validator", "openapi-spec-validator").is_none() {
        return;
    }
    let app = TestApp::spawn("sqlite").await;
    let doc = served_document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openapi-spec-validator rejects the document:\n{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
    app.cleanup().await;
}

const CLIENT_SCRIPT: &str = r#"
import sys
from tessera_client import AuthenticatedClient
from tessera_client.api.idv_sessions import idv_session_create, idv_session_read
from tessera_client.models.session_create import SessionCreate
from tessera_client.models.session_created import SessionCreated
from tessera_client.models.session_detail import SessionDetail
from tessera_client.models.session_id_request import SessionIdRequest
from tessera_client.models.session_status import SessionStatus

base, key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
created = idv_session_create.sync(
    client=client,
    body=SessionCreate.from_dict({"metadata": {"customer_ref": "A-1042"}, "liveness_mode": "passive_active"}),
)
assert isinstance(created, SessionCreated), created
detail = idv_session_read.sync(client=client, body=SessionIdRequest(session_id=created.session_id))
assert isinstance(detail, SessionDetail), detail
assert detail.status_e == SessionStatus.IN_PROGRESS, detail.status_e
print(created.session_id, detail.status_e.value)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_creates_and_reads_a_session() {
    if python_module("openapi_python_client", "openapi-python-client").is_none() {
        return;
    }
    let app = TestApp::spawn("sqlite").await;
    let doc = served_document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("openapi.json");
    std::fs::write(&spec, serde_json::to_vec(&doc).unwrap()).unwrap();
    let generated = Command::new("python3")
        .args(["-m", "openapi_python_client", "generate", "--meta", "none", "--output-path", "tessera_client", "--path"])
        .arg(&spec)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "openapi-python-client cannot generate a client:\n{}{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    // The server runs on this test's runtime: wait for Python off its thread.
    let mut client = Command::new("python3");
    client.args(["-c", CLIENT_SCRIPT, &app.base, &app.demo_key]).current_dir(dir.path()).env("PYTHONPATH", dir.path());
    let run = tokio::task::spawn_blocking(move || client.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(run.status.success(), "the generated client failed:\n{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let mut words = stdout.split_whitespace();
    let session_id = words.next().unwrap().to_string();
    assert_eq!(words.next(), Some("in_progress"));
    let (status, _, read) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": session_id})).await;
    assert_eq!(status, 200);
    assert_eq!(read["metadata"]["customer_ref"], "A-1042", "the client sent the body it was given: {read}");
    app.cleanup().await;
}

/// Found by the contract run: an offset beyond what a database counts
/// (2^63) answered 500 from the lists; it is a 400 naming `skip`.
#[tokio::test]
async fn list_offsets_beyond_the_database_range_are_a_validation_error() {
    for backend in common::backends().await {
        let app = TestApp::spawn(backend).await;
        for path in [
            "/api/v1/webhook/list",
            "/api/v1/webhook/delivery/list",
            "/api/v1/idv/session/list",
            "/api/v1/ida/session/list",
            "/api/v1/identity/list",
        ] {
            let body: Value = serde_json::from_str(r#"{"skip": 9223372036854775808}"#).unwrap();
            let (status, content_type, problem) = app.post_json(path, Some(&app.demo_key), &body).await;
            assert_eq!(status, 400, "{backend} {path}: {problem}");
            assert!(content_type.starts_with("application/problem+json"), "{path}: {content_type}");
            assert_eq!(problem["errors"][0]["field"], "skip", "{path}: {problem}");
            let (status, _, list) = app.post_json(path, Some(&app.demo_key), &json!({"skip": i64::MAX})).await;
            assert_eq!(status, 200, "{backend} {path}: the largest offset is read: {list}");
        }
        app.cleanup().await;
    }
}
