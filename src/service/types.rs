//! Typed values shared by the services and the transports: the API's enums
//! (parsed at the edge, unknown values are a 400 naming the field), paging
//! and filters.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

pub use crate::domain::vocabulary::*;

/// A filter the API reference types as "string or Array of strings", of at
/// most [`MAX_FILTER_IDS`] entries (a longer list is a 400 naming the field).
#[derive(Debug, Clone, ToSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Most ids one list filter may carry: each becomes a bound parameter, and
/// databases cap those per statement.
pub const MAX_FILTER_IDS: usize = 1000;

/// `Err` naming `field` when a list of ids is longer than [`MAX_FILTER_IDS`].
pub fn check_id_list(field: &str, ids: &[String]) -> AppResult<()> {
    if ids.len() > MAX_FILTER_IDS {
        return Err(AppError::validation(field, format!("at most {MAX_FILTER_IDS} ids, got {}", ids.len())));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a string or an array of at most {MAX_FILTER_IDS} strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    if out.len() == MAX_FILTER_IDS {
                        return Err(serde::de::Error::custom(format!("at most {MAX_FILTER_IDS} ids")));
                    }
                    out.push(item);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }
}

pub const DEFAULT_TAKE: u64 = 25;
pub const MAX_TAKE: u64 = 500;
pub const MAX_SKIP: u64 = i64::MAX as u64;
/// Limits of a metadata map: keys, and characters of a key.
pub const METADATA_MAX_KEYS: usize = 50;
pub const METADATA_MAX_KEY_LEN: usize = 100;

/// `take` / `skip` after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub take: u64,
    pub skip: u64,
}

impl Page {
    /// `take` absent or 0 means the default (25); above 500 is a 400.
    pub fn new(take: Option<u64>, skip: Option<u64>) -> AppResult<Self> {
        let take = match take {
            None | Some(0) => DEFAULT_TAKE,
            Some(t) if t > MAX_TAKE => {
                return Err(AppError::validation("take", format!("must be at most {MAX_TAKE}")));
            }
            Some(t) => t,
        };
        // Databases count rows in signed 64 bits: a larger offset is a 400, not a 500.
        let skip = skip.unwrap_or(0);
        if skip > MAX_SKIP {
            return Err(AppError::validation("skip", format!("must be at most {MAX_SKIP}")));
        }
        Ok(Self { take, skip })
    }
}

/// `meta_counts` of every list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetaCounts {
    pub take: u64,
    pub skip: u64,
    /// Rows in this response.
    pub response: u64,
    /// Rows matching the filters.
    pub total: u64,
}

impl MetaCounts {
    pub fn new(page: Page, response: usize, total: u64) -> Self {
        Self { take: page.take, skip: page.skip, response: response as u64, total }
    }
}

/// Parses a list filter date: RFC 3339, or `YYYY-MM-DD` (start of that day
/// for a start bound, end of that day for an end bound). Empty = absent.
pub fn parse_date_bound(field: &str, value: Option<&str>, end: bool) -> AppResult<Option<DateTime<Utc>>> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let t = if end { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
        return Ok(t.map(|t| t.and_utc()));
    }
    Err(AppError::validation(field, "expected an RFC 3339 timestamp or YYYY-MM-DD"))
}

/// Checks a free-form string metadata map (limits keep rows small).
pub fn validate_metadata(field: &str, map: &serde_json::Map<String, serde_json::Value>) -> AppResult<()> {
    if map.len() > METADATA_MAX_KEYS {
        return Err(AppError::validation(field, format!("at most {METADATA_MAX_KEYS} keys")));
    }
    for (k, v) in map {
        if k.is_empty() || k.chars().count() > METADATA_MAX_KEY_LEN {
            return Err(AppError::validation(format!("{field}.{k}"), "keys must be 1 to 100 characters"));
        }
        let len = match v {
            serde_json::Value::String(s) => s.len(),
            other => other.to_string().len(),
        };
        if len > 1000 {
            return Err(AppError::validation(format!("{field}.{k}"), "values must be at most 1000 characters"));
        }
    }
    Ok(())
}

/// The text form of a metadata value (strings as is, others as JSON).
pub fn metadata_value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Empty success body (`{}`), as the API reference documents.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_reject_unknown_values() {
        assert_eq!(DocumentType::parse("passport_card"), Some(DocumentType::PassportCard));
        let e = DocumentType::parse_field("document_type_e", "visa").unwrap_err();
        assert_eq!(e.field_errors()[0].field, "document_type_e");
        let v: Result<LivenessMode, _> = serde_json::from_str("\"active\"");
        assert!(v.is_err());
        assert_eq!(serde_json::to_string(&StorageFileType::LivenessActiveStep3).unwrap(), "\"liveness_active_step_3\"");
    }

    #[test]
    fn paging_defaults_and_limits() {
        assert_eq!(Page::new(None, None).unwrap(), Page { take: 25, skip: 0 });
        assert_eq!(Page::new(Some(0), Some(5)).unwrap(), Page { take: 25, skip: 5 });
        assert!(Page::new(Some(501), None).is_err());
        assert_eq!(Page::new(None, Some(MAX_SKIP)).unwrap().skip, MAX_SKIP);
        assert_eq!(Page::new(None, Some(MAX_SKIP + 1)).unwrap_err().field_errors()[0].field, "skip");
    }

    #[test]
    fn metadata_keys_are_counted_in_characters() {
        let map = |key: String| serde_json::Map::from_iter([(key, serde_json::json!("v"))]);
        assert!(validate_metadata("metadata", &map("é".repeat(METADATA_MAX_KEY_LEN))).is_ok());
        let e = validate_metadata("metadata", &map("é".repeat(METADATA_MAX_KEY_LEN + 1))).unwrap_err();
        assert!(e.field_errors()[0].field.starts_with("metadata."), "{e:?}");
    }

    #[test]
    fn date_bounds() {
        let s = parse_date_bound("start_date", Some("2026-01-02"), false).unwrap().unwrap();
        assert_eq!(s.to_rfc3339(), "2026-01-02T00:00:00+00:00");
        let e = parse_date_bound("end_date", Some("2026-01-02"), true).unwrap().unwrap();
        assert!(e > s);
        assert!(parse_date_bound("start_date", Some("yesterday"), false).is_err());
        assert!(parse_date_bound("start_date", Some(""), false).unwrap().is_none());
    }
}

/// The `settings` of IDA session create; both flags default to `true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdaSettings {
    /// Estimate the selfie's age and compare it with the identity's date of birth.
    #[serde(default = "yes")]
    pub perform_age_test: bool,
    /// Estimate the selfie's sex and compare it with the identity's.
    #[serde(default = "yes")]
    pub perform_gender_test: bool,
}

impl Default for IdaSettings {
    fn default() -> Self {
        Self { perform_age_test: true, perform_gender_test: true }
    }
}

impl IdaSettings {
    /// The stored settings of a session (rows written by this version always parse).
    pub fn of(session: &entity::ida_session::Model) -> Self {
        serde_json::from_value(session.settings.clone()).unwrap_or_default()
    }
}

fn yes() -> bool {
    true
}
