//! Probes from a declaration: requests at the edges every declared argument class has
//! (the table in `docs/src/domain.md`), every declared error provoked, text written at its
//! edges, and sequence probes ([`super::sequences`]), for any domain by the same code. A
//! built-in domain's own prober ([`DeclaredProber::with_own`]) adds its domain's probes
//! after these.
//!
//! Deterministic: recorded requests are sampled by a hash of their content
//! ([`crate::probe::pick`]), keys and values are kept in ordered maps, and absent keys are
//! chosen from the recorded ones' shape, never from a clock or a random source.

use super::stored::{point, step, Stored};
use super::{sequences, Argument, Class, Declaration, KeyMode, Operation, Provoke, Type};
use crate::cassette::{Kind, Outcome, Request};
use crate::probe::pick::{lowest, Sample};
use crate::probe::{Probe, Prober};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

/// Recorded requests of each operation sampled for probes.
const PER_OP: usize = 3;
/// Stored values of a bounded field tried per bound.
const POINTS: usize = 2;
/// Keys an error path is tried on.
const KEYS: usize = 2;
/// Characters of the very long text probe.
pub const LONG_TEXT: usize = 10_000;

/// A recorded request kept for probes.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub key: Option<String>,
    pub args: Value,
    /// The answer's list size, for a list.
    pub size: Option<u64>,
}

/// The declared prober: what the recorded traffic showed, as the declaration reads it.
pub struct DeclaredProber {
    declaration: Arc<Declaration>,
    own: Option<Box<dyn Prober>>,
    /// What the recorded traffic left stored.
    stored: Stored,
    /// Per operation, a sample of its recorded requests.
    samples: BTreeMap<String, Sample<Recorded>>,
    /// Per (operation, argument), a sample of its recorded requests that give the argument.
    by_arg: BTreeMap<(String, String), Sample<Recorded>>,
    /// Per operation, a sample of (key, args) of its successful keyed writes.
    successes: BTreeMap<String, Sample<(String, Value)>>,
    /// Per key, its distinct successful keyed writes, in recorded order (bounded).
    writes: BTreeMap<String, Vec<(String, Value)>>,
}

impl DeclaredProber {
    /// The prober of `declaration`.
    pub fn new(declaration: Arc<Declaration>) -> DeclaredProber {
        DeclaredProber {
            stored: Stored::new(&declaration),
            declaration,
            own: None,
            samples: BTreeMap::new(),
            by_arg: BTreeMap::new(),
            successes: BTreeMap::new(),
            writes: BTreeMap::new(),
        }
    }

    /// With a built-in domain's own prober, whose probes follow the declared ones.
    pub fn with_own(mut self, own: Box<dyn Prober>) -> DeclaredProber {
        self.own = Some(own);
        self
    }
}

impl Prober for DeclaredProber {
    fn observe(&mut self, request: &Request) {
        if let Some(own) = &mut self.own {
            own.observe(request);
        }
        let declaration = Arc::clone(&self.declaration);
        let Some(op) = declaration.op(&request.op) else {
            return;
        };
        // A write not recorded as refused (a cassette without outcomes) counts as done.
        let ok = !matches!(request.outcome, Some(Outcome::Error(_)));
        let size = match &request.outcome {
            Some(Outcome::Ok(Value::Array(items))) => Some(items.len() as u64),
            _ => None,
        };
        let text = format!("{:?} {}", request.key, request.args);
        let recorded = Recorded {
            key: request.key.clone(),
            args: request.args.clone(),
            size,
        };
        for (name, _) in op
            .args
            .iter()
            .filter(|(n, _)| !request.args[n.as_str()].is_null())
        {
            self.by_arg
                .entry((op.name.clone(), name.clone()))
                .or_insert_with(|| Sample::new(PER_OP))
                .offer(text.clone(), recorded.clone());
        }
        self.samples
            .entry(op.name.clone())
            .or_insert_with(|| Sample::new(PER_OP))
            .offer(text, recorded);
        self.stored.learn(
            op,
            request,
            request.outcome.as_ref(),
            request.state.as_ref(),
        );
        if let (KeyMode::Keyed, Kind::Write, Some(key), true) = (op.key, op.kind, &request.key, ok)
        {
            let write = (op.name.clone(), request.args.clone());
            self.successes
                .entry(op.name.clone())
                .or_insert_with(|| Sample::new(KEYS))
                .offer(
                    format!("{key} {}", request.args),
                    (key.clone(), request.args.clone()),
                );
            let writes = self.writes.entry(key.clone()).or_default();
            if writes.len() < sequences::ALPHABET && !writes.contains(&write) {
                writes.push(write);
            }
        }
    }

