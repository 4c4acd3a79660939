//! Coverage: what a cassette's traffic exercises of what its domain declares.
//!
//! A golden master proves only what its traffic touches. Each domain declares its
//! features ([`Features`]): per operation, the error kinds it can raise and whether it
//! answers a list; and the edges where repositories differ (argument classes, stored
//! shapes, ties on a declared sort key, values at range boundaries). Observing requests
//! with the legacy's outcome and stored state ([`Tally::observe`]) counts what was
//! exercised; [`Coverage`] lists every declared feature with its count, and what was never
//! exercised is a gap.
//!
//! The stage is fed in cassette order: by a recorded cassette, by a recording on the
//! legacy (`cutover coverage`), or during a replay by [`observe::Observed`] around the
//! legacy target. Every count is a function of the requests, outcomes and states alone
//! (no clock, no map order), so the same traffic gives the same coverage.

pub mod observe;
mod render;
pub mod select;

pub use render::render;

use crate::cassette::{ErrorKind, Outcome, Request};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A feature as counted: (row, group, name).
pub type FeatureKey = (String, Group, String);

/// The row of stored-data features, apart from the operations.
pub const STORED: &str = "(stored data)";

/// What kind of feature: how the answer came out, how big it was, what the arguments
/// were, what the data looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// `ok` or an error kind the operation declares.
    Outcome,
    /// An answer's list size: empty, one, many.
    Size,
    /// A class of argument (empty, non-ASCII, a bound on a stored value, ...).
    Argument,
    /// A shape of the stored data or of an answer (null fields, empty arrays, ties).
    Data,
}

impl Group {
    /// The group's name, as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Outcome => "outcome",
            Group::Size => "size",
            Group::Argument => "argument",
            Group::Data => "data",
        }
    }
}

/// Why two coverages cannot merge: they count other declarations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverageMismatch {
    /// Of another domain.
    #[error("coverage of domain {other} cannot merge with {this}")]
    Domain {
        /// This coverage's domain.
        this: String,
        /// The other's.
        other: String,
    },
    /// A row (an operation) this one does not declare.
    #[error("coverage row {0} is not declared here")]
    Row(String),
    /// A feature this one does not declare.
    #[error("coverage feature {op}: {name} is not declared here")]
    Feature {
        /// The row.
        op: String,
        /// The feature.
        name: String,
    },
}

/// What a domain declares of one operation.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The operation's name, as cassettes write it.
    pub op: String,
    /// The error kinds it can raise for a valid request (not arguments refused).
    pub errors: Vec<ErrorKind>,
    /// Whether its answer is a list (sized empty, one, many).
    pub list: bool,
    /// Its domain features: (group, name).
    pub features: Vec<(Group, String)>,
}

/// A domain's features, and how one observation exercises them.
pub trait Features: Send {
    /// Every operation, in the order reports list them.
    fn operations(&self) -> Vec<Declared>;

    /// The features of the stored data (the [`STORED`] row).
    fn stored(&self) -> Vec<String>;

    /// Forgets what the domain knows of stored data (the store was emptied).
    fn reset(&mut self);

    /// The domain features `request` exercised, given the legacy's `outcome` and, after a
    /// write, the key's stored `state` (`Some(Null)`: gone): (row, feature name), the row
    /// an operation's name or [`STORED`]. Called in cassette order for each key.
    fn observe(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        state: Option<&Value>,
    ) -> Vec<(String, String)>;
}

/// Counts what observed requests exercised.
pub struct Tally {
    name: String,
    domain: Box<dyn Features>,
    declared: Vec<Declared>,
    stored: Vec<String>,
    requests: BTreeMap<String, u64>,
    hits: BTreeMap<FeatureKey, u64>,
    undeclared: BTreeMap<String, u64>,
    unobserved: u64,
}

impl Tally {
    /// A tally of the domain `domain_name` with its declared features (a
    /// [`crate::Registry`] finds them by name: `Registry::tally`).
    pub fn new(domain_name: &str, domain: Box<dyn Features>) -> Tally {
        Tally {
            name: domain_name.to_string(),
            declared: domain.operations(),
            stored: domain.stored(),
            domain,
            requests: BTreeMap::new(),
            hits: BTreeMap::new(),
            undeclared: BTreeMap::new(),
            unobserved: 0,
        }
    }

