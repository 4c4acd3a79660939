//! The target protocol (`docs/src/protocol.md`): a repository in any language behind
//! [`Target`](super::Target), driven through a small adapter program.
//!
//! * [`exec::Exec`] (spec `exec:`): cutover starts the adapter and speaks JSON Lines on its
//!   stdin and stdout, many messages in flight, answers paired by id.
//! * [`http::Http`] (spec `http:URL`): the same messages posted to an adapter inside a
//!   running service.
//! * [`serve`]: the adapter side in Rust: any [`Target`](super::Target) answered over
//!   stdin/stdout (`examples/adapters/kv_adapter.rs`).
//! * [`check`]: the conformance session of `cutover check-target`.
//!
//! Both transports share the messages of this module: [`Hello`] (the handshake) and the
//! `Answer` read back from a JSON object.

/// `Target` for a transport type with a `hello: Hello` field and
/// `async fn call(&self, Call<'_>) -> Result<Answer, InfraError>`: `reset`, `dump` and `keys`
/// only when the handshake declared them; a batch `dump` in one exchange when declared, else
/// key by key; `execute_events` with the answer's `events` when `supports.events` was
/// declared ([`declared_events`]), `execute` through it.
macro_rules! protocol_target {
    ($transport:ty) => {
        #[async_trait::async_trait]
        impl $crate::targets::Target for $transport {
            fn name(&self) -> &str {
                &self.hello.name
            }

            fn domain(&self) -> Option<&str> {
                Some(&self.hello.domain)
            }

            fn declaration(&self) -> Option<&serde_json::Value> {
                self.hello.declaration.as_ref()
            }

            async fn reset(&self) -> Result<(), $crate::targets::InfraError> {
                if !self.hello.supports.reset {
                    return Ok(());
                }
                self.call($crate::targets::protocol::Call::Reset)
                    .await
                    .map(|_| ())
            }

            async fn execute(
                &self,
                request: &$crate::cassette::Request,
            ) -> Result<$crate::cassette::Outcome, $crate::targets::InfraError> {
                self.execute_events(request).await.map(|e| e.outcome)
            }

            async fn execute_events(
                &self,
                request: &$crate::cassette::Request,
            ) -> Result<$crate::targets::Executed, $crate::targets::InfraError> {
                match self
                    .call($crate::targets::protocol::Call::Execute(request))
                    .await?
                {
                    $crate::targets::protocol::Answer::Executed(executed) => {
                        $crate::targets::protocol::declared_events(&self.hello, request, executed)
                    }
                    _ => unreachable!("`answer` reads an outcome for execute"),
                }
            }

            async fn dump(
                &self,
                key: &str,
            ) -> Result<Option<serde_json::Value>, $crate::targets::InfraError> {
                if !self.hello.supports.dump {
                    return Ok(None);
                }
                match self
                    .call($crate::targets::protocol::Call::Dump(key))
                    .await?
                {
                    $crate::targets::protocol::Answer::State(state) => Ok(Some(state)),
                    _ => unreachable!("`answer` reads a state for dump"),
                }
            }

            async fn keys(
                &self,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Option<Vec<String>>, $crate::targets::InfraError> {
                if !self.hello.supports.keys {
                    return Ok(None);
                }
                match self
                    .call($crate::targets::protocol::Call::Keys { after, limit })
                    .await?
                {
                    $crate::targets::protocol::Answer::Keys(keys) => Ok(Some(keys)),
                    _ => unreachable!("`answer` reads keys for keys"),
                }
            }

            fn key_order(&self) -> $crate::targets::KeyOrder {
                self.hello.key_order
            }

            async fn dump_batch(
                &self,
                keys: &[String],
            ) -> Result<Vec<$crate::targets::Dumped>, $crate::targets::InfraError> {
                if !self.hello.supports.dump_batch {
                    return $crate::targets::dump_each(self, keys).await;
                }
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                match self
                    .call($crate::targets::protocol::Call::DumpBatch(keys))
                    .await?
                {
                    $crate::targets::protocol::Answer::States(states) => Ok(states),
                    _ => unreachable!("`answer` reads states for a batch dump"),
                }
            }
        }
    };
}
use protocol_target;

pub(crate) mod exec;
#[cfg(feature = "http")]
pub(crate) mod http;
mod sent;
pub mod serve;

pub(crate) use sent::message_line;
use sent::SentRequest;

use super::{Dumped, Executed, InfraError, KeyOrder};
use crate::cassette::{Event, Kind, Outcome, Request};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The protocol version this library speaks.
pub const VERSION: u64 = 1;

/// An adapter's answer to the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The version the adapter speaks.
    pub protocol: u64,
    /// The target's name in reports.
    pub name: String,
    /// The cassette domain it serves.
    pub domain: String,
    /// What it can do beyond `execute`.
    #[serde(default)]
    pub supports: Supports,
    /// The order its `keys` answers come in (`bytes` when not said).
    #[serde(default)]
    pub key_order: KeyOrder,
    /// Its domain's declaration (TOML text, or the same structure as an object), when it
    /// sends one: `docs/src/domain.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration: Option<serde_json::Value>,
}

