//! The hosted capture page's side of an IDV session: capture links (a
//! short-lived, revocable token bound to one session, stored hashed), the
//! device that opened one, the per-client page settings (consent text,
//! colours, logo, return URL, framing origins) and the progress the
//! desktop follows during a phone handoff.

use chrono::{DateTime, Duration, Utc};
use entity::{capture_link, capture_settings, idv_session};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::ids::{new_id, random_token, sha256_hex};
use crate::service::history::{self, SessionKind};
use crate::service::types::{DocumentType, SessionStatus};

/// Recognisable prefix of every capture token.
pub const TOKEN_PREFIX: &str = "tcl_";
/// Link lifetime when the request names none, and the longest allowed.
pub const DEFAULT_TTL_MINUTES: u32 = 60;
pub const MAX_TTL_MINUTES: u32 = 24 * 60;
/// A handoff link (desktop → phone) lives this long.
pub const HANDOFF_TTL_MINUTES: u32 = 15;
const MAX_CONSENT_CHARS: usize = 4000;
const MAX_LOGO_BYTES: usize = 96 * 1024;
const MAX_FRAME_ANCESTORS: usize = 10;

/// Who minted a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOrigin {
    /// The integrator, over the API.
    Api,
    /// The page on a desktop, for the user's phone.
    Handoff,
}

impl LinkOrigin {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Handoff => "handoff",
        }
    }
}

/// An `http(s)` URL the page may send the user back to.
#[derive(Debug, Clone, PartialEq)]
pub struct RedirectUrl(String);

