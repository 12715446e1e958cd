//! Azure AI Face liveness (v1.2 "detectLiveness-sessions") behind the
//! [`LivenessEngine`] trait.
//!
//! The flow Azure prescribes: the server creates a session with its key and
//! hands only the session's `authToken` to the client SDK; the Azure client
//! SDK captures and uploads on its own; the server then fetches the result
//! with its key. Tessera maps it onto its two SDK calls: `liveness/generate`
//! creates the Azure session and answers the `authToken` as `token` (the
//! Azure session id is kept server-side in the session history);
//! `liveness/process` marks the capture done and queues the analysis job,
//! which calls [`AzureLivenessEngine::check`] with the session id in the
//! challenge (`azure_session_id`).
//!
//! Engines hold no configuration of their own: the settings come from the
//! client's row (see `service::liveness::azure_settings`), per client.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::engine::{EngineError, EngineFuture, LivenessEngine, LivenessInput, LivenessResult};
use crate::domain::LivenessMode;

pub const DEFAULT_API_VERSION: &str = "v1.2";
const TIMEOUT: Duration = Duration::from_secs(20);
/// Seconds the client SDK's auth token lives (Azure's range: 60..86400).
pub const AUTH_TOKEN_TTL_SECONDS: u32 = 900;

/// A client's Azure Face resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureSettings {
    /// `https://{resource}.cognitiveservices.azure.com` (no path).
    pub endpoint: String,
    /// The resource key (`Ocp-Apim-Subscription-Key`).
    pub api_key: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_string()
}

/// What `create session` answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureSession {
    pub session_id: String,
    pub auth_token: String,
}

/// The Azure Face liveness client of one client's resource.
#[derive(Clone)]
pub struct AzureLivenessEngine {
    settings: AzureSettings,
    http: reqwest::Client,
}

fn transport(e: reqwest::Error) -> EngineError {
    EngineError::Transient(format!("Azure Face liveness request failed: {e}"))
}

impl AzureLivenessEngine {
    pub fn new(settings: AzureSettings) -> Result<Self, String> {
        let endpoint = url::Url::parse(settings.endpoint.trim())
            .map_err(|e| format!("the Azure Face endpoint is not a URL: {e}"))?;
        if !matches!(endpoint.scheme(), "https" | "http") {
            return Err("the Azure Face endpoint must be an https URL".into());
        }
        if settings.api_key.trim().is_empty() {
            return Err("the Azure Face key is empty".into());
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { settings, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/face/{}/{}", self.settings.endpoint.trim().trim_end_matches('/'), self.settings.api_version, path)
    }

    /// Maps a non-success status: 5xx and 429 are worth a retry, the rest is an answer.
    async fn status_error(resp: reqwest::Response) -> EngineError {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let text = format!("Azure Face liveness answered {status}: {message}");
        if status.is_server_error() || status.as_u16() == 429 {
            EngineError::Transient(text)
        } else {
            EngineError::Unavailable(text)
        }
    }

    /// Creates a liveness session; its `auth_token` goes to the client SDK.
    pub async fn create_session(&self, mode: LivenessMode, device_correlation_id: &str) -> Result<AzureSession, EngineError> {
        let operation_mode = match mode {
            LivenessMode::Passive => "Passive",
            LivenessMode::PassiveActive => "PassiveActive",
        };
        let body = json!({
            "livenessOperationMode": operation_mode,
            "deviceCorrelationId": device_correlation_id,
            "authTokenTimeToLiveInSeconds": AUTH_TOKEN_TTL_SECONDS,
        });
        let resp = self
            .http
            .post(self.url("detectLiveness-sessions"))
            .header("Ocp-Apim-Subscription-Key", self.settings.api_key.trim())
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(Self::status_error(resp).await);
        }
        resp.json::<AzureSession>()
            .await
            .map_err(|e| EngineError::Unavailable(format!("Azure Face liveness: unexpected create answer: {e}")))
    }

    /// Fetches a session's result and turns it into a verdict.
    pub async fn session_result(&self, session_id: &str) -> Result<LivenessResult, EngineError> {
        if session_id.is_empty() || !session_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(EngineError::InvalidInput("invalid Azure liveness session id".into()));
        }
        let resp = self
            .http
            .get(self.url(&format!("detectLiveness-sessions/{session_id}")))
            .header("Ocp-Apim-Subscription-Key", self.settings.api_key.trim())
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(Self::status_error(resp).await);
        }
        let body: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| EngineError::Unavailable(format!("Azure Face liveness: unexpected result: {e}")))?;
        interpret_session(&body)
    }
}