/// What an adapter declared it can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supports {
    /// `reset` empties the store.
    #[serde(default)]
    pub reset: bool,
    /// `dump` reads a key's stored state.
    #[serde(default)]
    pub dump: bool,
    /// Messages taken in flight at once.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// `keys` enumerates the stored keys in order, a page at a time.
    #[serde(default)]
    pub keys: bool,
    /// `dump` with `keys` reads several keys' states in one exchange.
    #[serde(default)]
    pub dump_batch: bool,
    /// Every answer to a write's `execute` carries `events`: what the write published, in
    /// order (`[]`: nothing). Not declared: the adapter's events are not compared.
    #[serde(default)]
    pub events: bool,
}

fn one() -> usize {
    1
}

impl Default for Supports {
    fn default() -> Supports {
        Supports {
            reset: false,
            dump: false,
            concurrency: 1,
            keys: false,
            dump_batch: false,
            events: false,
        }
    }
}

/// Why an adapter cannot be used, in the adapter's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// Its spec is malformed (an option, the command line).
    #[error("{0}")]
    Spec(String),
    /// It cannot be started or reached, or it died before its handshake.
    #[error("{0}")]
    Start(String),
    /// Its handshake is missing or not one this cutover accepts.
    #[error("{0}")]
    Handshake(String),
}

impl Hello {
    /// The handshake read from an answer, checked: the version, a name, a concurrency of at
    /// least 1. The error says what is wrong in the adapter's terms.
    pub fn from_answer(answer: &Map<String, Value>) -> Result<Hello, AdapterError> {
        let wrong = |what: String| AdapterError::Handshake(what);
        let hello: Hello = serde_json::from_value(Value::Object(answer.clone()))
            .map_err(|e| wrong(format!("the answer to `hello` is not a handshake ({e})")))?;
        if hello.protocol != VERSION {
            return Err(wrong(format!(
                "speaks protocol {}; this cutover speaks {VERSION}",
                hello.protocol
            )));
        }
        if hello.name.trim().is_empty() {
            return Err(wrong("the handshake's `name` is empty".into()));
        }
        if hello.supports.concurrency == 0 {
            return Err(wrong(
                "the handshake's `supports.concurrency` is 0; expected 1 or more".into(),
            ));
        }
        Ok(hello)
    }
}

