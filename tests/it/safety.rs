//! cutover never empties a database it did not make: a replay refuses an unmarked database
//! for every kind of target (conversations on PostgreSQL and MongoDB, declared SQL on
//! PostgreSQL and MariaDB, declared MongoDB), leaving its rows; `reset=allow` empties and
//! marks one; a server URL gets a fresh database per run, dropped after it (kept with
//! `keep=true`); one database on both sides is refused; and `verify` reads two live databases through a role that cannot write.

use crate::util::{cutover, fixture, replay, with_database, Replayed};
use cutover_servers::mongo::MongoServer;
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use mongodb::bson::doc;
use sqlx::postgres::PgPool;

/// `cutover replay` of the fixture `cassette` into a temporary directory, off the runtime.
async fn replay_of(cassette: &str, args: Vec<String>) -> Replayed {
    let cassette = fixture(cassette);
    tokio::task::spawn_blocking(move || {
        let out = tempfile::tempdir().unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        replay(&cassette, out.path(), &args)
    })
    .await
    .unwrap()
}

/// The conversations fixture replayed with the legacy on a fresh MongoDB database of
/// `mongo` and `candidate` (a spec).
async fn conversations(mongo: &MongoServer, candidate: &str) -> Replayed {
    let args = vec![
        format!("--legacy=conversations-mongodb:uri={}", mongo.uri()),
        format!("--candidate={candidate}"),
        format!("--rules={}", fixture("conversations.rules.toml").display()),
    ];
    replay_of("conversations-100.jsonl", args).await
}

/// A PostgreSQL database made by hand: cutover's mark removed, as a live one has none.
async fn live_postgres(server: &PostgresServer) -> (FreshPostgres, PgPool) {
    let db = server.fresh_database().await.unwrap();
    let pool = PgPool::connect(&db.url()).await.unwrap();
    sqlx::query(&format!("COMMENT ON DATABASE \"{}\" IS NULL", db.name))
        .execute(&pool)
        .await
        .unwrap();
    (db, pool)
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn database_exists(server_url: &str, name: &str) -> bool {
    let pool = PgPool::connect(&format!("{server_url}/postgres"))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&pool)
        .await
        .unwrap();
    n == 1
}

/// The names of the databases a run says it made on servers of `scheme` (`postgres`, ...).
fn made(stderr: &str, scheme: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| line.contains(&format!(" for this run on {scheme}://")))
        .filter_map(|line| line.strip_prefix("made database "))
        .map(|rest| rest.split(' ').next().unwrap().to_string())
        .collect()
}

