//! Stage 1b: probes, requests derived from the recorded ones to reach the edges the
//! recorded traffic missed.
//!
//! Recorded traffic is what clients happened to do: a date range whose ends fall between
//! stored values, pages well inside the list, errors only where clients made them. A
//! candidate can be wrong at every edge it never reaches (an inclusive bound made exclusive,
//! an unescaped LIKE pattern, a delete of nothing that answers ok) and still replay
//! equivalent. A [`Deriver`] watches a cassette go by and derives, per domain, a bounded,
//! deterministic set of **probes** to append after the recorded requests: reads first (range
//! ends equal to stored values and one tick either side, limits and offsets at and past the
//! ends, other case, LIKE metacharacters, absent ids), then **error-path writes** that must
//! fail, and so change nothing, on a correct store (a participant removed that does not take
//! part, a conversation created twice, ...). Run at the end, after all recorded traffic, the
//! writes find their keys' final state; failing on the legacy they change nothing there, and
//! a candidate that does not fail shows as a divergence of outcome and state.
//!
//! Each probe is a [`Request`] with `probe` set to why it was derived (a fixed text per kind
//! of probe, counted by [`kinds`]), `seq` continuing after the last recorded one and `at`
//! after the latest recorded `at`. Same cassette, same probes: nothing here reads a clock or
//! iterates a hash map, and samples are chosen by a hash of their content, not by position.
//! What is derived, and the bounds: `docs/src/probes.md`.
//!
//! Each domain derives its own probes through a [`Prober`] its kit gives
//! ([`crate::domain::DomainKit::prober`]): the built-in `kv` domain's in `crate::kv`, the
//! reference domain's in `cutover-conversations`. [`pick`] holds the deterministic samples
//! (by a hash of their content) they share.

pub mod pick;
#[cfg(test)]
mod tests;

use crate::cassette::{CassetteError, Header, Kind, Reader, Request, Writer};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How the `probe` text of a sequence probe starts: a sequence repeats requests on
/// purpose, so its probes are never merged with an equal one.
pub const SEQUENCE: &str = "sequence: ";

/// The header `meta` field that counts the probes a cassette holds.
pub const META_PROBES: &str = "probes";

/// Why probes cannot be derived.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No probes are known for the cassette's domain.
    #[error("no probes are known for domain `{domain}` (known: {known}); declare it with `--domain FILE` (docs/src/domain.md)")]
    UnknownDomain {
        /// The cassette's domain.
        domain: String,
        /// The domains that derive probes, comma-separated.
        known: String,
    },
    /// The cassette cannot be read or written.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// The cassette already holds probes: probes are derived from recorded traffic only.
    #[error("cassette {} already holds {count} probes (derive them from the recording)", path.display())]
    AlreadyProbed {
        /// The cassette.
        path: PathBuf,
        /// How many probes it holds.
        count: u64,
    },
    /// The output would overwrite the input.
    #[error("the output {} is the input cassette", path.display())]
    SameFile {
        /// The path given for both.
        path: PathBuf,
    },
}

/// A probe before its place in the cassette is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The key it touches (`None`: keyless).
    pub key: Option<String>,
    /// The operation.
    pub op: String,
    /// Read or write.
    pub kind: Kind,
    /// Its arguments.
    pub args: Value,
    /// The kind of probe: a fixed text, the cassette's `probe`.
    pub why: String,
}

/// A probe of one key.
pub fn keyed(
    key: &str,
    op: impl Into<String>,
    kind: Kind,
    args: Value,
    why: impl Into<String>,
) -> Probe {
    Probe {
        key: Some(key.to_string()),
        op: op.into(),
        kind,
        args,
        why: why.into(),
    }
}

/// One domain's view of the recorded traffic: it watches the recorded requests in cassette
/// order, then derives the probes.
pub trait Prober: Send {
    /// Takes in one recorded request (never a probe).
    fn observe(&mut self, request: &Request);

    /// The probes, in the order to append them (the same probe twice is sent once).
    fn probes(self: Box<Self>) -> Vec<Probe>;
}

/// Derives the probes of one cassette: [`Deriver::observe`] each recorded request in
/// cassette order, then [`Deriver::finish`]. Memory grows with the keys and their slim
/// state, never with the number of requests.
pub struct Deriver {
    domain: Box<dyn Prober>,
    last_seq: Option<u64>,
    latest_at: Option<DateTime<Utc>>,
    recorded: u64,
}

impl Deriver {
    /// A deriver around a domain's prober (`Registry::prober` finds it by name).
    pub fn new(domain: Box<dyn Prober>) -> Deriver {
        Deriver {
            domain,
            last_seq: None,
            latest_at: None,
            recorded: 0,
        }
    }

