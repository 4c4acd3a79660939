//! proptest strategies for concurrent groups: a conversation set up by one save, then 2 to
//! 4 writes of it whose recorded intervals overlap (one group for `--races overlap`). Each
//! write is a targeted write or an `update_conversation` of one or two changes; shrinking
//! goes towards fewer writes, fewer changes and targeted writes.

use super::PEOPLE;
use cutover::cassette::{Kind, Request};
use proptest::prelude::*;
use serde_json::{json, Value};

/// The conversation's id in every generated case.
pub const KEY: &str = "c-race";

/// One change, with indexes taken modulo what exists.
#[derive(Debug, Clone)]
pub enum Change {
    /// `rename` to a subject no other change uses.
    Rename,
    /// `post_message` of a new message.
    Post {
        /// Index of the author among the starting participants, modulo their number.
        author: usize,
    },
    /// `add_participant` of a person as a `guest` (a `conflict` if they already take part).
    Join {
        /// Index into the fixed people.
        person: usize,
    },
    /// `mark_read` of a starting message (a `not_found` when there is none).
    MarkRead {
        /// Index of the message among the starting ones, modulo their number.
        message: usize,
        /// Index of the reader among the starting participants, modulo their number.
        reader: usize,
    },
    /// `attach` of a file to a starting message (a `not_found` when there is none).
    Attach {
        /// Index of the message among the starting ones, modulo their number.
        message: usize,
    },
}

/// One write of the group: the first change as its targeted write, or all of them in one
/// `update_conversation`.
#[derive(Debug, Clone)]
pub struct Racer {
    /// One or two changes.
    pub changes: Vec<Change>,
    /// Whether the write is an `update_conversation` of all the changes; otherwise it is
    /// the first change's targeted write.
    pub whole: bool,
}

/// A conversation and a concurrent group of writes to it.
#[derive(Debug, Clone)]
pub struct RaceCase {
    /// Participants at the start: the first 1 to 4 people.
    pub participants: usize,
    /// Messages at the start, by the first participant.
    pub messages: usize,
    /// The 2 to 4 writes, whose recorded intervals overlap.
    pub group: Vec<Racer>,
}

fn change() -> impl Strategy<Value = Change> {
    let i = || 0usize..4;
    prop_oneof![
        Just(Change::Rename),
        i().prop_map(|author| Change::Post { author }),
        (0usize..PEOPLE.len()).prop_map(|person| Change::Join { person }),
        (i(), i()).prop_map(|(message, reader)| Change::MarkRead { message, reader }),
        i().prop_map(|message| Change::Attach { message }),
    ]
}

fn racer() -> impl Strategy<Value = Racer> {
    (proptest::collection::vec(change(), 1..=2), any::<bool>())
        .prop_map(|(changes, whole)| Racer { changes, whole })
}

/// A case: 1 to 4 participants, 0 to 3 messages, a group of 2 to 4 writes.
pub fn case() -> impl Strategy<Value = RaceCase> {
    (
        1usize..=4,
        0usize..=3,
        proptest::collection::vec(racer(), 2..=4),
    )
        .prop_map(|(participants, messages, group)| RaceCase {
            participants,
            messages,
            group,
        })
}

/// The case's requests: the save, then the group (one overlapping interval).
pub fn requests(case: &RaceCase) -> Vec<Request> {
    let at = "2025-02-01T10:00:00.000Z";
    let people = &PEOPLE[..case.participants.clamp(1, PEOPLE.len())];
    let messages: Vec<String> = (0..case.messages).map(|m| format!("m{m}")).collect();
    let doc = json!({ "conversation": {
        "id": KEY, "kind": "group", "subject": "race", "created_at": at,
        "participants": people.iter().map(|(id, name)| json!({
            "identity_id": id, "name": name, "role": "member", "joined_at": at })).collect::<Vec<_>>(),
        "messages": messages.iter().map(|m| json!({
            "id": m, "author_id": people[0].0, "text": "hi", "created_at": at })).collect::<Vec<_>>(),
    }});
    let mut out = vec![request(1, "create_conversation", doc, None)];
    for (j, racer) in case.group.iter().enumerate() {
        let args: Vec<(&'static str, Value)> = racer
            .changes
            .iter()
            .enumerate()
            .map(|(c, change)| render(change, people, &messages, j * 2 + c))
            .collect();
        let (op, args) = match racer.whole {
            true => (
                "update_conversation",
                json!({ "changes": args.iter().map(|(op, a)| json!({ *op: a })).collect::<Vec<_>>() }),
            ),
            false => args[0].clone(),
        };
        out.push(request(out.len() as u64 + 1, op, args, Some(j as u64 * 50)));
    }
    out
}

/// A change as (targeted operation, its arguments); `n` keeps new ids distinct.
fn render(
    change: &Change,
    people: &[(&str, &str)],
    messages: &[String],
    n: usize,
) -> (&'static str, Value) {
    let message = |m: usize| messages.get(m % messages.len().max(1)).cloned();
    match change {
        Change::Rename => ("rename", json!({ "subject": format!("subject {n}") })),
        Change::Post { author } => (
            "post_message",
            json!({ "message_id": format!("r{n}"), "author_id": people[author % people.len()].0, "text": "yo" }),
        ),
        Change::Join { person } => {
            let (id, name) = PEOPLE[*person];
            (
                "add_participant",
                json!({ "identity_id": id, "name": name, "role": "guest" }),
            )
        }
        Change::MarkRead { message: m, reader } => (
            "mark_read",
            json!({ "message_id": message(*m).unwrap_or_else(|| "m-none".into()),
                    "identity_id": people[reader % people.len()].0 }),
        ),
        Change::Attach { message: m } => (
            "attach",
            json!({ "message_id": message(*m).unwrap_or_else(|| "m-none".into()),
                    "name": format!("f{n}.pdf"), "size": 10 + n }),
        ),
    }
}

fn request(seq: u64, op: &str, args: Value, started_us: Option<u64>) -> Request {
    Request {
        events: None,
        seq,
        key: Some(KEY.into()),
        op: op.into(),
        kind: Kind::Write,
        args,
        at: "2025-02-01T10:00:01.000Z".into(),
        outcome: None,
        state: None,
        latency_us: started_us.map(|_| 1_000),
        started_us,
        probe: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    #[test]
    fn every_generated_case_is_one_valid_overlapping_group() {
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
        runner
            .run(&case(), |case| {
                let requests = requests(&case);
                prop_assert_eq!(requests.len(), case.group.len() + 1);
                for r in &requests {
                    prop_assert!(ops::parse(r).is_ok(), "{r:?}: {:?}", ops::parse(r));
                }
                let (first, rest) = requests.split_at(1);
                prop_assert!(first[0].started_us.is_none());
                let end = |r: &Request| r.started_us.unwrap() + r.latency_us.unwrap();
                prop_assert!(rest.iter().all(|r| r.started_us.unwrap() < end(&rest[0])));
                Ok(())
            })
            .unwrap();
    }
}
