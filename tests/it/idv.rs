//! IDV sessions end to end: every SDK step with real image files, then every
//! integrator endpoint; negative cases per group; lists over 1,000 sessions.


use std::io::Cursor;

use crate::common::{TestApp, assert_problem, backends, read};
use serde_json::{Value, json};

pub fn card_png(w: u32, h: u32) -> Vec<u8> {
    let mut img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 180]));
    for y in h / 4..h / 2 {
        for x in w / 10..w / 3 {
            img.put_pixel(x, y, image::Rgb([40, 40, 40]));
        }
    }
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn photo_jpeg(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([shade, ((x + y) % 200) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn sdk(app: &TestApp, client_id: &str, path: &str, body: Value) -> (u16, String, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", client_id).json(&body).send().await.unwrap();
    read(resp).await
}

async fn upload(app: &TestApp, client_id: &str, side: &str, session_id: &str, bytes: Vec<u8>, mime: &str) -> (u16, String, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("doc.img").mime_str(mime).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("session_id", session_id.to_string())
        .text("latitude", "40.7128")
        .text("longitude", "-74.0060")
        .part("image", part);
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/sdk/idv/document/{side}")))
        .header("X-Client-Id", client_id)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(resp).await
}

async fn create_session(app: &TestApp, body: Value) -> String {
    let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &body).await;
    assert_eq!(st, 200, "{v}");
    v["session_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn idv_session_walks_every_sdk_step_and_reads_back() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let cid = app.demo_client_id.clone();
        let sid = create_session(
            &app,
            json!({"metadata": {"customer": "c-42", "plan": "gold"}, "liveness_mode": "passive",
                   "webhook_url": "http://127.0.0.1:9/hook", "settings": {"perform_aamva_test": false}}),
        )
        .await;

        // Read before any step: in progress, pinned weights, history "created".
        let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{s}");
        assert_eq!(s["status_e"], "in_progress");
        assert_eq!(s["metadata"]["customer"], "c-42");
        assert_eq!(s["settings"]["perform_aamva_test"], false);
        assert_eq!(s["settings"]["perform_ofac_test"], true);
        assert_eq!(s["webhook_url"], "http://127.0.0.1:9/hook");
        let (_, _, w) = app.get(&format!("/api/v1/idv/weights/{}", s["idv_weights_id"].as_str().unwrap())).await;
        let _ = w;
        assert_eq!(s["history"][0]["event"], "created");

        // Consent is required first.
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
        assert_problem(st, &ct, &p, 409);
        assert!(p["detail"].as_str().unwrap().contains("consent"), "{p}");
        let (st, _, v) = sdk(&app, &cid, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["consented"], false);
        let (st, _, v) = sdk(&app, &cid, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        assert_eq!((st, v), (200, json!({})));

        let (st, _, _) = sdk(&app, &cid, "/api/v1/sdk/idv/metadata/update", json!({"session_id": sid, "sdk_metadata": {"os": "ios", "app": 3}})).await;
        assert_eq!(st, 200);
        let (st, _, _) = sdk(&app, &cid, "/api/v1/sdk/idv/metadata/update", json!({"session_id": sid, "sdk_metadata": {"app": null, "lang": "en"}})).await;
        assert_eq!(st, 200);
        let (st, _, _) = sdk(&app, &cid, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await;
        assert_eq!(st, 200);

        let front = card_png(856, 540);
        let (st, _, v) = upload(&app, &cid, "front", &sid, front.clone(), "image/png").await;
        assert_eq!(st, 200, "{v}");
        let back = photo_jpeg(856, 540, 120);
        let (st, _, v) = upload(&app, &cid, "back", &sid, back.clone(), "image/jpeg").await;
        assert_eq!(st, 200, "{v}");

        let (st, _, t) = sdk(&app, &cid, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 40.7, "longitude": -74.0})).await;
        assert_eq!(st, 200, "{t}");
        let token = t["token"].as_str().unwrap().to_string();
        // Generate records where the selfie capture started.
        let (st, _, loc) = app
            .post_json("/api/v1/idv/session/location", Some(&key), &json!({"session_id": sid, "location_capture_type_e": "selfie_image_capture"}))
            .await;
        assert_eq!(st, 200, "{loc}");
        assert_eq!((loc["device_latitude"].as_f64(), loc["device_longitude"].as_f64()), (Some(40.7), Some(-74.0)));
        let selfie = photo_jpeg(480, 640, 200);
        let (st, _, v) = sdk(
            &app,
            &cid,
            "/api/v1/sdk/idv/liveness/process",
            json!({"session_id": sid, "latitude": 40.7, "longitude": -74.0, "token": token, "images": [b64(&selfie)]}),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        assert!(v["token"].is_string());

        let (_, _, v) = sdk(&app, &cid, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(v["sdk_metadata"], json!({"os": "ios", "lang": "en"}));
        assert_eq!(v["document_type_e"], "driver_license");
        assert_eq!((v["document_front_given"].as_bool(), v["document_back_given"].as_bool(), v["selfie_given"].as_bool()), (Some(true), Some(true), Some(true)));
        assert_eq!(v["liveness_provider_e"], "local");

        // Finalize: no engines are installed, so nothing can be verified.
        let (st, _, f) = sdk(&app, &cid, "/api/v1/sdk/idv/finalize", json!({"session_id": sid, "settings": {"ocr_name_match_fail": true}})).await;
        assert_eq!(st, 200, "{f}");
        assert_eq!(f, json!({"verified": false, "on_sanction_list": false}));
        let (st, _, again) = sdk(&app, &cid, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_eq!((st, &again), (200, &f));
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        assert_problem(st, &ct, &p, 409);

        // Integrator reads.
        let (_, _, s) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(s["status_e"], "complete");
        assert_eq!(s["verified"], false);
        assert!(s["completed_at"].is_string() && s["document_front_given_at"].is_string() && s["selfie_given_at"].is_string());
        let events: Vec<&str> = s["history"].as_array().unwrap().iter().map(|h| h["event"].as_str().unwrap()).collect();
        for e in ["created", "consented", "sdk_metadata_updated", "document_type_set", "document_front_added", "document_back_added", "liveness_generated", "liveness_processed", "finalized"] {
            assert!(events.contains(&e), "{e} missing from {events:?}");
        }
        let reasons = s["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|r| r["check"] == "face_match" && r["code"] == "unavailable"), "{reasons:?}");
        assert_eq!(s["ofac_status_e"], "unavailable");

        let (st, _, loc) = app.post_json("/api/v1/idv/session/location", Some(&key), &json!({"session_id": sid, "location_capture_type_e": "front_doc_image_capture"})).await;
        assert_eq!(st, 200, "{loc}");
        assert_eq!(loc["device_latitude"], 40.7128);
        assert_eq!(loc["ip_address"], "127.0.0.1");
        let (st, _, loc) = app.post_json("/api/v1/idv/session/location", Some(&key), &json!({"session_id": sid, "location_capture_type_e": "selfie_image_capture"})).await;
        assert_eq!(st, 200, "{loc}");
        assert_eq!(loc["device_longitude"], -74.0);

        // Every check the engines would make is recorded, never invented.
        let (st, _, tests) = app.post_json("/api/v1/idv/session/tests", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{tests}");
        assert_eq!(tests["doc_front_suspicious_words"], "unavailable");
        assert_eq!(tests["doc_back_is_identity_document"], "unavailable");
        assert!(tests["name_crosscheck"].is_null());

        // Documents: the current document row, and the original bytes back.
        let (st, _, d) = app.post_json("/api/v1/idv/document/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200, "{d}");
        assert_eq!(d["type_e"], "driver_license");
        let (st, _, l) = app.post_json("/api/v1/idv/document/list", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200);
        assert_eq!(l["meta_counts"]["total"], 1);
        for (kind, bytes, ct) in [("driver_license_front", &front, "image/png"), ("driver_license_back", &back, "image/jpeg"), ("selfie", &selfie, "image/jpeg"), ("liveness_passive", &selfie, "image/jpeg")] {
            let resp = app
                .http
                .post(app.url("/api/v1/idv/document/download"))
                .bearer_auth(&key)
                .json(&json!({"session_id": sid, "storage_file_type_e": kind}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{kind}");
            assert_eq!(resp.headers()["content-type"], ct);
            assert_eq!(&resp.bytes().await.unwrap().to_vec(), bytes, "{kind}");
        }

        // Lists find it by metadata, search and status.
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"metadata": {"customer": "c-42"}, "status": "complete", "search_term": "GOL"})).await;
        assert_eq!(l["meta_counts"]["total"], 1, "{l}");
        assert_eq!(l["sessions"][0]["session_id"], sid.as_str());
        app.cleanup().await;
    }
}

#[tokio::test]
async fn sdk_and_integrator_negative_cases() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let key = app.demo_key.clone();
        let cid = app.demo_client_id.clone();
        let sid = create_session(&app, json!({})).await;

        // Unknown session, another tenant's session.
        let (st, ct, p) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": "nope"})).await;
        assert_problem(st, &ct, &p, 404);
        let other = tessera::service::tenancy::create_client(&app.state.db, "Other", false).await.unwrap();
        let other_key = tessera::service::tenancy::create_api_key(&app.state.db, &other.id, None, Some("k")).await.unwrap().plaintext;
        for path in ["/api/v1/idv/session/read", "/api/v1/idv/session/tests", "/api/v1/idv/document/list"] {
            let (st, ct, p) = app.post_json(path, Some(&other_key), &json!({"session_id": sid})).await;
            assert_problem(st, &ct, &p, 404);
        }
        let (st, ct, p) = sdk(&app, &other.id, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_problem(st, &ct, &p, 404);
        let (st, ct, p) = sdk(&app, "not-a-client", "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_problem(st, &ct, &p, 401);
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&other_key), &json!({})).await;
        assert_eq!(l["meta_counts"]["total"], 0);
        let (st, ct, p) = app.post_json("/api/v1/idv/session/list", Some(&other_key), &json!({"client_id": cid})).await;
        assert_problem(st, &ct, &p, 404);

        // All-optional bodies may be empty.
        let resp = app.http.post(app.url("/api/v1/idv/session/create")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "an empty create body means defaults");
        let resp = app.http.post(app.url("/api/v1/idv/session/list")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let resp = app.http.post(app.url("/api/v1/idv/session/list")).bearer_auth(&key).body("take=1").send().await.unwrap();
        let (st, ct, p) = read(resp).await;
        assert_problem(st, &ct, &p, 415);
        let (st, ct, p) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "session_id");

        // Bad enum values name the field.
        let (st, ct, p) = app.post_json("/api/v1/idv/session/create", Some(&key), &json!({"liveness_mode": "sleepy"})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "liveness_mode");
        let (st, ct, p) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"status": "done"})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "status");
        let (st, ct, p) = app.post_json("/api/v1/idv/session/create", Some(&key), &json!({"settings": {"aamva_retry_e": "never"}})).await;
        assert_problem(st, &ct, &p, 400);
        assert!(p["errors"][0]["field"].as_str().unwrap().contains("aamva_retry_e"), "{p}");
        sdk(&app, &cid, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "library_card"})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "document_type_e");

        // Images: oversized, garbage, truncated, bad coordinates.
        let mut big = card_png(64, 64);
        big.resize(10 * 1024 * 1024 + 10, 0);
        let (st, ct, p) = upload(&app, &cid, "front", &sid, big, "image/png").await;
        assert_problem(st, &ct, &p, 413);
        assert_eq!(p["errors"][0]["field"], "image", "{p}");
        let (st, ct, p) = upload(&app, &cid, "front", &sid, b"GIF89a not an id card".to_vec(), "image/gif").await;
        assert_problem(st, &ct, &p, 415);
        assert_eq!(p["errors"][0]["field"], "image", "{p}");
        let mut truncated = photo_jpeg(400, 300, 10);
        truncated.truncate(truncated.len() / 3);
        let (st, ct, p) = upload(&app, &cid, "front", &sid, truncated, "image/jpeg").await;
        assert_problem(st, &ct, &p, 422);
        assert_eq!(p["errors"][0]["field"], "image");
        let resp = app
            .http
            .post(app.url("/api/v1/sdk/idv/document/front"))
            .header("X-Client-Id", &cid)
            .multipart(reqwest::multipart::Form::new().text("session_id", sid.clone()).text("latitude", "91").text("longitude", "0").part("image", reqwest::multipart::Part::bytes(card_png(50, 50))))
            .send()
            .await
            .unwrap();
        let (st, ct, p) = read(resp).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "latitude");
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/document/front", json!({"session_id": sid})).await;
        assert_problem(st, &ct, &p, 415);
        let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!(st, 200);
        assert_eq!(s["document_front_given"], false, "rejected uploads leave no trace");

        // Liveness without generate; bad base64.
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/liveness/process", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0, "images": [b64(&photo_jpeg(64, 64, 1))]})).await;
        assert_problem(st, &ct, &p, 409);
        sdk(&app, &cid, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0})).await;
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/liveness/process", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0, "images": ["%%%not base64"]})).await;
        assert_problem(st, &ct, &p, 400);
        assert_eq!(p["errors"][0]["field"], "images[0]");

        // Expired session: 409 for SDK steps, still readable.
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        let m = entity::idv_session::Entity::find_by_id(sid.clone()).one(&app.state.db).await.unwrap().unwrap();
        let mut am: entity::idv_session::ActiveModel = m.into();
        am.expires_at = Set(chrono::Utc::now() - chrono::Duration::minutes(1));
        am.update(&app.state.db).await.unwrap();
        let (st, ct, p) = sdk(&app, &cid, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
        assert_problem(st, &ct, &p, 409);
        assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
        let (st, _, _) = sdk(&app, &cid, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await;
        assert_eq!(st, 200);
        // Reads show the effective status before the sweeper rewrites the row.
        let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(&key), &json!({"session_id": sid})).await;
        assert_eq!((st, s["status_e"].as_str()), (200, Some("expired")), "{s}");
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"status": "expired"})).await;
        assert!(l["sessions"].as_array().unwrap().iter().any(|x| x["session_id"] == json!(sid)), "{l}");
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"status": "in_progress"})).await;
        assert!(!l["sessions"].as_array().unwrap().iter().any(|x| x["session_id"] == json!(sid)), "{l}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn parallel_creates_with_one_idempotency_key_make_one_session() {
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let body = json!({"metadata": {"order": "o-1"}});
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let http = app.http.clone();
            let url = app.url("/api/v1/idv/session/create");
            let key = app.demo_key.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let resp = http.post(url).bearer_auth(key).header("Idempotency-Key", "idem-50").json(&body).send().await.unwrap();
                read(resp).await
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in tasks {
            let (st, _, v) = t.await.unwrap();
            if st == 200 {
                ids.insert(v["session_id"].as_str().unwrap().to_string());
            } else {
                assert!(st == 409 || st == 429, "unexpected {st}: {v}");
            }
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &json!({"metadata": {"order": "o-1"}})).await;
        assert_eq!(l["meta_counts"]["total"], 1);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn lists_page_and_filter_over_a_thousand_sessions() {
    use sea_orm::TransactionTrait;
    use tessera::service::idv::{self, IdvSettings, NewSession};
    use tessera::service::types::LivenessMode;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let cid = app.demo_client_id.clone();
        let txn = app.state.db.begin().await.unwrap();
        for i in 0..1000 {
            let mut metadata = serde_json::Map::new();
            metadata.insert("cohort".into(), json!(format!("c{}", i % 4)));
            metadata.insert("ref".into(), json!(format!("ref-{i:04}")));
            let new = NewSession { metadata, liveness_mode: LivenessMode::Passive, webhook_url: None, settings: IdvSettings::default() };
            idv::create(&txn, &cid, None, new, 24, "test").await.unwrap();
        }
        txn.commit().await.unwrap();
        let key = app.demo_key.clone();
        let (_, _, l) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"take": 500, "skip": 0})).await;
        assert_eq!((l["meta_counts"]["total"].as_u64(), l["sessions"].as_array().unwrap().len()), (Some(1000), 500));
        let (_, _, last) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"take": 300, "skip": 900})).await;
        assert_eq!(last["sessions"].as_array().unwrap().len(), 100);
        assert_eq!(last["meta_counts"], json!({"take": 300, "skip": 900, "response": 100, "total": 1000}));
        // Pages are disjoint and cover everything.
        let mut seen = std::collections::HashSet::new();
        for skip in (0..1000).step_by(250) {
            let (_, _, p) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"take": 250, "skip": skip})).await;
            for s in p["sessions"].as_array().unwrap() {
                assert!(seen.insert(s["session_id"].as_str().unwrap().to_string()));
            }
        }
        assert_eq!(seen.len(), 1000);
        // Combined filters.
        let (_, _, f) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"metadata": {"cohort": "c1"}, "status": "in_progress", "search_term": "ref-00", "take": 100})).await;
        assert_eq!(f["meta_counts"]["total"], 25, "ref-0001..ref-0097 in cohort c1");
        let (_, _, none) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"metadata": {"cohort": "c1"}, "status": "complete"})).await;
        assert_eq!(none["meta_counts"]["total"], 0);
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let (_, _, d) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"start_date": today, "end_date": today, "user_id": [], "take": 1})).await;
        assert_eq!(d["meta_counts"]["total"], 1000);
        let (_, _, d) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"end_date": "2000-01-01"})).await;
        assert_eq!(d["meta_counts"]["total"], 0);
        let (st, ct, p) = app.post_json("/api/v1/idv/session/list", Some(&key), &json!({"take": 501})).await;
        assert_problem(st, &ct, &p, 400);
        app.cleanup().await;
    }
}

