//! Stage 3: replay a cassette against two targets side by side.
//!
//! * Both sides of one request run at the same time, so a request costs the slower side.
//! * Requests with the same key run in cassette order; different keys run concurrently, up
//!   to [`ReplayOptions::concurrency`] requests at once.
//! * A request without a key is a barrier: it waits for everything before it, and
//!   everything after it waits for it.
//! * After every write, the key's stored state is read back from both sides and compared.
//! * With a settle window ([`ReplayOptions::settle`], [`Target::settle`]), a candidate read
//!   or state read-back that differs is asked again until it agrees or the window ends
//!   (`settle.rs`, `docs/src/settle.md`); without one, every answer is compared as it comes.
//! * Infrastructure failures make a request inconclusive; they never abort the replay.
//!   But a side that fails [`ReplayOptions::max_infra_failures`] times in a row is taken
//!   for dead: nothing more is sent, and every request not yet compared is emitted
//!   inconclusive, naming the [`Stop`] (see [`ReplayRun::stopped`]).
//!
//! The cassette is read on its own thread and never held whole: at most
//! [`ReplayOptions::window`] requests are in memory between reading and emitting, plus a
//! read-ahead of 16 parsed requests. Results reach the [`Sink`]s in cassette order.
//!
//! [`Target::settle`]: crate::targets::Target::settle

pub mod causes;
mod compare;
mod events;
mod jobs;
mod record;
mod result;
mod schedule;
mod settle;
pub mod shard;
mod sides;

pub use record::{record, record_each, record_one};
pub use result::{Collect, JsonlSink, RequestResult, Side, Sink, StateCheck, Status};
pub(crate) use sides::outcomes as diff_outcomes;
pub use sides::Pair;

use crate::cassette::{CassetteError, Reader, Truncation};
use crate::targets::InfraError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, Instant};

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Requests in flight at once (each on both sides).
    pub concurrency: usize,
    /// How long one side may take for one call before the request is inconclusive.
    pub timeout: Duration,
    /// Read back and compare the stored state after every write.
    pub check_state: bool,
    /// Reset both targets before the first request.
    pub reset: bool,
    /// Requests read but not yet emitted, at most (bounds memory).
    pub window: usize,
    /// Keep both outcomes in every result, not only in those that are not equal.
    pub keep_outcomes: bool,
    /// Normalization rules applied to both sides before every comparison.
    pub rules: Option<std::sync::Arc<crate::normalize::Rules>>,
    /// What differs between two runs of the legacy itself: `value` differences there are
    /// noise, counted apart and never divergences (see [`crate::normalize::Noise`]).
    pub noise: Option<std::sync::Arc<crate::normalize::Noise>>,
    /// Replay only this shard's keys (see [`shard`]).
    pub shard: Option<shard::Shard>,
    /// Infrastructure failures of one side in a row (a failed `execute` or `dump`,
    /// timeouts included; a call that side answers resets the count) after which that side
    /// is taken for dead and the run stops sending requests (see [`Stop`]); 0: never stop.
    pub max_infra_failures: usize,
    /// How long the candidate's stored data may take to reflect a write (a store fed by a
    /// sync): a candidate read, or state read back after a write, that differs from the
    /// legacy's is asked again (only on the candidate) until it agrees or this window ends
    /// (`docs/src/settle.md`). The candidate's own [`Target::settle`] wins where it gives one.
    /// None (the default): every answer is compared as it comes, with no retry.
    ///
    /// [`Target::settle`]: crate::targets::Target::settle
    pub settle: Option<Duration>,
    /// The identity member of each list operation's answer, by operation (a declaration's
    /// `list.key`, [`crate::declaration::Declaration::list_keys`]): the two answers'
    /// elements are paired by it before any other alignment, as by a rules file's
    /// `identity` at `$`.
    pub list_keys: std::collections::BTreeMap<String, String>,
    /// The declared order of each list operation's answer, by operation (a declaration's
    /// `list.order`, [`crate::declaration::Declaration::list_orders`]): the report never
    /// suggests `unordered` for it.
    pub list_orders: std::collections::BTreeMap<String, String>,
    /// Operations that run alone, as a keyless request does, even when keyed: a
    /// declaration's generated creates, whose stores number them in the order they come.
    pub serial_ops: std::collections::BTreeSet<String>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            concurrency: 16,
            timeout: Duration::from_secs(30),
            check_state: true,
            reset: true,
            window: 4096,
            keep_outcomes: false,
            rules: None,
            noise: None,
            shard: None,
            max_infra_failures: 5,
            settle: None,
            list_keys: std::collections::BTreeMap::new(),
            list_orders: std::collections::BTreeMap::new(),
            serial_ops: std::collections::BTreeSet::new(),
        }
    }
}

