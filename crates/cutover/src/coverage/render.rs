//! The coverage as text: one line per operation: its requests, how many of its declared
//! features were exercised, and each one never exercised (a gap).

use super::Coverage;
use std::fmt::Write;

/// The coverage table and its gaps, for people.
pub fn render(coverage: &Coverage) -> String {
    let (declared, exercised) = coverage.counts();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Coverage ({}): {exercised} of {declared} declared features exercised ({:.1}%), {} gaps",
        coverage.domain,
        coverage.share() * 100.0,
        declared - exercised
    );
    let width = coverage
        .rows
        .iter()
        .map(|r| r.op.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        out,
        "  {:<width$}  {:>8}  {:>9}  never exercised",
        "operation", "requests", "exercised"
    );
    for row in &coverage.rows {
        let hit = row.features.iter().filter(|f| f.count > 0).count();
        let missing: Vec<String> = row
            .features
            .iter()
            .filter(|f| f.count == 0)
            .map(|f| format!("{} {}", f.group.as_str(), f.name))
            .collect();
        let requests = if row.op == super::STORED {
            "-".to_string()
        } else {
            row.requests.to_string()
        };
        let _ = writeln!(
            out,
            "  {:<width$}  {:>8}  {:>9}  {}",
            row.op,
            requests,
            format!("{hit}/{}", row.features.len()),
            if missing.is_empty() {
                "-".to_string()
            } else {
                missing.join(", ")
            }
        );
    }
    for (op, n) in &coverage.undeclared {
        let _ = writeln!(
            out,
            "  {op}: {n} requests of an operation the domain does not declare"
        );
    }
    if coverage.unobserved > 0 {
        let _ = writeln!(
            out,
            "  {} requests without a legacy outcome were not counted",
            coverage.unobserved
        );
    }
    out
}
