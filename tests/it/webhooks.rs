//! Webhook endpoints: the seed's create and list, update, delete, secret
//! rotation, test events, validation and tenancy.

use crate::common;

use base64::Engine;
use chrono::{Duration, Utc};
use crate::common::{TestApp, assert_problem, backends, seed};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const CREATE: &str = "/api/v1/webhook/create";
const LIST: &str = "/api/v1/webhook/list";

async fn create(app: &TestApp, key: &str, name: &str, url: &str) -> Value {
    let (s, _, b) = app.post_json(CREATE, Some(key), &json!({"name": name, "url": url})).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn list(app: &TestApp, key: &str, body: Value) -> Value {
    let (s, _, b) = app.post_json(LIST, Some(key), &body).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn row(app: &TestApp, id: &str) -> Option<entity::webhook::Model> {
    entity::webhook::Entity::find_by_id(id.to_string()).one(&app.state.db).await.unwrap()
}

fn open_secret(app: &TestApp, id: &str, sealed: &[u8]) -> String {
    tessera::service::webhooks::open_secret(app.state.storage.master_key(), id, sealed).unwrap()
}

async fn audit_count(app: &TestApp, action: &str, target: &str) -> u64 {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq(action))
        .filter(entity::audit_log::Column::TargetId.eq(target))
        .count(&app.state.db)
        .await
        .unwrap()
}

/// A second tenant and a platform-operator key.
async fn other_and_platform(app: &TestApp) -> (String, String, String) {
    let db = &app.state.db;
    let other = tessera::service::tenancy::create_client(db, "Other Inc", false).await.unwrap();
    let other_key = tessera::service::tenancy::create_api_key(db, &other.id, None, None).await.unwrap();
    let platform = tessera::service::tenancy::platform_client(db).await.unwrap().expect("platform client");
    let platform_key = tessera::service::tenancy::create_api_key(db, &platform.id, None, None).await.unwrap();
    (other.id, other_key.plaintext, platform_key.plaintext)
}

#[tokio::test]
async fn create_shows_the_secret_once_and_list_has_the_seed_shape() {
    let seed_list = seed::response_samples().last().cloned().unwrap();
    assert!(seed_list.get("webhooks").is_some(), "the last seed sample is webhook list: {seed_list}");
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let created = create(&app, &app.demo_key, "Orders", "https://example.com/hooks/tessera").await;
        let id = created["id"].as_str().unwrap();
        let secret = created["secret"].as_str().unwrap();
        let raw = secret.strip_prefix("whsec_").expect("whsec_ prefix");
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(raw).unwrap().len(), 24);

        // Stored encrypted, bound to the webhook id, enabled.
        let stored = row(&app, id).await.unwrap();
        assert!(!String::from_utf8_lossy(&stored.secret_ciphertext).contains(raw));
        assert_eq!(open_secret(&app, id, &stored.secret_ciphertext), secret);
        assert!(tessera::service::webhooks::open_secret(app.state.storage.master_key(), "other-id", &stored.secret_ciphertext).is_err());
        assert!(stored.enabled);
        assert_eq!(stored.client_id, app.demo_client_id);

        let body = list(&app, &app.demo_key, json!({})).await;
        let mut diff = Vec::new();
        seed::shape_diff("webhook list", &seed_list, &body, &mut diff);
        assert!(diff.is_empty(), "differs from the seed: {diff:#?}\n{body}");
        assert_eq!(
            body["webhooks"][0],
            json!({"id": id, "client_id": app.demo_client_id, "name": "Orders", "url": "https://example.com/hooks/tessera"})
        );
        assert_eq!(body["statistics"], json!({"total_rows": 1, "current_page": 1, "total_pages": 1}));
        assert!(!body.to_string().contains(raw), "secrets are never listed");
        assert_eq!(audit_count(&app, "webhook.create", id).await, 1);

        // A fresh secret per endpoint.
        let second = create(&app, &app.demo_key, "Second", "http://localhost:9000/h").await;
        assert_ne!(second["secret"], created["secret"]);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn list_pages_and_searches_name_or_url_case_insensitively() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        for i in 0..5 {
            create(&app, &key, &format!("hook {i}"), &format!("https://example.com/h/{i}")).await;
        }
        create(&app, &key, "Payments PROD", "https://example.com/p").await;
        create(&app, &key, "ledger", "https://hooks.example.com/PayMents/100%_done").await;

        let page = list(&app, &key, json!({"take": 3, "skip": 3})).await;
        assert_eq!(page["webhooks"].as_array().unwrap().len(), 3);
        assert_eq!(page["statistics"], json!({"total_rows": 7, "current_page": 2, "total_pages": 3}));
        let last = list(&app, &key, json!({"take": 3, "skip": 6})).await;
        assert_eq!(last["webhooks"].as_array().unwrap().len(), 1);
        assert_eq!(last["statistics"]["current_page"], 3);
        // Newest first.
        assert_eq!(list(&app, &key, json!({"take": 1})).await["webhooks"][0]["name"], "ledger");

        let found = list(&app, &key, json!({"search_term": "payMENTS"})).await;
        let mut names: Vec<&str> = found["webhooks"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["Payments PROD", "ledger"], "{found}");
        assert_eq!(found["statistics"], json!({"total_rows": 2, "current_page": 1, "total_pages": 1}));
        // LIKE wildcards are literal.
        let literal = list(&app, &key, json!({"search_term": "100%_"})).await;
        assert_eq!(literal["statistics"]["total_rows"], 1, "{literal}");
        let none = list(&app, &key, json!({"search_term": "%"})).await;
        assert_eq!(none["statistics"]["total_rows"], 1, "only the URL with a literal % matches: {none}");
        let nothing = list(&app, &key, json!({"search_term": "zzz"})).await;
        assert_eq!(nothing["statistics"], json!({"total_rows": 0, "current_page": 1, "total_pages": 0}));
        assert_eq!(list(&app, &key, json!({"search_term": "  "})).await["statistics"]["total_rows"], 7);

        let (s, ct, b) = app.post_json(LIST, Some(&key), &json!({"take": 501})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "take");
        let (s, ct, b) = app.post_json(LIST, Some(&key), &json!({"skip": -1})).await;
        assert_problem(s, &ct, &b, 400);
        assert_eq!(b["errors"][0]["field"], "skip");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for (body, field) in [
            (json!({"name": "x", "url": "example.com/hook"}), "url"),
            (json!({"name": "x", "url": "/relative"}), "url"),
            (json!({"name": "x", "url": "ftp://example.com/h"}), "url"),
            (json!({"name": "x", "url": "https://user:pw@example.com/h"}), "url"),
            (json!({"name": "x", "url": "https://user@example.com/h"}), "url"),
            (json!({"name": "x", "url": long}), "url"),
            (json!({"name": "x", "url": ""}), "url"),
            (json!({"name": "x", "url": 5}), "url"),
            (json!({"name": "x"}), "url"),
            (json!({"url": "https://example.com"}), "name"),
            (json!({"name": "   ", "url": "https://example.com"}), "name"),
            (json!({"name": "n".repeat(201), "url": "https://example.com"}), "name"),
        ] {
            let (s, ct, b) = app.post_json(CREATE, Some(&key), &body).await;
            assert_problem(s, &ct, &b, 400);
            assert_eq!(b["errors"][0]["field"], field, "{body} → {b}");
        }
        assert_eq!(list(&app, &key, json!({})).await["statistics"]["total_rows"], 0, "nothing was created");

        let id = create(&app, &key, "ok", "https://example.com/ok").await["id"].as_str().unwrap().to_string();
        for (path, body, field) in [
            ("/api/v1/webhook/update", json!({"id": id, "url": "mailto:a@b.c"}), "url"),
            ("/api/v1/webhook/update", json!({"id": id, "name": ""}), "name"),
            ("/api/v1/webhook/update", json!({"id": id, "enabled": "yes"}), "enabled"),
            ("/api/v1/webhook/update", json!({"name": "x"}), "id"),
            ("/api/v1/webhook/rotate-secret", json!({"id": id, "overlap_hours": 169}), "overlap_hours"),
            ("/api/v1/webhook/rotate-secret", json!({"id": id, "overlap_hours": -1}), "overlap_hours"),
            ("/api/v1/webhook/delete", json!({}), "id"),
            ("/api/v1/webhook/test", json!({"id": 7}), "id"),
        ] {
            let (s, ct, b) = app.post_json(path, Some(&key), &body).await;
            assert_problem(s, &ct, &b, 400);
            assert_eq!(b["errors"][0]["field"], field, "{path} {body} → {b}");
        }
        let stored = row(&app, &id).await.unwrap();
        assert_eq!((stored.name.as_str(), stored.url.as_str()), ("ok", "https://example.com/ok"));
        assert!(stored.previous_secret_ciphertext.is_none(), "a rejected rotation changed nothing");

        // Unknown ids, no credentials, wrong media type.
        for path in ["/api/v1/webhook/update", "/api/v1/webhook/delete", "/api/v1/webhook/rotate-secret", "/api/v1/webhook/test"] {
            let (s, ct, b) = app.post_json(path, Some(&key), &json!({"id": "nope"})).await;
            assert_problem(s, &ct, &b, 404);
            let (s, ct, b) = app.post_json(path, None, &json!({"id": id})).await;
            assert_problem(s, &ct, &b, 401);
        }
        let resp = app.http.post(app.url(CREATE)).bearer_auth(&key).header("content-type", "text/plain").body("x").send().await.unwrap();
        let (s, ct, b) = common::read(resp).await;
        assert_problem(s, &ct, &b, 415);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn production_accepts_only_https() {
    let app = TestApp::spawn_with("sqlite", |c| c.environment = "production".into()).await;
    let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &json!({"name": "x", "url": "http://example.com/h"})).await;
    assert_problem(s, &ct, &b, 400);
    assert_eq!(b["errors"][0]["field"], "url");
    let id = create(&app, &app.demo_key, "x", "https://example.com/h").await["id"].as_str().unwrap().to_string();
    let (s, ct, b) = app
        .post_json("/api/v1/webhook/update", Some(&app.demo_key), &json!({"id": id, "url": "http://example.com/h"}))
        .await;
    assert_problem(s, &ct, &b, 400);
    assert_eq!(b["errors"][0]["field"], "url");
    app.cleanup().await;
}

