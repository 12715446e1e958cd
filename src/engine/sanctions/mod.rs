//! Sanctions and PEP screening: the list parsers ([`csv`] for OFAC,
//! [`formats`] for the UN, EU, UK and OpenSanctions files), name
//! normalisation ([`normalize`]), the token Jaro-Winkler matcher
//! ([`matcher`]), match explanations ([`explain`]) and an in-memory index
//! ([`ScreeningIndex`]) that a [`ListScreener`] serves and swaps when a new
//! list version is loaded.
//!
//! The index finds the listed tokens similar to each query token through
//! one-edit neighbourhoods of their text and phonetic keys, shared key
//! prefixes and consonant skeletons, so a candidate need share no first
//! letter with the query; only names holding such tokens are scored, each
//! distinct listed token compared with each query token once. A birth
//! date is a hard gate when both sides have one; country, gender and
//! document numbers move the score a little (see [`explain`]).

pub mod country;
pub mod csv;
pub mod explain;
pub mod formats;
pub mod matcher;
pub mod normalize;
pub mod synthetic;
pub mod xml;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use self::csv::{BirthDate, Category, EntryKind, SanctionsEntry};
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
    /// How many tokens the name has (at most 255 are kept).
    len: u8,
    /// Tokens that are not particles.
    substantial: u8,
    /// The years of birth its entry's birth dates can admit at all
    /// ([`BirthDate::admits`]), first and last, clamped to `i16`;
    /// `(i16::MIN, i16::MAX)` when it lists none. A subject born outside
    /// is gated out without reading the entry.
    born: (i16, i16),
    /// The tokens as ids into the vocabulary when there are at most
    /// [`INLINE_TOKENS`] (most names: reading a candidate's tokens then
    /// costs no second memory access), else `ids[0]` is where they start in
    /// [`ScreeningIndex::spilled`]. Read them with [`ScreeningIndex::token_ids`].
    ids: [u32; INLINE_TOKENS],
}

/// Tokens a name keeps in itself.
const INLINE_TOKENS: usize = 4;

/// An immutable, searchable list version.
///
/// Every distinct token of the listed names is normalised once, at build
/// time, into a vocabulary; names are token ids. A screening looks up the
/// vocabulary tokens similar to each query token (the one-deletion
/// neighbourhoods of the phonetic keys and of the consonant skeletons),
/// walks the names holding the rarer of them, keeps the names that agree on
/// enough query tokens and scores only those, each distinct listed token
/// compared with each query token once.
pub struct ScreeningIndex {
    version: String,
    entries: Vec<SanctionsEntry>,
    names: Vec<IndexedName>,
    /// The token ids of the names with more than [`INLINE_TOKENS`] tokens.
    spilled: Vec<u32>,
    vocab: Vec<Token>,
    /// Key and skeleton variants → vocabulary tokens.
    neighbours: Neighbourhood,
    /// Vocabulary token → names holding it (ascending, once each).
    postings: Vec<Vec<u32>>,
    /// A token held by more names than this is not walked to find
    /// candidates, only checked on the candidates others found.
    frequent: usize,
    /// The texts of the tokens that weigh as common names because so many
    /// listed names hold them (see [`ScreeningIndex::build`]); a query token
    /// with one of these texts weighs as common too.
    common_by_use: HashSet<Box<str>>,
    /// Listed document numbers ([`explain::id_key`]) → the names of the
    /// entries listing them (a matching document number is scored whatever
    /// the name blocking finds).
    identifiers: HashMap<String, Vec<u32>>,
}

/// A vocabulary token is similar to a query token from this similarity on.
pub const TOKEN_FLOOR: f64 = 0.75;

/// What a variant hash was made of (so a key and a skeleton never meet).
const KEY_VARIANT: u64 = 1;
const SKELETON_VARIANT: u64 = 2;
const PREFIX_VARIANT: u64 = 3;

/// FNV-1a of `s` without the byte at `skip` (none when out of range),
/// seeded by what `s` is, then mixed.
fn variant_hash(domain: u64, s: &[u8], skip: usize) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ domain.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for (i, &b) in s.iter().enumerate() {
        if i != skip {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xd6e8_feb8_6659_fd93);
    h ^ (h >> 32)
}

