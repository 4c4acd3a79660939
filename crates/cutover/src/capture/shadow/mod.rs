//! Shadow reads: an experiment on live traffic, in the style of GitHub's Scientist. The
//! legacy repository answers every call, unchanged; for a chosen share of calls the
//! candidate is asked the same request concurrently and off the response path, the two
//! answers are compared with the replay's own normalize and diff, and every comparison is
//! published: a `tracing` event, and a line of `results.jsonl` beside a `report.json` that
//! `cutover report` and `cutover gate` read.
//!
//! * **Which calls**: reads of sampled keys (whole keys, by hash, as the recorder samples)
//!   and reads of clients switched on at run time ([`Shadow::enable_client`]; a call's
//!   client is set with [`as_client`]). [`Shadow::set_enabled`] turns the experiment off.
//! * **Never on the caller's path**: the call puts a job on a bounded queue without waiting
//!   and goes on with the legacy; the candidate runs on a lane task (one lane per key hash,
//!   so one key's calls run in order). A full queue skips the comparison and counts it.
//!   The candidate's errors, timeouts ([`ShadowConfig::timeout`]) and panics are results,
//!   never the caller's answer.
//! * **Writes are not shadowed** unless [`Writes::Mirror`] names a separate candidate store:
//!   then the writes of sampled keys are mirrored to it, from the request that creates the
//!   key (the store holds nothing else). A key whose mirrored write was skipped, failed or
//!   timed out is out of sync, and is no longer shadowed.
//! * **Nothing personal reaches the results**: with a [`Redactor`], both answers are
//!   redacted before they are compared (hashed fields still compare equal); results never
//!   keep whole answers.
//! * **What it does not compare**: the stored state (reading the legacy's state after each
//!   write would add load to production; replaying a recording checks it), and, in mirror
//!   mode, anything that depends on keys the mirror never saw: it holds only the sampled
//!   keys, so a constraint across keys (a uniqueness shared between conversations) or a
//!   keyless read answers from less data there. Keyless reads are shadowed only for
//!   switched-on clients, and never in mirror mode.

mod lane;
mod results;

use super::adapter::{self, DomainError};
use super::redact::Redactor;
use crate::cassette::{Kind, Outcome, Request};
use crate::normalize::Rules;
use crate::report::Report;
use crate::targets::{InfraError, Target};
use async_trait::async_trait;
use lane::{Job, Lanes};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Whether writes are shadowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    /// Only reads are shadowed: the candidate store is kept in step by other means (a
    /// backfill and change data capture, say). The default.
    Skip,
    /// Writes of sampled keys are mirrored to the candidate, which must be a store of its
    /// own (never the candidate's production store): `separate_store` names it in the
    /// report. A key joins the experiment at one of the `creates` operations.
    Mirror {
        /// The mirror store's name, as the report shows it.
        separate_store: String,
        /// Operations that create a key: a sampled key is mirrored from one of them on.
        creates: HashSet<String>,
    },
}

/// How to run the experiment.
#[derive(Debug, Clone)]
pub struct ShadowConfig {
    /// The experiment's name, in events and the report.
    pub name: String,
    /// The domain of the shadowed requests, written in the report's header.
    pub domain: String,
    /// Fraction of keys whose reads are shadowed, 0 to 1.
    pub rate: f64,
    /// Keys always shadowed.
    pub allow: HashSet<String>,
    /// How long the candidate may take before its answer counts as a timeout.
    pub timeout: Duration,
    /// Candidate calls at once; one key's calls always go to the same lane.
    pub lanes: usize,
    /// Comparisons waiting, at most, over all lanes.
    pub queue: usize,
    /// Whether writes are mirrored to a separate candidate store.
    pub writes: Writes,
    /// Normalization rules applied before every comparison (a replay's rules file).
    pub rules: Option<Arc<Rules>>,
    /// Directory for `results.jsonl` and `report.json`; `None` publishes events only.
    pub out: Option<PathBuf>,
    /// How often `report.json` and `results.jsonl` are published while running.
    pub publish_every: Duration,
}

impl ShadowConfig {
    /// A configuration for experiment `name` in `domain`: 1% of keys, a 1 s timeout,
    /// 16 lanes, a queue of 1024, writes not shadowed, no rules, events only, published
    /// every 60 s.
    pub fn new(name: &str, domain: &str) -> ShadowConfig {
        ShadowConfig {
            name: name.into(),
            domain: domain.into(),
            rate: 0.01,
            allow: HashSet::new(),
            timeout: Duration::from_secs(1),
            lanes: 16,
            queue: 1024,
            writes: Writes::Skip,
            rules: None,
            out: None,
            publish_every: Duration::from_secs(60),
        }
    }
}

