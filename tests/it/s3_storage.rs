//! Blob storage on an S3-compatible service over real HTTP: `moto_server`
//! (PyPI `moto[server]`) serves the S3 API on loopback, so `object_store`
//! signs, streams and lists for real. Skipped, with a note, when
//! `moto_server` is not installed; `.ci/run` installs it.

use crate::common;

use crate::common::{TestApp, backends};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use std::io::Cursor;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `moto_server` on a free loopback port, stopped on drop.
pub(crate) struct S3Server {
    child: Child,
    pub(crate) endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_s3() -> Option<S3Server> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("note: moto_server not available ({e}); S3 storage tests skipped (pip install 'moto[server]')");
            return None;
        }
    };
    let server = S3Server { child, endpoint: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(&server.endpoint).send().await.is_ok() {
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on port {port}");
}

/// A fresh bucket (moto accepts an unsigned create).
pub(crate) async fn bucket(s3: &S3Server) -> String {
    let name = format!("tessera-{}", uuid::Uuid::new_v4().simple());
    let resp = reqwest::Client::new().put(format!("{}/{name}", s3.endpoint)).send().await.unwrap();
    assert!(resp.status().is_success(), "create bucket: {}", resp.status());
    name
}

pub(crate) fn s3_config(c: &mut tessera::config::Config, s3: &S3Server, bucket: &str) {
    c.storage_backend = "s3".into();
    c.s3_bucket = Some(bucket.to_string());
    c.s3_endpoint = Some(s3.endpoint.clone());
    c.s3_region = Some("us-east-1".into());
    c.s3_access_key_id = Some("testing".into());
    c.s3_secret_access_key = Some("testing".into());
    c.s3_allow_http = true;
}

fn noise_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed).rotate_left(x % 13);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Round trip, encryption at rest, a large object, missing objects and
/// deletion, on the blob store itself.
#[tokio::test]
async fn blob_store_on_s3_round_trips_encrypted_objects() {
    let Some(s3) = start_s3().await else { return };
    let bucket = bucket(&s3).await;
    let mut config = tessera::config::Config::default();
    s3_config(&mut config, &s3, &bucket);
    let store = tessera::storage::BlobStore::from_config(&config, tessera::storage::MasterKey::generate()).unwrap();
    assert_eq!(store.backend(), "s3");

    let small = b"a small secret".to_vec();
    store.put("clients/c1/idv/s1/f1", &small).await.unwrap();
    assert_eq!(store.get("clients/c1/idv/s1/f1").await.unwrap(), Some(small.clone()));
    let raw = store.get_raw("clients/c1/idv/s1/f1").await.unwrap().unwrap();
    assert_ne!(raw, small, "stored encrypted");
    assert_eq!(&raw[..4], b"TSB2");

    // A large object (larger than an upload may be) streams both ways intact.
    let large: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    store.put("clients/c1/idv/s1/large", &large).await.unwrap();
    assert_eq!(store.get("clients/c1/idv/s1/large").await.unwrap().as_deref(), Some(large.as_slice()));

    // An object copied under another key does not decrypt there.
    let other = tessera::storage::BlobStore::from_config(&config, store.master_key().clone()).unwrap();
    assert_eq!(other.get("clients/c1/idv/s1/f1").await.unwrap(), Some(small.clone()), "same master key reads it");
    let wrong = tessera::storage::BlobStore::from_config(&config, tessera::storage::MasterKey::generate()).unwrap();
    assert!(wrong.get("clients/c1/idv/s1/f1").await.is_err(), "another master key cannot");

    // Missing objects: `None`, and deleting one is not an error.
    assert_eq!(store.get("clients/c1/idv/s1/none").await.unwrap(), None);
    store.delete("clients/c1/idv/s1/none").await.unwrap();
    store.delete("clients/c1/idv/s1/f1").await.unwrap();
    assert_eq!(store.get_raw("clients/c1/idv/s1/f1").await.unwrap(), None);

    let listed = store.keys_older_than("clients/c1", chrono::Utc::now() + chrono::Duration::minutes(1)).await.unwrap();
    assert_eq!(listed, vec!["clients/c1/idv/s1/large".to_string()]);
}

