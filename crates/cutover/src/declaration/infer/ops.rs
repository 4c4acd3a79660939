//! What was seen of one operation ([`OpStat`]), and the operation as drafted: its kind, key,
//! example, arguments and their classes, error kinds, boolean answer members and list.

use super::args::{bound_name, example, is_limit, is_offset, is_search, ArgStat};
use super::lists::{Answers, ListStat};
use super::{write, Note, OpNotes, ENUM_REQUESTS, ENUM_VALUES, MEMBERS};
use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::declaration::path::key_text;
use crate::declaration::{Argument, Class, KeyMode, Operation, Type};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What was seen of one operation.
#[derive(Debug)]
pub(super) struct OpStat {
    pub(super) name: String,
    pub(super) requests: u64,
    reads: u64,
    writes: u64,
    /// Requests with a key.
    keyed: u64,
    /// Requests whose `args` is not an object.
    odd_args: u64,
    pub(super) args: BTreeMap<String, ArgStat>,
    /// Argument names beyond [`MEMBERS`], not followed.
    dropped_args: BTreeSet<String>,
    ok: u64,
    errors: BTreeMap<ErrorKind, u64>,
    unrecorded: u64,
    /// The first ok request's arguments TOML can hold, when keyed on a key no earlier
    /// request was answered ok on: (seq, arguments, keyed).
    example: Option<(u64, Value, bool)>,
    pub(super) answers: Answers,
    /// Per answer member: ok answers to a request on a key no earlier request was answered
    /// ok on, whose member holds that key (a create keyed by the id its store chose).
    key_echo: BTreeMap<String, u64>,
}

impl OpStat {
    pub(super) fn new(name: &str) -> OpStat {
        OpStat {
            name: name.to_string(),
            requests: 0,
            reads: 0,
            writes: 0,
            keyed: 0,
            odd_args: 0,
            args: BTreeMap::new(),
            dropped_args: BTreeSet::new(),
            ok: 0,
            errors: BTreeMap::new(),
            unrecorded: 0,
            example: None,
            answers: Answers::default(),
            key_echo: BTreeMap::new(),
        }
    }

    pub(super) fn key_seen(&mut self, key: &str) {
        for arg in self.args.values_mut() {
            arg.values.key_seen(key);
        }
        for member in self.answers.members.values_mut() {
            member.values.key_seen(key);
        }
    }

    /// `fresh`: for a keyed request, whether no request on its key was answered ok before
    /// (`false` when that is not known).
    pub(super) fn observe(&mut self, r: &Request, keys: &BTreeSet<String>, fresh: Option<bool>) {
        self.requests += 1;
        match r.kind {
            Kind::Read => self.reads += 1,
            Kind::Write => self.writes += 1,
        }
        if r.key.is_some() {
            self.keyed += 1;
        }
        match &r.args {
            Value::Object(args) => {
                for (name, value) in args {
                    if !self.args.contains_key(name) {
                        if self.args.len() >= MEMBERS {
                            if self.dropped_args.len() < MEMBERS {
                                self.dropped_args.insert(name.clone());
                            }
                            continue;
                        }
                        self.args.insert(name.clone(), ArgStat::default());
                    }
                    if let Some(arg) = self.args.get_mut(name) {
                        arg.add(value, keys);
                    }
                }
            }
            _ => self.odd_args += 1,
        }
        match &r.outcome {
            None => self.unrecorded += 1,
            Some(Outcome::Error(e)) => *self.errors.entry(e.kind).or_default() += 1,
            Some(Outcome::Ok(answer)) => {
                self.ok += 1;
                self.answers.observe(answer, keys);
                if let (Some(key), Some(true), Value::Object(members)) = (&r.key, fresh, answer) {
                    for (name, value) in members.iter().take(MEMBERS) {
                        if key_text(value).as_deref() == Some(key.as_str()) {
                            *self.key_echo.entry(name.clone()).or_default() += 1;
                        }
                    }
                }
                if self.example.is_none() && r.kind == Kind::Write && fresh != Some(false) {
                    if let Some(args) = example(&r.args) {
                        self.example = Some((r.seq, args, fresh.is_some()));
                    }
                }
            }
        }
    }

