//! One request on both sides: execute concurrently, diff the outcomes, then read back and
//! diff the stored state after a write.

use super::result::{RequestResult, Side, StateCheck, Status};
use super::ReplayOptions;
use crate::cassette::{Kind, Outcome, Request};
use crate::diff::{self, Diff};
use crate::normalize::{Part, RuleRun};
use crate::targets::{InfraError, Target};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The two targets under comparison.
#[derive(Clone)]
pub struct Pair {
    /// The reference side, whose answers are taken as right.
    pub legacy: Arc<dyn Target>,
    /// The side under test.
    pub candidate: Arc<dyn Target>,
}

/// Replays `request` (the `index`-th of the cassette) on both sides and compares; a
/// `context` request is only run.
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
    let ((legacy, l_time), (candidate, c_time)) = tokio::join!(
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
    if let (Ok(l), Ok(c)) = (&legacy, &candidate) {
        found = outcomes(request, rules, l, c);
        noise += forgive(options, request, &mut found);
    }

    let mut state = None;
    if let (Kind::Write, Some(key), true, false) = (
        request.kind,
        &request.key,
        options.check_state,
        inconclusive,
    ) {
        let ((l_state, _), (c_state, _)) = tokio::join!(
            timed(limit, pair.legacy.dump(key)),
            timed(limit, pair.candidate.dump(key)),
        );
        state = Some(match (l_state, c_state) {
            (Ok(Some(mut l)), Ok(Some(mut c))) => {
                let mut states = match rules {
                    Some(rules) => rules.compare(&request.op, Part::State, false, &mut l, &mut c),
                    None => diff::states(&l, &c),
                };
                noise += forgive(options, request, &mut states);
                let check = if states.is_equal() {
                    StateCheck::Equal
                } else {
                    StateCheck::Divergent
                };
                found.divergences.extend(states.divergences);
                found.omitted += states.omitted;
                check
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
        ..RequestResult::of(index, request, status)
    }
}

/// Compares two answers to `request` after `rules` (the replay's and the shadow's one
/// comparison). A write teaches the rules' id maps.
pub(crate) fn outcomes(
    request: &Request,
    rules: Option<&RuleRun>,
    l: &Outcome,
    c: &Outcome,
) -> Diff {
    match (rules, l, c) {
        (Some(rules), Outcome::Ok(l), Outcome::Ok(c)) => {
            let (mut l, mut c) = (l.clone(), c.clone());
            let learn = request.kind == Kind::Write;
            rules.compare(&request.op, Part::Outcome, learn, &mut l, &mut c)
        }
        _ => diff::outcomes(l, c),
    }
}

/// Takes the divergences `options.noise` forgives out of `found`; returns how many.
fn forgive(options: &ReplayOptions, request: &Request, found: &mut Diff) -> u64 {
    let Some(known) = &options.noise else {
        return 0;
    };
    let before = found.divergences.len();
    found
        .divergences
        .retain(|d| !known.forgives(&request.op, d));
    (before - found.divergences.len()) as u64
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

async fn timed<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, InfraError>>,
) -> (Result<T, InfraError>, Duration) {
    let start = Instant::now();
    let result = match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(InfraError::Timeout(limit)),
    };
    (result, start.elapsed())
}
