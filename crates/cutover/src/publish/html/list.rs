//! The page's working parts: the field view (every path pattern of every operation with its
//! divergent requests, rate and classes, each a link that filters the list) and the list of
//! divergences itself: held in the page as JSON (`<script type="application/json">`), each
//! with its request's arguments and its side-by-side view, filtered by operation, class,
//! path pattern and key and paged by `page.js`. The filter lives in the address's fragment
//! (`#op=scan&class=ordering&path=$&key=k1&page=2`), so a view can be linked to.

use super::workspace::{Workspace, MAX_SHOWN};
use super::{esc, sides::rows_json};
use crate::gate::Decision;
use crate::report::render::side;
use crate::report::Report;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Divergences per page.
pub const PAGE: usize = 50;

/// Lines of a request's arguments shown, at most.
const MAX_ARG_LINES: usize = 60;

const SCRIPT: &str = include_str!("page.js");

/// The field view; with a decision, the patterns an active accepted difference covers are
/// marked with it.
pub(super) fn fields(
    out: &mut String,
    report: &Report,
    ws: &Workspace,
    decision: Option<&Decision>,
) {
    out.push_str("<section id=\"fields\"><h2>Fields</h2><p class=\"hint\">Every path pattern where a divergence was found (array indices as <code>[*]</code>), by operation in tree order: the divergent requests with a divergence there, their share of the operation's compared requests (inconclusive ones aside, as the gate counts), and the divergences by class. A pattern filters the list below to it and everything under it.</p>");
    if ws.fields.is_empty() {
        out.push_str("<p>No divergence.</p></section>\n");
        return;
    }
    out.push_str("<table id=\"field-table\"><thead><tr><th>operation</th><th>path pattern</th><th>divergent requests</th><th>rate</th><th>divergences by class</th></tr></thead><tbody>");
    for ((op, pattern), field) in &ws.fields {
        let compared = report
            .operations
            .get(op)
            .map_or(0, |o| o.requests.total - o.requests.inconclusive);
        let rate = if compared == 0 {
            0.0
        } else {
            field.requests as f64 / compared as f64
        };
        let mut classes: Vec<String> = field
            .classes
            .iter()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect();
        let accepted: Vec<String> = decision
            .map(|d| d.accepted.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.expired && &a.op == op && &a.path == pattern)
            .map(|a| {
                format!(
                    "<br><span class=\"accepted\">accepted: {} (policy line {}, until {})</span>",
                    a.class, a.line, a.expires
                )
            })
            .collect();
        classes.extend(accepted.iter().cloned());
        let depth = pattern.matches(['.', '[']).count();
        let _ = write!(
            out,
            "<tr class=\"{}\" data-op=\"{}\" data-path=\"{}\"><td><code>{}</code></td><td style=\"padding-left:{:.1}rem\"><a href=\"#op={}&amp;path={}\"><code>{}</code></a></td><td class=\"num\">{}</td><td class=\"num\"><span class=\"bar\" style=\"width:{:.0}px\"></span> {:.4}</td><td>{}</td></tr>",
            if accepted.is_empty() { "field" } else { "field accepted" },
            esc(op),
            esc(pattern),
            esc(op),
            0.6 + 0.9 * depth as f64,
            fragment(op),
            fragment(pattern),
            esc(pattern),
            field.requests,
            (rate * 60.0).ceil(),
            rate,
            classes.join(" ")
        );
    }
    out.push_str("</tbody></table>");
    if ws.omitted > 0 {
        let _ = write!(
            out,
            "<p class=\"warn\">{} more divergences were found but not kept: a comparison keeps at most {} (see <code>omitted</code> in results.jsonl).</p>",
            ws.omitted,
            crate::diff::MAX_DIVERGENCES
        );
    }
    out.push_str("</section>\n");
}

