//! Sanctions lists: import the OFAC CSV files into versioned
//! `sanctions_list` / `sanctions_entry` rows, load the current version into
//! the in-memory screener ([`crate::engine::sanctions::ListScreener`]),
//! refresh from the configured URLs on a schedule, and re-screen every
//! verified identity when a new version arrives.
//!
//! A version is the SHA-256 of the files' bytes: importing the same files
//! twice makes no new version. Older versions are kept (results record the
//! version they were screened against, in the `ofac` check's evidence).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{identity, idv_session, sanctions_entry, sanctions_list, weights};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use crate::engine::sanctions::csv::{self, EntryKind, ListFiles, ListSource, SanctionsEntry};
use crate::engine::sanctions::ScreeningIndex;
use crate::engine::{Engines, ScreeningSubject};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Actor};
use crate::state::AppState;

/// The source name of OFAC lists in `sanctions_list.source`.
pub const SOURCE: &str = "ofac";
/// Default screening threshold when no weights version says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.92;
const INSERT_BATCH: usize = 200;

pub use crate::state::{RefreshStatus, SanctionsRuntime};

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub list: sanctions_list::Model,
    /// False when these exact files were imported before.
    pub new_version: bool,
    pub entries: usize,
}

/// Reads the official files (any case) from a directory.
pub fn read_dir(dir: &Path) -> anyhow::Result<ListFiles> {
    let mut files = ListFiles::default();
    for item in std::fs::read_dir(dir)? {
        let path = item?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(slot) = files.slot(name) {
            *slot = Some(std::fs::read(&path)?);
        }
    }
    anyhow::ensure!(files.has_primary(), "{} holds neither SDN.CSV nor CONS_PRIM.CSV", dir.display());
    Ok(files)
}

/// The content version of a set of files.
pub fn version_of(files: &ListFiles) -> String {
    let mut h = Sha256::new();
    for (name, part) in ListFiles::NAMES.iter().zip(files.parts()) {
        h.update(name.as_bytes());
        h.update((part.map_or(0, <[u8]>::len) as u64).to_le_bytes());
        h.update(part.unwrap_or_default());
    }
    format!("ofac-{}", &hex::encode(h.finalize())[..16])
}

fn source_tag(s: ListSource) -> &'static str {
    match s {
        ListSource::Sdn => "sdn",
        ListSource::Consolidated => "cons",
    }
}

fn to_row(list_id: &str, e: &SanctionsEntry) -> sanctions_entry::ActiveModel {
    sanctions_entry::ActiveModel {
        // The id carries the publication (SDN or consolidated) of the entry.
        id: Set(format!("{list_id}:{}:{}", source_tag(e.source), e.ent_num)),
        list_id: Set(list_id.to_string()),
        ent_num: Set(e.ent_num.clone()),
        name: Set(e.name.clone()),
        entity_type: Set(Some(e.kind.as_str().to_string())),
        programs: Set((!e.programs.is_empty()).then(|| e.programs.join("; "))),
        remarks: Set(e.remarks.clone()),
        birth_dates: Set(Some(serde_json::to_value(&e.birth_dates).unwrap_or_default())),
        aliases: Set(Some(serde_json::to_value(&e.aliases).unwrap_or_default())),
        addresses: Set(Some(serde_json::to_value(&e.addresses).unwrap_or_default())),
    }
}

