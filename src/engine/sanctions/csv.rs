//! The official OFAC CSV files: SDN.CSV, ALT.CSV, ADD.CSV and the
//! consolidated non-SDN CONS_PRIM.CSV, CONS_ALT.CSV, CONS_ADD.CSV.
//!
//! No header row; `-0-` is the null marker; fields are quoted when they
//! hold commas (`""` escapes a quote); the files end with a 0x1A byte.
//! sdn / cons_prim: ent_num, name, type, program, title, call sign, vessel
//! type, tonnage, GRT, vessel flag, vessel owner, remarks. alt / cons_alt:
//! ent_num, alt_num, alt_type, alt_name, remarks. add / cons_add: ent_num,
//! add_num, address, city/state/postal, country, remarks.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::country;

/// Which publication an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSource {
    #[default]
    Sdn,
    Consolidated,
    /// UN Security Council consolidated list.
    Un,
    /// EU financial sanctions files (FSF).
    Eu,
    /// UK sanctions list (FCDO) or OFSI consolidated list.
    Uk,
    /// An OpenSanctions / FollowTheMoney export (sanctions and PEPs).
    OpenSanctions,
}

impl ListSource {
    pub const ALL: [ListSource; 6] =
        [ListSource::Sdn, ListSource::Consolidated, ListSource::Un, ListSource::Eu, ListSource::Uk, ListSource::OpenSanctions];

    pub fn label(self) -> &'static str {
        match self {
            ListSource::Sdn => "OFAC SDN",
            ListSource::Consolidated => "OFAC Consolidated",
            ListSource::Un => "UN Security Council",
            ListSource::Eu => "EU Financial Sanctions",
            ListSource::Uk => "UK Sanctions List",
            ListSource::OpenSanctions => "OpenSanctions",
        }
    }

    /// The list a client chooses (`ofac` covers SDN and consolidated).
    pub fn list_key(self) -> &'static str {
        match self {
            ListSource::Sdn | ListSource::Consolidated => "ofac",
            ListSource::Un => "un",
            ListSource::Eu => "eu",
            ListSource::Uk => "uk",
            ListSource::OpenSanctions => "opensanctions",
        }
    }

    /// A short stable tag (stored in entry ids).
    pub fn tag(self) -> &'static str {
        match self {
            ListSource::Sdn => "sdn",
            ListSource::Consolidated => "cons",
            ListSource::Un => "un",
            ListSource::Eu => "eu",
            ListSource::Uk => "uk",
            ListSource::OpenSanctions => "os",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.tag() == tag)
    }
}

/// What being listed means: a sanctions (or other watch-list) target, or a
/// politically exposed person (a different outcome: the verdict policy's
/// `pep` rule decides what it does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[default]
    Sanction,
    Pep,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Sanction => "sanction",
            Category::Pep => "pep",
        }
    }
}

pub use super::normalize::EntryKind;


/// A birth date as the remarks give it ("DOB 07 Oct 1952", "DOB circa
/// 1952", "DOB 1952 to 1954", "DOB Oct 1952").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BirthDate {
    Exact { date: NaiveDate },
    Month { year: i32, month: u32 },
    Year { year: i32, circa: bool },
    Range { from: i32, to: i32 },
}

impl BirthDate {
    /// Whether a subject born on `d` could be this entry: the hard gate.
    pub fn admits(&self, d: NaiveDate) -> bool {
        use chrono::Datelike;
        match *self {
            BirthDate::Exact { date } => {
                date == d
                    // day and month swapped in data entry
                    || (date.year() == d.year() && date.month() == d.day() && date.day() == d.month())
                    // a one-digit year typo with the same day
                    || (date.month() == d.month() && date.day() == d.day() && (date.year() - d.year()).abs() <= 1)
            }
            BirthDate::Month { year, month } => year == d.year() && month == d.month(),
            // A year alone is that year (OFAC writes "DOB 1975"); circa allows two either side.
            BirthDate::Year { year, circa } => (year - d.year()).abs() <= if circa { 2 } else { 0 },
            BirthDate::Range { from, to } => (from - 1..=to + 1).contains(&d.year()),
        }
    }

