//! Blobs that belong to no row. An upload writes its blob (durably) before
//! the row that points at it commits, so a process killed in between leaves
//! a blob and never a row without its blob. The sweep removes such blobs once
//! they are older than `orphan_blob_grace_secs` (far longer than any upload
//! takes between the two writes). A process killed mid-write on local
//! storage also leaves the partial, staged file; the sweep removes those too.

use chrono::Utc;
use entity::stored_file;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;
use std::time::Duration;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::storage::BlobStore;

/// Where every stored file's blob lives.
const FILES_PREFIX: &str = "clients";

/// Deletes the blobs under `clients/` older than `grace` that no
/// `stored_file` or `review_attachment` row names, and the partial writes a
/// crash left there (local storage); returns how many were removed.
pub async fn sweep(db: &impl ConnectionTrait, storage: &BlobStore, grace: Duration) -> AppResult<usize> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let mut removed = storage.remove_staged_older_than(FILES_PREFIX, cutoff).await.map_err(AppError::Internal)?;
    let keys = storage.keys_older_than(FILES_PREFIX, cutoff).await.map_err(AppError::Internal)?;
    for chunk in keys.chunks(500) {
        let mut known: HashSet<String> = stored_file::Entity::find()
            .select_only()
            .column(stored_file::Column::ObjectKey)
            .filter(stored_file::Column::ObjectKey.is_in(chunk.iter().cloned()))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        known.extend(crate::service::review::attachments::known_keys(db, chunk).await?);
        for key in chunk.iter().filter(|k| !known.contains(*k)) {
            storage.delete(key).await.map_err(AppError::Internal)?;
            tracing::info!(object_key = %key, "removed a blob that belongs to no stored file");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps shortly after start-up, then every grace period (at most hourly).
pub fn spawn_sweeper(state: &AppState) {
    let state = state.clone();
    let grace = Duration::from_secs(state.config.orphan_blob_grace_secs);
    let every = grace.clamp(Duration::from_secs(60), Duration::from_secs(3600));
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        loop {
            if let Err(e) = sweep(&state.db, &state.storage, grace).await {
                tracing::warn!(error = %e, "the orphan blob sweep failed");
            }
            tokio::time::sleep(every).await;
        }
    });
}
