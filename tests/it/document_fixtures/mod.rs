//! Synthetic document photos for the document engine's tests and bench:
//! AAMVA payloads of several versions and jurisdictions, encoded as PDF417
//! with rxing's encoder onto a card, photographed with rotation, blur,
//! noise, JPEG compression, perspective and small scale. Deterministic.
#![allow(dead_code)]

#[path = "../common/fonts.rs"]
pub mod fonts;
pub mod barcode_set;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{GrayImage, Luma, Rgb, RgbImage};
use rxing::pdf417::PDF417Writer;
use rxing::pdf417::encoder::Dimensions;
use rxing::{BarcodeFormat, EncodeHints, Writer};
use tessera::engine::barcode::aamva::build_payload;

/// A deterministic xorshift generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// One card's payload and the fields a parser must read from it.
#[derive(Debug, Clone)]
pub struct CardData {
    pub jurisdiction: &'static str,
    pub version: u8,
    pub payload: String,
    pub document_number: &'static str,
    pub first_name: &'static str,
    pub middle_name: Option<&'static str>,
    pub last_name: &'static str,
    /// ISO dates.
    pub birth_date: &'static str,
    pub expires_at: &'static str,
    pub issued_at: &'static str,
    pub postal_code: &'static str,
    pub class: Option<&'static str>,
    pub is_id_card: bool,
}

