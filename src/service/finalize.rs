//! Finalize of an IDV session: wait (bounded) for the background analysis,
//! record every expected check that did not run as `unavailable` with the
//! reason, screen (sanctions, DMV) when those engines are installed, check
//! the requirements, score with the pinned weights version, and store the
//! verdict — creating or updating the identity when verified.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use entity::{document, idv_session, weights};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::engine::scoring::{self, CheckInput, Decision, FinalizeSettings, ScoringContext, Verdict};
use crate::engine::{DmvRequest, DmvVerdict, EngineError, EngineKind, ScreeningSubject};
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::domain::checks::owed;
use crate::service::checks::{self, Outcome, names};
use crate::service::history::{self, SessionKind};
use crate::service::idv::IdvSettings;
use crate::service::requirements;
use crate::service::screening;
use crate::service::types::{AamvaRetry, CheckStatus, DataSource, DocumentType, Gender, SessionStatus};
use crate::service::weights::WeightValues;
use crate::service::identities;
use crate::state::AppState;

/// The `Retry-After` of a finalize answered while its analysis still runs.
pub const FINALIZE_RETRY_AFTER_SECS: u64 = 5;

/// The answer of a finalize whose session's analysis is still running.
pub fn analysis_still_running() -> AppError {
    AppError::StillRunning {
        detail: "the analysis of this session is still running; the session stays open: retry finalize after the Retry-After seconds".into(),
        retry_after_secs: FINALIZE_RETRY_AFTER_SECS,
    }
}

/// Lets the session's own analysis jobs finish, waiting at most
/// `finalize_wait_secs` (IDV and IDA alike); other sessions' jobs are
/// neither run nor awaited here.
pub async fn settle_analysis(state: &AppState, session_id: &str) -> AppResult<()> {
    let wait = Duration::from_secs(state.config.finalize_wait_secs);
    if jobs::settle_session(state, session_id, wait).await? { Ok(()) } else { Err(analysis_still_running()) }
}

/// The stored verdict of a finalized session.
pub fn stored_verdict(s: &idv_session::Model) -> Verdict {
    let reasons = s.reasons.clone().and_then(|r| serde_json::from_value(r).ok()).unwrap_or_default();
    let verified = s.verified.unwrap_or(false);
    let decision = match (verified, s.review_required) {
        (true, _) => Decision::Verified,
        (false, true) => Decision::NeedsReview,
        (false, false) => Decision::Rejected,
    };
    Verdict {
        score: s.score,
        verified,
        on_sanction_list: s.ofac_status == "hit",
        decision,
        review_required: decision == Decision::NeedsReview,
        reasons,
    }
}

pub async fn finalize_idv(
    state: &AppState,
    session: idv_session::Model,
    settings: FinalizeSettings,
    endpoint: &str,
) -> AppResult<Verdict> {
    if session.status != SessionStatus::InProgress.as_str() {
        return Ok(stored_verdict(&session));
    }
    // Retryable: the session stays open; jobs that keep failing give up
    // with `unavailable` results, so a later finalize always gets through.
    settle_analysis(state, &session.id).await?;
    let session_settings = IdvSettings::of(&session);
    // Two document jobs that finished together may both have missed the other's reading.
    crate::service::document_checks::record_crosschecks(&state.db, &session).await?;
    crate::service::document_checks::record_validity(&state.db, &session, Utc::now()).await?;
    record_missing_checks(state, &session).await?;
    let doc = current_document(state, &session).await?;
    screen(state, &session, &session_settings, doc.as_ref(), &settings).await?;
    crate::service::faces::settle_idv(state, &session, &session_settings, doc.as_ref()).await?;
    score_and_store(state, &session, doc.as_ref(), &settings, endpoint, Stage::Finalize).await
}

/// Which status change a verdict makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// `in_progress` → `complete`, or `temporarily_complete` when the DMV
    /// check is pending (`aamva_retry_e = retry`).
    Finalize,
    /// `temporarily_complete` → `complete`: the DMV retry settled.
    SettleDmv,
}

