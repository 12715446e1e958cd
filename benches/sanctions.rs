//! Sanctions screening benchmark: `cargo bench --bench sanctions`.
//!
//! For each list size (`BENCH_ENTRIES`, comma-separated entity counts;
//! default `20000,833334`: 24,000 and one million names, in one run)
//! builds a generated list (primary names plus aliases; see
//! `tessera::engine::sanctions::synthetic`), then
//! - quality at the default threshold (0.92), per category of query:
//!   typos, swapped order, Latin transliterations, Cyrillic script, Arabic
//!   romanisation variants, companies with another legal form must hit
//!   their entry; a birth date decades away, unrelated names, a common
//!   given name with another surname, another company sharing only its
//!   legal form must hit nothing but namesakes (entries listed under
//!   exactly the query's name, counted and shown apart). Prints precision
//!   and recall;
//! - whether the indexed search finds what brute force over every name
//!   finds (the hits at the threshold, on a sample of the queries);
//! - latency: p50/p95/p99 of one indexed screening, the names scored per
//!   screening, the CPU time per screening, and the process's memory (RSS)
//!   after the index is built — for a screening that reports from the
//!   threshold (the session check, re-screening) and for one that also
//!   lists the near misses from 0.75 (the screening search).
//!
//! `BENCH_PER_CATEGORY`, `BENCH_BRUTE` (queries compared with brute force)
//! and `BENCH_SCREENINGS` change the sizes (defaults: 300 / 300 / 10,000
//! up to 100k entities, 100 / 10 / 3,000 above). `BENCH_SHOW_ERRORS=1`
//! prints every query answered wrong with its hits and their token pairs.

use std::time::Instant;

use tessera::engine::ScreeningSubject;
use tessera::engine::sanctions::synthetic;
use tessera::engine::sanctions::{REPORT_FLOOR, ScreeningIndex};

const THRESHOLD: f64 = 0.92;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// User + system CPU seconds of this process so far (Linux `/proc`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// Current and peak resident memory in MiB (Linux `/proc`).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_ENTRIES")
        .unwrap_or_else(|_| "20000,833334".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    for n in sizes {
        println!("\n== {n} entities ==");
        run(n);
    }
}

