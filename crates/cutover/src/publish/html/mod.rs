//! A self-contained HTML page (no external resource, one file): the verdict, the writes
//! whose stored state was not compared, the gate's decision clause by clause, the
//! per-operation table, and, from the run's every result ([`Workspace`]), the field view,
//! each operation's latency chart and every divergence to filter and page, with its
//! request's arguments and both sides highlighted; then the settle lags, coverage, races,
//! the rules with their counts and the accepted differences. Without a workspace (a report
//! alone), the first divergence of each operation and class stands for the list.
//!
//! `workspace.rs` folds the results, `chart.rs` draws the SVG charts, `list.rs` the field
//! view and the list (with `page.js`, its only script), `gate.rs` the clauses, `sides.rs`
//! one divergence side by side.

mod chart;
mod gate;
mod list;
mod sides;
pub(crate) mod workspace;

pub use list::PAGE;
pub use workspace::{Workspace, MAX_SHOWN};

use super::{classes, headline, op_passed, passed};
use crate::gate::Decision;
use crate::report::render::side;
use crate::report::render::units::latency;
use crate::report::Report;
use std::fmt::Write;

const STYLE: &str = include_str!("page.css");

/// The page for `report`, judged by `decision` when there is one, with the run's results
/// folded into `workspace` when they are at hand.
pub fn render(
    report: &Report,
    decision: Option<&Decision>,
    workspace: Option<&Workspace>,
) -> String {
    let mut out = String::new();
    let verdict = headline(report, decision);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cutover: {verdict}</title><style>{STYLE}</style></head><body>\n"
    );
    let t = &report.totals;
    let _ = writeln!(
        out,
        "<header id=\"verdict\" class=\"{}\"><h1>{verdict}</h1><p><code>{}</code> (domain {}): legacy <b>{}</b> vs candidate <b>{}</b>; {} requests: {} equal, {} divergent, {} inconclusive.</p></header>",
        if passed(report, decision) { "pass" } else { "fail" },
        esc(&report.cassette.path),
        esc(&report.cassette.domain),
        esc(&report.legacy),
        esc(&report.candidate),
        t.total,
        t.equal,
        t.divergent,
        t.inconclusive
    );
    if let Some(unchecked) = crate::report::render::unchecked(report) {
        let _ = writeln!(
            out,
            "<p id=\"unchecked\" class=\"warn\"><b>Unchecked writes:</b> {}</p>",
            esc(&unchecked)
        );
    }
    if let Some(d) = decision {
        gate::section(&mut out, d);
    }
    if let Some(info) = &report.verify {
        super::verify::html(&mut out, info, esc);
    }
    causes(&mut out, report);
    operations(&mut out, report, decision);
    if let Some(ws) = workspace {
        chart::section(&mut out, report, &ws.latency);
        list::fields(&mut out, report, ws, decision);
    }
    super::settle::html(&mut out, report, esc);
    if let Some(coverage) = &report.coverage {
        super::coverage::html(&mut out, coverage, esc);
    }
    if let Some(races) = &report.races {
        super::races::html(&mut out, races, esc);
    }
    if !report.rules.is_empty() {
        out.push_str("<section><h2>Rules fired</h2><table id=\"rules\"><tr><th>line</th><th>rule</th><th>values changed</th></tr>");
        for r in &report.rules {
            let _ = write!(
                out,
                "<tr><td class=\"num\">{}</td><td><code>{}</code></td><td class=\"num\">{}</td></tr>",
                r.line,
                esc(&r.rule),
                r.fired
            );
        }
        out.push_str("</table></section>\n");
    }
    if let Some(d) = decision.filter(|d| !d.accepted.is_empty()) {
        out.push_str("<section><h2>Accepted differences</h2><table id=\"accepted\"><tr><th>operation</th><th>path</th><th>class</th><th>matched</th><th>until</th><th>owner</th><th>reason</th></tr>");
        for a in &d.accepted {
            let state = a.note();
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}{state}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.op),
                esc(&a.path),
                a.class,
                a.matched,
                a.expires,
                esc(&a.owner),
                esc(&a.reason)
            );
        }
        out.push_str("</table></section>\n");
    }
    match workspace {
        Some(ws) => list::divergences(&mut out, ws),
        None => first_divergences(&mut out, report),
    }
    out.push_str("</body></html>\n");
    out
}

