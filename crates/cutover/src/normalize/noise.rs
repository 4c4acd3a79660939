//! Noise: what differs between two runs of the legacy itself (`--noise-runs`), such as
//! generated ids and clocks.
//!
//! Noise is an allowance, so it accepts only what it saw: a `value` difference (both sides
//! the same JSON type, neither null) at a path pattern where the noise runs saw a `value`
//! difference, in the same part (the answer, or the state stored after a write) of the
//! same operation. A missing, extra or retyped field, an ordering, an error, or a null is
//! never noise, whatever path it is at.

use super::suggest::Suggestion;
use super::Part;
use crate::diff::pattern;
use crate::diff::{Class, Divergence};
use serde_json::Value;
use std::collections::HashSet;

/// The (operation, part, path pattern) triples where the legacy's own values varied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noise {
    paths: HashSet<(String, PartKey, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PartKey {
    Outcome,
    State,
    Events,
}

impl From<Part> for PartKey {
    fn from(part: Part) -> PartKey {
        match part {
            Part::Outcome => PartKey::Outcome,
            Part::State => PartKey::State,
            Part::Events => PartKey::Events,
        }
    }
}

impl Noise {
    /// The noise the groups of divergences between two legacy runs show: their `value`
    /// groups (state groups whose structural class is `value`); every other group is a
    /// real difference between two runs of the legacy, and accepts nothing.
    pub fn from_groups(groups: &[Suggestion]) -> Noise {
        let paths = groups
            .iter()
            .filter_map(|g| {
                let part = match (g.class, g.detail) {
                    (Class::Value, _) => Part::Outcome,
                    (Class::State, Some(Class::Value)) => Part::State,
                    (Class::Events, Some(Class::Value)) => Part::Events,
                    _ => return None,
                };
                Some((g.op.clone(), part.into(), g.path.clone()))
            })
            .collect();
        Noise { paths }
    }

    /// Whether no path is noise.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Whether `d`, found comparing `op`, is noise.
    pub fn forgives(&self, op: &str, d: &Divergence) -> bool {
        let part = match (d.class, d.detail) {
            (Class::Value, _) => Part::Outcome,
            (Class::State, Some(Class::Value)) => Part::State,
            (Class::Events, Some(Class::Value)) => Part::Events,
            _ => return false,
        };
        let same_type = match (&d.left, &d.right) {
            (Some(l), Some(r)) => !l.is_null() && !r.is_null() && json_type(l) == json_type(r),
            _ => false,
        };
        same_type
            && self
                .paths
                .contains(&(op.to_string(), part.into(), pattern(&d.path)))
    }
}

fn json_type(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn divergence(
        path: &str,
        class: Class,
        detail: Option<Class>,
        l: Option<Value>,
        r: Option<Value>,
    ) -> Divergence {
        Divergence {
            path: path.into(),
            class,
            left: l,
            right: r,
            detail,
            note: None,
        }
    }

    #[test]
    fn only_value_differences_of_the_same_part_op_and_pattern_are_noise() {
        let noise = Noise::from_groups(&[
            Suggestion::group("get", "$.id", Class::Value, None),
            Suggestion::group("get", "$.gone", Class::Missing, None),
            Suggestion::group("stamp", "$.at", Class::State, Some(Class::Value)),
        ]);
        let value = |p: &str| divergence(p, Class::Value, None, Some(json!("a")), Some(json!("b")));
        assert!(noise.forgives("get", &value("$.id")));
        assert!(!noise.forgives("put", &value("$.id")), "another operation");
        assert!(!noise.forgives("get", &value("$.name")), "another path");
        assert!(
            !noise.forgives("get", &value("$.gone")),
            "a group that was not `value`"
        );
        for (class, l, r) in [
            (Class::Missing, Some(json!("a")), None),
            (Class::Extra, None, Some(json!("a"))),
            (Class::Type, Some(json!("a")), Some(json!(1))),
            (Class::Value, Some(json!("a")), Some(Value::Null)),
            (Class::Value, Some(json!("a")), Some(json!(1))),
            (Class::Ordering, Some(json!([1, 2])), Some(json!([2, 1]))),
        ] {
            let d = divergence("$.id", class, None, l, r);
            assert!(!noise.forgives("get", &d), "{d:?}");
        }
        let state = |p: &str, detail| {
            divergence(
                p,
                Class::State,
                Some(detail),
                Some(json!(1)),
                Some(json!(2)),
            )
        };
        assert!(noise.forgives("stamp", &state("$.at", Class::Value)));
        assert!(!noise.forgives("stamp", &state("$.at", Class::Type)));
        assert!(
            !noise.forgives("get", &state("$.id", Class::Value)),
            "outcome noise is not state noise"
        );
        assert!(
            !noise.forgives("stamp", &value("$.at")),
            "state noise is not outcome noise"
        );
    }
}
