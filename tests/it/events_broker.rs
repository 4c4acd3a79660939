//! The events a write publishes to a real broker (NATS), watched through a subscription for
//! each side (`docs/src/events.md`): `kv.py --nats` publishing after its commits has every
//! write's event collected by its own request and none flagged before the commit; its
//! `events-before-commit` defect is flagged on its side only; a broker that stops mid-run
//! stops the run with the side's failure naming it; the command line wires both options.

use crate::util::{fixture, replay};
use async_trait::async_trait;
use cutover::cassette::{Event, Kind, Outcome, Reader, Request};
use cutover::replay::{Collect, Pair, ReplayOptions, ReplayRun, SideName};
use cutover::targets::{Executed, InfraError, Target};
use cutover_servers::nats::NatsServer;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A subject prefix no other run uses.
fn prefix(side: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("cutover-it.{side}.p{}x{nanos}x{n}", std::process::id())
}

/// `kv.py` publishing to `url` (with `defect` planted, if any).
fn kv(url: &str, defect: Option<&str>) -> String {
    let env = defect
        .map(|d| format!("KV_DEFECT={d} "))
        .unwrap_or_default();
    format!("exec:{env}python3 examples/adapters/kv.py --nats {url}")
}

/// Every request's outcome and events as a watched target told them, by seq; and, once
/// `stop_after` requests were executed, `on_stop` run once.
struct Recording {
    inner: Arc<dyn Target>,
    seen: Mutex<Vec<(Request, Executed)>>,
    stop_after: usize,
    on_stop: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Recording {
    fn new(inner: Arc<dyn Target>) -> Arc<Recording> {
        Arc::new(Recording {
            inner,
            seen: Mutex::default(),
            stop_after: usize::MAX,
            on_stop: Mutex::default(),
        })
    }

    fn events(&self) -> Vec<(Request, Executed)> {
        let mut seen = self.seen.lock().unwrap().clone();
        seen.sort_by_key(|(r, _)| r.seq);
        seen
    }
}

#[async_trait]
impl Target for Recording {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn domain(&self) -> Option<&str> {
        self.inner.domain()
    }
    async fn reset(&self) -> Result<(), InfraError> {
        self.inner.reset().await
    }
    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let executed = self.inner.execute_events(request).await?;
        let count = {
            let mut seen = self.seen.lock().unwrap();
            seen.push((request.clone(), executed.clone()));
            seen.len()
        };
        if count >= self.stop_after {
            if let Some(stop) = self.on_stop.lock().unwrap().take() {
                stop();
            }
        }
        Ok(executed)
    }
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.inner.dump(key).await
    }
}

async fn open(spec: &str) -> Arc<dyn Target> {
    cutover_cli::registry().open(spec).await.unwrap()
}

async fn watched(spec: &str, url: &str) -> Arc<dyn Target> {
    Arc::new(cutover_events::watch(open(spec).await, url).await.unwrap())
}

async fn replay_kv(legacy: Arc<dyn Target>, candidate: Arc<dyn Target>) -> ReplayRun {
    let pair = Pair { legacy, candidate };
    let cassette = Reader::open(fixture("kv-demo.jsonl")).unwrap();
    let options = ReplayOptions {
        timeout: Duration::from_secs(10),
        ..ReplayOptions::default()
    };
    cutover::replay(cassette, &pair, &options, &mut [&mut Collect::default()])
        .await
        .unwrap()
}

/// The event `kv.py` publishes for a request that succeeded, if it is a write.
fn expected(request: &Request, outcome: &Outcome) -> Vec<String> {
    let name = match request.op.as_str() {
        "put" => "value_put",
        "insert" => "value_inserted",
        "delete" => "value_deleted",
        _ => return vec![],
    };
    match outcome {
        Outcome::Ok(_) if request.kind == Kind::Write => vec![name.to_string()],
        _ => vec![],
    }
}

fn flagged(seen: &[(Request, Executed)]) -> usize {
    let events = seen.iter().flat_map(|(_, e)| e.events.iter().flatten());
    events.filter(|e: &&Event| e.before_commit).count()
}

