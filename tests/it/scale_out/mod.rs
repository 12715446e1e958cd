//! Scale-out: three `tessera serve` processes of the built binary on one
//! PostgreSQL database and one S3 bucket (`moto_server`), each with its own
//! data directory and the same master key. The test is the load balancer
//! (`cluster::Balancer`): it spreads every applicant's steps over the
//! instances (each step on the next one), sends a request elsewhere when an
//! instance refuses the connection, and takes an instance out of rotation
//! before stopping it, as a balancer does with a node it drains.
//!
//! 50 applicants walk the SDK flow (no model packages: the engines record
//! `unavailable`, the verdict still comes) with webhooks to a loopback
//! receiver that answers slowly. One instance, out of rotation, is killed
//! with SIGKILL while it holds analysis jobs and webhook deliveries.
//! Afterwards: every session has its verdict; every job is `done`, once
//! (a job the dead instance held was claimed again elsewhere after its lock
//! expired and finished there; every other job was claimed exactly once);
//! every webhook event was delivered at least once under one stable
//! `webhook-id` with the same body; the bucket holds exactly the objects
//! the `stored_file` rows name; and a sanctions list imported with
//! `tessera sanctions import` is used by every running instance (the two
//! survivors and the dead one's replacement) within `sanctions_watch_secs`.
//!
//! Needs `TESSERA_TEST_POSTGRES_URL` (skipped without it, like every
//! PostgreSQL test) and `moto_server` (skipped without it; a failure when
//! `TESSERA_REQUIRE_CONTRACT_TOOLS=1`, as in CI).

pub mod cluster;

use crate::common::{PG_ENV, TestApp, backends};
use crate::s3_storage::{bucket, start_s3};
use cluster::{Flow, Images, Instance, PgDatabase, Receiver, Shared};

use entity::{check_result, idv_session, job, stored_file, webhook_attempt, webhook_delivery};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const INSTANCES: usize = 3;
const APPLICANTS: usize = 50;
/// Applicants walking the flow at once.
const CONCURRENT: usize = 10;
/// The instance that is killed.
const VICTIM: usize = 1;
/// How long a claimed job may run before another process may take it:
/// also how long the dead instance's jobs wait before they run elsewhere.
const JOB_LOCK_SECS: u64 = 30;
/// A delivery attempt's time limit (a claim lasts 5 s longer).
const WEBHOOK_TIMEOUT_SECS: u64 = 3;
/// `sanctions_watch_secs` of every instance: the documented delay.
const WATCH_SECS: u64 = 2;
/// Webhook delivery workers per instance.
const WEBHOOK_WORKERS: usize = 2;
/// How long the receiver takes to answer a delivery.
const RECEIVER_DELAY: Duration = Duration::from_millis(400);
/// The person on the imported list, and the list.
const LISTED: (&str, &str, &str) = ("Ostap", "Zorin", "1970-03-03");
const SDN: &str = "4711,\"ZORIN, Ostap Ivanovich\",\"individual\",\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 03 Mar 1970.\"\r\n\u{1a}";

