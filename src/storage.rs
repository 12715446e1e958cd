//! Blob storage behind `object_store`: a local directory by default, any
//! S3-compatible service when configured. Every object is encrypted at rest
//! with AES-256-GCM under its own data key; the data key is wrapped by the
//! master key. The object key is bound into both encryptions as associated
//! data, so an object copied under another key does not decrypt.
//!
//! Envelope layout: `TSB2` | 8-byte master key id | 12-byte key nonce |
//! 48-byte wrapped data key | 12-byte data nonce | ciphertext + tag. The key
//! id names the master key that wrapped the data key, so a process holding
//! the current key and previous ones opens values sealed under any of them
//! (key rotation). Values written before key ids existed carry `TSB1` and no
//! id; they are opened by trying each key held.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use bytes::Bytes;
use object_store::{ObjectStore, PutPayload, path::Path as ObjectPath};
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;

const MAGIC_V1: &[u8; 4] = b"TSB1";
const MAGIC: &[u8; 4] = b"TSB2";
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 12;
const WRAPPED_KEY_LEN: usize = 32 + 16;
/// Magic, key nonce, wrapped key and data nonce of a `TSB1` envelope.
const HEADER_LEN_V1: usize = 4 + NONCE_LEN + WRAPPED_KEY_LEN + NONCE_LEN;
const HEADER_LEN: usize = HEADER_LEN_V1 + KEY_ID_LEN;

/// The short public name of a master key: the first 8 bytes of a SHA-256
/// over a fixed label and the key, shown as 16 hex digits. It identifies a
/// key without revealing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    fn of(key: &[u8; 32]) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new().chain_update(b"tessera master key id\0").chain_update(key).finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[derive(Clone)]
struct KeyVersion {
    id: KeyId,
    key: [u8; 32],
}

impl KeyVersion {
    fn new(key: [u8; 32]) -> Self {
        Self { id: KeyId::of(&key), key }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.key).expect("32-byte key")
    }
}

/// The master keys a process holds: the current one, which seals and wraps
/// everything written, and previous ones, which still open what they sealed
/// until `tessera keys rotate` has re-wrapped it under the current key.
#[derive(Clone)]
pub struct MasterKey {
    current: KeyVersion,
    previous: Arc<[KeyVersion]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(current {}, {} previous)", self.current.id, self.previous.len())
    }
}

/// Which master key sealed a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedBy {
    /// The envelope names this key (held by this process or not).
    Key(KeyId),
    /// A `TSB1` envelope (no key id) that one of the held keys opens.
    Legacy(KeyId),
    /// A `TSB1` envelope that none of the held keys opens.
    LegacyUnknown,
}

impl SealedBy {
    /// The key id when known.
    pub fn key_id(&self) -> Option<KeyId> {
        match self {
            SealedBy::Key(id) | SealedBy::Legacy(id) => Some(*id),
            SealedBy::LegacyUnknown => None,
        }
    }
}

impl std::fmt::Display for SealedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealedBy::Key(id) => write!(f, "{id}"),
            SealedBy::Legacy(id) => write!(f, "{id} (no key id recorded)"),
            SealedBy::LegacyUnknown => f.write_str("unknown key (no key id recorded)"),
        }
    }
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .context("master key is not valid base64")?;
    bytes.try_into().map_err(|_| anyhow!("master key must decode to exactly 32 bytes"))
}

