//! The official list formats besides OFAC's CSV files, detected from a
//! file's content:
//!
//! - UN Security Council consolidated list (XML, `CONSOLIDATED_LIST`:
//!   `INDIVIDUALS/INDIVIDUAL`, `ENTITIES/ENTITY`);
//! - EU financial sanctions files (FSF XML, `export/sanctionEntity` with
//!   `nameAlias`, `birthdate`, `citizenship`, `identification`, `regulation`);
//! - UK sanctions list: the FCDO list (CSV with `Unique ID` ... `Name 6`
//!   columns, XML `Designations/Designation`) and OFSI's consolidated list
//!   (CSV with `Group ID`, XML `ArrayOfFinancialSanctionsTarget`);
//! - OpenSanctions exports: `targets.simple.csv` and FollowTheMoney entity
//!   JSON lines (`entities.ftm.json`), which carry PEPs (`topics`
//!   `role.pep`) as well as sanctions.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::csv::{self as ofac, BirthDate, Category, EntryDetails, EntryKind, ListSource, ParseError, SanctionsEntry, gender, push_country, push_unique};
pub use super::csv::ofac_remark_details;
use super::xml::{self, Element};

/// A list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// One of OFAC's CSV files (SDN.CSV, ALT.CSV, ... by file name).
    OfacCsv,
    UnXml,
    EuXml,
    UkCsv,
    UkXml,
    OpenSanctionsCsv,
    FtmJson,
}

impl ListFormat {
    pub fn source(self) -> ListSource {
        match self {
            ListFormat::OfacCsv => ListSource::Sdn,
            ListFormat::UnXml => ListSource::Un,
            ListFormat::EuXml => ListSource::Eu,
            ListFormat::UkCsv | ListFormat::UkXml => ListSource::Uk,
            ListFormat::OpenSanctionsCsv | ListFormat::FtmJson => ListSource::OpenSanctions,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ListFormat::OfacCsv => "OFAC CSV",
            ListFormat::UnXml => "UN Security Council consolidated list (XML)",
            ListFormat::EuXml => "EU financial sanctions files (XML)",
            ListFormat::UkCsv => "UK sanctions list (CSV)",
            ListFormat::UkXml => "UK sanctions list (XML)",
            ListFormat::OpenSanctionsCsv => "OpenSanctions targets.simple.csv",
            ListFormat::FtmJson => "FollowTheMoney entities (JSON lines)",
        }
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

/// The format of one file, from its content (OFAC's headerless CSV files
/// by their official names). `None`: not a list file this importer reads.
pub fn detect(file_name: &str, bytes: &[u8]) -> Option<ListFormat> {
    let body = strip_bom(bytes);
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &body[i..]).unwrap_or(body);
    if start.starts_with(b"<") {
        return match xml::root_name(start)?.as_str() {
            "CONSOLIDATED_LIST" => Some(ListFormat::UnXml),
            "export" => Some(ListFormat::EuXml),
            "ArrayOfFinancialSanctionsTarget" | "Designations" => Some(ListFormat::UkXml),
            _ => None,
        };
    }
    if start.starts_with(b"{") {
        return Some(ListFormat::FtmJson);
    }
    let head = String::from_utf8_lossy(&start[..start.len().min(4096)]).to_ascii_lowercase();
    let first_lines: Vec<&str> = head.lines().take(3).collect();
    if first_lines.first().is_some_and(|l| l.trim_start_matches('"').starts_with("id,schema,name") || l.starts_with("\"id\",\"schema\",\"name\"")) {
        return Some(ListFormat::OpenSanctionsCsv);
    }
    if first_lines.iter().any(|l| l.contains("name 6")) {
        return Some(ListFormat::UkCsv);
    }
    ofac::ListFiles::NAMES.iter().any(|n| n.eq_ignore_ascii_case(file_name)).then_some(ListFormat::OfacCsv)
}

fn malformed(format: ListFormat, message: impl Into<String>) -> ParseError {
    ParseError::Format { format: format.describe(), message: message.into() }
}

/// Parses one file of a (non-OFAC) format into entries.
pub fn parse(format: ListFormat, bytes: &[u8]) -> Result<Vec<SanctionsEntry>, ParseError> {
    let bytes = strip_bom(bytes);
    let entries = match format {
        ListFormat::OfacCsv => return Err(malformed(format, "OFAC CSV files are parsed together (csv::parse)")),
        ListFormat::UnXml => parse_un(bytes),
        ListFormat::EuXml => parse_eu(bytes),
        ListFormat::UkCsv => parse_uk_csv(bytes),
        ListFormat::UkXml => parse_uk_xml(bytes),
        ListFormat::OpenSanctionsCsv => parse_opensanctions_csv(bytes),
        ListFormat::FtmJson => parse_ftm(bytes),
    }
    .map_err(|m| malformed(format, m))?;
    if entries.is_empty() {
        return Err(malformed(format, "no listed person or entity found"));
    }
    Ok(entries)
}

// ------------------------------------------------------------------ shared

/// Dates as the lists write them: `1952-10-07`, `1952-10`, `1952`,
/// `07/10/1952` (day first; `00` for an unknown day or month),
/// `circa 1952`, `1950-1952`.
pub fn loose_birth_date(raw: &str) -> Option<BirthDate> {
    let s = raw.trim();
    let lower = s.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("circa ").or_else(|| lower.strip_prefix("c. ")).or_else(|| lower.strip_prefix("approximately ")) {
        let y: i32 = rest.trim().get(..4)?.parse().ok()?;
        return Some(BirthDate::Year { year: y, circa: true });
    }
    if let Some((a, b)) = s.split_once(" to ").or_else(|| (s.len() == 9).then(|| s.split_once('-')).flatten()) {
        if let (Ok(from), Ok(to)) = (a.trim().parse::<i32>(), b.trim().parse::<i32>()) {
            return Some(BirthDate::Range { from, to });
        }
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).map(str::trim).collect();
    // An unknown day or month is `00`, or the letters `dd` / `mm` (the UK
    // list writes `dd/mm/1970`).
    let num = |p: &str| {
        if !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_alphabetic()) {
            Some(0)
        } else {
            p.parse::<u32>().ok()
        }
    };
    let (y, m, d) = match parts.as_slice() {
        [y] if y.len() == 4 => (y.parse().ok()?, 0, 0),
        [y, m] if y.len() == 4 => (y.parse().ok()?, num(m)?, 0),
        [m, y] if y.len() == 4 && m.len() <= 2 => (y.parse().ok()?, num(m)?, 0),
        [y, m, d] if y.len() == 4 => (y.parse().ok()?, num(m)?, num(d.get(..2).unwrap_or(d))?),
        [d, m, y] if y.len() == 4 => (y.parse().ok()?, num(m)?, num(d)?),
        _ => return None,
    };
    Some(match (m, d) {
        (0, _) => BirthDate::Year { year: y, circa: false },
        (m, 0) => BirthDate::Month { year: y, month: m },
        (m, d) => BirthDate::Exact { date: NaiveDate::from_ymd_opt(y, m, d)? },
    })
}

