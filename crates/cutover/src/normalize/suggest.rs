//! Suggested rules: divergences grouped by (operation, path pattern, class), each group with
//! a rule in the rules-file syntax that would accept it. Printed for review; never applied.

use super::precision::truncate;
use super::Precision;
use crate::diff::number::Decimal;
pub use crate::diff::pattern;
use crate::diff::{Class, Divergence};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// For a group no rule may accept without hiding a defect (an identity key, a list
    /// whose order is kept, a text that says something else, elements paired with other
    /// elements, values mapped two ways): what accepting it would hide. Such a group has
    /// no `rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hides: Option<String>,
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
            hides: None,
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
    /// Scalars of the legacy that become scalars of the candidate, the same pairs
    /// everywhere (`0` and `false`, `"pending"` and `"PENDING"`): `value_map`.
    ValueMap(Vec<(Value, Value)>),
    /// Same elements in another order, where every legacy list seen was sorted by these
    /// keys (`""` for the elements themselves): accepting it would hide a list out of its
    /// order, unless no key is left.
    Sorted(Vec<String>),
    /// An object member only one side has, not `null`: `ignore`, or `rename` when another
    /// member of the same object carries the same values on the other side. The sum of
    /// the values' digests, so two groups can be matched.
    Member(u64),
    /// No rule: accepting the group would hide a defect, as said.
    Hides(Hidden),
}

/// Why a group gets no rule to paste: what accepting it would hide.
#[derive(Debug, Clone, PartialEq)]
pub enum Hidden {
    /// A value of an identity key (`id`, `*_id`, `*Id`) differs.
    Identity,
    /// Texts that differ in content, not in representation.
    Text,
    /// A list every legacy answer kept sorted by this key (`""`: by its elements).
    Order(String),
    /// Value pairs no `value_map` can hold: one value mapped to two, or two to one.
    Inconsistent(String),
    /// Elements paired with other elements: the identity key at this path differs too.
    Misaligned(String),
    /// Integers that differ: another count, another amount, not a rounding.
    Number,
    /// A member the legacy answers and the candidate does not, renamed to no other.
    Lost,
    /// Elements only one side's list has.
    Elements,
    /// A value on one side and `null` on the other: a value lost, or one made up.
    Null,
    /// A list whose order the domain's declaration makes part of the contract.
    Declared(String),
}

/// At most this many pairs make a suggested `value_map`; more is not a representation.
pub const MAX_PAIRS: usize = 16;

impl Hidden {
    /// What accepting the group at `path` would hide, as one line.
    pub fn line(&self, path: &str) -> String {
        match self {
            Hidden::Identity => format!(
                "accepting `{path}` would hide an answer that names another entity (an identity key)"
            ),
            Hidden::Text => format!(
                "ignoring `{path}` would hide a text that says something else (the texts differ in content, not in representation)"
            ),
            Hidden::Order(key) if key.is_empty() => format!(
                "`unordered` at `{path}` would hide a list out of its order: every legacy answer kept it sorted"
            ),
            Hidden::Order(key) => format!(
                "`unordered` at `{path}` would hide a list out of its order: every legacy answer kept it sorted by `{key}`"
            ),
            Hidden::Inconsistent(why) => format!(
                "no `value_map` at `{path}` accepts it ({why}); ignoring it would hide a changed value"
            ),
            Hidden::Number => format!(
                "a `tolerance` at `{path}` would hide a different number (integers that differ are another count, not a rounding)"
            ),
            Hidden::Lost => format!(
                "ignoring `{path}` would hide a member the candidate lost (no member of the candidate carries its values)"
            ),
            Hidden::Elements => format!(
                "ignoring `{path}` would hide a list with other elements"
            ),
            Hidden::Null => format!(
                "ignoring `{path}` would hide a value one side lost (null against a value)"
            ),
            Hidden::Declared(order) => format!(
                "`unordered` at `{path}` would hide a list out of its declared order ({order})"
            ),
            Hidden::Misaligned(id) => format!(
                "accepting `{path}` would hide elements paired with other elements: `{id}` differs at the same places"
            ),
        }
    }
}

/// Whether the last member of `path` names an identity key: `id`, or a name ending in
/// `_id` or `Id`.
pub fn is_identity(path: &str) -> bool {
    member(path).is_some_and(|m| m == "id" || m.ends_with("_id") || m.ends_with("Id"))
}

