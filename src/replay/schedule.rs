//! The scheduler: keeps per-key order, runs other keys concurrently, honours barriers,
//! bounds read-ahead, and emits results in cassette order.

use super::compare::{self, Pair};
use super::shard::Role;
use super::{ReplayError, ReplayOptions, RequestResult, Sink, Status};
use crate::cassette::{CassetteError, Kind, Reader, Request, Truncation};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinSet};

/// Requests the reader thread may have parsed ahead of the window.
const READ_AHEAD: usize = 16;

/// What the reader thread sends.
enum Feed {
    Request(Arc<Request>),
    End(Option<Truncation>),
    Error(CassetteError),
}

/// A request and its position in the cassette.
struct Pending {
    index: u64,
    request: Arc<Request>,
    /// Run for another request's sake, not compared or reported (see `shard`).
    context: bool,
}

/// The queued requests of one key; `running` while one of them is in flight.
#[derive(Default)]
struct Lane {
    queue: VecDeque<Pending>,
    running: bool,
}

/// Results wait here until every earlier one has been emitted.
struct Reorder<'s, 'a> {
    next: u64,
    held: BTreeMap<u64, RequestResult>,
    sinks: &'s mut [&'a mut dyn Sink],
    /// Requests run only for the state others read (another shard's writes): not emitted.
    context: HashSet<u64>,
    emitted: u64,
}

