//! IDV sessions: create, tenant-scoped lookup, list, and the SDK gate every
//! SDK step passes through (ownership, state, consent). The SDK steps
//! themselves live in [`crate::service::idv_steps`], finalize in
//! [`crate::service::finalize`].

use chrono::{DateTime, Duration, Utc};
use entity::{idv_session, metadata_entry};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::history::{self, SessionKind};
use crate::service::lifecycle;
use crate::service::metadata;
use crate::service::types::{AamvaRetry, DocumentType, LivenessMode, LivenessProvider, Page, SessionStatus};
use crate::service::weights;
use crate::service::tenancy::Scope;
use crate::service::webhooks::WebhookUrl;

/// `owner_kind` of an IDV session's rows in `metadata_entry`.
pub const METADATA_OWNER: &str = "idv_session";

fn yes() -> bool {
    true
}

/// Session settings (the `settings` of session create); every flag
/// defaults to `true`, `aamva_retry_e` to `skip`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdvSettings {
    #[serde(default = "yes")]
    pub perform_image_manipulation_test: bool,
    #[serde(default = "yes")]
    pub perform_aamva_test: bool,
    #[serde(default = "yes")]
    pub perform_ofac_test: bool,
    /// Record the client IP of each capture.
    #[serde(default = "yes")]
    pub collect_ip_data: bool,
    /// Record the device latitude / longitude of each capture.
    #[serde(default = "yes")]
    pub collect_location_data: bool,
    #[serde(default = "default_retry")]
    pub aamva_retry_e: AamvaRetry,
    #[serde(default = "yes")]
    pub perform_age_test: bool,
    #[serde(default = "yes")]
    pub perform_gender_test: bool,
    #[serde(default = "yes")]
    pub perform_liveness_test: bool,
}

fn default_retry() -> AamvaRetry {
    AamvaRetry::Skip
}

impl Default for IdvSettings {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

impl IdvSettings {
    /// The stored settings of a session (rows written by this version always parse).
    pub fn of(session: &idv_session::Model) -> Self {
        serde_json::from_value(session.settings.clone()).unwrap_or_default()
    }
}

/// A validated create request.
pub struct NewSession {
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub liveness_mode: LivenessMode,
    pub webhook_url: Option<WebhookUrl>,
    pub settings: IdvSettings,
}

/// Creates a session pinned to the weights version in force, with its
/// metadata index rows and a `created` history event.
pub async fn create(
    db: &impl ConnectionTrait,
    client_id: &str,
    user_id: Option<&str>,
    new: NewSession,
    ttl_hours: u64,
    endpoint: &str,
) -> AppResult<idv_session::Model> {
    let weights = weights::in_force(db, client_id, user_id).await?;
    let now = Utc::now();
    let id = new_id();
    let model = idv_session::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.to_string()),
        user_id: Set(user_id.map(str::to_string)),
        idv_weights_id: Set(weights.id),
        status: Set(SessionStatus::InProgress.as_str().into()),
        document_type: Set(DocumentType::Unknown.as_str().into()),
        liveness_mode: Set(new.liveness_mode.as_str().into()),
        liveness_provider: Set(LivenessProvider::Local.as_str().into()),
        webhook_url: Set(new.webhook_url.map(|u| u.as_str().to_string())),
        metadata: Set(serde_json::Value::Object(new.metadata.clone())),
        sdk_metadata: Set(serde_json::json!({})),
        settings: Set(serde_json::to_value(&new.settings).map_err(AppError::internal)?),
        finalize_settings: Set(None),
        consented: Set(false),
        consented_at: Set(None),
        document_front_given: Set(false),
        document_front_given_at: Set(None),
        document_back_given: Set(false),
        document_back_given_at: Set(None),
        liveness_detected: Set(false),
        liveness_detected_at: Set(None),
        selfie_given: Set(false),
        selfie_given_at: Set(None),
        first_name: Set(None),
        middle_name: Set(None),
        last_name: Set(None),
        suffix_name: Set(None),
        gender: Set("unknown".into()),
        birth_date: Set(None),
        ofac_status: Set("unknown".into()),
        ofac_detected_at: Set(None),
        dmv_status: Set("unknown".into()),
        dmv_detected_at: Set(None),
        verified: Set(None),
        verified_at: Set(None),
        score: Set(None),
        reasons: Set(None),
        identity_id: Set(None),
        failed_attempts: Set(0),
        event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
        expires_at: Set(now + Duration::hours(std::cmp::min(ttl_hours, 24 * 365) as i64)),
        ..Default::default()
    };
    idv_session::Entity::insert(model).exec_without_returning(db).await?;
    metadata::write_entries(db, client_id, METADATA_OWNER, &id, metadata::json_entries(&new.metadata)).await?;
    crate::service::session_search::refresh(db, std::slice::from_ref(&id)).await?;
    history::append(db, SessionKind::Idv, client_id, &id, "created", endpoint, None).await?;
    find(db, client_id, &id).await
}


