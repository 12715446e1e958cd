//! `Idempotency-Key` on creating POSTs (paths ending in `/create`).
//!
//! The key is scoped to the tenant of the Bearer key. The first request
//! claims `(client, key)` through the unique index with an in-progress row
//! (`response_status = 0`); it runs on its own task, so a client that hangs
//! up cannot leave a claim behind, and its answer is stored. Within 24 hours
//! the same key with the same request replays that answer; with another
//! request it is 422. A 5xx answer releases the claim so the client can retry.
//! A claim still in progress after `ABANDONED_AFTER_MINUTES` belongs to a
//! process that died mid-request (no create runs that long: request bodies
//! time out after two minutes): the next request with the key takes it over.
//! Stored answers are sealed with the master key: create answers carry
//! secrets (API keys, webhook signing secrets) that must not sit in clear.

use axum::body::{Body, Bytes};
use base64::Engine;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use entity::idempotency_key;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tracing::Instrument;

use crate::db::is_unique_violation;
use crate::error::{AppError, AppResult, FieldError, PROBLEM_JSON};
use crate::ids::{new_id, sha256_hex};
use crate::service::tenancy;
use crate::state::AppState;
use crate::storage::MasterKey;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
const MAX_KEY_LEN: usize = 255;
/// `response_status` of a claim whose request is still running.
const IN_PROGRESS: i32 = 0;
const RETENTION_HOURS: i64 = 24;
/// Age after which an in-progress claim is taken to be abandoned.
const ABANDONED_AFTER_MINUTES: i64 = 10;
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The middleware. Requests it does not apply to pass through untouched.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.uri().path().ends_with("/create") || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let client_id = match tenant(&state, req.headers()).await {
        Ok(Some(client_id)) => client_id,
        // No valid key: the handler answers 401.
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    match idempotent(state, client_id, req, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// The client of a valid Bearer key, if any.
async fn tenant(state: &AppState, headers: &HeaderMap) -> AppResult<Option<String>> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else { return Ok(None) };
    Ok(tenancy::authenticate_api_key(&state.db, token).await?.map(|(_, client)| client.id))
}

async fn idempotent(state: AppState, client_id: String, req: Request, next: Next) -> AppResult<Response> {
    let key = parse_key(req.headers().get(HEADER))?;
    let (parts, body) = req.into_parts();
    let body = read_body(body, state.config.max_body_bytes).await?;
    let request_hash = hash_request(parts.method.as_str(), parts.uri.path(), &body);
    let req = Request::from_parts(parts, Body::from(body));

    let claim_id = match claim(&state.db, &client_id, &key, &request_hash).await? {
        Claim::Claimed(id) => id,
        Claim::Completed(row) => return replay(state.storage.master_key(), &row),
    };
    // The handler runs to completion on its own task even if this request is
    // dropped (client gone), so the stored answer always matches what happened.
    let task = tokio::spawn(
        async move {
            match AssertUnwindSafe(next.run(req)).catch_unwind().await {
                Ok(response) => finish(&state, &claim_id, response).await,
                Err(_) => {
                    release(&state.db, &claim_id).await;
                    AppError::internal("handler panicked").into_response()
                }
            }
        }
        .instrument(tracing::Span::current()),
    );
    task.await.map_err(|e| AppError::internal(format!("idempotent request task failed: {e}")))
}

fn parse_key(value: Option<&HeaderValue>) -> AppResult<String> {
    let invalid = || AppError::validation(HEADER, "must be 1 to 255 visible ASCII characters");
    let key = value.ok_or_else(invalid)?.to_str().map_err(|_| invalid())?;
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LEN || !visible {
        return Err(invalid());
    }
    Ok(key.to_string())
}

async fn read_body(body: Body, limit: usize) -> AppResult<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(AppError::too_large("the request body is larger than the limit"))
        }
        Err(_) => Err(AppError::validation("body", "the request body could not be read")),
    }
}