impl Reorder<'_, '_> {
    fn push(&mut self, result: RequestResult) -> std::io::Result<()> {
        self.held.insert(result.index, result);
        while let Some(result) = self.held.remove(&self.next) {
            if !self.context.remove(&self.next) {
                for sink in self.sinks.iter_mut() {
                    sink.accept(&result)?;
                }
                self.emitted += 1;
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Keys whose stores may differ after an inconclusive write, with that write's seq.
///
/// A keyed request starts only after every earlier request for its key, and a keyless one
/// after every earlier request, so the taint a request sees at its start is final.
#[derive(Default)]
struct Taint {
    keys: HashMap<String, u64>,
    /// The first inconclusive keyless write: it may have touched any key.
    everything: Option<u64>,
    /// The first inconclusive write of all, which a keyless request may read through.
    first: Option<u64>,
}

impl Taint {
    fn of(&self, key: Option<&str>) -> Option<u64> {
        match key {
            Some(key) => self.everything.or_else(|| self.keys.get(key).copied()),
            None => self.first,
        }
    }

    fn record(&mut self, result: &RequestResult) {
        if result.kind != Kind::Write || result.status != Status::Inconclusive {
            return;
        }
        self.first.get_or_insert(result.seq);
        match &result.key {
            Some(key) => {
                self.keys.entry(key.clone()).or_insert(result.seq);
            }
            None => {
                self.everything.get_or_insert(result.seq);
            }
        }
    }
}

type Job = (Option<String>, RequestResult);

/// Everything between reading a request and emitting its result.
struct Scheduler<'p> {
    pair: &'p Pair,
    options: Arc<ReplayOptions>,
    /// Keys with a request queued or in flight.
    lanes: HashMap<String, Lane>,
    /// Keys whose lane has a queued request and none in flight, in arrival order.
    ready: VecDeque<String>,
    /// A keyless request waiting for everything before it to finish.
    barrier: Option<Pending>,
    barrier_running: bool,
    jobs: JoinSet<Job>,
    in_flight: HashMap<Id, (Option<String>, Pending)>,
    taint: Taint,
}

impl Scheduler<'_> {
    /// Queues a request read from the cassette.
    fn enqueue(&mut self, pending: Pending) {
        match pending.request.key.clone() {
            Some(key) => {
                let lane = self.lanes.entry(key.clone()).or_default();
                lane.queue.push_back(pending);
                if !lane.running && lane.queue.len() == 1 {
                    self.ready.push_back(key);
                }
            }
            None => self.barrier = Some(pending),
        }
    }

    /// Starts what may start: ready keys up to the concurrency, or a barrier alone.
    fn start_ready(&mut self) {
        while self.jobs.len() < self.options.concurrency {
            let Some(key) = self.ready.pop_front() else {
                break;
            };
            let lane = self.lanes.get_mut(&key).expect("a ready key has a lane");
            let pending = lane.queue.pop_front().expect("a ready lane has a request");
            lane.running = true;
            self.start(Some(key), pending);
        }
        if !self.barrier_running && self.jobs.is_empty() && self.lanes.is_empty() {
            if let Some(pending) = self.barrier.take() {
                self.barrier_running = true;
                self.start(None, pending);
            }
        }
    }

    fn start(&mut self, key: Option<String>, pending: Pending) {
        let tainted_by = self.taint.of(key.as_deref());
        let (pair, options) = (self.pair.clone(), Arc::clone(&self.options));
        let (index, request, job_key) = (pending.index, Arc::clone(&pending.request), key.clone());
        let context = pending.context;
        let handle = self.jobs.spawn(async move {
            let result =
                compare::compare(&pair, index, &request, &options, tainted_by, context).await;
            (job_key, result)
        });
        self.in_flight.insert(handle.id(), (key, pending));
    }

    /// Whether another request may be read now.
    fn may_read(&self, unemitted: u64) -> bool {
        self.barrier.is_none() && !self.barrier_running && unemitted < self.options.window as u64
    }

    /// Books a finished job and returns its result; a panic becomes an inconclusive result.
    fn finish(&mut self, joined: Result<(Id, Job), tokio::task::JoinError>) -> RequestResult {
        let (id, (key, result)) = match joined {
            Ok(done) => done,
            Err(error) => {
                let id = error.id();
                let (key, pending) = self.in_flight.get(&id).expect("every job is tracked");
                let result =
                    compare::panicked(pending.index, &pending.request, panic_message(error));
                (id, (key.clone(), result))
            }
        };
        self.in_flight.remove(&id);
        self.taint.record(&result);
        match key {
            Some(key) => {
                let lane = self.lanes.get_mut(&key).expect("a running key has a lane");
                lane.running = false;
                if lane.queue.is_empty() {
                    self.lanes.remove(&key);
                } else {
                    self.ready.push_back(key);
                }
            }
            None => self.barrier_running = false,
        }
        result
    }
}

/// Runs the whole cassette; returns how many requests ran and the truncation, if any.
pub(super) async fn run(
    cassette: Reader,
    pair: &Pair,
    options: &ReplayOptions,
    sinks: &mut [&mut dyn Sink],
) -> Result<(u64, Option<Truncation>), ReplayError> {
    let (tx, mut rx) = mpsc::channel(READ_AHEAD);
    let reader = std::thread::spawn(move || read_all(cassette, tx));
    let mut s = Scheduler {
        pair,
        options: Arc::new(options.clone()),
        lanes: HashMap::new(),
        ready: VecDeque::new(),
        barrier: None,
        barrier_running: false,
        jobs: JoinSet::new(),
        in_flight: HashMap::new(),
        taint: Taint::default(),
    };
    let mut out = Reorder {
        next: 0,
        held: BTreeMap::new(),
        sinks,
        context: HashSet::new(),
        emitted: 0,
    };
    let (mut read, mut eof, mut truncation) = (0u64, false, None);

    loop {
        s.start_ready();
        let can_read = !eof && s.may_read(read - out.next);
        if !can_read && s.jobs.is_empty() {
            break;
        }
        tokio::select! {
            joined = s.jobs.join_next_with_id(), if !s.jobs.is_empty() => {
                let result = s.finish(joined.expect("jobs is not empty"));
                out.push(result)?;
            }
            feed = rx.recv(), if can_read => match feed {
                Some(Feed::Request(request)) => {
                    let context = match options.shard.map_or(Role::Own, |shard| shard.role(&request)) {
                        Role::Skip => continue,
                        Role::Context => out.context.insert(read),
                        Role::Own => false,
                    };
                    s.enqueue(Pending { index: read, request, context });
                    read += 1;
                }
                Some(Feed::End(cut)) => {
                    eof = true;
                    truncation = cut;
                }
                Some(Feed::Error(error)) => return Err(error.into()),
                None => {
                    let why = match reader.join() {
                        Err(panic) => panic
                            .downcast_ref::<&str>()
                            .map(|m| m.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".to_string()),
                        Ok(()) => "no end of input".to_string(),
                    };
                    return Err(ReplayError::Reader(why));
                }
            },
        }
    }
    debug_assert!(out.held.is_empty() && s.lanes.is_empty() && s.barrier.is_none());
    Ok((out.emitted, truncation))
}

/// Reads the cassette on its own thread, stopping early if the replay has gone.
fn read_all(mut cassette: Reader, tx: mpsc::Sender<Feed>) {
    loop {
        let feed = match cassette.next_request() {
            Ok(Some(request)) => Feed::Request(Arc::new(request)),
            Ok(None) => Feed::End(cassette.truncation().cloned()),
            Err(error) => Feed::Error(error),
        };
        let last = !matches!(feed, Feed::Request(_));
        if tx.blocking_send(feed).is_err() || last {
            return;
        }
    }
}

fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(error) => error.to_string(),
    }
}
