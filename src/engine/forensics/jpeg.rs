//! JPEG compression history: the encoder quality from the quantisation
//! tables (DQT), and a double-compression score from the periodicity of the
//! DCT coefficient histograms (an image decoded and saved again with other
//! tables shows periodic gaps and peaks on the JPEG grid), calibrated
//! against a shifted grid so that printed graphics are not mistaken for it.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Zigzag position -> natural (row-major) index.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
    54, 47, 55, 62, 63,
];

/// The IJG (libjpeg) luminance table at quality 50, natural order.
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
    87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
];

/// Score above which an image is taken as compressed twice.
pub const DOUBLE_JPEG_THRESHOLD: f64 = 0.33;
/// Images larger than this (pixels) are not decoded for the score.
const MAX_PIXELS: usize = 40_000_000;

/// The first luminance quantisation table (table id 0), natural order.
pub fn luma_table(bytes: &[u8]) -> Option<[u16; 64]> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return None;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        // Start of scan or end of image: no DQT before it.
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let end = (i + 2 + len).min(bytes.len());
        if marker == 0xDB {
            let mut j = i + 4;
            while j < end {
                let (precision, id) = (bytes[j] >> 4, bytes[j] & 0x0F);
                let size = if precision == 0 { 64 } else { 128 };
                if j + 1 + size > end {
                    return None;
                }
                if id == 0 {
                    let mut table = [0u16; 64];
                    for (z, natural) in ZIGZAG.iter().enumerate() {
                        table[*natural] = if precision == 0 {
                            u16::from(bytes[j + 1 + z])
                        } else {
                            u16::from_be_bytes([bytes[j + 1 + 2 * z], bytes[j + 2 + 2 * z]])
                        };
                    }
                    return Some(table);
                }
                j += 1 + size;
            }
        }
        if len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// The IJG quality (1..=100) whose scaled standard table is closest to
/// `table`, with the mean absolute difference (0 = exactly that encoder).
pub fn estimate_quality(table: &[u16; 64]) -> (u8, f64) {
    let mut best = (50u8, f64::MAX);
    for q in 1..=100u32 {
        let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
        let diff: f64 = STD_LUMA
            .iter()
            .zip(table)
            .map(|(s, t)| {
                let expected = ((u32::from(*s) * scale + 50) / 100).clamp(1, 255);
                (f64::from(expected) - f64::from(*t)).abs()
            })
            .sum::<f64>()
            / 64.0;
        if diff < best.1 {
            best = (q as u8, diff);
        }
    }
    best
}

