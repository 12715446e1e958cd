//! The dashboard's session search: the words each IDV session can be found
//! by, kept in `idv_session_search` and rewritten whenever one of them
//! changes (session created, SDK metadata merged, document read, session
//! finalized, identity erased).
//!
//! A search is split into words; every word must be the start of one of the
//! session's words (names, full values and their words of the user id,
//! metadata and SDK metadata, the session and identity ids), case-insensitive.
//! A document number matches only whole (letters and digits, case and
//! separators ignored), so a number is never guessed from its first digits.
//! Each word is one range of the `(client_id, term)` index, and the
//! sessions found are then read by id: a narrow search costs the same at
//! 1,000 or 1,000,000 sessions.

use std::collections::BTreeMap;

use entity::{document, idv_session, idv_session_search};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::AppResult;
use crate::service::types::metadata_value_text;

/// Longest stored term, in characters: longer values are cut (a prefix of
/// them still matches).
const MAX_TERM_CHARS: usize = 64;
/// Words of one search beyond this many are ignored.
const MAX_SEARCH_WORDS: usize = 8;
/// Sessions indexed per statement when filling the index.
const BACKFILL_BATCH: u64 = 500;

/// Lower case, cut to [`MAX_TERM_CHARS`].
fn term(s: &str) -> String {
    s.trim().to_lowercase().chars().take(MAX_TERM_CHARS).collect()
}

/// A document number as compared: letters and digits only, lower case.
pub fn document_number_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).take(MAX_TERM_CHARS).collect()
}

/// A value's terms: the whole value and each of its words.
fn value_terms(value: &str, out: &mut BTreeMap<String, bool>) {
    let whole = term(value);
    if whole.is_empty() {
        return;
    }
    for word in whole.split_whitespace() {
        out.entry(term(word)).or_insert(false);
    }
    out.insert(whole, false);
}

/// The terms of a session and its documents: `term -> exact`.
pub fn terms_of(session: &idv_session::Model, documents: &[document::Model]) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for value in [Some(&session.id), session.identity_id.as_ref(), session.user_id.as_ref()].into_iter().flatten() {
        value_terms(value, &mut out);
    }
    for name in [&session.first_name, &session.middle_name, &session.last_name, &session.suffix_name].into_iter().flatten() {
        value_terms(name, &mut out);
    }
    for meta in [&session.metadata, &session.sdk_metadata] {
        if let Some(map) = meta.as_object() {
            for v in map.values() {
                value_terms(&metadata_value_text(v), &mut out);
            }
        }
    }
    for d in documents {
        for name in [&d.first_name, &d.middle_name, &d.last_name].into_iter().flatten() {
            value_terms(name, &mut out);
        }
        if let Some(key) = d.document_number.as_deref().map(document_number_key).filter(|k| !k.is_empty()) {
            // A word that is also a document number stays a word: its prefix
            // search finds it anyway.
            out.entry(key).or_insert(true);
        }
    }
    out
}

