//! IDA (identity authentication), SDK side: `X-Client-Id` plus the
//! `session_id` in the body. The session must belong to that client (else
//! 404) and, except for session read, still be `in_progress` (else 409
//! naming the state). There is no consent step: consent was given at
//! onboarding (IDV).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::SdkClient;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::ida::{self, IdaVerdict, LivenessCapture, SdkStep};
use crate::service::location::DevicePosition;
use crate::service::types::{Empty, LivenessProvider, SessionStatus};
use crate::state::AppState;

pub const METADATA_PATH: &str = "/api/v1/sdk/ida/metadata/update";
pub const GENERATE_PATH: &str = "/api/v1/sdk/ida/liveness/generate";
pub const PROCESS_PATH: &str = "/api/v1/sdk/ida/liveness/process";
pub const FINALIZE_PATH: &str = "/api/v1/sdk/ida/finalize";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read))
        .routes(routes!(update_metadata))
        .routes(routes!(generate_liveness))
        .routes(routes!(process_liveness))
        .routes(routes!(finalize))
}

#[derive(Deserialize, ToSchema)]
pub struct SdkIdaSessionId {
    session_id: String,
}

/// A session as the SDK sees it.
#[derive(Serialize, ToSchema)]
pub struct SdkIdaSessionView {
    session_id: String,
    identity_id: String,
    user_id: Option<String>,
    client_id: String,
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
    liveness_provider_e: LivenessProvider,
    #[schema(value_type = Object)]
    sdk_metadata: serde_json::Value,
}

/// Reads the session (any state).
#[utoipa::path(post, path = "/api/v1/sdk/ida/session/read", tag = "sdk ida", request_body = SdkIdaSessionId,
    security(("sdk_client" = [])),
    responses((status = 200, body = SdkIdaSessionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown X-Client-Id", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(
    State(state): State<AppState>,
    sdk: SdkClient,
    AppJson(body): AppJson<SdkIdaSessionId>,
) -> AppResult<Json<SdkIdaSessionView>> {
    let now = Utc::now();
    let s = ida::find_for_sdk(&state.db, &sdk.client_id, &body.session_id, SdkStep::Read, now).await?;
    Ok(Json(SdkIdaSessionView {
        status_e: ida::effective_status(&s, now),
        liveness_provider_e: LivenessProvider::from_db(&s.liveness_provider),
        session_id: s.id,
        identity_id: s.identity_id,
        user_id: s.user_id,
        client_id: s.client_id,
        first_name: s.first_name,
        middle_name: s.middle_name,
        last_name: s.last_name,
        suffix_name: s.suffix_name,
        liveness_detected: s.liveness_detected,
        liveness_detected_at: s.liveness_detected_at,
        selfie_given: s.selfie_given,
        selfie_given_at: s.selfie_given_at,
        authenticated: s.authenticated.unwrap_or(false),
        sdk_metadata: s.sdk_metadata,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SdkIdaMetadataUpdate {
    session_id: String,
    /// Keys to set; a key with a `null` value is removed. At most 50 keys in all.
    #[schema(value_type = Object)]
    sdk_metadata: serde_json::Map<String, serde_json::Value>,
}

/// Merges keys into the session's `sdk_metadata`.
#[utoipa::path(post, path = "/api/v1/sdk/ida/metadata/update", tag = "sdk ida", request_body = SdkIdaMetadataUpdate,
    security(("sdk_client" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the session is finalized, expired or blocked", body = Problem,
            content_type = "application/problem+json")))]
async fn update_metadata(
    State(state): State<AppState>,
    sdk: SdkClient,
    AppJson(body): AppJson<SdkIdaMetadataUpdate>,
) -> AppResult<Json<Empty>> {
    ida::merge_sdk_metadata(&state.db, &sdk.client_id, &body.session_id, &body.sdk_metadata, METADATA_PATH).await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, ToSchema)]
pub struct SdkIdaLivenessGenerate {
    session_id: String,
    /// Device latitude, −90 to 90.
    latitude: f64,
    /// Device longitude, −180 to 180.
    longitude: f64,
}

#[derive(Serialize, ToSchema)]
pub struct SdkIdaLivenessToken {
    /// Signed challenge (session, nonce, liveness mode, active steps in
    /// order, expiry 15 minutes): `base64url(json).base64url(hmac)`.
    token: String,
}

/// Starts a liveness capture and returns its signed challenge token.
#[utoipa::path(post, path = "/api/v1/sdk/ida/liveness/generate", tag = "sdk ida", request_body = SdkIdaLivenessGenerate,
    security(("sdk_client" = [])),
    responses((status = 200, body = SdkIdaLivenessToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the session is finalized, expired or blocked", body = Problem,
            content_type = "application/problem+json")))]
