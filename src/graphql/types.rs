//! GraphQL object and input types. Objects wrap entity models; nested
//! fields resolve through the request's DataLoaders.

use async_graphql::connection::{Connection, Edge, OpaqueCursor};
use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, Enum, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_key, audit_log, check_result, document, ida_session, identity, idv_session, session_event, webhook, webhook_delivery};

use super::GqlResultExt;
use super::loaders::*;
use crate::error::{AppError, AppResult};
use crate::service::dashboard;
use crate::service::types::{DEFAULT_TAKE, MAX_TAKE, Page};

/// The request's DataLoader (with a per-request cache, so prefetched rows are reused).
pub type Loaders = DataLoader<Batch, async_graphql::dataloader::HashMapCache>;

pub(crate) fn loader<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// `status_e` of a session.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::service::types::SessionStatus")]
pub enum SessionStatus {
    Unknown,
    InProgress,
    Complete,
    TemporarilyBlocked,
    TemporarilyComplete,
    Expired,
}

/// The verdict of an IDV session.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Verdict {
    Verified,
    /// Not verified and not held for review.
    Rejected,
    /// The verdict policy sent the session to review (`verified` is false).
    NeedsReview,
    /// Not finalized yet.
    Pending,
}

impl From<Verdict> for dashboard::VerdictFilter {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Verified => Self::Verified,
            Verdict::Rejected => Self::Rejected,
            Verdict::NeedsReview => Self::NeedsReview,
            Verdict::Pending => Self::Pending,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    /// `completed_at` of sessions, `verified_at` of identities.
    CompletedAt,
    Score,
    /// Sessions only (identities fall back to `CREATED_AT`).
    Status,
    /// Last name, then first name (IDV sessions and identities; IDA
    /// sessions fall back to `CREATED_AT`). Empty names sort last.
    Name,
    /// IDV sessions only (the others fall back to `CREATED_AT`).
    DocumentType,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

/// Sorting of a connection; default newest first. Ties break on the id.
#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct Sort {
    #[graphql(default)]
    pub field: SortField,
    #[graphql(default)]
    pub direction: SortDirection,
}

impl From<Option<Sort>> for dashboard::Sort {
    fn from(s: Option<Sort>) -> Self {
        let s = s.unwrap_or_default();
        let field = match s.field {
            SortField::CreatedAt => dashboard::SortField::CreatedAt,
            SortField::UpdatedAt => dashboard::SortField::UpdatedAt,
            SortField::CompletedAt => dashboard::SortField::CompletedAt,
            SortField::Score => dashboard::SortField::Score,
            SortField::Status => dashboard::SortField::Status,
            SortField::Name => dashboard::SortField::Name,
            SortField::DocumentType => dashboard::SortField::DocumentType,
        };
        dashboard::Sort { field, descending: s.direction == SortDirection::Desc }
    }
}

/// An exact metadata match.
#[derive(InputObject, Clone, Debug)]
pub struct MetadataPair {
    pub key: String,
    pub value: String,
}

/// Extra fields of every connection.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionTotals {
    /// Rows matching the filters (all pages). The IDV session list counts
    /// at most 1,000: past that `totalCountExact` is false and this is a
    /// lower bound.
    pub total_count: u64,
    /// False when more rows match than were counted.
    pub total_count_exact: bool,
}

pub type Conn<T> = Connection<OpaqueCursor<usize>, T, ConnectionTotals>;

/// Relay arguments turned into an offset window: `first`/`after` pages
/// forward, `last`/`before` backward (`last` needs `before`). At most 500 rows.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

fn decode<T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync>(field: &str, cursor: Option<&str>) -> AppResult<Option<T>> {
    use async_graphql::connection::CursorType;
    cursor
        .map(|c| {
            OpaqueCursor::<T>::decode_cursor(c)
                .map(|c| c.0)
                .map_err(|_| AppError::validation(field, "not a cursor of this connection"))
        })
        .transpose()
}

/// A cursor of the IDV session list: the row's position, and — in the
/// cursors the list hands out — its sort key and id, so that `after`
/// (with `first`) and `before` (with `last`) seek to the row in the sort
/// index instead of passing `position` rows (the next or previous page
/// costs what the first does at any depth). A bare position (the older
/// form) is still read, as an offset.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum IdvCursor {
    Position(usize),
    Keyed {
        at: usize,
        /// The sort the key belongs to (`created_at.desc`, ...).
        sort: String,
        key: Vec<serde_json::Value>,
        id: String,
    },
}

impl IdvCursor {
    fn at(&self) -> usize {
        match self {
            Self::Position(at) | Self::Keyed { at, .. } => *at,
        }
    }

    /// This row's place to seek from under `sort`: only a keyed cursor of
    /// the same sort (another sort's cursor is a position).
    pub fn key(&self, sort: dashboard::Sort) -> Option<dashboard::ListKey> {
        match self {
            Self::Keyed { sort: of, key, id, .. } if *of == sort_tag(sort) => {
                dashboard::ListKey::from_cursor(sort.field, key, id.clone())
            }
            _ => None,
        }
    }
}

fn sort_tag(sort: dashboard::Sort) -> String {
    format!("{:?}.{}", sort.field, if sort.descending { "desc" } else { "asc" })
}

pub type IdvConn = Connection<OpaqueCursor<IdvCursor>, IdvSession, ConnectionTotals>;

