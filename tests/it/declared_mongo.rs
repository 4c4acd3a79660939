//! Declared targets on MongoDB (`mongodb:ops=FILE,uri=...`) on the MongoDB-wire server:
//! the kv domain declared in `examples/declared/kv-mongodb.toml` replays its recording
//! equivalent, a planted defect is found with its class, arguments stay data, and a bad
//! file is refused with its place.

use crate::util::with_database;
use cutover::capture::adapter::request;
use cutover::cassette::{ErrorKind, Kind, Outcome, Reader, Request};
use cutover::diff::pattern;
use cutover::replay::{Pair, ReplayOptions, StateCheck};
use cutover::replay_collect;
use cutover::report::{Report, Verdict};
use cutover::targets::recorded::Recorded;
use cutover::targets::{Dumped, KeyOrder, Target};
use cutover_servers::mongo::{FreshMongo, MongoServer};
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The declared target for `text` (written to a file) on the database `db`.
async fn open(text: &str, db: &FreshMongo) -> Result<Arc<dyn Target>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("declared.toml");
    std::fs::write(&path, text).unwrap();
    let spec = format!(
        "mongodb:ops={},uri={}",
        path.display(),
        with_database(&db.uri, &db.name)
    );
    cutover_cli::registry()
        .open(&spec)
        .await
        .map_err(|e| e.to_string())
}

/// (operation, path pattern, class) of every divergence of a run.
type Found = BTreeSet<(String, String, String)>;

/// Replays `fixtures/kv-demo.jsonl`, the recording as the legacy, against `candidate`.
async fn replay_kv(candidate: Arc<dyn Target>) -> (Report, Found, usize) {
    let reader = Reader::open(crate::util::fixture("kv-demo.jsonl")).unwrap();
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        candidate,
    };
    let replayed = replay_collect(reader, &pair, &ReplayOptions::default())
        .await
        .unwrap();
    let report = replayed.report;
    let found = replayed
        .results
        .iter()
        .flat_map(|r| {
            r.divergences
                .iter()
                .map(|d| (r.op.clone(), pattern(&d.path), d.class.to_string()))
        })
        .collect();
    let states = replayed
        .results
        .iter()
        .filter(|r| matches!(r.state, Some(StateCheck::Equal)))
        .count();
    (report, found, states)
}

fn kv_declaration() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/declared/kv-mongodb.toml");
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kv_domain_declared_on_mongodb_replays_its_recording_equivalent() {
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let text = kv_declaration();
    let candidate = open(&text, &db).await.unwrap();
    assert_eq!(candidate.name(), "kv-mongodb");
    assert_eq!(candidate.domain(), Some("kv"));
    let (report, found, states) = replay_kv(candidate).await;
    assert_eq!(report.verdict, Verdict::Equivalent, "{found:?}");
    assert_eq!(report.totals.total, 300);
    assert_eq!(report.totals.equal, 300, "{found:?}");
    assert!(
        states > 100,
        "the stored states were read and compared: {states}"
    );

    // A planted defect: keys scanned in descending order.
    let from = "sort = { _id = 1 }";
    assert_eq!(text.matches(from).count(), 1);
    let planted = text.replace(from, "sort = { _id = -1 }");
    let candidate = open(&planted, &db).await.unwrap();
    let (report, found, _) = replay_kv(candidate).await;
    assert_eq!(report.verdict, Verdict::Divergent);
    assert!(found.iter().all(|(op, _, _)| op == "scan"), "{found:?}");
    assert!(
        found.contains(&("scan".into(), "$".into(), "ordering".into())),
        "{found:?}"
    );
}

const USERS: &str = r#"
domain = "users"
[errors]
"11000" = "conflict"
[reset]
collections = ["users"]
[state]
collection = "users"
find_one = { filter = { _id = { "$param" = "key" } } }
result = "doc"
[op.add]
kind = "write"
collection = "users"
insert_one = { document = { _id = { "$param" = "key" }, email = { "$param" = "email" }, name = { "$param" = "name" } } }
result = "affected"
[op.by_email]
kind = "read"
collection = "users"
find = { filter = { email = { "$param" = "email" } }, sort = { _id = 1 } }
result = "docs"
[op.greet]
kind = "read"
collection = "users"
find_one = { filter = { _id = { "$param" = "key" } }, projection = { _id = 0, hello = { "$param" = "who" } } }
result = "scalar"
none = "not_found"
[op.count_named]
kind = "read"
collection = "users"
count = { filter = { name = { "$gt" = { "$param" = "after" } } } }
result = "scalar"
[op.rename]
kind = "write"
collection = "users"
update_one = { filter = { _id = { "$param" = "key" } }, update = { "$set" = { name = { "$param" = "name" } } } }
result = "affected"
none = "not_found"
"#;

