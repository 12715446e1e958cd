//! Scoring weights (immutable versions, (client, user) → client → platform
//! lookup) and document requirements (per type and data source, with
//! defaults), through the REST API, on every backend.

use crate::common;

use crate::common::{TestApp, assert_problem, backends, seed};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tessera::service::requirements::{self, RequirementSet};
use tessera::service::tenancy::{self, Role};
use tessera::service::types::{DataSource, DocumentType};
use tessera::service::weights::{self, WeightValues};

const WEIGHTS: &str = "/api/v1/idv/weights";
const WEIGHTS_UPDATE: &str = "/api/v1/idv/weights/update";
const REQUIREMENTS: &str = "/api/v1/idv/requirements";
const REQUIREMENTS_UPDATE: &str = "/api/v1/idv/requirements/update";

macro_rules! flag_names {
    ($($f:ident),*) => { &[$(stringify!($f)),*] };
}
const FLAGS: &[&str] = tessera::for_each_requirement_flag!(flag_names);

async fn get(app: &TestApp, path: &str, key: &str) -> (u16, String, Value) {
    common::read(app.http.get(app.url(path)).bearer_auth(key).send().await.expect("request")).await
}

/// The 200 sample that follows the seed endpoint whose description is `description`.
fn seed_response(description: &str) -> Value {
    let text = seed::seed_text();
    let at = text.find(description).unwrap_or_else(|| panic!("seed lacks {description}"));
    let samples = at + text[at..].find("Response samples").expect("response samples");
    let brace = samples + text[samples..].find('{').expect("sample body");
    seed::balanced_json(&text, brace).0
}

/// The live body has the seed sample's keys; `policy` (the verdict policy
/// stored with a weights version) is the one documented key beyond them.
fn assert_seed_shape(description: &str, live: &Value) {
    let mut live = live.clone();
    if let Some(map) = live.as_object_mut() {
        map.remove("policy");
    }
    let mut diff = Vec::new();
    seed::shape_diff(description, &seed_response(description), &live, &mut diff);
    assert!(diff.is_empty(), "{description}: {diff:#?}\n{live}");
}

