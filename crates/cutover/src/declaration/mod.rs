//! Domain declarations: a TOML file (or the same structure in an adapter's handshake) that
//! says what a domain's operations are, from which coverage ([`features`]), probes
//! ([`probes`]) and `check-target`'s expectations ([`expect`]) are derived for any domain,
//! a team's own or a built-in one. The format is the guide's `docs/src/domain.md`.
//!
//! A [`Declaration`] is parsed and checked whole ([`Declaration::parse`]): every reference
//! inside it (an argument an error names, a bound's field, a generated key) is resolved, so
//! the stages that read it never meet a dangling name. Errors say the file, the line of the
//! operation and what was expected ([`DeclarationError`]).

pub mod expect;
pub mod features;
pub mod infer;
pub mod path;
pub mod probes;
mod provoke;
mod sequences;
mod stored;
#[cfg(test)]
mod tests;
mod validate;

pub use features::Observer;
pub use provoke::Provoke;

use crate::cassette::{ErrorKind, Kind};
use crate::probe::Probe;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The declaration format version this module reads.
pub const VERSION: u32 = 1;

/// A domain, declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The domain's name, as cassette headers and handshakes write it.
    pub domain: String,
    /// The format version (1).
    #[serde(default = "version_one")]
    pub version: u32,
    /// Names of stored-data features a built-in domain's own code observes (`"data: NAME"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<String>,
    /// The operations, in the order reports list them.
    #[serde(rename = "op", default)]
    pub ops: Vec<Operation>,
}

fn version_one() -> u32 {
    VERSION
}

/// Which aggregate a request of an operation touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    /// The request's `key` names it.
    Keyed,
    /// It spans aggregates; `key` is null.
    Keyless,
    /// A create whose key the store chooses; the answer carries it at `generated_key`. Its
    /// `key` in a cassette is the id the recorded store chose, or null (then the recorded
    /// answer names it); a replay sends it without a key
    /// ([`crate::targets::identity`]).
    Generated,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The cassette's `op`.
    pub name: String,
    /// Read or write.
    pub kind: Kind,
    /// Which aggregate it touches.
    pub key: KeyMode,
    /// `generated` only: the answer member (a dotted path) that holds the new key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_key: Option<String>,
    /// Arguments of a valid request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// The arguments, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Argument>,
    /// The error kinds a valid request can raise, each with how a probe provokes it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<ErrorKind, String>,
    /// The answer is a list: its elements' identity and order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<List>,
    /// Members of an object answer whose values are features.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answer: BTreeMap<String, Argument>,
    /// Features a built-in domain's own code observes (`"argument: NAME"`, `"data: NAME"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// The type of an argument's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    /// A JSON string.
    String,
    /// A JSON integer.
    Integer,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// RFC 3339 text.
    Timestamp,
    /// A JSON object.
    Object,
    /// A JSON array (a class applies to each element).
    Array,
    /// Anything.
    #[default]
    Any,
}

/// What an argument's value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The key of a stored aggregate.
    Id,
    /// Text stored as given.
    FreeText,
    /// Text matched against stored text.
    SearchText,
    /// One of `values`.
    Enum,
    /// A lower bound on `field`.
    LowerBound,
    /// An upper bound on `field`.
    UpperBound,
    /// How many elements at most.
    Limit,
    /// How many elements to skip.
    Offset,
}

/// One argument (or answer member).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argument {
    /// Its type.
    #[serde(rename = "type", default)]
    pub ty: Type,
    /// What it means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// `enum` only: every accepted value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    /// Bounds only: the member of stored aggregates and list elements bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Bounds only: whether a value equal to the bound matches (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusive: Option<bool>,
    /// Numbers only: the smallest value accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Numbers only: the largest value accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Whether it may be absent or null.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl Argument {
    /// Whether `n` is within the declared `min` and `max`.
    pub fn accepts(&self, n: i64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

/// A list answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    /// The member identifying an element (a dotted path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The declared order; the last entry breaks ties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<SortKey>,
}

/// One entry of a declared order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortKey {
    /// The member sorted by (a dotted path).
    pub by: String,
    /// Ascending or descending.
    #[serde(default)]
    pub direction: Direction,
    /// Where nulls sort; `None`: no claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls: Option<Nulls>,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Where nulls sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value.
    Last,
}

/// A declaration that cannot be used: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {what}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct DeclarationError {
    /// The file (or `handshake of ADAPTER`).
    pub origin: String,
    /// The line, when known.
    pub line: Option<usize>,
    /// What is wrong, and what was expected.
    pub what: String,
}

