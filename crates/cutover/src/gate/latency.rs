//! The latency clause: with a budget (`latency_p99_ratio`, in `[gate]` or an `[op.NAME]`),
//! the candidate's p99 is at most that factor of the legacy's. It cannot be judged while a
//! side's latencies are unknown (a recorded legacy without `latency_us`), which rejects.

use super::{OpCheck, Policy};
use crate::report::OperationReport;

/// Candidate p99 over legacy p99, when `op` has a budget, every latency is known and the
/// legacy p99 is above 0.
pub(super) fn ratio(op: &str, o: &OperationReport, policy: &Policy) -> Option<f64> {
    policy.latency_p99_ratio(op)?;
    let (unknown, legacy) = (o.latency_unknown, o.latency_us.legacy.p99);
    (unknown.legacy + unknown.candidate == 0 && legacy > 0)
        .then(|| o.latency_us.candidate.p99 as f64 / legacy as f64)
}

/// The reason `check` fails the clause, if it does.
pub(super) fn check(check: &OpCheck, o: &OperationReport, policy: &Policy) -> Option<String> {
    let op = &check.op;
    let budget = policy.latency_p99_ratio(op)?;
    let unknown = o.latency_unknown;
    if unknown.legacy + unknown.candidate > 0 {
        let side = if unknown.legacy > 0 {
            format!("{} legacy", unknown.legacy)
        } else {
            format!("{} candidate", unknown.candidate)
        };
        return Some(format!(
            "{op}: the latency budget cannot be judged: {side} latencies are unknown (a recorded legacy needs `latency_us` on every request)"
        ));
    }
    let ratio = check.latency_p99_ratio?;
    (ratio > budget).then(|| {
        format!(
            "{op}: candidate p99 {} µs is {ratio:.2} x the legacy's {} µs, budget {budget} x",
            check.candidate_p99_us, check.legacy_p99_us
        )
    })
}
