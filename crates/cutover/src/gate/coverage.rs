//! The coverage clause on operations: every operation the policy lists (`operations`) must
//! have been exercised, and every operation of the report compared at least once.

use super::{Clause, OpCheck, Policy, Reason};
use crate::report::Report;

/// A reason for each operation the policy lists that the report never saw, in policy order.
pub(super) fn unexercised(report: &Report, policy: &Policy) -> Vec<Reason> {
    policy
        .operations
        .iter()
        .filter(|op| !report.operations.contains_key(*op))
        .map(|op| Reason {
            op: Some(op.clone()),
            clause: Clause::Coverage,
            message: format!("{op} was never exercised"),
        })
        .collect()
}

/// The reason `check` fails the clause: all its requests were inconclusive.
pub(super) fn compared(check: &OpCheck) -> Option<String> {
    (check.compared == 0).then(|| {
        format!(
            "{}: all {} requests were inconclusive; it was never compared",
            check.op, check.total
        )
    })
}
