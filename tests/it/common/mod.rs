//! TestApp: a real server on port 0 over a fresh database per test
//! (SQLite always; PostgreSQL too when TESSERA_TEST_POSTGRES_URL is set).
#![allow(dead_code)]

pub mod browser;
pub mod dashboard_seed;
pub mod seed;

use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tessera::config::Config;
use tessera::service::bootstrap;
use tessera::state::AppState;

pub const PG_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub backend: &'static str,
    pub demo_key: String,
    pub demo_client_id: String,
    pub admin_email: String,
    pub admin_password: String,
    pg_database: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

/// The backends every database test runs on.
pub async fn backends() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if std::env::var(PG_ENV).is_ok_and(|u| !u.is_empty()) {
        v.push("postgres");
    } else {
        eprintln!("note: {PG_ENV} not set; PostgreSQL variant skipped");
    }
    v
}

impl TestApp {
    pub async fn spawn(backend: &'static str) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: &'static str, tweak: impl FnOnce(&mut Config)) -> TestApp {
        // `TESSERA_TEST_LOG=error` (a tracing filter) shows the server's logs,
        // e.g. the cause of a 500, in the test output.
        if let Ok(filter) = std::env::var("TESSERA_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.data_dir = dir.path().to_path_buf();
        config.bind = "127.0.0.1:0".into();
        config.environment = "test".into();
        config.login_max_failures = 3;
        // No webhook traffic unless a test asks for it (webhook_delivery.rs, loopback receivers only).
        config.webhook_workers = 0;
        // Endpoints on loopback receivers (plain http) are registrable, as in development.
        config.webhook_allow_loopback = true;
        // No test downloads the OFAC lists; sanctions_dmv.rs points the URLs at a loopback server.
        config.sanctions_refresh_hours = 0;
        let mut pg_database = None;
        if backend == "postgres" {
            let admin_url = std::env::var(PG_ENV).expect("postgres url");
            let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.expect("connect to postgres");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
            admin.close().await.ok();
            let url = replace_db_name(&admin_url, &name);
            config.database_url = Some(url);
            pg_database = Some((admin_url, name));
        }
        tweak(&mut config);
        let state = tessera::build_state(config).await.expect("state");
        let info = bootstrap::bootstrap_if_empty(&state.db).await.expect("bootstrap").expect("fresh db");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server_state = state.clone();
        tokio::spawn(async move {
            tessera::serve(server_state, listener, std::future::pending()).await.expect("server");
        });
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        TestApp {
            base,
            http,
            state,
            backend,
            demo_key: info.demo_api_key,
            demo_client_id: info.demo_client_id,
            admin_email: info.admin_email,
            admin_password: info.admin_password,
            pg_database,
            _dir: dir,
        }
    }

    /// The name of this test's PostgreSQL database (PostgreSQL runs only).
    pub fn pg_database_name(&self) -> Option<&str> {
        self.pg_database.as_ref().map(|(_, name)| name.as_str())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST JSON with a bearer key; returns (status, content-type, body as JSON or Null).
    pub async fn post_json(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, String, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> (u16, String, Value) {
        read(self.http.get(self.url(path)).send().await.expect("request")).await
    }

    /// Drops the PostgreSQL database of this test now (a `TestApp` that is
    /// dropped without it, e.g. by a failing assertion, drops it in `Drop`).
    pub async fn cleanup(mut self) {
        if let Some((admin_url, name)) = self.pg_database.take() {
            self.state.db.clone().close().await.ok();
            drop_database(&admin_url, &name).await;
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        admin.close().await.ok();
    }
}

impl Drop for TestApp {
    /// A test that panicked before `cleanup` still leaves no database behind.
    /// `Drop` cannot await, so the statement runs on a runtime of its own thread.
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_database.take() else { return };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(drop_database(&admin_url, &name));
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: could not drop a test database");
        }
    }
}

pub async fn read(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, ct, json)
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let new_base = match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{}", &base[..scheme_end + slash], name),
        None => format!("{base}/{name}"),
    };
    match query {
        Some(q) => format!("{new_base}?{q}"),
        None => new_base,
    }
}

/// Asserts a problem+json response with the given status.
pub fn assert_problem(status: u16, ct: &str, body: &Value, expected: u16) {
    assert_eq!(status, expected, "body: {body}");
    assert!(ct.starts_with("application/problem+json"), "content-type {ct} for {body}");
    assert_eq!(body["status"], expected, "{body}");
    for key in ["type", "title", "detail", "code"] {
        assert!(body[key].is_string(), "problem lacks {key}: {body}");
    }
}
