//! Sampling for coverage: which keys (conversations) to keep so that a sample of N covers
//! the most declared features, by greedy set cover, against a seeded random choice of N.
//!
//! Each keyed request's features are given to its key; a keyless request's to every
//! sample (keyless requests are kept whatever is chosen). What a sample covers here is a
//! prediction from the full run (a keyless read answers differently over fewer keys); the
//! measure of a written sample is `cutover coverage` on it.

use super::{FeatureKey, Tally};
use crate::cassette::{Outcome, Request};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The features each key's requests exercised, and those every sample has.
pub struct Candidates {
    tally: Tally,
    declared: BTreeSet<FeatureKey>,
    keyless: BTreeSet<FeatureKey>,
    keys: BTreeMap<String, BTreeSet<FeatureKey>>,
}

impl Candidates {
    /// Candidates counted on `tally`, fresh (`Registry::tally`).
    pub fn new(tally: Tally) -> Candidates {
        let declared = tally
            .coverage()
            .rows
            .into_iter()
            .flat_map(|r| {
                let op = r.op;
                r.features
                    .into_iter()
                    .map(move |f| (op.clone(), f.group, f.name))
            })
            .collect();
        Candidates {
            tally,
            declared,
            keyless: BTreeSet::new(),
            keys: BTreeMap::new(),
        }
    }

    /// Gives the features of one request (with the legacy's outcome and, after a write,
    /// the key's state) to its key; called in cassette order.
    pub fn observe(&mut self, request: &Request, outcome: Option<&Outcome>, state: Option<&Value>) {
        let hits = self.tally.hits(request, outcome, state);
        let declared = hits.into_iter().filter(|h| self.declared.contains(h));
        match &request.key {
            Some(key) => self.keys.entry(key.clone()).or_default().extend(declared),
            None => self.keyless.extend(declared),
        }
    }

    /// How many features the domain declares.
    pub fn declared(&self) -> usize {
        self.declared.len()
    }

    /// Every key seen, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The features a sample of `keys` covers (with the keyless requests').
    pub fn covered(&self, keys: &[String]) -> usize {
        let mut all = self.keyless.clone();
        for key in keys {
            if let Some(features) = self.keys.get(key) {
                all.extend(features.iter().cloned());
            }
        }
        all.len()
    }

    /// `n` keys in a seeded random order (SHA-256 of the seed and the key): the same for
    /// a seed whatever else the cassette holds.
    pub fn random(&self, n: usize, seed: u64) -> Vec<String> {
        let mut keys: Vec<&String> = self.keys.keys().collect();
        keys.sort_by_cached_key(|k| rank(seed, k));
        keys.into_iter().take(n).cloned().collect()
    }

    /// `n` keys chosen greedily: each the one adding the most features not yet covered
    /// (ties to the seeded random order), then, once no key adds any, in that order.
    pub fn covering(&self, n: usize, seed: u64) -> Vec<String> {
        let order = self.random(self.keys.len(), seed);
        let mut covered = self.keyless.clone();
        let mut chosen = Vec::new();
        let mut left: Vec<&String> = order.iter().collect();
        while chosen.len() < n && !left.is_empty() {
            let gain = |k: &String| self.keys[k].difference(&covered).count();
            // The first of the best in the seeded order: max_by_key keeps the last.
            let (best, _) = left.iter().enumerate().map(|(i, k)| (i, gain(k))).fold(
                (0, 0),
                |(bi, bg), (i, g)| if g > bg { (i, g) } else { (bi, bg) },
            );
            let key = left.remove(best);
            covered.extend(self.keys[key].iter().cloned());
            chosen.push(key.clone());
        }
        chosen
    }
}

/// A key's place in the seeded random order: the SHA-256 of the seed and the key, hex
/// (the same on every machine and toolchain; `sample` of a live store ranks by it too).
pub fn rank(seed: u64, key: &str) -> String {
    crate::digest::bytes(format!("{seed}:{key}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::ErrorKind;
    use serde_json::json;

    fn get(seq: u64, key: &str) -> Request {
        serde_json::from_value(json!({
            "seq": seq, "key": key, "op": "get", "kind": "read", "args": {},
            "at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    /// One key has what two others have between them: the greedy pick takes it first, and
    /// then the key that adds the rest; a random pick of two may take two that add nothing.
    #[test]
    fn the_greedy_pick_covers_at_least_what_any_random_pick_of_the_same_size_covers() {
        let mut c = Candidates::new(crate::Registry::builtin().tally("kv").unwrap());
        let ok = Outcome::Ok(json!(1));
        let missing = Outcome::error(ErrorKind::NotFound, "");
        for (i, key) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.observe(&get(i as u64, key), Some(&ok), None);
        }
        c.observe(&get(9, "f"), Some(&missing), None);
        let put: Request = serde_json::from_value(json!({
            "seq": 10, "key": "f", "op": "put", "kind": "write", "args": {"value": null},
            "at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        c.observe(
            &put,
            Some(&Outcome::Ok(json!({"created": true}))),
            Some(&json!(null)),
        );
        let greedy = c.covering(2, 1);
        assert_eq!(greedy[0], "f", "{greedy:?}");
        // f: get not_found and of an absent key, put ok, created and of an absent key, a
        // removed key; then any: get ok.
        assert_eq!(c.covered(&greedy), 7);
        for seed in 0..20 {
            let random = c.random(2, seed);
            assert_eq!(random.len(), 2);
            assert!(c.covered(&random) <= c.covered(&greedy));
        }
        // Deterministic, and no key twice.
        assert_eq!(c.covering(6, 3), c.covering(6, 3));
        let all: BTreeSet<String> = c.covering(6, 3).into_iter().collect();
        assert_eq!(all.len(), 6);
        assert_eq!(c.covering(10, 3).len(), 6);
    }
}
