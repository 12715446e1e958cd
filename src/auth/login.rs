//! Admin login: argon2id passwords, a server-side session (tower-sessions
//! over the database), CSRF tokens for cookie-authenticated writes, and a
//! failed-login rate limit (`service::login_throttle`).

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::error::AppError;
use crate::ids::secure_eq;
use crate::state::AppState;

pub const SESSION_USER_KEY: &str = "user_id";
/// The session stores a random nonce; the CSRF token is its HMAC under the
/// master key ([`csrf_token`]), so a copy of the database holds no token.
pub const SESSION_CSRF_KEY: &str = "csrf_nonce";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_COOKIE: &str = "tessera_session";

pub use crate::service::passwords::{hash_password, verify_password};

/// The CSRF token of a session whose stored nonce is `nonce`.
pub fn csrf_token(state: &AppState, nonce: &str) -> String {
    state.storage.master_key().mac_hex(b"csrf", nonce.as_bytes())
}

/// Whether `presented` is the CSRF token of the nonce under the current
/// master key or a previous one (a login from before a key rotation keeps working).
fn csrf_matches(state: &AppState, nonce: &str, presented: &str) -> bool {
    state.storage.master_key().versions().any(|key| secure_eq(&key.mac_hex(b"csrf", nonce.as_bytes()), presented))
}

/// A PHC hash of a random password, verified against when the email is
/// unknown so that timing does not reveal which accounts exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&crate::ids::random_token(24)).expect("argon2 works"))
}

/// A logged-in dashboard/admin user. Extracting it on a state-changing
/// method also checks the CSRF header against the session's token.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub user_id: String,
    pub client_id: String,
    pub email: String,
    pub role: String,
    pub is_platform: bool,
}

impl AdminUser {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Admins and reviewers work the review queue.
    pub fn can_review(&self) -> bool {
        self.role == "admin" || self.role == "reviewer"
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("this action needs the admin role".into()))
        }
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::internal("session layer missing"))?;
        let user_id: String = session
            .get(SESSION_USER_KEY)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::Unauthenticated("log in first".into()))?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let nonce: Option<String> = session.get(SESSION_CSRF_KEY).await.map_err(AppError::internal)?;
            let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            match (nonce, presented) {
                (Some(n), Some(p)) if csrf_matches(state, &n, p) => {}
                _ => {
                    return Err(AppError::Forbidden(
                        "missing or wrong X-CSRF-Token header for a cookie-authenticated write".into(),
                    ));
                }
            }
        }
        let (user, client) = crate::service::tenancy::find_user_with_client(&state.db, &user_id)
            .await?
            .ok_or_else(|| AppError::Unauthenticated("the account no longer exists".into()))?;
        if user.disabled {
            return Err(AppError::Unauthenticated("the account is disabled".into()));
        }
        Ok(AdminUser {
            user_id: user.id,
            client_id: client.id,
            email: user.email,
            role: user.role,
            is_platform: client.is_platform,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_when_right() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
