//! The legacy version: one record per account in a map behind a mutex.

use crate::{positive, Account, AccountError};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The legacy accounts repository.
#[derive(Debug, Default)]
pub struct LegacyAccounts {
    accounts: Mutex<HashMap<String, Account>>,
}

impl LegacyAccounts {
    /// An empty repository.
    pub fn new() -> LegacyAccounts {
        LegacyAccounts::default()
    }

    fn accounts(&self) -> MutexGuard<'_, HashMap<String, Account>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens account `id` for `owner` with a zero balance.
    pub async fn open(&self, id: &str, owner: &str) -> Result<Account, AccountError> {
        let mut accounts = self.accounts();
        if accounts.contains_key(id) {
            return Err(AccountError::AlreadyOpen(id.to_string()));
        }
        let account = Account {
            id: id.to_string(),
            owner: owner.to_string(),
            balance: 0,
        };
        accounts.insert(id.to_string(), account.clone());
        Ok(account)
    }

    /// Adds `amount` to the balance; answers the new balance.
    pub async fn deposit(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
        let amount = positive(amount)?;
        let mut accounts = self.accounts();
        let account = accounts
            .get_mut(id)
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        account.balance += amount;
        Ok(account.balance)
    }

    /// Takes `amount` from the balance, never below zero; answers the new balance.
    pub async fn withdraw(&self, id: &str, amount: i64) -> Result<i64, AccountError> {
        let amount = positive(amount)?;
        let mut accounts = self.accounts();
        let account = accounts
            .get_mut(id)
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        if account.balance < amount {
            return Err(AccountError::InsufficientFunds {
                id: id.to_string(),
                balance: account.balance,
                requested: amount,
            });
        }
        account.balance -= amount;
        Ok(account.balance)
    }

    /// Closes an account whose balance is zero; answers the account as it was.
    pub async fn close(&self, id: &str) -> Result<Account, AccountError> {
        let mut accounts = self.accounts();
        match accounts.get(id) {
            None => Err(AccountError::NotFound(id.to_string())),
            Some(a) if a.balance != 0 => Err(AccountError::NotEmpty {
                id: id.to_string(),
                balance: a.balance,
            }),
            Some(_) => Ok(accounts.remove(id).expect("present")),
        }
    }

    /// The open account `id`.
    pub async fn get(&self, id: &str) -> Result<Account, AccountError> {
        self.accounts()
            .get(id)
            .cloned()
            .ok_or_else(|| AccountError::NotFound(id.to_string()))
    }

    /// Every open account, ordered by id.
    pub async fn list(&self) -> Result<Vec<Account>, AccountError> {
        let mut all: Vec<Account> = self.accounts().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// Empties the repository.
    pub async fn clear(&self) {
        self.accounts().clear();
    }

    /// What is stored for `id`: the open account, or `None`.
    pub async fn stored(&self, id: &str) -> Option<Account> {
        self.accounts().get(id).cloned()
    }
}
