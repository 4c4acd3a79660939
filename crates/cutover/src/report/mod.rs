//! Stage 5: the report. [`Summary`] is a [`Sink`] that folds request results into
//! per-operation counts, latency percentiles, settle lags (`settle.rs`) and the first
//! divergences of each (operation, class) group; [`Summary::finish`] turns it into a
//! serializable [`Report`], which [`render`] writes for people. [`replay_report`] replays and
//! reports in one call.

mod latency;
pub(crate) mod races;
pub mod render;
mod replayed;
mod settle;

pub use latency::{Latency, Percentiles};
pub use replayed::{replay_collect, replay_report, Replayed};
pub use settle::Settle;

use crate::cassette::{Header, Kind, Truncation};
use crate::diff::{Class, Divergence};
use crate::digest::FileRef;
use crate::normalize::suggest::{self, Suggestion};
use crate::normalize::RuleUsage;
use crate::replay::{ReplayRun, RequestResult, Sink, StateCheck, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The report format version.
pub const REPORT_VERSION: u64 = 1;

/// How many (operation, path pattern, class) groups a report tracks for suggested rules.
pub const MAX_GROUPS: usize = 1000;

/// How many example divergences a report keeps per (operation, class).
pub const EXAMPLES_PER_GROUP: usize = 3;

/// The overall verdict of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every request equal.
    Equivalent,
    /// At least one request divergent.
    Divergent,
    /// No divergence, but some requests could not be compared.
    Inconclusive,
}

/// The summary of one replay: `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The report format version, [`REPORT_VERSION`].
    pub cutover_report: u64,
    /// Divergent if any request diverged, else inconclusive if any could not be compared,
    /// else equivalent; a race check may change it ([`Report::with_races`]).
    pub verdict: Verdict,
    /// The cassette replayed.
    pub cassette: CassetteInfo,
    /// The legacy target's short name (`memory`, `postgres`, ...).
    pub legacy: String,
    /// The candidate target's short name.
    pub candidate: String,
    /// Wall-clock time of the replay, in ms; for merged shards, the longest shard's.
    pub elapsed_ms: u64,
    /// Requests replayed per second of `elapsed_ms` (0 when no time elapsed).
    pub requests_per_second: f64,
    /// Requests of every operation, by status.
    pub totals: Counts,
    /// The probes among `totals` (requests derived from the recorded ones by `cutover
    /// probe`, not recorded), by status; absent when the cassette had none.
    #[serde(default, skip_serializing_if = "Counts::is_empty")]
    pub probes: Counts,
    /// Latency of each side over every compared request.
    pub latency_us: SideLatency,
    /// Figures per operation, by operation name.
    pub operations: BTreeMap<String, OperationReport>,
    /// Up to [`EXAMPLES_PER_GROUP`] divergences per (operation, class), the first found.
    pub examples: Vec<Example>,
    /// Every normalization rule with how many values it changed; `fired: 0` is unused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleUsage>,
    /// Divergences grouped by (operation, path pattern, class), each with the rule that
    /// would accept it: for review, never applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_rules: Vec<Suggestion>,
    /// What differed between runs of the legacy against itself (`--noise-runs`): noise,
    /// with the rules that would accept it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noise: Vec<Suggestion>,
    /// The inputs' hashes: the cassette and the rules file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Inputs>,
    /// The shard this report covers (`2/4`), or the shards merged into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<String>,
    /// For a shadow experiment on live traffic: how calls were chosen, and how many were
    /// not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowInfo>,
    /// The side that stopped answering, if the replay stopped sending requests for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<crate::replay::Stop>,
    /// The race check (`replay --races`): concurrent groups judged against their serial
    /// orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub races: Option<crate::races::RaceReport>,
    /// What the replayed traffic exercised of the domain's declared features, counted on
    /// the legacy's answers (`crate::coverage`); none for a domain that declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::coverage::Coverage>,
    /// For `cutover verify`: the keys of both stores, and the path each range took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<crate::verify::VerifyInfo>,
}

