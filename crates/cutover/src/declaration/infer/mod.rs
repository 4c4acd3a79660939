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

mod args;
mod lists;
mod ops;
mod sample;
mod write;

#[cfg(test)]
mod tests;

use super::{Declaration, VERSION};
use crate::cassette::{ErrorKind, Outcome, Request};
use ops::OpStat;
use std::collections::{BTreeMap, BTreeSet};

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
