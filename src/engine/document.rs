//! The built-in document engine: composes the readers of one document image.
//!
//! - Back of a US/Canadian card: the PDF417 cascade ([`super::barcode`]) and
//!   the tolerant AAMVA parser ([`super::barcode::aamva`]): `data_source = barcode`.
//! - Passports and passport cards: the MRZ found among the OCR lines
//!   ([`super::mrz`], check digits verified): `data_source = mrz`.
//! - Back of an identification card: a PDF417 (US state IDs) or a TD1 MRZ
//!   (national ID cards); the plain barcode attempt, then the MRZ, and the
//!   PDF417 cascade only when no MRZ was found.
//! - Other fronts: the printed fields ([`super::ocr::fields`]): `data_source = ocr`.
//! - The document type is decided from what was read, and a mismatch with
//!   the declared type (a passport uploaded as a driver licence) fails the
//!   side's `*_is_identity_document` check.
//! - Forensic checks (suspicious words, manipulation) are appended in
//!   [`LocalDocumentEngine::forensic_checks`].
//!
//! [`LocalDocumentEngine::analyze_image`] is synchronous and returns a
//! [`DocumentReport`] with everything read and the timings (the
//! `tessera analyze` command prints it); the [`DocumentEngine`] impl runs it
//! on the blocking pool.

use image::DynamicImage;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::barcode::{self, BarcodeMiss, BarcodeRead, aamva};
use super::mrz::{self, Mrz};
use super::ocr::{OcrEngine, TextLine};
use super::{CheckOutcome, DocumentAnalysis, DocumentEngine, DocumentFields, DocumentInput, DocumentSide, EngineError, EngineFuture};
use crate::models::ModelStore;
use crate::domain::checks::names;
use crate::domain::DocumentType;

/// Largest image accepted (pixels); larger uploads are refused as input errors.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Everything the engine read from one image, with timings.
#[derive(Debug, Clone, Default)]
pub struct DocumentReport {
    pub side: Option<DocumentSide>,
    pub declared_type: Option<DocumentType>,
    /// The document type decided from the content, when it could be.
    pub detected_type: Option<DocumentType>,
    pub width: u32,
    pub height: u32,
    pub barcode: Option<Result<BarcodeRead, BarcodeMiss>>,
    pub aamva: Option<Result<aamva::AamvaRecord, String>>,
    pub mrz: Option<Result<Mrz, String>>,
    pub ocr_lines: Vec<TextLine>,
    /// Why OCR did not run (model missing, ...).
    pub ocr_unavailable: Option<String>,
    pub analysis: DocumentAnalysis,
    /// (step, duration) in the order run.
    pub timings: Vec<(&'static str, Duration)>,
}

impl DocumentReport {
    pub fn total(&self) -> Duration {
        self.timings.iter().map(|(_, d)| *d).sum()
    }
}

struct Inner {
    store: Option<ModelStore>,
    /// Loaded on first use; retried while the model package is missing.
    ocr: Mutex<Option<Arc<OcrEngine>>>,
    barcode_budget: Duration,
}

/// The local document engine (cheap to clone).
#[derive(Clone)]
pub struct LocalDocumentEngine {
    inner: Arc<Inner>,
}

impl LocalDocumentEngine {
    /// An engine reading its OCR models from `store` (lazily, on first use).
    pub fn new(store: ModelStore) -> Self {
        Self::build(Some(store), None)
    }

    /// An engine with an already loaded OCR engine (tests, benches).
    pub fn with_ocr(ocr: Arc<OcrEngine>) -> Self {
        Self::build(None, Some(ocr))
    }

    /// Barcode and MRZ text only: no OCR (front reading is unavailable).
    pub fn without_ocr() -> Self {
        Self::build(None, None)
    }

    fn build(store: Option<ModelStore>, ocr: Option<Arc<OcrEngine>>) -> Self {
        Self { inner: Arc::new(Inner { store, ocr: Mutex::new(ocr), barcode_budget: barcode::DEFAULT_BUDGET }) }
    }

    /// The same engine with another total time budget for the barcode cascade.
    pub fn with_barcode_budget(self, budget: Duration) -> Self {
        let ocr = self.inner.ocr.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Self { inner: Arc::new(Inner { store: self.inner.store.clone(), ocr: Mutex::new(ocr), barcode_budget: budget }) }
    }

