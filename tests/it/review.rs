//! Manual review: a session the verdict policy sends to review opens a
//! case; approve verifies it and creates its identity with the webhooks a
//! verified finalize sends; reject keeps it unverified with the reason;
//! four-eyes needs two different people; viewers and read-only keys cannot
//! decide; another tenant's case is 404 / null. Over REST and GraphQL, on
//! SQLite and PostgreSQL.

use crate::common::{TestApp, assert_problem, backends, read};
use crate::graphql::{code, login};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tessera::service::checks::{self, Outcome};
use tessera::service::history::SessionKind;
use tessera::service::tenancy::{self, KeyScope, Role};

const PASSWORD: &str = "correct horse battery staple";

/// Every test switches off the engines a test machine does not have, so the
/// verdict comes from the check results recorded below.
fn quiet_settings() -> Value {
    json!({
        "perform_image_manipulation_test": false, "perform_aamva_test": false, "perform_ofac_test": false,
        "perform_age_test": false, "perform_gender_test": false, "perform_liveness_test": false,
    })
}

/// A session of `client_id` that the default verdict policy sends to review
/// at a real SDK finalize: every scored check passes but the printed name
/// differs from the barcode (`name_crosscheck`, a `review` rule).
pub async fn held_session(app: &TestApp, key: &str, client_id: &str) -> String {
    let (st, _, v) = app
        .post_json(
            "/api/v1/idv/session/create",
            Some(key),
            &json!({"settings": quiet_settings(), "webhook_url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    let (st, _, v) = sdk(app, client_id, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
    assert_eq!(st, 200, "{v}");
    let db = &app.state.db;
    for (name, outcome) in [
        ("face_match", Outcome::pass(1.0, "same person")),
        ("doc_back_suspicious_words", Outcome::pass(1.0, "none found")),
        ("doc_back_is_identity_document", Outcome::pass(1.0, "an identity document")),
        ("name_crosscheck", Outcome::fail(0.8, "printed name differs from the barcode")),
    ] {
        checks::record(db, SessionKind::Idv, client_id, &sid, name, outcome).await.unwrap();
    }
    let (st, _, f) = sdk(app, client_id, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{f}");
    assert_eq!(f["verified"], false, "{f}");
    sid
}

async fn sdk(app: &TestApp, client_id: &str, path: &str, body: Value) -> (u16, String, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", client_id).json(&body).send().await.unwrap();
    read(resp).await
}

/// The webhook events queued for a session (or identity), in order.
async fn events_of(app: &TestApp, id: &str) -> Vec<(String, Value)> {
    entity::webhook_delivery::Entity::find()
        .order_by_asc(entity::webhook_delivery::Column::Sequence)
        .order_by_asc(entity::webhook_delivery::Column::CreatedAt)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.event_type, serde_json::from_str::<Value>(&d.payload).unwrap()))
        .filter(|(_, p)| p["data"]["session_id"] == id || p["data"]["identity_id"] == id)
        .collect()
}

async fn session(app: &TestApp, key: &str, sid: &str) -> Value {
    let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{s}");
    s
}

async fn case_of(app: &TestApp, key: &str, sid: &str) -> Value {
    let (st, _, c) = app.post_json("/api/v1/review/case/read", Some(key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{c}");
    c
}

const DECIDE: &str = "mutation($id: String!, $action: ReviewAction!, $code: String!, $note: String) {
  decideReviewCase(id: $id, action: $action, reasonCode: $code, note: $note) {
    case { id state outcome } decision { id status action reasonCode decidedByEmail }
  }
}";

#[tokio::test]
async fn a_review_outcome_opens_a_case_and_approve_verifies_like_a_finalize() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let sid = held_session(&app, &key, &cid).await;
        let s = session(&app, &key, &sid).await;
        assert_eq!((s["decision"].as_str(), s["review_required"].as_bool()), (Some("needs_review"), Some(true)), "{backend}: {s}");

        let case = case_of(&app, &key, &sid).await;
        assert_eq!((case["state_e"].as_str(), case["opened_by_e"].as_str()), (Some("open"), Some("policy")), "{case}");
        assert_eq!(case["reasons"][0]["check"], "name_crosscheck", "{case}");
        assert_eq!(case["decisions"], json!([]));
        let case_id = case["case_id"].as_str().unwrap().to_string();
        let (_, _, listed) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"state_e": ["open", "in_review"], "reason": "name_crosscheck"})).await;
        assert_eq!(listed["meta_counts"]["total"], 1, "{listed}");
        let (_, _, none) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"reason": "ofac"})).await;
        assert_eq!(none["meta_counts"]["total"], 0, "{none}");
        let (st, ct, p) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"state_e": "closed"})).await;
        assert_problem(st, &ct, &p, 400);

        // An unknown reason code is a 400 naming the field and changes nothing.
        let (st, ct, p) = app
            .post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "looks_fine"}))
            .await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "reason_code", "{p}");
        let (st, ct, p) = app
            .post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "maybe", "reason_code": "other"}))
            .await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(session(&app, &key, &sid).await["verified"], false);

        let (st, _, done) = app
            .post_json(
                "/api/v1/review/case/decide",
                Some(&key),
                &json!({"case_id": case_id, "action_e": "approve", "reason_code": "ocr_misread", "note": "worn card; the barcode is right"}),
            )
            .await;
        assert_eq!(st, 200, "{done}");
        assert_eq!((done["case"]["state_e"].as_str(), done["case"]["outcome_e"].as_str()), (Some("decided"), Some("approved")), "{done}");
        assert_eq!(done["decision"]["status_e"], "effective");
        assert_eq!(done["case"]["decisions"][0]["note"], "worn card; the barcode is right");

        // Exactly as a verified finalize: verified, an identity, linked.
        let s = session(&app, &key, &sid).await;
        assert_eq!((s["verified"].as_bool(), s["decision"].as_str(), s["review_required"].as_bool()), (Some(true), Some("verified"), Some(false)), "{s}");
        let identity_id = s["identity_id"].as_str().expect("an identity").to_string();
        let (st, _, ids) = app.post_json("/api/v1/identity/read", Some(&key), &json!({"identity_id": [identity_id]})).await;
        assert_eq!(st, 200, "{ids}");
        let stored = entity::identity::Entity::find_by_id(identity_id.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert!(stored.verified, "the identity is verified");
        let linked = entity::idv_session::Entity::find_by_id(sid.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(linked.identity_id.as_deref(), Some(identity_id.as_str()));
        // The dashboard's search finds the session by its new identity id.
        let viewer = login(&app, &cid, "viewer@demo.test", Role::Viewer).await;
        let found = viewer
            .gql(&app, "query($t: String) { idvSessions(filter: {searchTerm: $t}) { nodes { id } } }", json!({"t": identity_id}))
            .await;
        assert_eq!(found["data"]["idvSessions"]["nodes"], json!([{"id": sid}]), "{found}");

        let events = events_of(&app, &sid).await;
        let types: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
        assert!(types.ends_with(&["session.reviewed", "identity.verified"]), "{types:?}");
        assert!(types.contains(&"session.review_required"), "{types:?}");
        let reviewed = &events.iter().find(|e| e.0 == "session.reviewed").unwrap().1;
        assert_eq!(reviewed["data"]["review"], json!({"case_id": case_id, "outcome": "approved", "reason_code": "ocr_misread"}));
        assert_eq!((reviewed["data"]["verified"].as_bool(), reviewed["data"]["identity_id"].as_str()), (Some(true), Some(identity_id.as_str())));
        assert!(!reviewed.to_string().contains("worn card"), "the note never leaves in a webhook");

        // Audited, and a decided case keeps its decision when deciding again is a correction.
        let audited = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("review_case.decide"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(audited.len(), 1);

        // Erasing the identity takes the cases' free text with it; the decision stays.
        let (st, _, n) = app.post_json("/api/v1/review/case/note", Some(&key), &json!({"case_id": case_id, "body": "Jane Doe called"})).await;
        assert_eq!(st, 200, "{n}");
        let (st, _, e) = app.post_json("/api/v1/identity/delete", Some(&key), &json!({"identity_id": identity_id})).await;
        assert_eq!(st, 200, "{e}");
        let erased = case_of(&app, &key, &sid).await;
        assert_eq!((erased["outcome_e"].as_str(), erased["decisions"][0]["reason_code"].as_str()), (Some("approved"), Some("ocr_misread")));
        assert_eq!((erased["decisions"][0]["note"].clone(), erased["notes"][0]["body"].as_str()), (Value::Null, Some("(erased)")), "{erased}");
        assert_eq!(erased["reasons"][0]["message"], "", "{erased}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn reject_keeps_the_session_unverified_with_the_reason_and_a_correction_is_a_new_decision() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, done) = app
            .post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "reject", "reason_code": "document_tampered"}))
            .await;
        assert_eq!(st, 200, "{done}");
        let first = done["decision"]["decision_id"].as_str().unwrap().to_string();
        let s = session(&app, &key, &sid).await;
        assert_eq!((s["verified"].as_bool(), s["decision"].as_str(), s["identity_id"].clone()), (Some(false), Some("rejected"), Value::Null), "{s}");
        let case = case_of(&app, &key, &sid).await;
        assert_eq!((case["outcome_e"].as_str(), case["decisions"][0]["reason_code"].as_str()), (Some("rejected"), Some("document_tampered")));
        let events = events_of(&app, &sid).await;
        let reviewed = &events.iter().find(|e| e.0 == "session.reviewed").expect("session.reviewed").1;
        assert_eq!((reviewed["data"]["verified"].as_bool(), reviewed["data"]["review"]["outcome"].as_str()), (Some(false), Some("rejected")));
        assert!(!events.iter().any(|e| e.0 == "identity.verified"), "no identity on reject");

        // A correction: the first decision stays as it was; the new one supersedes it.
        let (st, _, again) = app
            .post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "documents_verified_manually"}))
            .await;
        assert_eq!(st, 200, "{again}");
        assert_eq!(again["decision"]["supersedes_id"], first.as_str());
        let decisions = &again["case"]["decisions"];
        assert_eq!((decisions[0]["action_e"].as_str(), decisions[0]["reason_code"].as_str()), (Some("reject"), Some("document_tampered")), "{decisions}");
        assert_eq!(decisions[1]["action_e"], "approve");
        assert_eq!(session(&app, &key, &sid).await["verified"], true);

        // Resubmission and notes are refused on a decided case / kept on any case.
        let (st, ct, p) = app.post_json("/api/v1/review/case/resubmission", Some(&key), &json!({"case_id": case_id, "reason_code": "glare"})).await;
        assert_problem(st, &ct, &p, 409);
        let (st, _, n) = app.post_json("/api/v1/review/case/note", Some(&key), &json!({"case_id": case_id, "body": "called the customer"})).await;
        assert_eq!(st, 200, "{n}");
        let (st, ct, p) = app.post_json("/api/v1/review/case/note", Some(&key), &json!({"case_id": case_id, "body": "  "})).await;
        assert_problem(st, &ct, &p, 400);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn four_eyes_needs_two_different_people() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let admin = login(&app, &cid, "admin@demo.test", Role::Admin).await;
        let first = login(&app, &cid, "first@demo.test", Role::Reviewer).await;
        let second = login(&app, &cid, "second@demo.test", Role::Reviewer).await;
        let on = admin.gql(&app, "mutation { updateReviewSettings(fourEyes: true) { fourEyes slaHours rejectCodes } }", json!({})).await;
        assert_eq!(on["data"]["updateReviewSettings"]["fourEyes"], true, "{on}");
        let refused = first.gql(&app, "mutation { updateReviewSettings(fourEyes: false) { fourEyes } }", json!({})).await;
        assert_eq!(code(&refused), "forbidden", "only admins change the settings");

        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let assigned = first.gql(&app, "mutation($id: String!) { assignReviewCase(id: $id, toMe: true) { state assignee { email } } }", json!({"id": case_id})).await;
        assert_eq!(assigned["data"]["assignReviewCase"], json!({"state": "IN_REVIEW", "assignee": {"email": "first@demo.test"}}), "{assigned}");

        let proposed = first.gql(&app, DECIDE, json!({"id": case_id, "action": "APPROVE", "code": "false_positive_match"})).await;
        let decision = &proposed["data"]["decideReviewCase"]["decision"];
        assert_eq!((decision["status"].as_str(), decision["decidedByEmail"].as_str()), (Some("pending"), Some("first@demo.test")), "{proposed}");
        let decision_id = decision["id"].as_str().unwrap().to_string();
        assert_eq!(session(&app, &key, &sid).await["verified"], false, "nothing happens before the second person confirms");
        let busy = second.gql(&app, DECIDE, json!({"id": case_id, "action": "REJECT", "code": "other"})).await;
        assert_eq!(code(&busy), "conflict", "{busy}");

        const CONFIRM: &str = "mutation($c: String!, $d: String!) { confirmReviewDecision(caseId: $c, decisionId: $d) { case { state outcome } decision { status confirmedByEmail } } }";
        let own = first.gql(&app, CONFIRM, json!({"c": case_id, "d": decision_id})).await;
        assert_eq!(code(&own), "forbidden", "the author cannot confirm: {own}");
        assert_eq!(session(&app, &key, &sid).await["verified"], false);
        let ok = second.gql(&app, CONFIRM, json!({"c": case_id, "d": decision_id})).await;
        let r = &ok["data"]["confirmReviewDecision"];
        assert_eq!(r["case"], json!({"state": "DECIDED", "outcome": "approved"}), "{ok}");
        assert_eq!(r["decision"], json!({"status": "effective", "confirmedByEmail": "second@demo.test"}));
        assert_eq!(session(&app, &key, &sid).await["verified"], true);
        let again = second.gql(&app, CONFIRM, json!({"c": case_id, "d": decision_id})).await;
        assert_eq!(code(&again), "conflict");

        // Over REST: a key without a user is not a person: it can neither decide nor confirm.
        // A key that belongs to a user acts as that user (not a second person to its own decision).
        let sid2 = held_session(&app, &key, &cid).await;
        let case2 = case_of(&app, &key, &sid2).await["case_id"].as_str().unwrap().to_string();
        let (st, ct, p) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case2, "action_e": "reject", "reason_code": "suspected_fraud"})).await;
        assert_problem(st, &ct, &p, 403);
        let proposed = first.gql(&app, DECIDE, json!({"id": case2, "action": "REJECT", "code": "suspected_fraud"})).await;
        let did = proposed["data"]["decideReviewCase"]["decision"]["id"].as_str().unwrap().to_string();
        let (st, ct, p) = app.post_json("/api/v1/review/case/confirm", Some(&key), &json!({"case_id": case2, "decision_id": did, "confirm": true})).await;
        assert_problem(st, &ct, &p, 403);
        assert_eq!(session(&app, &key, &sid2).await["decision"], "needs_review");
        let declined = second.gql(&app, "mutation($c: String!, $d: String!) { confirmReviewDecision(caseId: $c, decisionId: $d, confirm: false) { case { state } decision { status } } }", json!({"c": case2, "d": did})).await;
        assert_eq!(declined["data"]["confirmReviewDecision"], json!({"case": {"state": "IN_REVIEW"}, "decision": {"status": "declined"}}), "{declined}");
        // A key that belongs to a user decides as that user: that user cannot confirm it, another person can.
        let admin_id = entity::user::Entity::find().filter(entity::user::Column::Email.eq("admin@demo.test")).one(&app.state.db).await.unwrap().unwrap().id;
        let admin_key = tenancy::create_api_key(&app.state.db, &cid, Some(&admin_id), Some("admin's key")).await.unwrap().plaintext;
        let (st, _, d) = app.post_json("/api/v1/review/case/decide", Some(&admin_key), &json!({"case_id": case2, "action_e": "reject", "reason_code": "suspected_fraud"})).await;
        assert_eq!((st, d["decision"]["status_e"].as_str()), (200, Some("pending")), "{d}");
        let did = d["decision"]["decision_id"].as_str().unwrap().to_string();
        let own = admin.gql(&app, CONFIRM, json!({"c": case2, "d": did})).await;
        assert_eq!(code(&own), "forbidden", "the key's owner is its author: {own}");
        let ok = second.gql(&app, CONFIRM, json!({"c": case2, "d": did})).await;
        assert_eq!(ok["data"]["confirmReviewDecision"]["case"], json!({"state": "DECIDED", "outcome": "rejected"}), "{ok}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn viewers_and_read_only_keys_cannot_decide_and_other_tenants_see_nothing() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();

        let viewer = login(&app, &cid, "viewer@demo.test", Role::Viewer).await;
        let seen = viewer.gql(&app, "query($id: String!) { reviewCase(id: $id) { id state reasons { check } session { id reviewRequired } } }", json!({"id": case_id})).await;
        assert_eq!(seen["data"]["reviewCase"]["reasons"][0]["check"], "name_crosscheck", "viewers read the queue: {seen}");
        let refused = viewer.gql(&app, DECIDE, json!({"id": case_id, "action": "APPROVE", "code": "other"})).await;
        assert_eq!(code(&refused), "forbidden", "{refused}");
        let refused = viewer.gql(&app, "mutation($id: String!) { assignReviewCase(id: $id, toMe: true) { id } }", json!({"id": case_id})).await;
        assert_eq!(code(&refused), "forbidden");

        let read_only = tenancy::create_api_key_with_scope(db, &cid, None, Some("ro"), Some(KeyScope::ReadOnly), KeyScope::Admin).await.unwrap();
        let (st, _, c) = app.post_json("/api/v1/review/case/read", Some(&read_only.plaintext), &json!({"case_id": case_id})).await;
        assert_eq!(st, 200, "read-only keys read cases: {c}");
        let (st, ct, p) = app
            .post_json("/api/v1/review/case/decide", Some(&read_only.plaintext), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "other"}))
            .await;
        assert_problem(st, &ct, &p, 403);
        let (st, _, by_key) = crate::common::read(
            app.http.post(app.url("/graphql")).bearer_auth(&key).json(&json!({"query": DECIDE, "variables": {"id": case_id, "action": "APPROVE", "code": "other"}})).send().await.unwrap(),
        )
        .await;
        assert_eq!((st, code(&by_key)), (200, "forbidden"), "API keys do not mutate on GraphQL: {by_key}");

        // Another tenant: 404 over REST, null over GraphQL, not_found on a mutation.
        let other = tenancy::create_client(db, "Other Inc", false).await.unwrap();
        let other_key = tenancy::create_api_key(db, &other.id, None, None).await.unwrap().plaintext;
        for body in [json!({"case_id": case_id}), json!({"session_id": sid})] {
            let (st, ct, p) = app.post_json("/api/v1/review/case/read", Some(&other_key), &body).await;
            assert_problem(st, &ct, &p, 404);
        }
        let (st, ct, p) = app
            .post_json("/api/v1/review/case/decide", Some(&other_key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "other"}))
            .await;
        assert_problem(st, &ct, &p, 404);
        let (_, _, theirs) = app.post_json("/api/v1/review/case/list", Some(&other_key), &json!({})).await;
        assert_eq!(theirs["meta_counts"]["total"], 0, "{theirs}");
        let their_admin = login(&app, &other.id, "admin@other.test", Role::Admin).await;
        let nothing = their_admin.gql(&app, "query($id: String!) { reviewCase(id: $id) { id } reviewCases { totalCount } reviewStats { openCases } }", json!({"id": case_id})).await;
        assert_eq!(nothing["data"], json!({"reviewCase": null, "reviewCases": {"totalCount": 0}, "reviewStats": {"openCases": 0}}), "{nothing}");
        let denied = their_admin.gql(&app, DECIDE, json!({"id": case_id, "action": "APPROVE", "code": "other"})).await;
        assert_eq!(code(&denied), "not_found", "{denied}");
        assert_eq!(session(&app, &key, &sid).await["decision"], "needs_review", "nobody decided");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn flags_resubmission_the_queue_and_its_figures() {
    use sea_orm::sea_query::Expr;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let reviewer = login(&app, &cid, "rita@demo.test", Role::Reviewer).await;
        let a = held_session(&app, &key, &cid).await;
        let b = held_session(&app, &key, &cid).await;

        // An admin key flags an in-progress session: 409; a session with an open case: 409.
        let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&key), &json!({})).await;
        assert_eq!(st, 200);
        let open_session = v["session_id"].as_str().unwrap();
        let (st, ct, p) = app.post_json("/api/v1/review/case/open", Some(&key), &json!({"session_id": open_session})).await;
        assert_problem(st, &ct, &p, 409);
        let (st, ct, p) = app.post_json("/api/v1/review/case/open", Some(&key), &json!({"session_id": a})).await;
        assert_problem(st, &ct, &p, 409);

        // Resubmission: a webhook with the reason code only; the message stays a note.
        let case_a = case_of(&app, &key, &a).await["case_id"].as_str().unwrap().to_string();
        let asked = reviewer
            .gql(&app, "mutation($c: String!) { requestResubmission(caseId: $c, reasonCode: \"glare\", message: \"Jane, please retake without the lamp\") { case { state resubmissionRequestedAt notes { body authorEmail } } } }", json!({"c": case_a}))
            .await;
        let r = &asked["data"]["requestResubmission"]["case"];
        assert_eq!((r["state"].as_str(), r["notes"][0]["authorEmail"].as_str()), (Some("IN_REVIEW"), Some("rita@demo.test")), "{asked}");
        let bad = reviewer.gql(&app, "mutation($c: String!) { requestResubmission(caseId: $c, reasonCode: \"nope\") { sessionId } }", json!({"c": case_a})).await;
        assert_eq!(bad["errors"][0]["extensions"]["errors"][0]["field"], "reasonCode", "{bad}");
        let events = events_of(&app, &a).await;
        let resub = &events.iter().find(|e| e.0 == "session.resubmission_requested").expect("resubmission event").1;
        assert_eq!((resub["data"]["resubmission"]["case_id"].as_str(), resub["data"]["resubmission"]["reason_code"].as_str()), (Some(case_a.as_str()), Some("glare")), "{resub}");
        assert!(!resub.to_string().contains("Jane"), "no free text in the webhook");

        // The queue: next case, assignee and reason filters, figures.
        let next = reviewer.gql(&app, "{ nextReviewCase { id sessionId } }", json!({})).await;
        assert!(next["data"]["nextReviewCase"]["id"].is_string(), "{next}");
        let mine = reviewer.gql(&app, "{ reviewCases(filter: {assignee: \"me\"}) { totalCount } unassigned: reviewCases(filter: {assignee: \"none\", reason: \"name_crosscheck\"}) { totalCount nodes { sessionId } } }", json!({})).await;
        assert_eq!(mine["data"]["reviewCases"]["totalCount"], 0, "{mine}");
        assert_eq!(mine["data"]["unassigned"]["totalCount"], 2, "{mine}");
        let case_b = case_of(&app, &key, &b).await["case_id"].as_str().unwrap().to_string();
        // One case is overdue.
        entity::review_case::Entity::update_many()
            .col_expr(entity::review_case::Column::SlaDueAt, Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)))
            .filter(entity::review_case::Column::Id.eq(case_b.clone()))
            .exec(&app.state.db)
            .await
            .unwrap();
        let decided = reviewer.gql(&app, DECIDE, json!({"id": case_a, "action": "REJECT", "code": "poor_image_quality"})).await;
        assert_eq!(decided["data"]["decideReviewCase"]["case"]["outcome"], "rejected", "{decided}");
        let stats = reviewer.gql(&app, "{ reviewStats { openCases decided medianDecisionSeconds overdueOpen slaBreaches } }", json!({})).await;
        let s = &stats["data"]["reviewStats"];
        assert_eq!((s["openCases"].as_u64(), s["decided"].as_u64(), s["overdueOpen"].as_u64(), s["slaBreaches"].as_u64()), (Some(1), Some(1), Some(1), Some(1)), "{stats}");
        assert!(s["medianDecisionSeconds"].as_f64().is_some_and(|m| m >= 0.0), "{stats}");
        let next = reviewer.gql(&app, "query($s: String) { nextReviewCase(skip: $s) { id } }", json!({"s": case_b})).await;
        assert_eq!(next["data"]["nextReviewCase"], Value::Null, "the decided case is not next: {next}");

        // A decided (rejected) session can be flagged again by an admin: a new case.
        let (st, _, flagged) = app.post_json("/api/v1/review/case/open", Some(&key), &json!({"session_id": a, "priority_e": "high", "note": "customer complained"})).await;
        assert_eq!(st, 200, "{flagged}");
        assert_eq!((flagged["opened_by_e"].as_str(), flagged["priority_e"].as_str(), flagged["notes"][0]["body"].as_str()), (Some("admin"), Some("high"), Some("customer complained")));
        let (_, _, all) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"session_id": a})).await;
        assert_eq!(all["meta_counts"]["total"], 2, "{all}");
        let audit = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.is_in(["review_case.open", "review_case.flag", "review_case.resubmission", "review_case.decide"]))
            .all(&app.state.db)
            .await
            .unwrap();
        assert!(audit.len() >= 5, "{audit:?}");
        app.cleanup().await;
    }
}

fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([shade, (x % 200) as u8, (y % 200) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// What the case view shows beside the reasons: the document and face
/// images (stored like uploads) and the two readings of the document, whose
/// last names differ.
async fn add_evidence(app: &TestApp, sid: &str) {
    use sea_orm::Set;
    use tessera::service::files::{self, FileOwner};
    use tessera::service::types::StorageFileType;
    let owner = FileOwner { client_id: &app.demo_client_id, session_kind: "idv", session_id: sid, identity_id: None };
    for (kind, bytes) in [
        (StorageFileType::DriverLicenseFront, png(856, 540, 60)),
        (StorageFileType::DriverLicenseBack, png(856, 540, 120)),
        (StorageFileType::Selfie, png(480, 640, 200)),
    ] {
        let image = files::validate_image("image", bytes).unwrap();
        let row = files::put_image(&app.state.storage, &owner, kind, &image).await.unwrap();
        entity::stored_file::Entity::insert(row).exec_without_returning(&app.state.db).await.unwrap();
    }
    let now = chrono::Utc::now();
    for (side, source, last) in [("front", "printed", "SMITH"), ("back", "machine", "SMYTH")] {
        let fields = json!({"document_number": "D1234567", "first_name": "JANE", "last_name": last, "birth_date": "1990-04-01"});
        entity::document_reading::Entity::insert(entity::document_reading::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            client_id: Set(app.demo_client_id.clone()),
            session_id: Set(sid.to_string()),
            side: Set(side.into()),
            source: Set(source.into()),
            fields: Set(fields),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&app.state.db)
        .await
        .unwrap();
    }
}

/// The case view on screen is `case_id`'s, fully drawn.
fn case_drawn() -> &'static str {
    "(() => { const h = document.querySelector('h1 .mono'); return !!(h && document.querySelector('#case-reasons') && document.querySelector('#next') && location.hash.endsWith(h.textContent)); })()"
}

/// An analyst works a queue of three cases with the keyboard only: n opens
/// the next case, a / r open the reason picker, Enter decides.
#[tokio::test]
async fn an_analyst_works_a_queue_of_three_cases_with_the_keyboard() {
    use crate::common::browser::{self, Browser, keys};
    let (chromium, driver) = match browser::locate() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("SKIPPED review browser test: {why}. CI installs chromium and chromium-driver (.ci/run).");
            return;
        }
    };
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        tenancy::create_user(&app.state.db, &cid, "rita@demo.test", Role::Reviewer, PASSWORD).await.unwrap();
        let mut sessions = Vec::new();
        for _ in 0..3 {
            sessions.push(held_session(&app, &key, &cid).await);
        }
        add_evidence(&app, &sessions[0]).await;
        // The screening's explained hit, as the ofac check records it.
        let mut hit = Outcome::fail(0.1, "possible match on OFAC SDN (similarity 0.91)");
        hit.evidence = Some(json!({"best": {"list": "OFAC SDN", "list_key": "ofac", "entry_id": "4242", "score": 0.91, "matched_name": "JANE SMYTH",
            "entry": {"list_key": "ofac", "list": "OFAC SDN", "entry_id": "4242", "category": "sanction", "kind": "individual",
                "names": ["SMYTH, Jane", "Jana Smith"], "programs": ["SDGT"], "listed_on": "2019-05-02", "birth_dates": ["1990"],
                "countries": ["GB"], "gender": "female", "source_url": null, "remarks": null}}}));
        checks::record(&app.state.db, SessionKind::Idv, &cid, &sessions[0], "ofac", hit).await.unwrap();

        let b = Browser::start(&chromium, &driver, 1280, 900).await;
        b.keyboard_login(&app.url("/admin"), "rita@demo.test", PASSWORD).await;

        b.goto(&app.url("/admin#/review")).await;
        b.wait_for("three cases in the queue", "document.querySelectorAll('#review-results tbody tr').length === 3").await;
        assert_eq!(b.text_of("#stat-open .stat-value").await, "3");
        b.screenshot(&format!("{backend}-review-01-queue")).await;

        // n: the first case in queue order (the oldest: the one with images).
        b.eval("document.activeElement && document.activeElement.blur()").await;
        b.keys("n").await;
        b.wait_for("the first case", case_drawn()).await;
        b.wait_for("images drawn", "[...document.querySelectorAll('.review-image')].every(i => i.complete && i.naturalWidth > 0) && document.querySelectorAll('.review-image').length >= 3").await;
        let mismatch = b.eval("[...document.querySelectorAll('#field-comparison tr.mismatch')].map(r => r.dataset.field)").await;
        assert_eq!(mismatch, json!(["last_name"]), "the differing last name is marked");
        assert!(b.text_of("#case-reasons").await.contains("Name matches the barcode"), "the reason is on top");
        assert_eq!(b.text_of(".listed-entry .listed-name").await, "SMYTH, Jane", "the listed entry is shown");
        b.screenshot(&format!("{backend}-review-02-case")).await;

        for (i, key_press) in ["a", "r", "a"].into_iter().enumerate() {
            if i > 0 {
                let before = b.eval("location.hash").await;
                b.keys("n").await;
                b.wait_for("the next case", &format!("location.hash !== {before} && {}", case_drawn())).await;
            }
            b.keys(key_press).await;
            b.wait_for("the reason picker has the focus", "!document.querySelector('#decide-form').hidden && document.activeElement.id === 'reason-code'").await;
            if i == 1 {
                b.screenshot(&format!("{backend}-review-03-reject-picker")).await;
            }
            b.keys(keys::ENTER).await;
            let outcome = if key_press == "a" { "approved" } else { "rejected" };
            b.wait_for("the decided case", &format!("(document.querySelector('#case-status')?.textContent || '').includes('{outcome}')")).await;
        }
        // The queue is empty: n says so and goes back to the queue.
        b.keys("n").await;
        b.wait_for("the empty queue", "location.hash === '#/review' && !!document.querySelector('#review-results .state-empty')").await;
        b.screenshot(&format!("{backend}-review-04-queue-done")).await;
        b.quit().await;

        let verdicts: Vec<Value> = {
            let mut v = Vec::new();
            for sid in &sessions {
                v.push(session(&app, &key, sid).await["decision"].clone());
            }
            v
        };
        assert_eq!(verdicts, [json!("verified"), json!("rejected"), json!("verified")], "{backend}");
        app.cleanup().await;
    }
}

