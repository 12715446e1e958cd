//! Document validity: the dates a document states, judged against the date
//! in the issuing jurisdiction. Pure: `now` comes in as an argument.
//!
//! | check | fails when |
//! |---|---|
//! | `document_expiry` | the expiry date is before today in the issuing jurisdiction |
//! | `document_issue_date` | the issue date is after today there (not yet valid) |
//! | `document_date_order` | the issue date is after the expiry date |
//! | `birth_date_plausibility` | the birth date is after today, after the issue date, or more than [`MAX_AGE_YEARS`] ago |
//! | `expiry_crosscheck` | the barcode/MRZ expiry differs from the printed one |
//! | `birth_date_crosscheck` | the barcode/MRZ birth date differs from the printed one |
//!
//! A check whose dates were not read is `unavailable` with the reason.
//!
//! "Today in the issuing jurisdiction" uses the westernmost standard-time
//! offset of the issuing US state or territory (a document is valid through
//! its expiry date everywhere in the state that issued it); any other or an
//! unknown issuer gets UTC−12, the last place on Earth where a date is
//! still current. Both choices only ever give the holder the benefit of
//! the doubt: a document is never called expired while its expiry date is
//! still today somewhere it could have been issued.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde_json::json;

use crate::engine::CheckOutcome;
use crate::domain::checks::names;

/// Older than this (in years) is not a living document holder.
pub const MAX_AGE_YEARS: i32 = 120;

/// The dates the checks read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentDates {
    /// The document's dates (barcode/MRZ when read, else the printed ones).
    pub issued_at: Option<NaiveDate>,
    pub expires_at: Option<NaiveDate>,
    pub birth_date: Option<NaiveDate>,
    pub issuing_country: Option<String>,
    pub issuing_state: Option<String>,
    /// The expiry printed on the card (OCR) and encoded in the barcode/MRZ,
    /// for `expiry_crosscheck`.
    pub printed_expiry: Option<NaiveDate>,
    pub machine_expiry: Option<NaiveDate>,
    /// The birth date printed and encoded, for `birth_date_crosscheck`.
    pub printed_birth_date: Option<NaiveDate>,
    pub machine_birth_date: Option<NaiveDate>,
}

/// Every validity check, in a fixed order.
pub fn check(dates: &DocumentDates, now: DateTime<Utc>) -> Vec<CheckOutcome> {
    let (today, zone) = jurisdiction_today(now, dates.issuing_country.as_deref(), dates.issuing_state.as_deref());
    let evidence = |extra: serde_json::Value| {
        let mut e = json!({ "today": today.to_string(), "zone": zone });
        if let (Some(map), serde_json::Value::Object(more)) = (e.as_object_mut(), extra) {
            map.extend(more);
        }
        e
    };
    let mut out = Vec::with_capacity(6);

    out.push(match dates.expires_at {
        None => CheckOutcome::unavailable(names::DOCUMENT_EXPIRY, "no expiry date was read"),
        Some(exp) if exp < today => {
            let days = (today - exp).num_days();
            CheckOutcome::fail(names::DOCUMENT_EXPIRY, 0.0, format!("the document expired on {exp}, {days} day(s) before {today} ({zone})"))
        }
        Some(exp) => CheckOutcome::pass(names::DOCUMENT_EXPIRY, 1.0, format!("valid through {exp} ({zone} date {today})")),
    }
    .with_evidence(evidence(json!({ "expires_at": dates.expires_at.map(|d| d.to_string()) }))));

    out.push(match dates.issued_at {
        None => CheckOutcome::unavailable(names::DOCUMENT_ISSUE_DATE, "no issue date was read"),
        Some(iss) if iss > today => CheckOutcome::fail(
            names::DOCUMENT_ISSUE_DATE,
            0.0,
            format!("the document is not valid yet: issued {iss}, after {today} ({zone})"),
        ),
        Some(iss) => CheckOutcome::pass(names::DOCUMENT_ISSUE_DATE, 1.0, format!("issued {iss}")),
    }
    .with_evidence(evidence(json!({ "issued_at": dates.issued_at.map(|d| d.to_string()) }))));

    out.push(match (dates.issued_at, dates.expires_at) {
        (Some(iss), Some(exp)) if iss > exp => {
            CheckOutcome::fail(names::DOCUMENT_DATE_ORDER, 0.0, format!("issued {iss}, after its expiry date {exp}"))
        }
        (Some(iss), Some(exp)) => CheckOutcome::pass(names::DOCUMENT_DATE_ORDER, 1.0, format!("issued {iss}, expires {exp}")),
        _ => CheckOutcome::unavailable(names::DOCUMENT_DATE_ORDER, "the issue and expiry dates were not both read"),
    });

    out.push(match dates.birth_date {
        None => CheckOutcome::unavailable(names::BIRTH_DATE_PLAUSIBILITY, "no birth date was read"),
        Some(birth) => birth_plausibility(birth, dates.issued_at, today),
    });

    out.push(date_crosscheck(names::EXPIRY_CROSSCHECK, "expiry", dates.printed_expiry, dates.machine_expiry));
    out.push(date_crosscheck(names::BIRTH_DATE_CROSSCHECK, "birth date", dates.printed_birth_date, dates.machine_birth_date));
    out
}

