//! The two repositories as named target specs, so `replay` reaches them without `demo`:
//! `conversations-mongodb:uri=mongodb://HOST:PORT/DATABASE` and
//! `conversations-postgres:url=postgres://HOST:PORT/DATABASE`. The URL is everything after
//! `uri=` / `url=` (commas and all); the database must be named in it. A replay's reset
//! empties it: point a spec at a database made for the replay, never at a live one.
//!
//! Options may come before the URL, each followed by a comma:
//!
//! * `events=nats://HOST:PORT/PREFIX`: the repository publishes each successful write's
//!   events ([`crate::events`]) to that NATS server on `PREFIX.<event name>` (MongoDB's
//!   after its write, PostgreSQL's after its commit); without it, nothing is published;
//! * `events_defect=NAME` (PostgreSQL, with `events`): a planted publication bug
//!   ([`Defect`]: `in-transaction`, `forget`, `swap`, `rename`), a demonstration of what
//!   comparing events catches.

use super::events::{Defect, Publisher};
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

/// A spec's options and the URL after them.
#[derive(Debug, Default, PartialEq)]
struct Options<'a> {
    /// `events=`: where to publish events.
    events: Option<&'a str>,
    /// `events_defect=`: the planted publication bug.
    defect: Option<&'a str>,
    /// The URL, after `uri=` / `url=`.
    url: &'a str,
}

/// The options before `key=URL`, and the URL.
fn options<'a>(mut rest: &'a str, key: &str, example: &str) -> Result<Options<'a>, String> {
    let mut options = Options::default();
    let expected = || {
        format!(
            "expected `[events=nats://HOST:PORT/PREFIX,]{}{key}=URL`, as in `{key}={example}`",
            if key == "url" {
                "[events_defect=NAME,]"
            } else {
                ""
            }
        )
    };
    loop {
        if let Some(url) = rest.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
            if url.is_empty() {
                return Err(expected());
            }
            options.url = url;
            return Ok(options);
        }
        let (option, after) = rest.split_once(',').ok_or_else(expected)?;
        match option.split_once('=') {
            Some(("events", value)) => options.events = Some(value),
            Some(("events_defect", value)) if key == "url" => options.defect = Some(value),
            _ => return Err(format!("unknown option `{option}`; {}", expected())),
        }
        rest = after;
    }
}

/// The publisher the `events` option names, if any.
async fn publisher(events: Option<&str>) -> Result<Option<Publisher>, String> {
    match events {
        Some(address) => Publisher::connect(address).await.map(Some),
        None => Ok(None),
    }
}

async fn mongodb(rest: &str) -> Result<Arc<dyn Target>, String> {
    let example = "mongodb://127.0.0.1:27017/conversations";
    let options = options(rest, "uri", example)?;
    let uri = options.url;
    let client_options = mongodb::options::ClientOptions::parse(uri)
        .await
        .map_err(|e| format!("`{uri}`: {e}"))?;
    let database = client_options
        .default_database
        .ok_or_else(|| format!("`{uri}` names no database; expected one, as in `{example}`"))?;
    let publisher = publisher(options.events).await?;
    let mut repository = Mongo::connect(uri, &database)
        .await
        .map_err(|e| format!("connecting to MongoDB at `{uri}`: {e}"))?;
    if let Some(publisher) = publisher {
        repository = repository.with_events(publisher);
    }
    Ok(Arc::new(DomainTarget(repository)))
}

async fn postgres(rest: &str) -> Result<Arc<dyn Target>, String> {
    let options = options(rest, "url", "postgres://127.0.0.1:5432/conversations")?;
    let url = options.url;
    let defect = options.defect.map(Defect::parse).transpose()?;
    if defect.is_some() && options.events.is_none() {
        return Err("`events_defect` needs `events=nats://HOST:PORT/PREFIX`".into());
    }
    let publisher = publisher(options.events).await?;
    let mut repository =
        tokio::time::timeout(std::time::Duration::from_secs(20), Postgres::connect(url))
            .await
            .map_err(|_| format!("connecting to PostgreSQL at `{url}`: no answer within 20s"))?
            .map_err(|e| format!("connecting to PostgreSQL at `{url}`: {e}"))?;
    if let Some(publisher) = publisher {
        repository = repository.with_events(publisher, defect);
    }
    Ok(Arc::new(DomainTarget(repository)))
}

#[cfg(test)]
mod tests {
    use super::{options, Options};

    #[test]
    fn options_come_before_the_url() {
        let url = "postgres://h:1/db?a=b,c";
        assert_eq!(
            options(&format!("url={url}"), "url", "x"),
            Ok(Options {
                url,
                ..Options::default()
            })
        );
        let given = format!("events=nats://127.0.0.1:4222/p,events_defect=swap,url={url}");
        assert_eq!(
            options(&given, "url", "x"),
            Ok(Options {
                events: Some("nats://127.0.0.1:4222/p"),
                defect: Some("swap"),
                url,
            })
        );
        assert!(options("events_defect=swap,uri=mongodb://h/db", "uri", "x").is_err());
        assert!(options("colour=red,url=postgres://h/db", "url", "x").is_err());
        assert!(options("url=", "url", "x").is_err());
    }
}
