//! Declared targets: a store's repository written as a TOML file of statements, one per
//! operation, so that a team can compare two stores without writing code
//! (`docs/src/declared.md`).
//!
//! ```toml
//! domain = "orders"
//! name = "orders-mysql"                  # in reports; the file's stem by default
//!
//! [errors]                               # SQLSTATE or MySQL error number -> kind
//! "23000" = "conflict"
//!
//! [reset]
//! sql = ["DELETE FROM order_lines", "DELETE FROM orders"]
//!
//! [state]                                # the stored state of a key, after each write
//! sql = "SELECT * FROM orders WHERE id = :key"
//! result = "row"
//!
//! [op.find_order]
//! kind = "read"
//! sql = "SELECT id, status, total FROM orders WHERE id = :key"
//! result = "row"                         # rows | row | scalar | affected
//! none = "not_found"                     # no row (or 0 affected): this error kind
//!
//! [op.ship]
//! kind = "write"
//! sql = ["UPDATE orders SET status = 'shipped' WHERE id = :key",
//!        "INSERT INTO events (order_id, what) VALUES (:key, :what)"]
//! result = "affected"                    # of the first statement; several run in one transaction
//! settle = "2s"                          # reads of a store fed by a sync (see docs/src/settle.md)
//! ```
//!
//! `[events]` ([`events`]) reads the outbox rows each write produced, in the write's own
//! transaction, as the events it published.
//!
//! Three optional sections serve `cutover verify`, which compares every aggregate: `[keys]`
//! (every key, a page at a time, in a declared order), `[dump]` (a batch of keys' states in
//! one statement) and `[checksum]` (each aggregate as text, hashed and summed over key
//! ranges by the database), in `docs/src/declared.md`.
//!
//! `:name` binds the request's argument `name` (`:a.b` a nested member, `:key` the key); an
//! argument the request does not carry binds `NULL`. Values are always bound as
//! parameters, never spliced into the statement ([`params`]).
//!
//! * [`sql`]: PostgreSQL and MySQL/MariaDB (`sql:ops=FILE,url=postgres://...` or
//!   `mysql://...`).
//! * [`mongo`]: MongoDB (`mongodb:ops=FILE,uri=mongodb://...`).
//! * [`value`]: the stores' own types in the cross-store value model.
//! * [`Specs`]: both spec forms, for a [`cutover::Registry`].
//! * [`migration`]: a worked migration (both schemas, both declarations, a cassette and
//!   rules) run on fresh databases: `cutover demo NAME`.

#![warn(missing_docs)]

pub mod events;
pub mod migration;
pub mod mongo;
pub mod params;
mod specs;
pub mod sql;
pub mod sync;
pub mod value;

pub use specs::Specs;

use cutover::cassette::{ErrorKind, Kind};
use cutover::located::{Located, Source};
use cutover::targets::KeyOrder;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Why a declared target, its file or a worked migration cannot be used: what is wrong, in
/// the declaration's terms (its file and line where there is one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeclaredError(pub String);

impl From<String> for DeclaredError {
    fn from(what: String) -> DeclaredError {
        DeclaredError(what)
    }
}

impl From<DeclaredError> for String {
    fn from(e: DeclaredError) -> String {
        e.0
    }
}

/// A statement or several, run in one transaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Statements {
    /// One statement.
    One(String),
    /// Several, in order.
    Many(Vec<String>),
}

