//! Verification engine seams: document reading and authenticity, face
//! embedding and matching, liveness, sanctions screening, DMV data
//! verification. Later issues implement them; the job handlers call them.
//!
//! Engines take bytes and values and return values: no database, no config
//! files, no clock or network of their own (an HTTP provider gets its client
//! and settings when it is constructed). A test runs one on a fixture.
//!
//! Every method returns an [`EngineFuture`] (a boxed `Send` future), so one
//! trait fits both kinds of implementation: a CPU-bound local engine does its
//! work inside `tokio::task::spawn_blocking` and returns that handle's
//! future; an external provider awaits its HTTP call. Callers never block
//! the runtime and need no `async_trait`.

use chrono::NaiveDate;
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::{CheckStatus, DataSource, DocumentType, Gender, LivenessMode};

pub mod barcode;
pub mod compute;
pub mod dmv;
pub mod document;
pub mod face;
pub mod forensics;
pub mod liveness;
pub mod mrz;
pub mod ocr;
pub mod sanctions;
/// The verdict policy and the scoring function are pure domain code;
/// re-exported here where the engines' callers have always found them.
pub use crate::domain::{policy, scoring};
pub mod validity;

/// What every engine method returns.
pub type EngineFuture<'a, T> = BoxFuture<'a, Result<T, EngineError>>;

/// Why an engine produced no answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    /// The input cannot be analysed (no face, unreadable image, ...): the
    /// checks concerned are `unavailable` with this reason; retrying is pointless.
    #[error("{0}")]
    InvalidInput(String),
    /// The engine cannot answer at all (provider not configured, model
    /// missing): the checks are `unavailable`; retrying is pointless.
    #[error("{0}")]
    Unavailable(String),
    /// A temporary failure (provider timeout, 5xx): the job retries.
    #[error("{0}")]
    Transient(String),
}

impl EngineError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, EngineError::Transient(_))
    }
}

/// An engine's verdict on one check. Engines normally say `Pass` or `Fail`;
/// `Unavailable` is for a check the engine knows it cannot decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Unavailable,
}

impl Verdict {
    pub fn status(self) -> CheckStatus {
        match self {
            Verdict::Pass => CheckStatus::Pass,
            Verdict::Fail => CheckStatus::Fail,
            Verdict::Unavailable => CheckStatus::Unavailable,
        }
    }
}

/// One check outcome as an engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// A name from [`crate::domain::checks::names`].
    pub name: &'static str,
    pub verdict: Verdict,
    /// 0..1, higher is more confident the check passes. `None` when unavailable.
    pub score: Option<f64>,
    pub detail: String,
    pub evidence: Option<serde_json::Value>,
}

impl CheckOutcome {
    pub fn pass(name: &'static str, score: f64, detail: impl Into<String>) -> Self {
        Self { name, verdict: Verdict::Pass, score: Some(score.clamp(0.0, 1.0)), detail: detail.into(), evidence: None }
    }

    pub fn fail(name: &'static str, score: f64, detail: impl Into<String>) -> Self {
        Self { name, verdict: Verdict::Fail, score: Some(score.clamp(0.0, 1.0)), detail: detail.into(), evidence: None }
    }

    pub fn unavailable(name: &'static str, reason: impl Into<String>) -> Self {
        Self { name, verdict: Verdict::Unavailable, score: None, detail: reason.into(), evidence: None }
    }

    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = Some(evidence);
        self
    }
}

// ---------------------------------------------------------------- document

/// Which side of a document an image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSide {
    Front,
    Back,
}

impl DocumentSide {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentSide::Front => "front",
            DocumentSide::Back => "back",
        }
    }
}

/// One image of a document to analyse.
#[derive(Debug, Clone)]
pub struct DocumentInput {
    pub side: DocumentSide,
    /// What the session says the document is (`unknown` when not said).
    pub document_type: DocumentType,
    /// JPEG or PNG bytes, already validated by `service::files`.
    pub image: Vec<u8>,
    pub content_type: String,
}

