//! The legacy repository: one MongoDB `conversations` collection, each conversation one
//! document with its participants and messages embedded (and, in each message, its read
//! receipts, temporary attachments and stored files).
//!
//! Written the way the legacy service is: load the aggregate, check it in code, then send
//! a targeted update (`$push`, `$pull`, positional and `arrayFilters` updates) that holds
//! only if the document still has the version it was loaded at (`_v`, incremented by every
//! update; a write whose document changed meanwhile loads it again), so the writes of one
//! conversation are atomic, as the legacy service's ORM made them. `update_conversation`
//! replaces the whole document under the same version check. Documents
//! are stored as they came (an absent optional field stays absent); reads map them to the
//! canonical [`Conversation`], where absent and null read alike, through the cross-store
//! value model ([`cutover_declared::value::bson`]: dates become UTC timestamps at
//! milliseconds). The writes are in `writes.rs`, the reads in `reads.rs`. With a
//! [`Publisher`], a successful write publishes its events once its update is done.

mod reads;
mod writes;

use super::events::Publisher;
use super::model::{Conversation, Message};
use super::ops::{Command, Operation};
use super::{Failure, Repository};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover::targets::InfraError;
use cutover_declared::value::bson::to_canonical;
use cutover_servers::guard::ResetGuard;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};
use serde_json::Value;

/// The document's version: absent when saved, incremented by every update.
const VERSION: &str = "_v";

/// How many times a write is tried while other writes keep changing its document.
const ATTEMPTS: usize = 100;

/// The version a write expects to find: the one it loaded, or any.
enum Expect {
    /// Whatever the version: the update checks only that the document exists.
    Any,
    /// `None`: the document has no version yet.
    Version(Option<Bson>),
}

impl Expect {
    /// Adds the expected version to an update's `filter`.
    fn constrain(&self, filter: &mut Document) {
        match self {
            Expect::Any => {}
            Expect::Version(Some(v)) => {
                filter.insert(VERSION, v.clone());
            }
            Expect::Version(None) => {
                filter.insert(VERSION, doc! { "$exists": false });
            }
        }
    }

    /// The version after one more update.
    fn next(&self) -> i64 {
        match self {
            Expect::Version(Some(v)) => v.as_i64().or(v.as_i32().map(i64::from)).unwrap_or(0) + 1,
            Expect::Any | Expect::Version(None) => 1,
        }
    }
}

/// An update that also increments the document's version.
fn bump(mut update: Document) -> Document {
    update.insert("$inc", doc! { VERSION: 1_i64 });
    update
}

/// Field names whose strings are stored as BSON dates.
const DATE_FIELDS: [&str; 3] = ["created_at", "joined_at", "edited_at"];

