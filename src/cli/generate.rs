//! `cutover generate`: writes a synthetic conversations cassette (requests without recorded
//! outcomes), reproducible from its seed.

use super::Shared;

use super::Exit;
use anyhow::Result;
use cutover::cassette::{Header, Writer};
use cutover_conversations::generate;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many conversations.
    #[arg(long, default_value_t = 100)]
    conversations: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The cassette to write (`.gz` for gzip).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, _cx: &Shared) -> Result<Exit> {
    let mut header = Header::new("conversations");
    header
        .meta
        .insert("generator".into(), "cutover generate".into());
    header.meta.insert("seed".into(), args.seed.into());
    header
        .meta
        .insert("conversations".into(), args.conversations.into());
    let mut writer = Writer::create(&args.out, &header)?;
    let requests = generate::cassette(args.conversations, args.seed);
    let n = requests.len();
    for r in &requests {
        writer.write(r)?;
    }
    writer.finish()?;
    eprintln!(
        "wrote {n} requests for {} conversations to {}",
        args.conversations,
        args.out.display()
    );
    Ok(Exit::Equivalent)
}
