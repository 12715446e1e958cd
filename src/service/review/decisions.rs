//! Decisions on review cases. A decision is written once and never edited:
//! a later correction is a new decision that supersedes it. Under
//! four-eyes a decision waits (`pending`) until a second, different person
//! confirms it; only then does it take effect.
//!
//! What an effective decision does, in one write transaction:
//! - approve of a session: the session becomes verified and its identity is
//!   created or updated exactly as a verified finalize does it
//!   ([`crate::service::finalize::attach_identity`]); webhooks
//!   `session.reviewed` and `identity.verified`;
//! - reject of a session: it stays (or becomes) unverified; a session that
//!   was verified takes its identity's `verified` with it; `session.reviewed`;
//! - an identity case (a re-screening hit): approve clears the hit (a false
//!   positive) and verifies the identity again; reject keeps it unverified;
//!   `identity.reviewed` (+ `identity.verified` on approve).

use chrono::{DateTime, Utc};
use entity::{identity, idv_session, review_case, review_decision};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::cases::{self, find_in_scope, note_text};
use super::{ReviewAction, ReviewActor, decision_status, settings, state, subject, subject_removed};
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::audit;
use crate::service::history::{self, SessionKind};
use crate::service::tenancy::Scope;
use crate::service::types::SessionStatus;

/// A decision request, already parsed.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub action: ReviewAction,
    pub reason_code: String,
    pub note: Option<String>,
}

/// The case after a decision, and the decision written.
pub struct Decided {
    pub case: review_case::Model,
    pub decision: review_decision::Model,
}

async fn pending_of(db: &impl ConnectionTrait, case_id: &str) -> AppResult<Option<review_decision::Model>> {
    Ok(review_decision::Entity::find()
        .filter(review_decision::Column::CaseId.eq(case_id))
        .filter(review_decision::Column::Status.eq(decision_status::PENDING))
        .one(db)
        .await?)
}

async fn latest_effective(db: &impl ConnectionTrait, case_id: &str) -> AppResult<Option<review_decision::Model>> {
    Ok(review_decision::Entity::find()
        .filter(review_decision::Column::CaseId.eq(case_id))
        .filter(review_decision::Column::Status.eq(decision_status::EFFECTIVE))
        .order_by_desc(review_decision::Column::CreatedAt)
        .order_by_desc(review_decision::Column::Id)
        .one(db)
        .await?)
}

