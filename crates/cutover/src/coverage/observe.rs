//! Coverage counted during a replay: [`Observed`] wraps the legacy target and hands each
//! request, the legacy's outcome and (after a write) its stored state to a [`Tally`].
//!
//! A write is counted when the replay reads its key's state back; a write whose state is
//! never read (a failed side, `--no-state`) is counted without it when the key's next
//! request comes or the coverage is taken. Requests of one key arrive in cassette order
//! and a keyless request runs alone, so the counts do not depend on timing. In a shard,
//! only the requests the shard reports are counted; those it runs for context (another
//! shard's writes a keyless read needs) only tell the domain what is stored (their state is
//! read here, since the replay reads none back for them), so the shards' coverages add up
//! to the whole run's.

use super::{Coverage, Tally};
use crate::cassette::{Kind, Outcome, Request};
use crate::replay::shard::{Role, Shard};
use crate::targets::{Executed, InfraError, Target};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A target that counts coverage of what passes through it.
pub struct Observed {
    inner: Arc<dyn Target>,
    shard: Option<Shard>,
    state: Mutex<Counting>,
}

struct Counting {
    tally: Tally,
    /// Per key, the write whose state read-back has not come yet.
    pending: BTreeMap<String, (Request, Outcome)>,
}

impl Counting {
    fn flush(&mut self, key: &str) {
        if let Some((request, outcome)) = self.pending.remove(key) {
            self.tally.observe(&request, Some(&outcome), None);
        }
    }
}

impl Observed {
    /// Wraps `inner`, counting into `tally` the requests `shard` reports (all without
    /// one); give the shard as the replay runs it (knowing its last keyless request).
    pub fn new(inner: Arc<dyn Target>, tally: Tally, shard: Option<Shard>) -> Observed {
        Observed {
            inner,
            shard,
            state: Mutex::new(Counting {
                tally,
                pending: BTreeMap::new(),
            }),
        }
    }

    fn counting(&self) -> std::sync::MutexGuard<'_, Counting> {
        // Counting never panics half-way through an update that matters to a verdict.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The coverage of everything observed so far, writes still waiting for their state
    /// counted without it.
    pub fn coverage(&self) -> Coverage {
        let mut counting = self.counting();
        let keys: Vec<String> = counting.pending.keys().cloned().collect();
        for key in keys {
            counting.flush(&key);
        }
        counting.tally.coverage()
    }

    /// Counts `request` with its result (a write once its state is read back).
    async fn observe(&self, request: &Request, result: &Result<Outcome, InfraError>) {
        if self
            .shard
            .is_some_and(|s| matches!(s.role(request), Role::Context))
        {
            // Another shard reports it, and the replay reads no state back for it: the
            // state is read here, for what a keyless read of this shard will judge.
            if let (Ok(outcome), Kind::Write, Some(key)) = (result, request.kind, &request.key) {
                let state = self.inner.dump(key).await.ok().flatten();
                self.counting()
                    .tally
                    .learn(request, outcome, state.as_ref());
            }
            return;
        }
        let mut counting = self.counting();
        if let Some(key) = &request.key {
            counting.flush(key);
        }
        match (result, request.kind, &request.key) {
            (Ok(outcome), Kind::Write, Some(key)) => {
                let pending = (request.clone(), outcome.clone());
                counting.pending.insert(key.clone(), pending);
            }
            (Ok(outcome), _, _) => counting.tally.observe(request, Some(outcome), None),
            (Err(_), _, _) => counting.tally.observe(request, None, None),
        }
    }
}

#[async_trait]
impl Target for Observed {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn databases(&self) -> Vec<String> {
        self.inner.databases()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.inner.reset().await?;
        let mut counting = self.counting();
        counting.pending.clear();
        counting.tally.reset();
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }

    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let executed = self.inner.execute_events(request).await;
        let result = executed
            .as_ref()
            .map(|e| e.outcome.clone())
            .map_err(Clone::clone);
        self.observe(request, &result).await;
        executed
    }
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        let result = self.inner.dump(key).await;
        let mut counting = self.counting();
        if let Some((request, outcome)) = counting.pending.remove(key) {
            let state = result.as_ref().ok().and_then(Option::as_ref);
            counting.tally.observe(&request, Some(&outcome), state);
        }
        result
    }

    fn latency(&self, request: &Request, measured: Duration) -> Option<Duration> {
        self.inner.latency(request, measured)
    }

    fn pauses(&self) -> bool {
        self.inner.pauses()
    }

    async fn execute_paused(
        &self,
        request: &Request,
        pause: Duration,
    ) -> Result<Outcome, InfraError> {
        self.inner.execute_paused(request, pause).await
    }
}
