//! IDV sessions, SDK side (`X-Client-Id`, or a capture link's
//! `X-Capture-Token` for its one session, + `session_id`): read, consent,
//! metadata, document type and images, liveness, finalize.

use axum::Json;
use axum::extract::{Multipart, State, multipart::MultipartRejection};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::sdk::SdkCaller;
use crate::engine::scoring::FinalizeSettings;
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::files::{self, MAX_IMAGE_BYTES};
use crate::service::history::SessionKind;
use crate::service::idv::{self, IdvSettings, SdkStep};
use crate::service::idv_steps::{self, CaptureContext};
use crate::service::location::DevicePosition;
use crate::service::types::{DocumentType, Empty, LivenessMode, LivenessProvider};
use crate::service::{finalize, lifecycle, liveness};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session_read))
        .routes(routes!(consent))
        .routes(routes!(metadata_update))
        .routes(routes!(document_type))
        .routes(routes!(document_front))
        .routes(routes!(document_back))
        .routes(routes!(liveness_generate))
        .routes(routes!(liveness_process))
        .routes(routes!(finalize_session))
}

async fn open_session(state: &AppState, sdk: &SdkCaller, session_id: &str, step: SdkStep) -> AppResult<entity::idv_session::Model> {
    sdk.ensure_session(session_id)?;
    idv::find_for_sdk(&state.db, &sdk.client_id, session_id, step, Utc::now()).await
}

/// Counts a rejected upload or liveness answer toward `temporarily_blocked`.
async fn count_failure(state: &AppState, session: &entity::idv_session::Model, endpoint: &str, err: &AppError) {
    let (db, config) = (&state.db, &state.config);
    lifecycle::count_rejected_capture(db, config, SessionKind::Idv, &session.client_id, &session.id, endpoint, err).await;
}

#[derive(Deserialize, ToSchema)]
pub struct SdkSessionId {
    session_id: String,
}

/// The subset of the session settings shown to the SDK.
#[derive(Serialize, ToSchema)]
pub struct SdkSettings {
    perform_image_manipulation_test: bool,
    perform_aamva_test: bool,
    perform_ofac_test: bool,
    perform_age_test: bool,
    perform_gender_test: bool,
    perform_liveness_test: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SdkSession {
    session_id: String,
    client_id: String,
    document_type_e: DocumentType,
    consented: bool,
    document_front_given: bool,
    document_back_given: bool,
    liveness_detected: bool,
    selfie_given: bool,
    liveness_provider_e: LivenessProvider,
    #[schema(value_type = Object)]
    sdk_metadata: serde_json::Value,
    settings: SdkSettings,
}

/// What the SDK may know about its session (any state).
#[utoipa::path(post, path = "/api/v1/sdk/idv/session/read", tag = "sdk idv", request_body = SdkSessionId,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = SdkSession),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn session_read(
    State(state): State<AppState>,
    sdk: SdkCaller,
    AppJson(body): AppJson<SdkSessionId>,
) -> AppResult<Json<SdkSession>> {
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Read).await?;
    let settings = IdvSettings::of(&s);
    Ok(Json(SdkSession {
        session_id: s.id.clone(),
        client_id: s.client_id.clone(),
        document_type_e: DocumentType::from_db(&s.document_type),
        consented: s.consented,
        document_front_given: s.document_front_given,
        document_back_given: s.document_back_given,
        liveness_detected: s.liveness_detected,
        selfie_given: s.selfie_given,
        liveness_provider_e: LivenessProvider::from_db(&s.liveness_provider),
        sdk_metadata: s.sdk_metadata.clone(),
        settings: SdkSettings {
            perform_image_manipulation_test: settings.perform_image_manipulation_test,
            perform_aamva_test: settings.perform_aamva_test,
            perform_ofac_test: settings.perform_ofac_test,
            perform_age_test: settings.perform_age_test,
            perform_gender_test: settings.perform_gender_test,
            perform_liveness_test: settings.perform_liveness_test,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ConsentRequest {
    session_id: String,
    /// `true` gives consent; `false` withdraws it (later steps answer 409).
    consented: bool,
}

/// Records the end user's consent; every later step requires it.
#[utoipa::path(post, path = "/api/v1/sdk/idv/consent", tag = "sdk idv", request_body = ConsentRequest,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = Empty),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "expired, finalized or blocked session", body = Problem,
            content_type = "application/problem+json")))]
