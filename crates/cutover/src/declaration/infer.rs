//! A draft declaration from a recorded cassette (`cutover domain infer`, the guide's
//! `docs/src/domain.md`): operations, their kind and key, argument types, classes and the
//! ranges seen, the error kinds seen, list element keys and the orders that hold in every
//! recorded answer.
//!
//! The draft never claims more than the traffic shows, and says what each guess rests on: the
//! TOML it writes ([`Draft::to_toml`]) carries a `# guess:` comment above every guess, a
//! `# seen:` comment with what was observed, and a `# not declared:` comment for what looked
//! likely but rests on too little (an order that held in fewer than
//! [`ORDER_ANSWERS`] answers, an enum seen with one value).
//!
//! [`Inferrer`] reads requests one at a time; what it keeps is bounded by the operations ×
//! their arguments and answer members × a capped number of distinct values ([`VALUES`]), plus
//! a capped set of request keys ([`KEYS`]), never by the number of requests.

mod write;

#[cfg(test)]
mod tests;

use super::expect::compare;
use super::path::{get, key_text};
use super::{
    Argument, Class, Declaration, Direction, KeyMode, List, Nulls, Operation, SortKey, Type,
    VERSION,
};
use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use serde_json::{Map, Value};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Distinct values sampled per argument or answer member.
pub const VALUES: usize = 64;
/// Argument names followed per operation; members followed per answer or list element.
pub const MEMBERS: usize = 64;
/// Distinct request keys remembered (to tell an argument whose values are keys, and a write
/// on a key nothing was done to before).
pub const KEYS: usize = 4096;
/// An order is declared only when it held in at least this many answers of 2 elements or
/// more.
pub const ORDER_ANSWERS: u64 = 3;
/// An enum has between 2 and this many values.
pub const ENUM_VALUES: usize = 8;
/// An enum is seen in at least this many requests.
pub const ENUM_REQUESTS: u64 = 10;
/// An enum's values are at most this many characters, without whitespace.
pub const ENUM_LENGTH: usize = 32;
/// Values longer than this (in bytes) are not sampled.
const SAMPLE_LENGTH: usize = 256;

/// A draft declaration, and its text with every guess marked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The declaration the text declares (what [`Declaration::parse`] reads back from it).
    pub declaration: Declaration,
    /// How many `# guess:` comments the text has: the guesses to review.
    pub guesses: usize,
    /// How many requests were read.
    pub requests: u64,
    text: String,
}

impl Draft {
    /// The draft as TOML, every guess preceded by a `# guess:` comment.
    pub fn to_toml(&self) -> &str {
        &self.text
    }
}

/// Drafts the declaration of `domain` from `requests`.
pub fn infer(requests: impl Iterator<Item = Request>, domain: &str) -> Draft {
    let mut inferrer = Inferrer::new(domain);
    for request in requests {
        inferrer.observe(&request);
    }
    inferrer.finish()
}

/// A comment of the draft.
#[derive(Debug, Clone, PartialEq)]
enum Note {
    /// What was observed (`# seen:`).
    Seen(String),
    /// A guess, and what it rests on (`# guess:`).
    Guess(String),
    /// What looked likely but is not declared, and why (`# not declared:`).
    Not(String),
}

/// The comments of one operation, by where they go.
#[derive(Debug, Clone, Default)]
struct OpNotes {
    op: Vec<Note>,
    key: Vec<Note>,
    example: Vec<Note>,
    args: BTreeMap<String, Vec<Note>>,
    errors: BTreeMap<ErrorKind, Vec<Note>>,
    answer: BTreeMap<String, Vec<Note>>,
    list: Vec<Note>,
    list_key: Vec<Note>,
    order: Vec<Note>,
}

/// Reads requests one at a time and drafts their declaration ([`Inferrer::finish`]).
#[derive(Debug)]
pub struct Inferrer {
    domain: String,
    requests: u64,
    ops: Vec<OpStat>,
    index: BTreeMap<String, usize>,
    /// The first [`KEYS`] distinct request keys.
    keys: BTreeSet<String>,
    /// The first [`KEYS`] distinct keys of requests answered ok: keys something was stored
    /// at, or done to.
    touched: BTreeSet<String>,
}

impl Inferrer {
    /// An inferrer for the cassettes of `domain`.
    pub fn new(domain: &str) -> Inferrer {
        Inferrer {
            domain: domain.to_string(),
            requests: 0,
            ops: Vec::new(),
            index: BTreeMap::new(),
            keys: BTreeSet::new(),
            touched: BTreeSet::new(),
        }
    }

