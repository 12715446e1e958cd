//! Throughput of 1, 2 and 3 `tessera serve` processes on one PostgreSQL
//! database and one blob store, on this machine.
//!
//! For each instance count the bench makes a fresh database (migrated and
//! bootstrapped once, in-process), starts that many server processes of
//! the given binary (same master key, each with its own data directory,
//! 2 job workers and 2 webhook workers each, webhooks to a loopback
//! receiver), lets one warm-up applicant per instance through, then sends
//! `--applicants` applicants through the whole SDK flow (create, consent,
//! document type, front, back, liveness generate + process, finalize until
//! it answers), `--clients` at a time, each step on the next instance in
//! rotation (the client is the load balancer, as in the scale-out test,
//! whose process and balancer code it shares: tests/it/scale_out/cluster.rs).
//!
//! It prints per instance count: verifications per second and the ratio to
//! one instance, the CPU-seconds of the server processes (from
//! `/proc/PID/stat`) in all and per verification, the machine's busy
//! CPU-seconds (`/proc/stat`: servers, PostgreSQL, the bench itself),
//! applicant wall p50/p95, finalize `503` answers, and how long the webhook
//! backlog took to drain after the last verdict.
//!
//! Blobs go to one directory all processes share (`storage_backend =
//! local`), not to an S3 mock: on a small machine a Python S3 service
//! would take a large share of the CPU being measured. Without
//! `--models-dir` the engines have no models and record `unavailable`
//! (platform overhead only); with it the instances use those model
//! packages (e.g. `target/tessera-models`, fetched by the tests).
//!
//! ```text
//! CARGO_TARGET_DIR=target-release cargo build --profile bench --bin tessera --bench scale_out
//! target-release/release/deps/scale_out-<hash> --server target-release/release/tessera \
//!     --postgres postgres://postgres@127.0.0.1:5432/test [--applicants 60] [--clients 6] \
//!     [--instances 1,2,3] [--models-dir DIR]
//! ```
//!
//! `--postgres` defaults to `TESSERA_TEST_POSTGRES_URL`.

#[path = "../tests/it/scale_out/cluster.rs"]
mod cluster;

use cluster::{Flow, Images, Instance, PgDatabase, Shared};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

struct Args {
    server: PathBuf,
    postgres: String,
    applicants: usize,
    clients: usize,
    instances: Vec<usize>,
    models_dir: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        server: PathBuf::new(),
        postgres: std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_default(),
        applicants: 60,
        clients: 6,
        instances: vec![1, 2, 3],
        models_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => a.server = value().into(),
            "--postgres" => a.postgres = value(),
            "--applicants" => a.applicants = value().parse().expect("--applicants N"),
            "--clients" => a.clients = value().parse().expect("--clients N"),
            "--instances" => a.instances = value().split(',').map(|n| n.trim().parse().expect("--instances 1,2,3")).collect(),
            "--models-dir" => a.models_dir = Some(value().into()),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    assert!(a.server.is_file(), "--server PATH: the tessera binary to run");
    // The processes run in their own directories.
    a.server = a.server.canonicalize().expect("the server binary's path");
    assert!(!a.postgres.is_empty(), "--postgres URL (or TESSERA_TEST_POSTGRES_URL)");
    a
}

/// Busy CPU-seconds of the whole machine so far (`/proc/stat`).
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else { return 0.0 };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Row {
    instances: usize,
    wall: f64,
    per_sec: f64,
    server_cpu: f64,
    machine_cpu: f64,
    p50: f64,
    p95: f64,
    still_running: usize,
    drain: f64,
}

