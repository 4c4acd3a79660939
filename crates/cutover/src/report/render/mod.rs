//! Renders reports and divergences as text for people.
//!
//! [`text`] renders a report in one of two lengths ([`Options::verbose`]):
//!
//! * **the summary** (the CLI's default): the header lines, the per-operation table, the
//!   divergence groups (operation, class, path pattern, count) ranked by count with only
//!   the first few listed and the number left out said, the value diff of the first
//!   divergence of a few groups, short lines for rules, noise and suggested rules, the
//!   coverage and race check cut to their first lines, every warning, and the verdict last;
//! * **the whole report** ([`report`], `--verbose`): every example divergence of every
//!   (operation, class), every rule with its count, every noise path and every suggested
//!   rule. `testing::Equivalence`'s failure message is this text.
//!
//! Both say everything a verdict or the gate depends on: totals, unchecked writes, a
//! truncated cassette, a stopped side, settle lags, coverage and race figures.
//!
//! Text is plain unless [`Options::style`] asks for colour ([`Style`]); whether stdout is a
//! terminal, and `NO_COLOR`, are the CLI's business. Nothing here reads a clock or writes
//! anywhere: one report always renders to the same text. Layout: `full.rs` (the sections
//! only the whole report has), `summary.rs` (the summary's), `value.rs` (one divergence's
//! value diff, shared with the Markdown, HTML and JUnit documents), `style.rs`.

mod full;
mod style;
mod summary;
pub(crate) mod units;
mod value;
mod verify;

pub use style::Style;
use units::latency;
pub use value::{divergence, example, side};
#[cfg(feature = "publish")]
pub(crate) use value::{head_lines, unified, DIFF_INPUT_LINES};

use super::{Report, Verdict};
use std::fmt::Write;
use style::Role;

/// How much of a report to render, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The whole report (`--verbose`): every example, rule, noise path and suggested rule.
    /// Otherwise a summary of the divergence groups (see the module's documentation).
    pub verbose: bool,
    /// Plain text or colours.
    pub style: Style,
}

impl Options {
    /// The whole report in plain text: what [`report`] renders.
    pub const FULL: Options = Options {
        verbose: true,
        style: Style::Plain,
    };
}

/// The whole report in plain text: header, per-operation table, every example, rule,
/// noise path and suggested rule, coverage, races, the verdict.
pub fn report(report: &Report) -> String {
    text(report, Options::FULL)
}

/// The report as `options` say: the whole of it or a summary, plain or in colour.
pub fn text(report: &Report, options: Options) -> String {
    let style = options.style;
    let mut out = match &report.verify {
        Some(info) => verify::head(report, info, options.verbose, style),
        None => head(report, style),
    };
    out.push_str(&super::settle::text(report));
    match options.verbose {
        true => full::sections(&mut out, report, style),
        false => summary::sections(&mut out, report, style),
    }
    if let Some(coverage) = &report.coverage {
        let gaps = if options.verbose { 12 } else { 5 };
        out.push_str(&coverage_summary(coverage, gaps));
    }
    if let Some(races) = &report.races {
        out.push_str(&match options.verbose {
            true => super::races::render(races),
            false => super::races::summary(races),
        });
    }
    if let Some(stop) = &report.stopped {
        let _ = writeln!(
            out,
            "\n{}",
            style.paint(Role::Warn, &format!("STOPPED: {stop}"))
        );
    }
    if let Some(unchecked) = unchecked(report) {
        let warning = format!("warning: {unchecked}");
        let _ = writeln!(out, "\n{}", style.paint(Role::Warn, &warning));
    }
    let _ = writeln!(out, "\n{}", verdict(report, style));
    out
}

/// The header lines and the per-operation table.
fn head(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let t = &report.totals;
    let _ = writeln!(
        out,
        "cassette {} (domain {}): legacy {} vs candidate {}",
        report.cassette.path, report.cassette.domain, report.legacy, report.candidate
    );
    if let Some(line) = report.cassette.truncated_line {
        let warning = format!("warning: line {line} was truncated and skipped");
        let _ = writeln!(out, "{}", style.paint(Role::Warn, &warning));
    }
    let _ = writeln!(
        out,
        "{} requests in {:.2} s ({:.0} requests/s): {} equal, {}, {}",
        t.total,
        report.elapsed_ms as f64 / 1000.0,
        report.requests_per_second,
        t.equal,
        style.count(
            Role::Bad,
            t.divergent,
            &format!("{} divergent", t.divergent)
        ),
        style.count(
            Role::Warn,
            t.inconclusive,
            &format!("{} inconclusive", t.inconclusive)
        ),
    );
    let p = &report.probes;
    if !p.is_empty() {
        let _ = writeln!(
            out,
            "of which {} probes (derived edge cases, not recorded): {} equal, {} divergent, {} inconclusive",
            p.total, p.equal, p.divergent, p.inconclusive
        );
    }
    let (l, c) = (&report.latency_us.legacy, &report.latency_us.candidate);
    let _ = writeln!(
        out,
        "latency p50/p99: legacy {}/{}, candidate {}/{}\n",
        latency(l.p50),
        latency(l.p99),
        latency(c.p50),
        latency(c.p99)
    );
    let plain = |text: &str| Cell::new(text, None);
    let mut rows = vec![[
        "operation",
        "kind",
        "total",
        "equal",
        "divergent",
        "inconcl.",
        "classes",
        "legacy p50/p95/p99",
        "candidate p50/p95/p99",
    ]
    .map(plain)];
    for (name, op) in &report.operations {
        let classes: Vec<String> = op.classes.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        let ms = |p: &super::Percentiles| {
            format!("{}/{}/{}", latency(p.p50), latency(p.p95), latency(p.p99))
        };
        let counted = |n: u64, role| Cell::new(&n.to_string(), (n > 0).then_some(role));
        rows.push([
            plain(name),
            plain(&format!("{:?}", op.kind).to_lowercase()),
            plain(&op.requests.total.to_string()),
            plain(&op.requests.equal.to_string()),
            counted(op.requests.divergent, Role::Bad),
            counted(op.requests.inconclusive, Role::Warn),
            plain(&match classes.is_empty() {
                true => "-".into(),
                false => classes.join(" "),
            }),
            plain(&ms(&op.latency_us.legacy)),
            plain(&ms(&op.latency_us.candidate)),
        ]);
    }
    table(&mut out, &rows, style);
    out
}

