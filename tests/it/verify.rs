//! `cutover verify` end to end on two stores behind the target protocol (`kv.py` over its
//! own sqlite files): planted copy defects found with their keys and classes, equal stores
//! equivalent, the run directory read by `gate` and `report`, a store killed in the middle
//! ending the run with exit 2 and `--resume` judging every key exactly once, shards merged.

use crate::util::cutover;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Keys of the legacy store.
const KEYS: usize = 3000;

/// A sqlite file in `kv.py`'s layout holding `data`.
fn store(dir: &Path, name: &str, data: &BTreeMap<String, Value>) -> PathBuf {
    let path = dir.join(name);
    let rows: Vec<(String, String)> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let script = "import json, sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        db.execute('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)')\n\
        db.executemany('INSERT INTO kv VALUES (?, ?)', json.load(sys.stdin))\n\
        db.commit()\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    serde_json::to_writer(child.stdin.take().unwrap(), &rows).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "the sqlite file {name} is written"
    );
    path
}

fn legacy_data() -> BTreeMap<String, Value> {
    (0..KEYS)
        .map(|i| {
            (
                format!("k{i:05}"),
                json!({"n": i, "tags": ["b", "a"], "note": null}),
            )
        })
        .collect()
}

/// The legacy's data as a faulty copy left it: a key lost, a value changed, a list
/// reordered, a key that was never there.
fn copied_with_defects() -> BTreeMap<String, Value> {
    let mut data = legacy_data();
    data.remove("k00100");
    data.insert(
        "k00200".into(),
        json!({"n": 20, "tags": ["b", "a"], "note": null}),
    );
    data.insert(
        "k00300".into(),
        json!({"n": 300, "tags": ["a", "b"], "note": null}),
    );
    data.insert("k99999".into(), json!({"n": 0, "tags": [], "note": null}));
    data
}

fn spec(db: &Path, defect: Option<&str>) -> String {
    let env = defect.map_or(String::new(), |d| format!("KV_DEFECT={d} "));
    format!(
        "exec:{env}python3 {} --db {}",
        crate::util::fixture("../examples/adapters/kv.py").display(),
        db.display()
    )
}

struct Verified {
    code: Option<i32>,
    stderr: String,
    report: Value,
    results: Vec<Value>,
}

fn verify(legacy: &str, candidate: &str, out: &Path, extra: &[&str]) -> Verified {
    let output = cutover()
        .args([
            "verify",
            "--legacy",
            legacy,
            "--candidate",
            candidate,
            "--format",
            "json",
        ])
        .args(["--out", out.to_str().unwrap(), "--batch", "50"])
        .args(extra)
        .output()
        .expect("cutover runs");
    let results = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Verified {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        results,
    }
}

/// (key, class of its first divergence) of each result.
fn found(results: &[Value]) -> BTreeMap<String, String> {
    results
        .iter()
        .map(|r| {
            let class = r["divergences"][0]["detail"]
                .as_str()
                .or(r["divergences"][0]["class"].as_str())
                .unwrap_or("none");
            (r["key"].as_str().unwrap().to_string(), class.to_string())
        })
        .collect()
}

fn planted() -> BTreeMap<String, String> {
    [
        ("k00100", "missing"),
        ("k00200", "value"),
        ("k00300", "ordering"),
        ("k99999", "extra"),
    ]
    .into_iter()
    .map(|(k, c)| (k.to_string(), c.to_string()))
    .collect()
}

