//! A MongoDB-wire server: `MONGODB_URI`, or SecantusDB started on a free port.
//!
//! SecantusDB (PyPI `secantusdb`, pinned to [`SECANTUSDB_VERSION`]) is a single-node server
//! that speaks the MongoDB wire protocol over WiredTiger. It is installed once into a
//! virtualenv under the build directory (`target/secantusdb/`), under a file lock so that
//! concurrent test processes install it once, and started with `--storage-path :memory:`.

use super::{build_dir, free_port, run, unique_name, wait_for_port, ChildGuard, ServiceError};
use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The pinned SecantusDB release.
pub const SECANTUSDB_VERSION: &str = "0.7.0b3";

/// A running MongoDB-wire server.
pub struct MongoServer {
    uri: String,
    source: String,
    /// The server started here (none for `MONGODB_URI`), and its address.
    child: Option<(ChildGuard, SocketAddr)>,
}

impl MongoServer {
    /// `MONGODB_URI` if set, else a SecantusDB of its own.
    pub async fn start() -> Result<MongoServer, ServiceError> {
        match std::env::var("MONGODB_URI") {
            Ok(uri) if !uri.is_empty() => Ok(MongoServer {
                source: "MONGODB_URI".into(),
                uri,
                child: None,
            }),
            _ => MongoServer::secantusdb().await,
        }
    }

    /// A SecantusDB server of its own, on a free port, keeping nothing on disk.
    pub(crate) async fn secantusdb() -> Result<MongoServer, ServiceError> {
        let venv = install_secantusdb()?;
        let port = free_port()?;
        let mut command = Command::new(venv.join("bin").join("python3"));
        command
            .arg(venv.join("bin").join("secantusd-py"))
            .args([
                "--storage-path",
                ":memory:",
                "--host",
                "127.0.0.1",
                "--log-level",
                "WARNING",
            ])
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = ChildGuard::spawn(command, format!("SecantusDB {SECANTUSDB_VERSION}"))?;
        wait_for_port(port, 60, &mut child).await?;
        Ok(MongoServer {
            // A healthy server is selected at once; the timeout is how long each call waits
            // once the server is gone (requests of one key wait one after another), so it
            // is short.
            uri: format!(
                "mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=2000&directConnection=true"
            ),
            source: format!("SecantusDB {SECANTUSDB_VERSION} on port {port}"),
            child: Some((child, SocketAddr::from(([127, 0, 0, 1], port)))),
        })
    }

    /// The process id of the server, if this value started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|(child, _)| child.id())
    }

    /// The connection string.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Where the server came from, for people.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The server a URI names (its database, if any, is left alone).
    pub fn at(uri: &str) -> MongoServer {
        MongoServer {
            uri: uri.to_string(),
            source: uri.to_string(),
            child: None,
        }
    }

    /// A fresh database on this server, made and marked ([`crate::guard`]) here; it is
    /// dropped with the value.
    pub async fn fresh_database(&self) -> Result<FreshMongo, ServiceError> {
        let fresh = FreshMongo {
            uri: self.uri.clone(),
            name: unique_name(),
            server: self.child.as_ref().map(|(_, address)| *address),
            keep: false,
        };
        let marked = async {
            let client = mongodb::Client::with_uri_str(&self.uri).await?;
            crate::guard::mark_mongo(&client.database(&fresh.name)).await
        };
        marked.await.map_err(|e| {
            ServiceError::new(format!(
                "making a fresh database {} on {}: {e}",
                fresh.name, self.source
            ))
        })?;
        Ok(fresh)
    }
}

/// A uniquely named database, dropped when this value is.
pub struct FreshMongo {
    /// The server's connection URI.
    pub uri: String,
    /// The database's name, unique per process and call.
    pub name: String,
    /// The address of a server started here: one that no longer accepts connections has
    /// gone with its databases, and is not waited on.
    server: Option<SocketAddr>,
    keep: bool,
}

impl FreshMongo {
    /// The same database, kept when this value is dropped.
    pub fn kept(mut self) -> FreshMongo {
        self.keep = true;
        self
    }
}

impl Drop for FreshMongo {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some(address) = self.server {
            if TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
                return;
            }
        }
        let what = format!("drop database {}", self.name);
        let (uri, name) = (self.uri.clone(), self.name.clone());
        super::block_on_side(what, async move {
            if let Ok(client) = mongodb::Client::with_uri_str(&uri).await {
                let _ = client.database(&name).drop().await;
            }
        });
    }
}

/// Installs SecantusDB into `target/secantusdb/venv` unless it is there; returns the venv.
pub(crate) fn install_secantusdb() -> Result<PathBuf, ServiceError> {
    let home = build_dir().join("secantusdb");
    let venv = home.join("venv");
    let marker = venv.join(format!(".installed-{SECANTUSDB_VERSION}"));
    if marker.exists() {
        return Ok(venv);
    }
    fs::create_dir_all(&home)
        .map_err(|e| ServiceError::new(format!("creating {}: {e}", home.display())))?;
    let lock = File::create(home.join("install.lock"))
        .map_err(|e| ServiceError::new(format!("locking {}: {e}", home.display())))?;
    lock.lock()
        .map_err(|e| ServiceError::new(format!("locking {}: {e}", home.display())))?;
    if marker.exists() {
        return Ok(venv);
    }
    let _ = fs::remove_dir_all(&venv);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        &format!("creating a virtualenv with `{python} -m venv` (install Python 3.11 or newer with its venv module, e.g. `apt-get install python3-venv`)"),
    )?;
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("secantusdb=={SECANTUSDB_VERSION}")),
        &format!(
            "installing secantusdb=={SECANTUSDB_VERSION} from PyPI into {}",
            venv.display()
        ),
    )?;
    File::create(&marker)
        .map_err(|e| ServiceError::new(format!("writing {}: {e}", marker.display())))?;
    Ok(venv)
}
