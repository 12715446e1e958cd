//! Metadata entries: one row per key of a session's or an identity's
//! metadata (`metadata_entry`), the index behind exact-match list filters
//! and metadata search. IDV sessions, IDA sessions and identities write
//! them the same way.

use entity::metadata_entry;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::error::AppResult;
use crate::ids::new_id;

/// Writes the index rows of `owner_kind`/`owner_id` (values as text).
pub async fn write_entries(
    db: &impl ConnectionTrait,
    client_id: &str,
    owner_kind: &str,
    owner_id: &str,
    entries: impl IntoIterator<Item = (String, String)>,
) -> AppResult<()> {
    let rows: Vec<_> = entries
        .into_iter()
        .map(|(key, value)| metadata_entry::ActiveModel {
            id: Set(new_id()),
            client_id: Set(client_id.to_string()),
            owner_kind: Set(owner_kind.to_string()),
            owner_id: Set(owner_id.to_string()),
            key: Set(key),
            value: Set(value),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    metadata_entry::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The entries of a JSON object's keys, values as text (strings unquoted).
pub fn json_entries(map: &serde_json::Map<String, serde_json::Value>) -> impl Iterator<Item = (String, String)> + '_ {
    map.iter().map(|(k, v)| (k.clone(), crate::service::types::metadata_value_text(v)))
}
