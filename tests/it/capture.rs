//! Capturing: the recorder (sampling whole keys, a slow writer, redaction, a SIGKILL) and
//! `cutover inspect`.

use crate::util::{cutover, fixture};
use serde_json::Value;

#[test]
fn inspect_summarizes_operations_keys_span_and_a_truncated_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("kv-demo.jsonl")).unwrap();
    bytes.extend_from_slice(b"{\"seq\":999,\"key\":\"k1\",\"op\":\"ge");
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &bytes).unwrap();
    let done = cutover()
        .args(["inspect", "--format", "json"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0));
    let summary: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(summary["requests"], 300);
    assert_eq!(summary["domain"], "kv");
    assert_eq!(summary["keys"], 20);
    assert_eq!(summary["keyless"], 7);
    assert_eq!(
        (summary["first_seq"].as_u64(), summary["last_seq"].as_u64()),
        (Some(1), Some(300))
    );
    assert_eq!(summary["operations"]["scan"]["requests"], 7);
    assert_eq!(summary["operations"]["put"]["states"], 91);
    assert_eq!(summary["operations"]["insert"]["errors"]["conflict"], 17);
    assert_eq!(summary["truncated"]["line"], 302);
    assert!(String::from_utf8_lossy(&done.stderr).contains("line 302: truncated last line"));
    assert!(summary["from"].as_str().unwrap() < summary["to"].as_str().unwrap());
}

use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::capture::redact::{Redactor, Secret};
use cutover::cassette::Reader;
use cutover::kv::memory::{Memory, Workload};
use cutover::targets::Target;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Requests per key in the finished cassettes of `dir`, and their headers' meta.
fn recorded(dir: &std::path::Path) -> (HashMap<String, u64>, Vec<Value>) {
    let (mut per_key, mut metas) = (HashMap::new(), Vec::new());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.ends_with(".jsonl"),
            "only finished files are left: {name}"
        );
        let mut reader = Reader::open(&path).unwrap();
        metas.push(Value::Object(reader.header().meta.clone()));
        while let Some(r) = reader.next_request().unwrap() {
            *per_key.entry(r.key.unwrap()).or_default() += 1;
        }
    }
    (per_key, metas)
}

#[test]
fn a_slow_writer_drops_whole_keys_counts_them_and_keeps_every_recorded_key_complete() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 1.0;
    config.queue = 512;
    config.rotate_bytes = 64 << 10;
    // A millisecond per line: far slower than any producer here, even a debug build on a
    // loaded machine (at 50 µs, such a producer was no faster than the writer, and nothing
    // was dropped), and still enough lines written while it runs to rotate the files.
    config.slow_writer = Some(Duration::from_millis(1));
    let recorder = Recorder::start(Memory::new(), config, None).unwrap();
    let mut calls: HashMap<String, u64> = HashMap::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for request in Workload::new(100_000, 10_000, 3).scan_every(0) {
            recorder.execute(&request).await.unwrap();
            *calls.entry(request.key.clone().unwrap()).or_default() += 1;
        }
    });
    recorder.finish().unwrap();
    let s = recorder.stats();
    let (sampled, kept, dropped_keys, dropped) = (
        s.sampled.load(Ordering::Relaxed),
        s.recorded.load(Ordering::Relaxed),
        s.dropped_keys.load(Ordering::Relaxed),
        s.dropped_requests.load(Ordering::Relaxed),
    );
    assert_eq!(s.calls.load(Ordering::Relaxed), 100_000);
    assert_eq!(sampled, 100_000);
    assert!(dropped_keys > 0, "the slow writer fell behind");
    assert_eq!(
        kept + dropped,
        sampled,
        "every sampled request is kept or counted"
    );

    let (per_key, metas) = recorded(dir.path());
    assert!(!per_key.is_empty());
    assert_eq!(per_key.values().sum::<u64>(), kept);
    for (key, n) in &per_key {
        assert_eq!(calls[key], *n, "{key} is whole in the cassettes");
    }
    assert!(
        s.files.load(Ordering::Relaxed) >= 2,
        "the files rotated by size"
    );
    let left_out: u64 = metas
        .iter()
        .map(|m| m["dropped_keys"].as_u64().unwrap())
        .sum();
    assert!(left_out <= dropped_keys);
    assert!(metas[0]["sampling"]
        .as_str()
        .unwrap()
        .starts_with("1 of keys"));
}

