//! The numbers of a weights version: what each check weighs in the score
//! and the tolerances the engines judge with. Storage lives in
//! `service::weights`; this is the value every layer shares.

use crate::error::{AppError, AppResult, FieldError};

/// Calls `$m!` with the list of every numeric weights field, so the list
/// lives in one place.
#[macro_export]
macro_rules! for_each_weight_field {
    ($m:ident) => {
        $m! {
            onboarding_face_encoding_tolerance,
            verified_account_face_encoding_tolerance,
            driver_license_fuzzy_match_tolerance,
            driver_license_fuzzy_match_weight,
            state_id_fuzzy_match_tolerance,
            state_id_fuzzy_match_weight,
            passport_fuzzy_match_tolerance,
            passport_fuzzy_match_weight,
            passport_card_fuzzy_match_tolerance,
            passport_card_fuzzy_match_weight,
            ofac_fuzzy_match_tolerance,
            ofac_fuzzy_match_weight,
            suspicious_words_weight,
            image_manipulation_weight,
            online_duplication_weight,
            is_identity_document_weight,
            aamva_match_tolerance,
            aamva_match_weight,
            idv_session_tolerance,
            minimum_liveness_tolerance,
            passive_active_skip_tolerance,
            gender_probability_tolerance,
            gender_weight,
            expression_tolerance,
            age_tolerance,
            age_weight,
            direction_tolerance
        }
    };
}

macro_rules! define_values {
    ($($f:ident),*) => {
        /// The numeric part of a weights version.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct WeightValues {
            $(pub $f: f64,)*
        }

        impl WeightValues {
            /// Every field with its API name, in the API reference's order.
            pub fn named(&self) -> Vec<(&'static str, f64)> {
                vec![$((stringify!($f), self.$f),)*]
            }
        }
    };
}
for_each_weight_field!(define_values);

impl Default for WeightValues {
    /// Platform defaults, from the measurements in docs/engines.md.
    fn default() -> Self {
        Self {
            onboarding_face_encoding_tolerance: 0.5,
            verified_account_face_encoding_tolerance: 0.45,
            driver_license_fuzzy_match_tolerance: 0.8,
            driver_license_fuzzy_match_weight: 1.0,
            state_id_fuzzy_match_tolerance: 0.8,
            state_id_fuzzy_match_weight: 1.0,
            passport_fuzzy_match_tolerance: 0.85,
            passport_fuzzy_match_weight: 1.0,
            passport_card_fuzzy_match_tolerance: 0.85,
            passport_card_fuzzy_match_weight: 1.0,
            ofac_fuzzy_match_tolerance: 0.92,
            ofac_fuzzy_match_weight: 1.0,
            suspicious_words_weight: 1.0,
            image_manipulation_weight: 1.0,
            online_duplication_weight: 1.0,
            is_identity_document_weight: 1.0,
            aamva_match_tolerance: 0.8,
            aamva_match_weight: 1.0,
            idv_session_tolerance: 0.75,
            minimum_liveness_tolerance: 0.6,
            passive_active_skip_tolerance: 0.9,
            gender_probability_tolerance: 0.8,
            gender_weight: 0.5,
            expression_tolerance: 0.5,
            age_tolerance: 10.0,
            age_weight: 0.5,
            direction_tolerance: 15.0,
        }
    }
}

/// The accepted range of a weights field and what its unit is, from the
/// field's meaning (docs/api-contract.md, "Scoring"): `*_weight` is a share
/// of the score; `age_tolerance` is years, `direction_tolerance` degrees;
/// every other tolerance is a probability, similarity or distance.
pub fn allowed_range(field: &str) -> (f64, f64, &'static str) {
    match field {
        "age_tolerance" => (0.0, 120.0, "years"),
        "direction_tolerance" => (0.0, 90.0, "degrees"),
        f if f.ends_with("_weight") => (0.0, 100.0, "a share of the score"),
        _ => (0.0, 1.0, "a probability, similarity or distance"),
    }
}

impl WeightValues {
    /// Every number finite and within [`allowed_range`]; the error names
    /// each offending field.
    pub fn validate(&self) -> AppResult<()> {
        let errors: Vec<FieldError> = self
            .named()
            .into_iter()
            .filter_map(|(field, value)| {
                let (min, max, unit) = allowed_range(field);
                if !value.is_finite() {
                    Some(FieldError::new(field, "must be a finite number"))
                } else if !(min..=max).contains(&value) {
                    Some(FieldError::new(field, format!("must be between {min} and {max} ({unit})")))
                } else {
                    None
                }
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        Err(AppError::Validation { detail, errors })
    }
}

