//! The stores' own types read into the cross-store value model
//! ([`cutover::targets::value`], whose pure mappings they call): [`bson`] (every BSON type),
//! [`pg`] (PostgreSQL's binary wire format) and [`mysql`] (MySQL's binary protocol).

pub mod bson;
pub mod mysql;
pub mod pg;
