//! `X-Client-Id` for SDK endpoints. Session ownership (the session belongs to
//! this client, is not expired or finalized, carries consent) is checked by
//! the session service, which knows the session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sea_orm::EntityTrait;

use crate::error::AppError;
use crate::state::AppState;

pub const CLIENT_ID_HEADER: &str = "x-client-id";

#[derive(Debug, Clone)]
pub struct SdkClient {
    pub client_id: String,
}

impl FromRequestParts<AppState> for SdkClient {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(CLIENT_ID_HEADER)
            .ok_or_else(|| AppError::Unauthenticated("missing X-Client-Id header".into()))?
            .to_str()
            .map_err(|_| AppError::Unauthenticated("X-Client-Id is not valid text".into()))?
            .trim();
        if raw.is_empty() || raw.len() > 64 {
            return Err(AppError::Unauthenticated("X-Client-Id is not a client id".into()));
        }
        let client = entity::client::Entity::find_by_id(raw.to_string())
            .one(&state.db)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("unknown X-Client-Id".into()))?;
        Ok(SdkClient { client_id: client.id })
    }
}

/// Header carrying a capture link's token (the hosted page's credential).
pub const CAPTURE_TOKEN_HEADER: &str = "x-capture-token";

/// The caller of an IDV SDK step: `X-Client-Id` (any session of that
/// client) or `X-Capture-Token` (the one session of that capture link).
#[derive(Debug, Clone)]
pub struct SdkCaller {
    pub client_id: String,
    /// Set for a capture token: the only session it may touch.
    pub only_session: Option<String>,
}

impl SdkCaller {
    /// 404 for any other session than a capture token's own (as for another client's).
    pub fn ensure_session(&self, session_id: &str) -> Result<(), AppError> {
        match &self.only_session {
            Some(own) if own != session_id => Err(AppError::not_found("IDV session")),
            _ => Ok(()),
        }
    }
}

/// The capture token of a request, if it carries one.
pub fn capture_token_of(headers: &axum::http::HeaderMap) -> Result<Option<&str>, AppError> {
    match headers.get(CAPTURE_TOKEN_HEADER) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| AppError::Unauthenticated("X-Capture-Token is not valid text".into())),
    }
}

impl FromRequestParts<AppState> for SdkCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = capture_token_of(&parts.headers)? {
            let link = crate::service::capture::authorize(&state.db, token, chrono::Utc::now()).await?;
            return Ok(SdkCaller { client_id: link.client_id, only_session: Some(link.session_id) });
        }
        let client = SdkClient::from_request_parts(parts, state).await?;
        Ok(SdkCaller { client_id: client.client_id, only_session: None })
    }
}
