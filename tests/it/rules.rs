//! Normalization rules: each action, op scoping, counts, unused rules, located errors, and
//! the CLI's `--rules`.

use crate::util::{cutover, fixture, replay, write};
use cutover::diff::{self, Class};
use cutover::normalize::{Part, RuleRun, Rules};
use serde_json::{json, Value};

/// Applies `rules` to the pair as an outcome of `op` and diffs; returns (path, class) of
/// every divergence, rule-made ones included, and the rules' counts.
fn check(
    rules: &str,
    op: &str,
    mut left: Value,
    mut right: Value,
) -> (Vec<(String, Class)>, Vec<u64>) {
    let rules = RuleRun::of(Rules::parse(rules, "test.toml").unwrap());
    let found: Vec<_> = rules
        .compare(op, Part::Outcome, false, &mut left, &mut right)
        .divergences
        .into_iter()
        .map(|d| (d.path, d.class))
        .collect();
    (found, rules.usage().iter().map(|u| u.fired).collect())
}

fn shape(items: &[(&str, Class)]) -> Vec<(String, Class)> {
    items.iter().map(|(p, c)| (p.to_string(), *c)).collect()
}

#[test]
fn ignore_removes_the_path_on_both_sides() {
    let rule = "[[rule]]\npath = \"$.updated_at\"\nignore = true\n";
    let (found, fired) = check(
        rule,
        "get",
        json!({"a": 1, "updated_at": "x"}),
        json!({"a": 1, "updated_at": "y"}),
    );
    assert_eq!((found, fired), (vec![], vec![2]));
    let (found, _) = check(
        rule,
        "get",
        json!({"a": 1, "updated_at": "x"}),
        json!({"a": 2, "updated_at": "y"}),
    );
    assert_eq!(found, shape(&[("$.a", Class::Value)]));
}

#[test]
fn unordered_compares_arrays_as_multisets() {
    let rule = "[[rule]]\npath = \"$.tags\"\nunordered = true\n";
    let (found, fired) = check(
        rule,
        "get",
        json!({"tags": ["a", "b", "b"]}),
        json!({"tags": ["b", "a", "b"]}),
    );
    assert_eq!((found, fired), (vec![], vec![1]));
    let (found, _) = check(
        rule,
        "get",
        json!({"tags": ["a", "b"]}),
        json!({"tags": ["b", "b"]}),
    );
    assert_eq!(found, shape(&[("$.tags[0]", Class::Value)]));
}

#[test]
fn sorted_by_lets_ties_move_and_reports_a_broken_key_as_ordering() {
    let rule = "[[rule]]\npath = \"$.m\"\nsorted_by = [\"t\"]\n";
    let left = json!({"m": [{"t": 1, "id": "a"}, {"t": 1, "id": "b"}, {"t": 2, "id": "c"}]});
    let ties_moved = json!({"m": [{"t": 1, "id": "b"}, {"t": 1, "id": "a"}, {"t": 2, "id": "c"}]});
    assert_eq!(check(rule, "q", left.clone(), ties_moved).0, vec![]);
    let broken = json!({"m": [{"t": 2, "id": "c"}, {"t": 1, "id": "a"}, {"t": 1, "id": "b"}]});
    assert_eq!(
        check(rule, "q", left, broken).0,
        shape(&[("$.m", Class::Ordering)])
    );
}

#[test]
fn precision_truncates_timestamps_to_the_declared_unit() {
    let rule = "[[rule]]\npath = \"$..created_at\"\nprecision = \"ms\"\n";
    let (found, fired) = check(
        rule,
        "q",
        json!({"created_at": "2024-03-01T10:00:00.123Z"}),
        json!({"created_at": "2024-03-01T11:00:00.123456+01:00"}),
    );
    assert_eq!((found, fired), (vec![], vec![1]));
    let (found, _) = check(
        rule,
        "q",
        json!({"created_at": "2024-03-01T10:00:00.123Z"}),
        json!({"created_at": "2024-03-01T10:00:00.124Z"}),
    );
    assert_eq!(found, shape(&[("$.created_at", Class::Value)]));
    let before_1970 = "[[rule]]\npath = \"$.t\"\nprecision = \"s\"\n";
    assert_eq!(
        check(
            before_1970,
            "q",
            json!({"t": "1969-07-20T20:17:40.9Z"}),
            json!({"t": "1969-07-20T20:17:40Z"})
        )
        .0,
        vec![]
    );
}

