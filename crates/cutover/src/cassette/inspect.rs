//! A cassette at a glance: its header (domain, sampling, redactions), operations with their
//! outcomes, keys, the recorded time span, and a truncated last line if there is one. Read in
//! one streaming pass; memory grows with the number of distinct keys only.

use super::{CassetteError, Kind, Outcome, Reader, Truncation};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// What `cutover inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The cassette's path, as given.
    pub path: String,
    /// Size of the file on disk in bytes (compressed size for a gzip cassette; 0 if unknown).
    pub bytes: u64,
    /// The header's domain.
    pub domain: String,
    /// The header's free-form metadata.
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Number of requests read (a truncated last line not included).
    pub requests: u64,
    /// Number of distinct non-null keys.
    pub keys: u64,
    /// Number of requests whose key is `null`.
    pub keyless: u64,
    /// `seq` of the first request, if there is one.
    pub first_seq: Option<u64>,
    /// `seq` of the last request, if there is one.
    pub last_seq: Option<u64>,
    /// Earliest `at`, as written.
    pub from: Option<String>,
    /// Latest `at`, as written.
    pub to: Option<String>,
    /// Per-operation summary, by operation name.
    pub operations: BTreeMap<String, OpSummary>,
    /// The cut-short last line that was skipped, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// One operation in a cassette.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpSummary {
    /// The operation's kind, as its last request declared it.
    pub kind: Option<Kind>,
    /// Number of requests of this operation.
    pub requests: u64,
    /// Requests with a recorded outcome.
    pub recorded: u64,
    /// Of the recorded outcomes, the errors: count by error kind (`not_found`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Writes with a recorded state.
    pub states: u64,
}

/// Reads `path` whole and summarizes it.
pub fn inspect(path: &Path) -> Result<Inspection, CassetteError> {
    let mut reader = Reader::open(path)?;
    let header = reader.header().clone();
    let mut keys = HashSet::new();
    let mut out = Inspection {
        path: path.display().to_string(),
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        domain: header.domain.clone(),
        meta: header.meta.clone(),
        requests: 0,
        keys: 0,
        keyless: 0,
        first_seq: None,
        last_seq: None,
        from: None,
        to: None,
        operations: BTreeMap::new(),
        truncated: None,
    };
    while let Some(r) = reader.next_request()? {
        out.requests += 1;
        out.first_seq.get_or_insert(r.seq);
        out.last_seq = Some(r.seq);
        match &r.key {
            Some(k) => {
                if !keys.contains(k.as_str()) {
                    keys.insert(k.clone());
                }
            }
            None => out.keyless += 1,
        }
        // RFC 3339 in UTC sorts as text; other offsets are compared as written.
        if out.from.as_ref().is_none_or(|f| r.at < *f) {
            out.from = Some(r.at.clone());
        }
        if out.to.as_ref().is_none_or(|t| r.at > *t) {
            out.to = Some(r.at.clone());
        }
        let op = out.operations.entry(r.op.clone()).or_default();
        op.kind = Some(r.kind);
        op.requests += 1;
        match &r.outcome {
            Some(Outcome::Error(e)) => {
                op.recorded += 1;
                *op.errors.entry(e.kind.to_string()).or_default() += 1;
            }
            Some(Outcome::Ok(_)) => op.recorded += 1,
            None => {}
        }
        op.states += u64::from(r.state.is_some());
    }
    out.keys = keys.len() as u64;
    out.truncated = reader.truncation().cloned();
    Ok(out)
}

/// The inspection as text.
pub fn render(i: &Inspection) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cassette {} ({} bytes), domain {}",
        i.path, i.bytes, i.domain
    );
    for (k, v) in &i.meta {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "  {k}: {text}");
    }
    let _ = writeln!(
        out,
        "{} requests (seq {} to {}), {} keys, {} keyless",
        i.requests,
        i.first_seq.map_or("-".into(), |s| s.to_string()),
        i.last_seq.map_or("-".into(), |s| s.to_string()),
        i.keys,
        i.keyless
    );
    if let (Some(from), Some(to)) = (&i.from, &i.to) {
        let _ = writeln!(out, "recorded from {from} to {to}");
    }
    let _ = writeln!(
        out,
        "\n{:<26}{:<7}{:>9}{:>10}{:>8}  errors",
        "operation", "kind", "requests", "recorded", "states"
    );
    for (name, op) in &i.operations {
        let errors: Vec<String> = op.errors.iter().map(|(k, n)| format!("{k}:{n}")).collect();
        let _ = writeln!(
            out,
            "{:<26}{:<7}{:>9}{:>10}{:>8}  {}",
            name,
            op.kind.unwrap_or(Kind::Read).as_str(),
            op.requests,
            op.recorded,
            op.states,
            errors.join(" ")
        );
    }
    if let Some(t) = &i.truncated {
        let _ = writeln!(
            out,
            "\nwarning: line {} is truncated ({} bytes) and was skipped: the recorder stopped mid-line",
            t.line, t.bytes
        );
    }
    out
}
