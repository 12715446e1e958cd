//! The 5-point shape predictor (dlib's regression-tree cascade) and face
//! chip alignment (dlib's `get_face_chip_details` for 5-point shapes).

use image::{Rgb, RgbImage};

use super::dlib::ShapeModel;

/// A face box in image pixels (dlib convention: right/bottom inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceRect {
    pub left: f32,
    pub top: f32,
    pub right: f32,
    pub bottom: f32,
}

impl FaceRect {
    pub fn width(&self) -> f32 {
        self.right - self.left
    }
    pub fn height(&self) -> f32 {
        self.bottom - self.top
    }
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    pub fn iou(&self, o: &FaceRect) -> f32 {
        let w = (self.right.min(o.right) - self.left.max(o.left)).max(0.0);
        let h = (self.bottom.min(o.bottom) - self.top.max(o.top)).max(0.0);
        let inter = w * h;
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// A similarity transform `p ↦ [a −b; b a]·p + t`.
#[derive(Debug, Clone, Copy)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [self.a * p[0] - self.b * p[1] + self.tx, self.b * p[0] + self.a * p[1] + self.ty]
    }
    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }
}

/// Least-squares similarity transform mapping `from` onto `to` (no reflection).
pub fn find_similarity(from: &[[f32; 2]], to: &[[f32; 2]]) -> Similarity {
    let n = from.len().min(to.len()).max(1) as f32;
    let mf = from.iter().fold([0f32; 2], |m, p| [m[0] + p[0] / n, m[1] + p[1] / n]);
    let mt = to.iter().fold([0f32; 2], |m, p| [m[0] + p[0] / n, m[1] + p[1] / n]);
    let (mut ff, mut a, mut b) = (0f32, 0f32, 0f32);
    for (f, t) in from.iter().zip(to) {
        let (fx, fy, tx, ty) = (f[0] - mf[0], f[1] - mf[1], t[0] - mt[0], t[1] - mt[1]);
        ff += fx * fx + fy * fy;
        a += fx * tx + fy * ty;
        b += fx * ty - fy * tx;
    }
    let (a, b) = if ff > 0.0 { (a / ff, b / ff) } else { (1.0, 0.0) };
    Similarity { a, b, tx: mt[0] - (a * mf[0] - b * mf[1]), ty: mt[1] - (b * mf[0] + a * mf[1]) }
}

fn points(shape: &[f32]) -> Vec<[f32; 2]> {
    shape.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
}

/// Runs the cascade on `rect` of `img`; the landmarks in image pixels.
pub fn predict_shape(model: &ShapeModel, img: &RgbImage, rect: &FaceRect) -> Vec<[f32; 2]> {
    let mut shape = model.initial.clone();
    let initial = points(&model.initial);
    let (w, h) = (img.width() as i64, img.height() as i64);
    let to_img = |p: [f32; 2]| [rect.left + p[0] * rect.width(), rect.top + p[1] * rect.height()];
    let mut features = Vec::new();
    for (level, trees) in model.forests.iter().enumerate() {
        let current = points(&shape);
        let m = find_similarity(&initial, &current);
        features.clear();
        for (anchor, delta) in model.anchors[level].iter().zip(&model.deltas[level]) {
            let base = current[*anchor as usize];
            let p = to_img([m.a * delta[0] - m.b * delta[1] + base[0], m.b * delta[0] + m.a * delta[1] + base[1]]);
            let (x, y) = (p[0].round() as i64, p[1].round() as i64);
            let v = if x >= 0 && y >= 0 && x < w && y < h {
                let px = img.get_pixel(x as u32, y as u32).0;
                ((px[0] as u32 + px[1] as u32 + px[2] as u32) / 3) as f32
            } else {
                0.0
            };
            features.push(v);
        }
        for tree in trees {
            let mut i = 0usize;
            while i < tree.splits.len() {
                let (a, b, t) = tree.splits[i];
                i = if features[a as usize] - features[b as usize] > t { 2 * i + 1 } else { 2 * i + 2 };
            }
            if let Some(leaf) = tree.leaves.get(i - tree.splits.len()) {
                for (s, d) in shape.iter_mut().zip(leaf) {
                    *s += d;
                }
            }
        }
    }
    points(&shape).into_iter().map(to_img).collect()
}

