//! `Authorization: Bearer <key>` for integrator endpoints.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::service::tenancy::{self, KeyScope};
use crate::state::AppState;

pub use crate::service::passwords::KEY_PREFIX;

/// The authenticated caller of an integrator endpoint.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub client_id: String,
    pub user_id: Option<String>,
    pub key_id: String,
    /// The platform operator's key may pass `client_id` filters across clients.
    pub is_platform: bool,
    /// What this key may do (checked against the route before the handler runs).
    pub scope: KeyScope,
}

impl ApiCaller {
    pub fn require(&self, needed: KeyScope) -> Result<(), AppError> {
        if self.scope >= needed {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this API key's scope `{}` does not allow this action (needs `{}`)",
                self.scope.as_str(),
                needed.as_str()
            )))
        }
    }
}

/// Routes an API key of scope `read_only` may call besides every GET: the
/// POST reads of the API and GraphQL (whose mutations refuse API keys).
const READ_ROUTES: &[&str] = &[
    "/graphql",
    "/api/v1/api-key/list",
    "/api/v1/idv/session/list",
    "/api/v1/idv/session/read",
    "/api/v1/idv/session/location",
    "/api/v1/idv/session/tests",
    "/api/v1/idv/document/list",
    "/api/v1/idv/document/read",
    "/api/v1/idv/document/download",
    "/api/v1/ida/session/list",
    "/api/v1/ida/session/read",
    "/api/v1/ida/session/location",
    "/api/v1/identity/list",
    "/api/v1/identity/read",
    "/api/v1/identity/document",
    "/api/v1/identity/image",
    "/api/v1/webhook/list",
    "/api/v1/webhook/delivery/list",
    "/api/v1/review/case/read",
    "/api/v1/review/case/list",
    "/api/v1/review/case/attachment/download",
    "/api/v1/screening/allowlist/list",
];

/// Writes of the integration itself; every other write (keys, webhooks,
/// weights, requirements, erasure, and routes not listed) needs `admin`.
const INTEGRATOR_ROUTES: &[&str] = &[
    "/api/v1/idv/session/create",
    "/api/v1/idv/session/capture-link/create",
    "/api/v1/idv/session/capture-link/revoke",
    "/api/v1/idv/session/delete",
    "/api/v1/ida/session/create",
    "/api/v1/webhook/test",
    "/api/v1/webhook/delivery/redeliver",
    "/api/v1/webhook/delivery/redeliver-failed",
    "/api/v1/review/case/decide",
    "/api/v1/review/case/confirm",
    "/api/v1/review/case/note",
    "/api/v1/review/case/resubmission",
    "/api/v1/review/case/unassign",
    "/api/v1/review/case/claim",
    "/api/v1/review/case/attachment/add",
    "/api/v1/screening/search",
];

/// The scope a request needs, from its method and route template.
pub fn required_scope(method: &axum::http::Method, route: Option<&str>) -> KeyScope {
    use axum::http::Method;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return KeyScope::ReadOnly;
    }
    match route {
        Some(r) if READ_ROUTES.contains(&r) => KeyScope::ReadOnly,
        Some(r) if INTEGRATOR_ROUTES.contains(&r) => KeyScope::Integrator,
        _ => KeyScope::Admin,
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = bearer_token(parts)?;
        let (key, client) = tenancy::authenticate_api_key(&state.db, presented)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the API key is invalid or revoked".into()))?;
        let scope = tenancy::effective_scope(&state.db, &key).await?;
        let caller = ApiCaller {
            client_id: client.id,
            user_id: key.user_id,
            key_id: key.id,
            is_platform: client.is_platform,
            scope,
        };
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map(|p| p.as_str());
        caller.require(required_scope(&parts.method, route))?;
        Ok(caller)
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
