//! IDA (identity authentication) sessions: integrator create / list / read /
//! location, and the SDK steps (read, metadata, liveness generate / process,
//! finalize) with their tenancy and state rules.

use crate::common;

use base64::Engine;
use chrono::{Duration, Utc};
use crate::common::{TestApp, assert_problem, backends, seed};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CREATE: &str = "/api/v1/ida/session/create";
const LIST: &str = "/api/v1/ida/session/list";
const READ: &str = "/api/v1/ida/session/read";
const LOCATION: &str = "/api/v1/ida/session/location";
const SDK_READ: &str = "/api/v1/sdk/ida/session/read";
const SDK_METADATA: &str = "/api/v1/sdk/ida/metadata/update";
const SDK_GENERATE: &str = "/api/v1/sdk/ida/liveness/generate";
const SDK_PROCESS: &str = "/api/v1/sdk/ida/liveness/process";
const SDK_FINALIZE: &str = "/api/v1/sdk/ida/finalize";

/// The 200 sample of the section whose text starts with `marker`, with the
/// seed's `{"property1", "property2"}` placeholders turned into free-form maps.
fn seed_sample(marker: &str) -> Value {
    let text = seed::seed_text();
    let at = text.find(marker).unwrap_or_else(|| panic!("seed lacks {marker:?}"));
    let samples = at + text[at..].find("Response samples").expect("response samples");
    let brace = samples + text[samples..].find('{').expect("sample body");
    let mut sample = seed::balanced_json(&text, brace).0;
    free_form_maps(&mut sample);
    sample
}

fn free_form_maps(v: &mut Value) {
    match v {
        Value::Object(m) if m.contains_key("property1") => m.clear(),
        Value::Object(m) => m.values_mut().for_each(free_form_maps),
        Value::Array(a) => a.iter_mut().for_each(free_form_maps),
        _ => {}
    }
}

/// Inserts an identity of `client_id` directly (onboarding is another area).
async fn identity(app: &TestApp, client_id: &str, last_name: &str, verified: bool) -> String {
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    entity::identity::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.to_string()),
        user_id: Set(None),
        external_id: Set(None),
        first_name: Set(Some("Ada".into())),
        middle_name: Set(Some("Maria".into())),
        last_name: Set(Some(last_name.to_string())),
        suffix_name: Set(None),
        birth_date: Set(Some("1990-04-01".into())),
        gender: Set("female".into()),
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
        ofac_detected_at: Set(None),
        dmv_status: Set("unknown".into()),
        dmv_detected_at: Set(None),
        verified: Set(verified),
        verified_at: Set(verified.then_some(now)),
        last_verified: Set(verified.then_some(now)),
        score: Set(Some(0.9)),
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

async fn create(app: &TestApp, body: Value) -> String {
    let (s, _, b) = app.post_json(CREATE, Some(&app.demo_key), &body).await;
    assert_eq!(s, 200, "{b}");
    b["session_id"].as_str().unwrap().to_string()
}

async fn read(app: &TestApp, session_id: &str) -> Value {
    let (s, _, b) = app.post_json(READ, Some(&app.demo_key), &json!({"session_id": session_id})).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn list(app: &TestApp, body: Value) -> Value {
    let (s, _, b) = app.post_json(LIST, Some(&app.demo_key), &body).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// POST to an SDK endpoint with `X-Client-Id`.
async fn sdk(app: &TestApp, client_id: &str, path: &str, body: &Value) -> (u16, String, Value) {
    let req = app.http.post(app.url(path)).header("X-Client-Id", client_id).json(body);
    common::read(req.send().await.expect("request")).await
}

async fn sdk_ok(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, _, b) = sdk(app, &app.demo_client_id, path, &body).await;
    assert_eq!(s, 200, "{path}: {b}");
    b
}

fn encode(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A face-sized test frame with some structure (not a flat colour).
fn frame(seed: u8) -> image::RgbImage {
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, seed.wrapping_mul(3)]))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn session_row(app: &TestApp, id: &str) -> entity::ida_session::Model {
    entity::ida_session::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap().unwrap()
}

async fn stored_files(app: &TestApp, session_id: &str) -> Vec<entity::stored_file::Model> {
    entity::stored_file::Entity::find()
        .filter(entity::stored_file::Column::SessionId.eq(session_id))
        .all(&app.state.db)
        .await
        .unwrap()
}

