//! Session lifecycle outside the SDK steps: temporary blocking after
//! repeated failed attempts, unblocking and expiry (the sweeper).
//!
//! IDV and IDA sessions share these columns (`status`, `expires_at`,
//! `blocked_until`, `failed_attempts`), so the statements are written once
//! over the table named by [`SessionKind`]. Every status change is a
//! conditional UPDATE (`WHERE status = <old>`): a finalize that got there
//! first is never overwritten, and two sweepers never both write history.

use chrono::{DateTime, Duration, Utc};
use entity::session_event;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::service::history::{self, SessionKind};
use crate::service::tenancy::Scope;
use crate::service::types::SessionStatus;

/// History events written here.
pub mod events {
    pub const ATTEMPT_FAILED: &str = "attempt_failed";
    pub const TEMPORARILY_BLOCKED: &str = "temporarily_blocked";
    pub const UNBLOCKED: &str = "unblocked";
    pub const EXPIRED: &str = "expired";
}

/// A session table (IDV or IDA): what the code shared by both kinds needs
/// to know of it.
pub trait SessionTable: EntityTrait {
    /// How errors name a session of this kind ("IDV session").
    const NAME: &'static str;
    fn client_column() -> Self::Column;
    fn client_of(row: &Self::Model) -> &str;
}

impl SessionTable for entity::idv_session::Entity {
    const NAME: &'static str = "IDV session";
    fn client_column() -> Self::Column {
        entity::idv_session::Column::ClientId
    }
    fn client_of(row: &Self::Model) -> &str {
        &row.client_id
    }
}

impl SessionTable for entity::ida_session::Entity {
    const NAME: &'static str = "IDA session";
    fn client_column() -> Self::Column {
        entity::ida_session::Column::ClientId
    }
    fn client_of(row: &Self::Model) -> &str {
        &row.client_id
    }
}

/// The session with this id in this client; 404 otherwise (also for
/// another client's session, so ids cannot be probed).
pub async fn find<E>(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<E::Model>
where
    E: SessionTable,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    E::find_by_id(session_id.to_string())
        .filter(E::client_column().eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(E::NAME))
}

/// The session with this id when the caller's scope may read it; 404 otherwise.
pub async fn find_in_scope<E>(db: &impl ConnectionTrait, scope: &Scope, session_id: &str) -> AppResult<E::Model>
where
    E: SessionTable,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<String>,
{
    let row = E::find_by_id(session_id.to_string()).one(db).await?;
    scope.visible(row, |s| E::client_of(s), E::NAME)
}

/// The endpoint recorded for background changes.
pub const SYSTEM_ENDPOINT: &str = "system";

/// What one sweep changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Sessions (IDV and IDA) that became `expired`.
    pub expired: usize,
    /// Sessions that went from `temporarily_blocked` back to `in_progress`.
    pub unblocked: usize,
}

fn table(kind: SessionKind) -> Alias {
    Alias::new(match kind {
        SessionKind::Idv => "idv_session",
        SessionKind::Ida => "ida_session",
    })
}

fn col(name: &'static str) -> Expr {
    Expr::col(Alias::new(name))
}

