//! Liveness sessions: a signed, expiring challenge token for the SDK, and
//! intake of the frames it sends back, the challenge the analysis checks
//! them against, and the per-client provider (local or Azure Face).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;

use entity::{client, session_event, weights};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::engine::liveness::azure::{self, AzureLivenessEngine, AzureSettings};
use crate::engine::{EngineKind, LivenessEngine, LivenessTolerances};
use crate::error::{AppError, AppResult};
use crate::ids::random_token;
use crate::service::files::{ValidImage, validate_image_async};
use crate::service::types::{LivenessMode, LivenessProvider, StorageFileType};
use crate::state::AppState;
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
/// The token a capture presents: absent is `None`; present but empty (or
/// blank) is a 400, never read as "no token".
pub fn presented_token(token: Option<&str>) -> AppResult<Option<&str>> {
    match token.map(str::trim) {
        None => Ok(None),
        Some("") => Err(AppError::validation("token", "is empty; omit the field or send the token of liveness/generate")),
        Some(t) => Ok(Some(t)),
    }
}

pub fn verify(master: &MasterKey, token: &str, session_id: &str, now: DateTime<Utc>) -> AppResult<Challenge> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bad = || AppError::validation("token", "the liveness token is invalid");
    let (body, sig) = token.split_once('.').ok_or_else(bad)?;
    let sig = b64.decode(sig).map_err(|_| bad())?;
    // Signed under the current master key, or a previous one during a key rotation.
    let signed_by_a_held_key = master.versions().any(|key| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&signing_key(&key)).expect("hmac key");
        mac.update(body.as_bytes());
        mac.verify_slice(&sig).is_ok()
    });
    if !signed_by_a_held_key {
        return Err(bad());
    }
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

/// The history event written by every liveness generate.
pub const GENERATED_EVENT: &str = "liveness_generated";

/// What a generate call records in its history event: enough to rebuild
/// the issued challenge for the analysis (steps in order, nonce, expiry) and,
/// for the Azure provider, the Azure session id. Stays server-side.
pub fn generated_detail(challenge: &Challenge, azure_session_id: Option<&str>) -> serde_json::Value {
    let mut detail = serde_json::json!({
        "nonce": challenge.nonce,
        "mode": challenge.mode,
        "steps": challenge.steps,
        "expires_at": challenge.expires_at,
    });
    if let Some(id) = azure_session_id {
        detail["provider"] = serde_json::json!(LivenessProvider::Azure.as_str());
        detail["azure_session_id"] = serde_json::json!(id);
    }
    detail
}

/// The history event written by every liveness process call; its detail
/// carries the nonce of the challenge the call answered.
pub const PROCESSED_EVENT: &str = "liveness_processed";

/// A liveness challenge answers one process call: refuses (409) a nonce a
/// process call of this session already used. Run it inside the
/// transaction that records the new `liveness_processed` event.
pub async fn ensure_nonce_unused(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    nonce: &str,
) -> AppResult<()> {
    let processed = session_event::Entity::find()
        .filter(session_event::Column::ClientId.eq(client_id))
        .filter(session_event::Column::SessionId.eq(session_id))
        .filter(session_event::Column::Event.eq(PROCESSED_EVENT))
        .all(db)
        .await?;
    let used = processed.iter().any(|e| e.detail.as_ref().and_then(|d| d.get("nonce")).and_then(|n| n.as_str()) == Some(nonce));
    if used {
        return Err(AppError::Conflict(
            "the liveness token was already used: each challenge answers one process call; generate a new one".into(),
        ));
    }
    Ok(())
}

/// The challenge a liveness job hands the engine: the one the process call
/// proved (its token), else the latest generate of the session.
pub async fn issued_challenge(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    proved: Option<&Challenge>,
) -> AppResult<Option<serde_json::Value>> {
    let latest = session_event::Entity::find()
        .filter(session_event::Column::ClientId.eq(client_id))
        .filter(session_event::Column::SessionId.eq(session_id))
        .filter(session_event::Column::Event.eq(GENERATED_EVENT))
        .order_by_desc(session_event::Column::At)
        .order_by_desc(session_event::Column::Id)
        .one(db)
        .await?
        .and_then(|e| e.detail);
    Ok(match proved {
        Some(c) => {
            // The token names the challenge; the event of that nonce adds the provider facts.
            let mut value = serde_json::to_value(c).map_err(AppError::internal)?;
            if let Some(d) = latest.as_ref().filter(|d| d.get("nonce").and_then(|n| n.as_str()) == Some(c.nonce.as_str())) {
                if let Some(id) = d.get("azure_session_id") {
                    value["azure_session_id"] = id.clone();
                }
            }
            Some(value)
        }
        None => latest,
    })
}

