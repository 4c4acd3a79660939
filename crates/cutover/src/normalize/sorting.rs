//! `unordered` and `sorted_by`: arrays put in one order on both sides, and the declared
//! order checked.

use super::place::{get, get_mut, locations, render};
use super::RuleRun;
use crate::diff::{deep_eq, fingerprint, number, Class, Divergence};
use serde_json::Value;
use std::cmp::Ordering;

/// `sorted_by`: the declared order is checked on both sides where they differ (the legacy
/// must keep it too, or the rule would accept an order the legacy never had), then both
/// sides are sorted by the keys and content so that ties line up. An array where a key is
/// absent from every element on both sides cannot be judged by the rule: it is left in
/// its order and counted in the rule's `unjudged`.
///
/// With one side only (a golden master's redaction), an array that keeps the order has its
/// ties put in a canonical order, and one that breaks it is left as it is, so that the
/// comparison with the snapshot still shows the broken order.
pub(super) fn sorted_by(
    run: &RuleRun,
    index: usize,
    keys: &[String],
    left: &mut Value,
    right: &mut Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    let rule = &run.rules.rules[index];
    let mut locs = locations(rule, left);
    for loc in locations(rule, right) {
        if !locs.contains(&loc) {
            locs.push(loc);
        }
    }
    let mut n = 0;
    for loc in locs {
        let (l, r) = match (get(left, &loc), get(right, &loc)) {
            (Some(Value::Array(l)), Some(Value::Array(r))) => (l, r),
            (Some(Value::Array(_)), _) => {
                n += sort_one(get_mut(left, &loc), keys);
                continue;
            }
            (_, Some(Value::Array(_))) => {
                n += sort_one(get_mut(right, &loc), keys);
                continue;
            }
            _ => continue,
        };
        if l.len() == r.len() && l.iter().zip(r).all(|(a, b)| deep_eq(a, b)) {
            continue;
        }
        if unjudgeable(l.iter().chain(r), keys) {
            run.unjudged[index].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        for (side, items) in [("legacy", l), ("candidate", r)] {
            let Some(i) = first_break(items, keys) else {
                continue;
            };
            let pair = Some(Value::Array(items[i..i + 2].to_vec()));
            let (left, right) = if side == "legacy" {
                (pair, None)
            } else {
                (None, pair)
            };
            found.push(Divergence {
                path: render(&loc),
                class: Class::Ordering,
                left,
                right,
                detail: None,
                note: Some(format!(
                    "{side} [{i}] and [{}] break the order by {keys:?}",
                    i + 1
                )),
            });
        }
        if let Some(v) = get_mut(left, &loc) {
            n += u64::from(sort(v, keys));
        }
        if let Some(v) = get_mut(right, &loc) {
            n += u64::from(sort(v, keys));
        }
    }
    n
}

/// Sorts the ties of an array that keeps the order by `keys` (one that breaks it, or that
/// the keys cannot judge, is left as it is); counts the arrays it changed.
fn sort_one(value: Option<&mut Value>, keys: &[String]) -> u64 {
    let Some(value) = value else {
        return 0;
    };
    let Value::Array(items) = &*value else {
        return 0;
    };
    if !unjudgeable(items.iter(), keys) && first_break(items, keys).is_none() {
        u64::from(sort(value, keys))
    } else {
        0
    }
}

/// Whether some key is absent from every one of `items`: then the keys cannot judge their
/// order (every element would tie).
fn unjudgeable<'v>(items: impl Iterator<Item = &'v Value> + Clone, keys: &[String]) -> bool {
    keys.iter()
        .any(|k| items.clone().all(|item| sort_key(item, k).is_none()))
}

/// The first `i` where `items[i]` and `items[i + 1]` break the order by `keys`.
fn first_break(items: &[Value], keys: &[String]) -> Option<usize> {
    items
        .windows(2)
        .position(|w| by_keys(&w[0], &w[1], keys) == Ordering::Greater)
}

/// The value of a sort key in an element: the member named `key`, or, when there is no
/// such member and the key has dots, the nested member (`user.id`).
fn sort_key<'v>(item: &'v Value, key: &str) -> Option<&'v Value> {
    item.get(key).or_else(|| {
        key.contains('.')
            .then(|| key.split('.').try_fold(item, |v, name| v.get(name)))
            .flatten()
    })
}

/// Sorts an array by `keys`, then by content (so ties line up on both sides); true when
/// the order changed. Arrays already in that order are left untouched.
pub(super) fn sort(value: &mut Value, keys: &[String]) -> bool {
    let Value::Array(items) = value else {
        return false;
    };
    // Strings, booleans and nulls: ordered by content directly (the common `unordered`
    // list of ids or tags), without hashing.
    if items
        .iter()
        .all(|v| matches!(v, Value::String(_) | Value::Bool(_) | Value::Null))
    {
        let order = |a: &Value, b: &Value| compare(Some(a), Some(b));
        if items.is_sorted_by(|a, b| order(a, b) != Ordering::Greater) {
            return false;
        }
        items.sort_by(order);
        return true;
    }
    let order =
        |(fa, a): &(u64, Value), (fb, b): &(u64, Value)| by_keys(a, b, keys).then(fa.cmp(fb));
    let mut keyed: Vec<(u64, Value)> = items.drain(..).map(|v| (fingerprint(&v), v)).collect();
    let sorted = keyed.is_sorted_by(|a, b| order(a, b) != Ordering::Greater);
    if !sorted {
        keyed.sort_by(order);
    }
    items.extend(keyed.into_iter().map(|(_, v)| v));
    !sorted
}

fn by_keys(a: &Value, b: &Value, keys: &[String]) -> Ordering {
    keys.iter()
        .map(|k| compare(sort_key(a, k), sort_key(b, k)))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// A total order on JSON values for sorting: absent < null < false < true < numbers <
/// strings < arrays < objects.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Bool(_)) => 2,
            Some(Value::Number(_)) => 3,
            Some(Value::String(_)) => 4,
            Some(Value::Array(_)) => 5,
            Some(Value::Object(_)) => 6,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => number::compare(x.as_str(), y.as_str()),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}
