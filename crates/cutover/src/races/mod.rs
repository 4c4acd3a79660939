//! Stage 3b: the race check. A one-at-a-time replay cannot see a lost update; this stage
//! runs concurrent groups of one key's requests (see [`group`]) on both stores and judges
//! them against their serial orders (see [`judge`]).
//!
//! For each group and each store, one request at a time on a fresh copy of the key (reset,
//! then the key's history): every order of the group (k ≤ 4, at most 24 orders) gives the
//! serial outcomes. Then the group runs concurrently `schedules` times, its requests
//! released together by a barrier, each after a jitter drawn from the seed, with an
//! optional pause injected between a repository's load and its save where the target
//! supports it ([`crate::targets::Target::execute_paused`]). Both stores run the same
//! schedules, at the same time (each store resets only itself).
//!
//! **Timing decides what a concurrent run shows:** this is the one stage whose findings
//! depend on thread timing, by design. It never reads a clock to decide anything, and the
//! report says how many schedules each group ran, the seed and the first schedule that
//! showed an anomaly, so a verdict can be weighed; a finding is a concrete result no serial
//! order gives, which timing can hide but never invent.
//!
//! Deadlocks and serialization failures are results: an `aborted` answer (see
//! [`crate::cassette::ErrorKind::Aborted`]) that no serial order gives, so they count like
//! any unexplained result (an `atomicity` divergence on the candidate alone).

pub(crate) mod group;
pub(crate) mod judge;
mod trial;

pub use group::{groups, Group, Grouping};
pub use judge::{Finding, GroupReport, RaceClass, SerialOutcome, SideSummary};
pub use trial::{Schedule, Trial};

use crate::normalize::{RuleRun, Rules};
use crate::replay::Pair;
use crate::targets::rng::Rng;
use crate::targets::Target;
use judge::SideRun;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use trial::Order;

/// How to check races.
#[derive(Debug, Clone)]
pub struct RaceOptions {
    /// How groups are formed: overlapping recorded intervals, or consecutive writes.
    pub grouping: Grouping,
    /// Requests per group, at most (2 to 4).
    pub size: usize,
    /// Groups checked, at most (the first in cassette order, one per key).
    pub max_groups: usize,
    /// Concurrent runs of each group on each store.
    pub schedules: usize,
    /// Draws the jitters.
    pub seed: u64,
    /// The largest jitter after the barrier.
    pub jitter: Duration,
    /// Slept between a repository's load and its save, where the target supports it.
    pub pause: Duration,
    /// Per call.
    pub timeout: Duration,
    /// Infrastructure failures of one store in a row after which the check stops (the
    /// groups left are inconclusive); 0: never.
    pub max_infra_failures: usize,
    /// The rules a candidate's unexplained result is compared through with the legacy's.
    pub rules: Option<Arc<Rules>>,
}

impl Default for RaceOptions {
    fn default() -> Self {
        RaceOptions {
            grouping: Grouping::Overlap,
            size: 4,
            max_groups: 16,
            schedules: 24,
            seed: 1,
            jitter: Duration::from_millis(2),
            pause: Duration::ZERO,
            timeout: Duration::from_secs(30),
            max_infra_failures: 5,
            rules: None,
        }
    }
}

/// The race check's section of `report.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RaceReport {
    /// `overlap` or `writes`.
    pub grouping: String,
    /// Requests per group, at most.
    pub size: usize,
    /// Concurrent runs of each group on each side.
    pub schedules: usize,
    /// The seed the jitters were drawn from.
    pub seed: u64,
    /// The largest jitter after the barrier, in microseconds.
    pub jitter_us: u64,
    /// The pause injected between a repository's load and its save, in microseconds.
    pub pause_us: u64,
    /// Whether each side applied the injected pause (a target without a load/save point
    /// runs its requests unpaused).
    pub legacy_pauses: bool,
    /// Whether the candidate applied the injected pause.
    pub candidate_pauses: bool,
    /// Every group checked, in cassette order, with its verdict.
    pub groups: Vec<GroupReport>,
    /// The first findings (every atomicity finding first), at most [`MAX_FINDINGS`].
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], not kept.
    #[serde(default)]
    pub findings_omitted: u64,
    /// Why the check stopped early (a store that stopped answering), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Findings kept in a report.
