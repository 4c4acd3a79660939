//! One divergence's two sides in two columns, lines aligned by a line diff (`similar`),
//! changed words marked: as rows ([`rows`]), written as HTML here for a page without its
//! list, or as compact JSON ([`rows_json`]) that `page.js` turns into the same HTML.

use super::esc;
use serde_json::{json, Value};
use similar::{Algorithm, ChangeTag, DiffTag, TextDiff};
use std::fmt::Write;

/// Lines of one side shown per divergence, at most.
const MAX_ROWS: usize = 200;

/// One side of a changed line: its pieces, plain and marked in turn, plain first.
type Pieces = Vec<String>;

/// A row of the two columns.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Row {
    /// The same line on both sides.
    Same(String),
    /// A line that differs: each side's pieces, `None` where that side has no line here.
    Changed(Option<Pieces>, Option<Pieces>),
}

/// What a side-by-side view says when the sides were too long to compare whole.
pub(super) fn cut_note() -> String {
    format!(
        "only the first {} lines of each side were compared",
        crate::report::render::DIFF_INPUT_LINES
    )
}

/// The rows of `left` against `right`, at most [`MAX_ROWS`], how many more there were, and
/// whether a side was cut before comparing ([`cut_note`]).
pub(super) fn rows(left: &str, right: &str) -> (Vec<Row>, usize, bool) {
    let (left, l_cut) = crate::report::render::head_lines(left);
    let (right, r_cut) = crate::report::render::head_lines(right);
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(left, right);
    let mut rows = Vec::new();
    for op in diff.ops() {
        if op.tag() == DiffTag::Equal {
            for change in diff.iter_changes(op) {
                rows.push(Row::Same(change.value().trim_end_matches('\n').to_string()));
            }
            continue;
        }
        let (mut dels, mut inss) = (Vec::new(), Vec::new());
        for change in diff.iter_inline_changes(op) {
            let mut pieces: Pieces = Vec::new();
            for (emphasized, text) in change.iter_strings_lossy() {
                let text = text.trim_end_matches('\n');
                // Plain pieces at even places, marked ones at odd places.
                if (pieces.len() % 2 == 1) != emphasized {
                    pieces.push(String::new());
                }
                pieces.push(text.to_string());
            }
            match change.tag() {
                ChangeTag::Delete => dels.push(pieces),
                ChangeTag::Insert => inss.push(pieces),
                ChangeTag::Equal => {}
            }
        }
        for i in 0..dels.len().max(inss.len()) {
            rows.push(Row::Changed(dels.get(i).cloned(), inss.get(i).cloned()));
        }
    }
    let more = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    (rows, more, l_cut || r_cut)
}

/// The two sides in two columns as HTML.
pub(super) fn side_by_side(out: &mut String, left: &str, right: &str) {
    let (rows, more, cut) = rows(left, right);
    if cut {
        let _ = write!(out, "<p>{}</p>", cut_note());
    }
    out.push_str("<table class=\"side-by-side\"><tr><th>legacy</th><th>candidate</th></tr>");
    let cell = |pieces: &Option<Pieces>, class: &str| match pieces {
        None => "<td class=\"blank\"></td>".to_string(),
        Some(pieces) => {
            let mut text = String::new();
            for (i, piece) in pieces.iter().enumerate() {
                match i % 2 {
                    0 => text.push_str(&esc(piece)),
                    _ => {
                        let _ = write!(text, "<mark>{}</mark>", esc(piece));
                    }
                }
            }
            format!("<td class=\"{class}\"><pre>{text}</pre></td>")
        }
    };
    for row in &rows {
        match row {
            Row::Same(text) => {
                let text = esc(text);
                let _ = write!(
                    out,
                    "<tr><td><pre>{text}</pre></td><td><pre>{text}</pre></td></tr>"
                );
            }
            Row::Changed(l, r) => {
                let _ = write!(out, "<tr>{}{}</tr>", cell(l, "del"), cell(r, "ins"));
            }
        }
    }
    if more > 0 {
        let _ = write!(out, "<tr><td colspan=\"2\">… {more} more lines</td></tr>");
    }
    out.push_str("</table>");
}

/// The rows for `page.js`: a same line as its text, a changed one as `[left, right]`, each
/// side its pieces or `null`; then how many more lines were cut, and whether a side was cut
/// before comparing.
pub(super) fn rows_json(left: &str, right: &str) -> (Value, usize, bool) {
    let (rows, more, cut) = rows(left, right);
    let rows = rows
        .into_iter()
        .map(|row| match row {
            Row::Same(text) => Value::String(text),
            Row::Changed(l, r) => json!([l, r]),
        })
        .collect();
    (Value::Array(rows), more, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_words_are_the_odd_pieces_and_the_html_marks_exactly_them() {
        let (rows, more, _) = rows(
            "{\n  \"a\": 1,\n  \"b\": \"x<y\"\n}",
            "{\n  \"a\": 1,\n  \"b\": \"x<z\"\n}",
        );
        assert_eq!(more, 0);
        assert_eq!(rows[1], Row::Same("  \"a\": 1,".into()));
        let Row::Changed(Some(l), Some(r)) = &rows[2] else {
            panic!("{rows:?}")
        };
        assert_eq!(l.join(""), "  \"b\": \"x<y\"");
        assert_eq!(r.join(""), "  \"b\": \"x<z\"");
        assert!(
            l.iter().skip(1).step_by(2).any(|p| p.contains('y')),
            "{l:?}"
        );
        let mut html = String::new();
        side_by_side(&mut html, "\"<Zoe>\"\n", "\"<Zoë>\"\n");
        assert!(
            html.contains("<td class=\"del\"><pre><mark>&quot;&lt;Zoe&gt;&quot;</mark></pre></td>"),
            "{html}"
        );
    }

    #[test]
    fn a_long_side_is_cut_and_says_how_many_lines_were() {
        let left: String = (0..300).map(|i| format!("{i}\n")).collect();
        let right: String = (0..300).map(|i| format!("{}\n", i + 1000)).collect();
        let (rows, more, cut) = rows(&left, &right);
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(more, 100);
        assert!(!cut);
        let mut html = String::new();
        side_by_side(&mut html, &left, &right);
        assert!(html.contains("… 100 more lines"));
        // Beyond what is compared, the view says so.
        let lines = crate::report::render::DIFF_INPUT_LINES + 10;
        let long: String = (0..lines).map(|i| format!("{i}\n")).collect();
        let (_, _, cut) = super::rows(&long, "x\n");
        assert!(cut);
        let mut html = String::new();
        side_by_side(&mut html, &long, "x\n");
        assert!(
            html.starts_with(&format!("<p>{}</p>", cut_note())),
            "{html}"
        );
    }
}
