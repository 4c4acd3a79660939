//! Stage 4: the structural, order-aware diff of two values.
//!
//! [`values`] compares two JSON values and returns every [`Divergence`], each with a
//! JSONPath and one [`Class`]. Object key order never matters; numbers compare by value
//! ([`number`]); arrays are aligned ([`array`]) so one missing element is one divergence and
//! an element changed in place is reported inside it. This module does no IO, is not async,
//! and prints nothing: rendering belongs to `report`.

mod array;
pub mod number;
mod path;
mod value;

pub use value::{deep_eq, fingerprint};

use crate::cassette::Outcome;
use path::{PathBuf, Step};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// At most this many divergences are kept per comparison; the rest are counted.
pub const MAX_DIVERGENCES: usize = 1000;

/// What kind of difference a divergence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// The same elements in another order.
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
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 7] = [
        Class::Ordering,
        Class::Missing,
        Class::Extra,
        Class::Value,
        Class::Type,
        Class::Error,
        Class::State,
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
        }
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

/// Compares two values structurally.
pub fn values(left: &Value, right: &Value) -> Diff {
    let mut differ = Differ::default();
    differ.value(left, right);
    differ.finish()
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
    let mut diff = values(left, right);
    for d in &mut diff.divergences {
        d.detail = Some(d.class);
        d.class = Class::State;
    }
    diff
}

/// Walks two values side by side, collecting divergences.
#[derive(Default)]
pub(crate) struct Differ<'a> {
    path: PathBuf<'a>,
    found: Vec<Divergence>,
    omitted: u64,
}

impl<'a> Differ<'a> {
    fn finish(self) -> Diff {
        Diff {
            divergences: self.found,
            omitted: self.omitted,
        }
    }

    pub(crate) fn value(&mut self, left: &'a Value, right: &'a Value) {
        match (left, right) {
            (Value::Object(l), Value::Object(r)) => self.object(l, r),
            (Value::Array(l), Value::Array(r)) => array::diff(self, l, r),
            (Value::Number(l), Value::Number(r)) => {
                if !number::equal(l.as_str(), r.as_str()) {
                    self.report(Class::Value, None, Some(left), Some(right), None);
                }
            }
            (Value::String(l), Value::String(r)) if l == r => {}
            (Value::Bool(l), Value::Bool(r)) if l == r => {}
            (Value::Null, Value::Null) => {}
            (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Null, _)
            | (_, Value::Null) => self.report(Class::Value, None, Some(left), Some(right), None),
            _ => self.report(Class::Type, None, Some(left), Some(right), None),
        }
    }

    fn object(&mut self, left: &'a Map<String, Value>, right: &'a Map<String, Value>) {
        // Both maps iterate in key order, so one merge pass pairs the keys.
        let mut l = left.iter().peekable();
        let mut r = right.iter().peekable();
        loop {
            let order = match (l.peek(), r.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((lk, _)), Some((rk, _))) => lk.cmp(rk),
            };
            match order {
                std::cmp::Ordering::Equal => {
                    let ((key, lv), (_, rv)) = (l.next().unwrap(), r.next().unwrap());
                    self.path.push(Step::Key(key));
                    self.value(lv, rv);
                    self.path.pop();
                }
                std::cmp::Ordering::Less => {
                    let (key, lv) = l.next().unwrap();
                    self.report(Class::Missing, Some(Step::Key(key)), Some(lv), None, None);
                }
                std::cmp::Ordering::Greater => {
                    let (key, rv) = r.next().unwrap();
                    self.report(Class::Extra, Some(Step::Key(key)), None, Some(rv), None);
                }
            }
        }
    }

    pub(crate) fn report(
        &mut self,
        class: Class,
        last: Option<Step<'_>>,
        left: Option<&Value>,
        right: Option<&Value>,
        note: Option<String>,
    ) {
        if self.found.len() >= MAX_DIVERGENCES {
            self.omitted += 1;
            return;
        }
        self.found.push(Divergence {
            path: self.path.render_with(last),
            class,
            left: left.cloned(),
            right: right.cloned(),
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
