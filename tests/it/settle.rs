//! The settle window, through the library: a candidate fed by a sync (its writes reach the
//! store it reads from only after a delay) is equal within a window, with its lag recorded
//! and reported; divergent, not inconclusive, when the sync never delivers; divergent as
//! before without a window. Writes are never executed twice; the gate bounds the lag.
//!
//! Timing: only "lag > 0" and "lag <= window" are asserted, never a tighter bound; the
//! sync delay (250 ms) is far above the pause between a write and the next request.

use crate::util::doubles::{Double, Failure};
use crate::util::{fixture, replay as cli_replay, request};
use async_trait::async_trait;
use chrono::NaiveDate;
use cutover::cassette::{Header, Kind, Outcome, Reader, Request, Writer};
use cutover::diff::Class;
use cutover::digest::FileRef;
use cutover::gate::{self, Clause, GateVerdict, Policy};
use cutover::kv::memory::Memory;
use cutover::replay::{Pair, ReplayOptions, RequestResult, Status};
use cutover::report::{Inputs, Report};
use cutover::targets::{Executed, InfraError, Target};
use cutover::{replay_collect, replay_report, RunDir};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A kv store fed by a sync: a write is answered by the primary at once and reaches the
/// readable store (what `get` and `dump` see) through a queue, `delay` later; with no
/// delay the sync is stopped and writes never reach it.
struct Synced {
    primary: Memory,
    readable: Arc<Memory>,
    queue: Option<mpsc::UnboundedSender<(tokio::time::Instant, Request)>>,
    delay: Option<Duration>,
    /// The target's own window, if it declares one.
    own: Option<Duration>,
}

impl Synced {
    /// Must be called inside a Tokio runtime: the sync is a task.
    fn new(delay: Option<Duration>) -> Synced {
        let readable = Arc::new(Memory::new());
        let (tx, mut rx) = mpsc::unbounded_channel::<(tokio::time::Instant, Request)>();
        let store = Arc::clone(&readable);
        tokio::spawn(async move {
            while let Some((due, request)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                let _ = store.execute(&request).await;
            }
        });
        Synced {
            primary: Memory::new(),
            readable,
            queue: Some(tx),
            delay,
            own: None,
        }
    }

    fn declaring(mut self, own: Duration) -> Synced {
        self.own = Some(own);
        self
    }
}

#[async_trait]
impl Target for Synced {
    fn name(&self) -> &str {
        "synced"
    }
    async fn reset(&self) -> Result<(), InfraError> {
        self.primary.reset().await?;
        self.readable.reset().await
    }
    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }
    /// A write's events are its primary's, as a store fed by a sync publishes from where
    /// it is written.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        match request.kind {
            Kind::Read => self.readable.execute_events(request).await,
            Kind::Write => {
                let executed = self.primary.execute_events(request).await?;
                if let (Some(delay), Some(queue)) = (self.delay, &self.queue) {
                    let due = tokio::time::Instant::now() + delay;
                    let _ = queue.send((due, request.clone()));
                }
                Ok(executed)
            }
        }
    }
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.readable.dump(key).await
    }
    fn settle(&self, _request: &Request) -> Option<Duration> {
        self.own
    }
}

/// `inner` with every call counted (its name and settle window are `inner`'s).
fn counted(inner: impl Target + 'static) -> Arc<Double> {
    Arc::new(Double::wrapping(inner))
}

/// For each of `keys` keys: put, get, put again, get: every read right after a write.
fn traffic(keys: u64) -> Vec<Request> {
    let mut all = Vec::new();
    for k in 1..=keys {
        let key = format!("k{k}");
        for round in 1..=2 {
            let seq = all.len() as u64 + 1;
            all.push(request(
                seq,
                Some(&key),
                "put",
                Kind::Write,
                json!({ "value": { "round": round } }),
            ));
            all.push(request(seq + 1, Some(&key), "get", Kind::Read, json!({})));
        }
    }
    all
}

