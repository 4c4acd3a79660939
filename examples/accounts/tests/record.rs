//! The fixture `fixtures/accounts.jsonl`: the requests below, recorded on the legacy
//! version with their outcomes and, after each write, the account's stored state. Written
//! again with `cargo test -p accounts --test record -- --ignored`; checked in every run
//! to be what the legacy answers today.

mod common;

use accounts::LegacyAccounts;
use common::{target, CASSETTE};
use cutover::{record_one, Header, Kind, Reader, Request, Writer};
use serde_json::{json, Value};

/// The requests: every call, every error, a closed and reopened account, and `list` as
/// the ids grow on both sides of the existing ones.
fn requests() -> Vec<Request> {
    use Kind::{Read, Write};
    let calls: Vec<(Option<&str>, &str, Kind, Value)> = vec![
        (None, "list", Read, json!({})),
        (Some("a1"), "open", Write, json!({ "owner": "Ana" })),
        (Some("a2"), "open", Write, json!({ "owner": "Bo" })),
        (Some("a1"), "open", Write, json!({ "owner": "Cy" })),
        (Some("a1"), "deposit", Write, json!({ "amount": 500 })),
        (Some("a2"), "deposit", Write, json!({ "amount": 120 })),
        (Some("a1"), "withdraw", Write, json!({ "amount": 200 })),
        (Some("a2"), "withdraw", Write, json!({ "amount": 500 })),
        (Some("a1"), "get", Read, json!({})),
        (Some("a9"), "get", Read, json!({})),
        (Some("a9"), "deposit", Write, json!({ "amount": 10 })),
        (Some("a1"), "deposit", Write, json!({ "amount": 0 })),
        (Some("a1"), "withdraw", Write, json!({ "amount": -5 })),
        (Some("a3"), "open", Write, json!({ "owner": "Zoë" })),
        (None, "list", Read, json!({})),
        (Some("a2"), "close", Write, json!({})),
        (Some("a2"), "withdraw", Write, json!({ "amount": 120 })),
        (Some("a2"), "close", Write, json!({})),
        (Some("a2"), "get", Read, json!({})),
        (None, "list", Read, json!({})),
        (Some("a2"), "open", Write, json!({ "owner": "Dee" })),
        (Some("a3"), "deposit", Write, json!({ "amount": 75 })),
        (Some("a3"), "withdraw", Write, json!({ "amount": 80 })),
        (Some("a3"), "withdraw", Write, json!({ "amount": 75 })),
        (Some("a2"), "deposit", Write, json!({ "amount": 1000 })),
        (Some("a2"), "withdraw", Write, json!({ "amount": 999 })),
        (Some("a2"), "withdraw", Write, json!({ "amount": 2 })),
        (None, "list", Read, json!({})),
        (Some("a0"), "open", Write, json!({ "owner": "Eli" })),
        (Some("a10"), "open", Write, json!({ "owner": "Fay" })),
        (None, "list", Read, json!({})),
        (Some("a3"), "get", Read, json!({})),
        (Some("a9"), "close", Write, json!({})),
        (Some("a3"), "close", Write, json!({})),
        (None, "list", Read, json!({})),
    ];
    calls
        .into_iter()
        .zip(1u64..)
        .map(|((key, op, kind, args), seq)| {
            let at = format!("2026-01-01T00:00:{seq:02}.000Z");
            Request::new(seq, key, op, kind, args, at)
        })
        .collect()
}

/// The requests recorded on a fresh legacy store.
async fn recorded() -> Vec<Request> {
    let legacy = target("legacy", LegacyAccounts::new());
    legacy.reset().await.unwrap();
    let mut out = Vec::new();
    for mut request in requests() {
        record_one(legacy.as_ref(), &mut request).await.unwrap();
        out.push(request);
    }
    out
}

#[tokio::test]
#[ignore = "writes fixtures/accounts.jsonl"]
async fn record_the_fixture() {
    let mut header = Header::new("accounts");
    header.meta.insert(
        "generator".into(),
        json!("cargo test -p accounts --test record -- --ignored"),
    );
    let mut writer = Writer::create(CASSETTE, &header).unwrap();
    for request in recorded().await {
        writer.write(&request).unwrap();
    }
    writer.finish().unwrap();
}

#[tokio::test]
async fn the_fixture_is_what_the_legacy_answers() {
    let mut reader = Reader::open(CASSETTE).unwrap();
    assert_eq!(reader.header().domain, "accounts");
    let mut stored = Vec::new();
    while let Some(request) = reader.next_request().unwrap() {
        stored.push(request);
    }
    assert_eq!(stored, recorded().await);
    // Every write has its state, so that the recording can be the legacy of a replay.
    assert!(stored
        .iter()
        .filter(|r| r.kind == Kind::Write)
        .all(|r| r.state.is_some()));
}
