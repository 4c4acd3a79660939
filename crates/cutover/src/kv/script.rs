//! The `kv` domain's conformance script (`cutover check-target`): reads and writes, bad
//! arguments and numbers beyond 2^53 included, each compared with [`Memory`], the domain's
//! reference.

use super::memory::Memory;
use crate::cassette::{Kind, Request};
use crate::domain::Script;
use serde_json::{json, Value};
use std::sync::Arc;

/// The script, in order.
pub(super) fn script() -> Script {
    let write = Kind::Write;
    let read = Kind::Read;
    let v = json!({"n": 1, "name": "Zoë", "tags": ["a", "b"]});
    let big: Value = serde_json::from_str(
        r#"{"big": 12345678901234567890123, "exact": 0.1000000000000000055511151231257827}"#,
    )
    .expect("valid JSON");
    let steps = [
        (
            "get of an absent key",
            request(1, Some("k1"), "get", read, json!({})),
        ),
        (
            "put (create)",
            request(2, Some("k1"), "put", write, json!({"value": v})),
        ),
        (
            "get after put",
            request(3, Some("k1"), "get", read, json!({})),
        ),
        (
            "put (replace)",
            request(4, Some("k1"), "put", write, json!({"value": {"n": 2}})),
        ),
        (
            "insert of an existing key",
            request(5, Some("k1"), "insert", write, json!({"value": 1})),
        ),
        (
            "insert",
            request(
                6,
                Some("k2"),
                "insert",
                write,
                json!({"value": [null, 1.5]}),
            ),
        ),
        (
            "put of another key",
            request(7, Some("k10"), "put", write, json!({"value": "x"})),
        ),
        (
            "scan with a prefix",
            request(8, None, "scan", read, json!({"prefix": "k1"})),
        ),
        (
            "scan with a limit",
            request(9, None, "scan", read, json!({"limit": 2})),
        ),
        (
            "a number beyond 2^53 stored",
            request(15, Some("k4"), "put", write, json!({"value": big})),
        ),
        (
            "a number beyond 2^53 read back unchanged",
            request(16, Some("k4"), "get", read, json!({})),
        ),
        (
            "delete",
            request(10, Some("k1"), "delete", write, json!({})),
        ),
        (
            "delete of an absent key",
            request(11, Some("k1"), "delete", write, json!({})),
        ),
        (
            "bad arguments: put without a value",
            request(12, Some("k3"), "put", write, json!({})),
        ),
        (
            "bad arguments: scan limit not a count",
            request(13, None, "scan", read, json!({"limit": "x"})),
        ),
        (
            "bad arguments: get without a key",
            request(14, None, "get", read, json!({})),
        ),
    ];
    Script {
        steps: steps
            .into_iter()
            .map(|(name, request)| (name.to_string(), request))
            .collect(),
        reference: Arc::new(Memory::new()),
    }
}

/// One step's request, at a fixed time.
fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request::new(seq, key, op, kind, args, "2026-01-01T00:00:00.000Z")
}
