//! The race check on real servers: the read-modify-write `update_conversation` and the
//! attachment index, on the correct repositories and on planted races (a PostgreSQL
//! repository whose writes take no row lock; one whose `attach` computes the index before
//! the lock). Each concurrent run injects a pause between load and save, so the race
//! window is wider than any jitter: the planted races show without depending on luck.

use crate::util::doubles::Double;
use cutover::cassette::{Header, Writer};
use cutover::gate::{self, Clause, GateVerdict, Policy};
use cutover::kv::memory::Memory;
use cutover::normalize::Rules;
use cutover::races::{self, Grouping, RaceClass, RaceOptions, RaceReport};
use cutover::replay::Pair;
use cutover::report::{Report, Verdict};
use cutover_conversations::generate::concurrent;
use cutover_conversations::postgres::Queries;
use cutover_conversations::setup::Servers;
use cutover_conversations::strategy;
use cutover_conversations::DomainTarget;
use proptest::prop_assert;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The scenario's cassette, written to `dir`.
fn cassette(dir: &Path) -> PathBuf {
    let path = dir.join("races.jsonl");
    let mut w = Writer::create(&path, &Header::new("conversations")).unwrap();
    concurrent::scenario()
        .iter()
        .for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
    path
}

fn options() -> RaceOptions {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml");
    RaceOptions {
        grouping: Grouping::Overlap,
        schedules: 6,
        pause: Duration::from_millis(30),
        rules: Some(Arc::new(Rules::load(rules).unwrap())),
        ..RaceOptions::default()
    }
}

/// The check of the cassette's two groups with MongoDB as legacy and PostgreSQL built from
/// `queries` as candidate (or a second MongoDB database).
async fn check(servers: &Servers, candidate: Option<Queries>) -> RaceReport {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette(dir.path());
    let groups = races::groups(&path, Grouping::Overlap, 4, 16).unwrap();
    assert_eq!(
        groups.iter().map(|g| g.seqs()).collect::<Vec<_>>(),
        [vec![3, 4, 5], vec![6, 7]]
    );
    assert_eq!(
        groups[0].history.len(),
        1,
        "the create of c-rmw, not c-att's"
    );
    let (legacy, _l) = servers.legacy().await.unwrap();
    let pair = match candidate {
        Some(queries) => {
            let (pg, db) = servers.candidate(queries).await.unwrap();
            let report = races::check(
                &Pair {
                    legacy: Arc::new(DomainTarget(legacy)),
                    candidate: Arc::new(DomainTarget(pg)),
                },
                &groups,
                &options(),
            )
            .await
            .unwrap();
            drop(db);
            return report;
        }
        None => {
            let (other, db) = servers.legacy().await.unwrap();
            (
                Pair {
                    legacy: Arc::new(DomainTarget(legacy)),
                    candidate: Arc::new(DomainTarget(other)),
                },
                db,
            )
        }
    };
    races::check(&pair.0, &groups, &options()).await.unwrap()
}

