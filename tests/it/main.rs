//! Tessera's integration tests, in one binary (one link instead of one per
//! area). Each module is one area of the product; `common` holds the shared
//! builders (`TestApp`: a real server on port 0 over a fresh SQLite file,
//! and over a fresh PostgreSQL database when `TESSERA_TEST_POSTGRES_URL` is
//! set), `document_fixtures` and `liveness_synth` draw test images in code.
//!
//! Run one area with a filter: `cargo test --test it idv::`.

mod common;
mod document_fixtures;
mod liveness_synth;
mod mrz_fixtures;

mod admin_search;
mod admin_ui;
mod capture;
mod cli;
mod contract;
mod dmv_retry;
mod document_engine;
mod documents_identities;
mod faces;
mod graphql;
mod hostile;
mod ida;
mod idempotency;
mod idv;
mod jobs;
mod keys;
mod liveness;
mod liveness_azure;
mod openapi;
mod platform;
mod review;
mod s3_storage;
mod sanctions_dmv;
mod scale_out;
mod screening;
mod verify_e2e;
mod webhook_delivery;
mod webhooks;
mod weights_requirements;
