//! IDA sessions (identity authentication): a verified identity proves it is
//! still the same person with a selfie and a liveness capture. Create, list
//! and read for integrators; the SDK gate and steps (metadata, liveness
//! generate / process, finalize) for the SDK. Consent was given at
//! onboarding, so IDA has no consent step.
//!
//! Every write that changes a session row is conditional on the row still
//! being `in_progress` (and, where it merges, on `event_sequence`, which
//! counts the row's changes), so concurrent SDK calls can neither lose an
//! update nor act on a finalized or expired session.

use chrono::{DateTime, Duration, Utc};
use entity::{capture_location, check_result, ida_session, identity, session_event, stored_file};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::domain::JobKind;
use crate::jobs;
use crate::service::checks::names;
use crate::service::files::{self, FileOwner, ValidImage};
use crate::service::history::{self, SessionKind};
use crate::service::metadata;
use crate::service::idv::{metadata_match, session_search};
use crate::service::lifecycle;
use crate::service::liveness;
use crate::service::location::{self, DevicePosition};
use crate::service::types::{
    CaptureType, CheckStatus, LivenessMode, LivenessProvider, Page, SessionStatus, StorageFileType, validate_metadata,
};
use crate::service::webhooks::WebhookUrl;
use crate::service::weights;
use crate::service::tenancy::Scope;
use crate::state::AppState;
use crate::storage::BlobStore;

/// `owner_kind` of an IDA session's rows in `metadata_entry`.
pub const METADATA_OWNER: &str = "ida_session";
/// History events.
pub mod events {
    pub const CREATED: &str = "created";
    pub const SDK_METADATA_UPDATED: &str = "sdk_metadata_updated";
    pub const LIVENESS_GENERATED: &str = "liveness_generated";
    pub const LIVENESS_PROCESSED: &str = "liveness_processed";
    pub const FINALIZED: &str = "finalized";
}
/// Attempts of an optimistic (compare-and-set) session update before giving up.
const CAS_ATTEMPTS: usize = 5;

pub use crate::service::types::IdaSettings;


/// A validated create request.
pub struct NewIdaSession {
    pub identity_id: String,
    pub webhook_url: Option<WebhookUrl>,
    pub liveness_mode: LivenessMode,
    pub metadata: BTreeMap<String, String>,
    pub settings: IdaSettings,
}

/// The state a session shows: an `in_progress` session past its time to
/// live is `expired` even before the expiry job has rewritten the row.
pub fn effective_status(session: &ida_session::Model, now: DateTime<Utc>) -> SessionStatus {
    lifecycle::effective_status(&session.status, session.expires_at, now)
}

/// Creates a session for a verified identity of `client_id`: 404 when the
/// identity is not the client's, 409 when it is not verified or was erased.
/// The names are copied from the identity; the weights in force are pinned.
pub async fn create(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    new: NewIdaSession,
    ttl_hours: u64,
    endpoint: &str,
) -> AppResult<ida_session::Model> {
    let identity = identity::Entity::find_by_id(new.identity_id.clone())
        .filter(identity::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("identity"))?;
    if identity.erased_at.is_some() {
        return Err(AppError::Conflict("the identity has been erased; it cannot be authenticated".into()));
    }
    if !identity.verified {
        return Err(AppError::Conflict(
            "the identity is not verified; complete an IDV session for it before authenticating".into(),
        ));
    }
    let weights = weights::in_force(db, client_id, user_id).await?;
    let metadata: serde_json::Map<String, serde_json::Value> =
        new.metadata.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    validate_metadata("metadata", &metadata)?;
    let now = Utc::now();
    let id = new_id();
    let model = ida_session::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.to_string()),
        user_id: Set(user_id.map(str::to_string)),
        identity_id: Set(identity.id.clone()),
        idv_weights_id: Set(weights.id),
        status: Set(SessionStatus::InProgress.as_str().into()),
        liveness_mode: Set(new.liveness_mode.as_str().into()),
        liveness_provider: Set(LivenessProvider::Local.as_str().into()),
        webhook_url: Set(new.webhook_url.map(|u| u.as_str().to_string())),
        metadata: Set(serde_json::Value::Object(metadata)),
        sdk_metadata: Set(serde_json::json!({})),
        settings: Set(serde_json::to_value(&new.settings).map_err(AppError::internal)?),
        first_name: Set(identity.first_name),
        middle_name: Set(identity.middle_name),
        last_name: Set(identity.last_name),
        suffix_name: Set(identity.suffix_name),
        liveness_detected: Set(false),
        liveness_detected_at: Set(None),
        selfie_given: Set(false),
        selfie_given_at: Set(None),
        authenticated: Set(None),
        face_distance: Set(None),
        reasons: Set(None),
        failed_attempts: Set(0),
        event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
        expires_at: Set(now + Duration::hours(std::cmp::min(ttl_hours, 24 * 365) as i64)),
        blocked_until: Set(None),
    };
    ida_session::Entity::insert(model).exec_without_returning(db).await?;
    metadata::write_entries(db, client_id, METADATA_OWNER, &id, new.metadata.clone()).await?;
    history::append(db, SessionKind::Ida, client_id, &id, events::CREATED, endpoint, None).await?;
    find(db, client_id, &id).await
}


