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
//! * [`targets`]: the async [`targets::Target`] trait both repositories sit behind, the
//!   built-in `memory` and `recorded` targets, the cross-store value model, and the
//!   reference domain (conversations, MongoDB to PostgreSQL).
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
//! * [`publish`]: the report and decision as Markdown, HTML, JUnit XML and an evidence bundle.
//! * [`shrink`]: a divergent cassette reduced to a minimal one that shows the same divergence.
//! * [`testing`]: the `cargo test` front end: equivalence in one call, golden masters.
//!
//! Beside the stages: `services` (with either driver feature, below) starts the real
//! servers the reference domain and the tests need, [`digest`] hashes inputs, [`located`]
//! gives errors a file, line and column.
//!
//! The command-line front end lives in the binary (`src/main.rs`, `src/cli/`); it is the
//! only place that knows about exit codes and terminals.
//!
//! # Features
//!
//! All three are on by default; a crate that only tests its own repositories with
//! cutover depends on it with `default-features = false` and builds no database driver:
//!
//! * `mongodb`: the `mongodb` driver, for the reference domain's legacy repository
//!   (`targets::conversations::mongo`), the BSON value model (`targets::value::bson`) and
//!   the MongoDB-wire test server (`services::mongo`).
//! * `postgres`: `sqlx`, for the reference domain's new repository
//!   (`targets::conversations::postgres`), the PostgreSQL value model
//!   (`targets::value::pg`) and the PostgreSQL test server (`services::postgres`).
//! * `cli`: what only the `cutover` binary needs (argument parsing, progress bars, the
//!   allocator). The binary, the integration tests and the examples on real servers need
//!   all three.
//!
//! Everything else builds without them: the pipeline's stages, the `memory` and
//! `recorded` targets, [`capture::adapter`] for a team's own repository, the `cargo test`
//! front end ([`testing`]) and the reference domain's pure parts (its model, operations
//! and generators). With both drivers, `targets::conversations::setup` starts both
//! repositories on fresh databases.

#![warn(missing_docs)]

pub mod capture;
pub mod cassette;
pub mod coverage;
pub mod diff;
pub mod digest;
pub mod gate;
pub mod located;
pub mod normalize;
pub mod probe;
pub mod publish;
pub mod races;
pub mod replay;
pub mod report;
#[cfg(any(feature = "mongodb", feature = "postgres", feature = "mysql"))]
pub mod services;
pub mod shrink;
pub mod targets;
pub mod testing;