/// Records a decision on a case: in force at once, or — four-eyes — once a
/// second person confirms it. A decided case takes a new decision as a
/// correction. 409 while another decision awaits confirmation.
pub async fn decide(
    db: &DatabaseConnection,
    scope: &Scope,
    case_id: &str,
    input: DecisionInput,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<Decided> {
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(|n| note_text("note", n)).transpose()?;
    let txn = crate::db::begin_write(db).await?;
    let case = lock_case(&txn, scope, case_id).await?;
    let settings = settings::get(&txn, &case.client_id).await?;
    if settings.four_eyes {
        require_person(actor)?;
    }
    let removed = removed_subject(&txn, &case).await?;
    if input.action == ReviewAction::Approve {
        refuse_approve_if_removed(removed)?;
    }
    let code = input.reason_code.trim();
    let closing_removed = removed.is_some() && input.action == ReviewAction::Reject && code == subject_removed::REASON_CODE;
    if !closing_removed && !settings.codes_for(input.action).iter().any(|c| c == code) {
        return Err(AppError::validation(
            "reason_code",
            format!("`{code}` is not a {} reason code of this client: {}", input.action.as_str(), settings.codes_for(input.action).join(", ")),
        ));
    }
    if pending_of(&txn, &case.id).await?.is_some() {
        return Err(AppError::Conflict("another decision on this case is waiting for a second person's confirmation".into()));
    }
    let in_force = latest_effective(&txn, &case.id).await?;
    if let Some(d) = &in_force
        && d.action == input.action.as_str()
    {
        return Err(AppError::Conflict(format!("the case is already {}; only the other action corrects it", input.action.outcome())));
    }
    let supersedes = in_force.map(|d| d.id);
    let status = if settings.four_eyes { decision_status::PENDING } else { decision_status::EFFECTIVE };
    let model = review_decision::ActiveModel {
        id: Set(new_id()),
        client_id: Set(case.client_id.clone()),
        case_id: Set(case.id.clone()),
        action: Set(input.action.as_str().to_string()),
        reason_code: Set(code.to_string()),
        note: Set(note),
        actor_kind: Set(actor.kind.to_string()),
        actor_id: Set(actor.id.clone()),
        status: Set(status.to_string()),
        confirmed_by_kind: Set(None),
        confirmed_by: Set(None),
        confirmed_at: Set(None),
        supersedes_id: Set(supersedes),
        created_at: Set(now),
    };
    let decision_id = model.id.clone().unwrap();
    review_decision::Entity::insert(model).exec_without_returning(&txn).await?;
    let decision = find_decision(&txn, &case.id, &decision_id).await?;
    if settings.four_eyes {
        // A proposed correction leaves a decided case decided until it is confirmed.
        if case.state != state::DECIDED {
            set_state(&txn, &case.id, state::IN_REVIEW, now).await?;
        }
    } else {
        apply(&txn, &case, &decision, now).await?;
    }
    let detail = serde_json::json!({ "action": decision.action, "reason_code": decision.reason_code, "status": decision.status });
    audit::record(&txn, &actor.actor, "review_case.decide", Some(("review_case", &case.id)), actor.ip.clone(), Some(detail)).await?;
    txn.commit().await?;
    let case = find_in_scope(db, scope, case_id).await?;
    Ok(Decided { case, decision })
}

/// Four-eyes: a second, different person confirms (`confirm = true`) or
/// declines a pending decision. The author of the decision gets 403; a
/// decision no longer pending is 409.
pub async fn confirm(
    db: &DatabaseConnection,
    scope: &Scope,
    case_id: &str,
    decision_id: &str,
    confirm: bool,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<Decided> {
    let txn = crate::db::begin_write(db).await?;
    let case = lock_case(&txn, scope, case_id).await?;
    let decision = find_decision(&txn, &case.id, decision_id).await?;
    if decision.status != decision_status::PENDING {
        return Err(AppError::Conflict(format!("the decision is {}; only a pending decision can be confirmed", decision.status)));
    }
    require_person(actor)?;
    if confirm && decision.actor_kind != "user" {
        return Err(AppError::Forbidden(
            "four-eyes: this decision was made by an API key without a user; it can only be declined".into(),
        ));
    }
    if decision.actor_kind == actor.kind && decision.actor_id == actor.id {
        return Err(AppError::Forbidden("four-eyes: a second, different person must confirm this decision".into()));
    }
    let status = if confirm { decision_status::EFFECTIVE } else { decision_status::DECLINED };
    let res = review_decision::Entity::update_many()
        .col_expr(review_decision::Column::Status, Expr::value(status))
        .col_expr(review_decision::Column::ConfirmedByKind, Expr::value(actor.kind))
        .col_expr(review_decision::Column::ConfirmedBy, Expr::value(actor.id.clone()))
        .col_expr(review_decision::Column::ConfirmedAt, Expr::value(now))
        .filter(review_decision::Column::Id.eq(&decision.id))
        .filter(review_decision::Column::Status.eq(decision_status::PENDING))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::Conflict("the decision was confirmed or declined concurrently".into()));
    }
    let decision = find_decision(&txn, &case.id, decision_id).await?;
    if confirm {
        apply(&txn, &case, &decision, now).await?;
    } else {
        set_state(&txn, &case.id, if case.state == state::DECIDED { state::DECIDED } else { state::IN_REVIEW }, now).await?;
    }
    let action = if confirm { "review_case.confirm" } else { "review_case.decline" };
    let detail = serde_json::json!({ "decision_id": decision.id, "action": decision.action });
    audit::record(&txn, &actor.actor, action, Some(("review_case", &case.id)), actor.ip.clone(), Some(detail)).await?;
    txn.commit().await?;
    let case = find_in_scope(db, scope, case_id).await?;
    Ok(Decided { case, decision })
}

/// Reads the case for a decision and locks its row until the transaction
/// ends (`FOR UPDATE` on PostgreSQL; SQLite's write lock, taken by
/// [`crate::db::begin_write`], already serialises writers), so two people
/// deciding at once are served one after the other.
async fn lock_case(txn: &impl ConnectionTrait, scope: &Scope, case_id: &str) -> AppResult<review_case::Model> {
    let row = review_case::Entity::find_by_id(case_id.to_string()).lock_exclusive().one(txn).await?;
    scope.visible(row, |c| &c.client_id, "review case")
}