fn events(read: &Value) -> Vec<String> {
    read["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap().to_string()).collect()
}

fn field_of(problem: &Value) -> &str {
    problem["errors"][0]["field"].as_str().unwrap_or_default()
}

/// A second tenant with its own key.
async fn other_tenant(app: &TestApp) -> (String, String) {
    let db = &app.state.db;
    let other = tessera::service::tenancy::create_client(db, "Other Inc", false).await.unwrap();
    let key = tessera::service::tenancy::create_api_key(db, &other.id, None, None).await.unwrap();
    (other.id, key.plaintext)
}

#[tokio::test]
async fn create_checks_the_identity_and_read_has_the_seed_shape() {
    let create_sample = seed_sample("Identity Authentication session create");
    let read_sample = seed_sample("Session read for identity authentication.\nAuthorizations:\nRequest Body");
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;

        let (s, _, created) = app
            .post_json(CREATE, Some(&app.demo_key), &json!({
                "identity_id": identity_id,
                "webhook_url": "https://example.com/hooks/ida",
                "liveness_mode": "passive_active",
                "metadata": {"order": "A-1", "channel": "web"},
                "settings": {"perform_age_test": false}
            }))
            .await;
        assert_eq!(s, 200, "{created}");
        let mut diff = Vec::new();
        seed::shape_diff("create", &create_sample, &created, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        let id = created["session_id"].as_str().unwrap();

        let body = read(&app, id).await;
        let mut diff = Vec::new();
        seed::shape_diff("read", &read_sample, &body, &mut diff);
        assert_eq!(diff, ["read.history[0].at: not in the seed"], "{body}");
        let expected_keys: BTreeSet<&String> = read_sample.as_object().unwrap().keys().collect();
        let live_keys: BTreeSet<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(live_keys, expected_keys, "exactly the seed's keys");

        let weights = tessera::service::weights::in_force(&app.state.db, &demo, None).await.unwrap();
        assert_eq!(body["session_id"], id);
        assert_eq!(body["client_id"], demo);
        assert_eq!(body["identity_id"], identity_id);
        assert_eq!(body["idv_weights_id"], weights.id);
        assert_eq!(body["status_e"], "in_progress");
        assert_eq!((body["first_name"].as_str(), body["middle_name"].as_str()), (Some("Ada"), Some("Maria")));
        assert_eq!(body["last_name"], "Lovelace");
        assert_eq!(body["suffix_name"], Value::Null);
        assert_eq!(body["completed_at"], Value::Null);
        assert_eq!(body["authenticated"], false);
        assert_eq!(body["selfie_given"], false);
        assert_eq!(body["metadata"], json!({"order": "A-1", "channel": "web"}));
        assert_eq!(body["webhook_url"], "https://example.com/hooks/ida");
        assert_eq!(body["settings"], json!({"perform_age_test": false, "perform_gender_test": true}));
        assert_eq!(body["history"][0]["event"], "created");
        assert_eq!(body["history"][0]["endpoint"], CREATE);
        let created_at = chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).unwrap();
        assert!(body["created_at"].as_str().unwrap().ends_with('Z'), "UTC: {body}");
        chrono::DateTime::parse_from_rfc3339(body["history"][0]["at"].as_str().unwrap()).unwrap();

        let row = session_row(&app, id).await;
        assert_eq!(row.liveness_mode, "passive_active");
        assert_eq!(row.liveness_provider, "local");
        let ttl = row.expires_at - created_at.with_timezone(&Utc);
        assert!((ttl - Duration::hours(app.state.config.session_ttl_hours as i64)).num_seconds().abs() < 5, "{ttl}");
        let entries = entity::metadata_entry::Entity::find()
            .filter(entity::metadata_entry::Column::OwnerId.eq(id))
            .filter(entity::metadata_entry::Column::OwnerKind.eq("ida_session"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(entries, 2);

        // Defaults.
        let plain = create(&app, json!({"identity_id": identity_id})).await;
        let plain_row = session_row(&app, &plain).await;
        assert_eq!(plain_row.liveness_mode, "passive");
        assert_eq!(read(&app, &plain).await["settings"], json!({"perform_age_test": true, "perform_gender_test": true}));

        // The identity must be the caller's, verified and not erased.
        let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &json!({"identity_id": "nope"})).await;
        assert_problem(s, &ct, &b, 404);
        let unverified = identity(&app, &demo, "Unverified", false).await;
        let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &json!({"identity_id": unverified})).await;
        assert_problem(s, &ct, &b, 409);
        assert!(b["detail"].as_str().unwrap().contains("not verified"), "{b}");
        let erased = identity(&app, &demo, "Erased", true).await;
        let mut erased_row = entity::identity::Entity::find_by_id(erased.clone()).one(&app.state.db).await.unwrap().unwrap().into_active_model();
        erased_row.erased_at = Set(Some(Utc::now()));
        erased_row.update(&app.state.db).await.unwrap();
        let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &json!({"identity_id": erased})).await;
        assert_problem(s, &ct, &b, 409);
        let (other_id, other_key) = other_tenant(&app).await;
        let (s, ct, b) = app.post_json(CREATE, Some(&other_key), &json!({"identity_id": identity_id})).await;
        assert_problem(s, &ct, &b, 404);
        let foreign = identity(&app, &other_id, "Foreign", true).await;
        let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &json!({"identity_id": foreign})).await;
        assert_problem(s, &ct, &b, 404);
        // Another tenant cannot read the session either.
        let (s, ct, b) = app.post_json(READ, Some(&other_key), &json!({"session_id": id})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app.post_json(READ, None, &json!({"session_id": id})).await;
        assert_problem(s, &ct, &b, 401);

        // Validation names the field.
        for (body, field, status) in [
            (json!({}), "identity_id", 400),
            (json!({"identity_id": identity_id, "liveness_mode": "active"}), "liveness_mode", 400),
            (json!({"identity_id": identity_id, "webhook_url": "ftp://example.com/x"}), "webhook_url", 400),
            (json!({"identity_id": identity_id, "settings": {"perform_x": true}}), "settings", 400),
            (json!({"identity_id": identity_id, "metadata": {"k": 5}}), "metadata.k", 400),
            (json!({"identity_id": identity_id, "metadata": {"": "v"}}), "metadata.", 400),
        ] {
            let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &body).await;
            assert_problem(s, &ct, &b, status);
            assert!(field_of(&b).starts_with(field), "{body} → {b}");
        }
        let none = entity::ida_session::Entity::find()
            .filter(entity::ida_session::Column::IdentityId.is_in([unverified, erased, foreign]))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(none, 0, "refused creates write nothing");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn create_honours_idempotency_key() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let identity_id = identity(&app, &app.demo_client_id.clone(), "Hopper", true).await;
        let send = |body: Value| {
            app.http
                .post(app.url(CREATE))
                .bearer_auth(&app.demo_key)
                .header("Idempotency-Key", "ida-create-1")
                .json(&body)
                .send()
        };
        let first = send(json!({"identity_id": identity_id})).await.unwrap();
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first = common::read(first).await.2;
        let again = send(json!({"identity_id": identity_id})).await.unwrap();
        assert_eq!(again.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
        assert_eq!(common::read(again).await.2["session_id"], first["session_id"]);
        let count = entity::ida_session::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(count, 1);
        let other = common::read(send(json!({"identity_id": identity_id, "liveness_mode": "passive"})).await.unwrap()).await;
        assert_eq!(other.0, 422, "{:?}", other.2);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn list_filters_pages_and_counts() {
    let list_sample = seed_sample("Session list for identity authentication.");
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let lovelace = identity(&app, &demo, "Lovelace", true).await;
        let hopper = identity(&app, &demo, "Hopper", true).await;
        let mut ids = Vec::new();
        for i in 0..30 {
            let (who, tier) = if i % 3 == 0 { (&hopper, "gold") } else { (&lovelace, "basic") };
            let id = create(&app, json!({"identity_id": who, "metadata": {"tier": tier, "ref": format!("R-{i:02}")}})).await;
            ids.push(id);
        }
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

        let all = list(&app, json!({})).await;
        let mut diff = Vec::new();
        seed::shape_diff("list", &list_sample, &all, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        assert_eq!(all["meta_counts"], json!({"take": 25, "skip": 0, "response": 25, "total": 30}));
        let item_keys: BTreeSet<&String> = all["sessions"][0].as_object().unwrap().keys().collect();
        let seed_keys: BTreeSet<&String> = list_sample["sessions"][0].as_object().unwrap().keys().collect();
        assert_eq!(item_keys, seed_keys);

        // Pages, newest first, with the real total.
        let mut paged = Vec::new();
        for skip in (0..30).step_by(7) {
            let page = list(&app, json!({"take": 7, "skip": skip})).await;
            assert_eq!(page["meta_counts"]["total"], 30);
            assert_eq!(page["meta_counts"]["response"], page["sessions"].as_array().unwrap().len());
            paged.extend(page["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap().to_string()));
        }
        assert_eq!(paged, newest_first);
        let (s, ct, b) = app.post_json(LIST, Some(&app.demo_key), &json!({"take": 501})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "take");

        let total = |b: &Value| b["meta_counts"]["total"].as_u64().unwrap();
        assert_eq!(total(&list(&app, json!({"identity_id": hopper})).await), 10);
        assert_eq!(total(&list(&app, json!({"identity_id": [hopper, lovelace]})).await), 30);
        assert_eq!(total(&list(&app, json!({"metadata": {"tier": "gold"}})).await), 10);
        assert_eq!(total(&list(&app, json!({"metadata": {"tier": "gold", "ref": "R-03"}})).await), 1);
        assert_eq!(total(&list(&app, json!({"metadata": {"tier": "gold", "ref": "R-01"}})).await), 0);
        assert_eq!(total(&list(&app, json!({"metadata": {"tier": "GOLD"}})).await), 0, "exact match");
        // Search: names, metadata values, ids; case-insensitive; wildcards literal.
        assert_eq!(total(&list(&app, json!({"search_term": "hoPPer"})).await), 10);
        assert_eq!(total(&list(&app, json!({"search_term": "r-1"})).await), 10);
        assert_eq!(total(&list(&app, json!({"search_term": &ids[4]})).await), 1);
        assert_eq!(total(&list(&app, json!({"search_term": &lovelace[..]})).await), 20);
        assert_eq!(total(&list(&app, json!({"search_term": "%"})).await), 0);
        // Combined filters.
        let combined = list(&app, json!({"identity_id": lovelace, "search_term": "R-2", "take": 3})).await;
        // R-20..R-29 minus multiples of 3 (21, 24, 27) → 7 rows.
        assert_eq!(combined["meta_counts"], json!({"take": 3, "skip": 0, "response": 3, "total": 7}));
        assert_eq!(combined["sessions"][0]["session_id"], ids[29]);

        // Dates (inclusive bounds on created_at).
        let from = read(&app, &ids[10]).await["created_at"].as_str().unwrap().to_string();
        let to = read(&app, &ids[19]).await["created_at"].as_str().unwrap().to_string();
        assert_eq!(total(&list(&app, json!({"start_date": from, "end_date": to})).await), 10);
        let today = Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(total(&list(&app, json!({"start_date": today, "end_date": today})).await), 30);
        let (s, ct, b) = app.post_json(LIST, Some(&app.demo_key), &json!({"start_date": "last week"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "start_date");

        // Status and verified.
        assert_eq!(total(&list(&app, json!({"status": "in_progress"})).await), 30);
        assert_eq!(total(&list(&app, json!({"status": "unknown"})).await), 30, "unknown filters nothing");
        let mut done = session_row(&app, &ids[0]).await.into_active_model();
        done.status = Set("complete".into());
        done.authenticated = Set(Some(true));
        done.completed_at = Set(Some(Utc::now()));
        done.update(&app.state.db).await.unwrap();
        let mut lapsed = session_row(&app, &ids[1]).await.into_active_model();
        lapsed.expires_at = Set(Utc::now() - Duration::minutes(1));
        lapsed.update(&app.state.db).await.unwrap();
        assert_eq!(total(&list(&app, json!({"status": "complete"})).await), 1);
        assert_eq!(total(&list(&app, json!({"status": "expired"})).await), 1, "past its TTL counts as expired");
        assert_eq!(total(&list(&app, json!({"status": "in_progress"})).await), 28);
        assert_eq!(list(&app, json!({"identity_id": lovelace, "search_term": "R-01"})).await["sessions"][0]["status_e"], "expired");
        let verified = list(&app, json!({"verified": true})).await;
        assert_eq!(total(&verified), 1);
        assert_eq!(verified["sessions"][0]["session_id"], ids[0]);
        assert_eq!(verified["sessions"][0]["authenticated"], true);
        assert_eq!(total(&list(&app, json!({"verified": false})).await), 29);
        assert_eq!(total(&list(&app, json!({"verified": true, "identity_id": lovelace})).await), 0);
        let (s, ct, b) = app.post_json(LIST, Some(&app.demo_key), &json!({"status": "done"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "status");

        // Tenancy: another client sees nothing and cannot name ours; the platform operator can.
        let (other_id, other_key) = other_tenant(&app).await;
        let (s, _, b) = app.post_json(LIST, Some(&other_key), &json!({})).await;
        assert_eq!((s, b["meta_counts"]["total"].as_u64()), (200, Some(0)), "{b}");
        let (s, ct, b) = app.post_json(LIST, Some(&other_key), &json!({"client_id": demo})).await;
        assert_problem(s, &ct, &b, 404);
        let platform = tessera::service::tenancy::platform_client(&app.state.db).await.unwrap().unwrap();
        let platform_key = tessera::service::tenancy::create_api_key(&app.state.db, &platform.id, None, None).await.unwrap();
        let (s, _, b) = app.post_json(LIST, Some(&platform_key.plaintext), &json!({"client_id": [demo, other_id]})).await;
        assert_eq!((s, b["meta_counts"]["total"].as_u64()), (200, Some(30)), "{b}");
        let (s, _, b) = app.post_json(LIST, Some(&platform_key.plaintext), &json!({})).await;
        assert_eq!((s, b["meta_counts"]["total"].as_u64()), (200, Some(0)), "own client by default: {b}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn sdk_flow_liveness_process_location_and_finalize() {
    let sdk_read_sample = seed_sample("Session read for identity authentication.\nAuthorizations:\nheader Parameters");
    let location_sample = seed_sample("IDA Session Location read response");
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id, "liveness_mode": "passive_active"})).await;
        let sid = json!({"session_id": id});

        let sdk_read = sdk_ok(&app, SDK_READ, sid.clone()).await;
        let mut diff = Vec::new();
        seed::shape_diff("sdk read", &sdk_read_sample, &sdk_read, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        let keys: BTreeSet<&String> = sdk_read.as_object().unwrap().keys().collect();
        assert_eq!(keys, sdk_read_sample.as_object().unwrap().keys().collect());
        assert_eq!(sdk_read["liveness_provider_e"], "local");
        assert_eq!(sdk_read["status_e"], "in_progress");
        assert_eq!(sdk_read["last_name"], "Lovelace");

        // Metadata merges; null removes.
        assert_eq!(sdk_ok(&app, SDK_METADATA, json!({"session_id": id, "sdk_metadata": {"a": 1, "b": "x"}})).await, json!({}));
        sdk_ok(&app, SDK_METADATA, json!({"session_id": id, "sdk_metadata": {"a": null, "c": {"os": "ios"}}})).await;
        assert_eq!(sdk_ok(&app, SDK_READ, sid.clone()).await["sdk_metadata"], json!({"b": "x", "c": {"os": "ios"}}));
        let (s, ct, b) = sdk(&app, &demo, SDK_METADATA, &json!({"session_id": id, "sdk_metadata": [1]})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "sdk_metadata");
        let (s, ct, b) = sdk(&app, &demo, SDK_METADATA, &sid).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "sdk_metadata");

        // Location: nothing captured yet.
        let loc_req = json!({"session_id": id, "location_capture_type_e": "selfie_image_capture"});
        let (s, ct, b) = app.post_json(LOCATION, Some(&app.demo_key), &loc_req).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app
            .post_json(LOCATION, Some(&app.demo_key), &json!({"session_id": id, "location_capture_type_e": "elbow"}))
            .await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "location_capture_type_e");

        // Generate.
        let (s, ct, b) = sdk(&app, &demo, SDK_GENERATE, &json!({"session_id": id, "latitude": 91.0, "longitude": 0})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "latitude");
        let token = sdk_ok(&app, SDK_GENERATE, json!({"session_id": id, "latitude": 52.52, "longitude": 13.405})).await["token"]
            .as_str()
            .unwrap()
            .to_string();
        let challenge =
            tessera::service::liveness::verify(app.state.storage.master_key(), &token, &id, Utc::now()).unwrap();
        assert_eq!(challenge.steps.len(), 4, "passive_active carries the active steps");
        // Where the selfie capture started is recorded by generate already.
        let (s, _, loc) = app.post_json(LOCATION, Some(&app.demo_key), &loc_req).await;
        assert_eq!(s, 200, "{loc}");
        assert_eq!((loc["device_latitude"].as_f64(), loc["device_longitude"].as_f64()), (Some(52.52), Some(13.405)));

        // Process a PNG and a JPEG frame with the token.
        let png = encode(&frame(1), image::ImageFormat::Png);
        let jpeg = encode(&frame(2), image::ImageFormat::Jpeg);
        let processed = sdk_ok(&app, SDK_PROCESS, json!({
            "session_id": id, "latitude": 52.52, "longitude": 13.405,
            "images": [b64(&png), format!("data:image/jpeg;base64,{}", b64(&jpeg))], "token": token
        }))
        .await;
        let next = processed["token"].as_str().unwrap();
        assert_ne!(next, token, "a fresh challenge for a retry");
        tessera::service::liveness::verify(app.state.storage.master_key(), next, &id, Utc::now()).unwrap();

        let files = stored_files(&app, &id).await;
        let mut types: Vec<&str> = files.iter().map(|f| f.file_type.as_str()).collect();
        types.sort();
        assert_eq!(types, ["liveness_active_step_1", "liveness_passive", "selfie"]);
        for f in &files {
            assert_eq!(f.session_kind, "ida");
            assert_eq!(f.identity_id, None, "a capture represents the identity only after a successful authentication");
            let expected = if f.file_type == "liveness_active_step_1" { &jpeg } else { &png };
            assert_eq!(f.content_type, if f.file_type == "liveness_active_step_1" { "image/jpeg" } else { "image/png" });
            let bytes = tessera::service::files::read_bytes(&app.state.storage, f).await.unwrap();
            assert_eq!(&bytes, expected);
            let raw = app.state.storage.get_raw(&f.object_key).await.unwrap().unwrap();
            assert_ne!(&raw, expected, "stored encrypted");
        }

        let (s, _, loc) = app.post_json(LOCATION, Some(&app.demo_key), &loc_req).await;
        assert_eq!(s, 200, "{loc}");
        let mut diff = Vec::new();
        seed::shape_diff("location", &location_sample, &loc, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        assert_eq!(loc.as_object().unwrap().len(), location_sample.as_object().unwrap().len());
        assert_eq!((loc["device_latitude"].as_f64(), loc["device_longitude"].as_f64()), (Some(52.52), Some(13.405)));
        assert_eq!(loc["ip_address"], "127.0.0.1");
        let (s, ct, b) = app
            .post_json(LOCATION, Some(&app.demo_key), &json!({"session_id": id, "location_capture_type_e": "front_doc_image_capture"}))
            .await;
        assert_problem(s, &ct, &b, 404);

        // The token is single-use; without a token a generated challenge suffices.
        let again = json!({"session_id": id, "latitude": 1, "longitude": 2, "images": [b64(&png)], "token": token});
        let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &again).await;
        assert_problem(s, &ct, &b, 409);
        sdk_ok(&app, SDK_PROCESS, json!({"session_id": id, "latitude": 1, "longitude": 2, "images": [b64(&jpeg)]})).await;
        assert_eq!(stored_files(&app, &id).await.len(), 5);

        let before = read(&app, &id).await;
        assert_eq!(before["selfie_given"], true);
        assert!(before["selfie_given_at"].is_string());
        assert_eq!(
            events(&before),
            ["created", "sdk_metadata_updated", "sdk_metadata_updated", "liveness_generated", "liveness_processed", "liveness_processed"]
        );
        assert_eq!(before["history"][3]["endpoint"], SDK_GENERATE);

        // Finalize: no face engine result → not authenticated, with the reason.
        let verdict = sdk_ok(&app, SDK_FINALIZE, sid.clone()).await;
        assert_eq!(verdict["authenticated"], false, "{verdict}");
        let reasons: Vec<&str> = verdict["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        // The analysis job ran (finalize runs due jobs); the face models are not fetched in this test.
        assert!(
            reasons.iter().any(|r| r.starts_with("face_match") && r.contains("face-recognition-models 0.3.0 is not fetched")),
            "{verdict}"
        );
        let checks = tessera::service::checks::for_session(&app.state.db, &demo, &id).await.unwrap();
        let mut names: Vec<&str> = checks.iter().map(|c| c.check_name.as_str()).collect();
        names.sort();
        // Age and sex are compared because the session's settings ask for them (the default).
        assert_eq!(names, ["age", "face_match", "gender", "liveness"]);
        assert!(checks.iter().all(|c| c.status == "unavailable"), "never a pass without an engine");
        // The failed attempt's captures stay on their session: the identity has no selfie from it.
        let (s, ct, b) = app
            .post_json("/api/v1/identity/image", Some(&app.demo_key), &json!({"identity_id": identity_id, "storage_file_type_e": "selfie"}))
            .await;
        assert_problem(s, &ct, &b, 404);
        assert!(stored_files(&app, &id).await.iter().all(|f| f.identity_id.is_none()));
        assert_eq!(tessera::jobs::pending_for_session(&app.state.db, &id).await.unwrap(), 0);
        assert_eq!(sdk_ok(&app, SDK_FINALIZE, sid.clone()).await, verdict, "a repeat returns the stored answer");

        let after = read(&app, &id).await;
        assert_eq!(after["status_e"], "complete");
        assert!(after["completed_at"].is_string());
        assert_eq!(after["authenticated"], false);
        assert_eq!(events(&after).iter().filter(|e| *e == "finalized").count(), 1);
        assert_eq!(after["history"].as_array().unwrap().last().unwrap()["endpoint"], SDK_FINALIZE);
        let row = session_row(&app, &id).await;
        assert_eq!(row.authenticated, Some(false));
        assert_eq!(row.reasons, Some(json!(reasons)));

        // Steps after finalize are 409; read still works.
        for (path, body) in [
            (SDK_METADATA, json!({"session_id": id, "sdk_metadata": {"x": 1}})),
            (SDK_GENERATE, json!({"session_id": id, "latitude": 0, "longitude": 0})),
            (SDK_PROCESS, json!({"session_id": id, "latitude": 0, "longitude": 0, "images": [b64(&png)]})),
        ] {
            let (s, ct, b) = sdk(&app, &demo, path, &body).await;
            assert_problem(s, &ct, &b, 409);
            assert!(b["detail"].as_str().unwrap().contains("complete"), "{b}");
        }
        assert_eq!(sdk_ok(&app, SDK_READ, sid.clone()).await["status_e"], "complete");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn process_rejects_bad_frames_and_leaves_nothing_behind() {
    for backend in backends().await {
        // Rejections count toward blocking; this test is about the answers.
        let app = TestApp::spawn_with(backend, |c| c.blocked_max_failures = 100).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id})).await;
        let png = encode(&frame(7), image::ImageFormat::Png);
        let process = |images: Value| json!({"session_id": id, "latitude": 10, "longitude": 20, "images": images});

        // Processing needs a liveness generate first (or its token).
        let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &process(json!([b64(&png)]))).await;
        assert_problem(s, &ct, &b, 409);
        assert!(b["detail"].as_str().unwrap().contains("generate"), "{b}");
        sdk_ok(&app, SDK_GENERATE, json!({"session_id": id, "latitude": 10, "longitude": 20})).await;

        let mut truncated = png.clone();
        truncated.truncate(png.len() / 2);
        let six: Vec<String> = (0..6).map(|_| b64(&png)).collect();
        for (images, status, field) in [
            (json!(["@@not base64@@"]), 400, "images[0]"),
            (json!([b64(&png), b64(b"hello, not an image")]), 415, ""),
            (json!([b64(&truncated)]), 422, "images[0]"),
            (json!(six), 400, "images"),
            (json!([]), 400, "images"),
            (json!("one"), 400, "images"),
        ] {
            let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &process(images.clone())).await;
            assert_problem(s, &ct, &b, status);
            if field.is_empty() {
                assert!(b["detail"].as_str().unwrap().contains("images[1]"), "{b}");
            } else {
                assert_eq!(field_of(&b), field, "{images} → {b}");
            }
        }
        let mut bad_token = process(json!([b64(&png)]));
        bad_token["token"] = json!("forged.token");
        let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &bad_token).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "token");
        let mut far = process(json!([b64(&png)]));
        far["longitude"] = json!(200);
        let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &far).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(field_of(&b), "longitude");

        assert!(stored_files(&app, &id).await.is_empty());
        let blob_dir = app.state.config.storage_path().join("clients").join(&demo).join("ida").join(&id);
        assert!(!blob_dir.exists() || std::fs::read_dir(&blob_dir).unwrap().next().is_none(), "no orphan blobs");
        let row = session_row(&app, &id).await;
        assert!(!row.selfie_given);
        assert!(!events(&read(&app, &id).await).contains(&"liveness_processed".to_string()));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn sdk_tenancy_and_closed_states() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id})).await;
        let sid = json!({"session_id": id});
        let (other_id, _) = other_tenant(&app).await;

        // Another client's X-Client-Id, an unknown session, no header.
        for path in [SDK_READ, SDK_FINALIZE] {
            let (s, ct, b) = sdk(&app, &other_id, path, &sid).await;
            assert_problem(s, &ct, &b, 404);
        }
        let (s, ct, b) = sdk(&app, &demo, SDK_READ, &json!({"session_id": "unknown"})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app.post_json(SDK_READ, None, &sid).await;
        assert_problem(s, &ct, &b, 401);
        let (s, ct, b) = sdk(&app, "no-such-client", SDK_READ, &sid).await;
        assert_problem(s, &ct, &b, 401);

        // Past its time to live (even before the expiry job ran) and expired.
        let mut row = session_row(&app, &id).await.into_active_model();
        row.expires_at = Set(Utc::now() - Duration::minutes(5));
        row.update(&app.state.db).await.unwrap();
        let (s, ct, b) = sdk(&app, &demo, SDK_GENERATE, &json!({"session_id": id, "latitude": 0, "longitude": 0})).await;
        assert_problem(s, &ct, &b, 409);
        assert!(b["detail"].as_str().unwrap().contains("expired"), "{b}");
        let mut row = session_row(&app, &id).await.into_active_model();
        row.status = Set("expired".into());
        row.update(&app.state.db).await.unwrap();
        for (path, body) in [
            (SDK_METADATA, json!({"session_id": id, "sdk_metadata": {"x": 1}})),
            (SDK_GENERATE, json!({"session_id": id, "latitude": 0, "longitude": 0})),
            (SDK_FINALIZE, sid.clone()),
        ] {
            let (s, ct, b) = sdk(&app, &demo, path, &body).await;
            assert_problem(s, &ct, &b, 409);
            assert!(b["detail"].as_str().unwrap().contains("expired"), "{path}: {b}");
        }
        assert_eq!(sdk_ok(&app, SDK_READ, sid.clone()).await["status_e"], "expired");
        assert_eq!(read(&app, &id).await["status_e"], "expired");

        // Temporarily blocked.
        let blocked = create(&app, json!({"identity_id": identity_id})).await;
        let mut row = session_row(&app, &blocked).await.into_active_model();
        row.status = Set("temporarily_blocked".into());
        row.update(&app.state.db).await.unwrap();
        let (s, ct, b) = sdk(&app, &demo, SDK_FINALIZE, &json!({"session_id": blocked})).await;
        assert_problem(s, &ct, &b, 409);
        assert!(b["detail"].as_str().unwrap().contains("temporarily_blocked"), "{b}");
        assert_eq!(session_row(&app, &blocked).await.status, "temporarily_blocked");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_finalizes_agree_and_record_once() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id})).await;
        let sid = json!({"session_id": id});
        // Without a selfie the answer is "not authenticated", with that reason.
        let calls = (0..4).map(|_| sdk(&app, &demo, SDK_FINALIZE, &sid));
        let answers = futures::future::join_all(calls).await;
        for (s, _, b) in &answers {
            assert_eq!(*s, 200, "{b}");
            assert_eq!(b, &answers[0].2);
        }
        assert_eq!(answers[0].2["authenticated"], false);
        assert!(answers[0].2["reasons"][0].as_str().unwrap().contains("no selfie"), "{:?}", answers[0].2);
        let finalized = entity::session_event::Entity::find()
            .filter(entity::session_event::Column::SessionId.eq(id.clone()))
            .filter(entity::session_event::Column::Event.eq("finalized"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(finalized, 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn repeated_rejected_captures_block_the_session() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id})).await;
        sdk_ok(&app, SDK_GENERATE, json!({"session_id": id, "latitude": 0, "longitude": 0})).await;
        let bad = json!({"session_id": id, "latitude": 0, "longitude": 0, "images": [b64(b"not an image")]});
        let max = app.state.config.blocked_max_failures;
        for _ in 0..max {
            let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &bad).await;
            assert_problem(s, &ct, &b, 415);
        }
        let (s, ct, b) = sdk(&app, &demo, SDK_PROCESS, &bad).await;
        assert_problem(s, &ct, &b, 409);
        assert!(b["detail"].as_str().unwrap().contains("temporarily_blocked"), "{b}");
        let body = read(&app, &id).await;
        assert_eq!(body["status_e"], "temporarily_blocked");
        let failures = events(&body).iter().filter(|e| *e == "attempt_failed").count();
        assert_eq!(failures, max as usize);
        app.cleanup().await;
    }
}

