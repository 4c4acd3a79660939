//! What the HTML page needs of a run's every result, folded from `results.jsonl` in one
//! pass and bounded memory: the divergences to browse (the first [`MAX_SHOWN`] in the
//! order of `results.jsonl`, the rest counted), every divergence counted by operation and path pattern (the
//! field view), and each operation's latencies of both sides in logarithmic buckets (the
//! charts).

use crate::diff::{pattern, Class, Divergence};
use crate::replay::{RequestResult, Sink, Status};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Divergences a page holds at most, the first in cassette order; the count beyond them is
/// shown, and `results.jsonl` keeps them all.
pub const MAX_SHOWN: usize = 20_000;

/// Buckets per factor of ten of latency.
pub(crate) const PER_DECADE: usize = 8;

/// Decades of latency bucketed, from 1 µs: up to 10^10 µs (about 2.8 hours).
const DECADES: usize = 10;

/// A divergent request whose divergences the page holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The request's `seq`.
    pub seq: u64,
    /// Its key, if any.
    pub key: Option<String>,
    /// Its operation.
    pub op: String,
    /// Its arguments, when `results.jsonl` kept them.
    pub args: Option<Value>,
    /// The divergences of it the page holds.
    pub divergences: Vec<Divergence>,
    /// The seq of the earlier divergent request it follows; `None` on a cause.
    pub follows: Option<u64>,
}

/// The divergences of one operation at one path pattern.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Field {
    /// Divergent requests with at least one divergence here.
    pub requests: u64,
    /// Divergences here, by class.
    pub classes: BTreeMap<Class, u64>,
}

/// One side's latencies of one operation, in logarithmic buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// Requests by bucket: bucket `i` holds latencies in `[bound(i), bound(i + 1))` µs.
    pub counts: Vec<u64>,
    /// Requests whose latency this side could not tell.
    pub unknown: u64,
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            counts: vec![0; PER_DECADE * DECADES + 1],
            unknown: 0,
        }
    }
}

impl Buckets {
    /// Counts one latency (`None`: unknown).
    pub fn add(&mut self, micros: Option<u64>) {
        match micros {
            Some(us) => self.counts[bucket(us)] += 1,
            None => self.unknown += 1,
        }
    }

    /// Latencies counted (the unknown ones aside).
    pub fn known(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The lower bound of bucket `i`, in µs: `10^(i / PER_DECADE)` rounded, and above the
/// bucket before.
pub(crate) fn bound(i: usize) -> u64 {
    bounds()[i]
}

fn bounds() -> &'static [u64] {
    static BOUNDS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut bounds: Vec<u64> = Vec::with_capacity(PER_DECADE * DECADES + 1);
        for i in 0..=PER_DECADE * DECADES {
            let exact = 10f64.powf(i as f64 / PER_DECADE as f64).round() as u64;
            // Below 10 µs the buckets are 1 µs wide.
            bounds.push(exact.max(bounds.last().map_or(1, |b| b + 1)));
        }
        bounds
    })
}

/// The bucket of a latency: the last whose lower bound is at most it.
fn bucket(micros: u64) -> usize {
    bounds().partition_point(|&b| b <= micros).saturating_sub(1)
}

/// A run's results as the page shows them. A [`Sink`], so it can be filled during a replay
/// as well as from `results.jsonl`.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    /// The divergent requests the page holds, in cassette order.
    pub shown: Vec<Shown>,
    /// Divergences held in `shown`.
    pub held: usize,
    /// Divergences of divergent requests not held (beyond [`MAX_SHOWN`]).
    pub beyond: u64,
    /// Divergences found but never kept in `results.jsonl` (a comparison keeps at most
    /// [`crate::diff::MAX_DIVERGENCES`]).
    pub omitted: u64,
    /// Every divergence of a divergent request counted by (operation, path pattern).
    pub fields: BTreeMap<(String, String), Field>,
    /// Latencies by operation: legacy, candidate.
    pub latency: BTreeMap<String, [Buckets; 2]>,
    /// Results folded.
    pub results: u64,
}

