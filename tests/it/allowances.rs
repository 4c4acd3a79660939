//! Every allowance accepts only what it declares. Each rule action, the noise found by
//! `--noise-runs`, suggested rules and accepted differences are attacked with inputs that
//! differ outside what they declare (another class, another path, another part, big
//! numbers, nulls in arrays, ties, typos): a difference they do not declare must stay a
//! divergence. Property tests where they fit.

use crate::util::doubles::Double;
use crate::util::{cutover, fixture, request, write};
use cutover::cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
use cutover::diff::{self, Class};
use cutover::gate::{self, GateVerdict, Policy};
use cutover::normalize::suggest::{self, Suggestion};
use cutover::normalize::{Noise, Part, RuleRun, Rules};
use cutover::replay::{Pair, ReplayOptions, RequestResult, StateCheck, Status};
use cutover::replay_collect;
use cutover::report::Report;
use cutover::targets::recorded::Recorded;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Helpers: rules applied to one pair of values, and replays of scripted pairs.

/// Applies `rules` to one pair as an outcome of `op` and diffs: every divergence left, with
/// the rules' own, as (path, class).
fn check(rules: &str, left: Value, right: Value) -> Vec<(String, Class)> {
    check_with(
        &RuleRun::of(Rules::parse(rules, "attack.toml").unwrap()),
        left,
        right,
    )
}

fn check_with(rules: &RuleRun, mut left: Value, mut right: Value) -> Vec<(String, Class)> {
    rules
        .compare("get", Part::Outcome, false, &mut left, &mut right)
        .divergences
        .into_iter()
        .map(|d| (d.path, d.class))
        .collect()
}

/// One request of a scripted replay: what the legacy (recorded) and the candidate answer.
#[derive(Clone)]
pub(crate) struct Case {
    op: &'static str,
    kind: Kind,
    legacy: Outcome,
    legacy_state: Option<Value>,
    candidate: Outcome,
    candidate_state: Option<Value>,
}

pub(crate) fn read(op: &'static str, legacy: Value, candidate: Value) -> Case {
    Case {
        op,
        kind: Kind::Read,
        legacy: Outcome::Ok(legacy),
        legacy_state: None,
        candidate: Outcome::Ok(candidate),
        candidate_state: None,
    }
}

pub(crate) fn write_case(op: &'static str, legacy_state: Value, candidate_state: Value) -> Case {
    Case {
        op,
        kind: Kind::Write,
        legacy: Outcome::Ok(Value::Null),
        legacy_state: Some(legacy_state),
        candidate: Outcome::Ok(Value::Null),
        candidate_state: Some(candidate_state),
    }
}

/// Replays `cases` (one key each) with a recorded legacy and a scripted candidate.
pub(crate) fn replay_cases(
    cases: &[Case],
    rules: Option<Rules>,
    noise: Option<Noise>,
) -> (Report, Vec<RequestResult>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let mut writer = Writer::create(&path, &Header::new("attack")).unwrap();
    let mut answers = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let seq = i as u64 + 1;
        let key = format!("k{seq}");
        writer
            .write(&Request {
                outcome: Some(case.legacy.clone()),
                state: case.legacy_state.clone(),
                ..request(seq, Some(&key), case.op, case.kind, json!({}))
            })
            .unwrap();
        answers.insert(seq, (case.candidate.clone(), case.candidate_state.clone()));
    }
    writer.finish().unwrap();
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        // Answers each seq as scripted and dumps the state scripted with it.
        candidate: Arc::new(
            Double::memory()
                .named("scripted")
                .answering(move |request, _| Some(answers[&request.seq].clone())),
        ),
    };
    replay_scripted(&path, &pair, rules, noise)
}

