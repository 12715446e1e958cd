//! IDV session documents, images and test results (the document
//! read / list / download and session test read), plus session deletion.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::error::{AppResult, Problem};
use crate::rest::extract::{AppJson, ClientIp};
use crate::service::checks::names;
use crate::service::documents::{self, CheckDetail, Image, SessionTests};
use crate::service::types::{DataSource, DocumentType, Empty, Gender, MetaCounts, Page, StorageFileType};
use crate::service::{audit, types};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read))
        .routes(routes!(list))
        .routes(routes!(download))
        .routes(routes!(tests))
        .routes(routes!(delete_session))
}

pub(crate) fn actor(caller: &ApiCaller) -> audit::Actor {
    audit::Actor::ApiKey { client_id: caller.client_id.clone(), key_id: caller.key_id.clone() }
}

#[derive(Deserialize, ToSchema)]
pub struct SessionId {
    session_id: String,
}

/// A document as read from the images (dates as printed on the document).
#[derive(Serialize, ToSchema)]
pub struct DocumentItem {
    document_id: String,
    type_e: DocumentType,
    data_source_e: DataSource,
    document_number: Option<String>,
    ref_number: Option<String>,
    issued_at: Option<String>,
    expires_at: Option<String>,
    issuing_country: Option<String>,
    issuing_state: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    name_suffix: Option<String>,
    street: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    birth_date: Option<String>,
    gender_e: Gender,
    height: Option<String>,
    weight: Option<String>,
    eye_color: Option<String>,
    hair_color: Option<String>,
    class: Option<String>,
    restrictions: Option<String>,
}

impl From<entity::document::Model> for DocumentItem {
    fn from(d: entity::document::Model) -> Self {
        Self {
            document_id: d.id,
            type_e: DocumentType::from_db(&d.r#type),
            data_source_e: DataSource::from_db(&d.data_source),
            document_number: d.document_number,
            ref_number: d.ref_number,
            issued_at: d.issued_at,
            expires_at: d.expires_at,
            issuing_country: d.issuing_country,
            issuing_state: d.issuing_state,
            first_name: d.first_name,
            middle_name: d.middle_name,
            last_name: d.last_name,
            name_suffix: d.name_suffix,
            street: d.street,
            city: d.city,
            state: d.state,
            postal_code: d.postal_code,
            birth_date: d.birth_date,
            gender_e: Gender::from_db(&d.gender),
            height: d.height,
            weight: d.weight,
            eye_color: d.eye_color,
            hair_color: d.hair_color,
            class: d.doc_class,
            restrictions: d.restrictions,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DocumentRead {
    session_id: String,
    #[serde(flatten)]
    document: DocumentItem,
}

/// The session's current document: the latest one read for the declared document type.
#[utoipa::path(post, path = "/api/v1/idv/document/read", tag = "idv documents", request_body = SessionId,
    security(("bearer" = [])),
    responses((status = 200, body = DocumentRead),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session, or no document read yet", body = Problem,
            content_type = "application/problem+json")))]
async fn read(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<SessionId>,
) -> AppResult<Json<DocumentRead>> {
    let doc = documents::current(&state.db, &caller.client_id, &body.session_id).await?;
    Ok(Json(DocumentRead { session_id: doc.session_id.clone(), document: doc.into() }))
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentListRequest {
    /// Rows per page: default 25, at most 500.
    #[serde(default)]
    take: Option<u64>,
    #[serde(default)]
    skip: Option<u64>,
    session_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    documents: Vec<DocumentItem>,
    meta_counts: MetaCounts,
}

/// Every document read in the session (current and superseded), newest first.
#[utoipa::path(post, path = "/api/v1/idv/document/list", tag = "idv documents", request_body = DocumentListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = DocumentList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session", body = Problem, content_type = "application/problem+json")))]
async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<DocumentListRequest>,
) -> AppResult<Json<DocumentList>> {
    let page = Page::new(body.take, body.skip)?;
    let (rows, total) = documents::list(&state.db, &caller.client_id, &body.session_id, page).await?;
    let meta_counts = MetaCounts::new(page, rows.len(), total);
    Ok(Json(DocumentList { documents: rows.into_iter().map(DocumentItem::from).collect(), meta_counts }))
}

#[derive(Deserialize, ToSchema)]
pub struct DocumentDownload {
    session_id: String,
    #[schema(value_type = crate::service::types::StorageFileType)]
    storage_file_type_e: String,
}

/// Raw image bytes in the OpenAPI document (`string`, `format: binary`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageBytes(#[allow(dead_code)] Vec<u8>);

/// Image bytes as a never-cached attachment: an upload that is also HTML
/// (a polyglot) is never opened as a page (`<img>` still shows it).
pub(crate) fn image_response(image: Image) -> Response {
    let content_type = HeaderValue::from_str(&image.file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", image.file_name()))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        image.bytes,
    )
        .into_response()
}

/// The newest stored image of `storage_file_type_e` in the session, as its
/// original bytes (`image/jpeg` or `image/png`). Every download is audited.
#[utoipa::path(post, path = "/api/v1/idv/document/download", tag = "idv documents", request_body = DocumentDownload,
    security(("bearer" = [])),
    responses((status = 200, description = "the image bytes; `Cache-Control: no-store`",
            content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"))),
        (status = 400, description = "unknown storage_file_type_e", body = Problem,
            content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session, or no image of that type", body = Problem,
            content_type = "application/problem+json")))]
