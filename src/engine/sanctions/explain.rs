//! Why a listed entry matched: a score per feature (name tokens, birth
//! date, country, gender, identifiers) and what the list says about the
//! entry, so an analyst can judge the hit without opening the list.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::country;
use super::csv::{BirthDate, SanctionsEntry};
use super::matcher::TokenPair;

/// One feature's contribution.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FeatureScore {
    /// 0..1 agreement of the subject and the entry on this feature.
    pub score: f64,
    /// What the feature added to (or took from) the match score.
    pub effect: f64,
    pub detail: String,
}

/// The per-feature scores of a match. A feature is `null` when the
/// subject or the entry does not have it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Features {
    /// Similarity of the names (0..1), before the other features.
    pub name: f64,
    /// How the tokens of the subject's name paired with the listed name's.
    pub name_tokens: Vec<TokenPair>,
    pub birth_date: Option<FeatureScore>,
    pub country: Option<FeatureScore>,
    pub gender: Option<FeatureScore>,
    pub identifier: Option<FeatureScore>,
}

/// What the list says about the matched entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ListedEntry {
    /// `ofac`, `un`, `eu`, `uk` or `opensanctions`.
    pub list_key: String,
    /// The publication, e.g. `OFAC SDN`, `UN Security Council`.
    pub list: String,
    pub entry_id: String,
    /// `sanction` or `pep`.
    pub category: String,
    /// `individual`, `entity`, `vessel` or `aircraft`.
    pub kind: String,
    /// The primary name first, then the aliases (at most 20).
    pub names: Vec<String>,
    /// Sanctions programmes or regimes.
    pub programs: Vec<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub listed_on: Option<NaiveDate>,
    /// As published: `1952-10-07`, `1952-10`, `1952`, `circa 1952`, `1950..1952`.
    pub birth_dates: Vec<String>,
    /// ISO 3166 alpha-2 codes where recognised.
    pub countries: Vec<String>,
    pub gender: Option<String>,
    pub source_url: Option<String>,
    pub remarks: Option<String>,
}

/// A hit's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Explanation {
    /// The listed name or alias that matched best.
    pub matched_name: String,
    pub features: Features,
    pub entry: ListedEntry,
}

pub fn birth_date_text(b: &BirthDate) -> String {
    match *b {
        BirthDate::Exact { date } => date.format("%Y-%m-%d").to_string(),
        BirthDate::Month { year, month } => format!("{year}-{month:02}"),
        BirthDate::Year { year, circa: false } => year.to_string(),
        BirthDate::Year { year, circa: true } => format!("circa {year}"),
        BirthDate::Range { from, to } => format!("{from}..{to}"),
    }
}

pub fn listed_entry(e: &SanctionsEntry) -> ListedEntry {
    ListedEntry {
        list_key: e.source.list_key().into(),
        list: e.source.label().into(),
        entry_id: e.ent_num.clone(),
        category: e.details.category.as_str().into(),
        kind: e.kind.as_str().into(),
        names: std::iter::once(&e.name).chain(&e.aliases).take(20).cloned().collect(),
        programs: e.programs.clone(),
        listed_on: e.details.listed_on,
        birth_dates: e.birth_dates.iter().map(birth_date_text).collect(),
        countries: e.details.countries.clone(),
        gender: e.details.gender.clone(),
        source_url: e.details.source_url.clone(),
        remarks: e.remarks.clone(),
    }
}

/// Score effects, documented in docs/engines/screening.md.
pub const EXACT_BIRTH_DATE_BONUS: f64 = 0.03;
pub const MONTH_BIRTH_DATE_BONUS: f64 = 0.01;
pub const COUNTRY_MATCH_BONUS: f64 = 0.02;
pub const COUNTRY_MISMATCH_PENALTY: f64 = 0.03;
pub const GENDER_MISMATCH_PENALTY: f64 = 0.15;
pub const IDENTIFIER_MATCH_BONUS: f64 = 0.10;

/// The birth-date feature: `None` when either side has none. A date that
/// does not fit never gets here (the hard gate dropped the entry).
pub fn birth_date(entry: &SanctionsEntry, born: Option<NaiveDate>) -> Option<FeatureScore> {
    let d = born?;
    if entry.birth_dates.is_empty() {
        return None;
    }
    let best = entry.birth_dates.iter().filter(|b| b.admits(d)).map(|b| match *b {
        BirthDate::Exact { date } if date == d => (1.0_f64, EXACT_BIRTH_DATE_BONUS, format!("same date {}", birth_date_text(b))),
        BirthDate::Exact { .. } => (0.8, 0.0, format!("{} is a likely typo of {}", d, birth_date_text(b))),
        BirthDate::Month { .. } => (0.9, MONTH_BIRTH_DATE_BONUS, format!("same month ({} listed)", birth_date_text(b))),
        BirthDate::Year { year, circa } if year == d.year() && !circa => (0.6, 0.0, format!("same year only ({year} listed)")),
        _ => (0.5, 0.0, format!("{} is within {}", d.year(), birth_date_text(b))),
    });
    let (score, effect, detail) = best.max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(FeatureScore { score, effect, detail })
}

/// The country feature: the subject's country against the entry's
/// nationalities and address countries (both recognised codes only).
pub fn country(entry: &SanctionsEntry, subject_country: Option<&str>) -> Option<FeatureScore> {
    let code = country::code(subject_country?)?;
    let listed: Vec<&str> = entry.details.countries.iter().filter_map(|c| country::code(c)).collect();
    if listed.is_empty() {
        return None;
    }
    Some(if listed.contains(&code) {
        FeatureScore { score: 1.0, effect: COUNTRY_MATCH_BONUS, detail: format!("{code} is listed") }
    } else {
        FeatureScore { score: 0.0, effect: -COUNTRY_MISMATCH_PENALTY, detail: format!("{code} is not among {}", listed.join(", ")) }
    })
}

pub fn gender(entry: &SanctionsEntry, subject_gender: Option<&str>) -> Option<FeatureScore> {
    let listed = entry.details.gender.as_deref()?;
    let subject = match subject_gender?.trim().to_ascii_lowercase().as_str() {
        "m" | "male" => "male",
        "f" | "female" => "female",
        _ => return None,
    };
    Some(if subject == listed {
        FeatureScore { score: 1.0, effect: 0.0, detail: format!("both {listed}") }
    } else {
        FeatureScore { score: 0.0, effect: -GENDER_MISMATCH_PENALTY, detail: format!("{subject}, listed {listed}") }
    })
}

/// A document number as compared: letters and digits, upper case.
pub fn id_key(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// A document number equal to a listed one is strong evidence; a
/// different one says nothing (people hold several documents).
pub fn identifier(entry: &SanctionsEntry, number: Option<&str>) -> Option<FeatureScore> {
    let key = id_key(number?);
    if key.len() < 4 || entry.details.identifiers.is_empty() {
        return None;
    }
    let hit = entry.details.identifiers.iter().find(|i| id_key(i) == key);
    Some(match hit {
        Some(i) => FeatureScore { score: 1.0, effect: IDENTIFIER_MATCH_BONUS, detail: format!("document number {i} is listed") },
        None => FeatureScore { score: 0.0, effect: 0.0, detail: "the document number is not listed".into() },
    })
}