/// The session with this id in this client; 404 otherwise (also for
/// another client's session, so ids cannot be probed).
pub async fn find(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<ida_session::Model> {
    lifecycle::find::<ida_session::Entity>(db, client_id, session_id).await
}

/// The session with this id when the caller's scope may read it; 404 otherwise.
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &Scope, session_id: &str) -> AppResult<ida_session::Model> {
    lifecycle::find_in_scope::<ida_session::Entity>(db, scope, session_id).await
}

/// The newest capture location of a type in a session of `client_id`: 404
/// for an unknown session and for a session without such a capture.
pub async fn location(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    capture_type: CaptureType,
) -> AppResult<capture_location::Model> {
    find(db, client_id, session_id).await?;
    location::latest(db, client_id, session_id, capture_type)
        .await?
        .ok_or_else(|| AppError::not_found(format!("{capture_type} location")))
}

/// Validated list filters.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Already resolved by the tenancy rule; never empty.
    pub client_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub identity_ids: Vec<String>,
    /// `unknown` filters nothing (the API reference's sample request sends it).
    pub status: Option<SessionStatus>,
    /// `true`: authenticated sessions; `false`: every other session
    /// (not finalized yet, or finalized without authentication).
    pub verified: Option<bool>,
    pub search_term: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Every pair must match exactly.
    pub metadata: Vec<(String, String)>,
}


/// The WHERE clause of [`list`] (also used by GraphQL's sorted connections).
pub fn list_condition(f: &ListFilter, now: DateTime<Utc>) -> Condition {
    use ida_session::Column as C;
    let mut cond = Condition::all().add(C::ClientId.is_in(f.client_ids.clone()));
    if !f.user_ids.is_empty() {
        cond = cond.add(C::UserId.is_in(f.user_ids.clone()));
    }
    if !f.identity_ids.is_empty() {
        cond = cond.add(C::IdentityId.is_in(f.identity_ids.clone()));
    }
    if let Some(status) = f.status.and_then(|s| lifecycle::status_condition(SessionKind::Ida, s, now)) {
        cond = cond.add(status);
    }
    match f.verified {
        Some(true) => cond = cond.add(C::Authenticated.eq(true)),
        Some(false) => cond = cond.add(Condition::any().add(C::Authenticated.is_null()).add(C::Authenticated.eq(false))),
        None => {}
    }
    if let Some(start) = f.start {
        cond = cond.add(C::CreatedAt.gte(start));
    }
    if let Some(end) = f.end {
        cond = cond.add(C::CreatedAt.lte(end));
    }
    for (k, v) in &f.metadata {
        cond = cond.add(C::Id.in_subquery(metadata_match(METADATA_OWNER, &f.client_ids, k, v)));
    }
    if let Some(term) = f.search_term.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        cond = cond.add(session_search(ida_session::Entity, METADATA_OWNER, &f.client_ids, term));
    }
    cond
}

