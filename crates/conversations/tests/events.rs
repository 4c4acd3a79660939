//! The domain events both repositories publish to NATS, on real servers: PostgreSQL and the
//! MongoDB-wire server through `cutover-servers`, NATS at `NATS_URL` or 127.0.0.1:4222 (the
//! test fails, saying so, when it is not reachable: nothing is skipped).
//!
//! Each write's events are told apart by a marker the test publishes after the write
//! answered: the repository flushed its events before answering, so the server has them
//! before the marker.

use async_nats::{Client, Subscriber};
use cutover::cassette::Request;
use cutover_conversations::events::{Defect, Publisher};
use cutover_conversations::ops::{self, Command};
use cutover_conversations::postgres::Queries;
use cutover_conversations::setup::Servers;
use cutover_conversations::Repository;
use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// One published event: its name (the subject after the prefix) and payload.
type Published = (String, Value);

/// The NATS server's address.
fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A prefix no other test or run uses.
fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    format!("cutover-test.{tag}.{}.{nanos}", std::process::id())
}

/// A subscription to everything published under a prefix.
struct Watch {
    client: Client,
    subscriber: Subscriber,
    prefix: String,
}

impl Watch {
    async fn new(tag: &str) -> Watch {
        let url = nats_url();
        let client = async_nats::connect(&url).await.unwrap_or_else(|e| {
            panic!("NATS is not reachable at {url} ({e}): start nats-server or set NATS_URL")
        });
        let prefix = unique_prefix(tag);
        let subscriber = client.subscribe(format!("{prefix}.>")).await.unwrap();
        client.flush().await.unwrap();
        Watch {
            client,
            subscriber,
            prefix,
        }
    }

    /// A publisher to this watch's prefix.
    async fn publisher(&self) -> Publisher {
        Publisher::connect(&format!("{}/{}", nats_url(), self.prefix))
            .await
            .unwrap()
    }

    /// The next event published, within 5s.
    async fn next(&mut self) -> Published {
        let message = tokio::time::timeout(Duration::from_secs(5), self.subscriber.next())
            .await
            .expect("an event within 5s")
            .expect("the subscription is open");
        let name = message.subject.as_str()[self.prefix.len() + 1..].to_string();
        (name, serde_json::from_slice(&message.payload).unwrap())
    }

    /// The events published since the last call, up to a marker published now.
    async fn since(&mut self) -> Vec<Published> {
        let marker = format!("{}.__marker", self.prefix);
        self.client.publish(marker, "{}".into()).await.unwrap();
        self.client.flush().await.unwrap();
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            if event.0 == "__marker" {
                return events;
            }
            events.push(event);
        }
    }
}

/// A write request on conversation `key`, `n` seconds into the recorded clock.
fn write(n: u64, key: &str, op: &str, args: Value) -> Command {
    let request: Request = serde_json::from_value(json!({
        "seq": n, "key": key, "op": op, "kind": "write", "args": args,
        "at": format!("2024-01-01T00:{:02}:{:02}Z", n / 60, n % 60),
    }))
    .unwrap();
    ops::parse(&request).unwrap()
}

/// Every write, and an update of two changes, and two that fail.
fn script() -> Vec<Command> {
    let conversation = json!({ "conversation": {
        "id": "c1", "kind": "group", "subject": "Hi", "created_at": "2024-01-01T00:00:00Z",
        "participants": [{ "identity_id": "u1", "name": "Ann", "role": "admin",
                           "joined_at": "2024-01-01T00:00:00Z" }],
    }});
    let ops = [
        ("create_conversation", conversation),
        (
            "add_participant",
            json!({ "identity_id": "u2", "name": "Bob", "role": "member" }),
        ),
        (
            "post_message",
            json!({ "message_id": "m1", "author_id": "u1", "text": "one" }),
        ),
        (
            "post_message",
            json!({ "message_id": "m2", "author_id": "u2", "text": "two" }),
        ),
        ("set_role", json!({ "identity_id": "u2", "role": "admin" })),
        (
            "attach",
            json!({ "message_id": "m1", "name": "a.txt", "size": 10 }),
        ),
        (
            "promote_attachment",
            json!({ "message_id": "m1", "index": 0, "storage_key": "s/0" }),
        ),
        (
            "mark_read",
            json!({ "message_id": "m1", "identity_id": "u2" }),
        ),
        ("mark_all_read", json!({ "identity_id": "u1" })),
        (
            "edit_message",
            json!({ "message_id": "m2", "text": "two!" }),
        ),
        ("rename", json!({ "subject": "Renamed" })),
        (
            "update_conversation",
            json!({ "changes": [
            { "rename": { "subject": "Updated" } },
            { "add_participant": { "identity_id": "u3", "name": "Cy", "role": "guest" } } ] }),
        ),
        (
            "update_conversation",
            json!({ "changes": [
            { "post_message": { "message_id": "m3", "author_id": "u3", "text": "three" } },
            { "attach": { "message_id": "m3", "name": "b", "size": 1 } },
            { "attach": { "message_id": "m3", "name": "c", "size": 2 } } ] }),
        ),
        ("delete_message", json!({ "message_id": "m1" })),
        ("archive", json!({})),
        ("unarchive", json!({})),
        ("remove_participant", json!({ "identity_id": "u3" })),
        (
            "add_participant",
            json!({ "identity_id": "u1", "name": "Ann", "role": "admin" }),
        ),
        (
            "post_message",
            json!({ "message_id": "m9", "author_id": "u9", "text": "no" }),
        ),
        ("delete_conversation", json!({})),
    ];
    (1..)
        .zip(ops)
        .map(|(n, (op, args))| write(n, "c1", op, args))
        .collect()
}

