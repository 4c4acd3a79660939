//! The PostgreSQL side of declared SQL targets: parameters typed by the server, values
//! converted to those types, rows through `value::pg`.

use super::events::{marked_or_argument, PreparedEvents};
use super::{argument, Bound, Keyed, Prepared, PreparedOp, Ran};
use crate::value::pg::{decode, row_to_canonical};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use cutover::cassette::Request;
use cutover::targets::InfraError;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::types::{BigDecimal, Json, Uuid};
use sqlx::{Arguments, Column, Either, Executor, PgPool, Row, Statement, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;

pub(super) async fn connect(url: &str) -> Result<PgPool, String> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))
}

/// The type of each parameter of `sql`, as the server inferred it.
pub(super) async fn parameter_types(pool: &PgPool, sql: &str) -> Result<Vec<String>, String> {
    let statement = pool.prepare(sql).await.map_err(|e| e.to_string())?;
    Ok(match statement.parameters() {
        Some(Either::Left(types)) => types.iter().map(|t| t.name().to_string()).collect(),
        _ => Vec::new(),
    })
}

pub(super) async fn run(
    pool: &PgPool,
    op: &PreparedOp,
    request: &Request,
) -> Result<Ran, InfraError> {
    let bound = match bind_op(op, request) {
        Ok(bound) => bound,
        Err(invalid) => return Ok(invalid),
    };
    super::run_bound!(pool, op, bound, row_to_canonical, codes)
}

/// A write with `[events]` (`sql/events.rs`): its answer and its outbox rows.
pub(super) async fn run_events(
    pool: &PgPool,
    op: &PreparedOp,
    events: &PreparedEvents,
    request: &Request,
) -> Result<(Ran, Vec<Value>), InfraError> {
    const START: &[&str] = &["BEGIN ISOLATION LEVEL REPEATABLE READ"];
    let bound = match bind_op(op, request) {
        Ok(bound) => bound,
        Err(invalid) => return Ok((invalid, Vec::new())),
    };
    let before = match &events.before {
        Some(p) => match bind_each(p, |name| argument(request, name)) {
            Ok(arguments) => Some((p.statement.sql.as_str(), arguments)),
            Err(why) => return Ok((Ran::Invalid(why), Vec::new())),
        },
        None => None,
    };
    let after = |marked: &Value| {
        bind_each(&events.after, |name| {
            marked_or_argument(marked, request, name)
        })
        .map(|arguments| (events.after.statement.sql.as_str(), arguments))
        .map_err(|why| InfraError::Other(format!("[events] `sql`: {why}")))
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

/// Each statement of `op` with the request's arguments bound; `Err`: an argument its
/// parameter cannot take.
fn bind_op<'a>(op: &'a PreparedOp, request: &Request) -> Result<Vec<(&'a str, PgArguments)>, Ran> {
    op.statements
        .iter()
        .map(|p| {
            bind_each(p, |name| argument(request, name))
                .map(|arguments| (p.statement.sql.as_str(), arguments))
                .map_err(Ran::Invalid)
        })
        .collect()
}

/// `value(name)` bound to each parameter of `prepared`, by the type the server inferred.
fn bind_each(prepared: &Prepared, value: impl Fn(&str) -> Value) -> Result<PgArguments, String> {
    let mut arguments = PgArguments::default();
    for (name, type_name) in prepared.statement.names.iter().zip(&prepared.types) {
        bind(&mut arguments, type_name, &value(name))
            .map_err(|why| format!("argument `{name}`: {why}"))?;
    }
    Ok(arguments)
}

/// A database error's SQLSTATE.
fn codes(e: &dyn sqlx::error::DatabaseError) -> Vec<String> {
    e.code().map(|c| c.to_string()).into_iter().collect()
}

/// Adds `value` as a parameter of type `type_name`, `null` as a typed NULL.
fn bind(arguments: &mut PgArguments, type_name: &str, value: &Value) -> Result<(), String> {
    macro_rules! add {
        ($t:ty, $convert:expr) => {{
            let converted: Option<$t> = match value {
                Value::Null => None,
                v => Some($convert(v).ok_or_else(|| expected(type_name, v))?),
            };
            arguments.add(converted).map_err(|e| e.to_string())
        }};
    }
    let int = |v: &Value| v.as_i64();
    let text = |v: &Value| v.as_str().map(str::to_string);
    match type_name {
        "INT2" => add!(i16, |v: &Value| int(v).and_then(|n| i16::try_from(n).ok())),
        "INT4" => add!(i32, |v: &Value| int(v).and_then(|n| i32::try_from(n).ok())),
        "INT8" => add!(i64, int),
        "FLOAT4" => add!(f32, |v: &Value| v.as_f64().map(|f| f as f32)),
        "FLOAT8" => add!(f64, |v: &Value| v.as_f64()),
        "NUMERIC" => add!(BigDecimal, |v: &Value| match v {
            Value::Number(n) => BigDecimal::from_str(&n.to_string()).ok(),
            _ => None,
        }),
        "BOOL" => add!(bool, |v: &Value| v.as_bool()),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" => add!(String, text),
        "TIMESTAMPTZ" => add!(DateTime<Utc>, |v: &Value| v
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))),
        "TIMESTAMP" => add!(NaiveDateTime, |v: &Value| v.as_str().and_then(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.naive_utc())
                .ok()
                .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        })),
        "DATE" => add!(NaiveDate, |v: &Value| v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())),
        "JSON" | "JSONB" => add!(Json<Value>, |v: &Value| Some(Json(v.clone()))),
        "UUID" => add!(Uuid, |v: &Value| v
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())),
        "TEXT[]" | "VARCHAR[]" => add!(Vec<String>, |v: &Value| v
            .as_array()
            .and_then(|a| a.iter().map(text).collect::<Option<Vec<_>>>())),
        "INT8[]" => add!(Vec<i64>, |v: &Value| v
            .as_array()
            .and_then(|a| a.iter().map(int).collect::<Option<Vec<_>>>())),
        "INT4[]" => add!(Vec<i32>, |v: &Value| v.as_array().and_then(|a| a
            .iter()
            .map(|n| int(n).and_then(|n| i32::try_from(n).ok()))
            .collect::<Option<Vec<_>>>())),
        other => Err(format!(
            "a parameter of type {other} cannot be bound yet; cast it in the statement \
             (`:name::text`)"
        )),
    }
}

