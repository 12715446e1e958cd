//! The webhook delivery log (every event sent or to be sent, with each
//! attempt), manual redelivery, and the signing secret of sessions' own
//! `webhook_url`s.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::outbox::{self, DeliveryFilter, DeliveryLog};
use crate::service::types::{MetaCounts, Page};
use crate::service::{audit, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(redeliver))
        .routes(routes!(redeliver_failed))
        .routes(routes!(session_secret))
}

fn actor(caller: &ApiCaller) -> audit::Actor {
    audit::Actor::ApiKey { client_id: caller.client_id.clone(), key_id: caller.key_id.clone() }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DeliveryListRequest {
    /// Another client (platform operator keys only); defaults to the caller's client.
    client_id: Option<String>,
    /// Only the deliveries to this registered endpoint.
    webhook_id: Option<String>,
    /// Only the events of this session.
    session_id: Option<String>,
    /// `pending`, `sending`, `delivered` or `failed`.
    status: Option<String>,
    /// e.g. `session.completed`.
    event_type: Option<String>,
    /// Rows per page: default 25, at most 500.
    take: Option<u64>,
    skip: Option<u64>,
}

/// One attempt to send a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; absent when no response came (refused, timeout, connection error).
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
}

/// One event for one target.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the `webhook-id` header, the same on every retry and redelivery.
    id: String,
    client_id: String,
    /// The registered endpoint; absent for a session's own `webhook_url` (or a deleted endpoint).
    webhook_id: Option<String>,
    target_url: String,
    event_type: String,
    session_id: Option<String>,
    /// Per-session sequence number of the event (0 for events outside sessions).
    sequence: i64,
    /// `pending`, `sending`, `delivered` or `failed`.
    status: String,
    /// Attempts in the current run (a redelivery starts a new run).
    attempts: i32,
    /// When the next attempt is due (`pending`), or the end of the current attempt's lease (`sending`).
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    /// The body sent, as JSON: `{type, timestamp, data}`.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    /// Every attempt, oldest first.
    attempt_log: Vec<AttemptView>,
}

impl From<DeliveryLog> for DeliveryView {
    fn from(log: DeliveryLog) -> Self {
        let d = log.delivery;
        Self {
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            id: d.id,
            client_id: d.client_id,
            webhook_id: d.webhook_id,
            target_url: d.target_url,
            event_type: d.event_type,
            session_id: d.session_id,
            sequence: d.sequence,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            attempt_log: log
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempted_at: a.attempted_at,
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryView>,
    meta_counts: MetaCounts,
}

const STATUSES: [&str; 4] = [outbox::status::PENDING, outbox::status::SENDING, outbox::status::DELIVERED, outbox::status::FAILED];

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The delivery log: a client's webhook deliveries, newest first, each with
/// every attempt (time, status code, latency, error).
#[utoipa::path(post, path = "/api/v1/webhook/delivery/list", tag = "webhooks", request_body = DeliveryListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = DeliveryList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<DeliveryListRequest>,
) -> AppResult<Json<DeliveryList>> {
    let page = Page::new(body.take, body.skip)?;
    let status = non_empty(body.status);
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(AppError::validation("status", "must be pending, sending, delivered or failed"));
    }
    let client_id =
        tenancy::resolve_client(&state.db, &caller.client_id, caller.is_platform, body.client_id.as_deref()).await?;
    let filter = DeliveryFilter {
        webhook_id: non_empty(body.webhook_id),
        session_id: non_empty(body.session_id),
        status,
        event_type: non_empty(body.event_type),
    };
    let (rows, total) = outbox::list_deliveries(&state.db, &client_id, filter, page).await?;
    let meta_counts = MetaCounts::new(page, rows.len(), total);
    Ok(Json(DeliveryList { deliveries: rows.into_iter().map(Into::into).collect(), meta_counts }))
}

#[derive(Deserialize, ToSchema)]
pub struct DeliveryId {
    id: String,
}

/// Sends one delivery again, with the same `webhook-id` and a fresh retry
/// schedule (delivered or failed ones alike). 409 while it is being sent or
/// when its endpoint is disabled or deleted.
#[utoipa::path(post, path = "/api/v1/webhook/delivery/redeliver", tag = "webhooks", request_body = DeliveryId,
    security(("bearer" = [])),
    responses((status = 200, body = DeliveryView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn redeliver(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<DeliveryId>,
) -> AppResult<Json<DeliveryView>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let delivery = outbox::redeliver(&txn, &caller.client_id, &body.id).await?;
    audit::record(&txn, &actor(&caller), "webhook.redeliver", Some(("webhook_delivery", &delivery.id)), ip, None).await?;
    txn.commit().await?;
    Ok(Json(DeliveryLog { delivery, attempts: Vec::new() }.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RedeliverFailed {
    /// Only this endpoint's failed deliveries; absent = every enabled endpoint and sessions' own URLs.
    webhook_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RedeliverFailedResult {
    /// Failed deliveries queued again.
    queued: u64,
}

/// Queues every `failed` delivery again (of enabled endpoints; disabled ones are skipped).
#[utoipa::path(post, path = "/api/v1/webhook/delivery/redeliver-failed", tag = "webhooks", request_body = RedeliverFailed,
    security(("bearer" = [])),
    responses((status = 200, body = RedeliverFailedResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn redeliver_failed(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<RedeliverFailed>,
) -> AppResult<Json<RedeliverFailedResult>> {
    let webhook_id = non_empty(body.webhook_id);
    let txn = crate::db::begin_write(&state.db).await?;
    let queued = outbox::redeliver_failed(&txn, &caller.client_id, webhook_id.as_deref()).await?;
    let detail = serde_json::json!({ "webhook_id": webhook_id, "queued": queued });
    audit::record(&txn, &actor(&caller), "webhook.redeliver_failed", None, ip, Some(detail)).await?;
    txn.commit().await?;
    Ok(Json(RedeliverFailedResult { queued }))
}

#[derive(Serialize, ToSchema)]
pub struct SessionUrlSecret {
    /// `whsec_…`: signs the deliveries to sessions' own `webhook_url` (registered endpoints use their own secrets).
    secret: String,
}

/// The signing secret of the deliveries sent to a session's `webhook_url`
/// (when that URL is not a registered endpoint). It is derived from the
/// server's master key and the client id, so it is stable.
#[utoipa::path(post, path = "/api/v1/webhook/session-secret", tag = "webhooks",
    security(("bearer" = [])),
    responses((status = 200, body = SessionUrlSecret),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn session_secret(State(state): State<AppState>, caller: ApiCaller) -> AppResult<Json<SessionUrlSecret>> {
    Ok(Json(SessionUrlSecret { secret: outbox::session_url_secret(state.storage.master_key(), &caller.client_id) }))
}
