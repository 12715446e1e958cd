//! The background work of a server process, in one place: which job kinds
//! exist and which handler runs each (the queue in [`crate::jobs`] knows
//! none of them), and the loops a `tessera serve` process starts beside the
//! HTTP server: job workers, webhook delivery workers, the sanctions
//! refresh and version watch, the expiry and orphan sweepers, and the
//! clean-up of login sessions and throttle counters.
//!
//! A new job kind: add it to [`crate::domain::JobKind`], write its handler
//! next to the domain code it serves (a `pub const HANDLER: jobs::Handler`
//! in `service/<area>.rs`), and register it in [`install`].

use std::time::Duration;

use crate::auth::store::DbSessionStore;
use crate::domain::JobKind;
use crate::jobs;
use crate::service;
use crate::state::AppState;

/// Registers every job kind's handler with the queue (idempotent).
pub fn install() {
    jobs::install([
        (JobKind::AnalyzeDocumentFront.as_str(), service::analysis::HANDLER),
        (JobKind::AnalyzeDocumentBack.as_str(), service::analysis::HANDLER),
        (JobKind::AnalyzeLiveness.as_str(), service::analysis::HANDLER),
        (JobKind::AnalyzeIdaLiveness.as_str(), service::analysis::HANDLER),
        (JobKind::DmvRetry.as_str(), service::dmv_retry::HANDLER),
    ]);
}

/// Shutdown: the job and delivery workers finish their current job or
/// attempt for at most `shutdown_grace_secs`; jobs still held after that
/// go back to the queue for another process.
pub async fn finish(state: &AppState, workers: Vec<tokio::task::JoinHandle<()>>) {
    state.shutdown.begin();
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    if tokio::time::timeout(grace, futures::future::join_all(workers)).await.is_err() {
        tracing::warn!(grace_secs = grace.as_secs(), "background work still running at the end of the shutdown grace");
    }
    match jobs::queue::release_claimed(&state.db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "released unfinished jobs to the queue"),
        Err(e) => tracing::warn!(error = %e, "releasing unfinished jobs failed; they are reclaimed after job_lock_secs"),
    }
}

/// Starts the background work of a server process; returns the job and
/// delivery workers, which a shutdown waits for.
pub fn spawn(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut workers = jobs::spawn_workers(state);
    service::sanctions::spawn_refresh(state);
    service::sanctions::spawn_version_watch(state);
    workers.extend(service::delivery::spawn_workers(state));
    service::lifecycle::spawn_sweeper(state.db.clone(), state.config.sweep_interval_secs);
    crate::db::spawn_optimizer(state.db.clone());
    if state.config.sweep_interval_secs > 0 {
        service::orphans::spawn_sweeper(state);
    }
    let store = DbSessionStore::new(state.db.clone());
    let throttle_db = state.db.clone();
    let throttle_window = state.config.login_window_secs;
    tokio::spawn(async move {
        use tower_sessions::session_store::ExpiredDeletion;
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired login sessions failed");
            }
            if let Err(e) = service::login_throttle::delete_stale(&throttle_db, throttle_window).await {
                tracing::warn!(error = %e, "deleting stale login counters failed");
            }
            if let Err(e) = service::screening::delete_stale_search_counters(&throttle_db).await {
                tracing::warn!(error = %e, "deleting stale search counters failed");
            }
        }
    });
    workers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_has_a_handler() {
        install();
        for kind in JobKind::ALL {
            assert!(jobs::handler(kind.as_str()).is_some(), "{kind} has no handler");
        }
        assert_eq!(jobs::registered_kinds().len(), JobKind::ALL.len());
    }
}
