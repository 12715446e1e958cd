//! Sanctions screening benchmark: `cargo bench --bench sanctions`.
//!
//! Builds a synthetic 20k-entity list (primary names plus aliases), then
//! - latency: p50/p95 of one indexed screening (and brute force for scale);
//! - quality: >= 1,000 generated pairs at the default tolerance (0.92):
//!   perturbed listed names (typos, swapped order, transliteration
//!   variants, aliases) must hit; unrelated names, same names with another
//!   birth date must not. Prints precision and recall.

use std::time::Instant;

use chrono::NaiveDate;
use tessera::engine::ScreeningSubject;
use tessera::engine::sanctions::ScreeningIndex;
use tessera::engine::sanctions::csv::{BirthDate, EntryKind, ListSource, SanctionsEntry};

const TOLERANCE: f64 = 0.92;
const GIVEN: [&str; 40] = [
    "vladimir", "mohammed", "ahmad", "ali", "hassan", "ivan", "sergei", "dmitri", "olga", "fatima", "yusuf", "omar",
    "khalid", "abdul", "rustam", "timur", "elena", "natalia", "igor", "boris", "alexei", "mikhail", "nikolai", "pavel",
    "andrei", "jamal", "karim", "said", "tariq", "walid", "hamza", "bilal", "ibrahim", "ismail", "musa", "zaid",
    "viktor", "yuri", "leonid", "oleg",
];
const SYLLABLES: [&str; 24] = [
    "ka", "ro", "vi", "mov", "en", "ko", "shi", "za", "de", "li", "ran", "tov", "bek", "ov", "al", "mir", "sa", "no",
    "ri", "ya", "gul", "han", "ze", "da",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Three or four syllables: 24^3 + 24^4 surnames, so the 20k list is about
/// as dense in near-namesakes as a real one (two-syllable surnames made
/// most queries meet a similar listed name).
fn surname(rng: &mut Rng) -> String {
    let n = 3 + rng.next() % 2;
    (0..n).map(|_| rng.pick(&SYLLABLES)).collect()
}

fn typo(rng: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() > 4 {
        let i = 1 + (rng.next() as usize % (c.len() - 2));
        match rng.next() % 3 {
            0 => {
                c.remove(i);
            }
            1 => c.swap(i, i + 1),
            _ => c[i] = 'e',
        }
    }
    c.into_iter().collect()
}

fn translit(s: &str) -> String {
    s.replacen('v', "w", 1).replace("ov", "off").replace("ya", "ja")
}

fn main() {
    let mut rng = Rng(0x5eed);
    let mut entries = Vec::new();
    for n in 0..20_000 {
        let (first, last) = (rng.pick(&GIVEN).to_string(), surname(&mut rng));
        let kind = if n % 5 == 0 { EntryKind::Entity } else { EntryKind::Individual };
        let name = if kind == EntryKind::Entity { format!("{} {} LLC", last.to_uppercase(), rng.pick(&SYLLABLES)) } else { format!("{}, {}", last.to_uppercase(), first) };
        let birth = NaiveDate::from_ymd_opt(1940 + (rng.next() % 50) as i32, 1 + (rng.next() % 12) as u32, 1 + (rng.next() % 28) as u32).unwrap();
        entries.push(SanctionsEntry {
            source: ListSource::Sdn,
            ent_num: n.to_string(),
            name,
            kind,
            programs: vec![],
            remarks: None,
            birth_dates: if n % 2 == 0 { vec![BirthDate::Exact { date: birth }] } else { vec![] },
            aliases: if n % 3 == 0 { vec![format!("{} {}", translit(&first), translit(&last))] } else { vec![] },
            addresses: vec![],
            details: Default::default(),
        });
    }
    let started = Instant::now();
    let index = ScreeningIndex::build("bench", entries.clone());
    println!("index: {} entries, {} names, built in {:?}", index.entry_count(), index.name_count(), started.elapsed());

    // Quality over generated pairs.
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let individuals: Vec<&SanctionsEntry> = entries.iter().filter(|e| e.kind == EntryKind::Individual).collect();
    let mut queries: Vec<(ScreeningSubject, Option<String>)> = Vec::new();
    for i in 0..800 {
        let e = individuals[(rng.next() % individuals.len() as u64) as usize];
        let (last, first) = e.name.split_once(", ").unwrap();
        let last = last.to_lowercase();
        let (f, l) = match i % 4 {
            0 => (typo(&mut rng, first), last.clone()),
            1 => (first.to_string(), typo(&mut rng, &last)),
            2 => (last.clone(), first.to_string()),
            _ => (translit(first), translit(&last)),
        };
        let birth = match &e.birth_dates[..] {
            [BirthDate::Exact { date }] => Some(*date),
            _ => None,
        };
        queries.push((ScreeningSubject { first_name: Some(f), last_name: Some(l), birth_date: birth, ..Default::default() }, Some(e.ent_num.clone())));
        if let Some(d) = birth {
            // Same name, a birth date decades away: must not hit.
            let other = d.with_year(d.year_ce().1 as i32 - 30).unwrap_or(d);
            queries.push((ScreeningSubject { first_name: Some(first.into()), last_name: Some(last.clone()), birth_date: Some(other), ..Default::default() }, None));
        }
    }
    for _ in 0..400 {
        let s = ScreeningSubject { first_name: Some(rng.pick(&["emma", "john", "maria", "peter", "laura"]).into()), last_name: Some(format!("{}son", surname(&mut rng))), ..Default::default() };
        queries.push((s, None));
    }
    // Positives: the perturbed entry must be among the hits. "Same name,
    // other birth date" must not hit that entry (the birth-date gate); a hit
    // on another listed name is counted as a false positive too, and shown
    // apart. Unrelated names must not hit anything.
    let (mut namesake_hits, mut gate_failures) = (0, 0);
    let negatives_with_birth: Vec<bool> = queries.iter().map(|(s, e)| e.is_none() && s.birth_date.is_some()).collect();
    for ((s, expected), other_birth) in queries.iter().zip(negatives_with_birth) {
        let hits: Vec<_> = index.screen(s).into_iter().filter(|h| h.score >= TOLERANCE).collect();
        match expected {
            Some(id) if hits.iter().any(|h| &h.entry_id == id) => tp += 1,
            Some(_) => fn_ += 1,
            None if hits.is_empty() => tn += 1,
            None => {
                fp += 1;
                if other_birth {
                    let same_name = |h: &&tessera::engine::SanctionsHit| {
                        entries.iter().find(|e| e.ent_num == h.entry_id).is_some_and(|e| e.birth_dates.is_empty())
                    };
                    if hits.iter().all(|h| same_name(&h)) {
                        namesake_hits += 1;
                    } else {
                        gate_failures += 1;
                    }
                }
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!("pairs: {} (tp {tp}, fp {fp}, fn {fn_}, tn {tn}) at tolerance {TOLERANCE}: precision {precision:.3}, recall {recall:.3}", queries.len());
    println!("  of the false positives: {namesake_hits} same-name queries with another birth date that hit a similar listed name without a birth date, {gate_failures} other");

    // Latency.
    let mut times: Vec<f64> = Vec::new();
    for (s, _) in queries.iter().cycle().take(5_000) {
        let t = Instant::now();
        std::hint::black_box(index.screen(s));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!("indexed screening: p50 {:.3} ms, p95 {:.3} ms", pct(0.5), pct(0.95));
    let mut brute: Vec<f64> = Vec::new();
    for (s, _) in queries.iter().take(50) {
        let t = Instant::now();
        std::hint::black_box(index.screen_exhaustive(s));
        brute.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    brute.sort_by(f64::total_cmp);
    println!("brute force (reference): p50 {:.3} ms", brute[brute.len() / 2]);
}

use chrono::Datelike;
