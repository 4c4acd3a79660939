//! The `keys` exchange and the batch `dump` (`docs/src/protocol.md`) through real adapter
//! processes: the Python (`exec:` and `http:`), Node and Rust `kv` adapters page their keys
//! in byte order and dump a batch as they dump key by key; the `tasks` adapter pages its
//! integer ids by value; an adapter of before keeps working and answers no keys; malformed
//! pages and states fail naming the adapter and what was expected.

use super::{rust_adapter, HttpAdapter, NODE, PYTHON};
use cutover::cassette::{Kind, Request};
use cutover::targets::{dump_each, Dumped, InfraError, KeyOrder, Target};
use serde_json::{json, Value};
use std::sync::Arc;

async fn open(spec: &str) -> Arc<dyn Target> {
    match cutover::targets::open(spec).await {
        Some(Ok(target)) => target,
        Some(Err(e)) => panic!("{spec}: {e}"),
        None => panic!("{spec}: not a spec the core opens"),
    }
}

fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request::new(seq, key, op, kind, args, "2026-01-01T00:00:00.000Z")
}

/// Keys whose byte order differs from UTF-16's (U+FFFD before U+1F600) and from a
/// numeric one (`k10` before `k2`).
fn stored_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..17).map(|i| format!("k{i}")).collect();
    keys.extend(["K", "a", "é", "\u{FFFD}", "😀", "k 1"].map(String::from));
    keys
}

/// Every key, `limit` at a time, each page checked: at most `limit`, fewer only at the end.
async fn every_key(target: &dyn Target, limit: usize) -> (Vec<String>, usize) {
    let (mut keys, mut pages) = (Vec::<String>::new(), 0);
    loop {
        let after = keys.last().map(String::as_str);
        let page = target.keys(after, limit).await.unwrap();
        let page = page.unwrap_or_else(|| panic!("{} declares no keys", target.name()));
        assert!(page.len() <= limit, "{}: {page:?}", target.name());
        pages += 1;
        let last = page.len() < limit;
        keys.extend(page);
        if last {
            return (keys, pages);
        }
    }
}

async fn assert_pages_and_batches(spec: &str) {
    let target = open(spec).await;
    target.reset().await.unwrap();
    let mut expected = stored_keys();
    for (seq, key) in expected.iter().enumerate() {
        let put = json!({ "value": { "n": seq, "key": key } });
        let put = request(seq as u64, Some(key), "put", Kind::Write, put);
        target.execute(&put).await.unwrap();
    }
    expected.sort();
    assert_eq!(target.key_order(), KeyOrder::Bytes, "{spec}");
    let (keys, pages) = every_key(target.as_ref(), 4).await;
    assert_eq!(keys, expected, "{spec}");
    assert_eq!(pages, expected.len() / 4 + 1, "{spec}");
    assert_eq!(every_key(target.as_ref(), 1000).await.0, expected, "{spec}");
    let last = expected.last().map(String::as_str);
    assert_eq!(target.keys(last, 5).await.unwrap(), Some(vec![]), "{spec}");

    let batch: Vec<String> = ["k3", "never-written", "😀", "k10", "a"]
        .map(String::from)
        .to_vec();
    let dumped = target.dump_batch(&batch).await.unwrap();
    assert_eq!(dumped, dump_each(target.as_ref(), &batch).await.unwrap());
    assert_eq!(dumped[1], Dumped::State(Value::Null), "{spec}");
    assert_eq!(
        dumped[2],
        Dumped::State(json!({ "n": 21, "key": "😀" })),
        "{spec}"
    );
    assert_eq!(target.dump_batch(&[]).await.unwrap(), [], "{spec}");
}

#[tokio::test]
async fn the_kv_adapters_page_their_keys_in_byte_order_and_dump_batches_as_key_by_key() {
    let rust = format!("exec:{}", rust_adapter().display());
    for spec in [PYTHON, NODE, rust.as_str()] {
        assert_pages_and_batches(spec).await;
    }
}

#[tokio::test]
async fn the_planted_keys_skip_leaves_the_second_key_out_of_every_page() {
    let target = open("exec:KV_DEFECT=keys-skip python3 examples/adapters/kv.py").await;
    for (seq, key) in ["d", "a", "c", "b"].into_iter().enumerate() {
        let put = request(
            seq as u64,
            Some(key),
            "put",
            Kind::Write,
            json!({"value": seq}),
        );
        target.execute(&put).await.unwrap();
    }
    assert_eq!(every_key(target.as_ref(), 2).await.0, ["a", "c", "d"]);
    assert_eq!(every_key(target.as_ref(), 1).await.0, ["a", "c", "d"]);
}

#[tokio::test]
async fn the_python_adapter_pages_keys_and_dumps_batches_over_http() {
    let adapter = HttpAdapter::start("");
    assert_pages_and_batches(&adapter.1).await;
}