/// The status a session shows: an open session (`in_progress` or
/// `temporarily_blocked`) past its time to live is `expired` even before the
/// sweeper has rewritten the row. Every read (REST, SDK, GraphQL, lists)
/// shows this, never the stored value alone.
pub fn effective_status(stored: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> SessionStatus {
    let stored = SessionStatus::from_db(stored);
    let open = matches!(stored, SessionStatus::InProgress | SessionStatus::TemporarilyBlocked);
    if open && expires_at <= now { SessionStatus::Expired } else { stored }
}

/// The WHERE clause "shows `status` now" (see [`effective_status`]) over the
/// session table of `kind`; `None` for `unknown` (no filter).
pub fn status_condition(kind: SessionKind, status: SessionStatus, now: DateTime<Utc>) -> Option<sea_orm::Condition> {
    use sea_orm::Condition;
    let column = |name: &'static str| Expr::col((table(kind), Alias::new(name)));
    let open = [SessionStatus::InProgress.as_str(), SessionStatus::TemporarilyBlocked.as_str()];
    Some(match status {
        SessionStatus::Unknown => return None,
        SessionStatus::InProgress | SessionStatus::TemporarilyBlocked => Condition::all()
            .add(column("status").eq(status.as_str()))
            .add(column("expires_at").gt(now)),
        SessionStatus::Expired => Condition::any()
            .add(column("status").eq(SessionStatus::Expired.as_str()))
            .add(Condition::all().add(column("status").is_in(open)).add(column("expires_at").lte(now))),
        other => Condition::all().add(column("status").eq(other.as_str())),
    })
}

/// Counts a rejected capture (invalid input: 400, 413, 415, 422) of an IDV
/// or IDA session toward `temporarily_blocked`; any other error (a closed
/// session, a conflict, a server error) is not the applicant's attempt and
/// is not counted. The request's own error stays the answer even when
/// counting fails, so this only logs its own failure.
pub async fn count_rejected_capture(
    db: &DatabaseConnection,
    config: &Config,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    endpoint: &str,
    err: &AppError,
) {
    let rejected_input = matches!(
        err,
        AppError::Validation { .. }
            | AppError::Unprocessable { .. }
            | AppError::UnsupportedMediaType { .. }
            | AppError::PayloadTooLarge { .. }
    );
    if !rejected_input {
        return;
    }
    if let Err(e) = record_failed_attempt(db, kind, client_id, session_id, endpoint, config).await {
        tracing::warn!(session_id = %session_id, error = %e, "recording a failed attempt failed");
    }
}

/// Records a failed SDK attempt (history `attempt_failed` with `reason` as
/// the endpoint, `sdk` when empty; `failed_attempts` + 1). When the session
/// has `blocked_max_failures` of them within `blocked_window_secs` (counted
/// since its last unblock), an `in_progress` session becomes
/// `temporarily_blocked` until now + `blocked_duration_secs`. Returns
/// whether the session is blocked now.
pub async fn record_failed_attempt(
    db: &DatabaseConnection,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    reason: &str,
    cfg: &Config,
) -> AppResult<bool> {
    let now = Utc::now();
    let endpoint = if reason.trim().is_empty() { "sdk" } else { reason };
    let txn = crate::db::begin_write(db).await?;
    let bumped = Query::update()
        .table(table(kind))
        .value(Alias::new("failed_attempts"), col("failed_attempts").add(1))
        .value(Alias::new("updated_at"), now)
        .and_where(col("id").eq(session_id))
        .and_where(col("client_id").eq(client_id))
        .to_owned();
    if txn.execute(&bumped).await?.rows_affected() == 0 {
        return Err(AppError::not_found(format!("{} session", kind.as_str())));
    }
    let detail = serde_json::json!({ "reason": reason });
    history::append(&txn, kind, client_id, session_id, events::ATTEMPT_FAILED, endpoint, Some(detail)).await?;

    let failures = failures_since_unblock(&txn, session_id, now - secs(cfg.blocked_window_secs)).await?;
    if failures >= u64::from(cfg.blocked_max_failures) {
        let until = now + secs(cfg.blocked_duration_secs);
        let blocked = Query::update()
            .table(table(kind))
            .value(Alias::new("status"), SessionStatus::TemporarilyBlocked.as_str())
            .value(Alias::new("blocked_until"), until)
            .value(Alias::new("updated_at"), now)
            .and_where(col("id").eq(session_id))
            .and_where(col("client_id").eq(client_id))
            .and_where(col("status").eq(SessionStatus::InProgress.as_str()))
            .to_owned();
        if txn.execute(&blocked).await?.rows_affected() == 1 {
            let detail = serde_json::json!({ "failures": failures, "blocked_until": until });
            history::append(&txn, kind, client_id, session_id, events::TEMPORARILY_BLOCKED, endpoint, Some(detail))
                .await?;
        }
    }
    let status = current_status(&txn, kind, session_id).await?;
    txn.commit().await?;
    Ok(status.as_deref() == Some(SessionStatus::TemporarilyBlocked.as_str()))
}

fn secs(n: u64) -> Duration {
    Duration::seconds(std::cmp::min(i64::try_from(n).unwrap_or(i64::MAX), 100 * 365 * 24 * 3600))
}

/// `attempt_failed` events since `window_start` or the last unblock, whichever is later.
async fn failures_since_unblock(
    db: &impl ConnectionTrait,
    session_id: &str,
    window_start: DateTime<Utc>,
) -> AppResult<u64> {
    let last_unblock = session_event::Entity::find()
        .filter(session_event::Column::SessionId.eq(session_id))
        .filter(session_event::Column::Event.eq(events::UNBLOCKED))
        .order_by_desc(session_event::Column::At)
        .one(db)
        .await?
        .map(|e| e.at);
    let since = last_unblock.map_or(window_start, |at| std::cmp::max(at, window_start));
    Ok(session_event::Entity::find()
        .filter(session_event::Column::SessionId.eq(session_id))
        .filter(session_event::Column::Event.eq(events::ATTEMPT_FAILED))
        .filter(session_event::Column::At.gt(since))
        .count(db)
        .await?)
}

async fn current_status(db: &impl ConnectionTrait, kind: SessionKind, session_id: &str) -> AppResult<Option<String>> {
    let q = Query::select().column(Alias::new("status")).from(table(kind)).and_where(col("id").eq(session_id)).to_owned();
    match db.query_one(&q).await? {
        Some(row) => Ok(Some(row.try_get::<String>("", "status")?)),
        None => Ok(None),
    }
}

/// Expires `in_progress` and `temporarily_blocked` sessions whose
/// `expires_at` has passed, then unblocks `temporarily_blocked` sessions
/// whose `blocked_until` has passed. Both kinds; history endpoint `system`.
pub async fn sweep(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<SweepReport> {
    let mut report = SweepReport::default();
    for kind in [SessionKind::Idv, SessionKind::Ida] {
        report.expired += expire(db, kind, now).await?;
        report.unblocked += unblock(db, kind, now).await?;
    }
    Ok(report)
}

/// (id, client_id, status) of the sessions matching `filter`.
async fn candidates(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    statuses: &[SessionStatus],
    due: Expr,
) -> AppResult<Vec<(String, String, String)>> {
    let q = Query::select()
        .columns([Alias::new("id"), Alias::new("client_id"), Alias::new("status")])
        .from(table(kind))
        .and_where(col("status").is_in(statuses.iter().map(|s| s.as_str())))
        .and_where(due)
        .limit(1000)
        .to_owned();
    let mut out = Vec::new();
    for row in db.query_all(&q).await? {
        out.push((row.try_get("", "id")?, row.try_get("", "client_id")?, row.try_get("", "status")?));
    }
    Ok(out)
}

async fn expire(db: &DatabaseConnection, kind: SessionKind, now: DateTime<Utc>) -> AppResult<usize> {
    let open = [SessionStatus::InProgress, SessionStatus::TemporarilyBlocked];
    let mut changed = 0;
    for (id, client_id, old) in candidates(db, kind, &open, col("expires_at").lte(now)).await? {
        let update = Query::update()
            .table(table(kind))
            .value(Alias::new("status"), SessionStatus::Expired.as_str())
            .value(Alias::new("blocked_until"), Option::<DateTime<Utc>>::None)
            .value(Alias::new("updated_at"), now)
            .and_where(col("id").eq(id.as_str()))
            .and_where(col("status").eq(old.as_str()))
            .to_owned();
        changed += transition(db, kind, &client_id, &id, update, events::EXPIRED).await? as usize;
    }
    Ok(changed)
}

async fn unblock(db: &DatabaseConnection, kind: SessionKind, now: DateTime<Utc>) -> AppResult<usize> {
    let blocked = [SessionStatus::TemporarilyBlocked];
    let mut changed = 0;
    for (id, client_id, _) in candidates(db, kind, &blocked, col("blocked_until").lte(now)).await? {
        let update = Query::update()
            .table(table(kind))
            .value(Alias::new("status"), SessionStatus::InProgress.as_str())
            .value(Alias::new("blocked_until"), Option::<DateTime<Utc>>::None)
            .value(Alias::new("updated_at"), now)
            .and_where(col("id").eq(id.as_str()))
            .and_where(col("status").eq(SessionStatus::TemporarilyBlocked.as_str()))
            .and_where(col("blocked_until").lte(now))
            .to_owned();
        changed += transition(db, kind, &client_id, &id, update, events::UNBLOCKED).await? as usize;
    }
    Ok(changed)
}

/// Runs a conditional status UPDATE and, when it changed the row, appends
/// the history event in the same transaction.
async fn transition(
    db: &DatabaseConnection,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    update: sea_orm::sea_query::UpdateStatement,
    event: &str,
) -> AppResult<bool> {
    let txn = crate::db::begin_write(db).await?;
    let won = txn.execute(&update).await?.rows_affected() == 1;
    if won {
        history::append(&txn, kind, client_id, session_id, event, SYSTEM_ENDPOINT, None).await?;
    }
    txn.commit().await?;
    Ok(won)
}

/// Sweeps every `sweep_interval_secs` (0: never) until the process ends.
pub fn spawn_sweeper(db: DatabaseConnection, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep(&db, Utc::now()).await {
                Ok(r) if r.expired + r.unblocked > 0 => {
                    tracing::info!(expired = r.expired, unblocked = r.unblocked, "session sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session sweep failed"),
            }
        }
    });
}
