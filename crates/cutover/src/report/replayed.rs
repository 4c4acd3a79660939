//! Replay and report in one call: the sequence every caller of a replay needs (replay with
//! a [`Summary`] among the sinks, then [`Summary::finish`]), written once.

use super::{Report, Summary};
use crate::cassette::Reader;
use crate::replay::{
    self, Collect, Pair, ReplayError, ReplayOptions, ReplayRun, RequestResult, Sink,
};

/// A replay's report, its run, and its results when they were kept.
#[derive(Debug)]
pub struct Replayed {
    /// The report, named after the reader's path and the targets' names.
    pub report: Report,
    /// The run: requests, time taken, truncation, rules, the stop.
    pub run: ReplayRun,
    /// Every result in cassette order ([`replay_collect`]); empty from [`replay_report`].
    pub results: Vec<RequestResult>,
}

/// Replays `reader` on `pair` and folds the report; every result also goes to `sinks` (a
/// results file, a progress bar) and none is kept.
pub async fn replay_report(
    reader: Reader,
    pair: &Pair,
    options: &ReplayOptions,
    sinks: &mut [&mut dyn Sink],
) -> Result<Replayed, ReplayError> {
    let header = reader.header().clone();
    let path = reader.path().display().to_string();
    let mut summary = Summary::new().with_declared_orders(options.list_orders.clone());
    let mut both = Both {
        summary: &mut summary,
        sinks,
    };
    let run = replay::replay(reader, pair, options, &mut [&mut both]).await?;
    let report = summary.finish(
        &header,
        &path,
        pair.legacy.name(),
        pair.candidate.name(),
        &run,
    );
    Ok(Replayed {
        report,
        run,
        results: Vec::new(),
    })
}

/// [`replay_report`], keeping every result (for tests and small cassettes: memory grows
/// with the cassette).
pub async fn replay_collect(
    reader: Reader,
    pair: &Pair,
    options: &ReplayOptions,
) -> Result<Replayed, ReplayError> {
    let mut all = Collect::default();
    let mut replayed = replay_report(reader, pair, options, &mut [&mut all]).await?;
    replayed.results = all.0;
    Ok(replayed)
}

/// The summary, then the caller's sinks, in order.
struct Both<'s, 'k, 'x> {
    summary: &'s mut Summary,
    sinks: &'k mut [&'x mut dyn Sink],
}

impl Sink for Both<'_, '_, '_> {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.summary.add(result);
        self.sinks.iter_mut().try_for_each(|s| s.accept(result))
    }
}