impl Report {
    /// Adds the race check's section; an atomicity divergence makes the verdict divergent,
    /// a group left unjudged (or a check that stopped) makes an equivalent one inconclusive.
    pub fn with_races(mut self, races: crate::races::RaceReport) -> Report {
        use crate::races::RaceClass;
        if races.atomicity() > 0 {
            self.verdict = Verdict::Divergent;
        } else if self.verdict == Verdict::Equivalent
            && (races.count(RaceClass::Inconclusive) > 0 || races.stopped.is_some())
        {
            self.verdict = Verdict::Inconclusive;
        }
        self.races = Some(races);
        self
    }

    /// The writes whose stored state was not compared, over every operation, and why.
    pub fn unchecked(&self) -> Unchecked {
        let mut unchecked = Unchecked::default();
        for (op, o) in &self.operations {
            if o.kind != Kind::Write {
                continue;
            }
            unchecked.compared += o.requests.equal + o.requests.divergent;
            if o.writes_unchecked > 0 {
                unchecked.writes += o.writes_unchecked;
                unchecked.no_state += o.state_unchecked.min(o.writes_unchecked);
                unchecked.no_events += o.events_unchecked.min(o.writes_unchecked);
                unchecked
                    .by_operation
                    .push((op.clone(), o.writes_unchecked));
            }
        }
        unchecked
    }
}

/// Writes whose stored state was not compared ([`Report::unchecked`]): they were judged on
/// their answers alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unchecked {
    /// Writes compared (equal or divergent), of every operation.
    pub compared: u64,
    /// Of those, writes whose stored state was not compared (the operations'
    /// `writes_unchecked`).
    pub writes: u64,
    /// Of `writes`, those where a side could not tell its stored state (a target without a
    /// state dump, a recording without states): the operations' `state_unchecked`.
    pub no_state: u64,
    /// Of `writes`, those whose events the legacy told and the candidate could not (a
    /// candidate that cannot report the events it publishes): the operations'
    /// `events_unchecked`.
    pub no_events: u64,
    /// The operations with unchecked writes, and how many, by operation name.
    pub by_operation: Vec<(String, u64)>,
}

impl Unchecked {
    /// Writes unchecked for another reason than a side without its state: the state check
    /// was off (`--no-state-check`, `ReplayOptions::check_state`) or the write had no key.
    pub fn other(&self) -> u64 {
        self.writes
            .saturating_sub(self.no_state)
            .saturating_sub(self.no_events)
    }
}

/// A shadow experiment's own figures (see `capture::shadow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowInfo {
    /// The experiment's name.
    pub experiment: String,
    /// How calls were chosen.
    pub sampling: String,
    /// `skip`, or the separate store mirrored writes went to.
    pub writes: String,
    /// Calls the legacy answered while the experiment ran.
    pub calls: u64,
    /// Calls chosen and queued for comparison.
    pub shadowed: u64,
    /// Calls chosen but not compared: the queue was full.
    pub skipped: u64,
    /// Keys no longer shadowed because a mirrored write was lost.
    pub desynced_keys: u64,
    /// Calls queued but not compared because their key had fallen out of step.
    #[serde(default)]
    pub withdrawn: u64,
}

/// What a report was made from, by content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The cassette replayed.
    pub cassette: FileRef,
    /// The normalization rules file, if one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<FileRef>,
    /// The version of cutover that replayed.
    pub tool: String,
}

/// Where the requests came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CassetteInfo {
    /// The cassette's path as given to the replay.
    pub path: String,
    /// The domain whose operations the cassette's requests name.
    pub domain: String,
    /// The truncated last line that was skipped, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_line: Option<u64>,
}

/// Request counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Every request; the sum of the other three.
    pub total: u64,
    /// Requests with the same outcome on both sides.
    pub equal: u64,
    /// Requests with at least one divergence.
    pub divergent: u64,
    /// Requests that could not be compared.
    pub inconclusive: u64,
}

impl Counts {
    /// Whether no request was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Equal => self.equal += 1,
            Status::Divergent => self.divergent += 1,
            Status::Inconclusive => self.inconclusive += 1,
        }
    }
}