/// The fields read from a document (the columns of `entity::document`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentFields {
    /// Where the fields come from: barcode, mrz or ocr.
    pub data_source: Option<DataSource>,
    pub document_type: Option<DocumentType>,
    pub document_number: Option<String>,
    pub ref_number: Option<String>,
    pub issued_at: Option<NaiveDate>,
    pub expires_at: Option<NaiveDate>,
    pub issuing_country: Option<String>,
    pub issuing_state: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub name_suffix: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<Gender>,
    pub height: Option<String>,
    pub weight: Option<String>,
    pub eye_color: Option<String>,
    pub hair_color: Option<String>,
    pub class: Option<String>,
    pub restrictions: Option<String>,
    pub endorsements: Option<String>,
    /// The raw barcode / MRZ text.
    pub raw_payload: Option<String>,
    /// Which fields the source truncated (AAMVA truncation indicators).
    pub truncation: Option<serde_json::Value>,
}

/// What a document engine found on one side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentAnalysis {
    /// `None` when nothing could be read.
    pub fields: Option<DocumentFields>,
    /// The side's checks (`doc_front_*` / `doc_back_*`), and on the front
    /// the crosschecks when the engine can make them.
    pub checks: Vec<CheckOutcome>,
    /// The side's fingerprint for the duplicate search across sessions
    /// (`service::document_checks`); `None` when the engine makes none.
    pub fingerprint: Option<forensics::DocumentFingerprint>,
    /// The fields printed on the side as OCR read them, when `fields` holds
    /// another reading (a passport's MRZ): the crosschecks compare the two.
    /// When `None`, `fields` with `data_source = ocr` is the printed reading.
    pub printed_fields: Option<DocumentFields>,
    /// The barcode/MRZ fields, when `fields` holds another reading. When
    /// `None`, `fields` with `data_source = barcode | mrz` is used.
    pub machine_fields: Option<DocumentFields>,
}

/// Reads a document image and judges its authenticity.
pub trait DocumentEngine: Send + Sync {
    /// A version string recorded with every check result.
    fn version(&self) -> String;
    fn analyze(&self, input: DocumentInput) -> EngineFuture<'_, DocumentAnalysis>;
    /// Loads the engine's models and runs them once, so the first
    /// applicant does not pay for it (synchronous: call off the runtime).
    fn warm(&self) -> Result<(), String> {
        Ok(())
    }
}

// ---------------------------------------------------------------- face

/// A face embedding (a fixed-length vector for one model).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceEmbedding {
    pub model: String,
    pub vector: Vec<f32>,
}

/// The comparison of two embeddings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceComparison {
    /// The model's distance (lower is more alike).
    pub distance: f64,
    /// 0..1 similarity derived from the distance.
    pub score: f64,
    pub is_match: bool,
}

/// Finds the main face in an image and compares embeddings.
pub trait FaceEngine: Send + Sync {
    fn version(&self) -> String;
    /// Loads the engine's models and runs them once (synchronous: call off the runtime).
    fn warm(&self) -> Result<(), String> {
        Ok(())
    }
    /// The embedding of the largest face; `Ok(None)` when there is no face.
    fn embed(&self, image: Vec<u8>) -> EngineFuture<'_, Option<FaceEmbedding>>;
    /// Pure arithmetic on two embeddings of this engine's model.
    fn compare(&self, a: &FaceEmbedding, b: &FaceEmbedding) -> Result<FaceComparison, EngineError>;
    /// The largest face's embedding plus what else the engine estimates
    /// (face count, age, gender); `Ok(None)` when there is no face. The
    /// default wraps [`FaceEngine::embed`] and estimates nothing.
    fn read_face(&self, image: Vec<u8>) -> EngineFuture<'_, Option<FaceRead>> {
        Box::pin(async move {
            Ok(self.embed(image).await?.map(|embedding| FaceRead {
                embedding,
                faces: 1,
                age: None,
                male_probability: None,
                age_gender_note: Some("the face engine does not estimate age or gender".into()),
            }))
        })
    }
}

/// What [`FaceEngine::read_face`] found in one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceRead {
    /// The largest face's embedding.
    pub embedding: FaceEmbedding,
    /// How many faces the image shows.
    pub faces: usize,
    /// Estimated age in years, when the engine estimates it.
    pub age: Option<f64>,
    /// Estimated P(male) (P(female) = 1 − this), when estimated.
    pub male_probability: Option<f64>,
    /// Why there is no age/gender estimate.
    pub age_gender_note: Option<String>,
}

