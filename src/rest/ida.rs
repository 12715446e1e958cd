//! IDA (identity authentication), integrator side: create, list, read and
//! capture location of the sessions that re-authenticate a verified identity.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, rename_field};
use crate::rest::idv::{LocationRequest, LocationView};
use crate::service::history::{self, HistoryItem};
use crate::service::ida::{self, IdaSettings, ListFilter, NewIdaSession};
use crate::service::types::{CaptureType, LivenessMode, MetaCounts, OneOrMany, Page, SessionStatus, parse_date_bound};
use crate::service::webhooks::{UrlPolicy, WebhookUrl};
use crate::state::AppState;

pub const CREATE_PATH: &str = "/api/v1/ida/session/create";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(location))
}

fn url_policy(state: &AppState) -> UrlPolicy {
    UrlPolicy::for_config(&state.config)
}

#[derive(Deserialize, ToSchema)]
pub struct IdaSessionCreate {
    /// A verified identity of the caller's client.
    identity_id: String,
    /// Absolute http(s) URL (https only in production) for this session's events.
    #[serde(default)]
    webhook_url: Option<String>,
    /// `passive` (default) or `passive_active`.
    #[serde(default)]
    #[schema(value_type = Option<LivenessMode>)]
    liveness_mode: Option<String>,
    /// Free-form string pairs (at most 50 keys; keys 1–100, values ≤ 1000 characters); list filters match them exactly.
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    /// Both flags default to `true`.
    #[serde(default)]
    settings: Option<IdaSettings>,
}

#[derive(Serialize, ToSchema)]
pub struct IdaSessionCreated {
    session_id: String,
}

/// Creates an IDA session for a verified identity: the identity's names are
/// copied in and the weights in force are pinned (`idv_weights_id`).
/// Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/ida/session/create", tag = "ida sessions", request_body = IdaSessionCreate,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Replays the first response for the same key and body within 24 hours; another body is 422.")),
    responses((status = 200, body = IdaSessionCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown identity (or another client's)", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "the identity is not verified or was erased", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem,
            content_type = "application/problem+json")))]
async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdaSessionCreate>,
) -> AppResult<Json<IdaSessionCreated>> {
    let identity_id = body.identity_id.trim().to_string();
    if identity_id.is_empty() {
        return Err(AppError::validation("identity_id", "is required"));
    }
    let webhook_url = match body.webhook_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(raw) => Some(WebhookUrl::parse(raw, url_policy(&state)).map_err(|e| rename_field(e, "webhook_url"))?),
        None => None,
    };
    let liveness_mode = match body.liveness_mode.as_deref() {
        Some(raw) => LivenessMode::parse_field("liveness_mode", raw)?,
        None => LivenessMode::Passive,
    };
    let new = NewIdaSession {
        identity_id,
        webhook_url,
        liveness_mode,
        metadata: body.metadata.unwrap_or_default(),
        settings: body.settings.unwrap_or_default(),
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let session = ida::create(
        &txn,
        &caller.client_id,
        caller.user_id.as_deref(),
        new,
        state.config.session_ttl_hours,
        CREATE_PATH,
    )
    .await?;
    txn.commit().await?;
    Ok(Json(IdaSessionCreated { session_id: session.id }))
}

/// Every field is optional.
#[derive(Deserialize, ToSchema)]
pub struct IdaSessionListRequest {
    /// Rows per page: default 25, at most 500.
    take: Option<u64>,
    skip: Option<u64>,
    #[schema(value_type = Option<OneOrMany>)]
    identity_id: Option<OneOrMany>,
    /// Other clients: platform operator keys only (anyone else gets 404); defaults to the caller's client.
    #[schema(value_type = Option<OneOrMany>)]
    client_id: Option<OneOrMany>,
    #[schema(value_type = Option<OneOrMany>)]
    user_id: Option<OneOrMany>,
    /// Case-insensitive substring of a name, the session id, the identity id or a metadata value.
    search_term: Option<String>,
    /// `true`: authenticated sessions only; `false`: every other session.
    verified: Option<bool>,
    /// `unknown` filters nothing. An `in_progress` session past its time to live counts as `expired`.
    #[schema(value_type = Option<SessionStatus>)]
    status: Option<String>,
    /// Created at or after: RFC 3339, or `YYYY-MM-DD` (start of that day, UTC).
    start_date: Option<String>,
    /// Created at or before: RFC 3339, or `YYYY-MM-DD` (end of that day, UTC).
    end_date: Option<String>,
    /// Every given key must carry exactly the given value.
    metadata: Option<BTreeMap<String, String>>,
}

/// A session as lists show it.
#[derive(Serialize, ToSchema)]
pub struct IdaSessionItem {
    user_id: Option<String>,
    client_id: String,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    identity_id: String,
    session_id: String,
    idv_weights_id: String,
    status_e: SessionStatus,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    liveness_detected: bool,
    liveness_detected_at: Option<DateTime<Utc>>,
    selfie_given: bool,
    selfie_given_at: Option<DateTime<Utc>>,
    /// `false` until finalize decides.
    authenticated: bool,
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
}

