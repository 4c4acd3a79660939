//! `check-target`'s expectations from a declaration, for a domain without a reference
//! store: what every repository of the domain must do whatever its store.
//!
//! - a create (a write with an `example` whose key is generated, or that conflicts on an
//!   existing key) succeeds, and its key's `dump` holds every text and number it was given;
//! - an operation whose `not_found` is provoked by `"absent key"` answers `not_found` on a
//!   key nothing is stored at;
//! - an operation whose `invalid` is provoked by `"invalid ARG"` answers `invalid` for a
//!   value outside the argument's values;
//! - each list answers its elements in the declared order, none twice.
//!
//! Each check is named after the operation and says what was expected when it fails.

use super::path::{get, key_text};
use super::{Class, Declaration, Direction, KeyMode, List, Nulls, Operation, Provoke, Type};
use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::targets::Target;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// A check's name and result (a detail when it passed, what was wrong when it failed).
pub type Checked = (String, Result<String, String>);

/// Creates made before the lists are read.
const CREATES: usize = 3;

/// Runs the declaration's checks on `target` (emptied first when it can be); `dump`
/// whether it reads back stored state.
pub async fn run(declaration: &Declaration, target: &dyn Target, dump: bool) -> Vec<Checked> {
    let mut session = Session {
        target,
        seq: 1000,
        created: Vec::new(),
    };
    let mut checks = Vec::new();
    for op in creates(declaration) {
        for i in 0..CREATES {
            let check = session.create(op, i, dump, declaration).await;
            if i == 0 || check.1.is_err() {
                checks.push(check);
            }
        }
    }
    for op in &declaration.ops {
        for (kind, how) in op.provokes() {
            match (kind, &how) {
                (ErrorKind::NotFound, Provoke::AbsentKey) => checks.push(session.absent(op).await),
                (ErrorKind::Invalid, Provoke::Invalid(arg)) => {
                    checks.push(session.invalid(op, arg).await)
                }
                _ => {}
            }
        }
    }
    for op in declaration
        .ops
        .iter()
        .filter(|o| o.list.is_some() && o.kind == Kind::Read)
    {
        checks.push(session.list(op).await);
    }
    checks
}

/// The writes that create, with an example to create from: a generated key, or a keyed
/// write that conflicts on an existing key.
fn creates(declaration: &Declaration) -> impl Iterator<Item = &Operation> {
    declaration
        .ops
        .iter()
        .filter(|o| o.kind == Kind::Write && o.example.is_some())
        .filter(|o| {
            o.key == KeyMode::Generated
                || (o.key == KeyMode::Keyed
                    && o.provokes()
                        .iter()
                        .any(|(_, how)| *how == Provoke::ExistingKey))
        })
}

struct Session<'t> {
    target: &'t dyn Target,
    seq: u64,
    /// Keys created, with the arguments they were created with.
    created: Vec<(String, Value)>,
}

