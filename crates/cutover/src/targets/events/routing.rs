//! Where each delivered event goes: the request of its key in flight (its lane), or the
//! next one (orphans); the fences waited for; the states last seen, for visibility, and
//! the state read at once after a write answered, for the read-back that follows it.

use super::Delivery;
use crate::cassette::Event;
use crate::targets::{InfraError, Target};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What a [`super::Watched`] and its sorting task share.
pub(super) struct Shared {
    pub(super) inner: Arc<dyn Target>,
    routing: Mutex<Routing>,
}

/// The lanes open, the events waiting for their key's next request, the fences expected
/// and the states last seen.
#[derive(Default)]
struct Routing {
    /// The requests in flight by key (`None`: a keyless request, which runs alone).
    lanes: HashMap<Option<String>, Open>,
    /// Events that arrived when no request of their key was in flight.
    orphans: HashMap<Option<String>, Vec<Event>>,
    fences: HashMap<u64, oneshot::Sender<()>>,
    lost: Option<String>,
    /// The state last read of each key, while no write could have changed it since.
    cache: HashMap<String, Arc<Value>>,
    /// The state of a key read as soon as a write of it answered, with the stamp it was
    /// read under: the next read of that key takes it instead of asking the store again.
    prefetched: HashMap<String, (Stamp, Option<Value>)>,
    /// Writes started per key, and keyless writes and resets: a read that saw any of them
    /// start is not cached.
    generations: HashMap<String, u64>,
    keyless_generation: u64,
    lanes_opened: u64,
}

/// A key's writes started and the keyless writes and resets, when a read began.
type Stamp = (u64, u64);

/// One request in flight.
struct Open {
    id: u64,
    write: bool,
    /// The states before the write, of the keys visibility can be judged for.
    before: HashMap<String, Arc<Value>>,
    arrived: Vec<Arrived>,
}

/// An event collected for a request, with its visibility check when one was started.
pub(super) struct Arrived {
    pub(super) event: Event,
    pub(super) check: Option<Check>,
}

/// The aggregate read at once when the event arrived, beside the state before the write.
pub(super) struct Check {
    pub(super) key: String,
    pub(super) before: Arc<Value>,
    pub(super) snapshot: JoinHandle<Result<Option<Value>, InfraError>>,
}

