//! The verify clause (`docs/src/verify.md`): a verify's keys, judged by the policy's
//! `[verify]` limits: at most `max_missing_keys`, `max_extra_keys`, `max_divergent_keys`
//! and `max_inconclusive_keys` (each 0 by default), every key reached, and some key held.
//! A policy with `[verify]` rejects a run that is not a verify.

use super::{Clause, Policy, Reason};
use crate::report::Report;
use serde::Deserialize;

/// The limits of a verify, each a number of keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLimits {
    /// Keys the legacy holds and the candidate does not.
    #[serde(default)]
    pub max_missing_keys: u64,
    /// Keys the candidate holds and the legacy does not.
    #[serde(default)]
    pub max_extra_keys: u64,
    /// Keys on both sides whose aggregates differ.
    #[serde(default)]
    pub max_divergent_keys: u64,
    /// Keys whose aggregate could not be read on a side.
    #[serde(default)]
    pub max_inconclusive_keys: u64,
}

/// The reasons `report`'s verify fails `policy`; none for a replay under a policy without
/// `[verify]`.
pub(super) fn check(report: &Report, policy: &Policy) -> Vec<Reason> {
    let reason = |message: String| Reason {
        op: Some(crate::verify::OP.to_string()),
        clause: Clause::Keys,
        message,
    };
    let Some(info) = &report.verify else {
        return match policy.verify {
            Some(_) => vec![reason(
                "the policy has [verify] limits and this run is not a verify (`cutover verify`)"
                    .into(),
            )],
            None => Vec::new(),
        };
    };
    let limits = policy.verify.unwrap_or_default();
    let keys = info.keys;
    let mut reasons = Vec::new();
    if let Some(stop) = &report.stopped {
        reasons.push(reason(format!(
            "the verify stopped after key {} ({stop}): not every key was compared; `cutover verify --resume` goes on from there",
            info.stopped_after.as_deref().unwrap_or("(none)")
        )));
    }
    if keys.legacy == 0 && report.stopped.is_none() {
        reasons.push(reason(
            "the legacy holds no key: nothing was verified (a wrong database or table?)".into(),
        ));
    }
    for (what, found, allowed) in [
        (
            "missing (on the legacy only)",
            keys.missing,
            limits.max_missing_keys,
        ),
        (
            "extra (on the candidate only)",
            keys.extra,
            limits.max_extra_keys,
        ),
        ("divergent", keys.divergent, limits.max_divergent_keys),
        (
            "inconclusive (unreadable on a side)",
            keys.inconclusive,
            limits.max_inconclusive_keys,
        ),
    ] {
        if found > allowed {
            reasons.push(reason(format!(
                "{found} of {} keys {what}; at most {allowed} allowed",
                keys.total()
            )));
        }
    }
    reasons
}
