//! A declared domain as a [`DomainKit`]: coverage, probes and `check-target` from its
//! declaration, and, for a built-in domain, its own code beside them.

use super::{DomainKit, Script};
use crate::coverage::Features;
use crate::declaration::features::{DeclaredFeatures, Observer};
use crate::declaration::probes::DeclaredProber;
use crate::declaration::{Declaration, DeclarationError};
use crate::probe::Prober;
use std::path::Path;
use std::sync::Arc;

type Make<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// A domain known from its declaration.
#[derive(Clone)]
pub struct DeclaredDomain {
    declaration: Arc<Declaration>,
    own_features: Option<Make<Box<dyn Observer>>>,
    own_prober: Option<Make<Box<dyn Prober>>>,
    script: Option<Make<Script>>,
}

impl DeclaredDomain {
    /// The domain `declaration` declares.
    pub fn new(declaration: Declaration) -> DeclaredDomain {
        DeclaredDomain {
            declaration: Arc::new(declaration),
            own_features: None,
            own_prober: None,
            script: None,
        }
    }

    /// The domain declared in the file at `path`.
    pub fn load(path: &Path) -> Result<DeclaredDomain, DeclarationError> {
        Declaration::load(path).map(DeclaredDomain::new)
    }

    /// With the observer of the features the declaration names in `features` and `stored`.
    pub fn with_own_features(
        mut self,
        make: impl Fn() -> Box<dyn Observer> + Send + Sync + 'static,
    ) -> DeclaredDomain {
        self.own_features = Some(Arc::new(make));
        self
    }

    /// With the domain's own probes, appended after the declared ones.
    pub fn with_own_prober(
        mut self,
        make: impl Fn() -> Box<dyn Prober> + Send + Sync + 'static,
    ) -> DeclaredDomain {
        self.own_prober = Some(Arc::new(make));
        self
    }

    /// With a conformance script against a reference store (instead of the declared
    /// expectations).
    pub fn with_script(
        mut self,
        make: impl Fn() -> Script + Send + Sync + 'static,
    ) -> DeclaredDomain {
        self.script = Some(Arc::new(make));
        self
    }
}

impl DomainKit for DeclaredDomain {
    fn name(&self) -> &str {
        &self.declaration.domain
    }

    fn features(&self) -> Option<Box<dyn Features>> {
        let features = DeclaredFeatures::new(self.declaration.clone());
        Some(Box::new(match &self.own_features {
            Some(own) => features.with_own(own()),
            None => features,
        }))
    }

    fn prober(&self) -> Option<Box<dyn Prober>> {
        let prober = DeclaredProber::new(self.declaration.clone());
        Some(Box::new(match &self.own_prober {
            Some(own) => prober.with_own(own()),
            None => prober,
        }))
    }

    fn script(&self) -> Option<Script> {
        self.script.as_ref().map(|make| make())
    }

    fn declaration(&self) -> Option<Arc<Declaration>> {
        Some(self.declaration.clone())
    }
}
