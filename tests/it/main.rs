//! Integration tests, one binary. Each module tests one behaviour family:
//!
//! * `adapters`: repositories in Python, Node and Rust behind the target protocol
//!   (`exec:`, `http:`), their planted defects, adapters that die, hang or answer garbage,
//!   `check-target`, the conversations repositories as named specs, the events writes publish.
//! * `allowances`: every rule, noise, suggestion and accepted difference accepts only what
//!   it declares (other classes, paths, parts, big numbers, nulls in arrays, ties).
//! * `domain`: `cutover domain infer` drafts the kv fixture's declaration; an existing file
//!   is kept unless `--force`; a bad cassette is located and exits 2.
//! * `declared_mongo`: the kv domain declared on MongoDB replays its recording equivalent,
//!   a planted defect is found with its class, arguments stay data, bad files are located.
//! * `declared_sql`: declared SQL targets as `cutover verify` reads them on PostgreSQL and
//!   MariaDB: keys paged in order, batch dumps equal to `[state]`, checksums equal across
//!   engines for the same texts, the keys that split a range; `[events]` on PostgreSQL.
//! * `events`: the events a request published, compared: each defect with its class, the
//!   gate, and every allowance that reaches events accepting only what it declares.
//! * `malformed`: bad cassettes and documents get located errors (file, line) and exit 2,
//!   never a panic; a truncated last line is a warning and a skip.
//! * `publish`: Markdown, JUnit XML and the evidence bundle.
//! * `redact`: personal data never reaches a cassette; keyed hashes still join.
//! * `replay`: scheduling (per-key order, barriers, concurrency), divergence classes,
//!   state checks and inconclusive requests, through the library.
//! * `values`: the cross-store value model on a real PostgreSQL, against BSON.
//! * `rules`: normalization rules, their counts and errors, and suggested rules.
//! * `fuzzed`: the fuzz targets' seeds and regression inputs, each read without a panic or
//!   a hang (`cutover::fuzzing`, `scripts/fuzz.sh`).
//! * `safety`: a database cutover did not make is never emptied (every kind of target);
//!   a server URL gets a fresh database per run; one database on both sides is refused;
//!   `verify` reads live databases through a role that cannot write.
//! * `suggest`: every suggested rule pasted, round after round, accepts the representation
//!   changes of a store move and leaves each planted kv defect divergent.
//! * `mapping`: the mapping rules (`rename`, `value_map`, `null_as`) accept only what they
//!   declare: their paths, operations, parts and side, exact numbers, typed keys.
//! * `browser`: the HTML report rendered by headless Chromium, with a screenshot.
//! * `capture`: `cutover inspect`.
//! * `ci_examples`: the CI pipelines of `examples/ci/` parse and run valid `cutover`
//!   commands; completions and the man page come from the command's definition.
//! * `cli`: the `cutover` command's outputs and exit codes on the fixtures.
//! * `coverage`: `cutover coverage` and a replay count the same features; the gate's
//!   coverage clause rejects exactly the traffic that misses what the policy asks for.
//! * `conversations`: the reference domain on real MongoDB-wire and PostgreSQL servers, and
//!   the planted candidate defects it must catch.
//! * `conversations_events`: the reference domain's events on a real NATS server, as the
//!   demo compares them: the shipped repositories equivalent, each planted defect found.
//! * `migrations`: the bundled migrations (MySQL to PostgreSQL, PostgreSQL to PostgreSQL,
//!   MySQL to MongoDB behind a sync) on the real servers through declared targets:
//!   equivalent with their rules and settle windows, each trap's planted defect found with
//!   its class; arguments stay data.
//! * `migrations_events`: MySQL to MongoDB's outbox rows as each write's events: equal on
//!   both sides, a concurrent write's rows never among them, a changed or dropped candidate
//!   trigger shown on the write it changes.
//! * `probes`: planted candidate defects at edges the fixture's traffic misses are
//!   equivalent without probes and divergent with them; error-path probes fail on the legacy.
//! * `events_broker`: the events `kv.py --nats` publishes, collected per request through a
//!   NATS subscription for each side; published inside the transaction, flagged on its side
//!   only; a broker that stops mid-run stops the run naming it.
//! * `failfast`: a side that stops answering stops the run; every request is still reported.
//! * `shadow`: shadow reads on live calls: the legacy answers, the candidate is compared off
//!   the caller's path; results and report as a replay's.
//! * `settle`: the settle window: a candidate fed by a sync settles within it (its lag
//!   reported and bounded by the gate), diverges when the sync never delivers, and is
//!   judged as before without one; writes are never executed twice.
//! * `shard`: sharded replays merged equal one run.
//! * `shrink`: `cutover shrink` reduces a divergent cassette to a minimal one.
//! * `tasks`: a team's own domain declared only in its file (`examples/tasks`, Python,
//!   SQLite to PostgreSQL): coverage gaps, probes that catch its edge defects, no false
//!   alarm over ten seeds, `check-target` against the declaration.
//! * `gate`: policy clauses, accepted differences, the Wilson bound, `cutover gate`.
//! * `generated`: proptest sequences on both repositories; shrinking to regressions.
//! * `golden`: golden masters as insta snapshots, checked without the legacy store.
//! * `mutants`: the demo as one test, for `scripts/mutants.sh` (ignored by `cargo test`).
//! * `races`: the race check on real servers: the correct repositories are serializable,
//!   the planted races (no row lock, an index computed before the lock) are atomicity.

mod adapters;
mod allowances;
mod browser;
mod capture;
mod ci_examples;
mod cli;
mod conversations;
mod conversations_events;
mod coverage;
mod declared_mongo;
mod declared_sql;
mod domain;
mod events;
mod events_broker;
mod failfast;
mod faults;
mod fuzzed;
mod gate;
mod generated;
mod golden;
mod identity;
mod malformed;
mod mapping;
mod migrations;
mod migrations_data;
mod migrations_events;
mod mutants;
mod probes;
mod publish;
mod races;
mod redact;
mod replay;
mod rules;
mod safety;
mod settle;
mod shadow;
mod shard;
mod shrink;
mod suggest;
mod tasks;
mod util;
mod values;
mod verify;
