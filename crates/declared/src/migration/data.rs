//! The data a migration's legacy holds before its traffic (`[data]` in `migration.toml`):
//! seeded by SQL after the legacy's schema, then copied to the candidate as a migration
//! script would, by the sides' own declared operations, a page at a time.
//!
//! ```toml
//! [data]
//! seed = "seed.sql"          # statements run on the legacy after its schema
//! copy_out = "copy_page"     # a read of the legacy's ops: rows after :after (null first), at most :limit, in key order
//! copy_key = "id"            # the member of a row that pages (the next :after) and is its key
//! copy_in = "copy_user"      # a write of the candidate's ops, called with each row as arguments
//! copy_end = ["copy_done"]   # writes of the candidate's ops run once after the copy
//! ```

use crate::DeclaredError;
use cutover::cassette::{Kind, Outcome, Request};
use cutover::targets::Target;
use cutover::Pair;
use futures::stream::{self, TryStreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;

/// Rows a page of `copy_out` asks for.
const PAGE: usize = 1000;

/// Rows written at once by `copy_in`.
const IN_FLIGHT: usize = 16;

/// `[data]`: the legacy's existing rows and their copy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Statements run on the legacy after its schema (relative to the migration's
    /// directory until loaded).
    pub seed: PathBuf,
    /// A read operation of the legacy's ops: the rows after `:after`, at most `:limit`.
    pub copy_out: String,
    /// The member of each row that pages and keys it.
    pub copy_key: String,
    /// A write operation of the candidate's ops, called with each row as its arguments.
    pub copy_in: String,
    /// Write operations of the candidate's ops run once after the copy.
    #[serde(default)]
    pub copy_end: Vec<String>,
}

/// Copies every row of the legacy to the candidate; answers how many.
pub async fn copy(pair: &Pair, data: &Data) -> Result<u64, DeclaredError> {
    let mut after = Value::Null;
    let mut copied = 0u64;
    loop {
        let page = rows(pair.legacy.as_ref(), data, &after).await?;
        let Some(last) = page.last() else { break };
        after = last.get(&data.copy_key).cloned().ok_or_else(|| {
            format!(
                "copy: a row of `{}` has no `{}`",
                data.copy_out, data.copy_key
            )
        })?;
        let full = page.len() == PAGE;
        copied += page.len() as u64;
        stream::iter(page.into_iter().map(Ok))
            .try_for_each_concurrent(IN_FLIGHT, |row| write(pair.candidate.as_ref(), data, row))
            .await?;
        if !full {
            break;
        }
    }
    for op in &data.copy_end {
        let request = Request::new(copied + 1, None, op, Kind::Write, json!({}), "");
        answer(pair.candidate.as_ref(), &request, "copy_end").await?;
    }
    Ok(copied)
}

/// A page of the legacy's rows after `after`.
async fn rows(
    legacy: &dyn Target,
    data: &Data,
    after: &Value,
) -> Result<Vec<Value>, DeclaredError> {
    let args = json!({ "after": after, "limit": PAGE });
    let request = Request::new(0, None, &data.copy_out, Kind::Read, args, "");
    match answer(legacy, &request, "copy_out").await? {
        Value::Array(rows) => Ok(rows),
        other => Err(format!("copy: `{}` answered {other}, expected rows", data.copy_out).into()),
    }
}

/// One row written by `copy_in`, keyed by its `copy_key`.
async fn write(candidate: &dyn Target, data: &Data, row: Value) -> Result<(), DeclaredError> {
    let key = match row.get(&data.copy_key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => return Err(format!("copy: a row has no `{}`", data.copy_key).into()),
    };
    let request = Request::new(0, Some(&key), &data.copy_in, Kind::Write, row, "");
    answer(candidate, &request, "copy_in").await.map(|_| ())
}

/// The value `request` answers, or an error naming the step and the key.
async fn answer(
    target: &dyn Target,
    request: &Request,
    step: &str,
) -> Result<Value, DeclaredError> {
    let at = || match &request.key {
        Some(key) => format!("copy: {step} `{}` of key {key}", request.op),
        None => format!("copy: {step} `{}`", request.op),
    };
    match target.execute(request).await {
        Ok(Outcome::Ok(value)) => Ok(value),
        Ok(Outcome::Error(e)) => {
            Err(format!("{} on {}: {} {}", at(), target.name(), e.kind, e.message).into())
        }
        Err(e) => Err(format!("{} on {}: {e}", at(), target.name()).into()),
    }
}