/// Why the case's subject is gone, if it is: `session_deleted`,
/// `identity_erased` (recorded on the case at the delete or erasure; an
/// identity case whose identity was erased before that was recorded is
/// recognised by the identity's tombstone).
pub async fn removed_subject(db: &impl ConnectionTrait, case: &review_case::Model) -> AppResult<Option<&'static str>> {
    match case.subject_removed.as_deref() {
        Some(subject_removed::SESSION_DELETED) => return Ok(Some(subject_removed::SESSION_DELETED)),
        Some(_) => return Ok(Some(subject_removed::IDENTITY_ERASED)),
        None => {}
    }
    if case.subject_kind == subject::IDENTITY
        && let Some(iid) = &case.identity_id
        && crate::service::identities::find_live(db, &case.client_id, iid).await?.is_none()
    {
        return Ok(Some(subject_removed::IDENTITY_ERASED));
    }
    Ok(None)
}

/// An approve needs the person's data: a case whose session was deleted or
/// whose identity was erased can only be closed by a reject.
fn refuse_approve_if_removed(removed: Option<&str>) -> AppResult<()> {
    let what = match removed {
        None => return Ok(()),
        Some(subject_removed::SESSION_DELETED) => "the case's session was deleted",
        Some(_) => "the applicant's identity was erased",
    };
    Err(AppError::Conflict(format!(
        "{what}: nothing is left to verify, so the case cannot be approved; close it with a reject \
         (reason code `{}` or one of the client's reject codes)",
        subject_removed::REASON_CODE
    )))
}

/// Four-eyes counts people: a user, or an API key that belongs to a user
/// (it acts as that user). A key without an owner is refused.
fn require_person(actor: &ReviewActor) -> AppResult<()> {
    if actor.user_id().is_none() {
        return Err(AppError::Forbidden(
            "four-eyes: decisions and confirmations need a person: sign in, or use an API key that belongs to a user".into(),
        ));
    }
    Ok(())
}

