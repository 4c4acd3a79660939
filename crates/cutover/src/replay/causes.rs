//! Causes and their echoes. A defect in a write shows first where that write is compared,
//! and again in every later request that reads what it left: the reads of the same key, and
//! the cross-aggregate lists. For each key, its first divergent request in cassette order is
//! the cause; each later divergent request of that key follows it
//! ([`RequestResult::follows`]). A keyless request reads across keys, so it follows the
//! run's first divergence; a keyless write may have touched any key, so every divergence
//! after a divergent keyless write follows that write.
//!
//! Marking needs results in cassette order: the scheduler and the shard merge emit them so,
//! and mark them as they emit. The same results give the same marks, whatever the timing.

use super::{RequestResult, Status};
use crate::cassette::Kind;
use std::collections::HashMap;

/// The first divergent request seen per key, per run, and after a keyless write.
#[derive(Debug, Default)]
pub struct Causes {
    keys: HashMap<String, u64>,
    /// The first divergent keyless write: any key may hold what it did.
    everything: Option<u64>,
    /// The run's first divergent request, which a keyless request may read through.
    first: Option<u64>,
}

impl Causes {
    /// No divergence seen yet.
    pub fn new() -> Causes {
        Causes::default()
    }

    /// Sets `result.follows` (cleared first, so a result read back is marked afresh) and
    /// records it as a cause where it is the first of its key. Results must come in
    /// cassette order.
    pub fn mark(&mut self, result: &mut RequestResult) {
        result.follows = None;
        if result.status != Status::Divergent {
            return;
        }
        let earlier = match &result.key {
            Some(key) => [self.everything, self.keys.get(key).copied()]
                .into_iter()
                .flatten()
                .min(),
            None => self.first,
        };
        result.follows = earlier;
        self.first.get_or_insert(result.seq);
        match &result.key {
            Some(key) => {
                self.keys.entry(key.clone()).or_insert(result.seq);
            }
            None if result.kind == Kind::Write => {
                self.everything.get_or_insert(result.seq);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seq: u64, key: Option<&str>, kind: Kind, status: Status) -> RequestResult {
        let mut r = RequestResult::for_test(seq, key, kind, status);
        r.follows = Some(999);
        r
    }

    fn marks(results: Vec<RequestResult>) -> Vec<Option<u64>> {
        let mut causes = Causes::new();
        results
            .into_iter()
            .map(|mut r| {
                causes.mark(&mut r);
                r.follows
            })
            .collect()
    }

    #[test]
    fn the_first_divergence_of_a_key_is_the_cause_and_later_ones_follow_it() {
        use Kind::*;
        use Status::*;
        let got = marks(vec![
            result(1, Some("a"), Read, Equal),
            result(2, Some("a"), Write, Divergent),
            result(3, Some("b"), Read, Divergent),
            result(4, Some("a"), Read, Divergent),
            result(5, Some("a"), Read, Inconclusive),
            result(6, None, Read, Divergent),
            result(7, Some("b"), Write, Divergent),
        ]);
        assert_eq!(
            got,
            vec![None, None, None, Some(2), None, Some(2), Some(3)],
            "a stale mark is cleared; a keyless read follows the run's first"
        );
    }

    #[test]
    fn everything_after_a_divergent_keyless_write_follows_it() {
        use Kind::*;
        use Status::*;
        let got = marks(vec![
            result(1, None, Read, Divergent),
            result(2, Some("a"), Read, Divergent),
            result(3, None, Write, Divergent),
            result(4, Some("b"), Read, Divergent),
            result(5, Some("a"), Read, Divergent),
        ]);
        assert_eq!(got, vec![None, None, Some(1), Some(3), Some(2)]);
    }
}