/// Everything about one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationReport {
    /// Whether the operation reads or writes.
    pub kind: Kind,
    /// The operation's requests, by status.
    pub requests: Counts,
    /// Divergent requests with at least one divergence of each class.
    pub classes: BTreeMap<Class, u64>,
    /// Writes whose stored state could not be checked (a side cannot tell its state).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub state_unchecked: u64,
    /// Differences at noise paths, not counted as divergences.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub noise: u64,
    /// Writes compared (not inconclusive) whose stored state was not compared: the
    /// state check was off, the request had no key, or a side cannot tell its state; or
    /// whose events were not compared because only one side told them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub writes_unchecked: u64,
    /// Compared requests whose events the legacy told and the candidate could not (`events`
    /// `unchecked`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub events_unchecked: u64,
    /// Latency percentiles of each side, in µs, over compared requests whose latency is known.
    pub latency_us: SideLatency,
    /// Compared requests whose latency a side could not tell (a `recorded` legacy
    /// without `latency_us`): the latency budget cannot be judged on them.
    #[serde(default, skip_serializing_if = "LatencyUnknown::is_none")]
    pub latency_unknown: LatencyUnknown,
    /// With a settle window: the requests asked again, and the lag of those that settled
    /// (`docs/src/settle.md`); absent when none was asked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<Settle>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Requests whose latency one side could not tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyUnknown {
    /// Compared requests without a legacy latency.
    pub legacy: u64,
    /// Compared requests without a candidate latency.
    pub candidate: u64,
}

impl LatencyUnknown {
    fn is_none(&self) -> bool {
        self.legacy == 0 && self.candidate == 0
    }
}

/// Latency percentiles of both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SideLatency {
    /// The legacy's percentiles, in µs.
    pub legacy: Percentiles,
    /// The candidate's percentiles, in µs.
    pub candidate: Percentiles,
}

/// One divergence shown as an example of its group, with the request it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The request's operation.
    pub op: String,
    /// The request's `seq` in the cassette.
    pub seq: u64,
    /// The aggregate the request touches; `None` for a cross-aggregate request.
    pub key: Option<String>,
    /// The divergence shown.
    pub divergence: Divergence,
    /// The seq of the earlier divergent request this one follows; absent on a cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<u64>,
}

/// `examples` with the causes' first, each part in its order (the cassette's).
pub fn causes_first(examples: &[Example]) -> Vec<&Example> {
    let (causes, echoes): (Vec<&Example>, Vec<&Example>) =
        examples.iter().partition(|e| e.follows.is_none());
    causes.into_iter().chain(echoes).collect()
}

/// A group of divergences: (operation, path pattern, class, structural class of a state).
use suggest::GroupKey;

/// Accumulates results into a report, in bounded memory.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    totals: Counts,
    probes: Counts,
    groups: BTreeMap<GroupKey, GroupAcc>,
    /// The groups of each cause's divergences, by the cause's seq, to count what follows.
    causes: HashMap<u64, Vec<GroupKey>>,
    /// Declared list orders by operation: never suggested `unordered`.
    declared_orders: BTreeMap<String, String>,
    legacy: Latency,
    candidate: Latency,
    operations: BTreeMap<String, OpAccumulator>,
    examples: BTreeMap<(String, Class), Vec<Example>>,
}

/// One group's counts so far, and the narrowest rule that fits all its divergences.
#[derive(Debug, Clone)]
struct GroupAcc {
    count: u64,
    causes: u64,
    followed_by: u64,
    fit: suggest::Fit,
}

#[derive(Debug, Clone)]
struct OpAccumulator {
    kind: Kind,
    counts: Counts,
    classes: BTreeMap<Class, u64>,
    state_unchecked: u64,
    writes_unchecked: u64,
    events_unchecked: u64,
    noise: u64,
    legacy: Latency,
    candidate: Latency,
    latency_unknown: LatencyUnknown,
    settle: settle::SettleAccumulator,
}