    /// Takes in the next request of the cassette. A request that is itself a probe only
    /// moves `seq` and `at` on: probes are derived from recorded traffic.
    pub fn observe(&mut self, request: &Request) {
        self.last_seq = self.last_seq.max(Some(request.seq));
        if let Ok(at) = DateTime::parse_from_rfc3339(&request.at) {
            self.latest_at = self.latest_at.max(Some(at.with_timezone(&Utc)));
        }
        if request.probe.is_some() {
            return;
        }
        self.recorded += 1;
        self.domain.observe(request);
    }

    /// The probes, in the order to append them: `seq` from one past the last observed, `at`
    /// one second after the latest observed (or the Unix epoch, if none parsed) and one
    /// millisecond apart. None for a cassette without recorded requests.
    pub fn finish(self) -> Vec<Request> {
        if self.recorded == 0 {
            return Vec::new();
        }
        let probes = self.domain.probes();
        let first_seq = self.last_seq.map_or(1, |s| s + 1);
        let start = self.latest_at.unwrap_or(DateTime::UNIX_EPOCH) + Duration::seconds(1);
        let mut seen = BTreeSet::new();
        probes
            .into_iter()
            // The same request derived twice (two edges that meet) is sent once; a
            // sequence repeats requests on purpose.
            .filter(|p| {
                p.why.starts_with(SEQUENCE)
                    || seen.insert((p.key.clone(), p.op.clone(), p.args.to_string()))
            })
            .enumerate()
            .map(|(i, p)| Request {
                events: None,
                seq: first_seq + i as u64,
                key: p.key,
                op: p.op.to_string(),
                kind: p.kind,
                args: p.args,
                at: (start + Duration::milliseconds(i as i64))
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
                outcome: None,
                state: None,
                latency_us: None,
                started_us: None,
                probe: Some(p.why.to_string()),
            })
            .collect()
    }
}

/// The probes of `requests` (a whole cassette of the prober's domain, in order), to append
/// after them.
pub fn derive(domain: Box<dyn Prober>, requests: &[Request]) -> Vec<Request> {
    let mut deriver = Deriver::new(domain);
    requests.iter().for_each(|r| deriver.observe(r));
    deriver.finish()
}

/// How many probes of each kind (the `probe` text), in text order.
pub fn kinds<'r>(requests: impl IntoIterator<Item = &'r Request>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for why in requests.into_iter().filter_map(|r| r.probe.as_ref()) {
        *counts.entry(why.clone()).or_default() += 1;
    }
    counts
}

/// What [`append`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The recorded requests copied.
    pub recorded: u64,
    /// The probes appended, by kind (see [`kinds`]).
    pub kinds: BTreeMap<String, u64>,
    /// The cassette's truncated last line, skipped, if it had one.
    pub truncated_line: Option<u64>,
}

impl Appended {
    /// How many probes were appended.
    pub fn probes(&self) -> u64 {
        self.kinds.values().sum()
    }
}

/// Writes `output`: the cassette `input` with its probes appended, and `"probes": N` in
/// its header's `meta`. The input is read twice, streaming: once whole (so a malformed
/// line is reported, with its file and line, before anything is written), then copied. A
/// cassette that already holds probes is refused. `prober` gives the prober of the
/// cassette's domain, by name (`|d| registry.prober(d)`).
pub fn append(
    input: &Path,
    output: &Path,
    prober: impl FnOnce(&str) -> Result<Box<dyn Prober>, ProbeError>,
) -> Result<Appended, ProbeError> {
    if same_file(input, output) {
        return Err(ProbeError::SameFile {
            path: output.to_path_buf(),
        });
    }
    let mut reader = Reader::open(input)?;
    let mut header: Header = reader.header().clone();
    let mut deriver = Deriver::new(prober(&header.domain)?);
    let mut already = header
        .meta
        .get(META_PROBES)
        .and_then(Value::as_u64)
        .unwrap_or(0);
    while let Some(request) = reader.next_request()? {
        already += u64::from(request.probe.is_some());
        deriver.observe(&request);
    }
    if already > 0 {
        return Err(ProbeError::AlreadyProbed {
            path: input.to_path_buf(),
            count: already,
        });
    }
    let truncated_line = reader.truncation().map(|t| t.line);
    let recorded = reader.requests_read();
    let probes = deriver.finish();
    header
        .meta
        .insert(META_PROBES.into(), Value::from(probes.len() as u64));
    let mut writer = Writer::create(output, &header)?;
    let mut copy = Reader::open(input)?;
    while let Some(request) = copy.next_request()? {
        writer.write(&request)?;
    }
    for probe in &probes {
        writer.write(probe)?;
    }
    writer.finish()?;
    Ok(Appended {
        recorded,
        kinds: kinds(&probes),
        truncated_line,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
