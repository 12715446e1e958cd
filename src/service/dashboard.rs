//! The dashboard's reads: sorted session / identity pages, batched lookups
//! by parent ids (one statement per relation, whatever the page size — the
//! GraphQL DataLoaders call these), aggregates and the what-if re-score.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{audit_log, check_result, document, ida_session, identity, idv_session, idv_session_search, session_event, webhook_delivery, weights};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityName, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryTrait,
    QueryOrder, QuerySelect, Select,
};

use crate::engine::scoring::{self, CheckInput, FinalizeSettings, ScoringContext, Verdict};
use crate::error::AppResult;
use crate::service::idv::{self, IdvSettings};
use crate::service::identities::{self, IdentityFilter};
use crate::service::types::{CheckStatus, DocumentType, Page, SessionStatus};
use crate::service::session_search::{self, Probe};
use crate::service::tenancy::Scope;
use crate::service::weights::WeightValues;

/// Sort keys of session and identity connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    CreatedAt,
    UpdatedAt,
    CompletedAt,
    Score,
    Status,
    /// Last name, then first name.
    Name,
    DocumentType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self { field: SortField::CreatedAt, descending: true }
    }
}

fn order(descending: bool) -> Order {
    if descending { Order::Desc } else { Order::Asc }
}

/// Which way a walk reads a list's order: along it, or back against it
/// (the page before a cursor), where the empty values come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Way {
    /// The list's direction.
    descending: bool,
    backward: bool,
}

impl Way {
    fn along(descending: bool) -> Self {
        Self { descending, backward: false }
    }

    /// Whether the walk reads its keys from the highest down.
    fn descends(self) -> bool {
        self.descending != self.backward
    }

    fn order(self) -> Order {
        order(self.descends())
    }

    /// `e` strictly past `v` in the walk's direction.
    fn beyond(self, e: Expr, v: impl Into<Expr>) -> Expr {
        if self.descends() { e.lt(v) } else { e.gt(v) }
    }

    /// Where a key's empty values lie in the walk: last in the list's
    /// order, so first walking back.
    fn empties(self) -> sea_orm::sea_query::NullOrdering {
        use sea_orm::sea_query::NullOrdering;
        if self.backward { NullOrdering::First } else { NullOrdering::Last }
    }
}

/// IDV verdict filter: verified, not verified, or not decided yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictFilter {
    Verified,
    /// Not verified and not held for review.
    Rejected,
    /// The verdict policy sent the session to review.
    NeedsReview,
    Pending,
}

/// What the dashboard's session list filters on beyond the REST list
/// filters (whose `search_term` it answers from the search index instead).
#[derive(Debug, Clone, Default)]
pub struct IdvListExtras {
    pub verdict: Option<VerdictFilter>,
    /// Sessions with a failed result of this check.
    pub failing_check: Option<String>,
    /// `Some(true)`: sanctions screening hit; `Some(false)`: screened clear.
    pub sanctions_hit: Option<bool>,
    pub document_type: Option<DocumentType>,
    pub liveness_provider: Option<String>,
}

/// The WHERE clause of the dashboard's session list and its CSV export,
/// with the search already asked of the index
/// ([`session_search::resolve`]): [`IdvWhere::condition`] renders it for
/// counting or for an ordered page.
///
/// [`session_search::resolve`]: crate::service::session_search::resolve
pub async fn idv_condition(
    db: &impl ConnectionTrait,
    filter: &idv::ListFilter,
    extras: &IdvListExtras,
    now: DateTime<Utc>,
) -> AppResult<IdvWhere> {
    use idv_session::Column as C;
    let mut cond = idv::list_filters(filter, now);
    let search = match filter.search_term.as_deref() {
        Some(search) => session_search::resolve(db, &filter.client_ids, search).await?,
        None => None,
    };
    match extras.verdict {
        Some(VerdictFilter::Verified) => cond = cond.add(C::Verified.eq(true)),
        Some(VerdictFilter::Rejected) => cond = cond.add(C::Verified.eq(false)).add(C::ReviewRequired.eq(false)),
        Some(VerdictFilter::NeedsReview) => cond = cond.add(C::ReviewRequired.eq(true)),
        Some(VerdictFilter::Pending) => cond = cond.add(C::Verified.is_null()),
        None => {}
    }
    match extras.sanctions_hit {
        Some(true) => cond = cond.add(C::OfacStatus.eq("hit")),
        Some(false) => cond = cond.add(C::OfacStatus.eq("clear")),
        None => {}
    }
    if let Some(t) = extras.document_type {
        cond = cond.add(C::DocumentType.eq(t.as_str()));
    }
    if let Some(p) = &extras.liveness_provider {
        cond = cond.add(C::LivenessProvider.eq(p.as_str()));
    }
    Ok(IdvWhere {
        base: cond,
        search,
        client_ids: filter.client_ids.clone(),
        failing_check: extras.failing_check.clone(),
        backend: db.get_database_backend(),
    })
}

/// The dashboard's session filters with the search resolved.
#[derive(Debug, Clone)]
pub struct IdvWhere {
    /// Every filter but the clients, the search and the failing check.
    base: Condition,
    search: Option<session_search::Found>,
    client_ids: Vec<String>,
    failing_check: Option<String>,
    backend: DbBackend,
}

/// How a statement meets the search and the failing check: the form of
/// each subquery, and how the clients are tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Forms {
    search: Probe,
    failing: Probe,
    clients: idv::ClientCheck,
    /// The rows of the smallest index range read as a set
    /// ([`Probe::Set`]); 0 without one.
    set_rows: u64,
}

impl Forms {
    /// Both subqueries in one form, no set read.
    fn of(probe: Probe, clients: idv::ClientCheck) -> Self {
        Self { search: probe, failing: probe, clients, set_rows: 0 }
    }
}

impl IdvWhere {
    /// The filters as one condition; the search and the failing check as
    /// subqueries of the given form ([`Probe::List`] to count,
    /// [`Probe::PerSession`] for an ordered page).
    pub fn condition(&self, probe: Probe) -> Condition {
        self.condition_as(Forms::of(probe, self.search_clients()))
    }

    /// The clients' test for a search: per row when the search found a
    /// short list of ids (looked up by primary key).
    fn search_clients(&self) -> idv::ClientCheck {
        let by_ids = self.search.as_ref().is_some_and(session_search::Found::is_id_list);
        if by_ids { idv::ClientCheck::PerRow } else { idv::ClientCheck::Indexed }
    }

    /// The search rows a broad one-word search finds, when it is the only
    /// filter but the clients and the search rows carry the sort's keys
    /// ([`keyed_search_window`]).
    fn keyed_rows(&self, field: SortField) -> Option<Condition> {
        if self.failing_check.is_some() || !self.base.is_empty() || !keyed_sort(field) {
            return None;
        }
        self.search.as_ref()?.one_word_range()
    }

    /// True when the search (a broad one) or the failing check is a
    /// subquery whose form decides the plan.
    fn has_subqueries(&self) -> bool {
        self.failing_check.is_some() || self.search.as_ref().is_some_and(session_search::Found::is_broad)
    }

    fn condition_as(&self, forms: Forms) -> Condition {
        self.plain_condition(forms.clients).add(self.subquery_condition(forms))
    }

    /// The clients and the filters on the session's own columns.
    fn plain_condition(&self, clients: idv::ClientCheck) -> Condition {
        idv::clients_condition(&self.client_ids, clients).add(self.base.clone())
    }

    /// The search and the failing check, as subqueries of the given forms.
    fn subquery_condition(&self, forms: Forms) -> Condition {
        let mut cond = Condition::all();
        if let Some(found) = &self.search {
            cond = cond.add(found.condition(forms.search));
        }
        if let Some(failing) = self.failing_results() {
            use check_result::Column as R;
            // Only IDV sessions match `idv_session.id`: no kind test, so the
            // index `(client_id, check_name, status, session_score,
            // session_id)` answers the list alone.
            cond = cond.add(session_search::sessions_where(
                check_result::Entity,
                (check_result::Entity, R::ClientId),
                (check_result::Entity, R::SessionId),
                &self.client_ids,
                failing,
                forms.failing,
                self.backend,
            ));
        }
        cond
    }

    /// Every filter but the failing check.
    fn condition_but_failing_check(&self, probe: Probe) -> Condition {
        let mut cond = self.plain_condition(self.search_clients());
        if let Some(found) = &self.search {
            cond = cond.add(found.condition(probe));
        }
        cond
    }

    /// The failed results of the failing-check filter's check (a condition
    /// on `check_result`, without the clients), if it is set.
    fn failing_results(&self) -> Option<Condition> {
        use check_result::Column as R;
        let check = self.failing_check.as_deref()?;
        Some(Condition::all().add(R::CheckName.eq(check)).add(R::Status.eq(CheckStatus::Fail.as_str())))
    }

    /// The copy of the sort's key a failing-check walk orders by, when the
    /// list is filtered by a failing check and sorted by score or status.
    fn failing_key(&self, field: SortField) -> Option<check_result::Column> {
        self.failing_check.as_ref().and(failing_copy(field))
    }

    /// The sessions failing the filter's check, each joined from its
    /// result in a failing-check index (whose copy of the session's score
    /// or status orders them), under the other filters.
    fn failing_base(&self) -> Select<idv_session::Entity> {
        use check_result::Column as R;
        use sea_orm::JoinType;
        let session_of: sea_orm::RelationDef = check_result::Entity::belongs_to(idv_session::Entity)
            .from(R::SessionId)
            .to(idv_session::Column::Id)
            .into();
        idv_session::Entity::find()
            .join_rev(JoinType::InnerJoin, session_of)
            .filter(R::ClientId.is_in(self.client_ids.clone()))
            .filter(self.failing_results().unwrap_or_else(Condition::all))
            .filter(self.condition_but_failing_check(Probe::PerSession))
    }

    /// The session ids of the failed results of the filter's check that
    /// carry the copy `key` (the session's score or status), from the
    /// failing-check index alone: only IDV sessions' results carry the
    /// copies (`checks::record`, the trigger) and IDV sessions are never
    /// deleted, so each is a listed session of its client. Exact only when
    /// no other filter applies.
    fn failing_keyed_results(&self, key: check_result::Column) -> Select<check_result::Entity> {
        use check_result::Column as R;
        check_result::Entity::find()
            .select_only()
            .column(R::SessionId)
            .filter(R::ClientId.is_in(self.client_ids.clone()))
            .filter(self.failing_results().unwrap_or_else(Condition::all))
            .filter(Expr::col((check_result::Entity, key)).is_not_null())
    }

    /// The rows of the subqueries' index ranges, each counted up to
    /// [`session_search::SET_CAP`] + 1: the widest range of a broad
    /// search's words, and the failed results of the failing check —
    /// except on PostgreSQL while most of the results' pages are not
    /// marked visible: its index then answers only with a visit of each
    /// row's page (80 ms to count 25,000 failed results after a bulk
    /// load), which the count and the set would pay on every page. A
    /// vacuum (autovacuum, some time after the writes) marks them.
    async fn ranges(&self, db: &impl ConnectionTrait) -> AppResult<Ranges> {
        use session_search::SET_CAP;
        let mut ranges = Ranges::default();
        if let Some(found) = &self.search
            && found.is_broad()
        {
            ranges.search = Some(found.widest_range(db, SET_CAP + 1).await?);
        }
        let set_readable = db.get_database_backend() != DbBackend::Postgres || mostly_visible(db, "check_result").await?;
        if let Some(failing) = self.failing_results().filter(|_| set_readable) {
            use check_result::Column as R;
            use sea_orm::sea_query::Query;
            let rows = Query::select()
                .expr(Expr::val(1))
                .from(check_result::Entity)
                .cond_where(Condition::all().add(R::ClientId.is_in(self.client_ids.clone())).add(failing))
                .limit(SET_CAP + 1)
                .to_owned();
            ranges.failed = Some(count_rows(db, rows).await?);
        }
        Ok(ranges)
    }

