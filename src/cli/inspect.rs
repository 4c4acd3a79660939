//! `cutover inspect`: a summary of a cassette.

use super::Shared;

use super::{Exit, Format};
use anyhow::Result;
use cutover::cassette::inspect;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cassette (JSON Lines, optionally gzip).
    cassette: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    let summary = inspect::inspect(&args.cassette)?;
    if let Some(t) = &summary.truncated {
        eprintln!(
            "warning: cassette {} line {}: truncated last line ({} bytes) skipped",
            args.cassette.display(),
            t.line,
            t.bytes
        );
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
        Format::Human => inspect::render(&summary),
    };
    super::print(&text)?;
    Ok(Exit::Equivalent)
}
