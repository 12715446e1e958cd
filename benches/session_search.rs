//! Latency of the admin UI's sessions list search over 100,000 seeded
//! sessions: the page query the UI sends (`idvSessions(first: 25, filter:
//! {searchTerm}, sort)` with the total, the reason and the failed checks)
//! for a full name, an exact document number, a session id, a name prefix
//! matching about a thousand sessions, a word matching about 11,000 and a
//! term matching nothing; then every sort the UI offers (created, score,
//! name, status, document type), both directions, over all sessions, the
//! failing-check filter, the name prefix and the broad word; and deep
//! pages at 1,000 and 10,000, by offset (a bare position as `after`) and
//! as the UI reaches them (`after` the previous page's cursor, which
//! carries its sort key: a seek; and "Previous", `last` before the next
//! page's first cursor: a seek back). Prints p50 /
//! p95 per case and over all of them, and the CPU time per request (this
//! process, plus on PostgreSQL its server backends, read from /proc: stable
//! on a busy machine where wall times are not).
//!
//! `TESSERA_BENCH_CASES=word,word` runs only the cases whose name contains
//! one of the words.
//!
//!     cargo bench --bench session_search                        # SQLite in a temp dir
//!     TESSERA_BENCH_POSTGRES_URL=postgres://…/db cargo bench --bench session_search
//!     TESSERA_BENCH_SESSIONS=20000 TESSERA_BENCH_ITERATIONS=50 cargo bench --bench session_search
//!
//! `TESSERA_BENCH_VACUUM=1` (PostgreSQL) vacuums the seeded tables before
//! measuring, as autovacuum would some time after the bulk load.
//! `TESSERA_BENCH_SAVE=<file>` (SQLite) saves a copy of the seeded
//! database there, to look at its plans.

#[path = "../tests/it/common/dashboard_seed.rs"]
mod dashboard_seed;

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use tessera::config::Config;
use tessera::graphql::{self, Caller, CallerRole, Limits};
use tessera::service::audit::Actor;
use tessera::service::{bootstrap, weights};

