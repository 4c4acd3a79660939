//! The events a repository publishes to a real broker, watched through a subscription
//! cutover holds for each side (`docs/src/events.md`).
//!
//! [`Watched`] wraps any [`Target`]: it runs each request on it and collects the events its
//! [`Subscription`] delivered while that request ran, as [`Executed::events`]. Events are
//! told apart by the aggregate they name (their key): requests of one key run one at a time
//! (the replay guarantees it) and a keyless request runs alone, so an event about key `k`
//! belongs to the request of `k` in flight; one that arrives when none is goes to the next
//! request of `k` (it shows as extra, it is never lost).
//!
//! Collection is deterministic: once the request answered, the wrapper waits the
//! subscription's window (for publishers that publish after answering; zero by default),
//! then publishes a fence ([`Subscription::fence`]) and waits until the fence comes back,
//! so everything published before it was delivered. Meanwhile, a write's key is read once
//! (its read-back, prefetched: the replay's next read of that key takes it), so waiting for
//! the events costs no more than the slowest of the fence, the visibility reads and that
//! read.
//!
//! **Visibility at publication**: when an event arrives for a key whose write is in flight,
//! the wrapper at once reads that aggregate through the inner target's `dump`. The event is
//! [`Event::before_commit`] when that snapshot still equals the state before the write and
//! the state after the write differs from it: the aggregate did not yet hold the write that
//! published the event.
//!
//! A broker that is lost fails every later call with [`InfraError::Disconnected`] naming
//! it: the run stops, inconclusive, never equivalent.

mod routing;
mod visibility;

#[cfg(test)]
mod tests;

use super::{Checksums, Dumped, Executed, InfraError, KeyOrder, Target};
use crate::cassette::{Event, Kind, Outcome, Request};
use async_trait::async_trait;
use routing::{Lane, Shared};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What a broker subscription delivers, in the order the broker delivered it.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event about the aggregate `key` (`None`: it names none, or it could not be read:
    /// the event's name says so).
    Event {
        /// The aggregate the event is about.
        key: Option<String>,
        /// The event.
        event: Event,
    },
    /// The fence [`Subscription::fence`] published with this number came back.
    Fence(u64),
    /// The subscription is lost (connection closed, disconnected, subscription ended); the
    /// text says why. Nothing is delivered after it.
    Lost(String),
}

/// Where a subscription pushes its deliveries.
pub type Inbox = mpsc::UnboundedSender<Delivery>;

/// What a [`Watched`] reads its deliveries from.
pub type Deliveries = mpsc::UnboundedReceiver<Delivery>;

/// A new inbox and the deliveries read from it.
pub fn inbox() -> (Inbox, Deliveries) {
    mpsc::unbounded_channel()
}

/// A subscription to a side's broker: it pushes every event it receives into its
/// [`Inbox`] as a [`Delivery`], in delivery order, and publishes fences on demand.
#[async_trait]
pub trait Subscription: Send + Sync {
    /// The broker and what is subscribed, for messages (`nats://127.0.0.1:4222/orders`).
    fn describe(&self) -> String;

    /// How long to wait after a request answered for events published asynchronously after
    /// the answer, before the fence. Zero by default: publishers publish before answering.
    fn window(&self) -> Duration {
        Duration::ZERO
    }

    /// Publishes fence number `n`: it is delivered as [`Delivery::Fence`] after every event
    /// published before this call. An error says why it could not be published.
    async fn fence(&self, n: u64) -> Result<(), String>;
}

/// A target whose requests' events are read from a broker subscription, with visibility at
/// publication (the module's documentation). Everything else is the inner target's.
pub struct Watched {
    inner: Arc<dyn Target>,
    subscription: Arc<dyn Subscription>,
    shared: Arc<Shared>,
    fences: AtomicU64,
    fence_timeout: Duration,
    demux: tokio::task::JoinHandle<()>,
}

impl Watched {
    /// The default bound on a fence's round trip.
    pub const FENCE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Watches `inner` through `subscription`, whose deliveries arrive on `deliveries`
    /// (made with [`inbox`]). Spawns the task that sorts them: call it inside a tokio
    /// runtime.
    pub fn new(
        inner: Arc<dyn Target>,
        subscription: Arc<dyn Subscription>,
        deliveries: Deliveries,
    ) -> Watched {
        let shared = Arc::new(Shared::new(inner.clone()));
        let demux = tokio::spawn(routing::demultiplex(shared.clone(), deliveries));
        Watched {
            inner,
            subscription,
            shared,
            fences: AtomicU64::new(0),
            fence_timeout: Watched::FENCE_TIMEOUT,
            demux,
        }
    }

