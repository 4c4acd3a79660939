//! `cutover replay`: replays a cassette on two targets, writes `OUT/results.jsonl` and
//! `OUT/report.json`, prints the report.

use super::Shared;

use super::progress::Progress;
use super::{Exit, Printing};
use anyhow::{Context, Result};
use cutover::cassette::Reader;
use cutover::coverage::observe::Observed;
use cutover::digest::FileRef;
use cutover::normalize::suggest::Suggestion;
use cutover::normalize::Rules;
use cutover::replay::shard::{Role, Shard};
use cutover::replay::{Pair, ReplayOptions};
use cutover::report::{self, replay_report, Inputs, Replayed, Verdict};
use cutover::targets::Target;
use cutover::{Registry, RunDir};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cassette to replay (JSON Lines, optionally gzip).
    cassette: PathBuf,
    /// Directory for results.jsonl and report.json (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    targets: Targets,
    /// Requests in flight at once; requests for one key always run in order.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    concurrency: u64,
    /// Per-call time limit, after which the request is inconclusive (e.g. 500ms, 30s).
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    timeout: std::time::Duration,
    /// Do not read back and compare the stored state after writes.
    #[arg(long)]
    no_state_check: bool,
    /// Replay the legacy against a second instance of itself this many times first; what
    /// differs there (generated ids, clocks) is noise, not divergence.
    #[arg(long, default_value_t = 0)]
    noise_runs: u32,
    /// Replay only the keys of shard i of n (e.g. 2/4); shard 1 also answers the keyless
    /// requests. `cutover merge` folds the shards' outputs into one.
    #[arg(long)]
    shard: Option<Shard>,
    /// Infrastructure failures of one side in a row after which that side is taken for
    /// dead: nothing more is sent, what is left is inconclusive, and the exit is 2 (0: never).
    #[arg(long, default_value_t = 5)]
    max_infra_failures: usize,
    /// For a candidate fed by a sync: how long its data may take to reflect a write (e.g.
    /// 2s). A candidate read or state read-back that differs is asked again until it
    /// agrees or this window ends; the lag is reported (docs/src/settle.md). The candidate's
    /// own window, where it declares one, wins.
    #[arg(long, value_parser = super::parse_duration)]
    settle: Option<std::time::Duration>,
    /// The legacy's events broker, `nats://HOST:PORT/SUBJECT_PREFIX[?key=FIELD&window=20ms]`:
    /// each request's events are collected from a subscription to `SUBJECT_PREFIX.>`, and
    /// read with the aggregate at publication (docs/src/events.md).
    #[arg(long, value_name = "URL")]
    legacy_events: Option<String>,
    /// The candidate's events broker, as for --legacy-events.
    #[arg(long, value_name = "URL")]
    candidate_events: Option<String>,
    #[command(flatten)]
    races: super::races::RaceArgs,
    #[command(flatten)]
    printing: Printing,
}

/// The two targets and the rules that compare them, as every replaying command takes them.
#[derive(Debug, clap::Args)]
pub struct Targets {
    /// The legacy target: `recorded` (answers from the cassette), `memory[:latency=10ms]`,
    /// `exec:PROGRAM ARGS...` or `http:URL` (an adapter, docs/src/protocol.md),
    /// `conversations-mongodb:uri=URI` or `conversations-postgres:url=URL`.
    #[arg(long, default_value = "recorded")]
    legacy: String,
    /// The candidate target, as for --legacy.
    #[arg(long, default_value = "memory")]
    candidate: String,
    /// A rules file (TOML) of declared, counted normalizations.
    #[arg(long)]
    rules: Option<PathBuf>,
}

impl Targets {
    /// Opens both targets (an adapter is started and its handshake read).
    pub async fn pair(&self, registry: &Registry) -> Result<Pair> {
        let (legacy, candidate) =
            tokio::join!(registry.open(&self.legacy), registry.open(&self.candidate));
        Ok(Pair {
            legacy: legacy.context("--legacy")?,
            candidate: candidate.context("--candidate")?,
        })
    }

    /// The legacy twice: for noise runs.
    async fn legacy_twice(&self, registry: &Registry) -> Result<Pair> {
        let (legacy, again) =
            tokio::join!(registry.open(&self.legacy), registry.open(&self.legacy));
        Ok(Pair {
            legacy: legacy.context("--legacy")?,
            candidate: again.context("--legacy")?,
        })
    }

