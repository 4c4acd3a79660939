//! Keys and batch dumps of a declared SQL target (`[keys]`, `[dump]`): what both drivers
//! share once their rows are read into the value model.

use super::Shape;
use cutover::targets::{Dumped, InfraError, KeyOrder};
use serde_json::Value;
use std::collections::HashMap;

/// A range bound or count bound to a wrapping statement, by the key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    /// A key compared by its bytes.
    Text(String),
    /// A key or count bound as `BIGINT`.
    Integer(i64),
}

impl Bound {
    /// The key bound in `order`: an integer key as `BIGINT`.
    pub(crate) fn of(order: KeyOrder, key: &str) -> Result<Bound, InfraError> {
        match order {
            KeyOrder::Bytes => Ok(Bound::Text(key.to_string())),
            KeyOrder::Integer => key.parse().map(Bound::Integer).map_err(|_| {
                InfraError::Other(format!("key `{key}` is not a BIGINT (order `integer`)"))
            }),
        }
    }
}

/// A row of a batch dump: its key, and its state without the key column (or why the value
/// model refuses a value of it).
pub(crate) type Keyed = (String, Result<Value, String>);

/// A key read from a statement, as text: a string as it is, an integer in decimal.
pub(crate) fn key_text(value: Value) -> Result<String, String> {
    match value {
        Value::String(key) => Ok(key),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!("expected a text or an integer, found {other}")),
    }
}

/// A dumped row's key (`found`, the value of column `column`) and its state without it.
pub(crate) fn keyed(
    found: Value,
    column: &str,
    state: Result<Value, String>,
) -> Result<Keyed, InfraError> {
    let key = key_text(found)
        .map_err(|e| InfraError::Other(format!("[dump]: column `{column}`: {e}")))?;
    let state = state.map(|state| match state {
        Value::Object(mut map) => {
            map.shift_remove(column);
            Value::Object(map)
        }
        other => other,
    });
    Ok((key, state))
}

/// What one statement of a batch dump found for each key it answered, in its shape: the
/// first row (`row`), the rows in statement order (`rows`) or the first value of the first
/// row (`scalar`); a key with a row the value model refuses is unreadable.
pub(crate) fn fold(shape: Shape, rows: Vec<Keyed>) -> HashMap<String, Dumped> {
    let mut found: HashMap<String, Dumped> = HashMap::new();
    for (key, state) in rows {
        let Some(entry) = found.get_mut(&key) else {
            let first = match state {
                Err(why) => Dumped::Unreadable(why),
                Ok(row) if shape == Shape::Rows => Dumped::State(Value::Array(vec![row])),
                Ok(row) => Dumped::State(scalar(shape, row)),
            };
            found.insert(key, first);
            continue;
        };
        match (state, entry) {
            (_, Dumped::Unreadable(_)) => {}
            (Err(why), entry) => *entry = Dumped::Unreadable(why),
            (Ok(row), Dumped::State(Value::Array(rows))) if shape == Shape::Rows => rows.push(row),
            (Ok(_), _) => {}
        }
    }
    found
}

/// A row as the state of its shape: itself, or its first value (`scalar`).
fn scalar(shape: Shape, row: Value) -> Value {
    match (shape, row) {
        (Shape::Scalar, Value::Object(map)) => {
            map.into_iter().next().map_or(Value::Null, |(_, v)| v)
        }
        (_, row) => row,
    }
}

/// Whether a statement found something for a key (as `[state]`: a row, or rows).
pub(crate) fn is_found(dumped: &Dumped) -> bool {
    match dumped {
        Dumped::State(state) => !(state.is_null() || state.as_array().is_some_and(Vec::is_empty)),
        Dumped::Unreadable(_) => true,
    }
}

/// What a key with nothing found is, as `[state]` tells it: `[]` for `rows`, else `null`.
pub(crate) fn nothing(shape: Shape) -> Dumped {
    match shape {
        Shape::Rows => Dumped::State(Value::Array(Vec::new())),
        _ => Dumped::State(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(key: &str, state: Value) -> Keyed {
        (key.to_string(), Ok(state))
    }

    #[test]
    fn rows_fold_into_each_keys_state_in_its_shape() {
        let rows = || {
            vec![
                row("a", json!({"v": 1, "w": 2})),
                row("b", json!({"v": 3})),
                row("a", json!({"v": 4})),
                (
                    "c".to_string(),
                    Err("no canonical form for type INTERVAL".to_string()),
                ),
                row("c", json!({"v": 5})),
            ]
        };
        let found = fold(Shape::Rows, rows());
        assert_eq!(
            found["a"],
            Dumped::State(json!([{"v": 1, "w": 2}, {"v": 4}]))
        );
        assert_eq!(found["b"], Dumped::State(json!([{"v": 3}])));
        assert!(matches!(&found["c"], Dumped::Unreadable(why) if why.contains("INTERVAL")));
        let found = fold(Shape::Row, rows());
        assert_eq!(found["a"], Dumped::State(json!({"v": 1, "w": 2})));
        assert!(matches!(found["c"], Dumped::Unreadable(_)));
        let found = fold(Shape::Scalar, rows());
        assert_eq!(found["a"], Dumped::State(json!(1)));
        assert!(!found.contains_key("d"));
        assert!(!is_found(&nothing(Shape::Rows)) && !is_found(&nothing(Shape::Row)));
    }

    #[test]
    fn a_dumped_rows_key_is_its_text_and_leaves_the_state() {
        let (key, state) = keyed(json!(12), "id", Ok(json!({"id": 12, "a": 1, "b": 2}))).unwrap();
        assert_eq!(key, "12");
        assert_eq!(state.unwrap().to_string(), r#"{"a":1,"b":2}"#);
        assert!(keyed(json!(1.5), "id", Ok(json!({}))).is_err());
        assert_eq!(
            Bound::of(KeyOrder::Integer, "-3").unwrap(),
            Bound::Integer(-3)
        );
        assert!(Bound::of(KeyOrder::Integer, "x").is_err());
    }
}
