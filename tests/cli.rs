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
        .env("TESSERA_LOG", "warn");
    c
}

/// Starts `tessera serve`, returns the child and the lines printed up to "listening".
fn start(dir: &std::path::Path) -> (std::process::Child, Vec<String>) {
    let mut child = tessera(dir).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
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
