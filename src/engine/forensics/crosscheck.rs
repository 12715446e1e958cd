//! Crosschecks: the fields printed on the document (OCR) against its
//! machine-readable zone (PDF417 barcode or MRZ). Each compares the fields
//! both readings have; a score (0..1 similarity) at or above the document
//! type's `*_fuzzy_match_tolerance` passes.
//!
//! OCR misreads are tolerated by the similarity measure and by mapping
//! look-alike characters (0/O, 1/I/L, 5/S, 8/B, 2/Z, 6/G) before comparing
//! document numbers and street numbers. A machine field marked truncated
//! (AAMVA DDE/DDF/DDG, or any MRZ name, which is cut at the zone's width)
//! is compared as a prefix of the printed value.

use serde_json::json;

use crate::engine::{CheckOutcome, DocumentFields};
use crate::domain::checks::names;
use crate::domain::DataSource;

/// Which fields the machine reading marked as truncated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Truncation {
    pub last_name: bool,
    pub first_name: bool,
    pub middle_name: bool,
}

impl Truncation {
    /// From `DocumentFields::truncation`: `{"last_name": true, ...}` (bool
    /// or "T"), or the AAMVA element ids `{"DDE": "T", "DDF": ..., "DDG": ...}`.
    pub fn of(fields: &DocumentFields) -> Self {
        let mrz = fields.data_source == Some(DataSource::Mrz);
        let flag = |keys: [&str; 2]| {
            let Some(t) = fields.truncation.as_ref() else { return mrz };
            mrz || keys.iter().any(|k| match t.get(*k) {
                Some(serde_json::Value::Bool(b)) => *b,
                Some(serde_json::Value::String(s)) => s.trim().eq_ignore_ascii_case("T") || s.eq_ignore_ascii_case("true"),
                _ => false,
            })
        };
        Self { last_name: flag(["last_name", "DDE"]), first_name: flag(["first_name", "DDF"]), middle_name: flag(["middle_name", "DDG"]) }
    }
}

/// Upper case letters and digits, words separated by one space, accents removed.
pub fn normalize(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let plain: String = s
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| if c.is_alphanumeric() { c.to_ascii_uppercase() } else { ' ' })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps characters OCR confuses onto one representative.
fn fold_lookalikes(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '0' | 'O' | 'Q' | 'D' => '0',
            '1' | 'I' | 'L' => '1',
            '5' | 'S' => '5',
            '8' | 'B' => '8',
            '2' | 'Z' => '2',
            '6' | 'G' => '6',
            c => c,
        })
        .collect()
}

/// Similarity of two names (Jaro-Winkler on normalised text; a prefix
/// match counts fully when `prefix` is allowed).
fn name_similarity(printed: &str, machine: &str, prefix: bool) -> f64 {
    let (p, m) = (normalize(printed), normalize(machine));
    if p.is_empty() || m.is_empty() {
        return 0.0;
    }
    if p == m || (prefix && p.replace(' ', "").starts_with(&m.replace(' ', ""))) {
        return 1.0;
    }
    strsim::jaro_winkler(&p, &m)
}

/// Similarity of identifiers (normalised Levenshtein after folding look-alikes).
fn id_similarity(printed: &str, machine: &str) -> f64 {
    let (p, m) = (fold_lookalikes(&normalize(printed)), fold_lookalikes(&normalize(machine)));
    if p.is_empty() || m.is_empty() {
        return 0.0;
    }
    strsim::normalized_levenshtein(&p, &m)
}

struct Part {
    field: &'static str,
    printed: String,
    machine: String,
    similarity: f64,
    prefix: bool,
}

fn outcome(name: &'static str, what: &str, parts: Vec<Part>, tolerance: f64, machine_source: &str) -> CheckOutcome {
    if parts.is_empty() {
        return CheckOutcome::unavailable(name, format!("no {what} was read from both the printed text and the {machine_source}"));
    }
    let score = parts.iter().map(|p| p.similarity).sum::<f64>() / parts.len() as f64;
    let evidence = json!({
        "tolerance": tolerance,
        "machine_source": machine_source,
        "fields": parts.iter().map(|p| json!({
            "field": p.field, "printed": p.printed, "machine": p.machine,
            "similarity": (p.similarity * 1000.0).round() / 1000.0, "prefix_allowed": p.prefix,
        })).collect::<Vec<_>>(),
    });
    let outcome = if score >= tolerance {
        CheckOutcome::pass(name, score, format!("the printed {what} matches the {machine_source}"))
    } else {
        CheckOutcome::fail(name, score, format!("the printed {what} differs from the {machine_source} ({:.0}% similar, {:.0}% required)", score * 100.0, tolerance * 100.0))
    };
    outcome.with_evidence(evidence)
}

fn source_name(machine: &DocumentFields) -> &'static str {
    match machine.data_source {
        Some(DataSource::Mrz) => "MRZ",
        _ => "barcode",
    }
}

/// `name_crosscheck`: last and first names (middle names are often only
/// an initial on one side and are left out).
pub fn name(printed: &DocumentFields, machine: &DocumentFields, tolerance: f64) -> CheckOutcome {
    let t = Truncation::of(machine);
    let mut parts = Vec::new();
    let pairs = [
        ("last_name", &printed.last_name, &machine.last_name, t.last_name),
        ("first_name", &printed.first_name, &machine.first_name, t.first_name),
    ];
    for (field, p, m, prefix) in pairs {
        if let (Some(p), Some(m)) = (p.as_deref().filter(|s| !normalize(s).is_empty()), m.as_deref().filter(|s| !normalize(s).is_empty())) {
            parts.push(Part { field, printed: p.to_string(), machine: m.to_string(), similarity: name_similarity(p, m, prefix), prefix });
        }
    }
    outcome(names::NAME_CROSSCHECK, "name", parts, tolerance, source_name(machine))
}

