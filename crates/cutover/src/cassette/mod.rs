//! Stage 1: the cassette, a recorded stream of requests.
//!
//! A cassette is JSON Lines: one header line, then one [`Request`] per line, optionally
//! gzip-compressed. It is always streamed, never loaded whole: [`Reader`] yields one
//! request at a time and [`Writer`] appends one at a time. The format is documented in
//! `docs/src/cassette.md`.

pub mod inspect;
mod reader;
mod writer;

pub use reader::{Reader, Truncation};
pub use writer::Writer;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::path::PathBuf;

/// The cassette format version this build reads and writes.
pub const VERSION: u64 = 1;

/// The first line of every cassette.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version; a reader refuses a version it does not know.
    pub cutover: u64,
    /// The domain whose operations the requests name (e.g. `conversations`).
    pub domain: String,
    /// Free-form provenance: source, sampling rate, recorder version, ...
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
}

impl Header {
    /// A version-1 header for `domain` with no metadata.
    pub fn new(domain: impl Into<String>) -> Self {
        Header {
            cutover: VERSION,
            domain: domain.into(),
            meta: Map::new(),
        }
    }
}

/// Whether a request may change stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Does not change stored state.
    Read,
    /// May change stored state; after it, the key's state is compared.
    Write,
}

impl Kind {
    /// `read` or `write`, as the cassette spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

/// One recorded request against the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Position in the recording; strictly increasing within a cassette.
    pub seq: u64,
    /// The aggregate the request touches, or `None` for a cross-aggregate request. The
    /// field is required: `null` must be written, a missing `key` is an error.
    #[serde(deserialize_with = "Option::deserialize")]
    pub key: Option<String>,
    /// Operation name, from the domain's vocabulary.
    pub op: String,
    /// Whether the request may change stored state (`read` or `write`).
    pub kind: Kind,
    /// Operation arguments, as the domain defines them.
    pub args: Value,
    /// The recorded clock (RFC 3339), handed to both targets so they agree on "now".
    pub at: String,
    /// The legacy outcome as recorded, if the recorder kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The legacy state of `key` after this write, as recorded, if the recorder kept it.
    /// A recorded `null` (the aggregate is gone) is `Some(Value::Null)`, not "unknown".
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<Value>,
    /// How long the legacy took to answer, in microseconds, as the recorder measured it:
    /// the `recorded` target's latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// When the legacy call started, in microseconds from the start of the recording (the
    /// recorder's monotonic clock, not wall time). With `latency_us`, the call's interval:
    /// requests of one key whose intervals overlap ran concurrently, and the race check
    /// (`replay --races overlap`) groups them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_us: Option<u64>,
    /// Set on a request that was not recorded but derived from the recorded ones to reach
    /// an edge the traffic missed (`cutover probe`, [`crate::probe`]): why it was derived,
    /// e.g. `"date range: to equals a stored created_at"`. `None` on recorded requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// The events the legacy published for this request, in order, as recorded (the
    /// recorder keeps them where its target reports them): the `recorded` target's events.
    /// `None`: not recorded; `Some([])`: recorded, and none was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
}

/// One event a repository published while it served a request (a domain event such as
/// `message_posted`): a third part of a write's behaviour beside its answer and stored state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's name, e.g. `message_posted`.
    pub name: String,
    /// What the event carries.
    #[serde(default)]
    pub payload: Value,
    /// Set by a target that watches its store at publication ([`crate::targets::events`]):
    /// when the event arrived, the aggregate it is about did not yet hold the write that
    /// published it, so it was published before that write committed. Never recorded as
    /// `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub before_commit: bool,
}

impl Event {
    /// An event named `name` carrying `payload`.
    pub fn new(name: impl Into<String>, payload: Value) -> Event {
        Event {
            name: name.into(),
            payload,
            before_commit: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Request {
    /// A request as a recorder writes it before the store answered: no outcome, state,
    /// latency or probe mark.
    pub fn new(
        seq: u64,
        key: Option<&str>,
        op: &str,
        kind: Kind,
        args: Value,
        at: impl Into<String>,
    ) -> Request {
        Request {
            seq,
            key: key.map(str::to_string),
            op: op.to_string(),
            kind,
            args,
            at: at.into(),
            outcome: None,
            state: None,
            latency_us: None,
            started_us: None,
            probe: None,
            events: None,
        }
    }
}

/// A field that, when present, is `Some` even if it is `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What a repository answered: a value, or an error of a kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The operation succeeded with this value (`{"ok": ...}`).
    Ok(Value),
    /// The operation failed with a domain error (`{"error": {...}}`).
    Error(ErrorOutcome),
}

/// A domain error. Errors compare by [`ErrorKind`]; messages differ between stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorOutcome {
    /// What went wrong; the only part of an error that is compared.
    pub kind: ErrorKind,
    /// A human-readable message, optional in the cassette (empty when absent); never compared.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Outcome {
    /// An error outcome of `kind` with a human message.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Outcome::Error(ErrorOutcome {
            kind,
            message: message.into(),
        })
    }
}

/// The shared error vocabulary that both repositories' errors are mapped onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The addressed aggregate or element does not exist.
    NotFound,
    /// A uniqueness constraint was violated (duplicate id, ...).
    Conflict,
    /// The arguments were rejected.
    Invalid,
    /// A precondition such as an expected version did not hold.
    PreconditionFailed,
    /// The caller may not do this.
    PermissionDenied,
    /// The repository does not support the operation.
    Unsupported,
    /// The repository failed for a reason of its own (not an infrastructure failure).
    Internal,
    /// The store gave up on the request because of another one running at the same time
    /// (a deadlock, a serialization failure, an optimistic version that never matched); a
    /// retry may succeed. No serial order of requests raises it.
    Aborted,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self).expect("unit variant serializes");
        f.write_str(text.as_str().unwrap_or("?"))
    }
}

/// A cassette that cannot be read, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    /// The file could not be opened, read or written.
    #[error("cassette {}: {source}", path.display())]
    Io {
        /// The cassette file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The content breaks the cassette format.
    #[error("cassette {} line {line}{}: {what}", path.display(), column.map(|c| format!(" column {c}")).unwrap_or_default())]
    Invalid {
        /// The cassette file.
        path: PathBuf,
        /// 1-based line number of the offending line.
        line: u64,
        /// 1-based column within the line, when it is known.
        column: Option<u64>,
        /// What is wrong, for people.
        what: String,
    },
}
