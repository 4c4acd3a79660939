//! The stores' own types read into the cross-store value model
//! ([`cutover::targets::value`], whose pure mappings they call): [`bson`] (every BSON type),
//! [`pg`] (PostgreSQL's binary wire format) and [`mysql`] (MySQL's binary protocol).

pub mod bson;
pub mod mysql;
pub mod pg;

/// A value a store sent that has no canonical form here: its type and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl From<String> for DecodeError {
    fn from(what: String) -> DecodeError {
        DecodeError(what)
    }
}

impl From<DecodeError> for String {
    fn from(e: DecodeError) -> String {
        e.0
    }
}
