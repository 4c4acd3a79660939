//! The scheduler: keeps per-key order, runs other keys concurrently, honours barriers,
//! bounds read-ahead, and emits results in cassette order.

use super::compare::{self, Pair};
use super::{ReplayError, ReplayOptions, RequestResult, Sink};
use crate::cassette::{CassetteError, Reader, Request, Truncation};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinSet};

/// What the reader thread sends.
enum Feed {
    Request(Request),
    End(Option<Truncation>),
    Error(CassetteError),
}

/// A request and its position in the cassette.
struct Pending {
    index: u64,
    request: Arc<Request>,
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
}

impl Reorder<'_, '_> {
    fn push(&mut self, result: RequestResult) -> std::io::Result<()> {
        self.held.insert(result.index, result);
        while let Some(result) = self.held.remove(&self.next) {
            for sink in self.sinks.iter_mut() {
                sink.accept(&result)?;
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Runs the whole cassette; returns how many requests ran and the truncation, if any.
pub(super) async fn run(
    cassette: Reader,
    pair: &Pair,
    options: &ReplayOptions,
    sinks: &mut [&mut dyn Sink],
) -> Result<(u64, Option<Truncation>), ReplayError> {
    let (tx, mut rx) = mpsc::channel(options.window.min(1024));
    let reader = std::thread::spawn(move || read_all(cassette, tx));
    let shared = Arc::new(options.clone());

    let mut lanes: HashMap<String, Lane> = HashMap::new();
    let mut ready: VecDeque<String> = VecDeque::new();
    let mut barrier: Option<Pending> = None;
    let mut barrier_running = false;
    let mut jobs = JoinSet::new();
    let mut in_flight = HashMap::new();
    let mut out = Reorder {
        next: 0,
        held: BTreeMap::new(),
        sinks,
    };
    let mut read = 0u64;
    let mut eof = false;
    let mut truncation = None;

    type Jobs = JoinSet<(Option<String>, RequestResult)>;
    type InFlight = HashMap<Id, (Option<String>, Pending)>;
    let start =
        |jobs: &mut Jobs, in_flight: &mut InFlight, key: Option<String>, pending: Pending| {
            let (pair, options) = (pair.clone(), Arc::clone(&shared));
            let request = Arc::clone(&pending.request);
            let (index, job_key) = (pending.index, key.clone());
            let handle = jobs.spawn(async move {
                let result = compare::compare(&pair, index, &request, &options).await;
                (job_key, result)
            });
            in_flight.insert(handle.id(), (key, pending));
        };

    loop {
        while jobs.len() < options.concurrency {
            let Some(key) = ready.pop_front() else { break };
            let lane = lanes.get_mut(&key).expect("a ready key has a lane");
            let pending = lane.queue.pop_front().expect("a ready lane has a request");
            lane.running = true;
            start(&mut jobs, &mut in_flight, Some(key), pending);
        }
        if !barrier_running && jobs.is_empty() && lanes.is_empty() {
            if let Some(pending) = barrier.take() {
                barrier_running = true;
                start(&mut jobs, &mut in_flight, None, pending);
            }
        }
        let can_read = !eof
            && barrier.is_none()
            && !barrier_running
            && read - out.next < options.window as u64;
        if !can_read && jobs.is_empty() {
            break;
        }
        tokio::select! {
            joined = jobs.join_next_with_id(), if !jobs.is_empty() => {
                let (id, key, result) = match joined.expect("jobs is not empty") {
                    Ok((id, (key, result))) => (id, key, result),
                    Err(error) => {
                        let id = error.id();
                        let (key, pending) = in_flight.get(&id).expect("every job is tracked");
                        let message = panic_message(error);
                        (id, key.clone(), compare::panicked(pending.index, &pending.request, message))
                    }
                };
                in_flight.remove(&id);
                match key {
                    Some(key) => {
                        let lane = lanes.get_mut(&key).expect("a running key has a lane");
                        lane.running = false;
                        if lane.queue.is_empty() {
                            lanes.remove(&key);
                        } else {
                            ready.push_back(key);
                        }
                    }
                    None => barrier_running = false,
                }
                out.push(result)?;
            }
            feed = rx.recv(), if can_read => match feed {
                Some(Feed::Request(request)) => {
                    let pending = Pending { index: read, request: Arc::new(request) };
                    read += 1;
                    match pending.request.key.clone() {
                        Some(key) => {
                            let lane = lanes.entry(key.clone()).or_default();
                            lane.queue.push_back(pending);
                            if !lane.running && lane.queue.len() == 1 {
                                ready.push_back(key);
                            }
                        }
                        None => barrier = Some(pending),
                    }
                }
                Some(Feed::End(cut)) => {
                    eof = true;
                    truncation = cut;
                }
                Some(Feed::Error(error)) => return Err(error.into()),
                None => {
                    eof = true;
                    if reader.is_finished() {
                        return Err(ReplayError::Options("the cassette reader stopped unexpectedly".into()));
                    }
                }
            },
        }
    }
    debug_assert!(out.held.is_empty() && lanes.is_empty() && barrier.is_none());
    Ok((out.next, truncation))
}

/// Reads the cassette on its own thread, stopping early if the replay has gone.
fn read_all(mut cassette: Reader, tx: mpsc::Sender<Feed>) {
    loop {
        let feed = match cassette.next_request() {
            Ok(Some(request)) => Feed::Request(request),
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
