//! What an IDV session read off its documents, as the integrator sees it:
//! the current document, the document list, stored images, the per-check
//! test results, and deleting a whole session with everything it holds.

use std::collections::BTreeMap;

use entity::{
    capture_location, check_result, document, face_template, idv_session, job, metadata_entry, session_event,
    stored_file,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::service::checks::names;
use crate::service::files;
use crate::service::types::{CheckStatus, Page, StorageFileType};
use crate::storage::BlobStore;

/// `owner_kind` of metadata entries and face templates that belong to an IDV session.
pub const OWNER_IDV_SESSION: &str = "idv_session";
/// `owner_kind` of metadata entries and face templates that belong to an IDA session.
pub const OWNER_IDA_SESSION: &str = "ida_session";

/// The IDV session `session_id` of `client_id`; another client's session is 404.
pub async fn find_session(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<idv_session::Model> {
    idv_session::Entity::find_by_id(session_id.to_string())
        .filter(idv_session::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("session"))
}

/// One document of the client (404 for any other id).
pub async fn find(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<document::Model> {
    document::Entity::find_by_id(id.to_string())
        .filter(document::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("document"))
}

/// One document the caller's scope may read (404 for any other id).
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &crate::service::tenancy::Scope, id: &str) -> AppResult<document::Model> {
    let row = document::Entity::find_by_id(id.to_string()).one(db).await?;
    scope.visible(row, |d| &d.client_id, "document")
}

/// The session's current document (`is_current`), 404 when none was read yet.
pub async fn current(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<document::Model> {
    let session = find_session(db, client_id, session_id).await?;
    document::Entity::find()
        .filter(document::Column::ClientId.eq(client_id))
        .filter(document::Column::SessionId.eq(session.id))
        .filter(document::Column::IsCurrent.eq(true))
        .order_by_desc(document::Column::CreatedAt)
        .order_by_desc(document::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("document"))
}

/// One page of the session's documents, newest first, and the number in the session.
pub async fn list(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    page: Page,
) -> AppResult<(Vec<document::Model>, u64)> {
    let session = find_session(db, client_id, session_id).await?;
    let query = document::Entity::find()
        .filter(document::Column::ClientId.eq(client_id))
        .filter(document::Column::SessionId.eq(session.id));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(document::Column::CreatedAt)
        .order_by_desc(document::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// A stored image and its decrypted bytes.
#[derive(Debug, Clone)]
pub struct Image {
    pub file: stored_file::Model,
    pub bytes: Vec<u8>,
}

impl Image {
    /// `<file type>-<id>.<ext>`: no personal data in the name.
    pub fn file_name(&self) -> String {
        let ext = match self.file.content_type.as_str() {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            _ => "bin",
        };
        format!("{}-{}.{ext}", self.file.file_type, self.file.id)
    }
}

/// The newest stored file of `file_type` in the session; 404 when absent.
pub async fn image(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    client_id: &str,
    session_id: &str,
    file_type: StorageFileType,
) -> AppResult<Image> {
    let session = find_session(db, client_id, session_id).await?;
    let file = files::latest_in_session(db, client_id, &session.id, &[file_type])
        .await?
        .ok_or_else(|| AppError::not_found(format!("{file_type} image")))?;
    let bytes = files::read_bytes(storage, &file).await?;
    Ok(Image { file, bytes })
}

/// One recorded check, as `details` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckDetail {
    /// `pending`, `pass`, `fail` or `unavailable`.
    pub status: CheckStatus,
    pub score: Option<f64>,
    /// Why the check passed, failed or could not run.
    pub detail: Option<String>,
}

/// The session's check results keyed by check name.
#[derive(Debug, Clone, Default)]
pub struct SessionTests {
    pub checks: BTreeMap<String, check_result::Model>,
}

/// The DMV fields the API reports, as keys of the `dmv` check's evidence
/// (the response prefixes them with `dmv_`).
pub const DMV_FIELDS: &[&str] = &crate::domain::checks::DMV_FIELD_KEYS;

impl SessionTests {
    /// `pass` / `fail` / `unavailable` (`pending` too while it runs); `None` without a row.
    pub fn outcome(&self, check: &str) -> Option<CheckStatus> {
        self.checks.get(check).map(|c| CheckStatus::from_db(&c.status))
    }

    /// pass → true, fail → false, anything else (unavailable, pending, no row) → `None`.
    pub fn passed(&self, check: &str) -> Option<bool> {
        match self.outcome(check)? {
            CheckStatus::Pass => Some(true),
            CheckStatus::Fail => Some(false),
            CheckStatus::Pending | CheckStatus::Unavailable => None,
        }
    }

    /// A boolean from the `dmv` check's evidence; `None` when the DMV did not answer for it.
    pub fn dmv_field(&self, key: &str) -> Option<bool> {
        self.checks.get(names::DMV)?.evidence.as_ref()?.get(key)?.as_bool()
    }

    pub fn details(&self) -> BTreeMap<String, CheckDetail> {
        self.checks
            .iter()
            .map(|(name, c)| {
                let detail =
                    CheckDetail { status: CheckStatus::from_db(&c.status), score: c.score, detail: c.detail.clone() };
                (name.clone(), detail)
            })
            .collect()
    }
}

/// Every check recorded for the session.
pub async fn tests(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<SessionTests> {
    let session = find_session(db, client_id, session_id).await?;
    let rows = crate::service::checks::for_session(db, client_id, &session.id).await?;
    Ok(SessionTests { checks: rows.into_iter().map(|c| (c.check_name.clone(), c)).collect() })
}

/// What deleting a session removed (counts only: this goes into the audit row).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeletedSession {
    pub stored_files: u64,
    pub documents: u64,
    pub check_results: u64,
    pub history_events: u64,
    pub capture_locations: u64,
    pub metadata_entries: u64,
    pub jobs: u64,
    pub face_templates: u64,
    /// Review cases of the session kept (without personal data) as the
    /// audit record of their decisions.
    pub review_cases_kept: u64,
    /// Blob keys to delete once the transaction committed (not serialized).
    #[serde(skip)]
    pub blob_keys: Vec<String>,
}

/// Deletes the session's rows: stored files, documents, check results,
/// history, capture locations, metadata entries, jobs, face templates, then
/// the session. Run it in a transaction and delete the blobs
/// ([`delete_blobs`]) only after the commit, so a rollback never leaves rows
/// pointing at missing bytes. An identity the session verified is kept.
pub async fn delete_session(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<DeletedSession> {
    let session = find_session(db, client_id, session_id).await?;
    let sid = session.id.as_str();
    let blob_keys: Vec<String> = stored_file::Entity::find()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::SessionId.eq(sid))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.object_key)
        .collect();
    let stored_files = stored_file::Entity::delete_many()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::SessionId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    let documents = document::Entity::delete_many()
        .filter(document::Column::ClientId.eq(client_id))
        .filter(document::Column::SessionId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    let check_results = check_result::Entity::delete_many()
        .filter(check_result::Column::ClientId.eq(client_id))
        .filter(check_result::Column::SessionId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    let history_events = session_event::Entity::delete_many()
        .filter(session_event::Column::ClientId.eq(client_id))
        .filter(session_event::Column::SessionId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    let capture_locations = capture_location::Entity::delete_many()
        .filter(capture_location::Column::ClientId.eq(client_id))
        .filter(capture_location::Column::SessionId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    let metadata_entries = metadata_entry::Entity::delete_many()
        .filter(metadata_entry::Column::ClientId.eq(client_id))
        .filter(metadata_entry::Column::OwnerKind.eq(OWNER_IDV_SESSION))
        .filter(metadata_entry::Column::OwnerId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    // Jobs carry no client id; session ids are unique across clients.
    let jobs = job::Entity::delete_many().filter(job::Column::SessionId.eq(sid)).exec(db).await?.rows_affected;
    let face_templates = face_template::Entity::delete_many()
        .filter(face_template::Column::ClientId.eq(client_id))
        .filter(face_template::Column::OwnerKind.eq(OWNER_IDV_SESSION))
        .filter(face_template::Column::OwnerId.eq(sid))
        .exec(db)
        .await?
        .rows_affected;
    crate::service::document_checks::delete_for_session(db, client_id, sid).await?;
    // Review decisions are never deleted: the cases stay, unlinked and scrubbed.
    let (review_cases_kept, attachment_keys) =
        crate::service::review::cases::detach_deleted_session(db, client_id, sid, chrono::Utc::now()).await?;
    idv_session::Entity::delete_by_id(session.id.clone()).exec(db).await?;
    Ok(DeletedSession {
        stored_files,
        documents,
        check_results,
        history_events,
        capture_locations,
        metadata_entries,
        jobs,
        face_templates,
        review_cases_kept,
        blob_keys: blob_keys.into_iter().chain(attachment_keys).collect(),
    })
}

/// Deletes blobs whose rows are gone. A failure is logged, not returned:
/// the rows are already deleted, and an orphaned (encrypted) blob is found
/// again by the key in the log.
pub async fn delete_blobs(storage: &BlobStore, keys: &[String]) {
    for key in keys {
        if let Err(err) = storage.delete(key).await {
            tracing::error!(object_key = %key, error = %format!("{err:#}"), "deleting a blob failed; it is orphaned");
        }
    }
}
