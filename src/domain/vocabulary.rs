//! The enum vocabulary every layer shares, with the API's wire spellings:
//! parsed at the edge (an unknown value is a 400 naming the field), stored
//! as text (an unknown stored value — written by a newer version — reads as
//! the first variant, see `from_db`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

/// Declares a string enum with its wire spellings.
///
/// The spellings are taken as `tt`, not `literal`: a `literal` fragment
/// reaches the derive macros wrapped in an invisible group, which serde reads
/// but utoipa skips, so the OpenAPI document listed the Rust variant names.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }

            /// Parses a value read from the database; unknown spellings
            /// (written by a newer version) fall back to the first variant.
            pub fn from_db(s: &str) -> Self {
                Self::parse(s).unwrap_or(Self::ALL[0])
            }

            /// Parses a request value, naming `field` on failure.
            pub fn parse_field(field: &str, s: &str) -> AppResult<Self> {
                Self::parse(s).ok_or_else(|| {
                    let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    AppError::validation(field, format!("unknown value `{s}`; expected one of {}", allowed.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// `document_type_e` / `type_e`.
    DocumentType {
        Unknown = "unknown",
        DriverLicense = "driver_license",
        IdentificationCard = "identification_card",
        Passport = "passport",
        PassportCard = "passport_card",
    }
);

string_enum!(
    /// `status_e`. `unknown` is accepted as a filter value but never written.
    SessionStatus {
        Unknown = "unknown",
        InProgress = "in_progress",
        Complete = "complete",
        TemporarilyBlocked = "temporarily_blocked",
        TemporarilyComplete = "temporarily_complete",
        Expired = "expired",
    }
);

string_enum!(
    /// `liveness_mode`.
    LivenessMode {
        Passive = "passive",
        PassiveActive = "passive_active",
    }
);

string_enum!(
    /// `liveness_provider_e`: which liveness provider ran.
    LivenessProvider {
        Local = "local",
        Azure = "azure",
    }
);

string_enum!(
    /// `aamva_retry_e`: what to do when the DMV check cannot answer now.
    AamvaRetry {
        Skip = "skip",
        Retry = "retry",
    }
);

string_enum!(
    /// `gender_e`.
    Gender {
        Unknown = "unknown",
        Male = "male",
        Female = "female",
        NonBinary = "non_binary",
    }
);

string_enum!(
    /// `ofac_status_e`: the sanctions screening outcome.
    OfacStatus {
        Unknown = "unknown",
        Clear = "clear",
        Hit = "hit",
        Unavailable = "unavailable",
    }
);

string_enum!(
    /// `dmv_status_e`: the DMV (AAMVA DLDV) outcome.
    DmvStatus {
        Unknown = "unknown",
        Match = "match",
        NoMatch = "no_match",
        Pending = "pending",
        Unavailable = "unavailable",
    }
);

string_enum!(
    /// `data_source_e`: where a document's data was read.
    DataSource {
        Unknown = "unknown",
        Barcode = "barcode",
        Mrz = "mrz",
        Ocr = "ocr",
        Manual = "manual",
    }
);

string_enum!(
    /// `storage_file_type_e`.
    StorageFileType {
        Unknown = "unknown",
        DriverLicenseFront = "driver_license_front",
        DriverLicenseBack = "driver_license_back",
        StateIdCardFront = "state_id_card_front",
        StateIdCardBack = "state_id_card_back",
        PassportFront = "passport_front",
        PassportCardFront = "passport_card_front",
        PassportCardBack = "passport_card_back",
        Selfie = "selfie",
        LivenessPassive = "liveness_passive",
        LivenessActiveStep1 = "liveness_active_step_1",
        LivenessActiveStep2 = "liveness_active_step_2",
        LivenessActiveStep3 = "liveness_active_step_3",
        LivenessActiveStep4 = "liveness_active_step_4",
    }
);

string_enum!(
    /// `location_capture_type_e`.
    CaptureType {
        Unknown = "unknown",
        FrontDocImageCapture = "front_doc_image_capture",
        BackDocImageCapture = "back_doc_image_capture",
        SelfieImageCapture = "selfie_image_capture",
    }
);

string_enum!(
    /// Outcome of one check.
    CheckStatus {
        Pending = "pending",
        Pass = "pass",
        Fail = "fail",
        Unavailable = "unavailable",
    }
);

impl StorageFileType {
    /// The file type of a document side for a declared document type.
    pub fn for_document_side(doc: DocumentType, back: bool) -> Self {
        match (doc, back) {
            (DocumentType::IdentificationCard, false) => Self::StateIdCardFront,
            (DocumentType::IdentificationCard, true) => Self::StateIdCardBack,
            (DocumentType::Passport, _) => Self::PassportFront,
            (DocumentType::PassportCard, false) => Self::PassportCardFront,
            (DocumentType::PassportCard, true) => Self::PassportCardBack,
            (_, false) => Self::DriverLicenseFront,
            (_, true) => Self::DriverLicenseBack,
        }
    }

    /// Every file type that holds a document side (front or back).
    pub fn is_document_side(self) -> bool {
        !matches!(
            self,
            Self::Unknown
                | Self::Selfie
                | Self::LivenessPassive
                | Self::LivenessActiveStep1
                | Self::LivenessActiveStep2
                | Self::LivenessActiveStep3
                | Self::LivenessActiveStep4
        )
    }
}

/// `idv` or `ida`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Idv,
    Ida,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Idv => "idv",
            SessionKind::Ida => "ida",
        }
    }
}

/// The kinds of background job, as stored in `job.kind`. The queue
/// (`crate::jobs`) knows none of them; `crate::workers` registers a handler
/// per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Read and judge the front image of an IDV session's document.
    AnalyzeDocumentFront,
    /// Read and judge the back image.
    AnalyzeDocumentBack,
    /// Liveness and face match of an IDV session.
    AnalyzeLiveness,
    /// Liveness and face match of an IDA session against its identity.
    AnalyzeIdaLiveness,
    /// Asks the DMV again for a `temporarily_complete` session
    /// (`aamva_retry_e = retry`) and completes it once it answers.
    DmvRetry,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [
        JobKind::AnalyzeDocumentFront,
        JobKind::AnalyzeDocumentBack,
        JobKind::AnalyzeLiveness,
        JobKind::AnalyzeIdaLiveness,
        JobKind::DmvRetry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::AnalyzeDocumentFront => "analyze_document_front",
            JobKind::AnalyzeDocumentBack => "analyze_document_back",
            JobKind::AnalyzeLiveness => "analyze_liveness",
            JobKind::AnalyzeIdaLiveness => "analyze_ida_liveness",
            JobKind::DmvRetry => "dmv_retry",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl AsRef<str> for JobKind {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names of session history events that other parts react to (the outbox
/// maps them to webhook events).
pub mod history_events {
    /// A review decision took effect (`session.reviewed`; see `service::review`).
    pub const REVIEWED: &str = "reviewed";
    /// A reviewer asked the applicant for a new capture (`session.resubmission_requested`).
    pub const RESUBMISSION_REQUESTED: &str = "resubmission_requested";
}
