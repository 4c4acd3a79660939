//! The `kv` domain's coverage features ([`crate::coverage::Domain`]), for the in-memory
//! store of [`super::memory::Memory`]: each operation's error kinds, `put` creating and replacing,
//! `scan`'s limits and prefixes, and the stored values' shapes (null, empty containers,
//! non-ASCII text, numbers beyond 2^53, nulls inside arrays).

use crate::cassette::{ErrorKind, Outcome, Request};
use crate::coverage::{Declared, Features, Group, STORED};
use serde_json::Value;
use Group::Argument;

/// The `kv` domain's features.
#[derive(Debug, Default)]
pub struct KvFeatures;

/// The stored shapes counted after each write.
const STORED_FEATURES: [&str; 6] = [
    "null value",
    "empty object or array",
    "non-ASCII text",
    "number beyond 2^53",
    "null inside an array",
    "key removed",
];

fn walk(value: &Value, seen: &mut dyn FnMut(&Value, bool)) {
    fn go(value: &Value, in_array: bool, seen: &mut dyn FnMut(&Value, bool)) {
        seen(value, in_array);
        match value {
            Value::Array(items) => items.iter().for_each(|v| go(v, true, seen)),
            Value::Object(map) => map.values().for_each(|v| go(v, false, seen)),
            _ => {}
        }
    }
    go(value, false, seen)
}

fn shapes(state: &Value) -> Vec<&'static str> {
    let mut hits = Vec::new();
    if state.is_null() {
        return vec!["key removed"];
    }
    walk(state, &mut |v, in_array| {
        let name = match v {
            Value::Null if in_array => "null inside an array",
            Value::Null => "null value",
            Value::Array(a) if a.is_empty() => "empty object or array",
            Value::Object(o) if o.is_empty() => "empty object or array",
            Value::String(s) if !s.is_ascii() => "non-ASCII text",
            Value::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.abs() > 9_007_199_254_740_992.0) =>
            {
                "number beyond 2^53"
            }
            _ => return,
        };
        if !hits.contains(&name) {
            hits.push(name);
        }
    });
    hits
}

impl Features for KvFeatures {
    fn operations(&self) -> Vec<Declared> {
        let op = |op, errors: &[ErrorKind], list, features: &[(Group, &'static str)]| Declared {
            op,
            errors: errors.to_vec(),
            list,
            features: features.to_vec(),
        };
        vec![
            op("get", &[ErrorKind::NotFound], false, &[]),
            op(
                "put",
                &[],
                false,
                &[(Argument, "creates"), (Argument, "replaces")],
            ),
            op("insert", &[ErrorKind::Conflict], false, &[]),
            op("delete", &[ErrorKind::NotFound], false, &[]),
            op("stamp", &[], false, &[]),
            op(
                "scan",
                &[],
                true,
                &[
                    (Argument, "prefix"),
                    (Argument, "no prefix"),
                    (Argument, "limit 0"),
                    (Argument, "limit reached"),
                ],
            ),
        ]
    }

    fn stored(&self) -> Vec<&'static str> {
        STORED_FEATURES.to_vec()
    }

    fn reset(&mut self) {}

    fn observe(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        state: Option<&Value>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut hits = Vec::new();
        let answer = match outcome {
            Outcome::Ok(v) => Some(v),
            Outcome::Error(_) => None,
        };
        match request.op.as_str() {
            "put" => match answer.map(|a| &a["created"]) {
                Some(Value::Bool(true)) => hits.push(("put", "creates")),
                Some(Value::Bool(false)) => hits.push(("put", "replaces")),
                _ => {}
            },
            "scan" => {
                let prefix = request.args["prefix"].as_str().unwrap_or("");
                hits.push((
                    "scan",
                    if prefix.is_empty() {
                        "no prefix"
                    } else {
                        "prefix"
                    },
                ));
                let limit = request.args["limit"].as_u64();
                if limit == Some(0) {
                    hits.push(("scan", "limit 0"));
                }
                let got = answer.and_then(Value::as_array).map(Vec::len);
                if limit.is_some_and(|l| l > 0 && got == usize::try_from(l).ok()) {
                    hits.push(("scan", "limit reached"));
                }
            }
            _ => {}
        }
        if let Some(state) = state {
            hits.extend(shapes(state).into_iter().map(|name| (STORED, name)));
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_found_at_any_depth() {
        let state = serde_json::json!({"a": [1, null], "b": {"c": "Zoë"}, "d": {}, "n": 18014398509481984u64});
        let mut got = shapes(&state);
        got.sort();
        assert_eq!(
            got,
            [
                "empty object or array",
                "non-ASCII text",
                "null inside an array",
                "number beyond 2^53"
            ]
        );
        assert_eq!(shapes(&serde_json::json!({"a": null})), ["null value"]);
        assert_eq!(shapes(&Value::Null), ["key removed"]);
        assert!(shapes(&serde_json::json!({"a": [1, 2], "s": "abc"})).is_empty());
    }
}
