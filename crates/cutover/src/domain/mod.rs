//! What a domain gives cutover beyond its targets: its coverage features, its probes and its
//! conformance script. A [`DomainKit`] is registered once in a [`crate::Registry`]; coverage,
//! probes, `check-target` and the command line find every domain, built in or a team's own,
//! through it. A domain known from its declaration is a [`DeclaredDomain`], built in or a
//! team's own.

mod declared;

pub use declared::DeclaredDomain;

use crate::cassette::Request;
use crate::coverage::Features;
use crate::declaration::Declaration;
use crate::probe::Prober;
use crate::targets::Target;
use std::sync::Arc;

/// One domain: the operations of a cassette's `domain` and what cutover knows of them.
pub trait DomainKit: Send + Sync {
    /// The domain's name, as cassette headers and adapter handshakes write it.
    fn name(&self) -> &str;

    /// Its coverage features, fresh for one count; `None` if it declares none.
    fn features(&self) -> Option<Box<dyn Features>> {
        None
    }

    /// Its probes' deriver, fresh for one cassette; `None` if it derives none.
    fn prober(&self) -> Option<Box<dyn Prober>> {
        None
    }

    /// Its conformance script for `check-target`; `None` if it has none.
    fn script(&self) -> Option<Script> {
        None
    }

    /// Its declaration, from which `check-target` checks an adapter that has no script.
    fn declaration(&self) -> Option<Arc<Declaration>> {
        None
    }
}

/// A conformance script: requests run in order on an adapter and on the domain's
/// reference store, each answer (and, after a write, the key's state) compared with the
/// reference's, values by value and errors by kind.
pub struct Script {
    /// Each step: what it checks, and the request.
    pub steps: Vec<(String, Request)>,
    /// The store whose answers are right, emptied before the first step.
    pub reference: Arc<dyn Target>,
}
