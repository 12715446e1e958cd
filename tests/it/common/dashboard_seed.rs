//! Bulk dashboard data for the GraphQL tests and the dashboard benchmark:
//! IDV sessions, each with an identity, two documents, three check results
//! and two history events. Inserted in batches straight through the
//! entities (the API would take minutes for 10,000 sessions), then given
//! their search rows as the server's start-up does for such rows.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use entity::{check_result, document, identity, idv_session, session_event};
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};

pub struct Seeded {
    pub session_ids: Vec<String>,
    pub identity_ids: Vec<String>,
}

fn id(prefix: &str, client_id: &str, i: usize) -> String {
    format!("{prefix}-{}-{i:06}", &client_id[client_id.len().saturating_sub(8)..])
}

/// Session `i` (0-based): every 4th is in progress, the rest complete; of
/// the complete ones every 3rd is rejected. Created `i` minutes before
/// `now`, completed 90 + i seconds later. The `liveness` check fails on the
/// rejected ones, `ofac` fails on every 5th.
pub async fn seed_sessions(
    db: &impl ConnectionTrait,
    client_id: &str,
    weights_id: &str,
    count: usize,
    now: DateTime<Utc>,
) -> Seeded {
    let mut seeded = Seeded { session_ids: vec![], identity_ids: vec![] };
    for chunk_start in (0..count).step_by(250) {
        let range = chunk_start..(chunk_start + 250).min(count);
        let mut identities = vec![];
        let mut sessions = vec![];
        let mut documents = vec![];
        let mut checks = vec![];
        let mut events = vec![];
        for i in range {
            let created = now - Duration::minutes(i as i64);
            let complete = i % 4 != 0;
            let verified = complete.then_some(i % 3 != 0);
            let sid = id("sess", client_id, i);
            let iid = id("iden", client_id, i);
            identities.push(identity_model(client_id, &iid, &sid, i, created));
            sessions.push(session_model(client_id, weights_id, &sid, &iid, i, created, complete, verified));
            for (n, current) in [(0, false), (1, true)] {
                documents.push(document_model(client_id, &sid, &iid, i, n, current, created));
            }
            let checks_of = [
                ("face_match", true),
                ("liveness", verified != Some(false)),
                ("ofac", i % 5 != 0),
            ];
            for (n, (name, pass)) in checks_of.into_iter().enumerate() {
                checks.push(check_result::Model {
                    id: format!("{sid}-c{n}"),
                    client_id: client_id.into(),
                    session_kind: "idv".into(),
                    session_id: sid.clone(),
                    check_name: name.into(),
                    status: if pass { "pass" } else { "fail" }.into(),
                    score: Some(if pass { 0.95 } else { 0.1 }),
                    detail: None,
                    evidence: None,
                    engine_version: Some("seed".into()),
                    created_at: created,
                    updated_at: created,
                    // As the service keeps it: the session's score.
                    session_score: session_score(verified),
                    session_status: Some(if complete { "complete" } else { "in_progress" }.into()),
                });
            }
            for (n, event) in ["created", "finalized"].into_iter().enumerate() {
                events.push(session_event::Model {
                    id: format!("{sid}-e{n}"),
                    client_id: client_id.into(),
                    session_kind: "idv".into(),
                    session_id: sid.clone(),
                    event: event.into(),
                    endpoint: "seed".into(),
                    at: created + Duration::seconds(n as i64),
                    detail: None,
                });
            }
            seeded.session_ids.push(sid);
            seeded.identity_ids.push(iid);
        }
        identity::Entity::insert_many(identities.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await
            .expect("identities");
        idv_session::Entity::insert_many(sessions.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await
            .expect("sessions");
        document::Entity::insert_many(documents.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await
            .expect("documents");
        check_result::Entity::insert_many(checks.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await
            .expect("checks");
        session_event::Entity::insert_many(events.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(db)
            .await
            .expect("events");
    }
    // Rows inserted around the service are indexed as at start-up.
    tessera::service::session_search::backfill(db).await.expect("search index");
    seeded
}

/// A seeded session's score: 0.9 verified, 0.3 rejected, none in progress.
fn session_score(verified: Option<bool>) -> Option<f64> {
    verified.map(|v| if v { 0.9 } else { 0.3 })
}

fn identity_model(client_id: &str, iid: &str, sid: &str, i: usize, created: DateTime<Utc>) -> identity::Model {
    identity::Model {
        id: iid.into(),
        client_id: client_id.into(),
        user_id: None,
        external_id: Some(format!("ext-{i}")),
        first_name: Some(format!("First{i}")),
        middle_name: None,
        last_name: Some(format!("Last{i}")),
        suffix_name: None,
        birth_date: Some("1990-01-01".into()),
        gender: "unknown".into(),
        street: None,
        city: Some("Springfield".into()),
        state: Some("IL".into()),
        postal_code: None,
        email: None,
        phone: None,
        document_front_given: true,
        document_front_given_at: Some(created),
        liveness_detected: true,
        liveness_detected_at: Some(created),
        ofac_status: "clear".into(),
        ofac_detected_at: None,
        dmv_status: "unknown".into(),
        dmv_detected_at: None,
        verified: true,
        verified_at: Some(created),
        last_verified: Some(created),
        score: Some(0.9),
        metadata: serde_json::json!({}),
        latest_idv_session_id: Some(sid.into()),
        created_at: created,
        updated_at: created,
        erased_at: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn session_model(
    client_id: &str,
    weights_id: &str,
    sid: &str,
    iid: &str,
    i: usize,
    created: DateTime<Utc>,
    complete: bool,
    verified: Option<bool>,
) -> idv_session::Model {
    let completed = complete.then(|| created + Duration::seconds(90 + i as i64));
    idv_session::Model {
        id: sid.into(),
        client_id: client_id.into(),
        user_id: None,
        idv_weights_id: weights_id.into(),
        status: if complete { "complete" } else { "in_progress" }.into(),
        document_type: "driver_license".into(),
        liveness_mode: "passive".into(),
        liveness_provider: "local".into(),
        webhook_url: None,
        metadata: serde_json::json!({}),
        sdk_metadata: serde_json::json!({}),
        settings: serde_json::json!({}),
        finalize_settings: None,
        consented: true,
        consented_at: Some(created),
        document_front_given: true,
        document_front_given_at: Some(created),
        document_back_given: true,
        document_back_given_at: Some(created),
        liveness_detected: true,
        liveness_detected_at: Some(created),
        selfie_given: true,
        selfie_given_at: Some(created),
        first_name: Some(format!("First{i}")),
        middle_name: None,
        last_name: Some(format!("Last{i}")),
        suffix_name: None,
        gender: "unknown".into(),
        birth_date: Some("1990-01-01".into()),
        ofac_status: "clear".into(),
        ofac_detected_at: None,
        dmv_status: "unknown".into(),
        dmv_detected_at: None,
        verified,
        verified_at: completed,
        score: session_score(verified),
        reasons: verified.map(|_| serde_json::json!([])),
        review_required: false,
        identity_id: Some(iid.into()),
        failed_attempts: 0,
        event_sequence: 0,
        created_at: created,
        updated_at: completed.unwrap_or(created),
        completed_at: completed,
        expires_at: created + Duration::hours(24),
        blocked_until: None,
    }
}

fn document_model(
    client_id: &str,
    sid: &str,
    iid: &str,
    i: usize,
    n: usize,
    current: bool,
    created: DateTime<Utc>,
) -> document::Model {
    document::Model {
        id: format!("{sid}-d{n}"),
        client_id: client_id.into(),
        session_id: sid.into(),
        identity_id: Some(iid.into()),
        is_current: current,
        r#type: "driver_license".into(),
        data_source: if n == 0 { "ocr" } else { "barcode" }.into(),
        document_number: Some(format!("D{i:07}")),
        ref_number: None,
        issued_at: None,
        expires_at: Some("2030-01-01".into()),
        issuing_country: Some("USA".into()),
        issuing_state: Some("IL".into()),
        first_name: Some(format!("First{i}")),
        middle_name: None,
        last_name: Some(format!("Last{i}")),
        name_suffix: None,
        street: None,
        city: None,
        state: None,
        postal_code: None,
        birth_date: Some("1990-01-01".into()),
        gender: "unknown".into(),
        height: None,
        weight: None,
        eye_color: None,
        hair_color: None,
        doc_class: None,
        restrictions: None,
        endorsements: None,
        raw_payload: None,
        truncation: None,
        created_at: created + Duration::seconds(n as i64),
    }
}