/// A server on S3: an SDK upload lands encrypted in the bucket and reads
/// back; erasing the identity and deleting the session delete their objects.
#[tokio::test]
async fn uploads_live_in_the_bucket_and_erasure_and_session_delete_remove_them() {
    let Some(s3) = start_s3().await else { return };
    for backend in backends().await {
        let bucket = bucket(&s3).await;
        let app = TestApp::spawn_with(backend, |c| s3_config(c, &s3, &bucket)).await;
        let cid = app.demo_client_id.clone();
        let (s, _, created) = app.post_json("/api/v1/idv/session/create", Some(&app.demo_key), &json!({})).await;
        assert_eq!(s, 200, "{created}");
        let sid = created["session_id"].as_str().unwrap().to_string();
        let sdk = |path: &'static str, body: serde_json::Value| {
            let req = app.http.post(app.url(path)).header("X-Client-Id", &cid).json(&body);
            async move { common::read(req.send().await.unwrap()).await }
        };
        let (s, _, b) = sdk("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        assert_eq!(s, 200, "{b}");

        let front = noise_png(640, 400, 7);
        let form = reqwest::multipart::Form::new()
            .text("session_id", sid.clone())
            .text("latitude", "40.7")
            .text("longitude", "-74.0")
            .part("image", reqwest::multipart::Part::bytes(front.clone()).file_name("front.png").mime_str("image/png").unwrap());
        let resp = app
            .http
            .post(app.url("/api/v1/sdk/idv/document/front"))
            .header("X-Client-Id", &cid)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (s, _, b) = common::read(resp).await;
        assert_eq!(s, 200, "{backend}: {b}");

        let files = entity::stored_file::Entity::find()
            .filter(entity::stored_file::Column::SessionId.eq(sid.clone()))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(files.len(), 1, "{backend}");
        let key = files[0].object_key.clone();
        let raw = app.state.storage.get_raw(&key).await.unwrap().expect("the object is in the bucket");
        assert_ne!(raw, front, "{backend}: encrypted at rest");
        assert_eq!(tessera::service::files::read_bytes(&app.state.storage, &files[0]).await.unwrap(), front);

        // Erasing the identity the capture belongs to deletes its object.
        let now = chrono::Utc::now();
        let identity_id = tessera::ids::new_id();
        entity::identity::ActiveModel {
            id: Set(identity_id.clone()),
            client_id: Set(cid.clone()),
            gender: Set("unknown".into()),
            document_front_given: Set(true),
            liveness_detected: Set(false),
            ofac_status: Set("clear".into()),
            dmv_status: Set("unknown".into()),
            verified: Set(true),
            metadata: Set(json!({})),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        let mut file: entity::stored_file::ActiveModel = files[0].clone().into();
        file.identity_id = Set(Some(identity_id.clone()));
        file.update(&app.state.db).await.unwrap();
        let (s, _, b) = app.post_json("/api/v1/identity/delete", Some(&app.demo_key), &json!({"identity_id": identity_id})).await;
        assert_eq!(s, 200, "{backend}: {b}");
        assert_eq!(app.state.storage.get_raw(&key).await.unwrap(), None, "{backend}: erasure deleted the object");

        // Session delete removes a session's objects too.
        let form = reqwest::multipart::Form::new()
            .text("session_id", sid.clone())
            .text("latitude", "40.7")
            .text("longitude", "-74.0")
            .part("image", reqwest::multipart::Part::bytes(noise_png(320, 200, 9)).file_name("back.png").mime_str("image/png").unwrap());
        let resp = app.http.post(app.url("/api/v1/sdk/idv/document/back")).header("X-Client-Id", &cid).multipart(form).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{backend}");
        let back = entity::stored_file::Entity::find()
            .filter(entity::stored_file::Column::SessionId.eq(sid.clone()))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(back.len(), 1, "{backend}");
        let back_key = back[0].object_key.clone();
        assert!(app.state.storage.get_raw(&back_key).await.unwrap().is_some());
        let (s, _, b) = app.post_json("/api/v1/idv/session/delete", Some(&app.demo_key), &json!({"session_id": sid})).await;
        assert_eq!(s, 200, "{backend}: {b}");
        assert_eq!(app.state.storage.get_raw(&back_key).await.unwrap(), None, "{backend}: the object went with the session");
        app.cleanup().await;
    }
}
