//! The adapter side in Rust: any [`Target`] answered over the protocol, so a repository
//! written in Rust (or this library's own targets) can be driven through `exec:` like an
//! adapter in any other language.
//!
//! ```no_run
//! use cutover::kv::memory::Memory;
//! use cutover::targets::protocol::serve;
//! use std::sync::Arc;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     serve::stdio(Arc::new(Memory::new()), "kv").await
//! }
//! ```

use super::{excerpt, Hello, Supports, VERSION};
use crate::cassette::Request;
use crate::targets::{Dumped, Executed, Target};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

mod stdio;

/// Serves `target` as an adapter of `domain` on stdin and stdout until stdin closes, with
/// the [`handshake`] it answers to (without `supports.events`: [`stdio_reporting_events`]).
pub async fn stdio(target: Arc<dyn Target>, domain: &str) -> std::io::Result<()> {
    let hello = handshake(target.as_ref(), domain).await;
    let (input, output) = stdio::streams();
    serve(target, hello, input, output).await
}

/// [`stdio`] declaring `supports.events` ([`Hello::reporting_events`]): for a target that
/// tells the events of every write.
pub async fn stdio_reporting_events(target: Arc<dyn Target>, domain: &str) -> std::io::Result<()> {
    let hello = handshake(target.as_ref(), domain).await.reporting_events();
    let (input, output) = stdio::streams();
    serve(target, hello, input, output).await
}

/// The handshake of `target` served as an adapter of `domain`: reset, dump, a batch `dump`
/// (the target's [`Target::dump_batch`]), 16 messages in flight, and its
/// [`Target::key_order`]. `keys` is declared when the target enumerates its keys: asked
/// once here for a page of 0 keys, it answers `Some` (a store it cannot reach now answers
/// an error, and `keys` is not declared).
pub async fn handshake(target: &dyn Target, domain: &str) -> Hello {
    let keys = match target.keys(None, 0).await {
        Ok(page) => page.is_some(),
        Err(e) => {
            eprintln!(
                "{}: keys not declared: asking for them failed: {e}",
                target.name()
            );
            false
        }
    };
    Hello {
        protocol: VERSION,
        name: target.name().to_string(),
        domain: domain.to_string(),
        supports: Supports {
            reset: true,
            dump: true,
            concurrency: 16,
            keys,
            dump_batch: true,
            events: false,
        },
        key_order: target.key_order(),
        declaration: None,
    }
}

impl Hello {
    /// This handshake declaring `supports.events`: for a served target whose
    /// [`Target::execute_events`] tells the events of every write (`Some`), e.g.
    /// `serve::handshake(&memory, "kv").await.reporting_events()`. A write answered without
    /// them is then a protocol error on cutover's side.
    pub fn reporting_events(mut self) -> Hello {
        self.supports.events = true;
        self
    }
}

