//! Sanctions screening against the OFAC lists: the CSV parser ([`csv`]),
//! name normalisation ([`normalize`]), the token Jaro-Winkler matcher
//! ([`matcher`]) and an in-memory index ([`ScreeningIndex`]) that a
//! [`ListScreener`] serves and swaps when a new list version is loaded.
//!
//! The index blocks on trigrams of the tokens' phonetic keys, so a
//! candidate need share no first letter with the query; only candidates
//! sharing a good part of the query's trigrams are scored. A birth date is a
//! hard gate when both sides have one.

pub mod csv;
pub mod matcher;
pub mod normalize;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use self::csv::{EntryKind, SanctionsEntry};
use self::normalize::{Token, name_tokens};
use super::{EngineError, EngineFuture, SanctionsHit, SanctionsScreener, ScreeningResult, ScreeningSubject};

/// Hits below this similarity are not reported at all (the caller applies
/// its own threshold, `ofac_fuzzy_match_tolerance`, above it).
pub const REPORT_FLOOR: f64 = 0.75;
/// At most this many hits per screening.
pub const MAX_HITS: usize = 10;

struct IndexedName {
    entry: u32,
    tokens: Vec<Token>,
    trigrams: u16,
}

/// An immutable, searchable list version.
pub struct ScreeningIndex {
    version: String,
    entries: Vec<SanctionsEntry>,
    names: Vec<IndexedName>,
    postings: HashMap<u32, Vec<u32>>,
}

fn trigrams(tokens: &[Token], out: &mut Vec<u32>) {
    for t in tokens {
        let key = t.key.as_bytes();
        let padded: Vec<u8> = std::iter::once(b'^').chain(key.iter().copied()).chain(std::iter::once(b'$')).collect();
        for w in padded.windows(3) {
            out.push(u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]));
        }
    }
    out.sort_unstable();
    out.dedup();
}

impl ScreeningIndex {
    pub fn build(version: impl Into<String>, entries: Vec<SanctionsEntry>) -> Self {
        let mut names = Vec::new();
        let mut postings: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut grams = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            if matches!(entry.kind, EntryKind::Vessel | EntryKind::Aircraft) {
                continue;
            }
            for name in std::iter::once(&entry.name).chain(&entry.aliases) {
                let tokens = name_tokens(name, entry.kind);
                if tokens.is_empty() {
                    continue;
                }
                grams.clear();
                trigrams(&tokens, &mut grams);
                let id = names.len() as u32;
                for g in &grams {
                    postings.entry(*g).or_default().push(id);
                }
                names.push(IndexedName { entry: e as u32, tokens, trigrams: grams.len().min(u16::MAX as usize) as u16 });
            }
        }
        ScreeningIndex { version: version.into(), entries, names, postings }
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

    /// Hits for a person, best first, above [`REPORT_FLOOR`].
    pub fn screen(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let full: Vec<&str> =
            [&subject.first_name, &subject.middle_name, &subject.last_name].into_iter().flatten().map(String::as_str).collect();
        let query = name_tokens(&full.join(" "), EntryKind::Individual);
        if query.is_empty() {
            return vec![];
        }
        let mut grams = Vec::new();
        trigrams(&query, &mut grams);
        let mut counts: HashMap<u32, u16> = HashMap::new();
        for g in &grams {
            if let Some(list) = self.postings.get(g) {
                for &n in list {
                    *counts.entry(n).or_default() += 1;
                }
            }
        }
        // A candidate shares at least 30 % of the query's trigrams, or of its own.
        let mut best: HashMap<u32, f64> = HashMap::new();
        for (n, shared) in counts {
            let name = &self.names[n as usize];
            let need = ((grams.len().min(name.trigrams as usize)) as f64 * 0.3).ceil().max(2.0) as u16;
            if shared < need {
                continue;
            }
            let entry = &self.entries[name.entry as usize];
            if !birth_date_admits(entry, subject.birth_date) {
                continue;
            }
            let s = matcher::name_score(&query, &name.tokens);
            if s >= REPORT_FLOOR {
                let b = best.entry(name.entry).or_insert(0.0);
                *b = b.max(s);
            }
        }
        let mut hits: Vec<SanctionsHit> = best
            .into_iter()
            .map(|(e, score)| {
                let entry = &self.entries[e as usize];
                SanctionsHit { list: entry.source.label().to_string(), entry_id: entry.ent_num.clone(), name: entry.name.clone(), score }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.entry_id.cmp(&b.entry_id)));
        hits.truncate(MAX_HITS);
        hits
    }

    /// Brute force over every name (the benchmark's reference for recall).
    pub fn screen_exhaustive(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let full: Vec<&str> =
            [&subject.first_name, &subject.middle_name, &subject.last_name].into_iter().flatten().map(String::as_str).collect();
        let query = name_tokens(&full.join(" "), EntryKind::Individual);
        let mut best: HashMap<u32, f64> = HashMap::new();
        for name in &self.names {
            let entry = &self.entries[name.entry as usize];
            if !birth_date_admits(entry, subject.birth_date) {
                continue;
            }
            let s = matcher::name_score(&query, &name.tokens);
            if s >= REPORT_FLOOR {
                let b = best.entry(name.entry).or_insert(0.0);
                *b = b.max(s);
            }
        }
        let mut hits: Vec<SanctionsHit> = best
            .into_iter()
            .map(|(e, score)| {
                let entry = &self.entries[e as usize];
                SanctionsHit { list: entry.source.label().to_string(), entry_id: entry.ent_num.clone(), name: entry.name.clone(), score }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(MAX_HITS);
        hits
    }
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
        self.current().map(|i| format!("ofac-screener 1 ({})", i.version())).unwrap_or_else(|| "ofac-screener 1 (no list)".into())
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
