//! Sanctions screening benchmark: `cargo bench --bench sanctions`.
//!
//! Builds a generated 20k-entity list (primary names plus aliases; see
//! `tessera::engine::sanctions::synthetic`), then
//! - quality at the default threshold (0.92), per category of query:
//!   typos, swapped order, Latin transliterations, Cyrillic script, Arabic
//!   romanisation variants, companies with another legal form must hit
//!   their entry; a birth date decades away, unrelated names, a common
//!   given name with another surname, another company sharing only its
//!   legal form must hit nothing. Prints precision and recall;
//! - latency: p50/p95 of one indexed screening (and brute force for scale).
//!
//! `BENCH_ENTRIES` and `BENCH_PER_CATEGORY` change the sizes.

use std::time::Instant;

use tessera::engine::sanctions::ScreeningIndex;
use tessera::engine::sanctions::synthetic;

const THRESHOLD: f64 = 0.92;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let n = env("BENCH_ENTRIES", 20_000);
    let per_category = env("BENCH_PER_CATEGORY", 300);
    let (entries, cases) = synthetic::cases(n, 0x5eed, per_category);
    let started = Instant::now();
    let index = ScreeningIndex::build("bench", entries);
    println!("index: {} entries, {} names, built in {:?}", index.entry_count(), index.name_count(), started.elapsed());

    let (figures, precision, recall) = synthetic::evaluate(&index, &cases, THRESHOLD);
    println!("{:34} {:>8} {:>8} {:>7}", "category", "queries", "correct", "rate");
    for f in &figures {
        println!("{:34} {:>8} {:>8} {:>7.3}", f.category, f.queries, f.correct, f.correct as f64 / f.queries.max(1) as f64);
    }
    println!("at threshold {THRESHOLD}: precision {precision:.3}, recall {recall:.3} ({} queries)", cases.len());

    let mut times: Vec<f64> = Vec::new();
    for c in cases.iter().cycle().take(10_000) {
        let t = Instant::now();
        std::hint::black_box(index.screen(&c.subject));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!("indexed screening: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms", pct(0.5), pct(0.95), pct(0.99));
    let mut brute: Vec<f64> = Vec::new();
    for c in cases.iter().take(50) {
        let t = Instant::now();
        std::hint::black_box(index.screen_exhaustive(&c.subject));
        brute.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    brute.sort_by(f64::total_cmp);
    println!("brute force (reference): p50 {:.3} ms", brute[brute.len() / 2]);
}