    /// The years of birth [`BirthDate::admits`] can admit at all (first, last).
    pub fn admitted_years(&self) -> (i32, i32) {
        use chrono::Datelike;
        match *self {
            BirthDate::Exact { date } => (date.year() - 1, date.year() + 1),
            BirthDate::Month { year, .. } => (year, year),
            BirthDate::Year { year, circa } => if circa { (year - 2, year + 2) } else { (year, year) },
            BirthDate::Range { from, to } => (from - 1, to + 1),
        }
    }
}

/// One list entry with its aliases and addresses attached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SanctionsEntry {
    pub source: ListSource,
    /// The entry's id in its publication (OFAC ent_num, UN DATAID, EU
    /// logicalId, UK unique/group id, OpenSanctions entity id).
    pub ent_num: String,
    pub name: String,
    pub kind: EntryKind,
    pub programs: Vec<String>,
    pub remarks: Option<String>,
    pub birth_dates: Vec<BirthDate>,
    pub aliases: Vec<String>,
    pub addresses: Vec<String>,
    #[serde(default, flatten)]
    pub details: EntryDetails,
}

/// What the newer formats say beyond names and dates (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EntryDetails {
    /// Nationalities, citizenships and address countries, ISO 3166 alpha-2
    /// (upper case) when recognised, else as published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// `male` or `female` when the list says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Passport, national id and registration numbers, as published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub category: Category,
}

/// The raw bytes of the files of one publication (any may be absent).
#[derive(Debug, Clone, Default)]
pub struct ListFiles {
    pub sdn: Option<Vec<u8>>,
    pub alt: Option<Vec<u8>>,
    pub add: Option<Vec<u8>>,
    pub cons_prim: Option<Vec<u8>>,
    pub cons_alt: Option<Vec<u8>>,
    pub cons_add: Option<Vec<u8>>,
}

