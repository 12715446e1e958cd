//! Several `tessera serve` processes on one database and one blob store,
//! and a client that spreads applicants over them: shared by the scale-out
//! test (`tests/it/scale_out/mod.rs`) and the scale-out bench
//! (`benches/scale_out.rs`, which includes this file by path), so it uses
//! no test helper of its own crate.

#![allow(dead_code)]

use base64::Engine as _;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ------------------------------------------------------------ processes

/// What every process of the deployment shares: the binary and the
/// `TESSERA_*` variables naming the database, the blob store and the
/// master key (the same for all, as in a real deployment).
#[derive(Clone)]
pub struct Shared {
    pub bin: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Shared {
    /// A command of the binary with the shared variables and its own data
    /// directory (no `tessera.toml` is read: it runs in that directory).
    pub fn command(&self, data_dir: &Path) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin);
        c.current_dir(data_dir)
            .env_remove("TESSERA_CONFIG")
            .env("TESSERA_DATA_DIR", data_dir)
            .env("TESSERA_MODELS_AUTO_FETCH", "false")
            .env("TESSERA_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// The configuration the processes read, for in-process work on the
    /// same database and blob store (migrating and bootstrapping once,
    /// checking the outcome).
    pub fn config(&self, data_dir: &Path) -> tessera::config::Config {
        let mut env = self.env.clone();
        env.push(("TESSERA_DATA_DIR".into(), data_dir.display().to_string()));
        env.push(("TESSERA_MODELS_AUTO_FETCH".into(), "false".into()));
        tessera::config::Config::load_from(None, &env).expect("the shared configuration is valid")
    }
}

/// The S3 variables for a bucket on a local S3-compatible endpoint.
pub fn s3_env(endpoint: &str, bucket: &str) -> Vec<(String, String)> {
    [
        ("TESSERA_STORAGE_BACKEND", "s3"),
        ("TESSERA_S3_BUCKET", bucket),
        ("TESSERA_S3_ENDPOINT", endpoint),
        ("TESSERA_S3_REGION", "us-east-1"),
        ("TESSERA_S3_ACCESS_KEY_ID", "testing"),
        ("TESSERA_S3_SECRET_ACCESS_KEY", "testing"),
        ("TESSERA_S3_ALLOW_HTTP", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One `tessera serve` process on a free loopback port.
pub struct Instance {
    pub child: tokio::process::Child,
    pub base: String,
    pub pid: u32,
    /// What it printed before it listened (the first start's credentials).
    pub printed: Vec<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// Starts one and waits until it listens; `env` adds per-run settings.
    pub async fn start(shared: &Shared, env: &[(&str, String)]) -> Instance {
        use tokio::io::AsyncBufReadExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("serve.log");
        let mut child = shared
            .command(dir.path())
            .arg("serve")
            .env("TESSERA_BIND", "127.0.0.1:0")
            .env("TESSERA_ENVIRONMENT", "test")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("start the tessera binary");
        let pid = child.id().unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("Tessera listening on ") {
                    return rest.split_whitespace().next().unwrap().to_string();
                }
                printed.push(line);
            }
            panic!("the server exited before listening: {}", std::fs::read_to_string(&log).unwrap_or_default());
        })
        .await
        .expect("the server did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Instance { child, base, pid, printed, log, _dir: dir }
    }

    /// The pattern of this process's job claims (`queue::instance_id`
    /// starts with its pid).
    pub fn lock_pattern(&self) -> String {
        format!("pid{}-%", self.pid)
    }

    /// User + system CPU time the process has used so far (Linux).
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- log of the instance at {} (pid {}):\n{}", self.base, self.pid, self.log_tail());
        }
    }
}