async fn download(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<DocumentDownload>,
) -> AppResult<Response> {
    let file_type = StorageFileType::parse_field("storage_file_type_e", &body.storage_file_type_e)?;
    let image = documents::image(&state.db, &state.storage, &caller.client_id, &body.session_id, file_type).await?;
    let detail = serde_json::json!({ "session_id": image.file.session_id, "storage_file_type_e": file_type });
    audit::record(&state.db, &actor(&caller), "document.download", Some(("stored_file", &image.file.id)), ip, Some(detail))
        .await?;
    Ok(image_response(image))
}

/// The session's test results. `doc_*`: `pass`, `fail` or `unavailable`
/// (null when the check has not run); `dmv_*_match`: the DMV's per-field
/// answers (null when it gave none); `*_crosscheck`: pass → true,
/// fail → false, otherwise null. `details` (an addition to the documented body) has every
/// recorded check with its score and the reason it passed, failed or was
/// unavailable.
#[derive(Serialize, ToSchema)]
pub struct SessionTestsView {
    doc_front_image_manipulation: Option<types::CheckStatus>,
    doc_front_is_identity_document: Option<types::CheckStatus>,
    doc_front_online_duplication: Option<types::CheckStatus>,
    doc_front_suspicious_words: Option<types::CheckStatus>,
    doc_back_image_manipulation: Option<types::CheckStatus>,
    doc_back_is_identity_document: Option<types::CheckStatus>,
    doc_back_online_duplication: Option<types::CheckStatus>,
    doc_back_suspicious_words: Option<types::CheckStatus>,
    dmv_document_number_match: Option<bool>,
    dmv_document_expiration_match: Option<bool>,
    dmv_document_issue_match: Option<bool>,
    dmv_document_category_match: Option<bool>,
    dmv_birth_date_match: Option<bool>,
    dmv_sex_match: Option<bool>,
    dmv_eye_color_match: Option<bool>,
    dmv_height_match: Option<bool>,
    dmv_weight_match: Option<bool>,
    dmv_first_name_match: Option<bool>,
    dmv_middle_name_match: Option<bool>,
    dmv_last_name_match: Option<bool>,
    dmv_suffix_name_match: Option<bool>,
    dmv_street_match: Option<bool>,
    dmv_city_match: Option<bool>,
    dmv_state_match: Option<bool>,
    dmv_postal_code_match: Option<bool>,
    document_number_crosscheck: Option<bool>,
    name_crosscheck: Option<bool>,
    address_crosscheck: Option<bool>,
    details: BTreeMap<String, CheckDetail>,
}

