//! The `cargo test` front end: one call replays a cassette against two targets and fails the
//! test with the grouped, readable report; [`GoldenMaster`] checks one target against the
//! legacy outcomes kept as an insta snapshot, so CI needs no legacy store.
//!
//! ```
//! use cutover::targets::{from_spec, Target};
//! use cutover::testing::Equivalence;
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The recording as the legacy, the in-memory store as the candidate.
//! let legacy: Arc<dyn Target> = from_spec("recorded").unwrap();
//! let candidate: Arc<dyn Target> = from_spec("memory").unwrap();
//! let report = Equivalence::of(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/kv-demo.jsonl"))
//!     .assert_between(legacy, candidate)
//!     .await;
//! assert_eq!(report.totals.total, 300);
//! # });
//! ```

mod golden;

pub use golden::GoldenMaster;

use crate::cassette::Reader;
use crate::normalize::Rules;
use crate::replay::{self, Pair, ReplayOptions};
use crate::report::{render, Report, Summary, Verdict};
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
        let header = reader.header().clone();
        let pair = Pair { legacy, candidate };
        let mut summary = Summary::new();
        let run = replay::replay(reader, &pair, &self.options, &mut [&mut summary])
            .await
            .unwrap_or_else(|e| panic!("replaying {path}: {e}"));
        summary.finish(
            &header,
            &path,
            pair.legacy.name(),
            pair.candidate.name(),
            &run,
        )
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
