//! MySQL or MariaDB: `MYSQL_URL` (`mysql://user:password@host:port`), else the server on
//! 127.0.0.1:3306 as `root` without a password. There is no throwaway server: a missing
//! one is an error naming what to start.

use super::{unique_name, ServiceError};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;

/// A reachable MySQL or MariaDB server.
pub struct MySqlServer {
    admin: MySqlConnectOptions,
    url: String,
    source: String,
}

impl MySqlServer {
    /// `MYSQL_URL` if set, else 127.0.0.1:3306 as `root`.
    pub async fn start() -> Result<MySqlServer, ServiceError> {
        let (url, source) = match std::env::var("MYSQL_URL") {
            Ok(url) if !url.is_empty() => (url, "MYSQL_URL"),
            _ => ("mysql://root@127.0.0.1:3306".to_string(), "127.0.0.1:3306"),
        };
        MySqlServer::connect(&url, source).await
    }

    /// The server a URL without a database names (`mysql://USER:PASSWORD@HOST:PORT`).
    pub async fn at(url: &str) -> Result<MySqlServer, ServiceError> {
        MySqlServer::connect(url, url).await
    }

    async fn connect(url: &str, source: &str) -> Result<MySqlServer, ServiceError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let base = base.trim_end_matches('/');
        let url = match query {
            "" => base.to_string(),
            query => format!("{base}?{query}"),
        };
        let admin = MySqlConnectOptions::from_str(&url)
            .map_err(|e| ServiceError::new(format!("{source}: {e}")))?;
        let connected =
            tokio::time::timeout(std::time::Duration::from_secs(5), admin.connect()).await;
        match connected {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => {
                return Err(ServiceError::new(format!(
                    "no MySQL/MariaDB server at {source} ({e}): start one (Debian: mariadb-server) or set MYSQL_URL"
                )))
            }
            Err(_) => {
                return Err(ServiceError::new(format!(
                    "the MySQL/MariaDB server at {source} did not answer within 5 s"
                )))
            }
        }
        Ok(MySqlServer {
            admin,
            url,
            source: source.to_string(),
        })
    }

    /// Where the server came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A new, uniquely named database, dropped with the returned value.
    pub async fn fresh_database(&self) -> Result<FreshMySql, ServiceError> {
        let name = unique_name();
        let mut admin = self
            .admin
            .connect()
            .await
            .map_err(|e| ServiceError::new(format!("connecting to MySQL: {e}")))?;
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .map_err(|e| ServiceError::new(format!("creating database {name}: {e}")))?;
        let fresh = FreshMySql {
            url: match self.url.split_once('?') {
                Some((base, query)) => format!("{base}/{name}?{query}"),
                None => format!("{}/{name}", self.url),
            },
            admin: self.admin.clone(),
            name,
            keep: false,
        };
        let marked = async {
            sqlx::query(&format!("USE `{}`", fresh.name))
                .execute(&mut admin)
                .await?;
            crate::guard::mark_mysql(&mut admin).await
        };
        marked
            .await
            .map_err(|e| ServiceError::new(format!("marking database {}: {e}", fresh.name)))?;
        let _ = admin.close().await;
        Ok(fresh)
    }
}

/// A uniquely named database, dropped when this value is.
pub struct FreshMySql {
    /// Its URL.
    pub url: String,
    /// Its name.
    pub name: String,
    admin: MySqlConnectOptions,
    keep: bool,
}

impl FreshMySql {
    /// The same database, kept when this value is dropped.
    pub fn kept(mut self) -> FreshMySql {
        self.keep = true;
        self
    }
}

impl Drop for FreshMySql {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let what = format!("drop database {}", self.name);
        let (admin, name) = (self.admin.clone(), self.name.clone());
        super::block_on_side(what, async move {
            if let Ok(mut conn) = admin.connect().await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}
