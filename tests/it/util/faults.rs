//! The fault harness (`docs/src/faults.md`): `cutover replay` run in a network namespace,
//! reaching each side's store through a [`Link`] on the namespace's veth pair; the
//! candidate's link stalls, resets or delays, or the kernel drops 5% of its packets. Both
//! sides are the same store and declaration, so a run the fault does not touch is
//! EQUIVALENT, and anything else is the fault's.

use cutover::replay::{RequestResult, Status};
use cutover_servers::link::{Fault, Link};
use cutover_servers::mongo::MongoServer;
use cutover_servers::mysql::MySqlServer;
use cutover_servers::netns::Netns;
use cutover_servers::postgres::PostgresServer;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The faults of the table, on the candidate's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// No fault: the baseline.
    None,
    /// The link stops forwarding mid-answer, on every connection, for good.
    Stall,
    /// The connection carrying an answer is reset mid-answer, once.
    Reset,
    /// Every connection is reset from mid-answer on: the store is gone.
    ResetAll,
    /// Every chunk held 5 ms each way: a 10 ms round trip, ten times a 1 ms one.
    Latency,
    /// 5% of the packets each way dropped by the kernel.
    Loss,
}

impl Injected {
    /// Every fault, in the table's order.
    pub const ALL: [Injected; 5] = [
        Injected::Stall,
        Injected::Reset,
        Injected::ResetAll,
        Injected::Latency,
        Injected::Loss,
    ];

    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Injected::None => "none",
            Injected::Stall => "stall mid-answer",
            Injected::Reset => "reset mid-answer (once)",
            Injected::ResetAll => "reset (every connection)",
            Injected::Latency => "10x latency (+5 ms each way)",
            Injected::Loss => "5% packet loss",
        }
    }

    /// The per-call limit the run gets: short where the fault loses a side, cutover's
    /// default where it only slows one.
    fn timeout(self) -> &'static str {
        match self {
            Injected::Stall | Injected::Reset | Injected::ResetAll => "2s",
            Injected::None | Injected::Latency | Injected::Loss => "30s",
        }
    }
}

/// One store behind links: where each side's server is and how a spec reaches it.
pub struct Store {
    pub name: &'static str,
    pub cassette: PathBuf,
    /// The legacy's and the candidate's server.
    upstream: [SocketAddr; 2],
    /// The target spec for a server at this address.
    spec: Box<dyn Fn(SocketAddr) -> String + Send + Sync>,
    /// How to drop a database a run made and could not drop (the stalled side's).
    kind: Kind,
    /// Servers and adapters kept alive while the store is used.
    _alive: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

enum Kind {
    Postgres(String),
    MySql(String),
    Mongo(String),
    Adapter,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `HOST:PORT` of a `scheme://[user@]host[:port][/...]` URL.
fn address(url: &str, default_port: u16) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let with_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:{default_port}")
    };
    with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.find(SocketAddr::is_ipv4))
        .unwrap_or_else(|| panic!("no IPv4 address for {url}"))
}

impl Store {
    /// PostgreSQL, through the declared `kv` target, on `fixtures/kv-demo.jsonl`.
    pub async fn postgres(cassette: PathBuf) -> Store {
        let server = PostgresServer::start().await.expect("a PostgreSQL server");
        let probe = server.fresh_database().await.expect("a database");
        let url = probe.url();
        let user = probe.options.get_username().to_string();
        let at = address(&url, 5432);
        let admin = format!("postgres://{user}@{at}/postgres");
        Store {
            name: "PostgreSQL",
            cassette,
            upstream: [at, at],
            spec: Box::new(move |a| {
                format!(
                    "sql:ops=examples/declared/kv-postgres.toml,schema=examples/declared/kv.sql,url=postgres://{user}@{a}"
                )
            }),
            kind: Kind::Postgres(admin),
            _alive: vec![Box::new(server)],
        }
    }

    /// MariaDB, through the worked migration's legacy declaration and cassette.
    pub async fn mariadb() -> Store {
        let server = MySqlServer::start().await.expect("a MariaDB server");
        let probe = server.fresh_database().await.expect("a database");
        let at = address(&probe.url, 3306);
        let user = probe
            .url
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .map_or("root".to_string(), |(u, _)| u.to_string());
        let admin = format!("mysql://{user}@{at}");
        let dir = "fixtures/migrations/mysql-to-postgres";
        Store {
            name: "MariaDB",
            cassette: root().join(dir).join("cassette.jsonl"),
            upstream: [at, at],
            spec: Box::new(move |a| {
                format!("sql:ops={dir}/legacy.toml,schema={dir}/legacy.sql,url=mysql://{user}@{a}")
            }),
            kind: Kind::MySql(admin),
            _alive: vec![Box::new(server)],
        }
    }