    /// A broad one-word search that is the only filter but the clients:
    /// the sessions among the first [`DRIVE_ROWS`] rows of its word's
    /// range, counted, when they are more than [`COUNT_CAP`] (then
    /// [`COUNT_CAP`] + 1, the count's "more than"); `None` otherwise, and
    /// for any other filter. Each search row is a session of its client
    /// and every session of a client is listed when nothing else filters,
    /// so no session is read: a few thousand index entries instead of the
    /// count below, which on PostgreSQL hashed the word's whole range
    /// (11,111 rows at 100,000 sessions) and then read sessions until a
    /// thousand matched (7–15 ms a page).
    async fn broad_word_count(&self, db: &impl ConnectionTrait) -> AppResult<Option<u64>> {
        use sea_orm::sea_query::Alias;
        if self.failing_check.is_some() || !self.base.is_empty() {
            return Ok(None);
        }
        let Some(rows) = self.search.as_ref().and_then(|found| found.one_word_rows(DRIVE_ROWS)) else {
            return Ok(None);
        };
        let sessions = Query::select().distinct().column(idv_session_search::Column::SessionId).from_subquery(rows, Alias::new("rows")).to_owned();
        let counted = count_rows(db, sessions).await?;
        Ok((counted > COUNT_CAP).then_some(COUNT_CAP + 1))
    }

    /// The sessions matching, counted up to [`COUNT_CAP`] + 1. On SQLite,
    /// a range of more than [`COUNT_CAP`] rows is first counted among its
    /// first rows ([`Self::count_driver`]). The count then reads each
    /// subquery's range once as a list ([`Probe::List`]) — a few thousand
    /// ids at most, in the usual case. Where a range is wider
    /// than [`session_search::SET_CAP`] rows (most of a large client:
    /// 250,000 failed results of a million sessions), the list would be
    /// read whole to count a thousand: the client's sessions are walked
    /// first, at most `SET_CAP` of them, each probed by primary key
    /// ([`Probe::PerSession`]); when that finds more than a thousand, the
    /// count stops there (SQLite, a million sessions: 132 → 8 ms for the
    /// failing check, 70 → 2 ms for a word matching 111,111), else the
    /// lists are read.
    async fn count(&self, db: &impl ConnectionTrait, ranges: &Ranges) -> AppResult<u64> {
        if let Some(driver) = self.count_driver(db.get_database_backend(), ranges) {
            let found = self
                .plain_condition(idv::ClientCheck::PerRow)
                .add(idv_session::Column::Id.in_subquery(driver))
                .add(self.subquery_condition(Forms::of(Probe::PerSession, idv::ClientCheck::PerRow)));
            let counted = count_capped(db, found, COUNT_CAP).await?;
            if counted > COUNT_CAP {
                return Ok(counted);
            }
        }
        if ranges.widest() > session_search::SET_CAP {
            let clients = self.search_clients();
            let walked = idv_session::Entity::find()
                .select_only()
                .column(idv_session::Column::Id)
                .filter(self.plain_condition(clients))
                .limit(session_search::SET_CAP)
                .into_query();
            let probed = self.subquery_condition(Forms::of(Probe::PerSession, clients));
            let found = idv_session::Entity::find().select_only().column(idv_session::Column::Id).filter(probed).limit(COUNT_CAP + 1);
            let counted = count_rows(db, over_walked(found, walked)).await?;
            if counted > COUNT_CAP {
                return Ok(counted);
            }
        }
        count_capped(db, self.condition(Probe::List), COUNT_CAP).await
    }

    /// The first [`DRIVE_ROWS`] session ids of one subquery's range when
    /// that range holds more than [`COUNT_CAP`] rows: the failed results
    /// of the failing check, or the range of a one-word broad search. Each
    /// of them is a candidate, looked up by primary key and tested against
    /// every filter (the subqueries probed per session), so a count that
    /// finds more than [`COUNT_CAP`] among them is "more than
    /// [`COUNT_CAP`]" without reading the whole range into a list first
    /// (SQLite, 25,000 failed results of 100,000 sessions: 12–20 ms for
    /// the list, 2 ms this way). When the other filters leave fewer, the
    /// count goes on as before: this costs at most a few milliseconds.
    /// SQLite only: PostgreSQL hashes the list instead, and the same
    /// statement cost it 2–10 ms more per page than the list did.
    fn count_driver(&self, backend: DbBackend, ranges: &Ranges) -> Option<sea_orm::sea_query::SelectStatement> {
        use check_result::Column as R;
        if backend != DbBackend::Sqlite {
            return None;
        }
        if let (Some(failing), Some(rows)) = (self.failing_results(), ranges.failed)
            && rows > COUNT_CAP
        {
            let results = Query::select()
                .column(R::SessionId)
                .from(check_result::Entity)
                .cond_where(Condition::all().add(R::ClientId.is_in(self.client_ids.clone())).add(failing))
                .limit(DRIVE_ROWS)
                .to_owned();
            return Some(results);
        }
        // A word alone was counted among these rows already
        // ([`Self::broad_word_count`]); they held too few sessions.
        let alone = self.failing_check.is_none() && self.base.is_empty();
        if !alone && ranges.search.is_some_and(|rows| rows > COUNT_CAP) {
            return self.search.as_ref()?.one_word_rows(DRIVE_ROWS);
        }
        None
    }

    /// The forms of a page's statement, given how many sessions match
    /// (counted up to [`COUNT_CAP`] + 1) and the rows of the subqueries'
    /// ranges:
    ///
    /// - at most [`COUNT_CAP`]: the matches are gathered and sorted
    ///   ([`Probe::List`], the clients tested per row so that SQLite looks
    ///   the ids up rather than walking the client's sessions): a few
    ///   hundred primary-key lookups, wherever the matches lie in the
    ///   order;
    /// - more: the walk of the sort index stays, and each subquery whose
    ///   index range holds at most [`session_search::SET_CAP`] rows is read
    ///   once into a set each session walked is tested against
    ///   ([`Probe::Set`]): a walk passing tens of thousands of sessions
    ///   that do not match (a broad word sorted the way that puts its
    ///   sessions last) costs a set lookup per session instead of an index
    ///   probe; a wider range (most of the client), or failed results not
    ///   counted (PostgreSQL before the vacuum), keeps the probe per
    ///   session ([`Probe::PerSession`]), as its matches come early in any
    ///   order.
    fn page_forms(&self, counted: u64, ranges: &Ranges) -> Forms {
        use session_search::SET_CAP;
        let plain = Forms::of(Probe::PerSession, self.search_clients());
        if !self.has_subqueries() {
            return plain;
        }
        if counted <= COUNT_CAP {
            return Forms::of(Probe::List, idv::ClientCheck::PerRow);
        }
        let mut forms = plain;
        if let Some(rows) = ranges.search.filter(|rows| *rows <= SET_CAP) {
            forms.search = Probe::Set;
            forms.set_rows = rows;
        }
        if let Some(rows) = ranges.failed.filter(|rows| *rows <= SET_CAP) {
            forms.failing = Probe::Set;
            forms.set_rows = if forms.set_rows == 0 { rows } else { Ord::min(forms.set_rows, rows) };
        }
        forms
    }
}

/// The rows of a page's subqueries' index ranges ([`IdvWhere::ranges`]),
/// each counted up to [`session_search::SET_CAP`] + 1; `None` where not
/// counted.
#[derive(Debug, Clone, Copy, Default)]
struct Ranges {
    search: Option<u64>,
    failed: Option<u64>,
}

impl Ranges {
    fn widest(&self) -> u64 {
        Ord::max(self.search.unwrap_or(0), self.failed.unwrap_or(0))
    }
}

/// `select` read from `walked` (some of the sessions, a statement on
/// `idv_session`) instead of the sessions' table: a derived table named as
/// the sessions' table, so that the filters, the order and the
/// subqueries' tests of `idv_session.id` apply to it unchanged.
fn over_walked(select: Select<idv_session::Entity>, walked: sea_orm::sea_query::SelectStatement) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::Alias;
    let mut select = select;
    QueryTrait::query(&mut select).from_clear().from_subquery(walked, Alias::new(idv_session::Entity.table_name()));
    select.into_query()
}

/// PostgreSQL: whether at least 90 % of a table's pages are marked
/// all-visible (`pg_class.relallvisible`, as the last vacuum or analyze
/// left it), so that its index-only scans need not visit the table. A
/// table never analysed counts as visible (it is small).
async fn mostly_visible(db: &impl ConnectionTrait, table: &str) -> AppResult<bool> {
    let sql = "SELECT CASE WHEN relpages > 0 THEN relallvisible::float8 / relpages ELSE 1 END AS visible \
               FROM pg_class WHERE oid = to_regclass($1)";
    let row = db.query_one_raw(sea_orm::Statement::from_sql_and_values(DbBackend::Postgres, sql, [table.into()])).await?;
    Ok(row.map(|r| r.try_get::<f64>("", "visible")).transpose()?.unwrap_or(1.0) >= 0.9)
}

/// PostgreSQL: whether the planner has statistics of `table.column` (an
/// analyse has run: autovacuum's, some time after the writes, or by hand).
async fn analysed(db: &impl ConnectionTrait, table: &str, column: &str) -> AppResult<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1 AND attname = $2) AS analysed";
    let row = db.query_one_raw(sea_orm::Statement::from_sql_and_values(DbBackend::Postgres, sql, [table.into(), column.into()])).await?;
    Ok(row.map(|r| r.try_get::<bool>("", "analysed")).transpose()?.unwrap_or(false))
}

/// The rows of a (limited) statement, counted.
async fn count_rows(db: &impl ConnectionTrait, rows: sea_orm::sea_query::SelectStatement) -> AppResult<u64> {
    use sea_orm::sea_query::{Alias, Query};
    let count = Query::select().expr_as(Expr::cust("COUNT(*)"), Alias::new("n")).from_subquery(rows, Alias::new("capped")).to_owned();
    let row = db.query_one(&count).await?;
    Ok(u64::try_from(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or_default()).unwrap_or_default())
}

/// Sessions a dashboard list counts exactly: past this many its total is
/// shown as "more than" (counting every match of a broad filter costs as
/// much as reading them all).
pub const COUNT_CAP: u64 = 1000;

/// Range rows read as candidates for a count that stops early
/// ([`IdvWhere::count_driver`]): enough when at least half of them match.
const DRIVE_ROWS: u64 = 2 * (COUNT_CAP + 1);

/// The number of sessions meeting `cond`, counted up to `cap + 1`.
pub async fn count_capped(db: &impl ConnectionTrait, cond: Condition, cap: u64) -> AppResult<u64> {
    use sea_orm::sea_query::{Alias, Query};
    let matching = idv_session::Entity::find().select_only().column(idv_session::Column::Id).filter(cond).limit(cap + 1).into_query();
    let count = Query::select().expr_as(Expr::cust("COUNT(*)"), Alias::new("n")).from_subquery(matching, Alias::new("capped")).to_owned();
    let row = db.query_one(&count).await?;
    Ok(u64::try_from(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or_default()).unwrap_or_default())
}

/// The sort columns of a key, and whether the first may be empty.
fn idv_sort_keys(field: SortField) -> (&'static [idv_session::Column], bool) {
    use idv_session::Column as C;
    match field {
        SortField::CreatedAt => (&[C::CreatedAt], false),
        SortField::UpdatedAt => (&[C::UpdatedAt], false),
        SortField::CompletedAt => (&[C::CompletedAt], true),
        SortField::Score => (&[C::Score], true),
        SortField::Status => (&[C::Status], false),
        SortField::Name => (&[C::LastName, C::FirstName], true),
        SortField::DocumentType => (&[C::DocumentType], false),
    }
}

