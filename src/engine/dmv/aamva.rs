//! The AAMVA DLDV adapter: posts a DLDV-shaped SOAP request to the
//! configured endpoint and reads the `*MatchIndicator` elements back.
//!
//! The element names are DLDV's (`DriverLicenseNumberMatchIndicator`,
//! `PersonBirthDateMatchIndicator`, ...). Authentication is HTTP Basic with
//! the configured user and password (or a bearer token); AAMVA's own
//! WS-Trust token exchange and client certificate are expected to sit in
//! front (a gateway), see the README.

use std::time::Duration;

use chrono::NaiveDate;

use super::empty_fields;
use crate::engine::{DmvProvider, DmvRequest, DmvResponse, DmvVerdict, EngineError, EngineFuture};
use crate::domain::{DocumentType, Gender};

/// How to reach the DLDV service.
#[derive(Debug, Clone)]
pub struct AamvaSettings {
    pub endpoint: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub timeout: Duration,
}

/// DLDV indicator element → our field key.
pub const INDICATORS: [(&str, &str); 17] = [
    ("DriverLicenseNumberMatchIndicator", "document_number_match"),
    ("DriverLicenseExpirationDateMatchIndicator", "document_expiration_match"),
    ("DriverLicenseIssueDateMatchIndicator", "document_issue_match"),
    ("DocumentCategoryMatchIndicator", "document_category_match"),
    ("PersonBirthDateMatchIndicator", "birth_date_match"),
    ("PersonSexCodeMatchIndicator", "sex_match"),
    ("PersonEyeColorMatchIndicator", "eye_color_match"),
    ("PersonHeightMatchIndicator", "height_match"),
    ("PersonWeightMatchIndicator", "weight_match"),
    ("PersonFirstNameExactMatchIndicator", "first_name_match"),
    ("PersonMiddleNameExactMatchIndicator", "middle_name_match"),
    ("PersonLastNameExactMatchIndicator", "last_name_match"),
    ("PersonNameSuffixMatchIndicator", "suffix_name_match"),
    ("AddressLine1MatchIndicator", "street_match"),
    ("AddressCityMatchIndicator", "city_match"),
    ("AddressStateCodeMatchIndicator", "state_match"),
    ("AddressZIP5MatchIndicator", "postal_code_match"),
];

pub struct AamvaClient {
    http: reqwest::Client,
    settings: AamvaSettings,
}

impl AamvaClient {
    pub fn new(settings: AamvaSettings) -> Result<Self, EngineError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| EngineError::Unavailable(format!("AAMVA client: {e}")))?;
        Ok(AamvaClient { http, settings })
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SOAP request body for one verification.
pub fn request_xml(r: &DmvRequest) -> String {
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let category = r.document_type.and_then(|t| match t {
        DocumentType::DriverLicense => Some("1".to_string()),
        DocumentType::IdentificationCard => Some("3".to_string()),
        _ => None,
    });
    let sex = r.gender.and_then(|g| match g {
        Gender::Male => Some("1".to_string()),
        Gender::Female => Some("2".to_string()),
        _ => None,
    });
    let fields: [(&str, Option<String>); 18] = [
        ("DriverLicenseNumber", r.document_number.clone()),
        ("DocumentCategoryCode", category),
        ("JurisdictionCode", r.issuing_state.clone()),
        ("PersonGivenName", r.first_name.clone()),
        ("PersonMiddleName", r.middle_name.clone()),
        ("PersonSurName", r.last_name.clone()),
        ("PersonNameSuffixText", r.name_suffix.clone()),
        ("PersonBirthDate", date(r.birth_date)),
        ("PersonSexCode", sex),
        ("PersonEyeColorCode", r.eye_color.clone()),
        ("PersonHeightMeasure", r.height.clone()),
        ("PersonWeightMeasure", r.weight.clone()),
        ("DriverLicenseIssueDate", date(r.issued_at)),
        ("DriverLicenseExpirationDate", date(r.expires_at)),
        ("AddressDeliveryPointText", r.street.clone()),
        ("LocationCityName", r.city.clone()),
        ("LocationStateUsPostalServiceCode", r.state.clone()),
        ("LocationPostalCode", r.postal_code.clone()),
    ];
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><VerifyDriverLicenseDataRequest>",
    );
    for (name, value) in fields {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            body.push_str(&format!("<{name}>{}</{name}>", escape(v.trim())));
        }
    }
    body.push_str("</VerifyDriverLicenseDataRequest></soap:Body></soap:Envelope>");
    body
}

/// The text of the first element named `name` (any namespace prefix).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = xml[from..].find(name) {
        let start = from + pos;
        let end = start + name.len();
        let before = xml[..start].chars().last();
        let opening = matches!(before, Some('<' | ':')) && {
            let tag_start = xml[..start].rfind('<').unwrap_or(0);
            !xml[tag_start..start].starts_with("</")
        };
        if opening && xml[end..].starts_with('>') {
            let text = &xml[end + 1..];
            return Some(text[..text.find('<').unwrap_or(text.len())].trim());
        }
        from = end;
    }
    None
}

