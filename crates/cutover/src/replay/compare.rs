//! One request on both sides: execute concurrently, diff the outcomes, then read back and
//! diff the stored state after a write.

use super::result::{RequestResult, Side, StateCheck, Status};
use super::settle::{self, Asking};
use super::sides::{forgive, outcomes, states, timed, Pair};
use super::ReplayOptions;
use crate::cassette::{Kind, Request};
use crate::diff::Diff;
use crate::normalize::RuleRun;
use crate::targets::InfraError;
use std::time::{Duration, Instant};

/// Replays `request` (the `index`-th of the cassette) on both sides and compares; a
/// `context` request is only run. With a settle window (`settle.rs`), a candidate read or
/// state read-back that differs is asked again until it agrees or the window ends.
pub(super) async fn compare(
    pair: &Pair,
    index: u64,
    request: &Request,
    options: &ReplayOptions,
    rules: Option<&RuleRun>,
    tainted_by: Option<u64>,
    context: bool,
) -> RequestResult {
    let limit = options.timeout;
    let window = match context {
        true => None,
        false => settle::window(pair, request, options),
    };
    let asking = |window, started| Asking {
        pair,
        request,
        options,
        rules,
        window,
        started,
    };
    let started = Instant::now();
    let ((legacy, l_time), (mut candidate, c_time)) = tokio::join!(
        timed(limit, pair.legacy.execute(request)),
        timed(limit, pair.candidate.execute(request)),
    );
    let mut found = Diff::default();
    let mut inconclusive = false;
    let mut l_side = side(
        pair.legacy.latency(request, l_time),
        &legacy,
        &mut inconclusive,
    );
    let mut c_side = side(
        pair.candidate.latency(request, c_time),
        &candidate,
        &mut inconclusive,
    );
    if context {
        // Run for the state a later request reads (another shard's write): not compared.
        // The sides' failures still tell the scheduler whether each store answers.
        let status = if inconclusive {
            Status::Inconclusive
        } else {
            Status::Equal
        };
        return RequestResult {
            legacy: l_side,
            candidate: c_side,
            ..RequestResult::of(index, request, status)
        };
    }
    // Noise is taken out of each comparison as it is made, so that what is left decides
    // the state check and the status alike.
    let mut noise = 0;
    let (mut settled_us, mut settle_retries) = (None, 0);
    if let (Ok(l), Ok(c)) = (&legacy, &candidate) {
        found = outcomes(request, rules, l, c);
        noise += forgive(options, request, &mut found);
        // A read that differs is asked again within the window; a write never is.
        if let (Some(window), Kind::Read, false) = (window, request.kind, found.is_equal()) {
            let retried = settle::read(asking(window, started), l).await;
            settle_retries = retried.retries;
            settled_us = retried.lag_us();
            match retried.last {
                Some(Ok(last)) => {
                    (found, noise) = (last.diff, last.noise);
                    candidate = Ok(last.answer);
                }
                Some(Err(e)) => {
                    c_side.failure = Some(format!("asked again within the settle window: {e}"));
                    (found, inconclusive) = (Diff::default(), true);
                    candidate = Err(e);
                }
                None => {}
            }
        }
    }

    let mut state = None;
    if let (Kind::Write, Some(key), true, false) = (
        request.kind,
        &request.key,
        options.check_state,
        inconclusive,
    ) {
        let started = Instant::now();
        let ((l_state, _), (c_state, _)) = tokio::join!(
            timed(limit, pair.legacy.dump(key)),
            timed(limit, pair.candidate.dump(key)),
        );
        state = Some(match (l_state, c_state) {
            (Ok(Some(mut l)), Ok(Some(mut c))) => {
                // The legacy's state as read, for the retries' comparisons.
                let legacy_state = window.map(|_| l.clone());
                let (mut states, mut state_noise) = states(options, request, rules, &mut l, &mut c);
                let mut failed = None;
                if let (Some(window), Some(l), false) = (window, &legacy_state, states.is_equal()) {
                    let retried = settle::state(asking(window, started), key, l).await;
                    settle_retries = retried.retries;
                    settled_us = retried.lag_us();
                    match retried.last {
                        Some(Ok(last)) => (states, state_noise) = (last.diff, last.noise),
                        Some(Err(e)) => failed = Some(e),
                        None => {}
                    }
                }
                match failed {
                    Some(e) => {
                        c_side.failure =
                            Some(format!("reading state again within the settle window: {e}"));
                        inconclusive = true;
                        StateCheck::Inconclusive
                    }
                    None => {
                        noise += state_noise;
                        let check = if states.is_equal() {
                            StateCheck::Equal
                        } else {
                            StateCheck::Divergent
                        };
                        found.divergences.extend(states.divergences);
                        found.omitted += states.omitted;
                        check
                    }
                }
            }
            (l, c) if l.is_err() || c.is_err() => {
                // Each side that failed says so: the scheduler counts failures per side.
                if let Err(l) = l {
                    l_side.failure = Some(format!("reading state: {l}"));
                }
                if let Err(c) = c {
                    c_side.failure = Some(format!("reading state: {c}"));
                }
                inconclusive = true;
                StateCheck::Inconclusive
            }
            _ => StateCheck::Unchecked,
        });
    }

    let found_equal = found.is_equal();
    let status = if !found_equal && tainted_by.is_none() {
        Status::Divergent
    } else if inconclusive || !found_equal {
        Status::Inconclusive
    } else {
        Status::Equal
    };
    if status != Status::Equal || options.keep_outcomes {
        l_side.outcome = legacy.ok();
        c_side.outcome = candidate.ok();
    }
    RequestResult {
        legacy: l_side,
        candidate: c_side,
        divergences: found.divergences,
        omitted: found.omitted,
        state,
        tainted_by: tainted_by.filter(|_| !found_equal),
        noise,
        settled_us,
        settle_retries,
        ..RequestResult::of(index, request, status)
    }
}

/// The result for a request whose comparison panicked inside a target.
pub(super) fn panicked(index: u64, request: &Request, message: String) -> RequestResult {
    let failure = Side {
        failure: Some(format!("panicked: {message}")),
        ..Side::default()
    };
    RequestResult {
        legacy: failure.clone(),
        candidate: failure,
        ..RequestResult::of(index, request, Status::Inconclusive)
    }
}

fn side<T>(
    took: Option<Duration>,
    result: &Result<T, InfraError>,
    inconclusive: &mut bool,
) -> Side {
    let failure = result.as_ref().err().map(|e| {
        *inconclusive = true;
        e.to_string()
    });
    Side {
        latency_us: took.map(|t| u64::try_from(t.as_micros()).unwrap_or(u64::MAX)),
        outcome: None,
        failure,
    }
}
