//! The two dlib networks, rebuilt from their `.dat` layers and run with
//! `rten`'s convolution (the other layers are plain loops here):
//! - the ResNet-29 metric network of `dlib_face_recognition_resnet_model_v1`
//!   (150×150 aligned chip → 128-d descriptor);
//! - the MMOD CNN face detector (fully convolutional: [conv, bn, relu]×6 then
//!   a 1-filter conv giving a score per cell of an 8-px grid).

use image::RgbImage;
use rten::BufferPool;
use rten::ops::Padding;
use rten_tensor::prelude::*;
use rten_tensor::{NdTensorView, TensorView};

use super::dlib::{Conv, Layer, Pool};

/// A feature map (batch 1), channel-major.
#[derive(Debug, Clone)]
pub struct Feature {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<f32>,
}

impl Feature {
    /// (pixel − mean) / 256 per channel, the dlib input layers' scaling.
    pub fn from_rgb(img: &RgbImage, mean: [f32; 3]) -> Self {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let mut data = vec![0f32; 3 * w * h];
        let plane = w * h;
        for (i, p) in img.pixels().enumerate() {
            for ch in 0..3 {
                data[ch * plane + i] = (p.0[ch] as f32 - mean[ch]) / 256.0;
            }
        }
        Self { c: 3, h, w, data }
    }
}

fn conv(pool: &BufferPool, x: &Feature, c: &Conv) -> Result<Feature, String> {
    if x.c != c.channels {
        return Err(format!("conv expects {} channels, got {}", c.channels, x.c));
    }
    if x.h + 2 * c.padding[0] < c.nr || x.w + 2 * c.padding[1] < c.nc {
        return Err("image too small for the network".into());
    }
    let input = TensorView::from_data(&[1, x.c, x.h, x.w], x.data.as_slice());
    let kernel = TensorView::from_data(&[c.filters, c.channels, c.nr, c.nc], c.weights.as_slice());
    let bias = NdTensorView::from_data([c.filters], c.bias.as_slice());
    let padding = Padding::Fixed([c.padding[0], c.padding[1], c.padding[0], c.padding[1]].into());
    // On the calling thread's own one-thread pool (`engine::compute`).
    let out = crate::engine::compute::single_threaded(|| {
        rten::ops::conv(pool, input, kernel, Some(bias), padding, 1, &c.stride, &[1, 1])
    })
    .map_err(|e| format!("convolution failed: {e}"))?;
    let shape = out.shape().to_vec();
    Ok(Feature { c: shape[1], h: shape[2], w: shape[3], data: out.into_data() })
}

fn affine(x: &mut Feature, gamma: &[f32], beta: &[f32]) {
    let plane = x.h * x.w;
    for (ch, chunk) in x.data.chunks_mut(plane).enumerate() {
        let (g, b) = (gamma.get(ch).copied().unwrap_or(1.0), beta.get(ch).copied().unwrap_or(0.0));
        for v in chunk {
            *v = *v * g + b;
        }
    }
}

fn relu(x: &mut Feature) {
    for v in &mut x.data {
        *v = v.max(0.0);
    }
}

/// dlib pooling; padded cells do not count (max) / are excluded from the mean.
fn pool(x: &Feature, p: &Pool, max: bool) -> Feature {
    let (ph, pw) = (p.padding[0], p.padding[1]);
    let (sy, sx) = (p.stride[0].max(1), p.stride[1].max(1));
    if x.h + 2 * ph < p.nr || x.w + 2 * pw < p.nc {
        return Feature { c: x.c, h: 0, w: 0, data: Vec::new() };
    }
    let oh = 1 + (x.h + 2 * ph - p.nr) / sy;
    let ow = 1 + (x.w + 2 * pw - p.nc) / sx;
    let mut data = vec![0f32; x.c * oh * ow];
    for ch in 0..x.c {
        let src = &x.data[ch * x.h * x.w..(ch + 1) * x.h * x.w];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = if max { f32::NEG_INFINITY } else { 0.0 };
                let mut n = 0usize;
                for ky in 0..p.nr {
                    let y = (oy * sy + ky) as isize - ph as isize;
                    if y < 0 || y >= x.h as isize {
                        continue;
                    }
                    for kx in 0..p.nc {
                        let xx = (ox * sx + kx) as isize - pw as isize;
                        if xx < 0 || xx >= x.w as isize {
                            continue;
                        }
                        let v = src[y as usize * x.w + xx as usize];
                        if max {
                            acc = acc.max(v);
                        } else {
                            acc += v;
                        }
                        n += 1;
                    }
                }
                data[(ch * oh + oy) * ow + ox] = if n == 0 {
                    0.0
                } else if max {
                    acc
                } else {
                    acc / n as f32
                };
            }
        }
    }
    Feature { c: x.c, h: oh, w: ow, data }
}

