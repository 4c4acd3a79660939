//! Stage 6: the gate. A policy turns a replay's report (and its per-request results) into
//! APPROVED or REJECTED, with every reason.
//!
//! Clauses, per operation: the required equivalence (writes must be equivalent unless the
//! policy says otherwise; reads may allow a divergence rate, judged on the Wilson upper
//! bound, not the point estimate), a minimum number of requests and the coverage of every
//! operation the policy lists, a maximum inconclusive rate, a latency budget relative to the
//! legacy, and with a settle window the p99 lag of the requests that settled (`settle.rs`). Accepted differences (operation, path pattern, class) turn matching divergent
//! requests into accepted ones until they expire; an expired one rejects, and one that
//! matched nothing is reported as stale.

mod features;
mod policy;
mod settle;
pub(crate) mod stats;

pub use policy::{Accepted, OpPolicy, Policy, PolicyError};

use crate::cassette::Kind;
use crate::diff::pattern;
use crate::diff::Class;
use crate::replay::{RequestResult, Status};
use crate::report::Report;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum GateVerdict {
    /// Every clause of the policy holds.
    Approved,
    /// At least one clause fails; the decision lists every reason.
    Rejected,
}

/// Which clause of the policy a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clause {
    /// An operation the policy lists was never exercised, or all its requests were inconclusive.
    Coverage,
    /// An operation has fewer requests than the policy's minimum.
    MinRequests,
    /// An operation diverges more than the policy allows.
    Divergence,
    /// An operation's inconclusive rate exceeds the policy's maximum.
    Inconclusive,
    /// The candidate's p99 exceeds the latency budget, or latencies are unknown so it cannot
    /// be judged.
    Latency,
    /// An accepted difference is past its expiry date.
    Expired,
    /// Writes whose stored state was not compared.
    Unchecked,
    /// Concurrent groups no serial order explains on the candidate, or a race check that
    /// could not judge (or is required and missing).
    Atomicity,
    /// The traffic exercised too little of the domain's declared features, or never saw an
    /// outcome an operation declares (`min_coverage`, `require_error_kinds`).
    Features,
    /// The requests that agreed only when the candidate was asked again within the settle
    /// window took longer at p99 than `max_settle_p99`.
    Settle,
}

/// One reason to reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The operation concerned; `None` for a reason about the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// The clause that fails.
    pub clause: Clause,
    /// The explanation, one line, for people.
    pub message: String,
}

/// One operation against the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpCheck {
    /// The operation's name.
    pub op: String,
    /// Whether the operation reads or writes.
    pub kind: Kind,
    /// Requests of this operation replayed.
    pub total: u64,
    /// Requests compared (total less inconclusive).
    pub compared: u64,
    /// Divergent requests that no accepted difference covers.
    pub divergent: u64,
    /// Divergent requests whose every divergence is an accepted difference.
    pub accepted: u64,
    /// `divergent / compared`, 0..1 (0 when nothing was compared).
    pub divergence_rate: f64,
    /// The Wilson upper bound of the divergence rate at the policy's confidence.
    pub divergence_upper: f64,
    /// The divergence rate the policy allows, 0..1; 0 requires equivalence.
    pub max_divergence_rate: f64,
    /// Requests whose outcome could not be compared.
    pub inconclusive: u64,
    /// `inconclusive / total`, 0..1.
    pub inconclusive_rate: f64,
    /// The inconclusive rate the policy allows, 0..1.
    pub max_inconclusive_rate: f64,
    /// Compared writes whose stored state was not compared.
    #[serde(default)]
    pub unchecked: u64,
    /// `unchecked / compared`, 0..1.
    #[serde(default)]
    pub unchecked_rate: f64,
    /// The unchecked rate the policy allows, 0..1.
    #[serde(default)]
    pub max_unchecked_rate: f64,
    /// The legacy's p99 latency for this operation, in µs.
    pub legacy_p99_us: u64,
    /// The candidate's p99 latency for this operation, in µs.
    pub candidate_p99_us: u64,
    /// Candidate p99 over legacy p99, when a latency budget applies, every latency is known
    /// and the legacy p99 is above 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99_ratio: Option<f64>,
    /// The p99 settle lag of the operation's settled requests, in µs, when some settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_p99_us: Option<u64>,
    /// Whether the operation meets every clause judged here.
    pub passed: bool,
}

