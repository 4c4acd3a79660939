//! A seeded generator of realistic conversations traffic: the writes that build each
//! conversation (a whole-document save, or one request at a time) interleaved with a mix
//! of reads, and the errors real clients cause (a duplicate, a stranger posting, an unknown
//! message). Same seed, same cassette.
//!
//! What it covers on purpose: 1 to 200 messages and 2 to 30 participants per conversation,
//! empty conversations, messages created at the same millisecond, deleted messages,
//! attachments promoted out of index order, non-ASCII text, and optional fields both null
//! and absent in saved documents.

pub mod concurrent;

use super::model::format_time;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cutover::cassette::{Kind, Request};
use cutover::targets::rng::Rng;
use serde_json::{json, Map, Value};

const FIRST_NAMES: [&str; 12] = [
    "Zoë", "Łukasz", "José", "Ingrid", "Amara", "Jürgen", "Siobhán", "Wei", "Ngozi", "Émile",
    "Dvořák", "O'Brien",
];
const LAST_NAMES: [&str; 8] = [
    "Ångström",
    "Nakamura",
    "Müller",
    "da Silva",
    "Ødegaard",
    "Kowalski",
    "Smith",
    "山田",
];
const ROLES: [&str; 3] = ["member", "admin", "guest"];
const WORDS: [&str; 24] = [
    "Bonjour", "réunion", "budget", "Budget", "deadline", "invoice", "Zürich", "naïve", "façade",
    "東京", "🚀", "contract", "50%", "done_ok", "signed", "draft", "meeting", "Meeting",
    "delivery", "planning", "café", "report", "relation", "update",
];
/// Search terms: ASCII case variants, LIKE metacharacters, words that never occur.
const SEARCHES: [&str; 9] = [
    "budget",
    "BUDGET",
    "Meeting",
    "50%",
    "done_ok",
    "_ok",
    "café",
    "zzz-nothing",
    "contract signed",
];
const FILES: [&str; 5] = [
    "plan.pdf",
    "photo.jpg",
    "devis signé.pdf",
    "notes.txt",
    "budget 2024.xlsx",
];

/// What the generator knows of one conversation it is building.
struct Conv {
    id: String,
    created: bool,
    participants: Vec<String>,
    messages: Vec<Msg>,
}

struct Msg {
    id: String,
    deleted: bool,
    temp: Vec<u32>,
    next_index: u32,
}

/// A request waiting for its place in the timeline.
struct Timed {
    at: i64,
    conversation: usize,
    order: usize,
    key: Option<String>,
    op: &'static str,
    kind: Kind,
    args: Value,
    /// The recorded interval (`started_us`, `latency_us`) of a request in a concurrent group.
    interval: Option<(u64, u64)>,
}

/// Generates the traffic of `conversations` conversations: about 40 requests each.
pub fn cassette(conversations: usize, seed: u64) -> Vec<Request> {
    let mut g = Generator {
        rng: Rng::new(seed),
        timeline: Vec::new(),
        ids: Vec::new(),
        projects_used: Vec::new(),
        finished: Vec::new(),
    };
    let start = Utc
        .with_ymd_and_hms(2024, 1, 8, 9, 0, 0)
        .single()
        .expect("a valid date");
    for i in 0..conversations {
        g.conversation(i, start);
    }
    for n in 0..conversations.max(1) * 4 {
        g.keyless(n, start);
    }
    concurrent::append(&mut g, seed);
    g.timeline.sort_by_key(|t| (t.at, t.conversation, t.order));
    g.timeline
        .into_iter()
        .enumerate()
        .map(|(i, t)| Request {
            events: None,
            latency_us: t.interval.map(|(_, took)| took),
            started_us: t.interval.map(|(start, _)| start),
            probe: None,
            seq: i as u64 + 1,
            key: t.key,
            op: t.op.to_string(),
            kind: t.kind,
            args: t.args,
            at: format_time(DateTime::from_timestamp_millis(t.at).expect("in range")),
            outcome: None,
            state: None,
        })
        .collect()
}

struct Generator {
    rng: Rng,
    timeline: Vec<Timed>,
    ids: Vec<String>,
    projects_used: Vec<(String, String)>,
    finished: Vec<concurrent::Finished>,
}

