//! The new repository: the conversations aggregate over a normalized PostgreSQL schema
//! (`migrations/`), whose queries rebuild exactly the legacy documents, in the legacy order:
//! conversations in the order of the ids asked for (`array_position`), participants in
//! joining order, messages by creation time then posting order, files and attachments by
//! index, ids compared byte-wise (`COLLATE "C"`) as MongoDB compares strings. With a
//! [`Publisher`], a successful write publishes its events after its commit.

mod queries;
mod reads;
mod writes;

pub use queries::Queries;

use super::events::{Defect, Publisher};
use super::model::Conversation;
use super::ops::{Command, Operation};
use super::{Failure, Repository};
use async_trait::async_trait;
use cutover::cassette::ErrorKind;
use cutover::targets::InfraError;
use cutover_servers::guard::{postgres_marked, ResetGuard};
use cutover_servers::spec::{Database, Safety};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::HashMap;
use std::time::Duration;

/// The schema migrations, embedded.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

async fn migrate(pool: &PgPool) -> Result<(), Failure> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| infra(format!("migrating: {e}")))
}

fn infra(why: impl Into<String>) -> Failure {
    Failure::Infra(InfraError::Other(why.into()))
}

/// The PostgreSQL conversations repository.
pub struct Postgres {
    pool: PgPool,
    queries: Queries,
    events: Option<Publisher>,
    defect: Option<Defect>,
    /// Whether `reset` may empty the database (and migrate it first).
    guard: ResetGuard,
    /// The database's identity.
    identity: String,
    /// The fresh database made for this repository, dropped with it.
    _holds: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Postgres {
    /// Connects to the database at `url`; brings its schema up to date only if it carries
    /// cutover's mark ([`cutover_servers::guard`]): an unmarked database is only read
    /// until a reset is allowed.
    pub async fn connect(url: &str) -> Result<Postgres, Failure> {
        Postgres::open(
            Database::resolve(url, Safety::default())
                .await
                .map_err(infra)?,
        )
        .await
    }

    /// Connects to `database` (a spec's, resolved), keeping its guard and fresh database.
    pub async fn open(database: Database) -> Result<Postgres, Failure> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&database.url)
            .await
            .map_err(failure)?;
        if postgres_marked(&pool).await.map_err(failure)? {
            migrate(&pool).await?;
        }
        Ok(Postgres {
            pool,
            queries: Queries::default(),
            events: None,
            defect: None,
            guard: database.guard,
            identity: database.identity,
            _holds: database.holds,
        })
    }

    /// The same repository publishing each successful write's events ([`crate::events`])
    /// after its commit; or, with a planted `defect` (a demonstration of what comparing
    /// events catches), as that defect publishes them.
    pub fn with_events(self, publisher: Publisher, defect: Option<Defect>) -> Postgres {
        Postgres {
            events: Some(publisher),
            defect,
            ..self
        }
    }

    /// The same repository answering with other queries (for faulty variants in tests).
    pub fn with_queries(self, queries: Queries) -> Postgres {
        Postgres { queries, ..self }
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn documents(&self, ids: &[String]) -> Result<Vec<Value>, Failure> {
        let rows: Vec<String> = sqlx::query_scalar(&self.queries.documents())
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(failure)?;
        rows.iter().map(|text| parse_json(text)).collect()
    }

    async fn document(&self, id: &str) -> Result<Option<Value>, Failure> {
        Ok(self.documents(&[id.to_string()]).await?.into_iter().next())
    }

    async fn exists(&self, id: &str) -> Result<bool, Failure> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversation WHERE id = $1)")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(failure)
    }

    async fn must_exist(&self, id: &str) -> Result<(), Failure> {
        if self.exists(id).await? {
            Ok(())
        } else {
            Err(Failure::not_found(format!("conversation {id}")))
        }
    }
}

#[async_trait]
impl Repository for Postgres {
    fn name(&self) -> &str {
        "postgres"
    }

    fn database(&self) -> Option<&str> {
        Some(&self.identity)
    }

    /// Empties the database, as the guard allows, after bringing its schema up to date.
    async fn reset(&self) -> Result<(), Failure> {
        self.guard
            .postgres(&self.pool)
            .await
            .map_err(|e| infra(e.to_string()))?;
        migrate(&self.pool).await?;
        sqlx::query(
            "TRUNCATE conversation, participant, conversations_participants, message, message_read_by,
             temp_attachment, stored_file RESTART IDENTITY",
        )
        .execute(&self.pool)
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
        match self.document(id).await? {
            Some(doc) => conversation(doc).map(Some),
            None => Ok(None),
        }
    }

    /// A page seeks the `conversation_id_bytes` index: the first page and the next ones
    /// are two statements, since a bound that may be null would filter the index instead.
    async fn keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Failure> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let page = match after {
            None => sqlx::query_scalar(
                r#"SELECT id FROM conversation ORDER BY id COLLATE "C" LIMIT $1"#,
            )
            .bind(limit),
            Some(after) => sqlx::query_scalar(
                r#"SELECT id FROM conversation WHERE id COLLATE "C" > $1
                   ORDER BY id COLLATE "C" LIMIT $2"#,
            )
            .bind(after)
            .bind(limit),
        };
        page.fetch_all(&self.pool).await.map_err(failure)
    }

    async fn find_batch(&self, ids: &[String]) -> Result<Vec<crate::Found>, Failure> {
        let mut by_id: HashMap<String, Value> = HashMap::with_capacity(ids.len());
        for doc in self.documents(ids).await? {
            let id = doc.get("id").and_then(Value::as_str).map(String::from);
            by_id.insert(id.unwrap_or_default(), doc);
        }
        Ok(ids
            .iter()
            .map(|id| by_id.get(id).cloned().map(conversation).transpose())
            .collect())
    }
}

/// A document the queries built, as the canonical conversation.
fn conversation(doc: Value) -> Result<Conversation, Failure> {
    serde_json::from_value(doc)
        .map_err(|e| Failure::Domain(ErrorKind::Internal, format!("unreadable document: {e}")))
}

pub(super) fn parse_json(text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::Domain(
            ErrorKind::Internal,
            format!("unreadable JSON from the database: {e}"),
        )
    })
}

/// Maps driver errors: a unique violation is `conflict`, a deadlock or serialization
/// failure `aborted`; an unreachable or dropped server is
/// an infrastructure failure; anything else is the repository's own `internal` error.
pub(crate) fn failure(e: sqlx::Error) -> Failure {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Failure::conflict(db.message().to_string())
        }
        // A serialization failure or a deadlock: the transaction was given up because of
        // another one, and a retry may succeed.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")) => {
            Failure::Domain(ErrorKind::Aborted, db.message().to_string())
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Failure::Infra(InfraError::Disconnected(e.to_string()))
        }
        sqlx::Error::PoolTimedOut => Failure::Infra(InfraError::Timeout(Duration::from_secs(10))),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Failure::Infra(InfraError::Refused(e.to_string()))
        }
        _ => Failure::Domain(ErrorKind::Internal, e.to_string()),
    }
}
