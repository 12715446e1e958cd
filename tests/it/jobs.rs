//! Background jobs and session lifecycle: analysis jobs answer every check
//! (unavailable with a reason when no engine is installed), failures retry
//! with backoff and end failed with unavailable checks, concurrent claimers
//! run each job once, the sweeper expires and unblocks, repeated failed
//! attempts block a session. SQLite always; PostgreSQL when configured.


use chrono::{Duration, Utc};
use crate::common::{TestApp, backends};
use entity::{check_result, ida_session, identity, idv_session, job, session_event};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use std::collections::HashSet;
use std::io::Cursor;
use tessera::domain::JobKind;
use tessera::jobs;
use tessera::service::checks::names;
use tessera::service::files::{self, FileOwner};
use tessera::service::history::SessionKind;
use tessera::service::lifecycle;
use tessera::service::types::StorageFileType;

/// A server whose background workers and sweeper are off, so the test
/// alone decides when jobs run.
async fn app(backend: &'static str, retry_base_ms: u64) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.job_workers = 0;
        c.sweep_interval_secs = 0;
        c.job_retry_base_ms = retry_base_ms;
        c.blocked_max_failures = 3;
    })
    .await
}

async fn weights_id(app: &TestApp) -> String {
    entity::weights::Entity::find()
        .filter(entity::weights::Column::ClientId.is_null())
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("platform default weights")
        .id
}

async fn insert_idv(app: &TestApp, status: &str, expires_in: Duration) -> String {
    let id = tessera::ids::new_id();
    let now = Utc::now();
    idv_session::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        user_id: Set(None),
        idv_weights_id: Set(weights_id(app).await),
        status: Set(status.into()),
        document_type: Set("driver_license".into()),
        liveness_mode: Set("passive".into()),
        liveness_provider: Set("local".into()),
        metadata: Set(serde_json::json!({})),
        sdk_metadata: Set(serde_json::json!({})),
        settings: Set(serde_json::json!({})),
        consented: Set(true),
        document_front_given: Set(false),
        document_back_given: Set(false),
        liveness_detected: Set(false),
        selfie_given: Set(false),
        gender: Set("unknown".into()),
        ofac_status: Set("unknown".into()),
        dmv_status: Set("unknown".into()),
        failed_attempts: Set(0),
        event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(now + expires_in),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("insert idv session");
    id
}

