//! The `memory` target: an in-memory key-value store.
//!
//! Operations (the `kv` domain):
//!
//! | op       | kind  | key      | args                                 | outcome                         |
//! |----------|-------|----------|--------------------------------------|---------------------------------|
//! | `get`    | read  | required | `{}`                                 | the value, or `not_found`       |
//! | `put`    | write | required | `{"value": V}`                       | `{"created": bool}`             |
//! | `insert` | write | required | `{"value": V}`                       | `null`, or `conflict`           |
//! | `delete` | write | required | `{}`                                 | `null`, or `not_found`          |
//! | `scan`   | read  | null     | `{"prefix"?: S, "limit"?: N}`        | `[{"key": K, "value": V}, ...]` in key order |
//! | `stamp`  | write | required | `{"value": V}`                       | `{"id": generated, "at": now, "value": V}`, also stored: a generated id and a clock, which differ between any two runs |
//!
//! Spec options: `latency=10ms` delays every request (not the state read-back).
//!
//! Events ([`Target::execute_events`], [`events`]): a write that succeeds publishes, in
//! order, `key_created {"key"}` when it made the key (a `put` of a new key, an `insert`),
//! then `value_put {"key", "value"}` (`put`, `insert`), `value_deleted {"key"}` (`delete`)
//! or `value_stamped {"key", "value"}` (`stamp`, its argument: the generated id and clock
//! are not in it). A read or a refused write publishes none.

use crate::cassette::{ErrorKind, Event, Kind, Outcome, Request};
use crate::targets::rng::Rng;
use crate::targets::{Executed, InfraError, Spec, SpecError, Target};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The in-memory key-value target.
#[derive(Debug, Default)]
pub struct Memory {
    data: Mutex<BTreeMap<String, Value>>,
    latency: Option<Duration>,
    /// Distinguishes the ids this store generates from another store's.
    salt: u64,
}

impl Memory {
    /// An empty store answering without delay.
    pub fn new() -> Memory {
        Memory {
            salt: STAMPS.fetch_add(1, Ordering::Relaxed) << 32,
            ..Memory::default()
        }
    }

    /// An empty store that waits `latency` before answering each request.
    pub fn with_latency(latency: Duration) -> Memory {
        Memory {
            latency: Some(latency),
            ..Memory::new()
        }
    }

    pub(crate) fn from_spec(spec: &Spec) -> Result<Memory, SpecError> {
        spec.expect_options(&["latency"])?;
        Ok(Memory {
            latency: spec.duration("latency")?,
            ..Memory::new()
        })
    }

    fn apply(&self, request: &Request) -> Outcome {
        let mut data = self
            .data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = request.key.as_deref();
        match (request.op.as_str(), key) {
            ("scan", None) => scan(&data, &request.args),
            ("scan", Some(_)) => Outcome::error(ErrorKind::Invalid, "scan takes no key"),
            (_, None) if is_keyed(&request.op) => {
                Outcome::error(ErrorKind::Invalid, format!("{} needs a key", request.op))
            }
            ("get", Some(key)) => match data.get(key) {
                Some(value) => Outcome::Ok(value.clone()),
                None => Outcome::error(ErrorKind::NotFound, format!("no value at {key}")),
            },
            ("put", Some(key)) => match request.args.get("value") {
                Some(value) => {
                    let created = data.insert(key.to_string(), value.clone()).is_none();
                    Outcome::Ok(json!({ "created": created }))
                }
                None => Outcome::error(ErrorKind::Invalid, "put needs args.value"),
            },
            ("insert", Some(key)) => match request.args.get("value") {
                Some(_) if data.contains_key(key) => {
                    Outcome::error(ErrorKind::Conflict, format!("{key} exists"))
                }
                Some(value) => {
                    data.insert(key.to_string(), value.clone());
                    Outcome::Ok(Value::Null)
                }
                None => Outcome::error(ErrorKind::Invalid, "insert needs args.value"),
            },
            ("delete", Some(key)) => match data.remove(key) {
                Some(_) => Outcome::Ok(Value::Null),
                None => Outcome::error(ErrorKind::NotFound, format!("no value at {key}")),
            },
            ("stamp", Some(key)) => {
                // A generated id and the wall clock: what differs between two runs.
                let id = format!(
                    "{:016x}",
                    STAMPS.fetch_add(1, Ordering::Relaxed) ^ std::process::id() as u64 ^ self.salt
                );
                let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let stamped = json!({ "id": id, "at": at, "value": request.args.get("value").cloned().unwrap_or(Value::Null) });
                data.insert(key.to_string(), stamped.clone());
                Outcome::Ok(stamped)
            }
            (op, _) => Outcome::error(ErrorKind::Unsupported, format!("unknown operation `{op}`")),
        }
    }
}