#[test]
fn null_equals_missing_removes_nulls_only() {
    let rule = "[[rule]]\npath = \"$.*\"\nnull_equals_missing = true\n";
    let (found, fired) = check(rule, "q", json!({"a": null, "b": 1}), json!({"b": 1}));
    assert_eq!((found, fired), (vec![], vec![1]));
    let (found, _) = check(rule, "q", json!({"a": 0}), json!({}));
    assert_eq!(found, shape(&[("$.a", Class::Missing)]));
}

#[test]
fn tolerance_accepts_close_numbers_only() {
    let rule = "[[rule]]\npath = \"$.score\"\ntolerance = 0.01\n";
    assert_eq!(
        check(rule, "q", json!({"score": 1.0}), json!({"score": 1.005})),
        (vec![], vec![1])
    );
    assert_eq!(
        check(rule, "q", json!({"score": 1.0}), json!({"score": 1.02})).0,
        shape(&[("$.score", Class::Value)])
    );
}

#[test]
fn id_map_learns_from_writes_and_flags_a_mapping_that_is_not_one_to_one() {
    let rules = RuleRun::of(
        Rules::parse("[[rule]]\npath = \"$..id\"\nid_map = true\n", "ids.toml").unwrap(),
    );
    let (oid, uuid) = (
        "507f1f77bcf86cd799439011",
        "8f14e45f-ceea-467f-a0e6-4f1b1c1d2e3f",
    );
    let (mut l, mut r) = (json!({"id": oid}), json!({"id": uuid}));
    assert!(rules
        .apply("create", Part::Outcome, true, &mut l, &mut r)
        .is_empty());
    let (mut l, mut r) = (json!([{"id": oid, "n": 1}]), json!([{"id": uuid, "n": 1}]));
    assert!(rules
        .apply("list", Part::Outcome, false, &mut l, &mut r)
        .is_empty());
    assert!(
        diff::values(&l, &r).is_equal(),
        "a read translates learned ids"
    );
    let (mut l, mut r) = (json!({"id": oid}), json!({"id": "another-uuid"}));
    let found = rules.apply("create", Part::Outcome, true, &mut l, &mut r);
    assert_eq!(
        (found[0].path.as_str(), found[0].class),
        ("$.id", Class::Value)
    );
    assert!(found[0].note.as_deref().unwrap().contains("not one-to-one"));
}

#[test]
fn id_map_pairs_a_batch_by_content_never_by_position() {
    let rules = RuleRun::of(
        Rules::parse("[[rule]]\npath = \"$[*].id\"\nid_map = true\n", "ids.toml").unwrap(),
    );
    // The candidate numbered the batch the other way round and lists it in its own order.
    let (mut l, mut r) = (
        json!([{"id": 1, "t": "a"}, {"id": 2, "t": "b"}, {"id": 3, "t": "c"}]),
        json!([{"id": 30, "t": "c"}, {"id": 10, "t": "a"}, {"id": 20, "t": "b"}]),
    );
    let found = rules.apply("create_many", Part::Outcome, true, &mut l, &mut r);
    assert!(found.is_empty(), "{found:?}");
    // A read of each id names the candidate's own for it: equal once translated.
    for (legacy, candidate, t) in [(1, 10, "a"), (2, 20, "b"), (3, 30, "c")] {
        let (mut l, mut r) = (
            json!([{"id": legacy, "t": t}]),
            json!([{"id": candidate, "t": t}]),
        );
        assert!(rules
            .apply("get", Part::Outcome, false, &mut l, &mut r)
            .is_empty());
        assert!(diff::values(&l, &r).is_equal(), "{t}: {l} against {r}");
    }
    // Paired by position, 1 would have been 30: a candidate that answers 30 for `a` differs.
    let (mut l, mut r) = (json!([{"id": 1, "t": "a"}]), json!([{"id": 30, "t": "a"}]));
    rules.apply("get", Part::Outcome, false, &mut l, &mut r);
    assert!(!diff::values(&l, &r).is_equal());
}