impl From<SessionTests> for SessionTestsView {
    fn from(t: SessionTests) -> Self {
        let dmv = |field: &str| t.dmv_field(field);
        Self {
            doc_front_image_manipulation: t.outcome(names::DOC_FRONT_IMAGE_MANIPULATION),
            doc_front_is_identity_document: t.outcome(names::DOC_FRONT_IS_IDENTITY_DOCUMENT),
            doc_front_online_duplication: t.outcome(names::DOC_FRONT_ONLINE_DUPLICATION),
            doc_front_suspicious_words: t.outcome(names::DOC_FRONT_SUSPICIOUS_WORDS),
            doc_back_image_manipulation: t.outcome(names::DOC_BACK_IMAGE_MANIPULATION),
            doc_back_is_identity_document: t.outcome(names::DOC_BACK_IS_IDENTITY_DOCUMENT),
            doc_back_online_duplication: t.outcome(names::DOC_BACK_ONLINE_DUPLICATION),
            doc_back_suspicious_words: t.outcome(names::DOC_BACK_SUSPICIOUS_WORDS),
            dmv_document_number_match: dmv("document_number_match"),
            dmv_document_expiration_match: dmv("document_expiration_match"),
            dmv_document_issue_match: dmv("document_issue_match"),
            dmv_document_category_match: dmv("document_category_match"),
            dmv_birth_date_match: dmv("birth_date_match"),
            dmv_sex_match: dmv("sex_match"),
            dmv_eye_color_match: dmv("eye_color_match"),
            dmv_height_match: dmv("height_match"),
            dmv_weight_match: dmv("weight_match"),
            dmv_first_name_match: dmv("first_name_match"),
            dmv_middle_name_match: dmv("middle_name_match"),
            dmv_last_name_match: dmv("last_name_match"),
            dmv_suffix_name_match: dmv("suffix_name_match"),
            dmv_street_match: dmv("street_match"),
            dmv_city_match: dmv("city_match"),
            dmv_state_match: dmv("state_match"),
            dmv_postal_code_match: dmv("postal_code_match"),
            document_number_crosscheck: t.passed(names::DOCUMENT_NUMBER_CROSSCHECK),
            name_crosscheck: t.passed(names::NAME_CROSSCHECK),
            address_crosscheck: t.passed(names::ADDRESS_CROSSCHECK),
            details: t.details(),
        }
    }
}

/// The session's document, DMV and cross-check results.
#[utoipa::path(post, path = "/api/v1/idv/session/tests", tag = "idv documents", request_body = SessionId,
    security(("bearer" = [])),
    responses((status = 200, body = SessionTestsView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session", body = Problem, content_type = "application/problem+json")))]
async fn tests(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<SessionId>,
) -> AppResult<Json<SessionTestsView>> {
    Ok(Json(documents::tests(&state.db, &caller.client_id, &body.session_id).await?.into()))
}

/// Deletes the session and everything it holds: stored images (rows, then
/// the encrypted blobs after the commit), documents, check results,
/// history, capture locations, metadata, queued jobs and face templates.
/// An identity the session verified is kept, with the face templates it
/// took over. Its review cases and their decisions are kept as the audit
/// record, unlinked from the session and without personal data (notes'
/// text, decision notes, attachments); they read
/// `subject_removed_e: session_deleted`. Audited as `idv_session.delete`
/// with counts only.
#[utoipa::path(post, path = "/api/v1/idv/session/delete", tag = "idv documents", request_body = SessionId,
    security(("bearer" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown session", body = Problem, content_type = "application/problem+json")))]
async fn delete_session(
    State(state): State<AppState>,
    caller: ApiCaller,
    ClientIp(ip): ClientIp,
    AppJson(body): AppJson<SessionId>,
) -> AppResult<Json<Empty>> {
    let txn = crate::db::begin_write(&state.db).await?;
    let deleted = documents::delete_session(&txn, &caller.client_id, &body.session_id).await?;
    let detail = serde_json::to_value(&deleted).ok();
    audit::record(&txn, &actor(&caller), "idv_session.delete", Some(("idv_session", &body.session_id)), ip, detail)
        .await?;
    txn.commit().await?;
    documents::delete_blobs(&state.storage, &deleted.blob_keys).await;
    Ok(Json(Empty {}))
}
