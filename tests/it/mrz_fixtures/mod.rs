//! The OCR-B machine-readable-zone evaluation set, generated in code:
//! TD3 passport pages (2 x 44), TD1 card backs (3 x 30) and TD2 cards
//! (2 x 36) with random valid data and check digits, drawn in OCR-B (the
//! MRZ typeface, Debian `fonts-ocr-b`) and photographed with one distortion
//! per category: clean, rotated 3-8 degrees, blurred, JPEG q30, dim (low
//! light with sensor noise), and all of them combined.
//!
//! Deterministic: an image is a function of (format, category, seed). The
//! bench (`benches/mrz.rs`) measures the exact-read rate per category on
//! seeds 0..N; the tests (`tests/it/document_engine/mrz_ocrb.rs`) draw a
//! few images per category from a disjoint seed range, so nothing is tuned
//! on the images the tests assert. Kept apart from `document_fixtures`.
#![allow(dead_code)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use tessera::engine::mrz::check_digit;

/// Where Debian's `fonts-ocr-b` puts OCR-B; `TESSERA_OCRB_FONT` overrides.
pub const OCRB_PATH: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";

/// The OCR-B font, or why it is missing (install `fonts-ocr-b`).
pub fn ocrb() -> Result<FontVec, String> {
    let path = std::env::var("TESSERA_OCRB_FONT").unwrap_or_else(|_| OCRB_PATH.to_string());
    let bytes = std::fs::read(&path).map_err(|e| format!("OCR-B font {path}: {e} (apt-get install fonts-ocr-b)"))?;
    FontVec::try_from_vec(bytes).map_err(|e| format!("OCR-B font {path}: {e}"))
}

/// A deterministic xorshift generator (own copy: this set does not move
/// when other fixtures change).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5EED_0CB0 | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Td3,
    Td1,
    Td2,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Td3, Format::Td1, Format::Td2];
    pub fn name(self) -> &'static str {
        match self {
            Format::Td3 => "TD3",
            Format::Td1 => "TD1",
            Format::Td2 => "TD2",
        }
    }
    fn line_len(self) -> usize {
        match self {
            Format::Td3 => 44,
            Format::Td1 => 30,
            Format::Td2 => 36,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Clean,
    Rotated,
    Blurred,
    Jpeg30,
    Dim,
    Combined,
}

impl Category {
    pub const ALL: [Category; 6] =
        [Category::Clean, Category::Rotated, Category::Blurred, Category::Jpeg30, Category::Dim, Category::Combined];
    pub fn name(self) -> &'static str {
        match self {
            Category::Clean => "clean",
            Category::Rotated => "rotated 3-8 deg",
            Category::Blurred => "blurred",
            Category::Jpeg30 => "jpeg q30",
            Category::Dim => "dim + noise",
            Category::Combined => "combined",
        }
    }
}

/// The holder data of one sample, as the MRZ encodes it.
#[derive(Debug, Clone)]
pub struct Holder {
    pub state: String,
    pub nationality: String,
    pub surname: String,
    pub given: String,
    pub number: String,
    /// YYMMDD.
    pub birth: String,
    pub expiry: String,
    pub sex: char,
    /// Optional data (TD1 line 1 / TD3 personal number), may be empty.
    pub optional: String,
}

const STATES: &[&str] = &["UTO", "D<<", "FRA", "NLD", "ESP", "ITA", "SWE", "BEL", "AUT", "PRT", "GBR", "CAN", "USA", "IRL", "POL"];
const SYLLABLES: &[&str] = &[
    "AN", "BER", "CO", "DA", "EL", "FI", "GO", "HAN", "IS", "JO", "KA", "LI", "MO", "NOR", "OS", "PE", "QUI", "RO", "SAN", "TO", "UL",
    "VI", "WIL", "XA", "YO", "ZE", "MAR", "LUND", "BOU", "SSON", "MEI", "DOR", "KOV", "GAR", "CIA", "ERIK",
];

fn name(rng: &mut Rng, parts: usize) -> String {
    (0..parts).map(|_| *rng.pick(SYLLABLES)).collect()
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
}

