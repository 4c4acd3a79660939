//! Stage 4: the structural, order-aware diff of two values.
//!
//! [`values`] compares two JSON values and returns every [`Divergence`], each with a
//! JSONPath and one [`Class`]. Object key order never matters; numbers compare by value
//! ([`number`]); arrays are aligned (`array.rs`) so one missing element is one divergence and
//! an element changed in place is reported inside it. This module does no IO, is not async,
//! and prints nothing: rendering belongs to `report`.

mod array;
mod doc;
pub(crate) mod number;
mod path;
mod tree;
mod value;

pub use doc::{parse, Node, Object, ParseError, MAX_DEPTH};
pub use path::{pattern, JsonPath};
pub use tree::{Members, Tree, View};
pub use value::{deep_eq, fingerprint};

use crate::cassette::Outcome;
use path::{PathStack, Step};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// At most this many divergences are kept per comparison; the rest are counted.
pub const MAX_DIVERGENCES: usize = 1000;

/// What kind of difference a divergence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// The same elements in another order: one per array, at the array's own path, the
    /// note saying which slice or which positions.
    Ordering,
    /// Present only on the legacy (left) side, or null on the left and absent on the right.
    Missing,
    /// Present only on the candidate (right) side.
    Extra,
    /// Same type, other value (null against a value counts here too).
    Value,
    /// Other JSON type.
    Type,
    /// An error against a value, or errors of different kinds.
    Error,
    /// The stored state after a write differs (see `detail` for how).
    State,
    /// The events a request published differ (see `detail` for how: a `missing` event
    /// forgotten, an `extra` one, an `ordering` of two swapped, a payload's `value`).
    Events,
    /// An event was published before the write that raised it committed: when it arrived,
    /// its aggregate on the same side did not yet hold the write (`note` names the side).
    #[serde(rename = "before_commit")]
    BeforeCommit,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 9] = [
        Class::Ordering,
        Class::Missing,
        Class::Extra,
        Class::Value,
        Class::Type,
        Class::Error,
        Class::State,
        Class::Events,
        Class::BeforeCommit,
    ];

    /// The lowercase name used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Ordering => "ordering",
            Class::Missing => "missing",
            Class::Extra => "extra",
            Class::Value => "value",
            Class::Type => "type",
            Class::Error => "error",
            Class::State => "state",
            Class::Events => "events",
            Class::BeforeCommit => "before_commit",
        }
    }

    /// Whether a divergence of this class is found in a part (state, events) whose
    /// structural class is its `detail`.
    pub fn has_detail(self) -> bool {
        matches!(self, Class::State | Class::Events)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One difference between the legacy (left) and candidate (right) sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// Where, as a normalized JSONPath. Indices are left-side indices, except for `extra`.
    pub path: String,
    /// What kind of difference it is.
    pub class: Class,
    /// The left side's value here, omitted where the left side has nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<Value>,
    /// The right side's value here, omitted where the right side has nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Value>,
    /// For a `state` divergence: the structural class of the difference in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Class>,
    /// A short explanation where the values alone do not say it (moved elements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The result of one comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// The divergences kept, at most [`MAX_DIVERGENCES`], in the order found.
    pub divergences: Vec<Divergence>,
    /// Divergences found beyond [`MAX_DIVERGENCES`] and not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Diff {
    /// True when nothing diverged.
    pub fn is_equal(&self) -> bool {
        self.divergences.is_empty() && self.omitted == 0
    }
}

/// Compares two values structurally: serde_json's values, or documents [`parse`]d for
/// comparison.
pub fn values<T: Tree>(left: &T, right: &T) -> Diff {
    let mut differ = Differ::default();
    differ.value(left, right);
    differ.finish()
}

/// Numbers that may differ, by location: where the diff pairs two numbers at one of these
/// paths (rendered as divergence paths are, with the left side's indices), it accepts
/// them when they are at most the given distance apart, exactly. Because the check happens
/// where the diff pairs values (after array alignment), elements are never paired by
/// position: a shifted array stays `missing` and `extra`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tolerances {
    at: std::collections::HashMap<String, Vec<(usize, number::Decimal)>>,
    /// Arrays aligned by an identity member, by location: the rule (none for a
    /// declaration's list key) and the member.
    identities: std::collections::HashMap<String, (Option<usize>, String)>,
}

impl Tolerances {
    /// Declares that numbers at `path` may differ by `tolerance`; `rule` is reported back
    /// by [`values_within`] for each value it accepted.
    pub fn insert(&mut self, path: String, rule: usize, tolerance: number::Decimal) {
        self.at.entry(path).or_default().push((rule, tolerance));
    }

    /// Declares that the array at `path` aligns its elements by their member `key`; the
    /// first declared for a path wins. `rule`, when given, is reported back by
    /// [`values_within`] for each array so aligned.
    pub fn insert_identity(&mut self, path: String, rule: Option<usize>, key: String) {
        self.identities.entry(path).or_insert((rule, key));
    }

