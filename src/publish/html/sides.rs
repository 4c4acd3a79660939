//! One divergence's two sides in two columns, lines aligned by a line diff (`similar`),
//! changed words marked.

use super::esc;
use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};
use std::fmt::Write;

/// Lines of one side shown per divergence, at most.
const MAX_ROWS: usize = 200;

/// The two sides in two columns, lines aligned by a line diff; changed words marked.
pub(super) fn side_by_side(out: &mut String, left: &str, right: &str) {
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
