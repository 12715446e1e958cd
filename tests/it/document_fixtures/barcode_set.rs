//! The hard licence-back set: photos of card backs whose PDF417 is hard to
//! read, rendered in code and deterministic by seed. It is an evaluation set
//! (`benches/barcode_eval.rs` measures the cascade on 40+ images per
//! category); the tests draw a few images per category from seeds the bench
//! does not use, so nothing is tuned to single images.
//!
//! Every image is a fresh card: a random AAMVA payload (version 3, 8, 9 or
//! 10, random person, numbers and dates), a PDF417 at error-correction level
//! 5 with a module (X dimension) of 0.25-0.38 mm and as many columns as fit
//! the card's width, drawn at 4 px per module. The card is photographed by a
//! pinhole camera (focal length 0.8 x the photo width) on a 1200-1600 px wide
//! 4:3 photo, area-sampled, then lens blur, sensor noise and JPEG:
//!
//! | category      | what is hard                                                        |
//! |---------------|---------------------------------------------------------------------|
//! | `sharp`       | nothing (reference): card 62-90 % of the width, tilt <= 5 deg       |
//! | `defocus`     | Gaussian defocus, sigma 2.5-4 px                                    |
//! | `motion`      | linear motion blur 4-10 px at any direction                         |
//! | `tiny`        | narrowest module 1.0-1.5 px (card far from the camera)              |
//! | `low_light`   | white at 70-140 of 255, per-channel noise sigma 6-14, JPEG q60-80   |
//! | `glare`       | 1-2 specular stripes (+150..+260, 8-30 px wide) across the barcode  |
//! | `perspective` | the card tilted 10-20 deg out of plane about a random axis         |
//! | `combined`    | two of: defocus sigma 1.8-2.8, motion 4-8 px, module 1.3-2.0 px,    |
//! |               | low light, glare, tilt 10-20 deg                                    |
//!
//! Every photo also gets: in-plane rotation of +-8 deg, lens blur sigma
//! 0.5-0.9 px (where no stronger blur applies), signal-dependent noise of
//! sigma 1.5-3, JPEG q75-92 (low light: q60-80).

use super::{Rng, homography};
use image::{GrayImage, Luma, Rgb, RgbImage};
use rxing::pdf417::PDF417Writer;
use rxing::pdf417::encoder::Dimensions;
use rxing::{BarcodeFormat, EncodeHints, Writer};
use tessera::engine::barcode::aamva::build_payload;

/// What makes a photo of the set hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Sharp,
    Defocus,
    Motion,
    Tiny,
    LowLight,
    Glare,
    Perspective,
    Combined,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Sharp,
        Category::Defocus,
        Category::Motion,
        Category::Tiny,
        Category::LowLight,
        Category::Glare,
        Category::Perspective,
        Category::Combined,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Sharp => "sharp",
            Category::Defocus => "defocus",
            Category::Motion => "motion",
            Category::Tiny => "tiny",
            Category::LowLight => "low_light",
            Category::Glare => "glare",
            Category::Perspective => "perspective",
            Category::Combined => "combined",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }

    fn index(self) -> u64 {
        Category::ALL.iter().position(|c| *c == self).unwrap_or(0) as u64
    }
}

/// One photo of the set.
#[derive(Debug, Clone)]
pub struct HardBack {
    pub category: Category,
    pub seed: u64,
    /// The text encoded in the barcode: an exact read decodes exactly this.
    pub payload: String,
    /// JPEG bytes.
    pub bytes: Vec<u8>,
    /// Photo size.
    pub width: u32,
    pub height: u32,
    /// Narrowest module in the photo (px, at the card's centre).
    pub module_px: f32,
    /// The distortion parameters, for the bench's listing of misses.
    pub describe: String,
    /// The symbol's data codewords, row by row (for the bench's diagnosis).
    pub codewords: Vec<u32>,
}