impl MasterKey {
    /// One key, current, with no previous keys.
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        Ok(Self::single(decode_key(text)?))
    }

    fn single(key: [u8; 32]) -> Self {
        Self { current: KeyVersion::new(key), previous: Arc::from(Vec::new()) }
    }

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::single(key)
    }

    /// The current key as base64 (what `master_key` holds).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.current.key)
    }

    /// The same current key holding `previous` as previous keys too (a key
    /// equal to the current one, or given twice, is held once).
    pub fn with_previous(self, previous: &[MasterKey]) -> Self {
        let mut held: Vec<KeyVersion> = self.previous.to_vec();
        for version in previous.iter().flat_map(|k| std::iter::once(&k.current).chain(k.previous.iter())) {
            if version.id != self.current.id && !held.iter().any(|h| h.id == version.id) {
                held.push(version.clone());
            }
        }
        Self { current: self.current, previous: Arc::from(held) }
    }

    /// Parses `previous_master_keys`: base64 keys separated by commas.
    pub fn parse_previous(text: &str) -> anyhow::Result<Vec<MasterKey>> {
        text.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
            .map(|(i, t)| MasterKey::from_base64(t).with_context(|| format!("previous master key #{}", i + 1)))
            .collect()
    }

    /// The configured key, or the one in `{data_dir}/master.key`, created
    /// with mode 0600 on first start; plus the `previous_master_keys`.
    pub fn load_or_create(config: &Config) -> anyhow::Result<Self> {
        let current = Self::load_or_create_current(config)?;
        let previous = match &config.previous_master_keys {
            Some(text) => Self::parse_previous(text).context("previous_master_keys (TESSERA_PREVIOUS_MASTER_KEYS)")?,
            None => Vec::new(),
        };
        let ring = current.with_previous(&previous);
        if !ring.previous.is_empty() {
            let ids: Vec<String> = ring.previous.iter().map(|k| k.id.to_string()).collect();
            tracing::info!(current = %ring.id(), previous = %ids.join(","), "master keys loaded");
        }
        Ok(ring)
    }

    fn load_or_create_current(config: &Config) -> anyhow::Result<Self> {
        if let Some(text) = &config.master_key {
            return Self::from_base64(text).context("master_key (TESSERA_MASTER_KEY)");
        }
        let path = config.data_dir.join("master.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&text).with_context(|| format!("master key in {}", path.display()));
        }
        ensure_private_dir(&config.data_dir)?;
        let key = Self::generate();
        write_private_file(&path, key.to_base64().as_bytes())?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(key)
    }

    /// The id of the current key, the one everything new is sealed under.
    pub fn id(&self) -> KeyId {
        self.current.id
    }

    /// The ids of the previous keys held.
    pub fn previous_ids(&self) -> Vec<KeyId> {
        self.previous.iter().map(|k| k.id).collect()
    }

    /// Each held key alone, current first: for values derived from the key
    /// (MACs, signing keys) that are verified against every key held.
    pub fn versions(&self) -> impl Iterator<Item = MasterKey> + '_ {
        std::iter::once(&self.current)
            .chain(self.previous.iter())
            .map(|v| Self { current: v.clone(), previous: Arc::from(Vec::new()) })
    }

    fn held(&self, id: KeyId) -> Option<&KeyVersion> {
        std::iter::once(&self.current).chain(self.previous.iter()).find(|k| k.id == id)
    }

    /// Encrypts a small secret (webhook secrets, face templates) for a DB column.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_envelope(self, context, plaintext)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        open_envelope(self, context, sealed)
    }

    /// Which key sealed `sealed` (bound to `context`).
    pub fn sealed_by(&self, context: &[u8], sealed: &[u8]) -> anyhow::Result<SealedBy> {
        let header = parse_header(sealed)?;
        Ok(match header.key_id {
            Some(id) => SealedBy::Key(id),
            None => match self.unwrap_data_key(&header, context) {
                Ok((_, version)) => SealedBy::Legacy(version),
                Err(_) => SealedBy::LegacyUnknown,
            },
        })
    }

    /// `sealed` with its data key wrapped under the current key, or `None`
    /// when it already is. The data nonce and ciphertext are kept as they
    /// are: only the 84-byte header changes.
    pub fn rewrap(&self, context: &[u8], sealed: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let header = parse_header(sealed)?;
        if header.key_id == Some(self.current.id) {
            return Ok(None);
        }
        let (data_key, _) = self.unwrap_data_key(&header, context)?;
        let mut out = Vec::with_capacity(sealed.len() + KEY_ID_LEN);
        write_header(&mut out, &self.current, context, &data_key, header.data_nonce);
        out.extend_from_slice(header.body);
        Ok(Some(out))
    }

    fn unwrap_data_key(&self, header: &Header<'_>, aad: &[u8]) -> anyhow::Result<(Vec<u8>, KeyId)> {
        let unwrap = |k: &KeyVersion| {
            k.cipher().decrypt(Nonce::from_slice(header.key_nonce), Payload { msg: header.wrapped, aad }).ok()
        };
        match header.key_id {
            Some(id) => {
                let version = self.held(id).ok_or_else(|| {
                    anyhow!(
                        "sealed under master key {id}, which this process does not hold \
                         (configure that key as master_key or in previous_master_keys)"
                    )
                })?;
                let key = unwrap(version)
                    .ok_or_else(|| anyhow!("data key does not unwrap under master key {id} (object moved or tampered)"))?;
                Ok((key, id))
            }
            None => std::iter::once(&self.current)
                .chain(self.previous.iter())
                .find_map(|k| unwrap(k).map(|key| (key, k.id)))
                .ok_or_else(|| {
                    anyhow!("data key does not unwrap under any master key held (wrong master key or object moved)")
                }),
        }
    }

    /// HMAC-SHA256 of `data` under the current key, bound to `context`, as
    /// hex: a value derived from a stored one that the database alone cannot give.
    pub fn mac_hex(&self, context: &[u8], data: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.current.key).expect("any key length");
        mac.update(context);
        mac.update(&[0]);
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Creates `dir` (and its parents) and makes it private to the server's user
/// (0700 on Unix): the data directory holds PII, keys and live sessions.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    restrict(dir, 0o700)
}

