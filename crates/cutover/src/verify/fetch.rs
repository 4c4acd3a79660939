//! What reads the stores: a batch of the shard's keys from the merge join, dumped on the
//! sides that hold them, every call within the timeout.

use super::join::{Cursor, Join, Joined};
use super::{Failure, VerifyOptions};
use crate::replay::shard::Shard;
use crate::replay::{Pair, SideName};
use crate::targets::{Dumped, KeyOrder, KeyRange, Target};
use std::sync::Arc;

/// A key of a batch with what each side's dump read of it (`None`: not on that side).
pub(super) struct Item {
    pub(super) seq: u64,
    pub(super) key: String,
    pub(super) legacy: Option<Dumped>,
    pub(super) candidate: Option<Dumped>,
}

/// A batch of keys read from both stores.
pub(super) struct Batch {
    pub(super) items: Vec<Item>,
    /// Keys of the merged order the batch went through (a shard's others included).
    pub(super) scanned: u64,
    /// The last of them, and its position.
    pub(super) last: String,
    pub(super) last_seq: u64,
}

/// What reads the stores.
pub(super) struct Fetch {
    pub(super) pair: Pair,
    pub(super) options: VerifyOptions,
    pub(super) order: KeyOrder,
    /// The position of the last key read, in the merged order.
    pub(super) seq: u64,
}

impl Fetch {
    pub(super) fn join(&self, range: &KeyRange) -> Join {
        // Pages much larger than a batch: a store that scans to find a page's start (a
        // MongoDB-wire server without a range on its index) pays that once per page.
        let page = self.options.batch.saturating_mul(20).clamp(1, 100_000);
        let cursor = |target: &Arc<dyn Target>, side| {
            Cursor::new(
                target.clone(),
                side,
                self.order,
                range,
                page,
                self.options.timeout,
            )
        };
        Join {
            legacy: cursor(&self.pair.legacy, SideName::Legacy),
            candidate: cursor(&self.pair.candidate, SideName::Candidate),
            order: self.order,
        }
    }

    /// The next batch of the shard's keys from `join`, dumped on the sides that hold them;
    /// none at the end.
    pub(super) async fn batch(&mut self, join: &mut Join) -> Result<Option<Batch>, Failure> {
        let mut owned = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        while owned.len() < self.options.batch.max(1) {
            let Some(joined) = join.next().await? else {
                break;
            };
            self.seq += 1;
            scanned += 1;
            last = Some(joined.key.clone());
            let ours = self
                .options
                .shard
                .is_none_or(|s| Shard::of_key(&joined.key, s.count) == s.index);
            if ours {
                owned.push((self.seq, joined));
            }
        }
        let Some(last) = last else {
            return Ok(None);
        };
        Ok(Some(Batch {
            items: self.dumps(owned).await?,
            scanned,
            last,
            last_seq: self.seq,
        }))
    }

    /// Each key's aggregate on the sides that hold it, both sides at once.
    pub(super) async fn dumps(&self, keys: Vec<(u64, Joined)>) -> Result<Vec<Item>, Failure> {
        let on = |f: fn(&Joined) -> bool| -> Vec<String> {
            keys.iter()
                .filter(|(_, j)| f(j))
                .map(|(_, j)| j.key.clone())
                .collect()
        };
        let (l_keys, c_keys) = (on(|j| j.legacy), on(|j| j.candidate));
        let (l, c) = tokio::join!(
            self.dump_side(SideName::Legacy, &l_keys),
            self.dump_side(SideName::Candidate, &c_keys)
        );
        let (mut l, mut c) = (l?.into_iter(), c?.into_iter());
        Ok(keys
            .into_iter()
            .map(|(seq, j)| Item {
                seq,
                legacy: if j.legacy { l.next() } else { None },
                candidate: if j.candidate { c.next() } else { None },
                key: j.key,
            })
            .collect())
    }

    async fn dump_side(&self, side: SideName, keys: &[String]) -> Result<Vec<Dumped>, Failure> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let target = self.target(side).clone();
        let dumped = self
            .bounded(side, "dumping", target.dump_batch(keys))
            .await?;
        if dumped.len() != keys.len() {
            return Err(Failure {
                contract: true,
                ..Failure::new(
                    side,
                    target.name(),
                    format!(
                        "answered a dump of {} keys with {} aggregates",
                        keys.len(),
                        dumped.len()
                    ),
                )
            });
        }
        Ok(dumped)
    }

    fn target(&self, side: SideName) -> &Arc<dyn Target> {
        match side {
            SideName::Legacy => &self.pair.legacy,
            SideName::Candidate => &self.pair.candidate,
        }
    }

    /// `work` within the timeout; a failure names the side and what it was doing.
    pub(super) async fn bounded<T>(
        &self,
        side: SideName,
        doing: &str,
        work: impl std::future::Future<Output = Result<T, crate::targets::InfraError>>,
    ) -> Result<T, Failure> {
        let name = self.target(side).name().to_string();
        match tokio::time::timeout(self.options.timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Failure::new(side, &name, format!("{doing}: {e}"))),
            Err(_) => Err(Failure::new(
                side,
                &name,
                format!("{doing}: timed out after {:?}", self.options.timeout),
            )),
        }
    }
}
