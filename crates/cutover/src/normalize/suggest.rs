//! Suggested rules: divergences grouped by (operation, path pattern, class), each group with
//! a rule in the rules-file syntax that would accept it. Printed for review; never applied.

use super::precision::truncate;
use super::Precision;
use crate::diff::number::Decimal;
pub use crate::diff::pattern;
use crate::diff::{Class, Divergence};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One group of divergences and the rule that would accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The operation the divergences come from.
    pub op: String,
    /// The divergences' path with every index as `[*]`.
    pub path: String,
    /// The divergences' class; `state` for differences in the stored state.
    pub class: Class,
    /// For a `state` group: the structural class of the differences in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Class>,
    /// Divergences in the group.
    pub count: u64,
    /// Of those, the divergences of requests that are causes: their key's first divergent
    /// request in cassette order (see [`crate::replay::causes`]); the rest are echoes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub causes: u64,
    /// Divergent requests that follow one of this group's causes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub followed_by: u64,
    /// The rule, as TOML; none for a difference no normalization may accept (errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Suggestion {
    /// A group of one divergence at `path` (a pattern) of `op`, without a rule: how a
    /// group is named, e.g. to declare noise.
    pub fn group(op: &str, path: &str, class: Class, detail: Option<Class>) -> Suggestion {
        Suggestion {
            op: op.into(),
            path: path.into(),
            class,
            detail,
            count: 1,
            causes: 0,
            followed_by: 0,
            rule: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The narrowest action known to accept every divergence of a group so far. A group's
/// fit is the join of its divergences' fits, so the suggested rule accepts all of them,
/// whatever divergence happened to be kept as the example.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    /// Behaviour, never representation: an error against a value or another error kind.
    NoRule,
    /// Only `ignore` accepts it (the fallback when no narrower action fits).
    Ignore,
    /// Same elements in another order: `unordered`.
    Unordered,
    /// A `null` object member against an absent one: `null_equals_missing`.
    NullEqualsMissing,
    /// Timestamps equal at this precision: `precision`.
    Precision(Precision),
    /// Numbers at most this far apart: `tolerance`.
    Tolerance(Decimal),
}

impl Fit {
    /// What accepts `d` alone.
    pub fn of(d: &Divergence) -> Fit {
        let class = d.detail.unwrap_or(d.class);
        let in_array = d.path.ends_with(']') && !d.path.ends_with("']");
        match class {
            Class::Error => Fit::NoRule,
            Class::Ordering => Fit::Unordered,
            // `null_equals_missing` removes object members only.
            Class::Missing if !in_array && d.left.as_ref().is_some_and(Value::is_null) => {
                Fit::NullEqualsMissing
            }
            Class::Extra if !in_array && d.right.as_ref().is_some_and(Value::is_null) => {
                Fit::NullEqualsMissing
            }
            Class::Value => match (&d.left, &d.right) {
                (Some(Value::Number(l)), Some(Value::Number(r))) => {
                    match (Decimal::parse(l.as_str()), Decimal::parse(r.as_str())) {
                        (Some(l), Some(r)) => l.abs_diff(&r).map_or(Fit::Ignore, Fit::Tolerance),
                        _ => Fit::Ignore,
                    }
                }
                (Some(l @ Value::String(_)), Some(r @ Value::String(_))) => {
                    precision_for(l, r).map_or(Fit::Ignore, Fit::Precision)
                }
                _ => Fit::Ignore,
            },
            _ => Fit::Ignore,
        }
    }

    /// The narrowest fit that accepts what both accept.
    pub fn join(self, other: Fit) -> Fit {
        match (self, other) {
            (Fit::NoRule, _) | (_, Fit::NoRule) => Fit::NoRule,
            (Fit::Precision(a), Fit::Precision(b)) => Fit::Precision(coarser(a, b)),
            (Fit::Tolerance(a), Fit::Tolerance(b)) => {
                Fit::Tolerance(if a.cmp_value(&b).is_ge() { a } else { b })
            }
            (a, b) if a == b => a,
            _ => Fit::Ignore,
        }
    }

    fn action(&self) -> Option<String> {
        Some(match self {
            Fit::NoRule => return None,
            Fit::Ignore => "ignore = true".into(),
            Fit::Unordered => "unordered = true".into(),
            Fit::NullEqualsMissing => "null_equals_missing = true".into(),
            Fit::Precision(p) => format!(
                "precision = {}",
                serde_json::to_value(p).unwrap_or_default()
            ),
            Fit::Tolerance(t) => format!("tolerance = {}", t.to_plain()),
        })
    }
}

/// The finest precision at which two timestamps are equal, if any.
fn precision_for(left: &Value, right: &Value) -> Option<Precision> {
    let stamp = |v: &Value| {
        v.as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
    };
    if !(stamp(left) && stamp(right)) {
        return None;
    }
    [Precision::Micros, Precision::Millis, Precision::Seconds]
        .into_iter()
        .find(|p| {
            let (mut l, mut r) = (left.clone(), right.clone());
            truncate(&mut l, *p);
            truncate(&mut r, *p);
            l == r
        })
}

fn coarser(a: Precision, b: Precision) -> Precision {
    let rank = |p: Precision| match p {
        Precision::Micros => 0,
        Precision::Millis => 1,
        Precision::Seconds => 2,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// The rule that accepts a group of divergences of `op` at the path pattern `path`, found
/// in the answer or (`class` `state`) in the stored state; none for an error, which is
/// behaviour, never representation. Pasted into a rules file, it matches exactly the
/// (operation, part, path pattern) of the group.
pub fn rule(op: &str, path: &str, class: Class, fit: &Fit) -> Option<String> {
    let action = fit.action()?;
    let on = if class == Class::State {
        "state"
    } else {
        "outcome"
    };
    Some(format!(
        "[[rule]]\nop = {}\npath = {}\non = \"{on}\"\n{action}\n",
        toml_string(op),
        toml_string(path)
    ))
}

/// The group as an accepted difference of the gate's policy (to be completed with a
/// reason, an owner and an expiry).
pub fn accept(op: &str, path: &str, class: Class, detail: Option<Class>) -> String {
    let detail = detail.map_or(String::new(), |d| format!("detail = \"{d}\"\n"));
    format!(
        "[[accept]]\nop = {}\npath = {}\nclass = \"{class}\"\n{detail}",
        toml_string(op),
        toml_string(path)
    )
}

fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(l: Value, r: Value) -> Divergence {
        Divergence {
            path: "$.x".into(),
            class: Class::Value,
            left: Some(l),
            right: Some(r),
            detail: None,
            note: None,
        }
    }

    #[test]
    fn a_group_fit_accepts_every_divergence_of_the_group() {
        let ms = Fit::of(&value(
            json!("2024-01-01T00:00:00.1234Z"),
            json!("2024-01-01T00:00:00.123Z"),
        ));
        let s = Fit::of(&value(
            json!("2024-01-01T00:00:02.5Z"),
            json!("2024-01-01T00:00:02Z"),
        ));
        assert_eq!(ms, Fit::Precision(Precision::Millis));
        assert_eq!(ms.join(s), Fit::Precision(Precision::Seconds));
        let small = Fit::of(&value(json!(0.3), json!(0.2)));
        let big = Fit::of(&value(json!(1), json!(110)));
        let Fit::Tolerance(t) = small.join(big.clone()) else {
            panic!("a tolerance");
        };
        assert_eq!(t.to_plain(), "109");
        assert_eq!(big.join(Fit::Unordered), Fit::Ignore);
        assert_eq!(Fit::Ignore.join(Fit::NoRule), Fit::NoRule);
        let minutes = value(json!("2024-01-01T00:00:00Z"), json!("2024-01-01T00:01:00Z"));
        assert_eq!(Fit::of(&minutes), Fit::Ignore);
    }
}