/// The case view's evidence: the listed entry a screening named (from the
/// list in force), the printed vs barcode readings, and the duplicates the
/// checks found — another client's session among them is left out.
#[tokio::test]
async fn the_case_shows_the_listed_entry_readings_and_duplicates() {
    use sea_orm::Set;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        let earlier = held_session(&app, &key, &cid).await;
        let other = tenancy::create_client(db, "Other Inc", false).await.unwrap();
        let other_key = tenancy::create_api_key(db, &other.id, None, None).await.unwrap().plaintext;
        let (_, _, theirs) = app.post_json("/api/v1/idv/session/create", Some(&other_key), &json!({})).await;
        let theirs = theirs["session_id"].as_str().unwrap().to_string();
        add_evidence(&app, &sid).await;

        let now = chrono::Utc::now();
        let list_id = uuid::Uuid::new_v4().to_string();
        entity::sanctions_list::Entity::insert(entity::sanctions_list::ActiveModel {
            id: Set(list_id.clone()),
            source: Set("ofac".into()),
            version: Set("test".into()),
            published_at: Set(None),
            imported_at: Set(now),
            entry_count: Set(1),
            is_current: Set(true),
        })
        .exec_without_returning(db)
        .await
        .unwrap();
        entity::sanctions_entry::Entity::insert(entity::sanctions_entry::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            list_id: Set(list_id),
            ent_num: Set("4242".into()),
            name: Set("DOE, Jonathan".into()),
            entity_type: Set(Some("individual".into())),
            programs: Set(Some("SDGT".into())),
            remarks: Set(None),
            birth_dates: Set(Some(json!(["1990-04-01"]))),
            aliases: Set(Some(json!(["Johnny Doe"]))),
            addresses: Set(None),
            details: Set(None),
        })
        .exec_without_returning(db)
        .await
        .unwrap();
        let mut hit = Outcome::fail(0.1, "possible match on SDN (similarity 0.90)");
        hit.evidence = Some(json!({"best": {"list": "SDN", "list_key": "ofac", "entry_id": "4242", "score": 0.9}}));
        checks::record(db, SessionKind::Idv, &cid, &sid, "ofac", hit).await.unwrap();
        let mut dup = Outcome::fail(0.0, "the same document image in other sessions");
        dup.evidence = Some(json!({"image": {"sessions": [earlier, theirs]}}));
        checks::record(db, SessionKind::Idv, &cid, &sid, "doc_front_online_duplication", dup).await.unwrap();

        let viewer = login(&app, &cid, "viewer@demo.test", Role::Viewer).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let body = viewer
            .gql(&app, "query($id: String!) { reviewCase(id: $id) { sanctionsEntry { entNum name programs birthDates aliases } duplicates { kind id check } readings { side source fields } session { images { fileType } } } }", json!({"id": case_id}))
            .await;
        let c = &body["data"]["reviewCase"];
        assert_eq!(c["sanctionsEntry"], json!({"entNum": "4242", "name": "DOE, Jonathan", "programs": "SDGT", "birthDates": ["1990-04-01"], "aliases": ["Johnny Doe"]}), "{body}");
        assert_eq!(c["duplicates"], json!([{"kind": "idv_session", "id": earlier, "check": "doc_front_online_duplication"}]), "another client's session is left out: {body}");
        let last_names: Vec<&str> = c["readings"].as_array().unwrap().iter().map(|r| r["fields"]["last_name"].as_str().unwrap()).collect();
        assert_eq!(last_names, ["SMITH", "SMYTH"], "printed (front) first, then the barcode: {body}");
        assert_eq!(c["session"]["images"].as_array().unwrap().len(), 3);
        app.cleanup().await;
    }
}

