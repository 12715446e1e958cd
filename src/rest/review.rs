//! Manual review for integrators who review in their own tools: read a
//! session's case, list cases, decide, confirm (four-eyes), add a note,
//! ask for a new capture, flag a session; the review settings. Thin: the
//! rules live in [`crate::service::review`].

use axum::Json;
use axum::extract::{Multipart, State, multipart::MultipartRejection};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use entity::{review_attachment, review_case, review_decision, review_note};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, AppJsonOrEmpty, ClientIp};
use crate::service::review::attachments::{self, MAX_ATTACHMENT_BYTES};
use crate::service::review::cases::{self, AssigneeFilter, CaseFilter};
use crate::service::review::decisions::{self, DecisionInput, ResubmissionLink};
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
        .routes(routes!(assign))
        .routes(routes!(unassign))
        .routes(routes!(claim))
        .routes(routes!(attachment_add))
        .routes(routes!(attachment_download))
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
    /// Files attached to the note (download with `review/case/attachment/download`).
    attachments: Vec<AttachmentView>,
}

impl NoteView {
    fn of(n: review_note::Model, attachments: Vec<review_attachment::Model>) -> Self {
        Self {
            note_id: n.id,
            author_kind: n.author_kind,
            author_id: n.author_id,
            body: n.body,
            created_at: n.created_at,
            attachments: attachments.into_iter().map(Into::into).collect(),
        }
    }
}

/// A file attached to a note.
#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    #[schema(example = "01939c2e-7b7a-7c3e-9a51-3f1e2d4c5b6a")]
    attachment_id: String,
    note_id: String,
    /// The name it was uploaded with (path and control characters removed).
    #[schema(example = "dmv-lookup.png")]
    file_name: String,
    /// Sniffed from the bytes: `image/png`, `image/jpeg` or `application/pdf`.
    #[schema(example = "image/png")]
    content_type: String,
    #[schema(example = 48213)]
    byte_size: i64,
    /// SHA-256 of the bytes, hex.
    sha256: String,
    /// `user` or `api_key`.
    author_kind: String,
    author_id: String,
    created_at: DateTime<Utc>,
}

impl From<review_attachment::Model> for AttachmentView {
    fn from(a: review_attachment::Model) -> Self {
        Self {
            attachment_id: a.id,
            note_id: a.note_id,
            file_name: a.file_name,
            content_type: a.content_type,
            byte_size: a.byte_size,
            sha256: a.sha256,
            author_kind: a.author_kind,
            author_id: a.author_id,
            created_at: a.created_at,
        }
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
    /// The new session the latest resubmission request created for the applicant.
    resubmission_session_id: Option<String>,
    /// `session_deleted` or `identity_erased` when what the case was about
    /// is gone: the case and its decisions stay without personal data, and
    /// it can only be closed by a reject (reason code `subject_removed` or
    /// one of the client's reject codes); an approve is 409.
    subject_removed_e: Option<String>,
    subject_removed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    /// Oldest first; list responses leave them out (`null`).
    decisions: Option<Vec<DecisionView>>,
    notes: Option<Vec<NoteView>>,
}

impl CaseView {
    fn of(c: review_case::Model, decisions: Option<Vec<review_decision::Model>>, notes: Option<Vec<NoteView>>) -> Self {
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
            resubmission_session_id: c.resubmission_session_id,
            subject_removed_e: c.subject_removed,
            subject_removed_at: c.subject_removed_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
            decided_at: c.decided_at,
            decisions: decisions.map(|v| v.into_iter().map(Into::into).collect()),
            notes,
        }
    }
}