/// The verdict line: the verdict's word and what decided it.
fn verdict(report: &Report, style: Style) -> String {
    let t = &report.totals;
    let atomicity = report.races.as_ref().map_or(0, |r| r.atomicity());
    let (word, why) = match report.verdict {
        Verdict::Equivalent => ("EQUIVALENT", String::new()),
        Verdict::Divergent if atomicity > 0 => (
            "DIVERGENT",
            format!(
                ": {} of {} requests, {atomicity} concurrent groups no serial order explains (atomicity)",
                t.divergent, t.total
            ),
        ),
        Verdict::Divergent => (
            "DIVERGENT",
            format!(": {} of {} requests", t.divergent, t.total),
        ),
        Verdict::Inconclusive if t.inconclusive == 0 => {
            let unjudged = report
                .races
                .as_ref()
                .map_or(0, |r| r.count(crate::races::RaceClass::Inconclusive));
            (
                "INCONCLUSIVE",
                format!(": {unjudged} concurrent groups could not be judged"),
            )
        }
        Verdict::Inconclusive => (
            "INCONCLUSIVE",
            format!(
                ": {} of {} requests could not be compared",
                t.inconclusive, t.total
            ),
        ),
    };
    format!("{}{why}", style.verdict(report.verdict, word))
}

/// The report's groups with a cause among their divergences (see
/// [`crate::replay::causes`]), those followed by the most echoes first, then most causes,
/// then by operation and path: what the Markdown and HTML pages lead with.
pub fn causes(report: &Report) -> Vec<&crate::normalize::suggest::Suggestion> {
    let mut causes: Vec<_> = report
        .suggested_rules
        .iter()
        .filter(|s| s.causes > 0)
        .collect();
    causes.sort_by(|a, b| {
        (b.followed_by, b.causes)
            .cmp(&(a.followed_by, a.causes))
            .then_with(|| (&a.op, &a.path).cmp(&(&b.op, &b.path)))
            .then_with(|| a.class.name().cmp(b.class.name()))
    });
    causes
}

/// What a report says when some write's stored state was not compared: how many, in which
/// operations, and why; `None` when every compared write's state was compared. The text,
/// Markdown and HTML documents all say it.
pub fn unchecked(report: &Report) -> Option<String> {
    let u = report.unchecked();
    if u.writes == 0 {
        return None;
    }
    let ops: Vec<String> = u
        .by_operation
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    let mut why = Vec::new();
    if u.no_state > 0 {
        why.push(format!(
            "{} because a side could not tell its stored state (a target without a state \
             dump, or a recording without states)",
            u.no_state
        ));
    }
    if u.no_events > 0 {
        why.push(format!(
            "{} because the candidate could not tell the events it published, so their \
             events were not compared (docs/src/events.md)",
            u.no_events
        ));
    }
    if u.other() > 0 {
        why.push(format!(
            "{} because the state check was off (--no-state-check) or the write had no key",
            u.other()
        ));
    }
    Some(format!(
        "the stored state of {} of {} writes was not compared ({}): {}. Those writes were \
         judged on their answers alone.",
        u.writes,
        u.compared,
        ops.join(", "),
        why.join("; ")
    ))
}

/// One cell of a [`table`]: its text, and the colour it is painted in, if any.
struct Cell {
    text: String,
    role: Option<Role>,
}

impl Cell {
    fn new(text: &str, role: Option<Role>) -> Cell {
        Cell {
            text: text.to_string(),
            role,
        }
    }
}

/// Rows in columns as wide as their widest cell; widths are counted on the plain text, so
/// colour never shifts a column.
fn table<const N: usize>(out: &mut String, rows: &[[Cell; N]], style: Style) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let pad = " ".repeat(w - c.text.chars().count());
                match c.role {
                    Some(role) => style.paint(role, &c.text) + &pad,
                    None => c.text.clone() + &pad,
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
}

/// The coverage in a few lines: the share exercised, and the first `gaps` outcomes never
/// seen (the whole table is `cutover coverage`'s, and `report.json`'s).
fn coverage_summary(coverage: &crate::coverage::Coverage, gaps: usize) -> String {
    let (declared, exercised) = coverage.counts();
    let mut out = format!(
        "\ncoverage ({}): {exercised} of {declared} declared features exercised ({:.1}%)\n",
        coverage.domain,
        coverage.share() * 100.0
    );
    let outcomes = coverage.outcome_gaps();
    if !outcomes.is_empty() {
        let listed: Vec<String> = outcomes
            .iter()
            .take(gaps)
            .map(ToString::to_string)
            .collect();
        let more = outcomes.len().saturating_sub(listed.len());
        let _ = writeln!(
            out,
            "  outcomes never seen ({}): {}{}",
            outcomes.len(),
            listed.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
