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
use cutover::targets::{Dumped, Executed, InfraError, KeyOrder, Target};
use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The sync worker; it stops when this value is dropped.
pub struct Worker {
    task: Option<tokio::task::JoinHandle<()>>,
    progress: Option<Progress>,
}

/// How far the worker has got through the outbox, to wait until it has caught up.
#[derive(Clone)]
pub struct Progress {
    applied: Arc<std::sync::atomic::AtomicI64>,
    /// Ids skipped by the outbox's order still looked for.
    pending: Arc<std::sync::atomic::AtomicUsize>,
    pool: sqlx::MySqlPool,
    newest: String,
}

impl Progress {
    /// Waits until every outbox row written so far is applied; an error after `within`.
    pub async fn settled(&self, within: Duration) -> Result<(), String> {
        let (newest,): (i64,) = sqlx::query_as(&self.newest)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("the sync's outbox: {e}"))?;
        let start = std::time::Instant::now();
        let behind = || {
            self.applied.load(std::sync::atomic::Ordering::Acquire) < newest
                || self.pending.load(std::sync::atomic::Ordering::Acquire) > 0
        };
        while behind() {
            if start.elapsed() > within {
                return Err(format!(
                    "the sync did not apply the outbox up to row {newest} within {within:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
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
            return Ok(Worker {
                task: None,
                progress: None,
            });
        };
        let pool = sqlx::MySqlPool::connect(mysql_url)
            .await
            .map_err(|e| format!("the sync worker connecting to {mysql_url}: {e}"))?;
        let client = mongodb::Client::with_uri_str(mongo_uri)
            .await
            .map_err(|e| format!("the sync worker connecting to {mongo_uri}: {e}"))?;
        let db = client.database(database);
        let applied = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let progress = Progress {
            applied: applied.clone(),
            pending: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            pool: pool.clone(),
            newest: format!("SELECT CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM {outbox}"),
        };
        let pending = progress.pending.clone();
        let mut outbox = Outbox {
            pool,
            table: outbox.to_string(),
            last: 0,
            holes: std::collections::BTreeMap::new(),
        };
        let task = tokio::spawn(async move {
            loop {
                let rows = match outbox.next_rows().await {
                    Ok(rows) => rows,
                    Err(e) => {
                        eprintln!("sync worker: reading the outbox: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                pending.store(outbox.holes.len(), std::sync::atomic::Ordering::Release);
                if rows.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                tokio::time::sleep(delay).await;
                for ((collection, ids), documents) in coalesce(rows) {
                    if let Err(e) = apply_many(&db, &collection, ids, documents).await {
                        eprintln!("sync worker: outbox rows up to {}: {e}", outbox.last);
                    }
                }
                applied.store(outbox.last, std::sync::atomic::Ordering::Release);
            }
        });
        Ok(Worker {
            task: Some(task),
            progress: Some(progress),
        })
    }

    /// How far it has got; none for a stopped worker.
    pub fn progress(&self) -> Option<Progress> {
        self.progress.clone()
    }
}

/// How long an id the outbox's order skipped is looked for again: a transaction that took
/// its id before another and committed after it arrives within this; a rolled-back one
/// never does.
const HOLE_TTL: Duration = Duration::from_secs(5);

/// One outbox row: id, collection, document id, document (none: deleted).
type Row = (i64, String, String, Option<String>);

/// The outbox as the worker reads it: the rows after the last one read, and the ids skipped
/// on the way (a concurrent transaction's row commits after a later id's), looked for again
/// until they arrive or [`HOLE_TTL`] ends.
struct Outbox {
    pool: sqlx::MySqlPool,
    table: String,
    last: i64,
    holes: std::collections::BTreeMap<i64, std::time::Instant>,
}

impl Outbox {
    /// The next rows in id order: new ones, and skipped ones that have arrived since.
    async fn next_rows(&mut self) -> Result<Vec<Row>, sqlx::Error> {
        let query = format!(
            "SELECT id, collection, doc_id, doc FROM {} WHERE id > ? ORDER BY id LIMIT 500",
            self.table
        );
        let mut rows: Vec<Row> = sqlx::query_as(&query)
            .bind(self.last)
            .fetch_all(&self.pool)
            .await?;
        let now = std::time::Instant::now();
        for row in &rows {
            for skipped in self.last + 1..row.0 {
                self.holes.insert(skipped, now);
            }
            self.last = row.0;
        }
        if !self.holes.is_empty() {
            let ids: Vec<String> = self.holes.keys().take(1000).map(i64::to_string).collect();
            let late = format!(
                "SELECT id, collection, doc_id, doc FROM {} WHERE id IN ({})",
                self.table,
                ids.join(",")
            );
            let arrived: Vec<Row> = sqlx::query_as(&late).fetch_all(&self.pool).await?;
            for row in &arrived {
                self.holes.remove(&row.0);
            }
            rows.extend(arrived);
            self.holes.retain(|_, since| since.elapsed() < HOLE_TTL);
        }
        rows.sort_by_key(|row| row.0);
        Ok(rows)
    }
}

/// A batch of outbox rows as each collection's last change per document: the ids changed
/// and the documents they end as (a deleted one has none).
type Coalesced = std::collections::BTreeMap<(String, Vec<String>), Vec<String>>;

fn coalesce(rows: Vec<Row>) -> Coalesced {
    let mut last: std::collections::BTreeMap<(String, String), Option<String>> =
        std::collections::BTreeMap::new();
    for (_, collection, doc_id, document) in rows {
        last.insert((collection, doc_id), document);
    }
    let mut by_collection: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> =
        std::collections::BTreeMap::new();
    for ((collection, doc_id), document) in last {
        let (ids, documents) = by_collection.entry(collection).or_default();
        ids.push(doc_id);
        documents.extend(document);
    }
    by_collection
        .into_iter()
        .map(|(collection, (ids, documents))| ((collection, ids), documents))
        .collect()
}

/// A collection's changes of one batch: the changed documents removed, then their last
/// versions inserted (in two round trips, whatever the batch's size).
async fn apply_many(
    db: &mongodb::Database,
    collection: &str,
    ids: Vec<String>,
    documents: Vec<String>,
) -> Result<(), String> {
    if ids.len() == 1 {
        return apply(
            db,
            collection,
            &ids[0],
            documents.first().map(String::as_str),
        )
        .await;
    }
    let parsed = documents
        .iter()
        .map(|text| {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            match json_to_bson(&value) {
                Bson::Document(document) => Ok(document),
                _ => Err(format!("not a document: {text}")),
            }
        })
        .collect::<Result<Vec<Document>, String>>()?;
    let handle = db.collection::<Document>(collection);
    handle
        .delete_many(doc! { "_id": { "$in": ids } })
        .await
        .map_err(|e| e.to_string())?;
    if !parsed.is_empty() {
        handle
            .insert_many(parsed)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
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

    fn databases(&self) -> Vec<String> {
        let mut both = self.writes.databases();
        both.extend(self.reads.databases());
        both
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

    /// A write's events are its write side's (the outbox rows its triggers produced); a
    /// read's, its read side's.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        match request.kind {
            Kind::Write => self.writes.execute_events(request).await,
            Kind::Read => self.reads.execute_events(request).await,
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
