//! `cutover probe`: writes a cassette with its probes (requests derived from the recorded
//! ones to reach the edges the traffic missed, see `docs/src/probes.md`) appended, and says how
//! many of each kind.

use super::Shared;

use super::{Exit, Format};
use anyhow::{Context, Result};
use cutover::probe::{self, Appended};
use cutover::Registry;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The recorded cassette (JSON Lines, optionally gzip).
    cassette: PathBuf,
    /// The cassette to write: the recorded requests, then the probes (`.gz` for gzip).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let appended = append(&cx.registry, &args.cassette, &args.out)?;
    let text = match args.format {
        Format::Json => {
            let json = serde_json::json!({
                "cassette": args.out.display().to_string(),
                "recorded": appended.recorded,
                "probes": appended.probes(),
                "kinds": appended.kinds,
            });
            serde_json::to_string_pretty(&json)? + "\n"
        }
        Format::Human => render(&appended, &args.out),
    };
    super::print(&text)?;
    Ok(Exit::Equivalent)
}

/// Writes `output`, `input` with its probes appended; warns of a truncated last line.
pub(super) fn append(registry: &Registry, input: &Path, output: &Path) -> Result<Appended> {
    let appended = probe::append(input, output, |domain| registry.prober(domain))
        .with_context(|| format!("deriving the probes of {}", input.display()))?;
    if let Some(line) = appended.truncated_line {
        eprintln!(
            "warning: cassette {} line {line}: truncated last line skipped",
            input.display()
        );
    }
    Ok(appended)
}

/// `N probes appended to M recorded requests`, then one line per kind.
pub(super) fn render(appended: &Appended, output: &Path) -> String {
    let mut out = format!(
        "{}: {} recorded requests, {} probes appended\n",
        output.display(),
        appended.recorded,
        appended.probes()
    );
    for (kind, n) in &appended.kinds {
        let _ = writeln!(out, "{n:>6}  {kind}");
    }
    out
}
