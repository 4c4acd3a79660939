//! The divergence clause: an operation whose allowed rate is 0 (every write, unless the
//! policy says otherwise) must be equivalent; above 0 (`read_max_divergence_rate`, an
//! `[op.NAME]`'s `max_divergence_rate`), the Wilson upper bound of its divergence rate must
//! stay within it, not only the point estimate.

use super::{OpCheck, Policy};

/// The reason `check` fails the clause, if it does.
pub(super) fn check(check: &OpCheck, policy: &Policy) -> Option<String> {
    let (op, max_rate) = (&check.op, check.max_divergence_rate);
    if max_rate == 0.0 {
        (check.divergent > 0).then(|| {
            format!(
                "{op}: {} of {} requests diverge; the policy requires equivalence",
                check.divergent, check.compared
            )
        })
    } else {
        let within = check.divergence_upper <= max_rate;
        (!within).then(|| {
            format!(
                "{op}: divergence rate {:.4} (upper bound {:.4} at {:.0}%) exceeds {max_rate}",
                check.divergence_rate,
                check.divergence_upper,
                policy.confidence * 100.0
            )
        })
    }
}
