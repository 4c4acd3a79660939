//! Dotted paths into JSON values (`id`, `task.id`, `$.task.id`): where a generated key, a
//! list element's identity or a sort key sits.

use serde_json::Value;

/// The value at `path` in `value`: members by name, array elements by index; `None` if any
/// step is missing. A leading `$.` is allowed.
pub fn get<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let path = path.strip_prefix("$.").unwrap_or(path);
    path.split('.').try_fold(value, |v, step| match v {
        Value::Object(map) => map.get(step),
        Value::Array(items) => items.get(step.parse::<usize>().ok()?),
        _ => None,
    })
}

/// A key as the cassette writes it: a string as is, a number as its text; `None` for
/// anything else.
pub fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_members_and_elements() {
        let v = json!({"task": {"id": 7, "tags": ["a", "b"]}});
        assert_eq!(get(&v, "task.id"), Some(&json!(7)));
        assert_eq!(get(&v, "$.task.tags.1"), Some(&json!("b")));
        assert_eq!(get(&v, "task.nope"), None);
        assert_eq!(get(&v, "task.id.x"), None);
        assert_eq!(key_text(&json!(7)).as_deref(), Some("7"));
        assert_eq!(key_text(&json!("")), None);
        assert_eq!(key_text(&json!(null)), None);
    }
}
