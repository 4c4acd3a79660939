//! A team's own domain, declared only in its file: `examples/tasks`, a Python repository
//! with store-generated ids moving from SQLite to PostgreSQL behind `exec:` adapters.
//! Nothing of it is compiled into cutover. Coverage lists its gaps, probes derived from the
//! declaration make the planted edge defects the recorded traffic misses divergent, the
//! correct repository stays equivalent with probes over ten seeds, and `check-target`
//! checks the adapter against the declaration (from `--domain` or the handshake).

use crate::util::{cutover, replay};
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use std::path::{Path, PathBuf};
use std::process::Command;

const DOMAIN: &str = "examples/tasks/domain.toml";
const LEGACY: &str = "exec:python3 examples/tasks/adapter.py --store sqlite";

/// The edge defects of the PostgreSQL repository that the recorded traffic misses.
const EDGE_DEFECTS: [&str; 8] = [
    "bound-exclusive",
    "like-unescaped",
    "case-sensitive-search",
    "offset-past-end-error",
    "complete-twice-ok",
    "invalid-priority-accepted",
    "limit-zero-all",
    "title-trimmed",
];

/// The example's virtualenv (psycopg), installed by its own `setup.sh`.
fn python() -> PathBuf {
    let done = Command::new("bash")
        .arg("examples/tasks/setup.sh")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "examples/tasks/setup.sh failed (it installs psycopg from PyPI): {}{}",
        stdout,
        String::from_utf8_lossy(&done.stderr)
    );
    PathBuf::from(stdout.lines().last().expect("the venv's python").trim())
}

async fn database() -> FreshPostgres {
    let server = PostgresServer::start()
        .await
        .expect("PostgreSQL is reachable (see the error for what to install)");
    server.fresh_database().await.unwrap()
}

fn candidate(python: &Path, db: &FreshPostgres, defect: Option<&str>) -> String {
    let env = defect
        .map(|d| format!("TASKS_DEFECT={d} "))
        .unwrap_or_default();
    // The database's URL as libpq reads it (sqlx adds options of its own).
    let url = db.url();
    let url = url.split('?').next().unwrap_or(&url);
    format!(
        "exec:{env}{} examples/tasks/adapter.py --store postgres --url {url}",
        python.display()
    )
}

