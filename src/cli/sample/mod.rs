//! `cutover sample`: exports N conversations sampled from a live legacy MongoDB into a
//! cassette (the writes that rebuild them, then reads), deterministic for a `--seed`; or
//! keeps the requests of N keys of a cassette (`--from`). `--strategy coverage` picks the
//! keys that together cover the most declared features (`covering.rs`).

mod covering;

use super::Shared;

use super::Exit;
use anyhow::{Context, Result};
use cutover::cassette::{Header, Writer};
use cutover_conversations::mongo::Mongo;
use cutover_conversations::sample;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The legacy MongoDB (defaults to `MONGODB_URI`).
    #[arg(long, env = "MONGODB_URI", required_unless_present = "from")]
    mongodb_uri: Option<String>,
    /// The database that holds the `conversations` collection.
    #[arg(long, required_unless_present = "from")]
    database: Option<String>,
    /// Sample the keys of this cassette instead of a live store (the MongoDB options are
    /// then not used).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// How many conversations (keys).
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `random`: a seeded random choice; `coverage`: the keys that together cover the most
    /// declared features (greedy set cover; docs/src/coverage.md).
    #[arg(long, value_enum, default_value_t = Strategy::Random)]
    pub strategy: Strategy,
    /// Also print what random samples of the same size cover, for seeds 1..=N.
    #[arg(long, default_value_t = 0)]
    pub compare: u64,
    /// Where a cassette without outcomes is run to learn them (`--from`, or `--strategy
    /// coverage`): a target spec; by default the domain's own legacy on an empty store.
    #[arg(long)]
    pub legacy: Option<String>,
    /// The cassette to write (`.gz` for gzip).
    #[arg(long)]
    pub out: PathBuf,
}

/// How the keys of a sample are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// Ranked by a seeded hash.
    Random,
    /// Greedy set cover over the declared coverage features.
    Coverage,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let runtime = &cx.runtime;
    let live = match (&args.from, &args.mongodb_uri, &args.database) {
        (Some(_), _, _) => None,
        (None, Some(uri), Some(db)) => Some((uri.clone(), db.clone())),
        (None, _, _) => anyhow::bail!("give --from CASSETTE, or --mongodb-uri and --database"),
    };
    match live {
        Some((uri, database)) if args.strategy == Strategy::Random && args.compare == 0 => {
            runtime.block_on(live_random(&args, &uri, &database))
        }
        live => runtime.block_on(covering::run(&cx.registry, &args, live)),
    }
}

/// A seeded random sample of a live MongoDB.
async fn live_random(args: &Args, uri: &str, database: &str) -> Result<Exit> {
    let legacy = Mongo::connect(uri, database)
        .await
        .map_err(anyhow::Error::new)?;
    let requests = sample::sample(&legacy, args.count, args.seed)
        .await
        .map_err(anyhow::Error::new)?;
    let mut header = Header::new("conversations");
    header.meta.insert(
        "source".into(),
        format!("sample of {} (database {database})", redact(uri)).into(),
    );
    header.meta.insert("seed".into(), args.seed.into());
    header
        .meta
        .insert("conversations".into(), args.count.into());
    let mut writer = Writer::create(&args.out, &header)?;
    for r in &requests {
        writer.write(r)?;
    }
    writer
        .finish()
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} requests to {}",
        requests.len(),
        args.out.display()
    );
    Ok(Exit::Equivalent)
}

/// The connection string without its credentials, which never go into a cassette.
pub(super) fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &uri[..scheme], &uri[at + 1..])
        }
        _ => uri.to_string(),
    }
}