/// The last member name of a path (`$.a.b` → `b`, `$['a b']` → `a b`); none for an index.
pub fn member(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_suffix("']") {
        return rest.rfind("['").map(|i| &rest[i + 2..]);
    }
    if path.ends_with(']') {
        return None;
    }
    path.rfind('.').map(|i| &path[i + 1..])
}

/// The object `path`'s last member belongs to (`$.a.b` → `$.a`).
pub fn parent(path: &str) -> Option<&str> {
    let name = member(path)?;
    let cut = if path.ends_with("']") {
        name.len() + 4
    } else {
        name.len() + 1
    };
    path.get(..path.len() - cut)
}

impl Fit {
    /// What accepts `d` alone.
    pub fn of(d: &Divergence) -> Fit {
        let fit = Fit::of_values(d);
        match fit {
            Fit::Ignore
            | Fit::Tolerance(_)
            | Fit::Unordered
            | Fit::Sorted(_)
            | Fit::Member(_)
            | Fit::Hides(Hidden::Number | Hidden::Text)
                if is_identity(&d.path) =>
            {
                Fit::Hides(Hidden::Identity)
            }
            fit => fit,
        }
    }

    fn of_values(d: &Divergence) -> Fit {
        let class = d.detail.unwrap_or(d.class);
        let in_array = d.path.ends_with(']') && !d.path.ends_with("']");
        match class {
            Class::Error | Class::BeforeCommit => Fit::NoRule,
            Class::Ordering => match &d.left {
                Some(Value::Array(items)) if items.len() >= 2 => Fit::Sorted(sorted_by(items)),
                _ => Fit::Unordered,
            },
            // `null_equals_missing` removes object members only.
            Class::Missing if !in_array && d.left.as_ref().is_some_and(Value::is_null) => {
                Fit::NullEqualsMissing
            }
            Class::Extra if !in_array && d.right.as_ref().is_some_and(Value::is_null) => {
                Fit::NullEqualsMissing
            }
            Class::Missing | Class::Extra if in_array => Fit::Hides(Hidden::Elements),
            Class::Missing if !in_array => d
                .left
                .as_ref()
                .map_or(Fit::Ignore, |v| Fit::Member(digest(v))),
            Class::Extra if !in_array => d
                .right
                .as_ref()
                .map_or(Fit::Ignore, |v| Fit::Member(digest(v))),
            Class::Value | Class::Type => match (&d.left, &d.right) {
                (Some(l), Some(r)) if l.is_null() != r.is_null() => Fit::Hides(Hidden::Null),
                (Some(Value::Number(l)), Some(Value::Number(r))) => {
                    match (Decimal::parse(l.as_str()), Decimal::parse(r.as_str())) {
                        _ if integral(l.as_str()) && integral(r.as_str()) => {
                            Fit::Hides(Hidden::Number)
                        }
                        (Some(l), Some(r)) => l.abs_diff(&r).map_or(Fit::Ignore, Fit::Tolerance),
                        _ => Fit::Ignore,
                    }
                }
                (Some(l @ Value::String(a)), Some(r @ Value::String(b))) => {
                    match precision_for(l, r) {
                        Some(p) => Fit::Precision(p),
                        None if fold(a) == fold(b) => Fit::ValueMap(vec![(l.clone(), r.clone())]),
                        None => Fit::Hides(Hidden::Text),
                    }
                }
                (Some(l), Some(r)) if scalar(l) && scalar(r) => {
                    Fit::ValueMap(vec![(l.clone(), r.clone())])
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
            (h @ Fit::Hides(_), _) | (_, h @ Fit::Hides(_)) => h,
            (Fit::ValueMap(a), Fit::ValueMap(b)) => merge(a, b),
            (Fit::Sorted(a), Fit::Sorted(b)) => {
                Fit::Sorted(a.into_iter().filter(|k| b.contains(k)).collect())
            }
            (Fit::Sorted(_), Fit::Unordered) | (Fit::Unordered, Fit::Sorted(_)) => Fit::Unordered,
            (Fit::Member(a), Fit::Member(b)) => Fit::Member(a.wrapping_add(b)),
            (Fit::Precision(a), Fit::Precision(b)) => Fit::Precision(coarser(a, b)),
            (Fit::Tolerance(a), Fit::Tolerance(b)) => {
                Fit::Tolerance(if a.cmp_value(&b).is_ge() { a } else { b })
            }
            (a, b) if a == b => a,
            _ => Fit::Ignore,
        }
    }

    /// What accepting the group at `path` would hide; none when a rule may accept it.
    pub fn hides(&self, path: &str) -> Option<String> {
        match self {
            Fit::Hides(h) => Some(h.line(path)),
            Fit::Sorted(keys) => keys.first().map(|k| Hidden::Order(k.clone()).line(path)),
            _ => None,
        }
    }

    fn action(&self) -> Option<String> {
        Some(match self {
            Fit::NoRule | Fit::Hides(_) => return None,
            Fit::Sorted(keys) if !keys.is_empty() => return None,
            Fit::Sorted(_) => "unordered = true".into(),
            Fit::Member(_) => "ignore = true".into(),
            Fit::ValueMap(pairs) => {
                // Sorted, so the text does not depend on which pair was seen first.
                let mut entries: Vec<String> = pairs
                    .iter()
                    .map(|(l, r)| format!("{} = {}", map_key(l), toml_value(r)))
                    .collect();
                entries.sort();
                format!("value_map = {{ {} }}", entries.join(", "))
            }
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

/// Whether a JSON number's text is an integer (`12`, `-3`, `1e3` is not).
fn integral(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a value can be a `value_map` key or value: a string, a number, a boolean.
fn scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// A text without case and separators: `in_progress`, `In-Progress` and `INPROGRESS` are
/// one representation of one value.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Two sets of pairs as one `value_map`, if they agree: no value mapped to two, no two
/// values mapped to one, at most [`MAX_PAIRS`].
fn merge(mut a: Vec<(Value, Value)>, b: Vec<(Value, Value)>) -> Fit {
    for (l, r) in b {
        let same = |x: &Value, y: &Value| match (x, y) {
            (Value::Number(x), Value::Number(y)) => {
                crate::diff::number::equal(x.as_str(), y.as_str())
            }
            _ => x == y,
        };
        if let Some((_, seen)) = a.iter().find(|(k, _)| same(k, &l)) {
            if !same(seen, &r) {
                return Fit::Hides(Hidden::Inconsistent(format!(
                    "the legacy's {l} is the candidate's {seen} in one place and {r} in another"
                )));
            }
            continue;
        }
        if let Some((k, _)) = a.iter().find(|(_, v)| same(v, &r)) {
            return Fit::Hides(Hidden::Inconsistent(format!(
                "the legacy's {k} and {l} are both the candidate's {r}"
            )));
        }
        a.push((l, r));
    }
    if a.len() > MAX_PAIRS {
        return Fit::Hides(Hidden::Inconsistent(format!(
            "more than {MAX_PAIRS} different pairs of values"
        )));
    }
    Fit::ValueMap(a)
}

/// A legacy value as a `value_map` key: a number or boolean as written, a string quoted
/// so it stays a string (`'"2"'` for the string `2`).
fn map_key(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let reads_as_other = s.parse::<f64>().is_ok() || s == "true" || s == "false";
            if bare && !reads_as_other {
                s.clone()
            } else if !reads_as_other {
                toml_string(s)
            } else {
                format!("'{}'", Value::String(s.clone()))
            }
        }
        other => format!("\"{other}\""),
    }
}

/// A candidate value as TOML.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => toml_string(&n.to_string()),
        other => other.to_string(),
    }
}

/// A digest of one value, for matching a member missing on one side with a member extra
/// on the other.
fn digest(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

/// The keys a list is sorted by (ascending or descending, ties allowed but not all equal):
/// `""` for its scalar elements, else the scalar members of its objects.
fn sorted_by(items: &[Value]) -> Vec<String> {
    fn ordered(values: &[Option<&Value>]) -> bool {
        let cmp = |a: &Value, b: &Value| match (a, b) {
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .zip(y.as_f64())
                .and_then(|(x, y)| x.partial_cmp(&y)),
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        };
        let Some(all) = values.iter().copied().collect::<Option<Vec<_>>>() else {
            return false;
        };
        let steps: Option<Vec<_>> = all.windows(2).map(|w| cmp(w[0], w[1])).collect();
        let Some(steps) = steps else { return false };
        let up = steps.iter().all(|o| o.is_le());
        let down = steps.iter().all(|o| o.is_ge());
        (up || down) && steps.iter().any(|o| o.is_ne())
    }
    let mut keys = Vec::new();
    if ordered(&items.iter().map(Some).collect::<Vec<_>>()) {
        keys.push(String::new());
    }
    if let Some(Value::Object(first)) = items.first() {
        for name in first.keys() {
            let column: Vec<Option<&Value>> = items.iter().map(|i| i.get(name)).collect();
            if ordered(&column) {
                keys.push(name.clone());
            }
        }
    }
    keys
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
    let on = part_name(class);
    Some(format!(
        "[[rule]]\nop = {}\npath = {}\non = \"{on}\"\n{action}\n",
        toml_string(op),
        toml_string(path)
    ))
}

/// A group key: (operation, path pattern, class, structural class of a state).
pub type GroupKey = (String, String, Class, Option<Class>);

/// The suggestions for the groups of a replay, each with its count and fit. Besides each
/// group's own fit, two look across groups of one operation: elements whose identity key
/// differs at the same places are paired with other elements, so no member of theirs gets
/// a rule; a member missing on one side and another extra on the other, with the same
/// values, is a `rename`.
pub fn suggestions(groups: BTreeMap<GroupKey, (u64, Fit)>) -> Vec<Suggestion> {
    let value = |class: Class, detail: Option<Class>| {
        matches!(detail.unwrap_or(class), Class::Value | Class::Type)
    };
    // (op, class, list element pattern) → the identity key's path.
    let mut misaligned: BTreeMap<(String, Class, String), String> = BTreeMap::new();
    for ((op, path, class, detail), (_, fit)) in &groups {
        let differs = !matches!(fit, Fit::ValueMap(_) | Fit::Precision(_) | Fit::NoRule);
        if value(*class, *detail) && differs && is_identity(path) {
            if let Some(element) = parent(path).filter(|p| p.ends_with("[*]")) {
                misaligned
                    .entry((op.clone(), *class, element.to_string()))
                    .or_insert_with(|| path.clone());
            }
        }
    }
    let side = |class: Class, detail: Option<Class>, want: Class| detail.unwrap_or(class) == want;
    let mut renames: BTreeMap<GroupKey, String> = BTreeMap::new();
    for (key, (count, fit)) in &groups {
        let (op, path, class, detail) = key;
        let Fit::Member(sum) = fit else { continue };
        if !side(*class, *detail, Class::Missing) {
            continue;
        }
        let (Some(from), Some(object)) = (member(path), parent(path)) else {
            continue;
        };
        let partner = groups.iter().find(|((o, p, c, d), (n, f))| {
            o == op
                && part_name(*c) == part_name(*class)
                && side(*c, *d, Class::Extra)
                && n == count
                && *f == Fit::Member(*sum)
                && parent(p) == Some(object)
                && member(p).is_some_and(|m| m != from)
        });
        if let Some((other, _)) = partner {
            let to = member(&other.1).unwrap_or_default();
            let text = rename_rule(op, object, *class, from, to);
            renames.insert(key.clone(), text.clone());
            renames.entry(other.clone()).or_insert(text);
        }
    }
    groups
        .into_iter()
        .map(|(key, (count, mut fit))| {
            let (op, path, class, detail) = &key;
            if !matches!(fit, Fit::NoRule) {
                let id = misaligned.iter().find(|((o, c, element), id)| {
                    o == op
                        && c == class
                        && *id != path
                        && path
                            .strip_prefix(element.as_str())
                            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
                });
                if let Some((_, id)) = id {
                    fit = Fit::Hides(Hidden::Misaligned(id.clone()));
                }
            }
            if matches!(fit, Fit::Member(_))
                && detail.unwrap_or(*class) == Class::Missing
                && !renames.contains_key(&key)
            {
                fit = Fit::Hides(Hidden::Lost);
            }
            let rule = match (renames.get(&key), &fit) {
                (Some(text), Fit::Member(_)) => Some(text.clone()),
                _ => rule(op, path, *class, &fit),
            };
            let hides = fit.hides(path);
            let (op, path, class, detail) = key;
            Suggestion {
                op,
                path,
                class,
                detail,
                count,
                causes: 0,
                followed_by: 0,
                rule,
                hides,
            }
        })
        .collect()
}

/// The rules file's `on` for a divergence of `class`: the part it was found in.
fn part_name(class: Class) -> &'static str {
    match class {
        Class::State => "state",
        Class::Events | Class::BeforeCommit => "events",
        _ => "outcome",
    }
}

/// A `rename` of the member `from` to `to` in the objects at `object`, on the legacy side.
fn rename_rule(op: &str, object: &str, class: Class, from: &str, to: &str) -> String {
    let on = part_name(class);
    format!(
        "[[rule]]\nop = {}\npath = {}\non = \"{on}\"\nrename = {{ from = {}, to = {} }}\n",
        toml_string(op),
        toml_string(object),
        toml_string(from),
        toml_string(to)
    )
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
        let big = Fit::of(&value(json!(1.0), json!(110)));
        let Fit::Tolerance(t) = small.join(big.clone()) else {
            panic!("a tolerance");
        };
        assert_eq!(t.to_plain(), "109");
        assert_eq!(big.join(Fit::Unordered), Fit::Ignore);
        assert_eq!(Fit::Ignore.join(Fit::NoRule), Fit::NoRule);
        let minutes = value(json!("2024-01-01T00:00:00Z"), json!("2024-01-01T00:01:00Z"));
        assert_eq!(Fit::of(&minutes), Fit::Hides(Hidden::Text));
    }

    fn at(path: &str, class: Class, l: Option<Value>, r: Option<Value>) -> Divergence {
        Divergence {
            path: path.into(),
            class,
            left: l,
            right: r,
            detail: None,
            note: None,
        }
    }

    fn fit_of(ds: &[Divergence]) -> Fit {
        ds.iter()
            .map(Fit::of)
            .reduce(Fit::join)
            .expect("one divergence at least")
    }

    fn suggest(ds: &[(&str, Divergence)]) -> Vec<Suggestion> {
        let mut groups: BTreeMap<GroupKey, (u64, Fit)> = BTreeMap::new();
        for (op, d) in ds {
            let key = (op.to_string(), pattern(&d.path), d.class, d.detail);
            let e = groups.entry(key).or_insert((0, Fit::of(d)));
            if e.0 > 0 {
                e.1 = std::mem::replace(&mut e.1, Fit::NoRule).join(Fit::of(d));
            }
            e.0 += 1;
        }
        suggestions(groups)
    }

    #[test]
    fn booleans_against_numbers_get_a_value_map_with_the_pairs_seen() {
        let fit = fit_of(&[
            value(json!(0), json!(false)),
            value(json!(1), json!(true)),
            value(json!(0), json!(false)),
        ]);
        assert_eq!(
            fit,
            Fit::ValueMap(vec![(json!(0), json!(false)), (json!(1), json!(true))])
        );
        let text = rule("get", "$.done", Class::Value, &fit).expect("a rule");
        assert!(
            text.contains("value_map = { \"0\" = false, \"1\" = true }"),
            "{text}"
        );
        let rules = crate::normalize::Rules::parse(&text, "suggested").expect("it parses");
        assert_eq!(rules.rules.len(), 1);
    }

    #[test]
    fn inconsistent_pairs_get_no_rule_and_say_what_they_would_hide() {
        let fit = fit_of(&[value(json!(0), json!(false)), value(json!(0), json!(true))]);
        assert!(
            matches!(fit, Fit::Hides(Hidden::Inconsistent(_))),
            "{fit:?}"
        );
        assert_eq!(rule("get", "$.done", Class::Value, &fit), None);
        assert!(fit
            .hides("$.done")
            .expect("a line")
            .contains("one place and true in another"));
        // Two values of the legacy that become one of the candidate lose a distinction.
        let fit = fit_of(&[value(json!(0), json!(false)), value(json!(2), json!(false))]);
        assert!(
            matches!(fit, Fit::Hides(Hidden::Inconsistent(_))),
            "{fit:?}"
        );
        // Big numbers are compared exactly, not through f64.
        let big = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        let fit = fit_of(&[
            value(big("12345678901234567890"), json!(true)),
            value(big("12345678901234567891"), json!(true)),
        ]);
        assert!(
            matches!(fit, Fit::Hides(Hidden::Inconsistent(_))),
            "{fit:?}"
        );
        // Whichever divergence comes first, the verdict is the same.
        let fit = fit_of(&[value(json!(0), json!(true)), value(json!(0), json!(false))]);
        assert!(matches!(fit, Fit::Hides(_)), "{fit:?}");
    }

    #[test]
    fn identity_keys_texts_and_nulls_never_get_ignore_or_tolerance() {
        let id = at(
            "$.items[0].id",
            Class::Value,
            Some(json!(3)),
            Some(json!(23)),
        );
        assert_eq!(Fit::of(&id), Fit::Hides(Hidden::Identity));
        let owner = at("$.owner_id", Class::Missing, Some(json!(3)), None);
        assert_eq!(Fit::of(&owner), Fit::Hides(Hidden::Identity));
        let title = value(json!("Buy milk"), json!("Walk the dog"));
        assert_eq!(Fit::of(&title), Fit::Hides(Hidden::Text));
        let status = value(json!("in_progress"), json!("IN-PROGRESS"));
        assert!(matches!(Fit::of(&status), Fit::ValueMap(_)));
        // `null` is never a value_map key, and ignoring a value against null would hide
        // a value lost.
        assert_eq!(
            Fit::of(&value(json!(null), json!(false))),
            Fit::Hides(Hidden::Null)
        );
        let nulls = value(json!([1, null]), json!([1, false]));
        assert_eq!(Fit::of(&nulls), Fit::Ignore);
        assert!(rule("get", "$.x", Class::Value, &Fit::Hides(Hidden::Text)).is_none());
        // Integers that differ are another count; a tolerance is for roundings.
        let count = value(json!(3), json!(4));
        assert_eq!(Fit::of(&count), Fit::Hides(Hidden::Number));
        let big = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        let huge = value(big("12345678901234567890"), big("12345678901234567891"));
        assert_eq!(Fit::of(&huge), Fit::Hides(Hidden::Number));
        // An element only one list has: ignoring the elements would hide any list.
        let tag = at("$.tags[2]", Class::Extra, None, Some(json!("c")));
        assert_eq!(Fit::of(&tag), Fit::Hides(Hidden::Elements));
        // A member lost with no partner gets no rule.
        let s = suggest(&[(
            "get",
            at("$.name", Class::Missing, Some(json!("Zoë")), None),
        )]);
        assert_eq!(s[0].rule, None);
        assert!(s[0]
            .hides
            .as_deref()
            .unwrap()
            .contains("the candidate lost"));
    }

    #[test]
    fn a_list_every_legacy_answer_kept_sorted_gets_no_unordered() {
        let sorted = at(
            "$.items",
            Class::Ordering,
            Some(json!([{"n": 1}, {"n": 2}])),
            Some(json!([{"n": 2}, {"n": 1}])),
        );
        let also = at(
            "$.items",
            Class::Ordering,
            Some(json!([{"n": 1}, {"n": 1}, {"n": 5}])),
            Some(json!([{"n": 5}, {"n": 1}, {"n": 1}])),
        );
        let fit = fit_of(&[sorted.clone(), also]);
        assert_eq!(rule("list", "$.items", Class::Ordering, &fit), None);
        assert!(fit
            .hides("$.items")
            .expect("a line")
            .contains("sorted by `n`"));
        // Ties alone are no order.
        let ties = at(
            "$.items",
            Class::Ordering,
            Some(json!([{"n": 1}, {"n": 1}])),
            Some(json!([{"n": 1}, {"n": 1}])),
        );
        let fit = fit_of(&[ties]);
        assert!(rule("list", "$.items", Class::Ordering, &fit)
            .expect("a rule")
            .contains("unordered = true"));
        // One list in no order: no order is the contract.
        let unsorted = at(
            "$.items",
            Class::Ordering,
            Some(json!([{"n": 2}, {"n": 1}, {"n": 3}])),
            Some(json!([{"n": 1}, {"n": 2}, {"n": 3}])),
        );
        let fit = fit_of(&[sorted, unsorted]);
        assert!(rule("list", "$.items", Class::Ordering, &fit)
            .expect("a rule")
            .contains("unordered = true"));
    }

    #[test]
    fn misaligned_elements_get_no_rule_at_any_member() {
        let s = suggest(&[
            (
                "list",
                at(
                    "$.items[0].id",
                    Class::Value,
                    Some(json!(1)),
                    Some(json!(2)),
                ),
            ),
            (
                "list",
                at(
                    "$.items[0].title",
                    Class::Value,
                    Some(json!("a")),
                    Some(json!("b")),
                ),
            ),
            (
                "list",
                at(
                    "$.items[0].due",
                    Class::Value,
                    Some(json!("2024-01-01T00:00:00Z")),
                    Some(json!("2024-02-01T00:00:00Z")),
                ),
            ),
            (
                "list",
                at(
                    "$.items[0].done",
                    Class::Value,
                    Some(json!(0)),
                    Some(json!(true)),
                ),
            ),
        ]);
        assert_eq!(s.len(), 4);
        for g in &s {
            assert_eq!(g.rule, None, "{g:?}");
            assert!(g.hides.is_some(), "{g:?}");
        }
        let done = s.iter().find(|g| g.path == "$.items[*].done").unwrap();
        assert!(
            done.hides
                .as_deref()
                .unwrap()
                .contains("`$.items[*].id` differs"),
            "{done:?}"
        );
    }

    #[test]
    fn a_member_renamed_gets_a_rename() {
        let s = suggest(&[
            (
                "get",
                at("$.task.is_done", Class::Missing, Some(json!(true)), None),
            ),
            (
                "get",
                at("$.task.done", Class::Extra, None, Some(json!(true))),
            ),
        ]);
        for g in &s {
            let text = g.rule.as_deref().expect("a rule");
            assert!(text.contains("path = \"$.task\""), "{text}");
            assert!(
                text.contains("rename = { from = \"is_done\", to = \"done\" }"),
                "{text}"
            );
            crate::normalize::Rules::parse(text, "suggested").expect("it parses");
        }
        // Other values: no rename, each side on its own.
        let s = suggest(&[
            (
                "get",
                at("$.task.is_done", Class::Missing, Some(json!(true)), None),
            ),
            (
                "get",
                at("$.task.done", Class::Extra, None, Some(json!(false))),
            ),
        ]);
        assert!(s
            .iter()
            .all(|g| !g.rule.as_deref().unwrap_or("").contains("rename")));
    }

    #[test]
    fn value_map_keys_keep_their_type() {
        let fit = fit_of(&[
            value(json!("2"), json!(2)),
            value(json!("pending"), json!("PENDING")),
            value(json!(true), json!("true")),
            value(json!(1.5), json!("1.5")),
        ]);
        let text = rule("get", "$.x", Class::Value, &fit).expect("a rule");
        let rules = crate::normalize::Rules::parse(&text, "s").expect("it parses");
        let crate::normalize::Action::ValueMap(map) = &rules.rules[0].action else {
            panic!("a value_map: {text}");
        };
        assert_eq!(map.get(&json!("2")), Some(&json!(2)), "{text}");
        assert_eq!(map.get(&json!(2)), None, "{text}");
        assert_eq!(map.get(&json!("pending")), Some(&json!("PENDING")));
        assert_eq!(map.get(&json!(true)), Some(&json!("true")));
        assert_eq!(map.get(&json!(1.5)), Some(&json!("1.5")));
    }

    proptest::proptest! {
        /// Pairs of small numbers against booleans (ties, repeats, any order): a
        /// `value_map` exactly when each number is always answered as one boolean and no
        /// two numbers as the same one, whichever order the divergences come in.
        #[test]
        fn a_value_map_only_for_pairs_that_agree(
            pairs in proptest::collection::vec((0u8..3, proptest::bool::ANY), 1..12)
        ) {
            let ds: Vec<Divergence> = pairs
                .iter()
                .map(|(n, b)| value(json!(n), json!(b)))
                .collect();
            let mut seen: BTreeMap<u8, bool> = BTreeMap::new();
            let functional = pairs
                .iter()
                .all(|(n, b)| *seen.entry(*n).or_insert(*b) == *b);
            let values: std::collections::BTreeSet<bool> = seen.values().copied().collect();
            let agree = functional && values.len() == seen.len();
            let forward = fit_of(&ds);
            let backward = fit_of(&ds.iter().rev().cloned().collect::<Vec<_>>());
            proptest::prop_assert_eq!(matches!(forward, Fit::ValueMap(_)), agree, "{:?}", forward);
            proptest::prop_assert_eq!(
                rule("get", "$.x", Class::Value, &forward),
                rule("get", "$.x", Class::Value, &backward)
            );
            if agree {
                let text = rule("get", "$.x", Class::Value, &forward).unwrap();
                proptest::prop_assert!(crate::normalize::Rules::parse(&text, "s").is_ok(), "{}", text);
            } else {
                proptest::prop_assert!(forward.hides("$.x").is_some());
            }
        }
    }
}
