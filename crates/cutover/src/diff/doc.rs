//! A JSON document parsed for comparison: [`Node`], a tree that borrows its strings and
//! numbers from the document's text and keeps its arrays and objects in one arena.
//!
//! serde_json's `Value` (with `arbitrary_precision` and `preserve_order`, which the rest of
//! cutover needs) allocates every string and every number's text on its own, and hashes
//! every object key into an `IndexMap`. A document parsed only to be compared needs none of
//! that: here a string without escapes and every number are slices of the text, an escaped
//! string is decoded once into the arena, and an object is a slice of members in document
//! order (with a sorted index when it has many). The scanning is `jiter`'s.
//!
//! What is kept is what the diff compares, exactly as serde_json keeps it:
//!
//! * a number's text, as written (`9007199254740993`, `1.50`, `1e400`);
//! * members in document order; a key given twice keeps its first place and its last value;
//! * the same documents accepted and refused, nesting up to [`MAX_DEPTH`] deep.
//!
//! A test in `tests.rs` holds this against serde_json on generated documents.

mod node;

pub use node::{Member, Node, Object};

use bumpalo::Bump;
use jiter::{Jiter, JiterError, Peek};
use node::{Indexed, MAX_LEN};
use std::fmt;

/// The deepest nesting accepted: serde_json refuses a 128th level.
pub const MAX_DEPTH: usize = 127;

/// Objects with more members than this get a sorted index for lookups by key.
const INDEXED: usize = 16;

/// Why a document could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// The column (in characters), from 1.
    pub column: usize,
    /// What was wrong there.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one JSON document (surrounded by whitespace at most) into `arena`.
pub fn parse<'a>(text: &'a str, arena: &'a Bump) -> Result<Node<'a>, ParseError> {
    if text.len() > MAX_LEN {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: format!("a document of more than {MAX_LEN} bytes"),
        });
    }
    let mut parser = Parser {
        text,
        arena,
        jiter: Jiter::new(text.as_bytes()),
        items: Vec::new(),
        members: Vec::new(),
    };
    let root = parser.document();
    root.map_err(|e| {
        let position = parser.jiter.error_position(e.index);
        ParseError {
            line: position.line,
            column: position.column,
            message: e.error_type,
        }
    })
}

enum Failure {
    Json(JiterError),
    /// Nesting beyond [`MAX_DEPTH`], at this index.
    TooDeep(usize),
}

impl From<JiterError> for Failure {
    fn from(e: JiterError) -> Self {
        Failure::Json(e)
    }
}

struct Parser<'a> {
    text: &'a str,
    arena: &'a Bump,
    jiter: Jiter<'a>,
    /// The items of the arrays being parsed, innermost last.
    items: Vec<Node<'a>>,
    /// The members of the objects being parsed, innermost last.
    members: Vec<Member<'a>>,
}

/// A failure with its index in the text.
struct Located {
    error_type: String,
    index: usize,
}

impl<'a> Parser<'a> {
    fn document(&mut self) -> Result<Node<'a>, Located> {
        let result = self.jiter.peek().map_err(Failure::from).and_then(|peek| {
            let root = self.value(peek, 0)?;
            self.jiter.finish()?;
            Ok(root)
        });
        result.map_err(|failure| match failure {
            Failure::Json(e) => Located {
                error_type: e.error_type.to_string(),
                index: e.index,
            },
            Failure::TooDeep(index) => Located {
                error_type: "recursion limit exceeded".into(),
                index,
            },
        })
    }

    fn value(&mut self, peek: Peek, depth: usize) -> Result<Node<'a>, Failure> {
        Ok(match peek {
            Peek::Null => {
                self.jiter.known_null()?;
                Node::NULL
            }
            Peek::True | Peek::False => Node::bool(self.jiter.known_bool(peek)?),
            Peek::String => {
                let s = self.jiter.known_str()?;
                Node::string(keep(self.text, self.arena, s))
            }
            Peek::Array => self.array(depth + 1)?,
            Peek::Object => self.object(depth + 1)?,
            _ => {
                let n = self.jiter.known_number_bytes(peek)?;
                Node::number(keep_bytes(self.text, n))
            }
        })
    }

    fn deeper(&self, depth: usize) -> Result<(), Failure> {
        if depth > MAX_DEPTH {
            return Err(Failure::TooDeep(self.jiter.current_index() + 1));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Node<'a>, Failure> {
        self.deeper(depth)?;
        let start = self.items.len();
        let mut next = self.jiter.known_array()?;
        while let Some(peek) = next {
            let item = self.value(peek, depth)?;
            self.items.push(item);
            next = self.jiter.array_step()?;
        }
        let items = self.arena.alloc_slice_copy(&self.items[start..]);
        self.items.truncate(start);
        Ok(Node::array(items))
    }

    fn object(&mut self, depth: usize) -> Result<Node<'a>, Failure> {
        self.deeper(depth)?;
        let start = self.members.len();
        let mut key = self
            .jiter
            .known_object()?
            .map(|k| keep(self.text, self.arena, k));
        while let Some(k) = key {
            let peek = self.jiter.peek()?;
            let value = self.value(peek, depth)?;
            self.members.push(Member::new(k, value));
            key = self
                .jiter
                .next_key()?
                .map(|k| keep(self.text, self.arena, k));
        }
        let object = object_of(self.arena, &self.members[start..]);
        self.members.truncate(start);
        Ok(object)
    }
}

