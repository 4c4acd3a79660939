//! Shrinking: reduces a cassette that shows a divergence to a minimal one that still shows
//! the same divergence (same operation, path pattern and class).
//!
//! Delta debugging (Zeller's ddmin) over the request log: chunks of the kept requests, and
//! their complements, are tried in turn; a try that still diverges is kept and the search
//! goes on from it. Every try is closed under history: it keeps every earlier write to the
//! keys its requests touch (a keyless request touches every key), so a kept read still sees
//! the state it was recorded against. Each try is one replay on reset targets.

use crate::cassette::{Header, Kind, Reader, Request};
use crate::diff::pattern;
use crate::diff::Class;
use crate::replay::{self, Pair, ReplayError, ReplayOptions, RequestResult, Sink};
use std::collections::HashSet;
use std::fmt;

/// The divergence a shrink keeps: an operation, a path pattern (`$.messages[*].text`) and a
/// class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The operation of the divergent request.
    pub op: String,
    /// The divergence's path pattern, canonical (every index as `[*]`).
    pub pattern: String,
    /// The divergence class.
    pub class: Class,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} at {}", self.op, self.class, self.pattern)
    }
}

/// A finished shrink.
#[derive(Debug)]
pub struct Shrunk {
    /// The minimal requests, in cassette order, as they were recorded.
    pub requests: Vec<Request>,
    /// The divergence the minimal requests still show.
    pub signature: Signature,
    /// Replays run, the first (whole cassette) included.
    pub replays: u64,
}

/// Why a cassette could not be shrunk.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// A replay failed.
    #[error("{0}")]
    Replay(#[from] ReplayError),
    /// No signature was given and the whole cassette shows no divergence.
    #[error("the cassette shows no divergence: nothing to shrink")]
    NothingDiverges,
    /// The whole cassette does not show the divergence asked for.
    #[error("the cassette does not show the divergence {0}")]
    NotShown(Signature),
}

/// Shrinks `requests` (all of a cassette with `header`) to a minimal set that still shows
/// `signature`, or the first divergence of the whole cassette when `signature` is `None`.
pub async fn shrink(
    header: &Header,
    requests: Vec<Request>,
    pair: &Pair,
    options: &ReplayOptions,
    signature: Option<Signature>,
) -> Result<Shrunk, ShrinkError> {
    let mut run = Runner {
        header,
        requests: &requests,
        pair,
        options: ReplayOptions {
            reset: true,
            ..options.clone()
        },
        replays: 0,
        wanted: None,
    };
    let all: Vec<usize> = (0..requests.len()).collect();
    let found = run.divergences(&all).await?;
    let signature = match signature {
        Some(s) => s,
        None => found
            .first()
            .map(|(_, s)| s.clone())
            .ok_or(ShrinkError::NothingDiverges)?,
    };
    // The first request that shows it, with its history: often already minimal.
    let Some(first) = found.iter().find(|(_, s)| *s == signature).map(|(i, _)| *i) else {
        return Err(ShrinkError::NotShown(signature));
    };
    run.wanted = Some(signature.clone());
    let seed = run.close(&[first]);
    let start = if seed.len() < all.len() && run.shows(&seed).await? {
        seed
    } else {
        all
    };
    let kept = ddmin(&mut run, start).await?;
    Ok(Shrunk {
        requests: kept.iter().map(|&i| requests[i].clone()).collect(),
        signature,
        replays: run.replays,
    })
}

/// What delta debugging needs of a replay: the history closure, and whether a subset still
/// shows the divergence.
trait Probe {
    fn close(&self, subset: &[usize]) -> Vec<usize>;
    async fn shows(&mut self, subset: &[usize]) -> Result<bool, ShrinkError>;
}

/// Zeller's ddmin from `kept` (which shows the divergence): tries each of `n` chunks, then
/// each complement, each closed under history; keeps the first smaller try that still
/// shows it, and refines `n` until no chunk of one request can go.
async fn ddmin(probe: &mut impl Probe, mut kept: Vec<usize>) -> Result<Vec<usize>, ShrinkError> {
    let mut n = 2usize;
    while kept.len() >= 2 {
        let chunks = split(&kept, n);
        let mut reduced = false;
        'tries: for i in 0..chunks.len() {
            let complement: Vec<usize> = chunks
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, c)| c.iter().copied())
                .collect();
            for attempt in [probe.close(&chunks[i]), probe.close(&complement)] {
                if attempt.len() < kept.len() && probe.shows(&attempt).await? {
                    kept = attempt;
                    reduced = true;
                    break 'tries;
                }
            }
        }
        if reduced {
            n = n.saturating_sub(1).max(2);
        } else if n >= kept.len() {
            break;
        } else {
            n = (n * 2).min(kept.len());
        }
    }
    Ok(kept)
}

