//! Both versions behind cutover's `Target`, for the tests: one `Adapter` each, the
//! crate's errors mapped with `outcome_with` (no trait of cutover's to implement, so the
//! orphan rule does not get in the way), the store emptied with `with_reset` and each
//! account read back with `with_dump`, so that every write's stored state is compared.

use accounts::{Account, AccountError, LegacyAccounts, NewAccounts};
use cutover::{outcome_with, Adapter, ErrorKind, InfraError, Outcome, Request, Target};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;

/// The recorded accounts cassette: its requests, with the legacy's outcomes and states.
pub const CASSETTE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/accounts.jsonl");

/// The calls both versions answer, so that one dispatch serves both. Each returns a
/// `Send` future, as `Adapter` requires: declared `async fn` here, the generic dispatch
/// below would not compile ("future cannot be sent between threads safely").
pub trait Accounts: Send + Sync + 'static {
    fn open(
        &self,
        id: &str,
        owner: &str,
    ) -> impl Future<Output = Result<Account, AccountError>> + Send;
    fn deposit(
        &self,
        id: &str,
        amount: i64,
    ) -> impl Future<Output = Result<i64, AccountError>> + Send;
    fn withdraw(
        &self,
        id: &str,
        amount: i64,
    ) -> impl Future<Output = Result<i64, AccountError>> + Send;
    fn close(&self, id: &str) -> impl Future<Output = Result<Account, AccountError>> + Send;
    fn get(&self, id: &str) -> impl Future<Output = Result<Account, AccountError>> + Send;
    fn list(&self) -> impl Future<Output = Result<Vec<Account>, AccountError>> + Send;
    fn clear(&self) -> impl Future<Output = ()> + Send;
    fn stored(&self, id: &str) -> impl Future<Output = Option<Account>> + Send;
}

/// Implements [`Accounts`] by calling the type's own methods.
macro_rules! accounts {
    ($repo:ty) => {
        impl Accounts for $repo {
            async fn open(&self, id: &str, owner: &str) -> Result<Account, AccountError> {
                <$repo>::open(self, id, owner).await
            }
            async fn deposit(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
                <$repo>::deposit(self, id, amount).await
            }
            async fn withdraw(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
                <$repo>::withdraw(self, id, amount).await
            }
            async fn close(&self, id: &str) -> Result<Account, AccountError> {
                <$repo>::close(self, id).await
            }
            async fn get(&self, id: &str) -> Result<Account, AccountError> {
                <$repo>::get(self, id).await
            }
            async fn list(&self) -> Result<Vec<Account>, AccountError> {
                <$repo>::list(self).await
            }
            async fn clear(&self) {
                <$repo>::clear(self).await
            }
            async fn stored(&self, id: &str) -> Option<Account> {
                <$repo>::stored(self, id).await
            }
        }
    };
}

accounts!(LegacyAccounts);
accounts!(NewAccounts);

/// The crate's errors in the shared vocabulary; `Unavailable` is no answer at all (the
/// request is inconclusive, never compared).
pub fn kind(error: &AccountError) -> Option<ErrorKind> {
    match error {
        AccountError::NotFound(_) => Some(ErrorKind::NotFound),
        AccountError::AlreadyOpen(_) => Some(ErrorKind::Conflict),
        AccountError::InvalidAmount(_) => Some(ErrorKind::Invalid),
        AccountError::InsufficientFunds { .. } | AccountError::NotEmpty { .. } => {
            Some(ErrorKind::PreconditionFailed)
        }
        AccountError::Unavailable(_) => None,
    }
}

/// `repo` as a target named `name`: requests dispatched to its calls, reset by emptying
/// it, and the stored state of an account `{"account": ...}` (`null` when not open, so
/// that a write that left no account is compared too).
pub fn target<R: Accounts>(name: &str, repo: R) -> Arc<dyn Target> {
    let adapter = Adapter::new(name, repo, |repo, request| async move {
        dispatch(&*repo, &request).await
    })
    .with_reset(|repo| async move {
        repo.clear().await;
        Ok(())
    })
    .with_dump(|repo, id: String| async move {
        Ok(Some(json!({ "account": repo.stored(&id).await })))
    });
    Arc::new(adapter)
}

/// One request as a call of `repo`.
async fn dispatch<R: Accounts>(repo: &R, request: &Request) -> Result<Outcome, InfraError> {
    let id = request.key.as_deref().unwrap_or_default();
    let amount = request.args["amount"].as_i64().unwrap_or_default();
    match request.op.as_str() {
        "open" => {
            let owner = request.args["owner"].as_str().unwrap_or_default();
            outcome_with(&repo.open(id, owner).await, kind)
        }
        "deposit" => outcome_with(&repo.deposit(id, amount).await, kind),
        "withdraw" => outcome_with(&repo.withdraw(id, amount).await, kind),
        "close" => outcome_with(&repo.close(id).await, kind),
        "get" => outcome_with(&repo.get(id).await, kind),
        "list" => outcome_with(&repo.list().await, kind),
        other => Err(InfraError::Other(format!("unknown operation `{other}`"))),
    }
}
