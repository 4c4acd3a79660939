//! Stage 3: replay a cassette against two targets side by side.
//!
//! * Both sides of one request run at the same time, so a request costs the slower side.
//! * Requests with the same key run in cassette order; different keys run concurrently, up
//!   to [`ReplayOptions::concurrency`] requests at once.
//! * A request without a key is a barrier: it waits for everything before it, and
//!   everything after it waits for it.
//! * After every write, the key's stored state is read back from both sides and compared.
//! * Infrastructure failures make a request inconclusive; they never abort the replay.
//!
//! The cassette is read on its own thread and never held whole: at most
//! [`ReplayOptions::window`] requests are in memory between reading and emitting, plus a
//! read-ahead of 16 parsed requests. Results reach the [`Sink`]s in cassette order.

mod compare;
mod record;
mod result;
mod schedule;
pub mod shard;

pub(crate) use compare::outcomes as diff_outcomes;
pub use compare::Pair;
pub use record::{record, record_each};
pub use result::{JsonlSink, RequestResult, Side, Sink, StateCheck, Status};

use crate::cassette::{CassetteError, Reader, Truncation};
use crate::target::InfraError;
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
    /// (operation, path pattern) pairs that differ between two runs of the legacy itself:
    /// differences there are noise, counted apart and never divergences.
    pub noise: Option<std::sync::Arc<std::collections::HashSet<(String, String)>>>,
    /// Replay only this shard's keys (see [`shard`]).
    pub shard: Option<shard::Shard>,
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
        }
    }
}

/// What a finished replay tells besides its results.
#[derive(Debug, Clone)]
pub struct ReplayRun {
    pub requests: u64,
    pub elapsed: Duration,
    /// The truncated last line of the cassette, skipped.
    pub truncation: Option<Truncation>,
    /// How often each rule fired, as the run ended (empty without rules).
    pub rules: Vec<crate::normalize::RuleUsage>,
}

/// A replay that could not be carried out. Divergences are results, never errors.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    #[error("resetting the {side} target: {source}")]
    Reset {
        side: &'static str,
        #[source]
        source: InfraError,
    },
    #[error("writing results: {0}")]
    Sink(#[from] std::io::Error),
    #[error("replay options: {0}")]
    Options(String),
    #[error("the cassette reader stopped: {0}")]
    Reader(String),
    #[error("recording: {0}")]
    Recording(String),
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
    if options.reset {
        let (l, c) = tokio::join!(pair.legacy.reset(), pair.candidate.reset());
        l.map_err(|source| ReplayError::Reset {
            side: "legacy",
            source,
        })?;
        c.map_err(|source| ReplayError::Reset {
            side: "candidate",
            source,
        })?;
    }
    let start = Instant::now();
    let (requests, truncation) = schedule::run(cassette, pair, options, sinks).await?;
    Ok(ReplayRun {
        requests,
        elapsed: start.elapsed(),
        truncation,
        rules: options.rules.as_ref().map_or_else(Vec::new, |r| r.usage()),
    })
}
