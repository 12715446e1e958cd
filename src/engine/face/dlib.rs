//! Reading dlib's `.dat` serialization (the models of the PyPI package
//! `face-recognition-models`): packed integers, mantissa/exponent floats, DNN
//! tensors and layers, and the shape predictor's regression-tree cascade.
//!
//! Format facts (from dlib's serialize.h and the dnn layers):
//! - an integer is one control byte (low nibble = byte count, 0x80 = negative)
//!   and that many little-endian bytes;
//! - a float is a packed int64 mantissa and a packed int16 exponent
//!   (value = m·2^e; 32000/32001/32002 = +inf/-inf/NaN);
//! - a string is a packed length and its bytes; a bool is the char `'0'`/`'1'`;
//! - a DNN tensor is version 2, four packed dims (n, k, nr, nc) and raw
//!   little-endian f32s; an alias tensor is version 1 and four dims;
//! - a network is written input layer first: each layer's details start with
//!   a version string (`con_4`, `bn_con2`, `affine_`, `relu_`, ...) followed by
//!   its parameters; between layers come wrapper fields (versions, flags,
//!   empty gradient tensors) and tag/skip layers, which carry no string. The
//!   reader therefore scans from one layer's end to the next known version
//!   string; the topology of each net is known (see `net.rs`).