    /// The OCR engine, loading it when its models have appeared; else why not.
    pub fn ocr(&self) -> Result<Arc<OcrEngine>, String> {
        let mut slot = self.inner.ocr.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ocr) = slot.as_ref() {
            return Ok(ocr.clone());
        }
        let Some(store) = &self.inner.store else {
            return Err("OCR is not configured for this document engine".into());
        };
        let ocr = Arc::new(OcrEngine::load(store)?);
        *slot = Some(ocr.clone());
        Ok(ocr)
    }

    pub fn engine_version() -> String {
        format!("tessera-document/1 (rxing 0.9.3 pdf417 cascade, aamva v1-11, icao 9303 mrz, {})", OcrEngine::version())
    }

    /// Analyses one image synchronously (CPU-bound; call off the async runtime).
    pub fn analyze_image(&self, side: DocumentSide, declared: DocumentType, bytes: &[u8]) -> Result<DocumentReport, EngineError> {
        let mut report = DocumentReport { side: Some(side), declared_type: Some(declared), ..Default::default() };
        let t = Instant::now();
        let img = decode_image(bytes)?;
        report.timings.push(("decode", t.elapsed()));
        (report.width, report.height) = (img.width(), img.height());

        // Back of a card: the barcode. A front, and any side of a declared
        // passport or passport card (an MRZ, never a PDF417), gets one cheap
        // plain attempt instead of the cascade: a back uploaded as the front,
        // or a licence uploaded as a passport, still reads (and is flagged).
        // The back of an identification card carries a PDF417 (US state IDs)
        // or a TD1 MRZ (national ID cards): after the plain attempt, its MRZ
        // is looked for, and the cascade runs only when none was found.
        let wants_barcode = side == DocumentSide::Back && !matches!(declared, DocumentType::Passport | DocumentType::PassportCard);
        let mrz_first = side == DocumentSide::Back && declared == DocumentType::IdentificationCard;
        let t = Instant::now();
        let mut read = if wants_barcode && !mrz_first {
            barcode::decode_pdf417(&img, self.inner.barcode_budget)
        } else {
            plain_attempt(&img)
        };
        report.timings.push(("barcode", t.elapsed()));
        if let Ok(read) = &read {
            report.aamva = Some(aamva::parse(&read.text).map_err(|e| e.to_string()));
        }

        // OCR: the MRZ of passports, passport cards and ID cards, the printed fields of fronts.
        let barcode_fields = matches!(report.aamva, Some(Ok(_)));
        let wants_ocr = side == DocumentSide::Front || (!barcode_fields && declared != DocumentType::DriverLicense);
        if wants_ocr {
            self.read_text(&img, &mut report);
        }
        if mrz_first && read.is_err() && !matches!(report.mrz, Some(Ok(_))) {
            let t = Instant::now();
            read = barcode::decode_pdf417(&img, self.inner.barcode_budget);
            report.timings.push(("barcode", t.elapsed()));
            if let Ok(read) = &read {
                report.aamva = Some(aamva::parse(&read.text).map_err(|e| e.to_string()));
            }
        }
        if wants_barcode || read.is_ok() {
            report.barcode = Some(read);
        }

        let t = Instant::now();
        report.analysis = self.compose(side, declared, bytes, &img, &report);
        report.detected_type = report.analysis.fields.as_ref().and_then(|f| f.document_type);
        report.timings.push(("checks", t.elapsed()));
        Ok(report)
    }

    /// OCR of `img` and the MRZ among its lines, into `report`.
    fn read_text(&self, img: &DynamicImage, report: &mut DocumentReport) {
        match self.ocr() {
            Ok(ocr) => {
                let t = Instant::now();
                let rgb = img.to_rgb8();
                let lines = ocr.read(&rgb).unwrap_or_else(|e| {
                    report.ocr_unavailable = Some(e);
                    Vec::new()
                });
                report.timings.push(("ocr", t.elapsed()));
                let t = Instant::now();
                let (found, lines, _levelled) = read_mrz(&ocr, &rgb, lines);
                report.timings.push(("mrz", t.elapsed()));
                report.mrz = Some(found.map_err(|e| e.to_string()));
                report.ocr_lines = lines;
            }
            Err(reason) => report.ocr_unavailable = Some(reason),
        }
    }

