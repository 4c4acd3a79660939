//! Markdown for a pull-request comment: the verdict, the writes whose stored state was not
//! compared, the reasons, the per-operation table, the settle lags, the rules that fired,
//! and the first divergences as collapsed diffs.

use super::{classes, headline, op_passed};
use crate::gate::Decision;
use crate::report::render::units::latency;
use crate::report::render::{side, unified};
use crate::report::Report;
use std::fmt::Write;

/// The Markdown comment for `report`, judged by `decision` when there is one.
pub fn render(report: &Report, decision: Option<&Decision>) -> String {
    let mut out = String::new();
    head(&mut out, report, decision);
    if let Some(d) = decision {
        why(&mut out, d);
    }
    if let Some(info) = &report.verify {
        super::verify::markdown(&mut out, info);
    }
    causes(&mut out, report);
    operations(&mut out, report, decision);
    super::settle::markdown(&mut out, report);
    if let Some(coverage) = &report.coverage {
        super::coverage::markdown(&mut out, coverage);
    }
    if let Some(races) = &report.races {
        super::races::markdown(&mut out, races);
    }
    rules(&mut out, report);
    if let Some(d) = decision {
        accepted(&mut out, d);
    }
    examples(&mut out, report);
    out
}

/// The verdict, the run in one line, and the writes whose stored state was not compared.
fn head(out: &mut String, report: &Report, decision: Option<&Decision>) {
    let mark = if super::passed(report, decision) {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(out, "## {mark} cutover: {}\n", headline(report, decision));
    let t = &report.totals;
    let _ = writeln!(
        out,
        "`{}` (domain `{}`): legacy **{}** vs candidate **{}**, {} requests: {} equal, {} divergent, {} inconclusive.\n",
        report.cassette.path,
        report.cassette.domain,
        report.legacy,
        report.candidate,
        t.total,
        t.equal,
        t.divergent,
        t.inconclusive
    );
    if let Some(unchecked) = crate::report::render::unchecked(report) {
        let _ = writeln!(out, "> ⚠️ **Unchecked writes:** {}\n", escape(&unchecked));
    }
}

/// The gate's reasons to reject, if any.
fn why(out: &mut String, d: &Decision) {
    if !d.reasons.is_empty() {
        let _ = writeln!(out, "### Why\n");
        for r in &d.reasons {
            let _ = writeln!(out, "- {}", escape(&r.message));
        }
        out.push('\n');
    }
}

/// The table of operations, with the gate's rates when it judged them.
fn operations(out: &mut String, report: &Report, decision: Option<&Decision>) {
    let _ = writeln!(out, "### Operations\n");
    let _ = writeln!(
        out,
        "| operation | kind | requests | divergent | inconclusive | classes | rate (upper bound) | p99 legacy | p99 candidate | |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---:|---:|---:|---|");
    for (op, o) in &report.operations {
        let check = decision.and_then(|d| d.operations.iter().find(|c| &c.op == op));
        let rate = check.map_or("".into(), |c| {
            format!("{:.4} ({:.4})", c.divergence_rate, c.divergence_upper)
        });
        let _ = writeln!(
            out,
            "| `{op}` | {} | {} | {} | {} | {} | {rate} | {} | {} | {} |",
            o.kind.as_str(),
            o.requests.total,
            o.requests.divergent,
            o.requests.inconclusive,
            classes(o),
            latency(o.latency_us.legacy.p99),
            latency(o.latency_us.candidate.p99),
            if op_passed(op, o, decision) {
                "✅"
            } else {
                "❌"
            }
        );
    }
}

/// The rules and how many values each changed, if there are rules.
fn rules(out: &mut String, report: &Report) {
    if !report.rules.is_empty() {
        let _ = writeln!(
            out,
            "\n### Rules\n\n| line | rule | values changed |\n|---:|---|---:|"
        );
        for r in &report.rules {
            let _ = writeln!(out, "| {} | `{}` | {} |", r.line, escape(&r.rule), r.fired);
        }
    }
}

/// The policy's accepted differences and how each was used, if it has any.
fn accepted(out: &mut String, d: &Decision) {
    if !d.accepted.is_empty() {
        let _ = writeln!(
            out,
            "\n### Accepted differences\n\n| operation | path | class | matched | until | owner | reason |\n|---|---|---|---:|---|---|---|"
        );
        for a in &d.accepted {
            let state = a.note();
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {} | {}{state} | {} | {} |",
                a.op,
                a.path,
                a.class,
                a.matched,
                a.expires,
                escape(&a.owner),
                escape(&a.reason)
            );
        }
    }
}

/// The first divergences, each a collapsed line diff.
fn examples(out: &mut String, report: &Report) {
    if !report.examples.is_empty() {
        let _ = writeln!(out, "\n### First divergences\n");
        for e in crate::report::causes_first(&report.examples) {
            let d = &e.divergence;
            let follows = e
                .follows
                .map_or(String::new(), |s| format!(" (follows seq {s})"));
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code> seq {}: {} at <code>{}</code>{follows}</summary>\n",
                e.op,
                e.seq,
                d.class,
                html_escape(&d.path)
            );
            if let Some(note) = &d.note {
                let _ = writeln!(out, "{}\n", escape(note));
            }
            let _ = writeln!(
                out,
                "```diff\n{}```\n</details>\n",
                unified(&side(d.left.as_ref()), &side(d.right.as_ref()))
                    .lines()
                    .map(|l| l.strip_prefix("  ").unwrap_or(l).replace("```", "` ` `") + "\n")
                    .collect::<String>()
            );
        }
    }
}

/// The groups with a cause, those most echoes follow first: where to look before the rest.
fn causes(out: &mut String, report: &Report) {
    let causes = crate::report::render::causes(report);
    if causes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Causes first\n\nEach key's first divergence, in cassette order; the later divergences of the same key follow it.\n\n| operation | class | path | causes | followed by |\n|---|---|---|---|---|"
    );
    for s in causes.iter().take(CAUSES) {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            escape(&s.op),
            s.class,
            escape(&s.path),
            s.causes,
            s.followed_by
        );
    }
    if causes.len() > CAUSES {
        let _ = writeln!(out, "\n… and {} more.", causes.len() - CAUSES);
    }
}

/// Cause groups the Markdown comment lists.
const CAUSES: usize = 10;

/// Table cells: no pipes or line breaks.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use crate::replay::StateCheck;
    use crate::report::render::tests::report;

    #[test]
    fn the_comment_says_how_many_writes_went_unchecked_and_why() {
        let md = super::render(&report(3, Some(StateCheck::Unchecked), false), None);
        assert!(md.starts_with("## ✅ cutover: EQUIVALENT\n"), "{md}");
        assert!(
            md.contains(
                "\n> ⚠️ **Unchecked writes:** the stored state of 3 of 3 writes was not compared \
             (put 3): 3 because a side could not tell its stored state"
            ),
            "{md}"
        );
        let md = super::render(&report(2, None, false), None);
        assert!(md.contains("(put 2): 2 because the state check was off (--no-state-check)"));
        let md = super::render(&report(2, Some(StateCheck::Equal), false), None);
        assert!(!md.contains("Unchecked writes"), "{md}");
    }
}