    /// The MongoDB-wire server (SecantusDB), through the declared `kv` target.
    pub async fn mongo(cassette: PathBuf) -> Store {
        let server = MongoServer::start().await.expect("a MongoDB-wire server");
        let at = address(server.uri(), 27017);
        Store {
            name: "MongoDB wire",
            cassette,
            upstream: [at, at],
            spec: Box::new(|a| {
                format!(
                    "mongodb:ops=examples/declared/kv-mongodb.toml,uri=mongodb://{a}/?directConnection=true"
                )
            }),
            kind: Kind::Mongo(format!("mongodb://{at}/?directConnection=true")),
            _alive: vec![Box::new(server)],
        }
    }

    /// The Python `kv` adapter over `http:`, one process per side.
    pub fn http(cassette: PathBuf) -> Store {
        let (legacy, legacy_at) = adapter();
        let (candidate, candidate_at) = adapter();
        Store {
            name: "http: adapter",
            cassette,
            upstream: [legacy_at, candidate_at],
            spec: Box::new(|a| format!("http:http://{a}")),
            kind: Kind::Adapter,
            _alive: vec![Box::new(legacy), Box::new(candidate)],
        }
    }
}

/// A child process killed when dropped.
struct Killed(std::sync::Mutex<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        let child = self.0.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `examples/adapters/kv.py --http 0`, and where it listens.
fn adapter() -> (Killed, SocketAddr) {
    let mut child = std::process::Command::new("python3")
        .args(["examples/adapters/kv.py", "--http", "0"])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the kv adapter");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the kv adapter said {line:?}, not `listening on PORT`"));
    (
        Killed(std::sync::Mutex::new(child)),
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

/// What one run under one fault did.
pub struct Run {
    pub fault: Injected,
    pub code: Option<i32>,
    /// From the start of the run to its exit.
    pub took: Duration,
    /// From the fault's trip to the exit (a tripped fault only).
    pub after_trip: Option<Duration>,
    pub results: Vec<RequestResult>,
    pub report: Value,
    pub stderr: String,
    /// Answer bytes the candidate's link forwarded.
    pub answered: u64,
    /// Requests in the cassette.
    pub requests: usize,
}

impl Run {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// The first candidate failure, for the table.
    pub fn cause(&self) -> Option<&str> {
        self.results
            .iter()
            .find_map(|r| r.candidate.failure.as_deref())
    }
}

/// Replays the store's cassette with `fault` on the candidate's link, tripping after
/// `trip_after` answer bytes; waits at most `limit` for the run to end.
pub fn run(store: &Store, fault: Injected, trip_after: u64, limit: Duration) -> Run {
    let ns = Netns::create().expect("a network namespace (root, iproute2)");
    let host = std::net::IpAddr::V4(ns.host());
    let legacy = Link::open(host, store.upstream[0]).expect("the legacy's link");
    let candidate = Link::open(host, store.upstream[1]).expect("the candidate's link");
    match fault {
        Injected::None => {}
        Injected::Stall => candidate.fail(Fault::Stall, trip_after),
        Injected::Reset => candidate.fail(Fault::Reset, trip_after),
        Injected::ResetAll => candidate.fail(Fault::ResetAll, trip_after),
        Injected::Latency => candidate.fail(Fault::Delay(Duration::from_millis(5)), 0),
        Injected::Loss => ns
            .lose(candidate.addr().port(), 5)
            .or_else(|_| {
                nft();
                ns.lose(candidate.addr().port(), 5)
            })
            .expect("nft drops packets in the namespace"),
    }
    let out = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = ns
        .command(env!("CARGO_BIN_EXE_cutover"))
        .arg("replay")
        .arg(&store.cassette)
        .arg("--out")
        .arg(out.path())
        .args(["--legacy", &(store.spec)(legacy.addr())])
        .args(["--candidate", &(store.spec)(candidate.addr())])
        .args(["--timeout", fault.timeout(), "--format", "json"])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cutover runs in the namespace");
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let mut tripped = None;
    let status = loop {
        if tripped.is_none() && fault != Injected::Latency && candidate.tripped() {
            tripped = Some(Instant::now());
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} under {}: the run had not ended after {limit:?}; stderr: {}",
                store.name,
                fault.name(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let exited = Instant::now();
    let took = exited - start;
    let stderr = stderr.join().unwrap();
    let answered = candidate.answered();
    drop((candidate, legacy));
    store.drop_left(&stderr);
    let results = read_results(out.path(), &stderr);
    let report = std::fs::read(out.path().join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    Run {
        fault,
        code: status.code(),
        took,
        after_trip: tripped.map(|t| exited - t),
        results,
        report,
        stderr,
        answered,
        requests: requests_in(&store.cassette),
    }
}

/// Debian's `nft`, installed by `scripts/install-nft.sh` when missing.
fn nft() {
    let script = root().join("scripts/install-nft.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "installing nftables with {} failed: the packet-loss faults need `nft`",
        script.display()
    );
}

fn requests_in(cassette: &Path) -> usize {
    std::fs::read_to_string(cassette)
        .unwrap()
        .lines()
        .count()
        .saturating_sub(1)
}

/// `results.jsonl`, every line whole: a line that does not parse fails the test.
fn read_results(out: &Path, stderr: &str) -> Vec<RequestResult> {
    assert!(
        !out.join("results.jsonl.partial").exists(),
        "results.jsonl.partial was left; stderr: {stderr}"
    );
    let text = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("results.jsonl: {e}; stderr: {stderr}"));
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("results.jsonl line {}: {e}: {l}", i + 1))
        })
        .collect()
}

