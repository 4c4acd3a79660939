//! The built-in `kv` domain: a key-value store of JSON values (`get`, `put`, `insert`,
//! `delete`, `scan`, `stamp`). [`memory::Memory`] is its store and reference, `features` its
//! coverage features, `probes` its probes, `script` its conformance script; [`Kv`] registers
//! them (`crate::Registry::builtin`).

mod features;
pub mod memory;
mod probes;
mod script;

use crate::coverage::Features;
use crate::domain::{DomainKit, Script};
use crate::probe::Prober;

/// The `kv` domain's kit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl DomainKit for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn features(&self) -> Option<Box<dyn Features>> {
        Some(Box::new(features::KvFeatures))
    }

    fn prober(&self) -> Option<Box<dyn Prober>> {
        Some(Box::<probes::Observed>::default())
    }

    fn script(&self) -> Option<Script> {
        Some(script::script())
    }
}