fn verdicts(r: &RaceReport) -> Vec<(Vec<String>, RaceClass)> {
    r.groups
        .iter()
        .map(|g| (g.ops.clone(), g.verdict))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn correct_repositories_are_serializable_and_planted_races_are_atomicity() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let rmw = vec!["update_conversation".to_string(); 3];
    let att = vec!["attach".to_string(); 2];

    // The correct pair: every concurrent run is one of the serial orders' results.
    let good = check(&servers, Some(Queries::default())).await;
    assert_eq!(
        verdicts(&good),
        [
            (rmw.clone(), RaceClass::Serializable),
            (att.clone(), RaceClass::Serializable)
        ],
        "{:#?}",
        good.findings
    );
    assert!(good.legacy_pauses && good.candidate_pauses);
    assert_eq!(
        good.groups[0].candidate.serial_outcomes, 6,
        "3 requests, 6 orders"
    );
    assert_eq!(good.groups[0].candidate.explained, 6);

    // MongoDB against itself: atomic per document (an optimistic version on every write).
    let mongo = check(&servers, None).await;
    assert_eq!(
        verdicts(&mongo),
        [
            (rmw.clone(), RaceClass::Serializable),
            (att.clone(), RaceClass::Serializable)
        ],
        "{:#?}",
        mongo.findings
    );

    // No row lock: two services each load the conversation, change it and save it whole;
    // the later save writes back the state it loaded, and one change is lost.
    let unlocked = check(
        &servers,
        Some(Queries {
            lock: "SELECT 1 FROM conversation WHERE id = $1".into(),
            ..Queries::default()
        }),
    )
    .await;
    assert_eq!(
        unlocked.groups[0].verdict,
        RaceClass::Atomicity,
        "{unlocked:#?}"
    );
    let lost = &unlocked.findings[0];
    assert_eq!(
        (lost.class, lost.side.as_str()),
        (RaceClass::Atomicity, "candidate")
    );
    assert_eq!(lost.seqs, [3, 4, 5]);
    assert_eq!(
        lost.serial.len(),
        6,
        "compared with every serial order's result"
    );
    let participants = |state: &Option<Value>| {
        state.as_ref().unwrap()["participants"]
            .as_array()
            .unwrap()
            .len()
    };
    let messages = |state: &Option<Value>| {
        state.as_ref().unwrap()["messages"]
            .as_array()
            .unwrap()
            .len()
    };
    // Every serial order keeps all three changes; the lost update does not.
    for s in &lost.serial {
        assert_eq!((participants(&s.state), messages(&s.state)), (3, 2));
    }
    let observed = &lost.observed.state;
    assert!(
        participants(observed) < 3
            || messages(observed) < 2
            || observed.as_ref().unwrap()["subject"] != "new plans",
        "a change is missing from {observed:?}"
    );
    assert_eq!(
        unlocked.groups[1].verdict,
        RaceClass::Atomicity,
        "attach takes no lock either"
    );

    // The attachment index computed before the lock: both attachments get index 0; the
    // second insert then violates the key and fails.
    let early = check(
        &servers,
        Some(Queries {
            attach_index_locked: false,
            ..Queries::default()
        }),
    )
    .await;
    assert_eq!(
        verdicts(&early),
        [(rmw, RaceClass::Serializable), (att, RaceClass::Atomicity)],
        "{:#?}",
        early.findings
    );
    let found = early
        .findings
        .iter()
        .find(|f| f.class == RaceClass::Atomicity)
        .unwrap();
    let kinds: Vec<String> = found
        .observed
        .answers
        .iter()
        .map(|a| serde_json::to_value(a).unwrap().to_string())
        .collect();
    assert!(
        kinds.iter().any(|k| k.contains("conflict")),
        "one attach fails: {kinds:?}"
    );
}

/// Runs generated groups through the race check with `queries` as the candidate,
/// `schedules` concurrent runs each; a case fails when the candidate shows atomicity.
fn run_generated(
    queries: Queries,
    config: Config,
    schedules: usize,
) -> Result<(), TestError<strategy::concurrent::RaceCase>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let servers = runtime
        .block_on(Servers::start())
        .expect("the servers start (see the error for what to install)");
    let (legacy, _mongo) = runtime.block_on(servers.legacy()).unwrap();
    let (candidate, _pg) = runtime.block_on(servers.candidate(queries)).unwrap();
    let pair = Pair {
        legacy: Arc::new(DomainTarget(legacy)),
        candidate: Arc::new(DomainTarget(candidate)),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner.run(&strategy::concurrent::case(), |case| {
        let path = dir.path().join("case.jsonl");
        write(
            &path,
            &Header::new("conversations"),
            &strategy::concurrent::requests(&case),
        );
        let report = runtime.block_on(check_file(&pair, &path, schedules));
        let group = &report.groups[0];
        prop_assert!(group.verdict != RaceClass::Inconclusive, "{:?}", group);
        if group.verdict == RaceClass::Atomicity {
            return Err(TestCaseError::fail(format!(
                "atomicity: {:?}",
                report.findings[0].observed
            )));
        }
        Ok(())
    })
}

fn write(path: &Path, header: &Header, requests: &[cutover::cassette::Request]) {
    let mut w = Writer::create(path, header).unwrap();
    requests.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
}

/// The race check of the cassette at `path` (its overlapping groups), `schedules` each.
async fn check_file(pair: &Pair, path: &Path, schedules: usize) -> RaceReport {
    let groups = races::groups(path, Grouping::Overlap, 4, 16).unwrap();
    assert!(
        !groups.is_empty(),
        "{} has a concurrent group",
        path.display()
    );
    let options = RaceOptions {
        schedules,
        ..options()
    };
    races::check(pair, &groups, &options).await.unwrap()
}

#[test]
fn generated_groups_are_serializable_on_the_correct_repositories() {
    let config = Config {
        cases: 8,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/races-generated.txt",
        ))),
        ..Config::default()
    };
    if let Err(e) = run_generated(Queries::default(), config, 3) {
        panic!("{e}");
    }
}

