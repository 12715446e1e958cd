//! Scoring: turns a session's check results, the weights version pinned by
//! the session (its numbers and its verdict [`Policy`]) and the finalize
//! settings into a verdict. Pure: no database, no clock, no I/O — the same
//! inputs always give the same [`Verdict`]. docs/scoring.md states the
//! rules in full for readers outside the code; the unit tests below cover
//! each one.
//!
//! In short:
//!
//! - The **score** is the weighted mean of the values (score clamped to
//!   0..1, else 1 for pass and 0 for fail) of the scored checks that ran.
//! - The **policy** says what a failed check does: `score` (only the mean),
//!   `knock_out` (rejects whatever the score) or `review` (sends the session
//!   to review). Knock-out and review checks still count in the mean.
//! - **Gates**: `face_match` (and `liveness` when requested) must pass;
//!   a requested sanctions screening must run; required fields must be
//!   present; a check a `*_fail: true` finalize setting names must run and
//!   pass; the score must exist and reach `idv_session_tolerance`.
//! - The finalize settings can only tighten the policy: `false` or an
//!   absent setting changes nothing, so a device that leaves them out
//!   cannot relax what the integrator stored.
//! - **Decision**: rejected when any knock-out or gate holds, else
//!   `needs_review` when a review rule fired, else verified.
//! - **Reasons** come in order of decisiveness: knock-outs, then review
//!   triggers, then the score (the threshold first when it decided, then
//!   failed checks by the share of the score they cost, then checks that
//!   did not run). Each carries the threshold it was judged against.
//!
//! `aamva_test_scenario` only selects a scripted DMV answer in sandbox mode;
//! scoring does not read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::domain::policy::{Action, Policy};
use crate::domain::checks::names;
use crate::domain::{CheckStatus, DocumentType};
use crate::domain::weights::WeightValues;

/// The `check` of reasons about the score as a whole.
pub const SCORE_CHECK: &str = "score";

/// Reason codes.
pub mod codes {
    pub const UNAVAILABLE: &str = "unavailable";
    pub const FAILED: &str = "failed";
    pub const FORCED_FAILURE: &str = "forced_failure";
    pub const BELOW_THRESHOLD: &str = "below_threshold";
    pub const SANCTIONS_HIT: &str = "sanctions_hit";
    pub const PEP_HIT: &str = "pep_hit";
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
/// into a required one that must run and pass. They can only tighten the
/// integrator's stored policy: `false` or absent changes nothing.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    pub check: String,
    /// One of [`codes`].
    pub code: String,
    pub message: String,
    /// What the reason did: `knock_out` (rejects), `review` (sends to
    /// review) or `score` (only weighs in the mean).
    #[serde(default)]
    pub effect: Action,
    /// Whether this reason alone decided the outcome (a knock-out, a review
    /// trigger, or the score falling short); `false` for a failed check
    /// that only lowered the score.
    #[serde(default)]
    pub decisive: bool,
    /// The policy rule that applied (`suspicious_words`, `dmv`, ...), when one did.
    #[serde(default)]
    pub rule: Option<String>,
    /// The check's value (0..1), or the session score for [`SCORE_CHECK`].
    #[serde(default)]
    pub value: Option<f64>,
    /// The threshold the value was judged against, and its weights field.
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub threshold_name: Option<String>,
    /// The check's weight in the score (`null` when it carries none).
    #[serde(default)]
    pub weight: Option<f64>,
}

/// The outcome of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    /// A knock-out or a gate, or the score below the threshold.
    #[default]
    Rejected,
    /// Nothing rejected it, but a review rule fired: hold the user until a person decided.
    NeedsReview,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Verified => "verified",
            Decision::Rejected => "rejected",
            Decision::NeedsReview => "needs_review",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verdict {
    /// Weighted mean (0..1) of the scored checks that ran; `None` when none ran.
    pub score: Option<f64>,
    pub verified: bool,
    pub on_sanction_list: bool,
    #[serde(default)]
    pub decision: Decision,
    /// `decision == needs_review`.
    #[serde(default)]
    pub review_required: bool,
    /// In order of decisiveness (see the module docs).
    pub reasons: Vec<Reason>,
}

