//! Files attached to case notes: a screenshot, a photo or a PDF an analyst
//! keeps with a note. At most [`MAX_ATTACHMENT_BYTES`]; the type is sniffed
//! from the bytes (PNG, JPEG, PDF) and must agree with the declared one;
//! images must decode, a PDF must end with its `%%EOF` marker. The bytes
//! are an encrypted blob (like every stored file, [`crate::storage`]),
//! written before the row commits; downloads are scoped to the case's
//! client and audited. Erasing the identity or deleting the session of a
//! case deletes its attachments.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{review_attachment, review_note};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::ReviewActor;
use super::cases::find_in_scope as find_case;
use crate::error::{AppError, AppResult, FieldError};
use crate::ids::{new_id, sha256_hex};
use crate::service::audit;
use crate::service::tenancy::Scope;
use crate::storage::BlobStore;

/// Largest attachment: 5 MB.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// Most attachments on one note.
pub const MAX_PER_NOTE: u64 = 10;
const MAX_FILE_NAME_CHARS: usize = 200;

/// The content types an attachment may have.
pub const ALLOWED_TYPES: &[&str] = &["image/png", "image/jpeg", "application/pdf"];

/// The type the bytes are, by their magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    crate::service::files::sniff(bytes).map(|f| f.content_type())
}

/// A file name safe to show and to put in a `Content-Disposition`: the last
/// path component, no control characters, at most 200 characters.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control() && *c != '"').take(MAX_FILE_NAME_CHARS).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() { "attachment".to_string() } else { cleaned }
}

/// An upload that passed every check.
#[derive(Debug, Clone)]
pub struct CheckedFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

fn unprocessable(field: &str, message: &str) -> AppError {
    AppError::Unprocessable { detail: format!("{field}: {message}"), errors: vec![FieldError::new(field, message)] }
}

/// Checks an upload: 400 when empty, 413 over 5 MB, 415 when the bytes are
/// not PNG, JPEG or PDF or are not what `declared` says, 422 when an image
/// does not decode or a PDF is cut short. CPU-bound for images: runs the
/// decode on the blocking pool.
pub async fn check(field: &str, file_name: &str, declared: Option<&str>, bytes: Vec<u8>) -> AppResult<CheckedFile> {
    if bytes.is_empty() {
        return Err(AppError::validation(field, "the file is empty"));
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(AppError::too_large_field(field, "attachments are limited to 5 MB"));
    }
    let Some(sniffed) = sniff(&bytes) else {
        return Err(AppError::unsupported_media_field(field, "only PNG, JPEG and PDF files can be attached"));
    };
    let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).filter(|d| !d.is_empty());
    if let Some(d) = declared.as_deref()
        && d != "application/octet-stream"
        && d != sniffed
        && !(d == "image/jpg" && sniffed == "image/jpeg")
    {
        return Err(AppError::unsupported_media_field(field, format!("declared as {d} but the content is {sniffed}")));
    }
    let bytes = if sniffed == "application/pdf" {
        let tail = &bytes[bytes.len().saturating_sub(1024)..];
        if !tail.windows(5).any(|w| w == b"%%EOF") {
            return Err(unprocessable(field, "the PDF is truncated (no %%EOF marker)"));
        }
        bytes
    } else {
        crate::service::files::validate_image_async(field, bytes).await?.bytes
    };
    Ok(CheckedFile { file_name: clean_file_name(file_name), content_type: sniffed, bytes })
}

/// The note `note_id` of the case, 404 when the case has no such note.
async fn note_of_case(db: &impl ConnectionTrait, client_id: &str, case_id: &str, note_id: &str) -> AppResult<review_note::Model> {
    review_note::Entity::find_by_id(note_id.to_string())
        .filter(review_note::Column::ClientId.eq(client_id))
        .filter(review_note::Column::CaseId.eq(case_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("review note"))
}

/// Attaches a checked file to a note of a case the scope may read. The
/// encrypted blob is written (durably) before the row commits; a failed
/// commit leaves a blob the orphan sweep removes.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    db: &DatabaseConnection,
    storage: &BlobStore,
    scope: &Scope,
    case_id: &str,
    note_id: &str,
    file: CheckedFile,
    actor: &ReviewActor,
    now: DateTime<Utc>,
) -> AppResult<review_attachment::Model> {
    let case = find_case(db, scope, case_id).await?;
    let note = note_of_case(db, &case.client_id, &case.id, note_id).await?;
    if case.subject_removed.is_some() {
        return Err(AppError::Conflict("the case's subject was removed; nothing can be attached to it any more".into()));
    }
    let count = review_attachment::Entity::find().filter(review_attachment::Column::NoteId.eq(&note.id)).count(db).await?;
    if count >= MAX_PER_NOTE {
        return Err(AppError::Conflict(format!("a note carries at most {MAX_PER_NOTE} attachments")));
    }
    let id = new_id();
    let object_key = format!("clients/{}/review/{}/{}", case.client_id, case.id, id);
    storage.put(&object_key, &file.bytes).await.map_err(AppError::Internal)?;
    let txn = crate::db::begin_write(db).await?;
    review_attachment::Entity::insert(review_attachment::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(case.client_id.clone()),
        case_id: Set(case.id.clone()),
        note_id: Set(note.id.clone()),
        file_name: Set(file.file_name.clone()),
        content_type: Set(file.content_type.to_string()),
        byte_size: Set(file.bytes.len() as i64),
        sha256: Set(sha256_hex(&file.bytes)),
        object_key: Set(object_key),
        author_kind: Set(actor.kind.to_string()),
        author_id: Set(actor.id.clone()),
        created_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let detail = serde_json::json!({ "attachment_id": id, "note_id": note.id, "content_type": file.content_type, "byte_size": file.bytes.len() });
    audit::record(&txn, &actor.actor, "review_case.attachment.add", Some(("review_case", &case.id)), actor.ip.clone(), Some(detail)).await?;
    txn.commit().await?;
    review_attachment::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::internal("attachment vanished"))
}

