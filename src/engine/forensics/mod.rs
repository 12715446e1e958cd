//! Authenticity checks of one side of a document, pure Rust:
//!
//! - suspicious words (SAMPLE, SPECIMEN, VOID, ...) in the OCR text, in a
//!   colour-channel pass that makes red/blue watermarks readable (at a few
//!   rotations), and in the barcode fields ([`words`]);
//! - image manipulation: editor names in EXIF, JPEG quality and double
//!   compression ([`jpeg`]), screenshot sizes ([`exif`]);
//! - is-identity-document: a valid barcode/MRZ, ID keywords, the card's
//!   aspect ratio;
//! - the fingerprint for the duplicate search across sessions ([`phash`]);
//!   the search itself needs the database: `service::document_checks`.
//!
//! Crosschecks (printed vs machine-readable fields) are in [`crosscheck`].
//! What a local check cannot catch is said in README ("Authenticity checks").

pub mod crosscheck;
pub mod exif;
pub mod jpeg;
pub mod phash;
pub mod words;

use image::imageops::FilterType;
use image::{GrayImage, Luma, RgbImage};
use serde_json::json;

use super::ocr::{OcrEngine, ReadOptions, TextLine, channel_excess};
use super::{CheckOutcome, DocumentFields, DocumentSide};
use crate::domain::checks::names;

/// What the duplicate search stores for one side (see [`phash`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentFingerprint {
    /// 64 hex digits: 256-bit perceptual hash of the card.
    pub phash: String,
    /// SHA-256 hex of issuer|number|birth date from the barcode/MRZ.
    pub barcode_key: Option<String>,
}

/// What is known about one side when its checks are made.
pub struct SideInput<'a> {
    pub side: DocumentSide,
    /// The uploaded file, as stored.
    pub bytes: &'a [u8],
    pub image: &'a RgbImage,
    /// The OCR lines, or why OCR could not run.
    pub ocr: Result<&'a [TextLine], String>,
    /// Fields decoded from a barcode or MRZ on this side.
    pub machine: Option<&'a DocumentFields>,
    /// `Some(true)` when a barcode/MRZ was decoded and is structurally
    /// valid (AAMVA header, MRZ check digits); `Some(false)` when one was
    /// found but is invalid; `None` when none was found.
    pub machine_valid: Option<bool>,
}

/// The side's authenticity checks and its fingerprint.
#[derive(Debug, Clone, Default)]
pub struct SideAssessment {
    /// `doc_<side>_suspicious_words`, `doc_<side>_image_manipulation`,
    /// `doc_<side>_is_identity_document`.
    pub checks: Vec<CheckOutcome>,
    pub fingerprint: Option<DocumentFingerprint>,
}

fn check_name(side: DocumentSide, front: &'static str, back: &'static str) -> &'static str {
    match side {
        DocumentSide::Front => front,
        DocumentSide::Back => back,
    }
}

/// Runs every local authenticity check of one side. `ocr` (when loaded)
/// serves the colour-channel pass for watermarks.
pub fn assess(input: &SideInput<'_>, ocr: Option<&OcrEngine>) -> SideAssessment {
    let card = phash::card_view(input.image);
    let fingerprint = DocumentFingerprint {
        phash: phash::to_hex(&phash::perceptual_hash(&card.image)),
        barcode_key: input.machine.and_then(phash::barcode_key),
    };
    let checks = vec![
        suspicious_words(input, ocr),
        image_manipulation(input),
        is_identity_document(input, card.size, card.on_background),
    ];
    SideAssessment { checks, fingerprint: Some(fingerprint) }
}

// ---------------------------------------------------------------- words

/// Long side (px) of the image the colour-channel pass looks at:
/// watermarks are large print.
const COLOUR_SIDE: u32 = 800;
/// The detector's long side in the colour-channel pass (at most the
/// region's own size): watermark letters are a tenth of the card high.
const COLOUR_DET_SIDE: u32 = 400;
/// Lines recognised per colour channel (the largest): a watermark is a
/// few large words, and this bounds the cost of a busy coloured design.
const COLOUR_MAX_LINES: usize = 8;
/// Watermarks are often diagonal: lines turned up to this angle are cut
/// out level in the one detector pass (no rotated copies of the image).
const COLOUR_MAX_SLANT_DEG: f32 = 60.0;
/// Share of strongly coloured pixels below which no colour pass is made.
const MIN_COLOURED_SHARE: f64 = 0.002;

