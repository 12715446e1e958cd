//! Session documents, images, test results and deletion; identities:
//! creation from a verified session, list, read, SDK status, completed
//! document, image, erasure — on every backend, with tenancy.

use crate::common;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use crate::common::{TestApp, assert_problem, backends, seed};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{Value, json};
use std::io::Cursor;
use tessera::service::checks::{self, Outcome, names};
use tessera::service::files::{self, FileOwner};
use tessera::service::history::{self, SessionKind};
use tessera::service::identities;
use tessera::service::location::{self, Capture, DevicePosition};
use tessera::service::types::{CaptureType, CheckStatus, StorageFileType};
use tessera::service::{tenancy, weights};

const DOC_READ: &str = "/api/v1/idv/document/read";
const DOC_LIST: &str = "/api/v1/idv/document/list";
const DOC_DOWNLOAD: &str = "/api/v1/idv/document/download";
const SESSION_TESTS: &str = "/api/v1/idv/session/tests";
const SESSION_DELETE: &str = "/api/v1/idv/session/delete";
const ID_LIST: &str = "/api/v1/identity/list";
const ID_READ: &str = "/api/v1/identity/read";
const ID_STATUS: &str = "/api/v1/sdk/identity/status";
const ID_DOCUMENT: &str = "/api/v1/identity/document";
const ID_IMAGE: &str = "/api/v1/identity/image";
const ID_DELETE: &str = "/api/v1/identity/delete";

// ---------- fixtures ----------

fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([rgb[0] ^ (x as u8), rgb[1] ^ (y as u8), rgb[2]]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn insert_session(app: &TestApp, client_id: &str) -> entity::idv_session::Model {
    let db = &app.state.db;
    let w = weights::in_force(db, client_id, None).await.unwrap();
    let now = Utc::now();
    entity::idv_session::ActiveModel {
        id: Set(tessera::ids::new_id()),
        client_id: Set(client_id.to_string()),
        user_id: Set(None),
        idv_weights_id: Set(w.id),
        status: Set("in_progress".into()),
        document_type: Set("driver_license".into()),
        liveness_mode: Set("passive".into()),
        liveness_provider: Set("local".into()),
        webhook_url: Set(None),
        metadata: Set(json!({})),
        sdk_metadata: Set(json!({})),
        settings: Set(json!({})),
        finalize_settings: Set(None),
        consented: Set(true),
        consented_at: Set(Some(now)),
        document_front_given: Set(false),
        document_front_given_at: Set(None),
        document_back_given: Set(false),
        document_back_given_at: Set(None),
        liveness_detected: Set(false),
        liveness_detected_at: Set(None),
        selfie_given: Set(false),
        selfie_given_at: Set(None),
        first_name: Set(None),
        middle_name: Set(None),
        last_name: Set(None),
        suffix_name: Set(None),
        gender: Set("unknown".into()),
        birth_date: Set(None),
        ofac_status: Set("unknown".into()),
        ofac_detected_at: Set(None),
        dmv_status: Set("unknown".into()),
        dmv_detected_at: Set(None),
        verified: Set(None),
        verified_at: Set(None),
        score: Set(None),
        reasons: Set(None),
        identity_id: Set(None),
        failed_attempts: Set(0),
        event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
        expires_at: Set(now + Duration::hours(24)),
        // Columns added later keep their database defaults.
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// Changes session columns (finalize would have written them).
async fn update_session(
    app: &TestApp,
    s: entity::idv_session::Model,
    f: impl FnOnce(&mut entity::idv_session::ActiveModel),
) -> entity::idv_session::Model {
    let mut a = s.into_active_model();
    f(&mut a);
    a.update(&app.state.db).await.unwrap()
}

struct Doc<'a> {
    doc_type: &'a str,
    number: &'a str,
    birth: &'a str,
    first: &'a str,
    last: &'a str,
    street: &'a str,
    current: bool,
}

impl Default for Doc<'_> {
    fn default() -> Self {
        Doc {
            doc_type: "driver_license",
            number: "D1234567",
            birth: "1990-01-02",
            first: "Jane",
            last: "Doe",
            street: "1 Main St",
            current: true,
        }
    }
}

async fn insert_document(
    app: &TestApp,
    session: &entity::idv_session::Model,
    d: Doc<'_>,
    created_at: DateTime<Utc>,
) -> entity::document::Model {
    entity::document::ActiveModel {
        id: Set(tessera::ids::new_id()),
        client_id: Set(session.client_id.clone()),
        session_id: Set(session.id.clone()),
        identity_id: Set(None),
        is_current: Set(d.current),
        r#type: Set(d.doc_type.into()),
        data_source: Set("barcode".into()),
        document_number: Set(Some(d.number.into())),
        ref_number: Set(Some("REF9".into())),
        issued_at: Set(Some("2020-03-04".into())),
        expires_at: Set(Some("2028-03-04".into())),
        issuing_country: Set(Some("USA".into())),
        issuing_state: Set(Some("CA".into())),
        first_name: Set(Some(d.first.into())),
        middle_name: Set(Some("Q".into())),
        last_name: Set(Some(d.last.into())),
        name_suffix: Set(Some("JR".into())),
        street: Set(Some(d.street.into())),
        city: Set(Some("Springfield".into())),
        state: Set(Some("CA".into())),
        postal_code: Set(Some("90001".into())),
        birth_date: Set(Some(d.birth.into())),
        gender: Set("female".into()),
        height: Set(Some("170 cm".into())),
        weight: Set(Some("60 kg".into())),
        eye_color: Set(Some("BRO".into())),
        hair_color: Set(Some("BLK".into())),
        doc_class: Set(Some("C".into())),
        restrictions: Set(Some("B".into())),
        endorsements: Set(None),
        raw_payload: Set(None),
        truncation: Set(None),
        created_at: Set(created_at),
    }
    .insert(&app.state.db)
    .await
    .unwrap()
}

/// Stores a real PNG in the session (encrypted blob + row); returns the row and the bytes.
async fn store_png(
    app: &TestApp,
    session: &entity::idv_session::Model,
    identity_id: Option<&str>,
    file_type: StorageFileType,
    rgb: [u8; 3],
    created_at: DateTime<Utc>,
) -> (entity::stored_file::Model, Vec<u8>) {
    let bytes = png(24, 16, rgb);
    let valid = files::validate_image("image", bytes.clone()).unwrap();
    let owner = FileOwner { client_id: &session.client_id, session_kind: "idv", session_id: &session.id, identity_id };
    let mut row = files::put_image(&app.state.storage, &owner, file_type, &valid).await.unwrap();
    row.created_at = Set(created_at);
    (row.insert(&app.state.db).await.unwrap(), bytes)
}

async fn insert_face_template(app: &TestApp, client_id: &str, owner_kind: &str, owner_id: &str) -> String {
    let id = tessera::ids::new_id();
    entity::face_template::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.into()),
        owner_kind: Set(owner_kind.into()),
        owner_id: Set(owner_id.into()),
        source: Set("selfie".into()),
        model: Set("test".into()),
        embedding: Set(vec![1, 2, 3, 4]),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

struct Ident<'a> {
    first: &'a str,
    last: &'a str,
    email: Option<&'a str>,
    user_id: Option<&'a str>,
    created_at: DateTime<Utc>,
    metadata: &'a [(&'a str, &'a str)],
}

