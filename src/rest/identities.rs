//! Identities: list / read / SDK status / completed document /
//! image, plus erasure.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{ApiCaller, SdkClient};
use crate::error::{AppResult, Problem};
use crate::rest::documents::{ImageBytes, actor, image_response};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::identities::{self, IdentityFilter};
use crate::service::types::{
    DataSource, DmvStatus, DocumentType, Empty, Gender, MetaCounts, OfacStatus, OneOrMany, Page, StorageFileType,
    metadata_value_text, parse_date_bound, validate_metadata,
};
use crate::service::{audit, documents};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(sdk_status))
        .routes(routes!(document))
        .routes(routes!(image))
        .routes(routes!(erase))
}

/// Exact-match metadata filter pairs, validated like stored metadata.
fn metadata_pairs(map: Option<serde_json::Map<String, serde_json::Value>>) -> AppResult<Vec<(String, String)>> {
    let map = map.unwrap_or_default();
    validate_metadata("metadata", &map)?;
    Ok(map.iter().map(|(k, v)| (k.clone(), metadata_value_text(v))).collect())
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityListRequest {
    /// Another client (platform operator keys only); defaults to the caller's client.
    #[serde(default)]
    client_id: Option<OneOrMany>,
    /// Identities of these users only.
    #[serde(default)]
    user_id: Option<OneOrMany>,
    /// Case-insensitive; every word must occur in a name, the identity id,
    /// external id, email, phone or a metadata value.
    #[serde(default)]
    search_term: Option<String>,
    /// Rows per page: default 25, at most 500.
    #[serde(default)]
    take: Option<u64>,
    #[serde(default)]
    skip: Option<u64>,
    /// `created_at` from (RFC 3339, or `YYYY-MM-DD` = start of that day).
    #[serde(default)]
    start_date: Option<String>,
    /// `created_at` until (RFC 3339, or `YYYY-MM-DD` = end of that day).
    #[serde(default)]
    end_date: Option<String>,
    /// Exact metadata key/value pairs, all required.
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityListItem {
    identity_id: String,
    created_at: DateTime<Utc>,
    external_id: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    name_suffix: Option<String>,
    birth_date: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// When the latest verifying session completed.
    completed_at: Option<DateTime<Utc>>,
    document_front_given: bool,
    document_front_given_at: Option<DateTime<Utc>>,
    liveness_detected: bool,
    liveness_detected_at: Option<DateTime<Utc>>,
    ofac_status_e: OfacStatus,
    ofac_detected_at: Option<DateTime<Utc>>,
    dmv_status_e: DmvStatus,
    dmv_detected_at: Option<DateTime<Utc>>,
    verified: bool,
    verified_at: Option<DateTime<Utc>>,
    last_verified: Option<DateTime<Utc>>,
    /// The latest verifying session's score (0..1).
    identity_score: Option<f64>,
}

impl From<entity::identity::Model> for IdentityListItem {
    fn from(i: entity::identity::Model) -> Self {
        Self {
            identity_id: i.id,
            created_at: i.created_at,
            external_id: i.external_id,
            first_name: i.first_name,
            middle_name: i.middle_name,
            last_name: i.last_name,
            name_suffix: i.suffix_name,
            birth_date: i.birth_date,
            email: i.email,
            phone: i.phone,
            completed_at: i.last_verified,
            document_front_given: i.document_front_given,
            document_front_given_at: i.document_front_given_at,
            liveness_detected: i.liveness_detected,
            liveness_detected_at: i.liveness_detected_at,
            ofac_status_e: OfacStatus::from_db(&i.ofac_status),
            ofac_detected_at: i.ofac_detected_at,
            dmv_status_e: DmvStatus::from_db(&i.dmv_status),
            dmv_detected_at: i.dmv_detected_at,
            verified: i.verified,
            verified_at: i.verified_at,
            last_verified: i.last_verified,
            identity_score: i.score,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IdentityList {
    identities: Vec<IdentityListItem>,
    meta_counts: MetaCounts,
}

/// Lists a client's identities, newest first. Erased identities are not listed.
#[utoipa::path(post, path = "/api/v1/identity/list", tag = "identities", request_body = IdentityListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = IdentityList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdentityListRequest>,
) -> AppResult<Json<IdentityList>> {
    let page = Page::new(body.take, body.skip)?;
    let filter = IdentityFilter {
        user_ids: body.user_id.map(OneOrMany::into_vec).unwrap_or_default(),
        search_term: body.search_term,
        start: parse_date_bound("start_date", body.start_date.as_deref(), false)?,
        end: parse_date_bound("end_date", body.end_date.as_deref(), true)?,
        metadata: metadata_pairs(body.metadata)?,
    };
    let clients = crate::rest::idv::list_clients(&state, &caller, body.client_id).await?;
    let (rows, total) = identities::list(&state.db, &clients, &filter, page).await?;
    let meta_counts = MetaCounts::new(page, rows.len(), total);
    Ok(Json(IdentityList { identities: rows.into_iter().map(IdentityListItem::from).collect(), meta_counts }))
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityReadRequest {
    #[serde(default)]
    identity_id: Option<OneOrMany>,
    #[serde(default)]
    identity_ids: Option<Vec<String>>,
    /// Exact metadata key/value pairs every returned identity carries.
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityItem {
    identity_id: String,
    created_at: DateTime<Utc>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    birth_date: Option<String>,
    gender_e: Gender,
    street: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    document_front_given: bool,
    document_front_given_at: Option<DateTime<Utc>>,
    verified: bool,
    verified_at: Option<DateTime<Utc>>,
    liveness_detected: bool,
    liveness_detected_at: Option<DateTime<Utc>>,
    ofac_status_e: OfacStatus,
    ofac_detected_at: Option<DateTime<Utc>>,
    dmv_status_e: DmvStatus,
    dmv_detected_at: Option<DateTime<Utc>>,
    score: Option<f64>,
}

impl From<entity::identity::Model> for IdentityItem {
    fn from(i: entity::identity::Model) -> Self {
        Self {
            identity_id: i.id,
            created_at: i.created_at,
            first_name: i.first_name,
            middle_name: i.middle_name,
            last_name: i.last_name,
            suffix_name: i.suffix_name,
            birth_date: i.birth_date,
            gender_e: Gender::from_db(&i.gender),
            street: i.street,
            city: i.city,
            state: i.state,
            postal_code: i.postal_code,
            document_front_given: i.document_front_given,
            document_front_given_at: i.document_front_given_at,
            verified: i.verified,
            verified_at: i.verified_at,
            liveness_detected: i.liveness_detected,
            liveness_detected_at: i.liveness_detected_at,
            ofac_status_e: OfacStatus::from_db(&i.ofac_status),
            ofac_detected_at: i.ofac_detected_at,
            dmv_status_e: DmvStatus::from_db(&i.dmv_status),
            dmv_detected_at: i.dmv_detected_at,
            score: i.score,
        }
    }
}

/// Every identity found, and the first one's fields again at the top level (the documented shape).
#[derive(Serialize, ToSchema)]
pub struct IdentityRead {
    identities: Vec<IdentityItem>,
    #[serde(flatten)]
    first: IdentityItem,
}

/// Reads identities by id (`identity_id`, one or many, and `identity_ids`),
/// optionally narrowed by exact metadata; with metadata only, the newest
/// identities carrying it (at most 500). Unknown ids are left out; 404 when
/// nothing is found.
#[utoipa::path(post, path = "/api/v1/identity/read", tag = "identities", request_body = IdentityReadRequest,
    security(("bearer" = [])),
    responses((status = 200, body = IdentityRead),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn read(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdentityReadRequest>,
) -> AppResult<Json<IdentityRead>> {
    let mut ids = body.identity_id.map(OneOrMany::into_vec).unwrap_or_default();
    crate::service::types::check_id_list("identity_ids", body.identity_ids.as_deref().unwrap_or_default())?;
    for id in body.identity_ids.unwrap_or_default().into_iter().filter(|id| !id.is_empty()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let metadata = metadata_pairs(body.metadata)?;
    let rows = identities::read_many(&state.db, &caller.client_id, &ids, &metadata).await?;
    let first = IdentityItem::from(rows[0].clone());
    Ok(Json(IdentityRead { identities: rows.into_iter().map(IdentityItem::from).collect(), first }))
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityId {
    identity_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityStatus {
    verified: bool,
}

/// Whether an identity of the SDK's client is verified: `false` once it was
/// erased or found on a sanctions list by a later screening.
#[utoipa::path(post, path = "/api/v1/sdk/identity/status", tag = "identities", request_body = IdentityId,
    security(("sdk_client" = [])),
    responses((status = 200, body = IdentityStatus),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn sdk_status(
    State(state): State<AppState>,
    sdk: SdkClient,
    AppJson(body): AppJson<IdentityId>,
) -> AppResult<Json<IdentityStatus>> {
    let verified = identities::sdk_verified(&state.db, &sdk.client_id, &body.identity_id).await?;
    Ok(Json(IdentityStatus { verified }))
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityDocumentRequest {
    identity_id: String,
    #[schema(value_type = crate::service::types::DocumentType)]
    document_type_e: String,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityDocument {
    document_id: String,
    document_type_e: DocumentType,
    document_data_source_e: DataSource,
    document_number: Option<String>,
    issue_date: Option<String>,
    expiration_date: Option<String>,
    ref_number: Option<String>,
    issuing_country: Option<String>,
    issuing_state: Option<String>,
    birth_date: Option<String>,
    gender_e: Gender,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    suffix_name: Option<String>,
    street: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    height: Option<String>,
    weight: Option<String>,
    eye_color: Option<String>,
    hair_color: Option<String>,
}

impl From<entity::document::Model> for IdentityDocument {
    fn from(d: entity::document::Model) -> Self {
        Self {
            document_id: d.id,
            document_type_e: DocumentType::from_db(&d.r#type),
            document_data_source_e: DataSource::from_db(&d.data_source),
            document_number: d.document_number,
            issue_date: d.issued_at,
            expiration_date: d.expires_at,
            ref_number: d.ref_number,
            issuing_country: d.issuing_country,
            issuing_state: d.issuing_state,
            birth_date: d.birth_date,
            gender_e: Gender::from_db(&d.gender),
            first_name: d.first_name,
            middle_name: d.middle_name,
            last_name: d.last_name,
            suffix_name: d.name_suffix,
            street: d.street,
            city: d.city,
            state: d.state,
            postal_code: d.postal_code,
            height: d.height,
            weight: d.weight,
            eye_color: d.eye_color,
            hair_color: d.hair_color,
        }
    }
}

/// The newest document of that type from the identity's verified sessions.
#[utoipa::path(post, path = "/api/v1/identity/document", tag = "identities", request_body = IdentityDocumentRequest,
    security(("bearer" = [])),
    responses((status = 200, body = IdentityDocument),
        (status = 400, description = "unknown document_type_e", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown identity, or no document of that type", body = Problem,
            content_type = "application/problem+json")))]
async fn document(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<IdentityDocumentRequest>,
) -> AppResult<Json<IdentityDocument>> {
    let doc_type = DocumentType::parse_field("document_type_e", &body.document_type_e)?;
    let doc = identities::latest_document(&state.db, &caller.client_id, &body.identity_id, doc_type).await?;
    Ok(Json(doc.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct IdentityImageRequest {
    identity_id: String,
    #[schema(value_type = crate::service::types::StorageFileType)]
    storage_file_type_e: String,
}

/// The newest stored image of that type from the identity's sessions, as
/// its original bytes. Every read is audited.
#[utoipa::path(post, path = "/api/v1/identity/image", tag = "identities", request_body = IdentityImageRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "the image bytes; `Cache-Control: no-store`",
            content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"))),
        (status = 400, description = "unknown storage_file_type_e", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown identity, or no image of that type", body = Problem,
            content_type = "application/problem+json")))]
async fn image(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<IdentityImageRequest>,
) -> AppResult<Response> {
    let file_type = StorageFileType::parse_field("storage_file_type_e", &body.storage_file_type_e)?;
    let image = identities::image(&state.db, &state.storage, &caller.client_id, &body.identity_id, file_type).await?;
    let detail = serde_json::json!({ "identity_id": body.identity_id, "storage_file_type_e": file_type });
    audit::record(&state.db, &actor(&caller), "identity.image.read", Some(("stored_file", &image.file.id)), ip, Some(detail))
        .await?;
    Ok(image_response(image))
}

/// Erases an identity: its images (and those of its sessions), face
/// templates, documents, metadata and capture locations are deleted; the
/// names and birth date of its sessions are cleared and IDV sessions
/// unlinked. The identity row stays as a tombstone without personal data
/// (IDA sessions keep pointing at it); afterwards every endpoint answers
/// 404 for it. Audited as `identity.erase` with counts only.
#[utoipa::path(post, path = "/api/v1/identity/delete", tag = "identities", request_body = IdentityId,
    security(("bearer" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn erase(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<IdentityId>,
) -> AppResult<Json<Empty>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let erased = identities::erase(&txn, &caller.client_id, &body.identity_id, Utc::now()).await?;
    let detail = serde_json::to_value(&erased).ok();
    audit::record(&txn, &actor(&caller), "identity.erase", Some(("identity", &body.identity_id)), ip, detail).await?;
    txn.commit().await?;
    documents::delete_blobs(&state.storage, &erased.blob_keys).await;
    Ok(Json(Empty {}))
}