async fn generate_liveness(
    State(state): State<AppState>,
    sdk: SdkClient,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<SdkIdaLivenessGenerate>,
) -> AppResult<Json<SdkIdaLivenessToken>> {
    let position = DevicePosition::new(body.latitude, body.longitude)?;
    // One write transaction: the history event, its webhook outbox rows and the capture location.
    let txn = crate::db::begin_write(&state.db).await?;
    let token =
        ida::generate_liveness(&txn, &state.storage, &sdk.client_id, &body.session_id, position, ip, GENERATE_PATH).await?;
    txn.commit().await?;
    Ok(Json(SdkIdaLivenessToken { token }))
}

#[derive(Deserialize, ToSchema)]
pub struct SdkIdaLivenessProcess {
    session_id: String,
    latitude: f64,
    longitude: f64,
    /// 1 to 5 base64 JPEG/PNG frames (plain base64 or `data:image/...;base64,` URLs): the passive
    /// frame first, then the active steps in the challenge's order. Each at most 10 MB decoded.
    images: Vec<String>,
    /// Optional: the token of liveness generate. When sent it must be valid for this
    /// session, unexpired and unused; when absent, a liveness generate must have happened.
    #[serde(default)]
    token: Option<String>,
}

/// Stores the liveness frames (encrypted) and queues their analysis. The
/// first frame is also the session's selfie. Returns a fresh challenge
/// token, usable for a retry. A rejected capture (invalid token or images)
/// counts toward `temporarily_blocked`.
#[utoipa::path(post, path = "/api/v1/sdk/ida/liveness/process", tag = "sdk ida", request_body = SdkIdaLivenessProcess,
    security(("sdk_client" = [])),
    responses((status = 200, body = SdkIdaLivenessToken),
        (status = 400, description = "missing, malformed or too many images; invalid token", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the session is not open; no liveness generate; token expired or used",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "an image over 10 MB or 8000 px a side", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "an image that is not JPEG or PNG", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "an image that does not decode", body = Problem,
            content_type = "application/problem+json")))]
async fn process_liveness(
    State(state): State<AppState>,
    sdk: SdkClient,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<SdkIdaLivenessProcess>,
) -> AppResult<Json<SdkIdaLivenessToken>> {
    let capture = LivenessCapture {
        position: DevicePosition::new(body.latitude, body.longitude)?,
        ip,
        token: body.token,
        images: body.images,
    };
    let token = ida::process_liveness(&state, &sdk.client_id, &body.session_id, capture, PROCESS_PATH).await?;
    Ok(Json(SdkIdaLivenessToken { token }))
}

/// Finalizes the session: waits (up to 10 s) for the liveness analysis,
/// then decides `authenticated` from the face match against the identity
/// and the liveness check. The documented answer is `{}`; `authenticated` and
/// `reasons` are additions. Repeating finalize on a completed session
/// returns the stored answer.
#[utoipa::path(post, path = "/api/v1/sdk/ida/finalize", tag = "sdk ida", request_body = SdkIdaSessionId,
    security(("sdk_client" = [])),
    responses((status = 200, body = IdaVerdict),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the session is expired or blocked", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "the analysis is still running; retry", body = Problem,
            content_type = "application/problem+json")))]
async fn finalize(
    State(state): State<AppState>,
    sdk: SdkClient,
    AppJson(body): AppJson<SdkIdaSessionId>,
) -> AppResult<Json<IdaVerdict>> {
    let verdict = ida::finalize(&state, &sdk.client_id, &body.session_id, FINALIZE_PATH).await?;
    Ok(Json(verdict))
}
