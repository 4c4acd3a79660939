//! Concurrent groups: which requests of one key ran, or may run, at the same time, and the
//! key's history before them (the writes that rebuild the state the group starts from).

use crate::cassette::{CassetteError, Kind, Reader, Request};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    /// The aggregate every request of the group touches.
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

/// A group under construction: members, how many are writes, and their span.
#[derive(Default)]
struct Open {
    seqs: Vec<u64>,
    writes: usize,
    start: u64,
    end: u64,
}

impl Open {
    fn of(request: &Request, start: u64, end: u64) -> Open {
        Open {
            seqs: vec![request.seq],
            writes: usize::from(request.kind == Kind::Write),
            start,
            end,
        }
    }

    fn add(&mut self, request: &Request) {
        self.seqs.push(request.seq);
        self.writes += usize::from(request.kind == Kind::Write);
    }
}

/// Finds the cassette's groups: at most `max` of them, at most one per key, the first in
/// cassette order, each of 2 to `size` requests (`size` is clamped to 2..=4) with at least
/// one write (reads alone cannot lose an update). Two passes over the file: the groups'
/// seqs, then the requests and their keys' histories.
pub fn groups(
    path: &Path,
    grouping: Grouping,
    size: usize,
    max: usize,
) -> Result<Vec<Group>, CassetteError> {
    let size = size.clamp(2, 4);
    let chosen = find(Reader::open(path)?, grouping, size, max)?;
    let mut pending: HashMap<String, (Vec<u64>, Group)> = chosen
        .into_iter()
        .map(|(key, seqs)| {
            let group = Group {
                key: key.clone(),
                requests: Vec::new(),
                history: Vec::new(),
            };
            (key, (seqs, group))
        })
        .collect();
    let mut built: BTreeMap<u64, Group> = BTreeMap::new();
    for request in Reader::open(path)? {
        if pending.is_empty() {
            break;
        }
        let request = request?;
        let Some((seqs, group)) = request.key.as_ref().and_then(|k| pending.get_mut(k)) else {
            continue;
        };
        if seqs.contains(&request.seq) {
            group.requests.push(request);
            if group.requests.len() == seqs.len() {
                let key = group.key.clone();
                if let Some((seqs, done)) = pending.remove(&key) {
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
    let mut done: HashSet<String> = HashSet::new();
    // Keys whose first write was seen: in `writes` mode that write (which brings the key
    // into being) is history, not a member.
    let mut created: HashSet<String> = HashSet::new();
    let close = |key: &str, group: Open, chosen: &mut Vec<_>, done: &mut HashSet<String>| {
        if group.seqs.len() >= 2
            && group.writes >= 1
            && chosen.len() < max
            && done.insert(key.to_string())
        {
            chosen.push((key.to_string(), group.seqs));
        }
    };
    for request in reader {
        if chosen.len() >= max {
            break;
        }
        let request = request?;
        let Some(key) = request.key.clone() else {
            continue;
        };
        if done.contains(&key) {
            continue;
        }
        match grouping {
            Grouping::Writes => {
                if request.kind != Kind::Write {
                    // A read between writes does not change the state: a run of writes
                    // goes on across it.
                    continue;
                }
                if created.insert(key.clone()) {
                    continue;
                }
                let current = open.entry(key.clone()).or_default();
                current.add(&request);
                if current.seqs.len() == size {
                    let full = std::mem::take(current);
                    close(&key, full, &mut chosen, &mut done);
                }
            }
            Grouping::Overlap => match (request.started_us, request.latency_us) {
                (Some(start), Some(took)) => {
                    let end = start.saturating_add(took);
                    let current = open.entry(key.clone()).or_default();
                    let overlaps =
                        !current.seqs.is_empty() && start < current.end && end > current.start;
                    if overlaps && current.seqs.len() < size {
                        current.add(&request);
                        current.start = current.start.min(start);
                        current.end = current.end.max(end);
                    } else {
                        let previous = std::mem::replace(current, Open::of(&request, start, end));
                        close(&key, previous, &mut chosen, &mut done);
                    }
                }
                // A request without an interval ends an overlap.
                _ => {
                    if let Some(previous) = open.remove(&key) {
                        close(&key, previous, &mut chosen, &mut done);
                    }
                }
            },
        }
    }
    let mut rest: Vec<(String, Open)> = open.into_iter().collect();
    rest.sort_by_key(|(_, o)| o.seqs.first().copied());
    for (key, group) in rest {
        close(&key, group, &mut chosen, &mut done);
    }
    chosen.sort_by_key(|(_, seqs)| seqs[0]);
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Header, Writer};
    use serde_json::json;

    fn request(seq: u64, key: &str, kind: Kind, interval: Option<(u64, u64)>) -> Request {
        Request {
            events: None,
            seq,
            key: Some(key.into()),
            op: "put".into(),
            kind,
            args: json!({}),
            at: "2026-01-01T00:00:00Z".into(),
            outcome: None,
            state: None,
            latency_us: interval.map(|(_, took)| took),
            started_us: interval.map(|(start, _)| start),
            probe: None,
        }
    }

    fn found(requests: &[Request], grouping: Grouping, size: usize, max: usize) -> Vec<Vec<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let mut w = Writer::create(&path, &Header::new("kv")).unwrap();
        requests.iter().for_each(|r| w.write(r).unwrap());
        w.finish().unwrap();
        groups(&path, grouping, size, max)
            .unwrap()
            .iter()
            .map(Group::seqs)
            .collect()
    }

    #[test]
    fn overlapping_intervals_of_one_key_form_a_group_with_its_history() {
        use Kind::{Read, Write};
        let requests = [
            request(1, "a", Write, None),
            request(2, "b", Write, Some((0, 100))),
            request(3, "a", Write, Some((10, 100))),
            // Overlaps 3 only, and 5 overlaps 4 only: one group, transitively.
            request(4, "a", Read, Some((105, 100))),
            request(5, "a", Write, Some((200, 50))),
            // Another key at the same time: not in a's group.
            request(6, "b", Write, Some((500, 10))),
            // After the group: a's next overlap is not taken (one group per key).
            request(7, "a", Write, Some((1000, 10))),
            request(8, "a", Write, Some((1005, 10))),
        ];
        assert_eq!(found(&requests, Grouping::Overlap, 4, 16), [vec![3, 4, 5]]);
        // Capped at two: 3 and 4 form a group, and 5 starts the next overlap.
        assert_eq!(found(&requests, Grouping::Overlap, 2, 16), [vec![3, 4]]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let mut w = Writer::create(&path, &Header::new("kv")).unwrap();
        requests.iter().for_each(|r| w.write(r).unwrap());
        w.finish().unwrap();
        let all = groups(&path, Grouping::Overlap, 4, 16).unwrap();
        assert_eq!(
            all[0].history.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [1]
        );

        // Reads alone cannot lose an update: a key's read-only overlap does not take its
        // one group; its later overlap of writes does.
        let reads_first = [
            request(1, "a", Read, Some((0, 100))),
            request(2, "a", Read, Some((10, 100))),
            request(3, "a", Write, Some((500, 100))),
            request(4, "a", Write, Some((510, 100))),
        ];
        assert_eq!(found(&reads_first, Grouping::Overlap, 4, 16), [vec![3, 4]]);

        // A request without an interval ends an overlap.
        let cut = [
            request(1, "a", Write, Some((0, 100))),
            request(2, "a", Write, None),
            request(3, "a", Write, Some((10, 100))),
        ];
        assert!(found(&cut, Grouping::Overlap, 4, 16).is_empty());
    }

    #[test]
    fn consecutive_writes_of_one_key_form_groups_across_reads() {
        use Kind::{Read, Write};
        let requests = [
            request(1, "a", Write, None),
            request(2, "b", Write, None),
            request(3, "a", Read, None),
            request(4, "a", Write, None),
            request(5, "b", Write, None),
            request(6, "a", Write, None),
            request(7, "c", Write, None),
        ];
        // A key's first write brings it into being: history, not a member; b and c have
        // one write left at most, no group.
        assert_eq!(found(&requests, Grouping::Writes, 2, 16), [vec![4, 6]]);
        assert_eq!(found(&requests, Grouping::Writes, 3, 16), [vec![4, 6]]);
        let more = [
            &requests[..],
            &[
                request(8, "b", Write, None),
                request(9, "c", Write, None),
                request(10, "c", Write, None),
            ],
        ]
        .concat();
        assert_eq!(
            found(&more, Grouping::Writes, 2, 16),
            [vec![4, 6], vec![5, 8], vec![9, 10]]
        );
        assert_eq!(
            found(&more, Grouping::Writes, 2, 2),
            [vec![4, 6], vec![5, 8]]
        );
    }
}
