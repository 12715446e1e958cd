//! The vocabulary at the bottom of the tree: enums with their wire
//! spellings, check names, the numbers of a weights version, and the pure
//! judgement over them (the verdict policy and the scoring function). Engines,
//! services and transports depend on it; it depends on nothing of ours but
//! the error type (its parsers name the offending field).

pub mod checks;
pub mod policy;
pub mod scoring;
pub mod vocabulary;
pub mod weights;

pub use vocabulary::*;