/// Scores one session. See the module docs and docs/scoring.md for the rules.
pub fn score(
    checks: &[CheckInput],
    weights: &WeightValues,
    policy: &Policy,
    settings: &FinalizeSettings,
    ctx: &ScoringContext,
) -> Verdict {
    let latest: BTreeMap<&str, &CheckInput> = checks.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut findings = Findings::default();
    let judged = |name: &str, check: Option<&CheckInput>| Judged {
        value: check.map(value).filter(|_| check.is_some_and(|c| matches!(c.status, CheckStatus::Pass | CheckStatus::Fail))),
        threshold: threshold_of(name, weights, ctx),
        weight: scored_weight(name, weights, policy, ctx).filter(|w| *w > 0.0),
        rule: policy.rule_for(name).map(|(key, _)| key),
    };

    findings.gate(names::FACE_MATCH, latest.get(names::FACE_MATCH).copied(), policy.face_match, judged(names::FACE_MATCH, latest.get(names::FACE_MATCH).copied()));
    if ctx.perform_liveness_test {
        let check = latest.get(names::LIVENESS).copied();
        findings.gate(names::LIVENESS, check, policy.liveness, judged(names::LIVENESS, check));
    }

    let mut mean = WeightedMean::default();
    for (&name, check) in &latest {
        let Some(weight) = scored_weight(name, weights, policy, ctx) else { continue };
        // A requested sanctions screening that could not run blocks: nobody
        // is verified unscreened.
        let required_by = settings.requiring(name).or((name == names::OFAC).then_some("perform_ofac_test"));
        let how = judged(name, Some(*check));
        match check.status {
            CheckStatus::Pass => mean.add(value(check), weight),
            CheckStatus::Fail => {
                mean.add(value(check), weight);
                findings.failed(check, policy.action_for(name), settings.requiring(name), how);
            }
            CheckStatus::Unavailable | CheckStatus::Pending => {
                findings.unavailable(name, check.detail.as_deref(), required_by, how)
            }
        }
    }
    if ctx.perform_ofac_test && !latest.contains_key(names::OFAC) {
        let how = judged(names::OFAC, None);
        findings.unavailable(names::OFAC, Some("no result recorded"), Some("perform_ofac_test"), how);
    }
    for (setting, check, on) in settings.forced_failures() {
        let enabled = scored_weight(check, weights, policy, ctx).is_some();
        if on == Some(true) && enabled && !latest.contains_key(check) {
            findings.unavailable(check, Some("no result recorded"), Some(setting), judged(check, None));
        }
    }

    if !ctx.missing_required_fields.is_empty() {
        let mut fields = ctx.missing_required_fields.clone();
        fields.sort();
        fields.dedup();
        let message = format!("missing required fields: {}", fields.join(", "));
        findings.push(names::REQUIREMENTS, codes::MISSING_FIELDS, message, Action::KnockOut, Judged::default());
    }

    let score = mean.value();
    let tolerance = weights.idv_session_tolerance;
    let about_score = Judged {
        value: score,
        threshold: Some(("idv_session_tolerance", tolerance)),
        weight: None,
        rule: None,
    };
    match score {
        None => findings.push(SCORE_CHECK, codes::NO_SCORED_CHECKS, "no scored check ran".into(), Action::Score, about_score),
        // `!(>=)` so a NaN tolerance fails closed.
        Some(s) if !(s >= tolerance) => {
            let message = format!("score {s:.4} is below idv_session_tolerance {tolerance}");
            findings.push(SCORE_CHECK, codes::BELOW_THRESHOLD, message, Action::Score, about_score)
        }
        Some(_) => {}
    }

    let decision = if findings.rejected {
        Decision::Rejected
    } else if findings.review {
        Decision::NeedsReview
    } else {
        Decision::Verified
    };
    let mut reasons = findings.reasons;
    reasons.sort_by(|a, b| decisiveness(a).partial_cmp(&decisiveness(b)).unwrap_or(std::cmp::Ordering::Equal).then_with(|| (&a.check, &a.code).cmp(&(&b.check, &b.code))));
    Verdict {
        score,
        verified: decision == Decision::Verified,
        on_sanction_list: findings.on_sanction_list,
        decision,
        review_required: decision == Decision::NeedsReview,
        reasons,
    }
}

/// The sort key of a reason: knock-outs, review triggers, the score's own
/// decisive reason, failed checks by the share of the score they cost
/// (most first), then the rest.
fn decisiveness(r: &Reason) -> (u8, f64) {
    match (r.effect, r.decisive) {
        (Action::KnockOut, _) => (0, 0.0),
        (Action::Review, true) => (1, 0.0),
        (_, true) => (2, 0.0),
        _ if r.code == codes::FAILED || r.code == codes::SANCTIONS_HIT => {
            let cost = r.weight.unwrap_or(0.0) * (1.0 - r.value.unwrap_or(0.0));
            (3, -cost)
        }
        _ => (4, 0.0),
    }
}

