//! Document engine latency and decode rate.
//!
//! - Back: the 60-image synthetic set of tests/it/document_engine.rs (5 AAMVA
//!   payloads x 12 photo distortions, generated in code): per-image latency
//!   of `LocalDocumentEngine::analyze_image` with the default time budget
//!   (and of the barcode cascade alone), and the decode rate of the cascade
//!   next to one plain rxing call on the same images.
//! - Front: synthetic card fronts with printed labels and values, photographed
//!   with mild distortions: per-image latency of `analyze_image` (PP-OCRv6
//!   detection + recognition, field extraction, forensic checks) and how many
//!   printed fields were read right.
//!
//! `cargo bench --bench document` (fetches the PP-OCR model package into the
//! test store on first run).

#[path = "../tests/it/document_fixtures/mod.rs"]
mod document_fixtures;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use document_fixtures::{Distortion, Rng, back_set, card_front, cards, photograph};
use tessera::engine::DocumentSide;
use tessera::engine::barcode;
use tessera::engine::document::LocalDocumentEngine;
use tessera::engine::ocr::OcrEngine;
use tessera::models::{PP_OCR, test_store};
use tessera::service::types::DocumentType;

/// (median, p95, max) in milliseconds.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let p95 = v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1];
    (v[v.len() / 2], p95, v[v.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_stats(what: &str, v: Vec<f64>) {
    let n = v.len();
    let (median, p95, max) = stats(v);
    println!("{what:<44} n={n:<3} median {median:>7.1} ms   p95 {p95:>7.1} ms   max {max:>7.1} ms");
}

fn main() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("cores available: {cores}; one thread per analysis");

    // Back: the 60-image set.
    let (cards_data, images) = back_set();
    let engine = LocalDocumentEngine::without_ocr();
    // Warm-up (allocator, page cache).
    let _ = engine.analyze_image(DocumentSide::Back, DocumentType::DriverLicense, &images[0].bytes);
    let (mut total, mut cascade_ms, mut plain_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut read, mut plain_read) = (0, 0);
    let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for img in &images {
        let card = &cards_data[img.card];
        let gray = image::load_from_memory(&img.bytes).expect("fixture decodes").to_luma8();
        let gray = barcode::downscale(gray, barcode::MAX_DECODE_SIDE);
        let t = Instant::now();
        if barcode::decode_plain(&gray).as_deref() == Some(card.payload.as_str()) {
            plain_read += 1;
        }
        plain_ms.push(ms(t.elapsed()));
        let t = Instant::now();
        let report = engine.analyze_image(DocumentSide::Back, DocumentType::DriverLicense, &img.bytes).expect("analysis runs");
        total.push(ms(t.elapsed()));
        if let Some((_, d)) = report.timings.iter().find(|(step, _)| *step == "barcode") {
            cascade_ms.push(ms(*d));
        }
        match &report.barcode {
            Some(Ok(b)) if b.text == card.payload => {
                read += 1;
                *stages.entry(b.stage).or_default() += 1;
            }
            _ => misses.push(format!("{} {}", card.jurisdiction, img.kind)),
        }
    }
    println!("\nback: 60 synthetic photos (1200x800, 5 AAMVA payloads x 12 distortions), default budget {} ms", barcode::DEFAULT_BUDGET.as_millis());
    println!("decode rate: cascade {read}/60 ({:.0}%), plain rxing {plain_read}/60 ({:.0}%)", read as f64 / 0.6, plain_read as f64 / 0.6);
    println!("read at stage: {}", stages.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    if !misses.is_empty() {
        println!("not read: {}", misses.join(", "));
    }
    print_stats("back analyze_image (decode+cascade+checks)", total);
    print_stats("back barcode cascade alone", cascade_ms);
    print_stats("back plain rxing call", plain_ms);

    // Front: printed fields read by OCR.
    let store = test_store(&[&PP_OCR]);
    let t = Instant::now();
    let ocr = Arc::new(OcrEngine::load(&store).expect("PP-OCR models load"));
    println!("\nfront: load PP-OCR models {:.0} ms", ms(t.elapsed()));
    let engine = LocalDocumentEngine::with_ocr(ocr);
    let base = Distortion { card_width: 1000.0, contrast: 1.0, jpeg_quality: Some(85), ..Default::default() };
    let kinds = [
        ("clean", base),
        ("rotate_+3", Distortion { rotation_deg: 3.0, ..base }),
        ("blur_1.0", Distortion { blur_sigma: 1.0, ..base }),
        ("jpeg_q40_small", Distortion { jpeg_quality: Some(40), card_width: 800.0, ..base }),
    ];
    let mut fronts = Vec::new();
    for (ci, card) in cards().into_iter().enumerate() {
        let mut rng = Rng::new(5000 + ci as u64);
        let face = card_front(&card, &mut rng);
        for (kind, d) in kinds {
            fronts.push((card.clone(), kind, photograph(&face, d, &mut rng)));
        }
    }
    let _ = engine.analyze_image(DocumentSide::Front, DocumentType::DriverLicense, &fronts[0].2);
    let (mut front_ms, mut ocr_ms, mut checks_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut numbers, mut last_names, mut births) = (0, 0, 0);
    for (card, _kind, bytes) in &fronts {
        let t = Instant::now();
        let report = engine.analyze_image(DocumentSide::Front, DocumentType::DriverLicense, bytes).expect("analysis runs");
        front_ms.push(ms(t.elapsed()));
        if let Some((_, d)) = report.timings.iter().find(|(step, _)| *step == "ocr") {
            ocr_ms.push(ms(*d));
        }
        if let Some((_, d)) = report.timings.iter().find(|(step, _)| *step == "checks") {
            checks_ms.push(ms(*d));
        }
        let f = report.analysis.fields.unwrap_or_default();
        numbers += usize::from(f.document_number.as_deref() == Some(card.document_number));
        last_names += usize::from(f.last_name.as_deref() == Some(card.last_name));
        births += usize::from(f.birth_date.map(|d| d.to_string()).as_deref() == Some(card.birth_date));
    }
    let n = fronts.len();
    println!("front: {n} synthetic card fronts (1200x800 JPEG, {} distortions); fields read exactly: document number {numbers}/{n}, last name {last_names}/{n}, birth date {births}/{n}", kinds.len());
    print_stats("front analyze_image (OCR+fields+checks)", front_ms);
    print_stats("front OCR (detect+recognise)", ocr_ms);
    print_stats("front checks (incl. colour-channel OCR)", checks_ms);
}
