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
use cutover::targets::Target;
use cutover_servers::mongo::{FreshMongo, MongoServer};
use serde_json::{json, Value};
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
    let db = server.fresh_database();
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
    let db = server.fresh_database();
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
    let e = refused(USERS, "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200").await;
    assert!(e.contains("names no database"), "{e}");
    let e = refused(USERS, uri).await;
    assert!(
        e.contains("connecting to"),
        "an unreachable server fails at open: {e}"
    );
    assert!(refused(USERS, "")
        .await
        .contains("expected `ops=FILE,uri=URL`"));
}
