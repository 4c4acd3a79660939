//! The writes of the PostgreSQL repository. Each runs in one transaction that first locks
//! the conversation row (`SELECT ... FOR UPDATE`, [`super::Queries::lock`]), then checks in
//! the legacy order (the conversation, then the participant or message, then the rest), so
//! both repositories raise the same error kinds. `update_conversation` loads the document
//! under that lock, changes it in memory ([`change`]) and saves it whole. The events of a
//! write that succeeded are published after its commit ([`crate::events`]).

use super::{failure, Postgres};
use crate::change;
use crate::events::{self, Defect};
use crate::model::{parse_time, Conversation};
use crate::ops::{
    Attach, Command, Edit, Identity, MarkRead, MessageRef, NewConversation, NewParticipant, Post,
    Promote, Rename, SetRole, Update, WriteOp,
};
use crate::Failure;
use chrono::{DateTime, Utc};
use cutover::cassette::{ErrorKind, Event};
use serde_json::{json, Value};
use sqlx::{PgConnection, Postgres as Pg, Transaction};

impl Postgres {
    /// Runs one write in its own transaction, committed when the write succeeds; its events
    /// are published after the commit.
    pub(super) async fn write(&self, c: &Command, op: &WriteOp) -> Result<Value, Failure> {
        let mut tx = self.pool.begin().await.map_err(failure)?;
        let written = self.write_in(&mut tx, c, op).await?;
        let events = match &written {
            Ok(answer) => self.events_of(c, op, answer),
            Err(_) => Vec::new(),
        };
        self.commit(tx, &events).await?;
        written
    }

    /// The write in `tx`: a failure rolls it back; otherwise the transaction is committed
    /// and the write answers what it holds.
    async fn write_in(&self, tx: &mut Tx, c: &Command, op: &WriteOp) -> Result<Written, Failure> {
        Ok(Ok(match op {
            WriteOp::CreateConversation(new) => return self.create_conversation(tx, c, new).await,
            WriteOp::AddParticipant(p) => self.add_participant(tx, c, p).await?,
            WriteOp::RemoveParticipant(p) => self.remove_participant(tx, c, p).await?,
            WriteOp::SetRole(p) => self.set_role(tx, c, p).await?,
            WriteOp::PostMessage(m) => self.post_message(tx, c, m).await?,
            WriteOp::EditMessage(e) => self.edit_message(tx, c, e).await?,
            WriteOp::DeleteMessage(d) => self.delete_message(tx, c, d).await?,
            WriteOp::MarkRead(r) => self.mark_read(tx, c, r).await?,
            WriteOp::MarkAllRead(p) => self.mark_all_read(tx, c, p).await?,
            WriteOp::Attach(a) => self.attach(tx, c, a).await?,
            WriteOp::PromoteAttachment(p) => self.promote_attachment(tx, c, p).await?,
            WriteOp::Rename(r) => rename(tx, c.id(), r).await?,
            WriteOp::Archive => set_archived(tx, c.id(), true).await?,
            WriteOp::Unarchive => set_archived(tx, c.id(), false).await?,
            WriteOp::DeleteConversation => delete_conversation(tx, c.id()).await?,
            WriteOp::UpdateConversation(u) => return self.update_whole(tx, c, u).await,
        }))
    }

    /// The events a successful write publishes, as the planted defect, if any, has them.
    fn events_of(&self, c: &Command, op: &WriteOp, answer: &Value) -> Vec<Event> {
        let events = events::of(c, op, answer);
        match self.defect {
            Some(defect) => defect.distort(op, events),
            None => events,
        }
    }

    /// Commits `tx`, then publishes `events`. With the planted defect `in-transaction`,
    /// publishes them first, and commits after the service's remaining work
    /// ([`Defect::REMAINING_WORK`]).
    async fn commit(&self, tx: Tx, events: &[Event]) -> Result<(), Failure> {
        let Some(publisher) = &self.events else {
            return tx.commit().await.map_err(failure);
        };
        if self.defect.is_some_and(Defect::publishes_in_transaction) && !events.is_empty() {
            publisher.publish(events).await?;
            tokio::time::sleep(Defect::REMAINING_WORK).await;
            return tx.commit().await.map_err(failure);
        }
        tx.commit().await.map_err(failure)?;
        publisher.publish(events).await
    }