/// `per_category` photos of each category in `categories`, from `seed`
/// (image i of category c uses seed `seed + 1000 c + i`). Rendered on two threads.
pub fn hard_back_set(categories: &[Category], per_category: usize, seed: u64) -> Vec<HardBack> {
    let jobs: Vec<(Category, u64)> =
        categories.iter().flat_map(|&c| (0..per_category as u64).map(move |i| (c, seed + 1000 * c.index() + i))).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(2).max(1))
            .map(|chunk| scope.spawn(move || chunk.iter().map(|&(c, s)| hard_back(c, s)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("render thread")).collect()
    })
}

/// The effects applied to one photo.
#[derive(Debug, Clone, Copy, Default)]
struct Effects {
    /// Narrowest module in the photo (px).
    module_px: Option<f32>,
    defocus_sigma: Option<f32>,
    /// (length px, direction deg).
    motion: Option<(f32, f32)>,
    low_light: bool,
    glare: bool,
    tilt_deg: Option<f32>,
}

/// One photo of `category`, fully determined by `seed`.
pub fn hard_back(category: Category, seed: u64) -> HardBack {
    let mut rng = Rng::new(0xBAC0_0000 ^ seed.wrapping_mul(31).wrapping_add(category.index()));
    let mut fx = Effects::default();
    match category {
        Category::Sharp => {}
        Category::Defocus => fx.defocus_sigma = Some(rng.range(2.5, 4.0)),
        Category::Motion => fx.motion = Some((rng.range(4.0, 10.0), rng.range(0.0, 180.0))),
        Category::Tiny => fx.module_px = Some(rng.range(1.0, 1.5)),
        Category::LowLight => fx.low_light = true,
        Category::Glare => fx.glare = true,
        Category::Perspective => fx.tilt_deg = Some(rng.range(10.0, 20.0)),
        Category::Combined => {
            let first = (rng.unit() * 6.0) as usize % 6;
            let second = (first + 1 + (rng.unit() * 5.0) as usize % 5) % 6;
            for pick in [first, second] {
                match pick {
                    0 => fx.defocus_sigma = Some(rng.range(1.8, 2.8)),
                    1 => fx.motion = Some((rng.range(4.0, 8.0), rng.range(0.0, 180.0))),
                    2 => fx.module_px = Some(rng.range(1.3, 2.0)),
                    3 => fx.low_light = true,
                    4 => fx.glare = true,
                    _ => fx.tilt_deg = Some(rng.range(10.0, 20.0)),
                }
            }
        }
    }
    let payload = random_payload(&mut rng);
    let x_mm = rng.range(0.25, 0.38);
    let card = render_card(&payload, x_mm, &mut rng);
    let width = (rng.range(1200.0, 1600.0) as u32) & !1;
    let height = width * 3 / 4;
    // Module size in the photo: from how much of the width the card fills.
    let module_px = fx.module_px.unwrap_or_else(|| rng.range(0.62, 0.9) * width as f32 / 85.6 * x_mm);
    let (photo, describe) = photograph(&card, module_px, width, height, &fx, &mut rng);
    let describe = format!("seed {seed} {width}x{height} X {x_mm:.2} mm module {module_px:.2} px {describe}");
    let codewords = card.codewords.clone();
    HardBack { category, seed, payload, bytes: photo, width, height, module_px, describe, codewords }
}

