//! Scoring weights: the version in force, new versions, historical lookup.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, AppQuery, ClientIp};
use crate::engine::policy::Policy;
use crate::service::weights::{Tenant, WeightValues};
use crate::service::{audit, weights};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_weights)).routes(routes!(update_weights)).routes(routes!(get_weights_by_id))
}

/// The caller as the services' tenancy rule sees it.
pub(crate) fn tenant(caller: &ApiCaller) -> Tenant<'_> {
    Tenant { client_id: &caller.client_id, is_platform: caller.is_platform }
}

/// A weights version (the documented body). Ranges are enforced on update; see
/// "Scoring: what the weights mean" in the API contract.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Weights {
    /// The client the version belongs to; `null` for the platform default.
    /// On update: the client to write for (default: the caller's; another
    /// client only with the platform operator's key).
    #[serde(default)]
    client_id: Option<String>,
    /// The user (of that client) the version belongs to; `null` for the whole client.
    #[serde(default)]
    user_id: Option<String>,
    /// Maximum face-embedding distance, selfie to document portrait, at onboarding. 0..1.
    onboarding_face_encoding_tolerance: f64,
    /// Maximum face-embedding distance, selfie to the identity's stored encoding, at re-authentication. 0..1.
    verified_account_face_encoding_tolerance: f64,
    /// Minimum similarity of OCR to barcode fields on a driver license. 0..1.
    driver_license_fuzzy_match_tolerance: f64,
    /// Share of that check in the score. 0..100.
    driver_license_fuzzy_match_weight: f64,
    /// Minimum similarity of OCR to barcode fields on a state id card. 0..1.
    state_id_fuzzy_match_tolerance: f64,
    /// Share of that check in the score. 0..100.
    state_id_fuzzy_match_weight: f64,
    /// Minimum similarity of OCR to MRZ fields on a passport. 0..1.
    passport_fuzzy_match_tolerance: f64,
    /// Share of that check in the score. 0..100.
    passport_fuzzy_match_weight: f64,
    /// Minimum similarity of OCR to MRZ fields on a passport card. 0..1.
    passport_card_fuzzy_match_tolerance: f64,
    /// Share of that check in the score. 0..100.
    passport_card_fuzzy_match_weight: f64,
    /// Minimum name similarity that counts as a sanctions-list hit. 0..1.
    ofac_fuzzy_match_tolerance: f64,
    /// Share of the sanctions check in the score. 0..100.
    ofac_fuzzy_match_weight: f64,
    /// Share of the suspicious-words check. 0..100.
    suspicious_words_weight: f64,
    /// Share of the image-manipulation check. 0..100.
    image_manipulation_weight: f64,
    /// Share of the online-duplication check. 0..100.
    online_duplication_weight: f64,
    /// Share of the is-an-identity-document check. 0..100.
    is_identity_document_weight: f64,
    /// Fraction of DMV-checked fields that must match. 0..1.
    aamva_match_tolerance: f64,
    /// Share of the DMV check. 0..100.
    aamva_match_weight: f64,
    /// Minimum total score (weighted mean of the checks that ran) for `verified = true`. 0..1.
    idv_session_tolerance: f64,
    /// Minimum liveness score. 0..1.
    minimum_liveness_tolerance: f64,
    /// In `passive_active` mode, a passive score at or above this skips the active steps. 0..1.
    passive_active_skip_tolerance: f64,
    /// Minimum probability of the estimated sex agreeing with the document. 0..1.
    gender_probability_tolerance: f64,
    /// Share of the sex check. 0..100.
    gender_weight: f64,
    /// Minimum expression score on an expression step. 0..1.
    expression_tolerance: f64,
    /// Years of difference accepted between estimated and documented age. 0..120.
    age_tolerance: f64,
    /// Share of the age check. 0..100.
    age_weight: f64,
    /// Degrees of head yaw/pitch error accepted per active step. 0..90.
    direction_tolerance: f64,
    /// The verdict policy of this version: for each family of checks, what
    /// a fail does — `score` (only weighs in the score), `knock_out`
    /// (rejects whatever the score) or `review` (`verified: false` and
    /// `review_required: true`). Always present in answers. On update it is
    /// optional: absent keeps the policy of the version in force for the
    /// scope; absent keys take their default. docs/scoring.md explains each
    /// default. The SDK's finalize `*_fail` settings can only tighten it.
    #[serde(default)]
    policy: Option<Policy>,
}

