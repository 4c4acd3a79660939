//! The events a request published, compared (`docs/src/events.md`): the third part of a
//! request's behaviour beside its answer and stored state. The lists are diffed as the
//! answers are, after the rules written `on = "events"`, each divergence of class `events`
//! with its structural class in `detail`; an event a side published before its write
//! committed is a `before_commit` divergence on that side, whatever the other side did.

use super::result::StateCheck;
use crate::cassette::{Event, Request};
use crate::diff::{self, Class, Diff, Divergence};
use crate::normalize::{Part, RuleRun};
use serde_json::{json, Value};

/// How `legacy`'s and `candidate`'s events for `request` compare: `None` when the legacy
/// does not tell its events (there is nothing to hold the candidate's to), `unchecked` when
/// the legacy tells them and the candidate cannot; else the check and what differs.
pub(crate) fn compare(
    request: &Request,
    rules: Option<&RuleRun>,
    legacy: Option<&[Event]>,
    candidate: Option<&[Event]>,
) -> Option<(StateCheck, Diff)> {
    let (l, c) = match (legacy, candidate) {
        (None, _) => return None,
        (Some(_), None) => return Some((StateCheck::Unchecked, Diff::default())),
        (Some(l), Some(c)) => (l, c),
    };
    let (mut left, mut right) = (as_value(l), as_value(c));
    let mut found = match rules {
        Some(rules) => rules.compare(&request.op, Part::Events, false, &mut left, &mut right),
        None => diff::as_events(diff::values(&left, &right)),
    };
    found.divergences.extend(before_commit("legacy", l));
    found.divergences.extend(before_commit("candidate", c));
    let check = match found.is_equal() {
        true => StateCheck::Equal,
        false => StateCheck::Divergent,
    };
    Some((check, found))
}

/// The events as the diff and the rules see them: `[{"name", "payload"}, ...]`, without
/// the visibility flag, which is judged apart.
pub(crate) fn as_value(events: &[Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| json!({"name": e.name, "payload": e.payload}))
            .collect(),
    )
}

/// A `before_commit` divergence for each of `side`'s events published before its write
/// committed, at the event's index in that side's list.
fn before_commit<'a>(side: &'a str, events: &'a [Event]) -> impl Iterator<Item = Divergence> + 'a {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.before_commit)
        .map(move |(i, e)| {
            let event = Some(json!({"name": e.name, "payload": e.payload}));
            let (left, right) = match side {
                "legacy" => (event, None),
                _ => (None, event),
            };
            Divergence {
                path: format!("$[{i}]"),
                class: Class::BeforeCommit,
                left,
                right,
                detail: None,
                note: Some(format!(
                    "the {side} published `{}` before its write committed: its aggregate, \
                     read when the event arrived, did not hold the write yet",
                    e.name
                )),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Kind;

    fn request() -> Request {
        Request::new(
            1,
            Some("k"),
            "put",
            Kind::Write,
            json!({}),
            "2026-01-01T00:00:00Z",
        )
    }

    fn ev(name: &str, payload: Value) -> Event {
        Event::new(name, payload)
    }

    fn classes(found: &Diff) -> Vec<(String, Class, Option<Class>)> {
        found
            .divergences
            .iter()
            .map(|d| (d.path.clone(), d.class, d.detail))
            .collect()
    }

    #[test]
    fn a_legacy_not_telling_is_no_check_and_a_candidate_not_telling_is_unchecked() {
        let l = [ev("a", json!(1))];
        assert!(compare(&request(), None, None, None).is_none());
        let (check, found) = compare(&request(), None, Some(&l), None).unwrap();
        assert_eq!(check, StateCheck::Unchecked);
        assert!(found.is_equal());
        assert!(compare(&request(), None, None, Some(&l)).is_none());
    }

    #[test]
    fn forgotten_swapped_and_renamed_events_each_have_their_structural_class() {
        let l = [
            ev("posted", json!({"id": "c1", "text": "hi"})),
            ev("renamed", json!({"id": "c1", "title": "t"})),
        ];
        let forgot = [l[0].clone()];
        let (check, found) = compare(&request(), None, Some(&l), Some(&forgot)).unwrap();
        assert_eq!(check, StateCheck::Divergent);
        assert_eq!(
            classes(&found),
            [("$[1]".into(), Class::Events, Some(Class::Missing))]
        );
        let swapped = [l[1].clone(), l[0].clone()];
        let (_, found) = compare(&request(), None, Some(&l), Some(&swapped)).unwrap();
        assert_eq!(
            classes(&found),
            [("$".into(), Class::Events, Some(Class::Ordering))]
        );
        let renamed = [
            l[0].clone(),
            ev("renamed", json!({"id": "c1", "name": "t"})),
        ];
        let (_, found) = compare(&request(), None, Some(&l), Some(&renamed)).unwrap();
        let mut got = classes(&found);
        got.sort();
        assert_eq!(
            got,
            [
                (
                    "$[1].payload.name".into(),
                    Class::Events,
                    Some(Class::Extra)
                ),
                (
                    "$[1].payload.title".into(),
                    Class::Events,
                    Some(Class::Missing)
                ),
            ]
        );
    }

    #[test]
    fn an_event_published_before_its_commit_diverges_on_its_side_even_when_the_lists_agree() {
        let l = [ev("posted", json!({"id": "c1"}))];
        let mut early = l.clone();
        early[0].before_commit = true;
        let (check, found) = compare(&request(), None, Some(&l), Some(&early)).unwrap();
        assert_eq!(check, StateCheck::Divergent);
        assert_eq!(
            classes(&found),
            [("$[0]".into(), Class::BeforeCommit, None)]
        );
        assert!(found.divergences[0].right.is_some() && found.divergences[0].left.is_none());
        assert!(found.divergences[0]
            .note
            .as_deref()
            .unwrap()
            .contains("candidate"));
        let (_, found) = compare(&request(), None, Some(&early), Some(&l)).unwrap();
        assert!(found.divergences[0]
            .note
            .as_deref()
            .unwrap()
            .contains("legacy"));
        let (check, found) = compare(&request(), None, Some(&l), Some(&l)).unwrap();
        assert_eq!(check, StateCheck::Equal);
        assert!(found.is_equal());
    }

    #[test]
    fn empty_lists_agree_and_an_event_against_none_is_missing() {
        let none: [Event; 0] = [];
        let (check, _) = compare(&request(), None, Some(&none), Some(&none)).unwrap();
        assert_eq!(check, StateCheck::Equal);
        let l = [ev("posted", json!(null))];
        let (_, found) = compare(&request(), None, Some(&l), Some(&none)).unwrap();
        assert_eq!(
            classes(&found),
            [("$[0]".into(), Class::Events, Some(Class::Missing))]
        );
    }
}
