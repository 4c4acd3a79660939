//! The writes of the MongoDB repository, each as the legacy service makes it: the aggregate
//! loaded with its version and checked in code (the conversation, then the participant or
//! message, then the rest), then one targeted update that holds only at that version; a
//! write whose document changed meanwhile is tried again.

use super::{
    bump, date, failure, is_unread, message, participant, to_bson_document, to_conversation,
    to_json, Expect, Mongo, ATTEMPTS, VERSION,
};
use crate::change;
use crate::events;
use crate::model::{format_time, Message, Participant};
use crate::ops::{
    Attach, Command, Edit, Identity, MarkRead, MessageRef, NewConversation, NewParticipant, Post,
    Promote, Rename, SetRole, Update, WriteOp,
};
use crate::Failure;
use mongodb::bson::{doc, Bson};
use serde_json::{json, Value};

impl Mongo {
    /// A write, loaded and tried again while another write changed the document between
    /// its load and its update (an optimistic version, as the legacy service's ORM keeps).
    /// Its events are published once it is done.
    pub(super) async fn write(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        let answer = self.write_retried(c, op).await?;
        if let Some(publisher) = &self.events {
            publisher.publish(&events::of(c, op, &answer)).await?;
        }
        Ok(answer)
    }

    /// The write, tried again while its document changes under it.
    async fn write_retried(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        for _ in 0..ATTEMPTS {
            match self.write_once(c, op).await {
                Err(Failure::Stale) => continue,
                done => return done,
            }
        }
        Err(Failure::Stale)
    }

    /// One try of a write: `Stale` when its document changed since it was loaded.
    async fn write_once(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        match op {
            WriteOp::CreateConversation(new) => self.create_conversation(c, new).await,
            WriteOp::AddParticipant(p) => self.add_participant(c, p).await,
            WriteOp::RemoveParticipant(p) => self.remove_participant(c, p).await,
            WriteOp::SetRole(p) => self.set_role(c, p).await,
            WriteOp::PostMessage(m) => self.post_message(c, m).await,
            WriteOp::EditMessage(e) => self.edit_message(c, e).await,
            WriteOp::DeleteMessage(d) => self.delete_message(c, d).await,
            WriteOp::MarkRead(r) => self.mark_read(c, r).await,
            WriteOp::MarkAllRead(p) => self.mark_all_read(c, p).await,
            WriteOp::Attach(a) => self.attach(c, a).await,
            WriteOp::PromoteAttachment(p) => self.promote_attachment(c, p).await,
            WriteOp::Rename(r) => self.rename(c, r).await,
            WriteOp::Archive => self.set_archived(c, true).await,
            WriteOp::Unarchive => self.set_archived(c, false).await,
            WriteOp::DeleteConversation => self.delete_conversation(c).await,
            WriteOp::UpdateConversation(u) => self.update_whole(c, u).await,
        }
    }

    /// `create_conversation`: the document stored as it came (absent fields absent), its id
    /// as `_id`; `conflict` if the id is taken.
    async fn create_conversation(
        &self,
        c: &Command,
        new: &NewConversation,
    ) -> Result<Value, Failure> {
        let mut stored = to_bson_document(&new.raw)?;
        stored.remove("id");
        stored.insert("_id", c.id());
        self.conversations
            .insert_one(&stored)
            .await
            .map_err(failure)?;
        Ok(to_json(&to_conversation(stored)?))
    }