#[test]
fn a_planted_race_shrinks_to_a_minimal_group_kept_as_a_regression_cassette() {
    let config = Config {
        cases: 32,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    };
    // A lost update shows only when the write that loses runs last, about one schedule in
    // two: each shrinking step must show it again or shrinking stops early. With up to 200
    // steps, 12 schedules a step (a miss one step in 4,096) left a run stuck above the
    // minimum about one time in twenty; 24 (one step in 16.7 million) make it negligible.
    let minimal = match run_generated(crate::generated::defect("no_row_lock"), config, 24) {
        Err(TestError::Fail(_, case)) => case,
        other => panic!("the missing row lock is found: {other:?}"),
    };
    assert_eq!(
        minimal.group.len(),
        2,
        "shrunk to a group of two: {minimal:#?}"
    );
    assert!(
        minimal.group.iter().all(|r| r.changes.len() == 1),
        "{minimal:#?}"
    );

    // Kept as a regression cassette (written once, then checked by `generated`'s test of
    // every regression cassette).
    let path = crate::generated::regressions().join("no_row_lock_race.jsonl");
    if !path.exists() {
        let mut header = Header::new("conversations");
        header.meta.insert("defect".into(), "no_row_lock".into());
        header.meta.insert("check".into(), "races".into());
        write(&path, &header, &strategy::concurrent::requests(&minimal));
    }
    shows_its_race(&path, "no_row_lock");
}

/// A race regression cassette: atomicity on the defect it names, serializable on the
/// correct candidate.
pub(crate) fn shows_its_race(path: &Path, defect: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let servers = Servers::start().await.expect("the servers start");
        for (queries, expected) in [
            (crate::generated::defect(defect), RaceClass::Atomicity),
            (Queries::default(), RaceClass::Serializable),
        ] {
            let (legacy, _m) = servers.legacy().await.unwrap();
            let (candidate, _p) = servers.candidate(queries).await.unwrap();
            let pair = Pair {
                legacy: Arc::new(DomainTarget(legacy)),
                candidate: Arc::new(DomainTarget(candidate)),
            };
            let report = check_file(&pair, path, 6).await;
            assert_eq!(
                report.groups[0].verdict,
                expected,
                "{}: {report:#?}",
                path.display()
            );
        }
    });
}

