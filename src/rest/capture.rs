//! The hosted capture page: capture links (integrator side, Bearer), the
//! page settings of a client, and the calls only the page makes with its
//! `X-Capture-Token` (start, progress, handoff to a phone).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::auth::sdk::SdkCaller;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, AppJsonOrEmpty};
use crate::service::capture::{self, CaptureSettings, DocumentFeedback, LinkOrigin, LinkState, NewLink, Progress};
use crate::service::idv;
use crate::service::types::LivenessMode;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(link_create))
        .routes(routes!(link_revoke))
        .routes(routes!(settings_read))
        .routes(routes!(settings_update))
        .routes(routes!(page_start))
        .routes(routes!(page_status))
        .routes(routes!(page_handoff))
}

/// The origin capture URLs start with: `public_url` when configured, else
/// the host the request came to (what the caller can reach).
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state.config.public_url.as_deref().filter(|u| !u.trim().is_empty()) {
        return url.trim_end_matches('/').to_string();
    }
    match headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).filter(|h| valid_host(h)) {
        Some(host) => format!("http://{host}"),
        None => state.config.public_url(),
    }
}

fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Asks for a capture link (session create's `capture_link`, or the mint endpoint).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CaptureLinkOptions {
    /// Minutes the link works, 1..1440 (default 60); never beyond the session's own expiry.
    #[schema(example = 30)]
    ttl_minutes: Option<u32>,
    /// Where the page sends the user when done (overrides the client's capture settings).
    #[schema(example = "https://shop.example/kyc/done")]
    redirect_url: Option<String>,
}

impl CaptureLinkOptions {
    pub fn validated(&self) -> AppResult<NewLink> {
        NewLink::from_request(self.ttl_minutes, self.redirect_url.as_deref()).map_err(|e| {
            let field = format!("capture_link.{}", first_field(&e));
            crate::rest::extract::rename_field(e, &field)
        })
    }
}

fn first_field(e: &AppError) -> String {
    e.field_errors().first().map(|f| f.field.clone()).unwrap_or_else(|| "capture_link".into())
}

#[derive(Serialize, ToSchema)]
pub struct CaptureLink {
    pub(crate) capture_link_id: String,
    /// `{public_url}/verify/{token}`: send it to the user (e-mail, SMS, a button). Shown once.
    pub(crate) capture_url: String,
    pub(crate) expires_at: DateTime<Utc>,
}

impl CaptureLink {
    pub fn new(base: &str, minted: capture::MintedLink) -> Self {
        Self { capture_link_id: minted.id, capture_url: capture::capture_url(base, &minted.token), expires_at: minted.expires_at }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureLinkCreate {
    session_id: String,
    /// Minutes the link works, 1..1440 (default 60); never beyond the session's own expiry.
    #[schema(example = 30)]
    ttl_minutes: Option<u32>,
    /// Where the page sends the user when done (overrides the client's capture settings).
    #[schema(example = "https://shop.example/kyc/done")]
    redirect_url: Option<String>,
}

/// Mints a new capture link to an open session (earlier links keep working until they expire or are revoked).
#[utoipa::path(post, path = "/api/v1/idv/session/capture-link/create", tag = "capture page", request_body = CaptureLinkCreate,
    security(("bearer" = [])),
    responses((status = 200, body = CaptureLink),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the session is finalized, expired or blocked", body = Problem,
            content_type = "application/problem+json")))]
