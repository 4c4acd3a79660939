//! Stage 0: capturing from a running service. `recorder.rs` wraps the legacy repository
//! and writes a sample of whole conversations off the caller's path; `redact.rs` removes
//! personal data and secrets before anything is written; `shadow/` compares the candidate
//! against live traffic (the legacy answers, the candidate is asked off the path);
//! `adapter.rs` puts a team's own repository type behind [`crate::targets::Target`].

pub mod adapter;
mod dropped;
pub mod recorder;
pub mod redact;
pub mod shadow;

use std::collections::HashSet;

/// How [`key_sampled`] chooses, for a cassette's header and a shadow's report.
pub(crate) fn describe_sampling(rate: f64, allow: &HashSet<String>) -> String {
    format!(
        "{rate} of keys by SHA-256 of the key, plus {} allowed keys",
        allow.len()
    )
}

/// Whether `key` is in a sample of `rate` (0 to 1) of keys, or among `allow`. The same key
/// is always in or always out: the draw is the SHA-256 of the key, never a random number,
/// so a conversation is sampled whole and the recorder and the shadow agree on it.
pub(crate) fn key_sampled(key: &str, rate: f64, allow: &HashSet<String>) -> bool {
    allow.contains(key) || {
        let at = crate::digest::key_bucket(key, 1_000_000);
        f64::from(at) < rate * 1_000_000.0
    }
}
