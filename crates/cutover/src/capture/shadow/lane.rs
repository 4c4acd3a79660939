//! The lanes: tasks that ask the candidate and compare, off the callers' path. One key's
//! calls always go to the same lane, so they reach the candidate in the order the legacy
//! got them; each lane's queue is bounded and offered to without waiting.

use super::{lock, ShadowConfig, ShadowStats, Writes};
use crate::capture::redact::Redactor;
use crate::cassette::{Kind, Outcome, Request};
use crate::replay::{RequestResult, Side, Status};
use crate::targets::{InfraError, Target};
use futures::FutureExt;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The legacy's answer, handed over by the caller once it has it.
pub(super) struct Legacy {
    pub outcome: Result<Outcome, InfraError>,
    pub took: Duration,
}

/// One comparison to make.
pub(super) struct Job {
    pub request: Request,
    pub legacy: oneshot::Receiver<Legacy>,
}

/// Keys out of sync with the mirror store (shared with the experiment).
pub(super) type Desynced = Arc<Mutex<HashSet<String>>>;

pub(super) struct Lanes {
    senders: RwLock<Option<Vec<mpsc::Sender<Job>>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    next: AtomicU64,
}

/// What every lane shares.
struct Context {
    name: String,
    candidate: Arc<dyn Target>,
    timeout: Duration,
    mirror: bool,
    rules: Option<Arc<crate::normalize::RuleRun>>,
    redactor: Option<Arc<Redactor>>,
    results: mpsc::Sender<RequestResult>,
    stats: Arc<ShadowStats>,
    desynced: Desynced,
}

/// How the lanes treat what they compare: the experiment's use of the rules (its counts
/// and learned identifiers, shared with the report) and the redactor.
pub(super) struct Treatment {
    pub rules: Option<Arc<crate::normalize::RuleRun>>,
    pub redactor: Option<Arc<Redactor>>,
}

impl Lanes {
    pub(super) fn start(
        runtime: &tokio::runtime::Handle,
        config: &ShadowConfig,
        candidate: Arc<dyn Target>,
        Treatment { rules, redactor }: Treatment,
        results: mpsc::Sender<RequestResult>,
        stats: Arc<ShadowStats>,
        desynced: Desynced,
    ) -> Lanes {
        let context = Arc::new(Context {
            name: config.name.clone(),
            candidate,
            timeout: config.timeout,
            mirror: matches!(config.writes, Writes::Mirror { .. }),
            rules,
            redactor,
            results,
            stats,
            desynced,
        });
        let lanes = config.lanes.max(1);
        let depth = (config.queue / lanes).max(1);
        let (mut senders, mut tasks) = (Vec::new(), Vec::new());
        for _ in 0..lanes {
            let (tx, rx) = mpsc::channel(depth);
            senders.push(tx);
            tasks.push(runtime.spawn(run(rx, Arc::clone(&context))));
        }
        Lanes {
            senders: RwLock::new(Some(senders)),
            tasks: Mutex::new(tasks),
            next: AtomicU64::new(0),
        }
    }

    /// Queues `job` on its key's lane without waiting; `false` if the lane is full or the
    /// experiment has finished.
    pub(super) fn offer(&self, job: Job) -> bool {
        let senders = self.senders.read().unwrap_or_else(|p| p.into_inner());
        let Some(senders) = senders.as_ref() else {
            return false;
        };
        let slot = match &job.request.key {
            Some(key) => foldhash::fast::FixedState::with_seed(7).hash_one(key.as_str()),
            None => self.next.fetch_add(1, Ordering::Relaxed),
        };
        let lane = &senders[(slot % senders.len() as u64) as usize];
        lane.try_send(job).is_ok()
    }

    /// Takes no more jobs and waits until the lanes have finished the queued ones.
    pub(super) async fn close(&self) {
        self.senders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            // A lane that panicked outside a comparison has nothing more to hand over.
            let _ = task.await;
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Job>, context: Arc<Context>) {
    while let Some(Job { request, legacy }) = rx.recv().await {
        if context.mirror
            && request
                .key
                .as_ref()
                .is_some_and(|k| lock(&context.desynced).contains(k))
        {
            // An earlier mirrored write of this key was lost: the mirror cannot answer it.
            context.stats.withdrawn.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let compared = compare(&request, legacy, &context);
        let result = match AssertUnwindSafe(compared).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let mut result = RequestResult::of(request.seq - 1, &request, Status::Inconclusive);
                result.args = Some(redacted_args(&context, &request));
                result.candidate.failure = Some(format!(
                    "comparing panicked: {}",
                    crate::replay::panic_text(&*panic)
                ));
                result
            }
        };
        publish(&context, &request, &result);
        // The publisher's queue is bounded: a slow disk slows the lanes, which then skip.
        if context.results.send(result).await.is_err() {
            return;
        }
    }
}

