//! Review cases: opening (the policy's review outcome, an admin's flag, a
//! sanctions re-screening hit), reading, the queue, assignment, notes and
//! the dashboard figures. Every lookup is scoped to the caller's client.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{idv_session, review_case, review_decision, review_note, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{CaseReason, Priority, ReviewActor, opened_by, settings, state, subject};
use crate::engine::policy::Action;
use crate::engine::scoring::Reason;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::audit;
use crate::service::history::{self, SessionKind};
use crate::service::tenancy::Scope;
use crate::service::types::{Page, SessionStatus};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

/// Checks whose review reasons make a case urgent: a possible sanctions or
/// PEP match, or another person's face or document.
const HIGH_PRIORITY_CHECKS: &[&str] =
    &["ofac", "pep", "duplicate_face", "doc_front_online_duplication", "doc_back_online_duplication"];

fn reason_checks(reasons: &[CaseReason]) -> String {
    let mut s = String::from(" ");
    for r in reasons {
        if !s.contains(&format!(" {} ", r.check)) {
            s.push_str(&r.check);
            s.push(' ');
        }
    }
    s
}

#[allow(clippy::too_many_arguments)]
async fn insert_case(
    db: &impl ConnectionTrait,
    client_id: &str,
    subject_kind: &str,
    session_id: Option<&str>,
    identity_id: Option<&str>,
    by: &str,
    reasons: &[CaseReason],
    priority: Priority,
    now: DateTime<Utc>,
) -> AppResult<review_case::Model> {
    let sla = settings::get(db, client_id).await?.sla_hours;
    let model = review_case::ActiveModel {
        id: Set(new_id()),
        client_id: Set(client_id.to_string()),
        subject_kind: Set(subject_kind.to_string()),
        session_id: Set(session_id.map(str::to_string)),
        identity_id: Set(identity_id.map(str::to_string)),
        state: Set(state::OPEN.to_string()),
        opened_by: Set(by.to_string()),
        reasons: Set(serde_json::to_value(reasons).map_err(AppError::internal)?),
        reason_checks: Set(reason_checks(reasons)),
        priority: Set(priority.as_i32()),
        assignee_id: Set(None),
        sla_due_at: Set(now + Duration::hours(i64::from(sla))),
        outcome: Set(None),
        resubmission_requested_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        decided_at: Set(None),
        subject_removed: Set(None),
        subject_removed_at: Set(None),
        resubmission_session_id: Set(None),
    };
    let id = model.id.clone().unwrap();
    review_case::Entity::insert(model).exec_without_returning(db).await?;
    let case = review_case::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::internal("case vanished"))?;
    let detail = serde_json::json!({ "opened_by": by, "reasons": reasons.iter().map(|r| &r.check).collect::<Vec<_>>() });
    let target = match subject_kind {
        subject::IDENTITY => ("identity", identity_id.unwrap_or_default()),
        _ => ("idv_session", session_id.unwrap_or_default()),
    };
    audit::record(db, &audit::Actor::System, "review_case.open", Some(target), None, Some(detail)).await?;
    Ok(case)
}

/// The case of a session that is not decided yet, if any.
pub async fn undecided_for_session(db: &impl ConnectionTrait, session_id: &str) -> AppResult<Option<review_case::Model>> {
    Ok(review_case::Entity::find()
        .filter(review_case::Column::SessionId.eq(session_id))
        .filter(review_case::Column::State.ne(state::DECIDED))
        .one(db)
        .await?)
}

/// Opens the case of a session the verdict policy sent to review (called
/// by finalize inside its transaction). The reasons are the verdict's
/// review triggers; a case already open for the session is kept.
pub async fn open_for_policy(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    verdict_reasons: &[Reason],
    now: DateTime<Utc>,
) -> AppResult<review_case::Model> {
    if let Some(open) = undecided_for_session(db, &session.id).await? {
        return Ok(open);
    }
    let reasons: Vec<CaseReason> = verdict_reasons
        .iter()
        .filter(|r| r.effect == Action::Review && r.decisive)
        .map(|r| CaseReason { check: r.check.clone(), code: r.code.clone(), message: r.message.clone() })
        .collect();
    let priority =
        if reasons.iter().any(|r| HIGH_PRIORITY_CHECKS.contains(&r.check.as_str())) { Priority::High } else { Priority::Normal };
    insert_case(db, &session.client_id, subject::SESSION, Some(&session.id), session.identity_id.as_deref(), opened_by::POLICY, &reasons, priority, now)
        .await
}