// ---------------------------------------------------------------- liveness

/// The frames of one liveness capture.
#[derive(Debug, Clone)]
pub struct LivenessInput {
    pub mode: LivenessMode,
    /// The passive frame first, then active steps in order.
    pub frames: Vec<Vec<u8>>,
    /// The challenge the SDK was given (active mode), as issued.
    pub challenge: Option<serde_json::Value>,
    /// The session's pinned weights that steer the decision.
    pub tolerances: LivenessTolerances,
}

/// The liveness tolerances of a weights version (docs/api-contract.md,
/// "Scoring"); `Default` is the platform default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivenessTolerances {
    /// `minimum_liveness_tolerance`: the lowest score that is live.
    pub minimum_liveness: f64,
    /// `passive_active_skip_tolerance`: a passive score at or above it skips the active steps.
    pub passive_active_skip: f64,
    /// `direction_tolerance`: degrees of head-turn error accepted per step.
    pub direction_degrees: f64,
    /// `expression_tolerance`: the lowest expression score of an expression step.
    pub expression: f64,
}

/// A liveness verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessResult {
    pub is_live: bool,
    /// 0..1, higher is more confident the subject is live.
    pub score: f64,
    pub detail: String,
    pub evidence: Option<serde_json::Value>,
}

/// Decides whether frames show a live person (local or a provider such as Azure).
pub trait LivenessEngine: Send + Sync {
    fn version(&self) -> String;
    fn check(&self, input: LivenessInput) -> EngineFuture<'_, LivenessResult>;
}

// ---------------------------------------------------------------- sanctions

/// Who to screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScreeningSubject {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    /// Nationality or document country (a name or an ISO 3166 code).
    pub country: Option<String>,
    /// `male` / `female` (anything else is unknown).
    pub gender: Option<String>,
    /// A document number to compare with the listed identifiers.
    pub document_number: Option<String>,
    /// An organisation rather than a person: legal forms and stop words
    /// are dropped from the name.
    pub is_entity: bool,
    /// The lists to screen against by key (`ofac`, `un`, `eu`, `uk`,
    /// `opensanctions`, and `peps` for politically exposed persons);
    /// `None`: every loaded list.
    pub lists: Option<Vec<String>>,
    /// Report only candidates scoring at least this: a caller that acts on
    /// hits alone passes its threshold, and the screening skips the names
    /// that cannot reach it. `None`: every candidate from the report floor
    /// (0.75), near misses included (the screening search lists them).
    pub report_from: Option<f64>,
}

/// One list entry that resembles the subject.
#[derive(Debug, Clone, PartialEq)]
pub struct SanctionsHit {
    pub list: String,
    pub entry_id: String,
    pub name: String,
    /// 0..1 name similarity adjusted by the other features.
    pub score: f64,
    /// Why it matched, and what the list says about the entry.
    pub explanation: Box<sanctions::explain::Explanation>,
}

impl SanctionsHit {
    /// A politically exposed person rather than a sanctions target.
    pub fn is_pep(&self) -> bool {
        self.explanation.entry.category == "pep"
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScreeningResult {
    /// Best first; empty when clear.
    pub hits: Vec<SanctionsHit>,
    /// Version (publication date, hash) of the lists screened against.
    pub lists_version: Option<String>,
}

/// Screens a person against sanctions lists (the implementation holds the
/// lists in memory, loaded by whoever constructs it).
pub trait SanctionsScreener: Send + Sync {
    fn version(&self) -> String;
    fn screen(&self, subject: ScreeningSubject) -> EngineFuture<'_, ScreeningResult>;
}

// ---------------------------------------------------------------- dmv

/// The document data sent to a DMV (AAMVA DLDV) verification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DmvRequest {
    pub document_type: Option<DocumentType>,
    pub document_number: Option<String>,
    pub issuing_state: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub issued_at: Option<NaiveDate>,
    pub expires_at: Option<NaiveDate>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub gender: Option<Gender>,
    pub name_suffix: Option<String>,
    pub eye_color: Option<String>,
    pub height: Option<String>,
    pub weight: Option<String>,
    /// `aamva_test_scenario` of the finalize settings: routes the sandbox
    /// provider to one of AAMVA's structured-test records.
    pub test_scenario: Option<String>,
}

/// A DMV's overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmvVerdict {
    Match,
    NoMatch,
    /// The DMV does not take part or did not answer.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DmvResponse {
    pub verdict: DmvVerdict,
    /// Per-field answers (`document_number_match`, `last_name_match`, ...);
    /// `None` when the DMV did not verify that field.
    pub fields: BTreeMap<String, Option<bool>>,
    pub detail: String,
}

