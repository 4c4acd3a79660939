//! The MongoDB declaration file: its TOML shape, and the checks made when it is read
//! (every operation names a collection and exactly one action, its `result` fits the
//! action, and every `$param` stands where an argument stays data).

use super::keys::{Keys, KeysSpec, Query};
use super::template::{compile, Slot, Template};
use cutover::cassette::{ErrorKind, Kind};
use cutover::located::{Located, Source};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What a MongoDB operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// Every document found, in the order returned.
    Docs,
    /// The first document found, or `null` (or the `none` error).
    Doc,
    /// The first field of the first document (after the projection), or a count.
    Scalar,
    /// The documents matched (`update_one`, an upserted one counting), deleted or inserted.
    Affected,
    /// `{"created": bool}`: whether `update_one` inserted the document (an upsert).
    Upserted,
    /// `null` (a write that answers nothing).
    Nothing,
}

/// `find` and `find_one`: a query and its options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindSpec {
    /// The query (all documents without one).
    #[serde(default)]
    pub filter: Option<Value>,
    /// The sort document.
    #[serde(default)]
    pub sort: Option<Value>,
    /// A count, or a `$param` (`null`: no limit); `find` only.
    #[serde(default)]
    pub limit: Option<Value>,
    /// The projection (aggregation expressions allowed).
    #[serde(default)]
    pub projection: Option<Value>,
}

/// `insert_one`: the document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsertSpec {
    /// The document inserted.
    pub document: Value,
}

/// `update_one`: which document, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// The query.
    pub filter: Value,
    /// Update operators, or an update pipeline.
    pub update: Value,
    /// Insert the document when none matches.
    #[serde(default)]
    pub upsert: bool,
}

/// `delete_one` and `count`: a query.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// The query (all documents without one).
    #[serde(default)]
    pub filter: Option<Value>,
}

/// One declared operation: a collection and one action on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `read` or `write` (the state is read back after a write).
    pub kind: Kind,
    /// The collection acted on.
    pub collection: String,
    /// Documents matching a query.
    #[serde(default)]
    pub find: Option<FindSpec>,
    /// The first document matching a query.
    #[serde(default)]
    pub find_one: Option<FindSpec>,
    /// An aggregation pipeline.
    #[serde(default)]
    pub aggregate: Option<Vec<Value>>,
    /// Inserts a document.
    #[serde(default)]
    pub insert_one: Option<InsertSpec>,
    /// Updates (or upserts) a document.
    #[serde(default)]
    pub update_one: Option<UpdateSpec>,
    /// Deletes a document.
    #[serde(default)]
    pub delete_one: Option<FilterSpec>,
    /// Counts the documents matching a query.
    #[serde(default)]
    pub count: Option<FilterSpec>,
    /// What it answers.
    pub result: Answer,
    /// The error kind answered when no document is found, matched or deleted.
    #[serde(default)]
    pub none: Option<ErrorKind>,
    /// How long a differing read of this operation may take to agree (a store fed by a
    /// sync); the replay's `--settle` otherwise.
    #[serde(default, deserialize_with = "duration")]
    pub settle: Option<Duration>,
}

/// How a key's stored state is read: a read action with `key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The collection read.
    pub collection: String,
    /// Documents matching a query.
    #[serde(default)]
    pub find: Option<FindSpec>,
    /// The first document matching a query.
    #[serde(default)]
    pub find_one: Option<FindSpec>,
    /// An aggregation pipeline.
    #[serde(default)]
    pub aggregate: Option<Vec<Value>>,
    /// `doc` (null when none), `docs` or `scalar`.
    pub result: Answer,
}

/// The collections a replay empties.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    /// Every document of each is deleted (their indexes stay).
    pub collections: Vec<String>,
}