/// A complete, valid weights body: the defaults with `changes` applied.
fn weights_body(changes: Value) -> Value {
    let mut body = serde_json::to_value(WeightValues::default()).unwrap();
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A complete requirements body: every flag false except `required`.
fn requirements_body(type_e: &str, data_source_e: &str, required: &[&str], extra: Value) -> Value {
    let mut body = json!({"type_e": type_e, "data_source_e": data_source_e});
    for flag in FLAGS {
        body[*flag] = json!(required.contains(flag));
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn assert_field(status: u16, ct: &str, body: &Value, field: &str) {
    assert_problem(status, ct, body, 400);
    let fields: Vec<&str> =
        body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fields.contains(&field), "expected {field} in {body}");
}

async fn version_count(app: &TestApp) -> u64 {
    entity::weights::Entity::find().count(&app.state.db).await.unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> u64 {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq(action))
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn platform_key(app: &TestApp) -> String {
    let platform = tenancy::platform_client(&app.state.db).await.unwrap().expect("platform client");
    tenancy::create_api_key(&app.state.db, &platform.id, None, Some("operator")).await.unwrap().plaintext
}

/// Another tenant with a key.
async fn other_client(app: &TestApp) -> (String, String) {
    let other = tenancy::create_client(&app.state.db, "Other Inc", false).await.unwrap();
    let key = tenancy::create_api_key(&app.state.db, &other.id, None, None).await.unwrap();
    (other.id, key.plaintext)
}

async fn user_of(app: &TestApp, client_id: &str, email: &str) -> String {
    tenancy::create_user(&app.state.db, client_id, email, Role::Viewer, "correct horse battery").await.unwrap().id
}

#[tokio::test]
async fn weights_default_to_the_platform_version_with_the_seed_keys() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (s, _, b) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["policy"], tessera::engine::policy::Policy::default().to_json(), "new clients get the default policy");
        assert_seed_shape("Get the weights for the IDV system.", &b);
        assert_eq!(b["client_id"], Value::Null);
        assert_eq!(b["user_id"], Value::Null);
        let values: WeightValues = serde_json::from_value(b.clone()).unwrap();
        assert_eq!(values, WeightValues::default());

        let (s, ct, b) = common::read(app.http.get(app.url(WEIGHTS)).send().await.unwrap()).await;
        assert_problem(s, &ct, &b, 401);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn weights_update_writes_a_new_version_and_old_versions_stay_readable() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let platform_default = weights::ensure_platform_default(&app.state.db).await.unwrap();
        let before = version_count(&app).await;

        let (s, _, first) = app
            .post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &weights_body(json!({"idv_session_tolerance": 0.6})))
            .await;
        assert_eq!(s, 200, "{first}");
        let first_id = first["id"].as_str().expect("new version id").to_string();
        let (_, _, now) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!(now["idv_session_tolerance"], 0.6);
        assert_eq!(now["client_id"], app.demo_client_id.as_str());

        let (s, _, second) = app
            .post_json(
                WEIGHTS_UPDATE,
                Some(&app.demo_key),
                &weights_body(json!({"idv_session_tolerance": 0.9, "age_weight": 3})),
            )
            .await;
        assert_eq!(s, 200, "{second}");
        let second_id = second["id"].as_str().unwrap();
        assert_ne!(first_id, second_id);
        assert_eq!(version_count(&app).await, before + 2, "every update is a new row");

        let (_, _, now) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!((now["idv_session_tolerance"].as_f64(), now["age_weight"].as_f64()), (Some(0.9), Some(3.0)));
        // The old version is unchanged.
        let (s, _, old) = get(&app, &format!("{WEIGHTS}/{first_id}"), &app.demo_key).await;
        assert_eq!(s, 200, "{old}");
        assert_seed_shape("Get weights by ID for historical lookup.", &old);
        assert_eq!(old["idv_session_tolerance"], 0.6);
        assert_eq!(old["age_weight"].as_f64(), Some(WeightValues::default().age_weight));
        // So is the platform default, readable by every client.
        let (s, _, pd) = get(&app, &format!("{WEIGHTS}/{}", platform_default.id), &app.demo_key).await;
        assert_eq!(s, 200, "{pd}");
        assert_eq!(pd["client_id"], Value::Null);
        assert_eq!(pd["idv_session_tolerance"].as_f64(), Some(WeightValues::default().idv_session_tolerance));

        assert_eq!(audit_count(&app, "weights.update").await, 2);
        let (s, ct, b) = get(&app, &format!("{WEIGHTS}/no-such-version"), &app.demo_key).await;
        assert_problem(s, &ct, &b, 404);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn user_weights_fall_back_to_the_client_then_the_platform_default() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let alice = user_of(&app, &app.demo_client_id, "alice@demo.test").await;
        let bob = user_of(&app, &app.demo_client_id, "bob@demo.test").await;
        let for_user = |u: &str| format!("{WEIGHTS}?user_id={u}");

        let (_, _, b) = get(&app, &for_user(&alice), &app.demo_key).await;
        assert_eq!((b["client_id"].clone(), b["user_id"].clone()), (Value::Null, Value::Null), "platform default");

        let client_body = weights_body(json!({"gender_weight": 7}));
        let (s, _, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &client_body).await;
        assert_eq!(s, 200, "{b}");
        let (_, _, b) = get(&app, &for_user(&alice), &app.demo_key).await;
        assert_eq!(b["client_id"], app.demo_client_id.as_str());
        assert_eq!(b["user_id"], Value::Null);
        assert_eq!(b["gender_weight"], 7.0);

        let user_body = weights_body(json!({"gender_weight": 9, "user_id": alice}));
        let (s, _, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &user_body).await;
        assert_eq!(s, 200, "{b}");
        let (_, _, b) = get(&app, &for_user(&alice), &app.demo_key).await;
        assert_eq!((b["user_id"].as_str(), b["gender_weight"].as_f64()), (Some(alice.as_str()), Some(9.0)));
        // Other users and the client as a whole keep the client version.
        let (_, _, b) = get(&app, &for_user(&bob), &app.demo_key).await;
        assert_eq!((b["user_id"].clone(), b["gender_weight"].as_f64()), (Value::Null, Some(7.0)));
        let (_, _, b) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!(b["gender_weight"], 7.0);
        // The service other modules call agrees.
        let w = weights::in_force(&app.state.db, &app.demo_client_id, Some(&alice)).await.unwrap();
        assert_eq!(w.gender_weight, 9.0);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn weights_update_rejects_out_of_range_mistyped_and_missing_fields() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let before = version_count(&app).await;
        let cases = [
            (json!({"ofac_fuzzy_match_tolerance": 1.5}), "ofac_fuzzy_match_tolerance"),
            (json!({"onboarding_face_encoding_tolerance": -0.1}), "onboarding_face_encoding_tolerance"),
            (json!({"age_tolerance": 121}), "age_tolerance"),
            (json!({"direction_tolerance": 90.5}), "direction_tolerance"),
            (json!({"gender_weight": 100.01}), "gender_weight"),
            (json!({"aamva_match_weight": -1}), "aamva_match_weight"),
            (json!({"expression_tolerance": "high"}), "expression_tolerance"),
            (json!({"idv_session_tolerance": null}), "idv_session_tolerance"),
        ];
        for (change, field) in cases {
            let (s, ct, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &weights_body(change)).await;
            assert_field(s, &ct, &b, field);
        }
        let mut missing = weights_body(json!({}));
        missing.as_object_mut().unwrap().remove("passive_active_skip_tolerance");
        let (s, ct, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &missing).await;
        assert_field(s, &ct, &b, "passive_active_skip_tolerance");
        // A number too large for f64 is not accepted either.
        let resp = app
            .http
            .post(app.url(WEIGHTS_UPDATE))
            .bearer_auth(&app.demo_key)
            .header("content-type", "application/json")
            .body(weights_body(json!({})).to_string().replace("\"age_weight\":0.5", "\"age_weight\":1e400"))
            .send()
            .await
            .unwrap();
        let (s, ct, b) = common::read(resp).await;
        assert_field(s, &ct, &b, "age_weight");
        assert_eq!(version_count(&app).await, before, "nothing written");
        assert_eq!(audit_count(&app, "weights.update").await, 0);

        // The bounds themselves are accepted: years and degrees are not 0..1.
        let edge = weights_body(
            json!({"age_tolerance": 120, "direction_tolerance": 90, "gender_weight": 100, "idv_session_tolerance": 0}),
        );
        let (s, _, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &edge).await;
        assert_eq!(s, 200, "{b}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn another_tenants_weights_and_client_id_are_not_found() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (other_id, other_key) = other_client(&app).await;
        let other_user = user_of(&app, &other_id, "carol@other.test").await;
        let (s, _, created) = app.post_json(WEIGHTS_UPDATE, Some(&other_key), &weights_body(json!({}))).await;
        assert_eq!(s, 200, "{created}");
        let other_version = format!("{WEIGHTS}/{}", created["id"].as_str().unwrap());

        let (s, ct, b) = get(&app, &other_version, &app.demo_key).await;
        assert_problem(s, &ct, &b, 404);
        let (s, _, b) = get(&app, &other_version, &other_key).await;
        assert_eq!((s, b["client_id"].as_str()), (200, Some(other_id.as_str())));

        for path in [
            format!("{WEIGHTS}?client_id={other_id}"),
            format!("{WEIGHTS}?client_id=no-such-client"),
            format!("{WEIGHTS}?user_id={other_user}"),
            format!("{WEIGHTS}?user_id=no-such-user"),
            format!("{REQUIREMENTS}?client_id={other_id}"),
            format!("{REQUIREMENTS}?user_id={other_user}"),
        ] {
            let (s, ct, b) = get(&app, &path, &app.demo_key).await;
            assert_problem(s, &ct, &b, 404);
        }
        let before = version_count(&app).await;
        for scope in [json!({"client_id": other_id}), json!({"user_id": other_user})] {
            let (s, ct, b) = app.post_json(WEIGHTS_UPDATE, Some(&app.demo_key), &weights_body(scope.clone())).await;
            assert_problem(s, &ct, &b, 404);
            let body = requirements_body("passport", "mrz", &[], scope);
            let (s, ct, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
            assert_problem(s, &ct, &b, 404);
        }
        assert_eq!(version_count(&app).await, before);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_platform_key_addresses_any_client_and_writes_the_platform_default() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let operator = platform_key(&app).await;
        let (other_id, other_key) = other_client(&app).await;

        let body = weights_body(json!({"client_id": app.demo_client_id, "ofac_fuzzy_match_tolerance": 0.97}));
        let (s, _, created) = app.post_json(WEIGHTS_UPDATE, Some(&operator), &body).await;
        assert_eq!(s, 200, "{created}");
        let (_, _, b) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!(
            (b["client_id"].as_str(), b["ofac_fuzzy_match_tolerance"].as_f64()),
            (Some(app.demo_client_id.as_str()), Some(0.97))
        );
        let (s, _, b) = get(&app, &format!("{WEIGHTS}?client_id={}", app.demo_client_id), &operator).await;
        assert_eq!((s, b["ofac_fuzzy_match_tolerance"].as_f64()), (200, Some(0.97)));
        let (s, _, _) = get(&app, &format!("{WEIGHTS}/{}", created["id"].as_str().unwrap()), &operator).await;
        assert_eq!(s, 200);

        // No client_id: a new platform default, in force for clients without their own.
        let (s, _, pd) = app
            .post_json(WEIGHTS_UPDATE, Some(&operator), &weights_body(json!({"minimum_liveness_tolerance": 0.77})))
            .await;
        assert_eq!(s, 200, "{pd}");
        let (_, _, b) = get(&app, WEIGHTS, &other_key).await;
        assert_eq!((b["client_id"].clone(), b["minimum_liveness_tolerance"].as_f64()), (Value::Null, Some(0.77)));
        let (_, _, b) = get(&app, WEIGHTS, &app.demo_key).await;
        assert_eq!(b["minimum_liveness_tolerance"].as_f64(), Some(WeightValues::default().minimum_liveness_tolerance));
        let stored = entity::weights::Entity::find_by_id(pd["id"].as_str().unwrap().to_string())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.client_id, None);

        let (s, ct, b) = get(&app, &format!("{WEIGHTS}?client_id=no-such-client"), &operator).await;
        assert_problem(s, &ct, &b, 404);
        let body = requirements_body("passport", "ocr", &["city_required"], json!({"client_id": other_id}));
        let (s, _, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&operator), &body).await;
        assert_eq!(s, 200, "{b}");
        let (_, _, b) = get(&app, &format!("{REQUIREMENTS}?type_e=passport&data_source_e=ocr"), &other_key).await;
        assert_eq!(b["requirements"][0]["city_required"], true, "{b}");
        app.cleanup().await;
    }
}