/// Reads a DLDV response body into per-field answers.
pub fn parse_response(xml: &str) -> Result<DmvResponse, EngineError> {
    if let Some(fault) = element(xml, "faultstring") {
        return Err(EngineError::Unavailable(format!("AAMVA fault: {fault}")));
    }
    let mut fields = empty_fields();
    let mut answered = 0;
    for (indicator, key) in INDICATORS {
        if let Some(v) = element(xml, indicator) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => return Err(EngineError::Transient(format!("AAMVA: unreadable {indicator} `{other}`"))),
            };
            fields.insert(key.to_string(), Some(b));
            answered += 1;
        }
    }
    if answered == 0 {
        return Err(EngineError::Transient("AAMVA: the response has no match indicators".into()));
    }
    let all = fields.values().flatten().all(|b| *b);
    let locator = element(xml, "TransactionLocatorID").unwrap_or("").to_string();
    Ok(DmvResponse {
        verdict: if all { DmvVerdict::Match } else { DmvVerdict::NoMatch },
        fields,
        detail: if locator.is_empty() { "AAMVA DLDV".into() } else { format!("AAMVA DLDV transaction {locator}") },
    })
}

impl DmvProvider for AamvaClient {
    fn version(&self) -> String {
        "aamva-dldv 2.1".into()
    }

    fn verify(&self, request: DmvRequest) -> EngineFuture<'_, DmvResponse> {
        Box::pin(async move {
            if request.test_scenario.is_some() {
                return Err(EngineError::InvalidInput("aamva_test_scenario only applies to the sandbox provider".into()));
            }
            let mut req = self
                .http
                .post(&self.settings.endpoint)
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", "http://aamva.org/dldv/wsdl/2.1/IDLDVService21/VerifyDriverLicenseData")
                .body(request_xml(&request));
            if let Some(token) = &self.settings.token {
                req = req.bearer_auth(token);
            } else if let Some(user) = &self.settings.username {
                req = req.basic_auth(user, self.settings.password.as_deref());
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    EngineError::Transient("AAMVA did not answer in time".into())
                } else {
                    EngineError::Transient(format!("AAMVA unreachable: {}", e.without_url()))
                }
            })?;
            let status = resp.status();
            let body = resp.text().await.map_err(|e| EngineError::Transient(format!("AAMVA response: {e}")))?;
            match status.as_u16() {
                200..=299 => parse_response(&body),
                401 | 403 => Err(EngineError::Unavailable(format!("AAMVA rejected the credentials ({status})"))),
                500 if body.contains("faultstring") => parse_response(&body),
                400..=499 => Err(EngineError::InvalidInput(format!("AAMVA refused the request ({status})"))),
                _ => Err(EngineError::Transient(format!("AAMVA answered {status}"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaced_indicators() {
        let xml = r#"<s:Envelope><s:Body><a:VerifyDriverLicenseDataResponse>
            <a:TransactionLocatorID>abc-1</a:TransactionLocatorID>
            <a:DriverLicenseNumberMatchIndicator>true</a:DriverLicenseNumberMatchIndicator>
            <a:PersonBirthDateMatchIndicator>false</a:PersonBirthDateMatchIndicator>
            <PersonLastNameExactMatchIndicator>true</PersonLastNameExactMatchIndicator>
        </a:VerifyDriverLicenseDataResponse></s:Body></s:Envelope>"#;
        let r = parse_response(xml).unwrap();
        assert_eq!(r.verdict, DmvVerdict::NoMatch);
        assert_eq!(r.fields["document_number_match"], Some(true));
        assert_eq!(r.fields["birth_date_match"], Some(false));
        assert_eq!(r.fields["last_name_match"], Some(true));
        assert_eq!(r.fields["first_name_match"], None);
        assert!(r.detail.contains("abc-1"));
    }

    #[test]
    fn faults_and_empty_answers_are_errors() {
        assert!(matches!(parse_response("<x><faultstring>bad</faultstring></x>"), Err(EngineError::Unavailable(_))));
        assert!(matches!(parse_response("<x/>"), Err(EngineError::Transient(_))));
    }

    #[test]
    fn request_escapes_and_skips_absent_fields() {
        let r = DmvRequest { last_name: Some("O<B>".into()), gender: Some(Gender::Female), ..Default::default() };
        let xml = request_xml(&r);
        assert!(xml.contains("<PersonSurName>O&lt;B&gt;</PersonSurName>"));
        assert!(xml.contains("<PersonSexCode>2</PersonSexCode>"));
        assert!(!xml.contains("PersonGivenName"));
    }
}