/// Makes an existing file private to the server's user (0600 on Unix).
pub fn restrict_file(path: &Path) -> anyhow::Result<()> {
    restrict(path, 0o600)
}

/// Creates `path` empty with mode 0600 when it does not exist, so a file that
/// another library opens later (SQLite) never starts world-readable.
pub fn precreate_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).with_context(|| format!("creating {}", path.display()))?;
    restrict_file(path)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if current.permissions().mode() & 0o777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting mode {mode:o} on {}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

struct Header<'a> {
    key_id: Option<KeyId>,
    key_nonce: &'a [u8],
    wrapped: &'a [u8],
    data_nonce: &'a [u8],
    /// Ciphertext and tag.
    body: &'a [u8],
}

fn parse_header(sealed: &[u8]) -> anyhow::Result<Header<'_>> {
    let (key_id, rest) = match sealed.get(..4) {
        Some(m) if m == MAGIC && sealed.len() >= HEADER_LEN + 16 => {
            let mut id = [0u8; KEY_ID_LEN];
            id.copy_from_slice(&sealed[4..4 + KEY_ID_LEN]);
            (Some(KeyId(id)), &sealed[4 + KEY_ID_LEN..])
        }
        Some(m) if m == MAGIC_V1 && sealed.len() >= HEADER_LEN_V1 + 16 => (None, &sealed[4..]),
        _ => bail!("not a Tessera encrypted object"),
    };
    let (key_nonce, rest) = rest.split_at(NONCE_LEN);
    let (wrapped, rest) = rest.split_at(WRAPPED_KEY_LEN);
    let (data_nonce, body) = rest.split_at(NONCE_LEN);
    Ok(Header { key_id, key_nonce, wrapped, data_nonce, body })
}

fn write_header(out: &mut Vec<u8>, master: &KeyVersion, aad: &[u8], data_key: &[u8], data_nonce: &[u8]) {
    let key_nonce = random_nonce();
    let wrapped = master
        .cipher()
        .encrypt(Nonce::from_slice(&key_nonce), Payload { msg: data_key, aad })
        .expect("AES-GCM encryption of a key cannot fail");
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&master.id.0);
    out.extend_from_slice(&key_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(data_nonce);
}

fn seal_envelope(master: &MasterKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut data_key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut data_key);
    let data_nonce = random_nonce();
    let data_cipher = Aes256Gcm::new_from_slice(&data_key).expect("32-byte key");
    let ciphertext = data_cipher
        .encrypt(Nonce::from_slice(&data_nonce), Payload { msg: plaintext, aad })
        .expect("AES-GCM encryption cannot fail for in-memory data");
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    write_header(&mut out, &master.current, aad, &data_key, &data_nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_envelope(master: &MasterKey, aad: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    let header = parse_header(sealed)?;
    let (data_key, _) = master.unwrap_data_key(&header, aad)?;
    let data_cipher = Aes256Gcm::new_from_slice(&data_key).context("data key length")?;
    data_cipher
        .decrypt(Nonce::from_slice(header.data_nonce), Payload { msg: header.body, aad })
        .map_err(|_| anyhow!("object does not decrypt (tampered or wrong key)"))
}

/// What [`BlobStore::rewrap`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrap {
    /// Written back under the current key; it was under this one.
    Rewrapped(SealedBy),
    AlreadyCurrent,
    /// No object under that key.
    Missing,
}