/// Payloads of versions 1, 3, 8, 9 and 10 from US states and a Canadian province.
pub fn cards() -> Vec<CardData> {
    vec![
        CardData {
            jurisdiction: "CA",
            version: 10,
            payload: build_payload(
                "636014",
                10,
                0,
                "DL",
                &[
                    ("DCA", "C"),
                    ("DCB", "NONE"),
                    ("DCD", "NONE"),
                    ("DBA", "08312029"),
                    ("DCS", "GARCIA-LOPEZ"),
                    ("DAC", "MARIA"),
                    ("DAD", "ELENA"),
                    ("DBD", "08152021"),
                    ("DBB", "08311988"),
                    ("DBC", "2"),
                    ("DAY", "BRO"),
                    ("DAU", "064 IN"),
                    ("DAG", "1234 SUNSET BLVD"),
                    ("DAI", "LOS ANGELES"),
                    ("DAJ", "CA"),
                    ("DAK", "900280000  "),
                    ("DAQ", "D7654321"),
                    ("DCF", "08/15/2021628A1/BBFD/29"),
                    ("DCG", "USA"),
                    ("DDE", "N"),
                    ("DDF", "N"),
                    ("DDG", "N"),
                    ("DAZ", "BLK"),
                    ("DAW", "135"),
                ],
                Some(("ZC", &[("ZCA", "BRN"), ("ZCB", "BLK")])),
            ),
            document_number: "D7654321",
            first_name: "MARIA",
            middle_name: Some("ELENA"),
            last_name: "GARCIA-LOPEZ",
            birth_date: "1988-08-31",
            expires_at: "2029-08-31",
            issued_at: "2021-08-15",
            postal_code: "90028",
            class: Some("C"),
            is_id_card: false,
        },
        CardData {
            jurisdiction: "NY",
            version: 8,
            payload: build_payload(
                "636001",
                8,
                1,
                "DL",
                &[
                    ("DCA", "D"),
                    ("DCB", "B"),
                    ("DCD", "NONE"),
                    ("DBA", "03142031"),
                    ("DCS", "OCONNOR"),
                    ("DAC", "PATRICK"),
                    ("DAD", "JAMES"),
                    ("DBD", "03142023"),
                    ("DBB", "03141975"),
                    ("DBC", "1"),
                    ("DAY", "BLU"),
                    ("DAU", "071 IN"),
                    ("DAG", "55 W 21ST ST APT 4"),
                    ("DAI", "NEW YORK"),
                    ("DAJ", "NY"),
                    ("DAK", "100100000"),
                    ("DAQ", "123456789"),
                    ("DCF", "AB12CD34EF"),
                    ("DCG", "USA"),
                    ("DDE", "N"),
                    ("DDF", "N"),
                    ("DDG", "N"),
                    ("DCU", "JR"),
                ],
                Some(("ZN", &[("ZNA", "X1")])),
            ),
            document_number: "123456789",
            first_name: "PATRICK",
            middle_name: Some("JAMES"),
            last_name: "OCONNOR",
            birth_date: "1975-03-14",
            expires_at: "2031-03-14",
            issued_at: "2023-03-14",
            postal_code: "10010",
            class: Some("D"),
            is_id_card: false,
        },
        CardData {
            jurisdiction: "ON",
            version: 9,
            payload: build_payload(
                "636012",
                9,
                0,
                "DL",
                &[
                    ("DCA", "G"),
                    ("DCB", "X"),
                    ("DCD", "NONE"),
                    ("DBA", "20280917"),
                    ("DCS", "TREMBLAY"),
                    ("DAC", "LUC"),
                    ("DAD", "NONE"),
                    ("DBD", "20230917"),
                    ("DBB", "19900917"),
                    ("DBC", "1"),
                    ("DAY", "GRN"),
                    ("DAU", "180 CM"),
                    ("DAG", "100 QUEEN ST W"),
                    ("DAI", "TORONTO"),
                    ("DAJ", "ON"),
                    ("DAK", "M5H 2N2"),
                    ("DAQ", "T7654-32109-00917"),
                    ("DCF", "ON1234567"),
                    ("DCG", "CAN"),
                    ("DDE", "N"),
                    ("DDF", "N"),
                    ("DDG", "U"),
                ],
                None,
            ),
            document_number: "T7654-32109-00917",
            first_name: "LUC",
            middle_name: None,
            last_name: "TREMBLAY",
            birth_date: "1990-09-17",
            expires_at: "2028-09-17",
            issued_at: "2023-09-17",
            postal_code: "M5H 2N2",
            class: Some("G"),
            is_id_card: false,
        },
        CardData {
            jurisdiction: "TX",
            version: 3,
            payload: build_payload(
                "636015",
                3,
                0,
                "ID",
                &[
                    ("DCA", "NONE"),
                    ("DCB", "NONE"),
                    ("DCD", "NONE"),
                    ("DBA", "12012027"),
                    ("DCS", "NGUYEN"),
                    ("DCT", "ANH THI"),
                    ("DBD", "12012019"),
                    ("DBB", "12011999"),
                    ("DBC", "2"),
                    ("DAY", "BRO"),
                    ("DAU", "062 in"),
                    ("DAG", "7 ELM ST"),
                    ("DAI", "HOUSTON"),
                    ("DAJ", "TX"),
                    ("DAK", "77002"),
                    ("DAQ", "40123456"),
                    ("DCF", "12345678901234567890"),
                    ("DCG", "USA"),
                ],
                None,
            ),
            document_number: "40123456",
            first_name: "ANH",
            middle_name: Some("THI"),
            last_name: "NGUYEN",
            birth_date: "1999-12-01",
            expires_at: "2027-12-01",
            issued_at: "2019-12-01",
            postal_code: "77002",
            class: None,
            is_id_card: true,
        },
        CardData {
            jurisdiction: "FL",
            version: 1,
            payload: build_payload(
                "636010",
                1,
                0,
                "DL",
                &[
                    ("DAA", "SMITH,JOHN,QUINCY"),
                    ("DAG", "42 OCEAN DR"),
                    ("DAI", "MIAMI"),
                    ("DAJ", "FL"),
                    ("DAK", "33139"),
                    ("DAQ", "S530123456780"),
                    ("DAR", "E"),
                    ("DAS", "A"),
                    ("DAT", "NONE"),
                    ("DBA", "20300704"),
                    ("DBB", "19800704"),
                    ("DBC", "M"),
                    ("DBD", "20220704"),
                    ("DAU", "5-11"),
                ],
                None,
            ),
            document_number: "S530123456780",
            first_name: "JOHN",
            middle_name: Some("QUINCY"),
            last_name: "SMITH",
            birth_date: "1980-07-04",
            expires_at: "2030-07-04",
            issued_at: "2022-07-04",
            postal_code: "33139",
            class: Some("E"),
            is_id_card: false,
        },
    ]
}