    /// Takes one request into account.
    pub fn observe(&mut self, request: &Request) {
        self.requests += 1;
        if let Some(key) = &request.key {
            for op in &mut self.ops {
                op.key_seen(key);
            }
        }
        let i = match self.index.get(&request.op) {
            Some(&i) => i,
            None => {
                self.ops.push(OpStat::new(&request.op));
                self.index.insert(request.op.clone(), self.ops.len() - 1);
                self.ops.len() - 1
            }
        };
        let fresh = request
            .key
            .as_ref()
            .map(|k| self.touched.len() < KEYS && !self.touched.contains(k));
        self.ops[i].observe(request, &self.keys, fresh);
        if let Some(key) = &request.key {
            if self.keys.len() < KEYS {
                self.keys.insert(key.clone());
            }
            let ok = matches!(request.outcome, Some(Outcome::Ok(_)));
            if ok && self.touched.len() < KEYS {
                self.touched.insert(key.clone());
            }
        }
    }

    /// The draft.
    pub fn finish(self) -> Draft {
        let mut header = vec![Note::Seen(format!(
            "{} requests of {} operations",
            self.requests,
            self.ops.len()
        ))];
        let domain = if self.domain.trim().is_empty() {
            header.push(Note::Guess(
                "the cassette's header names no domain: `unnamed` stands for it".into(),
            ));
            "unnamed".to_string()
        } else {
            self.domain.clone()
        };
        let mut ops = Vec::new();
        let mut notes = Vec::new();
        for stat in &self.ops {
            if stat.name.trim().is_empty() {
                header.push(Note::Not(format!(
                    "an operation with the blank name {} ({} requests)",
                    write::quote(&stat.name),
                    stat.requests
                )));
                continue;
            }
            let (op, op_notes) = stat.draft();
            ops.push(op);
            notes.push(op_notes);
        }
        let declaration = Declaration {
            domain,
            version: VERSION,
            stored: Vec::new(),
            ops,
        };
        let text = write::render(&header, &declaration, &notes);
        let guesses = text
            .lines()
            .filter(|l| l.trim_start().starts_with("# guess:"))
            .count();
        Draft {
            declaration,
            guesses,
            requests: self.requests,
            text,
        }
    }
}

/// Distinct values (as key text) seen, the first [`VALUES`] of them.
#[derive(Debug, Default)]
struct Sample {
    values: BTreeMap<String, Seen>,
    /// More distinct values were seen than are kept.
    overflow: bool,
    /// A value too long to be sampled was seen.
    long: bool,
}

#[derive(Debug)]
struct Seen {
    /// The order in which it was first seen.
    first: usize,
    /// How many times it was seen.
    count: u64,
    /// It is (or later was) the key of a request.
    key: bool,
}

impl Sample {
    fn add(&mut self, text: &str, keys: &BTreeSet<String>) {
        if text.len() > SAMPLE_LENGTH {
            self.long = true;
            return;
        }
        if let Some(seen) = self.values.get_mut(text) {
            seen.count += 1;
        } else if self.values.len() < VALUES {
            let first = self.values.len();
            let key = keys.contains(text);
            self.values.insert(
                text.to_string(),
                Seen {
                    first,
                    count: 1,
                    key,
                },
            );
        } else {
            self.overflow = true;
        }
    }

    fn key_seen(&mut self, key: &str) {
        if let Some(seen) = self.values.get_mut(key) {
            seen.key = true;
        }
    }

    /// How many sampled values are keys of requests.
    fn hits(&self) -> usize {
        self.values.values().filter(|s| s.key).count()
    }

    /// Every distinct value was sampled.
    fn complete(&self) -> bool {
        !self.overflow && !self.long
    }

    /// The values in the order first seen.
    fn in_order(&self) -> Vec<(&String, &Seen)> {
        let mut values: Vec<_> = self.values.iter().collect();
        values.sort_by_key(|(_, s)| s.first);
        values
    }
}

/// The least and greatest of something, with its text.
#[derive(Debug, Clone, Default)]
struct Range<T> {
    min: Option<(T, String)>,
    max: Option<(T, String)>,
}

impl<T: PartialOrd + Clone> Range<T> {
    fn add(&mut self, value: T, text: impl Fn() -> String) {
        if self.min.as_ref().is_none_or(|(m, _)| value < *m) {
            self.min = Some((value.clone(), text()));
        }
        if self.max.as_ref().is_none_or(|(m, _)| value > *m) {
            self.max = Some((value, text()));
        }
    }

    fn text(&self) -> Option<String> {
        match (&self.min, &self.max) {
            (Some((_, a)), Some((_, b))) if a == b => Some(format!("always {a}")),
            (Some((_, a)), Some((_, b))) => Some(format!("{a} to {b}")),
            _ => None,
        }
    }
}

/// What was seen of one argument.
#[derive(Debug, Default)]
struct ArgStat {
    /// Requests where it was present and not null.
    present: u64,
    strings: u64,
    timestamps: u64,
    integers: u64,
    floats: u64,
    booleans: u64,
    objects: u64,
    arrays: u64,
    /// Every string was short and without whitespace.
    long_text: bool,
    numbers: Range<f64>,
    instants: Range<chrono::DateTime<chrono::FixedOffset>>,
    lengths: Range<usize>,
    array_lengths: Range<usize>,
    values: Sample,
}