/// The printed `what` (expiry, birth date) against the one the barcode or
/// MRZ encodes: pass when equal, fail when both were read and differ.
fn date_crosscheck(check: &'static str, what: &str, printed: Option<NaiveDate>, machine: Option<NaiveDate>) -> CheckOutcome {
    match (printed, machine) {
        (Some(p), Some(m)) if p == m => CheckOutcome::pass(check, 1.0, format!("printed and encoded {what} agree ({p})")),
        (Some(p), Some(m)) => CheckOutcome::fail(check, 0.0, format!("the printed {what} {p} differs from the barcode/MRZ {what} {m}")),
        (None, _) => CheckOutcome::unavailable(check, format!("no printed {what} was read")),
        (_, None) => CheckOutcome::unavailable(check, format!("no barcode/MRZ {what} was read")),
    }
    .with_evidence(json!({
        "printed": printed.map(|d| d.to_string()),
        "machine": machine.map(|d| d.to_string()),
    }))
}

fn birth_plausibility(birth: NaiveDate, issued_at: Option<NaiveDate>, today: NaiveDate) -> CheckOutcome {
    let name = names::BIRTH_DATE_PLAUSIBILITY;
    if birth > today {
        return CheckOutcome::fail(name, 0.0, format!("the birth date {birth} is in the future"));
    }
    if let Some(iss) = issued_at.filter(|iss| birth > *iss) {
        return CheckOutcome::fail(name, 0.0, format!("the birth date {birth} is after the issue date {iss}"));
    }
    let age = age_on(birth, today);
    if age > MAX_AGE_YEARS {
        return CheckOutcome::fail(name, 0.0, format!("the birth date {birth} gives an age of {age}, over {MAX_AGE_YEARS}"));
    }
    CheckOutcome::pass(name, 1.0, format!("age {age}"))
}

/// Whole years from `birth` to `on`.
fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The westernmost standard-time UTC offset (hours) of a US state or
/// territory by its postal code.
fn us_offset_hours(state: &str) -> Option<i32> {
    Some(match state {
        "AS" => -11,
        "HI" | "AK" => -10,
        "CA" | "WA" | "OR" | "NV" | "ID" => -8,
        "AZ" | "CO" | "MT" | "NM" | "UT" | "WY" | "ND" | "SD" | "NE" | "KS" | "TX" => -7,
        "AL" | "AR" | "IL" | "IA" | "LA" | "MN" | "MS" | "MO" | "OK" | "WI" | "TN" | "KY" | "IN" | "MI" | "FL" => -6,
        "CT" | "DE" | "DC" | "GA" | "ME" | "MD" | "MA" | "NH" | "NJ" | "NY" | "NC" | "OH" | "PA" | "RI" | "SC" | "VT" | "VA"
        | "WV" => -5,
        "PR" | "VI" => -4,
        "GU" | "MP" => 10,
        _ => return None,
    })
}