    /// In order: reads (the domain's own, then the declared), then the writes that must
    /// fail (own, then declared), then the writes of edge values, then the sequences; so
    /// every read and error path finds the state the recording left.
    fn probes(self: Box<Self>) -> Vec<Probe> {
        let mut this = *self;
        let (own_reads, own_writes): (Vec<Probe>, Vec<Probe>) = match this.own.take() {
            Some(own) => own.probes().into_iter().partition(|p| p.kind == Kind::Read),
            None => (Vec::new(), Vec::new()),
        };
        let mut out = own_reads;
        let absent = absent_key(this.stored.keys());
        let writes: Vec<&Operation> = this
            .declaration
            .ops
            .iter()
            .filter(|o| o.kind == Kind::Write)
            .collect();
        for op in this.declaration.ops.iter().filter(|o| o.kind == Kind::Read) {
            out.extend(this.keys_of(op, &absent));
            out.extend(this.variants(op, &absent, PER_OP));
        }
        out.extend(own_writes);
        for op in &writes {
            out.extend(this.error_paths(op, &absent));
        }
        for op in &writes {
            if let Some(rec) = this.recorded(op).into_iter().next() {
                out.extend(this.texts(op, &rec));
            }
            out.extend(this.variants(op, &absent, 1));
        }
        out.extend(sequences::derive(&this.declaration, &this.writes));
        out
    }
}

impl DeclaredProber {
    /// The sampled recorded requests of `op`, or its `example` when the traffic has none.
    fn recorded(&self, op: &Operation) -> Vec<Recorded> {
        match self.samples.get(&op.name) {
            Some(sample) => sample.items().cloned().collect(),
            None => op
                .example
                .iter()
                .map(|args| Recorded {
                    key: None,
                    args: args.clone(),
                    size: None,
                })
                .collect(),
        }
    }

    /// Arguments for `op` from a recorded request of it (or its example, or none).
    fn args_for(&self, op: &Operation) -> Value {
        self.recorded(op)
            .into_iter()
            .next()
            .map(|r| r.args)
            .or_else(|| op.example.clone())
            .unwrap_or_else(|| json!({}))
    }

    /// A keyed read of a key never stored and of a key deleted.
    fn keys_of(&self, op: &Operation, absent: &str) -> Vec<Probe> {
        if op.key != KeyMode::Keyed {
            return Vec::new();
        }
        let args = self.args_for(op);
        let mut out = vec![op.probe(
            Some(absent),
            args.clone(),
            format!("{}: absent key", op.name),
        )];
        let gone = self
            .stored
            .keys()
            .iter()
            .filter(|(_, h)| !**h)
            .map(|(k, _)| k);
        if let Some(gone) = lowest(gone, 1).into_iter().next() {
            out.push(op.probe(Some(gone), args, format!("{}: deleted key", op.name)));
        }
        out
    }