    /// The operation as drafted, and its comments.
    pub(super) fn draft(&self) -> (Operation, OpNotes) {
        let mut notes = OpNotes::default();
        let mut outcomes = vec![format!("{} ok", self.ok)];
        outcomes.extend(self.errors.iter().map(|(kind, n)| format!("{n} {kind}")));
        if self.unrecorded > 0 {
            outcomes.push(format!("{} without a recorded outcome", self.unrecorded));
        }
        notes.op.push(Note::Seen(format!(
            "{} requests, {} with a key; {}",
            self.requests,
            self.keyed,
            outcomes.join(", ")
        )));
        let kind = if self.writes > 0 {
            Kind::Write
        } else {
            Kind::Read
        };
        if self.reads > 0 && self.writes > 0 {
            notes.op.push(Note::Guess(format!(
                "kind write: recorded as a write in {} requests and as a read in {}",
                self.writes, self.reads
            )));
        }
        if self.odd_args > 0 {
            notes.op.push(Note::Seen(format!(
                "`args` not an object in {} requests",
                self.odd_args
            )));
        }
        let (key, generated_key) = self.key_mode(kind, &mut notes);

        let mut op = Operation {
            name: self.name.clone(),
            kind,
            key,
            generated_key,
            example: None,
            args: BTreeMap::new(),
            errors: BTreeMap::new(),
            list: None,
            answer: BTreeMap::new(),
            features: Vec::new(),
        };

        if kind == Kind::Write {
            match &self.example {
                Some((seq, args, keyed)) => {
                    op.example = Some(args.clone());
                    let which = match keyed {
                        true => "the first ok one on a key no earlier request was answered ok on",
                        false => "the first ok one",
                    };
                    notes.example.push(Note::Guess(format!(
                        "example: the arguments of request seq {seq}, {which}; \
                         check-target sends it as a create"
                    )));
                }
                None if key == KeyMode::Keyed => notes.example.push(Note::Not(
                    "example: no ok request on a key no earlier request was answered ok on \
                     (perhaps it never creates)"
                        .into(),
                )),
                None => notes.example.push(Note::Not(
                    "example: no ok request with arguments a TOML table can hold".into(),
                )),
            }
        }

        let list = self
            .answers
            .list_answers(self.ok)
            .then_some(&self.answers.list);
        for (name, stat) in &self.args {
            let (arg, arg_notes) = self.argument(name, stat, list);
            op.args.insert(name.clone(), arg);
            notes.args.insert(name.clone(), arg_notes);
        }
        if !self.dropped_args.is_empty() {
            let names: Vec<String> = self.dropped_args.iter().map(|n| write::quote(n)).collect();
            notes.op.push(Note::Not(format!(
                "more than {MEMBERS} argument names; not followed: {}",
                names.join(", ")
            )));
        }

        for (kind, n) in &self.errors {
            let hint = match (kind, key, op.kind) {
                (ErrorKind::NotFound, KeyMode::Keyed, _) => " (perhaps \"absent key\")",
                (ErrorKind::Conflict, KeyMode::Keyed, Kind::Write) => {
                    " (perhaps \"existing key\" or \"repeat\")"
                }
                _ => "",
            };
            op.errors.insert(*kind, String::new());
            notes.errors.insert(
                *kind,
                vec![Note::Guess(format!(
                    "{kind} answered {n} of {} requests; how = \"\" provokes nothing: \
                     say how a probe provokes it{hint}",
                    self.requests
                ))],
            );
        }

        if kind == Kind::Write {
            for (name, note) in self.answers.booleans(self.ok) {
                op.answer.insert(
                    name.clone(),
                    Argument {
                        ty: Type::Boolean,
                        ..Argument::default()
                    },
                );
                notes.answer.insert(name, vec![Note::Guess(note)]);
            }
        }

        if let Some(list) = list {
            op.list = Some(list.draft(&mut notes));
        }
        (op, notes)
    }

    pub(super) fn key_mode(&self, kind: Kind, notes: &mut OpNotes) -> (KeyMode, Option<String>) {
        if let Some(member) = self.key_echoed(kind) {
            notes.key.push(Note::Guess(format!(
                "generated: every ok answer ({}) is to a request on a new key, and its `{member}` \
                 holds that key (the id the recorded store chose)",
                self.ok
            )));
            return (KeyMode::Generated, Some(member));
        }
        if self.keyed == self.requests {
            return (KeyMode::Keyed, None);
        }
        if self.keyed > 0 {
            notes.key.push(Note::Guess(format!(
                "keyed: {} of {} requests carry a key, the others' is null",
                self.keyed, self.requests
            )));
            return (KeyMode::Keyed, None);
        }
        if kind == Kind::Write {
            if let Some((member, note)) = self.answers.generated(self.ok) {
                notes.key.push(Note::Guess(note));
                return (KeyMode::Generated, Some(member));
            }
        }
        (KeyMode::Keyless, None)
    }

