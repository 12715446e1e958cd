//! A DMV provider that answers like AAMVA's DLDV structured test
//! environment: a fixed set of test records, each answering per field.
//!
//! Each record is the test request that the published client test suites
//! send for it, plus the fields the environment answers `false` for (their
//! true values are not published, so the record only knows they differ).
//!
//! - With `aamva_test_scenario` (a record id) the session is routed to that
//!   record and gets its scripted answers: the answers the environment
//!   gives to the record's canonical request.
//! - Without one, the request's document number picks the record and each
//!   field the request carries is compared with it; an unknown document
//!   number gets `document_number_match = false` and nothing else, like the
//!   environment's `NOMATCH123`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{canon, empty_fields};
use crate::engine::{DmvProvider, DmvRequest, DmvResponse, DmvVerdict, EngineError, EngineFuture};
use crate::domain::{DocumentType, Gender};

/// One structured-test record.
#[derive(Debug, Clone)]
pub struct TestRecord {
    pub id: &'static str,
    /// (field key, canonical value) of the record.
    pub values: &'static [(&'static str, &'static str)],
    /// Fields the environment answers `false` for.
    pub mismatches: &'static [&'static str],
    /// The environment does not find the document number but still answers
    /// the other fields (`REPORTEDDECEASED1234`).
    pub number_unknown: bool,
}

const STEVEN_BROWN_FULL: &[(&str, &str)] = &[
    ("first_name_match", "STEVEN"),
    ("middle_name_match", "DANIEL"),
    ("last_name_match", "BROWN"),
    ("suffix_name_match", "JR"),
    ("birth_date_match", "1980-01-01"),
    ("eye_color_match", "BRO"),
    ("sex_match", "male"),
    ("document_category_match", "driver_license"),
    ("street_match", "4301 WILSON BLVD"),
    ("city_match", "ARLINGTON"),
    ("state_match", "VA"),
    ("postal_code_match", "22203"),
    ("height_match", "510"),
    ("weight_match", "200"),
    ("document_expiration_match", "2023-10-10"),
    ("document_issue_match", "2011-10-10"),
];

