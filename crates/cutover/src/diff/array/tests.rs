//! Alignment of large arrays: deterministic output, the anchor alignment's reports, and
//! properties of both alignments on small arrays.

use super::super::{values, Class, Diff, Differ, Divergence, MAX_DIVERGENCES};
use super::{diff_within, EXACT_COST};
use crate::diff::deep_eq;
use proptest::prelude::*;
use serde_json::{json, Value};

/// splitmix64: a small seeded generator, the same sequence on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

fn distinct(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": i, "t": format!("m{i}")}))
        .collect()
}

/// The diff of two arrays, with `exact_cost` as the bound of the exact alignment.
fn diff_arrays(left: &[Value], right: &[Value], exact_cost: u64) -> Diff {
    let mut d = Differ::default();
    diff_within(&mut d, left, right, exact_cost);
    d.finish()
}

/// The serialized diff of five runs, checked identical.
fn five_runs(left: &Value, right: &Value) -> Diff {
    let runs: Vec<Vec<u8>> = (0..5)
        .map(|_| serde_json::to_vec(&values(left, right)).unwrap())
        .collect();
    assert!(runs.windows(2).all(|w| w[0] == w[1]), "runs differ");
    serde_json::from_slice(&runs[0]).unwrap()
}

fn missing(index: usize, value: &Value) -> Divergence {
    Divergence {
        path: format!("$[{index}]"),
        class: Class::Missing,
        left: Some(value.clone()),
        right: None,
        detail: None,
        note: None,
    }
}

fn extra(index: usize, value: &Value) -> Divergence {
    Divergence {
        path: format!("$[{index}]"),
        class: Class::Extra,
        left: None,
        right: Some(value.clone()),
        detail: None,
        note: None,
    }
}

/// The one `ordering` divergence at `$`, and the others in report order.
fn split_ordering(diff: Diff) -> (Divergence, Vec<Divergence>) {
    assert_eq!(diff.omitted, 0);
    let (ordering, rest): (Vec<_>, Vec<_>) = diff
        .divergences
        .into_iter()
        .partition(|d| d.class == Class::Ordering);
    assert_eq!(ordering.len(), 1, "{ordering:#?}");
    let ordering = ordering.into_iter().next().unwrap();
    assert_eq!(ordering.path, "$");
    (ordering, rest)
}

#[test]
fn a_shuffled_20k_array_with_one_element_replaced_is_one_ordering_and_missing_extra() {
    let left = distinct(20_000);
    let mut right = left.clone();
    let mut rng = SplitMix(20_000);
    rng.shuffle(&mut right);
    let at = rng.below(right.len());
    let gone = std::mem::replace(&mut right[at], json!({"id": "new", "t": "new"}));
    let was = left.iter().position(|v| *v == gone).unwrap();
    let (l, r) = (Value::Array(left), Value::Array(right.clone()));

    let (ordering, mut rest) = split_ordering(five_runs(&l, &r));
    // Not a change in place: the old element and the new one lie between different anchors.
    rest.sort_by(|a, b| (a.class, &a.path).cmp(&(b.class, &b.path)));
    assert_eq!(rest, vec![missing(was, &gone), extra(at, &right[at])]);
    assert_eq!((ordering.left, ordering.right), (None, None));
    let note = ordering.note.unwrap();
    assert!(
        note.contains(" element(s) in another position: left ["),
        "{note}"
    );
}

#[test]
fn real_missing_and_extra_elements_among_a_shuffle_are_reported_exactly() {
    let left = distinct(20_000);
    let mut rng = SplitMix(7);
    let mut right = left.clone();
    rng.shuffle(&mut right);
    let mut gone = Vec::new();
    for _ in 0..3 {
        gone.push(right.remove(rng.below(right.len())));
    }
    for k in 0..2 {
        right.insert(rng.below(right.len() + 1), json!({"id": format!("new{k}")}));
    }
    let mut expected: Vec<Divergence> = Vec::new();
    let mut was: Vec<usize> = gone
        .iter()
        .map(|g| left.iter().position(|v| v == g).unwrap())
        .collect();
    was.sort_unstable();
    let new: Vec<usize> = (0..right.len())
        .filter(|&j| right[j]["id"].is_string())
        .collect();
    assert_eq!(new.len(), 2);
    expected.extend(was.iter().map(|&i| missing(i, &left[i])));
    expected.extend(new.iter().map(|&j| extra(j, &right[j])));
    let (l, r) = (Value::Array(left), Value::Array(right));

    let (_, mut rest) = split_ordering(five_runs(&l, &r));
    rest.sort_by(|a, b| (a.class, &a.path).cmp(&(b.class, &b.path)));
    expected.sort_by(|a, b| (a.class, &a.path).cmp(&(b.class, &b.path)));
    assert_eq!(rest, expected);
}

