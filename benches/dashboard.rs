//! Latency of the dashboard's main page query (aggregates + the first 50
//! IDV sessions with their nested identity, documents, checks, history and
//! weights) over 10,000 sessions. Prints p50 / p95.
//!
//!     cargo bench --bench dashboard                      # SQLite in a temp dir
//!     TESSERA_BENCH_POSTGRES_URL=postgres://…/db cargo bench --bench dashboard
//!     TESSERA_BENCH_SESSIONS=2000 TESSERA_BENCH_ITERATIONS=50 cargo bench --bench dashboard

#[path = "../tests/it/common/dashboard_seed.rs"]
mod dashboard_seed;

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database};
use tessera::config::Config;
use tessera::graphql::{self, Caller, CallerRole, Limits};
use tessera::service::audit::Actor;
use tessera::service::{bootstrap, weights};

const MAIN_PAGE: &str = "query DashboardHome {
  dashboard {
    totalSessions decidedSessions passRate averageScore medianSecondsToComplete
    sessionsByStatusPerDay { day status count }
    failingChecks { checkName count }
  }
  idvSessions(first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id status verified score createdAt completedAt firstName lastName documentType ofacStatus dmvStatus
      identity { id firstName lastName verified }
      documents { id documentType dataSource documentNumber isCurrent }
      checks { checkName status score }
      history { event at }
      weightsVersion { id idvSessionTolerance }
    }
  }
}";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let sessions = env_number("TESSERA_BENCH_SESSIONS", 10_000);
    let iterations = env_number("TESSERA_BENCH_ITERATIONS", 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.data_dir = dir.path().to_path_buf();
    config.job_workers = 0;
    config.sweep_interval_secs = 0;
    let mut cleanup = None;
    let backend = match std::env::var("TESSERA_BENCH_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.expect("connect to postgres");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
            let (base, _) = admin_url.rsplit_once('/').expect("url with a database name");
            config.database_url = Some(format!("{base}/{name}"));
            cleanup = Some((admin, name));
            "postgres"
        }
        _ => "sqlite",
    };
    let state = tessera::build_state(config).await.expect("state");
    let info = bootstrap::bootstrap_if_empty(&state.db).await.expect("bootstrap").expect("fresh database");
    let w = weights::ensure_platform_default(&state.db).await.expect("weights");

    let seeding = Instant::now();
    dashboard_seed::seed_sessions(&state.db, &info.demo_client_id, &w.id, sessions, Utc::now()).await;
    eprintln!("seeded {sessions} sessions on {backend} in {:.1?}", seeding.elapsed());

    let schema = graphql::build_schema(Limits::from_config(&state.config));
    let caller = Caller {
        client_id: info.demo_client_id.clone(),
        user_id: None,
        is_platform: false,
        role: CallerRole::Viewer,
        actor: Actor::System,
        ip: None,
        audited: Default::default(),
    };
    let run = || async {
        let started = Instant::now();
        let response = graphql::execute(&schema, &state, caller.clone(), async_graphql::Request::new(MAIN_PAGE)).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        started.elapsed()
    };
    for _ in 0..5 {
        run().await;
    }
    let mut timings = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        timings.push(run().await);
    }
    timings.sort();
    println!(
        "dashboard main page query ({backend}, {sessions} sessions, {iterations} runs): p50 {:.2?}  p95 {:.2?}  max {:.2?}",
        percentile(&timings, 50.0),
        percentile(&timings, 95.0),
        timings[timings.len() - 1],
    );

    state.db.clone().close().await.ok();
    if let Some((admin, name)) = cleanup {
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    }
}