/// The session with this id in this client; 404 otherwise (also for
/// another client's session, so ids cannot be probed).
pub async fn find(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<idv_session::Model> {
    lifecycle::find::<idv_session::Entity>(db, client_id, session_id).await
}

/// The session with this id when the caller's scope may read it; 404 otherwise.
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &Scope, session_id: &str) -> AppResult<idv_session::Model> {
    lifecycle::find_in_scope::<idv_session::Entity>(db, scope, session_id).await
}

/// What an SDK call wants to do with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkStep {
    /// Session read: any state.
    Read,
    /// Consent: the session must be open.
    Consent,
    /// Finalize: the session must be open and consented; a finalized session
    /// is returned as is so the caller can repeat the stored answer.
    Finalize,
    /// Every other step: open and consented.
    Step,
}

/// The SDK gate: the session belongs to the X-Client-Id client (else 404),
/// is open (else 409 naming the state) and carries consent (else 409).
pub async fn find_for_sdk(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    step: SdkStep,
    now: DateTime<Utc>,
) -> AppResult<idv_session::Model> {
    let session = find(db, client_id, session_id).await?;
    if step == SdkStep::Read {
        return Ok(session);
    }
    let status = SessionStatus::from_db(&session.status);
    let finalized = matches!(status, SessionStatus::Complete | SessionStatus::TemporarilyComplete);
    if finalized && step == SdkStep::Finalize {
        return Ok(session);
    }
    ensure_open(status, session.expires_at, now, finalized)?;
    if step != SdkStep::Consent && !session.consented {
        return Err(AppError::Conflict(
            "consent is missing: POST /api/v1/sdk/idv/consent with consented = true before any other step".into(),
        ));
    }
    Ok(session)
}

/// 409 unless the session accepts SDK steps.
pub fn ensure_open(status: SessionStatus, expires_at: DateTime<Utc>, now: DateTime<Utc>, finalized: bool) -> AppResult<()> {
    if finalized {
        return Err(AppError::Conflict(format!("the session is already finalized (status {status})")));
    }
    match status {
        SessionStatus::Expired => Err(AppError::Conflict("the session has expired".into())),
        SessionStatus::TemporarilyBlocked => Err(AppError::Conflict(
            "the session is temporarily blocked after repeated failed attempts; try again later".into(),
        )),
        _ if expires_at <= now => Err(AppError::Conflict("the session has expired".into())),
        _ => Ok(()),
    }
}

/// Validated list filters (shared by the IDV list and, later, GraphQL).
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub client_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub identity_ids: Vec<String>,
    pub status: Option<SessionStatus>,
    pub search_term: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub metadata: Vec<(String, String)>,
    /// Only sessions the verdict policy sent to review (`true`) or not (`false`).
    pub review_required: Option<bool>,
}

/// `%term%` with LIKE wildcards escaped (escape character `\`).
pub fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `lower(col) LIKE pattern ESCAPE '\'`.
pub fn lower_like(col: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(col))).like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'))
}

/// Owners (of a kind, in the given clients) carrying `key = value`.
pub fn metadata_match(owner_kind: &str, client_ids: &[String], key: &str, value: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(metadata_entry::Column::OwnerId)
        .from(metadata_entry::Entity)
        .and_where(metadata_entry::Column::OwnerKind.eq(owner_kind))
        .and_where(metadata_entry::Column::ClientId.is_in(client_ids.to_vec()))
        .and_where(metadata_entry::Column::Key.eq(key))
        .and_where(metadata_entry::Column::Value.eq(value))
        .to_owned()
}

/// Owners (of a kind, in the given clients) with a metadata value containing the pattern.
pub fn metadata_search(owner_kind: &str, client_ids: &[String], pattern: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(metadata_entry::Column::OwnerId)
        .from(metadata_entry::Entity)
        .and_where(metadata_entry::Column::OwnerKind.eq(owner_kind))
        .and_where(metadata_entry::Column::ClientId.is_in(client_ids.to_vec()))
        .and_where(lower_like((metadata_entry::Entity, metadata_entry::Column::Value), pattern))
        .to_owned()
}

/// The session search shared by IDV and IDA lists (both tables name these
/// columns alike): a case-insensitive substring of a name, the session id,
/// the identity id or a metadata value.
pub fn session_search<E: EntityTrait>(table: E, owner_kind: &str, client_ids: &[String], term: &str) -> Condition {
    use sea_orm::sea_query::Alias;
    let p = like_pattern(term);
    let mut any = Condition::any();
    for col in ["first_name", "middle_name", "last_name", "suffix_name", "id", "identity_id"] {
        any = any.add(lower_like((table, Alias::new(col)), &p));
    }
    any.add(Expr::col((table, Alias::new("id"))).in_subquery(metadata_search(owner_kind, client_ids, &p)))
}

