//! The domain. The only layer that touches entities; REST and GraphQL call it.

pub mod audit;
pub mod bootstrap;
pub mod checks;
pub mod dashboard;
pub mod dmv;
pub mod document_checks;
pub mod documents;
pub mod files;
pub mod finalize;
pub mod health;
pub mod history;
pub mod ida;
pub mod identities;
pub mod idv;
pub mod idv_steps;
pub mod lifecycle;
pub mod liveness;
pub mod location;
pub mod outbox;
pub mod requirements;
pub mod sanctions;
pub mod ssrf;
pub mod tenancy;
pub mod types;
pub mod weights;
pub mod webhooks;
