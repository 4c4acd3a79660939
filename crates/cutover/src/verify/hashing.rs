//! The hashing path: both stores checksum ranges of keys in place; a range whose checksums
//! agree is equal without a key leaving the store, and a range whose checksums differ is
//! split and checksummed again until it is small, then dumped and diffed key by key.
//!
//! [`Planner`] hands out the ranges of the whole key space in key order, each as a
//! [`Unit`]: proved equal by checksum, or to dump. Without the hashing path (not declared
//! on both sides, not the same form, a shard, or switched off), the one unit is the whole
//! range, dumped.

use super::Failure;
use crate::replay::{Pair, SideName};
use crate::targets::{Checksums, InfraError, KeyRange, RangeSum, Target};
use std::future::Future;
use std::time::Duration;

/// How many parts a range whose checksums differ is split into.
pub const FAN: u64 = 16;

/// A range of keys and how to compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unit {
    /// Both stores' checksums agree: `keys` keys, equal.
    Equal { range: KeyRange, keys: u64 },
    /// To enumerate on both sides, dump and diff.
    Dump(KeyRange),
}

/// Hands out the units of a key range in key order.
pub(super) struct Planner {
    pair: Pair,
    timeout: Duration,
    /// Ranges left, the next one last.
    stack: Vec<KeyRange>,
    hashing: bool,
    small: u64,
    /// Checksum queries sent to each side.
    pub checksums: u64,
}

impl Planner {
    /// The whole `range` dumped.
    pub(super) fn dumping(pair: &Pair, range: KeyRange, timeout: Duration) -> Planner {
        Planner {
            pair: pair.clone(),
            timeout,
            stack: vec![range],
            hashing: false,
            small: 0,
            checksums: 0,
        }
    }

    /// `range` by the hashing path: cut into segments of about `segment` of the legacy's
    /// keys, each checksummed on both sides; a range of at most `small` keys on each side
    /// whose checksums differ is dumped.
    pub(super) async fn hashing(
        pair: &Pair,
        range: KeyRange,
        segment: u64,
        small: u64,
        timeout: Duration,
    ) -> Result<Planner, Failure> {
        let mut planner = Planner {
            pair: pair.clone(),
            timeout,
            stack: Vec::new(),
            hashing: true,
            small: small.max(1),
            checksums: 0,
        };
        let bounds = planner
            .split(SideName::Legacy, &range, segment.max(1))
            .await?;
        planner.stack = parts(&range, bounds);
        planner.stack.reverse();
        Ok(planner)
    }

    /// From now on every range left is dumped (a spot check found the checksums blind to
    /// a difference).
    pub(super) fn stop_hashing(&mut self) {
        self.hashing = false;
    }

    /// The next unit in key order; none at the end.
    pub(super) async fn next(&mut self) -> Result<Option<Unit>, Failure> {
        while let Some(range) = self.stack.pop() {
            if !self.hashing {
                return Ok(Some(Unit::Dump(self.rest(range))));
            }
            let (l, c) = tokio::join!(
                self.checksum(SideName::Legacy, &range),
                self.checksum(SideName::Candidate, &range)
            );
            let (l, c) = (l?, c?);
            self.checksums += 1;
            if l == c {
                return Ok(Some(Unit::Equal {
                    keys: l.count,
                    range,
                }));
            }
            let (most, side) = if l.count >= c.count {
                (l.count, SideName::Legacy)
            } else {
                (c.count, SideName::Candidate)
            };
            if most <= self.small {
                return Ok(Some(Unit::Dump(range)));
            }
            let bounds = self.split(side, &range, most.div_ceil(FAN)).await?;
            let mut parts = parts(&range, bounds);
            if parts.len() < 2 {
                return Ok(Some(Unit::Dump(range)));
            }
            parts.reverse();
            self.stack.extend(parts);
        }
        Ok(None)
    }

    /// `first` and every range left after it, as one range (they are adjacent).
    fn rest(&mut self, first: KeyRange) -> KeyRange {
        let upto = match self.stack.first() {
            Some(last) => last.upto.clone(),
            None => first.upto.clone(),
        };
        self.stack.clear();
        KeyRange {
            after: first.after,
            upto,
        }
    }

    fn target(&self, side: SideName) -> &dyn Target {
        match side {
            SideName::Legacy => self.pair.legacy.as_ref(),
            SideName::Candidate => self.pair.candidate.as_ref(),
        }
    }

    fn checksums_of(&self, side: SideName) -> Result<&dyn Checksums, Failure> {
        let target = self.target(side);
        target
            .checksums()
            .ok_or_else(|| Failure::new(side, target.name(), "declares no checksums".into()))
    }

    async fn checksum(&self, side: SideName, range: &KeyRange) -> Result<RangeSum, Failure> {
        let sums = self.checksums_of(side)?;
        self.bounded(side, "checksumming", sums.checksum(range))
            .await
    }

    async fn split(
        &self,
        side: SideName,
        range: &KeyRange,
        every: u64,
    ) -> Result<Vec<String>, Failure> {
        let sums = self.checksums_of(side)?;
        self.bounded(side, "splitting a range", sums.split(range, every))
            .await
    }

    /// `work` within the timeout; a failure names the side and what it was doing.
    async fn bounded<T>(
        &self,
        side: SideName,
        doing: &str,
        work: impl Future<Output = Result<T, InfraError>>,
    ) -> Result<T, Failure> {
        let target = self.target(side);
        let failed = |e: String| Failure::new(side, target.name(), format!("{doing}: {e}"));
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(failed(e.to_string())),
            Err(_) => Err(failed(format!("timed out after {:?}", self.timeout))),
        }
    }
}

/// `range` cut at `bounds` (ascending keys inside it; the range's own end and anything
/// outside it is dropped): `(after, b1], (b1, b2], ..., (bk, upto]`.
fn parts(range: &KeyRange, bounds: Vec<String>) -> Vec<KeyRange> {
    let mut parts = Vec::with_capacity(bounds.len() + 1);
    let mut after = range.after.clone();
    for bound in bounds {
        if Some(&bound) == range.upto.as_ref() || Some(&bound) == after.as_ref() {
            continue;
        }
        parts.push(KeyRange {
            after: after.replace(bound.clone()),
            upto: Some(bound),
        });
    }
    parts.push(KeyRange {
        after,
        upto: range.upto.clone(),
    });
    parts
}

#[cfg(test)]
mod tests;
