//! Scoring: turns a session's check results, the weights version pinned by
//! the session and the finalize settings into a verdict. Pure: no database,
//! no clock, no I/O — the same inputs always give the same [`Verdict`].
//! docs/scoring.md states the same rules for readers outside the code.
//!
//! # Which checks count
//!
//! Scored checks and the weight each one carries:
//!
//! | check | weight | only when |
//! |---|---|---|
//! | `doc_front_` / `doc_back_suspicious_words` | `suspicious_words_weight` | |
//! | `doc_front_` / `doc_back_image_manipulation` | `image_manipulation_weight` | `perform_image_manipulation_test` |
//! | `doc_front_` / `doc_back_online_duplication` | `online_duplication_weight` | |
//! | `doc_front_` / `doc_back_is_identity_document` | `is_identity_document_weight` | |
//! | `name_crosscheck`, `address_crosscheck`, `document_number_crosscheck` | the document type's `*_fuzzy_match_weight` | |
//! | `ofac` | `ofac_fuzzy_match_weight` | `perform_ofac_test` |
//! | `dmv` | `aamva_match_weight` | `perform_aamva_test` |
//! | `age` | `age_weight` | `perform_age_test` |
//! | `gender` | `gender_weight` | `perform_gender_test` |
//!
//! The document type picks the cross-check weight: `driver_license` →
//! `driver_license_*`, `identification_card` → `state_id_*`, `passport` →
//! `passport_*`, `passport_card` → `passport_card_*`, `unknown` →
//! `driver_license_*`. A check whose test is switched off is ignored
//! entirely, even when a result exists for it (including an `ofac` fail and
//! a forced-fail setting naming it). `face_match` and `liveness` are gates,
//! never scored; the `requirements` check is ignored (the missing fields
//! come in [`ScoringContext::missing_required_fields`]); unknown names are
//! ignored. When a name appears more than once the last result wins, as the
//! check-results table keeps one row per (session, check).
//!
//! # Score
//!
//! A check's value is its `score` clamped to 0..1 when present and finite,
//! else 1 for `pass` and 0 for `fail`; engines therefore record scores as
//! "higher is better". The score is the weighted mean of the values of the
//! scored checks that ran (`pass` or `fail`) with a weight > 0. `unavailable`
//! and `pending` checks did not run: they stay out of the mean and are listed
//! as `unavailable` reasons. When no check is left, the score is `None`.
//!
//! # Gates
//!
//! Each gate that does not hold adds a reason and makes the verdict
//! unverified:
//!
//! - `face_match` must be `pass`: `fail` → `failed`; anything else, or no
//!   result → `unavailable`.
//! - `liveness` must be `pass` when `perform_liveness_test` (same codes).
//! - `ofac` `fail` is a sanctions-list hit: `on_sanction_list = true`,
//!   reason `sanctions_hit`.
//! - `missing_required_fields` non-empty → `missing_fields` (check
//!   `requirements`).
//! - A finalize setting `*_fail: true` makes its check required:
//!   `fail` → `forced_failure`; `unavailable`, `pending` or no result →
//!   `unavailable`. Settings map to checks by name: `doc_*_fail` ↔ the
//!   `doc_*` check of the same name, `ocr_name_match_fail` ↔
//!   `name_crosscheck`, `ocr_address_match_fail` ↔ `address_crosscheck`,
//!   `ocr_document_number_match_fail` ↔ `document_number_crosscheck`.
//! - No scored check ran → `no_scored_checks` (check `score`).
//! - Score < `idv_session_tolerance` → `below_threshold` (check `score`);
//!   a score equal to the tolerance passes.
//!
//! `verified` is true exactly when every gate holds, i.e. the score exists
//! and is >= `idv_session_tolerance` and nothing else blocked it.
//!
//! # Reasons
//!
//! Every considered check that did not pass has exactly one reason, plus one
//! per session-level gate. A scored check that failed or was unavailable
//! without a setting requiring it is listed (`failed` / `unavailable`) but
//! only lowers or leaves the score, so a verified verdict can carry reasons.
//! Reasons are sorted by check name, then code.
//!
//! `aamva_test_scenario` only selects a scripted DMV answer in sandbox mode;
//! scoring does not read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::checks::names;
use crate::service::types::{CheckStatus, DocumentType};
use crate::service::weights::WeightValues;

/// The `check` of reasons about the score as a whole.
pub const SCORE_CHECK: &str = "score";

/// Reason codes.
pub mod codes {
    pub const UNAVAILABLE: &str = "unavailable";
    pub const FAILED: &str = "failed";
    pub const FORCED_FAILURE: &str = "forced_failure";
    pub const BELOW_THRESHOLD: &str = "below_threshold";
    pub const SANCTIONS_HIT: &str = "sanctions_hit";
    pub const MISSING_FIELDS: &str = "missing_fields";
    pub const NO_SCORED_CHECKS: &str = "no_scored_checks";
}