/// Reads a v1.2 `LivenessSession`: the latest attempt decides.
pub fn interpret_session(body: &serde_json::Value) -> Result<LivenessResult, EngineError> {
    let status = body.get("status").and_then(|s| s.as_str()).unwrap_or("");
    let attempts = body.pointer("/results/attempts").and_then(|a| a.as_array()).cloned().unwrap_or_default();
    let latest = attempts.iter().max_by_key(|a| a.get("attemptId").and_then(|i| i.as_i64()).unwrap_or(0));
    let model = body.get("modelVersion").cloned().unwrap_or(serde_json::Value::Null);
    let Some(attempt) = latest else {
        return match status {
            "NotStarted" | "Running" | "" => {
                Err(EngineError::Transient(format!("the Azure liveness session has no attempt yet (status {status:?})")))
            }
            other => Err(EngineError::InvalidInput(format!("the Azure liveness session ended without an attempt ({other})"))),
        };
    };
    let attempt_status = attempt.get("attemptStatus").and_then(|s| s.as_str()).unwrap_or("");
    if attempt_status != "Succeeded" {
        let error = attempt.pointer("/error/message").and_then(|m| m.as_str()).unwrap_or("no detail");
        return Err(EngineError::InvalidInput(format!("the Azure liveness attempt {attempt_status}: {error}")));
    }
    let decision = attempt.pointer("/result/livenessDecision").and_then(|d| d.as_str()).unwrap_or("uncertain");
    let (is_live, score) = match decision {
        "realface" => (true, 1.0),
        "spoofface" => (false, 0.0),
        _ => (false, 0.5),
    };
    let evidence = json!({
        "provider": "azure",
        "session_status": status,
        "model_version": model,
        "attempt_id": attempt.get("attemptId"),
        "liveness_decision": decision,
        "digest": attempt.pointer("/result/digest"),
        "session_image_id": attempt.pointer("/result/sessionImageId"),
    });
    Ok(LivenessResult { is_live, score, detail: format!("Azure Face liveness decision: {decision}"), evidence: Some(evidence) })
}

impl LivenessEngine for AzureLivenessEngine {
    fn version(&self) -> String {
        format!("azure-face-liveness {}", self.settings.api_version)
    }

    fn check(&self, input: LivenessInput) -> EngineFuture<'_, LivenessResult> {
        Box::pin(async move {
            let session_id = input
                .challenge
                .as_ref()
                .and_then(|c| c.get("azure_session_id"))
                .and_then(|s| s.as_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    EngineError::InvalidInput("no Azure liveness session: call liveness/generate before process".into())
                })?;
            self.session_result(&session_id).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_attempt_decides() {
        let body = json!({"sessionId": "s", "status": "Succeeded", "modelVersion": "2024-11-15", "results": {"attempts": [
            {"attemptId": 1, "attemptStatus": "Succeeded", "result": {"livenessDecision": "spoofface"}},
            {"attemptId": 2, "attemptStatus": "Succeeded", "result": {"livenessDecision": "realface", "digest": "d"}}
        ]}});
        let r = interpret_session(&body).unwrap();
        assert!(r.is_live);
        assert_eq!(r.evidence.unwrap()["attempt_id"], 2);
        let spoof = json!({"status": "Succeeded", "results": {"attempts": [
            {"attemptId": 1, "attemptStatus": "Succeeded", "result": {"livenessDecision": "spoofface"}}]}});
        assert!(!interpret_session(&spoof).unwrap().is_live);
    }

    #[test]
    fn no_attempt_yet_is_retried_and_a_failed_attempt_is_not() {
        let pending = json!({"status": "NotStarted", "results": {"attempts": []}});
        assert!(interpret_session(&pending).unwrap_err().is_retryable());
        let failed = json!({"status": "Succeeded", "results": {"attempts": [
            {"attemptId": 1, "attemptStatus": "Failed", "error": {"code": "FaceWithMaskDetected", "message": "mask"}}]}});
        assert!(!interpret_session(&failed).unwrap_err().is_retryable());
    }

    #[test]
    fn settings_are_checked() {
        let ok = AzureSettings { endpoint: "https://x.cognitiveservices.azure.com".into(), api_key: "k".into(), api_version: "v1.2".into() };
        let engine = AzureLivenessEngine::new(ok.clone()).unwrap();
        assert_eq!(engine.url("detectLiveness-sessions"), "https://x.cognitiveservices.azure.com/face/v1.2/detectLiveness-sessions");
        assert!(AzureLivenessEngine::new(AzureSettings { endpoint: "ftp://x".into(), ..ok.clone() }).is_err());
        assert!(AzureLivenessEngine::new(AzureSettings { api_key: " ".into(), ..ok }).is_err());
    }
}
