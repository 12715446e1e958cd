//! Durable background work over the `job` table.
//!
//! A caller enqueues a job inside its own transaction (outbox style: the
//! job exists exactly when the change that asked for it is committed).
//! Workers in every server process claim due jobs, run them and mark them
//! `done`; a failure is retried with exponential backoff and jitter, and
//! after `max_attempts` the job is `failed` and its handler's give-up path
//! records the checks it owed as `unavailable`, so a session always gets an
//! answer.
//!
//! Statuses: `queued` → `running` → `done` | back to `queued` (retry) |
//! `failed` (dead). `attempts` counts claims. A `running` job whose
//! `locked_until` has passed (its process died) is claimed again.
//!
//! The queue knows no job kind: a kind is a name in `job.kind` and a
//! [`Handler`] installed once per process ([`install`], called by
//! `crate::workers`). A process claims only the kinds it has handlers for,
//! so a process of an older build never takes a job it cannot run.

pub mod queue;

use chrono::Utc;
use entity::job;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::AppResult;
use crate::ids::new_id;
use crate::state::AppState;

/// What a handler returns: the job's work, boxed so handlers of different
/// kinds fit one table.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// How one job kind is run.
#[derive(Clone, Copy)]
pub struct Handler {
    /// Does the work. An error is retried after a backoff.
    pub run: for<'a> fn(&'a AppState, &'a job::Model) -> JobFuture<'a>,
    /// Records what the job owed once its attempts are spent (the third
    /// argument), so that a session still gets an answer.
    pub give_up: for<'a> fn(&'a AppState, &'a job::Model, i32) -> JobFuture<'a>,
    /// First retry delay; it doubles per attempt ([`queue::backoff`]).
    pub retry_base: fn(&Config) -> Duration,
}

static HANDLERS: OnceLock<BTreeMap<&'static str, Handler>> = OnceLock::new();

/// Installs this process's job handlers. The first call wins; the table is
/// the same for every call (it is the build's list of kinds), so later
/// calls (several servers in one test process) change nothing.
pub fn install(handlers: impl IntoIterator<Item = (&'static str, Handler)>) {
    HANDLERS.get_or_init(|| handlers.into_iter().collect());
}

/// The handler of a kind, when this process has one.
pub fn handler(kind: &str) -> Option<Handler> {
    HANDLERS.get().and_then(|h| h.get(kind).copied())
}

/// The kinds this process can run (none before [`install`]).
pub fn registered_kinds() -> Vec<&'static str> {
    HANDLERS.get().map(|h| h.keys().copied().collect()).unwrap_or_default()
}

/// Attempts a job gets before it is given up.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

/// Wakes this process's idle workers (enqueue calls it).
static WAKE: Notify = Notify::const_new();

/// Wakes this process's idle workers, e.g. right after committing a
/// transaction that enqueued jobs. Workers of other processes find the job
/// at their next poll.
pub fn wake() {
    WAKE.notify_waiters();
    WAKE.notify_one();
}

/// Queues a job, inside the caller's transaction when `db` is one.
/// `client_id` and `session_id` are added to `payload` (an object; any other
/// value is kept under `"value"`). Returns the job id.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    kind: impl AsRef<str>,
    client_id: &str,
    session_id: &str,
    payload: serde_json::Value,
) -> AppResult<String> {
    enqueue_with(db, kind, client_id, session_id, payload, DEFAULT_MAX_ATTEMPTS, Utc::now()).await
}

