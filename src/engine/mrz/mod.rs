//! Machine-readable zones (ICAO 9303): TD3 (passports, 2 x 44) and TD1
//! (ID and passport cards, 3 x 30).
//!
//! OCR confuses letters and digits (`0`/`O`, `1`/`I`, `5`/`S`, `8`/`B`,
//! ...), and check digits (weights 7-3-1) cannot see every swap. So each
//! field is first mapped by its type (a date field holds digits, a name
//! holds letters), and an alphanumeric field whose check digit fails is
//! repaired only when exactly one confusable substitution makes it pass.
//! A field whose check digit still fails is reported, never accepted.

use chrono::NaiveDate;

use crate::engine::DocumentFields;
use crate::domain::{DataSource, DocumentType, Gender};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    /// Passport data page: 2 lines of 44.
    Td3,
    /// ID card / passport card: 3 lines of 30.
    Td1,
}

/// One check digit's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDigit {
    pub field: &'static str,
    pub valid: bool,
}

/// A parsed MRZ.
#[derive(Debug, Clone, PartialEq)]
pub struct Mrz {
    pub format: MrzFormat,
    /// The normalised lines (after type mapping and repairs).
    pub lines: Vec<String>,
    /// `P`, `I`, `ID`, `AC`, `IP`, ... (fillers removed).
    pub document_code: String,
    pub issuing_state: String,
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub nationality: String,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Gender>,
    pub expiry_date: Option<NaiveDate>,
    pub optional_data: String,
    pub checks: Vec<CheckDigit>,
    /// Characters changed to make a check digit pass (field names).
    pub repaired: Vec<&'static str>,
}

impl Mrz {
    /// Every check digit verifies.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|c| c.valid)
    }

    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.valid).map(|c| c.field).collect()
    }

    /// The document type the MRZ declares.
    pub fn document_type(&self) -> DocumentType {
        match self.format {
            MrzFormat::Td3 => DocumentType::Passport,
            // The US passport card's document code is `IP`; other TD1 cards are national IDs.
            MrzFormat::Td1 if self.document_code == "IP" => DocumentType::PassportCard,
            MrzFormat::Td1 => DocumentType::IdentificationCard,
        }
    }

    /// The document record (`data_source = mrz`).
    pub fn fields(&self) -> DocumentFields {
        let mut given = self.given_names.split(' ').filter(|s| !s.is_empty());
        let first = given.next().map(str::to_string);
        let middle: Vec<&str> = given.collect();
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        DocumentFields {
            data_source: Some(DataSource::Mrz),
            document_type: Some(self.document_type()),
            document_number: non_empty(&self.document_number),
            issuing_country: non_empty(&self.issuing_state),
            first_name: first,
            middle_name: (!middle.is_empty()).then(|| middle.join(" ")),
            last_name: non_empty(&self.surname),
            birth_date: self.birth_date,
            expires_at: self.expiry_date,
            gender: self.sex,
            raw_payload: Some(self.lines.join("\n")),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    #[error("no machine-readable zone: {0}")]
    NotFound(String),
}

/// The value of one MRZ character for check digits: digits, A=10..Z=35, `<`=0.
fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u32),
        b'A'..=b'Z' => Some((c - b'A') as u32 + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit (weights 7, 3, 1) of `s`, or `None` for a character outside the MRZ set.
pub fn check_digit(s: &str) -> Option<u8> {
    const W: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, b) in s.bytes().enumerate() {
        sum += char_value(b)? * W[i % 3];
    }
    Some((sum % 10) as u8 + b'0')
}

fn to_digit(c: u8) -> u8 {
    match c {
        b'O' | b'Q' | b'D' | b'U' => b'0',
        b'I' | b'L' | b'J' => b'1',
        b'Z' => b'2',
        b'S' => b'5',
        b'B' => b'8',
        b'G' => b'6',
        b'T' => b'7',
        b'A' => b'4',
        _ => c,
    }
}

fn to_letter(c: u8) -> u8 {
    match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'5' => b'S',
        b'8' => b'B',
        b'6' => b'G',
        b'4' => b'A',
        b'7' => b'T',
        _ => c,
    }
}

