//! The mapping rules a change of store needs (`rename`, `value_map`, `null_as`): what each
//! declares it accepts, and attacks on everything it does not declare: other paths,
//! operations, parts and sides, values not in the map, numbers against strings and numbers
//! beyond `f64`, nulls in arrays, missing members, a rename where both names exist, nested
//! objects the path does not select. Then their located errors, their counts in reports,
//! golden-master redactions, `cutover diff --rules`, and suggested rules beside them.

use crate::allowances::{group_of, groups, read, replay_cases, write_case};
use crate::util::{cutover, write};
use cutover::diff::{deep_eq, Class};
use cutover::normalize::{Part, RuleRun, Rules};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Rules compiled from TOML, for one run.
fn rules(text: &str) -> RuleRun {
    RuleRun::of(Rules::parse(text, "mapping.toml").unwrap_or_else(|e| panic!("{e}\n{text}")))
}

/// One comparison of `op`'s `part` through `run`: (path, class) of what is left.
fn compare(run: &RuleRun, op: &str, part: Part, left: Value, right: Value) -> Vec<(String, Class)> {
    let (mut left, mut right) = (left, right);
    run.compare(op, part, false, &mut left, &mut right)
        .divergences
        .into_iter()
        .map(|d| (d.path, d.detail.unwrap_or(d.class)))
        .collect()
}

/// `rules` applied to one answer of `get`: what is left, and the first rule's fired and
/// unjudged counts.
fn check(text: &str, left: Value, right: Value) -> (Vec<(String, Class)>, u64, u64) {
    let run = rules(text);
    let found = compare(&run, "get", Part::Outcome, left, right);
    let usage = &run.usage()[0];
    (found, usage.fired, usage.unjudged)
}

fn found(text: &str, left: Value, right: Value) -> Vec<(String, Class)> {
    check(text, left, right).0
}

fn at(items: &[(&str, Class)]) -> Vec<(String, Class)> {
    let mut v: Vec<_> = items.iter().map(|(p, c)| (p.to_string(), *c)).collect();
    v.sort();
    v
}

fn paths(found: &[(String, Class)]) -> Vec<&str> {
    found.iter().map(|(p, _)| p.as_str()).collect()
}

fn sorted(mut v: Vec<(String, Class)>) -> Vec<(String, Class)> {
    v.sort();
    v
}