    /// For each argument, up to `n` recorded requests that give it, each with the argument
    /// at its class's edges (and absent, when it is optional). Search text at an edge is
    /// also sent with the other optional arguments dropped, so that it meets stored text.
    fn variants(&self, op: &Operation, absent: &str, n: usize) -> Vec<Probe> {
        let mut out = Vec::new();
        for (name, a) in &op.args {
            let given = self.by_arg.get(&(op.name.clone(), name.clone()));
            let recs: Vec<Recorded> = match given {
                Some(sample) => sample.items().take(n).cloned().collect(),
                None => self.recorded(op).into_iter().take(n).collect(),
            };
            for rec in recs {
                let Value::Object(args) = &rec.args else {
                    continue;
                };
                let mut vary = |changed: Map<String, Value>, what: &str| {
                    let why = format!("{}: {name} {what}", op.name);
                    out.push(op.probe(rec.key.as_deref(), Value::Object(changed), why));
                };
                let value = args.get(name).filter(|v| !v.is_null());
                if a.optional && value.is_some() {
                    let mut changed = args.clone();
                    changed.remove(name);
                    vary(changed, "absent");
                }
                for (v, what) in self.edges(op, name, a, value, &rec, absent, args) {
                    let mut changed = args.clone();
                    changed.insert(name.clone(), v);
                    if a.class == Some(Class::SearchText) {
                        let alone = changed
                            .iter()
                            .filter(|(k, _)| {
                                *k == name || op.args.get(*k).is_none_or(|a| !a.optional)
                            })
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        vary(alone, &format!("{what}, other filters dropped"));
                    }
                    vary(changed, &what);
                }
            }
        }
        out
    }

    /// The edge values of one argument, each with what it is.
    #[allow(clippy::too_many_arguments)]
    fn edges(
        &self,
        op: &Operation,
        name: &str,
        a: &Argument,
        value: Option<&Value>,
        rec: &Recorded,
        absent: &str,
        args: &Map<String, Value>,
    ) -> Vec<(Value, String)> {
        let mut out = Vec::new();
        match a.class {
            Some(Class::Id) => out.push((id_like(value, absent), "absent from the store".into())),
            Some(Class::SearchText) => {
                if let Some(s) = value.and_then(Value::as_str) {
                    out.extend(search_edges(s));
                }
            }
            Some(Class::Enum) => {
                for v in a.values.iter().filter(|v| Some(*v) != value) {
                    out.push((v.clone(), format!("= {}", super::features::plain(v))));
                }
                out.push((invalid(a), "outside its values".into()));
            }
            Some(Class::LowerBound | Class::UpperBound) => {
                out.extend(self.bound_edges(a, value));
                if let Some((upper, u)) = crossed(op, name, a, args) {
                    out.push((u, format!("after {upper} (the bounds crossed)")));
                }
            }
            Some(Class::Limit) => {
                let recorded = value.and_then(Value::as_u64);
                for n in [0, 1].into_iter().filter(|n| a.accepts(*n)) {
                    out.push((json!(n), n.to_string()));
                }
                if let Some(n) = rec.size.filter(|n| *n > 1 && Some(*n) != recorded) {
                    out.push((json!(n), "at the answer's size".into()));
                }
                if let Some(n) = rec.size {
                    out.push((json!(n + 1), "one past the answer's size".into()));
                }
            }
            Some(Class::Offset) => {
                let o = value.and_then(Value::as_u64).unwrap_or(0);
                if o != 0 {
                    out.push((json!(0), "0".into()));
                }
                let limit = op
                    .args_of(Class::Limit)
                    .find_map(|(n, _)| args.get(n)?.as_u64());
                if let Some(n) = rec.size.filter(|n| *n > 0 && limit.is_none_or(|l| *n < l)) {
                    out.push((json!(o + n - 1), "at the last element".into()));
                    out.push((json!(o + n), "at the end".into()));
                }
                out.push((json!(1_000_000), "far past the end".into()));
            }
            Some(Class::FreeText) | None => {}
        }
        if matches!(a.ty, Type::Integer | Type::Number) {
            for (bound, what) in [(a.min, "minimum"), (a.max, "maximum")] {
                if let Some(b) = bound {
                    out.push((json!(b), format!("at its {what}")));
                    let outside = if what == "minimum" {
                        b.checked_sub(1)
                    } else {
                        b.checked_add(1)
                    };
                    if let Some(o) = outside {
                        out.push((json!(o), format!("outside its {what}")));
                    }
                }
            }
        }
        out
    }