pub const MAX_FINDINGS: usize = 50;

impl RaceReport {
    /// Groups with this verdict.
    pub fn count(&self, class: RaceClass) -> u64 {
        self.groups.iter().filter(|g| g.verdict == class).count() as u64
    }

    /// The groups by verdict, as `14 serializable, 0 atomicity, ...`; `all` lists the
    /// verdicts no group had too (atomicity always).
    pub fn counts(&self, all: bool) -> String {
        RaceClass::ALL
            .iter()
            .filter(|&&c| all || c == RaceClass::Atomicity || self.count(c) > 0)
            .map(|&c| format!("{} {}", self.count(c), c.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Groups where the candidate gave a result no serial order explains.
    pub fn atomicity(&self) -> u64 {
        self.count(RaceClass::Atomicity)
    }

    /// Folds another shard's race report into this one.
    pub fn merge(&mut self, other: RaceReport) {
        if self.groups.is_empty() && self.grouping.is_empty() {
            *self = other;
            return;
        }
        self.groups.extend(other.groups);
        self.groups.sort_by_key(|g| g.seqs.first().copied());
        self.findings.extend(other.findings);
        self.findings_omitted += other.findings_omitted;
        self.stopped = self.stopped.take().or(other.stopped);
        self.findings
            .sort_by_key(|f| (f.class != RaceClass::Atomicity, f.seqs.first().copied()));
        if self.findings.len() > MAX_FINDINGS {
            self.findings_omitted += (self.findings.len() - MAX_FINDINGS) as u64;
            self.findings.truncate(MAX_FINDINGS);
        }
    }
}

/// Why the race check cannot run.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    /// A side answers from the cassette, so no order of its calls can show a race.
    #[error(
        "the race check needs live stores on both sides: the {side} is `recorded`, which \
         answers from the cassette whatever the order"
    )]
    Recorded {
        /// `legacy` or `candidate`.
        side: &'static str,
    },
    /// Every paused call would time out.
    #[error(
        "the race pause ({pause:?}) must be shorter than the timeout ({timeout:?}): every \
         paused call would time out"
    )]
    PauseTooLong {
        /// The pause between a load and its save.
        pause: Duration,
        /// The deadline of one call.
        timeout: Duration,
    },
    /// The cassette's groups cannot be read.
    #[error("finding concurrent groups in {}: {source}", path.display())]
    Groups {
        /// The cassette.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: crate::cassette::CassetteError,
    },
}

/// What the check needs before it runs: live stores on both sides, a pause shorter than a
/// call's deadline.
pub fn preconditions(pair: &Pair, options: &RaceOptions) -> Result<(), RaceError> {
    for (side, target) in [("legacy", &pair.legacy), ("candidate", &pair.candidate)] {
        if target.name() == "recorded" {
            return Err(RaceError::Recorded { side });
        }
    }
    if options.pause >= options.timeout {
        return Err(RaceError::PauseTooLong {
            pause: options.pause,
            timeout: options.timeout,
        });
    }
    Ok(())
}

/// The race check of the cassette at `path` on `pair`: its concurrent groups
/// ([`cassette_groups`]), each checked on both sides.
pub async fn check_cassette(
    path: &std::path::Path,
    pair: &Pair,
    options: &RaceOptions,
    shard: Option<crate::replay::shard::Shard>,
) -> Result<RaceReport, RaceError> {
    preconditions(pair, options)?;
    let groups = cassette_groups(path, options, shard)?;
    check(pair, &groups, options).await
}

