//! The contract test: drives one IDV session, one identity and one IDA
//! session through every endpoint of the seed reference and checks that each
//! live response has exactly the seed sample's keys (nested ones included)
//! with the seed's JSON types. Superset fields are allowed only when listed
//! in SUPERSET below, each with the reason.


use crate::common::seed::{balanced_json, seed_text, shape_diff};
use crate::common::{TestApp, backends, read};
use serde_json::{Value, json};

/// Live keys beyond the seed, documented in the OpenAPI spec.
const SUPERSET: &[(&str, &str)] = &[
    ("idv session read", ".reasons"),          // why the verdict is what it is
    ("idv session read", ".at"),               // history item time
    ("ida session read", ".reasons"),          // why authenticated is what it is
    ("ida session read", ".at"),               // history item time
    ("session test read", ".details"),         // every check's status, score and reason
    ("ida finalize", ".authenticated"),        // the verdict itself (the seed answers {})
    ("ida finalize", ".reasons"),
    ("webhook create", ".id"),                 // the new endpoint's id
    ("webhook create", ".secret"),             // its signing secret, shown once
    ("weights update", ".id"),                 // the new version's id
    ("weights get", ".policy"),                // the verdict policy stored with the version
    ("weights by id", ".policy"),
    ("idv session read", ".review_required"),  // the verdict policy sent it to review
    ("idv session read", ".decision"),         // verified / needs_review / rejected
    ("idv session list", ".review_required"),
    ("idv session list", ".decision"),
];

/// The 200 sample following the `nth` (0-based) occurrence of `title`.
fn sample(title: &str, nth: usize) -> Value {
    let text = seed_text();
    let mut at = 0;
    for _ in 0..=nth {
        at += text[at..].find(title).unwrap_or_else(|| panic!("seed title {title} #{nth}")) + title.len();
    }
    let start = at + text[at..].find("Response samples").expect("response samples");
    let rest = &text[start..];
    let brace = rest.find(['{', '[']).map(|i| start + i);
    let null = rest.find("null").map(|i| start + i);
    match (brace, null) {
        (Some(b), Some(n)) if n < b => Value::Null,
        (Some(b), _) => balanced_json(&text, b).0,
        _ => Value::Null,
    }
}

struct Checker {
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    fn check(&mut self, name: &str, seed: &Value, live: &Value) {
        self.checked += 1;
        let mut diff = Vec::new();
        shape_diff(name, seed, live, &mut diff);
        for d in diff {
            let allowed = SUPERSET.iter().any(|(n, suffix)| {
                *n == name && d.ends_with("not in the seed") && d.trim_end_matches(": not in the seed").ends_with(suffix)
            });
            if !allowed {
                self.failures.push(d);
            }
        }
    }
}

