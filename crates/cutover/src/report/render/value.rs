//! One divergence as text: its path and class, then what each side holds, as a line diff
//! (legacy `-`, candidate `+`) bounded by size, never by a clock. The Markdown, HTML and
//! JUnit documents use the same helpers (re-exported by [`super`]).

use super::style::{Role, Style};
use crate::diff::Divergence;
use crate::report::Example;
use serde_json::Value;
use similar::{Algorithm, ChangeTag, TextDiff};
use std::fmt::Write;

/// Context lines around a change in a rendered value diff.
const CONTEXT: usize = 3;

/// Rendered values longer than this many lines are cut.
const MAX_LINES: usize = 40;

/// How many lines of each side a rendered line diff compares: the cost is bounded by
/// size, never by a clock, so one input always renders to the same text.
pub(crate) const DIFF_INPUT_LINES: usize = 2000;

/// One example divergence with its request.
pub fn example(e: &Example) -> String {
    styled_example(e, Style::Plain)
}

/// [`example`] in `style`.
pub(crate) fn styled_example(e: &Example, style: Style) -> String {
    let key = e.key.as_deref().unwrap_or("(no key)");
    format!(
        "{} seq {} key {}: {}",
        e.op,
        e.seq,
        key,
        styled(&e.divergence, style)
    )
}

/// One divergence: its path and class, then what each side holds.
pub fn divergence(d: &Divergence) -> String {
    styled(d, Style::Plain)
}

fn styled(d: &Divergence, style: Style) -> String {
    let mut head = format!("{} at {}", d.class, d.path);
    if let Some(detail) = d.detail {
        let _ = write!(head, " ({detail})");
    }
    format!("{head}\n{}", body(d, style))
}

fn body(d: &Divergence, style: Style) -> String {
    let mut out = String::new();
    if let Some(note) = &d.note {
        let _ = writeln!(out, "  {note}");
    }
    let legacy = |text: &str| style.paint(Role::Legacy, &format!("  legacy:    {text}"));
    let candidate = |text: &str| style.paint(Role::Candidate, &format!("  candidate: {text}"));
    match (&d.left, &d.right) {
        (Some(Value::Array(l)), Some(Value::Array(r))) => {
            out.push_str(&styled_unified(&per_element(l), &per_element(r), style));
        }
        (Some(l), Some(r)) if is_compound(l) || is_compound(r) => {
            out.push_str(&styled_unified(&pretty(l), &pretty(r), style));
        }
        (Some(l), Some(r)) => {
            let _ = writeln!(out, "{}", legacy(&compact(l)));
            let _ = writeln!(out, "{}", candidate(&compact(r)));
        }
        (Some(l), None) => {
            let _ = writeln!(out, "{}", legacy(&compact(l)));
            let _ = writeln!(out, "{}", candidate("(absent)"));
        }
        (None, Some(r)) => {
            let _ = writeln!(out, "{}", legacy("(absent)"));
            let _ = writeln!(out, "{}", candidate(&compact(r)));
        }
        (None, None) => {}
    }
    out
}

/// The first [`DIFF_INPUT_LINES`] lines of `text`, and whether any were left out.
pub(crate) fn head_lines(text: &str) -> (&str, bool) {
    match text.match_indices('\n').nth(DIFF_INPUT_LINES - 1) {
        Some((end, _)) if end + 1 < text.len() => (&text[..=end], true),
        _ => (text, false),
    }
}

/// A line diff of two texts, showing changed regions with context (legacy `-`, candidate `+`).
#[cfg(feature = "publish")]
pub(crate) fn unified(left: &str, right: &str) -> String {
    styled_unified(left, right, Style::Plain)
}

fn styled_unified(left: &str, right: &str, style: Style) -> String {
    let ((left, l_cut), (right, r_cut)) = (head_lines(left), head_lines(right));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(left, right);
    let mut out = unified_ops(&diff, style);
    if l_cut || r_cut {
        let _ = writeln!(
            out,
            "  ... (the first {DIFF_INPUT_LINES} lines of each side compared)"
        );
    }
    out
}

fn unified_ops<'a>(diff: &TextDiff<'a, 'a, 'a, str>, style: Style) -> String {
    let mut out = String::new();
    let mut lines = 0;
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            out.push_str("  ...\n");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                if lines == MAX_LINES {
                    out.push_str("  ... (cut)\n");
                    return out;
                }
                let (sign, role) = match change.tag() {
                    ChangeTag::Delete => ('-', Some(Role::Legacy)),
                    ChangeTag::Insert => ('+', Some(Role::Candidate)),
                    ChangeTag::Equal => (' ', None),
                };
                let line = format!("  {sign} {}", change.value().trim_end_matches('\n'));
                match role {
                    Some(role) => {
                        let _ = writeln!(out, "{}", style.paint(role, &line));
                    }
                    None => {
                        let _ = writeln!(out, "{line}");
                    }
                }
                lines += 1;
            }
        }
    }
    out
}

fn is_compound(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// One side of a divergence as text to set beside the other: an array one element per line
/// (a moved element is one line), anything else pretty-printed; empty when absent.
pub fn side(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(items)) => per_element(items),
        Some(v) => pretty(v),
        None => String::new(),
    }
}

fn pretty(v: &Value) -> String {
    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
    text.push('\n');
    text
}

/// One compact element per line, so that a moved element shows as one line.
fn per_element(items: &[Value]) -> String {
    items.iter().map(|v| compact(v) + "\n").collect()
}

fn compact(v: &Value) -> String {
    const MAX: usize = 200;
    let text = v.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], text.len()),
        None => text,
    }
}