async fn consent(State(state): State<AppState>, sdk: SdkCaller, AppJson(body): AppJson<ConsentRequest>) -> AppResult<Json<Empty>> {
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Consent).await?;
    idv_steps::consent(&state.db, &s, body.consented, "/api/v1/sdk/idv/consent").await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, ToSchema)]
pub struct SdkMetadataUpdate {
    session_id: String,
    /// Merged into the stored object; a `null` value removes the key.
    #[schema(value_type = Object)]
    sdk_metadata: serde_json::Map<String, serde_json::Value>,
}

/// Merges SDK metadata into the session.
#[utoipa::path(post, path = "/api/v1/sdk/idv/metadata/update", tag = "sdk idv", request_body = SdkMetadataUpdate,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no consent, or the session is closed", body = Problem,
            content_type = "application/problem+json")))]
async fn metadata_update(
    State(state): State<AppState>,
    sdk: SdkCaller,
    AppJson(body): AppJson<SdkMetadataUpdate>,
) -> AppResult<Json<Empty>> {
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Step).await?;
    idv_steps::update_sdk_metadata(&state.db, &s, &body.sdk_metadata, "/api/v1/sdk/idv/metadata/update").await?;
    Ok(Json(Empty {}))
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentTypeRequest {
    session_id: String,
    #[schema(value_type = crate::service::types::DocumentType)]
    document_type_e: String,
}

/// Declares the document type (decides the storage type of the images).
#[utoipa::path(post, path = "/api/v1/sdk/idv/document/type", tag = "sdk idv", request_body = DocumentTypeRequest,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn document_type(
    State(state): State<AppState>,
    sdk: SdkCaller,
    AppJson(body): AppJson<DocumentTypeRequest>,
) -> AppResult<Json<Empty>> {
    let doc_type = DocumentType::parse_field("document_type_e", &body.document_type_e)?;
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Step).await?;
    idv_steps::set_document_type(&state.db, &s, doc_type, "/api/v1/sdk/idv/document/type").await?;
    Ok(Json(Empty {}))
}

/// The multipart form of a document image (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DocumentImageForm {
    session_id: String,
    /// Device latitude, -90..90, as text.
    latitude: String,
    /// Device longitude, -180..180, as text.
    longitude: String,
    /// JPEG or PNG, at most 10 MB and 8000×8000 pixels.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

struct ImageForm {
    session_id: Option<String>,
    latitude: Option<String>,
    longitude: Option<String>,
    image: Option<Vec<u8>>,
}

const MAX_TEXT_FIELD: usize = 256;

/// Reads the form, capping every part before buffering it.
async fn read_image_form(multipart: Result<Multipart, MultipartRejection>) -> AppResult<ImageForm> {
    let mut multipart = multipart.map_err(|e| AppError::unsupported_media(format!("expected multipart/form-data: {e}")))?;
    let mut form = ImageForm { session_id: None, latitude: None, longitude: None, image: None };
    let bad = |e: axum::extract::multipart::MultipartError| AppError::validation("body", format!("malformed multipart body: {e}"));
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let limit = if name == "image" { MAX_IMAGE_BYTES } else { MAX_TEXT_FIELD };
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if buf.len() + chunk.len() > limit {
                return Err(if name == "image" {
                    AppError::too_large_field("image", format!("at most {MAX_IMAGE_BYTES} bytes"))
                } else {
                    AppError::validation(&name, format!("at most {MAX_TEXT_FIELD} bytes"))
                });
            }
            buf.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8(buf.clone()).map_err(|_| AppError::validation(&name, "must be UTF-8 text"));
        match name.as_str() {
            "session_id" => form.session_id = Some(text()?.trim().to_string()),
            "latitude" => form.latitude = Some(text()?),
            "longitude" => form.longitude = Some(text()?),
            "image" => form.image = Some(buf),
            _ => {}
        }
    }
    Ok(form)
}

/// The device position of a capture: required with `X-Client-Id`; the
/// hosted page (a capture token) may omit it when the user did not share it.
fn optional_position(sdk: &SdkCaller, position: AppResult<DevicePosition>, given: bool) -> AppResult<Option<DevicePosition>> {
    if !given && sdk.only_session.is_some() {
        return Ok(None);
    }
    position.map(Some)
}