/// `document_number_crosscheck`.
pub fn document_number(printed: &DocumentFields, machine: &DocumentFields, tolerance: f64) -> CheckOutcome {
    let mut parts = Vec::new();
    if let (Some(p), Some(m)) = (printed.document_number.as_deref(), machine.document_number.as_deref()) {
        parts.push(Part { field: "document_number", printed: p.into(), machine: m.into(), similarity: id_similarity(p, m), prefix: false });
    }
    outcome(names::DOCUMENT_NUMBER_CROSSCHECK, "document number", parts, tolerance, source_name(machine))
}

/// `address_crosscheck`: street, city and the first five digits of the
/// postal code, whichever both readings have.
pub fn address(printed: &DocumentFields, machine: &DocumentFields, tolerance: f64) -> CheckOutcome {
    let mut parts = Vec::new();
    if let (Some(p), Some(m)) = (printed.street.as_deref(), machine.street.as_deref()) {
        parts.push(Part { field: "street", printed: p.into(), machine: m.into(), similarity: id_similarity(p, m), prefix: false });
    }
    if let (Some(p), Some(m)) = (printed.city.as_deref(), machine.city.as_deref()) {
        parts.push(Part { field: "city", printed: p.into(), machine: m.into(), similarity: name_similarity(p, m, false), prefix: false });
    }
    if let (Some(p), Some(m)) = (printed.postal_code.as_deref(), machine.postal_code.as_deref()) {
        let five = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).take(5).collect::<String>();
        let similarity = if five(p) == five(m) && !five(p).is_empty() { 1.0 } else { id_similarity(&five(p), &five(m)) };
        parts.push(Part { field: "postal_code", printed: p.into(), machine: m.into(), similarity, prefix: false });
    }
    outcome(names::ADDRESS_CROSSCHECK, "address", parts, tolerance, source_name(machine))
}

/// All three crosschecks.
pub fn all(printed: &DocumentFields, machine: &DocumentFields, tolerance: f64) -> Vec<CheckOutcome> {
    vec![name(printed, machine, tolerance), document_number(printed, machine, tolerance), address(printed, machine, tolerance)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;

    fn barcode() -> DocumentFields {
        DocumentFields {
            data_source: Some(DataSource::Barcode),
            first_name: Some("JOHN".into()),
            last_name: Some("SMITH".into()),
            document_number: Some("D1234567".into()),
            street: Some("123 MAIN ST".into()),
            city: Some("SPRINGFIELD".into()),
            postal_code: Some("627010000".into()),
            ..Default::default()
        }
    }

    fn printed() -> DocumentFields {
        DocumentFields {
            data_source: Some(DataSource::Ocr),
            first_name: Some("John".into()),
            last_name: Some("SMITN".into()),
            document_number: Some("DI234567".into()),
            street: Some("123 MAIN ST.".into()),
            city: Some("SPRINGFIELD".into()),
            postal_code: Some("62701".into()),
            ..Default::default()
        }
    }

    #[test]
    fn ocr_misreads_pass_and_another_name_fails() {
        let checks = all(&printed(), &barcode(), 0.8);
        assert!(checks.iter().all(|c| c.verdict == Verdict::Pass), "{checks:?}");
        let other = DocumentFields { last_name: Some("JONES".into()), first_name: Some("MARY".into()), ..printed() };
        let c = name(&other, &barcode(), 0.8);
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        assert!(c.score.unwrap() < 0.6);
        let wrong_number = DocumentFields { document_number: Some("X9876543".into()), ..printed() };
        assert_eq!(document_number(&wrong_number, &barcode(), 0.8).verdict, Verdict::Fail);
    }

    #[test]
    fn a_truncated_barcode_name_is_a_prefix_of_the_printed_one() {
        let long = DocumentFields { last_name: Some("WOLFESCHLEGELSTEINHAUSEN".into()), first_name: Some("JOHN".into()), ..Default::default() };
        let cut = DocumentFields { last_name: Some("WOLFESCHLEG".into()), first_name: Some("JOHN".into()), ..barcode() };
        let without_flag = name(&long, &cut, 0.95);
        assert_eq!(without_flag.verdict, Verdict::Fail, "{without_flag:?}");
        let flagged = DocumentFields { truncation: Some(json!({ "DDE": "T", "DDF": "N" })), ..cut.clone() };
        assert_eq!(name(&long, &flagged, 0.95).verdict, Verdict::Pass);
        let mrz = DocumentFields { data_source: Some(DataSource::Mrz), ..cut };
        assert_eq!(name(&long, &mrz, 0.95).score, Some(1.0));
    }

    #[test]
    fn nothing_in_common_is_unavailable_and_tolerance_decides() {
        let empty = DocumentFields::default();
        assert!(all(&empty, &barcode(), 0.8).iter().all(|c| c.verdict == Verdict::Unavailable));
        let slightly_off = DocumentFields { last_name: Some("SMYTHE".into()), ..printed() };
        let lenient = name(&slightly_off, &barcode(), 0.8);
        let strict = name(&slightly_off, &barcode(), 0.99);
        assert_eq!((lenient.verdict, strict.verdict), (Verdict::Pass, Verdict::Fail));
    }
}
