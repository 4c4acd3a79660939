//! The inputs cutover reads from outside, as entry points for a coverage-guided fuzzer
//! (`fuzz/`, run by `scripts/fuzz.sh`) and for the test that replays the inputs it found
//! (`tests/it/fuzzed.rs`). Each takes arbitrary bytes and reads them as cutover reads that
//! input, going on as far as a real command would where they are valid. An error is the
//! right answer to bad bytes; a panic, a hang or an allocation out of proportion to the
//! input is a bug.

use crate::cassette::{Kind, Reader};
use crate::declaration::Declaration;
use crate::gate::{self, Policy};
use crate::normalize::{Part, Rules};
use crate::rundir::RunDir;
use crate::targets::protocol::{self, Call, Hello};
use serde_json::{json, Map, Value};
use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

/// An entry point: reads arbitrary bytes.
pub type Entry = fn(&[u8]);

/// The inputs, by the name of their fuzz target.
pub const TARGETS: [(&str, Entry); 7] = [
    ("cassette", cassette),
    ("rules", rules),
    ("policy", policy),
    ("declaration", declaration),
    ("protocol", protocol_answers),
    ("rundir", run_dir),
    ("document", document),
];

/// A document as `cutover diff` reads it (`diff::parse`), held against serde_json: the two
/// accept the same texts and read the same values (number text, member order, the last
/// value of a key given twice), and the diff finds a document equal to itself and to
/// serde_json's reading of it. A disagreement panics.
pub fn document(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let arena = bumpalo::Bump::new();
    let ours = crate::diff::parse(text, &arena);
    let theirs: Result<Value, _> = serde_json::from_str(text);
    match (ours, theirs) {
        (Ok(node), Ok(value)) => {
            use crate::diff::Tree;
            assert_eq!(node.to_json().to_string(), value.to_string(), "read apart");
            assert!(crate::diff::values(&node, &node).is_equal());
            assert!(crate::diff::deep_eq(&node.to_json(), &value));
            assert_eq!(
                crate::diff::fingerprint(&node),
                crate::diff::fingerprint(&value)
            );
        }
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!(
            "parse: {:?}, serde_json: {:?}",
            ours.map(|_| ()),
            theirs.map(|_| ())
        ),
    }
}

/// A cassette (`replay`, `inspect`, `record`): the header, then every request up to the
/// end or the first error.
pub fn cassette(data: &[u8]) {
    let Ok(mut reader) = Reader::from_read("fuzz.jsonl", Cursor::new(data.to_vec())) else {
        return;
    };
    while let Ok(Some(_)) = reader.next_request() {}
    let _ = reader.truncation();
}

/// A rules file, and, where it parses, its rules applied to each part of a comparison of
/// two values that exercise paths, numbers, nulls in arrays and ties.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = Rules::parse(text, "fuzz.toml") else {
        return;
    };
    let run = Arc::new(rules).run();
    for part in [Part::Outcome, Part::State, Part::Events] {
        for op in ["get", "scan", "put"] {
            let (mut left, mut right) = sample_pair();
            let _ = run.compare(op, part, true, &mut left, &mut right);
            let mut alone = sample_pair().0;
            run.redact(op, part, &mut alone);
        }
    }
    let _ = run.usage();
}

fn sample_pair() -> (Value, Value) {
    let left = json!({
        "id": "a-1", "at": "2026-01-01T00:00:00.123456Z", "n": 9007199254740993u64,
        "price": 1.10, "tags": ["x", null, "y"], "items": [{"id": 2, "v": 1}, {"id": 1, "v": 1}],
        "nested": {"list": [[1, 2], [2, 1]], "null": null}
    });
    let right = json!({
        "id": "b-1", "at": "2026-01-01T00:00:00.123Z", "n": 9007199254740992u64,
        "price": 1.1, "tags": ["y", "x", null], "items": [{"id": 1, "v": 1}, {"id": 2, "v": 2}],
        "nested": {"list": [[2, 1], [1, 2]]}, "extra": true
    });
    (left, right)
}

/// A gate policy, and its per-operation limits where it parses.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(text, "fuzz.toml") else {
        return;
    };
    for op in ["get", "scan", "put"] {
        for kind in [Kind::Read, Kind::Write] {
            let _ = policy.max_divergence_rate(op, kind);
        }
        let _ = (policy.min_requests(op), policy.max_inconclusive_rate(op));
        let _ = (policy.max_unchecked_rate(op), policy.max_settle_p99(op));
        let _ = policy.latency_p99_ratio(op);
    }
}

/// A domain declaration (`--domain FILE`, or a handshake's).
pub fn declaration(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Declaration::parse(text, "fuzz.toml");
    }
}

/// The lines an adapter sends: each read as the handshake and as the answer to every call
/// type, as the `exec:` and `http:` transports read them.
pub fn protocol_answers(data: &[u8]) {
    let write = crate::capture::adapter::request("put", Some("k"), Kind::Write, json!({}));
    let keys = ["k".to_string(), "j".to_string()];
    for line in data.split(|b| *b == b'\n') {
        let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let hello = Hello::from_answer(&members).ok();
        let calls = [
            Call::Hello,
            Call::Reset,
            Call::Execute(&write),
            Call::Dump("k"),
            Call::Keys {
                after: Some("a"),
                limit: 2,
            },
            Call::DumpBatch(&keys),
        ];
        for call in &calls {
            answer(hello.as_ref(), call, &members, &write);
        }
    }
}

fn answer(
    hello: Option<&Hello>,
    call: &Call<'_>,
    members: &Map<String, Value>,
    write: &crate::cassette::Request,
) {
    let Ok(protocol::Answer::Executed(executed)) = protocol::answer("fuzz", call, members) else {
        return;
    };
    if let Some(hello) = hello {
        let _ = protocol::declared_events(hello, write, executed);
    }
}

/// A run directory as `report`, `gate` and `merge` read it: the bytes before the first
/// `\n\n` are `report.json`, the rest `results.jsonl`. Read, judged by a default policy,
/// and merged with itself as two shards.
pub fn run_dir(data: &[u8]) {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (report, results) = match split {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &data[data.len()..]),
    };
    let dir = scratch();
    let (a, b, out) = (dir.join("a"), dir.join("b"), dir.join("merged"));
    for shard in [&a, &b] {
        let _ = std::fs::create_dir_all(shard);
        let _ = std::fs::write(shard.join("report.json"), report);
        let _ = std::fs::write(shard.join("results.jsonl"), results);
    }
    let run = RunDir::new(&a);
    let Ok(report) = run.read_report() else {
        return;
    };
    let mut read = Vec::new();
    if let Ok(results) = run.results() {
        read.extend(results.map_while(Result::ok).take(10_000));
    }
    if let Ok(policy) = Policy::parse("", "default") {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
        let decision = gate::evaluate(&report, read.iter(), &policy, today);
        let _ = gate::render(&decision);
    }
    let _ = std::fs::create_dir_all(&out);
    let _ = crate::rundir::merge::merge(&[a, b], &RunDir::new(&out));
}

/// This process's scratch directory for [`run_dir`], reused by every call.
fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("cutover-fuzz-{}", std::process::id()))
}