const SURNAMES: [&str; 16] = [
    "SMITH", "GARCIA-LOPEZ", "NGUYEN", "OCONNOR", "TREMBLAY", "JOHNSON", "KOWALSKI", "OKAFOR", "MULLER", "HERNANDEZ", "LI", "ABERNATHY-JONES",
    "PATEL", "ROSSI", "DUBOIS", "WASHINGTON",
];
const GIVEN: [&str; 16] = [
    "MARIA", "JOHN", "ANH", "PATRICK", "LUC", "AISHA", "WEI", "FATIMA", "JAMES", "OLIVIA", "MOHAMMED", "ELENA", "CHIDI", "SOFIA", "NOAH", "GRACE",
];
const PLACES: [(&str, &str, &str); 8] = [
    ("636014", "CA", "LOS ANGELES"),
    ("636001", "NY", "NEW YORK"),
    ("636015", "TX", "HOUSTON"),
    ("636010", "FL", "MIAMI"),
    ("636026", "WA", "SEATTLE"),
    ("636031", "IL", "CHICAGO"),
    ("636020", "CO", "DENVER"),
    ("636003", "MA", "BOSTON"),
];
const STREETS: [&str; 6] = ["SUNSET BLVD", "MAIN ST", "OAK AVE APT 12", "W 21ST ST", "ELM ST", "MARKET ST UNIT 5B"];

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[(rng.next_u64() % list.len() as u64) as usize]
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + (rng.next_u64() % 10) as u8)).collect()
}

/// A random but well-formed AAMVA payload (US dates MMDDCCYY).
fn random_payload(rng: &mut Rng) -> String {
    let (iin, state, city) = PLACES[(rng.next_u64() % PLACES.len() as u64) as usize];
    let version = [3u8, 8, 9, 10][(rng.next_u64() % 4) as usize];
    let date = |rng: &mut Rng, y0: u64, span: u64| format!("{:02}{:02}{}", 1 + rng.next_u64() % 12, 1 + rng.next_u64() % 28, y0 + rng.next_u64() % span);
    let birth = date(rng, 1950, 56);
    let issued = date(rng, 2018, 8);
    let expires = date(rng, 2027, 8);
    let number = if rng.unit() < 0.5 { format!("{}{}", char::from(b'A' + (rng.next_u64() % 26) as u8), digits(rng, 7)) } else { digits(rng, 9) };
    let street = format!("{} {}", 1 + rng.next_u64() % 9800, pick(rng, &STREETS));
    let (surname, given, middle) = (pick(rng, &SURNAMES), pick(rng, &GIVEN), pick(rng, &GIVEN));
    let postal = format!("{}0000", digits(rng, 5));
    let height = format!("0{} IN", 58 + rng.next_u64() % 20);
    let discriminator = format!("{}{}", digits(rng, 8), pick(rng, &["A1/BBFD/29", "XY", "0412"]));
    let sex = if rng.unit() < 0.5 { "1" } else { "2" };
    let mut elements: Vec<(&str, String)> = vec![
        ("DCA", pick(rng, &["C", "D", "NONE"]).to_string()),
        ("DCB", "NONE".into()),
        ("DCD", "NONE".into()),
        ("DBA", expires),
    ];
    if version == 3 {
        elements.push(("DCS", surname.into()));
        elements.push(("DCT", format!("{given} {middle}")));
    } else {
        elements.push(("DCS", surname.into()));
        elements.push(("DAC", given.into()));
        elements.push(("DAD", middle.into()));
    }
    elements.extend([
        ("DBD", issued),
        ("DBB", birth),
        ("DBC", sex.into()),
        ("DAY", pick(rng, &["BRO", "BLU", "GRN", "HAZ"]).into()),
        ("DAU", height),
        ("DAG", street),
        ("DAI", city.into()),
        ("DAJ", state.into()),
        ("DAK", postal),
        ("DAQ", number),
        ("DCF", discriminator),
        ("DCG", "USA".into()),
    ]);
    if version >= 4 {
        elements.extend([("DDE", "N".into()), ("DDF", "N".into()), ("DDG", "N".into())]);
    }
    let elements: Vec<(&str, &str)> = elements.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let z_value = digits(rng, 6);
    let z_elements = [("ZXA", z_value.as_str())];
    let zsub = if rng.unit() < 0.5 { Some(("ZX", &z_elements[..])) } else { None };
    build_payload(iin, version, 1, "DL", &elements, zsub)
}

