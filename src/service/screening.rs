//! Screening for a client: the lists it chose (`screening_setting`), the
//! false positives it cleared (`screening_allowlist`, audited), one
//! screening through the installed screener with both applied, and the
//! JSON a hit is shown as (check evidence, the search API, re-screening
//! hits). Sanctions targets and PEPs come back apart: a PEP is not a
//! sanctions hit.

use chrono::Utc;
use entity::{screening_allowlist, screening_setting};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};

use crate::engine::sanctions::subject_key;
use crate::engine::{EngineError, SanctionsHit, SanctionsScreener, ScreeningSubject};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::audit::{self, Actor};

/// Every list a client can choose: the sanctions lists by publisher, and
/// `peps` for politically exposed persons (from OpenSanctions exports).
pub const LIST_KEYS: [&str; 6] = ["ofac", "un", "eu", "uk", "opensanctions", "peps"];

/// The client's chosen lists; `None` (no choice stored): every loaded list.
pub async fn client_lists(db: &impl ConnectionTrait, client_id: &str) -> AppResult<Option<Vec<String>>> {
    Ok(screening_setting::Entity::find_by_id(client_id.to_string())
        .one(db)
        .await?
        .map(|s| serde_json::from_value(s.lists).unwrap_or_default()))
}

/// Checks list keys; the error names `field[i]`.
pub fn parse_lists(field: &str, lists: &[String]) -> AppResult<Vec<String>> {
    let mut errors = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (i, l) in lists.iter().enumerate() {
        let key = l.trim().to_ascii_lowercase();
        if !LIST_KEYS.contains(&key.as_str()) {
            errors.push(FieldError::new(format!("{field}[{i}]"), format!("unknown list `{l}`; one of {}", LIST_KEYS.join(", "))));
        } else if !out.contains(&key) {
            out.push(key);
        }
    }
    if !errors.is_empty() {
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        return Err(AppError::Validation { detail, errors });
    }
    Ok(out)
}

/// Stores the client's choice (`None`: every loaded list again). Audited.
pub async fn set_client_lists(
    db: &impl ConnectionTrait,
    actor: &Actor,
    client_id: &str,
    lists: Option<Vec<String>>,
) -> AppResult<Option<Vec<String>>> {
    let lists = lists.map(|l| parse_lists("lists", &l)).transpose()?;
    screening_setting::Entity::delete_by_id(client_id.to_string()).exec(db).await?;
    if let Some(l) = &lists {
        screening_setting::ActiveModel { client_id: Set(client_id.into()), lists: Set(json!(l)), updated_at: Set(Utc::now()) }
            .insert(db)
            .await?;
    }
    audit::record(db, actor, "screening.lists_updated", Some(("client", client_id)), None, Some(json!({ "lists": lists }))).await?;
    Ok(lists)
}

fn actor_label(actor: &Actor) -> Option<String> {
    match actor {
        Actor::ApiKey { key_id, .. } => Some(format!("api_key:{key_id}")),
        Actor::User { user_id, .. } => Some(format!("user:{user_id}")),
        Actor::System => None,
    }
}

/// A cleared false positive to record.
#[derive(Debug, Clone)]
pub struct AllowInput {
    pub subject: ScreeningSubject,
    pub list_key: String,
    pub entry_id: String,
    pub reason: String,
}

