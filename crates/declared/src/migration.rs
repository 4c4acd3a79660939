//! A worked migration: a directory holding both sides' schemas and declared operations,
//! a cassette and the declared differences, run on fresh databases of the real servers
//! (`cutover demo NAME`, the tests of each trap).
//!
//! ```toml
//! # fixtures/migrations/NAME/migration.toml
//! description = "MySQL to PostgreSQL: ..."
//! cassette = "cassette.jsonl"
//! rules = "rules.toml"           # optional
//! concurrency = 1                # optional: requests in flight (the demo's default: 16)
//! [legacy]
//! store = "mysql"                # mysql | postgres
//! schema = "legacy.sql"          # applied to a fresh database
//! ops = "legacy.toml"            # the declared operations (see `declared`)
//! [candidate]
//! store = "postgres"
//! schema = "new.sql"
//! ops = "new.toml"
//! [data]                         # optional: rows the legacy holds before the traffic, copied
//! seed = "seed.sql"              # to the candidate (see `data`); `cutover demo` then verifies
//! copy_out = "copy_page"         # every aggregate of both stores after the traffic
//! copy_key = "id"
//! copy_in = "copy_row"
//! ```

pub mod data;

use super::mongo::MongoTarget;
use super::sql::SqlTarget;
use super::sync::{Synced, Worker};
use crate::DeclaredError;
use cutover::targets::Target;
use cutover::Pair;
use cutover_servers::mongo::{FreshMongo, MongoServer};
use cutover_servers::mysql::{FreshMySql, MySqlServer};
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the bundled migrations are, under the project root.
pub const BUNDLED: &str = "fixtures/migrations";

/// The store one side runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// MongoDB (a read side fed by a sync).
    Mongodb,
}

/// One side of a migration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Side {
    /// Its store.
    pub store: Store,
    /// Its schema (SQL), relative to the migration's directory.
    pub schema: PathBuf,
    /// Its declared operations, relative to the migration's directory.
    pub ops: PathBuf,
    /// Where it reads from, when not from `store` (a new store fed by a sync).
    #[serde(default)]
    pub reads: Option<Reads>,
    /// The sync from `store` to `reads`.
    #[serde(default)]
    pub sync: Option<SyncSpec>,
}

/// A side's read path on another store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reads {
    /// Its store (`mongodb`).
    pub store: Store,
    /// Its declared operations (reads and the stored state).
    pub ops: PathBuf,
}

/// The sync worker between a side's write store and its read store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// The outbox table the write store's triggers fill.
    pub outbox: String,
    /// How long the worker waits before applying what it found (`50ms`), or `never` (the
    /// worker is stopped).
    pub delay: String,
    /// The settle window of the state read back after a write (the read operations
    /// declare their own); the replay's `--settle` otherwise.
    #[serde(default)]
    pub settle: Option<String>,
}

/// A migration's `migration.toml`, its paths made absolute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    /// One line saying what it is.
    pub description: String,
    /// The cassette replayed.
    pub cassette: PathBuf,
    /// The declared differences, if any.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Requests in flight at once, when the migration needs a bound (1: identifiers drawn
    /// from a sequence follow the cassette's order on both sides).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// The old store.
    pub legacy: Side,
    /// The new store.
    pub candidate: Side,
    /// The rows the legacy holds before the traffic, and their copy to the candidate.
    #[serde(default)]
    pub data: Option<data::Data>,
}

/// A migration's two sides running on fresh databases, dropped with this value.
pub struct Running {
    /// The legacy's and the candidate's declared targets.
    pub pair: Pair,
    /// The legacy's store and database URL.
    legacy: (Store, String),
    /// The candidate's sync, if it has one (`Some(None)`: a stopped one).
    sync: Option<Option<super::sync::Progress>>,
    /// Dropped in this order: the databases, then the servers.
    _databases: Vec<Database>,
    _servers: Started,
}

enum Database {
    Postgres(Box<FreshPostgres>),
    Mysql(Box<FreshMySql>),
    Mongodb(Box<FreshMongo>),
}

