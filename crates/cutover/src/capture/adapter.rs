//! A team's own repository type, put behind [`Target`] so that the recorder, the shadow and
//! the replay can drive it, and the pieces that turn its typed calls into requests and
//! outcomes.
//!
//! * [`Adapter`]: a repository (any type) plus one dispatch function from a [`Request`] to
//!   the repository's typed method is a [`Target`]; [`Adapter::with_reset`] and
//!   [`Adapter::with_dump`] let it empty the store and tell a key's stored state, so that
//!   every write's state is compared too.
//! * [`outcome_with`]: a typed `Result` as an [`Outcome`], the error's kind told by a
//!   closure (works for any error type, from any crate).
//! * [`DomainError`]: the same mapping as a trait, for an error type of the crate that
//!   implements it; [`outcome`] uses it.
//! * [`request`] builds the request a typed call stands for, stamped with the current time.

use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::targets::{InfraError, Target};
use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

/// A team's error type, seen through the shared vocabulary.
///
/// The orphan rule lets only the crate that defines the error type (or this trait)
/// implement it: an integration test of another crate cannot. Use [`outcome_with`] there.
pub trait DomainError: Display {
    /// The kind of a domain error, or `None` for an infrastructure failure (the store could
    /// not be reached): that is not an answer, and is never recorded or compared.
    fn kind(&self) -> Option<ErrorKind>;
}

/// A typed answer as an outcome, the error's kind told by `kind`: the value serialized, or
/// the error's kind and message (its `Display`). `kind` returning `None` marks an
/// infrastructure failure (the store could not be reached): the request is inconclusive,
/// never compared.
///
/// No trait to implement, so it works for an error type of any crate, from any crate's
/// tests:
///
/// ```
/// use cutover::capture::adapter::outcome_with;
/// use cutover::cassette::{ErrorKind, Outcome};
///
/// #[derive(Debug)]
/// enum AccountError { NoSuchAccount, Overdrawn, Offline }
/// impl std::fmt::Display for AccountError {
///     fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
///         write!(f, "{self:?}")
///     }
/// }
/// fn kind(e: &AccountError) -> Option<ErrorKind> {
///     match e {
///         AccountError::NoSuchAccount => Some(ErrorKind::NotFound),
///         AccountError::Overdrawn => Some(ErrorKind::PreconditionFailed),
///         AccountError::Offline => None, // not an answer: inconclusive
///     }
/// }
///
/// let ok: Result<u64, AccountError> = Ok(40);
/// assert_eq!(outcome_with(&ok, kind).unwrap(), Outcome::Ok(40.into()));
/// let refused: Result<u64, AccountError> = Err(AccountError::Overdrawn);
/// assert_eq!(
///     outcome_with(&refused, kind).unwrap(),
///     Outcome::error(ErrorKind::PreconditionFailed, "Overdrawn")
/// );
/// let down: Result<u64, AccountError> = Err(AccountError::Offline);
/// assert!(outcome_with(&down, kind).is_err());
/// // A closure works as well.
/// let gone: Result<u64, AccountError> = Err(AccountError::NoSuchAccount);
/// let outcome = outcome_with(&gone, |_: &AccountError| Some(ErrorKind::NotFound)).unwrap();
/// assert_eq!(outcome, Outcome::error(ErrorKind::NotFound, "NoSuchAccount"));
/// ```
pub fn outcome_with<T, E, K>(result: &Result<T, E>, kind: K) -> Result<Outcome, InfraError>
where
    T: Serialize,
    E: Display,
    K: FnOnce(&E) -> Option<ErrorKind>,
{
    match result {
        Ok(value) => serde_json::to_value(value)
            .map(Outcome::Ok)
            .map_err(|e| InfraError::Other(format!("the answer does not serialize: {e}"))),
        Err(error) => match kind(error) {
            Some(kind) => Ok(Outcome::error(kind, error.to_string())),
            None => Err(InfraError::Other(error.to_string())),
        },
    }
}