/// One page of sessions, newest first, and the number of rows matching the filters.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &ListFilter,
    page: Page,
    now: DateTime<Utc>,
) -> AppResult<(Vec<ida_session::Model>, u64)> {
    let cond = list_condition(f, now);
    let total = ida_session::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = ida_session::Entity::find()
        .filter(cond)
        .order_by_desc(ida_session::Column::CreatedAt)
        .order_by_desc(ida_session::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// What an SDK call wants to do with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkStep {
    /// Session read: any state.
    Read,
    /// Finalize: an open session, or a completed one (its stored answer is repeated).
    Finalize,
    /// Every other step: the session must be open.
    Step,
}

/// The SDK gate: the session belongs to the X-Client-Id client (else 404)
/// and accepts the step (else 409 naming the state).
pub async fn find_for_sdk(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    step: SdkStep,
    now: DateTime<Utc>,
) -> AppResult<ida_session::Model> {
    let session = find(db, client_id, session_id).await?;
    let status = effective_status(&session, now);
    match (step, status) {
        (SdkStep::Read, _) | (_, SessionStatus::InProgress) | (SdkStep::Finalize, SessionStatus::Complete) => {
            Ok(session)
        }
        (_, status) => Err(closed(status)),
    }
}

/// The 409 for a session that no longer accepts SDK steps.
fn closed(status: SessionStatus) -> AppError {
    AppError::Conflict(match status {
        SessionStatus::Expired => "the session has expired (status expired); create a new session".into(),
        SessionStatus::TemporarilyBlocked => {
            "the session is temporarily blocked after repeated failed attempts (status temporarily_blocked)".into()
        }
        other => format!("the session is already finalized (status {other})"),
    })
}

/// Merges `patch` into the session's `sdk_metadata`: a key with a JSON
/// `null` value is removed, every other key is set. The merged map obeys
/// the metadata limits.
pub async fn merge_sdk_metadata(
    db: &(impl ConnectionTrait + TransactionTrait),
    client_id: &str,
    session_id: &str,
    patch: &serde_json::Map<String, serde_json::Value>,
    endpoint: &str,
) -> AppResult<()> {
    validate_metadata("sdk_metadata", patch)?;
    for _ in 0..CAS_ATTEMPTS {
        let now = Utc::now();
        let session = find_for_sdk(db, client_id, session_id, SdkStep::Step, now).await?;
        let mut merged = match session.sdk_metadata.clone() {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in patch {
            if v.is_null() {
                merged.remove(k);
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        validate_metadata("sdk_metadata", &merged)?;
        let keys: Vec<&String> = patch.keys().collect();
        let txn = crate::db::begin_write(db).await?;
        let changes = ida_session::ActiveModel { sdk_metadata: Set(serde_json::Value::Object(merged)), ..Default::default() };
        if update_open(&txn, &session, changes, now, true).await? {
            let detail = serde_json::json!({ "keys": keys });
            history::append(&txn, SessionKind::Ida, client_id, session_id, events::SDK_METADATA_UPDATED, endpoint, Some(detail))
                .await?;
            txn.commit().await?;
            return Ok(());
        }
    }
    Err(AppError::Conflict("the session changed concurrently; retry the request".into()))
}

/// Applies `changes` (plus `updated_at` and an `event_sequence` bump) when
/// the row is still open; with `same_version`, only when nobody changed it
/// since `seen` was read. Returns whether the row was updated.
async fn update_open(
    db: &impl ConnectionTrait,
    seen: &ida_session::Model,
    mut changes: ida_session::ActiveModel,
    now: DateTime<Utc>,
    same_version: bool,
) -> AppResult<bool> {
    use ida_session::Column as C;
    changes.updated_at = Set(now);
    let mut update = ida_session::Entity::update_many()
        .set(changes)
        .col_expr(C::EventSequence, Expr::col(C::EventSequence).add(1))
        .filter(C::Id.eq(seen.id.clone()))
        .filter(C::ClientId.eq(seen.client_id.clone()))
        .filter(C::Status.eq(SessionStatus::InProgress.as_str()))
        .filter(C::ExpiresAt.gt(now));
    if same_version {
        update = update.filter(C::EventSequence.eq(seen.event_sequence));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Starts a liveness capture: a signed challenge token (mode and, for
/// `passive_active`, the active steps in order) valid for 15 minutes.
pub async fn generate_liveness(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    client_id: &str,
    session_id: &str,
    position: DevicePosition,
    ip: Option<String>,
    endpoint: &str,
) -> AppResult<String> {
    let session = find_for_sdk(db, client_id, session_id, SdkStep::Step, Utc::now()).await?;
    let mode = LivenessMode::from_db(&session.liveness_mode);
    let started = liveness::start_capture(db, storage.master_key(), client_id, &session.id, mode).await?;
    let mut detail = started.detail;
    detail["latitude"] = serde_json::json!(position.latitude);
    detail["longitude"] = serde_json::json!(position.longitude);
    history::append(db, SessionKind::Ida, client_id, session_id, events::LIVENESS_GENERATED, endpoint, Some(detail)).await?;
    // Where the selfie capture started (the process call records where it ended).
    let start = location::Capture {
        kind: SessionKind::Ida,
        client_id,
        session_id: &session.id,
        capture_type: CaptureType::SelfieImageCapture,
        ip,
        position: Some(position),
    };
    location::record(db, start).await?;
    if started.provider.as_str() != session.liveness_provider {
        ida_session::Entity::update_many()
            .col_expr(ida_session::Column::LivenessProvider, Expr::value(started.provider.as_str()))
            .filter(ida_session::Column::Id.eq(&session.id))
            .filter(ida_session::Column::ClientId.eq(client_id))
            .exec(db)
            .await?;
    }
    Ok(started.token)
}

/// A liveness process call after parsing.
pub struct LivenessCapture {
    pub position: DevicePosition,
    pub ip: Option<String>,
    /// The token of `generate`, when the SDK sends it back.
    pub token: Option<String>,
    /// Raw base64 frames (decoded and validated here, after the state checks).
    pub images: Vec<String>,
}

/// Stores the frames of a liveness capture and queues their analysis.
///
/// The challenge must be proven: with `token`, it must verify (signature,
/// session, expiry) and not have been used by an earlier process call;
/// without one (the documented request has no token field), a
/// `liveness_generated` event must exist. Frames are decoded and validated
/// (at most 5), written encrypted to blob storage, then recorded in one
/// transaction with the capture location, `selfie_given`, the history event
/// and the analysis job; when that transaction fails the blobs are deleted.
/// The first (passive) frame is also stored as the session's `selfie`.
/// Returns a fresh challenge token for a retry.
///
/// A rejected capture (invalid token, frames that are not valid images)
/// counts as a failed attempt toward `temporarily_blocked`
/// ([`lifecycle::record_failed_attempt`]).
pub async fn process_liveness(
    state: &AppState,
    client_id: &str,
    session_id: &str,
    capture: LivenessCapture,
    endpoint: &str,
) -> AppResult<String> {
    let session = find_for_sdk(&state.db, client_id, session_id, SdkStep::Step, Utc::now()).await?;
    let result = capture_liveness(&state.db, &state.storage, &session, capture, endpoint).await;
    if let Err(e) = &result {
        let (db, config) = (&state.db, &state.config);
        lifecycle::count_rejected_capture(db, config, SessionKind::Ida, &session.client_id, &session.id, endpoint, e).await;
    }
    result
}


async fn capture_liveness(
    db: &(impl ConnectionTrait + TransactionTrait),
    storage: &BlobStore,
    session: &ida_session::Model,
    capture: LivenessCapture,
    endpoint: &str,
) -> AppResult<String> {
    let proved = prove_challenge(db, storage, session, capture.token.as_deref()).await?;
    let nonce = proved.as_ref().map(|c| c.nonce.clone());
    let issued = liveness::issued_challenge(db, &session.client_id, &session.id, proved.as_ref()).await?;
    // The Azure client SDK uploads to Azure: its process call may carry no frames.
    let azure = session.liveness_provider == LivenessProvider::Azure.as_str();
    let frames = if azure && capture.images.is_empty() { Vec::new() } else { liveness::decode_frames(&capture.images).await? };
    let rows = store_frames(storage, session, &frames).await?;
    let object_keys: Vec<String> = rows.iter().map(|r| r.object_key.clone().unwrap()).collect();
    match record_capture(db, session, rows, &capture, nonce, issued, endpoint).await {
        Ok(()) => {}
        Err(e) => {
            delete_blobs(storage, &object_keys).await;
            return Err(e);
        }
    }
    let next = liveness::new_challenge(&session.id, LivenessMode::from_db(&session.liveness_mode));
    Ok(liveness::sign(storage.master_key(), &next))
}

/// Checks the challenge of a process call; returns the token's challenge.
async fn prove_challenge(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    session: &ida_session::Model,
    token: Option<&str>,
) -> AppResult<Option<liveness::Challenge>> {
    let events_of = |event: &'static str| {
        session_event::Entity::find()
            .filter(session_event::Column::ClientId.eq(session.client_id.clone()))
            .filter(session_event::Column::SessionId.eq(session.id.clone()))
            .filter(session_event::Column::Event.eq(event))
    };
    let Some(token) = liveness::presented_token(token)? else {
        if events_of(events::LIVENESS_GENERATED).count(db).await? == 0 {
            return Err(AppError::Conflict(
                "no liveness session: POST /api/v1/sdk/ida/liveness/generate before processing".into(),
            ));
        }
        return Ok(None);
    };
    let challenge = liveness::verify(storage.master_key(), token, &session.id, Utc::now())?;
    liveness::ensure_nonce_unused(db, &session.client_id, &session.id, &challenge.nonce).await?;
    Ok(Some(challenge))
}

/// Writes every frame (and the first again as the selfie) to blob storage;
/// on a failure deletes what was written.
async fn store_frames(
    storage: &BlobStore,
    session: &ida_session::Model,
    frames: &[ValidImage],
) -> AppResult<Vec<stored_file::ActiveModel>> {
    let owner = FileOwner {
        client_id: &session.client_id,
        session_kind: SessionKind::Ida.as_str(),
        session_id: &session.id,
        // Linked to the identity only when the authentication succeeds
        // (finalize): a failed attempt may show somebody else's face.
        identity_id: None,
    };
    let wanted = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (liveness::frame_file_type(i), f))
        .chain(frames.first().map(|f| (StorageFileType::Selfie, f)));
    let mut rows: Vec<stored_file::ActiveModel> = Vec::with_capacity(frames.len() + 1);
    for (file_type, frame) in wanted {
        match files::put_image(storage, &owner, file_type, frame).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                let keys: Vec<String> = rows.iter().map(|r| r.object_key.clone().unwrap()).collect();
                delete_blobs(storage, &keys).await;
                return Err(e);
            }
        }
    }
    Ok(rows)
}

async fn delete_blobs(storage: &BlobStore, object_keys: &[String]) {
    for key in object_keys {
        if let Err(e) = storage.delete(key).await {
            tracing::warn!(object_key = %key, error = %e, "could not delete the blob of a failed liveness capture");
        }
    }
}

/// The database half of a liveness capture, in one transaction.
async fn record_capture(
    db: &(impl ConnectionTrait + TransactionTrait),
    session: &ida_session::Model,
    rows: Vec<stored_file::ActiveModel>,
    capture: &LivenessCapture,
    nonce: Option<String>,
    challenge: Option<serde_json::Value>,
    endpoint: &str,
) -> AppResult<()> {
    let now = Utc::now();
    let file_ids: Vec<String> = rows.iter().map(|r| r.id.clone().unwrap()).collect();
    let txn = crate::db::begin_write(db).await?;
    if let Some(nonce) = &nonce {
        // Checked again where the use is recorded: concurrent calls of one
        // session queue on the write lock (SQLite) or this row lock (PostgreSQL).
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            sea_orm::QuerySelect::lock_exclusive(ida_session::Entity::find_by_id(session.id.clone())).one(&txn).await?;
        }
        liveness::ensure_nonce_unused(&txn, &session.client_id, &session.id, nonce).await?;
    }
    let changes = if file_ids.is_empty() {
        <ida_session::ActiveModel as Default>::default()
    } else {
        ida_session::ActiveModel { selfie_given: Set(true), selfie_given_at: Set(Some(now)), ..Default::default() }
    };
    if !update_open(&txn, session, changes, now, false).await? {
        let current = find(&txn, &session.client_id, &session.id).await?;
        return Err(closed(effective_status(&current, now)));
    }
    stored_file::Entity::insert_many(rows).exec_without_returning(&txn).await?;
    location::record(
        &txn,
        location::Capture {
            kind: SessionKind::Ida,
            client_id: &session.client_id,
            session_id: &session.id,
            capture_type: CaptureType::SelfieImageCapture,
            ip: capture.ip.clone(),
            position: Some(capture.position),
        },
    )
    .await?;
    let detail = serde_json::json!({ "nonce": nonce, "file_ids": file_ids, "frames": capture.images.len() });
    history::append(&txn, SessionKind::Ida, &session.client_id, &session.id, events::LIVENESS_PROCESSED, endpoint, Some(detail))
        .await?;
    let payload = serde_json::json!({
        "client_id": session.client_id, "session_id": session.id, "file_ids": file_ids, "challenge": challenge,
    });
    jobs::enqueue(&txn, JobKind::AnalyzeIdaLiveness, &session.client_id, &session.id, payload).await?;
    txn.commit().await?;
    jobs::wake();
    Ok(())
}

/// The outcome of finalize.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IdaVerdict {
    pub authenticated: bool,
    /// Why the session is not authenticated (empty when it is).
    pub reasons: Vec<String>,
}

impl IdaVerdict {
    /// The stored answer of a completed session.
    pub fn stored(session: &ida_session::Model) -> Self {
        let reasons = session
            .reasons
            .as_ref()
            .and_then(|r| serde_json::from_value::<Vec<String>>(r.clone()).ok())
            .unwrap_or_default();
        Self { authenticated: session.authenticated.unwrap_or(false), reasons }
    }
}

/// Decides a session from its check results: authenticated when a selfie
/// was given and both the face match (against the identity) and the
/// liveness check passed. A missing, pending or unavailable check is never
/// a pass; its reason says so.
pub fn decide(session: &ida_session::Model, checks: &[check_result::Model]) -> IdaVerdict {
    if !session.selfie_given {
        return IdaVerdict {
            authenticated: false,
            reasons: vec!["no selfie was given: POST /api/v1/sdk/ida/liveness/process before finalizing".into()],
        };
    }
    let engine_of = |name: &str| if name == names::LIVENESS { "liveness engine" } else { "face engine" };
    let mut reasons = Vec::new();
    for name in [names::FACE_MATCH, names::LIVENESS] {
        let Some(check) = checks.iter().find(|c| c.check_name == name) else {
            reasons.push(format!("{name}: no result; the {} is not installed or did not run", engine_of(name)));
            continue;
        };
        let detail = check.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        match CheckStatus::parse(&check.status) {
            Some(CheckStatus::Pass) => {}
            Some(CheckStatus::Fail) => reasons.push(format!("{name}: failed{detail}")),
            Some(CheckStatus::Pending) => reasons.push(format!("{name}: still pending{detail}")),
            Some(CheckStatus::Unavailable) | None => {
                reasons.push(format!("{name}: unavailable{detail}"));
            }
        }
    }
    // Requested age / sex comparisons: a failure means the selfie does not
    // fit the identity; one that could not run (no estimate, no birth date
    // on the identity) is recorded with its reason and does not decide.
    let settings = IdaSettings::of(session);
    let requested = [(names::AGE, settings.perform_age_test), (names::GENDER, settings.perform_gender_test)];
    for (name, _) in requested.into_iter().filter(|(_, on)| *on) {
        let Some(check) = checks.iter().find(|c| c.check_name == name) else { continue };
        if CheckStatus::parse(&check.status) == Some(CheckStatus::Fail) {
            let detail = check.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            reasons.push(format!("{name}: failed{detail}"));
        }
    }
    IdaVerdict { authenticated: reasons.is_empty(), reasons }
}

/// Finalizes an open session, or repeats the stored answer of a completed
/// one. First the session's own analysis jobs get to finish
/// ([`crate::service::finalize::settle_analysis`]); when they are still
/// running the answer is 503 with `Retry-After` and the session stays open,
/// so the SDK can retry. The verdict comes
/// from the check results the jobs recorded ([`decide`]). The status change
/// is one conditional UPDATE (`WHERE status = 'in_progress'`), so of
/// concurrent finalize calls exactly one decides and the others repeat its
/// answer.
pub async fn finalize(state: &AppState, client_id: &str, session_id: &str, endpoint: &str) -> AppResult<IdaVerdict> {
    let db = &state.db;
    let session = find_for_sdk(db, client_id, session_id, SdkStep::Finalize, Utc::now()).await?;
    if effective_status(&session, Utc::now()) == SessionStatus::Complete {
        return Ok(IdaVerdict::stored(&session));
    }
    crate::service::finalize::settle_analysis(state, session_id).await?;
    // The jobs may have changed the row (liveness_detected, face_distance).
    let session = find(db, client_id, session_id).await?;
    crate::service::faces::settle_ida(state, &session, &IdaSettings::of(&session)).await?;
    let checks = crate::service::checks::for_session(db, client_id, session_id).await?;
    let verdict = decide(&session, &checks);
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let changes = ida_session::ActiveModel {
        status: Set(SessionStatus::Complete.as_str().into()),
        completed_at: Set(Some(now)),
        authenticated: Set(Some(verdict.authenticated)),
        reasons: Set(Some(serde_json::json!(verdict.reasons))),
        ..Default::default()
    };
    if !update_open(&txn, &session, changes, now, false).await? {
        drop(txn);
        let current = find(db, client_id, session_id).await?;
        return match effective_status(&current, Utc::now()) {
            SessionStatus::Complete => Ok(IdaVerdict::stored(&current)),
            other => Err(closed(other)),
        };
    }
    if verdict.authenticated {
        link_captures(&txn, &session).await?;
    }
    let detail = serde_json::json!({ "authenticated": verdict.authenticated, "reasons": verdict.reasons });
    history::append(&txn, SessionKind::Ida, client_id, session_id, events::FINALIZED, endpoint, Some(detail)).await?;
    txn.commit().await?;
    Ok(verdict)
}

/// Links a successful authentication's captures to its identity, so they
/// may represent the person (identity image, admin gallery), and records
/// the time as the identity's `last_verified`.
async fn link_captures(db: &impl ConnectionTrait, session: &ida_session::Model) -> AppResult<()> {
    stored_file::Entity::update_many()
        .col_expr(stored_file::Column::IdentityId, sea_orm::sea_query::Expr::value(session.identity_id.clone()))
        .filter(stored_file::Column::ClientId.eq(&session.client_id))
        .filter(stored_file::Column::SessionKind.eq(SessionKind::Ida.as_str()))
        .filter(stored_file::Column::SessionId.eq(&session.id))
        .exec(db)
        .await?;
    let now = Utc::now();
    identity::Entity::update_many()
        .col_expr(identity::Column::LastVerified, Expr::value(now))
        .col_expr(identity::Column::UpdatedAt, Expr::value(now))
        .filter(identity::Column::Id.eq(&session.identity_id))
        .filter(identity::Column::ClientId.eq(&session.client_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(selfie_given: bool) -> ida_session::Model {
        let now = Utc::now();
        ida_session::Model {
            id: "s".into(),
            client_id: "c".into(),
            user_id: None,
            identity_id: "i".into(),
            idv_weights_id: "w".into(),
            status: "in_progress".into(),
            liveness_mode: "passive".into(),
            liveness_provider: "local".into(),
            webhook_url: None,
            metadata: serde_json::json!({}),
            sdk_metadata: serde_json::json!({}),
            settings: serde_json::json!({}),
            first_name: None,
            middle_name: None,
            last_name: None,
            suffix_name: None,
            liveness_detected: false,
            liveness_detected_at: None,
            selfie_given,
            selfie_given_at: None,
            authenticated: None,
            face_distance: None,
            reasons: None,
            failed_attempts: 0,
            event_sequence: 0,
            created_at: now,
            updated_at: now,
            completed_at: None,
            expires_at: now + Duration::hours(1),
            blocked_until: None,
        }
    }

    fn check(name: &str, status: CheckStatus) -> check_result::Model {
        let now = Utc::now();
        check_result::Model {
            id: name.into(),
            client_id: "c".into(),
            session_kind: "ida".into(),
            session_id: "s".into(),
            check_name: name.into(),
            status: status.as_str().into(),
            score: None,
            detail: Some("why".into()),
            evidence: None,
            engine_version: None,
            created_at: now,
            updated_at: now,
            session_score: None,
            session_status: None,
        }
    }

    #[test]
    fn authenticated_only_when_both_checks_pass() {
        let s = session(true);
        let both = [check(names::FACE_MATCH, CheckStatus::Pass), check(names::LIVENESS, CheckStatus::Pass)];
        assert_eq!(decide(&s, &both), IdaVerdict { authenticated: true, reasons: vec![] });

        let v = decide(&s, &[check(names::LIVENESS, CheckStatus::Pass)]);
        assert!(!v.authenticated);
        assert_eq!(v.reasons.len(), 1);
        assert!(v.reasons[0].contains("face engine is not installed"), "{v:?}");

        let v = decide(&s, &[check(names::FACE_MATCH, CheckStatus::Unavailable), check(names::LIVENESS, CheckStatus::Fail)]);
        assert_eq!(v.reasons, ["face_match: unavailable: why", "liveness: failed: why"]);

        let v = decide(&session(false), &both);
        assert!(!v.authenticated && v.reasons[0].contains("no selfie"));
    }

    #[test]
    fn a_requested_age_or_sex_comparison_that_fails_refuses_the_authentication() {
        let mut s = session(true);
        let mut checks = vec![check(names::FACE_MATCH, CheckStatus::Pass), check(names::LIVENESS, CheckStatus::Pass)];
        checks.push(check(names::AGE, CheckStatus::Fail));
        checks.push(check(names::GENDER, CheckStatus::Unavailable));
        let v = decide(&s, &checks);
        assert_eq!(v, IdaVerdict { authenticated: false, reasons: vec!["age: failed: why".into()] });
        // Not requested: a stored result does not decide.
        s.settings = serde_json::json!({"perform_age_test": false});
        assert!(decide(&s, &checks).authenticated);
        // Requested but unable to run (no estimate / no birth date): recorded, not deciding.
        checks[2] = check(names::AGE, CheckStatus::Unavailable);
        s.settings = serde_json::json!({});
        assert!(decide(&s, &checks).authenticated);
        checks[3] = check(names::GENDER, CheckStatus::Fail);
        assert_eq!(decide(&s, &checks).reasons, ["gender: failed: why"]);
    }

    #[test]
    fn past_ttl_shows_expired() {
        let mut s = session(false);
        assert_eq!(effective_status(&s, Utc::now()), SessionStatus::InProgress);
        s.expires_at = Utc::now() - Duration::seconds(1);
        assert_eq!(effective_status(&s, Utc::now()), SessionStatus::Expired);
        s.status = "temporarily_blocked".into();
        assert_eq!(effective_status(&s, Utc::now()), SessionStatus::Expired);
        s.status = "complete".into();
        assert_eq!(effective_status(&s, Utc::now()), SessionStatus::Complete);
    }

    #[test]
    fn settings_default_to_true() {
        let s: IdaSettings = serde_json::from_value(serde_json::json!({"perform_age_test": false})).unwrap();
        assert_eq!(s, IdaSettings { perform_age_test: false, perform_gender_test: true });
        assert!(serde_json::from_value::<IdaSettings>(serde_json::json!({"perform_x": true})).is_err());
    }
}