/// The IDV session list's connection: each edge's cursor carries its
/// position, sort key and id.
pub fn idv_connection(found: dashboard::IdvPage, sort: dashboard::Sort) -> IdvConn {
    let totals = ConnectionTotals { total_count: found.total, total_count_exact: found.total_exact };
    let (start, rows) = (found.start as usize, found.rows);
    let mut conn = Connection::with_additional_fields(found.has_previous, found.has_next, totals);
    conn.edges.extend(rows.into_iter().enumerate().map(|(i, m)| {
        let cursor = IdvCursor::Keyed { at: start + i, sort: sort_tag(sort), key: dashboard::ListKey::cursor_key(&m, sort.field), id: m.id.clone() };
        Edge::new(OpaqueCursor(cursor), IdvSession(m))
    }));
    conn
}

fn count(field: &str, n: Option<i32>) -> AppResult<Option<u64>> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => Err(AppError::validation(field, "must not be negative")),
        Some(n) if n as u64 > MAX_TAKE => Err(AppError::validation(field, format!("must be at most {MAX_TAKE}"))),
        Some(n) => Ok(Some(n as u64)),
    }
}

impl PageArgs {
    pub fn page(&self) -> AppResult<Page> {
        let after = decode::<usize>("after", self.after.as_deref())?;
        let before = decode::<usize>("before", self.before.as_deref())?;
        self.window(after, before)
    }

    /// [`page`](Self::page) of the IDV session list, whose cursors may
    /// carry a sort key: the window, and where to seek under `sort` —
    /// after the `after` cursor's row for `first`, before the `before`
    /// cursor's row for `last` (alone, without `after`).
    pub fn idv_page(&self, sort: dashboard::Sort) -> AppResult<(Page, Option<dashboard::Seek>)> {
        let after = decode::<IdvCursor>("after", self.after.as_deref())?;
        let before = decode::<IdvCursor>("before", self.before.as_deref())?;
        let mut page = self.window(after.as_ref().map(IdvCursor::at), before.as_ref().map(IdvCursor::at))?;
        let seek = match (&after, &before, self.last) {
            (Some(after), _, None) => after.key(sort).map(dashboard::Seek::After),
            (None, Some(before), Some(last)) => before.key(sort).map(|key| {
                // `last` sessions before that one, whatever its position
                // now (sessions created since move it): the position only
                // numbers the page.
                let last = last.max(0) as u64;
                page = Page { skip: (before.at() as u64).saturating_sub(last), take: last };
                dashboard::Seek::Before(key)
            }),
            _ => None,
        };
        Ok((page, seek))
    }

    fn window(&self, after: Option<usize>, before: Option<usize>) -> AppResult<Page> {
        let first = count("first", self.first)?;
        let last = count("last", self.last)?;
        let start = after.map_or(0, |a| a as u64 + 1);
        let end = before.map(|b| b as u64);
        Ok(match (first, last, end) {
            (Some(_), Some(_), _) => return Err(AppError::validation("last", "give either first or last")),
            (_, Some(_), None) => return Err(AppError::validation("last", "last needs a before cursor")),
            (_, Some(n), Some(end)) => {
                let skip = end.saturating_sub(n).max(start);
                Page { take: end.saturating_sub(skip), skip }
            }
            (first, None, end) => {
                let take = first.unwrap_or(DEFAULT_TAKE);
                let take = end.map_or(take, |e| take.min(e.saturating_sub(start)));
                Page { take, skip: start }
            }
        })
    }
}

/// Rows a nested list without paging arguments (a session's checks,
/// history, documents, deliveries; an identity's sessions and documents) is
/// assumed to hold when counting a query's complexity: each of its rows
/// costs what it selects, so wide nested selections add up.
pub const NESTED_LIST_ESTIMATE: usize = 10;

/// Complexity of a nested list field: [`NESTED_LIST_ESTIMATE`] rows of `child`.
pub fn nested_list_complexity(child: usize) -> usize {
    NESTED_LIST_ESTIMATE.saturating_mul(child)
}

/// Complexity of a connection: its page size times what each row asks for.
pub fn connection_complexity(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let rows = first.or(last).unwrap_or(DEFAULT_TAKE as i32).clamp(1, MAX_TAKE as i32) as usize;
    rows.saturating_mul(child)
}

/// Builds a connection of `rows` found at `page` out of `total`.
pub fn connection<M, T>(rows: Vec<M>, total: u64, page: Page, wrap: impl Fn(M) -> T) -> Conn<T>
where
    T: async_graphql::OutputType,
{
    let start = page.skip as usize;
    let has_next = (start + rows.len()) < total as usize;
    window(rows, ConnectionTotals { total_count: total, total_count_exact: true }, has_next, page, wrap)
}

/// Builds a connection of `rows` found at `page`, whose list knows whether
/// a next page exists (its total may be a lower bound).
pub fn window<M, T>(rows: Vec<M>, totals: ConnectionTotals, has_next: bool, page: Page, wrap: impl Fn(M) -> T) -> Conn<T>
where
    T: async_graphql::OutputType,
{
    let start = page.skip as usize;
    let mut conn = Connection::with_additional_fields(start > 0, has_next, totals);
    conn.edges.extend(rows.into_iter().enumerate().map(|(i, m)| Edge::new(OpaqueCursor(start + i), wrap(m))));
    conn
}

/// True when the connection's rows select `path` (under `nodes` or `edges.node`).
fn selected(ctx: &Context<'_>, path: &[&str]) -> bool {
    let look = ctx.look_ahead();
    let mut via_nodes = look.field("nodes");
    let mut via_edges = look.field("edges").field("node");
    for name in path {
        via_nodes = via_nodes.field(name);
        via_edges = via_edges.field(name);
    }
    via_nodes.exists() || via_edges.exists()
}