fn yymmdd(rng: &mut Rng, years: std::ops::Range<u32>) -> String {
    let y = years.start + rng.below((years.end - years.start) as usize) as u32;
    format!("{:02}{:02}{:02}", y % 100, 1 + rng.below(12), 1 + rng.below(28))
}

impl Holder {
    pub fn random(rng: &mut Rng) -> Holder {
        let state = rng.pick(STATES).to_string();
        let nationality = if rng.unit() < 0.8 { state.clone() } else { rng.pick(STATES).to_string() };
        let surname = match rng.below(4) {
            0 => format!("{} {}", name(rng, 2), name(rng, 2)),
            _ => {
                let parts = 2 + rng.below(2);
                name(rng, parts)
            }
        };
        let given = match rng.below(3) {
            0 => name(rng, 2),
            _ => {
                let (first, parts) = (name(rng, 2), 1 + rng.below(2));
                format!("{first} {}", name(rng, parts))
            }
        };
        // Document numbers mix letters and digits (where O/0, I/1, B/8 hurt).
        let letters = b"ABCDEFGHIJKLMNOPRSTUVWXYZ";
        let number: String = (0..9)
            .map(|i| if (i < 2 || i == 7) && rng.unit() < 0.6 { char::from(*rng.pick(letters)) } else { char::from(b'0' + rng.below(10) as u8) })
            .collect();
        let optional = if rng.unit() < 0.4 {
            let n = 3 + rng.below(6);
            digits(rng, n)
        } else {
            String::new()
        };
        Holder {
            state,
            nationality,
            surname,
            given,
            number,
            birth: yymmdd(rng, 1940..2006),
            expiry: yymmdd(rng, 2027..2037),
            sex: *rng.pick(&['M', 'F', 'F', 'M', '<']),
            optional,
        }
    }
}

fn pad(s: &str, len: usize) -> String {
    let mut s: String = s.replace(' ', "<").chars().take(len).collect();
    while s.len() < len {
        s.push('<');
    }
    s
}

fn cd(s: &str) -> char {
    check_digit(s).map(char::from).unwrap_or('<')
}

/// The MRZ lines of `h` in `format` (ICAO 9303 parts 4-6).
pub fn lines(format: Format, h: &Holder) -> Vec<String> {
    let names = |len| pad(&format!("{}<<{}", h.surname, h.given), len);
    let num = pad(&h.number, 9);
    match format {
        Format::Td3 => {
            let l1 = pad(&format!("P<{}{}", h.state, names(39)), 44);
            let personal = pad(&h.optional, 14);
            let personal_cd = if h.optional.is_empty() { '<' } else { cd(&personal) };
            let mut l2 = format!(
                "{num}{}{}{}{}{}{}{}{personal}{personal_cd}",
                cd(&num),
                h.nationality,
                h.birth,
                cd(&h.birth),
                h.sex,
                h.expiry,
                cd(&h.expiry)
            );
            let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
            l2.push(cd(&composite));
            vec![l1, l2]
        }
        Format::Td1 => {
            let l1 = format!("I<{}{num}{}{}", h.state, cd(&num), pad(&h.optional, 15));
            let mut l2 = format!("{}{}{}{}{}{}{}", h.birth, cd(&h.birth), h.sex, h.expiry, cd(&h.expiry), h.nationality, pad("", 11));
            let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
            l2.push(cd(&composite));
            vec![l1, l2, names(30)]
        }
        Format::Td2 => {
            let l1 = pad(&format!("I<{}{}", h.state, names(31)), 36);
            let mut l2 = format!(
                "{num}{}{}{}{}{}{}{}{}",
                cd(&num),
                h.nationality,
                h.birth,
                cd(&h.birth),
                h.sex,
                h.expiry,
                cd(&h.expiry),
                pad(&h.optional, 7)
            );
            let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..35]);
            l2.push(cd(&composite));
            vec![l1, l2]
        }
    }
}