/// The key-value fixture's write groups, on two in-memory stores (or a dead candidate).
async fn kv_check(candidate: Arc<dyn cutover::targets::Target>) -> RaceReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kv-demo.jsonl");
    let groups = races::groups(&path, Grouping::Writes, 3, 5).unwrap();
    assert_eq!(groups.len(), 5);
    assert!(groups.iter().all(|g| g.requests.len() == 3));
    let pair = Pair {
        legacy: Arc::new(Memory::new()),
        candidate,
    };
    let options = RaceOptions {
        grouping: Grouping::Writes,
        schedules: 4,
        max_infra_failures: 3,
        ..RaceOptions::default()
    };
    races::check(&pair, &groups, &options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stops_answering_ends_the_race_check_with_every_group_inconclusive() {
    // Two in-memory stores: atomic per request, every group serializable.
    let fine = kv_check(Arc::new(Memory::new())).await;
    assert!(
        fine.groups
            .iter()
            .all(|g| g.verdict == RaceClass::Serializable),
        "{fine:#?}"
    );
    assert!(!fine.legacy_pauses && fine.stopped.is_none());

    // A target whose store is gone: every call is refused at once.
    let dead = kv_check(Arc::new(Double::memory().named("gone").gone())).await;
    assert!(
        dead.groups
            .iter()
            .all(|g| g.verdict == RaceClass::Inconclusive),
        "{:#?}",
        dead.groups
    );
    let stopped = dead.stopped.as_deref().expect("the check says it stopped");
    assert!(stopped.contains("candidate side (gone)"), "{stopped}");
    assert!(dead.groups[0]
        .candidate
        .failure
        .as_deref()
        .unwrap()
        .contains("refused"));
    // After 3 failed trials nothing more is sent to the dead side.
    let later = &dead.groups[4].candidate;
    assert!(
        later.failure.as_deref().unwrap().contains("not run"),
        "{later:?}"
    );

    // In a report: an equivalent replay with an unjudged race check is inconclusive, and
    // the gate rejects it under its atomicity clause.
    let report = Report {
        verdict: Verdict::Equivalent,
        ..serde_json::from_value::<Report>(minimal_report()).unwrap()
    }
    .with_races(dead);
    assert_eq!(report.verdict, Verdict::Inconclusive);
    let text = cutover::report::render::report(&report);
    assert!(
        text.contains("INCONCLUSIVE: 5 concurrent groups could not be judged"),
        "{text}"
    );
    assert!(
        text.contains("STOPPED: the candidate side (gone)"),
        "{text}"
    );
    let decision = gate::evaluate(&report, [], &policy(""), today());
    assert_eq!(decision.verdict, GateVerdict::Rejected);
    assert!(
        decision
            .reasons
            .iter()
            .any(|r| r.clause == Clause::Atomicity
                && r.message
                    .contains("5 of 5 concurrent groups could not be judged")),
        "{:?}",
        decision.reasons
    );
}

fn minimal_report() -> Value {
    serde_json::json!({
        "cutover_report": 1, "verdict": "equivalent",
        "cassette": { "path": "c.jsonl", "domain": "kv" },
        "legacy": "memory", "candidate": "memory", "elapsed_ms": 1, "requests_per_second": 1.0,
        "totals": { "total": 0, "equal": 0, "divergent": 0, "inconclusive": 0 },
        "latency_us": { "legacy": { "p50": 0, "p95": 0, "p99": 0, "max": 0 },
                        "candidate": { "p50": 0, "p95": 0, "p99": 0, "max": 0 } },
        "operations": {}, "examples": []
    })
}

fn policy(extra: &str) -> Policy {
    Policy::parse(&format!("[gate]\n{extra}"), "policy.toml").unwrap()
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_atomicity_group_fails_the_verdict_the_gate_and_every_document() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let races = check(
        &servers,
        Some(crate::generated::defect("attach_index_before_lock")),
    )
    .await;
    let base: Report = serde_json::from_value(minimal_report()).unwrap();
    let report = base.clone().with_races(races.clone());
    assert_eq!(report.verdict, Verdict::Divergent);

    // The gate: rejected by default, approved when the policy allows one such group; a
    // policy that requires a race check rejects a run without one.
    let rejected = gate::evaluate(&report, [], &policy(""), today());
    assert_eq!(rejected.verdict, GateVerdict::Rejected);
    let reason = &rejected.reasons[0];
    assert_eq!(
        (reason.clause, reason.op.as_deref()),
        (Clause::Atomicity, Some("attach"))
    );
    assert!(reason.message.contains("seqs [6, 7]"), "{}", reason.message);
    let allowed = gate::evaluate(&report, [], &policy("max_atomicity = 1"), today());
    assert_eq!(
        allowed.verdict,
        GateVerdict::Approved,
        "{:?}",
        allowed.reasons
    );
    let missing = gate::evaluate(&base, [], &policy("require_races = true"), today());
    assert_eq!(missing.verdict, GateVerdict::Rejected);
    assert!(missing.reasons[0].message.contains("requires a race check"));
    let empty = base.clone().with_races(RaceReport {
        grouping: "overlap".into(),
        ..RaceReport::default()
    });
    let nothing = gate::evaluate(&empty, [], &policy("require_races = true"), today());
    assert_eq!(nothing.verdict, GateVerdict::Rejected);
    assert!(nothing.reasons[0]
        .message
        .contains("found no concurrent group"));
    let optional = gate::evaluate(&empty, [], &policy(""), today());
    assert_eq!(optional.verdict, GateVerdict::Approved);

    // Every document carries the group, and the finding's serial outcomes.
    let markdown = cutover::publish::markdown::render(&report, Some(&rejected));
    assert!(markdown.contains("### Race check"), "{markdown}");
    assert!(
        markdown.contains("| atomicity | `c-att` | [6, 7] | attach, attach |"),
        "{markdown}"
    );
    assert!(markdown.contains("serial [6, 7]") && markdown.contains("serial [7, 6]"));
    let html = cutover::publish::html::render(&report, None, None);
    assert!(
        html.contains("<section id=\"races\">")
            && html.contains("atomicity: key <code>c-att</code>")
    );
    let junit = cutover::publish::junit::render(&report, None);
    assert!(
        junit.contains("races c-att [6, 7] attach") && junit.contains("<failure"),
        "{junit}"
    );
    assert!(junit.contains("races c-rmw [3, 4, 5] update_conversation"));
    let text = cutover::report::render::report(&report);
    assert!(
        text.contains("1 concurrent groups no serial order explains (atomicity)"),
        "{text}"
    );
}
