//! The race check's options, as `replay` and `demo` take them, and its run after a replay.

use anyhow::Result;
use cutover::races::{self, Grouping, RaceOptions, RaceReport};
use cutover::replay::shard::Shard;
use cutover::replay::Pair;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct RaceArgs {
    /// Also run concurrent groups on both sides and judge them against their serial orders:
    /// `overlap` (requests of one key whose recorded intervals overlap) or `writes`
    /// (consecutive writes of one key). See docs/src/races.md.
    #[arg(long)]
    races: Option<Grouping>,
    /// Requests per group, at most (2 to 4).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=4))]
    race_size: u64,
    /// Groups checked, at most (the first in cassette order, one per key).
    #[arg(long, default_value_t = 16)]
    race_groups: usize,
    /// Concurrent runs of each group on each side.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    race_schedules: u64,
    /// Seed of the jitters.
    #[arg(long, default_value_t = 1)]
    race_seed: u64,
    /// The largest delay after the barrier, per request (drawn from the seed).
    #[arg(long, default_value = "2ms", value_parser = super::parse_duration)]
    race_jitter: Duration,
    /// Slept between a repository's load and its save, where the target supports it.
    #[arg(long, default_value = "0ms", value_parser = super::parse_duration)]
    race_pause: Duration,
}

impl RaceArgs {
    /// The options, if a grouping was asked for (or `default` is given).
    pub fn options(
        &self,
        default: Option<Grouping>,
        timeout: Duration,
        max_infra_failures: usize,
        rules: Option<std::sync::Arc<cutover::normalize::Rules>>,
    ) -> Option<RaceOptions> {
        Some(RaceOptions {
            grouping: self.races.or(default)?,
            size: usize::try_from(self.race_size).unwrap_or(4),
            max_groups: self.race_groups,
            schedules: usize::try_from(self.race_schedules).unwrap_or(24),
            seed: self.race_seed,
            jitter: self.race_jitter,
            pause: self.race_pause,
            timeout,
            max_infra_failures,
            rules,
        })
    }
}

/// The race check of `cassette` on `pair` (the groups of `shard`'s keys only).
pub async fn check(
    cassette: &Path,
    pair: &Pair,
    options: &RaceOptions,
    shard: Option<Shard>,
) -> Result<RaceReport> {
    races::preconditions(pair, options)?;
    let groups = races::cassette_groups(cassette, options, shard)?;
    eprintln!(
        "race check: {} groups ({}), {} schedules each, on both sides...",
        groups.len(),
        options.grouping,
        options.schedules
    );
    Ok(races::check(pair, &groups, options).await?)
}
