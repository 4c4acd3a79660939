//! The cutover policy: TOML, errors with line and column.
//!
//! ```toml
//! [gate]
//! operations = ["get", "put", "scan"]   # the domain's operations: each must be exercised
//! min_requests = 20                     # per operation
//! max_inconclusive_rate = 0.01
//! latency_p99_ratio = 1.5               # candidate p99 <= 1.5 x legacy p99, per operation
//! read_max_divergence_rate = 0.0        # writes: 0 unless an [op.NAME] says otherwise
//! confidence = 0.95                     # Wilson upper bound for rates above 0
//! max_unchecked_rate = 0.0              # writes whose stored state was not compared
//! max_atomicity = 0                     # race check: groups no serial order explains
//! require_races = false                 # reject a run without a race check
//! min_coverage = 0.8                    # share of the domain's declared features exercised
//! require_error_kinds = true            # each operation's declared outcomes all seen
//! max_settle_p99 = "500ms"              # settle window: p99 lag of requests that settled
//!
//! [op.scan]
//! max_divergence_rate = 0.01
//! min_requests = 5
//! latency_p99_ratio = 3.0
//! max_settle_p99 = "2s"
//!
//! [verify]                              # `cutover verify`: keys allowed, each 0 by default
//! max_missing_keys = 0
//! max_extra_keys = 0
//! max_divergent_keys = 0
//! max_inconclusive_keys = 0
//!
//! [[accept]]
//! op = "scan"
//! path = "$[*].tags"                    # a path pattern, as in suggested rules
//! class = "ordering"                    # for class "state", `detail` may name the
//!                                       # structural class (value, missing, ...)
//! reason = "tags were never ordered"
//! owner = "ana@example.com"
//! expires = 2027-03-31
//! ```

use crate::cassette::Kind;
use crate::diff::Class;
use crate::located::{Located, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file (named first) cannot be read.
    #[error("policy {0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The text is not a valid policy; the error says where.
    #[error("policy {0}")]
    Invalid(#[from] Located),
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The domain's operations; each must be exercised.
    pub operations: Vec<String>,
    /// Requests each operation needs at least, default 1.
    pub min_requests: u64,
    /// The share of an operation's requests that may be inconclusive, 0..1, default 0.
    pub max_inconclusive_rate: f64,
    /// The latency budget: candidate p99 at most this factor of the legacy p99; none by default.
    pub latency_p99_ratio: Option<f64>,
    /// The divergence rate a read operation may show, 0..1, default 0.
    pub read_max_divergence_rate: f64,
    /// The confidence level of the Wilson upper bound rates are judged on, in [0.5, 1),
    /// default 0.95.
    pub confidence: f64,
    /// The share of an operation's compared writes whose stored state may go unchecked.
    pub max_unchecked_rate: f64,
    /// Concurrent groups the candidate may fail to serialize (`atomicity`), default 0.
    pub max_atomicity: u64,
    /// Whether a run without a race check is rejected.
    pub require_races: bool,
    /// The share of the domain's declared coverage features the traffic must exercise,
    /// 0..1; none by default.
    pub min_coverage: Option<f64>,
    /// Whether every operation's declared outcomes (`ok` and each error kind) must have
    /// been seen; false by default.
    pub require_error_kinds: bool,
    /// With a settle window (`docs/src/settle.md`): the p99 lag an operation's settled requests
    /// may show; none by default.
    pub max_settle_p99: Option<Duration>,
    /// Overrides per operation (`[op.NAME]`), by name.
    pub ops: BTreeMap<String, OpPolicy>,
    /// Accepted differences, in file order.
    pub accept: Vec<Accepted>,
    /// A verify's limits (`[verify]`); a policy with them judges only a verify.
    pub verify: Option<super::KeyLimits>,
}

/// What one operation may override.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpPolicy {
    /// The divergence rate the operation may show, 0..1.
    pub max_divergence_rate: Option<f64>,
    /// Requests the operation needs at least.
    pub min_requests: Option<u64>,
    /// The share of its requests that may be inconclusive, 0..1.
    pub max_inconclusive_rate: Option<f64>,
    /// Its latency budget, as a factor of the legacy p99.
    pub latency_p99_ratio: Option<f64>,
    /// The share of its compared writes whose stored state may go unchecked, 0..1.
    pub max_unchecked_rate: Option<f64>,
    /// The p99 lag its settled requests may show (`"500ms"`).
    #[serde(default, deserialize_with = "super::settle::duration")]
    pub max_settle_p99: Option<Duration>,
}

