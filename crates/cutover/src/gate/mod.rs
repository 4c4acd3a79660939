//! Stage 6: the gate. A policy turns a replay's report (and its per-request results) into
//! APPROVED or REJECTED, with every reason.
//!
//! Clauses, per operation, each in its own module and judged in this order: the coverage
//! of every operation the policy lists and of every operation compared at least once
//! (`coverage.rs`), a minimum number of requests (`min_requests.rs`), the required
//! equivalence (`divergence.rs`: writes must be equivalent unless the policy says
//! otherwise; reads may allow a divergence rate, judged on the Wilson upper bound, not the
//! point estimate), a maximum inconclusive rate (`inconclusive.rs`), a maximum share of
//! writes whose stored state went unchecked (`unchecked.rs`), a latency budget relative to
//! the legacy (`latency.rs`), and with a settle window the p99 lag of the requests that
//! settled (`settle.rs`). Then, for the whole run, the race check (`atomicity.rs`) and the
//! coverage of the domain's declared features (`features.rs`). Accepted differences
//! (operation, path pattern, class; `accept.rs`) turn matching divergent requests into
//! accepted ones until they expire; an expired one rejects, and one that matched nothing is
//! reported as stale.

mod accept;
mod atomicity;
mod coverage;
mod divergence;
mod features;
mod inconclusive;
mod keys;
mod latency;
mod min_requests;
mod policy;
mod settle;
pub(crate) mod stats;
mod unchecked;

pub use keys::KeyLimits;
pub use policy::{Accepted, OpPolicy, Policy, PolicyError};

use crate::cassette::Kind;
use crate::diff::Class;
use crate::replay::RequestResult;
use crate::report::{OperationReport, Report};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
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
    /// A verify's keys beyond the `[verify]` limits (missing, extra, divergent,
    /// inconclusive), a verify that stopped before its last key, or a policy with `[verify]`
    /// judging a run that is not a verify.
    Keys,
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
    let mut uses = accept::uses(policy, today);
    let accepted = accept::cover(results, &mut uses);
    let mut reasons = coverage::unexercised(report, policy);
    let mut operations = Vec::new();
    for (op, o) in &report.operations {
        // A verify's keys are judged by its own clause, not as requests.
        if report.verify.is_some() && op == crate::verify::OP {
            continue;
        }
        let ok_by_acceptance = accepted.get(op.as_str()).copied().unwrap_or(0);
        let mut check = measure(op, o, ok_by_acceptance, policy);
        for (clause, message) in failures(&check, o, policy) {
            check.passed = false;
            reasons.push(Reason {
                op: Some(op.clone()),
                clause,
                message,
            });
        }
        operations.push(check);
    }
    reasons.extend(atomicity::check(report, policy));
    reasons.extend(keys::check(report, policy));
    reasons.extend(features::check(report, policy));
    reasons.extend(accept::expired(&uses));
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

/// The operation `op` of the report against the policy, before any clause is judged:
/// `accepted` of its divergent requests are covered by accepted differences.
fn measure(op: &str, o: &OperationReport, accepted: u64, policy: &Policy) -> OpCheck {
    let c = o.requests;
    let compared = c.total - c.inconclusive;
    let divergent = c.divergent.saturating_sub(accepted);
    let rate = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    OpCheck {
        op: op.to_string(),
        kind: o.kind,
        total: c.total,
        compared,
        divergent,
        accepted,
        divergence_rate: rate(divergent, compared),
        divergence_upper: stats::wilson_upper(divergent, compared, policy.confidence),
        max_divergence_rate: policy.max_divergence_rate(op, o.kind),
        inconclusive: c.inconclusive,
        inconclusive_rate: rate(c.inconclusive, c.total),
        max_inconclusive_rate: policy.max_inconclusive_rate(op),
        unchecked: o.writes_unchecked,
        unchecked_rate: rate(o.writes_unchecked, compared),
        max_unchecked_rate: policy.max_unchecked_rate(op),
        legacy_p99_us: o.latency_us.legacy.p99,
        candidate_p99_us: o.latency_us.candidate.p99,
        latency_p99_ratio: latency::ratio(op, o, policy),
        settle_p99_us: o.settle.filter(|s| s.settled > 0).map(|s| s.lag_us.p99),
        passed: true,
    }
}

/// The clauses of one operation that `check` fails, each with its reason, in the order
/// they are judged.
fn failures(check: &OpCheck, o: &OperationReport, policy: &Policy) -> Vec<(Clause, String)> {
    [
        (Clause::Coverage, coverage::compared(check)),
        (Clause::MinRequests, min_requests::check(check, policy)),
        (Clause::Divergence, divergence::check(check, policy)),
        (Clause::Inconclusive, inconclusive::check(check)),
        (Clause::Unchecked, unchecked::check(check)),
        (Clause::Latency, latency::check(check, o, policy)),
        (Clause::Settle, settle::check(&check.op, o, policy)),
    ]
    .into_iter()
    .filter_map(|(clause, message)| Some((clause, message?)))
    .collect()
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
