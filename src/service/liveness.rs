//! Liveness sessions: a signed, expiring challenge token for the SDK, and
//! intake of the frames it sends back. The liveness engine (a later issue)
//! decides `liveness_detected`; until it exists the check is `unavailable`.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{AppError, AppResult};
use crate::ids::random_token;
use crate::service::files::{ValidImage, validate_image_async};
use crate::service::types::{LivenessMode, StorageFileType};
use crate::storage::MasterKey;

/// Most frames one process call may carry (passive + 4 active steps).
pub const MAX_FRAMES: usize = 5;
const TOKEN_TTL_MINUTES: i64 = 15;

/// What the token carries (signed, not secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Challenge {
    pub session_id: String,
    pub nonce: String,
    pub mode: LivenessMode,
    /// Active steps in the order the user must perform them (empty for passive).
    pub steps: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

fn signing_key(master: &MasterKey) -> Vec<u8> {
    // A purpose-bound key derived from the master key.
    let mut mac = Hmac::<Sha256>::new_from_slice(master.to_base64().as_bytes()).expect("hmac key");
    mac.update(b"tessera liveness token v1");
    mac.finalize().into_bytes().to_vec()
}

/// A fresh challenge: active steps in random order for `passive_active`.
pub fn new_challenge(session_id: &str, mode: LivenessMode) -> Challenge {
    use rand::seq::SliceRandom;
    let mut steps: Vec<String> = match mode {
        LivenessMode::Passive => vec![],
        LivenessMode::PassiveActive => ["turn_left", "turn_right", "look_up", "smile"].iter().map(|s| s.to_string()).collect(),
    };
    steps.shuffle(&mut rand::rngs::OsRng);
    Challenge {
        session_id: session_id.to_string(),
        nonce: random_token(24),
        mode,
        steps,
        expires_at: Utc::now() + Duration::minutes(TOKEN_TTL_MINUTES),
    }
}

/// `base64url(json).base64url(hmac-sha256)`.
pub fn sign(master: &MasterKey, challenge: &Challenge) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.encode(serde_json::to_vec(challenge).expect("challenge serializes"));
    let mut mac = Hmac::<Sha256>::new_from_slice(&signing_key(master)).expect("hmac key");
    mac.update(body.as_bytes());
    format!("{body}.{}", b64.encode(mac.finalize().into_bytes()))
}

/// Verifies signature, session and expiry.
pub fn verify(master: &MasterKey, token: &str, session_id: &str, now: DateTime<Utc>) -> AppResult<Challenge> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bad = || AppError::validation("token", "the liveness token is invalid");
    let (body, sig) = token.split_once('.').ok_or_else(bad)?;
    let sig = b64.decode(sig).map_err(|_| bad())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&signing_key(master)).expect("hmac key");
    mac.update(body.as_bytes());
    mac.verify_slice(&sig).map_err(|_| bad())?;
    let challenge: Challenge = serde_json::from_slice(&b64.decode(body).map_err(|_| bad())?).map_err(|_| bad())?;
    if challenge.session_id != session_id {
        return Err(bad());
    }
    if challenge.expires_at < now {
        return Err(AppError::Conflict("the liveness token has expired; generate a new one".into()));
    }
    Ok(challenge)
}

/// Decodes and validates the base64 frames of a process call. Accepts plain
/// base64 or a `data:image/...;base64,` URL.
pub async fn decode_frames(images: &[String]) -> AppResult<Vec<ValidImage>> {
    if images.is_empty() {
        return Err(AppError::validation("images", "at least one image is required"));
    }
    if images.len() > MAX_FRAMES {
        return Err(AppError::validation("images", format!("at most {MAX_FRAMES} images")));
    }
    let mut out = Vec::with_capacity(images.len());
    for (i, raw) in images.iter().enumerate() {
        let field = format!("images[{i}]");
        let data = raw.split_once(";base64,").map(|(_, d)| d).unwrap_or(raw).trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(data))
            .map_err(|_| AppError::validation(&field, "is not valid base64"))?;
        out.push(validate_image_async(&field, bytes).await?);
    }
    Ok(out)
}

/// The storage type of frame `i`: the first is the passive frame, the next
/// four the active steps.
pub fn frame_file_type(i: usize) -> StorageFileType {
    match i {
        0 => StorageFileType::LivenessPassive,
        1 => StorageFileType::LivenessActiveStep1,
        2 => StorageFileType::LivenessActiveStep2,
        3 => StorageFileType::LivenessActiveStep3,
        _ => StorageFileType::LivenessActiveStep4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_reject_tampering() {
        let master = MasterKey::generate();
        let c = new_challenge("s1", LivenessMode::PassiveActive);
        assert_eq!(c.steps.len(), 4);
        let token = sign(&master, &c);
        assert_eq!(verify(&master, &token, "s1", Utc::now()).unwrap(), c);
        assert!(verify(&master, &token, "s2", Utc::now()).is_err());
        assert!(verify(&MasterKey::generate(), &token, "s1", Utc::now()).is_err());
        let later = Utc::now() + Duration::hours(1);
        assert_eq!(verify(&master, &token, "s1", later).unwrap_err().status().as_u16(), 409);
        let mut t = token.clone();
        t.insert(3, 'x');
        assert!(verify(&master, &t, "s1", Utc::now()).is_err());
    }
}