/// The PDF417 symbol of `payload`: (modules wide, rows, module(x, row)).
pub fn encode_pdf417(payload: &str) -> rxing::common::BitMatrix {
    let hints = EncodeHints {
        ErrorCorrection: Some("5".into()),
        Margin: Some("0".into()),
        Pdf417Dimensions: Some(Dimensions::new(10, 16, 3, 90)),
        ..Default::default()
    };
    // Width 10000 x height 1: no scaling and no rotation of the natural matrix
    // (one pixel per module, four per row).
    PDF417Writer.encode_with_hints(payload, &BarcodeFormat::PDF_417, 10000, 1, &hints).expect("payload encodes")
}

/// A card back (1000 x 630) with the barcode across its lower part and a few text-like marks.
pub fn card_back(payload: &str, rng: &mut Rng) -> RgbImage {
    let (w, h) = (1000u32, 630u32);
    let tint = [rng.range(225.0, 245.0), rng.range(228.0, 248.0), rng.range(230.0, 252.0)];
    let mut card = RgbImage::from_fn(w, h, |x, y| {
        let g = (x as f32 / w as f32 - y as f32 / h as f32) * 10.0;
        Rgb(tint.map(|t| (t + g).clamp(0.0, 255.0) as u8))
    });
    // Text-like marks above the barcode.
    for line in 0..4 {
        let y0 = 40 + line * 34;
        let mut x = 60;
        while x < 900 {
            let word = (rng.range(20.0, 90.0)) as u32;
            for y in y0..y0 + 16 {
                for xx in x..(x + word).min(w - 40) {
                    if (xx + y) % 3 != 0 {
                        card.put_pixel(xx, y, Rgb([70, 70, 90]));
                    }
                }
            }
            x += word + rng.range(10.0, 25.0) as u32;
        }
    }
    let matrix = encode_pdf417(payload);
    let (mw, mh) = (matrix.getWidth(), matrix.getHeight());
    let (bx, by, bw, bh) = (40u32, 200u32, 920u32, 390u32);
    // Keep the module aspect: fit inside (bw, bh).
    let scale = (bw as f32 / mw as f32).min(bh as f32 / mh as f32);
    let (dw, dh) = ((mw as f32 * scale) as u32, (mh as f32 * scale) as u32);
    let (ox, oy) = (bx + (bw - dw) / 2, by + (bh - dh) / 2);
    // White quiet zone.
    for y in oy.saturating_sub(12)..(oy + dh + 12).min(h) {
        for x in ox.saturating_sub(12)..(ox + dw + 12).min(w) {
            card.put_pixel(x, y, Rgb([250, 250, 250]));
        }
    }
    for y in 0..dh {
        for x in 0..dw {
            let (mx, my) = (((x as f32) / scale) as u32, ((y as f32) / scale) as u32);
            if matrix.get(mx.min(mw - 1), my.min(mh - 1)) {
                card.put_pixel(ox + x, oy + y, Rgb([15, 15, 20]));
            }
        }
    }
    card
}

/// How a photo distorts the card.
#[derive(Debug, Clone, Copy, Default)]
pub struct Distortion {
    pub rotation_deg: f32,
    /// Card width in the photo (px); the canvas is 1200 x 800.
    pub card_width: f32,
    /// Corner displacement as a fraction of the card width (perspective).
    pub perspective: f32,
    pub blur_sigma: f32,
    pub noise_sigma: f32,
    /// Contrast kept (1 = full; 0.4 = dull photo).
    pub contrast: f32,
    pub jpeg_quality: Option<u8>,
}

/// The twelve distortion kinds of the 60-image set.
pub fn distortion_kinds() -> Vec<(&'static str, Distortion)> {
    let base = Distortion { card_width: 1000.0, contrast: 1.0, ..Default::default() };
    vec![
        ("clean", base),
        ("rotate_+7", Distortion { rotation_deg: 7.0, ..base }),
        ("rotate_-15", Distortion { rotation_deg: -15.0, card_width: 900.0, ..base }),
        ("rotate_+12_blur", Distortion { rotation_deg: 12.0, blur_sigma: 1.2, card_width: 900.0, ..base }),
        ("blur_1.8", Distortion { blur_sigma: 1.8, ..base }),
        ("noise_low_contrast", Distortion { noise_sigma: 18.0, contrast: 0.45, ..base }),
        ("jpeg_q20", Distortion { jpeg_quality: Some(20), ..base }),
        ("perspective", Distortion { perspective: 0.06, ..base }),
        ("small_scale", Distortion { card_width: 560.0, ..base }),
        ("rotate_-4_noise_jpeg40", Distortion { rotation_deg: -4.0, noise_sigma: 10.0, jpeg_quality: Some(40), ..base }),
        ("perspective_blur", Distortion { perspective: 0.05, blur_sigma: 1.0, rotation_deg: 3.0, ..base }),
        ("rotate_+10_small", Distortion { rotation_deg: 10.0, card_width: 700.0, ..base }),
    ]
}

