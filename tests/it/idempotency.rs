//! `Idempotency-Key` on creating POSTs: replay, conflicts, tenancy,
//! concurrency, expiry and release of failed claims.

use crate::common;

use chrono::{Duration, Utc};
use crate::common::{TestApp, assert_problem, backends};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

const WEBHOOK_CREATE: &str = "/api/v1/webhook/create";
const KEY_CREATE: &str = "/api/v1/api-key/create";

struct Answer {
    status: u16,
    content_type: String,
    replayed: bool,
    body: Value,
}

async fn post(app: &TestApp, path: &str, bearer: &str, idempotency_key: Option<&str>, body: &Value) -> Answer {
    send(&app.http, &app.url(path), bearer, idempotency_key, body.to_string()).await
}

async fn send(http: &reqwest::Client, url: &str, bearer: &str, idempotency_key: Option<&str>, body: String) -> Answer {
    let mut req = http.post(url).bearer_auth(bearer).header("content-type", "application/json").body(body);
    if let Some(k) = idempotency_key {
        req = req.header("Idempotency-Key", k);
    }
    let resp = req.send().await.expect("request");
    let replayed = resp.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let (status, content_type, body) = common::read(resp).await;
    Answer { status, content_type, replayed, body }
}

async fn webhook_count(app: &TestApp, bearer: &str) -> u64 {
    let (s, _, b) = app.post_json("/api/v1/webhook/list", Some(bearer), &json!({})).await;
    assert_eq!(s, 200, "{b}");
    b["statistics"]["total_rows"].as_u64().unwrap()
}

async fn api_key_count(app: &TestApp, bearer: &str) -> usize {
    let (s, _, b) = app.post_json("/api/v1/api-key/list", Some(bearer), &json!({})).await;
    assert_eq!(s, 200, "{b}");
    b["api_keys"].as_array().unwrap().len()
}

