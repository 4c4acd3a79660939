//! The two repositories as named target specs, so `replay` reaches them without `demo`:
//! `conversations-mongodb:uri=mongodb://HOST:PORT/DATABASE` and
//! `conversations-postgres:url=postgres://HOST:PORT/DATABASE`. The URL is everything after
//! `uri=` / `url=` (commas and all); the database must be named in it. A replay's reset
//! empties it: point a spec at a database made for the replay, never at a live one.

use super::mongo::Mongo;
use super::postgres::Postgres;
use super::DomainTarget;
use cutover::targets::Target;
use std::sync::Arc;

/// The target `text` names, `None` when it is not one of the two specs.
pub async fn open(text: &str) -> Option<Result<Arc<dyn Target>, String>> {
    if let Some(rest) = text.strip_prefix("conversations-mongodb:") {
        return Some(mongodb(rest).await);
    }
    if let Some(rest) = text.strip_prefix("conversations-postgres:") {
        return Some(postgres(rest).await);
    }
    None
}

fn url<'a>(rest: &'a str, key: &str, example: &str) -> Result<&'a str, String> {
    rest.strip_prefix(key)
        .and_then(|r| r.strip_prefix('='))
        .filter(|url| !url.is_empty())
        .ok_or_else(|| format!("expected `{key}=URL`, as in `{key}={example}`"))
}

async fn mongodb(rest: &str) -> Result<Arc<dyn Target>, String> {
    let example = "mongodb://127.0.0.1:27017/conversations";
    let uri = url(rest, "uri", example)?;
    let options = mongodb::options::ClientOptions::parse(uri)
        .await
        .map_err(|e| format!("`{uri}`: {e}"))?;
    let database = options
        .default_database
        .ok_or_else(|| format!("`{uri}` names no database; expected one, as in `{example}`"))?;
    let repository = Mongo::connect(uri, &database)
        .await
        .map_err(|e| format!("connecting to MongoDB at `{uri}`: {e}"))?;
    Ok(Arc::new(DomainTarget(repository)))
}

async fn postgres(rest: &str) -> Result<Arc<dyn Target>, String> {
    let url = url(rest, "url", "postgres://127.0.0.1:5432/conversations")?;
    let repository =
        tokio::time::timeout(std::time::Duration::from_secs(20), Postgres::connect(url))
            .await
            .map_err(|_| format!("connecting to PostgreSQL at `{url}`: no answer within 20s"))?
            .map_err(|e| format!("connecting to PostgreSQL at `{url}`: {e}"))?;
    Ok(Arc::new(DomainTarget(repository)))
}
