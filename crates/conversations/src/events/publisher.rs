//! Publishing a write's events to NATS: each on `PREFIX.<event name>` with its payload as
//! JSON, then a flush and a round trip through the server, so that the server has handled
//! everything a write published (and queued it for its subscribers) when the write answers.

use super::super::Failure;
use cutover::cassette::Event;
use cutover::targets::InfraError;
use futures::StreamExt;
use std::time::Duration;

/// How long connecting to the NATS server, or its answer to a round trip, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a NATS server and the subject prefix events are published under.
#[derive(Clone)]
pub struct Publisher {
    client: async_nats::Client,
    prefix: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Connects to the server of `address`, `nats://HOST:PORT/PREFIX`: events are published
    /// on `PREFIX.<event name>`.
    pub async fn connect(address: &str) -> Result<Publisher, String> {
        let (server, prefix) = split(address)?;
        let connecting = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(server);
        let client = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| format!("connecting to NATS at `{server}`: no answer within 10s"))?
            .map_err(|e| format!("connecting to NATS at `{server}`: {e}"))?;
        Ok(Publisher {
            client,
            prefix: prefix.to_string(),
        })
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Publishes `events` in order, then flushes; nothing to do for none. A failure is an
    /// infrastructure failure: the write may have happened, its events are unknown.
    pub async fn publish(&self, events: &[Event]) -> Result<(), Failure> {
        if events.is_empty() {
            return Ok(());
        }
        for e in events {
            let subject = format!("{}.{}", self.prefix, e.name);
            let payload = serde_json::to_vec(&e.payload).expect("JSON serializes");
            self.client
                .publish(subject, payload.into())
                .await
                .map_err(|err| infra(format!("publishing {}: {err}", e.name)))?;
        }
        self.client
            .flush()
            .await
            .map_err(|err| infra(format!("flushing events: {err}")))?;
        self.round_trip().await
    }

    /// Waits until the server has handled what this connection sent: a message to a fresh
    /// inbox the connection subscribes to comes back only after everything sent before it.
    /// A flush alone only writes to the socket.
    async fn round_trip(&self) -> Result<(), Failure> {
        let inbox = self.client.new_inbox();
        let mut echo = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|err| infra(format!("subscribing to an inbox: {err}")))?;
        self.client
            .publish(inbox, Vec::new().into())
            .await
            .map_err(|err| infra(format!("publishing to an inbox: {err}")))?;
        match tokio::time::timeout(CONNECT_TIMEOUT, echo.next()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(infra("the NATS connection closed".into())),
            Err(_) => Err(infra("the NATS server did not answer within 10s".into())),
        }
    }
}

fn infra(what: String) -> Failure {
    Failure::Infra(InfraError::Other(what))
}

/// `nats://HOST:PORT/PREFIX` as the server's address and the prefix.
fn split(address: &str) -> Result<(&str, &str), String> {
    let expected = "expected `nats://HOST:PORT/PREFIX`";
    let rest = address
        .strip_prefix("nats://")
        .ok_or_else(|| format!("`{address}`: {expected}"))?;
    let (host, prefix) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{address}` names no subject prefix; {expected}"))?;
    let bad = |c: char| c.is_whitespace() || matches!(c, '*' | '>' | '/');
    if prefix.is_empty() || prefix.starts_with('.') || prefix.ends_with('.') || prefix.contains(bad)
    {
        return Err(format!(
            "`{address}`: `{prefix}` is no subject prefix; {expected}"
        ));
    }
    Ok((&address[..7 + host.len()], prefix))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn an_address_is_a_server_and_a_prefix() {
        assert_eq!(
            split("nats://127.0.0.1:4222/legacy.events"),
            Ok(("nats://127.0.0.1:4222", "legacy.events"))
        );
        assert!(split("nats://127.0.0.1:4222").is_err());
        assert!(split("nats://127.0.0.1:4222/").is_err());
        assert!(split("nats://127.0.0.1:4222/a.>").is_err());
        assert!(split("http://127.0.0.1:4222/a").is_err());
    }
}