/// 1-D DCT-II basis for 8 samples: `BASIS[u][x]`.
fn basis() -> [[f64; 8]; 8] {
    let mut b = [[0.0; 8]; 8];
    for (u, row) in b.iter_mut().enumerate() {
        let cu = if u == 0 { (0.125f64).sqrt() } else { 0.5 };
        for (x, v) in row.iter_mut().enumerate() {
            *v = cu * (((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI) / 16.0).cos();
        }
    }
    b
}

/// Low frequencies examined (natural indices, zigzag 1..=9).
const FREQUENCIES: [usize; 9] = [1, 8, 16, 9, 2, 3, 10, 17, 24];
/// Histogram bins |k| = 1..=BINS of the quantised coefficients.
const BINS: usize = 16;

/// Per-frequency histogram roughness on the JPEG grid and on a grid shifted
/// by 4 pixels (the calibration of Lukáš & Fridrich: the shifted grid sees
/// the same content without the compression history).
#[derive(Debug, Clone, PartialEq)]
pub struct Periodicity {
    /// (aligned, shifted, weight) per low frequency with enough mass.
    pub frequencies: Vec<(f64, f64, f64)>,
}

/// Frequencies whose histogram is this rough off the grid are dominated by
/// the content (flat print, bar codes, text) and say nothing about the
/// compression history.
const CONTENT_ROUGHNESS: f64 = 0.15;

impl Periodicity {
    /// The double-compression score, 0..1: how much rougher the histograms
    /// are on the grid than off it, over the frequencies whose off-grid
    /// histogram is smooth. `None` when no frequency can be judged.
    pub fn score(&self) -> Option<f64> {
        let (mut total, mut weight) = (0.0, 0.0);
        for &(aligned, shifted, w) in &self.frequencies {
            if shifted <= CONTENT_ROUGHNESS {
                total += (aligned - shifted).max(0.0) * w;
                weight += w;
            }
        }
        // At least a third of the examined frequencies must be judgeable.
        let judged = self.frequencies.iter().filter(|f| f.1 <= CONTENT_ROUGHNESS).count();
        (weight > 0.0 && judged * 3 >= FREQUENCIES.len()).then(|| (total / weight).clamp(0.0, 1.0))
    }
}

/// How much the DCT histograms of the luminance show a second compression,
/// 0..1 (see [`DOUBLE_JPEG_THRESHOLD`]). A single compression leaves
/// histograms whose roughness comes from the content and is the same on a
/// grid shifted by 4 pixels; a second compression with other tables adds
/// periodic gaps and peaks on the JPEG grid only. Frequencies where the
/// content itself is rough (printed graphics, bar codes, flat areas) are
/// left out. `None` when the file is no decodable JPEG or too little of it
/// can be judged (e.g. a barcode side drawn on a flat background).
pub fn double_compression_score(bytes: &[u8]) -> Option<f64> {
    periodicity(bytes).and_then(|p| p.score())
}

/// The roughness on and off the JPEG grid; see [`double_compression_score`].
pub fn periodicity(bytes: &[u8]) -> Option<Periodicity> {
    let table = luma_table(bytes)?;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(16_384)
        .set_max_height(16_384);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().ok()?;
    let (w, h) = decoder.dimensions()?;
    if w * h > MAX_PIXELS || w < 64 || h < 64 {
        return None;
    }
    let luma = decoder.decode().ok()?;
    if luma.len() < w * h {
        return None;
    }
    let aligned = histograms(&luma, w, h, 0, &table);
    let shifted = histograms(&luma, w, h, 4, &table);
    let frequencies = aligned
        .iter()
        .zip(&shifted)
        .filter_map(|(a, s)| {
            let (ra, ma) = roughness(a)?;
            let (rs, ms) = roughness(s)?;
            Some((ra, rs, ma.min(ms).sqrt()))
        })
        .collect();
    Some(Periodicity { frequencies })
}

/// Histograms of |k| = 1..=BINS of the low-frequency coefficients of the
/// 8x8 blocks starting at (`offset`, `offset`), quantised with `table`.
fn histograms(luma: &[u8], w: usize, h: usize, offset: usize, table: &[u16; 64]) -> Vec<[u32; BINS + 1]> {
    let b = basis();
    let mut hist = vec![[0u32; BINS + 1]; FREQUENCIES.len()];
    let mut block = [[0.0f64; 8]; 8];
    let mut tmp = [[0.0f64; 8]; 8];
    for by in 0..(h - offset) / 8 {
        for bx in 0..(w - offset) / 8 {
            for (y, row) in block.iter_mut().enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = f64::from(luma[(offset + by * 8 + y) * w + offset + bx * 8 + x]) - 128.0;
                }
            }
            // Rows then columns.
            for y in 0..8 {
                for u in 0..8 {
                    tmp[y][u] = (0..8).map(|x| b[u][x] * block[y][x]).sum();
                }
            }
            for (f, natural) in FREQUENCIES.iter().enumerate() {
                let (v, u) = (natural / 8, natural % 8);
                let coef: f64 = (0..8).map(|y| b[v][y] * tmp[y][u]).sum();
                let k = (coef / f64::from(table[*natural].max(1))).round().abs() as usize;
                if (1..=BINS).contains(&k) {
                    hist[f][k] += 1;
                }
            }
        }
    }
    hist
}

