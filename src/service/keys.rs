//! Master key rotation. Everything the master key protects is listed here:
//! the data key of every image blob (wrapped in the blob's header, its key id
//! also recorded in `stored_file.master_key_id`) and the sealed columns
//! (webhook secrets and their previous secrets, face templates, stored
//! idempotent responses, clients' Azure liveness keys).
//!
//! [`rotate`] re-wraps each value still under another key with the current
//! one. Only the wrapped data key changes: image bytes are not decrypted and
//! a blob is written back with the same ciphertext behind a new header. It
//! works in batches, is safe to kill and re-run (values already under the
//! current key are skipped) and safe beside running servers: a column is
//! only replaced when it still holds the value that was re-wrapped, and a
//! blob whose file row disappeared meanwhile (erasure) is deleted again.
//! Blobs no file row names (review attachments, an upload whose row is not
//! committed yet) are found by listing the store and re-wrapped the same way.
//! [`status`] counts the values under each key, so an operator knows when a
//! previous key can be removed.

use base64::Engine;
use entity::{client, face_template, idempotency_key, stored_file, webhook};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{AppError, AppResult};
use crate::service::{faces, liveness, webhooks};
use crate::storage::{BlobStore, MasterKey, Rewrap, SealedBy};

/// The associated data a stored idempotent response is sealed with.
pub fn idempotency_context(claim_id: &str) -> Vec<u8> {
    format!("idempotency:{claim_id}").into_bytes()
}

/// A kind of value the master key protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protected {
    ImageBlobs,
    /// Blobs no `stored_file` row names (review attachments, uploads whose
    /// row is not committed yet): found by listing the store.
    OtherBlobs,
    WebhookSecrets,
    PreviousWebhookSecrets,
    FaceTemplates,
    IdempotentResponses,
    AzureLivenessKeys,
}

impl Protected {
    pub const ALL: [Protected; 7] = [
        Protected::ImageBlobs,
        Protected::OtherBlobs,
        Protected::WebhookSecrets,
        Protected::PreviousWebhookSecrets,
        Protected::FaceTemplates,
        Protected::IdempotentResponses,
        Protected::AzureLivenessKeys,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Protected::ImageBlobs => "image blobs",
            Protected::OtherBlobs => "other blobs",
            Protected::WebhookSecrets => "webhook secrets",
            Protected::PreviousWebhookSecrets => "previous webhook secrets",
            Protected::FaceTemplates => "face templates",
            Protected::IdempotentResponses => "idempotent responses",
            Protected::AzureLivenessKeys => "Azure liveness keys",
        }
    }
}

/// Under which key a group of values is, as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyState {
    Current(String),
    Previous(String),
    /// A key this process does not hold (or a legacy value none of them opens).
    NotHeld(String),
    /// Blobs written before key ids were recorded: the first rotation reads
    /// their key from the blob itself.
    NotRecorded,
}

impl KeyState {
    fn of(master: &MasterKey, sealed_by: SealedBy) -> Self {
        match sealed_by.key_id() {
            Some(id) => Self::of_id(master, &id.to_string()),
            None => KeyState::NotHeld(sealed_by.to_string()),
        }
    }

    fn of_id(master: &MasterKey, id: &str) -> Self {
        if master.id().to_string() == id {
            KeyState::Current(id.to_string())
        } else if master.previous_ids().iter().any(|p| p.to_string() == id) {
            KeyState::Previous(id.to_string())
        } else {
            KeyState::NotHeld(id.to_string())
        }
    }

    pub fn is_current(&self) -> bool {
        matches!(self, KeyState::Current(_))
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyState::Current(id) => write!(f, "{id} (current)"),
            KeyState::Previous(id) => write!(f, "{id} (previous)"),
            KeyState::NotHeld(id) => write!(f, "{id} (not held by this process)"),
            KeyState::NotRecorded => f.write_str("key id not recorded yet"),
        }
    }
}

/// How many values of each kind are under each key.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub current: String,
    pub previous: Vec<String>,
    pub counts: BTreeMap<Protected, BTreeMap<KeyState, u64>>,
}

impl KeyStatus {
    /// Values not yet under the current key (0: the previous keys can go).
    pub fn not_current(&self) -> u64 {
        self.counts.values().flat_map(|m| m.iter()).filter(|(k, _)| !k.is_current()).map(|(_, n)| n).sum()
    }