    /// True when no tolerance and no identity was declared.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty() && self.identities.is_empty()
    }

    /// The identity rule and member of the array at `path`.
    fn identity(&self, path: &str) -> Option<(Option<usize>, &str)> {
        if self.identities.is_empty() {
            return None;
        }
        self.identities
            .get(path)
            .map(|(rule, key)| (*rule, key.as_str()))
    }

    /// The first tolerance at `path` that accepts `left` and `right`.
    fn accepts(&self, path: &str, left: &str, right: &str) -> Option<usize> {
        let (l, r) = (
            number::Decimal::parse(left)?,
            number::Decimal::parse(right)?,
        );
        let gap = l.abs_diff(&r)?;
        self.at
            .get(path)?
            .iter()
            .find(|(_, t)| gap.cmp_value(t).is_le())
            .map(|(rule, _)| *rule)
    }
}

/// Compares two values structurally, accepting numbers within `tolerances` and aligning
/// the arrays it declares an identity for by that identity; returns the diff and, for each
/// value a tolerance accepted and each array aligned by identity, the rule's `rule`.
pub(crate) fn values_within<T: Tree>(
    left: &T,
    right: &T,
    tolerances: &Tolerances,
) -> (Diff, Vec<usize>) {
    let mut differ = Differ {
        tolerances: Some(tolerances).filter(|t| !t.is_empty()),
        ..Differ::default()
    };
    differ.value(left, right);
    let used = std::mem::take(&mut differ.tolerated);
    (differ.finish(), used)
}

/// Turns the divergences of a comparison of stored states into `state` divergences, their
/// structural class kept in `detail`.
pub(crate) fn as_state(mut diff: Diff) -> Diff {
    for d in &mut diff.divergences {
        d.detail = Some(d.class);
        d.class = Class::State;
    }
    diff
}

/// Turns the divergences of a comparison of two requests' events into `events`
/// divergences, their structural class kept in `detail`.
pub(crate) fn as_events(mut diff: Diff) -> Diff {
    for d in &mut diff.divergences {
        d.detail = Some(d.class);
        d.class = Class::Events;
    }
    diff
}

/// Compares two outcomes: values structurally, errors by kind.
pub fn outcomes(left: &Outcome, right: &Outcome) -> Diff {
    match (left, right) {
        (Outcome::Ok(l), Outcome::Ok(r)) => values(l, r),
        (Outcome::Error(l), Outcome::Error(r)) if l.kind == r.kind => Diff::default(),
        _ => Diff {
            divergences: vec![Divergence {
                path: "$".into(),
                class: Class::Error,
                left: serde_json::to_value(left).ok(),
                right: serde_json::to_value(right).ok(),
                detail: None,
                note: None,
            }],
            omitted: 0,
        },
    }
}

/// Compares two stored states: every divergence is of class `state`, its structural
/// class kept in `detail`.
pub fn states(left: &Value, right: &Value) -> Diff {
    as_state(values(left, right))
}

/// Walks two values side by side, collecting divergences.
#[derive(Default)]
pub(crate) struct Differ<'a> {
    path: PathStack<'a>,
    found: Vec<Divergence>,
    omitted: u64,
    tolerances: Option<&'a Tolerances>,
    /// The rule of each value a tolerance accepted, and of each array an identity aligned.
    tolerated: Vec<usize>,
}

impl<'a> Differ<'a> {
    fn finish(self) -> Diff {
        Diff {
            divergences: self.found,
            omitted: self.omitted,
        }
    }

    pub(crate) fn value<T: Tree>(&mut self, left: &'a T, right: &'a T) {
        match (left.view(), right.view()) {
            (View::Object(l), View::Object(r)) => self.object::<T>(l, r),
            (View::Array(l), View::Array(r)) => {
                let identity = self
                    .tolerances
                    .and_then(|t| t.identity(&self.path.render_with(None)));
                match identity {
                    Some((rule, key)) if array::by_identity(self, l, r, key) => {
                        self.tolerated.extend(rule)
                    }
                    _ => array::diff(self, l, r),
                }
            }
            (View::Number(l), View::Number(r)) => {
                if !number::equal(l, r) {
                    let tolerated = self
                        .tolerances
                        .and_then(|t| t.accepts(&self.path.render_with(None), l, r));
                    match tolerated {
                        Some(rule) => self.tolerated.push(rule),
                        None => self.report(Class::Value, None, Some(left), Some(right), None),
                    }
                }
            }
            (View::String(l), View::String(r)) if l == r => {}
            (View::Bool(l), View::Bool(r)) if l == r => {}
            (View::Null, View::Null) => {}
            (View::String(_), View::String(_))
            | (View::Bool(_), View::Bool(_))
            | (View::Null, _)
            | (_, View::Null) => self.report(Class::Value, None, Some(left), Some(right), None),
            _ => self.report(Class::Type, None, Some(left), Some(right), None),
        }
    }

