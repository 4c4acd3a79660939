//! What each action does to the values its path matches: the dispatch, removals, and
//! locations; `id_map` is in `idmap.rs`. Timestamps are in `precision.rs`, array orders in `sorting.rs`, the
//! mapping actions in `mapping.rs`.

use super::place::{get, get_mut, locations, Place};
use super::precision::truncate;
use super::sorting::{sort, sorted_by};
use super::{mapping, walk, Action, Rule, RuleRun};
use crate::diff::Divergence;
use serde_json::Value;

/// Applies one rule to both sides; returns how many values it changed.
pub(super) fn apply(
    run: &RuleRun,
    index: usize,
    learn: bool,
    left: &mut Value,
    right: &mut Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    let rule = &run.rules.rules[index];
    match (&rule.action, &rule.simple) {
        (Action::Ignore, Some(segs)) => {
            walk::remove_where(left, segs, &|_| true, walk::From::Anywhere)
                + walk::remove_where(right, segs, &|_| true, walk::From::Anywhere)
        }
        (Action::NullEqualsMissing, Some(segs)) => {
            // Object members only: a null element of an array is a value of the array.
            walk::remove_where(left, segs, &Value::is_null, walk::From::Objects)
                + walk::remove_where(right, segs, &Value::is_null, walk::From::Objects)
        }
        (Action::Precision(p), Some(segs)) => {
            walk_each(left, segs, |v| truncate(v, *p)) + walk_each(right, segs, |v| truncate(v, *p))
        }
        (Action::Unordered, Some(segs)) => {
            walk_each(left, segs, |v| sort(v, &[])) + walk_each(right, segs, |v| sort(v, &[]))
        }
        (Action::Rename { .. } | Action::ValueMap(_) | Action::NullAs(_), _) => {
            mapping::apply(run, index, left, right)
        }
        _ => apply_located(run, index, learn, left, right, found),
    }
}

/// Runs `change` on every value the simple path selects; counts the values it changed.
fn walk_each(value: &mut Value, segs: &[walk::Step], change: impl Fn(&mut Value) -> bool) -> u64 {
    let mut n = 0;
    walk::each_mut(value, segs, &mut |v| n += u64::from(change(v)));
    n
}

/// The general path: the crate's located query, then edits by location.
fn apply_located(
    run: &RuleRun,
    index: usize,
    learn: bool,
    left: &mut Value,
    right: &mut Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    let rule = &run.rules.rules[index];
    match &rule.action {
        Action::Ignore => {
            remove_where(rule, left, |_| true, walk::From::Anywhere)
                + remove_where(rule, right, |_| true, walk::From::Anywhere)
        }
        Action::NullEqualsMissing => {
            remove_where(rule, left, Value::is_null, walk::From::Objects)
                + remove_where(rule, right, Value::is_null, walk::From::Objects)
        }
        Action::Precision(p) => {
            each(rule, left, |v| truncate(v, *p)) + each(rule, right, |v| truncate(v, *p))
        }
        Action::Unordered => {
            each(rule, left, |v| sort(v, &[])) + each(rule, right, |v| sort(v, &[]))
        }
        Action::SortedBy(keys) => sorted_by(run, index, keys, left, right, found),
        Action::Rename { .. } | Action::ValueMap(_) | Action::NullAs(_) => {
            mapping::apply(run, index, left, right)
        }
        // Checked by the diff where it pairs two numbers: see `RuleRun::tolerances`.
        Action::Tolerance(_) => 0,
        // Used by the diff where it aligns the arrays: see `RuleRun::tolerances`.
        Action::Identity(_) => 0,
        Action::IdMap => super::idmap::apply(run, rule, learn, left, right, found),
    }
}

/// Runs `change` on every matched value; counts the values it changed.
fn each(rule: &Rule, value: &mut Value, change: impl Fn(&mut Value) -> bool) -> u64 {
    let mut n = 0;
    for loc in locations(rule, value) {
        if let Some(v) = get_mut(value, &loc) {
            n += u64::from(change(v));
        }
    }
    n
}

/// Removes the matched values for which `keep_out` holds; array elements from the last
/// (none with [`walk::From::Objects`]).
fn remove_where(
    rule: &Rule,
    value: &mut Value,
    keep_out: impl Fn(&Value) -> bool,
    from: walk::From,
) -> u64 {
    let mut locs: Vec<Vec<Place>> = locations(rule, value)
        .into_iter()
        .filter(|l| get(value, l).is_some_and(&keep_out))
        .collect();
    locs.sort();
    let mut n = 0;
    for loc in locs.iter().rev() {
        let Some((last, parent)) = loc.split_last() else {
            // The whole value: it becomes null on both sides alike.
            if !value.is_null() {
                *value = Value::Null;
                n += 1;
            }
            continue;
        };
        match (get_mut(value, parent), last) {
            (Some(Value::Object(map)), Place::Key(k)) => {
                n += u64::from(map.shift_remove(k.as_str()).is_some())
            }
            (Some(Value::Array(items)), Place::Index(i))
                if *i < items.len() && from == walk::From::Anywhere =>
            {
                items.remove(*i);
                n += 1;
            }
            _ => {}
        }
    }
    n
}
