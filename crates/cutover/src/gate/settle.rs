//! The settle clause (`docs/src/settle.md`): `max_settle_p99 = "500ms"`, in `[gate]` or an
//! `[op.NAME]`, bounds the p99 lag of an operation's requests that agreed with the legacy
//! only after the candidate was asked again within the replay's settle window. An
//! operation with no settled request passes: there is no lag to judge.

use super::Policy;
use crate::report::render::units::latency;
use crate::report::OperationReport;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A policy duration such as `"500ms"`, `"2s"` or `"800us"`.
pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    crate::targets::parse_duration(&text)
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}`: expected a duration such as \"500ms\", \"2s\" or \"800us\""
            ))
        })
}

/// The reason `op` fails the clause, if it does.
pub(super) fn check(op: &str, o: &OperationReport, policy: &Policy) -> Option<String> {
    let budget = policy.max_settle_p99(op)?;
    let s = o.settle.as_ref().filter(|s| s.settled > 0)?;
    let budget_us = u64::try_from(budget.as_micros()).unwrap_or(u64::MAX);
    (s.lag_us.p99 > budget_us).then(|| {
        format!(
            "{op}: the candidate took {} at p99 to settle (lag of the {} requests that agreed only when asked again; max {}), above max_settle_p99 = {}",
            latency(s.lag_us.p99),
            s.settled,
            latency(s.lag_us.max),
            latency(budget_us)
        )
    })
}