/// The alternatives OCR may have confused a character with.
fn confusables(c: u8) -> &'static [u8] {
    match c {
        b'0' => b"OQD",
        b'O' | b'Q' | b'D' => b"0",
        b'1' => b"I",
        b'I' => b"1",
        b'2' => b"Z",
        b'Z' => b"2",
        b'5' => b"S",
        b'S' => b"5",
        b'8' => b"B",
        b'B' => b"8",
        b'6' => b"G",
        b'G' => b"6",
        _ => b"",
    }
}

/// Normalises one OCR'd line: uppercase, MRZ characters only (common OCR
/// renderings of `<` mapped), spaces dropped.
pub fn normalise_line(line: &str) -> String {
    line.chars()
        .filter_map(|c| match c {
            'a'..='z' => Some(c.to_ascii_uppercase()),
            'A'..='Z' | '0'..='9' | '<' => Some(c),
            '«' | '‹' | '(' | '[' | '{' | 'く' => Some('<'),
            _ => None,
        })
        .collect()
}

/// Fits a line to `len` characters. OCR often reads a run of fillers a
/// character or two short or long (a CTC decoder merges repeated symbols),
/// which would shift every field after it: the longest run of `<` (the empty
/// tail of a name or optional-data field) absorbs the difference. Without
/// such a run the end is padded with fillers or cut. A character lost
/// elsewhere still misplaces fields, and their check digits then fail.
fn fit(line: &str, len: usize) -> String {
    let mut bytes = line.as_bytes().to_vec();
    if bytes.len() != len
        && let Some((start, run)) = longest_filler_run(&bytes).filter(|&(_, run)| run >= 2)
    {
        if bytes.len() < len {
            let missing = len - bytes.len();
            bytes.splice(start..start, std::iter::repeat_n(b'<', missing));
        } else {
            // Keep at least one filler: it separates the fields around it.
            let extra = (bytes.len() - len).min(run - 1);
            bytes.drain(start..start + extra);
        }
    }
    let mut s: String = String::from_utf8_lossy(&bytes).into_owned();
    while s.len() > len && s.ends_with('<') {
        s.pop();
    }
    s.truncate(len);
    while s.len() < len {
        s.push('<');
    }
    s
}

/// (start, length) of the longest run of `<`; the last one on ties (the
/// empty tail of a line).
fn longest_filler_run(line: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'<' {
            let start = i;
            while i < line.len() && line[i] == b'<' {
                i += 1;
            }
            if best.is_none_or(|(_, run)| i - start >= run) {
                best = Some((start, i - start));
            }
        } else {
            i += 1;
        }
    }
    best
}

/// Finds an MRZ among OCR'd lines (any order, with noise lines) and parses it.
pub fn find_in_lines(lines: &[String]) -> Result<Mrz, MrzError> {
    let candidates: Vec<String> =
        lines.iter().map(|l| normalise_line(l)).filter(|l| l.len() >= 25 && (l.contains('<') || l.len() >= 40)).collect();
    // TD3: two consecutive lines of ~44, the first starting with P.
    for pair in candidates.windows(2) {
        if pair[0].len() >= 38 && pair[1].len() >= 38 && pair[0].starts_with('P') {
            return parse_td3(&pair[0], &pair[1]);
        }
    }
    for tri in candidates.windows(3) {
        if tri.iter().all(|l| (25..=36).contains(&l.len())) {
            return parse_td1(&tri[0], &tri[1], &tri[2]);
        }
    }
    Err(MrzError::NotFound(format!("{} candidate lines, no TD3 or TD1 pattern", candidates.len())))
}

/// Parses MRZ text (lines separated by newlines).
pub fn parse(text: &str) -> Result<Mrz, MrzError> {
    let lines: Vec<String> = text.lines().map(normalise_line).filter(|l| !l.is_empty()).collect();
    match lines.len() {
        2 => parse_td3(&lines[0], &lines[1]),
        3 => parse_td1(&lines[0], &lines[1], &lines[2]),
        n => Err(MrzError::NotFound(format!("{n} lines (expected 2 or 3)"))),
    }
}