/// The records of the structured test environment (at least the ones the
/// public client suites document).
pub const RECORDS: &[TestRecord] = &[
    TestRecord {
        id: "DLDVSTRUCTUREDTEST11",
        values: &[("first_name_match", "STEVEN"), ("last_name_match", "BROWN"), ("birth_date_match", "1980-01-01")],
        mismatches: &[],
        number_unknown: false,
    },
    TestRecord { id: "DLDVSTRUCTUREDTEST12", values: STEVEN_BROWN_FULL, mismatches: &[], number_unknown: false },
    TestRecord {
        id: "DLDVSTRUCTUREDTEST22",
        values: &[
            ("first_name_match", "BROWN"),
            ("last_name_match", "KATTY"),
            ("birth_date_match", "1982-12-23"),
            ("eye_color_match", "BRO"),
            ("sex_match", "male"),
            ("document_category_match", "driver_license"),
            ("street_match", "123 GREEN RD"),
            ("city_match", "ASHBURN"),
            ("state_match", "VA"),
            ("postal_code_match", "20148"),
            ("height_match", "510"),
            ("weight_match", "200"),
            ("document_issue_match", "2011-10-10"),
            ("document_expiration_match", "2023-11-11"),
        ],
        mismatches: &["document_expiration_match"],
        number_unknown: false,
    },
    TestRecord {
        id: "DLDVLONGESTNAME123",
        values: &[
            ("first_name_match", "FIRSTNAME"),
            ("last_name_match", "LASTNAMEISLONGERXXXXXXXXX"),
            ("birth_date_match", "1980-02-29"),
        ],
        mismatches: &[],
        number_unknown: false,
    },
    TestRecord {
        id: "DLDVLONGESTNAME456",
        values: &[
            ("first_name_match", "FIRSTNAMELONG"),
            ("middle_name_match", "MLONG"),
            ("last_name_match", "LASTNAMELONGE"),
            ("birth_date_match", "1980-02-29"),
            ("eye_color_match", "BRO"),
            ("sex_match", "male"),
            ("document_category_match", "driver_permit"),
            ("street_match", "1 WATER BLVD"),
            ("city_match", "ARLINGTON"),
            ("state_match", "VA"),
            ("postal_code_match", "22203"),
            ("height_match", "600"),
            ("weight_match", "300"),
            ("document_expiration_match", "2013-10-10"),
            ("document_issue_match", "2005-10-10"),
        ],
        mismatches: &[
            "street_match",
            "eye_color_match",
            "sex_match",
            "height_match",
            "weight_match",
            "document_category_match",
            "document_issue_match",
            "document_expiration_match",
        ],
        number_unknown: false,
    },
    TestRecord {
        id: "PERMITCARD123",
        values: &[
            ("first_name_match", "SMITH"),
            ("last_name_match", "JOHNSON"),
            ("suffix_name_match", "JR"),
            ("birth_date_match", "1980-02-29"),
        ],
        mismatches: &[],
        number_unknown: false,
    },
    TestRecord {
        id: "PERMITCARD456",
        values: &[
            ("first_name_match", "JOHNSON"),
            ("last_name_match", "SMITH"),
            ("suffix_name_match", "SR"),
            ("birth_date_match", "1980-01-05"),
            ("sex_match", "male"),
            ("document_category_match", "driver_permit"),
            ("street_match", "5467 WHIELE AVE"),
            ("city_match", "RESTON"),
            ("state_match", "VA"),
            ("postal_code_match", "20123"),
            ("document_expiration_match", "2020-04-04"),
            ("document_issue_match", "2012-12-12"),
        ],
        mismatches: &[
            "first_name_match",
            "last_name_match",
            "suffix_name_match",
            "birth_date_match",
            "street_match",
            "city_match",
            "postal_code_match",
            "document_issue_match",
            "document_expiration_match",
        ],
        number_unknown: false,
    },
    TestRecord {
        id: "STATECARD123",
        values: &[
            ("first_name_match", "JACKSON"),
            ("last_name_match", "JACKSON"),
            ("birth_date_match", "1970-12-31"),
            ("eye_color_match", "BRO"),
            ("sex_match", "female"),
            ("document_category_match", "id_card"),
            ("street_match", "4301 WILSON BLVD"),
            ("city_match", "ARLINGTON"),
            ("state_match", "VA"),
            ("postal_code_match", "22203"),
            ("height_match", "510"),
            ("weight_match", "250"),
            ("document_expiration_match", "2020-10-10"),
            ("document_issue_match", "2010-10-10"),
        ],
        mismatches: &["street_match", "document_issue_match", "document_expiration_match"],
        number_unknown: false,
    },
    TestRecord {
        id: "STATECARD456",
        values: &[
            ("first_name_match", "MICHAEL"),
            ("middle_name_match", "A"),
            ("last_name_match", "JACKSON"),
            ("suffix_name_match", "JR"),
            ("birth_date_match", "1970-10-09"),
            ("eye_color_match", "BLK"),
            ("sex_match", "female"),
            ("document_category_match", "id_card"),
            ("street_match", "2301 TWEAK RD"),
            ("city_match", "VIENNA"),
            ("state_match", "VA"),
            ("postal_code_match", "11111"),
            ("height_match", "510"),
            ("weight_match", "250"),
            ("document_expiration_match", "2015-01-01"),
            ("document_issue_match", "2011-10-10"),
        ],
        mismatches: &[
            "first_name_match",
            "birth_date_match",
            "eye_color_match",
            "postal_code_match",
            "document_expiration_match",
        ],
        number_unknown: false,
    },
    TestRecord {
        id: "REPORTEDDECEASED1234",
        values: &[
            ("first_name_match", "DECEASED"),
            ("middle_name_match", "IS"),
            ("last_name_match", "PERSON"),
            ("birth_date_match", "1956-05-31"),
            ("eye_color_match", "BRO"),
            ("sex_match", "male"),
            ("document_category_match", "driver_license"),
            ("street_match", "2320 ROLEX ST"),
            ("city_match", "FAIRFAX"),
            ("state_match", "VA"),
            ("postal_code_match", "12345"),
            ("height_match", "510"),
            ("weight_match", "200"),
            ("document_expiration_match", "2016-02-29"),
        ],
        mismatches: &[],
        number_unknown: true,
    },
    TestRecord {
        id: "INCOMPLETEDATA123",
        values: &[
            ("first_name_match", "NATIVE"),
            ("middle_name_match", "JERRY"),
            ("last_name_match", "CHICAGO"),
            ("birth_date_match", "1979-01-01"),
            ("eye_color_match", "MAR"),
            ("sex_match", "female"),
            ("document_category_match", "driver_permit"),
            ("street_match", "4301 WILSON BLVD"),
            ("city_match", "ARLINGTON"),
            ("state_match", "VA"),
            ("postal_code_match", "22203"),
            ("height_match", "510"),
            ("weight_match", "200"),
            ("document_expiration_match", "2016-02-29"),
        ],
        mismatches: &[
            "eye_color_match",
            "sex_match",
            "document_category_match",
            "street_match",
            "city_match",
            "state_match",
            "postal_code_match",
            "height_match",
            "weight_match",
            "document_expiration_match",
        ],
        number_unknown: false,
    },
    TestRecord {
        id: "DLDVFUZZYLOGICTEST11",
        values: &[
            ("first_name_match", "STEVEN"),
            ("middle_name_match", "SCOTT"),
            ("last_name_match", "BROWN"),
            ("birth_date_match", "1980-01-01"),
        ],
        mismatches: &["first_name_match", "middle_name_match", "last_name_match"],
        number_unknown: false,
    },
    TestRecord {
        id: "DLDVSTRUCTUREDTEST13",
        values: &[
            ("first_name_match", "ELLI"),
            ("middle_name_match", "KING"),
            ("last_name_match", "ROGER"),
            ("suffix_name_match", "JR"),
            ("birth_date_match", "1970-02-03"),
            ("eye_color_match", "GRY"),
            ("sex_match", "male"),
            ("document_category_match", "driver_license"),
            ("street_match", "4301 WILSON BLVD"),
            ("city_match", "ARLINGTON"),
            ("state_match", "VA"),
            ("postal_code_match", "22203"),
            ("height_match", "510"),
            ("weight_match", "200"),
            ("document_expiration_match", "2021-01-01"),
            ("document_issue_match", "2013-01-01"),
        ],
        mismatches: &[
            "last_name_match",
            "middle_name_match",
            "suffix_name_match",
            "birth_date_match",
            "eye_color_match",
            "document_expiration_match",
        ],
        number_unknown: false,
    },
    TestRecord {
        id: "DLDVSTRUCTUREDTEST14",
        values: &[
            ("first_name_match", "RUBY"),
            ("last_name_match", "HASAN"),
            ("birth_date_match", "1970-01-01"),
            ("eye_color_match", "BRO"),
            ("sex_match", "male"),
            ("document_category_match", "driver_license"),
            ("street_match", "4444 ASTORIA CIR"),
            ("city_match", "CENTERVILLE"),
            ("state_match", "VA"),
            ("postal_code_match", "45678"),
            ("height_match", "510"),
            ("weight_match", "200"),
            ("document_expiration_match", "2013-10-10"),
            ("document_issue_match", "2011-10-10"),
        ],
        mismatches: &["city_match", "document_issue_match", "document_expiration_match"],
        number_unknown: false,
    },
    TestRecord { id: "NOMATCH123", values: &[], mismatches: &[], number_unknown: true },
];

