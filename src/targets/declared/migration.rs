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
//! ```

use super::sql::SqlTarget;
use crate::services::mysql::{FreshMySql, MySqlServer};
use crate::services::postgres::{FreshPostgres, PostgresServer};
use crate::targets::Target;
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
}

/// A migration's two sides running on fresh databases, dropped with this value.
pub struct Running {
    /// The legacy's declared target.
    pub legacy: Arc<dyn Target>,
    /// The candidate's declared target.
    pub candidate: Arc<dyn Target>,
    /// Dropped in this order: the databases, then the servers.
    _databases: Vec<Database>,
    _servers: Servers,
}

enum Database {
    Postgres(Box<FreshPostgres>),
    Mysql(Box<FreshMySql>),
}

#[derive(Default)]
struct Servers {
    postgres: Option<PostgresServer>,
    mysql: Option<MySqlServer>,
}

impl Migration {
    /// Reads `dir/migration.toml`.
    pub fn load(dir: &Path) -> Result<Migration, String> {
        let path = dir.join("migration.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.display().to_string();
        let source = crate::located::Source {
            text: &text,
            name: &name,
        };
        let mut migration: Migration = source.toml().map_err(|e| e.to_string())?;
        migration.cassette = dir.join(&migration.cassette);
        migration.rules = migration.rules.map(|r| dir.join(r));
        for side in [&mut migration.legacy, &mut migration.candidate] {
            side.schema = dir.join(&side.schema);
            side.ops = dir.join(&side.ops);
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
    pub async fn start(&self) -> Result<Running, String> {
        let mut servers = Servers::default();
        let mut databases = Vec::new();
        let mut targets = Vec::new();
        for side in [&self.legacy, &self.candidate] {
            let schema = std::fs::read_to_string(&side.schema)
                .map_err(|e| format!("{}: {e}", side.schema.display()))?;
            let url = match side.store {
                Store::Postgres => {
                    if servers.postgres.is_none() {
                        servers.postgres = Some(PostgresServer::start().await.map_err(|e| e.0)?);
                    }
                    let server = servers.postgres.as_ref().expect("started above");
                    let db = server.fresh_database().await.map_err(|e| e.0)?;
                    let url = db.url();
                    databases.push(Database::Postgres(Box::new(db)));
                    url
                }
                Store::Mysql => {
                    if servers.mysql.is_none() {
                        servers.mysql = Some(MySqlServer::start().await.map_err(|e| e.0)?);
                    }
                    let server = servers.mysql.as_ref().expect("started above");
                    let db = server.fresh_database().await.map_err(|e| e.0)?;
                    let url = db.url.clone();
                    databases.push(Database::Mysql(Box::new(db)));
                    url
                }
            };
            apply(side.store, &url, &schema)
                .await
                .map_err(|e| format!("{}: {e}", side.schema.display()))?;
            targets.push(Arc::new(SqlTarget::open(&url, &side.ops).await?) as Arc<dyn Target>);
        }
        let candidate = targets.pop().expect("two sides");
        let legacy = targets.pop().expect("two sides");
        Ok(Running {
            legacy,
            candidate,
            _databases: databases,
            _servers: servers,
        })
    }
}

impl Running {
    /// The URLs of the databases, legacy first, for messages.
    pub fn databases(&self) -> Vec<String> {
        self._databases
            .iter()
            .map(|d| match d {
                Database::Postgres(db) => format!("PostgreSQL database {}", db.name),
                Database::Mysql(db) => format!("MySQL database {}", db.name),
            })
            .collect()
    }
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
