//! A declared SQL target's `[events]`: the rows a write put in an outbox table, read in the
//! write's own transaction and reported as the events it published
//! ([`cutover::Target::execute_events`]; `docs/src/declared.md`).
//!
//! ```toml
//! [events]
//! # run first in the write's transaction: its one row's columns bind in `sql`
//! before = "SELECT COALESCE(MAX(id), 0) AS last FROM outbox"
//! # run in the same transaction after the write: the rows it produced, in order
//! sql = "SELECT collection, doc_id, doc FROM outbox WHERE id > :last ORDER BY id"
//! name = "collection"      # the column naming each event
//! json = ["doc"]           # columns holding JSON text, read as JSON
//! ```
//!
//! The transaction runs at REPEATABLE READ from a snapshot taken when it starts, so `sql`
//! sees the rows committed before the write began and the write's own, never a concurrent
//! write's: with `before` marking the newest id visible at the start, the rows after it are
//! exactly the ones this write's statements (and their triggers) inserted.

use cutover::cassette::Event;
use cutover::located::{Located, Source};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The `[events]` section of a declared SQL target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    /// Run first in each write's transaction; the columns of its first row bind in `sql`
    /// (a column shadows a request argument of the same name).
    #[serde(default)]
    pub before: Option<String>,
    /// Run in the write's transaction after its statements: one row per event, in order.
    /// Binds `before`'s columns and the request's arguments (`:key`, `:name`).
    pub sql: String,
    /// The column holding each event's name; left out of the payload.
    pub name: String,
    /// Columns holding JSON as text, read as JSON in the payload (a value the driver already
    /// reads as JSON is kept; `NULL` stays `null`).
    #[serde(default)]
    pub json: Vec<String>,
}

impl Events {
    /// Checks the section: a statement, a name column not also read as JSON, parameters
    /// that parse.
    pub(crate) fn check(&self, source: &Source) -> Result<(), Located> {
        let offset = source.text.find("[events]").unwrap_or(0);
        let at = |what: String| source.at(offset, format!("[events]: {what}"));
        if self.sql.trim().is_empty() {
            return Err(at(
                "`sql` is empty: expected the statement answering this write's rows".into(),
            ));
        }
        if let Some(before) = &self.before {
            if before.trim().is_empty() {
                return Err(at(
                    "`before` is empty: expected a statement or no `before`".into()
                ));
            }
            super::parameter_names(before).map_err(|e| at(format!("`before`: {e}")))?;
        }
        super::parameter_names(&self.sql).map_err(|e| at(format!("`sql`: {e}")))?;
        if self.name.trim().is_empty() {
            return Err(at(
                "`name` is empty: expected the column naming each event".into()
            ));
        }
        if self.json.contains(&self.name) {
            return Err(at(format!(
                "`{}` is the name column; it cannot be read as JSON too",
                self.name
            )));
        }
        Ok(())
    }

    /// The event one row (an object by column name, in the value model) stands for: named
    /// by the `name` column, carrying the other columns, the `json` ones parsed.
    pub fn event(&self, row: Value) -> Result<Event, String> {
        let Value::Object(mut columns) = row else {
            return Err(format!("a row that is not an object: {row}"));
        };
        let name = match columns.remove(&self.name) {
            Some(Value::String(name)) => name,
            Some(other) => return Err(format!("column `{}` is not text: {other}", self.name)),
            None => return Err(missing(&self.name, &columns)),
        };
        for column in &self.json {
            let value = columns
                .get_mut(column)
                .ok_or_else(|| format!("no column `{column}` in the rows"))?;
            if let Value::String(text) = value {
                *value = serde_json::from_str(text)
                    .map_err(|e| format!("column `{column}` is not JSON ({e}): {text}"))?;
            }
        }
        Ok(Event::new(name, Value::Object(columns)))
    }
}

fn missing(column: &str, columns: &Map<String, Value>) -> String {
    let found: Vec<&str> = columns.keys().map(String::as_str).collect();
    format!(
        "no column `{column}` in the rows (found: {})",
        found.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events() -> Events {
        Events {
            before: None,
            sql: "SELECT 1".into(),
            name: "collection".into(),
            json: vec!["doc".into()],
        }
    }

    #[test]
    fn a_row_is_named_by_its_column_and_carries_the_others_json_parsed() {
        let row =
            json!({"collection": "users", "doc_id": "u1", "doc": "{\"_id\": \"u1\", \"n\": 1}"});
        let event = events().event(row).unwrap();
        assert_eq!(event.name, "users");
        assert_eq!(
            event.payload,
            json!({"doc_id": "u1", "doc": {"_id": "u1", "n": 1}})
        );
        let deleted = events()
            .event(json!({"collection": "users", "doc_id": "u1", "doc": null}))
            .unwrap();
        assert_eq!(deleted.payload["doc"], Value::Null);
    }

    #[test]
    fn a_row_that_does_not_fit_says_which_column() {
        let err = |row: Value| events().event(row).unwrap_err();
        assert!(err(json!({"doc": "{}"})).contains("no column `collection`"));
        assert!(err(json!({"collection": 3, "doc": "{}"})).contains("not text"));
        assert!(err(json!({"collection": "c"})).contains("no column `doc`"));
        assert!(err(json!({"collection": "c", "doc": "{oops"})).contains("`doc` is not JSON"));
    }

    #[test]
    fn a_malformed_section_is_located() {
        let base = "domain = \"d\"\n[op.a]\nkind = \"write\"\nsql = \"x\"\nresult = \"affected\"\n";
        let parse = |more: &str| crate::Declaration::parse(&format!("{base}{more}"), "x.toml");
        let good = parse("[events]\nbefore = \"SELECT 1 AS last\"\nsql = \"SELECT n FROM o WHERE id > :last\"\nname = \"n\"\n");
        assert!(good.unwrap().events.unwrap().json.is_empty());
        let bad = |more: &str| parse(more).unwrap_err().to_string();
        assert!(bad("[events]\nsql = \" \"\nname = \"n\"\n").contains("line 6"));
        assert!(bad("[events]\nsql = \"x\"\nname = \"\"\n").contains("`name` is empty"));
        assert!(bad("[events]\nsql = \"x\"\nname = \"n\"\njson = [\"n\"]\n")
            .contains("`n` is the name column"));
        assert!(
            bad("[events]\nsql = \"x\"\nname = \"n\"\npayload = \"d\"\n").contains("unknown field")
        );
        assert!(bad("[events]\nsql = \"x\"\n").contains("missing field `name`"));
        assert!(bad("[events]\nbefore = \"\"\nsql = \"x\"\nname = \"n\"\n")
            .contains("`before` is empty"));
    }
}
