//! `cutover diff`: compares two JSON documents and prints the divergences.

use super::Shared;

use super::{Exit, Format};
use anyhow::{Context, Result};
use bumpalo::Bump;
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
    // The two documents are read, and parsed, on two threads.
    let (left, right) = in_parallel(|| read(&args.left), || read(&args.right));
    let (left, right) = (left?, right?);
    let rules = args
        .rules
        .as_ref()
        .map(Rules::load)
        .transpose()?
        .map(|r| std::sync::Arc::new(r).run());
    let found = match &rules {
        // Rules rewrite values: serde_json's.
        Some(rules) => {
            let (l, r) = in_parallel(
                || as_value(&args.left, &left),
                || as_value(&args.right, &right),
            );
            let (mut l, mut r) = (l?, r?);
            let found = rules.compare(&args.op, Part::Outcome, false, &mut l, &mut r);
            // The documents may be large: the process is about to exit, so skip freeing them.
            std::mem::forget((l, r));
            found
        }
        // Otherwise the documents are parsed for comparison only, borrowing their text.
        None => {
            // Nodes take about 1.4 times their text (`benches/large_json.py`): room for
            // them in one piece of memory, of which only what is used is touched.
            let (mut left_arena, mut right_arena) = (
                Bump::with_capacity(left.len() * 2),
                Bump::with_capacity(right.len() * 2),
            );
            let (l, r) = {
                let (la, ra) = (&mut left_arena, &mut right_arena);
                in_parallel(
                    || as_node(&args.left, &left, la),
                    || as_node(&args.right, &right, ra),
                )
            };
            let found = diff::values(&l?, &r?);
            std::mem::forget((left_arena, right_arena));
            found
        }
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
    std::mem::forget((left, right));
    Ok(exit)
}

/// Runs `a` on a thread of its own and `b` on this one.
fn in_parallel<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|s| {
        let a = s.spawn(a);
        let b = b();
        (a.join().expect("the parser thread does not panic"), b)
    })
}

/// Reads a JSON document's text. The bytes are checked as UTF-8 once: the parsers then
/// check no string again (9% of serde_json's instructions, `cargo bench --bench
/// instructions`).
fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let before = &bytes[..e.utf8_error().valid_up_to()];
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
    })
}

/// The document as serde_json's value, for rules to rewrite.
fn as_value(path: &Path, text: &str) -> Result<Value> {
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

/// The document parsed for comparison into `arena`, borrowing `text`.
fn as_node<'a>(path: &Path, text: &'a str, arena: &'a mut Bump) -> Result<diff::Node<'a>> {
    diff::parse(text, arena).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))
}