/// dlib's mean 5-point face in the unit chip (before padding), in the
/// landmark order of [`super::DetectedFace::landmarks`].
const MEAN_FACE_5: [[f32; 2]; 5] = [
    [0.859_567_5, 0.213_498_15],
    [0.646_060_5, 0.228_967_44],
    [0.120_575_06, 0.213_727_45],
    [0.334_085_06, 0.229_064_24],
    [0.490_112_3, 0.627_797_5],
];

/// The transform from chip pixels to image pixels for a `size`×`size` chip
/// with `padding` (dlib: 0.25 for the embedding, 0.2 for age/gender).
pub fn chip_transform(landmarks: &[[f32; 2]; 5], size: u32, padding: f32) -> Similarity {
    let from: Vec<[f32; 2]> = MEAN_FACE_5
        .iter()
        .map(|p| [(padding + p[0]) / (2.0 * padding + 1.0) * size as f32, (padding + p[1]) / (2.0 * padding + 1.0) * size as f32])
        .collect();
    find_similarity(&from, landmarks)
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if !(x >= 0.0 && y >= 0.0 && x <= w - 1.0 && y <= h - 1.0) {
        return None;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = ((x0 + 1).min(img.width() - 1), (y0 + 1).min(img.height() - 1));
    let p = |x: u32, y: u32| img.get_pixel(x, y).0;
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0f32; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        let top = a[ch] as f32 * (1.0 - fx) + b[ch] as f32 * fx;
        let bot = c[ch] as f32 * (1.0 - fx) + d[ch] as f32 * fx;
        *o = top * (1.0 - fy) + bot * fy;
    }
    Some(out)
}

/// Extracts the aligned chip: bilinear sampling, averaged over an n×n grid
/// per chip pixel when the face is larger than the chip (anti-aliasing, as
/// dlib's pyramid-down before sampling). Outside the image is black.
pub fn extract_chip(img: &RgbImage, t: &Similarity, size: u32) -> RgbImage {
    let n = t.scale().ceil().clamp(1.0, 8.0) as u32;
    let mut chip = RgbImage::new(size, size);
    for cy in 0..size {
        for cx in 0..size {
            let mut acc = [0f32; 3];
            let mut count = 0u32;
            for sy in 0..n {
                for sx in 0..n {
                    let ox = (sx as f32 + 0.5) / n as f32 - 0.5;
                    let oy = (sy as f32 + 0.5) / n as f32 - 0.5;
                    let p = t.apply([cx as f32 + ox, cy as f32 + oy]);
                    if let Some(v) = bilinear(img, p[0], p[1]) {
                        for ch in 0..3 {
                            acc[ch] += v[ch];
                        }
                    }
                    count += 1;
                }
            }
            let px = acc.map(|v| (v / count as f32).round().clamp(0.0, 255.0) as u8);
            chip.put_pixel(cx, cy, Rgb(px));
        }
    }
    chip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let t = Similarity { a: 0.8, b: 0.6, tx: 10.0, ty: -4.0 };
        let from = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]];
        let to: Vec<[f32; 2]> = from.iter().map(|p| t.apply(*p)).collect();
        let f = find_similarity(&from, &to);
        assert!((f.a - 0.8).abs() < 1e-5 && (f.b - 0.6).abs() < 1e-5);
        assert!((f.tx - 10.0).abs() < 1e-4 && (f.ty + 4.0).abs() < 1e-4);
    }

    #[test]
    fn iou_of_boxes() {
        let a = FaceRect { left: 0.0, top: 0.0, right: 10.0, bottom: 10.0 };
        let b = FaceRect { left: 5.0, top: 0.0, right: 15.0, bottom: 10.0 };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(a.iou(&FaceRect { left: 20.0, top: 20.0, right: 30.0, bottom: 30.0 }), 0.0);
    }
}