/// What a finished replay tells besides its results.
#[derive(Debug, Clone)]
pub struct ReplayRun {
    /// Results handed to the sinks (a shard's context requests are not counted).
    pub requests: u64,
    /// Wall time the run took (for a replay, from after the reset to the last result).
    pub elapsed: Duration,
    /// The truncated last line of the cassette, skipped.
    pub truncation: Option<Truncation>,
    /// How often each rule fired, as the run ended (empty without rules).
    pub rules: Vec<crate::normalize::RuleUsage>,
    /// Why the run stopped sending requests before the end of the cassette, if it did.
    pub stopped: Option<Stop>,
}

/// One of the two targets of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SideName {
    /// The repository being migrated from: the reference.
    Legacy,
    /// The repository being migrated to: the one under test.
    Candidate,
}

impl fmt::Display for SideName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SideName::Legacy => "legacy",
            SideName::Candidate => "candidate",
        })
    }
}

/// A run that stopped sending requests because one side stopped answering: it failed
/// [`ReplayOptions::max_infra_failures`] times in a row. The requests not compared by then
/// (abandoned in flight, queued, or not yet read) are still emitted, inconclusive, with
/// this cause in both sides' `failure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    /// The side that stopped answering.
    pub side: SideName,
    /// That side's target ([`Target::name`](crate::targets::Target::name)).
    pub target: String,
    /// The failures in a row that stopped the run.
    pub failures: usize,
    /// The seq of the request that failed first in that run of failures.
    pub first_seq: u64,
    /// Its failure.
    pub first_error: String,
    /// Requests emitted inconclusive because of the stop (those a shard runs only for
    /// context are not counted: they are not reported).
    pub not_sent: u64,
}

impl Stop {
    /// What each request left uncompared says, as its sides' `failure`: `not sent: ...`
    /// when it never started, `abandoned in flight: ...` when it was cut off.
    pub fn cause(&self, started: bool) -> String {
        format!(
            "{}: the {} target ({}) stopped answering ({} infrastructure failures in a row, the first at seq {}: {})",
            if started { "abandoned in flight" } else { "not sent" },
            self.side,
            self.target,
            self.failures,
            self.first_seq,
            self.first_error
        )
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} target ({}) stopped answering: {} infrastructure failures in a row, the first at seq {}: {}; {} requests not sent",
            self.side,
            self.target,
            self.failures,
            self.first_seq,
            self.first_error,
            thousands(self.not_sent)
        )
    }
}

/// `2950` as `2,950`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A replay that could not be carried out. Divergences are results, never errors.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The cassette could not be read (or, when recording, written).
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// A target failed to reset before the first request.
    #[error("resetting the {side} target: {source}")]
    Reset {
        /// Which target: `legacy`, `candidate`, or `recorded` when recording.
        side: &'static str,
        /// Why the reset failed.
        #[source]
        source: InfraError,
    },
    /// A target serves another domain than the cassette's (an adapter's handshake says).
    #[error("the {side} target `{target}` serves domain `{serves}`; the cassette is of domain `{cassette}`")]
    Domain {
        /// `legacy` or `candidate`.
        side: &'static str,
        /// The target's name.
        target: String,
        /// The domain it declared.
        serves: String,
        /// The cassette's domain.
        cassette: String,
    },
    /// A sink failed to write a result.
    #[error("writing results: {0}")]
    Sink(#[from] std::io::Error),
    /// Both sides store into one database.
    #[error("the legacy and the candidate are one database, `{0}`: a replay would compare it with itself; give each side its own database (or a server URL, for a fresh one each)")]
    SameDatabase(String),
    /// The options cannot be used (a zero concurrency or window).
    #[error("replay options: {0}")]
    Options(String),
    /// The cassette reader thread ended without reaching the end of the input (a panic).
    #[error("the cassette reader stopped: {0}")]
    Reader(String),
    /// Recording stopped on an infrastructure failure, at the seq the message names.
    #[error("recording: {0}")]
    Recording(String),
}