/// The ORDER BY of a walk over `keys` then the id, the `way` given. Keys
/// that may be empty put empty values last in the list's order, except a
/// leading key the walk already knows is set (`lead_set`): that one stays
/// a plain index order.
fn idv_order(query: Select<idv_session::Entity>, keys: &[idv_session::Column], nullable: bool, lead_set: bool, way: Way) -> Select<idv_session::Entity> {
    let mut query = query;
    for (i, key) in keys.iter().enumerate() {
        let plain = !nullable || (i == 0 && lead_set);
        query = if plain { query.order_by(*key, way.order()) } else { query.order_by_with_nulls(*key, way.order(), way.empties()) };
    }
    query.order_by(idv_session::Column::Id, way.order())
}

/// How a walk of a sort index meets the filters.
enum Walk {
    /// One condition, tested on each session walked.
    Plain(Condition),
    /// A walk whose subqueries are read as sets ([`Probe::Set`]) — their
    /// matches may lie anywhere along it — after a first, short walk
    /// without the sets: the first [`PROBE_WALK`] sessions of the sort
    /// index under the `plain` filters (the clients and the session's own
    /// columns), each tested with the subqueries probed per session
    /// (`probed`, the [`Probe::PerSession`] form). Where the matches are
    /// dense near the start of the order — the usual case — the page lies
    /// among them and costs a few hundred index probes instead of reading
    /// tens of thousands of ids into a set; otherwise `then`.
    Probed { plain: Condition, probed: Condition, then: Then },
}

/// How a [`Walk::Probed`] goes on when its first sessions do not hold the
/// page.
enum Then {
    /// PostgreSQL: the whole walk under one condition whose subqueries are
    /// sets: it reads only the ids (from the sort index alone where the
    /// other filters allow) and the page's rows are then read by id, so a
    /// walk passing many sessions does not read each one's row. An
    /// index-only walk tested against a hashed set costs about 0.3 µs per
    /// session there. Sorting the matches instead is dearer there: as a
    /// list, a hash join over the client's sessions (45–110 ms for 11,000
    /// matches of 100,000: the planner does not look them up by id); as an
    /// array of ids looked up by primary key (`id = ANY(ARRAY(…))`), about
    /// 3 µs per match, no cheaper than the walk in a same-run comparison.
    Whole(Condition),
    /// SQLite: the sort index walked over at most `bound` sessions
    /// ([`walk_bound`]) under the plain filters, each tested against the
    /// sets (`tests`); when the page does not lie within them, the matches
    /// are gathered and sorted instead (`sorted`: every filter with the
    /// subqueries as lists, [`Probe::List`]). The walk costs at most a
    /// bound's worth of set lookups, the sort a primary-key lookup per
    /// match (the set's range is at most [`session_search::SET_CAP`]), so a
    /// page costs at most about twice the cheaper of the two, whichever
    /// end of the order the matches lie at. When the first walk found no
    /// match at all, the bounded walk is skipped and the matches sorted
    /// at once: a page then costs at most the sort.
    Bounded { tests: Condition, sorted: Condition, bound: u64 },
    /// No further walk: the page is read some other way (a broad word's
    /// matches from its search rows, [`keyed_search_window`]) unless the
    /// first walk holds it or reaches the end of the part. Every filter as
    /// one condition, for counting.
    GiveUp(Condition),
}

/// Sessions the first walk of a [`Walk::Probed`] tests one by one (an
/// index probe each) before the sets are read.
const PROBE_WALK: u64 = 500;

impl Walk {
    /// Every filter as one condition, for counting.
    fn condition(&self) -> &Condition {
        match self {
            Walk::Plain(cond)
            | Walk::Probed { then: Then::Whole(cond), .. }
            | Walk::Probed { then: Then::Bounded { sorted: cond, .. }, .. }
            | Walk::Probed { then: Then::GiveUp(cond), .. } => cond,
        }
    }
}

/// Sessions a bounded walk ([`Then::Bounded`], SQLite) passes before it
/// sorts the matches instead, given the rows of its set (a bound on the
/// matches): as many set lookups as the sort would cost, at least a few
/// milliseconds' worth. A session walked costs about 1–2 µs (one set
/// lookup per subquery) and a match sorted 1.5–2 µs: a failing check
/// sorted by status descending finds its page after the 25,000 sessions
/// in progress of 100,000 (sorting its 25,000 matches would cost about
/// twice that), a word whose 11,111 matches come after 80,000 others gives
/// up after 16,666 sessions and sorts them.
fn walk_bound(set_rows: u64) -> u64 {
    Ord::max(set_rows.saturating_mul(3) / 2, 4000)
}

/// `limit` sessions from `skip` of a walk in the order of `keys` then the
/// id (read the `way` given), under the walk's filters and `part` (the
/// part of the order walked: a keyset seek, the sessions with or without
/// the lead key).
#[allow(clippy::too_many_arguments)]
async fn walk(
    db: &impl ConnectionTrait,
    how: &Walk,
    part: Condition,
    keys: &[idv_session::Column],
    nullable: bool,
    lead_set: bool,
    way: Way,
    skip: u64,
    limit: u64,
) -> AppResult<Option<Vec<idv_session::Model>>> {
    use idv_session::Column as C;
    let ordered = |cond: Condition| idv_order(idv_session::Entity::find().filter(cond), keys, nullable, lead_set, way);
    // The rows of the sessions a statement of ids selects, in the order.
    let rows_of = |ids: sea_orm::sea_query::SelectStatement| ordered(Condition::all().add(C::Id.in_subquery(ids))).all(db);
    // The ids of the matches (`tests`) among the first `bound` sessions of
    // the sort index under the `plain` filters, whose ids and keys only are
    // read (from the index where the plain filters allow).
    let within = |plain: &Condition, tests: &Condition, bound: u64| {
        let walked = ordered(plain.clone().add(part.clone())).select_only().column(C::Id).columns(keys.iter().copied()).limit(bound).into_query();
        over_walked(ordered(tests.clone()).select_only().column(C::Id).offset(skip).limit(limit), walked)
    };
    let (plain, probed, then) = match how {
        Walk::Plain(cond) => return Ok(Some(ordered(cond.clone().add(part)).offset(skip).limit(limit).all(db).await?)),
        Walk::Probed { plain, probed, then } => (plain, probed, then),
    };
    let rows = rows_of(within(plain, probed, PROBE_WALK)).await?;
    if rows.len() as u64 == limit {
        return Ok(Some(rows));
    }
    if let Then::GiveUp(_) = then {
        // The part's end lies within the first walk: its matches are all there.
        let walked = ordered(plain.clone().add(part)).select_only().column(C::Id).limit(PROBE_WALK).into_query();
        let walked = count_rows(db, walked).await?;
        return Ok((walked < PROBE_WALK).then_some(rows));
    }
    // Not one match among the first sessions of a walk from its start:
    // the matches lie further along, and where a set's matches are not
    // spread through the order they lie together, most often far off (a
    // word whose sessions are the oldest, walked newest first).
    let none_near = rows.is_empty() && skip == 0;
    let (tests, sorted, bound) = match then {
        Then::Whole(cond) => {
            let ids = ordered(cond.clone().add(part)).select_only().column(C::Id).offset(skip).limit(limit).into_query();
            return Ok(Some(rows_of(ids).await?));
        }
        Then::Bounded { tests, sorted, bound } => (tests, sorted, *bound),
        Then::GiveUp(_) => return Ok(None),
    };
    if !none_near {
        let rows = rows_of(within(plain, tests, bound)).await?;
        if rows.len() as u64 == limit {
            return Ok(Some(rows));
        }
    }
    // The matches sorted by their ids and keys, then the page's rows read
    // by id (sorting the matches' whole rows cost twice as much).
    let found = ordered(sorted.clone().add(part)).select_only().column(C::Id).offset(skip).limit(limit).into_query();
    Ok(Some(rows_of(found).await?))
}

/// Where a walk reads its sort keys: the session's own columns, or their
/// copies beside its search words (`idv_session_search.session_*`, kept by
/// the database: [`keyed_search_window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeysOn {
    Sessions,
    SearchRows,
}

impl KeysOn {
    /// A sort key (or the id) as read here.
    fn key(self, column: idv_session::Column) -> Expr {
        match self {
            KeysOn::Sessions => Expr::col((idv_session::Entity, column)),
            KeysOn::SearchRows => Expr::col((idv_session_search::Entity, search_copy(column))),
        }
    }

    fn id(self) -> Expr {
        self.key(idv_session::Column::Id)
    }
}

/// The copy of a session's sort key (or its id) beside its search words.
fn search_copy(column: idv_session::Column) -> idv_session_search::Column {
    use idv_session::Column as C;
    use idv_session_search::Column as T;
    match column {
        C::CreatedAt => T::SessionCreatedAt,
        C::Score => T::SessionScore,
        C::Status => T::SessionStatus,
        C::DocumentType => T::SessionDocumentType,
        C::LastName => T::SessionLastName,
        C::FirstName => T::SessionFirstName,
        C::Id => T::SessionId,
        // Only the keys above are copied: [`keyed_sort`] sends no other
        // sort here.
        other => {
            debug_assert!(false, "no copy of {other:?} beside the search words");
            T::SessionId
        }
    }
}

/// True for the sorts whose keys the search rows carry.
fn keyed_sort(field: SortField) -> bool {
    matches!(field, SortField::CreatedAt | SortField::Score | SortField::Status | SortField::Name | SortField::DocumentType)
}

/// The order of a part of [`keyed_search_window`] over search rows: its
/// keys' copies, then the session id, the `way` given (a key that may be
/// empty puts its empty values last in the list's order, except a lead key
/// known to be set). `column` names a copy (qualified in the search rows'
/// own statement, bare over a subquery's rows).
fn order_search_rows(
    query: &mut sea_orm::sea_query::SelectStatement,
    part: &KeysetPart,
    nullable: bool,
    way: Way,
    column: impl Fn(idv_session_search::Column) -> Expr,
) {
    for (i, key) in part.keys.iter().enumerate() {
        let plain = !nullable || (i == 0 && part.lead_set);
        let key = column(search_copy(*key));
        if plain {
            query.order_by_expr(key, way.order());
        } else {
            query.order_by_expr_with_nulls(key, way.order(), way.empties());
        }
    }
    query.order_by_expr(column(idv_session_search::Column::SessionId), way.order());
}

/// Search rows read from each end of a word's range to bound a keyed page
/// ([`near_the_best`]): at least this many, or twice the rows the page
/// asks for. A statement asking for more rows than this (a bare offset
/// deep into the list) is not bounded: its samples would cost as much as
/// the sort they spare.
const BEST_SAMPLE: u64 = 512;