/// An attachment the scope may read; 404 otherwise (also another client's).
pub async fn find_in_scope(db: &impl ConnectionTrait, scope: &Scope, id: &str) -> AppResult<review_attachment::Model> {
    let row = review_attachment::Entity::find_by_id(id.to_string()).one(db).await?;
    scope.visible(row, |a| &a.client_id, "review attachment")
}

/// Reads an attachment's bytes (decrypted) and audits the download.
pub async fn download(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    scope: &Scope,
    id: &str,
    actor: &audit::Actor,
    ip: Option<String>,
) -> AppResult<(review_attachment::Model, Vec<u8>)> {
    let att = find_in_scope(db, scope, id).await?;
    let bytes = storage
        .get(&att.object_key)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| AppError::internal(format!("blob {} missing for review attachment {}", att.object_key, att.id)))?;
    let detail = serde_json::json!({ "attachment_id": att.id, "note_id": att.note_id });
    audit::record(db, actor, "review_case.attachment.download", Some(("review_case", &att.case_id)), ip, Some(detail)).await?;
    Ok((att, bytes))
}

/// The attachments of notes (oldest first), keyed by note id.
pub async fn by_notes(
    db: &impl ConnectionTrait,
    scope: &Scope,
    note_ids: &[String],
) -> AppResult<HashMap<String, Vec<review_attachment::Model>>> {
    let rows = review_attachment::Entity::find()
        .filter(review_attachment::Column::NoteId.is_in(note_ids.to_vec()))
        .filter(scope.condition(review_attachment::Column::ClientId))
        .order_by_asc(review_attachment::Column::CreatedAt)
        .order_by_asc(review_attachment::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<String, Vec<review_attachment::Model>> = HashMap::new();
    for r in rows {
        out.entry(r.note_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// Deletes the attachment rows of cases; returns their blob keys, to delete
/// once the transaction committed.
pub async fn delete_for_cases(db: &impl ConnectionTrait, case_ids: &[String]) -> AppResult<Vec<String>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = review_attachment::Entity::find()
        .select_only()
        .column(review_attachment::Column::ObjectKey)
        .filter(review_attachment::Column::CaseId.is_in(case_ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    review_attachment::Entity::delete_many().filter(review_attachment::Column::CaseId.is_in(case_ids.to_vec())).exec(db).await?;
    Ok(keys)
}

/// Which of `keys` name an attachment (for the orphan blob sweep).
pub async fn known_keys(db: &impl ConnectionTrait, keys: &[String]) -> AppResult<Vec<String>> {
    Ok(review_attachment::Entity::find()
        .select_only()
        .column(review_attachment::Column::ObjectKey)
        .filter(review_attachment::Column::ObjectKey.is_in(keys.to_vec()))
        .into_tuple()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\x\\shot.png"), "shot.png");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\r\nb\".pdf"), "ab.pdf");
        assert_eq!(clean_file_name("  "), "attachment");
        assert_eq!(clean_file_name(&"x".repeat(300)).len(), 200);
    }

    #[tokio::test]
    async fn types_are_sniffed_and_must_agree_with_the_declared_one() {
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        assert_eq!(check("file", "a.pdf", Some("application/pdf"), pdf.clone()).await.unwrap().content_type, "application/pdf");
        assert_eq!(check("file", "a.pdf", Some("image/png"), pdf.clone()).await.unwrap_err().status().as_u16(), 415);
        assert_eq!(check("file", "a.pdf", None, pdf[..20].to_vec()).await.unwrap_err().status().as_u16(), 422);
        assert_eq!(check("file", "a.exe", None, b"MZ\x90\x00".to_vec()).await.unwrap_err().status().as_u16(), 415);
        assert_eq!(check("file", "a", None, vec![]).await.unwrap_err().status().as_u16(), 400);
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_ATTACHMENT_BYTES + 1, b' ');
        assert_eq!(check("file", "a", None, big).await.unwrap_err().status().as_u16(), 413);
    }
}