/// Every request got exactly its own write's event, about its own key.
fn assert_each_request_has_its_events(side: &str, seen: &[(Request, Executed)]) {
    assert_eq!(seen.len(), 300, "{side}: every request executed once");
    let mut writes = 0;
    for (request, executed) in seen {
        let events = executed.events.as_ref().expect("a watched target tells");
        let names: Vec<String> = events.iter().map(|e| e.name.clone()).collect();
        assert_eq!(
            names,
            expected(request, &executed.outcome),
            "{side}: {request:?}"
        );
        for event in events {
            assert_eq!(event.payload["key"].as_str(), request.key.as_deref());
            writes += 1;
        }
    }
    assert!(writes > 100, "{side}: {writes} writes' events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_write_has_its_events_and_none_is_flagged_before_the_commit() {
    let server = NatsServer::start().await.expect("a NATS server");
    let (l, c) = (prefix("legacy"), prefix("candidate"));
    let legacy_url = format!("{}/{l}", server.url);
    let candidate_url = format!("{}/{c}", server.url);
    let legacy = Recording::new(watched(&kv(&legacy_url, None), &legacy_url).await);
    let candidate = Recording::new(watched(&kv(&candidate_url, None), &candidate_url).await);
    let run = replay_kv(legacy.clone(), candidate.clone()).await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    for (side, recording) in [("legacy", &legacy), ("candidate", &candidate)] {
        let seen = recording.events();
        assert_each_request_has_its_events(side, &seen);
        assert_eq!(flagged(&seen), 0, "{side}: no false alarm");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_published_inside_the_transaction_are_flagged_on_their_side() {
    let server = NatsServer::start().await.expect("a NATS server");
    let (l, c) = (prefix("legacy"), prefix("candidate"));
    let legacy_url = format!("{}/{l}", server.url);
    let candidate_url = format!("{}/{c}", server.url);
    let defect = Some("events-before-commit");
    let legacy = Recording::new(watched(&kv(&legacy_url, None), &legacy_url).await);
    let candidate = Recording::new(watched(&kv(&candidate_url, defect), &candidate_url).await);
    let run = replay_kv(legacy.clone(), candidate.clone()).await;
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    assert_eq!(flagged(&legacy.events()), 0);
    let seen = candidate.events();
    assert_each_request_has_its_events("candidate", &seen);
    let caught = flagged(&seen);
    eprintln!(
        "events-before-commit: {caught} events flagged of {} requests",
        seen.len()
    );
    assert!(caught >= 1, "the defect is caught");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_that_stops_mid_run_stops_the_run_naming_it() {
    let server = Arc::new(Mutex::new(NatsServer::spawn().await.expect("nats-server")));
    let url = format!("{}/{}", server.lock().unwrap().url, prefix("candidate"));
    let legacy = open("exec:python3 examples/adapters/kv.py").await;
    let candidate = Arc::new(Recording {
        inner: watched("exec:python3 examples/adapters/kv.py", &url).await,
        seen: Mutex::default(),
        stop_after: 50,
        on_stop: Mutex::new(Some(Box::new({
            let server = server.clone();
            move || server.lock().unwrap().stop()
        }))),
    });
    let started = Instant::now();
    let run = replay_kv(legacy, candidate).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let stop = run.stopped.expect("the run stopped");
    assert_eq!(stop.side, SideName::Candidate);
    assert!(
        stop.first_error.contains(&format!("events broker {url}")),
        "{}",
        stop.first_error
    );
}

#[test]
fn the_command_line_watches_each_side_and_stops_on_a_broker_it_cannot_reach() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(NatsServer::start())
        .expect("a NATS server");
    let (l, c) = (prefix("legacy"), prefix("candidate"));
    let (lu, cu) = (format!("{}/{l}", server.url), format!("{}/{c}", server.url));
    let (legacy, candidate) = (kv(&lu, None), kv(&cu, None));
    let out = tempfile::tempdir().unwrap();
    let args = [
        "--legacy",
        &legacy,
        "--candidate",
        &candidate,
        "--legacy-events",
        &lu,
        "--candidate-events",
        &cu,
    ];
    let run = replay(&fixture("kv-demo.jsonl"), out.path(), &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.report["verdict"], "equivalent");
    let dead = runtime.block_on(NatsServer::spawn()).expect("nats-server");
    let url = format!("{}/{c}", dead.url);
    drop(dead);
    let args = [
        "--candidate",
        "exec:python3 examples/adapters/kv.py",
        "--candidate-events",
        &url,
    ];
    let run = replay(&fixture("kv-demo.jsonl"), out.path(), &args);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--candidate-events"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("events broker {url}")),
        "{}",
        run.stderr
    );
}
