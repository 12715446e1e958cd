//! Sanctions and PEP screening: the list parsers ([`csv`] for OFAC,
//! [`formats`] for the UN, EU, UK and OpenSanctions files), name
//! normalisation ([`normalize`]), the token Jaro-Winkler matcher
//! ([`matcher`]), match explanations ([`explain`]) and an in-memory index
//! ([`ScreeningIndex`]) that a [`ListScreener`] serves and swaps when a new
//! list version is loaded.
//!
//! The index blocks on trigrams of the tokens' phonetic keys, so a
//! candidate need share no first letter with the query; only candidates
//! sharing a good part of the query's trigrams are scored. A birth date is a
//! hard gate when both sides have one; country, gender and document numbers
//! move the score a little (see [`explain`]).

pub mod country;
pub mod csv;
pub mod explain;
pub mod formats;
pub mod matcher;
pub mod normalize;
pub mod synthetic;
pub mod xml;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use self::csv::{Category, EntryKind, SanctionsEntry};
use self::explain::{Explanation, Features};
use self::normalize::{Token, name_tokens};
use super::{EngineError, EngineFuture, SanctionsHit, SanctionsScreener, ScreeningResult, ScreeningSubject};

/// Hits below this similarity are not reported at all (the caller applies
/// its own threshold, `ofac_fuzzy_match_tolerance`, above it).
pub const REPORT_FLOOR: f64 = 0.75;
/// At most this many hits per screening.
pub const MAX_HITS: usize = 10;
/// The list key that selects PEP entries (of any source).
pub const PEPS: &str = "peps";

struct IndexedName {
    entry: u32,
    /// Which of its entry's names this is (0 = primary, then the aliases).
    position: u16,
    /// Tokens as ids into the vocabulary.
    tokens: Box<[u32]>,
    /// Tokens that are not particles.
    substantial: u8,
}

/// An immutable, searchable list version.
///
/// Every distinct token of the listed names is normalised once, at build
/// time, into a vocabulary; names are token ids. A screening looks up the
/// vocabulary tokens similar to each query token (trigrams of the phonetic
/// keys, and the consonant skeleton), walks the names holding the rarer of
/// them, keeps the names that agree on enough query tokens and scores only
/// those.
pub struct ScreeningIndex {
    version: String,
    entries: Vec<SanctionsEntry>,
    names: Vec<IndexedName>,
    vocab: Vec<Token>,
    /// Trigrams of each vocabulary token's key.
    vocab_grams: Vec<u8>,
    /// Key trigram → vocabulary tokens.
    gram_postings: HashMap<u32, Vec<u32>>,
    /// Consonant skeleton (3+ letters) → vocabulary tokens.
    skeletons: HashMap<String, Vec<u32>>,
    /// Vocabulary token → names holding it (ascending, once each).
    postings: Vec<Vec<u32>>,
    /// A token held by more names than this is not walked to find
    /// candidates, only checked on the candidates others found.
    frequent: usize,
}

/// A vocabulary token is similar to a query token from this similarity on.
pub const TOKEN_FLOOR: f64 = 0.75;

fn key_trigrams(key: &str, out: &mut Vec<u32>) {
    out.clear();
    let padded: Vec<u8> = std::iter::once(b'^').chain(key.bytes()).chain(std::iter::once(b'$')).collect();
    for w in padded.windows(3) {
        out.push(u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]));
    }
    out.sort_unstable();
    out.dedup();
}