/// Counters of an experiment.
#[derive(Debug, Default)]
pub struct ShadowStats {
    /// Calls answered by the legacy.
    pub calls: AtomicU64,
    /// Calls whose comparison was queued.
    pub shadowed: AtomicU64,
    /// Calls that would have been compared but the queue was full.
    pub skipped: AtomicU64,
    /// Keys no longer shadowed because a mirrored write was lost (mirror mode).
    pub desynced_keys: AtomicU64,
    /// Calls queued but not compared: their key fell out of step before the lane reached
    /// them (mirror mode).
    pub withdrawn: AtomicU64,
    /// Comparisons finished equal.
    pub equal: AtomicU64,
    /// Comparisons finished divergent.
    pub divergent: AtomicU64,
    /// Comparisons finished without a verdict: a side failed or did not answer in time.
    pub inconclusive: AtomicU64,
    /// Candidate calls that failed, timed out or panicked (inconclusive results).
    pub candidate_failures: AtomicU64,
}

impl ShadowStats {
    /// Comparisons finished.
    pub fn compared(&self) -> u64 {
        self.equal.load(Ordering::Relaxed)
            + self.divergent.load(Ordering::Relaxed)
            + self.inconclusive.load(Ordering::Relaxed)
    }
}

impl std::fmt::Display for ShadowStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            f,
            "{} calls, {} shadowed, {} skipped; {} equal, {} divergent, {} inconclusive ({} candidate failures); {} keys out of step, {} withdrawn",
            n(&self.calls),
            n(&self.shadowed),
            n(&self.skipped),
            n(&self.equal),
            n(&self.divergent),
            n(&self.inconclusive),
            n(&self.candidate_failures),
            n(&self.desynced_keys),
            n(&self.withdrawn)
        )
    }
}

tokio::task_local! {
    static CLIENT: String;
}

/// Runs `work` as `client`'s: its calls are shadowed when that client is switched on.
pub fn as_client<F: Future>(client: impl Into<String>, work: F) -> impl Future<Output = F::Output> {
    CLIENT.scope(client.into(), work)
}

/// The experiment: the candidate, the lanes that ask it, and the results.
pub struct Shadow {
    config: ShadowConfig,
    enabled: AtomicBool,
    clients: RwLock<HashSet<String>>,
    /// Mirror mode: keys whose creation was mirrored, and keys out of sync.
    joined: Mutex<HashSet<String>>,
    desynced: lane::Desynced,
    seq: AtomicU64,
    lanes: Lanes,
    stats: Arc<ShadowStats>,
    results: results::Publisher,
}

impl Shadow {
    /// Starts the experiment's lanes on the current tokio runtime.
    pub fn start(
        candidate: Arc<dyn Target>,
        config: ShadowConfig,
        redactor: Option<Redactor>,
    ) -> std::io::Result<Shadow> {
        Shadow::start_on(
            &tokio::runtime::Handle::current(),
            candidate,
            config,
            redactor,
        )
    }

    /// Starts the experiment's lanes on `runtime`: a runtime of its own keeps the
    /// candidate's work off the threads that serve callers.
    pub(crate) fn start_on(
        runtime: &tokio::runtime::Handle,
        candidate: Arc<dyn Target>,
        config: ShadowConfig,
        redactor: Option<Redactor>,
    ) -> std::io::Result<Shadow> {
        let stats = Arc::new(ShadowStats::default());
        let desynced = lane::Desynced::default();
        // The experiment's own use of the rules: its counts and learned identifiers.
        let rules = config.rules.as_ref().map(|r| Arc::new(r.run()));
        let results = results::Publisher::start(
            &config,
            candidate.name(),
            Arc::clone(&stats),
            rules.clone(),
        )?;
        let lanes = Lanes::start(
            runtime,
            &config,
            candidate,
            lane::Treatment {
                rules,
                redactor: redactor.map(Arc::new),
            },
            results.sender(),
            Arc::clone(&stats),
            Arc::clone(&desynced),
        );
        Ok(Shadow {
            config,
            enabled: AtomicBool::new(true),
            clients: RwLock::new(HashSet::new()),
            joined: Mutex::new(HashSet::new()),
            desynced,
            seq: AtomicU64::new(0),
            lanes,
            stats,
            results,
        })
    }

    /// The experiment's counters, live.
    pub fn stats(&self) -> &ShadowStats {
        &self.stats
    }

    /// Turns the whole experiment on or off at run time.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Shadows every read of `client` (with [`Writes::Skip`]).
    pub fn enable_client(&self, client: &str) {
        self.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(client.to_string());
    }