/// One check result as recorded for the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInput {
    pub name: String,
    pub status: CheckStatus,
    pub score: Option<f64>,
    pub detail: Option<String>,
}

/// The finalize request's `settings`: each `*_fail: true` turns its check
/// into a required one (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeSettings {
    pub doc_front_suspicious_words_fail: Option<bool>,
    pub doc_front_image_manipulation_fail: Option<bool>,
    pub doc_front_online_duplication_fail: Option<bool>,
    pub doc_front_is_identity_document_fail: Option<bool>,
    pub doc_back_suspicious_words_fail: Option<bool>,
    pub doc_back_image_manipulation_fail: Option<bool>,
    pub doc_back_online_duplication_fail: Option<bool>,
    pub doc_back_is_identity_document_fail: Option<bool>,
    pub ocr_name_match_fail: Option<bool>,
    pub ocr_address_match_fail: Option<bool>,
    pub ocr_document_number_match_fail: Option<bool>,
    /// Scripted DMV answer in sandbox mode; not read by scoring.
    pub aamva_test_scenario: Option<String>,
}

impl FinalizeSettings {
    /// Every `*_fail` setting with the check it applies to.
    fn forced_failures(&self) -> [(&'static str, &'static str, Option<bool>); 11] {
        [
            ("doc_front_suspicious_words_fail", names::DOC_FRONT_SUSPICIOUS_WORDS, self.doc_front_suspicious_words_fail),
            ("doc_front_image_manipulation_fail", names::DOC_FRONT_IMAGE_MANIPULATION, self.doc_front_image_manipulation_fail),
            ("doc_front_online_duplication_fail", names::DOC_FRONT_ONLINE_DUPLICATION, self.doc_front_online_duplication_fail),
            ("doc_front_is_identity_document_fail", names::DOC_FRONT_IS_IDENTITY_DOCUMENT, self.doc_front_is_identity_document_fail),
            ("doc_back_suspicious_words_fail", names::DOC_BACK_SUSPICIOUS_WORDS, self.doc_back_suspicious_words_fail),
            ("doc_back_image_manipulation_fail", names::DOC_BACK_IMAGE_MANIPULATION, self.doc_back_image_manipulation_fail),
            ("doc_back_online_duplication_fail", names::DOC_BACK_ONLINE_DUPLICATION, self.doc_back_online_duplication_fail),
            ("doc_back_is_identity_document_fail", names::DOC_BACK_IS_IDENTITY_DOCUMENT, self.doc_back_is_identity_document_fail),
            ("ocr_name_match_fail", names::NAME_CROSSCHECK, self.ocr_name_match_fail),
            ("ocr_address_match_fail", names::ADDRESS_CROSSCHECK, self.ocr_address_match_fail),
            ("ocr_document_number_match_fail", names::DOCUMENT_NUMBER_CROSSCHECK, self.ocr_document_number_match_fail),
        ]
    }

    /// The setting that makes `check` required, when one is set to true.
    fn requiring(&self, check: &str) -> Option<&'static str> {
        self.forced_failures().into_iter().find(|(_, c, on)| *c == check && *on == Some(true)).map(|(s, _, _)| s)
    }
}

/// What the session asked for, as fixed at its creation.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringContext {
    pub document_type: DocumentType,
    pub perform_liveness_test: bool,
    pub perform_ofac_test: bool,
    pub perform_aamva_test: bool,
    pub perform_image_manipulation_test: bool,
    pub perform_age_test: bool,
    pub perform_gender_test: bool,
    pub missing_required_fields: Vec<String>,
}

/// Why a verdict is what it is: a check that did not pass, or a gate on the
/// session as a whole (`check` = `requirements` or [`SCORE_CHECK`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    pub check: String,
    /// One of [`codes`].
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verdict {
    /// Weighted mean (0..1) of the scored checks that ran; `None` when none ran.
    pub score: Option<f64>,
    pub verified: bool,
    pub on_sanction_list: bool,
    /// Sorted by check, then code.
    pub reasons: Vec<Reason>,
}