    /// `add_participant`: `conflict` if the identity already takes part.
    async fn add_participant(&self, c: &Command, p: &NewParticipant) -> Result<Value, Failure> {
        let id = c.id();
        let (conv, v) = self.loaded(id).await?;
        if participant(&conv, &p.identity_id).is_some() {
            return Err(Failure::conflict(format!(
                "{} already takes part",
                p.identity_id
            )));
        }
        let added = doc! { "identity_id": &p.identity_id, "name": &p.name, "role": &p.role, "joined_at": date(c.at) };
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

    /// `remove_participant`: `not_found` if the identity does not take part.
    async fn remove_participant(&self, c: &Command, p: &Identity) -> Result<Value, Failure> {
        let id = c.id();
        let (conv, v) = self.loaded(id).await?;
        participant(&conv, &p.identity_id)
            .ok_or_else(|| Failure::not_found(format!("participant {}", p.identity_id)))?;
        let pull = doc! { "$pull": { "participants": { "identity_id": &p.identity_id } } };
        self.update(id, &v, pull, None).await?;
        Ok(Value::Null)
    }

    /// `set_role`: `not_found` if the identity does not take part; a positional update
    /// that also needs the participant still there.
    async fn set_role(&self, c: &Command, p: &SetRole) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `post_message`: `invalid` if the author does not take part, `conflict` if the
    /// message id is taken; answers the message as pushed.
    async fn post_message(&self, c: &Command, m: &Post) -> Result<Value, Failure> {
        let id = c.id();
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
            "created_at": date(c.at), "deleted": false, "read_by": [],
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

    /// `edit_message`: the text of a live message replaced; answers the message as stored.
    async fn edit_message(&self, c: &Command, e: &Edit) -> Result<Value, Failure> {
        let id = c.id();
        let (found, v) = self.live_message(id, &e.message_id).await?;
        let set = doc! { "$set": { "messages.$[m].text": &e.text, "messages.$[m].edited_at": date(c.at) } };
        self.update(id, &v, set, Some(vec![doc! { "m.id": &found.id }]))
            .await?;
        Ok(to_json(&Message {
            text: Some(e.text.clone()),
            edited_at: Some(format_time(c.at)),
            ..found
        }))
    }

    /// `delete_message`: the text cleared and the message marked deleted, its temporary
    /// attachments dropped; `not_found` if there is no such message.
    async fn delete_message(&self, c: &Command, d: &MessageRef) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `mark_read`: the message checked first, then the reader; a receipt kept once.
    async fn mark_read(&self, c: &Command, r: &MarkRead) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `mark_all_read`: a receipt on every live message of someone else; answers how many
    /// the reader had not read.
    async fn mark_all_read(&self, c: &Command, p: &Identity) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `attach`: a temporary attachment at the live message's next free index.
    async fn attach(&self, c: &Command, a: &Attach) -> Result<Value, Failure> {
        let id = c.id();
        let (found, v) = self.live_message(id, &a.message_id).await?;
        let index = found.next_index();
        let attachment = doc! { "index": index as i64, "name": &a.name, "size": a.size as i64 };
        let push = doc! { "$push": { "messages.$[m].temp_attachments": attachment } };
        c.pause().await;
        self.update(id, &v, push, Some(vec![doc! { "m.id": &a.message_id }]))
            .await?;
        Ok(json!({ "index": index, "name": a.name, "size": a.size }))
    }

    /// `promote_attachment`: a temporary attachment of a live message moved to its stored
    /// files, kept in index order; `not_found` if there is none at that index.
    async fn promote_attachment(&self, c: &Command, p: &Promote) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `rename`: sets or clears the subject, whatever the version.
    async fn rename(&self, c: &Command, r: &Rename) -> Result<Value, Failure> {
        let subject = r
            .subject
            .as_ref()
            .map_or(Bson::Null, |s| Bson::String(s.clone()));
        self.update(
            c.id(),
            &Expect::Any,
            doc! { "$set": { "subject": subject } },
            None,
        )
        .await?;
        Ok(Value::Null)
    }

    /// `archive` (`true`) and `unarchive` (`false`), whatever the version.
    async fn set_archived(&self, c: &Command, archived: bool) -> Result<Value, Failure> {
        self.update(
            c.id(),
            &Expect::Any,
            doc! { "$set": { "archived": archived } },
            None,
        )
        .await?;
        Ok(Value::Null)
    }

    /// `delete_conversation`: `not_found` if it does not exist.
    async fn delete_conversation(&self, c: &Command) -> Result<Value, Failure> {
        let id = c.id();
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

    /// `update_conversation`: the document loaded, changed in memory ([`change`]) and
    /// replaced whole at the next version; answers it as changed.
    async fn update_whole(&self, c: &Command, u: &Update) -> Result<Value, Failure> {
        let id = c.id();
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

    /// A live message of the conversation with the conversation's version: `not_found` for
    /// a missing message, `invalid` for a deleted one.
    async fn live_message(&self, id: &str, message_id: &str) -> Result<(Message, Expect), Failure> {
        let (conv, v) = self.loaded(id).await?;
        let found = message(&conv, message_id)
            .ok_or_else(|| Failure::not_found(format!("message {message_id}")))?;
        if found.deleted {
            return Err(Failure::invalid(format!("message {message_id} is deleted")));
        }
        Ok((found.clone(), v))
    }
}
