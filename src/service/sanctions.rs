//! Sanctions and PEP lists: import the OFAC CSV files and the UN, EU, UK and
//! OpenSanctions files into versioned `sanctions_list` / `sanctions_entry`
//! rows (one `source` per list: `ofac`, `un`, `eu`, `uk`, `opensanctions`),
//! load the current version of every list into the in-memory screener
//! ([`crate::engine::sanctions::ListScreener`]), refresh each list from its
//! configured URLs on a schedule, and re-screen every verified identity
//! when a new version arrives.
//!
//! A version is the SHA-256 of a list's files: importing the same files
//! twice makes no new version. Older versions are kept (results record the
//! versions they were screened against, in the `ofac` check's evidence).
//! The loaded index's version names every list's current version, joined
//! with `+`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::{identity, idv_session, sanctions_entry, sanctions_list, screening_hit, weights};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use crate::engine::sanctions::csv::{self, EntryDetails, EntryKind, ListFiles, ListSource, SanctionsEntry};
use crate::engine::sanctions::formats::{self, ListFormat};
use crate::engine::sanctions::ScreeningIndex;
use crate::engine::{Engines, SanctionsHit, ScreeningSubject};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Actor};
use crate::service::screening;
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

/// The files of one list, read for import: OFAC's CSV set, or the files of
/// another list (format detected from each file's content).
#[derive(Debug, Clone)]
pub enum ListUpload {
    Ofac(ListFiles),
    Other { source: ListSource, files: Vec<(String, ListFormat, Vec<u8>)> },
}

impl ListUpload {
    /// The list key (`sanctions_list.source`).
    pub fn key(&self) -> &'static str {
        match self {
            ListUpload::Ofac(_) => SOURCE,
            ListUpload::Other { source, .. } => source.list_key(),
        }
    }
}

/// Sorts files into one upload per list. Files of no known format are an
/// error naming them (`accept_unknown` skips them instead: a directory may
/// hold other files).
pub fn uploads_of(files: Vec<(String, Vec<u8>)>, accept_unknown: bool) -> anyhow::Result<Vec<ListUpload>> {
    let mut ofac = ListFiles::default();
    let mut others: Vec<(ListSource, Vec<(String, ListFormat, Vec<u8>)>)> = Vec::new();
    for (name, bytes) in files {
        match formats::detect(&name, &bytes) {
            Some(ListFormat::OfacCsv) => {
                if let Some(slot) = ofac.slot(&name) {
                    *slot = Some(bytes);
                }
            }
            Some(format) => {
                let source = format.source();
                match others.iter_mut().find(|(s, _)| *s == source) {
                    Some((_, list)) => list.push((name, format, bytes)),
                    None => others.push((source, vec![(name, format, bytes)])),
                }
            }
            None if accept_unknown => {}
            None => anyhow::bail!(
                "{name}: not a sanctions list file this importer reads (OFAC CSV, UN / EU / UK XML, UK CSV, OpenSanctions targets.simple.csv or FollowTheMoney JSON lines)"
            ),
        }
    }
    let mut uploads = Vec::new();
    if ofac.parts().iter().any(Option::is_some) {
        anyhow::ensure!(ofac.has_primary(), "OFAC files without SDN.CSV or CONS_PRIM.CSV");
        uploads.push(ListUpload::Ofac(ofac));
    }
    uploads.extend(others.into_iter().map(|(source, mut files)| {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        ListUpload::Other { source, files }
    }));
    Ok(uploads)
}

/// Reads a list file, or every list file of a directory.
pub fn read_path(path: &Path) -> anyhow::Result<Vec<ListUpload>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for item in std::fs::read_dir(path)? {
            let p = item?.path();
            if p.is_file() {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                files.push((name, std::fs::read(&p)?));
            }
        }
    } else {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        files.push((name, std::fs::read(path)?));
    }
    let uploads = uploads_of(files, path.is_dir())?;
    anyhow::ensure!(
        !uploads.is_empty(),
        "{} holds no sanctions list file (OFAC SDN.CSV or CONS_PRIM.CSV, UN / EU / UK XML, UK CSV, OpenSanctions CSV or FollowTheMoney JSON lines)",
        path.display()
    );
    Ok(uploads)
}

