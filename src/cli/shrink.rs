//! `cutover shrink`: reduces a cassette that shows a divergence to a minimal one that still
//! shows it, and writes it as a cassette.

use super::Shared;

use super::{Exit, Format};
use anyhow::{bail, Context, Result};
use cutover::cassette::{Reader, Writer};
use cutover::diff::Class;
use cutover::replay::ReplayOptions;
use cutover::shrink::{self, Signature};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cassette that shows the divergence.
    cassette: PathBuf,
    /// Where to write the minimal cassette.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    targets: super::replay::Targets,
    /// The divergence to keep, as `OP:PATH_PATTERN:CLASS` (e.g. `get:$.name:value`);
    /// by default the first divergence of the whole cassette.
    #[arg(long)]
    divergence: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let signature = args
        .divergence
        .as_deref()
        .map(parse_signature)
        .transpose()?;
    let options = ReplayOptions {
        rules: args.targets.rules()?,
        ..ReplayOptions::default()
    };
    // The whole cassette is read first: a bad line stops here, before anything is written.
    let mut reader = Reader::open(&args.cassette)?;
    let header = reader.header().clone();
    let mut requests = Vec::new();
    while let Some(request) = reader.next_request()? {
        requests.push(request);
    }
    let before = requests.len();
    let runtime = &cx.runtime;
    let pair = runtime.block_on(args.targets.pair(&cx.registry))?;
    let start = Instant::now();
    let shrunk = runtime.block_on(shrink::shrink(
        &header, requests, &pair, &options, signature,
    ))?;
    let took = start.elapsed();

    let partial = args.out.with_extension("jsonl.partial");
    let mut writer = Writer::create(&partial, &header)?;
    for request in &shrunk.requests {
        writer.write(request)?;
    }
    writer.finish()?;
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;

    let seqs: Vec<u64> = shrunk.requests.iter().map(|r| r.seq).collect();
    let text = match args.format {
        Format::Json => {
            serde_json::json!({
                "divergence": {
                    "op": shrunk.signature.op,
                    "path": shrunk.signature.pattern,
                    "class": shrunk.signature.class,
                },
                "requests_before": before,
                "requests_after": shrunk.requests.len(),
                "seqs": seqs,
                "replays": shrunk.replays,
                "elapsed_ms": took.as_millis() as u64,
                "out": args.out,
            })
            .to_string()
                + "\n"
        }
        Format::Human => format!(
            "{}: {} -> {} requests (seq {:?}) in {} replays, {:.2} s; written to {}\n",
            shrunk.signature,
            before,
            shrunk.requests.len(),
            seqs,
            shrunk.replays,
            took.as_secs_f64(),
            args.out.display()
        ),
    };
    super::print(&text)?;
    // The minimal cassette shows the divergence.
    Ok(Exit::Divergent)
}

fn parse_signature(text: &str) -> Result<Signature> {
    let mut parts = text.splitn(2, ':');
    let op = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    let Some((pattern, class)) = rest.rsplit_once(':') else {
        bail!("--divergence `{text}`: expected OP:PATH_PATTERN:CLASS, e.g. get:$.name:value");
    };
    let class: Class = serde_json::from_value(serde_json::Value::String(class.into()))
        .map_err(|_| anyhow::anyhow!("--divergence `{text}`: `{class}` is not a class (ordering, missing, extra, value, type, error, state)"))?;
    if op.is_empty() || !pattern.starts_with('$') {
        bail!("--divergence `{text}`: expected OP:PATH_PATTERN:CLASS, e.g. get:$.name:value");
    }
    Ok(Signature {
        op: op.into(),
        pattern: pattern.into(),
        class,
    })
}
