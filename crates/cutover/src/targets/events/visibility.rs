//! Visibility at publication: which of a write's events were published before it committed.

use super::routing::{Arrived, Shared};
use crate::cassette::Event;
use crate::diff::deep_eq;
use crate::targets::InfraError;
use serde_json::Value;
use std::collections::HashMap;

/// The events of one request, in arrival order, each flagged [`Event::before_commit`] when
/// the aggregate read as it arrived equals the state before the write while the state
/// after the write differs from it. The state after is read only when a snapshot equals the
/// state before, once per key: a write that changes nothing, or an event published between
/// two steps of a write, is never flagged. A snapshot that could not be read fails the
/// request (its events cannot be judged), naming the key.
pub(super) async fn judge(
    arrived: Vec<Arrived>,
    shared: &Shared,
) -> Result<Vec<Event>, InfraError> {
    let mut after: HashMap<String, Option<Value>> = HashMap::new();
    let mut events = Vec::with_capacity(arrived.len());
    for Arrived { mut event, check } in arrived {
        if let Some(check) = check {
            let snapshot = match check.snapshot.await {
                Ok(read) => read.map_err(|e| unjudged(&check.key, e))?,
                Err(e) => return Err(unjudged(&check.key, InfraError::Other(e.to_string()))),
            };
            if snapshot.is_some_and(|s| deep_eq(&s, &check.before)) {
                if !after.contains_key(&check.key) {
                    let state = shared
                        .dump(&check.key)
                        .await
                        .map_err(|e| unjudged(&check.key, e))?;
                    after.insert(check.key.clone(), state);
                }
                event.before_commit = after[&check.key]
                    .as_ref()
                    .is_some_and(|a| !deep_eq(a, &check.before));
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// The error of a request whose events could not be judged, as reading `key` failed: the
/// same kind of failure, saying what was read.
fn unjudged(key: &str, error: InfraError) -> InfraError {
    let what = |why: String| format!("reading {key} to judge its events' visibility: {why}");
    match error {
        InfraError::Refused(why) => InfraError::Refused(what(why)),
        InfraError::Disconnected(why) => InfraError::Disconnected(what(why)),
        InfraError::Other(why) => InfraError::Other(what(why)),
        timeout @ InfraError::Timeout(_) => timeout,
    }
}