/// A re-screening hit on a verified identity opens an identity case; an
/// approve (a false positive) verifies the identity again with its hit cleared.
#[tokio::test]
async fn an_identity_case_from_a_rescreening_hit_is_cleared_by_an_approve() {
    use sea_orm::sea_query::Expr;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        // Identity events go to the client's registered endpoints.
        let (st, _, hook) = app.post_json("/api/v1/webhook/create", Some(&key), &json!({"name": "log", "url": "http://127.0.0.1:9/never-sent"})).await;
        assert_eq!(st, 200, "{hook}");
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, _) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "ocr_misread"})).await;
        assert_eq!(st, 200);
        let identity_id = session(&app, &key, &sid).await["identity_id"].as_str().unwrap().to_string();

        // What the re-screening does, in its transaction: unverify, mark the hit, open the case.
        entity::identity::Entity::update_many()
            .col_expr(entity::identity::Column::Verified, Expr::value(false))
            .col_expr(entity::identity::Column::OfacStatus, Expr::value("hit"))
            .filter(entity::identity::Column::Id.eq(identity_id.clone()))
            .exec(db)
            .await
            .unwrap();
        let opened = tessera::service::review::cases::open_for_identity_hit(db, &cid, &identity_id, "re-screening: possible match on SDN (similarity 0.93)".into(), chrono::Utc::now())
            .await
            .unwrap();
        let again = tessera::service::review::cases::open_for_identity_hit(db, &cid, &identity_id, "again".into(), chrono::Utc::now()).await.unwrap();
        assert_eq!(again.id, opened.id, "one waiting case per identity");
        let (_, _, listed) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"reason": "ofac"})).await;
        assert_eq!((listed["meta_counts"]["total"].as_u64(), listed["cases"][0]["subject_kind_e"].as_str(), listed["cases"][0]["priority_e"].as_str()), (Some(1), Some("identity"), Some("high")), "{listed}");

        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": opened.id, "action_e": "approve", "reason_code": "false_positive_match"})).await;
        assert_eq!((st, done["case"]["outcome_e"].as_str()), (200, Some("approved")), "{done}");
        let stored = entity::identity::Entity::find_by_id(identity_id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((stored.verified, stored.ofac_status.as_str()), (true, "clear"));
        // Identity-level events (no session): the review, then the verification.
        let identity_events: Vec<String> = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::SessionId.is_null())
            .order_by_asc(entity::webhook_delivery::Column::CreatedAt)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.payload.contains(&identity_id))
            .map(|d| d.event_type)
            .collect();
        assert_eq!(identity_events, ["identity.reviewed", "identity.verified"], "{backend}");
        app.cleanup().await;
    }
}