impl Shared {
    pub(super) fn new(inner: Arc<dyn Target>) -> Shared {
        Shared {
            inner,
            routing: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Routing> {
        self.routing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why the broker is lost, once it is.
    pub(super) fn lost(&self) -> Option<String> {
        self.lock().lost.clone()
    }

    /// Fence `n` is published next; `sent` fires when it comes back (dropped if the
    /// broker is lost first).
    pub(super) fn expect_fence(&self, n: u64, sent: oneshot::Sender<()>) {
        let mut routing = self.lock();
        if routing.lost.is_none() {
            routing.fences.insert(n, sent);
        }
    }

    /// Fence `n` is no longer waited for.
    pub(super) fn forget_fence(&self, n: u64) {
        self.lock().fences.remove(&n);
    }

    /// Forgets every state seen and every event waiting: the store is emptied.
    pub(super) fn reset(&self) {
        let mut routing = self.lock();
        routing.cache.clear();
        routing.prefetched.clear();
        routing.orphans.clear();
        routing.keyless_generation += 1;
    }

    /// A request that opens no lane may have changed `key` (every key when `None`): what
    /// was read of it is forgotten.
    pub(super) fn touched(&self, key: Option<&str>) {
        let mut routing = self.lock();
        match key {
            Some(key) => {
                *routing.generations.entry(key.to_string()).or_default() += 1;
                routing.cache.remove(key);
                routing.prefetched.remove(key);
            }
            None => {
                routing.keyless_generation += 1;
                routing.cache.clear();
                routing.prefetched.clear();
            }
        }
    }

    /// Reads `key` now, as a write of it just answered, for the read-back that follows
    /// ([`Shared::dump`] takes it). A failed read is not kept: the read-back asks again.
    pub(super) async fn prefetch(&self, key: &str) {
        let stamp = self.lock().stamp(key);
        if let Ok(state) = self.inner.dump(key).await {
            let mut routing = self.lock();
            if routing.stamp(key) == stamp {
                routing.prefetched.insert(key.to_string(), (stamp, state));
            }
        }
    }

    /// The inner target's `dump`, remembered when no write of `key` started meanwhile;
    /// the state prefetched after the last write of `key`, once, when none started since.
    pub(super) async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        if let Some(state) = self.lock().take_prefetched(key) {
            return Ok(state);
        }
        let stamp = self.lock().stamp(key);
        let state = self.inner.dump(key).await?;
        if let Some(value) = &state {
            let mut routing = self.lock();
            if routing.stamp(key) == stamp && !routing.writing(key) {
                routing
                    .cache
                    .insert(key.to_string(), Arc::new(value.clone()));
            }
        }
        Ok(state)
    }

    /// The state of `key` before a write of it: the one last seen, else read now. Empty
    /// when it cannot be told (then the write's events are not judged).
    pub(super) async fn state_before(&self, key: &str) -> HashMap<String, Arc<Value>> {
        let cached = self.lock().cache.get(key).cloned();
        let state = match cached {
            Some(state) => Some(state),
            None => self.dump(key).await.ok().flatten().map(Arc::new),
        };
        state.map(|s| (key.to_string(), s)).into_iter().collect()
    }

    /// Sorts one delivery.
    fn deliver(&self, delivery: Delivery) {
        let mut routing = self.lock();
        match delivery {
            Delivery::Event { key, event } => routing.route(key, event, &self.inner),
            Delivery::Fence(n) => {
                if let Some(sent) = routing.fences.remove(&n) {
                    let _ = sent.send(());
                }
            }
            Delivery::Lost(reason) => routing.lose(reason),
        }
    }
}

impl Routing {
    fn stamp(&self, key: &str) -> Stamp {
        let own = self.generations.get(key).copied().unwrap_or(0);
        (own, self.keyless_generation)
    }

    /// Whether a write that may change `key` is in flight.
    fn writing(&self, key: &str) -> bool {
        [Some(key.to_string()), None]
            .iter()
            .any(|k| self.lanes.get(k).is_some_and(|open| open.write))
    }

    /// The state prefetched for `key`, when no write that may change it started since
    /// (and none is in flight); remembered as the state last seen.
    fn take_prefetched(&mut self, key: &str) -> Option<Option<Value>> {
        let (stamp, state) = self.prefetched.remove(key)?;
        if stamp != self.stamp(key) || self.writing(key) {
            return None;
        }
        if let Some(value) = &state {
            self.cache.insert(key.to_string(), Arc::new(value.clone()));
        }
        Some(state)
    }

    fn lose(&mut self, reason: String) {
        self.lost.get_or_insert(reason);
        self.fences.clear();
    }

    /// An event goes to the keyless request in flight, else to its key's, else waits for
    /// its key's next request; a write's event about a key whose state before is known
    /// reads that key at once.
    fn route(&mut self, key: Option<String>, event: Event, inner: &Arc<dyn Target>) {
        let lane = if self.lanes.contains_key(&None) {
            None
        } else {
            key.clone()
        };
        let Some(open) = self.lanes.get_mut(&lane) else {
            self.orphans.entry(key).or_default().push(event);
            return;
        };
        let check = key
            .filter(|_| open.write)
            .and_then(|k| open.before.get(&k).map(|before| (k, before.clone())))
            .map(|(key, before)| Check {
                snapshot: spawn_dump(inner.clone(), key.clone()),
                key,
                before,
            });
        open.arrived.push(Arrived { event, check });
    }
}

/// Reads `key` through `inner` on a task of its own.
fn spawn_dump(
    inner: Arc<dyn Target>,
    key: String,
) -> JoinHandle<Result<Option<Value>, InfraError>> {
    tokio::spawn(async move { inner.dump(&key).await })
}

/// Sorts every delivery until the subscription ends, which loses the broker.
pub(super) async fn demultiplex(shared: Arc<Shared>, mut deliveries: super::Deliveries) {
    while let Some(delivery) = deliveries.recv().await {
        shared.deliver(delivery);
    }
    shared.lock().lose("the subscription ended".into());
}

/// A request in flight: its events are collected until it is closed (or dropped, when its
/// call failed or was abandoned).
pub(super) struct Lane<'a> {
    shared: &'a Shared,
    key: Option<String>,
    id: u64,
}

impl<'a> Lane<'a> {
    /// Opens the lane of a request of `key`; `before` holds the states a write's events are
    /// judged against. The events waiting for this key, and those naming no key, are its
    /// first. A write forgets the states it may change.
    pub(super) fn open(
        shared: &'a Shared,
        key: Option<String>,
        write: bool,
        before: HashMap<String, Arc<Value>>,
    ) -> Lane<'a> {
        let mut routing = shared.lock();
        routing.lanes_opened += 1;
        let id = routing.lanes_opened;
        let mut waiting = routing.orphans.remove(&None).unwrap_or_default();
        if key.is_some() {
            waiting.extend(routing.orphans.remove(&key).unwrap_or_default());
        }
        let before = match (&key, write) {
            (Some(k), true) => {
                *routing.generations.entry(k.clone()).or_default() += 1;
                routing.cache.remove(k);
                routing.prefetched.remove(k);
                before
            }
            (None, true) => {
                routing.keyless_generation += 1;
                routing.prefetched.clear();
                std::mem::take(&mut routing.cache)
            }
            (_, false) => before,
        };
        let arrived = waiting
            .into_iter()
            .map(|event| Arrived { event, check: None })
            .collect();
        let open = Open {
            id,
            write,
            before,
            arrived,
        };
        routing.lanes.insert(key.clone(), open);
        Lane { shared, key, id }
    }

    /// Closes the lane: later events of its key go to the next request. Its events, in
    /// arrival order.
    pub(super) fn close(self) -> Vec<Arrived> {
        self.take().map(|open| open.arrived).unwrap_or_default()
    }

    fn take(&self) -> Option<Open> {
        let mut routing = self.shared.lock();
        match routing.lanes.get(&self.key) {
            Some(open) if open.id == self.id => routing.lanes.remove(&self.key),
            _ => None,
        }
    }
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        for arrived in self.take().into_iter().flat_map(|open| open.arrived) {
            if let Some(check) = arrived.check {
                check.snapshot.abort();
            }
        }
    }
}
