//! Text drawing for synthetic document fixtures: the shipped DejaVu Sans
//! Bold font (tests/fixtures/fonts, Bitstream Vera licence) rasterised
//! with `ab_glyph`. Also compiled into the library's unit tests
//! (`#[path]`), so both draw with the same code.
#![allow(dead_code)]

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{GrayImage, Luma, Rgb, RgbImage};

static FONT_BYTES: &[u8] = include_bytes!("../../fixtures/fonts/DejaVuSans-Bold.ttf");

/// The fixture font (DejaVu Sans Bold 2.37).
pub fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT_BYTES).expect("shipped font parses")
}

/// Width in pixels of `text` at `size` px.
pub fn text_width(size: f32, text: &str) -> f32 {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    width
}

/// Calls `plot(x, y, coverage)` for every covered pixel of `text` laid out
/// with its top-left corner at (`x`, `y`).
fn raster(size: f32, text: &str, x: f32, y: f32, mut plot: impl FnMut(i64, i64, f32)) {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(size));
    let mut caret = x;
    let baseline = y + scaled.ascent();
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(caret, baseline));
        caret += scaled.h_advance(id);
        prev = Some(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                plot(bounds.min.x as i64 + i64::from(gx), bounds.min.y as i64 + i64::from(gy), coverage);
            });
        }
    }
}

/// Draws `text` in `color` with its top-left corner at (`x`, `y`), blended
/// with `opacity` (1.0 = opaque).
pub fn draw_text_blended(img: &mut RgbImage, x: f32, y: f32, size: f32, color: Rgb<u8>, opacity: f32, text: &str) {
    let (w, h) = img.dimensions();
    raster(size, text, x, y, |px, py, coverage| {
        if px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
            return;
        }
        let a = (coverage * opacity).clamp(0.0, 1.0);
        let dst = img.get_pixel_mut(px as u32, py as u32);
        for i in 0..3 {
            dst.0[i] = (f32::from(dst.0[i]) * (1.0 - a) + f32::from(color.0[i]) * a).round() as u8;
        }
    });
}

/// Draws opaque `text` with its top-left corner at (`x`, `y`).
pub fn draw_text(img: &mut RgbImage, x: f32, y: f32, size: f32, color: Rgb<u8>, text: &str) {
    draw_text_blended(img, x, y, size, color, 1.0, text);
}

/// A coverage mask (255 = ink) of `text` with a small margin, for callers
/// that rotate text before compositing it (diagonal watermarks).
pub fn text_mask(size: f32, text: &str) -> GrayImage {
    let margin = (size * 0.25).ceil();
    let w = (text_width(size, text) + 2.0 * margin).ceil().max(1.0) as u32;
    let h = (size * 1.3 + 2.0 * margin).ceil() as u32;
    let mut mask = GrayImage::new(w, h);
    raster(size, text, margin, margin, |px, py, coverage| {
        if px >= 0 && py >= 0 && px < i64::from(w) && py < i64::from(h) {
            let v = (coverage.clamp(0.0, 1.0) * 255.0).round() as u8;
            let dst = mask.get_pixel_mut(px as u32, py as u32);
            dst.0[0] = dst.0[0].max(v);
        }
    });
    mask
}

/// `mask` rotated by `degrees` (counter-clockwise) about its centre, on a
/// canvas large enough to hold it.
pub fn rotate_mask(mask: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = (mask.width() as f32, mask.height() as f32);
    let (s, c) = degrees.to_radians().sin_cos();
    let nw = (w * c.abs() + h * s.abs()).ceil() as u32;
    let nh = (w * s.abs() + h * c.abs()).ceil() as u32;
    let (cx, cy, ncx, ncy) = (w / 2.0, h / 2.0, nw as f32 / 2.0, nh as f32 / 2.0);
    GrayImage::from_fn(nw, nh, |x, y| {
        let (dx, dy) = (x as f32 - ncx, y as f32 - ncy);
        // Inverse rotation (image y grows downwards).
        let sx = c * dx - s * dy + cx;
        let sy = s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
            return Luma([0]);
        }
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let p = |xx: f32, yy: f32| f32::from(mask.get_pixel(xx as u32, yy as u32).0[0]);
        let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x0 + 1.0, y0) * fx * (1.0 - fy)
            + p(x0, y0 + 1.0) * (1.0 - fx) * fy
            + p(x0 + 1.0, y0 + 1.0) * fx * fy;
        Luma([v.round() as u8])
    })
}

/// Composites `color` through `mask` at (`x`, `y`) with `opacity`.
pub fn blend_mask(img: &mut RgbImage, mask: &GrayImage, x: i64, y: i64, color: Rgb<u8>, opacity: f32) {
    let (w, h) = img.dimensions();
    for (mx, my, m) in mask.enumerate_pixels() {
        let (px, py) = (x + i64::from(mx), y + i64::from(my));
        if m.0[0] == 0 || px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
            continue;
        }
        let a = f32::from(m.0[0]) / 255.0 * opacity;
        let dst = img.get_pixel_mut(px as u32, py as u32);
        for i in 0..3 {
            dst.0[i] = (f32::from(dst.0[i]) * (1.0 - a) + f32::from(color.0[i]) * a).round() as u8;
        }
    }
}
