//! The `max_inconclusive_rate` clause: the share of an operation's requests that could not
//! be compared is bounded.

use super::OpCheck;

/// The reason `check` fails the clause, if it does.
pub(super) fn check(check: &OpCheck) -> Option<String> {
    (check.inconclusive_rate > check.max_inconclusive_rate).then(|| {
        format!(
            "{}: {} of {} requests inconclusive ({:.4}), at most {} allowed",
            check.op,
            check.inconclusive,
            check.total,
            check.inconclusive_rate,
            check.max_inconclusive_rate
        )
    })
}
