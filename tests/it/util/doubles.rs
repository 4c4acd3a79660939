//! The target double the tests share: [`Double`] wraps a store (an in-memory kv store unless
//! told otherwise) and does what each test tells it to, on top of the store: fail a key's
//! calls (refused, disconnected, hung, panicked), hold a key's calls until released, die
//! after so many calls or be gone from the start, refuse all but every n-th, fail the calls
//! after the first of a seq, answer or store otherwise than the store, or slow down.
//! Whatever it is told, it counts and watches every call it receives (calls per seq,
//! writes, dumps, each key's order, how many were in flight at once).

use async_trait::async_trait;
use cutover::cassette::{Kind, Outcome, Request};
use cutover::kv::memory::Memory;
use cutover::targets::{Executed, InfraError, Target};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How a [`Double`] fails a call.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// At once: `connection refused: 127.0.0.1:1`.
    Refuse,
    /// At once: `connection dropped: WHY`.
    Disconnect(&'static str),
    /// Never answers (a caller's timeout ends the call).
    Hang,
    /// Panics with `candidate bug on KEY`.
    Panic,
}

/// How long to sleep before the store answers a request.
type Delay = Box<dyn Fn(&Request) -> Duration + Send + Sync>;
/// What the store is handed instead of a request.
type Store = Box<dyn Fn(&mut Request) + Send + Sync>;
/// An answer given instead of the store's: the outcome, and the state `dump` then tells for
/// the key.
type Script = Box<dyn Fn(&Request, u32) -> Option<(Outcome, Option<Value>)> + Send + Sync>;
/// A change to the store's answer.
type Edit = Box<dyn Fn(&Request, &mut Outcome) + Send + Sync>;

/// A target that wraps a store, misbehaves as configured and records how it is called.
/// Built with [`Double::memory`] or [`Double::wrapping`] and the builder methods below;
/// with none of them it answers as its store does.
pub struct Double {
    name: Option<String>,
    inner: Arc<dyn Target>,
    // What it is told to do.
    failing: HashMap<String, Failure>,
    held: Option<String>,
    dies_after: Option<(usize, Failure)>,
    answers_every: Option<u64>,
    retries: Option<Failure>,
    delay: Option<Delay>,
    stores: Option<Store>,
    answers: Option<Script>,
    edits: Option<Edit>,
    // What it saw.
    executed: AtomicUsize,
    writes: AtomicUsize,
    dumps: AtomicUsize,
    calls: Mutex<HashMap<u64, u32>>,
    seen: Mutex<HashMap<String, Vec<u64>>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    keyless_overlapped: AtomicBool,
    dead: AtomicBool,
    scripted_states: Mutex<HashMap<String, Value>>,
    release: Notify,
}

impl Double {
    /// A double over a fresh in-memory kv store.
    pub fn memory() -> Double {
        Double::wrapping(Memory::new())
    }

    /// A double over `inner`; it takes `inner`'s name and settle window.
    pub fn wrapping(inner: impl Target + 'static) -> Double {
        Double {
            name: None,
            inner: Arc::new(inner),
            failing: HashMap::new(),
            held: None,
            dies_after: None,
            answers_every: None,
            retries: None,
            delay: None,
            stores: None,
            answers: None,
            edits: None,
            executed: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            dumps: AtomicUsize::new(0),
            calls: Mutex::default(),
            seen: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            keyless_overlapped: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            scripted_states: Mutex::default(),
            release: Notify::new(),
        }
    }

    /// Names it `name` in reports instead of its store's name.
    pub fn named(mut self, name: &str) -> Double {
        self.name = Some(name.to_string());
        self
    }

    /// Fails every `execute` for `key` as `failure` says.
    pub fn failing(mut self, key: &str, failure: Failure) -> Double {
        self.failing.insert(key.to_string(), failure);
        self
    }

    /// Holds every `execute` for `key` until [`Double::release`], then answers.
    pub fn holding(mut self, key: &str) -> Double {
        self.held = Some(key.to_string());
        self
    }

    /// Answers the first `calls` `execute` calls, then dies: every later call (`execute`,
    /// `dump`, `reset`) fails as `failure` says.
    pub fn dying_after(mut self, calls: usize, failure: Failure) -> Double {
        self.dies_after = Some((calls, failure));
        self
    }

    /// Dead from the start: every call (`reset` included) is refused.
    pub fn gone(self) -> Double {
        self.dead.store(true, Ordering::SeqCst);
        self.dying_after(0, Failure::Refuse)
    }

    /// Refuses every `execute` whose request's seq is not a multiple of `every`, and
    /// answers the others; never dies.
    pub fn answering_only_every(mut self, every: u64) -> Double {
        self.answers_every = Some(every);
        self
    }

    /// Fails every `execute` of a seq after its first as `failure` says.
    pub fn failing_retries(mut self, failure: Failure) -> Double {
        self.retries = Some(failure);
        self
    }

    /// Sleeps `delay(request)` before the store answers.
    pub fn delaying(
        mut self,
        delay: impl Fn(&Request) -> Duration + Send + Sync + 'static,
    ) -> Double {
        self.delay = Some(Box::new(delay));
        self
    }

    /// Hands the store the request as `store` changes it (the answer is the store's).
    pub fn storing(mut self, store: impl Fn(&mut Request) + Send + Sync + 'static) -> Double {
        self.stores = Some(Box::new(store));
        self
    }

