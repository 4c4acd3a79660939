//! The conversations domain's own coverage features: those its declaration
//! (`domain.toml`) names in `features` and `stored`, which only this domain's code can tell
//! (a participant absent from a stored conversation, a message already deleted, a mark that
//! marks none; and the shapes of stored conversations: null and empty fields, deleted and
//! edited messages, attachments, equal creation times). Everything its argument classes
//! and lists make worth counting (bounds equal to stored values, limits and offsets at the
//! ends, case and `%`/`_` in search text, absent ids, ties on the declared order) is counted
//! by the declaration's own code, as for any team's domain ([`cutover::declaration`]).
//!
//! What a read's arguments mean against stored data (an offset past the end, a bound equal
//! to a stored `created_at`) is judged on the states the writes before it left, which a
//! replay reads back in cassette order.

use super::model::parse_time;
use super::ops::{self, Command, Identity, Operation, ReadOp, SetRole, WriteOp};
use cutover::cassette::{Outcome, Request};
use cutover::coverage::STORED;
use cutover::declaration::Observer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What a stored conversation's state tells the features of later requests.
#[derive(Debug, Clone, Default)]
struct Known {
    /// `created_at`, in ms since the epoch.
    created_ms: i64,
    /// Whether the last message is deleted.
    last_deleted: bool,
    /// Ids of deleted messages.
    deleted: BTreeSet<String>,
    /// Ids of every message.
    message_ids: BTreeSet<String>,
    /// Identity ids of the participants.
    participants: BTreeSet<String>,
    archived: bool,
}

/// The conversations domain's features, with what the writes so far have stored.
#[derive(Debug, Default)]
pub struct ConversationFeatures {
    known: BTreeMap<String, Known>,
    /// How many stored conversations were created at each ms.
    created: BTreeMap<i64, usize>,
}

/// A message id a stored conversation does not have: the `not_found` of a missing message,
/// not of a missing conversation.
fn absent_message(known: Option<&Known>, id: &str) -> Option<&'static str> {
    let absent = known.is_some_and(|k| !k.message_ids.contains(id));
    absent.then_some("absent message of a stored conversation")
}

fn has_like_meta(text: &str) -> bool {
    text.contains(['%', '_', '\\'])
}

fn ms(text: &str) -> Option<i64> {
    parse_time(text).ok().map(|t| t.timestamp_millis())
}

/// Whether two neighbours of a list answer share `field` (a tie the declared order must
/// break).
fn tie(answer: &Value, field: &str) -> bool {
    let Value::Array(items) = answer else {
        return false;
    };
    items
        .windows(2)
        .any(|w| w[0].get(field).is_some() && w[0].get(field) == w[1].get(field))
}

