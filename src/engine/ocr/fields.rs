//! Fields of a card front from its OCR lines: labels ("DOB", "LN", "4d DLN",
//! ...) are found in each row, the text up to the next label is the value,
//! and the label itself is stripped. Address = a street row starting with a
//! house number followed by a "CITY, ST 12345" row.
//!
//! What OCR cannot tell is left `None`: a missing field is better than a
//! guessed one, since the crosschecks compare these values with the barcode.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::TextLine;
use crate::engine::DocumentFields;
use crate::domain::{DataSource, DocumentType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    BirthDate,
    Expires,
    Issued,
    Number,
    LastName,
    FirstName,
    /// Labels whose values are not extracted but that end the previous value.
    Other,
}

/// Longest alternatives first: the regex takes the leftmost-first match.
static LABELS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:\d{1,2}[A-D]?\s+)?(DATE OF BIRTH|BIRTH DATE|DOB|DATE OF EXPIRY|EXPIRES|EXPIRATION DATE|EXPIRATION|EXP|DATE OF ISSUE|ISSUE DATE|ISSUED|ISS|PASSPORT NUMBER|PASSPORT NO|DOCUMENT NUMBER|DOCUMENT NO|NATIONALITY|PLACE OF BIRTH|LICENSE NUMBER|LICENSE NO|LIC NO|DL NO|DLN|DL|ID NO|LAST NAME|FAMILY NAME|SURNAME|LN|FIRST NAME|GIVEN NAMES|GIVEN NAME|FN|SEX|HGT|HEIGHT|WGT|WEIGHT|EYES|HAIR|CLASS|RSTR|REST|END|DD|DONOR|VETERAN)[.:#]?",
    )
    .expect("label regex")
});
static NUMERIC_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})").expect("date regex"));
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\d{4})-(\d{2})-(\d{2})").expect("iso regex"));
static TEXT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{1,2})\s*(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*\s*(\d{4})").expect("text date regex")
});
static CITY_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Z][A-Z .'\-]*?),?\s+([A-Z]{2})\s+(\d{5})(?:\s*-?\s*\d{4})?$").expect("city regex"));
static STREET_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:8\s+)?(\d+[A-Z]?\s+[A-Z0-9][A-Z0-9 .#'\-]*)$").expect("street regex"));
static LAST_COMMA_FIRST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Z][A-Z'\-]+(?: [A-Z][A-Z'\-]+)?),\s*([A-Z][A-Z'\-]+)(?:\s+([A-Z][A-Z'\-]*))?$").expect("name regex"));

fn label_kind(label: &str) -> Label {
    match label {
        "DATE OF BIRTH" | "BIRTH DATE" | "DOB" => Label::BirthDate,
        "DATE OF EXPIRY" | "EXPIRES" | "EXPIRATION DATE" | "EXPIRATION" | "EXP" => Label::Expires,
        "DATE OF ISSUE" | "ISSUE DATE" | "ISSUED" | "ISS" => Label::Issued,
        "PASSPORT NUMBER" | "PASSPORT NO" | "DOCUMENT NUMBER" | "DOCUMENT NO" | "LICENSE NUMBER" | "LICENSE NO" | "LIC NO" | "DL NO" | "DLN" | "DL"
        | "ID NO" => Label::Number,
        "LAST NAME" | "FAMILY NAME" | "SURNAME" | "LN" => Label::LastName,
        "FIRST NAME" | "GIVEN NAMES" | "GIVEN NAME" | "FN" => Label::FirstName,
        _ => Label::Other,
    }
}

/// Upper case, one space between words, without characters OCR adds
/// around text (quotes, bullets).
fn normalize(text: &str) -> String {
    let upper: String = text
        .to_uppercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || " /.,:#'-".contains(c) { c } else { ' ' })
        .collect();
    upper.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rows of the card: lines whose vertical centres are within half a
