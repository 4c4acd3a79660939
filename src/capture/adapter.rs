//! A team's own repository type, put behind [`Target`] so that the recorder, the shadow and
//! the replay can drive it, and the pieces that turn its typed calls into requests and
//! outcomes.
//!
//! * [`Adapter`]: a repository (any type) plus one dispatch function from a [`Request`] to
//!   the repository's typed method is a [`Target`].
//! * [`DomainError`]: how a team's error type maps onto the shared error kinds, and which of
//!   its errors are infrastructure failures (never an answer to compare).
//! * [`outcome`]: a typed `Result` as an [`Outcome`]; [`request`] builds the request a typed
//!   call stands for, stamped with the current time.

use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::targets::{InfraError, Target};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// A team's error type, seen through the shared vocabulary.
pub trait DomainError: std::fmt::Display {
    /// The kind of a domain error, or `None` for an infrastructure failure (the store could
    /// not be reached): that is not an answer, and is never recorded or compared.
    fn kind(&self) -> Option<ErrorKind>;
}

/// A typed answer as an outcome: the value serialized, or the error's kind and message.
pub fn outcome<T: Serialize, E: DomainError>(result: &Result<T, E>) -> Result<Outcome, InfraError> {
    match result {
        Ok(value) => serde_json::to_value(value)
            .map(Outcome::Ok)
            .map_err(|e| InfraError::Other(format!("the answer does not serialize: {e}"))),
        Err(error) => match error.kind() {
            Some(kind) => Ok(Outcome::error(kind, error.to_string())),
            None => Err(InfraError::Other(error.to_string())),
        },
    }
}

/// The request a typed call stands for, at the current time (`seq` is set when written).
pub fn request(op: &str, key: Option<&str>, kind: Kind, args: Value) -> Request {
    Request {
        latency_us: None,
        started_us: None,
        probe: None,
        seq: 0,
        key: key.map(str::to_string),
        op: op.to_string(),
        kind,
        args,
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        outcome: None,
        state: None,
    }
}

/// A repository of any type behind [`Target`]: `dispatch` answers a request by calling the
/// repository's own method.
///
/// ```
/// use cutover::capture::adapter::{outcome, Adapter, DomainError};
/// use cutover::cassette::ErrorKind;
/// use cutover::targets::{InfraError, Target};
/// # #[derive(Debug)] struct Gone;
/// # impl std::fmt::Display for Gone { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { f.write_str("gone") } }
/// impl DomainError for Gone {
///     fn kind(&self) -> Option<ErrorKind> { Some(ErrorKind::NotFound) }
/// }
/// struct Names; // a team's repository
/// impl Names {
///     async fn get(&self, id: &str) -> Result<String, Gone> {
///         if id == "1" { Ok("Zoë".into()) } else { Err(Gone) }
///     }
/// }
/// let target = Adapter::new("names", Names, |repo, request| async move {
///     match request.op.as_str() {
///         "get" => outcome(&repo.get(request.key.as_deref().unwrap_or("")).await),
///         other => Err(InfraError::Other(format!("unknown operation {other}"))),
///     }
/// });
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let request = cutover::capture::adapter::request("get", Some("1"), cutover::cassette::Kind::Read, serde_json::json!({}));
/// assert_eq!(target.execute(&request).await.unwrap(), cutover::cassette::Outcome::Ok("Zoë".into()));
/// # });
/// ```
pub struct Adapter<R, F> {
    name: String,
    repository: Arc<R>,
    dispatch: F,
}

impl<R, F, Fut> Adapter<R, F>
where
    R: Send + Sync + 'static,
    F: Fn(Arc<R>, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, InfraError>> + Send,
{
    /// The target `name` that answers each request with `dispatch` on `repository`.
    pub fn new(name: &str, repository: R, dispatch: F) -> Adapter<R, F> {
        Adapter {
            name: name.to_string(),
            repository: Arc::new(repository),
            dispatch,
        }
    }

    /// The repository itself, for the calls that do not go through requests.
    pub fn repository(&self) -> &Arc<R> {
        &self.repository
    }
}

#[async_trait]
impl<R, F, Fut> Target for Adapter<R, F>
where
    R: Send + Sync + 'static,
    F: Fn(Arc<R>, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Outcome, InfraError>> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    /// A team's repository is not emptied by the harness: resetting is a no-op.
    async fn reset(&self) -> Result<(), InfraError> {
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        (self.dispatch)(Arc::clone(&self.repository), request.clone()).await
    }

    /// The stored state is not known through a dispatch: the state check is skipped.
    async fn dump(&self, _key: &str) -> Result<Option<Value>, InfraError> {
        Ok(None)
    }
}
