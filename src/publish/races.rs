//! The race check in each document: a summary, the groups that were not serializable, and
//! the first atomicity finding with the serial outcomes it was compared with.

use crate::races::{GroupReport, RaceClass, RaceReport};
use crate::report::races::finding;
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

fn first(g: &GroupReport) -> String {
    g.candidate
        .first_unexplained
        .map_or("-".into(), |i| i.to_string())
}

/// The Markdown section.
pub fn markdown(out: &mut String, r: &RaceReport) {
    let _ = writeln!(out, "\n### Race check\n\n{}\n", summary(r));
    if flagged(r).next().is_some() {
        let _ = writeln!(
            out,
            "| verdict | key | seqs | operations | candidate unexplained | first schedule | legacy unexplained |\n|---|---|---|---|---:|---:|---:|"
        );
        for g in flagged(r) {
            let _ = writeln!(
                out,
                "| {} | `{}` | {:?} | {} | {} of {} | {} | {} of {} |",
                g.verdict.name(),
                g.key,
                g.seqs,
                g.ops.join(", "),
                g.candidate.unexplained,
                g.candidate.schedules,
                first(g),
                g.legacy.unexplained,
                g.legacy.schedules
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
        out.push_str("<table id=\"race-groups\"><tr><th>verdict</th><th>key</th><th>seqs</th><th>operations</th><th>candidate unexplained</th><th>first schedule</th><th>legacy unexplained</th></tr>");
        for g in flagged(r) {
            let _ = write!(
                out,
                "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td>{:?}</td><td>{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{}</td><td class=\"num\">{} of {}</td></tr>",
                if g.verdict == RaceClass::Atomicity { "bad" } else { "" },
                g.verdict.name(),
                esc(&g.key),
                g.seqs,
                esc(&g.ops.join(", ")),
                g.candidate.unexplained,
                g.candidate.schedules,
                first(g),
                g.legacy.unexplained,
                g.legacy.schedules
            );
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