/// Loads `keys` into the request's DataLoader cache in one batch when `on`.
async fn warm<K>(on: bool, keys: Vec<K>, ctx: &Context<'_>) -> async_graphql::Result<()>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Batch: async_graphql::dataloader::Loader<K, Error = async_graphql::Error>,
{
    if on && !keys.is_empty() {
        loader(ctx).load_many(keys).await?;
    }
    Ok(())
}

/// Loads the nested relations a session page selects in one batch each,
/// into the request's DataLoader cache, before the rows resolve. (Left to
/// the per-row resolvers alone, batching runs on a 1 ms timer: rows
/// resolved after a scheduler yield would start another batch.)
pub async fn prefetch_idv_page(ctx: &Context<'_>, rows: &[idv_session::Model]) -> async_graphql::Result<()> {
    let session_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let of = |name: &str| selected(ctx, &[name]);
    futures::try_join!(
        warm(of("documents"), session_ids.iter().cloned().map(DocumentsOfSession).collect(), ctx),
        warm(of("checks"), session_ids.iter().cloned().map(ChecksOfSession).collect(), ctx),
        warm(of("history"), session_ids.iter().cloned().map(HistoryOfSession).collect(), ctx),
        warm(of("deliveries"), session_ids.iter().cloned().map(DeliveriesOfSession).collect(), ctx),
        warm(of("weightsVersion"), rows.iter().map(|r| WeightsById(r.idv_weights_id.clone())).collect(), ctx),
        warm(of("identity"), rows.iter().filter_map(|r| r.identity_id.clone()).map(IdentityById).collect(), ctx),
    )?;
    if of("identity") {
        let identity_ids: Vec<String> = rows.iter().filter_map(|r| r.identity_id.clone()).collect();
        prefetch_identity_relations(ctx, &identity_ids, &["identity"]).await?;
    }
    Ok(())
}

/// [`prefetch_idv_page`] for an IDA session page.
pub async fn prefetch_ida_page(ctx: &Context<'_>, rows: &[ida_session::Model]) -> async_graphql::Result<()> {
    let session_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let of = |name: &str| selected(ctx, &[name]);
    futures::try_join!(
        warm(of("checks"), session_ids.iter().cloned().map(ChecksOfSession).collect(), ctx),
        warm(of("history"), session_ids.iter().cloned().map(HistoryOfSession).collect(), ctx),
        warm(of("deliveries"), session_ids.iter().cloned().map(DeliveriesOfSession).collect(), ctx),
        warm(of("weightsVersion"), rows.iter().map(|r| WeightsById(r.idv_weights_id.clone())).collect(), ctx),
        warm(of("identity"), rows.iter().map(|r| IdentityById(r.identity_id.clone())).collect(), ctx),
    )?;
    if of("identity") {
        let identity_ids: Vec<String> = rows.iter().map(|r| r.identity_id.clone()).collect();
        prefetch_identity_relations(ctx, &identity_ids, &["identity"]).await?;
    }
    Ok(())
}

/// The identity relations selected under `prefix`, one batch each.
pub async fn prefetch_identity_relations(ctx: &Context<'_>, identity_ids: &[String], prefix: &[&str]) -> async_graphql::Result<()> {
    let under = |name: &str| {
        let mut path = prefix.to_vec();
        path.push(name);
        selected(ctx, &path)
    };
    futures::try_join!(
        warm(under("documents"), identity_ids.iter().cloned().map(DocumentsOfIdentity).collect(), ctx),
        warm(under("idvSessions"), identity_ids.iter().cloned().map(IdvSessionsOfIdentity).collect(), ctx),
        warm(under("idaSessions"), identity_ids.iter().cloned().map(IdaSessionsOfIdentity).collect(), ctx),
    )?;
    Ok(())
}

fn json(v: &serde_json::Value) -> Json<serde_json::Value> {
    Json(v.clone())
}

/// An identity verification session.
pub struct IdvSession(pub idv_session::Model);

#[Object]
impl IdvSession {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn idv_weights_id(&self) -> &str {
        &self.0.idv_weights_id
    }
    async fn status(&self) -> SessionStatus {
        crate::service::idv::effective_status(&self.0, Utc::now()).into()
    }
    /// `unknown`, `driver_license`, `identification_card`, `passport`, `passport_card`.
    async fn document_type(&self) -> &str {
        &self.0.document_type
    }
    async fn liveness_mode(&self) -> &str {
        &self.0.liveness_mode
    }
    async fn liveness_provider(&self) -> &str {
        &self.0.liveness_provider
    }
    async fn webhook_url(&self) -> Option<&str> {
        self.0.webhook_url.as_deref()
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        json(&self.0.metadata)
    }
    async fn settings(&self) -> Json<serde_json::Value> {
        json(&self.0.settings)
    }
    async fn finalize_settings(&self) -> Option<Json<serde_json::Value>> {
        self.0.finalize_settings.as_ref().map(json)
    }
    async fn consented(&self) -> bool {
        self.0.consented
    }
    async fn consented_at(&self) -> Option<DateTime<Utc>> {
        self.0.consented_at
    }
    async fn document_front_given(&self) -> bool {
        self.0.document_front_given
    }
    async fn document_front_given_at(&self) -> Option<DateTime<Utc>> {
        self.0.document_front_given_at
    }
    async fn document_back_given(&self) -> bool {
        self.0.document_back_given
    }
    async fn document_back_given_at(&self) -> Option<DateTime<Utc>> {
        self.0.document_back_given_at
    }
    async fn liveness_detected(&self) -> bool {
        self.0.liveness_detected
    }
    async fn liveness_detected_at(&self) -> Option<DateTime<Utc>> {
        self.0.liveness_detected_at
    }
    async fn selfie_given(&self) -> bool {
        self.0.selfie_given
    }
    async fn selfie_given_at(&self) -> Option<DateTime<Utc>> {
        self.0.selfie_given_at
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn middle_name(&self) -> Option<&str> {
        self.0.middle_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn suffix_name(&self) -> Option<&str> {
        self.0.suffix_name.as_deref()
    }
    async fn gender(&self) -> &str {
        &self.0.gender
    }
    async fn birth_date(&self) -> Option<&str> {
        self.0.birth_date.as_deref()
    }
    /// `unknown`, `clear`, `hit`, `unavailable`.
    async fn ofac_status(&self) -> &str {
        &self.0.ofac_status
    }
    async fn ofac_detected_at(&self) -> Option<DateTime<Utc>> {
        self.0.ofac_detected_at
    }
    /// `unknown`, `match`, `no_match`, `pending`, `unavailable`.
    async fn dmv_status(&self) -> &str {
        &self.0.dmv_status
    }
    async fn dmv_detected_at(&self) -> Option<DateTime<Utc>> {
        self.0.dmv_detected_at
    }
    /// `null` until finalize.
    async fn verified(&self) -> Option<bool> {
        self.0.verified
    }
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }
    /// Weighted mean (0..1) of the checks that ran.
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    /// In order of decisiveness: knock-outs, review triggers, then the
    /// score. `[{check, code, message, effect, decisive, rule, value,
    /// threshold, threshold_name, weight}]`; `null` until finalize.
    async fn reasons(&self) -> Option<Json<serde_json::Value>> {
        self.0.reasons.as_ref().map(json)
    }
    /// The verdict policy sent the session to review (`verified` is false):
    /// hold the user until a person decided.
    async fn review_required(&self) -> bool {
        self.0.review_required
    }
    /// `verified`, `needs_review` or `rejected` once complete; `null` before.
    async fn decision(&self) -> Option<&'static str> {
        (self.0.status == "complete").then(|| crate::service::finalize::stored_verdict(&self.0).decision.as_str())
    }
    async fn identity_id(&self) -> Option<&str> {
        self.0.identity_id.as_deref()
    }
    async fn failed_attempts(&self) -> i32 {
        self.0.failed_attempts
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The identity this session created or updated (`null` once erased).
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        let Some(id) = self.0.identity_id.clone() else { return Ok(None) };
        Ok(loader(ctx).load_one(IdentityById(id)).await?.flatten().map(Identity))
    }
    /// Every document read in this session, newest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn documents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Document>> {
        let rows = loader(ctx).load_one(DocumentsOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Document).collect())
    }
    /// The check results, by check name.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn checks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CheckResult>> {
        let rows = loader(ctx).load_one(ChecksOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(CheckResult).collect())
    }
    /// Every state change and SDK step, oldest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEvent>> {
        let rows = loader(ctx).load_one(HistoryOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(HistoryEvent).collect())
    }
    /// The weights version pinned at creation.
    async fn weights_version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WeightsVersion>> {
        Ok(loader(ctx).load_one(WeightsById(self.0.idv_weights_id.clone())).await?.flatten().map(Into::into))
    }
    /// Webhook deliveries of this session's events, newest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn deliveries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let rows = loader(ctx).load_one(DeliveriesOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
    /// Every stored image of the session (document sides, selfie, liveness
    /// frames), oldest first. One statement per session: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StoredImage>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::files::list_in_session(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(StoredImage).collect())
    }
    /// Where each capture was made (client IP, device position), oldest first.
    /// One statement per session: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn locations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CaptureLocation>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::location::list_for_session(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(CaptureLocation).collect())
    }
    /// The hosted capture page's links opened for this session (how, on
    /// which device and browser), newest first; empty when the
    /// integrator's own SDK did the capture. One statement per session: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn capture_openings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CaptureOpening>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::capture::openings(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(CaptureOpening).collect())
    }
}