fn suspicious_words(input: &SideInput<'_>, ocr: Option<&OcrEngine>) -> CheckOutcome {
    let name = check_name(input.side, names::DOC_FRONT_SUSPICIOUS_WORDS, names::DOC_BACK_SUSPICIOUS_WORDS);
    let mut sources: Vec<serde_json::Value> = Vec::new();
    let mut found: Vec<&'static str> = Vec::new();
    let mut add = |source: &str, words: Vec<&'static str>, found: &mut Vec<&'static str>| {
        if !words.is_empty() {
            sources.push(json!({ "source": source, "words": words }));
            for w in words {
                if !found.contains(&w) {
                    found.push(w);
                }
            }
        }
    };
    let mut passes = Vec::new();
    match &input.ocr {
        Ok(lines) => {
            let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
            add("ocr", words::find(&text.join("\n")), &mut found);
            passes.push("ocr");
        }
        Err(_) => {}
    }
    if let Some(m) = input.machine {
        let values = [m.first_name.as_deref(), m.middle_name.as_deref(), m.last_name.as_deref(), m.street.as_deref(), m.city.as_deref()];
        add("barcode", words::find(&words::barcode_text(m.raw_payload.as_deref(), &values)), &mut found);
        passes.push("barcode");
    }
    if let Some(ocr) = ocr {
        let image = input.image;
        let scale = (COLOUR_SIDE as f32 / image.width().max(image.height()) as f32).min(1.0);
        let small;
        let view = if scale < 1.0 {
            let (w, h) = ((image.width() as f32 * scale) as u32, (image.height() as f32 * scale) as u32);
            small = image::imageops::resize(image, w.max(8), h.max(8), FilterType::Triangle);
            &small
        } else {
            image
        };
        // The main pass's lines, in `view` coordinates: their text was read already.
        let known: Vec<[u32; 4]> = match &input.ocr {
            Ok(lines) => lines.iter().map(|l| l.bbox.map(|v| (v as f32 * scale).round() as u32)).collect(),
            Err(_) => Vec::new(),
        };
        for (channel, label) in [(0usize, "red_channel"), (2, "blue_channel")] {
            if let Some(words) = colour_pass(ocr, view, channel, &known) {
                add(label, words, &mut found);
                passes.push(label);
            }
        }
    }
    if passes.is_empty() {
        let reason = match &input.ocr {
            Err(e) => format!("no text could be read to look for suspicious words: {e}"),
            Ok(_) => "no text could be read to look for suspicious words".to_string(),
        };
        return CheckOutcome::unavailable(name, reason);
    }
    let evidence = json!({ "found": sources, "passes": passes });
    if found.is_empty() {
        CheckOutcome::pass(name, 0.95, "no suspicious words found").with_evidence(evidence)
    } else {
        CheckOutcome::fail(name, 0.05, format!("suspicious words found: {}", found.join(", "))).with_evidence(evidence)
    }
}

/// OCR of one colour channel's excess (a red "SAMPLE" watermark becomes dark
/// text on white) of `image` (already at most [`COLOUR_SIDE`] px); `None`
/// when the image has too little of that colour to carry a watermark.
/// Bounded: the coloured region only, one detector pass at
/// [`COLOUR_DET_SIDE`] that cuts diagonal lines out level, at most
/// [`COLOUR_MAX_LINES`] lines recognised.
fn colour_pass(ocr: &OcrEngine, image: &RgbImage, channel: usize, known: &[[u32; 4]]) -> Option<Vec<&'static str>> {
    let excess = channel_excess(image, channel);
    let coloured = excess.pixels().filter(|p| p.0[0] < 160).count() as f64 / (excess.len().max(1) as f64);
    if coloured < MIN_COLOURED_SHARE {
        return None;
    }
    // A watermark lies where the colour is: OCR only that region (with a
    // margin), e.g. a card's coloured header band rather than the whole card.
    let (excess, [x0, y0]) = crop_to_ink(&excess, 160);
    let rgb = image::DynamicImage::ImageLuma8(excess).to_rgb8();
    // The detector no larger than the region (a small coloured area is not upscaled).
    let options = ReadOptions {
        det_long_side: Some(COLOUR_DET_SIDE.min(rgb.width().max(rgb.height()).max(64))),
        max_lines: COLOUR_MAX_LINES,
        max_slant_deg: COLOUR_MAX_SLANT_DEG,
    };
    // Coloured print the main pass has read (a header in white on a blue
    // band) is not read again.
    let known: Vec<[u32; 4]> = known
        .iter()
        .map(|b| [b[0].saturating_sub(x0), b[1].saturating_sub(y0), b[2].saturating_sub(x0), b[3].saturating_sub(y0)])
        .collect();
    let lines = ocr.read_except(&rgb, &options, &known).ok()?;
    let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    Some(words::find(&text.join("\n")))
}