/// dlib `add_prev`: the sum where the tensors overlap, the larger shape,
/// zeros elsewhere (top-left origin).
fn add_prev(a: &Feature, b: &Feature) -> Feature {
    let (c, h, w) = (a.c.max(b.c), a.h.max(b.h), a.w.max(b.w));
    let mut data = vec![0f32; c * h * w];
    for t in [a, b] {
        for ch in 0..t.c {
            for y in 0..t.h {
                let src = &t.data[(ch * t.h + y) * t.w..(ch * t.h + y + 1) * t.w];
                let dst = &mut data[(ch * h + y) * w..(ch * h + y) * w + t.w];
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    }
    Feature { c, h, w, data }
}

struct Block {
    conv1: Conv,
    affine1: (Vec<f32>, Vec<f32>),
    conv2: Conv,
    affine2: (Vec<f32>, Vec<f32>),
    /// The shortcut's average pooling in a downsampling block.
    down: Option<Pool>,
}

/// dlib's face-recognition ResNet.
pub struct ResNet {
    mean: [f32; 3],
    stem: Conv,
    stem_affine: (Vec<f32>, Vec<f32>),
    stem_pool: Pool,
    blocks: Vec<Block>,
    fc_nin: usize,
    fc_nout: usize,
    fc: Vec<f32>,
    pool: BufferPool,
}

fn bad(what: &str) -> String {
    format!("unexpected layer layout in the face-recognition model ({what})")
}

impl ResNet {
    pub const INPUT: u32 = 150;

    pub fn from_layers(layers: Vec<Layer>) -> Result<Self, String> {
        let mut it = layers.into_iter().peekable();
        let Some(Layer::Input { mean }) = it.next() else { return Err(bad("input")) };
        let Some(Layer::Conv(stem)) = it.next() else { return Err(bad("stem conv")) };
        let Some(Layer::Affine { gamma, beta }) = it.next() else { return Err(bad("stem affine")) };
        let stem_affine = (gamma, beta);
        let Some(Layer::Relu) = it.next() else { return Err(bad("stem relu")) };
        let Some(Layer::MaxPool(stem_pool)) = it.next() else { return Err(bad("stem pool")) };
        let mut blocks = Vec::new();
        loop {
            match it.next() {
                Some(Layer::Conv(conv1)) => {
                    let Some(Layer::Affine { gamma: g1, beta: b1 }) = it.next() else { return Err(bad("block")) };
                    let Some(Layer::Relu) = it.next() else { return Err(bad("block relu")) };
                    let Some(Layer::Conv(conv2)) = it.next() else { return Err(bad("block conv")) };
                    let Some(Layer::Affine { gamma: g2, beta: b2 }) = it.next() else {
                        return Err(bad("block affine"));
                    };
                    let down = match it.next() {
                        Some(Layer::AvgPool(p)) => {
                            let Some(Layer::AddPrev) = it.next() else { return Err(bad("add_prev")) };
                            Some(p)
                        }
                        Some(Layer::AddPrev) => None,
                        _ => return Err(bad("residual")),
                    };
                    let Some(Layer::Relu) = it.next() else { return Err(bad("block output relu")) };
                    blocks.push(Block { conv1, affine1: (g1, b1), conv2, affine2: (g2, b2), down });
                }
                Some(Layer::AvgPool(p)) if p.nr == 0 => break,
                _ => return Err(bad("tail")),
            }
        }
        let Some(Layer::Fc { nin, nout, weights, bias: None }) = it.next() else { return Err(bad("fc")) };
        Ok(Self {
            mean,
            stem,
            stem_affine,
            stem_pool,
            blocks,
            fc_nin: nin,
            fc_nout: nout,
            fc: weights,
            pool: BufferPool::new(),
        })
    }

    /// The descriptor of one 150×150 aligned chip.
    pub fn embed(&self, chip: &RgbImage) -> Result<Vec<f32>, String> {
        if chip.width() != Self::INPUT || chip.height() != Self::INPUT {
            return Err("the chip must be 150x150".into());
        }
        let x = Feature::from_rgb(chip, self.mean);
        let mut x = conv(&self.pool, &x, &self.stem)?;
        affine(&mut x, &self.stem_affine.0, &self.stem_affine.1);
        relu(&mut x);
        let mut x = pool(&x, &self.stem_pool, true);
        for b in &self.blocks {
            let mut y = conv(&self.pool, &x, &b.conv1)?;
            affine(&mut y, &b.affine1.0, &b.affine1.1);
            relu(&mut y);
            let mut y = conv(&self.pool, &y, &b.conv2)?;
            affine(&mut y, &b.affine2.0, &b.affine2.1);
            let shortcut = match &b.down {
                Some(p) => pool(&x, p, false),
                None => x,
            };
            x = add_prev(&y, &shortcut);
            relu(&mut x);
        }
        // Average over everything, then fc without bias.
        let plane = (x.h * x.w).max(1) as f32;
        if x.c != self.fc_nin {
            return Err(bad("fc input width"));
        }
        let avg: Vec<f32> = x.data.chunks(x.h * x.w).map(|c| c.iter().sum::<f32>() / plane).collect();
        let mut out = vec![0f32; self.fc_nout];
        for (i, a) in avg.iter().enumerate() {
            let row = &self.fc[i * self.fc_nout..(i + 1) * self.fc_nout];
            for (o, w) in out.iter_mut().zip(row) {
                *o += a * w;
            }
        }
        Ok(out)
    }
}

/// dlib's MMOD CNN face detector.
pub struct Mmod {
    mean: [f32; 3],
    stages: Vec<(Conv, Option<(Vec<f32>, Vec<f32>)>)>,
    pool: BufferPool,
}

/// Score map of one image.
pub struct ScoreMap {
    pub h: usize,
    pub w: usize,
    pub scores: Vec<f32>,
}

impl Mmod {
    /// Output cell (r, c) is centred on input pixel (8c+14, 8r+14) for the
    /// shipped model (three stride-2 5×5 convs without padding).
    pub const CELL: f32 = 8.0;
    pub const OFFSET: f32 = 14.0;
    /// The detector window (80×80).
    pub const WINDOW: f32 = 80.0;

    pub fn from_layers(layers: Vec<Layer>) -> Result<Self, String> {
        let mut it = layers.into_iter().peekable();
        let Some(Layer::Input { mean }) = it.next() else {
            return Err("unexpected layer layout in the face detector model (input)".into());
        };
        let mut stages = Vec::new();
        while let Some(layer) = it.next() {
            let Layer::Conv(c) = layer else {
                return Err("unexpected layer layout in the face detector model".into());
            };
            let affine = match it.peek() {
                Some(Layer::Affine { .. }) => {
                    let Some(Layer::Affine { gamma, beta }) = it.next() else { unreachable!("peeked") };
                    let Some(Layer::Relu) = it.next() else {
                        return Err("unexpected layer layout in the face detector model (relu)".into());
                    };
                    Some((gamma, beta))
                }
                _ => None,
            };
            stages.push((c, affine));
        }
        if stages.len() < 2 || stages.last().is_some_and(|(c, a)| c.filters != 1 || a.is_some()) {
            return Err("unexpected layer layout in the face detector model (head)".into());
        }
        Ok(Self { mean, stages, pool: BufferPool::new() })
    }

    pub fn scores(&self, img: &RgbImage) -> Result<ScoreMap, String> {
        let mut x = Feature::from_rgb(img, self.mean);
        for (c, affine_relu) in &self.stages {
            x = conv(&self.pool, &x, c)?;
            if let Some((g, b)) = affine_relu {
                affine(&mut x, g, b);
                relu(&mut x);
            }
        }
        Ok(ScoreMap { h: x.h, w: x.w, scores: x.data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_prev_pads_the_smaller_tensor_with_zeros() {
        let a = Feature { c: 1, h: 2, w: 2, data: vec![1.0, 2.0, 3.0, 4.0] };
        let b = Feature { c: 2, h: 1, w: 1, data: vec![10.0, 20.0] };
        let s = add_prev(&a, &b);
        assert_eq!((s.c, s.h, s.w), (2, 2, 2));
        assert_eq!(s.data, vec![11.0, 2.0, 3.0, 4.0, 20.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn pooling_matches_dlib_sizes() {
        let x = Feature { c: 1, h: 5, w: 5, data: (0..25).map(|v| v as f32).collect() };
        let p = Pool { nr: 3, nc: 3, stride: [2, 2], padding: [0, 0] };
        let m = pool(&x, &p, true);
        assert_eq!((m.h, m.w), (2, 2));
        assert_eq!(m.data, vec![12.0, 14.0, 22.0, 24.0]);
        let a = pool(&x, &Pool { nr: 2, nc: 2, stride: [2, 2], padding: [0, 0] }, false);
        assert_eq!((a.h, a.w), (2, 2));
        assert_eq!(a.data[0], 3.0);
    }
}