    /// Fields and checks from what was read.
    fn compose(
        &self,
        side: DocumentSide,
        declared: DocumentType,
        bytes: &[u8],
        img: &DynamicImage,
        report: &DocumentReport,
    ) -> DocumentAnalysis {
        let mut checks = Vec::new();
        let is_identity = match side {
            DocumentSide::Front => names::DOC_FRONT_IS_IDENTITY_DOCUMENT,
            DocumentSide::Back => names::DOC_BACK_IS_IDENTITY_DOCUMENT,
        };
        let aamva = report.aamva.as_ref().and_then(|r| r.as_ref().ok());
        let mrz = report.mrz.as_ref().and_then(|r| r.as_ref().ok());
        let fields: Option<DocumentFields> = if let (Some(record), Some(Ok(read))) = (aamva, &report.barcode) {
            let fields = record.fields(&read.text);
            checks.push(type_check(is_identity, declared, fields.document_type, "AAMVA barcode", json!({
                "source": "barcode",
                "aamva_version": record.version,
                "iin": record.iin,
                "offsets_valid": record.offsets_valid,
                "stage": read.stage,
            })));
            Some(fields)
        } else if let Some(m) = mrz {
            let fields = m.fields();
            let evidence = json!({
                "source": "mrz",
                "format": format!("{:?}", m.format),
                "failed_check_digits": m.failed_checks(),
                "repaired": m.repaired,
            });
            if m.is_valid() {
                checks.push(type_check(is_identity, declared, fields.document_type, "MRZ with verified check digits", evidence));
            } else {
                checks.push(
                    CheckOutcome::fail(
                        is_identity,
                        0.2,
                        format!("the MRZ check digits do not verify ({})", m.failed_checks().join(", ")),
                    )
                    .with_evidence(evidence),
                );
            }
            Some(fields)
        } else if !report.ocr_lines.is_empty() {
            let fields = super::ocr::fields::extract(&report.ocr_lines, declared);
            if let Some(detected) = fields.document_type
                && family(detected) != family(declared)
                && declared != DocumentType::Unknown
            {
                checks.push(type_check(is_identity, declared, Some(detected), "printed text", json!({"source": "ocr"})));
            }
            Some(fields).filter(|f| *f != DocumentFields { data_source: f.data_source, ..Default::default() })
        } else {
            None
        };
        let assessment = self.forensic_checks(side, declared, bytes, img, report, fields.as_ref());
        checks.extend(assessment.checks);
        // The first outcome of a check wins (the content-type decision above
        // is more specific than a generic score).
        let mut seen = Vec::new();
        checks.retain(|c| {
            let fresh = !seen.contains(&c.name);
            seen.push(c.name);
            fresh
        });
        // A passport's printed zone, for the crosschecks against its MRZ.
        let printed_fields = (fields.as_ref().and_then(|f| f.data_source) == Some(crate::domain::DataSource::Mrz)
            && !report.ocr_lines.is_empty())
        .then(|| super::ocr::fields::extract(&report.ocr_lines, declared));
        DocumentAnalysis { fields, checks, fingerprint: assessment.fingerprint, printed_fields, ..Default::default() }
    }

    /// Forensic checks of one side (suspicious words, manipulation,
    /// is-identity-document) and its fingerprint: [`super::forensics`].
    fn forensic_checks(
        &self,
        side: DocumentSide,
        _declared: DocumentType,
        bytes: &[u8],
        img: &DynamicImage,
        report: &DocumentReport,
        fields: Option<&DocumentFields>,
    ) -> super::forensics::SideAssessment {
        use crate::domain::DataSource;
        let rgb = img.to_rgb8();
        let machine = fields.filter(|f| matches!(f.data_source, Some(DataSource::Barcode | DataSource::Mrz)));
        let machine_valid = match (&report.aamva, &report.mrz) {
            (Some(Ok(_)), _) => Some(true),
            (_, Some(Ok(m))) => Some(m.is_valid()),
            (Some(Err(_)), _) => Some(false),
            _ => None,
        };
        // OCR ran when it left lines, an MRZ verdict or a reason.
        let ocr = match (&report.ocr_unavailable, report.mrz.is_some() || !report.ocr_lines.is_empty()) {
            (Some(reason), _) => Err(reason.clone()),
            (None, true) => Ok(report.ocr_lines.as_slice()),
            (None, false) => Err("OCR was not run on this side".to_string()),
        };
        let input = super::forensics::SideInput { side, bytes, image: &rgb, ocr, machine, machine_valid };
        super::forensics::assess(&input, self.ocr().ok().as_deref())
    }
}

