//! Webhook delivery end to end, with real HTTP receivers on loopback
//! (127.0.0.1:0 only; no test sends traffic anywhere else): Standard
//! Webhooks signatures checked by the independent `standardwebhooks` crate,
//! retries while the receiver is down, per-session sequence numbers, a
//! worker task and a `tessera serve` process killed mid-delivery, 410 and
//! Retry-After, the failing-endpoint
//! cut-off, the production address policy, the delivery log and redelivery.


use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use crate::common::{TestApp, backends};
use entity::{webhook, webhook_delivery};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera::config::Config;

/// What the receiver does with a request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// 429/503 with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// Never answers (the sender's process dies meanwhile).
    Hang,
}

#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
    at: Instant,
    answered: u16,
}

impl Received {
    fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_string()
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

type Policy = Arc<dyn Fn(&str, usize) -> Answer + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    policy: Policy,
}

impl Receiver {
    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: String) -> axum::response::Response {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let seen = r.log.lock().unwrap().iter().filter(|x| x.id() == id).count();
    let answer = (r.policy)(uri.path(), seen);
    let answered = match answer {
        Answer::Status(s) | Answer::RetryAfter(s, _) => s,
        Answer::Hang => 0,
    };
    r.log.lock().unwrap().push(Received { path: uri.path().to_string(), headers, body, at: Instant::now(), answered });
    match answer {
        Answer::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Answer::RetryAfter(s, secs) => {
            (StatusCode::from_u16(s).unwrap(), [("retry-after", secs.to_string())]).into_response()
        }
        Answer::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// An HTTP receiver on `addr` (127.0.0.1:0 for a fresh port).
async fn start_receiver(addr: SocketAddr, policy: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> (Receiver, SocketAddr) {
    let listener = bind_retrying(addr).await;
    let local = listener.local_addr().unwrap();
    let r = Receiver { log: Arc::default(), policy: Arc::new(policy) };
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, local)
}

async fn bind_retrying(addr: SocketAddr) -> tokio::net::TcpListener {
    for _ in 0..50 {
        if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot bind {addr}");
}

fn loopback_config(c: &mut Config, schedule: &str) {
    c.webhook_allow_loopback = true;
    c.webhook_workers = 1;
    c.webhook_poll_ms = 50;
    c.webhook_retry_schedule = tessera::config::RetrySchedule::parse(schedule).expect("schedule");
}

async fn register(app: &TestApp, name: &str, url: &str) -> (String, String) {
    let (s, _, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &json!({"name": name, "url": url})).await;
    assert_eq!(s, 200, "{b}");
    (b["id"].as_str().unwrap().to_string(), b["secret"].as_str().unwrap().to_string())
}

async fn create_session(app: &TestApp, body: Value) -> String {
    let (s, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &body).await;
    assert_eq!(s, 200, "{v}");
    v["session_id"].as_str().unwrap().to_string()
}

async fn sdk(app: &TestApp, path: &str, body: Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}: {}", resp.text().await.unwrap());
}

async fn deliveries(app: &TestApp) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find().all(&app.state.db).await.unwrap()
}

/// Polls `check` over the delivery rows until it holds or `secs` pass.
async fn wait_rows(app: &TestApp, secs: u64, what: &str, check: impl Fn(&[webhook_delivery::Model]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = deliveries(app).await;
        if check(&rows) {
            return;
        }
        if Instant::now() > deadline {
            let summary: Vec<_> = rows.iter().map(|d| (&d.event_type, &d.status, d.attempts, &d.last_error)).collect();
            panic!("timed out waiting for {what}: {summary:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn verify(secret: &str, r: &Received) {
    let hook = standardwebhooks::Webhook::new(secret).unwrap();
    hook.verify(r.body.as_bytes(), &r.headers).unwrap_or_else(|e| panic!("signature of {}: {e}", r.body));
}

#[tokio::test]
async fn signed_events_survive_a_receiver_outage_and_keep_their_ids_and_order() {
    for backend in backends().await {
        // The receiver's port, closed for now: the receiver is down.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let app = TestApp::spawn_with(backend, |c| loopback_config(c, &format!("0,300ms,300ms,500ms{}", ",1s".repeat(16)))).await;
        let (hook_id, secret) = register(&app, "Receiver", &format!("http://{port}/hook")).await;
        let session_url = format!("http://{port}/session-hook");
        let a = create_session(&app, json!({"webhook_url": session_url})).await;
        sdk(&app, "/api/v1/sdk/idv/consent", json!({"session_id": a, "consented": true})).await;
        let b = create_session(&app, json!({})).await;
        sdk(&app, "/api/v1/sdk/idv/metadata/update", json!({"session_id": a, "sdk_metadata": {"os": "ios"}})).await;
        sdk(&app, "/api/v1/sdk/idv/consent", json!({"session_id": b, "consented": true})).await;

        // A: 3 events to 2 targets, B: 2 events to the endpoint. All fail while the receiver is down.
        wait_rows(&app, 20, "a failed attempt of every event", |rows| {
            rows.len() == 8 && rows.iter().all(|d| d.attempts >= 1 && d.status != "delivered" && d.last_error.is_some())
        })
        .await;

        // Up again, failing the first request of each message once more (500), then accepting.
        let (receiver, _) = start_receiver(port, |_, seen| if seen == 0 { Answer::Status(500) } else { Answer::Status(204) }).await;
        wait_rows(&app, 30, "every event delivered", |rows| rows.iter().all(|d| d.status == "delivered")).await;

        let (s, _, session_secret) = app.post_json("/api/v1/webhook/session-secret", Some(&app.demo_key), &json!({})).await;
        assert_eq!(s, 200);
        let session_secret = session_secret["secret"].as_str().unwrap().to_string();
        assert_ne!(session_secret, secret);
        let got = receiver.received();
        let mut by_id: HashMap<String, Vec<&Received>> = HashMap::new();
        for r in &got {
            verify(if r.path == "/hook" { &secret } else { &session_secret }, r);
            by_id.entry(r.id()).or_default().push(r);
        }
        let rows = deliveries(&app).await;
        assert_eq!(by_id.len(), rows.len());
        for d in &rows {
            let copies = &by_id[&d.id];
            // The same webhook-id and body on the 500 and on the retry that succeeded.
            assert!(copies.len() >= 2, "{} arrived {} times", d.id, copies.len());
            assert!(copies.iter().all(|c| c.body == d.payload && c.headers["webhook-id"] == d.id.as_str()));
            assert_eq!(copies.iter().map(|c| c.answered).collect::<Vec<_>>().last(), Some(&204));
            assert_eq!(d.webhook_id.as_deref(), if copies[0].path == "/hook" { Some(hook_id.as_str()) } else { None });
        }

        // Per session, the sequence numbers put the accepted events back in history order.
        // (path, session) → [(sequence, type, step)]
        type Events = Vec<(i64, String, String)>;
        let mut per_session: BTreeMap<(String, String), Events> = BTreeMap::new();
        for r in got.iter().filter(|r| r.answered == 204) {
            let v = r.json();
            let data = &v["data"];
            let allowed = ["session_id", "session_kind", "sequence", "status", "occurred_at", "step"];
            assert!(data.as_object().unwrap().keys().all(|k| allowed.contains(&k.as_str())), "not thin: {v}");
            let step = data["step"].as_str().unwrap_or("").to_string();
            per_session
                .entry((r.path.clone(), data["session_id"].as_str().unwrap().to_string()))
                .or_default()
                .push((data["sequence"].as_i64().unwrap(), v["type"].as_str().unwrap().to_string(), step));
        }
        let expect_a = vec![
            (1, "session.created".to_string(), String::new()),
            (2, "session.updated".to_string(), "consent".to_string()),
            (3, "session.updated".to_string(), "sdk_metadata_updated".to_string()),
        ];
        let expect_b = expect_a[..2].to_vec();
        for ((path, session), mut events) in per_session.clone() {
            events.sort();
            let expected = if session == a { &expect_a } else { &expect_b };
            assert_eq!(events.iter().map(|e| (e.0, e.1.clone())).collect::<Vec<_>>(),
                expected.iter().map(|e| (e.0, e.1.clone())).collect::<Vec<_>>(), "{path} {session}");
        }
        assert_eq!(per_session.len(), 3, "A at both targets, B at the endpoint: {per_session:?}");

        // The delivery log: every attempt with its outcome, newest delivery first.
        let (s, _, log) = app
            .post_json("/api/v1/webhook/delivery/list", Some(&app.demo_key), &json!({"webhook_id": hook_id, "take": 10}))
            .await;
        assert_eq!(s, 200, "{log}");
        assert_eq!(log["meta_counts"]["total"], 5);
        let first = &log["deliveries"][0];
        assert_eq!(first["status"], "delivered");
        let attempts = first["attempt_log"].as_array().unwrap();
        assert!(attempts.len() >= 3, "{first}");
        assert!(attempts[0]["status_code"].is_null() && attempts[0]["error"].is_string(), "{first}");
        let codes: Vec<&Value> = attempts.iter().map(|a| &a["status_code"]).collect();
        assert_eq!(&codes[codes.len() - 2..], &[&json!(500), &json!(204)], "{first}");
        assert!(attempts.iter().all(|a| a["latency_ms"].as_i64().unwrap() >= 0 && a["attempted_at"].is_string()));
        assert_eq!(first["payload"]["type"], first["event_type"]);
        let (s, _, bad) = app.post_json("/api/v1/webhook/delivery/list", Some(&app.demo_key), &json!({"status": "lost"})).await;
        assert_eq!((s, bad["errors"][0]["field"].clone()), (400, json!("status")));

        // Manual redelivery of one event: the same webhook-id again.
        let id = first["id"].as_str().unwrap().to_string();
        let before = receiver.received().len();
        let (s, _, again) = app.post_json("/api/v1/webhook/delivery/redeliver", Some(&app.demo_key), &json!({"id": id})).await;
        assert_eq!((s, again["status"].clone(), again["attempts"].clone()), (200, json!("pending"), json!(0)), "{again}");
        wait_for(10, "the redelivery", || receiver.received().len() > before).await;
        let last = receiver.received().pop().unwrap();
        assert_eq!(last.id(), id);
        verify(&secret, &last);
        let (s, _, _) = app.post_json("/api/v1/webhook/delivery/redeliver", Some(&app.demo_key), &json!({"id": "nope"})).await;
        assert_eq!(s, 404);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_loses_nothing() {
    for backend in backends().await {
        let (receiver, addr) =
            start_receiver("127.0.0.1:0".parse().unwrap(), |_, seen| if seen == 0 { Answer::Hang } else { Answer::Status(200) }).await;
        let app = TestApp::spawn_with(backend, |c| {
            loopback_config(c, "0,200ms,200ms");
            c.webhook_workers = 0; // this test runs its own worker
            c.webhook_timeout_secs = 2;
        })
        .await;
        let (_, secret) = register(&app, "Receiver", &format!("http://{addr}/hook")).await;
        let worker = tessera::service::delivery::spawn_worker(&app.state);
        create_session(&app, json!({})).await;
        wait_for(10, "the first request", || !receiver.received().is_empty()).await;

        // The process dies while the receiver holds the request.
        worker.abort();
        let _ = worker.await;
        let rows = deliveries(&app).await;
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sending", 1));

        // A restarted server (fresh state over the same database) picks it up once the claim's lease ends.
        let restarted = tessera::build_state((*app.state.config).clone()).await.unwrap();
        let worker = tessera::service::delivery::spawn_worker(&restarted);
        wait_rows(&app, 20, "the delivery after the restart", |rows| rows[0].status == "delivered").await;
        worker.abort();
        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].id(), got[1].id());
        assert_eq!(got[0].id(), rows[0].id);
        verify(&secret, &got[1]);
        let attempts = entity::webhook_attempt::Entity::find()
            .filter(entity::webhook_attempt::Column::DeliveryId.eq(&rows[0].id))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        assert!(attempts.iter().any(|a| a.error.as_deref().is_some_and(|e| e.contains("stopped"))), "{attempts:?}");
        assert!(attempts.iter().any(|a| a.status_code == Some(200)), "{attempts:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_retry_after_delays_the_next_attempt() {
    for backend in backends().await {
        let (receiver, addr) = start_receiver("127.0.0.1:0".parse().unwrap(), |path, seen| match (path, seen) {
            ("/gone", _) => Answer::Status(410),
            ("/busy", 0) => Answer::RetryAfter(429, 2),
            _ => Answer::Status(200),
        })
        .await;
        let app = TestApp::spawn_with(backend, |c| loopback_config(c, "0,100ms,100ms,100ms")).await;
        let (gone, _) = register(&app, "Gone", &format!("http://{addr}/gone")).await;
        register(&app, "Busy", &format!("http://{addr}/busy")).await;
        let (_, ok_secret) = register(&app, "Ok", &format!("http://{addr}/ok")).await;
        create_session(&app, json!({})).await;
        wait_rows(&app, 20, "the first event settled everywhere", |rows| {
            rows.iter().filter(|d| d.event_type == "session.created").all(|d| d.status == "delivered" || d.status == "failed")
                && rows.iter().any(|d| d.event_type == "webhook.disabled" && d.status == "delivered")
        })
        .await;

        // 410: the endpoint is disabled, with the reason as its dashboard flag, and the client told.
        let hook = webhook::Entity::find_by_id(gone.clone()).one(&app.state.db).await.unwrap().unwrap();
        assert!(!hook.enabled);
        assert_eq!(hook.disabled_reason.as_deref(), Some("the endpoint answered 410 Gone"));
        let got = receiver.received();
        assert_eq!(got.iter().filter(|r| r.path == "/gone").count(), 1, "no retry after 410");
        let told: Vec<&Received> = got.iter().filter(|r| r.json()["type"] == "webhook.disabled").collect();
        assert_eq!(told.iter().map(|r| r.path.as_str()).collect::<std::collections::BTreeSet<_>>(), ["/busy", "/ok"].into());
        let notice = told.iter().find(|r| r.path == "/ok").unwrap();
        verify(&ok_secret, notice);
        assert_eq!(notice.json()["data"]["webhook_id"], gone.as_str());

        // 429 + Retry-After: 2 → the retry waited about 2 s, not the schedule's 100 ms.
        let busy: Vec<&Received> = got.iter().filter(|r| r.path == "/busy" && r.json()["type"] == "session.created").collect();
        assert_eq!(busy.len(), 2);
        let waited = busy[1].at - busy[0].at;
        assert!(waited >= Duration::from_millis(1900), "retried after {waited:?}");

        // The disabled endpoint gets nothing more.
        create_session(&app, json!({})).await;
        wait_rows(&app, 20, "the second event delivered", |rows| {
            rows.iter().filter(|d| d.event_type == "session.created").count() == 5 && rows.iter().all(|d| d.status != "pending" && d.status != "sending")
        })
        .await;
        assert_eq!(receiver.received().iter().filter(|r| r.path == "/gone").count(), 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_endpoint_failing_for_too_long_is_disabled() {
    for backend in backends().await {
        let (_receiver, addr) = start_receiver("127.0.0.1:0".parse().unwrap(), |_, _| Answer::Status(500)).await;
        let app = TestApp::spawn_with(backend, |c| {
            loopback_config(c, "0,700ms,700ms,700ms,700ms,700ms");
            c.webhook_disable_after_secs = 1;
        })
        .await;
        let (id, _) = register(&app, "Broken", &format!("http://{addr}/hook")).await;
        create_session(&app, json!({})).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let hook = loop {
            let hook = webhook::Entity::find_by_id(id.clone()).one(&app.state.db).await.unwrap().unwrap();
            if !hook.enabled || Instant::now() > deadline {
                break hook;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(!hook.enabled, "still enabled: {hook:?}");
        assert!(hook.disabled_reason.as_deref().unwrap().starts_with("deliveries failed for"), "{hook:?}");
        // Not on the first failure: the endpoint had to fail for the whole period.
        let rows = deliveries(&app).await;
        assert!(rows[0].attempts >= 2, "{rows:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn production_refuses_loopback_by_ip_and_by_name_without_connecting() {
    // A plain listener that only counts connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let app = TestApp::spawn_with("sqlite", |c| {
        c.environment = "production".into();
        loopback_config(c, "0");
    })
    .await;
    // An IP literal the policy refuses is refused at registration already.
    let by_ip = json!({"name": "By IP", "url": format!("https://127.0.0.1:{}/hook", addr.port())});
    let (s, _, b) = app.post_json("/api/v1/webhook/create", Some(&app.demo_key), &by_ip).await;
    assert_eq!((s, &b["errors"][0]["field"]), (400, &json!("url")), "{b}");
    // A name is resolved at connect time: the delivery is refused then, at once (no retry).
    register(&app, "By name", &format!("https://localhost:{}/hook", addr.port())).await;
    create_session(&app, json!({})).await;
    wait_rows(&app, 20, "the delivery refused", |rows| rows.len() == 1 && rows.iter().all(|d| d.status == "failed")).await;
    for d in deliveries(&app).await {
        assert!(d.last_error.as_deref().unwrap().contains("address policy"), "{d:?}");
        assert_eq!(d.last_status_code, None);
    }

    // Redelivering the failed ones is refused again, still without a connection.
    let (s, _, r) = app.post_json("/api/v1/webhook/delivery/redeliver-failed", Some(&app.demo_key), &json!({})).await;
    assert_eq!((s, r), (200, json!({"queued": 1})));
    let deadline = Instant::now() + Duration::from_secs(20);
    while entity::webhook_attempt::Entity::find().all(&app.state.db).await.unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the redeliveries were not attempted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_rows(&app, 20, "the redeliveries refused", |rows| rows.iter().all(|d| d.status == "failed")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the receiver saw a connection");
    app.cleanup().await;
}

async fn insert_identity(app: &TestApp) -> String {
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let id = tessera::ids::new_id();
    entity::identity::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        user_id: Set(None),
        external_id: Set(None),
        first_name: Set(Some("Jane".into())),
        middle_name: Set(None),
        last_name: Set(Some("Doe".into())),
        suffix_name: Set(None),
        birth_date: Set(Some("1980-05-06".into())),
        gender: Set("female".into()),
        street: Set(None),
        city: Set(None),
        state: Set(None),
        postal_code: Set(None),
        email: Set(None),
        phone: Set(None),
        document_front_given: Set(true),
        document_front_given_at: Set(Some(now)),
        liveness_detected: Set(true),
        liveness_detected_at: Set(Some(now)),
        ofac_status: Set("clear".into()),
        ofac_detected_at: Set(Some(now)),
        dmv_status: Set("match".into()),
        dmv_detected_at: Set(Some(now)),
        verified: Set(true),
        verified_at: Set(Some(now)),
        last_verified: Set(Some(now)),
        score: Set(Some(0.9)),
        metadata: Set(json!({})),
        latest_idv_session_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

async fn events_of(app: &TestApp, session_or_identity: &str) -> Vec<(String, i64, Value)> {
    let mut rows: Vec<(String, i64, Value)> = deliveries(app)
        .await
        .into_iter()
        .map(|d| (d.event_type, d.sequence, serde_json::from_str::<Value>(&d.payload).unwrap()))
        .filter(|(_, _, p)| p["data"]["session_id"] == session_or_identity || p["data"]["identity_id"] == session_or_identity)
        .collect();
    rows.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    rows
}

#[tokio::test]
async fn every_event_type_is_written_in_the_transaction_of_its_change() {
    use sea_orm::TransactionTrait;
    use sea_orm::sea_query::Expr;
    use tessera::service::history::{self, SessionKind};
    for backend in backends().await {
        // No worker runs: this test reads the outbox rows only.
        let app = TestApp::spawn(backend).await;
        register(&app, "Log", "http://127.0.0.1:9/never-sent").await;
        let db = &app.state.db;
        let identity = insert_identity(&app).await;

        // IDV finalize (as service::finalize does it: the row, then the history entry, one transaction).
        let s = create_session(&app, json!({})).await;
        let client_id = app.demo_client_id.clone();
        let finalize = |commit: bool| {
            let (s, identity, client_id) = (s.clone(), identity.clone(), client_id.clone());
            async move {
                let txn = db.begin().await.unwrap();
                entity::idv_session::Entity::update_many()
                    .col_expr(entity::idv_session::Column::Status, Expr::value("complete"))
                    .col_expr(entity::idv_session::Column::Verified, Expr::value(true))
                    .col_expr(entity::idv_session::Column::OfacStatus, Expr::value("hit"))
                    .col_expr(entity::idv_session::Column::IdentityId, Expr::value(identity))
                    .filter(entity::idv_session::Column::Id.eq(&s))
                    .exec(&txn)
                    .await
                    .unwrap();
                history::append(&txn, SessionKind::Idv, &client_id, &s, "finalized", "test", None).await.unwrap();
                if commit { txn.commit().await.unwrap() } else { txn.rollback().await.unwrap() }
            }
        };
        finalize(false).await;
        assert_eq!(events_of(&app, &s).await.len(), 1, "a rolled-back change leaves no event");
        finalize(true).await;
        let events = events_of(&app, &s).await;
        let types: Vec<(&str, i64)> = events.iter().map(|e| (e.0.as_str(), e.1)).collect();
        assert_eq!(
            types,
            [("session.created", 1), ("identity.sanctions_hit", 2), ("identity.verified", 2), ("session.completed", 2)]
        );
        let completed = &events.iter().find(|e| e.0 == "session.completed").unwrap().2;
        assert_eq!(completed["data"]["verified"], true);
        assert_eq!(completed["data"]["identity_id"], identity.as_str());
        assert_eq!(completed["data"]["status"], "complete");
        for (_, _, p) in &events {
            let text = p.to_string();
            assert!(!text.contains("Jane") && !text.contains("1980"), "PII in {text}");
        }
        assert_eq!(completed["data"]["review_required"], false);

        // A finalize the verdict policy sent to review: not verified, and a
        // `session.review_required` event next to `session.completed`.
        let held = create_session(&app, json!({})).await;
        let txn = db.begin().await.unwrap();
        entity::idv_session::Entity::update_many()
            .col_expr(entity::idv_session::Column::Status, Expr::value("complete"))
            .col_expr(entity::idv_session::Column::Verified, Expr::value(false))
            .col_expr(entity::idv_session::Column::ReviewRequired, Expr::value(true))
            .filter(entity::idv_session::Column::Id.eq(&held))
            .exec(&txn)
            .await
            .unwrap();
        history::append(&txn, SessionKind::Idv, &client_id, &held, "finalized", "test", None).await.unwrap();
        txn.commit().await.unwrap();
        let events = events_of(&app, &held).await;
        let types: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(types, ["session.created", "session.completed", "session.review_required"], "{events:?}");
        for (_, _, p) in &events[1..] {
            assert_eq!((p["data"]["verified"].as_bool(), p["data"]["review_required"].as_bool()), (Some(false), Some(true)), "{p}");
        }

        // IDA finalize.
        let (st, _, ida) =
            app.post_json("/api/v1/ida/session/create", Some(&app.demo_key), &json!({"identity_id": identity})).await;
        assert_eq!(st, 200, "{ida}");
        let ida = ida["session_id"].as_str().unwrap().to_string();
        let txn = db.begin().await.unwrap();
        entity::ida_session::Entity::update_many()
            .col_expr(entity::ida_session::Column::Status, Expr::value("complete"))
            .col_expr(entity::ida_session::Column::Authenticated, Expr::value(true))
            .filter(entity::ida_session::Column::Id.eq(&ida))
            .exec(&txn)
            .await
            .unwrap();
        history::append(&txn, SessionKind::Ida, &app.demo_client_id, &ida, "finalized", "test", None).await.unwrap();
        txn.commit().await.unwrap();
        let events = events_of(&app, &ida).await;
        let last = events.last().unwrap();
        assert_eq!((last.0.as_str(), last.2["data"]["authenticated"].clone()), ("ida.completed", json!(true)));
        assert_eq!(last.2["data"]["session_kind"], "ida");

        // Expiry by the sweeper.
        let e = create_session(&app, json!({})).await;
        entity::idv_session::Entity::update_many()
            .col_expr(entity::idv_session::Column::ExpiresAt, Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)))
            .filter(entity::idv_session::Column::Id.eq(&e))
            .exec(db)
            .await
            .unwrap();
        tessera::service::lifecycle::sweep(db, chrono::Utc::now()).await.unwrap();
        let events = events_of(&app, &e).await;
        assert_eq!(events.iter().map(|e| (e.0.as_str(), e.1)).collect::<Vec<_>>(), [("session.created", 1), ("session.expired", 2)]);
        assert_eq!(events[1].2["data"]["status"], "expired");

        // Erasure.
        let (st, _, b) = app.post_json("/api/v1/identity/delete", Some(&app.demo_key), &json!({"identity_id": identity})).await;
        assert_eq!(st, 200, "{b}");
        let erased: Vec<_> = deliveries(&app).await.into_iter().filter(|d| d.event_type == "identity.erased").collect();
        assert_eq!(erased.len(), 1);
        let p: Value = serde_json::from_str(&erased[0].payload).unwrap();
        assert_eq!(p["data"]["identity_id"], identity.as_str());
        assert_eq!(erased[0].status, "pending");
        app.cleanup().await;
    }
}

/// A child process killed when dropped (also when an assertion fails).
struct Server(std::process::Child);

impl Server {
    fn kill(&mut self) {
        self.0.kill().ok(); // SIGKILL: no graceful shutdown
        self.0.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `tessera serve` as a separate process over the test's database and data dir.
fn spawn_server(app: &TestApp) -> Server {
    let c = &app.state.config;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.current_dir(&c.data_dir)
        .env_remove("TESSERA_CONFIG")
        .env("TESSERA_DATA_DIR", &c.data_dir)
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_LOG", "warn")
        .env("TESSERA_ENVIRONMENT", "test")
        .env("TESSERA_WEBHOOK_ALLOW_LOOPBACK", "true")
        .env("TESSERA_WEBHOOK_TIMEOUT_SECS", "2")
        .env("TESSERA_WEBHOOK_POLL_MS", "50")
        .env("TESSERA_WEBHOOK_WORKERS", "1")
        .env("TESSERA_WEBHOOK_RETRY_SCHEDULE", "0,200ms,200ms")
        .env("TESSERA_JOB_WORKERS", "0")
        .env("TESSERA_SWEEP_INTERVAL_SECS", "0")
        .env("TESSERA_SANCTIONS_REFRESH_HOURS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match &c.database_url {
        Some(url) => cmd.env("TESSERA_DATABASE_URL", url),
        None => cmd.env_remove("TESSERA_DATABASE_URL"),
    };
    Server(cmd.spawn().expect("start tessera"))
}

#[tokio::test]
async fn the_server_process_killed_mid_delivery_and_restarted_loses_nothing() {
    for backend in backends().await {
        let (receiver, addr) =
            start_receiver("127.0.0.1:0".parse().unwrap(), |_, seen| if seen == 0 { Answer::Hang } else { Answer::Status(200) }).await;
        // The test's own server writes the events but delivers nothing; the child process delivers.
        let app = TestApp::spawn_with(backend, |c| {
            loopback_config(c, "0,200ms,200ms");
            c.webhook_workers = 0;
        })
        .await;
        let (_, secret) = register(&app, "Receiver", &format!("http://{addr}/hook")).await;
        create_session(&app, json!({})).await;

        let mut server = spawn_server(&app);
        wait_for(60, "the first request from the server process", || !receiver.received().is_empty()).await;
        server.kill(); // while the receiver holds the request
        let rows = deliveries(&app).await;
        assert_eq!((rows.len(), rows[0].status.as_str()), (1, "sending"), "{rows:?}");

        let mut restarted = spawn_server(&app);
        let deadline = Instant::now() + Duration::from_secs(60);
        while deliveries(&app).await[0].status != "delivered" {
            if Instant::now() > deadline {
                panic!("not delivered after the restart: {:?}", deliveries(&app).await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        restarted.kill();
        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].id(), got[1].id()), (rows[0].id.clone(), rows[0].id.clone()));
        assert_eq!(got[0].body, got[1].body);
        verify(&secret, &got[1]);
        app.cleanup().await;
    }
}

/// The `v1,` entries of a received `webhook-signature` header.
fn signatures(r: &Received) -> Vec<String> {
    r.headers["webhook-signature"].to_str().unwrap().split(' ').map(str::to_string).collect()
}

/// Whether `secret` verifies `r` (any of its signatures).
fn verifies(secret: &str, r: &Received) -> bool {
    standardwebhooks::Webhook::new(secret).unwrap().verify(r.body.as_bytes(), &r.headers).is_ok()
}

#[tokio::test]
async fn a_rotated_secret_signs_with_both_secrets_during_the_overlap_and_alone_after() {
    for backend in backends().await {
        let (receiver, addr) = start_receiver("127.0.0.1:0".parse().unwrap(), |_, _| Answer::Status(200)).await;
        let app = TestApp::spawn_with(backend, |c| loopback_config(c, "0,100ms,100ms")).await;
        let (id, first) = register(&app, "Rotated", &format!("http://{addr}/hook")).await;
        let rotate = |overlap: u32| {
            let app = &app;
            let id = id.clone();
            async move {
                let (s, _, b) = app
                    .post_json("/api/v1/webhook/rotate-secret", Some(&app.demo_key), &json!({"id": id, "overlap_hours": overlap}))
                    .await;
                assert_eq!(s, 200, "{b}");
                b["secret"].as_str().unwrap().to_string()
            }
        };
        // Sends a test event and returns what the receiver got for it.
        let send_test = || {
            let app = &app;
            let (id, receiver) = (id.clone(), receiver.clone());
            async move {
                let (s, _, b) = app.post_json("/api/v1/webhook/test", Some(&app.demo_key), &json!({"id": id})).await;
                assert_eq!(s, 200, "{b}");
                let delivery = b["delivery_id"].as_str().unwrap().to_string();
                wait_for(20, "the test event", || receiver.received().iter().any(|r| r.id() == delivery)).await;
                receiver.received().into_iter().find(|r| r.id() == delivery).unwrap()
            }
        };

        let before = send_test().await;
        assert_eq!(signatures(&before).len(), 1, "one secret, one signature");
        assert!(verifies(&first, &before));

        // During the overlap: signed under the new secret and the previous one, new first.
        let second = rotate(24).await;
        let during = send_test().await;
        let sigs = signatures(&during);
        assert_eq!(sigs.len(), 2, "{sigs:?}");
        assert!(sigs.iter().all(|s| s.starts_with("v1,")), "{sigs:?}");
        assert!(verifies(&second, &during), "the new secret verifies");
        assert!(verifies(&first, &during), "a receiver still on the previous secret verifies");
        let mut only_first = during.clone();
        only_first.headers.insert("webhook-signature", sigs[1].parse().unwrap());
        assert!(verifies(&first, &only_first) && !verifies(&second, &only_first), "the second signature is the previous secret's");

        // Rotated again with no overlap: the newest secret alone; the others no longer verify.
        let third = rotate(0).await;
        let after = send_test().await;
        assert_eq!(signatures(&after).len(), 1);
        assert!(verifies(&third, &after));
        assert!(!verifies(&second, &after) && !verifies(&first, &after));
        app.cleanup().await;
    }
}
