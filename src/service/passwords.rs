//! Password hashing (argon2id, PHC strings) and the API key prefix: the
//! credentials the tenancy service mints and the auth extractors check.

/// Recognisable prefix of every API key (secret scanners can match it).
pub const KEY_PREFIX: &str = "tsk_";

/// Hashes a password with argon2id (blocking: call from `spawn_blocking`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Verifies a password against a PHC string (blocking).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}
