//! `dmv_retry`: asks the DMV again for a session finalized while the DMV
//! could not answer (`aamva_retry_e = retry`, status `temporarily_complete`).
//!
//! Each attempt is one DMV call: an answer settles the session
//! ([`crate::service::finalize::retry_dmv`]); no answer is a job failure,
//! retried after `dmv_retry_base_ms · 2^(attempt-1)` (with jitter, at most
//! 10 minutes). After `dmv_retry_attempts` the check is recorded
//! `unavailable` and the session completed with what it has.

use serde::Deserialize;

use std::time::Duration;

use crate::error::{AppError, AppResult};
use crate::jobs::Handler;
use crate::service::finalize;
use crate::state::AppState;

/// The job handler of `dmv_retry`.
pub const HANDLER: Handler = Handler {
    run: |state, job| Box::pin(run(state, &job.payload)),
    give_up: |state, job, attempts| Box::pin(give_up(state, &job.payload, attempts)),
    retry_base: |c| Duration::from_millis(c.dmv_retry_base_ms),
};

#[derive(Debug, Deserialize)]
struct Payload {
    client_id: String,
    session_id: String,
}

fn parse(payload: &serde_json::Value) -> AppResult<Payload> {
    serde_json::from_value(payload.clone()).map_err(|e| AppError::internal(format!("invalid dmv_retry payload: {e}")))
}

pub async fn run(state: &AppState, payload: &serde_json::Value) -> AppResult<()> {
    let p = parse(payload)?;
    finalize::retry_dmv(state, &p.client_id, &p.session_id).await
}

pub async fn give_up(state: &AppState, payload: &serde_json::Value, attempts: i32) -> AppResult<()> {
    let p = parse(payload)?;
    finalize::give_up_dmv(state, &p.client_id, &p.session_id, attempts).await
}
