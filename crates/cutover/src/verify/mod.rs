//! Stage 3c: `cutover verify` (`docs/src/verify.md`): every aggregate of both stores
//! compared, not only those a cassette touches.
//!
//! Both sides' keys are enumerated in their one [`KeyOrder`] and merge-joined
//! (`join.rs`); each key's aggregate is dumped on both sides in batches and judged with the
//! rules and diff of a replay's stored states (`judge.rs`): equal, divergent, `missing`
//! (legacy only), `extra` (candidate only), or inconclusive (unreadable on a side). Where
//! both sides declare checksums of the same form, ranges are compared by checksum first
//! and only the ranges that differ are dumped (`hashing.rs`), each equal range spot-checked
//! by one key's diff. Results go to an [`Output`]: each key that is not equal, the count
//! of those that are, and a [`Checkpoint`] after every batch, from which a run resumes
//! without judging a key twice.

#[cfg(test)]
mod double;
mod hashing;
mod info;
mod join;
mod judge;

pub use info::{KeyCounts, Path, RangePath, VerifyInfo, MAX_RANGES};
pub use judge::OP;

use crate::normalize::{RuleRun, Rules};
use crate::replay::shard::Shard;
use crate::replay::{Pair, RequestResult, SideName, Stop};
use crate::targets::{Dumped, KeyOrder, KeyRange, Target};
use hashing::{Planner, Unit};
use join::{Cursor, Join, Joined};
use judge::Found;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a verify runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Keys per dump batch.
    pub batch: usize,
    /// How long one call (a page of keys, a batch dump, a checksum) may take.
    pub timeout: Duration,
    /// The declared rules (`on = "state"`, `op = "verify"` or no `op`).
    pub rules: Option<Arc<Rules>>,
    /// Only the keys of this shard (the hashing path is not taken).
    pub shard: Option<Shard>,
    /// Take the hashing path where both sides declare checksums of one form.
    pub hashing: bool,
    /// Keys per checksummed segment of the hashing path.
    pub segment: u64,
    /// A range whose checksums differ is dumped once it holds at most this many keys.
    pub small: u64,
    /// Where an earlier run of the same verify stopped.
    pub resume: Option<Checkpoint>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            batch: 500,
            timeout: Duration::from_secs(30),
            rules: None,
            shard: None,
            hashing: true,
            segment: 10_000,
            small: 256,
            resume: None,
        }
    }
}

/// How far a verify got: every key up to and including `after` is judged and handed to
/// the [`Output`]. Written after every batch; `--resume` starts from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last key judged; none before the first.
    pub after: Option<String>,
    /// Whether every key is judged.
    pub done: bool,
    /// The position of `after` in the merged key order (1-based; 0 before the first).
    pub seq: u64,
    /// The figures so far.
    pub info: VerifyInfo,
    /// Bytes of results the output had written when it took this checkpoint (the output's
    /// own record, for truncating what was written after it).
    #[serde(default)]
    pub results_bytes: u64,
}

/// Where a verify's results go.
pub trait Output {
    /// A key that is not equal.
    fn result(&mut self, result: &RequestResult) -> std::io::Result<()>;
    /// `n` more keys equal, not listed one by one.
    fn equal(&mut self, n: u64) -> std::io::Result<()>;
    /// Everything before is judged and handed over: a point to resume from.
    fn reached(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()>;
}

/// Why a verify could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The two targets cannot be verified against each other (a side cannot enumerate its
    /// keys, the sides' key orders differ, ...).
    #[error("{0}")]
    Refused(String),
    /// A side broke the contract of `keys` or `dump` (keys out of order, a batch answer of
    /// another length).
    #[error("the {side} ({target}) {what}")]
    Contract {
        /// The side.
        side: SideName,
        /// Its target.
        target: String,
        /// What it did.
        what: String,
    },
    /// The output could not be written.
    #[error("writing results: {0}")]
    Output(#[from] std::io::Error),
}

/// What a finished (or stopped) verify tells besides its results.
#[derive(Debug, Clone)]
pub struct VerifyRun {
    /// The figures.
    pub info: VerifyInfo,
    /// Wall time of this run (not counting an earlier run it resumed).
    pub elapsed: Duration,
    /// How often each rule fired.
    pub rules: Vec<crate::normalize::RuleUsage>,
    /// The side that stopped answering, if one did; the run is then inconclusive and
    /// `--resume` goes on from the last checkpoint.
    pub stopped: Option<Stop>,
}

/// A side that failed: its name, its target and what failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    side: SideName,
    target: String,
    error: String,
    contract: bool,
}