fn instance_env() -> Vec<(&'static str, String)> {
    vec![
        ("TESSERA_JOB_WORKERS", "2".into()),
        ("TESSERA_JOB_LOCK_SECS", JOB_LOCK_SECS.to_string()),
        ("TESSERA_JOB_POLL_MS", "200".into()),
        ("TESSERA_JOB_RETRY_BASE_MS", "200".into()),
        ("TESSERA_FINALIZE_WAIT_SECS", "3".into()),
        ("TESSERA_WEBHOOK_WORKERS", WEBHOOK_WORKERS.to_string()),
        ("TESSERA_WEBHOOK_ALLOW_LOOPBACK", "true".into()),
        ("TESSERA_WEBHOOK_POLL_MS", "100".into()),
        ("TESSERA_WEBHOOK_TIMEOUT_SECS", WEBHOOK_TIMEOUT_SECS.to_string()),
        ("TESSERA_WEBHOOK_RETRY_SCHEDULE", "0s,1s,1s,2s,2s,5s,5s,10s".into()),
        ("TESSERA_SANCTIONS_WATCH_SECS", WATCH_SECS.to_string()),
        ("TESSERA_SANCTIONS_REFRESH_HOURS", "0".into()),
        ("TESSERA_BLOCKED_MAX_FAILURES", "1000".into()),
        ("TESSERA_MAX_CONNECTIONS_PER_ADDRESS", "0".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_database_and_bucket_and_survive_a_kill_9() {
    let Some(admin_url) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("note: {PG_ENV} not set; the scale-out test needs PostgreSQL and is skipped");
        return;
    };
    let Some(s3) = start_s3().await else {
        let required = std::env::var("TESSERA_REQUIRE_CONTRACT_TOOLS").is_ok_and(|v| v == "1");
        assert!(!required, "moto_server is missing; TESSERA_REQUIRE_CONTRACT_TOOLS=1 makes it required");
        return;
    };
    let run_started = Instant::now();

    // One database, one bucket, one master key; migrated and bootstrapped once.
    let pg = PgDatabase::create(&admin_url, "tessera_scale").await;
    let mut env = cluster::s3_env(&s3.endpoint, &bucket(&s3).await);
    env.push(("TESSERA_DATABASE_URL".into(), pg.url.clone()));
    env.push(("TESSERA_MASTER_KEY".into(), tessera::storage::MasterKey::generate().to_base64()));
    let shared = Shared { bin: env!("CARGO_BIN_EXE_tessera").into(), env };
    let own_dir = tempfile::tempdir().unwrap();
    let state = tessera::build_state(shared.config(own_dir.path())).await.expect("migrate once");
    let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.unwrap().expect("a fresh database");
    let db = state.db.clone();

    // Drawn before any request: drawing while requests are in flight would
    // hold up the client's connections.
    let images: Arc<Vec<Images>> = Arc::new((0..APPLICANTS).map(Images::generated).collect());
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(Instance::start(&shared, &instance_env()).await);
    }
    let (receiver, hook_url) = cluster::start_receiver(RECEIVER_DELAY).await;
    let flow = Arc::new(Flow::new(
        instances.iter().map(|i| i.base.clone()).collect(),
        &info.demo_api_key,
        &info.demo_client_id,
        Some(hook_url),
        Duration::from_secs(JOB_LOCK_SECS + 180),
    ));

    // The applicants, CONCURRENT at a time.
    let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
    let mut walks = tokio::task::JoinSet::new();
    for i in 0..APPLICANTS {
        let (flow, gate, images) = (flow.clone(), gate.clone(), images.clone());
        walks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            flow.applicant(i, &images[i]).await
        });
    }

    // Meanwhile: once a third of the applicants are under way, the victim
    // leaves the rotation and dies while it holds jobs and deliveries.
    while flow.started.load(Ordering::SeqCst) < APPLICANTS / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flow.lb.drain(VICTIM).await;
    let (held_jobs, sending) = kill_while_busy(&db, &mut instances[VICTIM]).await;
    let killed_at = Instant::now();
    eprintln!(
        "scale_out: killed instance {VICTIM} (pid {}) holding {} job(s) while {sending} deliveries were being sent",
        instances[VICTIM].pid,
        held_jobs.len()
    );

    // Every applicant gets a verdict.
    let mut verdicts = BTreeMap::new();
    while let Some(walk) = walks.join_next().await {
        let (sid, verdict) = walk.expect("an applicant's flow failed");
        assert!(verdict["verified"].is_boolean() && verdict["on_sanction_list"].is_boolean(), "{verdict}");
        verdicts.insert(sid, verdict);
    }
    assert_eq!(verdicts.len(), APPLICANTS);
    eprintln!(
        "scale_out: {APPLICANTS} verdicts {:.1} s after the start, {:.1} s after the kill; requests per instance {:?}, finalize 503s {}",
        run_started.elapsed().as_secs_f64(),
        killed_at.elapsed().as_secs_f64(),
        flow.lb.served(),
        flow.still_running.load(Ordering::SeqCst)
    );

    // A new process takes the dead one's place in the rotation.
    instances[VICTIM] = Instance::start(&shared, &instance_env()).await;
    flow.lb.replace(VICTIM, &instances[VICTIM].base);

    sanctions_list_reaches_every_instance(&shared, &flow, &instances, &db).await;
    every_session_complete_and_every_job_done_once(&db, &verdicts, &held_jobs).await;
    webhooks_delivered_at_least_once(&db, &receiver).await;
    bucket_matches_the_rows(&db, &state.storage).await;

    for instance in &mut instances {
        let _ = instance.child.start_kill();
    }
    eprintln!("scale_out: whole run {:.1} s", run_started.elapsed().as_secs_f64());
}

