//! Stage 7: the documents people and CI read, made from a report and, when there is one,
//! the gate's decision: Markdown for a pull-request comment (`markdown.rs`), a
//! self-contained HTML page (`html.rs`), JUnit XML for CI test views (`junit.rs`), and the
//! evidence bundle that lets a decision be reproduced later (`evidence.rs`). JSON is the
//! report and the decision themselves.

pub(crate) mod coverage;
pub mod evidence;
pub mod html;
pub mod junit;
pub mod markdown;
pub(crate) mod races;
pub(crate) mod settle;
pub(crate) mod verify;

use crate::gate::{Decision, GateVerdict};
use crate::report::{OperationReport, Report, Verdict};

/// The headline: the gate's verdict when there is a decision, else the replay's.
pub(crate) fn headline(report: &Report, decision: Option<&Decision>) -> &'static str {
    match (decision.map(|d| d.verdict), report.verdict) {
        (Some(GateVerdict::Approved), _) => "APPROVED",
        (Some(GateVerdict::Rejected), _) => "REJECTED",
        (None, Verdict::Equivalent) => "EQUIVALENT",
        (None, Verdict::Divergent) => "DIVERGENT",
        (None, Verdict::Inconclusive) => "INCONCLUSIVE",
    }
}

/// Whether the headline is good news.
pub fn passed(report: &Report, decision: Option<&Decision>) -> bool {
    matches!(headline(report, decision), "APPROVED" | "EQUIVALENT")
}

/// Whether an operation passes: by the gate when there is a decision, else by having
/// nothing divergent or inconclusive.
pub(crate) fn op_passed(op: &str, o: &OperationReport, decision: Option<&Decision>) -> bool {
    match decision {
        Some(d) => d
            .operations
            .iter()
            .find(|c| c.op == op)
            .is_none_or(|c| c.passed),
        None => o.requests.divergent == 0 && o.requests.inconclusive == 0,
    }
}

/// The classes of an operation's divergent requests, as `value:2 ordering:1`.
pub fn classes(o: &OperationReport) -> String {
    o.classes
        .iter()
        .map(|(c, n)| format!("{c}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
