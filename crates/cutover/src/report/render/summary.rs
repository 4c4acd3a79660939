//! The sections of the summary (the CLI's default): the divergence groups ranked by count,
//! the first [`GROUPS`] listed and the rest counted; the first divergence of the first
//! [`EXAMPLES`] groups that have one; one line each for rules (and the rules worth a look
//! listed), noise and suggested rules, each pointing at `--verbose` for the rest.

use super::style::{Role, Style};
use super::{table, Cell};
use crate::diff::{pattern, Class};
use crate::report::{Example, Report, MAX_GROUPS};
use std::fmt::Write;

/// Divergence groups the summary lists; the others are counted.
pub(crate) const GROUPS: usize = 5;

/// Groups whose first divergence the summary shows with its value diff.
pub(crate) const EXAMPLES: usize = 3;

/// Rules worth a look (unused, or with values they could not judge) the summary lists.
const RULES: usize = 5;

/// One group of divergences: an operation's divergences of one class at one path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group<'a> {
    pub op: &'a str,
    pub class: Class,
    /// For a `state` group: the structural class of the differences in the state.
    pub detail: Option<Class>,
    /// The path pattern; `None` where the report only counts (operation, class).
    pub path: Option<&'a str>,
    /// Divergences in the group (requests, where the path is `None`).
    pub count: u64,
    /// Of those, divergences of requests that are causes (their key's first divergence);
    /// `None` where the report only counts (operation, class).
    pub causes: Option<u64>,
    /// Divergent requests that follow this group's causes.
    pub followed_by: u64,
}

impl Group<'_> {
    /// The class as a person reads it: `state (extra)` for a state group.
    fn class_name(&self) -> String {
        match self.detail {
            Some(detail) => format!("{} ({detail})", self.class),
            None => self.class.to_string(),
        }
    }

    /// `cause` (with the echoes that follow it), `echo`, or empty where unknown.
    fn role(&self) -> String {
        match self.causes {
            Some(0) => "echo".into(),
            Some(_) if self.followed_by > 0 => format!("cause, {} follow", self.followed_by),
            Some(_) => "cause".into(),
            None => String::new(),
        }
    }

    /// Whether `e` is a divergence of this group.
    fn holds(&self, e: &Example) -> bool {
        let d = &e.divergence;
        e.op == self.op
            && d.class == self.class
            && d.detail == self.detail
            && self.path.is_none_or(|p| pattern(&d.path) == p)
    }
}

/// A report's divergence groups, causes first: groups with a divergence that is its key's
/// first (see [`crate::replay::causes`]), those followed by the most echoes first; then
/// the groups of echoes only; each part most divergences first, ties by operation, class,
/// path pattern and detail (by name). The groups are the suggested rules' groups, which
/// count every (operation, path pattern, class); for a report without them, one group per
/// operation and class, counting requests, most first.
pub(crate) fn groups(report: &Report) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = match report.suggested_rules.is_empty() {
        false => report
            .suggested_rules
            .iter()
            .map(|s| Group {
                op: &s.op,
                class: s.class,
                detail: s.detail,
                path: Some(&s.path),
                count: s.count,
                causes: Some(s.causes),
                followed_by: s.followed_by,
            })
            .collect(),
        true => report
            .operations
            .iter()
            .flat_map(|(op, o)| {
                o.classes.iter().map(move |(class, n)| Group {
                    op,
                    class: *class,
                    detail: None,
                    path: None,
                    count: *n,
                    causes: None,
                    followed_by: 0,
                })
            })
            .collect(),
    };
    groups.sort_by(|a, b| {
        let cause = |g: &Group| g.causes.is_some_and(|n| n > 0);
        cause(b)
            .cmp(&cause(a))
            .then_with(|| b.followed_by.cmp(&a.followed_by))
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.op.cmp(b.op))
            .then_with(|| a.class.name().cmp(b.class.name()))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.detail.map(Class::name).cmp(&b.detail.map(Class::name)))
    });
    groups
}