/// The part of `gray` holding its pixels darker than `threshold`, with a
/// margin of 4% of the image (at least 16 px); the whole image when that
/// part covers most of it. Also returns where the part starts in `gray`.
fn crop_to_ink(gray: &GrayImage, threshold: u8) -> (GrayImage, [u32; 2]) {
    let (w, h) = gray.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (x, y, p) in gray.enumerate_pixels() {
        if p.0[0] < threshold {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
        }
    }
    if x1 <= x0 || y1 <= y0 {
        return (gray.clone(), [0, 0]);
    }
    let margin = (w.max(h) / 25).max(16);
    let (x0, y0) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
    let (x1, y1) = ((x1 + margin).min(w), (y1 + margin).min(h));
    if u64::from(x1 - x0) * u64::from(y1 - y0) * 10 > u64::from(w) * u64::from(h) * 7 {
        return (gray.clone(), [0, 0]);
    }
    (image::imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image(), [x0, y0])
}

/// `image` rotated by `degrees` (counter-clockwise) on a white canvas large
/// enough to hold it (bilinear).
pub fn rotate_white(image: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (s, c) = degrees.to_radians().sin_cos();
    let nw = (w * c.abs() + h * s.abs()).ceil().max(1.0) as u32;
    let nh = (w * s.abs() + h * c.abs()).ceil().max(1.0) as u32;
    let (cx, cy, ncx, ncy) = (w / 2.0, h / 2.0, nw as f32 / 2.0, nh as f32 / 2.0);
    GrayImage::from_fn(nw, nh, |x, y| {
        let (dx, dy) = (x as f32 - ncx, y as f32 - ncy);
        let sx = c * dx - s * dy + cx;
        let sy = s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
            return Luma([255]);
        }
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let p = |xx: f32, yy: f32| f32::from(image.get_pixel(xx as u32, yy as u32).0[0]);
        let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x0 + 1.0, y0) * fx * (1.0 - fy)
            + p(x0, y0 + 1.0) * (1.0 - fx) * fy
            + p(x0 + 1.0, y0 + 1.0) * fx * fy;
        Luma([v.round() as u8])
    })
}

// ---------------------------------------------------------------- manipulation

/// Screen resolutions (either orientation): an upload of exactly this size
/// without camera EXIF is likely a screenshot of a document, not a photo.
const SCREEN_SIZES: [(u32, u32); 20] = [
    (1920, 1080), (1366, 768), (1280, 720), (1440, 900), (1536, 864), (1600, 900), (2560, 1440), (3840, 2160),
    (1280, 800), (1680, 1050), (2880, 1800), (750, 1334), (1080, 1920), (1170, 2532), (1179, 2556), (1284, 2778),
    (1290, 2796), (1125, 2436), (1080, 2400), (1440, 3200),
];

pub fn is_screen_size(w: u32, h: u32) -> bool {
    SCREEN_SIZES.iter().any(|&(a, b)| (w, h) == (a, b) || (w, h) == (b, a))
}

