//! Screening outside a session: search a name against the loaded
//! sanctions and PEP lists (`screening/search`, rate-limited), a client's
//! choice of lists, and its allow-list of cleared false positives.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::ApiCaller;
use crate::engine::sanctions::explain::{Features, ListedEntry};
use crate::engine::{SanctionsHit, ScreeningSubject};
use crate::error::{AppError, AppResult, Problem};
use crate::rest::extract::{AppJson, AppQuery};
use crate::service::types::{Empty, MetaCounts, Page};
use crate::service::{audit, sanctions, screening, tenancy};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(settings))
        .routes(routes!(update_settings))
        .routes(routes!(allowlist_create))
        .routes(routes!(allowlist_list))
        .routes(routes!(allowlist_delete))
}

async fn target_client(state: &AppState, caller: &ApiCaller, requested: Option<&str>) -> AppResult<String> {
    tenancy::resolve_client(&state.db, &caller.client_id, caller.is_platform, requested).await
}

fn actor(caller: &ApiCaller) -> audit::Actor {
    audit::Actor::ApiKey { client_id: caller.client_id.clone(), key_id: caller.key_id.clone() }
}

/// Who to screen: `name` (any order; `SURNAME, Given` is understood) or
/// its parts.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ScreeningSearch {
    /// Another client (platform operator keys only): its lists and allow-list apply.
    client_id: Option<String>,
    /// The whole name, at most 200 characters (or use the parts below).
    name: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    /// `YYYY-MM-DD`. A listed birth date that does not fit excludes the entry.
    birth_date: Option<String>,
    /// Nationality or country: ISO 3166 alpha-2 / alpha-3 or an English name.
    country: Option<String>,
    /// `male` or `female`.
    gender: Option<String>,
    /// A passport or national id number, compared with the listed identifiers.
    document_number: Option<String>,
    /// `person` (default) or `entity` (legal forms such as LLC and stop words are ignored).
    kind: Option<String>,
    /// Lists to screen against (`ofac`, `un`, `eu`, `uk`, `opensanctions`, `peps`);
    /// default: the client's choice, else every loaded list.
    lists: Option<Vec<String>>,
    /// 0..1: a candidate at or above it is a hit; default 0.92 (the default `ofac_fuzzy_match_tolerance`).
    threshold: Option<f64>,
}

/// One listed entry that resembles the subject, explained.
#[derive(Serialize, ToSchema)]
pub struct ScreeningMatch {
    /// The publication, e.g. `OFAC SDN`, `UN Security Council`.
    list: String,
    /// `ofac`, `un`, `eu`, `uk` or `opensanctions`.
    list_key: String,
    entry_id: String,
    /// The entry's primary name.
    name: String,
    /// 0..1: the name similarity moved by the other features.
    score: f64,
    /// `sanction` or `pep`.
    category: String,
    /// At or above the threshold.
    hit: bool,
    /// The listed name or alias that matched best.
    matched_name: String,
    features: Features,
    entry: ListedEntry,
}

fn to_match(h: SanctionsHit, threshold: f64) -> ScreeningMatch {
    let e = *h.explanation;
    ScreeningMatch {
        list: h.list,
        list_key: e.entry.list_key.clone(),
        entry_id: h.entry_id,
        name: h.name,
        hit: h.score >= threshold,
        score: h.score,
        category: e.entry.category.clone(),
        matched_name: e.matched_name,
        features: e.features,
        entry: e.entry,
    }
}

/// A candidate the client had cleared (its allow-list), left out.
#[derive(Serialize, ToSchema)]
pub struct ClearedMatch {
    list_key: String,
    entry_id: String,
    allowlist_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningSearchResult {
    /// A sanctions candidate at or above the threshold.
    sanctions_hit: bool,
    /// A politically exposed person at or above the threshold.
    pep_hit: bool,
    threshold: f64,
    /// The lists screened against; `null`: every loaded list.
    lists: Option<Vec<String>>,
    /// The loaded lists' versions (one per list, joined with `+`).
    lists_version: Option<String>,
    /// Sanctions candidates, best first (at most 10, similarity 0.75 or more).
    matches: Vec<ScreeningMatch>,
    /// Politically exposed persons, best first.
    peps: Vec<ScreeningMatch>,
    cleared: Vec<ClearedMatch>,
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The subject of a search or an allow-list entry, validated.
fn subject_of(
    name: Option<String>,
    first: Option<String>,
    middle: Option<String>,
    last: Option<String>,
    birth_date: Option<String>,
) -> AppResult<ScreeningSubject> {
    let (name, first, middle, last) = (trimmed(name), trimmed(first), trimmed(middle), trimmed(last));
    for (field, v) in [("name", &name), ("first_name", &first), ("middle_name", &middle), ("last_name", &last)] {
        if v.as_ref().is_some_and(|v| v.chars().count() > 200) {
            return Err(AppError::validation(field, "at most 200 characters"));
        }
    }
    if name.is_none() && first.is_none() && last.is_none() {
        return Err(AppError::validation("name", "give `name`, or `first_name` / `last_name`"));
    }
    let birth_date = trimmed(birth_date)
        .map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| AppError::validation("birth_date", "expected YYYY-MM-DD")))
        .transpose()?;
    let (first, middle, last) = match name {
        // The whole name goes through one field: "SURNAME, Given" stays readable.
        Some(n) => (None, None, Some([first, middle, last, Some(n)].into_iter().flatten().collect::<Vec<_>>().join(" "))),
        None => (first, middle, last),
    };
    Ok(ScreeningSubject { first_name: first, middle_name: middle, last_name: last, birth_date, ..Default::default() })
}

