//! Redaction: planted personal data never reaches the bytes written, while hashed fields
//! still join across requests.

use crate::util::request;
use cutover::capture::redact::{Redactor, Secret, MASK};
use cutover::cassette::{Header, Kind, Outcome, Request, Writer};
use serde_json::json;

const RULES: &str = r#"
key_env = "TEST_REDACTION_KEY"

[[redact]]
path = "$..email"
action = "hash"

[[redact]]
path = "$..phone"
action = "drop"

[[redact]]
path = "$..name"
action = "mask"

[[redact]]
path = "$.participants[*].identity_id"
action = "hash"
on = "args"
"#;

fn redactor(key: &str) -> Redactor {
    let key = key.to_string();
    Redactor::parse(RULES, "r.toml", move |var| {
        (var == "TEST_REDACTION_KEY").then(|| Secret::new(key.clone()))
    })
    .unwrap()
}

/// A recorded write of `c1` answered `outcome`, whose state holds personal data.
fn recorded(seq: u64, args: serde_json::Value, outcome: serde_json::Value) -> Request {
    Request {
        outcome: Some(Outcome::Ok(outcome)),
        state: Some(
            json!({"people": [{"name": "Ana Ødegaard", "email": "ana@example.com", "phone": "+47 912 34 567"}]}),
        ),
        ..request(seq, Some("c1"), "op", Kind::Write, args)
    }
}

fn ok(r: &Request) -> &serde_json::Value {
    match &r.outcome {
        Some(Outcome::Ok(v)) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn personal_data_never_reaches_the_cassette_and_hashes_still_join() {
    let r = redactor("s3cret-key-material");
    let mut first = recorded(
        1,
        json!({"participants": [{"identity_id": "u1", "name": "Ana Ødegaard", "email": "ana@example.com", "phone": "+47 912 34 567"},
                                {"identity_id": "u2", "name": "Bo Yamada", "email": "bo@example.org", "phone": "+81 90 1234 5678"}]}),
        json!({"created_by": {"email": "ana@example.com", "name": "Ana Ødegaard"}}),
    );
    let mut second = recorded(
        2,
        json!({"author": {"email": "ana@example.com"}}),
        json!([{"email": "bo@example.org", "phone": "+81 90 1234 5678"}]),
    );
    assert!(r.apply(&mut first) > 0);
    assert!(r.apply(&mut second) > 0);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let mut w = Writer::create(&path, &Header::new("t")).unwrap();
    w.write(&first).unwrap();
    w.write(&second).unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read_to_string(&path).unwrap();
    for planted in [
        "ana@example.com",
        "bo@example.org",
        "912 34 567",
        "90 1234 5678",
        "Ødegaard",
        "Yamada",
        "s3cret",
    ] {
        assert!(!bytes.contains(planted), "`{planted}` leaked: {bytes}");
    }
    // The same email hashes to the same token in both requests, in args and outcomes.
    let ana = first.args["participants"][0]["email"].as_str().unwrap();
    assert!(ana.starts_with("hmac:") && ana.len() == 5 + 32, "{ana}");
    assert_eq!(second.args["author"]["email"], ana);
    assert_eq!(ok(&first)["created_by"]["email"], ana);
    let bo = first.args["participants"][1]["email"].as_str().unwrap();
    assert_ne!(ana, bo);
    assert_eq!(ok(&second)[0]["email"], bo);
    // Dropped, masked, and the args-only rule left the outcome's ids alone.
    assert!(first.args["participants"][0].get("phone").is_none());
    assert_eq!(first.args["participants"][1]["name"], MASK);
    assert_eq!(first.state.as_ref().unwrap()["people"][0]["name"], MASK);
    assert!(first.args["participants"][0]["identity_id"]
        .as_str()
        .unwrap()
        .starts_with("hmac:"));

    // Another key, other tokens: the hash is keyed.
    let mut other = recorded(
        1,
        json!({"author": {"email": "ana@example.com"}}),
        json!(null),
    );
    redactor("another key").apply(&mut other);
    assert_ne!(other.args["author"]["email"], ana);
}

#[test]
fn the_key_is_required_for_hashing_and_never_shown() {
    let missing = Redactor::parse(RULES, "r.toml", |_| None).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "redactions r.toml: `hash` needs a key: set the environment variable TEST_REDACTION_KEY"
    );
    let r = redactor("s3cret-key-material");
    assert!(!format!("{r:?}").contains("s3cret"));
    assert_eq!(
        r.describe(),
        vec![
            "hash (HMAC-SHA-256) $..email in args and outcome",
            "drop $..phone in args and outcome",
            "mask $..name in args and outcome",
            "hash (HMAC-SHA-256) $.participants[*].identity_id in args",
        ]
    );
    let bad = Redactor::parse(
        "[[redact]]\npath = \"$..x\"\naction = \"erase\"\n",
        "b.toml",
        |_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(bad.starts_with("redactions b.toml line 3 "), "{bad}");
}