fn iso_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}




fn joined(parts: &[Option<&str>]) -> Option<String> {
    let words: Vec<&str> = parts.iter().flatten().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Keeps the aliases distinct from the name and each other.
fn tidy(mut e: SanctionsEntry) -> SanctionsEntry {
    let mut aliases: Vec<String> = Vec::new();
    for a in std::mem::take(&mut e.aliases) {
        if !a.trim().eq_ignore_ascii_case(e.name.trim()) {
            push_unique(&mut aliases, &a);
        }
    }
    e.aliases = aliases;
    e
}

// ------------------------------------------------------------------ UN

const UN_URL: &str = "https://main.un.org/securitycouncil/en/content/un-sc-consolidated-list";

fn parse_un(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let mut out = Vec::new();
    xml::for_each_record(bytes, |n| n == "INDIVIDUAL" || n == "ENTITY", |r| {
        let individual = r.name == "INDIVIDUAL";
        let Some(name) = joined(&[r.text_of("FIRST_NAME"), r.text_of("SECOND_NAME"), r.text_of("THIRD_NAME"), r.text_of("FOURTH_NAME")])
        else {
            return;
        };
        let mut d = EntryDetails { source_url: Some(UN_URL.into()), ..Default::default() };
        d.listed_on = r.text_of("LISTED_ON").and_then(iso_date);
        d.gender = r.text_of("GENDER").and_then(gender);
        for n in r.all("NATIONALITY") {
            for v in n.all("VALUE").filter_map(Element::value) {
                push_country(&mut d, v);
            }
        }
        let alias_tag = if individual { "INDIVIDUAL_ALIAS" } else { "ENTITY_ALIAS" };
        let mut aliases: Vec<String> = r.all(alias_tag).filter_map(|a| a.text_of("ALIAS_NAME")).map(str::to_string).collect();
        if let Some(original) = r.text_of("NAME_ORIGINAL_SCRIPT") {
            aliases.push(original.to_string());
        }
        let address_tag = if individual { "INDIVIDUAL_ADDRESS" } else { "ENTITY_ADDRESS" };
        let mut addresses = Vec::new();
        for a in r.all(address_tag) {
            if let Some(c) = a.text_of("COUNTRY") {
                push_country(&mut d, c);
            }
            if let Some(text) = joined(&[a.text_of("STREET"), a.text_of("CITY"), a.text_of("STATE_PROVINCE"), a.text_of("COUNTRY")]) {
                addresses.push(text);
            }
        }
        let mut birth_dates = Vec::new();
        for b in r.all("INDIVIDUAL_DATE_OF_BIRTH") {
            let date = match (b.text_of("TYPE_OF_DATE").map(str::to_ascii_uppercase).as_deref(), b.text_of("DATE"), b.text_of("YEAR")) {
                (Some("BETWEEN"), _, _) => match (b.text_of("FROM_YEAR").and_then(|y| y.parse().ok()), b.text_of("TO_YEAR").and_then(|y| y.parse().ok())) {
                    (Some(from), Some(to)) => Some(BirthDate::Range { from, to }),
                    _ => None,
                },
                (Some("APPROXIMATELY"), date, year) => {
                    date.or(year).and_then(|v| v.get(..4)?.parse().ok()).map(|year| BirthDate::Year { year, circa: true })
                }
                (_, Some(date), _) => loose_birth_date(date),
                (_, None, Some(year)) => loose_birth_date(year),
                _ => None,
            };
            birth_dates.extend(date);
        }
        for doc in r.all("INDIVIDUAL_DOCUMENT") {
            if let Some(n) = doc.text_of("NUMBER") {
                push_unique(&mut d.identifiers, n);
            }
        }
        let reference = r.text_of("REFERENCE_NUMBER");
        let remarks = joined(&[reference.map(|_| "Reference"), reference, r.text_of("COMMENTS1")]);
        out.push(tidy(SanctionsEntry {
            source: ListSource::Un,
            ent_num: r.text_of("DATAID").or(reference).unwrap_or(&name).to_string(),
            name,
            kind: if individual { EntryKind::Individual } else { EntryKind::Entity },
            programs: r.text_of("UN_LIST_TYPE").map(|p| vec![p.to_string()]).unwrap_or_default(),
            remarks,
            birth_dates,
            aliases,
            addresses,
            details: d,
        }));
    })?;
    Ok(out)
}

// ------------------------------------------------------------------ EU

fn parse_eu(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let mut out = Vec::new();
    xml::for_each_record(bytes, |n| n == "sanctionEntity", |r| {
        let kind = match r.child("subjectType").and_then(|s| s.attr("code")) {
            Some("person") => EntryKind::Individual,
            _ => EntryKind::Entity,
        };
        let mut names: Vec<String> = Vec::new();
        let mut d = EntryDetails::default();
        // The strong (primary) names first.
        let mut aliases: Vec<&Element> = r.all("nameAlias").collect();
        aliases.sort_by_key(|a| a.attr("strong") != Some("true"));
        for a in aliases {
            let whole = a.attr("wholeName").map(str::to_string).or_else(|| joined(&[a.attr("firstName"), a.attr("middleName"), a.attr("lastName")]));
            if let Some(w) = whole {
                push_unique(&mut names, &w);
            }
            if d.gender.is_none() {
                d.gender = a.attr("gender").and_then(gender);
            }
        }
        let Some(name) = names.first().cloned() else { return };
        for c in r.all("citizenship") {
            if let Some(code) = c.attr("countryIso2Code").filter(|c| *c != "00").or(c.attr("countryDescription")) {
                push_country(&mut d, code);
            }
        }
        let mut birth_dates = Vec::new();
        for b in r.all("birthdate") {
            let circa = b.attr("circa") == Some("true");
            let date = match (b.attr("birthdate"), b.attr("year"), b.attr("yearRangeFrom"), b.attr("yearRangeTo")) {
                (Some(date), _, _, _) if !circa => loose_birth_date(date),
                (_, _, Some(from), Some(to)) => match (from.parse(), to.parse()) {
                    (Ok(from), Ok(to)) => Some(BirthDate::Range { from, to }),
                    _ => None,
                },
                (date, Some(year), _, _) => year.parse().ok().map(|year| match (circa, b.attr("monthOfYear").and_then(|m| m.parse().ok())) {
                    (false, Some(month)) if date.is_none() => BirthDate::Month { year, month },
                    _ => BirthDate::Year { year, circa },
                }),
                (Some(date), None, _, _) => loose_birth_date(date).map(|bd| match bd {
                    BirthDate::Exact { date } if circa => BirthDate::Year { year: chrono::Datelike::year(&date), circa: true },
                    other => other,
                }),
                _ => None,
            };
            birth_dates.extend(date);
        }
        for i in r.all("identification") {
            if let Some(n) = i.attr("number").or(i.attr("latinNumber")) {
                push_unique(&mut d.identifiers, n);
            }
        }
        let mut addresses = Vec::new();
        for a in r.all("address") {
            if let Some(c) = a.attr("countryIso2Code").filter(|c| *c != "00") {
                push_country(&mut d, c);
            }
            if let Some(text) = joined(&[a.attr("street"), a.attr("city"), a.attr("region"), a.attr("countryDescription")]) {
                addresses.push(text);
            }
        }
        let mut programs = Vec::new();
        let mut listed: Vec<NaiveDate> = r.attr("designationDate").and_then(iso_date).into_iter().collect();
        for reg in r.all("regulation") {
            if let Some(p) = reg.attr("programme") {
                push_unique(&mut programs, p);
            }
            listed.extend(reg.attr("entryIntoForceDate").or(reg.attr("publicationDate")).and_then(iso_date));
            if d.source_url.is_none() {
                d.source_url = reg.text_of("publicationUrl").map(str::to_string);
            }
        }
        d.listed_on = listed.into_iter().min();
        let reference = r.attr("euReferenceNumber");
        let remark = r.text_of("remark");
        out.push(tidy(SanctionsEntry {
            source: ListSource::Eu,
            ent_num: r.attr("logicalId").or(reference).unwrap_or(&name).to_string(),
            name,
            kind,
            programs,
            remarks: joined(&[reference.map(|_| "Reference"), reference, remark]),
            birth_dates,
            aliases: names.into_iter().skip(1).collect(),
            addresses,
            details: d,
        }));
    })?;
    Ok(out)
}

// ------------------------------------------------------------------ UK

/// One published name row (or name element) of the UK list, before the
/// rows of one designation are put together.
#[derive(Default)]
struct UkName {
    id: String,
    name: String,
    primary: bool,
    kind: Option<EntryKind>,
    regime: Option<String>,
    listed_on: Option<NaiveDate>,
    birth_dates: Vec<String>,
    nationalities: Vec<String>,
    identifiers: Vec<String>,
    gender: Option<String>,
    address: Option<String>,
    address_country: Option<String>,
    other: Option<String>,
}

fn uk_kind(raw: &str) -> Option<EntryKind> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "individual" => Some(EntryKind::Individual),
        "entity" => Some(EntryKind::Entity),
        "ship" => Some(EntryKind::Vessel),
        _ => None,
    }
}

