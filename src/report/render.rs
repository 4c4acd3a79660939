//! Renders reports and divergences as plain text for people. Colour and terminals are the
//! CLI's business; this module only writes text.

use super::{Example, Report, Verdict};
use crate::diff::Divergence;
use serde_json::Value;
use similar::{Algorithm, ChangeTag, TextDiff};
use std::fmt::Write;

/// Context lines around a change in a rendered value diff.
const CONTEXT: usize = 3;

/// Rendered values longer than this many lines are cut.
const MAX_LINES: usize = 40;

/// The whole report: header, per-operation table, examples, verdict.
pub fn report(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.totals;
    let _ = writeln!(
        out,
        "cassette {} (domain {}): legacy {} vs candidate {}",
        report.cassette.path, report.cassette.domain, report.legacy, report.candidate
    );
    if let Some(line) = report.cassette.truncated_line {
        let _ = writeln!(out, "warning: line {line} was truncated and skipped");
    }
    let _ = writeln!(
        out,
        "{} requests in {:.2} s ({:.0} requests/s): {} equal, {} divergent, {} inconclusive",
        t.total,
        report.elapsed_ms as f64 / 1000.0,
        report.requests_per_second,
        t.equal,
        t.divergent,
        t.inconclusive
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
    let mut rows = vec![[
        "operation".to_string(),
        "kind".into(),
        "total".into(),
        "equal".into(),
        "divergent".into(),
        "inconcl.".into(),
        "classes".into(),
        "legacy p50/p95/p99".into(),
        "candidate p50/p95/p99".into(),
    ]];
    for (name, op) in &report.operations {
        let classes: Vec<String> = op.classes.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        let ms = |p: &super::Percentiles| {
            format!("{}/{}/{}", latency(p.p50), latency(p.p95), latency(p.p99))
        };
        rows.push([
            name.clone(),
            format!("{:?}", op.kind).to_lowercase(),
            op.requests.total.to_string(),
            op.requests.equal.to_string(),
            op.requests.divergent.to_string(),
            op.requests.inconclusive.to_string(),
            if classes.is_empty() {
                "-".into()
            } else {
                classes.join(" ")
            },
            ms(&op.latency_us.legacy),
            ms(&op.latency_us.candidate),
        ]);
    }
    table(&mut out, &rows);
    out.push_str(&super::settle::text(report));
    if !report.examples.is_empty() {
        let _ = writeln!(out, "\nfirst divergences of each operation and class:");
        for example in &report.examples {
            out.push('\n');
            out.push_str(&self::example(example));
        }
    }
    if !report.rules.is_empty() {
        let _ = writeln!(out, "\nrules (values changed):");
        for r in &report.rules {
            let unused = if r.fired == 0 { "  UNUSED" } else { "" };
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
            let rule = s.rule.as_deref().map_or(
                "# no rule accepts this: it is behaviour (fix the candidate, or accept it in the gate's policy)",
                str::trim_end,
            );
            let detail = s.detail.map_or(String::new(), |d| format!(" ({d})"));
            let _ = writeln!(
                out,
                "\n# {} divergence(s): {}{detail} at {} on {}\n{rule}",
                s.count, s.class, s.path, s.op
            );
        }
    }
    if let Some(coverage) = &report.coverage {
        out.push_str(&coverage_summary(coverage));
    }
    if let Some(races) = &report.races {
        out.push_str(&super::races::render(races));
    }
    let atomicity = report.races.as_ref().map_or(0, |r| r.atomicity());
    let verdict = match report.verdict {
        Verdict::Equivalent => "EQUIVALENT".to_string(),
        Verdict::Divergent if atomicity > 0 => format!(
            "DIVERGENT: {} of {} requests, {atomicity} concurrent groups no serial order explains (atomicity)",
            t.divergent, t.total
        ),
        Verdict::Divergent => format!("DIVERGENT: {} of {} requests", t.divergent, t.total),
        Verdict::Inconclusive if t.inconclusive == 0 => {
            let unjudged = report
                .races
                .as_ref()
                .map_or(0, |r| r.count(crate::races::RaceClass::Inconclusive));
            format!("INCONCLUSIVE: {unjudged} concurrent groups could not be judged")
        }
        Verdict::Inconclusive => format!(
            "INCONCLUSIVE: {} of {} requests could not be compared",
            t.inconclusive, t.total
        ),
    };
    if let Some(stop) = &report.stopped {
        let _ = writeln!(out, "\nSTOPPED: {stop}");
    }
    if let Some(unchecked) = unchecked(report) {
        let _ = writeln!(out, "\nwarning: {unchecked}");
    }
    let _ = writeln!(out, "\n{verdict}");
    out
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

/// One example divergence with its request.
pub fn example(e: &Example) -> String {
    let key = e.key.as_deref().unwrap_or("(no key)");
    format!(
        "{} seq {} key {}: {}",
        e.op,
        e.seq,
        key,
        divergence(&e.divergence)
    )
}

/// One divergence: its path and class, then what each side holds.
pub fn divergence(d: &Divergence) -> String {
    let mut head = format!("{} at {}", d.class, d.path);
    if let Some(detail) = d.detail {
        let _ = write!(head, " ({detail})");
    }
    format!("{head}\n{}", body(d))
}

fn body(d: &Divergence) -> String {
    let mut out = String::new();
    if let Some(note) = &d.note {
        let _ = writeln!(out, "  {note}");
    }
    match (&d.left, &d.right) {
        (Some(Value::Array(l)), Some(Value::Array(r))) => {
            out.push_str(&unified(&per_element(l), &per_element(r)));
        }
        (Some(l), Some(r)) if is_compound(l) || is_compound(r) => {
            out.push_str(&unified(&pretty(l), &pretty(r)));
        }
        (Some(l), Some(r)) => {
            let _ = writeln!(out, "  legacy:    {}", compact(l));
            let _ = writeln!(out, "  candidate: {}", compact(r));
        }
        (Some(l), None) => {
            let _ = writeln!(out, "  legacy:    {}", compact(l));
            let _ = writeln!(out, "  candidate: (absent)");
        }
        (None, Some(r)) => {
            let _ = writeln!(out, "  legacy:    (absent)");
            let _ = writeln!(out, "  candidate: {}", compact(r));
        }
        (None, None) => {}
    }
    out
}

/// How many lines of each side a rendered line diff compares: the cost is bounded by
/// size, never by a clock, so one input always renders to the same text.
pub(crate) const DIFF_INPUT_LINES: usize = 2000;

/// The first [`DIFF_INPUT_LINES`] lines of `text`, and whether any were left out.
pub(crate) fn head_lines(text: &str) -> (&str, bool) {
    match text.match_indices('\n').nth(DIFF_INPUT_LINES - 1) {
        Some((end, _)) if end + 1 < text.len() => (&text[..=end], true),
        _ => (text, false),
    }
}

/// A line diff of two texts, showing changed regions with context (legacy `-`, candidate `+`).
pub(crate) fn unified(left: &str, right: &str) -> String {
    let ((left, l_cut), (right, r_cut)) = (head_lines(left), head_lines(right));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(left, right);
    if l_cut || r_cut {
        let mut out = unified_ops(&diff);
        let _ = writeln!(
            out,
            "  ... (the first {DIFF_INPUT_LINES} lines of each side compared)"
        );
        return out;
    }
    unified_ops(&diff)
}

fn unified_ops<'a>(diff: &TextDiff<'a, 'a, 'a, str>) -> String {
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
                let sign = match change.tag() {
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                    ChangeTag::Equal => ' ',
                };
                let _ = writeln!(out, "  {sign} {}", change.value().trim_end_matches('\n'));
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

/// A latency for reading: microseconds below 1 ms, milliseconds above.
pub fn latency(us: u64) -> String {
    if us < 1000 {
        format!("{us}µs")
    } else {
        format!("{:.1}ms", us as f64 / 1000.0)
    }
}

fn table<const N: usize>(out: &mut String, rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
}

/// The coverage in a few lines: the share exercised, and the outcomes never seen (the
/// whole table is `cutover coverage`'s, and `report.json`'s).
fn coverage_summary(coverage: &crate::coverage::Coverage) -> String {
    let (declared, exercised) = coverage.counts();
    let mut out = format!(
        "\ncoverage ({}): {exercised} of {declared} declared features exercised ({:.1}%)\n",
        coverage.domain,
        coverage.share() * 100.0
    );
    let outcomes = coverage.outcome_gaps();
    if !outcomes.is_empty() {
        let listed: Vec<String> = outcomes.iter().take(12).map(ToString::to_string).collect();
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
pub(crate) mod tests {
    use crate::cassette::{Header, Kind};
    use crate::replay::{ReplayRun, RequestResult, StateCheck, Status};
    use crate::report::{Report, Summary};
    use serde_json::Value;
    use std::time::Duration;

    /// A report of `puts` writes of `put` and one read, each write's state checked as
    /// `state` says, and one keyless write `wipe` whose state is never checked.
    pub(crate) fn report(puts: u64, state: Option<StateCheck>, keyless: bool) -> Report {
        let mut summary = Summary::new();
        let mut add = |seq: u64, op: &str, kind: Kind, key: Option<&str>, state| {
            let mut request = crate::capture::adapter::request(op, key, kind, Value::Null);
            request.seq = seq;
            let result = RequestResult {
                state,
                ..RequestResult::of(seq - 1, &request, Status::Equal)
            };
            summary.add(&result);
        };
        for seq in 1..=puts {
            add(seq, "put", Kind::Write, Some("k1"), state);
        }
        add(puts + 1, "get", Kind::Read, Some("k1"), None);
        if keyless {
            add(puts + 2, "wipe", Kind::Write, None, None);
        }
        let run = ReplayRun {
            requests: puts + 1 + u64::from(keyless),
            elapsed: Duration::ZERO,
            truncation: None,
            rules: Vec::new(),
            stopped: None,
        };
        summary.finish(&Header::new("kv"), "c.jsonl", "legacy", "candidate", &run)
    }

    #[test]
    fn a_report_whose_writes_were_all_checked_says_nothing_about_unchecked_writes() {
        let checked = report(3, Some(StateCheck::Equal), false);
        assert_eq!(super::unchecked(&checked), None);
        assert!(!super::report(&checked).contains("not compared"));
    }

    #[test]
    fn an_equivalent_report_says_how_many_writes_went_unchecked_and_why() {
        // A side without a state dump: every `put` is unchecked, for that reason.
        let blind = report(3, Some(StateCheck::Unchecked), false);
        let text = super::report(&blind);
        assert!(
            text.ends_with(
                "\nwarning: the stored state of 3 of 3 writes was not compared (put 3): 3 because \
             a side could not tell its stored state (a target without a state dump, or a \
             recording without states). Those writes were judged on their answers alone.\n\n\
             EQUIVALENT\n"
            ),
            "{text}"
        );
        // The state check off (no state read at all) and a keyless write: the other reason.
        let off = report(2, None, true);
        assert_eq!(
            super::unchecked(&off).unwrap(),
            "the stored state of 3 of 3 writes was not compared (put 2, wipe 1): 3 because \
             the state check was off (--no-state-check) or the write had no key. Those writes \
             were judged on their answers alone."
        );
        // Both reasons at once, each counted.
        let both = report(2, Some(StateCheck::Unchecked), true);
        let said = super::unchecked(&both).unwrap();
        assert!(
            said.contains(
                "(put 2, wipe 1): 2 because a side could not tell its stored state (a target \
             without a state dump, or a recording without states); 1 because the state check \
             was off"
            ),
            "{said}"
        );
    }
}
