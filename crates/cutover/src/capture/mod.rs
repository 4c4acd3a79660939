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
///
/// A rate of 1 or more takes every key and one of 0 or less (or NaN) none, whatever the
/// digest: neither computes it, since it is on the caller's path of every recorded call.
pub(crate) fn key_sampled(key: &str, rate: f64, allow: &HashSet<String>) -> bool {
    (!allow.is_empty() && allow.contains(key))
        || rate >= 1.0
        || (rate > 0.0 && by_digest(key, rate))
}

/// The draw itself: the key's bucket of a million, under the rate.
fn by_digest(key: &str, rate: f64) -> bool {
    let at = crate::digest::key_bucket(key, 1_000_000);
    f64::from(at) < rate * 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcuts for rates that take all or nothing choose as the digest does, for
        /// any key, any rate (beyond 0..1, NaN and infinities included) and allow list.
        #[test]
        fn the_shortcuts_choose_as_the_digest_does(
            key in ".{0,24}",
            rate in prop_oneof![
                Just(0.0), Just(1.0), Just(-0.0), Just(f64::NAN), Just(f64::INFINITY),
                Just(f64::NEG_INFINITY), Just(1e-6), Just(0.999_999_9), -2.0..3.0f64,
            ],
            allowed in any::<bool>(),
        ) {
            let allow: HashSet<String> = allowed.then(|| key.clone()).into_iter().collect();
            let digest = allow.contains(&key) || by_digest(&key, rate);
            prop_assert_eq!(key_sampled(&key, rate, &allow), digest);
        }
    }
}
