//! The database side of the document checks:
//!
//! - online duplication: each analysed side leaves a fingerprint (perceptual
//!   hash of the card, SHA-256 of the barcode/MRZ identity); a side whose
//!   image or identity was already seen in another session fails
//!   `doc_*_online_duplication`. Matches in other tenants count, but only as
//!   a number: their session ids, client ids and data never leave this
//!   module. A session of this tenant with the same `user_id` is the same
//!   customer retrying and does not count.
//! - crosschecks: each side's readings (`printed` by OCR, `machine` from a
//!   barcode/MRZ) are stored; once a session has both, `name_crosscheck`,
//!   `document_number_crosscheck` and `address_crosscheck` are computed with
//!   the pinned weights' per-document-type tolerance. Idempotent: the job
//!   that finishes second makes them, and finalize makes them again if two
//!   jobs raced past each other.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Utc};
use entity::{document, document_fingerprint, document_reading, idv_session, weights};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, Condition, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::engine::forensics::{DocumentFingerprint, crosscheck, phash};
use crate::engine::validity::{self, DocumentDates};
use crate::engine::{CheckOutcome, DocumentAnalysis, DocumentFields, DocumentSide};
use crate::error::AppResult;
use crate::ids::new_id;
use crate::service::checks::{self, Outcome, names};
use crate::service::history::SessionKind;
use crate::service::types::{DataSource, DocumentType};
use crate::service::weights::WeightValues;

/// `engine_version` of the checks this module records.
pub const VERSION: &str = "tessera-document-checks/1";
pub const SOURCE_PRINTED: &str = "printed";
pub const SOURCE_MACHINE: &str = "machine";
/// At most this many fingerprint candidates are compared per lookup.
const MAX_CANDIDATES: u64 = 1000;
/// At most this many session ids of this tenant are named in evidence.
const MAX_NAMED_SESSIONS: usize = 10;

/// The fields a reading keeps (what the crosschecks and the barcode key use).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredFields {
    pub data_source: Option<String>,
    pub document_type: Option<String>,
    pub document_number: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub issuing_country: Option<String>,
    pub truncation: Option<serde_json::Value>,
    /// For `expiry_crosscheck` (absent in readings stored before it existed).
    #[serde(default)]
    pub issued_at: Option<NaiveDate>,
    #[serde(default)]
    pub expires_at: Option<NaiveDate>,
}

impl From<&DocumentFields> for StoredFields {
    fn from(f: &DocumentFields) -> Self {
        Self {
            data_source: f.data_source.map(|s| s.as_str().to_string()),
            document_type: f.document_type.map(|t| t.as_str().to_string()),
            document_number: f.document_number.clone(),
            first_name: f.first_name.clone(),
            middle_name: f.middle_name.clone(),
            last_name: f.last_name.clone(),
            street: f.street.clone(),
            city: f.city.clone(),
            state: f.state.clone(),
            postal_code: f.postal_code.clone(),
            birth_date: f.birth_date,
            issuing_country: f.issuing_country.clone(),
            truncation: f.truncation.clone(),
            issued_at: f.issued_at,
            expires_at: f.expires_at,
        }
    }
}

impl StoredFields {
    pub fn to_fields(&self) -> DocumentFields {
        DocumentFields {
            data_source: self.data_source.as_deref().map(DataSource::from_db),
            document_type: self.document_type.as_deref().map(DocumentType::from_db),
            document_number: self.document_number.clone(),
            first_name: self.first_name.clone(),
            middle_name: self.middle_name.clone(),
            last_name: self.last_name.clone(),
            street: self.street.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            birth_date: self.birth_date,
            issuing_country: self.issuing_country.clone(),
            truncation: self.truncation.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            ..Default::default()
        }
    }
}

/// The printed (OCR) and machine (barcode/MRZ) readings of an analysis:
/// the explicit ones, else `fields` by its data source.
pub fn readings_of(analysis: &DocumentAnalysis) -> (Option<DocumentFields>, Option<DocumentFields>) {
    let by_source = |wanted: &[DataSource]| {
        analysis.fields.clone().filter(|f| f.data_source.is_some_and(|s| wanted.contains(&s)))
    };
    let printed = analysis.printed_fields.clone().or_else(|| by_source(&[DataSource::Ocr]));
    let machine = analysis.machine_fields.clone().or_else(|| by_source(&[DataSource::Barcode, DataSource::Mrz]));
    (printed, machine)
}