#[test]
fn op_rules_apply_to_their_operation_only_and_unused_rules_show() {
    let rules = "[[rule]]\nop = \"search\"\npath = \"$\"\nunordered = true\n\n[[rule]]\npath = \"$.never\"\nignore = true\n";
    let (found, fired) = check(rules, "search", json!([1, 2]), json!([2, 1]));
    assert_eq!((found, fired), (vec![], vec![1, 0]));
    let (found, _) = check(rules, "list", json!([1, 2]), json!([2, 1]));
    assert_eq!(found, shape(&[("$", Class::Ordering)]));
}

#[test]
fn bad_rules_files_are_located() {
    for (text, expected) in [
        (
            "[[rule]]\npath = \"$.a\"\nignor = true\n",
            "line 3 column 1",
        ),
        ("[[rule]]\npath = \"$.a\"\n", "needs one action"),
        (
            "[[rule]]\npath = \"$.a\"\nignore = true\nunordered = true\n",
            "exactly one action",
        ),
        (
            "[[rule]]\npath = \"$.a[\"\nignore = true\n",
            "line 2 column 8",
        ),
        (
            "[[rule]]\npath = \"$.a\"\nprecision = \"minutes\"\n",
            "line 3",
        ),
        (
            "[[rule]]\npath = \"$.a\"\ntolerance = -1.0\n",
            "a tolerance is at least 0",
        ),
        ("[[rule]\n", "line 1"),
    ] {
        let error = Rules::parse(text, "bad.toml").unwrap_err().to_string();
        assert!(error.starts_with("rules bad.toml line"), "{error}");
        assert!(error.contains(expected), "`{expected}` in: {error}");
    }
}

#[test]
fn replay_with_rules_counts_them_and_suggests_rules_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", "[[rule]]\nop = \"scan\"\npath = \"$\"\nunordered = true\n\n[[rule]]\npath = \"$.unused\"\nignore = true\n");
    let rules_arg = ["--rules", rules.to_str().unwrap()];
    let done = replay(
        &fixture("kv-divergent.jsonl"),
        &dir.path().join("out"),
        &rules_arg,
    );
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let report = done.report;
    assert_eq!(
        report["operations"]["scan"]["requests"]["divergent"], 0,
        "the scan ordering is accepted"
    );
    assert_eq!(report["totals"]["divergent"], 3);
    assert!(report["rules"][0]["fired"].as_u64().unwrap() > 0);
    assert_eq!(report["rules"][1]["fired"], 0, "the unused rule shows");
    let suggested = report["suggested_rules"].as_array().unwrap();
    let rule_for = |op: &str| {
        suggested
            .iter()
            .find(|s| s["op"] == op)
            .map(|s| s["rule"].clone())
    };
    // `Zoe` against `Zoë` is another text: no rule, and what one would hide.
    assert_eq!(rule_for("get"), Some(Value::Null), "{suggested:?}");
    let get = suggested.iter().find(|s| s["op"] == "get").unwrap();
    assert!(
        get["hides"].as_str().unwrap().contains("`$.name`"),
        "{suggested:?}"
    );
    assert_eq!(
        rule_for("insert"),
        Some(Value::Null),
        "no rule accepts an error kind: {suggested:?}"
    );

    let bad = write(dir.path(), "bad.toml", "[[rule]]\npath = \"$\"\n");
    let output = cutover()
        .arg("replay")
        .arg(fixture("kv-demo.jsonl"))
        .args([
            "--out",
            dir.path().join("out2").to_str().unwrap(),
            "--rules",
            bad.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad.toml line 1 column 1"));
}

#[test]
fn diff_with_rules_reports_their_use() {
    let dir = tempfile::tempdir().unwrap();
    let l = write(
        dir.path(),
        "l.json",
        r#"{"at":"2024-01-01T00:00:00.123456Z","v":[1,2]}"#,
    );
    let r = write(
        dir.path(),
        "r.json",
        r#"{"at":"2024-01-01T00:00:00.123Z","v":[2,1]}"#,
    );
    let rules = write(dir.path(), "r.toml", "[[rule]]\npath = \"$.at\"\nprecision = \"ms\"\n[[rule]]\npath = \"$.v\"\nunordered = true\n");
    let output = cutover()
        .args([
            "diff",
            l.to_str().unwrap(),
            r.to_str().unwrap(),
            "--format",
            "json",
            "--rules",
            rules.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["rules"][0]["fired"], 1);
    assert_eq!(out["rules"][1]["fired"], 1);
}

#[test]
fn noise_runs_find_generated_ids_and_clocks_and_keep_them_out_of_the_divergences() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("{\"cutover\":1,\"domain\":\"kv\"}\n");
    for seq in 1..=20 {
        let (op, kind) = if seq % 2 == 1 {
            ("stamp", "write")
        } else {
            ("get", "read")
        };
        text.push_str(&format!(
            "{{\"seq\":{seq},\"key\":\"k{}\",\"op\":\"{op}\",\"kind\":\"{kind}\",\"args\":{{\"value\":{seq}}},\"at\":\"2026-01-01T00:00:00Z\"}}\n",
            seq % 3
        ));
    }
    let cassette = write(dir.path(), "stamps.jsonl", text);
    let run = |noise_runs: &str| {
        let args = [
            "--legacy",
            "memory",
            "--candidate",
            "memory",
            "--noise-runs",
            noise_runs,
        ];
        let done = replay(
            &cassette,
            &dir.path().join(format!("out{noise_runs}")),
            &args,
        );
        (done.code, done.report)
    };
    let (code, plain) = run("0");
    assert_eq!(
        code,
        Some(1),
        "without noise runs, generated ids and clocks diverge"
    );
    assert_eq!(plain["operations"]["stamp"]["requests"]["divergent"], 10);

    let (code, report) = run("2");
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["totals"]["divergent"], 0);
    assert!(report["operations"]["stamp"]["noise"].as_u64().unwrap() >= 20);
    assert!(report["operations"]["get"]["noise"].as_u64().unwrap() > 0);
    let noise: Vec<(String, String)> = report["noise"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["op"].as_str().unwrap().to_string(),
                s["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [("stamp", "$.id"), ("stamp", "$.at"), ("get", "$.id")] {
        assert!(
            noise.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} in {noise:?}"
        );
    }
    assert!(report["noise"][0]["rule"]
        .as_str()
        .unwrap()
        .starts_with("[[rule]]"));
}

