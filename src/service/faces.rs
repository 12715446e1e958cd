//! Face templates and the face-derived checks of a session.
//!
//! - The liveness job stores the capture's embedding as the session's face
//!   template (sealed with the master key, `face_template`); verification
//!   moves it to the identity (`identities::link_session`), where IDA and the
//!   duplicate search find it.
//! - `age` / `gender` compare the capture's estimates (kept in the
//!   `face_match` evidence) with the document's birth date and sex, at
//!   finalize, when both are known: `|estimated − document age| <=
//!   age_tolerance`; `P(document sex) >= gender_probability_tolerance`.
//! - `duplicate_face` (not scored; a flag for review): the session's face
//!   matches, within `onboarding_face_encoding_tolerance`, the template of an
//!   identity of the same client whose document data differs (document
//!   number, or birth date / last name). The 1:N search is an exact scan of a
//!   per-client in-memory index ([`crate::engine::face::index::FlatIndex`]),
//!   loaded lazily from the templates and topped up incrementally; hits are
//!   re-read from the database, so a deleted or reassigned template never
//!   produces a flag.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{document, face_template, idv_session, weights};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::engine::FaceEmbedding;
use crate::engine::face::index::FlatIndex;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::checks::{self, Outcome, names};
use crate::service::documents::{OWNER_IDA_SESSION, OWNER_IDV_SESSION};
use crate::service::history::SessionKind;
use crate::service::identities::OWNER_IDENTITY;
use crate::service::idv::IdvSettings;
use crate::service::types::{CheckStatus, Gender};
use crate::service::weights::WeightValues;
use crate::state::AppState;
use crate::storage::MasterKey;

/// The owner kind of a session's templates.
pub fn session_owner(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Idv => OWNER_IDV_SESSION,
        SessionKind::Ida => OWNER_IDA_SESSION,
    }
}

