//! The reference domain on real servers: MongoDB wire (SecantusDB, or `MONGODB_URI`) as the
//! legacy store, PostgreSQL as the new one. The servers start here, or the test fails with
//! what is missing: nothing is skipped.

use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
use cutover::diff::Class;
use cutover::normalize::Rules;
use cutover::replay::{self, Pair, ReplayOptions, RequestResult, Status};
use cutover::replay_collect;
use cutover::report::Report;
use cutover::targets::recorded::Recorded;
use cutover::targets::{Dumped, Target};
use cutover_conversations::generate;
use cutover_conversations::ops::{self, Command, Operation, WriteOp, READS, WRITES};
use cutover_conversations::postgres::{Postgres, Queries};
use cutover_conversations::setup::Servers;
use cutover_conversations::{model::Conversation, DomainTarget, Failure, Repository};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// The representation differences the two repositories declare.
fn domain_rules() -> Arc<Rules> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml");
    Arc::new(Rules::load(path).unwrap())
}

/// Replays with the domain's rules.
async fn replay(
    cassette: &Path,
    legacy: Arc<dyn Target>,
    candidate: Arc<dyn Target>,
    keep: bool,
) -> (Vec<RequestResult>, Report) {
    let options = ReplayOptions {
        keep_outcomes: keep,
        rules: Some(domain_rules()),
        ..ReplayOptions::default()
    };
    replay_with(cassette, Pair { legacy, candidate }, &options).await
}

