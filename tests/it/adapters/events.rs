//! The events a request published, through the target protocol (`docs/src/protocol.md`):
//! the Python (`exec:` and `http:`), Node and Rust `kv` adapters declare `supports.events`
//! and report, request by request over the kv fixture, the events the `memory` target
//! reports; each planted event defect of `kv.py` changes them as it says: a forgotten event
//! (a shorter list), two events swapped (the same events in another order), a payload
//! field renamed.

use super::{rust_adapter, HttpAdapter, NODE, PYTHON};
use crate::util::fixture;
use cutover::cassette::{Event, Kind, Reader, Request};
use cutover::targets::Target;
use cutover::Registry;
use std::sync::Arc;

async fn open(spec: &str) -> Arc<dyn Target> {
    Registry::builtin()
        .open(spec)
        .await
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// The kv fixture's requests.
fn requests() -> Vec<Request> {
    Reader::open(fixture("kv-demo.jsonl"))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every request of `requests` executed in order on `spec` after a reset: its events.
async fn events_of(spec: &str, requests: &[Request]) -> Vec<Option<Vec<Event>>> {
    let target = open(spec).await;
    target.reset().await.unwrap();
    let mut events = Vec::with_capacity(requests.len());
    for request in requests {
        let executed = target.execute_events(request).await;
        events.push(executed.unwrap_or_else(|e| panic!("{spec}: {e}")).events);
    }
    events
}

/// The requests whose events differ between `memory` and `spec`, with both lists.
async fn differing(spec: &str) -> Vec<(Request, Vec<Event>, Vec<Event>)> {
    let requests = requests();
    let memory = events_of("memory", &requests).await;
    let candidate = events_of(spec, &requests).await;
    let pairs = requests.into_iter().zip(memory).zip(candidate);
    pairs
        .map(|((request, memory), candidate)| {
            let known = |events: Option<Vec<Event>>| {
                events.unwrap_or_else(|| panic!("{spec}: no events for {}", request.seq))
            };
            (request.clone(), known(memory), known(candidate))
        })
        .filter(|(_, memory, candidate)| memory != candidate)
        .collect()
}

#[tokio::test]
async fn memory_reports_the_events_of_every_write() {
    let requests = requests();
    let events = events_of("memory", &requests).await;
    let mut names = std::collections::BTreeSet::new();
    for (request, events) in requests.iter().zip(&events) {
        let events = events.as_ref().expect("memory tells its events");
        if request.kind == Kind::Read {
            assert!(events.is_empty(), "{}: {events:?}", request.seq);
        }
        names.extend(events.iter().map(|e| e.name.clone()));
    }
    let expected = ["key_created", "value_deleted", "value_put"];
    assert_eq!(names.into_iter().collect::<Vec<_>>(), expected);
    let two = events.iter().flatten().filter(|e| e.len() == 2).count();
    assert!(two > 10, "{two} writes published two events");
}

#[tokio::test]
async fn the_adapters_report_the_events_memory_reports() {
    let http = HttpAdapter::start("");
    let rust = format!("exec:{}", rust_adapter().display());
    for spec in [PYTHON, NODE, &rust, &http.1] {
        let differing = differing(spec).await;
        assert!(differing.is_empty(), "{spec}: {:?}", differing.first());
    }
}

/// `kv.py` with `KV_DEFECT=defect`: the requests whose events differ from `memory`'s.
async fn planted(defect: &str) -> Vec<(Request, Vec<Event>, Vec<Event>)> {
    let spec = format!("exec:KV_DEFECT={defect} python3 examples/adapters/kv.py");
    let differing = differing(&spec).await;
    assert!(!differing.is_empty(), "{defect}: no events differ");
    differing
}

fn sorted(events: &[Event]) -> Vec<String> {
    let mut texts: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    texts.sort();
    texts
}

#[tokio::test]
async fn a_forgotten_event_leaves_the_list_shorter() {
    for (request, memory, candidate) in planted("events-forget").await {
        assert_eq!(request.op, "delete", "{}", request.seq);
        assert!(candidate.len() < memory.len(), "{}", request.seq);
        assert!(memory.starts_with(&candidate), "{}", request.seq);
    }
}

#[tokio::test]
async fn swapped_events_are_the_same_events_in_another_order() {
    for (request, memory, candidate) in planted("events-swap").await {
        assert_eq!(memory.len(), 2, "{}", request.seq);
        assert_eq!(sorted(&memory), sorted(&candidate), "{}", request.seq);
        let reversed: Vec<Event> = memory.iter().rev().cloned().collect();
        assert_eq!(candidate, reversed, "{}", request.seq);
    }
}

#[tokio::test]
async fn a_renamed_payload_field_differs_in_the_payload_only() {
    for (request, memory, candidate) in planted("events-rename").await {
        assert_eq!(memory.len(), candidate.len(), "{}", request.seq);
        for (m, c) in memory.iter().zip(&candidate).filter(|(m, c)| m != c) {
            assert_eq!(
                (m.name.as_str(), c.name.as_str()),
                ("value_put", "value_put")
            );
            assert_eq!(c.payload.get("new_value"), m.payload.get("value"));
            assert!(c.payload.get("value").is_none(), "{}", request.seq);
        }
    }
}

/// `kv.py` with its events replaced by `events` (Python: a function of the answer, the
/// request and the defect), still declaring `supports.events`.
fn kv_events_replaced(events: &str) -> String {
    format!(
        "exec:python3 -c 'import sys; sys.path.insert(0, \"examples/adapters\"); import kv; \
         kv.with_events = {events}; sys.exit(kv.main())'"
    )
}

#[test]
fn check_target_names_a_write_answered_without_events_or_with_malformed_ones() {
    let (code, session) = super::check_target(PYTHON);
    assert_eq!(code, Some(0), "{session:#}");
    let checks = session["checks"].as_array().unwrap();
    let events = checks.iter().find(|c| c["name"] == "events").unwrap();
    assert!(events["detail"]
        .as_str()
        .unwrap()
        .contains("well-formed `events`"));
    let cases = [
        ("lambda answer, request, defect: answer", "without `events`"),
        (
            "lambda answer, request, defect: {**answer, \"events\": [{\"payload\": 1}]}",
            "with `events[0]` {\"payload\":1} (an object)",
        ),
    ];
    for (replaced, what) in cases {
        let (code, session) = super::check_target(&kv_events_replaced(replaced));
        assert_eq!(code, Some(1), "{replaced}: {session:#}");
        let failed = super::failed_checks(&session);
        assert!(
            failed.iter().any(|name| name.starts_with("put")),
            "{failed:?}"
        );
        let checks = session["checks"].as_array().unwrap();
        let put = checks.iter().find(|c| c["passed"] == false).unwrap();
        let detail = put["detail"].as_str().unwrap();
        assert!(
            detail.contains("write request") || detail.contains("of request"),
            "{detail}"
        );
        assert!(detail.contains(what), "{replaced}: {detail}");
    }
}
