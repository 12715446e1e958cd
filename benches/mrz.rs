//! MRZ reading in OCR-B: exact-read rate per format and category on the
//! evaluation set of tests/it/mrz_fixtures (generated in code), and the
//! CPU cost per image.
//!
//! `CARGO_TARGET_DIR=target-release cargo bench --bench mrz [-- N]`
//! (N photos per format and category, default 20; seeds 0..N, which the
//! tests never use). Needs Debian's `fonts-ocr-b` (or `TESSERA_OCRB_FONT`).
//!
//! Exact read: the MRZ is found, every check digit verifies and the lines
//! equal the printed ones character for character. Passports are analysed
//! as a passport front, TD1 as the back of an `identification_card`, TD2 as
//! the front of one: the whole `analyze_image` (decode, barcode attempt,
//! OCR, MRZ, checks), CPU-seconds of the process per image.

#[path = "../tests/it/mrz_fixtures/mod.rs"]
mod mrz_fixtures;

use std::collections::BTreeMap;
use std::sync::Arc;

use mrz_fixtures::{Category, Format, ocrb, sample};
use tessera::engine::DocumentSide;
use tessera::engine::document::LocalDocumentEngine;
use tessera::engine::ocr::OcrEngine;
use tessera::models::{PP_OCR, test_store};
use tessera::service::types::DocumentType;

/// CPU-seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn how(format: Format) -> (DocumentSide, DocumentType) {
    match format {
        Format::Td3 => (DocumentSide::Front, DocumentType::Passport),
        Format::Td1 => (DocumentSide::Back, DocumentType::IdentificationCard),
        Format::Td2 => (DocumentSide::Front, DocumentType::IdentificationCard),
    }
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20);
    let font = match ocrb() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let store = test_store(&[&PP_OCR]);
    let engine = LocalDocumentEngine::with_ocr(Arc::new(OcrEngine::load(&store).expect("PP-OCR models load")));
    println!("{n} photos per format and category; one thread; CPU-seconds of the process per image");
    // Warm-up.
    let warm = sample(&font, Format::Td3, Category::Clean, 10_000);
    let _ = engine.analyze_image(DocumentSide::Front, DocumentType::Passport, &warm.jpeg);

    if let Some(path) = std::env::var_os("MRZ_DUMP") {
        dump(&engine, &font, n, std::path::Path::new(&path));
        return;
    }
    let mut exact: BTreeMap<(Format, Category), (u32, u32)> = BTreeMap::new();
    let mut cpu: BTreeMap<Format, Vec<f64>> = BTreeMap::new();
    let mut steps: BTreeMap<(Format, &'static str), f64> = BTreeMap::new();
    let mut misses = Vec::new();
    // Per format: MRZs whose check digits all verify but whose lines are
    // not the printed ones (a wrong read accepted), and reads repaired.
    let mut wrong_but_valid: BTreeMap<Format, u32> = BTreeMap::new();
    let mut repaired: BTreeMap<Format, u32> = BTreeMap::new();
    for format in Format::ALL {
        let (side, declared) = how(format);
        for category in Category::ALL {
            for seed in 0..n {
                let s = sample(&font, format, category, seed);
                let before = cpu_seconds();
                let report = engine.analyze_image(side, declared, &s.jpeg).expect("analysis runs");
                cpu.entry(format).or_default().push(cpu_seconds() - before);
                for (step, d) in &report.timings {
                    *steps.entry((format, step)).or_default() += d.as_secs_f64();
                }
                let ok = matches!(&report.mrz, Some(Ok(m)) if m.is_valid() && m.lines == s.lines);
                if let Some(Ok(m)) = &report.mrz {
                    if m.is_valid() && m.lines != s.lines {
                        *wrong_but_valid.entry(format).or_default() += 1;
                    }
                    if !m.repaired.is_empty() {
                        *repaired.entry(format).or_default() += 1;
                    }
                }
                let e = exact.entry((format, category)).or_default();
                e.1 += 1;
                if ok {
                    e.0 += 1;
                } else {
                    let got = match &report.mrz {
                        Some(Ok(m)) => format!("{:?} failed {:?} repaired {:?}", m.lines, m.failed_checks(), m.repaired),
                        Some(Err(e)) => e.clone(),
                        None => "OCR did not run".into(),
                    };
                    misses.push(format!("{} / {} / seed {seed}: expected {:?}, got {got}", format.name(), category.name(), s.lines));
                }
            }
        }
    }
    println!("\n{:<8} {:<18} {:>8}", "format", "category", "exact");
    for ((format, category), (ok, total)) in &exact {
        println!("{:<8} {:<18} {:>3}/{:<3} {:>5.1} %", format.name(), category.name(), ok, total, 100.0 * *ok as f64 / *total as f64);
    }
    for format in Format::ALL {
        let (ok, total) = exact.iter().filter(|((f, _), _)| *f == format).fold((0, 0), |a, (_, (o, t))| (a.0 + o, a.1 + t));
        let (ok_nc, total_nc) = exact
            .iter()
            .filter(|((f, c), _)| *f == format && *c != Category::Combined)
            .fold((0, 0), |a, (_, (o, t))| (a.0 + o, a.1 + t));
        println!(
            "{:<8} all: {ok}/{total} = {:.1} %   without `combined`: {ok_nc}/{total_nc} = {:.1} %   repaired {}, check digits verify but lines wrong {}",
            format.name(),
            100.0 * ok as f64 / total as f64,
            100.0 * ok_nc as f64 / total_nc as f64,
            repaired.get(&format).copied().unwrap_or(0),
            wrong_but_valid.get(&format).copied().unwrap_or(0)
        );
    }
    let (ok, total) = exact
        .iter()
        .filter(|((f, _), _)| matches!(f, Format::Td3 | Format::Td1))
        .fold((0, 0), |a, (_, (o, t))| (a.0 + o, a.1 + t));
    println!("TD3 + TD1: {ok}/{total} = {:.1} % exact", 100.0 * ok as f64 / total.max(1) as f64);
    println!();
    for (format, mut v) in cpu {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let steps: Vec<String> = steps
            .iter()
            .filter(|((f, _), _)| *f == format)
            .map(|((_, step), secs)| format!("{step} {:.0} ms", 1e3 * secs / v.len() as f64))
            .collect();
        println!(
            "{:<8} CPU per image: mean {:.2} s, median {:.2} s, p90 {:.2} s, max {:.2} s; wall per step (mean): {}",
            format.name(),
            mean,
            v[v.len() / 2],
            v[(v.len() * 9 / 10).min(v.len() - 1)],
            v[v.len() - 1],
            steps.join(", ")
        );
    }
    if std::env::var_os("MRZ_SHOW_MISSES").is_some() {
        println!("\nmisses:");
        for m in misses {
            println!("  {m}");
        }
    }
}

