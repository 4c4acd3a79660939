//! The `cargo test` front end: one call replays a cassette against two targets and fails the
//! test with the grouped, readable report; [`GoldenMaster`] checks one target against the
//! legacy outcomes kept as an insta snapshot, so CI needs no legacy store.
//!
//! ```
//! use cutover::{Equivalence, Memory, Recorded, Target};
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The recording as the legacy, the in-memory store as the candidate.
//! let legacy: Arc<dyn Target> = Arc::new(Recorded::new());
//! let candidate: Arc<dyn Target> = Arc::new(Memory::new());
//! let report = Equivalence::of(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kv-demo.jsonl"))
//!     .assert_between(legacy, candidate)
//!     .await;
//! assert_eq!(report.totals.total, 300);
//! # });
//! ```
//!
//! # Asserting, or inspecting the report
//!
//! [`Equivalence::assert_between`] is the one-line test: it panics unless the verdict is
//! equivalent, and the panic message is the rendered report ([`failure`]: the operations
//! that did not pass, their first divergences side by side, the rules' counts, suggested
//! rules). [`Equivalence::between`] runs the same replay and returns the [`Report`] whatever
//! it says: it never panics on a divergence (only when the cassette or rules cannot be read,
//! or the replay itself fails, e.g. a target that cannot be reset). Use it to assert on a
//! divergence you expect, such as a candidate with a planted defect.
//!
//! What to read in a [`Report`] (the same fields as `report.json`):
//!
//! * `report.verdict`: [`Verdict::Equivalent`], [`Verdict::Divergent`] (some request
//!   diverged) or [`Verdict::Inconclusive`] (none diverged, some could not be compared).
//! * `report.totals`: the requests by status ([`crate::report::Counts`]: `total`, `equal`,
//!   `divergent`, `inconclusive`).
//! * `report.operations["get"]`: one operation ([`crate::report::OperationReport`]): its
//!   `kind`, its `requests` by status (the same [`Counts`](crate::report::Counts)), and
//!   `classes`, the divergent requests by [`Class`](crate::diff::Class) (a request with two
//!   divergences of one class counts once; one with two classes counts in both).
//!   `writes_unchecked` counts its writes whose stored state was not compared,
//!   `state_unchecked` those where a side could not tell its state;
//!   [`Report::unchecked`] sums them over the operations.
//! * `report.examples`: the first divergences of each (operation, class), up to
//!   [`EXAMPLES_PER_GROUP`](crate::report::EXAMPLES_PER_GROUP) each, ordered by operation
//!   then class: the request's `op`, `seq` and `key`, and the `divergence` itself (`path`
//!   such as `$.name`, `class`, the legacy's `left` and the candidate's `right` values).
//! * `report.suggested_rules`: every divergent (operation, path pattern, class) with its
//!   count, and the rule that would accept it where one can, or `hides`: what accepting it
//!   would hide.
//!
//! [`render::report`] is the whole report as text.
//!
//! A candidate with a planted defect, checked against the recording of
//! `fixtures/kv-demo.jsonl` (outcomes and post-write states) as the legacy: the in-memory
//! store behind an [`Adapter`](crate::capture::adapter::Adapter) whose `get` forgets the
//! `name` field of what it answers.
//!
//! ```
//! use cutover::{Adapter, Class, Equivalence, Memory, Outcome, Recorded, Target, Verdict};
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let forgetful = Adapter::new("forgetful", Memory::new(), |store, request| async move {
//!     let mut answer = store.execute(&request).await?;
//!     if let (Outcome::Ok(value), "get") = (&mut answer, request.op.as_str()) {
//!         value.as_object_mut().map(|fields| fields.remove("name"));
//!     }
//!     Ok(answer)
//! })
//! .with_reset(|store| async move { store.reset().await })
//! .with_dump(|store, key| async move { store.dump(&key).await });
//!
//! let cassette = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/kv-demo.jsonl");
//! let report = Equivalence::of(cassette)
//!     .between(Arc::new(Recorded::new()), Arc::new(forgetful))
//!     .await; // no panic: the report says what diverged
//!
//! assert_eq!(report.verdict, Verdict::Divergent);
//! let get = &report.operations["get"];
//! assert_eq!(get.requests.total, 150);
//! assert_eq!(get.requests.divergent, 95);
//! assert_eq!(get.classes[&Class::Missing], 95); // the only class
//! assert_eq!(get.classes.len(), 1);
//! assert_eq!(report.totals.divergent, 95); // no other operation diverged
//! assert_eq!(report.unchecked().writes, 0); // every write's state was compared
//!
//! let first = &report.examples[0];
//! assert_eq!((first.op.as_str(), first.divergence.class), ("get", Class::Missing));
//! assert_eq!(first.divergence.path, "$.name");
//! assert_eq!(first.divergence.left, Some("Zoë".into())); // the legacy's value
//! assert_eq!(first.divergence.right, None); // absent on the candidate
//! # });
//! ```
//!
//! The same replay with `assert_between` fails the test with the rendered report, which
//! ends in `DIVERGENT: 95 of 300 requests`.

#[cfg(feature = "golden")]
mod golden;

#[cfg(feature = "golden")]
pub use golden::GoldenMaster;

use crate::cassette::{Reader, Request};
use crate::normalize::Rules;
use crate::replay::{Pair, ReplayOptions};
use crate::report::{render, replay_report, Report, Verdict};
use crate::targets::Target;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A replay to run from a test: a cassette, optional rules, options.
#[derive(Clone)]
pub struct Equivalence {
    cassette: PathBuf,
    options: ReplayOptions,
}

impl Equivalence {
    /// The cassette to replay.
    pub fn of(cassette: impl AsRef<Path>) -> Equivalence {
        Equivalence {
            cassette: cassette.as_ref().to_path_buf(),
            options: ReplayOptions::default(),
        }
    }

    /// Normalizes both sides by this rules file; panics with the file's error (line and
    /// column) when it does not load.
    pub fn rules(mut self, path: impl AsRef<Path>) -> Equivalence {
        let rules = Rules::load(path).unwrap_or_else(|e| panic!("{e}"));
        self.options.rules = Some(Arc::new(rules));
        self
    }

    /// Replays with these options (concurrency, timeout, ...); rules set here are kept.
    pub fn options(mut self, options: ReplayOptions) -> Equivalence {
        let rules = self.options.rules.take();
        self.options = options;
        self.options.rules = self.options.rules.take().or(rules);
        self
    }

    /// Replays the cassette against both targets and returns the report.
    pub async fn between(&self, legacy: Arc<dyn Target>, candidate: Arc<dyn Target>) -> Report {
        let path = self.cassette.display().to_string();
        let reader = Reader::open(&self.cassette).unwrap_or_else(|e| panic!("{e}"));
        let pair = Pair { legacy, candidate };
        replay_report(reader, &pair, &self.options, &mut [])
            .await
            .unwrap_or_else(|e| panic!("replaying {path}: {e}"))
            .report
    }

    /// Replays and panics unless the targets are equivalent, with the rendered report
    /// (counts per operation and class, the first divergences of each group side by side).
    pub async fn assert_between(
        &self,
        legacy: Arc<dyn Target>,
        candidate: Arc<dyn Target>,
    ) -> Report {
        let report = self.between(legacy, candidate).await;
        assert_equivalent(&report);
        report
    }
}

/// Panics unless `probes` are placed as every domain's probes must be (a test of a domain's
/// [`crate::probe::Prober`]): each marked, `seq` continuing the recording, `at` after the
/// latest recorded and increasing, no outcome or state, and each request once (but in a
/// sequence, which repeats requests on purpose).
pub fn assert_probes_placed(recorded: &[Request], probes: &[Request]) {
    let at = |r: &Request| {
        chrono::DateTime::parse_from_rfc3339(&r.at)
            .unwrap_or_else(|e| panic!("seq {}: `at` {:?}: {e}", r.seq, r.at))
    };
    let last = recorded.last().expect("a recording").seq;
    let latest = recorded.iter().map(at).max().expect("a recording");
    for (i, p) in probes.iter().enumerate() {
        assert!(p.probe.is_some(), "seq {} is marked", p.seq);
        assert_eq!(p.seq, last + 1 + i as u64, "seq continues the recording");
        assert!(at(p) > latest, "seq {}: `at` after the recording", p.seq);
        assert!(p.outcome.is_none() && p.state.is_none());
    }
    for pair in probes.windows(2) {
        assert!(at(&pair[0]) < at(&pair[1]), "`at` increases");
    }
    let mut seen = std::collections::BTreeSet::new();
    let sequence = |p: &&Request| {
        p.probe
            .as_deref()
            .is_some_and(|w| w.starts_with(crate::probe::SEQUENCE))
    };
    for p in probes.iter().filter(|p| !sequence(p)) {
        assert!(
            seen.insert((p.key.clone(), p.op.clone(), p.args.to_string())),
            "seq {} is derived once",
            p.seq
        );
    }
}

/// Panics with the rendered report unless `report` says equivalent.
pub fn assert_equivalent(report: &Report) {
    if report.verdict != Verdict::Equivalent {
        panic!(
            "the candidate is not equivalent to the legacy ({:?})\n\n{}",
            report.verdict,
            failure(report)
        );
    }
}

/// The report as a failed test shows it: only the operations that did not pass, then the
/// first divergences of each group, the rules' counts and the suggested rules.
pub fn failure(report: &Report) -> String {
    let mut shown = report.clone();
    shown
        .operations
        .retain(|_, o| o.requests.divergent > 0 || o.requests.inconclusive > 0);
    render::report(&shown)
}
