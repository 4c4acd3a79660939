//! `cutover demo`: the reference migration end to end. Starts PostgreSQL and a
//! MongoDB-wire server (or uses `DATABASE_URL` and `MONGODB_URI`), replays the conversations
//! fixture against the MongoDB (legacy) and PostgreSQL (new) repositories, prints the report.
//! By default the fixture's probes (`cutover probe`, `docs/src/probes.md`) are appended first,
//! into `OUT/cassette.probed.jsonl`, and that cassette is the one replayed. Both repositories
//! publish their domain events to a NATS server (127.0.0.1:4222, `NATS_URL`, or one started
//! here), each side watched through its own subscription (`docs/src/events.md`).

use super::Shared;

use super::{Exit, Printing};
use anyhow::{Context, Result};
use cutover::cassette::Reader;
use cutover::replay::ReplayOptions;
use cutover::targets::Target;
use cutover::Pair;
use cutover::Registry;
use cutover_conversations::events::Defect;
use cutover_conversations::setup::{Fresh, Servers};
use cutover_declared::migration::{Migration, BUNDLED};
use cutover_servers::nats::NatsServer;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The migration: `conversations` (MongoDB to PostgreSQL), or one of
    /// fixtures/migrations/ (`--list` names them).
    #[arg(default_value = "conversations")]
    migration: String,
    /// List the migrations and exit.
    #[arg(long)]
    list: bool,
    /// A migration's sync worker: how long each change waits before it reaches the new
    /// store (e.g. 200ms), or `never` (stopped); the migration's own delay by default.
    #[arg(long)]
    sync_delay: Option<String>,
    /// The cassette to replay (conversations).
    #[arg(long, default_value = "fixtures/conversations-100.jsonl")]
    cassette: PathBuf,
    /// Directory for results.jsonl and report.json.
    #[arg(long, default_value = "target/demo")]
    out: PathBuf,
    /// The declared representation differences between the two repositories
    /// (conversations; a bundled migration has its own).
    #[arg(long, default_value = "fixtures/conversations.rules.toml")]
    rules: PathBuf,
    /// Requests in flight at once (default 16, or what the migration declares).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Replay only shard i of n (see `replay --shard`).
    #[arg(long)]
    shard: Option<cutover::replay::shard::Shard>,
    /// Infrastructure failures of one side in a row after which that side is taken for
    /// dead (see `replay --max-infra-failures`; 0: never).
    #[arg(long, default_value_t = 5)]
    max_infra_failures: usize,
    /// Skip the race check (by default the demo checks the cassette's overlapping groups).
    #[arg(long)]
    no_races: bool,
    /// Replay the cassette as recorded, without appending its probes (by default the demo
    /// appends them, see `cutover probe`).
    #[arg(long)]
    no_probes: bool,
    /// Compare no events: the repositories publish none and no broker is watched.
    #[arg(long)]
    no_events: bool,
    /// Plant a defect in the new repository's events, to see what cutover reports:
    /// `in-transaction` (published before the commit), `forget`, `swap` or `rename`
    /// (docs/src/conversations.md).
    #[arg(long, value_name = "DEFECT", conflicts_with = "no_events")]
    events_defect: Option<String>,
    #[command(flatten)]
    races: super::races::RaceArgs,
    #[command(flatten)]
    printing: Printing,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    if args.list {
        let mut text = "conversations      MongoDB to PostgreSQL: the conversations repository (the default)\n".to_string();
        for (name, description) in Migration::bundled(Path::new(".")) {
            text += &format!("{name:<18} {description}\n");
        }
        super::print(&text)?;
        return Ok(Exit::Equivalent);
    }
    if args.migration != "conversations" {
        return migration(&args, cx);
    }
    let rules = std::sync::Arc::new(cutover::normalize::Rules::load(&args.rules)?);
    let cassette = match args.no_probes {
        true => args.cassette.clone(),
        false => with_probes(&cx.registry, &args.cassette, &args.out)?,
    };
    let defect = args
        .events_defect
        .as_deref()
        .map(Defect::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--events-defect: {e}"))?;
    let runtime = &cx.runtime;
    runtime
        .block_on(async {
            eprintln!("starting the servers (the first run installs SecantusDB under target/)...");
            let servers = Servers::start().await?;
            let nats = match args.no_events {
                true => None,
                false => Some(NatsServer::start().await?),
            };
            // The pid of a server started here, so that it can be stopped to see what a dead
            // legacy does to a run.
            let pid = servers
                .mongo
                .pid()
                .map_or_else(String::new, |pid| format!(" (pid {pid})"));
            eprintln!(
                "MongoDB wire: {}{pid}; PostgreSQL: {}",
                servers.mongo.source(),
                servers.postgres.source()
            );
            let fresh = match &nats {
                None => servers.pair().await?,
                Some(nats) => {
                    eprintln!("NATS: {}", nats.source());
                    servers.pair_publishing(&nats.url, defect).await?
                }
            };
            let pair = watched(&fresh).await?;
            let options = ReplayOptions {
                concurrency: args.concurrency.unwrap_or(16).max(1),
                rules: Some(rules),
                shard: args.shard,
                max_infra_failures: args.max_infra_failures,
                ..ReplayOptions::default()
            };
            let races = match args.no_races {
                true => None,
                false => args.races.options(
                    Some(cutover::races::Grouping::Overlap),
                    options.timeout,
                    options.max_infra_failures,
                    options.rules.clone(),
                ),
            };
            super::replay::replay_to(
                &cx.registry,
                &cassette,
                &pair,
                &options,
                races.as_ref(),
                &cutover::RunDir::new(&args.out),
                Vec::new(),
            )
            .await
        })
        .and_then(|report| super::replay::publish(&report, args.printing))
}

