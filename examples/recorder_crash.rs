//! The recorder killed mid-recording, and the check of what it left.
//!
//! `record DIR` drives a recorder until it is killed (or `--limit-s` passes): windows of
//! 300 ms, files of 32 KiB, a queue of 64 calls and a writer that sleeps 250 µs a line, fed
//! by a caller that alternates steady calls on 50 hot keys with bursts mostly on 5,000 cold
//! ones, so finished files, partial files, rotations and dropped keys all happen while it
//! runs. The writer hands whole lines to the file system, so a killed process leaves no
//! cut line; a machine that stops (power, kernel) can, and `check` cuts a copy to see it
//! reported.
//! Call `i` (from 1) is a `put` of `{"i": i, "n": n}` on a key drawn from the seed, `n`
//! counting that key's calls; the stream depends on the seed only, not on timing.
//!
//! `check DIR` reads what a killed recording left and prints its figures as `name=value`
//! pairs on one line, each violation on stderr; it exits 1 on a violation. It checks:
//!
//! * **readable**: every `.jsonl` and `.jsonl.partial` file reads with `cutover::cassette::
//!   Reader`, and every line's key is the one the seed draws for its `i`; other names are
//!   `.tmp` files only. A finished file (`.jsonl`, or a `.partial` already holding a
//!   finished file's header) has no cut line; at most one file has one, the `.partial`
//!   with the highest number. With `--cutover BIN`, `BIN inspect` reads every file and
//!   reports a cut last line exactly when the reader found one; it also reads a copy of the
//!   last `.partial` file cut inside its last line, and must report that cut.
//! * **no key half-sampled**: across all files, in file order, `seq` and `i` increase;
//!   within a window (`meta.window`), a key's `n` go up by one, in finished and partial
//!   files; a key in a finished file of a window and in a finished file of the next one
//!   has no call missing between the two (a window killed while it was being finished
//!   keeps, in its `.partial` files, keys its finished files left out).
//! * **dropped keys add up**: a finished file's `dropped_keys` is at most its
//!   `left_out_requests`, which is at least the gaps in its `seq`; the first finished file
//!   of a window that left requests out counts at least one key; a window's lines and
//!   left-out requests fit between the `seq` of the windows around it; and a window's
//!   `dropped_keys` add up to at most the keys the caller used between the windows around
//!   it that are not in the window's finished files.
//!
//! Usage: `recorder_crash record DIR [--seed S] [--limit-s N]`,
//! `recorder_crash check DIR [--seed S] [--cutover BIN]`. `scripts/recorder-crash.sh`
//! kills `record` at random points and runs `check`; so does a test in `tests/it/capture.rs`.

use cutover::capture::adapter;
use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::cassette::{Kind, Reader};
use cutover::kv::memory::Memory;
use cutover::targets::Target;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Keys of the steady calls, and of the bursts (one call of 16 in a burst is on a hot key).
const HOT: u64 = 50;
const COLD: u64 = 5000;
/// Each cycle: this many steady calls, 500 µs apart, then a burst of back-to-back calls.
const STEADY: u64 = 200;
const BURST: u64 = 120;
/// The files' name before their number.
const NAME: &str = "cassette";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: recorder_crash record DIR [--seed S] [--limit-s N] | \
                 recorder_crash check DIR [--seed S] [--cutover BIN]";
    let (Some(mode), Some(dir)) = (args.first(), args.get(1)) else {
        anyhow::bail!(usage);
    };
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let seed: u64 = option("--seed").map_or(Ok(1), |s| s.parse())?;
    match mode.as_str() {
        "record" => {
            let limit: u64 = option("--limit-s").map_or(Ok(60), |s| s.parse())?;
            record(Path::new(dir), seed, Duration::from_secs(limit))
        }
        "check" => {
            let inspect = option("--cutover").map(PathBuf::from);
            let checked = check(Path::new(dir), seed, inspect.as_deref())?;
            println!("{}", checked.figures());
            for v in &checked.violations {
                eprintln!("violation: {v}");
            }
            if !checked.violations.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => anyhow::bail!(usage),
    }
}