/// A capture link opened by the end user on the hosted capture page.
pub struct CaptureOpening(pub crate::service::capture::CaptureOpening);

#[Object]
impl CaptureOpening {
    /// `api` (a link the integrator sent) or `handoff` (scanned from the page on a desktop).
    async fn origin(&self) -> &str {
        &self.0.origin
    }
    /// `phone`, `tablet` or `desktop`, from the browser's user agent.
    async fn device(&self) -> &str {
        &self.0.device
    }
    /// Browser and operating system, e.g. `Chrome 124 on Android`.
    async fn browser(&self) -> &str {
        &self.0.browser
    }
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
}

/// An identity authentication (re-verification) session.
pub struct IdaSession(pub ida_session::Model);

#[Object]
impl IdaSession {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn identity_id(&self) -> &str {
        &self.0.identity_id
    }
    async fn idv_weights_id(&self) -> &str {
        &self.0.idv_weights_id
    }
    /// An open session past its expiry reads as `EXPIRED`, as in REST.
    async fn status(&self) -> SessionStatus {
        crate::service::ida::effective_status(&self.0, Utc::now()).into()
    }
    async fn liveness_mode(&self) -> &str {
        &self.0.liveness_mode
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        json(&self.0.metadata)
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn liveness_detected(&self) -> bool {
        self.0.liveness_detected
    }
    async fn selfie_given(&self) -> bool {
        self.0.selfie_given
    }
    /// `null` until finalize.
    async fn authenticated(&self) -> Option<bool> {
        self.0.authenticated
    }
    async fn face_distance(&self) -> Option<f64> {
        self.0.face_distance
    }
    async fn reasons(&self) -> Option<Json<serde_json::Value>> {
        self.0.reasons.as_ref().map(json)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        Ok(loader(ctx).load_one(IdentityById(self.0.identity_id.clone())).await?.flatten().map(Identity))
    }
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn checks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CheckResult>> {
        let rows = loader(ctx).load_one(ChecksOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(CheckResult).collect())
    }
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEvent>> {
        let rows = loader(ctx).load_one(HistoryOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(HistoryEvent).collect())
    }
    async fn weights_version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WeightsVersion>> {
        Ok(loader(ctx).load_one(WeightsById(self.0.idv_weights_id.clone())).await?.flatten().map(Into::into))
    }
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn deliveries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let rows = loader(ctx).load_one(DeliveriesOfSession(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
    /// The session's stored images (selfie, liveness frames), oldest first.
    /// One statement per session: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StoredImage>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::files::list_in_session(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(StoredImage).collect())
    }
    /// Where each capture was made (client IP, device position), oldest first.
    /// One statement per session: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn locations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CaptureLocation>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::location::list_for_session(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(CaptureLocation).collect())
    }
}

/// A verified person of a client.
pub struct Identity(pub identity::Model);

#[Object]
impl Identity {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn middle_name(&self) -> Option<&str> {
        self.0.middle_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn suffix_name(&self) -> Option<&str> {
        self.0.suffix_name.as_deref()
    }
    async fn birth_date(&self) -> Option<&str> {
        self.0.birth_date.as_deref()
    }
    async fn gender(&self) -> &str {
        &self.0.gender
    }
    async fn street(&self) -> Option<&str> {
        self.0.street.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn ofac_status(&self) -> &str {
        &self.0.ofac_status
    }
    async fn dmv_status(&self) -> &str {
        &self.0.dmv_status
    }
    async fn verified(&self) -> bool {
        self.0.verified
    }
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }
    async fn last_verified(&self) -> Option<DateTime<Utc>> {
        self.0.last_verified
    }
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        json(&self.0.metadata)
    }
    async fn latest_idv_session_id(&self) -> Option<&str> {
        self.0.latest_idv_session_id.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// IDV sessions linked to this identity, newest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn idv_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<IdvSession>> {
        let rows = loader(ctx).load_one(IdvSessionsOfIdentity(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(IdvSession).collect())
    }
    /// Re-authentication sessions of this identity, newest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn ida_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<IdaSession>> {
        let rows = loader(ctx).load_one(IdaSessionsOfIdentity(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(IdaSession).collect())
    }
    /// Documents linked to this identity, newest first.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn documents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Document>> {
        let rows = loader(ctx).load_one(DocumentsOfIdentity(self.0.id.clone())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Document).collect())
    }
    /// Stored images linked to this identity, newest first. One statement
    /// per identity: meant for a detail view.
    #[graphql(complexity = "nested_list_complexity(child_complexity)")]
    async fn images(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StoredImage>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = crate::service::files::list_for_identity(&state.db, &self.0.client_id, &self.0.id).await.gql()?;
        Ok(rows.into_iter().map(StoredImage).collect())
    }
}

