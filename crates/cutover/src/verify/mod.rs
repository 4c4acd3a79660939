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
mod fetch;
mod hashing;
mod info;
mod join;
mod judge;
mod judged;

pub use info::{KeyCounts, Path, RangePath, VerifyInfo, MAX_RANGES};
pub use judge::OP;

use crate::normalize::Rules;
use crate::replay::shard::Shard;
use crate::replay::{Pair, RequestResult, SideName, Stop};
use crate::targets::{KeyOrder, KeyRange, Target};
use fetch::Fetch;
use hashing::{Planner, Unit};
use join::Joined;
use judge::Found;
use judged::Judged;
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

/// The order both sides enumerate keys in; refused when the sides share a database, or
/// a side cannot enumerate, or the orders differ.
fn key_order(pair: &Pair) -> Result<KeyOrder, VerifyError> {
    if let Some(database) = pair.shared_database() {
        return Err(VerifyError::Refused(format!(
            "the legacy and the candidate are one database, `{database}`: it would be \
             compared with itself"
        )));
    }
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

#[cfg(test)]
mod tests;
