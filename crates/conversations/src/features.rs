//! The conversations domain's coverage features ([`cutover::coverage::Domain`]): per
//! operation the error kinds a valid request can raise, whether it answers a list, and the
//! edges where a new repository tends to differ (bounds equal to stored values, limits and
//! offsets at the ends, case and LIKE metacharacters in search text, absent and repeated
//! ids, ties on a declared sort key); and the shapes of stored conversations (null and
//! empty fields, deleted and edited messages, attachments, equal creation times).
//!
//! What a read's arguments mean against stored data (an offset past the end, a bound equal
//! to a stored `created_at`) is judged on the states the writes before it left, which a
//! replay reads back in cassette order.

use super::model::parse_time;
use super::ops::{self, Command, Identity, Operation, ReadOp, SetRole, WriteOp};
use cutover::cassette::{ErrorKind, Outcome, Request};
use cutover::coverage::{Declared, Features, Group, STORED};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use ErrorKind::{Conflict, Invalid, NotFound};
use Group::{Argument, Data};

/// What a stored conversation's state tells the features of later requests.
#[derive(Debug, Clone, Default)]
struct Known {
    /// `created_at`, in ms since the epoch.
    created_ms: i64,
    /// Messages, deleted ones included.
    messages: usize,
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

fn declared(
    op: &'static str,
    errors: &[ErrorKind],
    list: bool,
    features: &[(Group, &'static str)],
) -> Declared {
    Declared {
        op: op.to_string(),
        errors: errors.to_vec(),
        list,
        features: features.iter().map(|(g, n)| (*g, n.to_string())).collect(),
    }
}

/// The declaration of the operation named `op` (every name of [`ops::WRITES`] and
/// [`ops::READS`] has one: tested).
fn declaration(op: &'static str) -> Option<Declared> {
    const UNICODE: (Group, &str) = (Argument, "non-ASCII text");
    const EMPTY_TEXT: (Group, &str) = (Argument, "empty text");
    const TIE: (Group, &str) = (Data, "tie on the sort key");
    const ABSENT_PARTICIPANT: (Group, &str) =
        (Argument, "absent participant of a stored conversation");
    const ABSENT_MESSAGE: (Group, &str) = (Argument, "absent message of a stored conversation");
    Some(match op {
        "create_conversation" => declared(
            op,
            &[Conflict],
            false,
            &[
                (Argument, "relation conversation"),
                (Argument, "subject null"),
                (Argument, "no participants"),
                (Argument, "with messages"),
            ],
        ),
        "add_participant" => declared(op, &[NotFound, Conflict], false, &[UNICODE, EMPTY_TEXT]),
        "remove_participant" | "set_role" => {
            declared(op, &[NotFound], false, &[ABSENT_PARTICIPANT])
        }
        "delete_conversation" | "promote_attachment" => declared(op, &[NotFound], false, &[]),
        "post_message" => declared(
            op,
            &[NotFound, Invalid, Conflict],
            false,
            &[UNICODE, EMPTY_TEXT, (Argument, "LIKE metacharacter")],
        ),
        "edit_message" => declared(op, &[NotFound, Invalid], false, &[UNICODE, EMPTY_TEXT]),
        "delete_message" => declared(
            op,
            &[NotFound],
            false,
            &[(Argument, "already deleted"), ABSENT_MESSAGE],
        ),
        "mark_read" | "attach" => declared(op, &[NotFound, Invalid], false, &[]),
        "mark_all_read" => declared(op, &[NotFound, Invalid], false, &[(Data, "marks none")]),
        "rename" => declared(
            op,
            &[NotFound],
            false,
            &[(Argument, "subject null"), EMPTY_TEXT, UNICODE],
        ),
        "archive" => declared(op, &[NotFound], false, &[(Argument, "already archived")]),
        "unarchive" => declared(op, &[NotFound], false, &[(Argument, "not archived")]),
        "update_conversation" => declared(
            op,
            &[NotFound, Conflict, Invalid],
            false,
            &[(Argument, "several changes"), (Argument, "no changes")],
        ),
        "find_by_id" => declared(op, &[NotFound], false, &[]),
        "message_by_id" => declared(
            op,
            &[NotFound],
            false,
            &[(Data, "deleted message"), ABSENT_MESSAGE],
        ),
        "find_by_relation" => declared(
            op,
            &[NotFound],
            false,
            &[(Argument, "projects in reverse order")],
        ),
        "exists" => declared(op, &[], false, &[(Argument, "absent conversation")]),
        "count_messages" => declared(op, &[NotFound], false, &[(Data, "zero")]),
        "list_participants" | "unread_counts" | "read_receipts" | "stored_files"
        | "temp_attachments" => declared(op, &[NotFound], true, &[]),
        "messages_page" => declared(
            op,
            &[NotFound],
            true,
            &[
                (Argument, "offset 0"),
                (Argument, "offset past the end"),
                (Argument, "limit 1"),
                (Argument, "limit past the end"),
                (Data, "deleted message"),
                TIE,
            ],
        ),
        "last_message" => declared(op, &[NotFound], false, &[(Data, "latest message deleted")]),
        "has_unread" => declared(op, &[NotFound, Invalid], false, &[]),
        "find_by_ids" => declared(
            op,
            &[],
            true,
            &[
                (Argument, "no ids"),
                (Argument, "absent id"),
                (Argument, "repeated id"),
            ],
        ),
        "find_by_date_range" => declared(
            op,
            &[],
            true,
            &[
                (Argument, "from equals a stored created_at"),
                (Argument, "to equals a stored created_at"),
                (Argument, "bound one ms from a stored created_at"),
                (Argument, "from after to"),
                TIE,
            ],
        ),
        "find_by_participant" => declared(op, &[], true, &[TIE]),
        "conversations_of_project" => declared(op, &[], true, &[]),
        "search_messages" => declared(
            op,
            &[],
            true,
            &[
                (Argument, "upper case"),
                UNICODE,
                (Argument, "LIKE metacharacter"),
                (Argument, "limit reached"),
            ],
        ),
        "unread_total" => declared(op, &[], false, &[(Data, "zero")]),
        "count_conversations" => declared(op, &[], false, &[]),
        "find_archived" => declared(op, &[], true, &[(Argument, "limit reached")]),
        _ => return None,
    })
}

/// The stored shapes counted after each write.
const STORED_FEATURES: [&str; 11] = [
    "subject null",
    "no participants",
    "no messages",
    "deleted message",
    "edited message",
    "message without read receipts",
    "temporary attachment",
    "stored file",
    "two messages created at the same ms",
    "two conversations created at the same ms",
    "relation conversation",
];

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
                messages: messages.len(),
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
        let text = |t: &str, hits: &mut Vec<&'static str>| {
            if t.is_empty() {
                hits.push("empty text");
            }
            if !t.is_ascii() {
                hits.push("non-ASCII text");
            }
        };
        match op {
            WriteOp::CreateConversation(new) => {
                let c = &new.conversation;
                hits.extend(c.relation.as_ref().map(|_| "relation conversation"));
                hits.extend(c.subject.is_none().then_some("subject null"));
                hits.extend(c.participants.is_empty().then_some("no participants"));
                hits.extend((!c.messages.is_empty()).then_some("with messages"));
            }
            WriteOp::AddParticipant(p) => text(&p.name, &mut hits),
            WriteOp::PostMessage(p) => {
                text(&p.text, &mut hits);
                hits.extend(has_like_meta(&p.text).then_some("LIKE metacharacter"));
            }
            WriteOp::EditMessage(e) => text(&e.text, &mut hits),
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
            WriteOp::Rename(r) => match &r.subject {
                None => hits.push("subject null"),
                Some(s) => text(s, &mut hits),
            },
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
            WriteOp::MarkRead(_)
            | WriteOp::Attach(_)
            | WriteOp::PromoteAttachment(_)
            | WriteOp::DeleteConversation => {}
        }
        hits
    }