impl RedirectUrl {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|_| AppError::validation(field, "must be an absolute URL"))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(AppError::validation(field, "must be an http or https URL"));
        }
        if raw.len() > 2000 {
            return Err(AppError::validation(field, "at most 2000 characters"));
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated request for a link.
pub struct NewLink {
    pub ttl_minutes: u32,
    pub redirect_url: Option<RedirectUrl>,
    pub origin: LinkOrigin,
}

impl NewLink {
    /// `ttl_minutes`: 1..=1440, default 60.
    pub fn from_request(ttl_minutes: Option<u32>, redirect_url: Option<&str>) -> AppResult<Self> {
        let ttl = ttl_minutes.unwrap_or(DEFAULT_TTL_MINUTES);
        if !(1..=MAX_TTL_MINUTES).contains(&ttl) {
            return Err(AppError::validation("ttl_minutes", format!("must be between 1 and {MAX_TTL_MINUTES}")));
        }
        let redirect_url = match redirect_url.map(str::trim).filter(|s| !s.is_empty()) {
            Some(u) => Some(RedirectUrl::parse("redirect_url", u)?),
            None => None,
        };
        Ok(Self { ttl_minutes: ttl, redirect_url, origin: LinkOrigin::Api })
    }
}

/// A new link: the token is shown once (only its hash is stored).
#[derive(Debug, Clone)]
pub struct MintedLink {
    pub id: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// `{public_url}/verify/{token}`.
pub fn capture_url(base: &str, token: &str) -> String {
    format!("{}/verify/{token}", base.trim_end_matches('/'))
}

fn is_finished(status: SessionStatus) -> bool {
    matches!(status, SessionStatus::Complete | SessionStatus::TemporarilyComplete)
}

/// Mints a link to an open session; it never outlives the session.
pub async fn mint(
    db: &impl ConnectionTrait,
    session: &idv_session::Model,
    new: NewLink,
    endpoint: &str,
    now: DateTime<Utc>,
) -> AppResult<MintedLink> {
    let status = crate::service::idv::effective_status(session, now);
    crate::service::idv::ensure_open(status, session.expires_at, now, is_finished(status))?;
    let token = format!("{TOKEN_PREFIX}{}", random_token(40));
    let expires_at = std::cmp::min(now + Duration::minutes(i64::from(new.ttl_minutes)), session.expires_at);
    let id = new_id();
    capture_link::Entity::insert(capture_link::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(session.client_id.clone()),
        session_id: Set(session.id.clone()),
        token_hash: Set(sha256_hex(token.as_bytes())),
        origin: Set(new.origin.as_str().into()),
        redirect_url: Set(new.redirect_url.map(|u| u.0)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        opened_at: Set(None),
        device: Set(None),
        browser: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    let detail = serde_json::json!({ "capture_link_id": id, "origin": new.origin.as_str() });
    history::append(db, SessionKind::Idv, &session.client_id, &session.id, "capture_link_created", endpoint, Some(detail))
        .await?;
    Ok(MintedLink { id, token, expires_at })
}

/// What a presented token gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Open,
    Expired,
    Revoked,
    /// The session was finalized (or closed otherwise): nothing more to capture.
    Finished,
    Unknown,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Finished => "finished",
            Self::Unknown => "unknown",
        }
    }
}

/// A token's link and session, and the state the page should show.
pub struct Resolved {
    pub state: LinkState,
    pub link: Option<capture_link::Model>,
    pub session: Option<idv_session::Model>,
}

fn plausible(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX) && token.len() <= 80 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Looks a token up (by its hash). A link whose session is finalized,
/// expired or blocked reads as `finished`.
pub async fn resolve(db: &impl ConnectionTrait, token: &str, now: DateTime<Utc>) -> AppResult<Resolved> {
    let unknown = Resolved { state: LinkState::Unknown, link: None, session: None };
    if !plausible(token) {
        return Ok(unknown);
    }
    let Some(link) = capture_link::Entity::find()
        .filter(capture_link::Column::TokenHash.eq(sha256_hex(token.as_bytes())))
        .one(db)
        .await?
    else {
        return Ok(unknown);
    };
    let session = idv_session::Entity::find_by_id(link.session_id.clone())
        .filter(idv_session::Column::ClientId.eq(&link.client_id))
        .one(db)
        .await?;
    let Some(session) = session else { return Ok(unknown) };
    let status = crate::service::idv::effective_status(&session, now);
    let state = if link.revoked_at.is_some() {
        LinkState::Revoked
    } else if status != SessionStatus::InProgress {
        LinkState::Finished
    } else if link.expires_at <= now {
        LinkState::Expired
    } else {
        LinkState::Open
    };
    Ok(Resolved { state, link: Some(link), session: Some(session) })
}

/// The link behind a token presented on an SDK call: 401 with a clear
/// reason when unknown, expired or revoked. A finished session passes
/// here; the session gate answers its 409 (and finalize its stored verdict).
pub async fn authorize(db: &impl ConnectionTrait, token: &str, now: DateTime<Utc>) -> AppResult<capture_link::Model> {
    let resolved = resolve(db, token, now).await?;
    match (resolved.state, resolved.link) {
        (LinkState::Open | LinkState::Finished, Some(link)) => Ok(link),
        (LinkState::Expired, _) => Err(AppError::Unauthenticated("the capture link has expired; ask for a new link".into())),
        (LinkState::Revoked, _) => Err(AppError::Unauthenticated("the capture link was revoked; ask for a new link".into())),
        _ => Err(AppError::Unauthenticated("the capture link is not valid".into())),
    }
}

/// Revokes one link of the session, or all of them; returns how many.
pub async fn revoke(
    db: &impl ConnectionTrait,
    client_id: &str,
    session_id: &str,
    link_id: Option<&str>,
    endpoint: &str,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let mut update = capture_link::Entity::update_many()
        .col_expr(capture_link::Column::RevokedAt, Expr::value(now))
        .filter(capture_link::Column::ClientId.eq(client_id))
        .filter(capture_link::Column::SessionId.eq(session_id))
        .filter(capture_link::Column::RevokedAt.is_null());
    if let Some(id) = link_id {
        update = update.filter(capture_link::Column::Id.eq(id));
    }
    let revoked = update.exec(db).await?.rows_affected;
    if revoked > 0 {
        let detail = serde_json::json!({ "capture_link_id": link_id, "revoked": revoked });
        history::append(db, SessionKind::Idv, client_id, session_id, "capture_link_revoked", endpoint, Some(detail)).await?;
    }
    Ok(revoked)
}

/// The device class and browser a User-Agent names (coarse, for the admin UI).
pub fn describe_user_agent(ua: &str) -> (&'static str, String) {
    let has = |s: &str| ua.contains(s);
    let device = if has("iPad") || (has("Android") && !has("Mobile")) || has("Tablet") {
        "tablet"
    } else if has("Mobi") || has("iPhone") || has("Android") {
        "phone"
    } else {
        "desktop"
    };
    let os = if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        "unknown OS"
    };
    let version = |marker: &str| -> Option<String> {
        let rest = &ua[ua.find(marker)? + marker.len()..];
        let v: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        (!v.is_empty()).then_some(v)
    };
    let browser = if let Some(v) = version("Edg/") {
        format!("Edge {v}")
    } else if let Some(v) = version("Firefox/") {
        format!("Firefox {v}")
    } else if let Some(v) = version("SamsungBrowser/") {
        format!("Samsung Internet {v}")
    } else if let Some(v) = version("HeadlessChrome/") {
        format!("Headless Chrome {v}")
    } else if let Some(v) = version("Chrome/").or_else(|| version("CriOS/")) {
        format!("Chrome {v}")
    } else if let Some(v) = has("Safari/").then(|| version("Version/")).flatten() {
        format!("Safari {v}")
    } else {
        "unknown browser".to_string()
    };
    (device, format!("{browser} on {os}"))
}

