//! The vocabulary at the bottom of the tree: enums with their wire
//! spellings, check names, and the numbers of a weights version. Engines,
//! services and transports depend on it; it depends on nothing of ours but
//! the error type (its parsers name the offending field).

pub mod checks;
pub mod vocabulary;
pub mod weights;

pub use vocabulary::*;
