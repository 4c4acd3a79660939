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

/// Runs `cutover replay CASSETTE --out TMP EXTRA...` without a terminal, `NO_COLOR` and
/// `CLICOLOR_FORCE` as `env` sets them (unset otherwise): exit code, stdout, stderr.
fn replay_human(
    cassette: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = cutover();
    command
        .arg("replay")
        .arg(cassette)
        .args(["--out", dir.path().to_str().unwrap()])
        .args(extra)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_human_report_shows_the_table_the_groups_the_first_examples_and_the_verdict() {
    let (code, stdout, stderr) = replay_human(&fixture("kv-divergent.jsonl"), &[], &[]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains(
            "\ndivergence groups (4), causes first:\n\
             \x20 operation  class          path       divergences  role\n\
             \x20 put        state (extra)  $.tags[*]  1            cause, 1 follow\n\
             \x20 get        value          $.name     1            cause\n\
             \x20 insert     error          $          1            cause\n\
             \x20 scan       ordering       $          1            echo\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("get seq 11 key k1: value at $.name"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  legacy:    \"Zoe\"\n  candidate: \"Zoë\""),
        "{stdout}"
    );
    // Three groups' examples; the fourth (the scan's ordering) only with --verbose.
    assert!(!stdout.contains("scan seq 40"), "{stdout}");
    assert!(
        stdout.contains("\n… 1 more example (--verbose shows every example)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nsuggested rules: 0 of 4 groups have one, for review; none is applied (--verbose prints them)\n  3 of them get none: accepting them would hide a defect (--verbose says what)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\nDIVERGENT: 4 of 300 requests\n"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "no progress bar without a terminal");
}

#[test]
fn verbose_prints_every_example_and_suggested_rule() {
    let (code, stdout, _) = replay_human(&fixture("kv-divergent.jsonl"), &["--verbose"], &[]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("\nfirst divergences of each operation and class:\n"),
        "{stdout}"
    );
    for example in [
        "get seq 11 key k1: value at $.name",
        "insert seq 33 key k14: error at $",
        "put seq 1 key k9: state at $.tags[1] (extra)",
        "scan seq 40 key (no key): ordering at $",
    ] {
        assert!(stdout.contains(example), "{example} in {stdout}");
    }
    assert!(
        stdout.contains("\nsuggested rules (for review; none is applied):\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\n# 1 divergence(s): ordering at $ on scan\n# no rule: `unordered` at `$` would hide a list \
             out of its declared order (key asc)\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("more example"), "{stdout}");
    assert!(
        stdout.ends_with("\nDIVERGENT: 4 of 300 requests\n"),
        "{stdout}"
    );
}

/// A `kv` cassette whose `get`s diverge at eight paths: one `put` of `{f0: 0, ..., f7: 0}`,
/// then eight `get`s, the i-th recorded with `1` at `f0` to `fi`; so `$.fj` diverges in
/// `8 - j` requests: eight groups, 36 divergences.
fn eight_groups(dir: &std::path::Path) -> std::path::PathBuf {
    let fields = |ones: usize| -> Value {
        (0..8)
            .map(|j| (format!("f{j}"), json!(u8::from(j < ones))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut lines = vec![json!({"cutover": 1, "domain": "kv"})];
    lines.push(json!({
        "seq": 1, "key": "k1", "op": "put", "kind": "write",
        "args": {"value": fields(0)}, "at": "2026-01-01T00:00:00Z",
        "outcome": {"ok": {"created": true}}, "state": fields(0),
    }));
    for i in 1..=8 {
        lines.push(json!({
            "seq": i + 1, "key": "k1", "op": "get", "kind": "read", "args": {},
            "at": "2026-01-01T00:00:00Z", "outcome": {"ok": fields(i)},
        }));
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    write(dir, "eight-groups.jsonl", text)
}

#[test]
fn the_default_report_lists_the_largest_groups_and_counts_the_rest_and_verbose_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = eight_groups(dir.path());
    let (code, summary, _) = replay_human(&cassette, &[], &[]);
    assert_eq!(code, Some(1));
    assert!(
        summary.contains(
            "\ndivergence groups (8), causes first:\n\
             \x20 operation  class  path  divergences  role\n\
             \x20 get        value  $.f0  8            cause, 7 follow\n\
             \x20 get        value  $.f1  7            echo\n\
             \x20 get        value  $.f2  6            echo\n\
             \x20 get        value  $.f3  5            echo\n\
             \x20 get        value  $.f4  4            echo\n\
             \x20 … 3 more groups (--verbose shows every group)\n"
        ),
        "{summary}"
    );
    for cut in ["$.f5", "$.f6", "$.f7"] {
        assert!(!summary.contains(cut), "{cut} in {summary}");
    }
    assert!(
        summary.ends_with("\nDIVERGENT: 8 of 9 requests\n"),
        "{summary}"
    );

    let (code, verbose, _) = replay_human(&cassette, &["--verbose"], &[]);
    assert_eq!(code, Some(1));
    for j in 0..8 {
        let group = format!("\n# {} divergence(s): value at $.f{j} on get\n", 8 - j);
        assert!(verbose.contains(&group), "{group} in {verbose}");
    }
    assert!(!verbose.contains("more group"), "{verbose}");
    assert!(
        summary.lines().count() < verbose.lines().count(),
        "the summary is the shorter"
    );
}

#[test]
fn colours_only_when_forced_and_never_with_no_color() {
    let cassette = fixture("kv-divergent.jsonl");
    let escape = |stdout: &str| stdout.contains('\x1b');
    // The tests' stdout is a pipe, not a terminal: plain, in both lengths.
    for extra in [&[][..], &["--verbose"]] {
        let (_, stdout, _) = replay_human(&cassette, extra, &[]);
        assert!(!escape(&stdout), "{stdout}");
        let (_, stdout, _) = replay_human(&cassette, extra, &[("NO_COLOR", "1")]);
        assert!(!escape(&stdout), "{stdout}");
    }
    let (_, forced, _) = replay_human(&cassette, &[], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.ends_with("\n\x1b[1m\x1b[31mDIVERGENT\x1b[0m: 4 of 300 requests\n"),
        "{forced}"
    );
    assert!(forced.contains("\x1b[31m4 divergent\x1b[0m"), "{forced}");
    // NO_COLOR wins over CLICOLOR_FORCE; an empty NO_COLOR is no NO_COLOR.
    let both = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    let (_, stdout, _) = replay_human(&cassette, &["--verbose"], &both);
    assert!(!escape(&stdout), "{stdout}");
    let empty = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")];
    let (_, stdout, _) = replay_human(&cassette, &[], &empty);
    assert!(escape(&stdout), "{stdout}");
    // JSON is never coloured.
    let (_, json, _) = replay_human(&cassette, &["--format", "json"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!escape(&json));
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
    diff_json_with(left, right, None)
}

/// Runs `cutover diff --format json` on two documents, with a rules file when given.
fn diff_json_with(left: &str, right: &str, rules: Option<&str>) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let l = write(dir.path(), "l.json", left);
    let r = write(dir.path(), "r.json", right);
    let mut command = cutover();
    command.args([
        "diff",
        l.to_str().unwrap(),
        r.to_str().unwrap(),
        "--format",
        "json",
    ]);
    if let Some(rules) = rules {
        command
            .arg("--rules")
            .arg(write(dir.path(), "rules.toml", rules));
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        serde_json::from_slice(&output.stdout).unwrap(),
    )
}

/// Without rules, `cutover diff` parses documents for comparison only; with a rules file
/// (one that rewrites nothing here), into serde_json's values. Where the two readings could
/// part (exact big numbers, escapes, a key given twice, a large object in another order,
/// nulls in arrays), they give the same divergences and exit code.
#[test]
fn diff_gives_the_same_verdict_with_and_without_rules() {
    let wide: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let wide_reversed: Vec<String> = wide.iter().rev().cloned().collect();
    let cases = [
        (
            "[9007199254740993]".to_owned(),
            "[9007199254740992]".to_owned(),
        ),
        ("[1.50, 100, -0]".to_owned(), "[1.5, 1e2, 0]".to_owned()),
        (
            "[123456789012345678901.00000000000000000001]".to_owned(),
            "[123456789012345678901.00000000000000000002]".to_owned(),
        ),
        (
            r#"{"a":1,"b":2,"a":3}"#.to_owned(),
            r#"{"b":2,"a":3}"#.to_owned(),
        ),
        (
            r#"{"a":1,"b":2,"a":3}"#.to_owned(),
            r#"{"a":1,"b":2}"#.to_owned(),
        ),
        (
            r#"{"\u0061":"\u00e9"}"#.to_owned(),
            r#"{"a":"é"}"#.to_owned(),
        ),
        (r#"{"a":"\u00e9"}"#.to_owned(), r#"{"a":"e"}"#.to_owned()),
        ("[null, 1, null]".to_owned(), "[1, null, null]".to_owned()),
        (
            format!("{{{}}}", wide.join(",")),
            format!("{{{}}}", wide_reversed.join(",")),
        ),
        (
            format!("{{{}}}", wide.join(",")),
            format!("{{{},\"k7\":8}}", wide_reversed.join(",")),
        ),
    ];
    let rules = "[[rule]]\npath = \"$.nowhere\"\nignore = true\n";
    for (left, right) in &cases {
        let plain = diff_json(left, right);
        let (code, mut with_rules) = diff_json_with(left, right, Some(rules));
        with_rules.as_object_mut().unwrap().remove("rules");
        assert_eq!(plain, (code, with_rules), "{left} against {right}");
    }
    // The cases are not all equal: the comparison above could fail.
    assert_eq!(diff_json(&cases[0].0, &cases[0].1).0, Some(1));
    assert_eq!(diff_json(&cases[1].0, &cases[1].1).0, Some(0));
    assert_eq!(diff_json(&cases[3].0, &cases[3].1).0, Some(0));
    assert_eq!(diff_json(&cases[9].0, &cases[9].1).0, Some(1));
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
