//! [`NatsSubscription`]: `PREFIX.>` subscribed on a NATS server, its connection watched.

use crate::message;
use crate::url::EventsUrl;
use async_trait::async_trait;
use cutover::targets::events::{inbox, Deliveries, Delivery, Inbox, Subscription};
use futures::StreamExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// A subscription to every subject under a prefix on a NATS server. Each message is pushed
/// into its inbox as an event (name: the subject after the prefix); its own fences, published
/// on `PREFIX.cutover-fence.TOKEN.N` inside the same filter, come back in order after
/// everything published before them. A disconnection, a closed connection, a slow consumer
/// (messages dropped) or the end of the subscription loses it.
pub struct NatsSubscription {
    client: async_nats::Client,
    url: EventsUrl,
    token: String,
    reader: JoinHandle<()>,
}

impl NatsSubscription {
    /// Connects to the server of `url`, subscribes `PREFIX.>` and waits until the server
    /// has the subscription; the deliveries are for a
    /// [`cutover::targets::events::Watched`].
    pub async fn connect(url: &str) -> Result<(NatsSubscription, Deliveries), String> {
        let url = EventsUrl::parse(url)?;
        let (inbox, deliveries) = inbox();
        let error = |e: &dyn std::fmt::Display| format!("events broker {}: {e}", url.describe());
        let client = async_nats::ConnectOptions::new()
            .name("cutover")
            .connection_timeout(Duration::from_secs(5))
            .event_callback(watch_connection(inbox.clone()))
            .connect(url.server.as_str())
            .await
            .map_err(|e| error(&e))?;
        let subscriber = client
            .subscribe(format!("{}.>", url.prefix))
            .await
            .map_err(|e| error(&e))?;
        client.flush().await.map_err(|e| error(&e))?;
        let token = token();
        let reader = tokio::spawn(read(subscriber, url.clone(), token.clone(), inbox));
        let subscription = NatsSubscription {
            client,
            url,
            token,
            reader,
        };
        Ok((subscription, deliveries))
    }

    /// The URL it was made from.
    pub fn url(&self) -> &EventsUrl {
        &self.url
    }
}

impl Drop for NatsSubscription {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[async_trait]
impl Subscription for NatsSubscription {
    fn describe(&self) -> String {
        self.url.describe()
    }

    fn window(&self) -> Duration {
        self.url.window
    }

    async fn fence(&self, n: u64) -> Result<(), String> {
        let subject = format!("{}.cutover-fence.{}.{n}", self.url.prefix, self.token);
        self.client
            .publish(subject, Vec::new().into())
            .await
            .map_err(|e| e.to_string())?;
        self.client.flush().await.map_err(|e| e.to_string())
    }
}

/// The connection's events that lose the subscription.
fn watch_connection(
    inbox: Inbox,
) -> impl Fn(async_nats::Event) -> std::future::Ready<()> + Send + Sync + 'static {
    move |event| {
        let reason = match event {
            async_nats::Event::Disconnected => Some("disconnected".to_string()),
            async_nats::Event::Closed => Some("connection closed".to_string()),
            async_nats::Event::SlowConsumer(_) => {
                Some("slow consumer: the server dropped messages".to_string())
            }
            _ => None,
        };
        if let Some(reason) = reason {
            let _ = inbox.send(Delivery::Lost(reason));
        }
        std::future::ready(())
    }
}

/// Pushes every message into the inbox, in delivery order, until the subscription ends.
async fn read(mut subscriber: async_nats::Subscriber, url: EventsUrl, token: String, inbox: Inbox) {
    let events = format!("{}.", url.prefix);
    let fences = format!("{events}cutover-fence.");
    let own = format!("{fences}{token}.");
    while let Some(msg) = subscriber.next().await {
        let subject = msg.subject.as_str();
        let delivery = if let Some(n) = subject.strip_prefix(&own) {
            n.parse().ok().map(Delivery::Fence)
        } else if subject.starts_with(&fences) {
            None // another watcher's fence
        } else {
            let name = subject.strip_prefix(&events).unwrap_or(subject);
            let (key, event) = message::read(name, &msg.payload, &url.key);
            Some(Delivery::Event { key, event })
        };
        if let Some(delivery) = delivery {
            if inbox.send(delivery).is_err() {
                return;
            }
        }
    }
    let _ = inbox.send(Delivery::Lost("the subscription ended".into()));
}

/// A subject token no other watcher uses: process id, clock and a counter.
fn token() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}x{nanos}x{n}", std::process::id())
}