/// A known difference accepted for a while, by someone, for a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The operation it applies to.
    pub op: String,
    /// The path pattern it covers, canonical: starts with `$`, every index as `[*]`.
    pub path: String,
    /// The divergence class it covers.
    pub class: Class,
    /// For class `state`: only state divergences of this structural class.
    pub detail: Option<Class>,
    /// Why it is accepted; never empty.
    pub reason: String,
    /// Who answers for it; never empty.
    pub owner: String,
    /// The last day it applies.
    pub expires: chrono::NaiveDate,
    /// Line in the policy file.
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    gate: Option<Gate>,
    #[serde(default)]
    op: BTreeMap<String, OpPolicy>,
    #[serde(default)]
    accept: Vec<toml::Spanned<AcceptSpec>>,
    verify: Option<super::KeyLimits>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Gate {
    #[serde(default)]
    operations: Vec<String>,
    min_requests: Option<u64>,
    max_inconclusive_rate: Option<f64>,
    latency_p99_ratio: Option<f64>,
    read_max_divergence_rate: Option<f64>,
    confidence: Option<f64>,
    max_unchecked_rate: Option<f64>,
    max_atomicity: Option<u64>,
    require_races: Option<bool>,
    min_coverage: Option<f64>,
    require_error_kinds: Option<bool>,
    #[serde(default, deserialize_with = "super::settle::duration")]
    max_settle_p99: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptSpec {
    op: String,
    path: String,
    class: Class,
    detail: Option<Class>,
    reason: String,
    owner: String,
    expires: toml::value::Datetime,
}

/// An `[[accept]]` entry, checked: an expiry date without a time, a path pattern in its
/// canonical form, a `detail` only for class `state`, a reason and an owner.
fn accepted(source: &Source, spanned: toml::Spanned<AcceptSpec>) -> Result<Accepted, PolicyError> {
    let at = |offset: usize, what: String| PolicyError::from(source.at(offset, what));
    let start = spanned.span().start;
    let spec = spanned.into_inner();
    let expires = match spec.expires.date {
        Some(d) if spec.expires.time.is_none() => {
            chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
        }
        _ => None,
    }
    .ok_or_else(|| at(start, "expires: expected a date such as 2027-03-31".into()))?;
    if !spec.path.starts_with('$') {
        return Err(at(
            start,
            format!(
                "path `{}`: expected a path pattern starting with $",
                spec.path
            ),
        ));
    }
    let canonical = crate::diff::pattern(&spec.path);
    if canonical != spec.path {
        return Err(at(
            start,
            format!(
                "path `{}`: expected a path pattern, with every index as [*]: `{canonical}`",
                spec.path
            ),
        ));
    }
    if spec.detail.is_some() && !spec.class.has_detail() {
        return Err(at(
            start,
            "detail: only an accepted difference of class \"state\" or \"events\" has one".into(),
        ));
    }
    if spec.reason.trim().is_empty() || spec.owner.trim().is_empty() {
        return Err(at(
            start,
            "an accepted difference needs a reason and an owner".into(),
        ));
    }
    Ok(Accepted {
        op: spec.op,
        path: spec.path,
        class: spec.class,
        detail: spec.detail,
        reason: spec.reason,
        owner: spec.owner,
        expires,
        line: crate::normalize::line_column(source.text, start).0,
    })
}

impl Policy {
    /// Reads a policy file.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError::Io(path.display().to_string(), e))?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses policy text; `name` names it in errors.
    pub fn parse(text: &str, name: &str) -> Result<Policy, PolicyError> {
        let source = Source { text, name };
        let at = |offset: usize, what: String| PolicyError::from(source.at(offset, what));
        let file: File = source.toml()?;
        let gate = file.gate.unwrap_or_default();
        // Where `key` is written in `[section]`, for errors about its value.
        let key_at = |section: &str, key: &str| {
            let from = text.find(&format!("[{section}]")).unwrap_or(0);
            text[from..].find(key).map_or(from, |i| from + i)
        };
        let rate = |section: &str, key: &str, r: Option<f64>, default: f64| match r {
            Some(r) if !(0.0..=1.0).contains(&r) => Err(at(
                key_at(section, key),
                format!("{key} = {r}: a rate is between 0 and 1"),
            )),
            r => Ok(r.unwrap_or(default)),
        };
        let ratio = |section: &str, r: Option<f64>| match r {
            Some(r) if !(r.is_finite() && r > 0.0) => Err(at(
                key_at(section, "latency_p99_ratio"),
                format!("latency_p99_ratio = {r}: expected a factor above 0"),
            )),
            _ => Ok(()),
        };
        let confidence = gate.confidence.unwrap_or(0.95);
        if !(0.5..1.0).contains(&confidence) {
            return Err(at(
                key_at("gate", "confidence"),
                format!("confidence = {confidence}: expected at least 0.5 and below 1"),
            ));
        }
        for (op, o) in &file.op {
            let section = format!("op.{op}");
            rate(&section, "max_divergence_rate", o.max_divergence_rate, 0.0)?;
            rate(
                &section,
                "max_inconclusive_rate",
                o.max_inconclusive_rate,
                0.0,
            )?;
            ratio(&section, o.latency_p99_ratio)?;
            rate(&section, "max_unchecked_rate", o.max_unchecked_rate, 0.0)?;
        }
        ratio("gate", gate.latency_p99_ratio)?;
        let accept = file
            .accept
            .into_iter()
            .map(|spanned| accepted(&source, spanned))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            operations: gate.operations,
            min_requests: gate.min_requests.unwrap_or(1),
            max_inconclusive_rate: rate(
                "gate",
                "max_inconclusive_rate",
                gate.max_inconclusive_rate,
                0.0,
            )?,
            latency_p99_ratio: gate.latency_p99_ratio,
            read_max_divergence_rate: rate(
                "gate",
                "read_max_divergence_rate",
                gate.read_max_divergence_rate,
                0.0,
            )?,
            confidence,
            max_unchecked_rate: rate("gate", "max_unchecked_rate", gate.max_unchecked_rate, 0.0)?,
            max_atomicity: gate.max_atomicity.unwrap_or(0),
            require_races: gate.require_races.unwrap_or(false),
            min_coverage: match gate.min_coverage {
                Some(share) => Some(rate("gate", "min_coverage", Some(share), 0.0)?),
                None => None,
            },
            require_error_kinds: gate.require_error_kinds.unwrap_or(false),
            max_settle_p99: gate.max_settle_p99,
            ops: file.op,
            accept,
            verify: file.verify,
        })
    }

    /// The divergence rate `op` may show: its own, else 0 for writes and the read default.
    pub fn max_divergence_rate(&self, op: &str, kind: Kind) -> f64 {
        self.ops
            .get(op)
            .and_then(|o| o.max_divergence_rate)
            .unwrap_or(match kind {
                Kind::Write => 0.0,
                Kind::Read => self.read_max_divergence_rate,
            })
    }

    /// The requests `op` needs at least: its own minimum, else the gate's.
    pub fn min_requests(&self, op: &str) -> u64 {
        self.ops
            .get(op)
            .and_then(|o| o.min_requests)
            .unwrap_or(self.min_requests)
    }

    /// The share of `op`'s requests that may be inconclusive: its own, else the gate's.
    pub fn max_inconclusive_rate(&self, op: &str) -> f64 {
        self.ops
            .get(op)
            .and_then(|o| o.max_inconclusive_rate)
            .unwrap_or(self.max_inconclusive_rate)
    }

    /// The share of `op`'s compared writes whose state may go unchecked.
    pub fn max_unchecked_rate(&self, op: &str) -> f64 {
        self.ops
            .get(op)
            .and_then(|o| o.max_unchecked_rate)
            .unwrap_or(self.max_unchecked_rate)
    }

    /// The p99 settle lag `op` may show: its own, else the gate's, if any.
    pub fn max_settle_p99(&self, op: &str) -> Option<Duration> {
        self.ops
            .get(op)
            .and_then(|o| o.max_settle_p99)
            .or(self.max_settle_p99)
    }

    /// `op`'s latency budget (a factor of the legacy p99): its own, else the gate's, if any.
    pub fn latency_p99_ratio(&self, op: &str) -> Option<f64> {
        self.ops
            .get(op)
            .and_then(|o| o.latency_p99_ratio)
            .or(self.latency_p99_ratio)
    }
}
