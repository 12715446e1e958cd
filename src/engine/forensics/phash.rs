//! Duplicate detection material: a 256-bit perceptual hash (16x16 low DCT
//! frequencies of a 64x64 grey thumbnail) of the card cut out of its
//! background and turned level, and a SHA-256 key of the barcode/MRZ identity.
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
/// card stands out. Axis-aligned; [`card_view`] straightens first.
pub fn locate_card(image: &RgbImage) -> [u32; 4] {
    let (w, h) = image.dimensions();
    let whole = [0, 0, w, h];
    if w < 32 || h < 32 {
        return whole;
    }
    let small = image::imageops::resize(image, 200, (200 * h / w).max(8), FilterType::Triangle);
    let Some(bg) = background(&small) else { return whole };
    let Some([x0, y0, x1, y1]) = card_box(&small, bg) else { return whole };
    let (sw, sh) = small.dimensions();
    let sx = w as f32 / sw as f32;
    let sy = h as f32 / sh as f32;
    [
        ((x0 as f32) * sx) as u32,
        ((y0 as f32) * sy) as u32,
        (((x1 as f32) * sx).ceil() as u32).min(w),
        (((y1 as f32) * sy).ceil() as u32).min(h),
    ]
}

/// The median border colour of `small`, or `None` when the border is busy
/// (the card fills the frame).
fn background(small: &RgbImage) -> Option<[u8; 3]> {
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
    let spread = border.iter().filter(|p| color_distance(p, &bg) > 40).count() as f32 / border.len() as f32;
    (spread <= 0.35).then_some(bg)
}

/// The foreground box of `small` on background `bg`, when it covers a
/// plausible share of the picture.
fn card_box(small: &RgbImage, bg: [u8; 3]) -> Option<[u32; 4]> {
    let (sw, sh) = small.dimensions();
    let fg = |x: u32, y: u32| color_distance(&small.get_pixel(x, y).0, &bg) > 40;
    let rows: Vec<bool> = (0..sh).map(|y| (0..sw).filter(|x| fg(*x, y)).count() as f32 > sw as f32 * 0.25).collect();
    let cols: Vec<bool> = (0..sw).map(|x| (0..sh).filter(|y| fg(x, *y)).count() as f32 > sh as f32 * 0.25).collect();
    let ((y0, y1), (x0, x1)) = (longest_run(&rows)?, longest_run(&cols)?);
    let area = ((x1 - x0) * (y1 - y0)) as f32 / (sw * sh) as f32;
    (area >= 0.15).then_some([x0, y0, x1, y1])
}

/// The card as the duplicate hash and the shape check see it.
#[derive(Debug, Clone)]
pub struct CardView {
    /// The card cut out and turned level, at most [`VIEW_WIDTH`] px wide
    /// (without a 3% margin when it was cut from a background).
    pub image: RgbImage,
    /// The card's size in the original's pixels (after levelling).
    pub size: (u32, u32),
    /// Whether a card stood out from a distinct background.
    pub on_background: bool,
    /// The rotation applied to level it (degrees, counter-clockwise).
    pub rotation_deg: f32,
}

/// Width of [`CardView::image`]: far more than the 64 px the hash uses.
pub const VIEW_WIDTH: u32 = 800;