/// Replaces the session's face template with `embedding`.
pub async fn store_session_template(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    kind: SessionKind,
    client_id: &str,
    session_id: &str,
    source: &str,
    embedding: &FaceEmbedding,
) -> AppResult<()> {
    face_template::Entity::delete_many()
        .filter(face_template::Column::ClientId.eq(client_id))
        .filter(face_template::Column::OwnerKind.eq(session_owner(kind)))
        .filter(face_template::Column::OwnerId.eq(session_id))
        .exec(db)
        .await?;
    let id = new_id();
    face_template::Entity::insert(face_template::ActiveModel {
        embedding: Set(seal_face_embedding(master, &id, embedding)),
        id: Set(id),
        client_id: Set(client_id.to_string()),
        owner_kind: Set(session_owner(kind).to_string()),
        owner_id: Set(session_id.to_string()),
        source: Set(source.to_string()),
        model: Set(embedding.model.clone()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Whole years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Option<i32> {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    (years >= 0).then_some(years)
}

/// The `age` check: the estimate vs the document's birth date.
pub fn age_outcome(estimate: Option<f64>, birth_date: Option<NaiveDate>, on: NaiveDate, tolerance: f64) -> Outcome {
    let Some(birth) = birth_date else { return Outcome::unavailable("no birth date was read from the document") };
    let Some(estimate) = estimate.filter(|e| e.is_finite()) else {
        return Outcome::unavailable("no age estimate from the capture");
    };
    let Some(age) = age_on(birth, on) else { return Outcome::unavailable("the document's birth date is in the future") };
    let diff = (estimate - age as f64).abs();
    let score = if tolerance > 0.0 { (1.0 - diff / (2.0 * tolerance)).clamp(0.0, 1.0) } else { 0.0 };
    let evidence = serde_json::json!({ "estimated_age": estimate, "document_age": age, "difference": diff, "age_tolerance": tolerance });
    // `<=` and a NaN tolerance fails closed.
    let mut outcome = if diff <= tolerance {
        Outcome::pass(score, format!("estimated age {estimate:.0} vs {age} on the document"))
    } else {
        Outcome::fail(score, format!("estimated age {estimate:.0} differs from {age} on the document by more than {tolerance}"))
    };
    outcome.evidence = Some(evidence);
    outcome
}

/// The `gender` check: P(document sex) vs `gender_probability_tolerance`.
pub fn gender_outcome(male_probability: Option<f64>, gender: Gender, tolerance: f64) -> Outcome {
    let Some(p_male) = male_probability.filter(|p| p.is_finite()) else {
        return Outcome::unavailable("no gender estimate from the capture");
    };
    let p = match gender {
        Gender::Male => p_male,
        Gender::Female => 1.0 - p_male,
        Gender::Unknown | Gender::NonBinary => {
            return Outcome::unavailable("the document states no binary sex to compare with");
        }
    };
    let evidence = serde_json::json!({ "document_gender": gender.as_str(), "probability": p, "gender_probability_tolerance": tolerance });
    let mut outcome = if p >= tolerance {
        Outcome::pass(p, format!("{:.0}% likely {} as on the document", p * 100.0, gender.as_str()))
    } else {
        Outcome::fail(p, format!("only {:.0}% likely {} as on the document", p * 100.0, gender.as_str()))
    };
    outcome.evidence = Some(evidence);
    outcome
}

fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// The weights version a session pinned (platform defaults if it is gone).
async fn pinned_weights(db: &impl ConnectionTrait, weights_id: &str) -> AppResult<WeightValues> {
    Ok(match weights::Entity::find_by_id(weights_id.to_string()).one(db).await? {
        Some(w) => WeightValues::from_model(&w),
        None => WeightValues::default(),
    })
}

/// The capture's age and sex estimates, as the face match recorded them.
struct FaceEstimates {
    age: Option<f64>,
    male_probability: Option<f64>,
    /// The day of the capture (the age is judged on it).
    on: NaiveDate,
    /// Why there is no estimate, when there is none.
    missing: String,
}

async fn face_estimates(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<FaceEstimates> {
    let rows = checks::for_session(db, client_id, session_id).await?;
    let face = rows.iter().find(|r| r.check_name == names::FACE_MATCH);
    let evidence = face.and_then(|r| r.evidence.clone()).unwrap_or(serde_json::Value::Null);
    let missing = face
        .filter(|r| CheckStatus::from_db(&r.status) == CheckStatus::Unavailable)
        .and_then(|r| r.detail.clone())
        .or_else(|| evidence["age_gender_note"].as_str().map(str::to_string))
        .unwrap_or_else(|| "no face was analysed".to_string());
    Ok(FaceEstimates {
        age: evidence["age_estimate"].as_f64(),
        male_probability: evidence["male_probability"].as_f64(),
        on: face.map(|r| r.updated_at.date_naive()).unwrap_or_else(|| Utc::now().date_naive()),
        missing,
    })
}

/// Records `age`, `gender` (when enabled) and `duplicate_face` of an IDV
/// session at finalize. Earlier results of these checks are replaced.
pub async fn settle_idv(
    state: &AppState,
    s: &idv_session::Model,
    settings: &IdvSettings,
    doc: Option<&document::Model>,
) -> AppResult<()> {
    let db = &state.db;
    let weights = pinned_weights(db, &s.idv_weights_id).await?;
    let est = face_estimates(db, &s.client_id, &s.id).await?;
    if settings.perform_age_test {
        let outcome = match (doc, est.age) {
            (None, _) => Outcome::unavailable("no document was read"),
            (Some(_), None) => Outcome::unavailable(est.missing.clone()),
            (Some(d), age) => age_outcome(age, parse_date(d.birth_date.as_deref()), est.on, weights.age_tolerance),
        };
        checks::record(db, SessionKind::Idv, &s.client_id, &s.id, names::AGE, outcome).await?;
    }
    if settings.perform_gender_test {
        let outcome = match (doc, est.male_probability) {
            (None, _) => Outcome::unavailable("no document was read"),
            (Some(_), None) => Outcome::unavailable(est.missing.clone()),
            (Some(d), p) => gender_outcome(p, Gender::from_db(&d.gender), weights.gender_probability_tolerance),
        };
        checks::record(db, SessionKind::Idv, &s.client_id, &s.id, names::GENDER, outcome).await?;
    }
    let duplicate = duplicate_outcome(state, s, doc, weights.onboarding_face_encoding_tolerance).await?;
    checks::record(db, SessionKind::Idv, &s.client_id, &s.id, names::DUPLICATE_FACE, duplicate).await?;
    Ok(())
}

/// Records `age` and `gender` of an IDA session at finalize, when its
/// settings ask for them: the selfie's estimates (the `face_match`
/// evidence) against the identity's birth date and sex, with the
/// tolerances of the session's pinned weights. Earlier results are replaced.
pub async fn settle_ida(
    state: &AppState,
    s: &entity::ida_session::Model,
    settings: &crate::service::types::IdaSettings,
) -> AppResult<()> {
    if !settings.perform_age_test && !settings.perform_gender_test {
        return Ok(());
    }
    let db = &state.db;
    let weights = pinned_weights(db, &s.idv_weights_id).await?;
    let identity = entity::identity::Entity::find_by_id(s.identity_id.clone())
        .filter(entity::identity::Column::ClientId.eq(&s.client_id))
        .one(db)
        .await?;
    let est = face_estimates(db, &s.client_id, &s.id).await?;
    if settings.perform_age_test {
        let outcome = match (&identity, est.age) {
            (None, _) => Outcome::unavailable("the identity is gone"),
            (Some(_), None) => Outcome::unavailable(est.missing.clone()),
            (Some(i), age) => match parse_date(i.birth_date.as_deref()) {
                None => Outcome::unavailable("the identity has no birth date"),
                birth => age_outcome(age, birth, est.on, weights.age_tolerance),
            },
        };
        checks::record(db, SessionKind::Ida, &s.client_id, &s.id, names::AGE, outcome).await?;
    }
    if settings.perform_gender_test {
        let outcome = match (&identity, est.male_probability) {
            (None, _) => Outcome::unavailable("the identity is gone"),
            (Some(_), None) => Outcome::unavailable(est.missing.clone()),
            (Some(i), p) => gender_outcome(p, Gender::from_db(&i.gender), weights.gender_probability_tolerance),
        };
        checks::record(db, SessionKind::Ida, &s.client_id, &s.id, names::GENDER, outcome).await?;
    }
    Ok(())
}

fn normalized(s: Option<&str>) -> Option<String> {
    let v: String = s?.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect();
    (!v.is_empty()).then_some(v)
}

/// Whether two documents state different data (same holder re-onboarding
/// with the same document is not a duplicate).
pub fn documents_differ(a: &document::Model, b: &document::Model) -> bool {
    if let (Some(x), Some(y)) = (normalized(a.document_number.as_deref()), normalized(b.document_number.as_deref())) {
        return x != y;
    }
    let birth = (normalized(a.birth_date.as_deref()), normalized(b.birth_date.as_deref()));
    let last = (normalized(a.last_name.as_deref()), normalized(b.last_name.as_deref()));
    matches!(birth, (Some(x), Some(y)) if x != y) || matches!(last, (Some(x), Some(y)) if x != y)
}

async fn duplicate_outcome(
    state: &AppState,
    s: &idv_session::Model,
    doc: Option<&document::Model>,
    tolerance: f64,
) -> AppResult<Outcome> {
    let db = &state.db;
    let Some(doc) = doc else { return Ok(Outcome::unavailable("no document was read")) };
    let own = face_template::Entity::find()
        .filter(face_template::Column::ClientId.eq(&s.client_id))
        .filter(face_template::Column::OwnerKind.eq(OWNER_IDV_SESSION))
        .filter(face_template::Column::OwnerId.eq(&s.id))
        .order_by_desc(face_template::Column::CreatedAt)
        .one(db)
        .await?;
    let Some(own) = own else { return Ok(Outcome::unavailable("the session has no face template")) };
    let probe = open_face_embedding(state.storage.master_key(), &own)?;
    let hits = search(state, &s.client_id, &probe.vector, tolerance as f32, 20).await?;
    let mut matches = Vec::new();
    for (template_id, distance) in hits {
        // Re-read: only identity templates of the same model count, never this session's own identity.
        let Some(t) = face_template::Entity::find_by_id(template_id).one(db).await? else { continue };
        if t.client_id != s.client_id || t.owner_kind != OWNER_IDENTITY || t.model != probe.model {
            continue;
        }
        if s.identity_id.as_deref() == Some(t.owner_id.as_str()) {
            continue;
        }
        let other = document::Entity::find()
            .filter(document::Column::ClientId.eq(&s.client_id))
            .filter(document::Column::IdentityId.eq(&t.owner_id))
            .filter(document::Column::IsCurrent.eq(true))
            .order_by_desc(document::Column::CreatedAt)
            .one(db)
            .await?;
        if other.as_ref().is_some_and(|o| documents_differ(doc, o)) {
            matches.push(serde_json::json!({ "identity_id": t.owner_id, "distance": distance }));
        }
    }
    let evidence = serde_json::json!({ "matches": matches, "tolerance": tolerance });
    let mut outcome = if matches.is_empty() {
        Outcome::pass(1.0, "no identity of this client with other document data has this face")
    } else {
        let ids: Vec<&str> = matches.iter().filter_map(|m| m["identity_id"].as_str()).collect();
        Outcome::fail(0.0, format!("the face matches identit{} {} of this client, with different document data", if ids.len() == 1 { "y" } else { "ies" }, ids.join(", ")))
    };
    outcome.evidence = Some(evidence);
    Ok(outcome)
}

/// The per-client index of every template (session and identity owned; the
/// owner is checked on the hits).
#[derive(Default)]
struct ClientIndex {
    index: Option<FlatIndex>,
    seen: HashSet<String>,
    loaded_until: Option<DateTime<Utc>>,
}

/// A template is inserted inside its transaction, often by another process
/// (whose clock may differ slightly): one that commits after a later one
/// was loaded carries an earlier `created_at`. Each top-up therefore looks
/// this far back before the newest template loaded; `seen` skips the ones
/// already in the index.
const TOP_UP_OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

type Indexes = Mutex<HashMap<String, Arc<tokio::sync::Mutex<ClientIndex>>>>;

fn indexes() -> &'static Indexes {
    static INDEXES: OnceLock<Indexes> = OnceLock::new();
    INDEXES.get_or_init(Default::default)
}

/// Templates of `client_id` within `max_distance` of `query`, nearest
/// first: (template id, distance). Loads the client's templates on first
/// use; each later call adds the ones not indexed yet among those created
/// since [`TOP_UP_OVERLAP`] before the newest one loaded (so a template
/// another process committed late is not missed).
pub async fn search(
    state: &AppState,
    client_id: &str,
    query: &[f32],
    max_distance: f32,
    limit: usize,
) -> AppResult<Vec<(String, f32)>> {
    let entry = {
        let mut map = indexes().lock().unwrap_or_else(|e| e.into_inner());
        map.entry(client_id.to_string()).or_default().clone()
    };
    let mut ci = entry.lock().await;
    let mut q = face_template::Entity::find().filter(face_template::Column::ClientId.eq(client_id));
    if let Some(since) = ci.loaded_until {
        // Ids first: only the templates not indexed yet are read whole.
        let recent: Vec<String> = face_template::Entity::find()
            .select_only()
            .column(face_template::Column::Id)
            .filter(face_template::Column::ClientId.eq(client_id))
            .filter(face_template::Column::CreatedAt.gte(since - TOP_UP_OVERLAP))
            .into_tuple::<String>()
            .all(&state.db)
            .await?;
        let unseen: Vec<String> = recent.into_iter().filter(|id| !ci.seen.contains(id)).collect();
        if unseen.is_empty() {
            return Ok(search_loaded(&ci, query, max_distance, limit));
        }
        q = q.filter(face_template::Column::Id.is_in(unseen));
    }
    let rows = q.order_by_asc(face_template::Column::CreatedAt).all(&state.db).await?;
    for row in rows {
        ci.loaded_until = Some(ci.loaded_until.map_or(row.created_at, |t| t.max(row.created_at)));
        if !ci.seen.insert(row.id.clone()) {
            continue;
        }
        let Ok(e) = open_face_embedding(state.storage.master_key(), &row) else { continue };
        let index = ci.index.get_or_insert_with(|| FlatIndex::new(e.vector.len()));
        index.insert(row.id, &e.vector);
    }
    Ok(search_loaded(&ci, query, max_distance, limit))
}

fn search_loaded(ci: &ClientIndex, query: &[f32], max_distance: f32, limit: usize) -> Vec<(String, f32)> {
    ci.index
        .as_ref()
        .map(|i| i.search(query, max_distance, limit).into_iter().map(|h| (h.key, h.distance)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn age_check_uses_whole_years_and_the_tolerance() {
        assert_eq!(age_on(d("1961-08-04"), d("2026-08-03")), Some(64));
        assert_eq!(age_on(d("1961-08-04"), d("2026-08-04")), Some(65));
        assert_eq!(age_on(d("2030-01-01"), d("2026-01-01")), None);
        let pass = age_outcome(Some(58.0), Some(d("1961-08-04")), d("2026-11-26"), 10.0);
        assert_eq!(pass.status, CheckStatus::Pass);
        let fail = age_outcome(Some(30.0), Some(d("1961-08-04")), d("2026-11-26"), 10.0);
        assert_eq!(fail.status, CheckStatus::Fail);
        assert!(fail.score.unwrap() < pass.score.unwrap());
        assert_eq!(age_outcome(None, Some(d("1961-08-04")), d("2026-11-26"), 10.0).status, CheckStatus::Unavailable);
        assert_eq!(age_outcome(Some(40.0), None, d("2026-11-26"), 10.0).status, CheckStatus::Unavailable);
        assert_eq!(age_outcome(Some(40.0), Some(d("1990-01-01")), d("2026-11-26"), f64::NAN).status, CheckStatus::Fail);
    }

    #[test]
    fn gender_check_uses_the_probability_of_the_documents_sex() {
        assert_eq!(gender_outcome(Some(0.99), Gender::Male, 0.8).status, CheckStatus::Pass);
        assert_eq!(gender_outcome(Some(0.99), Gender::Female, 0.8).status, CheckStatus::Fail);
        assert_eq!(gender_outcome(Some(0.01), Gender::Female, 0.8).status, CheckStatus::Pass);
        assert_eq!(gender_outcome(Some(0.5), Gender::Unknown, 0.8).status, CheckStatus::Unavailable);
        assert_eq!(gender_outcome(None, Gender::Male, 0.8).status, CheckStatus::Unavailable);
    }
}

/// `owner_kind` of a face template that belongs to an identity.
pub const TEMPLATE_OWNER_IDENTITY: &str = "identity";

/// The associated data a face template is sealed with.
pub fn template_context(template_id: &str) -> Vec<u8> {
    format!("face_template:{template_id}").into_bytes()
}

/// Encrypts an embedding for `face_template.embedding` (little-endian f32s
/// sealed with the master key, bound to the template id so a row's bytes
/// cannot be swapped into another row).
pub fn seal_face_embedding(master: &MasterKey, template_id: &str, embedding: &FaceEmbedding) -> Vec<u8> {
    let plain: Vec<u8> = embedding.vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    master.seal(&template_context(template_id), &plain)
}

/// Reverses [`seal_face_embedding`].
pub fn open_face_embedding(master: &MasterKey, template: &face_template::Model) -> AppResult<FaceEmbedding> {
    let plain = master.open(&template_context(&template.id), &template.embedding).map_err(AppError::Internal)?;
    Ok(FaceEmbedding {
        model: template.model.clone(),
        vector: plain.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
    })
}
