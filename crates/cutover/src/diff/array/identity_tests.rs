//! Alignment by a declared identity member: through a rules file, then directly, then its
//! properties against deep equality.

use super::super::{values, Class, Diff, Differ};
use super::by_identity;
use crate::diff::deep_eq;
use crate::normalize::{Part, RuleRun, Rules};
use proptest::prelude::*;
use serde_json::{json, Value};

/// `right` against `left` under `rules`, for the operation `list`.
fn compare(rules: &str, left: &Value, right: &Value) -> Diff {
    let run = RuleRun::of(Rules::parse(rules, "rules.toml").unwrap());
    let (mut l, mut r) = (left.clone(), right.clone());
    run.compare("list", Part::Outcome, false, &mut l, &mut r)
}

/// The arrays aligned by `key`, or `None` when the key cannot identify their elements.
fn by_key(left: &[Value], right: &[Value], key: &str) -> Option<Diff> {
    let mut d = Differ::default();
    by_identity(&mut d, left, right, key).then(|| d.finish())
}

fn shapes(diff: &Diff) -> Vec<(String, Class)> {
    diff.divergences
        .iter()
        .map(|d| (d.path.clone(), d.class))
        .collect()
}

const ITEMS: &str = "[[rule]]\npath = \"$.items\"\nidentity = \"id\"\n";

/// Four tasks; the candidate answers them in another order, with `done` a boolean where
/// the legacy has `0` and `1`, and timestamps in milliseconds where the legacy has
/// microseconds: no element is equal to its counterpart.
fn reordered_and_restyled() -> (Value, Value) {
    let left = json!({"items": [
        {"id": 1, "title": "a", "done": 0, "at": "2024-01-01T00:00:00.123456Z"},
        {"id": 2, "title": "b", "done": 0, "at": "2024-01-02T00:00:00.000000Z"},
        {"id": 3, "title": "c", "done": 1, "at": "2024-01-03T00:00:00.000000Z"},
        {"id": 4, "title": "d", "done": 1, "at": "2024-01-04T00:00:00.000000Z"},
    ]});
    let right = json!({"items": [
        {"id": 4, "title": "d", "done": true, "at": "2024-01-04T00:00:00.000Z"},
        {"id": 1, "title": "a", "done": false, "at": "2024-01-01T00:00:00.123Z"},
        {"id": 2, "title": "b", "done": false, "at": "2024-01-02T00:00:00.000Z"},
        {"id": 3, "title": "c", "done": true, "at": "2024-01-03T00:00:00.000Z"},
    ]});
    (left, right)
}

#[test]
fn without_an_identity_a_reordered_and_restyled_list_diverges_by_position() {
    let (left, right) = reordered_and_restyled();
    let diff = compare("", &left, &right);
    let found = shapes(&diff);
    assert!(
        found.contains(&("$.items[0].id".to_string(), Class::Value)),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, c)| *c == Class::Ordering),
        "{found:?}"
    );
}

#[test]
fn with_an_identity_a_reordered_and_restyled_list_is_one_ordering_and_its_fields() {
    let (left, right) = reordered_and_restyled();
    let diff = compare(ITEMS, &left, &right);
    let mut expected = Vec::new();
    for i in 0..4 {
        expected.push((format!("$.items[{i}].done"), Class::Type));
        expected.push((format!("$.items[{i}].at"), Class::Value));
    }
    expected.push(("$.items".to_string(), Class::Ordering));
    assert_eq!(shapes(&diff), expected);
    let note = diff.divergences[8].note.as_deref();
    assert_eq!(
        note,
        Some("1 element(s) in another position: left [3] is right [0]")
    );
}

#[test]
fn the_identity_rule_counts_the_arrays_it_aligned() {
    let (left, right) = reordered_and_restyled();
    let run = RuleRun::of(Rules::parse(ITEMS, "rules.toml").unwrap());
    let (mut l, mut r) = (left.clone(), right.clone());
    run.compare("list", Part::Outcome, false, &mut l, &mut r);
    let usage = run.usage();
    assert_eq!(usage[0].fired, 1);
    assert_eq!(usage[0].rule, "$.items identity \"id\" (global)");
}

