//! A dead store fails fast: once one side has failed `max_infra_failures` times in a row, the
//! replay stops sending, and every request left is still emitted, inconclusive, naming the
//! side that stopped answering. Through the library, and `cutover demo` with its
//! MongoDB-wire server killed mid-run.

use crate::util::doubles::{Double, Failure};
use crate::util::request;
use cutover::cassette::{Header, Kind, Reader, Request, Writer};
use cutover::kv::memory::{Memory, Workload};
use cutover::replay::shard::Shard;
use cutover::replay::{self, Pair, ReplayOptions, ReplayRun, RequestResult, SideName, Status};
use cutover::targets::Target;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use cutover::replay::Collect;

/// A memory store named `dying` that answers the first `works_for` calls and then fails
/// every call (`execute` and `dump`) as `death` says.
fn dying(works_for: usize, death: Failure) -> Arc<Double> {
    Arc::new(
        Double::memory()
            .named("dying")
            .dying_after(works_for, death),
    )
}

/// A memory store named `dying` that refuses every request except each `every`-th by seq,
/// and never dies.
fn flaky(every: u64) -> Arc<Double> {
    Arc::new(Double::memory().named("dying").answering_only_every(every))
}

/// Replays `requests` on the pair and returns every result and the run.
async fn replay_on(
    requests: impl Iterator<Item = Request>,
    legacy: Arc<dyn Target>,
    candidate: Arc<dyn Target>,
    options: ReplayOptions,
) -> (Vec<RequestResult>, ReplayRun) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let mut writer = Writer::create(&path, &Header::new("kv")).unwrap();
    for r in requests {
        writer.write(&r).unwrap();
    }
    writer.finish().unwrap();
    let pair = Pair { legacy, candidate };
    let mut all = Collect::default();
    let run = replay::replay(
        Reader::open(&path).unwrap(),
        &pair,
        &options,
        &mut [&mut all],
    )
    .await
    .unwrap();
    (all.0, run)
}

fn failure(side: &replay::Side) -> &str {
    side.failure.as_deref().unwrap_or("")
}

fn never_sent(r: &RequestResult) -> bool {
    failure(&r.legacy).starts_with("not sent: ")
}

fn abandoned(r: &RequestResult) -> bool {
    failure(&r.legacy).starts_with("abandoned in flight: ")
}

