//! The fuzz targets' inputs replayed on every `cargo test`: the seeds (`fuzz/seeds/`) and
//! the regression inputs (`fuzz/regressions/`: hostile inputs written by hand, and every
//! input a fuzzing run of `scripts/fuzz.sh` found to crash, hang or over-allocate, kept
//! once fixed), each through its target's entry point in `cutover::fuzzing`. Every input
//! must come back (an error is a fine answer) within its time, without a panic.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long one input may take; the fuzzer's own limit is 10 s, a debug build is slower.
const LIMIT: Duration = Duration::from_secs(60);

fn inputs(dir: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Runs `entry` on `path`'s bytes on a thread of its own: its panic message, or a hang.
fn run(entry: fn(&[u8]), path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let done = std::panic::catch_unwind(|| entry(&bytes));
        let _ = tx.send(done.map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        }));
    });
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(format!("panicked: {message}")),
        Err(_) => Err(format!("did not return within {LIMIT:?}")),
    }
}

#[test]
fn every_seed_and_regression_input_is_read_without_a_panic_or_a_hang() {
    let mut failures = Vec::new();
    for (target, entry) in cutover::fuzzing::TARGETS {
        let regressions = inputs("fuzz/regressions", target);
        let all = [inputs("fuzz/seeds", target), regressions.clone()].concat();
        // Each target keeps hostile inputs of its own: a missing folder is a lost test.
        assert!(
            !regressions.is_empty(),
            "no regression inputs for `{target}`"
        );
        for path in all {
            if let Err(why) = run(entry, &path) {
                failures.push(format!("{target} {}: {why}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