/// Draws `text` in OCR-B at a fixed pitch (px per character), the glyphs'
/// tops at `y`; `size` is the font size in px.
pub fn draw_ocrb(font: &FontVec, img: &mut RgbImage, x: f32, y: f32, pitch: f32, size: f32, ink: Rgb<u8>, text: &str) {
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = y + scaled.ascent();
    let (w, h) = img.dimensions();
    for (i, c) in text.chars().enumerate() {
        let glyph = scaled.glyph_id(c).with_scale_and_position(PxScale::from(size), ab_glyph::point(x + i as f32 * pitch, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (px, py) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                if px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0);
                let dst = img.get_pixel_mut(px as u32, py as u32);
                for k in 0..3 {
                    dst.0[k] = (f32::from(dst.0[k]) * (1.0 - a) + f32::from(ink.0[k]) * a).round() as u8;
                }
            });
        }
    }
}

/// The font size (px) whose advance is `pitch` (OCR-B is monospaced).
fn size_for_pitch(font: &FontVec, pitch: f32) -> f32 {
    let unit = font.as_scaled(PxScale::from(100.0));
    100.0 * pitch / unit.h_advance(unit.glyph_id('M')).max(1.0)
}

fn background(w: u32, h: u32, tint: [f32; 3], rng: &mut Rng) -> RgbImage {
    let (phase, freq) = (rng.range(0.0, 6.0), rng.range(0.03, 0.06));
    RgbImage::from_fn(w, h, |x, y| {
        let wave = ((x as f32 * freq + (y as f32 * 0.02 + phase).sin() * 3.0).sin() * 6.0) as f32;
        Rgb(tint.map(|t| (t + wave).clamp(0.0, 255.0) as u8))
    })
}

/// The document at 10 px/mm: a passport data page (125 x 88 mm), a TD2
/// card (105 x 74 mm) or the back of a TD1 card (85.6 x 54 mm), with a few
/// printed words and the MRZ in OCR-B at 10 characters per inch.
pub fn document(font: &FontVec, format: Format, mrz: &[String], rng: &mut Rng) -> RgbImage {
    let (w, h) = match format {
        Format::Td3 => (1250, 880),
        Format::Td2 => (1050, 740),
        Format::Td1 => (856, 540),
    };
    let tint = [rng.range(215.0, 240.0), rng.range(220.0, 240.0), rng.range(215.0, 242.0)];
    let mut doc = background(w, h, tint, rng);
    let label = Rgb([70, 70, 95]);
    let title = match format {
        Format::Td3 => "PASSPORT",
        _ => "IDENTITY CARD",
    };
    let pitch = 25.4;
    let size = size_for_pitch(font, pitch);
    draw_ocrb(font, &mut doc, 60.0, 40.0, 20.0, size * 0.8, label, title);
    if format != Format::Td1 {
        // A portrait placeholder.
        for y in 130..(h - 330) {
            for x in 50..330 {
                doc.put_pixel(x, y, Rgb([175, 165, 160]));
            }
        }
    }
    // ICAO 9303: the MRZ's lines are ~4.2 mm apart, its first character
    // ~6 mm from the left edge and its last line ~3 mm above the bottom.
    let n = mrz.len() as f32;
    let line_pitch = 42.0;
    let top = h as f32 - 45.0 - n * line_pitch + (line_pitch - size * 0.75);
    let ink = Rgb([rng.range(10.0, 40.0) as u8, rng.range(10.0, 40.0) as u8, rng.range(15.0, 45.0) as u8]);
    let left = (w as f32 - format.line_len() as f32 * pitch) / 2.0;
    for (i, line) in mrz.iter().enumerate() {
        draw_ocrb(font, &mut doc, left, top + i as f32 * line_pitch, pitch, size, ink, line);
    }
    doc
}

/// Photographic distortions of one category.
#[derive(Debug, Clone, Copy)]
struct Shot {
    /// The document's width on the photo (px).
    width: f32,
    degrees: f32,
    blur: f32,
    /// Brightness gain (1 = as printed) and sensor noise (sigma, 0-255).
    gain: f32,
    noise: f32,
    quality: u8,
}