/// The servers a migration started (none where one already runs), stopped with it.
#[derive(Default)]
struct Started {
    postgres: Option<PostgresServer>,
    mysql: Option<MySqlServer>,
    mongodb: Option<MongoServer>,
}

impl Migration {
    /// Reads `dir/migration.toml`.
    pub fn load(dir: &Path) -> Result<Migration, DeclaredError> {
        let path = dir.join("migration.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.display().to_string();
        let source = cutover::located::Source {
            text: &text,
            name: &name,
        };
        let mut migration: Migration = source.toml().map_err(|e| e.to_string())?;
        migration.cassette = dir.join(&migration.cassette);
        migration.rules = migration.rules.map(|r| dir.join(r));
        if let Some(data) = &mut migration.data {
            data.seed = dir.join(&data.seed);
        }
        for side in [&mut migration.legacy, &mut migration.candidate] {
            side.schema = dir.join(&side.schema);
            side.ops = dir.join(&side.ops);
            if let Some(reads) = &mut side.reads {
                reads.ops = dir.join(&reads.ops);
            }
        }
        Ok(migration)
    }

    /// The bundled migrations under `root` (the project's directory), by name, with their
    /// descriptions.
    pub fn bundled(root: &Path) -> Vec<(String, String)> {
        let Ok(entries) = std::fs::read_dir(root.join(BUNDLED)) else {
            return Vec::new();
        };
        let mut found: Vec<(String, String)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                Migration::load(&e.path())
                    .ok()
                    .map(|m| (name, m.description))
            })
            .collect();
        found.sort();
        found
    }

    /// Both sides on fresh databases with their schemas applied, as declared targets.
    pub async fn start(&self) -> Result<Running, DeclaredError> {
        let mut servers = Started::default();
        let mut databases = Vec::new();
        let mut targets = Vec::new();
        let mut legacy_url = String::new();
        let mut sync_progress = None;
        for side in [&self.legacy, &self.candidate] {
            let schema = std::fs::read_to_string(&side.schema)
                .map_err(|e| format!("{}: {e}", side.schema.display()))?;
            let url = fresh(side.store, &mut servers, &mut databases).await?;
            apply(side.store, &url, &schema)
                .await
                .map_err(|e| format!("{}: {e}", side.schema.display()))?;
            if targets.is_empty() {
                legacy_url = url.clone();
            }
            let writes = Arc::new(SqlTarget::open(&url, &side.ops).await?) as Arc<dyn Target>;
            let target = match (&side.reads, &side.sync) {
                (None, None) => writes,
                (Some(reads), Some(sync)) => {
                    synced(
                        writes,
                        &url,
                        reads,
                        sync,
                        &mut servers,
                        &mut databases,
                        &mut sync_progress,
                    )
                    .await?
                }
                _ => return Err(DeclaredError("`reads` and `sync` go together".into())),
            };
            targets.push(target);
        }
        let candidate = targets.pop().expect("two sides");
        let legacy = targets.pop().expect("two sides");
        Ok(Running {
            pair: Pair { legacy, candidate },
            legacy: (self.legacy.store, legacy_url),
            sync: sync_progress,
            _databases: databases,
            _servers: servers,
        })
    }
}

impl Running {
    /// The data the legacy holds before the traffic (`[data]`): its seed applied, then
    /// its rows copied to the candidate as the migration's copy script would; answers how
    /// many rows were copied. A replay after it must not reset the stores.
    pub async fn load(&self, data: &data::Data) -> Result<u64, DeclaredError> {
        let seed = std::fs::read_to_string(&data.seed)
            .map_err(|e| format!("{}: {e}", data.seed.display()))?;
        let (store, url) = &self.legacy;
        apply(*store, url, &seed)
            .await
            .map_err(|e| format!("{}: {e}", data.seed.display()))?;
        data::copy(&self.pair, data).await
    }

    /// Waits until the candidate's sync has applied every change written so far (at once
    /// without a sync); an error after `within`, or for a stopped sync.
    pub async fn settled(&self, within: std::time::Duration) -> Result<(), DeclaredError> {
        match &self.sync {
            Some(Some(progress)) => Ok(progress.settled(within).await?),
            Some(None) => Err("the candidate's sync is stopped: it never settles"
                .to_string()
                .into()),
            None => Ok(()),
        }
    }