    /// Forgets the stored data the domain tracks (the store was emptied); counts stay.
    pub fn reset(&mut self) {
        self.domain.reset();
    }

    /// Counts one request with the legacy's outcome (`None`: not known, counted as
    /// unobserved) and, after a write, the key's stored state.
    pub fn observe(&mut self, request: &Request, outcome: Option<&Outcome>, state: Option<&Value>) {
        for hit in self.hits(request, outcome, state) {
            *self.hits.entry(hit).or_default() += 1;
        }
    }

    /// The features one request exercised, counting the request (and telling the domain
    /// what it stored) but not the features: [`Tally::observe`] counts them, the sampler
    /// gives them to the request's key.
    pub(crate) fn hits(
        &mut self,
        request: &Request,
        outcome: Option<&Outcome>,
        state: Option<&Value>,
    ) -> Vec<FeatureKey> {
        let Some(outcome) = outcome else {
            self.unobserved += 1;
            return Vec::new();
        };
        *self.requests.entry(request.op.clone()).or_default() += 1;
        let mut hits = Vec::new();
        let mut hit = |row: &str, group: Group, name: &str| {
            hits.push((row.to_string(), group, name.to_string()));
        };
        match outcome {
            Outcome::Ok(value) => {
                hit(&request.op, Group::Outcome, "ok");
                if let Value::Array(items) = value {
                    let size = match items.len() {
                        0 => "empty",
                        1 => "one",
                        _ => "many",
                    };
                    hit(&request.op, Group::Size, size);
                }
            }
            Outcome::Error(e) => hit(&request.op, Group::Outcome, &e.kind.to_string()),
        }
        if !self.declared.iter().any(|d| d.op == request.op) {
            *self.undeclared.entry(request.op.clone()).or_default() += 1;
            return hits;
        }
        for (row, name) in self.domain.observe(request, outcome, state) {
            let group = if row == STORED {
                self.stored.contains(&name).then_some(Group::Data)
            } else {
                self.declared
                    .iter()
                    .filter(|d| d.op == row)
                    .flat_map(|d| &d.features)
                    .find(|(_, n)| *n == name)
                    .map(|(g, _)| *g)
            };
            // A feature the domain observes but does not declare is the domain's bug.
            debug_assert!(group.is_some(), "undeclared feature {row}: {name}");
            if let Some(group) = group {
                hit(&row, group, &name);
            }
        }
        hits
    }

    /// Learns the stored state a request left without counting it: a request another
    /// shard reports, run here for the state a keyless read needs.
    pub fn learn(&mut self, request: &Request, outcome: &Outcome, state: Option<&Value>) {
        if self.declared.iter().any(|d| d.op == request.op) {
            self.domain.observe(request, outcome, state);
        }
    }

    /// The coverage counted so far.
    pub fn coverage(&self) -> Coverage {
        let count = |row: &str, group: Group, name: &str| {
            self.hits
                .get(&(row.to_string(), group, name.to_string()))
                .copied()
                .unwrap_or(0)
        };
        let mut rows = Vec::new();
        for d in &self.declared {
            let mut features = vec![Feature::new(
                Group::Outcome,
                "ok",
                count(&d.op, Group::Outcome, "ok"),
            )];
            for kind in &d.errors {
                let name = kind.to_string();
                let n = count(&d.op, Group::Outcome, &name);
                features.push(Feature::new(Group::Outcome, &name, n));
            }
            if d.list {
                for size in ["empty", "one", "many"] {
                    features.push(Feature::new(
                        Group::Size,
                        size,
                        count(&d.op, Group::Size, size),
                    ));
                }
            }
            for (group, name) in &d.features {
                features.push(Feature::new(*group, name, count(&d.op, *group, name)));
            }
            rows.push(Row {
                op: d.op.to_string(),
                requests: self.requests.get(&d.op).copied().unwrap_or(0),
                features,
            });
        }
        rows.push(Row {
            op: STORED.to_string(),
            requests: 0,
            features: self
                .stored
                .iter()
                .map(|name| Feature::new(Group::Data, name, count(STORED, Group::Data, name)))
                .collect(),
        });
        Coverage {
            domain: self.name.clone(),
            rows,
            undeclared: self.undeclared.clone(),
            unobserved: self.unobserved,
        }
    }
}

