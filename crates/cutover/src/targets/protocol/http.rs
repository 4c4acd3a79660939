//! `http:URL` the protocol's messages posted to an adapter inside a running service: one
//! exchange per message, `POST URL/hello`, `URL/reset`, `URL/execute`, `URL/dump`, `URL/keys`
//! (`docs/src/protocol.md`). Any status but 200, a body that is not the answer, a refused
//! connection or no answer within the timeout fails that request only.

use super::{answer, excerpt, AdapterError, Answer, Call, Hello};
use crate::targets::InfraError;
use serde_json::{Map, Value};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long the handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// The longest any other exchange waits (the replay's `--timeout` applies too).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A target answered by an adapter's HTTP endpoints.
pub struct Http {
    base: String,
    client: reqwest::Client,
    hello: Hello,
    slots: Semaphore,
}

impl Http {
    /// Connects to the adapter at `base` and reads its handshake.
    pub async fn connect(base: &str) -> Result<Http, AdapterError> {
        Self::connect_text(base).await.map_err(AdapterError::Start)
    }

    async fn connect_text(base: &str) -> Result<Http, String> {
        let base = base.trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(format!(
                "`{base}`: expected a URL such as http://127.0.0.1:8080/cutover"
            ));
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("an HTTP client: {e}"))?;
        let members = post(&client, &base, &Call::Hello, HANDSHAKE)
            .await
            .map_err(|e| format!("{e} (the handshake)"))?;
        let Answer::Hello(hello) =
            answer(&base, &Call::Hello, &members).map_err(|e| format!("{e} (the handshake)"))?
        else {
            unreachable!("`answer` reads a handshake for hello")
        };
        Ok(Http {
            slots: Semaphore::new(hello.supports.concurrency),
            base,
            client,
            hello,
        })
    }

    /// The adapter's handshake.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    async fn call(&self, call: Call<'_>) -> Result<Answer, InfraError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the slots are never closed");
        let members = post(&self.client, &self.base, &call, TIMEOUT).await?;
        answer(
            &format!("`{}` ({})", self.hello.name, self.base),
            &call,
            &members,
        )
    }
}

/// Posts `call` to its endpoint and returns the answer's members.
async fn post(
    client: &reqwest::Client,
    base: &str,
    call: &Call<'_>,
    timeout: Duration,
) -> Result<Map<String, Value>, InfraError> {
    let url = format!("{base}/{}", call.kind());
    let response = client
        .post(&url)
        .timeout(timeout)
        .json(&Value::Object(call.body()))
        .send()
        .await
        .map_err(|e| match () {
            _ if e.is_connect() => InfraError::Refused(format!("adapter {url}: {e}")),
            _ if e.is_timeout() => {
                InfraError::Other(format!("adapter {url} did not answer within {timeout:?}"))
            }
            _ => InfraError::Disconnected(format!("adapter {url}: {e}")),
        })?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| InfraError::Disconnected(format!("adapter {url}: reading the answer: {e}")))?;
    if status != reqwest::StatusCode::OK {
        return Err(InfraError::Other(format!(
            "adapter {url} answered HTTP {status}: {}",
            excerpt(&body)
        )));
    }
    match serde_json::from_str(&body) {
        Ok(Value::Object(members)) => Ok(members),
        _ => Err(InfraError::Other(format!(
            "adapter {url} answered garbage: `{}`",
            excerpt(&body)
        ))),
    }
}

super::protocol_target!(Http);
