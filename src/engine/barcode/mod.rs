//! PDF417 reading from photos of the back of a card.
//!
//! ZXing-derived decoders (rxing included) read a straight, sharp barcode
//! well but fail on in-plane rotation of 5 degrees or more, on blur, on
//! noise at low contrast and on very small modules. [`decode_pdf417`] runs a
//! cascade of cheap image repairs and tries the decoder after each one,
//! stopping at the first success or when the time budget is spent:
//!
//! 1. downscale to at most 2000 px, plain decode;
//! 2. find the barcode ([`locate`]: the largest patch of coherent parallel
//!    edges, its angle refined by the sharpest projection), cut it out
//!    upright, enlarged so a module is ~3.5 px (from the count of bar/space
//!    edges per row), decode — with the hybrid and the global binariser;
//!    then our scan-line reader ([`rows`]) on that cut-out, or on one of
//!    the next three patches' when only that one shows clear end patterns
//!    (a defocused card's text block can outscore its symbol);
//! 3. on that cut-out: an unsharp mask, a denoise + sharpen, a strong
//!    unsharp mask at >= 1.5x (heavy blur), smoothing along the bars only
//!    (heavy noise: about one module, so rows stay apart) with each
//!    binariser, and a stronger unsharp mask, decode after each;
//! 4. when nothing was located or read, the whole image: deskew by the
//!    dominant edge angle, global binariser, denoise, sharpen, 2x upscale, a
//!    quarter turn.
//!
//! rxing's PDF417 reader ignores the TRY_HARDER and PURE_BARCODE hints (its
//! detector always scans the four orientations), so repairs of the image
//! are what helps. The time budget counts the decoding thread's CPU time
//! (where the platform reports it; wall-clock time otherwise), so a busy
//! machine does not cut the cascade short; a wall-clock cap of
//! [`WALL_FACTOR`] times the budget still bounds the latency. It makes
//! results depend on machine speed: tests that count decodes give a budget
//! large enough to never bind.

pub mod aamva;
pub mod locate;
pub mod restore;
pub mod rows;
mod rowmatch;
pub mod rs929;

use image::{DynamicImage, GrayImage, Luma, imageops};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::pdf417::PDF417Reader;
use rxing::{BinaryBitmap, DecodeHints, Luma8LuminanceSource, Reader};
use std::time::{Duration, Instant};

/// Images larger than this (long side, px) are downscaled before decoding.
pub const MAX_DECODE_SIDE: u32 = 2000;
/// Default total time budget of the cascade (CPU time of the decoding thread).
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(1500);
/// Patches after the best one whose cut-outs are looked at when the best
/// one shows no end patterns.
const NEXT_PATCHES: usize = 3;
/// The cascade also stops after this many times its budget of wall-clock time.
pub const WALL_FACTOR: u32 = 3;

/// The time the cascade has spent: the calling thread's CPU time where
/// Linux reports it (`/proc/thread-self/schedstat`), else wall-clock time.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Clock {
    fn thread_cpu() -> Option<Duration> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        stat.split_whitespace().next()?.parse::<u64>().ok().map(Duration::from_nanos)
    }

    fn start() -> Self {
        Clock { wall: Instant::now(), cpu: Self::thread_cpu() }
    }

    /// True once the CPU time (or, without it, the wall-clock time) exceeds
    /// `budget`, or the wall-clock time exceeds [`WALL_FACTOR`] x `budget`.
    fn spent(&self, budget: Duration) -> bool {
        let wall = self.wall.elapsed();
        if wall > budget.saturating_mul(WALL_FACTOR) {
            return true;
        }
        match (self.cpu, Self::thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a) > budget,
            _ => wall > budget,
        }
    }
}

/// A decoded barcode and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct BarcodeRead {
    /// The payload text as decoded.
    pub text: String,
    /// The cascade stage that read it (`plain`, `deskew`, ...).
    pub stage: &'static str,
    /// The deskew angle applied (degrees), when a deskew stage read it.
    pub angle: Option<f32>,
    pub elapsed: Duration,
}