/// Screens a name (plus optional birth date, country, gender, document
/// number) against the loaded sanctions and PEP lists, outside any
/// session, with the same per-feature explanations as the `ofac` check.
/// The client's chosen lists and allow-list apply. Rate-limited per client
/// (`screening_search_per_minute`).
#[utoipa::path(post, path = "/api/v1/screening/search", tag = "screening", request_body = ScreeningSearch,
    security(("bearer" = [])),
    responses((status = 200, body = ScreeningSearchResult),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many searches this minute", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "no sanctions list is loaded", body = Problem, content_type = "application/problem+json")))]
async fn search(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<ScreeningSearch>,
) -> AppResult<Json<ScreeningSearchResult>> {
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    screening::check_search_rate(&state.db, &client_id, state.config.screening_search_per_minute).await?;
    let threshold = body.threshold.unwrap_or(sanctions::DEFAULT_THRESHOLD);
    if !threshold.is_finite() || !(0.0..=1.0).contains(&threshold) {
        return Err(AppError::validation("threshold", "must be between 0 and 1"));
    }
    let is_entity = match body.kind.as_deref().map(str::trim) {
        None | Some("person") => false,
        Some("entity") => true,
        Some(_) => return Err(AppError::validation("kind", "must be `person` or `entity`")),
    };
    let gender = match body.gender.as_deref().map(|g| g.trim().to_ascii_lowercase()) {
        None => None,
        Some(g) if g == "male" || g == "female" => Some(g),
        Some(_) => return Err(AppError::validation("gender", "must be `male` or `female`")),
    };
    let lists = body.lists.as_deref().map(|l| screening::parse_lists("lists", l)).transpose()?;
    let mut subject = subject_of(body.name, body.first_name, body.middle_name, body.last_name, body.birth_date)?;
    subject.country = trimmed(body.country);
    subject.gender = gender;
    subject.document_number = trimmed(body.document_number);
    subject.is_entity = is_entity;
    subject.lists = lists;
    let screener = state.sanctions.screener.clone();
    let result = screening::screen_for_client(&state.db, &*screener, &client_id, subject)
        .await?
        .map_err(|e| AppError::Unavailable(e.to_string()))?;
    Ok(Json(ScreeningSearchResult {
        sanctions_hit: result.sanctions.first().is_some_and(|h| h.score >= threshold),
        pep_hit: result.peps.first().is_some_and(|h| h.score >= threshold),
        threshold,
        lists: result.lists,
        lists_version: result.lists_version,
        matches: result.sanctions.into_iter().map(|h| to_match(h, threshold)).collect(),
        peps: result.peps.into_iter().map(|h| to_match(h, threshold)).collect(),
        cleared: result
            .cleared
            .into_iter()
            .map(|c| ClearedMatch { list_key: c.list_key, entry_id: c.entry_id, allowlist_id: c.allowlist_id })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct SettingsQuery {
    /// Another client (platform operator keys only).
    client_id: Option<String>,
}

/// One loaded list version.
#[derive(Serialize, ToSchema)]
pub struct LoadedList {
    /// `ofac`, `un`, `eu`, `uk` or `opensanctions`.
    list_key: String,
    /// The SHA-256-based version of its files.
    version: String,
    entries: i32,
    imported_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ScreeningSettings {
    /// The lists this client screens against; `null`: every loaded list.
    lists: Option<Vec<String>>,
    /// Every list key that can be chosen.
    available: Vec<String>,
    /// The current version of each imported list.
    loaded: Vec<LoadedList>,
}

async fn settings_of(state: &AppState, client_id: &str) -> AppResult<ScreeningSettings> {
    let lists = screening::client_lists(&state.db, client_id).await?;
    let loaded = sanctions::current_list_versions(&state.db)
        .await?
        .into_iter()
        .map(|l| LoadedList { list_key: l.source, version: l.version, entries: l.entry_count, imported_at: l.imported_at })
        .collect();
    Ok(ScreeningSettings { lists, available: screening::LIST_KEYS.iter().map(|k| k.to_string()).collect(), loaded })
}

/// The lists the client screens against and the loaded list versions.
#[utoipa::path(get, path = "/api/v1/screening/settings", tag = "screening", params(SettingsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ScreeningSettings),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppQuery(query): AppQuery<SettingsQuery>,
) -> AppResult<Json<ScreeningSettings>> {
    let client_id = target_client(&state, &caller, query.client_id.as_deref()).await?;
    Ok(Json(settings_of(&state, &client_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSettingsUpdate {
    #[serde(default)]
    client_id: Option<String>,
    /// The lists to screen against (sessions, re-screening and search);
    /// `null`: every loaded list.
    lists: Option<Vec<String>>,
}

/// Chooses the lists the client screens against. Audited.
#[utoipa::path(post, path = "/api/v1/screening/settings/update", tag = "screening", request_body = ScreeningSettingsUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = ScreeningSettings),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn update_settings(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<ScreeningSettingsUpdate>,
) -> AppResult<Json<ScreeningSettings>> {
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    screening::set_client_lists(&txn, &actor(&caller), &client_id, body.lists).await?;
    txn.commit().await?;
    Ok(Json(settings_of(&state, &client_id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AllowlistCreate {
    client_id: Option<String>,
    /// The screened name (or its parts), as in `screening/search`.
    name: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    /// `YYYY-MM-DD`; without it the entry applies to the name with no birth date only.
    birth_date: Option<String>,
    /// The list of the cleared entry (`ofac`, `un`, `eu`, `uk`, `opensanctions`, `peps`).
    list: String,
    /// The cleared entry's `entry_id`.
    entry_id: String,
    /// Why this is not the listed person (kept in the audit log). Required.
    reason: String,
}

/// A cleared false positive.
#[derive(Serialize, ToSchema)]
pub struct AllowlistEntry {
    id: String,
    client_id: String,
    subject_name: String,
    birth_date: Option<String>,
    list_key: String,
    entry_id: String,
    reason: String,
    /// `api_key:<id>` or `user:<id>`.
    created_by: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<entity::screening_allowlist::Model> for AllowlistEntry {
    fn from(m: entity::screening_allowlist::Model) -> Self {
        Self {
            id: m.id,
            client_id: m.client_id,
            subject_name: m.subject_name,
            birth_date: m.birth_date,
            list_key: m.list_key,
            entry_id: m.entry_id,
            reason: m.reason,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

/// Clears a false positive: this name and birth date is not that list
/// entry; the client's later screenings (sessions, re-screening, search)
/// leave it out and say so under `cleared`. Audited.
#[utoipa::path(post, path = "/api/v1/screening/allowlist/create", tag = "screening", request_body = AllowlistCreate,
    security(("bearer" = [])),
    responses((status = 200, body = AllowlistEntry),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn allowlist_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<AllowlistCreate>,
) -> AppResult<Json<AllowlistEntry>> {
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let subject = subject_of(body.name, body.first_name, body.middle_name, body.last_name, body.birth_date)?;
    let input = screening::AllowInput { subject, list_key: body.list, entry_id: body.entry_id, reason: body.reason };
    let txn = crate::db::begin_write(&state.db).await?;
    let row = screening::allow(&txn, &actor(&caller), &client_id, input).await?;
    txn.commit().await?;
    Ok(Json(row.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AllowlistListRequest {
    client_id: Option<String>,
    /// Rows per page: default 25, at most 500.
    take: Option<u64>,
    skip: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct AllowlistList {
    entries: Vec<AllowlistEntry>,
    meta_counts: MetaCounts,
}

/// The client's cleared false positives, newest first.
#[utoipa::path(post, path = "/api/v1/screening/allowlist/list", tag = "screening", request_body = AllowlistListRequest,
    security(("bearer" = [])),
    responses((status = 200, body = AllowlistList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown client_id", body = Problem, content_type = "application/problem+json")))]
async fn allowlist_list(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<AllowlistListRequest>,
) -> AppResult<Json<AllowlistList>> {
    let page = Page::new(body.take, body.skip)?;
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let (rows, total) = screening::allowlist(&state.db, &client_id, page.take, page.skip).await?;
    let meta_counts = MetaCounts::new(page, rows.len(), total);
    Ok(Json(AllowlistList { entries: rows.into_iter().map(Into::into).collect(), meta_counts }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowlistDelete {
    #[serde(default)]
    client_id: Option<String>,
    id: String,
}

/// Removes a cleared false positive (the entry can hit again). Audited.
#[utoipa::path(post, path = "/api/v1/screening/allowlist/delete", tag = "screening", request_body = AllowlistDelete,
    security(("bearer" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn allowlist_delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    AppJson(body): AppJson<AllowlistDelete>,
) -> AppResult<Json<Empty>> {
    let client_id = target_client(&state, &caller, body.client_id.as_deref()).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    screening::disallow(&txn, &actor(&caller), &client_id, &body.id).await?;
    txn.commit().await?;
    Ok(Json(Empty {}))
}