/// splitmix64: the seed's stream of numbers.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The key of call `i` (from 1).
fn key_of(seed: u64, i: u64) -> String {
    let r = mix(seed ^ mix(i));
    if (i - 1) % (STEADY + BURST) < STEADY || (r >> 32).is_multiple_of(16) {
        format!("h{}", r % HOT)
    } else {
        format!("c{}", r % COLD)
    }
}

fn record(dir: &Path, seed: u64, limit: Duration) -> anyhow::Result<()> {
    let mut config = RecorderConfig::new(dir, "kv");
    config.name = NAME.into();
    config.rate = 1.0;
    config.queue = 64;
    config.rotate_bytes = 32 << 10;
    config.window = Duration::from_millis(300);
    config.slow_writer = Some(Duration::from_micros(250));
    let recorder = Recorder::start(Memory::new(), config, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let started = Instant::now();
    let mut calls: HashMap<String, u64> = HashMap::new();
    let mut i = 0;
    runtime.block_on(async {
        while started.elapsed() < limit {
            i += 1;
            let key = key_of(seed, i);
            let n = calls.entry(key.clone()).or_default();
            *n += 1;
            let args = serde_json::json!({ "value": { "i": i, "n": *n } });
            let request = adapter::request("put", Some(&key), Kind::Write, args);
            recorder.execute(&request).await?;
            let at = (i - 1) % (STEADY + BURST);
            if at < STEADY {
                std::thread::sleep(Duration::from_micros(500));
            } else if at == STEADY + BURST - 1 {
                // After a burst, a pause of 0 to 30 ms: short ones leave the queue full when
                // the steady calls resume, so hot keys are dropped too.
                std::thread::sleep(Duration::from_micros(mix(seed ^ !i) % 30_000));
            }
        }
        anyhow::Ok(())
    })?;
    recorder.finish()?;
    println!("{}", recorder.stats());
    Ok(())
}

/// One request line as the check sees it.
struct Line {
    seq: u64,
    i: u64,
    n: u64,
    key: String,
}

/// One cassette file of the directory.
struct Cassette {
    name: String,
    index: u64,
    /// Its header is a finished file's (it counts what it left out).
    finished: bool,
    window: u64,
    dropped_keys: u64,
    left_out: u64,
    lines: Vec<Line>,
    cut: bool,
}

/// What `check` found.
#[derive(Default)]
struct Checked {
    files: u64,
    partial: u64,
    finished: u64,
    /// Finished files still under their `.partial` name (killed between the renames).
    finished_as_partial: u64,
    tmp: u64,
    cut: u64,
    cut_reported: u64,
    cut_copies: u64,
    cut_copies_reported: u64,
    lines: u64,
    /// Distinct (window, key) pairs whose calls were checked.
    keys: u64,
    windows: u64,
    dropped_keys: u64,
    left_out: u64,
    /// Where the kill landed, as the files tell: `finishing`, `opening` or `writing`.
    phase: &'static str,
    violations: Vec<String>,
}

impl Checked {
    fn figures(&self) -> String {
        format!(
            "files={} partial={} finished={} finished_as_partial={} tmp={} cut={} \
             cut_reported={} cut_copies={} cut_copies_reported={} lines={} keys={} windows={} \
             dropped_keys={} left_out_requests={} phase={} violations={}",
            self.files,
            self.partial,
            self.finished,
            self.finished_as_partial,
            self.tmp,
            self.cut,
            self.cut_reported,
            self.cut_copies,
            self.cut_copies_reported,
            self.lines,
            self.keys,
            self.windows,
            self.dropped_keys,
            self.left_out,
            self.phase,
            self.violations.len()
        )
    }
}

fn check(dir: &Path, seed: u64, cutover: Option<&Path>) -> anyhow::Result<Checked> {
    let mut out = Checked::default();
    let mut violations = Vec::new();
    let v = &mut violations;
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    let mut files = Vec::new();
    let mut tmp_finishing = false;
    let mut tmp_opening = false;
    for name in names {
        let parsed = name
            .strip_prefix(NAME)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.split_once('.'))
            .and_then(|(index, rest)| Some((index.parse::<u64>().ok()?, rest)));
        let Some((index, rest)) = parsed else {
            v.push(format!("{name}: not a file of the recorder"));
            continue;
        };
        match rest {
            "jsonl.tmp" => tmp_finishing = true,
            "jsonl.partial.tmp" => tmp_opening = true,
            "jsonl" | "jsonl.partial" => {}
            _ => v.push(format!("{name}: not a file of the recorder")),
        }
        if rest.ends_with(".tmp") {
            out.tmp += 1;
            continue;
        }
        out.files += 1;
        match read(&dir.join(&name), index, seed) {
            Ok(file) => {
                if rest == "jsonl" {
                    out.finished += 1;
                    if !file.finished {
                        v.push(format!("{name}: finished, its header lacks dropped_keys"));
                    }
                } else if file.finished {
                    out.finished_as_partial += 1;
                } else {
                    out.partial += 1;
                }
                if file.cut && file.finished {
                    v.push(format!("{name}: a finished file with a cut last line"));
                }
                files.push(file);
            }
            Err(e) => v.push(format!("{name}: unreadable: {e:#}")),
        }
    }
    files.sort_by_key(|f| f.index);
    out.phase = if tmp_finishing || finishing(&files) {
        "finishing"
    } else if tmp_opening {
        "opening"
    } else {
        "writing"
    };
    out.cut = files.iter().filter(|f| f.cut).count() as u64;
    if let Some(cut) = files.iter().find(|f| f.cut) {
        if out.cut > 1 || files.last().map(|f| f.index) != Some(cut.index) {
            v.push(format!(
                "{}: cut, but {} files are and it is not the last",
                cut.name, out.cut
            ));
        }
    }
    if let Some(bin) = cutover {
        for file in &files {
            match inspected_cut(bin, &dir.join(&file.name)) {
                Ok(reported) if reported == file.cut => out.cut_reported += u64::from(reported),
                Ok(reported) => v.push(format!(
                    "{}: cut {}, inspect reports a cut: {reported}",
                    file.name, file.cut
                )),
                Err(e) => v.push(format!("{}: inspect: {e:#}", file.name)),
            }
        }
        let last = files
            .iter()
            .rev()
            .find(|f| !f.finished && !f.cut && f.lines.len() >= 2);
        if let Some(file) = last {
            out.cut_copies += 1;
            match cut_copy_reported(bin, &dir.join(&file.name), seed) {
                Ok(true) => out.cut_copies_reported += 1,
                Ok(false) => v.push(format!("{}: a cut copy is not reported", file.name)),
                Err(e) => v.push(format!("{}: cut copy: {e:#}", file.name)),
            }
        }
    }
    out.lines = files.iter().map(|f| f.lines.len() as u64).sum();
    check_order(&files, v);
    out.violations = violations;
    check_windows(&files, seed, &mut out);
    Ok(out)
}

