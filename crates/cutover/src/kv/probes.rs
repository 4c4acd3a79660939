//! Probes of the `kv` domain (the `memory` target: `get`, `put`, `insert`, `delete`,
//! `scan`, `stamp`): reads of absent keys, scans at and past their limits, and the writes a
//! correct store refuses (a delete of nothing, an insert over a value).

use crate::cassette::{Kind, Outcome, Request};
use crate::probe::pick::{fresh, lowest, Sample};
use crate::probe::{keyed, Probe, Prober};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Recorded scans sampled for probes.
const SCANS: usize = 3;

/// Existing keys that get an `insert` that must conflict.
const KEYS: usize = 3;

/// What the recorded traffic showed: which keys hold a value at the end.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Every key seen: whether it holds a value now.
    keys: BTreeMap<String, bool>,
    scans: Option<Sample<(String, Option<u64>)>>,
}

impl Prober for Observed {
    /// Takes in one recorded request.
    fn observe(&mut self, request: &Request) {
        let refused = matches!(request.outcome, Some(Outcome::Error(_)));
        match (request.op.as_str(), &request.key) {
            ("scan", None) => {
                let prefix = match request.args.get("prefix") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(p)) => p.clone(),
                    Some(_) => return,
                };
                let limit = request.args.get("limit").and_then(Value::as_u64);
                let text = format!("{prefix} {limit:?}");
                let scans = self.scans.get_or_insert_with(|| Sample::new(SCANS));
                scans.offer(text, (prefix, limit));
            }
            (op, Some(key)) => {
                let holds = self.keys.entry(key.clone()).or_insert(false);
                let has_value = request.args.get("value").is_some();
                match op {
                    _ if refused => {}
                    "put" | "insert" if has_value => *holds = true,
                    "stamp" => *holds = true,
                    "delete" => *holds = false,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The probes: reads first, then the writes that must fail.
    fn probes(self: Box<Self>) -> Vec<Probe> {
        let mut out = Vec::new();
        let absent = fresh("k-probe-absent", |k| self.keys.contains_key(k));
        let gone: Vec<&String> = self
            .keys
            .iter()
            .filter(|(_, holds)| !**holds)
            .map(|(k, _)| k)
            .collect();
        let gone = lowest(gone, 1).into_iter().next();
        let read = |key: &str, why| keyed(key, "get", Kind::Read, json!({}), why);
        out.push(read(&absent, "get of a key never written"));
        if let Some(gone) = gone {
            out.push(read(gone, "get of a deleted key"));
        }
        for (prefix, limit) in self.scans.iter().flat_map(|s| s.items()) {
            let count = self
                .keys
                .iter()
                .filter(|(k, holds)| **holds && k.starts_with(prefix.as_str()))
                .count() as u64;
            let mut scan = |args: Value, why| {
                out.push(Probe {
                    key: None,
                    op: "scan",
                    kind: Kind::Read,
                    args,
                    why,
                })
            };
            scan(json!({ "prefix": prefix, "limit": 0 }), "scan: limit 0");
            scan(json!({ "prefix": prefix, "limit": 1 }), "scan: limit 1");
            let past = json!({ "prefix": prefix, "limit": count + 1 });
            scan(past, "scan: limit past the count");
            if limit.is_some() {
                scan(json!({ "prefix": prefix }), "scan: without a limit");
            }
            let taken = |p: &str| self.keys.keys().any(|k| k.starts_with(p));
            let nothing = fresh(&format!("{prefix}probe-absent"), taken);
            scan(json!({ "prefix": nothing }), "scan: a prefix nothing has");
        }
        let write = |key: &str, op, args, why| keyed(key, op, Kind::Write, args, why);
        let why = "error path: delete of a key never written (not_found)";
        out.push(write(&absent, "delete", json!({}), why));
        if let Some(gone) = gone {
            let why = "error path: delete of a deleted key (not_found)";
            out.push(write(gone, "delete", json!({}), why));
        }
        let holding = self.keys.iter().filter(|(_, h)| **h).map(|(k, _)| k);
        for key in lowest(holding, KEYS) {
            let args = json!({ "value": { "probe": "must not be stored" } });
            let why = "error path: insert over an existing value (conflict)";
            out.push(write(key, "insert", args, why));
        }
        out
    }
}