/// Appends the groups, the first divergences of a few, and the rules, noise and suggested
/// rules lines.
pub(super) fn sections(out: &mut String, report: &Report, style: Style) {
    let groups = groups(report);
    if !groups.is_empty() {
        divergence_groups(out, report, &groups, style);
        examples(out, report, &groups, style);
    }
    if !report.rules.is_empty() {
        rules(out, report, style);
    }
    if !report.noise.is_empty() {
        let differences: u64 = report.noise.iter().map(|s| s.count).sum();
        let _ = writeln!(
            out,
            "\nnoise: {} differ between runs of the legacy itself ({} in the noise runs), not \
             counted as divergences (--verbose lists them)",
            plural(report.noise.len() as u64, "group"),
            plural(differences, "difference")
        );
    }
    if !report.suggested_rules.is_empty() {
        let with = report
            .suggested_rules
            .iter()
            .filter(|s| s.rule.is_some())
            .count();
        let _ = writeln!(
            out,
            "\nsuggested rules: {with} of {} have one, for review; none is applied \
             (--verbose prints them)",
            plural(report.suggested_rules.len() as u64, "group")
        );
        let hides = report
            .suggested_rules
            .iter()
            .filter(|s| s.hides.is_some())
            .count();
        if hides > 0 {
            let _ = writeln!(
                out,
                "  {hides} of them get none: accepting them would hide a defect (--verbose says what)"
            );
        }
    }
}

fn divergence_groups(out: &mut String, report: &Report, groups: &[Group], style: Style) {
    let counted = match groups[0].path {
        Some(_) => "divergences",
        None => "requests",
    };
    let order = match groups[0].causes {
        Some(_) => "causes first",
        None => "most first",
    };
    let _ = writeln!(out, "\ndivergence groups ({}), {order}:", groups.len());
    let header = ["  operation", "class", "path", counted, "role"].map(|t| Cell::new(t, None));
    let mut rows = vec![header];
    for g in groups.iter().take(GROUPS) {
        rows.push([
            Cell::new(&format!("  {}", g.op), None),
            Cell::new(&g.class_name(), None),
            Cell::new(g.path.unwrap_or("*"), None),
            Cell::new(&g.count.to_string(), Some(Role::Bad)),
            Cell::new(&g.role(), None),
        ]);
    }
    table(out, &rows, style);
    if let Some(more) = groups.len().checked_sub(GROUPS).filter(|n| *n > 0) {
        let more = plural(more as u64, "more group");
        let _ = writeln!(out, "  … {more} (--verbose shows every group)");
    }
    if report.suggested_rules.len() >= MAX_GROUPS {
        let _ = writeln!(
            out,
            "  (a report counts at most the first {MAX_GROUPS} groups found)"
        );
    }
}

/// The first divergence of each of the first [`EXAMPLES`] groups that have one among the
/// report's examples, then how many examples were left out.
fn examples(out: &mut String, report: &Report, groups: &[Group], style: Style) {
    let mut shown: Vec<&Example> = Vec::new();
    for g in groups {
        if shown.len() == EXAMPLES {
            break;
        }
        let mut held = report.examples.iter().filter(|e| g.holds(e));
        let first = match g.causes {
            Some(n) if n > 0 => held.clone().find(|e| e.follows.is_none()).or(held.next()),
            _ => held.next(),
        };
        if let Some(e) = first {
            if !shown.contains(&e) {
                shown.push(e);
            }
        }
    }
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nfirst divergence of {}:",
        match shown.len() {
            1 => "the first group".to_string(),
            n => format!("the first {n} groups"),
        }
    );
    for e in &shown {
        out.push('\n');
        out.push_str(&super::value::styled_example(e, style));
    }
    let more = report.examples.len() - shown.len();
    if more > 0 {
        let more = plural(more as u64, "more example");
        let _ = writeln!(out, "\n… {more} (--verbose shows every example)");
    }
}

/// One line for the rules, then the rules worth a look: unused, or with values they could
/// not judge.
fn rules(out: &mut String, report: &Report, style: Style) {
    let fired = report.rules.iter().filter(|r| r.fired > 0).count();
    let values: u64 = report.rules.iter().map(|r| r.fired).sum();
    let _ = writeln!(
        out,
        "\nrules: {fired} of {} fired, {values} values changed (--verbose lists every rule)",
        report.rules.len()
    );
    let notable: Vec<_> = report
        .rules
        .iter()
        .filter(|r| r.fired == 0 || r.unjudged > 0)
        .collect();
    for r in notable.iter().take(RULES) {
        out.push_str(&super::full::rule(r, style));
    }
    if notable.len() > RULES {
        let _ = writeln!(
            out,
            "  … {} unused or partly judged",
            plural((notable.len() - RULES) as u64, "more rule")
        );
    }
}

/// `n` and `what`, with an `s` unless `n` is 1: `1 more group`, `2 more groups`.
fn plural(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}
