//! Schema migrations for Tessera (SQLite and PostgreSQL).
//!
//! Migrations are written with the schema builder, never derived from the
//! entity crate: any later column change must be a new migration.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_tenancy;
mod m20261125_000002_create_sessions;
mod m20261125_000003_create_webhooks;
mod m20261125_000004_create_system;
mod m20261126_000001_session_lifecycle;
mod m20261126_000002_document_fingerprints;
mod m20261203_000001_hardening;
mod m20261203_000001_ida_captures_unlinked;
mod m20261203_000003_verdict_policy;
mod m20261203_000010_capture_links;
mod m20261203_000020_manual_review;
mod m20261203_000021_session_search;
mod m20261203_000022_weights_change_note;
mod m20261203_000030_screening_lists;
mod m20261203_000040_review_followups;
mod m20261203_000050_stored_file_key_id;
mod m20261203_000060_session_list_sort_indexes;
mod m20261203_000061_failing_check_index;
mod m20261203_000062_session_search_covering_index;
mod m20261203_000070_rate_limit_windows;
mod m20261203_000090_check_result_session_score;
mod m20261205_000100_session_list_created_index;
mod m20261206_000110_check_result_session_status;
mod m20261207_000120_session_search_sort_keys;
mod m20261207_000130_check_result_statistics;

/// The default verdict policy as the migration writes it into existing weights versions.
pub use m20261203_000003_verdict_policy::DEFAULT_POLICY_JSON;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_tenancy::Migration),
            Box::new(m20261125_000002_create_sessions::Migration),
            Box::new(m20261125_000003_create_webhooks::Migration),
            Box::new(m20261125_000004_create_system::Migration),
            Box::new(m20261126_000001_session_lifecycle::Migration),
            Box::new(m20261126_000002_document_fingerprints::Migration),
            Box::new(m20261203_000001_hardening::Migration),
            Box::new(m20261203_000001_ida_captures_unlinked::Migration),
            Box::new(m20261203_000003_verdict_policy::Migration),
            Box::new(m20261203_000010_capture_links::Migration),
            Box::new(m20261203_000020_manual_review::Migration),
            Box::new(m20261203_000021_session_search::Migration),
            Box::new(m20261203_000022_weights_change_note::Migration),
            Box::new(m20261203_000030_screening_lists::Migration),
            Box::new(m20261203_000040_review_followups::Migration),
            Box::new(m20261203_000050_stored_file_key_id::Migration),
            Box::new(m20261203_000060_session_list_sort_indexes::Migration),
            Box::new(m20261203_000061_failing_check_index::Migration),
            Box::new(m20261203_000062_session_search_covering_index::Migration),
            Box::new(m20261203_000070_rate_limit_windows::Migration),
            Box::new(m20261203_000090_check_result_session_score::Migration),
            Box::new(m20261205_000100_session_list_created_index::Migration),
            Box::new(m20261206_000110_check_result_session_status::Migration),
            Box::new(m20261207_000120_session_search_sort_keys::Migration),
            Box::new(m20261207_000130_check_result_statistics::Migration),
        ]
    }
}
