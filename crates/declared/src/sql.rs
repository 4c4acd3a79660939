//! Declared operations on PostgreSQL or MySQL/MariaDB through sqlx.
//!
//! Every statement is prepared when the target opens (a typo fails then, naming the
//! operation), with its named parameters rewritten to placeholders. PostgreSQL types each
//! parameter from the statement, and the request's JSON value is converted to that type, or
//! the request is answered `invalid` (a string where an integer is expected is not silently
//! cast); MySQL takes each value by its JSON type and converts it itself. Answers pass
//! through the cross-store value model (`value::pg`, `value::mysql`). An operation of several
//! statements runs in one transaction (one statement is atomic by itself); a database error whose code is declared in
//! `[errors]` is the answer (the transaction rolled back), any other is an infrastructure
//! failure.
//!
//! `[events]` (`sql/events.rs`): a write run at REPEATABLE READ from a snapshot taken as its
//! transaction starts, the outbox rows it produced read before the commit, as its events.
//!
//! For `cutover verify`: `[keys]` pages (planned for each page's values), `[dump]` batches
//! (`sql/batch.rs`: rows to each key's state, a value the value model refuses making its
//! key unreadable), and `[checksum]` (`sql/checksum.rs`: the declared query wrapped into
//! the same hash sum on both engines, and the keys that split a range).

use super::params::{rewrite, Statement, Style};
use super::{Declaration, Operation, Shape, Statements};
use crate::DeclaredError;
use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Kind, Outcome, Request};
use cutover::targets::{Checksums, Dumped, Executed, InfraError, KeyOrder, Target};
use cutover_servers::guard::ResetGuard;
use cutover_servers::spec::{Database, Safety};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Runs an operation's bound statements (`Vec<(sql, arguments)>`) in order on an open
/// connection, and stops at the first error: `Ok(Ok((rows, affected)))` with the raw rows of
/// the last (unless the shape is `affected`) and the rows the first changed;
/// `Ok(Err(Ran::Refused))` for a database error, with its codes (`$codes`); `Err` for any
/// other. Whoever opened a transaction ends it. One body for both drivers.
macro_rules! run_statements {
    ($connection:expr, $op:expr, $bound:expr, $codes:expr) => {{
        let (op, bound) = ($op, $bound);
        let (mut rows, mut affected) = (Vec::new(), None);
        let last = bound.len().saturating_sub(1);
        'run: {
            for (i, (sql, arguments)) in bound.into_iter().enumerate() {
                let query = sqlx::query_with(sql, arguments);
                let result = if i == last && op.shape != $crate::Shape::Affected {
                    query.fetch_all(&mut *$connection).await.map(|r| {
                        rows = r;
                        0
                    })
                } else {
                    query
                        .execute(&mut *$connection)
                        .await
                        .map(|done| done.rows_affected())
                };
                match result {
                    Ok(n) => {
                        affected.get_or_insert(n);
                    }
                    Err(sqlx::Error::Database(e)) => {
                        break 'run Ok(Err($crate::sql::Ran::Refused {
                            codes: ($codes)(&*e),
                            message: e.message().to_string(),
                        }));
                    }
                    Err(e) => break 'run Err(e),
                }
            }
            Ok(Ok((rows, affected.unwrap_or(0))))
        }
    }};
}
pub(crate) use run_statements;

/// Runs an operation's bound statements on one connection of a pool: several in one
/// transaction (rolled back on an error); the rows of the last (`$canonical` each), unless
/// the shape is `affected`, and the rows the first changed. A database error is the answer,
/// with its codes (`$codes`); any other is an infrastructure failure.
macro_rules! run_bound {
    ($pool:expr, $op:expr, $bound:expr, $canonical:path, $codes:expr) => {{
        use sqlx::Executor;
        let (op, bound) = ($op, $bound);
        let transaction = bound.len() > 1;
        let mut connection = $pool.acquire().await.map_err(super::infra)?;
        if transaction {
            connection.execute("BEGIN").await.map_err(super::infra)?;
        }
        let ran = super::run_statements!(connection, op, bound, $codes);
        let end = match &ran {
            Ok(Ok(_)) => "COMMIT",
            _ => "ROLLBACK",
        };
        if transaction {
            // A failed statement's own error is the one reported.
            let ended = connection.execute(end).await.map_err(super::infra);
            if ran.is_ok() {
                ended?;
            }
        }
        match ran.map_err(super::infra)? {
            Err(refused) => Ok(refused),
            Ok((rows, affected)) => Ok(Ran::Done {
                rows: $crate::sql::canonical_rows(&rows, $canonical)?,
                affected,
            }),
        }
    }};
}
pub(crate) use run_bound;