/// A MongoDB declaration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The cassette domain it serves.
    pub domain: String,
    /// Its name in reports (the file's stem by default).
    #[serde(default)]
    pub name: Option<String>,
    /// Server error codes (`"11000"`) to error kinds; an error not listed is an
    /// infrastructure failure (inconclusive).
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorKind>,
    /// What to empty; without it a replay starts from what is stored.
    #[serde(default)]
    pub reset: Option<Reset>,
    /// How to read a key's state; without it no write's state is compared.
    #[serde(default)]
    pub state: Option<State>,
    /// How keys are enumerated and states read in batches (`cutover verify`); needs
    /// `[state]`.
    #[serde(default)]
    pub keys: Option<KeysSpec>,
    /// The operations by name.
    #[serde(default)]
    pub op: BTreeMap<String, Operation>,
}

/// `find` or `find_one`, compiled.
#[derive(Debug, Clone)]
pub struct Find {
    /// `find_one` rather than `find`.
    pub one: bool,
    /// The query.
    pub filter: Template,
    /// The sort document.
    pub sort: Option<Template>,
    /// The limit.
    pub limit: Option<Template>,
    /// The projection.
    pub projection: Option<Template>,
}

/// An action compiled: its templates, ready to render for a request.
#[derive(Debug, Clone)]
pub enum Action {
    /// `find` or `find_one`.
    Find(Box<Find>),
    /// `aggregate`: the pipeline, an array.
    Aggregate(Template),
    /// `insert_one`: the document.
    InsertOne(Template),
    /// `update_one`.
    UpdateOne {
        /// The query.
        filter: Template,
        /// The update (a document or a pipeline).
        update: Template,
        /// Insert when none matches.
        upsert: bool,
    },
    /// `delete_one`: the query.
    DeleteOne(Template),
    /// `count`: the query.
    Count(Template),
}

/// The results each action can give.
fn fits(action: &Action, result: Answer) -> bool {
    use Answer::*;
    match action {
        Action::Find(f) if !f.one => {
            matches!(result, Docs | Doc | Scalar)
        }
        Action::Find(_) => matches!(result, Doc | Scalar),
        Action::Aggregate(_) => matches!(result, Docs | Doc | Scalar),
        Action::Count(_) => result == Scalar,
        Action::InsertOne(_) | Action::DeleteOne(_) => matches!(result, Affected | Nothing),
        Action::UpdateOne { .. } => matches!(result, Affected | Upserted | Nothing),
    }
}

type Actions<'a> = [(&'a str, bool); 7];

