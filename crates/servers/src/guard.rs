//! The data-safety guard: cutover empties a database only when it made the database for a
//! run, or the database carries cutover's mark (written when cutover makes one, or when a
//! spec says `reset=allow`). Any other database, empty or not, is refused before anything
//! is written to it, with an error that names it and says how to allow it.
//!
//! The mark is the database's comment on PostgreSQL (`COMMENT ON DATABASE`), and a table
//! (MySQL, MariaDB) or collection (MongoDB) named [`MARKER`] holding [`MARK`]. Reading it
//! needs no privilege beyond connecting, so a check never writes.

use mongodb::bson::doc;
use sqlx::{MySqlPool, PgPool};
use tokio::sync::OnceCell;

/// The mark's text.
pub const MARK: &str = "made by cutover for replays: a reset may empty it";

/// The table (MySQL) or collection (MongoDB) that holds the mark.
pub const MARKER: &str = "cutover_marker";

/// Why a database may not be emptied.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Neither made by cutover nor marked.
    #[error(
        "refusing to empty the {store} database `{database}`: cutover did not create it and it \
         does not carry cutover's mark. Point the spec at the server instead (a URL without a \
         database) for a fresh database per run, or, if this database was made for replays, \
         add `reset=allow,` before the spec's URL to empty and mark it"
    )]
    Unmarked {
        /// `PostgreSQL`, `MySQL` or `MongoDB`.
        store: &'static str,
        /// The database's name.
        database: String,
    },
    /// The mark could not be read or written.
    #[error("checking whether the {store} database `{database}` may be emptied: {why}")]
    Check {
        /// `PostgreSQL`, `MySQL` or `MongoDB`.
        store: &'static str,
        /// The database's name.
        database: String,
        /// The driver's error.
        why: String,
    },
}

/// One target's permission to empty its database: checked at its first reset, then
/// remembered (a mark does not go away during a run).
#[derive(Debug, Default)]
pub struct ResetGuard {
    allow: bool,
    checked: OnceCell<()>,
}

impl ResetGuard {
    /// A guard that refuses an unmarked database, or with `allow` (the spec's
    /// `reset=allow`) marks it and lets it be emptied.
    pub fn new(allow: bool) -> ResetGuard {
        ResetGuard {
            allow,
            checked: OnceCell::new(),
        }
    }

    /// Whether the PostgreSQL database of `pool` may be emptied.
    pub async fn postgres(&self, pool: &PgPool) -> Result<(), Refusal> {
        self.checked
            .get_or_try_init(|| async {
                let database: String = sqlx::query_scalar("SELECT current_database()")
                    .fetch_one(pool)
                    .await
                    .map_err(|e| check("PostgreSQL", "?", e))?;
                let fail = |e: sqlx::Error| check("PostgreSQL", &database, e);
                if postgres_marked(pool).await.map_err(fail)? {
                    return Ok(());
                }
                self.refuse("PostgreSQL", &database)?;
                mark_postgres(pool, &database).await.map_err(fail)
            })
            .await
            .copied()
    }

    /// Whether the MySQL database of `pool` may be emptied.
    pub async fn mysql(&self, pool: &MySqlPool) -> Result<(), Refusal> {
        self.checked
            .get_or_try_init(|| async {
                let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
                    .fetch_one(pool)
                    .await
                    .map_err(|e| check("MySQL", "?", e))?;
                let database = database.unwrap_or_default();
                let fail = |e: sqlx::Error| check("MySQL", &database, e);
                if mysql_marked(pool, &database).await.map_err(fail)? {
                    return Ok(());
                }
                self.refuse("MySQL", &database)?;
                let mut connection = pool.acquire().await.map_err(fail)?;
                mark_mysql(&mut connection).await.map_err(fail)
            })
            .await
            .copied()
    }

    /// Whether the MongoDB database `database` may be emptied.
    pub async fn mongo(&self, database: &mongodb::Database) -> Result<(), Refusal> {
        self.checked
            .get_or_try_init(|| async {
                let name = database.name().to_string();
                let fail = |e: mongodb::error::Error| Refusal::Check {
                    store: "MongoDB",
                    database: name.clone(),
                    why: e.to_string(),
                };
                if mongo_marked(database).await.map_err(fail)? {
                    return Ok(());
                }
                self.refuse("MongoDB", &name)?;
                mark_mongo(database).await.map_err(fail)
            })
            .await
            .copied()
    }

    fn refuse(&self, store: &'static str, database: &str) -> Result<(), Refusal> {
        if self.allow {
            Ok(())
        } else {
            Err(Refusal::Unmarked {
                store,
                database: database.to_string(),
            })
        }
    }
}

fn check(store: &'static str, database: &str, e: sqlx::Error) -> Refusal {
    Refusal::Check {
        store,
        database: database.to_string(),
        why: e.to_string(),
    }
}

/// Whether the PostgreSQL database of `pool` carries the mark.
pub async fn postgres_marked(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let comment: Option<String> = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database \
         WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?;
    Ok(comment.as_deref() == Some(MARK))
}

/// Marks the PostgreSQL database `name` (its owner or a superuser may).
pub async fn mark_postgres<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    name: &str,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "COMMENT ON DATABASE \"{}\" IS '{MARK}'",
        name.replace('"', "\"\"")
    );
    sqlx::query(&sql).execute(executor).await.map(drop)
}

/// Whether the MySQL database `name` holds the mark.
pub async fn mysql_marked(pool: &MySqlPool, name: &str) -> Result<bool, sqlx::Error> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
    )
    .bind(name)
    .bind(MARKER)
    .fetch_optional(pool)
    .await?;
    if table.is_none() {
        return Ok(false);
    }
    let mark: Option<String> = sqlx::query_scalar(&format!("SELECT mark FROM `{MARKER}` LIMIT 1"))
        .fetch_optional(pool)
        .await?;
    Ok(mark.as_deref() == Some(MARK))
}

/// Marks the MySQL database `connection` uses.
pub async fn mark_mysql(connection: &mut sqlx::MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS `{MARKER}` (mark VARCHAR(200) NOT NULL)"
    ))
    .execute(&mut *connection)
    .await?;
    sqlx::query(&format!("INSERT INTO `{MARKER}` (mark) VALUES (?)"))
        .bind(MARK)
        .execute(&mut *connection)
        .await
        .map(drop)
}

/// Whether the MongoDB database holds the mark.
pub async fn mongo_marked(database: &mongodb::Database) -> Result<bool, mongodb::error::Error> {
    let found = database
        .collection::<mongodb::bson::Document>(MARKER)
        .find_one(doc! { "_id": "cutover", "mark": MARK })
        .await?;
    Ok(found.is_some())
}

/// Marks the MongoDB database.
pub async fn mark_mongo(database: &mongodb::Database) -> Result<(), mongodb::error::Error> {
    database
        .collection::<mongodb::bson::Document>(MARKER)
        .replace_one(
            doc! { "_id": "cutover" },
            doc! { "_id": "cutover", "mark": MARK },
        )
        .upsert(true)
        .await
        .map(drop)
}
