//! A broker message read as an event: its name from the subject, its key from the payload.

use cutover::cassette::Event;
use serde_json::Value;

/// The event a message on `PREFIX.NAME` carrying `payload` is, and the aggregate it names
/// by the field at `key`. A payload that is not JSON, or names no aggregate, is kept as a
/// keyless event whose name says so, never dropped.
pub(crate) fn read(name: &str, payload: &[u8], key: &[String]) -> (Option<String>, Event) {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        let text = String::from_utf8_lossy(payload).into_owned();
        let name = format!("{name} (payload not JSON)");
        return (None, Event::new(name, Value::String(text)));
    };
    match field(&value, key) {
        Some(aggregate) => (Some(aggregate), Event::new(name, value)),
        None => {
            let name = format!("{name} (no key field `{}`)", key.join("."));
            (None, Event::new(name, value))
        }
    }
}

/// The field at the dotted path, as a key: a string, or a number's digits.
fn field(value: &Value, path: &[String]) -> Option<String> {
    let found = path.iter().try_fold(value, |v, step| v.get(step))?;
    match found {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_events_under_their_key_or_keyless_with_a_clear_name() {
        let key = vec!["conversation".to_string(), "id".to_string()];
        let (k, event) = read("posted", br#"{"conversation":{"id":"c1"}}"#, &key);
        assert_eq!((k.as_deref(), event.name.as_str()), (Some("c1"), "posted"));
        let (k, event) = read("posted", br#"{"other":1}"#, &key);
        assert_eq!(k, None);
        assert_eq!(event.name, "posted (no key field `conversation.id`)");
        let (k, event) = read("posted", b"oops", &key);
        assert_eq!(k, None);
        assert_eq!(event.payload, json!("oops"));
        assert_eq!(event.name, "posted (payload not JSON)");
    }
}
