//! MySQL to MongoDB's outbox rows as each write's events (`[events]` in both sides'
//! declarations): both sides tell the events of every write (the bundled cassette's too)
//! and agree; a write's events hold its own rows only, however many other writes run at
//! once; a candidate trigger that changes a row's payload or drops a row shows on that
//! write's events.

use cutover::cassette::{Event, Kind, Request};
use cutover::targets::{Executed, Target};
use cutover_declared::migration::{Migration, Running};
use serde_json::{json, Value};
use std::sync::Arc;

const NAME: &str = "mysql-to-mongodb";

/// The migration, one of its files patched, on fresh databases; both sides reset.
async fn started(patch: Option<(&str, &str, &str)>) -> (tempfile::TempDir, Running) {
    let dir = crate::util::migration_copy(NAME, patch);
    let running = Migration::load(dir.path())
        .unwrap()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{NAME}: the servers start and the schemas apply: {e}"));
    running.pair.legacy.reset().await.unwrap();
    running.pair.candidate.reset().await.unwrap();
    (dir, running)
}

fn write(seq: u64, key: &str, op: &str, args: Value) -> Request {
    Request::new(
        seq,
        Some(key),
        op,
        Kind::Write,
        args,
        "2026-03-03T08:00:00.000Z",
    )
}

/// The writes of a user's life: created, a duplicate refused, its plan changed, deleted,
/// deleted again (not found).
fn life(key: &str) -> Vec<Request> {
    let user = json!({"name": "Ann", "email": "ann@example.com", "plan": "free"});
    vec![
        write(1, key, "create_user", user.clone()),
        write(2, key, "create_user", user),
        write(3, key, "change_plan", json!({"plan": "pro"})),
        write(4, key, "delete_user", json!({})),
        write(5, key, "delete_user", json!({})),
    ]
}

async fn events(target: &Arc<dyn Target>, request: &Request) -> Vec<Event> {
    let Executed { outcome, events } = target.execute_events(request).await.unwrap();
    events.unwrap_or_else(|| {
        panic!(
            "{}: {} tells no events ({outcome:?})",
            target.name(),
            request.op
        )
    })
}

fn doc(key: &str, plan: &str) -> Value {
    json!({"_id": key, "name": "Ann", "email": "ann@example.com", "plan": plan, "active": 1})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_tell_each_writes_outbox_rows_and_agree() {
    let (_dir, running) = started(None).await;
    let expected = [
        vec![Event::new(
            "users",
            json!({"doc_id": "u1", "doc": doc("u1", "free")}),
        )],
        vec![],
        vec![Event::new(
            "users",
            json!({"doc_id": "u1", "doc": doc("u1", "pro")}),
        )],
        vec![Event::new("users", json!({"doc_id": "u1", "doc": null}))],
        vec![],
    ];
    for (request, expected) in life("u1").iter().zip(expected) {
        for side in [&running.pair.legacy, &running.pair.candidate] {
            assert_eq!(
                events(side, request).await,
                expected,
                "{} {}",
                side.name(),
                request.op
            );
        }
    }
    // A read publishes nothing the outbox could tell: its events are not compared.
    let read = Request::new(
        6,
        Some("u1"),
        "get_user",
        Kind::Read,
        json!({}),
        "2026-03-03T08:00:00.000Z",
    );
    for side in [&running.pair.legacy, &running.pair.candidate] {
        assert_eq!(
            side.execute_events(&read).await.unwrap().events,
            None,
            "{}",
            side.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writes_events_are_its_own_rows_while_others_write_at_once() {
    let (_dir, running) = started(None).await;
    for side in [running.pair.legacy.clone(), running.pair.candidate.clone()] {
        let lives = (0..24).map(|i| {
            let side = side.clone();
            tokio::spawn(async move {
                let key = format!("c{i:02}");
                for request in life(&key) {
                    for event in events(&side, &request).await {
                        assert_eq!(
                            event.payload["doc_id"],
                            key.as_str(),
                            "{} {}",
                            side.name(),
                            request.op
                        );
                    }
                }
            })
        });
        for handle in lives.collect::<Vec<_>>() {
            handle.await.unwrap();
        }
    }
}

/// The events of each write of a user's life on both sides, after `patch`: the writes
/// whose events differ, with the legacy's and the candidate's.
async fn differing(patch: (&str, &str, &str)) -> Vec<(String, Vec<Event>, Vec<Event>)> {
    let (_dir, running) = started(Some(patch)).await;
    let mut differing = Vec::new();
    for request in life("u1") {
        let legacy = events(&running.pair.legacy, &request).await;
        let candidate = events(&running.pair.candidate, &request).await;
        if legacy != candidate {
            differing.push((request.op.clone(), legacy, candidate));
        }
    }
    differing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_dropped_candidate_trigger_shows_on_the_write_it_changes() {
    // The UPDATE trigger loses `plan` from the document: change_plan's payload differs.
    let lose_plan = (
        "outbox.sql",
        "'plan', NEW.plan, 'active', NEW.active));\nCREATE TRIGGER users_deleted",
        "'active', NEW.active));\nCREATE TRIGGER users_deleted",
    );
    let found = differing(lose_plan).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let (op, legacy, candidate) = &found[0];
    assert_eq!(op, "change_plan");
    assert_eq!(legacy[0].payload["doc"]["plan"], "pro");
    assert_eq!(candidate.len(), 1);
    assert!(
        candidate[0].payload["doc"].get("plan").is_none(),
        "{candidate:?}"
    );
    // No DELETE trigger: delete_user's row is missing on the candidate.
    let no_delete = (
        "outbox.sql",
        "CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH ROW\n  INSERT INTO outbox (collection, doc_id, doc) VALUES ('users', OLD.id, NULL);",
        "",
    );
    let found = differing(no_delete).await;
    assert_eq!(
        found,
        vec![(
            "delete_user".to_string(),
            vec![Event::new("users", json!({"doc_id": "u1", "doc": null}))],
            vec![]
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_of_the_bundled_cassette_tells_the_same_events_on_both_sides() {
    let (dir, running) = started(None).await;
    let reader = cutover::cassette::Reader::open(dir.path().join("cassette.jsonl")).unwrap();
    let mut writes = 0;
    for request in reader {
        let request = request.unwrap();
        let legacy = running.pair.legacy.execute_events(&request).await.unwrap();
        let candidate = running
            .pair
            .candidate
            .execute_events(&request)
            .await
            .unwrap();
        match request.kind {
            Kind::Write => {
                assert!(legacy.events.is_some(), "seq {}", request.seq);
                assert_eq!(legacy.events, candidate.events, "seq {}", request.seq);
                writes += 1;
            }
            Kind::Read => assert_eq!((legacy.events, candidate.events), (None, None)),
        }
    }
    assert_eq!(writes, 9);
}
