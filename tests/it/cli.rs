//! The `cutover` command on the fixtures: outputs, files and exit codes.

use crate::util::{cutover, fixture, write};
use serde_json::{json, Value};

fn replay_json(cassette: &str, extra: &[&str]) -> (Option<i32>, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let done = crate::util::replay(&fixture(cassette), dir.path(), extra);
    assert!(
        !done.report.is_null(),
        "a report on stdout: {}",
        done.stderr
    );
    (done.code, done.report, dir)
}

#[test]
fn the_demo_cassette_is_equivalent_and_writes_results_and_report() {
    let (code, report, dir) = replay_json("kv-demo.jsonl", &[]);
    assert_eq!(code, Some(0));
    assert_eq!(report["verdict"], "equivalent");
    assert_eq!(report["totals"]["equal"], 300);
    let results = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 300);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(saved["totals"], report["totals"]);
}

#[test]
fn the_planted_divergences_are_found_with_class_operation_and_path() {
    let (code, report, _dir) = replay_json("kv-divergent.jsonl", &["--concurrency", "4"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["verdict"], "divergent");
    assert_eq!(report["totals"]["divergent"], 4);
    for (op, class) in [
        ("get", "value"),
        ("scan", "ordering"),
        ("insert", "error"),
        ("put", "state"),
    ] {
        assert_eq!(
            report["operations"][op]["classes"][class], 1,
            "{op} {class}"
        );
    }
    let paths: Vec<(String, String)> = report["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["op"].as_str().unwrap().into(),
                e["divergence"]["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    for expected in [
        ("get", "$.name"),
        ("scan", "$"),
        ("insert", "$"),
        ("put", "$.tags[1]"),
    ] {
        assert!(
            paths.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {paths:?}"
        );
    }
}

#[test]
fn the_human_report_shows_the_table_the_examples_and_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let output = cutover()
        .arg("replay")
        .arg(fixture("kv-divergent.jsonl"))
        .args(["--out", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout.contains("get seq 11 key k1: value at $.name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  legacy:    \"Zoe\"\n  candidate: \"Zoë\""),
        "{stdout}"
    );
    assert!(stdout.contains("DIVERGENT: 4 of 300 requests"), "{stdout}");
    assert!(
        output.stderr.is_empty(),
        "no progress bar without a terminal"
    );
}

#[test]
fn a_gzip_cassette_replays_like_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("demo.jsonl.gz");
    let mut reader = cutover::cassette::Reader::open(fixture("kv-demo.jsonl")).unwrap();
    let mut writer = cutover::cassette::Writer::create(&gz, &reader.header().clone()).unwrap();
    while let Some(r) = reader.next_request().unwrap() {
        writer.write(&r).unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(std::fs::read(&gz).unwrap()[..2], [0x1f, 0x8b]);
    let output = cutover()
        .arg("replay")
        .arg(&gz)
        .args([
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["totals"]["equal"], 300);
}

/// Runs `cutover diff --format json` on two documents.
fn diff_json(left: &str, right: &str) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.json", left);
    let r = write(dir.path(), "r.json", right);
    let output = cutover()
        .args([
            "diff",
            l.to_str().unwrap(),
            r.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    (
        output.status.code(),
        serde_json::from_slice(&output.stdout).unwrap(),
    )
}

#[test]
fn diff_prints_every_class_in_the_documented_shape() {
    let cases = [
        (
            r#"{"a":[1,2,3]}"#,
            r#"{"a":[1,2]}"#,
            json!([{"path": "$.a[2]", "class": "missing", "left": 3}]),
        ),
        (
            r#"{"a":1}"#,
            r#"{"a":1,"b":null}"#,
            json!([{"path": "$.b", "class": "extra", "right": null}]),
        ),
        (
            r#"{"a":null}"#,
            r#"{}"#,
            json!([{"path": "$.a", "class": "missing", "left": null}]),
        ),
        (
            r#"{"a":{"b":1}}"#,
            r#"{"a":{"b":2}}"#,
            json!([{"path": "$.a.b", "class": "value", "left": 1, "right": 2}]),
        ),
        (
            r#"[true]"#,
            r#"["true"]"#,
            json!([{"path": "$[0]", "class": "type", "left": true, "right": "true"}]),
        ),
        (
            r#"[1,2]"#,
            r#"[2,1]"#,
            json!([{"path": "$", "class": "ordering", "left": [1, 2], "right": [2, 1], "note": "[0:2] in another order"}]),
        ),
    ];
    for (left, right, expected) in cases {
        let (code, out) = diff_json(left, right);
        assert_eq!(code, Some(1), "{left} vs {right}");
        assert_eq!(
            out,
            json!({"equal": false, "divergences": expected}),
            "{left} vs {right}"
        );
    }
    let (code, out) = diff_json(r#"{"b":1.0,"a":[1]}"#, r#"{"a":[1e0],"b":1}"#);
    assert_eq!(
        (code, out),
        (Some(0), json!({"equal": true, "divergences": []}))
    );
}

#[test]
fn a_closed_stdout_does_not_change_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .arg("replay")
        .arg(fixture("kv-divergent.jsonl"))
        .args(["--out", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