/// Serves `target` on `input` and `output` until `input` ends: `hello` answers the
/// handshake; up to `hello.supports.concurrency` other messages run at once and their
/// answers are written as they finish. A line that is not a message is reported on stderr
/// and skipped (it cannot be answered without an id).
pub async fn serve<R, W>(
    target: Arc<dyn Target>,
    hello: Hello,
    input: R,
    output: W,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (answers, mut queue) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let mut output = output;
        // Every answer ready is written before one flush.
        while let Some(line) = queue.recv().await {
            output.write_all(line.as_bytes()).await?;
            while let Ok(line) = queue.try_recv() {
                output.write_all(line.as_bytes()).await?;
            }
            output.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let slots = Arc::new(Semaphore::new(hello.supports.concurrency.max(1)));
    let mut running = JoinSet::new();
    let mut lines = BufReader::new(input).lines();
    while let Some(line) = lines.next_line().await? {
        let message: Value = match serde_json::from_str(&line) {
            Ok(Value::Object(message)) if message.get("id").is_some_and(Value::is_u64) => {
                Value::Object(message)
            }
            _ if line.trim().is_empty() => continue,
            _ => {
                eprintln!("not a message (skipped): {}", excerpt(&line));
                continue;
            }
        };
        if message["type"] == "hello" {
            let mut answer = serde_json::to_value(&hello).expect("a handshake serializes");
            answer["id"] = message["id"].clone();
            let _ = answers.send(answer.to_string() + "\n");
            continue;
        }
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .expect("never closed");
        let (target, answers) = (Arc::clone(&target), answers.clone());
        running.spawn(async move {
            let answer = handle(target.as_ref(), &message).await;
            let _ = answers.send(answer.line(&message["id"]));
            drop(slot);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
    drop(answers);
    writer.await.map_err(std::io::Error::other)?
}

/// An answer to one message, without its id.
enum Reply {
    /// An `execute` answered: written straight from the outcome and events.
    Executed(Executed),
    /// Any other answer, as JSON.
    Other(Value),
}

impl From<Value> for Reply {
    fn from(value: Value) -> Reply {
        Reply::Other(value)
    }
}

/// An `execute` answer's line: `outcome`, `events` when told, then `id`.
#[derive(serde::Serialize)]
struct ExecutedLine<'a> {
    outcome: &'a crate::cassette::Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a Vec<crate::cassette::Event>>,
    id: &'a Value,
}

impl Reply {
    /// The answer's line, with `id` last and a newline.
    fn line(self, id: &Value) -> String {
        let mut line = match self {
            Reply::Executed(executed) => serde_json::to_string(&ExecutedLine {
                outcome: &executed.outcome,
                events: executed.events.as_ref(),
                id,
            })
            .expect("an answer serializes"),
            Reply::Other(mut answer) => {
                answer["id"] = id.clone();
                answer.to_string()
            }
        };
        line.push('\n');
        line
    }

    /// The answer as JSON, without its id.
    #[cfg(test)]
    fn value(self) -> Value {
        match self {
            Reply::Executed(executed) => {
                let mut answer = json!({ "outcome": executed.outcome });
                if let Some(events) = executed.events {
                    answer["events"] = json!(events);
                }
                answer
            }
            Reply::Other(answer) => answer,
        }
    }
}

/// The answer to one message (without its id).
async fn handle(target: &dyn Target, message: &Value) -> Reply {
    let failure = |e: &dyn std::fmt::Display| json!({ "failure": e.to_string() });
    match message["type"].as_str().unwrap_or("") {
        "reset" => match target.reset().await {
            Ok(()) => json!({ "ok": true }),
            Err(e) => failure(&e),
        },
        "execute" => match Request::deserialize(&message["request"]) {
            Ok(request) => match target.execute_events(&request).await {
                Ok(executed) => return Reply::Executed(executed),
                Err(e) => failure(&e),
            },
            Err(e) => failure(&format!("not a request: {e}")),
        },
        "dump" if message.get("keys").is_some() => dump_batch(target, &message["keys"]).await,
        "dump" => match message["key"].as_str() {
            Some(key) => match target.dump(key).await {
                Ok(Some(state)) => json!({ "state": state }),
                Ok(None) => failure(&"this target cannot tell its stored state"),
                Err(e) => failure(&e),
            },
            None => failure(&"dump needs a `key` or `keys`"),
        },
        "keys" => keys(target, message).await,
        other => failure(&format!("unknown message type `{other}`")),
    }
    .into()
}

/// The answer to `keys`: a page of the target's keys.
async fn keys(target: &dyn Target, message: &Value) -> Value {
    let after = match &message["after"] {
        Value::Null => None,
        Value::String(after) => Some(after.as_str()),
        other => {
            return json!({ "failure": format!("keys: `after` {other}; expected a string or null") })
        }
    };
    let Some(limit) = message["limit"]
        .as_u64()
        .and_then(|l| usize::try_from(l).ok())
    else {
        return json!({ "failure": format!("keys: `limit` {}; expected a count", message["limit"]) });
    };
    match target.keys(after, limit).await {
        Ok(Some(keys)) => json!({ "keys": keys }),
        Ok(None) => json!({ "failure": "this target cannot enumerate its keys" }),
        Err(e) => json!({ "failure": e.to_string() }),
    }
}

/// The answer to a batch `dump`: one entry per key, in order.
async fn dump_batch(target: &dyn Target, keys: &Value) -> Value {
    let keys: Option<Vec<String>> = keys.as_array().and_then(|keys| {
        keys.iter()
            .map(|k| k.as_str().map(str::to_string))
            .collect()
    });
    let Some(keys) = keys else {
        return json!({ "failure": "dump: `keys` must be an array of strings" });
    };
    match target.dump_batch(&keys).await {
        Ok(states) => {
            let states: Vec<Value> = states
                .into_iter()
                .map(|dumped| match dumped {
                    Dumped::State(state) => json!({ "state": state }),
                    Dumped::Unreadable(why) => json!({ "unreadable": why }),
                })
                .collect();
            json!({ "states": states })
        }
        Err(e) => json!({ "failure": e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::memory::Memory;
    use crate::targets::KeyOrder;

    /// `lines` served to a `memory` store holding `a`, `b` and `c`; the answers by id.
    async fn served(lines: &[Value]) -> (Hello, std::collections::BTreeMap<u64, Value>) {
        let memory = Memory::new();
        for (seq, key) in ["c", "a", "b"].into_iter().enumerate() {
            let args = json!({ "value": seq });
            let put = Request::new(
                seq as u64,
                Some(key),
                "put",
                crate::cassette::Kind::Write,
                args,
                "t",
            );
            memory.execute(&put).await.unwrap();
        }
        let hello = handshake(&memory, "kv").await;
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let (output, mut read) = tokio::io::duplex(1 << 16);
        serve(Arc::new(memory), hello.clone(), input.as_bytes(), output)
            .await
            .unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut read, &mut text)
            .await
            .unwrap();
        let answers = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|a| (a["id"].as_u64().unwrap(), a))
            .collect();
        (hello, answers)
    }

    #[tokio::test]
    async fn a_target_that_enumerates_its_keys_is_served_with_keys_and_batch_dumps() {
        let (hello, answers) = served(&[
            json!({"id": 1, "type": "keys", "after": null, "limit": 2}),
            json!({"id": 2, "type": "keys", "after": "b", "limit": 2}),
            json!({"id": 3, "type": "dump", "keys": ["b", "z"]}),
            json!({"id": 4, "type": "keys", "after": 5, "limit": 2}),
            json!({"id": 5, "type": "keys", "limit": -1}),
            json!({"id": 6, "type": "dump", "keys": ["b", 1]}),
        ])
        .await;
        assert!(hello.supports.keys && hello.supports.dump_batch);
        assert_eq!(hello.key_order, KeyOrder::Bytes);
        assert_eq!(answers[&1]["keys"], json!(["a", "b"]));
        assert_eq!(answers[&2]["keys"], json!(["c"]));
        assert_eq!(
            answers[&3]["states"],
            json!([{"state": 2}, {"state": null}])
        );
        assert_eq!(
            answers[&4]["failure"],
            "keys: `after` 5; expected a string or null"
        );
        assert_eq!(answers[&5]["failure"], "keys: `limit` -1; expected a count");
        assert_eq!(
            answers[&6]["failure"],
            "dump: `keys` must be an array of strings"
        );
    }

    #[tokio::test]
    async fn a_target_reporting_events_is_served_with_them() {
        let memory = Memory::new();
        let hello = handshake(&memory, "kv").await;
        assert!(!hello.supports.events);
        assert!(hello.reporting_events().supports.events);
        let put = json!({"seq": 1, "key": "k", "op": "put", "kind": "write",
                         "args": {"value": 2}, "at": "t"});
        let answer = handle(&memory, &json!({"type": "execute", "request": put}))
            .await
            .value();
        assert_eq!(answer["outcome"], json!({"ok": {"created": true}}));
        assert_eq!(
            answer["events"],
            json!([{"name": "key_created", "payload": {"key": "k"}},
                   {"name": "value_put", "payload": {"key": "k", "value": 2}}])
        );
        let get = json!({"type": "execute", "request": {"seq": 2, "key": "k", "op": "get",
                         "kind": "read", "args": {}, "at": "t"}});
        assert_eq!(handle(&memory, &get).await.value()["events"], json!([]));
        // Written straight from the outcome, the line is the JSON answer with its id last.
        let put = json!({"type": "execute", "request": {"seq": 3, "key": "k", "op": "put",
                         "kind": "write", "args": {"value": 1.50}, "at": "t"}});
        let mut expected = handle(&memory, &put).await.value();
        expected["id"] = json!(7);
        let line = handle(&memory, &put).await.line(&json!(7));
        assert_eq!(line, format!("{expected}\n"));
        let bare = handle(&Bare, &get).await.value();
        assert!(bare.get("events").is_none(), "{bare}");
    }

    /// A target of the trait's defaults: no keys.
    struct Bare;

    #[async_trait::async_trait]
    impl Target for Bare {
        fn name(&self) -> &str {
            "bare"
        }
        async fn reset(&self) -> Result<(), crate::targets::InfraError> {
            Ok(())
        }
        async fn execute(
            &self,
            _: &Request,
        ) -> Result<crate::cassette::Outcome, crate::targets::InfraError> {
            Ok(crate::cassette::Outcome::Ok(Value::Null))
        }
        async fn dump(&self, key: &str) -> Result<Option<Value>, crate::targets::InfraError> {
            Ok(Some(json!({ "at": key })))
        }
    }

    #[tokio::test]
    async fn a_target_that_cannot_enumerate_is_served_without_keys() {
        let hello = handshake(&Bare, "kv").await;
        assert!(!hello.supports.keys && hello.supports.dump_batch);
        let answer = handle(&Bare, &json!({"type": "keys", "after": null, "limit": 1}))
            .await
            .value();
        assert_eq!(answer["failure"], "this target cannot enumerate its keys");
        let answer = handle(&Bare, &json!({"type": "dump", "keys": ["x"]}))
            .await
            .value();
        assert_eq!(answer["states"], json!([{"state": {"at": "x"}}]));
    }
}
