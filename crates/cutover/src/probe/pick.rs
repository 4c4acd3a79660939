//! Deterministic choices: samples kept by a hash of their content, so that the same
//! cassette gives the same probes whatever the order or number of its other requests.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The first 8 bytes of the SHA-256 of `text`: a stable rank.
pub fn rank(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// At most `n` distinct items, those whose text ranks lowest: a sample that does not
/// depend on the order items are offered in, kept in bounded memory.
#[derive(Debug, Clone)]
pub struct Sample<T> {
    n: usize,
    kept: BTreeMap<(u64, String), T>,
}

impl<T> Sample<T> {
    /// An empty sample of at most `n` items.
    pub fn new(n: usize) -> Sample<T> {
        Sample {
            n,
            kept: BTreeMap::new(),
        }
    }

    /// Offers `item`, known by `text` (items of the same text are one).
    pub fn offer(&mut self, text: String, item: T) {
        let slot = (rank(&text), text);
        if self.kept.contains_key(&slot) {
            return;
        }
        if self.kept.len() == self.n {
            match self.kept.last_key_value() {
                Some((last, _)) if *last > slot => {
                    self.kept.pop_last();
                }
                _ => return,
            }
        }
        self.kept.insert(slot, item);
    }

    /// The items kept, lowest rank first.
    pub fn items(&self) -> impl Iterator<Item = &T> {
        self.kept.values()
    }
}

/// The `n` of `items` whose text ranks lowest, lowest first.
pub fn lowest<'a>(items: impl IntoIterator<Item = &'a String>, n: usize) -> Vec<&'a String> {
    let mut ranked: Vec<(u64, &String)> = items.into_iter().map(|s| (rank(s), s)).collect();
    ranked.sort();
    ranked.into_iter().take(n).map(|(_, s)| s).collect()
}

/// `base`, or the first of `base-2`, `base-3`, ... that is not `taken`: a name no
/// recorded request used.
pub fn fresh(base: &str, taken: impl Fn(&str) -> bool) -> String {
    (1..)
        .map(|n| match n {
            1 => base.to_string(),
            n => format!("{base}-{n}"),
        })
        .find(|name| !taken(name))
        .expect("an unbounded range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_does_not_depend_on_the_order_of_its_offers() {
        let texts: Vec<String> = (0..50).map(|i| format!("item {i}")).collect();
        let mut forward = Sample::new(3);
        texts
            .iter()
            .for_each(|t| forward.offer(t.clone(), t.clone()));
        let mut backward = Sample::new(3);
        texts
            .iter()
            .rev()
            .for_each(|t| backward.offer(t.clone(), t.clone()));
        let kept: Vec<&String> = forward.items().collect();
        assert_eq!(kept, backward.items().collect::<Vec<_>>());
        assert_eq!(kept.len(), 3);
        assert_eq!(kept, lowest(&texts, 3));
    }
}