impl Declaration {
    /// The identity member of each list operation that declares one (`list.key`), by
    /// operation name: what a replay aligns the operation's answer by.
    pub fn list_keys(&self) -> std::collections::BTreeMap<String, String> {
        self.ops
            .iter()
            .filter_map(|op| {
                let key = op.list.as_ref()?.key.clone()?;
                Some((op.name.clone(), key))
            })
            .collect()
    }

    /// The declared order of each list operation that declares one (`list.order`), as
    /// text (`due asc, id asc`): an order a suggested `unordered` must never accept.
    pub fn list_orders(&self) -> std::collections::BTreeMap<String, String> {
        self.ops
            .iter()
            .filter_map(|op| {
                let order = &op.list.as_ref()?.order;
                let keys: Vec<String> = order
                    .iter()
                    .map(|k| format!("{} {:?}", k.by, k.direction).to_lowercase())
                    .collect();
                (!keys.is_empty()).then(|| (op.name.clone(), keys.join(", ")))
            })
            .collect()
    }

    /// Parses and checks TOML `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Declaration, DeclarationError> {
        let declaration: Declaration = toml::from_str(text).map_err(|e| DeclarationError {
            origin: origin.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            what: e.message().trim().to_string(),
        })?;
        declaration.check().map_err(|(op, what)| DeclarationError {
            origin: origin.to_string(),
            line: op.and_then(|op| op_line(text, &op)),
            what,
        })?;
        Ok(declaration)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Declaration, DeclarationError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DeclarationError {
            origin: origin.clone(),
            line: None,
            what: format!("cannot read: {e}"),
        })?;
        Declaration::parse(&text, &origin)
    }

    /// The declaration an adapter sent in its handshake: TOML text, or the same structure
    /// as a JSON object.
    pub fn from_handshake(value: &Value, origin: &str) -> Result<Declaration, DeclarationError> {
        if let Value::String(text) = value {
            return Declaration::parse(text, origin);
        }
        let declaration: Declaration =
            serde_json::from_value(value.clone()).map_err(|e| DeclarationError {
                origin: origin.to_string(),
                line: None,
                what: e.to_string(),
            })?;
        declaration.check().map_err(|(_, what)| DeclarationError {
            origin: origin.to_string(),
            line: None,
            what,
        })?;
        Ok(declaration)
    }

    /// The operation named `name`.
    pub fn op(&self, name: &str) -> Option<&Operation> {
        self.ops.iter().find(|o| o.name == name)
    }

    /// The generated keys this declaration names, for [`crate::targets::identity`]: each
    /// generated create with its `generated_key`, each operation's `id` arguments, and the
    /// answer members marked `id`.
    pub fn generated(&self) -> crate::targets::identity::Generated {
        let creates = self
            .ops
            .iter()
            .filter(|o| o.key == KeyMode::Generated)
            .filter_map(|o| Some((o.name.clone(), o.generated_key.clone()?)))
            .collect();
        let id_args = self
            .ops
            .iter()
            .map(|o| {
                let ids = o.args.iter().filter(|(_, a)| a.class == Some(Class::Id));
                (o.name.clone(), ids.map(|(name, _)| name.clone()).collect())
            })
            .filter(|(_, ids): &(String, Vec<String>)| !ids.is_empty())
            .collect();
        let id_members = self
            .ops
            .iter()
            .flat_map(|o| &o.answer)
            .filter(|(_, a)| a.class == Some(Class::Id))
            .map(|(name, _)| name.clone())
            .collect();
        crate::targets::identity::Generated {
            creates,
            id_args,
            id_members,
        }
    }

    /// The declaration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a declaration serializes")
    }
}

impl Operation {
    /// The probes that provoke its declared errors: (kind, how), in kind order.
    pub fn provokes(&self) -> Vec<(ErrorKind, Provoke)> {
        self.errors
            .iter()
            .filter_map(|(kind, how)| Some((*kind, Provoke::parse(how).ok()??)))
            .collect()
    }

    /// A probe of this operation: keyed on `key` when the operation is keyed, else keyless.
    pub fn probe(&self, key: Option<&str>, args: Value, why: String) -> Probe {
        Probe {
            key: match self.key {
                KeyMode::Keyed => key.map(str::to_string),
                KeyMode::Keyless | KeyMode::Generated => None,
            },
            op: self.name.clone(),
            kind: self.kind,
            args,
            why,
        }
    }

    /// Its arguments of `class`, by name.
    pub fn args_of(&self, class: Class) -> impl Iterator<Item = (&String, &Argument)> {
        self.args
            .iter()
            .filter(move |(_, a)| a.class == Some(class))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where the operation `name` is named (`name = "..."`).
fn op_line(text: &str, name: &str) -> Option<usize> {
    let quoted = [format!("\"{name}\""), format!("'{name}'")];
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.starts_with("name") && quoted.iter().any(|q| line.contains(q.as_str()))
        })
        .map(|i| i + 1)
}
