//! Webhook delivery: workers that send the outbox rows (`webhook_delivery`)
//! written by [`crate::service::outbox`], at least once, signed per the
//! Standard Webhooks spec.
//!
//! Statuses: `pending` → `sending` (claimed; `next_attempt_at` is the end of
//! the claim's lease) → `delivered` | back to `pending` (retry at the
//! schedule's next delay, or later when a 429/503 says `Retry-After`) |
//! `failed` (schedule exhausted, 410 Gone, endpoint disabled or deleted).
//! A `sending` row whose lease ran out (its process died mid-attempt) is
//! claimed again, so a crash loses nothing; the receiver may then see the
//! same `webhook-id` twice and should deduplicate on it.
//!
//! Claiming is an optimistic `UPDATE ... WHERE id = ? AND status = <seen>
//! AND attempts = <seen>` that only one worker (of any process) can win, on
//! SQLite and PostgreSQL alike; every later write is conditional on the
//! claim (`status = sending AND attempts = <claimed>`).
//!
//! Every attempt is a `webhook_attempt` row (time, status code, latency,
//! error): the delivery log of the REST API.

use base64::Engine;
use chrono::{DateTime, Utc};
use entity::{webhook, webhook_attempt, webhook_delivery};
use hmac::{Hmac, Mac};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use sha2::Sha256;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::outbox::{self, status};
use crate::service::ssrf::{AddressPolicy, GuardedResolver, PolicyError};
use crate::service::webhooks::{self, SECRET_PREFIX};
use crate::state::AppState;

pub use crate::config::{DEFAULT_RETRY_SCHEDULE, RetrySchedule};
/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long a claim outlives the attempt's time limit before another worker may take it.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// `disabled_reason` after a 410.
pub const DISABLED_GONE: &str = "the endpoint answered 410 Gone";
const USER_AGENT: &str = concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION"));

/// `Retry-After`: delay-seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
/// per secret, space-separated (two during a rotation's overlap).
pub fn sign(secrets: &[String], msg_id: &str, timestamp: i64, body: &str) -> AppResult<String> {
    let mut out = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let raw = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = base64::engine::general_purpose::STANDARD.decode(raw).map_err(AppError::internal)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
        out.push(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())));
    }
    Ok(out.join(" "))
}

pub use crate::service::outbox::wake_deliveries as wake;

/// The HTTP side of delivery: https to public addresses (plus loopback when
/// allowed), plain http only to loopback and only when allowed; no
/// redirects, no proxies, a time limit per attempt.
pub struct Sender {
    https: reqwest::Client,
    http_loopback: Option<reqwest::Client>,
    https_policy: AddressPolicy,
}

impl Sender {
    pub fn new(config: &Config) -> AppResult<Self> {
        let loopback = config.webhook_loopback_allowed();
        let https_policy = AddressPolicy { allow_public: true, allow_loopback: loopback };
        let timeout = Duration::from_secs(config.webhook_timeout_secs);
        let build = |policy: AddressPolicy, https_only: bool| {
            reqwest::Client::builder()
                .dns_resolver(GuardedResolver::shared(policy))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .https_only(https_only)
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(USER_AGENT)
                .build()
                .map_err(AppError::internal)
        };
        let http_loopback = if loopback {
            Some(build(AddressPolicy { allow_public: false, allow_loopback: true }, false)?)
        } else {
            None
        };
        Ok(Self { https: build(https_policy, true)?, http_loopback, https_policy })
    }