/// Rows into the value model, a value it refuses failing the call.
pub(crate) fn canonical_rows<R, E: std::fmt::Display>(
    rows: &[R],
    canonical: impl Fn(&R) -> Result<Value, E>,
) -> Result<Vec<Value>, InfraError> {
    rows.iter()
        .map(canonical)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InfraError::Other(e.to_string()))
}

/// A driver error that is not the database's answer.
pub(crate) fn infra(e: sqlx::Error) -> InfraError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => InfraError::Disconnected(e.to_string()),
        e => InfraError::Other(e.to_string()),
    }
}

mod batch;
mod checksum;
mod events;
mod mysql;
mod pg;

pub(crate) use batch::{key_text, keyed, Bound, Keyed};
pub use checksum::SqlChecksums;

/// A prepared statement: the text with placeholders, the arguments it binds, and (for
/// PostgreSQL) the type of each parameter as the server inferred it.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) statement: Statement,
    pub(crate) types: Vec<String>,
}

/// A declared operation, prepared.
#[derive(Debug, Clone)]
pub(crate) struct PreparedOp {
    pub(crate) shape: Shape,
    pub(crate) none: Option<ErrorKind>,
    pub(crate) statements: Vec<Prepared>,
}

#[derive(Clone)]
enum Pool {
    Pg(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// A declared target on a SQL database.
pub struct SqlTarget {
    name: String,
    declaration: Declaration,
    pool: Pool,
    ops: BTreeMap<String, PreparedOp>,
    /// One query per statement of `[state]`: the first that finds a row tells the state.
    state: Vec<PreparedOp>,
    reset: Option<PreparedOp>,
    /// `[keys]`, prepared.
    keys: Option<Prepared>,
    /// `[dump]`'s statements, prepared.
    dump: Vec<Prepared>,
    checksums: Option<SqlChecksums>,
    /// `[events]`, prepared.
    events: Option<events::PreparedEvents>,
    /// Whether `reset` may empty the database.
    guard: ResetGuard,
    /// The database's identity.
    identity: String,
    /// The fresh database made for this target, dropped with it.
    _holds: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// Runs the SQL statements of the file `schema` on `pool`.
async fn run_schema(pool: &Pool, schema: &Path) -> Result<(), DeclaredError> {
    let text = std::fs::read_to_string(schema)
        .map_err(|e| DeclaredError(format!("reading {}: {e}", schema.display())))?;
    let ran = match pool {
        Pool::Pg(pool) => sqlx::raw_sql(&text).execute(pool).await.map(drop),
        Pool::MySql(pool) => sqlx::raw_sql(&text).execute(pool).await.map(drop),
    };
    ran.map_err(|e| DeclaredError(format!("{}: {e}", schema.display())))
}

/// What one operation's statements gave: the rows of the last, and the rows the first
/// changed; or a database error's codes and message.
pub(crate) enum Ran {
    Done {
        rows: Vec<Value>,
        affected: u64,
    },
    Refused {
        codes: Vec<String>,
        message: String,
    },
    /// An argument the statement cannot take (PostgreSQL types its parameters).
    Invalid(String),
}

impl SqlTarget {
    /// Connects to `url` (`postgres://` or `mysql://`) and prepares every statement of the
    /// declaration at `ops`.
    pub async fn open(url: &str, ops: &Path) -> Result<SqlTarget, DeclaredError> {
        let database = Database::resolve(url, Safety::default()).await?;
        SqlTarget::open_in(database, ops, None).await
    }

    /// [`SqlTarget::open`] on a spec's resolved `database`, keeping its guard and fresh
    /// database; `schema`, a file of SQL statements, is run first (on a fresh database
    /// only: cutover never changes the schema of a database it did not make).
    pub async fn open_in(
        database: Database,
        ops: &Path,
        schema: Option<&Path>,
    ) -> Result<SqlTarget, DeclaredError> {
        let declaration = Declaration::load(ops).map_err(|e| e.to_string())?;
        let url = database.url.as_str();
        let scheme = url.split(':').next().unwrap_or("");
        let (pool, style) = match scheme {
            "postgres" | "postgresql" => (Pool::Pg(pg::connect(url).await?), Style::Numbered),
            "mysql" | "mariadb" => (Pool::MySql(mysql::connect(url).await?), Style::Question),
            other => {
                return Err(DeclaredError(format!(
                    "`{other}:`: expected a postgres:// or mysql:// URL (the drivers built in)"
                )))
            }
        };
        if let Some(schema) = schema {
            if !database.fresh {
                return Err(DeclaredError(format!(
                    "`schema={}` applies to a fresh database only: give the server's URL, without a database",
                    schema.display()
                )));
            }
            run_schema(&pool, schema).await?;
        }
        let mut target = SqlTarget {
            guard: database.guard,
            identity: database.identity.clone(),
            _holds: database.holds,
            name: declaration
                .name
                .clone()
                .unwrap_or_else(|| "declared".into()),
            pool,
            ops: BTreeMap::new(),
            state: Vec::new(),
            reset: None,
            keys: None,
            dump: Vec::new(),
            checksums: None,
            events: None,
            declaration: declaration.clone(),
        };
        for (op, spec) in &declaration.op {
            let prepared = target
                .prepare(spec, style)
                .await
                .map_err(|e| format!("{}: op `{op}`: {e}", ops.display()))?;
            target.ops.insert(op.clone(), prepared);
        }
        if let Some(state) = &declaration.state {
            for sql in state.sql.list() {
                let spec = Operation {
                    kind: Kind::Read,
                    sql: super::Statements::One(sql.to_string()),
                    result: state.result,
                    none: None,
                    settle: None,
                };
                let prepared = target.prepare(&spec, style).await;
                target
                    .state
                    .push(prepared.map_err(|e| format!("{}: [state]: {e}", ops.display()))?);
            }
        }
        if let Some(reset) = &declaration.reset {
            let spec = Operation {
                kind: Kind::Write,
                sql: reset.sql.clone(),
                result: Shape::Affected,
                none: None,
                settle: None,
            };
            let prepared = target.prepare(&spec, style).await;
            target.reset = Some(prepared.map_err(|e| format!("{}: [reset]: {e}", ops.display()))?);
        }
        target
            .prepare_verify(style)
            .await
            .map_err(|e| format!("{}: {e}", ops.display()))?;
        target
            .prepare_events(style)
            .await
            .map_err(|e| format!("{}: [events]: {e}", ops.display()))?;
        Ok(target)
    }

    /// Prepares `[keys]`, `[dump]` and `[checksum]`.
    async fn prepare_verify(&mut self, style: Style) -> Result<(), String> {
        let declaration = self.declaration.clone();
        let reading = |sql: &Statements, result: Shape| Operation {
            kind: Kind::Read,
            sql: sql.clone(),
            result,
            none: None,
            settle: None,
        };
        if let Some(keys) = &declaration.keys {
            let spec = reading(&Statements::One(keys.sql.clone()), Shape::Rows);
            let prepared = self.prepare(&spec, style).await;
            self.keys = prepared
                .map_err(|e| format!("[keys]: {e}"))?
                .statements
                .pop();
        }
        if let Some(dump) = &declaration.dump {
            let prepared = self.prepare(&reading(&dump.sql, dump.result), style).await;
            self.dump = prepared.map_err(|e| format!("[dump]: {e}"))?.statements;
        }
        if let Some(declared) = &declaration.checksum {
            let checksums = SqlChecksums {
                form: declared.form.clone(),
                sql: declared.sql.clone(),
                order: self.key_order(),
                pool: self.pool.clone(),
            };
            checksums
                .check()
                .await
                .map_err(|e| format!("[checksum]: {e}"))?;
            self.checksums = Some(checksums);
        }
        Ok(())
    }

    async fn prepare(&self, spec: &Operation, style: Style) -> Result<PreparedOp, String> {
        let mut statements = Vec::new();
        for (i, text) in spec.sql.list().into_iter().enumerate() {
            let statement =
                rewrite(text, style).map_err(|e| format!("statement {}: {e}", i + 1))?;
            let types = match &self.pool {
                Pool::Pg(pool) => pg::parameter_types(pool, &statement.sql).await,
                Pool::MySql(pool) => mysql::check(pool, &statement.sql)
                    .await
                    .map(|()| Vec::new()),
            }
            .map_err(|e| format!("statement {}: {e}", i + 1))?;
            statements.push(Prepared { statement, types });
        }
        Ok(PreparedOp {
            shape: spec.result,
            none: spec.none,
            statements,
        })
    }

    /// A write and its outbox rows as events, in one transaction.
    async fn execute_with(
        &self,
        op: &PreparedOp,
        events: &events::PreparedEvents,
        request: &Request,
    ) -> Result<Executed, InfraError> {
        let (ran, rows) = match &self.pool {
            Pool::Pg(pool) => pg::run_events(pool, op, events, request).await?,
            Pool::MySql(pool) => mysql::run_events(pool, op, events, request).await?,
        };
        let published = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                events.spec.event(row).map_err(|e| {
                    InfraError::Other(format!("{}: [events]: row {}: {e}", self.name, i + 1))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Executed {
            outcome: self.outcome(op, ran)?,
            events: Some(published),
        })
    }

    /// The settle window declared for `op`.
    pub fn settle_for(&self, op: &str) -> Option<Duration> {
        self.declaration.op.get(op).and_then(|o| o.settle)
    }

    async fn run(&self, op: &PreparedOp, request: &Request) -> Result<Ran, InfraError> {
        match &self.pool {
            Pool::Pg(pool) => pg::run(pool, op, request).await,
            Pool::MySql(pool) => mysql::run(pool, op, request).await,
        }
    }

    /// The answer of `op`'s statements in its declared shape.
    fn outcome(&self, op: &PreparedOp, ran: Ran) -> Result<Outcome, InfraError> {
        let (rows, affected) = match ran {
            Ran::Done { rows, affected } => (rows, affected),
            Ran::Invalid(message) => return Ok(Outcome::error(ErrorKind::Invalid, message)),
            Ran::Refused { codes, message } => {
                let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
                return match self.declaration.error_kind(&codes) {
                    Some(kind) => Ok(Outcome::error(kind, message)),
                    None => Err(InfraError::Other(format!(
                        "{}: database error {} not declared in [errors]: {message}",
                        self.name,
                        codes.join("/")
                    ))),
                };
            }
        };
        let value = match op.shape {
            Shape::Rows => return Ok(Outcome::Ok(Value::Array(rows))),
            Shape::Row => rows.into_iter().next(),
            Shape::Scalar => rows.into_iter().next().and_then(|row| match row {
                Value::Object(map) => map.into_iter().next().map(|(_, v)| v),
                _ => None,
            }),
            Shape::Affected => Some(Value::from(affected)).filter(|_| affected > 0),
        };
        match (value, op.none) {
            (Some(value), _) => Ok(Outcome::Ok(value)),
            (None, Some(kind)) => Ok(Outcome::error(kind, format!("no row for {}", op_label(op)))),
            (None, None) if op.shape == Shape::Affected => Ok(Outcome::Ok(Value::from(0))),
            (None, None) => Ok(Outcome::Ok(Value::Null)),
        }
    }
}

impl SqlTarget {
    /// A page of keys from `[keys]`, `after` and `limit` bound.
    async fn page(
        &self,
        statement: &Prepared,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, InfraError> {
        let limit_value = Value::from(
            u64::try_from(limit)
                .unwrap_or(u64::MAX)
                .min(i64::MAX as u64),
        );
        let keys: Result<Vec<String>, String> = match &self.pool {
            Pool::Pg(pool) => {
                pg::fetch(
                    pool,
                    statement,
                    pg::Plan::EachCall,
                    |name, type_name| match name {
                        "after" => after.map_or(Value::Null, |k| pg::key_argument(type_name, k)),
                        _ => limit_value.clone(),
                    },
                )
                .await?
                .iter()
                .map(|row| pg::column(row, 0).and_then(key_text))
                .collect()
            }
            Pool::MySql(pool) => mysql::fetch(pool, statement, &[], |name| match name {
                "after" => after.map_or(Value::Null, |k| mysql::key_argument(self.key_order(), k)),
                _ => limit_value.clone(),
            })
            .await?
            .iter()
            .map(|row| mysql::column(row, 0).and_then(key_text))
            .collect(),
        };
        let mut keys =
            keys.map_err(|e| InfraError::Other(format!("{}: [keys]: a key: {e}", self.name)))?;
        keys.truncate(limit);
        for key in &keys {
            self.key_order()
                .check(key)
                .map_err(|e| InfraError::Other(format!("{}: [keys]: {e}", self.name)))?;
        }
        Ok(keys)
    }

    /// The rows one `[dump]` statement answers for `keys`, each with its key.
    async fn dump_rows(
        &self,
        statement: &Prepared,
        keys: &[&str],
    ) -> Result<Vec<Keyed>, InfraError> {
        let key = &self
            .declaration
            .dump
            .as_ref()
            .map_or("key", |d| d.key.as_str())
            .to_string();
        match &self.pool {
            Pool::Pg(pool) => {
                let rows = pg::fetch(pool, statement, pg::Plan::Kept, |_, type_name| {
                    Value::Array(
                        keys.iter()
                            .map(|k| pg::key_argument(type_name, k))
                            .collect(),
                    )
                })
                .await?;
                rows.iter().map(|row| pg::keyed(row, key)).collect()
            }
            Pool::MySql(pool) => {
                let order = self.key_order();
                let bound: Vec<Value> =
                    keys.iter().map(|k| mysql::key_argument(order, k)).collect();
                let rows = mysql::fetch(pool, statement, &bound, |_| Value::Null).await?;
                rows.iter().map(|row| mysql::keyed(row, key)).collect()
            }
        }
    }

    /// `keys` dumped by the `[dump]` statements: each asked for the keys the ones before
    /// found nothing for.
    async fn dump_declared(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        let shape = self
            .declaration
            .dump
            .as_ref()
            .map_or(Shape::Row, |d| d.result);
        let mut found: std::collections::HashMap<String, Dumped> = Default::default();
        for statement in &self.dump {
            let missing: Vec<&str> = keys
                .iter()
                .map(String::as_str)
                .filter(|k| !found.get(*k).is_some_and(batch::is_found))
                .collect();
            if missing.is_empty() {
                break;
            }
            let rows = self.dump_rows(statement, &missing).await?;
            let asked: std::collections::HashSet<&str> = missing.iter().copied().collect();
            for (key, dumped) in batch::fold(shape, rows) {
                if asked.contains(key.as_str()) && batch::is_found(&dumped) {
                    found.insert(key, dumped);
                }
            }
        }
        Ok(keys
            .iter()
            .map(|k| {
                found
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| batch::nothing(shape))
            })
            .collect())
    }

    /// `keys` dumped by `[state]`, several at once.
    async fn dump_each(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        use futures::stream::{self, StreamExt};
        let reads: Vec<_> = keys.iter().map(|key| self.dump_one(key)).collect();
        stream::iter(reads)
            .buffered(DUMP_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// One key dumped by `[state]`: a key it cannot read is unreadable, a store it cannot
    /// reach fails.
    async fn dump_one(&self, key: &str) -> Result<Dumped, InfraError> {
        match self.dump(key).await {
            Ok(Some(state)) => Ok(Dumped::State(state)),
            Ok(None) => Ok(Dumped::Unreadable(format!(
                "{} declares no [state]",
                self.name
            ))),
            Err(InfraError::Other(why)) => Ok(Dumped::Unreadable(why)),
            Err(e) => Err(e),
        }
    }
}

/// How many `[state]` reads a batch dump without `[dump]` runs at once.
const DUMP_CONCURRENCY: usize = 8;

fn op_label(op: &PreparedOp) -> &str {
    op.statements.first().map_or("", |s| {
        s.statement.sql.split_whitespace().next().unwrap_or("")
    })
}

pub(crate) use super::argument;

#[async_trait]
impl Target for SqlTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Option<&str> {
        Some(&self.declaration.domain)
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.settle_for(&request.op)
    }

    fn databases(&self) -> Vec<String> {
        vec![self.identity.clone()]
    }

    async fn reset(&self) -> Result<(), InfraError> {
        let Some(reset) = &self.reset else {
            return Ok(());
        };
        let allowed = match &self.pool {
            Pool::Pg(pool) => self.guard.postgres(pool).await,
            Pool::MySql(pool) => self.guard.mysql(pool).await,
        };
        allowed.map_err(|e| InfraError::Other(format!("{}: {e}", self.name)))?;
        let request = cutover::capture::adapter::request("reset", None, Kind::Write, Value::Null);
        match self.run(reset, &request).await? {
            Ran::Done { .. } => Ok(()),
            Ran::Refused { message, .. } | Ran::Invalid(message) => Err(InfraError::Other(
                format!("{}: [reset]: {message}", self.name),
            )),
        }
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        let Some(op) = self.ops.get(&request.op) else {
            return Ok(Outcome::error(
                ErrorKind::Unsupported,
                format!("`{}` is not declared", request.op),
            ));
        };
        let ran = self.run(op, request).await?;
        self.outcome(op, ran)
    }

    /// With `[events]`, a write's statements and the outbox rows it produced, in one
    /// transaction (`sql/events.rs`); a read, or a target without `[events]`, cannot tell.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        match (&self.events, self.ops.get(&request.op), request.kind) {
            (Some(events), Some(op), Kind::Write) => self.execute_with(op, events, request).await,
            _ => self.execute(request).await.map(Executed::from),
        }
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        match &self.keys {
            Some(statement) => self.page(statement, after, limit).await.map(Some),
            None => Ok(None),
        }
    }

    fn key_order(&self) -> KeyOrder {
        self.declaration
            .keys
            .as_ref()
            .map_or(KeyOrder::Bytes, |k| k.order)
    }

    /// By `[dump]`, a statement per batch; without it by `[state]`, key by key, several at
    /// once.
    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        match self.dump.is_empty() {
            false => self.dump_declared(keys).await,
            true => self.dump_each(keys).await,
        }
    }

    fn checksums(&self) -> Option<&dyn Checksums> {
        self.checksums.as_ref().map(|c| c as &dyn Checksums)
    }

    /// The first `[state]` query that finds something (a row, or rows) tells the state;
    /// `null` (or `[]`) when none does.
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        if self.state.is_empty() {
            return Ok(None);
        }
        let request =
            cutover::capture::adapter::request("state", Some(key), Kind::Read, Value::Null);
        let mut found = Value::Null;
        for query in &self.state {
            found = match self.outcome(query, self.run(query, &request).await?)? {
                Outcome::Ok(value) => value,
                Outcome::Error(e) => {
                    return Err(InfraError::Other(format!(
                        "{}: [state] for {key}: {}",
                        self.name, e.message
                    )))
                }
            };
            if !(found.is_null() || found.as_array().is_some_and(Vec::is_empty)) {
                break;
            }
        }
        Ok(Some(found))
    }
}
