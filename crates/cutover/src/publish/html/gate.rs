//! The gate's decision on the page: every reason to reject, and each operation against each
//! clause of the policy, the failing clauses marked.

use super::esc;
use crate::gate::{Clause, Decision, OpCheck};
use crate::report::render::units::latency;
use std::fmt::Write;

/// The section for `decision`.
pub(super) fn section(out: &mut String, decision: &Decision) {
    let verdict = format!("{:?}", decision.verdict).to_uppercase();
    let _ = write!(
        out,
        "<section id=\"gate\"><h2>Gate: {verdict}</h2><p>Judged on {} at {:.0}% confidence (divergence rates by their Wilson upper bound).</p>",
        decision.today,
        decision.confidence * 100.0
    );
    if !decision.reasons.is_empty() {
        out.push_str("<h3>Why</h3><ul id=\"reasons\">");
        for r in &decision.reasons {
            let _ = write!(out, "<li>{}</li>", esc(&r.message));
        }
        out.push_str("</ul>");
    }
    out.push_str("<table id=\"clauses\"><thead><tr><th>operation</th><th>requests</th><th>divergence</th><th>inconclusive</th><th>unchecked writes</th><th>p99 candidate vs legacy</th><th>settle p99</th><th>passed</th></tr></thead><tbody>");
    for check in &decision.operations {
        let fails = |clauses: &[Clause]| {
            decision
                .reasons
                .iter()
                .any(|r| r.op.as_deref() == Some(check.op.as_str()) && clauses.contains(&r.clause))
        };
        let cell = |text: String, clauses: &[Clause]| {
            let class = if fails(clauses) { "fail" } else { "ok" };
            format!("<td class=\"{class}\">{text}</td>")
        };
        let _ = write!(
            out,
            "<tr data-op=\"{}\"><td><code>{}</code></td>{}{}{}{}{}{}<td>{}</td></tr>",
            esc(&check.op),
            esc(&check.op),
            cell(
                check.total.to_string(),
                &[Clause::MinRequests, Clause::Coverage]
            ),
            cell(divergence(check), &[Clause::Divergence]),
            cell(
                format!(
                    "{} ({:.4}) ≤ {}",
                    check.inconclusive, check.inconclusive_rate, check.max_inconclusive_rate
                ),
                &[Clause::Inconclusive]
            ),
            cell(
                format!(
                    "{} ({:.4}) ≤ {}",
                    check.unchecked, check.unchecked_rate, check.max_unchecked_rate
                ),
                &[Clause::Unchecked]
            ),
            cell(
                match check.latency_p99_ratio {
                    Some(ratio) => format!(
                        "{} vs {} (× {ratio:.2})",
                        latency(check.candidate_p99_us),
                        latency(check.legacy_p99_us)
                    ),
                    None => format!(
                        "{} vs {}",
                        latency(check.candidate_p99_us),
                        latency(check.legacy_p99_us)
                    ),
                },
                &[Clause::Latency]
            ),
            cell(
                check.settle_p99_us.map_or("-".into(), latency),
                &[Clause::Settle]
            ),
            if check.passed { "yes" } else { "no" }
        );
    }
    out.push_str("</tbody></table>");
    let run_wide: Vec<_> = decision
        .reasons
        .iter()
        .filter(|r| {
            r.op.is_none()
                || matches!(
                    r.clause,
                    Clause::Atomicity | Clause::Features | Clause::Expired
                )
        })
        .collect();
    if !run_wide.is_empty() {
        out.push_str("<h3>Clauses of the whole run</h3><ul id=\"run-clauses\">");
        for r in run_wide {
            let _ = write!(
                out,
                "<li class=\"fail\"><b>{:?}</b>: {}</li>",
                r.clause,
                esc(&r.message)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

fn divergence(check: &OpCheck) -> String {
    let accepted = match check.accepted {
        0 => String::new(),
        n => format!(", {n} accepted"),
    };
    format!(
        "{} of {} ({:.4}, upper {:.4}) ≤ {}{accepted}",
        check.divergent,
        check.compared,
        check.divergence_rate,
        check.divergence_upper,
        check.max_divergence_rate
    )
}

#[cfg(test)]
mod tests {
    use crate::cassette::Kind;
    use crate::gate::{Clause, Decision, GateVerdict, OpCheck, Reason};

    fn check(op: &str) -> OpCheck {
        OpCheck {
            op: op.into(),
            kind: Kind::Read,
            total: 10,
            compared: 10,
            divergent: 0,
            accepted: 0,
            divergence_rate: 0.0,
            divergence_upper: 0.3,
            max_divergence_rate: 0.0,
            inconclusive: 0,
            inconclusive_rate: 0.0,
            max_inconclusive_rate: 0.0,
            unchecked: 0,
            unchecked_rate: 0.0,
            max_unchecked_rate: 0.0,
            legacy_p99_us: 100,
            candidate_p99_us: 900,
            latency_p99_ratio: Some(9.0),
            settle_p99_us: None,
            passed: true,
        }
    }

    #[test]
    fn only_the_failing_clause_of_the_failing_operation_is_marked() {
        let mut get = check("get");
        get.passed = false;
        let decision = Decision {
            verdict: GateVerdict::Rejected,
            reasons: vec![
                Reason {
                    op: Some("get".into()),
                    clause: Clause::Latency,
                    message: "get: candidate p99 <too slow>".into(),
                },
                Reason {
                    op: None,
                    clause: Clause::Atomicity,
                    message: "2 groups".into(),
                },
            ],
            operations: vec![get, check("put")],
            accepted: Vec::new(),
            confidence: 0.95,
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        };
        let mut out = String::new();
        super::section(&mut out, &decision);
        assert!(
            out.contains("<li>get: candidate p99 &lt;too slow&gt;</li>"),
            "{out}"
        );
        let row = |op: &str| {
            let at = out.find(&format!("<tr data-op=\"{op}\">")).unwrap();
            out[at..at + out[at..].find("</tr>").unwrap()].to_string()
        };
        let get = row("get");
        assert_eq!(get.matches("class=\"fail\"").count(), 1, "{get}");
        assert!(
            get.contains("<td class=\"fail\">900µs vs 100µs (× 9.00)</td>"),
            "{get}"
        );
        assert!(get.ends_with("<td>no</td>"), "{get}");
        assert_eq!(row("put").matches("class=\"fail\"").count(), 0);
        assert!(
            out.contains("<li class=\"fail\"><b>Atomicity</b>: 2 groups</li>"),
            "{out}"
        );
    }
}
