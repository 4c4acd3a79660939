//! Store-generated keys. A create whose store chooses the new aggregate's key answers it
//! (at the member its declaration names: `generated_key`). The cassette names the id the
//! recorded store chose; the legacy and the candidate choose their own. [`Identities`] wraps
//! each side's target so that the replay sees recorded ids only:
//!
//! * a create's answer pairs the recorded id with the side's (the recorded id is the
//!   request's key, where the recorder wrote it, else the id in the recorded answer);
//! * later requests that name a recorded id are sent with the side's id: the key, and the
//!   arguments the declaration marks as ids (`class = "id"`); a generated create is sent
//!   without a key (its store chooses it);
//! * answers and dumped states come back with every member named like the generated key
//!   (`id` for `generated_key = "id"`), or like an answer member the declaration marks as an
//!   id (`class = "id"`: a reference, or a list of them), holding a side's id replaced by
//!   its recorded id. Other members are never touched: a count equal to an id stays a count.
//!
//! A create with no recorded id (a probe, or a cassette recorded without answers) takes the
//! legacy's as its recorded id: the candidate's wrapper waits for the legacy's answer to
//! the same request (the legacy's wrapper always says, even when its call failed).
//!
//! Pairing is never by position. One create answers one object: its id pairs with the
//! recorded one. A batch create answers a list of objects: each element is paired with the
//! recorded element of the same content once the id is set aside (the k-th such element
//! with the k-th); elements whose content has no recorded match stay unpaired, and their
//! ids pass through unmapped. A pair that is not one to one (a side answering an id already
//! paired with another recorded id) is not learned: the side's id then maps back to the
//! other recorded id, and the comparison shows the difference.

use super::{Executed, InfraError, Target};
use crate::cassette::{Outcome, Request};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a domain declares about its generated keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    /// Each create whose store generates the key, with the answer member that holds it.
    pub creates: BTreeMap<String, String>,
    /// Each operation's arguments that name an aggregate (`class = "id"`).
    pub id_args: BTreeMap<String, Vec<String>>,
    /// Answer members, beside the generated keys', that hold ids (`class = "id"` in an
    /// operation's `answer`): a reference to another aggregate, or a list of them.
    pub id_members: BTreeSet<String>,
}

impl Generated {
    /// Whether any operation generates keys (else no wrapping is needed).
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty()
    }

    /// The member names that hold ids in answers and states: each generated key's last
    /// member, and the declared id members.
    fn members(&self) -> BTreeSet<String> {
        self.creates
            .values()
            .map(|path| path.rsplit('.').next().unwrap_or(path).to_string())
            .chain(self.id_members.iter().cloned())
            .collect()
    }
}

/// One side's pairs: recorded id ↔ the side's id, as text (`3` and `"3"` are one id).
#[derive(Debug, Default)]
struct Pairs {
    to_side: BTreeMap<String, String>,
    to_recorded: BTreeMap<String, String>,
}

impl Pairs {
    /// Learns `recorded` ↔ `side` unless either is already paired with another.
    fn learn(&mut self, recorded: String, side: String) {
        let free = self.to_side.get(&recorded).is_none_or(|s| *s == side)
            && self.to_recorded.get(&side).is_none_or(|r| *r == recorded);
        if free {
            self.to_side.insert(recorded.clone(), side.clone());
            self.to_recorded.insert(side, recorded);
        }
    }
}

/// The ids the legacy chose for creates that have no recorded id, by seq, for the
/// candidate to pair its own with.
#[derive(Default)]
pub struct Fresh {
    ids: Mutex<BTreeMap<u64, Option<String>>>,
    told: tokio::sync::Notify,
}

impl Fresh {
    /// The legacy's id for the create `seq` (`None`: it has none, or its call failed).
    fn tell(&self, seq: u64, id: Option<String>) {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(seq, id);
        self.told.notify_waiters();
    }

