//! One request on both sides: execute concurrently, diff the outcomes, then read back and
//! diff the stored state after a write, then the events each side published (`events.rs`).

use super::events;
use super::result::{RequestResult, Side, StateCheck, Status};
use super::settle::{self, Asking};
use super::sides::{forgive, outcomes, states, timed, Pair};
use super::ReplayOptions;
use crate::cassette::{Event, Kind, Outcome, Request};
use crate::diff::Diff;
use crate::normalize::RuleRun;
use crate::targets::{Executed, InfraError};
use serde_json::Value;
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
    let started = Instant::now();
    let ((legacy, l_time), (candidate, c_time)) = tokio::join!(
        timed(limit, pair.legacy.execute_events(request)),
        timed(limit, pair.candidate.execute_events(request)),
    );
    let (legacy, l_events) = split(legacy);
    let (mut candidate, c_events) = split(candidate);
    let mut inconclusive = false;
    let l_side = side(
        pair.legacy.latency(request, l_time),
        &legacy,
        &mut inconclusive,
    );
    let c_side = side(
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
    let mut judging = Judging {
        pair,
        request,
        options,
        rules,
        window,
        found: Diff::default(),
        noise: 0,
        inconclusive,
        settled_us: None,
        settle_retries: 0,
        l_side,
        c_side,
        events: None,
    };
    if let (Ok(l), Ok(c)) = (&legacy, &candidate) {
        if let Some(again) = judging.outcomes(started, l, c).await {
            candidate = again;
        }
    }
    let mut state = None;
    if let (Kind::Write, Some(key), true, false) = (
        request.kind,
        &request.key,
        options.check_state,
        judging.inconclusive,
    ) {
        state = Some(judging.state(key).await);
    }
    if !judging.inconclusive {
        judging.events(l_events, c_events);
    }
    judging.result(index, tainted_by, legacy, candidate, state)
}

/// A side's answer and, apart, the events it told.
fn split(
    executed: Result<Executed, InfraError>,
) -> (Result<Outcome, InfraError>, Option<Vec<Event>>) {
    match executed {
        Ok(Executed { outcome, events }) => (Ok(outcome), events),
        Err(e) => (Err(e), None),
    }
}

/// One request's comparison as it is made, and what it found so far. Noise is taken out of
/// each comparison as it is made, so that what is left decides the state check and the
/// status alike.
struct Judging<'a> {
    /// Both targets.
    pair: &'a Pair,
    /// The request.
    request: &'a Request,
    /// The run's options.
    options: &'a ReplayOptions,
    /// The run's rules.
    rules: Option<&'a RuleRun>,
    /// The settle window, if the candidate may be asked again.
    window: Option<Duration>,
    /// The divergences found.
    found: Diff,
    /// Differences forgiven as noise.
    noise: u64,
    /// Whether a side failed, so the request cannot be judged.
    inconclusive: bool,
    /// The settle lag, when a retry agreed.
    settled_us: Option<u64>,
    /// Retries within the settle window.
    settle_retries: u32,
    /// The legacy's side of the result.
    l_side: Side,
    /// The candidate's side of the result.
    c_side: Side,
    /// How the events compared, when a side told them.
    events: Option<StateCheck>,
}

