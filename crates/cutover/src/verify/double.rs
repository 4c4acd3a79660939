//! A store for the verify's unit tests: aggregates in memory, keys and batch dumps, and
//! checksums of a declared form (optionally blind to one member, as a declaration that
//! leaves a column out of its text is), counting what it is asked.

use crate::cassette::{Outcome, Request};
use crate::targets::{Checksums, Dumped, InfraError, KeyRange, RangeSum, Target};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Aggregates by key; `blind` is a member the checksum leaves out.
#[derive(Default)]
pub(crate) struct Store {
    pub data: BTreeMap<String, Value>,
    pub hashing: bool,
    pub blind: Option<&'static str>,
    pub unreadable: Vec<String>,
    pub dead_after_dumps: Option<u64>,
    pub dumped: AtomicU64,
    pub checksummed: AtomicU64,
}

impl Store {
    pub fn of(pairs: impl IntoIterator<Item = (String, Value)>) -> Store {
        Store {
            data: pairs.into_iter().collect(),
            hashing: true,
            ..Store::default()
        }
    }

    fn in_range<'a>(
        &'a self,
        range: &'a KeyRange,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.data
            .iter()
            .filter(move |(k, _)| range.contains(crate::targets::KeyOrder::Bytes, k))
    }

    fn text(&self, value: &Value) -> String {
        let mut value = value.clone();
        if let (Some(blind), Some(map)) = (self.blind, value.as_object_mut()) {
            map.remove(blind);
        }
        value.to_string()
    }
}

/// FNV-1a, 60 bits: enough to tell the tests' aggregates apart.
fn hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h >> 4
}

#[async_trait]
impl Target for Store {
    fn name(&self) -> &str {
        "double"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        Ok(())
    }

    async fn execute(&self, _: &Request) -> Result<Outcome, InfraError> {
        Err(InfraError::Other("not for requests".into()))
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        Ok(Some(self.data.get(key).cloned().unwrap_or(Value::Null)))
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        let range = KeyRange {
            after: after.map(str::to_string),
            upto: None,
        };
        Ok(Some(
            self.in_range(&range)
                .take(limit)
                .map(|(k, _)| k.clone())
                .collect(),
        ))
    }

    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        let n = self.dumped.fetch_add(keys.len() as u64, Ordering::Relaxed);
        if self.dead_after_dumps.is_some_and(|d| n >= d) {
            return Err(InfraError::Refused("the store is gone".into()));
        }
        Ok(keys
            .iter()
            .map(|k| match self.unreadable.contains(k) {
                true => Dumped::Unreadable(format!("`{k}` is malformed")),
                false => Dumped::State(self.data.get(k).cloned().unwrap_or(Value::Null)),
            })
            .collect())
    }

    fn checksums(&self) -> Option<&dyn Checksums> {
        self.hashing.then_some(self as &dyn Checksums)
    }
}

#[async_trait]
impl Checksums for Store {
    fn form(&self) -> &str {
        "double-v1"
    }

    async fn checksum(&self, range: &KeyRange) -> Result<RangeSum, InfraError> {
        self.checksummed.fetch_add(1, Ordering::Relaxed);
        let (mut count, mut sum) = (0u64, 0u128);
        for (k, v) in self.in_range(range) {
            count += 1;
            sum += u128::from(hash(&format!("{k}\u{1}{}", self.text(v))));
        }
        Ok(RangeSum {
            count,
            sum: sum.to_string(),
        })
    }

    async fn split(&self, range: &KeyRange, every: u64) -> Result<Vec<String>, InfraError> {
        let every = usize::try_from(every.max(1)).unwrap_or(usize::MAX);
        Ok(self
            .in_range(range)
            .enumerate()
            .filter(|(i, _)| (i + 1) % every == 0)
            .map(|(_, (k, _))| k.clone())
            .collect())
    }
}