/// The concurrent groups of the cassette at `path` the check runs: those of `shard`'s keys
/// only, so the shards' checks merged are one run's.
pub fn cassette_groups(
    path: &std::path::Path,
    options: &RaceOptions,
    shard: Option<crate::replay::shard::Shard>,
) -> Result<Vec<Group>, RaceError> {
    let mut groups =
        groups(path, options.grouping, options.size, options.max_groups).map_err(|source| {
            RaceError::Groups {
                path: path.to_path_buf(),
                source,
            }
        })?;
    groups.retain(|g| {
        use crate::replay::shard::Role;
        shard.is_none_or(|s| g.requests.first().is_some_and(|r| s.role(r) == Role::Own))
    });
    Ok(groups)
}

/// Checks every group on both sides of `pair`, once [`preconditions`] hold.
pub async fn check(
    pair: &Pair,
    groups: &[Group],
    options: &RaceOptions,
) -> Result<RaceReport, RaceError> {
    preconditions(pair, options)?;
    Ok(check_groups(pair, groups, options).await)
}

async fn check_groups(pair: &Pair, groups: &[Group], options: &RaceOptions) -> RaceReport {
    let rules = options.rules.as_ref().map(|r| RuleRun::new(Arc::clone(r)));
    let mut report = RaceReport {
        grouping: options.grouping.to_string(),
        size: options.size,
        schedules: options.schedules,
        seed: options.seed,
        jitter_us: micros(options.jitter),
        pause_us: micros(options.pause),
        legacy_pauses: pair.legacy.pauses(),
        candidate_pauses: pair.candidate.pauses(),
        ..RaceReport::default()
    };
    let mut findings = Vec::new();
    let mut dead = [0usize; 2];
    for (g, group) in groups.iter().enumerate() {
        let first = group.requests.first().map_or(g as u64, |r| r.seq);
        let schedules = schedules(options, first, group.requests.len());
        let (legacy, candidate) = if report.stopped.is_some() {
            (skipped(group, &schedules), skipped(group, &schedules))
        } else {
            tokio::join!(
                side(&pair.legacy, group, &schedules, options),
                side(&pair.candidate, group, &schedules, options),
            )
        };
        let (found, more) = judge::judge(group, &legacy, &candidate, rules.as_ref());
        for (i, run) in [&legacy, &candidate].into_iter().enumerate() {
            let failed = run.failed_in_a_row();
            dead[i] = if failed == run.len() {
                dead[i] + failed
            } else {
                failed
            };
            let name = [pair.legacy.name(), pair.candidate.name()][i];
            if options.max_infra_failures > 0
                && dead[i] >= options.max_infra_failures
                && report.stopped.is_none()
            {
                report.stopped = Some(format!(
                    "the {} side ({name}) failed {} race trials in a row: the check stopped",
                    ["legacy", "candidate"][i],
                    dead[i]
                ));
            }
        }
        report.groups.push(found);
        findings.extend(more);
    }
    findings.sort_by_key(|f: &Finding| (f.class != RaceClass::Atomicity, f.seqs.first().copied()));
    if findings.len() > MAX_FINDINGS {
        report.findings_omitted = (findings.len() - MAX_FINDINGS) as u64;
        findings.truncate(MAX_FINDINGS);
    }
    report.findings = findings;
    report
}

