//! The documents the diff benches compare (`benches/diff.rs` in time, `benches/instructions.rs`
//! in instructions): conversation-like documents of about 10 KB as two stores write them, a
//! copy with a few divergences, and the rules that make the stores' forms equal.

use serde_json::{json, Value};

/// How a store writes the same conversation.
#[derive(Clone, Copy, PartialEq)]
pub enum Store {
    /// Milliseconds and `Z`; read receipts in reading order; never-edited messages have no
    /// `edited_at`.
    Legacy,
    /// Microseconds and `+00:00`; read receipts in another order; `edited_at` is null.
    Candidate,
}

/// A conversation of `messages` messages, about 10 KB at 56, as `store` returns it.
pub fn conversation(messages: usize, store: Store) -> Value {
    let participants: Vec<Value> = (0..8)
        .map(|p| json!({"id": format!("u{p}"), "name": format!("Zoë {p}")}))
        .collect();
    let messages: Vec<Value> = (0..messages)
        .map(|m| {
            let mut read_by: Vec<String> = (0..m % 5).map(|r| format!("u{r}")).collect();
            let created_at = match store {
                Store::Legacy => format!("2024-03-01T10:{:02}:00.123Z", m % 60),
                Store::Candidate => {
                    read_by.reverse();
                    format!("2024-03-01T10:{:02}:00.123000+00:00", m % 60)
                }
            };
            let mut message = json!({
                "id": format!("m{m}"),
                "author": format!("u{}", m % 8),
                "created_at": created_at,
                "text": format!("message {m}: bonjour à tous"),
                "read_by": read_by,
                "files": [{"index": 0, "name": "a.pdf", "size": 1234 + m}],
            });
            if store == Store::Candidate {
                message["edited_at"] = Value::Null;
            }
            message
        })
        .collect();
    json!({"id": "c1", "subject": "Relation A-B", "participants": participants, "messages": messages, "archived": false})
}

pub fn with_divergences(base: &Value) -> Value {
    let mut v = base.clone();
    let messages = v["messages"].as_array_mut().unwrap();
    messages[3]["text"] = json!("edited");
    messages.remove(10);
    let moved = messages.remove(20);
    messages.insert(25, moved);
    v
}

/// The rules a replay applies between the two stores' forms.
pub const RULES: &str = r#"
[[rule]]
path = "$.messages[*].created_at"
precision = "ms"

[[rule]]
path = "$.messages[*].read_by"
unordered = true

[[rule]]
path = "$.messages[*].*"
null_equals_missing = true
"#;