/// Per-thread scratch space of a screening (no allocation per candidate).
#[derive(Default)]
struct Scratch {
    shared: Vec<u8>,
    touched: Vec<u32>,
    grams: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Whether the subject's choice of lists covers this entry.
fn selected(entry: &SanctionsEntry, lists: Option<&[String]>) -> bool {
    let Some(lists) = lists else { return true };
    let key = match entry.details.category {
        Category::Pep => PEPS,
        Category::Sanction => entry.source.list_key(),
    };
    lists.iter().any(|l| l == key)
}

impl ScreeningIndex {
    pub fn build(version: impl Into<String>, entries: Vec<SanctionsEntry>) -> Self {
        let mut names = Vec::new();
        let mut vocab: Vec<Token> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            if matches!(entry.kind, EntryKind::Vessel | EntryKind::Aircraft) {
                continue;
            }
            for (position, name) in std::iter::once(&entry.name).chain(&entry.aliases).enumerate() {
                let tokens = name_tokens(name, entry.kind);
                if tokens.is_empty() {
                    continue;
                }
                let id = names.len() as u32;
                let substantial = tokens.iter().filter(|t| !t.particle).count().min(u8::MAX as usize) as u8;
                let token_ids: Box<[u32]> = tokens
                    .into_iter()
                    .map(|t| {
                        let v = *ids.entry(t.text.clone()).or_insert_with(|| {
                            vocab.push(t);
                            postings.push(Vec::new());
                            (vocab.len() - 1) as u32
                        });
                        if postings[v as usize].last() != Some(&id) {
                            postings[v as usize].push(id);
                        }
                        v
                    })
                    .collect();
                names.push(IndexedName { entry: e as u32, position: position.min(u16::MAX as usize) as u16, tokens: token_ids, substantial });
            }
        }
        let mut gram_postings: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut skeletons: HashMap<String, Vec<u32>> = HashMap::new();
        let mut vocab_grams = Vec::with_capacity(vocab.len());
        let mut grams = Vec::new();
        for (v, t) in vocab.iter().enumerate() {
            key_trigrams(&t.key, &mut grams);
            vocab_grams.push(grams.len().min(u8::MAX as usize) as u8);
            for g in &grams {
                gram_postings.entry(*g).or_default().push(v as u32);
            }
            if t.skeleton.len() >= 3 {
                skeletons.entry(t.skeleton.clone()).or_default().push(v as u32);
            }
        }
        let frequent = (names.len() / 512).max(256);
        ScreeningIndex { version: version.into(), entries, names, vocab, vocab_grams, gram_postings, skeletons, postings, frequent }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Distinct normalised tokens of the listed names.
    pub fn token_count(&self) -> usize {
        self.vocab.len()
    }

    /// Whether any loaded entry is a politically exposed person.
    pub fn has_peps(&self) -> bool {
        self.entries.iter().any(|e| e.details.category == Category::Pep)
    }

    /// The list keys with entries in this index (`peps` when there are PEPs).
    pub fn list_keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = Vec::new();
        for e in &self.entries {
            let k = if e.details.category == Category::Pep { PEPS } else { e.source.list_key() };
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    }

    fn query(subject: &ScreeningSubject) -> Vec<Token> {
        let full: Vec<&str> =
            [&subject.first_name, &subject.middle_name, &subject.last_name].into_iter().flatten().map(String::as_str).collect();
        let kind = if subject.is_entity { EntryKind::Entity } else { EntryKind::Individual };
        name_tokens(&full.join(" "), kind)
    }

    /// Hits for a person, best first, above [`REPORT_FLOOR`].
    pub fn screen(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let query = Self::query(subject);
        if query.is_empty() {
            return vec![];
        }
        let candidates = self.candidates(&query);
        self.rank(subject, &query, candidates.into_iter())
    }

    /// How many names a screening of this subject scores (the benchmark's
    /// measure of the blocking).
    pub fn candidate_count(&self, subject: &ScreeningSubject) -> usize {
        let query = Self::query(subject);
        if query.is_empty() { 0 } else { self.candidates(&query).len() }
    }

    /// Vocabulary tokens similar to `q` (at least [`TOKEN_FLOOR`]): those
    /// sharing enough key trigrams, and those with its consonant skeleton.
    fn similar_tokens(&self, q: &Token, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let Scratch { shared, touched, grams } = scratch;
        if shared.len() < self.vocab.len() {
            shared.resize(self.vocab.len(), 0);
        }
        key_trigrams(&q.key, grams);
        for g in grams.iter() {
            if let Some(list) = self.gram_postings.get(g) {
                for &v in list {
                    let c = &mut shared[v as usize];
                    if *c == 0 {
                        touched.push(v);
                    }
                    *c = c.saturating_add(1);
                }
            }
        }
        let nq = grams.len();
        for &v in touched.iter() {
            let n = shared[v as usize] as usize;
            shared[v as usize] = 0;
            let fewer = nq.min(self.vocab_grams[v as usize] as usize);
            // At least 30 % of the shorter key's trigrams (two for keys of two letters or more).
            let need = ((fewer as f64 * 0.3).ceil() as usize).max(fewer.min(2));
            if n >= need && token_similarity_at_least(q, &self.vocab[v as usize]) {
                out.push(v);
            }
        }
        touched.clear();
        if q.skeleton.len() >= 3 {
            for &v in self.skeletons.get(&q.skeleton).map(Vec::as_slice).unwrap_or(&[]) {
                if token_similarity_at_least(q, &self.vocab[v as usize]) {
                    out.push(v);
                }
            }
        }
    }

