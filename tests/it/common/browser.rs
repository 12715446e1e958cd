//! A small W3C WebDriver client over reqwest, driving headless Chromium
//! through chromedriver (Debian `chromium` + `chromium-driver`). Only what
//! the admin UI tests need: navigate, find, click, type, keys, run a
//! script, screenshots.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for the page may take before the test fails (a limit, not a timing assertion).
const WAIT_LIMIT: Duration = Duration::from_secs(20);

pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const SPACE: &str = "\u{E00D}";
    pub const ESCAPE: &str = "\u{E00C}";
}

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// chromium and chromedriver, or `None` (with the reason) when absent.
pub fn locate() -> Result<(PathBuf, PathBuf), String> {
    let chromium = find_binary("TESSERA_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"])
        .ok_or("chromium not found (install Debian's chromium, or set TESSERA_CHROMIUM)")?;
    let driver = find_binary("TESSERA_CHROMEDRIVER", &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
        .ok_or("chromedriver not found (install Debian's chromium-driver, or set TESSERA_CHROMEDRIVER)")?;
    Ok((chromium, driver))
}

pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A running chromedriver with one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

#[derive(Clone, Debug)]
pub struct Element(pub String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    pub async fn start(chromium: &PathBuf, driver: &PathBuf, width: u32, height: u32) -> Browser {
        Self::start_with(chromium, driver, width, height, &[]).await
    }

    /// Like [`Browser::start`] with extra Chromium switches (a fake camera, a phone's user agent, ...).
    pub async fn start_with(chromium: &PathBuf, driver: &PathBuf, width: u32, height: u32, extra_args: &[String]) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        break;
                    }
                }
            }
            assert!(started.elapsed() < WAIT_LIMIT, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let args: Vec<String> = args.into_iter().chain(extra_args.iter().cloned()).collect();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let resp: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = resp["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("new session failed: {resp}")).to_string();
        Browser { driver: child, base, session, http, _profile: profile }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.expect("webdriver request").json().await.expect("webdriver json");
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    fn check(v: &Value, what: &str) {
        assert!(v.get("error").is_none(), "webdriver {what}: {v}");
    }

    pub async fn goto(&self, url: &str) {
        let v = self.post("/url", json!({"url": url})).await;
        Self::check(&v, "navigate");
    }

    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or_default().to_string()
    }

    /// The first element matching `css`, if any (no waiting).
    pub async fn find_now(&self, css: &str) -> Option<Element> {
        let v = self.post("/element", json!({"using": "css selector", "value": css})).await;
        v.get(ELEMENT_KEY).and_then(Value::as_str).map(|id| Element(id.to_string()))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.post("/elements", json!({"using": "css selector", "value": css})).await;
        v.as_array()
            .map(|a| a.iter().filter_map(|e| e.get(ELEMENT_KEY)?.as_str()).map(|s| Element(s.to_string())).collect())
            .unwrap_or_default()
    }

    /// Waits until an element matches `css`.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_now(css).await {
                return e;
            }
            if started.elapsed() > WAIT_LIMIT {
                let body = self.text_of("body").await;
                panic!("no element matches {css}; page text:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a JS expression) is truthy; returns its value.
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(expression).await;
            if !(v.is_null() || v == false || v == "" || v == 0) && v.get("error").is_none() {
                return v;
            }
            if started.elapsed() > WAIT_LIMIT {
                let body = self.text_of("body").await;
                panic!("waited in vain for {what} ({expression}); last value {v}; page text:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page text contains `needle`.
    pub async fn wait_text(&self, needle: &str) {
        let expr = format!("document.body.innerText.includes({})", serde_json::to_string(needle).unwrap());
        self.wait_for(&format!("text {needle:?}"), &expr).await;
    }

    pub async fn eval(&self, expression: &str) -> Value {
        self.post("/execute/sync", json!({"script": format!("return ({expression});"), "args": []})).await
    }

    pub async fn click(&self, e: &Element) {
        let v = self.post(&format!("/element/{}/click", e.0), json!({})).await;
        Self::check(&v, "click");
    }

    pub async fn click_css(&self, css: &str) {
        let e = self.find(css).await;
        self.click(&e).await;
    }

    pub async fn clear(&self, e: &Element) {
        let v = self.post(&format!("/element/{}/clear", e.0), json!({})).await;
        Self::check(&v, "clear");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.clear(&e).await;
        let v = self.post(&format!("/element/{}/value", e.0), json!({"text": text})).await;
        Self::check(&v, "send keys");
    }

    /// Sends the following commands to the document of the iframe matching `css`.
    pub async fn enter_frame(&self, css: &str) {
        let e = self.find(css).await;
        let v = self.post("/frame", json!({"id": {ELEMENT_KEY: e.0}})).await;
        Self::check(&v, "switch to frame");
    }

    /// Back to the top-level document.
    pub async fn leave_frames(&self) {
        let v = self.post("/frame", json!({"id": null})).await;
        Self::check(&v, "switch to the top document");
    }

    /// Types into an element without clearing it first (e.g. a file path into `<input type=file>`).
    pub async fn send_keys(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        let v = self.post(&format!("/element/{}/value", e.0), json!({"text": text})).await;
        Self::check(&v, "send keys");
    }

    pub async fn text_of(&self, css: &str) -> String {
        match self.find_now(css).await {
            Some(e) => self.get(&format!("/element/{}/text", e.0)).await.as_str().unwrap_or_default().to_string(),
            None => String::new(),
        }
    }

    pub async fn property(&self, e: &Element, name: &str) -> Value {
        self.get(&format!("/element/{}/property/{name}", e.0)).await
    }

    /// Presses keys on whatever has the focus (keyboard only, no element targeted).
    pub async fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for ch in text.chars() {
            let k = ch.to_string();
            actions.push(json!({"type": "keyDown", "value": k}));
            actions.push(json!({"type": "keyUp", "value": k}));
        }
        let v = self.post("/actions", json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})).await;
        Self::check(&v, "key actions");
        let _ = self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Logs in to the admin UI at `admin_url` by typing only: the email field
    /// has the focus, Tab moves to the password, Enter submits; waits for the
    /// signed-in page.
    pub async fn keyboard_login(&self, admin_url: &str, email: &str, password: &str) {
        self.goto(admin_url).await;
        self.find("#email").await;
        self.wait_for("focus on the email field", "document.activeElement && document.activeElement.id === 'email'").await;
        self.keys(email).await;
        self.keys(keys::TAB).await;
        assert_eq!(self.focused().await, "password", "Tab moves from the email to the password field");
        self.keys(password).await;
        self.keys(keys::ENTER).await;
        self.find(".topbar").await;
    }

    /// The id (or tag) of the focused element.
    pub async fn focused(&self) -> String {
        self.eval("document.activeElement ? (document.activeElement.id || document.activeElement.tagName.toLowerCase()) : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        let v = self.post("/window/rect", json!({"width": width, "height": height})).await;
        Self::check(&v, "window rect");
    }

    /// Writes a PNG of the viewport (full page height) to target/ui-screenshots/{name}.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        // Let the page settle (fonts, images) and grow the window to the page height.
        let height = self.eval("Math.min(4000, Math.max(document.documentElement.scrollHeight, window.innerHeight))").await;
        let width = self.eval("window.outerWidth").await;
        if let (Some(h), Some(w)) = (height.as_u64(), width.as_u64()) {
            let _ = self.post("/window/rect", json!({"width": w, "height": h + 140})).await;
        }
        let v = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().expect("screenshot data")).expect("base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if let Some(w) = width.as_u64() {
            let _ = self.post("/window/rect", json!({"width": w, "height": 900})).await;
        }
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn quit(mut self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
