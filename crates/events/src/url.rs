//! The events URL: `nats://HOST:PORT/SUBJECT_PREFIX?key=FIELD&window=20ms`.

use cutover::targets::parse_duration;
use std::time::Duration;

/// A parsed events URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsUrl {
    /// The server, `nats://HOST:PORT`.
    pub server: String,
    /// The subject prefix: events are published on `PREFIX.NAME`.
    pub prefix: String,
    /// The dotted path of the payload's field naming the aggregate (`key` by default).
    pub key: Vec<String>,
    /// How long to wait after an answer for events published asynchronously (zero by
    /// default).
    pub window: Duration,
}

impl EventsUrl {
    /// Parses `nats://HOST:PORT/SUBJECT_PREFIX[?key=FIELD][&window=DURATION]`.
    pub fn parse(text: &str) -> Result<EventsUrl, String> {
        let error = |what: &str| format!("events URL `{text}`: {what}");
        let rest = text
            .strip_prefix("nats://")
            .ok_or_else(|| error("expected nats://HOST:PORT/SUBJECT_PREFIX"))?;
        let (address, rest) = rest
            .split_once('/')
            .ok_or_else(|| error("expected a subject prefix after the address"))?;
        let (prefix, query) = rest.split_once('?').unwrap_or((rest, ""));
        if address.is_empty() || !valid_prefix(prefix) {
            return Err(error(
                "expected nats://HOST:PORT/SUBJECT_PREFIX, the prefix a subject without wildcards",
            ));
        }
        let mut url = EventsUrl {
            server: format!("nats://{address}"),
            prefix: prefix.to_string(),
            key: vec!["key".into()],
            window: Duration::ZERO,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("key", field)) if !field.is_empty() => {
                    url.key = field.split('.').map(str::to_string).collect();
                }
                Some(("window", value)) => {
                    url.window = parse_duration(value)
                        .ok_or_else(|| error("window: expected a duration such as 20ms"))?;
                }
                _ => {
                    return Err(error(&format!(
                        "unknown `{pair}`; expected key=FIELD or window=DURATION"
                    )))
                }
            }
        }
        Ok(url)
    }

    /// The URL as written back, for messages: `nats://HOST:PORT/PREFIX`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.server, self.prefix)
    }
}

fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .split('.')
            .all(|t| !t.is_empty() && !t.contains(['*', '>', ' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_their_defaults() {
        let url = EventsUrl::parse("nats://127.0.0.1:4222/shop.orders").unwrap();
        assert_eq!(url.server, "nats://127.0.0.1:4222");
        assert_eq!(url.prefix, "shop.orders");
        assert_eq!(url.key, ["key"]);
        assert_eq!(url.window, Duration::ZERO);
        let url = EventsUrl::parse("nats://h:1/p?key=order.id&window=20ms").unwrap();
        assert_eq!(url.key, ["order", "id"]);
        assert_eq!(url.window, Duration::from_millis(20));
        for bad in [
            "http://h/p",
            "nats://h:1",
            "nats://h:1/a.>",
            "nats://h:1/p?x=1",
            "nats://h:1/p?window=soon",
        ] {
            assert!(EventsUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
