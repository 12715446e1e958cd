//! The SDK steps of an IDV session, after the gate in
//! [`crate::service::idv::find_for_sdk`]: consent, metadata, document type,
//! document images, liveness. Every step writes its state change, history
//! event and background job in one transaction; blobs are written before
//! the transaction and removed again when it fails, so no orphan remains.

use chrono::Utc;
use entity::{document, idv_session, stored_file};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::domain::JobKind;
use crate::jobs;
use crate::service::files::{self, FileOwner, ValidImage};
use crate::service::history::{self, SessionKind};
use crate::service::idv::IdvSettings;
use crate::service::liveness::{self, Challenge};
use crate::service::location::{self, Capture, DevicePosition};
use crate::service::types::{
    CaptureType, DataSource, DocumentType, LivenessMode, SessionStatus, StorageFileType, validate_metadata,
};
use crate::state::AppState;

/// Updates an open session (`WHERE status = in_progress`); 409 when a
/// concurrent finalize / expiry got there first.
async fn update_open(db: &impl ConnectionTrait, session: &idv_session::Model, mut am: idv_session::ActiveModel) -> AppResult<()> {
    am.updated_at = Set(Utc::now());
    let res = idv_session::Entity::update_many()
        .set(am)
        .filter(idv_session::Column::Id.eq(&session.id))
        .filter(idv_session::Column::ClientId.eq(&session.client_id))
        .filter(idv_session::Column::Status.eq(SessionStatus::InProgress.as_str()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict("the session is no longer in progress".into()));
    }
    Ok(())
}

