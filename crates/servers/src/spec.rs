//! The database a target spec names, and the options that say how cutover may treat it.
//!
//! A URL with a database (`postgres://HOST:PORT/DB`, `mysql://HOST:PORT/DB`,
//! `mongodb://HOST:PORT/DB`) names that database: cutover reads it as it is and empties it
//! only as the [`guard`](crate::guard) allows. A URL without one names a server: cutover
//! makes a fresh, marked database on it for the run and drops it at the end (unless the
//! spec says `keep=true`).
//!
//! A spec's options come before its URL, each followed by a comma; the URL is the rest of
//! the spec, commas and all. The options read here are `reset=allow` (empty, and mark, a
//! database cutover did not make) and `keep=true` (keep the fresh database after the run).

use crate::guard::ResetGuard;
use crate::mongo::MongoServer;
use crate::mysql::MySqlServer;
use crate::postgres::PostgresServer;

/// What a spec's options say about its database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Safety {
    /// `reset=allow`: a database cutover did not make may be emptied (and is marked).
    pub allow_reset: bool,
    /// `keep=true`: the fresh database made for the run stays after it.
    pub keep: bool,
}

impl Safety {
    /// Takes `option` if it is one of these; `Ok(false)` when it is another.
    pub fn take(&mut self, option: &str) -> Result<bool, String> {
        match option.split_once('=') {
            Some(("reset", "allow")) => self.allow_reset = true,
            Some(("reset", other)) => {
                return Err(format!("`reset={other}`: the only value is `reset=allow`"))
            }
            Some(("keep", "true")) => self.keep = true,
            Some(("keep", "false")) => self.keep = false,
            Some(("keep", other)) => {
                return Err(format!(
                    "`keep={other}`: expected `keep=true` or `keep=false`"
                ))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A spec's options before `KEY=URL`, and the URL; `None` when no `KEY=` follows them.
pub fn split<'a>(mut rest: &'a str, key: &str) -> Option<(Vec<&'a str>, &'a str)> {
    let mut options = Vec::new();
    loop {
        if let Some(url) = rest.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
            return Some((options, url));
        }
        let (option, after) = rest.split_once(',')?;
        options.push(option);
        rest = after;
    }
}

/// The database a spec's URL resolved to: where to connect, the guard of its resets, and
/// the fresh database made for the run (dropped with this value unless kept).
pub struct Database {
    /// The URL to connect to (the fresh database's, when one was made).
    pub url: String,
    /// The database as [`identity`] names it.
    pub identity: String,
    /// Whether the database was made for this run.
    pub fresh: bool,
    /// The permission to empty it.
    pub guard: ResetGuard,
    /// The fresh database, held until the target goes.
    pub holds: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Database {
    /// Resolves `url`: the database it names, or a fresh one on the server it names.
    pub async fn resolve(url: &str, safety: Safety) -> Result<Database, String> {
        if names_database(url) {
            return Ok(Database {
                url: url.to_string(),
                identity: identity(url),
                fresh: false,
                guard: ResetGuard::new(safety.allow_reset),
                holds: None,
            });
        }
        let (url, name, holds) = fresh(url, safety.keep).await?;
        eprintln!(
            "made database {name} for this run on {}; {}",
            redact(url.as_str()),
            if safety.keep {
                "it is kept after it (`keep=true`)"
            } else {
                "it is dropped at its end"
            }
        );
        Ok(Database {
            identity: identity(&url),
            url,
            fresh: true,
            guard: ResetGuard::new(false),
            holds: Some(holds),
        })
    }
}

type Fresh = (String, String, Box<dyn std::any::Any + Send + Sync>);

/// A fresh database on the server `url` names: its URL, its name, and the value that drops
/// it.
async fn fresh(url: &str, keep: bool) -> Result<Fresh, String> {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    let made = match scheme {
        "postgres" | "postgresql" => {
            let db = PostgresServer::at(url).await?.fresh_database().await?;
            let db = if keep { db.kept() } else { db };
            (db.url(), db.name.clone(), Box::new(db) as Box<_>)
        }
        "mysql" | "mariadb" => {
            let db = MySqlServer::at(url).await?.fresh_database().await?;
            let db = if keep { db.kept() } else { db };
            (db.url.clone(), db.name.clone(), Box::new(db) as Box<_>)
        }
        "mongodb" | "mongodb+srv" => {
            let db = MongoServer::at(url).fresh_database().await?;
            let db = if keep { db.kept() } else { db };
            let url = with_database(url, &db.name);
            (url, db.name.clone(), Box::new(db) as Box<_>)
        }
        other => {
            return Err(format!(
                "`{other}://`: expected a postgres://, mysql:// or mongodb:// URL"
            ))
        }
    };
    Ok(made)
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority = rest.split('/').next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((user, hosts)) => {
            let user = user.split(':').next().unwrap_or("");
            let tail = &rest[authority.len()..];
            format!("{scheme}://{user}@{hosts}{tail}")
        }
        None => url.to_string(),
    }
}

/// Whether `url` names a database: a path after the host with more than `/`.
pub fn names_database(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let before_query = after_scheme.split('?').next().unwrap_or("");
    match before_query.split_once('/') {
        Some((_, path)) => !path.is_empty(),
        None => false,
    }
}

/// The database `url` names, as `SCHEME://HOST:PORT/NAME` without user, password or
/// parameters: the scheme's aliases folded (`postgresql`, `mariadb`), the host in lower
/// case with `localhost` as `127.0.0.1`, the default port written out. Two URLs of one
/// database on one server give one identity.
pub fn identity(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (scheme, port) = match scheme {
        "postgres" | "postgresql" => ("postgres", "5432"),
        "mysql" | "mariadb" => ("mysql", "3306"),
        "mongodb" | "mongodb+srv" => ("mongodb", "27017"),
        other => (other, ""),
    };
    let rest = rest.split('?').next().unwrap_or("");
    let (authority, name) = rest.split_once('/').unwrap_or((rest, ""));
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let mut hosts: Vec<String> = hosts
        .split(',')
        .map(|host| {
            let host = host.to_ascii_lowercase();
            let (name, at) = match host.rsplit_once(':') {
                Some((name, at)) if !name.ends_with(']') || host.starts_with('[') => {
                    (name.to_string(), at.to_string())
                }
                _ => (host.clone(), port.to_string()),
            };
            let name = match name.as_str() {
                "localhost" | "[::1]" => "127.0.0.1".to_string(),
                _ => name,
            };
            format!("{name}:{at}")
        })
        .collect();
    hosts.sort();
    format!("{scheme}://{}/{name}", hosts.join(","))
}

/// The [`identity`] of the database `name` on the server `url` names (whatever database
/// the URL itself names).
pub fn identity_on(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split('?').next().unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    identity(&format!("{scheme}://{authority}/{name}"))
}

/// `url` (naming a server only) with the database `name` in its path.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = base.trim_end_matches('/');
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_a_database_only_with_a_path() {
        for url in [
            "postgres://u@h:5432/db",
            "mysql://root@h:3306/db?x=1",
            "mongodb://h:1/db?directConnection=true",
        ] {
            assert!(names_database(url), "{url}");
        }
        for url in [
            "postgres://u@h:5432",
            "postgres://u@h:5432/",
            "mysql://root@h:3306?x=/y",
            "mongodb://h:1/?directConnection=true",
        ] {
            assert!(!names_database(url), "{url}");
        }
    }

    #[test]
    fn one_database_has_one_identity_whatever_its_url_says() {
        let one = [
            "postgres://postgres@127.0.0.1:5432/prod2",
            "postgresql://other:secret@LOCALHOST/prod2?sslmode=disable",
            "postgres://localhost:5432/prod2",
        ];
        for url in one {
            assert_eq!(identity(url), "postgres://127.0.0.1:5432/prod2", "{url}");
        }
        assert_ne!(
            identity("postgres://h/prod2"),
            identity("postgres://h/prod3")
        );
        assert_ne!(identity("postgres://h:5433/a"), identity("postgres://h/a"));
        assert_ne!(identity("mysql://h/a"), identity("postgres://h/a"));
        assert_eq!(
            identity("mongodb://b:1,a:2/db?replicaSet=r"),
            identity("mongodb://a:2,b:1/db")
        );
        assert_eq!(identity("mariadb://root@h/db"), "mysql://h:3306/db");
        assert_eq!(
            identity_on("mongodb://u:p@h:1/other?x=1", "db"),
            identity("mongodb://h:1/db")
        );
    }

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(redact("postgres://u:secret@h:1/db"), "postgres://u@h:1/db");
        assert_eq!(redact("mongodb://h:1/?a=b"), "mongodb://h:1/?a=b");
    }

    #[test]
    fn the_fresh_name_goes_before_the_query() {
        assert_eq!(
            with_database("mongodb://h:1/?a=b", "n"),
            "mongodb://h:1/n?a=b"
        );
        assert_eq!(with_database("mongodb://h:1", "n"), "mongodb://h:1/n");
    }

    #[test]
    fn options_come_before_the_url_which_keeps_its_commas() {
        assert_eq!(
            split("reset=allow,keep=true,url=postgres://h/d?a=b,c", "url"),
            Some((vec!["reset=allow", "keep=true"], "postgres://h/d?a=b,c"))
        );
        assert_eq!(split("reset=allow", "url"), None);
        let mut safety = Safety::default();
        assert_eq!(safety.take("reset=allow"), Ok(true));
        assert_eq!(safety.take("keep=true"), Ok(true));
        assert_eq!(safety.take("events=x"), Ok(false));
        assert!(safety.take("reset=yes").is_err());
        assert_eq!(
            safety,
            Safety {
                allow_reset: true,
                keep: true
            }
        );
    }
}
