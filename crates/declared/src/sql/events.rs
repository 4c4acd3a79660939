//! A write and the outbox rows it produced, in one transaction (`[events]`,
//! [`crate::events`]).
//!
//! The transaction starts at REPEATABLE READ with its snapshot taken at once (MySQL/MariaDB:
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`; PostgreSQL: at `before`, its first
//! statement). `before` runs first, then the operation's statements, then `sql`, bound to
//! `before`'s row and the request; then the commit. Every read of the transaction sees the
//! same snapshot plus the write's own rows: a concurrent write's rows, committed or not,
//! are never among them. A refused write is rolled back and published nothing.

use super::{Prepared, SqlTarget};
use crate::events::Events;
use crate::params::Style;
use cutover::cassette::{Kind, Request};
use serde_json::Value;

/// `[events]`, prepared.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEvents {
    pub(crate) spec: Events,
    pub(crate) before: Option<Prepared>,
    pub(crate) after: Prepared,
}

/// Runs a write with `[events]` on one connection of a pool, in a transaction opened by
/// the `$start` statements: `$before` (`Option<(sql, arguments)>`, its first row in the value
/// model), the operation's `$bound` statements, then `$after(&row)` (`(sql, arguments)`),
/// its rows the write's outbox rows; committed when the write succeeded, else rolled back.
/// Evaluates to `Result<(Ran, Vec<Value>), InfraError>`. One body for both drivers.
macro_rules! run_events {
    ($pool:expr, $start:expr, $before:expr, $op:expr, $bound:expr, $after:expr, $canonical:path, $codes:expr) => {{
        use cutover::targets::InfraError;
        use serde_json::Value;
        use sqlx::Executor;
        use $crate::sql::{canonical_rows, infra, Ran};
        let mut connection = $pool.acquire().await.map_err(infra)?;
        for statement in $start {
            connection.execute(*statement).await.map_err(infra)?;
        }
        let ran: Result<(Ran, Vec<Value>), InfraError> = async {
            let marked = match $before {
                Some((sql, arguments)) => {
                    let rows = sqlx::query_with(sql, arguments)
                        .fetch_all(&mut *connection)
                        .await
                        .map_err(|e| InfraError::Other(format!("[events] `before`: {e}")))?;
                    let rows = canonical_rows(&rows, $canonical)?;
                    rows.into_iter().next().unwrap_or(Value::Null)
                }
                None => Value::Null,
            };
            match $crate::sql::run_statements!(connection, $op, $bound, $codes).map_err(infra)? {
                Err(refused) => Ok((refused, Vec::new())),
                Ok((rows, affected)) => {
                    let (sql, arguments) = ($after)(&marked)?;
                    let published = sqlx::query_with(sql, arguments)
                        .fetch_all(&mut *connection)
                        .await
                        .map_err(|e| InfraError::Other(format!("[events] `sql`: {e}")))?;
                    let rows = canonical_rows(&rows, $canonical)?;
                    Ok((
                        Ran::Done { rows, affected },
                        canonical_rows(&published, $canonical)?,
                    ))
                }
            }
        }
        .await;
        let end = match &ran {
            Ok((Ran::Done { .. }, _)) => "COMMIT",
            _ => "ROLLBACK",
        };
        let ended = connection.execute(end).await.map_err(infra);
        match ran {
            Ok(done) => ended.map(|_| done),
            Err(e) => Err(e),
        }
    }};
}
pub(crate) use run_events;

/// The value bound to `name` in `[events]`' `sql`: `before`'s column of that name, else the
/// request's argument.
pub(crate) fn marked_or_argument(marked: &Value, request: &Request, name: &str) -> Value {
    marked
        .get(name)
        .cloned()
        .unwrap_or_else(|| super::argument(request, name))
}

impl SqlTarget {
    /// Prepares `[events]`' statements.
    pub(super) async fn prepare_events(&mut self, style: Style) -> Result<(), String> {
        let Some(spec) = self.declaration.events.clone() else {
            return Ok(());
        };
        let before = match &spec.before {
            Some(sql) => Some(
                self.prepare_one(sql, style)
                    .await
                    .map_err(|e| format!("`before`: {e}"))?,
            ),
            None => None,
        };
        let after = self
            .prepare_one(&spec.sql, style)
            .await
            .map_err(|e| format!("`sql`: {e}"))?;
        self.events = Some(PreparedEvents {
            spec,
            before,
            after,
        });
        Ok(())
    }

    async fn prepare_one(&self, sql: &str, style: Style) -> Result<Prepared, String> {
        let spec = crate::Operation {
            kind: Kind::Read,
            sql: crate::Statements::One(sql.to_string()),
            result: crate::Shape::Rows,
            none: None,
            settle: None,
        };
        let mut prepared = self.prepare(&spec, style).await?;
        prepared
            .statements
            .pop()
            .ok_or_else(|| "no statement".to_string())
    }
}
