//! What was seen of one argument ([`ArgStat`]): its type, the range of its values and a sample
//! of them; and what a name says (a limit, an offset, a search, a bound, a member a path can
//! reach), and a request's arguments as an example.

use super::sample::{Range, Sample};
use super::{write, ENUM_LENGTH};
use crate::declaration::{Class, Type};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What was seen of one argument.
#[derive(Debug, Default)]
pub(super) struct ArgStat {
    /// Requests where it was present and not null.
    pub(super) present: u64,
    pub(super) strings: u64,
    timestamps: u64,
    integers: u64,
    floats: u64,
    booleans: u64,
    objects: u64,
    arrays: u64,
    /// Every string was short and without whitespace.
    pub(super) long_text: bool,
    numbers: Range<f64>,
    instants: Range<chrono::DateTime<chrono::FixedOffset>>,
    lengths: Range<usize>,
    array_lengths: Range<usize>,
    pub(super) values: Sample,
}

impl ArgStat {
    pub(super) fn add(&mut self, value: &Value, keys: &BTreeSet<String>) {
        match value {
            Value::Null => return,
            Value::String(s) => {
                self.strings += 1;
                let chars = s.chars().count();
                self.lengths.add(chars, || chars.to_string());
                if chars > ENUM_LENGTH || s.chars().any(char::is_whitespace) {
                    self.long_text = true;
                }
                if let Ok(at) = chrono::DateTime::parse_from_rfc3339(s) {
                    self.timestamps += 1;
                    self.instants.add(at, || s.clone());
                }
                self.values.add(s, keys);
            }
            Value::Number(n) => {
                if n.is_i64() || n.is_u64() {
                    self.integers += 1;
                    self.values.add(&n.to_string(), keys);
                } else {
                    self.floats += 1;
                }
                if let Some(f) = n.as_f64() {
                    self.numbers.add(f, || n.to_string());
                }
            }
            Value::Bool(_) => self.booleans += 1,
            Value::Object(_) => self.objects += 1,
            Value::Array(items) => {
                self.arrays += 1;
                self.array_lengths
                    .add(items.len(), || items.len().to_string());
                for item in items {
                    if let Some(text) = item.as_str().map(str::to_string).or_else(|| {
                        item.as_number()
                            .filter(|n| n.is_i64() || n.is_u64())
                            .map(|n| n.to_string())
                    }) {
                        self.values.add(&text, keys);
                    }
                }
            }
        }
        self.present += 1;
    }

    /// The type of every value seen; `any` when they differ or none was seen.
    pub(super) fn ty(&self) -> Type {
        let numbers = self.integers + self.floats;
        let kinds = [
            self.strings,
            numbers,
            self.booleans,
            self.objects,
            self.arrays,
        ];
        if kinds.iter().filter(|&&n| n > 0).count() != 1 {
            return Type::Any;
        }
        if self.strings > 0 {
            if self.timestamps == self.strings {
                Type::Timestamp
            } else {
                Type::String
            }
        } else if numbers > 0 {
            if self.floats > 0 {
                Type::Number
            } else {
                Type::Integer
            }
        } else if self.booleans > 0 {
            Type::Boolean
        } else if self.objects > 0 {
            Type::Object
        } else {
            Type::Array
        }
    }

    /// What was seen of its values, for a `# seen:` comment.
    pub(super) fn seen(&self, ty: Type) -> Option<String> {
        match ty {
            Type::Integer | Type::Number => self.numbers.text().map(|r| format!("values {r}")),
            Type::Timestamp => self.instants.text().map(|r| format!("instants {r}")),
            Type::String => {
                let distinct = match self.values.complete() {
                    true => format!("{} distinct values", self.values.values.len()),
                    false => format!("more than {} distinct values", self.values.values.len()),
                };
                let lengths = self.lengths.text().unwrap_or_default();
                Some(format!("{distinct}, {lengths} characters long"))
            }
            Type::Array => self.array_lengths.text().map(|r| format!("{r} elements")),
            _ => None,
        }
    }
}

/// A member name a path can reach: not blank, no dots, no `$` start.
pub(super) fn usable_name(name: &str) -> bool {
    !name.trim().is_empty() && !name.contains('.') && !name.starts_with('$')
}

/// The arguments of a request as an example: an object TOML can hold (its null members
/// dropped, numbers as TOML reads them back), or `None`.
pub(super) fn example(args: &Value) -> Option<Value> {
    let Value::Object(map) = args else {
        return None;
    };
    let mut out = Map::new();
    for (name, value) in map.iter().filter(|(_, v)| !v.is_null()) {
        out.insert(name.clone(), write::tomlable(value)?);
    }
    Some(Value::Object(out))
}

pub(super) fn is_limit(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "limit" | "page_size" | "pagesize" | "per_page"
    ) || name.ends_with("_limit")
}

pub(super) fn is_offset(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "offset" | "skip") || name.ends_with("_offset")
}

pub(super) fn is_search(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "search" | "query" | "q" | "prefix")
        || ["_search", "_query", "_prefix"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// A bound's class from its name, and the member it bounds when the name says it
/// (`due_from`: `due`; `minPrice`: `price`; `from`: none).
pub(super) fn bound_name(name: &str) -> Option<(Class, Option<String>)> {
    const LOWER: (&[&str], &[&str]) = (
        &["from", "after", "since", "min"],
        &["_from", "_after", "_since", "_min", "_gte", "_gt"],
    );
    const UPPER: (&[&str], &[&str]) = (
        &["to", "before", "until", "max"],
        &["_to", "_before", "_until", "_max", "_lte", "_lt"],
    );
    for (class, (exact, suffixes), prefix) in [
        (Class::LowerBound, LOWER, "min"),
        (Class::UpperBound, UPPER, "max"),
    ] {
        if exact.contains(&name) {
            return Some((class, None));
        }
        for suffix in suffixes {
            if let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty()) {
                return Some((class, Some(base.to_string())));
            }
        }
        if let Some(rest) = name.strip_prefix(prefix) {
            if let Some(base) = rest.strip_prefix('_').filter(|b| !b.is_empty()) {
                return Some((class, Some(base.to_string())));
            }
            let mut chars = rest.chars();
            if let Some(first) = chars.next().filter(char::is_ascii_uppercase) {
                let base: String = first.to_ascii_lowercase().to_string() + chars.as_str();
                return Some((class, Some(base)));
            }
        }
    }
    None
}