/// Why a model file could not be read.
pub type DatResult<T> = Result<T, String>;

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn err<T>(&self, what: &str) -> DatResult<T> {
        Err(format!("malformed dlib model at byte {}: {what}", self.pos))
    }

    fn byte(&mut self) -> DatResult<u8> {
        match self.data.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => self.err("unexpected end of file"),
        }
    }

    pub fn int(&mut self) -> DatResult<i64> {
        let control = self.byte()?;
        let n = (control & 0x0f) as usize;
        if n > 8 {
            return self.err("integer wider than 8 bytes");
        }
        let mut v: u64 = 0;
        for i in 0..n {
            v |= (self.byte()? as u64) << (8 * i);
        }
        let v = v as i64;
        Ok(if control & 0x80 != 0 { v.wrapping_neg() } else { v })
    }

    pub fn usize(&mut self) -> DatResult<usize> {
        let v = self.int()?;
        if !(0..=(1 << 31)).contains(&v) {
            return self.err("size out of range");
        }
        Ok(v as usize)
    }

    pub fn float(&mut self) -> DatResult<f32> {
        let mantissa = self.int()?;
        let exponent = self.int()?;
        Ok(match exponent {
            32000 => f32::INFINITY,
            32001 => f32::NEG_INFINITY,
            32002 => f32::NAN,
            e if (-2000..=2000).contains(&e) => (mantissa as f64 * 2f64.powi(e as i32)) as f32,
            _ => return self.err("float exponent out of range"),
        })
    }

    /// A `std::vector`/`matrix` length, capped against the remaining bytes.
    pub fn len(&mut self, min_bytes_each: usize) -> DatResult<usize> {
        let n = self.usize()?;
        if n.saturating_mul(min_bytes_each.max(1)) > self.data.len() - self.pos {
            return self.err("length exceeds the file");
        }
        Ok(n)
    }

    /// A column vector (`matrix<float,0,1>`): -rows, -cols, then the values.
    pub fn float_matrix(&mut self) -> DatResult<Vec<f32>> {
        let rows = -self.int()?;
        let cols = -self.int()?;
        if rows < 0 || cols < 0 || rows.saturating_mul(cols) > (self.data.len() - self.pos) as i64 {
            return self.err("matrix dimensions");
        }
        (0..rows * cols).map(|_| self.float()).collect()
    }

    /// A DNN tensor: (dims n, k, nr, nc; data).
    pub fn tensor(&mut self) -> DatResult<([usize; 4], Vec<f32>)> {
        let version = self.int()?;
        if version != 2 {
            return self.err("tensor version");
        }
        let dims = [self.usize()?, self.usize()?, self.usize()?, self.usize()?];
        let n = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
        let Some(n) = n.filter(|n| n.saturating_mul(4) <= self.data.len() - self.pos) else {
            return self.err("tensor size exceeds the file");
        };
        let bytes = &self.data[self.pos..self.pos + 4 * n];
        self.pos += 4 * n;
        Ok((dims, bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
    }

    pub fn alias_tensor(&mut self) -> DatResult<[usize; 4]> {
        let version = self.int()?;
        if version != 1 {
            return self.err("alias tensor version");
        }
        Ok([self.usize()?, self.usize()?, self.usize()?, self.usize()?])
    }

    /// Moves to just past the next layer version string among `known`
    /// and returns it; `None` at the end of the data.
    pub fn next_layer(&mut self, known: &[&'static str]) -> Option<&'static str> {
        while self.pos + 2 < self.data.len() {
            if self.data[self.pos] == 0x01 {
                let len = self.data[self.pos + 1] as usize;
                let start = self.pos + 2;
                if let Some(bytes) = self.data.get(start..start + len)
                    && let Some(name) = known.iter().find(|k| k.as_bytes() == bytes)
                {
                    self.pos = start + len;
                    return Some(name);
                }
            }
            self.pos += 1;
        }
        None
    }
}

/// One layer of a dlib DNN, in forward order.
#[derive(Debug, Clone)]
pub enum Layer {
    /// (pixel − mean) / 256 per channel (R, G, B).
    Input { mean: [f32; 3] },
    Conv(Conv),
    /// Per-channel y = x·gamma + beta (batch norm folded in).
    Affine { gamma: Vec<f32>, beta: Vec<f32> },
    Relu,
    /// Pooling; `nr == 0` means "everything" (global).
    MaxPool(Pool),
    AvgPool(Pool),
    AddPrev,
    /// y = x·W (W is nin × nout, row-major) + bias.
    Fc { nin: usize, nout: usize, weights: Vec<f32>, bias: Option<Vec<f32>> },
}

#[derive(Debug, Clone)]
pub struct Conv {
    pub filters: usize,
    pub channels: usize,
    pub nr: usize,
    pub nc: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// filters × channels × nr × nc.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Pool {
    pub nr: usize,
    pub nc: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

const LAYER_NAMES: &[&str] = &[
    "input_rgb_image_sized",
    "input_rgb_image_pyramid",
    "input_rgb_image",
    "con_4",
    "con_5",
    "bn_con2",
    "affine_",
    "affine_2",
    "relu_",
    "max_pool_2",
    "avg_pool_2",
    "add_prev_",
    "fc_2",
];

/// Reads the layers of a dlib DNN file (loss layer ignored).
pub fn read_net(data: &[u8]) -> DatResult<Vec<Layer>> {
    let mut r = Reader::new(data);
    let mut layers = Vec::new();
    while let Some(name) = r.next_layer(LAYER_NAMES) {
        let layer = match name {
            "input_rgb_image_sized" | "input_rgb_image_pyramid" | "input_rgb_image" => {
                Layer::Input { mean: [r.float()?, r.float()?, r.float()?] }
            }
            "con_4" | "con_5" => {
                let (_, params) = r.tensor()?;
                let filters = r.usize()?;
                let nr = r.usize()?;
                let nc = r.usize()?;
                let stride = [r.usize()?, r.usize()?];
                let padding = [r.usize()?, r.usize()?];
                let fdims = r.alias_tensor()?;
                let _bias_dims = r.alias_tensor()?;
                let channels = fdims[1];
                let nw = filters * channels * nr * nc;
                if fdims[0] != filters || fdims[2] != nr || fdims[3] != nc || params.len() < nw + filters {
                    return Err(format!("conv layer {} has inconsistent dimensions", layers.len()));
                }
                Layer::Conv(Conv {
                    filters,
                    channels,
                    nr,
                    nc,
                    stride,
                    padding,
                    weights: params[..nw].to_vec(),
                    bias: params[nw..nw + filters].to_vec(),
                })
            }
            "bn_con2" => {
                let (_, params) = r.tensor()?;
                let g = r.alias_tensor()?;
                let _ = r.alias_tensor()?;
                let _means = r.tensor()?;
                let _invstds = r.tensor()?;
                let (_, running_means) = r.tensor()?;
                let (_, running_vars) = r.tensor()?;
                let _num_updates = r.int()?;
                let _window = r.int()?;
                for _ in 0..4 {
                    r.float()?; // learning-rate and weight-decay multipliers
                }
                let eps = r.float()?;
                let k = g[1];
                if params.len() < 2 * k || running_means.len() < k || running_vars.len() < k {
                    return Err("batch-norm layer has inconsistent dimensions".into());
                }
                let mut gamma = Vec::with_capacity(k);
                let mut beta = Vec::with_capacity(k);
                for i in 0..k {
                    let scale = params[i] / (running_vars[i] + eps).sqrt();
                    gamma.push(scale);
                    beta.push(params[k + i] - scale * running_means[i]);
                }
                Layer::Affine { gamma, beta }
            }
            "affine_" | "affine_2" => {
                let (_, params) = r.tensor()?;
                let g = r.alias_tensor()?;
                let k = g[1] * g[2] * g[3];
                if params.len() < 2 * k {
                    return Err("affine layer has inconsistent dimensions".into());
                }
                Layer::Affine { gamma: params[..k].to_vec(), beta: params[k..2 * k].to_vec() }
            }
            "relu_" => Layer::Relu,
            "max_pool_2" | "avg_pool_2" => {
                let pool = Pool {
                    nr: r.usize()?,
                    nc: r.usize()?,
                    stride: [r.usize()?, r.usize()?],
                    padding: [r.usize()?, r.usize()?],
                };
                if name == "max_pool_2" { Layer::MaxPool(pool) } else { Layer::AvgPool(pool) }
            }
            "add_prev_" => Layer::AddPrev,
            "fc_2" => {
                let nout = r.usize()?;
                let nin = r.usize()?;
                let (dims, params) = r.tensor()?;
                let rows = dims[0];
                if dims[1] != nout || rows < nin || params.len() != rows * nout {
                    return Err("fc layer has inconsistent dimensions".into());
                }
                let weights = params[..nin * nout].to_vec();
                let bias = (rows > nin).then(|| params[nin * nout..(nin + 1) * nout].to_vec());
                Layer::Fc { nin, nout, weights, bias }
            }
            _ => unreachable!("every name in LAYER_NAMES is handled"),
        };
        layers.push(layer);
    }
    if !matches!(layers.first(), Some(Layer::Input { .. })) {
        return Err("not a dlib DNN model (no input layer)".into());
    }
    Ok(layers)
}

/// One regression tree of the shape predictor.
#[derive(Debug, Clone)]
pub struct Tree {
    /// (idx1, idx2, threshold) in heap order (children of i: 2i+1, 2i+2).
    pub splits: Vec<(u32, u32, f32)>,
    /// Shape offsets (x0, y0, x1, y1, ...) per leaf.
    pub leaves: Vec<Vec<f32>>,
}

/// A dlib `shape_predictor` (Kazemi–Sullivan cascade).
#[derive(Debug, Clone)]
pub struct ShapeModel {
    /// Mean shape in the unit box (x0, y0, x1, y1, ...).
    pub initial: Vec<f32>,
    pub forests: Vec<Vec<Tree>>,
    /// Per cascade level, per feature: the anchor landmark and the offset
    /// from it (in the initial shape's frame).
    pub anchors: Vec<Vec<u32>>,
    pub deltas: Vec<Vec<[f32; 2]>>,
}

pub fn read_shape_predictor(data: &[u8]) -> DatResult<ShapeModel> {
    let mut r = Reader::new(data);
    if r.int()? != 1 {
        return Err("unsupported shape predictor version".into());
    }
    let initial = r.float_matrix()?;
    let parts = initial.len() / 2;
    let levels = r.len(1)?;
    let mut forests = Vec::with_capacity(levels);
    for _ in 0..levels {
        let n = r.len(1)?;
        let mut trees = Vec::with_capacity(n);
        for _ in 0..n {
            let ns = r.len(3)?;
            let mut splits = Vec::with_capacity(ns);
            for _ in 0..ns {
                splits.push((r.usize()? as u32, r.usize()? as u32, r.float()?));
            }
            let nl = r.len(2)?;
            let mut leaves = Vec::with_capacity(nl);
            for _ in 0..nl {
                let leaf = r.float_matrix()?;
                if leaf.len() != initial.len() {
                    return Err("shape predictor leaf size differs from the shape".into());
                }
                leaves.push(leaf);
            }
            if leaves.len() != splits.len() + 1 {
                return Err("shape predictor tree is not complete".into());
            }
            trees.push(Tree { splits, leaves });
        }
        forests.push(trees);
    }
    let n = r.len(1)?;
    let mut anchors = Vec::with_capacity(n);
    for _ in 0..n {
        let m = r.len(1)?;
        let level: Vec<u32> = (0..m).map(|_| r.usize().map(|v| v as u32)).collect::<DatResult<_>>()?;
        if level.iter().any(|a| *a as usize >= parts) {
            return Err("shape predictor anchor out of range".into());
        }
        anchors.push(level);
    }
    let n = r.len(1)?;
    let mut deltas = Vec::with_capacity(n);
    for _ in 0..n {
        let m = r.len(2)?;
        deltas.push((0..m).map(|_| Ok([r.float()?, r.float()?])).collect::<DatResult<Vec<_>>>()?);
    }
    if anchors.len() != forests.len() || deltas.len() != forests.len() {
        return Err("shape predictor cascade sizes differ".into());
    }
    for (level, trees) in forests.iter().enumerate() {
        let features = anchors[level].len();
        if deltas[level].len() != features {
            return Err("shape predictor feature counts differ".into());
        }
        for t in trees {
            if t.splits.iter().any(|(a, b, _)| *a as usize >= features || *b as usize >= features) {
                return Err("shape predictor split feature out of range".into());
            }
        }
    }
    Ok(ShapeModel { initial, forests, anchors, deltas })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_integers_and_floats() {
        // 300 = 0x012c in two bytes; -5; 1.0 = 16·2^-4.
        let data = [0x02, 0x2c, 0x01, 0x81, 0x05, 0x01, 0x10, 0x81, 0x04, 0x01, 0x00];
        let mut r = Reader::new(&data);
        assert_eq!(r.int().unwrap(), 300);
        assert_eq!(r.int().unwrap(), -5);
        assert_eq!(r.float().unwrap(), 1.0);
        assert_eq!(r.int().unwrap(), 0);
        assert!(r.int().is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_net(b"not a model").is_err());
        assert!(read_shape_predictor(&[0x01, 0x01, 0x81, 0x0a, 0x81, 0x01]).is_err());
        let mut lots = vec![0x01, 0x05];
        lots.extend_from_slice(b"con_4");
        lots.extend_from_slice(&[0x01, 0x02, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(read_net(&lots).is_err());
    }
}
