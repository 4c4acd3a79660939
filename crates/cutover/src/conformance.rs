//! The conformance session of `cutover check-target`: a short scripted run against an
//! adapter, each step a [`Check`] saying in the adapter's terms what was wrong.
//!
//! Every adapter is checked for the handshake, `reset`, an unknown operation (answered
//! `unsupported`), many requests in flight at once answered by id, and `dump` of a key
//! never written (`null`). An adapter of a domain with a conformance script (the `kv`
//! domain's: reads and writes, bad arguments included) also runs it, its answers and states
//! compared with the domain's reference store ([`crate::domain::Script`]). Then an adapter
//! that declares `keys` pages through what the script stored, and one that declares batch
//! dumps answers a batch as it answers key by key ([`keys`]). An adapter that declares
//! `supports.events` must answer each of the script's writes with a well-formed `events`
//! array.

mod keys;

use crate::cassette::{ErrorKind, Kind, Outcome, Request};
use crate::declaration::{expect, Declaration};
use crate::domain::{DomainKit, Script};
use crate::registry::Registry;
#[cfg(feature = "http")]
use crate::targets::protocol::http;
use crate::targets::protocol::{exec, Hello};
use crate::targets::{InfraError, Target};
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

/// Runs the session against the `exec:` or `http:` adapter `spec`; the domain script is
/// the one `registry` knows for the adapter's domain.
pub async fn run(registry: &Registry, spec: &str) -> Conformance {
    let mut session = Conformance {
        spec: spec.to_string(),
        hello: None,
        checks: Vec::new(),
    };
    let hello = match spec.split_once(':') {
        Some(("exec", rest)) => match exec::ExecSpec::parse(rest) {
            Ok(parsed) => exec::Exec::start(parsed).await.map(|e| {
                let hello = e.hello().clone();
                (Arc::new(e) as Arc<dyn Target>, hello)
            }),
            Err(e) => Err(e),
        }
        .map_err(|e| e.to_string()),
        #[cfg(feature = "http")]
        Some(("http", url)) => http::Http::connect(url)
            .await
            .map(|h| {
                let hello = h.hello().clone();
                (Arc::new(h) as Arc<dyn Target>, hello)
            })
            .map_err(|e| e.to_string()),
        _ => Err(match registry.open(spec).await {
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
            "`{}`, domain `{}`, reset: {}, dump: {}, {} in flight, keys: {} (order `{}`), \
             batch dump: {}, events: {}",
            hello.name,
            hello.domain,
            hello.supports.reset,
            hello.supports.dump,
            hello.supports.concurrency,
            hello.supports.keys,
            hello.key_order.name(),
            hello.supports.dump_batch,
            hello.supports.events
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
    session.domain_checks(registry, target, &hello).await;
    for (name, result) in keys::checks(target, &hello).await {
        session.record(name, result);
    }
    session
}

impl Conformance {
    /// The domain's script against its reference store, else the declared checks.
    async fn domain_checks(&mut self, registry: &Registry, target: &dyn Target, hello: &Hello) {
        let spec = self.spec.clone();
        let domain = registry.domain(&hello.domain);
        if let Some(script) = domain.and_then(|d| d.script()) {
            for (name, result) in run_script(script, target, hello).await {
                self.record(&name, result);
            }
            return;
        }
        self.declared_checks(domain, target, hello, &spec).await;
    }

    /// The checks of a declaration (the registry's or the handshake's), if there is one.
    async fn declared_checks(
        &mut self,
        domain: Option<&dyn DomainKit>,
        target: &dyn Target,
        hello: &Hello,
        spec: &str,
    ) {
        match declaration(domain, hello, spec) {
            Ok(Some(declaration)) => {
                if let Err(e) = target.reset().await.map_err(|e| failed("`reset`", e)) {
                    self.record("declared checks", Err(e));
                    return;
                }
                for (name, result) in expect::run(&declaration, target, hello.supports.dump).await {
                    self.record(&name, result);
                }
            }
            Ok(None) => self.record(
                "domain script",
                Ok(format!(
                    "none for domain `{}`: declare it (`--domain FILE`, or `declaration` in the \
                 handshake) or replay a recorded cassette against it next",
                    hello.domain
                )),
            ),
            Err(e) => self.record("declaration in the handshake", Err(e)),
        }
    }
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

/// The declaration to check the adapter against: the registry's (a `--domain` file or a
/// built-in), else the one the handshake sent.
fn declaration(
    domain: Option<&dyn DomainKit>,
    hello: &Hello,
    spec: &str,
) -> Result<Option<Arc<Declaration>>, String> {
    if let Some(declared) = domain.and_then(|d| d.declaration()) {
        return Ok(Some(declared));
    }
    let Some(sent) = &hello.declaration else {
        return Ok(None);
    };
    let origin = format!("the handshake of {spec}");
    let declared = Declaration::from_handshake(sent, &origin).map_err(|e| e.to_string())?;
    if declared.domain != hello.domain {
        return Err(format!(
            "{origin} declares domain `{}` but serves `{}`",
            declared.domain, hello.domain
        ));
    }
    Ok(Some(Arc::new(declared)))
}

fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request::new(seq, key, op, kind, args, "2026-01-01T00:00:00.000Z")
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

/// A domain's script: each step on the adapter and on the reference store, compared by
/// value, or by error kind; after a write, the key's state too when the adapter dumps.
async fn run_script(
    script: Script,
    target: &dyn Target,
    hello: &Hello,
) -> Vec<(String, Result<String, String>)> {
    let reference = script.reference;
    if let Err(e) = reference.reset().await {
        return vec![(format!("{} script", hello.domain), Err(e.to_string()))];
    }
    let mut checks = Vec::new();
    let mut with_events = 0;
    for (name, step) in script.steps {
        let expected = match reference.execute(&step).await {
            Ok(expected) => expected,
            Err(e) => {
                checks.push((name, Err(failed("the reference store", e))));
                break;
            }
        };
        let mut result = match execute_step(target, hello, &step).await {
            Ok((actual, events)) if same(&actual, &expected) => {
                with_events += usize::from(events && step.kind == Kind::Write);
                Ok(outcome_text(&actual))
            }
            Ok((actual, _)) => Err(format!(
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
        checks.push((name, result));
    }
    if hello.supports.events {
        checks.push(("events".into(), Ok(events_detail(with_events))));
    }
    checks
}

/// A script step on the adapter: its outcome, and whether its answer carried `events`.
/// When the adapter declares `supports.events`, the transport reads them and a write's
/// answer without a well-formed `events` array fails the step, naming the request.
async fn execute_step(
    target: &dyn Target,
    hello: &Hello,
    step: &Request,
) -> Result<(Outcome, bool), InfraError> {
    if !hello.supports.events {
        return target.execute(step).await.map(|o| (o, false));
    }
    let executed = target.execute_events(step).await?;
    match (executed.events, step.kind) {
        (None, Kind::Write) => Err(InfraError::Other(format!(
            "declares `supports.events` but answered write {} without `events`",
            step.seq
        ))),
        (events, _) => Ok((executed.outcome, events.is_some())),
    }
}

/// The `events` check's detail once every write of the script answered with its events.
fn events_detail(writes: usize) -> String {
    format!(
        "declared: {writes} writes of the script answered a well-formed `events` array \
         (a step whose answer lacked one, or held a malformed one, failed above)"
    )
}

/// Equal values, or errors of one kind (messages are the store's own wording).
fn same(actual: &Outcome, expected: &Outcome) -> bool {
    match (actual, expected) {
        (Outcome::Ok(a), Outcome::Ok(b)) => crate::diff::deep_eq(a, b),
        (Outcome::Error(a), Outcome::Error(b)) => a.kind == b.kind,
        _ => false,
    }
}
