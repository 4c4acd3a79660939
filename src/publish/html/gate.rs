//! The gate's decision on the page: every reason to reject, and each operation against each
//! clause of the policy, the failing clauses marked.

use super::esc;
use crate::gate::{Clause, Decision, OpCheck};
use crate::report::render::latency;
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