/// Scores the session's recorded checks with its pinned weights and stores
/// the verdict for `stage`.
async fn score_and_store(
    state: &AppState,
    session: &idv_session::Model,
    doc: Option<&document::Model>,
    settings: &FinalizeSettings,
    endpoint: &str,
    stage: Stage,
) -> AppResult<Verdict> {
    let session_settings = IdvSettings::of(session);
    let missing = requirement_gaps(state, session, doc).await?;
    let weights_row = weights::Entity::find_by_id(session.idv_weights_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::internal(format!("weights {} of session {} missing", session.idv_weights_id, session.id)))?;
    let rows = checks::for_session(&state.db, &session.client_id, &session.id).await?;
    let inputs: Vec<CheckInput> = rows
        .iter()
        .map(|r| CheckInput { name: r.check_name.clone(), status: CheckStatus::from_db(&r.status), score: r.score, detail: r.detail.clone() })
        .collect();
    let ctx = ScoringContext {
        document_type: DocumentType::from_db(&session.document_type),
        perform_liveness_test: session_settings.perform_liveness_test,
        perform_ofac_test: session_settings.perform_ofac_test,
        perform_aamva_test: session_settings.perform_aamva_test,
        perform_image_manipulation_test: session_settings.perform_image_manipulation_test,
        perform_age_test: session_settings.perform_age_test,
        perform_gender_test: session_settings.perform_gender_test,
        missing_required_fields: missing,
    };
    let policy = crate::service::weights::policy_of(&weights_row);
    let verdict = scoring::score(&inputs, &WeightValues::from_model(&weights_row), &policy, settings, &ctx);
    let status_of = |name: &str| rows.iter().find(|r| r.check_name == name).map(|r| CheckStatus::from_db(&r.status));
    let (ofac, dmv) = (status_of(names::OFAC), status_of(names::DMV));
    let transition = match stage {
        Stage::Finalize if dmv == Some(CheckStatus::Pending) => Transition::AwaitDmv,
        Stage::Finalize => Transition::Complete,
        Stage::SettleDmv => Transition::SettleDmv,
    };
    store(state, session, doc, settings, &verdict, ofac, dmv, endpoint, transition).await
}

/// `aamva_retry_e = retry`: asks the DMV again for a `temporarily_complete`
/// session ([`crate::domain::JobKind::DmvRetry`]). When it answers, the check
/// is recorded, the session re-scored and completed (history `finalized`,
/// `session.completed` and, when verified, `identity.verified`). When it
/// still cannot answer this returns [`AppError::Unavailable`] and the job
/// asks again later. A session no longer waiting is left alone.
pub async fn retry_dmv(state: &AppState, client_id: &str, session_id: &str) -> AppResult<()> {
    let Some(session) = awaiting_dmv(state, client_id, session_id).await? else { return Ok(()) };
    let settings = stored_finalize_settings(&session);
    let doc = current_document(state, &session).await?;
    let outcome = match ask_dmv(state, &session, doc.as_ref(), &settings).await? {
        DmvAnswer::Settled(outcome) => outcome,
        DmvAnswer::NotNow(reason) => return Err(AppError::Unavailable(reason)),
    };
    checks::record(&state.db, SessionKind::Idv, client_id, session_id, names::DMV, outcome).await?;
    score_and_store(state, &session, doc.as_ref(), &settings, "system", Stage::SettleDmv).await?;
    Ok(())
}

/// The DMV retries are exhausted: the check becomes `unavailable` and the
/// session is completed with what it has.
pub async fn give_up_dmv(state: &AppState, client_id: &str, session_id: &str, attempts: i32) -> AppResult<()> {
    let Some(session) = awaiting_dmv(state, client_id, session_id).await? else { return Ok(()) };
    let settings = stored_finalize_settings(&session);
    let doc = current_document(state, &session).await?;
    let outcome = Outcome::unavailable(format!("the DMV did not answer after {attempts} more attempts"));
    checks::record(&state.db, SessionKind::Idv, client_id, session_id, names::DMV, outcome).await?;
    score_and_store(state, &session, doc.as_ref(), &settings, "system", Stage::SettleDmv).await?;
    Ok(())
}

