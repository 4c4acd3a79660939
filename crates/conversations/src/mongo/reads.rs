//! The reads of the MongoDB repository: a read of one conversation loads its document and
//! answers from it in code, as the legacy service did; a read across conversations is a
//! query sorted by the store.

use super::{
    date, failure, is_unread, message, parse, participant, regex_escape, to_conversation, to_json,
    Mongo,
};
use crate::model::{Conversation, Message, Relation};
use crate::ops::{
    Command, DateRange, Identity, Ids, Limit, MessageRef, Page, Project, ReadOp, Search,
};
use crate::Failure;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::collections::HashMap;

impl Mongo {
    /// Runs one read.
    pub(super) async fn read(&self, c: &Command, op: &ReadOp) -> Result<Value, Failure> {
        let id = c.id();
        match op {
            ReadOp::FindById => Ok(to_json(&self.existing(id).await?)),
            ReadOp::Exists => self.exists(id).await,
            ReadOp::ListParticipants => Ok(to_json(&self.existing(id).await?.participants)),
            ReadOp::CountMessages => self.count_messages(id).await,
            ReadOp::MessagesPage(p) => self.messages_page(id, p).await,
            ReadOp::LastMessage => self.last_message(id).await,
            ReadOp::MessageById(m) => self.message_by_id(id, m).await,
            ReadOp::UnreadCounts => self.unread_counts(id).await,
            ReadOp::HasUnread(p) => self.has_unread(id, p).await,
            ReadOp::ReadReceipts(m) => self.read_receipts(id, m).await,
            ReadOp::StoredFiles => self.stored_files(id).await,
            ReadOp::TempAttachments => self.temp_attachments(id).await,
            ReadOp::FindByIds(ids) => self.find_by_ids(ids).await,
            ReadOp::FindByDateRange(r) => self.find_by_date_range(r).await,
            ReadOp::FindByParticipant(p) => self.find_by_participant(p).await,
            ReadOp::FindByRelation(r) => self.find_by_relation(r).await,
            ReadOp::ConversationsOfProject(p) => self.conversations_of_project(p).await,
            ReadOp::SearchMessages(s) => self.search_messages(s).await,
            ReadOp::UnreadTotal(p) => self.unread_total(p).await,
            ReadOp::CountConversations => self.count_conversations().await,
            ReadOp::FindArchived(l) => self.find_archived(l).await,
        }
    }

    /// `exists`.
    async fn exists(&self, id: &str) -> Result<Value, Failure> {
        let n = self
            .conversations
            .count_documents(doc! { "_id": id })
            .await
            .map_err(failure)?;
        Ok(json!(n > 0))
    }

    /// `count_messages`: the messages not deleted.
    async fn count_messages(&self, id: &str) -> Result<Value, Failure> {
        let conv = self.existing(id).await?;
        Ok(json!(conv.messages.iter().filter(|m| !m.deleted).count()))
    }