macro_rules! weights_conversions {
    ($($f:ident),*) => {
        impl From<entity::weights::Model> for Weights {
            fn from(m: entity::weights::Model) -> Self {
                let policy = Some(weights::policy_of(&m));
                Self { client_id: m.client_id, user_id: m.user_id, $($f: m.$f,)* policy }
            }
        }

        impl Weights {
            fn values(&self) -> WeightValues {
                WeightValues { $($f: self.$f,)* }
            }
        }
    };
}
crate::for_each_weight_field!(weights_conversions);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeightsQuery {
    /// Default: the caller's client. Another client only with the platform operator's key.
    client_id: Option<String>,
    /// A user of that client: that user's version when there is one.
    user_id: Option<String>,
}

/// The weights in force.
///
/// The newest version for (client, user), else for the client, else the
/// platform default. `client_id` / `user_id` in the body are the scope of
/// the version returned (`null` = platform default).
#[utoipa::path(get, path = "/api/v1/idv/weights", tag = "weights", params(WeightsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Weights),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown client or user, or another client without the platform key",
            body = Problem, content_type = "application/problem+json")))]
async fn get_weights(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppQuery(query): AppQuery<WeightsQuery>,
) -> AppResult<Json<Weights>> {
    let version =
        weights::in_force_for(&state.db, tenant(&caller), query.client_id.as_deref(), query.user_id.as_deref()).await?;
    Ok(Json(version.into()))
}

/// The id of the version written.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeightsCreated {
    id: String,
}

/// Writes a new weights version and returns its id.
///
/// Versions are immutable: rows are never updated, so a session's pinned
/// `idv_weights_id` keeps explaining its verdict. The answer is the documented
/// `{}` plus `id`. All 27 numbers are required and must be finite and in
/// range (400 naming each offending field): tolerances 0..1 except
/// `age_tolerance` 0..120 (years) and `direction_tolerance` 0..90
/// (degrees); weights 0..100.
///
/// Scope: the caller's client unless `client_id` names another (platform
/// operator key only); with `user_id`, that user's version. A platform
/// operator key with neither `client_id` nor `user_id` writes a new
/// platform default (`client_id` null), in force for every client without
/// a version of its own.
///
/// `policy` (optional) is the verdict policy stored with the version; absent
/// keeps the policy in force for the scope. `face_match` and `liveness`
/// accept only `knock_out` or `review`; `document_validity_weight` is 0..100
/// (400 naming `policy.<key>`; unknown keys or actions are a 400 too).
#[utoipa::path(post, path = "/api/v1/idv/weights/update", tag = "weights", request_body = Weights,
    security(("bearer" = [])),
    responses((status = 200, body = WeightsCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown client or user, or another client without the platform key",
            body = Problem, content_type = "application/problem+json")))]
async fn update_weights(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<Weights>,
) -> AppResult<Json<WeightsCreated>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let version = weights::create_version(
        &txn,
        tenant(&caller),
        body.client_id.as_deref(),
        body.user_id.as_deref(),
        body.values(),
        body.policy.clone(),
        Some(format!("api_key:{}", caller.key_id)),
    )
    .await?;
    let actor = audit::Actor::ApiKey { client_id: caller.client_id, key_id: caller.key_id };
    let detail = serde_json::json!({"client_id": version.client_id, "user_id": version.user_id});
    audit::record(&txn, &actor, "weights.update", Some(("weights", &version.id)), ip, Some(detail)).await?;
    txn.commit().await?;
    Ok(Json(WeightsCreated { id: version.id }))
}

/// One weights version by id, for explaining past verdicts.
///
/// Platform default versions are readable by every client; another client's
/// version is 404 (unless the caller holds the platform operator key).
#[utoipa::path(get, path = "/api/v1/idv/weights/{id}", tag = "weights",
    params(("id" = String, Path, description = "A weights version id (`idv_weights_id` of a session)")),
    security(("bearer" = [])),
    responses((status = 200, body = Weights),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_weights_by_id(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> AppResult<Json<Weights>> {
    let version = weights::find_visible(&state.db, tenant(&caller), &id).await?;
    Ok(Json(version.into()))
}