/// User + system CPU seconds of a process from `/proc/PID/stat` (0 when gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// A fresh PostgreSQL database, dropped on drop (also after a panic).
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str, prefix: &str) -> PgDatabase {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url).await.expect("connect to postgres");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        admin.close().await.ok();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').expect("a database URL").0);
        PgDatabase { admin_url: admin_url.to_string(), name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

// ------------------------------------------------------------ the balancer

/// Round robin over the instances: request `slot` goes to instance
/// `slot % n`, or to the next one in rotation when that one is out.
pub struct Balancer {
    bases: Vec<Mutex<String>>,
    out: Vec<AtomicBool>,
    in_flight: Vec<AtomicUsize>,
    pub served: Vec<AtomicUsize>,
    http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl Balancer {
    pub fn new(bases: Vec<String>) -> Balancer {
        let n = bases.len();
        Balancer {
            bases: bases.into_iter().map(Mutex::new).collect(),
            out: (0..n).map(|_| AtomicBool::new(false)).collect(),
            in_flight: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            served: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            // Idle connections are dropped before the server ends them
            // (`header_read_timeout_secs`, 10 s), so a request never goes
            // out on a connection the server is closing.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .pool_idle_timeout(Duration::from_secs(4))
                .build()
                .unwrap(),
        }
    }

    pub async fn send(&self, slot: usize, build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder) -> Answer {
        let n = self.bases.len();
        for k in 0..2 * n {
            let i = (slot + k) % n;
            if self.out[i].load(Ordering::SeqCst) {
                continue;
            }
            self.in_flight[i].fetch_add(1, Ordering::SeqCst);
            let base = self.bases[i].lock().unwrap().clone();
            let sent = build(&self.http, &base).send().await;
            let answer = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after =
                        resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
                    let text = resp.text().await.unwrap_or_default();
                    Some(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), retry_after })
                }
                // The request never reached it: take it out of rotation.
                Err(e) if e.is_connect() => {
                    self.out[i].store(true, Ordering::SeqCst);
                    None
                }
                Err(e) => panic!("instance {i} failed a request it had accepted: {e:?}"),
            };
            self.in_flight[i].fetch_sub(1, Ordering::SeqCst);
            if let Some(answer) = answer {
                self.served[i].fetch_add(1, Ordering::SeqCst);
                return answer;
            }
        }
        panic!("no instance takes requests");
    }

    /// Puts a new process in place `i` of the rotation.
    pub fn replace(&self, i: usize, base: &str) {
        *self.bases[i].lock().unwrap() = base.to_string();
        self.out[i].store(false, Ordering::SeqCst);
    }

    /// Takes instance `i` out of rotation and waits until it has answered
    /// every request it accepted.
    pub async fn drain(&self, i: usize) {
        self.out[i].store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.in_flight[i].load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "instance {i} did not drain");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn served(&self) -> Vec<usize> {
        self.served.iter().map(|n| n.load(Ordering::SeqCst)).collect()
    }
}

// ------------------------------------------------------------ webhook receiver

/// A loopback webhook receiver that answers `204` after `delay`.
#[derive(Clone, Default)]
pub struct Receiver {
    /// `webhook-id` → every body received under it.
    pub got: Arc<Mutex<HashMap<String, Vec<String>>>>,
    delay: Duration,
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    r.got.lock().unwrap().entry(id).or_default().push(body);
    tokio::time::sleep(r.delay).await;
    axum::http::StatusCode::NO_CONTENT
}

