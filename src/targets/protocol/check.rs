//! The conformance session of `cutover check-target`: a short scripted run against an
//! adapter, each step a [`Check`] saying in the adapter's terms what was wrong.
//!
//! Every adapter is checked for the handshake, `reset`, an unknown operation (answered
//! `unsupported`), many requests in flight at once answered by id, and `dump` of a key
//! never written (`null`). An adapter of the `kv` domain also runs a script of reads and
//! writes, bad arguments included, whose answers and states are compared with the
//! in-process [`Memory`] store's, the domain's reference.

use super::Hello;
use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::targets::memory::Memory;
use crate::targets::{open, InfraError, Target};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// One step of the session.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether the adapter did what the protocol asks.
    pub passed: bool,
    /// What it did, and what was expected when it failed.
    pub detail: String,
}

/// The whole session.
#[derive(Debug, Clone, Serialize)]
pub struct Conformance {
    /// The spec checked.
    pub spec: String,
    /// The adapter's handshake, when it gave one.
    pub hello: Option<Hello>,
    /// Every step, in order.
    pub checks: Vec<Check>,
}

impl Conformance {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
}

/// Runs the session against the `exec:` or `http:` adapter `spec`.
pub async fn run(spec: &str) -> Conformance {
    let mut session = Conformance {
        spec: spec.to_string(),
        hello: None,
        checks: Vec::new(),
    };
    let hello = match spec.split_once(':') {
        Some(("exec", rest)) => match super::exec::ExecSpec::parse(rest) {
            Ok(parsed) => super::exec::Exec::start(parsed).await.map(|e| {
                let hello = e.hello().clone();
                (Arc::new(e) as Arc<dyn Target>, hello)
            }),
            Err(e) => Err(e),
        },
        Some(("http", url)) => super::http::Http::connect(url).await.map(|h| {
            let hello = h.hello().clone();
            (Arc::new(h) as Arc<dyn Target>, hello)
        }),
        _ => Err(match open(spec).await {
            Ok(_) => "not an adapter: check-target takes an `exec:` or `http:` spec".into(),
            Err(e) => e.to_string(),
        }),
    };
    let (target, hello) = match hello {
        Ok(opened) => opened,
        Err(e) => {
            session.record("handshake", Err(e));
            return session;
        }
    };
    session.record(
        "handshake",
        Ok(format!(
            "`{}`, domain `{}`, reset: {}, dump: {}, {} in flight",
            hello.name,
            hello.domain,
            hello.supports.reset,
            hello.supports.dump,
            hello.supports.concurrency
        )),
    );
    session.hello = Some(hello.clone());
    let target = target.as_ref();
    session.record("reset", reset(target, &hello).await);
    session.record("unknown operation", unknown_operation(target).await);
    session.record("requests in flight", in_flight(target, &hello).await);
    session.record(
        "dump of a key never written",
        dump_absent(target, &hello).await,
    );
    if hello.domain == "kv" {
        for (name, result) in kv_script(target, &hello).await {
            session.record(&name, result);
        }
    } else {
        session.record(
            "domain script",
            Ok(format!(
                "none for domain `{}`: replay a recorded cassette against it next",
                hello.domain
            )),
        );
    }
    session
}

impl Conformance {
    fn record(&mut self, name: &str, result: Result<String, String>) {
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.checks.push(Check {
            name: name.to_string(),
            passed,
            detail,
        });
    }
}

fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request {
        seq,
        key: key.map(str::to_string),
        op: op.to_string(),
        kind,
        args,
        at: "2026-01-01T00:00:00.000Z".into(),
        outcome: None,
        state: None,
        latency_us: None,
        started_us: None,
        probe: None,
    }
}

fn failed(what: &str, e: InfraError) -> String {
    format!("{what} failed: {e}")
}

async fn reset(target: &dyn Target, hello: &Hello) -> Result<String, String> {
    if !hello.supports.reset {
        return Ok("not declared: a replay starts from whatever the store holds".into());
    }
    target
        .reset()
        .await
        .map(|()| "answered `\"ok\": true`".into())
        .map_err(|e| failed("`reset`", e))
}