fn image_manipulation(input: &SideInput<'_>) -> CheckOutcome {
    let name = check_name(input.side, names::DOC_FRONT_IMAGE_MANIPULATION, names::DOC_BACK_IMAGE_MANIPULATION);
    let facts = exif::read(input.bytes);
    let is_jpeg = input.bytes.starts_with(&[0xFF, 0xD8]);
    let quality = jpeg::luma_table(input.bytes).map(|t| jpeg::estimate_quality(&t));
    let double = if is_jpeg { jpeg::double_compression_score(input.bytes) } else { None };
    let (w, h) = input.image.dimensions();
    let screenshot = is_screen_size(w, h) && !facts.from_camera();

    // (finding, how strongly it indicates manipulation 0..1)
    let mut findings: Vec<(String, f64)> = Vec::new();
    if let Some(editor) = exif::editor(&facts) {
        findings.push((format!("saved by an image editor ({editor})"), 0.9));
    }
    if let Some(score) = double.filter(|s| *s > jpeg::DOUBLE_JPEG_THRESHOLD) {
        findings.push((format!("compressed twice (double-JPEG score {score:.2})"), (0.5 + score).min(0.95)));
    }
    if screenshot {
        findings.push((format!("{w}x{h} is a screen size and no camera wrote the file: likely a screenshot"), 0.7));
    }
    if exif::modified_after_capture(&facts) && exif::editor(&facts).is_none() {
        findings.push(("EXIF says the file was changed after it was taken".into(), 0.3));
    }
    let evidence = json!({
        "exif": facts.to_json(),
        "jpeg_quality": quality.map(|(q, _)| q),
        "jpeg_tables_standard": quality.map(|(_, diff)| diff < 0.5),
        "double_jpeg_score": double.map(|s| (s * 1000.0).round() / 1000.0),
        "double_jpeg_threshold": jpeg::DOUBLE_JPEG_THRESHOLD,
        "screen_size": is_screen_size(w, h),
        "findings": findings.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
    });
    let worst = findings.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    let strong: Vec<&str> = findings.iter().filter(|(_, s)| *s >= 0.5).map(|(f, _)| f.as_str()).collect();
    if !strong.is_empty() {
        return CheckOutcome::fail(name, 1.0 - worst, strong.join("; ")).with_evidence(evidence);
    }
    let detail = if is_jpeg && double.is_some() {
        "no trace of editing found (EXIF, compression history, size)"
    } else if is_jpeg {
        "no trace of editing found in EXIF or size (too little photographic texture to judge the compression history)"
    } else {
        "no trace of editing found in EXIF or size (a PNG carries no compression history)"
    };
    let score = if double.is_some() { 0.9 } else { 0.75 } - worst * 0.5;
    CheckOutcome::pass(name, score, detail).with_evidence(evidence)
}

// ---------------------------------------------------------------- identity document

/// Words printed on identity documents (whole tokens or phrases).
/// National ID cards and passports label their fields in words (SURNAME,
/// GIVEN NAMES, DATE OF EXPIRY), US cards in codes (LN, FN, EXP).
const ID_KEYWORDS: [&str; 26] = [
    "DRIVER LICENSE", "DRIVERS LICENSE", "IDENTIFICATION", "ID CARD", "PASSPORT", "DOB", "EXP", "ISS", "CLASS", "SEX",
    "HGT", "EYES", "DLN", "LN", "FN", "DONOR", "REAL ID", "USA", "STATE OF", "DEPARTMENT", "NATIONALITY",
    "DATE OF BIRTH", "IDENTITY CARD", "SURNAME", "GIVEN NAMES", "DATE OF EXPIRY",
];

