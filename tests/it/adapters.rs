//! Repositories in other languages behind the target protocol (`docs/src/protocol.md`): the
//! Python (`sqlite3`), Node and Rust `kv` adapters of `examples/adapters/` replay the kv
//! fixture equivalent, their planted defects divergent with the right classes; adapters
//! that die, answer garbage or hang end the run with exit 2 and every request reported;
//! `check-target` says what an adapter gets wrong; the conversations repositories are
//! reachable as named specs. `keys`: their keys paged in order and their batch dumps.
//! `events`: the events their writes publish, as `memory` publishes them, and the planted
//! event defects.

mod events;
mod keys;

use crate::util::{cutover, fixture, replay, with_database, Replayed};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const PYTHON: &str = "exec:python3 examples/adapters/kv.py";
const NODE: &str = "exec:node --harmony-json-parse-with-source examples/adapters/kv.js";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `cutover replay fixtures/kv-demo.jsonl` with the recording as the legacy and `candidate`
/// (run from the project root, which the specs' relative paths start from).
fn replay_kv(candidate: &str, extra: &[&str]) -> (Replayed, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["--legacy", "recorded", "--candidate", candidate];
    args.extend_from_slice(extra);
    (replay(&fixture("kv-demo.jsonl"), out.path(), &args), out)
}

fn totals(report: &Value) -> (u64, u64, u64) {
    let t = &report["totals"];
    (
        t["equal"].as_u64().unwrap(),
        t["divergent"].as_u64().unwrap(),
        t["inconclusive"].as_u64().unwrap(),
    )
}

/// The classes of `op` in a report, as `class:count`.
fn classes(report: &Value, op: &str) -> Value {
    report["operations"][op]["classes"].clone()
}

fn assert_equivalent(candidate: &str) {
    let (run, _out) = replay_kv(candidate, &[]);
    assert_eq!(run.code, Some(0), "{candidate}: {}", run.stderr);
    assert_eq!(totals(&run.report), (300, 0, 0), "{candidate}");
    assert_eq!(run.report["verdict"], "equivalent");
    // Every write's stored state was read through the adapter's dump and compared (the
    // count is written only when it is not 0; `drop-tags` shows the comparison bites).
    for op in ["put", "insert", "delete"] {
        assert!(run.report["operations"][op]["requests"]["total"].as_u64() > Some(0));
        assert!(
            run.report["operations"][op]["writes_unchecked"].is_null(),
            "{op}"
        );
    }
}

#[test]
fn the_python_adapter_over_sqlite_is_equivalent_and_its_defects_are_found() {
    assert_equivalent(PYTHON);
    let defect = |name: &str| {
        replay_kv(
            &format!("exec:KV_DEFECT={name} python3 examples/adapters/kv.py"),
            &[],
        )
        .0
    };

    let run = defect("scan-order");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(totals(&run.report), (295, 5, 0));
    assert_eq!(
        classes(&run.report, "scan"),
        serde_json::json!({"ordering": 5})
    );

    let run = defect("not-found-null");
    assert_eq!(run.code, Some(1));
    assert_eq!(
        classes(&run.report, "get"),
        serde_json::json!({"error": 55})
    );

    let run = defect("drop-tags");
    assert_eq!(run.code, Some(1));
    assert_eq!(
        classes(&run.report, "put"),
        serde_json::json!({"state": 91})
    );
    assert_eq!(classes(&run.report, "get")["missing"], 95);
}

#[test]
fn the_node_adapter_is_equivalent_and_its_defect_is_found() {
    assert_equivalent(NODE);
    let (run, _out) = replay_kv(
        "exec:KV_DEFECT=scan-order node --harmony-json-parse-with-source examples/adapters/kv.js",
        &[],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(
        classes(&run.report, "scan"),
        serde_json::json!({"ordering": 5})
    );
}

/// The Rust adapter, an example of this package.
fn rust_adapter() -> PathBuf {
    crate::util::example("kv_adapter")
}

/// The served adapter reads stdin and writes stdout on its reactor when they are pipes (as
/// under `exec:`, above); from a file and into a file it answers all the same.
#[test]
fn the_rust_adapter_answers_from_a_file_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let put = r#"{"seq":1,"key":"k","op":"put","kind":"write","args":{"value":12.50},"at":"t"}"#;
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n{}\n",
            r#"{"id":0,"type":"hello","protocol":1}"#,
            format_args!(r#"{{"request":{put},"id":1,"type":"execute"}}"#),
            r#"{"key":"k","id":2,"type":"dump"}"#,
        ),
    )
    .unwrap();
    let status = Command::new(rust_adapter())
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let answers: std::collections::BTreeMap<u64, Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|a| (a["id"].as_u64().unwrap(), a))
        .collect();
    assert_eq!(answers[&0]["name"], "kv-rust");
    assert_eq!(
        answers[&1]["outcome"],
        serde_json::json!({"ok": {"created": true}})
    );
    assert_eq!(
        answers[&2]["state"].to_string(),
        "12.50",
        "numbers keep their text"
    );
}

