//! Webhook events: the outbox rows (`webhook_delivery`), written in the
//! transaction of the change they announce, and the delivery log.
//!
//! `service::history::append` calls [`on_history_event`] for every
//! session state change and SDK step, so an event exists exactly when its
//! change is committed. Each session event bumps the session's
//! `event_sequence` (inside the same transaction, which row-locks the
//! session on PostgreSQL), and the payload carries that number: receivers
//! put a session's events back in order by it, whatever order retries
//! deliver them in. One row is written per target (the session's
//! `webhook_url` and each enabled registered endpoint of the client); the
//! row id is the `webhook-id` header, the same on every retry.
//!
//! Payloads are thin (ids, status, timestamps, the sequence number): no
//! names, dates of birth or images. The delivery worker is
//! [`crate::service::delivery`]; writing events wakes it ([`wake_deliveries`]).

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use entity::{ida_session, idv_session, webhook, webhook_attempt, webhook_delivery};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::Sha256;

use tokio::sync::Notify;

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::domain::SessionKind;
use crate::service::types::Page;
use crate::service::webhooks::SECRET_PREFIX;
use crate::storage::MasterKey;

static DELIVERY_WAKE: Notify = Notify::const_new();

/// Wakes this process's idle delivery workers (new events were written).
/// Workers of other processes find the rows at their next poll.
pub fn wake_deliveries() {
    DELIVERY_WAKE.notify_waiters();
}

/// Resolves at the next [`wake_deliveries`] (what an idle delivery worker awaits).
pub async fn deliveries_woken() {
    DELIVERY_WAKE.notified().await;
}

/// Event types (the payload's `type`).
pub mod event_types {
    pub const SESSION_CREATED: &str = "session.created";
    pub const SESSION_UPDATED: &str = "session.updated";
    pub const SESSION_COMPLETED: &str = "session.completed";
    pub const SESSION_EXPIRED: &str = "session.expired";
    pub const IDENTITY_VERIFIED: &str = "identity.verified";
    /// An IDV session finished with `verified: false` because the
    /// integrator's verdict policy asks for a person to review it.
    pub const SESSION_REVIEW_REQUIRED: &str = "session.review_required";
    pub const IDENTITY_SANCTIONS_HIT: &str = "identity.sanctions_hit";
    /// A review decision on an IDV session took effect (approve or reject;
    /// `data.review` carries the case id, the outcome and the reason code).
    pub const SESSION_REVIEWED: &str = "session.reviewed";
    /// A reviewer asks for a new capture of the applicant; the integrator
    /// sends them to the new session's capture page (`data.resubmission`:
    /// `reason_code`, `new_session_id`, `capture_url`, `capture_expires_at`).
    pub const SESSION_RESUBMISSION_REQUESTED: &str = "session.resubmission_requested";
    /// A review decision on an identity's sanctions hit took effect.
    pub const IDENTITY_REVIEWED: &str = "identity.reviewed";
    /// A re-screening found a verified identity among politically exposed persons.
    pub const IDENTITY_PEP_HIT: &str = "identity.pep_hit";
    pub const IDA_COMPLETED: &str = "ida.completed";
    pub const IDENTITY_ERASED: &str = "identity.erased";
    /// An endpoint was disabled (410 Gone, or failing for too long); sent
    /// to the client's other enabled endpoints.
    pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
}

/// Delivery statuses.
pub mod status {
    /// Waiting for its (next) attempt at `next_attempt_at`.
    pub const PENDING: &str = "pending";
    /// Claimed by a worker; `next_attempt_at` is the end of its lease.
    pub const SENDING: &str = "sending";
    pub const DELIVERED: &str = "delivered";
    /// Gave up (schedule exhausted, 410, or the endpoint is disabled/deleted).
    pub const FAILED: &str = "failed";
}

/// History events (see `service::history`) that carry their own event type;
/// every other history event is a `session.updated` with `step` = its name.
const HISTORY_CREATED: &str = "created";
const HISTORY_FINALIZED: &str = "finalized";
const HISTORY_EXPIRED: &str = "expired";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the payload says about a session after the change.
struct SessionFacts {
    status: String,
    webhook_url: Option<String>,
    sequence: i64,
    identity_id: Option<String>,
    /// IDV: `verified`; IDA: `authenticated`.
    outcome: Option<bool>,
    sanctions_hit: bool,
    /// IDV: the verdict policy sent the session to review.
    review_required: bool,
}

