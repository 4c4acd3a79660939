//! The `max_unchecked_rate` clause: the share of an operation's compared writes whose
//! stored state was never compared is bounded.

use super::OpCheck;

/// The reason `check` fails the clause, if it does.
pub(super) fn check(check: &OpCheck) -> Option<String> {
    (check.unchecked_rate > check.max_unchecked_rate).then(|| {
        format!(
            "{}: {} of {} compared writes' stored state or events were not compared ({:.4}), at most {} allowed",
            check.op, check.unchecked, check.compared, check.unchecked_rate, check.max_unchecked_rate
        )
    })
}
