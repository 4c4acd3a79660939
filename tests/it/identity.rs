//! Store-generated keys through the library: a recorded cassette replayed on two stores that
//! number their aggregates differently compares equal, with every create's stored state
//! compared; a batch numbered in another order pairs by content; a create that answers
//! another aggregate's id, or stores something else, is divergent.

use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
use cutover::declaration::Declaration;
use cutover::replay::{Pair, ReplayOptions, StateCheck, Status};
use cutover::replay_collect;
use cutover::targets::{InfraError, Target};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const DECLARATION: &str = r#"
domain = "notes"

[[op]]
name = "create"
kind = "write"
key = "generated"
generated_key = "id"
[op.args]
title = { type = "string", class = "free_text" }

[[op]]
name = "create_many"
kind = "write"
key = "generated"
generated_key = "id"
[op.args]
titles = { type = "array" }

[[op]]
name = "get"
kind = "read"
key = "keyed"
[op.answer]
links = { type = "array", class = "id" }

[[op]]
name = "link"
kind = "write"
key = "keyed"
[op.args]
to = { type = "integer", class = "id" }
"#;

/// How a store numbers and answers.
#[derive(Clone, Copy, Default)]
struct Numbering {
    /// The first id after a reset.
    start: u64,
    /// A batch's elements are numbered last to first, and answered in that order.
    batch_reversed: bool,
    /// The create with this title answers the id of the first note instead of its own.
    answers_first_id_for: Option<&'static str>,
    /// Creates store their title in upper case (and answer it as given).
    stores_upper: bool,
}

/// Notes in memory, numbered as `numbering` says: `create`, `create_many`, `get`, `link`.
struct Notes {
    numbering: Numbering,
    state: Mutex<(u64, BTreeMap<u64, Value>)>,
}

impl Notes {
    fn new(numbering: Numbering) -> Notes {
        Notes {
            numbering,
            state: Mutex::new((numbering.start, BTreeMap::new())),
        }
    }

    fn add(&self, title: &str) -> Value {
        let mut state = self.state.lock().unwrap();
        let id = state.0;
        state.0 += 1;
        let stored = match self.numbering.stores_upper {
            true => title.to_uppercase(),
            false => title.to_string(),
        };
        state
            .1
            .insert(id, json!({"id": id, "title": stored, "links": []}));
        let first = *state.1.keys().next().unwrap();
        let answered = match self.numbering.answers_first_id_for {
            Some(t) if t == title => first,
            _ => id,
        };
        json!({"id": answered, "title": title})
    }
}

