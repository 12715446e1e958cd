//! sea-orm entities for Tessera. One module per table; see docs/data-model.md.
//! No logic lives here.

pub mod api_key;
pub mod audit_log;
pub mod capture_location;
pub mod check_result;
pub mod client;
pub mod document;
pub mod document_fingerprint;
pub mod document_reading;
pub mod face_template;
pub mod ida_session;
pub mod idempotency_key;
pub mod identity;
pub mod idv_session;
pub mod job;
pub mod login_session;
pub mod login_throttle;
pub mod metadata_entry;
pub mod requirement;
pub mod review_case;
pub mod review_decision;
pub mod review_note;
pub mod sanctions_entry;
pub mod sanctions_list;
pub mod screening_allowlist;
pub mod screening_hit;
pub mod screening_setting;
pub mod session_event;
pub mod stored_file;
pub mod user;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod weights;

pub mod prelude {
    pub use super::api_key::Entity as ApiKey;
    pub use super::audit_log::Entity as AuditLog;
    pub use super::capture_location::Entity as CaptureLocation;
    pub use super::check_result::Entity as CheckResult;
    pub use super::client::Entity as Client;
    pub use super::document::Entity as Document;
    pub use super::document_fingerprint::Entity as DocumentFingerprint;
    pub use super::document_reading::Entity as DocumentReading;
    pub use super::face_template::Entity as FaceTemplate;
    pub use super::ida_session::Entity as IdaSession;
    pub use super::idempotency_key::Entity as IdempotencyKey;
    pub use super::identity::Entity as Identity;
    pub use super::idv_session::Entity as IdvSession;
    pub use super::job::Entity as Job;
    pub use super::login_session::Entity as LoginSession;
    pub use super::metadata_entry::Entity as MetadataEntry;
    pub use super::requirement::Entity as Requirement;
    pub use super::review_case::Entity as ReviewCase;
    pub use super::review_decision::Entity as ReviewDecision;
    pub use super::review_note::Entity as ReviewNote;
    pub use super::sanctions_entry::Entity as SanctionsEntry;
    pub use super::sanctions_list::Entity as SanctionsList;
    pub use super::session_event::Entity as SessionEvent;
    pub use super::stored_file::Entity as StoredFile;
    pub use super::user::Entity as User;
    pub use super::webhook::Entity as Webhook;
    pub use super::webhook_attempt::Entity as WebhookAttempt;
    pub use super::webhook_delivery::Entity as WebhookDelivery;
    pub use super::weights::Entity as Weights;
}
