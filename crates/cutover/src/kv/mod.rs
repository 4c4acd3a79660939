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
use crate::targets::{Opener, Spec, Target};
use async_trait::async_trait;
use std::sync::Arc;

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

/// Opens `memory[:latency=D]`: an empty [`memory::Memory`] store.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySpec;

#[async_trait]
impl Opener for MemorySpec {
    fn forms(&self) -> Vec<&'static str> {
        vec!["memory[:latency=D]"]
    }

    async fn open(&self, text: &str) -> Option<Result<Arc<dyn Target>, String>> {
        let spec = Spec::parse(text).ok().filter(|s| s.name == "memory")?;
        Some(match memory::Memory::from_spec(&spec) {
            Ok(memory) => Ok(Arc::new(memory)),
            Err(e) => Err(e.what),
        })
    }
}