/// The symbol with `cols` data columns (error correction level 5).
fn encode(payload: &str, cols: usize) -> Option<rxing::common::BitMatrix> {
    let hints = EncodeHints {
        ErrorCorrection: Some("5".into()),
        Margin: Some("0".into()),
        Pdf417Dimensions: Some(Dimensions::new(cols, cols, 3, 90)),
        ..Default::default()
    };
    PDF417Writer.encode_with_hints(payload, &BarcodeFormat::PDF_417, 10000, 1, &hints).ok()
}

/// The data codewords of a symbol (one matrix pixel per module, no
/// margin), row by row: each row's 17-module patterns between the row
/// indicators, rows repeated in the matrix taken once.
fn symbol_codewords(matrix: &rxing::common::BitMatrix) -> Vec<u32> {
    let (mw, mh) = (matrix.getWidth(), matrix.getHeight());
    let Some(cols) = ((mw.saturating_sub(35)) / 17).checked_sub(2) else { return Vec::new() };
    let mut out = Vec::new();
    let mut last: Option<Vec<u32>> = None;
    for y in 0..mh {
        let row: Vec<u32> = (0..cols + 2)
            .map(|j| {
                let bits = (0..17).fold(0u32, |acc, m| (acc << 1) | u32::from(matrix.get(17 + 17 * j + m, y)));
                rxing::pdf417::pdf_417_common::getCodeword(bits).max(0) as u32
            })
            .collect();
        if last.as_ref() != Some(&row) {
            out.extend_from_slice(&row[1..=cols as usize]);
            last = Some(row);
        }
    }
    out
}

/// A card back at 4 px per module (85.6 x 54 mm): a tinted background with
/// a faint wave, text-like lines above, the barcode across the lower part.
/// Returns the card and the barcode's box (x0, y0, x1, y1) on it.
struct Card {
    img: GrayImage,
    codewords: Vec<u32>,
    barcode: (f32, f32, f32, f32),
    tint: [f32; 3],
}

fn render_card(payload: &str, x_mm: f32, rng: &mut Rng) -> Card {
    const MODULE: u32 = 4;
    let per_mm = MODULE as f32 / x_mm;
    let (w, h) = ((85.6 * per_mm) as u32, (53.98 * per_mm) as u32);
    // As many columns as fit 92 % of the width (a symbol is 69 + 17 c modules wide), at most 16.
    let max_cols = (((0.92 * 85.6 / x_mm) - 69.0) / 17.0).floor().clamp(4.0, 16.0) as usize;
    let cols = max_cols - (rng.next_u64() % 2) as usize;
    let matrix = (cols..=max_cols.max(cols)).rev().find_map(|c| encode(payload, c)).expect("the payload encodes");
    let (mw, mh) = (matrix.getWidth(), matrix.getHeight());
    let (bw, bh) = (mw * MODULE, mh * MODULE);
    let bx = (w.saturating_sub(bw)) / 2;
    let by = h.saturating_sub(bh + (3.0 * per_mm) as u32);
    let base = rng.range(205.0, 238.0);
    let phase = rng.range(0.0, 6.0);
    let mut img = GrayImage::from_fn(w, h, |x, y| {
        let wave = ((x as f32 / per_mm * 0.9 + (y as f32 / per_mm * 0.4 + phase).sin() * 3.0).sin()) * 5.0;
        let slope = (x as f32 / w as f32 - y as f32 / h as f32) * 8.0;
        Luma([(base + wave + slope).clamp(0.0, 255.0) as u8])
    });
    // Text-like lines in the space above the barcode.
    let line_h = (1.8 * per_mm) as u32;
    let mut y0 = (3.0 * per_mm) as u32;
    while y0 + line_h + (2.0 * per_mm) as u32 <= by {
        let mut x = (4.0 * per_mm) as u32;
        while x < w - (6.0 * per_mm) as u32 {
            let word = rng.range(3.0, 14.0) * per_mm;
            let ink = rng.range(50.0, 110.0) as u8;
            for y in y0..y0 + line_h {
                for xx in x..(x + word as u32).min(w - (4.0 * per_mm) as u32) {
                    if (xx / 3 + y / 2) % 3 != 0 {
                        img.put_pixel(xx, y, Luma([ink]));
                    }
                }
            }
            x += word as u32 + (rng.range(1.5, 3.5) * per_mm) as u32;
        }
        y0 += line_h + (1.6 * per_mm) as u32;
    }
    // Quiet zone, then the symbol.
    let quiet = (2.5 * per_mm) as u32;
    let paper = (base + 14.0).min(250.0) as u8;
    let ink = rng.range(12.0, 40.0) as u8;
    for y in by.saturating_sub(quiet)..(by + bh + quiet).min(h) {
        for x in bx.saturating_sub(quiet)..(bx + bw + quiet).min(w) {
            let dark = x >= bx && y >= by && x < bx + bw && y < by + bh && matrix.get((x - bx) / MODULE, (y - by) / MODULE);
            img.put_pixel(x, y, Luma([if dark { ink } else { paper }]));
        }
    }
    let tint = [rng.range(0.97, 1.03), rng.range(0.97, 1.03), rng.range(0.95, 1.05)];
    let codewords = symbol_codewords(&matrix);
    Card { img, codewords, barcode: (bx as f32, by as f32, (bx + bw) as f32, (by + bh) as f32), tint }
}