/// The pair, each side watched through a subscription to where it publishes its events
/// (its aggregate named by the payload's `conversation_id`), when it publishes them.
async fn watched(fresh: &Fresh) -> Result<Pair> {
    let Some(events) = &fresh.events else {
        return Ok(fresh.pair.clone());
    };
    let watch = |target: Arc<dyn Target>, url: &str| {
        let url = format!("{url}?key=conversation_id");
        async move {
            let watched = cutover_events::watch(target, &url)
                .await
                .map_err(|e| anyhow::anyhow!("watching the events at {url}: {e}"))?;
            anyhow::Ok(Arc::new(watched) as Arc<dyn Target>)
        }
    };
    Ok(Pair {
        legacy: watch(fresh.pair.legacy.clone(), &events.legacy).await?,
        candidate: watch(fresh.pair.candidate.clone(), &events.candidate).await?,
    })
}

/// A bundled migration (`fixtures/migrations/NAME`) on fresh databases: its cassette,
/// replayed with its rules.
fn migration(args: &Args, cx: &Shared) -> Result<Exit> {
    let dir = Path::new(BUNDLED).join(&args.migration);
    if !dir.join("migration.toml").exists() {
        let known: Vec<String> = Migration::bundled(Path::new("."))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        anyhow::bail!(
            "no migration `{}`; expected conversations or one of: {}",
            args.migration,
            known.join(", ")
        );
    }
    let mut migration = Migration::load(&dir).map_err(anyhow::Error::msg)?;
    if let Some(delay) = &args.sync_delay {
        match &mut migration.candidate.sync {
            Some(sync) => sync.delay = delay.clone(),
            None => anyhow::bail!("--sync-delay: migration `{}` has no sync", args.migration),
        }
    }
    let rules = migration
        .rules
        .as_ref()
        .map(cutover::normalize::Rules::load)
        .transpose()?
        .map(std::sync::Arc::new);
    let out = match args.out.as_path() {
        p if p == Path::new("target/demo") => {
            PathBuf::from(format!("target/demo-{}", args.migration))
        }
        p => p.to_path_buf(),
    };
    let runtime = &cx.runtime;
    runtime
        .block_on(async {
            eprintln!("{}: {}", args.migration, migration.description);
            let running = migration.start().await.map_err(anyhow::Error::msg)?;
            eprintln!("fresh databases: {}", running.databases().join(", "));
            if let Some(data) = &migration.data {
                let copied = running.load(data).await.map_err(anyhow::Error::msg)?;
                // A sync carries the copy before the traffic starts.
                running
                    .settled(std::time::Duration::from_secs(300))
                    .await
                    .map_err(anyhow::Error::msg)?;
                eprintln!("data: {copied} rows seeded in the legacy and copied to the candidate");
            }
            let options = ReplayOptions {
                // The copied data is the replay's starting point: no reset.
                reset: migration.data.is_none(),
                concurrency: args
                    .concurrency
                    .or(migration.concurrency)
                    .unwrap_or(16)
                    .max(1),
                rules,
                shard: args.shard,
                max_infra_failures: args.max_infra_failures,
                ..ReplayOptions::default()
            };
            let report = super::replay::replay_to(
                &cx.registry,
                &migration.cassette,
                &running.pair,
                &options,
                None,
                &cutover::RunDir::new(&out),
                Vec::new(),
            )
            .await?;
            let verified = match &migration.data {
                Some(_) => Some(verify_data(&running, options.rules.clone(), &out).await?),
                None => None,
            };
            anyhow::Ok((report, verified))
        })
        .and_then(|(report, verified)| {
            let replayed = super::replay::publish(&report, args.printing)?;
            let Some(verified) = verified else {
                return Ok(replayed);
            };
            super::print("\n")?;
            let verified = super::replay::publish(&verified, args.printing)?;
            Ok(replayed.worst(verified))
        })
}

/// After the traffic, every aggregate of both stores (once the candidate's sync, if any,
/// has settled), into `OUT/verify`.
async fn verify_data(
    running: &cutover_declared::migration::Running,
    rules: Option<std::sync::Arc<cutover::normalize::Rules>>,
    out: &Path,
) -> Result<cutover::report::Report> {
    running
        .settled(std::time::Duration::from_secs(120))
        .await
        .map_err(anyhow::Error::msg)?;
    let options = cutover::verify::VerifyOptions {
        rules,
        ..cutover::verify::VerifyOptions::default()
    };
    let dir = cutover::RunDir::new(out.join("verify"));
    super::verify::verify_to(&running.pair, options, &dir, false).await
}

/// The cassette to replay: `cassette` with its probes appended, in `out`; or `cassette`
/// itself if it already holds probes.
fn with_probes(registry: &Registry, cassette: &Path, out: &Path) -> Result<PathBuf> {
    let held = Reader::open(cassette)?
        .header()
        .meta
        .get(cutover::probe::META_PROBES)
        .and_then(serde_json::Value::as_u64);
    if let Some(n) = held {
        eprintln!("{}: already holds {n} probes", cassette.display());
        return Ok(cassette.to_path_buf());
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let probed = out.join("cassette.probed.jsonl");
    let appended = super::probe::append(registry, cassette, &probed)?;
    eprintln!(
        "probes: {} derived from the {} recorded requests of {} (--no-probes to replay it as recorded)",
        appended.probes(),
        appended.recorded,
        cassette.display()
    );
    Ok(probed)
}
