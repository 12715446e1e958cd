//! Claiming, finishing and retrying jobs.
//!
//! Claiming is safe with several processes on one database: PostgreSQL
//! locks the candidate row with `FOR UPDATE SKIP LOCKED` inside a
//! transaction, so concurrent claimers pick different rows; SQLite has no
//! row locks, so a claim is an optimistic `UPDATE ... WHERE id = ? AND
//! status = <seen> AND attempts = <seen>` that only one claimer can win.
//! Every later transition is conditional on `locked_by` = this claimer, so
//! a worker whose lock expired (and whose job was reclaimed) changes nothing.

use chrono::{DateTime, Utc};
use entity::job;
use rand::Rng;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::time::Duration;

use super::{Handler, handler, registered_kinds, status};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Longest retry delay, whatever the attempt.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// This process among all that share the database: the process id plus a
/// random part (process ids repeat across hosts and restarts).
pub fn instance_id() -> &'static str {
    static INSTANCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(|| format!("pid{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]))
}

/// A fresh claimer id: this process's instance id plus a random part.
pub fn worker_id() -> String {
    format!("{}-{}", instance_id(), &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Hands the jobs this process still holds back to the queue (shutdown):
/// `queued`, due now, unlocked, the interrupted attempt not counted, so
/// another process claims them at once instead of after `job_lock_secs`.
/// A handler of this process that still finishes later changes nothing
/// (every transition is conditional on its `locked_by`). Returns how many.
pub async fn release_claimed(db: &DatabaseConnection) -> AppResult<u64> {
    let now = Utc::now();
    let released = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::QUEUED))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::Attempts, sea_orm::sea_query::ExprTrait::sub(Expr::col(job::Column::Attempts), 1))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Status.eq(status::RUNNING))
        .filter(job::Column::LockedBy.like(format!("{}-%", instance_id())))
        .exec(db)
        .await?
        .rows_affected;
    Ok(released)
}

pub fn lock_duration(config: &Config) -> Duration {
    Duration::from_secs(config.job_lock_secs)
}

/// Delay before retry number `attempt` (1 = after the first failure):
/// `base · 2^(attempt-1)`, capped at [`MAX_BACKOFF`], of which a random
/// half is jitter (`jitter` in 0..=1 picks where in the upper half), so
/// workers that failed together do not retry together.
pub fn backoff(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << exponent).min(MAX_BACKOFF);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Due: queued and `run_at` reached, or running with an expired lock;
/// only the jobs of `session` when one is named.
fn due(now: DateTime<Utc>, session: Option<&str>) -> Condition {
    let due = Condition::all().add(job::Column::Kind.is_in(registered_kinds())).add(due_any(now));
    match session {
        Some(id) => Condition::all().add(job::Column::SessionId.eq(id)).add(due),
        None => due,
    }
}

fn due_any(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::Status.eq(status::QUEUED))
                .add(job::Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::Status.eq(status::RUNNING))
                .add(job::Column::LockedUntil.lt(now)),
        )
}

/// Claims one due job for `worker`, or `None` when nothing is due.
pub async fn claim_one(db: &DatabaseConnection, worker: &str, lock: Duration) -> AppResult<Option<job::Model>> {
    claim_due(db, worker, lock, None).await
}

/// Claims one due job of one session (finalize makes its own session's
/// progress with it, never another session's).
pub async fn claim_one_of_session(
    db: &DatabaseConnection,
    worker: &str,
    lock: Duration,
    session_id: &str,
) -> AppResult<Option<job::Model>> {
    claim_due(db, worker, lock, Some(session_id)).await
}

async fn claim_due(db: &DatabaseConnection, worker: &str, lock: Duration, session: Option<&str>) -> AppResult<Option<job::Model>> {
    match db.get_database_backend() {
        DbBackend::Postgres => claim_locking(db, worker, lock, session).await,
        _ => claim_optimistic(db, worker, lock, session).await,
    }
}

async fn claim_locking(
    db: &DatabaseConnection,
    worker: &str,
    lock: Duration,
    session: Option<&str>,
) -> AppResult<Option<job::Model>> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let candidate = job::Entity::find()
        .filter(due(now, session))
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(&txn)
        .await?;
    let Some(candidate) = candidate else {
        txn.commit().await?;
        return Ok(None);
    };
    let attempts = candidate.attempts + 1;
    let mut row: job::ActiveModel = candidate.into();
    row.status = Set(status::RUNNING.to_string());
    row.attempts = Set(attempts);
    row.locked_by = Set(Some(worker.to_string()));
    row.locked_until = Set(Some(now + chrono_duration(lock)));
    row.updated_at = Set(now);
    let claimed = row.update(&txn).await?;
    txn.commit().await?;
    Ok(Some(claimed))
}

async fn claim_optimistic(
    db: &DatabaseConnection,
    worker: &str,
    lock: Duration,
    session: Option<&str>,
) -> AppResult<Option<job::Model>> {
    let now = Utc::now();
    let candidates = job::Entity::find()
        .filter(due(now, session))
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(16)
        .all(db)
        .await?;
    for candidate in candidates {
        let locked_until = now + chrono_duration(lock);
        let won = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(status::RUNNING))
            .col_expr(job::Column::Attempts, Expr::value(candidate.attempts + 1))
            .col_expr(job::Column::LockedBy, Expr::value(worker))
            .col_expr(job::Column::LockedUntil, Expr::value(locked_until))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.eq(&candidate.id))
            .filter(job::Column::Status.eq(&candidate.status))
            .filter(job::Column::Attempts.eq(candidate.attempts))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if won {
            return Ok(Some(job::Model {
                status: status::RUNNING.to_string(),
                attempts: candidate.attempts + 1,
                locked_by: Some(worker.to_string()),
                locked_until: Some(locked_until),
                updated_at: now,
                ..candidate
            }));
        }
    }
    Ok(None)
}