/// Whether the kill landed while a window was being finished: one window has finished and
/// unfinished files, or a finished file has its `.partial` name.
fn finishing(files: &[Cassette]) -> bool {
    let mut kinds: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for f in files {
        let k = kinds.entry(f.window).or_default();
        k.0 |= f.finished;
        k.1 |= !f.finished;
    }
    kinds.values().any(|&(done, not)| done && not)
        || files
            .iter()
            .any(|f| f.finished && f.name.ends_with(".partial"))
}

/// Reads a cassette with the crate's reader.
fn read(path: &Path, index: u64, seed: u64) -> anyhow::Result<Cassette> {
    let mut reader = Reader::open(path)?;
    let meta = reader.header().meta.clone();
    let number = |field: &str| meta.get(field).and_then(serde_json::Value::as_u64);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let finished = meta.contains_key("dropped_keys");
    let mut file = Cassette {
        window: number("window").ok_or_else(|| anyhow::anyhow!("no meta.window"))?,
        dropped_keys: number("dropped_keys").unwrap_or(0),
        left_out: number("left_out_requests").unwrap_or(0),
        name,
        index,
        finished,
        lines: Vec::new(),
        cut: false,
    };
    if finished && (number("dropped_keys").is_none() || number("left_out_requests").is_none()) {
        anyhow::bail!("dropped_keys and left_out_requests are not both counts");
    }
    while let Some(r) = reader.next_request()? {
        let value = &r.args["value"];
        let (Some(i), Some(n), Some(key)) = (value["i"].as_u64(), value["n"].as_u64(), r.key)
        else {
            anyhow::bail!("seq {}: not a call of recorder_crash", r.seq);
        };
        anyhow::ensure!(
            key == key_of(seed, i),
            "seq {}: call {i} has key {key}, the seed draws {}",
            r.seq,
            key_of(seed, i)
        );
        file.lines.push(Line {
            seq: r.seq,
            i,
            n,
            key,
        });
    }
    file.cut = reader.truncation().is_some();
    Ok(file)
}

