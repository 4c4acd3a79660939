//! Sampling production conversations: picks N conversations of a live legacy store and
//! writes a cassette that rebuilds them (one `create_conversation` each, the document as
//! stored) followed by a mix of the reads the service makes on them.
//!
//! The choice is deterministic for a seed and stable as the store grows: conversations
//! are ranked by the SHA-256 of the seed and their id and the first N are taken.

use super::model::{format_time, parse_time, Conversation};
use super::mongo::Mongo;
use super::Failure;
use cutover::cassette::{Kind, Request};
use cutover::targets::rng::Rng;
use serde_json::{json, Value};

/// The sampled requests: seed writes, then reads.
pub async fn sample(legacy: &Mongo, count: usize, seed: u64) -> Result<Vec<Request>, Failure> {
    let mut ids = legacy.ids().await?;
    // The SHA-256 of seed and id: the same order on every machine and toolchain (the
    // standard library's hasher promises no stability across releases).
    ids.sort_by_cached_key(|id| cutover::coverage::select::rank(seed, id));
    ids.truncate(count);
    ids.sort();

    let mut out = Builder {
        requests: Vec::new(),
        clock: 0,
    };
    let mut docs = Vec::new();
    for id in &ids {
        let Some(stored) = legacy.stored(id).await? else {
            continue;
        };
        let conversation: Conversation = serde_json::from_value(stored.clone()).map_err(|e| {
            Failure::Domain(
                cutover::cassette::ErrorKind::Internal,
                format!("conversation {id}: {e}"),
            )
        })?;
        let created = parse_time(&conversation.created_at)
            .map_err(Failure::invalid)?
            .timestamp_millis();
        out.clock = out.clock.max(created);
        out.push(
            Some(id),
            "create_conversation",
            Kind::Write,
            json!({ "conversation": stored }),
            Some(created),
        );
        docs.push(conversation);
    }
    // The reads come after every seed write, one millisecond apart.
    out.clock += 86_400_000;
    let mut rng = Rng::new(seed);
    for c in &docs {
        out.keyed_reads(c, &mut rng);
    }
    out.keyless_reads(&docs, &mut rng);
    Ok(out.requests)
}

struct Builder {
    requests: Vec<Request>,
    clock: i64,
}

impl Builder {
    fn push(&mut self, key: Option<&str>, op: &str, kind: Kind, args: Value, at: Option<i64>) {
        let at = at.unwrap_or_else(|| {
            self.clock += 1;
            self.clock
        });
        self.requests.push(Request {
            events: None,
            latency_us: None,
            started_us: None,
            probe: None,
            seq: self.requests.len() as u64 + 1,
            key: key.map(String::from),
            op: op.into(),
            kind,
            args,
            at: format_time(chrono::DateTime::from_timestamp_millis(at).unwrap_or_default()),
            outcome: None,
            state: None,
        });
    }

    fn read(&mut self, key: Option<&str>, op: &str, args: Value) {
        self.push(key, op, Kind::Read, args, None);
    }

    fn keyed_reads(&mut self, c: &Conversation, rng: &mut Rng) {
        let k = Some(c.id.as_str());
        for op in [
            "find_by_id",
            "exists",
            "list_participants",
            "count_messages",
            "last_message",
            "unread_counts",
            "stored_files",
            "temp_attachments",
        ] {
            self.read(k, op, json!({}));
        }
        let n = c.messages.len() as u64;
        self.read(k, "messages_page", json!({ "offset": 0, "limit": 20 }));
        self.read(
            k,
            "messages_page",
            json!({ "offset": rng.range(0, n + 1), "limit": rng.range(1, 50) }),
        );
        if let Some(m) = c.messages.get(rng.range(0, n.max(1) - 1) as usize) {
            self.read(k, "message_by_id", json!({ "message_id": m.id }));
            self.read(k, "read_receipts", json!({ "message_id": m.id }));
        }
        if let Some(p) = c.participants.first() {
            self.read(k, "has_unread", json!({ "identity_id": p.identity_id }));
        }
    }

    fn keyless_reads(&mut self, docs: &[Conversation], rng: &mut Rng) {
        if docs.is_empty() {
            return;
        }
        let mut ids: Vec<&str> = docs.iter().map(|c| c.id.as_str()).collect();
        ids.sort_by_key(|_| rng.next_u64());
        ids.truncate(10);
        self.read(None, "find_by_ids", json!({ "ids": ids }));
        self.read(None, "count_conversations", json!({}));
        self.read(None, "find_archived", json!({ "limit": 20 }));
        for c in docs.iter().take(20) {
            if let Some(r) = &c.relation {
                self.read(
                    None,
                    "find_by_relation",
                    json!({ "project_a": r.project_b, "project_b": r.project_a }),
                );
                self.read(
                    None,
                    "conversations_of_project",
                    json!({ "project": r.project_a }),
                );
            }
            if let Some(p) = c
                .participants
                .get(rng.range(0, c.participants.len().max(1) as u64 - 1) as usize)
            {
                self.read(
                    None,
                    "find_by_participant",
                    json!({ "identity_id": p.identity_id }),
                );
                self.read(
                    None,
                    "unread_total",
                    json!({ "identity_id": p.identity_id }),
                );
            }
            let word = c
                .messages
                .iter()
                .filter_map(|m| m.text.as_deref())
                .flat_map(str::split_whitespace)
                .find(|w| w.is_ascii() && w.len() > 3);
            if let Some(word) = word {
                self.read(
                    None,
                    "search_messages",
                    json!({ "text": word.to_uppercase(), "limit": 50 }),
                );
            }
            let from = format_time(
                parse_time(&c.created_at).unwrap_or_default() - chrono::Duration::days(3),
            );
            self.read(
                None,
                "find_by_date_range",
                json!({ "from": from, "to": c.created_at }),
            );
        }
    }
}