impl ListFiles {
    /// The official file names, upper case, with the slot each fills.
    pub const NAMES: [&'static str; 6] = ["SDN.CSV", "ALT.CSV", "ADD.CSV", "CONS_PRIM.CSV", "CONS_ALT.CSV", "CONS_ADD.CSV"];

    pub fn slot(&mut self, file_name: &str) -> Option<&mut Option<Vec<u8>>> {
        match file_name.to_ascii_uppercase().as_str() {
            "SDN.CSV" => Some(&mut self.sdn),
            "ALT.CSV" => Some(&mut self.alt),
            "ADD.CSV" => Some(&mut self.add),
            "CONS_PRIM.CSV" => Some(&mut self.cons_prim),
            "CONS_ALT.CSV" => Some(&mut self.cons_alt),
            "CONS_ADD.CSV" => Some(&mut self.cons_add),
            _ => None,
        }
    }

    pub fn has_primary(&self) -> bool {
        self.sdn.is_some() || self.cons_prim.is_some()
    }

    /// Bytes in a fixed order, for a content hash (the list version).
    pub fn parts(&self) -> [Option<&[u8]>; 6] {
        [&self.sdn, &self.alt, &self.add, &self.cons_prim, &self.cons_alt, &self.cons_add].map(|p| p.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{file}: line {line}: {message}")]
    Malformed { file: &'static str, line: usize, message: String },
    #[error("no primary file (SDN.CSV or CONS_PRIM.CSV) given")]
    NoPrimary,
    #[error("{format}: {message}")]
    Format { format: &'static str, message: String },
}

/// UTF-8 when valid, else Windows-1252/Latin-1 (the files have been both).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Splits CSV text into records of fields; `-0-` and empty fields are `None`.
pub fn records(file: &'static str, text: &str) -> Result<Vec<Vec<Option<String>>>, ParseError> {
    let mut out = Vec::new();
    let mut fields: Vec<Option<String>> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let finish = |field: &mut String, quoted: &mut bool, fields: &mut Vec<Option<String>>| {
        let v = field.trim();
        fields.push(if v.is_empty() || v == "-0-" { None } else { Some(v.to_string()) });
        field.clear();
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(' ');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() && !quoted => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            ',' => finish(&mut field, &mut quoted, &mut fields),
            '\r' => {}
            '\n' => {
                finish(&mut field, &mut quoted, &mut fields);
                if fields.iter().any(Option::is_some) {
                    out.push(std::mem::take(&mut fields));
                }
                fields.clear();
                line += 1;
            }
            '\u{1a}' => {}
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(ParseError::Malformed { file, line, message: "unterminated quoted field".into() });
    }
    finish(&mut field, &mut quoted, &mut fields);
    if fields.iter().any(Option::is_some) {
        out.push(fields);
    }
    Ok(out)
}

fn col(r: &[Option<String>], i: usize) -> Option<&str> {
    r.get(i).and_then(|f| f.as_deref())
}

/// Parses one publication into entries, aliases and addresses attached.
pub fn parse(files: &ListFiles) -> Result<Vec<SanctionsEntry>, ParseError> {
    if !files.has_primary() {
        return Err(ParseError::NoPrimary);
    }
    let mut entries = Vec::new();
    let sets = [
        (ListSource::Sdn, ("SDN.CSV", &files.sdn), ("ALT.CSV", &files.alt), ("ADD.CSV", &files.add)),
        (
            ListSource::Consolidated,
            ("CONS_PRIM.CSV", &files.cons_prim),
            ("CONS_ALT.CSV", &files.cons_alt),
            ("CONS_ADD.CSV", &files.cons_add),
        ),
    ];
    for (source, (pname, prim), (aname, alt), (dname, add)) in sets {
        let Some(prim) = prim else { continue };
        let mut by_num: HashMap<String, usize> = HashMap::new();
        let start = entries.len();
        for (i, r) in records(pname, &decode(prim))?.into_iter().enumerate() {
            let (Some(ent_num), Some(name)) = (col(&r, 0), col(&r, 1)) else {
                return Err(ParseError::Malformed { file: pname, line: i + 1, message: "missing ent_num or name".into() });
            };
            let remarks = col(&r, 11).map(str::to_string);
            let details = ofac_remark_details(remarks.as_deref().unwrap_or(""), ent_num);
            by_num.insert(ent_num.to_string(), entries.len());
            entries.push(SanctionsEntry {
                source,
                ent_num: ent_num.to_string(),
                name: name.to_string(),
                kind: EntryKind::parse(col(&r, 2)),
                programs: col(&r, 3)
                    .map(|p| p.split(['[', ']', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
                    .unwrap_or_default(),
                birth_dates: remarks.as_deref().map(birth_dates).unwrap_or_default(),
                remarks,
                aliases: vec![],
                addresses: vec![],
                details,
            });
        }
        if let Some(alt) = alt {
            for r in records(aname, &decode(alt))? {
                if let (Some(num), Some(name)) = (col(&r, 0), col(&r, 3))
                    && let Some(&i) = by_num.get(num)
                {
                    entries[i].aliases.push(name.to_string());
                }
            }
        }
        if let Some(add) = add {
            for r in records(dname, &decode(add))? {
                if let Some(&i) = col(&r, 0).and_then(|n| by_num.get(n)) {
                    let parts: Vec<&str> = (2..=4).filter_map(|c| col(&r, c)).collect();
                    if !parts.is_empty() {
                        entries[i].addresses.push(parts.join(", "));
                    }
                }
            }
        }
        debug_assert!(entries.len() >= start);
    }
    Ok(entries)
}

pub(crate) const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month(s: &str) -> Option<u32> {
    let s = s.to_ascii_lowercase();
    MONTHS.iter().position(|m| s.starts_with(m)).map(|i| i as u32 + 1)
}

fn year(s: &str) -> Option<i32> {
    let s = s.trim_matches(|c: char| !c.is_ascii_digit());
    (s.len() == 4).then(|| s.parse().ok()).flatten()
}

/// Every `DOB ...;` of a remarks field.
pub fn birth_dates(remarks: &str) -> Vec<BirthDate> {
    let mut out = Vec::new();
    for (pos, _) in remarks.match_indices("DOB ") {
        let rest = &remarks[pos + 4..];
        let text = rest.split([';', '.']).next().unwrap_or("").trim();
        if let Some(d) = parse_birth_date(text) {
            out.push(d);
        }
    }
    out
}

fn parse_birth_date(text: &str) -> Option<BirthDate> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["circa", y, ..] => Some(BirthDate::Year { year: year(y)?, circa: true }),
        [a, "to", b, ..] => match (year(a), year(b)) {
            (Some(from), Some(to)) => Some(BirthDate::Range { from, to }),
            // "01 Jan 1950 to 31 Dec 1952" style ranges keep their years
            _ => None,
        },
        [d, m, y, ..] if d.chars().all(|c| c.is_ascii_digit()) => {
            let date = NaiveDate::from_ymd_opt(year(y)?, month(m)?, d.parse().ok()?)?;
            Some(BirthDate::Exact { date })
        }
        [m, y, ..] if month(m).is_some() => Some(BirthDate::Month { year: year(y)?, month: month(m)? }),
        [y, ..] => Some(BirthDate::Year { year: year(y)?, circa: false }),
        _ => None,
    }
}

/// What OFAC's remarks say besides birth dates: `Gender Male`,
/// `nationality Russia`, `citizen Iran`, `Passport 123 (Country)`,
/// `National ID No. 123`.
pub fn ofac_remark_details(remarks: &str, ent_num: &str) -> EntryDetails {
    let mut d = EntryDetails {
        source_url: Some(format!("https://sanctionssearch.ofac.treas.gov/Details.aspx?id={ent_num}")),
        ..Default::default()
    };
    for part in remarks.split(';').map(str::trim) {
        let lower = part.to_ascii_lowercase();
        let lower = lower.trim_start_matches("alt. ");
        let value = |prefix: &str| part.get(part.len() - lower.len() + prefix.len()..).map(|v| v.trim().trim_end_matches('.').trim());
        if let Some(g) = lower.strip_prefix("gender ") {
            d.gender = gender(g.trim_end_matches('.'));
        } else if lower.starts_with("nationality ") {
            if let Some(v) = value("nationality ") {
                push_country(&mut d, v);
            }
        } else if lower.starts_with("citizen ") {
            if let Some(v) = value("citizen ") {
                push_country(&mut d, v);
            }
        } else if lower.starts_with("passport ") || lower.starts_with("national id no. ") || lower.starts_with("cedula no. ") {
            let prefix = if lower.starts_with("passport ") { "passport " } else if lower.starts_with("cedula") { "cedula no. " } else { "national id no. " };
            if let Some(number) = value(prefix).and_then(|v| v.split_whitespace().next()) {
                push_unique(&mut d.identifiers, number);
            }
        }
    }
    d
}

pub(crate) fn gender(raw: &str) -> Option<String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "m" | "male" => Some("male".into()),
        "f" | "female" => Some("female".into()),
        _ => None,
    }
}

pub(crate) fn push_unique(v: &mut Vec<String>, s: &str) {
    let s = s.trim();
    if !s.is_empty() && !v.iter().any(|x| x.eq_ignore_ascii_case(s)) {
        v.push(s.to_string());
    }
}

pub(crate) fn push_country(d: &mut EntryDetails, raw: &str) {
    for part in raw.split([';', ',']).filter(|p| !p.trim().is_empty()) {
        // "Korea, Republic of" must stay whole: try the whole text first.
        if country::code(raw).is_some() {
            push_unique(&mut d.countries, &country::normalize(raw));
            return;
        }
        push_unique(&mut d.countries, &country::normalize(part));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_birth_date_admits_only_years_within_its_admitted_years() {
        use chrono::Datelike;
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let dates = [
            BirthDate::Exact { date: d(1970, 3, 4) },
            BirthDate::Exact { date: d(1980, 12, 31) },
            BirthDate::Month { year: 1965, month: 7 },
            BirthDate::Year { year: 1950, circa: false },
            BirthDate::Year { year: 1950, circa: true },
            BirthDate::Range { from: 1940, to: 1944 },
        ];
        for b in dates {
            let (first, last) = b.admitted_years();
            let mut day = d(1930, 1, 1);
            while day < d(1995, 1, 1) {
                if b.admits(day) {
                    assert!((first..=last).contains(&day.year()), "{b:?} admits {day} outside {first}..{last}");
                }
                day = day.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn quoted_fields_null_markers_and_eof_byte() {
        let text = "36,\"AEROCARIBBEAN AIRLINES\",-0-,\"CUBA\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"Havana, Cuba; \"\"x\"\".\"\r\n\u{1a}";
        let r = records("SDN.CSV", text).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0][0].as_deref(), Some("36"));
        assert_eq!(r[0][2], None);
        assert_eq!(r[0][11].as_deref(), Some("Havana, Cuba; \"x\"."));
    }

    #[test]
    fn unterminated_quotes_are_an_error() {
        assert!(matches!(records("SDN.CSV", "1,\"abc\n"), Err(ParseError::Malformed { .. })));
    }

    #[test]
    fn birth_dates_of_remarks() {
        let r = "DOB 07 Oct 1952; alt. DOB circa 1950; DOB 1960 to 1962; DOB Mar 1970; POB Leningrad.";
        let d = birth_dates(r);
        assert_eq!(d.len(), 4, "{d:?}");
        assert_eq!(d[0], BirthDate::Exact { date: NaiveDate::from_ymd_opt(1952, 10, 7).unwrap() });
        assert_eq!(d[1], BirthDate::Year { year: 1950, circa: true });
        assert_eq!(d[2], BirthDate::Range { from: 1960, to: 1962 });
        assert_eq!(d[3], BirthDate::Month { year: 1970, month: 3 });
        let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(d[0].admits(born(1952, 10, 7)));
        assert!(!d[0].admits(born(1985, 10, 7)));
        assert!(d[1].admits(born(1952, 1, 1)) && !d[1].admits(born(1953, 1, 1)));
    }

    #[test]
    fn aliases_and_addresses_attach_to_their_entry() {
        let files = ListFiles {
            sdn: Some(b"10,\"PUTIN, Vladimir\",\"individual\",\"RUSSIA-EO14024\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"DOB 07 Oct 1952.\"\n".to_vec()),
            alt: Some(b"10,1,\"aka\",\"POUTINE, Wladimir\",-0-\n".to_vec()),
            add: Some(b"10,5,\"Kremlin\",\"Moscow\",\"Russia\",-0-\n".to_vec()),
            cons_prim: Some(b"900,\"EMMA LLC\",-0-,\"SSI\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n".to_vec()),
            ..Default::default()
        };
        let e = parse(&files).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].aliases, ["POUTINE, Wladimir"]);
        assert_eq!(e[0].addresses, ["Kremlin, Moscow, Russia"]);
        assert_eq!(e[0].kind, EntryKind::Individual);
        assert_eq!(e[1].kind, EntryKind::Entity);
        assert_eq!(e[1].source, ListSource::Consolidated);
        assert!(matches!(parse(&ListFiles::default()), Err(ParseError::NoPrimary)));
    }
}
