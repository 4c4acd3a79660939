//! `cutover sample --from CASSETTE` and `--strategy coverage`: keeps the requests of N keys
//! (and every keyless request), chosen at random or by greedy set cover over the declared
//! coverage features (`coverage::select`), and prints what the sample covers next to random
//! samples of the same size. A cassette without outcomes is first run on the legacy.

use super::{redact, Args, Strategy};
use crate::cli::coverage::Legacy;
use crate::cli::Exit;
use anyhow::{anyhow, Context, Result};
use cutover::cassette::{Header, Reader, Request, Writer};
use cutover::coverage::select::Candidates;
use cutover::replay::record_one;
use cutover::Registry;
use cutover_conversations::mongo::Mongo;
use cutover_conversations::sample;
use serde_json::json;
use std::collections::BTreeSet;

pub async fn run(registry: &Registry, args: &Args, live: Option<(String, String)>) -> Result<Exit> {
    let (mut header, requests) = match (&args.from, live) {
        (Some(path), _) => {
            let mut reader = Reader::open(path)?;
            let mut requests = Vec::new();
            while let Some(r) = reader.next_request()? {
                requests.push(r);
            }
            (reader.header().clone(), requests)
        }
        (None, Some((uri, database))) => {
            let legacy = Mongo::connect(&uri, &database)
                .await
                .map_err(anyhow::Error::new)?;
            let every = sample::sample(&legacy, usize::MAX, args.seed)
                .await
                .map_err(anyhow::Error::new)?;
            let mut header = Header::new("conversations");
            header.meta.insert(
                "source".into(),
                format!("{} (database {database})", redact(&uri)).into(),
            );
            (header, every)
        }
        (None, None) => anyhow::bail!("give --from CASSETTE, or --mongodb-uri and --database"),
    };
    let domain = header.domain.clone();
    let tally = registry.tally(&domain).ok_or_else(|| {
        anyhow!(
            "domain `{domain}` is not declared (`--domain FILE`): only `--strategy random` applies"
        )
    })?;
    let mut candidates = Candidates::new(tally);
    if requests.iter().all(|r| r.outcome.is_some()) && args.legacy.is_none() {
        for r in &requests {
            candidates.observe(r, r.outcome.as_ref(), r.state.as_ref());
        }
    } else {
        let legacy = Legacy::start(registry, &domain, args.legacy.as_deref()).await?;
        legacy.target.reset().await.context("emptying the legacy")?;
        for r in &requests {
            let mut r = r.clone();
            record_one(legacy.target.as_ref(), &mut r).await?;
            candidates.observe(&r, r.outcome.as_ref(), r.state.as_ref());
        }
    }

    let chosen = match args.strategy {
        Strategy::Random => candidates.random(args.count, args.seed),
        Strategy::Coverage => candidates.covering(args.count, args.seed),
    };
    let strategy = match args.strategy {
        Strategy::Random => "random",
        Strategy::Coverage => "coverage",
    };
    write(args, &mut header, &requests, &chosen, strategy)?;

    let declared = candidates.declared();
    let share = |n: usize| {
        format!(
            "{n} of {declared} ({:.1}%)",
            100.0 * n as f64 / declared as f64
        )
    };
    let keys = candidates.keys().count();
    println!(
        "sample of {} of {keys} keys ({strategy}, seed {}) covers {} declared features",
        chosen.len(),
        args.seed,
        share(candidates.covered(&chosen))
    );
    println!("  (predicted from the full traffic; `cutover coverage` measures the written sample)");
    let all: Vec<String> = candidates.keys().map(String::from).collect();
    println!(
        "  all {keys} keys cover {}",
        share(candidates.covered(&all))
    );
    if args.compare > 0 {
        let mut random: Vec<usize> = (1..=args.compare)
            .map(|seed| candidates.covered(&candidates.random(chosen.len(), seed)))
            .collect();
        for (seed, n) in (1..).zip(&random) {
            println!(
                "  random sample of {}, seed {seed}: {}",
                chosen.len(),
                share(*n)
            );
        }
        random.sort_unstable();
        println!(
            "  random samples of {}: min {}, median {}, max {}",
            chosen.len(),
            share(random[0]),
            share(random[random.len() / 2]),
            share(random[random.len() - 1])
        );
    }
    Ok(Exit::Equivalent)
}

/// Writes the chosen keys' requests and every keyless one, in cassette order, as they came.
fn write(
    args: &Args,
    header: &mut Header,
    requests: &[Request],
    chosen: &[String],
    strategy: &str,
) -> Result<()> {
    let keep: BTreeSet<&str> = chosen.iter().map(String::as_str).collect();
    header.meta.insert(
        "sample".into(),
        json!({
            "strategy": strategy,
            "keys": chosen.len(),
            "seed": args.seed,
            "from": args.from.as_ref().map(|p| p.display().to_string()),
        }),
    );
    let mut writer = Writer::create(&args.out, header)?;
    let mut n = 0;
    for r in requests {
        if r.key.as_deref().is_none_or(|k| keep.contains(k)) {
            writer.write(r)?;
            n += 1;
        }
    }
    writer
        .finish()
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {n} requests to {}", args.out.display());
    Ok(())
}