/// Solves the homography mapping `src` corners to `dst` corners.
pub fn homography(src: [(f32, f32); 4], dst: [(f32, f32); 4]) -> [f64; 9] {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (src[i].0 as f64, src[i].1 as f64);
        let (u, v) = (dst[i].0 as f64, dst[i].1 as f64);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs())).unwrap();
        a.swap(col, pivot);
        for r in 0..8 {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..9 {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    let h: Vec<f64> = (0..8).map(|i| a[i][8] / a[i][i]).collect();
    [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0]
}

/// Photographs `card` on a 1200 x 800 canvas with `d` applied; JPEG bytes
/// when `d.jpeg_quality` is set, PNG otherwise.
pub fn photograph(card: &RgbImage, d: Distortion, rng: &mut Rng) -> Vec<u8> {
    let (cw, ch) = (card.width() as f32, card.height() as f32);
    let (canvas_w, canvas_h) = (1200u32, 800u32);
    let scale = d.card_width / cw;
    let (hw, hh) = (cw * scale / 2.0, ch * scale / 2.0);
    let (cx, cy) = (canvas_w as f32 / 2.0 + rng.range(-20.0, 20.0), canvas_h as f32 / 2.0 + rng.range(-20.0, 20.0));
    let t = d.rotation_deg.to_radians();
    let (s, c) = t.sin_cos();
    let p = d.perspective * d.card_width;
    // Corners (tl, tr, br, bl) rotated, then pulled for perspective (top edge narrower).
    let local = [(-hw + p, -hh), (hw - p, -hh), (hw, hh), (-hw, hh)];
    let dst: Vec<(f32, f32)> = local.iter().map(|&(x, y)| (cx + c * x - s * y, cy + s * x + c * y)).collect();
    // Inverse mapping: canvas -> card.
    let h = homography([dst[0], dst[1], dst[2], dst[3]], [(0.0, 0.0), (cw - 1.0, 0.0), (cw - 1.0, ch - 1.0), (0.0, ch - 1.0)]);
    let background = [rng.range(60.0, 110.0), rng.range(50.0, 90.0), rng.range(40.0, 80.0)];
    let mut out = RgbImage::from_fn(canvas_w, canvas_h, |x, y| {
        let (xf, yf) = (x as f64, y as f64);
        let wz = h[6] * xf + h[7] * yf + h[8];
        let (u, v) = ((h[0] * xf + h[1] * yf + h[2]) / wz, (h[3] * xf + h[4] * yf + h[5]) / wz);
        if u < 0.0 || v < 0.0 || u > (cw - 1.0) as f64 || v > (ch - 1.0) as f64 {
            let shade = ((x / 40 + y / 40) % 2) as f32 * 8.0;
            return Rgb(background.map(|b| (b + shade) as u8));
        }
        Rgb(sample_area(card, u as f32, v as f32, 1.0 / scale))
    });
    if d.blur_sigma > 0.0 {
        out = image::imageops::blur(&out, d.blur_sigma);
    }
    if d.contrast < 1.0 || d.noise_sigma > 0.0 {
        let mid = 128.0 + rng.range(-10.0, 10.0);
        for px in out.pixels_mut() {
            let n = d.noise_sigma * rng.normal();
            for ch in px.0.iter_mut() {
                let v = mid + (*ch as f32 - mid) * d.contrast + n;
                *ch = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    let mut bytes = Vec::new();
    match d.jpeg_quality {
        Some(q) => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q);
            out.write_with_encoder(enc).expect("jpeg encodes");
        }
        None => {
            out.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("png encodes");
        }
    }
    bytes
}

/// Area sample of `img` around (x, y) over a `footprint`-pixel square:
/// 2x2 or more bilinear sub-samples, so edges are antialiased as a camera's
/// optics would (no nearest-neighbour staircases). Plain slice arithmetic:
/// the tests run unoptimised.
fn sample_area(img: &RgbImage, x: f32, y: f32, footprint: f32) -> [u8; 3] {
    let r = (footprint / 2.0).max(0.5);
    let n = (footprint.ceil() as i32).clamp(2, 4);
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    let (w, h) = (iw as f32 - 1.0, ih as f32 - 1.0);
    let raw = img.as_raw();
    let mut acc = [0f32; 3];
    let step = 2.0 * r / n as f32;
    for j in 0..n {
        let sy = (y - r + (j as f32 + 0.5) * step).clamp(0.0, h);
        let y0 = sy.floor() as usize;
        let y1 = (y0 + 1).min(ih - 1);
        let fy = sy - y0 as f32;
        for i in 0..n {
            let sx = (x - r + (i as f32 + 0.5) * step).clamp(0.0, w);
            let x0 = sx.floor() as usize;
            let x1 = (x0 + 1).min(iw - 1);
            let fx = sx - x0 as f32;
            let (a, b, c, d) = ((y0 * iw + x0) * 3, (y0 * iw + x1) * 3, (y1 * iw + x0) * 3, (y1 * iw + x1) * 3);
            for k in 0..3 {
                let top = raw[a + k] as f32 * (1.0 - fx) + raw[b + k] as f32 * fx;
                let bottom = raw[c + k] as f32 * (1.0 - fx) + raw[d + k] as f32 * fx;
                acc[k] += top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    let count = (n * n) as f32;
    acc.map(|a| (a / count).round().clamp(0.0, 255.0) as u8)
}

/// The 60-image set: every card under every distortion kind.
pub struct SetImage {
    pub card: usize,
    pub kind: &'static str,
    pub bytes: Vec<u8>,
}

pub fn back_set() -> (Vec<CardData>, Vec<SetImage>) {
    let cards = cards();
    // One thread per card: rendering is the slow part of an unoptimised test build.
    let images = std::thread::scope(|scope| {
        let handles: Vec<_> = cards
            .iter()
            .enumerate()
            .map(|(ci, card)| {
                scope.spawn(move || {
                    let mut rng = Rng::new(1000 + ci as u64);
                    let face = card_back(&card.payload, &mut rng);
                    distortion_kinds()
                        .into_iter()
                        .map(|(kind, d)| SetImage { card: ci, kind, bytes: photograph(&face, d, &mut rng) })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("fixture thread")).collect()
    });
    (cards, images)
}

/// A grayscale copy (mean of the channels).
pub fn gray_from_rgb(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y).0;
        Luma([((p[0] as u32 + p[1] as u32 + p[2] as u32) / 3) as u8])
    })
}

static MONO_BYTES: &[u8] = include_bytes!("../../fixtures/fonts/DejaVuSansMono.ttf");

/// Draws `text` in DejaVu Sans Mono (the shipped stand-in for OCR-B) with
/// its top-left corner at (`x`, `y`); returns the advance of one character.
pub fn draw_mono(img: &mut RgbImage, x: f32, y: f32, size: f32, color: Rgb<u8>, text: &str) -> f32 {
    let font = FontRef::try_from_slice(MONO_BYTES).expect("shipped font parses");
    let scaled = font.as_scaled(PxScale::from(size));
    let advance = scaled.h_advance(scaled.glyph_id('M'));
    let baseline = y + scaled.ascent();
    let (w, h) = img.dimensions();
    for (i, c) in text.chars().enumerate() {
        let glyph = scaled.glyph_id(c).with_scale_and_position(PxScale::from(size), ab_glyph::point(x + i as f32 * advance, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (px, py) = (bounds.min.x as i64 + i64::from(gx), bounds.min.y as i64 + i64::from(gy));
                if px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0);
                let dst = img.get_pixel_mut(px as u32, py as u32);
                for k in 0..3 {
                    dst.0[k] = (f32::from(dst.0[k]) * (1.0 - a) + f32::from(color.0[k]) * a).round() as u8;
                }
            });
        }
    }
    advance
}

/// A tinted document background with a faint guilloche-like wave pattern.
fn document_background(w: u32, h: u32, tint: [f32; 3], rng: &mut Rng) -> RgbImage {
    let phase = rng.range(0.0, 6.0);
    RgbImage::from_fn(w, h, |x, y| {
        let wave = ((x as f32 * 0.045 + (y as f32 * 0.02 + phase).sin() * 3.0).sin() * 6.0) as f32;
        Rgb(tint.map(|t| (t + wave).clamp(0.0, 255.0) as u8))
    })
}

/// A passport data page (1250 x 880, 125 x 88 mm at 10 px/mm): printed
/// labels and values, a portrait placeholder and the two TD3 MRZ lines.
pub fn passport_page(mrz: &[String; 2], surname: &str, given: &str, rng: &mut Rng) -> RgbImage {
    let mut page = document_background(1250, 880, [232.0, 236.0, 228.0], rng);
    let ink = Rgb([35, 35, 60]);
    fonts::draw_text(&mut page, 60.0, 40.0, 34.0, ink, "PASSPORT");
    fonts::draw_text(&mut page, 700.0, 40.0, 34.0, ink, "UTOPIA");
    for y in 130..560 {
        for x in 60..400 {
            page.put_pixel(x, y, Rgb([180, 170, 165]));
        }
    }
    let rows = [("Surname", surname.to_string()), ("Given names", given.to_string()), ("Nationality", "UTOPIAN".to_string())];
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 140.0 + i as f32 * 110.0;
        fonts::draw_text(&mut page, 450.0, y, 20.0, Rgb([90, 90, 110]), label);
        fonts::draw_text(&mut page, 450.0, y + 30.0, 32.0, ink, value);
    }
    // The MRZ: 44 characters across the bottom (OCR-B is 10 characters per inch).
    draw_mono(&mut page, 48.0, 700.0, 42.0, Rgb([20, 20, 25]), &mrz[0]);
    draw_mono(&mut page, 48.0, 775.0, 42.0, Rgb([20, 20, 25]), &mrz[1]);
    page
}

/// The back of a TD1 card (1000 x 630, 85.6 x 54 mm): a few printed lines
/// and the three 30-character MRZ lines.
pub fn td1_back(mrz: &[String; 3], rng: &mut Rng) -> RgbImage {
    let mut card = document_background(1000, 630, [228.0, 234.0, 240.0], rng);
    fonts::draw_text(&mut card, 50.0, 40.0, 28.0, Rgb([35, 35, 60]), "UNITED STATES OF AMERICA");
    fonts::draw_text(&mut card, 50.0, 90.0, 22.0, Rgb([70, 70, 90]), "PASSPORT CARD");
    for (i, line) in mrz.iter().enumerate() {
        draw_mono(&mut card, 45.0, 380.0 + i as f32 * 75.0, 48.0, Rgb([20, 20, 25]), line);
    }
    card
}

/// The front of a card: issuer, document number, name, dates and address
/// printed with labels, a portrait placeholder.
pub fn card_front(card: &CardData, rng: &mut Rng) -> RgbImage {
    let mut face = document_background(1000, 630, [226.0, 232.0, 238.0], rng);
    let ink = Rgb([25, 25, 40]);
    let header = if card.is_id_card { "IDENTIFICATION CARD" } else { "DRIVER LICENSE" };
    fonts::draw_text(&mut face, 40.0, 30.0, 38.0, Rgb([30, 50, 120]), card.jurisdiction);
    fonts::draw_text(&mut face, 160.0, 34.0, 32.0, Rgb([30, 50, 120]), header);
    for y in 120..480 {
        for x in 40..320 {
            face.put_pixel(x, y, Rgb([170, 160, 150]));
        }
    }
    let us_date = |iso: &str| format!("{}/{}/{}", &iso[5..7], &iso[8..10], &iso[0..4]);
    let given = match card.middle_name {
        Some(m) => format!("{} {m}", card.first_name),
        None => card.first_name.to_string(),
    };
    let rows = [
        format!("DL {}", card.document_number),
        format!("EXP {}", us_date(card.expires_at)),
        format!("LN {}", card.last_name),
        format!("FN {given}"),
        format!("DOB {}", us_date(card.birth_date)),
        format!("{} {}", "ISS", us_date(card.issued_at)),
    ];
    for (i, row) in rows.iter().enumerate() {
        fonts::draw_text(&mut face, 360.0, 120.0 + i as f32 * 55.0, 30.0, ink, row);
    }
    face
}