/// Deciding what is already in force is a conflict: nothing is applied or sent again.
#[tokio::test]
async fn repeating_the_decision_in_force_is_a_conflict() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let approve = json!({"case_id": case_id, "action_e": "approve", "reason_code": "documents_verified_manually"});
        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &approve).await;
        assert_eq!(st, 200, "{done}");
        let (st, ct, p) = app.post_json("/api/v1/review/case/decide", Some(&key), &approve).await;
        assert_problem(st, &ct, &p, 409);
        let events: Vec<String> = events_of(&app, &sid).await.into_iter().map(|e| e.0).filter(|e| e == "session.reviewed" || e == "identity.verified").collect();
        assert_eq!(events, ["session.reviewed", "identity.verified"], "{backend}: sent once");
        assert_eq!(case_of(&app, &key, &sid).await["decisions"].as_array().unwrap().len(), 1);
        app.cleanup().await;
    }
}

/// Two people deciding the same case at the same moment are served one
/// after the other: two approves give one decision (the other is a
/// conflict); approve + reject give a correction chain, never two decisions
/// that both supersede nothing.
#[tokio::test]
async fn simultaneous_decisions_on_a_case_are_serialised() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        for round in 0..3 {
            let sid = held_session(&app, &key, &cid).await;
            let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
            let approve = json!({"case_id": case_id, "action_e": "approve", "reason_code": "documents_verified_manually"});
            let (a, b) = tokio::join!(
                app.post_json("/api/v1/review/case/decide", Some(&key), &approve),
                app.post_json("/api/v1/review/case/decide", Some(&key), &approve)
            );
            let mut statuses = [a.0, b.0];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "{backend} round {round}: {} / {}", a.2, b.2);
            let reviewed = events_of(&app, &sid).await.into_iter().filter(|e| e.0 == "session.reviewed").count();
            assert_eq!(reviewed, 1, "{backend}");

            let sid = held_session(&app, &key, &cid).await;
            let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
            let approve = json!({"case_id": case_id, "action_e": "approve", "reason_code": "documents_verified_manually"});
            let reject = json!({"case_id": case_id, "action_e": "reject", "reason_code": "suspected_fraud"});
            let (a, b) = tokio::join!(
                app.post_json("/api/v1/review/case/decide", Some(&key), &approve),
                app.post_json("/api/v1/review/case/decide", Some(&key), &reject)
            );
            assert_eq!((a.0, b.0), (200, 200), "{} / {}", a.2, b.2);
            let case = case_of(&app, &key, &sid).await;
            let decisions = case["decisions"].as_array().unwrap();
            let roots = decisions.iter().filter(|d| d["supersedes_id"].is_null()).count();
            assert_eq!(roots, 1, "{backend} round {round}: the later decision supersedes the earlier: {case}");
            let last = decisions.iter().find(|d| !decisions.iter().any(|o| o["supersedes_id"] == d["decision_id"])).unwrap();
            let outcome = if last["action_e"] == "approve" { "approved" } else { "rejected" };
            assert_eq!(case["outcome_e"].as_str(), Some(outcome), "{case}");
            assert_eq!(session(&app, &key, &sid).await["verified"].as_bool(), Some(outcome == "approved"));
        }
        app.cleanup().await;
    }
}

/// A huge age filter is a 400 naming the field, over REST and GraphQL.
#[tokio::test]
async fn an_age_filter_beyond_ten_years_is_a_bad_request() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let (st, ct, p) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"min_age_hours": u32::MAX})).await;
        assert_problem(st, &ct, &p, 400);
        assert!(p.to_string().contains("min_age_hours"), "{p}");
        let (st, _, ok) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"min_age_hours": 87600})).await;
        assert_eq!(st, 200, "{ok}");
        let admin = login(&app, &cid, "admin@demo.test", Role::Admin).await;
        let v = admin.gql(&app, "query($h: Int!) { reviewCases(filter: {minAgeHours: $h}) { totalCount } }", json!({"h": u32::MAX})).await;
        assert_eq!(v["errors"][0]["extensions"]["status"], 400, "{v}");
        assert_eq!(v["errors"][0]["extensions"]["errors"][0]["field"], "minAgeHours", "{v}");
        app.cleanup().await;
    }
}

/// Approving a session held for a sanctions possible match clears the hit on
/// the session and its identity: the SDK's identity status says verified.
#[tokio::test]
async fn approving_a_sanctions_possible_match_clears_the_hit() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        entity::idv_session::Entity::update_many()
            .col_expr(entity::idv_session::Column::OfacStatus, sea_orm::sea_query::Expr::value("hit"))
            .filter(entity::idv_session::Column::Id.eq(sid.clone()))
            .exec(db)
            .await
            .unwrap();
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "false_positive_match"})).await;
        assert_eq!(st, 200, "{done}");
        let stored = entity::idv_session::Entity::find_by_id(sid.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(stored.ofac_status, "clear");
        let identity_id = stored.identity_id.expect("an approve links the identity");
        let identity = entity::identity::Entity::find_by_id(identity_id.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((identity.verified, identity.ofac_status.as_str()), (true, "clear"), "{backend}");
        let resp = app.http.post(app.url("/api/v1/sdk/identity/status")).header("X-Client-Id", &cid).json(&json!({"identity_id": identity_id})).send().await.unwrap();
        let (st, _, status) = read(resp).await;
        assert_eq!((st, status), (200, json!({"verified": true})));
        app.cleanup().await;
    }
}