/// The review queue: `review_required` shows on list and read and filters the list.
#[tokio::test]
async fn sessions_held_for_review_are_listed_and_filtered() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (st, _, v) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
            assert_eq!(st, 200, "{v}");
            ids.push(v["session_id"].as_str().unwrap().to_string());
        }
        entity::idv_session::Entity::update_many()
            .col_expr(entity::idv_session::Column::Status, Expr::value("complete"))
            .col_expr(entity::idv_session::Column::Verified, Expr::value(false))
            .col_expr(entity::idv_session::Column::ReviewRequired, Expr::value(true))
            .filter(entity::idv_session::Column::Id.eq(ids[0].clone()))
            .exec(&app.state.db)
            .await
            .unwrap();
        let list = |filter: Value| {
            let app = &app;
            async move { app.post_json("/api/v1/idv/session/list", Some(&app.demo_key), &filter).await.2 }
        };
        let held = list(json!({"review_required": true})).await;
        assert_eq!(held["meta_counts"]["total"], 1, "{backend}: {held}");
        assert_eq!(held["sessions"][0]["session_id"], ids[0].as_str());
        assert_eq!((held["sessions"][0]["review_required"].as_bool(), held["sessions"][0]["decision"].as_str()), (Some(true), Some("needs_review")));
        let others = list(json!({"review_required": false})).await;
        assert_eq!(others["meta_counts"]["total"], 1, "{backend}: {others}");
        assert_eq!((others["sessions"][0]["review_required"].as_bool(), others["sessions"][0]["decision"].clone()), (Some(false), Value::Null), "not complete: no decision yet");
        let (_, _, read) = app.post_json("/api/v1/idv/session/read", Some(&app.demo_key), &json!({"session_id": ids[0]})).await;
        assert_eq!((read["review_required"].as_bool(), read["verified"].as_bool()), (Some(true), Some(false)), "{read}");
        app.cleanup().await;
    }
}
