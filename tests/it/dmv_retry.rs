//! `aamva_retry_e = retry`: a DMV that cannot answer at finalize makes the
//! session `temporarily_complete`; the durable `dmv_retry` job asks again
//! with backoff and completes the session (history, webhook events) once
//! the DMV answers — or records the check `unavailable` when it never does.
//! The DMV is the real AAMVA DLDV adapter against a local stub server.


use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use chrono::Utc;
use crate::common::{TestApp, backends, read};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

const DLDV_MATCH: &str = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<a:VerifyDriverLicenseDataResponse xmlns:a="http://aamva.org/dldv/wsdl/2.1"><a:TransactionLocatorID>loc-7</a:TransactionLocatorID>
<a:DriverLicenseNumberMatchIndicator>true</a:DriverLicenseNumberMatchIndicator>
<a:PersonLastNameExactMatchIndicator>true</a:PersonLastNameExactMatchIndicator>
<a:PersonFirstNameExactMatchIndicator>true</a:PersonFirstNameExactMatchIndicator>
<a:PersonBirthDateMatchIndicator>true</a:PersonBirthDateMatchIndicator>
</a:VerifyDriverLicenseDataResponse></s:Body></s:Envelope>"#;

/// A DLDV stub: answers 503 while `failures` is positive (counting it
/// down), then the match answer. `calls` counts every request.
struct Stub {
    endpoint: String,
    failures: Arc<AtomicI32>,
    calls: Arc<AtomicUsize>,
}

