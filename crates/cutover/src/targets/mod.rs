//! Stage 2: targets, the repositories under comparison.
//!
//! Both the legacy and the candidate repository sit behind [`Target`]. A target answers a
//! request with an [`Outcome`] (a value, or a domain error of a kind) or fails with an
//! [`InfraError`] when the store itself could not be reached: that makes the request
//! inconclusive, never equal and never divergent.
//!
//! Targets are chosen on the command line by a spec ([`open`]):
//! * `memory`: an in-memory key-value store ([`crate::kv::memory::Memory`]), for tests and
//!   benchmarks.
//! * `recorded`: answers from the cassette's recorded outcomes ([`recorded::Recorded`]).
//! * `exec:` and `http:`: a repository in any language behind an adapter program
//!   ([`protocol`], `docs/src/protocol.md`).
//!
//! Other specs come from the crates that register them in a [`crate::Registry`]
//! (`sql:` and `mongodb:` from `cutover-declared`, `conversations-mongodb:` and
//! `conversations-postgres:` from `cutover-conversations`).

pub mod events;
pub mod identity;
pub mod keys;
pub mod protocol;
pub mod recorded;
pub mod rng;
pub mod value;

pub use keys::{dump_each, Checksums, Dumped, KeyOrder, KeyRange, RangeSum};

use crate::cassette::{Event, Outcome, Request};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A repository that requests are replayed against.
///
/// Requests for one key arrive one at a time and in cassette order; requests for other
/// keys may arrive concurrently, so implementations must be safe to share.
#[async_trait]
pub trait Target: Send + Sync {
    /// A short name for reports (`memory`, `postgres`, ...).
    fn name(&self) -> &str;

    /// Empties the store (or restores its seed) before a replay.
    async fn reset(&self) -> Result<(), InfraError>;

    /// Executes one request.
    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError>;

    /// Executes one request and tells the events it published, in order, where this
    /// target sees them (an adapter's answer, a store's outbox, a broker subscription:
    /// [`events`]). By default [`Target::execute`] with [`Executed::events`] `None`: this
    /// target cannot tell, and its events are not compared. The replay calls this; a
    /// wrapper forwards it.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        Ok(Executed::from(self.execute(request).await?))
    }

    /// The cassette domain this target serves, when it declares one (an adapter's
    /// handshake does): a replay refuses a cassette of another domain.
    fn domain(&self) -> Option<&str> {
        None
    }

    /// Its domain's declaration, when it sends one (an adapter's handshake may): TOML text
    /// or the same structure as an object (`docs/src/domain.md`).
    fn declaration(&self) -> Option<&Value> {
        None
    }

    /// The databases this target stores into, each named so that two URLs of one database
    /// give one name (`SCHEME://HOST:PORT/NAME`), where it can tell: a replay or `verify`
    /// refuses a pair whose sides share one, which would compare a store with itself. A
    /// wrapper forwards it.
    fn databases(&self) -> Vec<String> {
        Vec::new()
    }

    /// The canonical stored state of the aggregate `key`, `Ok(None)` if this target cannot
    /// tell (then the state check is skipped and counted as unchecked).
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError>;

    /// Up to `limit` keys holding an aggregate, after `after` (exclusive; none: from the
    /// first), ascending in [`Target::key_order`]; fewer than `limit` only at the end.
    /// `Ok(None)`: this target cannot enumerate its keys (`cutover verify` refuses it).
    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        let _ = (after, limit);
        Ok(None)
    }

    /// The order [`Target::keys`] enumerates keys in.
    fn key_order(&self) -> KeyOrder {
        KeyOrder::Bytes
    }

    /// The stored aggregates of `keys`, one [`Dumped`] per key in the same order, in as few
    /// exchanges as the store allows. By default [`Target::dump`] key by key ([`dump_each`],
    /// which a target that batches only sometimes can call too): a key it
    /// cannot tell, or an [`InfraError::Other`] for that key alone, is unreadable; a store
    /// that cannot be reached fails the batch.
    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        dump_each(self, keys).await
    }

    /// Checksums of key ranges computed inside its store, where declared (the hashing
    /// path of `cutover verify`).
    fn checksums(&self) -> Option<&dyn Checksums> {
        None
    }

    /// How long this target took to answer `request`, given the time `execute` was
    /// measured to take: that time, unless the target answers for another store (the
    /// `recorded` target tells the recorded legacy's latency, or none).
    fn latency(&self, request: &Request, measured: Duration) -> Option<Duration> {
        let _ = request;
        Some(measured)
    }

    /// How long this target's stored data may take to reflect a write, for `request` (a
    /// store fed by a sync): as the candidate of a replay, its answer to a read and its
    /// state read back after a write are asked again within this window until they agree
    /// with the legacy's (`docs/src/settle.md`). It wins over `ReplayOptions::settle`;
    /// `Some(Duration::ZERO)` asks for no retry. None by default: the run's window applies.
    fn settle(&self, request: &Request) -> Option<Duration> {
        let _ = request;
        None
    }

    /// Whether [`Target::execute_paused`] can widen a race window (the race check reports
    /// injected delays as not applied otherwise).
    fn pauses(&self) -> bool {
        false
    }

    /// Executes one request with `pause` slept between the repository's load and the write
    /// that depends on it, where it has such a point (the race check's injected delays).
    /// By default the pause is not applied.
    async fn execute_paused(
        &self,
        request: &Request,
        pause: Duration,
    ) -> Result<Outcome, InfraError> {
        let _ = pause;
        self.execute(request).await
    }
}

