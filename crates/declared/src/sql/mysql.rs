//! The MySQL/MariaDB side of declared SQL targets: values bound by their JSON type (the
//! server converts), rows through `value::mysql`.

use super::{argument, PreparedOp, Ran};
use crate::value::mysql::row_to_canonical;
use cutover::cassette::Request;
use cutover::targets::InfraError;
use serde_json::Value;
use sqlx::mysql::{MySqlArguments, MySqlDatabaseError, MySqlPoolOptions};
use sqlx::{Arguments, Executor, MySqlPool};
use std::time::Duration;

pub(super) async fn connect(url: &str) -> Result<MySqlPool, String> {
    MySqlPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute("SET time_zone = '+00:00'").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))
}

/// Prepares `sql` on the server, so that a wrong statement fails when the target opens.
pub(super) async fn check(pool: &MySqlPool, sql: &str) -> Result<(), String> {
    pool.prepare(sql)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub(super) async fn run(
    pool: &MySqlPool,
    op: &PreparedOp,
    request: &Request,
) -> Result<Ran, InfraError> {
    let mut bound = Vec::new();
    for prepared in &op.statements {
        let mut arguments = MySqlArguments::default();
        for name in &prepared.statement.names {
            bind(&mut arguments, &argument(request, name)).map_err(InfraError::Other)?;
        }
        bound.push((prepared.statement.sql.as_str(), arguments));
    }
    super::run_bound!(
        pool,
        op,
        bound,
        row_to_canonical,
        |e: &dyn sqlx::error::DatabaseError| {
            let mut codes: Vec<String> = e.code().map(|c| c.to_string()).into_iter().collect();
            if let Some(my) = e.try_downcast_ref::<MySqlDatabaseError>() {
                codes.insert(0, my.number().to_string());
            }
            codes
        }
    )
}

/// Adds `value` by its JSON type: a string, an integer, a decimal as its exact text (the
/// server converts), a boolean, NULL, or an object or array as JSON text.
fn bind(arguments: &mut MySqlArguments, value: &Value) -> Result<(), String> {
    let added = match value {
        Value::Null => arguments.add(None::<String>),
        Value::Bool(b) => arguments.add(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => arguments.add(i),
            (None, Some(u)) => arguments.add(u),
            _ => arguments.add(n.to_string()),
        },
        Value::String(s) => arguments.add(s.clone()),
        other => arguments.add(other.to_string()),
    };
    added.map_err(|e| e.to_string())
}