/// A mutable MRZ line with typed field accessors.
struct Line(Vec<u8>);

impl Line {
    fn new(s: &str, len: usize) -> Self {
        Line(fit(&normalise_line(s), len).into_bytes())
    }
    fn text(&self, r: std::ops::Range<usize>) -> String {
        String::from_utf8_lossy(&self.0[r]).into_owned()
    }
    fn map(&mut self, r: std::ops::Range<usize>, f: fn(u8) -> u8) {
        for c in &mut self.0[r] {
            if *c != b'<' {
                *c = f(*c);
            }
        }
    }
    fn as_string(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// Verifies the check digit at `cd` over `data` (ranges in `line`), repairing
/// an alphanumeric field by one unique confusable substitution when allowed.
fn verify(
    line: &mut Line,
    data: std::ops::Range<usize>,
    cd: usize,
    field: &'static str,
    repairable: bool,
    checks: &mut Vec<CheckDigit>,
    repaired: &mut Vec<&'static str>,
) {
    let ok = |line: &Line| check_digit(&line.text(data.clone())).is_some_and(|d| d == line.0[cd]);
    if ok(line) {
        checks.push(CheckDigit { field, valid: true });
        return;
    }
    if repairable {
        let mut fixes = Vec::new();
        for i in data.clone() {
            let orig = line.0[i];
            for &alt in confusables(orig) {
                line.0[i] = alt;
                if ok(line) {
                    fixes.push((i, alt));
                }
            }
            line.0[i] = orig;
        }
        if let [(i, alt)] = fixes[..] {
            line.0[i] = alt;
            repaired.push(field);
            checks.push(CheckDigit { field, valid: true });
            return;
        }
    }
    checks.push(CheckDigit { field, valid: false });
}

fn yymmdd(s: &str, future: bool) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy: i32 = s[0..2].parse().ok()?;
    let (m, d): (u32, u32) = (s[2..4].parse().ok()?, s[4..6].parse().ok()?);
    // Expiry dates are this century; birth dates of people alive now: 00..30 -> 2000s.
    let year = if future || yy <= 30 { 2000 + yy } else { 1900 + yy };
    NaiveDate::from_ymd_opt(year, m, d)
}

fn sex(c: u8) -> Option<Gender> {
    match c {
        b'M' => Some(Gender::Male),
        b'F' => Some(Gender::Female),
        b'X' => Some(Gender::NonBinary),
        _ => None,
    }
}

fn names(field: &str) -> (String, String) {
    let field = field.trim_end_matches('<');
    let (surname, given) = field.split_once("<<").unwrap_or((field, ""));
    let clean = |s: &str| s.split('<').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    (clean(surname), clean(given))
}

fn strip(s: &str) -> String {
    s.trim_end_matches('<').replace('<', " ").trim().to_string()
}

/// TD3: line 1 `P<CCCSURNAME<<GIVEN<NAMES`, line 2 number, nationality, dates.
pub fn parse_td3(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
    let mut a = Line::new(l1, 44);
    let mut b = Line::new(l2, 44);
    a.map(2..5, to_letter);
    a.map(5..44, to_letter);
    b.map(9..10, to_digit);
    b.map(10..13, to_letter);
    b.map(13..20, to_digit);
    b.map(20..21, |c| match c {
        b'H' | b'N' => b'M',
        b'E' | b'P' => b'F',
        _ => c,
    });
    b.map(21..28, to_digit);
    b.map(42..44, to_digit);
    let (mut checks, mut repaired) = (Vec::new(), Vec::new());
    verify(&mut b, 0..9, 9, "document_number", true, &mut checks, &mut repaired);
    verify(&mut b, 13..19, 19, "birth_date", false, &mut checks, &mut repaired);
    verify(&mut b, 21..27, 27, "expiry_date", false, &mut checks, &mut repaired);
    if b.0[42] != b'<' || b.text(28..42).trim_end_matches('<').len() > 0 {
        verify(&mut b, 28..42, 42, "personal_number", true, &mut checks, &mut repaired);
    }
    let composite = |b: &Line| format!("{}{}{}", b.text(0..10), b.text(13..20), b.text(21..43));
    let ok = check_digit(&composite(&b)).is_some_and(|d| d == b.0[43]);
    checks.push(CheckDigit { field: "composite", valid: ok });
    let (surname, given_names) = names(&a.text(5..44));
    Ok(Mrz {
        format: MrzFormat::Td3,
        document_code: strip(&a.text(0..2)),
        issuing_state: strip(&a.text(2..5)),
        surname,
        given_names,
        document_number: strip(&b.text(0..9)),
        nationality: strip(&b.text(10..13)),
        birth_date: yymmdd(&b.text(13..19), false),
        sex: sex(b.0[20]),
        expiry_date: yymmdd(&b.text(21..27), true),
        optional_data: strip(&b.text(28..42)),
        lines: vec![a.as_string(), b.as_string()],
        checks,
        repaired,
    })
}

/// TD1: line 1 code, state, number, optional; line 2 dates, sex,
/// nationality, composite; line 3 names.
pub fn parse_td1(l1: &str, l2: &str, l3: &str) -> Result<Mrz, MrzError> {
    let mut a = Line::new(l1, 30);
    let mut b = Line::new(l2, 30);
    let mut c = Line::new(l3, 30);
    a.map(2..5, to_letter);
    a.map(14..15, to_digit);
    b.map(0..7, to_digit);
    b.map(7..8, |c| match c {
        b'H' | b'N' => b'M',
        b'E' | b'P' => b'F',
        _ => c,
    });
    b.map(8..15, to_digit);
    b.map(15..18, to_letter);
    b.map(29..30, to_digit);
    c.map(0..30, to_letter);
    let (mut checks, mut repaired) = (Vec::new(), Vec::new());
    verify(&mut a, 5..14, 14, "document_number", true, &mut checks, &mut repaired);
    verify(&mut b, 0..6, 6, "birth_date", false, &mut checks, &mut repaired);
    verify(&mut b, 8..14, 14, "expiry_date", false, &mut checks, &mut repaired);
    let composite = |a: &Line, b: &Line| format!("{}{}{}", a.text(5..30), b.text(0..7), b.text(8..15)) + &b.text(18..29);
    let ok = check_digit(&composite(&a, &b)).is_some_and(|d| d == b.0[29]);
    checks.push(CheckDigit { field: "composite", valid: ok });
    let (surname, given_names) = names(&c.text(0..30));
    Ok(Mrz {
        format: MrzFormat::Td1,
        document_code: strip(&a.text(0..2)),
        issuing_state: strip(&a.text(2..5)),
        surname,
        given_names,
        document_number: strip(&a.text(5..14)),
        nationality: strip(&b.text(15..18)),
        birth_date: yymmdd(&b.text(0..6), false),
        sex: sex(b.0[7]),
        expiry_date: yymmdd(&b.text(8..14), true),
        optional_data: strip(&format!("{}{}", a.text(15..30), b.text(18..29))),
        lines: vec![a.as_string(), b.as_string(), c.as_string()],
        checks,
        repaired,
    })
}

/// Builds a valid MRZ (for tests and fixtures).
pub mod build {
    use super::check_digit;

