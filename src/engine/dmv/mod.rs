//! DMV (AAMVA DLDV) data verification: the field vocabulary shared by the
//! providers, the built-in [`sandbox::SandboxDmv`] (AAMVA's structured-test
//! records) and the HTTP adapter [`aamva::AamvaClient`].

pub mod aamva;
pub mod sandbox;

use std::collections::BTreeMap;

pub use crate::domain::checks::DMV_FIELD_KEYS as FIELD_KEYS;

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