/// A bound that keeps every one of the first `n` search rows of a part of
/// [`keyed_search_window`] (in its order) and few others, or `None` where
/// the part's keys allow none. Its rows come out of their index in the
/// words' order, not the list's, and the bounded sort keeps the best `n`
/// seen so far: where the words' order runs against the list's (the
/// oldest sessions' words last, sorted oldest first), every row displaced
/// one already kept, and that cost SQLite three to four times a plain read
/// of the range (a million sessions, 111,111 rows: 32–53 ms against 9–15).
/// The bound is the `n`-th best row among the first rows at each end of
/// the range (`BEST_SAMPLE`, under a millisecond each). The `n`-th
/// best of the whole part is at least as good as the `n`-th best of any of
/// its subsets, so the bound drops none of the page's rows. A part with
/// fewer than `n` rows has no `n`-th row, and then no bound. The keys
/// compared: the session id alone (the part without a key), the one key
/// and the id, or the lead key of two (a name's last name). A part whose
/// lead key may be empty gets no bound.
///
/// On PostgreSQL only once the search rows have planner statistics
/// ([`analysed`]): without them it read each sample by a bitmap scan of
/// the whole range and sorted it, 7–9 ms a sample and four per statement,
/// against 12–16 ms for the whole unbounded statement (11,111 rows); with
/// them each sample is the first rows of an index scan, and the bounded
/// statement cost 5 ms instead of 7 (vacuumed) and 8–13 instead of 17
/// (right after a bulk load: its rows come in table order, the order of
/// creation, which runs against every descending sort).
fn near_the_best(rows: &Condition, part: &KeysetPart, nullable: bool, way: Way, n: u64) -> Option<Condition> {
    use idv_session_search::Column as T;
    use sea_orm::sea_query::Alias;
    if n > BEST_SAMPLE {
        return None;
    }
    let lead_plain = !nullable || part.lead_set;
    let compared: Vec<T> = match part.keys {
        [] => vec![T::SessionId],
        [key] if lead_plain => vec![search_copy(*key), T::SessionId],
        [lead, ..] if lead_plain => vec![search_copy(*lead)],
        _ => return None,
    };
    let bare = |c: T| Expr::col(c);
    let qualified = |c: T| Expr::col((idv_session_search::Entity, c));
    let sample_rows = Ord::max(BEST_SAMPLE, n.saturating_mul(2));
    let mut bound = Condition::all();
    for end in [Order::Asc, Order::Desc] {
        let mut sample = Query::select();
        sample.column(T::SessionId);
        for key in part.keys {
            sample.column(search_copy(*key));
        }
        sample
            .from(idv_session_search::Entity)
            .cond_where(rows.clone().add(part.cond.clone()))
            .order_by(T::ClientId, end.clone())
            .order_by(T::Term, end.clone())
            .order_by(T::Exact, end.clone())
            .order_by(T::SessionId, end)
            .limit(sample_rows);
        let mut nth = Query::select();
        nth.columns(compared.clone()).from_subquery(sample, Alias::new("sample"));
        order_search_rows(&mut nth, part, nullable, way, bare);
        nth.limit(1).offset(n.saturating_sub(1));
        let nth_row = || Expr::SubQuery(None, Box::new(nth.clone().into()));
        let left = match compared.as_slice() {
            [one] => qualified(*one),
            many => Expr::tuple(many.iter().map(|c| qualified(*c))),
        };
        let within = if way.descends() { left.gte(nth_row()) } else { left.lte(nth_row()) };
        bound = bound.add(Condition::any().add(within).add(Expr::exists(nth.clone()).not()));
    }
    Some(bound)
}

/// The ids of the `take` sessions from `skip` (or after / before a seek)
/// of a broad one-word search in the list's order, read from the search
/// rows alone: the word's range of the index `idx_idv_session_search_sorted
/// (client_id, term, exact, session_id)`, which also carries copies of each
/// session's sort keys, in the order of those copies then the session id
/// — a range read and a top-N sort (no session row read), whatever part of
/// the order the matches lie in. A session with several matching words
/// has several rows with the same keys, adjacent in that order: each
/// statement asks for more rows than sessions (twice as many, more when
/// that falls short) and keeps each session once. The same two parts as
/// [`idv_window`]'s for a key that may be empty.
async fn keyed_search_window(
    db: &impl ConnectionTrait,
    rows: &Condition,
    sort: Sort,
    page: Page,
    seek: Option<&Seek>,
) -> AppResult<Vec<idv_session::Model>> {
    let (keys, nullable) = idv_sort_keys(sort.field);
    let take = page.take + 1;
    let (after, way, mut skip) = match seek {
        Some(seek) => {
            let (from, way) = seek.from(sort.descending);
            (Some(from), way, 0)
        }
        None => (None, Way::along(sort.descending), page.skip),
    };
    let bound_first = match db.get_database_backend() {
        DbBackend::Sqlite => true,
        DbBackend::Postgres => analysed(db, idv_session_search::Entity.table_name(), "term").await?,
        _ => false,
    };
    let mut ids: Vec<String> = vec![];
    for part in keyset_parts(KeysOn::SearchRows, keys, nullable, after, way) {
        if ids.len() as u64 >= take {
            break;
        }
        let need = take - ids.len() as u64;
        let mut query = idv_session_search::Entity::find()
            .select_only()
            .column(idv_session_search::Column::SessionId)
            .filter(rows.clone())
            .filter(part.cond.clone());
        order_search_rows(QueryTrait::query(&mut query), &part, nullable, way, |c| Expr::col((idv_session_search::Entity, c)));
        let mut limit = (skip + need) * 2 + 8;
        loop {
            let bound = bound_first.then(|| near_the_best(rows, &part, nullable, way, limit)).flatten();
            let bounded = match bound {
                Some(bound) => query.clone().filter(bound),
                None => query.clone(),
            };
            let found: Vec<String> = bounded.limit(limit).into_tuple().all(db).await?;
            let exhausted = (found.len() as u64) < limit;
            let mut seen = std::collections::HashSet::new();
            let sessions: Vec<String> = found.into_iter().filter(|id| seen.insert(id.clone())).collect();
            if exhausted || sessions.len() as u64 >= skip + need {
                let here = sessions.len() as u64;
                ids.extend(sessions.into_iter().skip(skip as usize).take(need as usize));
                // The sessions of this part were all passed: the offset goes on into the next.
                skip = skip.saturating_sub(here);
                break;
            }
            limit = limit.saturating_mul(4);
        }
    }
    sessions_in_order(db, ids).await
}

/// `take + 1` sessions from `skip` in the list's order (the sort key,
/// empty values last, then the id) — or, given a seek, the `take + 1`
/// following a session, or preceding it (then in the walk's order, back
/// from it) — so the caller knows whether a next (previous) page exists.
/// An empty-last sort key is read in two plain walks (sessions with the
/// key, in the order of its index, then those without it, by the other
/// keys): `NULLS LAST` in one statement is not an index order on both
/// backends, and sorting every match was what made a sorted page slow.
async fn idv_window(
    db: &impl ConnectionTrait,
    filters: &IdvWhere,
    forms: Forms,
    sort: Sort,
    page: Page,
    seek: Option<&Seek>,
) -> AppResult<Vec<idv_session::Model>> {
    if let Some(key) = filters.failing_key(sort.field) {
        return failing_sorted_window(db, filters, key, sort, page, seek).await;
    }
    match filters.keyed_rows(sort.field) {
        // A broad word alone: where its matches come early in the order (the
        // usual case) a short walk of the sort index finds the page; else
        // its matches are read from its search rows in the list's order.
        Some(rows) if forms.search != Probe::List => {
            let probe = Walk::Probed {
                plain: filters.plain_condition(forms.clients),
                probed: filters.subquery_condition(Forms { search: Probe::PerSession, ..forms }),
                then: Then::GiveUp(filters.condition_as(forms)),
            };
            match walked_window(db, &probe, sort, page, seek).await? {
                Some(found) => Ok(found),
                None => keyed_search_window(db, &rows, sort, page, seek).await,
            }
        }
        // Only a walk that gives up ends without its rows.
        _ => Ok(walked_window(db, &walk_of(db, filters, forms), sort, page, seek).await?.unwrap_or_default()),
    }
}

/// How a page walks the sort index under the filters, in the forms given.
fn walk_of(db: &impl ConnectionTrait, filters: &IdvWhere, forms: Forms) -> Walk {
    if !(forms.search == Probe::Set || forms.failing == Probe::Set) {
        return Walk::Plain(filters.condition_as(forms));
    }
    let then = if db.get_database_backend() == DbBackend::Postgres {
        Then::Whole(filters.condition_as(forms))
    } else {
        Then::Bounded {
            tests: filters.subquery_condition(forms),
            sorted: filters.condition_as(Forms::of(Probe::List, idv::ClientCheck::PerRow)),
            bound: walk_bound(forms.set_rows),
        }
    };
    Walk::Probed {
        plain: filters.plain_condition(forms.clients),
        probed: filters.subquery_condition(Forms { search: Probe::PerSession, failing: Probe::PerSession, ..forms }),
        then,
    }
}

/// [`idv_window`] as walks of the sort index; `None` when a walk gave up
/// ([`Then::GiveUp`]).
async fn walked_window(db: &impl ConnectionTrait, how: &Walk, sort: Sort, page: Page, seek: Option<&Seek>) -> AppResult<Option<Vec<idv_session::Model>>> {
    let along = Way::along(sort.descending);
    let (keys, nullable) = idv_sort_keys(sort.field);
    let take = page.take + 1;
    if let Some(seek) = seek {
        let (from, way) = seek.from(sort.descending);
        let mut rows = vec![];
        for part in keyset_parts(KeysOn::Sessions, keys, nullable, Some(from), way) {
            if rows.len() as u64 >= take {
                break;
            }
            let limit = take - rows.len() as u64;
            let Some(found) = walk(db, how, part.cond, part.keys, nullable, part.lead_set, way, 0, limit).await? else {
                return Ok(None);
            };
            rows.extend(found);
        }
        return Ok(Some(rows));
    }
    if !nullable {
        return walk(db, how, Condition::all(), keys, false, false, along, page.skip, take).await;
    }
    let lead = keys[0];
    let with_key = Condition::all().add(lead.is_not_null());
    let Some(mut rows) = walk(db, how, with_key.clone(), keys, true, true, along, page.skip, take).await? else {
        return Ok(None);
    };
    if (rows.len() as u64) < take {
        // Sessions with the key before this page's first empty one.
        let keyed = match (rows.is_empty(), page.skip) {
            (false, skip) => skip + rows.len() as u64,
            (true, 0) => 0,
            (true, _) => idv_session::Entity::find().filter(how.condition().clone().add(with_key)).count(db).await?,
        };
        let limit = take - rows.len() as u64;
        let without = Condition::all().add(lead.is_null());
        let Some(found) = walk(db, how, without, &keys[1..], true, false, along, page.skip.saturating_sub(keyed), limit).await? else {
            return Ok(None);
        };
        rows.extend(found);
    }
    Ok(Some(rows))
}

/// The copy of a sort's key kept beside each check result, where a
/// failing-check index serves that sort.
fn failing_copy(field: SortField) -> Option<check_result::Column> {
    match field {
        SortField::Score => Some(check_result::Column::SessionScore),
        SortField::Status => Some(check_result::Column::SessionStatus),
        _ => None,
    }
}

/// [`idv_window`] of sessions failing a check, sorted by score or status:
/// a walk of the failing-check index `check_result (client_id, check_name,
/// status, session_score, session_id)` or `(…, session_status,
/// session_id)`, whose `key` is a copy of the session's score or status,
/// joined to each session by id. Walking the sort index of all sessions
/// instead passes every passing session before the first failing one when
/// sorted by score descending, and every session in progress (which fails
/// no check yet) when sorted by status descending. The same order as the
/// list's (the key, empty last, then id), in the same two walks; given a
/// seek, the walk seeks past that session's key and id in the same index
/// (back from them for a page before it).
async fn failing_sorted_window(
    db: &impl ConnectionTrait,
    filters: &IdvWhere,
    key: check_result::Column,
    sort: Sort,
    page: Page,
    seek: Option<&Seek>,
) -> AppResult<Vec<idv_session::Model>> {
    let take = page.take + 1;
    let base = filters.failing_base();
    if let Some(seek) = seek {
        let (from, way) = seek.from(sort.descending);
        return failing_sorted_after(db, base, key, way, Some(from), take).await;
    }
    let o = order(sort.descending);
    let (copy, session) = failing_keys(key);
    let with_key = base.clone().filter(copy().is_not_null());
    let mut rows = if filters.search.is_none() && filters.base.is_empty() {
        // Nothing but the clients and the check: the results' index alone
        // (below), so a deep offset passes index entries, not sessions.
        let ids: Vec<String> = filters
            .failing_keyed_results(key)
            .order_by(copy(), o.clone())
            .order_by(session(), o.clone())
            .offset(page.skip)
            .limit(take)
            .into_tuple()
            .all(db)
            .await?;
        sessions_in_order(db, ids).await?
    } else {
        with_key.clone().order_by(copy(), o.clone()).order_by(session(), o.clone()).offset(page.skip).limit(take).all(db).await?
    };
    if (rows.len() as u64) < take {
        let keyed = match (rows.is_empty(), page.skip) {
            (false, skip) => skip + rows.len() as u64,
            (true, 0) => 0,
            (true, _) => with_key.count(db).await?,
        };
        let without = base
            .filter(copy().is_null())
            .order_by(session(), o)
            .offset(page.skip.saturating_sub(keyed))
            .limit(take - rows.len() as u64)
            .all(db)
            .await?;
        rows.extend(without);
    }
    Ok(rows)
}