    /// `create_conversation`: the whole conversation saved, answered as it reads back (a
    /// conversation that does not read back answers `not_found`, after the commit).
    async fn create_conversation(
        &self,
        tx: &mut Tx,
        c: &Command,
        new: &NewConversation,
    ) -> Result<Written, Failure> {
        let id = c.id();
        insert_conversation(tx, &new.conversation).await?;
        let saved = self.document_in(tx, id).await?;
        Ok(saved.ok_or_else(|| Failure::not_found(format!("conversation {id}"))))
    }

    /// `add_participant`: `conflict` if the identity already takes part; answers the
    /// participant with the name its identity is stored with.
    async fn add_participant(
        &self,
        tx: &mut Tx,
        c: &Command,
        p: &NewParticipant,
    ) -> Result<Value, Failure> {
        let (id, at) = (c.id(), c.at);
        self.lock(tx, id).await?;
        if takes_part(tx, id, &p.identity_id).await? {
            return Err(Failure::conflict(format!(
                "{} already takes part",
                p.identity_id
            )));
        }
        join(tx, id, &p.identity_id, &p.name, &p.role, at).await?;
        let name: String =
            sqlx::query_scalar("SELECT name FROM participant WHERE identity_id = $1")
                .bind(&p.identity_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(failure)?;
        Ok(
            json!({ "identity_id": p.identity_id, "name": name, "role": p.role, "joined_at": iso_us(at) }),
        )
    }

    /// `remove_participant`: `not_found` if the identity does not take part.
    async fn remove_participant(
        &self,
        tx: &mut Tx,
        c: &Command,
        p: &Identity,
    ) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        let removed = sqlx::query("DELETE FROM conversations_participants WHERE conversation_id = $1 AND participant_id = $2")
            .bind(id)
            .bind(&p.identity_id)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        if removed.rows_affected() == 0 {
            return Err(Failure::not_found(format!("participant {}", p.identity_id)));
        }
        Ok(Value::Null)
    }