async fn dldv_stub() -> Stub {
    let failures = Arc::new(AtomicI32::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (f, c) = (failures.clone(), calls.clone());
    let app = Router::new().route(
        "/dldv",
        post(move |body: String| {
            let (f, c) = (f.clone(), c.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                assert!(body.contains("<DriverLicenseNumber>D7654321</DriverLicenseNumber>"), "{body}");
                if f.fetch_sub(1, Ordering::SeqCst) > 0 {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                }
                f.store(0, Ordering::SeqCst);
                (axum::http::StatusCode::OK, DLDV_MATCH.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/dldv", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Stub { endpoint, failures, calls }
}

async fn sdk(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    let (st, _, v) = read(resp).await;
    (st, v)
}

/// A consented driver-licence session whose document the document engine
/// has read (the row it writes, inserted as a fixture).
async fn session_with_document(app: &TestApp, retry: &str) -> String {
    let (st, _, v) = app
        .post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({"settings": {"aamva_retry_e": retry}}))
        .await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    assert_eq!(sdk(app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.0, 200);
    let (st, v) = sdk(app, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
    assert_eq!(st, 200, "{v}");
    entity::document::ActiveModel {
        id: Set(tessera::ids::new_id()),
        client_id: Set(app.demo_client_id.clone()),
        session_id: Set(sid.clone()),
        is_current: Set(true),
        r#type: Set("driver_license".into()),
        data_source: Set("barcode".into()),
        document_number: Set(Some("D7654321".into())),
        issuing_state: Set(Some("VA".into())),
        first_name: Set(Some("Jane".into())),
        last_name: Set(Some("Roe".into())),
        birth_date: Set(Some("1985-06-07".into())),
        gender: Set("female".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    sid
}

async fn read_session(app: &TestApp, sid: &str) -> Value {
    let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{s}");
    s
}

async fn wait_for_status(app: &TestApp, sid: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = read_session(app, sid).await;
        if s["status_e"] == status {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "session never became {status}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn events(s: &Value) -> Vec<(String, String)> {
    s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["event"].as_str().unwrap().to_string(), h["endpoint"].as_str().unwrap().to_string()))
        .collect()
}

async fn dmv_check(app: &TestApp, sid: &str) -> entity::check_result::Model {
    entity::check_result::Entity::find()
        .filter(entity::check_result::Column::SessionId.eq(sid))
        .filter(entity::check_result::Column::CheckName.eq("dmv"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("dmv check recorded")
}

async fn retry_jobs(app: &TestApp, sid: &str) -> Vec<entity::job::Model> {
    entity::job::Entity::find()
        .filter(entity::job::Column::SessionId.eq(sid))
        .filter(entity::job::Column::Kind.eq("dmv_retry"))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn outbox_types(app: &TestApp, sid: &str) -> Vec<String> {
    entity::webhook_delivery::Entity::find()
        .filter(entity::webhook_delivery::Column::SessionId.eq(sid))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.event_type)
        .collect()
}

async fn spawn(backend: &'static str, stub: &Stub, attempts: u32) -> TestApp {
    let endpoint = stub.endpoint.clone();
    let app = TestApp::spawn_with(backend, |c| {
        c.dmv_provider = Some("aamva".into());
        c.aamva_endpoint = Some(endpoint);
        c.aamva_timeout_secs = 5;
        c.dmv_retry_base_ms = 40;
        c.dmv_retry_attempts = attempts;
        c.job_poll_ms = 20;
    })
    .await;
    // A registered endpoint, so the session's events land in the outbox
    // (no delivery worker runs in tests).
    tessera::service::webhooks::create(
        &app.state.db,
        app.state.storage.master_key(),
        &app.demo_client_id,
        tessera::service::webhooks::WebhookName::parse("ops").unwrap(),
        tessera::service::webhooks::WebhookUrl::parse("http://127.0.0.1:9/h", tessera::service::webhooks::UrlPolicy::WithLoopback)
            .unwrap(),
    )
    .await
    .unwrap();
    app
}

#[tokio::test]
async fn an_unavailable_dmv_is_asked_again_and_the_session_completes() {
    for backend in backends().await {
        let stub = dldv_stub().await;
        let app = spawn(backend, &stub, 5).await;
        let sid = session_with_document(&app, "retry").await;

        // Finalize while the DMV answers 503: once at finalize, once more in the job.
        stub.failures.store(2, Ordering::SeqCst);
        let (st, f) = sdk(&app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{backend}: {f}");
        assert_eq!(f, json!({"verified": false, "on_sanction_list": false}), "{backend}");
        let s = read_session(&app, &sid).await;
        if s["status_e"] == "temporarily_complete" {
            // The retry job may already have settled it; when it has not, the interim state is visible.
            assert!(s["verified"].is_null(), "{backend}: no verdict while the DMV is pending: {s}");
            assert_eq!(s["dmv_status_e"], "pending", "{backend}");
            assert!(s["completed_at"].is_null(), "{backend}");
        }
        let history = events(&s);
        assert!(history.iter().any(|(e, _)| e == "temporarily_completed"), "{backend}: {history:?}");

        let s = wait_for_status(&app, &sid, "complete").await;
        assert_eq!(s["dmv_status_e"], "match", "{backend}: {s}");
        assert!(s["dmv_detected_at"].is_string() && s["completed_at"].is_string());
        assert_eq!(s["verified"], false, "{backend}: face match and liveness did not run");
        let reasons = s["reasons"].as_array().unwrap();
        assert!(!reasons.iter().any(|r| r["check"] == "dmv"), "{backend}: the DMV answered: {reasons:?}");
        let history = events(&s);
        let finalized: Vec<_> = history.iter().filter(|(e, _)| e == "finalized").collect();
        assert_eq!(finalized.len(), 1, "{backend}: {history:?}");
        assert_eq!(finalized[0].1, "system");
        let pos = |name: &str| history.iter().position(|(e, _)| e == name).unwrap();
        assert!(pos("temporarily_completed") < pos("finalized"));

        let check = dmv_check(&app, &sid).await;
        assert_eq!((check.status.as_str(), check.score), ("pass", Some(1.0)), "{backend}: {check:?}");
        assert!(check.detail.unwrap_or_default().contains("loc-7"));
        assert_eq!(stub.calls.load(Ordering::SeqCst), 3, "{backend}: finalize, one failed retry, one answer");
        let jobs = retry_jobs(&app, &sid).await;
        assert_eq!(jobs.len(), 1, "{backend}");
        assert_eq!((jobs[0].status.as_str(), jobs[0].attempts), ("done", 2), "{backend}: {:?}", jobs[0]);
        assert!(jobs[0].last_error.as_deref().unwrap_or("").contains("503"), "{backend}: {:?}", jobs[0].last_error);

        let types = outbox_types(&app, &sid).await;
        assert_eq!(types.iter().filter(|t| *t == "session.completed").count(), 1, "{backend}: {types:?}");
        let interim = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::SessionId.eq(&sid))
            .filter(entity::webhook_delivery::Column::EventType.eq("session.updated"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert!(
            interim.iter().any(|d| d.payload.contains("temporarily_completed") && d.payload.contains("temporarily_complete")),
            "{backend}: the interim state is announced"
        );

        // Finalize again: the stored verdict, nothing asked.
        let (st, again) = sdk(&app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_eq!((st, again), (200, f), "{backend}");
        assert_eq!(stub.calls.load(Ordering::SeqCst), 3);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn skip_records_unavailable_and_completes_at_once() {
    for backend in backends().await {
        let stub = dldv_stub().await;
        let app = spawn(backend, &stub, 5).await;
        let sid = session_with_document(&app, "skip").await;
        stub.failures.store(1, Ordering::SeqCst);
        let (st, f) = sdk(&app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{backend}: {f}");
        let s = read_session(&app, &sid).await;
        assert_eq!((s["status_e"].as_str(), s["dmv_status_e"].as_str()), (Some("complete"), Some("unavailable")), "{backend}");
        let check = dmv_check(&app, &sid).await;
        assert_eq!(check.status, "unavailable");
        assert!(check.detail.unwrap_or_default().contains("503"), "{backend}");
        assert!(retry_jobs(&app, &sid).await.is_empty(), "{backend}: skip queues no retry");
        assert!(!events(&s).iter().any(|(e, _)| e == "temporarily_completed"));
        assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_dmv_that_never_answers_is_given_up_and_the_session_completed() {
    for backend in backends().await {
        let stub = dldv_stub().await;
        let app = spawn(backend, &stub, 2).await;
        let sid = session_with_document(&app, "retry").await;
        stub.failures.store(1000, Ordering::SeqCst);
        let (st, f) = sdk(&app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{backend}: {f}");
        let s = wait_for_status(&app, &sid, "complete").await;
        assert_eq!(s["dmv_status_e"], "unavailable", "{backend}: {s}");
        let check = dmv_check(&app, &sid).await;
        assert_eq!(check.status, "unavailable");
        assert!(check.detail.unwrap_or_default().contains("after 2 more attempts"), "{backend}");
        assert!(s["reasons"].as_array().unwrap().iter().any(|r| r["check"] == "dmv" && r["code"] == "unavailable"));
        let jobs = retry_jobs(&app, &sid).await;
        assert_eq!((jobs[0].status.as_str(), jobs[0].attempts), ("failed", 2), "{backend}");
        assert_eq!(stub.calls.load(Ordering::SeqCst), 3, "{backend}: finalize + 2 retries");
        let types = outbox_types(&app, &sid).await;
        assert_eq!(types.iter().filter(|t| *t == "session.completed").count(), 1, "{backend}: {types:?}");
        app.cleanup().await;
    }
}