impl Failure {
    fn new(side: SideName, target: &str, error: String) -> Failure {
        Failure {
            side,
            target: target.to_string(),
            error,
            contract: false,
        }
    }
}

/// Verifies every key of `pair`'s two stores (or the shard's, or what is left after
/// `options.resume`), handing results to `out`.
pub async fn verify(
    pair: &Pair,
    options: &VerifyOptions,
    out: &mut dyn Output,
) -> Result<VerifyRun, VerifyError> {
    let order = key_order(pair)?;
    let start = Instant::now();
    let resume = options.resume.clone().unwrap_or_default();
    let mut info = resume.info.clone();
    info.batch = options.batch;
    info.key_order = order.name().to_string();
    info.resumed_after = resume.after.clone();
    info.stopped_after = None;
    let rules = options.rules.as_ref().map(|r| r.run());
    let mut run = Run {
        fetch: Fetch {
            pair: pair.clone(),
            options: options.clone(),
            order,
            seq: resume.seq,
        },
        judge: Judged {
            rules,
            out,
            info,
            at: resume.clone(),
        },
    };
    let stopped = if resume.done {
        None
    } else {
        let range = KeyRange {
            after: resume.after.clone(),
            upto: None,
        };
        match run.all(range).await {
            Ok(()) => None,
            Err(Stopped::Failed(f)) if f.contract => {
                return Err(VerifyError::Contract {
                    side: f.side,
                    target: f.target,
                    what: f.error,
                })
            }
            Err(Stopped::Failed(f)) => Some(stop(f, &run.judge.at)),
            Err(Stopped::Output(e)) => return Err(VerifyError::Output(e)),
        }
    };
    let mut info = run.judge.info;
    if stopped.is_some() {
        info.stopped_after = run.judge.at.after.clone();
    }
    Ok(VerifyRun {
        info,
        elapsed: start.elapsed(),
        rules: run.judge.rules.map(|r| r.usage()).unwrap_or_default(),
        stopped,
    })
}

/// The order both sides enumerate keys in; refused when a side cannot enumerate or the
/// orders differ.
fn key_order(pair: &Pair) -> Result<KeyOrder, VerifyError> {
    let (l, c) = (pair.legacy.key_order(), pair.candidate.key_order());
    if l != c {
        return Err(VerifyError::Refused(format!(
            "the legacy ({}) enumerates keys in `{}` order and the candidate ({}) in `{}`: \
             declare one order on both sides",
            pair.legacy.name(),
            l.name(),
            pair.candidate.name(),
            c.name()
        )));
    }
    Ok(l)
}

fn stop(failure: Failure, at: &Checkpoint) -> Stop {
    Stop {
        side: failure.side,
        target: failure.target,
        failures: 1,
        first_seq: at.seq + 1,
        first_error: failure.error,
        not_sent: 0,
    }
}

/// Why the loop ended early.
enum Stopped {
    Failed(Failure),
    Output(std::io::Error),
}

impl From<Failure> for Stopped {
    fn from(f: Failure) -> Stopped {
        Stopped::Failed(f)
    }
}

impl From<std::io::Error> for Stopped {
    fn from(e: std::io::Error) -> Stopped {
        Stopped::Output(e)
    }
}