/// These sessions, in the order of `ids`.
async fn sessions_in_order(db: &impl ConnectionTrait, ids: Vec<String>) -> AppResult<Vec<idv_session::Model>> {
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut rows = idv_session::Entity::find().filter(idv_session::Column::Id.is_in(ids.clone())).all(db).await?;
    rows.sort_by_key(|r| position.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// The failing-check walk's keys: the copy `key` kept beside each result
/// (the session's score or status), and its session.
fn failing_keys(key: check_result::Column) -> (impl Fn() -> Expr, impl Fn() -> Expr) {
    use check_result::Column as R;
    (move || Expr::col((check_result::Entity, key)), || Expr::col((check_result::Entity, R::SessionId)))
}

/// `limit` rows of the failing-check walk (see [`failing_sorted_window`])
/// after `after` in the walk's `way` (from the start without it), as `M`
/// (a page's sessions, an export's rows): the results with the key,
/// seeking past `after`'s key and id, and those without one — after
/// them along the list's order, before them walking back.
async fn failing_sorted_after<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    base: Select<idv_session::Entity>,
    key: check_result::Column,
    way: Way,
    after: Option<&ListKey>,
    limit: u64,
) -> AppResult<Vec<M>> {
    let o = way.order();
    let (copy, session) = failing_keys(key);
    // `after`'s key: `Some(None)` when it had none.
    let last_key = after.map(|a| a.values.first().cloned().flatten());
    let in_empty = matches!(last_key, Some(None));
    let keyed = || {
        let mut keyed = base.clone().filter(copy().is_not_null());
        if let (Some(a), Some(Some(v))) = (after, &last_key) {
            // A row-value seek in the index (many sessions share a score or a status).
            keyed = keyed.filter(past_row(copy(), session(), v, &a.id, way));
        }
        keyed.order_by(copy(), o.clone()).order_by(session(), o.clone())
    };
    let empty = || {
        let mut without = base.clone().filter(copy().is_null());
        if let (Some(a), true) = (after, in_empty) {
            without = without.filter(way.beyond(session(), sea_orm::Value::from(a.id.clone())));
        }
        without.order_by(session(), o.clone())
    };
    // The parts that hold rows past `after`, in the walk's order.
    let parts = match (way.backward, in_empty) {
        (false, false) => vec![keyed(), empty()],
        (false, true) => vec![empty()],
        (true, false) if last_key.is_some() => vec![keyed()],
        (true, _) => vec![empty(), keyed()],
    };
    let mut rows = vec![];
    for part in parts {
        if rows.len() as u64 >= limit {
            break;
        }
        rows.extend(part.limit(limit - rows.len() as u64).into_model::<M>().all(db).await?);
    }
    Ok(rows)
}

/// One page of the dashboard's session list.
#[derive(Debug)]
pub struct IdvPage {
    pub rows: Vec<idv_session::Model>,
    /// Sessions matching, exact up to [`COUNT_CAP`]; beyond it a lower
    /// bound (`total_exact` false).
    pub total: u64,
    pub total_exact: bool,
    pub has_next: bool,
    pub has_previous: bool,
    /// The position of the first row in the list.
    pub start: u64,
}

/// Where a keyset page starts: right after a session (the previous page's
/// last row) or, walking back, right before one (the next page's first).
#[derive(Debug, Clone, PartialEq)]
pub enum Seek {
    After(ListKey),
    Before(ListKey),
}

impl Seek {
    /// The session, and the way from it, in a list sorted `descending`.
    fn from(&self, descending: bool) -> (&ListKey, Way) {
        match self {
            Seek::After(key) => (key, Way::along(descending)),
            Seek::Before(key) => (key, Way { descending, backward: true }),
        }
    }
}

/// One page of IDV sessions under the dashboard's filters, sorted. `page`
/// is the page's position in the list; a `seek`, when given, names the
/// session just before it (from the previous page's last row) or just
/// after it (from the next page's first row, `page.take` sessions walked
/// back), so the walk seeks there instead of passing `page.skip` sessions
/// — a page costs the same at any depth, in either direction.
pub async fn idv_page(
    db: &impl ConnectionTrait,
    filter: &idv::ListFilter,
    extras: &IdvListExtras,
    sort: Sort,
    page: Page,
    seek: Option<&Seek>,
) -> AppResult<IdvPage> {
    let filters = idv_condition(db, filter, extras, Utc::now()).await?;
    let (ranges, counted) = match filters.broad_word_count(db).await? {
        // Read from the word's search rows whatever their number: the
        // ranges would only choose the form of a walk.
        Some(counted) if filters.keyed_rows(sort.field).is_some() => (Ranges::default(), counted),
        Some(counted) => (filters.ranges(db).await?, counted),
        None => {
            let ranges = if filters.has_subqueries() { filters.ranges(db).await? } else { Ranges::default() };
            (ranges, filters.count(db, &ranges).await?)
        }
    };
    let forms = if filters.failing_key(sort.field).is_some() {
        // Read from a failing-check index (`failing_sorted_window`).
        Forms::of(Probe::PerSession, filters.search_clients())
    } else {
        filters.page_forms(counted, &ranges)
    };
    let mut rows = idv_window(db, &filters, forms, sort, page, seek).await?;
    let more = rows.len() as u64 > page.take;
    rows.truncate(page.take as usize);
    let (start, has_previous, has_next) = if let Some(Seek::Before(_)) = seek {
        // Walked back from the session after the page: it follows; with
        // nothing before the page, the page starts the list.
        rows.reverse();
        let start = if more { (page.skip + page.take).saturating_sub(rows.len() as u64) } else { 0 };
        (start, more, true)
    } else {
        (page.skip, page.skip > 0, more)
    };
    let seen = start + rows.len() as u64 + u64::from(has_next);
    let total_exact = counted <= COUNT_CAP;
    let total = if total_exact { counted } else { std::cmp::max(COUNT_CAP, seen) };
    Ok(IdvPage { rows, total, total_exact, has_next, has_previous, start })
}

/// A session's place in a sorted list: its sort values (`None` where
/// empty) and its id — where a keyset page or an export batch starts
/// (after it) or, walking back, ends (before it).
#[derive(Debug, Clone, PartialEq)]
pub struct ListKey {
    values: Vec<Option<sea_orm::Value>>,
    id: String,
}

impl ListKey {
    /// This session's place in a list sorted by `field`.
    pub fn of_session(s: &idv_session::Model, field: SortField) -> Self {
        use sea_orm::Value;
        let values = match field {
            SortField::CreatedAt => vec![Some(Value::from(s.created_at))],
            SortField::UpdatedAt => vec![Some(Value::from(s.updated_at))],
            SortField::CompletedAt => vec![s.completed_at.map(Value::from)],
            SortField::Score => vec![s.score.map(Value::from)],
            SortField::Status => vec![Some(Value::from(s.status.clone()))],
            SortField::Name => vec![s.last_name.clone().map(Value::from), s.first_name.clone().map(Value::from)],
            SortField::DocumentType => vec![Some(Value::from(s.document_type.clone()))],
        };
        Self { values, id: s.id.clone() }
    }

    /// A session's sort values as JSON (a page cursor carries them):
    /// timestamps as RFC 3339 with every digit, scores as numbers, empty
    /// values as `null`.
    pub fn cursor_key(s: &idv_session::Model, field: SortField) -> Vec<serde_json::Value> {
        use serde_json::Value as J;
        let time = |t: Option<DateTime<Utc>>| t.map_or(J::Null, |t| J::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)));
        let text = |t: Option<&String>| t.map_or(J::Null, |t| J::String(t.clone()));
        match field {
            SortField::CreatedAt => vec![time(Some(s.created_at))],
            SortField::UpdatedAt => vec![time(Some(s.updated_at))],
            SortField::CompletedAt => vec![time(s.completed_at)],
            SortField::Score => vec![s.score.map_or(J::Null, J::from)],
            SortField::Status => vec![text(Some(&s.status))],
            SortField::Name => vec![text(s.last_name.as_ref()), text(s.first_name.as_ref())],
            SortField::DocumentType => vec![text(Some(&s.document_type))],
        }
    }

    /// The position [`cursor_key`](Self::cursor_key) wrote, read back;
    /// `None` when the values do not fit the sort (a key that may not be
    /// empty is, a timestamp does not parse, ...).
    pub fn from_cursor(field: SortField, key: &[serde_json::Value], id: String) -> Option<Self> {
        use sea_orm::Value;
        use serde_json::Value as J;
        let time = |v: &J, nullable: bool| match v {
            J::Null if nullable => Some(None),
            J::String(t) => DateTime::parse_from_rfc3339(t).ok().map(|t| Some(Value::from(t.with_timezone(&Utc)))),
            _ => None,
        };
        let text = |v: &J, nullable: bool| match v {
            J::Null if nullable => Some(None),
            J::String(t) => Some(Some(Value::from(t.clone()))),
            _ => None,
        };
        let values = match (field, key) {
            (SortField::CreatedAt | SortField::UpdatedAt, [t]) => vec![time(t, false)?],
            (SortField::CompletedAt, [t]) => vec![time(t, true)?],
            (SortField::Score, [J::Null]) => vec![None],
            (SortField::Score, [J::Number(n)]) => vec![Some(Value::from(n.as_f64()?))],
            (SortField::Status | SortField::DocumentType, [t]) => vec![text(t, false)?],
            (SortField::Name, [last, first]) => vec![text(last, true)?, text(first, true)?],
            _ => return None,
        };
        Some(Self { values, id })
    }
}

/// Rows strictly after `values` + `id` in a walk's order of `keys` (empty
/// values last in the list's order where `nullable`, except a set lead
/// key) then the id, the keys read where `on` says.
#[allow(clippy::too_many_arguments)]
fn after_condition(
    on: KeysOn,
    keys: &[idv_session::Column],
    values: &[Option<sea_orm::Value>],
    id: &str,
    nullable: bool,
    lead_set: bool,
    way: Way,
) -> Condition {
    let Some((key, rest)) = keys.split_first() else {
        return Condition::all().add(way.beyond(on.id(), sea_orm::Value::from(id)));
    };
    let key = || on.key(*key);
    let later = after_condition(on, rest, &values[1..], id, nullable, false, way);
    let same_empty = Condition::all().add(key().is_null()).add(later.clone());
    match &values[0] {
        // Empty: along the list only rows empty here too follow; walking
        // back (empty values first) so does every row with a value.
        None if way.backward => Condition::any().add(key().is_not_null()).add(same_empty),
        None => same_empty,
        Some(v) => {
            let mut any = Condition::any().add(way.beyond(key(), v.clone()));
            if nullable && !lead_set && !way.backward {
                any = any.add(key().is_null());
            }
            any.add(Condition::all().add(key().eq(v.clone())).add(later))
        }
    }
}

/// `(key, id)` strictly past `(value, id)` in a walk's direction, as one
/// row-value comparison (an index range where the index is `(..., key,
/// id)`).
fn past_row(key: Expr, id_col: Expr, value: &sea_orm::Value, id: &str, way: Way) -> Expr {
    way.beyond(Expr::tuple([key, id_col]), Expr::tuple([Expr::val(value.clone()), Expr::val(id)]))
}

/// One part of a keyset walk: the rows it may hold, and the keys it is
/// ordered by (then the id).
struct KeysetPart {
    cond: Condition,
    keys: &'static [idv_session::Column],
    /// The lead key is known to be set in this part (a plain index order).
    lead_set: bool,
}