/// Replays the cassette at `path` on `pair` with `rules` and `noise`, on a runtime of its own.
pub(crate) fn replay_scripted(
    path: &std::path::Path,
    pair: &Pair,
    rules: Option<Rules>,
    noise: Option<Noise>,
) -> (Report, Vec<RequestResult>) {
    let options = ReplayOptions {
        rules: rules.map(Arc::new),
        noise: noise.map(Arc::new),
        ..ReplayOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let replayed = runtime
        .block_on(replay_collect(Reader::open(path).unwrap(), pair, &options))
        .unwrap();
    (replayed.report, replayed.results)
}

/// A group's identity, as reports and policies name it.
pub(crate) type Group = (String, String, Class, Option<Class>);

pub(crate) fn group_of(s: &Suggestion) -> Group {
    (s.op.clone(), s.path.clone(), s.class, s.detail)
}

pub(crate) fn groups(report: &Report) -> HashMap<Group, u64> {
    report
        .suggested_rules
        .iter()
        .map(|s| (group_of(s), s.count))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Noise: only `value` differences, in the part and at the pattern where they were seen.

fn noise_at(op: &str, path: &str, class: Class, detail: Option<Class>) -> Noise {
    Noise::from_groups(&[Suggestion::group(op, path, class, detail)])
}

#[test]
fn noise_forgives_a_changed_value_but_never_a_missing_retyped_or_null_field() {
    let noise = noise_at("get", "$.id", Class::Value, None);
    let legacy = json!({"id": "a1", "v": 1});
    let cases = [
        read("get", legacy.clone(), json!({"id": "b2", "v": 1})),
        read("get", legacy.clone(), json!({"v": 1})),
        read("get", legacy.clone(), json!({"id": 7, "v": 1})),
        read("get", legacy.clone(), json!({"id": null, "v": 1})),
        read(
            "get",
            legacy.clone(),
            json!({"id": "b2", "v": 1, "extra": true}),
        ),
        read("get", legacy.clone(), json!({"id": "b2", "v": 2})),
    ];
    let (_, results) = replay_cases(&cases, None, Some(noise));
    type Shape = (Status, u64, Vec<(String, Class)>);
    let shapes: Vec<Shape> = results
        .iter()
        .map(|r| {
            let found = r
                .divergences
                .iter()
                .map(|d| (d.path.clone(), d.class))
                .collect();
            (r.status, r.noise, found)
        })
        .collect();
    let p = |s: &str, c| (s.to_string(), c);
    assert_eq!(
        shapes,
        vec![
            (Status::Equal, 1, vec![]),
            (Status::Divergent, 0, vec![p("$.id", Class::Missing)]),
            (Status::Divergent, 0, vec![p("$.id", Class::Type)]),
            (Status::Divergent, 0, vec![p("$.id", Class::Value)]),
            (Status::Divergent, 1, vec![p("$.extra", Class::Extra)]),
            (Status::Divergent, 1, vec![p("$.v", Class::Value)]),
        ]
    );
}

#[test]
fn noise_seen_in_answers_is_not_noise_in_stored_state_and_the_state_check_agrees() {
    let state = |id: Value, at: Value| json!({"id": id, "at": at});
    let cases = [
        write_case(
            "stamp",
            state(json!("a"), json!("t1")),
            state(json!("b"), json!("t2")),
        ),
        write_case("stamp", state(json!("a"), json!("t1")), json!({"id": "b"})),
    ];
    // Noise in the answers at $.id and $.at does not reach the state.
    let outcome_noise = Noise::from_groups(&[
        Suggestion::group("stamp", "$.id", Class::Value, None),
        Suggestion::group("stamp", "$.at", Class::Value, None),
    ]);
    let (_, results) = replay_cases(&cases, None, Some(outcome_noise));
    assert_eq!(results[0].status, Status::Divergent);
    assert_eq!(results[0].state, Some(StateCheck::Divergent));
    // Noise in the state forgives the state's changed values, and the state check says so.
    let state_noise = Noise::from_groups(&[
        Suggestion::group("stamp", "$.id", Class::State, Some(Class::Value)),
        Suggestion::group("stamp", "$.at", Class::State, Some(Class::Value)),
    ]);
    let (_, results) = replay_cases(&cases, None, Some(state_noise));
    assert_eq!(
        (results[0].status, results[0].state, results[0].noise),
        (Status::Equal, Some(StateCheck::Equal), 2)
    );
    // A field gone from the state is never noise.
    assert_eq!(
        (results[1].status, results[1].state),
        (Status::Divergent, Some(StateCheck::Divergent))
    );
    let d = &results[1].divergences;
    assert_eq!(
        d.iter()
            .map(|d| (d.path.as_str(), d.detail))
            .collect::<Vec<_>>(),
        vec![("$.at", Some(Class::Missing))]
    );
    // No result anywhere reads equal beside a divergent state.
    for r in &results {
        assert!(!(r.status == Status::Equal && r.state == Some(StateCheck::Divergent)));
    }
}

/// The case as reported: the generated id and the clock of a `stamp` differ between two
/// runs of the legacy; a candidate whose `get` retypes the id and drops the clock must not
/// pass as noise.
#[test]
fn noise_runs_on_the_cli_do_not_hide_a_dropped_or_retyped_field() {
    let dir = tempfile::tempdir().unwrap();
    let stamped =
        json!({"id": "0000000000000001", "at": "2026-01-01T00:00:00.000001Z", "value": 1});
    let lines = [
        json!({"cutover": 1, "domain": "kv"}),
        json!({"seq": 1, "key": "k1", "op": "stamp", "kind": "write", "args": {"value": 1},
               "at": "2026-01-01T00:00:00Z", "outcome": {"ok": stamped}, "state": stamped}),
        json!({"seq": 2, "key": "k1", "op": "get", "kind": "read", "args": {},
               "at": "2026-01-01T00:00:01Z", "outcome": {"ok": {"id": 7, "value": 1}}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let cassette = write(dir.path(), "stamp.jsonl", text);
    let out = dir.path().join("out");
    let run = crate::util::replay(
        &cassette,
        &out,
        &[
            "--legacy",
            "memory",
            "--candidate",
            "recorded",
            "--noise-runs",
            "2",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let results: Vec<RequestResult> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let get = &results[1];
    let mut found: Vec<_> = get
        .divergences
        .iter()
        .map(|d| (d.path.as_str(), d.class))
        .collect();
    found.sort();
    assert_eq!(found, vec![("$.at", Class::Missing), ("$.id", Class::Type)]);
    assert_eq!(get.status, Status::Divergent);
    for r in &results {
        assert!(!(r.status == Status::Equal && r.state == Some(StateCheck::Divergent)));
    }
}

// ---------------------------------------------------------------------------------------
// Numbers in rules: exact, never through f64.

#[test]
fn tolerance_zero_is_equality_even_beyond_f64() {
    let rule = "[[rule]]\npath = \"$.n\"\ntolerance = 0\n";
    let big = |t: &str| json!({ "n": serde_json::from_str::<Value>(t).unwrap() });
    for (a, b) in [
        ("9007199254740993", "9007199254740992"),
        ("0.1", "0.1000000000000000001"),
        ("-0.0000000000000000000001", "0"),
    ] {
        assert_eq!(
            check(rule, big(a), big(b)),
            vec![("$.n".to_string(), Class::Value)],
            "{a} vs {b}"
        );
    }
    assert_eq!(check(rule, big("1.50"), big("1.5")), vec![]);
}

#[test]
fn tolerance_compares_the_exact_gap() {
    let big = |t: &str| json!({ "n": serde_json::from_str::<Value>(t).unwrap() });
    let (a, b) = ("12345678901234567890", "12345678901234567999");
    let rule = |t: &str| format!("[[rule]]\npath = \"$.n\"\ntolerance = {t}\n");
    assert_eq!(check(&rule("0.001"), big(a), big(b)).len(), 1);
    assert_eq!(check(&rule("108"), big(a), big(b)).len(), 1);
    assert_eq!(check(&rule("109"), big(a), big(b)), vec![]);
    // 0.3 - 0.2 is 0.1 exactly, as written (through f64 it is 0.09999999999999998).
    assert_eq!(check(&rule("0.1"), big("0.3"), big("0.2")), vec![]);
    assert_eq!(
        check(&rule("0.099999999999999999"), big("0.3"), big("0.2")).len(),
        1
    );
    // Numbers of wildly different scale are never within a tolerance they cannot show.
    assert_eq!(
        check(&rule("1e-10"), big("1e5000"), big("1e-5000")).len(),
        1
    );
}

#[test]
fn sorted_by_compares_keys_exactly_beyond_f64() {
    let rule = "[[rule]]\npath = \"$\"\nsorted_by = [\"id\"]\n";
    let ids = |order: &[&str]| {
        Value::Array(
            order
                .iter()
                .map(|i| json!({ "id": serde_json::from_str::<Value>(i).unwrap() }))
                .collect(),
        )
    };
    let (lo, hi) = ("9007199254740992", "9007199254740993");
    let found = check(rule, ids(&[lo, hi]), ids(&[hi, lo]));
    assert!(
        found.contains(&("$".to_string(), Class::Ordering)),
        "{found:?}"
    );
}

#[test]
fn a_tolerance_never_pairs_array_elements_by_position() {
    // The candidate dropped the first element and added one at the end: every position
    // differs by 1, but no element changed.
    let rule = "[[rule]]\npath = \"$.n[*]\"\ntolerance = 1\n";
    let found = check(rule, json!({"n": [1, 2, 3]}), json!({"n": [2, 3, 4]}));
    assert_eq!(
        found,
        vec![
            ("$.n[0]".to_string(), Class::Missing),
            ("$.n[2]".to_string(), Class::Extra)
        ]
    );
    // Elements the alignment pairs are still within the tolerance.
    let found = check(rule, json!({"n": [1.5, 10, 20]}), json!({"n": [2, 10, 20]}));
    assert_eq!(found, vec![]);
}

proptest! {
    /// A tolerance accepts two integers exactly when their gap is at most the tolerance,
    /// at every magnitude.
    #[test]
    fn tolerance_accepts_exactly_the_gaps_it_declares(
        base in any::<i64>(), scale in 0u32..40, gap in 0u64..1000, tolerance in 0u64..1000,
    ) {
        let a = i128::from(base) * 10i128.pow(scale.min(18));
        let b = a + i128::from(gap);
        let rule = format!("[[rule]]\npath = \"$.n\"\ntolerance = {tolerance}\n");
        let n = |x: i128| json!({ "n": serde_json::from_str::<Value>(&x.to_string()).unwrap() });
        let found = check(&rule, n(a), n(b));
        prop_assert_eq!(found.is_empty(), gap <= tolerance, "{} vs {}", a, b);
    }

    /// `sorted_by` accepts a candidate order exactly when it is sorted by the key (ties in
    /// any order), whatever the size of the keys.
    #[test]
    fn sorted_by_accepts_exactly_the_orders_that_keep_the_key(
        keys in proptest::collection::vec(0u8..6, 0..8), shuffle in any::<u64>(),
    ) {
        let big = 1u64 << 60;
        let item = |(i, k): (usize, &u8)| json!({"k": big + u64::from(*k), "i": i});
        let mut legacy: Vec<Value> = keys.iter().enumerate().map(item).collect();
        legacy.sort_by_key(|v| v["k"].as_u64());
        let mut candidate = legacy.clone();
        let mut state = shuffle;
        for i in (1..candidate.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            candidate.swap(i, (state >> 33) as usize % (i + 1));
        }
        let sorted = candidate.windows(2).all(|w| w[0]["k"].as_u64() <= w[1]["k"].as_u64());
        let rule = "[[rule]]\npath = \"$\"\nsorted_by = [\"k\"]\n";
        let found = check(rule, Value::Array(legacy), Value::Array(candidate));
        prop_assert_eq!(found.is_empty(), sorted, "{:?}", found);
    }
}

// ---------------------------------------------------------------------------------------
// sorted_by: a key no element has, nested keys, and a legacy that breaks the order.

#[test]
fn a_sort_key_no_element_has_never_turns_the_rule_into_unordered() {
    let rules = RuleRun::of(
        Rules::parse(
            "[[rule]]\npath = \"$\"\nsorted_by = [\"idd\"]\n",
            "typo.toml",
        )
        .unwrap(),
    );
    let legacy = json!([{"id": 1}, {"id": 2}, {"id": 3}]);
    let candidate = json!([{"id": 3}, {"id": 1}, {"id": 2}]);
    let found = check_with(&rules, legacy.clone(), candidate);
    assert!(
        found.contains(&("$".to_string(), Class::Ordering)),
        "{found:?}"
    );
    let usage = &rules.usage()[0];
    assert_eq!((usage.fired, usage.unjudged), (0, 1));
    // Equal arrays are nothing to judge.
    assert_eq!(check_with(&rules, legacy.clone(), legacy), vec![]);
    assert_eq!(rules.usage()[0].unjudged, 1);
}

#[test]
fn nested_sort_keys_are_followed_by_dots() {
    let rule = "[[rule]]\npath = \"$\"\nsorted_by = [\"user.id\"]\n";
    let item = |id: u64, n: u64| json!({"user": {"id": id}, "n": n});
    let legacy = json!([item(1, 1), item(2, 2), item(2, 3), item(3, 4)]);
    // A tie moves: accepted.
    let tie = json!([item(1, 1), item(2, 3), item(2, 2), item(3, 4)]);
    assert_eq!(check(rule, legacy.clone(), tie), vec![]);
    // The order by user.id broken: an ordering divergence.
    let broken = json!([item(2, 2), item(1, 1), item(2, 3), item(3, 4)]);
    let found = check(rule, legacy, broken);
    assert!(
        found.contains(&("$".to_string(), Class::Ordering)),
        "{found:?}"
    );
    // A member whose name has a dot is taken first.
    let dotted = "[[rule]]\npath = \"$\"\nsorted_by = [\"a.b\"]\n";
    let l = json!([{"a.b": 1, "a": {"b": 9}}, {"a.b": 2, "a": {"b": 0}}]);
    let r = json!([{"a.b": 2, "a": {"b": 0}}, {"a.b": 1, "a": {"b": 9}}]);
    assert!(!check(dotted, l, r).is_empty());
    assert!(Rules::parse("[[rule]]\npath = \"$\"\nsorted_by = [\"a..b\"]\n", "x").is_err());
}

#[test]
fn sorted_by_does_not_accept_an_order_the_legacy_never_had() {
    let rule = "[[rule]]\npath = \"$\"\nsorted_by = [\"k\"]\n";
    // The legacy answers in descending order, the candidate sorted ascending.
    let found = check(
        rule,
        json!([{"k": 2}, {"k": 1}]),
        json!([{"k": 1}, {"k": 2}]),
    );
    assert_eq!(found, vec![("$".to_string(), Class::Ordering)]);
}

// ---------------------------------------------------------------------------------------
// null_equals_missing: object members only.

#[test]
fn null_equals_missing_never_touches_array_elements() {
    for path in ["$.a[*]", "$..*", "$.a.*", "$.a[0]", "$..a"] {
        let rule = format!("[[rule]]\npath = \"{path}\"\nnull_equals_missing = true\n");
        assert!(
            !check(&rule, json!({"a": [null, 1, null]}), json!({"a": [1]})).is_empty(),
            "{path}"
        );
        assert!(
            !check(&rule, json!({"a": [null, 1]}), json!({"a": [1, null]})).is_empty(),
            "{path}"
        );
    }
    // Members still: a null member equals an absent one, at any depth the path reaches.
    let rule = "[[rule]]\npath = \"$..note\"\nnull_equals_missing = true\n";
    assert_eq!(
        check(
            rule,
            json!({"m": [{"note": null, "t": 1}]}),
            json!({"m": [{"t": 1}]})
        ),
        vec![]
    );
    let global = "[[rule]]\npath = \"$..*\"\nnull_equals_missing = true\n";
    assert_eq!(
        check(
            global,
            json!({"x": null, "m": [{"y": null}]}),
            json!({"m": [{}]})
        ),
        vec![]
    );
}

proptest! {
    /// Whatever a rule declares at `$.a`, a difference at `$.b` stays a divergence.
    #[test]
    fn no_rule_accepts_a_difference_outside_its_path(
        action in prop_oneof![
            Just("ignore = true"),
            Just("unordered = true"),
            Just("sorted_by = [\"k\"]"),
            Just("precision = \"s\""),
            Just("null_equals_missing = true"),
            Just("tolerance = 1000"),
            Just("id_map = true"),
        ],
        global in any::<bool>(),
        a in small_json(), b_left in small_json(), b_right in small_json(),
    ) {
        prop_assume!(!cutover::diff::deep_eq(&b_left, &b_right));
        let op = if global { "" } else { "op = \"get\"\n" };
        let rule = format!("[[rule]]\n{op}path = \"$.a\"\n{action}\n");
        let found = check(&rule, json!({"a": a.clone(), "b": b_left}), json!({"a": a, "b": b_right}));
        prop_assert!(found.iter().any(|(p, _)| p.starts_with("$.b")), "{:?}", found);
    }

    /// `null_equals_missing` everywhere leaves a divergence whenever two arrays differ.
    #[test]
    fn null_equals_missing_keeps_every_array_difference(
        left in proptest::collection::vec(proptest::option::of(0u8..3), 0..6),
        right in proptest::collection::vec(proptest::option::of(0u8..3), 0..6),
    ) {
        prop_assume!(left != right);
        let rule = "[[rule]]\npath = \"$..*\"\nnull_equals_missing = true\n";
        let found = check(rule, json!({"a": left}), json!({"a": right}));
        prop_assert!(!found.is_empty());
    }

    /// Noise forgives a divergence only if it is a `value` between two values of one type.
    #[test]
    fn noise_forgives_only_same_typed_values(left in small_json(), right in small_json()) {
        let noise = noise_at("get", "$.x", Class::Value, None);
        let found = diff::values(&json!({"x": left.clone()}), &json!({"x": right.clone()}));
        let same_type = std::mem::discriminant(&left) == std::mem::discriminant(&right)
            && !left.is_null();
        for d in &found.divergences {
            if noise.forgives("get", d) {
                prop_assert!(same_type && d.class == Class::Value && d.path == "$.x", "{:?}", d);
            }
        }
    }
}

proptest! {
    /// `precision = "ms"` accepts two instants exactly when they fall in one millisecond,
    /// whatever zone suffix either side writes.
    #[test]
    fn precision_accepts_exactly_one_unit(
        base in -2_000_000_000_000_000i64..4_000_000_000_000_000, delta in -3000i64..3000,
        zulu in any::<bool>(),
    ) {
        let text = |micros: i64, z: bool| {
            let t = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            let s = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            if z { s } else { s.replace('Z', "+00:00") }
        };
        let (a, b) = (base, base + delta);
        let rule = "[[rule]]\npath = \"$.t\"\nprecision = \"ms\"\n";
        let found = check(rule, json!({"t": text(a, true)}), json!({"t": text(b, zulu)}));
        prop_assert_eq!(found.is_empty(), a.div_euclid(1000) == b.div_euclid(1000));
    }

    /// `unordered` accepts exactly the arrays that hold the same elements as many times.
    #[test]
    fn unordered_accepts_exactly_the_same_multiset(
        left in proptest::collection::vec(proptest::option::of(0u8..3), 0..6),
        right in proptest::collection::vec(proptest::option::of(0u8..3), 0..6),
    ) {
        let rule = "[[rule]]\npath = \"$.a\"\nunordered = true\n";
        let found = check(rule, json!({"a": left.clone()}), json!({"a": right.clone()}));
        let (mut l, mut r) = (left, right);
        l.sort();
        r.sort();
        prop_assert_eq!(found.is_empty(), l == r);
    }
}

fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u8..4).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
        Just(json!("2024-01-01T00:00:00.123Z")),
        Just(json!(9007199254740993u64)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::btree_map("[kx]", inner, 0..2)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// Suggested rules and accepted differences: one canonical path pattern, a round trip for
// every class.

fn ts(t: &str) -> Value {
    json!({ "t": t })
}

fn every_class() -> Vec<Case> {
    let num = |t: &str| json!({ "n": serde_json::from_str::<Value>(t).unwrap() });
    vec![
        read(
            "ordering",
            json!({"tags": [1, 2, 3]}),
            json!({"tags": [2, 1, 3]}),
        ),
        read(
            "inner_ordering",
            json!({"m": [{"r": [1, 2]}, {"r": [3, 4]}], "x": [[1, 2], [3]]}),
            json!({"m": [{"r": [2, 1]}, {"r": [3, 4]}], "x": [[2, 1], [3]]}),
        ),
        read("missing_null", json!({"a": 1, "b": null}), json!({"a": 1})),
        read("missing", json!({"a": 1, "b": 2}), json!({"a": 1})),
        read(
            "missing_element",
            json!({"l": [1, 2, 3]}),
            json!({"l": [1, 3]}),
        ),
        read("extra_null", json!({"a": 1}), json!({"a": 1, "b": null})),
        read("extra", json!({"a": 1}), json!({"a": 1, "b": [1]})),
        read(
            "micros",
            ts("2024-01-01T00:00:00.123456Z"),
            ts("2024-01-01T00:00:00.123456+00:00"),
        ),
        read(
            "millis",
            ts("2024-01-01T00:00:00.123456Z"),
            ts("2024-01-01T00:00:00.123Z"),
        ),
        read(
            "seconds",
            ts("2024-01-01T00:00:01.5Z"),
            ts("2024-01-01T00:00:01.9Z"),
        ),
        // One group, two fits: the suggestion must accept both.
        read(
            "mixed_time",
            ts("2024-01-01T00:00:00.1234Z"),
            ts("2024-01-01T00:00:00.123Z"),
        ),
        read(
            "mixed_time",
            ts("2024-01-01T00:00:02.5Z"),
            ts("2024-01-01T00:00:02Z"),
        ),
        read(
            "minutes",
            ts("2024-01-01T00:00:00Z"),
            ts("2024-01-01T00:01:00Z"),
        ),
        read("number", num("0.3"), num("0.2")),
        read(
            "number",
            num("12345678901234567890"),
            num("12345678901234567999"),
        ),
        read("string", json!({"s": "a"}), json!({"s": "b"})),
        read("type", json!({"s": 1}), json!({"s": "1"})),
        Case {
            candidate: Outcome::error(ErrorKind::NotFound, "gone"),
            ..read("error", json!({"a": 1}), json!(null))
        },
        write_case(
            "state_value",
            json!({"v": 1, "at": "2024-01-01T00:00:00.123456Z"}),
            json!({"v": 1, "at": "2024-01-01T00:00:00.123Z"}),
        ),
        write_case("state_missing", json!({"v": 1, "x": 2}), json!({"v": 1})),
        write_case("state_ordering", json!({"l": [1, 2]}), json!({"l": [2, 1]})),
    ]
}

#[test]
fn a_suggested_rule_pasted_into_a_rules_file_accepts_exactly_its_group() {
    let cases = every_class();
    let (report, _) = replay_cases(&cases, None, None);
    let before = groups(&report);
    let classes: std::collections::BTreeSet<Class> = report
        .suggested_rules
        .iter()
        .map(|s| s.detail.unwrap_or(s.class))
        .collect();
    // The parts' own classes (state, events, before_commit) are not structural.
    let structural = Class::ALL
        .iter()
        .filter(|c| !c.has_detail() && **c != Class::BeforeCommit)
        .count();
    assert_eq!(
        classes.len(),
        structural,
        "every structural class shows: {classes:?}"
    );
    for s in &report.suggested_rules {
        let Some(rule) = &s.rule else {
            assert!(
                s.class == Class::Error || s.hides.is_some(),
                "only errors, and groups a rule would hide a defect in, have no rule: {s:?}"
            );
            continue;
        };
        let rules = Rules::parse(rule, "suggested.toml")
            .unwrap_or_else(|e| panic!("the suggestion parses: {e}\n{rule}"));
        let (after, _) = replay_cases(&cases, Some(rules), None);
        let mut expected = before.clone();
        expected.remove(&group_of(s));
        assert_eq!(groups(&after), expected, "after pasting\n{rule}");
    }
}

#[test]
fn a_suggestion_pasted_as_an_accepted_difference_matches_exactly_its_group() {
    let cases = every_class();
    let (report, results) = replay_cases(&cases, None, None);
    let mut policy = String::new();
    for s in &report.suggested_rules {
        policy.push_str(&suggest::accept(&s.op, &s.path, s.class, s.detail));
        policy
            .push_str("reason = \"known\"\nowner = \"ana@example.com\"\nexpires = 2027-12-31\n\n");
    }
    let policy = Policy::parse(&policy, "accept.toml").unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let decision = gate::evaluate(&report, &results, &policy, today);
    for (u, s) in decision.accepted.iter().zip(&report.suggested_rules) {
        assert_eq!((u.matched, u.stale), (s.count, false), "{s:?}");
    }
    assert_eq!(
        decision.verdict,
        GateVerdict::Approved,
        "{:?}",
        decision.reasons
    );
    // Printed paths are patterns: an index in an accepted difference is refused.
    let indexed = "[[accept]]\nop = \"get\"\npath = \"$.m[3].t\"\nclass = \"value\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2027-01-01\n";
    let error = Policy::parse(indexed, "p.toml").unwrap_err().to_string();
    assert!(error.contains("`$.m[*].t`"), "{error}");
}

#[test]
fn an_ordering_divergence_has_one_path_whatever_moved() {
    let mut cases = every_class();
    // An element moved among other changes: the ordering is still at the array's path.
    cases.push(read(
        "moved",
        json!({"m": [1, 2, 3, 4, 5, 6, 7, 8]}),
        json!({"m": [2, 3, 4, 5, 6, 7, 1, 9]}),
    ));
    let (report, results) = replay_cases(&cases, None, None);
    let ordering: Vec<(&str, &str)> = results
        .iter()
        .flat_map(|r| r.divergences.iter().map(move |d| (r.op.as_str(), d)))
        .filter(|(_, d)| d.class == Class::Ordering)
        .map(|(op, d)| (op, d.path.as_str()))
        .collect();
    assert_eq!(
        ordering,
        vec![
            ("ordering", "$.tags"),
            ("inner_ordering", "$.m[0].r"),
            ("inner_ordering", "$.x[0]"),
            ("moved", "$.m"),
        ]
    );
    // The rule, or for a list kept sorted the group's path and what a rule would hide.
    let inner: Vec<String> = report
        .suggested_rules
        .iter()
        .filter(|s| s.op == "inner_ordering")
        .map(|s| match (&s.rule, &s.hides) {
            (Some(rule), _) => rule.clone(),
            (None, hides) => format!("path = {:?}\n# {}", s.path, hides.as_deref().unwrap()),
        })
        .collect();
    assert!(
        inner.iter().any(|r| r.contains("path = \"$.m[*].r\"")),
        "{inner:?}"
    );
    assert!(
        inner.iter().any(|r| r.contains("path = \"$.x[*]\"")),
        "{inner:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The gate: latency of a recorded legacy, unchecked writes, operations never compared.

fn gate(out: &std::path::Path, policy: &str) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", policy);
    let output = cutover()
        .arg("gate")
        .arg(out)
        .arg("--policy")
        .arg(&policy)
        .args(["--format", "json", "--today", "2026-11-22"])
        .output()
        .unwrap();
    let decision = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), decision)
}

fn clauses(decision: &Value) -> Vec<(String, String)> {
    decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["op"].as_str().unwrap_or_default().to_string(),
                r["clause"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_recorded_legacy_is_judged_on_its_recorded_latency_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let budget = "[gate]\nlatency_p99_ratio = 1.5\n";
    // Without latency_us, the clause cannot be judged: refused, the same way every time.
    let out = dir.path().join("plain");
    assert_eq!(
        crate::util::replay(&fixture("kv-demo.jsonl"), &out, &[]).code,
        Some(0)
    );
    for _ in 0..2 {
        let (code, decision) = gate(&out, budget);
        assert_eq!(code, Some(1));
        let latency: Vec<_> = clauses(&decision)
            .into_iter()
            .filter(|(_, c)| c == "latency")
            .collect();
        assert_eq!(latency.len(), 5, "{decision}");
        let message = decision["reasons"][0]["message"].as_str().unwrap();
        assert!(message.contains("cannot be judged"), "{message}");
    }
    // With latency_us on every request, the legacy's recorded latency is the reference.
    let text = std::fs::read_to_string(fixture("kv-demo.jsonl")).unwrap();
    let mut lines = text.lines();
    let mut timed = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let mut request: Value = serde_json::from_str(line).unwrap();
        request["latency_us"] = json!(250_000);
        timed.push_str(&format!("{request}\n"));
    }
    let cassette = write(dir.path(), "timed.jsonl", timed);
    let out = dir.path().join("timed");
    assert_eq!(crate::util::replay(&cassette, &out, &[]).code, Some(0));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["latency_us"]["legacy"]["p99"], json!(250_111));
    let (code, decision) = gate(&out, budget);
    assert_eq!((code, clauses(&decision)), (Some(0), vec![]), "{decision}");
}

#[test]
fn writes_whose_state_was_not_compared_are_unchecked_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = crate::util::replay(&fixture("kv-demo.jsonl"), &out, &["--no-state-check"]);
    assert_eq!(run.code, Some(0));
    let (code, decision) = gate(&out, "[gate]\n");
    assert_eq!(code, Some(1));
    let mut unchecked: Vec<_> = clauses(&decision)
        .into_iter()
        .filter(|(_, c)| c == "unchecked")
        .map(|(op, _)| op)
        .collect();
    unchecked.sort();
    assert_eq!(unchecked, vec!["delete", "insert", "put"]);
    let (code, decision) = gate(&out, "[gate]\nmax_unchecked_rate = 1.0\n");
    assert_eq!((code, clauses(&decision)), (Some(0), vec![]));
    // With the state compared, nothing is unchecked.
    let out = dir.path().join("checked");
    assert_eq!(
        crate::util::replay(&fixture("kv-demo.jsonl"), &out, &[]).code,
        Some(0)
    );
    let (code, decision) = gate(&out, "[gate]\n");
    assert_eq!((code, clauses(&decision)), (Some(0), vec![]));
}

#[test]
fn an_operation_whose_every_request_was_inconclusive_was_never_covered() {
    let dir = tempfile::tempdir().unwrap();
    // The scans' recorded outcomes are gone: the recorded legacy cannot answer them.
    let text = std::fs::read_to_string(fixture("kv-demo.jsonl")).unwrap();
    let stripped: String = text
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            if v["op"] == "scan" {
                v.as_object_mut().unwrap().remove("outcome");
            }
            format!("{v}\n")
        })
        .collect();
    let cassette = write(dir.path(), "no-scans.jsonl", stripped);
    let out = dir.path().join("out");
    assert_eq!(crate::util::replay(&cassette, &out, &[]).code, Some(2));
    let (code, decision) = gate(&out, "[gate]\nmax_inconclusive_rate = 1.0\n");
    assert_eq!(code, Some(1));
    assert_eq!(
        clauses(&decision),
        vec![("scan".to_string(), "coverage".to_string())],
        "{decision}"
    );
}

#[test]
fn noise_runs_leave_the_rules_counts_and_learned_ids_of_the_replay_alone() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[[rule]]\npath = \"$..name\"\nignore = true\n",
    );
    let fired = |extra: &[&str]| {
        let out = dir.path().join(format!("out{}", extra.len()));
        let mut args = vec!["--rules", rules.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = crate::util::replay(&fixture("kv-demo.jsonl"), &out, &args);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.report["rules"][0]["fired"].as_u64().unwrap()
    };
    let alone = fired(&[]);
    assert!(alone > 0);
    assert_eq!(fired(&["--noise-runs", "2"]), alone);
}

#[test]
fn a_golden_master_redaction_by_sorted_by_never_repairs_a_broken_order() {
    let rules = RuleRun::of(
        Rules::parse("[[rule]]\npath = \"$\"\nsorted_by = [\"k\"]\n", "g.toml").unwrap(),
    );
    let redacted = |mut v: Value| {
        rules.redact("get", Part::Outcome, &mut v);
        v
    };
    // Ties in any order redact alike.
    let a = json!([{"k": 1, "t": "x"}, {"k": 1, "t": "y"}, {"k": 2}]);
    let b = json!([{"k": 1, "t": "y"}, {"k": 1, "t": "x"}, {"k": 2}]);
    assert_eq!(redacted(a.clone()), redacted(b));
    // A broken order stays broken, so it differs from the snapshot.
    let broken = json!([{"k": 2}, {"k": 1, "t": "x"}, {"k": 1, "t": "y"}]);
    assert_eq!(redacted(broken.clone()), broken);
    assert_ne!(redacted(broken), redacted(a));
}

#[test]
fn an_accepted_state_difference_with_a_detail_covers_only_that_detail() {
    let cases = [
        write_case("save", json!({"v": 1}), json!({"v": 2})),
        write_case("save", json!({"v": 1, "x": 2}), json!({"v": 1})),
    ];
    let (report, results) = replay_cases(&cases, None, None);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let accept = |detail: &str, path: &str| {
        let text = format!(
            "[[accept]]\nop = \"save\"\npath = \"{path}\"\nclass = \"state\"\n{detail}reason = \"r\"\nowner = \"o\"\nexpires = 2027-12-31\n"
        );
        Policy::parse(&text, "p.toml").unwrap()
    };
    // `detail = "value"` at $.v covers the changed value, not the missing member at $.x.
    let both = {
        let mut p = accept("detail = \"value\"\n", "$.v");
        p.accept
            .extend(accept("detail = \"value\"\n", "$.x").accept);
        p
    };
    let decision = gate::evaluate(&report, &results, &both, today);
    assert_eq!(decision.verdict, GateVerdict::Rejected);
    assert_eq!(
        decision
            .accepted
            .iter()
            .map(|u| u.matched)
            .collect::<Vec<_>>(),
        vec![1, 0]
    );
    // Without a detail, a state accept covers either.
    let mut any = accept("", "$.v");
    any.accept.extend(accept("", "$.x").accept);
    let decision = gate::evaluate(&report, &results, &any, today);
    assert_eq!(
        decision.verdict,
        GateVerdict::Approved,
        "{:?}",
        decision.reasons
    );
}
