//! Sanctions lists (import, versions, refresh from a loopback server, a
//! failed refresh keeping the list and degrading /health, re-screening of
//! verified identities, the CLI) and the AAMVA DLDV adapter against a stub.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::routing::{get, post};
use chrono::Utc;
use crate::common::{TestApp, backends};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use tessera::engine::dmv::aamva::{AamvaClient, AamvaSettings};
use tessera::engine::{DmvProvider, DmvRequest, DmvVerdict, EngineError, ScreeningSubject};
use tessera::service::sanctions;

const SDN: &str = "10,\"PUTIN, Vladimir Vladimirovich\",\"individual\",\"RUSSIA-EO14024\",\"President\",-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 07 Oct 1952; POB Leningrad, Russia.\"\r\n\
20,\"EMMA LLC\",-0-,\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\r\n\
30,\"KARIMOV, Rustam\",\"individual\",\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 1975.\"\r\n\u{1a}";
const ALT: &str = "10,101,\"aka\",\"POUTINE, Wladimir\",-0-\r\n";
const ADD: &str = "10,201,\"Kremlin\",\"Moscow\",\"Russia\",-0-\r\n";
const CONS_PRIM: &str = "500,\"OSTROVSKY, Ilya\",\"individual\",\"SSI\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";

fn write_list(dir: &std::path::Path, with_cons: bool) {
    std::fs::write(dir.join("SDN.CSV"), SDN).unwrap();
    std::fs::write(dir.join("alt.csv"), ALT).unwrap();
    std::fs::write(dir.join("ADD.CSV"), ADD).unwrap();
    if with_cons {
        std::fs::write(dir.join("CONS_PRIM.CSV"), CONS_PRIM).unwrap();
    }
}

fn subject(first: &str, last: &str) -> ScreeningSubject {
    ScreeningSubject { first_name: Some(first.into()), last_name: Some(last.into()), ..Default::default() }
}

#[tokio::test]
async fn import_keeps_versions_and_loads_the_current_one() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let dir = tempfile::tempdir().unwrap();
        write_list(dir.path(), false);
        let files = sanctions::read_dir(dir.path()).unwrap();
        let mut calls = 0;
        let first = sanctions::import(&app.state.db, &files, |done, total| {
            calls += 1;
            assert!(done <= total);
        })
        .await
        .unwrap();
        assert!(first.new_version && first.entries == 3 && calls >= 1, "{backend}");
        let again = sanctions::import(&app.state.db, &files, |_, _| {}).await.unwrap();
        assert!(!again.new_version, "{backend}: the same files are the same version");
        assert_eq!(again.list.version, first.list.version);

        write_list(dir.path(), true);
        let second = sanctions::import(&app.state.db, &sanctions::read_dir(dir.path()).unwrap(), |_, _| {}).await.unwrap();
        assert!(second.new_version && second.entries == 4, "{backend}");
        let lists = entity::sanctions_list::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(lists.len(), 2, "{backend}: versions are kept");
        assert_eq!(lists.iter().filter(|l| l.is_current).map(|l| &l.version).collect::<Vec<_>>(), [&second.list.version]);

        let index = sanctions::load_current(&app.state.db).await.unwrap().expect("current list");
        assert_eq!(index.version(), second.list.version);
        let hits = index.screen(&subject("Wladimir", "Poutine"));
        assert_eq!((hits[0].entry_id.as_str(), hits[0].list.as_str()), ("10", "OFAC SDN"), "{backend}");
        assert_eq!(index.screen(&subject("Ilya", "Ostrovski"))[0].list, "OFAC Consolidated");
        assert!(index.screen(&subject("Emma", "Watson")).iter().all(|h| h.score < 0.92), "{backend}");
        app.cleanup().await;
    }
}