/// The case with its decisions and notes.
async fn full(state: &AppState, scope: &Scope, case: review_case::Model) -> AppResult<CaseView> {
    let ids = vec![case.id.clone()];
    let mut decisions = cases::decisions_by_cases(&state.db, scope, &ids).await?;
    let mut notes = cases::notes_by_cases(&state.db, scope, &ids).await?;
    let (d, n) = (decisions.remove(&case.id).unwrap_or_default(), notes.remove(&case.id).unwrap_or_default());
    let note_ids: Vec<String> = n.iter().map(|n| n.id.clone()).collect();
    let mut files = attachments::by_notes(&state.db, scope, &note_ids).await?;
    let n = n.into_iter().map(|n| { let a = files.remove(&n.id).unwrap_or_default(); NoteView::of(n, a) }).collect();
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
    Ok(Json(NoteView::of(note, Vec::new())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseResubmission {
    #[schema(example = "01939c2e-0000-7000-8000-000000000001")]
    case_id: String,
    /// One of the client's resubmission reason codes.
    #[schema(example = "glare")]
    reason_code: String,
    /// Kept as a note on the case; never sent in the webhook.
    #[schema(example = "Please retake the front without the lamp above it")]
    message: Option<String>,
    /// Minutes the new capture link works, 1..1440 (default 1440); never beyond the new session's expiry.
    #[schema(example = 1440)]
    ttl_minutes: Option<u32>,
    /// Where the capture page sends the applicant when done (overrides the client's capture settings).
    #[schema(example = "https://shop.example/kyc/done")]
    redirect_url: Option<String>,
}

/// The new session and its capture link.
#[derive(Serialize, ToSchema)]
pub struct ResubmissionView {
    /// The session created for the new capture (same user, settings, liveness mode, webhook URL and metadata).
    #[schema(example = "01939c2e-0000-7000-8000-000000000002")]
    session_id: String,
    capture_link_id: String,
    /// `{public_url}/verify/{token}`: send the applicant there. Shown here and in the webhook only.
    #[schema(example = "https://idv.example/verify/tcl_3kq0n9Vb2hX8s1LrT5pZ7wY4cA6eD0fG2jK9mN1o")]
    capture_url: String,
    expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseResubmitted {
    case: CaseView,
    resubmission: ResubmissionView,
}

/// Asks the applicant for a new capture: creates a new session for them
/// with a link to the hosted capture page and answers it (`resubmission`);
/// the webhook `session.resubmission_requested` on the reviewed session
/// carries the reason code, `new_session_id` and `capture_url` too. 409
/// when the case is decided or its session was deleted or its identity erased.
#[utoipa::path(post, path = "/api/v1/review/case/resubmission", tag = "review", request_body = CaseResubmission,
    security(("bearer" = [])),
    responses((status = 200, body = CaseResubmitted),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn resubmission(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    AppJson(body): AppJson<CaseResubmission>,
) -> AppResult<Json<CaseResubmitted>> {
    let scope = scope(&caller);
    let link = ResubmissionLink {
        link: crate::service::capture::NewLink::from_request(
            Some(body.ttl_minutes.unwrap_or(crate::service::capture::MAX_TTL_MINUTES)),
            body.redirect_url.as_deref(),
        )?,
        session_ttl_hours: state.config.session_ttl_hours,
        base_url: crate::rest::capture::public_base(&state, &headers),
    };
    let done = decisions::request_resubmission(
        &state.db,
        &scope,
        body.case_id.trim(),
        &body.reason_code,
        body.message.as_deref(),
        link,
        &actor(&caller, ip),
        Utc::now(),
    )
    .await?;
    let resubmission = ResubmissionView {
        session_id: done.session_id,
        capture_link_id: done.capture_link_id,
        capture_url: done.capture_url,
        expires_at: done.capture_expires_at,
    };
    Ok(Json(CaseResubmitted { case: full(&state, &scope, done.case).await?, resubmission }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseAssign {
    #[schema(example = "01939c2e-0000-7000-8000-000000000001")]
    case_id: String,
    /// A reviewer or admin user of the case's client.
    #[schema(example = "01939c2e-0000-7000-8000-0000000000aa")]
    assignee_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRef {
    #[schema(example = "01939c2e-0000-7000-8000-000000000001")]
    case_id: String,
}

async fn assign_to(state: &AppState, caller: &ApiCaller, ip: Option<String>, case_id: &str, to: Option<&str>) -> AppResult<Json<CaseView>> {
    let scope = scope(caller);
    let txn = crate::db::begin_write(&state.db).await?;
    let case = cases::assign(&txn, &scope, case_id.trim(), to, &actor(caller, ip), Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(full(state, &scope, case).await?))
}

/// Assigns a waiting case to a reviewer or admin of its client (admin
/// keys). The case becomes `in_review`; a decided case is 409; a user who
/// may not work cases is a 400 naming `assignee_id`.
#[utoipa::path(post, path = "/api/v1/review/case/assign", tag = "review", request_body = CaseAssign,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn assign(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseAssign>,
) -> AppResult<Json<CaseView>> {
    let to = body.assignee_id.trim();
    if to.is_empty() {
        return Err(AppError::validation("assignee_id", "is required (use review/case/unassign to clear it)"));
    }
    assign_to(&state, &caller, ip, &body.case_id, Some(to)).await
}

/// Clears a waiting case's assignee (it stays `in_review`: someone has looked at it).
#[utoipa::path(post, path = "/api/v1/review/case/unassign", tag = "review", request_body = CaseRef,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn unassign(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseRef>,
) -> AppResult<Json<CaseView>> {
    assign_to(&state, &caller, ip, &body.case_id, None).await
}

/// Assigns a waiting case to the user the API key belongs to ("assign to
/// me"). A key without a user is 403; a user who is not a reviewer or
/// admin is a 400.
#[utoipa::path(post, path = "/api/v1/review/case/claim", tag = "review", request_body = CaseRef,
    security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn claim(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<CaseRef>,
) -> AppResult<Json<CaseView>> {
    let Some(user_id) = caller.user_id.clone() else {
        return Err(AppError::Forbidden("claiming a case needs an API key that belongs to a user".into()));
    };
    assign_to(&state, &caller, ip, &body.case_id, Some(&user_id)).await
}

/// The attachment form (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AttachmentForm {
    case_id: String,
    /// The note the file belongs to (a note of that case).
    note_id: String,
    /// PNG, JPEG or PDF, at most 5 MB; the part's file name is kept.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

const MAX_TEXT_PART: usize = 256;

struct AttachmentUpload {
    case_id: Option<String>,
    note_id: Option<String>,
    file: Option<(String, Option<String>, Vec<u8>)>,
}

async fn read_attachment_form(multipart: Result<Multipart, MultipartRejection>) -> AppResult<AttachmentUpload> {
    let mut multipart = multipart.map_err(|e| AppError::unsupported_media(format!("expected multipart/form-data: {e}")))?;
    let bad = |e: axum::extract::multipart::MultipartError| AppError::validation("body", format!("malformed multipart body: {e}"));
    let mut form = AttachmentUpload { case_id: None, note_id: None, file: None };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let is_file = name == "file";
        let file_name = field.file_name().unwrap_or("attachment").to_string();
        let declared = field.content_type().map(str::to_string);
        let limit = if is_file { MAX_ATTACHMENT_BYTES } else { MAX_TEXT_PART };
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if buf.len() + chunk.len() > limit {
                return Err(if is_file {
                    AppError::too_large_field("file", "attachments are limited to 5 MB")
                } else {
                    AppError::validation(&name, format!("at most {MAX_TEXT_PART} bytes"))
                });
            }
            buf.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8(buf.clone()).map(|t| t.trim().to_string()).map_err(|_| AppError::validation(&name, "must be UTF-8 text"));
        match name.as_str() {
            "case_id" => form.case_id = Some(text()?),
            "note_id" => form.note_id = Some(text()?),
            "file" => form.file = Some((file_name, declared, buf)),
            _ => {}
        }
    }
    Ok(form)
}

/// Attaches a file (a screenshot, a photo, a PDF) to a note of a case. The
/// type is sniffed from the bytes and must agree with the part's declared
/// type; the bytes are stored encrypted. 413 over 5 MB, 415 for another
/// type, 422 for an image that does not decode or a truncated PDF, 409
/// past 10 files on a note or when the case's subject was removed.
#[utoipa::path(post, path = "/api/v1/review/case/attachment/add", tag = "review",
    request_body(content = AttachmentForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses((status = 200, body = AttachmentView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn attachment_add(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<AttachmentView>> {
    let form = read_attachment_form(multipart).await?;
    let case_id = form.case_id.filter(|s| !s.is_empty()).ok_or_else(|| AppError::validation("case_id", "is required"))?;
    let note_id = form.note_id.filter(|s| !s.is_empty()).ok_or_else(|| AppError::validation("note_id", "is required"))?;
    let (name, declared, bytes) = form.file.ok_or_else(|| AppError::validation("file", "is required"))?;
    let checked = attachments::check("file", &name, declared.as_deref(), bytes).await?;
    let att = attachments::attach(&state.db, &state.storage, &scope(&caller), &case_id, &note_id, checked, &actor(&caller, ip), Utc::now())
        .await?;
    Ok(Json(att.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDownload {
    #[schema(example = "01939c2e-7b7a-7c3e-9a51-3f1e2d4c5b6a")]
    attachment_id: String,
}

/// Attachment bytes in the OpenAPI document.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct AttachmentBytes(#[allow(dead_code)] Vec<u8>);

/// An attachment's bytes as a never-cached download, never opened as a
/// page (`nosniff`, a sandboxing CSP); images may be shown `inline`.
pub fn attachment_response(att: &review_attachment::Model, bytes: Vec<u8>, inline: bool) -> Response {
    let ascii: String = att.file_name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let encoded: String = att
        .file_name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    let kind = if inline && att.content_type.starts_with("image/") { "inline" } else { "attachment" };
    let disposition = HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let content_type = HeaderValue::from_str(&att.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
        ],
        bytes,
    )
        .into_response()
}

/// Downloads an attachment of a case of the caller's client (another
/// client's id is 404). Every download is audited.
#[utoipa::path(post, path = "/api/v1/review/case/attachment/download", tag = "review", request_body = AttachmentDownload,
    security(("bearer" = [])),
    responses((status = 200, description = "the file's bytes with its sniffed content type; `Cache-Control: no-store`",
            content((AttachmentBytes = "image/png"), (AttachmentBytes = "image/jpeg"), (AttachmentBytes = "application/pdf"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn attachment_download(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<AttachmentDownload>,
) -> AppResult<Response> {
    let who = actor(&caller, ip);
    let (att, bytes) =
        attachments::download(&state.db, &state.storage, &scope(&caller), body.attachment_id.trim(), &who.actor, who.ip.clone()).await?;
    Ok(attachment_response(&att, bytes, false))
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