async fn unknown_operation(target: &dyn Target) -> Result<String, String> {
    let probe = request(
        1,
        Some("check-1"),
        "cutover.check.no_such_op",
        Kind::Read,
        json!({}),
    );
    match target.execute(&probe).await {
        Ok(Outcome::Error(e)) if e.kind == ErrorKind::Unsupported => {
            Ok("answered error kind `unsupported`".into())
        }
        Ok(other) => Err(format!(
            "answered {}; an operation the adapter does not know must be answered with \
             {{\"error\": {{\"kind\": \"unsupported\"}}}}",
            outcome_text(&other)
        )),
        Err(e) => Err(format!(
            "{}; an unknown operation is an answer (error kind `unsupported`), not a failure",
            failed("`execute`", e)
        )),
    }
}

/// Many requests sent at once, each of which must come back to its own caller: the same
/// unknown operation with distinct keys, whose messages name the key, is the one request
/// every adapter answers alike whatever its domain.
async fn in_flight(target: &dyn Target, hello: &Hello) -> Result<String, String> {
    let n = (hello.supports.concurrency * 2).clamp(8, 64);
    let calls = (0..n).map(|i| {
        let probe = request(
            100 + i as u64,
            Some(&format!("check-flight-{i}")),
            "cutover.check.no_such_op",
            Kind::Read,
            json!({ "i": i }),
        );
        async move { target.execute(&probe).await }
    });
    let answers = futures::future::join_all(calls).await;
    let failures: Vec<String> = answers
        .into_iter()
        .filter_map(|a| match a {
            Ok(Outcome::Error(e)) if e.kind == ErrorKind::Unsupported => None,
            Ok(other) => Some(outcome_text(&other)),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    match failures.first() {
        None => Ok(format!("{n} requests sent at once, each answered")),
        Some(first) => Err(format!(
            "{} of {n} requests sent at once were not answered `unsupported`; the first: {first}",
            failures.len()
        )),
    }
}

async fn dump_absent(target: &dyn Target, hello: &Hello) -> Result<String, String> {
    if !hello.supports.dump {
        return Ok("not declared: no write's stored state will be compared".into());
    }
    match target.dump("cutover-check-never-written").await {
        Ok(Some(Value::Null)) => Ok("answered `\"state\": null`".into()),
        Ok(Some(other)) => Err(format!(
            "answered state {other}; a key with nothing stored must be `null` (after reset)"
        )),
        Ok(None) => Err("answered no state".into()),
        Err(e) => Err(failed("`dump`", e)),
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).unwrap_or_else(|_| "?".into())
}

/// The `kv` script: each step on the adapter and on the reference store, compared by
/// value, or by error kind.
async fn kv_script(target: &dyn Target, hello: &Hello) -> Vec<(String, Result<String, String>)> {
    let reference = Memory::new();
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
    if let Err(e) = reference.reset().await {
        return vec![("kv script".into(), Err(e.to_string()))];
    }
    let mut checks = Vec::new();
    for (name, step) in steps {
        let expected = reference
            .execute(&step)
            .await
            .expect("the memory store answers");
        let mut result = match target.execute(&step).await {
            Ok(actual) if same(&actual, &expected) => Ok(outcome_text(&actual)),
            Ok(actual) => Err(format!(
                "`{}` answered {}; expected {}",
                step.op,
                outcome_text(&actual),
                outcome_text(&expected)
            )),
            Err(e) => Err(failed(&format!("`{}`", step.op), e)),
        };
        if let (Ok(_), Kind::Write, Some(key), true) =
            (&result, step.kind, step.key.as_deref(), hello.supports.dump)
        {
            let expected = reference.dump(key).await.ok().flatten();
            result = match target.dump(key).await {
                Ok(state) if state == expected => result,
                Ok(state) => Err(format!(
                    "after `{}`, `dump {key}` answered {}; expected {}",
                    step.op,
                    state.unwrap_or(Value::Null),
                    expected.unwrap_or(Value::Null)
                )),
                Err(e) => Err(failed(&format!("`dump {key}`"), e)),
            };
        }
        checks.push((name.to_string(), result));
    }
    checks
}

/// Equal values, or errors of one kind (messages are the store's own wording).
fn same(actual: &Outcome, expected: &Outcome) -> bool {
    match (actual, expected) {
        (Outcome::Ok(a), Outcome::Ok(b)) => crate::diff::deep_eq(a, b),
        (Outcome::Error(a), Outcome::Error(b)) => a.kind == b.kind,
        _ => false,
    }
}