async fn add_side(state: AppState, sdk: SdkCaller, ip: Option<String>, form: ImageForm, back: bool) -> AppResult<Json<Empty>> {
    let endpoint = if back { "/api/v1/sdk/idv/document/back" } else { "/api/v1/sdk/idv/document/front" };
    let session_id = form.session_id.filter(|s| !s.is_empty()).ok_or_else(|| AppError::validation("session_id", "is required"))?;
    let s = open_session(&state, &sdk, &session_id, SdkStep::Step).await?;
    let checked = async {
        let given = form.latitude.is_some() || form.longitude.is_some();
        let position = optional_position(&sdk, DevicePosition::parse(form.latitude.as_deref(), form.longitude.as_deref()), given)?;
        let bytes = form.image.filter(|b| !b.is_empty()).ok_or_else(|| AppError::validation("image", "is required"))?;
        let image = files::validate_image_async("image", bytes).await?;
        Ok::<_, AppError>((position, image))
    }
    .await;
    let (position, image) = match checked {
        Ok(v) => v,
        Err(e) => {
            count_failure(&state, &s, endpoint, &e).await;
            return Err(e);
        }
    };
    idv_steps::add_document_image(&state, &s, back, image, CaptureContext { ip, position }, endpoint).await?;
    Ok(Json(Empty {}))
}

/// Uploads the document front; analysis runs in the background.
#[utoipa::path(post, path = "/api/v1/sdk/idv/document/front", tag = "sdk idv",
    request_body(content = DocumentImageForm, content_type = "multipart/form-data"),
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn document_front(
    State(state): State<AppState>,
    sdk: SdkCaller,
    ClientIp(ip): ClientIp,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<Empty>> {
    let form = read_image_form(multipart).await?;
    add_side(state, sdk, ip, form, false).await
}

/// Uploads the document back (not for passports); analysis runs in the background.
#[utoipa::path(post, path = "/api/v1/sdk/idv/document/back", tag = "sdk idv",
    request_body(content = DocumentImageForm, content_type = "multipart/form-data"),
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn document_back(
    State(state): State<AppState>,
    sdk: SdkCaller,
    ClientIp(ip): ClientIp,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Json<Empty>> {
    let form = read_image_form(multipart).await?;
    add_side(state, sdk, ip, form, true).await
}

#[derive(Deserialize, ToSchema)]
pub struct LivenessGenerate {
    session_id: String,
    /// Required, except on the hosted page (capture token) when the user shares no position.
    #[schema(value_type = f64)]
    latitude: Option<f64>,
    #[schema(value_type = f64)]
    longitude: Option<f64>,
}

fn json_position(sdk: &SdkCaller, latitude: Option<f64>, longitude: Option<f64>) -> AppResult<Option<DevicePosition>> {
    let given = latitude.is_some() || longitude.is_some();
    let position = match (latitude, longitude) {
        (Some(lat), Some(lon)) => DevicePosition::new(lat, lon),
        (None, _) => Err(AppError::validation("latitude", "is required")),
        (_, None) => Err(AppError::validation("longitude", "is required")),
    };
    optional_position(sdk, position, given)
}

#[derive(Serialize, ToSchema)]
pub struct LivenessToken {
    /// Signed, expiring challenge (15 minutes): nonce and, for `passive_active`, the steps in order.
    token: String,
}

/// Starts a liveness session: a signed challenge token.
#[utoipa::path(post, path = "/api/v1/sdk/idv/liveness/generate", tag = "sdk idv", request_body = LivenessGenerate,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = LivenessToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn liveness_generate(
    State(state): State<AppState>,
    sdk: SdkCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<LivenessGenerate>,
) -> AppResult<Json<LivenessToken>> {
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Step).await?;
    let position = json_position(&sdk, body.latitude, body.longitude)?;
    let ctx = CaptureContext { ip, position };
    let token = idv_steps::liveness_generate(&state, &s, ctx, "/api/v1/sdk/idv/liveness/generate").await?;
    Ok(Json(LivenessToken { token }))
}

