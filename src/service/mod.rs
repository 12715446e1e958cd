//! The domain. The only layer that touches entities; REST and GraphQL call it.

pub mod audit;
pub mod bootstrap;
pub mod health;
pub mod requirements;
pub mod tenancy;
pub mod types;
pub mod weights;
pub mod webhooks;
