//! How often the race check finds what it must, and how fast: RUNS independent checks
//! (seeds 1..=RUNS) of the contended scenario (`generate::concurrent::scenario`: three
//! read-modify-writes of one conversation, two attachments to one message) with MongoDB
//! as legacy and a PostgreSQL repository as candidate, each check on fresh databases.
//! Prints, per group, in how many runs the candidate (and the legacy) gave a result no
//! serial order explains, the schedule at which it first showed (median and worst), and
//! each run's duration (median and worst).
//!
//! Usage: `cargo run --release --example race_stats -- VARIANT [RUNS [SCHEDULES [PAUSE_MS]]]`
//! with VARIANT `correct` (the repository as shipped), `unlocked` (no row lock in any
//! write) or `attach-early` (the attachment index computed before the lock).

use cutover::cassette::{Header, Writer};
use cutover::normalize::Rules;
use cutover::races::{self, Grouping, RaceClass, RaceOptions};
use cutover::replay::Pair;
use cutover_conversations::generate::concurrent;
use cutover_conversations::postgres::Queries;
use cutover_conversations::setup::Servers;
use cutover_conversations::DomainTarget;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: race_stats correct|unlocked|attach-early [RUNS [SCHEDULES [PAUSE_MS]]]";
    let variant = args.first().ok_or_else(|| anyhow::anyhow!(usage))?.clone();
    let num = |i: usize, default: u64| -> anyhow::Result<u64> {
        args.get(i)
            .map_or(Ok(default), |a| a.parse())
            .map_err(|e| anyhow::anyhow!("{usage}: {e}"))
    };
    let (runs, schedules, pause_ms) = (num(1, 100)?, num(2, 24)?, num(3, 0)?);
    let queries = match variant.as_str() {
        "correct" => Queries::default(),
        "unlocked" => Queries {
            lock: "SELECT 1 FROM conversation WHERE id = $1".into(),
            ..Queries::default()
        },
        "attach-early" => Queries {
            attach_index_locked: false,
            ..Queries::default()
        },
        _ => anyhow::bail!(usage),
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scenario.jsonl");
    let mut w = Writer::create(&path, &Header::new("conversations"))?;
    for r in concurrent::scenario() {
        w.write(&r)?;
    }
    w.finish()?;
    let rules = Arc::new(Rules::load(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml"),
    )?);
    let groups = races::groups(&path, Grouping::Overlap, 4, 16)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let servers = Servers::start().await?;
        // Per group: runs where each side showed an unexplained result, the first schedule
        // that did, on the candidate.
        let mut found = vec![(0u64, 0u64, Vec::new()); groups.len()];
        let mut took = Vec::new();
        for seed in 1..=runs {
            let (legacy, _l) = servers.legacy().await?;
            let (candidate, _c) = servers.candidate(queries.clone()).await?;
            let pair = Pair {
                legacy: Arc::new(DomainTarget(legacy)),
                candidate: Arc::new(DomainTarget(candidate)),
            };
            let options = RaceOptions {
                grouping: Grouping::Overlap,
                schedules: usize::try_from(schedules)?,
                seed,
                pause: Duration::from_millis(pause_ms),
                rules: Some(Arc::clone(&rules)),
                ..RaceOptions::default()
            };
            let start = Instant::now();
            let report = races::check(&pair, &groups, &options).await.unwrap();
            took.push(start.elapsed());
            for (g, group) in report.groups.iter().enumerate() {
                anyhow::ensure!(
                    group.verdict != RaceClass::Inconclusive,
                    "run {seed}: {group:?}"
                );
                if group.candidate.unexplained > 0 {
                    found[g].0 += 1;
                    found[g].2.extend(group.candidate.first_unexplained);
                }
                if group.legacy.unexplained > 0 {
                    found[g].1 += 1;
                }
            }
        }
        println!(
            "variant {variant}: {runs} runs, {schedules} schedules per group, pause {pause_ms} ms"
        );
        for (group, (candidate, legacy, mut first)) in groups.iter().zip(found) {
            first.sort_unstable();
            let at = |q: f64| {
                first
                    .get(((first.len() as f64 - 1.0) * q).round() as usize)
                    .map_or("-".to_string(), |s| s.to_string())
            };
            println!(
                "  {:?} {}: candidate unexplained in {candidate}/{runs} runs (first schedule: median {}, worst {}); legacy (MongoDB) in {legacy}/{runs}",
                group.seqs(),
                group.ops().join(","),
                at(0.5),
                at(1.0)
            );
        }
        took.sort_unstable();
        println!(
            "  run duration: median {:.2} s, worst {:.2} s",
            took[took.len() / 2].as_secs_f64(),
            took[took.len() - 1].as_secs_f64()
        );
        Ok(())
    })
}