/// The status the session shows now: past its time to live an open
/// session is `expired` before the sweeper rewrites the row.
pub fn effective_status(session: &idv_session::Model, now: DateTime<Utc>) -> SessionStatus {
    crate::service::lifecycle::effective_status(&session.status, session.expires_at, now)
}

/// The WHERE clause of [`list`] but its search (also used by GraphQL's
/// sorted connections, which add the search the same way); a status filter
/// matches the status a session shows at `now`.
pub fn list_condition(f: &ListFilter, now: DateTime<Utc>) -> Condition {
    clients_condition(&f.client_ids, ClientCheck::Indexed).add(list_filters(f, now))
}

/// How a list's condition names the caller's clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCheck {
    /// `client_id IN (...)`: a range of the client indexes.
    Indexed,
    /// `client_id || '' IN (...)`: the same test of each row read, which no
    /// index serves. For rows found by a short list of ids: given an
    /// indexable client test, SQLite walks the client's sessions looking for
    /// the ids instead of looking the ids up.
    PerRow,
}

/// The sessions of these clients.
pub fn clients_condition(client_ids: &[String], check: ClientCheck) -> Condition {
    use idv_session::Column as C;
    let client = match check {
        ClientCheck::Indexed => C::ClientId.is_in(client_ids.to_vec()),
        ClientCheck::PerRow => unindexed(Expr::col((idv_session::Entity, C::ClientId))).is_in(client_ids.to_vec()),
    };
    Condition::all().add(client)
}

/// A text column as a value no index serves (`col || ''`), so that a
/// test on it is made per row: the planner then reaches the rows by
/// another index term.
pub fn unindexed(column: Expr) -> Expr {
    use sea_orm::sea_query::BinOper;
    column.binary(BinOper::Custom("||"), Expr::cust("''"))
}

/// [`list_condition`] but the clients and the search.
pub fn list_filters(f: &ListFilter, now: DateTime<Utc>) -> Condition {
    use idv_session::Column as C;
    let mut cond = Condition::all();
    if let Some(review) = f.review_required {
        cond = cond.add(C::ReviewRequired.eq(review));
    }
    if !f.user_ids.is_empty() {
        cond = cond.add(C::UserId.is_in(f.user_ids.clone()));
    }
    if !f.identity_ids.is_empty() {
        cond = cond.add(C::IdentityId.is_in(f.identity_ids.clone()));
    }
    if let Some(status) = f.status.and_then(|s| crate::service::lifecycle::status_condition(SessionKind::Idv, s, now)) {
        cond = cond.add(status);
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
    cond
}

/// One page of sessions, newest first, and the number of matching rows.
/// The search is the dashboard's: asked of the search index
/// ([`session_search::resolve`]), so both find the same sessions.
///
/// [`session_search::resolve`]: crate::service::session_search::resolve
pub async fn list(db: &impl ConnectionTrait, f: &ListFilter, page: Page) -> AppResult<(Vec<idv_session::Model>, u64)> {
    use crate::service::session_search::{self, Probe};
    let found = match f.search_term.as_deref() {
        Some(search) => session_search::resolve(db, &f.client_ids, search).await?,
        None => None,
    };
    let check = if found.as_ref().is_some_and(session_search::Found::is_id_list) { ClientCheck::PerRow } else { ClientCheck::Indexed };
    let cond = clients_condition(&f.client_ids, check).add(list_filters(f, Utc::now()));
    let with_search = |probe| match &found {
        Some(found) => cond.clone().add(found.condition(probe)),
        None => cond.clone(),
    };
    let total = idv_session::Entity::find().filter(with_search(Probe::List)).count(db).await?;
    let rows = idv_session::Entity::find()
        .filter(with_search(Probe::PerSession))
        .order_by_desc(idv_session::Column::CreatedAt)
        .order_by_desc(idv_session::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_true_and_skip() {
        let s = IdvSettings::default();
        assert!(s.perform_liveness_test && s.collect_ip_data && s.perform_ofac_test);
        assert_eq!(s.aamva_retry_e, AamvaRetry::Skip);
        let partial: IdvSettings = serde_json::from_value(serde_json::json!({"perform_ofac_test": false})).unwrap();
        assert!(!partial.perform_ofac_test && partial.perform_age_test);
        assert!(serde_json::from_value::<IdvSettings>(serde_json::json!({"nope": true})).is_err());
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn closed_sessions_are_refused() {
        let now = Utc::now();
        let later = now + Duration::hours(1);
        assert!(ensure_open(SessionStatus::InProgress, later, now, false).is_ok());
        assert!(ensure_open(SessionStatus::InProgress, now, now, false).is_err());
        assert!(ensure_open(SessionStatus::Expired, later, now, false).is_err());
        assert!(ensure_open(SessionStatus::TemporarilyBlocked, later, now, false).is_err());
        assert!(ensure_open(SessionStatus::Complete, later, now, true).is_err());
    }
}