/// What the cascade tried when it read nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct BarcodeMiss {
    pub stages_tried: Vec<&'static str>,
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// One decoder call on a grayscale image.
pub fn decode_plain(img: &GrayImage) -> Option<String> {
    decode_with(img, false)
}

fn decode_with(img: &GrayImage, global: bool) -> Option<String> {
    let (w, h) = img.dimensions();
    if w < 20 || h < 20 {
        return None;
    }
    let source = Luma8LuminanceSource::new(img.as_raw().clone(), w, h).ok()?;
    let hints = DecodeHints { TryHarder: Some(true), ..Default::default() };
    let mut reader = PDF417Reader::new();
    let result = if global {
        reader.decode_with_hints(&mut BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), &hints)
    } else {
        reader.decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints)
    };
    result.ok().map(|r| r.getText().to_string()).filter(|t| !t.is_empty())
}

/// Runs the cascade on a decoded image within `budget`.
pub fn decode_pdf417(img: &DynamicImage, budget: Duration) -> Result<BarcodeRead, BarcodeMiss> {
    let start = Instant::now();
    let clock = Clock::start();
    let mut tried: Vec<&'static str> = Vec::new();
    let gray = downscale(img.to_luma8(), MAX_DECODE_SIDE);
    let found = |text: String, stage: &'static str, angle: Option<f32>| BarcodeRead { text, stage, angle, elapsed: start.elapsed() };
    macro_rules! attempt {
        ($stage:literal, $img:expr, $global:expr, $angle:expr) => {{
            if clock.spent(budget) {
                return Err(BarcodeMiss { stages_tried: tried, timed_out: true, elapsed: start.elapsed() });
            }
            tried.push($stage);
            if let Some(text) = decode_with(&$img, $global) {
                return Ok(found(text, $stage, $angle));
            }
        }};
    }
    macro_rules! attempt_rows {
        ($stage:literal, $plane:expr, $source:expr, $module:expr, $blur:expr, $angle:expr) => {{
            if clock.spent(budget) {
                return Err(BarcodeMiss { stages_tried: tried, timed_out: true, elapsed: start.elapsed() });
            }
            tried.push($stage);
            if let Some(text) = rows::read($plane, $source, $module, $blur) {
                return Ok(found(text, $stage, $angle));
            }
        }};
    }
    attempt!("plain", gray, false, None);
    // The barcode region, cut out upright and enlarged to >= ~3.5 px per module.
    let regions = locate::locate_all(&gray, NEXT_PATCHES + 1);
    if let Some(first) = regions.first() {
        let first = Cut::tight(&gray, first);
        let angle = Some(first.region.angle_deg);
        attempt!("region", first.crop, false, angle);
        attempt!("region_global", first.crop, true, angle);
        let (Cut { region, crop, module, scale, module_px }, wide, _) = choose_cut(&gray, &regions, first);
        let angle = Some(region.angle_deg);
        // Our scan-line reader (codeword votes, erasures).
        let plane = locate::Plane::from_gray(&crop);
        attempt_rows!("region_rows", &wide, &wide, module_px, Some(0.9 * scale), angle);
        // Small modules: a bicubic cut-out at ~4 px per module, then lightly
        // deconvolved. The module is measured on the end patterns (counting
        // edges overestimates modules the photo no longer resolves); a long
        // symbol cannot have modules that small.
        let measured = rows::measure_module(&wide, module_px).map(|u| u / scale);
        // Module and blur from the end patterns matched against blurred
        // templates (thresholding loses them under about a module of blur).
        let estimate = rows::estimate_blur(&wide, measured.map_or(module_px, |m| m * scale));
        // A short symbol whose ends were not found may still have small
        // modules; once the ends give a module of 2.4 px or more, the
        // bicubic path is skipped (on a large defocused symbol it cost about
        // a second of the budget before the Wiener restore that reads it).
        let ends = measured.or(estimate.map(|(unit, _)| unit / scale));
        let small = match [measured, estimate.map(|(unit, _)| unit / scale), module].into_iter().flatten().find(|m| *m < 2.4) {
            Some(m) => Some(m),
            None if ends.is_none() && region.length / 1.3 <= 600.0 => Some(1.3),
            None => None,
        };
        if let Some(src_module) = small {
            let src_module = src_module.max(0.8);
            let up = (4.0 / src_module).clamp(1.5, 5.0);
            let cubic = restore::cut_out_cubic(&gray, &region, 0.12, up);
            attempt_rows!("region_cubic_rows", &cubic, &cubic, src_module * up, Some(0.9 * up), angle);
            for sigma in [0.8f32, 1.2] {
                let sharp = restore::deconvolve_x(&cubic, sigma * up, 2e-3);
                attempt_rows!("region_cubic_wiener_rows", &sharp, &cubic, src_module * up, Some(sigma * up), angle);
            }
        }
        // Defocus: Wiener deconvolution across the bars for a few blur guesses
        // (sigma in source px), read by our reader (with template matching).
        // The blur is measured on the end patterns (blurred templates) when
        // they match; the guesses follow.
        let wide_module = estimate.map_or(measured.map_or(module_px, |m| m * scale), |(unit, _)| unit);
        let mut sigmas: Vec<f32> = estimate.map(|(_, blur)| blur).into_iter().collect();
        for guess in [1.6f32, 2.6, 3.6] {
            if sigmas.iter().all(|s| (s - guess * scale).abs() > 0.4 * scale) {
                sigmas.push(guess * scale);
            }
        }
        for sigma in &sigmas {
            let sharp = restore::deconvolve_x(&wide, *sigma, 2e-3);
            attempt_rows!("region_wiener_rows", &sharp, &wide, wide_module, Some(*sigma), angle);
        }
        // Motion blur across the bars: a box, whose Gaussian of the same
        // spread (L / sqrt 12) the end patterns measured.
        if let Some(length) = estimate.map(|(_, blur)| blur * 12f32.sqrt()).filter(|l| *l >= 2.0 * wide_module) {
            let sharp = restore::convolve_x(&wide, &restore::motion_wiener_kernel(length, 1e-2));
            attempt_rows!("region_motion_rows", &sharp, &wide, wide_module, None, angle);
        }
        // Blur is measured in source pixels: the sharpening radii follow the scale.
        let sharp = locate::unsharp(&plane, scale, 2.0);
        attempt!("region_sharpen", sharp, false, angle);
        let smooth = locate::gaussian(&plane, 0.7 * scale);
        let denoised = locate::unsharp(&smooth, 1.5 * scale, 2.0);
        attempt!("region_denoise", denoised, false, angle);
        // Heavy blur: at least 1.5x, a strong unsharp mask (a cheap deconvolution).
        let (plane, deblur_scale) = if scale < 1.5 {
            (locate::Plane::from_gray(&locate::cut_out(&gray, &region, 0.04, 1.5)), 1.5)
        } else {
            (plane, scale)
        };
        let deblur = locate::unsharp(&plane, 1.5 * deblur_scale, 5.0);
        attempt!("region_deblur", deblur, false, angle);
        // Heavy noise: average along the bars (about one module), across rows' worth of pixels.
        let along = locate::smooth_along_bars(&locate::Plane::from_gray(&crop), module_px);
        let along_sharp = locate::unsharp(&along, scale, 1.5);
        attempt!("region_along_bars", along_sharp, false, angle);
        attempt!("region_along_bars_global", along.to_gray(), true, angle);
        let deblur = locate::unsharp(&plane, 2.2 * deblur_scale, 8.0);
        attempt!("region_deblur_strong", deblur, false, angle);
    }
    let angle = estimate_skew(&gray);
    let straight = if angle.abs() >= 0.5 { rotate_about_center(&gray, -angle) } else { gray.clone() };
    if angle.abs() >= 0.5 {
        attempt!("deskew", straight, false, Some(angle));
    }
    attempt!("global_binarizer", straight, true, Some(angle));
    let denoised = imageops::blur(&straight, 1.2);
    attempt!("denoise", denoised, false, Some(angle));
    let sharpened = imageops::unsharpen(&straight, 1.5, 4);
    attempt!("sharpen", sharpened, false, Some(angle));
    let sharpened_denoised = imageops::unsharpen(&denoised, 2.0, 2);
    attempt!("denoise_sharpen", sharpened_denoised, false, Some(angle));
    if straight.width().max(straight.height()) <= MAX_DECODE_SIDE {
        let (w, h) = straight.dimensions();
        let up = imageops::resize(&straight, w * 2, h * 2, imageops::FilterType::CatmullRom);
        attempt!("upscale", up, false, Some(angle));
    }
    let quarter = imageops::rotate90(&straight);
    attempt!("quarter_turn", quarter, false, Some(angle));
    Err(BarcodeMiss { stages_tried: tried, timed_out: false, elapsed: start.elapsed() })
}

