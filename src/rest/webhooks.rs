//! Webhook endpoints: create and list, plus update, delete,
//! secret rotation and test events.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::types::{Empty, Page};
use crate::service::webhooks::{self, Overlap, UrlPolicy, WebhookChanges, WebhookName, WebhookUrl};
use crate::service::{audit, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(update))
        .routes(routes!(delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(test))
}

/// The client a request acts for (see [`tenancy::resolve_client`]).
async fn target_client(state: &AppState, caller: &ApiCaller, requested: Option<&str>) -> AppResult<String> {
    tenancy::resolve_client(&state.db, &caller.client_id, caller.is_platform, requested).await
}

fn url_policy(state: &AppState) -> UrlPolicy {
    UrlPolicy::for_config(&state.config)
}

fn actor(caller: &ApiCaller) -> audit::Actor {
    audit::Actor::ApiKey { client_id: caller.client_id.clone(), key_id: caller.key_id.clone() }
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookCreate {
    /// Another client (platform operator keys only); defaults to the caller's client.
    #[serde(default)]
    client_id: Option<String>,
    /// 1 to 200 characters.
    name: String,
    /// Absolute http(s) URL (https only in production), at most 2048 characters, no user name or password.
    url: String,
}

/// The documented `{}` plus the new endpoint's id and signing secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    id: String,
    /// `whsec_` + base64 of 24 random bytes. Shown only here and on rotation; stored encrypted.
    secret: String,
}

/// Creates an enabled webhook endpoint. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/webhook/create", tag = "webhooks", request_body = WebhookCreate,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Replays the first response for the same key and body within 24 hours; another body is 422.")),
    responses((status = 200, body = WebhookCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem,
            content_type = "application/problem+json")))]
