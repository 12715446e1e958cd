//! Machine-readable zones (ICAO 9303): TD3 (passports, 2 x 44), TD1
//! (ID and passport cards, 3 x 30) and TD2 (ID cards and visas, 2 x 36).
//!
//! OCR confuses letters and digits (`0`/`O`, `1`/`I`, `5`/`S`, `8`/`B`,
//! ...), and check digits (weights 7-3-1) cannot see every swap. So each
//! field is first mapped by its type (a date field holds digits, a name
//! holds letters), and an alphanumeric field whose check digit fails is
//! repaired only when one letter/digit look-alike substitution makes it
//! pass; `<` read
//! as `K` in filler runs (invisible to check digits) is put back. A field
//! whose check digit still fails is reported, never accepted.

use chrono::NaiveDate;

use crate::engine::DocumentFields;
use crate::domain::{DataSource, DocumentType, Gender};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzFormat {
    /// Passport data page: 2 lines of 44.
    Td3,
    /// ID card / passport card: 3 lines of 30.
    Td1,
    /// ID card or visa of 105 x 74 mm: 2 lines of 36.
    Td2,
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
            MrzFormat::Td1 | MrzFormat::Td2 => DocumentType::IdentificationCard,
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
    // Two consecutive lines: TD3 (~44, a passport starts with P) or TD2 (~36).
    for pair in candidates.windows(2) {
        let (a, b) = (pair[0].len(), pair[1].len());
        if a >= 40 && b >= 38 && pair[0].starts_with('P') {
            return parse_td3(&pair[0], &pair[1]);
        }
    }
    for tri in candidates.windows(3) {
        if tri.iter().all(|l| (25..=33).contains(&l.len())) {
            return parse_td1(&tri[0], &tri[1], &tri[2]);
        }
    }
    for pair in candidates.windows(2) {
        let (a, b) = (pair[0].len(), pair[1].len());
        if (32..=39).contains(&a) && (32..=39).contains(&b) && pair[0].as_bytes()[0].is_ascii_uppercase() {
            return parse_td2(&pair[0], &pair[1]);
        }
        if a >= 38 && b >= 38 && pair[0].starts_with('P') {
            return parse_td3(&pair[0], &pair[1]);
        }
    }
    // The previous rule for TD1: three lines of 25..36.
    for tri in candidates.windows(3) {
        if tri.iter().all(|l| (25..=36).contains(&l.len())) {
            return parse_td1(&tri[0], &tri[1], &tri[2]);
        }
    }
    Err(MrzError::NotFound(format!("{} candidate lines, no TD3, TD1 or TD2 pattern", candidates.len())))
}

/// Parses MRZ text (lines separated by newlines): two lines are TD3 or TD2
/// by their length, three are TD1.
pub fn parse(text: &str) -> Result<Mrz, MrzError> {
    let lines: Vec<String> = text.lines().map(normalise_line).filter(|l| !l.is_empty()).collect();
    match lines.len() {
        2 if lines[0].len() + lines[1].len() <= 80 => parse_td2(&lines[0], &lines[1]),
        2 => parse_td3(&lines[0], &lines[1]),
        3 => parse_td1(&lines[0], &lines[1], &lines[2]),
        n => Err(MrzError::NotFound(format!("{n} lines (expected 2 or 3)"))),
    }
}

/// The lines of a zone being read, each fitted to its length.
struct Zone(Vec<Vec<u8>>);

/// A run of characters: (line, range).
type Span = (usize, std::ops::Range<usize>);

impl Zone {
    fn new(lines: &[&str], len: usize) -> Self {
        Zone(lines.iter().map(|l| fit(&normalise_line(l), len).into_bytes()).collect())
    }
    fn text(&self, (line, r): &Span) -> String {
        String::from_utf8_lossy(&self.0[*line][r.clone()]).into_owned()
    }
    fn at(&self, (line, i): (usize, usize)) -> u8 {
        self.0[line][i]
    }
    fn map(&mut self, (line, r): Span, f: fn(u8) -> u8) {
        for c in &mut self.0[line][r] {
            if *c != b'<' {
                *c = f(*c);
            }
        }
    }
    fn lines(&self) -> Vec<String> {
        self.0.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    }
}

/// What a field may hold, which decides the repairs tried on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits only (dates): mapped to digits, never repaired.
    Numeric,
    /// Letters and digits (document and personal numbers).
    Alphanumeric,
}

/// A field protected by its own check digit.
struct Field {
    name: &'static str,
    data: Span,
    cd: (usize, usize),
    kind: Kind,
}

