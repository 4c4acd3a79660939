//! The recorder's and the shadow's cost on the caller's path, per call.
//!
//! Each call is timed on its own (`iter_custom`), so besides criterion's mean the bench
//! prints the per-call p50 and p99 of every case:
//!
//! * `bare`: the in-memory repository alone, the baseline.
//! * `recorder_idle`: every key sampled, a writer that keeps up (the queue stays short).
//! * `recorder_saturated`: a writer that takes 1 ms a line behind a queue of 64, so the
//!   queue is full: every call finds it so, and drops its (new) key.
//! * `recorder_unsampled`: rate 0, the cost of deciding not to record.
//! * `shadow_idle`: every read shadowed, lanes that keep up.
//! * `shadow_saturated`: one lane held by a candidate that never answers, so every call
//!   finds the queue full and is skipped.

use criterion::{criterion_group, criterion_main, Criterion};
use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::capture::shadow::{Shadow, ShadowConfig};
use cutover::cassette::{Kind, Request};
use cutover::kv::memory::Memory;
use cutover::targets::{InfraError, Target};
use hdrhistogram::Histogram;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn get(n: u64, keys: u64) -> Request {
    let mut request = cutover::capture::adapter::request(
        "get",
        Some(&format!("k{}", n % keys)),
        Kind::Read,
        json!({}),
    );
    request.seq = n;
    request
}

/// Times `iters` calls one by one into `histogram` (nanoseconds); returns the total.
fn timed(
    runtime: &tokio::runtime::Runtime,
    target: &dyn Target,
    iters: u64,
    start_at: &mut u64,
    keys: u64,
    histogram: &mut Histogram<u64>,
) -> Duration {
    let mut total = Duration::ZERO;
    runtime.block_on(async {
        for _ in 0..iters {
            *start_at += 1;
            let request = get(*start_at, keys);
            let t = Instant::now();
            let answer = target.execute(&request).await;
            let took = t.elapsed();
            std::hint::black_box(answer).ok();
            total += took;
            histogram.saturating_record(took.as_nanos() as u64);
        }
    });
    total
}

fn case(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    target: &dyn Target,
    keys: u64,
) {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap();
    let mut n = 0;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| timed(runtime, target, iters, &mut n, keys, &mut histogram))
    });
    println!(
        "{name}: per call p50 {:.2} µs, p99 {:.2} µs, max {:.1} µs over {} calls",
        histogram.value_at_quantile(0.50) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0,
        histogram.len()
    );
}

/// A candidate that never answers.
struct Stuck;

#[async_trait::async_trait]
impl Target for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }
    async fn reset(&self) -> Result<(), InfraError> {
        Ok(())
    }
    async fn execute(&self, _: &Request) -> Result<cutover::cassette::Outcome, InfraError> {
        std::future::pending().await
    }
    async fn dump(&self, _: &str) -> Result<Option<serde_json::Value>, InfraError> {
        Ok(None)
    }
}

fn recorder(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    case(c, &runtime, "bare", &Memory::new(), 10_000);

    let mut idle = RecorderConfig::new(dir.path().join("idle"), "kv");
    idle.rate = 1.0;
    let target = Recorder::start(Memory::new(), idle, None).unwrap();
    case(c, &runtime, "recorder_idle", &target, 10_000);
    target.finish().unwrap();

    let mut slow = RecorderConfig::new(dir.path().join("saturated"), "kv");
    slow.rate = 1.0;
    slow.queue = 64;
    slow.slow_writer = Some(Duration::from_millis(1));
    let target = Recorder::start(Memory::new(), slow, None).unwrap();
    // Every call a new key: each one meets the full queue (the costliest path).
    case(c, &runtime, "recorder_saturated", &target, u64::MAX);
    target.finish().unwrap();

    let mut off = RecorderConfig::new(dir.path().join("off"), "kv");
    off.rate = 0.0;
    let target = Recorder::start(Memory::new(), off, None).unwrap();
    case(c, &runtime, "recorder_unsampled", &target, 10_000);
    target.finish().unwrap();

    let _enter = runtime.enter();
    let mut config = ShadowConfig::new("bench", "kv");
    config.rate = 1.0;
    let shadow = Arc::new(Shadow::start(Arc::new(Memory::new()), config, None).unwrap());
    case(
        c,
        &runtime,
        "shadow_idle",
        &shadow.wrap(Memory::new()),
        10_000,
    );
    runtime.block_on(shadow.finish()).unwrap();

    let mut config = ShadowConfig::new("bench", "kv");
    config.rate = 1.0;
    config.lanes = 1;
    config.queue = 1;
    config.timeout = Duration::from_secs(86_400);
    let shadow = Arc::new(Shadow::start(Arc::new(Stuck), config, None).unwrap());
    case(
        c,
        &runtime,
        "shadow_saturated",
        &shadow.wrap(Memory::new()),
        10_000,
    );
}

criterion_group!(benches, recorder);
criterion_main!(benches);
