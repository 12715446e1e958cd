//! Identities: the verified people of a client. A verified IDV session
//! creates one or refreshes the one already holding the same document;
//! integrators list and read them, fetch their document and images, and
//! erase them.
//!
//! Erasure keeps a tombstone: the row stays with `erased_at` set and every
//! personal column cleared, because IDA sessions reference their identity
//! with a NOT NULL, ON DELETE CASCADE key — deleting the row would silently
//! delete those sessions' records too. An erased identity behaves as absent
//! (404) everywhere and its id is never reused.

use chrono::{DateTime, Utc};
use entity::{
    capture_location, check_result, document, document_fingerprint, document_reading, face_template, ida_session, identity, idv_session, metadata_entry,
    session_event, stored_file,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::documents::{Image, OWNER_IDA_SESSION, OWNER_IDV_SESSION};
use crate::service::files;
use crate::service::metadata;
use crate::service::tenancy::Scope;
use crate::service::types::{DocumentType, Gender, Page, StorageFileType};
use crate::storage::BlobStore;

/// `owner_kind` of metadata entries and face templates that belong to an identity.
pub const OWNER_IDENTITY: &str = "identity";
/// Most identities one read returns.
pub const MAX_READ: u64 = 500;

/// The live (not erased) identity `identity_id` of `client_id`.
pub async fn find_live(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<Option<identity::Model>> {
    Ok(identity::Entity::find_by_id(identity_id.to_string())
        .filter(identity::Column::ClientId.eq(client_id))
        .filter(identity::Column::ErasedAt.is_null())
        .one(db)
        .await?)
}

/// A live identity the caller's scope may read, or `None`.
pub async fn find_live_in_scope(db: &impl ConnectionTrait, scope: &Scope, identity_id: &str) -> AppResult<Option<identity::Model>> {
    Ok(identity::Entity::find_by_id(identity_id.to_string())
        .filter(identity::Column::ErasedAt.is_null())
        .one(db)
        .await?
        .filter(|i| scope.allows(&i.client_id)))
}

/// Like [`find_live`], 404 when absent, erased or another client's.
pub async fn get(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<identity::Model> {
    find_live(db, client_id, identity_id).await?.ok_or_else(|| AppError::not_found("identity"))
}

/// What the SDK's status call answers for an identity of `client_id`:
/// verified only while the identity is verified, not erased and not on a
/// sanctions list. An erased identity answers `false` (its tombstone is
/// still the client's); an unknown or another client's id is 404.
pub async fn sdk_verified(db: &impl ConnectionTrait, client_id: &str, identity_id: &str) -> AppResult<bool> {
    let identity = identity::Entity::find_by_id(identity_id.to_string())
        .filter(identity::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("identity"))?;
    Ok(identity.verified && identity.erased_at.is_none() && identity.ofac_status != "hit")
}

/// Called by finalize, inside its transaction, when a session is verified.
///
/// Finds the identity to refresh — the one the session is already linked to,
/// else one of the same client holding a document with the same type,
/// document number and birth date (case-insensitive, surrounding spaces
/// ignored), unless that identity belongs to another user or to a session
/// this session's duplication checks found (a duplicate document never
/// joins the earlier person's identity) — or creates one. Personal fields come from the document where
/// it has a value, else from the session, else stay as they were; status
/// fields (front given, liveness, OFAC, DMV) from the session where it has
/// an outcome. `verified_at` is set the first time only, `last_verified` to
/// `now`, `score` to `score` when given. Then links the session, its
/// documents and stored files to the identity (`identity_id`) and moves the
/// session's face templates to the identity (`owner_kind` `identity`), so
/// re-authentication compares against them and deleting the session keeps
/// them. A new identity copies the session metadata (JSON and
/// `metadata_entry` rows).
pub async fn upsert_from_verified_session(
    txn: &impl ConnectionTrait,
    session: &idv_session::Model,
    doc: Option<&document::Model>,
    score: Option<f64>,
    now: DateTime<Utc>,
) -> AppResult<identity::Model> {
    let existing = find_match(txn, session, doc).await?;
    let created = existing.is_none();
    let base = existing.unwrap_or_else(|| blank(session, now));
    let merged = merge(base, session, doc, score, now);
    let active = merged.into_active_model().reset_all();
    let identity = if created { active.insert(txn).await? } else { active.update(txn).await? };
    if created {
        if let Some(map) = session.metadata.as_object() {
            metadata::write_entries(txn, &identity.client_id, OWNER_IDENTITY, &identity.id, metadata::json_entries(map)).await?;
        }
    }
    link_session(txn, session, &identity.id).await?;
    Ok(identity)
}

async fn find_match(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    doc: Option<&document::Model>,
) -> AppResult<Option<identity::Model>> {
    if let Some(linked) = &session.identity_id
        && let Some(found) = find_live(db, &session.client_id, linked).await?
    {
        return Ok(Some(found));
    }
    let Some(doc) = doc else { return Ok(None) };
    let (Some(number), Some(birth)) = (normalized(doc.document_number.as_deref()), normalized(doc.birth_date.as_deref()))
    else {
        return Ok(None);
    };
    let same_document = document::Entity::find()
        .filter(document::Column::ClientId.eq(&session.client_id))
        .filter(document::Column::IdentityId.is_not_null())
        .filter(document::Column::Type.eq(doc.r#type.clone()))
        .filter(normalized_eq(document::Column::DocumentNumber, &number))
        .filter(normalized_eq(document::Column::BirthDate, &birth))
        .order_by_desc(document::Column::CreatedAt)
        .all(db)
        .await?;
    let others = other_peoples_identities(db, session).await?;
    for candidate in same_document {
        if let Some(id) = &candidate.identity_id
            && !others.contains(id)
            && let Some(found) = find_live(db, &session.client_id, id).await?
            && !belongs_to_another_user(&found, session)
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Both the identity and the session name a user, and not the same one:
/// the same document under another user is a duplicate, never the same person.
fn belongs_to_another_user(identity: &identity::Model, session: &idv_session::Model) -> bool {
    matches!((&identity.user_id, &session.user_id), (Some(a), Some(b)) if a != b)
}

/// The identities of the sessions this session's `doc_*_online_duplication`
/// checks found the same document image or identity in (this tenant's
/// sessions of another person). A duplicate document never joins them.
async fn other_peoples_identities(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
) -> AppResult<std::collections::BTreeSet<String>> {
    let rows = check_result::Entity::find()
        .filter(check_result::Column::ClientId.eq(&session.client_id))
        .filter(check_result::Column::SessionId.eq(&session.id))
        .filter(check_result::Column::CheckName.is_in(["doc_front_online_duplication", "doc_back_online_duplication"]))
        .all(db)
        .await?;
    let mut sessions: Vec<String> = Vec::new();
    for evidence in rows.iter().filter_map(|r| r.evidence.as_ref()) {
        for part in ["barcode_identity", "image"] {
            if let Some(ids) = evidence[part]["sessions"].as_array() {
                sessions.extend(ids.iter().filter_map(|v| v.as_str().map(str::to_string)));
            }
        }
    }
    if sessions.is_empty() {
        return Ok(Default::default());
    }
    Ok(idv_session::Entity::find()
        .filter(idv_session::Column::ClientId.eq(&session.client_id))
        .filter(idv_session::Column::Id.is_in(sessions))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| s.identity_id)
        .collect())
}

fn normalized(value: Option<&str>) -> Option<String> {
    value.map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty())
}

/// `LOWER(TRIM(column)) = value` (value already normalized).
fn normalized_eq(column: document::Column, value: &str) -> SimpleExpr {
    Func::lower(Func::cust("TRIM").arg(Expr::col(column))).eq(value.to_string())
}

fn blank(session: &idv_session::Model, now: DateTime<Utc>) -> identity::Model {
    identity::Model {
        id: new_id(),
        client_id: session.client_id.clone(),
        user_id: session.user_id.clone(),
        external_id: None,
        first_name: None,
        middle_name: None,
        last_name: None,
        suffix_name: None,
        birth_date: None,
        gender: Gender::Unknown.as_str().to_string(),
        street: None,
        city: None,
        state: None,
        postal_code: None,
        email: None,
        phone: None,
        document_front_given: false,
        document_front_given_at: None,
        liveness_detected: false,
        liveness_detected_at: None,
        ofac_status: "unknown".into(),
        ofac_detected_at: None,
        dmv_status: "unknown".into(),
        dmv_detected_at: None,
        verified: false,
        verified_at: None,
        last_verified: None,
        score: None,
        metadata: session.metadata.clone(),
        latest_idv_session_id: None,
        created_at: now,
        updated_at: now,
        erased_at: None,
    }
}

/// The first value present, in order of preference.
fn first_of(values: [Option<&String>; 3]) -> Option<String> {
    values.into_iter().flatten().find(|v| !v.trim().is_empty()).cloned()
}

/// A status value unless it is `unknown` (the check did not run).
fn known(status: &str) -> Option<&str> {
    (!status.is_empty() && status != "unknown").then_some(status)
}

fn merge(
    mut i: identity::Model,
    s: &idv_session::Model,
    doc: Option<&document::Model>,
    score: Option<f64>,
    now: DateTime<Utc>,
) -> identity::Model {
    let d = |f: fn(&document::Model) -> Option<&String>| doc.and_then(f);
    i.first_name = first_of([d(|d| d.first_name.as_ref()), s.first_name.as_ref(), i.first_name.as_ref()]);
    i.middle_name = first_of([d(|d| d.middle_name.as_ref()), s.middle_name.as_ref(), i.middle_name.as_ref()]);
    i.last_name = first_of([d(|d| d.last_name.as_ref()), s.last_name.as_ref(), i.last_name.as_ref()]);
    i.suffix_name = first_of([d(|d| d.name_suffix.as_ref()), s.suffix_name.as_ref(), i.suffix_name.as_ref()]);
    i.birth_date = first_of([d(|d| d.birth_date.as_ref()), s.birth_date.as_ref(), i.birth_date.as_ref()]);
    i.street = first_of([d(|d| d.street.as_ref()), None, i.street.as_ref()]);
    i.city = first_of([d(|d| d.city.as_ref()), None, i.city.as_ref()]);
    i.state = first_of([d(|d| d.state.as_ref()), None, i.state.as_ref()]);
    i.postal_code = first_of([d(|d| d.postal_code.as_ref()), None, i.postal_code.as_ref()]);
    if let Some(g) = doc.and_then(|d| known(&d.gender)).or_else(|| known(&s.gender)) {
        i.gender = g.to_string();
    }
    if s.document_front_given {
        i.document_front_given = true;
        i.document_front_given_at = s.document_front_given_at.or(i.document_front_given_at);
    }
    if s.liveness_detected {
        i.liveness_detected = true;
        i.liveness_detected_at = s.liveness_detected_at.or(i.liveness_detected_at);
    }
    if let Some(ofac) = known(&s.ofac_status) {
        i.ofac_status = ofac.to_string();
        i.ofac_detected_at = s.ofac_detected_at;
    }
    if let Some(dmv) = known(&s.dmv_status) {
        i.dmv_status = dmv.to_string();
        i.dmv_detected_at = s.dmv_detected_at;
    }
    i.verified = true;
    i.verified_at = i.verified_at.or(Some(now));
    i.last_verified = Some(now);
    i.score = score.or(i.score);
    i.user_id = i.user_id.or_else(|| s.user_id.clone());
    i.latest_idv_session_id = Some(s.id.clone());
    i.updated_at = now;
    i
}


async fn link_session(db: &impl ConnectionTrait, session: &idv_session::Model, identity_id: &str) -> AppResult<()> {
    let (client_id, sid) = (session.client_id.as_str(), session.id.as_str());
    idv_session::Entity::update_many()
        .col_expr(idv_session::Column::IdentityId, Expr::value(identity_id))
        .filter(idv_session::Column::Id.eq(sid))
        .filter(idv_session::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    document::Entity::update_many()
        .col_expr(document::Column::IdentityId, Expr::value(identity_id))
        .filter(document::Column::SessionId.eq(sid))
        .filter(document::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    stored_file::Entity::update_many()
        .col_expr(stored_file::Column::IdentityId, Expr::value(identity_id))
        .filter(stored_file::Column::SessionId.eq(sid))
        .filter(stored_file::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    face_template::Entity::update_many()
        .col_expr(face_template::Column::OwnerKind, Expr::value(OWNER_IDENTITY))
        .col_expr(face_template::Column::OwnerId, Expr::value(identity_id))
        .filter(face_template::Column::OwnerKind.eq(OWNER_IDV_SESSION))
        .filter(face_template::Column::OwnerId.eq(sid))
        .filter(face_template::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    Ok(())
}

/// List filters, already parsed.
#[derive(Debug, Clone, Default)]
pub struct IdentityFilter {
    /// Any of these users (empty: every user).
    pub user_ids: Vec<String>,
    /// Case-insensitive; every word must occur in a name, the identity id,
    /// external id, email, phone or a metadata value.
    pub search_term: Option<String>,
    /// `created_at` bounds, inclusive.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Exact key/value pairs, all required.
    pub metadata: Vec<(String, String)>,
}

/// One page of the live identities of `client_ids` (already authorized),
/// newest first, and the number matching.
pub async fn list(
    db: &impl ConnectionTrait,
    client_ids: &[String],
    filter: &IdentityFilter,
    page: Page,
) -> AppResult<(Vec<identity::Model>, u64)> {
    let query = list_select(client_ids, filter);
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(identity::Column::CreatedAt)
        .order_by_desc(identity::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The filtered, unordered query of [`list`] (also used by GraphQL's sorted connections).
pub fn list_select(client_ids: &[String], filter: &IdentityFilter) -> sea_orm::Select<identity::Entity> {
    let mut query = identity::Entity::find()
        .filter(identity::Column::ClientId.is_in(client_ids.to_vec()))
        .filter(identity::Column::ErasedAt.is_null());
    if !filter.user_ids.is_empty() {
        query = query.filter(identity::Column::UserId.is_in(filter.user_ids.clone()));
    }
    if let Some(start) = filter.start {
        query = query.filter(identity::Column::CreatedAt.gte(start));
    }
    if let Some(end) = filter.end {
        query = query.filter(identity::Column::CreatedAt.lte(end));
    }
    for (key, value) in &filter.metadata {
        query = query.filter(identity::Column::Id.in_subquery(metadata_owners(client_ids, |q| {
            q.and_where(Expr::col(metadata_entry::Column::Key).eq(key.clone()))
                .and_where(Expr::col(metadata_entry::Column::Value).eq(value.clone()));
        })));
    }
    let words: Vec<String> = filter.search_term.as_deref().unwrap_or("").split_whitespace().map(str::to_lowercase).collect();
    for word in words {
        query = query.filter(search_condition(client_ids, &word));
    }
    query
}

/// `SELECT owner_id FROM metadata_entry WHERE owner_kind = 'identity' AND client_id IN (…) AND …`.
fn metadata_owners(client_ids: &[String], more: impl FnOnce(&mut SelectStatement)) -> SelectStatement {
    let mut q = Query::select();
    q.column(metadata_entry::Column::OwnerId)
        .from(metadata_entry::Entity)
        .and_where(Expr::col(metadata_entry::Column::OwnerKind).eq(OWNER_IDENTITY))
        .and_where(Expr::col(metadata_entry::Column::ClientId).is_in(client_ids.to_vec()));
    more(&mut q);
    q
}

fn search_condition(client_ids: &[String], word: &str) -> Condition {
    let pattern = format!("%{}%", escape_like(word));
    let contains = |column: SimpleExpr| Func::lower(column).like(LikeExpr::new(pattern.clone()).escape('\\'));
    let mut any = Condition::any();
    for column in [
        identity::Column::Id,
        identity::Column::FirstName,
        identity::Column::MiddleName,
        identity::Column::LastName,
        identity::Column::SuffixName,
        identity::Column::ExternalId,
        identity::Column::Email,
        identity::Column::Phone,
    ] {
        any = any.add(contains(Expr::col(column).into()));
    }
    let in_metadata = metadata_owners(client_ids, |q| {
        q.and_where(contains(Expr::col(metadata_entry::Column::Value).into()));
    });
    any.add(identity::Column::Id.in_subquery(in_metadata))
}

/// `%`, `_` and the escape character itself match literally.
fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The live identities among `ids` (in that order, unknown ids left out)
/// that also carry every `metadata` pair; with no ids, the newest identities
/// carrying the metadata (at most [`MAX_READ`]). 404 when none matches.
pub async fn read_many(
    db: &impl ConnectionTrait,
    client_id: &str,
    ids: &[String],
    metadata: &[(String, String)],
) -> AppResult<Vec<identity::Model>> {
    if ids.is_empty() && metadata.is_empty() {
        return Err(AppError::validation("identity_id", "give identity_id, identity_ids or metadata"));
    }
    if ids.len() as u64 > MAX_READ {
        return Err(AppError::validation("identity_ids", format!("at most {MAX_READ} ids")));
    }
    let mut query = identity::Entity::find()
        .filter(identity::Column::ClientId.eq(client_id))
        .filter(identity::Column::ErasedAt.is_null());
    if !ids.is_empty() {
        query = query.filter(identity::Column::Id.is_in(ids.to_vec()));
    }
    let clients = [client_id.to_string()];
    for (key, value) in metadata {
        query = query.filter(identity::Column::Id.in_subquery(metadata_owners(&clients, |q| {
            q.and_where(Expr::col(metadata_entry::Column::Key).eq(key.clone()))
                .and_where(Expr::col(metadata_entry::Column::Value).eq(value.clone()));
        })));
    }
    let mut rows = query
        .order_by_desc(identity::Column::CreatedAt)
        .order_by_desc(identity::Column::Id)
        .limit(MAX_READ)
        .all(db)
        .await?;
    if !ids.is_empty() {
        rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    }
    if rows.is_empty() {
        return Err(AppError::not_found("identity"));
    }
    Ok(rows)
}

/// The newest document of `doc_type` linked to the identity; 404 when none.
pub async fn latest_document(
    db: &impl ConnectionTrait,
    client_id: &str,
    identity_id: &str,
    doc_type: DocumentType,
) -> AppResult<document::Model> {
    let identity = get(db, client_id, identity_id).await?;
    document::Entity::find()
        .filter(document::Column::ClientId.eq(client_id))
        .filter(document::Column::IdentityId.eq(identity.id))
        .filter(document::Column::Type.eq(doc_type.as_str()))
        .order_by_desc(document::Column::CreatedAt)
        .order_by_desc(document::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("{doc_type} document")))
}

/// The newest stored file of `file_type` linked to the identity, with its bytes; 404 when none.
pub async fn image(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    client_id: &str,
    identity_id: &str,
    file_type: StorageFileType,
) -> AppResult<Image> {
    let identity = get(db, client_id, identity_id).await?;
    let file = stored_file::Entity::find()
        .filter(stored_file::Column::ClientId.eq(client_id))
        .filter(stored_file::Column::IdentityId.eq(identity.id))
        .filter(stored_file::Column::FileType.eq(file_type.as_str()))
        .order_by_desc(stored_file::Column::CreatedAt)
        .order_by_desc(stored_file::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("{file_type} image")))?;
    let bytes = files::read_bytes(storage, &file).await?;
    Ok(Image { file, bytes })
}

/// What an erasure removed (counts only: this goes into the audit row).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Erased {
    pub stored_files: u64,
    pub face_templates: u64,
    pub documents: u64,
    pub metadata_entries: u64,
    pub capture_locations: u64,
    pub idv_sessions_cleared: u64,
    pub ida_sessions_cleared: u64,
    /// Check results and history events whose free-text detail / evidence was cleared.
    pub checks_scrubbed: u64,
    pub history_events_scrubbed: u64,
    /// Blob keys to delete once the transaction committed (not serialized).
    #[serde(skip)]
    pub blob_keys: Vec<String>,
}

/// Erases an identity's personal data; run in a transaction, then delete
/// `blob_keys` with [`crate::service::documents::delete_blobs`] after the
/// commit. Removes the stored files (identity's and its sessions'), face
/// templates, documents, metadata entries and capture locations of the
/// identity and the sessions linked to it; clears the names and birth date
/// of those sessions and unlinks the IDV ones (IDA sessions cannot exist
/// without their identity and stay linked to the tombstone); clears every
/// personal column of the identity and sets `erased_at`.
pub async fn erase(db: &impl ConnectionTrait, client_id: &str, identity_id: &str, now: DateTime<Utc>) -> AppResult<Erased> {
    let identity = get(db, client_id, identity_id).await?;
    let iid = identity.id.clone();
    let idv_ids: Vec<String> = idv_session::Entity::find()
        .select_only()
        .column(idv_session::Column::Id)
        .filter(idv_session::Column::ClientId.eq(client_id))
        .filter(idv_session::Column::IdentityId.eq(&iid))
        .into_tuple()
        .all(db)
        .await?;
    let ida_ids: Vec<String> = ida_session::Entity::find()
        .select_only()
        .column(ida_session::Column::Id)
        .filter(ida_session::Column::ClientId.eq(client_id))
        .filter(ida_session::Column::IdentityId.eq(&iid))
        .into_tuple()
        .all(db)
        .await?;
    let session_ids: Vec<String> = idv_ids.iter().chain(&ida_ids).cloned().collect();

    let files_of_identity = Condition::all().add(stored_file::Column::ClientId.eq(client_id)).add(
        Condition::any()
            .add(stored_file::Column::IdentityId.eq(&iid))
            .add(stored_file::Column::SessionId.is_in(session_ids.clone())),
    );
    let blob_keys: Vec<String> = stored_file::Entity::find()
        .select_only()
        .column(stored_file::Column::ObjectKey)
        .filter(files_of_identity.clone())
        .into_tuple()
        .all(db)
        .await?;
    let stored_files = stored_file::Entity::delete_many().filter(files_of_identity).exec(db).await?.rows_affected;

    let face_templates = face_template::Entity::delete_many()
        .filter(face_template::Column::ClientId.eq(client_id))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(face_template::Column::OwnerKind.eq(OWNER_IDENTITY))
                        .add(face_template::Column::OwnerId.eq(&iid)),
                )
                .add(
                    Condition::all()
                        .add(face_template::Column::OwnerKind.is_in([OWNER_IDV_SESSION, OWNER_IDA_SESSION]))
                        .add(face_template::Column::OwnerId.is_in(session_ids.clone())),
                ),
        )
        .exec(db)
        .await?
        .rows_affected;
    let documents = document::Entity::delete_many()
        .filter(document::Column::ClientId.eq(client_id))
        .filter(
            Condition::any()
                .add(document::Column::IdentityId.eq(&iid))
                .add(document::Column::SessionId.is_in(idv_ids.clone())),
        )
        .exec(db)
        .await?
        .rows_affected;
    // What the engines read per side, and the duplicate-detection
    // fingerprints derived from the images and the barcode identity.
    document_reading::Entity::delete_many()
        .filter(document_reading::Column::ClientId.eq(client_id))
        .filter(document_reading::Column::SessionId.is_in(idv_ids.clone()))
        .exec(db)
        .await?;
    document_fingerprint::Entity::delete_many()
        .filter(document_fingerprint::Column::ClientId.eq(client_id))
        .filter(document_fingerprint::Column::SessionId.is_in(idv_ids.clone()))
        .exec(db)
        .await?;
    let metadata_entries = metadata_entry::Entity::delete_many()
        .filter(metadata_entry::Column::ClientId.eq(client_id))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(metadata_entry::Column::OwnerKind.eq(OWNER_IDENTITY))
                        .add(metadata_entry::Column::OwnerId.eq(&iid)),
                )
                .add(
                    Condition::all()
                        .add(metadata_entry::Column::OwnerKind.is_in([OWNER_IDV_SESSION, OWNER_IDA_SESSION]))
                        .add(metadata_entry::Column::OwnerId.is_in(session_ids.clone())),
                ),
        )
        .exec(db)
        .await?
        .rows_affected;
    let capture_locations = capture_location::Entity::delete_many()
        .filter(capture_location::Column::ClientId.eq(client_id))
        .filter(capture_location::Column::SessionId.is_in(session_ids.clone()))
        .exec(db)
        .await?
        .rows_affected;

    // Free text written by engines and steps (names read, sanctions hits,
    // metadata echoed into history) goes too; verdicts and scores stay.
    let null_json = || Expr::value(Option::<serde_json::Value>::None);
    let checks_scrubbed = check_result::Entity::update_many()
        .col_expr(check_result::Column::Detail, Expr::value(Option::<String>::None))
        .col_expr(check_result::Column::Evidence, null_json())
        .filter(check_result::Column::ClientId.eq(client_id))
        .filter(check_result::Column::SessionId.is_in(session_ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    let history_events_scrubbed = session_event::Entity::update_many()
        .col_expr(session_event::Column::Detail, null_json())
        .filter(session_event::Column::ClientId.eq(client_id))
        .filter(session_event::Column::SessionId.is_in(session_ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    let attachment_keys = crate::service::review::cases::scrub_free_text(db, client_id, &session_ids, &iid, now).await?;

    let null = || Expr::value(Option::<String>::None);
    let empty = || Expr::value(serde_json::json!({}));
    let idv_sessions_cleared = idv_session::Entity::update_many()
        .col_expr(idv_session::Column::Metadata, empty())
        .col_expr(idv_session::Column::SdkMetadata, empty())
        .col_expr(idv_session::Column::FirstName, null())
        .col_expr(idv_session::Column::MiddleName, null())
        .col_expr(idv_session::Column::LastName, null())
        .col_expr(idv_session::Column::SuffixName, null())
        .col_expr(idv_session::Column::BirthDate, null())
        .col_expr(idv_session::Column::Gender, Expr::value(Gender::Unknown.as_str()))
        .col_expr(idv_session::Column::IdentityId, null())
        .col_expr(idv_session::Column::UpdatedAt, Expr::value(now))
        .filter(idv_session::Column::ClientId.eq(client_id))
        .filter(idv_session::Column::Id.is_in(idv_ids.clone()))
        .exec(db)
        .await?
        .rows_affected;
    // The erased sessions stay findable by their ids only.
    crate::service::session_search::refresh(db, &idv_ids).await?;
    let ida_sessions_cleared = ida_session::Entity::update_many()
        .col_expr(ida_session::Column::Metadata, empty())
        .col_expr(ida_session::Column::SdkMetadata, empty())
        .col_expr(ida_session::Column::FirstName, null())
        .col_expr(ida_session::Column::MiddleName, null())
        .col_expr(ida_session::Column::LastName, null())
        .col_expr(ida_session::Column::SuffixName, null())
        .col_expr(ida_session::Column::UpdatedAt, Expr::value(now))
        .filter(ida_session::Column::ClientId.eq(client_id))
        .filter(ida_session::Column::Id.is_in(ida_ids))
        .exec(db)
        .await?
        .rows_affected;

    let mut tombstone = identity.into_active_model();
    tombstone.external_id = Set(None);
    tombstone.first_name = Set(None);
    tombstone.middle_name = Set(None);
    tombstone.last_name = Set(None);
    tombstone.suffix_name = Set(None);
    tombstone.birth_date = Set(None);
    tombstone.gender = Set(Gender::Unknown.as_str().to_string());
    tombstone.street = Set(None);
    tombstone.city = Set(None);
    tombstone.state = Set(None);
    tombstone.postal_code = Set(None);
    tombstone.email = Set(None);
    tombstone.phone = Set(None);
    tombstone.metadata = Set(serde_json::json!({}));
    tombstone.latest_idv_session_id = Set(None);
    tombstone.verified = Set(false);
    tombstone.erased_at = Set(Some(now));
    tombstone.updated_at = Set(now);
    tombstone.update(db).await?;
    crate::service::outbox::identity_erased(db, client_id, &iid).await?;

    Ok(Erased {
        stored_files,
        face_templates,
        documents,
        metadata_entries,
        capture_locations,
        idv_sessions_cleared,
        ida_sessions_cleared,
        checks_scrubbed,
        history_events_scrubbed,
        blob_keys: blob_keys.into_iter().chain(attachment_keys).collect(),
    })
}
