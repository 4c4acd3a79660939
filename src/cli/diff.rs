//! `cutover diff`: compares two JSON documents and prints the divergences.

use super::Shared;

use super::{Exit, Format};
use anyhow::{Context, Result};
use cutover::diff;
use cutover::normalize::{Part, Rules};
use cutover::report::render;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The legacy (left) document.
    left: PathBuf,
    /// The candidate (right) document.
    right: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// A rules file (TOML) applied to both documents first.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The operation whose rules apply, besides the global ones.
    #[arg(long, default_value = "")]
    op: String,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    // The two documents are read and parsed on two threads.
    let (left, right) = std::thread::scope(|s| {
        let left = s.spawn(|| load(&args.left));
        let right = load(&args.right);
        (
            left.join().expect("the parser thread does not panic"),
            right,
        )
    });
    let (mut left, mut right) = (left?, right?);
    let rules = args
        .rules
        .as_ref()
        .map(Rules::load)
        .transpose()?
        .map(|r| std::sync::Arc::new(r).run());
    let found = match &rules {
        Some(rules) => rules.compare(&args.op, Part::Outcome, false, &mut left, &mut right),
        None => diff::values(&left, &right),
    };
    match args.format {
        Format::Json => {
            let mut out = json!({ "equal": found.is_equal(), "divergences": found.divergences });
            if found.omitted > 0 {
                out["omitted"] = json!(found.omitted);
            }
            if let Some(rules) = &rules {
                out["rules"] = json!(rules.usage());
            }
            super::print(&format!("{out}\n"))?;
        }
        Format::Human if found.is_equal() => super::print("equal\n")?,
        Format::Human => {
            let mut text: String = found.divergences.iter().map(render::divergence).collect();
            let n = found.divergences.len() as u64 + found.omitted;
            let omitted = if found.omitted > 0 {
                format!(" ({} not shown)", found.omitted)
            } else {
                String::new()
            };
            text.push_str(&format!("\n{n} divergence(s){omitted}\n"));
            super::print(&text)?;
        }
    }
    let exit = if found.is_equal() {
        Exit::Equivalent
    } else {
        Exit::Divergent
    };
    // The documents may be large: the process is about to exit, so skip freeing them.
    std::mem::forget((left, right));
    Ok(exit)
}

/// Reads a JSON document. The bytes are checked as UTF-8 once, then parsed as text: the
/// parser then checks no string again (9% of the parse's instructions, `cargo bench --bench
/// instructions`).
fn load(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        anyhow::anyhow!(
            "{} line {line} column {column}: not UTF-8 text (a JSON document is UTF-8)",
            path.display()
        )
    })?;
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .map_or(message.as_str(), |i| &message[..i]);
        anyhow::anyhow!(
            "{} line {} column {}: {message}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}
