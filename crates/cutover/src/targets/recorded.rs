//! The `recorded` target: answers every request with the outcome recorded in the cassette,
//! so that a candidate can be checked against a recording alone.
//!
//! After a write, [`Target::dump`] returns the state recorded with that write (the
//! request's `state` field), or `None` when the recording has none. A request without a
//! recorded outcome is inconclusive: there is nothing to compare against.

use super::{Executed, InfraError, Target};
use crate::cassette::{Kind, Outcome, Request};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The recorded-outcome target.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The state recorded with the latest write to each key, until it is read back.
    states: Mutex<HashMap<String, Value>>,
}

impl Recorded {
    /// A recorded target holding no state yet.
    pub fn new() -> Recorded {
        Recorded::default()
    }
}

#[async_trait]
impl Target for Recorded {
    fn name(&self) -> &str {
        "recorded"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        if let Some(key) = &request.key {
            // Only the state of this write is kept: at most one per key, never a stale one.
            let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
            match (&request.state, request.kind) {
                (Some(state), Kind::Write) => states.insert(key.clone(), state.clone()),
                _ => states.remove(key),
            };
        }
        request.outcome.clone().ok_or_else(|| {
            InfraError::Other(format!("seq {} has no recorded outcome", request.seq))
        })
    }

    /// The recorded outcome with the recorded events (`events`), when the cassette has them.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        Ok(Executed {
            outcome: self.execute(request).await?,
            events: request.events.clone(),
        })
    }

    /// The legacy's latency as recorded (`latency_us`), never the time of a lookup in
    /// memory: none when the cassette did not record it.
    fn latency(&self, request: &Request, _measured: Duration) -> Option<Duration> {
        request.latency_us.map(Duration::from_micros)
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        Ok(self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key))
    }
}