/// `items` in `n` nearly equal consecutive chunks.
fn split(items: &[usize], n: usize) -> Vec<Vec<usize>> {
    let n = n.min(items.len()).max(1);
    let (size, extra) = (items.len() / n, items.len() % n);
    let mut chunks = Vec::with_capacity(n);
    let mut at = 0;
    for i in 0..n {
        let len = size + usize::from(i < extra);
        chunks.push(items[at..at + len].to_vec());
        at += len;
    }
    chunks
}

struct Runner<'a> {
    header: &'a Header,
    requests: &'a [Request],
    pair: &'a Pair,
    options: ReplayOptions,
    replays: u64,
    /// The divergence a try must show.
    wanted: Option<Signature>,
}

impl Probe for Runner<'_> {
    /// `subset` with every earlier write to the keys its requests touch.
    fn close(&self, subset: &[usize]) -> Vec<usize> {
        let mut keep: HashSet<usize> = subset.iter().copied().collect();
        let Some(&last) = subset.iter().max() else {
            return Vec::new();
        };
        let keyless = subset.iter().any(|&i| self.requests[i].key.is_none());
        let keys: HashSet<&str> = subset
            .iter()
            .filter_map(|&i| self.requests[i].key.as_deref())
            .collect();
        // A write is history when a kept request after it touches its key.
        for (i, r) in self.requests[..last].iter().enumerate() {
            if r.kind != Kind::Write || keep.contains(&i) {
                continue;
            }
            let before_a_user = subset.iter().any(|&j| {
                j > i && (self.requests[j].key.is_none() || self.requests[j].key == r.key)
            });
            let touches = keyless || r.key.as_deref().is_some_and(|k| keys.contains(k));
            if touches && before_a_user {
                keep.insert(i);
            }
        }
        let mut kept: Vec<usize> = keep.into_iter().collect();
        kept.sort_unstable();
        kept
    }

    async fn shows(&mut self, subset: &[usize]) -> Result<bool, ShrinkError> {
        let found = self.divergences(subset).await?;
        Ok(found.iter().any(|(_, s)| Some(s) == self.wanted.as_ref()))
    }
}

impl Runner<'_> {
    /// Replays `subset`; returns each divergence's signature with the index (into the
    /// cassette) of its request, in cassette order.
    async fn divergences(
        &mut self,
        subset: &[usize],
    ) -> Result<Vec<(usize, Signature)>, ShrinkError> {
        let mut text = serde_json::to_string(self.header).expect("a header serializes") + "\n";
        for &i in subset {
            text += &serde_json::to_string(&self.requests[i]).expect("a request serializes");
            text.push('\n');
        }
        let reader = Reader::from_read("shrink", std::io::Cursor::new(text.into_bytes()))
            .map_err(ReplayError::Cassette)?;
        let mut found = Found::default();
        replay::replay(reader, self.pair, &self.options, &mut [&mut found]).await?;
        self.replays += 1;
        Ok(found.0.into_iter().map(|(k, s)| (subset[k], s)).collect())
    }
}

/// Collects the signatures of divergent results, with their position in the replay.
#[derive(Default)]
struct Found(Vec<(usize, Signature)>);

impl Sink for Found {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        if result.status == replay::Status::Divergent {
            for d in &result.divergences {
                self.0.push((
                    result.index as usize,
                    Signature {
                        op: result.op.clone(),
                        pattern: pattern(&d.path),
                        class: d.class,
                    },
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_items_in_order() {
        let items: Vec<usize> = (0..7).collect();
        assert_eq!(
            split(&items, 3),
            vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]
        );
        assert_eq!(split(&items, 10).len(), 7);
    }

    /// A divergence that needs requests 3 and 11 together (with 1, the history of 3's key).
    struct Interplay {
        tries: u64,
    }

    impl Probe for Interplay {
        fn close(&self, subset: &[usize]) -> Vec<usize> {
            let mut kept: Vec<usize> = subset.to_vec();
            if subset.contains(&3) && !subset.contains(&1) {
                kept.push(1);
                kept.sort_unstable();
            }
            kept
        }
        async fn shows(&mut self, subset: &[usize]) -> Result<bool, ShrinkError> {
            self.tries += 1;
            Ok(subset.contains(&3) && subset.contains(&11))
        }
    }

    #[test]
    fn ddmin_finds_the_requests_that_diverge_together_with_their_history() {
        let mut probe = Interplay { tries: 0 };
        let all: Vec<usize> = (0..20).collect();
        let kept = futures::executor::block_on(ddmin(&mut probe, all)).unwrap();
        assert_eq!(kept, vec![1, 3, 11]);
        assert!(probe.tries < 100, "{} tries", probe.tries);
    }
}
