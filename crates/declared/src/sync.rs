//! A candidate fed by a sync: the service still writes to its MySQL database, triggers put
//! every change in an outbox table, and a worker copies each change into MongoDB, where the
//! new read path answers ([`Synced`]). The worker waits a configurable delay before applying
//! what it found, so a read right after a write finds MongoDB behind until the change
//! arrives; a stopped worker never applies anything.
//!
//! The outbox's rows: `id` (increasing), `collection`, `doc_id`, `doc` (the document as
//! JSON text, or `NULL` for a deletion). Each row replaces (upserts) or deletes the document
//! `_id = doc_id` of its collection, in `id` order.

use super::mongo::template::json_to_bson;
use async_trait::async_trait;
use cutover::cassette::{Kind, Outcome, Request};
use cutover::targets::{Dumped, InfraError, KeyOrder, Target};
use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The sync worker; it stops when this value is dropped.
pub struct Worker {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Worker {
    /// Starts copying `outbox` of the MySQL database at `mysql_url` into the MongoDB
    /// database `database` at `mongo_uri`, each batch after `delay`; `None`: stopped (the
    /// changes stay in the outbox).
    pub async fn start(
        mysql_url: &str,
        outbox: &str,
        mongo_uri: &str,
        database: &str,
        delay: Option<Duration>,
    ) -> Result<Worker, String> {
        if outbox.is_empty()
            || !outbox
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("outbox `{outbox}`: expected a table name"));
        }
        let Some(delay) = delay else {
            return Ok(Worker { task: None });
        };
        let pool = sqlx::MySqlPool::connect(mysql_url)
            .await
            .map_err(|e| format!("the sync worker connecting to {mysql_url}: {e}"))?;
        let client = mongodb::Client::with_uri_str(mongo_uri)
            .await
            .map_err(|e| format!("the sync worker connecting to {mongo_uri}: {e}"))?;
        let db = client.database(database);
        let query = format!(
            "SELECT id, collection, doc_id, doc FROM {outbox} WHERE id > ? ORDER BY id LIMIT 500"
        );
        let task = tokio::spawn(async move {
            let mut last = 0i64;
            loop {
                let rows: Vec<(i64, String, String, Option<String>)> =
                    match sqlx::query_as(&query).bind(last).fetch_all(&pool).await {
                        Ok(rows) => rows,
                        Err(e) => {
                            eprintln!("sync worker: reading the outbox: {e}");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    };
                if rows.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                tokio::time::sleep(delay).await;
                for (id, collection, doc_id, document) in rows {
                    if let Err(e) = apply(&db, &collection, &doc_id, document.as_deref()).await {
                        eprintln!("sync worker: outbox row {id}: {e}");
                    }
                    last = id;
                }
            }
        });
        Ok(Worker { task: Some(task) })
    }
}

/// One change: the document replaced (upserted), or deleted.
async fn apply(
    db: &mongodb::Database,
    collection: &str,
    doc_id: &str,
    document: Option<&str>,
) -> Result<(), String> {
    let collection = db.collection::<Document>(collection);
    let filter = doc! { "_id": doc_id };
    match document {
        None => collection.delete_one(filter).await.map(|_| ()),
        Some(text) => {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            let Bson::Document(document) = json_to_bson(&value) else {
                return Err(format!("not a document: {text}"));
            };
            collection
                .replace_one(filter, document)
                .upsert(true)
                .await
                .map(|_| ())
        }
    }
    .map_err(|e| e.to_string())
}

/// The candidate behind a sync: writes to one target (the old store, whose outbox the
/// worker reads), reads, the stored state, its keys and batch dumps from another (the new
/// store). Its settle
/// window is the read side's for its operations, else `settle` (the state read back after
/// a write waits for the sync too).
pub struct Synced {
    name: String,
    writes: Arc<dyn Target>,
    reads: Arc<dyn Target>,
    settle: Option<Duration>,
    _worker: Worker,
}

impl Synced {
    /// Writes to `writes`, reads from `reads`, while `worker` copies one into the other.
    pub fn new(
        writes: Arc<dyn Target>,
        reads: Arc<dyn Target>,
        settle: Option<Duration>,
        worker: Worker,
    ) -> Synced {
        Synced {
            name: format!("{} (writes: {}, synced)", reads.name(), writes.name()),
            writes,
            reads,
            settle,
            _worker: worker,
        }
    }
}

#[async_trait]
impl Target for Synced {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Option<&str> {
        self.reads.domain()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.writes.reset().await?;
        self.reads.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        match request.kind {
            Kind::Write => self.writes.execute(request).await,
            Kind::Read => self.reads.execute(request).await,
        }
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.reads.dump(key).await
    }

    /// The read side's keys: what the new store holds.
    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        self.reads.keys(after, limit).await
    }

    fn key_order(&self) -> KeyOrder {
        self.reads.key_order()
    }

    /// The read side's states: what the new store holds.
    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        self.reads.dump_batch(keys).await
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.reads.settle(request).or(self.settle)
    }
}