#[async_trait]
impl Target for Notes {
    fn name(&self) -> &str {
        "notes"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        *self.state.lock().unwrap() = (self.numbering.start, BTreeMap::new());
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        let key: Option<u64> = request.key.as_deref().and_then(|k| k.parse().ok());
        Ok(match (request.op.as_str(), key) {
            ("create", None) => Outcome::Ok(self.add(request.args["title"].as_str().unwrap())),
            ("create_many", None) => {
                let titles: Vec<&str> = request.args["titles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap())
                    .collect();
                let order: Vec<&str> = match self.numbering.batch_reversed {
                    true => titles.into_iter().rev().collect(),
                    false => titles,
                };
                Outcome::Ok(order.into_iter().map(|t| self.add(t)).collect())
            }
            ("get", Some(id)) => match self.state.lock().unwrap().1.get(&id) {
                Some(note) => Outcome::Ok(note.clone()),
                None => Outcome::error(ErrorKind::NotFound, "no note"),
            },
            ("link", Some(id)) => {
                let to = request.args["to"].clone();
                let mut state = self.state.lock().unwrap();
                match state.1.get_mut(&id) {
                    Some(note) => {
                        note["links"].as_array_mut().unwrap().push(to);
                        Outcome::Ok(Value::Null)
                    }
                    None => Outcome::error(ErrorKind::NotFound, "no note"),
                }
            }
            (op, key) => Outcome::error(
                ErrorKind::Invalid,
                format!("{op} with key {key:?} is not served"),
            ),
        })
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        let id: Option<u64> = key.parse().ok();
        let state = self.state.lock().unwrap();
        Ok(Some(
            id.and_then(|id| state.1.get(&id).cloned())
                .unwrap_or(Value::Null),
        ))
    }
}

/// The requests, recorded on a store numbering from 1: each create keyed by the id it got
/// (a batch by its first), with the recorded answer and state.
async fn recorded(dir: &tempfile::TempDir) -> Reader {
    let store = Notes::new(Numbering {
        start: 1,
        ..Numbering::default()
    });
    let path = dir.path().join("notes.jsonl");
    let mut writer = Writer::create(&path, &Header::new("notes")).unwrap();
    let steps: Vec<(&str, Kind, Option<&str>, Value)> = vec![
        ("create", Kind::Write, None, json!({"title": "alpha"})),
        ("create", Kind::Write, None, json!({"title": "beta"})),
        (
            "create_many",
            Kind::Write,
            None,
            json!({"titles": ["gamma", "delta", "gamma", "zeta"]}),
        ),
        ("get", Kind::Read, Some("1"), json!({})),
        ("get", Kind::Read, Some("4"), json!({})),
        ("link", Kind::Write, Some("2"), json!({"to": 5})),
        ("get", Kind::Read, Some("2"), json!({})),
        ("get", Kind::Read, Some("5"), json!({})),
        ("create", Kind::Write, None, json!({"title": "epsilon"})),
        ("get", Kind::Read, Some("6"), json!({})),
        ("get", Kind::Read, Some("7"), json!({})),
    ];
    for (seq, (op, kind, key, args)) in steps.into_iter().enumerate() {
        let mut request = Request::new(seq as u64 + 1, key, op, kind, args, "2026-01-01T00:00:00Z");
        let outcome = store.execute(&request).await.unwrap();
        if let (Outcome::Ok(answer), "create") = (&outcome, op) {
            request.key = Some(answer["id"].to_string());
        }
        if let Some(key) = &request.key {
            request.state = store.dump(key).await.unwrap();
        }
        request.outcome = Some(outcome);
        writer.write(&request).unwrap();
    }
    writer.finish().unwrap();
    Reader::open(&path).unwrap()
}

/// Replays the recording on a legacy numbering from 100 and `candidate`.
async fn replay(candidate: Numbering) -> cutover::Replayed {
    let dir = tempfile::tempdir().unwrap();
    let reader = recorded(&dir).await;
    let legacy = Notes::new(Numbering {
        start: 100,
        ..Numbering::default()
    });
    let pair = Pair {
        legacy: Arc::new(legacy),
        candidate: Arc::new(Notes::new(candidate)),
    };
    let declaration = Declaration::parse(DECLARATION, "notes.toml").unwrap();
    let pair = pair.with_identities(&declaration.generated());
    let options = ReplayOptions {
        serial_ops: declaration.generated().creates.into_keys().collect(),
        ..ReplayOptions::default()
    };
    replay_collect(reader, &pair, &options).await.unwrap()
}

#[tokio::test]
async fn stores_that_number_differently_compare_equal_and_every_create_is_checked() {
    let replayed = replay(Numbering {
        start: 7000,
        ..Numbering::default()
    })
    .await;
    let results = &replayed.results;
    assert!(
        results.iter().all(|r| r.status == Status::Equal),
        "{results:#?}"
    );
    let creates: Vec<_> = results.iter().filter(|r| r.op == "create").collect();
    assert_eq!(creates.len(), 3);
    assert!(
        creates.iter().all(|r| r.state == Some(StateCheck::Equal)),
        "{creates:#?}"
    );
    let unchecked = replayed.report.operations["create"].writes_unchecked;
    assert_eq!(unchecked, 0);
}

#[tokio::test]
async fn a_batch_numbered_in_another_order_pairs_by_content() {
    let replayed = replay(Numbering {
        start: 50,
        batch_reversed: true,
        ..Numbering::default()
    })
    .await;
    let divergent: Vec<_> = replayed
        .results
        .iter()
        .filter(|r| r.status != Status::Equal)
        .collect();
    // The batch's answer lists its elements in another order: that is all that differs.
    // Paired by position, the later gets of its ids would read other notes.
    assert_eq!(divergent.len(), 1, "{divergent:#?}");
    assert_eq!(divergent[0].op, "create_many");
    let classes: Vec<_> = divergent[0]
        .divergences
        .iter()
        .map(|d| d.class.to_string())
        .collect();
    assert_eq!(classes, ["ordering"], "{divergent:#?}");
}

#[tokio::test]
async fn a_create_that_answers_another_notes_id_is_divergent() {
    let replayed = replay(Numbering {
        start: 7000,
        answers_first_id_for: Some("epsilon"),
        ..Numbering::default()
    })
    .await;
    let create = replayed
        .results
        .iter()
        .find(|r| r.seq == 9)
        .expect("the epsilon create");
    assert_eq!(create.status, Status::Divergent, "{create:#?}");
    assert!(
        create.divergences.iter().any(|d| d.path == "$.id"),
        "{create:#?}"
    );
    assert_eq!(replayed.report.verdict, cutover::report::Verdict::Divergent);
}

#[tokio::test]
async fn a_create_that_stores_something_else_is_caught_at_the_create() {
    let replayed = replay(Numbering {
        start: 7000,
        stores_upper: true,
        ..Numbering::default()
    })
    .await;
    let first = replayed
        .results
        .iter()
        .find(|r| r.status == Status::Divergent)
        .expect("a divergence");
    assert_eq!((first.seq, first.op.as_str()), (1, "create"));
    assert_eq!(first.state, Some(StateCheck::Divergent), "{first:#?}");
    assert_eq!(first.follows, None);
}

#[tokio::test]
async fn a_create_with_no_recorded_id_pairs_the_candidates_id_with_the_legacys() {
    // Creates as a probe sends them: no key, no recorded answer.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.jsonl");
    let mut writer = Writer::create(&path, &Header::new("notes")).unwrap();
    for (seq, title) in [(1, "alpha"), (2, "beta"), (3, "gamma")] {
        let args = json!({"title": title});
        let request = Request::new(
            seq,
            None,
            "create",
            Kind::Write,
            args,
            "2026-01-01T00:00:00Z",
        );
        writer.write(&request).unwrap();
    }
    writer.finish().unwrap();
    let declaration = Declaration::parse(DECLARATION, "notes.toml").unwrap();
    let numbered = |start, answers_first_id_for| {
        Arc::new(Notes::new(Numbering {
            start,
            answers_first_id_for,
            ..Numbering::default()
        })) as Arc<dyn Target>
    };
    for (wrong, expected) in [(None, Status::Equal), (Some("gamma"), Status::Divergent)] {
        let pair = Pair {
            legacy: numbered(100, None),
            candidate: numbered(7000, wrong),
        }
        .with_identities(&declaration.generated());
        let replayed = replay_collect(
            Reader::open(&path).unwrap(),
            &pair,
            &ReplayOptions::default(),
        )
        .await
        .unwrap();
        let last = replayed.results.last().unwrap();
        assert_eq!(last.status, expected, "{:#?}", replayed.results);
        assert!(
            replayed.results[..2]
                .iter()
                .all(|r| r.status == Status::Equal),
            "{:#?}",
            replayed.results
        );
    }
}
