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
//! milliseconds).

use super::change;
use super::model::{format_time, Conversation, Message, Participant};
use super::ops::{Command, Operation, ReadOp, WriteOp};
use super::{Failure, Repository};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cutover::targets::InfraError;
use cutover_declared::value::bson::to_canonical;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The document's version: absent when saved, incremented by every update.
const VERSION: &str = "_v";

/// How many times a write is tried while other writes keep changing its document.
const ATTEMPTS: usize = 100;

/// The version a write expects to find: the one it loaded, or any.
enum Expect {
    Any,
    /// `None`: the document has no version yet.
    Version(Option<Bson>),
}

impl Expect {
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
    conversations: Collection<Document>,
}

impl Mongo {
    /// Connects to `uri` and uses database `database`.
    pub async fn connect(uri: &str, database: &str) -> Result<Mongo, Failure> {
        let client = Client::with_uri_str(uri).await.map_err(failure)?;
        Ok(Mongo {
            conversations: client.database(database).collection("conversations"),
        })
    }

    /// Every conversation id, in id order (for sampling).
    pub async fn ids(&self) -> Result<Vec<String>, Failure> {
        let cursor = self
            .conversations
            .find(doc! {})
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(failure)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(String::from))
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

    async fn load(&self, id: &str) -> Result<Option<Conversation>, Failure> {
        let found = self
            .conversations
            .find_one(doc! { "_id": id })
            .await
            .map_err(failure)?;
        found.map(to_conversation).transpose()
    }

    async fn existing(&self, id: &str) -> Result<Conversation, Failure> {
        self.load(id)
            .await?
            .ok_or_else(|| Failure::not_found(format!("conversation {id}")))
    }

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

    /// A write, loaded and tried again while another write changed the document between
    /// its load and its update (an optimistic version, as the legacy service's ORM keeps).
    async fn write(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        for _ in 0..ATTEMPTS {
            match self.write_once(c, op).await {
                Err(Failure::Stale) => continue,
                done => return done,
            }
        }
        Err(Failure::Stale)
    }

