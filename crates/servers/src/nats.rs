//! NATS: `NATS_URL` (`nats://host:port`), else the server on 127.0.0.1:4222 when it
//! answers, else `nats-server` started on a free port (Debian: `nats-server`).

use super::{free_port, wait_for_port, ChildGuard, ServiceError};
use std::path::PathBuf;
use std::time::Duration;

/// A reachable NATS server, stopped on `Drop` when this value started it.
pub struct NatsServer {
    /// Its URL, `nats://host:port`.
    pub url: String,
    source: String,
    child: Option<ChildGuard>,
}

impl NatsServer {
    /// `NATS_URL` if set, else 127.0.0.1:4222 when it answers, else a server of its own.
    pub async fn start() -> Result<NatsServer, ServiceError> {
        if let Ok(url) = std::env::var("NATS_URL") {
            if !url.is_empty() {
                let url = url.trim_end_matches('/').to_string();
                answers(address(&url)?, &url).await?;
                return Ok(NatsServer {
                    url,
                    source: "NATS_URL".into(),
                    child: None,
                });
            }
        }
        if answers("127.0.0.1:4222", "127.0.0.1:4222").await.is_ok() {
            return Ok(NatsServer {
                url: "nats://127.0.0.1:4222".into(),
                source: "127.0.0.1:4222".into(),
                child: None,
            });
        }
        NatsServer::spawn().await
    }

    /// A `nats-server` of its own on a free port, whatever else runs: one a test may stop.
    pub async fn spawn() -> Result<NatsServer, ServiceError> {
        let binary = binary()?;
        let port = free_port()?;
        let mut command = std::process::Command::new(&binary);
        command
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = ChildGuard::spawn(command, format!("{}", binary.display()))?;
        wait_for_port(port, 10, &mut child).await?;
        Ok(NatsServer {
            url: format!("nats://127.0.0.1:{port}"),
            source: format!("nats-server on port {port}"),
            child: Some(child),
        })
    }

    /// Where the server came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Stops the server this value started (SIGKILL, at once); nothing for one it found.
    pub fn stop(&mut self) {
        self.child = None;
    }
}

/// `host:port` of a `nats://host:port` URL.
fn address(url: &str) -> Result<&str, ServiceError> {
    url.strip_prefix("nats://")
        .map(|rest| rest.split('/').next().unwrap_or(rest))
        .ok_or_else(|| ServiceError::new(format!("NATS_URL `{url}`: expected nats://HOST:PORT")))
}

/// Whether a TCP connection to `address` opens within a second.
async fn answers(address: &str, source: &str) -> Result<(), ServiceError> {
    let connect = tokio::net::TcpStream::connect(address);
    match tokio::time::timeout(Duration::from_secs(1), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(ServiceError::new(format!(
            "no NATS server at {source}: {e}"
        ))),
        Err(_) => Err(ServiceError::new(format!(
            "the NATS server at {source} did not answer within 1 s"
        ))),
    }
}

/// The `nats-server` binary: on `PATH`, or where Debian's package puts it.
fn binary() -> Result<PathBuf, ServiceError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            ServiceError::new(
                "no NATS server at 127.0.0.1:4222 and no nats-server binary: install it (Debian: nats-server) or set NATS_URL",
            )
        })
}