/// Verifies document data with the issuing DMV.
pub trait DmvProvider: Send + Sync {
    fn version(&self) -> String;
    fn verify(&self, request: DmvRequest) -> EngineFuture<'_, DmvResponse>;
}

// ---------------------------------------------------------------- registry

/// The engine families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Document,
    Face,
    Liveness,
    Sanctions,
    Dmv,
}

impl EngineKind {
    pub const ALL: [EngineKind; 5] =
        [EngineKind::Document, EngineKind::Face, EngineKind::Liveness, EngineKind::Sanctions, EngineKind::Dmv];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Document => "document",
            EngineKind::Face => "face",
            EngineKind::Liveness => "liveness",
            EngineKind::Sanctions => "sanctions",
            EngineKind::Dmv => "dmv",
        }
    }

    /// The reason recorded on checks when this engine is not installed.
    pub fn missing_reason(self) -> &'static str {
        match self {
            EngineKind::Document => "document engine not installed",
            EngineKind::Face => "face engine not installed",
            EngineKind::Liveness => "liveness engine not installed",
            EngineKind::Sanctions => "sanctions screener not installed",
            EngineKind::Dmv => "DMV provider not configured",
        }
    }
}

/// The installed engines. `Default` installs none: every check they would
/// make is recorded `unavailable` with [`EngineKind::missing_reason`].
#[derive(Clone, Default)]
pub struct Engines {
    pub document: Option<Arc<dyn DocumentEngine>>,
    pub face: Option<Arc<dyn FaceEngine>>,
    pub liveness: Option<Arc<dyn LivenessEngine>>,
    pub sanctions: Option<Arc<dyn SanctionsScreener>>,
    pub dmv: Option<Arc<dyn DmvProvider>>,
    /// Why an engine that should be installed could not be loaded (a model
    /// package missing or corrupt), by [`EngineKind::as_str`].
    pub load_errors: BTreeMap<&'static str, String>,
    /// How far the models are loaded (shared by every clone).
    pub warmth: WarmthCell,
}

/// How far the installed engines' models are loaded into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmth {
    /// Nothing asked to load them ahead: each loads on its first use.
    OnFirstUse,
    /// Missing model packages are being fetched; loading follows.
    Fetching,
    /// Loading and running each model once.
    Warming,
    /// Every installed engine's models are loaded.
    Warm,
    /// Loading finished, but some models could not be loaded (their checks
    /// report `unavailable` until the package is there).
    Incomplete,
}

impl Warmth {
    const ALL: [Warmth; 5] = [Warmth::OnFirstUse, Warmth::Fetching, Warmth::Warming, Warmth::Warm, Warmth::Incomplete];

    pub fn as_str(self) -> &'static str {
        match self {
            Warmth::OnFirstUse => "on_first_use",
            Warmth::Fetching => "fetching",
            Warmth::Warming => "warming",
            Warmth::Warm => "warm",
            Warmth::Incomplete => "incomplete",
        }
    }
}

/// A [`Warmth`] shared by the clones of one [`Engines`].
#[derive(Debug, Clone, Default)]
pub struct WarmthCell(Arc<std::sync::atomic::AtomicU8>);

impl WarmthCell {
    pub fn get(&self) -> Warmth {
        let n = self.0.load(std::sync::atomic::Ordering::Acquire) as usize;
        Warmth::ALL.get(n).copied().unwrap_or(Warmth::OnFirstUse)
    }

    pub fn set(&self, w: Warmth) {
        let n = Warmth::ALL.iter().position(|x| *x == w).unwrap_or(0) as u8;
        self.0.store(n, std::sync::atomic::Ordering::Release);
    }
}

