//! Barcode cascade on the hard licence-back set: per-category exact-read
//! rates and CPU time per image.
//!
//! The set is generated in code (tests/it/document_fixtures/barcode_set.rs,
//! deterministic by seed): sharp reference photos, defocus, motion blur,
//! tiny modules, low light, glare, perspective and combinations. A read
//! counts only when the decoded text equals the encoded payload.
//!
//! ```text
//! CARGO_TARGET_DIR=target-release cargo bench --bench barcode_eval
//! ```
//!
//! Environment: `BARCODE_EVAL_PER_CATEGORY` (default 40), `BARCODE_EVAL_SEED`
//! (default 20261203), `BARCODE_EVAL_CATEGORIES` (comma-separated names,
//! default all), `BARCODE_EVAL_BUDGET_MS` (the cascade's cap in CPU time of
//! the decoding thread, default the production budget), `BARCODE_EVAL_THREADS` (default 1),
//! `BARCODE_EVAL_DUMP` (a directory: the photos are written there as PNG),
//! `BARCODE_EVAL_ONLY` (comma-separated photo seeds: run only those),
//! `BARCODE_EVAL_LIST_MISSES` (set: list every photo not read exactly),
//! `BARCODE_EVAL_TRACE` (set, with the listing: where our scan-line reader
//! stopped on each miss).

#[path = "../tests/it/document_fixtures/mod.rs"]
mod document_fixtures;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use document_fixtures::barcode_set::{Category, HardBack, hard_back_set};
use tessera::engine::barcode;

/// CPU time of the calling thread (Linux: /proc/thread-self/schedstat, ns on CPU).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Outcome {
    exact: bool,
    wrong: bool,
    timed_out: bool,
    stage: &'static str,
    cpu_ms: f64,
}

fn run(img: &HardBack, budget: Duration) -> Outcome {
    let photo = image::load_from_memory(&img.bytes).expect("photo decodes");
    let cpu = thread_cpu();
    let result = barcode::decode_pdf417(&photo, budget);
    let cpu_ms = (thread_cpu() - cpu).as_secs_f64() * 1e3;
    match result {
        Ok(read) => Outcome { exact: read.text == img.payload, wrong: read.text != img.payload, timed_out: false, stage: read.stage, cpu_ms },
        Err(miss) => Outcome { exact: false, wrong: false, timed_out: miss.timed_out, stage: "-", cpu_ms },
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[(((v.len() as f64) * p).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() {
    let per_category: usize = env("BARCODE_EVAL_PER_CATEGORY", 40);
    let seed: u64 = env("BARCODE_EVAL_SEED", 20_261_203);
    let budget = Duration::from_millis(env("BARCODE_EVAL_BUDGET_MS", barcode::DEFAULT_BUDGET.as_millis() as u64));
    let threads: usize = env("BARCODE_EVAL_THREADS", 1);
    let categories: Vec<Category> = match std::env::var("BARCODE_EVAL_CATEGORIES") {
        Ok(list) => list.split(',').filter_map(|n| Category::from_name(n.trim())).collect(),
        Err(_) => Category::ALL.to_vec(),
    };
    let t = Instant::now();
    let mut set = hard_back_set(&categories, per_category, seed);
    if let Ok(only) = std::env::var("BARCODE_EVAL_ONLY") {
        let seeds: Vec<u64> = only.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        set.retain(|img| seeds.contains(&img.seed));
    }
    println!("hard licence-back set: {} photos ({per_category} per category, seed {seed}) rendered in {:.1} s", set.len(), t.elapsed().as_secs_f64());
    if let Ok(dir) = std::env::var("BARCODE_EVAL_DUMP") {
        std::fs::create_dir_all(&dir).expect("dump dir");
        for img in &set {
            let photo = image::load_from_memory(&img.bytes).expect("photo decodes");
            photo.save(format!("{dir}/{}_{}.png", img.category.name(), img.seed)).expect("dump");
        }
    }
    println!("cascade cap {} ms of CPU time, {threads} thread(s); CPU time is the decoding thread's", budget.as_millis());
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = set
            .chunks(set.len().div_ceil(threads.max(1)).max(1))
            .map(|chunk| scope.spawn(move || chunk.iter().map(|img| run(img, budget)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    println!("\n{:<12} {:>6} {:>7} {:>6} {:>9} {:>11} {:>9} {:>9}", "category", "exact", "rate", "wrong", "timeouts", "cpu median", "cpu p90", "cpu max");
    let (mut total, mut total_exact, mut total_wrong) = (0, 0, 0);
    let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
    for category in &categories {
        let rows: Vec<(&HardBack, &Outcome)> = set.iter().zip(&outcomes).filter(|(img, _)| img.category == *category).collect();
        let n = rows.len();
        let exact = rows.iter().filter(|(_, o)| o.exact).count();
        let wrong = rows.iter().filter(|(_, o)| o.wrong).count();
        let timeouts = rows.iter().filter(|(_, o)| o.timed_out).count();
        let mut cpu: Vec<f64> = rows.iter().map(|(_, o)| o.cpu_ms).collect();
        let (median, p90, max) = (percentile(&mut cpu, 0.5), percentile(&mut cpu, 0.9), percentile(&mut cpu, 1.0));
        println!(
            "{:<12} {:>3}/{:<3} {:>6.1}% {:>6} {:>9} {:>8.0} ms {:>6.0} ms {:>6.0} ms",
            category.name(),
            exact,
            n,
            100.0 * exact as f64 / n.max(1) as f64,
            wrong,
            timeouts,
            median,
            p90,
            max
        );
        for (_, o) in &rows {
            *stages.entry(o.stage).or_default() += 1;
        }
        total += n;
        total_exact += exact;
        total_wrong += wrong;
    }
    let hard: Vec<&Outcome> = set.iter().zip(&outcomes).filter(|(img, _)| img.category != Category::Sharp).map(|(_, o)| o).collect();
    let hard_exact = hard.iter().filter(|o| o.exact).count();
    println!(
        "{:<12} {:>3}/{:<3} {:>6.1}% {:>6}   (all categories)\n{:<12} {:>3}/{:<3} {:>6.1}%          (without sharp)",
        "overall",
        total_exact,
        total,
        100.0 * total_exact as f64 / total.max(1) as f64,
        total_wrong,
        "hard",
        hard_exact,
        hard.len(),
        100.0 * hard_exact as f64 / hard.len().max(1) as f64
    );
    println!("read at stage: {}", stages.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    if std::env::var("BARCODE_EVAL_LIST_MISSES").is_ok() {
        for (img, o) in set.iter().zip(&outcomes) {
            if !o.exact {
                println!("miss {:<11} {} ({:.0} ms cpu{})", img.category.name(), img.describe, o.cpu_ms, if o.wrong { ", WRONG TEXT" } else { "" });
                if std::env::var("BARCODE_EVAL_TRACE").is_ok() {
                    let photo = image::load_from_memory(&img.bytes).expect("photo decodes");
                    println!("     {}", barcode::diagnose_with_truth(&photo, &img.codewords));
                }
            }
        }
    }
}