/// `settings.perform_age_test` / `perform_gender_test` decide whether the
/// selfie's age and sex are compared with the identity at finalize.
#[tokio::test]
async fn age_and_gender_settings_decide_which_comparisons_run() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let png = encode(&frame(7), image::ImageFormat::Png);
        for (settings, expected) in [
            (json!({"perform_age_test": false, "perform_gender_test": false}), vec!["face_match", "liveness"]),
            (json!({"perform_age_test": true, "perform_gender_test": false}), vec!["age", "face_match", "liveness"]),
            (json!({"perform_age_test": false}), vec!["face_match", "gender", "liveness"]),
        ] {
            let id = create(&app, json!({"identity_id": identity_id, "settings": settings})).await;
            sdk_ok(&app, SDK_GENERATE, json!({"session_id": id, "latitude": 1, "longitude": 2})).await;
            sdk_ok(&app, SDK_PROCESS, json!({"session_id": id, "latitude": 1, "longitude": 2, "images": [b64(&png)]})).await;
            sdk_ok(&app, SDK_FINALIZE, json!({"session_id": id})).await;
            let checks = tessera::service::checks::for_session(&app.state.db, &demo, &id).await.unwrap();
            let mut names: Vec<&str> = checks.iter().map(|c| c.check_name.as_str()).collect();
            names.sort();
            assert_eq!(names, expected, "{backend}: {settings}");
        }
        app.cleanup().await;
    }
}

/// Concurrent SDK calls of one session each write in one transaction that
/// takes the write lock up front: none fails with a database-busy 500.
#[tokio::test]
async fn concurrent_liveness_generates_all_succeed() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let demo = app.demo_client_id.clone();
        let identity_id = identity(&app, &demo, "Lovelace", true).await;
        let id = create(&app, json!({"identity_id": identity_id})).await;
        let calls = (0..8).map(|i| {
            let body = json!({"session_id": id, "latitude": 10.0 + i as f64, "longitude": 20.0});
            let req = app.http.post(app.url(SDK_GENERATE)).header("X-Client-Id", &demo).json(&body);
            async move { req.send().await.unwrap().status().as_u16() }
        });
        let statuses = futures::future::join_all(calls).await;
        assert!(statuses.iter().all(|s| *s == 200), "{backend}: {statuses:?}");
        let read = read(&app, &id).await;
        assert_eq!(events(&read).iter().filter(|e| *e == "liveness_generated").count(), 8, "{backend}");
        app.cleanup().await;
    }
}