async fn ok(target: &Arc<dyn Target>, r: Request) -> Value {
    match target.execute(&r).await.unwrap() {
        Outcome::Ok(v) => v,
        Outcome::Error(e) => panic!("{}: {e:?}", r.op),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_stay_data_and_server_errors_are_declared_or_inconclusive() {
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let target = open(USERS, &db).await.unwrap();
    target.reset().await.unwrap();
    let evil = "'; db.dropDatabase(); //";
    for (key, email, name) in [
        ("u1", json!("a@example.com"), json!("Ann")),
        ("u2", json!(null), json!("Bob")),
        ("u3", json!(evil), json!("$name")),
    ] {
        let add = request(
            "add",
            Some(key),
            Kind::Write,
            json!({"email": email, "name": name}),
        );
        assert_eq!(ok(&target, add).await, json!(1));
    }
    // An operator object as an argument is a value to equal, not an operator: it matches
    // no document (`{"$ne": null}` as an operator would match u1 and u3).
    for email in [
        json!({"$ne": null}),
        json!({"$gt": ""}),
        json!({"$exists": true}),
    ] {
        let by = request("by_email", None, Kind::Read, json!({ "email": email }));
        assert_eq!(ok(&target, by).await, json!([]), "{email}");
    }
    let by = request(
        "by_email",
        None,
        Kind::Read,
        json!({"email": "a@example.com"}),
    );
    assert_eq!(
        ok(&target, by).await,
        json!([{"_id": "u1", "email": "a@example.com", "name": "Ann"}]),
        "`_id` is part of a document the projection keeps"
    );
    let by = request("by_email", None, Kind::Read, json!({"email": evil}));
    assert_eq!(
        ok(&target, by).await[0]["_id"],
        "u3",
        "the text is stored as it came"
    );
    // A missing argument is null, which equals a null (or absent) field.
    let by = request("by_email", None, Kind::Read, json!({}));
    assert_eq!(ok(&target, by).await[0]["_id"], "u2");
    // A `$`-string in an expression is a string, not another field.
    let greet = request("greet", Some("u1"), Kind::Read, json!({"who": "$email"}));
    assert_eq!(ok(&target, greet).await, json!("$email"));
    let greet = request("greet", Some("nobody"), Kind::Read, json!({"who": "x"}));
    let Outcome::Error(e) = target.execute(&greet).await.unwrap() else {
        panic!("no document: the `none` kind");
    };
    assert_eq!(e.kind, ErrorKind::NotFound);
    // An operator's operand is data: a number compares as a number.
    let count = request("count_named", None, Kind::Read, json!({"after": "B"}));
    assert_eq!(
        ok(&target, count).await,
        json!(1),
        "Bob; `$name` sorts before `B`"
    );
    let rename = request(
        "rename",
        Some("u1"),
        Kind::Write,
        json!({"name": {"$unset": ""}}),
    );
    assert_eq!(ok(&target, rename).await, json!(1));
    assert_eq!(
        target.dump("u1").await.unwrap().unwrap()["name"],
        json!({"$unset": ""}),
        "stored as a document, not run as an update"
    );
    let rename = request("rename", Some("nobody"), Kind::Write, json!({"name": "x"}));
    assert!(
        matches!(target.execute(&rename).await.unwrap(), Outcome::Error(e) if e.kind == ErrorKind::NotFound)
    );
    assert_eq!(target.dump("nobody").await.unwrap(), Some(Value::Null));
    // A declared server error is the answer; an undeclared one is inconclusive.
    let again = request("add", Some("u1"), Kind::Write, json!({"email": "x"}));
    let Outcome::Error(e) = target.execute(&again).await.unwrap() else {
        panic!("a duplicate key is refused");
    };
    assert_eq!(e.kind, ErrorKind::Conflict);
    let undeclared = open(&USERS.replace("\"11000\" = \"conflict\"", ""), &db)
        .await
        .unwrap();
    let failed = undeclared.execute(&again).await.unwrap_err().to_string();
    assert!(
        failed.contains("11000 not declared in [errors]"),
        "{failed}"
    );
    let missing = request("nope", None, Kind::Read, json!({}));
    assert!(
        matches!(undeclared.execute(&missing).await.unwrap(), Outcome::Error(e) if e.kind == ErrorKind::Unsupported)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_declaration_or_uri_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |text: &str, uri: &str| {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let spec = format!("mongodb:ops={},uri={uri}", path.display());
        async move {
            cutover_cli::registry()
                .open(&spec)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let uri = "mongodb://127.0.0.1:1/db?serverSelectionTimeoutMS=200";
    let typo = USERS.replace("find = { filter", "find = { filtre");
    let e = refused(&typo, uri).await;
    assert!(
        e.contains("bad.toml line 19") && e.contains("unknown field `filtre`"),
        "{e}"
    );
    let two = USERS.replace("result = \"docs\"", "count = {}\nresult = \"docs\"");
    let e = refused(&two, uri).await;
    assert!(
        e.contains("line 16") && e.contains("op `by_email`: several actions (find, count)"),
        "{e}"
    );
    let whole = USERS.replace(
        "filter = { email = { \"$param\" = \"email\" } }",
        "filter = { \"$param\" = \"query\" }",
    );
    let e = refused(&whole, uri).await;
    assert!(
        e.contains("line 16") && e.contains("cannot stand for a whole query"),
        "{e}"
    );
    // A server without a database gets a fresh one, made on it: this one is not there.
    let e = refused(USERS, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200").await;
    assert!(e.contains("making a fresh database"), "{e}");
    let e = refused(USERS, uri).await;
    assert!(
        e.contains("connecting to"),
        "an unreachable server fails at open: {e}"
    );
    let e = refused(USERS, "").await;
    assert!(
        e.contains("expected `ops=FILE,") && e.contains("uri=URL`"),
        "{e}"
    );
}

/// The raw collection `name` of the database `db`, for documents written by hand.
async fn raw_collection(db: &FreshMongo, name: &str) -> mongodb::Collection<Document> {
    let client = mongodb::Client::with_uri_str(&db.uri).await.unwrap();
    client.database(&db.name).collection(name)
}

/// Every key of `target`, `page` at a time, each page after the last key of the one
/// before and in the target's order; full but the last.
async fn all_keys(target: &dyn Target, page: usize) -> Vec<String> {
    let order = target.key_order();
    let mut keys: Vec<String> = Vec::new();
    loop {
        let got = target
            .keys(keys.last().map(String::as_str), page)
            .await
            .unwrap()
            .expect("[keys] declared");
        assert!(got.len() <= page);
        let last = got.len() < page;
        keys.extend(got);
        for pair in keys.windows(2) {
            assert_eq!(
                order.compare(&pair[0], &pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
        if last {
            return keys;
        }
    }
}

/// Each key's batch state is its `[state]` dump.
async fn assert_batches_equal_dumps(target: &dyn Target, keys: &[String], size: usize) {
    for chunk in keys.chunks(size) {
        let batch = target.dump_batch(chunk).await.unwrap();
        assert_eq!(batch.len(), chunk.len());
        for (key, dumped) in chunk.iter().zip(batch) {
            let alone = target.dump(key).await.unwrap().expect("[state] declared");
            assert_eq!(dumped, Dumped::State(alone), "key {key}");
        }
    }
}

const STRING_KEYS: &str = "\n[keys]\nfield = \"_id\"\ntype = \"string\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_keys_page_by_bytes_and_batches_give_each_keys_state() {
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let target = open(&format!("{}{STRING_KEYS}", kv_declaration()), &db)
        .await
        .unwrap();
    target.reset().await.unwrap();
    let mut ids = vec!["B", "a", "Z", "é", "a b", "10", "9"];
    ids.extend(["k1", "k2", "k3", "k4", "k5"]);
    for (i, id) in ids.iter().enumerate() {
        let put = request(
            "put",
            Some(id),
            Kind::Write,
            json!({ "value": { "n": i, "id": id } }),
        );
        ok(&target, put).await;
    }
    let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(target.key_order(), KeyOrder::Bytes);
    for page in [1, 5, 100] {
        assert_eq!(all_keys(target.as_ref(), page).await, expected);
    }
    let mut asked = expected.clone();
    asked.insert(3, "absent".into());
    assert_batches_equal_dumps(target.as_ref(), &asked, 4).await;
    let absent = target.dump_batch(&["absent".into()]).await.unwrap();
    assert_eq!(absent, [Dumped::State(Value::Null)]);

    // Without [keys], a declared target cannot enumerate.
    let plain = open(&kv_declaration(), &db).await.unwrap();
    assert_eq!(plain.keys(None, 10).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_groups_several_documents_per_key_and_keeps_the_state_projection() {
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let lines = raw_collection(&db, "lines").await;
    for (order, line, sku) in [
        ("o2", 2, "b"),
        ("o1", 2, "y"),
        ("o2", 1, "a"),
        ("o1", 1, "x"),
        ("o3", 1, "z"),
    ] {
        lines
            .insert_one(doc! { "order": order, "line": line, "sku": sku, "note": "kept out" })
            .await
            .unwrap();
    }
    let declaration = r#"
domain = "orders"
[state]
collection = "lines"
find = { filter = { order = { "$param" = "key" } }, sort = { line = 1 }, projection = { _id = 0, line = 1, sku = 1 } }
result = "docs"
[keys]
field = "order"
[op.lines]
kind = "read"
collection = "lines"
find = { filter = { order = { "$param" = "key" } } }
result = "docs"
"#;
    let target = open(declaration, &db).await.unwrap();
    assert_eq!(all_keys(target.as_ref(), 2).await, ["o1", "o2", "o3"]);
    let asked: Vec<String> = ["o2", "none", "o1", "o3"].map(String::from).to_vec();
    assert_batches_equal_dumps(target.as_ref(), &asked, 4).await;
    let batch = target.dump_batch(&asked).await.unwrap();
    assert_eq!(
        batch[0],
        Dumped::State(json!([{ "line": 1, "sku": "a" }, { "line": 2, "sku": "b" }]))
    );
    assert_eq!(batch[1], Dumped::State(json!([])));

    // A [state] that is no `find` by the key field alone is read key by key, alike.
    let aggregated = declaration.replace(
        r#"find = { filter = { order = { "$param" = "key" } }, sort = { line = 1 }, projection = { _id = 0, line = 1, sku = 1 } }"#,
        r#"aggregate = [{ "$match" = { order = { "$param" = "key" } } }, { "$sort" = { line = 1 } }, { "$project" = { _id = 0, sku = 1 } }]"#,
    );
    let target = open(&aggregated, &db).await.unwrap();
    assert_batches_equal_dumps(target.as_ref(), &asked, 4).await;
    let batch = target.dump_batch(&asked[..1]).await.unwrap();
    assert_eq!(
        batch,
        [Dumped::State(json!([{ "sku": "a" }, { "sku": "b" }]))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_and_objectid_keys_have_their_text_and_order() {
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let numbers = raw_collection(&db, "numbers").await;
    for n in [10_i64, -3, 9, 100, 2] {
        numbers
            .insert_one(doc! { "_id": n, "name": format!("n{n}") })
            .await
            .unwrap();
    }
    numbers
        .insert_one(doc! { "_id": "text", "name": "a string key" })
        .await
        .unwrap();
    let declaration = |collection: &str, kind: &str| {
        format!(
            r#"
domain = "typed"
[state]
collection = "{collection}"
find_one = {{ filter = {{ _id = {{ "$param" = "key" }} }}, projection = {{ _id = 0, name = 1 }} }}
result = "scalar"
[keys]
type = "{kind}"
[op.get]
kind = "read"
collection = "{collection}"
find_one = {{ filter = {{ _id = {{ "$param" = "key" }} }} }}
result = "doc"
"#
        )
    };
    let target = open(&declaration("numbers", "int"), &db).await.unwrap();
    assert_eq!(target.key_order(), KeyOrder::Integer);
    assert_eq!(
        all_keys(target.as_ref(), 2).await,
        ["-3", "2", "9", "10", "100"]
    );
    assert_eq!(target.dump("9").await.unwrap(), Some(json!("n9")));
    let asked: Vec<String> = ["100", "7", "-3"].map(String::from).to_vec();
    assert_eq!(
        target.dump_batch(&asked).await.unwrap(),
        [
            Dumped::State(json!("n100")),
            Dumped::State(Value::Null),
            Dumped::State(json!("n-3"))
        ]
    );
    assert_batches_equal_dumps(target.as_ref(), &asked, 2).await;

    let objects = raw_collection(&db, "objects").await;
    let hex = [
        "65a1f0c2e4b0a1b2c3d4e5f6",
        "0000000000000000000000ff",
        "ff00000000000000000000aa",
    ];
    for h in hex {
        let id = mongodb::bson::oid::ObjectId::parse_str(h).unwrap();
        objects
            .insert_one(doc! { "_id": id, "name": h })
            .await
            .unwrap();
    }
    let target = open(&declaration("objects", "objectid"), &db)
        .await
        .unwrap();
    assert_eq!(target.key_order(), KeyOrder::Bytes);
    let mut sorted = hex.map(String::from).to_vec();
    sorted.sort();
    assert_eq!(all_keys(target.as_ref(), 2).await, sorted);
    assert_eq!(
        target.dump_batch(&sorted[..1]).await.unwrap(),
        [Dumped::State(json!("0000000000000000000000ff"))]
    );
}

#[test]
fn keys_without_state_or_with_a_nested_field_are_refused_with_their_place() {
    use cutover_declared::mongo::file::Compiled;
    let base = "domain = \"d\"\n[op.a]\nkind = \"read\"\ncollection = \"c\"\nfind = {}\nresult = \"docs\"\n";
    let no_state = Compiled::parse(&format!("{base}[keys]\n"), "k.toml").unwrap_err();
    assert!(
        no_state.to_string().contains("line 7") && no_state.to_string().contains("needs [state]"),
        "{no_state}"
    );
    let state = "[state]\ncollection = \"c\"\nfind_one = {}\nresult = \"doc\"\n";
    let nested =
        Compiled::parse(&format!("{base}{state}[keys]\nfield = \"a.b\"\n"), "k.toml").unwrap_err();
    assert!(nested.to_string().contains("top-level field"), "{nested}");
    let kind =
        Compiled::parse(&format!("{base}{state}[keys]\ntype = \"uuid\"\n"), "k.toml").unwrap_err();
    assert!(kind.to_string().contains("uuid"), "{kind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_candidate_lists_and_dumps_what_its_read_side_holds() {
    use cutover_declared::sync::{Synced, Worker};
    let server = MongoServer::start()
        .await
        .expect("the MongoDB-wire server starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let reads = open(&format!("{}{STRING_KEYS}", kv_declaration()), &db)
        .await
        .unwrap();
    reads.reset().await.unwrap();
    for key in ["b", "a"] {
        ok(
            &reads,
            request("put", Some(key), Kind::Write, json!({ "value": key })),
        )
        .await;
    }
    let stopped = Worker::start("unused", "outbox", "unused", "unused", None)
        .await
        .unwrap();
    let writes: Arc<dyn Target> = Arc::new(cutover::Memory::new());
    let synced = Synced::new(writes, reads.clone(), None, stopped);
    let put = request("put", Some("c"), Kind::Write, json!({ "value": "c" }));
    synced.execute(&put).await.unwrap();
    assert_eq!(synced.key_order(), KeyOrder::Bytes);
    assert_eq!(
        synced.keys(None, 10).await.unwrap(),
        Some(vec!["a".to_string(), "b".to_string()]),
        "not yet synced: `c` is on the write side alone"
    );
    let asked: Vec<String> = ["a", "c"].map(String::from).to_vec();
    assert_eq!(
        synced.dump_batch(&asked).await.unwrap(),
        [Dumped::State(json!("a")), Dumped::State(Value::Null)]
    );
}