    /// The names worth scoring: they hold a token similar to a query token
    /// and agree on as many query tokens as both names allow (two, or one
    /// when either name has a single token that is not a particle).
    fn candidates(&self, query: &[Token]) -> Vec<u32> {
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            // (vocabulary token, the query tokens it is similar to)
            let mut similar: Vec<(u32, u16)> = Vec::new();
            let mut found = Vec::new();
            for (i, q) in query.iter().enumerate().filter(|(_, q)| !q.particle).take(16) {
                found.clear();
                self.similar_tokens(q, scratch, &mut found);
                similar.extend(found.iter().map(|&v| (v, 1u16 << i)));
            }
            similar.sort_unstable();
            similar.dedup_by(|b, a| {
                if a.0 == b.0 {
                    a.1 |= b.1;
                    true
                } else {
                    false
                }
            });
            let substantial = query.iter().filter(|t| !t.particle).count();
            let mut names: Vec<u32> = Vec::new();
            for &(v, _) in &similar {
                let list = &self.postings[v as usize];
                if list.len() <= self.frequent {
                    names.extend_from_slice(list);
                }
            }
            // Only frequent tokens agree (a query of common names): walk the
            // rarest, unless fewer query tokens agree than a name of several
            // tokens needs (a single-token name then scores below the report
            // floor: one pair of two or more query tokens weighs 0.75).
            let agreeing = similar.iter().fold(0u16, |m, (_, q)| m | q).count_ones() as usize;
            if names.is_empty() && agreeing >= 2.min(substantial) {
                if let Some(&(v, _)) = similar.iter().min_by_key(|(v, _)| self.postings[*v as usize].len()) {
                    names.extend_from_slice(&self.postings[v as usize]);
                }
            }
            names.sort_unstable();
            names.dedup();
            names.retain(|&n| {
                let name = &self.names[n as usize];
                let mut agreed = 0u16;
                for t in name.tokens.iter() {
                    if let Ok(k) = similar.binary_search_by_key(t, |(v, _)| *v) {
                        agreed |= similar[k].1;
                    }
                }
                // One agreeing query token is enough for a name found through a
                // rare token (a typo can hide the other one from the trigrams);
                // names reached only through a frequent token need two.
                let walked = name.tokens.iter().any(|t| {
                    similar.binary_search_by_key(t, |(v, _)| *v).is_ok() && self.postings[*t as usize].len() <= self.frequent
                });
                let need = if walked { 1 } else { 2.min(substantial).min(name.substantial as usize) as u32 };
                agreed.count_ones() >= need.max(1)
            });
            names
        })
    }

    /// Brute force over every name (the benchmark's reference for recall).
    pub fn screen_exhaustive(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let query = Self::query(subject);
        if query.is_empty() {
            return vec![];
        }
        self.rank(subject, &query, 0..self.names.len() as u32)
    }

    /// Scores the candidate names; the best name per entry, features applied.
    fn rank(&self, subject: &ScreeningSubject, query: &[Token], candidates: impl Iterator<Item = u32>) -> Vec<SanctionsHit> {
        let mut best: HashMap<u32, (f64, u32)> = HashMap::new();
        for n in candidates {
            let name = &self.names[n as usize];
            let entry = &self.entries[name.entry as usize];
            if !selected(entry, subject.lists.as_deref()) || !birth_date_admits(entry, subject.birth_date) {
                continue;
            }
            let s = matcher::name_score_of(query, &self.tokens_of(name), false).0;
            // Other features move a score by at most this much.
            if s >= REPORT_FLOOR - 0.1 {
                let b = best.entry(name.entry).or_insert((0.0, n));
                if s > b.0 {
                    *b = (s, n);
                }
            }
        }
        let mut hits: Vec<SanctionsHit> =
            best.into_values().filter_map(|(_, n)| self.explain(subject, query, n)).filter(|h| h.score >= REPORT_FLOOR).collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.entry_id.cmp(&b.entry_id)));
        hits.truncate(MAX_HITS);
        hits
    }

    /// The hit for one matched name: features scored and explained.
    fn explain(&self, subject: &ScreeningSubject, query: &[Token], n: u32) -> Option<SanctionsHit> {
        let name = &self.names[n as usize];
        let entry = &self.entries[name.entry as usize];
        let (name_score, name_tokens) = matcher::name_score_of(query, &self.tokens_of(name), true);
        let features = Features {
            name: name_score,
            name_tokens,
            birth_date: explain::birth_date(entry, subject.birth_date),
            country: explain::country(entry, subject.country.as_deref()),
            gender: explain::gender(entry, subject.gender.as_deref()),
            identifier: explain::identifier(entry, subject.document_number.as_deref()),
        };
        let effect: f64 = [&features.birth_date, &features.country, &features.gender, &features.identifier]
            .into_iter()
            .flatten()
            .map(|f| f.effect)
            .sum();
        let score = (name_score + effect).clamp(0.0, 1.0);
        let names: Vec<&String> = std::iter::once(&entry.name).chain(&entry.aliases).collect();
        let matched = names.get(name.position as usize).map(|s| s.to_string()).unwrap_or_else(|| entry.name.clone());
        Some(SanctionsHit {
            list: entry.source.label().to_string(),
            entry_id: entry.ent_num.clone(),
            name: entry.name.clone(),
            score,
            explanation: Box::new(Explanation { matched_name: matched, features, entry: explain::listed_entry(entry) }),
        })
    }

    fn tokens_of<'a>(&'a self, name: &'a IndexedName) -> matcher::VocabName<'a> {
        matcher::VocabName { vocab: &self.vocab, ids: &name.tokens }
    }
}

