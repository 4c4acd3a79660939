//! The reference domain: a conversations repository migrated from MongoDB (legacy) to
//! PostgreSQL (new), as in a real migration of a messaging service.
//!
//! * [`model`]: the canonical document both repositories return.
//! * [`ops`]: the 16 writes and 21 reads, parsed and validated once for both sides.
//! * `mongo`: the legacy repository, one `conversations` collection with embedded arrays
//!   (feature `mongodb`).
//! * `postgres`: the new repository over a normalized schema (`migrations/`), whose
//!   queries rebuild the legacy documents in the legacy order (feature `postgres`).
//! * `setup` (both features): both repositories on fresh databases of real servers;
//!   `sample` (feature `mongodb`): a cassette sampled from a live legacy store.
//! * [`events`]: the domain events a write publishes, the same for both repositories, sent
//!   to NATS when a spec asks for it (MongoDB's after its write, PostgreSQL's after its
//!   commit).
//! * [`generate`]: a seeded generator of realistic conversations and traffic;
//!   [`strategy`]: proptest strategies; [`features`]: the declared coverage features.
//!
//! Both repositories implement [`Repository`]; [`DomainTarget`] puts one behind the
//! harness's [`Target`] trait. To test a faulty variant, wrap a repository in another
//! [`Repository`], or give `postgres::Postgres` other `postgres::Queries`. The pure parts
//! (the model, the operations, the generators) build without either driver.

#![warn(missing_docs)]

pub mod change;
pub mod events;
pub mod features;
pub mod generate;
pub mod model;
pub mod mongo;
pub mod ops;
pub mod postgres;
mod probe;
pub mod sample;
pub mod setup;
pub mod spec;
pub mod strategy;

use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Outcome, Request};
use cutover::declaration::Declaration;
use cutover::domain::DeclaredDomain;
use cutover::targets::Opener;
use cutover::targets::{Dumped, InfraError, Target};
use model::Conversation;
use ops::Command;
use serde_json::Value;
use std::sync::Arc;

/// The conversations domain's declaration (`domain.toml`).
pub const DECLARATION: &str = include_str!("../domain.toml");

/// The conversations domain: its declaration, with the features and probes only its own
/// code can tell ([`features`], [`probe`]) beside the declared ones.
pub fn domain() -> DeclaredDomain {
    let declaration = Declaration::parse(DECLARATION, "crates/conversations/domain.toml")
        .expect("the conversations declaration is valid (tested)");
    DeclaredDomain::new(declaration)
        .with_own_features(|| Box::<features::ConversationFeatures>::default())
        .with_own_prober(|| Box::<probe::Observed>::default())
}

/// The two repositories as target specs ([`spec`]): `conversations-mongodb:uri=URI` and
/// `conversations-postgres:url=URL`, each publishing its events with
/// `events=nats://HOST:PORT/PREFIX` before the URL.
#[derive(Debug, Clone, Copy, Default)]
pub struct Specs;

#[async_trait]
impl Opener for Specs {
    fn forms(&self) -> Vec<&'static str> {
        vec![
            "conversations-mongodb:[events=nats://HOST:PORT/PREFIX,]uri=URI",
            "conversations-postgres:[events=nats://HOST:PORT/PREFIX,][events_defect=NAME,]url=URL",
        ]
    }

    async fn open(&self, text: &str) -> Option<Result<Arc<dyn Target>, String>> {
        spec::open(text).await
    }
}

/// Why a repository call failed: a domain error (an outcome to compare) or an
/// infrastructure failure (an inconclusive request).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// A domain error, its kind and message: an outcome both repositories must agree on.
    #[error("{0}: {1}")]
    Domain(ErrorKind, String),
    /// A failure of the infrastructure, not of the repository's logic: the request is
    /// inconclusive.
    #[error(transparent)]
    Infra(InfraError),
    /// The aggregate changed between its load and its save (an optimistic version did not
    /// match): the repository loads again and retries; it reaches a caller as `aborted`
    /// only when retries run out.
    #[error("the conversation changed between its load and its save")]
    Stale,
}

impl Failure {
    /// A `not_found` error saying `{what} not found`.
    pub fn not_found(what: impl std::fmt::Display) -> Failure {
        Failure::Domain(ErrorKind::NotFound, format!("{what} not found"))
    }

    /// A `conflict` error with the given message.
    pub fn conflict(what: impl Into<String>) -> Failure {
        Failure::Domain(ErrorKind::Conflict, what.into())
    }

    /// An `invalid` error with the given message.
    pub fn invalid(what: impl Into<String>) -> Failure {
        Failure::Domain(ErrorKind::Invalid, what.into())
    }
}

