//! A small accounts repository in two versions, the kind of code a team migrates: the
//! legacy [`LegacyAccounts`] keeps each account as a record in a map; the new
//! [`NewAccounts`] keeps owners apart and balances as a ledger of signed entries. Both
//! answer the same calls with the same results and errors, which the crate's tests check
//! with cutover (`tests/`), without a trait in common.
//!
//! * Calls: [`open`](LegacyAccounts::open), [`deposit`](LegacyAccounts::deposit),
//!   [`withdraw`](LegacyAccounts::withdraw), [`close`](LegacyAccounts::close) (writes);
//!   [`get`](LegacyAccounts::get), [`list`](LegacyAccounts::list) (reads, `list` ordered
//!   by id).
//! * Errors: [`AccountError`].
//! * For tests: `clear` empties a store, `stored` tells what one account holds.
//!
//! [`NewAccounts::with_planted_defect`] is the new version with a bug planted (withdrawals
//! skip the balance check), which the tests must catch.

mod legacy;
mod new;

pub use legacy::LegacyAccounts;
pub use new::NewAccounts;

use serde::{Deserialize, Serialize};
use std::fmt;

/// An account as both versions answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account's id, chosen by the caller.
    pub id: String,
    /// Who holds it.
    pub owner: String,
    /// The balance in cents; never below zero.
    pub balance: i64,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    /// No open account has this id.
    NotFound(String),
    /// An account with this id is already open.
    AlreadyOpen(String),
    /// An amount must be above zero.
    InvalidAmount(i64),
    /// A withdrawal larger than the balance.
    InsufficientFunds {
        /// The account.
        id: String,
        /// Its balance.
        balance: i64,
        /// The amount asked for.
        requested: i64,
    },
    /// Only an account with a zero balance can be closed.
    NotEmpty {
        /// The account.
        id: String,
        /// Its balance.
        balance: i64,
    },
    /// The store could not be reached: no answer about the account at all.
    Unavailable(String),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::NotFound(id) => write!(f, "no open account {id}"),
            AccountError::AlreadyOpen(id) => write!(f, "account {id} is already open"),
            AccountError::InvalidAmount(amount) => {
                write!(f, "amount {amount} is not above zero")
            }
            AccountError::InsufficientFunds {
                id,
                balance,
                requested,
            } => write!(
                f,
                "account {id} holds {balance}, cannot withdraw {requested}"
            ),
            AccountError::NotEmpty { id, balance } => {
                write!(f, "account {id} still holds {balance}")
            }
            AccountError::Unavailable(why) => write!(f, "store unavailable: {why}"),
        }
    }
}

impl std::error::Error for AccountError {}

/// An amount must be above zero.
fn positive(amount: i64) -> Result<i64, AccountError> {
    if amount > 0 {
        Ok(amount)
    } else {
        Err(AccountError::InvalidAmount(amount))
    }
}