    /// Stops shadowing the reads of `client` switched on by [`Shadow::enable_client`].
    pub fn disable_client(&self, client: &str) {
        self.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client);
    }

    /// Wraps the legacy repository: the wrapper answers from it and shadows as configured.
    pub fn wrap<T: Target>(self: &Arc<Self>, legacy: T) -> Shadowed<T> {
        Shadowed {
            legacy,
            shadow: Arc::clone(self),
        }
    }

    /// Shadows a typed call of a team's own legacy repository: runs `call` and returns its
    /// answer unchanged; when the request is shadowed, the candidate target is asked the
    /// same request off the path and compared with the answer (serialized).
    pub async fn around<V: Serialize, E: DomainError>(
        &self,
        request: &Request,
        call: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let pending = self.begin(request);
        let start = Instant::now();
        let answer = call.await;
        if let Some(pending) = pending {
            pending.answer(adapter::outcome(&answer), start.elapsed());
        }
        answer
    }

    /// Stops taking calls, waits for the comparisons queued, and publishes the final
    /// report (returned when there is an output directory).
    pub async fn finish(&self) -> std::io::Result<Option<Report>> {
        self.lanes.close().await;
        self.results.finish().await
    }

    /// Queues the comparison of `request` if it is shadowed; the caller then hands the
    /// legacy's answer to the returned [`Pending`].
    fn begin(&self, request: &Request) -> Option<Pending> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        if !self.enabled.load(Ordering::Relaxed) || !self.chosen(request) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let mut request = request.clone();
        request.seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mirrored = request.kind == Kind::Write;
        let key = request.key.clone();
        let job = Job {
            request,
            legacy: rx,
        };
        if self.lanes.offer(job) {
            self.stats.shadowed.fetch_add(1, Ordering::Relaxed);
            Some(Pending { tx })
        } else {
            self.stats.skipped.fetch_add(1, Ordering::Relaxed);
            if let (true, Some(key)) = (mirrored, key) {
                mark_desynced(&self.desynced, &self.stats, &self.config.name, &key);
            }
            None
        }
    }

    /// Whether this call is compared.
    fn chosen(&self, request: &Request) -> bool {
        let sampled = |key: &str| super::key_sampled(key, self.config.rate, &self.config.allow);
        match (&self.config.writes, request.key.as_deref()) {
            (Writes::Skip, _) if request.kind == Kind::Write => false,
            (Writes::Skip, key) => key.is_some_and(sampled) || self.client_enabled(),
            (Writes::Mirror { .. }, None) => false,
            (Writes::Mirror { creates, .. }, Some(key)) => {
                if !sampled(key) || lock(&self.desynced).contains(key) {
                    return false;
                }
                let mut joined = lock(&self.joined);
                joined.contains(key)
                    || (creates.contains(&request.op) && joined.insert(key.to_string()))
            }
        }
    }

    fn client_enabled(&self) -> bool {
        CLIENT
            .try_with(|client| {
                self.clients
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(client)
            })
            .unwrap_or(false)
    }
}

/// Stops shadowing `key`: a mirrored write to it was lost, so the mirror store no longer
/// holds what the legacy holds.
fn mark_desynced(desynced: &lane::Desynced, stats: &ShadowStats, experiment: &str, key: &str) {
    if lock(desynced).insert(key.to_string()) {
        stats.desynced_keys.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target: "cutover::shadow",
            experiment,
            key,
            "a mirrored write was lost: the key is no longer shadowed"
        );
    }
}

fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

/// A queued comparison waiting for the legacy's answer.
struct Pending {
    tx: oneshot::Sender<lane::Legacy>,
}

impl Pending {
    fn answer(self, outcome: Result<Outcome, InfraError>, took: Duration) {
        // A lane that has gone (the experiment finished) no longer wants it.
        let _ = self.tx.send(lane::Legacy { outcome, took });
    }
}

/// The legacy repository with the experiment around it.
pub struct Shadowed<T> {
    legacy: T,
    shadow: Arc<Shadow>,
}

impl<T> Shadowed<T> {
    /// The experiment around the legacy.
    pub fn shadow(&self) -> &Arc<Shadow> {
        &self.shadow
    }

    /// The legacy repository inside.
    pub fn legacy(&self) -> &T {
        &self.legacy
    }
}

#[async_trait]
impl<T: Target> Target for Shadowed<T> {
    fn name(&self) -> &str {
        self.legacy.name()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.legacy.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        let pending = self.shadow.begin(request);
        let start = Instant::now();
        let answer = self.legacy.execute(request).await;
        if let Some(pending) = pending {
            pending.answer(answer.clone(), start.elapsed());
        }
        answer
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.legacy.dump(key).await
    }
}