async fn bump_and_read(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    session_id: &str,
) -> AppResult<Option<SessionFacts>> {
    Ok(match kind {
        SessionKind::Idv => {
            idv_session::Entity::update_many()
                .col_expr(idv_session::Column::EventSequence, Expr::col(idv_session::Column::EventSequence).add(1))
                .filter(idv_session::Column::Id.eq(session_id))
                .exec(db)
                .await?;
            idv_session::Entity::find_by_id(session_id.to_string()).one(db).await?.map(|s| SessionFacts {
                status: s.status,
                webhook_url: s.webhook_url,
                sequence: s.event_sequence,
                identity_id: s.identity_id,
                outcome: s.verified,
                sanctions_hit: s.ofac_status == "hit",
                review_required: s.review_required,
            })
        }
        SessionKind::Ida => {
            ida_session::Entity::update_many()
                .col_expr(ida_session::Column::EventSequence, Expr::col(ida_session::Column::EventSequence).add(1))
                .filter(ida_session::Column::Id.eq(session_id))
                .exec(db)
                .await?;
            ida_session::Entity::find_by_id(session_id.to_string()).one(db).await?.map(|s| SessionFacts {
                status: s.status,
                webhook_url: s.webhook_url,
                sequence: s.event_sequence,
                identity_id: Some(s.identity_id),
                outcome: s.authenticated,
                sanctions_hit: false,
                review_required: false,
            })
        }
    })
}

/// Writes the webhook events of one history entry (same transaction as `db`).
pub async fn on_history_event(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    history_event: &str,
) -> AppResult<()> {
    on_history_event_with(db, kind, client_id, session_id, history_event, None).await
}

/// [`on_history_event`] with the history entry's detail (review events carry
/// their case id, outcome and reason code from it; no personal data).
pub async fn on_history_event_with(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    history_event: &str,
    detail: Option<&serde_json::Value>,
) -> AppResult<()> {
    let Some(facts) = bump_and_read(db, kind, session_id).await? else { return Ok(()) };
    let targets = targets(db, client_id, facts.webhook_url.as_deref()).await?;
    if targets.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut session = serde_json::json!({
        "session_id": session_id,
        "session_kind": kind.as_str(),
        "sequence": facts.sequence,
        "status": facts.status,
        "occurred_at": rfc3339(now),
    });
    let mut events: Vec<(&str, serde_json::Value)> = Vec::new();
    match (history_event, kind) {
        (HISTORY_CREATED, _) => events.push((event_types::SESSION_CREATED, session)),
        (HISTORY_EXPIRED, _) => events.push((event_types::SESSION_EXPIRED, session)),
        (HISTORY_FINALIZED, SessionKind::Idv) => {
            session["verified"] = facts.outcome.unwrap_or(false).into();
            session["review_required"] = facts.review_required.into();
            session["identity_id"] = facts.identity_id.clone().into();
            events.push((event_types::SESSION_COMPLETED, session.clone()));
            if facts.review_required {
                events.push((event_types::SESSION_REVIEW_REQUIRED, session.clone()));
            }
            if let (Some(true), Some(identity_id)) = (facts.outcome, &facts.identity_id) {
                events.push((event_types::IDENTITY_VERIFIED, with_identity(&session, identity_id)));
            }
            if facts.sanctions_hit {
                events.push((event_types::IDENTITY_SANCTIONS_HIT, session.clone()));
            }
        }
        (crate::domain::history_events::REVIEWED, SessionKind::Idv) => {
            session["verified"] = facts.outcome.unwrap_or(false).into();
            session["review_required"] = facts.review_required.into();
            session["identity_id"] = facts.identity_id.clone().into();
            session["review"] = review_fields(detail, &["case_id", "outcome", "reason_code"]);
            events.push((event_types::SESSION_REVIEWED, session.clone()));
            if let (Some(true), Some(identity_id)) = (facts.outcome, &facts.identity_id) {
                events.push((event_types::IDENTITY_VERIFIED, with_identity(&session, identity_id)));
            }
        }
        (crate::domain::history_events::RESUBMISSION_REQUESTED, SessionKind::Idv) => {
            session["resubmission"] = review_fields(
                detail,
                &["case_id", "reason_code", "new_session_id", "capture_link_id", "capture_url", "capture_expires_at"],
            );
            events.push((event_types::SESSION_RESUBMISSION_REQUESTED, session));
        }
        (HISTORY_FINALIZED, SessionKind::Ida) => {
            session["authenticated"] = facts.outcome.unwrap_or(false).into();
            session["identity_id"] = facts.identity_id.clone().into();
            events.push((event_types::IDA_COMPLETED, session));
        }
        (step, _) => {
            session["step"] = step.into();
            events.push((event_types::SESSION_UPDATED, session));
        }
    }
    for (event_type, data) in events {
        insert_for_targets(db, client_id, &targets, event_type, Some(session_id), facts.sequence, data, now).await?;
    }
    wake_deliveries();
    Ok(())
}

