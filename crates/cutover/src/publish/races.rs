//! The race check in each document: a summary, the groups that were not serializable, and
//! the first atomicity finding with the serial outcomes it was compared with.

use crate::races::{GroupReport, RaceClass, RaceReport};
use crate::report::races::{cells, finding, COLUMNS};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus};
use std::fmt::Write;

/// One line: groups by verdict, schedules and seed.
pub fn summary(r: &RaceReport) -> String {
    format!(
        "{} concurrent groups ({}), {} schedules each on both sides, seed {}, pause {} µs: {}",
        r.groups.len(),
        r.grouping,
        r.schedules,
        r.seed,
        r.pause_us,
        r.counts(false)
    )
}

fn flagged(r: &RaceReport) -> impl Iterator<Item = &GroupReport> {
    r.groups
        .iter()
        .filter(|g| g.verdict != RaceClass::Serializable)
}

/// The Markdown section.
pub fn markdown(out: &mut String, r: &RaceReport) {
    let _ = writeln!(out, "\n### Race check\n\n{}\n", summary(r));
    if flagged(r).next().is_some() {
        let _ = writeln!(out, "| {} |", COLUMNS.join(" | "));
        let _ = writeln!(out, "|---|---|---|---|---:|---:|---:|");
        for g in flagged(r) {
            let [verdict, key, seqs, ops, candidate, first, legacy] = cells(g);
            let _ = writeln!(
                out,
                "| {verdict} | `{key}` | {seqs} | {ops} | {candidate} | {first} | {legacy} |"
            );
        }
    }
    if let Some(f) = r.findings.iter().find(|f| f.class == RaceClass::Atomicity) {
        let _ = writeln!(
            out,
            "\n<details><summary>atomicity: key <code>{}</code>, seqs {:?}</summary>\n\n```text\n{}```\n</details>",
            f.key,
            f.seqs,
            finding(f).replace("```", "` ` `")
        );
    }
    if let Some(stop) = &r.stopped {
        let _ = writeln!(out, "\n**Stopped:** {stop}");
    }
}

/// The HTML section (`esc` escapes text).
pub fn html(out: &mut String, r: &RaceReport, esc: fn(&str) -> String) {
    let _ = write!(
        out,
        "<section id=\"races\"><h2>Race check</h2><p>{}</p>",
        esc(&summary(r))
    );
    if flagged(r).next().is_some() {
        out.push_str("<table id=\"race-groups\"><tr>");
        for c in COLUMNS {
            let _ = write!(out, "<th>{c}</th>");
        }
        out.push_str("</tr>");
        for g in flagged(r) {
            let bad = if g.verdict == RaceClass::Atomicity {
                " class=\"bad\""
            } else {
                ""
            };
            let _ = write!(out, "<tr{bad}>");
            for (i, cell) in cells(g).iter().enumerate() {
                let class = if i >= 4 { " class=\"num\"" } else { "" };
                let _ = write!(out, "<td{class}>{}</td>", esc(cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table>");
    }
    for f in r
        .findings
        .iter()
        .filter(|f| f.class == RaceClass::Atomicity)
        .take(3)
    {
        let _ = write!(
            out,
            "<article class=\"race\"><h3>atomicity: key <code>{}</code> seqs {:?}</h3><pre>{}</pre></article>",
            esc(&f.key),
            f.seqs,
            esc(&finding(f))
        );
    }
    if let Some(stop) = &r.stopped {
        let _ = write!(out, "<p><b>Stopped:</b> {}</p>", esc(stop));
    }
    out.push_str("</section>\n");
}

/// One JUnit test case per group: atomicity fails, an unjudged group is an error.
pub fn junit_cases(r: &RaceReport, domain: &str) -> Vec<TestCase> {
    r.groups
        .iter()
        .map(|g| {
            let status = match g.verdict {
                RaceClass::Atomicity | RaceClass::Inconclusive => {
                    let kind = match g.verdict {
                        RaceClass::Atomicity => NonSuccessKind::Failure,
                        _ => NonSuccessKind::Error,
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    let detail: Vec<String> = r
                        .findings
                        .iter()
                        .filter(|f| f.seqs == g.seqs && f.class == RaceClass::Atomicity)
                        .map(finding)
                        .collect();
                    status
                        .set_message(format!(
                            "{}: candidate {} of {} concurrent runs unexplained by any serial order{}",
                            g.verdict.name(),
                            g.candidate.unexplained,
                            g.candidate.schedules,
                            g.candidate
                                .failure
                                .as_ref()
                                .or(g.legacy.failure.as_ref())
                                .map_or(String::new(), |f| format!("; {f}"))
                        ))
                        .set_type(g.verdict.name())
                        .set_description(detail.join("\n"));
                    status
                }
                _ => TestCaseStatus::success(),
            };
            let mut ops = g.ops.clone();
            ops.dedup();
            let mut case = TestCase::new(
                format!("races {} {:?} {}", g.key, g.seqs, ops.join(",")),
                status,
            );
            case.set_classname(format!("cutover.{domain}.races"));
            case
        })
        .collect()
}
