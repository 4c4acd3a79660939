//! Sharded replay: four shards merged give the report, and the gate's decision, of one run.

use crate::util::{cutover, fixture, write};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Runs `cutover ARGS... --out DIR --format json` and returns the exit code.
fn run(args: &[&str], out: &Path) -> i32 {
    let done = cutover()
        .args(args)
        .arg("--out")
        .arg(out)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        done.status.code() != Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    done.status.code().unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// What must not change by sharding: verdict, totals, per-operation counts and classes,
/// the examples (request and path), and the coverage (each shard counts what it reports).
fn essentials(report: &Value) -> Value {
    let ops: serde_json::Map<String, Value> = report["operations"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(op, o)| (op.clone(), serde_json::json!([o["requests"], o["classes"]])))
        .collect();
    let examples: Vec<Value> = report["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::json!([e["seq"], e["divergence"]["path"], e["divergence"]["class"]]))
        .collect();
    serde_json::json!({
        "verdict": report["verdict"],
        "totals": report["totals"],
        "operations": ops,
        "examples": examples,
        "coverage": report["coverage"],
    })
}

/// Replays `base` whole and in four shards (the same arguments plus `--shard i/4`), merges
/// the shards, and returns (whole, merged) output directories.
fn whole_and_merged(dir: &Path, base: &[&str]) -> (PathBuf, PathBuf) {
    let whole = dir.join("whole");
    let code = run(base, &whole);
    let mut shards = Vec::new();
    for i in 1..=4 {
        let out = dir.join(format!("shard{i}"));
        let spec = format!("{i}/4");
        let mut args = base.to_vec();
        args.extend(["--shard", &spec]);
        run(&args, &out);
        shards.push(out);
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    let names: Vec<String> = shards.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    assert_eq!(run(&args, &merged), code, "the merged verdict's exit code");
    (whole, merged)
}

#[test]
fn four_shards_merged_equal_one_run_with_keyless_requests_and_divergences() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("kv-divergent.jsonl").display().to_string();
    let (whole, merged) = whole_and_merged(dir.path(), &["replay", &cassette]);
    let (w, m) = (report(&whole), report(&merged));
    assert_eq!(essentials(&w), essentials(&m));
    assert_eq!(w["totals"]["divergent"], 4);
    assert_eq!(
        w["coverage"]["domain"], "kv",
        "the whole run counts coverage"
    );
    assert_eq!(m["shards"], serde_json::json!(["1/4", "2/4", "3/4", "4/4"]));
    // Every shard did part of the work.
    for i in 1..=4 {
        let shard = report(&dir.path().join(format!("shard{i}")));
        let n = shard["totals"]["total"].as_u64().unwrap();
        assert!(n > 0 && n < 300, "shard {i}: {n}");
    }

    // The gate decides the same on both.
    let policy = write(
        dir.path(),
        "policy.toml",
        "[gate]\noperations = [\"get\", \"put\", \"insert\", \"delete\", \"scan\"]\nmin_requests = 5\nlatency_p99_ratio = 1000.0\n\n[op.scan]\nmin_requests = 1\n",
    );
    let gate = |out: &Path| -> Value {
        let done = cutover()
            .arg("gate")
            .arg(out)
            .arg("--policy")
            .arg(&policy)
            .args(["--format", "json", "--today", "2026-11-21"])
            .output()
            .unwrap();
        assert_eq!(done.status.code(), Some(1));
        let d: Value = serde_json::from_slice(&done.stdout).unwrap();
        serde_json::json!([d["verdict"], d["reasons"]])
    };
    assert_eq!(gate(&whole), gate(&merged));
}

#[test]
fn the_conversations_demo_in_four_shards_equals_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("conversations-golden.jsonl").display().to_string();
    let (whole, merged) = whole_and_merged(
        dir.path(),
        &["demo", "--cassette", &cassette, "--concurrency", "8"],
    );
    let (w, m) = (report(&whole), report(&merged));
    assert_eq!(essentials(&w), essentials(&m));
    assert_eq!(w["verdict"], "equivalent");
    // The golden cassette's 212 requests, then the probes the demo appends to it.
    let probes = w["probes"]["total"].as_u64().unwrap();
    assert!(probes > 0);
    assert_eq!(w["totals"]["total"], 212 + probes);
    assert_eq!(w["probes"], m["probes"]);
    assert_eq!(w["coverage"]["domain"], "conversations");
    // The rules' counts add up across the shards.
    assert_eq!(w["rules"], m["rules"]);
}

#[test]
fn shards_that_do_not_make_one_replay_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let demo = fixture("kv-demo.jsonl").display().to_string();
    let divergent = fixture("kv-divergent.jsonl").display().to_string();
    for (i, cassette) in [(1, &demo), (2, &demo), (3, &divergent)] {
        run(
            &["replay", cassette, "--shard", &format!("{i}/3")],
            &dir.path().join(format!("s{i}")),
        );
    }
    let merge = |shards: &[&str]| {
        let mut cmd = cutover();
        cmd.arg("merge");
        for s in shards {
            cmd.arg(dir.path().join(s));
        }
        cmd.arg("--out")
            .arg(dir.path().join("merged"))
            .output()
            .unwrap()
    };
    let missing = merge(&["s1", "s2"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("do not cover"));
    let mixed = merge(&["s1", "s2", "s3"]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("same cassette"));
    assert!(!dir.path().join("merged/report.json").exists());
}

/// A library caller's shard needs nothing but `"1/2".parse()`: the replay finds the last
/// keyless request itself, so shard 1's scans read the full state (from a file), or run
/// every other shard's write (from a stream); both give one run's answers.
#[test]
fn a_shard_from_the_library_answers_keyless_reads_over_the_full_state() {
    use cutover::cassette::Reader;
    use cutover::kv::memory::Memory;
    use cutover::replay::{self, Collect, Pair, ReplayOptions, Status};
    use cutover::targets::recorded::Recorded;
    use std::sync::Arc;

    let path = fixture("kv-demo.jsonl");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let shard = |reader: Reader| {
        let pair = Pair {
            legacy: Arc::new(Recorded::new()),
            candidate: Arc::new(Memory::new()),
        };
        let options = ReplayOptions {
            shard: Some("1/2".parse().unwrap()),
            ..ReplayOptions::default()
        };
        let mut collect = Collect::default();
        runtime
            .block_on(replay::replay(reader, &pair, &options, &mut [&mut collect]))
            .unwrap();
        collect.0
    };
    let text = std::fs::read(&path).unwrap();
    for reader in [
        Reader::open(&path).unwrap(),
        Reader::from_read("stream", std::io::Cursor::new(text.clone())).unwrap(),
    ] {
        let results = shard(reader);
        let scans: Vec<_> = results.iter().filter(|r| r.op == "scan").collect();
        assert_eq!(scans.len(), 7);
        assert!(
            results.iter().all(|r| r.status == Status::Equal),
            "{results:?}"
        );
    }
}