/// Records the first opening of a link (device, browser) in the link and
/// the session history; later openings change nothing.
pub async fn record_open(
    db: &impl ConnectionTrait,
    link: &capture_link::Model,
    user_agent: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if link.opened_at.is_some() {
        return Ok(());
    }
    let (device, browser) = describe_user_agent(user_agent);
    let res = capture_link::Entity::update_many()
        .col_expr(capture_link::Column::OpenedAt, Expr::value(now))
        .col_expr(capture_link::Column::Device, Expr::value(device))
        .col_expr(capture_link::Column::Browser, Expr::value(browser.clone()))
        .filter(capture_link::Column::Id.eq(&link.id))
        .filter(capture_link::Column::OpenedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected > 0 {
        let detail = serde_json::json!({ "capture_link_id": link.id, "device": device, "browser": browser });
        history::append(db, SessionKind::Idv, &link.client_id, &link.session_id, "capture_page_opened", "/verify", Some(detail))
            .await?;
    }
    Ok(())
}

/// How a session was captured, for the admin UI: the links opened, latest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaptureOpening {
    pub origin: String,
    pub device: String,
    pub browser: String,
    pub opened_at: DateTime<Utc>,
}

pub async fn openings(db: &impl ConnectionTrait, client_id: &str, session_id: &str) -> AppResult<Vec<CaptureOpening>> {
    Ok(capture_link::Entity::find()
        .filter(capture_link::Column::ClientId.eq(client_id))
        .filter(capture_link::Column::SessionId.eq(session_id))
        .filter(capture_link::Column::OpenedAt.is_not_null())
        .order_by_desc(capture_link::Column::OpenedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|l| CaptureOpening {
            origin: l.origin,
            device: l.device.unwrap_or_default(),
            browser: l.browser.unwrap_or_default(),
            opened_at: l.opened_at.unwrap_or(l.created_at),
        })
        .collect())
}

/// Where the session stands, step by step (what the desktop follows
/// while the phone captures).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub consented: bool,
    pub document_type_e: DocumentType,
    pub document_front_given: bool,
    pub document_back_given: bool,
    pub selfie_given: bool,
    /// The session no longer accepts captures (finalized, expired or blocked).
    pub finished: bool,
    pub status_e: SessionStatus,
}

pub fn progress(session: &idv_session::Model, now: DateTime<Utc>) -> Progress {
    let status = crate::service::idv::effective_status(session, now);
    Progress {
        consented: session.consented,
        document_type_e: DocumentType::from_db(&session.document_type),
        document_front_given: session.document_front_given,
        document_back_given: session.document_back_given,
        selfie_given: session.selfie_given,
        finished: status != SessionStatus::InProgress,
        status_e: status,
    }
}

/// What the server made of an uploaded document side so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SideFeedback {
    /// Not uploaded.
    Missing,
    /// Uploaded; the analysis is still running.
    Analysing,
    /// The analysis read the side's text (front) or barcode / MRZ (back, passport page).
    Read,
    /// The analysis ran and read nothing: ask for a closer, sharper photo.
    Unreadable,
}

/// The analysis of the latest front and back upload, for the page's answer after an upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentFeedback {
    pub front: SideFeedback,
    pub back: SideFeedback,
}

