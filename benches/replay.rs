//! Replay throughput and side-by-side latency.
//!
//! * `throughput`: 10,000 `kv` requests, recorded vs in-memory, with state checks.
//! * `latency_10ms`: 100 requests on 10 keys, both sides taking 10 ms per request: about
//!   1 s at concurrency 1 (the slower side, not the sum) and 0.1 s at concurrency 10.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cutover::cassette::{Header, Kind, Reader, Request, Writer};
use cutover::kv::memory::{Memory, Workload};
use cutover::replay::{self, Pair, ReplayOptions};
use cutover::targets::recorded::Recorded;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn write(path: &Path, requests: impl Iterator<Item = Request>) {
    let mut w = Writer::create(path, &Header::new("kv")).unwrap();
    for r in requests {
        w.write(&r).unwrap();
    }
    w.finish().unwrap();
}

fn run(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    pair: &Pair,
    options: &ReplayOptions,
) -> u64 {
    let reader = Reader::open(path).unwrap();
    let run = runtime
        .block_on(replay::replay(reader, pair, options, &mut []))
        .unwrap();
    run.requests
}

/// The allocator the `cutover` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let workload = dir.path().join("workload.jsonl");
    write(&workload, Workload::new(10_000, 500, 1).scan_every(1000));
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("throughput_10k_recorded_vs_memory", |b| {
        b.iter(|| {
            let pair = Pair {
                legacy: Arc::new(Recorded::new()),
                candidate: Arc::new(Memory::new()),
            };
            run(&runtime, &workload, &pair, &ReplayOptions::default())
        })
    });
    group.finish();

    let round_robin = dir.path().join("round-robin.jsonl");
    write(
        &round_robin,
        (0..100u64).map(|i| Request {
            events: None,
            latency_us: None,
            started_us: None,
            probe: None,
            seq: i + 1,
            key: Some(format!("k{}", i % 10)),
            op: "get".into(),
            kind: Kind::Read,
            args: json!({}),
            at: "2026-01-01T00:00:00Z".into(),
            outcome: None,
            state: None,
        }),
    );
    let mut group = c.benchmark_group("latency_10ms_100_requests");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(12));
    for concurrency in [1, 10] {
        group.bench_function(format!("concurrency_{concurrency}"), |b| {
            let pair = Pair {
                legacy: Arc::new(Memory::with_latency(Duration::from_millis(10))),
                candidate: Arc::new(Memory::with_latency(Duration::from_millis(10))),
            };
            let options = ReplayOptions {
                concurrency,
                ..ReplayOptions::default()
            };
            b.iter(|| run(&runtime, &round_robin, &pair, &options))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
