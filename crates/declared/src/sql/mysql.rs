//! The MySQL/MariaDB side of declared SQL targets: values bound by their JSON type (the
//! server converts), rows through `value::mysql`.

use super::events::{marked_or_argument, PreparedEvents};
use super::{argument, Bound, Keyed, Prepared, PreparedOp, Ran};
use crate::value::mysql::{decode, row_to_canonical};
use cutover::cassette::Request;
use cutover::targets::{InfraError, KeyOrder};
use serde_json::Value;
use sqlx::mysql::{MySqlArguments, MySqlDatabaseError, MySqlPoolOptions, MySqlRow};
use sqlx::{Arguments, Column, Executor, MySqlPool, Row, TypeInfo};
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
    let bound = bind_op(op, request)?;
    super::run_bound!(pool, op, bound, row_to_canonical, codes)
}

/// A write with `[events]` (`sql/events.rs`): its answer and its outbox rows.
pub(super) async fn run_events(
    pool: &MySqlPool,
    op: &PreparedOp,
    events: &PreparedEvents,
    request: &Request,
) -> Result<(Ran, Vec<Value>), InfraError> {
    const START: &[&str] = &[
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
    ];
    let bound = bind_op(op, request)?;
    let before = match &events.before {
        Some(p) => Some((
            p.statement.sql.as_str(),
            bind_each(p, |name| argument(request, name))?,
        )),
        None => None,
    };
    let after = |marked: &Value| {
        bind_each(&events.after, |name| {
            marked_or_argument(marked, request, name)
        })
        .map(|arguments| (events.after.statement.sql.as_str(), arguments))
    };
    super::events::run_events!(
        pool,
        START,
        before,
        op,
        bound,
        after,
        row_to_canonical,
        codes
    )
}

/// Each statement of `op` with the request's arguments bound.
fn bind_op<'a>(
    op: &'a PreparedOp,
    request: &Request,
) -> Result<Vec<(&'a str, MySqlArguments)>, InfraError> {
    op.statements
        .iter()
        .map(|p| {
            bind_each(p, |name| argument(request, name))
                .map(|arguments| (p.statement.sql.as_str(), arguments))
        })
        .collect()
}

/// `value(name)` bound to each parameter of `prepared`.
fn bind_each(
    prepared: &Prepared,
    value: impl Fn(&str) -> Value,
) -> Result<MySqlArguments, InfraError> {
    let mut arguments = MySqlArguments::default();
    for name in &prepared.statement.names {
        bind(&mut arguments, &value(name)).map_err(InfraError::Other)?;
    }
    Ok(arguments)
}

/// A database error's codes: the MySQL error number, then the SQLSTATE.
fn codes(e: &dyn sqlx::error::DatabaseError) -> Vec<String> {
    let mut codes: Vec<String> = e.code().map(|c| c.to_string()).into_iter().collect();
    if let Some(my) = e.try_downcast_ref::<MySqlDatabaseError>() {
        codes.insert(0, my.number().to_string());
    }
    codes
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

/// The rows of a prepared statement with `value(name)` bound to each placeholder, a
/// `:keys` placeholder (`IN (:keys)`) expanded to one per key of `keys`.
pub(super) async fn fetch(
    pool: &MySqlPool,
    prepared: &Prepared,
    keys: &[Value],
    value: impl Fn(&str) -> Value,
) -> Result<Vec<MySqlRow>, InfraError> {
    let statement = &prepared.statement;
    let sql = expand(&statement.sql, &statement.names, keys.len());
    let mut arguments = MySqlArguments::default();
    for name in &statement.names {
        let values = match name.as_str() {
            "keys" => keys.to_vec(),
            name => vec![value(name)],
        };
        for v in &values {
            bind(&mut arguments, v).map_err(InfraError::Other)?;
        }
    }
    sqlx::query_with(&sql, arguments)
        .fetch_all(pool)
        .await
        .map_err(super::infra)
}

/// `sql` with its placeholder for `:keys` repeated `count` times (`?, ?, ?`); the other
/// placeholders (outside literals and comments, as [`crate::params`] placed them) kept.
pub(super) fn expand(sql: &str, names: &[String], count: usize) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let (mut out, mut i, mut placeholder) = (String::with_capacity(sql.len()), 0, 0);
    while i < chars.len() {
        let skipped = skip(&chars, i);
        if skipped > i {
            out.extend(&chars[i..skipped]);
            i = skipped;
            continue;
        }
        if chars[i] == '?' {
            match names.get(placeholder).map(String::as_str) {
                Some("keys") => out.push_str(&vec!["?"; count].join(", ")),
                _ => out.push('?'),
            }
            placeholder += 1;
        } else {
            out.push(chars[i]);
        }
        i += 1;
    }
    out
}