/// Cuts the card out of its background and turns it level: the tilt is the
/// principal axis of the foreground (second moments of the pixels unlike
/// the background), folded into ±45°, so a card photographed at an angle
/// hashes like the same card photographed straight. A photo cropped to the
/// card (no background) is taken as it is.
pub fn card_view(image: &RgbImage) -> CardView {
    let (w, h) = image.dimensions();
    let scale = (VIEW_WIDTH as f32 / w.max(1) as f32).min(1.0);
    let work = if scale < 1.0 {
        image::imageops::resize(image, VIEW_WIDTH, ((h as f32 * scale).round() as u32).max(1), FilterType::Triangle)
    } else {
        image.clone()
    };
    let unscaled = |px: u32| (px as f32 / scale).round() as u32;
    let as_is = |img: RgbImage, on_background: bool, rotation_deg: f32, [l, t, r, b]: [u32; 4]| {
        // On a background the box edges wobble by a few pixels (and a
        // levelled card has interpolated edges): hash the card's interior.
        let (iw, ih) = if on_background { ((r - l) * 3 / 100, (b - t) * 3 / 100) } else { (0, 0) };
        let crop = image::imageops::crop_imm(&img, l + iw, t + ih, r - l - 2 * iw, b - t - 2 * ih).to_image();
        CardView { size: (unscaled(r - l), unscaled(b - t)), image: crop, on_background, rotation_deg }
    };
    let (ww, wh) = work.dimensions();
    if ww < 32 || wh < 32 {
        return as_is(work, false, 0.0, [0, 0, ww, wh]);
    }
    let small = image::imageops::resize(&work, 200, (200 * wh / ww).max(8), FilterType::Triangle);
    let Some(bg) = background(&small) else { return as_is(work, false, 0.0, [0, 0, ww, wh]) };
    let first = locate_card(&work);
    if first == [0, 0, ww, wh] {
        return as_is(work, false, 0.0, first);
    }
    let tilt = tilt_deg(&small, bg);
    if tilt.abs() < 1.0 {
        let refined = refine_box(&work, bg, first);
        return as_is(work, true, 0.0, refined);
    }
    let level = rotate(&work, -tilt, bg);
    let located = locate_card(&level);
    let (lw, lh) = level.dimensions();
    if located == [0, 0, lw, lh] {
        return as_is(work, true, 0.0, first);
    }
    let refined = refine_box(&level, bg, located);
    as_is(level, true, -tilt, refined)
}

/// Moves each edge of `coarse` (found on a 200 px thumbnail) to the first
/// full-resolution row / column, within a few thumbnail pixels, where
/// most pixels across the box differ from the background.
fn refine_box(img: &RgbImage, bg: [u8; 3], coarse: [u32; 4]) -> [u32; 4] {
    let (w, h) = img.dimensions();
    let [l, t, r, b] = coarse;
    let slack = (w / 200 + 1) * 3;
    let fg = |x: u32, y: u32| color_distance(&img.get_pixel(x, y).0, &bg) > 40;
    let row_full = |y: u32| (l..r).filter(|&x| fg(x, y)).count() * 2 > (r - l) as usize;
    let col_full = |x: u32| (t..b).filter(|&y| fg(x, y)).count() * 2 > (b - t) as usize;
    let top = (t.saturating_sub(slack)..(t + slack).min(h)).find(|&y| row_full(y)).unwrap_or(t);
    let bottom = (b.saturating_sub(slack)..(b + slack).min(h)).rev().find(|&y| row_full(y)).map_or(b, |y| y + 1);
    let left = (l.saturating_sub(slack)..(l + slack).min(w)).find(|&x| col_full(x)).unwrap_or(l);
    let right = (r.saturating_sub(slack)..(r + slack).min(w)).rev().find(|&x| col_full(x)).map_or(r, |x| x + 1);
    if right > left + 8 && bottom > top + 8 { [left, top, right, bottom] } else { coarse }
}

/// The tilt (degrees, counter-clockwise positive in image coordinates with
/// y down, folded into ±45°) of the foreground's principal axis.
fn tilt_deg(small: &RgbImage, bg: [u8; 3]) -> f32 {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y, p) in small.enumerate_pixels() {
        if color_distance(&p.0, &bg) > 40 {
            let (x, y) = (f64::from(x), f64::from(y));
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
    }
    if n < 50.0 {
        return 0.0;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mu20, mu02, mu11) = (sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my);
    // Nearly round blobs have no principal axis.
    let spread = ((mu20 - mu02).powi(2) + 4.0 * mu11 * mu11).sqrt();
    if spread < 0.05 * (mu20 + mu02) {
        return 0.0;
    }
    let mut deg = (0.5 * (2.0 * mu11).atan2(mu20 - mu02)).to_degrees() as f32;
    while deg > 45.0 {
        deg -= 90.0;
    }
    while deg < -45.0 {
        deg += 90.0;
    }
    deg
}