impl ArgStat {
    fn add(&mut self, value: &Value, keys: &BTreeSet<String>) {
        match value {
            Value::Null => return,
            Value::String(s) => {
                self.strings += 1;
                let chars = s.chars().count();
                self.lengths.add(chars, || chars.to_string());
                if chars > ENUM_LENGTH || s.chars().any(char::is_whitespace) {
                    self.long_text = true;
                }
                if let Ok(at) = chrono::DateTime::parse_from_rfc3339(s) {
                    self.timestamps += 1;
                    self.instants.add(at, || s.clone());
                }
                self.values.add(s, keys);
            }
            Value::Number(n) => {
                if n.is_i64() || n.is_u64() {
                    self.integers += 1;
                    self.values.add(&n.to_string(), keys);
                } else {
                    self.floats += 1;
                }
                if let Some(f) = n.as_f64() {
                    self.numbers.add(f, || n.to_string());
                }
            }
            Value::Bool(_) => self.booleans += 1,
            Value::Object(_) => self.objects += 1,
            Value::Array(items) => {
                self.arrays += 1;
                self.array_lengths
                    .add(items.len(), || items.len().to_string());
                for item in items {
                    if let Some(text) = item.as_str().map(str::to_string).or_else(|| {
                        item.as_number()
                            .filter(|n| n.is_i64() || n.is_u64())
                            .map(|n| n.to_string())
                    }) {
                        self.values.add(&text, keys);
                    }
                }
            }
        }
        self.present += 1;
    }

    /// The type of every value seen; `any` when they differ or none was seen.
    fn ty(&self) -> Type {
        let numbers = self.integers + self.floats;
        let kinds = [
            self.strings,
            numbers,
            self.booleans,
            self.objects,
            self.arrays,
        ];
        if kinds.iter().filter(|&&n| n > 0).count() != 1 {
            return Type::Any;
        }
        if self.strings > 0 {
            if self.timestamps == self.strings {
                Type::Timestamp
            } else {
                Type::String
            }
        } else if numbers > 0 {
            if self.floats > 0 {
                Type::Number
            } else {
                Type::Integer
            }
        } else if self.booleans > 0 {
            Type::Boolean
        } else if self.objects > 0 {
            Type::Object
        } else {
            Type::Array
        }
    }

    /// What was seen of its values, for a `# seen:` comment.
    fn seen(&self, ty: Type) -> Option<String> {
        match ty {
            Type::Integer | Type::Number => self.numbers.text().map(|r| format!("values {r}")),
            Type::Timestamp => self.instants.text().map(|r| format!("instants {r}")),
            Type::String => {
                let distinct = match self.values.complete() {
                    true => format!("{} distinct values", self.values.values.len()),
                    false => format!("more than {} distinct values", self.values.values.len()),
                };
                let lengths = self.lengths.text().unwrap_or_default();
                Some(format!("{distinct}, {lengths} characters long"))
            }
            Type::Array => self.array_lengths.text().map(|r| format!("{r} elements")),
            _ => None,
        }
    }
}

/// What was seen of one operation.
#[derive(Debug)]
struct OpStat {
    name: String,
    requests: u64,
    reads: u64,
    writes: u64,
    /// Requests with a key.
    keyed: u64,
    /// Requests whose `args` is not an object.
    odd_args: u64,
    args: BTreeMap<String, ArgStat>,
    /// Argument names beyond [`MEMBERS`], not followed.
    dropped_args: BTreeSet<String>,
    ok: u64,
    errors: BTreeMap<ErrorKind, u64>,
    unrecorded: u64,
    /// The first ok request's arguments TOML can hold, when keyed on a key no earlier
    /// request was answered ok on: (seq, arguments, keyed).
    example: Option<(u64, Value, bool)>,
    answers: Answers,
}