/// A started capture: what the SDK gets and what the history records.
pub struct StartedCapture {
    /// For the local provider the signed challenge; for Azure the Azure
    /// session's `authToken` for the Azure client SDK.
    pub token: String,
    pub provider: LivenessProvider,
    /// The `liveness_generated` event detail ([`generated_detail`]).
    pub detail: serde_json::Value,
}

/// Starts a liveness capture with the client's provider.
pub async fn start_capture(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    client_id: &str,
    session_id: &str,
    mode: LivenessMode,
) -> AppResult<StartedCapture> {
    let client = client::Entity::find_by_id(client_id.to_string()).one(db).await?.ok_or_else(|| AppError::not_found("client"))?;
    let (provider, settings) = client_provider(master, &client)?;
    let challenge = new_challenge(session_id, mode);
    if provider != LivenessProvider::Azure {
        let token = sign(master, &challenge);
        return Ok(StartedCapture { token, provider: LivenessProvider::Local, detail: generated_detail(&challenge, None) });
    }
    let settings = settings.ok_or_else(|| AppError::Unavailable("the client's Azure Face liveness is not configured".into()))?;
    let engine = AzureLivenessEngine::new(settings).map_err(AppError::Unavailable)?;
    // Azure runs its own active steps: the local challenge keeps only nonce and expiry.
    let challenge = Challenge { steps: Vec::new(), ..challenge };
    let session = engine.create_session(mode, session_id).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(StartedCapture {
        token: session.auth_token,
        provider: LivenessProvider::Azure,
        detail: generated_detail(&challenge, Some(&session.session_id)),
    })
}

/// Rebuilds the challenge of a `liveness_generated` event detail.
pub fn challenge_from_detail(session_id: &str, detail: &serde_json::Value) -> Option<Challenge> {
    Some(Challenge {
        session_id: session_id.to_string(),
        nonce: detail.get("nonce")?.as_str()?.to_string(),
        mode: serde_json::from_value(detail.get("mode")?.clone()).ok()?,
        steps: serde_json::from_value(detail.get("steps")?.clone()).ok()?,
        expires_at: serde_json::from_value(detail.get("expires_at")?.clone()).ok()?,
    })
}

/// The provider a session's capture was started with (`liveness_provider`).
pub async fn session_provider(
    db: &impl ConnectionTrait,
    kind: crate::service::history::SessionKind,
    client_id: &str,
    session_id: &str,
) -> AppResult<LivenessProvider> {
    use crate::service::history::SessionKind;
    let provider = match kind {
        SessionKind::Idv => entity::idv_session::Entity::find_by_id(session_id.to_string())
            .filter(entity::idv_session::Column::ClientId.eq(client_id))
            .one(db)
            .await?
            .map(|s| s.liveness_provider),
        SessionKind::Ida => entity::ida_session::Entity::find_by_id(session_id.to_string())
            .filter(entity::ida_session::Column::ClientId.eq(client_id))
            .one(db)
            .await?
            .map(|s| s.liveness_provider),
    };
    Ok(provider.map(|p| LivenessProvider::from_db(&p)).unwrap_or(LivenessProvider::Local))
}

/// The liveness tolerances of a weights version.
pub async fn tolerances(db: &impl ConnectionTrait, weights_id: &str) -> AppResult<LivenessTolerances> {
    let w = weights::Entity::find_by_id(weights_id.to_string()).one(db).await?;
    Ok(match w {
        Some(w) => LivenessTolerances {
            minimum_liveness: w.minimum_liveness_tolerance,
            passive_active_skip: w.passive_active_skip_tolerance,
            direction_degrees: w.direction_tolerance,
            expression: w.expression_tolerance,
        },
        None => LivenessTolerances::default(),
    })
}

// ---------------------------------------------------------------- providers

/// Key of the client's Azure settings inside `client.settings`.
pub const AZURE_SETTINGS_KEY: &str = "azure_liveness";

/// The associated data a client's Azure key is sealed with.
pub fn azure_key_context(client_id: &str) -> Vec<u8> {
    format!("client:{client_id}:azure_liveness_key").into_bytes()
}

