//! The `min_requests` clause: an operation needs at least so many requests.

use super::{OpCheck, Policy};

/// The reason `check` fails the clause, if it does.
pub(super) fn check(check: &OpCheck, policy: &Policy) -> Option<String> {
    let min = policy.min_requests(&check.op);
    (check.total < min).then(|| {
        format!(
            "{}: {} requests, the policy needs at least {min}",
            check.op, check.total
        )
    })
}
