//! A tolerant parser of AAMVA DL/ID card payloads (the PDF417 on the back of
//! US and Canadian cards), versions 1 to 11.
//!
//! Real payloads deviate from the standard: file type `AAMVA` instead of
//! `ANSI `, a missing or garbled record separator, CRLF or `|` separators, a
//! byte-order mark, wrong subfile offsets, no `DL` before the first element,
//! a missing entry count, junk after dates. The parser therefore does not
//! trust the header's offsets: it reads the header as far as it makes sense,
//! then tokenises the body on separators and keeps every `Dxx` element of the
//! DL/ID subfile and every `Zxx` element of the jurisdiction subfile.

use chrono::NaiveDate;
use std::collections::BTreeMap;

use crate::engine::DocumentFields;
use crate::domain::{DataSource, DocumentType, Gender};

/// Every element id the standard defines for the DL/ID subfile (all versions).
const KNOWN_ELEMENTS: &[&str] = &[
    "DAA", "DAB", "DAC", "DAD", "DAE", "DAF", "DAG", "DAH", "DAI", "DAJ", "DAK", "DAL", "DAM", "DAN", "DAO", "DAP",
    "DAQ", "DAR", "DAS", "DAT", "DAU", "DAV", "DAW", "DAX", "DAY", "DAZ", "DBA", "DBB", "DBC", "DBD", "DBE", "DBF",
    "DBG", "DBH", "DBI", "DBJ", "DBK", "DBL", "DBM", "DBN", "DBO", "DBP", "DBQ", "DBR", "DBS", "DCA", "DCB", "DCD",
    "DCE", "DCF", "DCG", "DCH", "DCI", "DCJ", "DCK", "DCL", "DCM", "DCN", "DCO", "DCP", "DCQ", "DCR", "DCS", "DCT",
    "DCU", "DDA", "DDB", "DDC", "DDD", "DDE", "DDF", "DDG", "DDH", "DDI", "DDJ", "DDK", "DDL",
];

/// Which country's conventions (date order) a payload follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Country {
    Usa,
    Canada,
    Mexico,
}

impl Country {
    pub fn alpha3(self) -> &'static str {
        match self {
            Country::Usa => "USA",
            Country::Canada => "CAN",
            Country::Mexico => "MEX",
        }
    }
}

/// The issuer (jurisdiction code and country) of an AAMVA issuer identification number.
pub fn issuer(iin: &str) -> Option<(&'static str, Country)> {
    use Country::*;
    let entry = match iin {
        "636000" => ("VA", Usa),
        "636001" => ("NY", Usa),
        "636002" => ("MA", Usa),
        "636003" => ("MD", Usa),
        "636004" => ("NC", Usa),
        "636005" => ("SC", Usa),
        "636006" => ("CT", Usa),
        "636007" => ("LA", Usa),
        "636008" => ("MT", Usa),
        "636009" => ("NM", Usa),
        "636010" => ("FL", Usa),
        "636011" => ("DE", Usa),
        "636012" => ("ON", Canada),
        "636013" => ("NS", Canada),
        "636014" => ("CA", Usa),
        "636015" => ("TX", Usa),
        "636016" => ("NL", Canada),
        "636017" => ("NB", Canada),
        "636018" => ("IA", Usa),
        "636019" => ("GU", Usa),
        "636020" => ("CO", Usa),
        "636021" => ("AR", Usa),
        "636022" => ("KS", Usa),
        "636023" => ("OH", Usa),
        "636024" => ("VT", Usa),
        "636025" => ("PA", Usa),
        "636026" => ("AZ", Usa),
        "636028" => ("BC", Canada),
        "636029" => ("OR", Usa),
        "636030" => ("MO", Usa),
        "636031" => ("WI", Usa),
        "636032" => ("MI", Usa),
        "636033" => ("AL", Usa),
        "636034" => ("ND", Usa),
        "636035" => ("IL", Usa),
        "636036" => ("NJ", Usa),
        "636037" => ("IN", Usa),
        "636038" => ("MN", Usa),
        "636039" => ("NH", Usa),
        "636040" => ("UT", Usa),
        "636041" => ("ME", Usa),
        "636042" => ("SD", Usa),
        "636043" => ("DC", Usa),
        "636044" => ("SK", Canada),
        "636045" => ("WA", Usa),
        "636046" => ("KY", Usa),
        "636047" => ("HI", Usa),
        "636048" => ("MB", Canada),
        "636049" => ("NV", Usa),
        "636050" => ("ID", Usa),
        "636051" => ("MS", Usa),
        "636052" => ("RI", Usa),
        "636053" => ("TN", Usa),
        "636054" => ("NE", Usa),
        "636055" => ("GA", Usa),
        "636056" => ("CO", Mexico),
        "636057" => ("HI", Mexico),
        "636058" => ("OK", Usa),
        "636059" => ("AK", Usa),
        "636060" => ("WY", Usa),
        "636061" => ("WV", Usa),
        "636062" => ("VI", Usa),
        "604426" => ("PE", Canada),
        "604427" => ("AS", Usa),
        "604428" => ("QC", Canada),
        "604429" => ("YT", Canada),
        "604430" => ("MP", Usa),
        "604431" => ("PR", Usa),
        "604432" => ("AB", Canada),
        "604433" => ("NU", Canada),
        "604434" => ("NT", Canada),
        _ => return None,
    };
    Some(entry)
}