impl Statements {
    /// The statements, in order.
    pub fn list(&self) -> Vec<&str> {
        match self {
            Statements::One(s) => vec![s.as_str()],
            Statements::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// What an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Every row of the last statement, as objects by column name, in the order returned.
    Rows,
    /// The first row of the last statement, or `null` (or the `none` error).
    Row,
    /// The first column of the first row of the last statement, or `null`.
    Scalar,
    /// The rows the first statement changed, as a number.
    Affected,
}

/// One declared operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `read` or `write` (the state is read back after a write).
    pub kind: Kind,
    /// The statement(s).
    pub sql: Statements,
    /// What it answers.
    pub result: Shape,
    /// The error kind answered when there is no row (`row`, `scalar`) or none affected.
    #[serde(default)]
    pub none: Option<ErrorKind>,
    /// How long a differing read of this operation may take to agree (a store fed by a
    /// sync); the replay's `--settle` otherwise.
    #[serde(default, deserialize_with = "duration")]
    pub settle: Option<Duration>,
}

/// How a key's stored state is read: one query, or several tried in order (one per table
/// a key may live in) until one finds something.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The query, with `:key`.
    pub sql: Statements,
    /// `row` (null when none), `rows`, or `scalar` (the first column, null when none).
    pub result: Shape,
}

/// Statements that empty the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    /// The statements, run in order in one transaction.
    pub sql: Statements,
}

/// How the keys holding an aggregate are enumerated, a page at a time (`cutover verify`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// The query: one column, the keys after `:after` (null on the first page) in `order`,
    /// at most `:limit` of them.
    pub sql: String,
    /// The order the query answers in: `bytes` (the default) or `integer`.
    #[serde(default)]
    pub order: KeyOrder,
}

/// How the aggregates of a batch of keys are read in one statement (`cutover verify`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dump {
    /// The query, with `:keys` (the batch); several: each asked for the keys the ones
    /// before found nothing for, as `[state]`'s.
    pub sql: Statements,
    /// The column holding each row's key, left out of the state.
    #[serde(default = "key_column")]
    pub key: String,
    /// As `[state]`: `row` (a key's first row), `rows` (its rows in statement order) or
    /// `scalar` (the first other column of its first row).
    pub result: Shape,
}

fn key_column() -> String {
    "key".into()
}

/// Checksums of key ranges computed by the database (`cutover verify`'s hashing path).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checksum {
    /// The name of the promise that two sides make each aggregate's `text` identically:
    /// only two sides with the same form are compared by checksum.
    pub form: String,
    /// The query answering one row per aggregate, columns `key` and `text`; no parameters.
    pub sql: String,
}

/// A declared target's file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The cassette domain it serves.
    pub domain: String,
    /// Its name in reports (the file's stem by default).
    #[serde(default)]
    pub name: Option<String>,
    /// Database error codes (SQLSTATE, or a MySQL error number) to error kinds; an error
    /// not listed is an infrastructure failure (inconclusive).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorKind>,
    /// How to empty the store; without it a replay starts from what is stored.
    #[serde(default)]
    pub reset: Option<Reset>,
    /// How to read a key's state; without it no write's state is compared.
    #[serde(default)]
    pub state: Option<State>,
    /// How to enumerate the keys; without it `cutover verify` refuses the target.
    #[serde(default)]
    pub keys: Option<Keys>,
    /// How to read a batch of keys' states; without it `[state]`, key by key.
    #[serde(default)]
    pub dump: Option<Dump>,
    /// Checksums of key ranges; without it every aggregate is dumped and compared.
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// The outbox rows each write produced, reported as its events (SQL targets); without
    /// it the target cannot tell its events.
    #[serde(default)]
    pub events: Option<events::Events>,
    /// The operations by name.
    #[serde(default)]
    pub op: BTreeMap<String, Operation>,
}

/// A declaration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeclarationError {
    /// The file could not be read.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// Not a valid declaration: where and why.
    #[error("{0}")]
    Invalid(#[from] Located),
}