/// The named string fields of a history detail (others are never copied into a payload).
fn review_fields(detail: Option<&serde_json::Value>, keys: &[&str]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for k in keys {
        if let Some(v) = detail.and_then(|d| d.get(*k)).filter(|v| v.is_string()) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    serde_json::Value::Object(out)
}

/// `identity.reviewed` (and `identity.verified` when `approved`) after a
/// review decision on an identity's sanctions hit (same transaction).
pub async fn identity_reviewed(db: &impl ConnectionTrait, client_id: &str, identity_id: &str, approved: bool) -> AppResult<()> {
    identity_event(db, client_id, identity_id, event_types::IDENTITY_REVIEWED).await?;
    if approved {
        identity_event(db, client_id, identity_id, event_types::IDENTITY_VERIFIED).await?;
    }
    Ok(())
}

fn with_identity(session: &serde_json::Value, identity_id: &str) -> serde_json::Value {
    let mut v = session.clone();
    v["identity_id"] = identity_id.into();
    v
}

/// `identity.erased` for an identity of `client_id` (same transaction as the erasure).
pub async fn identity_erased(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<()> {
    identity_event(db, client_id, identity_id, event_types::IDENTITY_ERASED).await
}

/// `identity.sanctions_hit` outside a session (e.g. a re-screening after a
/// list refresh); call it in the transaction that records the hit.
pub async fn identity_sanctions_hit(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<()> {
    identity_event(db, client_id, identity_id, event_types::IDENTITY_SANCTIONS_HIT).await
}

/// `identity.pep_hit`: a re-screening found a verified identity among
/// politically exposed persons (the identity stays verified).
pub async fn identity_pep_hit(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<()> {
    identity_event(db, client_id, identity_id, event_types::IDENTITY_PEP_HIT).await
}

/// An identity-level event to the client's enabled endpoints (`sequence` 0:
/// identity events belong to no session).
async fn identity_event(db: &impl ConnectionTrait, client_id: &str, identity_id: &str, event_type: &str) -> AppResult<()> {
    let targets = targets(db, client_id, None).await?;
    let now = Utc::now();
    let data = serde_json::json!({ "identity_id": identity_id, "occurred_at": rfc3339(now) });
    insert_for_targets(db, client_id, &targets, event_type, None, 0, data, now).await?;
    wake_deliveries();
    Ok(())
}

/// `webhook.disabled` to the client's other enabled endpoints.
pub async fn webhook_disabled(db: &impl ConnectionTrait, hook: &webhook::Model, reason: &str) -> AppResult<()> {
    let targets: Vec<Target> =
        targets(db, &hook.client_id, None).await?.into_iter().filter(|t| t.webhook_id.as_deref() != Some(&hook.id)).collect();
    let now = Utc::now();
    let data = serde_json::json!({ "webhook_id": hook.id, "url": hook.url, "reason": reason, "occurred_at": rfc3339(now) });
    insert_for_targets(db, &hook.client_id, &targets, event_types::WEBHOOK_DISABLED, None, 0, data, now).await
}

/// Where an event goes: a registered endpoint, or a session's own URL (no endpoint).
pub struct Target {
    pub webhook_id: Option<String>,
    pub url: String,
}

/// The client's enabled endpoints, plus `session_url` unless an endpoint has that exact URL.
async fn targets(db: &impl ConnectionTrait, client_id: &str, session_url: Option<&str>) -> AppResult<Vec<Target>> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::ClientId.eq(client_id))
        .filter(webhook::Column::Enabled.eq(true))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?;
    let mut targets: Vec<Target> = Vec::with_capacity(hooks.len() + 1);
    if let Some(url) = session_url.map(str::trim).filter(|u| !u.is_empty())
        && !hooks.iter().any(|h| h.url == url)
    {
        targets.push(Target { webhook_id: None, url: url.to_string() });
    }
    targets.extend(hooks.into_iter().map(|h| Target { webhook_id: Some(h.id), url: h.url }));
    Ok(targets)
}

#[allow(clippy::too_many_arguments)]
async fn insert_for_targets(
    db: &impl ConnectionTrait,
    client_id: &str,
    targets: &[Target],
    event_type: &str,
    session_id: Option<&str>,
    sequence: i64,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let payload = serde_json::json!({ "type": event_type, "timestamp": rfc3339(now), "data": data }).to_string();
    for target in targets {
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            id: Set(format!("msg_{}", new_id())),
            client_id: Set(client_id.to_string()),
            webhook_id: Set(target.webhook_id.clone()),
            target_url: Set(target.url.clone()),
            event_type: Set(event_type.to_string()),
            session_id: Set(session_id.map(str::to_string)),
            sequence: Set(sequence),
            payload: Set(payload.clone()),
            status: Set(status::PENDING.to_string()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_attempt_at: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The signing secret of deliveries to sessions' own `webhook_url`s (those
/// that are not a registered endpoint): derived from the master key and the
/// client id, so it needs no storage and is stable; `whsec_` + base64 of 24 bytes.
pub fn session_url_secret(master: &MasterKey, client_id: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(master.to_base64()).unwrap_or_default();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(b"tessera session webhook secret:");
    mac.update(client_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(&digest[..24]))
}

/// Filters of the delivery log.
#[derive(Debug, Default)]
pub struct DeliveryFilter {
    pub webhook_id: Option<String>,
    pub session_id: Option<String>,
    pub status: Option<String>,
    pub event_type: Option<String>,
}

/// A delivery and its attempts, oldest attempt first.
pub struct DeliveryLog {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// One page of a client's deliveries, newest first, and the number matching.
pub async fn list_deliveries(
    db: &impl ConnectionTrait,
    client_id: &str,
    filter: DeliveryFilter,
    page: Page,
) -> AppResult<(Vec<DeliveryLog>, u64)> {
    use webhook_delivery::Column as C;
    let mut query = webhook_delivery::Entity::find().filter(C::ClientId.eq(client_id));
    if let Some(v) = filter.webhook_id {
        query = query.filter(C::WebhookId.eq(v));
    }
    if let Some(v) = filter.session_id {
        query = query.filter(C::SessionId.eq(v));
    }
    if let Some(v) = filter.status {
        query = query.filter(C::Status.eq(v));
    }
    if let Some(v) = filter.event_type {
        query = query.filter(C::EventType.eq(v));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Sequence)
        .order_by_desc(C::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let mut attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::AttemptedAt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?;
    let logs = rows
        .into_iter()
        .map(|delivery| {
            let (mine, rest): (Vec<_>, Vec<_>) = attempts.drain(..).partition(|a| a.delivery_id == delivery.id);
            attempts = rest;
            DeliveryLog { delivery, attempts: mine }
        })
        .collect();
    Ok((logs, total))
}

async fn find_delivery(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<webhook_delivery::Model> {
    webhook_delivery::Entity::find_by_id(id.to_string())
        .filter(webhook_delivery::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook delivery"))
}

/// Endpoint of a delivery must still exist and be enabled to redeliver.
async fn check_endpoint(db: &impl ConnectionTrait, d: &webhook_delivery::Model) -> AppResult<()> {
    let Some(webhook_id) = &d.webhook_id else {
        if d.event_type == crate::service::webhooks::TEST_EVENT {
            return Err(AppError::Conflict("the webhook of this test event was deleted".into()));
        }
        return Ok(());
    };
    match webhook::Entity::find_by_id(webhook_id.clone()).one(db).await? {
        Some(h) if h.enabled => Ok(()),
        Some(_) => Err(AppError::Conflict("the webhook is disabled; enable it before redelivering".into())),
        None => Err(AppError::Conflict("the webhook was deleted".into())),
    }
}

/// Queues one delivery again (same `webhook-id`, a fresh retry schedule).
/// A delivery being sent right now is 409.
pub async fn redeliver(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<webhook_delivery::Model> {
    let d = find_delivery(db, client_id, id).await?;
    if d.status == status::SENDING {
        return Err(AppError::Conflict("the delivery is being sent right now".into()));
    }
    check_endpoint(db, &d).await?;
    // Still in the status it was seen in: a worker may have claimed it since.
    let same_row = sea_orm::Condition::all()
        .add(webhook_delivery::Column::Id.eq(&d.id))
        .add(webhook_delivery::Column::Status.eq(&d.status));
    if requeue(db, same_row).await? == 0 {
        return Err(AppError::Conflict("the delivery changed concurrently; retry the request".into()));
    }
    wake_deliveries();
    find_delivery(db, client_id, id).await
}

/// Queues every `failed` delivery of the client (of one endpoint when
/// `webhook_id` is given) whose endpoint is enabled; returns how many.
pub async fn redeliver_failed(db: &impl ConnectionTrait, client_id: &str, webhook_id: Option<&str>) -> AppResult<u64> {
    use webhook_delivery::Column as C;
    let enabled: Vec<String> = webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .filter(webhook::Column::ClientId.eq(client_id))
        .filter(webhook::Column::Enabled.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let mut endpoint = sea_orm::Condition::any().add(C::WebhookId.is_in(enabled));
    match webhook_id {
        Some(w) => {
            endpoint = sea_orm::Condition::all().add(endpoint).add(C::WebhookId.eq(w));
        }
        None => {
            endpoint = endpoint.add(
                sea_orm::Condition::all()
                    .add(C::WebhookId.is_null())
                    .add(C::EventType.ne(crate::service::webhooks::TEST_EVENT)),
            );
        }
    }
    let cond = sea_orm::Condition::all().add(C::ClientId.eq(client_id)).add(C::Status.eq(status::FAILED)).add(endpoint);
    let n = requeue(db, cond).await?;
    wake_deliveries();
    Ok(n)
}

async fn requeue(db: &impl ConnectionTrait, cond: sea_orm::Condition) -> AppResult<u64> {
    use webhook_delivery::Column as C;
    Ok(webhook_delivery::Entity::update_many()
        .col_expr(C::Status, Expr::value(status::PENDING))
        .col_expr(C::Attempts, Expr::value(0))
        .col_expr(C::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(C::DeliveredAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(cond)
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_url_secret_is_stable_per_client_and_key() {
        let master = MasterKey::generate();
        let a = session_url_secret(&master, "client-a");
        assert!(a.starts_with(SECRET_PREFIX));
        let raw = base64::engine::general_purpose::STANDARD.decode(&a[SECRET_PREFIX.len()..]).unwrap();
        assert_eq!(raw.len(), 24);
        assert_eq!(a, session_url_secret(&master, "client-a"));
        assert_ne!(a, session_url_secret(&master, "client-b"));
        assert_ne!(a, session_url_secret(&MasterKey::generate(), "client-a"));
    }
}

/// Which kind of session a delivery's event is about (`idv` or `ida`), read
/// from its payload's `data.session_kind`; `None` for events of no session.
pub fn delivery_session_kind(delivery: &webhook_delivery::Model) -> Option<&'static str> {
    delivery.session_id.as_ref()?;
    let payload: serde_json::Value = serde_json::from_str(&delivery.payload).ok()?;
    match payload["data"]["session_kind"].as_str() {
        Some(k) if k == SessionKind::Ida.as_str() => Some(SessionKind::Ida.as_str()),
        Some(k) if k == SessionKind::Idv.as_str() => Some(SessionKind::Idv.as_str()),
        _ => None,
    }
}
