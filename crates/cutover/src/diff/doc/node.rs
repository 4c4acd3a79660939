//! [`Node`]: one value of a parsed document in 16 bytes, and [`Member`]: one object member
//! in 32. A large document is mostly nodes and members, so their size is its memory: a
//! `&str` or a slice is 16 bytes on its own, and an enum of them 24. Here a node is a
//! pointer, a 32-bit length and a tag; the pointer and length were always taken from a
//! `&'a str` or `&'a [T]` (the document's text, or the arena), and are given back as one.
//! That is the only `unsafe` in this module, each use beside the constructor it relies on.

use super::super::tree::{Members, Tree, View};
use serde_json::Value;
use std::marker::PhantomData;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Tag {
    Null,
    False,
    True,
    /// `ptr`/`len`: the number's text (UTF-8).
    Number,
    /// `ptr`/`len`: the decoded string (UTF-8).
    String,
    /// `ptr`/`len`: a slice of nodes.
    Array,
    /// `ptr`/`len`: a slice of members, in document order.
    Object,
    /// `ptr`: an [`Indexed`] object (a large one); `len` unused.
    Indexed,
}

/// One value of a parsed document; it borrows the text and the arena for `'a`.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    ptr: *const u8,
    len: u32,
    tag: Tag,
    _borrows: PhantomData<&'a str>,
}

/// One member of an object: its key (decoded) and value.
#[derive(Clone, Copy)]
pub struct Member<'a> {
    key_ptr: *const u8,
    key_len: u32,
    /// The member's value.
    pub value: Node<'a>,
}

/// A large object: its members and their positions sorted by key.
pub(super) struct Indexed<'a> {
    pub(super) members: &'a [Member<'a>],
    pub(super) by_key: &'a [u32],
}

// SAFETY: a node and a member are shared borrows of `str`, `[Node]`, `[Member]` and
// `Indexed` data, all of which is `Sync`, so they are `Send` and `Sync` as those borrows are.
unsafe impl Send for Node<'_> {}
unsafe impl Sync for Node<'_> {}
unsafe impl Send for Member<'_> {}
unsafe impl Sync for Member<'_> {}

/// The most a length may be: the parser refuses larger documents.
pub(super) const MAX_LEN: usize = u32::MAX as usize;

impl<'a> Node<'a> {
    const fn of(tag: Tag) -> Self {
        Node {
            ptr: std::ptr::null(),
            len: 0,
            tag,
            _borrows: PhantomData,
        }
    }

    /// `null`.
    pub const NULL: Node<'static> = Node::of(Tag::Null);

    /// `true` or `false`.
    pub fn bool(b: bool) -> Self {
        Node::of(if b { Tag::True } else { Tag::False })
    }

    /// A number, by its text (which the caller checked is a JSON number).
    pub(super) fn number(text: &'a str) -> Self {
        Self::text(Tag::Number, text)
    }

    /// A string, decoded.
    pub(super) fn string(text: &'a str) -> Self {
        Self::text(Tag::String, text)
    }

    fn text(tag: Tag, text: &'a str) -> Self {
        Self::slice(tag, text.as_bytes())
    }

    /// An array of `items`.
    pub(super) fn array(items: &'a [Node<'a>]) -> Self {
        Self::slice(Tag::Array, items)
    }

    /// An object of `members`, each key once, searched in order.
    pub(super) fn object(members: &'a [Member<'a>]) -> Self {
        Self::slice(Tag::Object, members)
    }

    /// A node of `tag` over `items` (bytes of UTF-8 text, nodes or members, as `tag` says).
    fn slice<T>(tag: Tag, items: &'a [T]) -> Self {
        debug_assert!(items.len() <= MAX_LEN);
        Node {
            ptr: items.as_ptr().cast(),
            len: items.len() as u32,
            tag,
            _borrows: PhantomData,
        }
    }

    /// A large object, with its index.
    pub(super) fn indexed(object: &'a Indexed<'a>) -> Self {
        Node {
            ptr: (object as *const Indexed<'a>).cast(),
            len: 0,
            tag: Tag::Indexed,
            _borrows: PhantomData,
        }
    }

    /// The text of a number or a string.
    #[inline]
    fn str(&self) -> &'a str {
        debug_assert!(matches!(self.tag, Tag::Number | Tag::String));
        // SAFETY: `text` built this node (through `slice`) from a `&'a str` of `len` bytes
        // at `ptr`.
        unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr, self.len as usize))
        }
    }

    /// The items of an array.
    #[inline]
    fn items(&self) -> &'a [Node<'a>] {
        debug_assert_eq!(self.tag, Tag::Array);
        // SAFETY: `array` built this node (through `slice`) from a `&'a [Node<'a>]` of `len`
        // items at `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len as usize) }
    }

    /// The members of an object, in document order, and the index of a large one.
    #[inline]
    pub fn members(&self) -> Option<Object<'a>> {
        match self.tag {
            // SAFETY: `object` built this node (through `slice`) from a `&'a [Member<'a>]` of
            // `len` members.
            Tag::Object => Some(Object {
                members: unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len as usize) },
                by_key: &[],
            }),
            Tag::Indexed => {
                // SAFETY: `indexed` built this node from a `&'a Indexed<'a>`.
                let indexed: &'a Indexed<'a> = unsafe { &*self.ptr.cast::<Indexed<'a>>() };
                Some(Object {
                    members: indexed.members,
                    by_key: indexed.by_key,
                })
            }
            _ => None,
        }
    }
}

