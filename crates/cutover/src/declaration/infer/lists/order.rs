//! The orders of list answers: whether a member's values are sorted in every answer, with
//! its ties, their tie-breaks and its nulls ([`OrderStat`]), and the list's order as drafted.

use super::ListStat;
use crate::declaration::expect::compare;
use crate::declaration::infer::{write, Note, OpNotes, ORDER_ANSWERS};
use crate::declaration::path::get;
use crate::declaration::{Direction, List, Nulls, SortKey};
use serde_json::Value;
use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;

/// Whether a member's values are sorted in every answer.
#[derive(Debug)]
pub(super) struct OrderStat {
    /// Its non-null values are all numbers, all strings or all booleans.
    usable: bool,
    scalar: Option<u8>,
    asc: bool,
    desc: bool,
    /// Adjacent pairs strictly ordered.
    strict: u64,
    /// Adjacent pairs equal on it (both null included).
    ties: u64,
    nulls: u64,
    /// A null sat after a value.
    null_after_value: bool,
    /// A value sat after a null.
    value_after_null: bool,
    /// For each key candidate, whether it orders the ties ascending, descending.
    tie_breaks: BTreeMap<String, (bool, bool)>,
}

impl ListStat {
    pub(super) fn order(&self, list: &mut List, notes: &mut OpNotes) {
        let mut holding: Vec<(&String, &OrderStat, Direction, Option<Nulls>)> = self
            .orders
            .iter()
            .filter(|(_, o)| o.usable && o.strict > 0)
            .filter(|(_, o)| !(o.null_after_value && o.value_after_null))
            .filter_map(|(name, o)| {
                let direction = match (o.asc, o.desc) {
                    (true, false) => Direction::Asc,
                    (false, true) => Direction::Desc,
                    _ => return None,
                };
                let nulls = match (o.value_after_null, o.null_after_value) {
                    (true, false) => Some(Nulls::First),
                    (false, true) => Some(Nulls::Last),
                    _ => None,
                };
                Some((name, o, direction, nulls))
            })
            .collect();
        if holding.is_empty() {
            if self.multi > 0 {
                notes.order.push(Note::Not(
                    "order: no member is sorted in every answer".into(),
                ));
            }
            return;
        }
        let key = list.key.as_deref();
        holding
            .sort_by_key(|(name, o, _, _)| (Reverse(o.strict), Some(name.as_str()) != key, *name));
        let (name, o, direction, nulls) = holding[0];
        let mut order = vec![SortKey {
            by: name.clone(),
            direction,
            nulls,
        }];
        let mut why = format!(
            "{} adjacent pairs strictly in order, {} ties",
            o.strict, o.ties
        );
        if o.ties > 0 {
            let tie_break = key.and_then(|k| o.tie_breaks.get(k).map(|tb| (k, *tb)));
            match tie_break {
                Some((k, (true, _))) => {
                    order.push(SortKey {
                        by: k.into(),
                        direction: Direction::Asc,
                        nulls: None,
                    });
                    why.push_str(&format!(", every tie in ascending `{k}`"));
                }
                Some((k, (false, true))) => {
                    order.push(SortKey {
                        by: k.into(),
                        direction: Direction::Desc,
                        nulls: None,
                    });
                    why.push_str(&format!(", every tie in descending `{k}`"));
                }
                _ => why.push_str(", the ties in no order of the key"),
            }
        }
        match nulls {
            Some(Nulls::First) => {
                why.push_str(&format!("; its {} nulls sat before every value", o.nulls))
            }
            Some(Nulls::Last) => {
                why.push_str(&format!("; its {} nulls sat after every value", o.nulls))
            }
            None if o.nulls > 0 => {
                why.push_str(&format!("; where its {} nulls sort is unknown", o.nulls))
            }
            None => why.push_str("; no null seen"),
        }
        let text = write::order(&order);
        if self.multi >= ORDER_ANSWERS {
            notes.order.push(Note::Guess(format!(
                "order holds in {n} of {n} answers of 2 or more elements ({why})",
                n = self.multi
            )));
            let others: Vec<String> = holding[1..]
                .iter()
                .map(|(name, _, d, _)| format!("`{name}` {}", write::direction(*d)))
                .collect();
            if !others.is_empty() {
                notes.order.push(Note::Seen(format!(
                    "also sorted in every answer: {}",
                    others.join(", ")
                )));
            }
            list.order = order;
        } else {
            notes.order.push(Note::Not(format!(
                "order = {text} holds in {} answers only (of 2 or more elements; {why}): \
                 {ORDER_ANSWERS} are needed to declare it",
                self.multi
            )));
        }
    }
}

impl OrderStat {
    /// A candidate no answer has contradicted yet, with the key candidates that may break
    /// its ties.
    pub(super) fn new(tie_breaks: BTreeMap<String, (bool, bool)>) -> OrderStat {
        OrderStat {
            usable: true,
            scalar: None,
            asc: true,
            desc: true,
            strict: 0,
            ties: 0,
            nulls: 0,
            null_after_value: false,
            value_after_null: false,
            tie_breaks,
        }
    }

    pub(super) fn observe(&mut self, name: &str, items: &[Value]) {
        if !self.usable {
            return;
        }
        for item in items {
            let scalar = match get(item, name) {
                None | Some(Value::Null) => {
                    self.nulls += 1;
                    continue;
                }
                Some(Value::Number(_)) => 0,
                Some(Value::String(_)) => 1,
                Some(Value::Bool(_)) => 2,
                Some(_) => {
                    self.usable = false;
                    return;
                }
            };
            if *self.scalar.get_or_insert(scalar) != scalar {
                self.usable = false;
                return;
            }
        }
        let by = |name: &str| List {
            key: None,
            order: vec![SortKey {
                by: name.into(),
                direction: Direction::Asc,
                nulls: None,
            }],
        };
        let this = by(name);
        let value = |item: &Value| get(item, name).filter(|v| !v.is_null()).is_some();
        for pair in items.windows(2) {
            let tie = match (value(&pair[0]), value(&pair[1])) {
                (true, true) => match compare(&this, &pair[0], &pair[1]) {
                    Ordering::Less => {
                        self.strict += 1;
                        self.desc = false;
                        false
                    }
                    Ordering::Greater => {
                        self.strict += 1;
                        self.asc = false;
                        false
                    }
                    Ordering::Equal => true,
                },
                (false, false) => true,
                (false, true) => {
                    self.value_after_null = true;
                    false
                }
                (true, false) => {
                    self.null_after_value = true;
                    false
                }
            };
            if tie {
                self.ties += 1;
                for (key, (asc, desc)) in &mut self.tie_breaks {
                    let present = |i: &Value| get(i, key).is_some_and(|v| !v.is_null());
                    let ordering = match present(&pair[0]) && present(&pair[1]) {
                        true => compare(&by(key), &pair[0], &pair[1]),
                        false => Ordering::Equal,
                    };
                    match ordering {
                        Ordering::Less => *desc = false,
                        Ordering::Greater => *asc = false,
                        Ordering::Equal => (*asc, *desc) = (false, false),
                    }
                }
            }
        }
    }
}