/// The group's concurrent schedules: the same on both stores, drawn from the seed and the
/// group's first seq (so a shard draws the schedules one run would).
fn schedules(options: &RaceOptions, first_seq: u64, n: usize) -> Vec<Schedule> {
    let mut rng = Rng::new(options.seed ^ first_seq.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let jitter = micros(options.jitter);
    (1..=options.schedules)
        .map(|index| Schedule {
            index,
            jitter_us: (0..n).map(|_| rng.range(0, jitter)).collect(),
            pause_us: micros(options.pause),
        })
        .collect()
}

/// Every serial order, then every schedule, of `group` on one target. After
/// `max_infra_failures` failed trials in a row the rest are not run.
async fn side(
    target: &Arc<dyn Target>,
    group: &Group,
    schedules: &[Schedule],
    options: &RaceOptions,
) -> SideRun {
    let limit = options.max_infra_failures;
    let mut in_a_row = 0;
    let mut gave_up = |result: &Result<Trial, String>| {
        in_a_row = if result.is_err() { in_a_row + 1 } else { 0 };
        limit > 0 && in_a_row >= limit
    };
    let mut run = SideRun {
        serial: Vec::new(),
        concurrent: Vec::new(),
    };
    let mut stop = None;
    for order in trial::permutations(group.requests.len()) {
        let result = match &stop {
            Some(why) => Err(format!("not run: {why}")),
            None => trial::run(target, group, Order::Serial(&order), options.timeout)
                .await
                .map_err(|e| e.to_string()),
        };
        if stop.is_none() && gave_up(&result) {
            stop = result.as_ref().err().cloned();
        }
        run.serial.push((order, result));
    }
    for schedule in schedules {
        let result = match &stop {
            Some(why) => Err(format!("not run: {why}")),
            None => trial::run(target, group, Order::Concurrent(schedule), options.timeout)
                .await
                .map_err(|e| e.to_string()),
        };
        if stop.is_none() && gave_up(&result) {
            stop = result.as_ref().err().cloned();
        }
        run.concurrent.push((schedule.clone(), result));
    }
    run
}

/// A side not run because the check stopped.
fn skipped(group: &Group, schedules: &[Schedule]) -> SideRun {
    let why = || Err("not run: the check stopped".to_string());
    SideRun {
        serial: trial::permutations(group.requests.len())
            .into_iter()
            .map(|o| (o, why()))
            .collect(),
        concurrent: schedules.iter().map(|s| (s.clone(), why())).collect(),
    }
}

impl SideRun {
    fn len(&self) -> usize {
        self.serial.len() + self.concurrent.len()
    }

    /// Failed trials at the end of the run.
    fn failed_in_a_row(&self) -> usize {
        self.serial
            .iter()
            .map(|(_, t)| t)
            .chain(self.concurrent.iter().map(|(_, t)| t))
            .rev()
            .take_while(|t| t.is_err())
            .count()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memory::Memory;
    use crate::targets::recorded::Recorded;

    fn pair(legacy: Arc<dyn Target>, candidate: Arc<dyn Target>) -> Pair {
        Pair { legacy, candidate }
    }

    #[tokio::test]
    async fn the_check_refuses_a_recorded_side_and_a_pause_past_the_deadline() {
        let live = || Arc::new(Memory::new()) as Arc<dyn Target>;
        let recorded = || Arc::new(Recorded::new()) as Arc<dyn Target>;
        let options = RaceOptions::default();
        for (p, side) in [
            (pair(recorded(), live()), "legacy"),
            (pair(live(), recorded()), "candidate"),
        ] {
            let error = check(&p, &[], &options).await.unwrap_err();
            assert!(
                matches!(error, RaceError::Recorded { side: s } if s == side),
                "{error}"
            );
        }
        let slow = RaceOptions {
            pause: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            ..RaceOptions::default()
        };
        let error = check(&pair(live(), live()), &[], &slow).await.unwrap_err();
        assert!(matches!(error, RaceError::PauseTooLong { .. }), "{error}");
        let fine = check(&pair(live(), live()), &[], &options).await.unwrap();
        assert!(fine.groups.is_empty());
    }

    #[tokio::test]
    async fn a_cassette_is_checked_only_once_the_preconditions_hold() {
        let live = || Arc::new(Memory::new()) as Arc<dyn Target>;
        let missing = std::path::Path::new("/nonexistent/cassette.jsonl");
        let options = RaceOptions::default();
        let recorded = pair(Arc::new(Recorded::new()), live());
        let error = check_cassette(missing, &recorded, &options, None)
            .await
            .unwrap_err();
        assert!(matches!(error, RaceError::Recorded { .. }), "{error}");
        let error = check_cassette(missing, &pair(live(), live()), &options, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, RaceError::Groups { path, .. } if path == missing),
            "{error}"
        );
    }
}
