//! IDV sessions, integrator side: create, list, read, capture location.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use entity::idv_session;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, AppJsonOrEmpty, rename_field};
use crate::engine::scoring::Decision;
use crate::service::history::{self, HistoryItem};
use crate::service::idv::{self, IdvSettings, ListFilter, NewSession};
use crate::service::types::{
    CaptureType, DmvStatus, DocumentType, Gender, LivenessMode, MetaCounts, OfacStatus, OneOrMany, Page, SessionStatus,
    parse_date_bound, validate_metadata,
};
use crate::service::webhooks::{UrlPolicy, WebhookUrl};
use crate::service::{capture, location, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(list)).routes(routes!(read)).routes(routes!(read_location))
}

pub(crate) fn url_policy(state: &AppState) -> UrlPolicy {
    UrlPolicy::for_config(&state.config)
}


/// Parses a string-valued metadata object (the session's `metadata`).
pub(crate) fn string_metadata(
    field: &str,
    map: Option<serde_json::Map<String, serde_json::Value>>,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    let map = map.unwrap_or_default();
    validate_metadata(field, &map)?;
    for (k, v) in &map {
        if !v.is_string() {
            return Err(crate::error::AppError::validation(format!("{field}.{k}"), "metadata values must be strings"));
        }
    }
    Ok(map)
}

#[derive(Deserialize, ToSchema)]
pub struct SessionCreate {
    /// String key/value pairs, searchable and filterable on list.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// `passive` (default) or `passive_active`.
    #[schema(value_type = Option<LivenessMode>)]
    liveness_mode: Option<String>,
    /// Where this session's events are sent (https only in production).
    webhook_url: Option<String>,
    settings: Option<IdvSettings>,
    /// Also mint a link to the hosted capture page (`capture_url` in the answer); `{}` takes the defaults.
    capture_link: Option<crate::rest::capture::CaptureLinkOptions>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    session_id: String,
    /// The hosted capture page of this session, when `capture_link` was asked for. Shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_link_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_expires_at: Option<DateTime<Utc>>,
}