    /// `set_role`: `not_found` if the identity does not take part.
    async fn set_role(&self, tx: &mut Tx, c: &Command, p: &SetRole) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        let set = sqlx::query("UPDATE conversations_participants SET role = $3 WHERE conversation_id = $1 AND participant_id = $2")
            .bind(id)
            .bind(&p.identity_id)
            .bind(&p.role)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        if set.rows_affected() == 0 {
            return Err(Failure::not_found(format!("participant {}", p.identity_id)));
        }
        Ok(Value::Null)
    }

    /// `post_message`: `invalid` if the author does not take part, `conflict` if the
    /// message id is taken; answers the message as stored.
    async fn post_message(&self, tx: &mut Tx, c: &Command, m: &Post) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        if !takes_part(tx, id, &m.author_id).await? {
            return Err(Failure::invalid(format!(
                "{} does not take part",
                m.author_id
            )));
        }
        sqlx::query("INSERT INTO message (conversation_id, id, author_id, text, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(&m.message_id)
            .bind(&m.author_id)
            .bind(&m.text)
            .bind(c.at)
            .execute(&mut **tx)
            .await
            .map_err(|e| match failure(e) {
                Failure::Domain(cutover::cassette::ErrorKind::Conflict, _) => {
                    Failure::conflict(format!("message {} exists", m.message_id))
                }
                other => other,
            })?;
        self.message_in(tx, id, &m.message_id).await
    }

    /// `edit_message`: the text of a live message replaced; answers the message as stored.
    async fn edit_message(&self, tx: &mut Tx, c: &Command, e: &Edit) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        live_message(tx, id, &e.message_id).await?;
        sqlx::query(
            "UPDATE message SET text = $3, edited_at = $4 WHERE conversation_id = $1 AND id = $2",
        )
        .bind(id)
        .bind(&e.message_id)
        .bind(&e.text)
        .bind(c.at)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        self.message_in(tx, id, &e.message_id).await
    }

    /// `delete_message`: the text cleared and the message marked deleted, its temporary
    /// attachments dropped; `not_found` if there is no such message.
    async fn delete_message(
        &self,
        tx: &mut Tx,
        c: &Command,
        d: &MessageRef,
    ) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        let deleted = sqlx::query(
            "UPDATE message SET text = NULL, deleted = true WHERE conversation_id = $1 AND id = $2",
        )
        .bind(id)
        .bind(&d.message_id)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        if deleted.rows_affected() == 0 {
            return Err(Failure::not_found(format!("message {}", d.message_id)));
        }
        sqlx::query("DELETE FROM temp_attachment WHERE conversation_id = $1 AND message_id = $2")
            .bind(id)
            .bind(&d.message_id)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        Ok(Value::Null)
    }

    /// `mark_read`: the message checked first, then the reader; a receipt kept once.
    async fn mark_read(&self, tx: &mut Tx, c: &Command, r: &MarkRead) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        message_state(tx, id, &r.message_id).await?;
        if !takes_part(tx, id, &r.identity_id).await? {
            return Err(Failure::invalid(format!(
                "{} does not take part",
                r.identity_id
            )));
        }
        sqlx::query(
            "INSERT INTO message_read_by (conversation_id, message_id, participant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&r.message_id)
        .bind(&r.identity_id)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        Ok(Value::Null)
    }

    /// `mark_all_read`: a receipt on every live message of someone else the reader has not
    /// read, in message order; answers how many were marked.
    async fn mark_all_read(
        &self,
        tx: &mut Tx,
        c: &Command,
        p: &Identity,
    ) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        if !takes_part(tx, id, &p.identity_id).await? {
            return Err(Failure::invalid(format!(
                "{} does not take part",
                p.identity_id
            )));
        }
        let marked = sqlx::query(&format!(
            "INSERT INTO message_read_by (conversation_id, message_id, participant_id)
             SELECT m.conversation_id, m.id, $2 FROM message m
             WHERE m.conversation_id = $1 AND NOT m.deleted AND m.author_id <> $2
             ORDER BY {}
             ON CONFLICT DO NOTHING",
            self.queries.messages_order
        ))
        .bind(id)
        .bind(&p.identity_id)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        Ok(json!({ "marked": marked.rows_affected() }))
    }

    /// `attach`: a temporary attachment at the message's next free index, computed under
    /// the lock (or before it, in the faulty variant [`super::Queries::attach_index_locked`]).
    async fn attach(&self, tx: &mut Tx, c: &Command, a: &Attach) -> Result<Value, Failure> {
        let id = c.id();
        let early = match self.queries.attach_index_locked {
            true => None,
            false => Some(next_index(tx, id, &a.message_id).await?),
        };
        self.lock(tx, id).await?;
        live_message(tx, id, &a.message_id).await?;
        let index = match early {
            Some(index) => index,
            None => next_index(tx, id, &a.message_id).await?,
        };
        c.pause().await;
        sqlx::query("INSERT INTO temp_attachment (conversation_id, message_id, index, name, size) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(&a.message_id)
            .bind(index)
            .bind(&a.name)
            .bind(a.size as i64)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        Ok(json!({ "index": index, "name": a.name, "size": a.size }))
    }

    /// `promote_attachment`: a temporary attachment of a live message moved to its stored
    /// files; `not_found` if there is none at that index.
    async fn promote_attachment(
        &self,
        tx: &mut Tx,
        c: &Command,
        p: &Promote,
    ) -> Result<Value, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        live_message(tx, id, &p.message_id).await?;
        let temp: Option<(String, i64)> = sqlx::query_as(
            "DELETE FROM temp_attachment WHERE conversation_id = $1 AND message_id = $2 AND index = $3 RETURNING name, size",
        )
        .bind(id)
        .bind(&p.message_id)
        .bind(p.index as i32)
        .fetch_optional(&mut **tx)
        .await
        .map_err(failure)?;
        let (name, size) = temp.ok_or_else(|| {
            Failure::not_found(format!(
                "attachment {} of message {}",
                p.index, p.message_id
            ))
        })?;
        sqlx::query(
            "INSERT INTO stored_file (conversation_id, message_id, index, name, size, storage_key) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&p.message_id)
        .bind(p.index as i32)
        .bind(&name)
        .bind(size)
        .bind(&p.storage_key)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        Ok(json!({ "index": p.index, "name": name, "size": size, "storage_key": p.storage_key }))
    }

    /// `update_conversation`: the document loaded under the lock, changed in memory
    /// ([`change`]) and saved whole; answers it as it reads back (a conversation that does
    /// not read back answers `not_found`, after the commit).
    async fn update_whole(&self, tx: &mut Tx, c: &Command, u: &Update) -> Result<Written, Failure> {
        let id = c.id();
        self.lock(tx, id).await?;
        let loaded = self.document_in(tx, id).await?;
        let loaded = loaded.ok_or_else(|| Failure::not_found(format!("conversation {id}")))?;
        let mut conversation: Conversation = serde_json::from_value(loaded).map_err(|e| {
            Failure::Domain(ErrorKind::Internal, format!("unreadable document: {e}"))
        })?;
        c.pause().await;
        change::apply(&mut conversation, &u.changes, c.at)?;
        save_whole(tx, &conversation).await?;
        let saved = self.document_in(tx, id).await?;
        Ok(saved.ok_or_else(|| Failure::not_found(format!("conversation {id}"))))
    }
}