/// Encrypted blob storage. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Root directory when the backend is local: used to fsync after writes.
    local_root: Option<PathBuf>,
    master: MasterKey,
    backend: &'static str,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("backend", &self.backend).finish()
    }
}

impl BlobStore {
    pub fn from_config(config: &Config, master: MasterKey) -> anyhow::Result<Self> {
        match config.storage_backend.as_str() {
            "s3" => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(config.s3_bucket.clone().context("s3_bucket")?)
                    .with_allow_http(config.s3_allow_http);
                if let Some(endpoint) = &config.s3_endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &config.s3_region {
                    builder = builder.with_region(region);
                }
                if let Some(id) = &config.s3_access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &config.s3_secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let store = builder.build().context("configuring S3 storage")?;
                Ok(Self { store: Arc::new(store), local_root: None, master, backend: "s3" })
            }
            _ => Self::local(&config.storage_path(), master),
        }
    }

    pub fn local(root: &Path, master: MasterKey) -> anyhow::Result<Self> {
        ensure_private_dir(root)?;
        let root = root.canonicalize()?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&root)
            .context("opening local blob storage")?;
        Ok(Self { store: Arc::new(store), local_root: Some(root), master, backend: "local" })
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Encrypts and writes `plaintext` under `key`. Returns once the bytes
    /// are durable (fsynced locally; acknowledged by S3), so a DB row that
    /// points at them may commit afterwards.
    pub async fn put(&self, key: &str, plaintext: &[u8]) -> anyhow::Result<()> {
        let sealed = seal_envelope(&self.master, key.as_bytes(), plaintext);
        self.put_sealed(key, sealed).await
    }

    async fn put_sealed(&self, key: &str, sealed: Vec<u8>) -> anyhow::Result<()> {
        let path = object_path(key)?;
        self.store
            .put(&path, PutPayload::from(Bytes::from(sealed)))
            .await
            .with_context(|| format!("writing blob {key}"))?;
        if let Some(root) = &self.local_root {
            let file = root.join(key);
            tokio::task::spawn_blocking(move || fsync_with_parent(&file))
                .await
                .context("fsync task")??;
        }
        Ok(())
    }

    /// Reads and decrypts the object stored under `key`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = object_path(key)?;
        let sealed = match self.store.get(&path).await {
            Ok(result) => result.bytes().await.context("reading blob")?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading blob {key}"))),
        };
        open_envelope(&self.master, key.as_bytes(), &sealed).map(Some)
    }

    /// The stored (encrypted) bytes, for tests and integrity checks.
    pub async fn get_raw(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.store.get(&object_path(key)?).await {
            Ok(result) => Ok(Some(result.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&object_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// Re-wraps the data key of the object under `key` with the current
    /// master key and writes the object back (the same ciphertext behind a
    /// new 84-byte header; the image bytes are not decrypted). An object
    /// already under the current key is left alone.
    pub async fn rewrap(&self, key: &str) -> anyhow::Result<Rewrap> {
        let Some(sealed) = self.get_raw(key).await? else {
            return Ok(Rewrap::Missing);
        };
        let from = self.master.sealed_by(key.as_bytes(), &sealed).with_context(|| format!("blob {key}"))?;
        match self.master.rewrap(key.as_bytes(), &sealed).with_context(|| format!("blob {key}"))? {
            None => Ok(Rewrap::AlreadyCurrent),
            Some(rewrapped) => {
                self.put_sealed(key, rewrapped).await?;
                Ok(Rewrap::Rewrapped(from))
            }
        }
    }

    /// Every key under `prefix`, as a stream (a bucket may hold millions).
    pub fn list_keys(&self, prefix: &str) -> anyhow::Result<futures::stream::BoxStream<'static, anyhow::Result<String>>> {
        use futures::StreamExt;
        let prefix = object_path(prefix)?;
        Ok(self
            .store
            .list(Some(&prefix))
            .map(|m| m.map(|m| m.location.to_string()).context("listing blobs"))
            .boxed())
    }

    /// Which master key wraps the data key of the object under `key`
    /// (`None`: no such object).
    pub async fn sealed_by(&self, key: &str) -> anyhow::Result<Option<SealedBy>> {
        match self.get_raw(key).await? {
            Some(sealed) => self.master.sealed_by(key.as_bytes(), &sealed).map(Some),
            None => Ok(None),
        }
    }

    /// Removes the partial files a local write cut off by a crash leaves
    /// under `prefix`, when last written before `cutoff`; returns how many.
    /// The local backend writes each object to a staged file beside it
    /// (`<name>#<n>`) and renames it into place; a process killed before the
    /// rename leaves the staged file, which listing never shows. No-op for S3
    /// (an unfinished upload there never becomes an object).
    pub async fn remove_staged_older_than(&self, prefix: &str, cutoff: chrono::DateTime<chrono::Utc>) -> anyhow::Result<usize> {
        let Some(root) = &self.local_root else {
            return Ok(0);
        };
        object_path(prefix)?;
        let dir = root.join(prefix);
        let cutoff = std::time::SystemTime::from(cutoff);
        tokio::task::spawn_blocking(move || remove_staged_under(&dir, cutoff))
            .await
            .context("staged file sweep task")?
    }

    /// Keys under `prefix` last written before `cutoff` (for the orphan sweep).
    pub async fn keys_older_than(&self, prefix: &str, cutoff: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Vec<String>> {
        use futures::TryStreamExt;
        let prefix = object_path(prefix)?;
        let found: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await.context("listing blobs")?;
        Ok(found
            .into_iter()
            .filter(|m| m.last_modified < cutoff)
            .map(|m| m.location.to_string())
            .collect())
    }
}

fn object_path(key: &str) -> anyhow::Result<ObjectPath> {
    if key.is_empty() || key.split('/').any(|p| p.is_empty() || p == "." || p == "..") {
        bail!("invalid object key `{key}`");
    }
    ObjectPath::parse(key).with_context(|| format!("invalid object key `{key}`"))
}

/// Whether `name` is a local backend's staged write: `<name>#<digits>`
/// (object keys never hold `#`).
fn is_staged_name(name: &str) -> bool {
    matches!(name.rsplit_once('#'), Some((_, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn remove_staged_under(dir: &Path, cutoff: std::time::SystemTime) -> anyhow::Result<usize> {
    let mut removed = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(anyhow::Error::new(e).context(format!("listing {}", dir.display()))),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file()
                && entry.file_name().to_str().is_some_and(is_staged_name)
                && entry.metadata()?.modified()? < cutoff
            {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => {
                        tracing::info!(path = %entry.path().display(), "removed a partial blob write cut off by a crash");
                        removed += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(anyhow::Error::new(e).context(format!("removing {}", entry.path().display()))),
                }
            }
        }
    }
    Ok(removed)
}

fn fsync_with_parent(file: &Path) -> anyhow::Result<()> {
    restrict_file(file)?;
    std::fs::File::open(file)?.sync_all()?;
    if let Some(parent) = file.parent() {
        // Directory fsync makes the rename that created the file durable.
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_binds_the_key() {
        let master = MasterKey::generate();
        let sealed = seal_envelope(&master, b"a/b", b"hello world");
        assert_eq!(open_envelope(&master, b"a/b", &sealed).unwrap(), b"hello world");
        assert!(open_envelope(&master, b"a/c", &sealed).is_err(), "moved object must not open");
        assert!(open_envelope(&MasterKey::generate(), b"a/b", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open_envelope(&master, b"a/b", &tampered).is_err());
    }

    #[test]
    fn previous_keys_open_and_rewrap_moves_to_the_current_key() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let sealed = old.seal(b"ctx", b"secret");
        assert_eq!(old.sealed_by(b"ctx", &sealed).unwrap(), SealedBy::Key(old.id()));
        let ring = new.clone().with_previous(std::slice::from_ref(&old));
        assert_eq!(ring.id(), new.id());
        assert_eq!(ring.previous_ids(), vec![old.id()]);
        assert_eq!(ring.open(b"ctx", &sealed).unwrap(), b"secret");
        let rewrapped = ring.rewrap(b"ctx", &sealed).unwrap().expect("under the previous key");
        assert_eq!(rewrapped.len(), sealed.len());
        assert_eq!(rewrapped[HEADER_LEN..], sealed[HEADER_LEN..], "the ciphertext is kept");
        assert!(ring.rewrap(b"ctx", &rewrapped).unwrap().is_none(), "already current");
        assert_eq!(new.open(b"ctx", &rewrapped).unwrap(), b"secret");
        let err = new.open(b"ctx", &sealed).unwrap_err().to_string();
        assert!(err.contains(&old.id().to_string()) && err.contains("does not hold"), "{err}");
        assert!(ring.rewrap(b"other", &sealed).is_err(), "the context is still bound");
    }

    #[test]
    fn legacy_envelopes_without_a_key_id_still_open() {
        let old = MasterKey::generate();
        let v2 = old.seal(b"ctx", b"legacy");
        // The TSB1 layout: the same envelope without the key id.
        let mut v1 = MAGIC_V1.to_vec();
        v1.extend_from_slice(&v2[4 + KEY_ID_LEN..]);
        assert_eq!(old.open(b"ctx", &v1).unwrap(), b"legacy");
        let ring = MasterKey::generate().with_previous(std::slice::from_ref(&old));
        assert_eq!(ring.open(b"ctx", &v1).unwrap(), b"legacy");
        assert_eq!(ring.sealed_by(b"ctx", &v1).unwrap(), SealedBy::Legacy(old.id()));
        assert_eq!(MasterKey::generate().sealed_by(b"ctx", &v1).unwrap(), SealedBy::LegacyUnknown);
        let rewrapped = ring.rewrap(b"ctx", &v1).unwrap().unwrap();
        assert_eq!(ring.sealed_by(b"ctx", &rewrapped).unwrap(), SealedBy::Key(ring.id()));
    }

    #[test]
    fn key_ids_are_stable_and_distinct() {
        let a = MasterKey::generate();
        let again = MasterKey::from_base64(&a.to_base64()).unwrap();
        assert_eq!(a.id(), again.id());
        assert_ne!(a.id(), MasterKey::generate().id());
        assert_eq!(a.id().to_string().len(), 16);
        let parsed = MasterKey::parse_previous(&format!(" {}, ,{}", a.to_base64(), a.to_base64())).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(MasterKey::parse_previous("nope").is_err());
    }

    #[test]
    fn staged_names_are_the_local_backends_partial_writes() {
        assert!(is_staged_name("driver_license_front-0b1c.bin#3"));
        assert!(is_staged_name("a#12"));
        assert!(!is_staged_name("a#"));
        assert!(!is_staged_name("a#1x"));
        assert!(!is_staged_name("driver_license_front-0b1c.bin"));
    }

    #[tokio::test]
    async fn staged_writes_older_than_the_cutoff_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::local(dir.path(), MasterKey::generate()).unwrap();
        store.put("clients/c1/s1/front.bin", b"kept").await.unwrap();
        let root = dir.path().canonicalize().unwrap();
        let staged = root.join("clients/c1/s1/front2.bin#7");
        std::fs::write(&staged, b"partial").unwrap();
        let before = chrono::Utc::now() - chrono::Duration::seconds(60);
        assert_eq!(store.remove_staged_older_than("clients", before).await.unwrap(), 0, "younger than the cutoff");
        assert!(staged.exists());
        let after = chrono::Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(store.remove_staged_older_than("clients", after).await.unwrap(), 1);
        assert!(!staged.exists());
        assert_eq!(store.get("clients/c1/s1/front.bin").await.unwrap().unwrap(), b"kept");
        assert_eq!(store.remove_staged_older_than("missing", after).await.unwrap(), 0);
    }

    #[test]
    fn object_keys_cannot_escape() {
        assert!(object_path("../etc/passwd").is_err());
        assert!(object_path("a//b").is_err());
        assert!(object_path("sessions/x/front.jpg").is_ok());
    }
}