/// The composite check digit over several spans.
struct Composite {
    parts: Vec<Span>,
    cd: (usize, usize),
}

fn field_ok(zone: &Zone, f: &Field) -> bool {
    check_digit(&zone.text(&f.data)).is_some_and(|d| d == zone.at(f.cd))
}

fn composite_ok(zone: &Zone, c: &Composite) -> bool {
    let text: String = c.parts.iter().map(|p| zone.text(p)).collect();
    check_digit(&text).is_some_and(|d| d == zone.at(c.cd))
}

/// Positions of a field with the characters each may be instead: the
/// letter/digit look-alikes. A different digit is never tried: a digit
/// changed on the document must fail its check, not be repaired.
fn alternatives(zone: &Zone, f: &Field) -> Vec<((usize, usize), &'static [u8])> {
    let (line, r) = &f.data;
    r.clone().map(|i| ((*line, i), confusables(zone.at((*line, i))))).filter(|(_, alts)| !alts.is_empty()).collect()
}

/// The changes (one, or two for an alphanumeric field) that make `f`'s
/// check digit verify.
fn candidate_fixes(zone: &mut Zone, f: &Field, pairs: bool) -> Vec<Vec<((usize, usize), u8)>> {
    let alts = alternatives(zone, f);
    let mut fixes = Vec::new();
    let set = |zone: &mut Zone, (l, i): (usize, usize), c: u8| zone.0[l][i] = c;
    for (a, (pa, alts_a)) in alts.iter().enumerate() {
        let orig_a = zone.at(*pa);
        for &ca in alts_a.iter() {
            set(zone, *pa, ca);
            if field_ok(zone, f) {
                fixes.push(vec![(*pa, ca)]);
            }
            if pairs {
                for (pb, alts_b) in &alts[a + 1..] {
                    let orig_b = zone.at(*pb);
                    for &cb in alts_b.iter() {
                        set(zone, *pb, cb);
                        if field_ok(zone, f) {
                            fixes.push(vec![(*pa, ca), (*pb, cb)]);
                        }
                    }
                    set(zone, *pb, orig_b);
                }
            }
        }
        set(zone, *pa, orig_a);
    }
    fixes
}

/// Checks every field and repairs what the check digits allow. Only an
/// alphanumeric field (document or personal number) is repaired, and only
/// by a letter/digit look-alike (`0`/`O`, `1`/`I`, `8`/`B`, `5`/`S`,
/// `2`/`Z`, `6`/`G`): the one swap that makes its check digit verify, when
/// exactly one does. Dates are mapped to digits but never repaired (a digit
/// changed on the document fails).
fn verify_zone(zone: &mut Zone, fields: &[Field], composite: &Composite) -> (Vec<CheckDigit>, Vec<&'static str>) {
    let mut repaired = Vec::new();
    let apply = |zone: &mut Zone, fix: &[((usize, usize), u8)]| {
        for &((l, i), c) in fix {
            zone.0[l][i] = c;
        }
    };
    for f in fields.iter().filter(|f| f.kind == Kind::Alphanumeric) {
        if field_ok(zone, f) {
            continue;
        }
        // The composite cannot confirm a number's repair: the number starts
        // its composite at weight 7 too, so any fix of the one fixes the other.
        let confirmed = candidate_fixes(zone, f, false);
        if let [fix] = &confirmed[..] {
            apply(zone, fix);
            repaired.push(f.name);
        }
    }
    let mut checks: Vec<CheckDigit> = fields.iter().map(|f| CheckDigit { field: f.name, valid: field_ok(zone, f) }).collect();
    checks.push(CheckDigit { field: "composite", valid: composite_ok(zone, composite) });
    (checks, repaired)
}

/// `<` read as `K` (the glyphs share their diagonals; check digits cannot
/// see it, both count 0 mod 10): an isolated `K` between fillers in an
/// optional-data field, or after a second `<<` of a name field (names end
/// there, what follows is filler) becomes `<` again.
fn fillers_read_as_k(zone: &mut Zone, optional: &[Span], names: Option<Span>) {
    for (line, r) in optional {
        let l = &mut zone.0[*line];
        for i in r.clone() {
            let before = i == 0 || l[i - 1] == b'<';
            let after = i + 1 >= l.len() || l[i + 1] == b'<';
            if l[i] == b'K' && before && after && (i > r.start || i + 1 < r.end) {
                l[i] = b'<';
            }
        }
    }
    if let Some((line, r)) = names {
        let text = &mut zone.0[line][r];
        if let Some(sep) = text.windows(2).position(|w| w == b"<<") {
            let given = sep + 2;
            if let Some(end) = text[given..].windows(2).position(|w| w == b"<<").map(|p| given + p) {
                // Nothing but fillers and stray single letters after the end of the names.
                let tail = &text[end..];
                let stray = tail.split(|&c| c == b'<').all(|tok| tok.len() <= 1);
                if stray {
                    for c in &mut text[end..] {
                        *c = b'<';
                    }
                }
            }
        }
    }
}

