//! The settle lags in each document (`docs/src/settle.md`): per operation asked again within
//! a settle window, the requests that settled, their lag percentiles, and those that never
//! agreed. Nothing is written for a run without a window.

use crate::report::render::units::latency;
use crate::report::{Report, Settle};
use std::fmt::Write;

/// The operations with settle figures, in name order.
fn settled(report: &Report) -> Vec<(&String, &Settle)> {
    report
        .operations
        .iter()
        .filter_map(|(op, o)| o.settle.as_ref().map(|s| (op, s)))
        .collect()
}

/// The Markdown section.
pub fn markdown(out: &mut String, report: &Report) {
    let rows = settled(report);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n### Settle window\n\nThe candidate's read or state read-back asked again until it agreed with the legacy's.\n\n| operation | settled | lag p50 | lag p95 | lag p99 | lag max | never agreed |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (op, s) in rows {
        let p = &s.lag_us;
        let _ = writeln!(
            out,
            "| `{op}` | {} | {} | {} | {} | {} | {} |",
            s.settled,
            latency(p.p50),
            latency(p.p95),
            latency(p.p99),
            latency(p.max),
            s.unsettled
        );
    }
}

/// The HTML section (`esc` escapes text).
pub fn html(out: &mut String, report: &Report, esc: fn(&str) -> String) {
    let rows = settled(report);
    if rows.is_empty() {
        return;
    }
    out.push_str("<section id=\"settle\"><h2>Settle window</h2><p>The candidate's read or state read-back asked again until it agreed with the legacy's.</p><table id=\"settle-lag\"><tr><th>operation</th><th>settled</th><th>lag p50</th><th>lag p95</th><th>lag p99</th><th>lag max</th><th>never agreed</th></tr>");
    for (op, s) in rows {
        let p = &s.lag_us;
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(op),
            s.settled,
            latency(p.p50),
            latency(p.p95),
            latency(p.p99),
            latency(p.max),
            s.unsettled
        );
    }
    out.push_str("</table></section>\n");
}
