//! The verdict policy: what a failed check does to the verdict. Stored with
//! each weights version (immutable, versioned like the weights), so the
//! integrator decides it — never the end user's device. docs/scoring.md
//! explains each default.
//!
//! Each rule names a family of checks and one [`Action`]:
//!
//! - `score`: the check only counts in the weighted mean (the behaviour
//!   before policies existed);
//! - `knock_out`: a fail rejects the session whatever the score;
//! - `review`: a fail sends the session to review (`verified: false`,
//!   `review_required: true`) unless something rejects it.
//!
//! Knock-out and review checks still count in the score. `face_match` and
//! `liveness` carry no weight, so `score` is not accepted for them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, FieldError};
use crate::domain::checks::names;

/// What a failed check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Counts in the weighted mean only.
    Score,
    /// A fail rejects the session whatever the score.
    KnockOut,
    /// A fail sends the session to review.
    Review,
}

impl Default for Action {
    /// Reasons stored before policies existed read as score contributions.
    fn default() -> Self {
        Action::Score
    }
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Score => "score",
            Action::KnockOut => "knock_out",
            Action::Review => "review",
        }
    }
}

/// Calls `$m!` with every rule: `key => default, [checks], "what it covers"`.
macro_rules! for_each_policy_rule {
    ($m:ident) => {
        $m! {
            suspicious_words => KnockOut, [names::DOC_FRONT_SUSPICIOUS_WORDS, names::DOC_BACK_SUSPICIOUS_WORDS],
                "Words such as SAMPLE, SPECIMEN or VOID on the front or back (`doc_*_suspicious_words`).";
            image_manipulation => KnockOut, [names::DOC_FRONT_IMAGE_MANIPULATION, names::DOC_BACK_IMAGE_MANIPULATION],
                "Signs that an image was edited (`doc_*_image_manipulation`).";
            is_identity_document => KnockOut, [names::DOC_FRONT_IS_IDENTITY_DOCUMENT, names::DOC_BACK_IS_IDENTITY_DOCUMENT],
                "The image is not an identity document (`doc_*_is_identity_document`).";
            online_duplication => KnockOut, [names::DOC_FRONT_ONLINE_DUPLICATION, names::DOC_BACK_ONLINE_DUPLICATION],
                "The same document image or identity in another person's session (`doc_*_online_duplication`).";
            duplicate_face => Review, [names::DUPLICATE_FACE],
                "The face matches an identity with other document data (`duplicate_face`; no weight).";
            document_expiry => KnockOut, [names::DOCUMENT_EXPIRY],
                "The document expired before today in the issuing jurisdiction (`document_expiry`).";
            document_issue_date => Review, [names::DOCUMENT_ISSUE_DATE],
                "The document is not valid yet: issued after today (`document_issue_date`).";
            document_date_order => KnockOut, [names::DOCUMENT_DATE_ORDER],
                "The issue date is after the expiry date (`document_date_order`).";
            birth_date_plausibility => KnockOut, [names::BIRTH_DATE_PLAUSIBILITY],
                "The birth date is in the future, after the issue date, or over 120 years ago (`birth_date_plausibility`).";
            sanctions => KnockOut, [names::OFAC],
                "A sanctions-list hit (`ofac`).";
            pep => Review, [names::PEP],
                "The name matches a politically exposed person (`pep`; no weight).";
            face_match => KnockOut, [names::FACE_MATCH],
                "The selfie does not match the document portrait (`face_match`; `score` not accepted).";
            liveness => KnockOut, [names::LIVENESS],
                "The capture is not of a live person (`liveness`; `score` not accepted).";
            name_crosscheck => Review, [names::NAME_CROSSCHECK],
                "The printed name differs from the barcode/MRZ (`name_crosscheck`).";
            document_number_crosscheck => Review, [names::DOCUMENT_NUMBER_CROSSCHECK],
                "The printed document number differs from the barcode/MRZ (`document_number_crosscheck`).";
            address_crosscheck => Review, [names::ADDRESS_CROSSCHECK],
                "The printed address differs from the barcode (`address_crosscheck`).";
            expiry_crosscheck => Review, [names::EXPIRY_CROSSCHECK],
                "The printed expiry differs from the barcode/MRZ (`expiry_crosscheck`).";
            birth_date_crosscheck => Review, [names::BIRTH_DATE_CROSSCHECK],
                "The printed birth date differs from the barcode/MRZ (`birth_date_crosscheck`).";
            dmv => Review, [names::DMV],
                "The DMV matched fewer fields than `aamva_match_tolerance` (`dmv`).";
            age => Score, [names::AGE],
                "The estimated age differs from the document by more than `age_tolerance` (`age`).";
            gender => Score, [names::GENDER],
                "The estimated sex differs from the document (`gender`).";
        }
    };
}