/// Scores one session. See the module docs for the rules.
pub fn score(checks: &[CheckInput], weights: &WeightValues, settings: &FinalizeSettings, ctx: &ScoringContext) -> Verdict {
    let latest: BTreeMap<&str, &CheckInput> = checks.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut findings = Findings::default();

    findings.gate(names::FACE_MATCH, latest.get(names::FACE_MATCH).copied());
    if ctx.perform_liveness_test {
        findings.gate(names::LIVENESS, latest.get(names::LIVENESS).copied());
    }

    let mut mean = WeightedMean::default();
    for (&name, check) in &latest {
        let Some(weight) = scored_weight(name, weights, ctx) else { continue };
        // A requested sanctions screening that could not run blocks: nobody
        // is verified unscreened.
        let required_by = settings.requiring(name).or((name == names::OFAC).then_some("perform_ofac_test"));
        match check.status {
            CheckStatus::Pass => mean.add(value(check), weight),
            CheckStatus::Fail => {
                mean.add(value(check), weight);
                findings.failed(check, required_by);
            }
            CheckStatus::Unavailable | CheckStatus::Pending => findings.unavailable(name, check.detail.as_deref(), required_by),
        }
    }
    if ctx.perform_ofac_test && !latest.contains_key(names::OFAC) {
        findings.unavailable(names::OFAC, Some("no result recorded"), Some("perform_ofac_test"));
    }
    for (setting, check, on) in settings.forced_failures() {
        let enabled = scored_weight(check, weights, ctx).is_some();
        if on == Some(true) && enabled && !latest.contains_key(check) {
            findings.unavailable(check, Some("no result recorded"), Some(setting));
        }
    }

    if !ctx.missing_required_fields.is_empty() {
        let mut fields = ctx.missing_required_fields.clone();
        fields.sort();
        fields.dedup();
        findings.block(names::REQUIREMENTS, codes::MISSING_FIELDS, format!("missing required fields: {}", fields.join(", ")));
    }

    let score = mean.value();
    let tolerance = weights.idv_session_tolerance;
    match score {
        None => findings.block(SCORE_CHECK, codes::NO_SCORED_CHECKS, "no scored check ran".into()),
        // `!(>=)` so a NaN tolerance fails closed.
        Some(s) if !(s >= tolerance) => {
            findings.block(SCORE_CHECK, codes::BELOW_THRESHOLD, format!("score {s:.4} is below idv_session_tolerance {tolerance}"))
        }
        Some(_) => {}
    }

    findings.reasons.sort_by(|a, b| (&a.check, &a.code).cmp(&(&b.check, &b.code)));
    Verdict { score, verified: !findings.blocked, on_sanction_list: findings.on_sanction_list, reasons: findings.reasons }
}

/// The weight of a scored check, or `None` when `name` is not scored or its
/// test is switched off.
fn scored_weight(name: &str, w: &WeightValues, ctx: &ScoringContext) -> Option<f64> {
    let weight = match name {
        names::DOC_FRONT_SUSPICIOUS_WORDS | names::DOC_BACK_SUSPICIOUS_WORDS => w.suspicious_words_weight,
        names::DOC_FRONT_IMAGE_MANIPULATION | names::DOC_BACK_IMAGE_MANIPULATION if ctx.perform_image_manipulation_test => {
            w.image_manipulation_weight
        }
        names::DOC_FRONT_ONLINE_DUPLICATION | names::DOC_BACK_ONLINE_DUPLICATION => w.online_duplication_weight,
        names::DOC_FRONT_IS_IDENTITY_DOCUMENT | names::DOC_BACK_IS_IDENTITY_DOCUMENT => w.is_identity_document_weight,
        names::NAME_CROSSCHECK | names::ADDRESS_CROSSCHECK | names::DOCUMENT_NUMBER_CROSSCHECK => {
            fuzzy_match_weight(ctx.document_type, w)
        }
        names::OFAC if ctx.perform_ofac_test => w.ofac_fuzzy_match_weight,
        names::DMV if ctx.perform_aamva_test => w.aamva_match_weight,
        names::AGE if ctx.perform_age_test => w.age_weight,
        names::GENDER if ctx.perform_gender_test => w.gender_weight,
        _ => return None,
    };
    Some(weight)
}

fn fuzzy_match_weight(document_type: DocumentType, w: &WeightValues) -> f64 {
    match document_type {
        DocumentType::IdentificationCard => w.state_id_fuzzy_match_weight,
        DocumentType::Passport => w.passport_fuzzy_match_weight,
        DocumentType::PassportCard => w.passport_card_fuzzy_match_weight,
        DocumentType::DriverLicense | DocumentType::Unknown => w.driver_license_fuzzy_match_weight,
    }
}

/// A check's value in the mean: its score clamped to 0..1, else 1 for pass, 0 for fail.
fn value(check: &CheckInput) -> f64 {
    match check.score {
        Some(s) if s.is_finite() => s.clamp(0.0, 1.0),
        _ if check.status == CheckStatus::Pass => 1.0,
        _ => 0.0,
    }
}

#[derive(Default)]
struct WeightedMean {
    sum: f64,
    total_weight: f64,
}