    /// The URLs of the databases, legacy first, for messages.
    pub fn databases(&self) -> Vec<String> {
        self._databases
            .iter()
            .map(|d| match d {
                Database::Postgres(db) => format!("PostgreSQL database {}", db.name),
                Database::Mysql(db) => format!("MySQL database {}", db.name),
                Database::Mongodb(db) => format!("MongoDB database {}", db.name),
            })
            .collect()
    }
}

/// A fresh database on `store`'s server (started once), kept in `databases`; its URL (for
/// MongoDB: the server's URI with the database's name in it).
async fn fresh(
    store: Store,
    servers: &mut Started,
    databases: &mut Vec<Database>,
) -> Result<String, String> {
    Ok(match store {
        Store::Postgres => {
            if servers.postgres.is_none() {
                servers.postgres = Some(PostgresServer::start().await.map_err(|e| e.0)?);
            }
            let db = servers
                .postgres
                .as_ref()
                .expect("started")
                .fresh_database()
                .await;
            let db = db.map_err(|e| e.0)?;
            let url = db.url();
            databases.push(Database::Postgres(Box::new(db)));
            url
        }
        Store::Mysql => {
            if servers.mysql.is_none() {
                servers.mysql = Some(MySqlServer::start().await.map_err(|e| e.0)?);
            }
            let db = servers
                .mysql
                .as_ref()
                .expect("started")
                .fresh_database()
                .await;
            let db = db.map_err(|e| e.0)?;
            let url = db.url.clone();
            databases.push(Database::Mysql(Box::new(db)));
            url
        }
        Store::Mongodb => {
            if servers.mongodb.is_none() {
                servers.mongodb = Some(MongoServer::start().await.map_err(|e| e.0)?);
            }
            let db = servers.mongodb.as_ref().expect("started").fresh_database();
            let db = db.await.map_err(|e| e.0)?;
            let url = cutover_servers::spec::with_database(&db.uri, &db.name);
            databases.push(Database::Mongodb(Box::new(db)));
            url
        }
    })
}

/// The candidate behind a sync: writes to `writes` (at `write_url`), reads from a fresh
/// database of `reads.store`, the worker copying the outbox across.
async fn synced(
    writes: Arc<dyn Target>,
    write_url: &str,
    reads: &Reads,
    sync: &SyncSpec,
    servers: &mut Started,
    databases: &mut Vec<Database>,
    progress: &mut Option<Option<super::sync::Progress>>,
) -> Result<Arc<dyn Target>, String> {
    if reads.store != Store::Mongodb {
        return Err("a synced read side is a MongoDB store (`store = \"mongodb\"`)".into());
    }
    let duration = |what: &str, text: &str| {
        cutover::targets::parse_duration(text)
            .ok_or_else(|| format!("sync {what} `{text}`: expected 50ms, 2s, ... or never"))
    };
    let delay = match sync.delay.as_str() {
        "never" => None,
        text => Some(duration("delay", text)?),
    };
    let settle = sync
        .settle
        .as_deref()
        .map(|s| duration("settle", s))
        .transpose()?;
    let uri = fresh(Store::Mongodb, servers, databases).await?;
    let Some(Database::Mongodb(db)) = databases.last() else {
        unreachable!("`fresh` pushed the MongoDB database")
    };
    let target = MongoTarget::open(&uri, &reads.ops).await.map_err(|e| e.0)?;
    let worker = Worker::start(write_url, &sync.outbox, &uri, &db.name, delay).await?;
    *progress = Some(worker.progress());
    Ok(Arc::new(Synced::new(
        writes,
        Arc::new(target),
        settle,
        worker,
    )))
}

/// Runs a schema file (several statements) on a fresh database.
async fn apply(store: Store, url: &str, schema: &str) -> Result<(), String> {
    use sqlx::Connection;
    match store {
        Store::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(schema)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        Store::Mongodb => return Err("a MongoDB store has no schema file".into()),
        Store::Mysql => {
            let mut conn = sqlx::MySqlConnection::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(schema)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