impl IdaSessionItem {
    fn new(s: entity::ida_session::Model, now: DateTime<Utc>) -> Self {
        Self {
            status_e: ida::effective_status(&s, now),
            user_id: s.user_id,
            client_id: s.client_id,
            created_at: s.created_at,
            completed_at: s.completed_at,
            identity_id: s.identity_id,
            session_id: s.id,
            idv_weights_id: s.idv_weights_id,
            first_name: s.first_name,
            middle_name: s.middle_name,
            last_name: s.last_name,
            suffix_name: s.suffix_name,
            liveness_detected: s.liveness_detected,
            liveness_detected_at: s.liveness_detected_at,
            selfie_given: s.selfie_given,
            selfie_given_at: s.selfie_given_at,
            authenticated: s.authenticated.unwrap_or(false),
            metadata: s.metadata,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IdaSessionList {
    sessions: Vec<IdaSessionItem>,
    meta_counts: MetaCounts,
}


/// Lists IDA sessions, newest first; `meta_counts.total` counts every row
/// matching the filters.
#[utoipa::path(post, path = "/api/v1/ida/session/list", tag = "ida sessions", request_body = IdaSessionListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = IdaSessionList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "a client_id the caller may not read", body = Problem,
            content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdaSessionListRequest>,
) -> AppResult<Json<IdaSessionList>> {
    let page = Page::new(body.take, body.skip)?;
    let filter = ListFilter {
        client_ids: crate::rest::idv::list_clients(&state, &caller, body.client_id).await?,
        user_ids: body.user_id.map(OneOrMany::into_vec).unwrap_or_default(),
        identity_ids: body.identity_id.map(OneOrMany::into_vec).unwrap_or_default(),
        status: body.status.as_deref().map(|s| SessionStatus::parse_field("status", s)).transpose()?,
        verified: body.verified,
        search_term: body.search_term,
        start: parse_date_bound("start_date", body.start_date.as_deref(), false)?,
        end: parse_date_bound("end_date", body.end_date.as_deref(), true)?,
        metadata: body.metadata.unwrap_or_default().into_iter().collect(),
    };
    let now = Utc::now();
    let (rows, total) = ida::list(&state.db, &filter, page, now).await?;
    let sessions: Vec<IdaSessionItem> = rows.into_iter().map(|s| IdaSessionItem::new(s, now)).collect();
    let meta_counts = MetaCounts::new(page, sessions.len(), total);
    Ok(Json(IdaSessionList { sessions, meta_counts }))
}

#[derive(Deserialize, ToSchema)]
pub struct IdaSessionId {
    session_id: String,
}

/// A session with its settings and history.
#[derive(Serialize, ToSchema)]
pub struct IdaSessionView {
    session_id: String,
    user_id: Option<String>,
    client_id: String,
    idv_weights_id: String,
    status_e: SessionStatus,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    identity_id: String,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    liveness_detected: bool,
    liveness_detected_at: Option<DateTime<Utc>>,
    selfie_given: bool,
    selfie_given_at: Option<DateTime<Utc>>,
    /// `false` until finalize decides.
    authenticated: bool,
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
    webhook_url: Option<String>,
    settings: IdaSettings,
    /// Every state change and SDK step, oldest first.
    history: Vec<HistoryItem>,
}

/// Reads one session of the caller's client (another client's id is 404).
#[utoipa::path(post, path = "/api/v1/ida/session/read", tag = "ida sessions", request_body = IdaSessionId,
    security(("bearer" = [])),
    responses((status = 200, body = IdaSessionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdaSessionId>,
) -> AppResult<Json<IdaSessionView>> {
    let s = ida::find(&state.db, &caller.client_id, &body.session_id).await?;
    let history = history::list(&state.db, &caller.client_id, &s.id).await?;
    let settings = IdaSettings::of(&s);
    Ok(Json(IdaSessionView {
        status_e: ida::effective_status(&s, Utc::now()),
        session_id: s.id,
        user_id: s.user_id,
        client_id: s.client_id,
        idv_weights_id: s.idv_weights_id,
        created_at: s.created_at,
        completed_at: s.completed_at,
        identity_id: s.identity_id,
        first_name: s.first_name,
        middle_name: s.middle_name,
        last_name: s.last_name,
        suffix_name: s.suffix_name,
        liveness_detected: s.liveness_detected,
        liveness_detected_at: s.liveness_detected_at,
        selfie_given: s.selfie_given,
        selfie_given_at: s.selfie_given_at,
        authenticated: s.authenticated.unwrap_or(false),
        metadata: s.metadata,
        webhook_url: s.webhook_url,
        settings,
        history,
    }))
}

/// The newest capture location of a type in a session. IDA sessions capture
/// only `selfie_image_capture` (at liveness process); any type without a
/// capture is 404. IP geolocation and reverse geocoding are not performed
/// yet: those fields are `null`.
#[utoipa::path(post, path = "/api/v1/ida/session/location", tag = "ida sessions", request_body = LocationRequest,
    security(("bearer" = [])),
    responses((status = 200, body = LocationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session, or no capture of that type", body = Problem,
            content_type = "application/problem+json")))]
async fn location(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<LocationRequest>,
) -> AppResult<Json<LocationView>> {
    let capture_type = CaptureType::parse_field("location_capture_type_e", &body.location_capture_type_e)?;
    let found = ida::location(&state.db, &caller.client_id, &body.session_id, capture_type).await?;
    Ok(Json(found.into()))
}
