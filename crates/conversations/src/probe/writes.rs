//! The error-path writes of the conversations domain: writes that a correct store refuses,
//! with the error kind named in their `probe` text, and so change nothing. Only writes
//! whose refusal the slim model can be sure of are derived: the model replayed every
//! recorded write with the legacy's checks, and the probes run after all of them, so the
//! participant that does not take part, the message that is absent and the index that is
//! free are so on every correct store when the probe runs. Each write is checked before it
//! changes anything, so one refused write leaves the next one's premises intact.

use super::state::Conv;
use super::Observed;
use crate::model::format_time;
use chrono::DateTime;
use cutover::cassette::Kind;
use cutover::probe::keyed;
use cutover::probe::pick::fresh;
use cutover::probe::pick::{lowest, rank};
use cutover::probe::Probe;
use serde_json::{json, Value};

pub(super) fn derive(o: &Observed, out: &mut Vec<Probe>) {
    for key in o.probe_keys() {
        existing(o, key, &o.store.live[key], out);
    }
    let never = o.absent_key("c-probe-absent");
    absent(
        o,
        &never,
        "error path: write to a conversation never created (not_found)",
        out,
    );
    if let Some(deleted) = lowest(&o.store.deleted, 1).into_iter().next() {
        absent(
            o,
            deleted,
            "error path: write to a deleted conversation (not_found)",
            out,
        );
    }
}

fn write(key: &str, op: &'static str, args: Value, why: &'static str) -> Probe {
    keyed(key, op, Kind::Write, args, why)
}

/// Writes to an existing conversation that it refuses.
fn existing(o: &Observed, key: &str, c: &Conv, out: &mut Vec<Probe>) {
    // An identity seen elsewhere (so the new store may hold it) but not taking part here.
    let stranger = o
        .identities
        .iter()
        .filter(|i| !c.takes_part(i))
        .min_by_key(|i| rank(i))
        .cloned()
        .unwrap_or_else(|| fresh("u-probe-absent", |i| c.takes_part(i)));
    let member = c.participants.first();
    let absent_message = fresh("m-probe-absent", |m| c.message(m).is_some());
    let live = c.messages.iter().find(|m| !m.deleted);
    let deleted = c.messages.iter().find(|m| m.deleted);
    let mut push = |op, args, why| out.push(write(key, op, args, why));

    let args = json!({ "identity_id": stranger });
    let why = "error path: remove_participant of an identity not taking part (not_found)";
    push("remove_participant", args.clone(), why);
    let why = "error path: mark_all_read by an identity not taking part (invalid)";
    push("mark_all_read", args, why);
    let args = json!({ "identity_id": stranger, "role": "admin" });
    let why = "error path: set_role of an identity not taking part (not_found)";
    push("set_role", args, why);
    let args = json!({ "message_id": absent_message, "author_id": stranger, "text": "probe" });
    let why = "error path: post_message by an identity not taking part (invalid)";
    push("post_message", args, why);
    if let Some(created) = DateTime::from_timestamp_millis(c.created_at) {
        let conversation = json!({
            "id": key, "kind": "group", "created_at": format_time(created),
            "participants": [], "messages": [],
        });
        let why = "error path: create_conversation of an existing id (conflict)";
        push(
            "create_conversation",
            json!({ "conversation": conversation }),
            why,
        );
    }
    if let Some(member) = member {
        let args = json!({ "identity_id": member, "name": "Probe Member", "role": "member" });
        let why = "error path: add_participant of an identity taking part (conflict)";
        push("add_participant", args.clone(), why);
        let changes = json!({ "changes": [
            { "rename": { "subject": "probe: never saved" } },
            { "add_participant": args },
        ] });
        let why = "error path: update_conversation whose last change fails (conflict)";
        push("update_conversation", changes, why);
        let args = json!({ "message_id": absent_message, "identity_id": member });
        let why = "error path: mark_read of an absent message (not_found)";
        push("mark_read", args, why);
        if let Some(m) = c.messages.first() {
            let args = json!({ "message_id": m.id, "author_id": member, "text": "probe" });
            let why = "error path: post_message of an existing message id (conflict)";
            push("post_message", args, why);
        }
    }
    let args = json!({ "message_id": absent_message });
    let why = "error path: delete_message of an absent message (not_found)";
    push("delete_message", args, why);
    let args = json!({ "message_id": absent_message, "text": "probe" });
    let why = "error path: edit_message of an absent message (not_found)";
    push("edit_message", args, why);
    let args = json!({ "message_id": absent_message, "name": "probe.txt", "size": 1 });
    let why = "error path: attach to an absent message (not_found)";
    push("attach", args, why);
    if let Some(m) = deleted {
        let args = json!({ "message_id": m.id, "text": "probe" });
        let why = "error path: edit_message of a deleted message (invalid)";
        push("edit_message", args, why);
        let args = json!({ "message_id": m.id, "name": "probe.txt", "size": 1 });
        let why = "error path: attach to a deleted message (invalid)";
        push("attach", args, why);
    }
    if let Some(m) = live {
        let args = json!({ "message_id": m.id, "identity_id": stranger });
        let why = "error path: mark_read by an identity not taking part (invalid)";
        push("mark_read", args, why);
        let free = m.next_index();
        let args = json!({ "message_id": m.id, "index": free, "storage_key": "s3://probe/free" });
        let why = "error path: promote_attachment of a free index (not_found)";
        push("promote_attachment", args, why);
    }
    let promoted = c
        .messages
        .iter()
        .filter(|m| !m.deleted)
        .find_map(|m| m.stored.first().map(|i| (m, *i)));
    if let Some((m, index)) = promoted {
        let args = json!({ "message_id": m.id, "index": index, "storage_key": "s3://probe/again" });
        let why = "error path: promote_attachment of an index already stored (not_found)";
        push("promote_attachment", args, why);
    }
}

/// Writes to a conversation that does not exist: every one is `not_found`.
fn absent(o: &Observed, key: &str, why: &'static str, out: &mut Vec<Probe>) {
    let identity = fresh("u-probe-absent", |i| o.identities.contains(i));
    let writes = [
        ("delete_conversation", json!({})),
        ("rename", json!({ "subject": "probe" })),
        ("archive", json!({})),
        (
            "add_participant",
            json!({ "identity_id": identity, "name": "Probe", "role": "member" }),
        ),
        ("remove_participant", json!({ "identity_id": identity })),
        (
            "post_message",
            json!({ "message_id": "m-probe", "author_id": identity, "text": "probe" }),
        ),
        (
            "update_conversation",
            json!({ "changes": [{ "rename": { "subject": "probe" } }] }),
        ),
    ];
    for (op, args) in writes {
        out.push(write(key, op, args, why));
    }
}
