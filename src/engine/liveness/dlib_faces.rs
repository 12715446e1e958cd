//! The local face engine (dlib port) as the liveness engine's [`FaceAnalyzer`].

use image::RgbImage;

use super::passive::Rect;
use super::{FaceAnalyzer, FaceObservation};
use crate::engine::FaceEngine;
use crate::engine::face::{DetectedFace, LocalFaceEngine, align::FaceRect};

impl FaceAnalyzer for LocalFaceEngine {
    fn version(&self) -> String {
        FaceEngine::version(self)
    }

    fn detect(&self, image: &RgbImage) -> Result<Vec<FaceObservation>, String> {
        let models = self.models()?;
        Ok(models.detect(image).into_iter().map(observation).collect())
    }

    fn detect_frame(&self, bytes: &[u8], image: &RgbImage) -> Result<Vec<FaceObservation>, String> {
        let models = self.models()?;
        let faces = models.detect(image);
        self.remember(bytes, image.dimensions(), &faces);
        Ok(faces.into_iter().map(observation).collect())
    }

    fn embed(&self, image: &RgbImage, face: &FaceObservation) -> Result<Vec<f32>, String> {
        let models = self.models()?;
        let detected = DetectedFace {
            rect: FaceRect { left: face.rect.x, top: face.rect.y, right: face.rect.x + face.rect.w, bottom: face.rect.y + face.rect.h },
            confidence: 1.0,
            landmarks: face.landmarks.map(|(x, y)| [x, y]),
        };
        models.try_embed(image, &detected)
    }
}

fn observation(f: DetectedFace) -> FaceObservation {
    FaceObservation {
        rect: Rect { x: f.rect.left, y: f.rect.top, w: f.rect.width(), h: f.rect.height() },
        landmarks: f.landmarks.map(|p| (p[0], p[1])),
    }
}
