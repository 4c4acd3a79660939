//! proptest strategies for conversations traffic: sequences of abstract [`Step`]s that
//! [`requests`] turns into a valid cassette. Steps name conversations and messages by index
//! into what exists at that point, so every sequence (and every shrunk sub-sequence) only
//! references things created before; a step with nothing to refer to is left out.
//!
//! Sizes are realistic for a test case (up to 40 steps, up to 6 participants), messages
//! may be posted at the same millisecond as the one before (ties in timestamps), and names
//! and texts are non-ASCII.

pub mod concurrent;

use super::model::format_time;
use chrono::DateTime;
use cutover::cassette::{Kind, Request};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

/// Identities, with the names both stores must keep byte for byte.
const PEOPLE: [(&str, &str); 6] = [
    ("u01", "Ana Ødegaard"),
    ("u02", "Bo 山田"),
    ("u03", "Zoë Martin"),
    ("u04", "Олег Петров"),
    ("u05", "Émile Dubois"),
    ("u06", "李雷"),
];

const WORDS: [&str; 8] = [
    "budget", "Budget", "réunion", "signé", "plan", "会议", "ok", "demain",
];

/// One abstract request. Indexes are taken modulo what exists when the step runs.
#[derive(Debug, Clone)]
pub enum Step {
    /// `create_conversation` of a new group conversation, whose participants join at its
    /// creation.
    Create {
        /// The subject, or none.
        subject: Option<String>,
        /// Indexes into the fixed people, duplicates dropped.
        participants: Vec<usize>,
    },
    /// `add_participant` of a person as a `member`.
    Join {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// Index into the fixed people.
        person: usize,
    },
    /// `post_message` of a message with a fresh id.
    Post {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// Index into the fixed people; one who does not take part draws an `invalid`.
        author: usize,
        /// The message's text.
        text: String,
        /// At the same millisecond as the step before.
        same_instant: bool,
    },
    /// `edit_message` of a message.
    Edit {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// Index of the message, modulo those posted to the conversation so far; the step is
        /// left out when there is none.
        message: usize,
        /// The new text.
        text: String,
    },
    /// `delete_message` of a message.
    Delete {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// Index of the message, modulo those posted to the conversation so far; the step is
        /// left out when there is none.
        message: usize,
    },
    /// `rename` of a conversation.
    Rename {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// The new subject.
        subject: String,
    },
    /// `messages_page` of a conversation.
    Page {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// Messages skipped.
        offset: u64,
        /// At most this many messages.
        limit: u64,
    },
    /// A read of one conversation that takes no arguments.
    Read {
        /// Index of the conversation, modulo those created so far.
        conversation: usize,
        /// The read's name: `find_by_id`, `last_message`, `list_participants` or
        /// `count_messages`.
        op: &'static str,
    },
    /// `search_messages` across conversations.
    Search {
        /// The word searched for.
        text: String,
        /// At most this many hits.
        limit: u64,
    },
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(select(&WORDS[..]), 1..4).prop_map(|w| w.join(" "))
}

/// One step; creating and posting weigh most, as in real traffic.
pub fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..8;
    prop_oneof![
        2 => (proptest::option::of(text()), proptest::collection::vec(0usize..PEOPLE.len(), 0..6))
            .prop_map(|(subject, participants)| Step::Create { subject, participants }),
        1 => (i(), 0usize..PEOPLE.len()).prop_map(|(conversation, person)| Step::Join { conversation, person }),
        4 => (i(), 0usize..PEOPLE.len(), text(), proptest::bool::weighted(0.3)).prop_map(
            |(conversation, author, text, same_instant)| Step::Post { conversation, author, text, same_instant }
        ),
        1 => (i(), i(), text()).prop_map(|(conversation, message, text)| Step::Edit { conversation, message, text }),
        1 => (i(), i()).prop_map(|(conversation, message)| Step::Delete { conversation, message }),
        1 => (i(), text()).prop_map(|(conversation, subject)| Step::Rename { conversation, subject }),
        2 => (i(), 0u64..6, 1u64..6).prop_map(|(conversation, offset, limit)| Step::Page { conversation, offset, limit }),
        2 => (i(), select(&["find_by_id", "last_message", "list_participants", "count_messages"][..]))
            .prop_map(|(conversation, op)| Step::Read { conversation, op }),
        1 => (select(&WORDS[..]), 1u64..20).prop_map(|(text, limit)| Step::Search { text: text.to_string(), limit }),
    ]
}

/// A sequence of 1 to 40 steps.
pub fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 1..40)
}

/// What exists while steps are turned into requests.
#[derive(Default)]
struct World {
    conversations: Vec<(String, Vec<String>)>,
    messages: u64,
    clock_ms: i64,
}

