//! Shadow reads on live calls: the legacy answers every call whatever the candidate does
//! (diverges, fails, times out, panics, hangs); comparisons reach tracing and a results
//! directory that `cutover report` and `cutover gate` read; writes are not shadowed unless
//! mirrored to a separate store; clients are switched on at run time; queues stay bounded;
//! personal data never reaches the results.

use crate::util::doubles::{Double, Failure};
use crate::util::{cutover, write};
use cutover::capture::adapter::{outcome, request, Adapter, DomainError};
use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::capture::redact::{Redactor, Secret};
use cutover::capture::shadow::{as_client, Shadow, ShadowConfig, Writes};
use cutover::cassette::{ErrorKind, Kind, Outcome, Request};
use cutover::kv::memory::Memory;
use cutover::targets::{InfraError, Target};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A candidate store with a behaviour per key: `k-zoe` answers another name, `k-down` is
/// refused, `k-boom` panics, `k-slow` never answers, `k-hold` waits for `release`.
fn candidate() -> Arc<Double> {
    Arc::new(
        Double::memory()
            .named("candidate")
            .failing("k-down", Failure::Refuse)
            .failing("k-boom", Failure::Panic)
            .failing("k-slow", Failure::Hang)
            .holding("k-hold")
            .editing(|request, outcome| {
                if let (Some("k-zoe"), Outcome::Ok(Value::Object(map))) =
                    (request.key.as_deref(), outcome)
                {
                    map.insert("name".into(), json!("Zoe"));
                }
            }),
    )
}

const KEYS: [&str; 6] = ["k-ok", "k-zoe", "k-down", "k-boom", "k-slow", "k-hold"];

fn get(key: &str) -> Request {
    request("get", Some(key), Kind::Read, json!({}))
}

fn put(key: &str, value: Value) -> Request {
    request("put", Some(key), Kind::Write, json!({ "value": value }))
}

/// Both stores hold the same data, as if kept in step by the migration.
async fn seed(legacy: &Memory, candidate: &Double) {
    for key in KEYS {
        let value = json!({ "name": "Zoë", "email": format!("{key}@example.com") });
        legacy.execute(&put(key, value.clone())).await.unwrap();
        candidate.inner().execute(&put(key, value)).await.unwrap();
    }
}

/// The caller's answer, failing the test (instead of hanging) if the caller waits on the
/// candidate.
async fn call(target: &dyn Target, request: &Request) -> Result<Outcome, InfraError> {
    tokio::time::timeout(Duration::from_secs(10), target.execute(request))
        .await
        .expect("the caller waited on the candidate")
}

fn config(dir: &std::path::Path) -> ShadowConfig {
    let mut config = ShadowConfig::new("reads", "kv");
    config.rate = 1.0;
    config.timeout = Duration::from_millis(300);
    config.out = Some(dir.to_path_buf());
    config
}