    async fn write_once(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        let id = c.id();
        let at = date(c.at);
        match op {
            WriteOp::CreateConversation(new) => {
                let mut stored = to_bson_document(&new.raw)?;
                stored.remove("id");
                stored.insert("_id", id);
                self.conversations
                    .insert_one(&stored)
                    .await
                    .map_err(failure)?;
                Ok(to_json(&to_conversation(stored)?))
            }
            WriteOp::AddParticipant(p) => {
                let (conv, v) = self.loaded(id).await?;
                if participant(&conv, &p.identity_id).is_some() {
                    return Err(Failure::conflict(format!(
                        "{} already takes part",
                        p.identity_id
                    )));
                }
                let added = doc! { "identity_id": &p.identity_id, "name": &p.name, "role": &p.role, "joined_at": at };
                self.update(id, &v, doc! { "$push": { "participants": added } }, None)
                    .await?;
                // The answer is what this write stored: a read after it could show a later
                // write's change.
                Ok(to_json(&Participant {
                    identity_id: p.identity_id.clone(),
                    name: p.name.clone(),
                    role: p.role.clone(),
                    joined_at: format_time(c.at),
                }))
            }
            WriteOp::RemoveParticipant(p) => {
                let (conv, v) = self.loaded(id).await?;
                participant(&conv, &p.identity_id)
                    .ok_or_else(|| Failure::not_found(format!("participant {}", p.identity_id)))?;
                let pull = doc! { "$pull": { "participants": { "identity_id": &p.identity_id } } };
                self.update(id, &v, pull, None).await?;
                Ok(Value::Null)
            }
            WriteOp::SetRole(p) => {
                let (conv, v) = self.loaded(id).await?;
                participant(&conv, &p.identity_id)
                    .ok_or_else(|| Failure::not_found(format!("participant {}", p.identity_id)))?;
                let mut filter = doc! { "_id": id, "participants.identity_id": &p.identity_id };
                v.constrain(&mut filter);
                let set = bump(doc! { "$set": { "participants.$.role": &p.role } });
                let done = self
                    .conversations
                    .update_one(filter, set)
                    .await
                    .map_err(failure)?;
                if done.matched_count == 0 {
                    return Err(Failure::Stale);
                }
                Ok(Value::Null)
            }
            WriteOp::PostMessage(m) => {
                let (conv, v) = self.loaded(id).await?;
                if participant(&conv, &m.author_id).is_none() {
                    return Err(Failure::invalid(format!(
                        "{} does not take part",
                        m.author_id
                    )));
                }
                if message(&conv, &m.message_id).is_some() {
                    return Err(Failure::conflict(format!(
                        "message {} exists",
                        m.message_id
                    )));
                }
                // As the legacy service pushed them: no edited_at, no attachment arrays yet.
                let posted = doc! {
                    "id": &m.message_id, "author_id": &m.author_id, "text": &m.text,
                    "created_at": at, "deleted": false, "read_by": [],
                };
                self.update(id, &v, doc! { "$push": { "messages": posted } }, None)
                    .await?;
                Ok(to_json(&Message {
                    id: m.message_id.clone(),
                    author_id: m.author_id.clone(),
                    text: Some(m.text.clone()),
                    created_at: format_time(c.at),
                    edited_at: None,
                    deleted: false,
                    read_by: Vec::new(),
                    temp_attachments: Vec::new(),
                    stored_files: Vec::new(),
                }))
            }
            WriteOp::EditMessage(e) => {
                let (found, v) = self.live_message(id, &e.message_id).await?;
                let set = doc! { "$set": { "messages.$[m].text": &e.text, "messages.$[m].edited_at": at } };
                self.update(id, &v, set, Some(vec![doc! { "m.id": &found.id }]))
                    .await?;
                Ok(to_json(&Message {
                    text: Some(e.text.clone()),
                    edited_at: Some(format_time(c.at)),
                    ..found
                }))
            }
            WriteOp::DeleteMessage(d) => {
                let (conv, v) = self.loaded(id).await?;
                message(&conv, &d.message_id)
                    .ok_or_else(|| Failure::not_found(format!("message {}", d.message_id)))?;
                let set = doc! { "$set": {
                    "messages.$[m].text": Bson::Null, "messages.$[m].deleted": true, "messages.$[m].temp_attachments": [],
                } };
                self.update(id, &v, set, Some(vec![doc! { "m.id": &d.message_id }]))
                    .await?;
                Ok(Value::Null)
            }
            WriteOp::MarkRead(r) => {
                let (conv, v) = self.loaded(id).await?;
                message(&conv, &r.message_id)
                    .ok_or_else(|| Failure::not_found(format!("message {}", r.message_id)))?;
                if participant(&conv, &r.identity_id).is_none() {
                    return Err(Failure::invalid(format!(
                        "{} does not take part",
                        r.identity_id
                    )));
                }
                let add = doc! { "$addToSet": { "messages.$[m].read_by": &r.identity_id } };
                self.update(id, &v, add, Some(vec![doc! { "m.id": &r.message_id }]))
                    .await?;
                Ok(Value::Null)
            }
            WriteOp::MarkAllRead(p) => {
                let (conv, v) = self.loaded(id).await?;
                if participant(&conv, &p.identity_id).is_none() {
                    return Err(Failure::invalid(format!(
                        "{} does not take part",
                        p.identity_id
                    )));
                }
                let marked = conv
                    .messages
                    .iter()
                    .filter(|m| is_unread(m, &p.identity_id))
                    .count();
                let add = doc! { "$addToSet": { "messages.$[m].read_by": &p.identity_id } };
                let filter =
                    doc! { "m.deleted": { "$ne": true }, "m.author_id": { "$ne": &p.identity_id } };
                self.update(id, &v, add, Some(vec![filter])).await?;
                Ok(json!({ "marked": marked }))
            }
            WriteOp::Attach(a) => {
                let (found, v) = self.live_message(id, &a.message_id).await?;
                let index = found.next_index();
                let attachment =
                    doc! { "index": index as i64, "name": &a.name, "size": a.size as i64 };
                let push = doc! { "$push": { "messages.$[m].temp_attachments": attachment } };
                c.pause().await;
                self.update(id, &v, push, Some(vec![doc! { "m.id": &a.message_id }]))
                    .await?;
                Ok(json!({ "index": index, "name": a.name, "size": a.size }))
            }
            WriteOp::PromoteAttachment(p) => {
                let (found, v) = self.live_message(id, &p.message_id).await?;
                let temp = found
                    .temp_attachments
                    .iter()
                    .find(|t| t.index == p.index)
                    .ok_or_else(|| {
                        Failure::not_found(format!(
                            "attachment {} of message {}",
                            p.index, p.message_id
                        ))
                    })?;
                let file = doc! { "index": p.index as i64, "name": &temp.name, "size": temp.size as i64, "storage_key": &p.storage_key };
                let update = doc! {
                    "$pull": { "messages.$[m].temp_attachments": { "index": p.index as i64 } },
                    "$push": { "messages.$[m].stored_files": { "$each": [file], "$sort": { "index": 1 } } },
                };
                self.update(id, &v, update, Some(vec![doc! { "m.id": &p.message_id }]))
                    .await?;
                Ok(
                    json!({ "index": p.index, "name": temp.name, "size": temp.size, "storage_key": p.storage_key }),
                )
            }
            WriteOp::Rename(r) => {
                let subject = r
                    .subject
                    .as_ref()
                    .map_or(Bson::Null, |s| Bson::String(s.clone()));
                self.update(
                    id,
                    &Expect::Any,
                    doc! { "$set": { "subject": subject } },
                    None,
                )
                .await?;
                Ok(Value::Null)
            }
            WriteOp::Archive | WriteOp::Unarchive => {
                let archived = matches!(op, WriteOp::Archive);
                self.update(
                    id,
                    &Expect::Any,
                    doc! { "$set": { "archived": archived } },
                    None,
                )
                .await?;
                Ok(Value::Null)
            }
            WriteOp::DeleteConversation => {
                let result = self
                    .conversations
                    .delete_one(doc! { "_id": id })
                    .await
                    .map_err(failure)?;
                if result.deleted_count == 0 {
                    return Err(Failure::not_found(format!("conversation {id}")));
                }
                Ok(Value::Null)
            }
            WriteOp::UpdateConversation(u) => {
                let (mut conv, v) = self.loaded(id).await?;
                c.pause().await;
                change::apply(&mut conv, &u.changes, c.at)?;
                let mut replacement = to_bson_document(&to_json(&conv))?;
                replacement.remove("id");
                replacement.insert("_id", id);
                replacement.insert(VERSION, v.next());
                let mut filter = doc! { "_id": id };
                v.constrain(&mut filter);
                let done = self
                    .conversations
                    .replace_one(filter, replacement)
                    .await
                    .map_err(failure)?;
                if done.matched_count == 0 {
                    return Err(Failure::Stale);
                }
                Ok(to_json(&conv))
            }
        }
    }

