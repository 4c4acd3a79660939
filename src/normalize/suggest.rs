//! Suggested rules: divergences grouped by (operation, path pattern, class), each group with
//! a rule in the rules-file syntax that would accept it. Printed for review; never applied.

use crate::diff::{Class, Divergence};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One group of divergences and the rule that would accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub op: String,
    /// The divergences' path with every index as `[*]`.
    pub path: String,
    pub class: Class,
    /// Divergences in the group.
    pub count: u64,
    /// The rule, as TOML; none for a difference no normalization may accept (errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The path with array indices and slices generalized to `[*]`; quoted keys stay as
/// they are.
pub fn pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                out.push(c);
                out.extend(chars.next());
            }
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '[' if !quoted && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                while chars.next().is_some_and(|d| d != ']') {}
                out.push_str("[*]");
            }
            c => out.push(c),
        }
    }
    out
}

/// The rule that would accept divergences like `example` at `path` of `op`; none for an
/// error against a value or another error kind, which is behaviour, never representation.
pub fn rule(op: &str, path: &str, example: &Divergence) -> Option<String> {
    let class = example.detail.unwrap_or(example.class);
    if class == Class::Error {
        return None;
    }
    let timestamp = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
    };
    let (path, action) = match class {
        Class::Ordering if path.ends_with("[*]") => (
            path.trim_end_matches("[*]").to_string(),
            "unordered = true".to_string(),
        ),
        Class::Ordering => (path.to_string(), "unordered = true".to_string()),
        Class::Missing if example.left.as_ref().is_some_and(Value::is_null) => {
            (path.to_string(), "null_equals_missing = true".to_string())
        }
        Class::Extra if example.right.as_ref().is_some_and(Value::is_null) => {
            (path.to_string(), "null_equals_missing = true".to_string())
        }
        Class::Value if timestamp(&example.left) && timestamp(&example.right) => {
            (path.to_string(), "precision = \"ms\"".to_string())
        }
        Class::Value
            if example.left.as_ref().is_some_and(Value::is_number)
                && example.right.as_ref().is_some_and(Value::is_number) =>
        {
            let (l, r) = (
                example.left.as_ref().and_then(Value::as_f64),
                example.right.as_ref().and_then(Value::as_f64),
            );
            let gap = l.zip(r).map_or(0.0, |(l, r)| (l - r).abs());
            (path.to_string(), format!("tolerance = {gap}"))
        }
        _ => (path.to_string(), "ignore = true".to_string()),
    };
    let on = if example.class == Class::State {
        "\non = \"state\""
    } else {
        ""
    };
    Some(format!(
        "[[rule]]\nop = {}\npath = {}{on}\n{action}\n",
        toml_string(op),
        toml_string(&path)
    ))
}

fn toml_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_and_slices_generalize() {
        assert_eq!(
            pattern("$.messages[12].read_by[0:2]"),
            "$.messages[*].read_by[*]"
        );
        assert_eq!(pattern("$['a[1]'][3]"), "$['a[1]'][*]");
    }
}
