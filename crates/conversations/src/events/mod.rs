//! The domain events both repositories publish after a successful write: derived once,
//! here, from the parsed [`Command`] and the write's answer, so the two repositories publish
//! exactly the same events for the same behaviour (as [`super::change`] is one service code
//! for both). A write that fails publishes nothing.
//!
//! Each event's payload holds the `conversation_id` and the fields that say what happened,
//! taken from the request's arguments, its recorded clock and the answer (an attachment's
//! index, a count of receipts): never the wall clock. [`Publisher`] sends them to NATS on
//! `PREFIX.<event name>`; [`Defect`] names the planted publication bugs of the PostgreSQL
//! repository.

mod defect;
mod publisher;

pub use defect::Defect;
pub use publisher::Publisher;

use super::model::{format_time, parse_time};
use super::ops::{Change, Command, WriteOp};
use cutover::cassette::Event;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The events a successful write publishes, in order: one per write, and one per change of
/// an `update_conversation`, in the order of its changes.
pub fn of(c: &Command, op: &WriteOp, answer: &Value) -> Vec<Event> {
    let id = c.id();
    let now = format_time(c.at);
    let one = match op {
        WriteOp::CreateConversation(new) => {
            let conv = &new.conversation;
            let created = parse_time(&conv.created_at).map_or(conv.created_at.clone(), format_time);
            let participants: Vec<&str> = conv
                .participants
                .iter()
                .map(|p| p.identity_id.as_str())
                .collect();
            event(
                id,
                "conversation_created",
                json!({
                    "kind": conv.kind.as_str(), "subject": conv.subject,
                    "created_at": created, "participants": participants,
                }),
            )
        }
        WriteOp::AddParticipant(p) => participant_added(id, &p.identity_id, &p.role, &now),
        WriteOp::RemoveParticipant(p) => event(
            id,
            "participant_removed",
            json!({ "identity_id": p.identity_id }),
        ),
        WriteOp::SetRole(s) => role_changed(id, &s.identity_id, &s.role),
        WriteOp::PostMessage(m) => message_posted(id, &m.message_id, &m.author_id, &now),
        WriteOp::EditMessage(e) => event(
            id,
            "message_edited",
            json!({ "message_id": e.message_id, "edited_at": now }),
        ),
        WriteOp::DeleteMessage(d) => {
            event(id, "message_deleted", json!({ "message_id": d.message_id }))
        }
        WriteOp::MarkRead(r) => message_read(id, &r.message_id, &r.identity_id),
        WriteOp::MarkAllRead(p) => event(
            id,
            "messages_read",
            json!({ "identity_id": p.identity_id, "marked": answer.get("marked") }),
        ),
        WriteOp::Attach(a) => {
            let index = answer.get("index").cloned().unwrap_or(Value::Null);
            attachment_added(id, &a.message_id, index, &a.name, a.size)
        }
        WriteOp::PromoteAttachment(p) => event(
            id,
            "attachment_promoted",
            json!({ "message_id": p.message_id, "index": p.index, "storage_key": p.storage_key }),
        ),
        WriteOp::Rename(r) => renamed(id, &r.subject),
        WriteOp::Archive => event(id, "conversation_archived", json!({})),
        WriteOp::Unarchive => event(id, "conversation_unarchived", json!({})),
        WriteOp::DeleteConversation => event(id, "conversation_deleted", json!({})),
        WriteOp::UpdateConversation(u) => return updated(id, &now, &u.changes, answer),
    };
    vec![one]
}

/// The events of `update_conversation`: each change's, named and shaped as its targeted
/// write's. An attachment's index is read from the saved conversation the write answers:
/// the attachments a change adds are the last of their message's temporary attachments.
fn updated(id: &str, now: &str, changes: &[Change], answer: &Value) -> Vec<Event> {
    let mut attaching: HashMap<&str, usize> = HashMap::new();
    for change in changes {
        if let Change::Attach(a) = change {
            *attaching.entry(a.message_id.as_str()).or_default() += 1;
        }
    }
    let mut attached: HashMap<&str, usize> = HashMap::new();
    let mut events = Vec::with_capacity(changes.len());
    for change in changes {
        events.push(match change {
            Change::Rename(r) => renamed(id, &r.subject),
            Change::AddParticipant(p) => participant_added(id, &p.identity_id, &p.role, now),
            Change::SetRole(s) => role_changed(id, &s.identity_id, &s.role),
            Change::PostMessage(m) => message_posted(id, &m.message_id, &m.author_id, now),
            Change::MarkRead(r) => message_read(id, &r.message_id, &r.identity_id),
            Change::Attach(a) => {
                let message = a.message_id.as_str();
                let nth = attached.entry(message).or_default();
                let index = new_attachment_index(answer, message, attaching[message], *nth);
                *nth += 1;
                attachment_added(id, message, index, &a.name, a.size)
            }
        });
    }
    events
}

/// The index of the `nth` of the `added` temporary attachments last added to a message of
/// the saved conversation `saved`; null if it does not hold them.
fn new_attachment_index(saved: &Value, message_id: &str, added: usize, nth: usize) -> Value {
    let temps = saved
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|ms| {
            ms.iter()
                .find(|m| m.get("id").and_then(Value::as_str) == Some(message_id))
        })
        .and_then(|m| m.get("temp_attachments"))
        .and_then(Value::as_array);
    temps
        .and_then(|t| {
            t.len()
                .checked_sub(added)
                .and_then(|first| t.get(first + nth))
        })
        .and_then(|t| t.get("index"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// An event about conversation `id`: `fields` after its `conversation_id`.
fn event(id: &str, name: &str, fields: Value) -> Event {
    let mut payload = Map::new();
    payload.insert("conversation_id".into(), Value::String(id.into()));
    if let Value::Object(fields) = fields {
        payload.extend(fields);
    }
    Event::new(name, Value::Object(payload))
}

fn participant_added(id: &str, identity: &str, role: &str, now: &str) -> Event {
    let fields = json!({ "identity_id": identity, "role": role, "joined_at": now });
    event(id, "participant_added", fields)
}

fn role_changed(id: &str, identity: &str, role: &str) -> Event {
    let fields = json!({ "identity_id": identity, "role": role });
    event(id, "participant_role_changed", fields)
}

fn message_posted(id: &str, message: &str, author: &str, now: &str) -> Event {
    let fields = json!({ "message_id": message, "author_id": author, "created_at": now });
    event(id, "message_posted", fields)
}

fn message_read(id: &str, message: &str, identity: &str) -> Event {
    let fields = json!({ "message_id": message, "identity_id": identity });
    event(id, "message_read", fields)
}

fn attachment_added(id: &str, message: &str, index: Value, name: &str, size: u64) -> Event {
    let fields = json!({ "message_id": message, "index": index, "name": name, "size": size });
    event(id, "attachment_added", fields)
}

fn renamed(id: &str, subject: &Option<String>) -> Event {
    event(id, "conversation_renamed", json!({ "subject": subject }))
}

#[cfg(test)]
mod tests;
