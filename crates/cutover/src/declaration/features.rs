//! Coverage features from a declaration: what every declared argument class, list and
//! answer member makes worth counting (the table in `docs/src/domain.md`), and the shapes
//! of stored data, observed on any domain's traffic by the same code. A built-in domain's
//! own observer ([`DeclaredFeatures::with_own`]) adds the features its declaration names
//! in `features` and `stored`.

use super::path::{get, key_text};
use super::stored::{point, step, Stored};
use super::validate::feature;
use super::{Argument, Class, Declaration, KeyMode, Operation, Type};
use crate::cassette::{Kind, Outcome, Request};
use crate::coverage::{Declared, Features, Group, STORED};
use serde_json::Value;
use std::sync::Arc;

/// The stored shapes counted after each write, for every domain.
pub const SHAPES: [&str; 6] = [
    "null value",
    "empty object or array",
    "non-ASCII text",
    "number beyond 2^53",
    "null inside an array",
    "key removed",
];

/// A declared domain's features, with what the traffic so far has stored.
pub struct DeclaredFeatures {
    declaration: Arc<Declaration>,
    own: Option<Box<dyn Observer>>,
    stored: Stored,
}

/// A built-in domain's own observer of the features its declaration names in `features`
/// and `stored` (shapes only that domain's code can tell).
pub trait Observer: Send {
    /// Forgets what it knows of stored data (the store was emptied).
    fn reset(&mut self);

    /// The named features `request` exercised: (row, name), the row an operation's name or
    /// [`STORED`]. Called in cassette order, with the legacy's outcome and, after a write,
    /// the key's state.
    fn observe(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        state: Option<&Value>,
    ) -> Vec<(String, String)>;
}

impl DeclaredFeatures {
    /// The features `declaration` declares.
    pub fn new(declaration: Arc<Declaration>) -> DeclaredFeatures {
        DeclaredFeatures {
            stored: Stored::new(&declaration),
            declaration,
            own: None,
        }
    }

    /// With a built-in domain's own observer of the features its declaration names.
    pub fn with_own(mut self, own: Box<dyn Observer>) -> DeclaredFeatures {
        self.own = Some(own);
        self
    }
}

/// Every feature an operation's declaration makes worth counting, in report order.
pub fn table(op: &Operation) -> Vec<(Group, String)> {
    let mut out = Vec::new();
    let mut arg = |name: String| out.push((Group::Argument, name));
    if op.key == KeyMode::Keyed {
        arg("absent key".into());
    }
    for (name, a) in &op.args {
        if a.optional {
            arg(format!("{name} absent"));
        }
        match a.class {
            Some(Class::Id) => arg(format!("{name} absent from the store")),
            Some(Class::FreeText) => {
                arg(format!("{name} empty"));
                arg(format!("{name} non-ASCII"));
                arg(format!("{name} with surrounding whitespace"));
            }
            Some(Class::SearchText) => {
                arg(format!("{name} upper case"));
                arg(format!("{name} non-ASCII"));
                arg(format!("{name} with % or _"));
            }
            Some(Class::Enum) => a
                .values
                .iter()
                .for_each(|v| arg(format!("{name} = {}", plain(v)))),
            Some(Class::LowerBound | Class::UpperBound) => {
                let field = a.field.as_deref().unwrap_or("?");
                arg(format!("{name} equals a stored {field}"));
                arg(format!("{name} one step from a stored {field}"));
                if let Some(upper) = upper_of(op, name, a) {
                    arg(format!("{name} after {upper}"));
                }
            }
            Some(Class::Limit) => {
                for (n, what) in [(0, "0"), (1, "1")] {
                    if a.accepts(n) {
                        arg(format!("{name} {what}"));
                    }
                }
                arg(format!("{name} reached"));
                arg(format!("{name} past the end"));
            }
            Some(Class::Offset) => {
                if a.accepts(0) {
                    arg(format!("{name} 0"));
                }
                arg(format!("{name} past the end"));
            }
            None => {}
        }
    }
    if let Some(list) = &op.list {
        // No tie on the elements' identity: it cannot happen, so it would be a gap forever.
        if let Some(first) = list
            .order
            .first()
            .filter(|k| Some(&k.by) != list.key.as_ref())
        {
            out.push((Group::Data, format!("tie on {}", first.by)));
        }
        for key in list.order.iter().filter(|k| k.nulls.is_some()) {
            out.push((Group::Data, format!("null {}", key.by)));
        }
    }
    for (name, a) in &op.answer {
        for value in answer_values(a) {
            out.push((Group::Data, format!("answer {name} = {}", plain(&value))));
        }
    }
    out.extend(op.features.iter().filter_map(|f| feature(f).ok()));
    out
}