/// Canadian provinces and territories (to tell the country from an address).
const CANADIAN_JURISDICTIONS: &[&str] = &["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"];

/// Why a payload is not an AAMVA card payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AamvaError {
    #[error("not an AAMVA payload: {0}")]
    NotAamva(String),
}

/// A parsed payload: the header and every element, as printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AamvaRecord {
    /// `ANSI` or `AAMVA` (the file type as found, trimmed).
    pub file_type: String,
    pub iin: Option<String>,
    /// AAMVA version number (1 to 11), when the header carries it.
    pub version: Option<u8>,
    pub jurisdiction_version: Option<u8>,
    /// `DL` or `ID` (the first card subfile designator), when known.
    pub subfile_type: Option<String>,
    /// The DL/ID subfile's elements (first occurrence of each id wins).
    pub elements: BTreeMap<String, String>,
    /// The jurisdiction-specific subfile's elements (`Z?x`).
    pub jurisdiction_elements: BTreeMap<String, String>,
    /// Whether the declared offset of the card subfile pointed at it.
    pub offsets_valid: bool,
}

/// Parses a payload. Fails only when nothing resembling an AAMVA payload is there.
pub fn parse(raw: &str) -> Result<AamvaRecord, AamvaError> {
    let text = raw.trim_start_matches('\u{feff}');
    let start = text
        .find('@')
        .filter(|&i| i < 16)
        .or_else(|| find_file_type(text).filter(|&i| i < 24))
        .ok_or_else(|| AamvaError::NotAamva("no '@' compliance indicator or file type".into()))?;
    let text = &text[start..];
    let mut record = AamvaRecord::default();
    let body_start = parse_header(text, &mut record);
    let body = &text[body_start.min(text.len())..];
    read_elements(body, &mut record);
    if record.elements.len() < 3 {
        // Separators missing: cut the body at known element ids instead.
        read_elements_without_separators(body, &mut record);
    }
    if record.elements.is_empty() {
        return Err(AamvaError::NotAamva("no DL/ID data elements".into()));
    }
    Ok(record)
}

fn find_file_type(text: &str) -> Option<usize> {
    [text.find("ANSI"), text.find("AAMVA")].into_iter().flatten().min()
}