/// The built-in DMV provider (the default outside production).
#[derive(Debug, Default, Clone)]
pub struct SandboxDmv;

impl SandboxDmv {
    pub fn record(id: &str) -> Option<&'static TestRecord> {
        let id = canon(id);
        RECORDS.iter().find(|r| r.id == id)
    }

    /// The answer, synchronously (pure over the request).
    pub fn answer(&self, request: &DmvRequest) -> Result<DmvResponse, EngineError> {
        if let Some(scenario) = request.test_scenario.as_deref() {
            let record = Self::record(scenario)
                .ok_or_else(|| EngineError::InvalidInput(format!("unknown aamva_test_scenario `{scenario}`")))?;
            return Ok(scripted(record));
        }
        let Some(number) = request.document_number.as_deref() else {
            return Err(EngineError::InvalidInput("no document number to verify".into()));
        };
        match Self::record(number) {
            Some(record) => Ok(compared(record, request)),
            None => Ok(not_found(&format!("no DMV record for document number {}", mask(number)))),
        }
    }
}

fn mask(number: &str) -> String {
    let keep = number.len().saturating_sub(3);
    format!("{}{}", "*".repeat(keep.min(8)), &number[keep..])
}

fn not_found(detail: &str) -> DmvResponse {
    let mut fields = empty_fields();
    fields.insert("document_number_match".into(), Some(false));
    DmvResponse { verdict: DmvVerdict::NoMatch, fields, detail: detail.into() }
}

