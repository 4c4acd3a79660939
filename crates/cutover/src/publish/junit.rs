//! JUnit XML for CI test views: one test case per operation; an operation with
//! divergences (or that the gate rejects) fails with its counts and first divergence, one
//! with inconclusive requests only is an error; with a race check, one test case per
//! concurrent group (atomicity fails). Written with `quick-junit`.

use super::op_passed;
use crate::gate::Decision;
use crate::report::render;
use crate::report::Report;
use quick_junit::{NonSuccessKind, Report as JUnit, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The JUnit XML for `report`, failures judged by `decision` when there is one.
pub fn render(report: &Report, decision: Option<&Decision>) -> String {
    let name = format!("cutover {}", report.cassette.domain);
    let mut suite = TestSuite::new(name.clone());
    suite.set_time(Duration::from_millis(report.elapsed_ms));
    for (op, o) in &report.operations {
        let c = o.requests;
        let reasons: Vec<&str> = decision
            .map(|d| {
                d.reasons
                    .iter()
                    .filter(|r| r.op.as_deref() == Some(op.as_str()))
                    .map(|r| r.message.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let status = if op_passed(op, o, decision) {
            TestCaseStatus::success()
        } else {
            let kind = if c.divergent == 0 && c.inconclusive > 0 && reasons.is_empty() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let mut message = format!(
                "{} of {} requests divergent, {} inconclusive",
                c.divergent, c.total, c.inconclusive
            );
            if !o.classes.is_empty() {
                message += &format!(" ({})", super::classes(o));
            }
            let mut description: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
            description.extend(
                report
                    .examples
                    .iter()
                    .filter(|e| &e.op == op)
                    .map(render::example),
            );
            status
                .set_message(message)
                .set_type(if kind == NonSuccessKind::Error {
                    "inconclusive"
                } else {
                    "divergence"
                })
                .set_description(description.join("\n"));
            status
        };
        let mut case = TestCase::new(op.clone(), status);
        case.set_classname(format!("cutover.{}", report.cassette.domain));
        suite.add_test_case(case);
    }
    if let Some(races) = &report.races {
        for case in super::races::junit_cases(races, &report.cassette.domain) {
            suite.add_test_case(case);
        }
    }
    let mut junit = JUnit::new(name);
    junit.add_test_suite(suite);
    junit
        .to_string()
        .expect("a JUnit report of plain strings serializes")
}