impl WeightedMean {
    /// Checks with a weight that is not a positive number do not count.
    fn add(&mut self, value: f64, weight: f64) {
        if weight.is_finite() && weight > 0.0 {
            self.sum += value * weight;
            self.total_weight += weight;
        }
    }

    fn value(&self) -> Option<f64> {
        (self.total_weight > 0.0).then(|| self.sum / self.total_weight)
    }
}

#[derive(Default)]
struct Findings {
    reasons: Vec<Reason>,
    blocked: bool,
    on_sanction_list: bool,
}

impl Findings {
    fn note(&mut self, check: &str, code: &str, message: String) {
        self.reasons.push(Reason { check: check.to_string(), code: code.to_string(), message });
    }

    fn block(&mut self, check: &str, code: &str, message: String) {
        self.blocked = true;
        self.note(check, code, message);
    }

    /// A check that must pass.
    fn gate(&mut self, name: &str, check: Option<&CheckInput>) {
        match check {
            Some(c) if c.status == CheckStatus::Pass => {}
            Some(c) if c.status == CheckStatus::Fail => self.block(name, codes::FAILED, with_detail(format!("{name} failed"), c)),
            Some(c) => self.block(name, codes::UNAVAILABLE, with_detail(format!("{name} did not run and must pass"), c)),
            None => self.block(name, codes::UNAVAILABLE, format!("{name} has no result and must pass")),
        }
    }

    /// A scored check that ran and failed.
    fn failed(&mut self, check: &CheckInput, required_by: Option<&str>) {
        let name = check.name.as_str();
        if name == names::OFAC {
            self.on_sanction_list = true;
            self.block(name, codes::SANCTIONS_HIT, with_detail("the name matches a sanctions list".into(), check));
        } else if let Some(setting) = required_by {
            self.block(name, codes::FORCED_FAILURE, with_detail(format!("{name} failed and {setting} is set"), check));
        } else {
            self.note(name, codes::FAILED, with_detail(format!("{name} failed"), check));
        }
    }

    /// A scored check that did not run.
    fn unavailable(&mut self, name: &str, detail: Option<&str>, required_by: Option<&str>) {
        let suffix = detail.map(|d| format!(": {d}")).unwrap_or_default();
        match required_by {
            Some(setting) => {
                self.block(name, codes::UNAVAILABLE, format!("{name} did not run and {setting} requires it{suffix}"))
            }
            None => self.note(name, codes::UNAVAILABLE, format!("{name} did not run; left out of the score{suffix}")),
        }
    }
}

