use super::*;
use crate::ops::parse;
use cutover::cassette::Request;

fn command(op: &str, args: Value) -> Command {
    let request: Request = serde_json::from_value(json!({
        "seq": 1, "key": "c1", "op": op, "kind": "write", "args": args,
        "at": "2024-01-01T00:00:01Z"
    }))
    .expect("a request");
    parse(&request).expect("a valid request")
}

fn events(c: &Command, answer: Value) -> Vec<Event> {
    match &c.op {
        crate::ops::Operation::Write(op) => of(c, op, &answer),
        crate::ops::Operation::Read(_) => panic!("a write"),
    }
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn a_write_publishes_its_event_with_the_conversation_and_the_recorded_clock() {
    let c = command(
        "post_message",
        json!({ "message_id": "m1", "author_id": "u1", "text": "hi" }),
    );
    let posted = events(&c, Value::Null);
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].name, "message_posted");
    assert_eq!(
        posted[0].payload,
        json!({ "conversation_id": "c1", "message_id": "m1", "author_id": "u1",
                "created_at": "2024-01-01T00:00:01.000Z" })
    );
    let attach = command(
        "attach",
        json!({ "message_id": "m1", "name": "a", "size": 3 }),
    );
    let attached = events(&attach, json!({ "index": 4, "name": "a", "size": 3 }));
    assert_eq!(attached[0].payload["index"], json!(4));
}

#[test]
fn an_update_publishes_one_event_per_change_in_order() {
    let c = command(
        "update_conversation",
        json!({ "changes": [
            { "rename": { "subject": "S" } },
            { "attach": { "message_id": "m1", "name": "a", "size": 1 } },
            { "attach": { "message_id": "m1", "name": "b", "size": 2 } },
        ]}),
    );
    let saved = json!({ "messages": [{ "id": "m1", "temp_attachments": [
        { "index": 0 }, { "index": 5 }, { "index": 6 } ] }] });
    let published = events(&c, saved);
    assert_eq!(
        names(&published),
        [
            "conversation_renamed",
            "attachment_added",
            "attachment_added"
        ]
    );
    assert_eq!(published[1].payload["index"], json!(5));
    assert_eq!(published[2].payload["index"], json!(6));
}

#[test]
fn each_defect_changes_what_its_write_publishes() {
    let update = command(
        "update_conversation",
        json!({ "changes": [
            { "rename": { "subject": "S" } },
            { "add_participant": { "identity_id": "u2", "name": "B", "role": "member" } },
        ]}),
    );
    let crate::ops::Operation::Write(op) = &update.op else {
        panic!("a write")
    };
    let right = events(&update, Value::Null);
    let swapped = Defect::Swap.distort(op, right.clone());
    assert_eq!(
        names(&swapped),
        ["participant_added", "conversation_renamed"]
    );
    let renamed = Defect::Rename.distort(op, right.clone());
    assert_eq!(renamed[1].payload["participant_id"], json!("u2"));
    assert!(renamed[1].payload.get("identity_id").is_none());
    assert_eq!(Defect::Forget.distort(op, right.clone()), right);
    let post = command(
        "post_message",
        json!({ "message_id": "m1", "author_id": "u1", "text": "" }),
    );
    let crate::ops::Operation::Write(post_op) = &post.op else {
        panic!("a write")
    };
    assert!(Defect::Forget
        .distort(post_op, events(&post, Value::Null))
        .is_empty());
    for name in Defect::NAMES {
        assert!(Defect::parse(name).is_ok());
    }
    assert!(Defect::parse("other").is_err());
}
