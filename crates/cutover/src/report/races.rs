//! The race check's section of the text report: whole ([`render`]), or cut for the summary
//! ([`summary`]).

use crate::races::{Finding, GroupReport, RaceClass, RaceReport};
use std::fmt::Write;

/// Groups not serializable the summary lists; the others are counted.
const SUMMARY_GROUPS: usize = 5;

/// The section: the figures, each group that was not serializable, and the findings.
pub fn render(r: &RaceReport) -> String {
    section(r, usize::MAX, 3)
}

/// The section as the summary has it: the figures, the first groups that were not
/// serializable (the rest counted), and the first atomicity finding.
pub fn summary(r: &RaceReport) -> String {
    section(r, SUMMARY_GROUPS, 1)
}

/// The figures, the first `rows` groups that were not serializable, the first `findings`
/// atomicity findings.
fn section(r: &RaceReport, rows: usize, findings: usize) -> String {
    let mut out = String::new();
    let pause = match (r.pause_us, r.legacy_pauses, r.candidate_pauses) {
        (0, _, _) => String::new(),
        (us, l, c) => format!(
            ", pause {} (legacy: {}, candidate: {})",
            super::render::units::latency(us),
            applied(l),
            applied(c)
        ),
    };
    let _ = writeln!(
        out,
        "\nrace check: {} groups ({}, up to {} requests), {} schedules each, seed {}, jitter up to {}{pause}",
        r.groups.len(),
        r.grouping,
        r.size,
        r.schedules,
        r.seed,
        super::render::units::latency(r.jitter_us)
    );
    let _ = writeln!(out, "  groups: {}", r.counts(true));
    let unserializable: Vec<&GroupReport> = r
        .groups
        .iter()
        .filter(|g| g.verdict != RaceClass::Serializable)
        .collect();
    for g in unserializable.iter().take(rows) {
        let [verdict, key, seqs, ops, candidate, first, legacy] = cells(g);
        let failure = g
            .candidate
            .failure
            .as_ref()
            .or(g.legacy.failure.as_ref())
            .map_or(String::new(), |f| format!("; failure: {f}"));
        let _ = writeln!(
            out,
            "  {verdict} key {key} seqs {seqs} ({ops}): candidate {candidate} unexplained (first schedule: {first}), legacy {legacy}{failure}"
        );
    }
    if unserializable.len() > rows {
        let _ = writeln!(
            out,
            "  … {} more groups not serializable (--verbose lists every group)",
            unserializable.len() - rows
        );
    }
    for f in r
        .findings
        .iter()
        .filter(|f| f.class == RaceClass::Atomicity)
        .take(findings)
    {
        out.push_str(&finding(f));
    }
    if let Some(stop) = &r.stopped {
        let _ = writeln!(out, "  STOPPED: {stop}");
    }
    out
}

fn applied(yes: bool) -> &'static str {
    if yes {
        "applied"
    } else {
        "not supported"
    }
}

/// The columns of a group's row, as [`cells`] fills them.
#[cfg(feature = "publish")]
pub const COLUMNS: [&str; 7] = [
    "verdict",
    "key",
    "seqs",
    "operations",
    "candidate unexplained",
    "first schedule",
    "legacy unexplained",
];

/// A group's row: verdict, key, seqs, operations, the candidate's unexplained runs of its
/// schedules, the first schedule that showed one, the legacy's unexplained runs.
pub fn cells(g: &GroupReport) -> [String; 7] {
    [
        g.verdict.name().to_string(),
        g.key.clone(),
        format!("{:?}", g.seqs),
        g.ops.join(", "),
        format!("{} of {}", g.candidate.unexplained, g.candidate.schedules),
        g.candidate
            .first_unexplained
            .map_or("-".into(), |i| i.to_string()),
        format!("{} of {}", g.legacy.unexplained, g.legacy.schedules),
    ]
}

/// One finding: what the store gave, and what its serial orders give.
pub fn finding(f: &Finding) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  # {} on the {} side: key {}, seqs {:?} ({}), schedule {} (jitter {:?} us, pause {} us), seen in {} schedules",
        f.class.name(),
        f.side,
        f.key,
        f.seqs,
        f.ops.join(", "),
        f.schedule.index,
        f.schedule.jitter_us,
        f.schedule.pause_us,
        f.seen
    );
    let _ = writeln!(out, "  observed: {}", compact(&f.observed));
    for s in &f.serial {
        let _ = writeln!(
            out,
            "  serial {:?}: {}",
            s.order,
            compact(&crate::races::Trial {
                answers: s.answers.clone(),
                state: s.state.clone(),
            })
        );
    }
    out
}

/// A result on one line, cut to a readable length.
fn compact(t: &crate::races::Trial) -> String {
    let text = serde_json::to_string(t).unwrap_or_default();
    match text.char_indices().nth(400) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