async fn sdk(app: &TestApp, path: &str, body: Value) -> Value {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    let (st, _, v) = read(resp).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

async fn api(app: &TestApp, path: &str, body: Value) -> Value {
    let (st, _, v) = app.post_json(path, Some(&app.demo_key), &body).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

fn jpeg(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([shade, ((x * y) % 251) as u8, 60]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, side: &str, sid: &str) -> Value {
    let form = reqwest::multipart::Form::new()
        .text("session_id", sid.to_string())
        .text("latitude", "1.5")
        .text("longitude", "2.5")
        .part("image", reqwest::multipart::Part::bytes(jpeg(640, 400, 90)).file_name("d.jpg"));
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/sdk/idv/document/{side}")))
        .header("X-Client-Id", &app.demo_client_id)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (st, _, v) = read(resp).await;
    assert_eq!(st, 200, "{v}");
    v
}

#[tokio::test]
async fn every_endpoint_answers_with_the_seed_shape() {
    use base64::Engine;
    for backend in backends().await {
        let app = TestApp::spawn(backend).await;
        let mut c = Checker { failures: vec![], checked: 0 };

        // IDV, integrator and SDK.
        let created = api(&app, "/api/v1/idv/session/create", json!({"metadata": {"k": "v"}, "liveness_mode": "passive"})).await;
        c.check("idv session create", &sample("Session create for identity verification.", 0), &created);
        let sid = created["session_id"].as_str().unwrap().to_string();
        c.check("sdk consent", &sample("Add identity consent.", 0), &sdk(&app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await);
        c.check("sdk metadata", &sample("SDK metadata update.", 0), &sdk(&app, "/api/v1/sdk/idv/metadata/update", json!({"session_id": sid, "sdk_metadata": {"a": 1}})).await);
        c.check("sdk document type", &sample("SDK document type update.", 0), &sdk(&app, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})).await);
        c.check("sdk front", &sample("SDK document front image add.", 0), &upload(&app, "front", &sid).await);
        c.check("sdk back", &sample("SDK document back image add.", 0), &upload(&app, "back", &sid).await);
        let token = sdk(&app, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0})).await;
        c.check("sdk liveness generate", &sample("SDK access to generate a liveness session", 0), &token);
        let frame = base64::engine::general_purpose::STANDARD.encode(jpeg(320, 400, 200));
        let processed = sdk(&app, "/api/v1/sdk/idv/liveness/process", json!({"session_id": sid, "latitude": 1.0, "longitude": 2.0, "images": [frame]})).await;
        c.check("sdk liveness process", &sample("SDK access to process a liveness session", 0), &processed);
        c.check("sdk session read", &sample("SDK access to read the session information", 0), &sdk(&app, "/api/v1/sdk/idv/session/read", json!({"session_id": sid})).await);
        c.check("sdk finalize", &sample("Finalizes the identity verification process for the SDK.", 0), &sdk(&app, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await);

        c.check("idv session list", &sample("Session list for identity verification.", 0), &api(&app, "/api/v1/idv/session/list", json!({})).await);
        c.check("idv session read", &sample("Session read for identity verification.", 0), &api(&app, "/api/v1/idv/session/read", json!({"session_id": sid})).await);
        c.check("idv location", &sample("IDV Session Location read response", 0), &api(&app, "/api/v1/idv/session/location", json!({"session_id": sid, "location_capture_type_e": "front_doc_image_capture"})).await);
        c.check("session test read", &sample("Session test read for identity verification.", 0), &api(&app, "/api/v1/idv/session/tests", json!({"session_id": sid})).await);
        c.check("document read", &sample("Document read for identity verification.", 0), &api(&app, "/api/v1/idv/document/read", json!({"session_id": sid})).await);
        c.check("document list", &sample("Document list for identity verification.", 0), &api(&app, "/api/v1/idv/document/list", json!({"session_id": sid})).await);
        let resp = app.http.post(app.url("/api/v1/idv/document/download")).bearer_auth(&app.demo_key).json(&json!({"session_id": sid, "storage_file_type_e": "driver_license_front"})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(sample("Document download for identity verification.", 0).is_null(), "the seed documents bytes (null)");
        assert_eq!(resp.headers()["content-type"], "image/jpeg");

        // Weights and requirements.
        let (st, _, w) = app_get(&app, "/api/v1/idv/weights").await;
        assert_eq!(st, 200);
        c.check("weights get", &sample("Get the weights for the IDV system.", 0), &w);
        let mut update = w.clone();
        update["idv_session_tolerance"] = json!(0.8);
        let updated = api(&app, "/api/v1/idv/weights/update", update).await;
        c.check("weights update", &sample("Update the weights for the IDV system.", 0), &updated);
        let (st, _, by_id) = app_get(&app, &format!("/api/v1/idv/weights/{}", updated["id"].as_str().unwrap())).await;
        assert_eq!(st, 200);
        c.check("weights by id", &sample("Get weights by ID for historical lookup.", 0), &by_id);
        let (st, _, req) = app_get(&app, "/api/v1/idv/requirements?type_e=driver_license&data_source_e=barcode").await;
        assert_eq!(st, 200, "{req}");
        c.check("requirements get", &sample("Get the requirements for the given type and data source.", 0), &req);
        let req_update = req["requirements"][0].clone();
        let (st, _, ru) = app.post_json("/api/v1/idv/requirements/update", Some(&app.demo_key), &req_update).await;
        assert_eq!(st, 200, "{ru}");
        c.check("requirements update", &sample("Update the requirements for the given type and data source.", 0), &ru);

        // A verified identity (the engines that could verify one arrive in
        // later issues, so the identity is written by the service finalize uses).
        let session = tessera::service::idv::find(&app.state.db, &app.demo_client_id, &sid).await.unwrap();
        let identity = tessera::service::identities::upsert_from_verified_session(&app.state.db, &session, None, Some(0.9), chrono::Utc::now()).await.unwrap();
        let iid = identity.id.clone();
        c.check("identity list", &sample("List identities.", 0), &api(&app, "/api/v1/identity/list", json!({})).await);
        c.check("identity read", &sample("Read identities.", 0), &api(&app, "/api/v1/identity/read", json!({"identity_id": iid})).await);
        c.check("identity status", &sample("Gets the identity status for a identity for sdk use.", 0), &sdk(&app, "/api/v1/sdk/identity/status", json!({"identity_id": iid})).await);
        c.check("identity document", &sample("Read completed identity document.", 0), &api(&app, "/api/v1/identity/document", json!({"identity_id": iid, "document_type_e": "driver_license"})).await);
        let resp = app.http.post(app.url("/api/v1/identity/image")).bearer_auth(&app.demo_key).json(&json!({"identity_id": iid, "storage_file_type_e": "selfie"})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "the identity's selfie");

        // IDA.
        let ida = api(&app, "/api/v1/ida/session/create", json!({"identity_id": iid, "liveness_mode": "passive", "metadata": {"k": "v"}})).await;
        c.check("ida session create", &sample("Identity Authentication session create", 0), &ida);
        let aid = ida["session_id"].as_str().unwrap().to_string();
        c.check("ida sdk metadata", &sample("SDK metadata update.", 1), &sdk(&app, "/api/v1/sdk/ida/metadata/update", json!({"session_id": aid, "sdk_metadata": {"b": 2}})).await);
        let t = sdk(&app, "/api/v1/sdk/ida/liveness/generate", json!({"session_id": aid, "latitude": 3.0, "longitude": 4.0})).await;
        c.check("ida liveness generate", &sample("SDK access to generate a liveness session", 1), &t);
        let frame = base64::engine::general_purpose::STANDARD.encode(jpeg(320, 400, 210));
        let p = sdk(&app, "/api/v1/sdk/ida/liveness/process", json!({"session_id": aid, "latitude": 3.0, "longitude": 4.0, "images": [frame], "token": t["token"]})).await;
        c.check("ida liveness process", &sample("SDK access to process a liveness session", 1), &p);
        c.check("ida sdk session read", &sample("Session read for identity authentication.", 1), &sdk(&app, "/api/v1/sdk/ida/session/read", json!({"session_id": aid})).await);
        c.check("ida finalize", &sample("Identity Authentication finalize", 0), &sdk(&app, "/api/v1/sdk/ida/finalize", json!({"session_id": aid})).await);
        c.check("ida session list", &sample("Session list for identity authentication.", 0), &api(&app, "/api/v1/ida/session/list", json!({})).await);
        c.check("ida session read", &sample("Session read for identity authentication.", 0), &api(&app, "/api/v1/ida/session/read", json!({"session_id": aid})).await);
        c.check("ida location", &sample("IDA Session Location read response", 0), &api(&app, "/api/v1/ida/session/location", json!({"session_id": aid, "location_capture_type_e": "selfie_image_capture"})).await);

        // Webhooks.
        let wh = api(&app, "/api/v1/webhook/create", json!({"name": "ops", "url": "http://127.0.0.1:9/h"})).await;
        c.check("webhook create", &sample("Webhook create.", 0), &wh);
        c.check("webhook list", &sample("Webhook list.", 0), &api(&app, "/api/v1/webhook/list", json!({})).await);

        assert!(c.failures.is_empty(), "{} of {} responses differ from the seed:\n{}", c.failures.len(), c.checked, c.failures.join("\n"));
        assert!(c.checked >= 35, "checked {}", c.checked);
        app.cleanup().await;
    }
}

async fn app_get(app: &TestApp, path: &str) -> (u16, String, Value) {
    read(app.http.get(app.url(path)).bearer_auth(&app.demo_key).send().await.unwrap()).await
}