impl Generator {
    fn identity(&mut self) -> (String, String) {
        let n = self.rng.range(0, 399);
        let name = format!(
            "{} {}",
            FIRST_NAMES[(n % 12) as usize],
            LAST_NAMES[(n / 12 % 8) as usize]
        );
        (format!("u{n:03}"), name)
    }

    /// Message ids in no particular order, as real ids are: only the posting order and the
    /// creation time may order messages.
    fn message_id(&mut self) -> String {
        format!("m-{:06x}", self.rng.next_u64() as u32 & 0xff_ffff)
    }

    fn text(&mut self) -> String {
        let words = self.rng.range(2, 12);
        (0..words)
            .map(|_| *self.rng.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn push(
        &mut self,
        at: i64,
        conversation: usize,
        key: Option<&str>,
        op: &'static str,
        kind: Kind,
        args: Value,
    ) {
        let order = self.timeline.len();
        self.timeline.push(Timed {
            at,
            conversation,
            order,
            key: key.map(String::from),
            op,
            kind,
            args,
            interval: None,
        });
    }

    fn conversation(&mut self, i: usize, start: DateTime<Utc>) {
        let id = format!("c-{:08x}", self.rng.next_u64() as u32);
        self.ids.push(id.clone());
        let mut at = (start + Duration::minutes(self.rng.range(0, 60 * 24 * 60) as i64))
            .timestamp_millis()
            + self.rng.range(0, 999) as i64;
        let mut c = Conv {
            id: id.clone(),
            created: false,
            participants: Vec::new(),
            messages: Vec::new(),
        };
        let participants = if self.rng.chance(70) {
            self.rng.range(2, 6)
        } else {
            self.rng.range(7, 30)
        };
        let messages = match self.rng.range(0, 99) {
            0..=5 => 0,
            6..=60 => self.rng.range(1, 15),
            61..=90 => self.rng.range(16, 60),
            _ => self.rng.range(61, 200),
        };
        let relation = self.rng.chance(30).then(|| self.relation());
        if self.rng.chance(50) {
            self.save_whole(i, &mut c, at, participants, messages, relation);
            at += 1000;
        } else {
            let doc = self.document(&id, at, relation.as_ref());
            self.push(
                at,
                i,
                Some(&id),
                "create_conversation",
                Kind::Write,
                json!({ "conversation": doc }),
            );
            c.created = true;
            for _ in 0..participants {
                at += self.rng.range(1, 60_000) as i64;
                self.add_participant(i, &mut c, at);
            }
            for _ in 0..messages {
                at += self.gap();
                self.post(i, &mut c, at);
            }
        }
        // Then the life of the conversation: writes and reads, now and then an error.
        for _ in 0..self.rng.range(8, 30) {
            at += self.gap().max(1) * 10;
            self.activity(i, &mut c, at);
        }
        let deleted = self.rng.chance(4);
        self.finished.push(concurrent::Finished {
            index: i,
            id: id.clone(),
            participants: c.participants.clone(),
            messages: c
                .messages
                .iter()
                .filter(|m| !m.deleted)
                .map(|m| m.id.clone())
                .collect(),
            deleted,
        });
        if deleted {
            at += 60_000;
            self.push(
                at,
                i,
                Some(&id),
                "delete_conversation",
                Kind::Write,
                json!({}),
            );
            self.push(at + 1, i, Some(&id), "find_by_id", Kind::Read, json!({}));
        }
    }

    /// Milliseconds between two messages: now and then none at all (a tie).
    fn gap(&mut self) -> i64 {
        if self.rng.chance(10) {
            0
        } else {
            self.rng.range(1, 3_600_000) as i64
        }
    }

    fn relation(&mut self) -> (String, String) {
        let a = self.rng.range(0, 29);
        let b = (a + self.rng.range(1, 29)) % 30;
        let (a, b) = (format!("p{:02}", a.min(b)), format!("p{:02}", a.max(b)));
        self.projects_used.push((a.clone(), b.clone()));
        (a, b)
    }

    /// A conversation document with the optional fields null, absent or set.
    fn document(&mut self, id: &str, at: i64, relation: Option<&(String, String)>) -> Value {
        let mut doc = Map::new();
        doc.insert("id".into(), json!(id));
        doc.insert("created_at".into(), json!(time(at)));
        match relation {
            Some((a, b)) => {
                doc.insert("kind".into(), json!("relation"));
                doc.insert("relation".into(), json!({ "project_a": a, "project_b": b }));
            }
            None => {
                doc.insert("kind".into(), json!("group"));
                if self.rng.chance(50) {
                    doc.insert("relation".into(), Value::Null);
                }
            }
        }
        match self.rng.range(0, 2) {
            0 => {
                doc.insert("subject".into(), json!(self.text()));
            }
            1 => {
                doc.insert("subject".into(), Value::Null);
            }
            _ => {}
        }
        if self.rng.chance(50) {
            doc.insert("archived".into(), json!(false));
        }
        Value::Object(doc)
    }

    fn save_whole(
        &mut self,
        i: usize,
        c: &mut Conv,
        mut at: i64,
        participants: u64,
        messages: u64,
        relation: Option<(String, String)>,
    ) {
        let mut doc = self.document(&c.id.clone(), at, relation.as_ref());
        let mut people = Vec::new();
        for _ in 0..participants {
            let (identity, name) = self.identity();
            if c.participants.contains(&identity) {
                continue;
            }
            at += self.rng.range(1, 60_000) as i64;
            c.participants.push(identity.clone());
            people.push(json!({ "identity_id": identity, "name": name, "role": self.rng.pick(&ROLES), "joined_at": time(at) }));
        }
        let mut list = Vec::new();
        for _ in 0..messages {
            at += self.gap();
            let id = self.message_id();
            let mut msg = Map::new();
            msg.insert("id".into(), json!(id));
            msg.insert(
                "author_id".into(),
                json!(self.rng.pick(&c.participants).clone()),
            );
            msg.insert("created_at".into(), json!(time(at)));
            let deleted = self.rng.chance(5);
            msg.insert(
                "text".into(),
                if deleted {
                    Value::Null
                } else {
                    json!(self.text())
                },
            );
            msg.insert("deleted".into(), json!(deleted));
            if !deleted && self.rng.chance(10) {
                msg.insert("edited_at".into(), json!(time(at + 5000)));
            } else if self.rng.chance(50) {
                msg.insert("edited_at".into(), Value::Null);
            }
            let mut readers: Vec<String> = c
                .participants
                .iter()
                .filter(|_| self.rng.chance(40))
                .cloned()
                .collect();
            readers.dedup();
            msg.insert("read_by".into(), json!(readers));
            let mut record = Msg {
                id,
                deleted,
                temp: Vec::new(),
                next_index: 0,
            };
            if !deleted && self.rng.chance(15) {
                let files = self.rng.range(1, 3) as u32;
                let stored: Vec<Value> = (0..files)
                    .map(|x| json!({ "index": x, "name": self.rng.pick(&FILES), "size": self.rng.range(1, 9_000_000), "storage_key": format!("s3://files/{}/{}", c.id, x) }))
                    .collect();
                msg.insert("stored_files".into(), json!(stored));
                let temp = json!([{ "index": files, "name": self.rng.pick(&FILES), "size": self.rng.range(1, 100_000) }]);
                msg.insert("temp_attachments".into(), temp);
                record.temp.push(files);
                record.next_index = files + 1;
            } else if self.rng.chance(50) {
                msg.insert("temp_attachments".into(), json!([]));
            }
            c.messages.push(record);
            list.push(Value::Object(msg));
        }
        doc["participants"] = json!(people);
        doc["messages"] = json!(list);
        self.push(
            at,
            i,
            Some(&c.id.clone()),
            "create_conversation",
            Kind::Write,
            json!({ "conversation": doc }),
        );
        c.created = true;
    }

    fn add_participant(&mut self, i: usize, c: &mut Conv, at: i64) {
        let (identity, name) = self.identity();
        let role = *self.rng.pick(&ROLES);
        // A second add of the same identity is a conflict on both sides.
        if !c.participants.contains(&identity) {
            c.participants.push(identity.clone());
        }
        self.push(
            at,
            i,
            Some(&c.id.clone()),
            "add_participant",
            Kind::Write,
            json!({ "identity_id": identity, "name": name, "role": role }),
        );
    }

    fn post(&mut self, i: usize, c: &mut Conv, at: i64) {
        let author = if c.participants.is_empty() || self.rng.chance(2) {
            "u999".to_string()
        } else {
            self.rng.pick(&c.participants).clone()
        };
        let id = self.message_id();
        if author != "u999" {
            c.messages.push(Msg {
                id: id.clone(),
                deleted: false,
                temp: Vec::new(),
                next_index: 0,
            });
        }
        let text = self.text();
        self.push(
            at,
            i,
            Some(&c.id.clone()),
            "post_message",
            Kind::Write,
            json!({ "message_id": id, "author_id": author, "text": text }),
        );
    }

    /// One thing that happens to a conversation once it exists.
    fn activity(&mut self, i: usize, c: &mut Conv, at: i64) {
        let key = c.id.clone();
        let k = Some(key.as_str());
        let message = (!c.messages.is_empty())
            .then(|| self.rng.range(0, c.messages.len() as u64 - 1) as usize);
        let someone = (!c.participants.is_empty()).then(|| self.rng.pick(&c.participants).clone());
        match (self.rng.range(0, 27), message, someone) {
            (0, _, _) => self.add_participant(i, c, at),
            (1, _, Some(p)) => {
                c.participants.retain(|x| *x != p);
                self.push(
                    at,
                    i,
                    k,
                    "remove_participant",
                    Kind::Write,
                    json!({ "identity_id": p }),
                );
            }
            (2, _, Some(p)) => {
                let role = *self.rng.pick(&ROLES);
                self.push(
                    at,
                    i,
                    k,
                    "set_role",
                    Kind::Write,
                    json!({ "identity_id": p, "role": role }),
                );
            }
            (3 | 4, _, _) => self.post(i, c, at),
            (5, Some(m), _) => {
                let text = self.text();
                self.push(
                    at,
                    i,
                    k,
                    "edit_message",
                    Kind::Write,
                    json!({ "message_id": c.messages[m].id, "text": text }),
                );
            }
            (6, Some(m), _) => {
                c.messages[m].deleted = true;
                c.messages[m].temp.clear();
                self.push(
                    at,
                    i,
                    k,
                    "delete_message",
                    Kind::Write,
                    json!({ "message_id": c.messages[m].id }),
                );
            }
            (7, Some(m), Some(p)) => self.push(
                at,
                i,
                k,
                "mark_read",
                Kind::Write,
                json!({ "message_id": c.messages[m].id, "identity_id": p }),
            ),
            (8, _, Some(p)) => self.push(
                at,
                i,
                k,
                "mark_all_read",
                Kind::Write,
                json!({ "identity_id": p }),
            ),
            (9, Some(m), _) => {
                // Two attachments, then promoted in reverse index order now and then.
                for _ in 0..2 {
                    let msg = &mut c.messages[m];
                    if !msg.deleted {
                        msg.temp.push(msg.next_index);
                        msg.next_index += 1;
                    }
                    let (name, size) = (*self.rng.pick(&FILES), self.rng.range(1, 5_000_000));
                    self.push(
                        at,
                        i,
                        k,
                        "attach",
                        Kind::Write,
                        json!({ "message_id": c.messages[m].id, "name": name, "size": size }),
                    );
                }
            }
            (10, Some(m), _) => {
                let msg = &mut c.messages[m];
                let index = msg.temp.pop().unwrap_or(7);
                let args = json!({ "message_id": msg.id, "index": index, "storage_key": format!("s3://files/{}/{}/{index}", c.id, msg.id) });
                self.push(at, i, k, "promote_attachment", Kind::Write, args);
            }
            (11, _, _) => {
                let subject = if self.rng.chance(30) {
                    Value::Null
                } else {
                    json!(self.text())
                };
                self.push(
                    at,
                    i,
                    k,
                    "rename",
                    Kind::Write,
                    json!({ "subject": subject }),
                );
            }
            (12, _, _) => {
                let op = if self.rng.chance(60) {
                    "archive"
                } else {
                    "unarchive"
                };
                self.push(at, i, k, op, Kind::Write, json!({}));
            }
            (13, _, _) => self.push(at, i, k, "find_by_id", Kind::Read, json!({})),
            (14, _, _) => self.push(at, i, k, "exists", Kind::Read, json!({})),
            (15, _, _) => self.push(at, i, k, "list_participants", Kind::Read, json!({})),
            (16, _, _) => self.push(at, i, k, "count_messages", Kind::Read, json!({})),
            (17 | 18, _, _) => {
                let (offset, limit) = (
                    self.rng.range(0, c.messages.len() as u64 + 2),
                    self.rng.range(1, 25),
                );
                self.push(
                    at,
                    i,
                    k,
                    "messages_page",
                    Kind::Read,
                    json!({ "offset": offset, "limit": limit }),
                );
            }
            (19, _, _) => self.push(at, i, k, "last_message", Kind::Read, json!({})),
            (20, m, _) => {
                let id = m.map_or("m9999".to_string(), |m| c.messages[m].id.clone());
                self.push(
                    at,
                    i,
                    k,
                    "message_by_id",
                    Kind::Read,
                    json!({ "message_id": id }),
                );
            }
            (21, _, _) => self.push(at, i, k, "unread_counts", Kind::Read, json!({})),
            (22, _, p) => self.push(
                at,
                i,
                k,
                "has_unread",
                Kind::Read,
                json!({ "identity_id": p.unwrap_or_else(|| "u999".into()) }),
            ),
            (23, Some(m), _) => self.push(
                at,
                i,
                k,
                "read_receipts",
                Kind::Read,
                json!({ "message_id": c.messages[m].id }),
            ),
            (24, _, _) => self.push(at, i, k, "stored_files", Kind::Read, json!({})),
            (25, _, _) => self.push(at, i, k, "temp_attachments", Kind::Read, json!({})),
            (26, _, _) => {
                // A client that saves a conversation twice.
                let doc = self.document(&key, at, None);
                self.push(
                    at,
                    i,
                    k,
                    "create_conversation",
                    Kind::Write,
                    json!({ "conversation": doc }),
                );
            }
            _ => self.push(at, i, k, "find_by_id", Kind::Read, json!({})),
        }
    }

    /// A read across conversations, at some point in the timeline.
    fn keyless(&mut self, n: usize, start: DateTime<Utc>) {
        let at =
            (start + Duration::minutes(self.rng.range(0, 60 * 24 * 75) as i64)).timestamp_millis();
        let order = usize::MAX - n;
        let (op, args) = match self.rng.range(0, 8) {
            0 => {
                let mut ids: Vec<String> = (0..self.rng.range(1, 8))
                    .map(|_| self.rng.pick(&self.ids).clone())
                    .collect();
                ids.push("c-missing".into());
                ids.push(ids[0].clone());
                ("find_by_ids", json!({ "ids": ids }))
            }
            1 => {
                let from = at - self.rng.range(0, 20 * 86_400_000) as i64;
                (
                    "find_by_date_range",
                    json!({ "from": time(from), "to": time(at) }),
                )
            }
            2 => (
                "find_by_participant",
                json!({ "identity_id": self.identity().0 }),
            ),
            3 => {
                let (a, b) = if self.projects_used.is_empty() || self.rng.chance(20) {
                    ("p98".to_string(), "p99".to_string())
                } else {
                    self.rng.pick(&self.projects_used).clone()
                };
                // Either order: the relation is the same.
                let (a, b) = if self.rng.chance(50) { (b, a) } else { (a, b) };
                (
                    "find_by_relation",
                    json!({ "project_a": a, "project_b": b }),
                )
            }
            4 => (
                "conversations_of_project",
                json!({ "project": format!("p{:02}", self.rng.range(0, 29)) }),
            ),
            5 => (
                "search_messages",
                json!({ "text": self.rng.pick(&SEARCHES), "limit": self.rng.range(1, 50) }),
            ),
            6 => ("unread_total", json!({ "identity_id": self.identity().0 })),
            7 => ("count_conversations", json!({})),
            _ => ("find_archived", json!({ "limit": self.rng.range(1, 20) })),
        };
        self.timeline.push(Timed {
            at,
            conversation: usize::MAX,
            order,
            key: None,
            op,
            kind: Kind::Read,
            args,
            interval: None,
        });
    }
}

fn time(ms: i64) -> String {
    format_time(DateTime::from_timestamp_millis(ms).expect("in range"))
}