    pub fn rules(&self) -> Result<Option<std::sync::Arc<Rules>>> {
        Ok(self
            .rules
            .as_ref()
            .map(Rules::load)
            .transpose()?
            .map(std::sync::Arc::new))
    }
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let options = ReplayOptions {
        concurrency: usize::try_from(args.concurrency).unwrap_or(usize::MAX),
        timeout: args.timeout,
        check_state: !args.no_state_check,
        rules: args.targets.rules()?,
        shard: args.shard,
        max_infra_failures: args.max_infra_failures,
        ..ReplayOptions::default()
    };
    let runtime = &cx.runtime;
    let pair = runtime.block_on(args.targets.pair(&cx.registry))?;
    let pair = runtime.block_on(watched(pair, &args))?;
    let noise = runtime.block_on(noise_runs(&cx.registry, &args, &options))?;
    // The noise runs compare the legacy with itself: no sync, no settle window.
    let options = ReplayOptions {
        noise: Some(std::sync::Arc::new(cutover::normalize::Noise::from_groups(
            &noise,
        )))
        .filter(|n| !n.is_empty()),
        settle: args.settle,
        ..options
    };
    let races = args.races.options(
        None,
        options.timeout,
        options.max_infra_failures,
        options.rules.clone(),
    );
    let (registry, cassette, out) = (
        cx.registry.clone(),
        args.cassette.clone(),
        RunDir::new(&args.out),
    );
    let report = on_worker(runtime, async move {
        replay_to(
            &registry,
            &cassette,
            &pair,
            &options,
            races.as_ref(),
            &out,
            noise,
        )
        .await
    })?;
    publish(&report, args.printing)
}

/// Runs `work` as a task on one of the runtime's worker threads, not on the thread that
/// blocks on it: the replay's I/O completes on the workers, and a task there goes on
/// without a hand-off to the blocked thread at every answer (`docs/src/measuring.md`).
fn on_worker<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    match runtime.block_on(runtime.spawn(work)) {
        Ok(done) => done,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the replay's task ended without finishing: {e}"),
        },
    }
}

/// Each side with an events broker wrapped to collect its requests' events from it.
async fn watched(pair: Pair, args: &Args) -> Result<Pair> {
    async fn side(target: Arc<dyn Target>, url: &Option<String>) -> Result<Arc<dyn Target>> {
        Ok(match url {
            Some(url) => Arc::new(
                cutover_events::watch(target, url)
                    .await
                    .map_err(anyhow::Error::msg)?,
            ),
            None => target,
        })
    }
    let (legacy, candidate) = tokio::join!(
        side(pair.legacy, &args.legacy_events),
        side(pair.candidate, &args.candidate_events)
    );
    Ok(Pair {
        legacy: legacy.context("--legacy-events")?,
        candidate: candidate.context("--candidate-events")?,
    })
}

/// Replays the legacy against a fresh instance of itself `--noise-runs` times and returns
/// every (operation, path pattern, class) that differed, with counts.
async fn noise_runs(
    registry: &Registry,
    args: &Args,
    options: &ReplayOptions,
) -> Result<Vec<Suggestion>> {
    type Key = (String, String, String, Option<String>);
    let mut groups: std::collections::BTreeMap<Key, Suggestion> = Default::default();
    for _ in 0..args.noise_runs {
        let pair = args.targets.legacy_twice(registry).await?;
        let cassette = Reader::open(&args.cassette)?;
        // Each replay makes its own `RuleRun`: the noise runs' counts and learned
        // identifiers never reach the replay's.
        let report = replay_report(cassette, &pair, options, &mut [])
            .await?
            .report;
        for s in report.suggested_rules {
            let key = (
                s.op.clone(),
                s.path.clone(),
                s.class.to_string(),
                s.detail.map(|d| d.to_string()),
            );
            match groups.get_mut(&key) {
                Some(known) => known.count += s.count,
                None => {
                    groups.insert(key, s);
                }
            }
        }
    }
    Ok(groups.into_values().collect())
}

