//! Duplicate detection material: a 256-bit perceptual hash (16x16 low DCT
//! frequencies of a 64x64 grey thumbnail) of the card cropped out of its
//! background, and a SHA-256 key of the barcode/MRZ identity.
//!
//! docs/engines.md: an 8x8 pHash cannot tell different cards of one design
//! apart; 16x16 with a threshold ~8 separates re-encodes from other cards.
//! [`NEAR_DUPLICATE_DISTANCE`] is 7 so that 8 bands of 32 bits find every
//! near duplicate by an exact band match (pigeonhole) in the database.

use image::imageops::FilterType;
use image::{GrayImage, RgbImage};
use sha2::{Digest, Sha256};

use crate::engine::DocumentFields;

/// Hashes at most this far apart (Hamming) are the same picture.
pub const NEAR_DUPLICATE_DISTANCE: u32 = 7;
/// 256 bits as 8 bands of 32 bits: two hashes within
/// [`NEAR_DUPLICATE_DISTANCE`] share at least one band exactly.
pub const BANDS: usize = 8;

/// The hash as 64 lowercase hex digits.
pub fn to_hex(hash: &[u8; 32]) -> String {
    hex::encode(hash)
}

pub fn from_hex(hex_hash: &str) -> Option<[u8; 32]> {
    hex::decode(hex_hash).ok()?.try_into().ok()
}

pub fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The 8 bands of a hash as integers (for indexed equality lookups).
pub fn bands(hash: &[u8; 32]) -> [i64; BANDS] {
    let mut out = [0i64; BANDS];
    for (i, band) in out.iter_mut().enumerate() {
        let b = &hash[i * 4..i * 4 + 4];
        *band = i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    }
    out
}