/// Waits until `victim` holds at least one running job and at least one
/// delivery (more deliveries are being sent than the other instances have
/// workers), then kills it with SIGKILL. Returns the jobs it held and the
/// deliveries being sent.
async fn kill_while_busy(db: &DatabaseConnection, victim: &mut Instance) -> (Vec<String>, usize) {
    let others_can_send = (INSTANCES - 1) * WEBHOOK_WORKERS;
    let deadline = Instant::now() + Duration::from_secs(120);
    let caught = loop {
        let held: Vec<String> = job::Entity::find()
            .filter(job::Column::Status.eq("running"))
            .filter(job::Column::LockedBy.like(victim.lock_pattern()))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        let sending = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("sending"))
            .all(db)
            .await
            .unwrap()
            .len();
        if !held.is_empty() && sending > others_can_send {
            victim.child.start_kill().unwrap();
            break (held, sending);
        }
        assert!(Instant::now() < deadline, "the victim never held a job and a delivery at once");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let status = victim.child.wait().await.unwrap();
    assert!(!status.success(), "killed, not exited: {status:?}");
    caught
}

/// Creates a consented session whose current document names `who`, then
/// finalizes it, every step on instance `i` (all are in rotation here).
async fn screened_finalize(flow: &Flow, db: &DatabaseConnection, i: usize, who: (&str, &str, &str)) -> Value {
    let sid = flow.create(i).await;
    let a = flow.sdk(i, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = flow.sdk(i, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    entity::document::ActiveModel {
        id: Set(tessera::ids::new_id()),
        client_id: Set(flow.client_id.clone()),
        session_id: Set(sid.clone()),
        is_current: Set(true),
        r#type: Set("driver_license".into()),
        data_source: Set("barcode".into()),
        first_name: Set(Some(who.0.into())),
        last_name: Set(Some(who.1.into())),
        birth_date: Set(Some(who.2.into())),
        gender: Set("male".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let a = flow.sdk(i, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

/// `tessera sanctions import` (with the instances' configuration) while
/// they run: every instance serves the new version within the watch delay
/// and screens against it.
async fn sanctions_list_reaches_every_instance(shared: &Shared, flow: &Flow, instances: &[Instance], db: &DatabaseConnection) {
    // Before: no list anywhere, so the listed person is no hit.
    for i in 0..instances.len() {
        let v = screened_finalize(flow, db, i, LISTED).await;
        assert_eq!(v["on_sanction_list"], false, "instance {i} before the import: {v}");
    }
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(lists.path().join("SDN.CSV"), SDN).unwrap();
    let cli_dir = tempfile::tempdir().unwrap();
    let out = shared.command(cli_dir.path()).args(["sanctions", "import"]).arg(lists.path()).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let imported_at = Instant::now();
    let version = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("version:").map(|v| v.trim().to_string()))
        .expect("the import names its version");

    let http = reqwest::Client::new();
    for (i, instance) in instances.iter().enumerate() {
        let waited = loop {
            let health: Value = http.get(format!("{}/health", instance.base)).send().await.unwrap().json().await.unwrap();
            let loaded = &health["details"]["external_services"]["sanctions_lists"]["loaded_version"];
            if loaded.as_str() == Some(version.as_str()) {
                break imported_at.elapsed();
            }
            assert!(
                imported_at.elapsed() < Duration::from_secs(WATCH_SECS + 5),
                "instance {i} still serves {loaded} {:?} after the import (sanctions_watch_secs = {WATCH_SECS})",
                imported_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        eprintln!("scale_out: instance {i} uses the imported list {:.2} s after the import", waited.as_secs_f64());
    }
    // ... and screens against it.
    for i in 0..instances.len() {
        let v = screened_finalize(flow, db, i, LISTED).await;
        assert_eq!(v["on_sanction_list"], true, "instance {i} after the import: {v}");
    }
}

/// Every session is complete with the checks its jobs owed; every job is
/// done, claimed once, or twice when the dead instance held it.
async fn every_session_complete_and_every_job_done_once(
    db: &DatabaseConnection,
    verdicts: &BTreeMap<String, Value>,
    held_jobs: &[String],
) {
    for s in idv_session::Entity::find().all(db).await.unwrap() {
        assert_eq!(s.status, "complete", "session {} has no verdict", s.id);
    }
    let owed: Vec<&str> = tessera::domain::checks::owed::FRONT
        .into_iter()
        .chain(tessera::domain::checks::owed::BACK)
        .chain(tessera::domain::checks::owed::SELFIE)
        .collect();
    let checks = check_result::Entity::find().all(db).await.unwrap();
    for sid in verdicts.keys() {
        let mine: Vec<&str> = checks.iter().filter(|c| &c.session_id == sid).map(|c| c.check_name.as_str()).collect();
        for name in &owed {
            assert_eq!(mine.iter().filter(|n| *n == name).count(), 1, "session {sid}: check {name} in {mine:?}");
        }
    }
    let jobs = job::Entity::find().all(db).await.unwrap();
    assert_eq!(jobs.len(), 3 * APPLICANTS, "front, back and liveness per applicant");
    for j in &jobs {
        assert_eq!((j.status.as_str(), j.locked_by.as_deref()), ("done", None), "job {} ({}): {:?}", j.id, j.kind, j.last_error);
        let expected = if held_jobs.contains(&j.id) { 2 } else { 1 };
        assert_eq!(j.attempts, expected, "job {} ({}) was claimed {} times", j.id, j.kind, j.attempts);
    }
    for sid in verdicts.keys() {
        let kinds: BTreeSet<&str> =
            jobs.iter().filter(|j| j.session_id.as_deref() == Some(sid.as_str())).map(|j| j.kind.as_str()).collect();
        assert_eq!(kinds.len(), 3, "session {sid}: {kinds:?}");
    }
}

/// Every outbox row is delivered; the receiver saw each `webhook-id` at
/// least once, always with the row's body, and no id the outbox lacks.
async fn webhooks_delivered_at_least_once(db: &DatabaseConnection, receiver: &Receiver) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let rows = loop {
        let rows = webhook_delivery::Entity::find().all(db).await.unwrap();
        if rows.iter().all(|d| d.status == "delivered" || d.status == "failed") {
            break rows;
        }
        assert!(Instant::now() < deadline, "deliveries still open after 3 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let got = receiver.got.lock().unwrap().clone();
    let mut twice = 0;
    for d in &rows {
        assert_eq!(d.status, "delivered", "delivery {} ({}): {:?}", d.id, d.event_type, d.last_error);
        let bodies = got.get(&d.id).unwrap_or_else(|| panic!("delivery {} ({}) never reached the receiver", d.id, d.event_type));
        assert!(bodies.iter().all(|b| *b == d.payload), "delivery {}: another body under the same webhook-id", d.id);
        twice += usize::from(bodies.len() > 1);
    }
    let known: BTreeSet<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    for id in got.keys() {
        assert!(known.contains(id.as_str()), "the receiver got webhook-id {id:?}, which no outbox row has");
    }
    // Per session, the sequence numbers have no gap and the last event is there.
    let mut sequences: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for d in &rows {
        if let Some(sid) = &d.session_id {
            sequences.entry(sid).or_default().insert(d.sequence);
        }
    }
    for (sid, seq) in &sequences {
        assert_eq!(seq.len() as i64, *seq.iter().max().unwrap(), "session {sid}: sequences {seq:?}");
        let completed = rows.iter().any(|d| d.session_id.as_deref() == Some(*sid) && d.event_type == "session.completed");
        assert!(completed, "session {sid}: no session.completed event");
    }
    // The kill interrupted at least one delivery, which another instance sent again.
    let interrupted = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::Error.eq("the delivery worker stopped during the attempt"))
        .all(db)
        .await
        .unwrap();
    assert!(!interrupted.is_empty(), "no delivery was in flight on the killed instance");
    eprintln!(
        "scale_out: {} deliveries, all delivered; {} interrupted by the kill; {twice} received more than once",
        rows.len(),
        interrupted.len()
    );
}

/// The bucket holds exactly the objects the `stored_file` rows name.
async fn bucket_matches_the_rows(db: &DatabaseConnection, storage: &tessera::storage::BlobStore) {
    let named: BTreeSet<String> = stored_file::Entity::find().all(db).await.unwrap().into_iter().map(|f| f.object_key).collect();
    let listed: BTreeSet<String> = storage
        .keys_older_than("clients", chrono::Utc::now() + chrono::Duration::minutes(5))
        .await
        .unwrap()
        .into_iter()
        .collect();
    let missing: Vec<_> = named.difference(&listed).collect();
    let orphaned: Vec<_> = listed.difference(&named).collect();
    assert!(missing.is_empty(), "objects missing from the bucket: {missing:?}");
    assert!(orphaned.is_empty(), "objects no row names: {orphaned:?}");
    assert_eq!(named.len(), 4 * APPLICANTS, "front, back, the liveness frame and the selfie per applicant");
}

/// The duplicate-face index a process keeps in memory takes a template that
/// another process committed after a later one had been loaded (its
/// `created_at` is older than the newest template the index has seen).
#[tokio::test]
async fn the_face_index_takes_a_template_committed_after_a_later_one() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let client = app.demo_client_id.clone();
        let axis = |k: usize| (0..128).map(|i| if i == k { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        let insert = |vector: Vec<f32>, created_secs_ago: i64| {
            let id = tessera::ids::new_id();
            let embedding = tessera::engine::FaceEmbedding { model: "test".into(), vector };
            let sealed = tessera::service::faces::seal_face_embedding(app.state.storage.master_key(), &id, &embedding);
            let row = entity::face_template::ActiveModel {
                id: Set(id.clone()),
                client_id: Set(client.clone()),
                owner_kind: Set(tessera::service::faces::TEMPLATE_OWNER_IDENTITY.into()),
                owner_id: Set(tessera::ids::new_id()),
                source: Set("selfie".into()),
                model: Set("test".into()),
                embedding: Set(sealed),
                created_at: Set(chrono::Utc::now() - chrono::Duration::seconds(created_secs_ago)),
            };
            let db = app.state.db.clone();
            async move {
                row.insert(&db).await.unwrap();
                id
            }
        };
        let first = insert(axis(0), 0).await;
        let hits = tessera::service::faces::search(&app.state, &client, &axis(0), 0.1, 5).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), vec![first.as_str()], "{backend}");
        // Committed now, by "another process", with a creation time before the loaded one.
        let late = insert(axis(1), 30).await;
        let hits = tessera::service::faces::search(&app.state, &client, &axis(1), 0.1, 5).await.unwrap();
        assert_eq!(hits.iter().map(|h| h.0.as_str()).collect::<Vec<_>>(), vec![late.as_str()], "{backend}: the late template");
        app.cleanup().await;
    }
}

/// Three processes started at once on an empty PostgreSQL database all come
/// up: one applies the migrations and creates the first administrator, the
/// others wait for it and find nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_started_at_once_on_an_empty_database_all_come_up() {
    let Some(admin_url) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
        eprintln!("note: {PG_ENV} not set; skipped");
        return;
    };
    let pg = PgDatabase::create(&admin_url, "tessera_start").await;
    let env = vec![
        ("TESSERA_DATABASE_URL".to_string(), pg.url.clone()),
        ("TESSERA_MASTER_KEY".to_string(), tessera::storage::MasterKey::generate().to_base64()),
    ];
    let shared = Shared { bin: env!("CARGO_BIN_EXE_tessera").into(), env };
    let (a, b, c) = tokio::join!(Instance::start(&shared, &[]), Instance::start(&shared, &[]), Instance::start(&shared, &[]));
    let instances = [a, b, c];
    let credentials = instances.iter().filter(|i| i.printed.iter().any(|l| l.starts_with("Admin password:"))).count();
    assert_eq!(credentials, 1, "exactly one process creates and prints the first administrator");
    let http = reqwest::Client::new();
    for i in &instances {
        let ready = http.get(format!("{}/health/ready", i.base)).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{}", i.base);
    }
    let db = sea_orm::Database::connect(&pg.url).await.unwrap();
    use sea_orm::PaginatorTrait;
    assert_eq!(entity::user::Entity::find().count(&db).await.unwrap(), 1);
    assert_eq!(entity::client::Entity::find().count(&db).await.unwrap(), 2, "the platform operator and the demo client");
    let defaults = entity::weights::Entity::find().filter(entity::weights::Column::ClientId.is_null()).count(&db).await.unwrap();
    assert_eq!(defaults, 1, "one platform default weights version");
    db.close().await.ok();
}