/// A JSON value from its text, numbers kept exactly as written.
fn j(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

const RENAME: &str = "[[rule]]\npath = \"$\"\nrename = { from = \"is_active\", to = \"active\" }\n";

// ---------------------------------------------------------------------------------------
// rename

#[test]
fn rename_renames_the_member_on_the_legacy_side_and_counts_it() {
    let (left, fired, unjudged) = check(
        RENAME,
        json!({"id": 1, "is_active": true}),
        json!({"id": 1, "active": true}),
    );
    assert_eq!((left, fired, unjudged), (vec![], 1, 0));
    // The value is still compared under the new name.
    assert_eq!(
        found(RENAME, json!({"is_active": true}), json!({"active": false})),
        at(&[("$.active", Class::Value)])
    );
}

#[test]
fn rename_changes_only_the_side_it_names() {
    // Legacy (the default): a candidate that kept the old name is a divergence.
    assert_eq!(
        sorted(found(
            RENAME,
            json!({"active": true}),
            json!({"is_active": true})
        )),
        at(&[("$.active", Class::Missing), ("$.is_active", Class::Extra)])
    );
    let candidate = format!("{RENAME}side = \"candidate\"\n");
    assert_eq!(
        check(
            &candidate,
            json!({"active": true}),
            json!({"is_active": true})
        ),
        (vec![], 1, 0)
    );
    assert_eq!(
        sorted(found(
            &candidate,
            json!({"is_active": true}),
            json!({"active": true})
        )),
        at(&[("$.active", Class::Extra), ("$.is_active", Class::Missing)])
    );
    let both = format!("{RENAME}side = \"both\"\n");
    assert_eq!(
        check(
            &both,
            json!({"is_active": true}),
            json!({"is_active": true})
        ),
        (vec![], 2, 0)
    );
    assert_eq!(
        found(&both, json!({"is_active": true}), json!({"active": false})),
        at(&[("$.active", Class::Value)])
    );
}

#[test]
fn rename_where_both_names_exist_drops_neither_value() {
    for path in ["$.items[*]", "$.items[0:]"] {
        let rule = format!(
            "[[rule]]\npath = \"{path}\"\nrename = {{ from = \"is_active\", to = \"active\" }}\n"
        );
        // The legacy has both: left as it is, so the member the candidate lacks shows.
        let (left, fired, unjudged) = check(
            &rule,
            json!({"items": [{"is_active": 0, "active": true}]}),
            json!({"items": [{"active": true}]}),
        );
        assert_eq!(
            (left, fired, unjudged),
            (at(&[("$.items[0].is_active", Class::Missing)]), 0, 1),
            "{path}"
        );
        // Neither value overwrites the other.
        assert_eq!(
            sorted(found(
                &rule,
                json!({"items": [{"is_active": true, "active": false}]}),
                json!({"items": [{"active": true}]}),
            )),
            at(&[
                ("$.items[0].active", Class::Value),
                ("$.items[0].is_active", Class::Missing)
            ]),
            "{path}"
        );
        // Equal on both sides: nothing to hide, nothing reported.
        let same = json!({"items": [{"is_active": 1, "active": true}]});
        assert_eq!(found(&rule, same.clone(), same), vec![], "{path}");
    }
}

#[test]
fn rename_touches_only_the_objects_its_path_selects() {
    let rename = |path: &str| {
        format!(
            "[[rule]]\npath = \"{path}\"\nrename = {{ from = \"is_active\", to = \"active\" }}\n"
        )
    };
    // `$`: the root object, not the ones nested in it.
    assert_eq!(
        sorted(found(
            &rename("$"),
            json!({"user": {"is_active": true}}),
            json!({"user": {"active": true}}),
        )),
        at(&[
            ("$.user.active", Class::Extra),
            ("$.user.is_active", Class::Missing)
        ])
    );
    // `$.user`: not the root's member of that name.
    assert_eq!(
        sorted(found(
            &rename("$.user"),
            json!({"is_active": true, "user": {}}),
            json!({"active": true, "user": {}}),
        )),
        at(&[("$.active", Class::Extra), ("$.is_active", Class::Missing)])
    );
    // `$.items` selects the array: its elements are not objects the path selects.
    let items = |name: &str| json!({"items": [{ name: true, "sub": { name: true } }]});
    let (left, fired, _) = check(&rename("$.items"), items("is_active"), items("active"));
    assert_eq!((left.len(), fired), (4, 0));
    // `$.items[*]`: the elements, and not the objects inside them.
    let sub =
        |outer: &str, inner: &str| json!({"items": [{ outer: true, "sub": { inner: true } }]});
    assert_eq!(
        check(
            &rename("$.items[*]"),
            sub("is_active", "active"),
            sub("active", "active")
        ),
        (vec![], 1, 0)
    );
    assert_eq!(
        sorted(found(
            &rename("$.items[*]"),
            sub("is_active", "is_active"),
            sub("active", "active")
        )),
        at(&[
            ("$.items[0].sub.active", Class::Extra),
            ("$.items[0].sub.is_active", Class::Missing)
        ])
    );
    // `$..*` reaches every object below the root, deepest renamed first.
    assert_eq!(
        check(
            &rename("$..*"),
            sub("is_active", "is_active"),
            sub("active", "active")
        ),
        (vec![], 2, 0)
    );
    assert_eq!(
        check(
            &rename("$..[?@.is_active]"),
            sub("is_active", "is_active"),
            sub("active", "active")
        ),
        (vec![], 2, 0)
    );
    // An object selected inside the member being renamed is still renamed.
    let nested = |name: &str| json!({"x": { name: { name: true } }});
    for path in ["$..[?@.is_active]", "$..*"] {
        assert_eq!(
            check(&rename(path), nested("is_active"), nested("active")),
            (vec![], 2, 0),
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// value_map

const STATUS: &str =
    "[[rule]]\npath = \"$.status\"\nvalue_map = { pending = \"PENDING\", 2 = \"shipped\" }\n";

#[test]
fn value_map_translates_the_declared_values_and_only_in_the_declared_direction() {
    let s = |v: Value| json!({ "status": v });
    assert_eq!(
        check(STATUS, s(json!("pending")), s(json!("PENDING"))),
        (vec![], 1, 0)
    );
    assert_eq!(
        check(STATUS, s(json!(2)), s(json!("shipped"))),
        (vec![], 1, 0)
    );
    let diverges = |l: Value, r: Value| {
        assert_eq!(
            found(STATUS, s(l.clone()), s(r.clone())),
            at(&[("$.status", Class::Value)]),
            "{l} vs {r}"
        )
    };
    // Values not in the map are left alone, so they still diverge.
    diverges(json!("done"), json!("DONE"));
    // The other direction is not declared: a candidate answering the legacy's spelling.
    diverges(json!("PENDING"), json!("pending"));
    diverges(json!("pending"), json!("pending"));
    // A key maps to its value and no other.
    diverges(json!("pending"), json!("shipped"));
    // Every other divergence of the document stays.
    assert_eq!(
        found(
            STATUS,
            json!({"status": "pending", "n": 1}),
            json!({"status": "PENDING", "n": 2})
        ),
        at(&[("$.n", Class::Value)])
    );
}

#[test]
fn value_map_keys_match_their_own_type_and_exact_value() {
    let s = |v: &str| json!({ "status": j(v) });
    let map =
        |entries: &str| format!("[[rule]]\npath = \"$.status\"\nvalue_map = {{ {entries} }}\n");
    let accepts = |rule: &str, l: &str, r: &str| found(rule, s(l), s(r)).is_empty();
    // `2` (or `"2"`, the same TOML key) is the number: 2, 2.0 and 2e0, never the string.
    for key in ["2", "\"2\""] {
        let rule = map(&format!("{key} = \"shipped\""));
        for two in ["2", "2.0", "2e0", "20e-1"] {
            assert!(accepts(&rule, two, "\"shipped\""), "{key}: {two}");
        }
        for other in ["\"2\"", "2.5", "-2", "\"2.0\"", "20", "true"] {
            assert!(!accepts(&rule, other, "\"shipped\""), "{key}: {other}");
        }
    }
    // A key in double quotes is the string: never the number.
    let rule = map("'\"2\"' = \"two\"");
    assert!(accepts(&rule, "\"2\"", "\"two\""));
    assert!(!accepts(&rule, "2", "\"two\""));
    // Beyond f64: 12345678901234567890 and 12345678901234567891 are the same f64.
    let rule = map("12345678901234567890 = \"big\", 9007199254740993 = \"odd\"");
    assert!(accepts(&rule, "12345678901234567890", "\"big\""));
    assert!(accepts(&rule, "12345678901234567890.000", "\"big\""));
    assert!(!accepts(&rule, "12345678901234567891", "\"big\""));
    assert!(!accepts(&rule, "12345678901234567889", "\"big\""));
    assert!(accepts(&rule, "9007199254740993", "\"odd\""));
    assert!(!accepts(&rule, "9007199254740992", "\"odd\""));
    // Booleans are keys too; the string "true" is not the boolean.
    let rule = map("true = 1, false = 0");
    assert!(accepts(&rule, "true", "1"));
    assert!(!accepts(&rule, "\"true\"", "1"));
    let rule = map("'\"true\"' = 1");
    assert!(accepts(&rule, "\"true\"", "1"));
    assert!(!accepts(&rule, "true", "1"));
    // Mapped numbers are the numbers written, however long.
    let rule = map("a = 0.1000000000000000055511151231257827, b = 12345678901234567891.0");
    assert!(accepts(
        &rule,
        "\"a\"",
        "0.1000000000000000055511151231257827"
    ));
    assert!(!accepts(&rule, "\"a\"", "0.1"));
    assert!(accepts(&rule, "\"b\"", "12345678901234567891"));
    assert!(!accepts(&rule, "\"b\"", "12345678901234567890"));
}

#[test]
fn value_map_reaches_array_elements_only_when_the_path_selects_them() {
    let tags = |path: &str| format!("[[rule]]\npath = \"{path}\"\nvalue_map = {{ a = \"A\" }}\n");
    let l = json!({"tags": ["a", "b"], "x": "a"});
    let r = json!({"tags": ["A", "b"], "x": "a"});
    assert!(!found(&tags("$.tags"), l.clone(), r.clone()).is_empty());
    assert_eq!(
        check(&tags("$.tags[*]"), l.clone(), r.clone()),
        (vec![], 1, 0)
    );
    // A deeper member of the same value is not selected by `$.x`.
    assert_eq!(
        found(
            &tags("$.x"),
            json!({"x": {"y": "a"}}),
            json!({"x": {"y": "A"}})
        ),
        at(&[("$.x.y", Class::Value)])
    );
}

#[test]
fn a_mapped_value_is_never_mapped_again() {
    // The value a key becomes may hold the key itself; `..` must not map it once more.
    for path in ["$..status", "$..*"] {
        let rule =
            format!("[[rule]]\npath = \"{path}\"\nvalue_map = {{ a = {{ status = \"a\" }} }}\n");
        assert_eq!(
            check(
                &rule,
                json!({"status": "a"}),
                json!({"status": {"status": "a"}})
            ),
            (vec![], 1, 0),
            "{path}"
        );
    }
}

fn pool() -> Vec<&'static str> {
    vec![
        "2",
        "2.0",
        "\"2\"",
        "\"2.0\"",
        "12345678901234567890",
        "12345678901234567891",
        "\"pending\"",
        "\"PENDING\"",
        "true",
        "\"true\"",
        "null",
        "0",
        "\"\"",
    ]
}

/// The oracle's identity of a pool value: the same class exactly when the diff calls two
/// values equal (2 and 2.0 are one number).
fn class(text: &str) -> &str {
    match text {
        "2.0" => "2",
        other => other,
    }
}

/// A value_map key for a pool value, as a rules file writes it.
fn toml_key(text: &str) -> String {
    if text.starts_with('"') {
        format!("'{text}'")
    } else {
        format!("\"{text}\"")
    }
}

proptest! {
    /// After a value_map on the legacy side, the two sides are equal exactly when the
    /// legacy's value maps to the candidate's, or is no key and equals it: two different
    /// values that are not keys are never made equal, and a string never matches a number.
    #[test]
    fn value_map_makes_equal_exactly_what_it_declares(
        keys in proptest::sample::subsequence(pool(), 0..5),
        targets in proptest::collection::vec(0usize..5, 5),
        l in proptest::sample::select(pool()),
        r in proptest::sample::select(pool()),
        both in any::<bool>(),
    ) {
        let values = ["\"PENDING\"", "\"shipped\"", "2", "2.0", "true"];
        // One entry per class of keys, none mapping a key to itself, no null key.
        let mut entries: Vec<(&str, &str)> = Vec::new();
        for (key, t) in keys.iter().zip(&targets) {
            let value = values[*t];
            if *key != "null" && class(key) != class(value)
                && !entries.iter().any(|(k, _)| class(k) == class(key)) {
                entries.push((key, value));
            }
        }
        prop_assume!(!entries.is_empty());
        let table: Vec<String> = entries.iter().map(|(k, v)| format!("{} = {v}", toml_key(k))).collect();
        let side = if both { "both" } else { "legacy" };
        let rule = format!(
            "[[rule]]\npath = \"$.v\"\nside = \"{side}\"\nvalue_map = {{ {} }}\n",
            table.join(", ")
        );
        let mapped = |x: &str| -> String {
            entries.iter().find(|(k, _)| class(k) == class(x)).map_or(class(x).to_string(), |(_, v)| class(v).to_string())
        };
        let expected_l = mapped(l);
        let expected_r = if both { mapped(r) } else { class(r).to_string() };
        let left = found(&rule, json!({"v": j(l)}), json!({"v": j(r)}));
        prop_assert_eq!(left.is_empty(), expected_l == expected_r, "{} vs {}: {:?}\n{}", l, r, left, rule);
        if !both && mapped(l) == class(l) && class(l) != class(r) {
            prop_assert!(!left.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------
// null_as

const FLAG: &str = "[[rule]]\npath = \"$.flag\"\nnull_as = false\n";

#[test]
fn null_as_gives_a_null_the_declared_value_and_nothing_else() {
    let f = |v: Value| json!({ "flag": v });
    assert_eq!(check(FLAG, f(json!(null)), f(json!(false))), (vec![], 1, 0));
    for (l, r) in [
        (json!(null), json!(true)),
        (json!(true), json!(false)),
        (json!(0), json!(false)),
        (json!("false"), json!(false)),
    ] {
        let left = found(FLAG, f(l.clone()), f(r.clone()));
        assert_eq!(paths(&left), vec!["$.flag"], "{l} vs {r}");
    }
    // `null` on the candidate's side is not declared (the rule is for the legacy's nulls).
    let left = found(FLAG, f(json!(false)), f(json!(null)));
    assert_eq!(paths(&left), vec!["$.flag"]);
    let candidate = format!("{FLAG}side = \"candidate\"\n");
    assert_eq!(
        check(&candidate, f(json!(false)), f(json!(null))),
        (vec![], 1, 0)
    );
    assert!(!found(&candidate, f(json!(null)), f(json!(false))).is_empty());
    // A nested member of the same name is not at the path.
    assert_eq!(
        found(
            FLAG,
            json!({"a": {"flag": null}}),
            json!({"a": {"flag": false}})
        ),
        at(&[("$.a.flag", Class::Value)])
    );
}

#[test]
fn null_as_never_stands_for_a_missing_member() {
    for path in ["$.flag", "$.*", "$..flag", "$[?@ == null]"] {
        let rule = format!("[[rule]]\npath = \"{path}\"\nnull_as = false\n");
        assert_eq!(
            found(&rule, json!({}), json!({"flag": false})),
            at(&[("$.flag", Class::Extra)]),
            "{path}"
        );
        assert_eq!(
            found(&rule, json!({"flag": null}), json!({})),
            at(&[("$.flag", Class::Missing)]),
            "{path}"
        );
        // And the null_equals_missing rule is a separate declaration.
        assert_eq!(
            found(&rule, json!({"x": 1}), json!({"x": 1, "flag": null})),
            at(&[("$.flag", Class::Extra)]),
            "{path}"
        );
    }
}

#[test]
fn null_as_reaches_array_elements_only_when_the_path_selects_them() {
    let rule = |path: &str| format!("[[rule]]\npath = \"{path}\"\nnull_as = false\n");
    let l = json!({"flags": [null, true]});
    let r = json!({"flags": [false, true]});
    assert!(!found(&rule("$.flags"), l.clone(), r.clone()).is_empty());
    assert!(!found(&rule("$.*"), l.clone(), r.clone()).is_empty());
    assert_eq!(
        check(&rule("$.flags[*]"), l.clone(), r.clone()),
        (vec![], 1, 0)
    );
    assert_eq!(
        check(&rule("$.flags[0]"), l.clone(), r.clone()),
        (vec![], 1, 0)
    );
    assert!(!found(&rule("$.flags[1]"), l, r).is_empty());
    // The array itself null, at the path: that null is the member's value.
    assert_eq!(
        check(
            &rule("$.flags"),
            json!({"flags": null}),
            json!({"flags": false})
        ),
        (vec![], 1, 0)
    );
}

// ---------------------------------------------------------------------------------------
// All three: operations, parts, sides, paths.

fn every_mapping() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "path = \"$\"\nrename = { from = \"is_active\", to = \"active\" }",
            json!({"is_active": true}),
            json!({"active": true}),
        ),
        (
            "path = \"$.status\"\nvalue_map = { pending = \"PENDING\" }",
            json!({"status": "pending"}),
            json!({"status": "PENDING"}),
        ),
        (
            "path = \"$.flag\"\nnull_as = false",
            json!({"flag": null}),
            json!({"flag": false}),
        ),
    ]
}

#[test]
fn a_mapping_applies_only_to_its_operation_and_part() {
    for (action, legacy, candidate) in every_mapping() {
        let outcome = rules(&format!(
            "[[rule]]\nop = \"get\"\non = \"outcome\"\n{action}\n"
        ));
        let pair = || (legacy.clone(), candidate.clone());
        let (l, r) = pair();
        assert_eq!(
            compare(&outcome, "get", Part::Outcome, l, r),
            vec![],
            "{action}"
        );
        let (l, r) = pair();
        assert!(
            !compare(&outcome, "list", Part::Outcome, l, r).is_empty(),
            "{action}: another op"
        );
        let (l, r) = pair();
        assert!(
            !compare(&outcome, "get", Part::State, l, r).is_empty(),
            "{action}: the state"
        );
        let state = rules(&format!("[[rule]]\non = \"state\"\n{action}\n"));
        let (l, r) = pair();
        assert!(
            !compare(&state, "get", Part::Outcome, l, r).is_empty(),
            "{action}: the outcome"
        );
        let (l, r) = pair();
        assert_eq!(
            compare(&state, "put", Part::State, l, r),
            vec![],
            "{action}"
        );
        assert_eq!(outcome.usage()[0].fired, 1, "{action}");
        assert_eq!(state.usage()[0].fired, 1, "{action}");
    }
}

#[test]
fn a_mapping_never_fires_on_the_side_it_does_not_name() {
    for (action, legacy, candidate) in every_mapping() {
        // Declared for the candidate: the legacy's representation is not translated.
        let run = rules(&format!("[[rule]]\n{action}\nside = \"candidate\"\n"));
        assert!(
            !compare(
                &run,
                "get",
                Part::Outcome,
                legacy.clone(),
                candidate.clone()
            )
            .is_empty(),
            "{action}"
        );
        assert_eq!(run.usage()[0].fired, 0, "{action}: an unused rule shows");
        // The same pair swapped is what it declares.
        assert_eq!(
            compare(&run, "get", Part::Outcome, candidate, legacy),
            vec![],
            "{action}"
        );
    }
}

proptest! {
    /// A mapping declared for one side leaves the other side's value exactly as it was.
    #[test]
    fn a_one_sided_mapping_leaves_the_other_side_untouched(
        which in 0usize..3, candidate_side in any::<bool>(), path in prop_oneof![
            Just("$"), Just("$..*"), Just("$.a"), Just("$.a[*]"), Just("$..a"),
        ],
        left in small_json(), right in small_json(),
    ) {
        let action = [
            "rename = { from = \"a\", to = \"k\" }",
            "value_map = { 0 = \"x\", x = 1, true = false }",
            "null_as = 0",
        ][which];
        let side = if candidate_side { "candidate" } else { "legacy" };
        let run = rules(&format!("[[rule]]\npath = \"{path}\"\nside = \"{side}\"\n{action}\n"));
        let (mut l, mut r) = (left.clone(), right.clone());
        run.apply("get", Part::Outcome, false, &mut l, &mut r);
        let untouched = if candidate_side { (&l, &left) } else { (&r, &right) };
        prop_assert_eq!(untouched.0, untouched.1);
    }

    /// Whatever a mapping declares at `$.a`, on any side, a difference at `$.b` stays: a
    /// random one, or exactly the pair the mapping would accept at its own path.
    #[test]
    fn no_mapping_accepts_a_difference_outside_its_path(
        which in 0usize..3, side in prop_oneof![Just("legacy"), Just("candidate"), Just("both")],
        planted in any::<bool>(), a in small_json(), v in small_json(),
        b_left in small_json(), b_right in small_json(),
    ) {
        let (action, declared_l, declared_r) = [
            ("rename = { from = \"k\", to = \"x\" }", json!({"k": v.clone()}), json!({"x": v})),
            ("value_map = { 0 = \"x\", x = 1, true = false }", json!(0), json!("x")),
            ("null_as = 0", json!(null), json!(0)),
        ][which].clone();
        let (b_left, b_right) = match (planted, side) {
            (false, _) => (b_left, b_right),
            (true, "candidate") => (declared_r, declared_l),
            (true, _) => (declared_l, declared_r),
        };
        prop_assume!(!deep_eq(&b_left, &b_right));
        let rule = format!("[[rule]]\npath = \"$.a\"\nside = \"{side}\"\n{action}\n");
        let left = found(&rule, json!({"a": a.clone(), "b": b_left}), json!({"a": a, "b": b_right}));
        prop_assert!(left.iter().any(|(p, _)| p.starts_with("$.b")), "{:?}", left);
    }
}

fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u8..3).prop_map(Value::from),
        "[akx]{0,1}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::btree_map("[akb]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// Golden masters, reports, errors.

#[test]
fn a_golden_master_redacts_only_the_mappings_declared_for_both_sides() {
    let run = rules(concat!(
        "[[rule]]\npath = \"$\"\nrename = { from = \"is_active\", to = \"active\" }\n",
        "[[rule]]\npath = \"$.status\"\nvalue_map = { pending = \"PENDING\" }\nside = \"both\"\n",
        "[[rule]]\npath = \"$.flag\"\nnull_as = false\nside = \"candidate\"\n",
    ));
    let mut value = json!({"is_active": true, "status": "pending", "flag": null});
    run.redact("get", Part::Outcome, &mut value);
    // A lone value's side is unknown: one-sided mappings leave it alone.
    assert_eq!(
        value,
        json!({"is_active": true, "status": "PENDING", "flag": null})
    );
    assert_eq!(
        run.usage().iter().map(|u| u.fired).collect::<Vec<_>>(),
        vec![0, 1, 0]
    );
}

#[test]
fn the_report_names_each_mapping_with_its_side_and_typed_keys() {
    let run = rules(concat!(
        "[[rule]]\nop = \"get\"\npath = \"$\"\nrename = { from = \"is_active\", to = \"active\" }\n",
        "[[rule]]\npath = \"$.status\"\nvalue_map = { pending = \"PENDING\", 2 = \"shipped\", '\"2\"' = 2.50 }\nside = \"both\"\n",
        "[[rule]]\npath = \"$.flag\"\nnull_as = { on = false }\nside = \"candidate\"\n",
    ));
    let described: Vec<String> = run.usage().into_iter().map(|u| u.rule).collect();
    assert_eq!(
        described,
        vec![
            "get $ rename \"is_active\" to \"active\", legacy side",
            "$.status value_map {\"pending\": \"PENDING\", 2: \"shipped\", \"2\": 2.50}, both side (global)",
            "$.flag null_as {\"on\":false}, candidate side (global)",
        ]
    );
    assert!(
        run.usage().iter().all(|u| u.fired == 0),
        "unused rules show 0"
    );
}

#[test]
fn bad_mapping_rules_are_located() {
    let rule = |body: &str| format!("[[rule]]\npath = \"$.a\"\n{body}\n");
    for (body, expected) in [
        (
            "rename = { from = \"a\", to = \"b\", too = \"c\" }",
            "line 3 column 34: unknown field `too`",
        ),
        (
            "rename = { from = \"a\" }",
            "line 3 column 10: missing field `to`",
        ),
        (
            "rename = { from = \"a\", to = \"a\" }",
            "line 3 column 10: rename: `from` and `to` are both `a`",
        ),
        (
            "rename = { from = \"\", to = \"a\" }",
            "line 3 column 10: rename: `from` and `to` are member names",
        ),
        (
            "rename = \"a\"",
            "line 3 column 10: invalid type: string \"a\", expected a table { from",
        ),
        (
            "value_map = {}",
            "line 3 column 13: value_map needs at least one entry",
        ),
        ("value_map = [\"a\", \"b\"]", "line 3 column 13"),
        (
            "value_map = { a = \"b\", null = 1 }",
            "line 3 column 24: value_map key null",
        ),
        (
            "value_map = { '[1]' = 1 }",
            "line 3 column 15: value_map key [1]",
        ),
        (
            "value_map = { 2 = \"a\", \"2.0\" = \"b\" }",
            "line 3 column 24: value_map keys 2 and 2.0 are the same value",
        ),
        (
            "value_map = { pending = \"pending\" }",
            "line 3 column 15: value_map maps \"pending\" to itself",
        ),
        ("value_map = { 2 = 2.0 }", "maps 2 to itself"),
        (
            "value_map = { a = [1.5] }",
            "line 3 column 19: value_map \"a\" = [1.5]: a float inside an array",
        ),
        (
            "value_map = { a = 1 }\nignore = true",
            "line 1 column 1: a rule has exactly one action",
        ),
        (
            "rename = { from = \"a\", to = \"b\" }\nnull_as = 0",
            "exactly one action",
        ),
        (
            "null_as = nan",
            "line 3 column 11: null_as = nan: expected a finite decimal number",
        ),
        ("null_as = { x = inf }", "line 3 column 11"),
        (
            "ignore = true\nside = \"legacy\"",
            "line 4 column 8: side: only rename, value_map and null_as",
        ),
        (
            "null_as = 0\nside = \"left\"",
            "line 4 column 8: side = \"left\": expected legacy, candidate or both",
        ),
        (
            "null_as = 0\nsides = \"both\"",
            "line 4 column 1: unknown field `sides`",
        ),
    ] {
        let text = rule(body);
        let error = match Rules::parse(&text, "bad.toml") {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        };
        assert!(error.starts_with("rules bad.toml line"), "{error}");
        assert!(error.contains(expected), "`{expected}` in: {error}");
    }
}

// ---------------------------------------------------------------------------------------
// `cutover diff --rules` and replays with suggested rules.

const MIGRATION: &str = r#"
[[rule]]
path = "$"
rename = { from = "is_active", to = "active" }
reason = "MySQL column is_active became active"

[[rule]]
path = "$.active"
value_map = { 0 = false, 1 = true }
reason = "tinyint(1) became boolean; after the rename, in file order"

[[rule]]
path = "$.status"
value_map = { pending = "PENDING", shipped = "SHIPPED" }
reason = "ENUM values are upper case in PostgreSQL"

[[rule]]
path = "$.note"
null_as = ""
reason = "the column became NOT NULL DEFAULT ''"
"#;

#[test]
fn cutover_diff_applies_mapping_rules_and_reports_their_counts() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "migration.toml", MIGRATION);
    let diff = |l: &str, r: &str, format: &str| {
        let (l, r) = (
            write(dir.path(), "l.json", l),
            write(dir.path(), "r.json", r),
        );
        let output = cutover()
            .arg("diff")
            .arg(&l)
            .arg(&r)
            .args(["--format", format, "--rules"])
            .arg(&rules)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let legacy = r#"{"is_active": 1, "status": "pending", "note": null}"#;
    let (code, out) = diff(
        legacy,
        r#"{"active": true, "status": "PENDING", "note": ""}"#,
        "json",
    );
    assert_eq!(code, Some(0), "{out}");
    let out: Value = serde_json::from_str(&out).unwrap();
    let fired: Vec<u64> = out["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fired"].as_u64().unwrap())
        .collect();
    assert_eq!(fired, vec![1, 1, 1, 1]);
    assert_eq!(
        out["rules"][1]["rule"],
        "$.active value_map {0: false, 1: true}, legacy side (global)"
    );
    // What the rules do not declare still diverges, and the command says so.
    let (code, out) = diff(
        legacy,
        r#"{"active": false, "status": "pending", "note": null}"#,
        "human",
    );
    assert_eq!(code, Some(1), "{out}");
    for path in ["$.active", "$.status", "$.note"] {
        assert!(out.contains(path), "{path} in {out}");
    }
}

#[test]
fn a_replay_with_mapping_rules_counts_them_and_suggests_rules_for_the_rest() {
    let cases = [
        read(
            "get",
            json!({"is_active": 1, "status": "pending", "note": null, "at": "2024-01-01T00:00:00.123456Z"}),
            json!({"active": true, "status": "PENDING", "note": "", "at": "2024-01-01T00:00:00.123Z"}),
        ),
        read(
            "get",
            json!({"is_active": 0, "active": false, "status": "done"}),
            json!({"active": false, "status": "DONE"}),
        ),
        write_case(
            "save",
            json!({"is_active": 1, "status": "shipped", "note": null}),
            json!({"active": true, "status": "SHIPPED", "note": ""}),
        ),
    ];
    let mapping = || Rules::parse(MIGRATION, "migration.toml").unwrap();
    let (report, results) = replay_cases(&cases, Some(mapping()), None);
    let fired: Vec<(u64, u64)> = report.rules.iter().map(|r| (r.fired, r.unjudged)).collect();
    // The second `get` has both names: left as it is, counted unjudged, still divergent.
    assert_eq!(fired, vec![(2, 1), (2, 0), (2, 0), (2, 0)]);
    let mut left: Vec<(String, String, Class)> = results
        .iter()
        .flat_map(|r| {
            r.divergences
                .iter()
                .map(|d| (r.op.clone(), d.path.clone(), d.detail.unwrap_or(d.class)))
        })
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            ("get".into(), "$.at".into(), Class::Value),
            ("get".into(), "$.is_active".into(), Class::Missing),
            ("get".into(), "$.status".into(), Class::Value),
        ]
    );
    // Each group left gets a suggestion that, pasted beside the mapping rules, accepts
    // exactly its group.
    let before = groups(&report);
    assert_eq!(before.len(), 3, "{before:?}");
    for s in &report.suggested_rules {
        // A member the candidate lost gets no rule, only what accepting it would hide.
        let Some(rule) = s.rule.as_ref() else {
            assert_eq!(s.path, "$.is_active", "{s:?}");
            assert!(s.hides.as_deref().unwrap().contains("lost"), "{s:?}");
            continue;
        };
        let rules = Rules::parse(&format!("{MIGRATION}\n{rule}"), "pasted.toml")
            .unwrap_or_else(|e| panic!("{e}\n{rule}"));
        let (after, _) = replay_cases(&cases, Some(rules), None);
        let mut expected = before.clone();
        expected.remove(&group_of(s));
        assert_eq!(groups(&after), expected, "after pasting\n{rule}");
    }
}