/// Reads the header; returns where the body starts (the first element).
fn parse_header(text: &str, record: &mut AamvaRecord) -> usize {
    let Some(ft) = find_file_type(text) else {
        return first_element_position(text, 0).unwrap_or(0);
    };
    let bytes = text.as_bytes();
    let mut pos = ft;
    if text[pos..].starts_with("AAMVA") {
        record.file_type = "AAMVA".into();
        pos += 5;
    } else {
        record.file_type = "ANSI".into();
        pos += 4;
        if bytes.get(pos).is_some_and(|b| *b == b' ') {
            pos += 1;
        }
    }
    let digits = |from: usize, n: usize| -> Option<&str> {
        let s = text.get(from..from + n)?;
        s.bytes().all(|b| b.is_ascii_digit()).then_some(s)
    };
    if let Some(iin) = digits(pos, 6) {
        record.iin = Some(iin.to_string());
        pos += 6;
    }
    if let Some(v) = digits(pos, 2) {
        record.version = v.parse().ok();
        pos += 2;
        if record.version.is_some_and(|v| v >= 2)
            && let Some(j) = digits(pos, 2)
        {
            record.jurisdiction_version = j.parse().ok();
            pos += 2;
        }
    }
    // Entry count (may be missing), then 10-byte designators.
    if digits(pos, 2).is_some() {
        pos += 2;
    }
    let header_end = pos;
    let mut designators: Vec<(String, Option<usize>)> = Vec::new();
    while let Some(kind) = text.get(pos..pos + 2) {
        let is_type = kind == "DL" || kind == "ID" || (kind.starts_with('Z') && kind.as_bytes()[1].is_ascii_uppercase());
        if !is_type {
            break;
        }
        // A card subfile type immediately followed by an element: the body, not a designator.
        if text.get(pos + 2..pos + 5).is_some_and(|id| KNOWN_ELEMENTS.contains(&id)) {
            break;
        }
        let offset = digits(pos + 2, 4).and_then(|s| s.parse::<usize>().ok());
        designators.push((kind.to_string(), offset));
        pos += 10;
        if pos > text.len() {
            pos = text.len();
            break;
        }
    }
    record.subfile_type = designators.iter().map(|(k, _)| k.clone()).find(|k| k == "DL" || k == "ID");
    // Trust the declared offset only when it points at `DL|ID` + an element.
    for (kind, offset) in &designators {
        if (kind == "DL" || kind == "ID")
            && let Some(off) = offset
            && text.get(*off..*off + 2) == Some(kind.as_str())
            && text.get(off + 2..off + 5).is_some_and(|id| KNOWN_ELEMENTS.contains(&id))
        {
            record.offsets_valid = true;
            return (*off).min(pos.max(*off));
        }
    }
    first_element_position(text, header_end.max(pos.min(text.len()))).unwrap_or(pos.min(text.len()))
}

/// The position of the first `DL|ID` + element, else of the first known element.
fn first_element_position(text: &str, from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    let bytes = rest.as_bytes();
    for i in 0..bytes.len().saturating_sub(4) {
        let pair = &rest.get(i..i + 2);
        if matches!(pair, Some("DL") | Some("ID")) && rest.get(i + 2..i + 5).is_some_and(|id| KNOWN_ELEMENTS.contains(&id)) {
            return Some(from + i);
        }
    }
    (0..bytes.len().saturating_sub(2))
        .find(|&i| rest.get(i..i + 3).is_some_and(|id| KNOWN_ELEMENTS.contains(&id)))
        .map(|i| from + i)
}

fn is_separator(c: char) -> bool {
    // Control characters (LF, CR, RS, and the C1 junk some scanners emit) and pipes.
    c.is_control() || c == '|'
}

/// Tokenises the body on separators and files each `Dxx`/`Zxx` element.
fn read_elements(body: &str, record: &mut AamvaRecord) {
    for token in body.split(is_separator) {
        let token = strip_subfile_prefix(token.trim_start_matches(|c: char| c == ' ' || c == '\0'));
        add_element(token, record);
    }
}

/// `DLDAQ...` -> `DAQ...`; `ZMZMA...` -> `ZMA...`.
fn strip_subfile_prefix(token: &str) -> &str {
    let b = token.as_bytes();
    if b.len() >= 5 {
        let card = (token.starts_with("DL") || token.starts_with("ID")) && KNOWN_ELEMENTS.contains(&&token[2..5]);
        let jurisdiction = b[0] == b'Z' && b[1].is_ascii_uppercase() && b[2] == b'Z' && b[3] == b[1];
        if card || jurisdiction {
            return &token[2..];
        }
    }
    token
}

