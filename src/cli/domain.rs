//! `cutover domain`: domain declarations (`docs/src/domain.md`). `infer` drafts one from a
//! recorded cassette, every guess marked `# guess:` for review.

use super::{Exit, Shared};
use anyhow::{bail, Context, Result};
use cutover::cassette::Reader;
use cutover::declaration::infer::Inferrer;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Draft a declaration from a recorded cassette: operations, kinds, keys, argument types
    /// and classes, error kinds, list keys and orders, every guess marked for review.
    Infer(InferArgs),
}

#[derive(Debug, clap::Args)]
pub struct InferArgs {
    /// The recorded cassette (JSON Lines, optionally gzip).
    cassette: PathBuf,
    /// The declaration to write (TOML).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite FILE when it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    match args.command {
        Command::Infer(args) => infer(args),
    }
}

/// Writes the draft and says how many operations and guesses it has.
fn infer(args: InferArgs) -> Result<Exit> {
    if args.out.exists() && !args.force {
        bail!(
            "{} exists; give --force to overwrite it",
            args.out.display()
        );
    }
    let mut reader = Reader::open(&args.cassette)?;
    let mut inferrer = Inferrer::new(&reader.header().domain);
    while let Some(request) = reader.next_request()? {
        inferrer.observe(&request);
    }
    if let Some(t) = reader.truncation() {
        eprintln!(
            "warning: cassette {} line {}: truncated last line ({} bytes) skipped",
            args.cassette.display(),
            t.line,
            t.bytes
        );
    }
    let draft = inferrer.finish();
    let source: String = args
        .cassette
        .display()
        .to_string()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let text = format!("# Drafted from {source}.\n{}", draft.to_toml());
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    super::print(&format!(
        "{} operations, {} guesses to review → {}\n",
        draft.declaration.ops.len(),
        draft.guesses,
        args.out.display()
    ))?;
    Ok(Exit::Equivalent)
}