/// A point of the card (card px) as seen by the camera (photo px).
struct Camera {
    /// Rotation (row-major 3x3) applied to card-plane points centred on the card.
    r: [f32; 9],
    focal: f32,
    center: (f32, f32),
    card_center: (f32, f32),
    /// Card px -> photo px at the card's centre (before perspective).
    scale: f32,
}

impl Camera {
    fn project(&self, x: f32, y: f32) -> (f32, f32) {
        let (u, v) = ((x - self.card_center.0) * self.scale, (y - self.card_center.1) * self.scale);
        let r = &self.r;
        let (px, py, pz) = (r[0] * u + r[1] * v, r[3] * u + r[4] * v, r[6] * u + r[7] * v);
        let z = self.focal + pz;
        (self.center.0 + self.focal * px / z, self.center.1 + self.focal * py / z)
    }
}

/// Rotation about the unit axis (ax, ay, 0) by `t` radians, then about z by `rho`.
fn rotation(axis_deg: f32, tilt_deg: f32, rho_deg: f32) -> [f32; 9] {
    let (ay, ax) = axis_deg.to_radians().sin_cos();
    let (s, c) = tilt_deg.to_radians().sin_cos();
    let k = 1.0 - c;
    // Rodrigues with axis (ax, ay, 0).
    let tilt = [ax * ax * k + c, ax * ay * k, ay * s, ax * ay * k, ay * ay * k + c, -ax * s, -ay * s, ax * s, c];
    let (sr, cr) = rho_deg.to_radians().sin_cos();
    let rz = [cr, -sr, 0.0, sr, cr, 0.0, 0.0, 0.0, 1.0];
    let mut out = [0f32; 9];
    for i in 0..3 {
        for j in 0..3 {
            out[i * 3 + j] = (0..3).map(|k| rz[i * 3 + k] * tilt[k * 3 + j]).sum();
        }
    }
    out
}