/// `MRZ_DUMP=path`: writes, per photo, the printed lines and the OCR's
/// MRZ-like lines (text and per-character scores) as read and, when they
/// are turned, as read from the levelled page, for working on the MRZ
/// reader without running OCR again. Text, one record per line:
/// `SAMPLE format category seed`, `TRUTH line`, `PASS first|level`,
/// `LINE text`, `LOGP scores of one character` (37 values).
fn dump(engine: &LocalDocumentEngine, font: &ab_glyph::FontVec, n: u64, path: &std::path::Path) {
    use std::io::Write;
    let ocr = engine.ocr().expect("OCR loads");
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("dump file"));
    for format in Format::ALL {
        for category in Category::ALL {
            for seed in 0..n {
                let s = sample(font, format, category, seed);
                let img = image::load_from_memory(&s.jpeg).expect("jpeg decodes").to_rgb8();
                writeln!(out, "SAMPLE {} {:?} {seed}", format.name(), category).unwrap();
                for l in &s.lines {
                    writeln!(out, "TRUTH {l}").unwrap();
                }
                let lines = ocr.read(&img).expect("OCR runs");
                let mut angles: Vec<f32> = lines.iter().filter(|l| l.mrz.is_some()).map(|l| l.angle_deg).collect();
                angles.sort_by(f32::total_cmp);
                let level = angles.get(angles.len() / 2).copied().filter(|a| a.abs() >= 1.0);
                let mut passes = vec![("first", lines)];
                if let Some(angle) = level {
                    passes.push(("level", ocr.read(&tessera::engine::ocr::turned(&img, angle)).expect("OCR runs")));
                }
                for (name, lines) in passes {
                    writeln!(out, "PASS {name}").unwrap();
                    for l in lines {
                        match &l.mrz {
                            Some(m) => {
                                writeln!(out, "LINE {}", m.text).unwrap();
                                for row in &m.logp {
                                    let v: Vec<String> = row.iter().map(|x| format!("{x:.3}")).collect();
                                    writeln!(out, "LOGP {}", v.join(" ")).unwrap();
                                }
                            }
                            None => writeln!(out, "LINE {}", l.text.replace('\n', " ")).unwrap(),
                        }
                    }
                }
            }
        }
    }
}
