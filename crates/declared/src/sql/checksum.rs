//! Checksums of key ranges computed by the database: the declared `[checksum]` query (one
//! row per aggregate, columns `key` and `text`) wrapped as a subquery, each text hashed by
//! the first 15 hex digits of its MD5 (60 bits) and the hashes summed exactly, so that
//! PostgreSQL and MySQL/MariaDB give the same sum for the same texts.

use super::{Bound, Pool};
use async_trait::async_trait;
use cutover::targets::{Checksums, InfraError, KeyOrder, KeyRange, RangeSum};
use sqlx::Row;

/// Which SQL the wrapping statements are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// PostgreSQL: `$n` placeholders, `COLLATE "C"`.
    Pg,
    /// MySQL/MariaDB: `?` placeholders, `COLLATE utf8mb4_bin`.
    MySql,
}

impl Engine {
    fn column(self, name: &str) -> String {
        match self {
            Engine::Pg => format!("s.\"{name}\""),
            Engine::MySql => format!("s.`{name}`"),
        }
    }

    /// The key as ordered: by its bytes, or as the integer it is.
    fn key(self, order: KeyOrder) -> String {
        match (self, order) {
            (_, KeyOrder::Integer) => self.column("key"),
            (Engine::Pg, KeyOrder::Bytes) => format!("{} COLLATE \"C\"", self.column("key")),
            (Engine::MySql, KeyOrder::Bytes) => {
                format!("{} COLLATE utf8mb4_bin", self.column("key"))
            }
        }
    }

    /// The `n`-th bound, compared with the key in `order`: on MySQL the collation is the
    /// bound's, so that a key column in a binary collation keeps its index.
    fn bound(self, order: KeyOrder, n: usize) -> String {
        match (self, order) {
            (Engine::Pg, _) => format!("${n}"),
            (Engine::MySql, KeyOrder::Integer) => "?".into(),
            (Engine::MySql, KeyOrder::Bytes) => "? COLLATE utf8mb4_bin".into(),
        }
    }

    /// The sum of the texts' hashes, as decimal text (`0` for no row).
    fn sum(self) -> String {
        let text = self.column("text");
        match self {
            Engine::Pg => format!(
                "coalesce(sum(('x' || substr(md5({text}), 1, 15))::bit(60)::bigint), 0)::text"
            ),
            Engine::MySql => format!(
                "CAST(COALESCE(SUM(CAST(CONV(SUBSTRING(MD5({text}), 1, 15), 16, 10) AS UNSIGNED)), 0) AS CHAR)"
            ),
        }
    }
}

/// The `WHERE` clause of `range` (empty when it is all keys) and the bounds it binds.
fn range_clause(
    engine: Engine,
    order: KeyOrder,
    range: &KeyRange,
) -> Result<(String, Vec<Bound>), InfraError> {
    let key = match engine {
        Engine::Pg => engine.key(order),
        Engine::MySql => engine.column("key"),
    };
    let (mut conditions, mut bounds) = (Vec::new(), Vec::new());
    for (bound, op) in [(&range.after, ">"), (&range.upto, "<=")] {
        if let Some(bound) = bound {
            bounds.push(Bound::of(order, bound)?);
            conditions.push(format!("{key} {op} {}", engine.bound(order, bounds.len())));
        }
    }
    let clause = match conditions.is_empty() {
        true => String::new(),
        false => format!(" WHERE {}", conditions.join(" AND ")),
    };
    Ok((clause, bounds))
}

/// The statement counting and summing the aggregates of `range`.
pub(crate) fn checksum_sql(
    engine: Engine,
    sql: &str,
    order: KeyOrder,
    range: &KeyRange,
) -> Result<(String, Vec<Bound>), InfraError> {
    let (clause, bounds) = range_clause(engine, order, range)?;
    let sum = engine.sum();
    Ok((
        format!("SELECT count(*), {sum} FROM ({sql}) s{clause}"),
        bounds,
    ))
}

/// The statement answering the keys of `range` at every `every`-th position.
pub(crate) fn split_sql(
    engine: Engine,
    sql: &str,
    order: KeyOrder,
    range: &KeyRange,
    every: u64,
) -> Result<(String, Vec<Bound>), InfraError> {
    let (clause, mut bounds) = range_clause(engine, order, range)?;
    let every = i64::try_from(every.max(1)).unwrap_or(i64::MAX);
    bounds.push(Bound::Integer(every));
    let (key, ordered) = (engine.column("key"), engine.key(order));
    let t_key = key.replacen("s.", "t.", 1);
    let n = engine.bound(KeyOrder::Integer, bounds.len());
    Ok((
        format!(
            "SELECT {t_key} FROM (SELECT {key}, row_number() OVER (ORDER BY {ordered}) AS rn \
             FROM ({sql}) s{clause}) t WHERE t.rn % {n} = 0 ORDER BY t.rn"
        ),
        bounds,
    ))
}

/// A declared `[checksum]` on one database.
pub struct SqlChecksums {
    pub(super) form: String,
    pub(super) sql: String,
    pub(super) order: KeyOrder,
    pub(super) pool: Pool,
}

impl SqlChecksums {
    fn engine(&self) -> Engine {
        match self.pool {
            Pool::Pg(_) => Engine::Pg,
            Pool::MySql(_) => Engine::MySql,
        }
    }