/// Photographs the card with the barcode's module at `module_px`, applies
/// the effects; JPEG bytes and a description of the parameters drawn.
fn photograph(card: &Card, module_px: f32, width: u32, height: u32, fx: &Effects, rng: &mut Rng) -> (Vec<u8>, String) {
    let mut describe = Vec::new();
    let (cw, ch) = (card.img.width() as f32, card.img.height() as f32);
    let scale = module_px / 4.0;
    let rho = rng.range(-8.0, 8.0);
    let tilt = fx.tilt_deg.unwrap_or_else(|| rng.range(0.0, 5.0));
    let axis = rng.range(0.0, 180.0);
    let (sw, sh) = (cw * scale, ch * scale);
    let slack = ((width as f32 - sw) / 2.0 * 0.5).max(0.0);
    let slack_y = ((height as f32 - sh) / 2.0 * 0.5).max(0.0);
    let camera = Camera {
        r: rotation(axis, tilt, rho),
        focal: 0.8 * width as f32,
        center: (width as f32 / 2.0 + rng.range(-slack, slack), height as f32 / 2.0 + rng.range(-slack_y, slack_y)),
        card_center: (cw / 2.0, ch / 2.0),
        scale,
    };
    describe.push(format!("rot {rho:.1} tilt {tilt:.1}@{axis:.0}"));
    let corners = [(0.0, 0.0), (cw - 1.0, 0.0), (cw - 1.0, ch - 1.0), (0.0, ch - 1.0)];
    let dst = corners.map(|(x, y)| camera.project(x, y));
    let to_card = homography(dst, corners);
    let background = rng.range(40.0, 120.0);
    let footprint = 1.0 / scale;
    let raw = card.img.as_raw();
    let (iw, ih) = (card.img.width() as usize, card.img.height() as usize);
    let n = (footprint.ceil() as usize).clamp(2, 5);
    let step = footprint / n as f32;
    // Scene radiance (0..255 for white paper under the light), one plane.
    let mut scene = vec![0f32; (width * height) as usize];
    for y in 0..height {
        for x in 0..width {
            let (xf, yf) = (f64::from(x), f64::from(y));
            let wz = to_card[6] * xf + to_card[7] * yf + to_card[8];
            let (u, v) = (((to_card[0] * xf + to_card[1] * yf + to_card[2]) / wz) as f32, ((to_card[3] * xf + to_card[4] * yf + to_card[5]) / wz) as f32);
            let value = if u < 0.0 || v < 0.0 || u > cw - 1.0 || v > ch - 1.0 {
                background + (((x / 37 + y / 53) % 2) as f32) * 10.0
            } else {
                let mut acc = 0.0;
                for j in 0..n {
                    let sy = (v - footprint / 2.0 + (j as f32 + 0.5) * step).clamp(0.0, ch - 1.001);
                    let y0 = sy as usize;
                    let fy = sy - y0 as f32;
                    for i in 0..n {
                        let sx = (u - footprint / 2.0 + (i as f32 + 0.5) * step).clamp(0.0, cw - 1.001);
                        let x0 = sx as usize;
                        let ax = sx - x0 as f32;
                        let k = y0 * iw + x0;
                        let (a, b) = (f32::from(raw[k]), f32::from(raw[(k + 1).min(iw * ih - 1)]));
                        let (c, d) = (f32::from(raw[(k + iw).min(iw * ih - 1)]), f32::from(raw[(k + iw + 1).min(iw * ih - 1)]));
                        acc += (a * (1.0 - ax) + b * ax) * (1.0 - fy) + (c * (1.0 - ax) + d * ax) * fy;
                    }
                }
                acc / (n * n) as f32
            };
            scene[(y * width + x) as usize] = value;
        }
    }
    let (w, h) = (width as usize, height as usize);
    if fx.glare {
        // Specular stripes through a point of the barcode, plus a soft veil.
        let stripes = 1 + (rng.unit() < 0.4) as usize;
        for _ in 0..stripes {
            let (bx0, by0, bx1, by1) = card.barcode;
            let (px, py) = camera.project(rng.range(bx0, bx1), rng.range(by0, by1));
            let dir = rng.range(0.0, 180.0).to_radians();
            let (nx, ny) = (-dir.sin(), dir.cos());
            let (amp, half) = (rng.range(150.0, 260.0), rng.range(8.0, 30.0));
            describe.push(format!("glare +{amp:.0} w{half:.0} @{:.0}", dir.to_degrees()));
            for y in 0..h {
                for x in 0..w {
                    let d = (x as f32 - px) * nx + (y as f32 - py) * ny;
                    let g = amp * (-(d * d) / (2.0 * half * half)).exp() + 0.25 * amp * (-(d * d) / (2.0 * (6.0 * half).powi(2))).exp();
                    scene[y * w + x] += g;
                }
            }
        }
    }
    // Optics: lens blur or defocus, then motion.
    let lens = fx.defocus_sigma.unwrap_or_else(|| rng.range(0.5, 0.9));
    describe.push(format!("blur {lens:.2}"));
    scene = gaussian(&scene, w, h, lens);
    if let Some((len, deg)) = fx.motion {
        describe.push(format!("motion {len:.1}@{deg:.0}"));
        scene = motion_blur(&scene, w, h, len, deg);
    }
    // Exposure and sensor noise, per channel.
    let (white, noise, quality) = if fx.low_light {
        let white = rng.range(70.0, 140.0);
        let noise = rng.range(6.0, 14.0);
        describe.push(format!("low light white {white:.0} noise {noise:.1}"));
        (white, noise, rng.range(60.0, 80.0) as u8)
    } else {
        (rng.range(225.0, 250.0), rng.range(1.5, 3.0), rng.range(75.0, 92.0) as u8)
    };
    describe.push(format!("q{quality}"));
    let gain = white / 255.0;
    let light = if fx.low_light { [1.0, 0.86, 0.62] } else { [1.0, 1.0, 1.0] };
    let mut out = RgbImage::new(width, height);
    for (i, px) in out.pixels_mut().enumerate() {
        let s = scene[i].min(255.0).max(0.0) * gain;
        let sigma = noise * (0.3 + 0.7 * s / white).sqrt();
        let mut rgb = [0u8; 3];
        for (k, v) in rgb.iter_mut().enumerate() {
            *v = (s * card.tint[k] * light[k] + sigma * rng.normal()).round().clamp(0.0, 255.0) as u8;
        }
        *px = Rgb(rgb);
    }
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
    out.write_with_encoder(enc).expect("jpeg encodes");
    (bytes, describe.join(" "))
}