/// The seq of the last keyless request of the cassette file at `path`; `Some(u64::MAX)`
/// (every write is context) when the cassette is not a file that can be read again.
fn last_keyless(path: &std::path::Path) -> Result<Option<u64>, ReplayError> {
    if !path.is_file() {
        return Ok(Some(u64::MAX));
    }
    let mut reader = Reader::open(path)?;
    let mut last = None;
    while let Some(request) = reader.next_request()? {
        if request.key.is_none() {
            last = Some(request.seq);
        }
    }
    Ok(last)
}

/// The message a panic carried (`panic!("...")` gives a `&str` or a `String`), for
/// reports that say a target or a comparison panicked.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Replays every request of `cassette` on both targets, handing each result to `sinks`.
pub async fn replay(
    cassette: Reader,
    pair: &Pair,
    options: &ReplayOptions,
    sinks: &mut [&mut dyn Sink],
) -> Result<ReplayRun, ReplayError> {
    if options.concurrency == 0 || options.window == 0 {
        return Err(ReplayError::Options(
            "concurrency and window must be at least 1".into(),
        ));
    }
    if let Some(database) = pair.shared_database() {
        return Err(ReplayError::SameDatabase(database));
    }
    for (side, target) in [("legacy", &pair.legacy), ("candidate", &pair.candidate)] {
        match target.domain() {
            Some(serves) if serves != cassette.header().domain => {
                return Err(ReplayError::Domain {
                    side,
                    target: target.name().to_string(),
                    serves: serves.to_string(),
                    cassette: cassette.header().domain.clone(),
                })
            }
            _ => {}
        }
    }
    if options.reset {
        // Bounded like every other call: a store that never answers fails the reset.
        let bounded = |reset| async move {
            tokio::time::timeout(options.timeout, reset)
                .await
                .unwrap_or(Err(InfraError::Timeout(options.timeout)))
        };
        let (l, c) = tokio::join!(
            bounded(pair.legacy.reset()),
            bounded(pair.candidate.reset())
        );
        l.map_err(|source| ReplayError::Reset {
            side: "legacy",
            source,
        })?;
        c.map_err(|source| ReplayError::Reset {
            side: "candidate",
            source,
        })?;
    }
    // Shard 1 answers the keyless requests over the full state: the other shards' writes
    // before the last of them run as context, so the replay finds that request first.
    let known;
    let options = match options.shard {
        Some(shard) if !shard.knows_last_keyless() => {
            known = ReplayOptions {
                shard: Some(shard.knowing_last_keyless(last_keyless(cassette.path())?)),
                ..options.clone()
            };
            &known
        }
        _ => options,
    };
    // The rules are configuration; what this run does with them is its own.
    // Without a rules file, a declaration's list keys need a run of no rules to be used.
    let rules = match (&options.rules, options.list_keys.is_empty()) {
        (None, true) => None,
        (rules, _) => {
            let rules = rules.clone().unwrap_or_default();
            let run = crate::normalize::RuleRun::new(rules);
            Some(std::sync::Arc::new(
                run.with_list_keys(options.list_keys.clone()),
            ))
        }
    };
    let start = Instant::now();
    let (requests, truncation, stopped) =
        schedule::run(cassette, pair, options, rules.clone(), sinks).await?;
    Ok(ReplayRun {
        requests,
        elapsed: start.elapsed(),
        truncation,
        rules: rules.map_or_else(Vec::new, |r| r.usage()),
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn counts_are_grouped_by_thousands() {
        let shown: Vec<String> = [0, 999, 1000, 2950, 1234567].map(thousands).into();
        assert_eq!(shown, ["0", "999", "1,000", "2,950", "1,234,567"]);
    }
}