impl Session<'_> {
    async fn send(
        &mut self,
        key: Option<&str>,
        op: &Operation,
        args: Value,
    ) -> Result<Outcome, String> {
        self.seq += 1;
        let key = if op.key == KeyMode::Keyed { key } else { None };
        let request = Request::new(
            self.seq,
            key,
            &op.name,
            op.kind,
            args,
            "2026-01-01T00:00:00.000Z",
        );
        self.target
            .execute(&request)
            .await
            .map_err(|e| format!("`{}` failed: {e}", op.name))
    }

    /// The `i`-th create from the example, its texts suffixed so the creates differ.
    async fn create(
        &mut self,
        op: &Operation,
        i: usize,
        dump: bool,
        declaration: &Declaration,
    ) -> Checked {
        let name = format!("{}: a create from `example` reads back", op.name);
        let args = varied(op, i, declaration);
        let key = format!("cutover-check-{}-{i}", op.name);
        let answer = match self.send(Some(&key), op, args.clone()).await {
            Ok(Outcome::Ok(answer)) => answer,
            Ok(other) => {
                return (
                    name,
                    Err(format!(
                        "`{}` with its example answered {}; expected ok",
                        op.name,
                        text(&other)
                    )),
                )
            }
            Err(e) => return (name, Err(e)),
        };
        let key = match op.key {
            KeyMode::Generated => {
                let path = op.generated_key.as_deref().unwrap_or("id");
                match get(&answer, path).and_then(key_text) {
                    Some(k) => k,
                    None => {
                        return (
                            name,
                            Err(format!(
                                "`{}` answered {answer}; expected the new key at `{path}`",
                                op.name
                            )),
                        )
                    }
                }
            }
            _ => key,
        };
        self.created.push((key.clone(), args.clone()));
        if !dump {
            return (
                name,
                Ok("answered ok (the adapter does not dump: not read back)".into()),
            );
        }
        let state = match self.target.dump(&key).await {
            Ok(state) => state.unwrap_or(Value::Null),
            Err(e) => return (name, Err(format!("`dump {key}` failed: {e}"))),
        };
        match missing(&args, &state) {
            None => (
                name,
                Ok(format!("created `{key}`; its dump holds what was written")),
            ),
            Some(what) => (
                name,
                Err(format!(
                    "after `{}`, `dump {key}` answered {state}; expected it to hold {what}",
                    op.name
                )),
            ),
        }
    }

    async fn absent(&mut self, op: &Operation) -> Checked {
        let name = format!("{}: an absent key is not_found", op.name);
        let args = filled(op, &self.created);
        let key = "cutover-check-absent";
        match self.send(Some(key), op, args).await {
            Ok(Outcome::Error(e)) if e.kind == ErrorKind::NotFound => (name, Ok("answered not_found".into())),
            Ok(other) => (name, Err(format!("`{}` on key `{key}`, never written, answered {}; the declaration says not_found", op.name, text(&other)))),
            Err(e) => (name, Err(e)),
        }
    }

    async fn invalid(&mut self, op: &Operation, arg: &str) -> Checked {
        let name = format!("{}: {arg} outside its values is invalid", op.name);
        let mut args = filled(op, &self.created);
        let value = match op.args.get(arg).map(|a| (a.class, a.ty)) {
            Some((Some(Class::Enum), _)) | Some((_, Type::Any)) => json!("cutover-not-a-value"),
            Some((_, Type::String | Type::Timestamp)) => json!(12345),
            _ => json!("cutover-not-a-value"),
        };
        if let Value::Object(map) = &mut args {
            map.insert(arg.to_string(), value.clone());
        }
        let key = self
            .created
            .first()
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "cutover-check-invalid".into());
        match self.send(Some(&key), op, args).await {
            Ok(Outcome::Error(e)) if e.kind == ErrorKind::Invalid => {
                (name, Ok("answered invalid".into()))
            }
            Ok(other) => (
                name,
                Err(format!(
                    "`{}` with {arg} = {value} answered {}; the declaration says invalid",
                    op.name,
                    text(&other)
                )),
            ),
            Err(e) => (name, Err(e)),
        }
    }

    async fn list(&mut self, op: &Operation) -> Checked {
        let list = op.list.clone().unwrap_or_default();
        let name = format!("{}: elements in the declared order, none twice", op.name);
        let args = filled(op, &self.created);
        let key = self.created.first().map(|(k, _)| k.clone());
        let items = match self.send(key.as_deref(), op, args.clone()).await {
            Ok(Outcome::Ok(Value::Array(items))) => items,
            Ok(other) => {
                return (
                    name,
                    Err(format!(
                        "`{}` with {args} answered {}; expected a list",
                        op.name,
                        text(&other)
                    )),
                )
            }
            Err(e) => return (name, Err(e)),
        };
        if items.len() < 2 {
            return (name, Err(format!(
                "`{}` with {args} answered {} element(s): too few to check the order; give `example` arguments that list what the creates made",
                op.name, items.len()
            )));
        }
        match disorder(&list, &items) {
            None => (name, Ok(format!("{} elements in order", items.len()))),
            Some(what) => (name, Err(format!("`{}` with {args}: {what}", op.name))),
        }
    }
}

/// The `i`-th create's arguments: the example, with each argument named like a declared
/// sort key moved on by `i` (a day for a timestamp, one for a number), so that the creates
/// sort apart where they can; `i = 0` is the example itself.
fn varied(op: &Operation, i: usize, declaration: &Declaration) -> Value {
    let mut args = op.example.clone().unwrap_or_else(|| json!({}));
    let sorted: Vec<&str> = declaration
        .ops
        .iter()
        .filter_map(|o| o.list.as_ref())
        .flat_map(|l| l.order.iter().map(|k| k.by.as_str()))
        .collect();
    if let Value::Object(map) = &mut args {
        for (name, value) in map.iter_mut().filter(|(n, _)| sorted.contains(&n.as_str())) {
            let moved = match (&*value, op.args.get(name).map(|a| a.ty)) {
                (Value::String(s), Some(Type::Timestamp)) => {
                    chrono::DateTime::parse_from_rfc3339(s)
                        .ok()
                        .map(|t| json!((t + chrono::Duration::days(i as i64)).to_rfc3339()))
                }
                (Value::Number(n), _) => n.as_i64().map(|n| json!(n + i as i64)),
                _ => None,
            };
            if let Some(moved) = moved {
                *value = moved;
            }
        }
    }
    args
}