/// GraphQL lookups by session and the people who may work cases; flagging
/// a session is for admins only.
#[tokio::test]
async fn graphql_finds_a_sessions_case_and_only_admins_flag_sessions() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let admin = login(&app, &cid, "admin@demo.test", Role::Admin).await;
        let reviewer = login(&app, &cid, "rita@demo.test", Role::Reviewer).await;
        login(&app, &cid, "viewer@demo.test", Role::Viewer).await;
        let sid = held_session(&app, &key, &cid).await;
        let q = "query($s: String!) { reviewCaseOfSession(sessionId: $s) { sessionId state reasons { check } } reviewers { email role } reviewSettings { fourEyes slaHours approveCodes } }";
        let body = reviewer.gql(&app, q, json!({"s": sid})).await;
        let d = &body["data"];
        assert_eq!(d["reviewCaseOfSession"], json!({"sessionId": sid, "state": "OPEN", "reasons": [{"check": "name_crosscheck"}]}), "{body}");
        let emails: Vec<&str> = d["reviewers"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["admin@demo.test", "rita@demo.test"], "viewers do not work cases: {body}");
        assert_eq!((d["reviewSettings"]["fourEyes"].as_bool(), d["reviewSettings"]["slaHours"].as_u64()), (Some(false), Some(24)));

        // A decided session flagged again: reviewers may not, admins may.
        let case_id = d["reviewCaseOfSession"].clone();
        assert!(case_id.is_object());
        let id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let done = reviewer.gql(&app, DECIDE, json!({"id": id, "action": "REJECT", "code": "other"})).await;
        assert_eq!(done["data"]["decideReviewCase"]["case"]["state"], "DECIDED", "{done}");
        const FLAG: &str = "mutation($s: String!) { openReviewCase(sessionId: $s, priority: HIGH, note: \"second look\") { state priority openedBy notes { body } } }";
        let refused = reviewer.gql(&app, FLAG, json!({"s": sid})).await;
        assert_eq!(code(&refused), "forbidden", "{refused}");
        let flagged = admin.gql(&app, FLAG, json!({"s": sid})).await;
        assert_eq!(flagged["data"]["openReviewCase"], json!({"state": "OPEN", "priority": "HIGH", "openedBy": "admin", "notes": [{"body": "second look"}]}), "{flagged}");
        let newest = reviewer.gql(&app, q, json!({"s": sid})).await;
        assert_eq!(newest["data"]["reviewCaseOfSession"]["reasons"], json!([{"check": "manual"}]), "the newest case: {newest}");
        app.cleanup().await;
    }
}

// ---------------------------------------------------------------------------
// Attachments on notes, resubmission capture links, erased and deleted
// subjects, assignment over REST, the figures on the Overview page.

/// A small real PDF (one empty page), ending with its `%%EOF` marker.
fn tiny_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        .to_vec()
}

async fn attach(app: &TestApp, key: &str, case_id: &str, note_id: &str, name: &str, mime: &str, bytes: Vec<u8>) -> (u16, String, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str(mime).unwrap();
    let form = reqwest::multipart::Form::new().text("case_id", case_id.to_string()).text("note_id", note_id.to_string()).part("file", part);
    let resp = app.http.post(app.url("/api/v1/review/case/attachment/add")).bearer_auth(key).multipart(form).send().await.unwrap();
    read(resp).await
}

async fn download(app: &TestApp, key: &str, attachment_id: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/review/case/attachment/download"))
        .bearer_auth(key)
        .json(&json!({"attachment_id": attachment_id}))
        .send()
        .await
        .unwrap()
}

/// A logged-in browser-like client (cookie jar) for the admin UI's GET routes.
async fn cookie_client(app: &TestApp, client_id: &str, email: &str, role: Role) -> reqwest::Client {
    tenancy::create_user(&app.state.db, client_id, email, role, PASSWORD).await.unwrap();
    let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = http.post(app.url("/api/v1/auth/login")).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    http
}

