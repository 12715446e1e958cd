//! The review settings of a client, kept in `client.settings.review`:
//! four-eyes, the SLA and the reason codes an analyst picks from.

use chrono::Utc;
use entity::client;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ReviewAction;
use crate::error::{AppError, AppResult};

/// Key of the review settings inside `client.settings`.
const SETTINGS_KEY: &str = "review";
/// Longest reason code, most codes per list.
const MAX_CODE_LEN: usize = 64;
const MAX_CODES: usize = 50;
/// Longest SLA: 90 days.
const MAX_SLA_HOURS: u32 = 24 * 90;

/// Reason codes of approvals, of rejections and of resubmission requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonCodes {
    pub approve: Vec<String>,
    pub reject: Vec<String>,
    pub resubmit: Vec<String>,
}

impl Default for ReasonCodes {
    fn default() -> Self {
        let v = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect();
        Self {
            approve: v(&[
                "documents_verified_manually",
                "ocr_misread",
                "false_positive_match",
                "dmv_record_outdated",
                "other",
            ]),
            reject: v(&[
                "document_tampered",
                "document_invalid",
                "face_mismatch",
                "sanctions_match",
                "duplicate_identity",
                "poor_image_quality",
                "suspected_fraud",
                "other",
            ]),
            resubmit: v(&["document_unreadable", "document_cropped", "glare", "selfie_unclear", "wrong_document", "other"]),
        }
    }
}

/// A client's review settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewSettings {
    /// A decision takes effect only when a second, different person confirms it.
    pub four_eyes: bool,
    /// Hours from opening until a case is overdue.
    pub sla_hours: u32,
    pub reason_codes: ReasonCodes,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self { four_eyes: false, sla_hours: 24, reason_codes: ReasonCodes::default() }
    }
}

impl ReviewSettings {
    /// The codes an action may carry.
    pub fn codes_for(&self, action: ReviewAction) -> &[String] {
        match action {
            ReviewAction::Approve => &self.reason_codes.approve,
            ReviewAction::Reject => &self.reason_codes.reject,
        }
    }
}

/// Changes to the settings; absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChanges {
    pub four_eyes: Option<bool>,
    pub sla_hours: Option<u32>,
    pub approve_codes: Option<Vec<String>>,
    pub reject_codes: Option<Vec<String>>,
    pub resubmit_codes: Option<Vec<String>>,
}

/// The stored settings (defaults for what was never set).
pub fn of_client(c: &client::Model) -> ReviewSettings {
    c.settings.get(SETTINGS_KEY).cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

pub async fn get(db: &impl ConnectionTrait, client_id: &str) -> AppResult<ReviewSettings> {
    let c = client::Entity::find_by_id(client_id.to_string()).one(db).await?.ok_or_else(|| AppError::not_found("client"))?;
    Ok(of_client(&c))
}

fn codes(field: &str, list: Vec<String>) -> AppResult<Vec<String>> {
    if list.is_empty() || list.len() > MAX_CODES {
        return Err(AppError::validation(field, format!("must list 1 to {MAX_CODES} codes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, code) in list.into_iter().enumerate() {
        let code = code.trim().to_string();
        let ok = !code.is_empty()
            && code.len() <= MAX_CODE_LEN
            && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(AppError::validation(
                format!("{field}[{i}]"),
                format!("a reason code is 1 to {MAX_CODE_LEN} of a-z, 0-9 and _"),
            ));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// Applies `changes` (validated; a bad value is a 400 naming the field) and stores them.
pub async fn update(db: &impl ConnectionTrait, client_id: &str, changes: SettingsChanges) -> AppResult<ReviewSettings> {
    let c = client::Entity::find_by_id(client_id.to_string()).one(db).await?.ok_or_else(|| AppError::not_found("client"))?;
    let mut s = of_client(&c);
    if let Some(v) = changes.four_eyes {
        s.four_eyes = v;
    }
    if let Some(h) = changes.sla_hours {
        if h == 0 || h > MAX_SLA_HOURS {
            return Err(AppError::validation("sla_hours", format!("must be 1 to {MAX_SLA_HOURS}")));
        }
        s.sla_hours = h;
    }
    if let Some(list) = changes.approve_codes {
        s.reason_codes.approve = codes("approve_codes", list)?;
    }
    if let Some(list) = changes.reject_codes {
        s.reason_codes.reject = codes("reject_codes", list)?;
    }
    if let Some(list) = changes.resubmit_codes {
        s.reason_codes.resubmit = codes("resubmit_codes", list)?;
    }
    let mut all = c.settings.clone();
    if !all.is_object() {
        all = serde_json::json!({});
    }
    all[SETTINGS_KEY] = serde_json::to_value(&s).map_err(AppError::internal)?;
    let mut am: client::ActiveModel = c.into();
    am.settings = Set(all);
    am.updated_at = Set(Utc::now());
    am.update(db).await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_and_deduplicated() {
        assert_eq!(codes("c", vec!["a_1".into(), " a_1 ".into()]).unwrap(), vec!["a_1".to_string()]);
        assert_eq!(codes("c", vec!["ok".into(), "Bad Code".into()]).unwrap_err().field_errors()[0].field, "c[1]");
        assert!(codes("c", vec![]).is_err());
    }

    #[test]
    fn missing_settings_read_as_defaults() {
        let s: ReviewSettings = serde_json::from_value(serde_json::to_value(ReviewSettings::default()).unwrap()).unwrap();
        assert!(!s.four_eyes && s.sla_hours == 24);
        assert!(s.codes_for(ReviewAction::Reject).iter().any(|c| c == "document_tampered"));
    }
}