async fn insert_ida(app: &TestApp, status: &str, expires_in: Duration) -> String {
    let now = Utc::now();
    let identity_id = tessera::ids::new_id();
    identity::ActiveModel {
        id: Set(identity_id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        gender: Set("unknown".into()),
        document_front_given: Set(false),
        liveness_detected: Set(false),
        ofac_status: Set("unknown".into()),
        dmv_status: Set("unknown".into()),
        verified: Set(true),
        metadata: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("insert identity");
    let id = tessera::ids::new_id();
    ida_session::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        identity_id: Set(identity_id),
        idv_weights_id: Set(weights_id(app).await),
        status: Set(status.into()),
        liveness_mode: Set("passive".into()),
        liveness_provider: Set("local".into()),
        metadata: Set(serde_json::json!({})),
        sdk_metadata: Set(serde_json::json!({})),
        settings: Set(serde_json::json!({})),
        liveness_detected: Set(false),
        selfie_given: Set(false),
        failed_attempts: Set(0),
        event_sequence: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        expires_at: Set(now + expires_in),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("insert ida session");
    id
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(32, 20, image::Rgb([200, 180, 160]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Stores a document front image for the session; returns the file id.
async fn store_front(app: &TestApp, session_id: &str) -> String {
    let image = files::validate_image("image", png()).unwrap();
    let owner = FileOwner { client_id: &app.demo_client_id, session_kind: "idv", session_id, identity_id: None };
    let row = files::put_image(&app.state.storage, &owner, StorageFileType::DriverLicenseFront, &image).await.unwrap();
    let row = row.insert(&app.state.db).await.unwrap();
    row.id
}

async fn checks_of(app: &TestApp, session_id: &str) -> Vec<check_result::Model> {
    check_result::Entity::find()
        .filter(check_result::Column::SessionId.eq(session_id))
        .order_by_asc(check_result::Column::CheckName)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn job_row(app: &TestApp, id: &str) -> job::Model {
    job::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap().expect("job row")
}

async fn idv_status(app: &TestApp, id: &str) -> String {
    idv_session::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap().expect("session").status
}

async fn events_of(app: &TestApp, session_id: &str) -> Vec<(String, String)> {
    session_event::Entity::find()
        .filter(session_event::Column::SessionId.eq(session_id))
        .order_by_asc(session_event::Column::At)
        .order_by_asc(session_event::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.endpoint))
        .collect()
}

#[tokio::test]
async fn document_job_without_engine_records_unavailable_checks_with_reason() {
    for backend in backends().await {
        let mut app = app(backend, 2000).await;
        // The registry without any engine (the server installs the local ones).
        app.state.engines = std::sync::Arc::new(tessera::engine::Engines::default());
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let file = store_front(&app, &session).await;
        let client = app.demo_client_id.clone();
        let job_id = jobs::enqueue(&app.state.db, JobKind::AnalyzeDocumentFront, &client, &session, serde_json::json!({ "file_id": file }))
            .await
            .unwrap();
        assert_eq!(job_row(&app, &job_id).await.status, "queued", "{backend}");
        assert!(!jobs::wait_for_session(&app.state.db, &session, std::time::Duration::from_millis(120)).await.unwrap());

        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 1, "{backend}");
        let row = job_row(&app, &job_id).await;
        assert_eq!((row.status.as_str(), row.attempts, row.locked_by.as_deref()), ("done", 1, None), "{backend}");
        assert!(jobs::wait_for_session(&app.state.db, &session, std::time::Duration::from_secs(2)).await.unwrap());

        let checks = checks_of(&app, &session).await;
        let expected: HashSet<&str> = [
            names::DOC_FRONT_SUSPICIOUS_WORDS,
            names::DOC_FRONT_IMAGE_MANIPULATION,
            names::DOC_FRONT_ONLINE_DUPLICATION,
            names::DOC_FRONT_IS_IDENTITY_DOCUMENT,
            names::NAME_CROSSCHECK,
            names::DOCUMENT_NUMBER_CROSSCHECK,
            names::ADDRESS_CROSSCHECK,
        ]
        .into();
        let got: HashSet<&str> = checks.iter().map(|c| c.check_name.as_str()).collect();
        assert_eq!(got, expected, "{backend}");
        for c in &checks {
            assert_eq!(c.status, "unavailable", "{backend} {}", c.check_name);
            assert_eq!(c.detail.as_deref(), Some("document engine not installed"), "{backend}");
            assert_eq!(c.client_id, client);
        }
        // Nothing left to run.
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 0);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn liveness_jobs_without_engines_answer_liveness_and_face_match() {
    for backend in backends().await {
        let mut app = app(backend, 2000).await;
        // The registry without any engine (the server installs the local ones).
        app.state.engines = std::sync::Arc::new(tessera::engine::Engines::default());
        let client = app.demo_client_id.clone();
        let idv = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let ida = insert_ida(&app, "in_progress", Duration::hours(1)).await;
        jobs::enqueue(&app.state.db, JobKind::AnalyzeLiveness, &client, &idv, serde_json::Value::Null).await.unwrap();
        jobs::enqueue(&app.state.db, JobKind::AnalyzeIdaLiveness, &client, &ida, serde_json::json!({})).await.unwrap();
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 2, "{backend}");
        for (session, kind) in [(&idv, "idv"), (&ida, "ida")] {
            let checks = checks_of(&app, session).await;
            let got: Vec<(&str, &str, Option<&str>, &str)> = checks
                .iter()
                .map(|c| (c.check_name.as_str(), c.status.as_str(), c.detail.as_deref(), c.session_kind.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    ("face_match", "unavailable", Some("face engine not installed"), kind),
                    ("liveness", "unavailable", Some("liveness engine not installed"), kind),
                ],
                "{backend}"
            );
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn failing_job_retries_with_backoff_then_fails_with_unavailable_checks() {
    for backend in backends().await {
        let app = app(backend, 300).await;
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let job_id = jobs::enqueue(
            &app.state.db,
            JobKind::AnalyzeDocumentBack,
            &client,
            &session,
            serde_json::json!({ "file_id": "no-such-file" }),
        )
        .await
        .unwrap();
        let mut row: job::ActiveModel = job_row(&app, &job_id).await.into();
        row.max_attempts = Set(3);
        row.update(&app.state.db).await.unwrap();

        // First attempt fails: queued again, later, with the error kept.
        let before = Utc::now();
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 1, "{backend}");
        let row = job_row(&app, &job_id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("queued", 1), "{backend}");
        assert!(row.last_error.as_deref().unwrap_or("").contains("no-such-file"), "{backend}: {:?}", row.last_error);
        let delay = row.run_at - before;
        assert!(delay >= Duration::milliseconds(140) && delay <= Duration::milliseconds(1000), "{backend}: {delay}");
        assert!(checks_of(&app, &session).await.is_empty(), "no answer before giving up");
        // Not due yet: nothing runs.
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 0, "{backend}");

        // Second attempt: the delay doubles (300..600 ms after the failure).
        tokio::time::sleep((row.run_at - Utc::now()).to_std().unwrap_or_default()).await;
        let before = Utc::now();
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 1, "{backend}");
        let row = job_row(&app, &job_id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("queued", 2), "{backend}");
        let delay = row.run_at - before;
        assert!(delay >= Duration::milliseconds(290) && delay <= Duration::milliseconds(1200), "{backend}: {delay}");

        // Third and last attempt: failed, and the side's checks answered.
        tokio::time::sleep((row.run_at - Utc::now()).to_std().unwrap_or_default()).await;
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 1, "{backend}");
        let row = job_row(&app, &job_id).await;
        assert_eq!((row.status.as_str(), row.attempts, row.locked_by.as_deref()), ("failed", 3, None), "{backend}");
        let checks = checks_of(&app, &session).await;
        let got: Vec<(&str, &str)> = checks.iter().map(|c| (c.check_name.as_str(), c.status.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (names::DOC_BACK_IMAGE_MANIPULATION, "unavailable"),
                (names::DOC_BACK_IS_IDENTITY_DOCUMENT, "unavailable"),
                (names::DOC_BACK_ONLINE_DUPLICATION, "unavailable"),
                (names::DOC_BACK_SUSPICIOUS_WORDS, "unavailable"),
            ],
            "{backend}"
        );
        for c in &checks {
            assert_eq!(c.detail.as_deref(), Some("analysis failed after 3 attempts"), "{backend}");
        }
        assert!(jobs::wait_for_session(&app.state.db, &session, std::time::Duration::from_millis(200)).await.unwrap());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_crashed_running_job_is_reclaimed_after_its_lock_expires() {
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let file = store_front(&app, &session).await;
        let job_id = jobs::enqueue(&app.state.db, JobKind::AnalyzeDocumentFront, &client, &session, serde_json::json!({ "file_id": file }))
            .await
            .unwrap();
        // Another process claimed it and died: still locked, then expired.
        let mut row: job::ActiveModel = job_row(&app, &job_id).await.into();
        row.status = Set("running".into());
        row.attempts = Set(1);
        row.locked_by = Set(Some("dead-process".into()));
        row.locked_until = Set(Some(Utc::now() + Duration::seconds(60)));
        row.update(&app.state.db).await.unwrap();
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 0, "{backend}: a live lock is respected");

        let mut row: job::ActiveModel = job_row(&app, &job_id).await.into();
        row.locked_until = Set(Some(Utc::now() - Duration::seconds(1)));
        row.update(&app.state.db).await.unwrap();
        assert_eq!(jobs::run_due_jobs_once(&app.state).await.unwrap(), 1, "{backend}");
        let row = job_row(&app, &job_id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("done", 2), "{backend}");
        assert_eq!(checks_of(&app, &session).await.len(), 7, "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_claimers_run_each_job_exactly_once() {
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let client = app.demo_client_id.clone();
        let mut sessions = Vec::new();
        for _ in 0..50 {
            let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
            jobs::enqueue(&app.state.db, JobKind::AnalyzeLiveness, &client, &session, serde_json::json!({})).await.unwrap();
            sessions.push(session);
        }
        let a = app.state.clone();
        let b = app.state.clone();
        let (ran_a, ran_b) = tokio::join!(
            tokio::spawn(async move { jobs::run_due_jobs_once(&a).await.unwrap() }),
            tokio::spawn(async move { jobs::run_due_jobs_once(&b).await.unwrap() }),
        );
        let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());
        assert_eq!(ran_a + ran_b, 50, "{backend}: {ran_a} + {ran_b}");

        let rows = job::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 50);
        for row in &rows {
            assert_eq!((row.status.as_str(), row.attempts), ("done", 1), "{backend}: job {}", row.id);
        }
        for session in &sessions {
            assert_eq!(checks_of(&app, session).await.len(), 2, "{backend}");
        }
        app.cleanup().await;
    }
}

#[tokio::test]
async fn background_workers_pick_up_enqueued_jobs() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| {
            c.job_workers = 2;
            c.job_poll_ms = 5000;
            c.sweep_interval_secs = 0;
        })
        .await;
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        jobs::enqueue(&app.state.db, JobKind::AnalyzeLiveness, &client, &session, serde_json::json!({})).await.unwrap();
        // Well under the 5 s poll: the enqueue woke a worker.
        assert!(
            jobs::wait_for_session(&app.state.db, &session, std::time::Duration::from_secs(3)).await.unwrap(),
            "{backend}"
        );
        assert_eq!(checks_of(&app, &session).await.len(), 2, "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn sweeper_expires_past_sessions_and_unblocks_after_blocked_until() {
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let db = &app.state.db;
        let stale_idv = insert_idv(&app, "in_progress", Duration::minutes(-1)).await;
        let stale_ida = insert_ida(&app, "in_progress", Duration::minutes(-1)).await;
        let blocked_stale = insert_idv(&app, "temporarily_blocked", Duration::minutes(-1)).await;
        let done = insert_idv(&app, "complete", Duration::minutes(-1)).await;
        let fresh = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let blocked = insert_idv(&app, "temporarily_blocked", Duration::hours(1)).await;
        let blocked_ida = insert_ida(&app, "temporarily_blocked", Duration::hours(1)).await;
        let until = Utc::now() + Duration::minutes(10);
        for id in [&blocked] {
            let mut row: idv_session::ActiveModel = idv_session::Entity::find_by_id(id.clone()).one(db).await.unwrap().unwrap().into();
            row.blocked_until = Set(Some(until));
            row.update(db).await.unwrap();
        }
        use sea_orm::ConnectionTrait;
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            if backend == "postgres" {
                "UPDATE ida_session SET blocked_until = $1 WHERE id = $2"
            } else {
                "UPDATE ida_session SET blocked_until = ? WHERE id = ?"
            },
            [until.into(), blocked_ida.clone().into()],
        ))
        .await
        .unwrap();

        let report = lifecycle::sweep(db, Utc::now()).await.unwrap();
        assert_eq!(report, lifecycle::SweepReport { expired: 3, unblocked: 0 }, "{backend}");
        assert_eq!(idv_status(&app, &stale_idv).await, "expired");
        assert_eq!(idv_status(&app, &blocked_stale).await, "expired");
        assert_eq!(idv_status(&app, &done).await, "complete", "finished sessions are left alone");
        assert_eq!(idv_status(&app, &fresh).await, "in_progress");
        assert_eq!(idv_status(&app, &blocked).await, "temporarily_blocked");
        let ida = ida_session::Entity::find_by_id(stale_ida.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(ida.status, "expired", "{backend}");
        assert_eq!(events_of(&app, &stale_idv).await, vec![("expired".to_string(), "system".to_string())]);
        assert_eq!(events_of(&app, &stale_ida).await, vec![("expired".to_string(), "system".to_string())]);

        // A second sweep changes nothing and writes no more history.
        assert_eq!(lifecycle::sweep(db, Utc::now()).await.unwrap(), lifecycle::SweepReport::default());
        assert_eq!(events_of(&app, &stale_idv).await.len(), 1);

        // After blocked_until both blocked sessions are back in progress.
        let later = until + Duration::seconds(1);
        let report = lifecycle::sweep(db, later).await.unwrap();
        assert_eq!(report, lifecycle::SweepReport { expired: 0, unblocked: 2 }, "{backend}");
        let row = idv_session::Entity::find_by_id(blocked.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.blocked_until), ("in_progress", None), "{backend}");
        let ida = ida_session::Entity::find_by_id(blocked_ida.clone()).one(db).await.unwrap().unwrap();
        assert_eq!(ida.status, "in_progress", "{backend}");
        assert_eq!(events_of(&app, &blocked).await, vec![("unblocked".to_string(), "system".to_string())]);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn failed_attempts_block_at_the_threshold_and_the_sweeper_unblocks() {
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let db = &app.state.db;
        let cfg = app.state.config.clone();
        assert_eq!(cfg.blocked_max_failures, 3);
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;

        assert!(!lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "document_front", &cfg).await.unwrap());
        assert!(!lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "", &cfg).await.unwrap());
        let before = Utc::now();
        assert!(lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "selfie", &cfg).await.unwrap(), "{backend}");
        let row = idv_session::Entity::find_by_id(session.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.failed_attempts), ("temporarily_blocked", 3), "{backend}");
        let until = row.blocked_until.expect("blocked_until set");
        let expected = before + Duration::seconds(cfg.blocked_duration_secs as i64);
        assert!((until - expected).num_seconds().abs() <= 2, "{backend}: {until} vs {expected}");
        let events = events_of(&app, &session).await;
        let names: Vec<(&str, &str)> = events.iter().map(|(e, p)| (e.as_str(), p.as_str())).collect();
        assert_eq!(
            names,
            vec![
                ("attempt_failed", "document_front"),
                ("attempt_failed", "sdk"),
                ("attempt_failed", "selfie"),
                ("temporarily_blocked", "selfie"),
            ],
            "{backend}"
        );
        // Still blocked on a further failure; no second block event.
        assert!(lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "sdk", &cfg).await.unwrap());
        assert_eq!(events_of(&app, &session).await.iter().filter(|(e, _)| e == "temporarily_blocked").count(), 1);

        // Unblocked by the sweeper; the old failures no longer count.
        let report = lifecycle::sweep(db, until + Duration::seconds(1)).await.unwrap();
        assert_eq!(report.unblocked, 1, "{backend}");
        assert!(!lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "sdk", &cfg).await.unwrap(), "{backend}");

        // A session of another client is not found.
        let err = lifecycle::record_failed_attempt(db, SessionKind::Idv, "other-client", &session, "sdk", &cfg).await.unwrap_err();
        assert_eq!(err.status().as_u16(), 404);

        // IDA sessions block the same way.
        let ida = insert_ida(&app, "in_progress", Duration::hours(1)).await;
        for n in 1..=3 {
            let blocked = lifecycle::record_failed_attempt(db, SessionKind::Ida, &client, &ida, "sdk", &cfg).await.unwrap();
            assert_eq!(blocked, n == 3, "{backend} attempt {n}");
        }
        let row = ida_session::Entity::find_by_id(ida.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.failed_attempts), ("temporarily_blocked", 3), "{backend}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_finished_session_is_never_blocked() {
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let db = &app.state.db;
        let cfg = app.state.config.clone();
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "complete", Duration::hours(1)).await;
        for _ in 0..4 {
            assert!(!lifecycle::record_failed_attempt(db, SessionKind::Idv, &client, &session, "sdk", &cfg).await.unwrap());
        }
        let row = idv_session::Entity::find_by_id(session.clone()).one(db).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.blocked_until), ("complete", None), "{backend}");
        assert_eq!(job::Entity::find().count(db).await.unwrap(), 0);
        app.cleanup().await;
    }
}