/// Writes the seed's recorded cassette and the same with its probes.
fn cassettes(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let plain = dir.join(format!("tasks-{seed}.jsonl"));
    let done = Command::new("python3")
        .args([
            "examples/tasks/generate.py",
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let probed = dir.join(format!("tasks-{seed}-probed.jsonl"));
    let done = cutover()
        .arg("probe")
        .arg(&plain)
        .arg("--out")
        .arg(&probed)
        .args(["--domain", DOMAIN])
        .output()
        .unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    (plain, probed)
}

fn verdict(cassette: &Path, out: &Path, candidate: &str) -> (String, serde_json::Value) {
    let done = replay(
        cassette,
        out,
        &[
            "--domain",
            DOMAIN,
            "--legacy",
            LEGACY,
            "--candidate",
            candidate,
        ],
    );
    let verdict = done.report["verdict"]
        .as_str()
        .unwrap_or("none")
        .to_string();
    assert!(
        done.code == Some(0) || done.code == Some(1),
        "{verdict}: {}",
        done.stderr
    );
    (verdict, done.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_defects_the_traffic_misses_are_divergent_with_probes_only() {
    let python = python();
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let (plain, probed) = cassettes(dir.path(), 1);

    // A draft from the recording: what the reviewed declaration says of ids and order.
    let draft = dir.path().join("draft.toml");
    let done = cutover()
        .args(["domain", "infer"])
        .arg(&plain)
        .arg("--out")
        .arg(&draft)
        .output()
        .unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let drafted = cutover::declaration::Declaration::load(&draft).unwrap();
    let reviewed = cutover::declaration::Declaration::load(Path::new(DOMAIN)).unwrap();
    let create = drafted.op("create_task").unwrap();
    assert_eq!(create.key, cutover::declaration::KeyMode::Generated);
    assert_eq!(create.generated_key.as_deref(), Some("id"));
    assert_eq!(
        drafted.op("list_tasks").unwrap().list,
        reviewed.op("list_tasks").unwrap().list
    );
    for op in &reviewed.ops {
        let guessed = drafted.op(&op.name).unwrap();
        assert_eq!(
            (guessed.kind, guessed.key),
            (op.kind, op.key),
            "{}",
            op.name
        );
    }

    // Coverage from the declaration alone names the edges the traffic missed.
    let done = cutover()
        .arg("coverage")
        .arg(&plain)
        .args(["--domain", DOMAIN])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{table}");
    assert!(table.starts_with("Coverage (tasks): "), "{table}");
    for gap in [
        "argument search with % or _",
        "argument due_to equals a stored due",
        "outcome conflict",
    ] {
        assert!(table.contains(gap), "{gap}: {table}");
    }

    let (correct, report) = verdict(
        &probed,
        &dir.path().join("correct"),
        &candidate(&python, &db, None),
    );
    assert_eq!(correct, "equivalent", "{report:#}");
    let mut caught = Vec::new();
    for defect in EDGE_DEFECTS {
        let spec = candidate(&python, &db, Some(defect));
        let (without, _) = verdict(&plain, &dir.path().join(format!("{defect}-plain")), &spec);
        assert_eq!(
            without, "equivalent",
            "{defect}: the recorded traffic alone misses it"
        );
        let (with, report) = verdict(&probed, &dir.path().join(format!("{defect}-probed")), &spec);
        eprintln!("{defect}: without probes {without}, with probes {with}");
        if with == "divergent" {
            assert_eq!(
                report["probes"]["divergent"], report["totals"]["divergent"],
                "{defect}: only probes diverge"
            );
            caught.push(defect);
        }
    }
    assert!(caught.len() >= 4, "caught with probes: {caught:?}");
    assert_eq!(
        caught, EDGE_DEFECTS,
        "every planted edge defect is caught on seed 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_repository_is_equivalent_with_probes_over_ten_seeds() {
    let python = python();
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let spec = candidate(&python, &db, None);
    for seed in 1..=10 {
        let (_, probed) = cassettes(dir.path(), seed);
        let (verdict, report) = verdict(&probed, &dir.path().join(format!("run-{seed}")), &spec);
        assert_eq!(
            verdict, "equivalent",
            "seed {seed}: a false alarm: {report:#}"
        );
        assert!(
            report["probes"]["total"].as_u64().unwrap() > 50,
            "seed {seed}"
        );
    }
}

#[test]
fn check_target_checks_the_adapter_against_the_declaration() {
    let check = |spec: &str, declared: bool| {
        let mut command = cutover();
        command.args(["check-target", spec]);
        if declared {
            command.args(["--domain", DOMAIN]);
        }
        let done = command.output().unwrap();
        (
            done.status.code(),
            String::from_utf8_lossy(&done.stdout).into_owned(),
        )
    };
    let (code, text) = check(LEGACY, true);
    assert_eq!(code, Some(0), "{text}");
    for passed in [
        "ok   create_task: a create from `example` reads back",
        "ok   create_task: priority outside its values is invalid",
        "ok   complete_task: an absent key is not_found",
        "ok   list_tasks: elements in the declared order, none twice: 3 elements in order",
    ] {
        assert!(text.contains(passed), "{passed}: {text}");
    }
    // The planted conformance defect, with the declaration from the handshake alone.
    let (code, text) = check(
        "exec:TASKS_DEFECT=list-unordered python3 examples/tasks/adapter.py --store sqlite --declare",
        false,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL list_tasks: elements in the declared order, none twice")
            && text.contains("out of the declared order (due, id)"),
        "{text}"
    );
    assert!(text.contains("1 of 15 checks failed"), "{text}");
    // Without a declaration, the generic checks only, and it says how to declare.
    let (code, text) = check(LEGACY, false);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("declare it (`--domain FILE`"), "{text}");
}

#[test]
fn a_declaration_that_cannot_be_used_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(DOMAIN).unwrap().replace(
        "invalid = \"invalid priority\"",
        "invalid = \"invalid prio\"",
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let done = cutover()
        .args(["coverage", "fixtures/kv-demo.jsonl", "--domain"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:") && stderr.contains("op `create_task`: errors.invalid"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no argument `prio` is declared"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_knows_the_domain_from_the_adapters_handshake() {
    let python = python();
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, probed) = cassettes(dir.path(), 2);
    let done = replay(
        &probed,
        &dir.path().join("run"),
        &[
            "--legacy",
            "exec:python3 examples/tasks/adapter.py --store sqlite --declare",
            "--candidate",
            &candidate(&python, &db, None),
        ],
    );
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        done.report["coverage"]["domain"], "tasks",
        "{:#}",
        done.report
    );
    assert!(done.report["coverage"]["rows"].as_array().unwrap().len() >= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_are_keyed_paired_with_the_candidates_own_ids_and_their_state_checked() {
    let python = python();
    let db = database().await;
    let dir = tempfile::tempdir().unwrap();
    let (plain, _) = cassettes(dir.path(), 3);
    // PostgreSQL numbers its tasks from 1000: no id is the recording's.
    let renumbered = |defect| candidate(&python, &db, defect) + " --id-start 1000";
    let (said, report) = verdict(&plain, &dir.path().join("ok"), &renumbered(None));
    assert_eq!(said, "equivalent", "{report:#}");
    let create = &report["operations"]["create_task"];
    assert!(
        create["requests"]["equal"].as_u64().unwrap() > 10,
        "{create:#}"
    );
    assert_eq!(
        create["writes_unchecked"].as_u64().unwrap_or(0),
        0,
        "{create:#}"
    );
    let gate = cutover()
        .arg("gate")
        .arg(dir.path().join("ok"))
        .args(["--policy", "examples/tasks/policy.toml"])
        .output()
        .unwrap();
    assert_eq!(
        gate.status.code(),
        Some(0),
        "no create is left unchecked: {}",
        String::from_utf8_lossy(&gate.stdout)
    );
    // A create that answers the due date it was given but stores none: caught at the
    // create's own state, the cause its echoes follow.
    let out = dir.path().join("defect");
    let (said, report) = verdict(&plain, &out, &renumbered(Some("create-drops-due")));
    assert_eq!(said, "divergent");
    let first = report["suggested_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["causes"].as_u64().unwrap_or(0) > 0)
        .max_by_key(|s| s["followed_by"].as_u64().unwrap_or(0))
        .expect("a cause");
    assert_eq!(
        (
            first["op"].as_str(),
            first["path"].as_str(),
            first["class"].as_str()
        ),
        (Some("create_task"), Some("$.due"), Some("state")),
        "{first:#}"
    );
}

/// Every key of `target`, `limit` at a time.
async fn every_key(target: &dyn cutover::targets::Target, limit: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let after = keys.last().map(String::as_str);
        let page = target
            .keys(after, limit)
            .await
            .unwrap()
            .expect("keys declared");
        let last = page.len() < limit;
        keys.extend(page);
        if last {
            return keys;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_stores_page_their_ids_by_value_and_dump_them_in_batches() {
    use cutover::cassette::{Kind, Request};
    use cutover::targets::{dump_each, KeyOrder};
    let python = python();
    let db = database().await;
    // PostgreSQL numbers from 8: its ids 8 and 9 come before 10 by value, not by text.
    let specs = [
        (LEGACY.to_string(), 1..=6),
        (candidate(&python, &db, None) + " --id-start 8", 8..=13),
    ];
    for (spec, ids) in specs {
        let target = cutover::targets::open(&spec).await.unwrap().unwrap();
        assert_eq!(target.key_order(), KeyOrder::Integer, "{spec}");
        target.reset().await.unwrap();
        for seq in 0..6 {
            let args = serde_json::json!({ "project": "p", "title": "t", "priority": "low" });
            let create = Request::new(seq, None, "create_task", Kind::Write, args, "t");
            target.execute(&create).await.unwrap();
        }
        let expected: Vec<String> = ids.map(|id| id.to_string()).collect();
        assert_eq!(every_key(target.as_ref(), 4).await, expected, "{spec}");
        let batch = [&expected[..3], &["7".to_string()]].concat();
        let dumped = target.dump_batch(&batch).await.unwrap();
        assert_eq!(dumped, dump_each(target.as_ref(), &batch).await.unwrap());
    }
}