impl Declaration {
    /// Reads and checks a declaration file.
    pub fn load(path: &Path) -> Result<Declaration, DeclarationError> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| DeclarationError::Io(name.clone(), e))?;
        let mut declaration = Declaration::parse(&text, &name)?;
        if declaration.name.is_none() {
            declaration.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(declaration)
    }

    /// Parses a declaration's text (`name` for errors).
    pub fn parse(text: &str, name: &str) -> Result<Declaration, Located> {
        let source = Source { text, name };
        let declaration: Declaration = source.toml()?;
        let at_op = |op: &str, what: String| {
            let offset = text.find(&format!("[op.{op}]")).unwrap_or(0);
            source.at(offset, what)
        };
        if declaration.op.is_empty() {
            return Err(source.at(0, "no operation: expected [op.NAME] tables"));
        }
        for (op, spec) in &declaration.op {
            if spec.sql.list().is_empty() {
                return Err(at_op(op, format!("op `{op}`: `sql` is empty")));
            }
            if spec.none.is_some() && spec.result == Shape::Rows {
                return Err(at_op(
                    op,
                    format!("op `{op}`: `none` applies to row, scalar or affected, not rows"),
                ));
            }
        }
        if let Some(state) = &declaration.state {
            if state.result == Shape::Affected {
                let offset = text.find("[state]").unwrap_or(0);
                return Err(source.at(offset, "[state] `result` must be row, rows or scalar"));
            }
        }
        declaration.check_verify(&source)?;
        if let Some(events) = &declaration.events {
            events.check(&source)?;
        }
        Ok(declaration)
    }

    /// Checks `[keys]`, `[dump]` and `[checksum]`: each statement binds only what its
    /// section gives.
    fn check_verify(&self, source: &Source) -> Result<(), Located> {
        let at = |section: &str, what: String| {
            let offset = source.text.find(&format!("[{section}]")).unwrap_or(0);
            source.at(offset, format!("[{section}]: {what}"))
        };
        let binds = |section: &str, sql: &str, allowed: &[&str]| {
            let names = parameter_names(sql).map_err(|e| at(section, e))?;
            match names.iter().find(|n| !allowed.contains(&n.as_str())) {
                Some(name) => Err(at(
                    section,
                    format!(
                        "`:{name}` is not a parameter here: expected {}",
                        listed(allowed)
                    ),
                )),
                None => Ok(names),
            }
        };
        if let Some(keys) = &self.keys {
            let names = binds("keys", &keys.sql, &["after", "limit"])?;
            if !names.iter().any(|n| n == "after") {
                return Err(at(
                    "keys",
                    "`sql` must bind `:after` (the last key of the page before)".into(),
                ));
            }
        }
        if let Some(dump) = &self.dump {
            if dump.result == Shape::Affected {
                return Err(at("dump", "`result` must be row, rows or scalar".into()));
            }
            if dump.sql.list().is_empty() {
                return Err(at("dump", "`sql` is empty".into()));
            }
            for sql in dump.sql.list() {
                if binds("dump", sql, &["keys"])?.is_empty() {
                    return Err(at(
                        "dump",
                        "each statement must bind `:keys` (the batch)".into(),
                    ));
                }
            }
        }
        if let Some(checksum) = &self.checksum {
            if checksum.form.trim().is_empty() {
                return Err(at(
                    "checksum",
                    "`form` is empty: expected the name of the text's form".into(),
                ));
            }
            binds("checksum", &checksum.sql, &[])?;
        }
        Ok(())
    }

    /// The error kind a database error code maps to, by SQLSTATE or error number.
    pub fn error_kind(&self, codes: &[&str]) -> Option<ErrorKind> {
        codes.iter().find_map(|c| self.errors.get(*c).copied())
    }
}

/// The named parameters of `sql`, each once, in order of first use.
fn parameter_names(sql: &str) -> Result<Vec<String>, String> {
    let statement = params::rewrite(sql, params::Style::Numbered)
        .or_else(|_| params::rewrite(sql, params::Style::Question))
        .map_err(String::from)?;
    let mut names = statement.names;
    names.dedup();
    Ok(names)
}