/// Whether `cutover inspect` reports a truncated last line; an error if it fails.
fn inspected_cut(bin: &Path, path: &Path) -> anyhow::Result<bool> {
    let done = std::process::Command::new(bin)
        .arg("inspect")
        .arg(path)
        .output()?;
    let stderr = String::from_utf8_lossy(&done.stderr);
    anyhow::ensure!(done.status.success(), "exit {:?}: {stderr}", done.status);
    Ok(stderr.contains("truncated last line"))
}

/// Whether `cutover inspect` reports the cut of a copy of `path` cut inside its last line
/// (at a point the seed picks), and the crate's reader finds it too.
fn cut_copy_reported(bin: &Path, path: &Path, seed: u64) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path)?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    anyhow::ensure!(body.len() - start >= 2, "its last line is too short to cut");
    let at = start + 1 + (mix(seed ^ bytes.len() as u64) as usize) % (body.len() - start - 1);
    let copy = tempfile::Builder::new().suffix(".jsonl").tempfile()?;
    std::fs::write(copy.path(), &bytes[..at])?;
    let mut reader = Reader::open(copy.path())?;
    while reader.next_request()?.is_some() {}
    Ok(reader.truncation().is_some() && inspected_cut(bin, copy.path())?)
}

/// Lines are written in the order of the calls: across the files, in order, `seq` and `i`
/// increase, and windows do not go back.
fn check_order(files: &[Cassette], v: &mut Vec<String>) {
    let mut last: Option<(&str, u64, u64, u64)> = None;
    for f in files {
        for l in &f.lines {
            if let Some((name, seq, i, window)) = last {
                if l.seq <= seq || l.i <= i || f.window < window {
                    v.push(format!(
                        "{}: seq {} call {} window {} after {name}'s seq {seq} call {i} window {window}",
                        f.name, l.seq, l.i, f.window
                    ));
                }
            }
            last = Some((&f.name, l.seq, l.i, f.window));
        }
    }
}

