//! API keys of the caller's client: create (shown once), list, revoke.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::AppJson;
use crate::service::{audit, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create)).routes(routes!(list)).routes(routes!(revoke))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ApiKeyCreate {
    name: Option<String>,
    /// Optional owner inside the caller's client.
    user_id: Option<String>,
    /// `read_only`, `integrator` or `admin`. Default: the widest the caller
    /// may hand out; never wider than the calling key's scope nor than the
    /// owner's role (a viewer's key is `read_only`).
    #[schema(example = "integrator")]
    scope: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    id: String,
    client_id: String,
    user_id: Option<String>,
    name: String,
    /// The first characters of the key, for recognition.
    prefix: String,
    /// What the key may do: `read_only`, `integrator` or `admin`.
    scope: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<entity::api_key::Model> for ApiKeyView {
    fn from(k: entity::api_key::Model) -> Self {
        Self {
            id: k.id,
            client_id: k.client_id,
            user_id: k.user_id,
            name: k.name,
            scope: k.scope.clone().unwrap_or_else(|| "admin".into()),
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    key: ApiKeyView,
    /// The secret. Shown once; only its hash is stored.
    api_key: String,
}

/// Creates an API key for the caller's client (needs an `admin` key). The
/// new key's scope is never wider than the caller's nor its owner's role.
#[utoipa::path(post, path = "/api/v1/api-key/create", tag = "api keys", request_body = ApiKeyCreate,
    security(("bearer" = [])),
    responses((status = 200, body = ApiKeyCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<ApiKeyCreate>,
) -> AppResult<Json<ApiKeyCreated>> {
    let scope = body.scope.as_deref().map(|s| tenancy::KeyScope::parse("scope", s)).transpose()?;
    let created = tenancy::create_api_key_with_scope(
        &state.db,
        &caller.client_id,
        body.user_id.as_deref(),
        body.name.as_deref(),
        scope,
        caller.scope,
    )
    .await?;
    let actor = audit::Actor::ApiKey { client_id: caller.client_id, key_id: caller.key_id };
    audit::record(&state.db, &actor, "api_key.create", Some(("api_key", &created.model.id)), None, None).await?;
    Ok(Json(ApiKeyCreated { key: created.model.into(), api_key: created.plaintext }))
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ApiKeyListRequest {}

/// Lists the caller's client's API keys (never the secrets).
#[utoipa::path(post, path = "/api/v1/api-key/list", tag = "api keys", request_body = ApiKeyListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList),
        (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list(State(state): State<AppState>, caller: ApiCaller) -> AppResult<Json<ApiKeyList>> {
    let keys = tenancy::list_api_keys(&state.db, &caller.client_id).await?;
    Ok(Json(ApiKeyList { api_keys: keys.into_iter().map(Into::into).collect() }))
}

#[derive(Deserialize, ToSchema)]
pub struct ApiKeyRevoke {
    id: String,
}

/// Revokes one of the caller's client's keys; another client's key id is 404.
#[utoipa::path(post, path = "/api/v1/api-key/revoke", tag = "api keys", request_body = ApiKeyRevoke,
    security(("bearer" = [])),
    responses((status = 200, body = ApiKeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn revoke(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<ApiKeyRevoke>,
) -> AppResult<Json<ApiKeyView>> {
    let key = tenancy::revoke_api_key(&state.db, &caller.client_id, &body.id).await?;
    let actor = audit::Actor::ApiKey { client_id: caller.client_id, key_id: caller.key_id };
    audit::record(&state.db, &actor, "api_key.revoke", Some(("api_key", &key.id)), None, None).await?;
    Ok(Json(key.into()))
}