#[test]
fn the_fast_walk_and_the_located_query_agree() {
    // The same rules, spelled as simple paths and with slices (which take the crate's
    // located query), must leave the same values behind.
    let doc = json!({
        "messages": [
            {"id": "a", "at": "2024-03-01T10:00:00.123456Z", "read_by": ["u2", "u1"], "note": null, "deep": {"id": "x", "at": null}},
            {"id": "b", "at": "2024-03-01T10:00:00Z", "read_by": [], "note": "n", "deep": {"id": null}},
            {"id": "c", "at": "not a time", "read_by": ["u1"], "note": null}
        ],
        "id": "top"
    });
    for (simple, located) in [
        (
            "path = \"$.messages[*].at\"\nprecision = \"ms\"",
            "path = \"$.messages[0:].at\"\nprecision = \"ms\"",
        ),
        (
            "path = \"$.messages[*].at\"\nprecision = \"s\"",
            "path = \"$.messages[0:].at\"\nprecision = \"s\"",
        ),
        (
            "path = \"$.messages[*].read_by\"\nunordered = true",
            "path = \"$.messages[0:].read_by\"\nunordered = true",
        ),
        (
            "path = \"$.messages[*].*\"\nnull_equals_missing = true",
            "path = \"$.messages[0:].*\"\nnull_equals_missing = true",
        ),
        (
            "path = \"$..id\"\nignore = true",
            "path = \"$..['id']\"\nignore = true",
        ),
        (
            "path = \"$.messages[1]\"\nignore = true",
            "path = \"$.messages[1:2]\"\nignore = true",
        ),
    ] {
        let run = |rule: &str| {
            let rules =
                RuleRun::of(Rules::parse(&format!("[[rule]]\n{rule}\n"), "r.toml").unwrap());
            let (mut l, mut r) = (doc.clone(), doc.clone());
            rules.apply("q", Part::Outcome, false, &mut l, &mut r);
            (l, rules.usage()[0].fired)
        };
        assert_eq!(run(simple), run(located), "{simple} vs {located}");
    }
}
