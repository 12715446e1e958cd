//! Blob storage behind `object_store`: a local directory by default, any
//! S3-compatible service when configured. Every object is encrypted at rest
//! with AES-256-GCM under its own data key; the data key is wrapped by the
//! master key. The object key is bound into both encryptions as associated
//! data, so an object copied under another key does not decrypt.
//!
//! Envelope layout: `TSB1` | 12-byte key nonce | 48-byte wrapped data key |
//! 12-byte data nonce | ciphertext + tag.

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

const MAGIC: &[u8; 4] = b"TSB1";
const NONCE_LEN: usize = 12;
const WRAPPED_KEY_LEN: usize = 32 + 16;
const HEADER_LEN: usize = 4 + NONCE_LEN + WRAPPED_KEY_LEN + NONCE_LEN;

/// The 32-byte key that wraps every data key.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .context("master key is not valid base64")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow!("master key must decode to exactly 32 bytes"))?;
        Ok(Self(key))
    }

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The configured key, or the one in `{data_dir}/master.key`, created
    /// with mode 0600 on first start.
    pub fn load_or_create(config: &Config) -> anyhow::Result<Self> {
        if let Some(text) = &config.master_key {
            return Self::from_base64(text);
        }
        let path = config.data_dir.join("master.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&text);
        }
        ensure_private_dir(&config.data_dir)?;
        let key = Self::generate();
        write_private_file(&path, key.to_base64().as_bytes())?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0).expect("32-byte key")
    }

    /// Encrypts a small secret (webhook secrets, face templates) for a DB column.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_envelope(self, context, plaintext)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        open_envelope(self, context, sealed)
    }

    /// HMAC-SHA256 of `data` under this key, bound to `context`, as hex: a
    /// value derived from a stored one that the database alone cannot give.
    pub fn mac_hex(&self, context: &[u8], data: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
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

fn seal_envelope(master: &MasterKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut data_key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut data_key);
    let key_nonce = random_nonce();
    let wrapped = master
        .cipher()
        .encrypt(Nonce::from_slice(&key_nonce), Payload { msg: &data_key, aad })
        .expect("AES-GCM encryption of a key cannot fail");
    let data_nonce = random_nonce();
    let data_cipher = Aes256Gcm::new_from_slice(&data_key).expect("32-byte key");
    let ciphertext = data_cipher
        .encrypt(Nonce::from_slice(&data_nonce), Payload { msg: plaintext, aad })
        .expect("AES-GCM encryption cannot fail for in-memory data");
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&key_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&data_nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_envelope(master: &MasterKey, aad: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    if sealed.len() < HEADER_LEN + 16 || &sealed[..4] != MAGIC {
        bail!("not a Tessera encrypted object");
    }
    let key_nonce = &sealed[4..4 + NONCE_LEN];
    let wrapped = &sealed[4 + NONCE_LEN..4 + NONCE_LEN + WRAPPED_KEY_LEN];
    let data_nonce = &sealed[4 + NONCE_LEN + WRAPPED_KEY_LEN..HEADER_LEN];
    let data_key = master
        .cipher()
        .decrypt(Nonce::from_slice(key_nonce), Payload { msg: wrapped, aad })
        .map_err(|_| anyhow!("data key does not unwrap (wrong master key or object moved)"))?;
    let data_cipher = Aes256Gcm::new_from_slice(&data_key).context("data key length")?;
    data_cipher
        .decrypt(Nonce::from_slice(data_nonce), Payload { msg: &sealed[HEADER_LEN..], aad })
        .map_err(|_| anyhow!("object does not decrypt (tampered or wrong key)"))
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
    fn object_keys_cannot_escape() {
        assert!(object_path("../etc/passwd").is_err());
        assert!(object_path("a//b").is_err());
        assert!(object_path("sessions/x/front.jpg").is_ok());
    }
}