/// The MRZ among the OCR `lines` of `image`; when it is not found or does
/// not verify and the lines are turned (see [`mrz_skew`]), the image is
/// levelled and read again, and the second reading is kept when it is
/// better. Returns the MRZ, the lines it came from, and whether the
/// levelled reading was kept.
pub fn read_mrz(ocr: &OcrEngine, image: &image::RgbImage, lines: Vec<TextLine>) -> (Result<Mrz, mrz::MrzError>, Vec<TextLine>, bool) {
    let found = mrz::find_in_reads(&mrz_reads(&lines));
    if matches!(&found, Ok(m) if m.is_valid()) {
        return (found, lines, false);
    }
    let Some(angle) = mrz_skew(&lines) else { return (found, lines, false) };
    let Ok(level) = ocr.read(&super::ocr::turned(image, angle)) else { return (found, lines, false) };
    let again = mrz::find_in_reads(&mrz_reads(&level));
    let better = match (&found, &again) {
        (_, Ok(m)) if m.is_valid() => true,
        (Err(_), Ok(_)) => true,
        _ => false,
    };
    if better { (again, level, true) } else { (found, lines, false) }
}

/// The lines as the MRZ reader takes them: the MRZ-alphabet reading with
/// the recogniser's scores when there is one, else the plain text.
fn mrz_reads(lines: &[TextLine]) -> Vec<mrz::LineRead> {
    lines
        .iter()
        .map(|l| match &l.mrz {
            Some(m) => mrz::LineRead { text: m.text.clone(), logp: m.logp.clone() },
            None => mrz::LineRead::plain(&l.text),
        })
        .collect()
}

/// The angle (degrees) to level a turned MRZ by: the median angle of the
/// lines that look like MRZ lines, when it is at least 1 degree (pages
/// without such lines are not read again). Lines up to ~2 degrees read well cut out turned; a page
/// turned 3-8 degrees lost whole MRZ lines before it was levelled.
fn mrz_skew(lines: &[TextLine]) -> Option<f32> {
    let mut angles: Vec<f32> = lines.iter().filter(|l| l.mrz.is_some()).map(|l| l.angle_deg).collect();
    angles.sort_by(f32::total_cmp);
    let median = *angles.get(angles.len() / 2)?;
    (median.abs() >= 1.0).then_some(median)
}

/// Document families whose confusion is flagged: passports, passport cards, and DL/ID cards.
fn family(t: DocumentType) -> u8 {
    match t {
        DocumentType::Passport => 1,
        DocumentType::PassportCard => 2,
        DocumentType::DriverLicense | DocumentType::IdentificationCard => 3,
        DocumentType::Unknown => 0,
    }
}

/// Passes when the content is an identity document of the declared family;
/// fails naming both types when it is another kind (a passport uploaded as a
/// driver licence).
fn type_check(
    name: &'static str,
    declared: DocumentType,
    detected: Option<DocumentType>,
    source: &str,
    mut evidence: serde_json::Value,
) -> CheckOutcome {
    let detected_str = detected.map(|d| d.as_str());
    if let Some(obj) = evidence.as_object_mut() {
        obj.insert("declared_type".into(), json!(declared.as_str()));
        obj.insert("detected_type".into(), json!(detected_str));
    }
    match detected {
        Some(d) if declared != DocumentType::Unknown && family(d) != family(declared) => CheckOutcome::fail(
            name,
            0.1,
            format!("the image shows a {} (read from the {source}), but the session declares a {}", d.as_str(), declared.as_str()),
        )
        .with_evidence(evidence),
        _ => CheckOutcome::pass(name, 0.95, format!("identity document read from its {source}")).with_evidence(evidence),
    }
}