/// The upper bound on the same field as the lower bound `name`, if the operation has one.
fn upper_of<'o>(op: &'o Operation, name: &str, a: &Argument) -> Option<&'o str> {
    if a.class != Some(Class::LowerBound) {
        return None;
    }
    op.args_of(Class::UpperBound)
        .find(|(_, u)| u.field == a.field)
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != name)
}

fn answer_values(a: &Argument) -> Vec<Value> {
    match (a.ty, a.class) {
        (_, Some(Class::Enum)) => a.values.clone(),
        (Type::Boolean, _) => vec![Value::Bool(true), Value::Bool(false)],
        _ => Vec::new(),
    }
}

/// A value as a feature name writes it: text bare, anything else as JSON.
pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The stored shapes of a key's state after a write.
pub fn shapes(state: &Value) -> Vec<&'static str> {
    if state.is_null() {
        return vec!["key removed"];
    }
    let mut hits = Vec::new();
    walk(state, false, &mut |v, in_array| {
        let name = match v {
            Value::Null if in_array => "null inside an array",
            Value::Null => "null value",
            Value::Array(a) if a.is_empty() => "empty object or array",
            Value::Object(o) if o.is_empty() => "empty object or array",
            Value::String(s) if !s.is_ascii() => "non-ASCII text",
            Value::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.abs() > 9_007_199_254_740_992.0) =>
            {
                "number beyond 2^53"
            }
            _ => return,
        };
        if !hits.contains(&name) {
            hits.push(name);
        }
    });
    hits
}

fn walk(value: &Value, in_array: bool, seen: &mut dyn FnMut(&Value, bool)) {
    seen(value, in_array);
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, true, seen)),
        Value::Object(map) => map.values().for_each(|v| walk(v, false, seen)),
        _ => {}
    }
}

impl Features for DeclaredFeatures {
    fn operations(&self) -> Vec<Declared> {
        self.declaration
            .ops
            .iter()
            .map(|op| Declared {
                op: op.name.clone(),
                errors: op.errors.keys().copied().collect(),
                list: op.list.is_some(),
                features: table(op),
            })
            .collect()
    }

    fn stored(&self) -> Vec<String> {
        let own = self
            .declaration
            .stored
            .iter()
            .filter_map(|f| feature(f).ok());
        SHAPES
            .iter()
            .map(|s| s.to_string())
            .chain(own.map(|(_, name)| name))
            .collect()
    }

    fn reset(&mut self) {
        self.stored.clear();
        if let Some(own) = &mut self.own {
            own.reset();
        }
    }

    fn observe(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        state: Option<&Value>,
    ) -> Vec<(String, String)> {
        let declaration = Arc::clone(&self.declaration);
        let Some(op) = declaration.op(&request.op) else {
            return Vec::new();
        };
        // An error the operation does not declare (arguments refused, a failure of its
        // own) exercises none of its features.
        if let Outcome::Error(e) = outcome {
            if !op.errors.contains_key(&e.kind) {
                self.stored.learn(op, request, Some(outcome), state);
                return Vec::new();
            }
        }
        let mut hits = self.arguments(op, request, outcome);
        if let Outcome::Ok(answer) = outcome {
            hits.extend(
                answers(op, answer)
                    .into_iter()
                    .map(|f| (op.name.clone(), f)),
            );
        }
        if let Some(state) = state {
            hits.extend(shapes(state).into_iter().map(|s| (STORED.into(), s.into())));
        }
        self.stored.learn(op, request, Some(outcome), state);
        if let Some(own) = &mut self.own {
            hits.extend(own.observe(request, outcome, state));
        }
        hits
    }
}

impl DeclaredFeatures {
    /// The argument features of one request, judged on what was stored before it.
    fn arguments(
        &self,
        op: &Operation,
        request: &Request,
        outcome: &Outcome,
    ) -> Vec<(String, String)> {
        let mut hits = Vec::new();
        let mut hit = |name: String| hits.push((op.name.clone(), name));
        if op.key == KeyMode::Keyed {
            let key = request.key.as_deref().unwrap_or("");
            // A key never seen holds something if a read of it answered.
            let absent = match self.stored.holds(key) {
                Some(holds) => !holds,
                None => !(op.kind == Kind::Read && matches!(outcome, Outcome::Ok(_))),
            };
            if absent {
                hit("absent key".into());
            }
        }
        let size = match outcome {
            Outcome::Ok(Value::Array(items)) => Some(items.len() as u64),
            _ => None,
        };
        for (name, a) in &op.args {
            let value = request.args.get(name).filter(|v| !v.is_null());
            let Some(value) = value else {
                if a.optional {
                    hit(format!("{name} absent"));
                }
                continue;
            };
            for feature in self.argument(op, name, a, value, request, size) {
                hit(feature);
            }
        }
        hits
    }