/// The checks of each window: whole keys, and dropped keys that add up.
fn check_windows(files: &[Cassette], seed: u64, out: &mut Checked) {
    let mut windows: BTreeMap<u64, Vec<&Cassette>> = BTreeMap::new();
    for f in files {
        windows.entry(f.window).or_default().push(f);
    }
    out.windows = windows.len() as u64;
    // Each window's calls per key (`n` in order), and the keys of its finished files.
    let mut calls: BTreeMap<u64, BTreeMap<&str, Vec<u64>>> = BTreeMap::new();
    let mut finished_calls: BTreeMap<u64, BTreeMap<&str, Vec<u64>>> = BTreeMap::new();
    let mut in_finished: BTreeMap<u64, HashSet<&str>> = BTreeMap::new();
    for (&w, fs) in &windows {
        let per_key = calls.entry(w).or_default();
        for f in fs {
            for l in &f.lines {
                per_key.entry(&l.key).or_default().push(l.n);
                if f.finished {
                    in_finished.entry(w).or_default().insert(&l.key);
                    let finished = finished_calls.entry(w).or_default();
                    finished.entry(&l.key).or_default().push(l.n);
                }
            }
        }
    }
    let mut v = Vec::new();
    for (&w, per_key) in &calls {
        out.keys += per_key.len() as u64;
        for (key, ns) in per_key {
            if let Some(pair) = ns.windows(2).find(|p| p[1] != p[0] + 1) {
                v.push(format!(
                    "window {w}: key {key} has call {} then {}: half-sampled",
                    pair[0], pair[1]
                ));
            }
            // Against the next window's finished files only: a window killed while its
            // files were being finished has some finished without a key it dropped and
            // others still `.partial`, with that key's later calls.
            let next = finished_calls.get(&(w + 1)).and_then(|c| c.get(key));
            let finished = in_finished.get(&w).is_some_and(|k| k.contains(key));
            if let (true, Some(next)) = (finished, next) {
                if next[0] != ns[ns.len() - 1] + 1 {
                    v.push(format!(
                        "key {key}: call {} in finished window {w}, then {} in window {}",
                        ns[ns.len() - 1],
                        next[0],
                        w + 1
                    ));
                }
            }
        }
    }
    let bound = |fs: &[&Cassette], f: fn(&Line) -> u64, last: bool| {
        let all = fs.iter().flat_map(|c| c.lines.iter().map(f));
        if last {
            all.max()
        } else {
            all.min()
        }
    };
    for (&w, fs) in &windows {
        let before: Vec<&Cassette> = files.iter().filter(|f| f.window < w).collect();
        let after: Vec<&Cassette> = files.iter().filter(|f| f.window > w).collect();
        let mut first_left_out = true;
        let (mut dropped, mut left_out, mut lines) = (0, 0, 0);
        for f in fs {
            lines += f.lines.len() as u64;
            if !f.finished {
                continue;
            }
            let gaps: u64 = f.lines.windows(2).map(|p| p[1].seq - p[0].seq - 1).sum();
            if f.dropped_keys > f.left_out || gaps > f.left_out {
                v.push(format!(
                    "{}: dropped_keys {}, left_out_requests {}, seq gaps {gaps}",
                    f.name, f.dropped_keys, f.left_out
                ));
            }
            if f.left_out > 0 && std::mem::take(&mut first_left_out) && f.dropped_keys == 0 {
                v.push(format!(
                    "{}: the window's first file to leave requests out counts no key",
                    f.name
                ));
            }
            dropped += f.dropped_keys;
            left_out += f.left_out;
        }
        out.dropped_keys += dropped;
        out.left_out += left_out;
        // The window's lines, kept or left out, lie between the windows around it.
        let (p, q) = (
            bound(&before, |l| l.seq, true).unwrap_or(0),
            bound(&after, |l| l.seq, false),
        );
        if let Some(q) = q {
            if lines + left_out > q - p - 1 {
                v.push(format!(
                    "window {w}: {lines} lines and {left_out} left out between seq {p} and {q}"
                ));
            }
        }
        // Each key counted was called between the windows around it and is not in the
        // window's finished files.
        let (lo, hi) = (
            bound(&before, |l| l.i, true).unwrap_or(0),
            bound(&after, |l| l.i, false),
        );
        let present = in_finished.get(&w).cloned().unwrap_or_default();
        let absent = match hi {
            Some(hi) => (lo + 1..hi)
                .map(|i| key_of(seed, i))
                .filter(|k| !present.contains(k.as_str()))
                .collect::<HashSet<_>>()
                .len() as u64,
            None => HOT + COLD - present.len() as u64,
        };
        if dropped > absent {
            v.push(format!(
                "window {w}: dropped_keys add up to {dropped}, only {absent} keys called are not in its finished files"
            ));
        }
    }
    out.violations.extend(v);
}