fn shot(format: Format, category: Category, rng: &mut Rng) -> Shot {
    let base = match format {
        Format::Td3 => 1150.0,
        Format::Td2 => 1000.0,
        Format::Td1 => 900.0,
    };
    let sign = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
    let mut s = Shot { width: base * rng.range(0.9, 1.1), degrees: rng.range(-1.0, 1.0), blur: 0.0, gain: 1.0, noise: 1.5, quality: 90 };
    match category {
        Category::Clean => {}
        Category::Rotated => s.degrees = sign * rng.range(3.0, 8.0),
        Category::Blurred => s.blur = rng.range(1.2, 2.0),
        Category::Jpeg30 => s.quality = 30,
        Category::Dim => {
            s.gain = rng.range(0.3, 0.45);
            s.noise = rng.range(3.0, 6.0);
        }
        Category::Combined => {
            s.degrees = sign * rng.range(3.0, 8.0);
            s.blur = rng.range(0.8, 1.4);
            s.gain = rng.range(0.45, 0.6);
            s.noise = 3.0;
            s.quality = 40;
        }
    }
    s
}

/// `doc` photographed on a table with the category's distortion, JPEG bytes.
fn photograph(doc: &RgbImage, s: Shot, rng: &mut Rng) -> Vec<u8> {
    let scale = s.width / doc.width() as f32;
    let (dw, dh) = (s.width, doc.height() as f32 * scale);
    let (cw, ch) = ((dw * 1.25) as u32, (dh * 1.35) as u32);
    let (cx, cy) = (cw as f32 / 2.0 + rng.range(-15.0, 15.0), ch as f32 / 2.0 + rng.range(-15.0, 15.0));
    let (sin, cos) = s.degrees.to_radians().sin_cos();
    let table = [rng.range(70.0, 120.0), rng.range(60.0, 100.0), rng.range(50.0, 90.0)];
    let (sw, sh) = (doc.width() as f32, doc.height() as f32);
    let raw = doc.as_raw();
    let light = rng.range(-0.08, 0.08);
    let mut out = RgbImage::from_fn(cw, ch, |x, y| {
        // Inverse rotation about the document's centre, then into document pixels.
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (u, v) = ((cos * dx + sin * dy) / scale + sw / 2.0 - 0.5, (-sin * dx + cos * dy) / scale + sh / 2.0 - 0.5);
        // Uneven light across the photo.
        let shade = 1.0 + light * (x as f32 / cw as f32 - 0.5);
        if u < 0.0 || v < 0.0 || u > sw - 1.0 || v > sh - 1.0 {
            return Rgb(table.map(|t| (t * shade) as u8));
        }
        let (x0, y0) = (u as usize, v as usize);
        let (x1, y1) = ((x0 + 1).min(sw as usize - 1), (y0 + 1).min(sh as usize - 1));
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let w = sw as usize;
        let mut px = [0u8; 3];
        for k in 0..3 {
            let p = |xx: usize, yy: usize| f32::from(raw[(yy * w + xx) * 3 + k]);
            let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
            let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
            px[k] = ((top * (1.0 - fy) + bottom * fy) * shade).clamp(0.0, 255.0) as u8;
        }
        Rgb(px)
    });
    if s.blur > 0.0 {
        out = image::imageops::blur(&out, s.blur);
    }
    if s.gain < 1.0 || s.noise > 0.0 {
        for p in out.pixels_mut() {
            for c in p.0.iter_mut() {
                let v = f32::from(*c) * s.gain + 4.0 * (1.0 - s.gain) + s.noise * rng.normal();
                *c = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, s.quality);
    out.write_with_encoder(enc).expect("jpeg encodes");
    bytes
}

/// One photo of the set.
pub struct Sample {
    pub format: Format,
    pub category: Category,
    pub seed: u64,
    pub holder: Holder,
    pub lines: Vec<String>,
    pub jpeg: Vec<u8>,
}

/// The photo (format, category, seed).
pub fn sample(font: &FontVec, format: Format, category: Category, seed: u64) -> Sample {
    let mut rng = Rng::new(seed * 131 + format as u64 * 17 + category as u64 * 7919);
    let holder = Holder::random(&mut rng);
    let lines = lines(format, &holder);
    debug_assert!(lines.iter().all(|l| l.len() == format.line_len()), "{lines:?}");
    let doc = document(font, format, &lines, &mut rng);
    let s = shot(format, category, &mut rng);
    let jpeg = photograph(&doc, s, &mut rng);
    Sample { format, category, seed, holder, lines, jpeg }
}