    /// The same, with fences that do not come back within `timeout` failing the call with
    /// [`InfraError::Timeout`] (10 s by default; the replay's per-call timeout bounds the
    /// call too).
    pub fn with_fence_timeout(mut self, timeout: Duration) -> Watched {
        self.fence_timeout = timeout;
        self
    }

    /// The error of every call once the broker is lost.
    fn lost(&self) -> Result<(), InfraError> {
        match self.shared.lost() {
            Some(reason) => Err(self.disconnected(&reason)),
            None => Ok(()),
        }
    }

    fn disconnected(&self, reason: &str) -> InfraError {
        InfraError::Disconnected(format!(
            "events broker {}: {reason}",
            self.subscription.describe()
        ))
    }

    /// Publishes a fence and waits until it comes back, or the broker is lost (which may
    /// happen while the publication itself waits for a connection).
    async fn fence(&self) -> Result<(), InfraError> {
        let n = self.fences.fetch_add(1, Ordering::Relaxed);
        let (sent, back) = oneshot::channel();
        self.shared.expect_fence(n, sent);
        let round_trip = tokio::time::timeout(self.fence_timeout, self.round_trip(n, back));
        let result = match round_trip.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(self.disconnected(&reason)),
            Err(_) => Err(InfraError::Timeout(self.fence_timeout)),
        };
        self.shared.forget_fence(n);
        result
    }

    /// Fence `n` published and back; an error says why not.
    async fn round_trip(&self, n: u64, mut back: oneshot::Receiver<()>) -> Result<(), String> {
        let publish = self.subscription.fence(n);
        tokio::pin!(publish);
        let mut published = false;
        loop {
            tokio::select! {
                result = &mut publish, if !published => match result {
                    Ok(()) => published = true,
                    Err(e) => return Err(format!("publishing a fence: {e}")),
                },
                came = &mut back => {
                    return came.map_err(|_| self.shared.lost().unwrap_or_default());
                }
            }
        }
    }

    /// Once `lane`'s request answered: waits for its events and judges them.
    async fn collect(&self, lane: Lane<'_>) -> Result<Vec<Event>, InfraError> {
        let window = self.subscription.window();
        if !window.is_zero() {
            tokio::time::sleep(window).await;
        }
        self.fence().await?;
        self.lost()?;
        let arrived = lane.close();
        visibility::judge(arrived, &self.shared).await
    }

    /// The key whose state is read back after `request`: a write of a key, on a target
    /// whose state holds a write once it answered (no settle window).
    fn read_back<'r>(&self, request: &'r Request) -> Option<&'r str> {
        let settles = self.inner.settle(request).is_some_and(|w| !w.is_zero());
        match (&request.key, request.kind, settles) {
            (Some(key), Kind::Write, false) => Some(key),
            _ => None,
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.demux.abort();
    }
}

#[async_trait]
impl Target for Watched {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.lost()?;
        self.shared.reset();
        self.inner.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }

    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        self.lost()?;
        let write = request.kind == Kind::Write;
        let before = match (&request.key, write) {
            (Some(key), true) => self.shared.state_before(key).await,
            _ => Default::default(),
        };
        let lane = Lane::open(&self.shared, request.key.clone(), write, before);
        // On an error the lane is dropped, and closes: later events go to the next request.
        let executed = self.inner.execute_events(request).await?;
        let prefetch = async {
            if let Some(key) = self.read_back(request) {
                self.shared.prefetch(key).await;
            }
        };
        let (events, ()) = tokio::join!(self.collect(lane), prefetch);
        Ok(Executed {
            outcome: executed.outcome,
            events: Some(events?),
        })
    }

    fn domain(&self) -> Option<&str> {
        self.inner.domain()
    }

    fn declaration(&self) -> Option<&Value> {
        self.inner.declaration()
    }

    fn databases(&self) -> Vec<String> {
        self.inner.databases()
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.lost()?;
        self.shared.dump(key).await
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        self.inner.keys(after, limit).await
    }

    fn key_order(&self) -> KeyOrder {
        self.inner.key_order()
    }

    async fn dump_batch(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        self.inner.dump_batch(keys).await
    }

    fn checksums(&self) -> Option<&dyn Checksums> {
        self.inner.checksums()
    }

    fn latency(&self, request: &Request, measured: Duration) -> Option<Duration> {
        self.inner.latency(request, measured)
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.inner.settle(request)
    }

    fn pauses(&self) -> bool {
        self.inner.pauses()
    }

    async fn execute_paused(
        &self,
        request: &Request,
        pause: Duration,
    ) -> Result<Outcome, InfraError> {
        self.lost()?;
        self.shared.touched(request.key.as_deref());
        let outcome = self.inner.execute_paused(request, pause).await;
        self.shared.touched(request.key.as_deref());
        outcome
    }
}