async fn find_decision(db: &impl ConnectionTrait, case_id: &str, id: &str) -> AppResult<review_decision::Model> {
    review_decision::Entity::find_by_id(id.to_string())
        .filter(review_decision::Column::CaseId.eq(case_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("review decision"))
}

async fn set_state(db: &impl ConnectionTrait, case_id: &str, new_state: &str, now: DateTime<Utc>) -> AppResult<()> {
    review_case::Entity::update_many()
        .col_expr(review_case::Column::State, Expr::value(new_state))
        .col_expr(review_case::Column::UpdatedAt, Expr::value(now))
        .filter(review_case::Column::Id.eq(case_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Puts an effective decision into force (same transaction as the decision).
async fn apply(
    txn: &impl ConnectionTrait,
    case: &review_case::Model,
    decision: &review_decision::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let action = ReviewAction::parse("action", &decision.action)?;
    let removed = removed_subject(txn, case).await?;
    if action == ReviewAction::Approve {
        // Also a pending approve confirmed after the erasure or delete.
        refuse_approve_if_removed(removed)?;
    }
    let detail = serde_json::json!({
        "case_id": case.id, "decision_id": decision.id, "outcome": action.outcome(), "reason_code": decision.reason_code,
    });
    match (case.subject_kind.as_str(), &case.session_id, &case.identity_id) {
        // The session is still there (its identity may be erased): a reject marks it unverified.
        (subject::SESSION, Some(session_id), _) => apply_to_session(txn, case, session_id, action, detail, now).await?,
        // An erased identity has nothing left to change or to announce.
        (subject::IDENTITY, _, Some(_)) if removed.is_some() => {}
        (subject::IDENTITY, _, Some(identity_id)) => apply_to_identity(txn, case, identity_id, action, now).await?,
        // The session was deleted: the decision is the record, nothing to apply.
        _ if removed.is_some() => {}
        _ => return Err(AppError::Conflict("the case's session or identity no longer exists".into())),
    }
    review_case::Entity::update_many()
        .col_expr(review_case::Column::State, Expr::value(state::DECIDED))
        .col_expr(review_case::Column::Outcome, Expr::value(action.outcome()))
        .col_expr(review_case::Column::DecidedAt, Expr::value(now))
        .col_expr(review_case::Column::UpdatedAt, Expr::value(now))
        .filter(review_case::Column::Id.eq(&case.id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn apply_to_session(
    txn: &impl ConnectionTrait,
    case: &review_case::Model,
    session_id: &str,
    action: ReviewAction,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let session = crate::service::idv::find(txn, &case.client_id, session_id).await?;
    if session.status != SessionStatus::Complete.as_str() {
        return Err(AppError::Conflict(format!("the session is {} and cannot be decided", session.status)));
    }
    let was_verified = session.verified == Some(true);
    let mut am = idv_session::ActiveModel { review_required: Set(false), updated_at: Set(now), ..Default::default() };
    match action {
        ReviewAction::Approve => {
            am.verified = Set(Some(true));
            am.verified_at = Set(Some(session.verified_at.unwrap_or(now)));
            // A sanctions possible match approved is a false positive: the
            // identity takes `clear` from the session below.
            if session.ofac_status == "hit" {
                am.ofac_status = Set("clear".to_string());
            }
        }
        ReviewAction::Reject => {
            am.verified = Set(Some(false));
            am.verified_at = Set(None);
        }
    }
    idv_session::Entity::update_many().set(am).filter(idv_session::Column::Id.eq(&session.id)).exec(txn).await?;
    let updated = crate::service::idv::find(txn, &case.client_id, session_id).await?;
    match action {
        ReviewAction::Approve => {
            let doc = crate::service::finalize::current_document_in(txn, &updated).await?;
            crate::service::finalize::attach_identity(txn, &updated, doc.as_ref(), updated.score, now).await?;
        }
        ReviewAction::Reject if was_verified => {
            if let Some(identity_id) = &updated.identity_id {
                identity::Entity::update_many()
                    .col_expr(identity::Column::Verified, Expr::value(false))
                    .col_expr(identity::Column::UpdatedAt, Expr::value(now))
                    .filter(identity::Column::Id.eq(identity_id))
                    .filter(identity::Column::ClientId.eq(&case.client_id))
                    .exec(txn)
                    .await?;
            }
        }
        ReviewAction::Reject => {}
    }
    // The identity id is a search word of the session.
    crate::service::session_search::refresh(txn, &[session_id.to_string()]).await?;
    history::append(txn, SessionKind::Idv, &case.client_id, session_id, history::REVIEWED, "review", Some(detail)).await
}

async fn apply_to_identity(
    txn: &impl ConnectionTrait,
    case: &review_case::Model,
    identity_id: &str,
    action: ReviewAction,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let found = crate::service::identities::find_live(txn, &case.client_id, identity_id).await?;
    let Some(found) = found else { return Err(AppError::Conflict("the identity was erased".into())) };
    if action == ReviewAction::Approve {
        // A false positive: the listed entry is not this person.
        identity::Entity::update_many()
            .col_expr(identity::Column::Verified, Expr::value(true))
            .col_expr(identity::Column::OfacStatus, Expr::value("clear"))
            .col_expr(identity::Column::UpdatedAt, Expr::value(now))
            .filter(identity::Column::Id.eq(&found.id))
            .exec(txn)
            .await?;
    }
    crate::service::outbox::identity_reviewed(txn, &case.client_id, &found.id, action == ReviewAction::Approve).await
}

/// How the new capture link of a resubmission is minted.
pub struct ResubmissionLink {
    /// Lifetime and return URL of the link (default: 24 hours).
    pub link: crate::service::capture::NewLink,
    /// Time to live of the new session, in hours (the server's session TTL).
    pub session_ttl_hours: u64,
    /// Where capture URLs start (`{base}/verify/{token}`).
    pub base_url: String,
}

/// A resubmission request's result: the case, and the new session with the
/// capture link to send the applicant to (the token is shown once).
pub struct Resubmitted {
    pub case: review_case::Model,
    pub session_id: String,
    pub capture_link_id: String,
    pub capture_url: String,
    pub capture_expires_at: DateTime<Utc>,
}

/// Asks the applicant for a new capture: a new session is created for them
/// (same user, settings, liveness mode, webhook URL and metadata as the
/// reviewed one) with a link to the hosted capture page. The reviewed
/// session's history gets `resubmission_requested` and the integrator the
/// webhook `session.resubmission_requested` with the reason code, the new
/// session and its `capture_url` (no free text: the message, if any, is
/// kept as a note on the case). The case stays `in_review` and names the
/// new session (`resubmission_session_id`).
#[allow(clippy::too_many_arguments)]
pub async fn request_resubmission(
    db: &DatabaseConnection,
    scope: &Scope,
    case_id: &str,
    reason_code: &str,
    message: Option<&str>,
    link: ResubmissionLink,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<Resubmitted> {
    let message = message.map(str::trim).filter(|m| !m.is_empty()).map(|m| note_text("message", m)).transpose()?;
    let txn = crate::db::begin_write(db).await?;
    let case = lock_case(&txn, scope, case_id).await?;
    if let Some(why) = removed_subject(&txn, &case).await? {
        return Err(AppError::Conflict(format!("the case's subject is gone ({why}): there is nobody to ask for a new capture")));
    }
    let Some(session_id) = case.session_id.clone() else {
        return Err(AppError::Conflict("only a session's case can ask for a new capture".into()));
    };
    if case.state == state::DECIDED {
        return Err(AppError::Conflict("the case is decided".into()));
    }
    let settings = settings::get(&txn, &case.client_id).await?;
    let code = reason_code.trim();
    if !settings.reason_codes.resubmit.iter().any(|c| c == code) {
        return Err(AppError::validation(
            "reason_code",
            format!("`{code}` is not a resubmission reason code of this client: {}", settings.reason_codes.resubmit.join(", ")),
        ));
    }
    let reviewed = crate::service::idv::find(&txn, &case.client_id, &session_id).await?;
    let fresh = crate::service::idv::create(
        &txn,
        &case.client_id,
        reviewed.user_id.as_deref(),
        resubmission_session(&reviewed)?,
        link.session_ttl_hours,
        "/api/v1/review/case/resubmission",
    )
    .await?;
    let minted = crate::service::capture::mint(&txn, &fresh, link.link, "/api/v1/review/case/resubmission", now).await?;
    let capture_url = crate::service::capture::capture_url(&link.base_url, &minted.token);
    if let Some(m) = message {
        cases::add_note_to(&txn, &case, &format!("Resubmission requested ({code}): {m}"), actor, now).await?;
    }
    review_case::Entity::update_many()
        .col_expr(review_case::Column::ResubmissionRequestedAt, Expr::value(now))
        .col_expr(review_case::Column::ResubmissionSessionId, Expr::value(fresh.id.clone()))
        .col_expr(review_case::Column::State, Expr::value(state::IN_REVIEW))
        .col_expr(review_case::Column::UpdatedAt, Expr::value(now))
        .filter(review_case::Column::Id.eq(&case.id))
        .exec(&txn)
        .await?;
    let detail = serde_json::json!({
        "case_id": case.id, "reason_code": code, "new_session_id": fresh.id,
        "capture_link_id": minted.id, "capture_expires_at": minted.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    // The capture URL carries the link's token: it goes to the integrator in
    // the webhook only; the history keeps the link's id.
    let mut webhook = detail.clone();
    webhook["capture_url"] = capture_url.clone().into();
    history::append_with_webhook_detail(
        &txn,
        SessionKind::Idv,
        &case.client_id,
        &session_id,
        history::RESUBMISSION_REQUESTED,
        "review",
        Some(detail.clone()),
        Some(&webhook),
    )
    .await?;
    audit::record(&txn, &actor.actor, "review_case.resubmission", Some(("review_case", &case.id)), actor.ip.clone(), Some(detail))
        .await?;
    txn.commit().await?;
    Ok(Resubmitted {
        case: find_in_scope(db, scope, case_id).await?,
        session_id: fresh.id,
        capture_link_id: minted.id,
        capture_url,
        capture_expires_at: minted.expires_at,
    })
}

/// The new session of a resubmission: what the integrator chose for the reviewed one.
fn resubmission_session(reviewed: &idv_session::Model) -> AppResult<crate::service::idv::NewSession> {
    use crate::service::types::LivenessMode;
    let liveness_mode = LivenessMode::parse_field("liveness_mode", &reviewed.liveness_mode).unwrap_or(LivenessMode::Passive);
    // Checked when the reviewed session was created; kept as it was.
    let webhook_url = reviewed
        .webhook_url
        .as_deref()
        .and_then(|u| crate::service::webhooks::WebhookUrl::parse(u, crate::service::webhooks::UrlPolicy::WithLoopback).ok());
    Ok(crate::service::idv::NewSession {
        metadata: reviewed.metadata.as_object().cloned().unwrap_or_default(),
        liveness_mode,
        webhook_url,
        settings: crate::service::idv::IdvSettings::of(reviewed),
    })
}