/// A person flags a finalized session for review (any outcome). 409 when
/// the session is not finalized or already has an undecided case.
pub async fn open_by_admin(
    db: &impl ConnectionTrait,
    scope: &Scope,
    session_id: &str,
    priority: Priority,
    note: Option<&str>,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<review_case::Model> {
    let session = crate::service::idv::find_in_scope(db, scope, session_id).await?;
    if session.status != SessionStatus::Complete.as_str() {
        return Err(AppError::Conflict(format!("the session is {}; only a finalized session can be reviewed", session.status)));
    }
    if undecided_for_session(db, &session.id).await?.is_some() {
        return Err(AppError::Conflict("the session already has a case waiting for a decision".into()));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let message = note.map(str::to_string).unwrap_or_else(|| "flagged for review by a person".to_string());
    let reasons = vec![CaseReason { check: "manual".into(), code: "flagged".into(), message: "flagged for review by a person".into() }];
    let case = insert_case(db, &session.client_id, subject::SESSION, Some(&session.id), session.identity_id.as_deref(), opened_by::ADMIN, &reasons, priority, now)
        .await?;
    if note.is_some() {
        add_note_to(db, &case, &message, actor, now).await?;
    }
    history::append(db, SessionKind::Idv, &session.client_id, &session.id, "review_opened", "review", Some(serde_json::json!({ "case_id": case.id })))
        .await?;
    audit::record(db, &actor.actor, "review_case.flag", Some(("review_case", &case.id)), actor.ip.clone(), None).await?;
    Ok(case)
}

/// Opens a case for a verified identity a sanctions re-screening found on a
/// list (inside the transaction that records the hit).
pub async fn open_for_identity_hit(
    db: &impl ConnectionTrait,
    client_id: &str,
    identity_id: &str,
    message: String,
    now: DateTime<Utc>,
) -> AppResult<review_case::Model> {
    let undecided = review_case::Entity::find()
        .filter(review_case::Column::IdentityId.eq(identity_id))
        .filter(review_case::Column::SubjectKind.eq(subject::IDENTITY))
        .filter(review_case::Column::State.ne(state::DECIDED))
        .one(db)
        .await?;
    if let Some(open) = undecided {
        return Ok(open);
    }
    let reasons = vec![CaseReason { check: "ofac".into(), code: "sanctions_hit".into(), message }];
    insert_case(db, client_id, subject::IDENTITY, None, Some(identity_id), opened_by::SANCTIONS_RESCREEN, &reasons, Priority::High, now).await
}

/// A case the caller's scope may read; 404 otherwise (also another client's).
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &Scope, case_id: &str) -> AppResult<review_case::Model> {
    let row = review_case::Entity::find_by_id(case_id.to_string()).one(db).await?;
    scope.visible(row, |c| &c.client_id, "review case")
}

/// The newest case of a session the scope may read; 404 when it has none.
pub async fn find_for_session(db: &impl ConnectionTrait, scope: &Scope, session_id: &str) -> AppResult<review_case::Model> {
    let session = crate::service::idv::find_in_scope(db, scope, session_id).await?;
    review_case::Entity::find()
        .filter(review_case::Column::SessionId.eq(&session.id))
        .order_by_desc(review_case::Column::CreatedAt)
        .order_by_desc(review_case::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("review case"))
}

/// Who a case is assigned to, as a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Unassigned,
    User(String),
}

/// Queue filters, already parsed.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub client_ids: Vec<String>,
    /// Empty: every state.
    pub states: Vec<String>,
    pub assignee: Option<AssigneeFilter>,
    /// Cases opened for this check (`ofac`, `dmv`, `name_crosscheck`, `manual`, ...).
    pub reason: Option<String>,
    /// Opened at least this many hours ago.
    pub min_age_hours: Option<u32>,
    pub session_id: Option<String>,
}

/// The largest `min_age_hours` filter: ten years.
pub const MAX_MIN_AGE_HOURS: u32 = 87_600;

/// Checks the `min_age_hours` filter (`field` names it in the 400).
pub fn check_min_age_hours(field: &str, hours: Option<u32>) -> AppResult<Option<u32>> {
    match hours {
        Some(h) if h > MAX_MIN_AGE_HOURS => {
            Err(AppError::validation(field, format!("at most {MAX_MIN_AGE_HOURS} hours (ten years), got {h}")))
        }
        other => Ok(other),
    }
}