/// A located region cut out tight and upright (bars vertical), enlarged to
/// a module of ~3.5 px.
struct Cut {
    region: locate::Region,
    /// The cut-out.
    crop: GrayImage,
    /// The module counted on the cut-out at 1x (source px).
    module: Option<f32>,
    /// The enlargement.
    scale: f32,
    /// The module at that scale.
    module_px: f32,
}

impl Cut {
    fn tight(gray: &GrayImage, region: &locate::Region) -> Cut {
        let crop = locate::cut_out(gray, region, 0.04, 1.0);
        let module = locate::module_width(&crop);
        let scale = module.map_or(1.5, |m| (3.5 / m).clamp(1.0, 3.0));
        let crop = if scale > 1.05 { locate::cut_out(gray, region, 0.04, scale) } else { crop };
        Cut { region: *region, crop, module, scale, module_px: module.map_or(3.5, |m| m * scale).clamp(1.0, 8.0) }
    }

    /// The region with room around it (the located patch can miss an end
    /// pattern), at the same scale.
    fn wide(&self, gray: &GrayImage) -> locate::Plane {
        locate::Plane::from_gray(&locate::cut_out(gray, &self.region, 0.12, self.scale))
    }
}

/// How clearly a cut-out shows end patterns (0–1).
fn end_evidence(wide: &locate::Plane, module_px: f32) -> f32 {
    rows::end_evidence(wide, module_px).map_or(0.0, |e| e.2)
}