fn refused_naming(stderr: &str, store: &str, name: &str) -> bool {
    stderr.contains(&format!("refusing to empty the {store} database `{name}`"))
        && stderr.contains("reset=allow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_refuses_to_empty_a_postgres_database_it_did_not_make_and_keeps_its_rows() {
    let (server, mongo) = tokio::join!(PostgresServer::start(), MongoServer::start());
    let (server, mongo) = (server.expect("PostgreSQL"), mongo.expect("MongoDB-wire"));
    let (db, pool) = live_postgres(&server).await;
    cutover_conversations::postgres::MIGRATOR
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO conversation (id, kind, created_at) VALUES ('PRODUCTION-1', 'group', now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    let candidate = format!("conversations-postgres:url={}", db.url());
    let run = conversations(&mongo, &candidate).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        refused_naming(&run.stderr, "PostgreSQL", &db.name),
        "{}",
        run.stderr
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM conversation").await, 1);

    // Allowed once: emptied, marked, and then the guard lets it be without the option.
    let allowed = format!("conversations-postgres:reset=allow,url={}", db.url());
    for candidate in [allowed, candidate] {
        let run = conversations(&mongo, &candidate).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let left = "SELECT count(*) FROM conversation WHERE id = 'PRODUCTION-1'";
        assert_eq!(count(&pool, left).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_and_mongodb_targets_refuse_an_unmarked_database_too() {
    let (postgres, mongo) = tokio::join!(PostgresServer::start(), MongoServer::start());
    let (postgres, mongo) = (postgres.expect("PostgreSQL"), mongo.expect("MongoDB-wire"));
    let (pg, pool) = live_postgres(&postgres).await;
    sqlx::raw_sql(&std::fs::read_to_string("examples/declared/kv.sql").unwrap())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kv VALUES ('PRODUCTION-1', '{}')")
        .execute(&pool)
        .await
        .unwrap();
    let live_mongo = mongo.fresh_database().await.unwrap();
    let client = mongodb::Client::with_uri_str(&live_mongo.uri)
        .await
        .unwrap();
    let database = client.database(&live_mongo.name);
    database
        .collection::<mongodb::bson::Document>("cutover_marker")
        .drop()
        .await
        .unwrap();
    for collection in ["kv", "conversations"] {
        database
            .collection(collection)
            .insert_one(doc! { "_id": "PRODUCTION-1" })
            .await
            .unwrap();
    }
    let uri = with_database(&live_mongo.uri, &live_mongo.name);
    let cases = [
        (
            "kv-demo.jsonl",
            format!(
                "sql:ops=examples/declared/kv-postgres.toml,url={}",
                pg.url()
            ),
            "PostgreSQL",
        ),
        (
            "kv-demo.jsonl",
            format!("mongodb:ops=examples/declared/kv-mongodb.toml,uri={uri}"),
            "MongoDB",
        ),
        (
            "conversations-100.jsonl",
            format!("conversations-mongodb:uri={uri}"),
            "MongoDB",
        ),
    ];
    for (cassette, spec, store) in cases {
        let legacy = if cassette.starts_with("kv") {
            "memory".to_string()
        } else {
            format!("conversations-mongodb:uri={}", mongo.uri())
        };
        let args = vec![format!("--legacy={legacy}"), format!("--candidate={spec}")];
        let run = replay_of(cassette, args).await;
        assert_eq!(run.code, Some(2), "{spec}: {}", run.stderr);
        let name = if store == "PostgreSQL" {
            &pg.name
        } else {
            &live_mongo.name
        };
        assert!(
            refused_naming(&run.stderr, store, name),
            "{spec}: {}",
            run.stderr
        );
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM kv").await, 1);
    for collection in ["kv", "conversations"] {
        let left = database
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(doc! {})
            .await
            .unwrap();
        assert_eq!(left, 1, "{collection}");
    }
}

/// The `prod2` scenario on MariaDB: a declared `sql:` target on a database with rows and
/// no mark is refused, and its rows stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_mariadb_target_refuses_an_unmarked_database_and_keeps_its_rows() {
    use sqlx::Connection;
    let server = cutover_servers::mysql::MySqlServer::start()
        .await
        .expect("a MariaDB server");
    let live = server.fresh_database().await.unwrap();
    let mut conn = sqlx::MySqlConnection::connect(&live.url).await.unwrap();
    let dir = "fixtures/migrations/mysql-to-postgres";
    let schema = std::fs::read_to_string(format!("{dir}/legacy.sql")).unwrap();
    sqlx::raw_sql(&format!(
        "DROP TABLE cutover_marker;\n{schema}\n\
         INSERT INTO customers (id, email) VALUES ('PRODUCTION-1', 'p@example.com')"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let ops = format!("sql:ops={dir}/legacy.toml");
    let args = vec![
        format!("--legacy={ops},schema={dir}/legacy.sql,url=mysql://root@127.0.0.1:3306"),
        format!("--candidate={ops},url={}", live.url),
    ];
    let run = replay_of("migrations/mysql-to-postgres/cassette.jsonl", args).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        refused_naming(&run.stderr, "MySQL", &live.name),
        "{}",
        run.stderr
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_url_gets_a_fresh_database_per_run_dropped_after_it_unless_kept() {
    let (postgres, mongo) = tokio::join!(PostgresServer::start(), MongoServer::start());
    let (_postgres, mongo) = (postgres.expect("PostgreSQL"), mongo.expect("MongoDB-wire"));
    let pg_server = "postgres://postgres@127.0.0.1:5432";
    for keep in [false, true] {
        let candidate = format!(
            "conversations-postgres:{}url={pg_server}",
            if keep { "keep=true," } else { "" }
        );
        let run = conversations(&mongo, &candidate).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(run.report["totals"]["divergent"], 0);
        let (pg, legacy) = (made(&run.stderr, "postgres"), made(&run.stderr, "mongodb"));
        assert_eq!((pg.len(), legacy.len()), (1, 1), "{}", run.stderr);
        let client = mongodb::Client::with_uri_str(mongo.uri()).await.unwrap();
        let mongo_names = client.list_database_names().await.unwrap();
        assert!(!mongo_names.contains(&legacy[0]), "the legacy's is dropped");
        assert_eq!(
            database_exists(pg_server, &pg[0]).await,
            keep,
            "keep={keep}"
        );
        if keep {
            let pool = PgPool::connect(&format!("{pg_server}/postgres"))
                .await
                .unwrap();
            let name = &pg[0];
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_database_on_both_sides_is_refused_however_its_url_is_written() {
    let server = PostgresServer::start().await.expect("PostgreSQL starts");
    let db = server.fresh_database().await.unwrap();
    let legacy = format!("postgres://postgres@127.0.0.1:5432/{}", db.name);
    let candidate = format!(
        "postgresql://postgres@localhost/{}?sslmode=disable",
        db.name
    );
    let args = vec![
        format!("--legacy=conversations-postgres:url={legacy}"),
        format!("--candidate=conversations-postgres:url={candidate}"),
    ];
    let run = replay_of("conversations-100.jsonl", args).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let identity = format!("postgres://127.0.0.1:5432/{}", db.name);
    assert!(
        run.stderr.contains(&format!("one database, `{identity}`")),
        "{}",
        run.stderr
    );
}

/// Two live conversations databases (filled by replays into kept databases whose mark is
/// then taken away) read by `verify` through a role that may only read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_live_databases_through_a_role_that_cannot_write() {
    let (server, mongo) = tokio::join!(PostgresServer::start(), MongoServer::start());
    let (_server, mongo) = (server.expect("PostgreSQL"), mongo.expect("MongoDB-wire"));
    let pg_server = "postgres://postgres@127.0.0.1:5432";
    let out = tempfile::tempdir().unwrap();
    let mut filled = Vec::new();
    for _ in 0..2 {
        let candidate = format!("conversations-postgres:keep=true,url={pg_server}");
        let run = conversations(&mongo, &candidate).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        filled.extend(made(&run.stderr, "postgres"));
    }
    assert_eq!(filled.len(), 2);
    let admin = PgPool::connect(&format!("{pg_server}/postgres"))
        .await
        .unwrap();
    let reader = format!("cutover_reader_{}", std::process::id());
    sqlx::raw_sql(&format!(
        "DROP ROLE IF EXISTS {reader}; CREATE ROLE {reader} LOGIN; \
         ALTER ROLE {reader} SET default_transaction_read_only = on"
    ))
    .execute(&admin)
    .await
    .unwrap();
    for name in &filled {
        let db = PgPool::connect(&format!("{pg_server}/{name}"))
            .await
            .unwrap();
        sqlx::raw_sql(&format!(
            "COMMENT ON DATABASE \"{name}\" IS NULL; GRANT USAGE ON SCHEMA public TO {reader}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}"
        ))
        .execute(&db)
        .await
        .unwrap();
        db.close().await;
    }
    let spec = |name: &str| {
        format!("conversations-postgres:url=postgres://{reader}@127.0.0.1:5432/{name}")
    };
    let tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'";
    let before = count(
        &PgPool::connect(&format!("{pg_server}/{}", filled[0]))
            .await
            .unwrap(),
        tables,
    )
    .await;
    let dir = out.path().join("verify");
    let done = cutover()
        .arg("verify")
        .args([
            "--legacy",
            &spec(&filled[0]),
            "--candidate",
            &spec(&filled[1]),
        ])
        .args(["--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        report["verify"]["keys"]["equal"].as_u64().unwrap() > 0,
        "{report}"
    );
    // A command that would empty a live database is refused before it writes, through the
    // same role: coverage runs its cassette on the legacy it is given.
    let coverage = cutover()
        .arg("coverage")
        .arg(fixture("conversations-100.jsonl"))
        .args(["--legacy", &spec(&filled[0])])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&coverage.stderr);
    assert_ne!(coverage.status.code(), Some(0), "{stderr}");
    assert!(
        refused_naming(&stderr, "PostgreSQL", &filled[0]),
        "{stderr}"
    );
    let db = PgPool::connect(&format!("{pg_server}/{}", filled[0]))
        .await
        .unwrap();
    assert_eq!(count(&db, tables).await, before);
    db.close().await;
    for name in &filled {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await
            .unwrap();
    }
    sqlx::query(&format!("DROP ROLE IF EXISTS {reader}"))
        .execute(&admin)
        .await
        .unwrap();
}