#[test]
fn the_recorder_samples_whole_keys_and_redacts_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 0.25;
    config.allow.insert("k7".into());
    let rules = "[[redact]]\npath = \"$..name\"\naction = \"hash\"\n";
    let redactor = Redactor::parse(rules, "r.toml", |_| Some(Secret::new("k3y"))).unwrap();
    let recorder = Recorder::start(Memory::new(), config, Some(redactor)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut calls: HashMap<String, u64> = HashMap::new();
    runtime.block_on(async {
        for request in Workload::new(5_000, 40, 9) {
            let _ = recorder.execute(&request).await.unwrap();
            if let Some(k) = &request.key {
                *calls.entry(k.clone()).or_default() += 1;
            }
        }
    });
    recorder.finish().unwrap();
    let (per_key, metas) = recorded(dir.path());
    // A quarter of the keys or so, each whole; the allowed key always.
    assert!((4..=20).contains(&per_key.len()), "{} keys", per_key.len());
    assert!(per_key.contains_key("k7"));
    for (key, n) in &per_key {
        assert!(recorder.sampled(key));
        assert_eq!(calls[key], *n);
    }
    assert_eq!(
        metas[0]["redactions"],
        serde_json::json!(["hash (HMAC-SHA-256) $..name in args and outcome"])
    );
    let bytes: String = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    // Memory tells its events: recorded, their payloads redacted as the rest.
    assert!(
        bytes.contains("\"events\":[{\"name\":\"value_put\""),
        "events are recorded"
    );
    assert!(!bytes.contains("Zoë"), "names are hashed, in events too");
    assert!(!bytes.contains("k3y"), "the key never shows");
    assert!(bytes.contains("\"name\":\"hmac:"));
}