/// The cut-out the scan-line reader works on: the best patch's, or a next
/// patch's when only that one shows clear end patterns. Under heavy
/// defocus a card's block of text lines can outscore the symbol in the
/// locator: when the first cut-out shows no clear end patterns and its
/// edges are far apart (text lines counted as modules; a small symbol's
/// modules count small and it keeps its time for the small-module path),
/// the next patches are cut out in turn (until one shows them clearly)
/// and the clearest is taken if it shows them clearly better. Also gives
/// the end evidence of the first cut-out and of the clearest next one
/// (when any was looked at), for the diagnosis.
fn choose_cut(gray: &GrayImage, regions: &[locate::Region], first: Cut) -> (Cut, locate::Plane, (f32, Option<f32>)) {
    let wide = first.wide(gray);
    if regions.len() < 2 || first.module.is_some_and(|m| m < 4.0) {
        return (first, wide, (f32::NAN, None));
    }
    let first_evidence = end_evidence(&wide, first.module_px);
    if first_evidence >= 0.7 {
        return (first, wide, (first_evidence, None));
    }
    let mut best: Option<(Cut, locate::Plane, f32)> = None;
    // A symbol is wider than a third of its height (one column of 86
    // modules, at most 90 rows of about 3): a narrower patch is an edge.
    for next in regions[1..].iter().filter(|r| r.length >= 0.3 * r.height) {
        let next = Cut::tight(gray, next);
        let next_wide = next.wide(gray);
        let e = end_evidence(&next_wide, next.module_px);
        if best.as_ref().is_none_or(|b| e > b.2) {
            best = Some((next, next_wide, e));
        }
        if e >= 0.85 {
            break;
        }
    }
    match best {
        Some((next, next_wide, e)) if e >= 0.7 && e > first_evidence + 0.15 => (next, next_wide, (first_evidence, Some(e))),
        best => (first, wide, (first_evidence, best.map(|b| b.2))),
    }
}