async fn awaiting_dmv(state: &AppState, client_id: &str, session_id: &str) -> AppResult<Option<idv_session::Model>> {
    let session = match crate::service::idv::find(&state.db, client_id, session_id).await {
        Ok(s) => s,
        // Deleted meanwhile: nothing to settle.
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok((session.status == SessionStatus::TemporarilyComplete.as_str()).then_some(session))
}

fn stored_finalize_settings(s: &idv_session::Model) -> FinalizeSettings {
    s.finalize_settings.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

async fn current_document(state: &AppState, s: &idv_session::Model) -> AppResult<Option<document::Model>> {
    current_document_in(&state.db, s).await
}

/// The session's current document (the reading the identity is made from).
pub async fn current_document_in(db: &impl sea_orm::ConnectionTrait, s: &idv_session::Model) -> AppResult<Option<document::Model>> {
    Ok(document::Entity::find()
        .filter(document::Column::SessionId.eq(&s.id))
        .filter(document::Column::ClientId.eq(&s.client_id))
        .filter(document::Column::IsCurrent.eq(true))
        .one(db)
        .await?)
}

/// What a verified session does to identities, inside the transaction that
/// verifies it: creates or updates its identity from the session and its
/// current document and links the session to it. Finalize and a review's
/// approve both call this, so an approved session ends exactly as a verified one.
pub async fn attach_identity(
    txn: &impl sea_orm::ConnectionTrait,
    session: &idv_session::Model,
    doc: Option<&document::Model>,
    score: Option<f64>,
    now: chrono::DateTime<Utc>,
) -> AppResult<entity::identity::Model> {
    let identity = identities::upsert_from_verified_session(txn, session, doc, score, now).await?;
    idv_session::Entity::update_many()
        .col_expr(idv_session::Column::IdentityId, sea_orm::sea_query::Expr::value(identity.id.clone()))
        .filter(idv_session::Column::Id.eq(&session.id))
        .exec(txn)
        .await?;
    Ok(identity)
}

/// Every check the session should carry but does not gets `unavailable`
/// with the reason it could not run.
async fn record_missing_checks(state: &AppState, s: &idv_session::Model) -> AppResult<()> {
    let db = &state.db;
    let absent = |given: bool, what: &str| -> String {
        if !given {
            format!("no {what} was uploaded")
        } else {
            "the analysis did not produce this check".to_string()
        }
    };
    for name in owed::FRONT.into_iter().chain(owed::CROSSCHECKS) {
        let reason = absent(s.document_front_given, "document front");
        checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, name, Outcome::unavailable(reason)).await?;
    }
    if DocumentType::from_db(&s.document_type) != DocumentType::Passport {
        for name in owed::BACK {
            let reason = absent(s.document_back_given, "document back");
            checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, name, Outcome::unavailable(reason)).await?;
        }
    }
    let settings = IdvSettings::of(s);
    let mut selfie_checks = vec![names::FACE_MATCH, names::LIVENESS];
    if settings.perform_age_test {
        selfie_checks.push(names::AGE);
    }
    if settings.perform_gender_test {
        selfie_checks.push(names::GENDER);
    }
    for name in selfie_checks {
        let reason = if s.selfie_given && state.engines.face.is_none() && name != names::LIVENESS {
            state.engines.reason(EngineKind::Face)
        } else {
            absent(s.selfie_given, "selfie or liveness frame")
        };
        checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, name, Outcome::unavailable(reason)).await?;
    }
    Ok(())
}