    /// Values under `key_id` (current or not).
    pub fn under(&self, key_id: &str) -> u64 {
        self.counts
            .values()
            .flat_map(|m| m.iter())
            .filter(|(k, _)| matches!(k, KeyState::Current(id) | KeyState::Previous(id) | KeyState::NotHeld(id) if id == key_id))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Counts the protected values per key. Blobs are counted from
/// `stored_file.master_key_id` (one query); sealed columns are read in batches.
pub async fn status(db: &impl ConnectionTrait, storage: &BlobStore, batch_size: u64) -> AppResult<KeyStatus> {
    let master = storage.master_key();
    let mut counts: BTreeMap<Protected, BTreeMap<KeyState, u64>> = BTreeMap::new();
    let blobs: Vec<(Option<String>, i64)> = stored_file::Entity::find()
        .select_only()
        .column(stored_file::Column::MasterKeyId)
        .column_as(stored_file::Column::Id.count(), "n")
        .group_by(stored_file::Column::MasterKeyId)
        .into_tuple()
        .all(db)
        .await?;
    let entry = counts.entry(Protected::ImageBlobs).or_default();
    for (id, n) in blobs {
        let state = id.map_or(KeyState::NotRecorded, |id| KeyState::of_id(master, &id));
        *entry.entry(state).or_default() += n as u64;
    }
    let other = counts.entry(Protected::OtherBlobs).or_default();
    let mut untracked = untracked_blobs(storage, batch_size)?;
    while let Some(keys) = next_untracked(db, &mut untracked).await? {
        for key in keys {
            let state = match storage.sealed_by(&key).await {
                Ok(Some(by)) => KeyState::of(master, by),
                Ok(None) => continue,
                Err(e) => KeyState::NotHeld(format!("unreadable: {e}")),
            };
            *other.entry(state).or_default() += 1;
        }
    }
    for kind in Protected::ALL.into_iter().filter(|k| !matches!(k, Protected::ImageBlobs | Protected::OtherBlobs)) {
        let entry = counts.entry(kind).or_default();
        let mut after = String::new();
        loop {
            let (items, last) = fetch_sealed(db, kind, &after, batch_size).await?;
            for item in &items {
                let state = match master.sealed_by(&item.context, &item.sealed) {
                    Ok(by) => KeyState::of(master, by),
                    Err(e) => KeyState::NotHeld(format!("unreadable: {e}")),
                };
                *entry.entry(state).or_default() += 1;
            }
            match last {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    Ok(KeyStatus {
        current: master.id().to_string(),
        previous: master.previous_ids().iter().map(ToString::to_string).collect(),
        counts,
    })
}

/// Tuning of a rotation run.
#[derive(Debug, Clone, Copy)]
pub struct RotateOptions {
    /// Values read and re-wrapped per batch.
    pub batch_size: u64,
    /// Sleep between batches, to spread the load on a busy database or store.
    pub pause: Duration,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self { batch_size: 100, pause: Duration::ZERO }
    }
}

/// What a rotation did to one kind of value, so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Re-wrapped under the current key.
    pub rewrapped: u64,
    /// Already under the current key.
    pub current: u64,
    /// Changed or deleted by a server meanwhile (then written under the current key, or gone).
    pub changed_meanwhile: u64,
    /// File rows whose blob is missing.
    pub missing: u64,
    /// Values that could not be re-wrapped (a key not held, a damaged value).
    pub failed: u64,
}

/// The outcome of [`rotate`]: a tally per kind and the first failures.
#[derive(Debug, Clone, Default)]
pub struct RotationReport {
    pub tallies: BTreeMap<Protected, Tally>,
    pub failures: Vec<String>,
}

impl RotationReport {
    pub fn failed(&self) -> u64 {
        self.tallies.values().map(|t| t.failed).sum()
    }
}

const MAX_REPORTED_FAILURES: usize = 20;

/// Re-wraps every protected value that is not under the current master key.
/// `progress` is called after each batch with the kind and its tally so far.
pub async fn rotate(
    db: &DatabaseConnection,
    storage: &BlobStore,
    options: RotateOptions,
    mut progress: impl FnMut(Protected, &Tally),
) -> AppResult<RotationReport> {
    let batch_size = options.batch_size.max(1);
    let mut report = RotationReport::default();
    let master = storage.master_key();
    for kind in Protected::ALL {
        let mut tally = Tally::default();
        if kind == Protected::ImageBlobs {
            rotate_blobs(db, storage, batch_size, options.pause, &mut tally, &mut report.failures, &mut progress).await?;
        } else if kind == Protected::OtherBlobs {
            let mut untracked = untracked_blobs(storage, batch_size)?;
            while let Some(keys) = next_untracked(db, &mut untracked).await? {
                for key in keys {
                    match storage.rewrap(&key).await {
                        Ok(Rewrap::Rewrapped(_)) => tally.rewrapped += 1,
                        Ok(Rewrap::AlreadyCurrent) => tally.current += 1,
                        Ok(Rewrap::Missing) => tally.changed_meanwhile += 1,
                        Err(e) => {
                            tally.failed += 1;
                            if report.failures.len() < MAX_REPORTED_FAILURES {
                                report.failures.push(format!("blob {key}: {e:#}"));
                            }
                        }
                    }
                }
                progress(kind, &tally);
                pause(options.pause).await;
            }
        } else {
            let mut after = String::new();
            loop {
                let (items, last) = fetch_sealed(db, kind, &after, batch_size).await?;
                for item in items {
                    match master.rewrap(&item.context, &item.sealed) {
                        Ok(None) => tally.current += 1,
                        Ok(Some(rewrapped)) => {
                            if store_sealed(db, kind, &item, rewrapped).await? {
                                tally.rewrapped += 1;
                            } else {
                                tally.changed_meanwhile += 1;
                            }
                        }
                        Err(e) => {
                            tally.failed += 1;
                            if report.failures.len() < MAX_REPORTED_FAILURES {
                                report.failures.push(format!("{} {}: {e:#}", kind.label(), item.id));
                            }
                        }
                    }
                }
                progress(kind, &tally);
                match last {
                    Some(last) => after = last,
                    None => break,
                }
                pause(options.pause).await;
            }
        }
        report.tallies.insert(kind, tally);
    }
    Ok(report)
}

async fn pause(pause: Duration) {
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
}

/// Blobs whose file row does not name the current key, in id order. A row
/// that fails stays behind the cursor, so a batch never repeats it.
async fn rotate_blobs(
    db: &impl ConnectionTrait,
    storage: &BlobStore,
    batch_size: u64,
    pause_between: Duration,
    tally: &mut Tally,
    failures: &mut Vec<String>,
    progress: &mut impl FnMut(Protected, &Tally),
) -> AppResult<()> {
    let current = storage.master_key().id().to_string();
    let mut after = String::new();
    loop {
        let rows: Vec<(String, String)> = stored_file::Entity::find()
            .select_only()
            .column(stored_file::Column::Id)
            .column(stored_file::Column::ObjectKey)
            .filter(
                Condition::any()
                    .add(stored_file::Column::MasterKeyId.is_null())
                    .add(stored_file::Column::MasterKeyId.ne(current.clone())),
            )
            .filter(stored_file::Column::Id.gt(after.clone()))
            .order_by_asc(stored_file::Column::Id)
            .limit(batch_size)
            .into_tuple()
            .all(db)
            .await?;
        let Some((last, _)) = rows.last() else { break };
        after = last.clone();
        for (id, object_key) in &rows {
            let outcome = match storage.rewrap(object_key).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tally.failed += 1;
                    if failures.len() < MAX_REPORTED_FAILURES {
                        failures.push(format!("image blob {object_key}: {e:#}"));
                    }
                    continue;
                }
            };
            match outcome {
                Rewrap::Rewrapped(_) => tally.rewrapped += 1,
                Rewrap::AlreadyCurrent => tally.current += 1,
                // Nothing is under an old key any more; the row says so too.
                Rewrap::Missing => tally.missing += 1,
            }
            let recorded = stored_file::Entity::update_many()
                .col_expr(stored_file::Column::MasterKeyId, Expr::value(current.clone()))
                .filter(stored_file::Column::Id.eq(id.clone()))
                .exec(db)
                .await?;
            if recorded.rows_affected == 0 && outcome != Rewrap::Missing {
                // The row was deleted (erasure) while the blob was rewritten:
                // delete the blob again rather than leave an orphan behind.
                storage.delete(object_key).await.map_err(AppError::Internal)?;
                tally.changed_meanwhile += 1;
            }
        }
        progress(Protected::ImageBlobs, tally);
        if (rows.len() as u64) < batch_size {
            break;
        }
        pause(pause_between).await;
    }
    Ok(())
}

/// Where blobs that belong to sessions, identities and cases live (the
/// health probe writes elsewhere and deletes at once).
const BLOBS_PREFIX: &str = "clients";

struct Untracked {
    keys: futures::stream::Chunks<futures::stream::BoxStream<'static, anyhow::Result<String>>>,
}

fn untracked_blobs(storage: &BlobStore, batch_size: u64) -> AppResult<Untracked> {
    use futures::StreamExt;
    let keys = storage.list_keys(BLOBS_PREFIX).map_err(AppError::Internal)?;
    Ok(Untracked { keys: keys.chunks(batch_size.clamp(1, 1000) as usize) })
}

/// The next listed keys that no `stored_file` row names (`None`: listing done).
async fn next_untracked(db: &impl ConnectionTrait, untracked: &mut Untracked) -> AppResult<Option<Vec<String>>> {
    use futures::StreamExt;
    let Some(chunk) = untracked.keys.next().await else { return Ok(None) };
    let chunk: Vec<String> = chunk.into_iter().collect::<anyhow::Result<_>>().map_err(AppError::Internal)?;
    let known: std::collections::HashSet<String> = stored_file::Entity::find()
        .select_only()
        .column(stored_file::Column::ObjectKey)
        .filter(stored_file::Column::ObjectKey.is_in(chunk.iter().cloned()))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(Some(chunk.into_iter().filter(|k| !known.contains(k)).collect()))
}

/// One sealed column value.
struct SealedValue {
    id: String,
    context: Vec<u8>,
    sealed: Vec<u8>,
}

/// A batch of the sealed values of `kind` with ids after `after`, and the
/// id to continue after (`None`: this was the last batch).
async fn fetch_sealed(
    db: &impl ConnectionTrait,
    kind: Protected,
    after: &str,
    limit: u64,
) -> AppResult<(Vec<SealedValue>, Option<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (ids, items): (Vec<String>, Vec<Option<SealedValue>>) = match kind {
        Protected::ImageBlobs | Protected::OtherBlobs => (Vec::new(), Vec::new()),
        Protected::WebhookSecrets | Protected::PreviousWebhookSecrets => {
            let rows: Vec<(String, Vec<u8>, Option<Vec<u8>>)> = webhook::Entity::find()
                .select_only()
                .columns([webhook::Column::Id, webhook::Column::SecretCiphertext, webhook::Column::PreviousSecretCiphertext])
                .filter(webhook::Column::Id.gt(after))
                .order_by_asc(webhook::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            rows.into_iter()
                .map(|(id, secret, previous)| {
                    let sealed = if kind == Protected::WebhookSecrets { Some(secret) } else { previous };
                    let item = sealed.map(|sealed| SealedValue { context: webhooks::secret_context(&id), id: id.clone(), sealed });
                    (id, item)
                })
                .unzip()
        }
        Protected::FaceTemplates => {
            let rows: Vec<(String, Vec<u8>)> = face_template::Entity::find()
                .select_only()
                .columns([face_template::Column::Id, face_template::Column::Embedding])
                .filter(face_template::Column::Id.gt(after))
                .order_by_asc(face_template::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            rows.into_iter()
                .map(|(id, sealed)| (id.clone(), Some(SealedValue { context: faces::template_context(&id), id, sealed })))
                .unzip()
        }
        Protected::IdempotentResponses => {
            let rows: Vec<(String, String)> = idempotency_key::Entity::find()
                .select_only()
                .columns([idempotency_key::Column::Id, idempotency_key::Column::ResponseBody])
                .filter(idempotency_key::Column::Id.gt(after))
                .order_by_asc(idempotency_key::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            rows.into_iter()
                .map(|(id, body)| {
                    // An empty body is a request still in flight: nothing sealed yet.
                    let item = (!body.is_empty()).then(|| SealedValue {
                        context: idempotency_context(&id),
                        id: id.clone(),
                        sealed: b64.decode(&body).unwrap_or_default(),
                    });
                    (id, item)
                })
                .unzip()
        }
        Protected::AzureLivenessKeys => {
            let rows: Vec<(String, serde_json::Value)> = client::Entity::find()
                .select_only()
                .columns([client::Column::Id, client::Column::Settings])
                .filter(client::Column::Id.gt(after))
                .order_by_asc(client::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(db)
                .await?;
            rows.into_iter()
                .map(|(id, settings)| {
                    let item = azure_sealed_key(&settings).map(|sealed| SealedValue {
                        context: liveness::azure_key_context(&id),
                        id: id.clone(),
                        sealed,
                    });
                    (id, item)
                })
                .unzip()
        }
    };
    let next = (ids.len() as u64 >= limit).then(|| ids.last().cloned()).flatten();
    Ok((items.into_iter().flatten().collect(), next))
}

fn azure_sealed_key(settings: &serde_json::Value) -> Option<Vec<u8>> {
    let text = settings.get(liveness::AZURE_SETTINGS_KEY)?.get("api_key_sealed")?.as_str()?;
    Some(base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default())
}

/// Replaces the value when the row still holds the one that was re-wrapped
/// (a compare-and-swap: a secret a server rotated meanwhile is kept).
/// Returns whether it was replaced.
async fn store_sealed(
    db: &DatabaseConnection,
    kind: Protected,
    item: &SealedValue,
    rewrapped: Vec<u8>,
) -> AppResult<bool> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let affected = match kind {
        Protected::ImageBlobs | Protected::OtherBlobs => 0,
        Protected::WebhookSecrets => {
            webhook::Entity::update_many()
                .col_expr(webhook::Column::SecretCiphertext, Expr::value(rewrapped))
                .filter(webhook::Column::Id.eq(item.id.clone()))
                .filter(webhook::Column::SecretCiphertext.eq(item.sealed.clone()))
                .exec(db)
                .await?
                .rows_affected
        }
        Protected::PreviousWebhookSecrets => {
            webhook::Entity::update_many()
                .col_expr(webhook::Column::PreviousSecretCiphertext, Expr::value(Some(rewrapped)))
                .filter(webhook::Column::Id.eq(item.id.clone()))
                .filter(webhook::Column::PreviousSecretCiphertext.eq(item.sealed.clone()))
                .exec(db)
                .await?
                .rows_affected
        }
        Protected::FaceTemplates => {
            face_template::Entity::update_many()
                .col_expr(face_template::Column::Embedding, Expr::value(rewrapped))
                .filter(face_template::Column::Id.eq(item.id.clone()))
                .filter(face_template::Column::Embedding.eq(item.sealed.clone()))
                .exec(db)
                .await?
                .rows_affected
        }
        Protected::IdempotentResponses => {
            idempotency_key::Entity::update_many()
                .col_expr(idempotency_key::Column::ResponseBody, Expr::value(b64.encode(rewrapped)))
                .filter(idempotency_key::Column::Id.eq(item.id.clone()))
                .filter(idempotency_key::Column::ResponseBody.eq(b64.encode(&item.sealed)))
                .exec(db)
                .await?
                .rows_affected
        }
        Protected::AzureLivenessKeys => {
            // A JSON column has no portable equality: re-read the row under a
            // lock (FOR UPDATE on PostgreSQL; SQLite serialises writers).
            let txn = db.begin().await?;
            let Some(row) = client::Entity::find_by_id(item.id.clone()).lock_exclusive().one(&txn).await? else {
                return Ok(false);
            };
            if azure_sealed_key(&row.settings).as_deref() != Some(&item.sealed[..]) {
                return Ok(false);
            }
            let mut settings = row.settings.clone();
            settings[liveness::AZURE_SETTINGS_KEY]["api_key_sealed"] = b64.encode(&rewrapped).into();
            let done = client::Entity::update_many()
                .col_expr(client::Column::Settings, Expr::value(settings))
                .filter(client::Column::Id.eq(item.id.clone()))
                .exec(&txn)
                .await?
                .rows_affected;
            txn.commit().await?;
            done
        }
    };
    Ok(affected == 1)
}