impl Engines {
    /// The reason to record on checks of `kind` when it is not installed:
    /// its load error when there was one, else the generic reason.
    pub fn reason(&self, kind: EngineKind) -> String {
        self.load_errors.get(kind.as_str()).cloned().unwrap_or_else(|| kind.missing_reason().to_string())
    }

    pub fn is_installed(&self, kind: EngineKind) -> bool {
        match kind {
            EngineKind::Document => self.document.is_some(),
            EngineKind::Face => self.face.is_some(),
            EngineKind::Liveness => self.liveness.is_some(),
            EngineKind::Sanctions => self.sanctions.is_some(),
            EngineKind::Dmv => self.dmv.is_some(),
        }
    }

    /// Why `kind` cannot run, or `None` when it is installed.
    pub fn missing_reason(&self, kind: EngineKind) -> Option<&'static str> {
        (!self.is_installed(kind)).then(|| kind.missing_reason())
    }

    /// Every engine that is not installed, with the reason.
    pub fn missing(&self) -> Vec<(EngineKind, &'static str)> {
        EngineKind::ALL.into_iter().filter_map(|k| self.missing_reason(k).map(|r| (k, r))).collect()
    }
}

/// Loads and runs once the models of the installed document and face
/// engines (the liveness engine shares the face models); logs what could
/// not be loaded (its checks load it on first use or report `unavailable`).
/// Synchronous: call it off the async runtime, e.g. at start-up.
pub fn warm(engines: &Engines) {
    engines.warmth.set(Warmth::Warming);
    let started = std::time::Instant::now();
    let mut ok = true;
    if let Some(document) = &engines.document
        && let Err(e) = document.warm()
    {
        ok = false;
        tracing::warn!(error = %e, "document engine not warmed; it loads its models on first use");
    }
    if let Some(face) = &engines.face
        && let Err(e) = face.warm()
    {
        ok = false;
        tracing::warn!(error = %e, "face engine not warmed; it loads its models on first use");
    }
    engines.warmth.set(if ok { Warmth::Warm } else { Warmth::Incomplete });
    tracing::info!(ms = started.elapsed().as_millis() as u64, complete = ok, "engines warmed");
}

/// Installs the built-in local engines. They read their models from `store`
/// lazily, on first use: while a model package is missing (not fetched yet,
/// or the fetch failed) their calls answer [`EngineError::Unavailable`] with
/// the reason, and they load once it appears — so a server started before
/// `tessera models fetch` finishes needs no restart.
pub fn with_local_engines(engines: Engines, store: &crate::models::ModelStore) -> Engines {
    #[allow(unused_mut)]
    let mut engines = engines;
    // Each local engine family adds itself here, e.g.
    // `engines.face = Some(Arc::new(face::LocalFaceEngine::new(store.clone())));`
    // One face engine (one copy of the dlib models) serves face match and liveness.
    let faces = Arc::new(face::LocalFaceEngine::new(store.clone()));
    if engines.face.is_none() {
        engines.face = Some(faces.clone());
    }
    if engines.document.is_none() {
        // Barcode and MRZ reading need no model; OCR loads from the store on first use.
        engines.document = Some(Arc::new(document::LocalDocumentEngine::new(store.clone())));
    }
    if engines.liveness.is_none() {
        engines.liveness = Some(Arc::new(liveness::LocalLivenessEngine::new(faces)));
    }
    let _ = store;
    engines
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let installed: Vec<&str> =
            EngineKind::ALL.into_iter().filter(|k| self.is_installed(*k)).map(EngineKind::as_str).collect();
        f.debug_struct("Engines").field("installed", &installed).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_engines_name_every_missing_engine() {
        let engines = Engines::default();
        let missing = engines.missing();
        assert_eq!(missing.len(), 5);
        assert_eq!(engines.missing_reason(EngineKind::Document), Some("document engine not installed"));
        assert!(!engines.is_installed(EngineKind::Face));
    }

    #[test]
    fn only_transient_errors_retry() {
        assert!(EngineError::Transient("timeout".into()).is_retryable());
        assert!(!EngineError::InvalidInput("no face".into()).is_retryable());
        assert!(!EngineError::Unavailable("off".into()).is_retryable());
    }
}