/// A conversations repository.
#[async_trait]
pub trait Repository: Send + Sync {
    /// `mongodb`, `postgres`, ...
    fn name(&self) -> &str;

    /// Empties the store.
    async fn reset(&self) -> Result<(), Failure>;

    /// The database it stores into, as [`cutover_servers::spec::identity`] names it.
    fn database(&self) -> Option<&str> {
        None
    }

    /// Carries out one command; the value is the operation's answer.
    async fn run(&self, command: &Command) -> Result<Value, Failure>;

    /// The conversation as stored, for the state check after writes.
    async fn find(&self, id: &str) -> Result<Option<Conversation>, Failure>;

    /// Up to `limit` conversation ids after `after` (exclusive; none: from the first),
    /// ascending by their UTF-8 bytes; fewer than `limit` only at the end.
    async fn keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Failure>;

    /// The conversations `ids` name, one [`Found`] per id in the same order, read in one
    /// exchange per batch: each exactly what [`Repository::find`] gives for its id.
    /// `Err` only when the store cannot be read at all.
    async fn find_batch(&self, ids: &[String]) -> Result<Vec<Found>, Failure>;
}

/// One id's conversation as [`Repository::find_batch`] read it: stored, absent
/// (`Ok(None)`), or stored but unreadable (the failure [`Repository::find`] gives for it).
pub type Found = Result<Option<Conversation>, Failure>;

/// Puts a [`Repository`] behind [`Target`].
pub struct DomainTarget<R>(pub R);

#[async_trait]
impl<R: Repository> Target for DomainTarget<R> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn databases(&self) -> Vec<String> {
        self.0.database().map(str::to_string).into_iter().collect()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.0.reset().await.map_err(|f| match f {
            Failure::Infra(e) => e,
            Failure::Domain(kind, m) => InfraError::Other(format!("reset failed: {kind}: {m}")),
            Failure::Stale => InfraError::Other("reset failed: stale".into()),
        })
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        self.execute_paused(request, std::time::Duration::ZERO)
            .await
    }

    fn pauses(&self) -> bool {
        true
    }

    async fn execute_paused(
        &self,
        request: &Request,
        pause: std::time::Duration,
    ) -> Result<Outcome, InfraError> {
        let mut command = match ops::parse(request) {
            Ok(command) => command,
            Err(why) => return Ok(Outcome::error(ErrorKind::Invalid, why)),
        };
        command.pause = pause;
        match self.0.run(&command).await {
            Ok(value) => Ok(Outcome::Ok(value)),
            Err(Failure::Domain(kind, message)) => Ok(Outcome::error(kind, message)),
            Err(Failure::Stale) => Ok(Outcome::error(
                ErrorKind::Aborted,
                "changed concurrently on every retry",
            )),
            Err(Failure::Infra(e)) => Err(e),
        }
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        match self.0.find(key).await {
            Ok(found) => Ok(Some(serde_json::to_value(found).unwrap_or(Value::Null))),
            Err(Failure::Infra(e)) => Err(e),
            Err(Failure::Domain(kind, m)) => {
                Err(InfraError::Other(format!("reading state: {kind}: {m}")))
            }
            Err(Failure::Stale) => Err(InfraError::Other("reading state: stale".into())),
        }
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        match self.0.keys(after, limit).await {
            Ok(keys) => Ok(Some(keys)),
            Err(failure) => Err(infra("listing keys", failure)),
        }
    }

    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        let found = self
            .0
            .find_batch(keys)
            .await
            .map_err(|f| infra("reading states", f))?;
        found.into_iter().zip(keys).map(dumped).collect()
    }
}

/// One key's batch read as a [`Dumped`]: a conversation or `null`, or unreadable with the
/// repository's reason; an infrastructure failure fails the batch.
fn dumped((found, key): (Found, &String)) -> Result<Dumped, InfraError> {
    match found {
        Ok(conversation) => Ok(Dumped::State(
            serde_json::to_value(conversation).unwrap_or(Value::Null),
        )),
        Err(Failure::Infra(e)) => Err(e),
        Err(Failure::Domain(kind, m)) => Ok(Dumped::Unreadable(format!(
            "reading conversation {key}: {kind}: {m}"
        ))),
        Err(Failure::Stale) => Ok(Dumped::Unreadable(format!(
            "reading conversation {key}: stale"
        ))),
    }
}

/// A repository failure outside a request as an infrastructure error, saying `doing` what.
fn infra(doing: &str, failure: Failure) -> InfraError {
    match failure {
        Failure::Infra(e) => e,
        Failure::Domain(kind, m) => InfraError::Other(format!("{doing}: {kind}: {m}")),
        Failure::Stale => InfraError::Other(format!("{doing}: stale")),
    }
}
