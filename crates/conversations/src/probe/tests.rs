//! Unit tests of the conversations probes (no store needed).

use crate::{generate, ops};
use chrono::DateTime;
use cutover::cassette::{Kind, Request};
use cutover::domain::DomainKit;
use cutover::probe::kinds;
use std::collections::BTreeSet;

fn derive(domain: &str, requests: &[Request]) -> Option<Vec<Request>> {
    assert_eq!(domain, "conversations");
    Some(cutover::probe::derive(
        crate::domain().prober().unwrap(),
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
    // The bound of docs/src/probes.md: the domain's own probes, then the declaration's.
    assert!(probes.len() <= 320, "{} probes", probes.len());
    // Every probe is a request of the domain; the only ones it refuses are those the
    // declaration derives outside what it accepts (a limit outside 1..=1000, empty search
    // text), which both sides must refuse alike.
    let mut refused = BTreeSet::new();
    for p in &probes {
        if ops::parse(p).is_err() {
            refused.insert(p.probe.clone().unwrap());
        }
    }
    assert!(!refused.is_empty());
    assert!(
        refused
            .iter()
            .all(|why| why.contains(" outside its ") || why.contains(" text empty")),
        "{refused:#?}"
    );
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
    // Reads first, then the writes that must fail, then the others (edge values,
    // sequences): every read and error path finds the state the recording left.
    let first_write = probes.iter().position(|p| p.kind == Kind::Write).unwrap();
    let sequence = |p: &Request| p.probe.as_deref().unwrap().starts_with("sequence: ");
    assert!(probes[first_write..]
        .iter()
        .all(|p| p.kind == Kind::Write || sequence(p)));
    let error_path = |p: &Request| p.probe.as_deref().unwrap().starts_with("error path: ");
    let first_other = first_write
        + probes[first_write..]
            .iter()
            .position(|p| !error_path(p))
            .unwrap();
    assert!(first_other > first_write);
    assert!(!probes[first_other..].iter().any(error_path));
    assert!(
        kinds.keys().any(|k| k.starts_with("sequence: ")),
        "{kinds:#?}"
    );
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
        events: None,
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
    // The domain's own first; then the declaration's: the limit at its edges, and empty.
    assert_eq!(texts[..4], ["BUDGET", "bud_et", "bud%get", "bud\\get"]);
    assert!(
        texts[4..].iter().all(|t| ["budget", ""].contains(t)),
        "{texts:?}"
    );
    assert!(texts[4..].contains(&""));
}
