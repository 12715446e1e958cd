//! Job handlers: document and liveness analysis of a session's images.
//!
//! Each handler records every check it is responsible for: the engine's
//! outcome, or `unavailable` with the reason (engine not installed, no
//! face, nothing to compare). Results are upserts, so a retried job simply
//! overwrites what an earlier attempt wrote.

use chrono::Utc;
use std::time::Duration;
use entity::{document, face_template, ida_session, idv_session, stored_file, weights};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Deserialize;

use crate::domain::JobKind;
use crate::jobs::{Handler, JobFuture};
use crate::engine::{
    CheckOutcome, DocumentAnalysis, DocumentFields, DocumentInput, DocumentSide, EngineError, EngineKind,
    FaceEmbedding, LivenessInput, Verdict,
};
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::checks::{self, Outcome, names};
use crate::service::document_checks;
use crate::service::decode_budget;
use crate::service::faces::{self, TEMPLATE_OWNER_IDENTITY, open_face_embedding};
use crate::service::files;
use crate::service::liveness as liveness_service;
use crate::service::history::SessionKind;
use crate::service::types::{CheckStatus, DataSource, DocumentType, LivenessMode, LivenessProvider, StorageFileType};
use crate::service::weights::WeightValues;
use crate::state::AppState;

pub use crate::domain::checks::owed::{
    BACK as BACK_CHECKS, CROSSCHECKS, FRONT as FRONT_CHECKS, SELFIE as LIVENESS_CHECKS,
};

const LIVENESS_FILES: [StorageFileType; 5] = [
    StorageFileType::LivenessPassive,
    StorageFileType::LivenessActiveStep1,
    StorageFileType::LivenessActiveStep2,
    StorageFileType::LivenessActiveStep3,
    StorageFileType::LivenessActiveStep4,
];
const DOCUMENT_FRONT_FILES: [StorageFileType; 4] = [
    StorageFileType::DriverLicenseFront,
    StorageFileType::StateIdCardFront,
    StorageFileType::PassportFront,
    StorageFileType::PassportCardFront,
];

/// What every analysis job carries.
#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    pub client_id: String,
    pub session_id: String,
    /// The stored file to analyse (document jobs; the probe of liveness jobs).
    #[serde(default)]
    pub file_id: Option<String>,
    /// Liveness frames in order (passive first); the session's latest when absent.
    #[serde(default)]
    pub file_ids: Vec<String>,
    /// Liveness: the issued challenge (steps in order; the Azure session id).
    #[serde(default)]
    pub challenge: Option<serde_json::Value>,
}

fn parse_payload(payload: &serde_json::Value) -> AppResult<Payload> {
    serde_json::from_value(payload.clone()).map_err(|e| AppError::internal(format!("invalid job payload: {e}")))
}

fn session_kind(kind: JobKind) -> SessionKind {
    match kind {
        JobKind::AnalyzeIdaLiveness => SessionKind::Ida,
        _ => SessionKind::Idv,
    }
}

/// The checks a job of `kind` answers for.
pub fn owed_checks(kind: JobKind) -> Vec<&'static str> {
    match kind {
        JobKind::AnalyzeDocumentFront => FRONT_CHECKS.into_iter().chain(CROSSCHECKS).collect(),
        JobKind::AnalyzeDocumentBack => BACK_CHECKS.to_vec(),
        JobKind::AnalyzeLiveness | JobKind::AnalyzeIdaLiveness => LIVENESS_CHECKS.to_vec(),
        JobKind::DmvRetry => vec![],
    }
}

pub async fn run(state: &AppState, kind: JobKind, payload: &serde_json::Value) -> AppResult<()> {
    let payload = parse_payload(payload)?;
    match kind {
        JobKind::AnalyzeDocumentFront => analyze_document(state, DocumentSide::Front, &payload).await,
        JobKind::AnalyzeDocumentBack => analyze_document(state, DocumentSide::Back, &payload).await,
        JobKind::AnalyzeLiveness | JobKind::AnalyzeIdaLiveness => {
            analyze_liveness(state, session_kind(kind), &payload).await
        }
        JobKind::DmvRetry => Err(AppError::internal("dmv_retry is not an analysis job")),
    }
}

/// The job handler of an analysis kind (front, back, IDV and IDA liveness).
pub const HANDLER: Handler = Handler { run: run_job, give_up: give_up_job, retry_base: |c| Duration::from_millis(c.job_retry_base_ms) };

