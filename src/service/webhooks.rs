//! Webhook endpoints of a client: create, list, update, delete, secret
//! rotation and test events. Secrets are sealed with the master key; the
//! plaintext leaves this module only on create and rotate.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use entity::{webhook, webhook_delivery};
use rand::RngCore;
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::service::types::Page;
use crate::storage::MasterKey;

/// Recognisable prefix of every webhook signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_NAME_CHARS: usize = 200;
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;
pub const MAX_OVERLAP_HOURS: u32 = 168;
pub const TEST_EVENT: &str = "webhook.test";
/// `disabled_reason` when an integrator turns the endpoint off.
pub const DISABLED_BY_USER: &str = "disabled by the client";

/// Which URLs an endpoint may have: those the delivery's address policy
/// could reach. A URL it would always refuse is a 400 at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    /// `webhook_allow_loopback` outside production: https anywhere public or
    /// loopback, plain http to loopback only.
    WithLoopback,
    /// https to public hosts only.
    PublicOnly,
}

impl UrlPolicy {
    pub fn for_config(config: &crate::config::Config) -> Self {
        if config.webhook_loopback_allowed() { UrlPolicy::WithLoopback } else { UrlPolicy::PublicOnly }
    }
}

/// A checked endpoint URL: absolute http(s), at most 2048 characters, no userinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, policy: UrlPolicy) -> AppResult<Self> {
        let raw = raw.trim();
        let bad = |message: &str| AppError::validation("url", message);
        if raw.is_empty() {
            return Err(bad("is required"));
        }
        if raw.len() > MAX_URL_LEN {
            return Err(bad("must be at most 2048 characters"));
        }
        let parsed = url::Url::parse(raw).map_err(|e| bad(&format!("is not an absolute URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("must be an http or https URL"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("must name a host"));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        let loopback_host = literal.is_some_and(|ip| crate::service::ssrf::classify(ip) == Some(crate::service::ssrf::Refusal::Loopback))
            || parsed.host_str().is_some_and(|h| h.eq_ignore_ascii_case("localhost"));
        let allow_loopback = policy == UrlPolicy::WithLoopback;
        if parsed.scheme() == "http" && !(allow_loopback && loopback_host) {
            return Err(bad(if allow_loopback {
                "must use https (plain http is delivered only to loopback addresses)"
            } else {
                "must use https"
            }));
        }
        if let Some(ip) = literal {
            let addresses = crate::service::ssrf::AddressPolicy { allow_public: true, allow_loopback };
            if let Err(why) = addresses.check(ip) {
                return Err(bad(&format!("{ip} is a {} address, which webhooks never reach", why.as_str())));
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("must not contain a user name or password"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked endpoint name: 1 to 200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookName(String);

impl WebhookName {
    pub fn parse(raw: &str) -> AppResult<Self> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(AppError::validation("name", "must be 1 to 200 characters"));
        }
        Ok(Self(name.to_string()))
    }
}

/// A new endpoint and its secret, shown once.
pub struct CreatedWebhook {
    pub model: webhook::Model,
    pub secret: String,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Authenticated-encryption context binding a sealed secret to its webhook.
/// The associated data a webhook secret is sealed with.
pub fn secret_context(webhook_id: &str) -> Vec<u8> {
    format!("webhook:{webhook_id}").into_bytes()
}

/// Opens a sealed secret of `webhook_id` (for delivery signing).
pub fn open_secret(master: &MasterKey, webhook_id: &str, sealed: &[u8]) -> AppResult<String> {
    let plain = master.open(&secret_context(webhook_id), sealed).map_err(AppError::Internal)?;
    String::from_utf8(plain).map_err(AppError::internal)
}

pub async fn create(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    client_id: &str,
    name: WebhookName,
    url: WebhookUrl,
) -> AppResult<CreatedWebhook> {
    let id = new_id();
    let secret = new_secret();
    let now = Utc::now();
    let model = webhook::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(client_id.to_string()),
        name: Set(name.0),
        url: Set(url.0),
        secret_ciphertext: Set(master.seal(&secret_context(&id), secret.as_bytes())),
        previous_secret_ciphertext: Set(None),
        previous_secret_expires_at: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(CreatedWebhook { model, secret })
}

/// One page of a client's endpoints, newest first, and the number matching.
pub async fn list(
    db: &impl ConnectionTrait,
    client_id: &str,
    page: Page,
    search_term: Option<&str>,
) -> AppResult<(Vec<webhook::Model>, u64)> {
    let mut query = webhook::Entity::find().filter(webhook::Column::ClientId.eq(client_id));
    if let Some(term) = search_term.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        let contains = |column: webhook::Column| {
            sea_orm::sea_query::ExprTrait::like(
                Func::lower(Expr::col(column)),
                LikeExpr::new(pattern.clone()).escape('\\'),
            )
        };
        query = query.filter(Condition::any().add(contains(webhook::Column::Name)).add(contains(webhook::Column::Url)));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(webhook::Column::CreatedAt)
        .order_by_desc(webhook::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
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

/// An endpoint of `client_id`; another client's id is 404.
pub async fn find(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<webhook::Model> {
    webhook::Entity::find_by_id(id.to_string())
        .filter(webhook::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("webhook"))
}

/// Fields an update may change; `None` leaves the value as is.
#[derive(Debug, Default)]
pub struct WebhookChanges {
    pub name: Option<WebhookName>,
    pub url: Option<WebhookUrl>,
    pub enabled: Option<bool>,
}

impl WebhookChanges {
    /// Names of the fields present, for the audit row.
    pub fn field_names(&self) -> Vec<&'static str> {
        [("name", self.name.is_some()), ("url", self.url.is_some()), ("enabled", self.enabled.is_some())]
            .into_iter()
            .filter_map(|(f, present)| present.then_some(f))
            .collect()
    }
}

pub async fn update(
    db: &impl ConnectionTrait,
    client_id: &str,
    id: &str,
    changes: WebhookChanges,
) -> AppResult<webhook::Model> {
    let current = find(db, client_id, id).await?;
    let was_enabled = current.enabled;
    let mut active: webhook::ActiveModel = current.into();
    if let Some(name) = changes.name {
        active.name = Set(name.0);
    }
    if let Some(url) = changes.url {
        active.url = Set(url.0);
    }
    match changes.enabled {
        Some(true) if !was_enabled => {
            active.enabled = Set(true);
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        }
        Some(false) if was_enabled => {
            active.enabled = Set(false);
            active.disabled_reason = Set(Some(DISABLED_BY_USER.to_string()));
        }
        _ => {}
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, client_id: &str, id: &str) -> AppResult<()> {
    let found = find(db, client_id, id).await?;
    webhook::Entity::delete_by_id(found.id).exec(db).await?;
    Ok(())
}

/// How long the old secret stays valid after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap(u32);

impl Overlap {
    /// Absent means 24 hours; at most 168 (a week).
    pub fn hours(hours: Option<u32>) -> AppResult<Self> {
        match hours.unwrap_or(DEFAULT_OVERLAP_HOURS) {
            h if h > MAX_OVERLAP_HOURS => {
                Err(AppError::validation("overlap_hours", format!("must be at most {MAX_OVERLAP_HOURS}")))
            }
            h => Ok(Self(h)),
        }
    }
}

/// Replaces the secret; the old one stays valid (for signing alongside the
/// new one) until `now + overlap`. Returns the new secret, shown once.
pub async fn rotate_secret(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    client_id: &str,
    id: &str,
    overlap: Overlap,
) -> AppResult<(webhook::Model, String)> {
    let current = find(db, client_id, id).await?;
    let now = Utc::now();
    let secret = new_secret();
    let sealed = master.seal(&secret_context(&current.id), secret.as_bytes());
    let previous = current.secret_ciphertext.clone();
    let mut active: webhook::ActiveModel = current.into();
    active.secret_ciphertext = Set(sealed);
    if overlap.0 == 0 {
        active.previous_secret_ciphertext = Set(None);
        active.previous_secret_expires_at = Set(None);
    } else {
        active.previous_secret_ciphertext = Set(Some(previous));
        active.previous_secret_expires_at = Set(Some(now + Duration::hours(i64::from(overlap.0))));
    }
    active.updated_at = Set(now);
    Ok((active.update(db).await?, secret))
}

/// Queues a `webhook.test` event for the endpoint in the outbox; delivery
/// picks it up. A disabled endpoint is 409 (nothing would deliver it).
pub async fn queue_test_event(
    db: &impl ConnectionTrait,
    client_id: &str,
    id: &str,
) -> AppResult<webhook_delivery::Model> {
    let hook = find(db, client_id, id).await?;
    if !hook.enabled {
        return Err(AppError::Conflict("the webhook is disabled; enable it before sending a test event".into()));
    }
    let now = Utc::now();
    Ok(webhook_delivery::ActiveModel {
        id: Set(new_id()),
        client_id: Set(hook.client_id.clone()),
        webhook_id: Set(Some(hook.id.clone())),
        target_url: Set(hook.url.clone()),
        event_type: Set(TEST_EVENT.to_string()),
        session_id: Set(None),
        sequence: Set(0),
        payload: Set(test_payload(&hook.id, now)),
        status: Set("pending".to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_attempt_at: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
    .insert(db)
    .await?)
}

fn test_payload(webhook_id: &str, now: DateTime<Utc>) -> String {
    serde_json::json!({
        "type": TEST_EVENT,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": { "webhook_id": webhook_id },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: AppError) -> String {
        e.field_errors()[0].field.clone()
    }

    #[test]
    fn urls_are_absolute_http_without_userinfo() {
        let dev = UrlPolicy::WithLoopback;
        assert_eq!(WebhookUrl::parse(" https://example.com/hook ", dev).unwrap().as_str(), "https://example.com/hook");
        assert!(WebhookUrl::parse("http://localhost:9000/h?x=1", dev).is_ok());
        for bad in ["", "example.com/hook", "/hook", "ftp://example.com", "https://user:pw@example.com/", "https://user@example.com/", "mailto:a@b.c", "http://"] {
            assert_eq!(field(WebhookUrl::parse(bad, dev).unwrap_err()), "url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long, dev).is_err());
        assert!(WebhookUrl::parse("http://example.com/", UrlPolicy::PublicOnly).is_err());
        assert!(WebhookUrl::parse("https://example.com/", UrlPolicy::PublicOnly).is_ok());
    }

    #[test]
    fn urls_the_delivery_would_always_refuse_are_refused_at_registration() {
        let dev = UrlPolicy::WithLoopback;
        for refused in ["http://example.com/hook", "https://10.0.0.5/h", "https://169.254.169.254/latest", "https://[fd00::1]/h", "http://192.168.1.1/"] {
            assert_eq!(field(WebhookUrl::parse(refused, dev).unwrap_err()), "url", "{refused}");
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/h", dev).is_ok());
        assert!(WebhookUrl::parse("https://[::1]:9000/h", dev).is_ok());
        for refused in ["http://127.0.0.1:9000/h", "https://127.0.0.1/h", "http://localhost/h"] {
            assert_eq!(field(WebhookUrl::parse(refused, UrlPolicy::PublicOnly).unwrap_err()), "url", "{refused}");
        }
        assert!(WebhookUrl::parse("https://hooks.example.com/h", UrlPolicy::PublicOnly).is_ok());
    }

    #[test]
    fn names_are_1_to_200_chars() {
        assert!(WebhookName::parse("  ").is_err());
        assert!(WebhookName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(field(WebhookName::parse(&"x".repeat(201)).unwrap_err()), "name");
    }

    #[test]
    fn secrets_have_the_prefix_and_24_random_bytes() {
        let s = new_secret();
        let raw = base64::engine::general_purpose::STANDARD.decode(s.strip_prefix(SECRET_PREFIX).unwrap()).unwrap();
        assert_eq!(raw.len(), 24);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn overlap_defaults_and_limits() {
        assert_eq!(Overlap::hours(None).unwrap(), Overlap(24));
        assert_eq!(Overlap::hours(Some(168)).unwrap(), Overlap(168));
        assert_eq!(field(Overlap::hours(Some(169)).unwrap_err()), "overlap_hours");
    }

    #[test]
    fn like_wildcards_match_literally() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