    /// A bound at stored values of its field and one step either side.
    fn bound_edges(&self, a: &Argument, value: Option<&Value>) -> Vec<(Value, String)> {
        let field = a.field.as_deref().unwrap_or("?");
        let texts: Vec<String> = self
            .stored
            .points(field)
            .iter()
            .map(|p| p.to_string())
            .collect();
        let mut out = Vec::new();
        for text in lowest(&texts, POINTS) {
            let p: i128 = text.parse().expect("a point's text");
            let s = step(a.ty);
            for (q, what) in [
                (p, "equal to"),
                (p - s, "one step below"),
                (p + s, "one step above"),
            ] {
                if let Some(v) = format_point(q, a.ty, value) {
                    out.push((v, format!("{what} a stored {field}")));
                }
            }
        }
        out
    }

    /// Every declared error provoked.
    fn error_paths(&self, op: &Operation, absent: &str) -> Vec<Probe> {
        let mut out = Vec::new();
        let args = self.args_for(op);
        let key = self.recorded(op).into_iter().next().and_then(|r| r.key);
        for (kind, how) in op.provokes() {
            let why = |what: &str| format!("error path: {} {what} ({kind})", op.name);
            match &how {
                Provoke::AbsentKey => {
                    out.push(op.probe(Some(absent), args.clone(), why("on an absent key")));
                }
                Provoke::ExistingKey => {
                    let holding = self
                        .stored
                        .keys()
                        .iter()
                        .filter(|(_, h)| **h)
                        .map(|(k, _)| k);
                    for k in lowest(holding, KEYS) {
                        out.push(op.probe(Some(k), args.clone(), why("on an existing key")));
                    }
                }
                Provoke::Repeat => {
                    for (k, a) in self.successes.get(&op.name).iter().flat_map(|s| s.items()) {
                        out.push(op.probe(Some(k), a.clone(), why("repeated")));
                    }
                }
                Provoke::Absent(arg)
                | Provoke::Invalid(arg)
                | Provoke::Empty(arg)
                | Provoke::Negative(arg) => {
                    let mut changed = args.as_object().cloned().unwrap_or_default();
                    let declared = op.args.get(arg).cloned().unwrap_or_default();
                    let value = match &how {
                        Provoke::Absent(_) => id_like(changed.get(arg), absent),
                        Provoke::Invalid(_) => invalid(&declared),
                        Provoke::Empty(_) => json!(""),
                        _ => json!(-1),
                    };
                    changed.insert(arg.clone(), value);
                    let key = if op.key == KeyMode::Keyed {
                        key.as_deref()
                    } else {
                        None
                    };
                    out.push(op.probe(key, Value::Object(changed), why(&how.to_string())));
                }
            }
        }
        out
    }

    /// A recorded write with each free-text argument at its edges.
    fn texts(&self, op: &Operation, rec: &Recorded) -> Vec<Probe> {
        let mut out = Vec::new();
        let Value::Object(args) = &rec.args else {
            return out;
        };
        for (name, _) in op.args_of(Class::FreeText) {
            let Some(text) = args.get(name).and_then(Value::as_str) else {
                continue;
            };
            for (v, what) in text_edges(text) {
                let mut changed = args.clone();
                changed.insert(name.clone(), json!(v));
                let why = format!("{}: {name} {what}", op.name);
                out.push(op.probe(rec.key.as_deref(), Value::Object(changed), why));
            }
        }
        out
    }
}

/// A key nothing was stored at, shaped like the recorded ones: past the largest when they
/// are all integers (a store that generates ids never reaches it), else a fresh name with
/// their common prefix.
pub(super) fn absent_key(present: &BTreeMap<String, bool>) -> String {
    let numbers: Option<Vec<u64>> = present.keys().map(|k| k.parse().ok()).collect();
    match numbers {
        Some(n) if !n.is_empty() => (n.iter().max().expect("not empty") + 1_000_000).to_string(),
        _ => {
            let prefix = present
                .keys()
                .next()
                .and_then(|k| k.rfind(['-', ':', '_', '/']).map(|i| &k[..=i]))
                .unwrap_or("");
            crate::probe::pick::fresh(&format!("{prefix}probe-absent"), |k| {
                present.contains_key(k)
            })
        }
    }
}