/// [`diagnose`] knowing the symbol's true data codewords (row by row):
/// the row matching then says how many of its matches are right.
#[doc(hidden)]
pub fn diagnose_with_truth(img: &DynamicImage, truth: &[u32]) -> String {
    rowmatch::TRUTH.with(|t| *t.borrow_mut() = truth.to_vec());
    let out = format!("truth {} codewords; {}", truth.len(), diagnose(img));
    rowmatch::TRUTH.with(|t| t.borrow_mut().clear());
    out
}

/// Where the cascade's own reader stops on `img`: the located region, the
/// module estimate and the reader's trace on the cut-out (for the bench's
/// listing of misses).
pub fn diagnose(img: &DynamicImage) -> String {
    let gray = downscale(img.to_luma8(), MAX_DECODE_SIDE);
    let regions = locate::locate_all(&gray, NEXT_PATCHES + 1);
    let Some(first) = regions.first() else { return "not located".into() };
    let first_region = *first;
    let (Cut { region, module, scale, module_px, .. }, plane, (first_evidence, next_evidence)) = choose_cut(&gray, &regions, Cut::tight(&gray, first));
    let chosen = if region.center == first_region.center { "first" } else { "next" };
    let mut out = format!(
        "{} region(s), end evidence {first_evidence:.2} / next {next_evidence:.2?}, {chosen} taken; ",
        regions.len()
    );
    let measured = rows::measure_module(&plane, module_px);
    let estimate = rows::estimate_blur(&plane, measured.unwrap_or(module_px));
    out.push_str(&format!(
        "region {:.0}x{:.0} at {:.1} deg, module {:?} measured {:?} scale {scale:.2} ends (unit, blur) {:?}",
        region.length, region.height, region.angle_deg, module, measured, estimate
    ));
    // As the cascade reads the cut-out: as it is (the lens's blur), then
    // deconvolved for the measured blur, with the module the ends gave.
    let wide_module = estimate.map_or(measured.unwrap_or(module_px), |(unit, _)| unit);
    for sigma in [0.0f32, estimate.map_or(2.6, |(_, b)| b / scale)] {
        let mut trace = Vec::new();
        let ok = if sigma > 0.0 {
            let input = restore::deconvolve_x(&plane, sigma * scale, 2e-3);
            rows::read_traced(&input, &plane, wide_module, Some(sigma * scale), &mut trace).is_some()
        } else {
            rows::read_traced(&plane, &plane, module_px, Some(0.9 * scale), &mut trace).is_some()
        };
        out.push_str(&format!(" | rows sigma {sigma}: {} {}", if ok { "read" } else { "miss" }, trace.join(", ")));
    }
    if let Some(m) = measured.map(|u| u / scale).filter(|m| *m < 2.4) {
        let up = (4.0 / m.max(0.8)).clamp(1.5, 5.0);
        let cubic = restore::cut_out_cubic(&gray, &region, 0.12, up);
        for sigma in [0.0f32, 0.8] {
            let mut trace = Vec::new();
            let input = if sigma > 0.0 { restore::deconvolve_x(&cubic, sigma * up, 2e-3) } else { locate::Plane { w: cubic.w, h: cubic.h, data: cubic.data.clone() } };
            let ok = rows::read_traced(&input, &cubic, m * up, Some(0.9f32.max(sigma) * up), &mut trace).is_some();
            out.push_str(&format!(" | cubic x{up:.1} sigma {sigma}: {} {}", if ok { "read" } else { "miss" }, trace.join(", ")));
        }
    }
    out
}