fn add_element(token: &str, record: &mut AamvaRecord) {
    let Some(id) = token.get(0..3) else { return };
    let value = token[3..].trim().to_string();
    if KNOWN_ELEMENTS.contains(&id) {
        record.elements.entry(id.to_string()).or_insert(value);
    } else if id.starts_with('Z') && id.bytes().all(|b| b.is_ascii_uppercase()) {
        record.jurisdiction_elements.entry(id.to_string()).or_insert(value);
    }
}

/// Fallback for payloads whose separators were lost: cut at known element
/// ids that follow one another in the text.
fn read_elements_without_separators(body: &str, record: &mut AamvaRecord) {
    let starts: Vec<usize> = (0..body.len().saturating_sub(2))
        .filter(|&i| body.is_char_boundary(i) && body.get(i..i + 3).is_some_and(|id| KNOWN_ELEMENTS.contains(&id)))
        .collect();
    // Keep starts at least 3 bytes apart (an id cannot overlap the previous id).
    let mut kept: Vec<usize> = Vec::new();
    for s in starts {
        if kept.last().is_none_or(|&k| s >= k + 4) {
            kept.push(s);
        }
    }
    for (n, &s) in kept.iter().enumerate() {
        let end = kept.get(n + 1).copied().unwrap_or(body.len());
        if let Some(token) = body.get(s..end) {
            add_element(token.trim_end_matches(is_separator), record);
        }
    }
}

/// A value, or `None` for the standard's placeholders of "no value".
fn clean(value: Option<&String>) -> Option<String> {
    let v = value?.trim().trim_matches(|c: char| c == ',' || c == '$').trim();
    let upper = v.to_ascii_uppercase();
    if v.is_empty() || matches!(upper.as_str(), "NONE" | "UNAVL" | "UNAV" | "N/A" | "NA" | "UNK") {
        return None;
    }
    Some(v.to_string())
}

/// Parses an 8-digit AAMVA date in either order (MMDDCCYY, CCYYMMDD): a year
/// must be 1900..2199, so the two orders never both fit.
pub fn parse_date(value: &str, prefer_ymd: bool) -> Option<NaiveDate> {
    let digits: String = value.trim().chars().take_while(|c| c.is_ascii_digit() || *c == '-' || *c == '/').filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return None;
    }
    let d = &digits[..8];
    let num = |r: std::ops::Range<usize>| d[r].parse::<u32>().ok();
    let mdy = || {
        let (m, day, y) = (num(0..2)?, num(2..4)?, num(4..8)?);
        (1900..2200).contains(&y).then(|| NaiveDate::from_ymd_opt(y as i32, m, day)).flatten()
    };
    let ymd = || {
        let (y, m, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
        (1900..2200).contains(&y).then(|| NaiveDate::from_ymd_opt(y as i32, m, day)).flatten()
    };
    if prefer_ymd { ymd().or_else(mdy) } else { mdy().or_else(ymd) }
}

/// Height as printed: `069 IN`, `175 CM`, `5-09`, `509` (feet and inches).
pub fn normalise_height(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_uppercase();
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    if v.contains("CM") {
        let cm: u32 = digits.parse().ok()?;
        return (cm > 0).then(|| format!("{cm:03} CM"));
    }
    if v.contains("IN") && !v.contains('-') && !v.contains('\'') {
        let inches: u32 = digits.parse().ok()?;
        return (inches > 0).then(|| format!("{inches:03} IN"));
    }
    // Feet and inches: `5-09`, `5'09"`, `509`, `600`.
    let (feet, inches) = if let Some((f, i)) = v.split_once(['-', '\'']) {
        (f.trim().parse::<u32>().ok()?, i.trim().trim_end_matches('"').trim().parse::<u32>().ok()?)
    } else if digits.len() == 3 && !digits.starts_with('0') {
        (digits[..1].parse().ok()?, digits[1..].parse().ok()?)
    } else {
        let inches: u32 = digits.parse().ok()?;
        return (inches > 0).then(|| format!("{inches:03} IN"));
    };
    (inches < 12 && feet > 0).then(|| format!("{:03} IN", feet * 12 + inches))
}

fn gender(value: Option<&String>) -> Option<Gender> {
    match value?.trim().to_ascii_uppercase().as_str() {
        "1" | "M" | "MALE" => Some(Gender::Male),
        "2" | "F" | "FEMALE" => Some(Gender::Female),
        "X" | "9" => Some(Gender::NonBinary),
        _ => None,
    }
}