/// Starts a receiver on 127.0.0.1; returns it and its URL.
pub async fn start_receiver(delay: Duration) -> (Receiver, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let r = Receiver { got: Arc::default(), delay };
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

// ------------------------------------------------------------ applicants

/// An integrator and its applicants' SDK, talking through the balancer.
pub struct Flow {
    pub lb: Balancer,
    pub demo_key: String,
    pub client_id: String,
    pub hook_url: Option<String>,
    /// Applicants that have started.
    pub started: AtomicUsize,
    /// Finalize answers `503` (the session's analysis still ran).
    pub still_running: AtomicUsize,
    /// How long finalize is retried before the applicant gives up.
    pub finalize_deadline: Duration,
}

/// A JPEG of blocky colour noise, different per `seed`.
pub fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x / 8).wrapping_mul(2_654_435_761) ^ (y / 8).wrapping_mul(40_503) ^ seed.wrapping_mul(97);
        image::Rgb([(v % 200) as u8 + 30, ((v >> 8) % 200) as u8 + 30, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// One applicant's images: front, back, selfie.
pub struct Images {
    pub front: Vec<u8>,
    pub back: Vec<u8>,
    pub selfie: Vec<u8>,
}

impl Images {
    pub fn generated(i: usize) -> Images {
        let seed = i as u32;
        Images { front: jpeg(640, 400, seed), back: jpeg(640, 400, 1000 + seed), selfie: jpeg(360, 480, 7000 + seed) }
    }
}

impl Flow {
    pub fn new(bases: Vec<String>, demo_key: &str, client_id: &str, hook_url: Option<String>, finalize_deadline: Duration) -> Flow {
        Flow {
            lb: Balancer::new(bases),
            demo_key: demo_key.to_string(),
            client_id: client_id.to_string(),
            hook_url,
            started: AtomicUsize::new(0),
            still_running: AtomicUsize::new(0),
            finalize_deadline,
        }
    }

    pub async fn create(&self, slot: usize) -> String {
        let body = match &self.hook_url {
            Some(url) => json!({"webhook_url": url, "liveness_mode": "passive"}),
            None => json!({"liveness_mode": "passive"}),
        };
        let a = self
            .lb
            .send(slot, |http, base| http.post(format!("{base}/api/v1/idv/session/create")).bearer_auth(&self.demo_key).json(&body))
            .await;
        assert_eq!(a.status, 200, "create: {}", a.body);
        a.body["session_id"].as_str().unwrap().to_string()
    }

    pub async fn sdk(&self, slot: usize, path: &str, body: Value) -> Answer {
        self.lb
            .send(slot, |http, base| http.post(format!("{base}{path}")).header("X-Client-Id", &self.client_id).json(&body))
            .await
    }

    async fn sdk_ok(&self, slot: usize, path: &str, body: Value) -> Value {
        let a = self.sdk(slot, path, body).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        a.body
    }

    async fn upload(&self, slot: usize, side: &str, sid: &str, bytes: &[u8]) {
        let a = self
            .lb
            .send(slot, |http, base| {
                let image = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("doc.jpg").mime_str("image/jpeg").unwrap();
                let form = reqwest::multipart::Form::new()
                    .text("session_id", sid.to_string())
                    .text("latitude", "40.7")
                    .text("longitude", "-74.0")
                    .part("image", image);
                http.post(format!("{base}/api/v1/sdk/idv/document/{side}")).header("X-Client-Id", &self.client_id).multipart(form)
            })
            .await;
        assert_eq!(a.status, 200, "{side} upload: {}", a.body);
    }

    /// Consent and document type, each on the next instance.
    pub async fn consent_and_type(&self, slot: usize, sid: &str) {
        self.sdk_ok(slot, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await;
        self.sdk_ok(slot + 1, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"}))
            .await;
    }

    /// Finalize until it answers (`503` with `Retry-After` while the
    /// session's analysis runs, e.g. while a dead instance's lock lasts),
    /// each try on the next instance.
    pub async fn finalize(&self, mut slot: usize, sid: &str) -> Value {
        let deadline = Instant::now() + self.finalize_deadline;
        loop {
            let a = self.sdk(slot, "/api/v1/sdk/idv/finalize", json!({"session_id": sid})).await;
            match a.status {
                200 => return a.body,
                503 => {
                    assert!(a.retry_after.is_some(), "503 without Retry-After: {}", a.body);
                    assert!(Instant::now() < deadline, "session {sid} never got its verdict: {}", a.body);
                    self.still_running.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    slot += 1;
                }
                s => panic!("finalize answered {s}: {}", a.body),
            }
        }
    }

    /// One applicant's whole SDK flow, each step on the next instance;
    /// returns the session id and the finalize answer.
    pub async fn applicant(&self, i: usize, images: &Images) -> (String, Value) {
        self.started.fetch_add(1, Ordering::SeqCst);
        let sid = self.create(i).await;
        self.consent_and_type(i + 1, &sid).await;
        self.upload(i + 3, "front", &sid, &images.front).await;
        self.upload(i + 4, "back", &sid, &images.back).await;
        let token = self
            .sdk_ok(i + 5, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 40.7, "longitude": -74.0}))
            .await;
        let selfie = base64::engine::general_purpose::STANDARD.encode(&images.selfie);
        self.sdk_ok(
            i + 6,
            "/api/v1/sdk/idv/liveness/process",
            json!({"session_id": sid, "latitude": 40.7, "longitude": -74.0, "token": token["token"], "images": [selfie]}),
        )
        .await;
        let verdict = self.finalize(i + 7, &sid).await;
        (sid, verdict)
    }
}