/// Separable Gaussian blur (kernel radius 3 sigma, clamped borders).
fn gaussian(p: &[f32], w: usize, h: usize, sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as usize;
    let kernel: Vec<f32> = (0..=2 * r).map(|i| (-((i as f32 - r as f32).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        let row = &p[y * w..][..w];
        for x in 0..w {
            tmp[y * w + x] = kernel.iter().enumerate().map(|(k, kv)| row[(x + k).saturating_sub(r).min(w - 1)] * kv).sum();
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for (k, kv) in kernel.iter().enumerate() {
            let yy = (y + k).saturating_sub(r).min(h - 1);
            for x in 0..w {
                out[y * w + x] += tmp[yy * w + x] * kv;
            }
        }
    }
    out
}

/// Linear motion blur: the mean of bilinear samples along a segment of
/// `len` px at `deg` degrees through each pixel.
fn motion_blur(p: &[f32], w: usize, h: usize, len: f32, deg: f32) -> Vec<f32> {
    let taps = (len.ceil() as usize * 2).max(2) + 1;
    let (dy, dx) = deg.to_radians().sin_cos();
    let offsets: Vec<(f32, f32)> = (0..taps).map(|i| {
        let t = (i as f32 / (taps - 1) as f32 - 0.5) * len;
        (t * dx, t * dy)
    }).collect();
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for &(ox, oy) in &offsets {
                let sx = (x as f32 + ox).clamp(0.0, (w - 1) as f32 - 0.001);
                let sy = (y as f32 + oy).clamp(0.0, (h - 1) as f32 - 0.001);
                let (x0, y0) = (sx as usize, sy as usize);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let i = y0 * w + x0;
                let top = p[i] * (1.0 - fx) + p[i + 1] * fx;
                let bottom = p[(i + w).min(w * h - 1)] * (1.0 - fx) + p[(i + w + 1).min(w * h - 1)] * fx;
                acc += top * (1.0 - fy) + bottom * fy;
            }
            out[y * w + x] = acc / taps as f32;
        }
    }
    out
}