/// Runs a claimed job and records how it ended. Errors returned here are
/// database errors of the bookkeeping itself; a failing handler is a retry.
pub async fn run_claimed(state: &AppState, worker: &str, job: job::Model) -> AppResult<()> {
    let Some(kind) = handler(&job.kind) else {
        // Only registered kinds are claimed; a claim that raced an install is handed back.
        return retry_later(state, worker, Duration::from_secs(1), &job, "no handler for this job kind in this process").await;
    };
    if job.attempts > job.max_attempts {
        // Reclaimed after its process died on the last attempt.
        return give_up(state, worker, kind, &job, "the job's worker stopped").await;
    }
    let limit = lock_duration(&state.config);
    let work = (kind.run)(state, &job);
    let outcome = match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(AppError::internal(format!("timed out after {}s", limit.as_secs()))),
    };
    match outcome {
        Ok(()) => finish(&state.db, worker, &job, status::DONE, None).await,
        Err(e) => {
            let error = format!("{e:#}");
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job failed");
            if job.attempts >= job.max_attempts {
                give_up(state, worker, kind, &job, &error).await
            } else {
                retry_later(state, worker, (kind.retry_base)(&state.config), &job, &error).await
            }
        }
    }
}

/// Records the unavailable answers the job owed, then marks it failed.
async fn give_up(state: &AppState, worker: &str, kind: Handler, job: &job::Model, error: &str) -> AppResult<()> {
    // The reason shown to API clients stays generic; the cause is in `last_error` and the log.
    let attempts = job.attempts.min(job.max_attempts);
    let given_up = (kind.give_up)(state, job, attempts).await;
    if let Err(e) = given_up {
        tracing::error!(job = %job.id, error = %e, "recording unavailable checks of a failed job failed");
    }
    finish(&state.db, worker, job, status::FAILED, Some(error.to_string())).await
}

async fn retry_later(state: &AppState, worker: &str, base: Duration, job: &job::Model, error: &str) -> AppResult<()> {
    let jitter = rand::thread_rng().r#gen::<f64>();
    let delay = backoff(base, job.attempts.max(1) as u32, jitter);
    let now = Utc::now();
    let changed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status::QUEUED))
        .col_expr(job::Column::RunAt, Expr::value(now + chrono_duration(delay)))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::LastError, Expr::value(truncate(error)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(owned_by(job, worker))
        .exec(&state.db)
        .await?
        .rows_affected;
    if changed == 0 {
        tracing::warn!(job = %job.id, "lost the job's lock before rescheduling it");
    }
    Ok(())
}

async fn finish(
    db: &DatabaseConnection,
    worker: &str,
    job: &job::Model,
    final_status: &str,
    error: Option<String>,
) -> AppResult<()> {
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(final_status))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()));
    if let Some(error) = error {
        update = update.col_expr(job::Column::LastError, Expr::value(truncate(&error)));
    }
    let changed = update.filter(owned_by(job, worker)).exec(db).await?.rows_affected;
    if changed == 0 {
        tracing::warn!(job = %job.id, "lost the job's lock before finishing it");
    }
    Ok(())
}

fn owned_by(job: &job::Model, worker: &str) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(&job.id))
        .add(job::Column::Status.eq(status::RUNNING))
        .add(job::Column::LockedBy.eq(worker))
}

fn truncate(error: &str) -> String {
    const MAX: usize = 2000;
    if error.len() <= MAX {
        return error.to_string();
    }
    let mut end = MAX;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(2000);

    #[test]
    fn backoff_doubles_per_attempt_within_the_jitter_band() {
        for attempt in 1..=5u32 {
            let full = BASE * (1 << (attempt - 1));
            assert_eq!(backoff(BASE, attempt, 0.0), full / 2, "attempt {attempt}");
            assert_eq!(backoff(BASE, attempt, 1.0), full, "attempt {attempt}");
            let mid = backoff(BASE, attempt, 0.5);
            assert!(mid > full / 2 && mid < full, "attempt {attempt}: {mid:?}");
        }
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        assert_eq!(backoff(BASE, 20, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(BASE, u32::MAX, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(Duration::MAX, 3, 1.0), MAX_BACKOFF);
        assert_eq!(backoff(BASE, 20, 0.0), MAX_BACKOFF / 2);
    }

    #[test]
    fn attempt_zero_is_treated_as_the_first_and_jitter_is_clamped() {
        assert_eq!(backoff(BASE, 0, 0.0), backoff(BASE, 1, 0.0));
        assert_eq!(backoff(BASE, 1, 7.0), BASE);
        assert_eq!(backoff(BASE, 1, -1.0), BASE / 2);
        assert_eq!(backoff(Duration::ZERO, 4, 1.0), Duration::ZERO);
    }

    #[test]
    fn long_errors_are_cut_on_a_char_boundary() {
        let long = "é".repeat(1500);
        let cut = truncate(&long);
        assert!(cut.len() <= 2000 && cut.chars().all(|c| c == 'é'));
    }
}
