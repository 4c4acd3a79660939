//! Concurrent groups in generated traffic: at the end of the cassette, some conversations
//! get two or three `update_conversation` requests whose recorded intervals overlap, as
//! when a service and an event handler each load, change and save the same conversation.
//! Drawn from their own seeded stream, so the rest of the cassette is the same with or
//! without them.

use super::{Generator, Timed, FIRST_NAMES, LAST_NAMES, ROLES, WORDS};
use cutover::cassette::{Kind, Request};
use cutover::targets::rng::Rng;
use serde_json::{json, Value};

/// What the generator knew of a conversation when its life ended.
pub(super) struct Finished {
    pub index: usize,
    pub id: String,
    pub participants: Vec<String>,
    /// Live messages (not deleted).
    pub messages: Vec<String>,
    pub deleted: bool,
}

/// Conversations with at most this many writes get groups: the race check replays a key's
/// writes before every run of its group.
const MAX_HISTORY: usize = 12;

/// Appends the groups after everything else in `g`'s timeline.
pub(super) fn append(g: &mut Generator, seed: u64) {
    let mut rng = Rng::new(seed ^ 0x00c0_ffee_5eed_0001);
    let mut at = g.timeline.iter().map(|t| t.at).max().unwrap_or(0) + 3_600_000;
    let mut started_us: u64 = 0;
    let finished = std::mem::take(&mut g.finished);
    for c in finished {
        let writes = g
            .timeline
            .iter()
            .filter(|t| t.conversation == c.index && t.kind == Kind::Write)
            .count();
        if c.deleted || c.participants.is_empty() || writes > MAX_HISTORY || !rng.chance(60) {
            continue;
        }
        at += 60_000;
        started_us += 60_000_000;
        let n = rng.range(2, 3);
        for k in 0..n {
            let changes: Vec<Value> = (0..rng.range(1, 2))
                .map(|j| change(&mut rng, &c, k * 2 + j))
                .collect();
            let order = g.timeline.len();
            g.timeline.push(Timed {
                at,
                conversation: c.index,
                order,
                key: Some(c.id.clone()),
                op: "update_conversation",
                kind: Kind::Write,
                args: json!({ "changes": changes }),
                interval: Some((started_us + rng.range(0, 400), rng.range(800, 3_000))),
            });
        }
    }
}

/// One change; `n` makes new identities and messages distinct within the group.
fn change(rng: &mut Rng, c: &Finished, n: u64) -> Value {
    let someone = rng.pick(&c.participants).clone();
    let message = (!c.messages.is_empty()).then(|| rng.pick(&c.messages).clone());
    match (rng.range(0, 5), message) {
        (0, _) => json!({ "post_message": {
            "message_id": format!("m-r{:04x}{n}", rng.next_u64() as u16),
            "author_id": someone,
            "text": words(rng),
        } }),
        (1, _) => {
            let id = 400 + rng.range(0, 99) * 8 + n;
            json!({ "add_participant": {
                "identity_id": format!("u{id}"),
                "name": format!("{} {}", FIRST_NAMES[(id % 12) as usize], LAST_NAMES[(id / 12 % 8) as usize]),
                "role": *rng.pick(&ROLES),
            } })
        }
        (2, _) => json!({ "rename": { "subject": words(rng) } }),
        (3, Some(m)) => json!({ "mark_read": { "message_id": m, "identity_id": someone } }),
        (4, Some(m)) => json!({ "attach": {
            "message_id": m,
            "name": format!("{}.pdf", rng.pick(&WORDS)),
            "size": rng.range(1, 5_000_000),
        } }),
        _ => json!({ "set_role": { "identity_id": someone, "role": *rng.pick(&ROLES) } }),
    }
}

fn words(rng: &mut Rng) -> String {
    (0..rng.range(1, 4))
        .map(|_| *rng.pick(&WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn scenario_request(
    seq: u64,
    key: &str,
    op: &str,
    args: Value,
    started_us: Option<u64>,
) -> Request {
    Request {
        events: None,
        seq,
        key: Some(key.into()),
        op: op.into(),
        kind: Kind::Write,
        args,
        at: format!("2024-02-01T10:00:{:02}.000Z", seq),
        outcome: None,
        state: None,
        latency_us: started_us.map(|_| 900),
        started_us,
        probe: None,
    }
}

fn scenario_conversation(id: &str) -> Value {
    json!({ "conversation": {
        "id": id, "kind": "group", "subject": "plans", "created_at": "2024-02-01T09:00:00.000Z",
        "participants": [
            { "identity_id": "u1", "name": "Ada", "role": "admin", "joined_at": "2024-02-01T09:00:00.000Z" },
            { "identity_id": "u2", "name": "Bo", "role": "member", "joined_at": "2024-02-01T09:00:00.000Z" }
        ],
        "messages": [
            { "id": "m1", "author_id": "u1", "text": "hello", "created_at": "2024-02-01T09:00:01.000Z" }
        ]
    }})
}

fn one_change(change: Value) -> Value {
    json!({ "changes": [change] })
}

/// A contended scenario: two conversations, each with one group of overlapping writes:
/// three read-modify-writes of `c-rmw` (a message, a participant, a subject), and two
/// attachments to one message of `c-att`. Every serial order keeps every change; a lost
/// update or a duplicate index shows.
pub fn scenario() -> Vec<Request> {
    let at = Some(1_000);
    let requests = [
        scenario_request(
            1,
            "c-rmw",
            "create_conversation",
            scenario_conversation("c-rmw"),
            None,
        ),
        scenario_request(
            2,
            "c-att",
            "create_conversation",
            scenario_conversation("c-att"),
            None,
        ),
        scenario_request(
            3,
            "c-rmw",
            "update_conversation",
            one_change(
                json!({ "post_message": { "message_id": "m2", "author_id": "u2", "text": "hi" } }),
            ),
            at,
        ),
        scenario_request(
            4,
            "c-rmw",
            "update_conversation",
            one_change(
                json!({ "add_participant": { "identity_id": "u3", "name": "Cy", "role": "guest" } }),
            ),
            at,
        ),
        scenario_request(
            5,
            "c-rmw",
            "update_conversation",
            one_change(json!({ "rename": { "subject": "new plans" } })),
            at,
        ),
        scenario_request(
            6,
            "c-att",
            "attach",
            json!({ "message_id": "m1", "name": "a.pdf", "size": 10 }),
            at,
        ),
        scenario_request(
            7,
            "c-att",
            "attach",
            json!({ "message_id": "m1", "name": "b.pdf", "size": 20 }),
            at,
        ),
    ];
    requests.into()
}
