//! PostgreSQL: `DATABASE_URL`, else the server on 127.0.0.1:5432, else a throwaway cluster
//! made with the installed binaries (`initdb`, `postgres`), run as the `postgres` user when
//! this process is root.

use super::{build_dir, free_port, run, unique_name, wait_for_port, ChildGuard, ServiceError};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

/// A reachable PostgreSQL server and the way to administer it.
pub struct PostgresServer {
    admin: PgConnectOptions,
    source: String,
    _cluster: Option<Cluster>,
}

/// A throwaway cluster: its server process and its data directory.
struct Cluster {
    server: Option<ChildGuard>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The server stops first, then its directory goes.
        drop(self.server.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl PostgresServer {
    /// `DATABASE_URL` if set, else 127.0.0.1:5432 as `postgres`, else a throwaway cluster.
    pub async fn start() -> Result<PostgresServer, ServiceError> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                let admin = PgConnectOptions::from_str(&url)
                    .map_err(|e| ServiceError::new(format!("DATABASE_URL: {e}")))?;
                check(&admin)
                    .await
                    .map_err(|e| ServiceError::new(format!("DATABASE_URL: {e}")))?;
                return Ok(PostgresServer {
                    admin,
                    source: "DATABASE_URL".into(),
                    _cluster: None,
                });
            }
        }
        let local = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(5432)
            .username("postgres")
            .database("postgres");
        if check(&local).await.is_ok() {
            return Ok(PostgresServer {
                admin: local,
                source: "127.0.0.1:5432".into(),
                _cluster: None,
            });
        }
        PostgresServer::throwaway().await
    }

    /// The server a URL names (its database, if any, is left alone: fresh databases are
    /// made beside it); connecting as the URL's user to its `postgres` database.
    pub async fn at(url: &str) -> Result<PostgresServer, ServiceError> {
        let admin = PgConnectOptions::from_str(url)
            .map_err(|e| ServiceError::new(format!("`{url}`: {e}")))?
            .database("postgres");
        check(&admin)
            .await
            .map_err(|e| ServiceError::new(format!("connecting to PostgreSQL at `{url}`: {e}")))?;
        Ok(PostgresServer {
            admin,
            source: url.to_string(),
            _cluster: None,
        })
    }

    /// A cluster of its own in the build directory, on a free port.
    pub async fn throwaway() -> Result<PostgresServer, ServiceError> {
        let bin = binaries()?;
        let dir = build_dir().join("postgres").join(unique_name());
        std::fs::create_dir_all(&dir)
            .map_err(|e| ServiceError::new(format!("creating {}: {e}", dir.display())))?;
        let as_root = is_root();
        if as_root {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
                "giving the cluster directory to `postgres`",
            )?;
        }
        let data = dir.join("data");
        run(
            as_postgres(as_root, &bin.join("initdb"))
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "-D",
                ])
                .arg(&data),
            "initdb",
        )?;
        let port = free_port()?;
        let mut server = as_postgres(as_root, &bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .arg("-k")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server = ChildGuard::spawn(server, "a throwaway PostgreSQL")?;
        wait_for_port(port, 60, &mut server).await?;
        let admin = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("postgres")
            .database("postgres");
        // The port answers before the server accepts logins: wait for a real connection.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Err(e) = check(&admin).await {
            server.check_running()?;
            if std::time::Instant::now() > deadline {
                return Err(ServiceError::new(format!(
                    "the throwaway PostgreSQL did not accept logins: {e}"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(PostgresServer {
            admin,
            source: format!("a throwaway cluster on port {port}"),
            _cluster: Some(Cluster {
                server: Some(server),
                dir,
            }),
        })
    }

    /// Where the server came from, for people.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Creates a fresh database, dropped when the returned value is.
    pub async fn fresh_database(&self) -> Result<FreshPostgres, ServiceError> {
        let name = unique_name();
        let mut admin = self
            .admin
            .connect()
            .await
            .map_err(|e| ServiceError::new(format!("connecting to PostgreSQL: {e}")))?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .map_err(|e| ServiceError::new(format!("creating database {name}: {e}")))?;
        let fresh = FreshPostgres {
            options: self.admin.clone().database(&name),
            admin: self.admin.clone(),
            name,
            keep: false,
        };
        crate::guard::mark_postgres(&mut admin, &fresh.name)
            .await
            .map_err(|e| ServiceError::new(format!("marking database {}: {e}", fresh.name)))?;
        let _ = admin.close().await;
        Ok(fresh)
    }
}

/// A uniquely named database, dropped when this value is.
pub struct FreshPostgres {
    /// Connection options for the database.
    pub options: PgConnectOptions,
    /// The database's name, unique per process and call.
    pub name: String,
    admin: PgConnectOptions,
    keep: bool,
}

impl FreshPostgres {
    /// The database's connection URL.
    pub fn url(&self) -> String {
        self.options.to_url_lossy().to_string()
    }

    /// The same database, kept when this value is dropped.
    pub fn kept(mut self) -> FreshPostgres {
        self.keep = true;
        self
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let what = format!("drop database {}", self.name);
        let (admin, name) = (self.admin.clone(), self.name.clone());
        super::block_on_side(what, async move {
            if let Ok(mut conn) = admin.connect().await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}

async fn check(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let conn = tokio::time::timeout(std::time::Duration::from_secs(5), options.connect())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    conn.close().await
}

/// The directory of the installed server binaries.
fn binaries() -> Result<PathBuf, ServiceError> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        ServiceError::new(
            "no PostgreSQL server at DATABASE_URL or 127.0.0.1:5432, and no `initdb` to make one: \
             install PostgreSQL (e.g. `apt-get install postgresql`) or set DATABASE_URL",
        )
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}
