//! Helpers shared by the integration tests: the `cutover` binary and its replays, fixtures,
//! requests, URIs; the target double ([`doubles`]); the HTML page's cassette and headless
//! Chromium ([`page`], shared with `examples/report_at_scale.rs`).

pub mod doubles;
pub mod faults;
pub mod page;

use assert_cmd::Command;
use cutover::cassette::{Kind, Request};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The `cutover` binary under test.
pub fn cutover() -> Command {
    Command::cargo_bin("cutover").expect("the cutover binary is built")
}

/// A fixture by name.
/// The example `name` of this package, built for this test binary's profile (a `cargo
/// test` that names its tests builds no example; cargo does nothing when it is fresh).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let mut build = std::process::Command::new(env!("CARGO"));
    build
        .args(["build", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile.ends_with("release") {
        build.arg("--release");
    }
    let built = build.status().expect("cargo runs");
    assert!(built.success(), "building the {name} example failed");
    profile.join("examples").join(name)
}

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

/// The recorded clock of every request made by [`request`].
pub const AT: &str = "2026-01-01T00:00:00Z";

/// A request as a recorder writes it (no outcome, state or latency), recorded at [`AT`].
pub fn request(seq: u64, key: Option<&str>, op: &str, kind: Kind, args: Value) -> Request {
    Request::new(seq, key, op, kind, args, AT)
}

/// A URL with the database put in its path (`mongodb://host:port/DB?opts`).
pub use cutover_servers::spec::with_database;

/// A copy of the bundled migration `name` in a temporary directory, its `file` patched
/// (`from`, which must occur exactly once, replaced by `to`).
pub fn migration_copy(name: &str, patch: Option<(&str, &str, &str)>) -> tempfile::TempDir {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/migrations")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&bundled).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    if let Some((file, from, to)) = patch {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(from).count(),
            1,
            "{name}/{file}: `{from}` once"
        );
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
    dir
}

/// A verify's output kept in memory: the keys that are not equal, and how many are.
#[derive(Default)]
pub struct KeptVerify(pub Vec<cutover::replay::RequestResult>, pub u64);

impl cutover::verify::Output for KeptVerify {
    fn result(&mut self, result: &cutover::replay::RequestResult) -> std::io::Result<()> {
        self.0.push(result.clone());
        Ok(())
    }
    fn equal(&mut self, n: u64) -> std::io::Result<()> {
        self.1 += n;
        Ok(())
    }
    fn reached(&mut self, _: &cutover::verify::Checkpoint) -> std::io::Result<()> {
        Ok(())
    }
}