fn json_vec<T: serde::de::DeserializeOwned>(v: Option<serde_json::Value>) -> Vec<T> {
    v.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

fn from_row(r: sanctions_entry::Model) -> SanctionsEntry {
    let source = if r.id.split(':').nth(1) == Some("cons") { ListSource::Consolidated } else { ListSource::Sdn };
    SanctionsEntry {
        source,
        kind: EntryKind::from_db(r.entity_type.as_deref().unwrap_or("entity")),
        programs: r.programs.map(|p| p.split("; ").map(str::to_string).collect()).unwrap_or_default(),
        birth_dates: json_vec(r.birth_dates),
        aliases: json_vec(r.aliases),
        addresses: json_vec(r.addresses),
        ent_num: r.ent_num,
        name: r.name,
        remarks: r.remarks,
    }
}

/// Imports one publication as a new current version (or makes an already
/// imported identical version current again). `progress(done, total)` is
/// called as entries are written.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    files: &ListFiles,
    mut progress: impl FnMut(usize, usize),
) -> AppResult<ImportOutcome> {
    let version = version_of(files);
    let entries = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || csv::parse(&files))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| AppError::validation("sanctions_list", e.to_string()))?
    };
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let existing = sanctions_list::Entity::find()
        .filter(sanctions_list::Column::Source.eq(SOURCE))
        .filter(sanctions_list::Column::Version.eq(&version))
        .one(&txn)
        .await?;
    let (list_id, new_version) = match existing {
        Some(l) => (l.id, false),
        None => {
            let id = crate::ids::new_id();
            sanctions_list::ActiveModel {
                id: Set(id.clone()),
                source: Set(SOURCE.into()),
                version: Set(version.clone()),
                published_at: Set(None),
                imported_at: Set(now),
                entry_count: Set(entries.len() as i32),
                is_current: Set(false),
            }
            .insert(&txn)
            .await?;
            let total = entries.len();
            for (n, chunk) in entries.chunks(INSERT_BATCH).enumerate() {
                sanctions_entry::Entity::insert_many(chunk.iter().map(|e| to_row(&id, e)))
                    .exec_without_returning(&txn)
                    .await?;
                progress(((n + 1) * INSERT_BATCH).min(total), total);
            }
            (id, true)
        }
    };
    sanctions_list::Entity::update_many()
        .col_expr(sanctions_list::Column::IsCurrent, sea_orm::sea_query::Expr::value(false))
        .filter(sanctions_list::Column::Source.eq(SOURCE))
        .exec(&txn)
        .await?;
    sanctions_list::Entity::update_many()
        .col_expr(sanctions_list::Column::IsCurrent, sea_orm::sea_query::Expr::value(true))
        .filter(sanctions_list::Column::Id.eq(&list_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let list = sanctions_list::Entity::find_by_id(list_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("imported list vanished"))?;
    Ok(ImportOutcome { entries: list.entry_count as usize, list, new_version })
}

/// The current version, built into a searchable index.
pub async fn load_current(db: &impl ConnectionTrait) -> AppResult<Option<ScreeningIndex>> {
    let Some(list) = sanctions_list::Entity::find()
        .filter(sanctions_list::Column::Source.eq(SOURCE))
        .filter(sanctions_list::Column::IsCurrent.eq(true))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let mut entries = Vec::with_capacity(list.entry_count.max(0) as usize);
    let mut pages = sanctions_entry::Entity::find()
        .filter(sanctions_entry::Column::ListId.eq(&list.id))
        .order_by_asc(sanctions_entry::Column::Id)
        .paginate(db, 2000);
    while let Some(rows) = pages.fetch_and_next().await? {
        entries.extend(rows.into_iter().map(from_row));
    }
    let version = list.version.clone();
    let index = tokio::task::spawn_blocking(move || ScreeningIndex::build(version, entries)).await.map_err(AppError::internal)?;
    Ok(Some(index))
}

/// The version marked current in the database, without loading it.
pub async fn current_version(db: &impl ConnectionTrait) -> AppResult<Option<String>> {
    Ok(sanctions_list::Entity::find()
        .filter(sanctions_list::Column::Source.eq(SOURCE))
        .filter(sanctions_list::Column::IsCurrent.eq(true))
        .one(db)
        .await?
        .map(|l| l.version))
}

/// Swaps the screener to the version current in the database when it is not
/// the loaded one (another process imported or refreshed it). The new index
/// is built aside and replaces the old one in one step, so a screening sees
/// either version whole. Returns the version now loaded when it changed.
pub async fn sync_loaded(state: &AppState) -> AppResult<Option<String>> {
    let Some(current) = current_version(&state.db).await? else { return Ok(None) };
    if state.sanctions.loaded_version().as_deref() == Some(current.as_str()) {
        return Ok(None);
    }
    let Some(index) = load_current(&state.db).await? else { return Ok(None) };
    let version = index.version().to_string();
    tracing::info!(version = %version, entries = index.entry_count(), "sanctions list version changed; index swapped");
    state.sanctions.screener.replace(index);
    Ok(Some(version))
}

/// Every `sanctions_watch_secs`, [`sync_loaded`]: a list stored by another
/// process is used here within that delay.
pub fn spawn_version_watch(state: &AppState) {
    let secs = state.config.sanctions_watch_secs;
    if secs == 0 {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sync_loaded(&state).await {
                tracing::warn!(error = %e, "looking for a newer sanctions list version failed");
            }
        }
    });
}