/// Downscales so the long side is at most `max` px.
pub fn downscale(img: GrayImage, max: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= max {
        return img;
    }
    let scale = max as f32 / long as f32;
    let (nw, nh) = (((w as f32 * scale) as u32).max(1), ((h as f32 * scale) as u32).max(1));
    imageops::resize(&img, nw, nh, imageops::FilterType::Triangle)
}

/// The dominant in-plane rotation (degrees, -45..45) from a magnitude-
/// weighted histogram of gradient angles folded modulo 90 degrees. Barcode
/// bars and card edges dominate. The sign follows [`rotate_about_center`]:
/// `rotate_about_center(img, -estimate_skew(img))` straightens `img`.
pub fn estimate_skew(img: &GrayImage) -> f32 {
    let small = downscale(img.clone(), 1000);
    let (w, h) = small.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    // Same sign as [`rotate_about_center`]: rotating by the negated estimate straightens.
    -locate::dominant_angle(&small, [0, 0, w as usize, h as usize])
}

/// Rotates by `degrees` (counter-clockwise on screen for positive values)
/// about the centre, bilinear, into a canvas large enough to keep the
/// corners; the uncovered area is white.
pub fn rotate_about_center(img: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    let t = degrees.to_radians();
    let (s, c) = t.sin_cos();
    let nw = ((w as f32 * c.abs()) + (h as f32 * s.abs())).ceil() as u32;
    let nh = ((w as f32 * s.abs()) + (h as f32 * c.abs())).ceil() as u32;
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (ncx, ncy) = (nw as f32 / 2.0, nh as f32 / 2.0);
    let mut out = GrayImage::from_pixel(nw.max(1), nh.max(1), Luma([255]));
    for y in 0..nh {
        for x in 0..nw {
            let (dx, dy) = (x as f32 - ncx, y as f32 - ncy);
            // Inverse rotation: where this output pixel comes from.
            let sx = c * dx - s * dy + cx;
            let sy = s * dx + c * dy + cy;
            if let Some(v) = bilinear(img, sx, sy) {
                out.put_pixel(x, y, Luma([v]));
            }
        }
    }
    out
}

