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
/// `async fn call(&self, Call<'_>) -> Result<Answer, InfraError>`: `reset` and `dump` only
/// when the handshake declared them.
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
                match self
                    .call($crate::targets::protocol::Call::Execute(request))
                    .await?
                {
                    $crate::targets::protocol::Answer::Outcome(outcome) => Ok(outcome),
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
        }
    };
}
use protocol_target;

pub(crate) mod exec;
#[cfg(feature = "http")]
pub(crate) mod http;
pub mod serve;

use super::InfraError;
use crate::cassette::{Outcome, Request};
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
}

impl Call<'_> {
    /// The message type, which is also the HTTP endpoint.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Call::Hello => "hello",
            Call::Reset => "reset",
            Call::Execute(_) => "execute",
            Call::Dump(_) => "dump",
        }
    }

    /// The members of the message besides `id` and `type`.
    pub(crate) fn body(&self) -> Map<String, Value> {
        let body = match self {
            Call::Hello => json!({ "protocol": VERSION }),
            Call::Reset => json!({}),
            Call::Execute(request) => json!({ "request": bare(request) }),
            Call::Dump(key) => json!({ "key": key }),
        };
        match body {
            Value::Object(map) => map,
            _ => unreachable!("every body is an object"),
        }
    }
}

/// The request as sent: what the cassette holds, without what was recorded.
fn bare(request: &Request) -> Request {
    Request {
        outcome: None,
        state: None,
        latency_us: None,
        ..request.clone()
    }
}

/// An answer's meaning for one call type.
pub(crate) enum Answer {
    /// `reset` done.
    Done,
    /// The outcome of `execute`.
    Outcome(Outcome),
    /// The state of `dump` (`null`: nothing stored).
    State(Value),
    /// The handshake.
    Hello(Hello),
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
    let wrong = |expected: &str| {
        InfraError::Other(format!(
            "adapter {adapter} answered `{}` without {expected}: {}",
            call.kind(),
            excerpt(&Value::Object(members.clone()).to_string())
        ))
    };
    match call {
        Call::Hello => Hello::from_answer(members)
            .map(Answer::Hello)
            .map_err(|e| InfraError::Other(format!("adapter {adapter}: {e}"))),
        Call::Reset => match members.get("ok") {
            Some(Value::Bool(true)) => Ok(Answer::Done),
            _ => Err(wrong("`\"ok\": true` or a `failure`")),
        },
        Call::Execute(_) => match members.get("outcome") {
            Some(outcome) => serde_json::from_value(outcome.clone())
                .map(Answer::Outcome)
                .map_err(|_| wrong("an `outcome` of the cassette's form ({\"ok\": V} or {\"error\": {\"kind\": K}})")),
            None => Err(wrong("an `outcome` or a `failure`")),
        },
        Call::Dump(_) => match members.get("state") {
            Some(state) => Ok(Answer::State(state.clone())),
            None => Err(wrong("a `state` or a `failure`")),
        },
    }
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