impl Workspace {
    /// Folds one result in.
    pub fn add(&mut self, result: &RequestResult) {
        self.results += 1;
        let sides = self.latency.entry(result.op.clone()).or_default();
        sides[0].add(result.legacy.latency_us);
        sides[1].add(result.candidate.latency_us);
        if result.status != Status::Divergent {
            return;
        }
        self.omitted += result.omitted;
        let mut seen = BTreeSet::new();
        for d in &result.divergences {
            let at = pattern(&d.path);
            let field = self
                .fields
                .entry((result.op.clone(), at.clone()))
                .or_default();
            *field.classes.entry(d.class).or_default() += 1;
            if seen.insert(at) {
                field.requests += 1;
            }
        }
        let room = MAX_SHOWN - self.held;
        let take = result.divergences.len().min(room);
        self.beyond += (result.divergences.len() - take) as u64;
        if take > 0 {
            self.held += take;
            self.shown.push(Shown {
                seq: result.seq,
                key: result.key.clone(),
                op: result.op.clone(),
                args: result.args.clone(),
                divergences: result.divergences[..take].to_vec(),
                follows: result.follows,
            });
        }
    }
}

impl Sink for Workspace {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.add(result);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Kind;
    use crate::replay::Side;

    fn divergent(seq: u64, op: &str, paths: &[(&str, Class)]) -> RequestResult {
        let mut request = crate::capture::adapter::request(op, Some("k"), Kind::Read, Value::Null);
        request.seq = seq;
        let mut result = RequestResult::of(seq - 1, &request, Status::Divergent);
        result.divergences = paths
            .iter()
            .map(|(path, class)| Divergence {
                path: (*path).into(),
                class: *class,
                left: Some(Value::from(1)),
                right: Some(Value::from(2)),
                detail: None,
                note: None,
            })
            .collect();
        result.legacy = Side {
            latency_us: Some(seq * 10),
            ..Side::default()
        };
        result
    }

    #[test]
    fn buckets_are_ordered_and_cover_every_latency() {
        let last = PER_DECADE * DECADES;
        for i in 1..=last {
            assert!(bound(i) > bound(i - 1), "bucket {i}");
        }
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        assert_eq!(bucket(10), PER_DECADE);
        assert_eq!(bucket(9), PER_DECADE - 1);
        assert_eq!(bucket(u64::MAX), last);
        for us in [1, 2, 3, 17, 999, 1000, 1001, 123_456, 9_999_999] {
            let b = bucket(us);
            assert!(bound(b) <= us, "{us} in {b}");
            assert!(b == last || us < bound(b + 1), "{us} in {b}");
        }
    }

    #[test]
    fn fields_count_requests_once_per_pattern_and_every_divergence_by_class() {
        let mut w = Workspace::default();
        w.add(&divergent(
            1,
            "scan",
            &[
                ("$[0].n", Class::Value),
                ("$[3].n", Class::Value),
                ("$", Class::Ordering),
            ],
        ));
        w.add(&divergent(2, "scan", &[("$[1].n", Class::Type)]));
        let field = &w.fields[&("scan".to_string(), "$[*].n".to_string())];
        assert_eq!(field.requests, 2);
        assert_eq!(
            field.classes,
            BTreeMap::from([(Class::Value, 2), (Class::Type, 1)])
        );
        assert_eq!(w.fields[&("scan".to_string(), "$".to_string())].requests, 1);
        assert_eq!(w.held, 4);
        assert_eq!(w.latency["scan"][0].known(), 2);
        assert_eq!(w.latency["scan"][1].unknown, 2);
    }

    #[test]
    fn the_page_holds_at_most_max_shown_divergences_and_counts_the_rest() {
        let mut w = Workspace::default();
        let three = [
            ("$.a", Class::Value),
            ("$.b", Class::Value),
            ("$.c", Class::Value),
        ];
        let requests = MAX_SHOWN / 3 + 2;
        for seq in 1..=requests as u64 {
            w.add(&divergent(seq, "get", &three));
        }
        assert_eq!(w.held, MAX_SHOWN);
        assert_eq!(w.beyond as usize, requests * 3 - MAX_SHOWN);
        let shown: usize = w.shown.iter().map(|s| s.divergences.len()).sum();
        assert_eq!(shown, MAX_SHOWN);
        // Counting is not capped.
        assert_eq!(
            w.fields[&("get".to_string(), "$.a".to_string())].requests as usize,
            requests
        );
    }
}