/// Records that this subject is not that list entry: the client's later
/// screenings of the same name and birth date skip the entry. Audited.
pub async fn allow(db: &impl ConnectionTrait, actor: &Actor, client_id: &str, input: AllowInput) -> AppResult<screening_allowlist::Model> {
    let list_key = parse_lists("list", std::slice::from_ref(&input.list_key))
        .map_err(|_| AppError::validation("list", format!("unknown list; one of {}", LIST_KEYS.join(", "))))?
        .remove(0);
    if input.entry_id.trim().is_empty() {
        return Err(AppError::validation("entry_id", "must not be empty"));
    }
    if input.reason.trim().is_empty() {
        return Err(AppError::validation("reason", "say why this is a false positive (kept in the audit log)"));
    }
    let key = subject_key(&input.subject);
    if key.starts_with('|') {
        return Err(AppError::validation("name", "a name is required"));
    }
    let name = [&input.subject.first_name, &input.subject.middle_name, &input.subject.last_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let row = screening_allowlist::ActiveModel {
        id: Set(crate::ids::new_id()),
        client_id: Set(client_id.into()),
        subject_key: Set(key),
        subject_name: Set(name),
        birth_date: Set(input.subject.birth_date.map(|d| d.to_string())),
        list_key: Set(list_key),
        entry_id: Set(input.entry_id.trim().to_string()),
        reason: Set(input.reason.trim().to_string()),
        created_by: Set(actor_label(actor)),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let detail = json!({"list": row.list_key, "entry_id": row.entry_id, "subject_key": row.subject_key, "reason": row.reason});
    audit::record(db, actor, "screening.allowlist_added", Some(("screening_allowlist", &row.id)), None, Some(detail)).await?;
    Ok(row)
}

/// The client's cleared false positives, newest first, and their count.
pub async fn allowlist(db: &impl ConnectionTrait, client_id: &str, take: u64, skip: u64) -> AppResult<(Vec<screening_allowlist::Model>, u64)> {
    let query = screening_allowlist::Entity::find().filter(screening_allowlist::Column::ClientId.eq(client_id));
    let total = query.clone().count(db).await?;
    let rows = query.order_by_desc(screening_allowlist::Column::CreatedAt).offset(skip).limit(take).all(db).await?;
    Ok((rows, total))
}

/// Removes a cleared false positive (404 for another client's). Audited.
pub async fn disallow(db: &impl ConnectionTrait, actor: &Actor, client_id: &str, id: &str) -> AppResult<()> {
    let row = screening_allowlist::Entity::find_by_id(id.to_string())
        .filter(screening_allowlist::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("allow-list entry"))?;
    screening_allowlist::Entity::delete_by_id(row.id.clone()).exec(db).await?;
    let detail = json!({"list": row.list_key, "entry_id": row.entry_id, "subject_key": row.subject_key});
    audit::record(db, actor, "screening.allowlist_removed", Some(("screening_allowlist", &row.id)), None, Some(detail)).await
}

/// A hit the client had cleared, left out of the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleared {
    pub list_key: String,
    pub entry_id: String,
    pub allowlist_id: String,
}

/// One screening for a client.
#[derive(Debug, Clone, Default)]
pub struct ClientScreening {
    /// Sanctions (and other watch-list) hits, best first.
    pub sanctions: Vec<SanctionsHit>,
    /// Politically exposed persons, best first.
    pub peps: Vec<SanctionsHit>,
    pub cleared: Vec<Cleared>,
    pub lists_version: Option<String>,
    /// The lists screened against (`None`: every loaded list).
    pub lists: Option<Vec<String>>,
}

/// Screens `subject` for `client_id`: its chosen lists, its allow-list
/// applied. The inner error is the screener's (the check is `unavailable`).
pub async fn screen_for_client(
    db: &impl ConnectionTrait,
    screener: &dyn SanctionsScreener,
    client_id: &str,
    mut subject: ScreeningSubject,
) -> AppResult<Result<ClientScreening, EngineError>> {
    let lists = match subject.lists.take() {
        Some(asked) => Some(asked),
        None => client_lists(db, client_id).await?,
    };
    subject.lists = lists.clone();
    let key = subject_key(&subject);
    let result = match screener.screen(subject).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let allowed = if result.hits.is_empty() {
        vec![]
    } else {
        screening_allowlist::Entity::find()
            .filter(screening_allowlist::Column::ClientId.eq(client_id))
            .filter(screening_allowlist::Column::SubjectKey.eq(&key))
            .all(db)
            .await?
    };
    let mut out = ClientScreening { lists_version: result.lists_version, lists, ..Default::default() };
    for hit in result.hits {
        let list_key = &hit.explanation.entry.list_key;
        let category_key = if hit.is_pep() { "peps" } else { list_key.as_str() };
        if let Some(a) = allowed.iter().find(|a| a.entry_id == hit.entry_id && (a.list_key == *list_key || a.list_key == category_key)) {
            out.cleared.push(Cleared { list_key: list_key.clone(), entry_id: hit.entry_id.clone(), allowlist_id: a.id.clone() });
        } else if hit.is_pep() {
            out.peps.push(hit);
        } else {
            out.sanctions.push(hit);
        }
    }
    Ok(Ok(out))
}

/// A hit as JSON: the list, entry and score (the fields the `ofac` check's
/// evidence always had) plus the explanation.
pub fn hit_json(h: &SanctionsHit) -> Value {
    let e = &h.explanation;
    json!({
        "list": h.list,
        "entry_id": h.entry_id,
        "score": h.score,
        "name": h.name,
        "category": e.entry.category,
        "list_key": e.entry.list_key,
        "matched_name": e.matched_name,
        "features": e.features,
        "entry": e.entry,
    })
}

/// The evidence of a screening check: the best hit at or above the
/// threshold (`best`), every reported candidate (`matches`), what was
/// cleared, and the lists and versions screened against.
pub fn evidence(s: &ClientScreening, hits: &[SanctionsHit], threshold: f64) -> Value {
    let best = hits.first().filter(|h| h.score >= threshold);
    json!({
        "lists_version": s.lists_version,
        "lists": s.lists,
        "threshold": threshold,
        "best": best.map(hit_json),
        "matches": hits.iter().map(hit_json).collect::<Vec<_>>(),
        "cleared": s.cleared.iter().map(|c| json!({"list_key": c.list_key, "entry_id": c.entry_id, "allowlist_id": c.allowlist_id})).collect::<Vec<_>>(),
    })
}

/// The window of the `screening/search` limit.
const SEARCH_WINDOW_SECS: u64 = 60;

/// Counts one `screening/search` of `client_id` against
/// `screening_search_per_minute` (0: no limit), in a counter every process
/// on the database shares; `RateLimited` (429 with `Retry-After`) beyond it.
pub async fn check_search_rate(db: &impl ConnectionTrait, client_id: &str, per_minute: u32) -> AppResult<()> {
    if per_minute == 0 {
        return Ok(());
    }
    match super::rate_limit::take(db, &format!("screening_search:{client_id}"), per_minute, SEARCH_WINDOW_SECS).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(AppError::RateLimited {
            detail: format!("at most {per_minute} screening searches a minute per client"),
            retry_after_secs,
        }),
    }
}

/// Search counters whose window ended (housekeeping).
pub async fn delete_stale_search_counters(db: &impl ConnectionTrait) -> AppResult<u64> {
    super::rate_limit::delete_stale(db, SEARCH_WINDOW_SECS).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_keys_are_checked_and_named() {
        assert_eq!(parse_lists("lists", &["UN".into(), "peps".into(), "un".into()]).unwrap(), ["un", "peps"]);
        let e = parse_lists("lists", &["ofac".into(), "interpol".into()]).unwrap_err();
        assert_eq!(e.field_errors()[0].field, "lists[1]");
    }
}