fn job_kind(job: &entity::job::Model) -> AppResult<JobKind> {
    JobKind::parse(&job.kind).ok_or_else(|| AppError::internal(format!("`{}` is not an analysis job", job.kind)))
}

fn run_job<'a>(state: &'a AppState, job: &'a entity::job::Model) -> JobFuture<'a> {
    Box::pin(async move { run(state, job_kind(job)?, &job.payload).await })
}

fn give_up_job<'a>(state: &'a AppState, job: &'a entity::job::Model, attempts: i32) -> JobFuture<'a> {
    Box::pin(async move {
        let reason = format!("analysis failed after {attempts} attempts");
        give_up(&state.db, job_kind(job)?, &job.payload, &reason).await
    })
}

/// The give-up path: every owed check that has no engine verdict yet
/// (pass/fail) becomes `unavailable` with `reason`.
pub async fn give_up(db: &DatabaseConnection, kind: JobKind, payload: &serde_json::Value, reason: &str) -> AppResult<()> {
    let payload = parse_payload(payload)?;
    let txn = crate::db::begin_write(db).await?;
    let existing = checks::for_session(&txn, &payload.client_id, &payload.session_id).await?;
    for name in owed_checks(kind) {
        let decided = existing.iter().any(|c| {
            c.check_name == name && matches!(CheckStatus::parse(&c.status), Some(CheckStatus::Pass | CheckStatus::Fail))
        });
        if !decided {
            let outcome = Outcome::unavailable(reason);
            checks::record(&txn, session_kind(kind), &payload.client_id, &payload.session_id, name, outcome).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

async fn record_unavailable(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    p: &Payload,
    names: &[&str],
    reason: &str,
) -> AppResult<()> {
    for name in names {
        checks::record(db, kind, &p.client_id, &p.session_id, name, Outcome::unavailable(reason)).await?;
    }
    Ok(())
}

async fn record_engine_outcome(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    p: &Payload,
    outcome: &CheckOutcome,
    version: &str,
) -> AppResult<()> {
    let recorded = Outcome {
        status: outcome.verdict.status(),
        score: outcome.score.map(|s| s.clamp(0.0, 1.0)),
        detail: Some(outcome.detail.clone()),
        evidence: outcome.evidence.clone(),
        engine_version: Some(version.to_string()),
    };
    checks::record(db, kind, &p.client_id, &p.session_id, outcome.name, recorded).await
}

/// A stored file of the tenant and session named by the payload.
/// Pixels a stored image decodes to (the largest accepted when unknown).
fn file_pixels(file: &stored_file::Model) -> u64 {
    match (file.width, file.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => w as u64 * h as u64,
        _ => u64::from(files::MAX_IMAGE_SIDE).pow(2),
    }
}

async fn load_file(db: &impl ConnectionTrait, p: &Payload, file_id: &str) -> AppResult<stored_file::Model> {
    stored_file::Entity::find_by_id(file_id.to_string())
        .filter(stored_file::Column::ClientId.eq(&p.client_id))
        .filter(stored_file::Column::SessionId.eq(&p.session_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("stored file {file_id}")))
}

/// Retryable engine errors fail the attempt; the others are an answer.
fn engine_error(e: EngineError) -> Result<String, AppError> {
    if e.is_retryable() { Err(AppError::Unavailable(e.to_string())) } else { Ok(e.to_string()) }
}

// ---------------------------------------------------------------- documents

async fn analyze_document(state: &AppState, side: DocumentSide, p: &Payload) -> AppResult<()> {
    let db = &state.db;
    let file_id = p.file_id.as_deref().ok_or_else(|| AppError::internal("document job without file_id"))?;
    let file = load_file(db, p, file_id).await?;
    let image = files::read_bytes(&state.storage, &file).await?;
    let side_checks: Vec<&str> = match side {
        DocumentSide::Front => FRONT_CHECKS.into_iter().chain(CROSSCHECKS).collect(),
        DocumentSide::Back => BACK_CHECKS.to_vec(),
    };
    let Some(engine) = state.engines.document.clone() else {
        return record_unavailable(db, SessionKind::Idv, p, &side_checks, &state.engines.reason(EngineKind::Document)).await;
    };
    let session = idv_session::Entity::find_by_id(p.session_id.clone())
        .filter(idv_session::Column::ClientId.eq(&p.client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("idv session {}", p.session_id)))?;
    let input = DocumentInput {
        side,
        document_type: DocumentType::from_db(&session.document_type),
        image,
        content_type: file.content_type.clone(),
    };
    // The engine decodes the whole image: wait for room in the process's budget.
    let pixels = decode_budget::acquire(file_pixels(&file)).await;
    let analysis = engine.analyze(input).await;
    drop(pixels);
    let analysis = match analysis {
        Ok(analysis) => analysis,
        Err(e) => {
            let reason = engine_error(e)?;
            return record_unavailable(db, SessionKind::Idv, p, &side_checks, &reason).await;
        }
    };
    apply_document_analysis(db, &session, p, side, &side_checks, analysis, &engine.version()).await
}

async fn apply_document_analysis(
    db: &DatabaseConnection,
    session: &idv_session::Model,
    p: &Payload,
    side: DocumentSide,
    side_checks: &[&str],
    analysis: DocumentAnalysis,
    version: &str,
) -> AppResult<()> {
    let txn = crate::db::begin_write(db).await?;
    for outcome in &analysis.checks {
        record_engine_outcome(&txn, SessionKind::Idv, p, outcome, version).await?;
    }
    for name in side_checks {
        if !analysis.checks.iter().any(|c| c.name == *name) {
            let reason = format!("the document engine did not assess the {} side for this check", side.as_str());
            let outcome = Outcome::unavailable(reason);
            if CROSSCHECKS.contains(name) {
                // Another step (scoring) may make the crosschecks; keep its answer.
                checks::record_if_absent(&txn, SessionKind::Idv, &p.client_id, &p.session_id, name, outcome).await?;
            } else {
                checks::record(&txn, SessionKind::Idv, &p.client_id, &p.session_id, name, outcome).await?;
            }
        }
    }
    // Duplication (fingerprints across sessions) and the crosschecks
    // (printed vs barcode/MRZ, made by whichever side finishes second).
    document_checks::after_analysis(&txn, session, side, &analysis).await?;
    if let Some(fields) = analysis.fields {
        merge_into_current_document(&txn, session, fields).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How much a data source is trusted: machine-readable zones beat OCR.
fn source_rank(source: DataSource) -> u8 {
    match source {
        DataSource::Barcode | DataSource::Mrz => 3,
        DataSource::Manual => 2,
        DataSource::Ocr => 1,
        DataSource::Unknown => 0,
    }
}

/// Writes the fields read into the session's current document (created
/// when missing). Fields from a source at least as trusted as the row's
/// overwrite; from a less trusted one they only fill blanks.
async fn merge_into_current_document(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    fields: DocumentFields,
) -> AppResult<()> {
    let current = document::Entity::find()
        .filter(document::Column::ClientId.eq(&session.client_id))
        .filter(document::Column::SessionId.eq(&session.id))
        .filter(document::Column::IsCurrent.eq(true))
        .order_by_desc(document::Column::CreatedAt)
        .one(db)
        .await?;
    let source = fields.data_source.unwrap_or(DataSource::Unknown);
    let doc_type = fields.document_type.unwrap_or_else(|| DocumentType::from_db(&session.document_type));
    let (mut row, overwrite, is_new): (document::ActiveModel, bool, bool) = match current {
        Some(existing) => {
            let overwrite = source_rank(source) >= source_rank(DataSource::from_db(&existing.data_source));
            (existing.into(), overwrite, false)
        }
        None => (
            document::ActiveModel {
                id: Set(new_id()),
                client_id: Set(session.client_id.clone()),
                session_id: Set(session.id.clone()),
                identity_id: Set(session.identity_id.clone()),
                is_current: Set(true),
                r#type: Set(doc_type.as_str().to_string()),
                data_source: Set(source.as_str().to_string()),
                gender: Set("unknown".to_string()),
                created_at: Set(Utc::now()),
                ..Default::default()
            },
            true,
            true,
        ),
    };
    if overwrite {
        row.data_source = Set(source.as_str().to_string());
        if fields.document_type.is_some() {
            row.r#type = Set(doc_type.as_str().to_string());
        }
    }
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    macro_rules! put {
        ($col:ident, $value:expr) => {
            if let Some(value) = $value {
                let blank = match &row.$col {
                    sea_orm::ActiveValue::Set(v) | sea_orm::ActiveValue::Unchanged(v) => {
                        v.as_deref().is_none_or(|s: &str| s.trim().is_empty())
                    }
                    sea_orm::ActiveValue::NotSet => true,
                };
                if overwrite || blank {
                    row.$col = Set(Some(value));
                }
            }
        };
    }
    put!(document_number, fields.document_number);
    put!(ref_number, fields.ref_number);
    put!(issued_at, date(fields.issued_at));
    put!(expires_at, date(fields.expires_at));
    put!(issuing_country, fields.issuing_country);
    put!(issuing_state, fields.issuing_state);
    put!(first_name, fields.first_name);
    put!(middle_name, fields.middle_name);
    put!(last_name, fields.last_name);
    put!(name_suffix, fields.name_suffix);
    put!(street, fields.street);
    put!(city, fields.city);
    put!(state, fields.state);
    put!(postal_code, fields.postal_code);
    put!(birth_date, date(fields.birth_date));
    put!(height, fields.height);
    put!(weight, fields.weight);
    put!(eye_color, fields.eye_color);
    put!(hair_color, fields.hair_color);
    put!(doc_class, fields.class);
    put!(restrictions, fields.restrictions);
    put!(endorsements, fields.endorsements);
    put!(raw_payload, fields.raw_payload);
    if let Some(gender) = fields.gender {
        let current_unknown = match &row.gender {
            sea_orm::ActiveValue::Set(g) | sea_orm::ActiveValue::Unchanged(g) => g == "unknown",
            sea_orm::ActiveValue::NotSet => true,
        };
        if overwrite || current_unknown {
            row.gender = Set(gender.as_str().to_string());
        }
    }
    let no_truncation = matches!(&row.truncation, sea_orm::ActiveValue::Unchanged(None) | sea_orm::ActiveValue::NotSet);
    if let Some(truncation) = fields.truncation.filter(|_| overwrite || no_truncation) {
        row.truncation = Set(Some(truncation));
    }
    if is_new {
        row.insert(db).await?;
    } else {
        row.update(db).await?;
    }
    crate::service::session_search::refresh(db, std::slice::from_ref(&session.id)).await?;
    Ok(())
}

// ---------------------------------------------------------------- liveness

/// The session's liveness frames: the payload's, else its latest per step.
async fn liveness_frames(db: &impl ConnectionTrait, p: &Payload) -> AppResult<Vec<stored_file::Model>> {
    let ids: Vec<&str> = match (&p.file_ids, &p.file_id) {
        (ids, _) if !ids.is_empty() => ids.iter().map(String::as_str).collect(),
        (_, Some(id)) => vec![id.as_str()],
        _ => Vec::new(),
    };
    let mut frames = Vec::new();
    if ids.is_empty() {
        for file_type in LIVENESS_FILES {
            if let Some(file) = files::latest_in_session(db, &p.client_id, &p.session_id, &[file_type]).await? {
                frames.push(file);
            }
        }
    } else {
        for id in ids {
            frames.push(load_file(db, p, id).await?);
        }
    }
    Ok(frames)
}

struct SessionFacts {
    mode: LivenessMode,
    /// IDA: the identity whose face template is the reference.
    identity_id: Option<String>,
    /// The weights version pinned by the session (face tolerances).
    weights_id: String,
}

async fn session_facts(db: &impl ConnectionTrait, kind: SessionKind, p: &Payload) -> AppResult<SessionFacts> {
    let missing = || AppError::not_found(format!("{} session {}", kind.as_str(), p.session_id));
    Ok(match kind {
        SessionKind::Idv => {
            let s = idv_session::Entity::find_by_id(p.session_id.clone())
                .filter(idv_session::Column::ClientId.eq(&p.client_id))
                .one(db)
                .await?
                .ok_or_else(missing)?;
            SessionFacts { mode: LivenessMode::from_db(&s.liveness_mode), identity_id: None, weights_id: s.idv_weights_id }
        }
        SessionKind::Ida => {
            let s = ida_session::Entity::find_by_id(p.session_id.clone())
                .filter(ida_session::Column::ClientId.eq(&p.client_id))
                .one(db)
                .await?
                .ok_or_else(missing)?;
            SessionFacts {
                mode: LivenessMode::from_db(&s.liveness_mode),
                identity_id: Some(s.identity_id),
                weights_id: s.idv_weights_id,
            }
        }
    })
}

async fn analyze_liveness(state: &AppState, kind: SessionKind, p: &Payload) -> AppResult<()> {
    let db = &state.db;
    let facts = session_facts(db, kind, p).await?;
    let frames = liveness_frames(db, p).await?;
    let mut images = Vec::with_capacity(frames.len());
    for frame in &frames {
        images.push(files::read_bytes(&state.storage, frame).await?);
    }
    let provider = liveness_service::session_provider(db, kind, &p.client_id, &p.session_id).await?;
    let challenge = match p.challenge.clone() {
        Some(c) => Some(c),
        None => liveness_service::issued_challenge(db, &p.client_id, &p.session_id, None).await?,
    };
    // Azure judges its own capture; the local engine needs the frames.
    let needs_frames = provider == LivenessProvider::Local;
    let liveness = match (liveness_service::engine_for(state, &p.client_id, provider).await, images.is_empty()) {
        (Err(reason), _) => Outcome::unavailable(reason),
        (Ok(_), true) if needs_frames => Outcome::unavailable("no liveness capture in the session"),
        (Ok(engine), _) => {
            let tolerances = liveness_service::tolerances(db, &facts.weights_id).await?;
            let input = LivenessInput { mode: facts.mode, frames: images.clone(), challenge, tolerances };
            let pixels = decode_budget::acquire(frames.iter().map(file_pixels).sum()).await;
            let checked = engine.check(input).await;
            drop(pixels);
            match checked {
                Ok(r) => Outcome {
                    status: if r.is_live { CheckStatus::Pass } else { CheckStatus::Fail },
                    score: Some(r.score.clamp(0.0, 1.0)),
                    detail: Some(r.detail),
                    evidence: r.evidence,
                    engine_version: Some(engine.version()),
                },
                Err(e) => Outcome::unavailable(engine_error(e)?),
            }
        }
    };
    let (face, distance) = face_match(state, kind, p, &facts, images.first().cloned()).await?;

    let txn = crate::db::begin_write(db).await?;
    let live = liveness.status == CheckStatus::Pass;
    checks::record(&txn, kind, &p.client_id, &p.session_id, names::LIVENESS, liveness).await?;
    checks::record(&txn, kind, &p.client_id, &p.session_id, names::FACE_MATCH, face).await?;
    mark_session(&txn, kind, p, live, distance).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets `liveness_detected` (and the IDA face distance) on the session.
async fn mark_session(
    db: &impl ConnectionTrait,
    kind: SessionKind,
    p: &Payload,
    live: bool,
    distance: Option<f64>,
) -> AppResult<()> {
    let now = Utc::now();
    match kind {
        SessionKind::Idv if live => {
            idv_session::Entity::update_many()
                .col_expr(idv_session::Column::LivenessDetected, Expr::value(true))
                .col_expr(idv_session::Column::LivenessDetectedAt, Expr::value(now))
                .col_expr(idv_session::Column::UpdatedAt, Expr::value(now))
                .filter(idv_session::Column::Id.eq(&p.session_id))
                .filter(idv_session::Column::ClientId.eq(&p.client_id))
                .exec(db)
                .await?;
        }
        SessionKind::Idv => {}
        SessionKind::Ida => {
            if !live && distance.is_none() {
                return Ok(());
            }
            let mut update = ida_session::Entity::update_many()
                .col_expr(ida_session::Column::UpdatedAt, Expr::value(now))
                .filter(ida_session::Column::Id.eq(&p.session_id))
                .filter(ida_session::Column::ClientId.eq(&p.client_id));
            if live {
                update = update
                    .col_expr(ida_session::Column::LivenessDetected, Expr::value(true))
                    .col_expr(ida_session::Column::LivenessDetectedAt, Expr::value(now));
            }
            if let Some(distance) = distance {
                update = update.col_expr(ida_session::Column::FaceDistance, Expr::value(distance));
            }
            update.exec(db).await?;
        }
    }
    Ok(())
}

/// Compares the probe face with the reference: the document portrait (IDV,
/// `onboarding_face_encoding_tolerance`) or the identity's stored template
/// (IDA, `verified_account_face_encoding_tolerance`). The probe's embedding
/// becomes the session's face template; its age/gender estimates go into
/// the evidence (the `age` / `gender` checks use them at finalize).
async fn face_match(
    state: &AppState,
    kind: SessionKind,
    p: &Payload,
    facts: &SessionFacts,
    probe: Option<Vec<u8>>,
) -> AppResult<(Outcome, Option<f64>)> {
    let Some(engine) = state.engines.face.clone() else {
        return Ok((Outcome::unavailable(state.engines.reason(EngineKind::Face)), None));
    };
    let (probe, source) = match probe {
        Some(probe) => (probe, "liveness"),
        None => match files::latest_in_session(&state.db, &p.client_id, &p.session_id, &[StorageFileType::Selfie]).await? {
            Some(selfie) => (files::read_bytes(&state.storage, &selfie).await?, "selfie"),
            None => return Ok((Outcome::unavailable("no selfie or liveness capture to compare"), None)),
        },
    };
    // The probe, then the reference: one image decoded at a time.
    let pixels = decode_budget::acquire(files::declared_pixels(&probe)).await;
    let read = engine.read_face(probe).await;
    drop(pixels);
    let read = match read {
        Ok(Some(read)) => read,
        Ok(None) => return Ok((Outcome::unavailable("no face found on the capture"), None)),
        Err(e) => return Ok((Outcome::unavailable(engine_error(e)?), None)),
    };
    let probe = read.embedding.clone();
    faces::store_session_template(&state.db, state.storage.master_key(), kind, &p.client_id, &p.session_id, source, &probe)
        .await?;
    let weights = match weights::Entity::find_by_id(facts.weights_id.clone()).one(&state.db).await? {
        Some(w) => WeightValues::from_model(&w),
        None => WeightValues::default(),
    };
    let tolerance = match kind {
        SessionKind::Idv => weights.onboarding_face_encoding_tolerance,
        SessionKind::Ida => weights.verified_account_face_encoding_tolerance,
    };
    let reference = match kind {
        SessionKind::Idv => {
            let Some(front) = files::latest_in_session(&state.db, &p.client_id, &p.session_id, &DOCUMENT_FRONT_FILES).await?
            else {
                return Ok((Outcome::unavailable("no document front to compare against"), None));
            };
            let image = files::read_bytes(&state.storage, &front).await?;
            let pixels = decode_budget::acquire(file_pixels(&front)).await;
            let embedded = engine.embed(image).await;
            drop(pixels);
            match embedded {
                Ok(Some(embedding)) => embedding,
                Ok(None) => return Ok((Outcome::unavailable("no face found on the document"), None)),
                Err(e) => return Ok((Outcome::unavailable(engine_error(e)?), None)),
            }
        }
        SessionKind::Ida => {
            let identity_id = facts.identity_id.clone().unwrap_or_default();
            match identity_template(state, &p.client_id, &identity_id).await? {
                Some(template) => template,
                None => return Ok((Outcome::unavailable("the identity has no face template"), None)),
            }
        }
    };
    if probe.model != reference.model {
        let reason = format!("face template model `{}` differs from the engine's `{}`", reference.model, probe.model);
        return Ok((Outcome::unavailable(reason), None));
    }
    match engine.compare(&probe, &reference) {
        Ok(cmp) => {
            // `<=` so a NaN tolerance or distance fails closed.
            let is_match = cmp.distance <= tolerance;
            let verdict = if is_match { Verdict::Pass } else { Verdict::Fail };
            let detail = format!(
                "faces {} (distance {:.3}, tolerance {tolerance})",
                if is_match { "match" } else { "differ" },
                cmp.distance
            );
            let outcome = Outcome {
                status: verdict.status(),
                score: Some(crate::engine::face::similarity_score(cmp.distance, tolerance)),
                detail: Some(detail),
                evidence: Some(serde_json::json!({
                    "distance": cmp.distance,
                    "tolerance": tolerance,
                    "faces_in_capture": read.faces,
                    "age_estimate": read.age,
                    "male_probability": read.male_probability,
                    "age_gender_note": read.age_gender_note,
                })),
                engine_version: Some(engine.version()),
            };
            Ok((outcome, Some(cmp.distance)))
        }
        Err(e) => Ok((Outcome::unavailable(engine_error(e)?), None)),
    }
}

/// The newest face template of an identity, decrypted.
async fn identity_template(state: &AppState, client_id: &str, identity_id: &str) -> AppResult<Option<FaceEmbedding>> {
    let template = face_template::Entity::find()
        .filter(face_template::Column::ClientId.eq(client_id))
        .filter(face_template::Column::OwnerKind.eq(TEMPLATE_OWNER_IDENTITY))
        .filter(face_template::Column::OwnerId.eq(identity_id))
        .order_by_desc(face_template::Column::CreatedAt)
        .one(&state.db)
        .await?;
    template.map(|t| open_face_embedding(state.storage.master_key(), &t)).transpose()
}
