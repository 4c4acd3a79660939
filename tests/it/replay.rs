//! Replay semantics through the library: ordering guarantees, divergence classes, state
//! checks, inconclusive requests.

use crate::util::doubles::{Double, Failure};
use cutover::cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
use cutover::diff::Class;
use cutover::kv::memory::{Memory, Workload};
use cutover::replay::{Pair, ReplayOptions, RequestResult, Status};
use cutover::replay_collect;
use cutover::report::Report;
use cutover::targets::recorded::Recorded;
use cutover::targets::Target;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Writes a workload to a cassette file and opens it for reading.
fn cassette(dir: &tempfile::TempDir, requests: impl Iterator<Item = Request>) -> Reader {
    let path = dir.path().join("c.jsonl");
    let mut writer = Writer::create(&path, &Header::new("kv")).unwrap();
    for r in requests {
        writer.write(&r).unwrap();
    }
    writer.finish().unwrap();
    Reader::open(&path).unwrap()
}

async fn run(
    requests: impl Iterator<Item = Request>,
    legacy: Arc<dyn Target>,
    candidate: Arc<dyn Target>,
    options: ReplayOptions,
) -> (Vec<RequestResult>, Report) {
    let dir = tempfile::tempdir().unwrap();
    let reader = cassette(&dir, requests);
    let pair = Pair { legacy, candidate };
    let replayed = replay_collect(reader, &pair, &options).await.unwrap();
    (replayed.results, replayed.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_equivalent_against_the_store_it_was_recorded_on() {
    let workload = Workload::new(5000, 50, 3).scan_every(100);
    let (results, report) = run(
        workload,
        Arc::new(Recorded::new()),
        Arc::new(Memory::new()),
        ReplayOptions::default(),
    )
    .await;
    assert_eq!(report.totals.total, 5000);
    assert_eq!(report.totals.equal, 5000, "{:#?}", report.examples);
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..5000).collect::<Vec<_>>(),
        "results come in cassette order"
    );
    let scans = &report.operations["scan"];
    assert_eq!(scans.requests.total, 50);
    assert!(results
        .iter()
        .filter(|r| r.kind == Kind::Write)
        .all(|r| r.state.is_some()));
}