/// A token's variants, so two tokens meet when they share one: its text
/// and its phonetic key each with at most one letter deleted (one edit
/// apart: a typo, `kavimov` / `kavimof`), the first four letters of a key
/// of five or more (Jaro-Winkler rates a long shared prefix high:
/// `hannoro` / `hannomov`), and its consonant skeleton of three or more
/// (romanisations written with other vowels, `muhammad` / `mohamed`).
fn variants(t: &Token, out: &mut Vec<u64>) {
    out.clear();
    let key = t.key.as_bytes();
    out.push(variant_hash(KEY_VARIANT, key, usize::MAX));
    if key.len() >= 2 {
        out.extend((0..key.len()).map(|p| variant_hash(KEY_VARIANT, key, p)));
    }
    // The text too: one typo can change a key in two places (zekanmov,
    // key sekanmov; zeeanmov, key sianmov).
    let text = t.text.as_bytes();
    // (In the keys' domain: a text equal to its key adds nothing.)
    if text != key {
        out.push(variant_hash(KEY_VARIANT, text, usize::MAX));
        if text.len() >= 2 {
            out.extend((0..text.len()).map(|p| variant_hash(KEY_VARIANT, text, p)));
        }
    }
    if key.len() >= 5 {
        out.push(variant_hash(PREFIX_VARIANT, &key[..4], usize::MAX));
    }
    let skeleton = t.skeleton.as_bytes();
    if !skeleton.is_empty() {
        out.push(variant_hash(SKELETON_VARIANT, skeleton, usize::MAX));
    }
    out.sort_unstable();
    out.dedup();
}

/// Variant hash → vocabulary tokens, as one table: a bucket per leading
/// bits of the hash, each holding (token, low 32 bits of its hash).
struct Neighbourhood {
    bits: u32,
    offsets: Vec<u32>,
    items: Vec<(u32, u32)>,
}

impl Neighbourhood {
    fn build(vocab: &[Token]) -> Self {
        let mut hashes = Vec::new();
        let total: usize = vocab
            .iter()
            .map(|t| {
                variants(t, &mut hashes);
                hashes.len()
            })
            .sum();
        // About four variants a bucket: the offsets stay small, a lookup
        // filters a few on their low 32 bits.
        let bits = (total / 4).max(2).next_power_of_two().trailing_zeros();
        let bucket = |h: u64| (h >> (64 - bits)) as usize;
        let mut offsets = vec![0u32; (1 << bits) + 1];
        for t in vocab {
            variants(t, &mut hashes);
            for &h in &hashes {
                offsets[bucket(h) + 1] += 1;
            }
        }
        for b in 1..offsets.len() {
            offsets[b] += offsets[b - 1];
        }
        let mut fill: Vec<u32> = offsets[..offsets.len() - 1].to_vec();
        let mut items = vec![(0u32, 0u32); total];
        for (v, t) in vocab.iter().enumerate() {
            variants(t, &mut hashes);
            for &h in &hashes {
                let b = bucket(h);
                items[fill[b] as usize] = (v as u32, h as u32);
                fill[b] += 1;
            }
        }
        Neighbourhood { bits, offsets, items }
    }

    /// The tokens stored under variant `h` (and, rarely, under another
    /// variant with the same 32 low and `bits` high bits).
    fn get(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        let b = (h >> (64 - self.bits)) as usize;
        self.items[self.offsets[b] as usize..self.offsets[b + 1] as usize].iter().filter(move |(_, c)| *c == h as u32).map(|(v, _)| *v)
    }
}

/// Similarities of the query's tokens with vocabulary tokens, computed
/// once per screening: `slot[v]` is 1 + the row of token `v` (0: none
/// yet), a row holds one similarity per query token (NaN: not computed).
#[derive(Default)]
struct SimCache {
    slot: Vec<u32>,
    rows: Vec<f64>,
    filled: Vec<u32>,
    width: usize,
}

impl SimCache {
    fn begin(&mut self, vocab: usize, width: usize) {
        self.end();
        if self.slot.len() < vocab {
            self.slot.resize(vocab, 0);
        }
        self.width = width.max(1);
    }

    fn end(&mut self) {
        for v in self.filled.drain(..) {
            self.slot[v as usize] = 0;
        }
        self.rows.clear();
    }

    /// [`matcher::token_similarity`] of query token `i` (`q`) and vocabulary token `v` (`t`).
    fn get(&mut self, v: u32, i: usize, q: &Token, t: &Token) -> f64 {
        let row = match self.slot[v as usize] {
            0 => {
                self.filled.push(v);
                self.slot[v as usize] = self.filled.len() as u32;
                self.rows.resize(self.filled.len() * self.width, f64::NAN);
                self.filled.len() - 1
            }
            r => r as usize - 1,
        };
        let cell = &mut self.rows[row * self.width + i];
        if cell.is_nan() {
            *cell = matcher::token_similarity(q, t);
        }
        *cell
    }
}

