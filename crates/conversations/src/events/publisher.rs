//! Publishing a write's events to NATS: each on `PREFIX.<event name>` with its payload as
//! JSON, then a flush and a round trip through the server, so that the server has handled
//! everything a write published (and queued it for its subscribers) when the write answers.
//! The round trip is an echo: a message to an inbox the connection subscribed once comes
//! back only after everything the connection sent before it.

use super::super::Failure;
use cutover::cassette::Event;
use cutover::targets::InfraError;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long connecting to the NATS server, or its answer to a round trip, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a NATS server and the subject prefix events are published under.
#[derive(Clone)]
pub struct Publisher {
    client: async_nats::Client,
    prefix: String,
    echo: Arc<Echo>,
}

/// The connection's echo inbox: round trip `n` is a message to `SUBJECT.n`; `seen` holds
/// the highest number that came back (the sender is dropped when the subscription ends).
struct Echo {
    subject: String,
    sent: AtomicU64,
    seen: watch::Receiver<u64>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.reader.abort();
    }
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
        let echo = Echo::subscribe(&client)
            .await
            .map_err(|e| format!("subscribing to an inbox at `{server}`: {e}"))?;
        Ok(Publisher {
            client,
            prefix: prefix.to_string(),
            echo: Arc::new(echo),
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

    /// Waits until the server has handled what this connection sent before: a flush alone
    /// only writes to the socket. Echo `n` is sent after everything this connection
    /// flushed before `n` was taken, so any echo numbered `n` or more coming back (the
    /// server handles one connection's messages in order) says it was handled.
    async fn round_trip(&self) -> Result<(), Failure> {
        let n = self.echo.sent.fetch_add(1, Ordering::SeqCst) + 1;
        self.client
            .publish(format!("{}.{n}", self.echo.subject), Vec::new().into())
            .await
            .map_err(|err| infra(format!("publishing to an inbox: {err}")))?;
        let mut seen = self.echo.seen.clone();
        let back = tokio::time::timeout(CONNECT_TIMEOUT, seen.wait_for(|s| *s >= n))
            .await
            .map(|came| came.is_ok());
        match back {
            Ok(true) => Ok(()),
            Ok(false) => Err(infra("the NATS connection closed".into())),
            Err(_) => Err(infra("the NATS server did not answer within 10s".into())),
        }
    }
}

impl Echo {
    /// Subscribes `INBOX.*` on `client` and follows what comes back.
    async fn subscribe(client: &async_nats::Client) -> Result<Echo, String> {
        let subject = client.new_inbox();
        let mut echoes = client
            .subscribe(format!("{subject}.*"))
            .await
            .map_err(|e| e.to_string())?;
        client.flush().await.map_err(|e| e.to_string())?;
        let (back, seen) = watch::channel(0);
        let reader = tokio::spawn(async move {
            while let Some(message) = echoes.next().await {
                let n = message
                    .subject
                    .rsplit('.')
                    .next()
                    .and_then(|n| n.parse().ok());
                back.send_modify(|seen| *seen = n.map_or(*seen, |n: u64| n.max(*seen)));
            }
        });
        Ok(Echo {
            subject,
            sent: AtomicU64::new(0),
            seen,
            reader,
        })
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