/// The body of a message to an adapter (without `id`).
pub(crate) enum Call<'a> {
    Hello,
    Reset,
    Execute(&'a Request),
    Dump(&'a str),
    /// A page of keys: at most `limit`, after `after` (none: from the first).
    Keys {
        after: Option<&'a str>,
        limit: usize,
    },
    /// Several keys' states in one exchange.
    DumpBatch(&'a [String]),
}

impl Call<'_> {
    /// The message type, which is also the HTTP endpoint.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Call::Hello => "hello",
            Call::Reset => "reset",
            Call::Execute(_) => "execute",
            Call::Dump(_) | Call::DumpBatch(_) => "dump",
            Call::Keys { .. } => "keys",
        }
    }

    /// The members of the message besides `id` and `type`.
    pub(crate) fn body(&self) -> Map<String, Value> {
        let body = match self {
            Call::Hello => json!({ "protocol": VERSION }),
            Call::Reset => json!({}),
            Call::Execute(request) => json!({ "request": SentRequest::of(request) }),
            Call::Dump(key) => json!({ "key": key }),
            Call::Keys { after, limit } => json!({ "after": after, "limit": limit }),
            Call::DumpBatch(keys) => json!({ "keys": keys }),
        };
        match body {
            Value::Object(map) => map,
            _ => unreachable!("every body is an object"),
        }
    }
}

/// The codec work of one `execute` exchange without a transport: the line `exec:` sends
/// for `request`, and `answer` (one line, as an adapter writes it) read as the transports
/// read it. The instruction benches (`benches/instructions.rs`) measure the protocol's own
/// cost with it.
pub fn execute_exchange(request: &Request, answer: &str) -> Result<(String, Executed), InfraError> {
    let line = message_line(1, &Call::Execute(request));
    let members = match serde_json::from_str::<Value>(answer) {
        Ok(Value::Object(members)) => members,
        _ => {
            return Err(InfraError::Other(format!(
                "answered garbage: `{}`",
                excerpt(answer)
            )))
        }
    };
    match self::answer("bench", &Call::Execute(request), &members)? {
        Answer::Executed(executed) => Ok((line, executed)),
        _ => unreachable!("an `execute` call is answered by `Executed`"),
    }
}

/// An answer's meaning for one call type.
pub(crate) enum Answer {
    /// `reset` done.
    Done,
    /// The outcome of `execute`, with the `events` it carried (`None`: no `events` member).
    Executed(Executed),
    /// The state of `dump` (`null`: nothing stored).
    State(Value),
    /// The handshake.
    Hello(Hello),
    /// A page of `keys`.
    Keys(Vec<String>),
    /// The states of a batch `dump`, one per key.
    States(Vec<Dumped>),
}

/// Reads the answer to `call` from its members: a `failure`, or what the call type
/// answers. `Err` is the request's infrastructure failure, described for `adapter`.
pub(crate) fn answer(
    adapter: &str,
    call: &Call<'_>,
    members: &Map<String, Value>,
) -> Result<Answer, InfraError> {
    if let Some(failure) = members.get("failure") {
        let text = failure
            .as_str()
            .map_or_else(|| failure.to_string(), str::to_string);
        return Err(InfraError::Other(format!("adapter {adapter}: {text}")));
    }
    let malformed = |what: String| {
        InfraError::Other(format!(
            "adapter {adapter} answered `{}` {what}: {}",
            call.kind(),
            excerpt(&Value::Object(members.clone()).to_string())
        ))
    };
    let wrong = |expected: &str| malformed(format!("without {expected}"));
    match call {
        Call::Hello => Hello::from_answer(members)
            .map(Answer::Hello)
            .map_err(|e| InfraError::Other(format!("adapter {adapter}: {e}"))),
        Call::Reset => match members.get("ok") {
            Some(Value::Bool(true)) => Ok(Answer::Done),
            _ => Err(wrong("`\"ok\": true` or a `failure`")),
        },
        Call::Execute(request) => {
            let outcome: Outcome = match members.get("outcome") {
                Some(outcome) => Outcome::deserialize(outcome)
                    .map_err(|_| wrong("an `outcome` of the cassette's form ({\"ok\": V} or {\"error\": {\"kind\": K}})"))?,
                None => return Err(wrong("an `outcome` or a `failure`")),
            };
            let events = read_events(members)
                .map_err(|what| malformed(format!("of request {} {what}", named(request))))?;
            Ok(Answer::Executed(Executed { outcome, events }))
        }
        Call::Dump(_) => match members.get("state") {
            Some(state) => Ok(Answer::State(state.clone())),
            None => Err(wrong("a `state` or a `failure`")),
        },
        Call::Keys { limit, .. } => read_keys(members, *limit)
            .map(Answer::Keys)
            .map_err(malformed),
        Call::DumpBatch(keys) => read_states(members, keys.len())
            .map(Answer::States)
            .map_err(malformed),
    }
}

