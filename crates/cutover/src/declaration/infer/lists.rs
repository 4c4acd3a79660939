//! What was seen of one operation's ok answers ([`Answers`]): the members of object answers
//! (a generated key, booleans), and list answers ([`ListStat`]): their sizes, the elements'
//! members, the key candidates and the list's key as drafted. Its orders are in [`order`].

mod order;

use super::args::usable_name;
use super::sample::{Range, Sample};
use super::{Note, OpNotes, MEMBERS};
use crate::declaration::path::{get, key_text};
use crate::declaration::{List, Type};
use order::OrderStat;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What was seen of one operation's ok answers.
#[derive(Debug, Default)]
pub(super) struct Answers {
    /// Answers that are objects.
    objects: u64,
    /// Answers that are arrays.
    arrays: u64,
    /// Members of object answers (the first [`MEMBERS`]).
    pub(super) members: BTreeMap<String, MemberStat>,
    pub(super) list: ListStat,
}

#[derive(Debug, Default)]
pub(super) struct MemberStat {
    /// Answers where it holds a key (a string or a number).
    keys: u64,
    /// Answers where it is `true` or `false`.
    booleans: u64,
    /// Its values (keys), to tell which were later keys of requests.
    pub(super) values: Sample,
}

impl Answers {
    pub(super) fn observe(&mut self, answer: &Value, keys: &BTreeSet<String>) {
        match answer {
            Value::Object(map) => {
                self.objects += 1;
                for (name, value) in map {
                    if !self.members.contains_key(name) && self.members.len() >= MEMBERS {
                        continue;
                    }
                    let member = self.members.entry(name.clone()).or_default();
                    if value.is_boolean() {
                        member.booleans += 1;
                    }
                    if let Some(key) = get(answer, name).and_then(key_text) {
                        member.keys += 1;
                        member.values.add(&key, keys);
                    }
                }
            }
            Value::Array(items) => {
                self.arrays += 1;
                self.list.observe(items);
            }
            _ => {}
        }
    }

    /// Whether every one of the `ok` answers is a list.
    pub(super) fn list_answers(&self, ok: u64) -> bool {
        ok > 0 && self.arrays == ok
    }

    /// The member of the `ok` answers holding a generated key, and why.
    pub(super) fn generated(&self, ok: u64) -> Option<(String, String)> {
        if ok == 0 || self.objects != ok {
            return None;
        }
        let every = |m: &&MemberStat| m.keys == ok;
        let later = |name: &str, m: &MemberStat| {
            format!(
                "generated: every ok answer ({ok}) carries `{name}`, and {} of the {} distinct \
                 values sampled were later keys of requests",
                m.values.hits(),
                m.values.values.len()
            )
        };
        if let Some(id) = self.members.get("id").filter(every) {
            return Some(("id".into(), later("id", id)));
        }
        self.members
            .iter()
            .filter(|(name, m)| !name.trim().is_empty() && every(m) && m.values.hits() > 0)
            .max_by_key(|(name, m)| (m.values.hits(), Reverse(*name)))
            .map(|(name, m)| (name.clone(), later(name, m)))
    }

    /// Members that are `true` or `false` in every one of the `ok` answers, and why.
    pub(super) fn booleans(&self, ok: u64) -> Vec<(String, String)> {
        if ok == 0 || self.objects != ok {
            return Vec::new();
        }
        self.members
            .iter()
            .filter(|(_, m)| m.booleans == ok)
            .map(|(name, _)| {
                let why = format!(
                    "`{name}` is true or false in every ok answer ({ok}): its values are \
                     counted as features"
                );
                (name.clone(), why)
            })
            .collect()
    }
}

/// What was seen of one operation's list answers.
#[derive(Debug, Default)]
pub(super) struct ListStat {
    answers: u64,
    empty: u64,
    /// Answers of 2 elements or more.
    multi: u64,
    sizes: Range<usize>,
    /// Some element was not an object: no key or order is inferred.
    non_object: bool,
    /// Members of elements (the first [`MEMBERS`]).
    members: BTreeMap<String, ElementMember>,
    /// Key candidates, from the first element of the first non-empty answer.
    keys: Option<BTreeMap<String, KeyCandidate>>,
    /// Order candidates, from the elements of the first non-empty answer.
    orders: BTreeMap<String, OrderStat>,
}

#[derive(Debug, Default)]
pub(super) struct ElementMember {
    numbers: u64,
    strings: u64,
    timestamps: u64,
}

#[derive(Debug, Default)]
pub(super) struct KeyCandidate {
    /// Some element lacked it (or held no string or number there).
    missing: bool,
    /// Two elements of one answer held the same value.
    repeated: bool,
}

impl KeyCandidate {
    pub(super) fn holds(&self) -> bool {
        !self.missing && !self.repeated
    }
}

