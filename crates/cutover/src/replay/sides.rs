//! The primitives of comparing one request's two sides, shared by the first answer
//! (`compare.rs`) and the settle window's retries (`settle.rs`): the [`Pair`] of targets,
//! a call bounded in time, and the comparisons of outcomes and states with the rules and the
//! noise forgiven.

use super::ReplayOptions;
use crate::cassette::{Kind, Outcome, Request};
use crate::diff::{self, Diff};
use crate::normalize::{Part, RuleRun};
use crate::targets::{InfraError, Target};
use serde_json::Value;
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

impl Pair {
    /// A database both sides store into, if they share one (then they are one store, and
    /// comparing them proves nothing).
    pub fn shared_database(&self) -> Option<String> {
        let legacy = self.legacy.databases();
        self.candidate
            .databases()
            .into_iter()
            .find(|database| legacy.contains(database))
    }

    /// Both sides with their store-generated ids translated to and from the recorded ones
    /// ([`crate::targets::identity`]); the pair itself where nothing is generated.
    pub fn with_identities(&self, generated: &crate::targets::identity::Generated) -> Pair {
        if generated.is_empty() {
            return self.clone();
        }
        use crate::targets::identity::{Fresh, Identities, Side};
        let generated = Arc::new(generated.clone());
        let fresh = Arc::new(Fresh::default());
        Pair {
            legacy: Identities::wrap(
                self.legacy.clone(),
                generated.clone(),
                Side::Legacy(fresh.clone()),
            ),
            candidate: Identities::wrap(self.candidate.clone(), generated, Side::Candidate(fresh)),
        }
    }
}

/// The stored states `l` and `c` after the write `request` compared (rules applied in
/// place), and how many differences were forgiven as noise.
pub(super) fn states(
    options: &ReplayOptions,
    request: &Request,
    rules: Option<&RuleRun>,
    l: &mut Value,
    c: &mut Value,
) -> (Diff, u64) {
    let mut states = match rules {
        Some(rules) => rules.compare(&request.op, Part::State, false, l, c),
        None => diff::states(l, c),
    };
    let noise = forgive(options, request, &mut states);
    (states, noise)
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
pub(super) fn forgive(options: &ReplayOptions, request: &Request, found: &mut Diff) -> u64 {
    let Some(known) = &options.noise else {
        return 0;
    };
    let before = found.divergences.len();
    found
        .divergences
        .retain(|d| !known.forgives(&request.op, d));
    (before - found.divergences.len()) as u64
}

/// `work` bounded by `limit` (a timeout is an infrastructure failure), and how long it took.
pub(super) async fn timed<T>(
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