    async fn live_message(&self, id: &str, message_id: &str) -> Result<(Message, Expect), Failure> {
        let (conv, v) = self.loaded(id).await?;
        let found = message(&conv, message_id)
            .ok_or_else(|| Failure::not_found(format!("message {message_id}")))?;
        if found.deleted {
            return Err(Failure::invalid(format!("message {message_id} is deleted")));
        }
        Ok((found.clone(), v))
    }

    async fn read(&self, c: &Command, op: &ReadOp) -> Result<Value, Failure> {
        let id = c.id();
        match op {
            ReadOp::FindById => Ok(to_json(&self.existing(id).await?)),
            ReadOp::Exists => {
                let n = self
                    .conversations
                    .count_documents(doc! { "_id": id })
                    .await
                    .map_err(failure)?;
                Ok(json!(n > 0))
            }
            ReadOp::ListParticipants => Ok(to_json(&self.existing(id).await?.participants)),
            ReadOp::CountMessages => {
                let conv = self.existing(id).await?;
                Ok(json!(conv.messages.iter().filter(|m| !m.deleted).count()))
            }
            ReadOp::MessagesPage(p) => {
                let projection =
                    doc! { "messages": { "$slice": [p.offset as i64, p.limit as i64] } };
                let found = self
                    .conversations
                    .find_one(doc! { "_id": id })
                    .projection(projection)
                    .await
                    .map_err(failure)?;
                let conv = to_conversation(
                    found.ok_or_else(|| Failure::not_found(format!("conversation {id}")))?,
                )?;
                Ok(to_json(&conv.messages))
            }
            ReadOp::LastMessage => {
                let conv = self.existing(id).await?;
                let last = conv.messages.iter().rev().find(|m| !m.deleted);
                last.map(to_json)
                    .ok_or_else(|| Failure::not_found(format!("a message in {id}")))
            }
            ReadOp::MessageById(m) => {
                let conv = self.existing(id).await?;
                message(&conv, &m.message_id)
                    .map(to_json)
                    .ok_or_else(|| Failure::not_found(format!("message {}", m.message_id)))
            }
            ReadOp::UnreadCounts => {
                let conv = self.existing(id).await?;
                let counts: Vec<Value> = conv
                    .participants
                    .iter()
                    .map(|p| {
                        let n = conv
                            .messages
                            .iter()
                            .filter(|m| is_unread(m, &p.identity_id))
                            .count();
                        json!({ "identity_id": p.identity_id, "unread": n })
                    })
                    .collect();
                Ok(Value::Array(counts))
            }
            ReadOp::HasUnread(p) => {
                let conv = self.existing(id).await?;
                if participant(&conv, &p.identity_id).is_none() {
                    return Err(Failure::invalid(format!(
                        "{} does not take part",
                        p.identity_id
                    )));
                }
                Ok(json!(conv
                    .messages
                    .iter()
                    .any(|m| is_unread(m, &p.identity_id))))
            }
            ReadOp::ReadReceipts(m) => {
                let conv = self.existing(id).await?;
                let found = message(&conv, &m.message_id)
                    .ok_or_else(|| Failure::not_found(format!("message {}", m.message_id)))?;
                Ok(to_json(&found.read_by))
            }
            ReadOp::StoredFiles | ReadOp::TempAttachments => {
                let conv = self.existing(id).await?;
                let stored = matches!(op, ReadOp::StoredFiles);
                let mut out = Vec::new();
                for m in &conv.messages {
                    let items: Vec<Value> = if stored {
                        m.stored_files.iter().map(to_json).collect()
                    } else {
                        m.temp_attachments.iter().map(to_json).collect()
                    };
                    for mut item in items {
                        item["message_id"] = json!(m.id);
                        out.push(item);
                    }
                }
                Ok(Value::Array(out))
            }
            ReadOp::FindByIds(ids) => {
                let found = self
                    .find_many(doc! { "_id": { "$in": &ids.ids } }, doc! {})
                    .await?;
                let mut by_id: HashMap<String, Conversation> =
                    found.into_iter().map(|c| (c.id.clone(), c)).collect();
                // In the order asked for, each conversation once.
                let ordered: Vec<Value> = ids
                    .ids
                    .iter()
                    .filter_map(|i| by_id.remove(i))
                    .map(|c| to_json(&c))
                    .collect();
                Ok(Value::Array(ordered))
            }
            ReadOp::FindByDateRange(r) => {
                let (from, to) = (parse(&r.from)?, parse(&r.to)?);
                let filter = doc! { "created_at": { "$gte": date(from), "$lte": date(to) } };
                let found = self
                    .find_many(filter, doc! { "created_at": 1, "_id": 1 })
                    .await?;
                Ok(to_json(&found))
            }
            ReadOp::FindByParticipant(p) => {
                let filter = doc! { "participants.identity_id": &p.identity_id };
                let found = self
                    .find_many(filter, doc! { "created_at": -1, "_id": 1 })
                    .await?;
                Ok(to_json(&found))
            }
            ReadOp::FindByRelation(r) => {
                let (a, b) = if r.project_a <= r.project_b {
                    (&r.project_a, &r.project_b)
                } else {
                    (&r.project_b, &r.project_a)
                };
                let filter =
                    doc! { "kind": "relation", "relation.project_a": a, "relation.project_b": b };
                let found = self.conversations.find_one(filter).await.map_err(failure)?;
                let found = found.ok_or_else(|| Failure::not_found(format!("relation {a}/{b}")))?;
                Ok(to_json(&to_conversation(found)?))
            }
            ReadOp::ConversationsOfProject(p) => {
                let filter = doc! { "$or": [{ "relation.project_a": &p.project }, { "relation.project_b": &p.project }] };
                let found = self.find_many(filter, doc! { "_id": 1 }).await?;
                Ok(json!(found.iter().map(|c| &c.id).collect::<Vec<_>>()))
            }
            ReadOp::SearchMessages(s) => {
                let pipeline = [
                    doc! { "$unwind": { "path": "$messages", "includeArrayIndex": "position" } },
                    doc! { "$match": {
                        "messages.deleted": { "$ne": true },
                        "messages.text": { "$regex": regex_escape(&s.text), "$options": "i" },
                    } },
                    doc! { "$sort": { "messages.created_at": 1, "_id": 1, "position": 1 } },
                    doc! { "$limit": s.limit as i64 },
                    doc! { "$project": { "_id": 0, "conversation_id": "$_id", "message_id": "$messages.id" } },
                ];
                let cursor = self
                    .conversations
                    .aggregate(pipeline)
                    .await
                    .map_err(failure)?;
                let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
                let hits: Vec<Value> = docs
                    .iter()
                    .map(|d| json!({ "conversation_id": d.get_str("conversation_id").unwrap_or_default(), "message_id": d.get_str("message_id").unwrap_or_default() }))
                    .collect();
                Ok(Value::Array(hits))
            }
            ReadOp::UnreadTotal(p) => {
                let found = self
                    .find_many(doc! { "participants.identity_id": &p.identity_id }, doc! {})
                    .await?;
                let total: usize = found
                    .iter()
                    .map(|c| {
                        c.messages
                            .iter()
                            .filter(|m| is_unread(m, &p.identity_id))
                            .count()
                    })
                    .sum();
                Ok(json!(total))
            }
            ReadOp::CountConversations => {
                let n = self
                    .conversations
                    .count_documents(doc! {})
                    .await
                    .map_err(failure)?;
                Ok(json!(n))
            }
            ReadOp::FindArchived(l) => {
                let cursor = self
                    .conversations
                    .find(doc! { "archived": true })
                    .sort(doc! { "_id": 1 })
                    .limit(l.limit as i64)
                    .projection(doc! { "_id": 1 })
                    .await
                    .map_err(failure)?;
                let docs: Vec<Document> = cursor.try_collect().await.map_err(failure)?;
                Ok(json!(docs
                    .iter()
                    .filter_map(|d| d.get_str("_id").ok())
                    .collect::<Vec<_>>()))
            }
        }
    }
}

#[async_trait]
impl Repository for Mongo {
    fn name(&self) -> &str {
        "mongodb"
    }

    async fn reset(&self) -> Result<(), Failure> {
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
}

fn participant<'c>(
    conv: &'c Conversation,
    identity: &str,
) -> Option<&'c super::model::Participant> {
    conv.participants.iter().find(|p| p.identity_id == identity)
}

fn message<'c>(conv: &'c Conversation, id: &str) -> Option<&'c Message> {
    conv.messages.iter().find(|m| m.id == id)
}

/// Unread by `identity`: not deleted, written by someone else, not read by them.
pub(crate) fn is_unread(m: &Message, identity: &str) -> bool {
    !m.deleted && m.author_id != identity && !m.read_by.iter().any(|r| r == identity)
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("the model serializes")
}

fn date(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

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