fn hook(name: &str) -> Value {
    json!({"name": name, "url": "https://example.com/hook"})
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_response() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();

        let first = post(&app, WEBHOOK_CREATE, &key, Some("order-1"), &hook("a")).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert!(!first.replayed);
        let again = post(&app, WEBHOOK_CREATE, &key, Some("order-1"), &hook("a")).await;
        assert_eq!((again.status, &again.body), (200, &first.body));
        assert!(again.replayed);
        assert!(again.content_type.starts_with("application/json"), "{}", again.content_type);
        assert_eq!(webhook_count(&app, &key).await, 1);

        // API keys: the replay returns the same key; only one was created.
        let k1 = post(&app, KEY_CREATE, &key, Some("key-1"), &json!({"name": "ci"})).await;
        let k2 = post(&app, KEY_CREATE, &key, Some("key-1"), &json!({"name": "ci"})).await;
        assert_eq!(k1.status, 200, "{}", k1.body);
        assert_eq!(k1.body, k2.body);
        assert!(k2.replayed && !k1.replayed);
        assert_eq!(api_key_count(&app, &key).await, 2, "the demo key and one new key");

        // Replayed secrets are not stored in clear.
        let rows = entity::idempotency_key::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(rows.len(), 2);
        let secret = first.body["secret"].as_str().unwrap();
        let api_key = k1.body["api_key"].as_str().unwrap();
        assert!(rows.iter().all(|r| !r.response_body.contains(secret) && !r.response_body.contains(api_key)));
        assert!(rows.iter().all(|r| r.response_status == 200 && r.client_id == app.demo_client_id));

        // A 4xx answer is stored and replayed too (the request will not succeed by repeating it).
        let bad = json!({"name": "x", "url": "ftp://nope"});
        let b1 = post(&app, WEBHOOK_CREATE, &key, Some("bad-1"), &bad).await;
        let b2 = post(&app, WEBHOOK_CREATE, &key, Some("bad-1"), &bad).await;
        assert_problem(b1.status, &b1.content_type, &b1.body, 400);
        assert_problem(b2.status, &b2.content_type, &b2.body, 400);
        assert_eq!(b1.body, b2.body);
        assert!(b2.replayed);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn same_key_with_another_request_is_422() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        assert_eq!(post(&app, WEBHOOK_CREATE, &key, Some("k"), &hook("a")).await.status, 200);

        let other_body = post(&app, WEBHOOK_CREATE, &key, Some("k"), &hook("b")).await;
        assert_problem(other_body.status, &other_body.content_type, &other_body.body, 422);
        assert_eq!(other_body.body["errors"][0]["field"], "Idempotency-Key", "{}", other_body.body);
        // The path is part of the request too.
        let other_path = post(&app, KEY_CREATE, &key, Some("k"), &hook("a")).await;
        assert_problem(other_path.status, &other_path.content_type, &other_path.body, 422);
        assert_eq!(webhook_count(&app, &key).await, 1);
        assert_eq!(api_key_count(&app, &key).await, 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn tenants_use_the_same_key_independently() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let other = tessera::service::tenancy::create_client(&app.state.db, "Other Inc", false).await.unwrap();
        let other_key = tessera::service::tenancy::create_api_key(&app.state.db, &other.id, None, None).await.unwrap().plaintext;

        let mine = post(&app, WEBHOOK_CREATE, &app.demo_key, Some("shared"), &hook("a")).await;
        let theirs = post(&app, WEBHOOK_CREATE, &other_key, Some("shared"), &hook("a")).await;
        assert_eq!((mine.status, theirs.status), (200, 200));
        assert!(!theirs.replayed);
        assert_ne!(mine.body["id"], theirs.body["id"]);
        // Within each tenant the key still replays.
        let mine_again = post(&app, WEBHOOK_CREATE, &app.demo_key, Some("shared"), &hook("a")).await;
        let theirs_again = post(&app, WEBHOOK_CREATE, &other_key, Some("shared"), &hook("a")).await;
        assert!(mine_again.replayed && theirs_again.replayed);
        assert_eq!((&mine_again.body, &theirs_again.body), (&mine.body, &theirs.body));
        // Even a different body is fine in another tenant.
        let theirs2 = post(&app, KEY_CREATE, &other_key, Some("mine-only"), &json!({})).await;
        assert_eq!(theirs2.status, 200);
        let mine2 = post(&app, WEBHOOK_CREATE, &app.demo_key, Some("mine-only"), &hook("c")).await;
        assert_eq!(mine2.status, 200, "{}", mine2.body);
        assert_eq!(webhook_count(&app, &app.demo_key).await, 2);
        assert_eq!(webhook_count(&app, &other_key).await, 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_key_or_a_tenant_nothing_changes() {
    for backend in backends().await {
        let app = TestApp::spawn_with(backend, |c| c.max_body_bytes = 16 * 1024).await;
        let key = app.demo_key.clone();
        let a = post(&app, WEBHOOK_CREATE, &key, None, &hook("a")).await;
        let b = post(&app, WEBHOOK_CREATE, &key, None, &hook("a")).await;
        assert_eq!((a.status, b.status), (200, 200));
        assert_ne!(a.body["id"], b.body["id"]);
        assert!(!a.replayed && !b.replayed);
        assert_eq!(webhook_count(&app, &key).await, 2);

        // No valid bearer key: the handler's 401, nothing claimed.
        let anon = post(&app, WEBHOOK_CREATE, "tsk_not_a_key", Some("x"), &hook("a")).await;
        assert_problem(anon.status, &anon.content_type, &anon.body, 401);
        // Non-creating endpoints ignore the header.
        let (s, _, _) = app.post_json("/api/v1/webhook/list", Some(&key), &json!({})).await;
        assert_eq!(s, 200);
        let list = send(&app.http, &app.url("/api/v1/webhook/list"), &key, Some("x"), "{}".into()).await;
        let list2 = send(&app.http, &app.url("/api/v1/webhook/list"), &key, Some("x"), "{}".into()).await;
        assert!(list.status == 200 && !list.replayed && !list2.replayed);
        assert!(entity::idempotency_key::Entity::find().all(&app.state.db).await.unwrap().is_empty());

        // Invalid keys name the header; an oversized body is 413.
        for bad in ["k".repeat(256), "has space".into(), "".into()] {
            let r = post(&app, WEBHOOK_CREATE, &key, Some(&bad), &hook("a")).await;
            assert_problem(r.status, &r.content_type, &r.body, 400);
            assert_eq!(r.body["errors"][0]["field"], "Idempotency-Key", "{}", r.body);
        }
        let ok = post(&app, WEBHOOK_CREATE, &key, Some(&"k".repeat(255)), &hook("long key")).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let big = post(&app, WEBHOOK_CREATE, &key, Some("big"), &hook(&"x".repeat(32 * 1024))).await;
        assert_problem(big.status, &big.content_type, &big.body, 413);
        assert_eq!(webhook_count(&app, &key).await, 3);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn fifty_parallel_identical_requests_create_one_object() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let url = app.url(WEBHOOK_CREATE);
        let body = hook("parallel").to_string();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (http, url, key, body) = (app.http.clone(), url.clone(), app.demo_key.clone(), body.clone());
                tokio::spawn(async move { send(&http, &url, &key, Some("burst"), body).await })
            })
            .collect();
        let answers: Vec<Answer> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();

        assert_eq!(webhook_count(&app, &app.demo_key).await, 1, "exactly one object");
        let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
        for a in &answers {
            assert!(a.status == 200 || a.status == 409, "unexpected {}: {}", a.status, a.body);
        }
        assert!(!ok.is_empty());
        let id = &ok[0].body["id"];
        assert!(id.is_string());
        assert!(ok.iter().all(|a| &a.body["id"] == id && a.body["secret"] == ok[0].body["secret"]));
        assert_eq!(ok.iter().filter(|a| !a.replayed).count(), 1, "one original answer, the rest replays");
        assert_eq!(ok.len(), 50, "all 50 finished well within the wait limit");
        app.cleanup().await;
    }
}

/// Inserts a claim row as another request would have left it.
async fn insert_claim(app: &TestApp, key: &str, request_hash: &str, status: i32, age: Duration) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    entity::idempotency_key::ActiveModel {
        id: Set(id.clone()),
        client_id: Set(app.demo_client_id.clone()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        response_status: Set(status),
        response_body: Set(String::new()),
        created_at: Set(Utc::now() - age),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

fn request_hash(path: &str, body: &str) -> String {
    tessera::ids::sha256_hex(format!("POST\n{path}\n{body}").as_bytes())
}

#[tokio::test]
async fn expired_keys_are_reusable_and_running_requests_are_waited_for() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let body = hook("w").to_string();

        // A day-old answer to another request no longer binds the key.
        insert_claim(&app, "old", "0000", 200, Duration::hours(25)).await;
        let fresh = send(&app.http, &app.url(WEBHOOK_CREATE), &key, Some("old"), body.clone()).await;
        assert_eq!(fresh.status, 200, "{}", fresh.body);
        assert!(!fresh.replayed);

        // A request still running: the duplicate waits for it and then sees the result.
        let claim = insert_claim(&app, "running", &request_hash(WEBHOOK_CREATE, &body), 0, Duration::zero()).await;
        let waiter = {
            let (http, url, key, body) = (app.http.clone(), app.url(WEBHOOK_CREATE), key.clone(), body.clone());
            tokio::spawn(async move { send(&http, &url, &key, Some("running"), body).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!waiter.is_finished(), "the duplicate waits while the first request runs");
        // The first request fails with a 5xx: its claim is released, so the waiter runs the request itself.
        entity::idempotency_key::Entity::delete_by_id(claim).exec(&app.state.db).await.unwrap();
        let answer = waiter.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(!answer.replayed);
        assert_eq!(webhook_count(&app, &key).await, 2);

        // A claim left by a process that died mid-request (still "in
        // progress" long after any create could run) is taken over.
        insert_claim(&app, "orphaned", &request_hash(WEBHOOK_CREATE, &body), 0, Duration::minutes(11)).await;
        let started = std::time::Instant::now();
        let taken_over = send(&app.http, &app.url(WEBHOOK_CREATE), &key, Some("orphaned"), body.clone()).await;
        assert_eq!(taken_over.status, 200, "{}", taken_over.body);
        assert!(!taken_over.replayed);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "no wait for a dead claim: {:?}", started.elapsed());
        let again = send(&app.http, &app.url(WEBHOOK_CREATE), &key, Some("orphaned"), body.clone()).await;
        assert!(again.replayed, "the new answer is stored under the key");
        assert_eq!(again.body["id"], taken_over.body["id"]);
        assert_eq!(webhook_count(&app, &key).await, 3);

        // A request that never finishes: 409 after the wait limit.
        insert_claim(&app, "stuck", &request_hash(WEBHOOK_CREATE, &body), 0, Duration::zero()).await;
        let started = std::time::Instant::now();
        let stuck = send(&app.http, &app.url(WEBHOOK_CREATE), &key, Some("stuck"), body.clone()).await;
        assert_problem(stuck.status, &stuck.content_type, &stuck.body, 409);
        assert!(started.elapsed() >= std::time::Duration::from_secs(9), "{:?}", started.elapsed());
        assert_eq!(webhook_count(&app, &key).await, 3);
        app.cleanup().await;
    }
}