/// Asks the candidate (at once, while the legacy works) and compares with the legacy's
/// answer when it comes.
async fn compare(
    request: &Request,
    legacy: oneshot::Receiver<Legacy>,
    context: &Context,
) -> RequestResult {
    let start = Instant::now();
    let asked = AssertUnwindSafe(context.candidate.execute(request)).catch_unwind();
    let candidate = match tokio::time::timeout(context.timeout, asked).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(panic)) => Err(InfraError::Other(format!(
            "panicked: {}",
            crate::replay::panic_text(&*panic)
        ))),
        Err(_) => Err(InfraError::Timeout(context.timeout)),
    };
    let c_took = start.elapsed();
    // The legacy answers the caller; it gets as long as the candidate may take, again.
    let legacy = match tokio::time::timeout(context.timeout, legacy).await {
        Ok(Ok(legacy)) => legacy,
        Ok(Err(_)) => Legacy {
            outcome: Err(InfraError::Other("the caller's call did not finish".into())),
            took: Duration::ZERO,
        },
        Err(_) => Legacy {
            outcome: Err(InfraError::Timeout(context.timeout)),
            took: context.timeout,
        },
    };
    let mut result = RequestResult::of(request.seq - 1, request, Status::Equal);
    result.legacy = side(legacy.took, &legacy.outcome);
    result.candidate = side(c_took, &candidate);
    match (legacy.outcome, candidate) {
        (Ok(mut l), Ok(mut c)) => {
            if let Some(redactor) = &context.redactor {
                redactor.outcome(&mut l);
                redactor.outcome(&mut c);
            }
            let found = crate::replay::diff_outcomes(request, context.rules.as_deref(), &l, &c);
            if !found.is_equal() {
                result.status = Status::Divergent;
                result.divergences = found.divergences;
                result.omitted = found.omitted;
            }
        }
        (_, candidate) => {
            result.status = Status::Inconclusive;
            if candidate.is_err() {
                context
                    .stats
                    .candidate_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
            if context.mirror && request.kind == Kind::Write {
                if let Some(key) = &request.key {
                    super::mark_desynced(&context.desynced, &context.stats, &context.name, key);
                }
            }
        }
    }
    if result.status != Status::Equal {
        result.args = Some(redacted_args(context, request));
    }
    result
}

/// The arguments a result keeps, redacted as a recording would be (every result that is
/// not equal keeps them, so every path that makes one calls this).
fn redacted_args(context: &Context, request: &Request) -> serde_json::Value {
    let mut shown = request.clone();
    if let Some(redactor) = &context.redactor {
        redactor.apply(&mut shown);
    }
    shown.args
}

fn side(took: Duration, answer: &Result<Outcome, InfraError>) -> Side {
    Side {
        events: None,
        latency_us: Some(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
        outcome: None,
        failure: answer.as_ref().err().map(ToString::to_string),
    }
}

/// Counts the result and tells `tracing`.
fn publish(context: &Context, request: &Request, result: &RequestResult) {
    let stats = &context.stats;
    let name = context.name.as_str();
    let key = request.key.as_deref().unwrap_or("");
    match result.status {
        Status::Equal => {
            stats.equal.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "cutover::shadow", experiment = name, op = %request.op, key, "equal");
        }
        Status::Divergent => {
            stats.divergent.fetch_add(1, Ordering::Relaxed);
            let first = &result.divergences[0];
            tracing::warn!(
                target: "cutover::shadow",
                experiment = name,
                op = %request.op,
                key,
                seq = request.seq,
                class = %first.class,
                path = %first.path,
                divergences = result.divergences.len(),
                "the candidate diverged"
            );
        }
        Status::Inconclusive => {
            stats.inconclusive.fetch_add(1, Ordering::Relaxed);
            let failure = result
                .candidate
                .failure
                .as_deref()
                .or(result.legacy.failure.as_deref())
                .unwrap_or("");
            tracing::info!(
                target: "cutover::shadow",
                experiment = name,
                op = %request.op,
                key,
                failure,
                "inconclusive"
            );
        }
    }
}
