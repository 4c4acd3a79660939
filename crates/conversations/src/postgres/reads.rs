//! The reads of the PostgreSQL repository.

use super::queries::contains_pattern;
use super::{failure, parse_json, Postgres};
use crate::model::{parse_time, Relation};
use crate::ops::{Command, DateRange, Identity, Limit, MessageRef, Page, Project, ReadOp, Search};
use crate::Failure;
use serde_json::{json, Value};

impl Postgres {
    /// Runs one read on the pool: a read of one conversation checks that it exists first.
    pub(super) async fn read(&self, c: &Command, op: &ReadOp) -> Result<Value, Failure> {
        let id = c.id();
        match op {
            ReadOp::FindById => self.find_by_id(id).await,
            ReadOp::Exists => Ok(json!(self.exists(id).await?)),
            ReadOp::ListParticipants => self.list_participants(id).await,
            ReadOp::CountMessages => self.count_messages(id).await,
            ReadOp::MessagesPage(p) => self.messages_page(id, p).await,
            ReadOp::LastMessage => self.last_message(id).await,
            ReadOp::MessageById(m) => self.message_by_id(id, m).await,
            ReadOp::UnreadCounts => self.unread_counts(id).await,
            ReadOp::HasUnread(p) => self.has_unread(id, p).await,
            ReadOp::ReadReceipts(m) => self.read_receipts(id, m).await,
            ReadOp::StoredFiles => self.stored_files(id).await,
            ReadOp::TempAttachments => self.temp_attachments(id).await,
            ReadOp::FindByIds(ids) => Ok(Value::Array(self.documents(&ids.ids).await?)),
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

    /// `find_by_id`: the whole conversation.
    async fn find_by_id(&self, id: &str) -> Result<Value, Failure> {
        self.document(id)
            .await?
            .ok_or_else(|| Failure::not_found(format!("conversation {id}")))
    }

    /// `list_participants`: in joining order.
    async fn list_participants(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.json_rows(
            "SELECT json_build_object('identity_id', p.identity_id, 'name', p.name, 'role', cp.role,
                'joined_at', iso_us(cp.joined_at))::text
             FROM conversations_participants cp JOIN participant p ON p.identity_id = cp.participant_id
             WHERE cp.conversation_id = $1 ORDER BY cp.position",
            id,
        )
        .await
    }

    /// `count_messages`: the messages not deleted.
    async fn count_messages(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM message WHERE conversation_id = $1 AND NOT deleted",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(n))
    }

    /// `messages_page`: a window on the messages in their order, deleted ones included.
    async fn messages_page(&self, id: &str, p: &Page) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        let rows: Vec<String> = sqlx::query_scalar(&self.queries.messages_page())
            .bind(id)
            .bind(p.offset as i64)
            .bind(p.limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failure)?;
        rows.iter()
            .map(|r| parse_json(r))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    /// `last_message`: the latest message not deleted, or `not_found`.
    async fn last_message(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        let row: Option<String> = sqlx::query_scalar(&self.queries.last_message())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(failure)?;
        row.map(|r| parse_json(&r))
            .transpose()?
            .ok_or_else(|| Failure::not_found(format!("a message in {id}")))
    }

    /// `message_by_id`: one message, deleted or not.
    async fn message_by_id(&self, id: &str, m: &MessageRef) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.message(id, &m.message_id).await
    }