    /// Prepares the statement checksumming every key, so that a wrong query fails when the
    /// target opens.
    pub(super) async fn check(&self) -> Result<(), String> {
        let (sql, _) = checksum_sql(self.engine(), &self.sql, self.order, &KeyRange::all())
            .map_err(|e| e.to_string())?;
        match &self.pool {
            Pool::Pg(pool) => super::pg::parameter_types(pool, &sql).await.map(|_| ()),
            Pool::MySql(pool) => super::mysql::check(pool, &sql).await,
        }
    }
}

fn sum_of(count: i64, sum: String) -> RangeSum {
    RangeSum {
        count: u64::try_from(count).unwrap_or(0),
        sum,
    }
}

#[async_trait]
impl Checksums for SqlChecksums {
    fn form(&self) -> &str {
        &self.form
    }

    async fn checksum(&self, range: &KeyRange) -> Result<RangeSum, InfraError> {
        let (sql, bounds) = checksum_sql(self.engine(), &self.sql, self.order, range)?;
        let read = |e: sqlx::Error| InfraError::Other(format!("[checksum]: {e}"));
        match &self.pool {
            Pool::Pg(pool) => {
                let rows = super::pg::ranged(pool, &sql, &bounds).await?;
                let row = rows.first().ok_or_else(|| read(sqlx::Error::RowNotFound))?;
                Ok(sum_of(
                    row.try_get(0).map_err(read)?,
                    row.try_get(1).map_err(read)?,
                ))
            }
            Pool::MySql(pool) => {
                let rows = super::mysql::ranged(pool, &sql, &bounds).await?;
                let row = rows.first().ok_or_else(|| read(sqlx::Error::RowNotFound))?;
                Ok(sum_of(
                    row.try_get(0).map_err(read)?,
                    row.try_get(1).map_err(read)?,
                ))
            }
        }
    }

    async fn split(&self, range: &KeyRange, every: u64) -> Result<Vec<String>, InfraError> {
        let (sql, bounds) = split_sql(self.engine(), &self.sql, self.order, range, every)?;
        let keys: Result<Vec<String>, String> = match &self.pool {
            Pool::Pg(pool) => super::pg::ranged(pool, &sql, &bounds)
                .await?
                .iter()
                .map(|row| super::pg::column(row, 0).and_then(super::key_text))
                .collect(),
            Pool::MySql(pool) => super::mysql::ranged(pool, &sql, &bounds)
                .await?
                .iter()
                .map(|row| super::mysql::column(row, 0).and_then(super::key_text))
                .collect(),
        };
        keys.map_err(|e| InfraError::Other(format!("[checksum]: a key: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(after: Option<&str>, upto: Option<&str>) -> KeyRange {
        KeyRange {
            after: after.map(str::to_string),
            upto: upto.map(str::to_string),
        }
    }

    #[test]
    fn the_declared_query_is_wrapped_with_the_range_bounds_it_has() {
        let (sql, bounds) = checksum_sql(
            Engine::Pg,
            "SELECT 1",
            KeyOrder::Bytes,
            &range(Some("a"), Some("b")),
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT count(*), coalesce(sum(('x' || substr(md5(s.\"text\"), 1, 15))::bit(60)::bigint), 0)::text \
             FROM (SELECT 1) s WHERE s.\"key\" COLLATE \"C\" > $1 AND s.\"key\" COLLATE \"C\" <= $2"
        );
        assert_eq!(bounds, [Bound::Text("a".into()), Bound::Text("b".into())]);
        let (sql, bounds) = checksum_sql(
            Engine::MySql,
            "SELECT 1",
            KeyOrder::Integer,
            &range(None, Some("7")),
        )
        .unwrap();
        assert!(
            sql.ends_with("FROM (SELECT 1) s WHERE s.`key` <= ?"),
            "{sql}"
        );
        assert_eq!(bounds, [Bound::Integer(7)]);
        let (sql, bounds) =
            checksum_sql(Engine::Pg, "SELECT 1", KeyOrder::Bytes, &KeyRange::all()).unwrap();
        assert!(sql.ends_with("FROM (SELECT 1) s"), "{sql}");
        assert!(bounds.is_empty());
        assert!(checksum_sql(Engine::Pg, "x", KeyOrder::Integer, &range(Some("a"), None)).is_err());
    }

    #[test]
    fn a_split_numbers_the_range_and_keeps_every_nth_key() {
        let (sql, bounds) = split_sql(
            Engine::Pg,
            "SELECT 1",
            KeyOrder::Bytes,
            &range(Some("a"), None),
            10,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT t.\"key\" FROM (SELECT s.\"key\", row_number() OVER (ORDER BY s.\"key\" COLLATE \"C\") AS rn \
             FROM (SELECT 1) s WHERE s.\"key\" COLLATE \"C\" > $1) t WHERE t.rn % $2 = 0 ORDER BY t.rn"
        );
        assert_eq!(bounds, [Bound::Text("a".into()), Bound::Integer(10)]);
        let (sql, _) = split_sql(
            Engine::MySql,
            "SELECT 1",
            KeyOrder::Integer,
            &KeyRange::all(),
            0,
        )
        .unwrap();
        assert!(sql.contains("ORDER BY s.`key`) AS rn"), "{sql}");
        assert!(sql.contains("t.rn % ? = 0"), "{sql}");
    }
}
