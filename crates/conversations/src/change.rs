//! `update_conversation`: the read-modify-write services really do. A service loads the
//! whole conversation, changes it in memory with this domain code, and saves it whole. Each
//! repository supplies only the load and the save (MongoDB replaces the document under an
//! optimistic version, PostgreSQL rewrites the normalized rows in one transaction holding
//! the conversation's row lock); between a load and its save is where a lost update lives.
//!
//! The checks are those of the targeted writes of the same name, in the same order, so a
//! change raises the error kind its targeted write raises.

use super::model::{format_time, Conversation, Message, Participant};
use super::ops::Change;
use super::Failure;
use chrono::{DateTime, Utc};

/// Applies `changes` to `conversation` at the request's clock `at`.
pub fn apply(
    conversation: &mut Conversation,
    changes: &[Change],
    at: DateTime<Utc>,
) -> Result<(), Failure> {
    let now = format_time(at);
    for change in changes {
        apply_one(conversation, change, &now)?;
    }
    Ok(())
}

fn apply_one(c: &mut Conversation, change: &Change, now: &str) -> Result<(), Failure> {
    match change {
        Change::Rename(r) => c.subject = r.subject.clone(),
        Change::AddParticipant(p) => {
            if takes_part(c, &p.identity_id) {
                return Err(Failure::conflict(format!(
                    "{} already takes part",
                    p.identity_id
                )));
            }
            c.participants.push(Participant {
                identity_id: p.identity_id.clone(),
                name: p.name.clone(),
                role: p.role.clone(),
                joined_at: now.to_string(),
            });
        }
        Change::SetRole(s) => {
            let found = c
                .participants
                .iter_mut()
                .find(|p| p.identity_id == s.identity_id)
                .ok_or_else(|| Failure::not_found(format!("participant {}", s.identity_id)))?;
            found.role = s.role.clone();
        }
        Change::PostMessage(m) => {
            if !takes_part(c, &m.author_id) {
                return Err(Failure::invalid(format!(
                    "{} does not take part",
                    m.author_id
                )));
            }
            if c.messages.iter().any(|x| x.id == m.message_id) {
                return Err(Failure::conflict(format!(
                    "message {} exists",
                    m.message_id
                )));
            }
            c.messages.push(Message {
                id: m.message_id.clone(),
                author_id: m.author_id.clone(),
                text: Some(m.text.clone()),
                created_at: now.to_string(),
                edited_at: None,
                deleted: false,
                read_by: Vec::new(),
                temp_attachments: Vec::new(),
                stored_files: Vec::new(),
            });
        }
        Change::MarkRead(r) => {
            let reader_takes_part = takes_part(c, &r.identity_id);
            let found = message_mut(c, &r.message_id)?;
            if !reader_takes_part {
                return Err(Failure::invalid(format!(
                    "{} does not take part",
                    r.identity_id
                )));
            }
            if !found.read_by.contains(&r.identity_id) {
                found.read_by.push(r.identity_id.clone());
            }
        }
        Change::Attach(a) => {
            let found = message_mut(c, &a.message_id)?;
            if found.deleted {
                return Err(Failure::invalid(format!(
                    "message {} is deleted",
                    a.message_id
                )));
            }
            let index = found.next_index();
            found.temp_attachments.push(super::model::Attachment {
                index,
                name: a.name.clone(),
                size: a.size,
            });
        }
    }
    Ok(())
}

fn takes_part(c: &Conversation, identity: &str) -> bool {
    c.participants.iter().any(|p| p.identity_id == identity)
}

fn message_mut<'c>(c: &'c mut Conversation, id: &str) -> Result<&'c mut Message, Failure> {
    c.messages
        .iter_mut()
        .find(|m| m.id == id)
        .ok_or_else(|| Failure::not_found(format!("message {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConversationKind;
    use cutover::cassette::ErrorKind;

    fn conversation() -> Conversation {
        serde_json::from_value(serde_json::json!({
            "id": "c1", "kind": "group", "created_at": "2024-01-01T00:00:00.000Z",
            "participants": [{ "identity_id": "u1", "name": "A", "role": "admin",
                               "joined_at": "2024-01-01T00:00:00.000Z" }],
            "messages": [{ "id": "m1", "author_id": "u1", "text": "hi",
                           "created_at": "2024-01-01T00:00:01.000Z",
                           "temp_attachments": [{ "index": 2, "name": "a", "size": 1 }] }]
        }))
        .expect("a conversation")
    }

    fn kind(r: Result<(), Failure>) -> Option<ErrorKind> {
        match r {
            Ok(()) => None,
            Err(Failure::Domain(kind, _)) => Some(kind),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn changes_apply_in_order_and_fail_as_their_targeted_writes() {
        let at = DateTime::from_timestamp_millis(1_704_067_300_000).expect("a time");
        let update: crate::ops::Update = serde_json::from_value(serde_json::json!({ "changes": [
            { "add_participant": { "identity_id": "u2", "name": "B", "role": "member" } },
            { "post_message": { "message_id": "m2", "author_id": "u2", "text": "yo" } },
            { "mark_read": { "message_id": "m1", "identity_id": "u2" } },
            { "mark_read": { "message_id": "m1", "identity_id": "u2" } },
            { "attach": { "message_id": "m1", "name": "b", "size": 2 } },
            { "rename": { "subject": "S" } }
        ]}))
        .expect("the changes parse");
        let mut c = conversation();
        apply(&mut c, &update.changes, at).expect("valid changes");
        assert_eq!(c.kind, ConversationKind::Group);
        assert_eq!(c.participants[1].joined_at, "2024-01-01T00:01:40.000Z");
        assert_eq!(c.messages[1].author_id, "u2");
        assert_eq!(c.messages[0].read_by, ["u2"]);
        assert_eq!(c.messages[0].temp_attachments[1].index, 3);
        assert_eq!(c.subject.as_deref(), Some("S"));

        let fails = |change: serde_json::Value| {
            let change: Change = serde_json::from_value(change).expect("a change");
            kind(apply(&mut conversation(), &[change], at))
        };
        use serde_json::json;
        assert_eq!(
            fails(json!({ "add_participant": { "identity_id": "u1", "name": "A", "role": "x" } })),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(
            fails(json!({ "set_role": { "identity_id": "u9", "role": "x" } })),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            fails(json!({ "post_message": { "message_id": "m9", "author_id": "u9", "text": "" } })),
            Some(ErrorKind::Invalid)
        );
        assert_eq!(
            fails(json!({ "post_message": { "message_id": "m1", "author_id": "u1", "text": "" } })),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(
            fails(json!({ "mark_read": { "message_id": "m9", "identity_id": "u9" } })),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            fails(json!({ "mark_read": { "message_id": "m1", "identity_id": "u9" } })),
            Some(ErrorKind::Invalid)
        );
        assert_eq!(
            fails(json!({ "attach": { "message_id": "m9", "name": "x", "size": 0 } })),
            Some(ErrorKind::NotFound)
        );
    }
}