/// Names joined with commas (`ANN,MARIE`) become space-separated.
fn name_part(value: Option<&String>) -> Option<String> {
    let v = clean(value)?;
    let joined = v.split([',', '$']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// Splits a version 1 full name (`DAA`): `LAST,FIRST,MIDDLE[,SUFFIX]`,
/// `LAST$FIRST$MIDDLE`, or `FIRST MIDDLE LAST` without delimiters.
fn split_full_name(full: &str) -> (Option<String>, Option<String>, Option<String>, Option<String>) {
    let some = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    if full.contains(',') || full.contains('$') {
        let parts: Vec<&str> = full.split([',', '$']).collect();
        let last = parts.first().and_then(|s| some(s));
        let first = parts.get(1).and_then(|s| some(s));
        let (first, middle, suffix) = match parts.len() {
            // `LAST,FIRST MIDDLE`: the given names share one part.
            0..=2 => {
                let mut given = parts.get(1).map(|s| s.split_whitespace().collect::<Vec<_>>()).unwrap_or_default();
                let suffix = (given.len() > 1 && given.last().is_some_and(|w| is_suffix(w))).then(|| given.pop().map(str::to_string)).flatten();
                let middle = (given.len() > 1).then(|| given[1..].join(" "));
                return (given.first().map(|s| s.to_string()), middle, last, suffix);
            }
            3 => (first, some(parts[2]), None),
            _ if is_suffix(parts[parts.len() - 1]) => {
                (first, some(&parts[2..parts.len() - 1].join(" ")), some(parts[parts.len() - 1]))
            }
            _ => (first, some(&parts[2..].join(" ")), None),
        };
        return (first, middle, last, suffix);
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => (None, None, None, None),
        1 => (None, None, some(words[0]), None),
        _ => {
            let (words, suffix) = if words.len() > 2 && is_suffix(words[words.len() - 1]) {
                (&words[..words.len() - 1], some(words[words.len() - 1]))
            } else {
                (&words[..], None)
            };
            let middle = (words.len() > 2).then(|| words[1..words.len() - 1].join(" "));
            (some(words[0]), middle, some(words[words.len() - 1]), suffix)
        }
    }
}

fn is_suffix(s: &str) -> bool {
    matches!(s.trim().trim_end_matches('.').to_ascii_uppercase().as_str(), "JR" | "SR" | "I" | "II" | "III" | "IV" | "V" | "VI" | "1ST" | "2ND" | "3RD" | "4TH")
}

/// A truncation flag: `T` truncated, `N` not, `U` unknown.
fn truncated(value: Option<&String>) -> Option<bool> {
    match value?.trim() {
        "T" => Some(true),
        "N" => Some(false),
        _ => None,
    }
}

impl AamvaRecord {
    fn get(&self, id: &str) -> Option<String> {
        clean(self.elements.get(id))
    }

    /// The issuing jurisdiction and its country.
    pub fn issuer(&self) -> (Option<String>, Option<Country>) {
        if let Some((code, country)) = self.iin.as_deref().and_then(issuer) {
            return (Some(code.to_string()), Some(country));
        }
        let country = match self.get("DCG").as_deref() {
            Some("USA") => Some(Country::Usa),
            Some("CAN") => Some(Country::Canada),
            Some("MEX") => Some(Country::Mexico),
            _ => self.get("DAJ").map(|s| if CANADIAN_JURISDICTIONS.contains(&s.as_str()) { Country::Canada } else { Country::Usa }),
        };
        (self.get("DAJ"), country)
    }

    /// Whether dates are CCYYMMDD (Canada, and version 1) rather than MMDDCCYY.
    fn dates_year_first(&self) -> bool {
        self.version == Some(1) || matches!(self.issuer().1, Some(Country::Canada))
    }

    fn date(&self, id: &str) -> Option<NaiveDate> {
        parse_date(self.elements.get(id)?, self.dates_year_first())
    }

    /// Names: (first, middle, last, suffix), from whichever elements the version uses.
    fn names(&self) -> (Option<String>, Option<String>, Option<String>, Option<String>) {
        let suffix = self.get("DCU").or_else(|| self.get("DAE"));
        let last = name_part(self.elements.get("DCS")).or_else(|| name_part(self.elements.get("DAB")));
        let first = name_part(self.elements.get("DAC"));
        let middle = name_part(self.elements.get("DAD"));
        if last.is_some() && first.is_some() {
            return (first, middle, last, suffix);
        }
        if let Some(given) = self.get("DCT") {
            // Versions 2-3: given names `FIRST,MIDDLE` or `FIRST MIDDLE`.
            let parts: Vec<&str> = given.split([',', ' ', '$']).map(str::trim).filter(|s| !s.is_empty()).collect();
            let first = parts.first().map(|s| s.to_string());
            let middle = (parts.len() > 1).then(|| parts[1..].join(" "));
            return (first, middle.or(self.get("DAD")), last.or_else(|| self.get("DAA")), suffix);
        }
        if let Some(full) = self.get("DAA") {
            let (f, m, l, s) = split_full_name(&full);
            return (first.or(f), middle.or(m), last.or(l), suffix.or(s));
        }
        (first, middle, last, suffix)
    }

    /// The document type the payload declares (`DL` or `ID` subfile).
    pub fn document_type(&self) -> DocumentType {
        match self.subfile_type.as_deref() {
            Some("ID") => DocumentType::IdentificationCard,
            _ => DocumentType::DriverLicense,
        }
    }

    /// The document record read from the payload (`data_source = barcode`).
    pub fn fields(&self, raw: &str) -> DocumentFields {
        let (first, middle, last, suffix) = self.names();
        let (issuing_state, country) = self.issuer();
        let truncation: BTreeMap<&str, bool> = [("last_name", "DDE"), ("first_name", "DDF"), ("middle_name", "DDG")]
            .into_iter()
            .filter_map(|(field, id)| truncated(self.elements.get(id)).map(|t| (field, t)))
            .collect();
        let weight = self
            .get("DAW")
            .map(|lb| format!("{} LB", lb.trim_start_matches('0')))
            .or_else(|| self.get("DAX").map(|kg| format!("{} KG", kg.trim_start_matches('0'))));
        DocumentFields {
            data_source: Some(DataSource::Barcode),
            document_type: Some(self.document_type()),
            document_number: self.get("DAQ"),
            ref_number: self.get("DCF"),
            issued_at: self.date("DBD"),
            expires_at: self.date("DBA"),
            issuing_country: country.map(|c| c.alpha3().to_string()),
            issuing_state,
            first_name: first,
            middle_name: middle,
            last_name: last,
            name_suffix: suffix,
            street: match (self.get("DAG"), self.get("DAH")) {
                (Some(a), Some(b)) => Some(format!("{a} {b}")),
                (a, _) => a.or_else(|| self.get("DAL")),
            },
            city: self.get("DAI").or_else(|| self.get("DAN")),
            state: self.get("DAJ").or_else(|| self.get("DAO")),
            postal_code: self.get("DAK").or_else(|| self.get("DAP")).map(|z| normalise_postal(&z)),
            birth_date: self.date("DBB"),
            gender: gender(self.elements.get("DBC")),
            height: self.get("DAU").and_then(|h| normalise_height(&h)),
            weight: weight.filter(|w| !w.starts_with(' ')),
            eye_color: self.get("DAY"),
            hair_color: self.get("DAZ"),
            class: self.get("DCA").or_else(|| self.get("DAR")),
            restrictions: self.get("DCB").or_else(|| self.get("DAS")),
            endorsements: self.get("DCD").or_else(|| self.get("DAT")),
            raw_payload: Some(raw.to_string()),
            truncation: (!truncation.is_empty()).then(|| serde_json::json!(truncation)),
        }
    }
}

/// US ZIP+4 padded with zeros (`021080000`) keeps its first five digits when
/// the extension is zero; Canadian postal codes keep their letters.
fn normalise_postal(zip: &str) -> String {
    let z = zip.trim();
    if z.len() == 9 && z.bytes().all(|b| b.is_ascii_digit()) {
        if &z[5..] == "0000" {
            return z[..5].to_string();
        }
        return format!("{}-{}", &z[..5], &z[5..]);
    }
    z.to_string()
}

/// Builds a payload (for tests and the encoder round-trip): a standard
/// header with correct offsets for one DL/ID subfile and an optional
/// jurisdiction subfile.
pub fn build_payload(
    iin: &str,
    version: u8,
    jurisdiction_version: u8,
    subfile: &str,
    elements: &[(&str, &str)],
    jurisdiction: Option<(&str, &[(&str, &str)])>,
) -> String {
    let card: String = {
        let mut s = subfile.to_string();
        for (n, (id, v)) in elements.iter().enumerate() {
            s.push_str(id);
            s.push_str(v);
            s.push(if n + 1 == elements.len() { '\r' } else { '\n' });
        }
        s
    };
    let zsub: Option<String> = jurisdiction.map(|(kind, els)| {
        let mut s = kind.to_string();
        for (n, (id, v)) in els.iter().enumerate() {
            s.push_str(id);
            s.push_str(v);
            s.push(if n + 1 == els.len() { '\r' } else { '\n' });
        }
        s
    });
    let entries = 1 + usize::from(zsub.is_some());
    let mut header = format!("@\n\u{1e}\rANSI {iin}{version:02}");
    if version >= 2 {
        header.push_str(&format!("{jurisdiction_version:02}"));
    }
    header.push_str(&format!("{entries:02}"));
    let header_len = header.len() + 10 * entries;
    let mut out = header;
    out.push_str(&format!("{subfile}{:04}{:04}", header_len, card.len()));
    if let Some(z) = &zsub {
        out.push_str(&format!("{}{:04}{:04}", &z[..2], header_len + card.len(), z.len()));
    }
    out.push_str(&card);
    if let Some(z) = zsub {
        out.push_str(&z);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_payload_parses_with_valid_offsets() {
        let p = build_payload(
            "636014",
            10,
            0,
            "DL",
            &[("DAQ", "D1234567"), ("DCS", "DOE"), ("DAC", "JANE"), ("DBB", "01311990"), ("DBA", "01312030")],
            Some(("ZC", &[("ZCA", "X")])),
        );
        let r = parse(&p).unwrap();
        assert!(r.offsets_valid);
        assert_eq!(r.version, Some(10));
        assert_eq!(r.jurisdiction_elements.get("ZCA").map(String::as_str), Some("X"));
        let f = r.fields(&p);
        assert_eq!(f.issuing_state.as_deref(), Some("CA"));
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1990, 1, 31));
        assert_eq!(f.first_name.as_deref(), Some("JANE"));
    }

    #[test]
    fn dates_in_both_orders() {
        assert_eq!(parse_date("07071977", false), NaiveDate::from_ymd_opt(1977, 7, 7));
        assert_eq!(parse_date("19930204", false), NaiveDate::from_ymd_opt(1993, 2, 4));
        assert_eq!(parse_date("02041993", true), NaiveDate::from_ymd_opt(1993, 2, 4));
        assert_eq!(parse_date("0204", true), None);
        assert_eq!(parse_date("13451993", false), None);
    }

    #[test]
    fn heights() {
        assert_eq!(normalise_height("069 IN").as_deref(), Some("069 IN"));
        assert_eq!(normalise_height("5-09").as_deref(), Some("069 IN"));
        assert_eq!(normalise_height("600").as_deref(), Some("072 IN"));
        assert_eq!(normalise_height("175 CM").as_deref(), Some("175 CM"));
        assert_eq!(normalise_height("abc"), None);
    }

    #[test]
    fn version_one_full_names() {
        assert_eq!(
            split_full_name("MOTORIST,MICHAEL,G"),
            (Some("MICHAEL".into()), Some("G".into()), Some("MOTORIST".into()), None)
        );
        assert_eq!(split_full_name("JOHN P SMITH"), (Some("JOHN".into()), Some("P".into()), Some("SMITH".into()), None));
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        assert!(parse("").is_err());
        assert!(parse("hello world").is_err());
        assert!(parse("@").is_err());
        assert!(parse("@\n\u{1e}\rANSI 6").is_err());
        let _ = parse("@ANSI 636014100002DL99999999ZZ");
    }
}