/// Who a screening was about, for an allow-list: the subject's normalised
/// name tokens (sorted, so the order of names does not matter) and birth
/// date, `tokens|YYYY-MM-DD`.
pub fn subject_key(subject: &ScreeningSubject) -> String {
    let mut tokens: Vec<String> = ScreeningIndex::query(subject).into_iter().map(|t| t.text).collect();
    tokens.sort();
    tokens.dedup();
    format!("{}|{}", tokens.join(" "), subject.birth_date.map(|d| d.to_string()).unwrap_or_default())
}

/// Whether two tokens are at least [`TOKEN_FLOOR`] alike.
fn token_similarity_at_least(a: &Token, b: &Token) -> bool {
    matcher::token_similarity(a, b) >= TOKEN_FLOOR
}

/// The hard gate: when both sides have a birth date, one must admit it.
fn birth_date_admits(entry: &SanctionsEntry, born: Option<NaiveDate>) -> bool {
    match born {
        Some(d) if !entry.birth_dates.is_empty() => entry.birth_dates.iter().any(|b| b.admits(d)),
        _ => true,
    }
}

/// The installed screener: serves the loaded list version and swaps to a
/// new one without blocking screenings in flight.
#[derive(Default)]
pub struct ListScreener {
    current: RwLock<Option<Arc<ScreeningIndex>>>,
}

impl ListScreener {
    pub fn new(index: ScreeningIndex) -> Self {
        ListScreener { current: RwLock::new(Some(Arc::new(index))) }
    }

