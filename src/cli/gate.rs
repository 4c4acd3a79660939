//! `cutover gate`: judges a replay's output (`report.json` and `results.jsonl`) by a policy;
//! APPROVED exits 0, REJECTED exits 1.

use super::Shared;

use super::{Exit, Format};
use anyhow::{bail, Context, Result};
use cutover::gate::{self, GateVerdict, Policy};
use cutover::publish::html::Workspace;
use cutover::replay::{RequestResult, Status};
use cutover::report::Report;
use cutover::RunDir;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A replay's output directory, or its report.json (results.jsonl must sit beside it).
    report: PathBuf,
    /// The policy file (TOML).
    #[arg(long)]
    policy: PathBuf,
    /// Judge as on this date (YYYY-MM-DD), for accepted differences' expiry; default today (UTC).
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// Also write the evidence bundle (the inputs' hashes, copies, the decision and its
    /// documents) into this directory, which must not exist.
    #[arg(long)]
    evidence: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    let policy = Policy::load(&args.policy)?;
    // The evidence bundle's page needs every result: folded while the gate reads them.
    let mut workspace = args.evidence.as_ref().map(|_| Workspace::default());
    let (dir, report, divergent) = load(&args.report, workspace.as_mut())?;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let decision = gate::evaluate(&report, &divergent, &policy, today);
    if let (Some(out), Some(workspace)) = (&args.evidence, &workspace) {
        cutover::publish::evidence::write(out, &dir, &report, &decision, &args.policy, workspace)
            .with_context(|| format!("writing the evidence bundle {}", out.display()))?;
        eprintln!("evidence bundle written to {}", out.display());
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&decision)? + "\n",
        Format::Human => gate::render(&decision),
    };
    super::print(&text)?;
    Ok(match decision.verdict {
        GateVerdict::Approved => Exit::Equivalent,
        GateVerdict::Rejected => Exit::Divergent,
    })
}

/// A replay's output directory, its report and its divergent results (all the gate needs
/// of them), from a directory or a report.json with results.jsonl beside it; every result
/// also folded into `workspace` when there is one (the HTML page's), in the same pass.
pub fn load(
    path: &Path,
    mut workspace: Option<&mut Workspace>,
) -> Result<(PathBuf, Report, Vec<RequestResult>)> {
    let run = RunDir::locate(path);
    let report = run.read_report()?;
    let mut results = run.results().with_context(|| {
        format!(
            "reading {} (every result must sit beside the report)",
            run.results_path().display()
        )
    })?;
    let mut divergent = Vec::new();
    let mut seen = 0u64;
    for result in results.by_ref() {
        let result = result?;
        seen += 1;
        if let Some(ws) = workspace.as_deref_mut() {
            ws.add(&result);
        }
        if result.status == Status::Divergent {
            divergent.push(result);
        }
    }
    // A verify lists only the keys that are not equal.
    let listed = match report.verify {
        Some(_) => report.totals.total - report.totals.equal,
        None => report.totals.total,
    };
    if seen != listed {
        bail!(
            "{} holds {seen} results but the report counts {listed} {}: they are not from one run",
            results.path().display(),
            match report.verify {
                Some(_) => "keys that are not equal",
                None => "requests",
            }
        );
    }
    Ok((run.path().to_path_buf(), report, divergent))
}