/// Rewrites the search rows of these sessions from their current rows and
/// documents (three reads and a write per call, whatever the count).
pub async fn refresh(db: &impl ConnectionTrait, session_ids: &[String]) -> AppResult<()> {
    if session_ids.is_empty() {
        return Ok(());
    }
    let sessions = idv_session::Entity::find().filter(idv_session::Column::Id.is_in(session_ids.to_vec())).all(db).await?;
    let mut docs: BTreeMap<String, Vec<document::Model>> = BTreeMap::new();
    for d in document::Entity::find().filter(document::Column::SessionId.is_in(session_ids.to_vec())).all(db).await? {
        docs.entry(d.session_id.clone()).or_default().push(d);
    }
    idv_session_search::Entity::delete_many()
        .filter(idv_session_search::Column::SessionId.is_in(session_ids.to_vec()))
        .exec(db)
        .await?;
    let mut rows = vec![];
    for s in &sessions {
        let of_session = docs.get(&s.id).map(Vec::as_slice).unwrap_or_default();
        rows.extend(terms_of(s, of_session).into_iter().map(|(term, exact)| idv_session_search::ActiveModel {
            session_id: sea_orm::Set(s.id.clone()),
            term: sea_orm::Set(term),
            client_id: sea_orm::Set(s.client_id.clone()),
            exact: sea_orm::Set(exact),
            session_created_at: sea_orm::Set(Some(s.created_at)),
            session_score: sea_orm::Set(s.score),
            session_status: sea_orm::Set(Some(s.status.clone())),
            session_document_type: sea_orm::Set(Some(s.document_type.clone())),
            session_last_name: sea_orm::Set(s.last_name.clone()),
            session_first_name: sea_orm::Set(s.first_name.clone()),
        }));
    }
    // SQLite allows 32,766 bound values per statement: 10 per row.
    for chunk in rows.chunks(1000) {
        idv_session_search::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Indexes every session that has no search row yet (sessions written
/// before the index existed, or inserted around the service); returns how
/// many. Run at start-up; a no-op once every session is indexed.
pub async fn backfill(db: &impl ConnectionTrait) -> AppResult<u64> {
    let mut done = 0;
    // Forward by id, so each batch reads on from where the last one stopped.
    let mut after: Option<String> = None;
    loop {
        let indexed = Query::select()
            .column(idv_session_search::Column::SessionId)
            .from(idv_session_search::Entity)
            .and_where(Expr::col((idv_session_search::Entity, idv_session_search::Column::SessionId)).equals((idv_session::Entity, idv_session::Column::Id)))
            .to_owned();
        let mut unindexed = Condition::all().add(Expr::exists(indexed).not());
        if let Some(last) = &after {
            unindexed = unindexed.add(idv_session::Column::Id.gt(last.as_str()));
        }
        let ids: Vec<String> = idv_session::Entity::find()
            .select_only()
            .column(idv_session::Column::Id)
            .filter(unindexed)
            .order_by_asc(idv_session::Column::Id)
            .limit(BACKFILL_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            if done > 0 && db.get_database_backend() == sea_orm::DbBackend::Sqlite {
                // Fresh statistics, so SQLite's planner reads the sessions a
                // search found by id instead of scanning a client's sessions.
                db.execute_unprepared("ANALYZE").await?;
            }
            return Ok(done);
        }
        done += ids.len() as u64;
        refresh(db, &ids).await?;
        after = ids.last().cloned();
    }
}

/// The words of a search, lower case, at most [`MAX_SEARCH_WORDS`].
fn search_words(search: &str) -> Vec<String> {
    search.split_whitespace().take(MAX_SEARCH_WORDS).map(term).filter(|w| !w.is_empty()).collect()
}

/// The smallest string above every string starting with `prefix`
/// (byte-wise): the prefix followed by the highest code point.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// How a condition on an index table names the sessions it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `idv_session.id IN (SELECT session_id ...)`: the index range is read
    /// once and its sessions looked up by id. Right for counting: the cost
    /// is the number of sessions found, whatever the order.
    List,
    /// `EXISTS (SELECT 1 ... WHERE session_id = idv_session.id ...)`: one
    /// primary-key probe per session walked. Right for an ordered page: the
    /// walk of a sort index stops after the page's rows instead of sorting
    /// every session found.
    PerSession,
    /// `COALESCE(idv_session.id IN (SELECT session_id ...), FALSE)`: the
    /// index range is read once into a set (SQLite: an ephemeral index;
    /// PostgreSQL: a hashed subplan) and each session walked is tested
    /// against it, which no index serves, so the walk of a sort index is
    /// kept. Right for an ordered page whose matches may lie far along the
    /// walk: a set lookup per session walked instead of an index probe,
    /// for the price of reading the range once. Only for ranges of at most
    /// [`SET_CAP`] rows (PostgreSQL hashes a subplan only when the set fits
    /// its `work_mem`; otherwise it would read the range again per session).
    Set,
}

/// Index rows a [`Probe::Set`] subquery may gather.
pub const SET_CAP: u64 = 30_000;

/// `idv_session.id` among the `session_id` column of `table`'s rows of
/// these clients that meet `cond` (the search index, check results), in
/// the given form.
pub(crate) fn sessions_where(
    table: impl sea_orm::sea_query::IntoTableRef,
    client_id: impl sea_orm::sea_query::IntoColumnRef,
    session_id: impl sea_orm::sea_query::IntoColumnRef,
    client_ids: &[String],
    cond: Condition,
    probe: Probe,
    backend: DbBackend,
) -> Condition {
    let client_id = client_id.into_column_ref();
    // SQLite: a probe of one session tests the client per row (`client_id
    // || ''`, which no index serves). Given the client as an index term,
    // SQLite without statistics (a connection opened before the last
    // ANALYZE) read the client's whole range of the covering index for
    // every session walked — 7 s instead of 8 ms to count 1,001 of 2,400
    // sessions whose word spans 30,800 rows — rather than the few rows of
    // the session's own key. Not on PostgreSQL, whose planner then hashed
    // every failed result of the check (80 ms a page instead of 6).
    let client = match (probe, backend) {
        (Probe::PerSession, DbBackend::Sqlite) => crate::service::idv::unindexed(Expr::col(client_id)),
        _ => Expr::col(client_id),
    };
    let mut select = Query::select();
    select.from(table).cond_where(Condition::all().add(client.is_in(client_ids.to_vec())).add(cond));
    match probe {
        Probe::List => {
            select.column(session_id);
            Condition::all().add(idv_session::Column::Id.in_subquery(select.to_owned()))
        }
        Probe::PerSession => {
            select.expr(Expr::val(1)).and_where(Expr::col(session_id).equals((idv_session::Entity, idv_session::Column::Id)));
            Condition::all().add(Expr::exists(select.to_owned()))
        }
        Probe::Set => {
            select.column(session_id);
            let member = Expr::col((idv_session::Entity, idv_session::Column::Id)).in_subquery(select.to_owned());
            let set_test: Expr = sea_orm::sea_query::Func::coalesce([member, Expr::cust("FALSE")]).into();
            Condition::all().add(set_test)
        }
    }
}

fn sessions_with(client_ids: &[String], cond: Condition, probe: Probe, backend: DbBackend) -> Condition {
    use idv_session_search::Column as T;
    sessions_where(
        idv_session_search::Entity,
        (idv_session_search::Entity, T::ClientId),
        (idv_session_search::Entity, T::SessionId),
        client_ids,
        cond,
        probe,
        backend,
    )
}

/// At most this many sessions per word are looked up by id; a broader
/// word is answered as a subquery instead.
const MAX_CANDIDATES: u64 = 2000;

/// What the index found for a search: the sessions' ids when every word
/// matched at most [`MAX_CANDIDATES`] sessions (on PostgreSQL, that the
/// words are that narrow), else the search itself, to be asked of the index
/// as subqueries ([`condition`]).
#[derive(Debug, Clone)]
pub struct Found {
    backend: DbBackend,
    client_ids: Vec<String>,
    search: String,
    matches: Matches,
}

#[derive(Debug, Clone)]
enum Matches {
    /// SQLite: the ids, looked up by primary key (`id IN (...)`).
    Ids(Vec<String>),
    /// PostgreSQL: few sessions, whose ids the server gathers itself and
    /// looks up by primary key (`id = ANY(ARRAY(<the index ranges>))`). A
    /// list of a thousand ids sent back as bound parameters made a message
    /// of some 40 kB per statement, and each such statement waited tens of
    /// milliseconds on the local TCP connection for no work.
    Narrow,
    /// A word too broad for id lookups: subqueries on the index.
    Broad,
}

impl Found {
    /// True when the search found a short list of ids sent with the query
    /// (looked up by primary key), false otherwise.
    pub fn is_id_list(&self) -> bool {
        matches!(self.matches, Matches::Ids(_))
    }

    /// True when a word was too broad for id lookups: the search is
    /// subqueries on the index, in the form a statement asks for.
    pub fn is_broad(&self) -> bool {
        matches!(self.matches, Matches::Broad)
    }

    /// The sessions found, as a condition on `idv_session.id`: their ids
    /// (primary-key lookups), or subqueries on the index in the given form.
    pub fn condition(&self, probe: Probe) -> Condition {
        match &self.matches {
            Matches::Ids(ids) => Condition::all().add(idv_session::Column::Id.is_in(ids.clone())),
            Matches::Narrow => match matching_ids(&self.client_ids, &self.search) {
                Some(ids) => {
                    let id = Expr::col((idv_session::Entity, idv_session::Column::Id));
                    let array = Expr::SubQuery(None, Box::new(ids.into()));
                    Condition::all().add(Expr::cust_with_exprs("$1 = ANY(ARRAY $2)", [id, array]))
                }
                None => Condition::all(),
            },
            Matches::Broad => condition(&self.client_ids, &self.search, probe, self.backend).unwrap_or_else(Condition::all),
        }
    }
}

/// The sessions (of these clients) a search finds; `None` for a blank
/// search. The index is asked first, one range per word: when every word
/// matches at most [`MAX_CANDIDATES`] sessions the answer is their ids
/// (`id IN (...)`, primary-key lookups, whatever the number of sessions in
/// the list; on PostgreSQL the server gathers the ids itself); a broader
/// search becomes the same ranges as subqueries.
pub async fn resolve(db: &impl ConnectionTrait, client_ids: &[String], search: &str) -> AppResult<Option<Found>> {
    use idv_session_search::Column as T;
    let words = search_words(search);
    if words.is_empty() {
        return Ok(None);
    }
    let broad = Found { backend: db.get_database_backend(), client_ids: client_ids.to_vec(), search: search.to_string(), matches: Matches::Broad };
    let number = document_number_key(search);
    let exact = || Condition::all().add(T::Exact.eq(true)).add(T::Term.eq(number.clone()));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Only how many: the ids stay on the server.
        let mut ranges: Vec<Condition> = words.iter().map(|w| prefix_condition(w)).collect();
        if !number.is_empty() {
            ranges.push(exact());
        }
        for range in ranges {
            if count_upto(db, client_ids, range, MAX_CANDIDATES + 1).await? > MAX_CANDIDATES {
                return Ok(Some(broad));
            }
        }
        return Ok(Some(Found { matches: Matches::Narrow, ..broad }));
    }
    // Counted first (from the index, no row sent back): a broad word's
    // 2,001 ids cost some 2–3 ms to send back for nothing.
    for w in &words {
        if count_upto(db, client_ids, prefix_condition(w), MAX_CANDIDATES + 1).await? > MAX_CANDIDATES {
            return Ok(Some(broad));
        }
    }
    let lookup = |cond: Condition| {
        idv_session_search::Entity::find()
            .select_only()
            .column(T::SessionId)
            .filter(T::ClientId.is_in(client_ids.to_vec()))
            .filter(cond)
            .limit(MAX_CANDIDATES + 1)
            .into_tuple::<String>()
            .all(db)
    };
    let mut found: Option<std::collections::BTreeSet<String>> = None;
    for w in &words {
        let ids = lookup(prefix_condition(w)).await?;
        if ids.len() as u64 > MAX_CANDIDATES {
            return Ok(Some(broad));
        }
        let ids: std::collections::BTreeSet<String> = ids.into_iter().collect();
        found = Some(match found {
            None => ids,
            Some(before) => before.intersection(&ids).cloned().collect(),
        });
    }
    let mut ids = found.unwrap_or_default();
    if !number.is_empty() {
        let exact = lookup(exact()).await?;
        if exact.len() as u64 > MAX_CANDIDATES {
            return Ok(Some(broad));
        }
        ids.extend(exact);
    }
    Ok(Some(Found { matches: Matches::Ids(ids.into_iter().collect()), ..broad }))
}

impl Found {
    /// The session ids of the first `limit` rows of a broad one-word
    /// search's word range: some of the sessions it finds (the document
    /// number's are not among them), for a count that stops early; `None`
    /// for any other search.
    pub fn one_word_rows(&self, limit: u64) -> Option<sea_orm::sea_query::SelectStatement> {
        use idv_session_search::Column as T;
        let words = search_words(&self.search);
        let ([word], Matches::Broad) = (words.as_slice(), &self.matches) else {
            return None;
        };
        let rows = Query::select()
            .column((idv_session_search::Entity, T::SessionId))
            .from(idv_session_search::Entity)
            .cond_where(Condition::all().add(T::ClientId.is_in(self.client_ids.clone())).add(prefix_condition(word)))
            .limit(limit)
            .to_owned();
        Some(rows)
    }

    /// The search rows (of these clients) a broad one-word search finds,
    /// as a condition on `idv_session_search`: its word's range, and the
    /// whole search as a document number where that lies in the range (a
    /// word is most often its own number: letters and digits); `None` for
    /// any other search, or a number outside the range (`ord-55`, number
    /// `ord55`), whose rows are another range.
    pub fn one_word_range(&self) -> Option<Condition> {
        use idv_session_search::Column as T;
        let words = search_words(&self.search);
        let ([word], Matches::Broad) = (words.as_slice(), &self.matches) else {
            return None;
        };
        let end = prefix_end(word);
        let number = document_number_key(&self.search);
        let mut kinds = Condition::any().add(T::Exact.eq(false));
        if !number.is_empty() {
            if number.as_str() < word.as_str() || number >= end {
                return None;
            }
            kinds = kinds.add(T::Term.eq(number));
        }
        let range = Condition::all().add(T::ClientId.is_in(self.client_ids.clone())).add(T::Term.gte(word.as_str())).add(T::Term.lt(end));
        Some(range.add(kinds))
    }

    /// The most index rows any one range of a broad search reads (each
    /// word's, the document number's), counted up to `cap`; 0 for a search
    /// answered by ids.
    pub async fn widest_range(&self, db: &impl ConnectionTrait, cap: u64) -> AppResult<u64> {
        use idv_session_search::Column as T;
        if !matches!(self.matches, Matches::Broad) {
            return Ok(0);
        }
        let mut ranges: Vec<Condition> = search_words(&self.search).iter().map(|w| prefix_condition(w)).collect();
        let number = document_number_key(&self.search);
        if !number.is_empty() {
            ranges.push(Condition::all().add(T::Exact.eq(true)).add(T::Term.eq(number)));
        }
        let mut widest = 0;
        for range in ranges {
            widest = std::cmp::Ord::max(widest, count_upto(db, &self.client_ids, range, cap).await?);
            if widest >= cap {
                break;
            }
        }
        Ok(widest)
    }
}

/// How many search rows of these clients meet `cond`, counted up to `cap`.
async fn count_upto(db: &impl ConnectionTrait, client_ids: &[String], cond: Condition, cap: u64) -> AppResult<u64> {
    use idv_session_search::Column as T;
    use sea_orm::sea_query::Alias;
    let rows = Query::select()
        .expr(Expr::val(1))
        .from(idv_session_search::Entity)
        .cond_where(Condition::all().add(T::ClientId.is_in(client_ids.to_vec())).add(cond))
        .limit(cap)
        .to_owned();
    let count = Query::select().expr_as(Expr::cust("COUNT(*)"), Alias::new("n")).from_subquery(rows, Alias::new("capped")).to_owned();
    let row = db.query_one(&count).await?;
    Ok(u64::try_from(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or_default()).unwrap_or_default())
}

/// The ids of the sessions (of these clients) a search finds, as one
/// statement: the words' ranges intersected, then the exact document
/// number added; `None` for a blank search.
fn matching_ids(client_ids: &[String], search: &str) -> Option<sea_orm::sea_query::SelectStatement> {
    use idv_session_search::Column as T;
    use sea_orm::sea_query::UnionType;
    let words = search_words(search);
    let of = |cond: Condition| {
        Query::select()
            .column((idv_session_search::Entity, T::SessionId))
            .from(idv_session_search::Entity)
            .cond_where(Condition::all().add(T::ClientId.is_in(client_ids.to_vec())).add(cond))
            .to_owned()
    };
    let (first, rest) = words.split_first()?;
    let mut ids = of(prefix_condition(first));
    for w in rest {
        ids.union(UnionType::Intersect, of(prefix_condition(w)));
    }
    // INTERSECT binds before UNION: (all words) or the number.
    let number = document_number_key(search);
    if !number.is_empty() {
        ids.union(UnionType::Distinct, of(Condition::all().add(T::Exact.eq(true)).add(T::Term.eq(number))));
    }
    Some(ids)
}

fn prefix_condition(word: &str) -> Condition {
    use idv_session_search::Column as T;
    Condition::all().add(T::Exact.eq(false)).add(T::Term.gte(word)).add(T::Term.lt(prefix_end(word)))
}

/// The sessions (of these clients) a search finds, as subqueries on the
/// index in the given form; `None` for a blank search.
pub fn condition(client_ids: &[String], search: &str, probe: Probe, backend: DbBackend) -> Option<Condition> {
    use idv_session_search::Column as T;
    let words = search_words(search);
    if words.is_empty() {
        return None;
    }
    let mut all_words = Condition::all();
    for w in &words {
        all_words = all_words.add(sessions_with(client_ids, prefix_condition(w), probe, backend));
    }
    let number = document_number_key(search);
    if number.is_empty() {
        return Some(all_words);
    }
    let exact = Condition::all().add(T::Exact.eq(true)).add(T::Term.eq(number));
    Some(Condition::any().add(all_words).add(sessions_with(client_ids, exact, probe, backend)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> idv_session::Model {
        serde_json::from_str(
            r#"{
            "id": "0193-abc", "client_id": "c", "user_id": "User-77", "idv_weights_id": "w", "status": "complete",
            "document_type": "driver_license", "liveness_mode": "passive", "liveness_provider": "local",
            "webhook_url": null, "metadata": {"customer": "Acme Corp", "n": 42}, "sdk_metadata": {"app_version": "3.2.0"},
            "settings": {}, "finalize_settings": null, "consented": true, "consented_at": null,
            "document_front_given": true, "document_front_given_at": null, "document_back_given": true,
            "document_back_given_at": null, "liveness_detected": true, "liveness_detected_at": null,
            "selfie_given": true, "selfie_given_at": null, "first_name": "ANH", "middle_name": "Van Thi",
            "last_name": "JOHNSON", "suffix_name": null, "gender": "unknown", "birth_date": null,
            "ofac_status": "clear", "ofac_detected_at": null, "dmv_status": "unknown", "dmv_detected_at": null,
            "verified": true, "verified_at": null, "score": 0.9, "reasons": null, "review_required": false,
            "identity_id": null, "failed_attempts": 0, "event_sequence": 0,
            "created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-01T00:00:00Z", "completed_at": null,
            "expires_at": "2026-12-02T00:00:00Z", "blocked_until": null
        }"#,
        )
        .expect("a session row")
    }

    #[test]
    fn terms_cover_names_ids_and_metadata_words() {
        let t = terms_of(&session(), &[]);
        for expected in ["anh", "johnson", "van", "thi", "van thi", "user-77", "0193-abc", "acme corp", "acme", "corp", "42", "3.2.0"] {
            assert_eq!(t.get(expected), Some(&false), "{expected}: {t:?}");
        }
        assert!(!t.values().any(|exact| *exact), "no document, no exact term");
    }

    #[test]
    fn document_numbers_are_exact_and_normalised() {
        assert_eq!(document_number_key(" D123-456 78 "), "d12345678");
        let mut d: document::Model = serde_json::from_str(
            r#"{
            "id": "d", "client_id": "c", "session_id": "0193-abc", "identity_id": null, "is_current": true,
            "type": "driver_license", "data_source": "barcode", "document_number": "D123-456 78", "ref_number": null,
            "issued_at": null, "expires_at": null, "issuing_country": null, "issuing_state": null, "first_name": null,
            "middle_name": null, "last_name": null, "name_suffix": null, "street": null, "city": null, "state": null,
            "postal_code": null, "birth_date": null, "gender": "unknown", "height": null, "weight": null, "eye_color": null,
            "hair_color": null, "doc_class": null, "restrictions": null, "endorsements": null, "raw_payload": null,
            "truncation": null, "created_at": "2026-12-01T00:00:00Z"
        }"#,
        )
        .expect("a document row");
        assert_eq!(terms_of(&session(), std::slice::from_ref(&d)).get("d12345678"), Some(&true));
        d.document_number = Some("   ".into());
        assert!(!terms_of(&session(), &[d]).values().any(|exact| *exact), "a blank number is no term");
    }

    #[test]
    fn a_narrow_search_on_postgres_sends_no_ids() {
        use sea_orm::{DbBackend, QueryTrait};
        let found = Found { backend: DbBackend::Postgres, client_ids: vec!["c".into()], search: "Anh Johnson".into(), matches: Matches::Narrow };
        let page = idv_session::Entity::find().filter(found.condition(Probe::PerSession)).build(DbBackend::Postgres);
        let sql = page.to_string();
        // One array gathered by the server: (both words) or the whole search as a document number.
        assert!(sql.contains(r#""idv_session"."id" = ANY(ARRAY (SELECT "idv_session_search"."session_id""#), "{sql}");
        let (intersect, union) = (sql.find(" INTERSECT ").expect(&sql), sql.find(" UNION ").expect(&sql));
        assert!(intersect < union, "{sql}");
        assert!(sql.contains("'anhjohnson'") && sql.contains("'johnson'") && sql.contains("'anh'"), "{sql}");
        assert!(!found.is_id_list());
        let one_word = Found { search: "%".into(), ..found };
        let sql = idv_session::Entity::find().filter(one_word.condition(Probe::List)).build(DbBackend::Postgres).to_string();
        assert!(!sql.contains("INTERSECT") && !sql.contains("UNION") && sql.contains("ANY(ARRAY (SELECT"), "{sql}");
    }

    #[test]
    fn a_set_probe_tests_each_session_against_the_range_read_once() {
        use sea_orm::{DbBackend, QueryTrait};
        let cond = condition(&["c".into()], "first1", Probe::Set, DbBackend::Sqlite).expect("a word");
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let sql = idv_session::Entity::find().filter(cond.clone()).build(backend).to_string();
            // Not correlated (read once) and not an index term on the id (the walk stays).
            assert!(sql.contains("COALESCE(") && sql.contains(r#"."id" IN (SELECT"#) && sql.contains(", FALSE)"), "{sql}");
            assert!(!sql.contains("EXISTS") && !sql.contains(r#""session_id" = "idv_session"."id""#), "{sql}");
        }
    }

    #[test]
    fn a_search_is_words_and_a_blank_one_is_nothing() {
        assert_eq!(search_words("  Anh   JOHNSON "), vec!["anh", "johnson"]);
        assert!(condition(&["c".into()], "   ", Probe::List, DbBackend::Sqlite).is_none());
        assert!(prefix_end("ab") > "abzzzz".to_string() && prefix_end("ab") < "ac".to_string());
    }
}