/// The events of each write of the script on `repository`, one list per write.
async fn run_script(repository: &dyn Repository, watch: &mut Watch) -> Vec<Vec<Published>> {
    let mut published = Vec::new();
    for command in script() {
        let _ = repository.run(&command).await;
        published.push(watch.since().await);
    }
    published
}

fn names(events: &[Published]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

/// The script's events on the legacy repository, and the PostgreSQL repository with
/// `defect` on a fresh database, for the given servers.
async fn both(servers: &Servers, tag: &str, defect: Option<Defect>) -> [Vec<Vec<Published>>; 2] {
    let mut watch = Watch::new(&format!("{tag}-legacy")).await;
    let (mongo, _mongo_db) = servers.legacy().await.unwrap();
    let mongo = mongo.with_events(watch.publisher().await);
    let legacy = run_script(&mongo, &mut watch).await;
    let mut watch = Watch::new(&format!("{tag}-new")).await;
    let (postgres, _postgres_db) = servers.candidate(Queries::default()).await.unwrap();
    let postgres = postgres.with_events(watch.publisher().await, defect);
    let candidate = run_script(&postgres, &mut watch).await;
    [legacy, candidate]
}

/// Both servers, started or found.
async fn servers_started() -> Servers {
    Servers::start()
        .await
        .expect("the servers start (see the error for what to install)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_repositories_publish_the_same_events_for_the_same_writes() {
    let servers = servers_started().await;
    let [legacy, candidate] = both(&servers, "same", None).await;
    assert_eq!(legacy, candidate);
    let per_write: Vec<Vec<&str>> = legacy.iter().map(|e| names(e)).collect();
    assert_eq!(
        per_write,
        [
            vec!["conversation_created"],
            vec!["participant_added"],
            vec!["message_posted"],
            vec!["message_posted"],
            vec!["participant_role_changed"],
            vec!["attachment_added"],
            vec!["attachment_promoted"],
            vec!["message_read"],
            vec!["messages_read"],
            vec!["message_edited"],
            vec!["conversation_renamed"],
            vec!["conversation_renamed", "participant_added"],
            vec!["message_posted", "attachment_added", "attachment_added"],
            vec!["message_deleted"],
            vec!["conversation_archived"],
            vec!["conversation_unarchived"],
            vec!["participant_removed"],
            vec![],
            vec![],
            vec!["conversation_deleted"],
        ]
    );
    assert_eq!(legacy[1][0].1["conversation_id"], json!("c1"));
    assert_eq!(
        legacy[1][0].1["joined_at"],
        json!("2024-01-01T00:00:02.000Z")
    );
    assert_eq!(legacy[8][0].1["marked"], json!(1));
    let indexes: Vec<&Value> = legacy[12][1..].iter().map(|(_, p)| &p["index"]).collect();
    assert_eq!(indexes, [&json!(0), &json!(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planted_defects_change_what_is_published() {
    let servers = servers_started().await;
    let ops: Vec<&str> = script().iter().map(|c| c.op.name()).collect();

    let [legacy, forgot] = both(&servers, "forget", Some(Defect::Forget)).await;
    for (i, op) in ops.iter().enumerate() {
        match *op == "post_message" && !legacy[i].is_empty() {
            true => assert!(forgot[i].is_empty(), "{op} published {:?}", forgot[i]),
            false => assert_eq!(legacy[i], forgot[i], "{op}"),
        }
    }
    assert_ne!(legacy, forgot);

    let [legacy, swapped] = both(&servers, "swap", Some(Defect::Swap)).await;
    for (i, op) in ops.iter().enumerate() {
        let mut expected = legacy[i].clone();
        if *op == "update_conversation" {
            expected.reverse();
        }
        assert_eq!(expected, swapped[i], "{op}");
    }
    assert_ne!(legacy, swapped);

    let [legacy, renamed] = both(&servers, "rename", Some(Defect::Rename)).await;
    let mut differ = 0;
    for (l, r) in legacy.iter().flatten().zip(renamed.iter().flatten()) {
        assert_eq!(l.0, r.0);
        if l.0 == "participant_added" {
            assert_eq!(l.1["identity_id"], r.1["participant_id"]);
            assert!(r.1.get("identity_id").is_none(), "{r:?}");
            differ += 1;
        } else {
            assert_eq!(l, r);
        }
    }
    assert_eq!(differ, 2);

    let [legacy, early] = both(&servers, "early", Some(Defect::InTransaction)).await;
    assert_eq!(legacy, early, "publishing early changes when, not what");
}

/// How many of `posts` messages were not yet visible to another connection when their
/// `message_posted` event arrived, on the PostgreSQL repository with `defect`.
async fn invisible_at_publication(servers: &Servers, defect: Option<Defect>, posts: u64) -> u64 {
    let mut watch = Watch::new("visibility").await;
    let (postgres, db) = servers.candidate(Queries::default()).await.unwrap();
    let postgres = Arc::new(postgres.with_events(watch.publisher().await, defect));
    let reader = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let create = write(
        0,
        "v1",
        "create_conversation",
        json!({ "conversation": {
        "id": "v1", "kind": "group", "created_at": "2024-01-01T00:00:00Z",
        "participants": [{ "identity_id": "u1", "name": "Ann", "role": "admin",
                           "joined_at": "2024-01-01T00:00:00Z" }] } }),
    );
    postgres.run(&create).await.unwrap();
    watch.since().await;
    let mut invisible = 0;
    for n in 1..=posts {
        let message_id = format!("m{n}");
        let args = json!({ "message_id": message_id, "author_id": "u1", "text": "hi" });
        let post = write(n, "v1", "post_message", args);
        let repository = Arc::clone(&postgres);
        let running = tokio::spawn(async move { repository.run(&post).await });
        let (name, payload) = watch.next().await;
        let visible: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM message WHERE conversation_id = 'v1' AND id = $1)",
        )
        .bind(&message_id)
        .fetch_one(&reader)
        .await
        .unwrap();
        assert_eq!(
            (name.as_str(), &payload["message_id"]),
            ("message_posted", &json!(message_id))
        );
        invisible += u64::from(!visible);
        running.await.unwrap().unwrap();
    }
    invisible
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publishing_inside_the_transaction_shows_events_before_their_write() {
    let servers = servers_started().await;
    let shipped = invisible_at_publication(&servers, None, 30).await;
    assert_eq!(
        shipped, 0,
        "events published after the commit see their write"
    );
    let early = invisible_at_publication(&servers, Some(Defect::InTransaction), 30).await;
    assert!(early >= 1, "no event of 30 arrived before its commit");
    eprintln!("in-transaction: {early} of 30 events arrived before their write was visible");
}

/// The spec options reach the repositories: `events=` publishes, a bad defect is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_options_publish_and_refuse_what_they_do_not_know() {
    let servers = servers_started().await;
    let db = servers.postgres.fresh_database().await.unwrap();
    let mut watch = Watch::new("spec").await;
    let spec = format!(
        "conversations-postgres:events={}/{},url={}",
        nats_url(),
        watch.prefix,
        db.url()
    );
    let target = cutover_conversations::spec::open(&spec)
        .await
        .unwrap()
        .unwrap();
    target.reset().await.unwrap();
    let create: Request = serde_json::from_value(json!({
        "seq": 1, "key": "s1", "op": "create_conversation", "kind": "write",
        "args": { "conversation": { "id": "s1", "kind": "group",
                                    "created_at": "2024-01-01T00:00:00Z" } },
        "at": "2024-01-01T00:00:00Z" }))
    .unwrap();
    target.execute(&create).await.unwrap();
    assert_eq!(names(&watch.since().await), ["conversation_created"]);
    let bad = format!(
        "conversations-postgres:events={}/p,events_defect=nope,url={}",
        nats_url(),
        db.url()
    );
    let refused = cutover_conversations::spec::open(&bad)
        .await
        .unwrap()
        .err()
        .unwrap();
    assert!(
        refused.contains("in-transaction, forget, swap, rename"),
        "{refused}"
    );
}