/// `rename`: sets or clears the subject.
async fn rename(tx: &mut Tx, id: &str, r: &Rename) -> Result<Value, Failure> {
    update_conversation(
        tx,
        id,
        "UPDATE conversation SET subject = $2 WHERE id = $1",
        Some(r.subject.clone()),
    )
    .await?;
    Ok(Value::Null)
}

/// `archive` (`true`) and `unarchive` (`false`).
async fn set_archived(tx: &mut Tx, id: &str, archived: bool) -> Result<Value, Failure> {
    let sql = match archived {
        true => "UPDATE conversation SET archived = true WHERE id = $1",
        false => "UPDATE conversation SET archived = false WHERE id = $1",
    };
    update_conversation(tx, id, sql, None).await?;
    Ok(Value::Null)
}

/// `delete_conversation`: the conversation and everything it holds.
async fn delete_conversation(tx: &mut Tx, id: &str) -> Result<Value, Failure> {
    update_conversation(tx, id, "DELETE FROM conversation WHERE id = $1", None).await?;
    Ok(Value::Null)
}

type Tx = Transaction<'static, Pg>;

/// What a write that committed answers: its answer, or the domain error it gives after the
/// commit.
type Written = Result<Value, Failure>;

impl Postgres {
    /// Locks the conversation row ([`super::Queries::lock`]), or fails with `not_found`.
    async fn lock(&self, tx: &mut Tx, id: &str) -> Result<(), Failure> {
        let found: Option<i32> = sqlx::query_scalar(&self.queries.lock)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failure)?;
        found
            .map(|_| ())
            .ok_or_else(|| Failure::not_found(format!("conversation {id}")))
    }
}

impl Postgres {
    /// The conversation as this transaction sees it: an answer read before the commit, so
    /// that no write committed after it can show in it.
    async fn document_in(&self, tx: &mut Tx, id: &str) -> Result<Option<Value>, Failure> {
        let text: Option<String> = sqlx::query_scalar(&self.queries.documents())
            .bind(vec![id.to_string()])
            .fetch_optional(&mut **tx)
            .await
            .map_err(failure)?;
        text.map(|t| super::parse_json(&t)).transpose()
    }