impl ListStat {
    pub(super) fn observe(&mut self, items: &[Value]) {
        self.answers += 1;
        self.sizes.add(items.len(), || items.len().to_string());
        if items.is_empty() {
            self.empty += 1;
        }
        if items.len() >= 2 {
            self.multi += 1;
        }
        if items.iter().any(|i| !i.is_object()) {
            self.non_object = true;
        }
        if self.non_object || items.is_empty() {
            return;
        }
        for item in items {
            for (name, value) in item.as_object().into_iter().flatten() {
                if !self.members.contains_key(name) && self.members.len() >= MEMBERS {
                    continue;
                }
                let member = self.members.entry(name.clone()).or_default();
                match value {
                    Value::Number(_) => member.numbers += 1,
                    Value::String(s) => {
                        member.strings += 1;
                        if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                            member.timestamps += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        let keys = self.keys.get_or_insert_with(|| {
            let first = items[0].as_object().into_iter().flatten();
            first
                .filter(|(name, v)| usable_name(name) && (v.is_string() || v.is_number()))
                .take(MEMBERS)
                .map(|(name, _)| (name.clone(), KeyCandidate::default()))
                .collect()
        });
        if self.orders.is_empty() {
            let names: BTreeSet<&String> = items
                .iter()
                .flat_map(|i| i.as_object().into_iter().flatten().map(|(n, _)| n))
                .filter(|n| usable_name(n))
                .collect();
            for name in names.into_iter().take(MEMBERS) {
                let tie_breaks = keys
                    .keys()
                    .filter(|k| *k != name)
                    .map(|k| (k.clone(), (true, true)))
                    .collect();
                self.orders.insert(name.clone(), OrderStat::new(tie_breaks));
            }
        }
        for (name, candidate) in keys.iter_mut().filter(|(_, c)| c.holds()) {
            let mut seen = HashSet::new();
            for item in items {
                match get(item, name).filter(|v| v.is_string() || v.is_number()) {
                    None => {
                        candidate.missing = true;
                        break;
                    }
                    Some(v) if !seen.insert(v.to_string()) => {
                        candidate.repeated = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        for (name, order) in &mut self.orders {
            order.observe(name, items);
        }
    }

    /// The member a bound named `base` bounds (`None`: the one member of the bound's type),
    /// if the elements have it.
    pub(super) fn bounded(&self, base: Option<&str>, ty: Type) -> Option<String> {
        match base {
            Some(base) => [base.to_string(), format!("{base}_at")]
                .into_iter()
                .find(|f| self.members.contains_key(f) && usable_name(f)),
            None => {
                let fits = |m: &ElementMember| match ty {
                    Type::Timestamp => m.timestamps > 0 && m.timestamps == m.strings,
                    _ => m.numbers > 0 && m.strings == 0,
                };
                let mut fitting = self
                    .members
                    .iter()
                    .filter(|(name, m)| usable_name(name) && fits(m));
                match (fitting.next(), fitting.next()) {
                    (Some((name, _)), None) => Some(name.clone()),
                    _ => None,
                }
            }
        }
    }

    /// The list as drafted: its key and order, and their comments.
    pub(super) fn draft(&self, notes: &mut OpNotes) -> List {
        let mut list = List::default();
        notes.list.push(Note::Seen(format!(
            "{} list answers: {} empty, {} of 2 or more elements; {} elements",
            self.answers,
            self.empty,
            self.multi,
            self.sizes.text().unwrap_or_default()
        )));
        if self.non_object {
            notes.list.push(Note::Not(
                "key and order: some elements are not objects".into(),
            ));
            return list;
        }
        let Some(keys) = &self.keys else {
            return list;
        };
        let holding: Vec<&String> = keys
            .iter()
            .filter(|(_, c)| c.holds())
            .map(|(n, _)| n)
            .collect();
        let preferred = ["id", "key"]
            .iter()
            .find_map(|p| holding.iter().find(|n| n.as_str() == *p))
            .or(holding.first())
            .map(|n| (*n).clone());
        if let Some(id) = keys.get("id").filter(|c| !c.holds()) {
            let why = match id.missing {
                true => "some element lacks it",
                false => "two elements of one answer share a value",
            };
            notes
                .list_key
                .push(Note::Not(format!("key = \"id\": {why}")));
        }
        match preferred {
            Some(key) if self.multi > 0 => {
                let others: Vec<String> = holding
                    .iter()
                    .filter(|n| **n != &key)
                    .map(|n| format!("`{n}`"))
                    .collect();
                let also = match others.is_empty() {
                    true => String::new(),
                    false => format!("; so are {}", others.join(", ")),
                };
                notes.list_key.push(Note::Guess(format!(
                    "key: `{key}` is in every element, unique within each of the {} answers \
                     ({} of 2 or more elements){also}",
                    self.answers, self.multi
                )));
                list.key = Some(key);
            }
            Some(key) => notes.list_key.push(Note::Not(format!(
                "key = \"{key}\": in every element, but no answer had 2 elements to show it unique"
            ))),
            None => notes.list_key.push(Note::Not(
                "key: no member is in every element and unique within every answer".into(),
            )),
        }
        self.order(&mut list, notes);
        list
    }
}
