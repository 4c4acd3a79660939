//! Merging the outputs of a sharded replay (`report.json` and `results.jsonl` per shard)
//! into the output of one run: the results in cassette order, and the report folded from
//! them again, so counts, classes, examples, latency percentiles and settle lags are
//! exactly those of an unsharded replay of the same cassette.

use super::{Results, RunDir, RunDirError};
use crate::cassette::Header;
use crate::replay::{ReplayRun, RequestResult, Sink};
use crate::report::{Report, Summary};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Why shard outputs cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard's files (or the merged output) cannot be read or written, or do not parse.
    #[error(transparent)]
    Run(#[from] RunDirError),
    /// The shards are not parts of one replay: other inputs or targets, a missing or repeated
    /// shard, or a seq in more than one shard.
    #[error("the shards do not make one replay: {0}")]
    Mismatch(String),
}

/// One shard's output being read.
struct Input {
    dir: PathBuf,
    results: Results,
    next: Option<RequestResult>,
}

impl Input {
    /// A shard's results, its first one read.
    fn open(dir: &std::path::Path) -> Result<Input, MergeError> {
        let mut input = Input {
            dir: dir.to_path_buf(),
            results: RunDir::new(dir).results()?,
            next: None,
        };
        input.advance()?;
        Ok(input)
    }

    /// Reads the next result; none at the end.
    fn advance(&mut self) -> Result<(), MergeError> {
        self.next = self.results.next().transpose()?;
        Ok(())
    }
}

/// Merges the shard outputs in `dirs` into `out` (`results.jsonl`) and returns the merged
/// report; `out/report.json` is the caller's to write.
pub fn merge(dirs: &[PathBuf], out: &RunDir) -> Result<Report, MergeError> {
    let reports: Vec<Report> = dirs
        .iter()
        .map(|d| RunDir::new(d).read_report())
        .collect::<Result<_, _>>()?;
    check(dirs, &reports)?;
    let inputs = dirs
        .iter()
        .map(|d| Input::open(d))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut summary, mut requests) = interleave(inputs, out)?;
    let first = &reports[0];
    // A verify lists only the keys that are not equal: the equal ones are counted.
    if first.verify.is_some() {
        let equal: u64 = reports
            .iter()
            .filter_map(|r| r.verify.as_ref())
            .map(|v| v.keys.equal)
            .sum();
        summary.add_equal(crate::verify::OP, crate::cassette::Kind::Read, equal);
        requests += equal;
    }
    let merged = summary.finish(
        &Header::new(first.cassette.domain.clone()),
        &first.cassette.path,
        &first.legacy,
        &first.candidate,
        &run(&reports, requests),
    );
    fold(merged, &reports)
}

/// Writes the shards' results into `out`'s `results.jsonl` in seq order, renumbered, and
/// folds them into a summary; answers it with how many results there were. A seq in more
/// than one shard, or out of order in one, is a mismatch.
fn interleave(mut inputs: Vec<Input>, out: &RunDir) -> Result<(Summary, u64), MergeError> {
    out.create()?;
    let mut writer = out.results_writer()?;
    let io = |source| {
        MergeError::Run(RunDirError::Io {
            path: out.results_path(),
            source,
        })
    };
    let mut summary = Summary::new();
    // Marked again across the shards: a keyless request follows the first divergence of
    // the whole run, which may be another shard's.
    let mut causes = crate::replay::causes::Causes::new();
    let mut index = 0u64;
    let mut last_seq = None;
    // The smallest seq among the shards' next results, until every shard is read.
    while let Some(i) = (0..inputs.len())
        .filter(|&i| inputs[i].next.is_some())
        .min_by_key(|&i| inputs[i].next.as_ref().map(|r| r.seq))
    {
        let mut result = inputs[i].next.take().expect("a next result");
        if last_seq >= Some(result.seq) {
            return Err(MergeError::Mismatch(format!(
                "seq {} appears in more than one shard, or out of order in {}",
                result.seq,
                inputs[i].dir.display()
            )));
        }
        last_seq = Some(result.seq);
        result.index = index;
        index += 1;
        causes.mark(&mut result);
        summary.add(&result);
        writer.accept(&result).map_err(io)?;
        inputs[i].advance()?;
    }
    writer.commit()?;
    Ok((summary, index))
}

/// The merged run of `requests` results: as long as the longest shard, stopped when a
/// shard stopped.
fn run(reports: &[Report], requests: u64) -> ReplayRun {
    ReplayRun {
        requests,
        elapsed: Duration::from_millis(reports.iter().map(|r| r.elapsed_ms).max().unwrap_or(0)),
        truncation: None,
        rules: Vec::new(),
        // A shard that stopped sending makes the merged run stopped: the first, by shard
        // order, with the requests every stopped shard left unsent.
        stopped: reports
            .iter()
            .find_map(|r| r.stopped.clone())
            .map(|first| crate::replay::Stop {
                not_sent: reports
                    .iter()
                    .filter_map(|r| r.stopped.as_ref())
                    .map(|s| s.not_sent)
                    .sum(),
                ..first
            }),
    }
}

