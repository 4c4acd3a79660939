//! The one list of what cutover knows: domains ([`DomainKit`]: coverage features, probes,
//! conformance scripts) and target specs ([`Opener`]). The built-in ones are in
//! [`Registry::builtin`]; the command line adds the reference domain and the declared
//! targets, and a team's crate adds its own. Coverage, probes, `check-target` and every
//! command find a domain or open a spec here, never by a list of their own.

use crate::coverage::Tally;
use crate::domain::DomainKit;
use crate::kv::Kv;
use crate::probe::{ProbeError, Prober};
use crate::targets::{self, SpecError, Target};
use async_trait::async_trait;
use std::sync::Arc;

/// Opens the target specs of one form (`sql:...`, `conversations-postgres:...`).
#[async_trait]
pub trait Opener: Send + Sync {
    /// The forms it opens, as error messages list them (`sql:ops=FILE,url=URL`).
    fn forms(&self) -> Vec<&'static str>;

    /// Opens `spec` if it is of one of its forms (`None`: not one of them); an error says
    /// what is wrong with it.
    async fn open(&self, spec: &str) -> Option<Result<Arc<dyn Target>, String>>;
}

/// The domains and target specs one run knows.
#[derive(Clone)]
pub struct Registry {
    domains: Vec<Arc<dyn DomainKit>>,
    openers: Vec<Arc<dyn Opener>>,
}

impl Registry {
    /// What the core knows alone: the `kv` domain and the specs `memory`, `recorded`,
    /// `exec:` and `http:` (with the `http` feature).
    pub fn builtin() -> Registry {
        Registry {
            domains: vec![Arc::new(Kv)],
            openers: Vec::new(),
        }
    }

    /// The registry with `domain` too; a later domain of the same name wins.
    pub fn with_domain(mut self, domain: impl DomainKit + 'static) -> Registry {
        self.domains.retain(|d| d.name() != domain.name());
        self.domains.push(Arc::new(domain));
        self
    }

    /// The registry with `opener` too, tried before the built-in specs.
    pub fn with_opener(mut self, opener: impl Opener + 'static) -> Registry {
        self.openers.push(Arc::new(opener));
        self
    }

    /// The domain named `name`.
    pub fn domain(&self, name: &str) -> Option<&dyn DomainKit> {
        self.domains
            .iter()
            .find(|d| d.name() == name)
            .map(|d| d.as_ref())
    }

    /// The names of the domains, sorted.
    pub fn domain_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.domains.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        names
    }

    /// A fresh coverage tally of the domain `name`; `None` if it is unknown or declares no
    /// features.
    pub fn tally(&self, name: &str) -> Option<Tally> {
        let features = self.domain(name)?.features()?;
        Some(Tally::new(name, features))
    }

    /// The names of the domains that declare coverage features, sorted.
    pub fn with_features(&self) -> Vec<&'static str> {
        self.names_where(|d| d.features().is_some())
    }

    /// A fresh prober of the domain `name`; an unknown domain, or one without probes, is an
    /// error naming the ones that have them.
    pub fn prober(&self, name: &str) -> Result<Box<dyn Prober>, ProbeError> {
        self.domain(name)
            .and_then(|d| d.prober())
            .ok_or_else(|| ProbeError::UnknownDomain {
                domain: name.to_string(),
                known: self.names_where(|d| d.prober().is_some()).join(", "),
            })
    }

    fn names_where(&self, has: impl Fn(&dyn DomainKit) -> bool) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .domains
            .iter()
            .filter(|d| has(d.as_ref()))
            .map(|d| d.name())
            .collect();
        names.sort_unstable();
        names
    }

    /// Opens a target from its spec: the registered openers first, in order, then the
    /// built-in specs ([`targets::open`]). An unknown spec is an error listing every form.
    pub async fn open(&self, spec: &str) -> Result<Arc<dyn Target>, SpecError> {
        for opener in &self.openers {
            if let Some(opened) = opener.open(spec).await {
                return opened.map_err(|what| SpecError {
                    spec: spec.to_string(),
                    what,
                });
            }
        }
        let extra: Vec<&str> = self.openers.iter().flat_map(|o| o.forms()).collect();
        targets::open(spec, &extra).await
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("domains", &self.domain_names())
            .field(
                "specs",
                &self
                    .openers
                    .iter()
                    .flat_map(|o| o.forms())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_domain_is_found_and_replaces_its_namesake() {
        struct Ledger;
        impl DomainKit for Ledger {
            fn name(&self) -> &'static str {
                "ledger"
            }
        }
        let registry = Registry::builtin().with_domain(Ledger);
        assert_eq!(registry.domain_names(), ["kv", "ledger"]);
        assert_eq!(registry.with_features(), ["kv"]);
        assert!(registry.tally("ledger").is_none());
        let error = registry.prober("ledger").err().unwrap().to_string();
        assert!(
            error.contains("`ledger`") && error.contains("known: kv"),
            "{error}"
        );
        struct Kv2;
        impl DomainKit for Kv2 {
            fn name(&self) -> &'static str {
                "kv"
            }
        }
        let replaced = Registry::builtin().with_domain(Kv2);
        assert_eq!(replaced.domain_names(), ["kv"]);
        assert!(replaced.tally("kv").is_none());
    }
}