async fn link_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    AppJson(body): AppJson<CaptureLinkCreate>,
) -> AppResult<Json<CaptureLink>> {
    let new = NewLink::from_request(body.ttl_minutes, body.redirect_url.as_deref())?;
    let txn = crate::db::begin_write(&state.db).await?;
    let session = idv::find(&txn, &caller.client_id, &body.session_id).await?;
    let minted = capture::mint(&txn, &session, new, "/api/v1/idv/session/capture-link/create", Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(CaptureLink::new(&public_base(&state, &headers), minted)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureLinkRevoke {
    session_id: String,
    /// One link; absent: every link of the session.
    capture_link_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CaptureLinksRevoked {
    /// Links revoked by this call (already revoked ones are not counted).
    revoked: u64,
}

/// Revokes a capture link (or all of a session's): the page and its API calls stop working at once.
#[utoipa::path(post, path = "/api/v1/idv/session/capture-link/revoke", tag = "capture page", request_body = CaptureLinkRevoke,
    security(("bearer" = [])),
    responses((status = 200, body = CaptureLinksRevoked),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn link_revoke(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<CaptureLinkRevoke>,
) -> AppResult<Json<CaptureLinksRevoked>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let session = idv::find(&txn, &caller.client_id, &body.session_id).await?;
    let endpoint = "/api/v1/idv/session/capture-link/revoke";
    let revoked =
        capture::revoke(&txn, &session.client_id, &session.id, body.capture_link_id.as_deref(), endpoint, Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(CaptureLinksRevoked { revoked }))
}

/// The capture page settings of the caller's client.
#[utoipa::path(get, path = "/api/v1/capture/settings", tag = "capture page",
    security(("bearer" = [])),
    responses((status = 200, body = CaptureSettings),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn settings_read(State(state): State<AppState>, caller: ApiCaller) -> AppResult<Json<CaptureSettings>> {
    Ok(Json(capture::settings(&state.db, &caller.client_id).await?))
}

/// Replaces the capture page settings of the caller's client (admin keys).
#[utoipa::path(post, path = "/api/v1/capture/settings/update", tag = "capture page", request_body = CaptureSettings,
    security(("bearer" = [])),
    responses((status = 200, body = CaptureSettings),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn settings_update(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJsonOrEmpty(body): AppJsonOrEmpty<CaptureSettings>,
) -> AppResult<Json<CaptureSettings>> {
    Ok(Json(capture::update_settings(&state.db, &caller.client_id, body).await?))
}

/// The page's own calls take only a capture token.
fn page_session(caller: &SdkCaller) -> AppResult<&str> {
    caller
        .only_session
        .as_deref()
        .ok_or_else(|| AppError::Unauthenticated("this endpoint takes the X-Capture-Token of a capture link".into()))
}

/// The theme and text a page shows (no secrets: the page is public).
#[derive(Serialize, ToSchema)]
pub struct PageSettings {
    consent_text: Option<String>,
    primary_color: Option<String>,
    background_color: Option<String>,
    logo_data_url: Option<String>,
    /// Origins the page reports its events to when framed.
    frame_ancestors: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PageStart {
    session_id: String,
    state: LinkState,
    liveness_mode: LivenessMode,
    expires_at: DateTime<Utc>,
    /// Where to send the user when done: the link's, else the client's; `null`: stay on the final screen.
    redirect_url: Option<String>,
    /// This link was minted by a desktop page for a phone.
    handoff: bool,
    settings: PageSettings,
    progress: Progress,
}

/// Opens the page: records the device that opened the link and answers
/// what the page needs (theme, consent text, progress so far).
#[utoipa::path(post, path = "/api/v1/sdk/idv/capture/start", tag = "capture page",
    security(("capture_token" = [])),
    responses((status = 200, body = PageStart),
        (status = 401, description = "unknown, expired or revoked link", body = Problem, content_type = "application/problem+json")))]
async fn page_start(State(state): State<AppState>, caller: SdkCaller, headers: HeaderMap) -> AppResult<Json<PageStart>> {
    let session_id = page_session(&caller)?.to_string();
    let token = crate::auth::sdk::capture_token_of(&headers)?.unwrap_or_default();
    let now = Utc::now();
    let resolved = capture::resolve(&state.db, token, now).await?;
    let (Some(link), Some(session)) = (resolved.link, resolved.session) else {
        return Err(AppError::Unauthenticated("the capture link is not valid".into()));
    };
    let user_agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    capture::record_open(&state.db, &link, user_agent, now).await?;
    let settings = capture::settings(&state.db, &session.client_id).await?;
    Ok(Json(PageStart {
        session_id,
        state: resolved.state,
        liveness_mode: LivenessMode::from_db(&session.liveness_mode),
        expires_at: link.expires_at,
        redirect_url: link.redirect_url.clone().or(settings.redirect_url.clone()),
        handoff: link.origin == "handoff",
        progress: capture::progress(&session, now),
        settings: PageSettings {
            consent_text: settings.consent_text,
            primary_color: settings.primary_color,
            background_color: settings.background_color,
            logo_data_url: settings.logo_data_url,
            frame_ancestors: settings.frame_ancestors,
        },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PageStatus {
    progress: Progress,
    /// What the analysis made of each uploaded side so far.
    documents: DocumentFeedback,
}

/// The session's progress and the analysis of its uploads (polled by the
/// page after an upload, and by a desktop while a phone captures).
#[utoipa::path(post, path = "/api/v1/sdk/idv/capture/status", tag = "capture page",
    security(("capture_token" = [])),
    responses((status = 200, body = PageStatus),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn page_status(State(state): State<AppState>, caller: SdkCaller) -> AppResult<Json<PageStatus>> {
    let session = idv::find(&state.db, &caller.client_id, page_session(&caller)?).await?;
    let documents = capture::document_feedback(&state.db, &session).await?;
    Ok(Json(PageStatus { progress: capture::progress(&session, Utc::now()), documents }))
}

#[derive(Serialize, ToSchema)]
pub struct Handoff {
    capture_url: String,
    expires_at: DateTime<Utc>,
    /// The capture URL as a QR code (SVG), for the phone's camera.
    qr_svg: String,
}

/// Mints a fresh short-lived link to the same session for the user's phone, with its QR code.
#[utoipa::path(post, path = "/api/v1/sdk/idv/capture/handoff", tag = "capture page",
    security(("capture_token" = [])),
    responses((status = 200, body = Handoff),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn page_handoff(State(state): State<AppState>, caller: SdkCaller, headers: HeaderMap) -> AppResult<Json<Handoff>> {
    let session_id = page_session(&caller)?.to_string();
    let txn = crate::db::begin_write(&state.db).await?;
    let session = idv::find(&txn, &caller.client_id, &session_id).await?;
    let new = NewLink { ttl_minutes: capture::HANDOFF_TTL_MINUTES, redirect_url: None, origin: LinkOrigin::Handoff };
    let minted = capture::mint(&txn, &session, new, "/api/v1/sdk/idv/capture/handoff", Utc::now()).await?;
    txn.commit().await?;
    let capture_url = capture::capture_url(&public_base(&state, &headers), &minted.token);
    let qr_svg = qr_svg(&capture_url)?;
    Ok(Json(Handoff { capture_url, expires_at: minted.expires_at, qr_svg }))
}

/// A QR code of `text` as an SVG document (dark modules on white, quiet zone included).
pub fn qr_svg(text: &str) -> AppResult<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).map_err(AppError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}