#[test]
fn a_permutation_is_one_ordering_at_the_array_with_the_slice_in_the_note() {
    let left = distinct(20_000);
    let mut right = left.clone();
    SplitMix(3).shuffle(&mut right[100..19_900]);
    let diff = five_runs(&Value::Array(left.clone()), &Value::Array(right.clone()));
    assert_eq!(diff.divergences.len(), 1);
    let d = &diff.divergences[0];
    assert_eq!((d.path.as_str(), d.class), ("$", Class::Ordering));
    // The trimmed slice: the shuffle may leave elements in place at its ends.
    let note = d.note.as_deref().unwrap();
    let (start, end) = note
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix("] in another order"))
        .and_then(|n| n.split_once(':'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()))
        .unwrap_or_else(|| panic!("{note}"));
    assert!((100..=19_900).contains(&start) && start < end && end <= 19_900);
    assert_eq!(d.left, Some(Value::Array(left[start..end].to_vec())));
    assert_eq!(d.right, Some(Value::Array(right[start..end].to_vec())));
}

#[test]
fn a_nested_ordering_is_at_the_array_path() {
    let l = json!({"m": [{"r": [1, 2, 3]}, {"r": [1, 2, 3, 4, 5, 6, 7]}]});
    let r = json!({"m": [{"r": [1, 2, 3]}, {"r": [1, 2, 3, 4, 6, 5, 7]}]});
    let diff = values(&l, &r);
    let d = &diff.divergences[0];
    assert_eq!(diff.divergences.len(), 1);
    assert_eq!((d.path.as_str(), d.class), ("$.m[1].r", Class::Ordering));
    assert_eq!(d.note.as_deref(), Some("[4:6] in another order"));
    assert_eq!(
        (&d.left, &d.right),
        (&Some(json!([5, 6])), &Some(json!([6, 5])))
    );
}

#[test]
fn many_duplicates_finish_and_are_deterministic() {
    let mut rng = SplitMix(5);
    let left: Vec<Value> = (0..20_000).map(|_| json!({"v": rng.below(5)})).collect();
    // Another draw of the same five values: counts differ, nothing is a permutation.
    let right: Vec<Value> = (0..20_000).map(|_| json!({"v": rng.below(5)})).collect();
    let diff = five_runs(&Value::Array(left.clone()), &Value::Array(right.clone()));
    assert!(!diff.is_equal());
    assert!(diff.divergences.len() <= MAX_DIVERGENCES);
    let orderings = diff
        .divergences
        .iter()
        .filter(|d| d.class == Class::Ordering)
        .count();
    assert!(orderings <= 1);

    // A shuffle of the same elements is one ordering.
    let mut shuffled = left.clone();
    rng.shuffle(&mut shuffled);
    let diff = five_runs(&Value::Array(left.clone()), &Value::Array(shuffled.clone()));
    assert_eq!(diff.divergences.len(), 1);
    assert_eq!(diff.divergences[0].class, Class::Ordering);

    // The shuffle with one element changed to another of the five values.
    let at = rng.below(shuffled.len());
    let other = (shuffled[at]["v"].as_u64().unwrap() + 1) % 5;
    shuffled[at] = json!({"v": other});
    let diff = five_runs(&Value::Array(left), &Value::Array(shuffled));
    let (_, rest) = split_ordering(diff);
    assert!(
        matches!(rest.as_slice(), [m, e] if m.class == Class::Missing && e.class == Class::Extra)
            || matches!(rest.as_slice(), [v] if v.class == Class::Value),
        "{rest:#?}"
    );
}