/// One verify's state: what reads the stores, and what judges and hands over.
struct Run<'o> {
    fetch: Fetch,
    judge: Judged<'o>,
}

impl Run<'_> {
    /// Every unit of `range`, in key order.
    async fn all(&mut self, range: KeyRange) -> Result<(), Stopped> {
        let mut planner = self.planner(range).await?;
        while let Some(unit) = planner.next().await? {
            match unit {
                Unit::Equal { range, keys } => {
                    if self.spot_check(&range).await? {
                        self.judge.hashed(range, keys, &mut self.fetch)?;
                    } else {
                        planner.stop_hashing();
                        self.judge.info.hashing_off = Some(format!(
                            "a key of {} diverged though both stores' checksums agreed: the \
                             declared checksum form does not cover what the dump compares",
                            range.describe()
                        ));
                        self.dump(range).await?;
                    }
                }
                Unit::Dump(range) => self.dump(range).await?,
            }
        }
        self.judge.info.checksums += planner.checksums;
        self.judge.finish()?;
        Ok(())
    }

    /// The planner of `range`: the hashing path where it is declared safe, else a dump.
    async fn planner(&mut self, range: KeyRange) -> Result<Planner, Failure> {
        let options = &self.fetch.options;
        match hashing_off(&self.fetch.pair, options) {
            Some(why) => {
                self.judge.info.hashing_off = Some(why);
                Ok(Planner::dumping(&self.fetch.pair, range, options.timeout))
            }
            None => {
                self.judge.info.checksum_form = self
                    .fetch
                    .pair
                    .legacy
                    .checksums()
                    .map(|c| c.form().to_string());
                Planner::hashing(
                    &self.fetch.pair,
                    range,
                    options.segment,
                    options.small,
                    options.timeout,
                )
                .await
            }
        }
    }

    /// Whether the first key of a range both checksums call equal is equal by diff too.
    async fn spot_check(&mut self, range: &KeyRange) -> Result<bool, Failure> {
        let legacy = self.fetch.pair.legacy.clone();
        let first = self
            .fetch
            .bounded(
                SideName::Legacy,
                "listing keys",
                legacy.keys(range.after.as_deref(), 1),
            )
            .await?
            .unwrap_or_default();
        let Some(key) = first.into_iter().next() else {
            return Ok(true);
        };
        if !range.contains(self.fetch.order, &key) {
            return Ok(true);
        }
        let joined = Joined {
            key,
            legacy: true,
            candidate: true,
        };
        let batch = self.fetch.dumps(vec![(0, joined)]).await?;
        let (_, found) = self.judge.one(&batch[0]);
        Ok(found == Found::Equal)
    }

    /// `range` enumerated on both sides, dumped and judged batch by batch; the next batch is
    /// read while the last one is judged.
    async fn dump(&mut self, range: KeyRange) -> Result<(), Stopped> {
        let mut join = self.fetch.join(&range);
        let mut pending = self.fetch.batch(&mut join).await?;
        let mut keys = 0;
        while let Some(batch) = pending {
            keys += batch.scanned;
            let (next, judged) = tokio::join!(self.fetch.batch(&mut join), self.judge.batch(batch));
            judged?;
            pending = next?;
        }
        if range.upto.is_some() {
            self.judge.at.after = range.upto.clone();
        }
        self.judge.info.took(range, Path::Dump, keys);
        Ok(())
    }
}

/// Why the hashing path is not taken, if it is not.
fn hashing_off(pair: &Pair, options: &VerifyOptions) -> Option<String> {
    if !options.hashing {
        return Some("switched off (--no-hashing)".into());
    }
    if options.shard.is_some() {
        return Some("not with --shard: every shard dumps its own keys".into());
    }
    let form = |t: &Arc<dyn Target>| t.checksums().map(|c| c.form().to_string());
    match (form(&pair.legacy), form(&pair.candidate)) {
        (Some(l), Some(c)) if l == c => None,
        (Some(l), Some(c)) => Some(format!(
            "the legacy's checksum form `{l}` is not the candidate's `{c}`"
        )),
        (None, _) => Some(format!(
            "the legacy ({}) declares no checksums",
            pair.legacy.name()
        )),
        (_, None) => Some(format!(
            "the candidate ({}) declares no checksums",
            pair.candidate.name()
        )),
    }
}

