//! An identification card with a TD1 MRZ on its back (no barcode), end to
//! end over HTTP: the front is drawn in code (portrait, printed name,
//! document number, birth and expiry dates), the back carries the MRZ in
//! OCR-B (Debian `fonts-ocr-b`; skipped, saying so, without it). The back
//! is read as the document (`data_source = mrz`) and the front's printed
//! fields are cross-checked with it as for a passport: name, document
//! number, birth date and expiry.

use image::{Rgb, RgbImage};
use serde_json::json;

use super::{Capture, document_of, engine_app, jpeg, photo_bytes, portrait, run_session_as};
use crate::common::backends;
use crate::document_fixtures::fonts;
use crate::mrz_fixtures::{self, Format, Holder, Rng};

/// The holder: the MRZ encodes these, the front prints them (dates as
/// DD.MM.YYYY with days of 12 or less, so they are read day first by
/// their dots, not by a day that could not be a month).
fn holder() -> Holder {
    Holder {
        state: "UTO".into(),
        nationality: "UTO".into(),
        surname: "MARLOWE".into(),
        given: "JOHN MICHAEL".into(),
        number: "LZ6I18T47".into(),
        birth: "780503".into(),
        expiry: "310807".into(),
        sex: 'M',
        optional: String::new(),
    }
}

/// The front of the card (856 x 540, 85.6 x 54 mm at 10 px/mm).
fn front(h: &Holder, printed_birth: &str, face: &RgbImage) -> RgbImage {
    let (w, ht) = (856u32, 540u32);
    let mut card = RgbImage::from_fn(w, ht, |x, y| {
        let g = (x as f32 / w as f32) * 8.0 + (y as f32 / ht as f32) * 6.0;
        Rgb([(232.0 - g) as u8, (230.0 - g) as u8, (240.0 - g / 2.0) as u8])
    });
    let ink = Rgb([25, 25, 40]);
    fonts::draw_text(&mut card, 30.0, 20.0, 30.0, Rgb([30, 50, 120]), "REPUBLIC OF UTOPIA");
    fonts::draw_text(&mut card, 30.0, 62.0, 26.0, Rgb([30, 50, 120]), "IDENTITY CARD");
    let face = image::imageops::resize(face, 240, 320, image::imageops::FilterType::Triangle);
    image::imageops::overlay(&mut card, &face, 30, 130);
    let date = |yymmdd: &str, century: &str| format!("{}.{}.{century}{}", &yymmdd[4..6], &yymmdd[2..4], &yymmdd[0..2]);
    let rows = [
        format!("SURNAME {}", h.surname),
        format!("GIVEN NAMES {}", h.given),
        format!("DOCUMENT NO {}", h.number),
        format!("DATE OF BIRTH {}", date(printed_birth, "19")),
        format!("DATE OF EXPIRY {}", date(&h.expiry, "20")),
    ];
    for (i, row) in rows.iter().enumerate() {
        fonts::draw_text(&mut card, 300.0, 140.0 + i as f32 * 58.0, 28.0, ink, row);
    }
    card
}

#[tokio::test]
async fn an_id_card_is_read_from_its_mrz_back_and_checked_against_its_front() {
    let font = match mrz_fixtures::ocrb() {
        Ok(font) => font,
        Err(e) => {
            eprintln!("SKIPPED (ID card with an MRZ back): {e}");
            return;
        }
    };
    let h = holder();
    let lines = mrz_fixtures::lines(Format::Td1, &h);
    let back = jpeg(&mrz_fixtures::document(&font, Format::Td1, &lines, &mut Rng::new(24)), 90);
    let face = portrait("obama2.jpg");
    let backend = backends().await[0];
    let app = engine_app(backend).await;

    // The printed fields agree with the MRZ: verified.
    let capture = Capture {
        front: (jpeg(&front(&h, &h.birth, &face), 92), "image/jpeg"),
        back: Some((back.clone(), "image/jpeg")),
        selfie: Some(photo_bytes("obama.jpg")),
    };
    let (sid, verdict, s, t) = run_session_as(&app, capture, json!({"perform_aamva_test": false}), "identification_card").await;
    let details = &t["details"];
    for check in ["doc_front_is_identity_document", "doc_back_is_identity_document", "doc_back_suspicious_words", "doc_back_image_manipulation"] {
        assert_eq!(t[check], "pass", "{check} in {t}");
    }
    assert_eq!((t["name_crosscheck"].as_bool(), t["document_number_crosscheck"].as_bool()), (Some(true), Some(true)), "{t}");
    assert_eq!(details["birth_date_crosscheck"]["status"], "pass", "{t}");
    assert_eq!(details["expiry_crosscheck"]["status"], "pass", "{t}");
    assert!(t["address_crosscheck"].is_null(), "an MRZ has no address: {t}");
    assert_eq!(verdict, json!({"verified": true, "on_sanction_list": false}), "{s} {t}");
    let d = document_of(&app, &sid).await;
    let doc = if d["document"].is_object() { &d["document"] } else { &d };
    assert_eq!((doc["data_source_e"].as_str(), doc["type_e"].as_str()), (Some("mrz"), Some("identification_card")), "{d}");
    assert_eq!(doc["document_number"], h.number.as_str(), "{d}");
    assert_eq!((doc["first_name"].as_str(), doc["last_name"].as_str()), (Some("JOHN"), Some("MARLOWE")), "{d}");
    assert_eq!((doc["birth_date"].as_str(), doc["expires_at"].as_str()), (Some("1978-05-03"), Some("2031-08-07")), "{d}");

    // A front whose printed birth date is not the one in the MRZ: day and
    // month swapped (05.03.1978 against 3 May 1978 in the MRZ), which no
    // reading order may excuse.
    let capture = Capture { front: (jpeg(&front(&h, "780305", &face), 92), "image/jpeg"), back: Some((back, "image/jpeg")), selfie: None };
    let (_, verdict, _, t) = run_session_as(&app, capture, json!({"perform_aamva_test": false}), "identification_card").await;
    assert_eq!(t["details"]["birth_date_crosscheck"]["status"], "fail", "{t}");
    assert_eq!(t["name_crosscheck"], true, "{t}");
    assert_eq!(verdict["verified"], false, "{t}");
    app.cleanup().await;
}