/// Past the literal, quoted name or comment starting at `i` (`i` itself when none does).
fn skip(chars: &[char], i: usize) -> usize {
    let next = chars.get(i + 1).copied();
    match chars[i] {
        quote @ ('\'' | '"' | '`') => {
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '\\' if quote == '\'' => j += 1,
                    c if c == quote && chars.get(j + 1) == Some(&quote) => j += 1,
                    c if c == quote => return j + 1,
                    _ => {}
                }
                j += 1;
            }
            chars.len()
        }
        '-' if next == Some('-') => chars[i..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |p| i + p),
        '/' if next == Some('*') => (i + 2..chars.len().saturating_sub(1))
            .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
            .map_or(chars.len(), |end| end + 2),
        _ => i,
    }
}

/// A key as the value bound for it: a number in the integer order, else the text.
pub(super) fn key_argument(order: KeyOrder, key: &str) -> Value {
    match (order, key.parse::<i64>()) {
        (KeyOrder::Integer, Ok(n)) => Value::from(n),
        _ => Value::String(key.to_string()),
    }
}

/// The value of column `index` of `row` in the value model.
pub(super) fn column(row: &MySqlRow, index: usize) -> Result<Value, String> {
    let type_name = row.columns()[index].type_info().name().to_string();
    match row.try_get_unchecked::<Vec<u8>, _>(index) {
        Ok(bytes) => decode(&type_name, &bytes).map_err(|e| format!("({type_name}) {e}")),
        Err(sqlx::Error::ColumnDecode { source, .. })
            if source.is::<sqlx::error::UnexpectedNullError>() =>
        {
            Ok(Value::Null)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A row of a batch dump: its key (column `key`) and its state without that column, or
/// why the value model refuses it.
pub(super) fn keyed(row: &MySqlRow, key: &str) -> Result<Keyed, InfraError> {
    let index = row
        .columns()
        .iter()
        .position(|c| c.name() == key)
        .ok_or_else(|| InfraError::Other(format!("[dump]: no column `{key}` in its answer")))?;
    let found = column(row, index).map_err(|e| InfraError::Other(format!("[dump]: key {e}")))?;
    let state = row_to_canonical(row).map_err(|e| e.0);
    super::keyed(found, key, state)
}

/// Binds a range's bounds and asks a checksum or split statement.
pub(super) async fn ranged(
    pool: &MySqlPool,
    sql: &str,
    bounds: &[Bound],
) -> Result<Vec<MySqlRow>, InfraError> {
    let mut arguments = MySqlArguments::default();
    for bound in bounds {
        match bound {
            Bound::Text(text) => arguments.add(text.clone()),
            Bound::Integer(n) => arguments.add(*n),
        }
        .map_err(|e| InfraError::Other(e.to_string()))?;
    }
    sqlx::query_with(sql, arguments)
        .fetch_all(pool)
        .await
        .map_err(super::infra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_placeholder_is_expanded_and_literals_are_kept() {
        let names = ["a".to_string(), "keys".to_string()];
        let sql = "SELECT '?', `a?` /* ? */ FROM t WHERE a = ? AND k IN (?) -- ?\n";
        assert_eq!(
            expand(sql, &names, 3),
            "SELECT '?', `a?` /* ? */ FROM t WHERE a = ? AND k IN (?, ?, ?) -- ?\n"
        );
        assert_eq!(
            expand("k IN (?) AND 'it\\'s ?' <> ?", &names[1..], 2),
            "k IN (?, ?) AND 'it\\'s ?' <> ?"
        );
    }
}