async fn replay_with(
    cassette: &Path,
    pair: Pair,
    options: &ReplayOptions,
) -> (Vec<RequestResult>, Report) {
    let replayed = replay_collect(Reader::open(cassette).unwrap(), &pair, options)
        .await
        .unwrap();
    (replayed.results, replayed.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_replays_equivalent_between_mongodb_and_postgres() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let pair = servers.pair().await.unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations-100.jsonl");
    let (results, report) =
        replay(&fixture, pair.legacy.clone(), pair.candidate.clone(), true).await;
    assert_eq!(report.totals.divergent, 0, "{:#?}", report.examples);
    assert_eq!(report.totals.inconclusive, 0);
    assert_eq!(report.totals.equal, report.totals.total);
    for op in WRITES.iter().chain(READS.iter()) {
        assert!(
            report.operations.contains_key(*op),
            "the fixture exercises {op}"
        );
    }
    // The equality is not vacuous: the legacy answered with data and with every error
    // kind that real clients provoke.
    let legacy: Vec<&Outcome> = results
        .iter()
        .map(|r| r.legacy.outcome.as_ref().unwrap())
        .collect();
    for kind in [ErrorKind::NotFound, ErrorKind::Conflict, ErrorKind::Invalid] {
        assert!(
            legacy
                .iter()
                .any(|o| matches!(o, Outcome::Error(e) if e.kind == kind)),
            "some {kind}"
        );
    }
    let documents = results
        .iter()
        .filter(|r| r.op == "find_by_id")
        .filter(|r| matches!(&r.legacy.outcome, Some(Outcome::Ok(Value::Object(_)))))
        .count();
    assert!(documents > 50, "{documents} documents found by id");
    let writes_checked = results
        .iter()
        .filter(|r| r.kind == Kind::Write && r.state == Some(replay::StateCheck::Equal))
        .count();
    assert!(
        writes_checked > 1000,
        "{writes_checked} writes had their stored state compared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixture_needs_exactly_its_declared_timestamp_rules() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations-100.jsonl");

    // Without rules, the stores' timestamp representations differ, and nothing else does.
    let pair = servers.pair().await.unwrap();
    let (_, bare) = replay_with(
        &fixture,
        Pair {
            legacy: pair.legacy.clone(),
            candidate: pair.candidate.clone(),
        },
        &ReplayOptions::default(),
    )
    .await;
    assert!(
        bare.totals.divergent > 1000,
        "{} divergent",
        bare.totals.divergent
    );
    assert_eq!(bare.totals.inconclusive, 0);
    for (op, o) in &bare.operations {
        for class in o.classes.keys() {
            assert!(
                matches!(class, Class::Value | Class::State),
                "{op}: only timestamp values and the state holding them differ, not {class}"
            );
        }
    }
    for example in &bare.examples {
        let path = &example.divergence.path;
        assert!(
            ["created_at", "joined_at", "edited_at"]
                .iter()
                .any(|field| path.contains(field)),
            "{} diverges at {path}",
            example.op
        );
    }

    // With them: equivalent, and every rule fired.
    let pair = servers.pair().await.unwrap();
    let (_, ruled) = replay(&fixture, pair.legacy.clone(), pair.candidate.clone(), false).await;
    assert_eq!(ruled.totals.divergent, 0, "{:#?}", ruled.examples);
    assert_eq!(ruled.rules.len(), 3);
    for rule in &ruled.rules {
        assert!(rule.fired > 0, "{} fired", rule.rule);
    }
}

/// A candidate with a defect that lives outside the SQL.
struct Faulty {
    inner: Postgres,
    fault: Fault,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Null fields are left out of every answer.
    DropNulls,
    /// Timestamps are stored at whole seconds.
    TruncateToSeconds,
    /// A duplicate is reported as an internal error.
    ConflictAsInternal,
    /// `rename` answers right but stores the subject in capitals.
    ShoutingRename,
}

#[async_trait]
impl Repository for Faulty {
    fn name(&self) -> &str {
        "faulty postgres"
    }
    async fn reset(&self) -> Result<(), Failure> {
        self.inner.reset().await
    }
    async fn run(&self, command: &Command) -> Result<Value, Failure> {
        let mut command = command.clone();
        match (self.fault, &mut command.op) {
            (Fault::TruncateToSeconds, _) => {
                command.at = chrono::DateTime::from_timestamp(command.at.timestamp(), 0).unwrap();
            }
            (Fault::ShoutingRename, Operation::Write(WriteOp::Rename(r))) => {
                r.subject = r.subject.as_ref().map(|s| s.to_uppercase())
            }
            _ => {}
        }
        let answer = self.inner.run(&command).await;
        match (self.fault, answer) {
            (Fault::DropNulls, Ok(value)) => Ok(drop_nulls(value)),
            (Fault::ConflictAsInternal, Err(Failure::Domain(ErrorKind::Conflict, m))) => {
                Err(Failure::Domain(ErrorKind::Internal, m))
            }
            (_, answer) => answer,
        }
    }
    async fn find(&self, id: &str) -> Result<Option<Conversation>, Failure> {
        self.inner.find(id).await
    }

    async fn keys(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, Failure> {
        self.inner.keys(after, limit).await
    }

    async fn find_batch(
        &self,
        ids: &[String],
    ) -> Result<Vec<cutover_conversations::Found>, Failure> {
        self.inner.find_batch(ids).await
    }
}

fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Requests that make each defect show, appended to generated traffic: messages posted at the
/// same millisecond in an order their ids do not follow, an edit, a search in other case,
/// attachments promoted against index order, a duplicate save, a rename.
fn defect_probes(first_seq: u64) -> Vec<Request> {
    let conversation = json!({ "conversation": {
        "id": "c-probe", "kind": "group", "subject": null, "created_at": "2025-06-01T10:00:00.000Z",
        "participants": [
            { "identity_id": "x001", "name": "Ana Ødegaard", "role": "admin", "joined_at": "2025-06-01T10:00:00.000Z" },
            { "identity_id": "x002", "name": "Bo 山田", "role": "member", "joined_at": "2025-06-01T10:00:00.000Z" }
        ],
        "messages": []
    } });
    let same_instant = "2025-06-01T10:05:00.123Z";
    let steps: Vec<(Option<&str>, &str, Kind, Value, &str)> = vec![
        (
            Some("c-probe"),
            "create_conversation",
            Kind::Write,
            conversation.clone(),
            "2025-06-01T10:00:00.000Z",
        ),
        (
            Some("c-probe"),
            "post_message",
            Kind::Write,
            json!({"message_id": "m-zz", "author_id": "x001", "text": "first"}),
            same_instant,
        ),
        (
            Some("c-probe"),
            "post_message",
            Kind::Write,
            json!({"message_id": "m-aa", "author_id": "x002", "text": "second"}),
            same_instant,
        ),
        (
            Some("c-probe"),
            "post_message",
            Kind::Write,
            json!({"message_id": "m-mm", "author_id": "x001", "text": "the budget is signed"}),
            same_instant,
        ),
        (
            Some("c-probe"),
            "edit_message",
            Kind::Write,
            json!({"message_id": "m-zz", "text": "first, edited"}),
            "2025-06-01T10:06:00.456Z",
        ),
        (
            Some("c-probe"),
            "messages_page",
            Kind::Read,
            json!({"offset": 0, "limit": 10}),
            "2025-06-01T10:07:00.000Z",
        ),
        (
            None,
            "search_messages",
            Kind::Read,
            json!({"text": "BUDGET", "limit": 1000}),
            "2025-06-01T10:08:00.000Z",
        ),
        (
            Some("c-probe"),
            "attach",
            Kind::Write,
            json!({"message_id": "m-aa", "name": "a.pdf", "size": 10}),
            "2025-06-01T10:09:00.000Z",
        ),
        (
            Some("c-probe"),
            "attach",
            Kind::Write,
            json!({"message_id": "m-aa", "name": "b.pdf", "size": 20}),
            "2025-06-01T10:09:01.000Z",
        ),
        (
            Some("c-probe"),
            "promote_attachment",
            Kind::Write,
            json!({"message_id": "m-aa", "index": 1, "storage_key": "k1"}),
            "2025-06-01T10:10:00.000Z",
        ),
        (
            Some("c-probe"),
            "promote_attachment",
            Kind::Write,
            json!({"message_id": "m-aa", "index": 0, "storage_key": "k0"}),
            "2025-06-01T10:10:01.000Z",
        ),
        (
            Some("c-probe"),
            "stored_files",
            Kind::Read,
            json!({}),
            "2025-06-01T10:11:00.000Z",
        ),
        (
            Some("c-probe"),
            "create_conversation",
            Kind::Write,
            conversation,
            "2025-06-01T10:12:00.000Z",
        ),
        (
            Some("c-probe"),
            "rename",
            Kind::Write,
            json!({"subject": "Quarterly plan"}),
            "2025-06-01T10:13:00.000Z",
        ),
        (
            Some("c-probe"),
            "find_by_id",
            Kind::Read,
            json!({}),
            "2025-06-01T10:14:00.000Z",
        ),
    ];
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (key, op, kind, args, at))| {
            Request::new(first_seq + i as u64, key, op, kind, args, at)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_candidate_defect_is_reported_with_its_class_on_its_operation() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let dir = tempfile::tempdir().unwrap();

    // Traffic: generated conversations, then the probes; recorded once on the legacy store.
    let mut requests = generate::cassette(12, 3);
    let next = requests.len() as u64 + 1;
    requests.extend(defect_probes(next));
    for r in &requests {
        assert!(
            ops::parse(r).is_ok(),
            "seq {} parses: {:?}",
            r.seq,
            ops::parse(r)
        );
    }
    let plain = dir.path().join("traffic.jsonl");
    let mut w = Writer::create(&plain, &Header::new("conversations")).unwrap();
    requests.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
    let recorded = dir.path().join("recorded.jsonl");
    let (legacy, _mongo_db) = servers.legacy().await.unwrap();
    let mut w = Writer::create(&recorded, &Header::new("conversations")).unwrap();
    replay::record(Reader::open(&plain).unwrap(), &DomainTarget(legacy), &mut w)
        .await
        .unwrap();
    w.finish().unwrap();

    // The correct candidate agrees with the recording: the defects below are all that differ.
    let (good, _db) = servers.candidate(Queries::default()).await.unwrap();
    let (_, report) = replay(
        &recorded,
        Arc::new(Recorded::new()),
        Arc::new(DomainTarget(good)),
        false,
    )
    .await;
    assert_eq!(
        (report.totals.divergent, report.totals.inconclusive),
        (0, 0),
        "{:#?}",
        report.examples
    );

    let sql = |edit: fn(&mut Queries)| {
        let mut q = Queries::default();
        edit(&mut q);
        q
    };
    let cases: Vec<(&str, Queries, Option<Fault>, &str, Class)> = vec![
        (
            "missing tie-break in ORDER BY",
            sql(|q| q.messages_order = "m.created_at".into()),
            None,
            "messages_page",
            Class::Ordering,
        ),
        (
            "null fields dropped",
            Queries::default(),
            Some(Fault::DropNulls),
            "find_by_id",
            Class::Missing,
        ),
        (
            "timestamps truncated to seconds",
            Queries::default(),
            Some(Fault::TruncateToSeconds),
            "post_message",
            Class::Value,
        ),
        (
            "wrong error kind on a duplicate",
            Queries::default(),
            Some(Fault::ConflictAsInternal),
            "create_conversation",
            Class::Error,
        ),
        (
            "right answer, wrong stored state",
            Queries::default(),
            Some(Fault::ShoutingRename),
            "rename",
            Class::State,
        ),
        (
            "off-by-one paging",
            sql(|q| q.page = "OFFSET $2 + 1 LIMIT $3".into()),
            None,
            "messages_page",
            Class::Missing,
        ),
        (
            "case-sensitive search",
            sql(|q| q.search_match = r"m.text LIKE $1 ESCAPE '\'".into()),
            None,
            "search_messages",
            Class::Missing,
        ),
        (
            "stored files out of index order",
            sql(|q| q.files_order = "f.id".into()),
            None,
            "stored_files",
            Class::Ordering,
        ),
    ];
    for (defect, queries, fault, op, class) in cases {
        let (repo, _db) = servers.candidate(queries).await.unwrap();
        let candidate: Arc<dyn Target> = match fault {
            Some(fault) => Arc::new(DomainTarget(Faulty { inner: repo, fault })),
            None => Arc::new(DomainTarget(repo)),
        };
        let (results, report) =
            replay(&recorded, Arc::new(Recorded::new()), candidate, false).await;
        let found = report
            .operations
            .get(op)
            .and_then(|o| o.classes.get(&class))
            .copied()
            .unwrap_or(0);
        assert!(
            found > 0,
            "{defect}: expected {class} on {op}; report: {:#?}",
            report
                .operations
                .iter()
                .filter(|(_, o)| o.requests.divergent > 0)
                .collect::<Vec<_>>()
        );
        assert!(
            results.iter().all(|r| r.status != Status::Inconclusive),
            "{defect}: nothing inconclusive"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_of_a_live_store_is_deterministic_and_replays_equivalent() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let dir = tempfile::tempdir().unwrap();
    // A "production" store: generated traffic applied to the legacy repository.
    let traffic = dir.path().join("traffic.jsonl");
    let mut w = Writer::create(&traffic, &Header::new("conversations")).unwrap();
    generate::cassette(15, 21)
        .iter()
        .for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
    let (production, _db) = servers.legacy().await.unwrap();
    let production = DomainTarget(production);
    let mut sink = Writer::create(
        dir.path().join("ignored.jsonl"),
        &Header::new("conversations"),
    )
    .unwrap();
    replay::record(Reader::open(&traffic).unwrap(), &production, &mut sink)
        .await
        .unwrap();

    let first = cutover_conversations::sample::sample(&production.0, 6, 5)
        .await
        .unwrap();
    let again = cutover_conversations::sample::sample(&production.0, 6, 5)
        .await
        .unwrap();
    let other = cutover_conversations::sample::sample(&production.0, 6, 6)
        .await
        .unwrap();
    assert_eq!(first, again, "same seed, same sample");
    let seeds = |rs: &[Request]| {
        rs.iter()
            .filter(|r| r.op == "create_conversation")
            .map(|r| r.key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(seeds(&first).len(), 6);
    assert_ne!(seeds(&first), seeds(&other), "another seed, another sample");

    let sampled = dir.path().join("sample.jsonl");
    let mut w = Writer::create(&sampled, &Header::new("conversations")).unwrap();
    first.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
    let pair = servers.pair().await.unwrap();
    let (_, report) = replay(&sampled, pair.legacy.clone(), pair.candidate.clone(), false).await;
    assert_eq!(
        (report.totals.divergent, report.totals.inconclusive),
        (0, 0),
        "{:#?}",
        report.examples
    );
    assert!(report.totals.total > 60, "{} requests", report.totals.total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throwaway_postgres_cluster_starts_from_the_installed_binaries() {
    let server = cutover_servers::postgres::PostgresServer::throwaway()
        .await
        .expect("initdb and postgres are installed");
    assert!(server.source().starts_with("a throwaway cluster"));
    let db = server.fresh_database().await.unwrap();
    let repo = Postgres::connect(&db.url()).await.unwrap();
    let target = DomainTarget(repo);
    let save = Request::new(
        1,
        Some("c1"),
        "create_conversation",
        Kind::Write,
        json!({"conversation": {"id": "c1", "kind": "group", "created_at": "2024-01-01T00:00:00.000Z"}}),
        "2024-01-01T00:00:00.000Z",
    );
    let saved = target.execute(&save).await.unwrap();
    assert!(
        matches!(saved, Outcome::Ok(Value::Object(ref d)) if d["id"] == "c1" && d["subject"].is_null()),
        "{saved:?}"
    );
}

/// Every key of `target`, `page` at a time: each page ascending by bytes after the last
/// key of the one before, full but the last.
async fn all_keys(target: &dyn Target, page: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let after = keys.last().map(String::as_str);
        let got = target.keys(after, page).await.unwrap().expect("enumerable");
        assert!(got.len() <= page, "{}: a page of {page}", target.name());
        let mut previous = after.map(String::from);
        for key in &got {
            if let Some(p) = &previous {
                assert!(
                    p.as_bytes() < key.as_bytes(),
                    "{}: {p} before {key}",
                    target.name()
                );
            }
            previous = Some(key.clone());
        }
        let last = got.len() < page;
        keys.extend(got);
        if last {
            return keys;
        }
    }
}

/// Each of `keys`, dumped in batches of `size`, is what a dump of it alone gives.
async fn assert_batches_equal_dumps(target: &dyn Target, keys: &[String], size: usize) {
    for chunk in keys.chunks(size) {
        let batch = target.dump_batch(chunk).await.unwrap();
        assert_eq!(batch.len(), chunk.len(), "{}: one per key", target.name());
        for (key, dumped) in chunk.iter().zip(batch) {
            let alone = target.dump(key).await.unwrap().expect("a state");
            assert_eq!(dumped, Dumped::State(alone), "{}: key {key}", target.name());
        }
    }
}

/// A group conversation created under `id`.
fn create(seq: u64, id: &str) -> Request {
    let conversation = json!({
        "id": id, "kind": "group", "subject": id, "created_at": "2024-01-08T09:00:00.000Z"
    });
    Request::new(
        seq,
        Some(id),
        "create_conversation",
        Kind::Write,
        json!({ "conversation": conversation }),
        "2024-01-08T09:00:00.000Z",
    )
}

/// Generated traffic, then conversations whose ids sort otherwise by a locale than by bytes.
fn keyed_traffic() -> Vec<Request> {
    let mut requests = generate::cassette(8, 17);
    let next = requests.len() as u64 + 1;
    for (i, id) in ["B", "a", "Z", "é"].iter().enumerate() {
        requests.push(create(next + i as u64, id));
    }
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_repositories_page_their_keys_by_bytes_and_batch_dumps_equal_dumps() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let pair = servers.pair().await.unwrap();
    let requests = keyed_traffic();
    let mut named: Vec<String> = requests.iter().filter_map(|r| r.key.clone()).collect();
    named.sort();
    named.dedup();
    for target in [&pair.legacy, &pair.candidate] {
        for r in &requests {
            target.execute(r).await.unwrap();
        }
        let mut stored = Vec::new();
        for key in &named {
            if target.dump(key).await.unwrap() != Some(Value::Null) {
                stored.push(key.clone());
            }
        }
        stored.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert!(stored.len() > 8, "{}: {stored:?}", target.name());
        for page in [1, 3, 1000] {
            assert_eq!(
                all_keys(target.as_ref(), page).await,
                stored,
                "{}",
                target.name()
            );
        }
        let special: Vec<&String> = stored.iter().filter(|k| k.chars().count() == 1).collect();
        assert_eq!(special, ["B", "Z", "a", "é"], "{}", target.name());

        let mut asked = stored.clone();
        asked.insert(2, "absent".into());
        asked.push("zzz-absent".into());
        assert_batches_equal_dumps(target.as_ref(), &asked, 5).await;
        let absent = target.dump_batch(&["absent".into()]).await.unwrap();
        assert_eq!(absent, [Dumped::State(Value::Null)], "{}", target.name());
        assert_eq!(target.dump_batch(&[]).await.unwrap(), []);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_document_the_model_cannot_read_is_unreadable_for_its_key_alone() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let (legacy, db) = servers.legacy().await.unwrap();
    let legacy = DomainTarget(legacy);
    for (i, id) in ["a", "c"].iter().enumerate() {
        legacy.execute(&create(i as u64 + 1, id)).await.unwrap();
    }
    let client = mongodb::Client::with_uri_str(&db.uri).await.unwrap();
    let raw = client
        .database(&db.name)
        .collection::<mongodb::bson::Document>("conversations");
    let created = mongodb::bson::DateTime::from_millis(1_704_700_800_000);
    raw.insert_one(mongodb::bson::doc! {
        "_id": "b", "kind": "group", "created_at": created, "archived": "yes"
    })
    .await
    .unwrap();

    let keys = legacy.keys(None, 10).await.unwrap().unwrap();
    assert_eq!(keys, ["a", "b", "c"]);
    let asked: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let dumped = legacy.dump_batch(&asked).await.unwrap();
    match &dumped[1] {
        Dumped::Unreadable(why) => assert!(
            why.contains("conversation b") && why.contains("string \"yes\", expected a boolean"),
            "{why}"
        ),
        other => panic!("b is unreadable, not {other:?}"),
    }
    for (i, key) in [(0, "a"), (2, "c")] {
        let alone = legacy.dump(key).await.unwrap().unwrap();
        assert_eq!(dumped[i], Dumped::State(alone), "{key}");
    }
    assert_eq!(dumped[3], Dumped::State(Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conversation_of_both_stores_is_verified_and_a_malformed_one_is_inconclusive() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let (legacy, mongo) = servers.legacy().await.unwrap();
    let (candidate, postgres) = servers.candidate(Queries::default()).await.unwrap();
    let pair = Pair {
        legacy: Arc::new(DomainTarget(legacy)),
        candidate: Arc::new(DomainTarget(candidate)),
    };
    let requests = generate::cassette(30, 7);
    for target in [&pair.legacy, &pair.candidate] {
        for request in &requests {
            target.execute(request).await.unwrap();
        }
    }
    let rules = Arc::new(Rules::load(crate::util::fixture("conversations.rules.toml")).unwrap());
    let options = cutover::verify::VerifyOptions {
        rules: Some(rules),
        batch: 7,
        ..Default::default()
    };
    let verify = |options: cutover::verify::VerifyOptions| {
        let pair = pair.clone();
        async move {
            let mut kept = crate::util::KeptVerify::default();
            let run = cutover::verify::verify(&pair, &options, &mut kept)
                .await
                .unwrap();
            (run.info, kept.0)
        }
    };
    let (info, listed) = verify(options.clone()).await;
    assert!(listed.is_empty(), "{:?}", listed.first());
    assert!(info.keys.legacy > 20, "{:?}", info.keys);
    assert_eq!(info.keys.equal, info.keys.legacy);

    // One document made unreadable on the legacy, one title changed on the candidate.
    let keys = pair.legacy.keys(None, 1000).await.unwrap().unwrap();
    let (broken, changed) = (&keys[1], &keys[2]);
    let client = mongodb::Client::with_uri_str(&mongo.uri).await.unwrap();
    let raw = client
        .database(&mongo.name)
        .collection::<mongodb::bson::Document>("conversations");
    raw.update_one(
        mongodb::bson::doc! { "_id": broken },
        mongodb::bson::doc! { "$set": { "archived": "yes" } },
    )
    .await
    .unwrap();
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres.url())
        .await
        .unwrap();
    let updated =
        sqlx::query("UPDATE conversation SET subject = 'Renamed by a copy' WHERE id = $1")
            .bind(changed)
            .execute(&mut db)
            .await
            .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    let (info, listed) = verify(options).await;
    assert_eq!(
        (info.keys.inconclusive, info.keys.divergent),
        (1, 1),
        "{:?}",
        info.keys
    );
    let unreadable = listed
        .iter()
        .find(|r| r.key.as_ref() == Some(broken))
        .unwrap();
    assert_eq!(unreadable.status, Status::Inconclusive);
    let why = unreadable.legacy.failure.as_deref().unwrap();
    assert!(why.contains("expected a boolean"), "{why}");
    let divergent = listed
        .iter()
        .find(|r| r.key.as_ref() == Some(changed))
        .unwrap();
    assert_eq!(divergent.status, Status::Divergent);
    assert!(
        divergent.divergences.iter().any(|d| d.path == "$.subject"),
        "{divergent:?}"
    );
}
