//! Locations: where a rule's path selects values in a document, as steps of keys and
//! indices, and the values at them. Shared by every action (`apply.rs`, `mapping.rs`,
//! `sorting.rs`).

use super::Rule;
use serde_json::Value;
use serde_json_path::PathElement;

/// One step of a location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    Key(String),
    Index(usize),
}

/// Where `rule` selects values in `value`, as the diff renders paths.
pub(super) fn rendered_locations(rule: &Rule, value: &Value) -> Vec<String> {
    locations(rule, value).iter().map(|l| render(l)).collect()
}

/// Where `rule` selects values in `value`, by the crate's located query.
pub(super) fn locations(rule: &Rule, value: &Value) -> Vec<Vec<Place>> {
    rule.path
        .query_located(value)
        .iter()
        .map(|node| {
            node.location()
                .iter()
                .map(|e| match e {
                    PathElement::Name(n) => Place::Key(n.to_string()),
                    PathElement::Index(i) => Place::Index(*i),
                })
                .collect()
        })
        .collect()
}

/// The value at `loc`.
pub(super) fn get<'v>(value: &'v Value, loc: &[Place]) -> Option<&'v Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Place::Key(k) => v.get(k.as_str()),
        Place::Index(i) => v.get(*i),
    })
}

/// The value at `loc`, to change.
pub(super) fn get_mut<'v>(value: &'v mut Value, loc: &[Place]) -> Option<&'v mut Value> {
    loc.iter().try_fold(value, |v, seg| match seg {
        Place::Key(k) => v.get_mut(k.as_str()),
        Place::Index(i) => v.get_mut(*i),
    })
}

/// A location as the diff's JSONPath.
pub(super) fn render(loc: &[Place]) -> String {
    let mut path = crate::diff::JsonPath::default();
    for seg in loc {
        match seg {
            Place::Key(k) => path.key(k),
            Place::Index(i) => path.index(*i),
        }
    }
    path.to_string()
}