/// Replays `cassette` on `pair` and writes its run directory `out` (`results.jsonl`,
/// `report.json`); the report is for [`publish`] to print and turn into an exit.
pub async fn replay_to(
    registry: &Registry,
    cassette_path: &Path,
    pair: &Pair,
    options: &ReplayOptions,
    races: Option<&cutover::races::RaceOptions>,
    out: &RunDir,
    noise: Vec<Suggestion>,
) -> Result<report::Report> {
    // A first pass finds any malformed line before anything is replayed or written, and
    // counts what this run (or shard) will report.
    let (total, keyless_until) = count_requests(cassette_path, options.shard)?;
    let options = &ReplayOptions {
        shard: options.shard.map(|s| s.knowing_last_keyless(keyless_until)),
        ..options.clone()
    };
    let cassette = Reader::open(cassette_path)?;
    out.create()?;
    let mut results = out.results_writer()?;
    let mut progress = Progress::new(total);
    // Coverage is counted on the legacy's answers as they pass (for a domain that
    // declares its features); the race check afterwards runs on the bare pair.
    let domain = &cassette.header().domain;
    let registry = registry
        .clone()
        .with_handshake(domain, pair.legacy.as_ref())?
        .with_handshake(domain, pair.candidate.as_ref())?;
    // A declared list key aligns that operation's answers (`docs/src/domain.md`).
    let declaration = registry.domain(domain).and_then(|d| d.declaration());
    let list_keys = declaration
        .as_ref()
        .map(|d| d.list_keys())
        .unwrap_or_default();
    let list_orders = declaration
        .as_ref()
        .map(|d| d.list_orders())
        .unwrap_or_default();
    let serial_ops = declaration
        .as_ref()
        .map(|d| d.generated().creates.into_keys().collect())
        .unwrap_or_default();
    let options = &ReplayOptions {
        list_keys,
        list_orders,
        serial_ops,
        ..options.clone()
    };
    let observed = registry
        .tally(domain)
        .map(|tally| Arc::new(Observed::new(pair.legacy.clone(), tally, options.shard)));
    let counting = Pair {
        legacy: observed
            .clone()
            .map_or_else(|| pair.legacy.clone(), |o| o as Arc<dyn Target>),
        candidate: pair.candidate.clone(),
    };
    // Store-generated ids are paired with the recorded ones (docs/src/cassette.md).
    let counting = match registry.domain(domain).and_then(|kit| kit.declaration()) {
        Some(declaration) => counting.with_identities(&declaration.generated()),
        None => counting,
    };
    let replayed = replay_report(
        cassette,
        &counting,
        options,
        &mut [&mut results, &mut progress],
    )
    .await;
    progress.finish();
    let Replayed {
        mut report, run, ..
    } = replayed?;
    results.commit()?;
    if let Some(cut) = &run.truncation {
        eprintln!(
            "warning: cassette {} line {}: truncated last line ({} bytes) skipped",
            cassette_path.display(),
            cut.line,
            cut.bytes
        );
    }
    report.noise = noise;
    report.coverage = observed.map(|o| o.coverage());
    report.inputs = Some(Inputs {
        cassette: FileRef::of(cassette_path)
            .with_context(|| format!("hashing {}", cassette_path.display()))?,
        rules: options.rules.as_ref().and_then(|r| r.source.clone()),
        tool: env!("CARGO_PKG_VERSION").to_string(),
    });
    report.shards = options.shard.iter().map(|s| s.to_string()).collect();
    if let (Some(races), None) = (races, &report.stopped) {
        let checked = super::races::check(cassette_path, pair, races, options.shard).await?;
        report = report.with_races(checked);
    }
    out.write_report(&report)?;
    Ok(report)
}

/// Prints `report` (already written in its run directory) and turns its verdict into the
/// exit code; a run (or a merged shard) that stopped because a side stopped answering is
/// inconclusive (2) whatever its verdict.
pub(super) fn publish(report: &report::Report, printing: Printing) -> Result<Exit> {
    super::print(&printing.render(report)?)?;
    if let Some(stop) = &report.stopped {
        eprintln!("error: {stop} (inconclusive)");
        return Ok(Exit::Inconclusive);
    }
    Ok(match report.verdict {
        Verdict::Equivalent => Exit::Equivalent,
        Verdict::Divergent => Exit::Divergent,
        Verdict::Inconclusive => {
            eprintln!(
                "error: {} requests inconclusive (infrastructure failures): equivalence not established",
                report.totals.inconclusive
            );
            Exit::Inconclusive
        }
    })
}

/// The requests `shard` reports (all without one), and the seq of the last keyless request.
fn count_requests(path: &Path, shard: Option<Shard>) -> Result<(u64, Option<u64>)> {
    let mut reader = Reader::open(path)?;
    let (mut n, mut keyless_until) = (0, None);
    while let Some(request) = reader.next_request()? {
        if request.key.is_none() {
            keyless_until = Some(request.seq);
        }
        if shard.is_none_or(|s| s.role(&request) == Role::Own) {
            n += 1;
        }
    }
    Ok((n, keyless_until))
}
