//! A progress bar on stderr, shown only when stderr is a terminal.

use cutover::replay::{RequestResult, Sink, Status};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Counts results onto a progress bar.
pub struct Progress {
    bar: Option<ProgressBar>,
    divergent: u64,
}

impl Progress {
    /// A bar for `total` requests, or a silent counter when stderr is not a terminal.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} requests  {per_sec}  eta {eta}  {msg}",
            )
            .expect("valid progress template");
            bar.set_style(style);
            bar
        });
        Progress { bar, divergent: 0 }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Sink for Progress {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if result.status == Status::Divergent {
                self.divergent += 1;
                bar.set_message(format!("{} divergent", self.divergent));
            }
        }
        Ok(())
    }
}