    /// For a write: the member (`id` first) in which every ok answer echoes the new key its
    /// request was keyed on.
    fn key_echoed(&self, kind: Kind) -> Option<String> {
        if kind != Kind::Write || self.ok == 0 {
            return None;
        }
        let every = |name: &str| self.key_echo.get(name) == Some(&self.ok);
        if every("id") {
            return Some("id".into());
        }
        self.key_echo.keys().find(|name| every(name)).cloned()
    }

    /// The argument `name` as drafted, and its comments.
    pub(super) fn argument(
        &self,
        name: &str,
        a: &ArgStat,
        list: Option<&ListStat>,
    ) -> (Argument, Vec<Note>) {
        let mut notes = Vec::new();
        let ty = a.ty();
        let optional = a.present < self.requests;
        let presence = match optional {
            true => format!(
                "absent or null in {} of {} requests",
                self.requests - a.present,
                self.requests
            ),
            false => format!("in all {} requests", self.requests),
        };
        let mixed = match ty {
            Type::Any if a.present > 0 => "; values of several types",
            _ => "",
        };
        let seen = a.seen(ty).map(|s| format!("; {s}")).unwrap_or_default();
        notes.push(Note::Seen(format!("{presence}{mixed}{seen}")));
        let mut arg = Argument {
            ty,
            optional,
            ..Argument::default()
        };
        let mut class = |arg: &mut Argument, class: Class, why: String| {
            arg.class = Some(class);
            notes.push(Note::Guess(why));
        };

        if ty == Type::Integer && is_limit(name) {
            class(&mut arg, Class::Limit, "limit, from its name".into());
        } else if ty == Type::Integer && is_offset(name) {
            class(&mut arg, Class::Offset, "offset, from its name".into());
        } else if let Some((bound, base)) = bound_name(name)
            .filter(|_| matches!(ty, Type::Integer | Type::Number | Type::Timestamp))
        {
            let which = match bound {
                Class::LowerBound => "lower_bound",
                _ => "upper_bound",
            };
            match list.and_then(|l| l.bounded(base.as_deref(), ty)) {
                Some(field) => {
                    arg.field = Some(field.clone());
                    class(
                        &mut arg,
                        bound,
                        format!(
                            "{which} on `{field}`, from its name: the list elements have \
                             `{field}`; inclusive or not is unknown (default inclusive)"
                        ),
                    );
                }
                None => {
                    let member = match &base {
                        Some(base) => format!("a `{base}` member"),
                        None => "one member of its type".into(),
                    };
                    notes.push(Note::Not(format!(
                        "{which}: named like one, but no list answer's elements have {member}"
                    )));
                }
            }
        }
        if arg.class.is_some() || notes.iter().any(|n| matches!(n, Note::Not(_))) {
            return (arg, notes);
        }
        let hits = a.values.hits();
        let distinct = a.values.values.len();
        let keyish = matches!(ty, Type::String | Type::Integer | Type::Array);
        if ty == Type::String && is_search(name) {
            arg.class = Some(Class::SearchText);
            notes.push(Note::Guess("search_text, from its name".into()));
        } else if keyish && hits > 0 && 2 * hits >= distinct {
            arg.class = Some(Class::Id);
            notes.push(Note::Guess(format!(
                "id: {hits} of the {distinct} distinct values sampled are keys of requests"
            )));
        } else if ty == Type::String {
            let short = a.values.complete() && !a.long_text;
            let values = a.values.in_order();
            if short && distinct == 1 {
                let (value, seen) = values[0];
                notes.push(Note::Guess(format!(
                    "no class: one value only was seen, {} (in {} requests); an enum? \
                     then declare class = \"enum\" and every value it takes",
                    write::quote(value),
                    seen.count
                )));
            } else if short && (2..=ENUM_VALUES).contains(&distinct) && a.strings >= ENUM_REQUESTS {
                arg.class = Some(Class::Enum);
                arg.values = values
                    .iter()
                    .map(|(v, _)| Value::String((*v).clone()))
                    .collect();
                let counts: Vec<String> = values
                    .iter()
                    .map(|(v, s)| format!("{} {}", write::quote(v), s.count))
                    .collect();
                notes.push(Note::Guess(format!(
                    "enum: {distinct} distinct short values without spaces in {} requests ({}); \
                     add any value the traffic missed",
                    a.strings,
                    counts.join(", ")
                )));
            } else {
                let why = if short && (2..=ENUM_VALUES).contains(&distinct) {
                    format!(
                        "; {distinct} distinct values in only {} requests: too few to call it an enum",
                        a.strings
                    )
                } else {
                    String::new()
                };
                arg.class = Some(Class::FreeText);
                notes.push(Note::Guess(format!(
                    "free_text: text with no other class{why}"
                )));
            }
        }
        (arg, notes)
    }
}