    fn argument(
        &self,
        op: &Operation,
        name: &str,
        a: &Argument,
        value: &Value,
        request: &Request,
        size: Option<u64>,
    ) -> Vec<String> {
        let text = value.as_str();
        let mut out = Vec::new();
        match a.class {
            Some(Class::Id) => {
                let ids: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    one => vec![one],
                };
                let absent = ids
                    .iter()
                    .filter_map(|v| key_text(v))
                    .any(|k| self.stored.holds(&k) != Some(true));
                if absent {
                    out.push(format!("{name} absent from the store"));
                }
            }
            Some(Class::FreeText) => {
                if let Some(s) = text {
                    if s.is_empty() {
                        out.push(format!("{name} empty"));
                    }
                    if !s.is_ascii() {
                        out.push(format!("{name} non-ASCII"));
                    }
                    if !s.is_empty() && s.trim() != s {
                        out.push(format!("{name} with surrounding whitespace"));
                    }
                }
            }
            Some(Class::SearchText) => {
                if let Some(s) = text {
                    if s.chars().any(char::is_uppercase) {
                        out.push(format!("{name} upper case"));
                    }
                    if !s.is_ascii() {
                        out.push(format!("{name} non-ASCII"));
                    }
                    if s.contains(['%', '_']) {
                        out.push(format!("{name} with % or _"));
                    }
                }
            }
            Some(Class::Enum) if a.values.contains(value) => {
                out.push(format!("{name} = {}", plain(value)));
            }
            Some(Class::Enum) => {}
            Some(Class::LowerBound | Class::UpperBound) => {
                out.extend(self.bound(op, name, a, value, request));
            }
            Some(Class::Limit) => {
                if let Some(limit) = value.as_u64() {
                    if limit == 0 && a.accepts(0) {
                        out.push(format!("{name} 0"));
                    }
                    if limit == 1 && a.accepts(1) {
                        out.push(format!("{name} 1"));
                    }
                    match size {
                        Some(n) if limit > 0 && n == limit => out.push(format!("{name} reached")),
                        Some(n) if n < limit => out.push(format!("{name} past the end")),
                        _ => {}
                    }
                }
            }
            Some(Class::Offset) => match (value.as_u64(), size) {
                (Some(0), _) if a.accepts(0) => out.push(format!("{name} 0")),
                (Some(_), Some(0)) => out.push(format!("{name} past the end")),
                _ => {}
            },
            None => {}
        }
        out
    }

    fn bound(
        &self,
        op: &Operation,
        name: &str,
        a: &Argument,
        value: &Value,
        request: &Request,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let field = a.field.as_deref().unwrap_or("?");
        let Some(p) = point(value, a.ty) else {
            return out;
        };
        let has = |p: i128| self.stored.has_point(field, p);
        if has(p) {
            out.push(format!("{name} equals a stored {field}"));
        } else if has(p - step(a.ty)) || has(p + step(a.ty)) {
            out.push(format!("{name} one step from a stored {field}"));
        }
        if let Some(upper) = upper_of(op, name, a) {
            let upper_ty = op.args.get(upper).map_or(a.ty, |u| u.ty);
            let up = request.args.get(upper).and_then(|v| point(v, upper_ty));
            if up.is_some_and(|u| p > u) {
                out.push(format!("{name} after {upper}"));
            }
        }
        out
    }
}

/// The features of an ok answer: ties and nulls on the declared order, answer members.
fn answers(op: &Operation, answer: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(list), Value::Array(items)) = (&op.list, answer) {
        if let Some(first) = list
            .order
            .first()
            .filter(|k| Some(&k.by) != list.key.as_ref())
        {
            let keys: Vec<Option<&Value>> = items
                .iter()
                .map(|i| get(i, &first.by).filter(|v| !v.is_null()))
                .collect();
            if keys.windows(2).any(|w| w[0].is_some() && w[0] == w[1]) {
                out.push(format!("tie on {}", first.by));
            }
        }
        for key in list.order.iter().filter(|k| k.nulls.is_some()) {
            if items
                .iter()
                .any(|i| get(i, &key.by).is_some_and(Value::is_null))
            {
                out.push(format!("null {}", key.by));
            }
        }
    }
    for (name, a) in &op.answer {
        if let Some(value) = get(answer, name) {
            if answer_values(a).contains(value) {
                out.push(format!("answer {name} = {}", plain(value)));
            }
        }
    }
    out
}
