//! Unit tests of the conversations probes (no store needed).

use crate::{generate, ops, Conversations};
use chrono::DateTime;
use cutover::cassette::{Kind, Request};
use cutover::domain::DomainKit;
use cutover::probe::kinds;
use std::collections::BTreeSet;

fn derive(domain: &str, requests: &[Request]) -> Option<Vec<Request>> {
    assert_eq!(domain, "conversations");
    Some(cutover::probe::derive(
        Conversations.prober().unwrap(),
        requests,
    ))
}

#[test]
fn conversation_probes_are_deterministic_bounded_and_placed_after_the_recording() {
    let recorded = generate::cassette(30, 5);
    let probes = derive("conversations", &recorded).unwrap();
    assert_eq!(
        probes,
        derive("conversations", &recorded).unwrap(),
        "same input, same probes"
    );
    cutover::testing::assert_probes_placed(&recorded, &probes);
    // The bound of docs/src/probes.md.
    assert!(probes.len() <= 184, "{} probes", probes.len());
    for p in &probes {
        let parsed = ops::parse(p);
        assert!(parsed.is_ok(), "seq {} {}: {parsed:?}", p.seq, p.op);
    }
    let kinds = kinds(&probes);
    for expected in [
        "date range: to equals a stored created_at",
        "date range: from one tick before a stored created_at",
        "messages page: offset past the end",
        "messages page: limit at the maximum (1000)",
        "search: a LIKE `%` inside the text",
        "search: the recorded text in upper case",
        "find by ids: every id twice, reversed, between absent ids",
        "absent conversation: never created",
        "absent message of an existing conversation",
        "error path: remove_participant of an identity not taking part (not_found)",
        "error path: add_participant of an identity taking part (conflict)",
        "error path: create_conversation of an existing id (conflict)",
        "error path: write to a conversation never created (not_found)",
        "error path: promote_attachment of a free index (not_found)",
    ] {
        assert!(kinds.contains_key(expected), "{expected}: {kinds:#?}");
    }
    // Reads first, then the writes.
    let first_write = probes.iter().position(|p| p.kind == Kind::Write).unwrap();
    assert!(probes[first_write..].iter().all(|p| p.kind == Kind::Write));
    assert!(probes[first_write..].iter().all(|p| p
        .probe
        .as_deref()
        .unwrap()
        .starts_with("error path: ")));
}

#[test]
fn a_date_range_probe_ends_on_a_stored_created_at_and_one_tick_either_side() {
    let recorded = generate::cassette(30, 5);
    let probes = derive("conversations", &recorded).unwrap();
    let ends = |why: &str| -> Vec<String> {
        probes
            .iter()
            .filter(|p| p.probe.as_deref() == Some(why))
            .map(|p| p.args["to"].as_str().unwrap().to_string())
            .collect()
    };
    let stored: BTreeSet<String> = recorded
        .iter()
        .filter(|r| r.op == "create_conversation")
        .map(|r| {
            r.args["conversation"]["created_at"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let on = ends("date range: to equals a stored created_at");
    assert!(!on.is_empty());
    assert!(on.iter().all(|t| stored.contains(t)), "{on:?}");
    for (before, end) in ends("date range: to one tick before a stored created_at")
        .iter()
        .zip(&on)
    {
        let gap = DateTime::parse_from_rfc3339(end).unwrap()
            - DateTime::parse_from_rfc3339(before).unwrap();
        assert_eq!(gap.num_milliseconds(), 1, "{before} then {end}");
    }
}

#[test]
fn a_sampled_search_is_probed_with_the_like_metacharacters_embedded() {
    let search = |seq, text: &str| Request {
        seq,
        key: None,
        op: "search_messages".into(),
        kind: Kind::Read,
        args: serde_json::json!({ "text": text, "limit": 5 }),
        at: "2024-01-01T00:00:00.000Z".into(),
        outcome: None,
        state: None,
        latency_us: None,
        started_us: None,
        probe: None,
    };
    let probes = derive("conversations", &[search(1, "budget")]).unwrap();
    let texts: Vec<&str> = probes
        .iter()
        .filter(|p| p.op == "search_messages")
        .map(|p| p.args["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["BUDGET", "bud_et", "bud%get", "bud\\get"]);
}