/// A client's liveness provider and, for Azure, its settings (key decrypted).
pub fn client_provider(master: &MasterKey, client: &client::Model) -> AppResult<(LivenessProvider, Option<AzureSettings>)> {
    let provider = LivenessProvider::from_db(&client.liveness_provider);
    let Some(cfg) = client.settings.get(AZURE_SETTINGS_KEY) else {
        return Ok((provider, None));
    };
    let text = |k: &str| cfg.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(text("api_key_sealed"))
        .map_err(|_| AppError::internal("client azure_liveness.api_key_sealed is not base64"))?;
    let key = master.open(&azure_key_context(&client.id), &sealed).map_err(AppError::Internal)?;
    let settings = AzureSettings {
        endpoint: text("endpoint"),
        api_key: String::from_utf8(key).map_err(AppError::internal)?,
        api_version: Some(text("api_version")).filter(|v| !v.is_empty()).unwrap_or_else(|| azure::DEFAULT_API_VERSION.into()),
    };
    Ok((provider, Some(settings)))
}

/// Sets a client's liveness provider (operator action: `tessera client
/// set-liveness`). Azure needs settings, given now or stored before; the key is
/// stored sealed with the master key.
pub async fn configure_provider(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    client_id: &str,
    provider: LivenessProvider,
    azure_settings: Option<AzureSettings>,
) -> AppResult<client::Model> {
    let client = client::Entity::find_by_id(client_id.to_string()).one(db).await?.ok_or_else(|| AppError::not_found("client"))?;
    let mut settings = client.settings.clone();
    if !settings.is_object() {
        settings = serde_json::json!({});
    }
    if let Some(a) = &azure_settings {
        AzureLivenessEngine::new(a.clone()).map_err(|e| AppError::validation("azure", e))?;
        let sealed = master.seal(&azure_key_context(client_id), a.api_key.trim().as_bytes());
        settings[AZURE_SETTINGS_KEY] = serde_json::json!({
            "endpoint": a.endpoint.trim(),
            "api_version": a.api_version,
            "api_key_sealed": base64::engine::general_purpose::STANDARD.encode(sealed),
        });
    }
    if provider == LivenessProvider::Azure && settings.get(AZURE_SETTINGS_KEY).is_none() {
        return Err(AppError::validation("provider", "azure needs an endpoint and a key"));
    }
    let mut row: client::ActiveModel = client.into();
    row.liveness_provider = Set(provider.as_str().to_string());
    row.settings = Set(settings);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// The Azure engine of a client, or why there is none.
pub async fn azure_engine(db: &impl ConnectionTrait, master: &MasterKey, client_id: &str) -> Result<AzureLivenessEngine, String> {
    let client = client::Entity::find_by_id(client_id.to_string())
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "client not found".to_string())?;
    match client_provider(master, &client).map_err(|e| e.to_string())? {
        (_, Some(settings)) => AzureLivenessEngine::new(settings),
        (_, None) => Err("the client's Azure Face liveness is not configured".into()),
    }
}

/// The engine that judges a capture made with `provider` (the session's
/// `liveness_provider`), or the reason the check cannot run.
pub async fn engine_for(state: &AppState, client_id: &str, provider: LivenessProvider) -> Result<Arc<dyn LivenessEngine>, String> {
    match provider {
        LivenessProvider::Azure => {
            let engine = azure_engine(&state.db, state.storage.master_key(), client_id).await?;
            Ok(Arc::new(engine))
        }
        LivenessProvider::Local => state.engines.liveness.clone().ok_or_else(|| EngineKind::Liveness.missing_reason().to_string()),
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

    #[test]
    fn tokens_signed_under_a_previous_master_key_verify_during_a_rotation() {
        let old = MasterKey::generate();
        let token = sign(&old, &new_challenge("s1", LivenessMode::Passive));
        let rotated = MasterKey::generate().with_previous(std::slice::from_ref(&old));
        assert!(verify(&rotated, &token, "s1", Utc::now()).is_ok());
        let new_token = sign(&rotated, &new_challenge("s1", LivenessMode::Passive));
        assert!(verify(&old, &new_token, "s1", Utc::now()).is_err(), "signed under the new current key");
        let without_old = MasterKey::from_base64(&rotated.to_base64()).unwrap();
        assert!(verify(&without_old, &token, "s1", Utc::now()).is_err());
    }
}