/// Today's date where the document was issued, and how that was decided.
pub fn jurisdiction_today(now: DateTime<Utc>, country: Option<&str>, state: Option<&str>) -> (NaiveDate, String) {
    let country = country.map(|c| c.trim().to_ascii_uppercase());
    let state = state.map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
    let us = country.as_deref().is_none_or(|c| matches!(c, "USA" | "US" | ""));
    let (hours, zone) = match state.as_deref().filter(|_| us).and_then(|s| us_offset_hours(s).map(|h| (h, s.to_string()))) {
        Some((h, s)) => (h, format!("{s}, UTC{h:+}")),
        None => (-12, "anywhere on Earth, UTC-12".to_string()),
    };
    let offset = FixedOffset::east_opt(hours * 3600).expect("offset within a day");
    (now.with_timezone(&offset).date_naive(), zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Verdict;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn at(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, 0, 0).unwrap()
    }

    fn valid() -> DocumentDates {
        DocumentDates {
            issued_at: Some(d(2023, 3, 15)),
            expires_at: Some(d(2031, 3, 15)),
            birth_date: Some(d(1978, 3, 15)),
            issuing_country: Some("USA".into()),
            issuing_state: Some("VA".into()),
            printed_expiry: Some(d(2031, 3, 15)),
            machine_expiry: Some(d(2031, 3, 15)),
            printed_birth_date: Some(d(1978, 3, 15)),
            machine_birth_date: Some(d(1978, 3, 15)),
        }
    }

    fn verdict_of(outcomes: &[CheckOutcome], name: &str) -> Verdict {
        outcomes.iter().find(|o| o.name == name).unwrap().verdict
    }

    #[test]
    fn a_valid_document_passes_every_check() {
        let out = check(&valid(), at(2026, 12, 3, 12));
        assert_eq!(out.len(), 6);
        assert!(out.iter().all(|o| o.verdict == Verdict::Pass), "{out:?}");
    }

    #[test]
    fn expiry_is_judged_in_the_issuing_state() {
        // Expires 2026-12-02. At 03:00 UTC on the 3rd it is still the 2nd in Virginia (UTC-5): valid.
        let dates = DocumentDates { expires_at: Some(d(2026, 12, 2)), ..valid() };
        assert_eq!(verdict_of(&check(&dates, at(2026, 12, 3, 3)), names::DOCUMENT_EXPIRY), Verdict::Pass);
        // At 06:00 UTC it is the 3rd in Virginia: expired.
        assert_eq!(verdict_of(&check(&dates, at(2026, 12, 3, 6)), names::DOCUMENT_EXPIRY), Verdict::Fail);
        // Hawaii (UTC-10) is still on the 2nd at 06:00 UTC.
        let hawaii = DocumentDates { issuing_state: Some("HI".into()), ..dates.clone() };
        assert_eq!(verdict_of(&check(&hawaii, at(2026, 12, 3, 6)), names::DOCUMENT_EXPIRY), Verdict::Pass);
        // An unknown issuer gets the latest date line (UTC-12).
        let unknown = DocumentDates { issuing_country: Some("UTO".into()), issuing_state: None, ..dates };
        assert_eq!(verdict_of(&check(&unknown, at(2026, 12, 3, 11)), names::DOCUMENT_EXPIRY), Verdict::Pass);
        assert_eq!(verdict_of(&check(&unknown, at(2026, 12, 3, 12)), names::DOCUMENT_EXPIRY), Verdict::Fail);
    }

    #[test]
    fn months_expired_fails_with_the_dates() {
        let dates = DocumentDates { expires_at: Some(d(2026, 6, 1)), machine_expiry: Some(d(2026, 6, 1)), ..valid() };
        let out = check(&dates, at(2026, 12, 3, 12));
        let expiry = out.iter().find(|o| o.name == names::DOCUMENT_EXPIRY).unwrap();
        assert_eq!(expiry.verdict, Verdict::Fail);
        assert!(expiry.detail.contains("2026-06-01") && expiry.detail.contains("185 day(s)"), "{}", expiry.detail);
        assert_eq!(verdict_of(&out, names::EXPIRY_CROSSCHECK), Verdict::Fail, "printed 2031 vs encoded 2026");
    }

    #[test]
    fn a_printed_birth_date_unlike_the_encoded_one_fails() {
        let now = at(2026, 12, 3, 12);
        let altered = DocumentDates { printed_birth_date: Some(d(1988, 3, 15)), ..valid() };
        assert_eq!(verdict_of(&check(&altered, now), names::BIRTH_DATE_CROSSCHECK), Verdict::Fail);
        let unread = DocumentDates { printed_birth_date: None, ..valid() };
        assert_eq!(verdict_of(&check(&unread, now), names::BIRTH_DATE_CROSSCHECK), Verdict::Unavailable);
    }

    #[test]
    fn not_yet_valid_and_dates_out_of_order() {
        let future = DocumentDates { issued_at: Some(d(2027, 1, 1)), ..valid() };
        let out = check(&future, at(2026, 12, 3, 12));
        assert_eq!(verdict_of(&out, names::DOCUMENT_ISSUE_DATE), Verdict::Fail);
        assert_eq!(verdict_of(&out, names::DOCUMENT_DATE_ORDER), Verdict::Pass);
        let reversed = DocumentDates { issued_at: Some(d(2025, 1, 1)), expires_at: Some(d(2024, 1, 1)), ..valid() };
        let out = check(&reversed, at(2023, 12, 3, 12));
        assert_eq!(verdict_of(&out, names::DOCUMENT_DATE_ORDER), Verdict::Fail);
    }

    #[test]
    fn implausible_birth_dates() {
        let now = at(2026, 12, 3, 12);
        for birth in [d(2027, 1, 1), d(2024, 1, 1), d(1900, 1, 1)] {
            let dates = DocumentDates { birth_date: Some(birth), ..valid() };
            assert_eq!(verdict_of(&check(&dates, now), names::BIRTH_DATE_PLAUSIBILITY), Verdict::Fail, "{birth}");
        }
        let centenarian = DocumentDates { birth_date: Some(d(1906, 12, 4)), ..valid() };
        assert_eq!(verdict_of(&check(&centenarian, now), names::BIRTH_DATE_PLAUSIBILITY), Verdict::Pass);
    }

    #[test]
    fn missing_dates_are_unavailable() {
        let out = check(&DocumentDates::default(), at(2026, 12, 3, 12));
        assert!(out.iter().all(|o| o.verdict == Verdict::Unavailable), "{out:?}");
    }
}