    /// One message as this transaction sees it.
    async fn message_in(&self, tx: &mut Tx, id: &str, message_id: &str) -> Result<Value, Failure> {
        let text: Option<String> = sqlx::query_scalar(&self.queries.message())
            .bind(id)
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failure)?;
        text.map(|t| super::parse_json(&t))
            .transpose()?
            .ok_or_else(|| Failure::not_found(format!("message {message_id}")))
    }
}

/// The next free index among a message's attachments and stored files.
async fn next_index(tx: &mut Tx, id: &str, message_id: &str) -> Result<i32, Failure> {
    sqlx::query_scalar(
        "SELECT COALESCE(max(index) + 1, 0) FROM (
            SELECT index FROM temp_attachment WHERE conversation_id = $1 AND message_id = $2
            UNION ALL SELECT index FROM stored_file WHERE conversation_id = $1 AND message_id = $2) used",
    )
    .bind(id)
    .bind(message_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(failure)
}

/// Saves a loaded and changed conversation whole, as an ORM saves an aggregate: its row
/// updated, its participants and messages (with what they hold) deleted and inserted again
/// in their order.
async fn save_whole(tx: &mut Tx, c: &Conversation) -> Result<(), Failure> {
    sqlx::query("UPDATE conversation SET subject = $2, archived = $3 WHERE id = $1")
        .bind(&c.id)
        .bind(&c.subject)
        .bind(c.archived)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
    for table in ["conversations_participants", "message"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
            .bind(&c.id)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
    }
    insert_children(tx, c).await
}

/// Runs `sql` on the conversation `id` (`$1`, with `text` as `$2` when given);
/// `not_found` when it touched no row.
async fn update_conversation(
    tx: &mut Tx,
    id: &str,
    sql: &str,
    text: Option<Option<String>>,
) -> Result<(), Failure> {
    let mut query = sqlx::query(sql).bind(id);
    if let Some(text) = text {
        query = query.bind(text);
    }
    let done = query.execute(&mut **tx).await.map_err(failure)?;
    if done.rows_affected() == 0 {
        return Err(Failure::not_found(format!("conversation {id}")));
    }
    Ok(())
}

/// Whether `identity` takes part in the conversation.
async fn takes_part(tx: &mut Tx, id: &str, identity: &str) -> Result<bool, Failure> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations_participants WHERE conversation_id = $1 AND participant_id = $2)")
        .bind(id)
        .bind(identity)
        .fetch_one(&mut **tx)
        .await
        .map_err(failure)
}

