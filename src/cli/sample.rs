//! `cutover sample`: exports N conversations sampled from a live legacy MongoDB into a
//! cassette (the writes that rebuild them, then reads), deterministic for a `--seed`.

use super::Exit;
use anyhow::{Context, Result};
use cutover::cassette::{Header, Writer};
use cutover::target::conversations::mongo::Mongo;
use cutover::target::conversations::sample;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The legacy MongoDB (defaults to `MONGODB_URI`).
    #[arg(long, env = "MONGODB_URI")]
    mongodb_uri: String,
    /// The database that holds the `conversations` collection.
    #[arg(long)]
    database: String,
    /// How many conversations.
    #[arg(long, default_value_t = 100)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The cassette to write (`.gz` for gzip).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let requests = runtime.block_on(async {
        let legacy = Mongo::connect(&args.mongodb_uri, &args.database)
            .await
            .map_err(|f| anyhow::anyhow!("{f:?}"))?;
        sample::sample(&legacy, args.count, args.seed)
            .await
            .map_err(|f| anyhow::anyhow!("{f:?}"))
    })?;
    let mut header = Header::new("conversations");
    header.meta.insert(
        "source".into(),
        format!(
            "sample of {} (database {})",
            redact(&args.mongodb_uri),
            args.database
        )
        .into(),
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
fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &uri[..scheme], &uri[at + 1..])
        }
        _ => uri.to_string(),
    }
}
