//! `Authorization: Bearer <key>` for integrator endpoints.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::service::tenancy;
use crate::state::AppState;

/// Recognisable prefix of every API key (secret scanners can match it).
pub const KEY_PREFIX: &str = "tsk_";

/// The authenticated caller of an integrator endpoint.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub client_id: String,
    pub user_id: Option<String>,
    pub key_id: String,
    /// The platform operator's key may pass `client_id` filters across clients.
    pub is_platform: bool,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = bearer_token(parts)?;
        let (key, client) = tenancy::authenticate_api_key(&state.db, presented)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the API key is invalid or revoked".into()))?;
        Ok(ApiCaller {
            client_id: client.id,
            user_id: key.user_id,
            key_id: key.id,
            is_platform: client.is_platform,
        })
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthenticated("missing Authorization: Bearer <api key>".into()))?;
    let value = header
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is not valid text".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AppError::Unauthenticated("expected Authorization: Bearer <api key>".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::Unauthenticated("expected Authorization: Bearer <api key>".into()));
    }
    Ok(token.trim())
}

/// Optional variant: `None` when no Authorization header is present.
pub struct MaybeApiCaller(pub Option<ApiCaller>);

impl FromRequestParts<AppState> for MaybeApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.get(AUTHORIZATION).is_none() {
            return Ok(MaybeApiCaller(None));
        }
        ApiCaller::from_request_parts(parts, state).await.map(|c| MaybeApiCaller(Some(c)))
    }
}