fn hash_request(method: &str, path: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    data.extend_from_slice(method.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(path.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(body);
    sha256_hex(&data)
}

enum Claim {
    /// This request owns the key (the id of the in-progress row).
    Claimed(String),
    /// An earlier identical request finished; replay its answer.
    Completed(idempotency_key::Model),
}

/// Claims `(client_id, key)` or finds the earlier request's row, waiting
/// while that request is still running.
async fn claim(db: &DatabaseConnection, client_id: &str, key: &str, request_hash: &str) -> AppResult<Claim> {
    let started = Instant::now();
    loop {
        let id = new_id();
        let row = idempotency_key::ActiveModel {
            id: Set(id.clone()),
            client_id: Set(client_id.to_string()),
            key: Set(key.to_string()),
            request_hash: Set(request_hash.to_string()),
            response_status: Set(IN_PROGRESS),
            response_body: Set(String::new()),
            created_at: Set(Utc::now()),
        };
        match idempotency_key::Entity::insert(row).exec_without_returning(db).await {
            Ok(_) => return Ok(Claim::Claimed(id)),
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Someone holds the key: read (not write) until it is done or gone.
        loop {
            let Some(existing) = idempotency_key::Entity::find()
                .filter(idempotency_key::Column::ClientId.eq(client_id))
                .filter(idempotency_key::Column::Key.eq(key))
                .one(db)
                .await?
            else {
                break; // released or expired meanwhile: try to claim again
            };
            if existing.created_at < Utc::now() - Duration::hours(RETENTION_HOURS) {
                idempotency_key::Entity::delete_by_id(existing.id).exec(db).await?;
                break;
            }
            if existing.response_status == IN_PROGRESS
                && existing.created_at < Utc::now() - Duration::minutes(ABANDONED_AFTER_MINUTES)
            {
                // Only this row, and only while it is still unanswered: a
                // concurrent taker or a late answer wins over the delete.
                idempotency_key::Entity::delete_many()
                    .filter(idempotency_key::Column::Id.eq(existing.id))
                    .filter(idempotency_key::Column::ResponseStatus.eq(IN_PROGRESS))
                    .exec(db)
                    .await?;
                break;
            }
            if existing.request_hash != request_hash {
                return Err(AppError::Unprocessable {
                    detail: format!("{HEADER}: this key was already used with a different request"),
                    errors: vec![FieldError::new(HEADER, "was already used with a different request")],
                });
            }
            if existing.response_status != IN_PROGRESS {
                return Ok(Claim::Completed(existing));
            }
            if started.elapsed() >= MAX_WAIT {
                return Err(AppError::Conflict(format!(
                    "a request with this {HEADER} is still in progress; retry later"
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Stores the answer of a claimed request (or releases the claim on 5xx)
/// and returns the answer.
async fn finish(state: &AppState, claim_id: &str, response: Response) -> Response {
    let db = &state.db;
    let status = response.status();
    if status.is_server_error() {
        release(db, claim_id).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            release(db, claim_id).await;
            return AppError::internal(format!("reading the response body: {e}")).into_response();
        }
    };
    let stored = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::ResponseStatus, sea_orm::sea_query::Expr::value(i32::from(status.as_u16())))
        .col_expr(
            idempotency_key::Column::ResponseBody,
            sea_orm::sea_query::Expr::value(seal_body(state.storage.master_key(), claim_id, &bytes)),
        )
        .filter(idempotency_key::Column::Id.eq(claim_id))
        .exec(db)
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "storing an idempotent response failed; releasing the key");
        release(db, claim_id).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Deletes a claim so the key can be used again.
async fn release(db: &DatabaseConnection, claim_id: &str) {
    if let Err(e) = idempotency_key::Entity::delete_by_id(claim_id.to_string()).exec(db).await {
        tracing::warn!(error = %e, "releasing an idempotency key failed");
    }
}

fn body_context(claim_id: &str) -> Vec<u8> {
    crate::service::keys::idempotency_context(claim_id)
}

fn seal_body(master: &MasterKey, claim_id: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(master.seal(&body_context(claim_id), body))
}

fn open_body(master: &MasterKey, row: &idempotency_key::Model) -> AppResult<Vec<u8>> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&row.response_body)
        .map_err(|e| AppError::internal(format!("stored idempotent response is not base64: {e}")))?;
    master.open(&body_context(&row.id), &sealed).map_err(AppError::Internal)
}

/// The stored answer of the first request.
fn replay(master: &MasterKey, row: &idempotency_key::Model) -> AppResult<Response> {
    let body = open_body(master, row)?;
    let status = u16::try_from(row.response_status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Stored error answers are our problem documents; successes are JSON.
    let content_type = if status.is_client_error() { PROBLEM_JSON } else { "application/json" };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_visible_ascii() {
        assert_eq!(parse_key(Some(&HeaderValue::from_static("order-42_ok"))).unwrap(), "order-42_ok");
        let long = HeaderValue::from_str(&"k".repeat(256)).unwrap();
        for bad in [HeaderValue::from_static(""), HeaderValue::from_static("has space"), long] {
            let e = parse_key(Some(&bad)).unwrap_err();
            assert_eq!(e.field_errors()[0].field, HEADER);
        }
        assert!(parse_key(Some(&HeaderValue::from_str(&"k".repeat(255)).unwrap())).is_ok());
    }

    #[test]
    fn the_hash_covers_method_path_and_body() {
        let h = hash_request("POST", "/api/v1/webhook/create", b"{}");
        assert_eq!(h, hash_request("POST", "/api/v1/webhook/create", b"{}"));
        assert_ne!(h, hash_request("POST", "/api/v1/api-key/create", b"{}"));
        assert_ne!(h, hash_request("POST", "/api/v1/webhook/create", b"{ }"));
    }
}