impl<'a> Judging<'a> {
    /// The candidate asked again within `window`, counted from `started`.
    fn asking(&self, window: Duration, started: Instant) -> Asking<'a> {
        Asking {
            pair: self.pair,
            request: self.request,
            options: self.options,
            rules: self.rules,
            window,
            started,
        }
    }

    /// Compares the answers `l` and `c` (the first asked for at `started`). A read that
    /// differs is asked again within the window, a write never is; the candidate's last
    /// answer then replaces its first, returned here.
    async fn outcomes(
        &mut self,
        started: Instant,
        l: &Outcome,
        c: &Outcome,
    ) -> Option<Result<Outcome, InfraError>> {
        let request = self.request;
        self.found = outcomes(request, self.rules, l, c);
        self.noise += forgive(self.options, request, &mut self.found);
        let (Some(window), Kind::Read, false) = (self.window, request.kind, self.found.is_equal())
        else {
            return None;
        };
        let retried = settle::read(self.asking(window, started), l).await;
        self.settle_retries = retried.retries;
        self.settled_us = retried.lag_us();
        match retried.last {
            Some(Ok(last)) => {
                (self.found, self.noise) = (last.diff, last.noise);
                Some(Ok(last.answer))
            }
            Some(Err(e)) => {
                self.c_side.failure = Some(format!("asked again within the settle window: {e}"));
                (self.found, self.inconclusive) = (Diff::default(), true);
                Some(Err(e))
            }
            None => None,
        }
    }

    /// Reads back the stored state of `key` on both sides after a write and compares it.
    async fn state(&mut self, key: &str) -> StateCheck {
        let (pair, limit) = (self.pair, self.options.timeout);
        let started = Instant::now();
        let ((l_state, _), (c_state, _)) = tokio::join!(
            timed(limit, pair.legacy.dump(key)),
            timed(limit, pair.candidate.dump(key)),
        );
        match (l_state, c_state) {
            (Ok(Some(mut l)), Ok(Some(mut c))) => self.states(key, started, &mut l, &mut c).await,
            (l, c) if l.is_err() || c.is_err() => {
                // Each side that failed says so: the scheduler counts failures per side.
                if let Err(l) = l {
                    self.l_side.failure = Some(format!("reading state: {l}"));
                }
                if let Err(c) = c {
                    self.c_side.failure = Some(format!("reading state: {c}"));
                }
                self.inconclusive = true;
                StateCheck::Inconclusive
            }
            _ => StateCheck::Unchecked,
        }
    }

    /// Compares the states `l` and `c` of `key` (read from `started`); a candidate state
    /// that differs is read again within the window. Its divergences join the outcome's.
    async fn states(
        &mut self,
        key: &str,
        started: Instant,
        l: &mut Value,
        c: &mut Value,
    ) -> StateCheck {
        // The legacy's state as read, for the retries' comparisons.
        let legacy_state = self.window.map(|_| l.clone());
        let (mut states, mut state_noise) = states(self.options, self.request, self.rules, l, c);
        let mut failed = None;
        if let (Some(window), Some(l), false) = (self.window, &legacy_state, states.is_equal()) {
            let retried = settle::state(self.asking(window, started), key, l).await;
            self.settle_retries = retried.retries;
            self.settled_us = retried.lag_us();
            match retried.last {
                Some(Ok(last)) => (states, state_noise) = (last.diff, last.noise),
                Some(Err(e)) => failed = Some(e),
                None => {}
            }
        }
        match failed {
            Some(e) => {
                self.c_side.failure =
                    Some(format!("reading state again within the settle window: {e}"));
                self.inconclusive = true;
                StateCheck::Inconclusive
            }
            None => {
                self.noise += state_noise;
                let check = if states.is_equal() {
                    StateCheck::Equal
                } else {
                    StateCheck::Divergent
                };
                self.found.divergences.extend(states.divergences);
                self.found.omitted += states.omitted;
                check
            }
        }
    }

    /// Compares the events both sides published (`events.rs`); their divergences join the
    /// others, and both lists are kept with the outcomes.
    fn events(&mut self, legacy: Option<Vec<Event>>, candidate: Option<Vec<Event>>) {
        let compared = events::compare(
            self.request,
            self.rules,
            legacy.as_deref(),
            candidate.as_deref(),
        );
        let Some((check, mut found)) = compared else {
            return;
        };
        self.noise += forgive(self.options, self.request, &mut found);
        if check == StateCheck::Divergent && found.is_equal() {
            self.events = Some(StateCheck::Equal);
        } else {
            self.events = Some(check);
        }
        self.found.divergences.extend(found.divergences);
        self.found.omitted += found.omitted;
        self.l_side.events = legacy;
        self.c_side.events = candidate;
    }

    /// The request's result: divergent when anything differs, unless an earlier
    /// inconclusive write taints it (then inconclusive, as when a side failed); with both
    /// answers when it is not equal or the run keeps them.
    fn result(
        self,
        index: u64,
        tainted_by: Option<u64>,
        legacy: Result<Outcome, InfraError>,
        candidate: Result<Outcome, InfraError>,
        state: Option<StateCheck>,
    ) -> RequestResult {
        let Judging {
            request,
            options,
            found,
            noise,
            inconclusive,
            settled_us,
            settle_retries,
            mut l_side,
            mut c_side,
            events,
            ..
        } = self;
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
        } else {
            (l_side.events, c_side.events) = (None, None);
        }
        RequestResult {
            legacy: l_side,
            candidate: c_side,
            divergences: found.divergences,
            omitted: found.omitted,
            state,
            events,
            tainted_by: tainted_by.filter(|_| !found_equal),
            noise,
            settled_us,
            settle_retries,
            ..RequestResult::of(index, request, status)
        }
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
        events: None,
        latency_us: took.map(|t| u64::try_from(t.as_micros()).unwrap_or(u64::MAX)),
        outcome: None,
        failure,
    }
}