/// Start-up wiring: loads the current version into the screener, and
/// installs the screener as `engines.sanctions` when a list is loaded, a
/// scheduled refresh will bring one or the version watch may find one
/// stored by another process (until then its checks are `unavailable`:
/// "no sanctions list is loaded").
pub async fn install(state: &mut AppState) -> AppResult<()> {
    if let Some(index) = load_current(&state.db).await? {
        tracing::info!(version = index.version(), entries = index.entry_count(), "sanctions list loaded");
        state.sanctions.screener.replace(index);
    }
    let refresh_scheduled = state.config.sanctions_refresh_hours > 0 && !refresh_urls(state).is_empty();
    let watched = state.config.sanctions_watch_secs > 0;
    if state.sanctions.screener.current().is_some() || refresh_scheduled || watched {
        let engines = Engines { sanctions: Some(state.sanctions.screener.clone()), ..(*state.engines).clone() };
        state.engines = Arc::new(engines);
    }
    Ok(())
}

/// The configured download URLs.
pub fn refresh_urls(state: &AppState) -> Vec<String> {
    state.config.sanctions_urls.split([',', ' ', '\n']).map(str::trim).filter(|u| !u.is_empty()).map(str::to_string).collect()
}

/// What one refresh did.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    pub version: String,
    pub new_version: bool,
    pub rescreened: usize,
    pub new_hits: usize,
}

/// Downloads the files, imports them, loads a new version into the
/// screener and re-screens the verified identities. On failure the loaded
/// list stays and the failure is kept for `/health`.
pub async fn refresh_once(state: &AppState) -> AppResult<RefreshReport> {
    let result = refresh_inner(state).await;
    let now = Utc::now();
    match &result {
        Ok(r) => state.sanctions.set_status(RefreshStatus::Succeeded { at: now, version: r.version.clone(), new_version: r.new_version }),
        Err(e) => {
            tracing::warn!(error = %e, "sanctions list refresh failed; keeping the loaded list");
            state.sanctions.set_status(RefreshStatus::Failed { at: now, error: e.to_string() });
        }
    }
    result
}

async fn refresh_inner(state: &AppState) -> AppResult<RefreshReport> {
    let urls = refresh_urls(state);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(state.config.sanctions_download_timeout_secs.max(1)))
        .build()
        .map_err(AppError::internal)?;
    let mut files = ListFiles::default();
    for url in &urls {
        let name = url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("").to_string();
        let fail = |m: String| AppError::Unavailable(format!("downloading {name}: {m}"));
        let resp = http.get(url).send().await.map_err(|e| fail(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| fail(e.without_url().to_string()))?;
        match files.slot(&name) {
            Some(slot) => *slot = Some(bytes.to_vec()),
            None => return Err(fail("not an OFAC CSV file name (SDN.CSV, ALT.CSV, ADD.CSV, CONS_*.CSV)".into())),
        }
    }
    if !files.has_primary() {
        return Err(AppError::Unavailable("no SDN.CSV or CONS_PRIM.CSV among the sanctions URLs".into()));
    }
    let outcome = import(&state.db, &files, |_, _| {}).await?;
    let version = outcome.list.version.clone();
    if state.sanctions.loaded_version().as_deref() == Some(version.as_str()) {
        return Ok(RefreshReport { version, new_version: false, rescreened: 0, new_hits: 0 });
    }
    let index = load_current(&state.db).await?.ok_or_else(|| AppError::internal("no current list after import"))?;
    state.sanctions.screener.replace(index);
    let (rescreened, new_hits) = rescreen_verified(state).await?;
    Ok(RefreshReport { version, new_version: true, rescreened, new_hits })
}