/// The `events` of an `execute` answer, when it has the member: an array of
/// `{"name": "...", "payload": P}` (payload optional, `null` when absent). `Err` says what is
/// wrong and what was expected.
fn read_events(members: &Map<String, Value>) -> Result<Option<Vec<Event>>, String> {
    let expected = "expected `events`: an array of {\"name\": \"...\", \"payload\": P}, in the \
                    order they were published";
    let wrong = |what: String| format!("with {what}; {expected}");
    let Some(events) = members.get("events") else {
        return Ok(None);
    };
    let Some(events) = events.as_array() else {
        return Err(wrong(format!("`events` {}", kind_of(events))));
    };
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            read_event(event).ok_or_else(|| wrong(format!("`events[{i}]` {}", kind_of(event))))
        })
        .collect::<Result<Vec<Event>, String>>()
        .map(Some)
}

/// One event of an answer: an object with a string `name` and any `payload`.
fn read_event(event: &Value) -> Option<Event> {
    let event = event.as_object()?;
    let name = event.get("name")?.as_str()?;
    let payload = event.get("payload").cloned().unwrap_or(Value::Null);
    Some(Event::new(name, payload))
}

/// A request named for messages: `12 (`put` of key `k9`)`.
fn named(request: &Request) -> String {
    match &request.key {
        Some(key) => format!("{} (`{}` of key `{key}`)", request.seq, request.op),
        None => format!("{} (`{}`)", request.seq, request.op),
    }
}

/// What an `execute` answer means once the handshake is known: without `supports.events`
/// no events (`None`: not compared); with it, the answer's `events`, which a write's answer
/// must carry (an error naming the request) and a read's may leave out (none published).
pub(crate) fn declared_events(
    hello: &Hello,
    request: &Request,
    executed: Executed,
) -> Result<Executed, InfraError> {
    let Executed { outcome, events } = executed;
    if !hello.supports.events {
        return Ok(Executed::from(outcome));
    }
    match (events, request.kind) {
        (Some(events), _) => Ok(Executed {
            outcome,
            events: Some(events),
        }),
        (None, Kind::Read) => Ok(Executed {
            outcome,
            events: Some(Vec::new()),
        }),
        (None, Kind::Write) => Err(InfraError::Other(format!(
            "adapter `{}` declares `supports.events` but answered `execute` of write request {} \
             without `events`; expected an array, `[]` when the write published nothing",
            hello.name,
            named(request)
        ))),
    }
}

/// The page of a `keys` answer: an array of at most `limit` strings. `Err` says what is
/// wrong and what was expected, for [`answer`] to name the adapter.
fn read_keys(members: &Map<String, Value>, limit: usize) -> Result<Vec<String>, String> {
    let expected = format!("expected `keys`: an array of at most {limit} strings, or a `failure`");
    let wrong = |what: String| format!("{what}; {expected}");
    let Some(keys) = members.get("keys") else {
        return Err(wrong("without `keys`".into()));
    };
    let Some(keys) = keys.as_array() else {
        return Err(wrong(format!("with `keys` {}", kind_of(keys))));
    };
    if keys.len() > limit {
        return Err(wrong(format!("with {} keys", keys.len())));
    }
    keys.iter()
        .enumerate()
        .map(|(i, key)| match key {
            Value::String(key) => Ok(key.clone()),
            other => Err(wrong(format!("with `keys[{i}]` {}", kind_of(other)))),
        })
        .collect()
}

