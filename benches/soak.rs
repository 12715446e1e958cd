//! Soak: the built server under mixed loopback traffic with 5 % hostile
//! requests, for a bounded time; prints RSS, open file descriptors and p99
//! latency of the well-behaved requests at the start and at the end.
//!
//! `SOAK_SECS` (default 600) sets the duration, `SOAK_CLIENTS` (default 16)
//! the concurrent clients. Loopback only; it stops by itself.
//!
//!     SOAK_SECS=600 cargo bench --bench soak
//!     SOAK_SECS=120 cargo bench --bench soak --profile dev   # reuses the test build

use std::io::Cursor;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

#[derive(Default)]
struct Window {
    latencies_ms: Vec<f64>,
    errors: u64,
}

struct Shared {
    base: String,
    key: String,
    client_id: String,
    sessions: Mutex<Vec<String>>,
    start_window: Mutex<Window>,
    end_window: Mutex<Window>,
    hostile: AtomicU64,
    normal: AtomicU64,
    server_errors: AtomicU64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 99]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn proc_figures(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (rss_kb * 1024, fds)
}

fn p99(window: &Window) -> f64 {
    let mut v = window.latencies_ms.clone();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64) * 0.99).ceil() as usize - 1]
}

async fn normal_request(shared: &Shared, http: &reqwest::Client, pick: u32, image: &[u8]) -> Result<u16, reqwest::Error> {
    let base = &shared.base;
    let session = || shared.sessions.lock().unwrap().last().cloned();
    let resp = match pick {
        0..=29 => http.get(format!("{base}/health/live")).send().await?,
        30..=49 => {
            let r = http.post(format!("{base}/api/v1/idv/session/create")).bearer_auth(&shared.key).json(&json!({})).send().await?;
            let status = r.status().as_u16();
            if status == 200 {
                let v: Value = r.json().await?;
                if let Some(sid) = v["session_id"].as_str() {
                    for (path, body) in [
                        ("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})),
                        ("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"})),
                    ] {
                        http.post(format!("{base}{path}")).header("X-Client-Id", &shared.client_id).json(&body).send().await?;
                    }
                    let mut s = shared.sessions.lock().unwrap();
                    s.push(sid.to_string());
                    if s.len() > 1000 {
                        s.remove(0);
                    }
                }
            }
            return Ok(status);
        }
        50..=69 => http.post(format!("{base}/api/v1/idv/session/list")).bearer_auth(&shared.key).json(&json!({"take": 25})).send().await?,
        70..=84 => match session() {
            Some(sid) => http.post(format!("{base}/api/v1/idv/session/read")).bearer_auth(&shared.key).json(&json!({"session_id": sid})).send().await?,
            None => http.get(format!("{base}/health/live")).send().await?,
        },
        _ => match session() {
            Some(sid) => {
                let part = reqwest::multipart::Part::bytes(image.to_vec()).file_name("f.png").mime_str("image/png").unwrap();
                let form = reqwest::multipart::Form::new()
                    .text("session_id", sid)
                    .text("latitude", "40.7")
                    .text("longitude", "-74.0")
                    .part("image", part);
                http.post(format!("{base}/api/v1/sdk/idv/document/front")).header("X-Client-Id", &shared.client_id).multipart(form).send().await?
            }
            None => http.get(format!("{base}/health/live")).send().await?,
        },
    };
    Ok(resp.status().as_u16())
}

/// One hostile request of five kinds; none is timed.
async fn hostile_request(shared: &Shared, http: &reqwest::Client, kind: u32) {
    let addr = shared.base.trim_start_matches("http://").to_string();
    match kind % 5 {
        0 => {
            // Slowloris: headers that never end, left to the server's timeout.
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let _ = s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(s);
                });
            }
        }
        1 => {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let _ = s
                    .write_all(b"POST /api/v1/idv/session/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n")
                    .await;
            }
        }
        2 => {
            let method = reqwest::Method::from_bytes(format!("X{}", rand_u32()).as_bytes()).unwrap();
            let _ = http.request(method, format!("{}/whatever/{}", shared.base, rand_u32())).send().await;
        }
        3 => {
            let body = json!({"email": format!("nobody{}@example.com", rand_u32() % 50), "password": "guess"});
            let _ = http.post(format!("{}/api/v1/auth/login", shared.base)).json(&body).send().await;
        }
        _ => {
            let many: Vec<String> = (0..5000).map(|i| format!("x{i}")).collect();
            let _ = http.post(format!("{}/api/v1/idv/session/list", shared.base)).bearer_auth(&shared.key).json(&json!({"identity_id": many})).send().await;
        }
    }
    shared.hostile.fetch_add(1, Ordering::Relaxed);
}