pub fn condition(f: &CaseFilter, now: DateTime<Utc>) -> Condition {
    use review_case::Column as C;
    let mut cond = Condition::all().add(C::ClientId.is_in(f.client_ids.clone()));
    if !f.states.is_empty() {
        cond = cond.add(C::State.is_in(f.states.clone()));
    }
    match &f.assignee {
        Some(AssigneeFilter::Unassigned) => cond = cond.add(C::AssigneeId.is_null()),
        Some(AssigneeFilter::User(u)) => cond = cond.add(C::AssigneeId.eq(u.clone())),
        None => {}
    }
    if let Some(reason) = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        let escaped = reason.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        cond = cond.add(
            Expr::col(C::ReasonChecks).like(sea_orm::sea_query::LikeExpr::new(format!("% {escaped} %")).escape('\\')),
        );
    }
    if let Some(h) = f.min_age_hours {
        cond = cond.add(C::CreatedAt.lte(now - Duration::hours(i64::from(Ord::min(h, MAX_MIN_AGE_HOURS)))));
    }
    if let Some(s) = &f.session_id {
        cond = cond.add(C::SessionId.eq(s.clone()));
    }
    cond
}

/// The queue order: high priority first, then the earliest due, then the oldest.
fn queue_order(q: sea_orm::Select<review_case::Entity>) -> sea_orm::Select<review_case::Entity> {
    use review_case::Column as C;
    q.order_by_desc(C::Priority).order_by_asc(C::SlaDueAt).order_by_asc(C::CreatedAt).order_by_asc(C::Id)
}

/// One page of cases in queue order, and the number matching.
pub async fn list(db: &impl ConnectionTrait, f: &CaseFilter, page: Page) -> AppResult<(Vec<review_case::Model>, u64)> {
    let cond = condition(f, Utc::now());
    let total = review_case::Entity::find().filter(cond.clone()).count(db).await?;
    let rows = queue_order(review_case::Entity::find().filter(cond)).offset(page.skip).limit(page.take).all(db).await?;
    Ok((rows, total))
}

/// The next case for `user_id` to work: the first undecided case in queue
/// order that is assigned to them or to nobody, other than `skip`.
pub async fn next_for(
    db: &impl ConnectionTrait,
    client_ids: &[String],
    user_id: Option<&str>,
    skip: Option<&str>,
) -> AppResult<Option<review_case::Model>> {
    use review_case::Column as C;
    let mut mine = Condition::any().add(C::AssigneeId.is_null());
    if let Some(u) = user_id {
        mine = mine.add(C::AssigneeId.eq(u));
    }
    let mut q = review_case::Entity::find()
        .filter(C::ClientId.is_in(client_ids.to_vec()))
        .filter(C::State.ne(state::DECIDED))
        .filter(mine);
    if let Some(s) = skip {
        q = q.filter(C::Id.ne(s));
    }
    Ok(queue_order(q).one(db).await?)
}

/// Assigns a case (to `assignee`, a reviewer or admin of the case's client,
/// or to nobody). An open case assigned to someone is `in_review`.
pub async fn assign(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_id: &str,
    assignee: Option<&str>,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<review_case::Model> {
    let case = find_in_scope(db, scope, case_id).await?;
    if case.state == state::DECIDED {
        return Err(AppError::Conflict("the case is decided; record a new decision to correct it".into()));
    }
    if let Some(uid) = assignee {
        let ok = user::Entity::find_by_id(uid.to_string())
            .one(db)
            .await?
            .is_some_and(|u| u.client_id == case.client_id && !u.disabled && (u.role == "admin" || u.role == "reviewer"));
        if !ok {
            return Err(AppError::validation("assignee_id", "not a reviewer or admin of the case's client"));
        }
    }
    // Someone has looked at a case once it was assigned: unassigning keeps it in review.
    let new_state = if case.state == state::IN_REVIEW || assignee.is_some() { state::IN_REVIEW } else { state::OPEN };
    review_case::Entity::update_many()
        .col_expr(review_case::Column::AssigneeId, Expr::value(assignee.map(str::to_string)))
        .col_expr(review_case::Column::State, Expr::value(new_state))
        .col_expr(review_case::Column::UpdatedAt, Expr::value(now))
        .filter(review_case::Column::Id.eq(&case.id))
        .exec(db)
        .await?;
    let detail = serde_json::json!({ "assignee_id": assignee });
    audit::record(db, &actor.actor, "review_case.assign", Some(("review_case", &case.id)), actor.ip.clone(), Some(detail)).await?;
    find_in_scope(db, scope, case_id).await
}

pub(super) async fn add_note_to(
    db: &impl ConnectionTrait,
    case: &review_case::Model,
    body: &str,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<review_note::Model> {
    let model = review_note::ActiveModel {
        id: Set(new_id()),
        client_id: Set(case.client_id.clone()),
        case_id: Set(case.id.clone()),
        author_kind: Set(actor.kind.to_string()),
        author_id: Set(actor.id.clone()),
        body: Set(body.to_string()),
        created_at: Set(now),
    };
    let id = model.id.clone().unwrap();
    review_note::Entity::insert(model).exec_without_returning(db).await?;
    review_note::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::internal("note vanished"))
}

/// The note text, trimmed: 1 to [`MAX_NOTE_CHARS`] characters (else a 400 naming `field`).
pub fn note_text(field: &str, body: &str) -> AppResult<String> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::validation(field, format!("must be 1 to {MAX_NOTE_CHARS} characters")));
    }
    Ok(body.to_string())
}

