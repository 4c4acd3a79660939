//! Helpers shared by the integration tests.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The `cutover` binary under test.
pub fn cutover() -> Command {
    Command::cargo_bin("cutover").expect("the cutover binary is built")
}

/// A fixture by name.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// A valid header line.
pub const HEADER: &str = "{\"cutover\":1,\"domain\":\"kv\"}\n";

/// A valid recorded request line for key `k1`.
pub fn get_line(seq: u64) -> String {
    format!(
        "{{\"seq\":{seq},\"key\":\"k1\",\"op\":\"get\",\"kind\":\"read\",\"args\":{{}},\"at\":\"2026-01-01T00:00:00Z\",\"outcome\":{{\"error\":{{\"kind\":\"not_found\"}}}}}}\n"
    )
}

/// What `cutover replay --format json` did: its exit code, its report (if it printed one)
/// and its stderr.
pub struct Replayed {
    pub code: Option<i32>,
    pub report: serde_json::Value,
    pub stderr: String,
}

/// Runs `cutover replay CASSETTE --out OUT --format json EXTRA...`.
pub fn replay(cassette: &Path, out: &Path, extra: &[&str]) -> Replayed {
    let output = cutover()
        .arg("replay")
        .arg(cassette)
        .args(["--out", out.to_str().unwrap(), "--format", "json"])
        .args(extra)
        .output()
        .expect("cutover runs");
    Replayed {
        code: output.status.code(),
        report: serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `cutover ARGS...`, fails the test with its stderr unless it exits 0, and returns
/// its stdout.
pub fn stdout_of(args: &[&std::ffi::OsStr]) -> String {
    let done = cutover().args(args).output().expect("cutover runs");
    assert!(
        done.status.success(),
        "cutover {args:?}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8(done.stdout).expect("stdout is UTF-8")
}
