//! What the diff reads of a value: [`Tree`]. serde_json's `Value` is one (the replay's
//! outcomes and states, after the rules); the borrowed [`Node`](super::Node) that
//! [`parse`](super::parse) builds straight from a document's text is the other
//! (`cutover diff`). The diff, [`deep_eq`](super::deep_eq) and
//! [`fingerprint`](super::fingerprint) are written once, over this trait, so both give the
//! same verdict on the same document.

use serde_json::{Map, Value};

/// One value as the diff sees it: a number as its exact text, a string decoded, an array
/// as a slice, an object as its members in document order.
pub enum View<'v, T: Tree + 'v> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number's text, as written.
    Number(&'v str),
    /// A string, decoded.
    String(&'v str),
    /// An array's items.
    Array(&'v [T]),
    /// An object's members.
    Object(T::Members<'v>),
}

/// A JSON value the diff can walk.
pub trait Tree: Sized {
    /// An object's members.
    type Members<'v>: Members<'v, Self>
    where
        Self: 'v;

    /// What this value is.
    fn view(&self) -> View<'_, Self>;

    /// This value as serde_json's, for a divergence's `left` and `right`: only divergent
    /// values are converted.
    fn to_json(&self) -> Value;
}

/// An object's members, in document order, each key once.
pub trait Members<'v, T: 'v>: Copy {
    /// How many members.
    fn len(self) -> usize;
    /// True when there is no member.
    fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// The members, in document order.
    fn iter(self) -> impl Iterator<Item = (&'v str, &'v T)>;
    /// The value of `key`.
    fn get(self, key: &str) -> Option<&'v T>;
}

impl Tree for Value {
    type Members<'v> = &'v Map<String, Value>;

    #[inline]
    fn view(&self) -> View<'_, Self> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(n.as_str()),
            Value::String(s) => View::String(s),
            Value::Array(items) => View::Array(items),
            Value::Object(map) => View::Object(map),
        }
    }

    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl<'v> Members<'v, Value> for &'v Map<String, Value> {
    #[inline]
    fn len(self) -> usize {
        Map::len(self)
    }

    #[inline]
    fn iter(self) -> impl Iterator<Item = (&'v str, &'v Value)> {
        Map::iter(self).map(|(k, v)| (k.as_str(), v))
    }

    #[inline]
    fn get(self, key: &str) -> Option<&'v Value> {
        Map::get(self, key)
    }
}
