//! `id_map`: identifiers learned from write outcomes and translated in later comparisons.
//!
//! Learning pairs the legacy's value at a selected location with the candidate's. A location
//! outside any array is the same place on both sides. A location inside an array (the ids
//! of a batch create's answer) is never paired by position: the legacy's element is paired
//! with the candidate's element of the same content once the identifier is set aside (the
//! k-th such element with the k-th), so two stores that list or number a batch in other
//! orders pair the right ids; an element whose content the other side lacks teaches
//! nothing, and its id stays untranslated.

use super::place::{get, get_mut, locations, render, Place};
use super::{Rule, RuleRun};
use crate::diff::{deep_eq, fingerprint, Class, Divergence};
use serde_json::Value;
use std::collections::BTreeMap;

/// Learns (when `learn`) and translates the identifiers `rule` selects; returns how many
/// legacy values it translated.
pub(super) fn apply(
    run: &RuleRun,
    rule: &Rule,
    learn: bool,
    left: &mut Value,
    right: &Value,
    found: &mut Vec<Divergence>,
) -> u64 {
    let mut ids = run.ids.lock().unwrap_or_else(|p| p.into_inner());
    if learn {
        for (loc, r_loc) in pairs(rule, left, right) {
            let (Some(l), Some(r)) = (get(left, &loc), get(right, &r_loc)) else {
                continue;
            };
            let (lk, rk) = (l.to_string(), r.to_string());
            match (ids.0.get(&lk).cloned(), ids.1.get(&rk).cloned()) {
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
    let mut n = 0;
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

/// The legacy's selected locations, each with the candidate's location it pairs with.
fn pairs(rule: &Rule, left: &Value, right: &Value) -> Vec<(Vec<Place>, Vec<Place>)> {
    let mut out = Vec::new();
    // Locations inside arrays, by the array and the path within the element.
    let mut in_arrays: BTreeMap<(Vec<Place>, Vec<Place>), Vec<usize>> = BTreeMap::new();
    for loc in locations(rule, left) {
        match loc.iter().rposition(|p| matches!(p, Place::Index(_))) {
            None => out.push((loc.clone(), loc)),
            Some(at) => {
                let Place::Index(i) = loc[at] else { continue };
                let key = (loc[..at].to_vec(), loc[at + 1..].to_vec());
                in_arrays.entry(key).or_default().push(i);
            }
        }
    }
    for ((array, within), indexes) in in_arrays {
        let (Some(Value::Array(l)), Some(Value::Array(r))) =
            (get(left, &array), get(right, &array))
        else {
            continue;
        };
        for (i, j) in by_content(l, r, &indexes, &within) {
            let at = |k| [array.clone(), vec![Place::Index(k)], within.clone()].concat();
            out.push((at(i), at(j)));
        }
    }
    out
}

/// Pairs each of the legacy elements `indexes` of `l` with the candidate element of `r`
/// whose content, without the value at `within`, is the same: the k-th such on each side.
fn by_content(
    l: &[Value],
    r: &[Value],
    indexes: &[usize],
    within: &[Place],
) -> Vec<(usize, usize)> {
    let without = |v: &Value| {
        let mut v = v.clone();
        if let Some(slot) = get_mut(&mut v, within) {
            *slot = Value::Null;
        }
        v
    };
    let rights: Vec<Value> = r.iter().map(without).collect();
    let mut candidates: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (j, v) in rights.iter().enumerate() {
        candidates.entry(fingerprint(v)).or_default().push(j);
    }
    let mut taken = vec![false; r.len()];
    let mut out = Vec::new();
    for &i in indexes {
        let Some(element) = l.get(i).map(without) else {
            continue;
        };
        let found = candidates
            .get(&fingerprint(&element))
            .into_iter()
            .flatten()
            .copied()
            .find(|&j| !taken[j] && deep_eq(&rights[j], &element));
        if let Some(j) = found {
            taken[j] = true;
            out.push((i, j));
        }
    }
    out
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