fn expected(type_name: &str, found: &Value) -> String {
    let mut shown = found.to_string();
    if shown.len() > 60 {
        shown.truncate(60);
        shown += "...";
    }
    format!("expected a value for a {type_name} parameter, found {shown}")
}

/// How a statement is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// For each call's values (an unnamed statement, never a generic plan: `:after IS NULL
    /// OR k > :after` becomes `k > 'x'` and keeps its index).
    EachCall,
    /// Once per connection, kept (`k = ANY(:keys)` uses its index whatever the values).
    Kept,
}

/// The rows of a prepared statement with `value(name, type)` bound to each parameter by
/// the type the server inferred.
pub(super) async fn fetch(
    pool: &PgPool,
    prepared: &Prepared,
    plan: Plan,
    value: impl Fn(&str, &str) -> Value,
) -> Result<Vec<PgRow>, InfraError> {
    let mut arguments = PgArguments::default();
    for (name, type_name) in prepared.statement.names.iter().zip(&prepared.types) {
        bind(&mut arguments, type_name, &value(name, type_name))
            .map_err(|why| InfraError::Other(format!("argument `{name}`: {why}")))?;
    }
    sqlx::query_with(&prepared.statement.sql, arguments)
        .persistent(plan == Plan::Kept)
        .fetch_all(pool)
        .await
        .map_err(super::infra)
}

/// A key as the JSON value a parameter of type `type_name` (or an array of them) takes:
/// a number for an integer type, else the text.
pub(super) fn key_argument(type_name: &str, key: &str) -> Value {
    let element = type_name.trim_end_matches("[]");
    match (
        matches!(element, "INT2" | "INT4" | "INT8"),
        key.parse::<i64>(),
    ) {
        (true, Ok(n)) => Value::from(n),
        _ => Value::String(key.to_string()),
    }
}

/// The value of column `index` of `row` in the value model.
pub(super) fn column(row: &PgRow, index: usize) -> Result<Value, String> {
    let raw = row.try_get_raw(index).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_string();
    let bytes = raw.as_bytes().map_err(|e| e.to_string())?;
    decode(&type_name, bytes).map_err(|e| format!("({type_name}) {e}"))
}

/// A row of a batch dump: its key (column `key`) and its state without that column, or
/// why the value model refuses it.
pub(super) fn keyed(row: &PgRow, key: &str) -> Result<Keyed, InfraError> {
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
    pool: &PgPool,
    sql: &str,
    bounds: &[Bound],
) -> Result<Vec<PgRow>, InfraError> {
    let mut arguments = PgArguments::default();
    for bound in bounds {
        match bound {
            Bound::Text(text) => arguments.add(text.clone()),
            Bound::Integer(n) => arguments.add(*n),
        }
        .map_err(|e| InfraError::Other(e.to_string()))?;
    }
    sqlx::query_with(sql, arguments)
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(super::infra)
}