/// Serves the list files; answers 500 once `fail` is set.
async fn list_server(fail: Arc<AtomicU16>, with_cons: bool) -> String {
    let app = Router::new().route(
        "/lists/{name}",
        get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let fail = fail.clone();
            async move {
                if fail.load(Ordering::SeqCst) != 0 {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::new());
                }
                let body = match name.as_str() {
                    "SDN.CSV" => SDN,
                    "ALT.CSV" => ALT,
                    "ADD.CSV" => ADD,
                    "CONS_PRIM.CSV" if with_cons => CONS_PRIM,
                    _ => return (axum::http::StatusCode::NOT_FOUND, String::new()),
                };
                (axum::http::StatusCode::OK, body.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/lists", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A registered endpoint of the demo client (deliveries are queued, not sent); its id.
pub(crate) async fn ops_webhook(app: &TestApp) -> String {
    use tessera::service::webhooks::{self, UrlPolicy, WebhookName, WebhookUrl};
    let url = WebhookUrl::parse("http://127.0.0.1:9/h", UrlPolicy::WithLoopback).unwrap();
    let hook = webhooks::create(&app.state.db, app.state.storage.master_key(), &app.demo_client_id, WebhookName::parse("ops").unwrap(), url)
        .await
        .unwrap();
    hook.model.id
}

pub(crate) async fn verified_identity(app: &TestApp, first: &str, last: &str, birth: Option<&str>) -> String {
    let now = Utc::now();
    let id = format!("idn_{}", uuid::Uuid::new_v4().simple());
    entity::identity::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        user_id: Set(None),
        external_id: Set(None),
        first_name: Set(Some(first.into())),
        middle_name: Set(None),
        last_name: Set(Some(last.into())),
        suffix_name: Set(None),
        birth_date: Set(birth.map(str::to_string)),
        gender: Set("unknown".into()),
        street: Set(None),
        city: Set(None),
        state: Set(None),
        postal_code: Set(None),
        email: Set(None),
        phone: Set(None),
        document_front_given: Set(true),
        document_front_given_at: Set(Some(now)),
        liveness_detected: Set(true),
        liveness_detected_at: Set(Some(now)),
        ofac_status: Set("clear".into()),
        ofac_detected_at: Set(Some(now)),
        dmv_status: Set("unknown".into()),
        dmv_detected_at: Set(None),
        verified: Set(true),
        verified_at: Set(Some(now)),
        last_verified: Set(Some(now)),
        score: Set(Some(0.95)),
        metadata: Set(json!({})),
        latest_idv_session_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn refresh_rescreens_and_a_failed_refresh_keeps_the_list_and_degrades_health() {
    for backend in backends().await {
        let fail = Arc::new(AtomicU16::new(0));
        let base = list_server(fail.clone(), false).await;
        let urls = ["SDN.CSV", "ALT.CSV", "ADD.CSV"].map(|f| format!("{base}/{f}")).join(",");
        let app = TestApp::spawn_with(backend, |c| {
            c.sanctions_urls = urls.clone();
            c.sanctions_refresh_hours = 0; // refreshed by hand below
        })
        .await;
        let poutine = verified_identity(&app, "Wladimir", "Poutine", Some("1952-10-07")).await;
        let namesake = verified_identity(&app, "Vladimir", "Putin", Some("1990-05-05")).await;
        let clean = verified_identity(&app, "Jane", "Doe", None).await;
        let webhook = ops_webhook(&app).await;

        let report = sanctions::refresh_once(&app.state).await.unwrap();
        assert!(report.new_version, "{backend}");
        assert_eq!((report.rescreened, report.new_hits), (3, 1), "{backend}: {report:?}");
        let status = |id: String| {
            let db = app.state.db.clone();
            async move { entity::identity::Entity::find_by_id(id).one(&db).await.unwrap().unwrap() }
        };
        let hit = status(poutine.clone()).await;
        assert_eq!(hit.ofac_status, "hit", "{backend}");
        assert!(hit.ofac_detected_at.is_some());
        assert!(!hit.verified, "{backend}: a listed person is no longer a verified identity");
        let sdk_status = |id: String| {
            let (http, url, client) = (app.http.clone(), app.url("/api/v1/sdk/identity/status"), app.demo_client_id.clone());
            async move {
                let resp = http.post(url).header("X-Client-Id", client).json(&serde_json::json!({"identity_id": id})).send().await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.json::<serde_json::Value>().await.unwrap()["verified"].clone()
            }
        };
        assert_eq!(sdk_status(poutine.clone()).await, serde_json::json!(false), "{backend}");
        assert_eq!(sdk_status(clean.clone()).await, serde_json::json!(true), "{backend}");
        assert_eq!(status(namesake).await.ofac_status, "clear", "{backend}: another birth date is no hit");
        assert_eq!(status(clean).await.ofac_status, "clear");
        let events = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("identity.sanctions_hit"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{backend}");
        assert_eq!(events[0].target_id.as_deref(), Some(poutine.as_str()));
        assert_eq!(events[0].detail.as_ref().unwrap()["entry_id"], "10");
        let queued = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::EventType.eq("identity.sanctions_hit"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "{backend}: one webhook event for the one new hit");
        assert_eq!(queued[0].webhook_id.as_deref(), Some(webhook.as_str()));
        assert!(queued[0].payload.contains(poutine.as_str()) && !queued[0].payload.contains("Poutine"), "ids only, no PII");

        // The same files again: no new version, nobody re-screened.
        let again = sanctions::refresh_once(&app.state).await.unwrap();
        assert!(!again.new_version && again.rescreened == 0, "{backend}");
        let (_, _, health) = app.get("/health").await;
        assert_eq!(health["status"], "ok", "{backend}: {health}");

        fail.store(1, Ordering::SeqCst);
        let err = sanctions::refresh_once(&app.state).await.unwrap_err();
        assert!(err.to_string().contains("SDN.CSV"), "{backend}: {err}");
        assert_eq!(app.state.sanctions.loaded_version().as_deref(), Some(report.version.as_str()), "the last list stays");
        let (code, _, health) = app.get("/health").await;
        assert_eq!(code, 200);
        assert_eq!(health["status"], "degraded", "{backend}: {health}");
        assert_eq!(health["checks"]["external_services"]["sanctions_lists"], "degraded");
        assert!(health["error"].as_str().unwrap_or("").contains("sanctions list refresh failed"), "{health}");
        // Screening still answers from the loaded version.
        let screener = app.state.sanctions.screener.clone();
        let r = tessera::engine::SanctionsScreener::screen(&*screener, subject("Vladimir", "Putin")).await.unwrap();
        assert_eq!(r.lists_version.as_deref(), Some(report.version.as_str()));
        assert_eq!(r.hits[0].entry_id, "10");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_screener_is_installed_once_a_list_exists() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| c.sanctions_watch_secs = 0).await;
        assert!(app.state.engines.sanctions.is_none(), "{backend}: no list, no refresh, no watch: not installed");
        let dir = tempfile::tempdir().unwrap();
        write_list(dir.path(), false);
        sanctions::import(&app.state.db, &sanctions::read_dir(dir.path()).unwrap(), |_, _| {}).await.unwrap();
        let mut state = app.state.clone();
        sanctions::install(&mut state).await.unwrap();
        let screener = state.engines.sanctions.clone().expect("installed");
        let r = screener.screen(subject("Rustam", "Karimov")).await.unwrap();
        assert_eq!(r.hits[0].entry_id, "30", "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn cli_imports_a_directory_with_a_progress_line() {
    let data = tempfile::tempdir().unwrap();
    let lists = tempfile::tempdir().unwrap();
    write_list(lists.path(), true);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["sanctions", "import"])
        .arg(lists.path())
        .env("TESSERA_DATA_DIR", data.path())
        .env_remove("TESSERA_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("entries: 4") && stdout.contains("version: ofac-"), "{stdout}");
    assert!(stderr.contains("importing [") && stderr.contains("4/4"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["sanctions", "import"])
        .arg(empty.path())
        .env("TESSERA_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SDN.CSV"));
}

const DLDV_ANSWER: &str = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<a:VerifyDriverLicenseDataResponse xmlns:a="http://aamva.org/dldv/wsdl/2.1"><a:TransactionLocatorID>loc-42</a:TransactionLocatorID>
<a:DriverLicenseNumberMatchIndicator>true</a:DriverLicenseNumberMatchIndicator>
<a:PersonLastNameExactMatchIndicator>true</a:PersonLastNameExactMatchIndicator>
<a:PersonFirstNameExactMatchIndicator>true</a:PersonFirstNameExactMatchIndicator>
<a:PersonBirthDateMatchIndicator>false</a:PersonBirthDateMatchIndicator>
</a:VerifyDriverLicenseDataResponse></s:Body></s:Envelope>"#;

#[tokio::test]
async fn aamva_adapter_against_a_local_stub() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let status = Arc::new(AtomicU16::new(200));
    let (seen2, status2) = (seen.clone(), status.clone());
    let stub = Router::new().route(
        "/dldv",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let (seen, status) = (seen2.clone(), status2.clone());
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.lock().unwrap().push(format!("{auth}\n{body}"));
                let code = axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
                (code, DLDV_ANSWER)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/dldv", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, stub).await.unwrap() });

    let client = AamvaClient::new(AamvaSettings {
        endpoint,
        username: Some("tessera".into()),
        password: Some("s3cret".into()),
        token: None,
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap();
    let request = DmvRequest {
        document_number: Some("D1234567".into()),
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        birth_date: chrono::NaiveDate::from_ymd_opt(1990, 4, 5),
        ..Default::default()
    };
    let r = client.verify(request.clone()).await.unwrap();
    assert_eq!(r.verdict, DmvVerdict::NoMatch);
    assert_eq!(r.fields["document_number_match"], Some(true));
    assert_eq!(r.fields["birth_date_match"], Some(false));
    assert_eq!(r.fields["street_match"], None);
    assert!(r.detail.contains("loc-42"));
    let sent = seen.lock().unwrap()[0].clone();
    assert!(sent.starts_with("Basic "), "{sent}");
    assert!(sent.contains("<DriverLicenseNumber>D1234567</DriverLicenseNumber>") && sent.contains("<PersonBirthDate>1990-04-05</PersonBirthDate>"));

    status.store(503, Ordering::SeqCst);
    assert!(matches!(client.verify(request.clone()).await, Err(EngineError::Transient(_))));
    status.store(401, Ordering::SeqCst);
    assert!(matches!(client.verify(request).await, Err(EngineError::Unavailable(_))));
}

#[tokio::test]
async fn dmv_provider_follows_the_config() {
    use tessera::config::Config;
    use tessera::service::dmv::provider_from_config;
    let mut c = Config::default();
    assert_eq!(provider_from_config(&c).unwrap().unwrap().version(), "aamva-sandbox 1");
    c.environment = "production".into();
    assert!(provider_from_config(&c).unwrap().is_none(), "no sandbox answers in production");
    c.dmv_provider = Some("aamva".into());
    assert!(provider_from_config(&c).is_err(), "aamva needs an endpoint");
    c.aamva_endpoint = Some("https://dldv.example/verify".into());
    assert_eq!(provider_from_config(&c).unwrap().unwrap().version(), "aamva-dldv 2.1");
}

// ------------------------------------------------------------------ finalize end to end

/// A driver's licence as the document engine reads it (the row it writes,
/// inserted as a fixture): AAMVA's structured-test record
/// `DLDVSTRUCTUREDTEST12` unless changed.
pub(crate) struct Licence {
    pub(crate) number: &'static str,
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
    pub(crate) birth: &'static str,
}

const STEVEN_BROWN: Licence = Licence { number: "DLDVSTRUCTUREDTEST12", first: "STEVEN", last: "BROWN", birth: "1980-01-01" };

pub(crate) async fn sdk_post(app: &TestApp, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    let (st, _, v) = common::read(resp).await;
    (st, v)
}

/// Creates a consented session, stores the read licence and finalizes it
/// through the SDK endpoint; returns (session id, finalize answer).
pub(crate) async fn finalize_with(app: &TestApp, l: &Licence) -> (String, serde_json::Value) {
    let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    assert_eq!(sdk_post(app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.0, 200);
    let (st, v) = sdk_post(app, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
    assert_eq!(st, 200, "{v}");
    entity::document::ActiveModel {
        id: Set(tessera::ids::new_id()),
        client_id: Set(app.demo_client_id.clone()),
        session_id: Set(sid.clone()),
        is_current: Set(true),
        r#type: Set("driver_license".into()),
        data_source: Set("barcode".into()),
        document_number: Set(Some(l.number.into())),
        issuing_state: Set(Some("VA".into())),
        issuing_country: Set(Some("USA".into())),
        first_name: Set(Some(l.first.into())),
        middle_name: Set(Some("DANIEL".into())),
        last_name: Set(Some(l.last.into())),
        name_suffix: Set(Some("JR".into())),
        birth_date: Set(Some(l.birth.into())),
        gender: Set("male".into()),
        eye_color: Set(Some("BRO".into())),
        height: Set(Some("510".into())),
        weight: Set(Some("200".into())),
        street: Set(Some("4301 WILSON BLVD".into())),
        city: Set(Some("ARLINGTON".into())),
        state: Set(Some("VA".into())),
        postal_code: Set(Some("22203".into())),
        issued_at: Set(Some("2011-10-10".into())),
        expires_at: Set(Some("2023-10-10".into())),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let (st, f) = sdk_post(app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{f}");
    (sid, f)
}

pub(crate) async fn read_session(app: &TestApp, sid: &str) -> serde_json::Value {
    let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{s}");
    s
}

pub(crate) async fn check_row(app: &TestApp, sid: &str, name: &str) -> entity::check_result::Model {
    entity::check_result::Entity::find()
        .filter(entity::check_result::Column::SessionId.eq(sid))
        .filter(entity::check_result::Column::CheckName.eq(name))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name} recorded"))
}

/// A server whose screener holds the loopback list and whose DMV is the
/// built-in structured-test sandbox, with weights that make the arithmetic visible.
pub(crate) async fn screening_app(backend: &'static str) -> TestApp {
    let base = list_server(Arc::new(AtomicU16::new(0)), false).await;
    let urls = ["SDN.CSV", "ALT.CSV", "ADD.CSV"].map(|f| format!("{base}/{f}")).join(",");
    let app = TestApp::spawn_with(backend, |c| {
        c.sanctions_urls = urls.clone();
        // Scheduled (so the screener is installed at start), but far off: loaded by hand below.
        c.sanctions_refresh_hours = 24;
        c.sanctions_refresh_delay_secs = 3600;
        c.dmv_provider = Some("sandbox".into());
    })
    .await;
    assert!(app.state.engines.sanctions.is_some() && app.state.engines.dmv.is_some(), "{backend}");
    sanctions::refresh_once(&app.state).await.unwrap();
    let mut weights = serde_json::to_value(tessera::service::weights::WeightValues::default()).unwrap();
    weights["ofac_fuzzy_match_weight"] = json!(OFAC_WEIGHT);
    weights["aamva_match_weight"] = json!(DMV_WEIGHT);
    weights["aamva_match_tolerance"] = json!(1.0);
    // The document-date checks stay out of the score (AAMVA's test records
    // expired years ago), so the score is the screening and the DMV alone.
    weights["policy"] = json!({"document_validity_weight": 0});
    let (st, _, w) = app.post_json("/api/v1/idv/weights/update", Some(&app.demo_key), &weights).await;
    assert_eq!(st, 200, "{w}");
    app
}

const OFAC_WEIGHT: f64 = 1.0;
const DMV_WEIGHT: f64 = 3.0;

#[tokio::test]
async fn finalize_screens_a_sanctioned_name_through_the_real_screener() {
    for backend in backends().await {
        let app = screening_app(backend).await;
        let webhook = ops_webhook(&app).await;
        // The list's a.k.a. spelling, with the listed birth date.
        let poutine = Licence { number: "D1111111", first: "Wladimir", last: "Poutine", birth: "1952-10-07" };
        let (sid, f) = finalize_with(&app, &poutine).await;
        assert_eq!(f, json!({"verified": false, "on_sanction_list": true}), "{backend}");
        let s = read_session(&app, &sid).await;
        assert_eq!((s["status_e"].as_str(), s["ofac_status_e"].as_str()), (Some("complete"), Some("hit")), "{backend}: {s}");
        assert_eq!(s["verified"], false);
        assert!(s["identity_id"].is_null(), "{backend}: no identity for a sanctioned applicant");
        let reasons = s["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|r| r["check"] == "ofac" && r["code"] == "sanctions_hit"), "{backend}: {reasons:?}");
        let ofac = check_row(&app, &sid, "ofac").await;
        assert_eq!(ofac.status, "fail", "{backend}");
        let evidence = ofac.evidence.unwrap();
        assert_eq!(evidence["best"]["entry_id"], "10", "{backend}: {evidence}");
        assert_eq!(evidence["lists_version"].as_str(), app.state.sanctions.loaded_version().as_deref());
        let events: Vec<String> = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::SessionId.eq(&sid))
            .filter(entity::webhook_delivery::Column::WebhookId.eq(&webhook))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.event_type)
            .collect();
        assert!(events.contains(&"identity.sanctions_hit".to_string()) && events.contains(&"session.completed".to_string()), "{events:?}");

        // The same birth year gap rule as re-screening: a namesake born decades later is clear.
        let namesake = Licence { number: "D2222222", first: "Vladimir", last: "Putin", birth: "1990-05-05" };
        let (sid, f) = finalize_with(&app, &namesake).await;
        assert_eq!(f["on_sanction_list"], false, "{backend}");
        assert_eq!(check_row(&app, &sid, "ofac").await.status, "pass");
        assert_eq!(read_session(&app, &sid).await["ofac_status_e"], "clear");
        // A near miss is not a hit, and the check's evidence still lists it
        // for the analyst (below the threshold).
        let near = Licence { number: "D3333333", first: "Vladimir", last: "Petrin", birth: "1952-10-07" };
        let (sid, f) = finalize_with(&app, &near).await;
        assert_eq!(f["on_sanction_list"], false, "{backend}");
        let row = check_row(&app, &sid, "ofac").await;
        assert_eq!(row.status, "pass", "{backend}");
        let evidence = row.evidence.unwrap();
        let first = &evidence["matches"][0];
        assert_eq!(first["entry_id"], "10", "{backend}: {evidence}");
        assert!(first["score"].as_f64().unwrap() < evidence["threshold"].as_f64().unwrap(), "{backend}: {evidence}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_dmv_mismatch_lowers_the_score_by_its_weight() {
    for backend in backends().await {
        let app = screening_app(backend).await;
        let (matching, _) = finalize_with(&app, &STEVEN_BROWN).await;
        let other = Licence { first: "STEPHEN", birth: "1981-01-01", ..STEVEN_BROWN };
        let (mismatching, _) = finalize_with(&app, &other).await;

        let good = check_row(&app, &matching, "dmv").await;
        assert_eq!((good.status.as_str(), good.score), ("pass", Some(1.0)), "{backend}: {good:?}");
        let bad = check_row(&app, &mismatching, "dmv").await;
        assert_eq!(bad.status, "fail", "{backend}: {bad:?}");
        let evidence = bad.evidence.clone().unwrap();
        assert_eq!((evidence["first_name_match"].as_bool(), evidence["birth_date_match"].as_bool()), (Some(false), Some(false)), "{evidence}");
        let answered = evidence.as_object().unwrap().values().filter(|v| v.is_boolean()).count() as f64;
        let share = (answered - 2.0) / answered;
        assert!((bad.score.unwrap() - share).abs() < 1e-9, "{backend}: {bad:?}");

        // Only the sanctions screening (pass, 1.0) and the DMV check ran: the
        // score is their weighted mean, so the mismatch costs exactly
        // DMV_WEIGHT · (1 − share) / (OFAC_WEIGHT + DMV_WEIGHT).
        let a = read_session(&app, &matching).await;
        let b = read_session(&app, &mismatching).await;
        assert_eq!((a["dmv_status_e"].as_str(), b["dmv_status_e"].as_str()), (Some("match"), Some("no_match")), "{backend}");
        let (score_a, score_b) = (a["score"].as_f64().unwrap(), b["score"].as_f64().unwrap());
        assert!((score_a - 1.0).abs() < 1e-9, "{backend}: {a}");
        let expected = (OFAC_WEIGHT + DMV_WEIGHT * share) / (OFAC_WEIGHT + DMV_WEIGHT);
        assert!((score_b - expected).abs() < 1e-9, "{backend}: {score_b} vs {expected}");
        assert!((score_a - score_b - DMV_WEIGHT * (1.0 - share) / (OFAC_WEIGHT + DMV_WEIGHT)).abs() < 1e-9);
        let reasons = b["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|r| r["check"] == "dmv" && r["code"] == "failed"), "{backend}: {reasons:?}");
        // Neither verifies: face match and liveness have not run (no engine, no selfie).
        assert_eq!((a["verified"].as_bool(), b["verified"].as_bool()), (Some(false), Some(false)));
        assert!(a["reasons"].as_array().unwrap().iter().any(|r| r["check"] == "face_match"));
        app.cleanup().await;
    }
}

/// A list imported by another process (`tessera sanctions import`) while a
/// server runs is used by that server within `sanctions_watch_secs`,
/// without a restart.
#[tokio::test]
async fn a_running_server_picks_up_a_list_imported_by_another_process() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| c.sanctions_watch_secs = 1).await;
        let screener = app.state.engines.sanctions.clone().expect("installed: the watch may bring a list");
        assert!(screener.screen(subject("Rustam", "Karimov")).await.is_err(), "{backend}: no list yet: unavailable");

        let lists = tempfile::tempdir().unwrap();
        write_list(lists.path(), false);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["sanctions", "import"]).arg(lists.path()).env("TESSERA_DATA_DIR", &app.state.config.data_dir);
        match &app.state.config.database_url {
            Some(url) => cmd.env("TESSERA_DATABASE_URL", url),
            None => cmd.env_remove("TESSERA_DATABASE_URL"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{backend}: {}", String::from_utf8_lossy(&out.stderr));

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while app.state.sanctions.loaded_version().is_none() {
            assert!(std::time::Instant::now() < deadline, "{backend}: the running server never loaded the imported list");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let r = screener.screen(subject("Rustam", "Karimov")).await.unwrap();
        assert_eq!(r.hits[0].entry_id, "30", "{backend}");
        app.cleanup().await;
    }
}