/// Everything the document job does after the engine answered, in the
/// job's transaction: store the readings and the fingerprint, record the
/// duplication check, and the crosschecks when both readings exist.
pub async fn after_analysis(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    side: DocumentSide,
    analysis: &DocumentAnalysis,
) -> AppResult<()> {
    let (printed, machine) = readings_of(analysis);
    if let Some(f) = &printed {
        save_reading(db, session, side, SOURCE_PRINTED, f).await?;
    }
    if let Some(f) = &machine {
        save_reading(db, session, side, SOURCE_MACHINE, f).await?;
    }
    if let Some(fingerprint) = &analysis.fingerprint {
        save_fingerprint(db, session, side, fingerprint).await?;
        let findings = find_duplicates(db, session, fingerprint).await?;
        let outcome = duplication_outcome(side, &findings);
        checks::record(db, SessionKind::Idv, &session.client_id, &session.id, outcome.name, to_outcome(&outcome)).await?;
    }
    record_crosschecks(db, session).await?;
    Ok(())
}

fn to_outcome(o: &CheckOutcome) -> Outcome {
    Outcome {
        status: o.verdict.status(),
        score: o.score,
        detail: Some(o.detail.clone()),
        evidence: o.evidence.clone(),
        engine_version: Some(VERSION.to_string()),
    }
}