/// Screens every verified identity against the loaded version; a new hit
/// sets the identity's `ofac_status = hit`, `verified = false` and raises
/// `identity.sanctions_hit` (an audit row and a webhook event, in the
/// transaction of the change).
/// Returns (identities screened, new hits).
pub async fn rescreen_verified(state: &AppState) -> AppResult<(usize, usize)> {
    let Some(index) = state.sanctions.screener.current() else { return Ok((0, 0)) };
    let db = &state.db;
    let mut thresholds: HashMap<String, f64> = HashMap::new();
    let (mut screened, mut new_hits) = (0, 0);
    let mut pages = identity::Entity::find()
        .filter(identity::Column::Verified.eq(true))
        .filter(identity::Column::ErasedAt.is_null())
        .order_by_asc(identity::Column::Id)
        .paginate(db, 500);
    while let Some(rows) = pages.fetch_and_next().await? {
        for id in rows {
            let subject = ScreeningSubject {
                first_name: id.first_name.clone(),
                middle_name: id.middle_name.clone(),
                last_name: id.last_name.clone(),
                birth_date: id.birth_date.as_deref().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
                country: None,
            };
            if subject.first_name.is_none() && subject.last_name.is_none() {
                continue;
            }
            screened += 1;
            let threshold = threshold_for(db, &id, &mut thresholds).await?;
            let idx = index.clone();
            let hits = tokio::task::spawn_blocking(move || idx.screen(&subject)).await.map_err(AppError::internal)?;
            let Some(best) = hits.into_iter().next().filter(|h| h.score >= threshold) else { continue };
            if id.ofac_status == "hit" {
                continue;
            }
            new_hits += 1;
            let now = Utc::now();
            let txn = crate::db::begin_write(db).await?;
            // A listed person is no longer a verified identity: the SDK's status
            // answers `verified: false` and no authentication can start.
            identity::Entity::update_many()
                .col_expr(identity::Column::Verified, sea_orm::sea_query::Expr::value(false))
                .col_expr(identity::Column::OfacStatus, sea_orm::sea_query::Expr::value("hit"))
                .col_expr(identity::Column::OfacDetectedAt, sea_orm::sea_query::Expr::value(now))
                .col_expr(identity::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
                .filter(identity::Column::Id.eq(&id.id))
                .exec(&txn)
                .await?;
            let detail = serde_json::json!({
                "event": "identity.sanctions_hit",
                "lists_version": index.version(),
                "list": best.list,
                "entry_id": best.entry_id,
                "score": best.score,
                "client_id": id.client_id,
            });
            let actor = Actor::System;
            audit::record(&txn, &actor, "identity.sanctions_hit", Some(("identity", &id.id)), None, Some(detail)).await?;
            crate::service::outbox::identity_sanctions_hit(&txn, &id.client_id, &id.id).await?;
            let message = format!("re-screening: possible match on {} (similarity {:.2})", best.list, best.score);
            crate::service::review::cases::open_for_identity_hit(&txn, &id.client_id, &id.id, message, now).await?;
            txn.commit().await?;
        }
    }
    Ok((screened, new_hits))
}

/// `ofac_fuzzy_match_tolerance` of the weights the identity was verified with.
async fn threshold_for(db: &impl ConnectionTrait, id: &identity::Model, cache: &mut HashMap<String, f64>) -> AppResult<f64> {
    let Some(session_id) = &id.latest_idv_session_id else { return Ok(DEFAULT_THRESHOLD) };
    let Some(session) = idv_session::Entity::find_by_id(session_id.clone()).one(db).await? else {
        return Ok(DEFAULT_THRESHOLD);
    };
    if let Some(t) = cache.get(&session.idv_weights_id) {
        return Ok(*t);
    }
    let t = weights::Entity::find_by_id(session.idv_weights_id.clone())
        .one(db)
        .await?
        .map(|w| w.ofac_fuzzy_match_tolerance)
        .unwrap_or(DEFAULT_THRESHOLD);
    cache.insert(session.idv_weights_id, t);
    Ok(t)
}

/// The scheduled refresh of a server process: first attempt after
/// `sanctions_refresh_delay_secs`, then every `sanctions_refresh_hours`
/// (after a failure, again in `sanctions_retry_minutes`).
pub fn spawn_refresh(state: &AppState) {
    let hours = state.config.sanctions_refresh_hours;
    if hours == 0 || refresh_urls(state).is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(state.config.sanctions_refresh_delay_secs)).await;
        loop {
            let wait = match refresh_once(&state).await {
                Ok(r) => {
                    tracing::info!(version = %r.version, new = r.new_version, rescreened = r.rescreened, hits = r.new_hits, "sanctions list refreshed");
                    Duration::from_secs(hours * 3600)
                }
                Err(_) => Duration::from_secs(state.config.sanctions_retry_minutes.max(1) * 60),
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// The `/health` view: degraded when the last refresh failed (the loaded
/// list, if any, keeps serving).
pub fn health(state: &AppState) -> (bool, serde_json::Value, Option<String>) {
    let loaded = state.sanctions.loaded_version();
    let (ok, last, error) = match state.sanctions.status() {
        RefreshStatus::NotRun => (true, serde_json::json!(null), None),
        RefreshStatus::Succeeded { at, version, .. } => (true, serde_json::json!({"at": at, "version": version, "ok": true}), None),
        RefreshStatus::Failed { at, error } => {
            (false, serde_json::json!({"at": at, "ok": false}), Some(format!("sanctions list refresh failed: {error}")))
        }
    };
    (ok, serde_json::json!({"loaded_version": loaded, "last_refresh": last}), error)
}
