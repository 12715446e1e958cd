//! DMV (AAMVA DLDV) data verification: the field vocabulary shared by the
//! providers, the built-in [`sandbox::SandboxDmv`] (AAMVA's structured-test
//! records) and the HTTP adapter [`aamva::AamvaClient`].

pub mod aamva;
pub mod sandbox;

use std::collections::BTreeMap;

/// The per-field keys a provider answers (the evidence of the `dmv` check;
/// session test read maps them to the `dmv_*` fields of the API).
pub const FIELD_KEYS: [&str; 17] = [
    "document_number_match",
    "document_expiration_match",
    "document_issue_match",
    "document_category_match",
    "birth_date_match",
    "sex_match",
    "eye_color_match",
    "height_match",
    "weight_match",
    "first_name_match",
    "middle_name_match",
    "last_name_match",
    "suffix_name_match",
    "street_match",
    "city_match",
    "state_match",
    "postal_code_match",
];

/// A map with every key, all unanswered.
pub fn empty_fields() -> BTreeMap<String, Option<bool>> {
    FIELD_KEYS.iter().map(|k| (k.to_string(), None)).collect()
}

/// Share of the answered fields that match (`None` when nothing was answered).
pub fn match_share(fields: &BTreeMap<String, Option<bool>>) -> Option<f64> {
    let answered: Vec<bool> = fields.values().filter_map(|v| *v).collect();
    (!answered.is_empty()).then(|| answered.iter().filter(|b| **b).count() as f64 / answered.len() as f64)
}

/// Upper-case, inner whitespace collapsed: how DLDV compares exact fields.
pub(crate) fn canon(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase()
}