    /// `messages_page`: a window on the messages in their order (`$slice`), deleted ones
    /// included.
    async fn messages_page(&self, id: &str, p: &Page) -> Result<Value, Failure> {
        let projection = doc! { "messages": { "$slice": [p.offset as i64, p.limit as i64] } };
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

    /// `last_message`: the latest message not deleted, or `not_found`.
    async fn last_message(&self, id: &str) -> Result<Value, Failure> {
        let conv = self.existing(id).await?;
        let last = conv.messages.iter().rev().find(|m| !m.deleted);
        last.map(to_json)
            .ok_or_else(|| Failure::not_found(format!("a message in {id}")))
    }

    /// `message_by_id`: one message, deleted or not.
    async fn message_by_id(&self, id: &str, m: &MessageRef) -> Result<Value, Failure> {
        let conv = self.existing(id).await?;
        message(&conv, &m.message_id)
            .map(to_json)
            .ok_or_else(|| Failure::not_found(format!("message {}", m.message_id)))
    }

    /// `unread_counts`: per participant in joining order, the messages unread by them.
    async fn unread_counts(&self, id: &str) -> Result<Value, Failure> {
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

    /// `has_unread`: `invalid` if the identity does not take part.
    async fn has_unread(&self, id: &str, p: &Identity) -> Result<Value, Failure> {
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

    /// `read_receipts`: the readers of a message, in the order they read it.
    async fn read_receipts(&self, id: &str, m: &MessageRef) -> Result<Value, Failure> {
        let conv = self.existing(id).await?;
        let found = message(&conv, &m.message_id)
            .ok_or_else(|| Failure::not_found(format!("message {}", m.message_id)))?;
        Ok(to_json(&found.read_by))
    }

    /// `stored_files`: every stored file, each with its `message_id`.
    async fn stored_files(&self, id: &str) -> Result<Value, Failure> {
        self.of_each_message(id, |m| m.stored_files.iter().map(to_json).collect())
            .await
    }

    /// `temp_attachments`: every temporary attachment, each with its `message_id`.
    async fn temp_attachments(&self, id: &str) -> Result<Value, Failure> {
        self.of_each_message(id, |m| m.temp_attachments.iter().map(to_json).collect())
            .await
    }

    /// The `items` of every message of the conversation, in message order, each with its
    /// `message_id`.
    async fn of_each_message(
        &self,
        id: &str,
        items: impl Fn(&Message) -> Vec<Value>,
    ) -> Result<Value, Failure> {
        let conv = self.existing(id).await?;
        let mut out = Vec::new();
        for m in &conv.messages {
            for mut item in items(m) {
                item["message_id"] = json!(m.id);
                out.push(item);
            }
        }
        Ok(Value::Array(out))
    }

    /// `find_by_ids`: in the order asked for, each conversation once.
    async fn find_by_ids(&self, ids: &Ids) -> Result<Value, Failure> {
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

    /// `find_by_date_range`: by creation time, then id.
    async fn find_by_date_range(&self, r: &DateRange) -> Result<Value, Failure> {
        let (from, to) = (parse(&r.from)?, parse(&r.to)?);
        let filter = doc! { "created_at": { "$gte": date(from), "$lte": date(to) } };
        let found = self
            .find_many(filter, doc! { "created_at": 1, "_id": 1 })
            .await?;
        Ok(to_json(&found))
    }

    /// `find_by_participant`: newest first, then by id.
    async fn find_by_participant(&self, p: &Identity) -> Result<Value, Failure> {
        let filter = doc! { "participants.identity_id": &p.identity_id };
        let found = self
            .find_many(filter, doc! { "created_at": -1, "_id": 1 })
            .await?;
        Ok(to_json(&found))
    }

    /// `find_by_relation`: the projects in either order, or `not_found`.
    async fn find_by_relation(&self, r: &Relation) -> Result<Value, Failure> {
        let (a, b) = if r.project_a <= r.project_b {
            (&r.project_a, &r.project_b)
        } else {
            (&r.project_b, &r.project_a)
        };
        let filter = doc! { "kind": "relation", "relation.project_a": a, "relation.project_b": b };
        let found = self.conversations.find_one(filter).await.map_err(failure)?;
        let found = found.ok_or_else(|| Failure::not_found(format!("relation {a}/{b}")))?;
        Ok(to_json(&to_conversation(found)?))
    }

    /// `conversations_of_project`: ids, in id order.
    async fn conversations_of_project(&self, p: &Project) -> Result<Value, Failure> {
        let filter = doc! { "$or": [{ "relation.project_a": &p.project }, { "relation.project_b": &p.project }] };
        let found = self.find_many(filter, doc! { "_id": 1 }).await?;
        Ok(json!(found.iter().map(|c| &c.id).collect::<Vec<_>>()))
    }

    /// `search_messages`: messages not deleted whose text contains the text, ignoring case,
    /// by creation time, conversation and position; as `{"conversation_id", "message_id"}`.
    async fn search_messages(&self, s: &Search) -> Result<Value, Failure> {
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

    /// `unread_total`: the messages unread by an identity across its conversations.
    async fn unread_total(&self, p: &Identity) -> Result<Value, Failure> {
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

    /// `count_conversations`.
    async fn count_conversations(&self) -> Result<Value, Failure> {
        let n = self
            .conversations
            .count_documents(doc! {})
            .await
            .map_err(failure)?;
        Ok(json!(n))
    }

    /// `find_archived`: ids, in id order, at most `limit`.
    async fn find_archived(&self, l: &Limit) -> Result<Value, Failure> {
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
