//! What each action does to the values its path matches.

use super::{walk, Action, Precision, Rule, Rules};
use crate::diff::{deep_eq, fingerprint, Class, Divergence};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use serde_json_path::PathElement;
use std::cmp::Ordering;

/// One step of a location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Applies one rule to both sides; returns how many values it changed.
pub(super) fn apply(
    rules: &Rules,
    rule: &Rule,
    learn: bool,
    left: &mut Value,
    right: &mut Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    match (&rule.action, &rule.simple) {
        (Action::Ignore, Some(segs)) => {
            walk::remove_where(left, segs, &|_| true) + walk::remove_where(right, segs, &|_| true)
        }
        (Action::NullEqualsMissing, Some(segs)) => {
            walk::remove_where(left, segs, &Value::is_null)
                + walk::remove_where(right, segs, &Value::is_null)
        }
        (Action::Precision(p), Some(segs)) => {
            walk_each(left, segs, |v| truncate(v, *p)) + walk_each(right, segs, |v| truncate(v, *p))
        }
        (Action::Unordered, Some(segs)) => {
            walk_each(left, segs, |v| sort(v, &[])) + walk_each(right, segs, |v| sort(v, &[]))
        }
        _ => apply_located(rules, rule, learn, left, right, found),
    }
}

/// Runs `change` on every value the simple path selects; counts the values it changed.
fn walk_each(value: &mut Value, segs: &[walk::Seg], change: impl Fn(&mut Value) -> bool) -> u64 {
    let mut n = 0;
    walk::each_mut(value, segs, &mut |v| n += u64::from(change(v)));
    n
}

/// The general path: the crate's located query, then edits by location.
fn apply_located(
    rules: &Rules,
    rule: &Rule,
    learn: bool,
    left: &mut Value,
    right: &mut Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    match &rule.action {
        Action::Ignore => remove_where(rule, left, |_| true) + remove_where(rule, right, |_| true),
        Action::NullEqualsMissing => {
            remove_where(rule, left, Value::is_null) + remove_where(rule, right, Value::is_null)
        }
        Action::Precision(p) => {
            each(rule, left, |v| truncate(v, *p)) + each(rule, right, |v| truncate(v, *p))
        }
        Action::Unordered => {
            each(rule, left, |v| sort(v, &[])) + each(rule, right, |v| sort(v, &[]))
        }
        Action::SortedBy(keys) => {
            for loc in locations(rule, right) {
                if let Some(Value::Array(items)) = get(right, &loc) {
                    if let Some(i) = items
                        .windows(2)
                        .position(|w| by_keys(&w[0], &w[1], keys) == Ordering::Greater)
                    {
                        found.push(Divergence {
                            path: render(&loc),
                            class: Class::Ordering,
                            left: None,
                            right: Some(Value::Array(items[i..i + 2].to_vec())),
                            detail: None,
                            note: Some(format!(
                                "[{i}] and [{}] break the order by {keys:?}",
                                i + 1
                            )),
                        });
                    }
                }
            }
            each(rule, left, |v| sort(v, keys)) + each(rule, right, |v| sort(v, keys))
        }
        Action::Tolerance(t) => {
            let mut n = 0;
            for loc in locations(rule, left) {
                let (Some(Value::Number(l)), Some(Value::Number(r))) =
                    (get(left, &loc), get(right, &loc))
                else {
                    continue;
                };
                let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                    continue;
                };
                if (a - b).abs() <= *t
                    && !deep_eq(&Value::Number(l.clone()), &Value::Number(r.clone()))
                {
                    let l = Value::Number(l.clone());
                    if let Some(slot) = get_mut(right, &loc) {
                        *slot = l;
                        n += 1;
                    }
                }
            }
            n
        }
        Action::IdMap => {
            let mut n = 0;
            let mut ids = rules.ids.lock().unwrap_or_else(|p| p.into_inner());
            if learn {
                for loc in locations(rule, left) {
                    let (Some(l), Some(r)) = (get(left, &loc), get(right, &loc)) else {
                        continue;
                    };
                    let (lk, rk) = (l.to_string(), r.to_string());
                    let known = (ids.0.get(&lk).cloned(), ids.1.get(&rk).cloned());
                    match known {
                        (Some(mapped), _) if !deep_eq(&mapped, r) => found.push(conflict(
                            &loc,
                            l,
                            r,
                            format!("legacy {lk} already maps to candidate {mapped}"),
                        )),
                        (_, Some(mapped)) if !deep_eq(&mapped, l) => found.push(conflict(
                            &loc,
                            l,
                            r,
                            format!("candidate {rk} already maps from legacy {mapped}"),
                        )),
                        _ => {
                            ids.0.insert(lk, r.clone());
                            ids.1.insert(rk, l.clone());
                        }
                    }
                }
            }
            for loc in locations(rule, left) {
                let mapped = get(left, &loc)
                    .and_then(|l| ids.0.get(&l.to_string()))
                    .cloned();
                if let (Some(mapped), Some(slot)) = (mapped, get_mut(left, &loc)) {
                    if !deep_eq(slot, &mapped) {
                        *slot = mapped;
                        n += 1;
                    }
                }
            }
            n
        }
    }
}