/// A stored (encrypted) image. The bytes are served to a logged-in
/// dashboard user at `url` (every view audited), never inline here.
pub struct StoredImage(pub entity::stored_file::Model);

#[Object]
impl StoredImage {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn session_id(&self) -> &str {
        &self.0.session_id
    }
    /// `storage_file_type_e`: `driver_license_front`, `selfie`, `liveness_passive`, ...
    async fn file_type(&self) -> &str {
        &self.0.file_type
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }
    async fn width(&self) -> Option<i32> {
        self.0.width
    }
    async fn height(&self) -> Option<i32> {
        self.0.height
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Where the admin UI reads the bytes (admin session cookie).
    async fn url(&self) -> String {
        format!("/admin/media/{}", self.0.id)
    }
}

/// Where one capture was made.
pub struct CaptureLocation(pub entity::capture_location::Model);

#[Object]
impl CaptureLocation {
    /// `front_doc_image_capture`, `back_doc_image_capture`, `selfie_image_capture`.
    async fn capture_type(&self) -> &str {
        &self.0.capture_type
    }
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }
    async fn ip_country(&self) -> Option<&str> {
        self.0.ip_country.as_deref()
    }
    async fn ip_city(&self) -> Option<&str> {
        self.0.ip_city.as_deref()
    }
    async fn device_latitude(&self) -> Option<f64> {
        self.0.device_latitude
    }
    async fn device_longitude(&self) -> Option<f64> {
        self.0.device_longitude
    }
    async fn device_locality(&self) -> Option<&str> {
        self.0.device_locality.as_deref()
    }
    async fn device_country_code(&self) -> Option<&str> {
        self.0.device_country_code.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A document as read from the images (barcode, MRZ or OCR).
pub struct Document(pub document::Model);

#[Object]
impl Document {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn session_id(&self) -> &str {
        &self.0.session_id
    }
    async fn identity_id(&self) -> Option<&str> {
        self.0.identity_id.as_deref()
    }
    /// The document the session's verdict used.
    async fn is_current(&self) -> bool {
        self.0.is_current
    }
    async fn document_type(&self) -> &str {
        &self.0.r#type
    }
    async fn data_source(&self) -> &str {
        &self.0.data_source
    }
    async fn document_number(&self) -> Option<&str> {
        self.0.document_number.as_deref()
    }
    async fn issued_at(&self) -> Option<&str> {
        self.0.issued_at.as_deref()
    }
    async fn expires_at(&self) -> Option<&str> {
        self.0.expires_at.as_deref()
    }
    async fn issuing_country(&self) -> Option<&str> {
        self.0.issuing_country.as_deref()
    }
    async fn issuing_state(&self) -> Option<&str> {
        self.0.issuing_state.as_deref()
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn birth_date(&self) -> Option<&str> {
        self.0.birth_date.as_deref()
    }
    async fn gender(&self) -> &str {
        &self.0.gender
    }
    async fn street(&self) -> Option<&str> {
        self.0.street.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    async fn state(&self) -> Option<&str> {
        self.0.state.as_deref()
    }
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The outcome of one verification check.
pub struct CheckResult(pub check_result::Model);

#[Object]
impl CheckResult {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn session_id(&self) -> &str {
        &self.0.session_id
    }
    /// `idv` or `ida`.
    async fn session_kind(&self) -> &str {
        &self.0.session_kind
    }
    async fn check_name(&self) -> &str {
        &self.0.check_name
    }
    /// `pending`, `pass`, `fail`, `unavailable`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn score(&self) -> Option<f64> {
        self.0.score
    }
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    async fn engine_version(&self) -> Option<&str> {
        self.0.engine_version.as_deref()
    }
    /// What the check saw, e.g. the DMV's per-field answers or the sanctions candidates.
    async fn evidence(&self) -> Option<Json<serde_json::Value>> {
        self.0.evidence.as_ref().map(json)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One history entry of a session.
pub struct HistoryEvent(pub session_event::Model);

#[Object]
impl HistoryEvent {
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

macro_rules! weights_types {
    ($($f:ident),*) => {
        /// An immutable scoring weights version.
        #[derive(SimpleObject, Debug, Clone)]
        pub struct WeightsVersion {
            pub id: String,
            /// `null`: the platform default.
            pub client_id: Option<String>,
            pub user_id: Option<String>,
            pub created_at: DateTime<Utc>,
            pub created_by: Option<String>,
            /// Who wrote the version, in words (a dashboard user's email,
            /// "an API key", "the platform operator", ...).
            pub created_by_name: Option<String>,
            /// Why the version was written (the admin UI requires one).
            pub change_note: Option<String>,
            $(pub $f: f64,)*
            /// The verdict policy of the version: `{rule: "score" | "knock_out" | "review", ..., document_validity_weight}`.
            pub policy: Json<serde_json::Value>,
        }

        impl From<entity::weights::Model> for WeightsVersion {
            fn from(m: entity::weights::Model) -> Self {
                let policy = Json(crate::service::weights::policy_of(&m).to_json());
                Self { id: m.id, client_id: m.client_id, user_id: m.user_id, created_at: m.created_at,
                    created_by: m.created_by, created_by_name: None, change_note: m.change_note, $($f: m.$f,)* policy }
            }
        }

        /// Every weight of a version (see the API contract for their meaning).
        #[derive(InputObject, Debug, Clone)]
        pub struct WeightsValuesInput {
            $(pub $f: f64,)*
        }

        impl WeightsValuesInput {
            pub fn values(&self) -> crate::service::weights::WeightValues {
                crate::service::weights::WeightValues { $($f: self.$f,)* }
            }
        }
    };
}
crate::for_each_weight_field!(weights_types);

macro_rules! requirement_types {
    ($($f:ident),*) => {
        /// The fields a document of one (type, data source) must carry.
        #[derive(SimpleObject, Debug, Clone)]
        pub struct Requirement {
            pub document_type: String,
            pub data_source: String,
            $(pub $f: bool,)*
        }

        impl From<crate::service::requirements::RequirementSet> for Requirement {
            fn from(s: crate::service::requirements::RequirementSet) -> Self {
                Self { document_type: s.doc_type.as_str().into(), data_source: s.source.as_str().into(), $($f: s.$f,)* }
            }
        }

        /// Flags to store for one (type, data source); absent flags keep the value in force.
        #[derive(InputObject, Debug, Clone)]
        pub struct RequirementsInput {
            /// Another client: platform operator only.
            pub client_id: Option<String>,
            /// Only for this user of the client.
            pub user_id: Option<String>,
            /// `driver_license`, `identification_card`, `passport`, `passport_card`.
            pub document_type: String,
            /// `barcode`, `mrz`, `ocr`, `manual`.
            pub data_source: String,
            $(pub $f: Option<bool>,)*
        }

        impl RequirementsInput {
            pub fn apply(&self, mut set: crate::service::requirements::RequirementSet) -> crate::service::requirements::RequirementSet {
                $(if let Some(v) = self.$f { set.$f = v; })*
                set
            }
        }
    };
}
crate::for_each_requirement_flag!(requirement_types);

/// A webhook endpoint (its secret is never shown again after create / rotate).
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// This endpoint's delivery log, newest first (at most `first`, default 50).
    /// Two statements per endpoint: meant for a detail view.
    #[graphql(complexity = "(first as usize).saturating_mul(child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: u32,
    ) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let page = Page { take: u64::from(first.clamp(1, MAX_TAKE as u32)), skip: 0 };
        let filter = crate::service::outbox::DeliveryFilter { webhook_id: Some(self.0.id.clone()), ..Default::default() };
        let (logs, _) = crate::service::outbox::list_deliveries(&state.db, &self.0.client_id, filter, page).await.gql()?;
        Ok(logs.into_iter().map(|l| WebhookDelivery(l.delivery)).collect())
    }
}

/// One event queued for a webhook endpoint.
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn webhook_id(&self) -> Option<&str> {
        self.0.webhook_id.as_deref()
    }
    async fn target_url(&self) -> &str {
        &self.0.target_url
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }
    /// `idv` (an identity verification) or `ida` (an authentication) when the
    /// event is about a session: where `sessionId` leads.
    async fn session_kind(&self) -> Option<&'static str> {
        crate::service::outbox::delivery_session_kind(&self.0)
    }
    async fn sequence(&self) -> i64 {
        self.0.sequence
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// An audited action.
pub struct AuditLogEntry(pub audit_log::Model);

#[Object]
impl AuditLogEntry {
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// `api_key`, `user` or `system`.
    async fn actor_kind(&self) -> &str {
        &self.0.actor_kind
    }
    async fn actor_id(&self) -> Option<&str> {
        self.0.actor_id.as_deref()
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn target_kind(&self) -> Option<&str> {
        self.0.target_kind.as_deref()
    }
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    async fn detail(&self) -> Option<Json<serde_json::Value>> {
        self.0.detail.as_ref().map(json)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// An integrator API key (the secret is shown once, on create).
pub struct ApiKey(pub api_key::Model);

#[Object]
impl ApiKey {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the key, for recognising it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    /// What the key may do: `read_only`, `integrator` or `admin` (keys made
    /// before scopes: `admin`, capped by their owner's role when used).
    async fn scope(&self) -> &str {
        self.0.scope.as_deref().unwrap_or("admin")
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// Sessions of one status created on one day.
#[derive(SimpleObject, Debug, Clone)]
pub struct DayStatusCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub status: SessionStatus,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct CheckFailureCount {
    pub check_name: String,
    pub count: i64,
}

/// Aggregates over the IDV sessions created in a window.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct DashboardStats {
    pub total_sessions: i64,
    pub sessions_by_status_per_day: Vec<DayStatusCount>,
    /// Verified / finalized with a verdict; `null` when none has one.
    pub pass_rate: Option<f64>,
    pub decided_sessions: i64,
    pub average_score: Option<f64>,
    /// The most frequent failing checks, most frequent first.
    pub failing_checks: Vec<CheckFailureCount>,
    /// Median seconds from creation to completion.
    pub median_seconds_to_complete: Option<f64>,
    #[graphql(skip)]
    pub window: Option<dashboard::StatsWindow>,
}

/// Decided and verified sessions created on one day.
#[derive(SimpleObject, Debug, Clone)]
pub struct DayPassRate {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub decided: i64,
    pub verified: i64,
    /// verified / decided; `null` when none was decided that day.
    pub pass_rate: Option<f64>,
}

#[ComplexObject]
impl DashboardStats {
    /// Sessions in the window (all statuses) per day.
    async fn sessions_per_day(&self) -> Vec<DayStatusCount> {
        let mut days: Vec<DayStatusCount> = Vec::new();
        for row in &self.sessions_by_status_per_day {
            match days.last_mut() {
                Some(last) if last.day == row.day => last.count += row.count,
                _ => days.push(DayStatusCount { day: row.day.clone(), status: SessionStatus::Unknown, count: row.count }),
            }
        }
        days
    }
    /// Pass rate per day of creation (one more statement, only when selected).
    async fn pass_rate_per_day(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DayPassRate>> {
        let Some(window) = &self.window else { return Ok(vec![]) };
        let state = ctx.data_unchecked::<crate::state::AppState>();
        let rows = dashboard::verdicts_per_day(&state.db, window).await.gql()?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (decided, verified) = (r.decided.unwrap_or(0), r.verified.unwrap_or(0));
                let pass_rate = (decided > 0).then(|| verified as f64 / decided as f64);
                DayPassRate { day: r.day, decided, verified, pass_rate }
            })
            .collect())
    }
}

impl From<dashboard::DashboardStats> for DashboardStats {
    fn from(s: dashboard::DashboardStats) -> Self {
        Self {
            total_sessions: s.total_sessions,
            sessions_by_status_per_day: s
                .by_status_per_day
                .into_iter()
                .map(|r| DayStatusCount {
                    day: r.day,
                    status: crate::service::types::SessionStatus::from_db(&r.status).into(),
                    count: r.count,
                })
                .collect(),
            pass_rate: s.pass_rate,
            decided_sessions: s.decided_sessions,
            average_score: s.average_score,
            failing_checks: s
                .failing_checks
                .into_iter()
                .map(|c| CheckFailureCount { check_name: c.check_name, count: c.count })
                .collect(),
            median_seconds_to_complete: s.median_seconds_to_complete,
            window: None,
        }
    }
}

/// A verdict: stored or recomputed.
#[derive(SimpleObject, Debug, Clone)]
pub struct VerdictView {
    pub verified: bool,
    /// `verified`, `needs_review` or `rejected`.
    pub decision: String,
    pub review_required: bool,
    pub score: Option<f64>,
    /// In order of decisiveness: `[{check, code, message, effect, decisive, rule, value, threshold, threshold_name, weight}]`.
    pub reasons: Json<serde_json::Value>,
}

impl From<&crate::engine::scoring::Verdict> for VerdictView {
    fn from(v: &crate::engine::scoring::Verdict) -> Self {
        Self {
            verified: v.verified,
            decision: v.decision.as_str().to_string(),
            review_required: v.review_required,
            score: v.score,
            reasons: Json(serde_json::to_value(&v.reasons).unwrap_or_default()),
        }
    }
}

/// One rule of the verdict policy.
#[derive(SimpleObject, Debug, Clone)]
pub struct PolicyRule {
    /// The key in `policy` objects.
    pub key: String,
    /// `score`, `knock_out` or `review`.
    pub default_action: String,
    /// The check names it covers.
    pub checks: Vec<String>,
    pub description: String,
}

impl From<crate::engine::policy::RuleInfo> for PolicyRule {
    fn from(r: crate::engine::policy::RuleInfo) -> Self {
        Self {
            key: r.key.to_string(),
            default_action: r.default.as_str().to_string(),
            checks: r.checks.iter().map(|c| c.to_string()).collect(),
            description: r.description.to_string(),
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub struct RescoredSession {
    pub session_id: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub stored: VerdictView,
    pub proposed: VerdictView,
    /// The decision (verified, needs_review, rejected) differs.
    pub changed: bool,
    /// The weights fields (snake case) and `policy.<rule>` entries that
    /// differ between the version the session pinned and the proposal.
    pub changes: Vec<ValueChange>,
    /// Per check, what it did in the stored and in the proposed verdict,
    /// for the checks whose action, threshold, weight or decisiveness differ.
    pub differences: Vec<VerdictDifference>,
}

/// A value of a weights version and its proposed replacement.
#[derive(SimpleObject, Debug, Clone)]
pub struct ValueChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One check's part in a stored and a proposed verdict.
#[derive(SimpleObject, Debug, Clone)]
pub struct VerdictDifference {
    /// The check (`score`: the overall score against its threshold).
    pub check: String,
    pub before: String,
    pub after: String,
    /// What moved it: `threshold`, `weight`, `action` or `outcome`.
    pub changed: Vec<String>,
}

/// The outcome of re-scoring recent sessions with proposed weights (nothing is written).
#[derive(SimpleObject, Debug, Clone)]
pub struct WhatIfResult {
    pub sessions_scored: i32,
    pub verified_before: i32,
    pub verified_after: i32,
    pub review_before: i32,
    pub review_after: i32,
    pub changed: i32,
    pub sessions: Vec<RescoredSession>,
}

impl From<Vec<dashboard::Rescored>> for WhatIfResult {
    fn from(rows: Vec<dashboard::Rescored>) -> Self {
        let sessions: Vec<RescoredSession> = rows
            .iter()
            .map(|r| RescoredSession {
                session_id: r.session.id.clone(),
                completed_at: r.session.completed_at,
                stored: (&r.stored).into(),
                proposed: (&r.proposed).into(),
                changed: r.stored.decision != r.proposed.decision,
                changes: r
                    .changes
                    .iter()
                    .map(|(field, before, after)| ValueChange { field: field.clone(), before: before.clone(), after: after.clone() })
                    .collect(),
                differences: r
                    .differences
                    .clone()
                    .into_iter()
                    .map(|d| VerdictDifference {
                        check: d.check,
                        before: d.before,
                        after: d.after,
                        changed: d.changed.into_iter().map(str::to_string).collect(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            sessions_scored: sessions.len() as i32,
            verified_before: rows.iter().filter(|r| r.stored.verified).count() as i32,
            verified_after: rows.iter().filter(|r| r.proposed.verified).count() as i32,
            review_before: rows.iter().filter(|r| r.stored.review_required).count() as i32,
            review_after: rows.iter().filter(|r| r.proposed.review_required).count() as i32,
            changed: sessions.iter().filter(|s| s.changed).count() as i32,
            sessions,
        }
    }
}

/// One recent session under proposed requirements.
#[derive(SimpleObject, Debug, Clone)]
pub struct PreviewedSession {
    pub session_id: String,
    pub completed_at: Option<DateTime<Utc>>,
    /// Required fields its document lacks under the requirements in force.
    pub missing_in_force: Vec<String>,
    /// ... and under the proposed requirements.
    pub missing_proposed: Vec<String>,
    /// Re-scored under the requirements in force (its pinned weights and policy).
    pub in_force: VerdictView,
    /// Re-scored under the proposed requirements.
    pub proposed: VerdictView,
    /// The decision (verified, needs_review, rejected) differs.
    pub changed: bool,
}

/// What proposed requirements would do to recent sessions (nothing is written).
#[derive(SimpleObject, Debug, Clone)]
pub struct RequirementsPreview {
    /// Recent finalized sessions of the document type read from the data source.
    pub sessions_checked: i32,
    /// Sessions whose document would lack a field it does not lack now.
    pub newly_missing: i32,
    /// Sessions whose decision would change.
    pub changed: i32,
    pub sessions: Vec<PreviewedSession>,
}

impl From<Vec<dashboard::RequirementsPreviewRow>> for RequirementsPreview {
    fn from(rows: Vec<dashboard::RequirementsPreviewRow>) -> Self {
        let sessions: Vec<PreviewedSession> = rows
            .into_iter()
            .map(|r| PreviewedSession {
                session_id: r.session.id.clone(),
                completed_at: r.session.completed_at,
                changed: r.in_force.decision != r.proposed.decision,
                in_force: (&r.in_force).into(),
                proposed: (&r.proposed).into(),
                missing_in_force: r.missing_in_force,
                missing_proposed: r.missing_proposed,
            })
            .collect();
        Self {
            sessions_checked: sessions.len() as i32,
            newly_missing: sessions.iter().filter(|s| s.missing_proposed.iter().any(|f| !s.missing_in_force.contains(f))).count() as i32,
            changed: sessions.iter().filter(|s| s.changed).count() as i32,
            sessions,
        }
    }
}

/// Turns a service page into a connection (shared by every list field).
pub fn into_connection<M, T>(found: AppResult<(Vec<M>, u64)>, page: Page, wrap: impl Fn(M) -> T) -> async_graphql::Result<Conn<T>>
where
    T: async_graphql::OutputType,
{
    let (rows, total) = found.gql()?;
    Ok(connection(rows, total, page, wrap))
}