/// Compiles the one action among those given.
#[allow(clippy::too_many_arguments)]
fn action(
    find: &Option<FindSpec>,
    find_one: &Option<FindSpec>,
    aggregate: &Option<Vec<Value>>,
    insert_one: &Option<InsertSpec>,
    update_one: &Option<UpdateSpec>,
    delete_one: &Option<FilterSpec>,
    count: &Option<FilterSpec>,
) -> Result<Action, String> {
    let given: Actions = [
        ("find", find.is_some()),
        ("find_one", find_one.is_some()),
        ("aggregate", aggregate.is_some()),
        ("insert_one", insert_one.is_some()),
        ("update_one", update_one.is_some()),
        ("delete_one", delete_one.is_some()),
        ("count", count.is_some()),
    ];
    let named: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect();
    if named.len() != 1 {
        let all: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
        return Err(match named.len() {
            0 => format!("no action: expected one of {}", all.join(", ")),
            _ => format!(
                "several actions ({}): expected exactly one",
                named.join(", ")
            ),
        });
    }
    let query = |filter: &Option<Value>, what: &str| {
        filter
            .as_ref()
            .map_or(Ok(Template::Doc(Vec::new())), |f| compile(f, Slot::Query))
            .map_err(|e| format!("{what}: {e}"))
    };
    let optional = |value: &Option<Value>, slot: Slot, what: &str| {
        value
            .as_ref()
            .map(|v| compile(v, slot).map_err(|e| format!("{what}: {e}")))
            .transpose()
    };
    let find_spec = |spec: &FindSpec, one: bool| {
        let name = if one { "find_one" } else { "find" };
        if one && spec.limit.is_some() {
            return Err("find_one: takes no `limit`".to_string());
        }
        Ok(Action::Find(Box::new(Find {
            one,
            filter: query(&spec.filter, &format!("{name}.filter"))?,
            sort: optional(&spec.sort, Slot::Data, &format!("{name}.sort"))?,
            limit: optional(&spec.limit, Slot::Data, &format!("{name}.limit"))?,
            projection: optional(&spec.projection, Slot::Expr, &format!("{name}.projection"))?,
        })))
    };
    if let Some(spec) = find {
        return find_spec(spec, false);
    }
    if let Some(spec) = find_one {
        return find_spec(spec, true);
    }
    if let Some(stages) = aggregate {
        let pipeline = compile(&Value::Array(stages.clone()), Slot::Pipeline)
            .map_err(|e| format!("aggregate: {e}"))?;
        return Ok(Action::Aggregate(pipeline));
    }
    if let Some(spec) = insert_one {
        if !spec.document.is_object() {
            return Err("insert_one.document: expected a table".into());
        }
        let document =
            compile(&spec.document, Slot::Data).map_err(|e| format!("insert_one.document: {e}"))?;
        return Ok(Action::InsertOne(document));
    }
    if let Some(spec) = update_one {
        return Ok(Action::UpdateOne {
            filter: query(&Some(spec.filter.clone()), "update_one.filter")?,
            update: compile(&spec.update, Slot::Update)
                .map_err(|e| format!("update_one.update: {e}"))?,
            upsert: spec.upsert,
        });
    }
    if let Some(spec) = delete_one {
        return Ok(Action::DeleteOne(query(&spec.filter, "delete_one.filter")?));
    }
    let spec = count.as_ref().expect("one action is given");
    Ok(Action::Count(query(&spec.filter, "count.filter")?))
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

/// A declaration read and checked, its actions compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The file as written.
    pub declaration: Declaration,
    /// Each operation's action, by name.
    pub actions: BTreeMap<String, Action>,
    /// The `[state]` action.
    pub state: Option<Action>,
    /// `[keys]`, checked against `[state]`.
    pub keys: Option<Keys>,
}

impl Compiled {
    /// Reads and checks a declaration file.
    pub fn load(path: &Path) -> Result<Compiled, DeclarationError> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| DeclarationError::Io(name.clone(), e))?;
        let mut compiled = Compiled::parse(&text, &name)?;
        if compiled.declaration.name.is_none() {
            compiled.declaration.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(compiled)
    }

    /// Parses a declaration's text (`name` for errors).
    pub fn parse(text: &str, name: &str) -> Result<Compiled, Located> {
        let source = Source { text, name };
        let declaration: Declaration = source.toml()?;
        let at = |header: &str, what: String| source.at(text.find(header).unwrap_or(0), what);
        if declaration.op.is_empty() {
            return Err(source.at(0, "no operation: expected [op.NAME] tables"));
        }
        let mut actions = BTreeMap::new();
        for (op, spec) in &declaration.op {
            let header = format!("[op.{op}]");
            let action = action(
                &spec.find,
                &spec.find_one,
                &spec.aggregate,
                &spec.insert_one,
                &spec.update_one,
                &spec.delete_one,
                &spec.count,
            )
            .map_err(|e| at(&header, format!("op `{op}`: {e}")))?;
            if !fits(&action, spec.result) {
                return Err(at(
                    &header,
                    format!(
                        "op `{op}`: `result = \"{}\"` does not fit its action",
                        shown(spec.result)
                    ),
                ));
            }
            if spec.none.is_some() && spec.result == Answer::Docs {
                return Err(at(
                    &header,
                    format!("op `{op}`: `none` applies to doc, scalar, affected, upserted or nothing, not docs"),
                ));
            }
            actions.insert(op.clone(), action);
        }
        let state = match &declaration.state {
            None => None,
            Some(state) => {
                let none = None;
                let action = action(
                    &state.find,
                    &state.find_one,
                    &state.aggregate,
                    &None,
                    &None,
                    &none,
                    &None,
                )
                .map_err(|e| at("[state]", format!("[state]: {e}")))?;
                if !fits(&action, state.result) {
                    return Err(at(
                        "[state]",
                        "[state]: `result` must be doc, docs or scalar, and fit the action".into(),
                    ));
                }
                Some(action)
            }
        };
        let keys = match (&declaration.keys, &state) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(at(
                    "[keys]",
                    "[keys]: needs [state], whose collection and query it reads".into(),
                ))
            }
            (Some(spec), Some(action)) => {
                Some(Keys::compile(spec.clone(), query(action)).map_err(|e| at("[keys]", e))?)
            }
        };
        Ok(Compiled {
            declaration,
            actions,
            state,
            keys,
        })
    }

    /// The error kind a server error code maps to.
    pub fn error_kind(&self, code: i32) -> Option<ErrorKind> {
        self.declaration.errors.get(&code.to_string()).copied()
    }
}