#[test]
fn a_faulty_copy_is_found_key_by_key_and_a_faithful_one_is_equivalent() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = spec(&store(dir.path(), "legacy.db", &legacy_data()), None);
    let faulty = spec(
        &store(dir.path(), "faulty.db", &copied_with_defects()),
        None,
    );
    let faithful = spec(&store(dir.path(), "faithful.db", &legacy_data()), None);

    let out = dir.path().join("faulty");
    let run = verify(&legacy, &faulty, &out, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(found(&run.results), planted());
    let keys = &run.report["verify"]["keys"];
    assert_eq!(keys["legacy"], 3000);
    assert_eq!(keys["candidate"], 3000);
    assert_eq!(keys["equal"], 2997);
    assert_eq!(
        (keys["missing"].as_u64(), keys["extra"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(keys["divergent"], 2);
    assert_eq!(run.report["verify"]["dumped_keys"], 3001);
    assert_eq!(run.report["totals"]["total"], 3001);
    assert!(
        !out.join("verify.checkpoint.json").exists(),
        "a finished run keeps no checkpoint"
    );

    let run = verify(&legacy, &faithful, &dir.path().join("faithful"), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.report["verdict"], "equivalent");
    assert!(run.results.is_empty());
    assert_eq!(run.report["verify"]["keys"]["equal"], 3000);
}

#[test]
fn the_gate_judges_a_verify_by_its_keys_and_the_page_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = spec(&store(dir.path(), "legacy.db", &legacy_data()), None);
    let faulty = spec(
        &store(dir.path(), "faulty.db", &copied_with_defects()),
        None,
    );
    let out = dir.path().join("run");
    assert_eq!(verify(&legacy, &faulty, &out, &[]).code, Some(1));
    let gate = |policy: &str| {
        let path = crate::util::write(dir.path(), "policy.toml", policy);
        cutover()
            .args([
                "gate",
                out.to_str().unwrap(),
                "--policy",
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let strict = gate("[verify]\n");
    assert_eq!(strict.status.code(), Some(1));
    let text = String::from_utf8_lossy(&strict.stdout).into_owned();
    for reason in [
        "1 of 3001 keys missing",
        "1 of 3001 keys extra",
        "2 of 3001 keys divergent",
    ] {
        assert!(text.contains(reason), "{reason}: {text}");
    }
    let lenient =
        gate("[verify]\nmax_missing_keys = 1\nmax_extra_keys = 1\nmax_divergent_keys = 2\n");
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stdout)
    );
    let page = dir.path().join("page.html");
    let report = cutover()
        .args(["report", out.to_str().unwrap(), "--format", "html", "--out"])
        .arg(&page)
        .output()
        .unwrap();
    // The run is divergent: the page is written and the exit says so.
    assert_eq!(
        report.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for key in planted().keys() {
        assert!(html.contains(key.as_str()), "{key} on the page");
    }
    assert!(
        html.contains("<td>missing (legacy only)</td><td class=\"num\">1</td>"),
        "the keys table"
    );
    let markdown = cutover()
        .args(["report", out.to_str().unwrap(), "--format", "markdown"])
        .output()
        .unwrap();
    let markdown = String::from_utf8_lossy(&markdown.stdout).into_owned();
    assert!(markdown.contains("| divergent ❌ | 2 |"), "{markdown}");
}

#[test]
fn a_store_killed_mid_verify_stops_the_run_and_resume_judges_every_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let legacy_db = store(dir.path(), "legacy.db", &legacy_data());
    let candidate = spec(
        &store(dir.path(), "faulty.db", &copied_with_defects()),
        None,
    );
    let out = dir.path().join("run");
    for side in ["legacy", "candidate"] {
        let _ = std::fs::remove_dir_all(&out);
        let dying = spec(&legacy_db, Some("die-after-dumps=30"));
        let (l, c) = match side {
            "legacy" => (dying.clone(), candidate.clone()),
            _ => (
                spec(&legacy_db, None),
                dying.replace("legacy.db", "faulty.db"),
            ),
        };
        let started = Instant::now();
        let first = verify(&l, &c, &out, &["--timeout", "5s"]);
        assert_eq!(first.code, Some(2), "{side}: {}", first.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{side}: ended quickly"
        );
        assert!(
            first
                .stderr
                .contains(&format!("the {side} target (kv-sqlite)")),
            "{side}: {}",
            first.stderr
        );
        assert!(
            first.report["stopped"].is_object(),
            "{side}: the report says it stopped"
        );
        assert_ne!(first.report["verdict"], "equivalent");
        let checkpoint: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("verify.checkpoint.json")).unwrap(),
        )
        .unwrap();
        let reached = checkpoint["seq"].as_u64().unwrap();
        assert!(
            (1000..3001).contains(&reached),
            "{side}: checkpoint at {reached}"
        );

        let second = verify(&spec(&legacy_db, None), &candidate, &out, &["--resume"]);
        assert_eq!(second.code, Some(1), "{side}: {}", second.stderr);
        assert_eq!(
            second.report["verify"]["resumed_after"],
            checkpoint["after"]
        );
        // Every key judged once over both runs: the counts add up to the keys, and no key
        // is listed twice.
        assert_eq!(second.report["totals"]["total"], 3001, "{side}");
        assert_eq!(second.report["verify"]["keys"]["equal"], 2997, "{side}");
        assert_eq!(
            second.results.len(),
            4,
            "{side}: {:?}",
            found(&second.results)
        );
        assert_eq!(found(&second.results), planted(), "{side}");
        assert!(!out.join("verify.checkpoint.json").exists());
    }
    let again = verify(&spec(&legacy_db, None), &candidate, &out, &["--resume"]);
    assert_eq!(again.code, Some(2));
    assert!(
        again.stderr.contains("nothing to resume"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_store_that_stalls_mid_verify_ends_the_run_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = spec(&store(dir.path(), "legacy.db", &legacy_data()), None);
    let stalling = spec(
        &store(dir.path(), "faulty.db", &copied_with_defects()),
        Some("hang-after-dumps=5"),
    );
    let out = dir.path().join("run");
    let started = Instant::now();
    let run = verify(&legacy, &stalling, &out, &["--timeout", "2s"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "ended within the timeout"
    );
    assert!(
        run.stderr.contains("the candidate target (kv-sqlite)")
            && run.stderr.contains("timed out after 2s"),
        "{}",
        run.stderr
    );
    assert!(run.report["stopped"].is_object());
    assert!(
        out.join("verify.checkpoint.json").exists(),
        "a stalled run can be resumed"
    );
    // Stopped before its first periodic checkpoint: the one written at the stop resumes it.
    let faulty = spec(&dir.path().join("faulty.db"), None);
    let resumed = verify(&legacy, &faulty, &out, &["--resume"]);
    assert_eq!(resumed.code, Some(1), "{}", resumed.stderr);
    assert_eq!(resumed.report["totals"]["total"], 3001);
    assert_eq!(found(&resumed.results), planted());
    assert_eq!(resumed.results.len(), 4);
}

#[test]
fn shards_merged_are_the_whole_verify() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = spec(&store(dir.path(), "legacy.db", &legacy_data()), None);
    let faulty = spec(
        &store(dir.path(), "faulty.db", &copied_with_defects()),
        None,
    );
    let mut shards = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let out = dir.path().join(shard.replace('/', "-"));
        let run = verify(&legacy, &faulty, &out, &["--shard", shard]);
        assert!(matches!(run.code, Some(0 | 1)), "{shard}: {}", run.stderr);
        shards.push(out);
    }
    let merged = dir.path().join("merged");
    let output = cutover()
        .arg("merge")
        .args(&shards)
        .args(["--out", merged.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["totals"]["total"], 3001);
    assert_eq!(report["verify"]["keys"]["equal"], 2997);
    let results: Vec<Value> = std::fs::read_to_string(merged.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found(&results), planted());
}