fn rand_u32() -> u32 {
    use std::cell::Cell;
    thread_local!(static X: Cell<u32> = Cell::new(0x2545_F491 ^ std::process::id()));
    X.with(|x| {
        let mut v = x.get();
        v ^= v << 13;
        v ^= v >> 17;
        v ^= v << 5;
        x.set(v);
        v
    })
}

async fn start_server(dir: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_ENVIRONMENT", "test")
        .env("TESSERA_SANCTIONS_REFRESH_HOURS", "0")
        .env("TESSERA_MODELS_AUTO_FETCH", "false")
        .env("TESSERA_HEADER_READ_TIMEOUT_SECS", "5")
        .env("TESSERA_BLOCKED_MAX_FAILURES", "100000")
        .env("TESSERA_MAX_CONNECTIONS_PER_ADDRESS", "0")
        .env_remove("TESSERA_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the tessera binary");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("Tessera listening on ") {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[tokio::main]
async fn main() {
    let secs = env_u64("SOAK_SECS", 600);
    let clients = env_u64("SOAK_CLIENTS", 16);
    let window = Duration::from_secs((secs / 5).clamp(5, 60));
    let dir = tempfile::tempdir().unwrap();
    let mut config = tessera::config::Config::default();
    config.data_dir = dir.path().to_path_buf();
    config.environment = "test".into();
    config.sanctions_refresh_hours = 0;
    config.models_auto_fetch = false;
    let (key, client_id) = {
        let state = tessera::build_state(config).await.unwrap();
        let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.unwrap().unwrap();
        state.db.close().await.ok();
        (info.demo_api_key, info.demo_client_id)
    };
    let (mut child, base) = start_server(dir.path()).await;
    let pid = child.id().unwrap();
    let shared = Arc::new(Shared {
        base,
        key,
        client_id,
        sessions: Mutex::new(Vec::new()),
        start_window: Mutex::default(),
        end_window: Mutex::default(),
        hostile: AtomicU64::new(0),
        normal: AtomicU64::new(0),
        server_errors: AtomicU64::new(0),
    });
    let image = Arc::new(png(640, 400));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss0, fds0) = proc_figures(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (shared, image, stop) = (shared.clone(), image.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let roll = rand_u32() % 100;
                if roll < 5 {
                    hostile_request(&shared, &http, rand_u32()).await;
                    continue;
                }
                let t = Instant::now();
                let result = normal_request(&shared, &http, rand_u32() % 100, &image).await;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                shared.normal.fetch_add(1, Ordering::Relaxed);
                let bucket = if t < started + window {
                    Some(&shared.start_window)
                } else if t + window > deadline {
                    Some(&shared.end_window)
                } else {
                    None
                };
                if let Ok(code) = result
                    && code >= 500
                {
                    shared.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(b) = bucket {
                    let mut w = b.lock().unwrap();
                    match result {
                        Ok(_) => w.latencies_ms.push(ms),
                        Err(_) => w.errors += 1,
                    }
                }
            }
        }));
    }
    // Figures of the first window, taken at its end.
    tokio::time::sleep(window.min(Duration::from_secs(secs))).await;
    let (rss1, fds1) = proc_figures(pid);
    for t in tasks {
        let _ = t.await;
    }
    stop.store(true, Ordering::Relaxed);
    let (rss2, fds2) = proc_figures(pid);
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let start = shared.start_window.lock().unwrap();
    let end = shared.end_window.lock().unwrap();
    println!("soak: {secs} s, {clients} clients, profile {}", if cfg!(debug_assertions) { "dev" } else { "bench" });
    println!(
        "requests: {} well-behaved, {} hostile ({:.1} %), {} answered 5xx",
        shared.normal.load(Ordering::Relaxed),
        shared.hostile.load(Ordering::Relaxed),
        100.0 * shared.hostile.load(Ordering::Relaxed) as f64
            / (shared.normal.load(Ordering::Relaxed) + shared.hostile.load(Ordering::Relaxed)).max(1) as f64,
        shared.server_errors.load(Ordering::Relaxed)
    );
    println!("| when | RSS (MB) | open fds | p99 latency (ms) | requests in window | client errors |");
    println!("|---|---|---|---|---|---|");
    println!("| idle, before traffic | {:.0} | {fds0} | | | |", mb(rss0));
    println!("| first {} s | {:.0} | {fds1} | {:.1} | {} | {} |", window.as_secs(), mb(rss1), p99(&start), start.latencies_ms.len(), start.errors);
    println!("| last {} s | {:.0} | {fds2} | {:.1} | {} | {} |", window.as_secs(), mb(rss2), p99(&end), end.latencies_ms.len(), end.errors);
    child.start_kill().ok();
    let _ = child.wait().await;
}