/// The parts of a `find` or `find_one` a batch read is made from.
fn query(action: &Action) -> Option<Query<'_>> {
    match action {
        Action::Find(find) => Some(Query {
            filter: &find.filter,
            limit: find.limit.as_ref(),
            projection: find.projection.as_ref(),
            sort: find.sort.as_ref(),
        }),
        Action::Aggregate(_)
        | Action::InsertOne(_)
        | Action::UpdateOne { .. }
        | Action::DeleteOne(_)
        | Action::Count(_) => None,
    }
}

fn shown(result: Answer) -> &'static str {
    match result {
        Answer::Docs => "docs",
        Answer::Doc => "doc",
        Answer::Scalar => "scalar",
        Answer::Affected => "affected",
        Answer::Upserted => "upserted",
        Answer::Nothing => "nothing",
    }
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

    const GOOD: &str = r#"
domain = "kv"
[errors]
"11000" = "conflict"
[reset]
collections = ["kv"]
[state]
collection = "kv"
find_one = { filter = { _id = { "$param" = "key" } }, projection = { _id = 0, value = 1 } }
result = "scalar"
[op.get]
kind = "read"
collection = "kv"
find_one = { filter = { _id = { "$param" = "key" } } }
result = "doc"
none = "not_found"
settle = "2s"
"#;

    #[test]
    fn declarations_are_checked_with_their_place() {
        let d = Compiled::parse(GOOD, "kv.toml").unwrap();
        assert_eq!(d.declaration.op["get"].settle, Some(Duration::from_secs(2)));
        assert_eq!(d.error_kind(11000), Some(ErrorKind::Conflict));
        assert!(d.state.is_some());
        let bad = |text: &str| Compiled::parse(text, "x.toml").unwrap_err().to_string();
        let op = |body: &str| {
            format!("domain = \"d\"\n[op.a]\nkind = \"read\"\ncollection = \"c\"\n{body}\n")
        };
        assert!(bad("domain = \"d\"").contains("no operation"));
        let none = bad(&op("result = \"doc\""));
        assert!(
            none.contains("x.toml line 2") && none.contains("no action"),
            "{none}"
        );
        let two = bad(&op("find = {}\ncount = {}\nresult = \"doc\""));
        assert!(two.contains("several actions (find, count)"), "{two}");
        let unknown = bad(&op("find = { filtre = {} }\nresult = \"docs\""));
        assert!(
            unknown.contains("line 5") && unknown.contains("unknown field `filtre`"),
            "{unknown}"
        );
        assert!(bad(&op("find = {}\nresult = \"rows\"")).contains("line 6"));
        assert!(bad(&op("find = {}\nresult = \"affected\"")).contains("does not fit"));
        assert!(
            bad(&op("find = {}\nresult = \"docs\"\nnone = \"not_found\"")).contains("not docs")
        );
        assert!(bad(&op("find_one = { limit = 1 }\nresult = \"doc\"")).contains("no `limit`"));
        let refused = bad(&op(
            "find = { filter = { \"$param\" = \"q\" } }\nresult = \"docs\"",
        ));
        assert!(
            refused.contains("line 2")
                && refused.contains("find.filter")
                && refused.contains("whole query"),
            "{refused}"
        );
        assert!(bad(&op("find = {}\nresult = \"docs\"\nsettle = \"soon\""))
            .contains("expected a duration"));
    }
}