pub async fn consent(db: &DatabaseConnection, session: &idv_session::Model, consented: bool, endpoint: &str) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    update_open(
        &txn,
        session,
        idv_session::ActiveModel {
            consented: Set(consented),
            consented_at: Set(consented.then_some(now)),
            ..Default::default()
        },
    )
    .await?;
    let event = if consented { "consented" } else { "consent_withdrawn" };
    history::append(&txn, SessionKind::Idv, &session.client_id, &session.id, event, endpoint, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Merges `changes` into a stored JSON object: a `null` value removes the key.
pub fn merge_metadata(stored: &serde_json::Value, changes: &serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    let mut merged = stored.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    merged
}

pub async fn update_sdk_metadata(
    db: &DatabaseConnection,
    session: &idv_session::Model,
    changes: &serde_json::Map<String, serde_json::Value>,
    endpoint: &str,
) -> AppResult<()> {
    validate_metadata("sdk_metadata", changes)?;
    let merged = merge_metadata(&session.sdk_metadata, changes);
    validate_metadata("sdk_metadata", &merged)?;
    let txn = crate::db::begin_write(db).await?;
    update_open(
        &txn,
        session,
        idv_session::ActiveModel { sdk_metadata: Set(serde_json::Value::Object(merged)), ..Default::default() },
    )
    .await?;
    let keys: Vec<&String> = changes.keys().collect();
    history::append(
        &txn,
        SessionKind::Idv,
        &session.client_id,
        &session.id,
        "sdk_metadata_updated",
        endpoint,
        Some(serde_json::json!({ "keys": keys })),
    )
    .await?;
    crate::service::session_search::refresh(&txn, std::slice::from_ref(&session.id)).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn set_document_type(
    db: &DatabaseConnection,
    session: &idv_session::Model,
    doc_type: DocumentType,
    endpoint: &str,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    update_open(&txn, session, idv_session::ActiveModel { document_type: Set(doc_type.as_str().into()), ..Default::default() })
        .await?;
    document::Entity::update_many()
        .col_expr(document::Column::Type, sea_orm::sea_query::Expr::value(doc_type.as_str()))
        .filter(document::Column::SessionId.eq(&session.id))
        .filter(document::Column::ClientId.eq(&session.client_id))
        .filter(document::Column::IsCurrent.eq(true))
        .filter(document::Column::DataSource.eq(DataSource::Unknown.as_str()))
        .exec(&txn)
        .await?;
    history::append(
        &txn,
        SessionKind::Idv,
        &session.client_id,
        &session.id,
        "document_type_set",
        endpoint,
        Some(serde_json::json!({ "document_type_e": doc_type.as_str() })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Who sent a capture and from where.
pub struct CaptureContext {
    pub ip: Option<String>,
    /// `None` only for the hosted capture page when the user did not share a position.
    pub position: Option<DevicePosition>,
}

fn capture<'a>(session: &'a idv_session::Model, capture_type: CaptureType, ctx: &CaptureContext) -> Capture<'a> {
    let settings = IdvSettings::of(session);
    Capture {
        kind: SessionKind::Idv,
        client_id: &session.client_id,
        session_id: &session.id,
        capture_type,
        ip: if settings.collect_ip_data { ctx.ip.clone() } else { None },
        position: if settings.collect_location_data { ctx.position } else { None },
    }
}

/// Writes blobs first, then runs `work` in a transaction; when anything
/// fails the blobs are removed again.
async fn with_blobs<F, Fut>(state: &AppState, rows: &[stored_file::ActiveModel], work: F) -> AppResult<()>
where
    F: FnOnce(sea_orm::DatabaseTransaction) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    let result = async {
        let txn = crate::db::begin_write(&state.db).await?;
        work(txn).await
    }
    .await;
    if result.is_err() {
        for row in rows {
            if let sea_orm::ActiveValue::Set(key) = &row.object_key {
                if let Err(e) = state.storage.delete(key).await {
                    tracing::warn!(error = %e, key, "removing the blob of a failed upload failed");
                }
            }
        }
    }
    result
}

/// Ensures the session has a current document row (the engines fill it).
async fn ensure_current_document(db: &impl ConnectionTrait, session: &idv_session::Model) -> AppResult<()> {
    let exists = document::Entity::find()
        .filter(document::Column::SessionId.eq(&session.id))
        .filter(document::Column::ClientId.eq(&session.client_id))
        .filter(document::Column::IsCurrent.eq(true))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    document::ActiveModel {
        id: Set(new_id()),
        client_id: Set(session.client_id.clone()),
        session_id: Set(session.id.clone()),
        identity_id: Set(None),
        is_current: Set(true),
        r#type: Set(session.document_type.clone()),
        data_source: Set(DataSource::Unknown.as_str().into()),
        gender: Set("unknown".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Stores a document side (front or back) and queues its analysis.
pub async fn add_document_image(
    state: &AppState,
    session: &idv_session::Model,
    back: bool,
    image: ValidImage,
    ctx: CaptureContext,
    endpoint: &str,
) -> AppResult<()> {
    let doc_type = DocumentType::from_db(&session.document_type);
    if back && doc_type == DocumentType::Passport {
        return Err(AppError::Conflict("a passport has no back side; upload only the front (photo page)".into()));
    }
    let file_type = StorageFileType::for_document_side(doc_type, back);
    let owner = FileOwner { client_id: &session.client_id, session_kind: "idv", session_id: &session.id, identity_id: None };
    let row = files::put_image(&state.storage, &owner, file_type, &image).await?;
    let file_id = match &row.id {
        sea_orm::ActiveValue::Set(id) => id.clone(),
        _ => return Err(AppError::internal("stored file without id")),
    };
    let rows = vec![row.clone()];
    with_blobs(state, &rows, |txn| async move {
        stored_file::Entity::insert(row).exec_without_returning(&txn).await?;
        let now = Utc::now();
        let am = if back {
            idv_session::ActiveModel {
                document_back_given: Set(true),
                document_back_given_at: Set(Some(now)),
                ..Default::default()
            }
        } else {
            idv_session::ActiveModel {
                document_front_given: Set(true),
                document_front_given_at: Set(Some(now)),
                ..Default::default()
            }
        };
        update_open(&txn, session, am).await?;
        let capture_type = if back { CaptureType::BackDocImageCapture } else { CaptureType::FrontDocImageCapture };
        location::record(&txn, capture(session, capture_type, &ctx)).await?;
        ensure_current_document(&txn, session).await?;
        let event = if back { "document_back_added" } else { "document_front_added" };
        let detail = serde_json::json!({ "file_id": file_id, "storage_file_type_e": file_type.as_str() });
        history::append(&txn, SessionKind::Idv, &session.client_id, &session.id, event, endpoint, Some(detail)).await?;
        let kind = if back { JobKind::AnalyzeDocumentBack } else { JobKind::AnalyzeDocumentFront };
        let payload = serde_json::json!({ "client_id": session.client_id, "session_id": session.id, "file_id": file_id });
        jobs::enqueue(&txn, kind, &session.client_id, &session.id, payload).await?;
        txn.commit().await?;
        Ok(())
    })
    .await?;
    jobs::wake();
    Ok(())
}

/// Starts a liveness capture with the client's provider: a signed challenge
/// (local) or an Azure session token for the Azure client SDK.
pub async fn liveness_generate(
    state: &AppState,
    session: &idv_session::Model,
    ctx: CaptureContext,
    endpoint: &str,
) -> AppResult<String> {
    let mode = LivenessMode::from_db(&session.liveness_mode);
    let started =
        liveness::start_capture(&state.db, state.storage.master_key(), &session.client_id, &session.id, mode).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    history::append(&txn, SessionKind::Idv, &session.client_id, &session.id, "liveness_generated", endpoint, Some(started.detail))
        .await?;
    // Where the selfie capture started (the process call records where it ended).
    location::record(&txn, capture(session, CaptureType::SelfieImageCapture, &ctx)).await?;
    if started.provider.as_str() != session.liveness_provider {
        idv_session::Entity::update_many()
            .col_expr(idv_session::Column::LivenessProvider, sea_orm::sea_query::Expr::value(started.provider.as_str()))
            .filter(idv_session::Column::Id.eq(&session.id))
            .filter(idv_session::Column::ClientId.eq(&session.client_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(started.token)
}

/// The challenge a process call answers — the token in the body when given,
/// else the challenge of the session's latest generate (15 minutes) — and
/// the next token for the SDK. A challenge answers one process call: its
/// nonce is refused (409) once a process call used it.
pub async fn challenge_for_process(
    state: &AppState,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    mode: LivenessMode,
    token: Option<&str>,
) -> AppResult<(Challenge, String)> {
    let _ = (kind, mode);
    let now = Utc::now();
    if let Some(token) = liveness::presented_token(token)? {
        let challenge = liveness::verify(state.storage.master_key(), token, session_id, now)?;
        liveness::ensure_nonce_unused(&state.db, client_id, session_id, &challenge.nonce).await?;
        return Ok((challenge.clone(), next_token(state, &challenge)));
    }
    let generated = liveness::issued_challenge(&state.db, client_id, session_id, None).await?;
    let challenge = generated
        .as_ref()
        .and_then(|d| liveness::challenge_from_detail(session_id, d))
        .filter(|c| c.expires_at > now)
        .ok_or_else(|| {
            AppError::Conflict("no liveness session: call liveness/generate first (or send its token)".into())
        })?;
    liveness::ensure_nonce_unused(&state.db, client_id, session_id, &challenge.nonce).await?;
    let token = next_token(state, &challenge);
    Ok((challenge, token))
}

/// A fresh signed challenge of the same mode for a later capture (the one
/// just answered cannot be used again).
fn next_token(state: &AppState, answered: &Challenge) -> String {
    liveness::sign(state.storage.master_key(), &liveness::new_challenge(&answered.session_id, answered.mode))
}

/// Stores the frames (the first also as the selfie) and queues liveness and
/// face analysis.
pub async fn liveness_process(
    state: &AppState,
    session: &idv_session::Model,
    frames: Vec<ValidImage>,
    challenge: &Challenge,
    ctx: CaptureContext,
    endpoint: &str,
) -> AppResult<()> {
    let issued = liveness::issued_challenge(&state.db, &session.client_id, &session.id, Some(challenge)).await?;
    let owner = FileOwner { client_id: &session.client_id, session_kind: "idv", session_id: &session.id, identity_id: None };
    let rows = store_frames(state, &owner, &frames).await?;
    let file_ids: Vec<String> = rows.iter().filter_map(|r| r.id.clone().take()).collect();
    let all = rows.clone();
    with_blobs(state, &all, |txn| async move {
        // Checked again in the transaction that records the use. Concurrent
        // process calls of one session queue here: on SQLite behind the
        // write lock `begin_write` takes, on PostgreSQL behind this row lock.
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            sea_orm::QuerySelect::lock_exclusive(idv_session::Entity::find_by_id(session.id.clone())).one(&txn).await?;
        }
        liveness::ensure_nonce_unused(&txn, &session.client_id, &session.id, &challenge.nonce).await?;
        stored_file::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        let now = Utc::now();
        // An Azure capture may come without frames (the Azure SDK uploads to Azure).
        let changes = if frames.is_empty() {
            <idv_session::ActiveModel as Default>::default()
        } else {
            idv_session::ActiveModel { selfie_given: Set(true), selfie_given_at: Set(Some(now)), ..Default::default() }
        };
        update_open(&txn, session, changes).await?;
        location::record(&txn, capture(session, CaptureType::SelfieImageCapture, &ctx)).await?;
        let detail = serde_json::json!({ "frames": frames.len(), "nonce": challenge.nonce });
        history::append(&txn, SessionKind::Idv, &session.client_id, &session.id, liveness::PROCESSED_EVENT, endpoint, Some(detail))
            .await?;
        let payload = serde_json::json!({
            "client_id": session.client_id, "session_id": session.id, "file_ids": file_ids, "challenge": issued,
        });
        jobs::enqueue(&txn, JobKind::AnalyzeLiveness, &session.client_id, &session.id, payload).await?;
        txn.commit().await?;
        Ok(())
    })
    .await?;
    jobs::wake();
    Ok(())
}

/// Writes every frame as its liveness file type, plus the first frame as
/// the selfie; returns the rows to insert. On failure the written blobs are
/// removed.
pub async fn store_frames(
    state: &AppState,
    owner: &FileOwner<'_>,
    frames: &[ValidImage],
) -> AppResult<Vec<stored_file::ActiveModel>> {
    let mut rows: Vec<stored_file::ActiveModel> = Vec::with_capacity(frames.len() + 1);
    let mut plan: Vec<(StorageFileType, &ValidImage)> =
        frames.iter().enumerate().map(|(i, f)| (liveness::frame_file_type(i), f)).collect();
    if let Some(first) = frames.first() {
        plan.push((StorageFileType::Selfie, first));
    }
    for (file_type, frame) in plan {
        match files::put_image(&state.storage, owner, file_type, frame).await {
            Ok(row) => rows.push(row),
            Err(e) => {
                for row in &rows {
                    if let sea_orm::ActiveValue::Set(key) = &row.object_key {
                        let _ = state.storage.delete(key).await;
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_merge_adds_replaces_and_removes() {
        let stored = serde_json::json!({"a": 1, "b": "x"});
        let changes = serde_json::json!({"b": "y", "a": null, "c": true});
        let merged = merge_metadata(&stored, changes.as_object().unwrap());
        assert_eq!(serde_json::Value::Object(merged), serde_json::json!({"b": "y", "c": true}));
    }
}