#[tokio::test]
async fn the_tasks_adapter_pages_its_integer_ids_by_value() {
    let target = open("exec:python3 examples/tasks/adapter.py --store sqlite").await;
    target.reset().await.unwrap();
    for seq in 0..12 {
        let args = json!({ "project": "p", "title": format!("t{seq}"), "priority": "low" });
        let create = request(seq, None, "create_task", Kind::Write, args);
        target.execute(&create).await.unwrap();
    }
    let delete = request(20, Some("5"), "delete_task", Kind::Write, json!({}));
    target.execute(&delete).await.unwrap();
    assert_eq!(target.key_order(), KeyOrder::Integer);
    let expected: Vec<String> = (1..=12)
        .filter(|i| *i != 5)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(every_key(target.as_ref(), 3).await.0, expected);
    assert_eq!(
        target.keys(Some("9"), 2).await.unwrap(),
        Some(vec!["10".to_string(), "11".to_string()])
    );
    let batch: Vec<String> = ["12", "5", "x", "1"].map(String::from).to_vec();
    let dumped = target.dump_batch(&batch).await.unwrap();
    assert_eq!(dumped, dump_each(target.as_ref(), &batch).await.unwrap());
    assert_eq!(
        dumped[1..3],
        [Dumped::State(Value::Null), Dumped::State(Value::Null)]
    );
}

/// An adapter of before the `keys` exchange: its handshake has none of the new members, and
/// any message but `hello` and a one-key `dump` stops it (no `key`: it crashes).
const OLD: &str = r#"exec:python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "hello":
        a = {"protocol": 1, "name": "old-kv", "domain": "kv", "supports": {"dump": True}}
    elif m["type"] == "dump":
        a = {"state": None if m["key"] == "absent" else {"at": m["key"]}}
    else:
        sys.exit("unexpected " + m["type"])
    a["id"] = m["id"]
    print(json.dumps(a), flush=True)
'"#;

#[tokio::test]
async fn an_adapter_without_the_new_members_keeps_working_and_lists_no_keys() {
    let target = open(OLD).await;
    assert_eq!(target.keys(None, 10).await, Ok(None));
    assert_eq!(target.key_order(), KeyOrder::Bytes);
    let batch = ["a".to_string(), "absent".to_string()];
    assert_eq!(
        target.dump_batch(&batch).await.unwrap(),
        [
            Dumped::State(json!({"at": "a"})),
            Dumped::State(Value::Null)
        ]
    );
    assert_eq!(target.dump("b").await, Ok(Some(json!({"at": "b"}))));
}

/// An adapter declaring `keys` and batch dumps whose answers are malformed: a page with a
/// number in it (three entries, whatever the limit), one state for any batch.
const MALFORMED: &str = r#"exec:python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] == "hello":
        s = {"dump": True, "keys": True, "dump_batch": True}
        a = {"protocol": 1, "name": "bad-pages", "domain": "kv", "supports": s}
    elif m["type"] == "keys":
        a = {"keys": ["b", "a", 3]}
    elif "keys" in m:
        a = {"states": [{"state": 1}]}
    else:
        a = {"state": {"at": m["key"]}}
    a["id"] = m["id"]
    print(json.dumps(a), flush=True)
'"#;

fn other(result: Result<impl std::fmt::Debug, InfraError>) -> String {
    match result {
        Err(InfraError::Other(text)) => text,
        other => panic!("expected InfraError::Other, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_pages_and_states_fail_naming_the_adapter_and_what_was_expected() {
    let target = open(MALFORMED).await;
    let error = other(target.keys(None, 10).await);
    assert!(
        error.starts_with("adapter `bad-pages` (python3 -c ")
            && error.contains(
                "answered `keys` with `keys[2]` 3 (a number); expected `keys`: an array of \
                 at most 10 strings, or a `failure`"
            ),
        "{error}"
    );
    let error = other(target.keys(Some("a"), 2).await);
    assert!(
        error.contains(
            "answered `keys` with 3 keys; expected `keys`: an array of at most 2 strings"
        ),
        "{error}"
    );
    let batch = ["a".to_string(), "b".to_string()];
    let error = other(target.dump_batch(&batch).await);
    assert!(
        error.starts_with("adapter `bad-pages`")
            && error.contains("answered `dump` with 1 states for 2 keys; expected `states`: an array of 2 entries, one per key in order"),
        "{error}"
    );
    // The adapter is not taken for broken: its other answers are read as before.
    assert_eq!(target.dump("a").await, Ok(Some(json!({"at": "a"}))));
}

/// An adapter of a domain without checks of its own whose `keys` answers the same key
/// whatever it is asked after, and whose batch dump answers a state for an absent key.
const REPEATING: &str = r#"exec:python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m["type"]
    if t == "hello":
        s = {"reset": True, "dump": True, "keys": True, "dump_batch": True, "concurrency": 4}
        a = {"protocol": 1, "name": "repeating", "domain": "opaque", "supports": s}
    elif t == "reset":
        a = {"ok": True}
    elif t == "execute":
        a = {"outcome": {"error": {"kind": "unsupported", "message": "no"}}}
    elif t == "keys":
        a = {"keys": ["b"][:m["limit"]]}
    elif "keys" in m:
        a = {"states": [{"state": 1} for k in m["keys"]]}
    else:
        a = {"state": None}
    a["id"] = m["id"]
    print(json.dumps(a), flush=True)
'"#;

#[test]
fn check_target_names_keys_out_of_order_and_a_batch_unlike_key_by_key() {
    let (code, session) = super::check_target(REPEATING);
    assert_eq!(code, Some(1), "{session:#}");
    assert_eq!(
        super::failed_checks(&session),
        ["keys, a page at a time", "batch dump"]
    );
    let details: Vec<&str> = session["checks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            "a batch `dump` of [\"cutover-check-never-written\"] answered state 1 for \
             `cutover-check-never-written`; a key with nothing stored must be \
             `{\"state\": null}`",
            "`keys` after `b` answered `b`; expected the keys after it in order `bytes`, \
             each once"
        ]
    );
}