#[tokio::test]
async fn the_legacy_answers_every_call_and_the_candidate_never_reaches_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    let (legacy, twin, candidate) = (Memory::new(), Memory::new(), candidate());
    seed(&legacy, &candidate).await;
    seed(&twin, &candidate).await;
    let shadow = Arc::new(Shadow::start(candidate.clone(), config(dir.path()), None).unwrap());
    let service = shadow.wrap(legacy);
    for key in KEYS {
        let answer = call(&service, &get(key)).await;
        assert_eq!(answer, twin.execute(&get(key)).await, "{key}");
    }
    // k-hold's candidate call is still waiting: the caller had its answer before it.
    assert!(
        shadow.stats().compared() <= 5,
        "k-hold was compared before its candidate call was released"
    );
    candidate.release();
    // Writes are not shadowed by default.
    let answer = call(&service, &put("k-new", json!({ "n": 1 })))
        .await
        .unwrap();
    assert_eq!(answer, Outcome::Ok(json!({ "created": true })));
    let report = shadow.finish().await.unwrap().expect("a report");
    assert_eq!(candidate.writes(), 0);
    assert_eq!(
        candidate.inner().dump("k-new").await.unwrap(),
        Some(Value::Null)
    );

    let stats = shadow.stats();
    assert_eq!(stats.calls.load(Ordering::Relaxed), 7);
    assert_eq!(stats.shadowed.load(Ordering::Relaxed), 6);
    assert_eq!(stats.equal.load(Ordering::Relaxed), 2, "k-ok and k-hold");
    assert_eq!(stats.divergent.load(Ordering::Relaxed), 1, "k-zoe");
    assert_eq!(stats.inconclusive.load(Ordering::Relaxed), 3);
    assert_eq!(stats.candidate_failures.load(Ordering::Relaxed), 3);
    assert_eq!(report.totals.total, 6);
    assert_eq!(report.totals.divergent, 1);
    let info = report.shadow.as_ref().expect("shadow figures");
    assert_eq!((info.calls, info.shadowed, info.skipped), (7, 6, 0));
    assert_eq!(info.writes, "skip");

    // The results say what happened to each call.
    let results = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    let results: Vec<Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |key: &str| results.iter().find(|r| r["key"] == key).unwrap().clone();
    assert_eq!(of("k-zoe")["status"], "divergent");
    assert_eq!(of("k-zoe")["divergences"][0]["path"], "$.name");
    assert!(of("k-boom")["candidate"]["failure"]
        .as_str()
        .unwrap()
        .contains("panicked: candidate bug on k-boom"));
    assert!(of("k-slow")["candidate"]["failure"]
        .as_str()
        .unwrap()
        .contains("timed out"));
    assert!(of("k-down")["candidate"]["failure"]
        .as_str()
        .unwrap()
        .contains("connection refused"));

    // The gate and the report read the experiment's directory like a replay's.
    let policy = write(
        dir.path(),
        "policy.toml",
        "[gate]\noperations = [\"get\"]\nmax_inconclusive_rate = 1.0\nread_max_divergence_rate = 0.5\n",
    );
    let gate = cutover()
        .arg("gate")
        .arg(dir.path())
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&gate.stdout);
    assert_eq!(gate.status.code(), Some(1), "{said}");
    assert!(said.contains("REJECTED"), "{said}");
    let md = cutover()
        .arg("report")
        .arg(dir.path())
        .args(["--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("$.name") && md.contains("Zoe"), "{md}");
}

/// Collects what `tracing` says, as text.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn divergences_are_tracing_events_and_personal_data_never_reaches_the_results() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let (legacy, candidate) = (Memory::new(), candidate());
    seed(&legacy, &candidate).await;
    let redactor = Redactor::parse(
        "[[redact]]\npath = \"$..email\"\naction = \"hash\"\non = \"both\"\n\n[[redact]]\npath = \"$..name\"\naction = \"hash\"\non = \"outcome\"\n",
        "redactions.toml",
        |_| Some(Secret::new(b"k".to_vec())),
    )
    .unwrap();
    let shadow =
        Arc::new(Shadow::start(candidate.clone(), config(dir.path()), Some(redactor)).unwrap());
    let service = shadow.wrap(legacy);
    // The divergent call's arguments are kept with its result, redacted as recorded.
    call(&service, &get("k-ok")).await.unwrap();
    let mut asked = get("k-zoe");
    asked.args = json!({"asked_by": {"email": "ops@example.com"}});
    call(&service, &asked).await.unwrap();
    shadow.finish().await.unwrap();
    let results = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    let kept = results
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["status"] == "divergent")
        .unwrap();
    assert!(
        kept["args"]["asked_by"]["email"]
            .as_str()
            .is_some_and(|e| e.starts_with("hmac:")),
        "{kept}"
    );

    // Hashed fields still compare: equal emails are equal, the changed name is not.
    let stats = shadow.stats();
    assert_eq!(stats.equal.load(Ordering::Relaxed), 1);
    assert_eq!(stats.divergent.load(Ordering::Relaxed), 1);
    let mut bytes = Vec::new();
    for name in ["results.jsonl", "report.json"] {
        bytes.extend(std::fs::read(dir.path().join(name)).unwrap());
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("hmac:"), "{text}");
    for planted in ["Zoë", "Zoe", "@example.com"] {
        assert!(
            !text.contains(planted),
            "{planted} reached the results: {text}"
        );
    }
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("the candidate diverged"), "{log}");
    assert!(
        log.contains("key=\"k-zoe\"") || log.contains("key=k-zoe"),
        "{log}"
    );
    assert!(log.contains("path=$.name"), "{log}");
}