/// The weights field a check's own result was judged against, with its value.
fn threshold_of(name: &str, w: &WeightValues, ctx: &ScoringContext) -> Option<(&'static str, f64)> {
    Some(match name {
        names::NAME_CROSSCHECK | names::ADDRESS_CROSSCHECK | names::DOCUMENT_NUMBER_CROSSCHECK => match ctx.document_type {
            DocumentType::IdentificationCard => ("state_id_fuzzy_match_tolerance", w.state_id_fuzzy_match_tolerance),
            DocumentType::Passport => ("passport_fuzzy_match_tolerance", w.passport_fuzzy_match_tolerance),
            DocumentType::PassportCard => ("passport_card_fuzzy_match_tolerance", w.passport_card_fuzzy_match_tolerance),
            DocumentType::DriverLicense | DocumentType::Unknown => {
                ("driver_license_fuzzy_match_tolerance", w.driver_license_fuzzy_match_tolerance)
            }
        },
        names::OFAC | names::PEP => ("ofac_fuzzy_match_tolerance", w.ofac_fuzzy_match_tolerance),
        names::DMV => ("aamva_match_tolerance", w.aamva_match_tolerance),
        names::FACE_MATCH | names::DUPLICATE_FACE => ("onboarding_face_encoding_tolerance", w.onboarding_face_encoding_tolerance),
        names::LIVENESS => ("minimum_liveness_tolerance", w.minimum_liveness_tolerance),
        names::AGE => ("age_tolerance", w.age_tolerance),
        names::GENDER => ("gender_probability_tolerance", w.gender_probability_tolerance),
        _ => return None,
    })
}