impl Store {
    /// Drops the databases the run made (`made database NAME for this run on ...`) where
    /// it could not (the stalled side's), straight on the server.
    fn drop_left(&self, stderr: &str) {
        let names: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.split("made database ").nth(1))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        if names.is_empty() {
            return;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            for name in names {
                match &self.kind {
                    Kind::Postgres(admin) => {
                        let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        sqlx::query(&sql).execute(&mut c).await.unwrap();
                    }
                    Kind::MySql(admin) => {
                        let mut c = sqlx::MySqlConnection::connect(admin).await.unwrap();
                        let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                        sqlx::query(&sql).execute(&mut c).await.unwrap();
                    }
                    Kind::Mongo(uri) => {
                        let client = mongodb::Client::with_uri_str(uri).await.unwrap();
                        client.database(name).drop().await.unwrap();
                    }
                    Kind::Adapter => {}
                }
            }
        });
    }
}

/// Every request has one line, in cassette order, and the report counts them all.
pub fn check_accounted(store: &Store, run: &Run) {
    let what = format!("{} under {}", store.name, run.fault.name());
    assert_eq!(
        run.results.len(),
        run.requests,
        "{what}: one result per request; stderr: {}",
        run.stderr
    );
    assert!(
        run.results
            .iter()
            .enumerate()
            .all(|(i, r)| r.index == i as u64),
        "{what}: results in cassette order, each once"
    );
    assert_eq!(
        run.report["totals"]["total"].as_u64(),
        Some(run.requests as u64),
        "{what}: the report counts every request; stderr: {}",
        run.stderr
    );
    // A verdict only from complete answers: the fault never makes a divergence, and
    // whatever was not answered is the candidate's failure.
    assert_eq!(
        run.count(Status::Divergent),
        0,
        "{what}: a fault is not a divergence; stderr: {}",
        run.stderr
    );
    // A request after a write that failed on the same key may differ for that write's
    // sake (it may have been applied): inconclusive, and tainted by that failure.
    let failed = |seq: u64| {
        run.results
            .iter()
            .any(|w| w.seq == seq && w.candidate.failure.is_some())
    };
    for r in run
        .results
        .iter()
        .filter(|r| r.status == Status::Inconclusive)
    {
        assert!(
            r.candidate.failure.is_some() || r.tainted_by.is_some_and(failed),
            "{what}: seq {} is inconclusive without a candidate failure: {r:?}",
            r.seq
        );
    }
}

/// One line of the table: store, fault, outcome, time.
pub fn row(store: &Store, run: &Run, clean: &Run) -> String {
    let outcome = match run.code {
        Some(0) => format!(
            "EQUIVALENT (exit 0), {} of {} compared",
            run.count(Status::Equal),
            run.requests
        ),
        Some(2) if !run.report["stopped"].is_null() => format!(
            "exit 2: candidate stopped answering; {} compared, {} inconclusive",
            run.count(Status::Equal),
            run.count(Status::Inconclusive)
        ),
        Some(2) => format!(
            "exit 2: {} inconclusive ({}), {} compared",
            run.count(Status::Inconclusive),
            run.cause()
                .unwrap_or("?")
                .chars()
                .take(60)
                .collect::<String>(),
            run.count(Status::Equal)
        ),
        other => format!("exit {other:?}"),
    };
    let after = run.after_trip.map_or(String::new(), |t| {
        format!(" ({:.1} s after the fault)", t.as_secs_f64())
    });
    format!(
        "| {} | {} | {} | {:.1} s{} | {:.1} s |",
        store.name,
        run.fault.name(),
        outcome,
        run.took.as_secs_f64(),
        after,
        clean.took.as_secs_f64()
    )
}