fn date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Sanctions screening and the DMV check, when enabled for the session.
async fn screen(
    state: &AppState,
    s: &idv_session::Model,
    settings: &IdvSettings,
    doc: Option<&document::Model>,
    _finalize: &FinalizeSettings,
) -> AppResult<()> {
    let db = &state.db;
    let weights = weights::Entity::find_by_id(s.idv_weights_id.clone()).one(db).await?;
    let has_name = doc.is_some_and(|d| d.last_name.is_some() || d.first_name.is_some());
    if settings.perform_ofac_test {
        let (outcome, pep) = screen_lists(state, s, doc.filter(|_| has_name), weights.as_ref()).await?;
        checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, names::OFAC, outcome).await?;
        if let Some(pep) = pep {
            checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, names::PEP, pep).await?;
        }
    }
    if settings.perform_aamva_test {
        let outcome = match ask_dmv(state, s, doc, _finalize).await? {
            DmvAnswer::Settled(outcome) => outcome,
            // Pending makes the session `temporarily_complete` and queues the retry job (see `store`).
            DmvAnswer::NotNow(reason) if settings.aamva_retry_e == AamvaRetry::Retry => Outcome {
                status: CheckStatus::Pending,
                score: None,
                detail: Some(format!("{reason}; the DMV will be asked again")),
                evidence: None,
                engine_version: None,
            },
            DmvAnswer::NotNow(reason) => Outcome::unavailable(reason),
        };
        checks::record_if_absent(db, SessionKind::Idv, &s.client_id, &s.id, names::DMV, outcome).await?;
    }
    Ok(())
}

/// The `ofac` check (sanctions lists) and, when PEP data is loaded and
/// the client screens for PEPs, the `pep` check: one screening through
/// the client's lists and allow-list, each check's evidence explaining its
/// candidates.
async fn screen_lists(
    state: &AppState,
    s: &idv_session::Model,
    doc: Option<&document::Model>,
    weights: Option<&weights::Model>,
) -> AppResult<(Outcome, Option<Outcome>)> {
    let (engine, d) = match (&state.engines.sanctions, doc) {
        (None, _) => return Ok((Outcome::unavailable(state.engines.reason(EngineKind::Sanctions)), None)),
        (Some(_), None) => return Ok((Outcome::unavailable("no name was read from the document"), None)),
        (Some(engine), Some(d)) => (engine, d),
    };
    let threshold = weights.map(|w| w.ofac_fuzzy_match_tolerance).unwrap_or(0.9);
    let subject = ScreeningSubject {
        first_name: d.first_name.clone(),
        middle_name: d.middle_name.clone(),
        last_name: d.last_name.clone(),
        birth_date: date(d.birth_date.as_deref()),
        country: d.issuing_country.clone(),
        gender: Some(d.gender.clone()),
        document_number: d.document_number.clone(),
        // The check decides at the threshold but lists near misses too
        // (from 0.75): the analyst reviewing the session sees the closest
        // listed names. One screening per session, so the extra names
        // scored cost nothing next to the document's images; re-screening
        // every identity passes its threshold instead.
        ..Default::default()
    };
    let result = match screening::screen_for_client(&state.db, engine.as_ref(), &s.client_id, subject).await? {
        Ok(r) => r,
        Err(e) => return Ok((Outcome::unavailable(format!("sanctions screening failed: {e}")), None)),
    };
    let judge = |hits: &[crate::engine::SanctionsHit], clear: &str| {
        let mut o = match hits.first().filter(|h| h.score >= threshold) {
            Some(h) => Outcome::fail(1.0 - h.score, format!("possible match on {}: {} (similarity {:.2})", h.list, h.name, h.score)),
            None => Outcome::pass(1.0, clear.to_string()),
        };
        o.evidence = Some(screening::evidence(&result, hits, threshold));
        o
    };
    let sanctions = judge(&result.sanctions, "no list entry above the threshold");
    let peps_screened = result.lists.as_ref().is_none_or(|l| l.iter().any(|k| k == crate::engine::sanctions::PEPS));
    let peps_loaded = state.sanctions.screener.current().is_some_and(|i| i.has_peps());
    let pep = (peps_screened && (peps_loaded || !result.peps.is_empty()))
        .then(|| judge(&result.peps, "no politically exposed person above the threshold"));
    Ok((sanctions, pep))
}