async fn insert_identity(app: &TestApp, client_id: &str, i: Ident<'_>) -> entity::identity::Model {
    let db = &app.state.db;
    let id = tessera::ids::new_id();
    let meta: serde_json::Map<String, Value> = i.metadata.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let model = entity::identity::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.into()),
        user_id: Set(i.user_id.map(str::to_string)),
        external_id: Set(Some(format!("ext-{}", i.last.to_lowercase()))),
        first_name: Set(Some(i.first.into())),
        middle_name: Set(None),
        last_name: Set(Some(i.last.into())),
        suffix_name: Set(None),
        birth_date: Set(Some("1980-05-06".into())),
        gender: Set("male".into()),
        street: Set(Some("2 Side St".into())),
        city: Set(Some("Shelbyville".into())),
        state: Set(Some("IL".into())),
        postal_code: Set(Some("60601".into())),
        email: Set(i.email.map(str::to_string)),
        phone: Set(Some("+15550001111".into())),
        document_front_given: Set(true),
        document_front_given_at: Set(Some(i.created_at)),
        liveness_detected: Set(true),
        liveness_detected_at: Set(Some(i.created_at)),
        ofac_status: Set("clear".into()),
        ofac_detected_at: Set(Some(i.created_at)),
        dmv_status: Set("match".into()),
        dmv_detected_at: Set(Some(i.created_at)),
        verified: Set(true),
        verified_at: Set(Some(i.created_at)),
        last_verified: Set(Some(i.created_at)),
        score: Set(Some(0.87)),
        metadata: Set(Value::Object(meta)),
        latest_idv_session_id: Set(None),
        created_at: Set(i.created_at),
        updated_at: Set(i.created_at),
        erased_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    for (k, v) in i.metadata {
        entity::metadata_entry::ActiveModel {
            id: Set(tessera::ids::new_id()),
            client_id: Set(client_id.into()),
            owner_kind: Set("identity".into()),
            owner_id: Set(id.clone()),
            key: Set(k.to_string()),
            value: Set(v.to_string()),
        }
        .insert(db)
        .await
        .unwrap();
    }
    model
}

fn ident<'a>(first: &'a str, last: &'a str, created_at: DateTime<Utc>) -> Ident<'a> {
    Ident { first, last, email: None, user_id: None, created_at, metadata: &[] }
}

/// A second tenant with its key, and a platform-operator key.
async fn other_and_platform(app: &TestApp) -> (String, String, String) {
    let db = &app.state.db;
    let other = tenancy::create_client(db, "Other Inc", false).await.unwrap();
    let other_key = tenancy::create_api_key(db, &other.id, None, None).await.unwrap();
    let platform = tenancy::platform_client(db).await.unwrap().expect("platform client");
    let platform_key = tenancy::create_api_key(db, &platform.id, None, None).await.unwrap();
    (other.id, other_key.plaintext, platform_key.plaintext)
}

async fn audit_rows(app: &TestApp, action: &str, target: &str) -> Vec<entity::audit_log::Model> {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq(action))
        .filter(entity::audit_log::Column::TargetId.eq(target))
        .all(&app.state.db)
        .await
        .unwrap()
}

/// POST returning the raw response (for image bytes).
async fn post_raw(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(path)).bearer_auth(key).json(body).send().await.unwrap()
}

/// The seed's 200 sample whose top-level keys include all of `keys`.
fn seed_sample(keys: &[&str]) -> Value {
    seed::response_samples()
        .into_iter()
        .find(|s| keys.iter().all(|k| s.get(*k).is_some()))
        .unwrap_or_else(|| panic!("no seed sample with {keys:?}"))
}

fn assert_seed_shape(name: &str, seed: &Value, live: &Value, allowed_extra: &[&str]) {
    let mut diff = Vec::new();
    seed::shape_diff(name, seed, live, &mut diff);
    diff.retain(|d| !allowed_extra.iter().any(|extra| d == &format!("{name}.{extra}: not in the seed")));
    assert!(diff.is_empty(), "{name} differs from the seed: {diff:#?}\n{live}");
}

// ---------- documents ----------

