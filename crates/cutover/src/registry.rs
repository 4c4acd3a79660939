//! The one list of what cutover knows: domains ([`DomainKit`]: coverage features, probes,
//! conformance scripts) and target specs ([`Opener`]). The built-in ones are in
//! [`Registry::builtin`]; the command line adds the reference domain and the declared
//! targets, and a team's crate adds its own. Coverage, probes, `check-target` and every
//! command find a domain or open a spec here, never by a list of their own.

use crate::coverage::Tally;
use crate::declaration::{Declaration, DeclarationError};
use crate::domain::DeclaredDomain;
use crate::domain::DomainKit;
use crate::kv::{self, MemorySpec};
use crate::probe::{ProbeError, Prober};
use crate::targets::{self, Opener, Spec, SpecError, Target};
use std::sync::Arc;

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
            domains: vec![Arc::new(kv::kit())],
            openers: vec![Arc::new(MemorySpec), Arc::new(targets::Builtin)],
        }
    }

    /// The registry with `domain` too; a later domain of the same name wins.
    pub fn with_domain(mut self, domain: impl DomainKit + 'static) -> Registry {
        self.domains.retain(|d| d.name() != domain.name());
        self.domains.push(Arc::new(domain));
        self
    }

    /// The registry with `opener` too, tried after those before it.
    pub fn with_opener(mut self, opener: impl Opener + 'static) -> Registry {
        self.openers.push(Arc::new(opener));
        self
    }

    /// The registry with the declaration `target` sent in its handshake, when it knows no
    /// domain `name` yet (a `--domain` file or a built-in domain wins over a handshake).
    pub fn with_handshake(
        self,
        name: &str,
        target: &dyn Target,
    ) -> Result<Registry, DeclarationError> {
        let Some(sent) = target.declaration().filter(|_| self.domain(name).is_none()) else {
            return Ok(self);
        };
        let origin = format!("the handshake of {}", target.name());
        let declaration = Declaration::from_handshake(sent, &origin)?;
        if declaration.domain != name {
            return Err(DeclarationError {
                origin,
                line: None,
                what: format!(
                    "declares domain `{}`, the cassette's is `{name}`",
                    declaration.domain
                ),
            });
        }
        Ok(self.with_domain(DeclaredDomain::new(declaration)))
    }

    /// The domain named `name`.
    pub fn domain(&self, name: &str) -> Option<&dyn DomainKit> {
        self.domains
            .iter()
            .find(|d| d.name() == name)
            .map(|d| d.as_ref())
    }

    /// The names of the domains, sorted.
    pub fn domain_names(&self) -> Vec<&str> {
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
    pub fn with_features(&self) -> Vec<&str> {
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

    fn names_where(&self, has: impl Fn(&dyn DomainKit) -> bool) -> Vec<&str> {
        let mut names: Vec<_> = self
            .domains
            .iter()
            .filter(|d| has(d.as_ref()))
            .map(|d| d.name())
            .collect();
        names.sort_unstable();
        names
    }

    /// Opens a target from its spec: each opener in turn (the built-in ones first); a spec
    /// none takes is an error listing every form.
    pub async fn open(&self, spec: &str) -> Result<Arc<dyn Target>, SpecError> {
        for opener in &self.openers {
            if let Some(opened) = opener.open(spec).await {
                return opened.map_err(|what| SpecError {
                    spec: spec.to_string(),
                    what,
                });
            }
        }
        let parsed = Spec::parse(spec)?;
        let forms: Vec<&str> = self.openers.iter().flat_map(|o| o.forms()).collect();
        Err(parsed.error(format!(
            "unknown target `{}`; expected {}",
            parsed.name,
            forms.join(", ")
        )))
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

    #[test]
    fn specs_open_or_say_what_is_wrong() {
        let open = |text| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(Registry::builtin().open(text))
        };
        assert!(open("memory:latency=1ms").is_ok());
        assert!(open("recorded").is_ok());
        assert!(open("memory:latncy=1ms")
            .unwrap_err()
            .to_string()
            .contains("unknown option `latncy`"));
        assert!(open("memory:latency=ten").is_err());
        assert!(open("recorded:x=1").is_err());
        let unknown = open("oracle").unwrap_err().to_string();
        assert!(
            unknown.contains(
                "unknown target `oracle`; expected memory[:latency=D], recorded, exec:COMMAND"
            ),
            "{unknown}"
        );
        let missing = open("exec:/nonexistent/adapter --flag")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cannot start `/nonexistent/adapter`"),
            "{missing}"
        );
        #[cfg(feature = "http")]
        assert!(open("http:localhost").is_err());
    }
}
