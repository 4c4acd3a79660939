//! The real servers cutover's reference domain, worked migrations and tests run on,
//! started by the project itself. Nothing here depends on the `cutover` core.
//!
//! * PostgreSQL (`postgres`): `DATABASE_URL`, else the server on
//!   127.0.0.1:5432, else a throwaway cluster made with the installed binaries.
//! * A MongoDB-wire server (`mongo`): `MONGODB_URI`, else SecantusDB
//!   (pinned, installed into a virtualenv under the build directory) started on a free port.
//! * MySQL or MariaDB (`mysql`): `MYSQL_URL`, else the server on
//!   127.0.0.1:3306 as `root`.
//! * NATS (`nats`): `NATS_URL`, else the server on 127.0.0.1:4222, else `nats-server`
//!   started on a free port.
//!
//! Every user gets fresh, uniquely named databases, marked as cutover's (`guard`) and
//! dropped when they go out of scope; a target spec's URL resolves to its database or to a
//! fresh one on its server (`spec`).
//! * For the fault tests: a link to a server that stalls, resets or delays on demand
//!   (`link`), and a network namespace whose packets the kernel drops (`netns`).
//!
//! A missing binary is an error that names what to install, never a silent skip.

#![warn(missing_docs)]

pub mod guard;
pub mod link;
pub mod mongo;
pub mod mysql;
pub mod nats;
pub mod netns;
pub mod postgres;
pub mod spec;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A server that could not be found, installed or started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

impl From<ServiceError> for String {
    fn from(error: ServiceError) -> String {
        error.0
    }
}

impl ServiceError {
    /// An error saying `what`.
    pub fn new(what: impl Into<String>) -> ServiceError {
        ServiceError(what.into())
    }
}

/// A database name no other run on this machine uses: `cutover_<pid>_<time>_<n>`.
pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "cutover_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where the project keeps what it installs: `$CARGO_TARGET_DIR` or the workspace's `target/`.
pub(crate) fn build_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")))
}

/// A free TCP port on the loopback interface.
pub(crate) fn free_port() -> Result<u16, ServiceError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ServiceError::new(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ServiceError::new(format!("finding a free port: {e}")))
}

/// A child process that is killed when this value is dropped, or when this process dies.
pub(crate) struct ChildGuard {
    child: std::process::Child,
    what: String,
}

impl ChildGuard {
    /// Spawns `command`; the child gets SIGKILL if the spawning thread's process dies.
    pub fn spawn(
        mut command: std::process::Command,
        what: impl Into<String>,
    ) -> Result<ChildGuard, ServiceError> {
        use std::os::unix::process::CommandExt;
        let what = what.into();
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| ServiceError::new(format!("starting {what}: {e}")))?;
        Ok(ChildGuard { child, what })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the child has already exited, with its status.
    pub(crate) fn check_running(&mut self) -> Result<(), ServiceError> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(ServiceError::new(format!("{} exited: {status}", self.what))),
            _ => Ok(()),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `127.0.0.1:port` accepts connections, up to `seconds`.
pub(crate) async fn wait_for_port(
    port: u16,
    seconds: u64,
    child: &mut ChildGuard,
) -> Result<(), ServiceError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        child.check_running()?;
        if std::time::Instant::now() > deadline {
            return Err(ServiceError::new(format!(
                "{} did not accept connections on port {port} within {seconds} s",
                child.what
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Runs an installer or setup command to completion; the error names `what` and ends with
/// the command's last lines of stderr.
pub(crate) fn run(command: &mut std::process::Command, what: &str) -> Result<(), ServiceError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ServiceError::new(format!("{what}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    Err(ServiceError::new(format!(
        "{what}: {}\n{tail}",
        output.status
    )))
}

/// How long cleanup in `Drop` may wait on a server before it gives up.
const CLEANUP_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `work` (`what` it does, for the message) on a runtime of its own, on its own
/// thread, for at most [`CLEANUP_LIMIT`]: for cleanup in `Drop`, which cannot await. A
/// server that stopped answering must not hold the process, so past the limit the work is
/// given up with a message on stderr saying what was left undone.
pub(crate) fn block_on_side<F>(what: String, work: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let _ = std::thread::spawn(move || {
        if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            if runtime
                .block_on(async move { tokio::time::timeout(CLEANUP_LIMIT, work).await })
                .is_err()
            {
                eprintln!(
                    "warning: could not {what}: the server did not answer in {} s; do it by hand",
                    CLEANUP_LIMIT.as_secs()
                );
            }
        }
    })
    .join();
}