    /// Waits for what the legacy tells of the create `seq`, and forgets it.
    async fn wait(&self, seq: u64) -> Option<String> {
        loop {
            let told = self.told.notified();
            tokio::pin!(told);
            told.as_mut().enable();
            let known = self
                .ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&seq);
            if let Some(id) = known {
                return id;
            }
            told.await;
        }
    }
}

/// Which side a wrapper is, for creates without a recorded id.
#[derive(Clone)]
pub enum Side {
    /// Tells the legacy's ids.
    Legacy(Arc<Fresh>),
    /// Pairs its ids with the legacy's.
    Candidate(Arc<Fresh>),
}

/// A target whose generated ids are translated to and from the recorded ones.
pub struct Identities {
    inner: Arc<dyn Target>,
    generated: Arc<Generated>,
    members: BTreeSet<String>,
    pairs: Mutex<Pairs>,
    side: Side,
}

impl Identities {
    /// Wraps `inner`, one `side` of a pair; `generated` says which creates generate keys
    /// and where.
    pub fn wrap(inner: Arc<dyn Target>, generated: Arc<Generated>, side: Side) -> Arc<dyn Target> {
        let members = generated.members();
        Arc::new(Identities {
            inner,
            generated,
            members,
            pairs: Mutex::new(Pairs::default()),
            side,
        })
    }

    fn pairs(&self) -> std::sync::MutexGuard<'_, Pairs> {
        self.pairs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `request` as this side is sent it: its ids replaced by the side's.
    fn outgoing(&self, request: &Request) -> Request {
        let mut sent = request.clone();
        let pairs = self.pairs();
        if self.generated.creates.contains_key(&request.op) {
            sent.key = None;
        } else if let Some(key) = &request.key {
            if let Some(side) = pairs.to_side.get(key) {
                sent.key = Some(side.clone());
            }
        }
        for arg in self
            .generated
            .id_args
            .get(&request.op)
            .into_iter()
            .flatten()
        {
            if let Some(value) = sent.args.get_mut(arg) {
                translate(value, &pairs.to_side);
            }
        }
        sent
    }

    /// Learns the pairs a generated create's answer `answer` gives (`None`: the call failed
    /// or was no success), telling or asking the other side where nothing recorded the id.
    async fn learn(&self, request: &Request, path: &str, answer: Option<&Value>) {
        let recorded = match &request.outcome {
            Some(Outcome::Ok(value)) => Some(value),
            _ => None,
        };
        let member = path.rsplit('.').next().unwrap_or(path);
        let parent = path.rsplit_once('.').map(|(p, _)| p);
        let at = |v: &Value| -> Option<Value> {
            match parent {
                Some(p) => p.split('.').try_fold(v, |v, m| v.get(m)).cloned(),
                None => Some(v.clone()),
            }
        };
        let got = answer.and_then(at);
        let was = recorded.and_then(at);
        if let (Some(Value::Array(got)), Some(Value::Array(was))) = (&got, &was) {
            let mut pairs = self.pairs();
            for (r, s) in by_content(was, got, member) {
                pairs.learn(r, s);
            }
            return;
        }
        let side = got.as_ref().and_then(|g| g.get(member)).and_then(text);
        let mut recorded = request
            .key
            .clone()
            .or_else(|| was.as_ref().and_then(|w| w.get(member)).and_then(text));
        if recorded.is_none() {
            recorded = match &self.side {
                Side::Legacy(fresh) => {
                    fresh.tell(request.seq, side.clone());
                    side.clone()
                }
                Side::Candidate(fresh) => fresh.wait(request.seq).await,
            };
        }
        if let (Some(r), Some(s)) = (recorded, side) {
            self.pairs().learn(r, s);
        }
    }

    /// `value` with every id member holding a paired side id replaced by the recorded id.
    fn incoming(&self, value: &mut Value) {
        let pairs = self.pairs();
        back(value, &self.members, &pairs.to_recorded);
    }
}