/// How an accepted difference was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedUse {
    /// The operation the accepted difference applies to.
    pub op: String,
    /// The path pattern it covers, canonical (every index as `[*]`).
    pub path: String,
    /// The divergence class it covers.
    pub class: Class,
    /// For class `state`: only state divergences of this structural class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Class>,
    /// Why the difference is accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The last day it applies.
    pub expires: NaiveDate,
    /// Line of the entry in the policy file.
    pub line: usize,
    /// Divergences it matched.
    pub matched: u64,
    /// Whether `expires` is before the gate's date; an expired entry covers nothing and rejects.
    pub expired: bool,
    /// Matched nothing: the difference is gone, or the entry is wrong.
    pub stale: bool,
}

impl AcceptedUse {
    /// What a document adds after the expiry date: ` (expired)`, ` (stale)` or nothing.
    pub fn note(&self) -> &'static str {
        if self.expired {
            " (expired)"
        } else if self.stale {
            " (stale)"
        } else {
            ""
        }
    }
}

/// The gate's decision with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Approved exactly when there is no reason.
    pub verdict: GateVerdict,
    /// Every reason to reject, in the order the clauses were judged.
    pub reasons: Vec<Reason>,
    /// One check per operation of the report, in name order.
    pub operations: Vec<OpCheck>,
    /// Every accepted difference of the policy, in policy order, with how it was used.
    pub accepted: Vec<AcceptedUse>,
    /// The confidence level of the Wilson upper bounds, in [0.5, 1).
    pub confidence: f64,
    /// The date expiry dates were judged against.
    pub today: NaiveDate,
}