#[test]
fn ordinary_large_arrays_keep_the_exact_alignment() {
    // A duplicate where the longest common subsequence and the anchors part ways: the
    // exact alignment drops the first `a`; the anchors pair it and move `b`.
    let (a, b) = (json!("a"), json!("b"));
    let mut left = vec![a.clone(), b.clone(), a.clone()];
    let mut right = vec![b, a];
    left.extend(distinct(50_000));
    right.extend(distinct(50_000));
    left.push(json!("end"));
    right.push(json!("END"));
    let shapes = |diff: &Diff| -> Vec<(String, Class)> {
        diff.divergences
            .iter()
            .map(|d| (d.path.clone(), d.class))
            .collect()
    };
    // The anchors bound the edit distance to 4: Myers runs.
    let exact = values(&Value::Array(left.clone()), &Value::Array(right.clone()));
    assert_eq!(
        shapes(&exact),
        [
            ("$[0]".to_string(), Class::Missing),
            ("$[50003]".to_string(), Class::Value)
        ]
    );
    let anchored = diff_arrays(&left, &right, 0);
    assert!(shapes(&anchored).contains(&("$".to_string(), Class::Ordering)));
}

/// The checks every diff of two arrays of small integers passes.
fn check(left: &[Value], right: &[Value], exact_cost: u64) -> Result<(), TestCaseError> {
    let diff = diff_arrays(left, right, exact_cost);
    prop_assert_eq!(&diff, &diff_arrays(left, right, exact_cost));
    prop_assert_eq!(diff.omitted, 0);
    prop_assert_eq!(
        diff.is_equal(),
        deep_eq(&Value::Array(left.to_vec()), &Value::Array(right.to_vec()))
    );
    let index = |path: &str| -> usize {
        path.strip_prefix("$[")
            .and_then(|p| p.strip_suffix(']'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not an index: {path}"))
    };
    let (mut missing, mut extra, mut orderings) = (0, 0, 0);
    for d in &diff.divergences {
        match d.class {
            Class::Missing => {
                missing += 1;
                prop_assert_eq!(d.left.as_ref(), left.get(index(&d.path)));
            }
            Class::Extra => {
                extra += 1;
                prop_assert_eq!(d.right.as_ref(), right.get(index(&d.path)));
            }
            Class::Value => {
                prop_assert_eq!(d.left.as_ref(), left.get(index(&d.path)));
                prop_assert!(right.contains(d.right.as_ref().unwrap()));
            }
            Class::Ordering => {
                orderings += 1;
                prop_assert_eq!(d.path.as_str(), "$");
            }
            other => prop_assert!(false, "unexpected {other}"),
        }
    }
    prop_assert!(orderings <= 1);
    // Every other element is paired with one on the other side (aligned, moved or changed).
    prop_assert_eq!(left.len() - missing, right.len() - extra);
    Ok(())
}

fn small_ints() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec((0u8..6).prop_map(|v| json!(v)), 0..24)
}

proptest! {
    #[test]
    fn both_alignments_are_deterministic_and_consistent(
        left in small_ints(),
        right in small_ints(),
    ) {
        check(&left, &right, EXACT_COST)?;
        // 0: the anchors, whatever the size.
        check(&left, &right, 0)?;
    }

    #[test]
    fn both_alignments_of_an_edited_shuffle_are_consistent(
        left in small_ints(),
        seed in any::<u64>(),
        edits in prop::collection::vec((any::<u16>(), 0u8..9), 0..4),
    ) {
        let mut rng = SplitMix(seed);
        let mut right = left.clone();
        rng.shuffle(&mut right);
        for (at, v) in edits {
            let at = at as usize % (right.len() + 1);
            match v {
                0..=5 if at < right.len() => right[at] = json!(v),
                6 if at < right.len() => { right.remove(at); }
                _ => right.insert(at, json!(v)),
            }
        }
        check(&left, &right, EXACT_COST)?;
        check(&left, &right, 0)?;
    }
}