/// An id nothing has, of the recorded id's type.
fn id_like(value: Option<&Value>, absent: &str) -> Value {
    match value {
        Some(Value::Number(_)) => absent.parse::<u64>().map_or(json!(absent), |n| json!(n)),
        Some(Value::Array(_)) => json!([absent]),
        _ => json!(absent),
    }
}

/// A value the argument does not accept.
fn invalid(a: &Argument) -> Value {
    match a.ty {
        Type::String | Type::Timestamp | Type::Any if a.class == Some(Class::Enum) => {
            json!("probe-not-a-value")
        }
        Type::String | Type::Timestamp => json!(12345),
        _ => json!("probe-not-a-value"),
    }
}

/// The lower bound `name` set to its upper bound's recorded value, when both are recorded.
fn crossed(
    op: &Operation,
    name: &str,
    a: &Argument,
    args: &Map<String, Value>,
) -> Option<(String, Value)> {
    if a.class != Some(Class::LowerBound) {
        return None;
    }
    let (upper, u) = op
        .args_of(Class::UpperBound)
        .find(|(_, u)| u.field == a.field)?;
    let (lower_p, upper_v) = (point(args.get(name)?, a.ty)?, args.get(upper)?);
    let upper_p = point(upper_v, u.ty)?;
    // One step past the upper bound: the range is empty whatever is stored.
    (lower_p <= upper_p)
        .then(|| format_point(upper_p + step(a.ty), a.ty, args.get(name)))
        .flatten()
        .map(|v| (upper.clone(), v))
}

/// A point as an argument value, written like `like` (a timestamp keeps its fraction
/// digits and zone style).
fn format_point(p: i128, ty: Type, like: Option<&Value>) -> Option<Value> {
    if ty != Type::Timestamp {
        return Some(json!(i64::try_from(p).ok()?));
    }
    let t = DateTime::<Utc>::from_timestamp_micros(i64::try_from(p).ok()?)?;
    let recorded = like.and_then(Value::as_str).unwrap_or("");
    let digits = recorded
        .split_once('.')
        .map(|(_, f)| f.chars().take_while(char::is_ascii_digit).count())
        .unwrap_or(3);
    let format = match digits {
        0 => SecondsFormat::Secs,
        1..=3 => SecondsFormat::Millis,
        4..=6 => SecondsFormat::Micros,
        _ => SecondsFormat::Nanos,
    };
    let z = !recorded.contains("+00:00");
    Some(json!(t.to_rfc3339_opts(format, z)))
}

/// Search text in the other case, with `%` and `_`, and empty.
fn search_edges(s: &str) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    let upper = s.to_uppercase();
    if upper != s {
        out.push((json!(upper), "in upper case".into()));
    }
    let lower = s.to_lowercase();
    if lower != s {
        out.push((json!(lower), "in lower case".into()));
    }
    let chars: Vec<char> = s.chars().collect();
    let mid = chars.len() / 2;
    let with = |c: char, replace: bool| -> String {
        let mut v = chars.clone();
        if replace && !v.is_empty() {
            let at = mid.min(v.len() - 1);
            v[at] = c;
        } else {
            v.insert(mid, c);
        }
        v.into_iter().collect()
    };
    out.push((json!(with('%', false)), "with % inside".into()));
    out.push((json!(with('_', true)), "with _ for a character".into()));
    if !s.is_empty() {
        out.push((json!(""), "empty".into()));
    }
    out
}

/// Free text with surrounding whitespace, in the other Unicode normal form, empty and long.
fn text_edges(s: &str) -> Vec<(String, String)> {
    let mut out = vec![(format!("  {s} "), "with surrounding whitespace".into())];
    let nfd: String = s.nfd().collect();
    let nfc: String = s.nfc().collect();
    let other = if nfd != s {
        nfd
    } else if nfc != s {
        nfc
    } else {
        format!("{s} Zoe\u{308}")
    };
    out.push((other, "in another Unicode normal form".into()));
    if !s.is_empty() {
        out.push((String::new(), "empty".into()));
    }
    let seed = if s.is_empty() { "x" } else { s };
    let long: String = seed.chars().cycle().take(LONG_TEXT).collect();
    out.push((long, format!("of {LONG_TEXT} characters")));
    out
}