impl OpAccumulator {
    fn new(kind: Kind) -> OpAccumulator {
        OpAccumulator {
            kind,
            counts: Counts::default(),
            classes: BTreeMap::new(),
            state_unchecked: 0,
            writes_unchecked: 0,
            events_unchecked: 0,
            noise: 0,
            legacy: Latency::default(),
            candidate: Latency::default(),
            latency_unknown: LatencyUnknown::default(),
            settle: settle::SettleAccumulator::default(),
        }
    }
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// The same, knowing the declared order of each list operation's answer (a
    /// declaration's `list.order`): no suggested rule accepts a list out of it.
    pub fn with_declared_orders(mut self, orders: BTreeMap<String, String>) -> Summary {
        self.declared_orders = orders;
        self
    }

    /// The counts so far.
    pub fn totals(&self) -> Counts {
        self.totals
    }

    /// Folds one result in.
    pub fn add(&mut self, result: &RequestResult) {
        if result.status == Status::Divergent {
            self.echo(result);
        }
        self.totals.add(result.status);
        if result.probe {
            self.probes.add(result.status);
        }
        let op = self
            .operations
            .entry(result.op.clone())
            .or_insert_with(|| OpAccumulator::new(result.kind));
        op.counts.add(result.status);
        if result.state == Some(StateCheck::Unchecked) {
            op.state_unchecked += 1;
        }
        op.noise += result.noise;
        op.settle.add(result);
        if result.status != Status::Inconclusive {
            let checked = matches!(
                result.state,
                Some(StateCheck::Equal | StateCheck::Divergent)
            );
            let events_unchecked = result.events == Some(StateCheck::Unchecked);
            op.events_unchecked += u64::from(events_unchecked);
            if result.kind == Kind::Write && (!checked || events_unchecked) {
                op.writes_unchecked += 1;
            }
            match result.legacy.latency_us {
                Some(us) => {
                    op.legacy.record(us);
                    self.legacy.record(us);
                }
                None => op.latency_unknown.legacy += 1,
            }
            match result.candidate.latency_us {
                Some(us) => {
                    op.candidate.record(us);
                    self.candidate.record(us);
                }
                None => op.latency_unknown.candidate += 1,
            }
        }
        if result.status != Status::Divergent {
            return;
        }
        let mut seen = [false; Class::ALL.len()];
        for d in &result.divergences {
            let slot = Class::ALL
                .iter()
                .position(|c| *c == d.class)
                .expect("every class is listed");
            if !std::mem::replace(&mut seen[slot], true) {
                *op.classes.entry(d.class).or_default() += 1;
            }
            let key = (
                result.op.clone(),
                crate::diff::pattern(&d.path),
                d.class,
                d.detail,
            );
            let room = self.groups.len() < MAX_GROUPS;
            let cause = result.follows.is_none();
            match self.groups.get_mut(&key) {
                Some(acc) => {
                    acc.count += 1;
                    acc.causes += u64::from(cause);
                    acc.fit = std::mem::replace(&mut acc.fit, suggest::Fit::NoRule)
                        .join(suggest::Fit::of(d));
                }
                None if room => {
                    let acc = GroupAcc {
                        count: 1,
                        causes: u64::from(cause),
                        followed_by: 0,
                        fit: suggest::Fit::of(d),
                    };
                    self.groups.insert(key.clone(), acc);
                }
                None => {}
            }
            if cause && self.groups.contains_key(&key) {
                let keys = self.causes.entry(result.seq).or_default();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            let group = self
                .examples
                .entry((result.op.clone(), d.class))
                .or_default();
            if group.len() < EXAMPLES_PER_GROUP {
                group.push(example(result, d));
            }
        }
    }

    /// Folds in `n` equal results of `op` (a `kind`) that are not listed one by one: the
    /// keys a verify found equal, by checksum or diff.
    pub fn add_equal(&mut self, op: &str, kind: Kind, n: u64) {
        let add = |counts: &mut Counts| {
            counts.total += n;
            counts.equal += n;
        };
        add(&mut self.totals);
        let op = self
            .operations
            .entry(op.to_string())
            .or_insert_with(|| OpAccumulator::new(kind));
        add(&mut op.counts);
    }

    /// Counts `result`, if it follows a cause, for each of the cause's groups.
    fn echo(&mut self, result: &RequestResult) {
        let Some(keys) = result.follows.and_then(|seq| self.causes.get(&seq)) else {
            return;
        };
        for key in keys {
            if let Some(acc) = self.groups.get_mut(key) {
                acc.followed_by += 1;
            }
        }
    }

    /// The report of a finished replay.
    pub fn finish(
        self,
        header: &Header,
        path: &str,
        legacy: &str,
        candidate: &str,
        run: &ReplayRun,
    ) -> Report {
        let seconds = run.elapsed.as_secs_f64();
        let verdict = if self.totals.divergent > 0 {
            Verdict::Divergent
        } else if self.totals.inconclusive > 0 {
            Verdict::Inconclusive
        } else {
            Verdict::Equivalent
        };
        Report {
            cutover_report: REPORT_VERSION,
            verdict,
            cassette: CassetteInfo {
                path: path.to_string(),
                domain: header.domain.clone(),
                truncated_line: run.truncation.as_ref().map(|t: &Truncation| t.line),
            },
            legacy: legacy.to_string(),
            candidate: candidate.to_string(),
            elapsed_ms: u64::try_from(run.elapsed.as_millis()).unwrap_or(u64::MAX),
            requests_per_second: if seconds > 0.0 {
                run.requests as f64 / seconds
            } else {
                0.0
            },
            totals: self.totals,
            probes: self.probes,
            latency_us: SideLatency {
                legacy: self.legacy.percentiles(),
                candidate: self.candidate.percentiles(),
            },
            operations: self
                .operations
                .into_iter()
                .map(|(name, op)| {
                    let latency = SideLatency {
                        legacy: op.legacy.percentiles(),
                        candidate: op.candidate.percentiles(),
                    };
                    let operation = OperationReport {
                        kind: op.kind,
                        requests: op.counts,
                        classes: op.classes,
                        state_unchecked: op.state_unchecked,
                        noise: op.noise,
                        writes_unchecked: op.writes_unchecked,
                        events_unchecked: op.events_unchecked,
                        latency_us: latency,
                        latency_unknown: op.latency_unknown,
                        settle: op.settle.finish(),
                    };
                    (name, operation)
                })
                .collect(),
            examples: self.examples.into_values().flatten().collect(),
            rules: run.rules.clone(),
            noise: Vec::new(),
            inputs: None,
            shards: Vec::new(),
            shadow: None,
            stopped: run.stopped.clone(),
            races: None,
            coverage: None,
            verify: None,
            suggested_rules: with_causes(self.groups, &self.declared_orders),
        }
    }
}

/// The groups' suggested rules ([`suggest::suggestions`]), each with its causes and the
/// echoes that follow them.
fn with_causes(
    mut groups: BTreeMap<GroupKey, GroupAcc>,
    orders: &BTreeMap<String, String>,
) -> Vec<Suggestion> {
    for ((op, path, class, detail), acc) in groups.iter_mut() {
        let ordering = detail.unwrap_or(*class) == Class::Ordering && !class.has_detail();
        if let (true, "$", Some(order)) = (ordering, path.as_str(), orders.get(op)) {
            acc.fit = suggest::Fit::Hides(suggest::Hidden::Declared(order.clone()));
        }
    }
    let causes: BTreeMap<GroupKey, (u64, u64)> = groups
        .iter()
        .map(|(key, acc)| (key.clone(), (acc.causes, acc.followed_by)))
        .collect();
    let fits = groups
        .into_iter()
        .map(|(key, acc)| (key, (acc.count, acc.fit)))
        .collect();
    let mut suggestions = suggest::suggestions(fits);
    for s in &mut suggestions {
        let key = (s.op.clone(), s.path.clone(), s.class, s.detail);
        (s.causes, s.followed_by) = causes.get(&key).copied().unwrap_or_default();
    }
    suggestions
}

impl Sink for Summary {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.add(result);
        Ok(())
    }
}

fn example(result: &RequestResult, d: &Divergence) -> Example {
    Example {
        op: result.op.clone(),
        seq: result.seq,
        key: result.key.clone(),
        divergence: d.clone(),
        follows: result.follows,
    }
}
