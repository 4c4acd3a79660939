//! The new version: owners in an ordered map, balances as a ledger of signed entries (a
//! deposit adds one, a withdrawal adds a negative one), behind an async lock.

use crate::{positive, Account, AccountError};
use std::collections::BTreeMap;
use tokio::sync::RwLock;

/// One movement of money.
#[derive(Debug, Clone)]
struct Entry {
    account: String,
    cents: i64,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Open accounts' owners, by id.
    owners: BTreeMap<String, String>,
    /// Every movement of the open accounts, oldest first.
    entries: Vec<Entry>,
}

impl Ledger {
    fn balance(&self, id: &str) -> i64 {
        self.entries
            .iter()
            .filter(|e| e.account == id)
            .map(|e| e.cents)
            .sum()
    }

    fn account(&self, id: &str) -> Result<Account, AccountError> {
        let owner = self
            .owners
            .get(id)
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        Ok(Account {
            id: id.to_string(),
            owner: owner.clone(),
            balance: self.balance(id),
        })
    }
}

/// The new accounts repository.
#[derive(Debug, Default)]
pub struct NewAccounts {
    ledger: RwLock<Ledger>,
    /// The planted defect: withdrawals skip the balance check.
    overdraft: bool,
}

impl NewAccounts {
    /// An empty repository.
    pub fn new() -> NewAccounts {
        NewAccounts::default()
    }

    /// An empty repository with a planted defect: a withdrawal larger than the balance is
    /// accepted (the balance goes below zero) instead of refused.
    pub fn with_planted_defect() -> NewAccounts {
        NewAccounts {
            overdraft: true,
            ..NewAccounts::default()
        }
    }

    /// Opens account `id` for `owner` with a zero balance.
    pub async fn open(&self, id: &str, owner: &str) -> Result<Account, AccountError> {
        let mut ledger = self.ledger.write().await;
        if ledger.owners.contains_key(id) {
            return Err(AccountError::AlreadyOpen(id.to_string()));
        }
        ledger.owners.insert(id.to_string(), owner.to_string());
        ledger.account(id)
    }

    /// Adds `amount` to the balance; answers the new balance.
    pub async fn deposit(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
        let amount = positive(amount)?;
        let mut ledger = self.ledger.write().await;
        ledger.account(id)?;
        ledger.entries.push(Entry {
            account: id.to_string(),
            cents: amount,
        });
        Ok(ledger.balance(id))
    }

    /// Takes `amount` from the balance, never below zero; answers the new balance.
    pub async fn withdraw(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
        let amount = positive(amount)?;
        let mut ledger = self.ledger.write().await;
        let balance = ledger.account(id)?.balance;
        if balance < amount && !self.overdraft {
            return Err(AccountError::InsufficientFunds {
                id: id.to_string(),
                balance,
                requested: amount,
            });
        }
        ledger.entries.push(Entry {
            account: id.to_string(),
            cents: -amount,
        });
        Ok(ledger.balance(id))
    }

    /// Closes an account whose balance is zero; answers the account as it was.
    pub async fn close(&self, id: &str) -> Result<Account, AccountError> {
        let mut ledger = self.ledger.write().await;
        let account = ledger.account(id)?;
        if account.balance != 0 {
            return Err(AccountError::NotEmpty {
                id: id.to_string(),
                balance: account.balance,
            });
        }
        ledger.owners.remove(id);
        ledger.entries.retain(|e| e.account != id);
        Ok(account)
    }

    /// The open account `id`.
    pub async fn get(&self, id: &str) -> Result<Account, AccountError> {
        self.ledger.read().await.account(id)
    }

    /// Every open account, ordered by id.
    pub async fn list(&self) -> Result<Vec<Account>, AccountError> {
        let ledger = self.ledger.read().await;
        ledger.owners.keys().map(|id| ledger.account(id)).collect()
    }

    /// Empties the repository.
    pub async fn clear(&self) {
        *self.ledger.write().await = Ledger::default();
    }

    /// What is stored for `id`: the open account, or `None`.
    pub async fn stored(&self, id: &str) -> Option<Account> {
        self.ledger.read().await.account(id).ok()
    }
}