const PAGE: &str = "query Sessions($filter: IdvSessionFilter, $sort: Sort, $first: Int = 25, $after: String, $last: Int, $before: String) {
  idvSessions(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
    totalCount totalCountExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id status verified reviewRequired score documentType firstName lastName userId createdAt completedAt reasons
      checks { checkName status } }
  }
}";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// User + system CPU time of a process so far, in clock ticks (1/100 s),
/// from /proc/<pid>/stat; 0 where /proc is missing.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or_default();
    field(14) + field(15)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let sessions = env_number("TESSERA_BENCH_SESSIONS", 100_000);
    let iterations = env_number("TESSERA_BENCH_ITERATIONS", 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.data_dir = dir.path().to_path_buf();
    // Few connections: the PostgreSQL backends whose CPU time is read.
    config.database_max_connections = 2;
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
    let seeded = dashboard_seed::seed_sessions(&state.db, &info.demo_client_id, &w.id, sessions, Utc::now()).await;
    eprintln!("seeded and indexed {sessions} sessions on {backend} in {:.1?}", seeding.elapsed());
    // Table statistics, as a database in use has them (the planner needs
    // them to prefer the id lookups over a scan of the client's sessions).
    state.db.execute_unprepared("ANALYZE").await.expect("analyze");
    // `TESSERA_BENCH_VACUUM=1` on PostgreSQL: also vacuum, as autovacuum
    // does to a table in use some time after a bulk insert (PostgreSQL 13+
    // vacuums insert-only tables too), so that index-only scans need not
    // visit the table.
    if backend == "postgres" && std::env::var("TESSERA_BENCH_VACUUM").is_ok_and(|v| v == "1") {
        state.db.execute_unprepared("VACUUM (ANALYZE)").await.expect("vacuum");
        eprintln!("vacuumed");
    }
    // `TESSERA_BENCH_SAVE=<file>` (SQLite): a copy of the seeded database,
    // to look at its plans with the sqlite3 shell.
    if let Ok(path) = std::env::var("TESSERA_BENCH_SAVE")
        && backend == "sqlite"
    {
        state.db.execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''"))).await.expect("save a copy");
        eprintln!("saved a copy to {path}");
    }
    // The server backends of this database (the pool's connections, all
    // open after seeding).
    let backend_pids: Vec<String> = if backend == "postgres" {
        let sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()";
        let rows = state.db.query_all_raw(sea_orm::Statement::from_string(state.db.get_database_backend(), sql)).await.expect("backends");
        rows.iter().filter_map(|r| r.try_get::<i32>("", "pid").ok()).map(|p| p.to_string()).collect()
    } else {
        vec![]
    };
    let server_ticks = || (!backend_pids.is_empty()).then(|| backend_pids.iter().map(|p| cpu_ticks(p)).sum::<u64>());

    let schema = graphql::build_schema(Limits::from_config(&state.config));
    let caller = Caller {
        client_id: info.demo_client_id.clone(),
        user_id: None,
        is_platform: false,
        role: CallerRole::Admin,
        actor: Actor::System,
        ip: None,
        audited: Default::default(),
    };
    let n = sessions / 2 + 42;
    let mut cases = vec![
        ("full name".to_string(), json!({"filter": {"searchTerm": format!("First{n} Last{n}")}})),
        ("document number".to_string(), json!({"filter": {"searchTerm": format!("D{n:07}")}})),
        ("session id".to_string(), json!({"filter": {"searchTerm": seeded.session_ids[n].clone()}})),
        ("name prefix (~1,100 hits)".to_string(), json!({"filter": {"searchTerm": format!("Last{}", n / 1000)}})),
        ("no match".to_string(), json!({"filter": {"searchTerm": "nobody-by-this-name"}})),
        ("broad word (~11,000 hits)".to_string(), json!({"filter": {"searchTerm": "First1"}})),
    ];
    let filters = [
        ("all sessions", json!({})),
        ("failing check", json!({"failingCheck": "liveness"})),
        ("name prefix", json!({"searchTerm": format!("Last{}", n / 1000)})),
        ("broad word", json!({"searchTerm": "First1"})),
    ];
    for (what, filter) in &filters {
        for field in ["CREATED_AT", "SCORE", "NAME", "STATUS", "DOCUMENT_TYPE"] {
            for direction in ["DESC", "ASC"] {
                let sort = json!({"field": field, "direction": direction});
                cases.push((format!("{what}, by {} {}", field.to_lowercase(), direction.to_lowercase()), json!({"filter": filter, "sort": sort})));
            }
        }
    }
    let deep = [
        ("all sessions, newest first", json!({}), json!({"field": "CREATED_AT", "direction": "DESC"})),
        ("failing check, by score desc", json!({"failingCheck": "liveness"}), json!({"field": "SCORE", "direction": "DESC"})),
        ("failing check, by status desc", json!({"failingCheck": "liveness"}), json!({"field": "STATUS", "direction": "DESC"})),
        ("broad word, by name desc", json!({"searchTerm": "First1"}), json!({"field": "NAME", "direction": "DESC"})),
    ];
    let position = |at: usize| async_graphql::connection::CursorType::encode_cursor(&async_graphql::connection::OpaqueCursor(at));
    for (what, filter, sort) in deep.iter().take(2) {
        for offset in [1_000usize, 10_000] {
            // A bare position: the page is read by offset.
            cases.push((format!("{what}, offset {offset}"), json!({"filter": filter, "sort": sort, "after": position(offset - 1)})));
        }
    }
    let words: Option<Vec<String>> = std::env::var("TESSERA_BENCH_CASES")
        .ok()
        .map(|only| only.split(',').map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect());
    let selected = |name: &str| words.as_ref().is_none_or(|words| words.iter().any(|w| name.contains(w.as_str())));
    cases.retain(|(name, _)| selected(name));
    let run = |vars: serde_json::Value| {
        let request = async_graphql::Request::new(PAGE).variables(async_graphql::Variables::from_json(vars));
        let (schema, state, caller) = (&schema, &state, caller.clone());
        async move {
            let started = Instant::now();
            let response = graphql::execute(schema, state, caller, request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            (started.elapsed(), response.data.into_json().expect("json"))
        }
    };
    // Deep pages as the UI reaches them: `after` the previous page's last
    // cursor (its sort key and id), read by a seek, not an offset; and
    // "Previous", `last` before the next page's first cursor, a seek back.
    // The cursors come from the pages around (read once by offset,
    // untimed); each seek's page must hold the offset page's sessions.
    for (what, filter, sort) in &deep {
        for offset in [1_000usize, 10_000] {
            let forward = format!("{what}, page at {offset} after the previous page's cursor");
            let back = format!("{what}, page at {offset} before the next page's cursor");
            if !selected(&forward) && !selected(&back) {
                continue;
            }
            let (_, by_offset) = run(json!({"filter": filter, "sort": sort, "after": position(offset - 1)})).await;
            let (_, previous) = run(json!({"filter": filter, "sort": sort, "after": position(offset - 26)})).await;
            let (_, next) = run(json!({"filter": filter, "sort": sort, "after": position(offset + 24)})).await;
            let seeks = [
                (forward, json!({"filter": filter, "sort": sort, "after": previous["idvSessions"]["pageInfo"]["endCursor"]})),
                (back, json!({"filter": filter, "sort": sort, "first": null, "last": 25, "before": next["idvSessions"]["pageInfo"]["startCursor"]})),
            ];
            for (name, vars) in seeks.into_iter().filter(|(name, _)| selected(name)) {
                let (_, by_seek) = run(vars.clone()).await;
                assert_eq!(by_seek["idvSessions"]["nodes"], by_offset["idvSessions"]["nodes"], "{name}");
                cases.push((name, vars));
            }
        }
    }
    let mut all = Vec::new();
    for (name, vars) in &cases {
        let (_, first) = run(vars.clone()).await;
        let total = first["idvSessions"]["totalCount"].as_i64().unwrap_or_default();
        for _ in 0..3 {
            run(vars.clone()).await;
        }
        let exact = first["idvSessions"]["totalCountExact"].as_bool().unwrap_or(true);
        let mut timings = Vec::with_capacity(iterations);
        let cpu_before = (cpu_ticks("self"), server_ticks());
        for _ in 0..iterations {
            timings.push(run(vars.clone()).await.0);
        }
        let cpu_after = (cpu_ticks("self"), server_ticks());
        let per_request = |before: u64, after: u64| (after - before) as f64 * 10.0 / iterations as f64;
        let server_cpu = match (cpu_before.1, cpu_after.1) {
            (Some(b), Some(a)) => format!(" + server {:.2} ms", per_request(b, a)),
            _ => String::new(),
        };
        timings.sort();
        println!(
            "sessions search, {name} ({backend}, {sessions} sessions, {total}{} found, {iterations} runs): p50 {:.2?}  p95 {:.2?}  max {:.2?}  cpu/request: bench {:.2} ms{server_cpu}",
            if exact { "" } else { "+" },
            percentile(&timings, 50.0),
            percentile(&timings, 95.0),
            timings[timings.len() - 1],
            per_request(cpu_before.0, cpu_after.0),
        );
        all.extend(timings);
    }
    all.sort();
    println!(
        "sessions search, all cases ({backend}, {sessions} sessions, {} runs): p50 {:.2?}  p95 {:.2?}",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 95.0),
    );

    state.db.clone().close().await.ok();
    if let Some((admin, name)) = cleanup {
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    }
}