/// One declared feature and how many requests exercised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// What kind of feature.
    pub group: Group,
    /// Its name (`ok`, `not_found`, `empty`, `to equals a stored created_at`, ...).
    pub name: String,
    /// How many observed requests exercised it; 0 is a gap.
    pub count: u64,
}

impl Feature {
    fn new(group: Group, name: &str, count: u64) -> Feature {
        Feature {
            group,
            name: name.to_string(),
            count,
        }
    }
}

/// One operation's declared features (or the stored data's, [`STORED`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The operation, or [`STORED`].
    pub op: String,
    /// Requests of the operation observed.
    pub requests: u64,
    /// Every declared feature, in declared order: outcomes, sizes, then the domain's.
    pub features: Vec<Feature>,
}

/// A feature never exercised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Gap {
    /// The operation, or [`STORED`].
    pub op: String,
    /// The feature's group.
    pub group: Group,
    /// The feature's name.
    pub name: String,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.op, self.group.as_str(), self.name)
    }
}

/// What the traffic exercised of the domain's declared features (`report.json`'s
/// `coverage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// The domain whose declarations were counted.
    pub domain: String,
    /// Per operation, then the stored data.
    pub rows: Vec<Row>,
    /// Requests of operations the domain does not declare, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undeclared: BTreeMap<String, u64>,
    /// Requests without a legacy outcome to count (an infrastructure failure).
    #[serde(default)]
    pub unobserved: u64,
}

impl Coverage {
    /// Declared features, and how many of them were exercised at least once.
    pub fn counts(&self) -> (usize, usize) {
        let all = self.rows.iter().flat_map(|r| &r.features);
        let declared = all.clone().count();
        (declared, all.filter(|f| f.count > 0).count())
    }

    /// The share of declared features exercised, 0 to 1 (1 when none are declared).
    pub fn share(&self) -> f64 {
        match self.counts() {
            (0, _) => 1.0,
            (declared, exercised) => exercised as f64 / declared as f64,
        }
    }

    /// Every declared feature never exercised, in declared order.
    pub fn gaps(&self) -> Vec<Gap> {
        self.rows
            .iter()
            .flat_map(|r| {
                r.features.iter().filter(|f| f.count == 0).map(|f| Gap {
                    op: r.op.clone(),
                    group: f.group,
                    name: f.name.clone(),
                })
            })
            .collect()
    }

    /// The gaps among the outcomes: `ok` or a declared error kind never seen.
    pub fn outcome_gaps(&self) -> Vec<Gap> {
        self.gaps()
            .into_iter()
            .filter(|g| g.group == Group::Outcome)
            .collect()
    }

    /// Adds another run's counts of the same domain (shards of one replay).
    pub fn merge(&mut self, other: &Coverage) -> Result<(), CoverageMismatch> {
        if other.domain != self.domain {
            return Err(CoverageMismatch::Domain {
                this: self.domain.clone(),
                other: other.domain.clone(),
            });
        }
        for row in &other.rows {
            let Some(mine) = self.rows.iter_mut().find(|r| r.op == row.op) else {
                return Err(CoverageMismatch::Row(row.op.clone()));
            };
            mine.requests += row.requests;
            for f in &row.features {
                match mine
                    .features
                    .iter_mut()
                    .find(|m| m.group == f.group && m.name == f.name)
                {
                    Some(m) => m.count += f.count,
                    None => {
                        return Err(CoverageMismatch::Feature {
                            op: row.op.clone(),
                            name: f.name.clone(),
                        })
                    }
                }
            }
        }
        for (op, n) in &other.undeclared {
            *self.undeclared.entry(op.clone()).or_default() += n;
        }
        self.unobserved += other.unobserved;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
