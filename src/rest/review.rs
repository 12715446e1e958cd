//! Manual review for integrators who review in their own tools: read a
//! session's case, list cases, decide, confirm (four-eyes), add a note,
//! ask for a new capture, flag a session; the review settings. Thin: the
//! rules live in [`crate::service::review`].

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use entity::{review_case, review_decision, review_note};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, AppJsonOrEmpty, ClientIp};
use crate::service::review::cases::{self, AssigneeFilter, CaseFilter};
use crate::service::review::decisions::{self, DecisionInput};
use crate::service::review::settings::{self, ReviewSettings, SettingsChanges};
use crate::service::review::{CaseReason, Priority, ReviewAction, ReviewActor, state as case_state};
use crate::service::tenancy::Scope;
use crate::service::types::{MetaCounts, OneOrMany, Page};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read))
        .routes(routes!(list))
        .routes(routes!(decide))
        .routes(routes!(confirm))
        .routes(routes!(note))
        .routes(routes!(resubmission))
        .routes(routes!(open))
        .routes(routes!(get_settings))
        .routes(routes!(update_settings))
}

fn actor(caller: &ApiCaller, ip: Option<String>) -> ReviewActor {
    ReviewActor::api_key(&caller.client_id, &caller.key_id, caller.user_id.as_deref(), ip)
}

fn scope(caller: &ApiCaller) -> Scope {
    Scope::new(caller.client_id.clone(), caller.is_platform)
}