/// Whether the message is deleted, or `not_found`.
async fn message_state(tx: &mut Tx, id: &str, message_id: &str) -> Result<bool, Failure> {
    let deleted: Option<bool> =
        sqlx::query_scalar("SELECT deleted FROM message WHERE conversation_id = $1 AND id = $2")
            .bind(id)
            .bind(message_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(failure)?;
    deleted.ok_or_else(|| Failure::not_found(format!("message {message_id}")))
}

/// Fails with `not_found` for a missing message and `invalid` for a deleted one.
async fn live_message(tx: &mut Tx, id: &str, message_id: &str) -> Result<(), Failure> {
    if message_state(tx, id, message_id).await? {
        return Err(Failure::invalid(format!("message {message_id} is deleted")));
    }
    Ok(())
}

/// Adds `identity` to the conversation at `at`, its participant row made if it is new.
async fn join(
    tx: &mut PgConnection,
    id: &str,
    identity: &str,
    name: &str,
    role: &str,
    at: DateTime<Utc>,
) -> Result<(), Failure> {
    sqlx::query(
        "INSERT INTO participant (identity_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(identity)
    .bind(name)
    .execute(&mut *tx)
    .await
    .map_err(failure)?;
    sqlx::query("INSERT INTO conversations_participants (conversation_id, participant_id, role, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(identity)
        .bind(role)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(failure)?;
    Ok(())
}

/// A timestamp from a saved document, kept at the milliseconds the legacy keeps. Kept at
/// the microseconds PostgreSQL could store, a `created_at` of `...00.123456Z` fell outside a
/// range ending at `...00.123Z` that the legacy, which stored `...00.123Z`, answered with
/// it (found by the probe `date range: to equals a stored created_at`), and two values in
/// one millisecond were ordered by a difference the legacy never saw.
fn time(text: &str) -> Result<DateTime<Utc>, Failure> {
    parse_time(text).map_err(Failure::invalid)
}

/// A timestamp as the `iso_us` SQL function writes it.
fn iso_us(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Saves a whole conversation, its arrays in their order.
async fn insert_conversation(tx: &mut Tx, c: &Conversation) -> Result<(), Failure> {
    let (a, b) = match &c.relation {
        Some(r) => (Some(&r.project_a), Some(&r.project_b)),
        None => (None, None),
    };
    sqlx::query("INSERT INTO conversation (id, kind, project_a, project_b, subject, created_at, archived) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&c.id)
        .bind(c.kind.as_str())
        .bind(a)
        .bind(b)
        .bind(&c.subject)
        .bind(time(&c.created_at)?)
        .bind(c.archived)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
    insert_children(tx, c).await
}

/// Inserts a conversation's participants and messages, with what the messages hold.
async fn insert_children(tx: &mut Tx, c: &Conversation) -> Result<(), Failure> {
    // New identities first, all at once and in key order: two conversations saved at the
    // same time with the same new people in other orders would otherwise each wait for the
    // other's uncommitted rows (a deadlock PostgreSQL breaks by failing one of them).
    let (ids, names): (Vec<&str>, Vec<&str>) = c
        .participants
        .iter()
        .map(|p| (p.identity_id.as_str(), p.name.as_str()))
        .unzip();
    sqlx::query(
        "INSERT INTO participant (identity_id, name)
         SELECT i, n FROM unnest($1::text[], $2::text[]) AS u(i, n) ORDER BY i
         ON CONFLICT DO NOTHING",
    )
    .bind(&ids)
    .bind(&names)
    .execute(&mut **tx)
    .await
    .map_err(failure)?;
    for p in &c.participants {
        join(
            tx,
            &c.id,
            &p.identity_id,
            &p.name,
            &p.role,
            time(&p.joined_at)?,
        )
        .await?;
    }
    for m in &c.messages {
        let edited = m.edited_at.as_deref().map(time).transpose()?;
        sqlx::query(
            "INSERT INTO message (conversation_id, id, author_id, text, created_at, edited_at, deleted) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
        .bind(&m.id)
        .bind(&m.author_id)
        .bind(&m.text)
        .bind(time(&m.created_at)?)
        .bind(edited)
        .bind(m.deleted)
        .execute(&mut **tx)
        .await
        .map_err(failure)?;
        if !m.read_by.is_empty() {
            sqlx::query(
                "INSERT INTO message_read_by (conversation_id, message_id, participant_id)
                 SELECT $1, $2, r FROM unnest($3::text[]) WITH ORDINALITY AS u(r, n) ORDER BY n",
            )
            .bind(&c.id)
            .bind(&m.id)
            .bind(&m.read_by)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        }
        for t in &m.temp_attachments {
            sqlx::query("INSERT INTO temp_attachment (conversation_id, message_id, index, name, size) VALUES ($1, $2, $3, $4, $5)")
                .bind(&c.id)
                .bind(&m.id)
                .bind(t.index as i32)
                .bind(&t.name)
                .bind(t.size as i64)
                .execute(&mut **tx)
                .await
                .map_err(failure)?;
        }
        for f in &m.stored_files {
            sqlx::query(
                "INSERT INTO stored_file (conversation_id, message_id, index, name, size, storage_key) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.id)
            .bind(&m.id)
            .bind(f.index as i32)
            .bind(&f.name)
            .bind(f.size as i64)
            .bind(&f.storage_key)
            .execute(&mut **tx)
            .await
            .map_err(failure)?;
        }
    }
    Ok(())
}