/// What a target did for one request: its answer and, where it can tell, the events it
/// published ([`Target::execute_events`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The answer.
    pub outcome: Outcome,
    /// The events published, in order; `None` when the target cannot tell, `Some([])`
    /// when it published none.
    pub events: Option<Vec<Event>>,
}

impl From<Outcome> for Executed {
    fn from(outcome: Outcome) -> Executed {
        Executed {
            outcome,
            events: None,
        }
    }
}

impl std::fmt::Debug for dyn Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.name())
    }
}

/// A failure of the infrastructure, not of the repository's logic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraError {
    /// The store could not be connected to; the text says why.
    #[error("connection refused: {0}")]
    Refused(String),
    /// No answer within this time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection was lost during the call; the text says why.
    #[error("connection dropped: {0}")]
    Disconnected(String),
    /// Any other failure, described.
    #[error("{0}")]
    Other(String),
}

/// A target spec that cannot be built into a target.
#[derive(Debug, thiserror::Error)]
#[error("target spec `{spec}`: {what}")]
pub struct SpecError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    pub what: String,
}

/// A parsed target spec: `name` or `name:key=value,key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The target's name, the part before `:`; never empty.
    pub name: String,
    /// The `key=value` options, by key; each key appears at most once in the spec.
    pub options: BTreeMap<String, String>,
    text: String,
}

impl Spec {
    /// Parses `name[:key=value,...]`.
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let error = |what: String| SpecError {
            spec: text.to_string(),
            what,
        };
        let (name, rest) = text.split_once(':').unwrap_or((text, ""));
        if name.is_empty() {
            return Err(error("expected a target name".into()));
        }
        let mut options = BTreeMap::new();
        for pair in rest.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| error(format!("expected key=value, found `{pair}`")))?;
            if options.insert(k.to_string(), v.to_string()).is_some() {
                return Err(error(format!("option `{k}` given twice")));
            }
        }
        Ok(Spec {
            name: name.to_string(),
            options,
            text: text.to_string(),
        })
    }

    /// An error about this spec.
    pub fn error(&self, what: impl Into<String>) -> SpecError {
        SpecError {
            spec: self.text.clone(),
            what: what.into(),
        }
    }

    /// Fails on any option not in `known`, so a typo is never silently ignored.
    pub fn expect_options(&self, known: &[&str]) -> Result<(), SpecError> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) if known.is_empty() => {
                Err(self.error(format!("`{k}`: this target takes no options")))
            }
            Some(k) => Err(self.error(format!(
                "unknown option `{k}`; expected one of: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// An option parsed as a duration such as `10ms`, `2s` or `500us`.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, SpecError> {
        let Some(text) = self.options.get(key) else {
            return Ok(None);
        };
        parse_duration(text).map(Some).ok_or_else(|| {
            self.error(format!(
                "`{key}={text}`: expected a duration such as 10ms, 2s or 500us"
            ))
        })
    }
}

/// Parses `500us`, `10ms` or `2s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "us" => Some(Duration::from_micros(n)),
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        _ => None,
    }
}