/// The states of a batch `dump` answer: one entry per key asked, each `{"state": S}` or
/// `{"unreadable": "why"}`. `Err` says what is wrong and what was expected.
fn read_states(members: &Map<String, Value>, asked: usize) -> Result<Vec<Dumped>, String> {
    let expected = format!(
        "expected `states`: an array of {asked} entries, one per key in order, each \
         {{\"state\": S}} or {{\"unreadable\": \"why\"}}, or a `failure`"
    );
    let wrong = |what: String| format!("{what}; {expected}");
    let Some(states) = members.get("states") else {
        return Err(wrong("without `states`".into()));
    };
    let Some(states) = states.as_array() else {
        return Err(wrong(format!("with `states` {}", kind_of(states))));
    };
    if states.len() != asked {
        return Err(wrong(format!(
            "with {} states for {asked} keys",
            states.len()
        )));
    }
    states
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            read_dumped(entry)
                .ok_or_else(|| wrong(format!("with `states[{i}]` {}", kind_of(entry))))
        })
        .collect()
}

/// One entry of a batch dump: exactly one of `state` (any value) or `unreadable` (a reason).
fn read_dumped(entry: &Value) -> Option<Dumped> {
    let entry = entry.as_object()?;
    match (entry.get("state"), entry.get("unreadable")) {
        (Some(state), None) => Some(Dumped::State(state.clone())),
        (None, Some(Value::String(why))) => Some(Dumped::Unreadable(why.clone())),
        _ => None,
    }
}

/// What a JSON value is, for messages: `5 (a number)`.
fn kind_of(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("{} ({kind})", excerpt(&value.to_string()))
}