#[tokio::test]
async fn note_attachments_are_checked_encrypted_listed_and_kept_to_their_client() {
    use base64::Engine;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, note) = app.post_json("/api/v1/review/case/note", Some(&key), &json!({"case_id": case_id, "body": "DMV lookup attached"})).await;
        assert_eq!(st, 200, "{note}");
        assert_eq!(note["attachments"], json!([]));
        let note_id = note["note_id"].as_str().unwrap().to_string();

        // A real PNG: stored encrypted, listed with the note, downloaded as it was.
        let shot = png(64, 48, 90);
        let (st, _, att) = attach(&app, &key, &case_id, &note_id, "../../screens/dmv lookup.png", "image/png", shot.clone()).await;
        assert_eq!(st, 200, "{backend}: {att}");
        assert_eq!((att["file_name"].as_str(), att["content_type"].as_str(), att["byte_size"].as_u64()), (Some("dmv lookup.png"), Some("image/png"), Some(shot.len() as u64)), "{att}");
        let att_id = att["attachment_id"].as_str().unwrap().to_string();
        let row = entity::review_attachment::Entity::find_by_id(att_id.clone()).one(&app.state.db).await.unwrap().unwrap();
        let raw = app.state.storage.get_raw(&row.object_key).await.unwrap().expect("the blob exists");
        assert!(raw.starts_with(b"TSB") && !raw.windows(8).any(|w| w == &shot[..8]), "stored encrypted");
        let case = case_of(&app, &key, &sid).await;
        assert_eq!(case["notes"][0]["attachments"][0]["attachment_id"], att_id.as_str(), "{case}");
        let resp = download(&app, &key, &att_id).await;
        assert_eq!(resp.status(), 200);
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], "image/png");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment;"), "{headers:?}");
        assert_eq!(resp.bytes().await.unwrap().to_vec(), shot);

        // Checked: the declared type must match the bytes, only PNG/JPEG/PDF, 5 MB, complete files.
        let (st, ct, p) = attach(&app, &key, &case_id, &note_id, "x.pdf", "application/pdf", shot.clone()).await;
        assert_problem(st, &ct, &p, 415);
        assert_eq!(p["errors"][0]["field"], "file", "{p}");
        let (st, ct, p) = attach(&app, &key, &case_id, &note_id, "x.html", "text/html", b"<html><script>alert(1)</script>".to_vec()).await;
        assert_problem(st, &ct, &p, 415);
        let pdf = tiny_pdf();
        let (st, ct, p) = attach(&app, &key, &case_id, &note_id, "cut.pdf", "application/pdf", pdf[..40].to_vec()).await;
        assert_problem(st, &ct, &p, 422);
        let mut big = b"%PDF-1.4\n".to_vec();
        big.resize(5 * 1024 * 1024 + 10, b' ');
        let (st, ct, p) = attach(&app, &key, &case_id, &note_id, "big.pdf", "application/pdf", big).await;
        assert_problem(st, &ct, &p, 413);
        let (st, ct, p) = attach(&app, &key, &case_id, "no-such-note", "a.pdf", "application/pdf", pdf.clone()).await;
        assert_problem(st, &ct, &p, 404);

        // GraphQL: a reviewer attaches a PDF (base64); notes list their attachments.
        let reviewer = login(&app, &cid, "rita@demo.test", Role::Reviewer).await;
        let added = reviewer
            .gql(
                &app,
                "mutation($c: String!, $n: String!, $b: String!) { addReviewAttachment(caseId: $c, noteId: $n, fileName: \"letter.pdf\", contentType: \"application/pdf\", contentBase64: $b) { id fileName contentType downloadUrl authorEmail } }",
                json!({"c": case_id, "n": note_id, "b": base64::engine::general_purpose::STANDARD.encode(&pdf)}),
            )
            .await;
        let a = &added["data"]["addReviewAttachment"];
        assert_eq!((a["contentType"].as_str(), a["authorEmail"].as_str()), (Some("application/pdf"), Some("rita@demo.test")), "{added}");
        let bad = reviewer
            .gql(&app, "mutation($c: String!, $n: String!) { addReviewAttachment(caseId: $c, noteId: $n, fileName: \"x\", contentBase64: \"TVqQAAMAAAAEAAAA\") { id } }", json!({"c": case_id, "n": note_id}))
            .await;
        assert!(bad["errors"].is_array(), "an executable is refused: {bad}");
        let listed = reviewer.gql(&app, "query($id: String!) { reviewCase(id: $id) { notes { attachments { fileName byteSize } } } }", json!({"id": case_id})).await;
        assert_eq!(listed["data"]["reviewCase"]["notes"][0]["attachments"], json!([{"fileName": "dmv lookup.png", "byteSize": shot.len()}, {"fileName": "letter.pdf", "byteSize": pdf.len()}]), "{listed}");

        // The admin UI opens it with the session cookie; another client's user gets 404.
        let ui = cookie_client(&app, &cid, "ann@demo.test", Role::Viewer).await;
        let resp = ui.get(app.url(a["downloadUrl"].as_str().unwrap())).send().await.unwrap();
        assert_eq!((resp.status().as_u16(), resp.headers()["content-type"].to_str().unwrap().to_string()), (200, "application/pdf".to_string()));
        assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
        let anonymous = app.http.get(app.url(a["downloadUrl"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let other = tenancy::create_client(&app.state.db, "Other Inc", false).await.unwrap();
        let other_key = tenancy::create_api_key(&app.state.db, &other.id, None, None).await.unwrap().plaintext;
        let (st, ct, p) = read(download(&app, &other_key, &att_id).await).await;
        assert_problem(st, &ct, &p, 404);
        let (st, ct, p) = attach(&app, &other_key, &case_id, &note_id, "a.pdf", "application/pdf", pdf.clone()).await;
        assert_problem(st, &ct, &p, 404);
        let their_ui = cookie_client(&app, &other.id, "eve@other.test", Role::Admin).await;
        assert_eq!(their_ui.get(app.url(a["downloadUrl"].as_str().unwrap())).send().await.unwrap().status(), 404);
        let audited = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.is_in(["review_case.attachment.add", "review_case.attachment.download"]))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(audited.len(), 4, "two uploads, two downloads: {audited:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_resubmission_mints_a_capture_link_for_a_new_session() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, ct, p) = app.post_json("/api/v1/review/case/resubmission", Some(&key), &json!({"case_id": case_id, "reason_code": "glare", "ttl_minutes": 0})).await;
        assert_problem(st, &ct, &p, 400);
        let (st, _, r) = app
            .post_json("/api/v1/review/case/resubmission", Some(&key), &json!({"case_id": case_id, "reason_code": "glare", "message": "Jane, no lamp please", "ttl_minutes": 120}))
            .await;
        assert_eq!(st, 200, "{backend}: {r}");
        let new_sid = r["resubmission"]["session_id"].as_str().unwrap().to_string();
        let url = r["resubmission"]["capture_url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&format!("{}/verify/tcl_", app.base)), "{url}");
        assert_ne!(new_sid, sid);
        assert_eq!((r["case"]["state_e"].as_str(), r["case"]["resubmission_session_id"].as_str()), (Some("in_review"), Some(new_sid.as_str())), "{r}");

        // The new session is open, carries the reviewed one's settings and webhook URL, and the link opens its page.
        let fresh = session(&app, &key, &new_sid).await;
        assert_eq!(fresh["status_e"].as_str().or(fresh["status"].as_str()), Some("in_progress"), "{fresh}");
        let stored = entity::idv_session::Entity::find_by_id(new_sid.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(stored.webhook_url.as_deref(), Some("http://127.0.0.1:9/hook"));
        assert_eq!(stored.settings["perform_liveness_test"], false);
        let token = url.rsplit('/').next().unwrap().to_string();
        let page = app.http.get(app.url(&format!("/verify/{token}"))).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("name=\"tessera-link-state\" content=\"open\""));

        // The webhook of the reviewed session hands the link to the integrator; the history keeps no token.
        let events = events_of(&app, &sid).await;
        let resub = &events.iter().find(|e| e.0 == "session.resubmission_requested").expect("resubmission event").1;
        let data = &resub["data"]["resubmission"];
        assert_eq!((data["reason_code"].as_str(), data["new_session_id"].as_str(), data["capture_url"].as_str()), (Some("glare"), Some(new_sid.as_str()), Some(url.as_str())), "{resub}");
        assert!(!resub.to_string().contains("Jane"), "no free text in the webhook");
        let history = entity::session_event::Entity::find().all(&app.state.db).await.unwrap();
        assert!(history.iter().all(|e| !e.detail.as_ref().is_some_and(|d| d.to_string().contains(&token))), "the token never rests in the history");

        // GraphQL gives the link back too.
        let sid2 = held_session(&app, &key, &cid).await;
        let case2 = case_of(&app, &key, &sid2).await["case_id"].as_str().unwrap().to_string();
        let reviewer = login(&app, &cid, "rita@demo.test", Role::Reviewer).await;
        let asked = reviewer.gql(&app, "mutation($c: String!) { requestResubmission(caseId: $c, reasonCode: \"selfie_unclear\") { sessionId captureUrl expiresAt case { state resubmissionSessionId } } }", json!({"c": case2})).await;
        let g = &asked["data"]["requestResubmission"];
        assert!(g["captureUrl"].as_str().is_some_and(|u| u.contains("/verify/tcl_")), "{asked}");
        assert_eq!(g["case"]["resubmissionSessionId"], g["sessionId"], "{asked}");
        app.cleanup().await;
    }
}

/// An erased applicant cannot be approved (nothing is left to verify), but
/// the case can be closed by a reject, so it does not wait forever.
#[tokio::test]
async fn a_case_of_an_erased_identity_is_closed_by_a_reject_and_never_approved() {
    use sea_orm::sea_query::Expr;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        let first = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, _) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": first, "action_e": "approve", "reason_code": "ocr_misread"})).await;
        assert_eq!(st, 200);
        let identity_id = session(&app, &key, &sid).await["identity_id"].as_str().unwrap().to_string();
        // A flag of the verified session, and a re-screening hit on its identity: two waiting cases.
        let (st, _, flagged) = app.post_json("/api/v1/review/case/open", Some(&key), &json!({"session_id": sid, "note": "Jane called"})).await;
        assert_eq!(st, 200, "{flagged}");
        let flagged_id = flagged["case_id"].as_str().unwrap().to_string();
        entity::identity::Entity::update_many()
            .col_expr(entity::identity::Column::OfacStatus, Expr::value("hit"))
            .filter(entity::identity::Column::Id.eq(identity_id.clone()))
            .exec(db)
            .await
            .unwrap();
        let hit = tessera::service::review::cases::open_for_identity_hit(db, &cid, &identity_id, "possible match".into(), chrono::Utc::now()).await.unwrap();

        let (st, _, erased) = app.post_json("/api/v1/identity/delete", Some(&key), &json!({"identity_id": identity_id})).await;
        assert_eq!(st, 200, "{erased}");
        for case_id in [&flagged_id, &hit.id] {
            let (_, _, c) = app.post_json("/api/v1/review/case/read", Some(&key), &json!({"case_id": case_id})).await;
            assert_eq!(c["subject_removed_e"], "identity_erased", "{backend}: {c}");
            let (st, ct, p) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "approve", "reason_code": "false_positive_match"})).await;
            assert_problem(st, &ct, &p, 409);
            assert!(p["detail"].as_str().unwrap().contains("erased"), "{p}");
        }
        let (st, ct, p) = app.post_json("/api/v1/review/case/resubmission", Some(&key), &json!({"case_id": flagged_id, "reason_code": "glare"})).await;
        assert_problem(st, &ct, &p, 409);
        // A reject closes them: the built-in code, or one of the client's.
        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": flagged_id, "action_e": "reject", "reason_code": "subject_removed"})).await;
        assert_eq!((st, done["case"]["state_e"].as_str(), done["case"]["outcome_e"].as_str()), (200, Some("decided"), Some("rejected")), "{done}");
        assert_eq!(session(&app, &key, &sid).await["verified"], false, "the session is marked unverified");
        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": hit.id, "action_e": "reject", "reason_code": "sanctions_match"})).await;
        assert_eq!((st, done["case"]["outcome_e"].as_str()), (200, Some("rejected")), "{done}");
        // The built-in code is only for such cases.
        let other = held_session(&app, &key, &cid).await;
        let other_case = case_of(&app, &key, &other).await["case_id"].as_str().unwrap().to_string();
        let (st, ct, p) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": other_case, "action_e": "reject", "reason_code": "subject_removed"})).await;
        assert_problem(st, &ct, &p, 400);
        app.cleanup().await;
    }
}