#[test]
fn keys_on_one_side_only_are_missing_and_extra() {
    let left = [json!({"id": "a", "v": 1}), json!({"id": "b", "v": 2})];
    let right = [json!({"id": "c", "v": 2}), json!({"id": "a", "v": 1})];
    let diff = by_key(&left, &right, "id").unwrap();
    assert_eq!(
        shapes(&diff),
        vec![
            ("$[1]".to_string(), Class::Missing),
            ("$[0]".to_string(), Class::Extra),
        ]
    );
    // `a` moved from 0 to 1, but it is the only pair: nothing else to be out of order with.
    assert_eq!(diff.divergences[0].left, Some(left[1].clone()));
    assert_eq!(diff.divergences[1].right, Some(right[0].clone()));
}

#[test]
fn a_dotted_key_follows_nested_members() {
    let left = [
        json!({"user": {"id": 1}, "v": 1}),
        json!({"user": {"id": 2}, "v": 2}),
    ];
    let right = [
        json!({"user": {"id": 2}, "v": 3}),
        json!({"user": {"id": 1}, "v": 1}),
    ];
    let diff = by_key(&left, &right, "user.id").unwrap();
    assert_eq!(
        shapes(&diff),
        vec![
            ("$[1].v".to_string(), Class::Value),
            ("$".to_string(), Class::Ordering),
        ]
    );
    // A member that is not an object on the way has no key.
    assert!(by_key(&[json!({"user": 1})], &right, "user.id").is_none());
}

#[test]
fn duplicate_keys_fall_back_to_the_fingerprint_alignment() {
    let left = [json!({"id": 1, "v": "x"}), json!({"id": 1, "v": "y"})];
    let right = [json!({"id": 1, "v": "y"}), json!({"id": 1, "v": "x"})];
    assert!(by_key(&left, &right, "id").is_none());
    assert!(by_key(&right, &left, "id").is_none());
    let rules = "[[rule]]\npath = \"$\"\nidentity = \"id\"\n";
    let (l, r) = (Value::Array(left.to_vec()), Value::Array(right.to_vec()));
    assert_eq!(shapes(&compare(rules, &l, &r)), shapes(&values(&l, &r)));
    assert_eq!(
        shapes(&values(&l, &r)),
        vec![("$".to_string(), Class::Ordering)]
    );
    // The rule was not used.
    let run = RuleRun::of(Rules::parse(rules, "rules.toml").unwrap());
    let (mut l, mut r) = (l, r);
    run.compare("list", Part::Outcome, false, &mut l, &mut r);
    assert_eq!(run.usage()[0].fired, 0);
}

#[test]
fn an_element_without_a_scalar_key_falls_back() {
    let ok = json!({"id": 1});
    for odd in [
        json!({"name": "x"}),
        json!({"id": null}),
        json!({"id": [1]}),
        json!({"id": {"n": 1}}),
        json!(7),
        json!([1]),
    ] {
        let left = [ok.clone(), odd.clone()];
        let right = [odd.clone(), ok.clone()];
        assert!(by_key(&left, &right, "id").is_none(), "{odd}");
        assert!(
            by_key(std::slice::from_ref(&ok), &right, "id").is_none(),
            "{odd}"
        );
    }
}