fn plain_attempt(img: &DynamicImage) -> Result<BarcodeRead, BarcodeMiss> {
    let t = Instant::now();
    let gray = barcode::downscale(img.to_luma8(), barcode::MAX_DECODE_SIDE);
    match barcode::decode_plain(&gray) {
        Some(text) => Ok(BarcodeRead { text, stage: "plain", angle: None, elapsed: t.elapsed() }),
        None => Err(BarcodeMiss { stages_tried: vec!["plain"], timed_out: false, elapsed: t.elapsed() }),
    }
}

/// Decodes JPEG/PNG bytes with a pixel cap.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage, EngineError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| EngineError::InvalidInput(format!("unreadable image: {e}")))?;
    let (w, h) = reader.into_dimensions().map_err(|e| EngineError::InvalidInput(format!("unreadable image: {e}")))?;
    if (w as u64) * (h as u64) > MAX_PIXELS {
        return Err(EngineError::InvalidInput(format!("image of {w}x{h} pixels is too large")));
    }
    image::load_from_memory(bytes).map_err(|e| EngineError::InvalidInput(format!("unreadable image: {e}")))
}

impl DocumentEngine for LocalDocumentEngine {
    fn version(&self) -> String {
        Self::engine_version()
    }

    fn warm(&self) -> Result<(), String> {
        if self.inner.store.is_none() && self.inner.ocr.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return Ok(());
        }
        let ocr = self.ocr()?;
        let mut page = image::RgbImage::from_pixel(256, 64, image::Rgb([245, 245, 245]));
        for y in 24..40 {
            for x in 16..240 {
                if (x / 6) % 2 == 0 {
                    page.put_pixel(x, y, image::Rgb([20, 20, 20]));
                }
            }
        }
        ocr.read(&page).map(|_| ())
    }

    fn analyze(&self, input: DocumentInput) -> EngineFuture<'_, DocumentAnalysis> {
        let this = self.clone();
        Box::pin(async move {
            let report = tokio::task::spawn_blocking(move || this.analyze_image(input.side, input.document_type, &input.image))
                .await
                .map_err(|e| EngineError::Transient(format!("document analysis task failed: {e}")))??;
            Ok(report.analysis)
        })
    }
}