    fn object<T: Tree + 'a>(&mut self, left: T::Members<'a>, right: T::Members<'a>) {
        // In the left document's order, then the keys only the right has: stable for given
        // inputs, whatever order the maps keep, and with one lookup per key, or none when
        // both sides list the same keys in the same order.
        if left.len() == right.len() && left.iter().map(|m| m.0).eq(right.iter().map(|m| m.0)) {
            for ((key, lv), (_, rv)) in left.iter().zip(right.iter()) {
                self.path.push(Step::Key(key));
                self.value(lv, rv);
                self.path.pop();
            }
            return;
        }
        for (key, lv) in left.iter() {
            match right.get(key) {
                Some(rv) => {
                    self.path.push(Step::Key(key));
                    self.value(lv, rv);
                    self.path.pop();
                }
                None => self.report(Class::Missing, Some(Step::Key(key)), Some(lv), None, None),
            }
        }
        for (key, rv) in right.iter() {
            if left.get(key).is_none() {
                self.report(Class::Extra, Some(Step::Key(key)), None, Some(rv), None);
            }
        }
    }

    pub(crate) fn report<T: Tree>(
        &mut self,
        class: Class,
        last: Option<Step<'_>>,
        left: Option<&T>,
        right: Option<&T>,
        note: Option<String>,
    ) {
        if self.found.len() >= MAX_DIVERGENCES {
            self.omitted += 1;
            return;
        }
        self.found.push(Divergence {
            path: self.path.render_with(last),
            class,
            left: left.map(Tree::to_json),
            right: right.map(Tree::to_json),
            detail: None,
            note,
        });
    }

    pub(crate) fn enter(&mut self, step: Step<'a>) {
        self.path.push(step);
    }

    pub(crate) fn leave(&mut self) {
        self.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(left: Value, right: Value) -> Divergence {
        let diff = values(&left, &right);
        assert_eq!(diff.divergences.len(), 1, "{:#?}", diff.divergences);
        diff.divergences.into_iter().next().unwrap()
    }

    fn shape(d: &Divergence) -> (&str, Class) {
        (d.path.as_str(), d.class)
    }

    #[test]
    fn key_order_never_matters() {
        // serde_json's `preserve_order` is on in this build (through bson): maps keep
        // insertion order, and the diff must not depend on it.
        let l: Value = serde_json::from_str(r#"{"b":1,"a":2,"c":{"y":1,"x":2}}"#).unwrap();
        let r: Value = serde_json::from_str(r#"{"c":{"x":2,"y":1},"a":2,"b":1}"#).unwrap();
        assert!(values(&l, &r).is_equal());
        assert!(deep_eq(&l, &r));
        assert_eq!(fingerprint(&l), fingerprint(&r));
        let r: Value = serde_json::from_str(r#"{"z":0,"c":{"x":2},"a":3}"#).unwrap();
        let paths: Vec<_> = values(&l, &r)
            .divergences
            .into_iter()
            .map(|d| (d.path, d.class))
            .collect();
        // In the left document's order, then the keys only the right has.
        let expected = [
            ("$.b", Class::Missing),
            ("$.a", Class::Value),
            ("$.c.y", Class::Missing),
            ("$.z", Class::Extra),
        ];
        assert_eq!(paths, expected.map(|(p, c)| (p.to_string(), c)));
    }

    #[test]
    fn equal_documents_have_no_divergence() {
        let l = json!({"a": 1, "b": [1, 2, {"c": null}], "d": "x"});
        let r: Value = serde_json::from_str(r#"{"d":"x","b":[1.0,2,{"c":null}],"a":1e0}"#).unwrap();
        assert!(values(&l, &r).is_equal());
    }

    #[test]
    fn each_class_at_its_path() {
        assert_eq!(
            shape(&one(json!({"a": 1}), json!({}))),
            ("$.a", Class::Missing)
        );
        assert_eq!(
            shape(&one(json!({"a": null}), json!({}))),
            ("$.a", Class::Missing)
        );
        assert_eq!(
            shape(&one(json!({}), json!({"b": 2}))),
            ("$.b", Class::Extra)
        );
        assert_eq!(
            shape(&one(json!({"a": 1}), json!({"a": 2}))),
            ("$.a", Class::Value)
        );
        assert_eq!(
            shape(&one(json!({"a": null}), json!({"a": 0}))),
            ("$.a", Class::Value)
        );
        assert_eq!(
            shape(&one(json!({"a": 1}), json!({"a": "1"}))),
            ("$.a", Class::Type)
        );
        assert_eq!(
            shape(&one(json!([1, 2, 3]), json!([1, 3, 2]))),
            ("$", Class::Ordering)
        );
        assert_eq!(
            shape(&one(json!({"x y": [1]}), json!({"x y": [2]}))),
            ("$['x y'][0]", Class::Value)
        );
    }

    #[test]
    fn missing_and_extra_carry_only_their_side() {
        let d = one(json!({"a": 1}), json!({}));
        assert_eq!((d.left, d.right), (Some(json!(1)), None));
        let d = one(json!([]), json!([7]));
        assert_eq!(
            (d.path.as_str(), d.class, d.left, d.right),
            ("$[0]", Class::Extra, None, Some(json!(7)))
        );
    }

    #[test]
    fn integers_compare_exactly_beyond_f64() {
        let l: Value = serde_json::from_str("9007199254740993").unwrap();
        let r: Value = serde_json::from_str("9007199254740992").unwrap();
        assert_eq!(one(l, r).class, Class::Value);
        let l: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        let r: Value = serde_json::from_str("123456789012345678901234567890.0").unwrap();
        assert!(values(&l, &r).is_equal());
    }

    #[test]
    fn one_element_removed_from_the_middle_is_one_missing() {
        let left: Vec<Value> = (0..1000)
            .map(|i| json!({"id": i, "t": format!("m{i}")}))
            .collect();
        let mut right = left.clone();
        right.remove(500);
        let d = one(Value::Array(left), Value::Array(right));
        assert_eq!(shape(&d), ("$[500]", Class::Missing));
        assert_eq!(d.left, Some(json!({"id": 500, "t": "m500"})));
    }

    #[test]
    fn a_swapped_pair_in_a_long_array_is_ordering() {
        let left: Vec<Value> = (0..10_000).map(|i| json!(i)).collect();
        let mut right = left.clone();
        right.swap(4321, 4322);
        let d = one(Value::Array(left), Value::Array(right));
        assert_eq!(shape(&d), ("$", Class::Ordering));
        assert_eq!(d.note.as_deref(), Some("[4321:4323] in another order"));
        assert_eq!(
            (d.left, d.right),
            (Some(json!([4321, 4322])), Some(json!([4322, 4321])))
        );
    }

    #[test]
    fn an_element_changed_in_place_is_reported_inside_it() {
        let l = json!({"m": [{"id": 1, "t": "a"}, {"id": 2, "t": "b"}, {"id": 3, "t": "c"}]});
        let r = json!({"m": [{"id": 1, "t": "a"}, {"id": 2, "t": "B"}, {"id": 3, "t": "c"}]});
        assert_eq!(shape(&one(l, r)), ("$.m[1].t", Class::Value));
    }

    #[test]
    fn a_moved_element_among_other_changes_is_ordering_once() {
        let l = json!([1, 2, 3, 4, 5, 6, 7, 8]);
        let r = json!([2, 3, 4, 5, 6, 7, 1, 9]);
        let diff = values(&l, &r);
        let shapes: Vec<_> = diff.divergences.iter().map(shape).collect();
        assert!(shapes.contains(&("$", Class::Ordering)), "{shapes:?}");
        assert!(shapes.contains(&("$[7]", Class::Value)), "{shapes:?}");
        assert_eq!(diff.divergences.len(), 2, "{shapes:?}");
    }

    #[test]
    fn errors_compare_by_kind_not_message() {
        use crate::cassette::ErrorKind;
        let a = Outcome::error(ErrorKind::Conflict, "E11000 duplicate key");
        let b = Outcome::error(
            ErrorKind::Conflict,
            "duplicate key value violates unique constraint",
        );
        assert!(outcomes(&a, &b).is_equal());
        let c = Outcome::error(ErrorKind::Invalid, "bad");
        assert_eq!(outcomes(&a, &c).divergences[0].class, Class::Error);
        assert_eq!(
            outcomes(&a, &Outcome::Ok(json!(1))).divergences[0].class,
            Class::Error
        );
    }

    #[test]
    fn state_divergences_keep_their_structural_class() {
        let diff = states(&json!({"a": 1, "b": 2}), &json!({"a": 1}));
        let d = &diff.divergences[0];
        assert_eq!(
            (d.path.as_str(), d.class, d.detail),
            ("$.b", Class::State, Some(Class::Missing))
        );
    }

    #[test]
    fn divergences_beyond_the_cap_are_counted() {
        let l = Value::Array((0..5000).map(|i| json!({"v": i})).collect());
        let r = Value::Array((0..5000).map(|i| json!({"v": i + 1_000_000})).collect());
        let diff = values(&l, &r);
        assert_eq!(diff.divergences.len(), MAX_DIVERGENCES);
        assert_eq!(diff.omitted, 5000 - MAX_DIVERGENCES as u64);
    }
}