/// [`enqueue`] with its own attempt budget and first run time.
pub async fn enqueue_with(
    db: &impl ConnectionTrait,
    kind: impl AsRef<str>,
    client_id: &str,
    session_id: &str,
    payload: serde_json::Value,
    max_attempts: i32,
    run_at: chrono::DateTime<Utc>,
) -> AppResult<String> {
    let mut payload = match payload {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("value".to_string(), other)]),
    };
    payload.insert("client_id".into(), client_id.into());
    payload.insert("session_id".into(), session_id.into());
    let now = Utc::now();
    let id = new_id();
    job::Entity::insert(job::ActiveModel {
        id: Set(id.clone()),
        kind: Set(kind.as_ref().to_string()),
        payload: Set(serde_json::Value::Object(payload)),
        status: Set(status::QUEUED.to_string()),
        attempts: Set(0),
        max_attempts: Set(max_attempts.max(1)),
        run_at: Set(run_at),
        locked_by: Set(None),
        locked_until: Set(None),
        last_error: Set(None),
        session_id: Set(Some(session_id.to_string())),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    // The insert may not be committed yet; a woken worker that finds
    // nothing simply waits for the next poll.
    wake();
    Ok(id)
}

/// Number of jobs of a session that are still `queued` or `running`.
pub async fn pending_for_session(db: &impl ConnectionTrait, session_id: &str) -> AppResult<u64> {
    Ok(job::Entity::find()
        .filter(job::Column::SessionId.eq(session_id))
        .filter(job::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .count(db)
        .await?)
}

/// Polls until no `queued` or `running` job of the session remains (true)
/// or `timeout` passes (false). It runs nothing itself: see
/// [`settle_session`] for a wait that also makes progress. A job
/// waiting for its retry counts as remaining.
pub async fn wait_for_session(db: &DatabaseConnection, session_id: &str, timeout: Duration) -> AppResult<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if pending_for_session(db, session_id).await? == 0 {
            return Ok(true);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50).min(deadline - now)).await;
    }
}

/// Claims and runs due jobs until none is due; returns how many ran.
/// Safe to call from several tasks and processes at once.
pub async fn run_due_jobs_once(state: &AppState) -> AppResult<usize> {
    let worker = queue::worker_id();
    let mut ran = 0;
    while !state.shutdown.is_stopping()
        && let Some(job) = queue::claim_one(&state.db, &worker, queue::lock_duration(&state.config)).await?
    {
        queue::run_claimed(state, &worker, job).await?;
        ran += 1;
    }
    Ok(ran)
}

/// Claims and runs the due jobs of one session until none is due; returns
/// how many ran. Another session's jobs are never touched.
pub async fn run_due_for_session(state: &AppState, session_id: &str) -> AppResult<usize> {
    let worker = queue::worker_id();
    let mut ran = 0;
    while !state.shutdown.is_stopping()
        && let Some(job) =
            queue::claim_one_of_session(&state.db, &worker, queue::lock_duration(&state.config), session_id).await?
    {
        queue::run_claimed(state, &worker, job).await?;
        ran += 1;
    }
    Ok(ran)
}

/// Sessions whose jobs finalize runs itself at once, per process: beyond
/// this, a finalize only waits for the workers.
const FINALIZE_RUNNERS: usize = 2;
static FINALIZE_RUNNER_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(FINALIZE_RUNNERS);

/// What finalize does before it judges a session: the session's own due
/// jobs start running in the background of this process (so a queue full
/// of other sessions' work does not delay it, and a process without
/// workers still makes progress), and the call waits at most `timeout` for
/// them. `true` when no job of the session is left queued or running.
/// A job keeps running after a timeout; the next finalize finds it done.
pub async fn settle_session(state: &AppState, session_id: &str, timeout: Duration) -> AppResult<bool> {
    if pending_for_session(&state.db, session_id).await? == 0 {
        return Ok(true);
    }
    let (state_, session) = (state.clone(), session_id.to_string());
    tokio::spawn(async move {
        // Queued behind other finalizes of this process when all runners
        // are busy; a worker may take the jobs meanwhile.
        let Ok(_permit) = FINALIZE_RUNNER_PERMITS.acquire().await else { return };
        if let Err(e) = run_due_for_session(&state_, &session).await {
            tracing::warn!(session = %session, error = %e, "running a session's jobs for finalize failed");
        }
    });
    wait_for_session(&state.db, session_id, timeout).await
}

/// Starts `config.job_workers` worker loops in this process. Each stops
/// claiming once the process shuts down and ends after its current job;
/// the handles let the shutdown wait for that.
pub fn spawn_workers(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.config.job_workers)
        .map(|n| {
            let state = state.clone();
            tokio::spawn(async move {
                let poll = Duration::from_millis(state.config.job_poll_ms);
                tracing::debug!(worker = n, "job worker started");
                while !state.shutdown.is_stopping() {
                    if let Err(e) = run_due_jobs_once(&state).await {
                        tracing::warn!(error = %e, "job worker pass failed");
                    }
                    tokio::select! {
                        _ = WAKE.notified() => {
                            // Give the enqueuing transaction a moment to commit.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        _ = tokio::time::sleep(poll) => {}
                        _ = state.shutdown.stopped() => {}
                    }
                }
            })
        })
        .collect()
}