fn respond(record: &TestRecord, fields: BTreeMap<String, Option<bool>>) -> DmvResponse {
    let all = fields.values().flatten().all(|b| *b);
    let verdict = if all { DmvVerdict::Match } else { DmvVerdict::NoMatch };
    DmvResponse { verdict, fields, detail: format!("AAMVA structured test record {}", record.id) }
}

/// The environment's answers to the record's canonical request.
fn scripted(record: &TestRecord) -> DmvResponse {
    if record.values.is_empty() {
        return not_found(&format!("AAMVA structured test record {}: document not found", record.id));
    }
    let mut fields = empty_fields();
    fields.insert("document_number_match".into(), Some(!record.number_unknown));
    for (key, _) in record.values {
        fields.insert(key.to_string(), Some(!record.mismatches.contains(key)));
    }
    respond(record, fields)
}

/// The request's own fields compared with the record.
fn compared(record: &TestRecord, r: &DmvRequest) -> DmvResponse {
    if record.values.is_empty() {
        return not_found(&format!("AAMVA structured test record {}: document not found", record.id));
    }
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let category = r.document_type.and_then(|t| match t {
        DocumentType::DriverLicense => Some("driver_license".to_string()),
        DocumentType::IdentificationCard => Some("id_card".to_string()),
        _ => None,
    });
    let sex = r.gender.and_then(|g| match g {
        Gender::Male => Some("male".to_string()),
        Gender::Female => Some("female".to_string()),
        _ => None,
    });
    let given: [(&str, Option<String>); 16] = [
        ("first_name_match", r.first_name.clone()),
        ("middle_name_match", r.middle_name.clone()),
        ("last_name_match", r.last_name.clone()),
        ("suffix_name_match", r.name_suffix.clone()),
        ("birth_date_match", date(r.birth_date)),
        ("eye_color_match", r.eye_color.as_deref().map(eye_code)),
        ("sex_match", sex),
        ("document_category_match", category),
        ("street_match", r.street.clone()),
        ("city_match", r.city.clone()),
        ("state_match", r.state.clone()),
        ("postal_code_match", r.postal_code.as_deref().map(|z| z.chars().take(5).collect())),
        ("height_match", r.height.as_deref().map(|h| h.chars().filter(char::is_ascii_digit).collect())),
        ("weight_match", r.weight.as_deref().map(|w| w.chars().filter(char::is_ascii_digit).collect())),
        ("document_expiration_match", date(r.expires_at)),
        ("document_issue_match", date(r.issued_at)),
    ];
    let mut fields = empty_fields();
    fields.insert("document_number_match".into(), Some(!record.number_unknown));
    for (key, value) in given {
        let Some(value) = value else { continue };
        let Some((_, stored)) = record.values.iter().find(|(k, _)| *k == key) else { continue };
        let answer = !record.mismatches.contains(&key) && canon(&value) == canon(stored);
        fields.insert(key.to_string(), Some(answer));
    }
    respond(record, fields)
}

/// ANSI D-20 eye colour code ("Brown" → "BRO").
fn eye_code(s: &str) -> String {
    let c = canon(s);
    match c.as_str() {
        "BROWN" => "BRO".into(),
        "BLUE" => "BLU".into(),
        "BLACK" => "BLK".into(),
        "GREEN" => "GRN".into(),
        "GRAY" | "GREY" => "GRY".into(),
        "HAZEL" => "HAZ".into(),
        "MAROON" => "MAR".into(),
        "PINK" => "PNK".into(),
        _ => c,
    }
}

impl DmvProvider for SandboxDmv {
    fn version(&self) -> String {
        "aamva-sandbox 1".into()
    }

