//! `check-target`'s checks of the `keys` exchange and the batch `dump`, on what the domain's
//! checks left stored: pages of one key each come in ascending order without repeats and
//! agree with one larger page; a batch of a listed key and an absent one answers what `dump`
//! answers key by key, the absent one `null`.

use super::failed;
use crate::targets::protocol::Hello;
use crate::targets::{dump_each, Dumped, Target};
use serde_json::Value;
use std::cmp::Ordering;

/// Keys paged one at a time, at most.
const PAGES: usize = 5;
/// A key no check writes.
const ABSENT: &str = "cutover-check-never-written";

/// The checks the handshake calls for: none for what it does not declare.
pub(super) async fn checks(
    target: &dyn Target,
    hello: &Hello,
) -> Vec<(&'static str, Result<String, String>)> {
    let mut checks = Vec::new();
    let mut listed = None;
    if hello.supports.keys {
        let paged = pages(target, hello).await;
        listed = paged.as_ref().ok().and_then(|keys| keys.first().cloned());
        checks.push(("keys, a page at a time", paged.map(|keys| describe(&keys))));
    }
    if hello.supports.dump_batch {
        checks.push(("batch dump", batch(target, listed).await));
    }
    checks
}

fn describe(keys: &[String]) -> String {
    match keys.len() {
        0 => "answered no key (nothing stored to page through)".into(),
        n => format!("{n} pages of 1 key in ascending order, as one page of {n} lists them"),
    }
}

/// Up to [`PAGES`] keys, each page asked with `limit` 1 after the one before, then all of
/// them in one page: ascending in the declared order, no repeats, the same keys.
async fn pages(target: &dyn Target, hello: &Hello) -> Result<Vec<String>, String> {
    let order = hello.key_order;
    let mut keys: Vec<String> = Vec::new();
    while keys.len() < PAGES {
        let after = keys.last().map(String::as_str);
        let Some(key) = page(target, after, 1).await?.into_iter().next() else {
            break;
        };
        order
            .check(&key)
            .map_err(|e| format!("`keys` answered {e}"))?;
        if let Some(before) = after.filter(|b| order.compare(&key, b) != Ordering::Greater) {
            return Err(format!(
                "`keys` after `{before}` answered `{key}`; expected the keys after it in \
                 order `{}`, each once",
                order.name()
            ));
        }
        keys.push(key);
    }
    let whole = page(target, None, keys.len()).await?;
    if whole != keys {
        return Err(format!(
            "`keys` answered {whole:?} in one page but {keys:?} a key at a time; expected the \
             same keys"
        ));
    }
    Ok(keys)
}

/// One page, at most `limit` keys (the transport checks that).
async fn page(
    target: &dyn Target,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, String> {
    match target.keys(after, limit).await {
        Ok(Some(page)) => Ok(page),
        Ok(None) => Err("`keys` answered nothing".into()),
        Err(e) => Err(failed("`keys`", e)),
    }
}

/// A batch of a listed key (when there is one) and [`ABSENT`], against `dump` key by key.
async fn batch(target: &dyn Target, listed: Option<String>) -> Result<String, String> {
    let keys: Vec<String> = listed.into_iter().chain([ABSENT.to_string()]).collect();
    let batch = target
        .dump_batch(&keys)
        .await
        .map_err(|e| failed("a batch `dump`", e))?;
    let each = dump_each(target, &keys)
        .await
        .map_err(|e| failed("`dump`", e))?;
    if batch.last() != Some(&Dumped::State(Value::Null)) {
        return Err(format!(
            "a batch `dump` of {keys:?} answered {} for `{ABSENT}`; a key with nothing stored \
             must be `{{\"state\": null}}`",
            text(batch.last())
        ));
    }
    match batch
        .iter()
        .zip(&each)
        .zip(&keys)
        .find(|((b, e), _)| b != e)
    {
        Some(((b, e), key)) => Err(format!(
            "a batch `dump` answered {} for `{key}`, `dump` alone {}; expected the same",
            text(Some(b)),
            text(Some(e))
        )),
        None => Ok(format!(
            "{} keys answered as `dump` answers each",
            keys.len()
        )),
    }
}

fn text(dumped: Option<&Dumped>) -> String {
    match dumped {
        Some(Dumped::State(state)) => format!("state {state}"),
        Some(Dumped::Unreadable(why)) => format!("unreadable ({why})"),
        None => "nothing".into(),
    }
}
