//! The reads of the PostgreSQL repository.

use super::queries::contains_pattern;
use super::{failure, parse_json, Postgres};
use crate::model::parse_time;
use crate::ops::{Command, ReadOp};
use crate::Failure;
use serde_json::{json, Value};

impl Postgres {
    pub(super) async fn read(&self, c: &Command, op: &ReadOp) -> Result<Value, Failure> {
        let id = c.id();
        let q = &self.queries;
        match op {
            ReadOp::FindById => self
                .document(id)
                .await?
                .ok_or_else(|| Failure::not_found(format!("conversation {id}"))),
            ReadOp::Exists => Ok(json!(self.exists(id).await?)),
            ReadOp::ListParticipants => {
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
            ReadOp::CountMessages => {
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
            ReadOp::MessagesPage(p) => {
                self.must_exist(id).await?;
                let rows: Vec<String> = sqlx::query_scalar(&q.messages_page())
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
            ReadOp::LastMessage => {
                self.must_exist(id).await?;
                let row: Option<String> = sqlx::query_scalar(&q.last_message())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(failure)?;
                row.map(|r| parse_json(&r))
                    .transpose()?
                    .ok_or_else(|| Failure::not_found(format!("a message in {id}")))
            }
            ReadOp::MessageById(m) => {
                self.must_exist(id).await?;
                self.message(id, &m.message_id).await
            }
            ReadOp::UnreadCounts => {
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
            ReadOp::HasUnread(p) => {
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
            ReadOp::ReadReceipts(m) => {
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
            ReadOp::StoredFiles => {
                self.must_exist(id).await?;
                self.json_rows(&q.stored_files(), id).await
            }
            ReadOp::TempAttachments => {
                self.must_exist(id).await?;
                self.json_rows(&q.temp_attachments(), id).await
            }
            ReadOp::FindByIds(ids) => Ok(Value::Array(self.documents(&ids.ids).await?)),
            ReadOp::FindByDateRange(r) => {
                let (from, to) = (
                    parse_time(&r.from).map_err(Failure::invalid)?,
                    parse_time(&r.to).map_err(Failure::invalid)?,
                );
                let ids: Vec<String> = sqlx::query_scalar(&format!(
                    r#"SELECT id FROM conversation WHERE {} ORDER BY created_at, id COLLATE "C""#,
                    q.created_between
                ))
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await
                .map_err(failure)?;
                Ok(Value::Array(self.documents(&ids).await?))
            }
            ReadOp::FindByParticipant(p) => {
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
            ReadOp::FindByRelation(r) => {
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
            ReadOp::ConversationsOfProject(p) => {
                let ids: Vec<String> = sqlx::query_scalar(
                    r#"SELECT id FROM conversation WHERE project_a = $1 OR project_b = $1 ORDER BY id COLLATE "C""#,
                )
                .bind(&p.project)
                .fetch_all(&self.pool)
                .await
                .map_err(failure)?;
                Ok(json!(ids))
            }
            ReadOp::SearchMessages(s) => {
                let rows: Vec<(String, String)> = sqlx::query_as(&q.search())
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
            ReadOp::UnreadTotal(p) => {
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
            ReadOp::CountConversations => {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversation")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(failure)?;
                Ok(json!(n))
            }
            ReadOp::FindArchived(l) => {
                let ids: Vec<String> = sqlx::query_scalar(r#"SELECT id FROM conversation WHERE archived ORDER BY id COLLATE "C" LIMIT $1"#)
                    .bind(l.limit as i64)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(failure)?;
                Ok(json!(ids))
            }
        }
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
