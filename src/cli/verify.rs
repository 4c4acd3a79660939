//! `cutover verify`: every aggregate of two stores compared (docs/src/verify.md); writes
//! `OUT/results.jsonl` (a line per key that is not equal) and `OUT/report.json`, prints the
//! report. A run that stops keeps `OUT/verify.checkpoint.json`; `--resume` goes on from it.

use super::{Exit, Printing, Shared};
use anyhow::{Context, Result};
use cutover::cassette::{Header, Kind};
use cutover::normalize::Rules;
use cutover::replay::shard::Shard;
use cutover::replay::{Pair, ReplayRun, RequestResult, Sink};
use cutover::report::{Report, Summary};
use cutover::rundir::ResultsWriter;
use cutover::verify::{self, Checkpoint, Output, VerifyOptions, OP};
use cutover::RunDir;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The legacy store: a spec whose target enumerates its keys (`sql:`, `mongodb:`,
    /// `conversations-mongodb:`, `conversations-postgres:`, `exec:` or `http:` adapters
    /// that declare `supports.keys`, `memory`).
    #[arg(long)]
    legacy: String,
    /// The candidate store, as for --legacy.
    #[arg(long)]
    candidate: String,
    /// A rules file (TOML): rules with `on = "state"` and `op = "verify"` or no `op` apply.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Directory for results.jsonl, report.json and, while unfinished, the checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Keys per dump batch (and half a page of keys).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Per-call time limit (a page of keys, a batch dump, a checksum), e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    timeout: std::time::Duration,
    /// Only the keys of shard i of n (e.g. 2/4); `cutover merge` folds the shards.
    #[arg(long)]
    shard: Option<Shard>,
    /// Go on from the checkpoint a stopped verify left in --out, judging no key twice.
    #[arg(long)]
    resume: bool,
    /// Dump every key even where both stores declare checksums of one form.
    #[arg(long)]
    no_hashing: bool,
    /// Keys per checksummed segment of the hashing path.
    #[arg(long, default_value_t = 10_000)]
    segment: u64,
    #[command(flatten)]
    printing: Printing,
}

/// Keys between two checkpoints written to disk (and at every hashed range and the end).
const CHECKPOINT_EVERY: u64 = 1_000;

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let runtime = &cx.runtime;
    let pair = runtime.block_on(async {
        let (legacy, candidate) = tokio::join!(
            cx.registry.open(&args.legacy),
            cx.registry.open(&args.candidate)
        );
        anyhow::Ok(Pair {
            legacy: legacy.context("--legacy")?,
            candidate: candidate.context("--candidate")?,
        })
    })?;
    let rules = args
        .rules
        .as_ref()
        .map(Rules::load)
        .transpose()?
        .map(Arc::new);
    let options = VerifyOptions {
        batch: usize::try_from(args.batch).unwrap_or(usize::MAX),
        timeout: args.timeout,
        rules,
        shard: args.shard,
        hashing: !args.no_hashing,
        segment: args.segment,
        ..VerifyOptions::default()
    };
    let dir = RunDir::new(&args.out);
    let report = runtime.block_on(verify_to(&pair, options, &dir, args.resume))?;
    super::replay::publish(&report, args.printing)
}

/// Verifies `pair` into the run directory `dir` (going on from its checkpoint with
/// `resume`) and writes its report, for [`super::replay::publish`] to print.
pub async fn verify_to(
    pair: &Pair,
    options: VerifyOptions,
    dir: &RunDir,
    resume: bool,
) -> Result<Report> {
    let (at, mut written) = start(dir, resume)?;
    let options = VerifyOptions {
        resume: at,
        ..options
    };
    let run = verify::verify(pair, &options, &mut written).await?;
    if run.stopped.is_some() {
        written.save()?;
    }
    let Written {
        mut writer,
        summary,
        ..
    } = written;
    if run.stopped.is_some() {
        // The results so far are published; `.partial` and the checkpoint stay to resume.
        writer.snapshot()?;
    } else {
        writer.commit()?;
        dir.remove_checkpoint()?;
    }
    let report = report(summary, pair, &run, options.shard);
    dir.write_report(&report)?;
    Ok(report)
}

/// The output of a new run, or of one resumed from its checkpoint (its results so far
/// folded again).
fn start(dir: &RunDir, resume: bool) -> Result<(Option<Checkpoint>, Written)> {
    if !resume {
        dir.create()?;
        let writer = dir.results_writer()?;
        return Ok((None, Written::new(dir, writer, Summary::new())));
    }
    let (at, kept, writer) = dir
        .resume_verify()
        .with_context(|| format!("resuming the verify in {}", dir.path().display()))?;
    let mut summary = Summary::new();
    for result in &kept {
        summary.add(result);
    }
    summary.add_equal(OP, Kind::Read, at.info.keys.equal);
    Ok((Some(at), Written::new(dir, writer, summary)))
}

/// The report of a verify: the summary's counts with the verify's own section.
fn report(summary: Summary, pair: &Pair, run: &verify::VerifyRun, shard: Option<Shard>) -> Report {
    let domain = pair.legacy.domain().unwrap_or("verify").to_string();
    let replay_run = ReplayRun {
        requests: run.info.keys.total(),
        elapsed: run.elapsed,
        truncation: None,
        rules: run.rules.clone(),
        stopped: run.stopped.clone(),
    };
    let mut report = summary.finish(
        &Header::new(domain),
        "(verify)",
        pair.legacy.name(),
        pair.candidate.name(),
        &replay_run,
    );
    report.verify = Some(run.info.clone());
    if run.stopped.is_some() && report.verdict == cutover::report::Verdict::Equivalent {
        // Keys past the stop were not compared.
        report.verdict = cutover::report::Verdict::Inconclusive;
    }
    report.shards = shard.iter().map(|s| s.to_string()).collect();
    report
}

/// The run directory's side of a verify: results that are not equal written, every key
/// folded into the summary, checkpoints kept on disk.
struct Written {
    dir: RunDir,
    writer: ResultsWriter,
    summary: Summary,
    since_checkpoint: u64,
    /// The last checkpoint reached, written to disk every [`CHECKPOINT_EVERY`] keys and
    /// when a run stops (every result before it is written, none after it).
    last: Option<Checkpoint>,
}

impl Written {
    fn new(dir: &RunDir, writer: ResultsWriter, summary: Summary) -> Written {
        Written {
            dir: dir.clone(),
            writer,
            summary,
            since_checkpoint: 0,
            last: None,
        }
    }
}

impl Output for Written {
    fn result(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.since_checkpoint += 1;
        self.summary.add(result);
        self.writer.accept(result)
    }

    fn equal(&mut self, n: u64) -> std::io::Result<()> {
        self.since_checkpoint += n;
        self.summary.add_equal(OP, Kind::Read, n);
        Ok(())
    }

    fn reached(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()> {
        let hashed = checkpoint
            .info
            .ranges
            .last()
            .is_some_and(|r| r.path == verify::Path::Hash);
        self.last = Some(checkpoint.clone());
        if self.since_checkpoint < CHECKPOINT_EVERY && !checkpoint.done && !hashed {
            return Ok(());
        }
        self.save()
    }
}

impl Written {
    /// Writes the last checkpoint reached, with the results written up to it.
    fn save(&mut self) -> std::io::Result<()> {
        let Some(last) = &self.last else {
            return Ok(());
        };
        self.since_checkpoint = 0;
        let at = Checkpoint {
            results_bytes: self.writer.written().map_err(std::io::Error::other)?,
            ..last.clone()
        };
        self.dir
            .write_checkpoint(&at)
            .map_err(std::io::Error::other)
    }
}