/// The parts of a walk in the order of `keys` (empty values last in the
/// list's order where `nullable`) that hold the rows after `after` in the
/// walk's `way` (every row without it): the rows with the lead key,
/// seeking from the last one's key, and — for a key that may be empty —
/// those without it; in that order along the list, the other way round
/// walking back. The keys are read where `on` says.
fn keyset_parts(on: KeysOn, keys: &'static [idv_session::Column], nullable: bool, after: Option<&ListKey>, way: Way) -> Vec<KeysetPart> {
    let in_empty = |a: &ListKey| nullable && a.values[0].is_none();
    let lead = || on.key(keys[0]);
    let keyed = || {
        let mut cond = Condition::all();
        if nullable {
            cond = cond.add(lead().is_not_null());
        }
        match after.filter(|a| !in_empty(a)).map(|a| (a, &a.values[0])) {
            // One key: `(key, id)` past the session's, a row value both
            // databases read as an index range, so the walk starts at that
            // session even among many sessions sharing its key (a status).
            Some((a, Some(v))) if keys.len() == 1 => {
                cond = cond.add(past_row(lead(), on.id(), v, &a.id, way));
            }
            Some((a, lead_value)) => {
                cond = cond.add(after_condition(on, keys, &a.values, &a.id, nullable, true, way));
                // Seek: the walk starts at the last key, not at the beginning.
                if let Some(v) = lead_value {
                    cond = cond.add(if way.descends() { lead().lte(v.clone()) } else { lead().gte(v.clone()) });
                }
            }
            None => {}
        }
        KeysetPart { cond, keys, lead_set: true }
    };
    let empty = || {
        let mut cond = Condition::all().add(lead().is_null());
        if let Some(a) = after.filter(|a| in_empty(a)) {
            cond = cond.add(after_condition(on, &keys[1..], &a.values[1..], &a.id, true, false, way));
        }
        KeysetPart { cond, keys: &keys[1..], lead_set: false }
    };
    let from_keyed = after.is_none_or(|a| !in_empty(a));
    let from_empty = after.is_none_or(in_empty);
    match (nullable, way.backward) {
        (false, _) => vec![keyed()],
        (true, false) if from_keyed => vec![keyed(), empty()],
        (true, false) => vec![empty()],
        (true, true) if from_empty => vec![empty(), keyed()],
        (true, true) => vec![keyed()],
    }
}

/// The next `limit` sessions of the export after `after`, in the list's
/// order, and where the next batch starts (`None`: done). Keyset batches:
/// each starts with an index seek where the last one stopped, so an export
/// costs the same per row at any depth; an empty-last key is walked in
/// two parts, as a page is.
pub async fn idv_export_batch(
    db: &impl ConnectionTrait,
    filters: &IdvWhere,
    sort: Sort,
    after: Option<&ListKey>,
    limit: u64,
) -> AppResult<(Vec<ExportRow>, Option<ListKey>)> {
    let way = Way::along(sort.descending);
    let (keys, nullable) = idv_sort_keys(sort.field);
    let next = |rows: &[ExportRow]| {
        (rows.len() as u64 == limit)
            .then(|| rows.last().map(|r| ListKey { values: r.sort_values(sort.field), id: r.id.clone() }))
            .flatten()
    };
    if let Some(key) = filters.failing_key(sort.field) {
        // The sessions failing a check in score or status order: the failing-check walk, as a page reads them.
        let base = export_select(filters.failing_base(), db.get_database_backend());
        let rows: Vec<ExportRow> = failing_sorted_after(db, base, key, way, after, limit).await?;
        let next = next(&rows);
        return Ok((rows, next));
    }
    let base = export_select(idv_session::Entity::find().filter(filters.condition(Probe::PerSession)), db.get_database_backend());
    let mut rows = vec![];
    for part in keyset_parts(KeysOn::Sessions, keys, nullable, after, way) {
        if rows.len() as u64 >= limit {
            break;
        }
        let query = idv_order(base.clone().filter(part.cond), part.keys, nullable, part.lead_set, way);
        rows.extend(query.limit(limit - rows.len() as u64).into_model::<ExportRow>().all(db).await?);
    }
    let next = next(&rows);
    Ok((rows, next))
}

/// The export's columns, and the names of each row's failed checks
/// (space-separated, by name) as a correlated subquery.
fn export_select(query: Select<idv_session::Entity>, backend: DbBackend) -> Select<idv_session::Entity> {
    use check_result::Column as R;
    use idv_session::Column as C;
    use sea_orm::sea_query::{Alias, Query};
    let f = Alias::new("f");
    let failed = Query::select()
        .expr(Expr::col((f.clone(), R::CheckName)))
        .from_as(check_result::Entity, f.clone())
        .and_where(Expr::col((f.clone(), R::SessionId)).equals((idv_session::Entity, C::Id)))
        .and_where(Expr::col((f.clone(), R::ClientId)).equals((idv_session::Entity, C::ClientId)))
        .and_where(Expr::col((f.clone(), R::Status)).eq(CheckStatus::Fail.as_str()))
        .and_where(Expr::col((f.clone(), R::SessionKind)).eq("idv"))
        .order_by((f, R::CheckName), Order::Asc)
        .to_owned();
    // Column names and two constants: nothing user-given is inlined.
    let aggregate = match backend {
        DbBackend::Postgres => {
            let inner = failed.to_string(sea_orm::sea_query::PostgresQueryBuilder);
            format!("(SELECT string_agg(x.check_name, ' ' ORDER BY x.check_name) FROM ({inner}) AS x)")
        }
        _ => {
            let inner = failed.to_string(sea_orm::sea_query::SqliteQueryBuilder);
            format!("(SELECT group_concat(x.check_name, ' ') FROM ({inner}) AS x)")
        }
    };
    query
        .select_only()
        .columns([
            C::Id,
            C::CreatedAt,
            C::UpdatedAt,
            C::CompletedAt,
            C::Status,
            C::Verified,
            C::ReviewRequired,
            C::Score,
            C::FirstName,
            C::LastName,
            C::DocumentType,
            C::UserId,
            C::LivenessProvider,
            C::OfacStatus,
            C::Reasons,
        ])
        .column_as(Expr::cust(aggregate), "failed_checks")
}

/// A session as the CSV export writes it.
#[derive(Debug, FromQueryResult)]
pub struct ExportRow {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub status: String,
    pub verified: Option<bool>,
    pub review_required: bool,
    pub score: Option<f64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub document_type: String,
    pub user_id: Option<String>,
    pub liveness_provider: String,
    pub ofac_status: String,
    pub reasons: Option<serde_json::Value>,
    /// Names of the failed checks, space-separated.
    pub failed_checks: Option<String>,
}

impl ExportRow {
    /// This row's values of a sort's keys (`None` where empty).
    fn sort_values(&self, field: SortField) -> Vec<Option<sea_orm::Value>> {
        use sea_orm::Value;
        match field {
            SortField::CreatedAt => vec![Some(Value::from(self.created_at))],
            SortField::UpdatedAt => vec![Some(Value::from(self.updated_at))],
            SortField::CompletedAt => vec![self.completed_at.map(Value::from)],
            SortField::Score => vec![self.score.map(Value::from)],
            SortField::Status => vec![Some(Value::from(self.status.clone()))],
            SortField::Name => vec![self.last_name.clone().map(Value::from), self.first_name.clone().map(Value::from)],
            SortField::DocumentType => vec![Some(Value::from(self.document_type.clone()))],
        }
    }
}

/// `verified`, `rejected`, `needs_review` or `pending`.
pub fn verdict_of(verified: Option<bool>, review_required: bool) -> &'static str {
    match (verified, review_required) {
        (_, true) => "needs_review",
        (Some(true), _) => "verified",
        (Some(false), _) => "rejected",
        (None, _) => "pending",
    }
}

/// The reason that decided a verdict, as "check: message" (the first
/// decisive one, else the first).
pub fn top_reason(reasons: Option<&serde_json::Value>) -> Option<String> {
    let list = reasons?.as_array()?;
    let top = list.iter().find(|r| r["decisive"] == true).or_else(|| list.first())?;
    let check = top["check"].as_str().unwrap_or_default();
    let message = top["message"].as_str().unwrap_or_default();
    Some(if check.is_empty() { message.to_string() } else { format!("{check}: {message}") })
}

/// One page of IDA sessions under the REST list filters, sorted.
pub async fn ida_page(
    db: &impl ConnectionTrait,
    filter: &crate::service::ida::ListFilter,
    sort: Sort,
    page: Page,
    now: DateTime<Utc>,
) -> AppResult<(Vec<ida_session::Model>, u64)> {
    use ida_session::Column as C;
    let query = ida_session::Entity::find().filter(crate::service::ida::list_condition(filter, now));
    let total = query.clone().count(db).await?;
    let col = match sort.field {
        SortField::CreatedAt => C::CreatedAt,
        SortField::UpdatedAt => C::UpdatedAt,
        SortField::CompletedAt => C::CompletedAt,
        SortField::Score => C::FaceDistance,
        SortField::Status => C::Status,
        SortField::Name | SortField::DocumentType => C::CreatedAt,
    };
    let rows = query
        .order_by(col, order(sort.descending))
        .order_by(C::Id, order(sort.descending))
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// One page of live identities under the REST list filters, sorted.
pub async fn identity_page(
    db: &impl ConnectionTrait,
    client_ids: &[String],
    filter: &IdentityFilter,
    verified: Option<bool>,
    sort: Sort,
    page: Page,
) -> AppResult<(Vec<identity::Model>, u64)> {
    use identity::Column as C;
    let mut query: Select<identity::Entity> = identities::list_select(client_ids, filter);
    if let Some(v) = verified {
        query = query.filter(C::Verified.eq(v));
    }
    let total = query.clone().count(db).await?;
    let col = match sort.field {
        SortField::CreatedAt | SortField::Status | SortField::DocumentType => C::CreatedAt,
        SortField::Name => C::LastName,
        SortField::UpdatedAt => C::UpdatedAt,
        SortField::CompletedAt => C::VerifiedAt,
        SortField::Score => C::Score,
    };
    let rows = query
        .order_by(col, order(sort.descending))
        .order_by(C::Id, order(sort.descending))
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Groups rows by a key, keeping the query's order inside each group.
fn group<K: std::hash::Hash + Eq, T>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, Vec<T>> {
    let mut out: HashMap<K, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

/// Live (not erased) identities by id.
pub async fn identities_by_ids(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ids: &[String],
) -> AppResult<HashMap<String, identity::Model>> {
    let rows = identity::Entity::find()
        .filter(identity::Column::Id.is_in(ids.to_vec()))
        .filter(identity::Column::ErasedAt.is_null())
        .filter(scope.condition(identity::Column::ClientId))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// IDV sessions by id.
pub async fn idv_sessions_by_ids(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ids: &[String],
) -> AppResult<HashMap<String, idv_session::Model>> {
    let rows = idv_session::Entity::find()
        .filter(idv_session::Column::Id.is_in(ids.to_vec()))
        .filter(scope.condition(idv_session::Column::ClientId))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Weights versions by id (platform defaults are visible to everyone).
pub async fn weights_by_ids(
    db: &impl ConnectionTrait,
    scope: &Scope,
    ids: &[String],
) -> AppResult<HashMap<String, weights::Model>> {
    let mut query = weights::Entity::find().filter(weights::Column::Id.is_in(ids.to_vec()));
    if let Scope::Only(client) = scope {
        query = query.filter(
            Condition::any().add(weights::Column::ClientId.is_null()).add(weights::Column::ClientId.eq(client.clone())),
        );
    }
    Ok(query.all(db).await?.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Documents of sessions, newest first per session.
pub async fn documents_by_sessions(
    db: &impl ConnectionTrait,
    scope: &Scope,
    session_ids: &[String],
) -> AppResult<HashMap<String, Vec<document::Model>>> {
    let rows = document::Entity::find()
        .filter(document::Column::SessionId.is_in(session_ids.to_vec()))
        .filter(scope.condition(document::Column::ClientId))
        .order_by_desc(document::Column::CreatedAt)
        .order_by_desc(document::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.session_id.clone()))
}

/// Documents linked to identities, newest first per identity.
pub async fn documents_by_identities(
    db: &impl ConnectionTrait,
    scope: &Scope,
    identity_ids: &[String],
) -> AppResult<HashMap<String, Vec<document::Model>>> {
    let rows = document::Entity::find()
        .filter(document::Column::IdentityId.is_in(identity_ids.to_vec()))
        .filter(scope.condition(document::Column::ClientId))
        .order_by_desc(document::Column::CreatedAt)
        .order_by_desc(document::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.identity_id.clone().unwrap_or_default()))
}

/// Check results of sessions (either kind), by check name per session.
pub async fn checks_by_sessions(
    db: &impl ConnectionTrait,
    scope: &Scope,
    session_ids: &[String],
) -> AppResult<HashMap<String, Vec<check_result::Model>>> {
    let rows = check_result::Entity::find()
        .filter(check_result::Column::SessionId.is_in(session_ids.to_vec()))
        .filter(scope.condition(check_result::Column::ClientId))
        .order_by_asc(check_result::Column::CheckName)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.session_id.clone()))
}

/// History events of sessions, oldest first per session.
pub async fn events_by_sessions(
    db: &impl ConnectionTrait,
    scope: &Scope,
    session_ids: &[String],
) -> AppResult<HashMap<String, Vec<session_event::Model>>> {
    let rows = session_event::Entity::find()
        .filter(session_event::Column::SessionId.is_in(session_ids.to_vec()))
        .filter(scope.condition(session_event::Column::ClientId))
        .order_by_asc(session_event::Column::At)
        .order_by_asc(session_event::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.session_id.clone()))
}

/// Webhook deliveries of sessions, newest first per session.
pub async fn deliveries_by_sessions(
    db: &impl ConnectionTrait,
    scope: &Scope,
    session_ids: &[String],
) -> AppResult<HashMap<String, Vec<webhook_delivery::Model>>> {
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::SessionId.is_in(session_ids.to_vec()))
        .filter(scope.condition(webhook_delivery::Column::ClientId))
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.session_id.clone().unwrap_or_default()))
}