#[tokio::test]
async fn document_read_list_and_download() {
    let read_seed = seed_sample(&["session_id", "document_id", "type_e", "class"]);
    let list_seed = seed_sample(&["documents", "meta_counts"]);
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let session = insert_session(&app, &app.demo_client_id).await;
        let sid = session.id.clone();

        // No document yet.
        let (s, ct, b) = app.post_json(DOC_READ, Some(&key), &json!({"session_id": sid})).await;
        assert_problem(s, &ct, &b, 404);

        let t0 = Utc::now() - Duration::minutes(5);
        let old = insert_document(&app, &session, Doc { current: false, number: "OLD1", ..Doc::default() }, t0).await;
        let cur = insert_document(&app, &session, Doc::default(), t0 + Duration::minutes(1)).await;

        let (s, _, b) = app.post_json(DOC_READ, Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("document read", &read_seed, &b, &[]);
        assert_eq!(b["session_id"], sid);
        assert_eq!(b["document_id"], cur.id);
        assert_eq!(b["type_e"], "driver_license");
        assert_eq!(b["data_source_e"], "barcode");
        assert_eq!(b["class"], "C");
        assert_eq!(b["gender_e"], "female");
        assert_eq!(b["document_number"], "D1234567");
        assert_eq!(b["issued_at"], "2020-03-04");
        assert_eq!(b["name_suffix"], "JR");

        let (s, _, b) = app.post_json(DOC_LIST, Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("document list", &list_seed, &b, &[]);
        let ids: Vec<&str> = b["documents"].as_array().unwrap().iter().map(|d| d["document_id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![cur.id.as_str(), old.id.as_str()], "newest first");
        assert_eq!(b["meta_counts"], json!({"take": 25, "skip": 0, "response": 2, "total": 2}));
        let (_, _, b) = app.post_json(DOC_LIST, Some(&key), &json!({"session_id": sid, "take": 1, "skip": 1})).await;
        assert_eq!(b["documents"][0]["document_id"], old.id);
        assert_eq!(b["meta_counts"], json!({"take": 1, "skip": 1, "response": 1, "total": 2}));
        let (s, ct, b) = app.post_json(DOC_LIST, Some(&key), &json!({"session_id": sid, "take": 501})).await;
        assert_problem(s, &ct, &b, 400);

        // Download: the newest file of the type, byte for byte, audited.
        store_png(&app, &session, None, StorageFileType::DriverLicenseFront, [200, 0, 0], t0).await;
        let (newest, bytes) =
            store_png(&app, &session, None, StorageFileType::DriverLicenseFront, [0, 200, 0], t0 + Duration::minutes(1)).await;
        let resp = post_raw(&app, DOC_DOWNLOAD, &key, &json!({"session_id": sid, "storage_file_type_e": "driver_license_front"})).await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["cache-control"], "no-store");
        let disposition = h["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment; filename=") && disposition.contains(&newest.id), "{disposition}");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes);
        let audit = audit_rows(&app, "document.download", &newest.id).await;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].client_id.as_deref(), Some(app.demo_client_id.as_str()));
        let detail = audit[0].detail.clone().unwrap().to_string();
        assert!(!detail.contains("Jane") && !detail.contains("Doe"), "{detail}");

        // Absent type → 404; unknown enum → 400 naming the field.
        let (s, ct, b) =
            app.post_json(DOC_DOWNLOAD, Some(&key), &json!({"session_id": sid, "storage_file_type_e": "selfie"})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) =
            app.post_json(DOC_DOWNLOAD, Some(&key), &json!({"session_id": sid, "storage_file_type_e": "face"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "storage_file_type_e");
        let (s, ct, b) = app.post_json(DOC_READ, Some(&key), &json!({})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "session_id");
        let (s, ct, b) = app.post_json(DOC_READ, None, &json!({"session_id": sid})).await;
        assert_problem(s, &ct, &b, 401);

        // Another tenant cannot see the session at all.
        let (_, other_key, _) = other_and_platform(&app).await;
        for (path, body) in [
            (DOC_READ, json!({"session_id": sid})),
            (DOC_LIST, json!({"session_id": sid})),
            (DOC_DOWNLOAD, json!({"session_id": sid, "storage_file_type_e": "driver_license_front"})),
            (SESSION_TESTS, json!({"session_id": sid})),
            (SESSION_DELETE, json!({"session_id": sid})),
        ] {
            let (s, ct, b) = app.post_json(path, Some(&other_key), &body).await;
            assert_problem(s, &ct, &b, 404);
        }
        assert_eq!(audit_rows(&app, "document.download", &newest.id).await.len(), 1);
        assert!(entity::idv_session::Entity::find_by_id(sid.clone()).one(&app.state.db).await.unwrap().is_some());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn session_tests_map_check_results() {
    let tests_seed = seed_sample(&["doc_front_image_manipulation", "dmv_sex_match", "address_crosscheck"]);
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let session = insert_session(&app, &app.demo_client_id).await;
        let (db, cid, sid) = (&app.state.db, app.demo_client_id.as_str(), session.id.as_str());

        // Nothing recorded: every field null, details empty.
        let (s, _, b) = app.post_json(SESSION_TESTS, Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("session tests", &tests_seed, &b, &["details"]);
        assert!(b["doc_front_image_manipulation"].is_null() && b["dmv_sex_match"].is_null() && b["name_crosscheck"].is_null());
        assert_eq!(b["details"], json!({}));

        let rec = |name: &'static str, o: Outcome| checks::record(db, SessionKind::Idv, cid, sid, name, o);
        rec(names::DOC_FRONT_IMAGE_MANIPULATION, Outcome::pass(0.97, "no edits found")).await.unwrap();
        rec(names::DOC_FRONT_SUSPICIOUS_WORDS, Outcome::fail(0.1, "found SPECIMEN")).await.unwrap();
        rec(names::DOC_BACK_ONLINE_DUPLICATION, Outcome::unavailable("no reverse image search configured")).await.unwrap();
        rec(names::DOCUMENT_NUMBER_CROSSCHECK, Outcome::pass(1.0, "equal")).await.unwrap();
        rec(names::NAME_CROSSCHECK, Outcome::fail(0.4, "differs")).await.unwrap();
        rec(names::ADDRESS_CROSSCHECK, Outcome::unavailable("no address on the front")).await.unwrap();
        let mut dmv = Outcome::pass(0.9, "AAMVA answered");
        dmv.evidence = Some(json!({"document_number_match": true, "birth_date_match": false, "sex_match": "yes"}));
        rec(names::DMV, dmv).await.unwrap();

        let (s, _, b) = app.post_json(SESSION_TESTS, Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("session tests", &tests_seed, &b, &["details"]);
        assert_eq!(b["doc_front_image_manipulation"], "pass");
        assert_eq!(b["doc_front_suspicious_words"], "fail");
        assert_eq!(b["doc_back_online_duplication"], "unavailable");
        assert!(b["doc_back_suspicious_words"].is_null());
        assert_eq!(b["dmv_document_number_match"], true);
        assert_eq!(b["dmv_birth_date_match"], false);
        assert!(b["dmv_sex_match"].is_null(), "a non-boolean answer is no answer");
        assert!(b["dmv_street_match"].is_null());
        assert_eq!(b["document_number_crosscheck"], true);
        assert_eq!(b["name_crosscheck"], false);
        assert!(b["address_crosscheck"].is_null());
        assert_eq!(
            b["details"]["doc_back_online_duplication"],
            json!({"status": "unavailable", "score": null, "detail": "no reverse image search configured"})
        );
        assert_eq!(b["details"]["name_crosscheck"]["score"], 0.4);
        assert_eq!(b["details"].as_object().unwrap().len(), 7);
        // Every DMV evidence key the engines are told to write has its `dmv_` field.
        for key in tessera::service::documents::DMV_FIELDS {
            assert!(b.get(format!("dmv_{key}")).is_some(), "dmv_{key} missing");
        }
        assert_eq!(b.as_object().unwrap().keys().filter(|k| k.starts_with("dmv_")).count(), tessera::service::documents::DMV_FIELDS.len());
        assert_eq!(CheckStatus::parse(b["details"]["dmv"]["status"].as_str().unwrap()), Some(CheckStatus::Pass));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn session_delete_removes_everything_but_the_identity() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let cid = app.demo_client_id.clone();
        let session = insert_session(&app, &cid).await;
        let keep = insert_session(&app, &cid).await;
        let sid = session.id.clone();
        let doc = insert_document(&app, &session, Doc::default(), Utc::now()).await;
        let (file, _) = store_png(&app, &session, None, StorageFileType::Selfie, [1, 2, 3], Utc::now()).await;
        let (kept_file, kept_bytes) = store_png(&app, &keep, None, StorageFileType::Selfie, [9, 9, 9], Utc::now()).await;
        insert_face_template(&app, &cid, "idv_session", &sid).await;
        checks::record(db, SessionKind::Idv, &cid, &sid, names::LIVENESS, Outcome::pass(0.9, "live")).await.unwrap();
        history::append(db, SessionKind::Idv, &cid, &sid, "created", "test", None).await.unwrap();
        let capture = Capture {
            kind: SessionKind::Idv,
            client_id: &cid,
            session_id: &sid,
            capture_type: CaptureType::SelfieImageCapture,
            ip: Some("203.0.113.9".into()),
            position: Some(DevicePosition::new(51.5, -0.1).unwrap()),
        };
        location::record(db, capture).await.unwrap();
        entity::metadata_entry::ActiveModel {
            id: Set(tessera::ids::new_id()),
            client_id: Set(cid.clone()),
            owner_kind: Set("idv_session".into()),
            owner_id: Set(sid.clone()),
            key: Set("crm".into()),
            value: Set("7".into()),
        }
        .insert(db)
        .await
        .unwrap();
        let now = Utc::now();
        entity::job::ActiveModel {
            id: Set(tessera::ids::new_id()),
            kind: Set("analyze_image".into()),
            payload: Set(json!({})),
            status: Set("pending".into()),
            attempts: Set(0),
            max_attempts: Set(3),
            run_at: Set(now),
            locked_by: Set(None),
            locked_until: Set(None),
            last_error: Set(None),
            session_id: Set(Some(sid.clone())),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        // The session verified an identity: the identity must survive.
        let txn = db.begin().await.unwrap();
        let identity = identities::upsert_from_verified_session(&txn, &session, Some(&doc), Some(0.9), Utc::now()).await.unwrap();
        txn.commit().await.unwrap();
        let session_template = insert_face_template(&app, &cid, "idv_session", &sid).await;

        let (s, _, b) = app.post_json(SESSION_DELETE, Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!((s, b), (200, json!({})));

        assert!(entity::idv_session::Entity::find_by_id(sid.clone()).one(db).await.unwrap().is_none());
        macro_rules! none_left {
            ($entity:ident, $col:expr) => {
                assert_eq!(
                    entity::$entity::Entity::find().filter($col.eq(sid.clone())).count(db).await.unwrap(),
                    0,
                    stringify!($entity)
                );
            };
        }
        none_left!(document, entity::document::Column::SessionId);
        none_left!(stored_file, entity::stored_file::Column::SessionId);
        none_left!(check_result, entity::check_result::Column::SessionId);
        none_left!(session_event, entity::session_event::Column::SessionId);
        none_left!(capture_location, entity::capture_location::Column::SessionId);
        none_left!(metadata_entry, entity::metadata_entry::Column::OwnerId);
        none_left!(job, entity::job::Column::SessionId);
        none_left!(face_template, entity::face_template::Column::OwnerId);
        assert!(entity::face_template::Entity::find_by_id(session_template).one(db).await.unwrap().is_none());
        assert!(app.state.storage.get_raw(&file.object_key).await.unwrap().is_none(), "blob deleted");

        // The identity, its face template and the other session are untouched.
        let still = identities::get(db, &cid, &identity.id).await.unwrap();
        assert!(still.verified);
        let identity_templates = entity::face_template::Entity::find()
            .filter(entity::face_template::Column::OwnerId.eq(identity.id.clone()))
            .count(db)
            .await
            .unwrap();
        assert_eq!(identity_templates, 1);
        assert_eq!(files::read_bytes(&app.state.storage, &kept_file).await.unwrap(), kept_bytes);

        let audit = audit_rows(&app, "idv_session.delete", &sid).await;
        assert_eq!(audit.len(), 1);
        let detail = audit[0].detail.clone().unwrap();
        assert_eq!(detail["stored_files"], 1);
        assert_eq!(detail["documents"], 1);
        assert_eq!(detail["jobs"], 1);
        assert!(!detail.to_string().contains("Jane"));

        let (s, ct, b) = app.post_json(SESSION_DELETE, Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_problem(s, &ct, &b, 404);
        app.cleanup().await;
    }
}

// ---------- identities ----------

#[tokio::test]
async fn a_verified_session_creates_then_refreshes_one_identity() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let cid = app.demo_client_id.clone();
        // PostgreSQL keeps microseconds.
        let t1 = (Utc::now() - Duration::hours(2)).trunc_subsecs(6);

        let s1 = insert_session(&app, &cid).await;
        let s1 = update_session(&app, s1, |a| {
            a.metadata = Set(json!({"crm_id": "C-42", "tier": 2}));
            a.document_front_given = Set(true);
            a.document_front_given_at = Set(Some(t1));
            a.liveness_detected = Set(true);
            a.liveness_detected_at = Set(Some(t1));
            a.ofac_status = Set("clear".into());
            a.ofac_detected_at = Set(Some(t1));
            a.dmv_status = Set("match".into());
            a.dmv_detected_at = Set(Some(t1));
        })
        .await;
        let d1 = insert_document(&app, &s1, Doc::default(), t1).await;
        let (f1, _) = store_png(&app, &s1, None, StorageFileType::Selfie, [5, 5, 5], t1).await;
        let tpl = insert_face_template(&app, &cid, "idv_session", &s1.id).await;

        let txn = db.begin().await.unwrap();
        let created = identities::upsert_from_verified_session(&txn, &s1, Some(&d1), Some(0.91), t1).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(created.client_id, cid);
        assert_eq!((created.first_name.as_deref(), created.last_name.as_deref()), (Some("Jane"), Some("Doe")));
        assert_eq!(created.suffix_name.as_deref(), Some("JR"));
        assert_eq!(created.birth_date.as_deref(), Some("1990-01-02"));
        assert_eq!(created.gender, "female");
        assert_eq!(created.street.as_deref(), Some("1 Main St"));
        assert!(created.verified);
        assert_eq!(created.verified_at, Some(t1));
        assert_eq!(created.last_verified, Some(t1));
        assert_eq!(created.score, Some(0.91));
        assert_eq!((created.ofac_status.as_str(), created.dmv_status.as_str()), ("clear", "match"));
        assert!(created.document_front_given && created.liveness_detected);
        assert_eq!(created.latest_idv_session_id.as_deref(), Some(s1.id.as_str()));
        // Linked: session, document, file; the face template moved to the identity.
        let iid = created.id.clone();
        let s1_now = entity::idv_session::Entity::find_by_id(s1.id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(s1_now.identity_id.as_deref(), Some(iid.as_str()));
        let d1_now = entity::document::Entity::find_by_id(d1.id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(d1_now.identity_id.as_deref(), Some(iid.as_str()));
        let f1_now = entity::stored_file::Entity::find_by_id(f1.id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(f1_now.identity_id.as_deref(), Some(iid.as_str()));
        let tpl_now = entity::face_template::Entity::find_by_id(tpl).one(db).await.unwrap().unwrap();
        assert_eq!((tpl_now.owner_kind.as_str(), tpl_now.owner_id.as_str()), ("identity", iid.as_str()));
        let mut meta: Vec<(String, String)> = entity::metadata_entry::Entity::find()
            .filter(entity::metadata_entry::Column::OwnerKind.eq("identity"))
            .filter(entity::metadata_entry::Column::OwnerId.eq(iid.clone()))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect();
        meta.sort();
        assert_eq!(meta, vec![("crm_id".into(), "C-42".into()), ("tier".into(), "2".into())]);

        // A second session with the same document (other case, stray spaces) refreshes it.
        let t2 = t1 + Duration::hours(1);
        let s2 = insert_session(&app, &cid).await;
        let d2 = insert_document(&app, &s2, Doc { number: " d1234567 ", street: "9 New Rd", ..Doc::default() }, t2).await;
        let txn = db.begin().await.unwrap();
        let refreshed = identities::upsert_from_verified_session(&txn, &s2, Some(&d2), Some(0.95), t2).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(refreshed.id, iid, "same document → same identity");
        assert_eq!(refreshed.verified_at, Some(t1), "first verification kept");
        assert_eq!(refreshed.last_verified, Some(t2));
        assert_eq!(refreshed.score, Some(0.95));
        assert_eq!(refreshed.street.as_deref(), Some("9 New Rd"));
        assert_eq!(refreshed.ofac_status, "clear", "an unknown outcome does not overwrite a known one");
        assert_eq!(refreshed.latest_idv_session_id.as_deref(), Some(s2.id.as_str()));
        assert_eq!(refreshed.created_at, created.created_at);
        let count = entity::identity::Entity::find()
            .filter(entity::identity::Column::ClientId.eq(cid.clone()))
            .count(db)
            .await
            .unwrap();
        assert_eq!(count, 1);

        // Another document number, or another client with the same document → another identity.
        let s3 = insert_session(&app, &cid).await;
        let d3 = insert_document(&app, &s3, Doc { number: "X999", ..Doc::default() }, t2).await;
        let txn = db.begin().await.unwrap();
        let third = identities::upsert_from_verified_session(&txn, &s3, Some(&d3), None, t2).await.unwrap();
        txn.commit().await.unwrap();
        assert_ne!(third.id, iid);
        assert_eq!(third.score, None);
        let (other_id, _, _) = other_and_platform(&app).await;
        let s4 = insert_session(&app, &other_id).await;
        let d4 = insert_document(&app, &s4, Doc::default(), t2).await;
        let txn = db.begin().await.unwrap();
        let foreign = identities::upsert_from_verified_session(&txn, &s4, Some(&d4), Some(0.5), t2).await.unwrap();
        txn.commit().await.unwrap();
        assert_ne!(foreign.id, iid);
        assert_eq!(foreign.client_id, other_id);

        // A session already linked to an identity refreshes that one, even without a document.
        let s5 = insert_session(&app, &cid).await;
        let s5 = update_session(&app, s5, |a| a.identity_id = Set(Some(third.id.clone()))).await;
        let txn = db.begin().await.unwrap();
        let again = identities::upsert_from_verified_session(&txn, &s5, None, Some(0.7), t2).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(again.id, third.id);
        assert_eq!(again.score, Some(0.7));
        app.cleanup().await;
    }
}

#[tokio::test]
async fn identity_list_filters_search_and_totals() {
    let list_seed = seed_sample(&["identities", "meta_counts"]);
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let cid = app.demo_client_id.clone();
        let key = app.demo_key.clone();
        let (other_id, other_key, platform_key) = other_and_platform(&app).await;
        let base = Utc::now() - Duration::days(10);
        let ada = insert_identity(
            &app,
            &cid,
            Ident { email: Some("ada@example.com"), user_id: Some("u1"), metadata: &[("crm", "A-1")], ..ident("Ada", "Lovelace", base) },
        )
        .await;
        let alan = insert_identity(
            &app,
            &cid,
            Ident { user_id: Some("u2"), metadata: &[("crm", "Q-2"), ("team", "x")], ..ident("Alan", "Turing", base + Duration::days(2)) },
        )
        .await;
        let grace = insert_identity(&app, &cid, ident("Grace", "Hopper", base + Duration::days(4))).await;
        let erased = insert_identity(&app, &cid, ident("Gone", "Person", base + Duration::days(5))).await;
        let mut tomb = erased.clone().into_active_model();
        tomb.erased_at = Set(Some(Utc::now()));
        tomb.update(&app.state.db).await.unwrap();
        // "Lovelace", not "Ada": ids are hex, so a hex-only term could match an id.
        let foreign = insert_identity(&app, &other_id, ident("Ada", "Lovelace", base)).await;

        let list = |body: Value| {
            let key = key.clone();
            let app = &app;
            async move {
                let (s, _, b) = app.post_json(ID_LIST, Some(&key), &body).await;
                assert_eq!(s, 200, "{b}");
                b
            }
        };
        let ids = |b: &Value| -> Vec<String> {
            b["identities"].as_array().unwrap().iter().map(|i| i["identity_id"].as_str().unwrap().to_string()).collect()
        };

        let b = list(json!({})).await;
        assert_seed_shape("list identities", &list_seed, &b, &[]);
        assert_eq!(ids(&b), vec![grace.id.clone(), alan.id.clone(), ada.id.clone()], "newest first, erased and foreign left out");
        assert_eq!(b["meta_counts"], json!({"take": 25, "skip": 0, "response": 3, "total": 3}));
        let first = &b["identities"][2];
        assert_eq!(first["name_suffix"], Value::Null);
        assert_eq!(first["email"], "ada@example.com");
        assert_eq!(first["identity_score"], 0.87);
        assert_eq!(first["ofac_status_e"], "clear");
        assert_eq!(first["dmv_status_e"], "match");
        assert_eq!(first["external_id"], "ext-lovelace");

        let b = list(json!({"take": 1, "skip": 1})).await;
        assert_eq!(ids(&b), vec![alan.id.clone()]);
        assert_eq!(b["meta_counts"], json!({"take": 1, "skip": 1, "response": 1, "total": 3}));

        // Search: case-insensitive over names, email, id, metadata values; every word must match.
        assert_eq!(ids(&list(json!({"search_term": "LOVELACE"})).await), vec![ada.id.clone()]);
        assert_eq!(ids(&list(json!({"search_term": "ada@EXAMPLE"})).await), vec![ada.id.clone()]);
        // (Not a hex-only term: "b-2" could also match a time-ordered id such as "…c5b-21…".)
        assert_eq!(ids(&list(json!({"search_term": "q-2"})).await), vec![alan.id.clone()]);
        assert_eq!(ids(&list(json!({"search_term": grace.id})).await), vec![grace.id.clone()]);
        assert_eq!(ids(&list(json!({"search_term": "alan turing"})).await), vec![alan.id.clone()]);
        assert_eq!(ids(&list(json!({"search_term": "alan hopper"})).await), Vec::<String>::new());
        assert_eq!(list(json!({"search_term": "%"})).await["meta_counts"]["total"], 0, "wildcards match literally");

        // user_id: string or array.
        assert_eq!(ids(&list(json!({"user_id": "u1"})).await), vec![ada.id.clone()]);
        assert_eq!(ids(&list(json!({"user_id": ["u1", "u2"]})).await), vec![alan.id.clone(), ada.id.clone()]);

        // Dates bound created_at, inclusive; YYYY-MM-DD covers the day.
        let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        assert_eq!(ids(&list(json!({"start_date": day(base + Duration::days(1))})).await), vec![grace.id.clone(), alan.id.clone()]);
        assert_eq!(ids(&list(json!({"end_date": day(base + Duration::days(2))})).await), vec![alan.id.clone(), ada.id.clone()]);
        let b = list(json!({"start_date": (base + Duration::days(2)).to_rfc3339(), "end_date": (base + Duration::days(2)).to_rfc3339()})).await;
        assert_eq!(ids(&b), vec![alan.id.clone()]);
        let (s, ct, b) = app.post_json(ID_LIST, Some(&key), &json!({"start_date": "soon"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "start_date");

        // Metadata: exact match, all pairs.
        assert_eq!(ids(&list(json!({"metadata": {"crm": "Q-2"}})).await), vec![alan.id.clone()]);
        assert_eq!(ids(&list(json!({"metadata": {"crm": "Q-2", "team": "x"}})).await), vec![alan.id.clone()]);
        assert_eq!(list(json!({"metadata": {"crm": "Q-2", "team": "y"}})).await["meta_counts"]["total"], 0);
        assert_eq!(list(json!({"metadata": {"crm": "q-2"}})).await["meta_counts"]["total"], 0);

        // Tenancy: another client only for the platform operator.
        let (s, ct, b) = app.post_json(ID_LIST, Some(&key), &json!({"client_id": other_id})).await;
        assert_problem(s, &ct, &b, 404);
        let (_, _, b) = app.post_json(ID_LIST, Some(&other_key), &json!({})).await;
        assert_eq!(ids(&b), vec![foreign.id.clone()]);
        let (s, _, b) = app.post_json(ID_LIST, Some(&platform_key), &json!({"client_id": [other_id, cid], "search_term": "lovelace"})).await;
        assert_eq!(s, 200, "{b}");
        let mut got = ids(&b);
        got.sort();
        let mut want = vec![ada.id.clone(), foreign.id.clone()];
        want.sort();
        assert_eq!(got, want);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn identity_read_single_batch_and_sdk_status() {
    let read_seed = seed_sample(&["identities", "identity_id", "suffix_name"]);
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let cid = app.demo_client_id.clone();
        let key = app.demo_key.clone();
        let (other_id, other_key, _) = other_and_platform(&app).await;
        let t = Utc::now() - Duration::days(1);
        let a = insert_identity(&app, &cid, Ident { metadata: &[("crm", "A")], ..ident("Ada", "Lovelace", t) }).await;
        let b_ = insert_identity(&app, &cid, Ident { metadata: &[("crm", "B")], ..ident("Bob", "Builder", t + Duration::hours(1)) }).await;
        let foreign = insert_identity(&app, &other_id, ident("Olga", "Other", t)).await;

        let (s, _, b) = app.post_json(ID_READ, Some(&key), &json!({"identity_id": a.id})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("read identities", &read_seed, &b, &[]);
        assert_eq!(b["identities"].as_array().unwrap().len(), 1);
        assert_eq!(b["identity_id"], a.id);
        assert_eq!(b["first_name"], "Ada");
        assert_eq!(b["gender_e"], "male");
        assert_eq!(b["street"], "2 Side St");
        assert_eq!(b["score"], 0.87);
        let mut top = b.as_object().unwrap().clone();
        top.remove("identities");
        assert_eq!(Value::Object(top), b["identities"][0], "the first identity is flattened at the top level");

        // Batch: requested order, unknown and foreign ids left out.
        let body = json!({"identity_id": [b_.id, "nope"], "identity_ids": [a.id, foreign.id, b_.id]});
        let (s, _, b) = app.post_json(ID_READ, Some(&key), &body).await;
        assert_eq!(s, 200, "{b}");
        let got: Vec<&str> = b["identities"].as_array().unwrap().iter().map(|i| i["identity_id"].as_str().unwrap()).collect();
        assert_eq!(got, vec![b_.id.as_str(), a.id.as_str()]);
        assert_eq!(b["identity_id"], b_.id);
        assert_eq!(b["first_name"], "Bob");

        // Metadata narrows, or selects alone.
        let (_, _, b) = app.post_json(ID_READ, Some(&key), &json!({"identity_ids": [a.id, b_.id], "metadata": {"crm": "A"}})).await;
        assert_eq!(b["identities"].as_array().unwrap().len(), 1);
        assert_eq!(b["identity_id"], a.id);
        let (_, _, b) = app.post_json(ID_READ, Some(&key), &json!({"metadata": {"crm": "B"}})).await;
        assert_eq!(b["identity_id"], b_.id);

        // Nothing found, another tenant's id, no criteria.
        for body in [json!({"identity_id": "nope"}), json!({"identity_id": foreign.id}), json!({"metadata": {"crm": "Z"}})] {
            let (s, ct, b) = app.post_json(ID_READ, Some(&key), &body).await;
            assert_problem(s, &ct, &b, 404);
        }
        let (s, ct, b) = app.post_json(ID_READ, Some(&key), &json!({})).await;
        assert_problem(s, &ct, &b, 400);
        let (s, ct, b) = app.post_json(ID_READ, Some(&other_key), &json!({"identity_id": a.id})).await;
        assert_problem(s, &ct, &b, 404);

        // SDK status via X-Client-Id, scoped to that client.
        let sdk = |client: &str, id: &str| {
            app.http.post(app.url(ID_STATUS)).header("X-Client-Id", client).json(&json!({"identity_id": id})).send()
        };
        let (s, _, b) = common::read(sdk(&cid, &a.id).await.unwrap()).await;
        assert_eq!((s, b), (200, json!({"verified": true})));
        let mut unverified = b_.clone().into_active_model();
        unverified.verified = Set(false);
        unverified.update(&app.state.db).await.unwrap();
        let (s, _, b) = common::read(sdk(&cid, &b_.id).await.unwrap()).await;
        assert_eq!((s, b), (200, json!({"verified": false})));
        let (s, ct, b) = common::read(sdk(&other_id, &a.id).await.unwrap()).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = common::read(sdk("no-such-client", &a.id).await.unwrap()).await;
        assert_problem(s, &ct, &b, 401);
        let resp = app.http.post(app.url(ID_STATUS)).json(&json!({"identity_id": a.id})).send().await.unwrap();
        let (s, ct, b) = common::read(resp).await;
        assert_problem(s, &ct, &b, 401);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn identity_document_and_image() {
    let doc_seed = seed_sample(&["document_type_e", "document_data_source_e", "issue_date"]);
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let cid = app.demo_client_id.clone();
        let key = app.demo_key.clone();
        let (_, other_key, _) = other_and_platform(&app).await;
        let t = Utc::now() - Duration::hours(3);

        let s1 = insert_session(&app, &cid).await;
        let d1 = insert_document(&app, &s1, Doc { number: "OLD", ..Doc::default() }, t).await;
        let (_, _) = store_png(&app, &s1, None, StorageFileType::Selfie, [1, 1, 1], t).await;
        let txn = db.begin().await.unwrap();
        let identity = identities::upsert_from_verified_session(&txn, &s1, Some(&d1), Some(0.8), t).await.unwrap();
        txn.commit().await.unwrap();
        let s2 = insert_session(&app, &cid).await;
        let s2 = update_session(&app, s2, |a| a.identity_id = Set(Some(identity.id.clone()))).await;
        let d2 = insert_document(&app, &s2, Doc { number: "NEW", ..Doc::default() }, t + Duration::hours(1)).await;
        let (newest, bytes) = store_png(&app, &s2, None, StorageFileType::Selfie, [2, 2, 2], t + Duration::hours(1)).await;
        let txn = db.begin().await.unwrap();
        identities::upsert_from_verified_session(&txn, &s2, Some(&d2), Some(0.9), t + Duration::hours(1)).await.unwrap();
        txn.commit().await.unwrap();
        let iid = identity.id.clone();

        let (s, _, b) = app.post_json(ID_DOCUMENT, Some(&key), &json!({"identity_id": iid, "document_type_e": "driver_license"})).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("read completed identity document", &doc_seed, &b, &[]);
        assert_eq!(b["document_id"], d2.id);
        assert_eq!(b["document_number"], "NEW");
        assert_eq!(b["document_type_e"], "driver_license");
        assert_eq!(b["document_data_source_e"], "barcode");
        assert_eq!(b["issue_date"], "2020-03-04");
        assert_eq!(b["expiration_date"], "2028-03-04");
        assert_eq!(b["suffix_name"], "JR");
        let (s, ct, b) = app.post_json(ID_DOCUMENT, Some(&key), &json!({"identity_id": iid, "document_type_e": "passport"})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app.post_json(ID_DOCUMENT, Some(&key), &json!({"identity_id": iid, "document_type_e": "visa"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "document_type_e");
        let (s, ct, b) = app.post_json(ID_DOCUMENT, Some(&other_key), &json!({"identity_id": iid, "document_type_e": "driver_license"})).await;
        assert_problem(s, &ct, &b, 404);

        let resp = post_raw(&app, ID_IMAGE, &key, &json!({"identity_id": iid, "storage_file_type_e": "selfie"})).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), bytes);
        let audit = audit_rows(&app, "identity.image.read", &newest.id).await;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].detail.as_ref().unwrap()["identity_id"], iid);
        let (s, ct, b) = app.post_json(ID_IMAGE, Some(&key), &json!({"identity_id": iid, "storage_file_type_e": "passport_front"})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app.post_json(ID_IMAGE, Some(&key), &json!({"identity_id": iid, "storage_file_type_e": "portrait"})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "storage_file_type_e");
        let (s, ct, b) = app.post_json(ID_IMAGE, Some(&other_key), &json!({"identity_id": iid, "storage_file_type_e": "selfie"})).await;
        assert_problem(s, &ct, &b, 404);
        assert_eq!(audit_rows(&app, "identity.image.read", &newest.id).await.len(), 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn identity_erasure_removes_personal_data() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let cid = app.demo_client_id.clone();
        let key = app.demo_key.clone();
        let (_, other_key, _) = other_and_platform(&app).await;

        let s1 = insert_session(&app, &cid).await;
        let s1 = update_session(&app, s1, |a| {
            a.metadata = Set(json!({"crm": "E-1"}));
            a.first_name = Set(Some("Jane".into()));
            a.last_name = Set(Some("Doe".into()));
            a.birth_date = Set(Some("1990-01-02".into()));
        })
        .await;
        let d1 = insert_document(&app, &s1, Doc::default(), Utc::now()).await;
        let (f1, _) = store_png(&app, &s1, None, StorageFileType::DriverLicenseFront, [3, 3, 3], Utc::now()).await;
        insert_face_template(&app, &cid, "idv_session", &s1.id).await;
        // Free text that names the person: a check's detail and evidence, a
        // history event's detail, the session's metadata.
        let mut pii_check = tessera::service::checks::Outcome::fail(0.2, "printed name Jane Doe differs");
        pii_check.evidence = Some(json!({"front": "Jane Doe"}));
        tessera::service::checks::record(db, tessera::service::history::SessionKind::Idv, &cid, &s1.id, "name_crosscheck", pii_check)
            .await
            .unwrap();
        entity::session_event::ActiveModel {
            id: Set(tessera::ids::new_id()),
            client_id: Set(cid.clone()),
            session_kind: Set("idv".into()),
            session_id: Set(s1.id.clone()),
            event: Set("metadata".into()),
            endpoint: Set("sdk".into()),
            at: Set(Utc::now()),
            detail: Set(Some(json!({"name": "Jane Doe"}))),
        }
        .insert(db)
        .await
        .unwrap();
        entity::idv_session::Entity::update_many()
            .col_expr(entity::idv_session::Column::Metadata, sea_orm::sea_query::Expr::value(json!({"customer": "Jane Doe"})))
            .filter(entity::idv_session::Column::Id.eq(s1.id.clone()))
            .exec(db)
            .await
            .unwrap();
        let txn = db.begin().await.unwrap();
        let identity = identities::upsert_from_verified_session(&txn, &s1, Some(&d1), Some(0.9), Utc::now()).await.unwrap();
        txn.commit().await.unwrap();
        let iid = identity.id.clone();
        // A re-authentication session with its own selfie.
        let now = Utc::now();
        let ida = entity::ida_session::ActiveModel {
            id: Set(tessera::ids::new_id()),
            client_id: Set(cid.clone()),
            user_id: Set(None),
            identity_id: Set(iid.clone()),
            idv_weights_id: Set(s1.idv_weights_id.clone()),
            status: Set("complete".into()),
            liveness_mode: Set("passive".into()),
            liveness_provider: Set("local".into()),
            webhook_url: Set(None),
            metadata: Set(json!({})),
            sdk_metadata: Set(json!({})),
            settings: Set(json!({})),
            first_name: Set(Some("Jane".into())),
            middle_name: Set(None),
            last_name: Set(Some("Doe".into())),
            suffix_name: Set(None),
            liveness_detected: Set(true),
            liveness_detected_at: Set(Some(now)),
            selfie_given: Set(true),
            selfie_given_at: Set(Some(now)),
            authenticated: Set(Some(true)),
            face_distance: Set(Some(0.3)),
            reasons: Set(None),
            failed_attempts: Set(0),
            event_sequence: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            completed_at: Set(Some(now)),
            expires_at: Set(now + Duration::hours(1)),
            blocked_until: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
        let ida_file = {
            let valid = files::validate_image("image", png(8, 8, [4, 4, 4])).unwrap();
            let owner = FileOwner { client_id: &cid, session_kind: "ida", session_id: &ida.id, identity_id: Some(&iid) };
            files::put_image(&app.state.storage, &owner, StorageFileType::Selfie, &valid).await.unwrap().insert(db).await.unwrap()
        };
        insert_face_template(&app, &cid, "ida_session", &ida.id).await;
        let unrelated = insert_identity(&app, &cid, ident("Keep", "Me", now)).await;

        // Another tenant cannot erase it.
        let (s, ct, b) = app.post_json(ID_DELETE, Some(&other_key), &json!({"identity_id": iid})).await;
        assert_problem(s, &ct, &b, 404);
        assert!(identities::find_live(db, &cid, &iid).await.unwrap().is_some());

        let (s, _, b) = app.post_json(ID_DELETE, Some(&key), &json!({"identity_id": iid})).await;
        assert_eq!((s, b), (200, json!({})));

        // Files (rows and blobs), templates, documents, metadata: gone.
        for f in [&f1, &ida_file] {
            assert!(entity::stored_file::Entity::find_by_id(f.id.clone()).one(db).await.unwrap().is_none());
            assert!(app.state.storage.get_raw(&f.object_key).await.unwrap().is_none(), "blob {} deleted", f.object_key);
        }
        let templates = entity::face_template::Entity::find()
            .filter(entity::face_template::Column::OwnerId.is_in([iid.clone(), s1.id.clone(), ida.id.clone()]))
            .count(db)
            .await
            .unwrap();
        assert_eq!(templates, 0);
        assert!(entity::document::Entity::find_by_id(d1.id.clone()).one(db).await.unwrap().is_none());
        let meta = entity::metadata_entry::Entity::find()
            .filter(entity::metadata_entry::Column::OwnerId.eq(iid.clone()))
            .count(db)
            .await
            .unwrap();
        assert_eq!(meta, 0);
        // Sessions: personal columns cleared, IDV unlinked, IDA kept on the tombstone.
        let s1_now = entity::idv_session::Entity::find_by_id(s1.id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((s1_now.first_name, s1_now.last_name, s1_now.birth_date, s1_now.identity_id), (None, None, None, None));
        assert_eq!(s1_now.metadata, json!({}));
        let ida_now = entity::ida_session::Entity::find_by_id(ida.id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((ida_now.first_name, ida_now.last_name), (None, None));
        // Verdicts stay; the free text that named the person does not.
        let check = entity::check_result::Entity::find()
            .filter(entity::check_result::Column::SessionId.eq(s1.id.clone()))
            .filter(entity::check_result::Column::CheckName.eq("name_crosscheck"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((check.status.as_str(), check.detail, check.evidence), ("fail", None, None));
        let events = entity::session_event::Entity::find()
            .filter(entity::session_event::Column::SessionId.eq(s1.id.clone()))
            .all(db)
            .await
            .unwrap();
        assert!(!events.is_empty() && events.iter().all(|e| e.detail.is_none()), "history details scrubbed");
        // The tombstone carries no personal data.
        let tomb = entity::identity::Entity::find_by_id(iid.clone()).one(db).await.unwrap().unwrap();
        assert!(tomb.erased_at.is_some());
        assert!(!tomb.verified, "an erased identity is not verified");
        assert_eq!(
            (tomb.first_name, tomb.last_name, tomb.birth_date, tomb.street, tomb.email, tomb.phone),
            (None, None, None, None, None, None)
        );
        assert_eq!(tomb.metadata, json!({}));

        // Audited without personal data.
        let audit = audit_rows(&app, "identity.erase", &iid).await;
        assert_eq!(audit.len(), 1);
        let detail = audit[0].detail.clone().unwrap();
        assert_eq!(detail["stored_files"], 2);
        assert_eq!(detail["documents"], 1);
        assert_eq!(detail["ida_sessions_cleared"], 1);
        let text = detail.to_string();
        for pii in ["Jane", "Doe", "1990-01-02", "Main St", "E-1"] {
            assert!(!text.contains(pii), "{pii} in {text}");
        }

        // Afterwards it is absent everywhere.
        for (path, body) in [
            (ID_READ, json!({"identity_id": iid})),
            (ID_DOCUMENT, json!({"identity_id": iid, "document_type_e": "driver_license"})),
            (ID_IMAGE, json!({"identity_id": iid, "storage_file_type_e": "selfie"})),
            (ID_DELETE, json!({"identity_id": iid})),
        ] {
            let (s, ct, b) = app.post_json(path, Some(&key), &body).await;
            assert_problem(s, &ct, &b, 404);
        }
        // The SDK's status answers "not verified" for the erased identity (its tombstone is the client's).
        let resp = app.http.post(app.url(ID_STATUS)).header("X-Client-Id", &cid).json(&json!({"identity_id": iid})).send().await.unwrap();
        let (s, _, b) = common::read(resp).await;
        assert_eq!((s, b), (200, json!({"verified": false})));
        let (_, _, b) = app.post_json(ID_LIST, Some(&key), &json!({})).await;
        let listed: Vec<&str> = b["identities"].as_array().unwrap().iter().map(|i| i["identity_id"].as_str().unwrap()).collect();
        assert_eq!(listed, vec![unrelated.id.as_str()]);

        // A new verification with the same document creates a new identity, not the tombstone.
        let s2 = insert_session(&app, &cid).await;
        let d2 = insert_document(&app, &s2, Doc::default(), Utc::now()).await;
        let txn = db.begin().await.unwrap();
        let fresh = identities::upsert_from_verified_session(&txn, &s2, Some(&d2), Some(0.9), Utc::now()).await.unwrap();
        txn.commit().await.unwrap();
        assert_ne!(fresh.id, iid);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_session_made_by_the_create_endpoint_reads_and_deletes() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let (s, _, b) = app.post_json("/api/v1/idv/session/create", Some(&key), &json!({})).await;
        assert_eq!(s, 200, "{b}");
        let sid = b["session_id"].as_str().unwrap().to_string();

        let (s, ct, b) = app.post_json(DOC_READ, Some(&key), &json!({"session_id": sid})).await;
        assert_problem(s, &ct, &b, 404);
        let (_, _, b) = app.post_json(DOC_LIST, Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(b["meta_counts"]["total"], 0);
        let (s, _, b) = app.post_json(SESSION_TESTS, Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{b}");
        assert!(b["doc_front_suspicious_words"].is_null());

        let (s, _, b) = app.post_json(SESSION_DELETE, Some(&key), &json!({"session_id": sid})).await;
        assert_eq!((s, b), (200, json!({})));
        let (s, ct, b) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": sid})).await;
        assert_problem(s, &ct, &b, 404);
        let history = entity::session_event::Entity::find()
            .filter(entity::session_event::Column::SessionId.eq(sid.clone()))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(history, 0, "the creation event went with the session");
        app.cleanup().await;
    }
}

/// `GET /admin/media/{id}` (the admin UI's images): the logged-in user's
/// client only — another tenant's file and an unknown id answer 404 with no
/// audit row; no login answers 401; a view is audited.
#[tokio::test]
async fn admin_media_is_tenant_scoped_and_audited() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let (other_id, _, _) = other_and_platform(&app).await;
        let mine = insert_session(&app, &app.demo_client_id).await;
        let theirs = insert_session(&app, &other_id).await;
        let (my_file, my_bytes) = store_png(&app, &mine, None, StorageFileType::DriverLicenseFront, [10, 20, 30], Utc::now()).await;
        let (their_file, _) = store_png(&app, &theirs, None, StorageFileType::DriverLicenseFront, [90, 80, 70], Utc::now()).await;

        let password = "correct horse battery staple";
        tenancy::create_user(db, &app.demo_client_id, "media@demo.test", tenancy::Role::Viewer, password).await.unwrap();
        let anonymous = reqwest::Client::new();
        let resp = anonymous.get(app.url(&format!("/admin/media/{}", my_file.id))).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{backend}: no login");

        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let resp = http.post(app.url("/api/v1/auth/login")).json(&json!({"email": "media@demo.test", "password": password})).send().await.unwrap();
        assert_eq!(resp.status(), 200);

        let resp = http.get(app.url(&format!("/admin/media/{}", my_file.id))).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{backend}");
        assert_eq!(resp.headers()["content-type"], "image/png");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), my_bytes.as_slice());
        assert_eq!(audit_rows(&app, "stored_file.view", &my_file.id).await.len(), 1, "{backend}: the view is audited");

        for id in [their_file.id.as_str(), "00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc%2Fpasswd"] {
            let resp = http.get(app.url(&format!("/admin/media/{id}"))).send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_problem(status, &ct, &body, 404);
            assert!(!body.to_string().contains(&other_id), "{backend}: nothing about the other tenant");
        }
        assert!(audit_rows(&app, "stored_file.view", &their_file.id).await.is_empty(), "{backend}");

        // The platform operator opens any client's image (what its client selector lists).
        let platform = tenancy::platform_client(db).await.unwrap().expect("platform client");
        tenancy::create_user(db, &platform.id, "operator@platform.test", tenancy::Role::Viewer, password).await.unwrap();
        let operator = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let resp = operator.post(app.url("/api/v1/auth/login")).json(&json!({"email": "operator@platform.test", "password": password})).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let resp = operator.get(app.url(&format!("/admin/media/{}", their_file.id))).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{backend}: the operator sees every client's media");
        assert_eq!(audit_rows(&app, "stored_file.view", &their_file.id).await.len(), 1, "{backend}: audited");
        app.cleanup().await;
    }
}

/// `face_encoding_required`: a session whose face could not be encoded from
/// the document and the selfie misses the requirement (`face_encoding`), and
/// passes it once the face match ran.
#[tokio::test]
async fn face_encoding_requirement_is_enforced_at_finalize() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let cid = app.demo_client_id.clone();
        let mut body = json!({"type_e": "driver_license", "data_source_e": "barcode"});
        for field in [
            "document_number", "ref_number", "issue_at", "expires_at", "issuing_country", "issuing_state", "first_name",
            "middle_name", "last_name", "name_suffix", "street", "city", "state", "postal_code", "birth_date", "gender",
            "height", "weight", "eye_color", "hair_color", "class", "mentions", "restrictions", "raw_barcode",
        ] {
            body[format!("{field}_required")] = json!(false);
        }
        body["face_encoding_required"] = json!(true);
        let (s, _, b) = app.post_json("/api/v1/idv/requirements/update", Some(&app.demo_key), &body).await;
        assert_eq!(s, 200, "{b}");

        for (face_match, met) in [(Outcome::unavailable("no face found on the document"), false), (Outcome::fail(0.1, "faces differ"), true)] {
            let session = insert_session(&app, &cid).await;
            insert_document(&app, &session, Doc::default(), Utc::now()).await;
            checks::record(&app.state.db, SessionKind::Idv, &cid, &session.id, names::FACE_MATCH, face_match).await.unwrap();
            tessera::service::finalize::finalize_idv(&app.state, session.clone(), Default::default(), "test").await.unwrap();
            let rows = checks::for_session(&app.state.db, &cid, &session.id).await.unwrap();
            let req = rows.iter().find(|r| r.check_name == names::REQUIREMENTS).expect("requirements check");
            if met {
                assert_eq!(req.status, "pass", "{backend}: {req:?}");
            } else {
                assert_eq!(req.status, "fail", "{backend}: {req:?}");
                assert!(req.detail.as_deref().unwrap().contains("face_encoding"), "{backend}: {req:?}");
                let stored = entity::idv_session::Entity::find_by_id(session.id.clone()).one(&app.state.db).await.unwrap().unwrap();
                assert_eq!(stored.verified, Some(false));
                assert!(stored.reasons.unwrap().to_string().contains("face_encoding"), "{backend}");
            }
        }
        app.cleanup().await;
    }
}

/// A duplicate document never joins the earlier person's identity: not when
/// the identity belongs to another user, and not when this session's
/// duplication check named the earlier session — but the same user's new
/// session with the same document does refresh their identity.
#[tokio::test]
async fn a_duplicate_document_gets_its_own_identity() {
    use tessera::service::tenancy::Role;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let db = &app.state.db;
        let cid = app.demo_client_id.clone();
        let t = Utc::now().trunc_subsecs(6);
        let alice = tenancy::create_user(db, &cid, "alice@example.com", Role::Viewer, "correct horse battery").await.unwrap();
        let bob = tenancy::create_user(db, &cid, "bob@example.com", Role::Viewer, "correct horse battery").await.unwrap();
        let as_user = |uid: &str| {
            let uid = uid.to_string();
            move |a: &mut entity::idv_session::ActiveModel| a.user_id = Set(Some(uid))
        };
        let verify = |s: entity::idv_session::Model, d: entity::document::Model| async move {
            let txn = db.begin().await.unwrap();
            let i = identities::upsert_from_verified_session(&txn, &s, Some(&d), Some(0.9), t).await.unwrap();
            txn.commit().await.unwrap();
            i
        };

        let s1 = update_session(&app, insert_session(&app, &cid).await, as_user(&alice.id)).await;
        let d1 = insert_document(&app, &s1, Doc::default(), t).await;
        let first = verify(s1.clone(), d1).await;

        // Alice again, same document: her identity is refreshed.
        let s2 = update_session(&app, insert_session(&app, &cid).await, as_user(&alice.id)).await;
        let d2 = insert_document(&app, &s2, Doc::default(), t).await;
        assert_eq!(verify(s2, d2).await.id, first.id, "{backend}: the same user re-verifies");

        // Bob with alice's document: an identity of his own.
        let s3 = update_session(&app, insert_session(&app, &cid).await, as_user(&bob.id)).await;
        let d3 = insert_document(&app, &s3, Doc::default(), t).await;
        let bobs = verify(s3, d3).await;
        assert_ne!(bobs.id, first.id, "{backend}: another user never joins alice's identity");
        assert_eq!(bobs.user_id.as_deref(), Some(bob.id.as_str()));

        // No user on the session, but its duplication check named alice's session.
        let s4 = insert_session(&app, &cid).await;
        let d4 = insert_document(&app, &s4, Doc::default(), t).await;
        let mut dup = Outcome::fail(0.05, format!("the same document identity was read in this tenant's session(s) {}", s1.id));
        dup.evidence = Some(json!({"image": {"sessions": []}, "barcode_identity": {"sessions": [s1.id.clone()]}}));
        checks::record(db, SessionKind::Idv, &cid, &s4.id, names::DOC_BACK_ONLINE_DUPLICATION, dup).await.unwrap();
        let fourth = verify(s4, d4).await;
        assert_ne!(fourth.id, first.id, "{backend}: a named duplicate never joins the earlier identity");
        app.cleanup().await;
    }
}
