//! Network faults between cutover and a store (`docs/src/faults.md`): for PostgreSQL,
//! MariaDB, the MongoDB-wire server and an `http:` adapter, the candidate's link stalls
//! mid-answer, resets once, resets for good, gets ten times slower, or loses 5% of its
//! packets (`util::faults`). Every run ends: a verdict only from complete answers, what
//! could not be answered inconclusive with the fault as its cause, exit 2 when a side is
//! lost, a slower EQUIVALENT when it is only slow; `results.jsonl` holds every request once.
//!
//! These run the short cassettes; `scripts/faults.sh` runs the long ones and writes the table.

use crate::util::faults::{self, check_accounted, Injected, Run, Store};
use cutover::replay::Status;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long any one run may take before the test calls it hung.
const LIMIT: Duration = Duration::from_secs(240);

fn kv_demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kv-demo.jsonl")
}

/// What each fault must end in, beyond every request accounted for.
pub fn check(store: &Store, run: &Run) {
    check_accounted(store, run);
    let what = format!("{} under {}", store.name, run.fault.name());
    let stderr = &run.stderr;
    match run.fault {
        // Only slower: the same verdict as without the fault, every request compared.
        Injected::None | Injected::Latency | Injected::Loss => {
            assert_eq!(run.code, Some(0), "{what}: EQUIVALENT; stderr: {stderr}");
            assert_eq!(run.count(Status::Equal), run.requests, "{what}");
        }
        // The side is lost: the run stops, exit 2, naming the candidate.
        Injected::Stall | Injected::ResetAll => {
            assert_eq!(run.code, Some(2), "{what}: exit 2; stderr: {stderr}");
            assert_eq!(
                run.report["stopped"]["side"], "candidate",
                "{what}: the stop names the candidate; stderr: {stderr}"
            );
            assert!(
                stderr.contains("error: the candidate target (")
                    && stderr.contains("stopped answering"),
                "{what}: stderr names the side: {stderr}"
            );
            assert!(run.count(Status::Inconclusive) > 0, "{what}");
        }
        // One connection lost: its requests are inconclusive (exit 2), or the driver asked
        // again on a new connection (exit 0); the run goes on either way.
        Injected::Reset => {
            let inconclusive = run.count(Status::Inconclusive);
            assert!(
                run.report["stopped"].is_null(),
                "{what}: one reset does not stop the run; stderr: {stderr}"
            );
            assert_eq!(
                run.code,
                Some(if inconclusive == 0 { 0 } else { 2 }),
                "{what}: {inconclusive} inconclusive; stderr: {stderr}"
            );
            assert!(
                inconclusive <= 4,
                "{what}: one reset connection, {inconclusive} requests inconclusive"
            );
        }
    }
}

/// Runs the store clean, then under every fault tripping a third of the way through the
/// clean run's answer bytes; checks each and returns the table's lines.
pub fn matrix(store: &Store) -> Vec<String> {
    let clean = faults::run(store, Injected::None, 0, LIMIT);
    check(store, &clean);
    assert!(
        clean.answered > 0,
        "{}: nothing went through the link",
        store.name
    );
    let mut rows = Vec::new();
    for fault in Injected::ALL {
        let run = faults::run(store, fault, clean.answered / 3, LIMIT);
        check(store, &run);
        if matches!(
            fault,
            Injected::Stall | Injected::Reset | Injected::ResetAll
        ) {
            assert!(
                run.after_trip.is_some(),
                "{} under {}: the fault never tripped",
                store.name,
                fault.name()
            );
        }
        let line = faults::row(store, &run, &clean);
        eprintln!("{line}");
        rows.push(line);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_under_every_fault_ends_in_an_honest_verdict() {
    let store = Store::postgres(kv_demo()).await;
    tokio::task::spawn_blocking(move || matrix(&store))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_under_every_fault_ends_in_an_honest_verdict() {
    let store = Store::mariadb().await;
    tokio::task::spawn_blocking(move || matrix(&store))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mongodb_wire_server_under_every_fault_ends_in_an_honest_verdict() {
    let store = Store::mongo(kv_demo()).await;
    tokio::task::spawn_blocking(move || matrix(&store))
        .await
        .unwrap();
}

#[test]
fn an_http_adapter_under_every_fault_ends_in_an_honest_verdict() {
    let store = Store::http(kv_demo());
    matrix(&store);
}

/// A `kv` cassette of `requests` requests over a tenth as many keys (the memory store's
/// workload, seeded).
fn long_kv(dir: &Path, requests: u64) -> PathBuf {
    use cutover::cassette::{Header, Writer};
    let path = dir.join(format!("kv-{requests}.jsonl"));
    let mut writer = Writer::create(&path, &Header::new("kv")).unwrap();
    for r in cutover::kv::memory::Workload::new(requests, requests / 10, 7).scan_every(100) {
        writer.write(&r).unwrap();
    }
    writer.finish().unwrap();
    path
}

/// The guide's table, on a 3,000-request `kv` cassette (MariaDB: the worked migration's
/// 40), one store after another; written to `target/faults/table.md`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: scripts/faults.sh runs it and writes the guide's fault table"]
async fn the_fault_table_on_long_cassettes() {
    let dir = tempfile::tempdir().unwrap();
    let kv = long_kv(dir.path(), 3000);
    let stores = [
        Store::postgres(kv.clone()).await,
        Store::mariadb().await,
        Store::mongo(kv.clone()).await,
        Store::http(kv),
    ];
    let rows =
        tokio::task::spawn_blocking(move || stores.iter().flat_map(matrix).collect::<Vec<_>>())
            .await
            .unwrap();
    let table = format!(
        "| store | fault on the candidate's link | outcome | run time | without the fault |\n\
         |---|---|---|---|---|\n{}\n",
        rows.join("\n")
    );
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/faults");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("table.md"), &table).unwrap();
    println!("{table}");
}