/// Adds a note to a case (any state).
pub async fn add_note(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_id: &str,
    body: &str,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<review_note::Model> {
    let body = note_text("body", body)?;
    let case = find_in_scope(db, scope, case_id).await?;
    let note = add_note_to(db, &case, &body, actor, now).await?;
    audit::record(db, &actor.actor, "review_case.note", Some(("review_case", &case.id)), actor.ip.clone(), None).await?;
    Ok(note)
}

/// Identity erasure: the free text of the cases of the erased identity and
/// its sessions goes (notes, decision notes, the reasons' messages, which
/// may quote what was read) and so do their attachments; states, reason
/// codes, outcomes and checks stay. The cases are marked `identity_erased`
/// (they can still be closed by a reject, never approved). Returns the
/// attachments' blob keys, to delete after the commit.
pub async fn scrub_free_text(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_ids: &[String],
    identity_id: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<String>> {
    let cases = review_case::Entity::find()
        .filter(review_case::Column::ClientId.eq(client_id))
        .filter(
            Condition::any()
                .add(review_case::Column::SessionId.is_in(session_ids.to_vec()))
                .add(review_case::Column::IdentityId.eq(identity_id)),
        )
        .all(db)
        .await?;
    let keys = scrub_cases(db, &cases).await?;
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    review_case::Entity::update_many()
        .col_expr(review_case::Column::SubjectRemoved, Expr::value(super::subject_removed::IDENTITY_ERASED))
        .col_expr(review_case::Column::SubjectRemovedAt, Expr::value(now))
        .filter(review_case::Column::Id.is_in(ids))
        .filter(review_case::Column::SubjectRemoved.is_null())
        .exec(db)
        .await?;
    Ok(keys)
}

/// Session deletion: the session's cases stay as the audit record of what
/// was decided (decisions with their reason codes, actors and times), but
/// lose what could name the person (notes' text, decision notes, the
/// reasons' messages, attachments) and their link to the session, which
/// is deleted next. They read `subject_removed: session_deleted`; one
/// still waiting can only be closed by a reject. Returns how many cases
/// were kept and the attachments' blob keys (delete them after the commit).
pub async fn detach_deleted_session(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> AppResult<(u64, Vec<String>)> {
    let cases = review_case::Entity::find()
        .filter(review_case::Column::ClientId.eq(client_id))
        .filter(review_case::Column::SessionId.eq(session_id))
        .all(db)
        .await?;
    let keys = scrub_cases(db, &cases).await?;
    let kept = review_case::Entity::update_many()
        .col_expr(review_case::Column::SessionId, Expr::value(Option::<String>::None))
        .col_expr(review_case::Column::SubjectRemoved, Expr::value(super::subject_removed::SESSION_DELETED))
        .col_expr(review_case::Column::SubjectRemovedAt, Expr::value(now))
        .col_expr(review_case::Column::UpdatedAt, Expr::value(now))
        .filter(review_case::Column::ClientId.eq(client_id))
        .filter(review_case::Column::SessionId.eq(session_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok((kept, keys))
}

/// Removes the free text and the attachments of cases; returns the blob keys.
async fn scrub_cases(db: &impl ConnectionTrait, cases: &[review_case::Model]) -> AppResult<Vec<String>> {
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    for c in cases {
        let reasons: Vec<CaseReason> = serde_json::from_value(c.reasons.clone()).unwrap_or_default();
        let bare: Vec<CaseReason> = reasons.into_iter().map(|r| CaseReason { message: String::new(), ..r }).collect();
        review_case::Entity::update_many()
            .col_expr(review_case::Column::Reasons, Expr::value(serde_json::to_value(bare).map_err(AppError::internal)?))
            .filter(review_case::Column::Id.eq(&c.id))
            .exec(db)
            .await?;
    }
    let keys = super::attachments::delete_for_cases(db, &ids).await?;
    review_note::Entity::update_many()
        .col_expr(review_note::Column::Body, Expr::value("(erased)"))
        .filter(review_note::Column::CaseId.is_in(ids.clone()))
        .exec(db)
        .await?;
    review_decision::Entity::update_many()
        .col_expr(review_decision::Column::Note, Expr::value(Option::<String>::None))
        .filter(review_decision::Column::CaseId.is_in(ids))
        .exec(db)
        .await?;
    Ok(keys)
}

/// The decisions of cases (oldest first), keyed by case id.
pub async fn decisions_by_cases(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_ids: &[String],
) -> AppResult<HashMap<String, Vec<review_decision::Model>>> {
    let rows = review_decision::Entity::find()
        .filter(review_decision::Column::CaseId.is_in(case_ids.to_vec()))
        .filter(scope.condition(review_decision::Column::ClientId))
        .order_by_asc(review_decision::Column::CreatedAt)
        .order_by_asc(review_decision::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<String, Vec<review_decision::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.case_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// The notes of cases (oldest first), keyed by case id.
pub async fn notes_by_cases(
    db: &impl ConnectionTrait,
    scope: &Scope,
    case_ids: &[String],
) -> AppResult<HashMap<String, Vec<review_note::Model>>> {
    let rows = review_note::Entity::find()
        .filter(review_note::Column::CaseId.is_in(case_ids.to_vec()))
        .filter(scope.condition(review_note::Column::ClientId))
        .order_by_asc(review_note::Column::CreatedAt)
        .order_by_asc(review_note::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<String, Vec<review_note::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.case_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// Users by id, inside the scope (assignees and authors shown by email).
pub async fn users_by_ids(db: &impl ConnectionTrait, scope: &Scope, ids: &[String]) -> AppResult<HashMap<String, user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .filter(scope.condition(user::Column::ClientId))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

/// The users of a client who may work cases (reviewers and admins), by email.
pub async fn reviewers(db: &impl ConnectionTrait, client_id: &str) -> AppResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::ClientId.eq(client_id))
        .filter(user::Column::Role.is_in(["admin", "reviewer"]))
        .filter(user::Column::Disabled.eq(false))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?)
}

/// The review figures of the dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewStats {
    /// Cases not decided yet (`open` + `in_review`).
    pub open_cases: u64,
    pub in_review: u64,
    pub decided: u64,
    /// Median seconds from opening to the decision, over decided cases.
    pub median_decision_secs: Option<f64>,
    /// Undecided cases past their SLA due time.
    pub overdue_open: u64,
    /// Cases decided after their SLA due time.
    pub decided_late: u64,
}

/// When a decided case was opened, decided and due.
type CaseTimes = (DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>);

/// Most decided cases the median is computed over (the most recent).
const MEDIAN_SAMPLE: u64 = 10_000;

pub async fn stats(db: &impl ConnectionTrait, client_ids: &[String], now: DateTime<Utc>) -> AppResult<ReviewStats> {
    use review_case::Column as C;
    let base = || review_case::Entity::find().filter(C::ClientId.is_in(client_ids.to_vec()));
    let open = base().filter(C::State.eq(state::OPEN)).count(db).await?;
    let in_review = base().filter(C::State.eq(state::IN_REVIEW)).count(db).await?;
    let decided = base().filter(C::State.eq(state::DECIDED)).count(db).await?;
    let overdue_open = base().filter(C::State.ne(state::DECIDED)).filter(C::SlaDueAt.lt(now)).count(db).await?;
    let times: Vec<CaseTimes> = base()
        .filter(C::State.eq(state::DECIDED))
        .select_only()
        .column(C::CreatedAt)
        .column(C::DecidedAt)
        .column(C::SlaDueAt)
        .order_by_desc(C::DecidedAt)
        .limit(MEDIAN_SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    let mut secs: Vec<f64> =
        times.iter().filter_map(|(c, d, _)| d.map(|d| (d - *c).num_milliseconds() as f64 / 1000.0)).collect();
    let decided_late = times.iter().filter(|(_, d, due)| d.is_some_and(|d| d > *due)).count() as u64;
    Ok(ReviewStats {
        open_cases: open + in_review,
        in_review,
        decided,
        median_decision_secs: median(&mut secs),
        overdue_open,
        decided_late,
    })
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_reason_lists() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let r = |c: &str| CaseReason { check: c.into(), code: "x".into(), message: "m".into() };
        assert_eq!(reason_checks(&[r("dmv"), r("ofac"), r("dmv")]), " dmv ofac ");
    }
}