#[tokio::test]
async fn clients_switched_on_at_run_time_are_shadowed_and_others_are_not() {
    let (legacy, candidate) = (Memory::new(), candidate());
    seed(&legacy, &candidate).await;
    let mut config = ShadowConfig::new("beta", "kv");
    config.rate = 0.0;
    let shadow = Arc::new(Shadow::start(candidate.clone(), config, None).unwrap());
    let service = shadow.wrap(legacy);
    as_client("acme", call(&service, &get("k-ok")))
        .await
        .unwrap();
    shadow.enable_client("acme");
    as_client("acme", call(&service, &get("k-ok")))
        .await
        .unwrap();
    as_client("globex", call(&service, &get("k-ok")))
        .await
        .unwrap();
    call(&service, &get("k-ok")).await.unwrap();
    shadow.disable_client("acme");
    as_client("acme", call(&service, &get("k-ok")))
        .await
        .unwrap();
    shadow.enable_client("acme");
    shadow.set_enabled(false);
    as_client("acme", call(&service, &get("k-ok")))
        .await
        .unwrap();
    let report = shadow
        .finish()
        .await
        .unwrap()
        .expect("a report without files");
    assert_eq!(shadow.stats().calls.load(Ordering::Relaxed), 6);
    assert_eq!(shadow.stats().shadowed.load(Ordering::Relaxed), 1);
    assert_eq!(report.totals.equal, 1);
}

#[tokio::test]
async fn a_full_queue_skips_comparisons_without_making_the_caller_wait() {
    let (legacy, candidate) = (Memory::new(), candidate());
    seed(&legacy, &candidate).await;
    let mut config = ShadowConfig::new("tight", "kv");
    config.rate = 1.0;
    config.lanes = 1;
    config.queue = 1;
    config.timeout = Duration::from_secs(3600);
    let shadow = Arc::new(Shadow::start(candidate.clone(), config, None).unwrap());
    let service = shadow.wrap(legacy);
    // The one lane holds k-hold's candidate call until released; one more call waits in
    // the queue; the rest are skipped, and every caller has its answer at once.
    for _ in 0..50 {
        call(&service, &get("k-hold")).await.unwrap();
    }
    let stats = shadow.stats();
    let (shadowed, skipped) = (
        stats.shadowed.load(Ordering::Relaxed),
        stats.skipped.load(Ordering::Relaxed),
    );
    assert_eq!(shadowed + skipped, 50);
    assert!(skipped >= 48, "shadowed {shadowed}, skipped {skipped}");
    for _ in 0..shadowed {
        candidate.release();
        tokio::task::yield_now().await;
    }
    let report = shadow.finish().await.unwrap().unwrap();
    assert_eq!(report.totals.total, shadowed);
    assert_eq!(report.shadow.unwrap().skipped, skipped);
}

#[tokio::test]
async fn mirrored_writes_go_to_a_separate_store_from_each_key_s_creation() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = Memory::new();
    // A key the legacy held before the experiment: the mirror never saw it created.
    legacy
        .execute(&put("k-old", json!({ "n": 0 })))
        .await
        .unwrap();
    let mirror = candidate();
    let mut config = config(dir.path());
    config.writes = Writes::Mirror {
        separate_store: "memory (mirror)".into(),
        creates: HashSet::from(["insert".to_string()]),
    };
    let shadow = Arc::new(Shadow::start(mirror.clone(), config, None).unwrap());
    let service = shadow.wrap(legacy);
    let insert = |key: &str, n: u64| {
        request(
            "insert",
            Some(key),
            Kind::Write,
            json!({ "value": { "n": n } }),
        )
    };
    call(&service, &insert("k-a", 1)).await.unwrap();
    call(&service, &put("k-a", json!({ "n": 2 })))
        .await
        .unwrap();
    call(&service, &get("k-a")).await.unwrap();
    call(&service, &put("k-old", json!({ "n": 3 })))
        .await
        .unwrap();
    call(&service, &get("k-old")).await.unwrap();
    // The mirror refuses k-down's creation: the key is out of step, and left alone after.
    call(&service, &insert("k-down", 1)).await.unwrap();
    call(&service, &get("k-down")).await.unwrap();
    let report = shadow.finish().await.unwrap().unwrap();

    assert_eq!(
        mirror.inner().dump("k-a").await.unwrap(),
        Some(json!({ "n": 2 }))
    );
    assert_eq!(
        mirror.inner().dump("k-old").await.unwrap(),
        Some(Value::Null)
    );
    let stats = shadow.stats();
    assert_eq!(mirror.writes(), 3, "k-a twice, k-down once");
    // k-down's read was queued before its creation failed on the mirror, and withdrawn.
    assert_eq!(stats.shadowed.load(Ordering::Relaxed), 5);
    assert_eq!(stats.withdrawn.load(Ordering::Relaxed), 1);
    assert_eq!(stats.equal.load(Ordering::Relaxed), 3);
    assert_eq!(stats.inconclusive.load(Ordering::Relaxed), 1);
    assert_eq!(stats.desynced_keys.load(Ordering::Relaxed), 1);
    let info = report.shadow.unwrap();
    assert_eq!(info.writes, "mirror to memory (mirror)");
    assert_eq!((info.desynced_keys, info.withdrawn), (1, 1));
    assert_eq!(report.operations["insert"].requests.total, 2);
}

