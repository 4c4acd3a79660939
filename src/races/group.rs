//! Concurrent groups: which requests of one key ran, or may run, at the same time, and the
//! key's history before them (the writes that rebuild the state the group starts from).

use crate::cassette::{CassetteError, Kind, Reader, Request};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How groups are formed from a cassette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Requests of one key whose recorded intervals (`started_us`, `latency_us`) overlap.
    Overlap,
    /// Consecutive writes of one key, `size` at a time.
    Writes,
}

impl std::str::FromStr for Grouping {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "overlap" => Ok(Grouping::Overlap),
            "writes" => Ok(Grouping::Writes),
            _ => Err(format!("`{text}`: expected `overlap` or `writes`")),
        }
    }
}

impl std::fmt::Display for Grouping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grouping::Overlap => "overlap",
            Grouping::Writes => "writes",
        })
    }
}

/// One concurrent group, ready to run on a fresh copy of its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: String,
    /// The group's requests, in cassette order (2 to 4 of them).
    pub requests: Vec<Request>,
    /// The key's writes before the group, in cassette order: replayed one at a time first,
    /// they rebuild the state the group starts from.
    pub history: Vec<Request>,
}

impl Group {
    /// The group's seqs, in cassette order.
    pub fn seqs(&self) -> Vec<u64> {
        self.requests.iter().map(|r| r.seq).collect()
    }

    /// The group's operation names, in cassette order.
    pub fn ops(&self) -> Vec<String> {
        self.requests.iter().map(|r| r.op.clone()).collect()
    }
}

/// A group under construction: members and their span.
#[derive(Default)]
struct Open {
    seqs: Vec<u64>,
    start: u64,
    end: u64,
}

/// Finds the cassette's groups: at most `max` of them, at most one per key, the first in
/// cassette order, each of 2 to `size` requests (`size` is clamped to 2..=4). Two passes over
/// the file: the groups' seqs, then the requests and their keys' histories.
pub fn groups(
    path: &Path,
    grouping: Grouping,
    size: usize,
    max: usize,
) -> Result<Vec<Group>, CassetteError> {
    let size = size.clamp(2, 4);
    let chosen = find(Reader::open(path)?, grouping, size, max)?;
    let by_key: HashMap<&str, &Vec<u64>> = chosen.iter().map(|(k, s)| (k.as_str(), s)).collect();
    let mut built: BTreeMap<u64, Group> = BTreeMap::new();
    let mut partial: HashMap<String, Group> = HashMap::new();
    for request in Reader::open(path)? {
        let request = request?;
        let Some(key) = request.key.clone() else {
            continue;
        };
        let Some(seqs) = by_key.get(key.as_str()) else {
            continue;
        };
        let group = partial.entry(key.clone()).or_insert_with(|| Group {
            key: key.to_string(),
            requests: Vec::new(),
            history: Vec::new(),
        });
        if seqs.contains(&request.seq) {
            group.requests.push(request);
            if group.requests.len() == seqs.len() {
                if let Some(done) = partial.remove(&key) {
                    built.insert(seqs[0], done);
                }
            }
        } else if group.requests.is_empty() && request.kind == Kind::Write {
            group.history.push(request);
        }
    }
    Ok(built.into_values().collect())
}

/// The first pass: each chosen group's key and seqs.
fn find(
    reader: Reader,
    grouping: Grouping,
    size: usize,
    max: usize,
) -> Result<Vec<(String, Vec<u64>)>, CassetteError> {
    let mut open: HashMap<String, Open> = HashMap::new();
    let mut chosen: Vec<(String, Vec<u64>)> = Vec::new();
    let mut done = std::collections::HashSet::new();
    let mut close = |key: &str, group: Open, chosen: &mut Vec<(String, Vec<u64>)>| {
        if group.seqs.len() >= 2 && chosen.len() < max && done.insert(key.to_string()) {
            chosen.push((key.to_string(), group.seqs));
        }
    };
    for request in reader {
        let request = request?;
        let Some(key) = request.key.clone() else {
            continue;
        };
        if done_or_full(&chosen, max, &key) {
            continue;
        }
        let joins = match grouping {
            Grouping::Writes => request.kind == Kind::Write,
            Grouping::Overlap => match (request.started_us, request.latency_us) {
                (Some(start), Some(took)) => {
                    let end = start.saturating_add(took);
                    let current = open.entry(key.clone()).or_default();
                    let overlaps =
                        !current.seqs.is_empty() && start < current.end && end > current.start;
                    if !overlaps || current.seqs.len() == size {
                        let previous = std::mem::take(current);
                        close(&key, previous, &mut chosen);
                        *open.entry(key.clone()).or_default() = Open {
                            seqs: vec![request.seq],
                            start,
                            end,
                        };
                    } else {
                        current.seqs.push(request.seq);
                        current.start = current.start.min(start);
                        current.end = current.end.max(end);
                    }
                    continue;
                }
                _ => false,
            },
        };
        if !joins {
            // A read between writes does not change the state: a run of writes goes on
            // across it. A request without an interval ends an overlap.
            if grouping == Grouping::Overlap {
                if let Some(previous) = open.remove(&key) {
                    close(&key, previous, &mut chosen);
                }
            }
            continue;
        }
        let current = open.entry(key.clone()).or_default();
        current.seqs.push(request.seq);
        if current.seqs.len() == size {
            let full = std::mem::take(current);
            close(&key, full, &mut chosen);
        }
    }
    let mut rest: Vec<(String, Open)> = open.into_iter().collect();
    rest.sort_by_key(|(_, o)| o.seqs.first().copied());
    for (key, group) in rest {
        close(&key, group, &mut chosen);
    }
    chosen.sort_by_key(|(_, seqs)| seqs[0]);
    Ok(chosen)
}

fn done_or_full(chosen: &[(String, Vec<u64>)], max: usize, key: &str) -> bool {
    chosen.len() >= max || chosen.iter().any(|(k, _)| k == key)
}