#[test]
fn number_keys_compare_as_values_do() {
    let l1: Value = serde_json::from_str(r#"{"id": 1, "v": "a"}"#).unwrap();
    let r1: Value = serde_json::from_str(r#"{"id": 1.0, "v": "a"}"#).unwrap();
    let l2: Value = serde_json::from_str(r#"{"id": 9007199254740993, "v": "b"}"#).unwrap();
    let r2: Value = serde_json::from_str(r#"{"id": 9007199254740992, "v": "b"}"#).unwrap();
    // 1 and 1.0 are one key, and those elements equal; the big numbers differ by one,
    // beyond f64: two keys, never paired.
    let diff = by_key(&[l1.clone(), l2.clone()], &[r2.clone(), r1.clone()], "id").unwrap();
    assert_eq!(
        shapes(&diff),
        vec![
            ("$[1]".to_string(), Class::Missing),
            ("$[0]".to_string(), Class::Extra),
        ]
    );
    // 1 and 1.0 on one side are a duplicate key.
    assert!(by_key(&[l1.clone(), r1.clone()], std::slice::from_ref(&l1), "id").is_none());
    // A string "1" is not the number 1.
    let s = json!({"id": "1", "v": "a"});
    let diff = by_key(std::slice::from_ref(&l1), &[s], "id").unwrap();
    assert_eq!(
        shapes(&diff),
        vec![
            ("$[0]".to_string(), Class::Missing),
            ("$[0]".to_string(), Class::Extra),
        ]
    );
}

#[test]
fn an_identity_needs_a_member_name() {
    let err = Rules::parse("[[rule]]\npath = \"$.items\"\nidentity = \"\"\n", "r.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("r.toml line 3 column 12"), "{err}");
    assert!(err.contains("identity"), "{err}");
    let err = Rules::parse(
        "[[rule]]\npath = \"$.items\"\nidentity = \"user.\"\n",
        "r.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("r.toml line 3 column 12"), "{err}");
    assert!(Rules::parse(
        "[[rule]]\npath = \"$.items\"\nidentity = \"user.id\"\n",
        "r.toml"
    )
    .is_ok());
    let err = Rules::parse("[[rule]]\npath = \"$.items\"\nidentity = 3\n", "r.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("r.toml line 3"), "{err}");
    let err = Rules::parse(
        "[[rule]]\npath = \"$.items\"\nidentity = \"id\"\nunordered = true\n",
        "r.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("exactly one action"), "{err}");
}

/// Arrays of objects with unique `id`s from a small range and a small `v`.
fn keyed() -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::btree_map(0i64..12, 0i64..3, 0..8).prop_map(|m| {
        m.into_iter()
            .map(|(id, v)| json!({"id": id, "v": v}))
            .collect()
    })
}

/// True when `left` and `right` hold the same elements, counted, under [`deep_eq`].
fn same_multiset(left: &[Value], right: &[Value]) -> bool {
    let mut unused: Vec<&Value> = right.iter().collect();
    left.len() == right.len()
        && left
            .iter()
            .all(|l| match unused.iter().position(|r| deep_eq(l, r)) {
                Some(k) => {
                    unused.swap_remove(k);
                    true
                }
                None => false,
            })
}

proptest! {
    #[test]
    fn different_multisets_always_diverge(
        left in keyed(),
        mut right in keyed(),
        seed in any::<u64>(),
    ) {
        let n = right.len().max(1);
        right.rotate_left((seed as usize) % n);
        let diff = by_key(&left, &right, "id").unwrap();
        if !same_multiset(&left, &right) {
            prop_assert!(!diff.is_equal());
        }
        // Deterministic.
        prop_assert_eq!(Some(diff), by_key(&left, &right, "id"));
    }

    #[test]
    fn the_same_elements_in_another_order_are_exactly_one_ordering(
        left in keyed(),
        seed in any::<u64>(),
    ) {
        let mut right = left.clone();
        // Fisher-Yates, seeded.
        let mut s = seed;
        for i in (1..right.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            right.swap(i, (s >> 33) as usize % (i + 1));
        }
        let diff = by_key(&left, &right, "id").unwrap();
        let reordered = left.iter().zip(&right).any(|(l, r)| !deep_eq(l, r));
        if reordered {
            prop_assert_eq!(shapes(&diff), vec![("$".to_string(), Class::Ordering)]);
        } else {
            prop_assert!(diff.is_equal());
        }
    }
}

#[test]
fn a_declared_list_key_aligns_the_answer_and_a_rule_at_the_root_wins() {
    let left = json!([{"id": 1, "done": 0}, {"id": 2, "done": 0}]);
    let right = json!([{"id": 2, "done": false}, {"id": 1, "done": false}]);
    let keys = std::collections::BTreeMap::from([("list".to_string(), "id".to_string())]);
    let compare_with = |rules: &str, keys: &std::collections::BTreeMap<String, String>| {
        let run =
            RuleRun::of(Rules::parse(rules, "rules.toml").unwrap()).with_list_keys(keys.clone());
        let (mut l, mut r) = (left.clone(), right.clone());
        let diff = run.compare("list", Part::Outcome, false, &mut l, &mut r);
        (shapes(&diff), run.usage())
    };
    let (found, usage) = compare_with("", &keys);
    assert_eq!(
        found,
        vec![
            ("$[0].done".to_string(), Class::Type),
            ("$[1].done".to_string(), Class::Type),
            ("$".to_string(), Class::Ordering),
        ]
    );
    assert!(usage.is_empty());
    // Another operation's answer is not aligned by it.
    let other = std::collections::BTreeMap::from([("other".to_string(), "id".to_string())]);
    let (found, _) = compare_with("", &other);
    assert!(
        found.contains(&("$[0].id".to_string(), Class::Value)),
        "{found:?}"
    );
    // A rule for `$` wins: here a key no element has, so the array falls back.
    let (found, usage) = compare_with("[[rule]]\npath = \"$\"\nidentity = \"slot\"\n", &keys);
    assert!(
        found.contains(&("$[0].id".to_string(), Class::Value)),
        "{found:?}"
    );
    assert_eq!(usage[0].fired, 0);
}
