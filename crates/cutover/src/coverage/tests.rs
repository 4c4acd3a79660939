//! Unit tests of the coverage tally on the `kv` domain (no store needed).

use super::*;
use crate::cassette::{ErrorKind, Kind, Outcome};
use serde_json::json;

fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    serde_json::from_value(json!({
        "seq": seq, "key": key, "op": op, "kind": kind, "args": args,
        "at": "2026-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn kv() -> Tally {
    crate::Registry::builtin().tally("kv").unwrap()
}

fn feature<'c>(c: &'c Coverage, op: &str, name: &str) -> &'c Feature {
    c.rows
        .iter()
        .find(|r| r.op == op)
        .and_then(|r| r.features.iter().find(|f| f.name == name))
        .unwrap_or_else(|| panic!("{op}: {name} is not declared"))
}

#[test]
fn outcomes_sizes_and_shapes_are_counted_and_the_rest_are_gaps() {
    let mut tally = kv();
    let put = request(
        1,
        Some("a"),
        "put",
        Kind::Write,
        json!({"value": [1, null]}),
    );
    tally.observe(
        &put,
        Some(&Outcome::Ok(json!({"created": true}))),
        Some(&json!([1, null])),
    );
    let get = request(2, Some("b"), "get", Kind::Read, json!({}));
    tally.observe(&get, Some(&Outcome::error(ErrorKind::NotFound, "no")), None);
    let scan = request(3, None, "scan", Kind::Read, json!({"limit": 1}));
    tally.observe(&scan, Some(&Outcome::Ok(json!([{"key": "a"}]))), None);
    // Without an outcome a request is not counted as anything.
    tally.observe(&get, None, None);

    let c = tally.coverage();
    assert_eq!(feature(&c, "put", "ok").count, 1);
    assert_eq!(feature(&c, "put", "answer created = true").count, 1);
    assert_eq!(feature(&c, "put", "answer created = false").count, 0);
    assert_eq!(feature(&c, "put", "absent key").count, 1);
    assert_eq!(feature(&c, "get", "not_found").count, 1);
    assert_eq!(feature(&c, "get", "ok").count, 0);
    assert_eq!(feature(&c, "scan", "one").count, 1);
    assert_eq!(feature(&c, "scan", "limit reached").count, 1);
    assert_eq!(feature(&c, STORED, "null inside an array").count, 1);
    assert_eq!(c.unobserved, 1);
    let gaps: Vec<String> = c.gaps().iter().map(ToString::to_string).collect();
    assert!(gaps.contains(&"get: outcome ok".to_string()), "{gaps:?}");
    assert!(gaps.contains(&"delete: outcome not_found".to_string()));
    assert!(!gaps.iter().any(|g| g == "get: outcome not_found"));
    assert_eq!(c.outcome_gaps().iter().filter(|g| g.op == "get").count(), 1);
    let (declared, exercised) = c.counts();
    assert_eq!(declared, c.gaps().len() + exercised);
    assert!((c.share() - exercised as f64 / declared as f64).abs() < 1e-12);
}

#[test]
fn an_error_the_operation_does_not_declare_is_no_feature() {
    let mut tally = kv();
    // `put` declares no error kind: a conflict from it covers nothing, not even `ok`.
    let put = request(1, Some("a"), "put", Kind::Write, json!({"value": 1}));
    tally.observe(&put, Some(&Outcome::error(ErrorKind::Conflict, "x")), None);
    let c = tally.coverage();
    let (_, exercised) = c.counts();
    assert_eq!(exercised, 0, "{}", render(&c));
    // An operation the domain does not declare is counted apart.
    let other = request(2, Some("a"), "frobnicate", Kind::Write, json!({}));
    tally.observe(&other, Some(&Outcome::Ok(json!(null))), None);
    assert_eq!(tally.coverage().undeclared["frobnicate"], 1);
    assert_eq!(tally.coverage().counts().1, 0);
}

#[test]
fn merged_shards_add_up_and_other_domains_refuse() {
    let mut a = kv();
    let mut b = kv();
    let get = request(1, Some("a"), "get", Kind::Read, json!({}));
    a.observe(&get, Some(&Outcome::Ok(json!(1))), None);
    b.observe(&get, Some(&Outcome::Ok(json!(1))), None);
    b.observe(&get, Some(&Outcome::error(ErrorKind::NotFound, "")), None);
    let mut merged = a.coverage();
    merged.merge(&b.coverage()).unwrap();
    assert_eq!(feature(&merged, "get", "ok").count, 2);
    assert_eq!(feature(&merged, "get", "not_found").count, 1);
    let rows = merged.rows.iter().find(|r| r.op == "get").unwrap();
    assert_eq!(rows.requests, 3);
    let features = crate::Registry::builtin().domain("kv").unwrap().features();
    let other = Tally::new("ledger", features.unwrap()).coverage();
    assert!(merged.merge(&other).is_err());
    assert!(crate::Registry::builtin().tally("no-such-domain").is_none());
}

#[test]
fn every_declared_domain_has_a_tally() {
    let registry = crate::Registry::builtin();
    for name in registry.domain_names() {
        let c = registry.tally(name).unwrap().coverage();
        assert_eq!(c.counts().1, 0);
        assert!(c.counts().0 > 0);
        assert_eq!(c.share(), 0.0);
    }
}