macro_rules! define_policy {
    ($($key:ident => $default:ident, [$($check:expr),*], $doc:literal;)*) => {
        /// The verdict policy of a weights version: one [`Action`] per
        /// family of checks, plus the weight of the document-date checks.
        /// Every key is optional on input (absent keys take their default).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields, default)]
        pub struct Policy {
            $(
                #[doc = $doc]
                #[doc = concat!("Default: `", stringify!($default), "`.")]
                pub $key: Action,
            )*
            /// Share in the score of each document-date check
            /// (`document_expiry`, `document_issue_date`,
            /// `document_date_order`, `birth_date_plausibility`). 0..100,
            /// default 1. `expiry_crosscheck` and `birth_date_crosscheck` weigh like the other
            /// crosschecks (the document type's `*_fuzzy_match_weight`).
            pub document_validity_weight: f64,
        }

        impl Default for Policy {
            fn default() -> Self {
                Self { $($key: Action::$default,)* document_validity_weight: 1.0 }
            }
        }

        impl Policy {
            /// Every rule: (key, action, the checks it covers).
            pub fn rules(&self) -> Vec<(&'static str, Action, &'static [&'static str])> {
                vec![$((stringify!($key), self.$key, &[$($check),*] as &'static [&'static str]),)*]
            }

            /// Every rule with its default and description, for documentation and editors.
            pub fn catalogue() -> Vec<RuleInfo> {
                vec![$(RuleInfo {
                    key: stringify!($key),
                    default: Action::$default,
                    checks: &[$($check),*],
                    description: $doc,
                },)*]
            }

            /// A policy with every rule set to `action` (where allowed; `face_match`
            /// and `liveness` stay `knock_out` under `score`).
            pub fn all(action: Action) -> Self {
                let gate = if action == Action::Score { Action::KnockOut } else { action };
                let mut p = Self { $($key: action,)* document_validity_weight: 1.0 };
                p.face_match = gate;
                p.liveness = gate;
                p
            }

            /// Sets one rule by key; `false` when no rule has that key.
            pub fn set(&mut self, key: &str, action: Action) -> bool {
                match key {
                    $(stringify!($key) => { self.$key = action; true })*
                    _ => false,
                }
            }
        }
    };
}
for_each_policy_rule!(define_policy);

/// One rule of the policy, described.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    pub key: &'static str,
    pub default: Action,
    pub checks: &'static [&'static str],
    pub description: &'static str,
}

impl Policy {
    /// The rule covering `check` and its action; `None` for a check no rule names.
    pub fn rule_for(&self, check: &str) -> Option<(&'static str, Action)> {
        self.rules().into_iter().find(|(_, _, checks)| checks.contains(&check)).map(|(key, action, _)| (key, action))
    }

    /// The action for `check`; `score` for a check no rule names.
    pub fn action_for(&self, check: &str) -> Action {
        self.rule_for(check).map_or(Action::Score, |(_, a)| a)
    }