#[test]
fn the_rust_adapter_is_equivalent_and_its_defect_is_found() {
    let adapter = rust_adapter();
    assert_equivalent(&format!("exec:{}", adapter.display()));
    let (run, _out) = replay_kv(
        &format!("exec:KV_DEFECT=scan-order {}", adapter.display()),
        &[],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(
        classes(&run.report, "scan"),
        serde_json::json!({"ordering": 5})
    );
}

/// `python3 kv.py --http 0`, and the URL it listens on.
struct HttpAdapter(Child, String);

impl HttpAdapter {
    fn start(defect: &str) -> HttpAdapter {
        let mut child = Command::new("python3")
            .args(["examples/adapters/kv.py", "--http", "0"])
            .env("KV_DEFECT", defect)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the adapter printed `{line}`"))
            .to_string();
        HttpAdapter(child, format!("http:http://127.0.0.1:{port}/cutover"))
    }
}

impl Drop for HttpAdapter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_python_adapter_over_http_is_equivalent_and_its_defect_is_found() {
    let adapter = HttpAdapter::start("");
    assert_equivalent(&adapter.1);
    let adapter = HttpAdapter::start("not-found-null");
    let (run, _out) = replay_kv(&adapter.1, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(
        classes(&run.report, "get"),
        serde_json::json!({"error": 55})
    );
}

/// A run against a misbehaving adapter: exit 2, the adapter named with the cause, and
/// every request in `results.jsonl` (the ones after the failure inconclusive).
fn assert_stops(defect: &str, cause: &str) {
    let spec = format!("exec:--timeout 1s KV_DEFECT={defect} python3 examples/adapters/kv.py");
    let (run, out) = replay_kv(&spec, &[]);
    assert_eq!(run.code, Some(2), "{defect}: {}", run.stderr);
    assert!(
        run.stderr
            .contains("adapter `kv-sqlite` (python3 examples/adapters/kv.py)")
            && run.stderr.contains(cause),
        "{defect}: {}",
        run.stderr
    );
    let results = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    let statuses: Vec<String> = results
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(statuses.len(), 300, "{defect}: every request is reported");
    // At most the 50 requests answered before are equal (a write answered whose state
    // read-back came after is inconclusive); nothing is divergent.
    let equal = statuses.iter().filter(|s| *s == "equal").count();
    let inconclusive = statuses.iter().filter(|s| *s == "inconclusive").count();
    assert!((40..=50).contains(&equal), "{defect}: {equal} equal");
    assert_eq!(equal + inconclusive, 300, "{defect}");
}

#[test]
fn an_adapter_killed_mid_run_stops_it_with_exit_2() {
    assert_stops("die-after=50", "exited (signal: 9 (SIGKILL))");
}

#[test]
fn an_adapter_answering_garbage_stops_it_with_exit_2() {
    assert_stops("garbage-after=50", "answered garbage: `this is not json`");
}

#[test]
fn an_adapter_that_never_answers_stops_it_with_exit_2() {
    // The call that waited, or one queued behind it for the adapter's one slot.
    assert_stops("hang-after=50", "within 1s");
}

#[test]
fn a_restarted_adapter_over_a_persistent_store_goes_on() {
    let db = tempfile::tempdir().unwrap();
    let spec = format!(
        "exec:--restarts 5 KV_DEFECT=die-after=100 python3 examples/adapters/kv.py --db {}",
        db.path().join("kv.sqlite").display()
    );
    let (run, out) = replay_kv(&spec, &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("starting it again"), "{}", run.stderr);
    // Killed on receiving its 101st request, twice: exactly those two failed (nothing else
    // was in flight with one slot); a later divergence on their keys is inconclusive,
    // tainted by them; everything else compares equal on the store that survived.
    let results = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    let results: Vec<Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: Vec<&Value> = results
        .iter()
        .filter(|r| r["candidate"]["failure"].is_string())
        .map(|r| &r["seq"])
        .collect();
    assert_eq!(failed.len(), 2, "{}", run.stderr);
    for r in &results {
        match r["status"].as_str().unwrap() {
            "equal" => {}
            "inconclusive" if r["candidate"]["failure"].is_string() => {}
            "inconclusive" => assert!(failed.contains(&&r["tainted_by"]), "{r}"),
            other => panic!("{other}: {r}"),
        }
    }
    let (equal, divergent, _) = totals(&run.report);
    assert_eq!(divergent, 0);
    assert!(equal >= 280, "{equal} equal");
}

/// An adapter that answers its handshake, then answers every message with another id.
const WRONG_IDS: &str = r#"exec:python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "hello":
        a = {"protocol": 1, "name": "wrong-ids", "domain": "kv"}
    else:
        a = {"ok": True, "outcome": {"ok": None}}
        m["id"] += 1000
    a["id"] = m["id"]
    print(json.dumps(a), flush=True)
'"#;

#[test]
fn an_adapter_answering_an_id_it_was_never_sent_stops_the_run() {
    let (run, out) = replay_kv(WRONG_IDS, &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("adapter `wrong-ids`")
            && run
                .stderr
                .contains("answered id 1001, which it was never sent"),
        "{}",
        run.stderr
    );
    let results = std::fs::read_to_string(out.path().join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 300);
    assert_eq!(totals(&run.report), (0, 0, 300));
}

#[test]
fn adapters_that_cannot_start_or_serve_another_domain_exit_2_naming_them() {
    let cases = [
        (
            "exec:/nonexistent/adapter",
            "cannot start `/nonexistent/adapter`",
        ),
        (
            "exec:python3 -c 'print(\"hello\")'",
            "answered garbage: `hello`",
        ),
        (
            "exec:python3 -c 'import sys; sys.exit(3)'",
            "exited (exit status: 3)",
        ),
        ("http:http://127.0.0.1:9/cutover", "connection refused"),
    ];
    for (spec, cause) in cases {
        let (run, _out) = replay_kv(spec, &[]);
        assert_eq!(run.code, Some(2), "{spec}: {}", run.stderr);
        assert!(run.stderr.contains(cause), "{spec}: {}", run.stderr);
        assert!(run.stderr.contains("--candidate"), "{spec}: {}", run.stderr);
    }
    let out = tempfile::tempdir().unwrap();
    let run = replay(
        &fixture("conversations-100.jsonl"),
        out.path(),
        &["--legacy", "recorded", "--candidate", PYTHON],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("serves domain `kv`; the cassette is of domain `conversations`"),
        "{}",
        run.stderr
    );
}

fn check_target(spec: &str) -> (Option<i32>, Value) {
    let done = cutover()
        .args(["check-target", spec, "--format", "json"])
        .current_dir(root())
        .output()
        .unwrap();
    let session = serde_json::from_slice(&done.stdout).unwrap_or(Value::Null);
    (done.status.code(), session)
}

fn failed_checks(session: &Value) -> Vec<String> {
    session["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn check_target_passes_the_adapters_and_names_what_a_faulty_one_gets_wrong() {
    let rust = format!("exec:{}", rust_adapter().display());
    for spec in [PYTHON, NODE, rust.as_str()] {
        let (code, session) = check_target(spec);
        assert_eq!(code, Some(0), "{spec}: {session:#}");
        let checks = session["checks"].as_array().unwrap();
        assert!(checks.len() >= 15, "{spec}");
        let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
        assert!(
            names.ends_with(&["keys, a page at a time", "batch dump"]),
            "{spec}: {names:?}"
        );
    }
    // Node without exact numbers: exactly the big-number steps fail.
    let (code, session) = check_target("exec:node examples/adapters/kv.js");
    assert_eq!(code, Some(1));
    assert_eq!(
        failed_checks(&session),
        [
            "a number beyond 2^53 stored",
            "a number beyond 2^53 read back unchanged"
        ]
    );
    let (code, session) =
        check_target("exec:KV_DEFECT=not-found-null python3 examples/adapters/kv.py");
    assert_eq!(code, Some(1));
    assert_eq!(failed_checks(&session), ["get of an absent key"]);
    let detail = session["checks"][5]["detail"].as_str().unwrap();
    assert!(
        detail.contains("`get` answered {\"ok\":null}; expected {\"error\""),
        "{detail}"
    );
    // Not an adapter at all.
    let (code, session) = check_target("exec:python3 -c 'print(1)'");
    assert_eq!(code, Some(2));
    assert_eq!(failed_checks(&session), ["handshake"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversations_repositories_are_reachable_as_named_specs() {
    use cutover_conversations::setup::Servers;
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let mongo = servers.mongo.fresh_database().await.unwrap();
    let postgres = servers.postgres.fresh_database().await.unwrap();
    let legacy = format!(
        "conversations-mongodb:uri={}",
        with_database(&mongo.uri, &mongo.name)
    );
    let candidate = format!("conversations-postgres:url={}", postgres.url());
    let out = tempfile::tempdir().unwrap();
    let rules = "fixtures/conversations.rules.toml";
    let args = [
        "--legacy",
        &legacy,
        "--candidate",
        &candidate,
        "--rules",
        rules,
    ];
    let run = replay_blocking(out.path(), args.map(String::from).to_vec()).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let (equal, divergent, inconclusive) = totals(&run.report);
    assert_eq!((divergent, inconclusive), (0, 0));
    assert_eq!(equal, run.report["totals"]["total"].as_u64().unwrap());
    assert_eq!(run.report["legacy"], "mongodb");
    assert_eq!(run.report["candidate"], "postgres");
    // A spec that names a server without a database gets a fresh one (`safety`).
}

/// The conversations fixture replayed by the CLI off the test's runtime.
async fn replay_blocking(out: &Path, args: Vec<String>) -> Replayed {
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        replay(&fixture("conversations-100.jsonl"), &out, &args)
    })
    .await
    .unwrap()
}