/// Deleting a session keeps its cases and decisions as the audit record,
/// without personal data; a waiting case can then only be closed by a reject.
#[tokio::test]
async fn deleting_a_session_keeps_its_decisions_without_personal_data() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        let decided = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let (st, _, _) = app
            .post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": decided, "action_e": "reject", "reason_code": "poor_image_quality", "note": "Jane Roe's photo is blurred"}))
            .await;
        assert_eq!(st, 200);
        let (st, _, flagged) = app.post_json("/api/v1/review/case/open", Some(&key), &json!({"session_id": sid, "note": "Jane Roe called back"})).await;
        assert_eq!(st, 200, "{flagged}");
        let waiting = flagged["case_id"].as_str().unwrap().to_string();
        let note_id = flagged["notes"][0]["note_id"].as_str().unwrap().to_string();
        let (st, _, att) = attach(&app, &key, &waiting, &note_id, "id.png", "image/png", png(32, 32, 10)).await;
        assert_eq!(st, 200, "{att}");
        let object_key = entity::review_attachment::Entity::find().one(db).await.unwrap().unwrap().object_key;

        let (st, _, v) = app.post_json("/api/v1/idv/session/delete", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{backend}: {v}");
        let (st, ct, p) = app.post_json("/api/v1/review/case/read", Some(&key), &json!({"session_id": sid})).await;
        assert_problem(st, &ct, &p, 404);
        let (st, _, c) = app.post_json("/api/v1/review/case/read", Some(&key), &json!({"case_id": decided})).await;
        assert_eq!(st, 200, "the decided case stays: {c}");
        assert_eq!((c["session_id"].clone(), c["subject_removed_e"].as_str(), c["outcome_e"].as_str()), (Value::Null, Some("session_deleted"), Some("rejected")), "{c}");
        let d = &c["decisions"][0];
        assert_eq!((d["action_e"].as_str(), d["reason_code"].as_str(), d["note"].clone()), (Some("reject"), Some("poor_image_quality"), Value::Null), "{c}");
        let (_, _, w) = app.post_json("/api/v1/review/case/read", Some(&key), &json!({"case_id": waiting})).await;
        assert_eq!((w["notes"][0]["body"].as_str(), w["notes"][0]["attachments"].clone()), (Some("(erased)"), json!([])), "{w}");
        assert!(!w.to_string().contains("Jane") && !c.to_string().contains("Jane"), "no personal data is left");
        assert!(app.state.storage.get_raw(&object_key).await.unwrap().is_none(), "the attachment's blob is deleted");
        let counts = entity::review_decision::Entity::find().all(db).await.unwrap().len();
        assert_eq!(counts, 1);

        let (st, ct, p) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": waiting, "action_e": "approve", "reason_code": "other"})).await;
        assert_problem(st, &ct, &p, 409);
        assert!(p["detail"].as_str().unwrap().contains("deleted"), "{p}");
        let (st, _, done) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": waiting, "action_e": "reject", "reason_code": "subject_removed"})).await;
        assert_eq!((st, done["case"]["outcome_e"].as_str()), (200, Some("rejected")), "{done}");
        let (_, _, listed) = app.post_json("/api/v1/review/case/list", Some(&key), &json!({"state_e": "decided"})).await;
        assert_eq!(listed["meta_counts"]["total"], 2, "{listed}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn cases_are_assigned_unassigned_and_claimed_over_rest() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
        let db = &app.state.db;
        let sid = held_session(&app, &key, &cid).await;
        let case_id = case_of(&app, &key, &sid).await["case_id"].as_str().unwrap().to_string();
        let rita = tenancy::create_user(db, &cid, "rita@demo.test", Role::Reviewer, PASSWORD).await.unwrap();
        let vic = tenancy::create_user(db, &cid, "vic@demo.test", Role::Viewer, PASSWORD).await.unwrap();
        let ada = tenancy::create_user(db, &cid, "ada@demo.test", Role::Admin, PASSWORD).await.unwrap();
        let (rita_id, vic_id, ada_id) = (rita.id.clone(), vic.id.clone(), ada.id.clone());

        let (st, _, c) = app.post_json("/api/v1/review/case/assign", Some(&key), &json!({"case_id": case_id, "assignee_id": rita_id})).await;
        assert_eq!((st, c["assignee_id"].as_str(), c["state_e"].as_str()), (200, Some(rita_id.as_str()), Some("in_review")), "{backend}: {c}");
        let (st, ct, p) = app.post_json("/api/v1/review/case/assign", Some(&key), &json!({"case_id": case_id, "assignee_id": vic_id})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "assignee_id", "{p}");
        let (st, _, c) = app.post_json("/api/v1/review/case/unassign", Some(&key), &json!({"case_id": case_id})).await;
        assert_eq!((st, c["assignee_id"].clone(), c["state_e"].as_str()), (200, Value::Null, Some("in_review")), "{c}");
        // Claim: the key's user takes the case; a key without a user is not a person.
        let (st, ct, p) = app.post_json("/api/v1/review/case/claim", Some(&key), &json!({"case_id": case_id})).await;
        assert_problem(st, &ct, &p, 403);
        let ada_key = tenancy::create_api_key(db, &cid, Some(&ada_id), Some("ada")).await.unwrap().plaintext;
        let (st, _, c) = app.post_json("/api/v1/review/case/claim", Some(&ada_key), &json!({"case_id": case_id})).await;
        assert_eq!((st, c["assignee_id"].as_str()), (200, Some(ada_id.as_str())), "{c}");
        // Read-only keys cannot assign; integrator keys claim and unassign but assign nobody else.
        let ro = tenancy::create_api_key_with_scope(db, &cid, None, Some("ro"), Some(KeyScope::ReadOnly), KeyScope::Admin).await.unwrap().plaintext;
        let integrator = tenancy::create_api_key_with_scope(db, &cid, None, Some("int"), Some(KeyScope::Integrator), KeyScope::Admin).await.unwrap().plaintext;
        for k in [&ro, &integrator] {
            let (st, ct, p) = app.post_json("/api/v1/review/case/assign", Some(k), &json!({"case_id": case_id, "assignee_id": rita_id})).await;
            assert_problem(st, &ct, &p, 403);
        }
        let (st, ct, p) = app.post_json("/api/v1/review/case/unassign", Some(&ro), &json!({"case_id": case_id})).await;
        assert_problem(st, &ct, &p, 403);
        let (st, _, _) = app.post_json("/api/v1/review/case/unassign", Some(&integrator), &json!({"case_id": case_id})).await;
        assert_eq!(st, 200);
        // Another tenant: 404; a decided case: 409.
        let other = tenancy::create_client(db, "Other Inc", false).await.unwrap();
        let other_key = tenancy::create_api_key(db, &other.id, None, None).await.unwrap().plaintext;
        let (st, ct, p) = app.post_json("/api/v1/review/case/unassign", Some(&other_key), &json!({"case_id": case_id})).await;
        assert_problem(st, &ct, &p, 404);
        let (st, _, _) = app.post_json("/api/v1/review/case/decide", Some(&key), &json!({"case_id": case_id, "action_e": "reject", "reason_code": "other"})).await;
        assert_eq!(st, 200);
        let (st, ct, p) = app.post_json("/api/v1/review/case/assign", Some(&key), &json!({"case_id": case_id, "assignee_id": rita_id})).await;
        assert_problem(st, &ct, &p, 409);
        let audit = entity::audit_log::Entity::find().filter(entity::audit_log::Column::Action.eq("review_case.assign")).all(db).await.unwrap();
        assert_eq!(audit.len(), 4, "{audit:?}");
        app.cleanup().await;
    }
}

/// The Overview page shows the review figures (browser).
#[tokio::test]
async fn the_overview_page_shows_the_review_figures() {
    use crate::common::browser::{self, Browser};
    use sea_orm::sea_query::Expr;
    let (chromium, driver) = match browser::locate() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("SKIPPED review overview browser test: {why}. CI installs chromium and chromium-driver (.ci/run).");
            return;
        }
    };
    let backend = backends().await.into_iter().next().unwrap();
    let app = TestApp::spawn(backend).await;
    let (key, cid) = (app.demo_key.clone(), app.demo_client_id.clone());
    tenancy::create_user(&app.state.db, &cid, "ann@demo.test", Role::Viewer, PASSWORD).await.unwrap();
    let a = held_session(&app, &key, &cid).await;
    let _b = held_session(&app, &key, &cid).await;
    let case_a = case_of(&app, &key, &a).await["case_id"].as_str().unwrap().to_string();
    entity::review_case::Entity::update_many()
        .col_expr(entity::review_case::Column::SlaDueAt, Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)))
        .filter(entity::review_case::Column::Id.eq(case_a))
        .exec(&app.state.db)
        .await
        .unwrap();

    let b = Browser::start(&chromium, &driver, 1280, 900).await;
    b.keyboard_login(&app.url("/admin"), "ann@demo.test", PASSWORD).await;
    b.goto(&app.url("/admin#/overview")).await;
    b.wait_for("the review figures", "!!document.querySelector('#overview-review #overview-open-cases')").await;
    assert_eq!(b.text_of("#overview-open-cases .stat-value").await, "2");
    assert_eq!(b.text_of("#overview-median-decision .stat-value").await, "—");
    assert_eq!(b.text_of("#overview-sla-breaches .stat-value").await, "1");
    b.screenshot(&format!("{backend}-review-05-overview-figures")).await;
    b.quit().await;
    app.cleanup().await;
}
