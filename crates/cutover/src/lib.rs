//! cutover: a golden-master differential testing harness for repository migrations.
//!
//! Requests recorded from the legacy repository are replayed against the legacy and the
//! candidate repository side by side; every pair of outcomes, and the stored state after
//! every write, is diffed for behavioural equivalence, and what diverged is reported.
//!
//! # Layout
//!
//! The modules are the pipeline's stages, in the order a request passes through them:
//!
//! * [`capture`]: from a running service: the recorder (sampled calls into cassettes),
//!   redaction before capture, shadow reads, and the adapter for a team's own repository.
//! * [`cassette`]: the recorded requests, read and written as a stream of JSON lines.
//! * [`probe`]: requests derived from the recorded ones to reach the edges the traffic
//!   missed (range ends, limits, absent ids, writes that must fail), appended after them.
//! * [`targets`]: the async [`Target`] trait both repositories sit behind, the `recorded`
//!   target, the target protocol (`exec:`, `http:`) and the cross-store value model.
//! * [`replay`]: runs a cassette against two targets: same-key requests in order, other keys
//!   concurrently, keyless requests as barriers; emits one [`replay::RequestResult`] each.
//! * [`races`]: concurrent groups of one key's requests run on both stores, each result
//!   judged against the group's serial orders (`atomicity` when none explains it).
//! * [`coverage`]: what the traffic exercised of the domain's declared features (outcome
//!   kinds, list sizes, argument classes, stored shapes, ties), and the gaps.
//! * [`normalize`]: the declared rules applied to both sides before they are diffed, noise,
//!   and suggested rules.
//! * [`diff`]: the structural, order-aware comparison of two values.
//! * [`report`]: folds results into per-operation counts and latencies, and renders them.
//! * [`gate`]: a policy turns a report and its results into APPROVED or REJECTED.
//! * `publish`: the report and decision as Markdown, HTML, JUnit XML and an evidence bundle.
//! * [`shrink`]: a divergent cassette reduced to a minimal one that shows the same divergence.
//! * [`testing`]: the `cargo test` front end: equivalence in one call, golden masters.
//!
//! Beside the stages: [`domain`] (what a domain gives: coverage features, probes, a
//! conformance script), [`kv`] (the built-in key-value domain and its `memory` store),
//! [`registry`] (the one list of domains and target specs every command uses),
//! [`conformance`] (`check-target`'s session), [`digest`] (hashes of inputs), [`located`]
//! (errors with a file, line and column).
//!
//! The reference domain (`cutover-conversations`), the declared SQL and MongoDB targets
//! (`cutover-declared`), the test servers (`cutover-servers`) and the command line
//! (`cutover-cli`) are crates of their own that depend on this one, never the other way.
//!
//! # API
//!
//! What a team uses is re-exported here at the root; the modules hold the rest, and only
//! what this page re-exports, with the modules named in ARCHITECTURE.md ("API boundaries"),
//! is kept stable.
//!
//! # Features
//!
//! * `http`: the `http:` target (an adapter inside a running service), with `reqwest`.
//! * `golden`: golden masters ([`GoldenMaster`]), with `insta`.
//! * `publish`: the report and decision as Markdown, HTML, JUnit XML and an evidence
//!   bundle ([`publish`]).
//!
//! All three are on by default. With `default-features = false` the core builds no HTTP
//! client, no snapshot library and no renderer beyond the terminal's text; it never builds a
//! database driver or a command line.

#![warn(missing_docs)]

pub mod capture;
pub mod cassette;
pub mod conformance;
pub mod coverage;
pub mod declaration;
pub mod diff;
pub mod digest;
pub mod domain;
pub mod fuzzing;
pub mod gate;
pub mod kv;
pub mod located;
pub mod normalize;
pub mod probe;
#[cfg(feature = "publish")]
pub mod publish;
pub mod races;
mod registry;
pub mod replay;
pub mod report;
pub mod rundir;
pub mod shrink;
pub mod targets;
pub mod testing;
pub mod verify;

pub use capture::adapter::{outcome_with, Adapter, DomainError};
pub use capture::recorder::{Recorder, RecorderConfig};
pub use capture::shadow::{Shadow, ShadowConfig};
pub use cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
pub use diff::{Class, Divergence};
pub use domain::DomainKit;
pub use gate::{Decision, Policy};
pub use kv::memory::Memory;
pub use normalize::{RuleRun, Rules};
pub use registry::Registry;
pub use replay::{
    record, record_each, record_one, replay, Collect, Pair, ReplayOptions, RequestResult, Sink,
};
pub use report::{replay_collect, replay_report, Replayed, Report, Verdict};
pub use rundir::RunDir;
pub use targets::recorded::Recorded;
pub use targets::{InfraError, Target};
pub use testing::Equivalence;
#[cfg(feature = "golden")]
pub use testing::GoldenMaster;
