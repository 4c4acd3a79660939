//! The scheduler: keeps per-key order, runs other keys concurrently, honours barriers,
//! bounds read-ahead, emits results in cassette order, and stops sending requests to a pair
//! one of whose sides has stopped answering.

use super::compare;
use super::jobs::{JobId, Jobs};
use super::shard::Role;
use super::sides::Pair;
use super::{ReplayError, ReplayOptions, RequestResult, Side, SideName, Sink, Status, Stop};
use crate::cassette::{CassetteError, Kind, Reader, Request, Truncation};
use crate::normalize::RuleRun;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Batches the reader thread may have parsed ahead of the window.
const READ_AHEAD: usize = 2;

/// At most this many requests go from the reader thread in one batch. A batch, not each
/// request, wakes the other side: one hand-off between threads per request cost more
/// than the replay of a request on a fast store.
const BATCH: usize = 32;

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
    /// Marks each emitted divergence as a cause or as following one.
    causes: super::causes::Causes,
}

impl Reorder<'_, '_> {
    fn push(&mut self, result: RequestResult) -> std::io::Result<()> {
        self.held.insert(result.index, result);
        while let Some(mut result) = self.held.remove(&self.next) {
            if !self.context.remove(&self.next) {
                self.causes.mark(&mut result);
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

/// One side's current run of infrastructure failures, in the order results finish.
#[derive(Default)]
struct Streak {
    count: usize,
    /// The seq and failure of the first request of the run.
    first: Option<(u64, String)>,
}

impl Streak {
    /// Counts a failure, or resets on an answer.
    fn observe(&mut self, seq: u64, failure: Option<&str>) {
        match failure {
            Some(why) => {
                if self.count == 0 {
                    self.first = Some((seq, why.to_string()));
                }
                self.count += 1;
            }
            None => *self = Streak::default(),
        }
    }
}

/// Both sides' runs of infrastructure failures, against the limit.
struct Health {
    limit: usize,
    legacy: Streak,
    candidate: Streak,
}

impl Health {
    /// Books a result a target answered (not a panic): a side with a `failure` failed
    /// (`execute`, `dump` or their timeout), a side without answered. Returns the side
    /// that has now failed `limit` times in a row, the legacy first.
    fn observe(&mut self, result: &RequestResult) -> Option<SideName> {
        self.legacy
            .observe(result.seq, result.legacy.failure.as_deref());
        self.candidate
            .observe(result.seq, result.candidate.failure.as_deref());
        if self.limit == 0 {
            None
        } else if self.legacy.count >= self.limit {
            Some(SideName::Legacy)
        } else if self.candidate.count >= self.limit {
            Some(SideName::Candidate)
        } else {
            None
        }
    }

    /// The stop for `side`, which has just reached the limit.
    fn stop(&self, side: SideName, pair: &Pair) -> Stop {
        let (streak, target) = match side {
            SideName::Legacy => (&self.legacy, pair.legacy.name()),
            SideName::Candidate => (&self.candidate, pair.candidate.name()),
        };
        let (first_seq, first_error) = streak.first.clone().unwrap_or_default();
        Stop {
            side,
            target: target.to_string(),
            failures: streak.count,
            first_seq,
            first_error,
            not_sent: 0,
        }
    }
}

type Job = (Option<String>, RequestResult);

/// Everything between reading a request and emitting its result.
struct Scheduler<'p> {
    pair: &'p Pair,
    options: Arc<ReplayOptions>,
    /// This run's use of the rules: its counts and learned identifiers.
    rules: Option<Arc<RuleRun>>,
    /// Keys with a request queued or in flight.
    lanes: HashMap<String, Lane>,
    /// Keys whose lane has a queued request and none in flight, in arrival order.
    ready: VecDeque<String>,
    /// A keyless request waiting for everything before it to finish.
    barrier: Option<Pending>,
    barrier_running: bool,
    jobs: Jobs<Job>,
    in_flight: HashMap<JobId, (Option<String>, Pending)>,
    taint: Taint,
    health: Health,
}

impl Scheduler<'_> {
    /// Queues a request read from the cassette.
    fn enqueue(&mut self, pending: Pending) {
        // A create whose store numbers the new aggregate runs alone, in cassette order: the
        // ids each store hands out (and lists ordered by them) follow the recorded order.
        let alone = self.options.serial_ops.contains(&pending.request.op);
        match pending.request.key.clone().filter(|_| !alone) {
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
        let rules = self.rules.clone();
        let (index, request, job_key) = (pending.index, Arc::clone(&pending.request), key.clone());
        let context = pending.context;
        let id = self.jobs.spawn(async move {
            let result = compare::compare(
                &pair,
                index,
                &request,
                &options,
                rules.as_deref(),
                tainted_by,
                context,
            )
            .await;
            (job_key, result)
        });
        self.in_flight.insert(id, (key, pending));
    }

    /// Whether another request may be read now.
    fn may_read(&self, unemitted: u64) -> bool {
        self.barrier.is_none() && !self.barrier_running && unemitted < self.options.window as u64
    }

    /// Books a finished job and returns its result, and the side that has now failed too
    /// often in a row, if one has; a panic becomes an inconclusive result (and no count:
    /// it is no infrastructure failure).
    fn finish(
        &mut self,
        (id, joined): (JobId, Result<Job, String>),
    ) -> (RequestResult, Option<SideName>) {
        let mut dead = None;
        let (key, result) = match joined {
            Ok(done) => {
                dead = self.health.observe(&done.1);
                done
            }
            Err(panic) => {
                let (key, pending) = self.in_flight.get(&id).expect("every job is tracked");
                (
                    key.clone(),
                    compare::panicked(pending.index, &pending.request, panic),
                )
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
        (result, dead)
    }

    /// Stops sending: aborts every job in flight without waiting for it, and returns every
    /// request not yet compared (in flight, queued or waiting as the barrier) with whether
    /// it had started.
    fn abandon(&mut self) -> Vec<(Pending, bool)> {
        // Dropping the jobs stops every comparison at once; nothing waits on a dead target.
        self.jobs = Jobs::new(self.options.concurrency);
        let mut left: Vec<(Pending, bool)> = self
            .in_flight
            .drain()
            .map(|(_, (_, pending))| (pending, true))
            .collect();
        for (_, lane) in self.lanes.drain() {
            left.extend(lane.queue.into_iter().map(|pending| (pending, false)));
        }
        left.extend(self.barrier.take().map(|pending| (pending, false)));
        self.ready.clear();
        self.barrier_running = false;
        left
    }
}

/// The result of a request left uncompared by `stop`: inconclusive, both sides naming why.
fn not_sent(stop: &Stop, pending: &Pending, started: bool) -> RequestResult {
    let side = Side {
        failure: Some(stop.cause(started)),
        ..Side::default()
    };
    RequestResult {
        legacy: side.clone(),
        candidate: side,
        ..RequestResult::of(pending.index, &pending.request, Status::Inconclusive)
    }
}

/// Runs the whole cassette; returns how many requests were emitted, the truncation and
/// the stop, if any.
///
/// After a stop the cassette is still read to its end, and every request is emitted,
/// inconclusive, without being sent.
pub(super) async fn run(
    cassette: Reader,
    pair: &Pair,
    options: &ReplayOptions,
    rules: Option<Arc<RuleRun>>,
    sinks: &mut [&mut dyn Sink],
) -> Result<(u64, Option<Truncation>, Option<Stop>), ReplayError> {
    let (tx, mut rx) = mpsc::channel(READ_AHEAD);
    let reader = std::thread::spawn(move || read_all(cassette, tx));
    let mut s = Scheduler {
        pair,
        options: Arc::new(options.clone()),
        rules,
        lanes: HashMap::new(),
        ready: VecDeque::new(),
        barrier: None,
        barrier_running: false,
        jobs: Jobs::new(options.concurrency),
        in_flight: HashMap::new(),
        taint: Taint::default(),
        health: Health {
            limit: options.max_infra_failures,
            legacy: Streak::default(),
            candidate: Streak::default(),
        },
    };
    let mut out = Reorder {
        next: 0,
        held: BTreeMap::new(),
        sinks,
        context: HashSet::new(),
        emitted: 0,
        causes: super::causes::Causes::new(),
    };
    let (mut read, mut eof, mut truncation) = (0u64, false, None);
    let mut stopped: Option<Stop> = None;
    // The rest of the last batch received.
    let mut fed: VecDeque<Feed> = VecDeque::new();

    loop {
        s.start_ready();
        let can_read = !eof && s.may_read(read - out.next);
        let next = if can_read { fed.pop_front() } else { None };
        if let Some(feed) = next {
            match feed {
                Feed::Request(request) => {
                    let context = match options
                        .shard
                        .map_or(Role::Own, |shard| shard.role(&request))
                    {
                        Role::Skip => continue,
                        Role::Context => out.context.insert(read),
                        Role::Own => false,
                    };
                    let pending = Pending {
                        index: read,
                        request,
                        context,
                    };
                    match &mut stopped {
                        Some(stop) => {
                            stop.not_sent += u64::from(!context);
                            out.push(not_sent(stop, &pending, false))?;
                        }
                        None => s.enqueue(pending),
                    }
                    read += 1;
                }
                Feed::End(cut) => {
                    eof = true;
                    truncation = cut;
                }
                Feed::Error(error) => return Err(error.into()),
            }
            continue;
        }
        if !can_read && s.jobs.is_empty() {
            break;
        }
        tokio::select! {
            joined = s.jobs.join_next(), if !s.jobs.is_empty() => {
                let (result, dead) = s.finish(joined.expect("jobs is not empty"));
                out.push(result)?;
                if let Some(side) = dead {
                    let mut stop = s.health.stop(side, pair);
                    let mut left = s.abandon();
                    left.sort_by_key(|(pending, _)| pending.index);
                    for (pending, started) in left {
                        stop.not_sent += u64::from(!pending.context);
                        out.push(not_sent(&stop, &pending, started))?;
                    }
                    stopped = Some(stop);
                }
            }
            batch = rx.recv(), if can_read => match batch {
                Some(batch) => fed.extend(batch),
                None => {
                    let why = match reader.join() {
                        Err(panic) => super::panic_text(&*panic),
                        Ok(()) => "no end of input".to_string(),
                    };
                    return Err(ReplayError::Reader(why));
                }
            },
        }
    }
    debug_assert!(out.held.is_empty() && s.lanes.is_empty() && s.barrier.is_none());
    Ok((out.emitted, truncation, stopped))
}

/// Reads the cassette on its own thread, in batches, stopping early if the replay has
/// gone. A batch goes out when full, at the end, and before a read that could wait for
/// input (a cassette written as it is replayed), so no request is held back.
fn read_all(mut cassette: Reader, tx: mpsc::Sender<Vec<Feed>>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let feed = match cassette.next_request() {
            Ok(Some(request)) => Feed::Request(Arc::new(request)),
            Ok(None) => Feed::End(cassette.truncation().cloned()),
            Err(error) => Feed::Error(error),
        };
        let last = !matches!(feed, Feed::Request(_));
        batch.push(feed);
        if last || batch.len() == BATCH || !cassette.next_line_buffered() {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(full).is_err() || last {
                return;
            }
        }
    }
}