    /// `unread_counts`: per participant in joining order, the messages unread by them.
    async fn unread_counts(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.json_rows(
            "SELECT json_build_object('identity_id', cp.participant_id, 'unread', (
                SELECT count(*) FROM message m
                WHERE m.conversation_id = cp.conversation_id AND NOT m.deleted AND m.author_id <> cp.participant_id
                  AND NOT EXISTS (SELECT 1 FROM message_read_by r WHERE r.conversation_id = m.conversation_id
                      AND r.message_id = m.id AND r.participant_id = cp.participant_id)))::text
             FROM conversations_participants cp WHERE cp.conversation_id = $1 ORDER BY cp.position",
            id,
        )
        .await
    }

    /// `has_unread`: `invalid` if the identity does not take part.
    async fn has_unread(&self, id: &str, p: &Identity) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.must_take_part(id, &p.identity_id).await?;
        let unread: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM message m
                WHERE m.conversation_id = $1 AND NOT m.deleted AND m.author_id <> $2
                  AND NOT EXISTS (SELECT 1 FROM message_read_by r WHERE r.conversation_id = m.conversation_id
                      AND r.message_id = m.id AND r.participant_id = $2))",
        )
        .bind(id)
        .bind(&p.identity_id)
        .fetch_one(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(unread))
    }

    /// `read_receipts`: the readers of a message, in the order they read it.
    async fn read_receipts(&self, id: &str, m: &MessageRef) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.message(id, &m.message_id).await?;
        let readers: Vec<String> = sqlx::query_scalar(
            "SELECT participant_id FROM message_read_by WHERE conversation_id = $1 AND message_id = $2 ORDER BY position",
        )
        .bind(id)
        .bind(&m.message_id)
        .fetch_all(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(readers))
    }

    /// `stored_files`: every stored file, each with its `message_id`.
    async fn stored_files(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.json_rows(&self.queries.stored_files(), id).await
    }

    /// `temp_attachments`: every temporary attachment, each with its `message_id`.
    async fn temp_attachments(&self, id: &str) -> Result<Value, Failure> {
        self.must_exist(id).await?;
        self.json_rows(&self.queries.temp_attachments(), id).await
    }

    /// `find_by_date_range`: by creation time, then id.
    async fn find_by_date_range(&self, r: &DateRange) -> Result<Value, Failure> {
        let (from, to) = (
            parse_time(&r.from).map_err(Failure::invalid)?,
            parse_time(&r.to).map_err(Failure::invalid)?,
        );
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            r#"SELECT id FROM conversation WHERE {} ORDER BY created_at, id COLLATE "C""#,
            self.queries.created_between
        ))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .map_err(failure)?;
        Ok(Value::Array(self.documents(&ids).await?))
    }

    /// `find_by_participant`: newest first, then by id.
    async fn find_by_participant(&self, p: &Identity) -> Result<Value, Failure> {
        let ids: Vec<String> = sqlx::query_scalar(
            r#"SELECT c.id FROM conversation c JOIN conversations_participants cp ON cp.conversation_id = c.id
               WHERE cp.participant_id = $1 ORDER BY c.created_at DESC, c.id COLLATE "C""#,
        )
        .bind(&p.identity_id)
        .fetch_all(&self.pool)
        .await
        .map_err(failure)?;
        Ok(Value::Array(self.documents(&ids).await?))
    }

    /// `find_by_relation`: the projects in either order, or `not_found`.
    async fn find_by_relation(&self, r: &Relation) -> Result<Value, Failure> {
        let (a, b) = if r.project_a <= r.project_b {
            (&r.project_a, &r.project_b)
        } else {
            (&r.project_b, &r.project_a)
        };
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM conversation WHERE kind = 'relation' AND project_a = $1 AND project_b = $2",
        )
        .bind(a)
        .bind(b)
        .fetch_optional(&self.pool)
        .await
        .map_err(failure)?;
        let id = found.ok_or_else(|| Failure::not_found(format!("relation {a}/{b}")))?;
        self.document(&id)
            .await?
            .ok_or_else(|| Failure::not_found(format!("relation {a}/{b}")))
    }

    /// `conversations_of_project`: ids, byte-wise in order.
    async fn conversations_of_project(&self, p: &Project) -> Result<Value, Failure> {
        let ids: Vec<String> = sqlx::query_scalar(
            r#"SELECT id FROM conversation WHERE project_a = $1 OR project_b = $1 ORDER BY id COLLATE "C""#,
        )
        .bind(&p.project)
        .fetch_all(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(ids))
    }

    /// `search_messages`: the hits as `{"conversation_id", "message_id"}`.
    async fn search_messages(&self, s: &Search) -> Result<Value, Failure> {
        let rows: Vec<(String, String)> = sqlx::query_as(&self.queries.search())
            .bind(contains_pattern(&s.text))
            .bind(s.limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(failure)?;
        let hits = rows
            .into_iter()
            .map(|(c, m)| json!({ "conversation_id": c, "message_id": m }))
            .collect();
        Ok(Value::Array(hits))
    }

    /// `unread_total`: the messages unread by an identity across its conversations.
    async fn unread_total(&self, p: &Identity) -> Result<Value, Failure> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM conversations_participants cp JOIN message m ON m.conversation_id = cp.conversation_id
             WHERE cp.participant_id = $1 AND NOT m.deleted AND m.author_id <> $1
               AND NOT EXISTS (SELECT 1 FROM message_read_by r WHERE r.conversation_id = m.conversation_id
                   AND r.message_id = m.id AND r.participant_id = $1)",
        )
        .bind(&p.identity_id)
        .fetch_one(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(n))
    }

    /// `count_conversations`.
    async fn count_conversations(&self) -> Result<Value, Failure> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversation")
            .fetch_one(&self.pool)
            .await
            .map_err(failure)?;
        Ok(json!(n))
    }

    /// `find_archived`: ids, byte-wise in order, at most `limit`.
    async fn find_archived(&self, l: &Limit) -> Result<Value, Failure> {
        let ids: Vec<String> = sqlx::query_scalar(
            r#"SELECT id FROM conversation WHERE archived ORDER BY id COLLATE "C" LIMIT $1"#,
        )
        .bind(l.limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(failure)?;
        Ok(json!(ids))
    }

    /// Rows of JSON text for a query on one conversation (`$1`).
    async fn json_rows(&self, sql: &str, id: &str) -> Result<Value, Failure> {
        let rows: Vec<String> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(failure)?;
        rows.iter()
            .map(|r| parse_json(r))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    /// One message, deleted or not, or `not_found`.
    pub(super) async fn message(&self, id: &str, message_id: &str) -> Result<Value, Failure> {
        let row: Option<String> = sqlx::query_scalar(&self.queries.message())
            .bind(id)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(failure)?;
        row.map(|r| parse_json(&r))
            .transpose()?
            .ok_or_else(|| Failure::not_found(format!("message {message_id}")))
    }

    /// `invalid` unless `identity` takes part in the conversation.
    pub(super) async fn must_take_part(&self, id: &str, identity: &str) -> Result<(), Failure> {
        let takes_part: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM conversations_participants WHERE conversation_id = $1 AND participant_id = $2)",
        )
        .bind(id)
        .bind(identity)
        .fetch_one(&self.pool)
        .await
        .map_err(failure)?;
        if takes_part {
            Ok(())
        } else {
            Err(Failure::invalid(format!("{identity} does not take part")))
        }
    }
}