fn to_sex(c: u8) -> u8 {
    match c {
        b'H' | b'N' => b'M',
        b'E' | b'P' => b'F',
        b'K' => b'<',
        _ => c,
    }
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

fn field(name: &'static str, line: usize, data: std::ops::Range<usize>, cd: usize, kind: Kind) -> Field {
    Field { name, data: (line, data), cd: (line, cd), kind }
}

/// The zone's second line in TD3 and TD2 (`n` = its length): number,
/// nationality, birth date, sex, expiry, optional data, composite.
fn td2_td3_line2(zone: &mut Zone, n: usize) -> (Vec<CheckDigit>, Vec<&'static str>) {
    zone.map((1, 9..10), to_digit);
    zone.map((1, 10..13), to_letter);
    zone.map((1, 13..20), to_digit);
    zone.map((1, 20..21), to_sex);
    zone.map((1, 21..28), to_digit);
    zone.map((1, n - 1..n), to_digit);
    let optional_end = if n == 44 { 42 } else { n - 1 };
    fillers_read_as_k(zone, &[(1, 28..optional_end)], None);
    let mut fields = vec![
        field("document_number", 1, 0..9, 9, Kind::Alphanumeric),
        field("birth_date", 1, 13..19, 19, Kind::Numeric),
        field("expiry_date", 1, 21..27, 27, Kind::Numeric),
    ];
    if n == 44 {
        zone.map((1, 42..43), to_digit);
        if zone.at((1, 42)) != b'<' || !zone.text(&(1, 28..42)).trim_end_matches('<').is_empty() {
            fields.push(field("personal_number", 1, 28..42, 42, Kind::Alphanumeric));
        }
    }
    let composite = Composite { parts: vec![(1, 0..10), (1, 13..20), (1, 21..n - 1)], cd: (1, n - 1) };
    verify_zone(zone, &fields, &composite)
}

/// TD3: line 1 `P<CCCSURNAME<<GIVEN<NAMES`, line 2 number, nationality, dates.
pub fn parse_td3(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
    parse_two_lines(MrzFormat::Td3, l1, l2, 44)
}

/// TD2 (ID cards and visas of 105 x 74 mm): like TD3 on two lines of 36,
/// the optional data cut to 7 characters and no personal-number check digit.
pub fn parse_td2(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
    parse_two_lines(MrzFormat::Td2, l1, l2, 36)
}

fn parse_two_lines(format: MrzFormat, l1: &str, l2: &str, n: usize) -> Result<Mrz, MrzError> {
    let mut zone = Zone::new(&[l1, l2], n);
    zone.map((0, 2..5), to_letter);
    zone.map((0, 5..n), to_letter);
    fillers_read_as_k(&mut zone, &[], Some((0, 5..n)));
    let (checks, repaired) = td2_td3_line2(&mut zone, n);
    let optional_end = if n == 44 { 42 } else { n - 1 };
    let (surname, given_names) = names(&zone.text(&(0, 5..n)));
    Ok(Mrz {
        format,
        document_code: strip(&zone.text(&(0, 0..2))),
        issuing_state: strip(&zone.text(&(0, 2..5))),
        surname,
        given_names,
        document_number: strip(&zone.text(&(1, 0..9))),
        nationality: strip(&zone.text(&(1, 10..13))),
        birth_date: yymmdd(&zone.text(&(1, 13..19)), false),
        sex: sex(zone.at((1, 20))),
        expiry_date: yymmdd(&zone.text(&(1, 21..27)), true),
        optional_data: strip(&zone.text(&(1, 28..optional_end))),
        lines: zone.lines(),
        checks,
        repaired,
    })
}

/// TD1: line 1 code, state, number, optional; line 2 dates, sex,
/// nationality, composite; line 3 names.
pub fn parse_td1(l1: &str, l2: &str, l3: &str) -> Result<Mrz, MrzError> {
    let mut zone = Zone::new(&[l1, l2, l3], 30);
    zone.map((0, 2..5), to_letter);
    zone.map((0, 14..15), to_digit);
    zone.map((1, 0..7), to_digit);
    zone.map((1, 7..8), to_sex);
    zone.map((1, 8..15), to_digit);
    zone.map((1, 15..18), to_letter);
    zone.map((1, 29..30), to_digit);
    zone.map((2, 0..30), to_letter);
    fillers_read_as_k(&mut zone, &[(0, 15..30), (1, 18..29)], Some((2, 0..30)));
    let fields = [
        field("document_number", 0, 5..14, 14, Kind::Alphanumeric),
        field("birth_date", 1, 0..6, 6, Kind::Numeric),
        field("expiry_date", 1, 8..14, 14, Kind::Numeric),
    ];
    let composite = Composite { parts: vec![(0, 5..30), (1, 0..7), (1, 8..15), (1, 18..29)], cd: (1, 29) };
    let (checks, repaired) = verify_zone(&mut zone, &fields, &composite);
    let (surname, given_names) = names(&zone.text(&(2, 0..30)));
    Ok(Mrz {
        format: MrzFormat::Td1,
        document_code: strip(&zone.text(&(0, 0..2))),
        issuing_state: strip(&zone.text(&(0, 2..5))),
        surname,
        given_names,
        document_number: strip(&zone.text(&(0, 5..14))),
        nationality: strip(&zone.text(&(1, 15..18))),
        birth_date: yymmdd(&zone.text(&(1, 0..6)), false),
        sex: sex(zone.at((1, 7))),
        expiry_date: yymmdd(&zone.text(&(1, 8..14)), true),
        optional_data: strip(&format!("{}{}", zone.text(&(0, 15..30)), zone.text(&(1, 18..29)))),
        lines: zone.lines(),
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

    /// TD2 lines for a card of 105 x 74 mm (`code` `I<`, `AC`, ...).
    #[allow(clippy::too_many_arguments)]
    pub fn td2(code: &str, state: &str, surname: &str, given: &str, number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> [String; 2] {
        let l1 = pad(&format!("{}{state}{}<<{}", pad(code, 2), surname.replace(' ', "<"), given.replace(' ', "<")), 36);
        let num = pad(number, 9);
        let mut l2 = format!("{num}{}{nationality}{birth}{}{sex}{expiry}{}{}", cd(&num), cd(birth), cd(expiry), pad("", 7));
        let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..35]);
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
    fn td2_zones_are_read() {
        let [a, b] = build::td2("I<", "UTO", "ERIKSSON", "ANNA MARIA", "D23145890", "UTO", "740812", 'F', "320415");
        assert_eq!((a.len(), b.len()), (36, 36));
        let m = parse(&format!("{a}\n{b}")).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.format, MrzFormat::Td2);
        assert_eq!(m.document_type(), DocumentType::IdentificationCard);
        assert_eq!((m.surname.as_str(), m.given_names.as_str(), m.document_number.as_str()), ("ERIKSSON", "ANNA MARIA", "D23145890"));
        assert_eq!(m.expiry_date, NaiveDate::from_ymd_opt(2032, 4, 15));
        // Found among other lines, a filler short.
        let found = find_in_lines(&["IDENTITY CARD".into(), a.replacen("<<<<", "<<<", 1), b.clone()]).unwrap();
        assert_eq!(found.format, MrzFormat::Td2);
        assert_eq!(found.lines, [a, b]);
    }

    #[test]
    fn fillers_read_as_k_are_put_back() {
        // Check digits cannot see K for < (20 and 0 are equal mod 10).
        let l1 = "I<UTOD231458907<<K<<<<<<<<<<<<";
        let l3 = "ERIKSSON<<ANNA<MARIA<<K<<<<<<<";
        let m = parse(&format!("{l1}\n7408122K1204159UTO<<<<<<<<<<<6\n{l3}")).unwrap();
        assert!(m.is_valid(), "{:?}", m.checks);
        assert_eq!(m.lines[0], "I<UTOD231458907<<<<<<<<<<<<<<<");
        assert_eq!(m.lines[1], "7408122<1204159UTO<<<<<<<<<<<6");
        assert_eq!(m.lines[2], "ERIKSSON<<ANNA<MARIA<<<<<<<<<<");
        assert_eq!(m.given_names, "ANNA MARIA");
        // A one-letter given name stays.
        let m = parse("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<K<<<<<<<<<<<<<<<<<<<").unwrap();
        assert_eq!(m.given_names, "K");
    }

    #[test]
    fn junk_is_not_an_mrz() {
        assert!(parse("hello").is_err());
        assert!(find_in_lines(&["DRIVER LICENSE".into(), "JOHN DOE".into()]).is_err());
        let _ = parse_td3("", "");
        let _ = parse_td1("é", "<", "");
    }
}
