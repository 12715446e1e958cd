//! Time to interactive of the hosted capture page (`/verify/{token}`):
//! an in-process server on port 0 (SQLite in a temporary directory), one
//! headless Chromium driven through chromedriver, and for each run a fresh
//! capture link opened in the browser. "Interactive" is the page's own
//! `tessera-capture-interactive` performance mark, set when its first
//! usable screen (consent) is shown with its controls — after the HTML,
//! the three modules, the stylesheet and the `capture/start` call.
//!
//! It prints the first run (empty browser cache) and the median / p95 /
//! max of the following runs, each with the navigation's
//! `domContentLoaded` beside it.
//!
//! ```text
//! CARGO_TARGET_DIR=target-release cargo bench --bench capture_page -- --runs 30
//! ```
//!
//! Needs Debian's `chromium` and `chromium-driver` (or TESSERA_CHROMIUM /
//! TESSERA_CHROMEDRIVER).

#[path = "../tests/it/common/browser.rs"]
mod browser;

use std::time::Duration;

use serde_json::{Value, json};
use tessera::config::Config;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (chromium, driver) = match browser::locate() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("capture_page bench skipped: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.data_dir = dir.path().to_path_buf();
    config.environment = "test".into();
    config.webhook_workers = 0;
    config.sanctions_refresh_hours = 0;
    config.models_auto_fetch = false;
    let state = tessera::build_state(config).await.expect("state");
    let info = tessera::service::bootstrap::bootstrap_if_empty(&state.db).await.expect("bootstrap").expect("fresh db");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { tessera::serve(state, listener, std::future::pending()).await.expect("server") });
    let http = reqwest::Client::new();

    let b = browser::Browser::start(&chromium, &driver, 390, 844).await;
    let mut first = None;
    let mut interactive = Vec::new();
    let mut dom_loaded = Vec::new();
    for run in 0..=runs {
        let created: Value = http
            .post(format!("{base}/api/v1/idv/session/create"))
            .bearer_auth(&info.demo_api_key)
            .json(&json!({"capture_link": {}}))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        let url = created["capture_url"].as_str().expect("capture_url").to_string();
        b.goto(&url).await;
        let mark = b
            .wait_for(
                "the interactive mark",
                "(performance.getEntriesByName('tessera-capture-interactive')[0] || {}).startTime",
            )
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        let dcl = b
            .eval("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        if run == 0 {
            first = Some((mark, dcl));
        } else {
            interactive.push(mark);
            dom_loaded.push(dcl);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.quit().await;
    interactive.sort_by(f64::total_cmp);
    dom_loaded.sort_by(f64::total_cmp);
    let (first_tti, first_dcl) = first.unwrap();
    println!("capture page, phone viewport 390x844, headless Chromium, {runs} runs after a first one");
    println!("first run (empty cache): interactive {first_tti:.0} ms, DOMContentLoaded {first_dcl:.0} ms");
    println!(
        "interactive: median {:.0} ms, p95 {:.0} ms, max {:.0} ms; DOMContentLoaded median {:.0} ms",
        percentile(&interactive, 0.5),
        percentile(&interactive, 0.95),
        percentile(&interactive, 1.0),
        percentile(&dom_loaded, 0.5),
    );
}