#[tokio::test]
async fn another_tenants_client_and_webhooks_are_not_found() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let (other_id, other_key, platform_key) = other_and_platform(&app).await;
        let theirs = create(&app, &other_key, "theirs", "https://other.example/h").await;
        let their_id = theirs["id"].as_str().unwrap().to_string();

        // An ordinary key cannot act for another client.
        let body = json!({"client_id": other_id, "name": "sneaky", "url": "https://evil.example/h"});
        let (s, ct, b) = app.post_json(CREATE, Some(&app.demo_key), &body).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app.post_json(LIST, Some(&app.demo_key), &json!({"client_id": other_id})).await;
        assert_problem(s, &ct, &b, 404);
        // Its own client id is fine.
        let own = list(&app, &app.demo_key, json!({"client_id": app.demo_client_id})).await;
        assert_eq!(own["statistics"]["total_rows"], 0, "{own}");

        // Another tenant's webhook id is 404 everywhere and stays untouched.
        for (path, extra) in [
            ("/api/v1/webhook/update", json!({"name": "hijacked", "enabled": false})),
            ("/api/v1/webhook/rotate-secret", json!({})),
            ("/api/v1/webhook/test", json!({})),
            ("/api/v1/webhook/delete", json!({})),
        ] {
            let mut body = extra;
            body["id"] = json!(their_id);
            let (s, ct, b) = app.post_json(path, Some(&app.demo_key), &body).await;
            assert_problem(s, &ct, &b, 404);
        }
        let stored = row(&app, &their_id).await.expect("still there");
        assert_eq!((stored.name.as_str(), stored.enabled), ("theirs", true));
        assert!(stored.previous_secret_ciphertext.is_none());
        assert_eq!(entity::webhook_delivery::Entity::find().count(&app.state.db).await.unwrap(), 0);

        // The platform operator may act for an existing client.
        let (s, _, b) = app
            .post_json(CREATE, Some(&platform_key), &json!({"client_id": other_id, "name": "by operator", "url": "https://other.example/op"}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(row(&app, b["id"].as_str().unwrap()).await.unwrap().client_id, other_id);
        let seen = list(&app, &platform_key, json!({"client_id": other_id})).await;
        assert_eq!(seen["statistics"]["total_rows"], 2, "{seen}");
        assert!(seen["webhooks"].as_array().unwrap().iter().all(|w| w["client_id"] == other_id.as_str()));
        let (s, ct, b) = app.post_json(LIST, Some(&platform_key), &json!({"client_id": "no-such-client"})).await;
        assert_problem(s, &ct, &b, 404);
        let (s, ct, b) = app
            .post_json(CREATE, Some(&platform_key), &json!({"client_id": "no-such-client", "name": "x", "url": "https://x.example"}))
            .await;
        assert_problem(s, &ct, &b, 404);
        // The other tenant sees only its own.
        let mine = list(&app, &other_key, json!({})).await;
        assert_eq!(mine["statistics"]["total_rows"], 2);
        assert_eq!(list(&app, &app.demo_key, json!({})).await["statistics"]["total_rows"], 0);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn update_rotate_test_and_delete() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let created = create(&app, &key, "Orders", "https://example.com/a").await;
        let id = created["id"].as_str().unwrap().to_string();
        let first_secret = created["secret"].as_str().unwrap().to_string();

        // Update: partial changes, disable and re-enable; the view never has the secret.
        let (s, _, v) = app
            .post_json("/api/v1/webhook/update", Some(&key), &json!({"id": id, "url": "https://example.com/b", "enabled": false}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["name"], "Orders");
        assert_eq!(v["url"], "https://example.com/b");
        assert_eq!(v["enabled"], false);
        assert!(v["disabled_reason"].is_string(), "{v}");
        assert!(v["created_at"].is_string() && v["updated_at"].is_string());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 8, "{v}");
        assert!(!v.to_string().contains("whsec_"));
        let (s, ct, b) = app.post_json("/api/v1/webhook/test", Some(&key), &json!({"id": id})).await;
        assert_problem(s, &ct, &b, 409);
        let (_, _, v) = app.post_json("/api/v1/webhook/update", Some(&key), &json!({"id": id, "enabled": true, "name": " Orders v2 "})).await;
        assert_eq!((v["enabled"].clone(), v["disabled_reason"].clone(), v["name"].clone()), (json!(true), Value::Null, json!("Orders v2")));
        assert_eq!(audit_count(&app, "webhook.update", &id).await, 2);

        // Rotation: new secret, the old one kept for the overlap.
        let before = Utc::now();
        let (s, _, r) = app.post_json("/api/v1/webhook/rotate-secret", Some(&key), &json!({"id": id, "overlap_hours": 48})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r.as_object().unwrap().len(), 1, "{r}");
        let second_secret = r["secret"].as_str().unwrap().to_string();
        assert!(second_secret.starts_with("whsec_") && second_secret != first_secret);
        let stored = row(&app, &id).await.unwrap();
        assert_eq!(open_secret(&app, &id, &stored.secret_ciphertext), second_secret);
        assert_eq!(open_secret(&app, &id, stored.previous_secret_ciphertext.as_ref().unwrap()), first_secret);
        let expires = stored.previous_secret_expires_at.unwrap();
        assert!(expires >= before + Duration::hours(48) && expires <= Utc::now() + Duration::hours(48), "{expires}");
        // Default overlap is 24 hours.
        let (_, _, r) = app.post_json("/api/v1/webhook/rotate-secret", Some(&key), &json!({"id": id})).await;
        let stored = row(&app, &id).await.unwrap();
        assert_eq!(open_secret(&app, &id, &stored.secret_ciphertext), r["secret"].as_str().unwrap());
        assert_eq!(open_secret(&app, &id, stored.previous_secret_ciphertext.as_ref().unwrap()), second_secret);
        let hours = (stored.previous_secret_expires_at.unwrap() - Utc::now()).num_minutes();
        assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");
        assert_eq!(audit_count(&app, "webhook.rotate_secret", &id).await, 2);

        // Test event: one pending outbox row.
        let (s, _, t) = app.post_json("/api/v1/webhook/test", Some(&key), &json!({"id": id})).await;
        assert_eq!(s, 200, "{t}");
        let delivery_id = t["delivery_id"].as_str().unwrap();
        let d = entity::webhook_delivery::Entity::find_by_id(delivery_id.to_string()).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(d.event_type, "webhook.test");
        assert_eq!(d.status, "pending");
        assert_eq!(d.webhook_id.as_deref(), Some(id.as_str()));
        assert_eq!(d.client_id, app.demo_client_id);
        assert_eq!(d.target_url, "https://example.com/b");
        assert_eq!(d.attempts, 0);
        assert!((Utc::now() - d.next_attempt_at).num_seconds() < 60);
        let payload: Value = serde_json::from_str(&d.payload).unwrap();
        assert_eq!(payload["type"], "webhook.test");
        assert_eq!(payload["data"], json!({"webhook_id": id}));
        assert!(chrono::DateTime::parse_from_rfc3339(payload["timestamp"].as_str().unwrap()).is_ok(), "{payload}");

        // Delete: gone from the list, later calls 404, the delivery history stays.
        let (s, _, b) = app.post_json("/api/v1/webhook/delete", Some(&key), &json!({"id": id})).await;
        assert_eq!((s, b), (200, json!({})));
        assert!(row(&app, &id).await.is_none());
        assert_eq!(list(&app, &key, json!({})).await["statistics"]["total_rows"], 0);
        let (s, ct, b) = app.post_json("/api/v1/webhook/delete", Some(&key), &json!({"id": id})).await;
        assert_problem(s, &ct, &b, 404);
        let d = entity::webhook_delivery::Entity::find_by_id(delivery_id.to_string()).one(&app.state.db).await.unwrap();
        assert!(d.is_some_and(|d| d.webhook_id.is_none()));
        assert_eq!(audit_count(&app, "webhook.delete", &id).await, 1);
        app.cleanup().await;
    }
}