/// Adds to the report folded from the merged results what only the shards' reports hold:
/// the truncation, the rules' counts, the noise, the inputs, the shards, the coverage and
/// the race checks.
fn fold(mut merged: Report, reports: &[Report]) -> Result<Report, MergeError> {
    let first = &reports[0];
    merged.cassette.truncated_line = reports.iter().find_map(|r| r.cassette.truncated_line);
    merged.rules = first.rules.clone();
    for (n, rule) in merged.rules.iter_mut().enumerate() {
        rule.fired = reports.iter().map(|r| r.rules[n].fired).sum();
        rule.unjudged = reports.iter().map(|r| r.rules[n].unjudged).sum();
    }
    merged.noise = noise(reports);
    merged.inputs = first.inputs.clone();
    let mut shards: Vec<String> = reports.iter().flat_map(|r| r.shards.clone()).collect();
    shards.sort_by_key(|s| s.split('/').next().and_then(|i| i.parse::<u32>().ok()));
    merged.shards = shards;
    // Each shard counted the coverage of the requests it ran: the counts add up.
    for r in reports.iter().filter_map(|r| r.coverage.as_ref()) {
        match &mut merged.coverage {
            Some(all) => all
                .merge(r)
                .map_err(|e| MergeError::Mismatch(e.to_string()))?,
            None => merged.coverage = Some(r.clone()),
        }
    }
    // Each shard checked the groups of its own keys: their race checks fold into one.
    let mut races: Option<crate::races::RaceReport> = None;
    for r in reports.iter().filter_map(|r| r.races.clone()) {
        match &mut races {
            Some(all) => all.merge(r),
            None => races = Some(r),
        }
    }
    merged.verify = verify(reports);
    Ok(match races {
        Some(races) => merged.with_races(races),
        None => merged,
    })
}

/// The shards' verify sections as one: keys and checksums added, where each stopped.
fn verify(reports: &[Report]) -> Option<crate::verify::VerifyInfo> {
    let mut infos = reports.iter().filter_map(|r| r.verify.clone());
    let mut all = infos.next()?;
    for info in infos {
        all.keys = all.keys.plus(info.keys);
        all.checksums += info.checksums;
        all.hashed_keys += info.hashed_keys;
        all.dumped_keys += info.dumped_keys;
        all.stopped_after = all.stopped_after.or(info.stopped_after);
    }
    Some(all)
}

/// The shards' noise paths, one entry per (operation, path, class, detail), counts added.
fn noise(reports: &[Report]) -> Vec<crate::normalize::suggest::Suggestion> {
    type Key = (String, String, String, Option<String>);
    let mut noise: BTreeMap<Key, crate::normalize::suggest::Suggestion> = BTreeMap::new();
    for s in reports.iter().flat_map(|r| r.noise.iter()) {
        let key = (
            s.op.clone(),
            s.path.clone(),
            s.class.to_string(),
            s.detail.map(|d| d.to_string()),
        );
        noise
            .entry(key)
            .and_modify(|e| e.count += s.count)
            .or_insert_with(|| s.clone());
    }
    noise.into_values().collect()
}

/// The shards must be of one cassette, rules and pair of targets, and cover `1..=n` once.
fn check(dirs: &[PathBuf], reports: &[Report]) -> Result<(), MergeError> {
    let Some(first) = reports.first() else {
        return Err(MergeError::Mismatch("no shard given".into()));
    };
    let mut seen: Vec<(u32, u32)> = Vec::new();
    for (dir, r) in dirs.iter().zip(reports) {
        let same_inputs = match (&r.inputs, &first.inputs) {
            (Some(a), Some(b)) => a.cassette.sha256 == b.cassette.sha256 && a.rules == b.rules,
            // Verifies read no cassette: one of their rules and targets.
            (None, None) => r.verify.is_some() && first.verify.is_some(),
            _ => false,
        };
        if !same_inputs {
            return Err(MergeError::Mismatch(format!(
                "{} was not replayed from the same cassette and rules (by hash) as {}",
                dir.display(),
                dirs[0].display()
            )));
        }
        if (&r.legacy, &r.candidate) != (&first.legacy, &first.candidate)
            || r.rules.len() != first.rules.len()
        {
            return Err(MergeError::Mismatch(format!(
                "{} compared other targets or rules than {}",
                dir.display(),
                dirs[0].display()
            )));
        }
        if r.shards.is_empty() {
            return Err(MergeError::Mismatch(format!(
                "{} is not a shard (replay with --shard i/n)",
                dir.display()
            )));
        }
        for s in &r.shards {
            let parsed: crate::replay::shard::Shard = s
                .parse()
                .map_err(|e: String| MergeError::Mismatch(format!("{}: {e}", dir.display())))?;
            seen.push((parsed.index, parsed.count));
        }
    }
    let count = seen[0].1;
    seen.sort_unstable();
    let expected: Vec<(u32, u32)> = (1..=count).map(|i| (i, count)).collect();
    if seen != expected {
        let got: Vec<String> = seen.iter().map(|(i, n)| format!("{i}/{n}")).collect();
        return Err(MergeError::Mismatch(format!(
            "shards {} do not cover 1/{count} to {count}/{count} exactly once",
            got.join(", ")
        )));
    }
    Ok(())
}