    /// `face_match` and `liveness` cannot be `score` (they carry no
    /// weight); `document_validity_weight` is a finite 0..100. The error
    /// names each offending field as `policy.<key>`.
    pub fn validate(&self) -> AppResult<()> {
        let mut errors = Vec::new();
        for (key, action) in [("face_match", self.face_match), ("liveness", self.liveness)] {
            if action == Action::Score {
                errors.push(FieldError::new(format!("policy.{key}"), "must be knock_out or review: this check carries no weight"));
            }
        }
        let w = self.document_validity_weight;
        if !w.is_finite() || !(0.0..=100.0).contains(&w) {
            errors.push(FieldError::new("policy.document_validity_weight", "must be a finite number between 0 and 100 (a share of the score)"));
        }
        if errors.is_empty() {
            return Ok(());
        }
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        Err(AppError::Validation { detail, errors })
    }

    /// The policy stored in a weights row: `null` (versions written before
    /// policies existed) is the default policy; absent keys take their default.
    pub fn from_stored(value: Option<&serde_json::Value>) -> Policy {
        value.filter(|v| !v.is_null()).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
    }

    /// A policy sent by a client (GraphQL's JSON input): unknown keys or
    /// actions are a validation error on `policy`, then [`Policy::validate`].
    pub fn parse(value: serde_json::Value) -> AppResult<Policy> {
        let policy: Policy = serde_json::from_value(value).map_err(|e| {
            let message = e.to_string();
            AppError::Validation { detail: format!("policy: {message}"), errors: vec![FieldError::new("policy", message)] }
        })?;
        policy.validate()?;
        Ok(policy)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_documented_table() {
        let p = Policy::default();
        for key in [
            "suspicious_words",
            "image_manipulation",
            "is_identity_document",
            "online_duplication",
            "document_expiry",
            "sanctions",
            "face_match",
            "liveness",
        ] {
            assert_eq!(p.rules().iter().find(|r| r.0 == key).unwrap().1, Action::KnockOut, "{key}");
        }
        for key in ["name_crosscheck", "document_number_crosscheck", "address_crosscheck", "dmv"] {
            assert_eq!(p.rules().iter().find(|r| r.0 == key).unwrap().1, Action::Review, "{key}");
        }
        assert_eq!((p.age, p.gender), (Action::Score, Action::Score));
        assert_eq!(p.action_for(names::DOC_BACK_SUSPICIOUS_WORDS), Action::KnockOut);
        assert_eq!(p.action_for("some_future_check"), Action::Score);
        p.validate().unwrap();
    }

    #[test]
    fn every_check_belongs_to_at_most_one_rule() {
        let mut seen = std::collections::BTreeSet::new();
        for (_, _, checks) in Policy::default().rules() {
            for c in checks {
                assert!(seen.insert(*c), "{c} in two rules");
            }
        }
    }

    #[test]
    fn stored_null_or_partial_policies_fill_in_defaults() {
        assert_eq!(Policy::from_stored(None), Policy::default());
        assert_eq!(Policy::from_stored(Some(&serde_json::Value::Null)), Policy::default());
        let partial = serde_json::json!({"dmv": "knock_out"});
        let p = Policy::from_stored(Some(&partial));
        assert_eq!(p.dmv, Action::KnockOut);
        assert_eq!(p.suspicious_words, Action::KnockOut);
        assert_eq!(serde_json::from_value::<Policy>(p.to_json()).unwrap(), p);
    }

    #[test]
    fn unknown_keys_and_values_are_rejected() {
        assert!(serde_json::from_str::<Policy>(r#"{"face": "review"}"#).is_err());
        assert!(serde_json::from_str::<Policy>(r#"{"dmv": "ignore"}"#).is_err());
    }

    #[test]
    fn the_migration_writes_the_default_policy() {
        let written: Policy = serde_json::from_str(migration::DEFAULT_POLICY_JSON).unwrap();
        assert_eq!(written, Policy::default());
    }

    #[test]
    fn face_match_and_liveness_cannot_be_scored() {
        let p = Policy { face_match: Action::Score, document_validity_weight: f64::NAN, ..Default::default() };
        let fields: Vec<String> = p.validate().unwrap_err().field_errors().iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["policy.face_match", "policy.document_validity_weight"]);
        Policy::all(Action::Score).validate().unwrap();
        Policy::all(Action::Review).validate().unwrap();
    }
}