/// Checks what every run that stopped must show: every request has one result, in
/// cassette order; those left by the stop are inconclusive, name the cause on both sides,
/// and are as many as the stop says.
fn check_stopped(results: &[RequestResult], total: u64, run: &ReplayRun) {
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "one result each, in order"
    );
    assert_eq!(run.requests, total);
    let stop = run.stopped.as_ref().expect("the run stopped");
    let left: Vec<&RequestResult> = results
        .iter()
        .filter(|r| never_sent(r) || abandoned(r))
        .collect();
    assert_eq!(left.len() as u64, stop.not_sent);
    let cause = format!(
        "the {} target ({}) stopped answering ({} infrastructure failures in a row, the first at seq {}: {})",
        stop.side, stop.target, stop.failures, stop.first_seq, stop.first_error
    );
    for r in &left {
        assert_eq!(r.status, Status::Inconclusive, "seq {}", r.seq);
        assert!(failure(&r.legacy).ends_with(&cause), "{:?}", r.legacy);
        assert_eq!(r.legacy.failure, r.candidate.failure);
    }
    // Everything after the last request that was answered is left.
    let last = results.last().unwrap();
    assert!(never_sent(last), "{last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_that_hangs_stops_the_run_after_five_timeouts_not_one_per_request() {
    let (k, total) = (40, 300);
    let legacy = dying(k, Failure::Hang);
    let options = ReplayOptions {
        timeout: Duration::from_millis(100),
        ..ReplayOptions::default()
    };
    // One key (and keyless scans): requests run one at a time in cassette order.
    let workload: Vec<Request> = Workload::new(total, 1, 3).scan_every(25).collect();
    let (results, run) = replay_on(
        workload.clone().into_iter(),
        legacy.clone(),
        Arc::new(Memory::new()),
        options,
    )
    .await;
    check_stopped(&results, total, &run);
    let stop = run.stopped.as_ref().unwrap();
    // In cassette order: the first to fail is the one after the `k` answered.
    assert_eq!(
        (stop.side, stop.target.as_str(), stop.failures),
        (SideName::Legacy, "dying", 5)
    );
    assert_eq!(stop.first_seq, workload[k].seq);
    assert!(stop.first_error.contains("timed out"), "{stop:?}");
    assert!(results[..k].iter().all(|r| r.status == Status::Equal));
    // Exactly five requests waited for the timeout; none after them was sent.
    let timed_out: Vec<u64> = results
        .iter()
        .filter(|r| failure(&r.legacy).starts_with("timed out"))
        .map(|r| r.index)
        .collect();
    assert_eq!(timed_out, (k as u64..k as u64 + 5).collect::<Vec<_>>());
    assert!(results[k + 5..].iter().all(never_sent));
    assert_eq!(stop.not_sent, total - k as u64 - 5);
    assert_eq!(legacy.executed(), k + 5);
    assert!(results[k + 5].legacy.failure.as_deref().unwrap().starts_with(
        "not sent: the legacy target (dying) stopped answering (5 infrastructure failures in a row, the first at seq"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_that_refuses_stops_the_run_and_nothing_unsent_reaches_it() {
    let (k, total) = (100, 2000);
    let candidate = dying(k, Failure::Refuse);
    let options = ReplayOptions {
        concurrency: 8,
        ..ReplayOptions::default()
    };
    let (results, run) = replay_on(
        Workload::new(total, 50, 5).scan_every(40),
        Arc::new(Memory::new()),
        candidate.clone(),
        options,
    )
    .await;
    check_stopped(&results, total, &run);
    let stop = run.stopped.as_ref().unwrap();
    assert_eq!(
        (stop.side, stop.target.as_str(), stop.failures),
        (SideName::Candidate, "dying", 5)
    );
    assert!(
        stop.first_error.starts_with("connection refused"),
        "{stop:?}"
    );
    let first = results.iter().find(|r| r.seq == stop.first_seq).unwrap();
    assert!(failure(&first.candidate).starts_with("connection refused"));
    // The legacy answered everything it was asked: its own count never moved.
    assert!(results
        .iter()
        .filter(|r| !never_sent(r) && !abandoned(r))
        .all(|r| r.legacy.failure.is_none()));
    // Nothing the stop left unsent reached the candidate.
    let (sent, cut) = (
        results.iter().filter(|r| !never_sent(r)).count(),
        results.iter().filter(|r| abandoned(r)).count(),
    );
    let executed = candidate.executed();
    assert!(
        (sent - cut..=sent).contains(&executed),
        "{executed} executed, {sent} sent, {cut} abandoned"
    );
    assert!(
        results
            .iter()
            .filter(|r| r.candidate.failure.is_none())
            .count()
            <= k
    );
    assert!(stop.not_sent as usize > total as usize - k - 8 - 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_when_the_run_stops_are_abandoned_not_waited_for() {
    let (k, total) = (100, 2000);
    let candidate = dying(k, Failure::Hang);
    let options = ReplayOptions {
        concurrency: 8,
        timeout: Duration::from_millis(500),
        ..ReplayOptions::default()
    };
    let (results, run) = replay_on(
        Workload::new(total, 50, 5).scan_every(0),
        Arc::new(Memory::new()),
        candidate.clone(),
        options,
    )
    .await;
    check_stopped(&results, total, &run);
    let stop = run.stopped.as_ref().unwrap();
    assert_eq!((stop.side, stop.failures), (SideName::Candidate, 5));
    // A call that hangs times out in `execute`, or in the `dump` of a request whose
    // `execute` answered just before the store died ("reading state: timed out ...").
    let hung = |why: &str| why.ends_with("timed out after 500ms");
    assert!(hung(&stop.first_error), "{stop:?}");
    // Eight at a time over fifty keys: the first eight calls that hang start together and
    // time out together. Which of them the stop finds still in flight depends on when the
    // scheduler lets each timer fire (on a loaded machine several finish in one burst), so
    // the counts are bounded, not exact: at least the five in a row timed out; the calls
    // started in place of the first four (hanging for a whole timeout) are cut off; and no
    // more than the eight slots' worth besides the fifth is either.
    let cut: Vec<&RequestResult> = results.iter().filter(|r| abandoned(r)).collect();
    let timed_out = results
        .iter()
        .filter(|r| hung(failure(&r.candidate)))
        .count();
    assert!(timed_out >= 5, "{timed_out} timed out");
    assert!(!cut.is_empty(), "nothing in flight was abandoned");
    assert!(
        timed_out + cut.len() <= 5 + 7,
        "{timed_out} timed out and {} cut off: more than eight slots hold",
        cut.len()
    );
    // None of those never sent reached the candidate (a job cut off may not have either).
    let sent = results.iter().filter(|r| !never_sent(r)).count();
    let executed = candidate.executed();
    assert!(
        (sent - cut.len()..=sent).contains(&executed),
        "{executed} of {sent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_not_in_a_row_do_not_stop_the_run() {
    let total = 200;
    // Four failures, then an answer, over and over: never five in a row. One key, one
    // request at a time: they finish in cassette order.
    let options = ReplayOptions {
        concurrency: 1,
        ..ReplayOptions::default()
    };
    let (results, run) = replay_on(
        Workload::new(total, 1, 7).scan_every(0),
        Arc::new(Memory::new()),
        flaky(5),
        options.clone(),
    )
    .await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    assert_eq!(results.len() as u64, total);
    assert!(!results.iter().any(|r| never_sent(r) || abandoned(r)));
    let refused = results
        .iter()
        .filter(|r| failure(&r.candidate).starts_with("connection refused"))
        .count();
    assert_eq!(refused as u64, total - total / 5);

    // The same four in a row reach a limit of four.
    let (results, run) = replay_on(
        Workload::new(total, 1, 7).scan_every(0),
        Arc::new(Memory::new()),
        flaky(5),
        ReplayOptions {
            max_infra_failures: 4,
            ..options.clone()
        },
    )
    .await;
    check_stopped(&results, total, &run);
    assert_eq!(run.stopped.as_ref().unwrap().first_seq, 1);

    // And a limit of 0 never stops, whatever fails.
    let (results, run) = replay_on(
        Workload::new(total, 1, 7).scan_every(0),
        Arc::new(Memory::new()),
        dying(0, Failure::Refuse),
        ReplayOptions {
            max_infra_failures: 0,
            ..options
        },
    )
    .await;
    assert!(run.stopped.is_none());
    assert!(results
        .iter()
        .all(|r| failure(&r.candidate).starts_with("connection refused")));
}

/// A request `op` on `key` at `seq`: a write with a key, a read without.
fn numbered(seq: u64, key: Option<&str>, op: &str) -> Request {
    let kind = if key.is_some() {
        Kind::Write
    } else {
        Kind::Read
    };
    request(seq, key, op, kind, json!({ "value": { "n": seq } }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_of_requests_run_only_for_context_count_too() {
    // Shard 1 of 2 runs the other shard's writes before its last keyless request for
    // context, unreported: ten of those come first, then five of its own and a scan.
    let keys = |shard| {
        (0..)
            .map(|i| format!("k{i}"))
            .filter(move |k| Shard::of_key(k, 2) == shard)
    };
    let mut requests: Vec<Request> = keys(2)
        .take(10)
        .chain(keys(1).take(5))
        .enumerate()
        .map(|(i, key)| numbered(i as u64 + 1, Some(key.as_str()), "put"))
        .collect();
    requests.push(numbered(16, None, "scan"));
    let options = ReplayOptions {
        concurrency: 1,
        shard: Some(Shard::new(1, 2).unwrap().knowing_last_keyless(Some(16))),
        ..ReplayOptions::default()
    };
    let (results, run) = replay_on(
        requests.into_iter(),
        dying(0, Failure::Refuse),
        Arc::new(Memory::new()),
        options,
    )
    .await;
    let stop = run
        .stopped
        .as_ref()
        .expect("the context requests' failures count");
    assert_eq!((stop.side, stop.first_seq), (SideName::Legacy, 1));
    assert_eq!(stop.not_sent, 6, "the shard's own five writes and its scan");
    let seqs: Vec<u64> = results.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![11, 12, 13, 14, 15, 16]);
    assert!(results.iter().all(never_sent));
}

/// `cutover demo` with its MongoDB-wire server killed a few seconds in: the run stops,
/// exits 2 naming the legacy, and still accounts for every request.
#[test]
fn killing_the_legacy_store_during_the_demo_stops_the_run_with_every_request_accounted_for() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cassette = root.join("fixtures/conversations-100.jsonl");
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("demo")
        .arg("--cassette")
        .arg(&cassette)
        .arg("--rules")
        .arg(root.join("fixtures/conversations.rules.toml"))
        .arg("--out")
        .arg(out.path())
        .args(["--format", "json"])
        // The fixture as recorded: every line of it is accounted for below.
        .arg("--no-probes")
        // The demo must start its own server, the one this test kills.
        .env_remove("MONGODB_URI")
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cutover demo starts");
    let stdout = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let (lines, stderr_lines) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut stderr = Vec::new();

    // The first run may install SecantusDB: allow for it.
    let start = Instant::now();
    let pid = loop {
        let line = match stderr_lines.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() < Duration::from_secs(600) => {
                continue
            }
            Err(e) => {
                let _ = child.kill();
                panic!("no MongoDB wire line from the demo ({e}); stderr so far: {stderr:#?}");
            }
        };
        stderr.push(line.clone());
        if let Some(rest) = line.strip_prefix("MongoDB wire: ") {
            let pid = rest
                .split_once("(pid ")
                .and_then(|(_, p)| p.split_once(')'))
                .and_then(|(p, _)| p.parse::<i32>().ok());
            match pid {
                Some(pid) => break pid,
                None => {
                    let _ = child.kill();
                    panic!("the demo did not start its own MongoDB-wire server: {line}");
                }
            }
        }
    };
    // Kill it once results are flowing: the results file has had its first buffer written.
    let partial = out.path().join("results.jsonl.partial");
    let flowing = Instant::now();
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        if flowing.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("no results flowing; stderr: {stderr:#?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on a pid the demo just named as its own server's.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "killing {pid}"
    );

    let killed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if killed.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo had not exited 120 s after its legacy store was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stderr.extend(stderr_lines.iter());
    let stderr = stderr.join("\n");
    let stdout = stdout.join().unwrap();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("error: the legacy target (mongodb) stopped answering: 5 infrastructure failures in a row, the first at seq"),
        "stderr: {stderr}"
    );

    let requests = std::fs::read_to_string(&cassette).unwrap().lines().count() - 1;
    assert_eq!(requests, 3812);
    let results: Vec<RequestResult> = std::fs::read_to_string(out.path().join("results.jsonl"))
        .expect("results.jsonl is written")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), requests, "one line per request");
    assert!(results.iter().enumerate().all(|(i, r)| r.index == i as u64));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report, serde_json::from_str::<Value>(&stdout).unwrap());
    let stop = &report["stopped"];
    assert_eq!(stop["side"], "legacy", "{stop}");
    assert_eq!(stop["target"], "mongodb");
    let not_sent = stop["not_sent"].as_u64().unwrap();
    assert!(not_sent > 0);
    assert_eq!(report["totals"]["total"], requests as u64);
    let first = results
        .iter()
        .find(|r| r.seq == stop["first_seq"].as_u64().unwrap())
        .unwrap();
    assert!(first.legacy.failure.is_some(), "{first:?}");
    // Those the stop left are inconclusive, name the legacy, and are as many as it says.
    let left: Vec<&RequestResult> = results
        .iter()
        .filter(|r| never_sent(r) || abandoned(r))
        .collect();
    assert_eq!(left.len() as u64, not_sent);
    assert!(left.iter().all(|r| r.status == Status::Inconclusive
        && failure(&r.legacy).contains("the legacy target (mongodb) stopped answering")));
    // After the failure, a request is inconclusive unless the legacy had answered it
    // before it died (it ran ahead of an earlier request of another key).
    assert!(results[first.index as usize..]
        .iter()
        .all(|r| r.status == Status::Inconclusive || r.legacy.failure.is_none()));
    assert!(never_sent(results.last().unwrap()));
}