/// A key of a batch with what each side's dump read of it (`None`: not on that side).
struct Item {
    seq: u64,
    key: String,
    legacy: Option<Dumped>,
    candidate: Option<Dumped>,
}

/// A batch of keys read from both stores.
struct Batch {
    items: Vec<Item>,
    /// Keys of the merged order the batch went through (a shard's others included).
    scanned: u64,
    /// The last of them, and its position.
    last: String,
    last_seq: u64,
}

/// What reads the stores.
struct Fetch {
    pair: Pair,
    options: VerifyOptions,
    order: KeyOrder,
    /// The position of the last key read, in the merged order.
    seq: u64,
}

impl Fetch {
    fn join(&self, range: &KeyRange) -> Join {
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
    async fn batch(&mut self, join: &mut Join) -> Result<Option<Batch>, Failure> {
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
    async fn dumps(&self, keys: Vec<(u64, Joined)>) -> Result<Vec<Item>, Failure> {
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
    async fn bounded<T>(
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

/// What judges keys and hands them to the output.
struct Judged<'o> {
    rules: Option<RuleRun>,
    out: &'o mut dyn Output,
    info: VerifyInfo,
    /// The last checkpoint.
    at: Checkpoint,
}

impl Judged<'_> {
    /// One key judged, not yet counted.
    fn one(&self, item: &Item) -> (RequestResult, Found) {
        judge::judge(
            self.rules.as_ref(),
            item.seq,
            &item.key,
            item.legacy.clone(),
            item.candidate.clone(),
        )
    }

    /// A batch judged, counted, handed over and checkpointed.
    async fn batch(&mut self, batch: Batch) -> std::io::Result<()> {
        let mut equal = 0;
        for item in &batch.items {
            let (result, found) = self.one(item);
            let keys = &mut self.info.keys;
            keys.legacy += u64::from(item.legacy.is_some());
            keys.candidate += u64::from(item.candidate.is_some());
            match found {
                Found::Equal => equal += 1,
                Found::Divergent => keys.divergent += 1,
                Found::Missing => keys.missing += 1,
                Found::Extra => keys.extra += 1,
                Found::Inconclusive => keys.inconclusive += 1,
            }
            if found != Found::Equal {
                self.out.result(&result)?;
            }
        }
        self.info.keys.equal += equal;
        if equal > 0 {
            self.out.equal(equal)?;
        }
        self.reached(Some(batch.last), batch.last_seq, false)
    }

    /// A range both checksums call equal: `keys` keys on each side, equal.
    fn hashed(&mut self, range: KeyRange, keys: u64, fetch: &mut Fetch) -> std::io::Result<()> {
        let counts = &mut self.info.keys;
        counts.legacy += keys;
        counts.candidate += keys;
        counts.equal += keys;
        fetch.seq += keys;
        if keys > 0 {
            self.out.equal(keys)?;
        }
        let after = range.upto.clone().or_else(|| self.at.after.clone());
        self.info.took(range, Path::Hash, keys);
        self.reached(after, fetch.seq, false)
    }

    /// Every key judged.
    fn finish(&mut self) -> std::io::Result<()> {
        let after = self.at.after.clone();
        self.reached(after, self.at.seq, true)
    }

    fn reached(&mut self, after: Option<String>, seq: u64, done: bool) -> std::io::Result<()> {
        self.at = Checkpoint {
            after,
            done,
            seq,
            info: self.info.clone(),
            results_bytes: 0,
        };
        self.out.reached(&self.at)
    }
}

#[cfg(test)]
mod tests;