const UK_URL: &str = "https://www.gov.uk/government/publications/the-uk-sanctions-list";

fn uk_entries(rows: Vec<UkName>) -> Vec<SanctionsEntry> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<UkName>> = HashMap::new();
    for r in rows {
        if !groups.contains_key(&r.id) {
            order.push(r.id.clone());
        }
        groups.entry(r.id.clone()).or_default().push(r);
    }
    let mut out = Vec::new();
    for id in order {
        let mut rows = groups.remove(&id).unwrap_or_default();
        rows.sort_by_key(|r| !r.primary);
        let mut e = SanctionsEntry { source: ListSource::Uk, ent_num: id, ..Default::default() };
        e.details.source_url = Some(UK_URL.into());
        for r in rows {
            if e.name.is_empty() {
                e.name = r.name.clone();
            } else {
                e.aliases.push(r.name.clone());
            }
            e.kind = r.kind.or(Some(e.kind)).unwrap_or_default();
            if let Some(p) = &r.regime {
                push_unique(&mut e.programs, p);
            }
            e.details.listed_on = e.details.listed_on.or(r.listed_on);
            for b in r.birth_dates.iter().filter_map(|b| loose_birth_date(b)) {
                if !e.birth_dates.contains(&b) {
                    e.birth_dates.push(b);
                }
            }
            for n in &r.nationalities {
                push_country(&mut e.details, n);
            }
            if let Some(c) = &r.address_country {
                push_country(&mut e.details, c);
            }
            for i in &r.identifiers {
                push_unique(&mut e.details.identifiers, i);
            }
            e.details.gender = e.details.gender.take().or(r.gender.clone());
            if let Some(a) = &r.address {
                push_unique(&mut e.addresses, a);
            }
            if e.remarks.is_none() {
                e.remarks = r.other.clone();
            }
        }
        if !e.name.is_empty() {
            out.push(tidy(e));
        }
    }
    out
}