    fn pad(s: &str, len: usize) -> String {
        let mut s: String = s.replace(' ', "<").chars().take(len).collect();
        while s.len() < len {
            s.push('<');
        }
        s
    }

    fn cd(s: &str) -> char {
        check_digit(s).map(char::from).unwrap_or('<')
    }

    /// TD3 lines for a passport.
    #[allow(clippy::too_many_arguments)]
    pub fn td3(state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 2] {
        let l1 = pad(&format!("P<{state}{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<")), 44);
        let num = pad(number, 9);
        let personal = pad("", 14);
        let mut l2 = format!("{num}{}{nationality}{birth}{}{sex}{expiry}{}{personal}{}", cd(&num), cd(birth), cd(expiry), cd(&personal));
        let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
        l2.push(cd(&composite));
        [l1, l2]
    }

    /// TD1 lines for a card (`code` `I<` or `IP` for a US passport card).
    #[allow(clippy::too_many_arguments)]
    pub fn td1(code: &str, state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 3] {
        let num = pad(number, 9);
        let l1 = format!("{}{state}{num}{}{}", pad(code, 2), cd(&num), pad("", 15));
        let mut l2 = format!("{birth}{}{sex}{expiry}{}{nationality}{}", cd(birth), cd(expiry), pad("", 11));
        let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
        l2.push(cd(&composite));
        let l3 = pad(&format!("{}<<{}", surname.replace(' ', "<"), given.replace(' ', "<")), 30);
        [l1, l2, l3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICAO 9303 part 4 specimen.
    const ICAO_L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const ICAO_L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn icao_specimen_td3_verifies() {
        let m = parse_td3(ICAO_L1, ICAO_L2).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.given_names, "ANNA MARIA");
        assert_eq!(m.document_number, "L898902C3");
        assert_eq!(m.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
        assert_eq!(m.expiry_date, NaiveDate::from_ymd_opt(2012, 4, 15));
        assert_eq!(m.sex, Some(Gender::Female));
        assert_eq!(m.document_type(), DocumentType::Passport);
    }

    #[test]
    fn icao_specimen_td1_verifies() {
        let m = parse("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.document_number, "D23145890");
        assert_eq!(m.given_names, "ANNA MARIA");
        assert_eq!(m.document_type(), DocumentType::IdentificationCard);
    }

    #[test]
    fn ocr_confusions_are_repaired_by_field_type() {
        // O for 0 in a date, 5 for S in a name, I for 1 in the number's check digit area.
        let l1 = ICAO_L1.replace("ERIKSSON", "ERIK55ON");
        let l2 = ICAO_L2.replace("7408122", "74O8122");
        let m = parse_td3(&l1, &l2).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.surname, "ERIKSSON");
        assert_eq!(m.birth_date, NaiveDate::from_ymd_opt(1974, 8, 12));
    }

    #[test]
    fn filler_runs_read_short_or_long_keep_the_fields_in_place() {
        // Two fillers lost in the personal number, three extra in the name tail.
        let l1 = ICAO_L1.replacen("<<<<<<<<<<", "<<<<<<<<<<<<<", 1);
        let l2 = ICAO_L2.replace("B<<<<<10", "B<<<10");
        let m = parse_td3(&l1, &l2).unwrap();
        assert!(m.is_valid(), "{:?} {:?}", m.checks, m.lines);
        assert_eq!(m.lines, [ICAO_L1, ICAO_L2]);
        let td1 = parse("I<UTOD231458907<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap();
        assert!(td1.is_valid(), "{:?} {:?}", td1.checks, td1.lines);
        // A lost digit is not hidden by the realignment: its check fails.
        let m = parse_td3(ICAO_L1, &ICAO_L2.replace("7408122", "740812")).unwrap();
        assert!(!m.is_valid());
    }

    #[test]
    fn a_corrupted_digit_is_detected() {
        let l2 = ICAO_L2.replace("7408122", "7408172");
        let m = parse_td3(ICAO_L1, &l2).unwrap();
        assert!(!m.is_valid());
        assert!(m.failed_checks().contains(&"birth_date"));
    }

    #[test]
    fn builders_produce_valid_zones() {
        let [a, b] = build::td3("USA", "DOE", "JOHN PAUL", "123456789", "USA", "850315", 'M', "310101");
        let m = parse_td3(&a, &b).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.fields().middle_name.as_deref(), Some("PAUL"));
        let [a, b, c] = build::td1("IP", "USA", "DOE", "JANE", "C03005988", "USA", "900101", 'F', "300101");
        let m = parse_td1(&a, &b, &c).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.document_type(), DocumentType::PassportCard);
    }

    #[test]
    fn junk_is_not_an_mrz() {
        assert!(parse("hello").is_err());
        assert!(find_in_lines(&["DRIVER LICENSE".into(), "JOHN DOE".into()]).is_err());
        let _ = parse_td3("", "");
        let _ = parse_td1("é", "<", "");
    }
}
