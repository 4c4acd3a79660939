//! A side's events read from a real broker: [`NatsSubscription`], a
//! [`cutover::targets::events::Subscription`] over NATS (`async-nats`), and [`watch`], which
//! wraps a target in a [`Watched`] that collects its requests' events from it
//! (`docs/src/events.md`). The core stays free of any broker client; this crate is where one
//! is named.

#![warn(missing_docs)]

mod message;
mod nats;
mod url;

pub use nats::NatsSubscription;
pub use url::EventsUrl;

use cutover::targets::events::Watched;
use cutover::targets::Target;
use std::sync::Arc;

/// `inner` watched through a subscription to `url`
/// (`nats://HOST:PORT/SUBJECT_PREFIX?key=FIELD&window=20ms`): its requests' events are
/// collected from the broker, with visibility at publication. An error says why the URL is
/// wrong or the broker could not be subscribed to.
pub async fn watch(inner: Arc<dyn Target>, url: &str) -> Result<Watched, String> {
    let (subscription, deliveries) = NatsSubscription::connect(url).await?;
    Ok(Watched::new(inner, Arc::new(subscription), deliveries))
}
