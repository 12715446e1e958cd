//! What a reviewer looks at besides the session itself: the fields each
//! reader took from the document (printed vs barcode/MRZ), the sanctions
//! entry a screening matched, and the other sessions and identities the
//! duplicate checks found. Everything stays inside the caller's scope.

use entity::{check_result, document_reading, identity, idv_session, sanctions_entry, sanctions_list};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::AppResult;
use crate::service::tenancy::Scope;

/// The readings of a session's document, front first, printed before machine.
pub async fn readings(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Vec<document_reading::Model>> {
    Ok(document_reading::Entity::find()
        .filter(document_reading::Column::ClientId.eq(client_id))
        .filter(document_reading::Column::SessionId.eq(session_id))
        .order_by_desc(document_reading::Column::Side)
        .order_by_desc(document_reading::Column::Source)
        .all(db)
        .await?)
}

/// The sanctions entry a screening hit named: `ent_num` in the list in force
/// of `list_key` (`ofac`, `un`, ...), else in any list in force.
pub async fn sanctions_entry(db: &impl ConnectionTrait, list_key: Option<&str>, ent_num: &str) -> AppResult<Option<sanctions_entry::Model>> {
    if let Some(key) = list_key
        && let Some(found) = entry_in(db, Some(key), ent_num).await?
    {
        return Ok(Some(found));
    }
    entry_in(db, None, ent_num).await
}

async fn entry_in(db: &impl ConnectionTrait, source: Option<&str>, ent_num: &str) -> AppResult<Option<sanctions_entry::Model>> {
    let mut current = sanctions_list::Entity::find().filter(sanctions_list::Column::IsCurrent.eq(true));
    if let Some(key) = source {
        current = current.filter(sanctions_list::Column::Source.eq(key));
    }
    let lists: Vec<String> = current.all(db).await?.into_iter().map(|l| l.id).collect();
    Ok(sanctions_entry::Entity::find()
        .filter(sanctions_entry::Column::ListId.is_in(lists))
        .filter(sanctions_entry::Column::EntNum.eq(ent_num))
        .one(db)
        .await?)
}

/// The list (`list_key`, when recorded) and entry id of a session's `ofac` hit, if it had one.
pub async fn sanctions_entry_id(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Option<(Option<String>, String)>> {
    let row = check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(client_id))
        .filter(check_result::Column::SessionId.eq(session_id))
        .filter(check_result::Column::CheckName.eq("ofac"))
        .one(db)
        .await?;
    Ok(row.and_then(|r| r.evidence).and_then(|e| {
        let best = &e["best"];
        let id = best["entry_id"].as_str()?.to_string();
        Some((best["list_key"].as_str().map(str::to_string), id))
    }))
}

/// A record a duplicate check pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateLink {
    /// `idv_session` or `identity`.
    pub kind: &'static str,
    pub id: String,
    /// The check that found it.
    pub check: String,
}

/// The sessions the document duplication checks and the identities the
/// duplicate-face check found, that the caller may open (others are left out).
pub async fn duplicates(db: &impl ConnectionTrait, scope: &Scope, session: &idv_session::Model) -> AppResult<Vec<DuplicateLink>> {
    let rows = check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(&session.client_id))
        .filter(check_result::Column::SessionId.eq(&session.id))
        .filter(check_result::Column::CheckName.is_in(["doc_front_online_duplication", "doc_back_online_duplication", "duplicate_face"]))
        .all(db)
        .await?;
    let mut sessions: Vec<(String, String)> = Vec::new();
    let mut identities: Vec<(String, String)> = Vec::new();
    for r in &rows {
        let Some(e) = &r.evidence else { continue };
        for part in ["barcode_identity", "image"] {
            for id in e[part]["sessions"].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                if id != session.id && !sessions.iter().any(|(s, _)| s == id) {
                    sessions.push((id.to_string(), r.check_name.clone()));
                }
            }
        }
        for m in e["matches"].as_array().into_iter().flatten() {
            if let Some(id) = m["identity_id"].as_str()
                && !identities.iter().any(|(i, _)| i == id)
            {
                identities.push((id.to_string(), r.check_name.clone()));
            }
        }
    }
    let session_ids: Vec<String> = sessions.iter().map(|(s, _)| s.clone()).collect();
    let visible: Vec<String> = idv_session::Entity::find()
        .filter(idv_session::Column::Id.is_in(session_ids))
        .filter(scope.condition(idv_session::Column::ClientId))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let identity_ids: Vec<String> = identities.iter().map(|(i, _)| i.clone()).collect();
    let visible_identities: Vec<String> = identity::Entity::find()
        .filter(identity::Column::Id.is_in(identity_ids))
        .filter(scope.condition(identity::Column::ClientId))
        .all(db)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut out: Vec<DuplicateLink> = sessions
        .into_iter()
        .filter(|(id, _)| visible.contains(id))
        .map(|(id, check)| DuplicateLink { kind: "idv_session", id, check })
        .collect();
    out.extend(
        identities
            .into_iter()
            .filter(|(id, _)| visible_identities.contains(id))
            .map(|(id, check)| DuplicateLink { kind: "identity", id, check }),
    );
    Ok(out)
}