    /// The client for `url`, after checking its scheme and any IP-literal host
    /// (hostnames are checked by the resolver, at connect time).
    fn client_for(&self, url: &url::Url) -> Result<&reqwest::Client, String> {
        let (client, policy) = match (url.scheme(), &self.http_loopback) {
            ("https", _) => (&self.https, self.https_policy),
            ("http", Some(client)) => (client, AddressPolicy { allow_public: false, allow_loopback: true }),
            ("http", None) => return Err("refused by the webhook address policy: plain http is not allowed".into()),
            (other, _) => return Err(format!("refused by the webhook address policy: scheme `{other}`")),
        };
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err("the URL has no host".into()),
        };
        if let Some(ip) = literal {
            policy
                .check(ip)
                .map_err(|why| format!("refused by the webhook address policy: {ip} is {}", why.as_str()))?;
        }
        Ok(client)
    }

    /// Sends one attempt.
    pub async fn send(&self, target: &str, msg_id: &str, timestamp: i64, signature: &str, body: &str) -> Attempt {
        let started = Instant::now();
        let attempt = |status: Option<u16>, retry_after: Option<Duration>, error: Option<String>, refused: bool| Attempt {
            status,
            retry_after,
            error,
            latency_ms: started.elapsed().as_millis() as i64,
            refused_by_policy: refused,
        };
        let finish = |status, retry_after, error| attempt(status, retry_after, error, false);
        let url = match url::Url::parse(target) {
            Ok(u) => u,
            Err(e) => return finish(None, None, Some(format!("invalid URL: {e}"))),
        };
        let client = match self.client_for(&url) {
            Ok(c) => c,
            Err(e) => return attempt(None, None, Some(e), true),
        };
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let code = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, Utc::now()));
                let error = (!response.status().is_success()).then(|| format!("HTTP {code}"));
                finish(Some(code), retry_after, error)
            }
            Err(e) => {
                let refused = refused_by_policy(&e);
                attempt(None, None, Some(error_chain(&e)), refused)
            }
        }
    }
}

/// Whether the resolver refused every address of the host (the policy, not the network).
fn refused_by_policy(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<PolicyError>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// An error with its causes (reqwest's own message hides the policy refusal).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<PolicyError>().is_some() {
            return cause.to_string();
        }
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What one attempt got.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The address policy refused the target: retrying cannot help.
    pub refused_by_policy: bool,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn lease(config: &Config) -> Duration {
    Duration::from_secs(config.webhook_timeout_secs) + LEASE_MARGIN
}

/// Due: pending and its time reached, or sending with an expired lease.
fn due(now: DateTime<Utc>) -> Condition {
    use webhook_delivery::Column as C;
    Condition::any()
        .add(Condition::all().add(C::Status.eq(status::PENDING)).add(C::NextAttemptAt.lte(now)))
        .add(Condition::all().add(C::Status.eq(status::SENDING)).add(C::NextAttemptAt.lt(now)))
}

/// Claims one due delivery, or `None` when nothing is due.
pub async fn claim_one(db: &DatabaseConnection, lease: Duration) -> AppResult<Option<webhook_delivery::Model>> {
    use webhook_delivery::Column as C;
    let now = Utc::now();
    let candidates = webhook_delivery::Entity::find()
        .filter(due(now))
        .order_by_asc(C::NextAttemptAt)
        .order_by_asc(C::Sequence)
        .order_by_asc(C::Id)
        .limit(16)
        .all(db)
        .await?;
    for candidate in candidates {
        let until = now + chrono_duration(lease);
        let won = webhook_delivery::Entity::update_many()
            .col_expr(C::Status, Expr::value(status::SENDING))
            .col_expr(C::Attempts, Expr::value(candidate.attempts + 1))
            .col_expr(C::NextAttemptAt, Expr::value(until))
            .col_expr(C::LastAttemptAt, Expr::value(now))
            .filter(C::Id.eq(&candidate.id))
            .filter(C::Status.eq(&candidate.status))
            .filter(C::Attempts.eq(candidate.attempts))
            .exec(db)
            .await?
            .rows_affected
            == 1;
        if won {
            if candidate.status == status::SENDING {
                // Its worker died mid-attempt: log the lost attempt.
                let at = candidate.last_attempt_at.unwrap_or(now);
                record_attempt(db, &candidate.id, at, None, 0, Some("the delivery worker stopped during the attempt"))
                    .await?;
            }
            return Ok(Some(webhook_delivery::Model {
                status: status::SENDING.to_string(),
                attempts: candidate.attempts + 1,
                next_attempt_at: until,
                last_attempt_at: Some(now),
                ..candidate
            }));
        }
    }
    Ok(None)
}

