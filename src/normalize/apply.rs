//! What each action does to the values its path matches.

use super::{walk, Action, Precision, Rule, RuleRun};
use crate::diff::{deep_eq, fingerprint, number, Class, Divergence};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use serde_json_path::PathElement;
use std::cmp::Ordering;

/// One step of a location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Key(String),
    Index(usize),
}

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
        // Checked by the diff where it pairs two numbers: see `RuleRun::tolerances`.
        Action::Tolerance(_) => 0,
        Action::IdMap => {
            let mut n = 0;
            let mut ids = run.ids.lock().unwrap_or_else(|p| p.into_inner());
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

/// `sorted_by`: the declared order is checked on both sides where they differ (the legacy
/// must keep it too, or the rule would accept an order the legacy never had), then both
/// sides are sorted by the keys and content so that ties line up. An array where a key is
/// absent from every element on both sides cannot be judged by the rule: it is left in
/// its order and counted in the rule's `unjudged`.
///
/// With one side only (a golden master's redaction), an array that keeps the order has its
/// ties put in a canonical order, and one that breaks it is left as it is, so that the
/// comparison with the snapshot still shows the broken order.
fn sorted_by(
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

fn conflict(loc: &[Place], l: &Value, r: &Value, why: String) -> Divergence {
    Divergence {
        path: render(loc),
        class: Class::Value,
        left: Some(l.clone()),
        right: Some(r.clone()),
        detail: None,
        note: Some(format!("identifier mapping is not one-to-one: {why}")),
    }
}

/// Where `rule` selects values in `value`, as the diff renders paths.
pub(super) fn rendered_locations(rule: &Rule, value: &Value) -> Vec<String> {
    locations(rule, value).iter().map(|l| render(l)).collect()
}

fn locations(rule: &Rule, value: &Value) -> Vec<Vec<Place>> {
    rule.path
        .query_located(value)
        .iter()
        .map(|node| {
            node.location()
                .iter()
                .map(|e| match e {
                    PathElement::Name(n) => Place::Key(n.to_string()),
                    PathElement::Index(i) => Place::Index(*i),
                })
                .collect()
        })
        .collect()
}

fn get<'v>(value: &'v Value, loc: &[Place]) -> Option<&'v Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Place::Key(k) => v.get(k.as_str()),
        Place::Index(i) => v.get(*i),
    })
}

fn get_mut<'v>(value: &'v mut Value, loc: &[Place]) -> Option<&'v mut Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Place::Key(k) => v.get_mut(k.as_str()),
        Place::Index(i) => v.get_mut(*i),
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

/// Truncates an RFC 3339 timestamp to `precision`, in UTC.
pub(super) fn truncate(value: &mut Value, precision: Precision) -> bool {
    let Value::String(text) = value else {
        return false;
    };
    if let Some(changed) = truncate_utc_text(text, precision) {
        return changed;
    }
    let Some(canonical) = truncate_parsed(text, precision) else {
        return false;
    };
    let changed = *text != canonical;
    *text = canonical;
    changed
}

/// The general path of [`truncate`]: any RFC 3339 timestamp, through `chrono`.
fn truncate_parsed(text: &str, precision: Precision) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
    let nanos = t.timestamp_subsec_nanos();
    let (kept, format) = match precision {
        Precision::Seconds => (0, SecondsFormat::Secs),
        Precision::Millis => (nanos / 1_000_000 * 1_000_000, SecondsFormat::Millis),
        Precision::Micros => (nanos / 1_000 * 1_000, SecondsFormat::Micros),
    };
    let cut = DateTime::from_timestamp(t.timestamp(), kept)?;
    Some(cut.to_rfc3339_opts(format, true))
}

/// The fast path of [`truncate`], in place: `YYYY-MM-DDTHH:MM:SS[.fraction]` in UTC (`Z`,
/// `+00:00` or `-00:00`), cut or padded to the precision's digits and ended with `Z`,
/// exactly as the formatter would write it. `None` for any other shape, else whether the
/// text changed.
fn truncate_utc_text(text: &mut String, precision: Precision) -> Option<bool> {
    let b = text.as_bytes();
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let zulu = b[b.len() - 1] == b'Z';
    let end = if zulu {
        b.len() - 1
    } else if b.ends_with(b"+00:00") || b.ends_with(b"-00:00") {
        b.len() - 6
    } else {
        return None;
    };
    let fraction = match b.get(19..end)? {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            digits.len()
        }
        _ => return None,
    };
    let digits = match precision {
        Precision::Seconds => 0,
        Precision::Millis => 3,
        Precision::Micros => 6,
    };
    if zulu && fraction == digits {
        return Some(false);
    }
    // Drop the zone, cut or pad the fraction, end with `Z`.
    text.truncate(end);
    if digits == 0 {
        text.truncate(19);
    } else if fraction == 0 {
        text.push('.');
    }
    if fraction > digits {
        text.truncate(20 + digits);
    } else {
        text.extend(std::iter::repeat_n('0', digits - fraction));
    }
    text.push('Z');
    Some(true)
}

/// Sorts an array by `keys`, then by content (so ties line up on both sides); true when
/// the order changed. Arrays already in that order are left untouched.
fn sort(value: &mut Value, keys: &[String]) -> bool {
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

/// A location as the diff's JSONPath.
fn render(loc: &[Place]) -> String {
    let mut path = crate::diff::JsonPath::default();
    for seg in loc {
        match seg {
            Place::Key(k) => path.key(k),
            Place::Index(i) => path.index(*i),
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_place_truncation_writes_what_the_formatter_writes() {
        for text in [
            "2024-03-01T10:00:00Z",
            "2024-03-01T10:00:00.1Z",
            "2024-03-01T10:00:00.123Z",
            "2024-03-01T10:00:00.123456789Z",
            "2024-03-01T10:00:00.815000+00:00",
            "2024-03-01T10:00:00-00:00",
            "1969-12-31T23:59:59.999999+00:00",
        ] {
            for precision in [Precision::Seconds, Precision::Millis, Precision::Micros] {
                let slow = truncate_parsed(text, precision).unwrap();
                let mut fast = text.to_string();
                let changed = truncate_utc_text(&mut fast, precision);
                assert_eq!(fast, slow, "{text} at {precision:?}");
                assert_eq!(changed, Some(text != slow), "{text} at {precision:?}");
            }
        }
        for other in [
            "2024-03-01T10:00:00+01:00",
            "2024-03-01T10:00:00.Z",
            "yesterday",
        ] {
            assert_eq!(
                truncate_utc_text(&mut other.to_string(), Precision::Millis),
                None
            );
        }
    }
}