/// Judges each side by the rows its latest analysis wrote: the side's
/// checks (the analysis ran) and its reading (`printed` for a front,
/// `machine` for a back or a passport page), both newer than the upload.
pub async fn document_feedback(db: &impl ConnectionTrait, session: &idv_session::Model) -> AppResult<DocumentFeedback> {
    use crate::domain::checks::owed;
    use crate::service::document_checks::{SOURCE_MACHINE, SOURCE_PRINTED};
    use entity::{check_result, document_reading};
    let passport = DocumentType::from_db(&session.document_type) == DocumentType::Passport;
    let sides = [
        ("front", session.document_front_given_at, owed::FRONT[3], if passport { SOURCE_MACHINE } else { SOURCE_PRINTED }),
        ("back", session.document_back_given_at, owed::BACK[3], SOURCE_MACHINE),
    ];
    let mut out = [SideFeedback::Missing; 2];
    for (i, (side, given_at, check, source)) in sides.into_iter().enumerate() {
        let Some(given_at) = given_at else { continue };
        let analysed = check_result::Entity::find()
            .filter(check_result::Column::ClientId.eq(&session.client_id))
            .filter(check_result::Column::SessionId.eq(&session.id))
            .filter(check_result::Column::CheckName.eq(check))
            .filter(check_result::Column::UpdatedAt.gte(given_at))
            .one(db)
            .await?
            .is_some();
        if !analysed {
            out[i] = SideFeedback::Analysing;
            continue;
        }
        let read = document_reading::Entity::find()
            .filter(document_reading::Column::ClientId.eq(&session.client_id))
            .filter(document_reading::Column::SessionId.eq(&session.id))
            .filter(document_reading::Column::Side.eq(side))
            .filter(document_reading::Column::Source.eq(source))
            .filter(document_reading::Column::UpdatedAt.gte(given_at))
            .one(db)
            .await?
            .is_some();
        out[i] = if read { SideFeedback::Read } else { SideFeedback::Unreadable };
    }
    Ok(DocumentFeedback { front: out[0], back: out[1] })
}

/// A client's capture page settings; absent fields use the built-in defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CaptureSettings {
    /// Shown above the consent checkbox (plain text; blank lines separate paragraphs).
    #[schema(example = "Acme Bank checks your identity document and a selfie to open your account.")]
    pub consent_text: Option<String>,
    /// Buttons and highlights, `#rrggbb`.
    #[schema(example = "#0a7b3e")]
    pub primary_color: Option<String>,
    /// Page background, `#rrggbb`.
    #[schema(example = "#ffffff")]
    pub background_color: Option<String>,
    /// A `data:image/png|jpeg|svg+xml;base64,...` URL, at most 96 kB.
    #[schema(example = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=")]
    pub logo_data_url: Option<String>,
    /// Where the page sends the user when done (a link's own `redirect_url` wins).
    #[schema(example = "https://shop.example/kyc/done")]
    pub redirect_url: Option<String>,
    /// Origins (`https://shop.example`) allowed to show the page in an iframe;
    /// none: the page cannot be framed.
    #[serde(default)]
    #[schema(example = json!(["https://shop.example"]))]
    pub frame_ancestors: Vec<String>,
}

fn color(field: &str, v: Option<String>) -> AppResult<Option<String>> {
    let Some(v) = v.map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()) else { return Ok(None) };
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(AppError::validation(field, "must be a colour #rrggbb"));
    }
    Ok(Some(v))
}

fn origin(field: &str, raw: &str) -> AppResult<String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| AppError::validation(field, "must be an origin such as https://shop.example"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() || !matches!(url.path(), "" | "/") {
        return Err(AppError::validation(field, "must be an origin such as https://shop.example"));
    }
    Ok(url.origin().ascii_serialization())
}

impl CaptureSettings {
    /// Checks and normalises every field (the names are the request's).
    pub fn validated(self) -> AppResult<Self> {
        let consent_text = self.consent_text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if consent_text.as_ref().is_some_and(|t| t.chars().count() > MAX_CONSENT_CHARS) {
            return Err(AppError::validation("consent_text", format!("at most {MAX_CONSENT_CHARS} characters")));
        }
        let logo_data_url = self.logo_data_url.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if let Some(logo) = &logo_data_url {
            let known = ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/svg+xml;base64,"];
            let Some(data) = known.iter().find_map(|p| logo.strip_prefix(p)) else {
                return Err(AppError::validation("logo_data_url", "must be a base64 data: URL of a PNG, JPEG or SVG image"));
            };
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| AppError::validation("logo_data_url", "is not valid base64"))?;
            if bytes.len() > MAX_LOGO_BYTES {
                return Err(AppError::validation("logo_data_url", format!("at most {MAX_LOGO_BYTES} bytes")));
            }
        }
        let redirect_url = match self.redirect_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(u) => Some(RedirectUrl::parse("redirect_url", u)?.0),
            None => None,
        };
        if self.frame_ancestors.len() > MAX_FRAME_ANCESTORS {
            return Err(AppError::validation("frame_ancestors", format!("at most {MAX_FRAME_ANCESTORS} origins")));
        }
        let frame_ancestors = self
            .frame_ancestors
            .iter()
            .enumerate()
            .map(|(i, o)| origin(&format!("frame_ancestors[{i}]"), o))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Self {
            consent_text,
            primary_color: color("primary_color", self.primary_color)?,
            background_color: color("background_color", self.background_color)?,
            logo_data_url,
            redirect_url,
            frame_ancestors,
        })
    }
}

