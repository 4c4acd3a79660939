//! The coverage clause: a cassette too thin to prove anything is rejected, with its gaps.
//! `min_coverage` is the share of the domain's declared features the traffic must have
//! exercised; `require_error_kinds` asks for every operation's declared outcomes (`ok` and
//! each error kind) to have been seen at least once.

use super::{Clause, Policy, Reason};
use crate::report::Report;

/// How many gaps a share reason names before it says how many more there are.
const LISTED: usize = 10;

/// The reasons the coverage in `report` fails `policy`.
pub(super) fn check(report: &Report, policy: &Policy) -> Vec<Reason> {
    if policy.min_coverage.is_none() && !policy.require_error_kinds {
        return Vec::new();
    }
    let reason = |op: Option<String>, message: String| Reason {
        op,
        clause: Clause::Features,
        message,
    };
    let Some(coverage) = &report.coverage else {
        return vec![reason(
            None,
            "the policy asks for coverage and this run counted none (its domain declares no features)".into(),
        )];
    };
    let mut reasons = Vec::new();
    if policy.require_error_kinds {
        for gap in coverage.outcome_gaps() {
            reasons.push(reason(
                Some(gap.op.clone()),
                format!(
                    "{}: the declared outcome `{}` was never exercised",
                    gap.op, gap.name
                ),
            ));
        }
    }
    if let Some(min) = policy.min_coverage {
        let share = coverage.share();
        if share < min {
            let gaps = coverage.gaps();
            let listed: Vec<String> = gaps.iter().take(LISTED).map(ToString::to_string).collect();
            let more = match gaps.len().saturating_sub(LISTED) {
                0 => String::new(),
                n => format!("; and {n} more (`cutover coverage`)"),
            };
            let (declared, exercised) = coverage.counts();
            reasons.push(reason(
                None,
                format!(
                    "the traffic exercised {exercised} of {declared} declared features ({:.1}%), the policy asks for {:.1}%; never exercised: {}{more}",
                    share * 100.0,
                    min * 100.0,
                    listed.join("; ")
                ),
            ));
        }
    }
    reasons
}