impl ConversationFeatures {
    fn stored_features(
        &mut self,
        key: &str,
        state: &Value,
        hits: &mut Vec<(&'static str, &'static str)>,
    ) {
        if let Some(old) = self.known.remove(key) {
            if let Some(n) = self.created.get_mut(&old.created_ms) {
                *n -= 1;
            }
        }
        if state.is_null() {
            return;
        }
        let messages = state["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut stored = |name| hits.push((STORED, name));
        if state["subject"].is_null() {
            stored("subject null");
        }
        if state["participants"].as_array().is_none_or(Vec::is_empty) {
            stored("no participants");
        }
        if messages.is_empty() {
            stored("no messages");
        }
        if state["relation"].is_object() {
            stored("relation conversation");
        }
        let any = |f: &dyn Fn(&Value) -> bool| messages.iter().any(f);
        if any(&|m| m["deleted"] == true) {
            stored("deleted message");
        }
        if any(&|m| !m["edited_at"].is_null()) {
            stored("edited message");
        }
        if any(&|m| m["read_by"].as_array().is_none_or(Vec::is_empty)) {
            stored("message without read receipts");
        }
        if any(&|m| {
            m["temp_attachments"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        }) {
            stored("temporary attachment");
        }
        if any(&|m| m["stored_files"].as_array().is_some_and(|a| !a.is_empty())) {
            stored("stored file");
        }
        if tie(&state["messages"], "created_at") {
            stored("two messages created at the same ms");
        }
        let created_ms = state["created_at"]
            .as_str()
            .and_then(ms)
            .unwrap_or_default();
        let same = self.created.entry(created_ms).or_default();
        *same += 1;
        if *same > 1 {
            stored("two conversations created at the same ms");
        }
        self.known.insert(
            key.to_string(),
            Known {
                created_ms,
                last_deleted: messages.last().is_some_and(|m| m["deleted"] == true),
                deleted: messages
                    .iter()
                    .filter(|m| m["deleted"] == true)
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect(),
                archived: state["archived"] == true,
                message_ids: messages
                    .iter()
                    .filter_map(|m| m["id"].as_str().map(String::from))
                    .collect(),
                participants: state["participants"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|p| p["identity_id"].as_str().map(String::from))
                    .collect(),
            },
        );
    }

    fn write(&self, command: &Command, op: &WriteOp, answer: &Value) -> Vec<&'static str> {
        let known = self.known.get(command.id());
        let mut hits = Vec::new();
        match op {
            WriteOp::CreateConversation(new) => {
                let c = &new.conversation;
                hits.extend(c.relation.as_ref().map(|_| "relation conversation"));
                hits.extend(c.subject.is_none().then_some("subject null"));
                hits.extend(c.participants.is_empty().then_some("no participants"));
                hits.extend((!c.messages.is_empty()).then_some("with messages"));
            }
            WriteOp::PostMessage(p) => {
                hits.extend(has_like_meta(&p.text).then_some("LIKE metacharacter"));
            }
            WriteOp::DeleteMessage(m) => {
                let deleted = known.is_some_and(|k| k.deleted.contains(&m.message_id));
                hits.extend(deleted.then_some("already deleted"));
                hits.extend(absent_message(known, &m.message_id));
            }
            WriteOp::RemoveParticipant(Identity { identity_id })
            | WriteOp::SetRole(SetRole { identity_id, .. }) => {
                let absent = known.is_some_and(|k| !k.participants.contains(identity_id));
                hits.extend(absent.then_some("absent participant of a stored conversation"));
            }
            WriteOp::MarkAllRead(_) => {
                hits.extend((answer["marked"] == 0).then_some("marks none"));
            }
            WriteOp::Archive => hits.extend(
                known
                    .is_some_and(|k| k.archived)
                    .then_some("already archived"),
            ),
            WriteOp::Unarchive => {
                hits.extend(known.is_some_and(|k| !k.archived).then_some("not archived"))
            }
            WriteOp::UpdateConversation(u) => match u.changes.len() {
                0 => hits.push("no changes"),
                1 => {}
                _ => hits.push("several changes"),
            },
            WriteOp::AddParticipant(_)
            | WriteOp::EditMessage(_)
            | WriteOp::Rename(_)
            | WriteOp::MarkRead(_)
            | WriteOp::Attach(_)
            | WriteOp::PromoteAttachment(_)
            | WriteOp::DeleteConversation => {}
        }
        hits
    }

    fn read(&self, command: &Command, op: &ReadOp, answer: Option<&Value>) -> Vec<&'static str> {
        let known = self.known.get(command.id());
        let mut hits = Vec::new();
        let mut when = |yes: bool, name: &'static str| {
            if yes {
                hits.push(name);
            }
        };
        match op {
            ReadOp::CountMessages => when(answer == Some(&Value::from(0)), "zero"),
            ReadOp::UnreadTotal(_) => when(answer == Some(&Value::from(0)), "zero"),
            ReadOp::MessageById(m) => {
                when(
                    answer.is_some_and(|m| m["deleted"] == true),
                    "deleted message",
                );
                hits.extend(absent_message(known, &m.message_id));
            }
            ReadOp::LastMessage => when(
                known.is_some_and(|k| k.last_deleted),
                "latest message deleted",
            ),
            ReadOp::MessagesPage(_) => {
                let deleted = answer
                    .and_then(Value::as_array)
                    .is_some_and(|ms| ms.iter().any(|m| m["deleted"] == true));
                when(deleted, "deleted message");
            }
            ReadOp::FindByIds(ids) => {
                when(ids.ids.is_empty(), "no ids");
                let distinct: BTreeSet<&String> = ids.ids.iter().collect();
                when(distinct.len() < ids.ids.len(), "repeated id");
            }
            ReadOp::FindByRelation(r) => {
                when(r.project_a > r.project_b, "projects in reverse order")
            }
            ReadOp::FindById
            | ReadOp::Exists
            | ReadOp::FindByDateRange(_)
            | ReadOp::FindByParticipant(_)
            | ReadOp::SearchMessages(_)
            | ReadOp::FindArchived(_)
            | ReadOp::ListParticipants
            | ReadOp::UnreadCounts
            | ReadOp::HasUnread(_)
            | ReadOp::ReadReceipts(_)
            | ReadOp::StoredFiles
            | ReadOp::TempAttachments
            | ReadOp::ConversationsOfProject(_)
            | ReadOp::CountConversations => {}
        }
        hits
    }
}