/// `s` as a slice of `text` when it is one (a string without escapes), else copied into
/// the arena (decoded from escapes into jiter's scratch buffer).
fn keep<'a>(text: &'a str, arena: &'a Bump, s: &str) -> &'a str {
    match within(text, s.as_ptr(), s.len()) {
        Some(start) => &text[start..start + s.len()],
        None => arena.alloc_str(s),
    }
}

/// A number's bytes, which jiter always returns as a slice of the text.
fn keep_bytes<'a>(text: &'a str, n: &[u8]) -> &'a str {
    match within(text, n.as_ptr(), n.len()) {
        Some(start) => &text[start..start + n.len()],
        None => unreachable!("jiter returns a number as a slice of its input"),
    }
}

/// The offset of `len` bytes at `ptr` in `text`, when they lie inside it.
fn within(text: &str, ptr: *const u8, len: usize) -> Option<usize> {
    let (base, p) = (text.as_ptr() as usize, ptr as usize);
    (p >= base && p + len <= base + text.len()).then(|| p - base)
}

/// The object of `members` (in document order) in the arena: a key given twice keeps its
/// first place and takes its last value, as serde_json's map does.
fn object_of<'a>(arena: &'a Bump, members: &[Member<'a>]) -> Node<'a> {
    if members.len() <= INDEXED {
        let twice = (1..members.len()).any(|i| {
            let key = members[i].key();
            members[..i].iter().any(|m| m.key() == key)
        });
        return Node::object(if twice {
            arena.alloc_slice_copy(&first_place_last_value(members))
        } else {
            arena.alloc_slice_copy(members)
        });
    }
    let by_key = |members: &[Member<'a>]| {
        let mut order: Vec<u32> = (0..members.len() as u32).collect();
        order.sort_by(|&a, &b| members[a as usize].key().cmp(members[b as usize].key()));
        order
    };
    let mut order = by_key(members);
    let twice = order
        .windows(2)
        .any(|w| members[w[0] as usize].key() == members[w[1] as usize].key());
    let members: &'a [Member<'a>] = if twice {
        let unique = first_place_last_value(members);
        order = by_key(&unique);
        arena.alloc_slice_copy(&unique)
    } else {
        arena.alloc_slice_copy(members)
    };
    let by_key = arena.alloc_slice_copy(&order);
    Node::indexed(arena.alloc(Indexed { members, by_key }))
}

/// Members with each key once: at its first place, with its last value.
fn first_place_last_value<'a>(members: &[Member<'a>]) -> Vec<Member<'a>> {
    let mut unique: Vec<Member<'a>> = Vec::with_capacity(members.len());
    let mut place: std::collections::HashMap<&str, usize> = Default::default();
    for m in members {
        match place.get(m.key()) {
            Some(&at) => unique[at].value = m.value,
            None => {
                place.insert(m.key(), unique.len());
                unique.push(*m);
            }
        }
    }
    unique
}

#[cfg(test)]
mod tests;