fn conflict(loc: &[Seg], l: &Value, r: &Value, why: String) -> Divergence {
    Divergence {
        path: render(loc),
        class: Class::Value,
        left: Some(l.clone()),
        right: Some(r.clone()),
        detail: None,
        note: Some(format!("identifier mapping is not one-to-one: {why}")),
    }
}

fn locations(rule: &Rule, value: &Value) -> Vec<Vec<Seg>> {
    rule.path
        .query_located(value)
        .iter()
        .map(|node| {
            node.location()
                .iter()
                .map(|e| match e {
                    PathElement::Name(n) => Seg::Key(n.to_string()),
                    PathElement::Index(i) => Seg::Index(*i),
                })
                .collect()
        })
        .collect()
}

fn get<'v>(value: &'v Value, loc: &[Seg]) -> Option<&'v Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(*i),
    })
}

fn get_mut<'v>(value: &'v mut Value, loc: &[Seg]) -> Option<&'v mut Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
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

/// Removes the matched values for which `keep_out` holds; array elements from the last.
fn remove_where(rule: &Rule, value: &mut Value, keep_out: impl Fn(&Value) -> bool) -> u64 {
    let mut locs: Vec<Vec<Seg>> = locations(rule, value)
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
            (Some(Value::Object(map)), Seg::Key(k)) => {
                n += u64::from(map.shift_remove(k.as_str()).is_some())
            }
            (Some(Value::Array(items)), Seg::Index(i)) if *i < items.len() => {
                items.remove(*i);
                n += 1;
            }
            _ => {}
        }
    }
    n
}

/// Truncates an RFC 3339 timestamp to `precision`, in UTC.
fn truncate(value: &mut Value, precision: Precision) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if let Some(canonical) = truncate_utc_text(text, precision) {
        let changed = *text != canonical;
        *text = canonical;
        return changed;
    }
    let Ok(t) = DateTime::parse_from_rfc3339(text) else {
        return false;
    };
    let t = t.with_timezone(&Utc);
    let nanos = t.timestamp_subsec_nanos();
    let (kept, format) = match precision {
        Precision::Seconds => (0, SecondsFormat::Secs),
        Precision::Millis => (nanos / 1_000_000 * 1_000_000, SecondsFormat::Millis),
        Precision::Micros => (nanos / 1_000 * 1_000, SecondsFormat::Micros),
    };
    let Some(cut) = DateTime::from_timestamp(t.timestamp(), kept) else {
        return false;
    };
    let canonical = cut.to_rfc3339_opts(format, true);
    let changed = *text != canonical;
    *text = canonical;
    changed
}

/// The fast path of [`truncate`]: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` cut (or padded) to the
/// precision's digits, exactly as the formatter would write it; `None` for any other shape.
fn truncate_utc_text(text: &str, precision: Precision) -> Option<String> {
    let b = text.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let fraction = match &text[19..text.len() - 1] {
        "" => "",
        f if f.starts_with('.') && f.len() > 1 && f[1..].bytes().all(|c| c.is_ascii_digit()) => {
            &f[1..]
        }
        _ => return None,
    };
    let digits = match precision {
        Precision::Seconds => return Some(format!("{}Z", &text[..19])),
        Precision::Millis => 3,
        Precision::Micros => 6,
    };
    let mut kept: String = fraction.chars().take(digits).collect();
    while kept.len() < digits {
        kept.push('0');
    }
    Some(format!("{}.{kept}Z", &text[..19]))
}

/// Sorts an array by `keys`, then by content (so ties line up on both sides).
fn sort(value: &mut Value, keys: &[String]) -> bool {
    let Value::Array(items) = value else {
        return false;
    };
    let before: Vec<u64> = items.iter().map(fingerprint).collect();
    let mut keyed: Vec<(Value, u64)> = items
        .drain(..)
        .map(|v| {
            let f = fingerprint(&v);
            (v, f)
        })
        .collect();
    keyed.sort_by(|(a, fa), (b, fb)| by_keys(a, b, keys).then(fa.cmp(fb)));
    let after: Vec<u64> = keyed.iter().map(|(_, f)| *f).collect();
    items.extend(keyed.into_iter().map(|(v, _)| v));
    before != after
}

fn by_keys(a: &Value, b: &Value, keys: &[String]) -> Ordering {
    keys.iter()
        .map(|k| compare(a.get(k.as_str()), b.get(k.as_str())))
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
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A location as the diff's JSONPath.
fn render(loc: &[Seg]) -> String {
    let mut path = crate::diff::JsonPath::default();
    for seg in loc {
        match seg {
            Seg::Key(k) => path.key(k),
            Seg::Index(i) => path.index(*i),
        }
    }
    path.to_string()
}