/// Opens the target specs the core knows outside any domain (`docs/src/protocol.md`); `None`
/// for any other spec (a [`crate::Registry`] asks the openers of its domains and crates):
///
/// * `recorded`: answers from the cassette;
/// * `exec:[OPTIONS] PROGRAM ARGS...`: an adapter program ([`protocol::exec`]), started and
///   its handshake read;
/// * `http:URL`: an adapter inside a running service (`protocol::http`, feature `http`).
pub async fn open(text: &str) -> Option<Result<Arc<dyn Target>, SpecError>> {
    let error = |what: String| SpecError {
        spec: text.to_string(),
        what,
    };
    if let Some(rest) = text.strip_prefix("exec:") {
        return Some(open_exec(rest).await.map_err(|e| error(e.to_string())));
    }
    #[cfg(feature = "http")]
    if let Some(url) = text.strip_prefix("http:") {
        return Some(match protocol::http::Http::connect(url).await {
            Ok(http) => Ok(Arc::new(http) as Arc<dyn Target>),
            Err(e) => Err(error(e.to_string())),
        });
    }
    let spec = match Spec::parse(text) {
        Ok(spec) if spec.name == "recorded" => spec,
        Ok(_) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some(
        spec.expect_options(&[])
            .map(|()| Arc::new(recorded::Recorded::new()) as Arc<dyn Target>),
    )
}

/// Opens the target specs of one form (`sql:...`, `conversations-postgres:...`).
#[async_trait]
pub trait Opener: Send + Sync {
    /// The forms it opens, as error messages list them (`sql:ops=FILE,url=URL`).
    fn forms(&self) -> Vec<&'static str>;

    /// Opens `spec` if it is of one of its forms (`None`: not one of them); an error says
    /// what is wrong with it.
    async fn open(&self, spec: &str) -> Option<Result<Arc<dyn Target>, String>>;
}

/// The specs [`open`] knows, for a [`crate::Registry`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtin;

#[async_trait]
impl Opener for Builtin {
    fn forms(&self) -> Vec<&'static str> {
        let mut forms = vec!["recorded", "exec:COMMAND"];
        if cfg!(feature = "http") {
            forms.push("http:URL");
        }
        forms
    }

    async fn open(&self, spec: &str) -> Option<Result<Arc<dyn Target>, String>> {
        open(spec).await.map(|opened| opened.map_err(|e| e.what))
    }
}

async fn open_exec(rest: &str) -> Result<Arc<dyn Target>, protocol::AdapterError> {
    let spec = protocol::exec::ExecSpec::parse(rest)?;
    let exec = protocol::exec::Exec::start(spec).await?;
    Ok(Arc::new(exec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_names_and_options() {
        let spec = Spec::parse("memory:latency=10ms").unwrap();
        assert_eq!(spec.name, "memory");
        assert_eq!(
            spec.duration("latency").unwrap(),
            Some(Duration::from_millis(10))
        );
        assert!(Spec::parse(":x=1").is_err());
        assert!(Spec::parse("memory:latency").is_err());
    }
}
