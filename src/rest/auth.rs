//! Admin login / logout / whoami over the database-backed cookie session.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::login::{self, AdminUser, SESSION_CSRF_KEY, SESSION_USER_KEY};
use crate::error::{AppError, AppResult, Problem};
use crate::ids::random_token;
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::{audit, login_throttle, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login_handler)).routes(routes!(logout)).routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// The logged-in account. `csrf_token` must be sent as `X-CSRF-Token` on
/// every cookie-authenticated write.
#[derive(Serialize, ToSchema)]
pub struct Me {
    user_id: String,
    email: String,
    role: String,
    client_id: String,
    is_platform: bool,
    csrf_token: String,
}

/// Logs in with email and password; sets an HttpOnly, SameSite=Strict
/// session cookie (a new session id on every login).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = Me),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn login_handler(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<LoginRequest>,
) -> AppResult<Json<Me>> {
    // The attempt is counted before the password is checked, in the same
    // statement that decides, so concurrent guesses cannot all slip under it.
    let keys = login_throttle::LoginKeys::new(&body.email, ip.as_deref());
    login_throttle::take_slot(&state.db, &keys, state.config.login_max_failures, state.config.login_window_secs).await?;
    let user = tenancy::find_user_by_email(&state.db, &body.email).await?;
    let phc = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| login::dummy_hash().to_string());
    let password = body.password.clone();
    let password_ok = tokio::task::spawn_blocking(move || login::verify_password(&password, &phc))
        .await
        .map_err(AppError::internal)?;
    let user = match user {
        Some(u) if password_ok && !u.disabled => u,
        other => {
            let actor = match &other {
                Some(u) => audit::Actor::User { client_id: u.client_id.clone(), user_id: u.id.clone() },
                None => audit::Actor::System,
            };
            audit::record(&state.db, &actor, "login_failed", None, ip, None).await?;
            return Err(AppError::Unauthenticated("wrong email or password".into()));
        }
    };
    login_throttle::succeeded(&state.db, &keys).await?;
    // A fresh session id at every login defeats session fixation.
    session.cycle_id().await.map_err(AppError::internal)?;
    let nonce = random_token(32);
    session.insert(SESSION_USER_KEY, &user.id).await.map_err(AppError::internal)?;
    session.insert(SESSION_CSRF_KEY, &nonce).await.map_err(AppError::internal)?;
    let csrf = login::csrf_token(&state, &nonce);
    tenancy::touch_last_login(&state.db, &user.id).await?;
    let actor = audit::Actor::User { client_id: user.client_id.clone(), user_id: user.id.clone() };
    audit::record(&state.db, &actor, "login", Some(("user", &user.id)), ip, None).await?;
    let client = tenancy::find_client(&state.db, &user.client_id).await?.ok_or_else(|| AppError::not_found("client"))?;
    Ok(Json(Me {
        user_id: user.id,
        email: user.email,
        role: user.role,
        client_id: client.id,
        is_platform: client.is_platform,
        csrf_token: csrf,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// Ends the login session (needs `X-CSRF-Token`).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("admin_session" = [])), responses(
    (status = 200, body = Empty),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn logout(State(state): State<AppState>, user: AdminUser, session: Session) -> AppResult<Json<Empty>> {
    session.flush().await.map_err(AppError::internal)?;
    let actor = audit::Actor::User { client_id: user.client_id, user_id: user.user_id.clone() };
    audit::record(&state.db, &actor, "logout", Some(("user", &user.user_id)), None, None).await?;
    Ok(Json(Empty {}))
}

/// The logged-in account and its CSRF token.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("admin_session" = [])), responses(
    (status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn me(State(state): State<AppState>, user: AdminUser, session: Session) -> AppResult<Json<Me>> {
    let nonce: Option<String> = session.get(SESSION_CSRF_KEY).await.map_err(AppError::internal)?;
    let csrf = nonce.map(|n| login::csrf_token(&state, &n)).unwrap_or_default();
    Ok(Json(Me {
        user_id: user.user_id,
        email: user.email,
        role: user.role,
        client_id: user.client_id,
        is_platform: user.is_platform,
        csrf_token: csrf,
    }))
}