/// A decision as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    decision_id: String,
    /// `approve` or `reject`.
    action_e: String,
    reason_code: String,
    note: Option<String>,
    /// `user` or `api_key`: who decided.
    decided_by_kind: String,
    decided_by: String,
    /// `pending` (four-eyes: waiting for a second person), `effective` or `declined`.
    status_e: String,
    confirmed_by_kind: Option<String>,
    confirmed_by: Option<String>,
    confirmed_at: Option<DateTime<Utc>>,
    /// The decision this one corrects.
    supersedes_id: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<review_decision::Model> for DecisionView {
    fn from(d: review_decision::Model) -> Self {
        Self {
            decision_id: d.id,
            action_e: d.action,
            reason_code: d.reason_code,
            note: d.note,
            decided_by_kind: d.actor_kind,
            decided_by: d.actor_id,
            status_e: d.status,
            confirmed_by_kind: d.confirmed_by_kind,
            confirmed_by: d.confirmed_by,
            confirmed_at: d.confirmed_at,
            supersedes_id: d.supersedes_id,
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NoteView {
    note_id: String,
    author_kind: String,
    author_id: String,
    body: String,
    created_at: DateTime<Utc>,
}

impl From<review_note::Model> for NoteView {
    fn from(n: review_note::Model) -> Self {
        Self { note_id: n.id, author_kind: n.author_kind, author_id: n.author_id, body: n.body, created_at: n.created_at }
    }
}

/// A review case.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    case_id: String,
    client_id: String,
    /// `idv_session` or `identity` (a sanctions re-screening hit).
    subject_kind_e: String,
    session_id: Option<String>,
    identity_id: Option<String>,
    /// `open`, `in_review` or `decided`.
    state_e: String,
    /// `policy`, `admin` or `sanctions_rescreen`.
    opened_by_e: String,
    /// What opened the case.
    reasons: Vec<CaseReason>,
    priority_e: Priority,
    /// The user working the case.
    assignee_id: Option<String>,
    sla_due_at: DateTime<Utc>,
    /// Not decided and past `sla_due_at`, or decided after it.
    sla_breached: bool,
    /// `approved` or `rejected` once decided (the latest effective decision).
    outcome_e: Option<String>,
    resubmission_requested_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// Oldest first; list responses leave them out (`null`).
    decisions: Option<Vec<DecisionView>>,
    notes: Option<Vec<NoteView>>,
}

impl CaseView {
    fn of(c: review_case::Model, decisions: Option<Vec<review_decision::Model>>, notes: Option<Vec<review_note::Model>>) -> Self {
        let now = Utc::now();
        let sla_breached = match c.decided_at {
            Some(d) => d > c.sla_due_at,
            None => now > c.sla_due_at,
        };
        Self {
            reasons: serde_json::from_value(c.reasons.clone()).unwrap_or_default(),
            priority_e: Priority::from_i32(c.priority),
            case_id: c.id,
            client_id: c.client_id,
            subject_kind_e: c.subject_kind,
            session_id: c.session_id,
            identity_id: c.identity_id,
            state_e: c.state,
            opened_by_e: c.opened_by,
            assignee_id: c.assignee_id,
            sla_due_at: c.sla_due_at,
            sla_breached,
            outcome_e: c.outcome,
            resubmission_requested_at: c.resubmission_requested_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            decided_at: c.decided_at,
            decisions: decisions.map(|v| v.into_iter().map(Into::into).collect()),
            notes: notes.map(|v| v.into_iter().map(Into::into).collect()),
        }
    }
}

/// The case with its decisions and notes.
async fn full(state: &AppState, scope: &Scope, case: review_case::Model) -> AppResult<CaseView> {
    let ids = vec![case.id.clone()];
    let mut decisions = cases::decisions_by_cases(&state.db, scope, &ids).await?;
    let mut notes = cases::notes_by_cases(&state.db, scope, &ids).await?;
    let (d, n) = (decisions.remove(&case.id).unwrap_or_default(), notes.remove(&case.id).unwrap_or_default());
    Ok(CaseView::of(case, Some(d), Some(n)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRead {
    /// The case; or give `session_id` for the session's newest case.
    case_id: Option<String>,
    session_id: Option<String>,
}

/// Reads a case by id, or a session's newest case. Another client's id is 404.
#[utoipa::path(post, path = "/api/v1/review/case/read", tag = "review", request_body = CaseRead,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(State(state): State<AppState>, caller: ApiCaller, AppJson(body): AppJson<CaseRead>) -> AppResult<Json<CaseView>> {
    let scope = scope(&caller);
    let case = match (body.case_id.as_deref().map(str::trim).filter(|s| !s.is_empty()), body.session_id.as_deref()) {
        (Some(id), _) => cases::find_in_scope(&state.db, &scope, id).await?,
        (None, Some(sid)) if !sid.trim().is_empty() => cases::find_for_session(&state.db, &scope, sid.trim()).await?,
        _ => return Err(AppError::validation("case_id", "give case_id or session_id")),
    };
    Ok(Json(full(&state, &scope, case).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseListRequest {
    take: Option<u64>,
    skip: Option<u64>,
    /// `open`, `in_review`, `decided` (one or several); default: every state.
    state_e: Option<OneOrMany>,
    /// A user id, or `none` for unassigned cases.
    assignee_id: Option<String>,
    /// Cases opened for this check (`ofac`, `dmv`, `name_crosscheck`, `manual`, ...).
    reason: Option<String>,
    /// Opened at least this many hours ago.
    min_age_hours: Option<u32>,
    session_id: Option<String>,
    /// Other clients: platform operator keys only.
    client_id: Option<OneOrMany>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    cases: Vec<CaseView>,
    meta_counts: MetaCounts,
}

/// Parses the `state_e` filter (unknown values are a 400).
pub fn parse_states(field: &str, states: Vec<String>) -> AppResult<Vec<String>> {
    for s in &states {
        if ![case_state::OPEN, case_state::IN_REVIEW, case_state::DECIDED].contains(&s.as_str()) {
            return Err(AppError::validation(field, format!("expected open, in_review or decided, got `{s}`")));
        }
    }
    Ok(states)
}

/// Lists cases in queue order: high priority first, then the earliest SLA due time.
#[utoipa::path(post, path = "/api/v1/review/case/list", tag = "review", request_body = CaseListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = CaseList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJsonOrEmpty(body): AppJsonOrEmpty<CaseListRequest>,
) -> AppResult<Json<CaseList>> {
    let page = Page::new(body.take, body.skip)?;
    let filter = CaseFilter {
        client_ids: crate::rest::idv::list_clients(&state, &caller, body.client_id).await?,
        states: parse_states("state_e", body.state_e.map(OneOrMany::into_vec).unwrap_or_default())?,
        assignee: body.assignee_id.map(|a| if a == "none" { AssigneeFilter::Unassigned } else { AssigneeFilter::User(a) }),
        reason: body.reason,
        min_age_hours: cases::check_min_age_hours("min_age_hours", body.min_age_hours)?,
        session_id: body.session_id,
    };
    let (rows, total) = cases::list(&state.db, &filter, page).await?;
    let cases: Vec<CaseView> = rows.into_iter().map(|c| CaseView::of(c, None, None)).collect();
    let meta_counts = MetaCounts::new(page, cases.len(), total);
    Ok(Json(CaseList { cases, meta_counts }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseDecide {
    case_id: String,
    action_e: ReviewAction,
    /// One of the client's reason codes for the action (GET /api/v1/review/settings).
    reason_code: String,
    /// Free text, at most 4000 characters.
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseDecided {
    case: CaseView,
    /// The decision written: `effective` at once, or `pending` when the
    /// client requires four-eyes (another person confirms it).
    decision: DecisionView,
}

/// Decides a case. An approve verifies the session and creates or updates
/// its identity as a verified finalize does (`session.reviewed` and
/// `identity.verified` webhooks); a reject keeps it unverified with the
/// reason (`session.reviewed`). A decided case takes a new decision as a
/// correction. 409 while another decision awaits confirmation.
#[utoipa::path(post, path = "/api/v1/review/case/decide", tag = "review", request_body = CaseDecide,
    security(("bearer" = [])),
    responses((status = 200, body = CaseDecided),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn decide(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseDecide>,
) -> AppResult<Json<CaseDecided>> {
    let scope = scope(&caller);
    let input = DecisionInput { action: body.action_e, reason_code: body.reason_code, note: body.note };
    let done = decisions::decide(&state.db, &scope, body.case_id.trim(), input, &actor(&caller, ip), Utc::now()).await?;
    Ok(Json(CaseDecided { case: full(&state, &scope, done.case).await?, decision: done.decision.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionConfirm {
    case_id: String,
    decision_id: String,
    /// `true` puts the decision into force; `false` declines it (the case goes back to review).
    confirm: bool,
}

/// Four-eyes: a second, different person (a key of another user, or a
/// key without a user for a decision made by a user) confirms or declines
/// a pending decision. The decision's author gets 403.
#[utoipa::path(post, path = "/api/v1/review/case/confirm", tag = "review", request_body = DecisionConfirm,
    security(("bearer" = [])),
    responses((status = 200, body = CaseDecided),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn confirm(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<DecisionConfirm>,
) -> AppResult<Json<CaseDecided>> {
    let scope = scope(&caller);
    let done =
        decisions::confirm(&state.db, &scope, body.case_id.trim(), body.decision_id.trim(), body.confirm, &actor(&caller, ip), Utc::now())
            .await?;
    Ok(Json(CaseDecided { case: full(&state, &scope, done.case).await?, decision: done.decision.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseNote {
    case_id: String,
    /// 1 to 4000 characters.
    body: String,
}

/// Adds a note to a case.
#[utoipa::path(post, path = "/api/v1/review/case/note", tag = "review", request_body = CaseNote,
    security(("bearer" = [])),
    responses((status = 200, body = NoteView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn note(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseNote>,
) -> AppResult<Json<NoteView>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let note = cases::add_note(&txn, &scope(&caller), body.case_id.trim(), &body.body, &actor(&caller, ip), Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(note.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseResubmission {
    case_id: String,
    /// One of the client's resubmission reason codes.
    reason_code: String,
    /// Kept as a note on the case; never sent in the webhook.
    message: Option<String>,
}

/// Asks the applicant for a new capture: the webhook
/// `session.resubmission_requested` (with the reason code) tells the
/// integrator to start a new session for them.
#[utoipa::path(post, path = "/api/v1/review/case/resubmission", tag = "review", request_body = CaseResubmission,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn resubmission(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseResubmission>,
) -> AppResult<Json<CaseView>> {
    let scope = scope(&caller);
    let case = decisions::request_resubmission(
        &state.db,
        &scope,
        body.case_id.trim(),
        &body.reason_code,
        body.message.as_deref(),
        &actor(&caller, ip),
        Utc::now(),
    )
    .await?;
    Ok(Json(full(&state, &scope, case).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseOpen {
    session_id: String,
    /// Default `normal`.
    priority_e: Option<Priority>,
    /// Why the session is flagged (kept as a note).
    note: Option<String>,
}

/// Flags a finalized session for review (admin keys). 409 when the session
/// is not finalized or already has a case waiting for a decision.
#[utoipa::path(post, path = "/api/v1/review/case/open", tag = "review", request_body = CaseOpen,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn open(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseOpen>,
) -> AppResult<Json<CaseView>> {
    let scope = scope(&caller);
    if let Some(n) = body.note.as_deref().filter(|n| !n.trim().is_empty()) {
        cases::note_text("note", n)?;
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let case = cases::open_by_admin(
        &txn,
        &scope,
        body.session_id.trim(),
        body.priority_e.unwrap_or(Priority::Normal),
        body.note.as_deref(),
        &actor(&caller, ip),
        Utc::now(),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(full(&state, &scope, case).await?))
}

/// The caller's client's review settings: four-eyes, SLA hours and the reason codes.
#[utoipa::path(get, path = "/api/v1/review/settings", tag = "review",
    security(("bearer" = [])),
    responses((status = 200, body = ReviewSettings),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_settings(State(state): State<AppState>, caller: ApiCaller) -> AppResult<Json<ReviewSettings>> {
    Ok(Json(settings::get(&state.db, &caller.client_id).await?))
}

/// Changes the review settings (admin keys); absent fields keep their value.
#[utoipa::path(post, path = "/api/v1/review/settings/update", tag = "review", request_body = SettingsChanges,
    security(("bearer" = [])),
    responses((status = 200, body = ReviewSettings),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn update_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJsonOrEmpty(body): AppJsonOrEmpty<SettingsChanges>,
) -> AppResult<Json<ReviewSettings>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let updated = settings::update(&txn, &caller.client_id, body).await?;
    let who = actor(&caller, ip);
    let detail = serde_json::json!({ "four_eyes": updated.four_eyes, "sla_hours": updated.sla_hours });
    crate::service::audit::record(&txn, &who.actor, "review.settings.update", Some(("client", &caller.client_id)), who.ip.clone(), Some(detail))
        .await?;
    txn.commit().await?;
    Ok(Json(updated))
}
