//! What the replay emits for each request, and where it goes.

use crate::cassette::{Event, Kind, Outcome, Request};
use crate::diff::Divergence;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Both sides answered alike (and stored alike, after a write).
    Equal,
    /// At least one divergence.
    Divergent,
    /// A side could not be asked (refused, timeout, dropped): no verdict either way.
    Inconclusive,
}

/// How the stored state after a write compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateCheck {
    /// Both sides stored alike.
    Equal,
    /// The stored states differ.
    Divergent,
    /// A side cannot tell its state (e.g. a recording without states).
    Unchecked,
    /// Reading a side's state failed.
    Inconclusive,
}

/// One side's answer to one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// How long `execute` took, in microseconds; none where the target cannot tell (a
    /// `recorded` legacy whose cassette has no `latency_us` for the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// The outcome; kept in results only when the request was not equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The infrastructure failure, if this side could not be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The events this side published, in order; kept, as the outcome, only when the
    /// request was not equal and the side told its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
}

/// The result of replaying one request on both sides: one line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestResult {
    /// 0-based position of the request in the cassette.
    pub index: u64,
    /// The request's `seq`, from the cassette.
    pub seq: u64,
    /// The request's key; `None` for a keyless request.
    pub key: Option<String>,
    /// The request's operation name.
    pub op: String,
    /// Whether the request was a read or a write.
    pub kind: Kind,
    /// The verdict on the request.
    pub status: Status,
    /// The request's arguments, kept only when the request was not equal (as the
    /// outcomes), so that a divergence can be read with the call that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    /// The legacy side's answer.
    pub legacy: Side,
    /// The candidate side's answer.
    pub candidate: Side,
    /// What differs between the two sides, in the outcome then the stored state, after
    /// normalization and without noise; each comparison keeps at most
    /// [`crate::diff::MAX_DIVERGENCES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub divergences: Vec<Divergence>,
    /// Divergences found but not kept (see [`crate::diff::MAX_DIVERGENCES`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
    /// The state check after a write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCheck>,
    /// How the events the request published compared (`docs/src/events.md`): absent when
    /// the legacy does not tell its events, `unchecked` when only the candidate cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<StateCheck>,
    /// The seq of an earlier inconclusive write that left this key (or, for a keyless
    /// request, some key) in an unknown state; set when that turned a divergence into
    /// an inconclusive result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tainted_by: Option<u64>,
    /// Differences at paths known to be noise (see `ReplayOptions::noise`), not counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub noise: u64,
    /// Whether the request was a probe (derived, not recorded: the cassette's `probe`),
    /// counted apart in the report.
    #[serde(default, skip_serializing_if = "is_false")]
    pub probe: bool,
    /// With a settle window (`docs/src/settle.md`): the lag, in µs, from the start of the
    /// candidate's first answer (a read's, or the state read back after a write) to the
    /// start of the retry that agreed with the legacy; set only when a retry agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_us: Option<u64>,
    /// With a settle window: how many times the candidate's read or state read-back was
    /// asked again because it differed (0, and absent, without a retry).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub settle_retries: u32,
    /// For a divergent request: the seq of the earlier divergent request it follows (its
    /// key's first, or the run's first for a keyless request; see
    /// [`Causes`](super::causes::Causes)). Absent on a cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RequestResult {
    /// The result for the `index`-th request of a cassette with `status`, before anything
    /// else is known of it; with the request's arguments when `status` is not equal.
    pub fn of(index: u64, request: &Request, status: Status) -> RequestResult {
        RequestResult {
            index,
            seq: request.seq,
            key: request.key.clone(),
            op: request.op.clone(),
            kind: request.kind,
            status,
            args: (status != Status::Equal).then(|| request.args.clone()),
            legacy: Side::default(),
            candidate: Side::default(),
            divergences: Vec::new(),
            omitted: 0,
            state: None,
            events: None,
            tainted_by: None,
            noise: 0,
            probe: request.probe.is_some(),
            settled_us: None,
            settle_retries: 0,
            follows: None,
        }
    }

    /// A result with only its place, key, kind and status set: for unit tests.
    #[cfg(test)]
    pub(crate) fn for_test(
        seq: u64,
        key: Option<&str>,
        kind: Kind,
        status: Status,
    ) -> RequestResult {
        let request = Request::new(seq, key, "op", kind, serde_json::Value::Null, "");
        RequestResult::of(seq, &request, status)
    }
}

/// Receives results in cassette order. `Send`: the replay (and its sinks) may run as a
/// task on any of the runtime's threads, as `cutover replay` runs it.
pub trait Sink: Send {
    /// Takes the next result; an error stops the replay ([`super::ReplayError::Sink`]).
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()>;
}

/// Keeps every result in memory, in cassette order: for tests and small replays.
#[derive(Debug, Default)]
pub struct Collect(pub Vec<RequestResult>);

impl Sink for Collect {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.0.push(result.clone());
        Ok(())
    }
}

/// Streams results to a JSON Lines file, one whole line per result.
pub struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
    line: Vec<u8>,
}

impl JsonlSink {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<JsonlSink> {
        let path = path.as_ref().to_path_buf();
        let out = BufWriter::with_capacity(1 << 16, File::create(&path)?);
        Ok(JsonlSink {
            path,
            out,
            line: Vec::with_capacity(1024),
        })
    }

    /// Goes on writing the file at `path` after its first `keep` bytes (what was written
    /// after them is dropped): a resumed run's results.
    pub fn resume(path: impl AsRef<Path>, keep: u64) -> std::io::Result<JsonlSink> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new().write(true).open(&path)?;
        file.set_len(keep)?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))?;
        Ok(JsonlSink {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            line: Vec::with_capacity(1024),
        })
    }

    /// Flushes what is buffered and answers how long the file is.
    pub fn written(&mut self) -> std::io::Result<u64> {
        self.out.flush()?;
        Ok(self.out.get_ref().metadata()?.len())
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes what is buffered to the file, which stays open.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Flushes the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Sink for JsonlSink {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, result)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }
}