/// A team's own repository: typed answers, its own error type.
struct People(HashMap<&'static str, &'static str>);

#[derive(Debug, serde::Serialize)]
struct Person {
    id: String,
    name: String,
}

#[derive(Debug)]
enum PeopleError {
    Missing(String),
    Down,
}

impl std::fmt::Display for PeopleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeopleError::Missing(id) => write!(f, "no person {id}"),
            PeopleError::Down => f.write_str("the people store is down"),
        }
    }
}

impl DomainError for PeopleError {
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            PeopleError::Missing(_) => Some(ErrorKind::NotFound),
            PeopleError::Down => None,
        }
    }
}

impl People {
    async fn person(&self, id: &str) -> Result<Person, PeopleError> {
        match (id, self.0.get(id)) {
            ("down", _) => Err(PeopleError::Down),
            (_, Some(name)) => Ok(Person {
                id: id.into(),
                name: name.to_string(),
            }),
            (_, None) => Err(PeopleError::Missing(id.into())),
        }
    }
}

#[tokio::test]
async fn a_team_s_own_repository_type_is_recorded_and_shadowed_through_its_typed_calls() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = People(HashMap::from([("1", "Zoë"), ("2", "Ana")]));
    let candidate = Adapter::new(
        "people-v2",
        People(HashMap::from([("1", "Zoë"), ("2", "Anna")])),
        |people, request| async move {
            match request.op.as_str() {
                "person" => outcome(&people.person(request.key.as_deref().unwrap_or("")).await),
                other => Err(InfraError::Other(format!("no operation {other}"))),
            }
        },
    );
    let mut recording = RecorderConfig::new(dir.path().join("cassettes"), "people");
    recording.rate = 1.0;
    let recorder = Recorder::typed(recording, None).unwrap();
    let mut config = config(&dir.path().join("shadow"));
    config.domain = "people".into();
    let shadow = Shadow::start(Arc::new(candidate), config, None).unwrap();

    let mut names = Vec::new();
    for id in ["1", "2", "3", "down"] {
        let request = request("person", Some(id), Kind::Read, json!({}));
        // The service's own call, typed, with both around it.
        let answer = recorder
            .around(&request, shadow.around(&request, legacy.person(id)))
            .await;
        names.push(answer.map(|p| p.name).map_err(|e| e.to_string()));
    }
    assert_eq!(
        names,
        [
            Ok("Zoë".to_string()),
            Ok("Ana".to_string()),
            Err("no person 3".to_string()),
            Err("the people store is down".to_string())
        ]
    );
    let report = shadow.finish().await.unwrap().unwrap();
    recorder.finish().unwrap();
    assert_eq!(
        (
            report.totals.equal,
            report.totals.divergent,
            report.totals.inconclusive
        ),
        (2, 1, 1),
        "1 and 3 equal, 2 renamed, the legacy down"
    );
    assert_eq!(report.examples[0].key.as_deref(), Some("2"));
    // The recording holds the three answers; the infrastructure failure is not one.
    let file = dir.path().join("cassettes/cassette-000001.jsonl");
    let mut reader = cutover::cassette::Reader::open(&file).unwrap();
    let mut outcomes = Vec::new();
    while let Some(r) = reader.next_request().unwrap() {
        outcomes.push(serde_json::to_value(r.outcome.unwrap()).unwrap());
    }
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0], json!({ "ok": { "id": "1", "name": "Zoë" } }));
    assert_eq!(outcomes[2]["error"]["kind"], "not_found");
}