#[test]
fn a_recording_killed_with_sigkill_leaves_a_cassette_inspect_and_replay_read() {
    let example = crate::util::example("recorder_load");
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(&example)
        .arg(dir.path())
        .arg("--forever")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = dir.path().join("cassette-000001.jsonl.partial");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 300_000 {
        assert!(std::time::Instant::now() < deadline, "the recorder writes");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let bytes = std::fs::read(&partial).unwrap();
    let cut = bytes.last() != Some(&b'\n');
    let inspected = cutover().arg("inspect").arg(&partial).output().unwrap();
    assert_eq!(inspected.status.code(), Some(0));
    let warned = String::from_utf8_lossy(&inspected.stderr).contains("truncated last line");
    assert_eq!(warned, cut, "a cut last line is reported, and only then");
    let text = String::from_utf8_lossy(&inspected.stdout).to_string();
    assert!(text.contains("domain kv"), "{text}");

    let out = dir.path().join("replayed");
    let replayed = cutover()
        .arg("replay")
        .arg(&partial)
        .arg("--out")
        .arg(&out)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        replayed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let report: Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert!(report["totals"]["total"].as_u64().unwrap() > 1000);
    assert_eq!(report["cassette"]["truncated_line"].is_u64(), cut);
}

#[test]
fn a_window_ends_by_time_its_files_are_finished_and_dropped_keys_are_sampled_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 1.0;
    config.queue = 16;
    config.window = Duration::from_secs(1);
    config.slow_writer = Some(Duration::from_millis(2));
    let recorder = Recorder::start(Memory::new(), config, None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let get = |key: &str| {
        cutover::capture::adapter::request(
            "get",
            Some(key),
            cutover::cassette::Kind::Read,
            serde_json::json!({}),
        )
    };
    // The first window: a burst the writer cannot keep up with, so keys are dropped.
    runtime.block_on(async {
        for n in 0..50 {
            recorder.execute(&get(&format!("k{n}"))).await.unwrap();
        }
    });
    let dropped_first = recorder.stats().dropped_keys.load(Ordering::Relaxed);
    assert!(dropped_first > 0, "the burst overflowed the queue");
    // The window ends by time alone: its file is finished while the recorder runs on.
    let first = dir.path().join("cassette-000001.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !first.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first window was never finished: {:?}",
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (in_first, _) = recorded_file(&first);
    // The next window samples afresh: every key, dropped before or not, is taken again
    // while the writer keeps up.
    runtime.block_on(async {
        for n in 0..50 {
            recorder.execute(&get(&format!("k{n}"))).await.unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    recorder.finish().unwrap();
    let (per_key, metas) = recorded(dir.path());
    assert!(metas.len() >= 2, "one file per window at least");
    assert_eq!(
        in_first.len() as u64 + dropped_first,
        50,
        "the first window holds every key it did not drop"
    );
    assert_eq!(
        per_key.len(),
        50,
        "every key was recorded in a later window"
    );
    let s = recorder.stats();
    assert_eq!(
        s.recorded.load(Ordering::Relaxed) + s.dropped_requests.load(Ordering::Relaxed),
        s.sampled.load(Ordering::Relaxed)
    );
}

/// Requests per key in one finished cassette.
fn recorded_file(path: &std::path::Path) -> (HashMap<String, u64>, Value) {
    let mut reader = Reader::open(path).unwrap();
    let meta = Value::Object(reader.header().meta.clone());
    let mut per_key = HashMap::new();
    while let Some(r) = reader.next_request().unwrap() {
        *per_key.entry(r.key.unwrap()).or_default() += 1;
    }
    (per_key, meta)
}

#[test]
fn the_recorder_keeps_each_call_s_interval_and_overlapping_calls_form_a_race_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 1.0;
    let recorder = std::sync::Arc::new(
        Recorder::start(
            Memory::with_latency(Duration::from_millis(30)),
            config,
            None,
        )
        .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let put = |seq: u64, n: u64| {
        crate::util::request(
            seq,
            Some("k1"),
            "put",
            cutover::cassette::Kind::Write,
            serde_json::json!({ "value": { "n": n } }),
        )
    };
    runtime.block_on(async {
        // One call, then two at the same time, then one more.
        recorder.execute(&put(1, 1)).await.unwrap();
        let (a, b) = (put(2, 2), put(3, 3));
        let (r1, r2) = tokio::join!(recorder.execute(&a), recorder.execute(&b));
        r1.unwrap();
        r2.unwrap();
        recorder.execute(&put(4, 4)).await.unwrap();
    });
    recorder.finish().unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let requests: Vec<_> = Reader::open(&file).unwrap().map(|r| r.unwrap()).collect();
    let interval = |i: usize| {
        let r = &requests[i];
        let start = r.started_us.expect("started_us recorded");
        (start, start + r.latency_us.expect("latency_us recorded"))
    };
    let (first, second, third, fourth) = (interval(0), interval(1), interval(2), interval(3));
    assert!(
        first.1 <= second.0.min(third.0),
        "{first:?} before {second:?}, {third:?}"
    );
    assert!(
        second.0 < third.1 && third.0 < second.1,
        "{second:?} overlaps {third:?}"
    );
    assert!(second.1.max(third.1) <= fourth.0);
    let groups = cutover::races::groups(&file, cutover::races::Grouping::Overlap, 4, 16).unwrap();
    let seqs: Vec<Vec<u64>> = groups.iter().map(|g| g.seqs()).collect();
    let recorded: Vec<u64> = requests.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [vec![recorded[1], recorded[2]]]);
}

// The recorder under crashes (issue 30): `examples/recorder_crash.rs` records until killed
// and checks what a kill left; `scripts/recorder-crash.sh` kills it at 100 points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// `recorder_crash record DIR --seed SEED`, running.
fn crash_record(example: &Path, dir: &Path, seed: u64) -> Child {
    Command::new(example)
        .arg("record")
        .arg(dir)
        .args(["--seed", &seed.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// `recorder_crash check DIR --seed SEED` with this build's `cutover inspect`: its figures,
/// once it found no violation.
fn crash_check(example: &Path, dir: &Path, seed: u64) -> HashMap<String, String> {
    let done = Command::new(example)
        .arg("check")
        .arg(dir)
        .args(["--seed", &seed.to_string()])
        .args(["--cutover", env!("CARGO_BIN_EXE_cutover")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "what the kill left in {} breaks a guarantee: {stdout}\n{}",
        dir.display(),
        String::from_utf8_lossy(&done.stderr)
    );
    stdout
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Waits (a minute at most) until `path` exists.
fn wait_for(path: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_recording_killed_at_five_random_points_leaves_whole_readable_files_and_whole_keys() {
    let example = crate::util::example("recorder_crash");
    let mut sum: HashMap<&str, u64> = HashMap::new();
    for seed in 1..=5u64 {
        // A point between 0.2 and 2.2 s, drawn from the seed.
        let ms = 200 + (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 2000;
        let dir = tempfile::tempdir().unwrap();
        let mut child = crash_record(&example, dir.path(), seed);
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let figures = crash_check(&example, dir.path(), seed);
        assert_eq!(figures["violations"], "0");
        for name in ["files", "finished", "lines", "keys"] {
            *sum.entry(name).or_default() += figures[name].parse::<u64>().unwrap();
        }
    }
    // The check had something to check: files, finished ones among them, and keys.
    assert!(sum["files"] >= 5, "{sum:?}");
    assert!(sum["finished"] >= 1, "{sum:?}");
    assert!(sum["lines"] >= 100 && sum["keys"] >= 10, "{sum:?}");
}

#[test]
fn a_partial_file_holds_a_whole_request_from_the_moment_it_appears() {
    // It used to be created empty and filled 64 KiB at a time: a kill before the first
    // flush left a file no reader could read.
    let example = crate::util::example("recorder_crash");
    let dir = tempfile::tempdir().unwrap();
    let mut child = crash_record(&example, dir.path(), 7);
    let partial = dir.path().join("cassette-000001.jsonl.partial");
    wait_for(&partial);
    child.kill().unwrap(); // SIGKILL, as soon as the file is there
    child.wait().unwrap();
    let mut reader = Reader::open(&partial).unwrap();
    let first = reader.next_request().unwrap().expect("a whole request");
    assert_eq!(first.args["value"], serde_json::json!({ "i": 1, "n": 1 }));
    crash_check(&example, dir.path(), 7);
}

#[test]
fn a_key_dropped_as_its_window_ends_is_not_carried_half_into_the_next_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 1.0;
    config.queue = 1;
    config.window = Duration::from_millis(100);
    config.slow_writer = Some(Duration::from_millis(300));
    let recorder = Recorder::start(Memory::new(), config, None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let put = |key: &str, n: u64| {
        let args = serde_json::json!({ "value": { "n": n } });
        let request = cutover::capture::adapter::request(
            "put",
            Some(key),
            cutover::cassette::Kind::Write,
            args,
        );
        runtime.block_on(recorder.execute(&request)).unwrap();
    };
    let file = |name: &str| dir.path().join(name);
    // The writer takes `a`, then spends 300 ms on it, past the window's end.
    put("a", 1);
    wait_for(&file("cassette-000001.jsonl.partial"));
    // Meanwhile `b`'s first call waits in the queue and its second finds it full: `b` is
    // dropped from the window, with its first call still queued when the window ends.
    put("b", 1);
    put("b", 2);
    assert_eq!(recorder.stats().dropped_keys.load(Ordering::Relaxed), 1);
    wait_for(&file("cassette-000001.jsonl"));
    // The next window samples `b` afresh.
    put("b", 3);
    wait_for(&file("cassette-000002.jsonl.partial"));
    put("b", 4);
    recorder.finish().unwrap();

    // Every finished file, in order (`b`'s fourth call comes after the writer's 300 ms on
    // its third, so in a third window).
    let mut finished: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    finished.sort();
    assert!(
        finished.iter().all(|p| p.extension().unwrap() == "jsonl"),
        "{finished:?}"
    );
    let mut calls: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for path in &finished {
        for r in Reader::open(path).unwrap() {
            let r = r.unwrap();
            let n = r.args["value"]["n"].as_u64().unwrap();
            calls.entry(r.key.unwrap()).or_default().push(n);
        }
    }
    // `b`'s first call, written into the next window, would be followed there by its
    // third: half of `b`. It is left out with the window that dropped `b`.
    assert_eq!(
        calls,
        BTreeMap::from([("a".into(), vec![1]), ("b".into(), vec![3, 4])])
    );
    let s = recorder.stats();
    assert_eq!(
        (
            s.recorded.load(Ordering::Relaxed),
            s.dropped_requests.load(Ordering::Relaxed)
        ),
        (3, 2)
    );
}

#[test]
fn a_recorder_restarted_where_one_was_killed_overwrites_nothing_and_numbers_after_it() {
    let example = crate::util::example("recorder_crash");
    let dir = tempfile::tempdir().unwrap();
    let mut child = crash_record(&example, dir.path(), 11);
    wait_for(&dir.path().join("cassette-000002.jsonl"));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What a kill between a finishing's two renames leaves, a finished file under its
    // `.partial` name, and what a kill before them leaves, a `.tmp` file.
    let name = |n: u64, ext: &str| format!("cassette-{n:06}.{ext}");
    std::fs::rename(
        dir.path().join(name(1, "jsonl")),
        dir.path().join(name(1, "jsonl.partial")),
    )
    .unwrap();
    std::fs::write(dir.path().join(name(2, "jsonl.tmp")), "{\"cutover\":1,").unwrap();
    let files = || -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                (name, std::fs::read(&p).unwrap())
            })
            .collect()
    };
    let before = files();
    let last: u64 = before
        .keys()
        .map(|n| n["cassette-".len()..][..6].parse::<u64>().unwrap())
        .max()
        .unwrap();

    let mut config = RecorderConfig::new(dir.path(), "kv");
    config.rate = 1.0;
    let recorder = Recorder::start(Memory::new(), config, None).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for request in Workload::new(10, 3, 5).scan_every(0) {
            recorder.execute(&request).await.unwrap();
        }
    });
    recorder.finish().unwrap();

    let mut after = files();
    for (file, bytes) in &before {
        if file.ends_with(".tmp") {
            assert!(!after.contains_key(file), "{file} was removed");
            continue;
        }
        // A finished file's header counts the keys it left out.
        let header = String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap()
            .to_string();
        let finished = file.ends_with(".partial") && header.contains("\"dropped_keys\"");
        let now = if finished {
            file.trim_end_matches(".partial")
        } else {
            file
        };
        assert_eq!(
            after.remove(now).as_ref(),
            Some(bytes),
            "{file} is kept whole, as {now}"
        );
    }
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        [&name(last + 1, "jsonl")],
        "the new recording's file comes after the others"
    );
}
