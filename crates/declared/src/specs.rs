//! The declared targets' spec forms, opened for a [`cutover::Registry`]:
//! `sql:ops=FILE,url=postgres://...|mysql://...` and `mongodb:ops=FILE,uri=mongodb://...`.
//! Options go between the ops file and the URL ([`cutover_servers::spec`]): `reset=allow`,
//! `keep=true`, and for SQL `schema=FILE` (statements run on the fresh database a server URL
//! gets).

use crate::mongo::MongoTarget;
use crate::sql::SqlTarget;
use async_trait::async_trait;
use cutover::targets::Opener;
use cutover::Target;
use cutover_servers::spec::{self, Database, Safety};
use std::path::Path;
use std::sync::Arc;

/// Opens `sql:` and `mongodb:` specs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Specs;

#[async_trait]
impl Opener for Specs {
    fn forms(&self) -> Vec<&'static str> {
        vec![
            "sql:ops=FILE,[schema=FILE,][reset=allow,][keep=true,]url=URL",
            "mongodb:ops=FILE,[reset=allow,][keep=true,]uri=URI",
        ]
    }

    async fn open(&self, spec: &str) -> Option<Result<Arc<dyn Target>, String>> {
        if let Some(rest) = spec.strip_prefix("sql:") {
            return Some(open_sql(rest).await);
        }
        if let Some(rest) = spec.strip_prefix("mongodb:") {
            return Some(open_mongo(rest).await);
        }
        None
    }
}

async fn open_sql(rest: &str) -> Result<Arc<dyn Target>, String> {
    let given = parse(rest, "url", true)?;
    let database = Database::resolve(given.url, given.safety).await?;
    let target = SqlTarget::open_in(database, Path::new(given.ops), given.schema.map(Path::new))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(target))
}

async fn open_mongo(rest: &str) -> Result<Arc<dyn Target>, String> {
    let given = parse(rest, "uri", false)?;
    let database = Database::resolve(given.url, given.safety).await?;
    let target = MongoTarget::open_in(database, Path::new(given.ops))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(target))
}

/// A declared target's spec: `ops=FILE`, the options, and the URL after them.
#[derive(Debug, PartialEq)]
struct Given<'a> {
    ops: &'a str,
    /// `schema=FILE` (SQL): statements run on the fresh database first.
    schema: Option<&'a str>,
    safety: Safety,
    url: &'a str,
}

/// `ops=FILE,[OPTION,]...KEY=URL` of a declared target's spec; the URL is the rest of the
/// text, commas and all.
fn parse<'a>(rest: &'a str, key: &str, sql: bool) -> Result<Given<'a>, String> {
    let expected = || {
        format!(
            "expected `ops=FILE,{}[reset=allow,][keep=true,]{key}=URL`",
            if sql { "[schema=FILE,]" } else { "" }
        )
    };
    let (options, url) = spec::split(rest, key).ok_or_else(expected)?;
    let (mut ops, mut schema, mut safety) = (None, None, Safety::default());
    for option in options {
        if safety.take(option)? {
            continue;
        }
        match option.split_once('=') {
            Some(("ops", file)) if !file.is_empty() => ops = Some(file),
            Some(("schema", file)) if sql && !file.is_empty() => schema = Some(file),
            _ => return Err(format!("unknown option `{option}`; {}", expected())),
        }
    }
    match ops {
        Some(ops) if !url.is_empty() => Ok(Given {
            ops,
            schema,
            safety,
            url,
        }),
        _ => Err(expected()),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Given, Safety};

    #[test]
    fn the_url_is_the_rest_of_the_spec() {
        assert_eq!(
            parse("ops=a.toml,url=mysql://h/d?x=1,y=2", "url", true),
            Ok(Given {
                ops: "a.toml",
                schema: None,
                safety: Safety::default(),
                url: "mysql://h/d?x=1,y=2"
            })
        );
        assert!(parse("ops=,url=x", "url", true).is_err());
        assert!(parse("url=x", "url", true).is_err());
        assert!(parse("ops=a,schema=s.sql,uri=x", "uri", false).is_err());
    }

    #[test]
    fn options_go_between_the_ops_and_the_url() {
        let given = parse(
            "ops=a.toml,schema=s.sql,reset=allow,keep=true,url=postgres://h",
            "url",
            true,
        );
        assert_eq!(
            given,
            Ok(Given {
                ops: "a.toml",
                schema: Some("s.sql"),
                safety: Safety {
                    allow_reset: true,
                    keep: true
                },
                url: "postgres://h"
            })
        );
        assert!(parse("ops=a,colour=red,url=x", "url", true).is_err());
    }
}