fn pairs(list: &Value) -> Vec<(String, String)> {
    list["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .map(|r| (r["type_e"].as_str().unwrap().to_string(), r["data_source_e"].as_str().unwrap().to_string()))
        .collect()
}

fn pair_list(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(t, s)| (t.to_string(), s.to_string())).collect()
}

fn required_flags(row: &Value) -> Vec<&'static str> {
    FLAGS.iter().copied().filter(|f| row[*f] == true).collect()
}

#[tokio::test]
async fn requirements_default_per_document_type_and_source() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (s, _, b) = get(&app, REQUIREMENTS, &app.demo_key).await;
        assert_eq!(s, 200, "{b}");
        assert_seed_shape("Get the requirements for the given type and data source.", &b);
        assert_eq!(
            pairs(&b),
            pair_list(&[
                ("driver_license", "barcode"),
                ("identification_card", "barcode"),
                ("passport", "mrz"),
                ("passport_card", "mrz"),
            ])
        );
        let barcode = [
            "document_number_required",
            "expires_at_required",
            "first_name_required",
            "last_name_required",
            "birth_date_required",
        ];
        let mut expected_barcode: Vec<&str> = FLAGS.iter().copied().filter(|f| barcode.contains(f)).collect();
        assert_eq!(required_flags(&b["requirements"][0]), expected_barcode);
        assert_eq!(required_flags(&b["requirements"][1]), expected_barcode);
        expected_barcode.push("issuing_country_required");
        let expected_mrz: Vec<&str> = FLAGS.iter().copied().filter(|f| expected_barcode.contains(f)).collect();
        assert_eq!(required_flags(&b["requirements"][2]), expected_mrz);

        // One exact pair, stored or not; a pair without defaults requires nothing.
        let (s, _, b) = get(&app, &format!("{REQUIREMENTS}?type_e=passport&data_source_e=ocr"), &app.demo_key).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(pairs(&b), pair_list(&[("passport", "ocr")]));
        assert!(required_flags(&b["requirements"][0]).is_empty());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn requirements_update_then_read_back_with_user_fallback() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let alice = user_of(&app, &app.demo_client_id, "alice@demo.test").await;
        let dl = format!("{REQUIREMENTS}?type_e=driver_license&data_source_e=barcode");

        let body =
            requirements_body("driver_license", "barcode", &["street_required", "face_encoding_required"], json!({}));
        let (s, ct, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
        assert_eq!((s, b.clone()), (200, json!({})), "{ct}");
        let (_, _, b) = get(&app, &dl, &app.demo_key).await;
        assert_eq!(required_flags(&b["requirements"][0]), ["street_required", "face_encoding_required"]);

        // A second update replaces the first (one row per scope and pair).
        let body = requirements_body("driver_license", "barcode", &["city_required"], json!({}));
        let (s, _, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
        assert_eq!(s, 200, "{b}");
        let (_, _, b) = get(&app, &dl, &app.demo_key).await;
        assert_eq!(required_flags(&b["requirements"][0]), ["city_required"]);
        let rows = entity::requirement::Entity::find()
            .filter(entity::requirement::Column::ClientId.eq(app.demo_client_id.clone()))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 1);

        // A user's row wins for that user only, and adds its pair to that user's list.
        let body = requirements_body("passport", "ocr", &["height_required"], json!({"user_id": alice}));
        let (s, _, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
        assert_eq!(s, 200, "{b}");
        let (_, _, b) = get(&app, &format!("{REQUIREMENTS}?user_id={alice}"), &app.demo_key).await;
        assert_eq!(
            pairs(&b),
            pair_list(&[
                ("driver_license", "barcode"),
                ("identification_card", "barcode"),
                ("passport", "mrz"),
                ("passport", "ocr"),
                ("passport_card", "mrz"),
            ])
        );
        assert_eq!(required_flags(&b["requirements"][0]), ["city_required"], "client row for the user");
        assert_eq!(required_flags(&b["requirements"][3]), ["height_required"]);
        let (_, _, b) = get(&app, REQUIREMENTS, &app.demo_key).await;
        assert_eq!(pairs(&b).len(), 4, "the user's pair is not the client's: {b}");

        // The service the finalize step calls agrees.
        let db = &app.state.db;
        let set =
            requirements::effective(db, &app.demo_client_id, Some(&alice), DocumentType::Passport, DataSource::Ocr)
                .await
                .unwrap();
        assert!(set.height_required && !set.city_required);
        let set = requirements::effective(db, &app.demo_client_id, None, DocumentType::Passport, DataSource::Ocr)
            .await
            .unwrap();
        assert_eq!(set, RequirementSet::none(DocumentType::Passport, DataSource::Ocr));
        let set = requirements::effective(
            db,
            &app.demo_client_id,
            Some(&alice),
            DocumentType::DriverLicense,
            DataSource::Barcode,
        )
        .await
        .unwrap();
        assert!(set.city_required && !set.document_number_required);
        assert_eq!(audit_count(&app, "requirements.update").await, 3);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn requirements_filters_narrow_the_list() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let body = requirements_body("identification_card", "ocr", &["state_required"], json!({}));
        let (s, _, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
        assert_eq!(s, 200, "{b}");
        let cases: [(&str, &[(&str, &str)]); 4] = [
            ("type_e=identification_card", &[("identification_card", "barcode"), ("identification_card", "ocr")]),
            ("data_source_e=mrz", &[("passport", "mrz"), ("passport_card", "mrz")]),
            ("data_source_e=ocr", &[("identification_card", "ocr")]),
            ("type_e=unknown", &[]),
        ];
        for (query, expected) in cases {
            let (s, _, b) = get(&app, &format!("{REQUIREMENTS}?{query}"), &app.demo_key).await;
            assert_eq!(s, 200, "{query}: {b}");
            assert_eq!(pairs(&b), pair_list(expected), "{query}");
        }
        let (_, _, b) = get(&app, &format!("{REQUIREMENTS}?data_source_e=ocr"), &app.demo_key).await;
        assert_eq!(required_flags(&b["requirements"][0]), ["state_required"]);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn requirements_reject_unknown_enums_and_missing_flags() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        for (query, field) in [
            ("type_e=visa", "type_e"),
            ("data_source_e=nfc", "data_source_e"),
            ("type_e=passport&data_source_e=MRZ", "data_source_e"),
        ] {
            let (s, ct, b) = get(&app, &format!("{REQUIREMENTS}?{query}"), &app.demo_key).await;
            assert_field(s, &ct, &b, field);
        }
        let cases = [
            (requirements_body("visa", "mrz", &[], json!({})), "type_e"),
            (requirements_body("passport", "nfc", &[], json!({})), "data_source_e"),
            (requirements_body("passport", "mrz", &[], json!({"city_required": "yes"})), "city_required"),
        ];
        for (body, field) in cases {
            let (s, ct, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
            assert_field(s, &ct, &b, field);
        }
        for field in ["type_e", "data_source_e", "face_encoding_required"] {
            let mut body = requirements_body("passport", "mrz", &[], json!({}));
            body.as_object_mut().unwrap().remove(field);
            let (s, ct, b) = app.post_json(REQUIREMENTS_UPDATE, Some(&app.demo_key), &body).await;
            assert_field(s, &ct, &b, field);
        }
        assert_eq!(entity::requirement::Entity::find().count(&app.state.db).await.unwrap(), 0);
        app.cleanup().await;
    }
}

fn document(changes: impl FnOnce(&mut entity::document::Model)) -> entity::document::Model {
    let text = |s: &str| Some(s.to_string());
    let mut doc = entity::document::Model {
        id: "doc".into(),
        client_id: "client".into(),
        session_id: "session".into(),
        identity_id: None,
        is_current: true,
        r#type: "driver_license".into(),
        data_source: "barcode".into(),
        document_number: text("D1234567"),
        ref_number: text("REF1"),
        issued_at: text("2020-01-02"),
        expires_at: text("2030-01-02"),
        issuing_country: text("USA"),
        issuing_state: text("CA"),
        first_name: text("JANE"),
        middle_name: text("Q"),
        last_name: text("DOE"),
        name_suffix: text("JR"),
        street: text("1 MAIN ST"),
        city: text("SACRAMENTO"),
        state: text("CA"),
        postal_code: text("95814"),
        birth_date: text("1990-05-06"),
        gender: "female".into(),
        height: text("165 cm"),
        weight: text("60 kg"),
        eye_color: text("BRO"),
        hair_color: text("BLK"),
        doc_class: text("C"),
        restrictions: text("NONE"),
        endorsements: text("NONE"),
        raw_payload: text("@\nANSI 636014..."),
        truncation: None,
        created_at: chrono::Utc::now(),
    };
    changes(&mut doc);
    doc
}

#[test]
fn missing_fields_names_required_fields_absent_from_the_document() {
    let mut all = RequirementSet::none(DocumentType::DriverLicense, DataSource::Barcode);
    macro_rules! require_all {
        ($($f:ident),*) => { $(all.$f = true;)* };
    }
    tessera::for_each_requirement_flag!(require_all);
    assert!(all.missing_fields(&document(|_| {})).is_empty(), "a complete document misses nothing");

    let sparse = document(|d| {
        d.document_number = None;
        d.issued_at = Some("  ".into());
        d.gender = "unknown".into();
        d.doc_class = None;
        d.endorsements = None;
        d.raw_payload = Some(String::new());
    });
    assert_eq!(
        all.missing_fields(&sparse),
        ["document_number", "issued_at", "gender", "class", "mentions", "raw_barcode"]
    );

    // Only required fields count: the barcode defaults ask for none of these.
    let defaults = RequirementSet::defaults(DocumentType::DriverLicense, DataSource::Barcode);
    assert_eq!(defaults.missing_fields(&sparse), ["document_number"]);
    let no_names = document(|d| {
        d.first_name = None;
        d.last_name = Some(String::new());
        d.expires_at = None;
    });
    assert_eq!(defaults.missing_fields(&no_names), ["expires_at", "first_name", "last_name"]);
    // The face encoding is not a document column: never reported here.
    let mut face_only = RequirementSet::none(DocumentType::Passport, DataSource::Mrz);
    face_only.face_encoding_required = true;
    assert!(face_only.missing_fields(&document(|d| d.raw_payload = None)).is_empty());
}

#[tokio::test]
async fn the_verdict_policy_is_versioned_with_the_weights() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        // A partial policy: the named rules change, the rest keep their default.
        let body = weights_body(json!({"policy": {"dmv": "knock_out", "name_crosscheck": "score", "document_validity_weight": 2.5}}));
        let (s, _, created) = app.post_json(WEIGHTS_UPDATE, Some(&key), &body).await;
        assert_eq!(s, 200, "{created}");
        let first = created["id"].as_str().unwrap().to_string();
        let (_, _, b) = get(&app, WEIGHTS, &key).await;
        assert_eq!((b["policy"]["dmv"].as_str(), b["policy"]["name_crosscheck"].as_str()), (Some("knock_out"), Some("score")), "{b}");
        assert_eq!(b["policy"]["suspicious_words"], "knock_out", "{b}");
        assert_eq!(b["policy"]["document_validity_weight"], 2.5);

        // New numbers without a policy keep the policy in force; the old version is unchanged.
        let (s, _, v) = app.post_json(WEIGHTS_UPDATE, Some(&key), &weights_body(json!({"gender_weight": 2}))).await;
        assert_eq!(s, 200, "{v}");
        let (_, _, b) = get(&app, WEIGHTS, &key).await;
        assert_eq!((b["gender_weight"].as_f64(), b["policy"]["dmv"].as_str()), (Some(2.0), Some("knock_out")), "{b}");
        let (_, _, b) = app.post_json(WEIGHTS_UPDATE, Some(&key), &weights_body(json!({"policy": {"dmv": "review"}}))).await;
        let (_, _, newest) = get(&app, WEIGHTS, &key).await;
        assert_eq!(newest["policy"]["dmv"], "review", "{b}");
        let (_, _, old) = get(&app, &format!("{WEIGHTS}/{first}"), &key).await;
        assert_eq!(old["policy"]["dmv"], "knock_out", "versions are immutable: {old}");

        // Bad policies are a 400 naming the field; nothing is written.
        let before = entity::weights::Entity::find().count(&app.state.db).await.unwrap();
        for (policy, field) in [
            (json!({"face_match": "score"}), "policy.face_match"),
            (json!({"liveness": "score"}), "policy.liveness"),
            (json!({"document_validity_weight": 101}), "policy.document_validity_weight"),
            (json!({"dmv": "ignore"}), "policy"),
            (json!({"no_such_rule": "review"}), "policy"),
        ] {
            let (s, ct, b) = app.post_json(WEIGHTS_UPDATE, Some(&key), &weights_body(json!({"policy": policy}))).await;
            assert_problem(s, &ct, &b, 400);
            let fields: Vec<&str> = b["errors"].as_array().map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect()).unwrap_or_default();
            assert!(fields.iter().any(|f| f.starts_with(field)), "{policy}: {b}");
        }
        assert_eq!(entity::weights::Entity::find().count(&app.state.db).await.unwrap(), before);
        app.cleanup().await;
    }
}