/// line height are one row, joined left to right.
fn rows(lines: &[TextLine]) -> Vec<String> {
    let mut sorted = lines.to_vec();
    super::sort_reading_order(&mut sorted);
    let mut out: Vec<String> = Vec::new();
    let mut anchor: Option<(f32, f32)> = None;
    for line in &sorted {
        let text = normalize(&line.text);
        if text.is_empty() {
            continue;
        }
        match anchor {
            Some((y, tol)) if line.center_y() - y <= tol => {
                if let Some(last) = out.last_mut() {
                    last.push(' ');
                    last.push_str(&text);
                }
            }
            _ => {
                anchor = Some((line.center_y(), line.height() as f32 / 2.0));
                out.push(text);
            }
        }
    }
    out
}

/// (label kind, value) pairs of one row: each value runs to the next label.
fn labelled_values(row: &str) -> Vec<(Label, String)> {
    let mut found: Vec<(Label, usize, usize)> = Vec::new();
    for m in LABELS.captures_iter(row) {
        let (Some(whole), Some(label)) = (m.get(0), m.get(1)) else { continue };
        // A label is a word of its own: "EXP" in "EXPRESS" is not one.
        let next = row[whole.end()..].chars().next();
        if next.is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        found.push((label_kind(label.as_str()), whole.start(), whole.end()));
    }
    let mut out = Vec::new();
    for (i, (kind, _, end)) in found.iter().enumerate() {
        let stop = found.get(i + 1).map(|f| f.1).unwrap_or(row.len());
        let value = row.get(*end..stop).unwrap_or("").trim().trim_matches(|c: char| ",.:#".contains(c)).trim();
        out.push((*kind, value.to_string()));
    }
    out
}