fn with_detail(message: String, check: &CheckInput) -> String {
    match &check.detail {
        Some(d) => format!("{message}: {d}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: CheckStatus, score: Option<f64>) -> CheckInput {
        CheckInput { name: name.into(), status, score, detail: None }
    }

    fn pass(name: &str) -> CheckInput {
        check(name, CheckStatus::Pass, None)
    }

    fn fail(name: &str) -> CheckInput {
        check(name, CheckStatus::Fail, None)
    }

    fn unavailable(name: &str) -> CheckInput {
        CheckInput { detail: Some("engine not configured".into()), ..check(name, CheckStatus::Unavailable, None) }
    }

    fn ctx() -> ScoringContext {
        ScoringContext {
            document_type: DocumentType::DriverLicense,
            perform_liveness_test: true,
            perform_ofac_test: true,
            perform_aamva_test: true,
            perform_image_manipulation_test: true,
            perform_age_test: true,
            perform_gender_test: true,
            missing_required_fields: vec![],
        }
    }

    /// Sanctions screening off: for rules that do not involve it.
    fn no_ofac() -> ScoringContext {
        ScoringContext { perform_ofac_test: false, ..ctx() }
    }

    #[test]
    fn requested_screening_that_did_not_run_blocks() {
        let w = WeightValues::default();
        let mut checks = all_pass();
        assert!(score(&checks, &w, &FinalizeSettings::default(), &ctx()).verified);
        checks.retain(|c| c.name != names::OFAC);
        let absent = score(&checks, &w, &FinalizeSettings::default(), &ctx());
        assert!(!absent.verified);
        checks.push(unavailable(names::OFAC));
        let v = score(&checks, &w, &FinalizeSettings::default(), &ctx());
        assert!(!v.verified && !v.on_sanction_list);
        assert!(v.reasons.iter().any(|r| r.check == names::OFAC && r.code == codes::UNAVAILABLE));
        assert!(score(&checks, &w, &FinalizeSettings::default(), &no_ofac()).verified);
    }

    /// Every check a driver-license session can carry, all passing.
    fn all_pass() -> Vec<CheckInput> {
        [
            names::DOC_FRONT_SUSPICIOUS_WORDS,
            names::DOC_FRONT_IMAGE_MANIPULATION,
            names::DOC_FRONT_ONLINE_DUPLICATION,
            names::DOC_FRONT_IS_IDENTITY_DOCUMENT,
            names::DOC_BACK_SUSPICIOUS_WORDS,
            names::DOC_BACK_IMAGE_MANIPULATION,
            names::DOC_BACK_ONLINE_DUPLICATION,
            names::DOC_BACK_IS_IDENTITY_DOCUMENT,
            names::NAME_CROSSCHECK,
            names::ADDRESS_CROSSCHECK,
            names::DOCUMENT_NUMBER_CROSSCHECK,
            names::FACE_MATCH,
            names::LIVENESS,
            names::OFAC,
            names::DMV,
            names::AGE,
            names::GENDER,
        ]
        .into_iter()
        .map(pass)
        .collect()
    }

    /// `checks` with the result for `name` replaced.
    fn with(mut checks: Vec<CheckInput>, replacement: CheckInput) -> Vec<CheckInput> {
        checks.retain(|c| c.name != replacement.name);
        checks.push(replacement);
        checks
    }

    fn run(checks: &[CheckInput]) -> Verdict {
        score(checks, &WeightValues::default(), &FinalizeSettings::default(), &ctx())
    }

    fn codes_of(v: &Verdict) -> Vec<(&str, &str)> {
        v.reasons.iter().map(|r| (r.check.as_str(), r.code.as_str())).collect()
    }

    #[test]
    fn everything_passing_is_verified_with_full_score() {
        let v = run(&all_pass());
        assert_eq!(v, Verdict { score: Some(1.0), verified: true, on_sanction_list: false, reasons: vec![] });
    }

    #[test]
    fn all_unavailable_is_not_verified_and_lists_each_check() {
        let checks: Vec<CheckInput> = all_pass().iter().map(|c| unavailable(&c.name)).collect();
        let v = run(&checks);
        assert!(!v.verified);
        assert_eq!(v.score, None);
        let mut expected: Vec<(&str, &str)> = checks.iter().map(|c| (c.name.as_str(), codes::UNAVAILABLE)).collect();
        expected.push((SCORE_CHECK, codes::NO_SCORED_CHECKS));
        expected.sort();
        assert_eq!(codes_of(&v), expected);
        assert!(v.reasons.iter().all(|r| !r.message.is_empty()));
        assert!(v.reasons[0].message.contains("engine not configured"));
    }

    #[test]
    fn score_is_the_weighted_mean_of_checks_that_ran() {
        let weights = WeightValues { gender_weight: 3.0, age_weight: 1.0, ..Default::default() };
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), check(names::GENDER, CheckStatus::Pass, Some(0.9)), fail(names::AGE)];
        let v = score(&checks, &weights, &FinalizeSettings::default(), &no_ofac());
        assert!((v.score.unwrap() - (3.0 * 0.9 + 1.0 * 0.0) / 4.0).abs() < 1e-12);
        assert_eq!(codes_of(&v), [(names::AGE, codes::FAILED), (SCORE_CHECK, codes::BELOW_THRESHOLD)]);
    }

    #[test]
    fn scores_are_clamped_and_missing_scores_follow_the_status() {
        let checks = [
            pass(names::FACE_MATCH),
            pass(names::LIVENESS),
            check(names::NAME_CROSSCHECK, CheckStatus::Pass, Some(7.0)),
            check(names::ADDRESS_CROSSCHECK, CheckStatus::Fail, Some(-2.0)),
            check(names::DOCUMENT_NUMBER_CROSSCHECK, CheckStatus::Pass, Some(f64::NAN)),
            fail(names::DOC_FRONT_SUSPICIOUS_WORDS),
        ];
        // (1 + 0 + 1 + 0) / 4
        assert_eq!(run(&checks).score, Some(0.5));
    }

    #[test]
    fn unavailable_scored_check_is_left_out_of_the_mean_but_listed() {
        let checks = with(all_pass(), unavailable(names::DMV));
        let v = run(&checks);
        assert_eq!(v.score, Some(1.0));
        assert!(v.verified);
        assert_eq!(codes_of(&v), [(names::DMV, codes::UNAVAILABLE)]);
    }

    #[test]
    fn pending_counts_as_not_run() {
        let v = run(&with(all_pass(), check(names::AGE, CheckStatus::Pending, Some(0.0))));
        assert_eq!(v.score, Some(1.0));
        assert_eq!(codes_of(&v), [(names::AGE, codes::UNAVAILABLE)]);
    }

    #[test]
    fn weight_zero_check_does_not_move_the_score() {
        let weights = WeightValues { gender_weight: 0.0, ..Default::default() };
        let base = score(&all_pass(), &weights, &FinalizeSettings::default(), &ctx()).score;
        let v = score(&with(all_pass(), check(names::GENDER, CheckStatus::Fail, Some(0.0))), &weights, &FinalizeSettings::default(), &ctx());
        assert_eq!(v.score, base);
        assert!(v.verified);
        assert_eq!(codes_of(&v), [(names::GENDER, codes::FAILED)]);
    }

    #[test]
    fn cross_check_weight_follows_the_document_type() {
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::NAME_CROSSCHECK), fail(names::AGE)];
        let weights = WeightValues {
            driver_license_fuzzy_match_weight: 1.0,
            state_id_fuzzy_match_weight: 3.0,
            passport_fuzzy_match_weight: 4.0,
            passport_card_fuzzy_match_weight: 9.0,
            age_weight: 1.0,
            ..Default::default()
        };
        let cases = [
            (DocumentType::DriverLicense, 0.5),
            (DocumentType::Unknown, 0.5),
            (DocumentType::IdentificationCard, 0.75),
            (DocumentType::Passport, 0.8),
            (DocumentType::PassportCard, 0.9),
        ];
        for (document_type, expected) in cases {
            let v = score(&checks, &weights, &FinalizeSettings::default(), &ScoringContext { document_type, ..ctx() });
            assert_eq!(v.score, Some(expected), "{document_type}");
        }
    }

    #[test]
    fn switched_off_tests_are_ignored() {
        let off = ScoringContext {
            perform_liveness_test: false,
            perform_ofac_test: false,
            perform_aamva_test: false,
            perform_image_manipulation_test: false,
            perform_age_test: false,
            perform_gender_test: false,
            ..ctx()
        };
        let checks = [
            pass(names::FACE_MATCH),
            pass(names::NAME_CROSSCHECK),
            fail(names::LIVENESS),
            fail(names::OFAC),
            fail(names::DMV),
            fail(names::DOC_FRONT_IMAGE_MANIPULATION),
            fail(names::AGE),
            fail(names::GENDER),
            fail(names::REQUIREMENTS),
            fail("some_future_check"),
        ];
        let settings = FinalizeSettings { doc_front_image_manipulation_fail: Some(true), ..Default::default() };
        let v = score(&checks, &WeightValues::default(), &settings, &off);
        assert_eq!(v, Verdict { score: Some(1.0), verified: true, on_sanction_list: false, reasons: vec![] });
        // The same results with the tests switched on do count.
        let v = score(&checks, &WeightValues::default(), &settings, &ctx());
        assert!(!v.verified);
        assert!(v.on_sanction_list);
    }

    #[test]
    fn face_match_must_pass() {
        for (checks, code) in [
            (with(all_pass(), fail(names::FACE_MATCH)), codes::FAILED),
            (with(all_pass(), unavailable(names::FACE_MATCH)), codes::UNAVAILABLE),
            (all_pass().into_iter().filter(|c| c.name != names::FACE_MATCH).collect(), codes::UNAVAILABLE),
        ] {
            let v = run(&checks);
            assert!(!v.verified);
            assert_eq!(v.score, Some(1.0), "face_match is a gate, not scored");
            assert_eq!(codes_of(&v), [(names::FACE_MATCH, code)]);
        }
    }

    #[test]
    fn liveness_must_pass_only_when_requested() {
        for (checks, code) in [
            (with(all_pass(), fail(names::LIVENESS)), codes::FAILED),
            (with(all_pass(), unavailable(names::LIVENESS)), codes::UNAVAILABLE),
            (all_pass().into_iter().filter(|c| c.name != names::LIVENESS).collect(), codes::UNAVAILABLE),
        ] {
            let v = run(&checks);
            assert!(!v.verified);
            assert_eq!(codes_of(&v), [(names::LIVENESS, code)]);
            let without = ScoringContext { perform_liveness_test: false, ..ctx() };
            assert!(score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &without).verified);
        }
    }

    #[test]
    fn ofac_hit_sets_on_sanction_list_and_blocks() {
        let weights = WeightValues { ofac_fuzzy_match_weight: 0.0, ..Default::default() };
        let v = score(&with(all_pass(), fail(names::OFAC)), &weights, &FinalizeSettings::default(), &ctx());
        assert!(v.on_sanction_list);
        assert!(!v.verified);
        assert_eq!(v.score, Some(1.0));
        assert_eq!(codes_of(&v), [(names::OFAC, codes::SANCTIONS_HIT)]);
        assert!(!run(&with(all_pass(), unavailable(names::OFAC))).on_sanction_list);
    }

    #[test]
    fn missing_required_fields_block() {
        let missing = ScoringContext { missing_required_fields: vec!["zip".into(), "dob".into(), "zip".into()], ..ctx() };
        let v = score(&all_pass(), &WeightValues::default(), &FinalizeSettings::default(), &missing);
        assert!(!v.verified);
        assert_eq!(v.reasons, [Reason { check: "requirements".into(), code: "missing_fields".into(), message: "missing required fields: dob, zip".into() }]);
    }

    #[test]
    fn forced_fail_setting_flips_an_otherwise_verified_verdict() {
        let checks = with(all_pass(), fail(names::ADDRESS_CROSSCHECK));
        let unforced = run(&checks);
        assert!(unforced.verified, "one failed check among many stays above the threshold");
        assert_eq!(codes_of(&unforced), [(names::ADDRESS_CROSSCHECK, codes::FAILED)]);

        let settings = FinalizeSettings { ocr_address_match_fail: Some(true), ..Default::default() };
        let forced = score(&checks, &WeightValues::default(), &settings, &ctx());
        assert!(!forced.verified);
        assert_eq!(forced.score, unforced.score);
        assert_eq!(codes_of(&forced), [(names::ADDRESS_CROSSCHECK, codes::FORCED_FAILURE)]);
        assert!(forced.reasons[0].message.contains("ocr_address_match_fail"));

        // false or absent settings do nothing; a passing check under a setting is fine.
        let off = FinalizeSettings { ocr_address_match_fail: Some(false), ..Default::default() };
        assert!(score(&checks, &WeightValues::default(), &off, &ctx()).verified);
        assert!(score(&all_pass(), &WeightValues::default(), &settings, &ctx()).verified);
    }

    #[test]
    fn every_setting_maps_to_its_check() {
        let pairs = [
            (FinalizeSettings { doc_front_suspicious_words_fail: Some(true), ..Default::default() }, names::DOC_FRONT_SUSPICIOUS_WORDS),
            (FinalizeSettings { doc_front_image_manipulation_fail: Some(true), ..Default::default() }, names::DOC_FRONT_IMAGE_MANIPULATION),
            (FinalizeSettings { doc_front_online_duplication_fail: Some(true), ..Default::default() }, names::DOC_FRONT_ONLINE_DUPLICATION),
            (FinalizeSettings { doc_front_is_identity_document_fail: Some(true), ..Default::default() }, names::DOC_FRONT_IS_IDENTITY_DOCUMENT),
            (FinalizeSettings { doc_back_suspicious_words_fail: Some(true), ..Default::default() }, names::DOC_BACK_SUSPICIOUS_WORDS),
            (FinalizeSettings { doc_back_image_manipulation_fail: Some(true), ..Default::default() }, names::DOC_BACK_IMAGE_MANIPULATION),
            (FinalizeSettings { doc_back_online_duplication_fail: Some(true), ..Default::default() }, names::DOC_BACK_ONLINE_DUPLICATION),
            (FinalizeSettings { doc_back_is_identity_document_fail: Some(true), ..Default::default() }, names::DOC_BACK_IS_IDENTITY_DOCUMENT),
            (FinalizeSettings { ocr_name_match_fail: Some(true), ..Default::default() }, names::NAME_CROSSCHECK),
            (FinalizeSettings { ocr_address_match_fail: Some(true), ..Default::default() }, names::ADDRESS_CROSSCHECK),
            (FinalizeSettings { ocr_document_number_match_fail: Some(true), ..Default::default() }, names::DOCUMENT_NUMBER_CROSSCHECK),
        ];
        for (settings, name) in pairs {
            let v = score(&with(all_pass(), fail(name)), &WeightValues::default(), &settings, &ctx());
            assert_eq!(codes_of(&v), [(name, codes::FORCED_FAILURE)], "{name}");
            assert!(!v.verified);
            // The setting leaves other checks alone.
            let other = if name == names::NAME_CROSSCHECK { names::AGE } else { names::NAME_CROSSCHECK };
            assert!(score(&with(all_pass(), fail(other)), &WeightValues::default(), &settings, &ctx()).verified, "{name}");
        }
    }

    #[test]
    fn required_check_that_did_not_run_is_not_verified() {
        let settings = FinalizeSettings { doc_back_online_duplication_fail: Some(true), ..Default::default() };
        let unrequired = run(&with(all_pass(), unavailable(names::DOC_BACK_ONLINE_DUPLICATION)));
        assert!(unrequired.verified);
        for checks in [
            with(all_pass(), unavailable(names::DOC_BACK_ONLINE_DUPLICATION)),
            all_pass().into_iter().filter(|c| c.name != names::DOC_BACK_ONLINE_DUPLICATION).collect(),
        ] {
            let v = score(&checks, &WeightValues::default(), &settings, &ctx());
            assert!(!v.verified);
            assert_eq!(v.score, Some(1.0));
            assert_eq!(codes_of(&v), [(names::DOC_BACK_ONLINE_DUPLICATION, codes::UNAVAILABLE)]);
            assert!(v.reasons[0].message.contains("doc_back_online_duplication_fail"));
        }
    }

    #[test]
    fn no_scored_checks_is_not_verified() {
        let v = score(&[pass(names::FACE_MATCH), pass(names::LIVENESS)], &WeightValues::default(), &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, None);
        assert!(!v.verified);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::NO_SCORED_CHECKS)]);
        // Checks that ran with weight 0 leave no score either.
        let weights = WeightValues { age_weight: 0.0, ..Default::default() };
        let v = score(&[pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::AGE)], &weights, &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, None);
        assert!(!v.verified);
    }

    #[test]
    fn threshold_boundary_equal_passes() {
        // (1.0 + 0.5) / 2 = 0.75 exactly.
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::AGE), check(names::GENDER, CheckStatus::Pass, Some(0.5))];
        let at = WeightValues { idv_session_tolerance: 0.75, ..Default::default() };
        let v = score(&checks, &at, &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, Some(0.75));
        assert!(v.verified);
        assert!(v.reasons.is_empty());

        let above = WeightValues { idv_session_tolerance: 0.7500001, ..Default::default() };
        let v = score(&checks, &above, &FinalizeSettings::default(), &no_ofac());
        assert!(!v.verified);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::BELOW_THRESHOLD)]);

        let nan = WeightValues { idv_session_tolerance: f64::NAN, ..Default::default() };
        assert!(!score(&checks, &nan, &FinalizeSettings::default(), &no_ofac()).verified);
    }

    #[test]
    fn reasons_are_sorted_and_input_order_does_not_matter() {
        let mut checks = with(with(with(all_pass(), fail(names::OFAC)), unavailable(names::AGE)), fail(names::FACE_MATCH));
        let v = score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &ScoringContext { missing_required_fields: vec!["dob".into()], ..ctx() });
        checks.reverse();
        let reversed = score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &ScoringContext { missing_required_fields: vec!["dob".into()], ..ctx() });
        assert_eq!(v, reversed);
        assert_eq!(
            codes_of(&v),
            [(names::AGE, codes::UNAVAILABLE), (names::FACE_MATCH, codes::FAILED), (names::OFAC, codes::SANCTIONS_HIT), ("requirements", codes::MISSING_FIELDS)]
        );
    }

    #[test]
    fn the_last_result_for_a_name_wins() {
        let mut checks = all_pass();
        checks.insert(0, fail(names::FACE_MATCH));
        assert!(run(&checks).verified);
        checks.push(fail(names::FACE_MATCH));
        assert!(!run(&checks).verified);
    }

    #[test]
    fn verdict_serializes_as_json() {
        let v = run(&with(all_pass(), fail(names::OFAC)));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["on_sanction_list"], true);
        assert_eq!(json["reasons"][0]["code"], "sanctions_hit");
        assert_eq!(serde_json::from_value::<Verdict>(json).unwrap(), v);
    }

    #[test]
    fn settings_accept_the_seed_sample_and_reject_unknown_keys() {
        let sample = r#"{
            "doc_front_suspicious_words_fail": true,
            "doc_front_image_manipulation_fail": true,
            "doc_front_online_duplication_fail": true,
            "doc_front_is_identity_document_fail": true,
            "doc_back_suspicious_words_fail": true,
            "doc_back_image_manipulation_fail": true,
            "doc_back_online_duplication_fail": true,
            "doc_back_is_identity_document_fail": true,
            "ocr_name_match_fail": true,
            "ocr_address_match_fail": true,
            "ocr_document_number_match_fail": true,
            "aamva_test_scenario": "DLDVSTRUCTUREDTEST11"
        }"#;
        let s: FinalizeSettings = serde_json::from_str(sample).unwrap();
        assert!(s.forced_failures().iter().all(|(_, _, on)| *on == Some(true)));
        assert_eq!(s.aamva_test_scenario.as_deref(), Some("DLDVSTRUCTUREDTEST11"));
        assert_eq!(serde_json::from_str::<FinalizeSettings>("{}").unwrap(), FinalizeSettings::default());

        let err = serde_json::from_str::<FinalizeSettings>(r#"{"ocr_name_match_fail": true, "face_match_fail": true}"#).unwrap_err();
        assert!(err.to_string().contains("face_match_fail"), "{err}");
        assert!(serde_json::from_str::<FinalizeSettings>(r#"{"ocr_name_match_fail": "yes"}"#).is_err());
    }
}
