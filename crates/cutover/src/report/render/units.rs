//! Quantities written for reading.

/// A latency for reading: microseconds below 1 ms, milliseconds above.
pub fn latency(us: u64) -> String {
    if us < 1000 {
        format!("{us}µs")
    } else {
        format!("{:.1}ms", us as f64 / 1000.0)
    }
}
