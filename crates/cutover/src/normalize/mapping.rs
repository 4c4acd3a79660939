//! The mapping actions a change of store needs (a MySQL schema moved to PostgreSQL, say):
//! `rename` (a member renamed), `value_map` (values translated) and `null_as` (a declared
//! default for `null`). Each changes only the side its rule names, only the values its path
//! selects, and counts the values it changed.

use super::place::{get_mut, locations};
use super::walk::{self, Step};
use super::{Action, Rule, RuleRun};
use crate::diff::number;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::Ordering;

/// The table of a `value_map`: typed keys and the values they become, in file order.
///
/// A key matches values of its own JSON type only: a number matches numbers of exactly its
/// value (`2` matches `2` and `2.0`, never `"2"`, and `12345678901234567890` never
/// `12345678901234567891`: compared on the decimal text, not through `f64`), a string the
/// same string, a boolean the same boolean. Arrays, objects and `null` are never keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMap {
    entries: Vec<(Value, Value)>,
}

impl ValueMap {
    /// A map of these (key, value) entries. `Err` gives the index of the first entry that
    /// cannot be a key (`null`, an array, an object), that repeats an earlier key's value,
    /// or that maps a key to itself, and why (index 0 for a map without entries).
    pub fn new(entries: Vec<(Value, Value)>) -> Result<ValueMap, (usize, String)> {
        if entries.is_empty() {
            return Err((0, "value_map needs at least one entry".into()));
        }
        for (i, (key, value)) in entries.iter().enumerate() {
            let why = if !is_key(key) {
                format!("value_map key {key}: a key is a string, a number or a boolean (`null_as` declares a value for null)")
            } else if let Some((earlier, _)) = entries[..i].iter().find(|(e, _)| same(e, key)) {
                format!("value_map keys {earlier} and {key} are the same value")
            } else if same(key, value) {
                format!("value_map maps {key} to itself")
            } else {
                continue;
            };
            return Err((i, why));
        }
        Ok(ValueMap { entries })
    }

    /// The entries, (key, value), in file order.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }

    /// The value `value` becomes, if it is a key of the map.
    pub fn get(&self, value: &Value) -> Option<&Value> {
        if !is_key(value) {
            return None;
        }
        self.entries
            .iter()
            .find(|(key, _)| same(key, value))
            .map(|(_, mapped)| mapped)
    }
}

impl fmt::Display for ValueMap {
    /// `{"pending": "PENDING", 2: "shipped"}`: each key as JSON, so its type shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (key, value)) in self.entries.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{key}: {value}")?;
        }
        f.write_str("}")
    }
}

/// What a `value_map` key written as `text` matches: a JSON number (`2`, `-1.5`, `1e3`),
/// `true` or `false`, or a JSON string in its double quotes (`'"2"'`) is that value; any
/// other text is the string it spells (`pending`). TOML cannot tell `2 = ..` from
/// `"2" = ..`, so both are the number.
pub(super) fn key(text: &str) -> Value {
    if text.trim() == text {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return value;
        }
    }
    Value::String(text.to_string())
}

fn is_key(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Whether a value matches a key: same JSON type, and equal (numbers by exact value).
fn same(key: &Value, value: &Value) -> bool {
    match (key, value) {
        (Value::String(k), Value::String(v)) => k == v,
        (Value::Number(k), Value::Number(v)) => number::equal(k.as_str(), v.as_str()),
        (Value::Bool(k), Value::Bool(v)) => k == v,
        _ => false,
    }
}

/// Applies a mapping rule to the side(s) it names; returns how many values it changed.
pub(super) fn apply(run: &RuleRun, index: usize, left: &mut Value, right: &mut Value) -> u64 {
    let rule = &run.rules.rules[index];
    let mut n = 0;
    if rule.side.legacy() {
        n += one_side(run, index, left);
    }
    if rule.side.candidate() {
        n += one_side(run, index, right);
    }
    n
}

fn one_side(run: &RuleRun, index: usize, value: &mut Value) -> u64 {
    let rule = &run.rules.rules[index];
    let mut unjudged = 0;
    let n = match &rule.action {
        Action::Rename { from, to } => each(rule, value, |v| match rename(v, from, to) {
            Renamed::Yes => true,
            Renamed::Both => {
                unjudged += 1;
                false
            }
            Renamed::No => false,
        }),
        Action::ValueMap(map) => each(rule, value, |v| match map.get(v) {
            Some(mapped) => {
                *v = mapped.clone();
                true
            }
            None => false,
        }),
        Action::NullAs(default) => each(rule, value, |v| {
            let null = v.is_null();
            if null {
                *v = default.clone();
            }
            null
        }),
        _ => 0,
    };
    if unjudged > 0 {
        run.unjudged[index].fetch_add(unjudged, Ordering::Relaxed);
    }
    n
}

/// Runs `change` on every value the rule's path selects; counts the values it changed.
fn each(rule: &Rule, value: &mut Value, mut change: impl FnMut(&mut Value) -> bool) -> u64 {
    let mut n = 0;
    match &rule.simple {
        // The in-place walk, unless the path descends (`..`): the walk would go on into
        // the value it just put in place, and map what the map itself wrote.
        Some(segs) if !segs.iter().any(|s| matches!(s, Step::Descend(_))) => {
            walk::each_mut(value, segs, &mut |v| n += u64::from(change(v)));
        }
        _ => {
            let mut locs = locations(rule, value);
            // Deepest first: renaming a member moves every location below it.
            locs.sort();
            for loc in locs.iter().rev() {
                if let Some(v) = get_mut(value, loc) {
                    n += u64::from(change(v));
                }
            }
        }
    }
    n
}

enum Renamed {
    Yes,
    /// Both names are there: left as it is.
    Both,
    No,
}

/// Renames the member `from` of an object `to`, unless the object already has `to`.
fn rename(value: &mut Value, from: &str, to: &str) -> Renamed {
    let Value::Object(map) = value else {
        return Renamed::No;
    };
    if !map.contains_key(from) {
        return Renamed::No;
    }
    if map.contains_key(to) {
        return Renamed::Both;
    }
    match map.shift_remove(from) {
        Some(moved) => {
            map.insert(to.to_string(), moved);
            Renamed::Yes
        }
        None => Renamed::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_typed_by_how_they_are_written() {
        assert_eq!(key("pending"), json!("pending"));
        assert_eq!(key("2"), json!(2));
        assert_eq!(key("\"2\""), json!("2"));
        assert_eq!(key("true"), json!(true));
        assert_eq!(key(" 2"), json!(" 2"));
        assert_eq!(key("007"), json!("007"));
        assert_eq!(key(""), json!(""));
        let big = key("12345678901234567890");
        assert_eq!(
            big.as_number().map(|n| n.as_str()),
            Some("12345678901234567890")
        );
    }

    #[test]
    fn a_map_is_refused_when_it_cannot_be_read_one_way() {
        let map = |e: Vec<(Value, Value)>| ValueMap::new(e).map(|_| ()).map_err(|(_, why)| why);
        assert!(map(vec![]).unwrap_err().contains("at least one"));
        assert!(map(vec![(json!(null), json!(1))]).is_err());
        assert!(map(vec![(json!([1]), json!(1))]).is_err());
        let twice = map(vec![(json!(2), json!("a")), (key("2.0"), json!("b"))]);
        assert!(twice.unwrap_err().contains("same value"));
        assert!(map(vec![(json!(2), key("2.0"))])
            .unwrap_err()
            .contains("to itself"));
        // A string and a number of the same text are two keys.
        assert!(map(vec![(json!(2), json!("a")), (json!("2"), json!("b"))]).is_ok());
    }
}
