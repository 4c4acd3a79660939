//! What is kept of the values seen: the first distinct values, each with how often it was
//! seen and whether it was a request's key ([`Sample`]), and the least and greatest of
//! something ([`Range`]).

use super::{SAMPLE_LENGTH, VALUES};
use std::collections::{BTreeMap, BTreeSet};

/// Distinct values (as key text) seen, the first [`VALUES`] of them.
#[derive(Debug, Default)]
pub(super) struct Sample {
    pub(super) values: BTreeMap<String, Seen>,
    /// More distinct values were seen than are kept.
    overflow: bool,
    /// A value too long to be sampled was seen.
    long: bool,
}

#[derive(Debug)]
pub(super) struct Seen {
    /// The order in which it was first seen.
    first: usize,
    /// How many times it was seen.
    pub(super) count: u64,
    /// It is (or later was) the key of a request.
    key: bool,
}

impl Sample {
    pub(super) fn add(&mut self, text: &str, keys: &BTreeSet<String>) {
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

    pub(super) fn key_seen(&mut self, key: &str) {
        if let Some(seen) = self.values.get_mut(key) {
            seen.key = true;
        }
    }

    /// How many sampled values are keys of requests.
    pub(super) fn hits(&self) -> usize {
        self.values.values().filter(|s| s.key).count()
    }

    /// Every distinct value was sampled.
    pub(super) fn complete(&self) -> bool {
        !self.overflow && !self.long
    }

    /// The values in the order first seen.
    pub(super) fn in_order(&self) -> Vec<(&String, &Seen)> {
        let mut values: Vec<_> = self.values.iter().collect();
        values.sort_by_key(|(_, s)| s.first);
        values
    }
}

/// The least and greatest of something, with its text.
#[derive(Debug, Clone, Default)]
pub(super) struct Range<T> {
    min: Option<(T, String)>,
    max: Option<(T, String)>,
}

impl<T: PartialOrd + Clone> Range<T> {
    pub(super) fn add(&mut self, value: T, text: impl Fn() -> String) {
        if self.min.as_ref().is_none_or(|(m, _)| value < *m) {
            self.min = Some((value.clone(), text()));
        }
        if self.max.as_ref().is_none_or(|(m, _)| value > *m) {
            self.max = Some((value, text()));
        }
    }

    pub(super) fn text(&self) -> Option<String> {
        match (&self.min, &self.max) {
            (Some((_, a)), Some((_, b))) if a == b => Some(format!("always {a}")),
            (Some((_, a)), Some((_, b))) => Some(format!("{a} to {b}")),
            _ => None,
        }
    }
}
