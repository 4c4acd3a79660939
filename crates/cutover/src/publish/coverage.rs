//! The coverage in each document: the share of the domain's declared features the traffic
//! exercised, and every gap, by operation (the whole table is `cutover coverage`'s).

use crate::coverage::Coverage;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One line: features exercised of those declared.
pub fn summary(c: &Coverage) -> String {
    let (declared, exercised) = c.counts();
    format!(
        "{exercised} of {declared} declared features of the {} domain exercised ({:.1}%), {} gaps",
        c.domain,
        c.share() * 100.0,
        declared - exercised
    )
}

/// The gaps by operation, in declared order.
fn gaps(c: &Coverage) -> Vec<(String, Vec<String>)> {
    let mut by_op: BTreeMap<usize, (String, Vec<String>)> = BTreeMap::new();
    for gap in c.gaps() {
        let at = c
            .rows
            .iter()
            .position(|r| r.op == gap.op)
            .unwrap_or(usize::MAX);
        let entry = by_op
            .entry(at)
            .or_insert_with(|| (gap.op.clone(), Vec::new()));
        entry.1.push(format!("{} {}", gap.group.as_str(), gap.name));
    }
    by_op.into_values().collect()
}

/// The Markdown section.
pub fn markdown(out: &mut String, c: &Coverage) {
    let _ = writeln!(out, "\n### Coverage\n\n{}\n", summary(c));
    let gaps = gaps(c);
    if !gaps.is_empty() {
        let _ = writeln!(out, "| operation | never exercised |\n|---|---|");
        for (op, names) in gaps {
            let _ = writeln!(out, "| {op} | {} |", names.join(", "));
        }
    }
}

/// The HTML section (`esc` escapes text).
pub fn html(out: &mut String, c: &Coverage, esc: fn(&str) -> String) {
    let _ = write!(
        out,
        "<section id=\"coverage\"><h2>Coverage</h2><p>{}</p>",
        esc(&summary(c))
    );
    let gaps = gaps(c);
    if !gaps.is_empty() {
        out.push_str(
            "<table id=\"coverage-gaps\"><tr><th>operation</th><th>never exercised</th></tr>",
        );
        for (op, names) in gaps {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&op),
                esc(&names.join(", "))
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>\n");
}