/// The card's box (left, top, right, bottom) when it lies on a distinct
/// background; the whole image when the photo is cropped to the card or no
/// card stands out. Axis-aligned: a card photographed at an angle is hashed
/// with some background, which a re-upload of the same photo shares anyway.
pub fn locate_card(image: &RgbImage) -> [u32; 4] {
    let (w, h) = image.dimensions();
    let whole = [0, 0, w, h];
    if w < 32 || h < 32 {
        return whole;
    }
    let small = image::imageops::resize(image, 200, (200 * h / w).max(8), FilterType::Triangle);
    let (sw, sh) = small.dimensions();
    let mut border: Vec<[u8; 3]> = Vec::new();
    for x in 0..sw {
        border.push(small.get_pixel(x, 0).0);
        border.push(small.get_pixel(x, sh - 1).0);
    }
    for y in 0..sh {
        border.push(small.get_pixel(0, y).0);
        border.push(small.get_pixel(sw - 1, y).0);
    }
    let median = |c: usize| {
        let mut v: Vec<u8> = border.iter().map(|p| p[c]).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let bg = [median(0), median(1), median(2)];
    // A busy border (the card fills the frame) has no background colour.
    let spread = border.iter().filter(|p| color_distance(p, &bg) > 40).count() as f32 / border.len() as f32;
    if spread > 0.35 {
        return whole;
    }
    let fg = |x: u32, y: u32| color_distance(&small.get_pixel(x, y).0, &bg) > 40;
    let rows: Vec<bool> = (0..sh).map(|y| (0..sw).filter(|x| fg(*x, y)).count() as f32 > sw as f32 * 0.25).collect();
    let cols: Vec<bool> = (0..sw).map(|x| (0..sh).filter(|y| fg(x, *y)).count() as f32 > sh as f32 * 0.25).collect();
    let (Some((y0, y1)), Some((x0, x1))) = (longest_run(&rows), longest_run(&cols)) else { return whole };
    let area = ((x1 - x0) * (y1 - y0)) as f32 / (sw * sh) as f32;
    if area < 0.15 {
        return whole;
    }
    let sx = w as f32 / sw as f32;
    let sy = h as f32 / sh as f32;
    [
        ((x0 as f32) * sx) as u32,
        ((y0 as f32) * sy) as u32,
        (((x1 as f32) * sx).ceil() as u32).min(w),
        (((y1 as f32) * sy).ceil() as u32).min(h),
    ]
}

fn color_distance(a: &[u8; 3], b: &[u8; 3]) -> i32 {
    (0..3).map(|i| (i32::from(a[i]) - i32::from(b[i])).abs()).max().unwrap_or(0)
}

/// The longest run of `true` as (start, end exclusive).
fn longest_run(v: &[bool]) -> Option<(u32, u32)> {
    let mut best: Option<(u32, u32)> = None;
    let mut start = None;
    for (i, on) in v.iter().chain(std::iter::once(&false)).enumerate() {
        match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(a, b)| b - a < (i - s) as u32) {
                    best = Some((s as u32, i as u32));
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// 256-bit DCT perceptual hash of `image` (already cropped).
pub fn perceptual_hash(image: &RgbImage) -> [u8; 32] {
    const N: usize = 64;
    const K: usize = 16;
    let grey: GrayImage = image::imageops::grayscale(image);
    let small = image::imageops::resize(&grey, N as u32, N as u32, FilterType::Triangle);
    let px: Vec<f64> = small.pixels().map(|p| f64::from(p.0[0])).collect();
    let cos: Vec<f64> = (0..K * N)
        .map(|i| {
            let (u, x) = (i / N, i % N);
            (((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI) / (2 * N) as f64).cos()
        })
        .collect();
    // Rows: first K frequencies of each row; then columns.
    let mut rows = vec![0.0; N * K];
    for y in 0..N {
        for u in 0..K {
            rows[y * K + u] = (0..N).map(|x| cos[u * N + x] * px[y * N + x]).sum();
        }
    }
    let mut coef = [0.0f64; K * K];
    for v in 0..K {
        for u in 0..K {
            coef[v * K + u] = (0..N).map(|y| cos[v * N + y] * rows[y * K + u]).sum();
        }
    }
    let mut sorted: Vec<f64> = coef[1..].to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mut hash = [0u8; 32];
    for (i, c) in coef.iter().enumerate() {
        if *c > median {
            hash[i / 8] |= 0x80 >> (i % 8);
        }
    }
    hash
}

/// SHA-256 (hex) of the machine-readable identity: issuer (AAMVA IIN, or
/// the MRZ issuing country) | document number | birth date, normalised.
/// `None` unless all three are known. Plain values never leave this
/// function, so the key can be compared across tenants.
pub fn barcode_key(fields: &DocumentFields) -> Option<String> {
    let raw = fields.raw_payload.as_deref().unwrap_or("");
    let issuer = aamva_iin(raw).or_else(|| fields.issuing_country.clone().filter(|c| !c.trim().is_empty()))?;
    let number: String =
        fields.document_number.as_deref()?.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_uppercase();
    let birth = fields.birth_date?;
    if number.is_empty() {
        return None;
    }
    let key = format!("{}|{}|{}", issuer.trim().to_uppercase(), number, birth.format("%Y%m%d"));
    Some(hex::encode(Sha256::digest(key.as_bytes())))
}

/// The 6-digit issuer identification number after `ANSI ` / `AAMVA`.
fn aamva_iin(raw: &str) -> Option<String> {
    let at = raw.find("ANSI").map(|i| i + 4).or_else(|| raw.find("AAMVA").map(|i| i + 5))?;
    let digits: String = raw[at..].chars().skip_while(|c| *c == ' ').take(6).collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A card-like picture: a tinted background with blocks (photo, text
    /// lines) placed by `seed`, and fine noise.
    fn card(seed: u32) -> RgbImage {
        let mut img = super::super::jpeg::tests::textured(640, 400, seed);
        let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        let mut next = |m: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % m
        };
        for _ in 0..14 {
            let (x, y, w, h) = (next(560), next(360), 40 + next(200), 10 + next(60));
            let shade = next(200) as u8;
            for yy in y..(y + h).min(400) {
                for xx in x..(x + w).min(640) {
                    img.put_pixel(xx, yy, Rgb([shade, shade / 2, 255 - shade]));
                }
            }
        }
        img
    }

    #[test]
    fn a_reencoded_picture_is_near_and_another_card_is_far() {
        let original = card(3);
        let reencoded = image::load_from_memory(&super::super::jpeg::tests::jpeg(&original, 60)).unwrap().to_rgb8();
        let smaller = image::imageops::resize(&reencoded, 480, 300, FilterType::Triangle);
        let (a, b) = (perceptual_hash(&original), perceptual_hash(&reencoded));
        assert!(distance(&a, &b) <= NEAR_DUPLICATE_DISTANCE, "re-encoded: {}", distance(&a, &b));
        let c = perceptual_hash(&smaller);
        assert!(distance(&a, &c) <= NEAR_DUPLICATE_DISTANCE, "rescaled: {}", distance(&a, &c));
        for seed in [4, 5, 6] {
            let d = distance(&a, &perceptual_hash(&card(seed)));
            assert!(d > 3 * NEAR_DUPLICATE_DISTANCE, "another card at {d}");
        }
        assert_eq!(from_hex(&to_hex(&a)), Some(a));
        let shared = bands(&a).iter().zip(bands(&b)).filter(|(x, y)| **x == *y).count();
        assert!(shared >= 1);
    }

    #[test]
    fn the_card_is_cut_from_a_plain_background() {
        let mut img = RgbImage::from_pixel(800, 600, Rgb([40, 90, 40]));
        for y in 150..400 {
            for x in 200..600 {
                img.put_pixel(x, y, Rgb([230, 230, 240]));
            }
        }
        let [l, t, r, b] = locate_card(&img);
        assert!((l as i32 - 200).abs() <= 8 && (r as i32 - 600).abs() <= 8, "{l} {r}");
        assert!((t as i32 - 150).abs() <= 8 && (b as i32 - 400).abs() <= 8, "{t} {b}");
        let tight = super::super::jpeg::tests::textured(400, 250, 5);
        assert_eq!(locate_card(&tight), [0, 0, 400, 250]);
    }

    #[test]
    fn barcode_key_needs_issuer_number_and_birth_date_and_hides_them() {
        let fields = DocumentFields {
            raw_payload: Some("@\n\u{1e}\rANSI 636014080102DL00410288ZC03290034DLDAQD1234567\n".into()),
            document_number: Some("d123-4567".into()),
            birth_date: chrono::NaiveDate::from_ymd_opt(1990, 4, 5),
            ..Default::default()
        };
        let key = barcode_key(&fields).unwrap();
        assert_eq!(key.len(), 64);
        assert!(!key.contains("636014") && !key.to_uppercase().contains("D1234567"));
        let same = DocumentFields { document_number: Some("D1234567".into()), ..fields.clone() };
        assert_eq!(barcode_key(&same), Some(key));
        assert_eq!(barcode_key(&DocumentFields { birth_date: None, ..fields }), None);
    }
}