/// Creates an IDV session pinned to the weights version in force. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/idv/session/create", tag = "idv sessions", request_body = SessionCreate,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Replays the first response for the same key and body within 24 hours; another body is 422.")),
    responses((status = 200, body = SessionCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: axum::http::HeaderMap,
    AppJsonOrEmpty(body): AppJsonOrEmpty<SessionCreate>,
) -> AppResult<Json<SessionCreated>> {
    let metadata = string_metadata("metadata", body.metadata)?;
    let liveness_mode = match body.liveness_mode.as_deref() {
        None => LivenessMode::Passive,
        Some(s) => LivenessMode::parse_field("liveness_mode", s)?,
    };
    let webhook_url = match body.webhook_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(u) => Some(WebhookUrl::parse(u, url_policy(&state)).map_err(|e| rename_field(e, "webhook_url"))?),
    };
    let capture_link = body.capture_link.as_ref().map(|o| o.validated()).transpose()?;
    let new = NewSession { metadata, liveness_mode, webhook_url, settings: body.settings.unwrap_or_default() };
    // One transaction: the session, its metadata rows, history and outbox.
    let txn = crate::db::begin_write(&state.db).await?;
    let session = idv::create(
        &txn,
        &caller.client_id,
        caller.user_id.as_deref(),
        new,
        state.config.session_ttl_hours,
        "/api/v1/idv/session/create",
    )
    .await?;
    let minted = match capture_link {
        Some(link) => Some(capture::mint(&txn, &session, link, "/api/v1/idv/session/create", Utc::now()).await?),
        None => None,
    };
    txn.commit().await?;
    let link = minted.map(|m| crate::rest::capture::CaptureLink::new(&crate::rest::capture::public_base(&state, &headers), m));
    Ok(Json(SessionCreated {
        session_id: session.id,
        capture_url: link.as_ref().map(|l| l.capture_url.clone()),
        capture_link_id: link.as_ref().map(|l| l.capture_link_id.clone()),
        capture_expires_at: link.map(|l| l.expires_at),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SessionListRequest {
    /// Rows per page: default 25, at most 500.
    take: Option<u64>,
    skip: Option<u64>,
    /// Words, each the start of a name (as given or read from the document), the session, identity or user id, or a
    /// metadata or SDK metadata value (case-insensitive); or a whole document number (letters and digits, separators
    /// ignored). The dashboard's search, answered from the same index.
    search_term: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    start_date: Option<String>,
    /// Created at or before (RFC 3339 or YYYY-MM-DD, the whole day).
    end_date: Option<String>,
    /// Every given key must match exactly.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    identity_id: Option<OneOrMany>,
    status: Option<String>,
    /// Other clients: platform operator keys only.
    client_id: Option<OneOrMany>,
    user_id: Option<OneOrMany>,
    /// `true`: only sessions the verdict policy sent to review (the queue to
    /// hold users for); `false`: only the others.
    review_required: Option<bool>,
}

/// One session as the list and read endpoints show it.
#[derive(Serialize, ToSchema)]
pub struct SessionSummary {
    session_id: String,
    user_id: Option<String>,
    client_id: String,
    idv_weights_id: String,
    status_e: SessionStatus,
    document_type_e: DocumentType,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    gender_e: Gender,
    birth_date: Option<String>,
    consented: bool,
    consented_at: Option<DateTime<Utc>>,
    document_front_given: bool,
    document_front_given_at: Option<DateTime<Utc>>,
    document_back_given: bool,
    document_back_given_at: Option<DateTime<Utc>>,
    liveness_detected: bool,
    liveness_detected_at: Option<DateTime<Utc>>,
    selfie_given: bool,
    selfie_given_at: Option<DateTime<Utc>>,
    ofac_status_e: OfacStatus,
    ofac_detected_at: Option<DateTime<Utc>>,
    dmv_status_e: DmvStatus,
    dmv_detected_at: Option<DateTime<Utc>>,
    /// `null` until finalize.
    verified: Option<bool>,
    verified_at: Option<DateTime<Utc>>,
    /// Weighted mean (0..1) of the checks that ran; `null` until finalize or when none ran.
    score: Option<f64>,
    /// The integrator's verdict policy sent the session to review:
    /// `verified` is false and the user should be held until a person
    /// decided; see docs/scoring.md.
    review_required: bool,
    /// `verified`, `needs_review` or `rejected` once the session is
    /// complete; `null` before.
    decision: Option<Decision>,
    identity_id: Option<String>,
    #[schema(value_type = std::collections::HashMap<String, String>)]
    metadata: serde_json::Value,
}

impl From<&idv_session::Model> for SessionSummary {
    fn from(s: &idv_session::Model) -> Self {
        Self {
            session_id: s.id.clone(),
            user_id: s.user_id.clone(),
            client_id: s.client_id.clone(),
            idv_weights_id: s.idv_weights_id.clone(),
            status_e: idv::effective_status(&s, chrono::Utc::now()),
            document_type_e: DocumentType::from_db(&s.document_type),
            created_at: s.created_at,
            completed_at: s.completed_at,
            first_name: s.first_name.clone(),
            middle_name: s.middle_name.clone(),
            last_name: s.last_name.clone(),
            suffix_name: s.suffix_name.clone(),
            gender_e: Gender::from_db(&s.gender),
            birth_date: s.birth_date.clone(),
            consented: s.consented,
            consented_at: s.consented_at,
            document_front_given: s.document_front_given,
            document_front_given_at: s.document_front_given_at,
            document_back_given: s.document_back_given,
            document_back_given_at: s.document_back_given_at,
            liveness_detected: s.liveness_detected,
            liveness_detected_at: s.liveness_detected_at,
            selfie_given: s.selfie_given,
            selfie_given_at: s.selfie_given_at,
            ofac_status_e: OfacStatus::from_db(&s.ofac_status),
            ofac_detected_at: s.ofac_detected_at,
            dmv_status_e: DmvStatus::from_db(&s.dmv_status),
            dmv_detected_at: s.dmv_detected_at,
            verified: s.verified,
            verified_at: s.verified_at,
            score: s.score,
            review_required: s.review_required,
            decision: (s.status == SessionStatus::Complete.as_str()).then(|| crate::service::finalize::stored_verdict(s).decision),
            identity_id: s.identity_id.clone(),
            metadata: s.metadata.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionSummary>,
    meta_counts: MetaCounts,
}

/// The client ids a list may read: the caller's, or (platform keys) the given ones.
pub(crate) async fn list_clients(state: &AppState, caller: &ApiCaller, requested: Option<OneOrMany>) -> AppResult<Vec<String>> {
    let requested = requested.map(OneOrMany::into_vec).unwrap_or_default();
    tenancy::list_clients(&state.db, &caller.client_id, caller.is_platform, requested).await
}

/// Lists sessions, newest first, with the real total in `meta_counts`.
#[utoipa::path(post, path = "/api/v1/idv/session/list", tag = "idv sessions", request_body = SessionListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = SessionList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJsonOrEmpty(body): AppJsonOrEmpty<SessionListRequest>,
) -> AppResult<Json<SessionList>> {
    let page = Page::new(body.take, body.skip)?;
    let metadata = string_metadata("metadata", body.metadata)?
        .into_iter()
        .map(|(k, v)| (k, crate::service::types::metadata_value_text(&v)))
        .collect();
    let filter = ListFilter {
        client_ids: list_clients(&state, &caller, body.client_id).await?,
        user_ids: body.user_id.map(OneOrMany::into_vec).unwrap_or_default(),
        identity_ids: body.identity_id.map(OneOrMany::into_vec).unwrap_or_default(),
        status: body.status.as_deref().map(|s| SessionStatus::parse_field("status", s)).transpose()?,
        search_term: body.search_term,
        start: parse_date_bound("start_date", body.start_date.as_deref(), false)?,
        end: parse_date_bound("end_date", body.end_date.as_deref(), true)?,
        metadata,
        review_required: body.review_required,
    };
    let (rows, total) = idv::list(&state.db, &filter, page).await?;
    let sessions: Vec<SessionSummary> = rows.iter().map(SessionSummary::from).collect();
    let meta_counts = MetaCounts::new(page, sessions.len(), total);
    Ok(Json(SessionList { sessions, meta_counts }))
}

#[derive(Deserialize, ToSchema)]
pub struct SessionIdRequest {
    pub session_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    summary: SessionSummary,
    webhook_url: Option<String>,
    settings: IdvSettings,
    history: Vec<HistoryItem>,
    /// Why the verdict is what it is, in order of
    /// decisiveness: knock-outs, then review triggers, then the score (the
    /// threshold first when it decided, then failed checks by the share of
    /// the score they cost). Each reason: `{check, code, message, effect
    /// (knock_out | review | score), decisive, rule, value, threshold,
    /// threshold_name, weight}`; `null` until finalize.
    #[schema(value_type = Option<Vec<Object>>)]
    reasons: Option<serde_json::Value>,
}

/// Reads one session with its settings and history.
#[utoipa::path(post, path = "/api/v1/idv/session/read", tag = "idv sessions", request_body = SessionIdRequest,
    security(("bearer" = [])),
    responses((status = 200, body = SessionDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<SessionIdRequest>,
) -> AppResult<Json<SessionDetail>> {
    let s = idv::find(&state.db, &caller.client_id, &body.session_id).await?;
    let history = history::list(&state.db, &s.client_id, &s.id).await?;
    Ok(Json(SessionDetail {
        summary: SessionSummary::from(&s),
        webhook_url: s.webhook_url.clone(),
        settings: IdvSettings::of(&s),
        history,
        reasons: s.reasons.clone(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct LocationRequest {
    pub session_id: String,
    #[schema(value_type = CaptureType)]
    pub location_capture_type_e: String,
}

/// Where a capture came from. IP geolocation and reverse geocoding are not
/// configured, so those fields are `null`.
#[derive(Serialize, ToSchema)]
pub struct LocationView {
    ip_address: Option<String>,
    ip_latitude: Option<f64>,
    ip_longitude: Option<f64>,
    ip_country: Option<String>,
    ip_region: Option<String>,
    ip_city: Option<String>,
    device_location: Option<String>,
    device_latitude: Option<f64>,
    device_longitude: Option<f64>,
    device_country_name: Option<String>,
    device_country_code: Option<String>,
    device_admin_area: Option<String>,
    device_sub_admin_area: Option<String>,
    device_locality: Option<String>,
}

impl From<entity::capture_location::Model> for LocationView {
    fn from(c: entity::capture_location::Model) -> Self {
        Self {
            ip_address: c.ip_address,
            ip_latitude: c.ip_latitude,
            ip_longitude: c.ip_longitude,
            ip_country: c.ip_country,
            ip_region: c.ip_region,
            ip_city: c.ip_city,
            device_location: c.device_location,
            device_latitude: c.device_latitude,
            device_longitude: c.device_longitude,
            device_country_name: c.device_country_name,
            device_country_code: c.device_country_code,
            device_admin_area: c.device_admin_area,
            device_sub_admin_area: c.device_sub_admin_area,
            device_locality: c.device_locality,
        }
    }
}

/// The newest capture of that type; 404 when the session has none.
pub(crate) async fn location_of(state: &AppState, client_id: &str, session_id: &str, raw_type: &str) -> AppResult<LocationView> {
    let capture_type = CaptureType::parse_field("location_capture_type_e", raw_type)?;
    location::latest(&state.db, client_id, session_id, capture_type)
        .await?
        .map(LocationView::from)
        .ok_or_else(|| crate::error::AppError::not_found("capture location"))
}

/// The client IP and device position recorded for a capture.
#[utoipa::path(post, path = "/api/v1/idv/session/location", tag = "idv sessions", request_body = LocationRequest,
    security(("bearer" = [])),
    responses((status = 200, body = LocationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session or no capture of that type", body = Problem,
            content_type = "application/problem+json")))]
async fn read_location(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<LocationRequest>,
) -> AppResult<Json<LocationView>> {
    let s = idv::find(&state.db, &caller.client_id, &body.session_id).await?;
    Ok(Json(location_of(&state, &s.client_id, &s.id, &body.location_capture_type_e).await?))
}