async fn save_reading(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    side: DocumentSide,
    source: &str,
    fields: &DocumentFields,
) -> AppResult<()> {
    let now = Utc::now();
    let stored = serde_json::to_value(StoredFields::from(fields)).unwrap_or_default();
    document_reading::Entity::insert(document_reading::ActiveModel {
        id: Set(new_id()),
        client_id: Set(session.client_id.clone()),
        session_id: Set(session.id.clone()),
        side: Set(side.as_str().to_string()),
        source: Set(source.to_string()),
        fields: Set(stored),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([document_reading::Column::SessionId, document_reading::Column::Side, document_reading::Column::Source])
            .update_columns([document_reading::Column::Fields, document_reading::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- crosschecks

/// The document type's `*_fuzzy_match_tolerance` (`unknown` → driver licence).
pub fn tolerance_for(weights: &WeightValues, document_type: DocumentType) -> f64 {
    match document_type {
        DocumentType::IdentificationCard => weights.state_id_fuzzy_match_tolerance,
        DocumentType::Passport => weights.passport_fuzzy_match_tolerance,
        DocumentType::PassportCard => weights.passport_card_fuzzy_match_tolerance,
        DocumentType::DriverLicense | DocumentType::Unknown => weights.driver_license_fuzzy_match_tolerance,
    }
}

/// Computes and records the three crosschecks when the session has both a
/// printed and a machine reading; returns whether it did. Safe to repeat.
pub async fn record_crosschecks(db: &impl ConnectionTrait, session: &idv_session::Model) -> AppResult<bool> {
    let rows = document_reading::Entity::find()
        .filter(document_reading::Column::ClientId.eq(&session.client_id))
        .filter(document_reading::Column::SessionId.eq(&session.id))
        .all(db)
        .await?;
    let pick = |source: &str, sides: [&str; 2]| {
        sides.iter().find_map(|side| {
            rows.iter()
                .find(|r| r.source == source && r.side == *side)
                .and_then(|r| serde_json::from_value::<StoredFields>(r.fields.clone()).ok())
                .map(|f| f.to_fields())
        })
    };
    let (Some(printed), Some(machine)) = (pick(SOURCE_PRINTED, ["front", "back"]), pick(SOURCE_MACHINE, ["back", "front"]))
    else {
        return Ok(false);
    };
    let weights = weights::Entity::find_by_id(session.idv_weights_id.clone())
        .one(db)
        .await?
        .map(|w| WeightValues::from_model(&w))
        .unwrap_or_default();
    let declared = DocumentType::from_db(&session.document_type);
    let document_type = match declared {
        DocumentType::Unknown => machine.document_type.or(printed.document_type).unwrap_or(DocumentType::Unknown),
        t => t,
    };
    let tolerance = tolerance_for(&weights, document_type);
    for outcome in crosscheck::all(&printed, &machine, tolerance) {
        checks::record(db, SessionKind::Idv, &session.client_id, &session.id, outcome.name, to_outcome(&outcome)).await?;
    }
    Ok(true)
}

// ---------------------------------------------------------------- validity

/// The document-date checks of [`crate::engine::validity`], recorded at
/// finalize from the session's current document (barcode/MRZ dates when
/// read) and the printed and machine readings' expiry dates; `unavailable`
/// with the reason when no document was read. `now` is the finalize time.
pub async fn record_validity(db: &impl ConnectionTrait, session: &idv_session::Model, now: chrono::DateTime<Utc>) -> AppResult<()> {
    let doc = document::Entity::find()
        .filter(document::Column::ClientId.eq(&session.client_id))
        .filter(document::Column::SessionId.eq(&session.id))
        .filter(document::Column::IsCurrent.eq(true))
        .one(db)
        .await?;
    let Some(doc) = doc else {
        for name in VALIDITY_CHECKS {
            let o = Outcome::unavailable("no document data was read");
            checks::record(db, SessionKind::Idv, &session.client_id, &session.id, name, o).await?;
        }
        return Ok(());
    };
    let readings = document_reading::Entity::find()
        .filter(document_reading::Column::ClientId.eq(&session.client_id))
        .filter(document_reading::Column::SessionId.eq(&session.id))
        .all(db)
        .await?;
    let read_by = |source: &str, field: fn(&StoredFields) -> Option<NaiveDate>| {
        readings
            .iter()
            .filter(|r| r.source == source)
            .filter_map(|r| serde_json::from_value::<StoredFields>(r.fields.clone()).ok())
            .find_map(|f| field(&f))
    };
    let expiry_read_by = |source: &str| read_by(source, |f| f.expires_at);
    let birth_read_by = |source: &str| read_by(source, |f| f.birth_date);
    let date = |s: &Option<String>| s.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let dates = DocumentDates {
        issued_at: date(&doc.issued_at),
        expires_at: date(&doc.expires_at),
        birth_date: date(&doc.birth_date),
        issuing_country: doc.issuing_country.clone(),
        issuing_state: doc.issuing_state.clone().or_else(|| doc.state.clone()),
        printed_expiry: expiry_read_by(SOURCE_PRINTED),
        machine_expiry: expiry_read_by(SOURCE_MACHINE),
        printed_birth_date: birth_read_by(SOURCE_PRINTED),
        machine_birth_date: birth_read_by(SOURCE_MACHINE),
    };
    for outcome in validity::check(&dates, now) {
        checks::record(db, SessionKind::Idv, &session.client_id, &session.id, outcome.name, to_outcome(&outcome)).await?;
    }
    Ok(())
}

/// The checks [`record_validity`] records.
pub const VALIDITY_CHECKS: [&str; 6] = [
    names::DOCUMENT_EXPIRY,
    names::DOCUMENT_ISSUE_DATE,
    names::DOCUMENT_DATE_ORDER,
    names::BIRTH_DATE_PLAUSIBILITY,
    names::EXPIRY_CROSSCHECK,
    names::BIRTH_DATE_CROSSCHECK,
];

// ---------------------------------------------------------------- duplication

async fn save_fingerprint(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    side: DocumentSide,
    fp: &DocumentFingerprint,
) -> AppResult<()> {
    let bands = phash::from_hex(&fp.phash).map(|h| phash::bands(&h)).unwrap_or_default();
    let now = Utc::now();
    document_fingerprint::Entity::insert(document_fingerprint::ActiveModel {
        id: Set(new_id()),
        client_id: Set(session.client_id.clone()),
        session_id: Set(session.id.clone()),
        side: Set(side.as_str().to_string()),
        phash: Set(fp.phash.clone()),
        band0: Set(bands[0]),
        band1: Set(bands[1]),
        band2: Set(bands[2]),
        band3: Set(bands[3]),
        band4: Set(bands[4]),
        band5: Set(bands[5]),
        band6: Set(bands[6]),
        band7: Set(bands[7]),
        barcode_key_hash: Set(fp.barcode_key.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([document_fingerprint::Column::SessionId, document_fingerprint::Column::Side])
            .update_columns([
                document_fingerprint::Column::Phash,
                document_fingerprint::Column::Band0,
                document_fingerprint::Column::Band1,
                document_fingerprint::Column::Band2,
                document_fingerprint::Column::Band3,
                document_fingerprint::Column::Band4,
                document_fingerprint::Column::Band5,
                document_fingerprint::Column::Band6,
                document_fingerprint::Column::Band7,
                document_fingerprint::Column::BarcodeKeyHash,
                document_fingerprint::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Other sessions that showed the same picture or the same identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DuplicateFindings {
    /// Sessions of this tenant with a near-identical image (ids, capped).
    pub image_sessions: Vec<String>,
    /// How many sessions of other tenants had a near-identical image.
    pub image_other_tenants: usize,
    /// Smallest Hamming distance to any match.
    pub closest_distance: Option<u32>,
    /// Sessions of this tenant with the same barcode/MRZ identity.
    pub identity_sessions: Vec<String>,
    /// How many sessions of other tenants had the same identity.
    pub identity_other_tenants: usize,
    /// Whether an identity key existed to compare.
    pub identity_compared: bool,
}

impl DuplicateFindings {
    pub fn any(&self) -> bool {
        !self.image_sessions.is_empty()
            || self.image_other_tenants > 0
            || !self.identity_sessions.is_empty()
            || self.identity_other_tenants > 0
    }
}

/// Looks the fingerprint up among every other session's, across tenants.
pub async fn find_duplicates(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    fp: &DocumentFingerprint,
) -> AppResult<DuplicateFindings> {
    let mut findings = DuplicateFindings { identity_compared: fp.barcode_key.is_some(), ..Default::default() };
    // (session id, client id) of matches, before the same-customer filter.
    let mut image: Vec<(String, String, u32)> = Vec::new();
    if let Some(hash) = phash::from_hex(&fp.phash) {
        let bands = phash::bands(&hash);
        let columns = [
            document_fingerprint::Column::Band0,
            document_fingerprint::Column::Band1,
            document_fingerprint::Column::Band2,
            document_fingerprint::Column::Band3,
            document_fingerprint::Column::Band4,
            document_fingerprint::Column::Band5,
            document_fingerprint::Column::Band6,
            document_fingerprint::Column::Band7,
        ];
        let mut any_band = Condition::any();
        for (column, value) in columns.into_iter().zip(bands) {
            any_band = any_band.add(column.eq(value));
        }
        let candidates = document_fingerprint::Entity::find()
            .filter(document_fingerprint::Column::SessionId.ne(&session.id))
            .filter(any_band)
            .limit(MAX_CANDIDATES)
            .all(db)
            .await?;
        for c in candidates {
            let Some(other) = phash::from_hex(&c.phash) else { continue };
            let d = phash::distance(&hash, &other);
            if d <= phash::NEAR_DUPLICATE_DISTANCE {
                image.push((c.session_id, c.client_id, d));
            }
        }
    }
    let mut identity: Vec<(String, String)> = Vec::new();
    if let Some(key) = &fp.barcode_key {
        identity = document_fingerprint::Entity::find()
            .filter(document_fingerprint::Column::BarcodeKeyHash.eq(key))
            .filter(document_fingerprint::Column::SessionId.ne(&session.id))
            .limit(MAX_CANDIDATES)
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.session_id, c.client_id))
            .collect();
    }
    // This tenant's sessions of the same customer (same user_id) are retries.
    let own_ids: BTreeSet<String> = image
        .iter()
        .map(|(s, c, _)| (s, c))
        .chain(identity.iter().map(|(s, c)| (s, c)))
        .filter(|(_, c)| **c == session.client_id)
        .map(|(s, _)| s.clone())
        .collect();
    let same_customer: BTreeSet<String> = match &session.user_id {
        Some(user) if !own_ids.is_empty() => idv_session::Entity::find()
            .filter(idv_session::Column::ClientId.eq(&session.client_id))
            .filter(idv_session::Column::Id.is_in(own_ids.iter().cloned()))
            .filter(idv_session::Column::UserId.eq(user))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect(),
        _ => BTreeSet::new(),
    };
    let mut image_own = BTreeSet::new();
    let mut image_other = BTreeSet::new();
    for (s, c, d) in &image {
        if *c == session.client_id {
            if same_customer.contains(s) {
                continue;
            }
            image_own.insert(s.clone());
        } else {
            image_other.insert(s.clone());
        }
        findings.closest_distance = Some(findings.closest_distance.map_or(*d, |m| m.min(*d)));
    }
    let mut identity_own = BTreeSet::new();
    let mut identity_other = BTreeSet::new();
    for (s, c) in &identity {
        if *c == session.client_id {
            if !same_customer.contains(s) {
                identity_own.insert(s.clone());
            }
        } else {
            identity_other.insert(s.clone());
        }
    }
    findings.image_sessions = image_own.into_iter().take(MAX_NAMED_SESSIONS).collect();
    findings.image_other_tenants = image_other.len();
    findings.identity_sessions = identity_own.into_iter().take(MAX_NAMED_SESSIONS).collect();
    findings.identity_other_tenants = identity_other.len();
    Ok(findings)
}

/// `doc_<side>_online_duplication` from the findings. Evidence names this
/// tenant's sessions only; other tenants appear as counts.
pub fn duplication_outcome(side: DocumentSide, f: &DuplicateFindings) -> CheckOutcome {
    let name = match side {
        DocumentSide::Front => names::DOC_FRONT_ONLINE_DUPLICATION,
        DocumentSide::Back => names::DOC_BACK_ONLINE_DUPLICATION,
    };
    let evidence = json!({
        "image": {
            "sessions": f.image_sessions,
            "other_tenant_sessions": f.image_other_tenants,
            "closest_distance": f.closest_distance,
            "max_distance": phash::NEAR_DUPLICATE_DISTANCE,
        },
        "barcode_identity": {
            "compared": f.identity_compared,
            "sessions": f.identity_sessions,
            "other_tenant_sessions": f.identity_other_tenants,
        },
    });
    if !f.any() {
        return CheckOutcome::pass(name, 0.95, "neither the image nor the document identity was seen in another session")
            .with_evidence(evidence);
    }
    let mut parts = Vec::new();
    // This tenant's sessions by id; other tenants' only as a number.
    let count = |own: &[String], other: usize| match (own.len(), other) {
        (0, o) => format!("{o} session(s) of another tenant"),
        (_, 0) => format!("this tenant's session(s) {}", own.join(", ")),
        (_, o) => format!("this tenant's session(s) {} and {o} session(s) of another tenant", own.join(", ")),
    };
    if !f.image_sessions.is_empty() || f.image_other_tenants > 0 {
        parts.push(format!("the same image was submitted in {}", count(&f.image_sessions, f.image_other_tenants)));
    }
    if !f.identity_sessions.is_empty() || f.identity_other_tenants > 0 {
        parts.push(format!("the same document identity was read in {}", count(&f.identity_sessions, f.identity_other_tenants)));
    }
    CheckOutcome::fail(name, 0.05, parts.join("; ")).with_evidence(evidence)
}

/// Deletes a session's fingerprints and readings (with the session).
pub async fn delete_for_session(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<()> {
    document_fingerprint::Entity::delete_many()
        .filter(document_fingerprint::Column::ClientId.eq(client_id))
        .filter(document_fingerprint::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    document_reading::Entity::delete_many()
        .filter(document_reading::Column::ClientId.eq(client_id))
        .filter(document_reading::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;

    #[test]
    fn other_tenants_are_counted_never_named() {
        let f = DuplicateFindings {
            image_sessions: vec!["own-1".into()],
            image_other_tenants: 2,
            closest_distance: Some(3),
            ..Default::default()
        };
        let c = duplication_outcome(DocumentSide::Front, &f);
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.detail.contains("this tenant's session(s) own-1 and 2 session(s) of another tenant"), "{}", c.detail);
        assert_eq!(c.evidence.as_ref().unwrap()["image"]["other_tenant_sessions"], 2);
        let clean = duplication_outcome(DocumentSide::Back, &DuplicateFindings::default());
        assert_eq!((clean.verdict, clean.name), (Verdict::Pass, names::DOC_BACK_ONLINE_DUPLICATION));
    }

    #[test]
    fn readings_fall_back_to_the_fields_by_source() {
        let ocr = DocumentFields { data_source: Some(DataSource::Ocr), last_name: Some("A".into()), ..Default::default() };
        let analysis = DocumentAnalysis { fields: Some(ocr.clone()), ..Default::default() };
        assert_eq!(readings_of(&analysis), (Some(ocr.clone()), None));
        let barcode = DocumentFields { data_source: Some(DataSource::Barcode), ..ocr.clone() };
        let analysis = DocumentAnalysis { fields: Some(barcode.clone()), printed_fields: Some(ocr.clone()), ..Default::default() };
        assert_eq!(readings_of(&analysis), (Some(ocr), Some(barcode)));
        let stored = StoredFields::from(&DocumentFields { birth_date: NaiveDate::from_ymd_opt(1990, 1, 2), ..Default::default() });
        assert_eq!(stored.to_fields().birth_date, NaiveDate::from_ymd_opt(1990, 1, 2));
    }

    #[test]
    fn tolerance_follows_the_document_type() {
        let w = WeightValues::default();
        assert_eq!(tolerance_for(&w, DocumentType::Passport), w.passport_fuzzy_match_tolerance);
        assert_eq!(tolerance_for(&w, DocumentType::Unknown), w.driver_license_fuzzy_match_tolerance);
    }
}