/// The events `request` published, answered `outcome` by the `kv` reference (see the
/// module's documentation): what an adapter of the `kv` domain that declares
/// `supports.events` reports for the same request.
pub fn events(request: &Request, outcome: &Outcome) -> Vec<Event> {
    let (Outcome::Ok(answer), Kind::Write, Some(key)) = (outcome, request.kind, &request.key)
    else {
        return Vec::new();
    };
    let value = || request.args.get("value").cloned().unwrap_or(Value::Null);
    let created = match request.op.as_str() {
        "put" => answer["created"] == json!(true),
        op => op == "insert",
    };
    let mut events = Vec::new();
    if created {
        events.push(Event::new("key_created", json!({ "key": key })));
    }
    let last = match request.op.as_str() {
        "put" | "insert" => ("value_put", json!({ "key": key, "value": value() })),
        "delete" => ("value_deleted", json!({ "key": key })),
        "stamp" => ("value_stamped", json!({ "key": key, "value": value() })),
        _ => return events,
    };
    events.push(Event::new(last.0, last.1));
    events
}

fn is_keyed(op: &str) -> bool {
    matches!(op, "get" | "put" | "insert" | "delete" | "stamp")
}

/// Stamps issued in this process, so that two stores never issue the same id.
static STAMPS: AtomicU64 = AtomicU64::new(0);

fn scan(data: &BTreeMap<String, Value>, args: &Value) -> Outcome {
    let prefix = match args.get("prefix") {
        None | Some(Value::Null) => "",
        Some(Value::String(p)) => p.as_str(),
        Some(_) => return Outcome::error(ErrorKind::Invalid, "scan args.prefix must be a string"),
    };
    let limit = match args.get("limit") {
        None | Some(Value::Null) => usize::MAX,
        Some(v) => match v.as_u64() {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => return Outcome::error(ErrorKind::Invalid, "scan args.limit must be a count"),
        },
    };
    let items = data
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .take(limit)
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    Outcome::Ok(Value::Array(items))
}

#[async_trait]
impl Target for Memory {
    fn name(&self) -> &str {
        "memory"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        Ok(self.apply(request))
    }

    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let outcome = self.execute(request).await?;
        let events = events(request, &outcome);
        Ok(Executed {
            outcome,
            events: Some(events),
        })
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Some(data.get(key).cloned().unwrap_or(Value::Null)))
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        use std::ops::Bound;
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
        let keys = data
            .range((from, Bound::Unbounded))
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        Ok(Some(keys))
    }

    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<crate::targets::Dumped>, InfraError> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(keys
            .iter()
            .map(|k| crate::targets::Dumped::State(data.get(k).cloned().unwrap_or(Value::Null)))
            .collect())
    }
}

/// A seeded synthetic `kv` workload, recorded against a [`Memory`] store so that every
/// request carries its true outcome (and its state, after a write).
///
/// The mix: gets, puts, inserts (some conflicting), deletes (some of absent keys), and a
/// keyless `scan` every `scan_every` requests. Used by tests, benchmarks and the demo.
pub struct Workload {
    store: Memory,
    rng: Rng,
    keys: u64,
    scan_every: u64,
    next_seq: u64,
    remaining: u64,
}