/// Judges `report` and its `results` (every request's result, as `results.jsonl` holds
/// them) by `policy` on the date `today`.
pub fn evaluate<'r>(
    report: &Report,
    results: impl IntoIterator<Item = &'r RequestResult>,
    policy: &Policy,
    today: NaiveDate,
) -> Decision {
    let mut uses: Vec<AcceptedUse> = policy
        .accept
        .iter()
        .map(|a| AcceptedUse {
            op: a.op.clone(),
            path: a.path.clone(),
            class: a.class,
            detail: a.detail,
            reason: a.reason.clone(),
            owner: a.owner.clone(),
            expires: a.expires,
            line: a.line,
            matched: 0,
            expired: a.expires < today,
            stale: false,
        })
        .collect();

    // Divergent requests whose every divergence an active accepted difference covers.
    let mut accepted: BTreeMap<String, u64> = BTreeMap::new();
    for result in results {
        if result.status != Status::Divergent || result.divergences.is_empty() {
            continue;
        }
        let mut all_covered = true;
        for d in &result.divergences {
            // One canonical pattern, as suggested rules print it.
            let shape = pattern(&d.path);
            let mut covered = false;
            for u in uses.iter_mut() {
                if u.op == result.op
                    && u.class == d.class
                    && u.detail.is_none_or(|detail| d.detail == Some(detail))
                    && u.path == shape
                {
                    u.matched += 1;
                    covered |= !u.expired;
                }
            }
            all_covered &= covered;
        }
        if all_covered && result.omitted == 0 {
            *accepted.entry(result.op.clone()).or_default() += 1;
        }
    }

    let mut reasons = Vec::new();
    for op in &policy.operations {
        if !report.operations.contains_key(op) {
            reasons.push(Reason {
                op: Some(op.clone()),
                clause: Clause::Coverage,
                message: format!("{op} was never exercised"),
            });
        }
    }
    let mut operations = Vec::new();
    for (op, o) in &report.operations {
        let c = o.requests;
        let compared = c.total - c.inconclusive;
        let ok_by_acceptance = accepted.get(op.as_str()).copied().unwrap_or(0);
        let divergent = c.divergent.saturating_sub(ok_by_acceptance);
        let rate = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let max_rate = policy.max_divergence_rate(op, o.kind);
        let upper = stats::wilson_upper(divergent, compared, policy.confidence);
        let mut check = OpCheck {
            op: op.clone(),
            kind: o.kind,
            total: c.total,
            compared,
            divergent,
            accepted: ok_by_acceptance,
            divergence_rate: rate(divergent, compared),
            divergence_upper: upper,
            max_divergence_rate: max_rate,
            inconclusive: c.inconclusive,
            inconclusive_rate: rate(c.inconclusive, c.total),
            max_inconclusive_rate: policy.max_inconclusive_rate(op),
            unchecked: o.writes_unchecked,
            unchecked_rate: rate(o.writes_unchecked, compared),
            max_unchecked_rate: policy.max_unchecked_rate(op),
            legacy_p99_us: o.latency_us.legacy.p99,
            candidate_p99_us: o.latency_us.candidate.p99,
            latency_p99_ratio: None,
            settle_p99_us: o.settle.filter(|s| s.settled > 0).map(|s| s.lag_us.p99),
            passed: true,
        };
        let mut reject = |clause: Clause, message: String| {
            reasons.push(Reason {
                op: Some(op.clone()),
                clause,
                message,
            })
        };
        if compared == 0 {
            check.passed = false;
            reject(
                Clause::Coverage,
                format!(
                    "{op}: all {} requests were inconclusive; it was never compared",
                    c.total
                ),
            );
        }
        let min = policy.min_requests(op);
        if c.total < min {
            check.passed = false;
            reject(
                Clause::MinRequests,
                format!(
                    "{op}: {} requests, the policy needs at least {min}",
                    c.total
                ),
            );
        }
        let within = if max_rate == 0.0 {
            divergent == 0
        } else {
            upper <= max_rate
        };
        if !within {
            check.passed = false;
            reject(
                Clause::Divergence,
                if max_rate == 0.0 {
                    format!("{op}: {divergent} of {compared} requests diverge; the policy requires equivalence")
                } else {
                    format!(
                        "{op}: divergence rate {:.4} (upper bound {:.4} at {:.0}%) exceeds {max_rate}",
                        check.divergence_rate,
                        upper,
                        policy.confidence * 100.0
                    )
                },
            );
        }
        if check.inconclusive_rate > check.max_inconclusive_rate {
            check.passed = false;
            reject(
                Clause::Inconclusive,
                format!(
                    "{op}: {} of {} requests inconclusive ({:.4}), at most {} allowed",
                    c.inconclusive, c.total, check.inconclusive_rate, check.max_inconclusive_rate
                ),
            );
        }
        if check.unchecked_rate > check.max_unchecked_rate {
            check.passed = false;
            reject(
                Clause::Unchecked,
                format!(
                    "{op}: the stored state of {} of {compared} compared writes was never compared ({:.4}), at most {} allowed",
                    check.unchecked, check.unchecked_rate, check.max_unchecked_rate
                ),
            );
        }
        let unknown = o.latency_unknown;
        if let Some(budget) = policy.latency_p99_ratio(op) {
            if unknown.legacy + unknown.candidate > 0 {
                check.passed = false;
                let side = if unknown.legacy > 0 {
                    format!("{} legacy", unknown.legacy)
                } else {
                    format!("{} candidate", unknown.candidate)
                };
                reject(
                    Clause::Latency,
                    format!(
                        "{op}: the latency budget cannot be judged: {side} latencies are unknown (a recorded legacy needs `latency_us` on every request)"
                    ),
                );
            } else if check.legacy_p99_us > 0 {
                let ratio = check.candidate_p99_us as f64 / check.legacy_p99_us as f64;
                check.latency_p99_ratio = Some(ratio);
                if ratio > budget {
                    check.passed = false;
                    reject(
                        Clause::Latency,
                        format!(
                            "{op}: candidate p99 {} µs is {ratio:.2} x the legacy's {} µs, budget {budget} x",
                            check.candidate_p99_us, check.legacy_p99_us
                        ),
                    );
                }
            }
        }
        if let Some(message) = settle::check(op, o, policy) {
            check.passed = false;
            reject(Clause::Settle, message);
        }
        operations.push(check);
    }
    reasons.extend(races(report, policy));
    reasons.extend(features::check(report, policy));
    for u in &mut uses {
        u.stale = u.matched == 0;
        if u.expired {
            reasons.push(Reason {
                op: Some(u.op.clone()),
                clause: Clause::Expired,
                message: format!(
                    "the accepted difference {} {} at {} (policy line {}, owner {}) expired on {}",
                    u.op, u.class, u.path, u.line, u.owner, u.expires
                ),
            });
        }
    }
    Decision {
        verdict: if reasons.is_empty() {
            GateVerdict::Approved
        } else {
            GateVerdict::Rejected
        },
        reasons,
        operations,
        accepted: uses,
        confidence: policy.confidence,
        today,
    }
}