/// The content version of a non-OFAC list's files.
pub fn version_of_files(key: &str, files: &[(String, ListFormat, Vec<u8>)]) -> String {
    let mut h = Sha256::new();
    for (name, _, bytes) in files {
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    format!("{key}-{}", &hex::encode(h.finalize())[..16])
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

fn to_row(list_id: &str, e: &SanctionsEntry) -> sanctions_entry::ActiveModel {
    sanctions_entry::ActiveModel {
        // The id carries the publication (SDN or consolidated) of the entry.
        id: Set(format!("{list_id}:{}:{}", e.source.tag(), e.ent_num)),
        list_id: Set(list_id.to_string()),
        ent_num: Set(e.ent_num.clone()),
        name: Set(e.name.clone()),
        entity_type: Set(Some(e.kind.as_str().to_string())),
        programs: Set((!e.programs.is_empty()).then(|| e.programs.join("; "))),
        remarks: Set(e.remarks.clone()),
        birth_dates: Set(Some(serde_json::to_value(&e.birth_dates).unwrap_or_default())),
        aliases: Set(Some(serde_json::to_value(&e.aliases).unwrap_or_default())),
        addresses: Set(Some(serde_json::to_value(&e.addresses).unwrap_or_default())),
        details: Set(Some(serde_json::to_value(&e.details).unwrap_or_default())),
    }
}

fn json_vec<T: serde::de::DeserializeOwned>(v: Option<serde_json::Value>) -> Vec<T> {
    v.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

fn from_row(r: sanctions_entry::Model) -> SanctionsEntry {
    let source = r.id.split(':').nth(1).and_then(ListSource::from_tag).unwrap_or(ListSource::Sdn);
    let details: EntryDetails = r.details.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    SanctionsEntry {
        details,
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

/// Imports the OFAC files as a new current version of the `ofac` list (or
/// makes an already imported identical version current again).
/// `progress(done, total)` is called as entries are written.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    files: &ListFiles,
    progress: impl FnMut(usize, usize),
) -> AppResult<ImportOutcome> {
    import_upload(db, &ListUpload::Ofac(files.clone()), progress).await
}

/// Imports one list's files as its new current version (versions are per
/// list: importing the UN list leaves the OFAC one current).
pub async fn import_upload(
    db: &sea_orm::DatabaseConnection,
    upload: &ListUpload,
    progress: impl FnMut(usize, usize),
) -> AppResult<ImportOutcome> {
    let key = upload.key();
    let (version, entries) = {
        let upload = upload.clone();
        tokio::task::spawn_blocking(move || parse_upload(&upload))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| AppError::validation("sanctions_list", e.to_string()))?
    };
    store_version(db, key, version, entries, progress).await
}

/// The version and entries of an upload (entries with a repeated id keep
/// the first).
fn parse_upload(upload: &ListUpload) -> Result<(String, Vec<SanctionsEntry>), csv::ParseError> {
    match upload {
        ListUpload::Ofac(files) => Ok((version_of(files), csv::parse(files)?)),
        ListUpload::Other { source, files } => {
            let mut entries: Vec<SanctionsEntry> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (_, format, bytes) in files {
                for e in formats::parse(*format, bytes)? {
                    if seen.insert(e.ent_num.clone()) {
                        entries.push(e);
                    }
                }
            }
            Ok((version_of_files(source.list_key(), files), entries))
        }
    }
}

async fn store_version(
    db: &sea_orm::DatabaseConnection,
    key: &str,
    version: String,
    entries: Vec<SanctionsEntry>,
    mut progress: impl FnMut(usize, usize),
) -> AppResult<ImportOutcome> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let existing = sanctions_list::Entity::find()
        .filter(sanctions_list::Column::Source.eq(key))
        .filter(sanctions_list::Column::Version.eq(&version))
        .one(&txn)
        .await?;
    let (list_id, new_version) = match existing {
        Some(l) => (l.id, false),
        None => {
            let id = crate::ids::new_id();
            sanctions_list::ActiveModel {
                id: Set(id.clone()),
                source: Set(key.into()),
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
        .filter(sanctions_list::Column::Source.eq(key))
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

/// The current version of every list, by source.
async fn current_lists(db: &impl ConnectionTrait) -> AppResult<Vec<sanctions_list::Model>> {
    Ok(sanctions_list::Entity::find()
        .filter(sanctions_list::Column::IsCurrent.eq(true))
        .order_by_asc(sanctions_list::Column::Source)
        .all(db)
        .await?)
}

fn composite_version(lists: &[sanctions_list::Model]) -> Option<String> {
    (!lists.is_empty()).then(|| lists.iter().map(|l| l.version.as_str()).collect::<Vec<_>>().join("+"))
}

/// The current versions of every list, built into one searchable index.
pub async fn load_current(db: &impl ConnectionTrait) -> AppResult<Option<ScreeningIndex>> {
    let lists = current_lists(db).await?;
    let Some(version) = composite_version(&lists) else { return Ok(None) };
    let mut entries = Vec::with_capacity(lists.iter().map(|l| l.entry_count.max(0) as usize).sum());
    for list in &lists {
        let mut pages = sanctions_entry::Entity::find()
            .filter(sanctions_entry::Column::ListId.eq(&list.id))
            .order_by_asc(sanctions_entry::Column::Id)
            .paginate(db, 2000);
        while let Some(rows) = pages.fetch_and_next().await? {
            entries.extend(rows.into_iter().map(from_row));
        }
    }
    let index = tokio::task::spawn_blocking(move || ScreeningIndex::build(version, entries)).await.map_err(AppError::internal)?;
    Ok(Some(index))
}

/// The loaded lists: key, version, entry count, import time.
pub async fn current_list_versions(db: &impl ConnectionTrait) -> AppResult<Vec<sanctions_list::Model>> {
    current_lists(db).await
}

/// The versions marked current in the database (every list), without loading them.
pub async fn current_version(db: &impl ConnectionTrait) -> AppResult<Option<String>> {
    Ok(composite_version(&current_lists(db).await?))
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

/// The configured download URLs of every list.
pub fn refresh_urls(state: &AppState) -> Vec<String> {
    refresh_plan(&state.config).into_iter().flat_map(|(_, urls)| urls).collect()
}

fn split_urls(raw: &str) -> Vec<String> {
    raw.split([',', ' ', '\n']).map(str::trim).filter(|u| !u.is_empty()).map(str::to_string).collect()
}

/// The lists with download URLs: (list key, URLs).
pub fn refresh_plan(config: &crate::config::Config) -> Vec<(&'static str, Vec<String>)> {
    [
        (SOURCE, &config.sanctions_urls),
        ("un", &config.sanctions_un_urls),
        ("eu", &config.sanctions_eu_urls),
        ("uk", &config.sanctions_uk_urls),
        ("opensanctions", &config.sanctions_opensanctions_urls),
    ]
    .into_iter()
    .map(|(key, raw)| (key, split_urls(raw)))
    .filter(|(_, urls)| !urls.is_empty())
    .collect()
}

/// What one refresh did.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    /// The loaded index's version afterwards (every list's).
    pub version: String,
    pub new_version: bool,
    pub rescreened: usize,
    /// New sanctions hits among them.
    pub new_hits: usize,
    pub new_pep_hits: usize,
}

/// Downloads every list's files, imports them, loads a new version into
/// the screener and re-screens the verified identities. A list whose
/// download or import fails keeps its loaded version (the others are still
/// refreshed) and the failure is kept for `/health`.
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

async fn download_list(http: &reqwest::Client, key: &str, urls: &[String]) -> AppResult<ListUpload> {
    let mut files = Vec::new();
    for url in urls {
        let name = url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("").to_string();
        let fail = |m: String| AppError::Unavailable(format!("downloading {name}: {m}"));
        let resp = http.get(url).send().await.map_err(|e| fail(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| fail(e.without_url().to_string()))?;
        if key == SOURCE && ListFiles::default().slot(&name).is_none() {
            return Err(fail("not an OFAC CSV file name (SDN.CSV, ALT.CSV, ADD.CSV, CONS_*.CSV)".into()));
        }
        files.push((name, bytes.to_vec()));
    }
    let uploads = uploads_of(files, false).map_err(|e| AppError::Unavailable(format!("{key} list: {e}")))?;
    let mut matching = uploads.into_iter().filter(|u| u.key() == key);
    match (matching.next(), matching.next()) {
        (Some(u), None) => Ok(u),
        (None, _) if key == SOURCE => Err(AppError::Unavailable("no SDN.CSV or CONS_PRIM.CSV among the sanctions URLs".into())),
        _ => Err(AppError::Unavailable(format!("the {key} list's URLs do not all serve {key} list files"))),
    }
}

async fn refresh_inner(state: &AppState) -> AppResult<RefreshReport> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(state.config.sanctions_download_timeout_secs.max(1)))
        .build()
        .map_err(AppError::internal)?;
    let mut first_error = None;
    for (key, urls) in refresh_plan(&state.config) {
        let imported = match download_list(&http, key, &urls).await {
            Ok(upload) => import_upload(&state.db, &upload, |_, _| {}).await,
            Err(e) => Err(e),
        };
        if let Err(e) = imported {
            tracing::warn!(list = key, error = %e, "sanctions list refresh failed; keeping its loaded version");
            first_error.get_or_insert(e);
        }
    }
    let version = current_version(&state.db).await?;
    let report = match version {
        Some(v) if state.sanctions.loaded_version().as_deref() != Some(v.as_str()) => {
            let index = load_current(&state.db).await?.ok_or_else(|| AppError::internal("no current list after import"))?;
            let version = index.version().to_string();
            state.sanctions.screener.replace(index);
            let (rescreened, new_hits, new_pep_hits) = rescreen_verified(state).await?;
            RefreshReport { version, new_version: true, rescreened, new_hits, new_pep_hits }
        }
        v => RefreshReport { version: v.unwrap_or_default(), new_version: false, rescreened: 0, new_hits: 0, new_pep_hits: 0 },
    };
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Screens every verified identity against the loaded lists (the client's
/// choice of lists and its allow-list applied). A new sanctions hit sets
/// the identity's `ofac_status = hit`, `verified = false` and raises
/// `identity.sanctions_hit`; a new PEP hit leaves the identity verified and
/// raises `identity.pep_hit`. Each is an audit row, a webhook event and a
/// `screening_hit` row (status `open`, for review), in one transaction.
/// Returns (identities screened, new sanctions hits, new PEP hits).
pub async fn rescreen_verified(state: &AppState) -> AppResult<(usize, usize, usize)> {
    let Some(index) = state.sanctions.screener.current() else { return Ok((0, 0, 0)) };
    let db = &state.db;
    let mut thresholds: HashMap<String, f64> = HashMap::new();
    let (mut screened, mut new_hits, mut new_peps) = (0, 0, 0);
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
                gender: Some(id.gender.clone()),
                ..Default::default()
            };
            if subject.first_name.is_none() && subject.last_name.is_none() {
                continue;
            }
            screened += 1;
            let threshold = threshold_for(db, &id, &mut thresholds).await?;
            // Only hits at the threshold are acted on: the screening skips the rest.
            let subject = ScreeningSubject { report_from: Some(threshold), ..subject };
            let result = match screening::screen_for_client(db, &*state.sanctions.screener, &id.client_id, subject).await? {
                Ok(r) => r,
                Err(e) => return Err(AppError::Unavailable(format!("re-screening: {e}"))),
            };
            if let Some(best) = result.sanctions.first().filter(|h| h.score >= threshold)
                && id.ofac_status != "hit"
            {
                new_hits += 1;
                record_rescreen_hit(db, &id, best, index.version()).await?;
            }
            if let Some(best) = result.peps.first().filter(|h| h.score >= threshold)
                && !hit_recorded(db, &id.id, best).await?
            {
                new_peps += 1;
                record_rescreen_hit(db, &id, best, index.version()).await?;
            }
        }
    }
    Ok((screened, new_hits, new_peps))
}

async fn hit_recorded(db: &impl ConnectionTrait, identity_id: &str, hit: &SanctionsHit) -> AppResult<bool> {
    Ok(screening_hit::Entity::find()
        .filter(screening_hit::Column::IdentityId.eq(identity_id))
        .filter(screening_hit::Column::ListKey.eq(&hit.explanation.entry.list_key))
        .filter(screening_hit::Column::EntryId.eq(&hit.entry_id))
        .one(db)
        .await?
        .is_some())
}

/// One new re-screening hit: the identity change (sanctions only), the
/// `screening_hit` row, the audit row and the webhook event, together.
async fn record_rescreen_hit(db: &sea_orm::DatabaseConnection, id: &identity::Model, hit: &SanctionsHit, version: &str) -> AppResult<()> {
    let now = Utc::now();
    let pep = hit.is_pep();
    let event = if pep { "identity.pep_hit" } else { "identity.sanctions_hit" };
    let txn = crate::db::begin_write(db).await?;
    if !pep {
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
    }
    if !hit_recorded(&txn, &id.id, hit).await? {
        screening_hit::ActiveModel {
            id: Set(crate::ids::new_id()),
            client_id: Set(id.client_id.clone()),
            identity_id: Set(id.id.clone()),
            category: Set(hit.explanation.entry.category.clone()),
            list_key: Set(hit.explanation.entry.list_key.clone()),
            entry_id: Set(hit.entry_id.clone()),
            entry_name: Set(hit.name.clone()),
            score: Set(hit.score),
            lists_version: Set(version.to_string()),
            explanation: Set(screening::hit_json(hit)),
            status: Set("open".into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let detail = serde_json::json!({
        "event": event,
        "lists_version": version,
        "list": hit.list,
        "list_key": hit.explanation.entry.list_key,
        "entry_id": hit.entry_id,
        "score": hit.score,
        "client_id": id.client_id,
    });
    audit::record(&txn, &Actor::System, event, Some(("identity", &id.id)), None, Some(detail)).await?;
    if pep {
        crate::service::outbox::identity_pep_hit(&txn, &id.client_id, &id.id).await?;
    } else {
        crate::service::outbox::identity_sanctions_hit(&txn, &id.client_id, &id.id).await?;
        let message = format!("re-screening: possible match on {} (similarity {:.2})", hit.list, hit.score);
        crate::service::review::cases::open_for_identity_hit(&txn, &id.client_id, &id.id, message, now).await?;
    }
    txn.commit().await?;
    Ok(())
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
                    tracing::info!(version = %r.version, new = r.new_version, rescreened = r.rescreened, hits = r.new_hits, pep_hits = r.new_pep_hits, "sanctions lists refreshed");
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
