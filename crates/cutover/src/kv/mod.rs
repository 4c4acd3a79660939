//! The built-in `kv` domain: a key-value store of JSON values (`get`, `put`, `insert`,
//! `delete`, `scan`, `stamp`). It is declared in `domain.toml` like any team's domain, so
//! its coverage features and probes come from the declaration; [`memory::Memory`] is its
//! store and reference, `script` its conformance script against that reference; [`kit`]
//! registers them (`crate::Registry::builtin`).

pub mod memory;
mod script;

use crate::declaration::Declaration;
use crate::domain::DeclaredDomain;
use crate::targets::{Opener, Spec, Target};
use async_trait::async_trait;
use std::sync::Arc;

/// The `kv` domain's declaration.
pub const DECLARATION: &str = include_str!("domain.toml");

/// The `kv` domain: its declaration, with the conformance script against [`memory::Memory`].
pub fn kit() -> DeclaredDomain {
    let declaration = Declaration::parse(DECLARATION, "crates/cutover/src/kv/domain.toml")
        .expect("the kv declaration is valid (tested)");
    DeclaredDomain::new(declaration).with_script(script::script)
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