/// A human-readable account of a report (`tessera analyze`).
pub fn format_report(name: &str, r: &DocumentReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let side = r.side.map(|s| s.as_str()).unwrap_or("?");
    let declared = r.declared_type.map(|t| t.as_str()).unwrap_or("unknown");
    let detected = r.detected_type.map(|t| t.as_str()).unwrap_or("-");
    let _ = writeln!(out, "{name}: {}x{} px, side {side}, declared {declared}, detected {detected}", r.width, r.height);
    match &r.barcode {
        Some(Ok(b)) => {
            let angle = b.angle.map(|a| format!(", deskewed {a:.1} deg")).unwrap_or_default();
            let _ = writeln!(out, "  barcode: PDF417 read at stage `{}`{angle} in {:.1} ms", b.stage, ms(b.elapsed));
        }
        Some(Err(m)) => {
            let why = if m.timed_out { "time budget spent" } else { "every stage failed" };
            let _ = writeln!(out, "  barcode: not read ({why}; tried {}) in {:.1} ms", m.stages_tried.join(", "), ms(m.elapsed));
        }
        None => {}
    }
    match &r.aamva {
        Some(Ok(a)) => {
            let _ = writeln!(
                out,
                "  aamva: file type {}, IIN {}, version {}, jurisdiction version {}, subfile {}, offsets {}, {} elements, {} jurisdiction elements",
                a.file_type,
                a.iin.as_deref().unwrap_or("-"),
                a.version.map(|v| v.to_string()).unwrap_or("-".into()),
                a.jurisdiction_version.map(|v| v.to_string()).unwrap_or("-".into()),
                a.subfile_type.as_deref().unwrap_or("-"),
                if a.offsets_valid { "valid" } else { "not trusted" },
                a.elements.len(),
                a.jurisdiction_elements.len()
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  aamva: {e}");
        }
        None => {}
    }
    match &r.mrz {
        Some(Ok(m)) => {
            let verdict = if m.is_valid() { "all check digits verify".to_string() } else { format!("check digits FAIL: {}", m.failed_checks().join(", ")) };
            let _ = writeln!(out, "  mrz: {:?}, {verdict}{}", m.format, if m.repaired.is_empty() { String::new() } else { format!(" (repaired: {})", m.repaired.join(", ")) });
            for line in &m.lines {
                let _ = writeln!(out, "    {line}");
            }
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  mrz: {e}");
        }
        None => {}
    }
    if let Some(reason) = &r.ocr_unavailable {
        let _ = writeln!(out, "  ocr: unavailable: {reason}");
    } else if !r.ocr_lines.is_empty() {
        let _ = writeln!(out, "  ocr: {} lines", r.ocr_lines.len());
        for l in &r.ocr_lines {
            let _ = writeln!(out, "    [{:.2}] {}", l.confidence, l.text);
        }
    }
    match &r.analysis.fields {
        Some(f) => {
            let source = f.data_source.map(|s| s.as_str()).unwrap_or("unknown");
            let _ = writeln!(out, "  fields (data_source {source}):");
            let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
            let rows: [(&str, Option<String>); 25] = [
                ("document_type", f.document_type.map(|t| t.as_str().to_string())),
                ("document_number", f.document_number.clone()),
                ("ref_number", f.ref_number.clone()),
                ("first_name", f.first_name.clone()),
                ("middle_name", f.middle_name.clone()),
                ("last_name", f.last_name.clone()),
                ("name_suffix", f.name_suffix.clone()),
                ("birth_date", date(f.birth_date)),
                ("issued_at", date(f.issued_at)),
                ("expires_at", date(f.expires_at)),
                ("issuing_country", f.issuing_country.clone()),
                ("issuing_state", f.issuing_state.clone()),
                ("street", f.street.clone()),
                ("city", f.city.clone()),
                ("state", f.state.clone()),
                ("postal_code", f.postal_code.clone()),
                ("gender", f.gender.map(|g| g.as_str().to_string())),
                ("height", f.height.clone()),
                ("weight", f.weight.clone()),
                ("eye_color", f.eye_color.clone()),
                ("hair_color", f.hair_color.clone()),
                ("class", f.class.clone()),
                ("restrictions", f.restrictions.clone()),
                ("endorsements", f.endorsements.clone()),
                ("truncation", f.truncation.as_ref().map(|t| t.to_string())),
            ];
            for (k, v) in rows {
                if let Some(v) = v {
                    let _ = writeln!(out, "    {k:<16} {v}");
                }
            }
        }
        None => {
            let _ = writeln!(out, "  fields: nothing read");
        }
    }
    for c in &r.analysis.checks {
        let verdict = match c.verdict {
            super::Verdict::Pass => "pass",
            super::Verdict::Fail => "FAIL",
            super::Verdict::Unavailable => "unavailable",
        };
        let score = c.score.map(|s| format!(" {s:.2}")).unwrap_or_default();
        let _ = writeln!(out, "  check {}: {verdict}{score} - {}", c.name, c.detail);
    }
    let steps: Vec<String> = r.timings.iter().map(|(k, d)| format!("{k} {:.1}", ms(*d))).collect();
    let _ = writeln!(out, "  timings (ms): {} | total {:.1}", steps.join(", "), ms(r.total()));
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passports_uploaded_as_licences_are_flagged() {
        let c = type_check(names::DOC_FRONT_IS_IDENTITY_DOCUMENT, DocumentType::DriverLicense, Some(DocumentType::Passport), "MRZ", json!({}));
        assert_eq!(c.verdict, super::super::Verdict::Fail);
        let c = type_check(names::DOC_BACK_IS_IDENTITY_DOCUMENT, DocumentType::DriverLicense, Some(DocumentType::IdentificationCard), "AAMVA barcode", json!({}));
        assert_eq!(c.verdict, super::super::Verdict::Pass);
    }

    #[test]
    fn garbage_bytes_are_invalid_input() {
        let e = LocalDocumentEngine::without_ocr().analyze_image(DocumentSide::Back, DocumentType::DriverLicense, b"not an image");
        assert!(matches!(e, Err(EngineError::InvalidInput(_))));
    }
}
