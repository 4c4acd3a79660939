//! The sections only the whole report has (`--verbose`, `testing::Equivalence`): every
//! example divergence, every rule with its count, every noise path and every suggested rule.

use super::style::{Role, Style};
use crate::normalize::RuleUsage;
use crate::report::Report;
use std::fmt::Write;

/// Appends the examples, rules, noise and suggested rules sections.
pub(super) fn sections(out: &mut String, report: &Report, style: Style) {
    if !report.examples.is_empty() {
        let _ = writeln!(out, "\nfirst divergences of each operation and class:");
        for example in &report.examples {
            out.push('\n');
            out.push_str(&super::value::styled_example(example, style));
        }
    }
    if !report.rules.is_empty() {
        let _ = writeln!(out, "\nrules (values changed):");
        for r in &report.rules {
            out.push_str(&rule(r, style));
        }
    }
    if !report.noise.is_empty() {
        let _ = writeln!(out, "\nnoise: paths that differ between runs of the legacy itself (not counted as divergences):");
        for s in &report.noise {
            let _ = writeln!(
                out,
                "\n# {} {} on {} ({} in the noise runs)",
                s.class, s.path, s.op, s.count
            );
            let _ = writeln!(
                out,
                "{}",
                s.rule
                    .as_deref()
                    .unwrap_or("# no rule accepts this")
                    .trim_end()
            );
        }
    }
    if !report.suggested_rules.is_empty() {
        let _ = writeln!(out, "\nsuggested rules (for review; none is applied):");
        for s in &report.suggested_rules {
            let hides = s.hides.as_ref().map(|h| format!("# no rule: {h}"));
            let rule = match (&s.rule, &hides) {
                (Some(rule), _) => rule.trim_end(),
                (None, Some(hides)) => hides.as_str(),
                (None, None) => "# no rule accepts this: it is behaviour (fix the candidate, or accept it in the gate's policy)",
            };
            let detail = s.detail.map_or(String::new(), |d| format!(" ({d})"));
            let _ = writeln!(
                out,
                "\n# {} divergence(s): {}{detail} at {} on {}\n{rule}",
                s.count, s.class, s.path, s.op
            );
        }
    }
}

/// One rule's line: its line in the rules file, the values it changed, the rule, `UNUSED`
/// when it never fired; then what it could not judge, if anything.
pub(super) fn rule(r: &RuleUsage, style: Style) -> String {
    let mut out = String::new();
    let unused = match r.fired {
        0 => format!("  {}", style.paint(Role::Warn, "UNUSED")),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "  line {:>3}  {:>8}  {}{unused}",
        r.line, r.fired, r.rule
    );
    if r.unjudged > 0 {
        let why = match r.rule.contains(" rename ") {
            true => "objects not renamed: both names present (left as they are)",
            false => "differing arrays not judged: a sort key is absent from every element (compared in order)",
        };
        let _ = writeln!(out, "            {} {why}", r.unjudged);
    }
    out
}
