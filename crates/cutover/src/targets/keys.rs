//! What `cutover verify` asks of a target beyond requests: its keys in order, several
//! aggregates dumped at once, and, where a store can compute them, checksums of key ranges
//! (`docs/src/verify.md`).
//!
//! * [`KeyOrder`]: the one order both sides enumerate keys in, checked on every page.
//! * [`Dumped`]: one key's aggregate read by a batch dump, or why it could not be read.
//! * [`Checksums`]: a store's checksums of key ranges and the keys that split a range, for
//!   the hashing fast path; only two targets whose checksums have the same declared `form`
//!   are compared by them.

use super::{InfraError, Target};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// The order a target enumerates its keys in. Both sides of a verify must use the same one:
/// the merge join compares their keys with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrder {
    /// By the keys' UTF-8 bytes (PostgreSQL's `COLLATE "C"`, MariaDB's `_bin` collations,
    /// MongoDB's order of strings).
    #[default]
    Bytes,
    /// Keys are decimal integers (`-12`, `7`), ordered by value (an integer primary key's
    /// `ORDER BY id`); a key that is not one is an error.
    Integer,
}

impl KeyOrder {
    /// The order's name, as declared (`bytes`, `integer`).
    pub fn name(self) -> &'static str {
        match self {
            KeyOrder::Bytes => "bytes",
            KeyOrder::Integer => "integer",
        }
    }

    /// Reads a declared order.
    pub fn parse(text: &str) -> Option<KeyOrder> {
        match text {
            "bytes" => Some(KeyOrder::Bytes),
            "integer" => Some(KeyOrder::Integer),
            _ => None,
        }
    }

    /// Whether `key` can be ordered by this order: why not, if it cannot.
    pub fn check(self, key: &str) -> Result<(), String> {
        match self {
            KeyOrder::Bytes => Ok(()),
            KeyOrder::Integer => integer(key)
                .map(|_| ())
                .ok_or_else(|| format!("key `{key}` is not a decimal integer (order `integer`)")),
        }
    }

    /// Compares two keys, each already [`checked`](KeyOrder::check).
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            KeyOrder::Bytes => a.as_bytes().cmp(b.as_bytes()),
            KeyOrder::Integer => match (integer(a), integer(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => a.as_bytes().cmp(b.as_bytes()),
            },
        }
    }
}

/// A canonical decimal integer (no sign but `-`, no leading zero, no `-0`), as i128.
fn integer(key: &str) -> Option<i128> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && key != "-0";
    canonical.then(|| key.parse().ok()).flatten()
}

/// One key's aggregate as a batch dump read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Dumped {
    /// The canonical stored state; `null` when nothing is stored under the key.
    State(Value),
    /// The aggregate is there but could not be read (a malformed document, a value the
    /// value model refuses): the key is inconclusive with this reason, never equal.
    Unreadable(String),
}

/// `keys` dumped one at a time through [`Target::dump`]: what [`Target::dump_batch`] does
/// unless a target reads several at once. A key the target cannot tell, or an
/// [`InfraError::Other`] for that key alone, is [`Dumped::Unreadable`]; a store that cannot
/// be reached (any other [`InfraError`]) fails the batch.
pub async fn dump_each<T: Target + ?Sized>(
    target: &T,
    keys: &[String],
) -> Result<Vec<Dumped>, InfraError> {
    let mut dumped = Vec::with_capacity(keys.len());
    for key in keys {
        dumped.push(match target.dump(key).await {
            Ok(Some(state)) => Dumped::State(state),
            Ok(None) => Dumped::Unreadable(format!("{} cannot tell its state", target.name())),
            Err(InfraError::Other(why)) => Dumped::Unreadable(why),
            Err(e) => return Err(e),
        });
    }
    Ok(dumped)
}

/// The keys `k` with `after < k <= upto` in a [`KeyOrder`]; an absent bound is open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRange {
    /// The exclusive lower bound; none: from the first key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The inclusive upper bound; none: to the last key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upto: Option<String>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> KeyRange {
        KeyRange::default()
    }

    /// Whether `key` is in the range, by `order`.
    pub fn contains(&self, order: KeyOrder, key: &str) -> bool {
        self.after
            .as_deref()
            .is_none_or(|a| order.compare(key, a) == Ordering::Greater)
            && self
                .upto
                .as_deref()
                .is_none_or(|u| order.compare(key, u) != Ordering::Greater)
    }

    /// The range as text for reports: `(a, b]`, `(-∞, b]`, ...
    pub fn describe(&self) -> String {
        format!(
            "({}, {}]",
            self.after.as_deref().unwrap_or("-∞"),
            self.upto.as_deref().unwrap_or("+∞")
        )
    }
}

/// What a store computed over a key range: how many aggregates, and the sum of their rows'
/// hashes as an exact decimal (its text, so that no float or width decides equality).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSum {
    /// Aggregates in the range.
    pub count: u64,
    /// The sum of their hashes, in decimal; `0` for an empty range.
    pub sum: String,
}

/// Checksums of key ranges computed inside a store (`docs/src/verify.md`, the hashing path).
///
/// Two targets' checksums are compared only when both have the same [`form`]: the
/// declaration's promise that both stores make each aggregate's text identically, so equal
/// sums mean equal aggregates (up to a hash collision) and a difference is bisected down
/// to the keys and then dumped and diffed like any other.
///
/// [`form`]: Checksums::form
#[async_trait]
pub trait Checksums: Send + Sync {
    /// The declared name of what the checksum covers and how the text is made.
    fn form(&self) -> &str;

    /// The count and hash sum of the aggregates in `range`.
    async fn checksum(&self, range: &KeyRange) -> Result<RangeSum, InfraError>;

    /// The keys in `range` at every `every`-th position (the `every`-th, the `2·every`-th,
    /// ...), ascending: bounds that split the range into parts of `every` keys.
    async fn split(&self, range: &KeyRange, every: u64) -> Result<Vec<String>, InfraError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_order_is_by_value_and_refuses_what_is_not_an_integer() {
        let order = KeyOrder::Integer;
        assert_eq!(order.compare("9", "10"), Ordering::Less);
        assert_eq!(order.compare("-10", "-9"), Ordering::Less);
        assert_eq!(
            order.compare("99999999999999999999", "100000000000000000000"),
            Ordering::Less
        );
        for bad in ["007", "-0", "", "1e3", "+1", " 1", "x"] {
            assert!(order.check(bad).is_err(), "{bad:?} accepted");
        }
        assert!(order.check("0").is_ok());
        assert_eq!(KeyOrder::Bytes.compare("9", "10"), Ordering::Greater);
        assert_eq!(KeyOrder::Bytes.compare("Z", "a"), Ordering::Less);
    }

    #[test]
    fn a_range_is_open_below_and_closed_above() {
        let range = KeyRange {
            after: Some("b".into()),
            upto: Some("d".into()),
        };
        let order = KeyOrder::Bytes;
        assert!(!range.contains(order, "b"));
        assert!(range.contains(order, "c"));
        assert!(range.contains(order, "d"));
        assert!(!range.contains(order, "da"));
        assert!(KeyRange::all().contains(order, ""));
        assert_eq!(range.describe(), "(b, d]");
    }
}