/// The requests `steps` stand for, in order, numbered from 1.
pub fn requests(steps: &[Step]) -> Vec<Request> {
    let mut w = World {
        clock_ms: 1_735_725_600_000, // 2025-01-01T10:00:00Z
        ..World::default()
    };
    let mut out = Vec::new();
    for step in steps {
        if !matches!(
            step,
            Step::Post {
                same_instant: true,
                ..
            }
        ) {
            w.clock_ms += 1_000;
        }
        let at = format_time(DateTime::from_timestamp_millis(w.clock_ms).expect("in range"));
        let Some((key, op, kind, args)) = w.request(step, &at) else {
            continue;
        };
        out.push(Request {
            events: None,
            latency_us: None,
            started_us: None,
            probe: None,
            seq: out.len() as u64 + 1,
            key,
            op: op.into(),
            kind,
            args,
            at,
            outcome: None,
            state: None,
        });
    }
    out
}

type Rendered = (Option<String>, &'static str, Kind, Value);

impl World {
    fn request(&mut self, step: &Step, at: &str) -> Option<Rendered> {
        if let Step::Create {
            subject,
            participants,
        } = step
        {
            let id = format!("c-{:02}", self.conversations.len() + 1);
            let mut people: Vec<usize> = Vec::new();
            for p in participants {
                if !people.contains(p) {
                    people.push(*p);
                }
            }
            let listed: Vec<Value> = people
                .iter()
                .map(|&p| json!({"identity_id": PEOPLE[p].0, "name": PEOPLE[p].1, "role": "member", "joined_at": at}))
                .collect();
            self.conversations.push((id.clone(), Vec::new()));
            let doc = json!({"conversation": {"id": id, "kind": "group", "subject": subject,
                "created_at": at, "participants": listed, "messages": []}});
            return Some((Some(id), "create_conversation", Kind::Write, doc));
        }
        if let Step::Search { text, limit } = step {
            let args = json!({"text": text, "limit": limit});
            return Some((None, "search_messages", Kind::Read, args));
        }
        let n = self.conversations.len();
        let index = match step {
            Step::Join { conversation, .. }
            | Step::Post { conversation, .. }
            | Step::Edit { conversation, .. }
            | Step::Delete { conversation, .. }
            | Step::Rename { conversation, .. }
            | Step::Page { conversation, .. }
            | Step::Read { conversation, .. } => conversation % n.max(1),
            Step::Create { .. } | Step::Search { .. } => unreachable!("handled above"),
        };
        let (id, messages) = self.conversations.get_mut(index)?;
        let key = Some(id.clone());
        let message =
            |m: &usize| (!messages.is_empty()).then(|| messages[m % messages.len()].clone());
        let (op, kind, args) = match step {
            Step::Join { person, .. } => (
                "add_participant",
                Kind::Write,
                json!({"identity_id": PEOPLE[*person].0, "name": PEOPLE[*person].1, "role": "member"}),
            ),
            Step::Post { author, text, .. } => {
                self.messages += 1;
                // Ids that do not follow posting order, so that only the order kept by the
                // store puts messages of one instant in place.
                let id = format!("m-{:03}", 1000 - self.messages);
                let args = json!({"message_id": id, "author_id": PEOPLE[*author].0, "text": text});
                messages.push(id);
                ("post_message", Kind::Write, args)
            }
            Step::Edit {
                message: m, text, ..
            } => (
                "edit_message",
                Kind::Write,
                json!({"message_id": message(m)?, "text": text}),
            ),
            Step::Delete { message: m, .. } => (
                "delete_message",
                Kind::Write,
                json!({"message_id": message(m)?}),
            ),
            Step::Rename { subject, .. } => ("rename", Kind::Write, json!({"subject": subject})),
            Step::Page { offset, limit, .. } => (
                "messages_page",
                Kind::Read,
                json!({"offset": offset, "limit": limit}),
            ),
            Step::Read { op, .. } => (*op, Kind::Read, json!({})),
            Step::Create { .. } | Step::Search { .. } => unreachable!("handled above"),
        };
        Some((key, op, kind, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    #[test]
    fn every_generated_sequence_is_a_valid_cassette() {
        let config = Config {
            failure_persistence: None,
            ..Config::default()
        };
        let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
        let mut runner = TestRunner::new_with_rng(config, rng);
        runner
            .run(&steps(), |steps| {
                for r in requests(&steps) {
                    prop_assert!(ops::parse(&r).is_ok(), "{r:?}: {:?}", ops::parse(&r));
                }
                Ok(())
            })
            .unwrap();
    }
}