    pub fn replace(&self, index: ScreeningIndex) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(index));
    }

    pub fn current(&self) -> Option<Arc<ScreeningIndex>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl SanctionsScreener for ListScreener {
    fn version(&self) -> String {
        self.current().map(|i| format!("list-screener 2 ({})", i.version())).unwrap_or_else(|| "list-screener 2 (no list)".into())
    }

    fn screen(&self, subject: ScreeningSubject) -> EngineFuture<'_, ScreeningResult> {
        let index = self.current();
        Box::pin(async move {
            let index = index.ok_or_else(|| EngineError::Unavailable("no sanctions list is loaded".into()))?;
            let version = index.version().to_string();
            let hits = tokio::task::spawn_blocking(move || index.screen(&subject))
                .await
                .map_err(|e| EngineError::Transient(format!("screening task failed: {e}")))?;
            Ok(ScreeningResult { hits, lists_version: Some(version) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::csv::{BirthDate, ListSource};
    use super::*;

    fn person(num: &str, name: &str, aliases: &[&str], dob: Option<(i32, u32, u32)>) -> SanctionsEntry {
        SanctionsEntry {
            source: ListSource::Sdn,
            ent_num: num.into(),
            name: name.into(),
            kind: EntryKind::Individual,
            programs: vec![],
            remarks: None,
            birth_dates: dob
                .map(|(y, m, d)| vec![BirthDate::Exact { date: NaiveDate::from_ymd_opt(y, m, d).unwrap() }])
                .unwrap_or_default(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            addresses: vec![],
            details: Default::default(),
        }
    }

    fn entity(num: &str, name: &str) -> SanctionsEntry {
        SanctionsEntry { kind: EntryKind::Entity, ..person(num, name, &[], None) }
    }

    fn subject(first: &str, last: &str, dob: Option<(i32, u32, u32)>) -> ScreeningSubject {
        ScreeningSubject {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            birth_date: dob.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            ..Default::default()
        }
    }

    fn index() -> ScreeningIndex {
        ScreeningIndex::build(
            "v1",
            vec![
                person("1", "PUTIN, Vladimir Vladimirovich", &["POUTINE, Wladimir"], Some((1952, 10, 7))),
                person("2", "AL-ZAWAHIRI, Ayman", &["ZAWAHRI, Aiman"], None),
                person("3", "MÜLLER, Jürgen", &[], None),
                entity("4", "EMMA LLC"),
                entity("5", "CORP"),
            ],
        )
    }

    fn top(i: &ScreeningIndex, s: ScreeningSubject) -> Option<(String, f64)> {
        i.screen(&s).first().map(|h| (h.entry_id.clone(), h.score))
    }

    #[test]
    fn perturbed_names_hit() {
        let i = index();
        for s in [
            subject("Vladimir", "Putin", Some((1952, 10, 7))),
            subject("Wladimir", "Poutine", None),
            subject("Vladimr", "Puttin", None),
            subject("Putin", "Vladimir", None),
            subject("Владимир", "Путин", None),
        ] {
            let hit = top(&i, s.clone());
            assert!(matches!(&hit, Some((id, score)) if id == "1" && *score >= 0.92), "{s:?}: {hit:?}");
        }
        assert!(matches!(top(&i, subject("Aiman", "Al Zawahiri", None)), Some((id, s)) if id == "2" && s >= 0.92));
        assert!(matches!(top(&i, subject("Jurgen", "Mueller", None)), Some((id, s)) if id == "3" && s >= 0.9));
    }

    #[test]
    fn another_birth_date_does_not_hit() {
        assert_eq!(top(&index(), subject("Vladimir", "Putin", Some((1985, 3, 1)))), None);
    }

    #[test]
    fn entity_noise_does_not_hit() {
        let i = index();
        for s in [subject("Emma", "Watson", None), subject("Corp", "Smith", None), subject("Emma", "Stone", None)] {
            let hit = top(&i, s.clone());
            assert!(hit.as_ref().is_none_or(|(_, score)| *score < 0.9), "{s:?}: {hit:?}");
        }
    }

    #[test]
    fn index_finds_what_brute_force_finds() {
        let i = index();
        let s = subject("Wladimir", "Poutine", None);
        assert_eq!(i.screen(&s).first().map(|h| &h.entry_id), i.screen_exhaustive(&s).first().map(|h| &h.entry_id));
    }

    #[test]
    fn features_move_the_score_and_explain_it() {
        let mut putin = person("1", "PUTIN, Vladimir Vladimirovich", &["POUTINE, Wladimir"], Some((1952, 10, 7)));
        putin.details = csv::EntryDetails {
            countries: vec!["RU".into()],
            gender: Some("male".into()),
            identifiers: vec!["100000001".into()],
            listed_on: NaiveDate::from_ymd_opt(2022, 2, 26),
            source_url: Some("https://example.org/1".into()),
            category: Category::Sanction,
        };
        let i = ScreeningIndex::build("v", vec![putin]);
        // A typo keeps the name score below 1, so the other features show.
        let base = subject("Wladimyr", "Poutinn", None);
        let plain = i.screen(&base)[0].clone();
        assert!(plain.score < 0.99, "{}", plain.score);
        assert_eq!(plain.explanation.matched_name, "POUTINE, Wladimir");
        assert!(plain.explanation.features.birth_date.is_none() && plain.explanation.features.country.is_none());
        let full = ScreeningSubject {
            birth_date: NaiveDate::from_ymd_opt(1952, 10, 7),
            country: Some("Russian Federation".into()),
            gender: Some("male".into()),
            document_number: Some("1000-00001".into()),
            ..base.clone()
        };
        let h = i.screen(&full)[0].clone();
        let f = &h.explanation.features;
        assert_eq!((f.birth_date.as_ref().unwrap().score, f.country.as_ref().unwrap().score), (1.0, 1.0));
        assert_eq!(f.identifier.as_ref().unwrap().score, 1.0);
        assert!(h.score > plain.score, "{} vs {}", h.score, plain.score);
        assert_eq!(h.explanation.entry.programs, Vec::<String>::new());
        assert_eq!(h.explanation.entry.listed_on, NaiveDate::from_ymd_opt(2022, 2, 26));
        assert_eq!(h.explanation.entry.source_url.as_deref(), Some("https://example.org/1"));
        assert_eq!(h.explanation.entry.names, ["PUTIN, Vladimir Vladimirovich", "POUTINE, Wladimir"]);
        let woman = ScreeningSubject { gender: Some("female".into()), country: Some("FR".into()), ..base.clone() };
        let w = i.screen(&woman);
        assert!(w.is_empty() || w[0].score < plain.score - 0.1, "{w:?}");
    }

    #[test]
    fn list_choice_and_peps() {
        let mut pep = person("Q1", "Olaf Scholz", &[], None);
        pep.source = csv::ListSource::OpenSanctions;
        pep.details.category = Category::Pep;
        let mut un = person("U1", "HADDAD, Omar", &[], None);
        un.source = csv::ListSource::Un;
        let i = ScreeningIndex::build("v", vec![pep, un, person("1", "PUTIN, Vladimir", &[], None)]);
        assert!(i.has_peps());
        assert_eq!(i.list_keys(), ["peps", "un", "ofac"]);
        let only = |lists: &[&str], s: ScreeningSubject| {
            i.screen(&ScreeningSubject { lists: Some(lists.iter().map(|l| l.to_string()).collect()), ..s })
        };
        assert!(i.screen(&subject("Olaf", "Scholz", None))[0].is_pep());
        assert!(only(&["ofac", "un"], subject("Olaf", "Scholz", None)).is_empty());
        assert_eq!(only(&["peps"], subject("Olaf", "Scholz", None)).len(), 1);
        assert!(only(&["ofac"], subject("Omar", "Haddad", None)).is_empty());
        assert_eq!(only(&["un"], subject("Omar", "Haddad", None))[0].list, "UN Security Council");
    }

    #[test]
    fn subject_keys_ignore_order_case_and_accents() {
        let a = subject_key(&subject("José", "MÜLLER", Some((1980, 1, 2))));
        assert_eq!(a, "jose muller|1980-01-02");
        assert_eq!(a, subject_key(&subject("muller", "jose", Some((1980, 1, 2)))));
        assert_ne!(a, subject_key(&subject("jose", "muller", None)));
    }

    #[test]
    fn year_only_birth_dates_gate_on_the_year() {
        let mut e = person("1", "KARIMOV, Rustam", &[], None);
        e.birth_dates = vec![csv::BirthDate::Year { year: 1975, circa: false }];
        let i = ScreeningIndex::build("v", vec![e]);
        let h = i.screen(&subject("Rustam", "Karimov", Some((1975, 5, 1))));
        assert_eq!(h[0].explanation.features.birth_date.as_ref().unwrap().score, 0.6);
        assert!(i.screen(&subject("Rustam", "Karimov", Some((1977, 5, 1)))).is_empty());
    }

    #[test]
    fn legal_forms_are_dropped_from_an_organisation_query() {
        let i = index();
        let org = ScreeningSubject { last_name: Some("Emma Holdings LLC".into()), is_entity: true, ..Default::default() };
        assert!(i.screen(&org).iter().all(|h| h.score < 0.9));
        let corp = ScreeningSubject { last_name: Some("CORP".into()), is_entity: true, ..Default::default() };
        assert!(i.screen(&corp).is_empty());
    }

    #[tokio::test]
    async fn screener_answers_unavailable_without_a_list_and_swaps_versions() {
        let screener = ListScreener::default();
        assert!(matches!(screener.screen(subject("a", "b", None)).await, Err(EngineError::Unavailable(_))));
        screener.replace(index());
        let r = screener.screen(subject("Vladimir", "Putin", None)).await.unwrap();
        assert_eq!(r.lists_version.as_deref(), Some("v1"));
        assert_eq!(r.hits[0].list, "OFAC SDN");
    }
}