/// Per-thread scratch space of a screening (no allocation per candidate).
#[derive(Default)]
struct Scratch {
    seen: Vec<bool>,
    /// Per vocabulary token: the query tokens it is similar to (bits).
    agree: Vec<u16>,
    /// Per vocabulary token: similar enough to a query token for a name
    /// holding it to reach the screening's floor.
    strong: Vec<bool>,
    similar: Vec<u32>,
    found: Vec<u32>,
    touched: Vec<u32>,
    variants: Vec<u64>,
    sims: SimCache,
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
        let mut identifiers: HashMap<String, Vec<u32>> = HashMap::new();
        let mut vocab: Vec<Token> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        let mut spilled: Vec<u32> = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            if matches!(entry.kind, EntryKind::Vessel | EntryKind::Aircraft) {
                continue;
            }
            let clamp = |y: i32| y.clamp(i16::MIN as i32 + 1, i16::MAX as i32 - 1) as i16;
            let born = entry
                .birth_dates
                .iter()
                .map(BirthDate::admitted_years)
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                .map_or((i16::MIN, i16::MAX), |(from, to)| (clamp(from), clamp(to)));
            let first_name = names.len() as u32;
            for (position, name) in std::iter::once(&entry.name).chain(&entry.aliases).enumerate() {
                let tokens = name_tokens(name, entry.kind);
                if tokens.is_empty() {
                    continue;
                }
                let id = names.len() as u32;
                let substantial = tokens.iter().filter(|t| !t.particle).count().min(u8::MAX as usize) as u8;
                let mut token_ids: Vec<u32> = tokens
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
                token_ids.truncate(u8::MAX as usize);
                let mut ids = [0u32; INLINE_TOKENS];
                if token_ids.len() <= INLINE_TOKENS {
                    ids[..token_ids.len()].copy_from_slice(&token_ids);
                } else {
                    ids[0] = spilled.len() as u32;
                    spilled.extend_from_slice(&token_ids);
                }
                let position = position.min(u16::MAX as usize) as u16;
                names.push(IndexedName { entry: e as u32, position, len: token_ids.len() as u8, substantial, born, ids });
            }
            for id in &entry.details.identifiers {
                let key = explain::id_key(id);
                if key.len() >= 4 {
                    let held = identifiers.entry(key).or_default();
                    for n in first_name..names.len() as u32 {
                        if !held.contains(&n) {
                            held.push(n);
                        }
                    }
                }
            }
        }
        let neighbours = Neighbourhood::build(&vocab);
        let frequent = (names.len() / 512).max(256);
        // A token that this many listed names hold says as little about who
        // a name is as a common given name does: it weighs half, and a name
        // score is capped above its best agreement on a rarer token, so a
        // frequent given name cannot carry a weak surname over a threshold.
        let mut common_by_use = HashSet::new();
        for (v, held) in postings.iter().enumerate() {
            let t = &mut vocab[v];
            if held.len() > frequent && !t.particle {
                if !t.common {
                    common_by_use.insert(t.text.clone().into_boxed_str());
                }
                t.common = true;
            }
        }
        ScreeningIndex {
            version: version.into(),
            entries,
            names,
            spilled,
            vocab,
            neighbours,
            postings,
            frequent,
            common_by_use,
            identifiers,
        }
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

    /// The subject's name tokens as this list weighs them: a token that
    /// many listed names hold is common ([`ScreeningIndex::build`]).
    fn query_tokens(&self, subject: &ScreeningSubject) -> Vec<Token> {
        let mut query = Self::query(subject);
        if !self.common_by_use.is_empty() {
            for t in query.iter_mut().filter(|t| !t.particle && !t.common) {
                t.common = self.common_by_use.contains(t.text.as_str());
            }
        }
        query
    }

    /// Hits for a person, best first, from [`REPORT_FLOOR`] on, or from
    /// the subject's `report_from` when it is higher.
    pub fn screen(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let query = self.query_tokens(subject);
        if query.is_empty() {
            return vec![];
        }
        let floor = report_floor(subject);
        self.with_scratch(query.len(), |scratch| {
            let candidates = self.candidates(&query, subject, scratch);
            self.rank(subject, &query, candidates.into_iter(), floor, &mut scratch.sims)
        })
    }

    /// How many names a screening of this subject scores (the benchmark's
    /// measure of the blocking).
    pub fn candidate_count(&self, subject: &ScreeningSubject) -> usize {
        let query = self.query_tokens(subject);
        if query.is_empty() {
            return 0;
        }
        self.with_scratch(query.len(), |scratch| self.candidates(&query, subject, scratch).len())
    }

    /// Runs `f` with this thread's scratch space, its similarity cache
    /// cleared for a query of `width` tokens.
    fn with_scratch<R>(&self, width: usize, f: impl FnOnce(&mut Scratch) -> R) -> R {
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            scratch.sims.begin(self.vocab.len(), width.min(64));
            if scratch.seen.len() < self.vocab.len() {
                scratch.seen.resize(self.vocab.len(), false);
                scratch.agree.resize(self.vocab.len(), 0);
                scratch.strong.resize(self.vocab.len(), false);
            }
            let r = f(scratch);
            scratch.sims.end();
            r
        })
    }

    /// Vocabulary tokens similar to query token `i` (`q`; at least
    /// [`TOKEN_FLOOR`]) among those sharing a key or skeleton variant.
    fn similar_tokens(&self, i: usize, q: &Token, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let Scratch { seen, touched, variants: hashes, sims, .. } = scratch;
        variants(q, hashes);
        for &h in hashes.iter() {
            for v in self.neighbours.get(h) {
                if !seen[v as usize] {
                    seen[v as usize] = true;
                    touched.push(v);
                }
            }
        }
        for &v in touched.iter() {
            seen[v as usize] = false;
            if sims.get(v, i, q, &self.vocab[v as usize]) >= TOKEN_FLOOR {
                out.push(v);
            }
        }
        touched.clear();
    }

    /// The names worth scoring: they hold a token similar to a query token
    /// and agree on as many query tokens as both names allow (two, or one
    /// when either name has a single token that is not a particle). When
    /// the subject reports from above [`REPORT_FLOOR`] (a caller's
    /// threshold), they also hold a token alike enough to a query token to
    /// reach it ([`strong_from`]: a name scores no more than its best token
    /// pair), and the names reached only through tokens less alike are
    /// walked only when a frequent token (a given name) is alike enough.
    fn candidates(&self, query: &[Token], subject: &ScreeningSubject, scratch: &mut Scratch) -> Vec<u32> {
        let strong_from = strong_from(subject);
        // The vocabulary tokens similar to a query token, and for each
        // (`agree`) the query tokens it is similar to.
        let mut similar: Vec<u32> = std::mem::take(&mut scratch.similar);
        let mut found = std::mem::take(&mut scratch.found);
        similar.clear();
        for (i, q) in query.iter().enumerate().filter(|(i, q)| !q.particle && *i < 64).take(16) {
            found.clear();
            self.similar_tokens(i, q, scratch, &mut found);
            for &v in &found {
                let a = &mut scratch.agree[v as usize];
                if *a == 0 {
                    similar.push(v);
                }
                *a |= 1u16 << (i % 16);
                if !scratch.strong[v as usize] && scratch.sims.get(v, i, q, &self.vocab[v as usize]) >= strong_from {
                    scratch.strong[v as usize] = true;
                }
            }
        }
        let (agree, strong) = (&scratch.agree, &scratch.strong);
        let substantial = query.iter().filter(|t| !t.particle).count();
        let rare = |v: u32| self.postings[v as usize].len() <= self.frequent;
        let mut names: Vec<u32> = Vec::new();
        if similar.iter().any(|&v| strong[v as usize]) {
            // A name reaching the floor through a frequent token (a given
            // name) is found through its rarer tokens, however alike.
            let weak_too = similar.iter().any(|&v| strong[v as usize] && !rare(v));
            for &v in &similar {
                if rare(v) && (weak_too || strong[v as usize]) {
                    names.extend_from_slice(&self.postings[v as usize]);
                }
            }
            // Only frequent tokens agree (a query of common names): walk the
            // rarest, unless fewer query tokens agree than a name of several
            // tokens needs (a single-token name then scores below the report
            // floor: one pair of two or more query tokens weighs 0.75).
            let agreeing = similar.iter().fold(0u16, |m, v| m | agree[*v as usize]).count_ones() as usize;
            if !similar.iter().any(|&v| rare(v)) && agreeing >= 2.min(substantial) {
                if let Some(&v) = similar.iter().min_by_key(|v| (self.postings[**v as usize].len(), **v)) {
                    names.extend_from_slice(&self.postings[v as usize]);
                }
            }
        }
        names.sort_unstable();
        names.dedup();
        names.retain(|&n| {
            let name = &self.names[n as usize];
            let mut agreed = 0u16;
            let (mut walked, mut reaches) = (false, false);
            for &t in self.token_ids(name) {
                let a = agree[t as usize];
                if a != 0 {
                    agreed |= a;
                    walked |= rare(t);
                    reaches |= strong[t as usize];
                }
            }
            // One agreeing query token is enough for a name found through a
            // rare token (a typo can hide the other one from the
            // neighbourhoods); names reached only through a frequent token
            // need two.
            let need = if walked { 1 } else { 2.min(substantial).min(name.substantial as usize) as u32 };
            reaches && agreed.count_ones() >= need.max(1)
        });
        for &v in &similar {
            scratch.agree[v as usize] = 0;
            scratch.strong[v as usize] = false;
        }
        scratch.similar = similar;
        scratch.found = found;
        // A listed document number is scored whatever the name blocking found.
        if let Some(held) = subject.document_number.as_deref().map(explain::id_key).and_then(|k| self.identifiers.get(&k)) {
            for &n in held {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names
    }

    /// Brute force over every name (the benchmark's reference for recall).
    pub fn screen_exhaustive(&self, subject: &ScreeningSubject) -> Vec<SanctionsHit> {
        let query = self.query_tokens(subject);
        if query.is_empty() {
            return vec![];
        }
        let floor = report_floor(subject);
        self.with_scratch(query.len(), |scratch| self.rank(subject, &query, 0..self.names.len() as u32, floor, &mut scratch.sims))
    }

    /// Scores the candidate names; the best name per entry, features applied.
    fn rank(
        &self,
        subject: &ScreeningSubject,
        query: &[Token],
        candidates: impl Iterator<Item = u32>,
        floor: f64,
        sims: &mut SimCache,
    ) -> Vec<SanctionsHit> {
        // Other features move a name score by at most this much.
        let bonus = max_bonus(subject);
        // (entry, name score, name)
        let mut scored: Vec<(u32, f64, u32)> = Vec::new();
        let born = subject.birth_date.map(|d| chrono::Datelike::year(&d));
        for n in candidates {
            let name = &self.names[n as usize];
            // The birth-date gate on the name's years first (most entries a
            // date excludes are decades away), then on the entry's dates.
            if let Some(y) = born
                && (y < name.born.0 as i32 || y > name.born.1 as i32)
            {
                continue;
            }
            let entry = &self.entries[name.entry as usize];
            let dated = name.born != (i16::MIN, i16::MAX);
            if !selected(entry, subject.lists.as_deref()) || (dated && !birth_date_admits(entry, subject.birth_date)) {
                continue;
            }
            let tokens = self.token_ids(name);
            let s = matcher::name_score_with(query, &self.tokens_of(name), false, |i, j| {
                let v = tokens[j];
                sims.get(v, i, &query[i], &self.vocab[v as usize])
            })
            .0;
            if s + bonus >= floor {
                scored.push((name.entry, s, n));
            }
        }
        // The best name of each entry (the first of equals, as before).
        scored.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        scored.dedup_by_key(|(e, _, _)| *e);
        // Scored with their features best name score first, only while a
        // name could still make the hits: its score plus every bonus the
        // subject's other features could bring reaches the report floor and
        // the last of MAX_HITS hits so far. Only the hits kept are explained.
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // (score, entry, name)
        let mut kept: Vec<(f64, u32, u32)> = Vec::new();
        let mut last = f64::INFINITY;
        for (e, s, n) in scored {
            if s + bonus < floor {
                break;
            }
            if kept.len() >= MAX_HITS && s + bonus < last {
                break;
            }
            let score = (s + self.features(subject, &self.entries[e as usize]).1).clamp(0.0, 1.0);
            if score >= floor {
                kept.push((score, e, n));
                last = last.min(score);
            }
        }
        kept.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| self.entries[a.1 as usize].ent_num.cmp(&self.entries[b.1 as usize].ent_num)));
        kept.truncate(MAX_HITS);
        kept.into_iter().map(|(_, _, n)| self.explain(subject, query, n, sims)).collect()
    }

    /// The subject's features against an entry (birth date, country,
    /// gender, document number) and what they add to the name score.
    fn features(&self, subject: &ScreeningSubject, entry: &SanctionsEntry) -> ([Option<explain::FeatureScore>; 4], f64) {
        let features = [
            explain::birth_date(entry, subject.birth_date),
            explain::country(entry, subject.country.as_deref()),
            explain::gender(entry, subject.gender.as_deref()),
            explain::identifier(entry, subject.document_number.as_deref()),
        ];
        let effect: f64 = features.iter().flatten().map(|f| f.effect).sum();
        (features, effect)
    }

    /// The hit for one matched name: features scored and explained.
    fn explain(&self, subject: &ScreeningSubject, query: &[Token], n: u32, sims: &mut SimCache) -> SanctionsHit {
        let name = &self.names[n as usize];
        let entry = &self.entries[name.entry as usize];
        let tokens = self.token_ids(name);
        let (name_score, name_tokens) = matcher::name_score_with(query, &self.tokens_of(name), true, |i, j| {
            let v = tokens[j];
            sims.get(v, i, &query[i], &self.vocab[v as usize])
        });
        let ([birth_date, country, gender, identifier], effect) = self.features(subject, entry);
        let features = Features { name: name_score, name_tokens, birth_date, country, gender, identifier };
        let score = (name_score + effect).clamp(0.0, 1.0);
        let names: Vec<&String> = std::iter::once(&entry.name).chain(&entry.aliases).collect();
        let matched = names.get(name.position as usize).map(|s| s.to_string()).unwrap_or_else(|| entry.name.clone());
        SanctionsHit {
            list: entry.source.label().to_string(),
            entry_id: entry.ent_num.clone(),
            name: entry.name.clone(),
            score,
            explanation: Box::new(Explanation { matched_name: matched, features, entry: explain::listed_entry(entry) }),
        }
    }

    fn tokens_of<'a>(&'a self, name: &'a IndexedName) -> matcher::VocabName<'a> {
        matcher::VocabName { vocab: &self.vocab, ids: self.token_ids(name) }
    }

    /// A name's token ids (see [`IndexedName::ids`]).
    fn token_ids<'a>(&'a self, name: &'a IndexedName) -> &'a [u32] {
        let len = name.len as usize;
        if len <= INLINE_TOKENS {
            &name.ids[..len]
        } else {
            let start = name.ids[0] as usize;
            &self.spilled[start..start + len]
        }
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

/// Where a screening of `subject` starts reporting: [`REPORT_FLOOR`], or
/// the subject's `report_from` when it is higher.
fn report_floor(subject: &ScreeningSubject) -> f64 {
    subject.report_from.filter(|f| f.is_finite()).map_or(REPORT_FLOOR, |f| f.max(REPORT_FLOOR))
}

/// How alike a listed token must be to a query token for a name holding it
/// to reach the subject's report floor: a name scores no more than its
/// best token pair (a weighted mean of the pairs, each at most 1, lowered by
/// unpaired tokens, at most 0.02 above its best distinctive pair), so it
/// needs a pair at the floor less what the birth date and country could
/// add and that 0.02 (particles, which the blocking does not pair, can lift
/// the mean of a name without a distinctive pair by about as much). A
/// matching document number is looked up apart. At [`REPORT_FLOOR`]
/// itself nothing is left out: every similar token counts.
fn strong_from(subject: &ScreeningSubject) -> f64 {
    let floor = report_floor(subject);
    if floor <= REPORT_FLOOR {
        return f64::NEG_INFINITY;
    }
    let mut bonus = 0.0;
    if subject.birth_date.is_some() {
        bonus += explain::EXACT_BIRTH_DATE_BONUS.max(explain::MONTH_BIRTH_DATE_BONUS);
    }
    if subject.country.is_some() {
        bonus += explain::COUNTRY_MATCH_BONUS;
    }
    floor - bonus - matcher::DISTINCTIVE_MARGIN - 1e-9
}

/// The most the subject's birth date, country and document number can add
/// to a name score (gender only lowers it).
fn max_bonus(subject: &ScreeningSubject) -> f64 {
    let mut bonus = 0.0;
    if subject.birth_date.is_some() {
        bonus += explain::EXACT_BIRTH_DATE_BONUS.max(explain::MONTH_BIRTH_DATE_BONUS);
    }
    if subject.country.is_some() {
        bonus += explain::COUNTRY_MATCH_BONUS;
    }
    if subject.document_number.is_some() {
        bonus += explain::IDENTIFIER_MATCH_BONUS;
    }
    // Rounding of the sums.
    bonus + 1e-9
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
    use super::csv::ListSource;
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
    fn a_given_name_many_listed_names_hold_cannot_carry_a_weak_surname() {
        // 400 listed names share the given name "viktor" (more than the
        // 256 a list of this size calls frequent), each with its own surname.
        let syllables = ["ba", "de", "gi", "ko", "lu", "ma", "ne", "po", "ri", "su", "ta", "vo", "ze", "ha", "jo", "ku", "li", "mo", "nu", "pi"];
        let mut entries: Vec<SanctionsEntry> = (0..400)
            .map(|k| {
                let surname = format!("{}{}{}", syllables[k % 20], syllables[(k / 20) % 20], "mar");
                person(&format!("p{k}"), &format!("{}, Viktor", surname.to_uppercase()), &[], None)
            })
            .collect();
        entries.push(person("target", "NODEGO, Viktor", &[], None));
        let i = ScreeningIndex::build("v1", entries);
        // The same given name and a surname only 0.89 alike: another person.
        let weak = i.screen(&subject("Viktor", "Nodejoba", None));
        assert!(weak.iter().all(|h| h.score < 0.92), "{weak:?}");
        // A typo in the surname, or the name as listed, still hits.
        for s in [subject("Viktor", "Nodegp", None), subject("Viktor", "Nodgeo", None), subject("Viktor", "Nodego", None)] {
            let hit = top(&i, s.clone());
            assert!(matches!(&hit, Some((id, score)) if id == "target" && *score >= 0.92), "{s:?}: {hit:?}");
        }
        // Without that frequency the given name weighs its full length.
        let few = ScreeningIndex::build("v1", vec![person("target", "NODEGO, Viktor", &[], None)]);
        let strong = top(&few, subject("Viktor", "Nodejoba", None));
        assert!(matches!(&strong, Some((_, score)) if *score >= 0.92), "{strong:?}");
    }

    #[test]
    fn names_of_more_tokens_than_kept_inline_are_scored_whole() {
        let i = ScreeningIndex::build(
            "v1",
            vec![
                person("long", "AL-TIKRITI, Saddam Hussein Abd al-Majid Ibrahim", &[], None),
                person("short", "KORVEN, Ilse", &[], None),
                person("long2", "QUARTERMAINE VAN DER BILT, Anneliese Margarethe Sophie", &[], None),
            ],
        );
        let hit = i.screen(&subject("Saddam Hussein Abd al-Majid", "al-Tikriti", None));
        let first = hit.first().expect("a hit");
        assert_eq!(first.entry_id, "long");
        assert!(first.score > 0.92, "{first:?}");
        let listed: Vec<_> = first.explanation.features.name_tokens.iter().filter_map(|p| p.listed.clone()).collect();
        assert!(listed.contains(&"majid".to_string()) && listed.contains(&"tikriti".to_string()), "{listed:?}");
        assert_eq!(top(&i, subject("Ilse", "Korven", None)).map(|(id, _)| id), Some("short".into()));
        assert_eq!(top(&i, subject("Anneliese Margarethe Sophie", "Quartermaine van der Bilt", None)).map(|(id, _)| id), Some("long2".into()));
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

    #[test]
    fn neighbourhoods_find_typos_that_move_the_key_in_two_places() {
        // zekanmov (key sekanmov) and zeeanmov (key sianmov): one letter of
        // the text, two of the key.
        let i = ScreeningIndex::build("v", vec![person("1", "ZEKANMOV, Aleksandr", &[], None), person("2", "HANNORO, Hamza", &[], None)]);
        assert_eq!(top(&i, subject("Aleksandr", "Zeeanmov", None)).map(|h| h.0), Some("1".into()));
        // A shared beginning: Jaro-Winkler rates it high, the prefix meets it.
        let pairs = i.screen(&subject("Hamza", "Hannomov", None));
        assert_eq!(pairs.first().map(|h| h.entry_id.as_str()), Some("2"), "{pairs:?}");
    }

    #[test]
    fn many_equal_candidates_keep_the_ten_best_in_entry_order() {
        // Fifteen namesakes and near-namesakes: the hits are the ones brute
        // force ranks first, explained alike (only the first ten are explained).
        let mut entries: Vec<SanctionsEntry> = (0..15).map(|n| person(&format!("{:02}", n), "KARIMOV, Rustam", &[], None)).collect();
        entries.push(person("20", "KARIMOVA, Rustam", &[], None));
        entries.push(person("21", "KARIMOV, Rustam Aliyevich", &[], Some((1970, 1, 1))));
        let i = ScreeningIndex::build("v", entries);
        for s in [subject("Rustam", "Karimov", None), subject("Rustam", "Karimova", Some((1970, 1, 1)))] {
            let (indexed, brute) = (i.screen(&s), i.screen_exhaustive(&s));
            assert_eq!(indexed.len(), MAX_HITS);
            assert_eq!(indexed, brute);
        }
    }

    #[test]
    fn indexed_hits_are_scored_and_explained_as_brute_force_does() {
        let (entries, cases) = synthetic::cases(3000, 7, 20);
        let i = ScreeningIndex::build("v", entries);
        let (mut same, mut total, mut explained) = (0, 0, 0);
        for c in &cases {
            let (indexed, brute) = (i.screen(&c.subject), i.screen_exhaustive(&c.subject));
            // An indexed hit on the name brute force matched is its hit, to
            // the explanation (the scores cached per screening are exact).
            for h in &indexed {
                let b = brute.iter().find(|b| b.entry_id == h.entry_id && b.explanation.matched_name == h.explanation.matched_name);
                assert!(b.is_none_or(|b| b == h), "{:?}: {h:?} vs {b:?}", c.subject);
                explained += usize::from(b.is_some());
            }
            let above = |hits: &[SanctionsHit]| hits.iter().filter(|h| h.score >= 0.92).map(|h| h.entry_id.clone()).collect::<Vec<_>>();
            total += 1;
            same += usize::from(above(&indexed) == above(&brute));
        }
        eprintln!("same hits at 0.92 as brute force: {same} / {total}; {explained} hits compared");
        // Measured 187 / 187 here; on the denser 20k list of the benchmark
        // about 93 % (the misses there are near-namesakes of other entries).
        assert!(same * 100 >= total * 95, "{same} / {total}");
        assert!(explained > total / 2, "{explained}");
    }

    #[test]
    fn reporting_from_a_threshold_keeps_every_hit_that_reaches_it() {
        // The screening from the threshold leaves out names that cannot
        // reach it: its hits are the near-miss screening's hits at the
        // threshold, explained alike, for subjects with and without a birth
        // date and country.
        let (entries, cases) = synthetic::cases(3000, 11, 20);
        let i = ScreeningIndex::build("v", entries);
        let (mut hits, mut fewer) = (0, 0);
        for threshold in [0.8, 0.92] {
            for c in &cases {
                for country in [None, Some("RU".to_string())] {
                    let all = ScreeningSubject { country: country.clone(), ..c.subject.clone() };
                    let from = ScreeningSubject { report_from: Some(threshold), ..all.clone() };
                    let expected: Vec<SanctionsHit> = i.screen(&all).into_iter().filter(|h| h.score >= threshold).collect();
                    assert_eq!(i.screen(&from), expected, "{from:?}");
                    hits += expected.len();
                    fewer += usize::from(i.candidate_count(&from) < i.candidate_count(&all));
                }
            }
        }
        assert!(hits > cases.len(), "{hits}");
        assert!(fewer > cases.len(), "{fewer}");
    }

    #[test]
    fn a_listed_document_number_is_scored_whatever_the_blocking_finds() {
        let mut e = person("1", "KARIMOV, Rustam", &[], None);
        e.details.identifiers = vec!["AB 123456".into()];
        let i = ScreeningIndex::build("v", vec![e]);
        // Name 0.93 (each token pair 0.93): from 0.99 no token is alike
        // enough, but the listed number (+0.10) lifts it there.
        let plain = ScreeningSubject { report_from: Some(0.99), ..subject("Rustem", "Kerimov", None) };
        assert!(i.screen(&ScreeningSubject { report_from: None, ..plain.clone() })[0].score < 0.95);
        assert_eq!(i.candidate_count(&plain), 0);
        let numbered = ScreeningSubject { document_number: Some("ab-123456".into()), ..plain };
        let h = i.screen(&numbered);
        assert_eq!(h.first().and_then(|h| h.explanation.features.identifier.as_ref()).map(|f| f.score), Some(1.0), "{h:?}");
        assert!(h[0].score >= 0.99, "{h:?}");
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