/// A memory store that watches how it is called (each key's order, calls in flight, a
/// keyless request alone), with uneven delays so that requests overtake each other where
/// they may.
fn probe() -> Arc<Double> {
    Arc::new(
        Double::memory()
            .named("probe")
            .delaying(|request| Duration::from_micros((request.seq * 7919) % 700)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_key_requests_keep_order_and_keyless_requests_run_alone() {
    let (legacy, candidate) = (probe(), probe());
    let options = ReplayOptions {
        concurrency: 8,
        ..ReplayOptions::default()
    };
    let workload = Workload::new(2000, 12, 5).scan_every(50);
    let (_, report) = run(workload, legacy.clone(), candidate.clone(), options).await;
    assert_eq!(report.totals.equal, 2000);
    for probe in [&legacy, &candidate] {
        for (key, seqs) in probe.seen().iter() {
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "key {key} ran out of order: {seqs:?}"
            );
        }
        assert!(
            !probe.keyless_overlapped(),
            "a keyless request overlapped another"
        );
        let max = probe.max_in_flight();
        assert!((2..=8).contains(&max), "in flight at once: {max}");
    }
}

/// The defect planted in a candidate.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `scan` returns its first two items swapped.
    SwapScan,
    /// `get` drops the `name` field.
    DropName,
    /// `insert` of an existing key answers `invalid` instead of `conflict`.
    WrongErrorKind,
    /// `put` answers right but stores the value without its tags.
    LoseTagsOnPut,
    /// Every call for key `k1` is refused.
    RefuseK1,
    /// Every call for key `k2` hangs.
    HangK2,
    /// Every call for key `k3` panics.
    PanicK3,
}

/// A memory store named `faulty` with `fault` planted.
fn faulty(fault: Fault) -> Double {
    let faulty = Double::memory().named("faulty");
    match fault {
        Fault::SwapScan => {
            faulty.editing(|request, outcome| match (request.op.as_str(), outcome) {
                ("scan", Outcome::Ok(Value::Array(items))) if items.len() > 1 => items.swap(0, 1),
                _ => {}
            })
        }
        Fault::DropName => faulty.editing(|request, outcome| {
            if let ("get", Outcome::Ok(Value::Object(map))) = (request.op.as_str(), outcome) {
                map.remove("name");
            }
        }),
        Fault::WrongErrorKind => {
            faulty.editing(|request, outcome| match (request.op.as_str(), outcome) {
                ("insert", Outcome::Error(e)) if e.kind == ErrorKind::Conflict => {
                    e.kind = ErrorKind::Invalid
                }
                _ => {}
            })
        }
        Fault::LoseTagsOnPut => faulty.storing(|request| {
            if request.op == "put" {
                request.args["value"]
                    .as_object_mut()
                    .unwrap()
                    .remove("tags");
            }
        }),
        Fault::RefuseK1 => faulty.failing("k1", Failure::Refuse),
        Fault::HangK2 => faulty.failing("k2", Failure::Hang),
        Fault::PanicK3 => faulty.failing("k3", Failure::Panic),
    }
}

async fn against(fault: Fault, options: ReplayOptions) -> (Vec<RequestResult>, Report) {
    let workload = Workload::new(600, 10, 11).scan_every(30);
    run(
        workload,
        Arc::new(Memory::new()),
        Arc::new(faulty(fault)),
        options,
    )
    .await
}

#[tokio::test]
async fn each_planted_defect_is_reported_with_its_class_on_its_operation() {
    for (fault, op, class) in [
        (Fault::SwapScan, "scan", Class::Ordering),
        (Fault::DropName, "get", Class::Missing),
        (Fault::WrongErrorKind, "insert", Class::Error),
        (Fault::LoseTagsOnPut, "put", Class::State),
    ] {
        let (results, report) = against(fault, ReplayOptions::default()).await;
        let classes = &report.operations[op].classes;
        assert!(
            classes.get(&class).copied().unwrap_or(0) > 0,
            "{fault:?}: {classes:?}"
        );
        // A read defect shows on its operation alone; a stored-state defect also shows on
        // the later reads of what it stored, which is the truth about it.
        if class != Class::State {
            let others: Vec<_> = report
                .operations
                .iter()
                .filter(|(name, o)| *name != op && o.requests.divergent > 0)
                .collect();
            assert!(
                others.is_empty(),
                "{fault:?} shows only on {op}: {others:?}"
            );
        }
        let first = results
            .iter()
            .find(|r| r.status == Status::Divergent)
            .unwrap();
        assert!(
            first.legacy.outcome.is_some() && first.candidate.outcome.is_some(),
            "outcomes are kept for a divergence"
        );
    }
}

#[tokio::test]
async fn a_right_answer_over_wrong_stored_state_is_a_state_divergence() {
    let (results, _) = against(Fault::LoseTagsOnPut, ReplayOptions::default()).await;
    let put = results
        .iter()
        .find(|r| r.op == "put" && r.status == Status::Divergent)
        .unwrap();
    let d = &put.divergences[0];
    assert_eq!(
        (d.class, d.path.as_str(), d.detail),
        (Class::State, "$.tags", Some(Class::Missing))
    );
    let (_, report) = against(
        Fault::LoseTagsOnPut,
        ReplayOptions {
            check_state: false,
            ..ReplayOptions::default()
        },
    )
    .await;
    assert_eq!(
        report.operations["put"].requests.divergent, 0,
        "without the state check the defect hides"
    );
}

#[tokio::test]
async fn infrastructure_failures_are_inconclusive_never_equal_or_divergent() {
    // Each request on its own: k1's refusals in a row must not stop the run (`failfast`).
    let options = ReplayOptions {
        max_infra_failures: 0,
        ..ReplayOptions::default()
    };
    let (results, report) = against(Fault::RefuseK1, options).await;
    let k1: Vec<_> = results
        .iter()
        .filter(|r| r.key.as_deref() == Some("k1"))
        .collect();
    assert!(!k1.is_empty());
    assert!(k1.iter().all(|r| r.status == Status::Inconclusive));
    assert!(k1[0]
        .candidate
        .failure
        .as_deref()
        .unwrap()
        .contains("connection refused"));
    // The refused writes leave k1 unknown on the candidate, so the scans that read
    // through it cannot be blamed on the candidate either: inconclusive, naming the write.
    assert_eq!(report.totals.divergent, 0, "{:#?}", report.examples);
    let first_k1_write = k1.iter().find(|r| r.kind == Kind::Write).unwrap().seq;
    let tainted: Vec<_> = results.iter().filter(|r| r.tainted_by.is_some()).collect();
    assert!(
        !tainted.is_empty()
            && tainted
                .iter()
                .all(|r| r.key.is_none() && r.tainted_by == Some(first_k1_write))
    );
    assert_eq!(
        report.totals.inconclusive,
        (k1.len() + tainted.len()) as u64
    );
    assert_eq!(report.verdict, cutover::report::Verdict::Inconclusive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_inconclusive_and_the_replay_goes_on() {
    let options = ReplayOptions {
        timeout: Duration::from_millis(20),
        max_infra_failures: 0,
        ..ReplayOptions::default()
    };
    let (results, report) = against(Fault::HangK2, options).await;
    let k2: Vec<_> = results
        .iter()
        .filter(|r| r.key.as_deref() == Some("k2"))
        .collect();
    assert!(k2.iter().all(|r| r.status == Status::Inconclusive));
    assert!(k2[0]
        .candidate
        .failure
        .as_deref()
        .unwrap()
        .contains("timed out"));
    assert_eq!(report.totals.total, 600);
}

#[tokio::test]
async fn a_panicking_target_makes_its_request_inconclusive() {
    let (results, report) = against(Fault::PanicK3, ReplayOptions::default()).await;
    let k3: Vec<_> = results
        .iter()
        .filter(|r| r.key.as_deref() == Some("k3"))
        .collect();
    assert!(!k3.is_empty() && k3.iter().all(|r| r.status == Status::Inconclusive));
    assert!(k3[0]
        .candidate
        .failure
        .as_deref()
        .unwrap()
        .contains("candidate bug on k3"));
    assert_eq!(report.totals.total, 600);
}

#[tokio::test]
async fn a_request_without_a_recorded_outcome_is_inconclusive_against_a_recording() {
    let mut requests: Vec<Request> = Workload::new(20, 3, 1).collect();
    requests[5].outcome = None;
    let (results, _) = run(
        requests.into_iter(),
        Arc::new(Recorded::new()),
        Arc::new(Memory::new()),
        ReplayOptions::default(),
    )
    .await;
    assert_eq!(results[5].status, Status::Inconclusive);
    assert!(results[5]
        .legacy
        .failure
        .as_deref()
        .unwrap()
        .contains("no recorded outcome"));
}

/// A put at seq 0 that loses the value's tags on the candidate, then gets of that key and
/// of others: the gets of `k0` diverge because of the put.
fn cause_and_echoes() -> Vec<Request> {
    let value = serde_json::json!({ "n": 1, "tags": ["a"] });
    let mut requests = vec![Request::new(
        0,
        Some("k0"),
        "put",
        Kind::Write,
        serde_json::json!({ "value": value }),
        "2026-01-01T00:00:00Z",
    )];
    for seq in 1..=40 {
        let key = format!("k{}", seq % 4);
        let (op, kind, args) = match key.as_str() {
            "k0" => ("get", Kind::Read, serde_json::json!({})),
            _ => ("put", Kind::Write, serde_json::json!({ "value": value })),
        };
        requests.push(Request::new(
            seq,
            Some(&key),
            op,
            kind,
            args,
            "2026-01-01T00:00:00Z",
        ));
    }
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_defect_leads_the_summary_and_the_reads_it_breaks_follow_it() {
    let candidate = Double::memory().storing(|request| {
        if request.seq == 0 {
            request.args["value"]
                .as_object_mut()
                .unwrap()
                .remove("tags");
        }
    });
    let (results, report) = run(
        cause_and_echoes().into_iter(),
        Arc::new(Memory::new()),
        Arc::new(candidate),
        ReplayOptions::default(),
    )
    .await;
    // The put's stored state is the cause; each get of k0 (10 of them) follows seq 0.
    let divergent: Vec<(u64, Option<u64>)> = results
        .iter()
        .filter(|r| r.status == Status::Divergent)
        .map(|r| (r.seq, r.follows))
        .collect();
    let mut expected = vec![(0, None)];
    expected.extend((4..=40).step_by(4).map(|seq| (seq, Some(0))));
    assert_eq!(divergent, expected);
    // Ten echoes outnumber their one cause, yet the cause's group is listed first.
    let rendered = cutover::report::render::text(
        &report,
        cutover::report::render::Options {
            verbose: false,
            style: cutover::report::render::Style::Plain,
        },
    );
    let rows: Vec<&str> = rendered
        .lines()
        .skip_while(|l| !l.starts_with("divergence groups"))
        .skip(2)
        .take(2)
        .collect();
    assert!(
        rows[0].contains("put") && rows[0].contains("cause, 10 follow"),
        "{rendered}"
    );
    assert!(
        rows[1].contains("get") && rows[1].trim_end().ends_with("echo"),
        "{rendered}"
    );
    let get = report
        .suggested_rules
        .iter()
        .find(|s| s.op == "get")
        .unwrap();
    assert_eq!((get.count, get.causes), (10, 0));
    // The Markdown comment and the page lead with the cause too.
    let markdown = cutover::publish::markdown::render(&report, None);
    let causes = markdown.find("### Causes first").expect("a causes section");
    assert!(causes < markdown.find("| `get`").unwrap_or(usize::MAX));
    let first = markdown.find("### First divergences").unwrap();
    let put = markdown[first..].find("<code>put</code>").unwrap();
    let get = markdown[first..].find("<code>get</code>").unwrap();
    assert!(put < get, "{markdown}");
}

/// Tells the writer of a streamed cassette each result as it is emitted.
struct Told(std::sync::mpsc::Sender<u64>);

impl cutover::replay::Sink for Told {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        let _ = self.0.send(result.seq);
        Ok(())
    }
}

#[test]
fn a_cassette_written_as_it_is_replayed_is_not_held_back() {
    // Each request is written only once the one before it has been replayed: a reader
    // that waited for more input before handing on what it has would never finish.
    use std::io::Write;
    let lines: Vec<String> = std::fs::read_to_string(crate::util::fixture("kv-demo.jsonl"))
        .unwrap()
        .lines()
        .take(41)
        .map(|l| format!("{l}\n"))
        .collect();
    let (read_end, mut write_end) = std::os::unix::net::UnixStream::pair().unwrap();
    write_end.write_all(lines[0].as_bytes()).unwrap();
    let reader = Reader::from_read("pipe", read_end).unwrap();
    let (told, results) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut replayed = Vec::new();
        for line in &lines[1..] {
            write_end.write_all(line.as_bytes()).unwrap();
            match results.recv_timeout(Duration::from_secs(30)) {
                Ok(seq) => replayed.push(seq),
                Err(_) => break,
            }
        }
        replayed
    });
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        candidate: Arc::new(Memory::new()),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let replayed = std::thread::scope(|scope| {
        let replay = scope.spawn(|| {
            let mut sink = Told(told);
            runtime.block_on(cutover::replay::replay(
                reader,
                &pair,
                &ReplayOptions::default(),
                &mut [&mut sink],
            ))
        });
        let replayed = writer.join().unwrap();
        replay.join().unwrap().unwrap();
        replayed
    });
    assert_eq!(
        replayed,
        (1..=40).collect::<Vec<u64>>(),
        "each request replayed before the next was written"
    );
}
