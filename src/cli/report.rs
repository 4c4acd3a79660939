//! `cutover report`: a replay's output (optionally judged by a policy) as Markdown, a
//! self-contained HTML page, JUnit XML or JSON.

use super::Shared;

use super::Exit;
use anyhow::{Context, Result};
use cutover::gate::{self, Policy};
use cutover::publish;
use cutover::publish::html::Workspace;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    Markdown,
    Html,
    Junit,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A replay's output directory, or its report.json (results.jsonl beside it).
    report: PathBuf,
    #[arg(long, value_enum)]
    format: Document,
    /// Judge by this policy and show the gate's verdict and reasons.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// The date to judge on (YYYY-MM-DD), as for `gate`.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// Write here (atomically) instead of to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    // One pass over results.jsonl: the divergent results the gate needs, and for the HTML
    // page every result folded into its workspace.
    let mut workspace = (args.format == Document::Html).then(Workspace::default);
    let (_, report, divergent) = super::gate::load(&args.report, workspace.as_mut())?;
    let decision = match &args.policy {
        Some(path) => {
            let policy = Policy::load(path)?;
            let today = args
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            Some(gate::evaluate(&report, &divergent, &policy, today))
        }
        None => None,
    };
    let d = decision.as_ref();
    let text = match args.format {
        Document::Markdown => publish::markdown::render(&report, d),
        Document::Html => publish::html::render(&report, d, workspace.as_ref()),
        Document::Junit => publish::junit::render(&report, d),
        Document::Json => {
            let value = match d {
                Some(d) => serde_json::json!({ "report": report, "decision": d }),
                None => serde_json::to_value(&report)?,
            };
            serde_json::to_string_pretty(&value)? + "\n"
        }
    };
    match &args.out {
        Some(path) => cutover::rundir::write_atomically(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => super::print(&text)?,
    }
    Ok(if publish::passed(&report, d) {
        Exit::Equivalent
    } else {
        Exit::Divergent
    })
}