/// Engines that answer from fixed values, to drive the installed-engine paths.
mod fake {
    use tessera::engine::*;
    use tessera::service::checks::names;
    use tessera::service::types::{DataSource, Gender};

    pub struct Document;

    impl DocumentEngine for Document {
        fn version(&self) -> String {
            "fake-doc 1".into()
        }

        fn analyze(&self, input: DocumentInput) -> EngineFuture<'_, DocumentAnalysis> {
            Box::pin(async move {
                let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
                Ok(match input.side {
                    // OCR of the front: a misread last name, and a street.
                    DocumentSide::Front => DocumentAnalysis {
                        fields: Some(DocumentFields {
                            data_source: Some(DataSource::Ocr),
                            last_name: Some("SMITN".into()),
                            street: Some("1 MAIN ST".into()),
                            ..Default::default()
                        }),
                        checks: vec![
                            CheckOutcome::pass(names::DOC_FRONT_SUSPICIOUS_WORDS, 0.97, "no suspicious words"),
                            CheckOutcome::fail(names::DOC_FRONT_IMAGE_MANIPULATION, 0.2, "edited region")
                                .with_evidence(serde_json::json!({ "region": [1, 2, 3, 4] })),
                        ],
                        ..Default::default()
                    },
                    // The barcode on the back: trusted over OCR.
                    DocumentSide::Back => DocumentAnalysis {
                        fields: Some(DocumentFields {
                            data_source: Some(DataSource::Barcode),
                            document_number: Some("D1234567".into()),
                            first_name: Some("JOHN".into()),
                            last_name: Some("SMITH".into()),
                            birth_date: date("1990-04-05"),
                            expires_at: date("2030-04-05"),
                            gender: Some(Gender::Male),
                            ..Default::default()
                        }),
                        checks: vec![CheckOutcome::pass(names::DOC_BACK_IS_IDENTITY_DOCUMENT, 0.9, "AAMVA barcode")],
                        ..Default::default()
                    },
                })
            })
        }
    }

    pub struct Live;

    impl LivenessEngine for Live {
        fn version(&self) -> String {
            "fake-live 1".into()
        }

        fn check(&self, input: LivenessInput) -> EngineFuture<'_, LivenessResult> {
            Box::pin(async move {
                Ok(LivenessResult {
                    is_live: !input.frames.is_empty(),
                    score: 0.93,
                    detail: format!("{} frame(s)", input.frames.len()),
                    evidence: None,
                })
            })
        }
    }

    /// Embeds an image as its byte length: equal images match.
    pub struct Face;

    impl FaceEngine for Face {
        fn version(&self) -> String {
            "fake-face 1".into()
        }

        fn embed(&self, image: Vec<u8>) -> EngineFuture<'_, Option<FaceEmbedding>> {
            Box::pin(async move { Ok(Some(FaceEmbedding { model: "len".into(), vector: vec![image.len() as f32] })) })
        }

        fn compare(&self, a: &FaceEmbedding, b: &FaceEmbedding) -> Result<FaceComparison, EngineError> {
            let distance = f64::from((a.vector[0] - b.vector[0]).abs());
            Ok(FaceComparison { distance, score: 1.0 / (1.0 + distance), is_match: distance < 1.0 })
        }
    }
}