impl<'a> Member<'a> {
    /// A member: `key` (decoded) and its value.
    pub(super) fn new(key: &'a str, value: Node<'a>) -> Self {
        debug_assert!(key.len() <= MAX_LEN);
        Member {
            key_ptr: key.as_ptr(),
            key_len: key.len() as u32,
            value,
        }
    }

    /// The key, decoded.
    #[inline]
    pub fn key(&self) -> &'a str {
        // SAFETY: `new` built this member from a `&'a str` of `key_len` bytes at `key_ptr`.
        unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                self.key_ptr,
                self.key_len as usize,
            ))
        }
    }
}

/// An object's members, with the index of a large one.
#[derive(Clone, Copy)]
pub struct Object<'a> {
    members: &'a [Member<'a>],
    /// Positions of `members` sorted by key; empty for a small object (searched in order).
    by_key: &'a [u32],
}

impl<'a> Object<'a> {
    /// The members, in document order.
    #[inline]
    pub fn members(&self) -> &'a [Member<'a>] {
        self.members
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        let members = self.members;
        if self.by_key.is_empty() {
            return members.iter().find(|m| m.key() == key).map(|m| &m.value);
        }
        self.by_key
            .binary_search_by(|&i| members[i as usize].key().cmp(key))
            .ok()
            .map(|p| &members[self.by_key[p] as usize].value)
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl<'a> Tree for Node<'a> {
    type Members<'v>
        = Object<'a>
    where
        Self: 'v;

    #[inline]
    fn view(&self) -> View<'_, Self> {
        match self.tag {
            Tag::Null => View::Null,
            Tag::False => View::Bool(false),
            Tag::True => View::Bool(true),
            Tag::Number => View::Number(self.str()),
            Tag::String => View::String(self.str()),
            Tag::Array => View::Array(self.items()),
            Tag::Object | Tag::Indexed => match self.members() {
                Some(object) => View::Object(object),
                None => View::Null,
            },
        }
    }

    fn to_json(&self) -> Value {
        match self.view() {
            View::Null => Value::Null,
            View::Bool(b) => Value::Bool(b),
            // The text was checked as a JSON number when it was parsed.
            View::Number(n) => serde_json::from_str(n).unwrap_or(Value::Null),
            View::String(s) => Value::String(s.to_owned()),
            View::Array(items) => Value::Array(items.iter().map(Tree::to_json).collect()),
            View::Object(object) => Value::Object(
                object
                    .members
                    .iter()
                    .map(|m| (m.key().to_owned(), m.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'v, 'a: 'v> Members<'v, Node<'a>> for Object<'a> {
    #[inline]
    fn len(self) -> usize {
        self.members.len()
    }

    #[inline]
    fn iter(self) -> impl Iterator<Item = (&'v str, &'v Node<'a>)> {
        self.members.iter().map(|m| (m.key(), &m.value))
    }

    #[inline]
    fn get(self, key: &str) -> Option<&'v Node<'a>> {
        Object::get(&self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_16_bytes_and_a_member_32() {
        assert_eq!(std::mem::size_of::<Node<'_>>(), 16);
        assert_eq!(std::mem::size_of::<Member<'_>>(), 32);
    }
}