impl Observer for ConversationFeatures {
    fn reset(&mut self) {
        self.known.clear();
        self.created.clear();
    }

    fn observe(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        state: Option<&Value>,
    ) -> Vec<(String, String)> {
        // A request the domain refuses (bad arguments) exercises no feature of its own.
        let Ok(command) = ops::parse(request) else {
            return Vec::new();
        };
        let answer = match outcome {
            Outcome::Ok(v) => Some(v),
            Outcome::Error(_) => None,
        };
        let op = command.op.name();
        let mut hits: Vec<(&'static str, &'static str)> = match &command.op {
            Operation::Write(w) => self.write(&command, w, answer.unwrap_or(&Value::Null)),
            Operation::Read(r) => self.read(&command, r, answer),
        }
        .into_iter()
        .map(|name| (op, name))
        .collect();
        if let (Some(key), Some(state)) = (&request.key, state) {
            self.stored_features(key, state, &mut hits);
        }
        hits.into_iter()
            .map(|(row, name)| (row.to_string(), name.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use cutover::cassette::{ErrorKind, Kind};
    use cutover::coverage::Tally;
    use cutover::domain::DomainKit;
    use serde_json::json;

    fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
        serde_json::from_value(json!({
            "seq": seq, "key": key, "op": op, "kind": kind, "args": args,
            "at": "2024-01-08T12:00:00.000Z"
        }))
        .unwrap()
    }

    fn conversation(id: &str, created_at: &str) -> Value {
        json!({
            "id": id, "kind": "group", "relation": null, "subject": null,
            "created_at": created_at, "archived": false,
            "participants": [{"identity_id": "u1", "name": "Ana", "role": "admin",
                              "joined_at": created_at}],
            "messages": []
        })
    }

    fn count(tally: &Tally, op: &str, name: &str) -> u64 {
        let c = tally.coverage();
        let row = c.rows.iter().find(|r| r.op == op).unwrap();
        row.features.iter().find(|f| f.name == name).unwrap().count
    }

    /// Bounds are judged against what the writes before stored: equal, one ms off, or
    /// neither; a participant absent from a stored conversation is told from an absent
    /// conversation; a conversation deleted is forgotten.
    #[test]
    fn arguments_are_judged_against_the_stored_data() {
        let mut tally = Tally::new("conversations", crate::domain().features().unwrap());
        let ok = Outcome::Ok(json!(null));
        for (seq, id, at) in [
            (1, "c1", "2024-01-01T10:00:00.000Z"),
            (2, "c2", "2024-01-01T10:00:00.000Z"),
        ] {
            let c = conversation(id, at);
            let create = request(
                seq,
                Some(id),
                "create_conversation",
                Kind::Write,
                json!({"conversation": c}),
            );
            tally.observe(&create, Some(&ok), Some(&c));
        }
        assert_eq!(
            count(&tally, STORED, "two conversations created at the same ms"),
            1
        );
        let range = |seq, from: &str, to: &str| {
            request(
                seq,
                None,
                "find_by_date_range",
                Kind::Read,
                json!({"from": from, "to": to}),
            )
        };
        let answer = Outcome::Ok(json!([
            {"id": "c1", "created_at": "2024-01-01T10:00:00.000Z"},
            {"id": "c2", "created_at": "2024-01-01T10:00:00.000Z"}
        ]));
        tally.observe(
            &range(3, "2024-01-01T00:00:00.000Z", "2024-01-01T10:00:00.000Z"),
            Some(&answer),
            None,
        );
        assert_eq!(
            count(
                &tally,
                "find_by_date_range",
                "to equals a stored created_at"
            ),
            1
        );
        assert_eq!(
            count(
                &tally,
                "find_by_date_range",
                "from equals a stored created_at"
            ),
            0
        );
        assert_eq!(count(&tally, "find_by_date_range", "tie on created_at"), 1);
        let empty = Outcome::Ok(json!([]));
        tally.observe(
            &range(4, "2024-01-01T10:00:00.001Z", "2024-01-02T00:00:00.000Z"),
            Some(&empty),
            None,
        );
        assert_eq!(
            count(
                &tally,
                "find_by_date_range",
                "from one step from a stored created_at"
            ),
            1
        );
        tally.observe(
            &range(5, "2024-01-02T00:00:00.000Z", "2024-01-01T00:00:00.000Z"),
            Some(&empty),
            None,
        );
        assert_eq!(count(&tally, "find_by_date_range", "from after to"), 1);
        assert_eq!(
            count(
                &tally,
                "find_by_date_range",
                "from one step from a stored created_at"
            ),
            1
        );

        let not_found = Outcome::error(ErrorKind::NotFound, "participant u9 not found");
        let remove = |seq, key| {
            request(
                seq,
                Some(key),
                "remove_participant",
                Kind::Write,
                json!({"identity_id": "u9"}),
            )
        };
        tally.observe(
            &remove(6, "c1"),
            Some(&not_found),
            Some(&conversation("c1", "2024-01-01T10:00:00.000Z")),
        );
        tally.observe(&remove(7, "c-none"), Some(&not_found), Some(&Value::Null));
        assert_eq!(
            count(
                &tally,
                "remove_participant",
                "absent participant of a stored conversation"
            ),
            1
        );
        assert_eq!(count(&tally, "remove_participant", "not_found"), 2);

        // c2 deleted: a bound on its time no longer equals a stored value.
        let delete = request(8, Some("c2"), "delete_conversation", Kind::Write, json!({}));
        tally.observe(&delete, Some(&ok), Some(&Value::Null));
        tally.observe(&delete, Some(&ok), Some(&Value::Null));
        let c1 = request(9, Some("c1"), "delete_conversation", Kind::Write, json!({}));
        tally.observe(&c1, Some(&ok), Some(&Value::Null));
        tally.observe(
            &range(10, "2024-01-01T10:00:00.000Z", "2024-01-03T00:00:00.000Z"),
            Some(&empty),
            None,
        );
        assert_eq!(
            count(
                &tally,
                "find_by_date_range",
                "from equals a stored created_at"
            ),
            0
        );
    }

    /// Every operation is declared, of its kind, and the declaration names no other.
    #[test]
    fn every_operation_is_declared() {
        let declared = cutover::declaration::Declaration::parse(crate::DECLARATION, "d").unwrap();
        for op in ops::WRITES {
            assert_eq!(declared.op(op).map(|o| o.kind), Some(Kind::Write), "{op}");
        }
        for op in ops::READS {
            assert_eq!(declared.op(op).map(|o| o.kind), Some(Kind::Read), "{op}");
        }
        assert_eq!(declared.ops.len(), ops::WRITES.len() + ops::READS.len());
    }
}