    /// Answers a request itself where `answer(request, calls of its seq so far)` gives an
    /// outcome, without the store; the state given with it is what `dump` tells for the
    /// request's key until the next reset.
    pub fn answering(
        mut self,
        answer: impl Fn(&Request, u32) -> Option<(Outcome, Option<Value>)> + Send + Sync + 'static,
    ) -> Double {
        self.answers = Some(Box::new(answer));
        self
    }

    /// Changes every outcome it answers as `edit` says.
    pub fn editing(
        mut self,
        edit: impl Fn(&Request, &mut Outcome) + Send + Sync + 'static,
    ) -> Double {
        self.edits = Some(Box::new(edit));
        self
    }

    /// The store it wraps, to read or seed it behind the double's back.
    pub fn inner(&self) -> &dyn Target {
        &*self.inner
    }

    /// Lets one held call (or the next one to be held) go on.
    pub fn release(&self) {
        self.release.notify_one();
    }

    /// `execute` calls received.
    pub fn executed(&self) -> usize {
        self.executed.load(Ordering::SeqCst)
    }

    /// `execute` calls received for writes.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// `dump` calls received.
    pub fn dumps(&self) -> usize {
        self.dumps.load(Ordering::SeqCst)
    }

    /// `execute` calls received for `seq`.
    pub fn calls(&self, seq: u64) -> u32 {
        self.calls.lock().unwrap().get(&seq).copied().unwrap_or(0)
    }

    /// The seqs each key's `execute` calls arrived with, in the order they arrived.
    pub fn seen(&self) -> HashMap<String, Vec<u64>> {
        self.seen.lock().unwrap().clone()
    }

    /// The most `execute` calls in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Whether a keyless request was ever in flight with another call.
    pub fn keyless_overlapped(&self) -> bool {
        self.keyless_overlapped.load(Ordering::SeqCst)
    }

    /// How every call fails once it has died.
    fn death(&self) -> Option<Failure> {
        let (_, failure) = self.dies_after?;
        self.dead.load(Ordering::SeqCst).then_some(failure)
    }

    async fn fail<T>(&self, failure: Failure, key: Option<&str>) -> Result<T, InfraError> {
        match failure {
            Failure::Refuse => Err(InfraError::Refused("127.0.0.1:1".into())),
            Failure::Disconnect(why) => Err(InfraError::Disconnected(why.into())),
            Failure::Hang => std::future::pending().await,
            Failure::Panic => panic!("candidate bug on {}", key.unwrap_or("a keyless request")),
        }
    }
}

/// One `execute` in flight: counted in when made, out when dropped (answered, failed,
/// panicked or cut off by a timeout).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Target for Double {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.inner.name())
    }

    async fn reset(&self) -> Result<(), InfraError> {
        if let Some(failure) = self.death() {
            return self.fail(failure, None).await;
        }
        self.scripted_states.lock().unwrap().clear();
        self.inner.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }

    /// The store's answer and events, unless told otherwise: a scripted answer, or a
    /// request the store is handed changed, tells no events (the double's defect is in
    /// what it answers or stores, not in what it publishes).
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let key = request.key.as_deref();
        let executed = self.executed.fetch_add(1, Ordering::SeqCst);
        let calls = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(request.seq).or_default();
            *n += 1;
            *n
        };
        if request.kind == Kind::Write {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _in_flight = InFlight(&self.in_flight);
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        match key {
            None if now != 1 => self.keyless_overlapped.store(true, Ordering::SeqCst),
            None => {}
            Some(key) => self
                .seen
                .lock()
                .unwrap()
                .entry(key.to_string())
                .or_default()
                .push(request.seq),
        }

        if let Some(failure) = key.and_then(|k| self.failing.get(k)) {
            return self.fail(*failure, key).await;
        }
        if let Some(every) = self.answers_every {
            if !request.seq.is_multiple_of(every) {
                return self.fail(Failure::Refuse, key).await;
            }
        }
        if let Some((after, failure)) = self.dies_after {
            if executed >= after {
                self.dead.store(true, Ordering::SeqCst);
            }
            if self.dead.load(Ordering::SeqCst) {
                return self.fail(failure, key).await;
            }
        }
        if let Some(failure) = self.retries.filter(|_| calls > 1) {
            return self.fail(failure, key).await;
        }
        if key.is_some() && key == self.held.as_deref() {
            self.release.notified().await;
        }
        if let Some(delay) = &self.delay {
            tokio::time::sleep(delay(request)).await;
        }

        let scripted = self
            .answers
            .as_ref()
            .and_then(|answer| answer(request, calls));
        let mut executed = match (scripted, &self.stores) {
            (Some((outcome, state)), _) => {
                if let (Some(key), Some(state)) = (key, state) {
                    let mut states = self.scripted_states.lock().unwrap();
                    states.insert(key.to_string(), state);
                }
                Executed::from(outcome)
            }
            (None, Some(store)) => {
                let mut stored = request.clone();
                store(&mut stored);
                Executed::from(self.inner.execute(&stored).await?)
            }
            (None, None) => self.inner.execute_events(request).await?,
        };
        if let Some(edit) = &self.edits {
            edit(request, &mut executed.outcome);
        }
        if key.is_none() && self.in_flight.load(Ordering::SeqCst) != 1 {
            self.keyless_overlapped.store(true, Ordering::SeqCst);
        }
        Ok(executed)
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.dumps.fetch_add(1, Ordering::SeqCst);
        if let Some(failure) = self.death() {
            return self.fail(failure, Some(key)).await;
        }
        let scripted = self.scripted_states.lock().unwrap().get(key).cloned();
        match scripted {
            Some(state) => Ok(Some(state)),
            None => self.inner.dump(key).await,
        }
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.inner.settle(request)
    }
}