fn is_identity_document(input: &SideInput<'_>, card: (u32, u32), card_on_background: bool) -> CheckOutcome {
    let name = check_name(input.side, names::DOC_FRONT_IS_IDENTITY_DOCUMENT, names::DOC_BACK_IS_IDENTITY_DOCUMENT);
    let (cw, ch) = card;
    let aspect = f64::from(cw.max(ch)) / f64::from(cw.min(ch).max(1));
    // ID-1 cards 85.60 x 53.98 mm = 1.586; passport pages (ID-3) 1.42.
    let card_shape = (1.38..=1.72).contains(&aspect);
    let mut score: f64 = 0.0;
    let mut signals = Vec::new();
    match input.machine_valid {
        Some(true) => {
            score += 0.65;
            signals.push("valid barcode/MRZ".to_string());
        }
        Some(false) => signals.push("barcode/MRZ found but invalid".to_string()),
        None => {}
    }
    let mut keywords: Vec<&str> = Vec::new();
    if let Ok(lines) = &input.ocr {
        let text: String = lines.iter().map(|l| crosscheck::normalize(&l.text)).collect::<Vec<_>>().join(" ");
        let padded = format!(" {text} ");
        keywords = ID_KEYWORDS.iter().copied().filter(|k| padded.contains(&format!(" {k} "))).collect();
        score += (keywords.len() as f64 * 0.12).min(0.55);
        if lines.len() >= 5 {
            score += 0.1;
        }
        if !keywords.is_empty() {
            signals.push(format!("ID keywords: {}", keywords.join(", ")));
        }
    }
    if card_shape && keywords.len() + usize::from(input.machine_valid == Some(true)) > 0 {
        score += 0.15;
        signals.push(format!("card aspect ratio {aspect:.2}"));
    }
    let evidence = json!({
        "machine_readable_valid": input.machine_valid,
        "keywords": keywords,
        "text_lines": input.ocr.as_ref().map(|l| l.len()).ok(),
        "card_aspect_ratio": (aspect * 100.0).round() / 100.0,
        "card_on_background": card_on_background,
    });
    if input.ocr.is_err() && input.machine_valid.is_none() {
        let reason = input.ocr.as_ref().err().cloned().unwrap_or_default();
        return CheckOutcome::unavailable(name, format!("neither OCR nor a barcode/MRZ could read the image: {reason}"))
            .with_evidence(evidence);
    }
    let score = score.min(1.0);
    if score >= 0.5 {
        CheckOutcome::pass(name, score, format!("looks like an identity document ({})", signals.join("; "))).with_evidence(evidence)
    } else {
        let detail = if signals.is_empty() {
            "no barcode, MRZ or identity-document text found".to_string()
        } else {
            format!("too little of an identity document ({})", signals.join("; "))
        };
        CheckOutcome::fail(name, score, detail).with_evidence(evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;

    fn input<'a>(bytes: &'a [u8], image: &'a RgbImage, lines: &'a [TextLine]) -> SideInput<'a> {
        SideInput { side: DocumentSide::Front, bytes, image, ocr: Ok(lines), machine: None, machine_valid: None }
    }

    fn line(text: &str) -> TextLine {
        TextLine { text: text.into(), confidence: 0.9, bbox: [0, 0, 10, 10], mrz: None, angle_deg: 0.0 }
    }

    #[test]
    fn an_editor_in_exif_or_a_double_save_fails_manipulation() {
        let img = jpeg::tests::textured(640, 400, 11);
        let camera = jpeg::tests::jpeg(&img, 88);
        let edited = exif::with_exif(&camera, &[(0x0131, "GIMP 2.10.34")]);
        let resaved = jpeg::tests::resave(&jpeg::tests::jpeg(&img, 60), 92);
        let run = |bytes: &[u8]| image_manipulation(&input(bytes, &img, &[]));
        let genuine = run(&camera);
        assert_eq!(genuine.verdict, Verdict::Pass, "{genuine:?}");
        assert_eq!(genuine.name, names::DOC_FRONT_IMAGE_MANIPULATION);
        let by_editor = run(&edited);
        assert_eq!(by_editor.verdict, Verdict::Fail);
        assert!(by_editor.detail.contains("gimp"), "{by_editor:?}");
        let twice = run(&resaved);
        assert_eq!(twice.verdict, Verdict::Fail, "{twice:?}");
        assert!(twice.detail.contains("compressed twice"));
    }

    #[test]
    fn a_screen_sized_png_is_a_screenshot() {
        let img = RgbImage::from_pixel(1920, 1080, image::Rgb([200, 200, 200]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let c = image_manipulation(&input(&png, &img, &[]));
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        assert!(c.detail.contains("screenshot"));
    }

    #[test]
    fn identity_document_needs_document_signals() {
        let card = RgbImage::new(856, 540);
        let front = [line("DRIVER LICENSE"), line("DLN D1234567"), line("DOB 01/02/1990"), line("EXP 01/02/2030"), line("LN SMITH"), line("FN JOHN")];
        let c = is_identity_document(&input(&[], &card, &front), (856, 540), false);
        assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
        let photo = [line("Welcome to Lake Tahoe")];
        let c = is_identity_document(&input(&[], &card, &photo), (1500, 1000), false);
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        let back = SideInput { machine_valid: Some(true), side: DocumentSide::Back, ..input(&[], &card, &[]) };
        let c = is_identity_document(&back, (856, 540), false);
        assert_eq!((c.verdict, c.name), (Verdict::Pass, names::DOC_BACK_IS_IDENTITY_DOCUMENT));
        let unreadable = SideInput { ocr: Err("model missing".into()), ..input(&[], &card, &[]) };
        assert_eq!(is_identity_document(&unreadable, (856, 540), false).verdict, Verdict::Unavailable);
    }

    #[test]
    fn sample_in_the_barcode_fails_suspicious_words() {
        let img = RgbImage::new(100, 60);
        let fields = DocumentFields { raw_payload: Some("ANSI 636014\nDCSSAMPLE\nDACJOHN".into()), ..Default::default() };
        let c = suspicious_words(&SideInput { machine: Some(&fields), ..input(&[], &img, &[line("DRIVER LICENSE")]) }, None);
        assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
        let clean = suspicious_words(&input(&[], &img, &[line("DRIVER LICENSE")]), None);
        assert_eq!(clean.verdict, Verdict::Pass);
        let none = suspicious_words(&SideInput { ocr: Err("no model".into()), ..input(&[], &img, &[]) }, None);
        assert_eq!(none.verdict, Verdict::Unavailable);
    }
}
