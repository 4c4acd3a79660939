//! The declared targets' spec forms, opened for a [`cutover::Registry`]:
//! `sql:ops=FILE,url=postgres://...|mysql://...` and `mongodb:ops=FILE,uri=mongodb://...`.

use crate::mongo::MongoTarget;
use crate::sql::SqlTarget;
use async_trait::async_trait;
use cutover::targets::Opener;
use cutover::Target;
use std::path::Path;
use std::sync::Arc;

/// Opens `sql:` and `mongodb:` specs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Specs;

#[async_trait]
impl Opener for Specs {
    fn forms(&self) -> Vec<&'static str> {
        vec!["sql:ops=FILE,url=URL", "mongodb:ops=FILE,uri=URI"]
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
    let (ops, url) = split(rest, "url")?;
    let target = SqlTarget::open(url, Path::new(ops))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(target))
}

async fn open_mongo(rest: &str) -> Result<Arc<dyn Target>, String> {
    let (ops, uri) = split(rest, "uri")?;
    let target = MongoTarget::open(uri, Path::new(ops))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(target))
}

/// `ops=FILE,KEY=URL` of a declared target's spec; the URL is the rest of the text, commas
/// and all.
fn split<'a>(rest: &'a str, key: &str) -> Result<(&'a str, &'a str), String> {
    let expected = || format!("expected `ops=FILE,{key}=URL`");
    let rest = rest.strip_prefix("ops=").ok_or_else(expected)?;
    let (ops, url) = rest.split_once(&format!(",{key}=")).ok_or_else(expected)?;
    if ops.is_empty() || url.is_empty() {
        return Err(expected());
    }
    Ok((ops, url))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn the_url_is_the_rest_of_the_spec() {
        assert_eq!(
            split("ops=a.toml,url=mysql://h/d?x=1,y=2", "url"),
            Ok(("a.toml", "mysql://h/d?x=1,y=2"))
        );
        assert!(split("ops=,url=x", "url").is_err());
        assert!(split("url=x", "url").is_err());
    }
}