/// The race check's clause: at most `max_atomicity` groups no serial order explains on the
/// candidate; every group judged; a check present when the policy requires one.
fn races(report: &Report, policy: &Policy) -> Vec<Reason> {
    use crate::races::RaceClass;
    let reason = |op: Option<String>, message: String| Reason {
        op,
        clause: Clause::Atomicity,
        message,
    };
    let Some(races) = &report.races else {
        return match policy.require_races {
            true => vec![reason(
                None,
                "the policy requires a race check (`replay --races`) and this run has none".into(),
            )],
            false => Vec::new(),
        };
    };
    let mut reasons = Vec::new();
    if policy.require_races && races.groups.is_empty() {
        reasons.push(reason(
            None,
            "the policy requires a race check and this one found no concurrent group to check (a cassette without `started_us`? try `--races writes`)".into(),
        ));
    }
    let found: Vec<_> = races
        .groups
        .iter()
        .filter(|g| g.verdict == RaceClass::Atomicity)
        .collect();
    if found.len() as u64 > policy.max_atomicity {
        for g in &found {
            let mut ops = g.ops.clone();
            ops.dedup();
            reasons.push(reason(
                Some(ops.join(",")),
                format!(
                    "key {} seqs {:?}: {} of {} concurrent runs on the candidate gave a result no serial order gives (atomicity; at most {} groups allowed)",
                    g.key, g.seqs, g.candidate.unexplained, g.candidate.schedules, policy.max_atomicity
                ),
            ));
        }
    }
    let unjudged = races.count(RaceClass::Inconclusive);
    if unjudged > 0 || races.stopped.is_some() {
        reasons.push(reason(
            None,
            format!(
                "{unjudged} of {} concurrent groups could not be judged (infrastructure failures){}",
                races.groups.len(),
                races.stopped.as_ref().map_or(String::new(), |s| format!("; {s}"))
            ),
        ));
    }
    reasons
}

/// The decision as text for a terminal.
pub fn render(decision: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26}{:<7}{:>7}{:>10}{:>9}{:>10}{:>10}{:>9}{:>10}  ok",
        "operation", "kind", "total", "divergent", "accepted", "rate", "upper", "allowed", "p99 x",
    );
    for c in &decision.operations {
        let _ = writeln!(
            out,
            "{:<26}{:<7}{:>7}{:>10}{:>9}{:>10.4}{:>10.4}{:>9}{:>10}  {}",
            c.op,
            c.kind.as_str(),
            c.total,
            c.divergent,
            c.accepted,
            c.divergence_rate,
            c.divergence_upper,
            c.max_divergence_rate,
            c.latency_p99_ratio
                .map_or("-".into(), |r| format!("{r:.2}")),
            if c.passed { "yes" } else { "NO" }
        );
    }
    if !decision.accepted.is_empty() {
        let _ = writeln!(out, "\naccepted differences:");
        for u in &decision.accepted {
            let state = if u.expired {
                "EXPIRED"
            } else if u.stale {
                "stale (matched nothing)"
            } else {
                "active"
            };
            let _ = writeln!(
                out,
                "  line {:>3}  {} {} at {}: {} matched, {state}, until {} ({}: {})",
                u.line, u.op, u.class, u.path, u.matched, u.expires, u.owner, u.reason
            );
        }
    }
    let _ = writeln!(
        out,
        "\nrates judged on the Wilson upper bound at {:.0}%; date {}",
        decision.confidence * 100.0,
        decision.today
    );
    match decision.verdict {
        GateVerdict::Approved => {
            let _ = writeln!(out, "\nAPPROVED");
        }
        GateVerdict::Rejected => {
            let _ = writeln!(out, "\nREJECTED:");
            for r in &decision.reasons {
                let _ = writeln!(out, "  - {}", r.message);
            }
        }
    }
    out
}