/// IDV sessions of identities, newest first per identity.
pub async fn idv_sessions_by_identities(
    db: &impl ConnectionTrait,
    scope: &Scope,
    identity_ids: &[String],
) -> AppResult<HashMap<String, Vec<idv_session::Model>>> {
    let rows = idv_session::Entity::find()
        .filter(idv_session::Column::IdentityId.is_in(identity_ids.to_vec()))
        .filter(scope.condition(idv_session::Column::ClientId))
        .order_by_desc(idv_session::Column::CreatedAt)
        .order_by_desc(idv_session::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.identity_id.clone().unwrap_or_default()))
}

/// IDA sessions of identities, newest first per identity.
pub async fn ida_sessions_by_identities(
    db: &impl ConnectionTrait,
    scope: &Scope,
    identity_ids: &[String],
) -> AppResult<HashMap<String, Vec<ida_session::Model>>> {
    let rows = ida_session::Entity::find()
        .filter(ida_session::Column::IdentityId.is_in(identity_ids.to_vec()))
        .filter(scope.condition(ida_session::Column::ClientId))
        .order_by_desc(ida_session::Column::CreatedAt)
        .order_by_desc(ida_session::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |r| r.identity_id.clone()))
}

/// One page of a client's audit log, newest first, optionally of one action.
pub async fn audit_page(
    db: &impl ConnectionTrait,
    client_id: &str,
    action: Option<&str>,
    page: Page,
) -> AppResult<(Vec<audit_log::Model>, u64)> {
    let mut query = audit_log::Entity::find().filter(audit_log::Column::ClientId.eq(client_id));
    if let Some(action) = action.map(str::trim).filter(|a| !a.is_empty()) {
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .offset(page.skip)
        .limit(page.take)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// The window and tenants of the dashboard aggregates.
#[derive(Debug, Clone)]
pub struct StatsWindow {
    pub client_ids: Vec<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl StatsWindow {
    fn condition(&self) -> Condition {
        use idv_session::Column as C;
        let mut cond = Condition::all().add(C::ClientId.is_in(self.client_ids.clone()));
        if let Some(start) = self.start {
            cond = cond.add(C::CreatedAt.gte(start));
        }
        if let Some(end) = self.end {
            cond = cond.add(C::CreatedAt.lte(end));
        }
        cond
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayStatusCount {
    /// `YYYY-MM-DD` (UTC) of `created_at`.
    pub day: String,
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckFailureCount {
    pub check_name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DashboardStats {
    pub total_sessions: i64,
    pub by_status_per_day: Vec<DayStatusCount>,
    /// Verified / decided sessions; `None` when none is decided.
    pub pass_rate: Option<f64>,
    pub decided_sessions: i64,
    pub average_score: Option<f64>,
    pub failing_checks: Vec<CheckFailureCount>,
    /// Median seconds from creation to completion of completed sessions.
    pub median_seconds_to_complete: Option<f64>,
}

#[derive(FromQueryResult)]
struct DayRow {
    day: String,
    status: String,
    count: i64,
}

#[derive(FromQueryResult)]
struct Totals {
    total: i64,
    /// SUM over no rows is NULL.
    decided: Option<i64>,
    verified: Option<i64>,
    avg_score: Option<f64>,
}

#[derive(FromQueryResult)]
struct FailRow {
    check_name: String,
    count: i64,
}

#[derive(FromQueryResult)]
struct Span {
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// The UTC day of `created_at` as `YYYY-MM-DD`, portably.
fn day_expr(backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust("to_char(\"created_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        _ => Expr::cust("substr(\"created_at\", 1, 10)"),
    }
}

/// Aggregates over the IDV sessions created in the window: five statements.
pub async fn stats(db: &impl ConnectionTrait, window: &StatsWindow, top_failing: u64) -> AppResult<DashboardStats> {
    use idv_session::Column as C;
    let backend = db.get_database_backend();
    let by_day: Vec<DayRow> = idv_session::Entity::find()
        .select_only()
        .expr_as(day_expr(backend), "day")
        .column_as(C::Status, "status")
        .expr_as(Expr::col(C::Id).count(), "count")
        .filter(window.condition())
        .group_by(day_expr(backend))
        .group_by(C::Status)
        .order_by_asc(day_expr(backend))
        .order_by_asc(C::Status)
        .into_model::<DayRow>()
        .all(db)
        .await?;
    let decided = Expr::cust("CASE WHEN \"verified\" IS NULL THEN 0 ELSE 1 END").sum();
    let verified = Expr::cust("CASE WHEN \"verified\" = TRUE THEN 1 ELSE 0 END").sum();
    let totals = idv_session::Entity::find()
        .select_only()
        .expr_as(Expr::col(C::Id).count(), "total")
        .expr_as(Expr::expr(decided).cast_as("BIGINT"), "decided")
        .expr_as(Expr::expr(verified).cast_as("BIGINT"), "verified")
        .expr_as(Expr::expr(Expr::col(C::Score).avg()).cast_as(float_type(backend)), "avg_score")
        .filter(window.condition())
        .into_model::<Totals>()
        .one(db)
        .await?
        .unwrap_or(Totals { total: 0, decided: None, verified: None, avg_score: None });
    let (decided_count, verified_count) = (totals.decided.unwrap_or(0), totals.verified.unwrap_or(0));
    let in_window = idv_session::Entity::find().select_only().column(C::Id).filter(window.condition()).into_query();
    let failing: Vec<FailRow> = check_result::Entity::find()
        .select_only()
        .column(check_result::Column::CheckName)
        .expr_as(Expr::col(check_result::Column::Id).count(), "count")
        .filter(check_result::Column::SessionKind.eq("idv"))
        .filter(check_result::Column::Status.eq(CheckStatus::Fail.as_str()))
        .filter(check_result::Column::ClientId.is_in(window.client_ids.clone()))
        .filter(check_result::Column::SessionId.in_subquery(in_window))
        .group_by(check_result::Column::CheckName)
        .order_by_desc(Expr::col(check_result::Column::Id).count())
        .order_by_asc(check_result::Column::CheckName)
        .limit(top_failing)
        .into_model::<FailRow>()
        .all(db)
        .await?;
    let spans: Vec<Span> = idv_session::Entity::find()
        .select_only()
        .column(C::CreatedAt)
        .column(C::CompletedAt)
        .filter(window.condition())
        .filter(C::CompletedAt.is_not_null())
        .into_model::<Span>()
        .all(db)
        .await?;
    let mut durations: Vec<f64> = spans
        .iter()
        .filter_map(|s| s.completed_at.map(|c| (c - s.created_at).num_milliseconds() as f64 / 1000.0))
        .collect();
    Ok(DashboardStats {
        total_sessions: totals.total,
        by_status_per_day: by_day.into_iter().map(|r| DayStatusCount { day: r.day, status: r.status, count: r.count }).collect(),
        pass_rate: (decided_count > 0).then(|| verified_count as f64 / decided_count as f64),
        decided_sessions: decided_count,
        average_score: totals.avg_score,
        failing_checks: failing.into_iter().map(|r| CheckFailureCount { check_name: r.check_name, count: r.count }).collect(),
        median_seconds_to_complete: median(&mut durations),
    })
}

/// Decided and verified IDV sessions per day (UTC) of creation in the window.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct DayVerdicts {
    pub day: String,
    pub decided: Option<i64>,
    pub verified: Option<i64>,
}

/// The pass rate's inputs per day: one statement (the admin UI's chart).
pub async fn verdicts_per_day(db: &impl ConnectionTrait, window: &StatsWindow) -> AppResult<Vec<DayVerdicts>> {
    let backend = db.get_database_backend();
    let decided = Expr::cust("CASE WHEN \"verified\" IS NULL THEN 0 ELSE 1 END").sum();
    let verified = Expr::cust("CASE WHEN \"verified\" = TRUE THEN 1 ELSE 0 END").sum();
    Ok(idv_session::Entity::find()
        .select_only()
        .expr_as(day_expr(backend), "day")
        .expr_as(Expr::expr(decided).cast_as("BIGINT"), "decided")
        .expr_as(Expr::expr(verified).cast_as("BIGINT"), "verified")
        .filter(window.condition())
        .group_by(day_expr(backend))
        .order_by_asc(day_expr(backend))
        .into_model::<DayVerdicts>()
        .all(db)
        .await?)
}

fn float_type(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "DOUBLE PRECISION",
        _ => "REAL",
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] })
}

/// One session scored again with proposed weights.
#[derive(Debug, Clone)]
pub struct Rescored {
    pub session: idv_session::Model,
    pub stored: Verdict,
    pub proposed: Verdict,
    /// Weights and policy entries that differ between the version the
    /// session pinned and the proposal: (name, pinned, proposed).
    pub changes: Vec<(String, String, String)>,
    /// Per check, what made the verdicts differ.
    pub differences: Vec<VerdictDifference>,
}

/// The weights fields and policy keys whose values differ between a
/// version and a proposal: (name, version's, proposal's).
fn version_changes(
    pinned: &weights::Model,
    proposed: &WeightValues,
    policy: &crate::engine::policy::Policy,
) -> Vec<(String, String, String)> {
    let before = WeightValues::from_model(pinned).named();
    let mut out: Vec<(String, String, String)> = before
        .into_iter()
        .zip(proposed.named())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| (name.to_string(), a.to_string(), b.to_string()))
        .collect();
    let old_policy = crate::service::weights::policy_of(pinned).to_json();
    let new_policy = policy.to_json();
    if let (Some(old), Some(new)) = (old_policy.as_object(), new_policy.as_object()) {
        for (key, value) in new {
            let was = old.get(key).cloned().unwrap_or(serde_json::Value::Null);
            if &was != value {
                let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                out.push((format!("policy.{key}"), text(&was), text(value)));
            }
        }
    }
    out
}

/// Re-runs the scoring engine over the stored check results of the
/// client's most recent finalized sessions with `proposed` weights and
/// verdict `policy`. Reads
/// only: two statements, nothing is written.
pub async fn what_if_rescore(
    db: &impl ConnectionTrait,
    client_id: &str,
    proposed: &WeightValues,
    policy: &crate::engine::policy::Policy,
    limit: u64,
) -> AppResult<Vec<Rescored>> {
    proposed.validate()?;
    policy.validate()?;
    let finalized = [SessionStatus::Complete.as_str(), SessionStatus::TemporarilyComplete.as_str()];
    let sessions = idv_session::Entity::find()
        .filter(idv_session::Column::ClientId.eq(client_id))
        .filter(idv_session::Column::Status.is_in(finalized))
        .order_by_desc(idv_session::Column::CompletedAt)
        .order_by_desc(idv_session::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let scope = Scope::Only(client_id.to_string());
    let mut checks = checks_by_sessions(db, &scope, &ids).await?;
    let weight_ids: Vec<String> = sessions.iter().map(|s| s.idv_weights_id.clone()).collect();
    let pinned = weights_by_ids(db, &scope, &weight_ids).await?;
    let policy_in = policy;
    Ok(sessions
        .into_iter()
        .map(|session| {
            let inputs = check_inputs(&checks.remove(&session.id).unwrap_or_default());
            let stored = crate::service::finalize::stored_verdict(&session);
            let settings: FinalizeSettings = session
                .finalize_settings
                .clone()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let ctx = scoring_context(&session, &stored);
            let changes = pinned.get(&session.idv_weights_id).map(|w| version_changes(w, proposed, policy_in)).unwrap_or_default();
            let proposed = scoring::score(&inputs, proposed, policy_in, &settings, &ctx);
            let changed_names: Vec<String> = changes.iter().map(|(name, _, _)| name.clone()).collect();
            let differences = explain_difference(&stored, &proposed, &changed_names);
            Rescored { session, stored, proposed, changes, differences }
        })
        .collect())
}

/// One check whose part in a verdict differs between the stored and the
/// proposed scoring: what it did before and after, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictDifference {
    /// The check (`score` for the overall score against its threshold).
    pub check: String,
    pub before: String,
    pub after: String,
    /// Which of the weights or policy moved it: `threshold`, `weight`,
    /// `action` (knock-out / review / score) or `outcome` (the same
    /// numbers now decide, or no longer decide, the verdict).
    pub changed: Vec<&'static str>,
}

fn reason_summary(r: Option<&scoring::Reason>) -> String {
    let Some(r) = r else { return "did not count".to_string() };
    let mut parts = vec![format!("{}{}", r.effect.as_str().replace('_', "-"), if r.decisive { ", decisive" } else { "" })];
    match (r.value, r.threshold) {
        (Some(v), Some(t)) => parts.push(format!("{v:.3} against {} {t}", r.threshold_name.as_deref().unwrap_or("threshold"))),
        (Some(v), None) => parts.push(format!("value {v:.3}")),
        _ => {}
    }
    if let Some(w) = r.weight {
        parts.push(format!("weight {w}"));
    }
    parts.join("; ")
}

/// What made the difference between two verdicts of one session, per
/// check: its action, threshold, weight or decisiveness. Pure; the
/// what-if lists it for every session whose decision flips.
pub fn explain_difference(stored: &Verdict, proposed: &Verdict, changed_weights: &[String]) -> Vec<VerdictDifference> {
    let threshold_moved = |r: &scoring::Reason| r.threshold_name.as_ref().is_some_and(|n| changed_weights.contains(n));
    let mut checks: Vec<&str> = stored.reasons.iter().chain(&proposed.reasons).map(|r| r.check.as_str()).collect();
    checks.dedup();
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for check in checks {
        if !seen.insert(check) {
            continue;
        }
        let before = stored.reasons.iter().find(|r| r.check == check);
        let after = proposed.reasons.iter().find(|r| r.check == check);
        let mut changed = vec![];
        match (before, after) {
            (Some(b), Some(a)) => {
                if b.effect != a.effect {
                    changed.push("action");
                }
                if b.threshold != a.threshold {
                    changed.push("threshold");
                }
                if b.weight != a.weight {
                    changed.push("weight");
                }
                if b.decisive != a.decisive && changed.is_empty() {
                    changed.push("outcome");
                }
            }
            (None, None) => continue,
            (Some(r), None) | (None, Some(r)) => changed.push(if threshold_moved(r) { "threshold" } else { "outcome" }),
        }
        if changed.is_empty() {
            continue;
        }
        out.push(VerdictDifference { check: check.to_string(), before: reason_summary(before), after: reason_summary(after), changed });
    }
    out
}

/// One recent session judged again under proposed requirements.
#[derive(Debug, Clone)]
pub struct RequirementsPreviewRow {
    pub session: idv_session::Model,
    /// Required fields its document lacks under the requirements in force.
    pub missing_in_force: Vec<String>,
    /// ... and under the proposed ones.
    pub missing_proposed: Vec<String>,
    /// The session re-scored under the requirements in force and under the
    /// proposed ones (same checks, pinned weights and policy), so the
    /// difference is the requirements' alone.
    pub in_force: Verdict,
    pub proposed: Verdict,
}

/// What proposed requirements of one (document type, data source) would do
/// to the client's most recent finalized sessions of that document type
/// whose current document was read from that source: the fields each would
/// lack and its verdict re-scored with its own pinned weights and policy,
/// under the requirements in force and under the proposed ones.
/// Reads only. `face_encoding` (not a document column) counts as missing
/// only when it was missing at finalize.
pub async fn requirements_preview(
    db: &impl ConnectionTrait,
    client_id: &str,
    proposed: &crate::service::requirements::RequirementSet,
    limit: u64,
) -> AppResult<Vec<RequirementsPreviewRow>> {
    use crate::service::types::DataSource;
    let in_force = crate::service::requirements::effective(db, client_id, None, proposed.doc_type, proposed.source).await?;
    let finalized = [SessionStatus::Complete.as_str(), SessionStatus::TemporarilyComplete.as_str()];
    let sessions = idv_session::Entity::find()
        .filter(idv_session::Column::ClientId.eq(client_id))
        .filter(idv_session::Column::Status.is_in(finalized))
        .filter(idv_session::Column::DocumentType.eq(proposed.doc_type.as_str()))
        .order_by_desc(idv_session::Column::CompletedAt)
        .order_by_desc(idv_session::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let scope = Scope::Only(client_id.to_string());
    let ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let mut documents = documents_by_sessions(db, &scope, &ids).await?;
    let mut checks = checks_by_sessions(db, &scope, &ids).await?;
    let weight_ids: Vec<String> = sessions.iter().map(|s| s.idv_weights_id.clone()).collect();
    let pinned = weights_by_ids(db, &scope, &weight_ids).await?;
    let mut out = vec![];
    for session in sessions {
        let Some(doc) = documents.remove(&session.id).and_then(|docs| docs.into_iter().find(|d| d.is_current)) else {
            continue;
        };
        if DataSource::from_db(&doc.data_source) != proposed.source {
            continue;
        }
        let Some(w) = pinned.get(&session.idv_weights_id) else { continue };
        let stored = crate::service::finalize::stored_verdict(&session);
        let face_missing = stored_missing(&stored).iter().any(|f| f == "face_encoding");
        let missing = |set: &crate::service::requirements::RequirementSet| {
            let mut m: Vec<String> = set.missing_fields(&doc).into_iter().map(str::to_string).collect();
            if face_missing && set.face_encoding_required {
                m.push("face_encoding".into());
            }
            m.sort();
            m
        };
        let (missing_in_force, missing_proposed) = (missing(&in_force), missing(proposed));
        let inputs = check_inputs(&checks.remove(&session.id).unwrap_or_default());
        let settings: FinalizeSettings =
            session.finalize_settings.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
        let values = WeightValues::from_model(w);
        let policy = crate::service::weights::policy_of(w);
        let verdict_with = |missing: &[String]| {
            let mut ctx = scoring_context(&session, &stored);
            ctx.missing_required_fields = missing.to_vec();
            scoring::score(&inputs, &values, &policy, &settings, &ctx)
        };
        let (now, proposed_verdict) = (verdict_with(&missing_in_force), verdict_with(&missing_proposed));
        out.push(RequirementsPreviewRow { session, missing_in_force, missing_proposed, in_force: now, proposed: proposed_verdict });
    }
    Ok(out)
}

fn check_inputs(rows: &[check_result::Model]) -> Vec<CheckInput> {
    rows.iter()
        .map(|r| CheckInput {
            name: r.check_name.clone(),
            status: CheckStatus::from_db(&r.status),
            score: r.score,
            detail: r.detail.clone(),
        })
        .collect()
}

/// The required fields a stored verdict found missing.
fn stored_missing(stored: &Verdict) -> Vec<String> {
    stored
        .reasons
        .iter()
        .filter(|r| r.code == scoring::codes::MISSING_FIELDS)
        .flat_map(|r| r.message.trim_start_matches("missing required fields: ").split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// The session's context as at finalize; the missing required fields are
/// taken from the stored verdict (requirements are not re-evaluated).
fn scoring_context(session: &idv_session::Model, stored: &Verdict) -> ScoringContext {
    let s = IdvSettings::of(session);
    let missing = stored_missing(stored);
    ScoringContext {
        document_type: DocumentType::from_db(&session.document_type),
        perform_liveness_test: s.perform_liveness_test,
        perform_ofac_test: s.perform_ofac_test,
        perform_aamva_test: s.perform_aamva_test,
        perform_image_manipulation_test: s.perform_image_manipulation_test,
        perform_age_test: s.perform_age_test,
        perform_gender_test: s.perform_gender_test,
        missing_required_fields: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(decision: &str, reasons: serde_json::Value) -> Verdict {
        serde_json::from_value(serde_json::json!({
            "score": 0.9, "verified": decision == "verified", "on_sanction_list": false,
            "decision": decision, "review_required": decision == "needs_review", "reasons": reasons,
        }))
        .expect("a verdict")
    }

    #[test]
    fn a_flip_names_the_checks_and_weights_that_made_it() {
        let stored = verdict("verified", serde_json::json!([
            {"check": "dmv", "code": "failed", "message": "no match", "effect": "score", "decisive": false, "weight": 1.0},
            {"check": "age", "code": "failed", "message": "too young", "effect": "score", "decisive": false, "weight": 1.0}
        ]));
        let proposed = verdict("rejected", serde_json::json!([
            {"check": "score", "code": "below_threshold", "message": "0.9 < 0.95", "effect": "knock_out", "decisive": true,
             "value": 0.9, "threshold": 0.95, "threshold_name": "idv_session_tolerance"},
            {"check": "dmv", "code": "failed", "message": "no match", "effect": "knock_out", "decisive": true, "weight": 1.0},
            {"check": "age", "code": "failed", "message": "too young", "effect": "score", "decisive": false, "weight": 1.0}
        ]));
        let d = explain_difference(&stored, &proposed, &["idv_session_tolerance".to_string()]);
        let checks: Vec<&str> = d.iter().map(|x| x.check.as_str()).collect();
        assert_eq!(checks, vec!["dmv", "score"], "age did the same in both: {d:?}");
        assert_eq!(d[0].changed, vec!["action"]);
        assert_eq!(d[0].before, "score; weight 1");
        assert_eq!(d[0].after, "knock-out, decisive; weight 1");
        assert_eq!(d[1].changed, vec!["threshold"]);
        assert_eq!(d[1].before, "did not count");
        assert!(d[1].after.contains("0.900 against idv_session_tolerance 0.95"), "{:?}", d[1]);
        let unchanged = explain_difference(&stored, &proposed, &[]);
        assert_eq!(unchanged[1].changed, vec!["outcome"], "without a moved threshold the score just decides now");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