/// A typed answer as an outcome: the value serialized, or the error's kind (its
/// [`DomainError::kind`]) and message; [`outcome_with`] with the trait's mapping.
pub fn outcome<T: Serialize, E: DomainError>(result: &Result<T, E>) -> Result<Outcome, InfraError> {
    outcome_with(result, DomainError::kind)
}

/// The request a typed call stands for, at the current time (`seq` is set when written).
pub fn request(op: &str, key: Option<&str>, kind: Kind, args: Value) -> Request {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    Request::new(0, key, op, kind, args, now)
}

/// How an [`Adapter`] empties its repository.
type ResetFn<R> = Box<dyn Fn(Arc<R>) -> BoxFuture<'static, Result<(), InfraError>> + Send + Sync>;

/// How an [`Adapter`] tells the stored state of one key.
type DumpFn<R> = Box<
    dyn Fn(Arc<R>, String) -> BoxFuture<'static, Result<Option<Value>, InfraError>> + Send + Sync,
>;

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
///
/// Without [`Adapter::with_reset`] the harness cannot empty the store (resetting does
/// nothing), and without [`Adapter::with_dump`] it cannot read a key's stored state back:
/// every write's state check is then skipped, and counted in the report as unchecked
/// (`writes_unchecked`).
///
/// # `Send` futures
///
/// The replay runs requests on a multi-threaded runtime, so the future `dispatch` returns
/// (and those of `with_reset` and `with_dump`) must be `Send`. A plain `async fn` in a
/// team's trait does not promise that: its future is `Send` only for a concrete type, and
/// dispatching through the trait on a generic repository
///
/// ```compile_fail
/// # use cutover::capture::adapter::{outcome_with, Adapter};
/// trait Repo: Send + Sync + 'static {
///     async fn get(&self) -> Result<u64, String>;
/// }
/// fn target<R: Repo>(repo: R) -> impl cutover::targets::Target {
///     Adapter::new("repo", repo, |repo, _request| async move {
///         outcome_with(&repo.get().await, |_: &String| None)
///     })
/// }
/// ```
///
/// fails to compile with a long error whose heart is
///
/// ```text
/// error: future cannot be sent between threads safely
///    |
///    |     Adapter::new("repo", repo, |repo, _request| async move {
///    |     ^^^^^^^^^^^^ future created by async block is not `Send`
///    |
///    = help: within `{async block@...}`, the trait `Send` is not implemented for
///            `impl Future<Output = Result<u64, String>>`
/// note: future is not `Send` as it awaits another future which is not `Send`
///    |         outcome_with(&repo.get().await, |_: &String| None)
///    |                       ^^^^^^^^^^ await occurs here on type
///    |                       `impl Future<Output = Result<u64, String>>`, which is not `Send`
/// note: required by a bound in `Adapter::<R, F>::new`
/// help: `Send` can be made part of the associated future's guarantees for all
///       implementations of `Repo::get`
///    |
///    -     async fn get(&self) -> Result<u64, String>;
///    +     fn get(&self) -> impl std::future::Future<Output = Result<u64, String>> + Send;
/// ```
///
/// Three fixes, any one is enough: declare the trait's method as returning a `Send` future
/// (`fn get(&self) -> impl Future<Output = ...> + Send`; an implementation may still be
/// written `async fn`), call the concrete type's method instead of the trait's (its
/// future's `Send`-ness is known), or declare the trait with `#[async_trait]` (boxed
/// `Send` futures). The first:
///
/// ```
/// use cutover::capture::adapter::{outcome_with, Adapter};
/// use cutover::targets::Target;
/// use std::future::Future;
///
/// trait Repo: Send + Sync + 'static {
///     fn get(&self) -> impl Future<Output = Result<u64, String>> + Send;
/// }
/// struct Fixed;
/// impl Repo for Fixed {
///     async fn get(&self) -> Result<u64, String> {
///         Ok(7)
///     }
/// }
/// fn target<R: Repo>(repo: R) -> impl Target {
///     Adapter::new("repo", repo, |repo, _request| async move {
///         outcome_with(&repo.get().await, |_: &String| None)
///     })
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let request = cutover::capture::adapter::request("get", None, cutover::cassette::Kind::Read, serde_json::json!({}));
/// assert_eq!(target(Fixed).execute(&request).await.unwrap(), cutover::cassette::Outcome::Ok(7.into()));
/// # });
/// ```
pub struct Adapter<R, F> {
    name: String,
    repository: Arc<R>,
    dispatch: F,
    reset: Option<ResetFn<R>>,
    dump: Option<DumpFn<R>>,
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
            reset: None,
            dump: None,
        }
    }

    /// Empties the store with `reset` before a replay (and before each race trial): a
    /// replay then starts from the same empty store on both sides.
    ///
    /// ```
    /// use cutover::capture::adapter::Adapter;
    /// use cutover::targets::{InfraError, Target};
    /// use std::collections::HashMap;
    /// use std::sync::Mutex;
    ///
    /// let store = Mutex::new(HashMap::from([("a".to_string(), 1u64)]));
    /// let target = Adapter::new("store", store, |_repo, _request| async {
    ///     Err(InfraError::Other("no operations".into()))
    /// })
    /// .with_reset(|repo| async move {
    ///     repo.lock().unwrap().clear();
    ///     Ok(())
    /// });
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// target.reset().await.unwrap();
    /// assert!(target.repository().lock().unwrap().is_empty());
    /// # });
    /// ```
    pub fn with_reset<G, GFut>(mut self, reset: G) -> Adapter<R, F>
    where
        G: Fn(Arc<R>) -> GFut + Send + Sync + 'static,
        GFut: Future<Output = Result<(), InfraError>> + Send + 'static,
    {
        self.reset = Some(Box::new(move |repo| Box::pin(reset(repo))));
        self
    }

    /// Reads the stored state of one key with `dump`, after each write, for the state
    /// check: `Ok(Some(state))` is compared with the other side's (after the rules' `state`
    /// part), `Ok(None)` means this side cannot tell (the check is skipped and counted as
    /// unchecked), an error makes the request inconclusive. Return what a key holds in one
    /// canonical form both versions share (an absent key as, say, `null`), so that the
    /// two sides compare.
    ///
    /// ```
    /// use cutover::capture::adapter::Adapter;
    /// use cutover::targets::{InfraError, Target};
    /// use serde_json::json;
    /// use std::collections::HashMap;
    /// use std::sync::Mutex;
    ///
    /// let store = Mutex::new(HashMap::from([("a".to_string(), 1u64)]));
    /// let target = Adapter::new("store", store, |_repo, _request| async {
    ///     Err(InfraError::Other("no operations".into()))
    /// })
    /// .with_dump(|repo, key: String| async move {
    ///     let balance = repo.lock().unwrap().get(&key).copied();
    ///     Ok(Some(json!({ "balance": balance })))
    /// });
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert_eq!(target.dump("a").await.unwrap(), Some(json!({ "balance": 1 })));
    /// assert_eq!(target.dump("b").await.unwrap(), Some(json!({ "balance": null })));
    /// # });
    /// ```
    pub fn with_dump<D, DFut>(mut self, dump: D) -> Adapter<R, F>
    where
        D: Fn(Arc<R>, String) -> DFut + Send + Sync + 'static,
        DFut: Future<Output = Result<Option<Value>, InfraError>> + Send + 'static,
    {
        self.dump = Some(Box::new(move |repo, key| Box::pin(dump(repo, key))));
        self
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

    /// Empties the store with the function given to [`Adapter::with_reset`]; without one,
    /// resetting does nothing.
    async fn reset(&self) -> Result<(), InfraError> {
        match &self.reset {
            Some(reset) => reset(Arc::clone(&self.repository)).await,
            None => Ok(()),
        }
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        (self.dispatch)(Arc::clone(&self.repository), request.clone()).await
    }

    /// The stored state by the function given to [`Adapter::with_dump`]; without one,
    /// `Ok(None)`: the state check is skipped and counted as unchecked.
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        match &self.dump {
            Some(dump) => dump(Arc::clone(&self.repository), key.to_string()).await,
            None => Ok(None),
        }
    }
}