async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<WebhookCreate>,
) -> AppResult<Json<WebhookCreated>> {
    let name = WebhookName::parse(&body.name)?;
    let url = WebhookUrl::parse(&body.url, url_policy(&state))?;
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let created = webhooks::create(&txn, state.storage.master_key(), &client_id, name, url).await?;
    let detail = serde_json::json!({ "client_id": client_id });
    audit::record(&txn, &actor(&caller), "webhook.create", Some(("webhook", &created.model.id)), ip, Some(detail))
        .await?;
    txn.commit().await?;
    Ok(Json(WebhookCreated { id: created.model.id, secret: created.secret }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct WebhookListRequest {
    /// Another client (platform operator keys only); defaults to the caller's client.
    client_id: Option<String>,
    /// Rows per page: default 25, at most 500.
    take: Option<u64>,
    skip: Option<u64>,
    /// Case-insensitive substring of the name or the URL.
    search_term: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookListItem {
    id: String,
    client_id: String,
    name: String,
    url: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookStatistics {
    /// Rows matching the filters.
    total_rows: u64,
    /// 1-based page of `skip` at `take` rows per page.
    current_page: u64,
    total_pages: u64,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookListItem>,
    statistics: WebhookStatistics,
}

impl WebhookStatistics {
    fn new(page: Page, total_rows: u64) -> Self {
        Self { total_rows, current_page: page.skip / page.take + 1, total_pages: total_rows.div_ceil(page.take) }
    }
}

/// Lists a client's webhook endpoints, newest first (never the secrets).
#[utoipa::path(post, path = "/api/v1/webhook/list", tag = "webhooks", request_body = WebhookListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = WebhookList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<WebhookListRequest>,
) -> AppResult<Json<WebhookList>> {
    let page = Page::new(body.take, body.skip)?;
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let (rows, total) = webhooks::list(&state.db, &client_id, page, body.search_term.as_deref()).await?;
    let webhooks = rows
        .into_iter()
        .map(|w| WebhookListItem { id: w.id, client_id: w.client_id, name: w.name, url: w.url })
        .collect();
    Ok(Json(WebhookList { webhooks, statistics: WebhookStatistics::new(page, total) }))
}

/// A webhook endpoint (never its secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    id: String,
    client_id: String,
    name: String,
    url: String,
    enabled: bool,
    /// Why the endpoint is disabled, when it is.
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<entity::webhook::Model> for WebhookView {
    fn from(w: entity::webhook::Model) -> Self {
        Self {
            id: w.id,
            client_id: w.client_id,
            name: w.name,
            url: w.url,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookUpdate {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// `false` disables the endpoint (no deliveries); `true` re-enables it and clears `disabled_reason`.
    #[serde(default)]
    enabled: Option<bool>,
}

/// Changes a webhook endpoint of the caller's client; absent fields stay as they are.
#[utoipa::path(post, path = "/api/v1/webhook/update", tag = "webhooks", request_body = WebhookUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = WebhookView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<WebhookUpdate>,
) -> AppResult<Json<WebhookView>> {
    let changes = WebhookChanges {
        name: body.name.as_deref().map(WebhookName::parse).transpose()?,
        url: body.url.as_deref().map(|u| WebhookUrl::parse(u, url_policy(&state))).transpose()?,
        enabled: body.enabled,
    };
    let detail = serde_json::json!({ "fields": changes.field_names() });
    let txn = crate::db::begin_write(&state.db).await?;
    let updated = webhooks::update(&txn, &caller.client_id, &body.id, changes).await?;
    audit::record(&txn, &actor(&caller), "webhook.update", Some(("webhook", &updated.id)), ip, Some(detail)).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookId {
    id: String,
}

/// Deletes a webhook endpoint of the caller's client; its delivery history is kept.
#[utoipa::path(post, path = "/api/v1/webhook/delete", tag = "webhooks", request_body = WebhookId,
    security(("bearer" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<WebhookId>,
) -> AppResult<Json<Empty>> {
    let txn = crate::db::begin_write(&state.db).await?;
    webhooks::delete(&txn, &caller.client_id, &body.id).await?;
    audit::record(&txn, &actor(&caller), "webhook.delete", Some(("webhook", &body.id)), ip, None).await?;
    txn.commit().await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookRotateSecret {
    id: String,
    /// Hours the old secret stays valid: default 24, at most 168; 0 retires it at once.
    #[serde(default)]
    overlap_hours: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookSecret {
    /// The new secret, shown once.
    secret: String,
}

/// Replaces the signing secret. During the overlap deliveries are signed
/// with both the new and the old secret, so receivers can switch without
/// dropping events.
#[utoipa::path(post, path = "/api/v1/webhook/rotate-secret", tag = "webhooks", request_body = WebhookRotateSecret,
    security(("bearer" = [])),
    responses((status = 200, body = WebhookSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<WebhookRotateSecret>,
) -> AppResult<Json<WebhookSecret>> {
    let overlap = Overlap::hours(body.overlap_hours)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let (hook, secret) =
        webhooks::rotate_secret(&txn, state.storage.master_key(), &caller.client_id, &body.id, overlap).await?;
    let detail = serde_json::json!({ "previous_secret_expires_at": hook.previous_secret_expires_at });
    audit::record(&txn, &actor(&caller), "webhook.rotate_secret", Some(("webhook", &hook.id)), ip, Some(detail))
        .await?;
    txn.commit().await?;
    Ok(Json(WebhookSecret { secret }))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookTestQueued {
    /// The outbox row; also the delivery's `webhook-id`.
    delivery_id: String,
}

/// Queues a `webhook.test` event (`{"type":"webhook.test","timestamp":…,"data":{"webhook_id":…}}`)
/// for the endpoint. This writes the outbox row; the delivery workers send
/// it, signed like every event (see the delivery log,
/// `/api/v1/webhook/delivery/list`). A disabled endpoint is 409.
#[utoipa::path(post, path = "/api/v1/webhook/test", tag = "webhooks", request_body = WebhookId,
    security(("bearer" = [])),
    responses((status = 200, body = WebhookTestQueued),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the webhook is disabled", body = Problem,
            content_type = "application/problem+json")))]
async fn test(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<WebhookId>,
) -> AppResult<Json<WebhookTestQueued>> {
    let delivery = webhooks::queue_test_event(&state.db, &caller.client_id, &body.id).await?;
    Ok(Json(WebhookTestQueued { delivery_id: delivery.id }))
}
