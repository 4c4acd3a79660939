//! A self-contained HTML page (no script, no external resource): the verdict, the writes
//! whose stored state was not compared, the reasons, the per-operation table, the settle
//! lags, the rules that fired, accepted differences, and the first divergences side by
//! side with the changed lines and words highlighted.

use super::{classes, headline, op_passed, passed};
use crate::gate::Decision;
use crate::report::render::{latency, side};
use crate::report::Report;
use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};
use std::fmt::Write;

/// Lines of one side shown per divergence, at most.
const MAX_ROWS: usize = 200;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d1f}\
header{padding:1rem 1.5rem;border-radius:8px;margin-bottom:1.5rem}\
header.pass{background:#e3f6e8;border:2px solid #2e9d4f}header.fail{background:#fde8e8;border:2px solid #c62828}\
header h1{margin:0 0 .3rem 0}table{border-collapse:collapse;margin-bottom:1.5rem}\
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}\
td.num{text-align:right}tr.bad td{background:#fff3f3}\
table.side-by-side{width:100%;table-layout:fixed}table.side-by-side td{padding:0 .4rem}\
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:12px}\
td.del{background:#ffecec}td.ins{background:#eaffea}td.blank{background:#f6f6f6}\
td.del mark{background:#f5a3a3}td.ins mark{background:#9ee6a8}code{font-size:90%}\
p.warn{background:#fff8e1;border:2px solid #f0b400;border-radius:8px;padding:.6rem 1rem}";

/// The page for `report`, judged by `decision` when there is one.
pub fn render(report: &Report, decision: Option<&Decision>) -> String {
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
    if let Some(d) = decision.filter(|d| !d.reasons.is_empty()) {
        out.push_str("<section><h2>Why</h2><ul id=\"reasons\">");
        for r in &d.reasons {
            let _ = write!(out, "<li>{}</li>", esc(&r.message));
        }
        out.push_str("</ul></section>\n");
    }
    operations(&mut out, report, decision);
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
    if !report.examples.is_empty() {
        out.push_str("<section><h2>First divergences</h2>\n");
        for e in &report.examples {
            let d = &e.divergence;
            let _ = write!(
                out,
                "<article class=\"divergence\"><h3><code>{}</code> seq {} key {}: {} at <code>{}</code></h3>",
                esc(&e.op),
                e.seq,
                esc(e.key.as_deref().unwrap_or("(none)")),
                d.class,
                esc(&d.path)
            );
            if let Some(note) = &d.note {
                let _ = write!(out, "<p>{}</p>", esc(note));
            }
            side_by_side(&mut out, &side(d.left.as_ref()), &side(d.right.as_ref()));
            out.push_str("</article>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
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

/// The two sides in two columns, lines aligned by a line diff; changed words marked.
fn side_by_side(out: &mut String, left: &str, right: &str) {
    let (left, _) = crate::report::render::head_lines(left);
    let (right, _) = crate::report::render::head_lines(right);
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(left, right);
    let mut rows: Vec<(Option<String>, Option<String>, bool)> = Vec::new();
    for op in diff.ops() {
        if op.tag() == DiffTag::Equal {
            for change in diff.iter_changes(op) {
                let text = esc(change.value().trim_end_matches('\n'));
                rows.push((Some(text.clone()), Some(text), false));
            }
            continue;
        }
        let (mut dels, mut inss) = (Vec::new(), Vec::new());
        for change in diff.iter_inline_changes(op) {
            let mut line = String::new();
            for (emphasized, text) in change.iter_strings_lossy() {
                let text = esc(text.trim_end_matches('\n'));
                if emphasized {
                    let _ = write!(line, "<mark>{text}</mark>");
                } else {
                    line.push_str(&text);
                }
            }
            match change.tag() {
                ChangeTag::Delete => dels.push(line),
                ChangeTag::Insert => inss.push(line),
                ChangeTag::Equal => {}
            }
        }
        for i in 0..dels.len().max(inss.len()) {
            rows.push((dels.get(i).cloned(), inss.get(i).cloned(), true));
        }
    }
    out.push_str("<table class=\"side-by-side\"><tr><th>legacy</th><th>candidate</th></tr>");
    let cell = |text: &Option<String>, changed: bool, class: &str| match text {
        None => "<td class=\"blank\"></td>".to_string(),
        Some(t) if changed => format!("<td class=\"{class}\"><pre>{t}</pre></td>"),
        Some(t) => format!("<td><pre>{t}</pre></td>"),
    };
    for (l, r, changed) in rows.iter().take(MAX_ROWS) {
        let _ = write!(
            out,
            "<tr>{}{}</tr>",
            cell(l, *changed, "del"),
            cell(r, *changed, "ins")
        );
    }
    if rows.len() > MAX_ROWS {
        let _ = write!(
            out,
            "<tr><td colspan=\"2\">… {} more lines</td></tr>",
            rows.len() - MAX_ROWS
        );
    }
    out.push_str("</table>");
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
        let page = super::render(&report(3, Some(StateCheck::Unchecked), false), None);
        assert!(
            page.contains(
                "<p id=\"unchecked\" class=\"warn\"><b>Unchecked writes:</b> the stored state of \
             3 of 3 writes was not compared (put 3): 3 because a side could not tell its \
             stored state"
            ),
            "{page}"
        );
        let page = super::render(&report(1, None, true), None);
        assert!(
            page.contains("(put 1, wipe 1): 2 because the state check was off (--no-state-check)")
        );
        let page = super::render(&report(2, Some(StateCheck::Equal), false), None);
        assert!(!page.contains("id=\"unchecked\""), "{page}");
    }
}