async fn record_attempt(
    db: &impl ConnectionTrait,
    delivery_id: &str,
    at: DateTime<Utc>,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<&str>,
) -> AppResult<()> {
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: Set(new_id()),
        delivery_id: Set(delivery_id.to_string()),
        attempted_at: Set(at),
        status_code: Set(status_code),
        latency_ms: Set(latency_ms),
        error: Set(error.map(truncate)),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn truncate(error: &str) -> String {
    const MAX: usize = 1000;
    let mut end = error.len().min(MAX);
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_string()
}

/// The claim still held: the row is `sending` with the claimed attempt count.
fn claimed(d: &webhook_delivery::Model) -> Condition {
    use webhook_delivery::Column as C;
    Condition::all().add(C::Id.eq(&d.id)).add(C::Status.eq(status::SENDING)).add(C::Attempts.eq(d.attempts))
}

/// Moves a claimed delivery on; false when the claim was lost.
async fn settle(
    db: &impl ConnectionTrait,
    d: &webhook_delivery::Model,
    new_status: &str,
    next_attempt_at: DateTime<Utc>,
    attempt: Option<&Attempt>,
    error: Option<&str>,
) -> AppResult<bool> {
    use webhook_delivery::Column as C;
    let now = Utc::now();
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(C::Status, Expr::value(new_status))
        .col_expr(C::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(C::LastError, Expr::value(error.map(truncate)));
    if let Some(a) = attempt {
        update = update.col_expr(C::LastStatusCode, Expr::value(a.status.map(i32::from)));
    }
    if new_status == status::DELIVERED {
        update = update.col_expr(C::DeliveredAt, Expr::value(now));
    }
    Ok(update.filter(claimed(d)).exec(db).await?.rows_affected == 1)
}

/// Where a delivery goes now and the secrets it is signed with, or why it cannot be sent.
/// A registered endpoint's current URL wins over the one recorded with the event.
async fn target_of(state: &AppState, d: &webhook_delivery::Model) -> AppResult<Result<(String, Vec<String>), String>> {
    let master = state.storage.master_key();
    let Some(webhook_id) = &d.webhook_id else {
        if d.event_type == webhooks::TEST_EVENT {
            return Ok(Err("the webhook was deleted".into()));
        }
        // Signed under every master key held: during a key rotation a receiver
        // still checking with the secret of the previous key keeps verifying.
        let secrets = master.versions().map(|key| outbox::session_url_secret(&key, &d.client_id)).collect();
        return Ok(Ok((d.target_url.clone(), secrets)));
    };
    let Some(hook) = webhook::Entity::find_by_id(webhook_id.clone()).one(&state.db).await? else {
        return Ok(Err("the webhook was deleted".into()));
    };
    if !hook.enabled {
        return Ok(Err(format!("the webhook is disabled ({})", hook.disabled_reason.as_deref().unwrap_or("no reason"))));
    }
    let mut secrets = vec![webhooks::open_secret(master, &hook.id, &hook.secret_ciphertext)?];
    if let (Some(previous), Some(until)) = (&hook.previous_secret_ciphertext, hook.previous_secret_expires_at)
        && until > Utc::now()
    {
        secrets.push(webhooks::open_secret(master, &hook.id, previous)?);
    }
    Ok(Ok((hook.url, secrets)))
}

/// Sends a claimed delivery and records the outcome.
pub async fn deliver(state: &AppState, sender: &Sender, d: webhook_delivery::Model) -> AppResult<()> {
    let schedule = &state.config.webhook_retry_schedule;
    let (url, secrets) = match target_of(state, &d).await? {
        Ok(s) => s,
        Err(why) => {
            settle(&state.db, &d, status::FAILED, Utc::now(), None, Some(&why)).await?;
            return Ok(());
        }
    };
    if d.attempts as usize > schedule.attempts() {
        // Reclaimed after its worker died on the last attempt.
        settle(&state.db, &d, status::FAILED, Utc::now(), None, Some("gave up: the retry schedule is exhausted"))
            .await?;
        return Ok(());
    }
    let attempted_at = Utc::now();
    let timestamp = attempted_at.timestamp();
    let signature = sign(&secrets, &d.id, timestamp, &d.payload)?;
    let attempt = sender.send(&url, &d.id, timestamp, &signature, &d.payload).await;
    tracing::debug!(delivery = %d.id, status = ?attempt.status, error = ?attempt.error, "webhook attempt");

    let txn = crate::db::begin_write(&state.db).await?;
    let code = attempt.status.map(i32::from);
    let now = Utc::now();
    let success = attempt.status.is_some_and(|s| (200..300).contains(&s));
    let settled = if success {
        settle(&txn, &d, status::DELIVERED, now, Some(&attempt), None).await?
    } else if attempt.status == Some(410) || attempt.refused_by_policy {
        settle(&txn, &d, status::FAILED, now, Some(&attempt), attempt.error.as_deref()).await?
    } else {
        let jitter = rand::thread_rng().r#gen::<f64>();
        match schedule.next_delay(d.attempts.max(1) as u32, jitter) {
            Some(delay) => {
                let honoured = match attempt.status {
                    Some(429 | 503) => attempt.retry_after.map_or(delay, |r| r.max(delay)),
                    _ => delay,
                };
                settle(&txn, &d, status::PENDING, now + chrono_duration(honoured), Some(&attempt), attempt.error.as_deref())
                    .await?
            }
            None => {
                let error = format!("gave up after {} attempts: {}", d.attempts, attempt.error.as_deref().unwrap_or("failed"));
                settle(&txn, &d, status::FAILED, now, Some(&attempt), Some(&error)).await?
            }
        }
    };
    if !settled {
        tracing::warn!(delivery = %d.id, "lost the delivery's claim before recording its attempt");
        txn.rollback().await?;
        return Ok(());
    }
    record_attempt(&txn, &d.id, attempted_at, code, attempt.latency_ms, attempt.error.as_deref()).await?;
    if let Some(webhook_id) = &d.webhook_id {
        endpoint_health(&txn, &state.config, webhook_id, success, attempt.status == Some(410), now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Tracks how long an endpoint has been failing; disables it on 410 or
/// after `webhook_disable_after_secs` of failures, telling the client with
/// a `webhook.disabled` event (and `disabled_reason`, the dashboard flag).
async fn endpoint_health(
    db: &impl ConnectionTrait,
    config: &Config,
    webhook_id: &str,
    success: bool,
    gone: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use webhook::Column as C;
    if success {
        webhook::Entity::update_many()
            .col_expr(C::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(C::Id.eq(webhook_id))
            .filter(C::FailingSince.is_not_null())
            .exec(db)
            .await?;
        return Ok(());
    }
    let Some(hook) = webhook::Entity::find_by_id(webhook_id.to_string()).one(db).await? else { return Ok(()) };
    if !hook.enabled {
        return Ok(());
    }
    let failing_since = hook.failing_since.unwrap_or(now);
    let too_long = now - failing_since >= chrono_duration(Duration::from_secs(config.webhook_disable_after_secs));
    let reason = if gone {
        Some(DISABLED_GONE.to_string())
    } else if too_long && hook.failing_since.is_some() {
        Some(format!("deliveries failed for {} hours", (now - failing_since).num_hours()))
    } else {
        None
    };
    let mut update = webhook::Entity::update_many()
        .col_expr(C::FailingSince, Expr::value(failing_since))
        .col_expr(C::UpdatedAt, Expr::value(now));
    if let Some(reason) = &reason {
        update = update.col_expr(C::Enabled, Expr::value(false)).col_expr(C::DisabledReason, Expr::value(reason.clone()));
    }
    let changed = update.filter(C::Id.eq(webhook_id)).filter(C::Enabled.eq(true)).exec(db).await?.rows_affected;
    if let (Some(reason), 1) = (reason, changed) {
        tracing::warn!(webhook = %webhook_id, reason = %reason, "webhook endpoint disabled");
        outbox::webhook_disabled(db, &hook, &reason).await?;
    }
    Ok(())
}

/// Claims and sends due deliveries until none is due; returns how many were sent.
pub async fn run_due_once(state: &AppState, sender: &Sender) -> AppResult<usize> {
    let mut sent = 0;
    while !state.shutdown.is_stopping()
        && let Some(d) = claim_one(&state.db, lease(&state.config)).await?
    {
        deliver(state, sender, d).await?;
        sent += 1;
    }
    Ok(sent)
}

/// One delivery worker loop (tests abort its handle to simulate a crash).
pub fn spawn_worker(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let sender = match Sender::new(&state.config) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery worker cannot build its HTTP client");
                return;
            }
        };
        let poll = Duration::from_millis(state.config.webhook_poll_ms);
        while !state.shutdown.is_stopping() {
            if let Err(e) = run_due_once(&state, &sender).await {
                tracing::warn!(error = %e, "webhook delivery pass failed");
            }
            tokio::select! {
                _ = outbox::deliveries_woken() => {
                    // Give the transaction that wrote the events a moment to commit.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ = tokio::time::sleep(poll) => {}
                _ = state.shutdown.stopped() => {}
            }
        }
    })
}

/// Starts `config.webhook_workers` delivery workers in this process; each
/// ends after its current attempt once the process shuts down.
pub fn spawn_workers(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.config.webhook_workers).map(|_| spawn_worker(state)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_ten_attempts_over_about_three_days() {
        let s = RetrySchedule::parse(DEFAULT_RETRY_SCHEDULE).unwrap();
        assert_eq!(s.attempts(), 10);
        let total: Duration = s.delays().iter().sum();
        assert!(total > Duration::from_secs(3 * 24 * 3600) && total < Duration::from_secs(4 * 24 * 3600), "{total:?}");
        assert_eq!(s.next_delay(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(s.next_delay(2, 1.0), Some(Duration::from_secs(330)));
        assert_eq!(s.next_delay(10, 0.0), None);
    }

    #[test]
    fn schedules_parse_units_and_reject_nonsense() {
        let s = RetrySchedule::parse(" 0, 150ms ,2s,1m, 1h").unwrap();
        assert_eq!(s.delays().to_vec(), vec![Duration::ZERO, Duration::from_millis(150), Duration::from_secs(2), Duration::from_secs(60), Duration::from_secs(3600)]);
        for bad in ["", " , ", "5x", "soon", "-1s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Thu, 26 Nov 2026 10:01:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Thu, 26 Nov 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("later", now), None);
    }

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The spec's published test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string();
        let b = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY".to_string();
        let both = sign(&[b.clone(), a.clone()], "m", 1, "{}").unwrap();
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts, vec![sign(&[b], "m", 1, "{}").unwrap(), sign(&[a], "m", 1, "{}").unwrap()]);
    }

    #[tokio::test]
    async fn production_refuses_loopback_and_plain_http_before_connecting() {
        // webhook_allow_loopback is ignored in production.
        let config = Config { environment: "production".into(), webhook_allow_loopback: true, ..Config::default() };
        let sender = Sender::new(&config).unwrap();
        for url in ["https://127.0.0.1:9/", "https://[::1]:9/", "https://[::ffff:127.0.0.1]:9/", "https://169.254.169.254/", "http://93.184.216.34/"] {
            let err = sender.client_for(&url::Url::parse(url).unwrap()).err().unwrap_or_default();
            assert!(err.contains("address policy"), "{url}: {err}");
        }
    }
}