/// `image` turned by `deg` (image coordinates, y down) about its centre,
/// bilinear, on a canvas that holds it all, filled with `fill`.
fn rotate(image: &RgbImage, deg: f32, fill: [u8; 3]) -> RgbImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (s, c) = deg.to_radians().sin_cos();
    let (nw, nh) = ((w * c.abs() + h * s.abs()).ceil(), (w * s.abs() + h * c.abs()).ceil());
    let (cx, cy, ncx, ncy) = (w / 2.0, h / 2.0, nw / 2.0, nh / 2.0);
    RgbImage::from_fn(nw as u32, nh as u32, |x, y| {
        // Inverse map: the source point that lands on (x, y).
        let (dx, dy) = (x as f32 + 0.5 - ncx, y as f32 + 0.5 - ncy);
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return image::Rgb(fill);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(image.width() - 1), (y0 + 1).min(image.height() - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| image.get_pixel(x, y).0;
        let (a, b, cc, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        image::Rgb(std::array::from_fn(|i| {
            let top = f32::from(a[i]) * (1.0 - fx) + f32::from(b[i]) * fx;
            let bottom = f32::from(cc[i]) * (1.0 - fx) + f32::from(d[i]) * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
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

    /// The same card photographed level and at 12° (and -8°) on a table:
    /// levelled, the hashes agree; hashed without levelling they do not.
    #[test]
    fn a_tilted_photo_of_the_card_hashes_like_the_level_one() {
        // A light card (as most are) on a dark table.
        let mut card = card(8);
        for p in card.pixels_mut() {
            p.0 = p.0.map(|v| 110 + (f32::from(v) * 0.55) as u8);
        }
        let table = [60u8, 50, 45];
        let place = |deg: f32| {
            let turned = rotate(&card, deg, table);
            let mut canvas = RgbImage::from_pixel(1100, 900, Rgb(table));
            let (x, y) = ((1100 - turned.width()) / 2, (900 - turned.height()) / 2);
            image::imageops::overlay(&mut canvas, &turned, i64::from(x), i64::from(y));
            canvas
        };
        let level = card_view(&place(0.0));
        assert!(level.on_background && level.rotation_deg == 0.0, "{} {}", level.on_background, level.rotation_deg);
        let ratio = level.size.0 as f32 / level.size.1 as f32;
        assert!((ratio - 1.6).abs() < 0.08, "{:?}", level.size);
        let reference = perceptual_hash(&level.image);
        for deg in [12.0f32, -8.0] {
            let photo = place(deg);
            let view = card_view(&photo);
            eprintln!("{deg}: levelled by {}", view.rotation_deg);
            assert!((view.rotation_deg + deg).abs() < 1.5, "{deg}: levelled by {}", view.rotation_deg);
            let ratio = view.size.0 as f32 / view.size.1 as f32;
            assert!((ratio - 1.6).abs() < 0.1, "{deg}: {:?}", view.size);
            let d = distance(&reference, &perceptual_hash(&view.image));
            assert!(d <= NEAR_DUPLICATE_DISTANCE, "{deg}: levelled distance {d}");
            let [l, t, r, b] = locate_card(&photo);
            let unlevelled = image::imageops::crop_imm(&photo, l, t, r - l, b - t).to_image();
            assert!(distance(&reference, &perceptual_hash(&unlevelled)) > NEAR_DUPLICATE_DISTANCE, "{deg}: the test needs levelling");
        }
        // A photo cropped to the card is taken as it is.
        let tight = card_view(&card);
        assert!(!tight.on_background && tight.size == card.dimensions());
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
