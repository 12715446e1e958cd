//! Check names: the vocabulary of check results, scoring, the policy and
//! the API's per-check fields.

/// Names of every check a session can carry.
pub mod names {
    pub const DOC_FRONT_SUSPICIOUS_WORDS: &str = "doc_front_suspicious_words";
    pub const DOC_FRONT_IMAGE_MANIPULATION: &str = "doc_front_image_manipulation";
    pub const DOC_FRONT_ONLINE_DUPLICATION: &str = "doc_front_online_duplication";
    pub const DOC_FRONT_IS_IDENTITY_DOCUMENT: &str = "doc_front_is_identity_document";
    pub const DOC_BACK_SUSPICIOUS_WORDS: &str = "doc_back_suspicious_words";
    pub const DOC_BACK_IMAGE_MANIPULATION: &str = "doc_back_image_manipulation";
    pub const DOC_BACK_ONLINE_DUPLICATION: &str = "doc_back_online_duplication";
    pub const DOC_BACK_IS_IDENTITY_DOCUMENT: &str = "doc_back_is_identity_document";
    pub const DOCUMENT_NUMBER_CROSSCHECK: &str = "document_number_crosscheck";
    pub const NAME_CROSSCHECK: &str = "name_crosscheck";
    pub const ADDRESS_CROSSCHECK: &str = "address_crosscheck";
    pub const FACE_MATCH: &str = "face_match";
    pub const LIVENESS: &str = "liveness";
    pub const OFAC: &str = "ofac";
    /// Not scored (a flag for the policy's `pep` rule): the name matches a
    /// politically exposed person of a loaded PEP list. Recorded with
    /// `ofac` when PEP data is loaded and the client screens for PEPs.
    pub const PEP: &str = "pep";
    /// Per-field booleans live in `evidence` (`document_number_match`, ...).
    pub const DMV: &str = "dmv";
    pub const AGE: &str = "age";
    pub const GENDER: &str = "gender";
    pub const REQUIREMENTS: &str = "requirements";
    /// Not scored (a flag for review): the session's face matches an
    /// identity of the same client with different document data
    /// (see `service::faces`).
    pub const DUPLICATE_FACE: &str = "duplicate_face";
    /// Document validity (see `engine::validity`): fails when the document
    /// expired before today in the issuing jurisdiction.
    pub const DOCUMENT_EXPIRY: &str = "document_expiry";
    /// Fails when the issue date is after today (not yet valid).
    pub const DOCUMENT_ISSUE_DATE: &str = "document_issue_date";
    /// Fails when the issue date is after the expiry date.
    pub const DOCUMENT_DATE_ORDER: &str = "document_date_order";
    /// Fails on a birth date in the future, after the issue date, or an age over 120.
    pub const BIRTH_DATE_PLAUSIBILITY: &str = "birth_date_plausibility";
    /// Fails when the barcode/MRZ expiry differs from the printed one.
    pub const EXPIRY_CROSSCHECK: &str = "expiry_crosscheck";
    /// Fails when the barcode/MRZ birth date differs from the printed one.
    pub const BIRTH_DATE_CROSSCHECK: &str = "birth_date_crosscheck";
}


/// The checks each capture owes: the job that analyses it records every one
/// (`unavailable` with the reason when it cannot judge), and finalize
/// records any that are still missing.
pub mod owed {
    use super::names;

    /// A document front.
    pub const FRONT: [&str; 4] = [
        names::DOC_FRONT_SUSPICIOUS_WORDS,
        names::DOC_FRONT_IMAGE_MANIPULATION,
        names::DOC_FRONT_ONLINE_DUPLICATION,
        names::DOC_FRONT_IS_IDENTITY_DOCUMENT,
    ];
    /// A document back (not for passports).
    pub const BACK: [&str; 4] = [
        names::DOC_BACK_SUSPICIOUS_WORDS,
        names::DOC_BACK_IMAGE_MANIPULATION,
        names::DOC_BACK_ONLINE_DUPLICATION,
        names::DOC_BACK_IS_IDENTITY_DOCUMENT,
    ];
    /// Recorded with the front: they need the front's reading.
    pub const CROSSCHECKS: [&str; 3] = [names::NAME_CROSSCHECK, names::DOCUMENT_NUMBER_CROSSCHECK, names::ADDRESS_CROSSCHECK];
    /// A selfie / liveness capture.
    pub const SELFIE: [&str; 2] = [names::LIVENESS, names::FACE_MATCH];
}

/// The per-field keys a provider answers (the evidence of the `dmv` check;
/// session test read maps them to the `dmv_*` fields of the API).
pub const DMV_FIELD_KEYS: [&str; 17] = [
    "document_number_match",
    "document_expiration_match",
    "document_issue_match",
    "document_category_match",
    "birth_date_match",
    "sex_match",
    "eye_color_match",
    "height_match",
    "weight_match",
    "first_name_match",
    "middle_name_match",
    "last_name_match",
    "suffix_name_match",
    "street_match",
    "city_match",
    "state_match",
    "postal_code_match",
];