/// The first divergence of each operation and class, for a page made from a report alone.
/// The groups with a cause, those most echoes follow first.
fn causes(out: &mut String, report: &Report) {
    let causes = crate::report::render::causes(report);
    if causes.is_empty() {
        return;
    }
    out.push_str("<section><h2>Causes first</h2><p class=\"hint\">Each key's first divergence, in cassette order; the later divergences of the same key follow it.</p><table id=\"causes\"><tr><th>operation</th><th>class</th><th>path</th><th>causes</th><th>followed by</th></tr>");
    for s in causes {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&s.op),
            s.class,
            esc(&s.path),
            s.causes,
            s.followed_by
        );
    }
    out.push_str("</table></section>\n");
}

fn first_divergences(out: &mut String, report: &Report) {
    if !report.examples.is_empty() {
        out.push_str("<section><h2>First divergences</h2>\n");
        for e in crate::report::causes_first(&report.examples) {
            let d = &e.divergence;
            let follows = e
                .follows
                .map_or(String::new(), |s| format!(" (follows seq {s})"));
            let _ = write!(
                out,
                "<article class=\"divergence\"><h3><code>{}</code> seq {} key {}: {} at <code>{}</code>{follows}</h3>",
                esc(&e.op),
                e.seq,
                esc(e.key.as_deref().unwrap_or("(none)")),
                d.class,
                esc(&d.path)
            );
            if let Some(note) = &d.note {
                let _ = write!(out, "<p>{}</p>", esc(note));
            }
            sides::side_by_side(out, &side(d.left.as_ref()), &side(d.right.as_ref()));
            out.push_str("</article>\n");
        }
        out.push_str("</section>\n");
    }
}

fn operations(out: &mut String, report: &Report, decision: Option<&Decision>) {
    out.push_str("<section><h2>Operations</h2><table id=\"operations\"><thead><tr><th>operation</th><th>kind</th><th>requests</th><th>divergent</th><th>inconclusive</th><th>classes</th><th>rate (upper bound)</th><th>p99 legacy</th><th>p99 candidate</th><th>passed</th></tr></thead><tbody>");
    for (op, o) in &report.operations {
        let ok = op_passed(op, o, decision);
        let rate = decision
            .and_then(|d| d.operations.iter().find(|c| &c.op == op))
            .map_or(String::new(), |c| {
                format!("{:.4} ({:.4})", c.divergence_rate, c.divergence_upper)
            });
        let _ = write!(
            out,
            "<tr class=\"{}\"><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{rate}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if ok { "ok" } else { "bad" },
            esc(op),
            o.kind.as_str(),
            o.requests.total,
            o.requests.divergent,
            o.requests.inconclusive,
            esc(&classes(o)),
            latency(o.latency_us.legacy.p99),
            latency(o.latency_us.candidate.p99),
            if ok { "yes" } else { "no" }
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// Text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::replay::StateCheck;
    use crate::report::render::tests::report;

    #[test]
    fn the_page_says_how_many_writes_went_unchecked_and_why() {
        let page = super::render(&report(3, Some(StateCheck::Unchecked), false), None, None);
        assert!(
            page.contains(
                "<p id=\"unchecked\" class=\"warn\"><b>Unchecked writes:</b> the stored state of \
             3 of 3 writes was not compared (put 3): 3 because a side could not tell its \
             stored state"
            ),
            "{page}"
        );
        let page = super::render(&report(1, None, true), None, None);
        assert!(
            page.contains("(put 1, wipe 1): 2 because the state check was off (--no-state-check)")
        );
        let page = super::render(&report(2, Some(StateCheck::Equal), false), None, None);
        assert!(!page.contains("id=\"unchecked\""), "{page}");
    }
}