/// A date in `value`: numeric dates written with `/` or `-` are month first
/// on US documents (`month_first`), day first on other documents and
/// whenever the month would be > 12. Dates written with dots
/// (`05.08.1974`) are day first on every document: dots are the day-first
/// convention (Europe and most ID cards); US documents print `/` or `-`.
pub fn parse_date(value: &str, month_first: bool) -> Option<NaiveDate> {
    if let Some(c) = ISO_DATE.captures(value) {
        return NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
    }
    if let Some(c) = NUMERIC_DATE.captures(value) {
        let (a, b, y): (u32, u32, i32) = (c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
        let dotted = c.get(0).is_some_and(|m| m.as_str().contains('.'));
        let (m, d) = if (month_first && !dotted && a <= 12) || b > 12 { (a, b) } else { (b, a) };
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    if let Some(c) = TEXT_DATE.captures(value) {
        const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
        let m = MONTHS.iter().position(|x| *x == &c[2])? as u32 + 1;
        return NaiveDate::from_ymd_opt(c[3].parse().ok()?, m, c[1].parse().ok()?);
    }
    None
}

/// The first token of `value` that looks like a document number (letters
/// and digits with at least one digit, 4..=20 characters).
fn document_number(value: &str) -> Option<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| t.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .find(|t| (4..=20).contains(&t.len()) && t.chars().any(|c| c.is_ascii_digit()) && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
}

/// The name words of `value` (letters, apostrophes, hyphens).
fn name_words(value: &str) -> Vec<String> {
    value
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
        .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-'))
        .map(str::to_string)
        .collect()
}

fn document_type_of(text: &str) -> Option<DocumentType> {
    if text.contains("PASSPORT CARD") {
        Some(DocumentType::PassportCard)
    } else if text.contains("PASSPORT") {
        Some(DocumentType::Passport)
    } else if text.contains("DRIVER LICENSE") || text.contains("DRIVER'S LICENSE") || text.contains("DRIVERS LICENSE") {
        Some(DocumentType::DriverLicense)
    } else if text.contains("IDENTIFICATION CARD") || text.contains("ID CARD") {
        Some(DocumentType::IdentificationCard)
    } else {
        None
    }
}

/// Sets the field `kind` from `value` when it is still empty and `value`
/// holds one; whether it did.
fn fill(f: &mut DocumentFields, kind: Label, value: &str, us_style: bool) -> bool {
    fn set<T>(slot: &mut Option<T>, read: Option<T>) -> bool {
        if slot.is_some() {
            return false;
        }
        *slot = read;
        slot.is_some()
    }
    match kind {
        Label::BirthDate => set(&mut f.birth_date, parse_date(value, us_style)),
        Label::Expires => set(&mut f.expires_at, parse_date(value, us_style)),
        Label::Issued => set(&mut f.issued_at, parse_date(value, us_style)),
        Label::Number => set(&mut f.document_number, document_number(value)),
        Label::LastName => set(&mut f.last_name, Some(name_words(value).join(" ")).filter(|s| !s.is_empty())),
        Label::FirstName if f.first_name.is_none() => {
            let words = name_words(value);
            f.first_name = words.first().cloned();
            f.middle_name = (words.len() > 1).then(|| words[1..].join(" "));
            f.first_name.is_some()
        }
        Label::FirstName | Label::Other => false,
    }
}

/// The fields printed on a card front, `data_source = ocr`.
pub fn extract(lines: &[TextLine], document_type: DocumentType) -> DocumentFields {
    let rows = rows(lines);
    let all = rows.join("\n");
    let detected_type = document_type_of(&all);
    let us_style = !matches!(detected_type.unwrap_or(document_type), DocumentType::Passport);
    let mut f = DocumentFields { data_source: Some(DataSource::Ocr), document_type: detected_type, ..Default::default() };
    let labelled: Vec<Vec<(Label, String)>> = rows.iter().map(|r| labelled_values(r)).collect();
    for (i, row_labels) in labelled.iter().enumerate() {
        // Passports and many ID cards print the label above its value
        // ("Surname / Nom" then "ERIKSSON"): when the row's own text after a
        // label gives nothing, the next row is the value if it has no label.
        let below = rows.get(i + 1).filter(|_| labelled.get(i + 1).is_some_and(Vec::is_empty));
        for (kind, value) in row_labels {
            for candidate in std::iter::once(value.as_str()).chain(below.map(String::as_str)) {
                if fill(&mut f, *kind, candidate, us_style) {
                    break;
                }
            }
        }
    }
    if f.last_name.is_none() {
        // "SMITH, JOHN MICHAEL" on a row of its own.
        if let Some(c) = rows.iter().find_map(|r| LAST_COMMA_FIRST.captures(r)) {
            f.last_name = Some(c[1].to_string());
            f.first_name = Some(c[2].to_string());
            f.middle_name = c.get(3).map(|m| m.as_str().to_string());
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let Some(city) = CITY_LINE.captures(row) else { continue };
        let street = i.checked_sub(1).and_then(|j| STREET_LINE.captures(&rows[j])).map(|c| c[1].to_string());
        if street.is_none() && rows.get(i.wrapping_sub(1)).is_some_and(|r| !labelled_values(r).is_empty()) {
            continue;
        }
        f.street = street;
        f.city = Some(city[1].trim().to_string());
        f.state = Some(city[2].to_string());
        f.postal_code = Some(city[3].to_string());
        break;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, x: u32, y: u32) -> TextLine {
        TextLine { text: text.into(), confidence: 0.95, bbox: [x, y, x + 10 * text.len() as u32, y + 30], mrz: None, angle_deg: 0.0 }
    }

    #[test]
    fn values_printed_below_their_labels_are_read() {
        let lines = vec![
            line("PASSPORT", 60, 40),
            line("Surname / Nom", 450, 140),
            line("ERIKSSON", 450, 175),
            line("Given names / Prenoms", 450, 250),
            line("ANNA MARIA", 450, 285),
            line("Passport No.", 450, 360),
            line("L898902C3", 450, 395),
            line("Date of birth", 450, 470),
            line("12/08/1974", 450, 505),
            line("Nationality", 450, 580),
            line("UTOPIAN", 450, 615),
        ];
        let f = extract(&lines, DocumentType::Passport);
        assert_eq!(f.last_name.as_deref(), Some("ERIKSSON"));
        assert_eq!((f.first_name.as_deref(), f.middle_name.as_deref()), (Some("ANNA"), Some("MARIA")));
        assert_eq!(f.document_number.as_deref(), Some("L898902C3"));
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
        // A label row followed by another label row takes nothing from it.
        let f = extract(&[line("Surname", 450, 140), line("Nationality", 450, 175), line("UTOPIAN", 450, 210)], DocumentType::Passport);
        assert_eq!(f.last_name, None);
    }

    #[test]
    fn labels_are_stripped_and_values_split_at_the_next_label() {
        let lines = vec![
            line("DRIVER LICENSE", 40, 20),
            line("4d DLN D1234567", 300, 80),
            line("LN SMITH", 300, 130),
            line("FN JOHN MICHAEL", 300, 180),
            line("123 MAIN ST", 300, 230),
            line("SPRINGFIELD, IL 62701", 300, 280),
            line("3 DOB 04/05/1990", 300, 330),
            line("4b EXP 04/05/2030", 600, 331),
            line("SEX M HGT 5-10 ISS 01/02/2022", 300, 380),
        ];
        let f = extract(&lines, DocumentType::Unknown);
        assert_eq!(f.document_type, Some(DocumentType::DriverLicense));
        assert_eq!(f.document_number.as_deref(), Some("D1234567"));
        assert_eq!((f.first_name.as_deref(), f.middle_name.as_deref()), (Some("JOHN"), Some("MICHAEL")));
        assert_eq!(f.last_name.as_deref(), Some("SMITH"));
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1990, 4, 5));
        assert_eq!(f.expires_at, NaiveDate::from_ymd_opt(2030, 4, 5));
        assert_eq!(f.issued_at, NaiveDate::from_ymd_opt(2022, 1, 2));
        assert_eq!(f.street.as_deref(), Some("123 MAIN ST"));
        assert_eq!((f.city.as_deref(), f.state.as_deref(), f.postal_code.as_deref()), (Some("SPRINGFIELD"), Some("IL"), Some("62701")));
        assert_eq!(f.data_source, Some(DataSource::Ocr));
    }

    #[test]
    fn words_that_merely_start_with_a_label_are_not_labels() {
        let lines = vec![line("EXPRESS DELIVERY", 0, 0), line("DLN 99", 0, 50)];
        let f = extract(&lines, DocumentType::DriverLicense);
        assert_eq!(f.expires_at, None);
        assert_eq!(f.document_number, None, "too short to be a document number");
    }

    #[test]
    fn comma_names_and_day_first_dates() {
        let lines = vec![line("PASSPORT", 0, 0), line("GARCIA LOPEZ, MARIA", 0, 50), line("DOB 21.07.1985", 0, 100)];
        let f = extract(&lines, DocumentType::Unknown);
        assert_eq!(f.last_name.as_deref(), Some("GARCIA LOPEZ"));
        assert_eq!(f.first_name.as_deref(), Some("MARIA"));
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1985, 7, 21));
        assert_eq!(parse_date("05 APR 1990", false), NaiveDate::from_ymd_opt(1990, 4, 5));
        assert_eq!(parse_date("13/13/1990", true), None);
    }

    #[test]
    fn dotted_dates_are_day_first_even_on_cards() {
        // A national ID card prints 05.08.1974 for 5 August; a US licence
        // prints 08/05/1974 for the same day.
        assert_eq!(parse_date("05.08.1974", true), NaiveDate::from_ymd_opt(1974, 8, 5));
        assert_eq!(parse_date("08/05/1974", true), NaiveDate::from_ymd_opt(1974, 8, 5));
        assert_eq!(parse_date("08-05-1974", true), NaiveDate::from_ymd_opt(1974, 8, 5));
        assert_eq!(parse_date("05/08/1974", false), NaiveDate::from_ymd_opt(1974, 8, 5));
        // Only one order is a date: it is taken whatever the convention.
        assert_eq!(parse_date("13/05/1974", true), NaiveDate::from_ymd_opt(1974, 5, 13));
        assert_eq!(parse_date("05.13.1974", true), NaiveDate::from_ymd_opt(1974, 5, 13));
        let lines = vec![line("IDENTITY CARD", 0, 0), line("DATE OF BIRTH 05.08.1974", 0, 50), line("DATE OF EXPIRY 03.04.2031", 0, 100)];
        let f = extract(&lines, DocumentType::IdentificationCard);
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1974, 8, 5));
        assert_eq!(f.expires_at, NaiveDate::from_ymd_opt(2031, 4, 3));
    }
}