impl OpStat {
    fn new(name: &str) -> OpStat {
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
        }
    }

    fn key_seen(&mut self, key: &str) {
        for arg in self.args.values_mut() {
            arg.values.key_seen(key);
        }
        for member in self.answers.members.values_mut() {
            member.values.key_seen(key);
        }
    }

    /// `fresh`: for a keyed request, whether no request on its key was answered ok before
    /// (`false` when that is not known).
    fn observe(&mut self, r: &Request, keys: &BTreeSet<String>, fresh: Option<bool>) {
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
                if self.example.is_none() && r.kind == Kind::Write && fresh != Some(false) {
                    if let Some(args) = example(&r.args) {
                        self.example = Some((r.seq, args, fresh.is_some()));
                    }
                }
            }
        }
    }

    /// The operation as drafted, and its comments.
    fn draft(&self) -> (Operation, OpNotes) {
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

    fn key_mode(&self, kind: Kind, notes: &mut OpNotes) -> (KeyMode, Option<String>) {
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

    /// The argument `name` as drafted, and its comments.
    fn argument(&self, name: &str, a: &ArgStat, list: Option<&ListStat>) -> (Argument, Vec<Note>) {
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

/// What was seen of one operation's ok answers.
#[derive(Debug, Default)]
struct Answers {
    /// Answers that are objects.
    objects: u64,
    /// Answers that are arrays.
    arrays: u64,
    /// Members of object answers (the first [`MEMBERS`]).
    members: BTreeMap<String, MemberStat>,
    list: ListStat,
}

#[derive(Debug, Default)]
struct MemberStat {
    /// Answers where it holds a key (a string or a number).
    keys: u64,
    /// Answers where it is `true` or `false`.
    booleans: u64,
    /// Its values (keys), to tell which were later keys of requests.
    values: Sample,
}

impl Answers {
    fn observe(&mut self, answer: &Value, keys: &BTreeSet<String>) {
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
    fn list_answers(&self, ok: u64) -> bool {
        ok > 0 && self.arrays == ok
    }

    /// The member of the `ok` answers holding a generated key, and why.
    fn generated(&self, ok: u64) -> Option<(String, String)> {
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
    fn booleans(&self, ok: u64) -> Vec<(String, String)> {
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
struct ListStat {
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
struct ElementMember {
    numbers: u64,
    strings: u64,
    timestamps: u64,
}

#[derive(Debug, Default)]
struct KeyCandidate {
    /// Some element lacked it (or held no string or number there).
    missing: bool,
    /// Two elements of one answer held the same value.
    repeated: bool,
}

impl KeyCandidate {
    fn holds(&self) -> bool {
        !self.missing && !self.repeated
    }
}

/// Whether a member's values are sorted in every answer.
#[derive(Debug)]
struct OrderStat {
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
    fn observe(&mut self, items: &[Value]) {
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
                self.orders.insert(
                    name.clone(),
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
                    },
                );
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
    fn bounded(&self, base: Option<&str>, ty: Type) -> Option<String> {
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
    fn draft(&self, notes: &mut OpNotes) -> List {
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

    fn order(&self, list: &mut List, notes: &mut OpNotes) {
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
    fn observe(&mut self, name: &str, items: &[Value]) {
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

/// A member name a path can reach: not blank, no dots, no `$` start.
fn usable_name(name: &str) -> bool {
    !name.trim().is_empty() && !name.contains('.') && !name.starts_with('$')
}

/// The arguments of a request as an example: an object TOML can hold (its null members
/// dropped, numbers as TOML reads them back), or `None`.
fn example(args: &Value) -> Option<Value> {
    let Value::Object(map) = args else {
        return None;
    };
    let mut out = Map::new();
    for (name, value) in map.iter().filter(|(_, v)| !v.is_null()) {
        out.insert(name.clone(), write::tomlable(value)?);
    }
    Some(Value::Object(out))
}

fn is_limit(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "limit" | "page_size" | "pagesize" | "per_page"
    ) || name.ends_with("_limit")
}

fn is_offset(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "offset" | "skip") || name.ends_with("_offset")
}

fn is_search(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "search" | "query" | "q" | "prefix")
        || ["_search", "_query", "_prefix"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// A bound's class from its name, and the member it bounds when the name says it
/// (`due_from`: `due`; `minPrice`: `price`; `from`: none).
fn bound_name(name: &str) -> Option<(Class, Option<String>)> {
    const LOWER: (&[&str], &[&str]) = (
        &["from", "after", "since", "min"],
        &["_from", "_after", "_since", "_min", "_gte", "_gt"],
    );
    const UPPER: (&[&str], &[&str]) = (
        &["to", "before", "until", "max"],
        &["_to", "_before", "_until", "_max", "_lte", "_lt"],
    );
    for (class, (exact, suffixes), prefix) in [
        (Class::LowerBound, LOWER, "min"),
        (Class::UpperBound, UPPER, "max"),
    ] {
        if exact.contains(&name) {
            return Some((class, None));
        }
        for suffix in suffixes {
            if let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty()) {
                return Some((class, Some(base.to_string())));
            }
        }
        if let Some(rest) = name.strip_prefix(prefix) {
            if let Some(base) = rest.strip_prefix('_').filter(|b| !b.is_empty()) {
                return Some((class, Some(base.to_string())));
            }
            let mut chars = rest.chars();
            if let Some(first) = chars.next().filter(char::is_ascii_uppercase) {
                let base: String = first.to_ascii_lowercase().to_string() + chars.as_str();
                return Some((class, Some(base)));
            }
        }
    }
    None
}