/// How far each bin is from the mean of its neighbours, relative to the
/// bins' mass, 0..1, with the mass. A smooth (Laplacian) histogram scores
/// low; gaps and peaks score high. `None` below 200 coefficients.
fn roughness(h: &[u32; BINS + 1]) -> Option<(f64, f64)> {
    let mass: f64 = h[1..BINS].iter().map(|v| f64::from(*v)).sum();
    if mass < 200.0 {
        return None;
    }
    let rough: f64 =
        (2..BINS).map(|k| (f64::from(h[k]) - (f64::from(h[k - 1]) + f64::from(h[k + 1])) / 2.0).abs()).sum();
    Some(((rough / mass).clamp(0.0, 1.0), mass))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::{Rgb, RgbImage};

    /// A textured photo-like image: gradients plus deterministic noise.
    pub fn textured(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        RgbImage::from_fn(w, h, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 41) as i32 - 20;
            let base = ((x as f32 / 17.0).sin() * 50.0 + (y as f32 / 23.0).cos() * 40.0 + 128.0) as i32;
            let v = |o: i32| (base + o + noise).clamp(0, 255) as u8;
            Rgb([v(10), v(0), v(-15)])
        })
    }

    pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).unwrap();
        out
    }

    pub fn resave(bytes: &[u8], quality: u8) -> Vec<u8> {
        let img = image::load_from_memory(bytes).unwrap().to_rgb8();
        jpeg(&img, quality)
    }

    #[test]
    fn quality_is_recovered_from_the_tables() {
        let img = textured(64, 64, 1);
        for q in [30u8, 60, 75, 90, 95] {
            let table = luma_table(&jpeg(&img, q)).expect("DQT");
            let (found, diff) = estimate_quality(&table);
            assert_eq!(found, q, "diff {diff}");
            assert!(diff < 0.5);
        }
        assert_eq!(luma_table(b"\x89PNG\r\n"), None);
        assert_eq!(luma_table(&[0xFF, 0xD8, 0xFF]), None);
    }

    #[test]
    fn a_resaved_jpeg_scores_above_the_threshold_and_a_single_save_below() {
        let img = textured(640, 480, 7);
        let single = double_compression_score(&jpeg(&img, 90)).unwrap();
        let double = double_compression_score(&resave(&jpeg(&img, 60), 90)).unwrap();
        let double_75 = double_compression_score(&resave(&jpeg(&img, 75), 90)).unwrap();
        eprintln!("single {single:.3} q60->q90 {double:.3} q75->q90 {double_75:.3}");
        assert!(single < DOUBLE_JPEG_THRESHOLD, "single {single}");
        assert!(double > DOUBLE_JPEG_THRESHOLD, "double {double}");
        assert!(double_75 > DOUBLE_JPEG_THRESHOLD, "q75->q90 {double_75}");
        assert_eq!(double_compression_score(b"not a jpeg"), None);
    }

    /// Flat print with sharp bars (a barcode side): the histograms are rough
    /// on any grid, which is the content, not a second save.
    #[test]
    fn printed_graphics_saved_once_are_not_taken_for_a_second_save() {
        let mut state = 12345u32;
        let mut widths = Vec::new();
        while widths.iter().sum::<u32>() < 900 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            widths.push(3 + state % 9);
        }
        let img = RgbImage::from_fn(1000, 630, |x, y| {
            if (150..560).contains(&y) && (50..950).contains(&x) {
                let mut edge = 50;
                for (i, w) in widths.iter().enumerate() {
                    edge += w;
                    if x < edge {
                        return if i % 2 == 0 { Rgb([15, 15, 20]) } else { Rgb([250, 250, 250]) };
                    }
                }
            }
            let g = (x as f32 / 100.0 - y as f32 / 63.0) as u8;
            Rgb([232 + g, 236 + g, 240])
        });
        for q in [75, 90, 95] {
            let score = double_compression_score(&jpeg(&img, q));
            assert!(score.is_none_or(|s| s < DOUBLE_JPEG_THRESHOLD), "q{q}: {score:?}");
        }
    }
}