    fn verify(&self, request: DmvRequest) -> EngineFuture<'_, DmvResponse> {
        let answer = self.answer(&request);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(id: &str) -> BTreeMap<String, Option<bool>> {
        let r = DmvRequest { test_scenario: Some(id.into()), ..Default::default() };
        SandboxDmv.answer(&r).unwrap().fields
    }

    fn answered(fields: &BTreeMap<String, Option<bool>>) -> Vec<(&str, bool)> {
        fields.iter().filter_map(|(k, v)| v.map(|b| (k.as_str(), b))).collect()
    }

    #[test]
    fn scenarios_reproduce_the_structured_test_answers() {
        // (record, fields answered true, fields answered false), from the
        // public structured-test suites.
        let cases: [(&str, usize, &[&str]); 14] = [
            ("DLDVSTRUCTUREDTEST11", 4, &[]),
            ("DLDVSTRUCTUREDTEST12", 17, &[]),
            ("DLDVSTRUCTUREDTEST22", 14, &["document_expiration_match"]),
            ("DLDVLONGESTNAME123", 4, &[]),
            ("PERMITCARD123", 5, &[]),
            (
                "PERMITCARD456",
                4,
                &["birth_date_match", "city_match", "document_expiration_match", "document_issue_match", "first_name_match", "last_name_match", "postal_code_match", "street_match", "suffix_name_match"],
            ),
            ("STATECARD123", 12, &["document_expiration_match", "document_issue_match", "street_match"]),
            ("STATECARD456", 12, &["birth_date_match", "document_expiration_match", "eye_color_match", "first_name_match", "postal_code_match"]),
            ("NOMATCH123", 0, &["document_number_match"]),
            ("DLDVFUZZYLOGICTEST11", 2, &["first_name_match", "last_name_match", "middle_name_match"]),
            ("DLDVSTRUCTUREDTEST14", 12, &["city_match", "document_expiration_match", "document_issue_match"]),
            ("INCOMPLETEDATA123", 5, &["city_match", "document_category_match", "document_expiration_match", "eye_color_match", "height_match", "postal_code_match", "sex_match", "state_match", "street_match", "weight_match"]),
            ("REPORTEDDECEASED1234", 14, &["document_number_match"]),
            ("DLDVSTRUCTUREDTEST13", 11, &["birth_date_match", "document_expiration_match", "eye_color_match", "last_name_match", "middle_name_match", "suffix_name_match"]),
        ];
        for (id, trues, falses) in cases {
            let f = scenario(id);
            let a = answered(&f);
            let got_false: Vec<&str> = a.iter().filter(|(_, b)| !b).map(|(k, _)| *k).collect();
            assert_eq!(got_false, falses, "{id}");
            assert_eq!(a.iter().filter(|(_, b)| *b).count(), trues, "{id}: {a:?}");
        }
    }

    #[test]
    fn request_data_is_compared_with_the_record() {
        let mut r = DmvRequest {
            document_number: Some("DLDVSTRUCTUREDTEST12".into()),
            first_name: Some("Steven".into()),
            last_name: Some("BROWN".into()),
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 1),
            eye_color: Some("Brown".into()),
            postal_code: Some("22203-1234".into()),
            ..Default::default()
        };
        let a = SandboxDmv.answer(&r).unwrap();
        assert_eq!(a.verdict, DmvVerdict::Match);
        assert_eq!(answered(&a.fields).len(), 6);
        r.first_name = Some("STEPHEN".into());
        let a = SandboxDmv.answer(&r).unwrap();
        assert_eq!(a.verdict, DmvVerdict::NoMatch);
        assert_eq!(a.fields["first_name_match"], Some(false));
        assert_eq!(a.fields["middle_name_match"], None, "not sent, not answered");
    }

    #[test]
    fn unknown_numbers_and_scenarios() {
        let r = DmvRequest { document_number: Some("D1234567".into()), ..Default::default() };
        let a = SandboxDmv.answer(&r).unwrap();
        assert_eq!((a.verdict, a.fields["document_number_match"]), (DmvVerdict::NoMatch, Some(false)));
        assert!(!a.detail.contains("D1234567"), "the number is masked: {}", a.detail);
        let r = DmvRequest { test_scenario: Some("NOPE".into()), ..Default::default() };
        assert!(matches!(SandboxDmv.answer(&r), Err(EngineError::InvalidInput(_))));
    }
}