/// The MongoDB conversations repository.
pub struct Mongo {
    database: mongodb::Database,
    conversations: Collection<Document>,
    events: Option<Publisher>,
    /// Whether `reset` may empty the database.
    guard: ResetGuard,
    /// The database's identity.
    identity: String,
    /// The fresh database made for this repository, dropped with it.
    _holds: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Mongo {
    /// Connects to `uri` and uses database `database`; a reset empties it only if it
    /// carries cutover's mark ([`cutover_servers::guard`]).
    pub async fn connect(uri: &str, database: &str) -> Result<Mongo, Failure> {
        Mongo::open(uri, database, ResetGuard::new(false), None).await
    }

    /// Connects to `uri` and uses database `database`, guarded by `guard`, holding the
    /// fresh database made for it if any.
    pub async fn open(
        uri: &str,
        database: &str,
        guard: ResetGuard,
        holds: Option<Box<dyn std::any::Any + Send + Sync>>,
    ) -> Result<Mongo, Failure> {
        let client = Client::with_uri_str(uri).await.map_err(failure)?;
        let identity = cutover_servers::spec::identity_on(uri, database);
        let database = client.database(database);
        Ok(Mongo {
            identity,
            conversations: database.collection("conversations"),
            database,
            events: None,
            guard,
            _holds: holds,
        })
    }

    /// The same repository publishing each successful write's events ([`crate::events`])
    /// after the write.
    pub fn with_events(self, publisher: Publisher) -> Mongo {
        Mongo {
            events: Some(publisher),
            ..self
        }
    }

    /// Every conversation id, in id order (for sampling).
    pub async fn ids(&self) -> Result<Vec<String>, Failure> {
        self.ids_where(doc! {}, None).await
    }

    /// Up to `limit` string ids after `after`, ascending: `$gt` and the sort compare
    /// strings by their UTF-8 bytes (the default binary collation), and a bound that is a
    /// string matches string ids alone (a document whose `_id` is not a string is no
    /// conversation a request can name, and is not listed).
    async fn ids_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Failure> {
        let bound = match after {
            Some(after) => doc! { "$gt": after },
            None => doc! { "$gte": "" },
        };
        self.ids_where(doc! { "_id": bound }, Some(limit)).await
    }

    /// The string ids of the documents `filter` selects, ascending, at most `limit`.
    async fn ids_where(
        &self,
        filter: Document,
        limit: Option<usize>,
    ) -> Result<Vec<String>, Failure> {
        let mut find = self
            .conversations
            .find(filter)
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 });
        if let Some(limit) = limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let cursor = find.await.map_err(failure)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(String::from))
            .collect())
    }

    /// The conversations of `ids` in one `find` with `$in`, in the order of `ids`: a
    /// document that does not decode into the model is that id's failure alone.
    async fn load_batch(&self, ids: &[String]) -> Result<Vec<super::Found>, Failure> {
        let cursor = self
            .conversations
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(failure)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
        let by_id: std::collections::HashMap<String, Document> = docs
            .into_iter()
            .filter_map(|d| Some((d.get_str("_id").ok()?.to_string(), d)))
            .collect();
        Ok(ids
            .iter()
            .map(|id| by_id.get(id).cloned().map(to_conversation).transpose())
            .collect())
    }

    /// A conversation document as stored (absent fields absent), in the shape
    /// `create_conversation` takes.
    pub async fn stored(&self, id: &str) -> Result<Option<Value>, Failure> {
        let found = self
            .conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(failure)?;
        Ok(found.map(|mut d| {
            d.remove(VERSION);
            if let Some(id) = d.remove("_id") {
                d.insert("id", id);
            }
            to_canonical(&Bson::Document(d))
        }))
    }

    /// The conversation, if it exists.
    async fn load(&self, id: &str) -> Result<Option<Conversation>, Failure> {
        let found = self
            .conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(failure)?;
        found.map(to_conversation).transpose()
    }

    /// The conversation, or `not_found`.
    async fn existing(&self, id: &str) -> Result<Conversation, Failure> {
        self.load(id)
            .await?
            .ok_or_else(|| Failure::not_found(format!("conversation {id}")))
    }

    /// The conversations `filter` matches, in the order of `sort`.
    async fn find_many(
        &self,
        filter: Document,
        sort: Document,
    ) -> Result<Vec<Conversation>, Failure> {
        let cursor = self
            .conversations
            .find(filter)
            .sort(sort)
            .await
            .map_err(failure)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
        docs.into_iter().map(to_conversation).collect()
    }

    /// The conversation and its version, for a write that checks it before updating.
    async fn loaded(&self, id: &str) -> Result<(Conversation, Expect), Failure> {
        let found = self
            .conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(failure)?
            .ok_or_else(|| Failure::not_found(format!("conversation {id}")))?;
        let version = Expect::Version(found.get(VERSION).cloned());
        Ok((to_conversation(found)?, version))
    }

    /// Updates the conversation (bumping its version). With an expected version, a
    /// document changed since its load is `Stale`; without, a missing one is `not_found`.
    async fn update(
        &self,
        id: &str,
        expect: &Expect,
        update: Document,
        filters: Option<Vec<Document>>,
    ) -> Result<(), Failure> {
        let mut filter = doc! { "_id": id };
        expect.constrain(&mut filter);
        let action = self.conversations.update_one(filter, bump(update));
        let result = match filters {
            Some(f) => action.array_filters(f).await,
            None => action.await,
        }
        .map_err(failure)?;
        match (result.matched_count, expect) {
            (0, Expect::Any) => Err(Failure::not_found(format!("conversation {id}"))),
            (0, Expect::Version(_)) => Err(Failure::Stale),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Repository for Mongo {
    fn name(&self) -> &str {
        "mongodb"
    }

    fn database(&self) -> Option<&str> {
        Some(&self.identity)
    }

    async fn reset(&self) -> Result<(), Failure> {
        self.guard
            .mongo(&self.database)
            .await
            .map_err(|e| Failure::Infra(InfraError::Other(e.to_string())))?;
        self.conversations.drop().await.map_err(failure)?;
        let relation = IndexModel::builder()
            .keys(doc! { "relation.project_a": 1, "relation.project_b": 1 })
            .options(
                IndexOptions::builder()
                    .unique(true)
                    .partial_filter_expression(doc! { "kind": "relation" })
                    .build(),
            )
            .build();
        self.conversations
            .create_index(relation)
            .await
            .map_err(failure)?;
        let by_participant = IndexModel::builder()
            .keys(doc! { "participants.identity_id": 1 })
            .build();
        self.conversations
            .create_index(by_participant)
            .await
            .map_err(failure)?;
        Ok(())
    }

    async fn run(&self, command: &Command) -> Result<Value, Failure> {
        match &command.op {
            Operation::Write(op) => self.write(command, op).await,
            Operation::Read(op) => self.read(command, op).await,
        }
    }

    async fn find(&self, id: &str) -> Result<Option<Conversation>, Failure> {
        self.load(id).await
    }

    async fn keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Failure> {
        self.ids_after(after, limit).await
    }

    async fn find_batch(&self, ids: &[String]) -> Result<Vec<super::Found>, Failure> {
        self.load_batch(ids).await
    }
}

/// The participant of `conv` with this identity.
fn participant<'c>(
    conv: &'c Conversation,
    identity: &str,
) -> Option<&'c super::model::Participant> {
    conv.participants.iter().find(|p| p.identity_id == identity)
}