/// What the DMV said: an outcome to record, or no answer now (it did not
/// answer in time, answered 5xx or said it cannot answer) — which
/// `aamva_retry_e = retry` asks again later.
enum DmvAnswer {
    Settled(Outcome),
    NotNow(String),
}

/// Asks the DMV provider about the session's current document.
async fn ask_dmv(
    state: &AppState,
    s: &idv_session::Model,
    doc: Option<&document::Model>,
    finalize: &FinalizeSettings,
) -> AppResult<DmvAnswer> {
    let (provider, d) = match (&state.engines.dmv, doc) {
        (None, _) => return Ok(DmvAnswer::Settled(Outcome::unavailable(state.engines.reason(EngineKind::Dmv)))),
        (Some(_), None) => return Ok(DmvAnswer::Settled(Outcome::unavailable("no document data to verify"))),
        (Some(provider), Some(d)) => (provider, d),
    };
    let request = DmvRequest {
        document_type: Some(DocumentType::from_db(&d.r#type)),
        document_number: d.document_number.clone(),
        issuing_state: d.issuing_state.clone(),
        first_name: d.first_name.clone(),
        middle_name: d.middle_name.clone(),
        last_name: d.last_name.clone(),
        birth_date: date(d.birth_date.as_deref()),
        issued_at: date(d.issued_at.as_deref()),
        expires_at: date(d.expires_at.as_deref()),
        street: d.street.clone(),
        city: d.city.clone(),
        state: d.state.clone(),
        postal_code: d.postal_code.clone(),
        gender: Some(Gender::from_db(&d.gender)),
        name_suffix: d.name_suffix.clone(),
        eye_color: d.eye_color.clone(),
        height: d.height.clone(),
        weight: d.weight.clone(),
        test_scenario: finalize.aamva_test_scenario.clone(),
    };
    let r = match provider.verify(request).await {
        Ok(r) => r,
        Err(e @ (EngineError::Transient(_) | EngineError::Unavailable(_))) => {
            return Ok(DmvAnswer::NotNow(format!("DMV check failed: {e}")));
        }
        Err(e) => return Ok(DmvAnswer::Settled(Outcome::unavailable(format!("DMV check failed: {e}")))),
    };
    if r.verdict == DmvVerdict::Unavailable {
        return Ok(DmvAnswer::NotNow(r.detail));
    }
    let weights = weights::Entity::find_by_id(s.idv_weights_id.clone()).one(&state.db).await?;
    // `aamva_match_tolerance`: the share of answered fields that must match.
    let tolerance = weights.as_ref().map(|w| w.aamva_match_tolerance).unwrap_or(1.0);
    let mut o = match crate::engine::dmv::match_share(&r.fields) {
        None => Outcome::unavailable(format!("{}: no field was verified", r.detail)),
        Some(share) if share >= tolerance => Outcome::pass(share, r.detail.clone()),
        Some(share) => Outcome::fail(
            share,
            format!("{} ({:.0}% of the fields match, {:.0}% required)", r.detail, share * 100.0, tolerance * 100.0),
        ),
    };
    o.evidence = Some(serde_json::to_value(&r.fields).unwrap_or_default());
    Ok(DmvAnswer::Settled(o))
}

/// The required fields the current document lacks, recorded as the
/// `requirements` check.
async fn requirement_gaps(state: &AppState, s: &idv_session::Model, doc: Option<&document::Model>) -> AppResult<Vec<String>> {
    let Some(doc) = doc else {
        let o = Outcome::unavailable("no document data was read");
        checks::record(&state.db, SessionKind::Idv, &s.client_id, &s.id, names::REQUIREMENTS, o).await?;
        return Ok(vec![]);
    };
    let set = requirements::effective(
        &state.db,
        &s.client_id,
        s.user_id.as_deref(),
        DocumentType::from_db(&doc.r#type),
        DataSource::from_db(&doc.data_source),
    )
    .await?;
    let mut missing: Vec<String> = set.missing_fields(doc).into_iter().map(str::to_string).collect();
    if set.face_encoding_required && !face_encoded(state, s).await? {
        missing.push(FACE_ENCODING_FIELD.to_string());
    }
    let outcome = if missing.is_empty() {
        Outcome::pass(1.0, "every required field is present")
    } else {
        let mut o = Outcome::fail(0.0, format!("missing required fields: {}", missing.join(", ")));
        o.evidence = Some(serde_json::json!({ "missing": missing }));
        o
    };
    checks::record(&state.db, SessionKind::Idv, &s.client_id, &s.id, names::REQUIREMENTS, outcome).await?;
    Ok(missing)
}

/// The requirement name of `face_encoding_required` in `missing` lists.
pub const FACE_ENCODING_FIELD: &str = "face_encoding";

/// Whether the person's face was encoded from both the document portrait
/// and the selfie: the face match ran (pass or fail) rather than being
/// unavailable (no face on the document, no selfie, engine missing).
async fn face_encoded(state: &AppState, s: &idv_session::Model) -> AppResult<bool> {
    let rows = checks::for_session(&state.db, &s.client_id, &s.id).await?;
    Ok(rows
        .iter()
        .find(|r| r.check_name == names::FACE_MATCH)
        .is_some_and(|r| matches!(CheckStatus::from_db(&r.status), CheckStatus::Pass | CheckStatus::Fail)))
}

fn ofac_status(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(CheckStatus::Pass) => "clear",
        Some(CheckStatus::Fail) => "hit",
        Some(CheckStatus::Unavailable) => "unavailable",
        _ => "unknown",
    }
}

fn dmv_status(status: Option<CheckStatus>) -> &'static str {
    match status {
        Some(CheckStatus::Pass) => "match",
        Some(CheckStatus::Fail) => "no_match",
        Some(CheckStatus::Pending) => "pending",
        Some(CheckStatus::Unavailable) => "unavailable",
        _ => "unknown",
    }
}

/// The status change `store` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    /// `in_progress` → `complete`.
    Complete,
    /// `in_progress` → `temporarily_complete`: the DMV check is pending and a
    /// [`crate::domain::JobKind::DmvRetry`] job (queued in the same transaction) settles it.
    AwaitDmv,
    /// `temporarily_complete` → `complete`.
    SettleDmv,
}