impl Workload {
    /// `requests` requests over `keys` keys, reproducible from `seed`.
    pub fn new(requests: u64, keys: u64, seed: u64) -> Workload {
        Workload {
            store: Memory::new(),
            rng: Rng::new(seed),
            keys: keys.max(1),
            scan_every: 1000,
            next_seq: 1,
            remaining: requests,
        }
    }

    /// A keyless `scan` every `n` requests (0: never).
    pub fn scan_every(mut self, n: u64) -> Workload {
        self.scan_every = n;
        self
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

impl Iterator for Workload {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = format!("2026-01-01T00:00:00.{:06}Z", seq % 1_000_000);
        let (op, kind, key, args) = if self.scan_every > 0 && seq.is_multiple_of(self.scan_every) {
            let prefix = ["k", "k1", "k2"][(self.next_u64() % 3) as usize];
            (
                "scan",
                Kind::Read,
                None,
                json!({ "prefix": prefix, "limit": 5 }),
            )
        } else {
            let key = format!("k{}", self.next_u64() % self.keys);
            let value = json!({ "n": self.next_u64() % 1000, "tags": ["a", "b"], "name": "Zoë" });
            match self.next_u64() % 20 {
                0..=9 => ("get", Kind::Read, Some(key), json!({})),
                10..=15 => ("put", Kind::Write, Some(key), json!({ "value": value })),
                16..=17 => ("insert", Kind::Write, Some(key), json!({ "value": value })),
                _ => ("delete", Kind::Write, Some(key), json!({})),
            }
        };
        let mut request = Request {
            events: None,
            latency_us: None,
            started_us: None,
            probe: None,
            seq,
            key,
            op: op.to_string(),
            kind,
            args,
            at,
            outcome: None,
            state: None,
        };
        request.outcome = Some(self.store.apply(&request));
        if let (Kind::Write, Some(key)) = (kind, &request.key) {
            let data = self.store.data.lock().unwrap_or_else(|p| p.into_inner());
            request.state = Some(data.get(key).cloned().unwrap_or(Value::Null));
        }
        Some(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(seq: u64, op: &str, value: Option<Value>) -> Request {
        let args = value.map_or_else(|| json!({}), |v| json!({ "value": v }));
        Request::new(seq, Some("k"), op, Kind::Write, args, "t")
    }

    async fn names(memory: &Memory, request: &Request) -> Vec<String> {
        let executed = memory.execute_events(request).await.unwrap();
        let events = executed.events.expect("memory tells its events");
        events.into_iter().map(|e| e.name).collect()
    }

    #[tokio::test]
    async fn a_write_publishes_what_it_changed_in_order_and_a_refused_one_nothing() {
        let memory = Memory::new();
        let steps = [
            (
                write(1, "put", Some(json!(1))),
                vec!["key_created", "value_put"],
            ),
            (write(2, "put", Some(json!(2))), vec!["value_put"]),
            (write(3, "insert", Some(json!(3))), vec![]),
            (write(4, "delete", None), vec!["value_deleted"]),
            (write(5, "delete", None), vec![]),
            (
                write(6, "insert", Some(json!(6))),
                vec!["key_created", "value_put"],
            ),
            (write(7, "stamp", Some(json!(7))), vec!["value_stamped"]),
            (write(8, "put", None), vec![]),
        ];
        for (request, expected) in steps {
            assert_eq!(names(&memory, &request).await, expected, "{}", request.seq);
        }
        let get = Request::new(9, Some("k"), "get", Kind::Read, json!({}), "t");
        assert!(names(&memory, &get).await.is_empty());
        let put = write(10, "put", Some(json!({"n": 1})));
        let events = events(&put, &Outcome::Ok(json!({"created": false})));
        let payload = json!({"key": "k", "value": {"n": 1}});
        assert_eq!(events, [Event::new("value_put", payload)]);
    }
}