/// The message of `conv` with this id.
fn message<'c>(conv: &'c Conversation, id: &str) -> Option<&'c Message> {
    conv.messages.iter().find(|m| m.id == id)
}

/// Unread by `identity`: not deleted, written by someone else, not read by them.
pub(crate) fn is_unread(m: &Message, identity: &str) -> bool {
    !m.deleted && m.author_id != identity && !m.read_by.iter().any(|r| r == identity)
}

/// A model value as JSON.
fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("the model serializes")
}

/// A timestamp as a BSON date, at milliseconds.
fn date(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

/// A timestamp argument; `invalid` if it cannot be read.
fn parse(text: &str) -> Result<DateTime<Utc>, Failure> {
    super::model::parse_time(text).map_err(Failure::invalid)
}

/// A stored document as the canonical conversation.
fn to_conversation(mut stored: Document) -> Result<Conversation, Failure> {
    if let Some(id) = stored.remove("_id") {
        stored.insert("id", id);
    }
    let json = to_canonical(&Bson::Document(stored));
    serde_json::from_value(json).map_err(|e| {
        Failure::Domain(
            cutover::cassette::ErrorKind::Internal,
            format!("unreadable document: {e}"),
        )
    })
}

/// A JSON document as BSON, with the timestamp fields as dates.
fn to_bson_document(value: &Value) -> Result<Document, Failure> {
    match json_to_bson(value, None)? {
        Bson::Document(d) => Ok(d),
        _ => Err(Failure::invalid("a conversation is an object")),
    }
}

/// A JSON value as BSON; a string under one of [`DATE_FIELDS`] as a date.
fn json_to_bson(value: &Value, field: Option<&str>) -> Result<Bson, Failure> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Bson::Int64(i),
            (None, Some(f)) => Bson::Double(f),
            _ => return Err(Failure::invalid(format!("number {n} does not fit"))),
        },
        Value::String(s) if field.is_some_and(|f| DATE_FIELDS.contains(&f)) => {
            Bson::DateTime(date(parse(s)?))
        }
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(
            items
                .iter()
                .map(|v| json_to_bson(v, None))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut d = Document::new();
            for (k, v) in map {
                d.insert(k.clone(), json_to_bson(v, Some(k))?);
            }
            Bson::Document(d)
        }
    })
}

/// Escapes a literal for a regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Maps driver errors: a duplicate key is `conflict`; an unreachable or dropped server is an
/// infrastructure failure; anything else is the repository's own `internal` error.
fn failure(e: mongodb::error::Error) -> Failure {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000 => {
            Failure::conflict(w.message.clone())
        }
        ErrorKind::Io(_) => Failure::Infra(InfraError::Disconnected(e.to_string())),
        ErrorKind::ServerSelection { .. } | ErrorKind::ConnectionPoolCleared { .. } => {
            Failure::Infra(InfraError::Refused(e.to_string()))
        }
        _ => Failure::Domain(cutover::cassette::ErrorKind::Internal, e.to_string()),
    }
}