/// Splits a cell holding several values ("dd/mm/yyyy dd/mm/yyyy", "a;b",
/// and OFSI's numbered "(1) Afghan (2) Pakistani").
fn many(raw: Option<&str>) -> Vec<String> {
    let Some(raw) = raw else { return vec![] };
    let mut unnumbered = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = rest.find('(') {
        let close = rest[open..].find(')').map(|c| open + c);
        match close {
            Some(close) if close > open + 1 && rest[open + 1..close].bytes().all(|b| b.is_ascii_digit()) => {
                unnumbered.push_str(&rest[..open]);
                unnumbered.push('|');
                rest = &rest[close + 1..];
            }
            _ => {
                unnumbered.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    unnumbered.push_str(rest);
    unnumbered.split(['|', ';', '\n']).flat_map(|p| p.split("  ")).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

fn parse_uk_csv(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let text = ofac::decode(bytes);
    let records = ofac::records("UK sanctions list CSV", &text).map_err(|e| e.to_string())?;
    let header_at = records
        .iter()
        .position(|r| r.iter().flatten().any(|c| c.eq_ignore_ascii_case("name 6")))
        .ok_or("no header row with a `Name 6` column")?;
    let header: Vec<String> = records[header_at].iter().map(|c| c.clone().unwrap_or_default().to_ascii_lowercase()).collect();
    let col = |names: &[&str]| names.iter().find_map(|n| header.iter().position(|h| h == n));
    let id_col = col(&["unique id", "group id"]).ok_or("no `Unique ID` or `Group ID` column")?;
    let name_cols: Vec<Option<usize>> = ["name 1", "name 2", "name 3", "name 4", "name 5", "name 6"].iter().map(|n| col(&[n])).collect();
    let c = |names: &[&str]| col(names);
    let (kind_c, type_c, regime_c, listed_c, dob_c, nat_c) = (
        c(&["designation type", "group type"]),
        c(&["name type", "alias type"]),
        c(&["regime name", "regime"]),
        c(&["date designated", "listed on"]),
        c(&["d.o.b", "dob"]),
        c(&["nationality(/ies)", "nationality"]),
    );
    let (passport_c, national_c, gender_c, country_c, other_c) = (
        c(&["passport number"]),
        c(&["national identifier number", "national identification number"]),
        c(&["gender"]),
        c(&["address country", "country"]),
        c(&["other information"]),
    );
    let address_cols: Vec<usize> = header.iter().enumerate().filter(|(_, h)| h.starts_with("address line") || (h.starts_with("address ") && h.len() == 9)).map(|(i, _)| i).collect();
    let mut rows = Vec::new();
    for r in &records[header_at + 1..] {
        let get = |i: Option<usize>| i.and_then(|i| r.get(i)).and_then(|v| v.as_deref());
        let Some(id) = get(Some(id_col)) else { continue };
        let Some(name) = joined(&name_cols.iter().map(|c| get(*c)).collect::<Vec<_>>()) else { continue };
        let addr: Vec<Option<&str>> = address_cols.iter().map(|c| get(Some(*c))).chain([get(country_c)]).collect();
        rows.push(UkName {
            id: id.to_string(),
            name,
            primary: get(type_c).is_some_and(|t| t.to_ascii_lowercase().starts_with("primary")),
            kind: get(kind_c).and_then(uk_kind),
            regime: get(regime_c).map(str::to_string),
            listed_on: get(listed_c).and_then(iso_date),
            birth_dates: many(get(dob_c)),
            nationalities: many(get(nat_c)),
            identifiers: many(get(passport_c)).into_iter().chain(many(get(national_c))).collect(),
            gender: get(gender_c).and_then(gender),
            address: joined(&addr),
            address_country: get(country_c).map(str::to_string),
            other: get(other_c).map(str::to_string),
        });
    }
    Ok(uk_entries(rows))
}

/// Every descendant's text by lower-cased local name.
fn descendants<'a>(e: &'a Element, out: &mut Vec<(String, &'a Element)>) {
    for c in &e.children {
        out.push((c.name.to_ascii_lowercase(), c));
        descendants(c, out);
    }
}

/// The trimmed text of a child, its name compared without case (OFSI's
/// file writes `Name6` but `name1` ... `name5`).
fn text_ci<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.children.iter().find(|c| c.name.eq_ignore_ascii_case(name)).and_then(Element::value)
}

const NAME_PARTS: [&str; 6] = ["name1", "name2", "name3", "name4", "name5", "name6"];

/// Both UK XML publications, checked against the element names of the
/// published files (see docs/engines/screening.md):
///
/// - the FCDO's UK Sanctions List (`Designations/Designation`):
///   `UniqueID`, `IndividualEntityShip`, `RegimeName`, `DateDesignated`
///   (dd/mm/yyyy), `Names/Name` (`Name1`..`Name6`, `NameType`),
///   `NonLatinNames/NonLatinName/NameNonLatinScript`, `Addresses/Address`
///   (`AddressLine1`..`6`, `AddressCountry`), `OtherInformation` and
///   `IndividualDetails/Individual` with `DOBs/DOB` (`dd/mm/1970` for an
///   unknown day and month), `Nationalities/Nationality`, `Genders/Gender`,
///   `PassportDetails/Passport/PassportNumber` and
///   `NationalIdentifierDetails/NationalIdentifier/NationalIdentifierNumber`;
/// - OFSI's consolidated list (`ArrayOfFinancialSanctionsTarget`, one flat
///   `FinancialSanctionsTarget` per name, grouped by `GroupID`): `Name6`,
///   `name1`..`name5`, `AliasType`, `GroupTypeDescription`, `RegimeName`,
///   `DateListed` / `DateDesignated` (ISO), `Individual_DateOfBirth`,
///   `Individual_Nationality`, `Individual_Gender`,
///   `Individual_PassportNumber`, `Individual_NINumber` (numbered
///   "(1) … (2) …" when several), `Address1`..`6`, `Country`,
///   `NameNonLatinScript`, `OtherInformation`.
fn parse_uk_xml(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let mut rows = Vec::new();
    xml::for_each_record(bytes, |n| n == "FinancialSanctionsTarget" || n == "Designation", |r| {
        let mut all = Vec::new();
        descendants(&r, &mut all);
        let first = |names: &[&str]| names.iter().find_map(|n| all.iter().find(|(k, _)| k == n).and_then(|(_, e)| e.value()));
        let every = |names: &[&str]| {
            names.iter().flat_map(|n| all.iter().filter(move |(k, _)| k == n)).filter_map(|(_, e)| e.value()).flat_map(|v| many(Some(v))).collect::<Vec<_>>()
        };
        let Some(id) = first(&["uniqueid", "groupid"]) else { return };
        let address = |a: &Element| {
            let lines: Vec<Option<&str>> = ["AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "AddressLine5", "AddressLine6", "AddressPostalCode", "AddressCountry"]
                .iter()
                .map(|n| text_ci(a, n))
                .collect();
            joined(&lines)
        };
        let addresses: Vec<String> = all.iter().filter(|(k, _)| k == "address").filter_map(|(_, a)| address(a)).collect();
        // OFSI writes the address flat on the record.
        let flat_address = joined(&["Address1", "Address2", "Address3", "Address4", "Address5", "Address6", "PostCode", "Country"].iter().map(|n| text_ci(&r, n)).collect::<Vec<_>>());
        let template = UkName {
            id: id.to_string(),
            kind: first(&["individualentityship", "grouptypedescription"]).and_then(uk_kind),
            regime: first(&["regimename"]).map(str::to_string),
            listed_on: first(&["datedesignated", "datelisted"]).and_then(iso_date),
            birth_dates: every(&["dob", "individual_dateofbirth"]),
            nationalities: every(&["nationality", "individual_nationality"]),
            identifiers: every(&["passportnumber", "individual_passportnumber", "nationalidentifiernumber", "individual_ninumber"]),
            gender: first(&["gender", "individual_gender"]).and_then(gender),
            address: addresses.first().cloned().or(flat_address),
            address_country: first(&["addresscountry", "country"]).map(str::to_string),
            other: first(&["otherinformation"]).map(str::to_string),
            ..Default::default()
        };
        // A name is an element holding name parts: each `Names/Name` in the
        // FCDO's file, the record itself in OFSI's.
        let holds_name = |e: &Element| e.children.iter().any(|c| NAME_PARTS.iter().any(|p| c.name.eq_ignore_ascii_case(p)));
        let mut holders: Vec<&Element> = all.iter().filter(|(k, e)| k == "name" && holds_name(e)).map(|(_, e)| *e).collect();
        if holds_name(&r) {
            holders.insert(0, &r);
        }
        let mut names: Vec<(String, bool)> = Vec::new();
        for h in holders {
            let parts: Vec<Option<&str>> = NAME_PARTS.iter().map(|n| text_ci(h, n)).collect();
            let Some(name) = joined(&parts) else { continue };
            let kind_of_name = text_ci(h, "NameType").or(text_ci(h, "AliasType"));
            names.push((name, kind_of_name.is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("primary name"))));
        }
        // Names in another script are aliases (Cyrillic is transliterated when matching).
        names.extend(every(&["namenonlatinscript"]).into_iter().map(|n| (n, false)));
        for (name, primary) in names {
            rows.push(UkName {
                name,
                primary,
                id: template.id.clone(),
                kind: template.kind,
                regime: template.regime.clone(),
                listed_on: template.listed_on,
                birth_dates: template.birth_dates.clone(),
                nationalities: template.nationalities.clone(),
                identifiers: template.identifiers.clone(),
                gender: template.gender.clone(),
                address: template.address.clone(),
                address_country: template.address_country.clone(),
                other: template.other.clone(),
            });
        }
    })?;
    Ok(uk_entries(rows))
}

// ------------------------------------------------------------------ OpenSanctions

fn opensanctions_url(id: &str) -> String {
    format!("https://www.opensanctions.org/entities/{id}/")
}

fn schema_kind(schema: &str) -> Option<EntryKind> {
    match schema {
        "Person" => Some(EntryKind::Individual),
        "Organization" | "Company" | "LegalEntity" | "PublicBody" => Some(EntryKind::Entity),
        "Vessel" => Some(EntryKind::Vessel),
        "Airplane" => Some(EntryKind::Aircraft),
        _ => None,
    }
}

fn parse_opensanctions_csv(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let text = ofac::decode(bytes);
    let records = ofac::records("targets.simple.csv", &text).map_err(|e| e.to_string())?;
    let Some((header, rows)) = records.split_first() else { return Ok(vec![]) };
    let header: Vec<String> = header.iter().map(|c| c.clone().unwrap_or_default().to_ascii_lowercase()).collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (id_c, schema_c, name_c) = (col("id").ok_or("no `id` column")?, col("schema"), col("name").ok_or("no `name` column")?);
    let [aliases_c, birth_c, countries_c, addresses_c, ids_c, sanctions_c, programs_c, dataset_c] =
        ["aliases", "birth_date", "countries", "addresses", "identifiers", "sanctions", "program_ids", "dataset"].map(col);
    let mut out = Vec::new();
    for r in rows {
        let get = |i: Option<usize>| i.and_then(|i| r.get(i)).and_then(|v| v.as_deref());
        let list = |i: Option<usize>| get(i).map(|s| s.split(';').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect::<Vec<_>>()).unwrap_or_default();
        let (Some(id), Some(name)) = (get(Some(id_c)), get(Some(name_c))) else { continue };
        let Some(kind) = schema_kind(get(schema_c).unwrap_or("LegalEntity")) else { continue };
        let sanctions = list(sanctions_c);
        let datasets = get(dataset_c).unwrap_or_default();
        // The simple export has no topics: an entry without a sanction whose
        // datasets are PEP collections is a PEP.
        let lower = datasets.to_ascii_lowercase();
        let category =
            if sanctions.is_empty() && (lower.contains("pep") || lower.contains("politic")) { Category::Pep } else { Category::Sanction };
        let mut d = EntryDetails { category, source_url: Some(opensanctions_url(id)), identifiers: list(ids_c), ..Default::default() };
        for c in list(countries_c) {
            push_country(&mut d, &c);
        }
        let mut programs = list(programs_c);
        programs.extend(sanctions);
        out.push(tidy(SanctionsEntry {
            source: ListSource::OpenSanctions,
            ent_num: id.to_string(),
            name: name.to_string(),
            kind,
            programs,
            remarks: (!datasets.is_empty()).then(|| format!("Datasets: {datasets}")),
            birth_dates: list(birth_c).iter().filter_map(|b| loose_birth_date(b)).collect(),
            aliases: list(aliases_c),
            addresses: list(addresses_c),
            details: d,
        }));
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct FtmEntity {
    id: String,
    schema: String,
    #[serde(default)]
    properties: HashMap<String, Vec<serde_json::Value>>,
    #[serde(default)]
    target: Option<bool>,
    #[serde(default)]
    datasets: Vec<String>,
}

impl FtmEntity {
    fn values(&self, prop: &str) -> Vec<String> {
        self.properties
            .get(prop)
            .map(|v| v.iter().filter_map(|x| x.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// What the `Sanction` entities of an export say about their target.
#[derive(Default)]
struct SanctionFacts {
    programs: Vec<String>,
    listed: Vec<NaiveDate>,
    url: Option<String>,
}

fn parse_ftm(bytes: &[u8]) -> Result<Vec<SanctionsEntry>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut targets: Vec<FtmEntity> = Vec::new();
    let mut facts: HashMap<String, SanctionFacts> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let e: FtmEntity = serde_json::from_str(line).map_err(|err| format!("line {}: {err}", n + 1))?;
        if e.schema == "Sanction" {
            for owner in e.values("entity") {
                let f = facts.entry(owner).or_default();
                for p in e.values("program").into_iter().chain(e.values("programId")).chain(e.values("authority")) {
                    push_unique(&mut f.programs, &p);
                }
                f.listed.extend(e.values("listingDate").iter().chain(&e.values("startDate")).filter_map(|d| iso_date(d)));
                f.url = f.url.take().or_else(|| e.values("sourceUrl").into_iter().next());
            }
            continue;
        }
        if schema_kind(&e.schema).is_some() && e.target != Some(false) && !e.values("name").is_empty() {
            targets.push(e);
        }
    }
    let mut out = Vec::new();
    for e in targets {
        let topics = e.values("topics");
        let is_sanctioned = topics.iter().any(|t| t.starts_with("sanction"));
        let is_pep = topics.iter().any(|t| t == "role.pep" || t == "role.rca");
        // A target without topics (an export of targets only) still counts.
        if e.target.is_none() && topics.is_empty() {
            continue;
        }
        let mut names = e.values("name");
        let name = names.remove(0);
        let f = facts.remove(&e.id).unwrap_or_default();
        let mut d = EntryDetails {
            category: if is_pep && !is_sanctioned { Category::Pep } else { Category::Sanction },
            source_url: f.url.clone().or_else(|| e.values("sourceUrl").into_iter().next()).or_else(|| Some(opensanctions_url(&e.id))),
            listed_on: f.listed.iter().min().copied(),
            gender: e.values("gender").first().and_then(|g| gender(g)),
            ..Default::default()
        };
        for c in e.values("nationality").iter().chain(&e.values("citizenship")).chain(&e.values("country")) {
            push_country(&mut d, c);
        }
        for prop in ["passportNumber", "idNumber", "registrationNumber", "innCode", "taxNumber", "imoNumber"] {
            for v in e.values(prop) {
                push_unique(&mut d.identifiers, &v);
            }
        }
        let mut programs = f.programs;
        for p in e.values("program") {
            push_unique(&mut programs, &p);
        }
        let mut remarks: Vec<String> = e.values("position");
        if !e.datasets.is_empty() {
            remarks.push(format!("Datasets: {}", e.datasets.join(", ")));
        }
        if !topics.is_empty() {
            remarks.push(format!("Topics: {}", topics.join(", ")));
        }
        names.extend(e.values("alias"));
        names.extend(e.values("previousName"));
        out.push(tidy(SanctionsEntry {
            source: ListSource::OpenSanctions,
            ent_num: e.id.clone(),
            name,
            kind: schema_kind(&e.schema).unwrap_or_default(),
            programs,
            remarks: (!remarks.is_empty()).then(|| remarks.join("; ")),
            birth_dates: e.values("birthDate").iter().filter_map(|b| loose_birth_date(b)).collect(),
            aliases: names,
            addresses: e.values("address"),
            details: d,
        }));
    }
    Ok(out)
}

// ------------------------------------------------------------------ OFAC remarks


#[cfg(test)]
mod tests;
