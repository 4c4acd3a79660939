//! The settle window (`docs/src/settle.md`): a candidate fed by a sync answers a read right
//! after a write with what its store held before the write reached it. Within the window,
//! the candidate's read (never a write) or its state read-back is asked again until it
//! agrees with the legacy's, compared exactly as the first answer was (rules, then noise).
//!
//! Retries start [`FIRST_PAUSE`] after the previous answer, the pause doubling up to
//! [`MAX_PAUSE`] and cut to what is left of the window; a retry starts only within the
//! window, and each is bounded by `ReplayOptions::timeout`, so the whole wait is at most
//! the window plus one call. Without a window nothing here runs.

use super::sides::{forgive, outcomes, states, timed, Pair};
use super::ReplayOptions;
use crate::cassette::{Outcome, Request};
use crate::diff::Diff;
use crate::normalize::RuleRun;
use crate::targets::InfraError;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};

/// The pause before the first retry.
pub const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// The longest pause between two retries (the pause doubles up to it).
pub const MAX_PAUSE: Duration = Duration::from_millis(200);

/// The window for `request`: the candidate's own, else the run's; none when it is zero.
pub(super) fn window(pair: &Pair, request: &Request, options: &ReplayOptions) -> Option<Duration> {
    pair.candidate
        .settle(request)
        .or(options.settle)
        .filter(|w| !w.is_zero())
}

/// One retry's answer and its comparison with the legacy's.
pub(super) struct Attempt<T> {
    /// The candidate's answer.
    pub answer: T,
    /// What still differs, after rules and without noise.
    pub diff: Diff,
    /// Differences forgiven as noise in this comparison.
    pub noise: u64,
}

/// What the retries came to.
pub(super) struct Retried<T> {
    /// The last retry, or the infrastructure failure that ended the retries; none when the
    /// window had ended before a retry could start (the first answer stands).
    pub last: Option<Result<Attempt<T>, InfraError>>,
    /// Retries made.
    pub retries: u32,
    /// From the first answer's start to the start of the retry that agreed, if one did.
    pub lag: Option<Duration>,
}

impl<T> Retried<T> {
    /// The lag in µs, for `RequestResult::settled_us`.
    pub fn lag_us(&self) -> Option<u64> {
        self.lag
            .map(|lag| u64::try_from(lag.as_micros()).unwrap_or(u64::MAX))
    }
}

/// Asks `attempt` again, pausing between tries, until one agrees, one fails, or `window`
/// (counted from `started`, the first answer's start) has ended.
async fn retry<T, F, Fut>(window: Duration, started: Instant, mut attempt: F) -> Retried<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, InfraError>>,
{
    let deadline = started + window;
    let mut pause = FIRST_PAUSE;
    let mut retried = Retried {
        last: None,
        retries: 0,
        lag: None,
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return retried;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
        let at = Instant::now();
        let result = attempt().await;
        retried.retries += 1;
        let done = match &result {
            Ok(a) if a.diff.is_equal() => {
                retried.lag = Some(at.duration_since(started));
                true
            }
            Ok(_) => false,
            Err(_) => true,
        };
        retried.last = Some(result);
        if done {
            return retried;
        }
    }
}

/// The request being compared, and how.
#[derive(Clone, Copy)]
pub(super) struct Asking<'a> {
    /// Both targets; only the candidate is asked again.
    pub pair: &'a Pair,
    /// The request.
    pub request: &'a Request,
    /// The run's options: the timeout of each call, the noise.
    pub options: &'a ReplayOptions,
    /// The run's rules, the one comparison.
    pub rules: Option<&'a RuleRun>,
    /// The window.
    pub window: Duration,
    /// When the first answer was asked for: the window counts from there.
    pub started: Instant,
}

/// Asks the candidate the request (a read) again until its answer agrees with the
/// legacy's `legacy`.
pub(super) async fn read(asking: Asking<'_>, legacy: &Outcome) -> Retried<Outcome> {
    let Asking {
        pair,
        request,
        options,
        rules,
        ..
    } = asking;
    retry(asking.window, asking.started, || async {
        let (answer, _) = timed(options.timeout, pair.candidate.execute(request)).await;
        let answer = answer?;
        let mut diff = outcomes(request, rules, legacy, &answer);
        let noise = forgive(options, request, &mut diff);
        Ok(Attempt {
            answer,
            diff,
            noise,
        })
    })
    .await
}

/// Reads the candidate's stored state of `key` again, after the write, until it agrees
/// with the legacy's `legacy`. A candidate that can no longer tell its state fails the
/// retry.
pub(super) async fn state(asking: Asking<'_>, key: &str, legacy: &Value) -> Retried<()> {
    let Asking {
        pair,
        request,
        options,
        rules,
        ..
    } = asking;
    retry(asking.window, asking.started, || async {
        let (answer, _) = timed(options.timeout, pair.candidate.dump(key)).await;
        let Some(mut answer) = answer? else {
            return Err(InfraError::Other(
                "the state dump told no state after telling one".into(),
            ));
        };
        let (diff, noise) = states(options, request, rules, &mut legacy.clone(), &mut answer);
        Ok(Attempt {
            answer: (),
            diff,
            noise,
        })
    })
    .await
}