fn run(n: usize) {
    let large = n > 100_000;
    let per_category = env("BENCH_PER_CATEGORY", if large { 100 } else { 300 });
    let (rss0, _) = rss_mib();
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let (entries, cases) = synthetic::cases(n, 0x5eed, per_category);
    println!("generated {} entries in {:.1} s wall, {:.1} CPU-s", entries.len(), wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let (cpu1, wall1) = (cpu_seconds(), Instant::now());
    let index = ScreeningIndex::build("bench", entries);
    let (rss, peak) = rss_mib();
    println!(
        "index: {} entries, {} names, {} distinct tokens, built in {:.2} s wall, {:.2} CPU-s; RSS {rss:.0} MiB, {:.0} MiB more than before generating (peak {peak:.0} MiB, generator included)",
        index.entry_count(),
        index.name_count(),
        index.token_count(),
        wall1.elapsed().as_secs_f64(),
        cpu_seconds() - cpu1,
        rss - rss0
    );

    let (figures, precision, recall) = synthetic::evaluate(&index, &cases, THRESHOLD);
    println!("{:34} {:>8} {:>8} {:>7} {:>10}", "category", "queries", "correct", "rate", "namesakes");
    for f in &figures {
        println!("{:34} {:>8} {:>8} {:>7.3} {:>10}", f.category, f.queries, f.correct, f.correct as f64 / f.queries.max(1) as f64, f.namesakes);
    }
    println!("at threshold {THRESHOLD}: precision {precision:.3}, recall {recall:.3} ({} queries)", cases.len());
    if std::env::var("BENCH_SHOW_ERRORS").is_ok_and(|v| v == "1") {
        show_errors(&index, &cases);
    }

    // The indexed search against brute force: the same entries at the threshold?
    let brute_n = env("BENCH_BRUTE", if large { 10 } else { 300 }).min(cases.len());
    let step = (cases.len() / brute_n.max(1)).max(1);
    let (mut same, mut brute) = (0usize, Vec::new());
    for c in cases.iter().step_by(step).take(brute_n) {
        let above = |hits: Vec<tessera::engine::SanctionsHit>| {
            let mut ids: Vec<String> = hits.into_iter().filter(|h| h.score >= THRESHOLD).map(|h| h.entry_id).collect();
            ids.sort();
            ids
        };
        let t = Instant::now();
        let exhaustive = above(index.screen_exhaustive(&c.subject));
        brute.push(t.elapsed().as_secs_f64() * 1000.0);
        same += usize::from(above(index.screen(&c.subject)) == exhaustive);
    }
    brute.sort_by(f64::total_cmp);
    println!(
        "indexed = brute force at the threshold: {same} / {} queries; brute force p50 {:.1} ms",
        brute.len(),
        brute.get(brute.len() / 2).copied().unwrap_or(0.0)
    );

    let screenings = env("BENCH_SCREENINGS", if large { 3_000 } else { 10_000 });
    for (what, from) in [("from the threshold", Some(THRESHOLD)), ("near misses from 0.75", None)] {
        let subjects: Vec<ScreeningSubject> = cases.iter().map(|c| ScreeningSubject { report_from: from, ..c.subject.clone() }).collect();
        latency(&index, &subjects, screenings, &format!("{what} ({:.2})", from.unwrap_or(REPORT_FLOOR)));
    }
    let (rss, peak) = rss_mib();
    println!("RSS at the end {rss:.0} MiB (peak {peak:.0} MiB); process CPU {:.1} s", cpu_seconds());
    drop(index);
}

/// Names scored and latency of `screenings` indexed screenings of `subjects` (cycled).
fn latency(index: &ScreeningIndex, subjects: &[ScreeningSubject], screenings: usize, what: &str) {
    let mut scored: Vec<usize> = subjects.iter().map(|s| index.candidate_count(s)).collect();
    scored.sort_unstable();
    println!(
        "{what}: names scored per screening p50 {}, p95 {}, max {}",
        scored[scored.len() / 2],
        scored[scored.len() * 95 / 100],
        scored[scored.len() - 1]
    );
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut times: Vec<f64> = Vec::with_capacity(screenings);
    for s in subjects.iter().cycle().take(screenings) {
        let t = Instant::now();
        std::hint::black_box(index.screen(s));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (cpu_total, wall_total) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{what}: indexed screening ({} runs): p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms; {:.2} CPU-s / {:.2} s wall in all ({:.3} CPU-ms each)",
        times.len(),
        pct(0.5),
        pct(0.95),
        pct(0.99),
        cpu_total,
        wall_total,
        cpu_total * 1000.0 / times.len() as f64
    );
}

/// Every query answered wrong at the threshold, with its hits and their token pairs.
fn show_errors(index: &ScreeningIndex, cases: &[synthetic::Case]) {
    for c in cases {
        let hits: Vec<_> = index.screen(&c.subject).into_iter().filter(|h| h.score >= THRESHOLD).collect();
        let right = match &c.expected {
            Some(id) => hits.iter().any(|h| &h.entry_id == id),
            None => hits.is_empty(),
        };
        if right {
            continue;
        }
        let s = &c.subject;
        println!(
            "  {} {:?} {:?} born {:?} expected {:?}",
            c.category,
            s.first_name.as_deref().unwrap_or(""),
            s.last_name.as_deref().unwrap_or(""),
            s.birth_date,
            c.expected
        );
        for h in &hits {
            let f = &h.explanation.features;
            let pairs: Vec<String> = f
                .name_tokens
                .iter()
                .map(|p| format!("{}~{} {:.3}", p.query.as_deref().unwrap_or("-"), p.listed.as_deref().unwrap_or("-"), p.score))
                .collect();
            println!(
                "    {} {:?} score {:.3} (name {:.3}; born {:?}) {}",
                h.entry_id,
                h.explanation.matched_name,
                h.score,
                f.name,
                h.explanation.entry.birth_dates,
                pairs.join(", ")
            );
        }
    }
}