/// Bilinear sample; `None` outside the image.
pub fn bilinear(img: &GrayImage, x: f32, y: f32) -> Option<u8> {
    let (w, h) = img.dimensions();
    if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
        return None;
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x: u32, y: u32| img.get_pixel(x, y).0[0] as f32;
    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
    let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
    Some((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_of_a_rotated_grid_is_found() {
        let mut img = GrayImage::from_pixel(400, 300, Luma([255]));
        for y in 0..300 {
            for x in 0..400 {
                if (x / 6) % 2 == 0 && (100..200).contains(&y) && (50..350).contains(&x) {
                    img.put_pixel(x, y, Luma([0]));
                }
            }
        }
        assert!(estimate_skew(&img).abs() < 0.6);
        let rotated = rotate_about_center(&img, 8.0);
        let est = estimate_skew(&rotated);
        assert!((est.abs() - 8.0).abs() < 1.0, "estimated {est}");
        let back = rotate_about_center(&rotated, -est);
        assert!(estimate_skew(&back).abs() < 1.0);
    }

    #[test]
    fn the_next_patch_showing_end_patterns_is_cut_out_when_the_best_shows_none() {
        use rxing::pdf417::PDF417Writer;
        use rxing::{BarcodeFormat, EncodeHints, Writer};
        let hints = EncodeHints { Margin: Some("0".into()), ..Default::default() };
        let m = PDF417Writer.encode_with_hints("ANSI 636014100102DL DAQD1234567 DCSDOE DACJANE", &BarcodeFormat::PDF_417, 10000, 1, &hints).unwrap();
        let (px, x0, y0) = (3u32, 60u32, 420u32);
        let (sw, sh) = (m.getWidth() * px, m.getHeight() * px);
        // A card: a block of text lines above the symbol (as on a licence
        // back: lines of about 6 modules, 5 apart, words of 10-45), then
        // defocused by a module.
        let mut img = GrayImage::from_pixel(1000, 1000, Luma([222]));
        for (line, y) in (40..380).step_by(34).enumerate() {
            let mut x = 50 + (line as u32 * 37) % 40;
            while x < 940 {
                let len = 30 + (x * 7 + line as u32 * 13) % 100;
                for yy in y..y + 18 {
                    for xx in x..(x + len).min(940) {
                        if (xx / 3 + yy / 2) % 3 != 0 {
                            img.put_pixel(xx, yy, Luma([90]));
                        }
                    }
                }
                x += len + 15 + (x * 3 + line as u32) % 15;
            }
        }
        for y in 0..sh {
            for x in 0..sw {
                if m.get(x / px, y / px) {
                    img.put_pixel(x0 + x, y0 + y, Luma([25]));
                }
            }
        }
        let gray = imageops::blur(&img, 3.0);
        // The best patch shows no end patterns (here: blank card below the symbol).
        let best = locate::Region { center: (500.0, 900.0), angle_deg: 0.0, length: 400.0, height: 120.0 };
        // A patch too narrow for a symbol (a card edge) comes between them.
        let edge = locate::Region { center: (x0 as f32 + 4.0, (y0 + sh / 2) as f32), angle_deg: 0.0, length: 30.0, height: sh as f32 };
        let symbol = locate::Region { center: ((x0 + sw / 2) as f32, (y0 + sh / 2) as f32), angle_deg: 0.0, length: sw as f32, height: sh as f32 };
        let (cut, _, (first, next)) = choose_cut(&gray, &[best, edge, symbol], Cut::tight(&gray, &best));
        assert_eq!(cut.region, symbol, "end evidence {first} then {next:?}");
        assert!(first < 0.7 && next.is_some_and(|e| e >= 0.7), "end evidence {first} then {next:?}");
        // Nothing better to take: the best patch stays.
        let (cut, _, _) = choose_cut(&gray, &[best, edge], Cut::tight(&gray, &best));
        assert_eq!(cut.region, best);
    }

    #[test]
    fn a_noisy_dull_symbol_is_read() {
        use rxing::pdf417::PDF417Writer;
        use rxing::{BarcodeFormat, EncodeHints, Writer};
        let text = "ANSI 636014100102DL DAQD7654321 DCSGARCIA-LOPEZ DACMARIA DBB08311988 DAG1234 SUNSET BLVD";
        let hints = EncodeHints { Margin: Some("0".into()), ..Default::default() };
        let m = PDF417Writer.encode_with_hints(text, &BarcodeFormat::PDF_417, 10000, 1, &hints).unwrap();
        // 3 px per module, +-28 around mid-gray, Gaussian-ish noise of sigma ~30.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut noise = || {
            let mut acc = 0.0f32;
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                acc += (state >> 40) as f32 / (1u64 << 24) as f32;
            }
            (acc - 6.0) * 30.0
        };
        let (w, h) = (m.getWidth() * 3 + 80, m.getHeight() * 3 + 80);
        let img = GrayImage::from_fn(w, h, |x, y| {
            let (mx, my) = (x.wrapping_sub(40) / 3, y.wrapping_sub(40) / 3);
            let dark = x >= 40 && y >= 40 && mx < m.getWidth() && my < m.getHeight() && m.get(mx, my);
            let v = 128.0 + if dark { -28.0 } else { 28.0 } + noise();
            Luma([v.round().clamp(0.0, 255.0) as u8])
        });
        let read = decode_pdf417(&DynamicImage::ImageLuma8(img), Duration::from_secs(3600)).expect("the cascade reads it");
        assert_eq!(read.text, text);
    }

    #[test]
    fn tiny_and_blank_images_decode_nothing() {
        let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(50, 40, Luma([200])));
        assert!(decode_pdf417(&blank, Duration::from_millis(500)).is_err());
        let tiny = DynamicImage::ImageLuma8(GrayImage::from_pixel(1, 1, Luma([0])));
        assert!(decode_pdf417(&tiny, Duration::from_millis(500)).is_err());
    }
}