#[async_trait]
impl Target for Identities {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        *self.pairs() = Pairs::default();
        self.inner.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }

    /// The request with recorded ids sent as this side's, and its answer and events'
    /// payloads with this side's ids told as the recorded ones.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let sent = self.outgoing(request);
        let mut executed = self.inner.execute_events(&sent).await;
        if let Some(path) = self.generated.creates.get(&request.op) {
            let answer = match &executed {
                Ok(Executed {
                    outcome: Outcome::Ok(answer),
                    ..
                }) => Some(answer),
                _ => None,
            };
            self.learn(request, path, answer).await;
        }
        if let Ok(executed) = &mut executed {
            if let Outcome::Ok(answer) = &mut executed.outcome {
                self.incoming(answer);
            }
            for event in executed.events.iter_mut().flatten() {
                self.incoming(&mut event.payload);
            }
        }
        executed
    }

    fn domain(&self) -> Option<&str> {
        self.inner.domain()
    }

    fn declaration(&self) -> Option<&Value> {
        self.inner.declaration()
    }

    fn databases(&self) -> Vec<String> {
        self.inner.databases()
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        let side = self.pairs().to_side.get(key).cloned();
        let mut state = self.inner.dump(side.as_deref().unwrap_or(key)).await?;
        if let Some(state) = &mut state {
            self.incoming(state);
        }
        Ok(state)
    }

    fn latency(&self, request: &Request, measured: Duration) -> Option<Duration> {
        self.inner.latency(request, measured)
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.inner.settle(request)
    }

    fn pauses(&self) -> bool {
        self.inner.pauses()
    }

    async fn execute_paused(
        &self,
        request: &Request,
        pause: Duration,
    ) -> Result<Outcome, InfraError> {
        let sent = self.outgoing(request);
        let mut outcome = self.inner.execute_paused(&sent, pause).await?;
        if let Outcome::Ok(answer) = &mut outcome {
            self.incoming(answer);
        }
        Ok(outcome)
    }
}

/// An id as text: a string as it is, an integer in decimal; anything else is no id.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// `value` (an id, or a list of ids) with each id that `map` holds replaced, keeping its
/// JSON type (a number stays a number where the replacement is one).
fn translate(value: &mut Value, map: &BTreeMap<String, String>) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| translate(v, map)),
        v => {
            if let Some(to) = text(v).and_then(|t| map.get(&t)) {
                *v = retyped(v, to);
            }
        }
    }
}

/// `to` in the JSON type of `like`: a number where `like` is one and `to` reads as one.
fn retyped(like: &Value, to: &str) -> Value {
    match like {
        Value::Number(_) => to
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| to.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(to.to_string())),
        _ => Value::String(to.to_string()),
    }
}

/// Replaces, anywhere in `value`, each member named in `members` whose id `map` holds.
fn back(value: &mut Value, members: &BTreeSet<String>, map: &BTreeMap<String, String>) {
    match value {
        Value::Object(object) => {
            for (name, member) in object.iter_mut() {
                if members.contains(name) {
                    translate(member, map);
                } else {
                    back(member, members, map);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| back(v, members, map)),
        _ => {}
    }
}

/// Pairs the ids at `member` of the recorded elements `was` and the side's elements `got`
/// by the elements' content without that member: the k-th element of one content on one
/// side with the k-th of the same content on the other.
fn by_content(was: &[Value], got: &[Value], member: &str) -> Vec<(String, String)> {
    let content = |v: &Value| -> Option<(String, String)> {
        let id = text(v.get(member)?)?;
        let mut rest = v.as_object()?.clone();
        rest.remove(member);
        Some((canonical(&Value::Object(rest)), id))
    };
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, id) in was.iter().filter_map(content) {
        recorded.entry(key).or_default().push(id);
    }
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (key, id) in got.iter().filter_map(content) {
        let k = taken.entry(key.clone()).or_default();
        if let Some(r) = recorded.get(&key).and_then(|ids| ids.get(*k)) {
            pairs.push((r.clone(), id));
        }
        *k += 1;
    }
    pairs
}

/// `value` as text with every object's members in name order, whatever order they came in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(object) => {
            let members: BTreeMap<&String, String> =
                object.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests;