async fn run(a: &Args, n: usize) -> Row {
    let pg = PgDatabase::create(&a.postgres, "tessera_bench").await;
    let blobs = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("TESSERA_DATABASE_URL".to_string(), pg.url.clone()),
        ("TESSERA_STORAGE_BACKEND".to_string(), "local".to_string()),
        ("TESSERA_STORAGE_PATH".to_string(), blobs.path().display().to_string()),
        ("TESSERA_MASTER_KEY".to_string(), tessera::storage::MasterKey::generate().to_base64()),
    ];
    if let Some(dir) = &a.models_dir {
        env.push(("TESSERA_MODELS_DIR".to_string(), dir.display().to_string()));
    }
    let shared = Shared { bin: a.server.clone(), env };
    let own = tempfile::tempdir().unwrap();
    let info = {
        let state = tessera::build_state(shared.config(own.path())).await.expect("migrate");
        let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.unwrap().expect("fresh database");
        state.db.close().await.ok();
        info
    };
    let instance_env: Vec<(&str, String)> = vec![
        ("TESSERA_JOB_WORKERS", "2".into()),
        ("TESSERA_WEBHOOK_WORKERS", "2".into()),
        ("TESSERA_WEBHOOK_ALLOW_LOOPBACK", "true".into()),
        ("TESSERA_SANCTIONS_REFRESH_HOURS", "0".into()),
        ("TESSERA_BLOCKED_MAX_FAILURES", "100000".into()),
        ("TESSERA_MAX_CONNECTIONS_PER_ADDRESS", "0".into()),
    ];
    let mut instances = Vec::new();
    for _ in 0..n {
        instances.push(Instance::start(&shared, &instance_env).await);
    }
    let (receiver, hook_url) = cluster::start_receiver(Duration::ZERO).await;
    let flow = Arc::new(Flow::new(
        instances.iter().map(|i| i.base.clone()).collect(),
        &info.demo_api_key,
        &info.demo_client_id,
        Some(hook_url),
        Duration::from_secs(600),
    ));
    let images: Arc<Vec<Images>> = Arc::new((0..a.applicants + n).map(Images::generated).collect());

    // Warm-up: one applicant per instance.
    for i in 0..n {
        flow.applicant(a.applicants + i, &images[a.applicants + i]).await;
    }
    flow.still_running.store(0, Ordering::SeqCst);

    let cpu_before: f64 = instances.iter().map(Instance::cpu_seconds).sum();
    let machine_before = machine_busy_seconds();
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(a.clients));
    let mut walks = tokio::task::JoinSet::new();
    for i in 0..a.applicants {
        let (flow, gate, images) = (flow.clone(), gate.clone(), images.clone());
        walks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let t = Instant::now();
            flow.applicant(i, &images[i]).await;
            t.elapsed().as_secs_f64()
        });
    }
    let mut walls = Vec::new();
    while let Some(w) = walks.join_next().await {
        walls.push(w.expect("an applicant failed"));
    }
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = instances.iter().map(Instance::cpu_seconds).sum::<f64>() - cpu_before;
    let machine_cpu = machine_busy_seconds() - machine_before;
    walls.sort_by(f64::total_cmp);

    // The webhook backlog: every event delivered.
    let db = sea_orm::Database::connect(&pg.url).await.unwrap();
    let drain_started = Instant::now();
    loop {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let open = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::Status.is_in(["pending", "sending"]))
            .count(&db)
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(drain_started.elapsed() < Duration::from_secs(600), "webhooks did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain = drain_started.elapsed().as_secs_f64();
    db.close().await.ok();
    let received = receiver.got.lock().unwrap().len();
    assert!(received > 0, "no webhook reached the receiver");

    for i in &mut instances {
        let _ = i.child.start_kill();
        let _ = i.child.wait().await;
    }
    drop(pg);
    Row {
        instances: n,
        wall,
        per_sec: a.applicants as f64 / wall,
        server_cpu,
        machine_cpu,
        p50: percentile(&walls, 0.5),
        p95: percentile(&walls, 0.95),
        still_running: flow.still_running.load(Ordering::SeqCst),
        drain,
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    println!(
        "scale-out bench: {} applicants, {} clients, engines {}, {} cores",
        a.applicants,
        a.clients,
        if a.models_dir.is_some() { "with models" } else { "without models (unavailable)" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let mut rows = Vec::new();
    for &n in &a.instances {
        let row = run(&a, n).await;
        eprintln!("  {n} instance(s): {:.2} verifications/s", row.per_sec);
        rows.push(row);
    }
    let base = rows.first().map(|r| r.per_sec).unwrap_or(1.0);
    println!();
    println!("| instances | wall s | verifications/s | ratio | server CPU-s | CPU-s / verification | machine busy CPU-s | applicant p50 / p95 s | finalize 503s | webhook drain s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.1} | {:.3} | {:.1} | {:.2} / {:.2} | {} | {:.1} |",
            r.instances,
            r.wall,
            r.per_sec,
            r.per_sec / base,
            r.server_cpu,
            r.server_cpu / a.applicants as f64,
            r.machine_cpu,
            r.p50,
            r.p95,
            r.still_running,
            r.drain
        );
    }
}
