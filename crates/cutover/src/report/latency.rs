//! Latency percentiles in bounded memory.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Records latencies in microseconds (1 µs to 1 hour, 3 significant digits).
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }
}

/// The percentiles a report shows, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median latency.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Highest latency recorded.
    pub max: u64,
}

impl Latency {
    /// Records one latency in µs; below 1 µs counts as 1, above an hour as an hour.
    /// Percentiles keep 3 significant digits.
    pub fn record(&mut self, micros: u64) {
        self.histogram.saturating_record(micros.max(1));
    }

    /// The percentiles of everything recorded, in µs; all 0 when nothing was.
    pub fn percentiles(&self) -> Percentiles {
        let h = &self.histogram;
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}
