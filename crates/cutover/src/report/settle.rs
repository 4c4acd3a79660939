//! How long the candidate took to settle (`docs/src/settle.md`): per operation, the lag of the
//! requests whose read or state read-back agreed with the legacy's only after a retry
//! within the settle window, as percentiles in bounded memory.

use super::latency::{Latency, Percentiles};
use crate::replay::RequestResult;
use serde::{Deserialize, Serialize};

/// One operation's settling: `report.json`'s `operations[op].settle`, present only when a
/// request of the operation was asked again within a settle window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Settle {
    /// Requests that agreed after at least one retry: the lag percentiles count them.
    pub settled: u64,
    /// Requests asked again that never agreed within the window (divergent), or whose
    /// retry failed (inconclusive).
    pub unsettled: u64,
    /// Percentiles of the settled requests' lag, in µs: from the start of the candidate's
    /// first answer to the start of the retry that agreed.
    pub lag_us: Percentiles,
}

/// Folds results' `settled_us` and `settle_retries` into an operation's [`Settle`].
#[derive(Debug, Clone, Default)]
pub(super) struct SettleAccumulator {
    settled: u64,
    unsettled: u64,
    lag: Latency,
}

impl SettleAccumulator {
    /// Counts `result` if it was asked again.
    pub(super) fn add(&mut self, result: &RequestResult) {
        match result.settled_us {
            Some(us) => {
                self.settled += 1;
                self.lag.record(us);
            }
            None if result.settle_retries > 0 => self.unsettled += 1,
            None => {}
        }
    }

    /// The figures; none when no request was asked again.
    pub(super) fn finish(&self) -> Option<Settle> {
        (self.settled + self.unsettled > 0).then(|| Settle {
            settled: self.settled,
            unsettled: self.unsettled,
            lag_us: match self.settled {
                0 => Percentiles::default(),
                _ => self.lag.percentiles(),
            },
        })
    }
}

/// One operation's settling on one line: `12 settled (lag p50/p95/p99/max 51.2ms/...)`,
/// and the unsettled ones.
pub(crate) fn line(s: &Settle) -> String {
    use super::render::units::latency;
    let p = &s.lag_us;
    let mut text = format!("{} settled", s.settled);
    if s.settled > 0 {
        text += &format!(
            " (lag p50/p95/p99/max {}/{}/{}/{})",
            latency(p.p50),
            latency(p.p95),
            latency(p.p99),
            latency(p.max)
        );
    }
    if s.unsettled > 0 {
        text += &format!(", {} never agreed within the window", s.unsettled);
    }
    text
}

/// The text report's lines: one per operation asked again within a settle window; empty
/// when none was.
pub(crate) fn text(report: &super::Report) -> String {
    let mut out = String::new();
    for (name, op) in &report.operations {
        let Some(s) = &op.settle else { continue };
        if out.is_empty() {
            out.push_str(
                "\nsettle window (the candidate's read or state read-back asked again until it agreed):\n",
            );
        }
        out.push_str(&format!("  {name}: {}\n", line(s)));
    }
    out
}