/// The list of divergences, its filters and its pager.
pub(super) fn divergences(out: &mut String, ws: &Workspace) {
    let _ = write!(
        out,
        "<section id=\"divergences\"><h2>Divergences</h2><p class=\"hint\">Every divergence of the run in the order of <code>results.jsonl</code> (the cassette's, for a replay), each with its request's arguments and both sides, {PAGE} to a page. A page holds at most the first {MAX_SHOWN} divergences; <code>results.jsonl</code> holds them all.</p>"
    );
    if ws.beyond > 0 {
        let _ = write!(
            out,
            "<p id=\"beyond\" class=\"warn\">{} divergences after the first {MAX_SHOWN} are not in this page; they are in <code>results.jsonl</code> and counted in the field view.</p>",
            ws.beyond
        );
    }
    // Every operation and class of the run, held or beyond the cap, as the field view.
    let mut ops: Vec<&str> = ws.fields.keys().map(|(op, _)| op.as_str()).collect();
    ops.dedup();
    let mut classes: Vec<String> = ws
        .fields
        .values()
        .flat_map(|f| f.classes.keys().map(ToString::to_string))
        .collect();
    classes.sort_unstable();
    classes.dedup();
    let options = |values: &[&str]| -> String {
        values
            .iter()
            .map(|v| format!("<option value=\"{0}\">{0}</option>", esc(v)))
            .collect()
    };
    let class_refs: Vec<&str> = classes.iter().map(String::as_str).collect();
    let _ = write!(
        out,
        "<form id=\"filters\" onsubmit=\"return false\"><label>operation <select id=\"f-op\"><option value=\"\">all</option>{}</select></label> <label>class <select id=\"f-class\"><option value=\"\">all</option>{}</select></label> <label>path pattern <input id=\"f-path\" list=\"f-patterns\" size=\"28\" placeholder=\"$.messages[*]\"></label> <label>key <input id=\"f-key\" size=\"14\" placeholder=\"exact, or prefix*\"></label> <button type=\"button\" id=\"f-clear\">clear</button></form>",
        options(&ops),
        options(&class_refs)
    );
    out.push_str("<datalist id=\"f-patterns\">");
    let mut patterns: Vec<&str> = ws.fields.keys().map(|(_, p)| p.as_str()).collect();
    patterns.sort_unstable();
    patterns.dedup();
    for p in &patterns {
        let _ = write!(out, "<option value=\"{}\">", esc(p));
    }
    out.push_str("</datalist><p id=\"matches\"></p><nav class=\"pager\"><button type=\"button\" id=\"p-prev\">← previous</button> <span id=\"p-at\"></span> <button type=\"button\" id=\"p-next\">next →</button></nav><div id=\"list\"></div><noscript><p class=\"warn\">Filtering and paging the divergences needs JavaScript; the tables above do not. Every divergence is in <code>results.jsonl</code>.</p></noscript>");
    out.push_str("<script type=\"application/json\" id=\"cutover-data\">");
    out.push_str(&script_safe(&data(ws).to_string()));
    let _ = writeln!(out, "</script><script>{SCRIPT}</script></section>");
}

/// The divergences as the script reads them: requests `[seq, key, op, arguments]` and
/// items `[request, path, pattern, class, notes, rows, lines cut]` (the rows as
/// `sides::rows_json` writes them), patterns interned. Text stays text: the script escapes
/// it as it writes it.
fn data(ws: &Workspace) -> Value {
    let mut patterns: BTreeMap<String, usize> = BTreeMap::new();
    let mut pattern_list: Vec<String> = Vec::new();
    let mut requests = Vec::with_capacity(ws.shown.len());
    let mut items = Vec::with_capacity(ws.held);
    for (r, shown) in ws.shown.iter().enumerate() {
        requests.push(json!([
            shown.seq,
            shown.key,
            shown.op,
            shown.args.as_ref().map(arguments)
        ]));
        for d in &shown.divergences {
            let at = crate::diff::pattern(&d.path);
            let index = *patterns.entry(at.clone()).or_insert_with(|| {
                pattern_list.push(at);
                pattern_list.len() - 1
            });
            let mut notes = Vec::new();
            if let Some(seq) = shown.follows {
                notes.push(format!(
                    "follows seq {seq}, the first divergence of its key"
                ));
            }
            if let Some(detail) = d.detail {
                notes.push(format!("state difference: {detail}"));
            }
            notes.extend(d.note.clone());
            let (rows, more, cut) = rows_json(&side(d.left.as_ref()), &side(d.right.as_ref()));
            if cut {
                notes.push(super::sides::cut_note());
            }
            items.push(json!([
                r,
                d.path,
                index,
                d.class.to_string(),
                notes,
                rows,
                more
            ]));
        }
    }
    json!({
        "page": PAGE,
        "patterns": pattern_list,
        "requests": requests,
        "items": items,
        "beyond": ws.beyond,
    })
}

/// A request's arguments, pretty, cut at [`MAX_ARG_LINES`] lines.
fn arguments(args: &Value) -> String {
    let text = serde_json::to_string_pretty(args).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_ARG_LINES {
        return text;
    }
    format!(
        "{}\n… {} more lines",
        lines[..MAX_ARG_LINES].join("\n"),
        lines.len() - MAX_ARG_LINES
    )
}

/// JSON that cannot end its `<script>` element or open a comment: every `<` escaped (it only
/// occurs inside strings).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// A value for the address's fragment, percent-encoded as `URLSearchParams` reads it.
fn fragment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let json = serde_json::json!({"x": "</script><script>alert(1)</script><!--"}).to_string();
        let safe = script_safe(&json);
        assert!(!safe.contains('<'), "{safe}");
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["x"], "</script><script>alert(1)</script><!--");
    }

    #[test]
    fn fragments_survive_every_character_of_a_path() {
        assert_eq!(fragment("$.a[*]"), "%24.a%5B%2A%5D");
        assert_eq!(
            fragment("$['a&b=c d+é']"),
            "%24%5B%27a%26b%3Dc%20d%2B%C3%A9%27%5D"
        );
    }

    #[test]
    fn long_arguments_are_cut_and_say_how_much() {
        let args = Value::Array((0..100).map(Value::from).collect());
        let text = arguments(&args);
        assert_eq!(text.lines().count(), MAX_ARG_LINES + 1);
        assert!(text.ends_with("… 42 more lines"), "{text}");
    }
}