/// Arguments for `op`: its example, else each required argument from the first create's
/// arguments of the same name, or a value of its type and class.
fn filled(op: &Operation, created: &[(String, Value)]) -> Value {
    if let Some(example) = &op.example {
        return example.clone();
    }
    let mut args = Map::new();
    for (name, a) in op.args.iter().filter(|(_, a)| !a.optional) {
        let from_create = created.first().and_then(|(_, c)| c.get(name)).cloned();
        let value = from_create.unwrap_or_else(|| match (a.class, a.ty) {
            (Some(Class::Enum), _) => a.values.first().cloned().unwrap_or(Value::Null),
            (Some(Class::Limit), _) => json!(1000),
            (Some(Class::Offset), _) => json!(0),
            (Some(Class::LowerBound), Type::Timestamp) => json!("1970-01-01T00:00:00.000Z"),
            (Some(Class::UpperBound), Type::Timestamp) => json!("9999-12-31T23:59:59.999Z"),
            (Some(Class::LowerBound), _) => json!(i64::MIN / 2),
            (Some(Class::UpperBound), _) => json!(i64::MAX / 2),
            (_, Type::Integer | Type::Number) => json!(1),
            (_, Type::Boolean) => json!(false),
            (_, Type::Array) => json!([]),
            (_, Type::Object) => json!({}),
            _ => json!("cutover-check"),
        });
        args.insert(name.clone(), value);
    }
    Value::Object(args)
}

/// The first text or number of `args` that `state` does not hold anywhere, if any.
fn missing(args: &Value, state: &Value) -> Option<String> {
    let mut leaves = Vec::new();
    collect(args, &mut leaves);
    leaves
        .into_iter()
        .find(|leaf| !holds(state, leaf))
        .map(|leaf| leaf.to_string())
}

fn collect(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::String(_) | Value::Number(_) => out.push(value.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn holds(state: &Value, leaf: &Value) -> bool {
    match state {
        Value::Array(items) => items.iter().any(|v| holds(v, leaf)),
        Value::Object(map) => map.values().any(|v| holds(v, leaf)),
        other => crate::diff::deep_eq(other, leaf),
    }
}

/// Where `items` break the declared order or repeat an element, if they do.
pub fn disorder(list: &List, items: &[Value]) -> Option<String> {
    if let Some(key) = &list.key {
        let mut seen = std::collections::BTreeSet::new();
        for item in items {
            let id = get(item, key).map(Value::to_string).unwrap_or_default();
            if !seen.insert(id.clone()) {
                return Some(format!("element {key} = {id} answered twice"));
            }
        }
    }
    for (i, pair) in items.windows(2).enumerate() {
        if compare(list, &pair[0], &pair[1]) == Ordering::Greater {
            let by: Vec<&str> = list.order.iter().map(|k| k.by.as_str()).collect();
            return Some(format!(
                "elements {i} and {} are out of the declared order ({}): {} before {}",
                i + 1,
                by.join(", "),
                pair[0],
                pair[1]
            ));
        }
    }
    None
}

/// How two elements compare in the declared order.
pub fn compare(list: &List, a: &Value, b: &Value) -> Ordering {
    for key in &list.order {
        let (x, y) = (
            get(a, &key.by).filter(|v| !v.is_null()),
            get(b, &key.by).filter(|v| !v.is_null()),
        );
        let ordering = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) | (Some(_), None) => {
                let null_first = match key.nulls {
                    Some(Nulls::First) => true,
                    Some(Nulls::Last) => false,
                    None => continue,
                };
                let a_null = x.is_none();
                if a_null == null_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Some(x), Some(y)) => {
                let o = scalar(x, y);
                if key.direction == Direction::Desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Numbers by value, text by code point, timestamps by instant, anything else as equal.
fn scalar(x: &Value, y: &Value) -> Ordering {
    match (x, y) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
        (Value::String(a), Value::String(b)) => {
            match (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.cmp(b),
            }
        }
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

fn text(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).unwrap_or_else(|_| "?".into())
}