fn listed(names: &[&str]) -> String {
    match names {
        [] => "none".into(),
        names => names
            .iter()
            .map(|n| format!("`:{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The JSON value bound to parameter `name` of a request: its key for `key`, else the
/// argument (dots for nested members); a missing argument is `null`. One meaning for every
/// declared store.
pub(crate) fn argument(request: &cutover::cassette::Request, name: &str) -> serde_json::Value {
    if name == "key" {
        return request
            .key
            .clone()
            .map_or(serde_json::Value::Null, serde_json::Value::String);
    }
    name.split('.')
        .try_fold(&request.args, |value, member| value.get(member))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| {
        cutover::targets::parse_duration(&t).ok_or_else(|| {
            serde::de::Error::custom(format!("`{t}`: expected a duration such as 500ms or 2s"))
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_checked_with_their_place() {
        let good = r#"
domain = "orders"
[errors]
"23505" = "conflict"
[op.find]
kind = "read"
sql = "SELECT 1"
result = "row"
none = "not_found"
settle = "2s"
"#;
        let d = Declaration::parse(good, "orders.toml").unwrap();
        assert_eq!(d.op["find"].settle, Some(Duration::from_secs(2)));
        assert_eq!(d.error_kind(&["1062", "23505"]), Some(ErrorKind::Conflict));
        let bad = |text: &str| Declaration::parse(text, "x.toml").unwrap_err().to_string();
        assert!(bad("domain = \"d\"").contains("no operation"));
        assert!(
            bad("domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = \"x\"\nresult = \"table\"\n")
                .contains("line 5")
        );
        assert!(
            bad("domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = []\nresult = \"row\"\n")
                .contains("`sql` is empty")
        );
        assert!(bad("domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = \"x\"\nresult = \"rows\"\nnone = \"not_found\"\n")
            .contains("line 2"));
        assert!(bad("domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = \"x\"\nresult = \"row\"\nsettle = \"soon\"\n")
            .contains("expected a duration"));
        assert!(bad(
            "domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = \"x\"\nresult = \"row\"\nsq = 1\n"
        )
        .contains("unknown field"));
    }

    #[test]
    fn verify_sections_bind_only_what_they_are_given() {
        let base = "domain = \"d\"\n[op.a]\nkind = \"read\"\nsql = \"x\"\nresult = \"row\"\n";
        let parse = |more: &str| Declaration::parse(&format!("{base}{more}"), "x.toml");
        let d = parse(
            "[keys]\nsql = \"SELECT k FROM t WHERE k > :after LIMIT :limit\"\norder = \"integer\"\n\
             [dump]\nsql = \"SELECT k AS key FROM t WHERE k = ANY(:keys)\"\nresult = \"rows\"\n\
             [checksum]\nform = \"t-v1\"\nsql = \"SELECT k AS key, v AS text FROM t\"\n",
        )
        .unwrap();
        assert_eq!(d.keys.unwrap().order, KeyOrder::Integer);
        assert_eq!(d.dump.unwrap().key, "key");
        let bad = |more: &str| parse(more).unwrap_err().to_string();
        assert!(bad("[keys]\nsql = \"SELECT k FROM t LIMIT :limit\"\n").contains("line 6"));
        assert!(
            bad("[keys]\nsql = \"SELECT k FROM t WHERE k > :after\"\norder = \"locale\"\n")
                .contains("line 8")
        );
        assert!(
            bad("[dump]\nsql = \"SELECT * FROM t WHERE k = :key\"\nresult = \"row\"\n")
                .contains("`:key` is not a parameter here: expected `:keys`")
        );
        assert!(bad(
            "[dump]\nsql = \"SELECT * FROM t WHERE k IN (:keys)\"\nresult = \"affected\"\n"
        )
        .contains("[dump]: `result`"));
        assert!(bad("[checksum]\nform = \"\"\nsql = \"SELECT 1\"\n").contains("`form` is empty"));
        assert!(bad("[checksum]\nform = \"f\"\nsql = \"SELECT :x\"\n").contains("expected none"));
    }
}