/// The first 200 bytes of `text` (at a character boundary), for messages.
pub(crate) fn excerpt(text: &str) -> String {
    let text = text.trim_end();
    if text.len() <= 200 {
        return text.to_string();
    }
    let mut end = 200;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text).unwrap() {
            Value::Object(members) => members,
            other => panic!("not an object: {other}"),
        }
    }

    fn read(call: &Call<'_>, text: &str) -> Result<Answer, String> {
        answer("`kv-test`", call, &members(text)).map_err(|e| e.to_string())
    }

    const KEYS: Call<'static> = Call::Keys {
        after: Some("k41"),
        limit: 2,
    };

    #[test]
    fn an_old_handshake_declares_no_keys_and_the_byte_order() {
        let hello = Hello::from_answer(&members(
            r#"{"protocol":1,"name":"old","domain":"kv","supports":{"dump":true}}"#,
        ))
        .unwrap();
        assert!(!hello.supports.keys && !hello.supports.dump_batch);
        assert_eq!(hello.key_order, KeyOrder::Bytes);
        let hello = Hello::from_answer(&members(
            r#"{"protocol":1,"name":"new","domain":"tasks","key_order":"integer",
                "supports":{"keys":true,"dump_batch":true}}"#,
        ))
        .unwrap();
        assert!(hello.supports.keys && hello.supports.dump_batch);
        assert_eq!(hello.key_order, KeyOrder::Integer);
        let wrong = Hello::from_answer(&members(
            r#"{"protocol":1,"name":"x","domain":"kv","key_order":"lexical"}"#,
        ))
        .unwrap_err()
        .to_string();
        assert!(wrong.contains("expected `bytes` or `integer`"), "{wrong}");
    }

    fn put_k9() -> Request {
        let args = json!({"value": 1});
        Request::new(7, Some("k9"), "put", Kind::Write, args, "t")
    }

    fn hello_with_events(events: bool) -> Hello {
        let text = format!(
            r#"{{"protocol":1,"name":"kv-test","domain":"kv","supports":{{"events":{events}}}}}"#
        );
        Hello::from_answer(&members(&text)).unwrap()
    }

    fn executed(request: &Request, text: &str) -> Result<Executed, String> {
        match read(&Call::Execute(request), text)? {
            Answer::Executed(executed) => Ok(executed),
            _ => panic!("not an execute answer"),
        }
    }

    #[test]
    fn the_events_of_an_answer_are_read_in_order() {
        let put = put_k9();
        let answer = executed(
            &put,
            r#"{"outcome":{"ok":{"created":true}},"events":[
                {"name":"key_created","payload":{"key":"k9"}},{"name":"value_put"}]}"#,
        )
        .unwrap();
        assert_eq!(answer.outcome, Outcome::Ok(json!({"created": true})));
        assert_eq!(
            answer.events,
            Some(vec![
                Event::new("key_created", json!({"key": "k9"})),
                Event::new("value_put", Value::Null)
            ])
        );
        let none = executed(&put, r#"{"outcome":{"ok":null},"events":[]}"#).unwrap();
        assert_eq!(none.events, Some(Vec::new()));
        let absent = executed(&put, r#"{"outcome":{"ok":null}}"#).unwrap();
        assert_eq!(absent.events, None);
        assert!(!hello_with_events(false).supports.events);
        assert!(hello_with_events(true).supports.events);
    }

    #[test]
    fn malformed_events_are_an_error_naming_the_request() {
        let put = put_k9();
        let cases = [
            (r#""value_put""#, "`events` \"value_put\" (a string)"),
            (r#"{"name":"a"}"#, "`events` {\"name\":\"a\"} (an object)"),
            (
                r#"[{"name":"a"},{"payload":1}]"#,
                "`events[1]` {\"payload\":1} (an object)",
            ),
            (r#"[{"name":5}]"#, "`events[0]` {\"name\":5} (an object)"),
            (r#"[3]"#, "`events[0]` 3 (a number)"),
        ];
        for (events, what) in cases {
            let text = format!(r#"{{"outcome":{{"ok":null}},"events":{events}}}"#);
            let error = executed(&put, &text).unwrap_err();
            assert!(
                error.starts_with(&format!(
                    "adapter `kv-test` answered `execute` of request 7 (`put` of key `k9`) \
                     with {what}; expected `events`: an array"
                )),
                "{events}: {error}"
            );
        }
    }

    #[test]
    fn a_write_answered_without_events_is_an_error_once_they_are_declared() {
        let put = put_k9();
        let answer = || executed(&put, r#"{"outcome":{"ok":null}}"#).unwrap();
        let missing = declared_events(&hello_with_events(true), &put, answer())
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("declares `supports.events` but answered `execute` of write request 7 (`put` of key `k9`) without `events`"),
            "{missing}"
        );
        let undeclared = declared_events(&hello_with_events(false), &put, answer()).unwrap();
        assert_eq!(undeclared.events, None);
        let sent = executed(&put, r#"{"outcome":{"ok":null},"events":[{"name":"a"}]}"#).unwrap();
        let ignored = declared_events(&hello_with_events(false), &put, sent.clone()).unwrap();
        assert_eq!(ignored.events, None);
        let kept = declared_events(&hello_with_events(true), &put, sent).unwrap();
        assert_eq!(kept.events, Some(vec![Event::new("a", Value::Null)]));
        let get = Request::new(8, Some("k9"), "get", Kind::Read, json!({}), "t");
        let read = executed(&get, r#"{"outcome":{"ok":1}}"#).unwrap();
        let read = declared_events(&hello_with_events(true), &get, read).unwrap();
        assert_eq!(read.events, Some(Vec::new()));
    }

    #[test]
    fn the_recorded_events_are_not_sent() {
        let mut put = put_k9();
        put.events = Some(vec![Event::new("a", Value::Null)]);
        let body = Call::Execute(&put).body();
        assert!(body["request"].get("events").is_none(), "{body:?}");
    }

    #[test]
    fn keys_and_batch_dumps_are_sent_as_the_protocol_says() {
        assert_eq!(KEYS.kind(), "keys");
        assert_eq!(
            Value::Object(KEYS.body()),
            json!({"after": "k41", "limit": 2})
        );
        let first = Call::Keys {
            after: None,
            limit: 1000,
        };
        assert_eq!(
            Value::Object(first.body()),
            json!({"after": null, "limit": 1000})
        );
        let keys = ["a".to_string(), "b".to_string()];
        let batch = Call::DumpBatch(&keys);
        assert_eq!(batch.kind(), "dump");
        assert_eq!(Value::Object(batch.body()), json!({"keys": ["a", "b"]}));
    }

    #[test]
    fn a_page_of_keys_is_read_and_checked() {
        let Ok(Answer::Keys(keys)) = read(&KEYS, r#"{"id":3,"keys":["k42","k43"]}"#) else {
            panic!("keys not read");
        };
        assert_eq!(keys, ["k42", "k43"]);
        assert!(matches!(read(&KEYS, r#"{"keys":[]}"#), Ok(Answer::Keys(k)) if k.is_empty()));
        let cases = [
            (r#"{"id":3}"#, "without `keys`"),
            (r#"{"keys":"k42"}"#, "with `keys` \"k42\" (a string)"),
            (r#"{"keys":["a","b","c"]}"#, "with 3 keys"),
            (r#"{"keys":["a",7]}"#, "with `keys[1]` 7 (a number)"),
        ];
        for (text, what) in cases {
            let error = read(&KEYS, text).err().unwrap();
            assert!(
                error.starts_with(&format!("adapter `kv-test` answered `keys` {what}"))
                    && error.contains("expected `keys`: an array of at most 2 strings"),
                "{text}: {error}"
            );
        }
        let failure = read(&KEYS, r#"{"failure":"database is locked"}"#).err();
        assert_eq!(
            failure.as_deref(),
            Some("adapter `kv-test`: database is locked")
        );
    }

    #[test]
    fn the_states_of_a_batch_dump_are_read_and_checked() {
        let keys = ["a".to_string(), "b".to_string(), "c".to_string()];
        let batch = Call::DumpBatch(&keys);
        let Ok(Answer::States(states)) = read(
            &batch,
            r#"{"states":[{"state":{"n":1}},{"state":null},{"unreadable":"bad bson"}]}"#,
        ) else {
            panic!("states not read");
        };
        assert_eq!(
            states,
            [
                Dumped::State(json!({"n": 1})),
                Dumped::State(Value::Null),
                Dumped::Unreadable("bad bson".into())
            ]
        );
        let cases = [
            (r#"{"state":null}"#, "without `states`"),
            (
                r#"{"states":{"a":1}}"#,
                "with `states` {\"a\":1} (an object)",
            ),
            (r#"{"states":[{"state":1}]}"#, "with 1 states for 3 keys"),
            (
                r#"{"states":[{"state":1},{"unreadable":5},{"state":2}]}"#,
                "with `states[1]` {\"unreadable\":5} (an object)",
            ),
            (
                r#"{"states":[{"state":1},{},{"state":2}]}"#,
                "with `states[1]` {} (an object)",
            ),
            (
                r#"{"states":[1,{"state":1},{"state":2}]}"#,
                "with `states[0]` 1 (a number)",
            ),
        ];
        for (text, what) in cases {
            let error = read(&batch, text).err().unwrap();
            assert!(
                error.starts_with(&format!("adapter `kv-test` answered `dump` {what}"))
                    && error.contains("expected `states`: an array of 3 entries"),
                "{text}: {error}"
            );
        }
    }
}
