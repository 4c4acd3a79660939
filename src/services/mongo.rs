//! A MongoDB-wire server: `MONGODB_URI`, or SecantusDB started on a free port.
//!
//! SecantusDB (PyPI `secantusdb`, pinned to [`SECANTUSDB_VERSION`]) is a single-node server
//! that speaks the MongoDB wire protocol over WiredTiger. It is installed once into a
//! virtualenv under the build directory (`target/secantusdb/`), under a file lock so that
//! concurrent test processes install it once, and started with `--storage-path :memory:`.

use super::{build_dir, free_port, run, unique_name, wait_for_port, ChildGuard, ServiceError};
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The pinned SecantusDB release.
pub const SECANTUSDB_VERSION: &str = "0.7.0b3";

/// A running MongoDB-wire server.
pub struct MongoServer {
    uri: String,
    source: String,
    _child: Option<ChildGuard>,
}

impl MongoServer {
    /// `MONGODB_URI` if set, else a SecantusDB of its own.
    pub async fn start() -> Result<MongoServer, ServiceError> {
        match std::env::var("MONGODB_URI") {
            Ok(uri) if !uri.is_empty() => Ok(MongoServer {
                source: "MONGODB_URI".into(),
                uri,
                _child: None,
            }),
            _ => MongoServer::secantusdb().await,
        }
    }

    /// A SecantusDB server of its own, on a free port, keeping nothing on disk.
    pub async fn secantusdb() -> Result<MongoServer, ServiceError> {
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
            uri: format!(
                "mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=5000&directConnection=true"
            ),
            source: format!("SecantusDB {SECANTUSDB_VERSION} on port {port}"),
            _child: Some(child),
        })
    }

    /// The connection string.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Where the server came from, for people.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A fresh database name on this server; the database is dropped with the value.
    pub fn fresh_database(&self) -> FreshMongo {
        FreshMongo {
            uri: self.uri.clone(),
            name: unique_name(),
        }
    }
}

/// A uniquely named database, dropped when this value is.
pub struct FreshMongo {
    pub uri: String,
    pub name: String,
}

impl Drop for FreshMongo {
    fn drop(&mut self) {
        let (uri, name) = (self.uri.clone(), self.name.clone());
        super::block_on_side(async move {
            if let Ok(client) = mongodb::Client::with_uri_str(&uri).await {
                let _ = client.database(&name).drop().await;
            }
        });
    }
}

/// Installs SecantusDB into `target/secantusdb/venv` unless it is there; returns the venv.
pub fn install_secantusdb() -> Result<PathBuf, ServiceError> {
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