#[derive(Deserialize, ToSchema)]
pub struct LivenessProcess {
    session_id: String,
    /// Required, except on the hosted page (capture token) when the user shares no position.
    #[schema(value_type = f64)]
    latitude: Option<f64>,
    #[schema(value_type = f64)]
    longitude: Option<f64>,
    /// Base64 JPEG/PNG frames (plain or `data:` URLs), 1 to 5: the passive frame, then the active steps in the token's order.
    #[serde(default)]
    images: Vec<String>,
    /// The token from generate (superset field). Without it, a generate call within the last 15 minutes is required.
    #[serde(default)]
    token: Option<String>,
}

/// Stores the liveness frames (the first also as the selfie); the liveness and face checks run in the background.
#[utoipa::path(post, path = "/api/v1/sdk/idv/liveness/process", tag = "sdk idv", request_body = LivenessProcess,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = LivenessToken),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn liveness_process(
    State(state): State<AppState>,
    sdk: SdkCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<LivenessProcess>,
) -> AppResult<Json<LivenessToken>> {
    let endpoint = "/api/v1/sdk/idv/liveness/process";
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Step).await?;
    let mode = LivenessMode::from_db(&s.liveness_mode);
    let checked = async {
        let position = json_position(&sdk, body.latitude, body.longitude)?;
        let (challenge, token) =
            idv_steps::challenge_for_process(&state, SessionKind::Idv, &s.client_id, &s.id, mode, body.token.as_deref()).await?;
        // The Azure client SDK uploads to Azure: its process call may carry no frames.
        let azure = s.liveness_provider == LivenessProvider::Azure.as_str();
        let frames = if azure && body.images.is_empty() { Vec::new() } else { liveness::decode_frames(&body.images).await? };
        Ok::<_, AppError>((position, challenge, token, frames))
    }
    .await;
    let (position, challenge, token, frames) = match checked {
        Ok(v) => v,
        Err(e) => {
            count_failure(&state, &s, endpoint, &e).await;
            return Err(e);
        }
    };
    idv_steps::liveness_process(&state, &s, frames, &challenge, CaptureContext { ip, position }, endpoint).await?;
    Ok(Json(LivenessToken { token }))
}

#[derive(Deserialize, ToSchema)]
pub struct FinalizeRequest {
    session_id: String,
    /// Optional `*_fail` switches. They can only tighten the verdict
    /// policy the integrator stored with the weights version: `true` makes
    /// the named check required (it must run and pass, else the session is
    /// rejected); `false` or an absent key changes nothing — it never
    /// relaxes a `knock_out` or `review` rule of the stored policy.
    #[serde(default)]
    settings: Option<FinalizeSettings>,
}

#[derive(Serialize, ToSchema)]
pub struct FinalizeResponse {
    verified: bool,
    on_sanction_list: bool,
}

/// Finalizes the session: waits (bounded) for the analysis, scores it with the pinned weights and answers the verdict.
/// Repeating it returns the stored verdict.
///
/// The verdict follows the verdict policy stored with the session's weights
/// version (see `GET /api/v1/idv/weights`, `policy`): a `knock_out` check
/// that failed rejects, a `review` check sends the session to review. Both
/// answer `verified: false`; the integrator tells them apart with
/// `review_required` / `decision` of the session read (and the
/// `session.review_required` webhook). The `settings` switches sent from the
/// device can only make the policy stricter, never more lenient.
#[utoipa::path(post, path = "/api/v1/sdk/idv/finalize", tag = "sdk idv", request_body = FinalizeRequest,
    security(("sdk_client" = []), ("capture_token" = [])),
    responses((status = 200, body = FinalizeResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no consent, expired or blocked", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "the analysis is still running (the session stays open): retry", body = Problem,
            content_type = "application/problem+json")))]
async fn finalize_session(
    State(state): State<AppState>,
    sdk: SdkCaller,
    AppJson(body): AppJson<FinalizeRequest>,
) -> AppResult<Json<FinalizeResponse>> {
    let s = open_session(&state, &sdk, &body.session_id, SdkStep::Finalize).await?;
    let verdict = finalize::finalize_idv(&state, s, body.settings.unwrap_or_default(), "/api/v1/sdk/idv/finalize").await?;
    Ok(Json(FinalizeResponse { verified: verdict.verified, on_sanction_list: verdict.on_sanction_list }))
}