impl Transition {
    fn from(self) -> SessionStatus {
        match self {
            Transition::Complete | Transition::AwaitDmv => SessionStatus::InProgress,
            Transition::SettleDmv => SessionStatus::TemporarilyComplete,
        }
    }

    fn to(self) -> SessionStatus {
        match self {
            Transition::AwaitDmv => SessionStatus::TemporarilyComplete,
            Transition::Complete | Transition::SettleDmv => SessionStatus::Complete,
        }
    }
}

/// Writes the verdict (only if the session is still in the transition's
/// source status) and, when verified and complete, the identity. A
/// concurrent finalize that won returns its answer. While the DMV check is
/// pending the session has no `verified` yet and answers `verified = false`.
#[allow(clippy::too_many_arguments)]
async fn store(
    state: &AppState,
    s: &idv_session::Model,
    doc: Option<&document::Model>,
    settings: &FinalizeSettings,
    verdict: &Verdict,
    ofac: Option<CheckStatus>,
    dmv: Option<CheckStatus>,
    endpoint: &str,
    transition: Transition,
) -> AppResult<Verdict> {
    let now = Utc::now();
    let txn = crate::db::begin_write(&state.db).await?;
    let complete = transition.to() == SessionStatus::Complete;
    let ofac_at = matches!(ofac, Some(CheckStatus::Pass | CheckStatus::Fail)).then_some(now);
    let dmv_at = matches!(dmv, Some(CheckStatus::Pass | CheckStatus::Fail)).then_some(now);
    let mut am = idv_session::ActiveModel {
        status: Set(transition.to().as_str().into()),
        completed_at: Set(complete.then_some(now)),
        updated_at: Set(now),
        verified: Set(complete.then_some(verdict.verified)),
        review_required: Set(complete && verdict.review_required),
        verified_at: Set((complete && verdict.verified).then_some(now)),
        score: Set(verdict.score),
        reasons: Set(Some(serde_json::to_value(&verdict.reasons).map_err(AppError::internal)?)),
        finalize_settings: Set(Some(serde_json::to_value(settings).map_err(AppError::internal)?)),
        dmv_status: Set(dmv_status(dmv).into()),
        dmv_detected_at: Set(dmv_at),
        ..Default::default()
    };
    // The screening ran at finalize; settling the DMV does not repeat it.
    if transition != Transition::SettleDmv {
        am.ofac_status = Set(ofac_status(ofac).into());
        am.ofac_detected_at = Set(ofac_at);
    }
    if let Some(d) = doc {
        am.first_name = Set(d.first_name.clone());
        am.middle_name = Set(d.middle_name.clone());
        am.last_name = Set(d.last_name.clone());
        am.suffix_name = Set(d.name_suffix.clone());
        am.gender = Set(d.gender.clone());
        am.birth_date = Set(d.birth_date.clone());
    }
    let res = idv_session::Entity::update_many()
        .set(am)
        .filter(idv_session::Column::Id.eq(&s.id))
        .filter(idv_session::Column::Status.eq(transition.from().as_str()))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        let current = crate::service::idv::find(&state.db, &s.client_id, &s.id).await?;
        if matches!(SessionStatus::from_db(&current.status), SessionStatus::Complete | SessionStatus::TemporarilyComplete) {
            return Ok(stored_verdict(&current));
        }
        return Err(AppError::Conflict(format!("the session is {} and cannot be finalized", current.status)));
    }
    let updated = crate::service::idv::find(&txn, &s.client_id, &s.id).await?;
    // The score and status beside the check results, where a failing-check
    // list sorts by them, were copied by the database's trigger.
    if complete && verdict.verified {
        attach_identity(&txn, &updated, doc, verdict.score, now).await?;
    }
    crate::service::session_search::refresh(&txn, std::slice::from_ref(&s.id)).await?;
    if transition == Transition::AwaitDmv {
        let detail = serde_json::json!({ "pending": [names::DMV], "score": verdict.score });
        history::append(&txn, SessionKind::Idv, &s.client_id, &s.id, "temporarily_completed", endpoint, Some(detail)).await?;
        let first_delay = jobs::queue::backoff(
            Duration::from_millis(state.config.dmv_retry_base_ms),
            1,
            rand::Rng::r#gen::<f64>(&mut rand::thread_rng()),
        );
        let run_at = now + chrono::Duration::from_std(first_delay).unwrap_or(chrono::Duration::MAX);
        let attempts = i32::try_from(state.config.dmv_retry_attempts).unwrap_or(i32::MAX);
        jobs::enqueue_with(&txn, crate::domain::JobKind::DmvRetry, &s.client_id, &s.id, serde_json::json!({}), attempts, run_at).await?;
    } else {
        let detail = serde_json::json!({ "verified": verdict.verified, "score": verdict.score });
        history::append(&txn, SessionKind::Idv, &s.client_id, &s.id, "finalized", endpoint, Some(detail)).await?;
        if verdict.review_required {
            crate::service::review::cases::open_for_policy(&txn, &updated, &verdict.reasons, now).await?;
        }
    }
    txn.commit().await?;
    if transition == Transition::AwaitDmv {
        jobs::wake();
        return Ok(Verdict { verified: false, ..verdict.clone() });
    }
    Ok(verdict.clone())
}
