//! The recorder under load: CALLS calls over KEYS keys through a recorded in-memory
//! repository into a deliberately slow writer (SLOW_US microseconds per line), every key
//! sampled. Prints the per-call time (p50, p99, max), the peak RSS, the dropped keys, and
//! checks that every key in the finished cassettes is complete. The calls over 1 ms are
//! listed by call number: spread at random they are the machine's; at the same numbers
//! run after run they are the program's (the first run of a freshly built binary shows
//! some at fixed numbers, with `BARE=1` too: the first execution of its code pages).
//!
//! Usage: `cargo run --release --example recorder_load -- DIR [CALLS [KEYS [SLOW_US [QUEUE]]]]`
//!
//! With `--forever` after DIR it records until killed (the SIGKILL test uses that).

use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::kv::memory::{Memory, Workload};
use cutover::targets::Target;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().ok_or_else(|| {
        anyhow::anyhow!("usage: recorder_load DIR [CALLS [KEYS [SLOW_US [QUEUE]]]]")
    })?;
    let forever = args.get(1).is_some_and(|a| a == "--forever");
    // The same calls on the bare repository, for comparison.
    let bare = std::env::var_os("BARE").is_some();
    let num = |i: usize, default: u64| -> anyhow::Result<u64> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (calls, keys, slow_us, queue) = if forever {
        (u64::MAX, 1000, 0, 4096)
    } else {
        (
            num(1, 100_000)?,
            num(2, 10_000)?,
            num(3, 50)?,
            num(4, 4096)?,
        )
    };
    let mut config = RecorderConfig::new(dir, "kv");
    config.rate = 1.0;
    config.queue = queue as usize;
    config.slow_writer = (slow_us > 0).then(|| Duration::from_micros(slow_us));
    if forever {
        config.rotate_bytes = u64::MAX;
    }
    let recorder = Recorder::start(Memory::new(), config, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let memory = Memory::new();
    let mut took: Vec<u64> = Vec::with_capacity(calls.min(10_000_000) as usize);
    let mut per_key: HashMap<String, u64> = HashMap::new();
    let start = Instant::now();
    runtime.block_on(async {
        for request in Workload::new(calls, keys, 1).scan_every(0) {
            let t = Instant::now();
            if bare {
                let _ = memory.execute(&request).await;
            } else {
                let _ = recorder.execute(&request).await;
            }
            if !forever {
                took.push(t.elapsed().as_nanos() as u64);
                *per_key
                    .entry(request.key.clone().unwrap_or_default())
                    .or_default() += 1;
            }
        }
    });
    let elapsed = start.elapsed();
    recorder.finish()?;
    // Where the slow calls fell (by call number): at the start, or spread through the run.
    let slow: Vec<usize> = (0..took.len()).filter(|&i| took[i] > 1_000_000).collect();
    took.sort_unstable();
    let at = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    let s = recorder.stats();
    println!(
        "{} calls in {:.2} s; per call p50 {:.2} µs, p99 {:.2} µs, max {:.2} µs",
        took.len(),
        elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    println!(
        "calls over 1 ms: {} (call numbers: {:?})",
        slow.len(),
        &slow[..slow.len().min(10)]
    );
    println!("{s}");
    // Every key in the files is whole: all its calls are there.
    let mut in_files: HashMap<String, u64> = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let mut reader = cutover::cassette::Reader::open(&path)?;
            while let Some(r) = reader.next_request()? {
                *in_files.entry(r.key.unwrap_or_default()).or_default() += 1;
            }
        }
    }
    let incomplete = in_files
        .iter()
        .filter(|(k, n)| per_key.get(*k) != Some(n))
        .count();
    println!(
        "keys in the files: {}, incomplete: {incomplete}",
        in_files.len()
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!("peak RSS: {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
    anyhow::ensure!(
        incomplete == 0,
        "{incomplete} keys are incomplete in the files"
    );
    Ok(())
}