#[tokio::test]
async fn installed_engines_record_outcomes_and_fill_the_current_document() {
    use std::sync::Arc;
    use tessera::engine::Engines;
    for backend in backends().await {
        let app = app(backend, 2000).await;
        let mut state = app.state.clone();
        state.engines = Arc::new(Engines {
            document: Some(Arc::new(fake::Document)),
            liveness: Some(Arc::new(fake::Live)),
            face: Some(Arc::new(fake::Face)),
            ..Default::default()
        });
        let client = app.demo_client_id.clone();
        let session = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let front = store_front(&app, &session).await;
        let back = store_front(&app, &session).await;
        let db = &app.state.db;
        jobs::enqueue(db, JobKind::AnalyzeDocumentFront, &client, &session, serde_json::json!({ "file_id": front }))
            .await
            .unwrap();
        jobs::enqueue(db, JobKind::AnalyzeDocumentBack, &client, &session, serde_json::json!({ "file_id": back }))
            .await
            .unwrap();
        // The liveness frame is the same picture as the document front: a match.
        jobs::enqueue(db, JobKind::AnalyzeLiveness, &client, &session, serde_json::json!({ "file_ids": [front] }))
            .await
            .unwrap();
        assert_eq!(jobs::run_due_jobs_once(&state).await.unwrap(), 3, "{backend}");

        let checks = checks_of(&app, &session).await;
        let by_name = |n: &str| checks.iter().find(|c| c.check_name == n).unwrap_or_else(|| panic!("{backend}: no {n}"));
        let manip = by_name(names::DOC_FRONT_IMAGE_MANIPULATION);
        assert_eq!((manip.status.as_str(), manip.score), ("fail", Some(0.2)), "{backend}");
        assert_eq!(manip.engine_version.as_deref(), Some("fake-doc 1"));
        assert_eq!(manip.evidence, Some(serde_json::json!({ "region": [1, 2, 3, 4] })));
        assert_eq!(by_name(names::DOC_FRONT_SUSPICIOUS_WORDS).status, "pass");
        let unassessed = by_name(names::DOC_FRONT_ONLINE_DUPLICATION);
        assert_eq!(unassessed.status, "unavailable");
        assert!(unassessed.detail.as_deref().unwrap_or("").contains("did not assess"), "{backend}");
        assert_eq!(by_name(names::DOC_BACK_IS_IDENTITY_DOCUMENT).status, "pass");
        // Both sides read: the crosschecks compare the front's OCR with the barcode (SMITN ~ SMITH).
        let name_check = by_name(names::NAME_CROSSCHECK);
        assert_eq!(
            (name_check.status.as_str(), name_check.engine_version.as_deref()),
            ("pass", Some("tessera-document-checks/1")),
            "{backend}"
        );
        assert_eq!(by_name(names::DOCUMENT_NUMBER_CROSSCHECK).status, "unavailable", "{backend}: the front shows no number");
        assert_eq!(by_name(names::LIVENESS).status, "pass", "{backend}");
        let face = by_name(names::FACE_MATCH);
        assert_eq!((face.status.as_str(), face.engine_version.as_deref()), ("pass", Some("fake-face 1")), "{backend}");
        assert_eq!(checks.len(), 13, "{backend}");

        let docs = entity::document::Entity::find()
            .filter(entity::document::Column::SessionId.eq(&session))
            .all(db)
            .await
            .unwrap();
        assert_eq!(docs.len(), 1, "{backend}: one current document");
        let doc = &docs[0];
        assert!(doc.is_current);
        assert_eq!(doc.data_source, "barcode", "{backend}");
        assert_eq!(doc.last_name.as_deref(), Some("SMITH"), "{backend}: the barcode wins over OCR");
        assert_eq!(doc.street.as_deref(), Some("1 MAIN ST"), "{backend}: OCR fills what the barcode lacks");
        assert_eq!(doc.document_number.as_deref(), Some("D1234567"));
        assert_eq!(doc.birth_date.as_deref(), Some("1990-04-05"));
        assert_eq!(doc.gender, "male");
        assert_eq!(doc.r#type, "driver_license");

        let row = idv_session::Entity::find_by_id(session.clone()).one(db).await.unwrap().unwrap();
        assert!(row.liveness_detected && row.liveness_detected_at.is_some(), "{backend}");
        app.cleanup().await;
    }
}

async fn idv_model(app: &TestApp, id: &str) -> idv_session::Model {
    idv_session::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap().expect("session")
}

async fn queue_front_job(app: &TestApp, session_id: &str) -> String {
    let file = store_front(app, session_id).await;
    let client = app.demo_client_id.clone();
    jobs::enqueue(&app.state.db, JobKind::AnalyzeDocumentFront, &client, session_id, serde_json::json!({ "file_id": file }))
        .await
        .unwrap()
}

/// Finalize makes its own session's progress and never runs (or waits for)
/// another session's queued work: with no workers, the other session's job
/// is still queued after this session was judged.
#[tokio::test]
async fn finalize_runs_only_its_own_sessions_jobs() {
    for backend in backends().await {
        let mut app = app(backend, 2000).await;
        app.state.engines = std::sync::Arc::new(tessera::engine::Engines::default());
        let other = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let other_job = queue_front_job(&app, &other).await;
        let own = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        let own_job = queue_front_job(&app, &own).await;

        let session = idv_model(&app, &own).await;
        let verdict = tessera::service::finalize::finalize_idv(&app.state, session, Default::default(), "test")
            .await
            .expect("finalize answers once its own job ran");
        assert!(!verdict.verified, "{backend}");
        assert_eq!(job_row(&app, &own_job).await.status, "done", "{backend}");
        assert_eq!(job_row(&app, &other_job).await.status, "queued", "{backend}: another session's job was touched");
        assert_eq!(idv_status(&app, &own).await, "complete", "{backend}");
    }
}

/// While its analysis runs past the wait, finalize answers 503 with
/// `Retry-After` and leaves the session open; a later call gets the verdict.
#[tokio::test]
async fn finalize_still_running_answers_503_with_retry_after() {
    for backend in backends().await {
        let mut app = TestApp::spawn_with(backend, |c| {
            c.job_workers = 0;
            c.sweep_interval_secs = 0;
            c.finalize_wait_secs = 0;
        })
        .await;
        app.state.engines = std::sync::Arc::new(tessera::engine::Engines::default());
        let own = insert_idv(&app, "in_progress", Duration::hours(1)).await;
        // A job that is running elsewhere (claimed, lock still valid) keeps the session busy.
        let job_id = queue_front_job(&app, &own).await;
        let mut row: job::ActiveModel = job_row(&app, &job_id).await.into();
        row.status = Set("running".into());
        row.locked_by = Set(Some("another-process".into()));
        row.locked_until = Set(Some(Utc::now() + Duration::minutes(5)));
        row.update(&app.state.db).await.unwrap();

        let session = idv_model(&app, &own).await;
        let err = tessera::service::finalize::finalize_idv(&app.state, session, Default::default(), "test")
            .await
            .expect_err("the analysis is still running");
        let response = axum::response::IntoResponse::into_response(err);
        assert_eq!(response.status(), 503, "{backend}");
        let retry_after = response.headers().get("retry-after").expect("Retry-After").to_str().unwrap().to_string();
        assert!(retry_after.parse::<u64>().unwrap() >= 1, "{backend}: {retry_after}");
        assert_eq!(idv_status(&app, &own).await, "in_progress", "{backend}: the session stays open");

        // The other process finishes; the next finalize answers.
        let mut row: job::ActiveModel = job_row(&app, &job_id).await.into();
        row.status = Set("done".into());
        row.update(&app.state.db).await.unwrap();
        let session = idv_model(&app, &own).await;
        tessera::service::finalize::finalize_idv(&app.state, session, Default::default(), "test").await.expect("verdict");
        assert_eq!(idv_status(&app, &own).await, "complete", "{backend}");
    }
}