/// The weight of a considered check, or `None` when `name` is not
/// considered or its test is switched off. `duplicate_face` is considered
/// with weight 0: the policy acts on it, the mean never counts it.
fn scored_weight(name: &str, w: &WeightValues, policy: &Policy, ctx: &ScoringContext) -> Option<f64> {
    let weight = match name {
        names::DOC_FRONT_SUSPICIOUS_WORDS | names::DOC_BACK_SUSPICIOUS_WORDS => w.suspicious_words_weight,
        names::DOC_FRONT_IMAGE_MANIPULATION | names::DOC_BACK_IMAGE_MANIPULATION if ctx.perform_image_manipulation_test => {
            w.image_manipulation_weight
        }
        names::DOC_FRONT_ONLINE_DUPLICATION | names::DOC_BACK_ONLINE_DUPLICATION => w.online_duplication_weight,
        names::DOC_FRONT_IS_IDENTITY_DOCUMENT | names::DOC_BACK_IS_IDENTITY_DOCUMENT => w.is_identity_document_weight,
        names::NAME_CROSSCHECK
        | names::ADDRESS_CROSSCHECK
        | names::DOCUMENT_NUMBER_CROSSCHECK
        | names::EXPIRY_CROSSCHECK
        | names::BIRTH_DATE_CROSSCHECK => {
            fuzzy_match_weight(ctx.document_type, w)
        }
        names::DOCUMENT_EXPIRY | names::DOCUMENT_ISSUE_DATE | names::DOCUMENT_DATE_ORDER | names::BIRTH_DATE_PLAUSIBILITY => {
            policy.document_validity_weight
        }
        names::DUPLICATE_FACE => 0.0,
        names::PEP if ctx.perform_ofac_test => 0.0,
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

/// How a check was judged: its value, threshold, weight and policy rule.
#[derive(Default, Clone, Copy)]
struct Judged {
    value: Option<f64>,
    threshold: Option<(&'static str, f64)>,
    weight: Option<f64>,
    rule: Option<&'static str>,
}

#[derive(Default)]
struct Findings {
    reasons: Vec<Reason>,
    rejected: bool,
    review: bool,
    on_sanction_list: bool,
}

impl Findings {
    /// Adds a reason; `knock_out` rejects, `review` asks for review, and a
    /// `score` reason is decisive only for the session-level score gates.
    fn push(&mut self, check: &str, code: &str, message: String, effect: Action, how: Judged) {
        let decisive = match effect {
            Action::KnockOut => {
                self.rejected = true;
                true
            }
            Action::Review => {
                self.review = true;
                true
            }
            Action::Score if check == SCORE_CHECK => {
                self.rejected = true;
                true
            }
            Action::Score => false,
        };
        self.reasons.push(Reason {
            check: check.to_string(),
            code: code.to_string(),
            message,
            effect,
            decisive,
            rule: how.rule.map(str::to_string),
            value: how.value,
            threshold: how.threshold.map(|(_, t)| t),
            threshold_name: how.threshold.map(|(n, _)| n.to_string()),
            weight: how.weight,
        });
    }

    /// A check that must pass: a fail does what the policy says
    /// (`knock_out` or `review`); no result, or one that did not run, rejects.
    fn gate(&mut self, name: &str, check: Option<&CheckInput>, action: Action, how: Judged) {
        let on_fail = if action == Action::Review { Action::Review } else { Action::KnockOut };
        match check {
            Some(c) if c.status == CheckStatus::Pass => {}
            Some(c) if c.status == CheckStatus::Fail => {
                let message = with_detail(format!("{name} failed{}", policy_note(how.rule, on_fail)), c);
                self.push(name, codes::FAILED, message, on_fail, how)
            }
            Some(c) => {
                let message = with_detail(format!("{name} did not run and must pass"), c);
                self.push(name, codes::UNAVAILABLE, message, Action::KnockOut, how)
            }
            None => self.push(name, codes::UNAVAILABLE, format!("{name} has no result and must pass"), Action::KnockOut, how),
        }
    }

    /// A considered check that ran and failed: the policy's action, made a
    /// knock-out by a `*_fail: true` setting.
    fn failed(&mut self, check: &CheckInput, action: Action, required_by: Option<&str>, how: Judged) {
        let name = check.name.as_str();
        if name == names::OFAC {
            self.on_sanction_list = true;
            let message = with_detail(format!("the name matches a sanctions list{}", policy_note(how.rule, action)), check);
            return self.push(name, codes::SANCTIONS_HIT, message, action, how);
        }
        if name == names::PEP {
            // A politically exposed person is not on a sanctions list.
            let message = with_detail(format!("the name matches a politically exposed person{}", policy_note(how.rule, action)), check);
            return self.push(name, codes::PEP_HIT, message, action, how);
        }
        match (action, required_by) {
            (Action::KnockOut, _) | (Action::Score, None) | (Action::Review, None) => {
                let message = with_detail(format!("{name} failed{}", policy_note(how.rule, action)), check);
                self.push(name, codes::FAILED, message, action, how)
            }
            (_, Some(setting)) => {
                let message = with_detail(format!("{name} failed and {setting} is set"), check);
                self.push(name, codes::FORCED_FAILURE, message, Action::KnockOut, how)
            }
        }
    }

    /// A considered check that did not run: rejects when something requires it.
    fn unavailable(&mut self, name: &str, detail: Option<&str>, required_by: Option<&str>, how: Judged) {
        let suffix = detail.map(|d| format!(": {d}")).unwrap_or_default();
        match required_by {
            Some(setting) => {
                let message = format!("{name} did not run and {setting} requires it{suffix}");
                self.push(name, codes::UNAVAILABLE, message, Action::KnockOut, how)
            }
            None => {
                let message = format!("{name} did not run; left out of the score{suffix}");
                self.push(name, codes::UNAVAILABLE, message, Action::Score, how)
            }
        }
    }
}

/// "; the policy rejects on it (rule `x`)" and the like.
fn policy_note(rule: Option<&str>, action: Action) -> String {
    let Some(rule) = rule else { return String::new() };
    match action {
        Action::KnockOut => format!(" (policy `{rule}`: knock_out)"),
        Action::Review => format!(" (policy `{rule}`: review)"),
        Action::Score => String::new(),
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

    /// The rules before policies existed: every check only scored, a
    /// sanctions hit and the face/liveness gates reject.
    fn legacy() -> Policy {
        Policy { sanctions: Action::KnockOut, ..Policy::all(Action::Score) }
    }

    fn legacy_score(checks: &[CheckInput], weights: &WeightValues, settings: &FinalizeSettings, ctx: &ScoringContext) -> Verdict {
        score(checks, weights, &legacy(), settings, ctx)
    }

    fn verified(score: f64) -> Verdict {
        Verdict { score: Some(score), verified: true, on_sanction_list: false, decision: Decision::Verified, review_required: false, reasons: vec![] }
    }

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
        assert!(legacy_score(&checks, &w, &FinalizeSettings::default(), &ctx()).verified);
        checks.retain(|c| c.name != names::OFAC);
        let absent = legacy_score(&checks, &w, &FinalizeSettings::default(), &ctx());
        assert!(!absent.verified);
        checks.push(unavailable(names::OFAC));
        let v = legacy_score(&checks, &w, &FinalizeSettings::default(), &ctx());
        assert!(!v.verified && !v.on_sanction_list);
        assert!(v.reasons.iter().any(|r| r.check == names::OFAC && r.code == codes::UNAVAILABLE));
        assert!(legacy_score(&checks, &w, &FinalizeSettings::default(), &no_ofac()).verified);
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
        legacy_score(checks, &WeightValues::default(), &FinalizeSettings::default(), &ctx())
    }

    fn codes_of(v: &Verdict) -> Vec<(&str, &str)> {
        v.reasons.iter().map(|r| (r.check.as_str(), r.code.as_str())).collect()
    }

    #[test]
    fn everything_passing_is_verified_with_full_score() {
        let v = run(&all_pass());
        assert_eq!(v, verified(1.0));
    }

    #[test]
    fn all_unavailable_is_not_verified_and_lists_each_check() {
        let checks: Vec<CheckInput> = all_pass().iter().map(|c| unavailable(&c.name)).collect();
        let v = run(&checks);
        assert!(!v.verified);
        assert_eq!(v.score, None);
        // The gates that must run reject first, then the score's own reason, then the rest by name.
        let gates = [names::FACE_MATCH, names::LIVENESS, names::OFAC];
        let mut expected: Vec<(&str, &str)> = gates.iter().map(|g| (*g, codes::UNAVAILABLE)).collect();
        expected.push((SCORE_CHECK, codes::NO_SCORED_CHECKS));
        let mut rest: Vec<(&str, &str)> =
            checks.iter().map(|c| (c.name.as_str(), codes::UNAVAILABLE)).filter(|(n, _)| !gates.contains(n)).collect();
        rest.sort();
        expected.extend(rest);
        assert_eq!(codes_of(&v), expected);
        assert!(v.reasons.iter().all(|r| !r.message.is_empty()));
        assert!(v.reasons[0].message.contains("engine not configured"));
    }

    #[test]
    fn score_is_the_weighted_mean_of_checks_that_ran() {
        let weights = WeightValues { gender_weight: 3.0, age_weight: 1.0, ..Default::default() };
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), check(names::GENDER, CheckStatus::Pass, Some(0.9)), fail(names::AGE)];
        let v = legacy_score(&checks, &weights, &FinalizeSettings::default(), &no_ofac());
        assert!((v.score.unwrap() - (3.0 * 0.9 + 1.0 * 0.0) / 4.0).abs() < 1e-12);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::BELOW_THRESHOLD), (names::AGE, codes::FAILED)], "the deciding reason first");
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
        let base = legacy_score(&all_pass(), &weights, &FinalizeSettings::default(), &ctx()).score;
        let v = legacy_score(&with(all_pass(), check(names::GENDER, CheckStatus::Fail, Some(0.0))), &weights, &FinalizeSettings::default(), &ctx());
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
            let v = legacy_score(&checks, &weights, &FinalizeSettings::default(), &ScoringContext { document_type, ..ctx() });
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
        let v = legacy_score(&checks, &WeightValues::default(), &settings, &off);
        assert_eq!(v, verified(1.0));
        // The same results with the tests switched on do count.
        let v = legacy_score(&checks, &WeightValues::default(), &settings, &ctx());
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
            assert!(legacy_score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &without).verified);
        }
    }

    #[test]
    fn ofac_hit_sets_on_sanction_list_and_blocks() {
        let weights = WeightValues { ofac_fuzzy_match_weight: 0.0, ..Default::default() };
        let v = legacy_score(&with(all_pass(), fail(names::OFAC)), &weights, &FinalizeSettings::default(), &ctx());
        assert!(v.on_sanction_list);
        assert!(!v.verified);
        assert_eq!(v.score, Some(1.0));
        assert_eq!(codes_of(&v), [(names::OFAC, codes::SANCTIONS_HIT)]);
        assert!(!run(&with(all_pass(), unavailable(names::OFAC))).on_sanction_list);
    }

    #[test]
    fn missing_required_fields_block() {
        let missing = ScoringContext { missing_required_fields: vec!["zip".into(), "dob".into(), "zip".into()], ..ctx() };
        let v = legacy_score(&all_pass(), &WeightValues::default(), &FinalizeSettings::default(), &missing);
        assert!(!v.verified);
        assert_eq!(codes_of(&v), [("requirements", "missing_fields")]);
        assert_eq!(v.reasons[0].message, "missing required fields: dob, zip");
        assert_eq!((v.reasons[0].effect, v.reasons[0].decisive), (Action::KnockOut, true));
    }

    #[test]
    fn forced_fail_setting_flips_an_otherwise_verified_verdict() {
        let checks = with(all_pass(), fail(names::ADDRESS_CROSSCHECK));
        let unforced = run(&checks);
        assert!(unforced.verified, "one failed check among many stays above the threshold");
        assert_eq!(codes_of(&unforced), [(names::ADDRESS_CROSSCHECK, codes::FAILED)]);

        let settings = FinalizeSettings { ocr_address_match_fail: Some(true), ..Default::default() };
        let forced = legacy_score(&checks, &WeightValues::default(), &settings, &ctx());
        assert!(!forced.verified);
        assert_eq!(forced.score, unforced.score);
        assert_eq!(codes_of(&forced), [(names::ADDRESS_CROSSCHECK, codes::FORCED_FAILURE)]);
        assert!(forced.reasons[0].message.contains("ocr_address_match_fail"));

        // false or absent settings do nothing; a passing check under a setting is fine.
        let off = FinalizeSettings { ocr_address_match_fail: Some(false), ..Default::default() };
        assert!(legacy_score(&checks, &WeightValues::default(), &off, &ctx()).verified);
        assert!(legacy_score(&all_pass(), &WeightValues::default(), &settings, &ctx()).verified);
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
            let v = legacy_score(&with(all_pass(), fail(name)), &WeightValues::default(), &settings, &ctx());
            assert_eq!(codes_of(&v), [(name, codes::FORCED_FAILURE)], "{name}");
            assert!(!v.verified);
            // The setting leaves other checks alone.
            let other = if name == names::NAME_CROSSCHECK { names::AGE } else { names::NAME_CROSSCHECK };
            assert!(legacy_score(&with(all_pass(), fail(other)), &WeightValues::default(), &settings, &ctx()).verified, "{name}");
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
            let v = legacy_score(&checks, &WeightValues::default(), &settings, &ctx());
            assert!(!v.verified);
            assert_eq!(v.score, Some(1.0));
            assert_eq!(codes_of(&v), [(names::DOC_BACK_ONLINE_DUPLICATION, codes::UNAVAILABLE)]);
            assert!(v.reasons[0].message.contains("doc_back_online_duplication_fail"));
        }
    }

    #[test]
    fn no_scored_checks_is_not_verified() {
        let v = legacy_score(&[pass(names::FACE_MATCH), pass(names::LIVENESS)], &WeightValues::default(), &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, None);
        assert!(!v.verified);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::NO_SCORED_CHECKS)]);
        // Checks that ran with weight 0 leave no score either.
        let weights = WeightValues { age_weight: 0.0, ..Default::default() };
        let v = legacy_score(&[pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::AGE)], &weights, &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, None);
        assert!(!v.verified);
    }

    #[test]
    fn threshold_boundary_equal_passes() {
        // (1.0 + 0.5) / 2 = 0.75 exactly.
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::AGE), check(names::GENDER, CheckStatus::Pass, Some(0.5))];
        let at = WeightValues { idv_session_tolerance: 0.75, ..Default::default() };
        let v = legacy_score(&checks, &at, &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, Some(0.75));
        assert!(v.verified);
        assert!(v.reasons.is_empty());

        let above = WeightValues { idv_session_tolerance: 0.7500001, ..Default::default() };
        let v = legacy_score(&checks, &above, &FinalizeSettings::default(), &no_ofac());
        assert!(!v.verified);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::BELOW_THRESHOLD)]);

        let nan = WeightValues { idv_session_tolerance: f64::NAN, ..Default::default() };
        assert!(!legacy_score(&checks, &nan, &FinalizeSettings::default(), &no_ofac()).verified);
    }

    #[test]
    fn reasons_are_sorted_and_input_order_does_not_matter() {
        let mut checks = with(with(with(all_pass(), fail(names::OFAC)), unavailable(names::AGE)), fail(names::FACE_MATCH));
        let v = legacy_score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &ScoringContext { missing_required_fields: vec!["dob".into()], ..ctx() });
        checks.reverse();
        let reversed = legacy_score(&checks, &WeightValues::default(), &FinalizeSettings::default(), &ScoringContext { missing_required_fields: vec!["dob".into()], ..ctx() });
        assert_eq!(v, reversed);
        assert_eq!(
            codes_of(&v),
            [(names::FACE_MATCH, codes::FAILED), (names::OFAC, codes::SANCTIONS_HIT), ("requirements", codes::MISSING_FIELDS), (names::AGE, codes::UNAVAILABLE)],
            "knock-outs first, then the score's reasons"
        );
    }

    // ------------------------------------------------------------ policy

    fn with_policy(checks: &[CheckInput], policy: &Policy) -> Verdict {
        score(checks, &WeightValues::default(), policy, &FinalizeSettings::default(), &ctx())
    }

    fn every_check() -> Vec<CheckInput> {
        let mut checks = all_pass();
        for name in [
            names::DUPLICATE_FACE,
            names::DOCUMENT_EXPIRY,
            names::DOCUMENT_ISSUE_DATE,
            names::DOCUMENT_DATE_ORDER,
            names::BIRTH_DATE_PLAUSIBILITY,
            names::EXPIRY_CROSSCHECK,
            names::BIRTH_DATE_CROSSCHECK,
        ] {
            checks.push(pass(name));
        }
        checks
    }

    #[test]
    fn each_default_rule_gives_its_outcome_and_scoring_it_verifies() {
        let default = Policy::default();
        let scored = Policy::all(Action::Score);
        for (key, action, rule_checks) in default.rules() {
            for check_name in rule_checks {
                let checks = with(every_check(), fail(check_name));
                let v = with_policy(&checks, &default);
                let expected = match action {
                    Action::KnockOut => Decision::Rejected,
                    Action::Review => Decision::NeedsReview,
                    Action::Score => Decision::Verified,
                };
                assert_eq!(v.decision, expected, "{key}/{check_name}: {v:?}");
                assert_eq!(v.verified, expected == Decision::Verified, "{key}");
                assert_eq!(v.review_required, expected == Decision::NeedsReview, "{key}");
                let first = &v.reasons[0];
                assert_eq!((first.check.as_str(), first.rule.as_deref()), (*check_name, Some(key)), "{key}: {v:?}");
                assert_eq!(first.effect, action, "{key}");
                assert_eq!(first.decisive, action != Action::Score, "{key}");
                // The same failure under an all-score policy only lowers the score
                // (face_match and liveness stay gates: they carry no weight).
                let v = with_policy(&checks, &scored);
                if matches!(*check_name, names::FACE_MATCH | names::LIVENESS) {
                    assert_eq!(v.decision, Decision::Rejected, "{key}");
                } else {
                    assert_eq!(v.decision, Decision::Verified, "{key} scored: {v:?}");
                    assert!(!v.reasons[0].decisive);
                }
            }
        }
    }

    #[test]
    fn knock_out_beats_review_and_reasons_come_in_order_of_decisiveness() {
        let checks = with(
            with(with(with(every_check(), fail(names::DOC_FRONT_SUSPICIOUS_WORDS)), fail(names::NAME_CROSSCHECK)), fail(names::AGE)),
            unavailable(names::GENDER),
        );
        let v = with_policy(&checks, &Policy::default());
        assert_eq!((v.decision, v.verified, v.review_required), (Decision::Rejected, false, false));
        assert_eq!(
            codes_of(&v),
            [
                (names::DOC_FRONT_SUSPICIOUS_WORDS, codes::FAILED),
                (names::NAME_CROSSCHECK, codes::FAILED),
                (names::AGE, codes::FAILED),
                (names::GENDER, codes::UNAVAILABLE)
            ]
        );
        assert_eq!(v.reasons.iter().map(|r| r.effect).collect::<Vec<_>>(), [Action::KnockOut, Action::Review, Action::Score, Action::Score]);
        // Each carries what it was judged against.
        let name = &v.reasons[1];
        assert_eq!((name.threshold_name.as_deref(), name.threshold), (Some("driver_license_fuzzy_match_tolerance"), Some(0.8)));
        assert_eq!(name.weight, Some(1.0));
        assert!(name.message.contains("policy `name_crosscheck`: review"), "{}", name.message);
    }

    #[test]
    fn below_threshold_leads_the_score_reasons_and_failed_checks_follow_by_cost() {
        let weights = WeightValues { idv_session_tolerance: 0.99, age_weight: 0.5, gender_weight: 3.0, ..Default::default() };
        let checks = with(with(every_check(), fail(names::AGE)), fail(names::GENDER));
        let v = score(&checks, &weights, &Policy::default(), &FinalizeSettings::default(), &ctx());
        assert_eq!(v.decision, Decision::Rejected);
        assert_eq!(codes_of(&v), [(SCORE_CHECK, codes::BELOW_THRESHOLD), (names::GENDER, codes::FAILED), (names::AGE, codes::FAILED)]);
        let s = &v.reasons[0];
        assert_eq!((s.threshold_name.as_deref(), s.threshold, s.decisive), (Some("idv_session_tolerance"), Some(0.99), true));
        assert_eq!(s.value, v.score);
    }

    #[test]
    fn finalize_settings_only_tighten_the_policy() {
        let all_false = FinalizeSettings {
            doc_front_suspicious_words_fail: Some(false),
            doc_front_image_manipulation_fail: Some(false),
            doc_front_online_duplication_fail: Some(false),
            doc_front_is_identity_document_fail: Some(false),
            doc_back_suspicious_words_fail: Some(false),
            doc_back_image_manipulation_fail: Some(false),
            doc_back_online_duplication_fail: Some(false),
            doc_back_is_identity_document_fail: Some(false),
            ocr_name_match_fail: Some(false),
            ocr_address_match_fail: Some(false),
            ocr_document_number_match_fail: Some(false),
            aamva_test_scenario: None,
        };
        for failing in [names::DOC_FRONT_SUSPICIOUS_WORDS, names::DOC_BACK_ONLINE_DUPLICATION, names::DOCUMENT_EXPIRY] {
            let checks = with(every_check(), fail(failing));
            let v = score(&checks, &WeightValues::default(), &Policy::default(), &all_false, &ctx());
            assert_eq!(v.decision, Decision::Rejected, "{failing}: a device sending false cannot relax the policy");
        }
        // A review rule becomes a rejection when the device asks for it.
        let checks = with(every_check(), fail(names::NAME_CROSSCHECK));
        let tighter = FinalizeSettings { ocr_name_match_fail: Some(true), ..Default::default() };
        let v = score(&checks, &WeightValues::default(), &Policy::default(), &tighter, &ctx());
        assert_eq!((v.decision, v.reasons[0].code.as_str()), (Decision::Rejected, codes::FORCED_FAILURE));
    }

    #[test]
    fn a_pep_hit_follows_its_own_rule_and_is_no_sanctions_hit() {
        let checks = with(all_pass(), fail(names::PEP));
        let v = score(&checks, &WeightValues::default(), &Policy::default(), &FinalizeSettings::default(), &ctx());
        assert_eq!((v.decision, v.on_sanction_list, v.score), (Decision::NeedsReview, false, Some(1.0)), "{v:?}");
        assert_eq!(codes_of(&v), [(names::PEP, codes::PEP_HIT)]);
        let reject = Policy { pep: Action::KnockOut, ..Policy::default() };
        assert_eq!(score(&checks, &WeightValues::default(), &reject, &FinalizeSettings::default(), &ctx()).decision, Decision::Rejected);
        let only_scored = Policy { pep: Action::Score, ..Policy::default() };
        assert_eq!(score(&checks, &WeightValues::default(), &only_scored, &FinalizeSettings::default(), &ctx()).decision, Decision::Verified);
    }

    #[test]
    fn validity_checks_weigh_with_the_policy_weight() {
        let checks = [pass(names::FACE_MATCH), pass(names::LIVENESS), pass(names::AGE), fail(names::DOCUMENT_EXPIRY)];
        let policy = Policy { document_validity_weight: 3.0, ..Policy::all(Action::Score) };
        let v = score(&checks, &WeightValues { age_weight: 1.0, ..Default::default() }, &policy, &FinalizeSettings::default(), &no_ofac());
        assert_eq!(v.score, Some(0.25));
        // duplicate_face carries no weight: it never moves the score.
        let v = with_policy(&with(all_pass(), fail(names::DUPLICATE_FACE)), &Policy::all(Action::Score));
        assert_eq!((v.score, v.decision), (Some(1.0), Decision::Verified));
    }

    #[test]
    fn stored_reasons_without_the_new_fields_still_read() {
        let old = serde_json::json!([{"check": "age", "code": "failed", "message": "age failed"}]);
        let reasons: Vec<Reason> = serde_json::from_value(old).unwrap();
        assert_eq!((reasons[0].effect, reasons[0].decisive, reasons[0].threshold), (Action::Score, false, None));
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
    fn settings_accept_the_documented_sample_and_reject_unknown_keys() {
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
