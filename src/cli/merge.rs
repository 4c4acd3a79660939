//! `cutover merge`: folds the outputs of a sharded replay into the output of one run.

use super::Shared;

use super::{Exit, Printing};
use anyhow::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards' output directories (each with report.json and results.jsonl).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Directory for the merged results.jsonl and report.json.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    printing: Printing,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    let out = cutover::RunDir::new(&args.out);
    let report = cutover::rundir::merge::merge(&args.shards, &out)?;
    out.write_report(&report)?;
    super::replay::publish(&report, args.printing)
}