pub async fn settings(db: &impl ConnectionTrait, client_id: &str) -> AppResult<CaptureSettings> {
    let Some(row) = capture_settings::Entity::find_by_id(client_id.to_string()).one(db).await? else {
        return Ok(CaptureSettings::default());
    };
    let frame_ancestors = row
        .frame_ancestors
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default();
    Ok(CaptureSettings {
        consent_text: row.consent_text,
        primary_color: row.primary_color,
        background_color: row.background_color,
        logo_data_url: row.logo_data_url,
        redirect_url: row.redirect_url,
        frame_ancestors,
    })
}

/// Replaces the client's settings with validated ones.
pub async fn update_settings(db: &impl ConnectionTrait, client_id: &str, s: CaptureSettings) -> AppResult<CaptureSettings> {
    let s = s.validated()?;
    let row = capture_settings::ActiveModel {
        client_id: Set(client_id.to_string()),
        consent_text: Set(s.consent_text.clone()),
        primary_color: Set(s.primary_color.clone()),
        background_color: Set(s.background_color.clone()),
        logo_data_url: Set(s.logo_data_url.clone()),
        redirect_url: Set(s.redirect_url.clone()),
        frame_ancestors: Set(Some(serde_json::json!(s.frame_ancestors))),
        updated_at: Set(Utc::now()),
    };
    use capture_settings::Column as C;
    capture_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::ClientId)
                .update_columns([
                    C::ConsentText,
                    C::PrimaryColor,
                    C::BackgroundColor,
                    C::LogoDataUrl,
                    C::RedirectUrl,
                    C::FrameAncestors,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_name_device_and_browser() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(iphone), ("phone", "Safari 17 on iOS".to_string()));
        let pixel = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
        assert_eq!(describe_user_agent(pixel), ("phone", "Chrome 124 on Android".to_string()));
        let desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0";
        assert_eq!(describe_user_agent(desktop), ("desktop", "Firefox 125 on Windows".to_string()));
        assert_eq!(describe_user_agent("").0, "desktop");
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let bad = |s: CaptureSettings, field: &str| {
            let e = s.validated().unwrap_err();
            assert_eq!(e.field_errors()[0].field, field);
        };
        bad(CaptureSettings { primary_color: Some("red".into()), ..Default::default() }, "primary_color");
        bad(CaptureSettings { logo_data_url: Some("https://cdn.example/logo.png".into()), ..Default::default() }, "logo_data_url");
        bad(CaptureSettings { redirect_url: Some("javascript:alert(1)".into()), ..Default::default() }, "redirect_url");
        bad(CaptureSettings { frame_ancestors: vec!["https://a.example/path".into()], ..Default::default() }, "frame_ancestors[0]");
        let ok = CaptureSettings {
            primary_color: Some("#0A5CFF".into()),
            frame_ancestors: vec!["https://shop.example/".into()],
            ..Default::default()
        }
        .validated()
        .unwrap();
        assert_eq!(ok.primary_color.as_deref(), Some("#0a5cff"));
        assert_eq!(ok.frame_ancestors, vec!["https://shop.example".to_string()]);
    }

    #[test]
    fn ttl_is_bounded() {
        assert!(NewLink::from_request(Some(0), None).is_err());
        assert!(NewLink::from_request(Some(MAX_TTL_MINUTES + 1), None).is_err());
        assert_eq!(NewLink::from_request(None, None).unwrap().ttl_minutes, DEFAULT_TTL_MINUTES);
    }
}
