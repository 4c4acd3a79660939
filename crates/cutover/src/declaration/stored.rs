//! What the traffic shows stored, as a declaration reads it: which keys hold an aggregate,
//! and the values of the fields a bound applies to, per key, so a value leaves with the
//! aggregate that held it. Coverage ([`super::features`]) judges arguments against it and
//! probes ([`super::probes`]) choose their absent keys and bound values from it.
//!
//! A key's state (a write's read-back) is the best witness; a create's answer stands for
//! its new key's state; an element of a list answered by an operation that bounds a field
//! shows that field of the element's aggregate (by the list's `key`).

use super::path::{get, key_text};
use super::{Declaration, KeyMode, Operation, Type};
use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use chrono::DateTime;
use serde_json::Value;
use std::collections::BTreeMap;

/// Keys and bounded values seen stored.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    /// Every bounded field, with its bound's type.
    fields: Vec<(String, Type)>,
    /// Keys seen: whether each holds an aggregate now.
    present: BTreeMap<String, bool>,
    /// Per key, its bounded values: (field index, point).
    values: BTreeMap<String, Vec<(usize, i128)>>,
    /// Per field index, how many keys hold each point.
    points: Vec<BTreeMap<i128, usize>>,
}

impl Stored {
    /// Nothing stored yet, for `declaration`'s fields.
    pub fn new(declaration: &Declaration) -> Stored {
        let mut fields: Vec<(String, Type)> = declaration
            .ops
            .iter()
            .flat_map(|op| op.args.values())
            .filter_map(|a| Some((a.field.clone()?, a.ty)))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|a, b| a.0 == b.0);
        let points = vec![BTreeMap::new(); fields.len()];
        Stored {
            fields,
            points,
            ..Stored::default()
        }
    }

    /// Forgets everything (the store was emptied).
    pub fn clear(&mut self) {
        self.present.clear();
        self.values.clear();
        self.points.iter_mut().for_each(BTreeMap::clear);
    }

    /// Whether `key` holds an aggregate (`None`: never seen).
    pub fn holds(&self, key: &str) -> Option<bool> {
        self.present.get(key).copied()
    }

    /// Every key seen, with whether it holds an aggregate now.
    pub fn keys(&self) -> &BTreeMap<String, bool> {
        &self.present
    }

    /// Whether some aggregate holds `p` in `field`.
    pub fn has_point(&self, field: &str, p: i128) -> bool {
        self.field(field)
            .is_some_and(|i| self.points[i].get(&p).is_some_and(|n| *n > 0))
    }

    /// The points held in `field`, in order.
    pub fn points(&self, field: &str) -> Vec<i128> {
        self.field(field)
            .map(|i| {
                self.points[i]
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(p, _)| *p)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(f, _)| f == name)
    }

    /// Learns what `request` (of the declared `op`) shows stored, given its outcome and,
    /// after a write, its key's state.
    pub fn learn(
        &mut self,
        op: &Operation,
        request: &Request,
        outcome: Option<&Outcome>,
        state: Option<&Value>,
    ) {
        match (op.key, outcome, &request.key) {
            (KeyMode::Generated, Some(Outcome::Ok(answer)), _) => {
                let key = op.generated_key.as_deref().and_then(|p| get(answer, p));
                if let Some(key) = key.and_then(key_text) {
                    self.set(&key, Some(answer));
                }
            }
            (KeyMode::Keyed, _, Some(key)) => match (state, outcome) {
                (Some(state), _) => self.set(key, Some(state).filter(|s| !s.is_null())),
                (None, Some(Outcome::Ok(_))) if op.kind == Kind::Read => {
                    self.present.insert(key.clone(), true);
                }
                (None, Some(Outcome::Ok(_))) => {
                    self.present.entry(key.clone()).or_insert(true);
                }
                (None, Some(Outcome::Error(e))) if e.kind == ErrorKind::NotFound => {
                    self.set(key, None)
                }
                _ => {}
            },
            _ => {}
        }
        if let (Some(Outcome::Ok(Value::Array(items))), Some(list)) = (outcome, &op.list) {
            let bounded: Vec<usize> = op
                .args
                .values()
                .filter_map(|a| self.field(a.field.as_deref()?))
                .collect();
            let Some(id) = list.key.as_deref().filter(|_| !bounded.is_empty()) else {
                return;
            };
            for item in items {
                if let Some(key) = get(item, id).and_then(key_text) {
                    self.present.insert(key.clone(), true);
                    self.update(&key, item, &bounded);
                }
            }
        }
    }

    /// `key`'s aggregate is now `state` (`None`: gone).
    fn set(&mut self, key: &str, state: Option<&Value>) {
        self.present.insert(key.to_string(), state.is_some());
        self.remove(key, None);
        if let Some(state) = state {
            let all: Vec<usize> = (0..self.fields.len()).collect();
            self.update(key, state, &all);
        }
    }

    /// Replaces `key`'s values of the fields `which` with those `value` holds.
    fn update(&mut self, key: &str, value: &Value, which: &[usize]) {
        self.remove(key, Some(which));
        let mut added = Vec::new();
        for &i in which {
            let (field, ty) = &self.fields[i];
            if let Some(p) = get(value, field).and_then(|v| point(v, *ty)) {
                *self.points[i].entry(p).or_default() += 1;
                added.push((i, p));
            }
        }
        self.values
            .entry(key.to_string())
            .or_default()
            .extend(added);
    }

    /// Forgets `key`'s values of the fields `which` (`None`: all).
    fn remove(&mut self, key: &str, which: Option<&[usize]>) {
        let Some(values) = self.values.get_mut(key) else {
            return;
        };
        let points = &mut self.points;
        values.retain(|(i, p)| {
            let gone = which.is_none_or(|w| w.contains(i));
            if gone {
                if let Some(n) = points[*i].get_mut(p) {
                    *n = n.saturating_sub(1);
                }
            }
            !gone
        });
    }
}

/// A bounded value as a point on its axis: an integer as is, a timestamp in microseconds
/// since the epoch; `None` for anything else.
pub(crate) fn point(value: &Value, ty: Type) -> Option<i128> {
    match (ty, value) {
        (Type::Timestamp, Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| i128::from(t.timestamp_micros())),
        (Type::Integer | Type::Number | Type::Any, Value::Number(n)) => {
            n.as_i64().map(i128::from).or(n.as_u64().map(i128::from))
        }
        _ => None,
    }
}

/// One step on a bound's axis: a millisecond for a timestamp, one otherwise.
pub(crate) fn step(ty: Type) -> i128 {
    if ty == Type::Timestamp {
        1000
    } else {
        1
    }
}