    fn read(&self, command: &Command, op: &ReadOp, answer: Option<&Value>) -> Vec<&'static str> {
        let known = self.known.get(command.id());
        let len = |v: Option<&Value>| v.and_then(Value::as_array).map_or(0, Vec::len) as u64;
        let mut hits = Vec::new();
        let mut when = |yes: bool, name: &'static str| {
            if yes {
                hits.push(name);
            }
        };
        match op {
            ReadOp::Exists => when(answer == Some(&Value::Bool(false)), "absent conversation"),
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
            ReadOp::MessagesPage(p) => {
                let count = known.map_or(0, |k| k.messages as u64);
                when(p.offset == 0, "offset 0");
                when(
                    known.is_some() && p.offset >= count && count > 0,
                    "offset past the end",
                );
                when(p.limit == 1, "limit 1");
                when(
                    known.is_some() && p.offset < count && p.offset + p.limit > count,
                    "limit past the end",
                );
                let deleted = answer
                    .and_then(Value::as_array)
                    .is_some_and(|ms| ms.iter().any(|m| m["deleted"] == true));
                when(deleted, "deleted message");
                when(
                    answer.is_some_and(|a| tie(a, "created_at")),
                    "tie on the sort key",
                );
            }
            ReadOp::FindByIds(ids) => {
                when(ids.ids.is_empty(), "no ids");
                when(
                    ids.ids.iter().any(|id| !self.known.contains_key(id)),
                    "absent id",
                );
                let distinct: BTreeSet<&String> = ids.ids.iter().collect();
                when(distinct.len() < ids.ids.len(), "repeated id");
            }
            ReadOp::FindByDateRange(r) => {
                let (from, to) = (ms(&r.from), ms(&r.to));
                let stored = |t: Option<i64>| {
                    t.is_some_and(|t| self.created.get(&t).is_some_and(|n| *n > 0))
                };
                let near =
                    |t: Option<i64>| t.is_some_and(|t| stored(Some(t - 1)) || stored(Some(t + 1)));
                when(stored(from), "from equals a stored created_at");
                when(stored(to), "to equals a stored created_at");
                when(
                    near(from) || near(to),
                    "bound one ms from a stored created_at",
                );
                when(from > to, "from after to");
                when(
                    answer.is_some_and(|a| tie(a, "created_at")),
                    "tie on the sort key",
                );
            }
            ReadOp::FindByParticipant(_) => when(
                answer.is_some_and(|a| tie(a, "created_at")),
                "tie on the sort key",
            ),
            ReadOp::FindByRelation(r) => {
                when(r.project_a > r.project_b, "projects in reverse order")
            }
            ReadOp::SearchMessages(s) => {
                when(s.text.chars().any(char::is_uppercase), "upper case");
                when(!s.text.is_ascii(), "non-ASCII text");
                when(has_like_meta(&s.text), "LIKE metacharacter");
                when(len(answer) == s.limit, "limit reached");
            }
            ReadOp::FindArchived(l) => when(len(answer) == l.limit, "limit reached"),
            ReadOp::FindById
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

impl Features for ConversationFeatures {
    fn operations(&self) -> Vec<Declared> {
        ops::WRITES
            .iter()
            .chain(ops::READS.iter())
            .filter_map(|op| declaration(op))
            .collect()
    }

    fn stored(&self) -> Vec<String> {
        STORED_FEATURES.iter().map(|s| s.to_string()).collect()
    }

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

    use cutover::cassette::Kind;
    use cutover::coverage::Tally;
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
        let mut tally = Tally::new("conversations", Box::<ConversationFeatures>::default());
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
        assert_eq!(
            count(&tally, "find_by_date_range", "tie on the sort key"),
            1
        );
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
                "bound one ms from a stored created_at"
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
                "bound one ms from a stored created_at"
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

    /// Every operation has a declaration, and no declaration names an unknown one.
    #[test]
    fn every_operation_is_declared() {
        for op in ops::WRITES.iter().chain(ops::READS.iter()) {
            assert!(declaration(op).is_some(), "{op} declares no features");
        }
        assert!(declaration("no_such_op").is_none());
        assert_eq!(ConversationFeatures::default().operations().len(), 37);
    }
}
