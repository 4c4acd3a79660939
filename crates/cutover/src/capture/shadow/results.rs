//! The publisher: a thread that streams the experiment's results to
//! `OUT/results.jsonl.partial`, folds them into a report, and every
//! [`ShadowConfig::publish_every`] (and at the end) publishes `OUT/results.jsonl` and
//! `OUT/report.json` as a pair that `cutover report` and `cutover gate` read. Between two
//! publishes the pair stays as it was; at most the moment of publishing shows a report and
//! results that disagree, which the gate refuses (it never judges them).

use super::{ShadowConfig, ShadowStats, Writes};
use crate::cassette::Header;
use crate::normalize::RuleRun;
use crate::replay::causes::Causes;
use crate::replay::{ReplayRun, RequestResult, Sink};
use crate::report::{Report, ShadowInfo, Summary};
use crate::rundir::{ResultsWriter, RunDir};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::mpsc;

type Published = std::io::Result<Option<Report>>;

pub(super) struct Publisher {
    tx: Mutex<Option<mpsc::Sender<RequestResult>>>,
    thread: Mutex<Option<JoinHandle<Published>>>,
}

/// What the thread needs to write a report.
struct Folder {
    config: ShadowConfig,
    /// The experiment's use of the rules, shared with the lanes that compare.
    rules: Option<Arc<RuleRun>>,
    candidate: String,
    stats: Arc<ShadowStats>,
    started: Instant,
    summary: Summary,
    out: Option<(RunDir, ResultsWriter)>,
    /// Marks causes and echoes in the order the shadowed calls finished.
    causes: Causes,
}

impl Publisher {
    pub(super) fn start(
        config: &ShadowConfig,
        candidate: &str,
        stats: Arc<ShadowStats>,
        rules: Option<Arc<RuleRun>>,
    ) -> std::io::Result<Publisher> {
        let out = match &config.out {
            // What stands in OUT is this experiment's, or nothing.
            Some(dir) => {
                let run = RunDir::new(dir);
                run.create().map_err(std::io::Error::other)?;
                let writer = run.results_writer().map_err(std::io::Error::other)?;
                Some((run, writer))
            }
            None => None,
        };
        let folder = Folder {
            config: config.clone(),
            rules,
            candidate: candidate.to_string(),
            stats,
            started: Instant::now(),
            summary: Summary::new(),
            out,
            causes: Causes::new(),
        };
        let (tx, rx) = mpsc::channel(1024);
        let thread = std::thread::Builder::new()
            .name("cutover-shadow".into())
            .spawn(move || folder.run(rx))?;
        Ok(Publisher {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A sender for the lanes (the publisher stops when every sender is gone).
    pub(super) fn sender(&self) -> mpsc::Sender<RequestResult> {
        self.tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .expect("the publisher is running")
    }

    /// Waits for the lanes' last results, then publishes the final pair.
    pub(super) async fn finish(&self) -> Published {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(thread) = thread else {
            return Ok(None);
        };
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(outcome)) => outcome,
            _ => Err(std::io::Error::other("the shadow's publisher panicked")),
        }
    }
}

impl Folder {
    fn run(mut self, mut rx: mpsc::Receiver<RequestResult>) -> Published {
        let mut published = Instant::now();
        while let Some(mut result) = rx.blocking_recv() {
            self.causes.mark(&mut result);
            self.summary.add(&result);
            if let Some((_, sink)) = &mut self.out {
                sink.accept(&result)?;
            }
            if published.elapsed() >= self.config.publish_every {
                self.publish(false)?;
                published = Instant::now();
            }
        }
        self.publish(true)
    }

    /// Publishes the results so far and their report; `last` renames the streamed file
    /// instead of copying it.
    fn publish(&mut self, last: bool) -> Published {
        let report = self.report();
        let published = match (last, self.out.take()) {
            (_, None) => return Ok(Some(report)),
            (true, Some((run, writer))) => writer.commit().and_then(|()| run.write_report(&report)),
            (false, Some((run, mut writer))) => {
                let published = writer.snapshot().and_then(|()| run.write_report(&report));
                self.out = Some((run, writer));
                published
            }
        };
        published.map_err(std::io::Error::other)?;
        Ok(Some(report))
    }

    fn report(&self) -> Report {
        let config = &self.config;
        let totals = self.summary.totals();
        let run = ReplayRun {
            requests: totals.total,
            elapsed: self.started.elapsed(),
            truncation: None,
            rules: self.rules.as_ref().map_or_else(Vec::new, |r| r.usage()),
            stopped: None,
        };
        let source = format!("shadow:{}", config.name);
        let mut report = self.summary.clone().finish(
            &Header::new(config.domain.clone()),
            &source,
            "legacy",
            &self.candidate,
            &run,
        );
        let count = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        let stats = &self.stats;
        report.shadow = Some(ShadowInfo {
            experiment: config.name.clone(),
            sampling: format!(
                "{}, plus the calls of switched-on clients",
                crate::capture::describe_sampling(config.rate, &config.allow)
            ),
            writes: match &config.writes {
                Writes::Skip => "skip".into(),
                Writes::Mirror { separate_store, .. } => format!("mirror to {separate_store}"),
            },
            calls: count(&stats.calls),
            shadowed: count(&stats.shadowed),
            skipped: count(&stats.skipped),
            desynced_keys: count(&stats.desynced_keys),
            withdrawn: count(&stats.withdrawn),
        });
        report
    }
}
