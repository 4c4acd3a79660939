//! The two repositories as named target specs, so `replay` reaches them without `demo`:
//! `conversations-mongodb:uri=mongodb://HOST:PORT/DATABASE` and
//! `conversations-postgres:url=postgres://HOST:PORT/DATABASE`. The URL is everything after
//! `uri=` / `url=` (commas and all). A URL without a database names a server: a fresh
//! database is made on it for the run and dropped after it. A replay's reset empties a
//! named database only if cutover made or marked it ([`cutover_servers::guard`]).
//!
//! Options may come before the URL, each followed by a comma:
//!
//! * `reset=allow`: a database cutover did not make may be emptied (and is marked);
//! * `keep=true`: the fresh database made on a server stays after the run;
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
use cutover_servers::spec::{self, Database, Safety};
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
    /// `reset=allow`, `keep=true`: what cutover may do with the database.
    safety: Safety,
    /// The URL, after `uri=` / `url=`.
    url: &'a str,
}

/// The options before `key=URL`, and the URL.
fn options<'a>(rest: &'a str, key: &str, example: &str) -> Result<Options<'a>, String> {
    let expected = || {
        format!(
            "expected `[events=nats://HOST:PORT/PREFIX,]{}[reset=allow,][keep=true,]{key}=URL`, as in `{key}={example}`",
            if key == "url" {
                "[events_defect=NAME,]"
            } else {
                ""
            }
        )
    };
    let (given, url) = spec::split(rest, key).ok_or_else(expected)?;
    if url.is_empty() {
        return Err(expected());
    }
    let mut options = Options {
        url,
        ..Options::default()
    };
    for option in given {
        if options.safety.take(option)? {
            continue;
        }
        match option.split_once('=') {
            Some(("events", value)) => options.events = Some(value),
            Some(("events_defect", value)) if key == "url" => options.defect = Some(value),
            _ => return Err(format!("unknown option `{option}`; {}", expected())),
        }
    }
    Ok(options)
}

/// The publisher the `events` option names, if any.
async fn publisher(events: Option<&str>) -> Result<Option<Publisher>, String> {
    match events {
        Some(address) => Publisher::connect(address).await.map(Some),
        None => Ok(None),
    }
}

async fn mongodb(rest: &str) -> Result<Arc<dyn Target>, String> {
    let options = options(rest, "uri", "mongodb://127.0.0.1:27017/conversations")?;
    let database = Database::resolve(options.url, options.safety).await?;
    let uri = database.url.as_str();
    let client_options = mongodb::options::ClientOptions::parse(uri)
        .await
        .map_err(|e| format!("`{uri}`: {e}"))?;
    let name = client_options
        .default_database
        .ok_or_else(|| format!("`{uri}` names no database"))?;
    let publisher = publisher(options.events).await?;
    let mut repository = Mongo::open(uri, &name, database.guard, database.holds)
        .await
        .map_err(|e| format!("connecting to MongoDB at `{uri}`: {e}"))?;
    if let Some(publisher) = publisher {
        repository = repository.with_events(publisher);
    }
    Ok(Arc::new(DomainTarget(repository)))
}

async fn postgres(rest: &str) -> Result<Arc<dyn Target>, String> {
    let options = options(rest, "url", "postgres://127.0.0.1:5432/conversations")?;
    let defect = options.defect.map(Defect::parse).transpose()?;
    if defect.is_some() && options.events.is_none() {
        return Err("`events_defect` needs `events=nats://HOST:PORT/PREFIX`".into());
    }
    let publisher = publisher(options.events).await?;
    let url = options.url;
    let open = async {
        let database = Database::resolve(url, options.safety).await?;
        Postgres::open(database).await.map_err(|e| e.to_string())
    };
    let mut repository = tokio::time::timeout(std::time::Duration::from_secs(20), open)
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
    use super::{options, Options, Safety};

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
        let given =
            format!("events=nats://127.0.0.1:4222/p,reset=allow,events_defect=swap,url={url}");
        assert_eq!(
            options(&given, "url", "x"),
            Ok(Options {
                events: Some("nats://127.0.0.1:4222/p"),
                defect: Some("swap"),
                safety: Safety {
                    allow_reset: true,
                    keep: false
                },
                url,
            })
        );
        assert!(options("reset=yes,url=postgres://h/db", "url", "x").is_err());
        assert!(options("events_defect=swap,uri=mongodb://h/db", "uri", "x").is_err());
        assert!(options("colour=red,url=postgres://h/db", "url", "x").is_err());
        assert!(options("url=", "url", "x").is_err());
    }
}
