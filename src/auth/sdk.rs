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