fn write_cassette(path: &Path, requests: &[Request]) {
    let mut writer = Writer::create(path, &Header::new("kv")).unwrap();
    for r in requests {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
}

async fn run(
    requests: &[Request],
    legacy: Arc<dyn Target>,
    candidate: Arc<dyn Target>,
    options: ReplayOptions,
) -> (Vec<RequestResult>, Report) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    write_cassette(&path, requests);
    let reader = Reader::open(&path).unwrap();
    let pair = Pair { legacy, candidate };
    let replayed = replay_collect(reader, &pair, &options).await.unwrap();
    (replayed.results, replayed.report)
}

fn options(settle: Option<Duration>, check_state: bool) -> ReplayOptions {
    ReplayOptions {
        settle,
        check_state,
        timeout: Duration::from_secs(10),
        ..ReplayOptions::default()
    }
}

/// Far above any pause between a write and the next request of its key, so that the read
/// right after a write always finds the store stale; far below the window.
const SYNC: Duration = Duration::from_millis(250);
const WINDOW: Duration = Duration::from_secs(2);

fn lag_within_window(r: &RequestResult, window: Duration) {
    let lag = r
        .settled_us
        .unwrap_or_else(|| panic!("seq {} settled: {r:?}", r.seq));
    assert!(lag > 0, "seq {}: a lag above 0", r.seq);
    assert!(
        lag <= window.as_micros() as u64,
        "seq {}: lag {lag} µs within the window",
        r.seq
    );
    assert!(r.settle_retries >= 1, "seq {}: asked again", r.seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_right_after_writes_settle_within_the_window_with_their_lag() {
    let requests = traffic(4);
    let legacy = counted(Memory::new());
    let candidate = counted(Synced::new(Some(SYNC)));
    let (results, report) = run(
        &requests,
        legacy.clone(),
        candidate.clone(),
        options(Some(WINDOW), false),
    )
    .await;
    assert_eq!(report.totals.equal, 16, "{:#?}", report.examples);
    for r in &results {
        match r.kind {
            Kind::Read => lag_within_window(r, WINDOW),
            Kind::Write => assert_eq!((r.settled_us, r.settle_retries), (None, 0)),
        }
        // A write is never executed twice; only the candidate's reads are asked again.
        assert_eq!(
            legacy.calls(r.seq),
            1,
            "the legacy is asked once: seq {}",
            r.seq
        );
        match r.kind {
            Kind::Write => assert_eq!(candidate.calls(r.seq), 1, "write seq {}", r.seq),
            Kind::Read => assert_eq!(candidate.calls(r.seq), 1 + r.settle_retries),
        }
    }
    // The lag is in results.jsonl and in the report, per operation.
    let line = serde_json::to_value(&results[1]).unwrap();
    assert!(line["settled_us"].as_u64().unwrap() > 0, "{line}");
    assert!(line["settle_retries"].as_u64().unwrap() >= 1, "{line}");
    let get = report.operations["get"].settle.expect("get settled");
    assert_eq!((get.settled, get.unsettled), (8, 0));
    let p = get.lag_us;
    assert!(p.p50 > 0 && p.p50 <= p.p95 && p.p95 <= p.p99 && p.p99 <= p.max);
    assert!(p.max <= WINDOW.as_micros() as u64 * 1001 / 1000, "{p:?}");
    assert_eq!(report.operations["put"].settle, None);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["operations"]["get"]["settle"]["settled"], 8);
    assert!(
        json["operations"]["get"]["settle"]["lag_us"]["p99"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Every document shows it.
    let text = cutover::report::render::report(&report);
    assert!(text.contains("\nsettle window ("), "{text}");
    assert!(
        text.contains("  get: 8 settled (lag p50/p95/p99/max "),
        "{text}"
    );
    let md = cutover::publish::markdown::render(&report, None);
    assert!(
        md.contains("### Settle window") && md.contains("| `get` | 8 |"),
        "{md}"
    );
    let html = cutover::publish::html::render(&report, None, None);
    assert!(html.contains("<section id=\"settle\">"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_read_back_after_a_write_settles_too() {
    let requests = traffic(3);
    let candidate = counted(Synced::new(Some(SYNC)));
    let (results, report) = run(
        &requests,
        Arc::new(Memory::new()),
        candidate.clone(),
        options(Some(WINDOW), true),
    )
    .await;
    assert_eq!(report.totals.equal, 12, "{:#?}", report.examples);
    for r in results.iter().filter(|r| r.kind == Kind::Write) {
        assert_eq!(r.state, Some(cutover::replay::StateCheck::Equal));
        lag_within_window(r, WINDOW);
        assert_eq!(
            candidate.calls(r.seq),
            1,
            "write seq {} executed once",
            r.seq
        );
    }
    // The state was read again (more dumps than writes), the write never executed again.
    assert!(candidate.dumps() > 6);
    let put = report.operations["put"].settle.expect("put settled");
    assert_eq!((put.settled, put.unsettled), (6, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_sync_is_divergent_after_the_window_not_inconclusive() {
    let window = Duration::from_millis(200);
    let requests = traffic(2);
    let candidate = counted(Synced::new(None));
    let (results, report) = run(
        &requests,
        Arc::new(Memory::new()),
        candidate.clone(),
        options(Some(window), true),
    )
    .await;
    assert_eq!(report.totals.inconclusive, 0, "never inconclusive");
    assert_eq!(report.totals.divergent, 8);
    for r in &results {
        assert_eq!(r.status, Status::Divergent, "{r:?}");
        assert_eq!(r.settled_us, None);
        assert!(r.settle_retries >= 1, "seq {} asked again", r.seq);
        assert!(!r.divergences.is_empty());
        assert!(r.candidate.failure.is_none());
        if r.kind == Kind::Write {
            assert_eq!(
                candidate.calls(r.seq),
                1,
                "write seq {} executed once",
                r.seq
            );
            assert!(r.divergences.iter().all(|d| d.class == Class::State));
        }
    }
    // The first get of a key: the stale store has nothing (an error against a value).
    let first_get = &results[1];
    assert_eq!(
        first_get.divergences[0].class,
        Class::Error,
        "{first_get:?}"
    );
    assert!(matches!(
        first_get.candidate.outcome,
        Some(Outcome::Error(_))
    ));
    let get = report.operations["get"].settle.unwrap();
    assert_eq!((get.settled, get.unsettled), (0, 4));
    assert_eq!(get.lag_us, Default::default());
    assert!(cutover::report::render::report(&report)
        .contains("  get: 0 settled, 4 never agreed within the window"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_that_never_agrees_keeps_the_last_attempts_answer_and_divergences() {
    let requests = traffic(1);
    // Answers every read with how many times it has been asked that read: never the
    // legacy's.
    let candidate = Arc::new(
        Double::memory()
            .named("drifting")
            .answering(|request, asked| {
                (request.kind == Kind::Read).then(|| (Outcome::Ok(json!({ "asked": asked })), None))
            }),
    );
    let (results, _) = run(
        &requests,
        Arc::new(Memory::new()),
        candidate.clone(),
        options(Some(Duration::from_millis(150)), false),
    )
    .await;
    for r in results.iter().filter(|r| r.kind == Kind::Read) {
        let asked = u64::from(candidate.calls(r.seq));
        assert_eq!(u64::from(r.settle_retries) + 1, asked);
        let last = json!({ "asked": asked });
        assert_eq!(
            r.candidate.outcome,
            Some(Outcome::Ok(last.clone())),
            "{r:?}"
        );
        assert_eq!(r.status, Status::Divergent);
        let shown: Vec<_> = r
            .divergences
            .iter()
            .filter_map(|d| d.right.clone())
            .collect();
        assert!(
            shown.iter().any(|v| v == &last || v == &json!(asked)),
            "the last attempt's divergences: {:?}",
            r.divergences
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_window_a_delayed_candidate_is_divergent_as_before() {
    let requests = traffic(2);
    let candidate = counted(Synced::new(Some(Duration::from_millis(500))));
    let (results, report) = run(
        &requests,
        Arc::new(Memory::new()),
        candidate.clone(),
        options(None, false),
    )
    .await;
    for r in &results {
        assert_eq!(candidate.calls(r.seq), 1, "seq {} asked once", r.seq);
        assert_eq!((r.settled_us, r.settle_retries), (None, 0));
        let line = serde_json::to_string(r).unwrap();
        assert!(
            !line.contains("settle"),
            "no new field in results.jsonl: {line}"
        );
        if r.kind == Kind::Read {
            assert_eq!(r.status, Status::Divergent, "{r:?}");
        }
    }
    assert!(report.operations.values().all(|o| o.settle.is_none()));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("settle"), "no new field in report.json");
    assert!(!cutover::report::render::report(&report).contains("settle"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidates_own_window_wins_over_the_runs() {
    let requests = traffic(2);
    // Its own window and none for the run: reads settle.
    let own = Synced::new(Some(SYNC)).declaring(WINDOW);
    let (results, _) = run(
        &requests,
        Arc::new(Memory::new()),
        Arc::new(own),
        options(None, false),
    )
    .await;
    for r in results.iter().filter(|r| r.kind == Kind::Read) {
        assert_eq!(r.status, Status::Equal, "{r:?}");
        lag_within_window(r, WINDOW);
    }
    // A zero window of its own: no retry, whatever the run's window.
    let none = counted(Synced::new(Some(Duration::from_millis(500))).declaring(Duration::ZERO));
    let (results, _) = run(
        &requests,
        Arc::new(Memory::new()),
        none.clone(),
        options(Some(WINDOW), false),
    )
    .await;
    for r in results.iter().filter(|r| r.kind == Kind::Read) {
        assert_eq!(r.status, Status::Divergent, "{r:?}");
        assert_eq!(none.calls(r.seq), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_while_settling_is_inconclusive_and_counted_once() {
    let requests = traffic(1);
    let candidate = Arc::new(
        Double::wrapping(Synced::new(None))
            .failing_retries(Failure::Disconnect("the sync's store went away")),
    );
    let (results, report) = run(
        &requests,
        Arc::new(Memory::new()),
        candidate.clone(),
        ReplayOptions {
            max_infra_failures: 2,
            ..options(Some(WINDOW), false)
        },
    )
    .await;
    for r in results.iter().filter(|r| r.kind == Kind::Read) {
        assert_eq!(r.status, Status::Inconclusive, "{r:?}");
        assert!(r.divergences.is_empty());
        assert_eq!(r.settle_retries, 1);
        let failure = r.candidate.failure.as_deref().unwrap();
        assert!(failure.contains("settle window"), "{failure}");
    }
    // Two failures in a row, one per read (the writes between them answer): no stop.
    assert!(report.stopped.is_none());
    assert_eq!(report.totals.inconclusive, 2);
}

/// A run whose writes' state read-backs settled (every write's state compared, so the
/// gate's other clauses hold).
async fn settled_report() -> (Report, Vec<RequestResult>) {
    let (results, report) = run(
        &traffic(2),
        Arc::new(Memory::new()),
        Arc::new(Synced::new(Some(SYNC))),
        options(Some(WINDOW), true),
    )
    .await;
    (report, results)
}

fn judge(report: &Report, results: &[RequestResult], policy: &str) -> gate::Decision {
    let policy = Policy::parse(policy, "policy.toml").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    gate::evaluate(report, results, &policy, today)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_bounds_the_settle_lag_as_declared() {
    let (report, results) = settled_report().await;
    let p99 = report.operations["put"].settle.unwrap().lag_us.p99;
    assert!(p99 > 0);
    let approved = judge(&report, &results, "[gate]\nmax_settle_p99 = \"60s\"\n");
    assert_eq!(
        approved.verdict,
        GateVerdict::Approved,
        "{:?}",
        approved.reasons
    );
    let check = approved.operations.iter().find(|c| c.op == "put").unwrap();
    assert_eq!(check.settle_p99_us, Some(p99));

    let rejected = judge(&report, &results, "[gate]\nmax_settle_p99 = \"1us\"\n");
    assert_eq!(rejected.verdict, GateVerdict::Rejected);
    let [reason] = rejected.reasons.as_slice() else {
        panic!("one reason: {:?}", rejected.reasons)
    };
    assert_eq!(
        (reason.clause, reason.op.as_deref()),
        (Clause::Settle, Some("put"))
    );
    assert!(
        reason.message.starts_with("put: the candidate took ")
            && reason.message.ends_with("above max_settle_p99 = 1µs"),
        "{}",
        reason.message
    );
    assert!(gate::render(&rejected).contains("max_settle_p99"));

    // An operation's own bound wins over the gate's.
    let per_op = "[gate]\nmax_settle_p99 = \"1us\"\n[op.put]\nmax_settle_p99 = \"60s\"\n";
    assert_eq!(
        judge(&report, &results, per_op).verdict,
        GateVerdict::Approved
    );
    let per_op = "[gate]\nmax_settle_p99 = \"60s\"\n[op.put]\nmax_settle_p99 = \"1us\"\n";
    assert_eq!(
        judge(&report, &results, per_op).verdict,
        GateVerdict::Rejected
    );

    // A bound that is no duration is a located error.
    let bad = Policy::parse("[gate]\nmax_settle_p99 = \"soon\"\n", "policy.toml")
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("policy.toml line 2") && bad.contains("expected a duration"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_without_a_settled_request_passes_the_clause() {
    // The candidate agrees at once: nothing is asked again, nothing settles.
    let (results, report) = run(
        &traffic(2),
        Arc::new(Memory::new()),
        Arc::new(Memory::new()),
        options(Some(WINDOW), true),
    )
    .await;
    assert!(results.iter().all(|r| r.settle_retries == 0));
    assert!(report.operations.values().all(|o| o.settle.is_none()));
    let decision = judge(&report, &results, "[gate]\nmax_settle_p99 = \"1us\"\n");
    assert_eq!(
        decision.verdict,
        GateVerdict::Approved,
        "{:?}",
        decision.reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_shards_fold_the_settle_lags_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.jsonl");
    write_cassette(&cassette, &traffic(6));
    let mut dirs = Vec::new();
    let mut settled = 0;
    for shard in ["1/2", "2/2"] {
        let out = dir.path().join(shard.replace('/', "-of-"));
        let run_dir = RunDir::new(&out);
        run_dir.create().unwrap();
        let reader = Reader::open(&cassette).unwrap();
        let pair = Pair {
            legacy: Arc::new(Memory::new()),
            candidate: Arc::new(Synced::new(Some(SYNC))),
        };
        let options = ReplayOptions {
            shard: Some(shard.parse().unwrap()),
            ..options(Some(WINDOW), false)
        };
        let mut results = run_dir.results_writer().unwrap();
        let replayed = replay_report(reader, &pair, &options, &mut [&mut results])
            .await
            .unwrap();
        results.commit().unwrap();
        let mut report = replayed.report;
        report.inputs = Some(Inputs {
            cassette: FileRef::of(&cassette).unwrap(),
            rules: None,
            tool: "test".into(),
        });
        report.shards = vec![shard.to_string()];
        settled += report
            .operations
            .get("get")
            .and_then(|o| o.settle)
            .map_or(0, |s| s.settled);
        run_dir.write_report(&report).unwrap();
        dirs.push(out);
    }
    let merged =
        cutover::rundir::merge::merge(&dirs, &cutover::RunDir::new(dir.path().join("merged")))
            .unwrap();
    let get = merged.operations["get"]
        .settle
        .expect("merged settle figures");
    assert_eq!((get.settled, settled), (12, 12));
    assert!(get.lag_us.p50 > 0 && get.lag_us.max <= WINDOW.as_micros() as u64 * 1001 / 1000);
}

#[test]
fn the_cli_asks_the_candidate_again_within_settle_and_reports_what_never_agreed() {
    // `kv-divergent.jsonl` has planted divergences in a read, a scan and a write's state:
    // the `memory` candidate never agrees with them, and the recorded legacy is never
    // asked again.
    let out = tempfile::tempdir().unwrap();
    let run = cli_replay(
        &fixture("kv-divergent.jsonl"),
        out.path(),
        &["--settle", "100ms"],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for op in ["get", "scan", "put"] {
        let settle = &run.report["operations"][op]["settle"];
        assert_eq!(settle["unsettled"], 1, "{op}: {settle}");
        assert_eq!(settle["settled"], 0, "{op}: {settle}");
    }
    let results = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    assert_eq!(
        results.matches("\"settle_retries\"").count(),
        3,
        "{results}"
    );
    assert!(!results.contains("settled_us"));
    let bad = cli_replay(&fixture("kv-demo.jsonl"), out.path(), &["--settle", "soon"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("expected a duration"), "{}", bad.stderr);
}
