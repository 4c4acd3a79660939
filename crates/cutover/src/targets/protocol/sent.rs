//! A message as `exec:` sends it, written straight from the call: the request is
//! serialized from a borrowed view, without a copy of it or a JSON tree in between.

use super::Call;
use crate::cassette::{Kind, Request};
use serde::Serialize;
use serde_json::Value;

/// The request as sent: what the cassette holds, without what was recorded (outcome,
/// state, latency, events). Its members are `Request`'s, in `Request`'s order.
#[derive(Serialize)]
pub(crate) struct SentRequest<'a> {
    seq: u64,
    key: &'a Option<String>,
    op: &'a str,
    kind: Kind,
    args: &'a Value,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_us: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: &'a Option<String>,
}

impl<'a> SentRequest<'a> {
    pub(crate) fn of(request: &'a Request) -> SentRequest<'a> {
        // No `..`: a member added to `Request` must be placed here, sent or not.
        let Request {
            seq,
            key,
            op,
            kind,
            args,
            at,
            outcome: _,
            state: _,
            latency_us: _,
            started_us,
            probe,
            events: _,
        } = request;
        SentRequest {
            seq: *seq,
            key,
            op,
            kind: *kind,
            args,
            at,
            started_us: *started_us,
            probe,
        }
    }
}

/// An `execute` message: `request`, then `id` and `type`, as every other message.
#[derive(Serialize)]
struct Execute<'a> {
    request: SentRequest<'a>,
    id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The line `exec:` sends for `call`: its members with `id` and `type`, and a newline.
pub(crate) fn message_line(id: u64, call: &Call<'_>) -> String {
    let mut line = match call {
        Call::Execute(request) => {
            let message = Execute {
                request: SentRequest::of(request),
                id,
                kind: call.kind(),
            };
            serde_json::to_string(&message).expect("a request serializes")
        }
        _ => {
            let mut message = call.body();
            message.insert("id".into(), id.into());
            message.insert("type".into(), call.kind().into());
            Value::Object(message).to_string()
        }
    };
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Event, Outcome};
    use serde_json::json;

    /// The line as a JSON tree of the request without its recorded members would give it.
    fn through_a_tree(id: u64, request: &Request) -> String {
        let bare = Request {
            outcome: None,
            state: None,
            latency_us: None,
            events: None,
            ..request.clone()
        };
        json!({ "request": bare, "id": id, "type": "execute" }).to_string() + "\n"
    }

    #[test]
    fn an_execute_line_is_the_request_without_what_was_recorded() {
        let mut full = Request::new(
            41,
            Some("k9"),
            "put",
            Kind::Write,
            serde_json::from_str(r#"{"value":9007199254740993,"z":[null,1.50],"a":{"b":"é\n"}}"#)
                .unwrap(),
            "2026-01-01T00:00:00Z",
        );
        full.outcome = Some(Outcome::Ok(json!(1)));
        full.state = Some(Value::Null);
        full.latency_us = Some(7);
        full.started_us = Some(3);
        full.probe = Some("edge".into());
        full.events = Some(vec![Event::new("e", Value::Null)]);
        let keyless = Request::new(2, None, "count", Kind::Read, json!({}), "t");
        for request in [&full, &keyless] {
            let line = message_line(12, &Call::Execute(request));
            assert_eq!(line, through_a_tree(12, request));
        }
        let line = message_line(12, &Call::Execute(&full));
        assert!(
            !line.contains("latency_us") && !line.contains("events"),
            "{line}"
        );
        assert!(
            line.contains("9007199254740993") && line.contains("1.50"),
            "{line}"
        );
    }
}
