//! The speed of what `cutover verify` asks of a declared SQL target, on the real servers:
//! the checksum of 1,000,000 rows on PostgreSQL and MariaDB, a small range, a split, and
//! keys pages with batch dumps on both sides, PostgreSQL to PostgreSQL. A measurement,
//! ignored by `cargo test`:
//!
//! ```sh
//! cargo test --release -p cutover-declared --test speed -- --ignored --nocapture
//! ```

use cutover::targets::{KeyRange, Target};
use cutover_declared::sql::SqlTarget;
use cutover_servers::mysql::{FreshMySql, MySqlServer};
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use sqlx::Connection;
use std::time::{Duration, Instant};

/// The declared target for `text` (written to a file) on `url`.
async fn open(url: &str, text: &str) -> SqlTarget {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.toml");
    std::fs::write(&path, text).unwrap();
    SqlTarget::open(url, &path).await.unwrap()
}

async fn postgres(schema: &str) -> FreshPostgres {
    let server = PostgresServer::start().await.expect("a PostgreSQL server");
    let db = server.fresh_database().await.unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&db.options).await.unwrap();
    sqlx::raw_sql(schema).execute(&mut conn).await.unwrap();
    db
}

async fn mariadb(schema: &str) -> FreshMySql {
    let server = MySqlServer::start().await.expect("a MariaDB server");
    let db = server.fresh_database().await.unwrap();
    let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(schema).execute(&mut conn).await.unwrap();
    db
}

const KV: &str = r#"
domain = "kv"
[op.get]
kind = "read"
sql = "SELECT value FROM kv WHERE key = :key"
result = "scalar"
[state]
sql = "SELECT value FROM kv WHERE key = :key"
result = "scalar"
[keys]
sql = "SELECT key FROM kv WHERE (:after::text IS NULL OR key > :after) ORDER BY key LIMIT :limit"
[dump]
sql = "SELECT key, value FROM kv WHERE key = ANY(:keys)"
result = "scalar"
[checksum]
form = "kv-v1"
sql = "SELECT key, value AS text FROM kv"
"#;

/// Both sides' keys paged and dumped, `rows` aggregates: the aggregates read per second.
async fn dump_rate(legacy: &SqlTarget, candidate: &SqlTarget, rows: usize) -> f64 {
    let started = Instant::now();
    let (mut after, mut seen, mut paging) = (None::<String>, 0, Duration::ZERO);
    while seen < rows {
        let page = Instant::now();
        let (a, b) = tokio::join!(
            legacy.keys(after.as_deref(), 1000),
            candidate.keys(after.as_deref(), 1000)
        );
        let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
        paging += page.elapsed();
        assert_eq!(a, b);
        for batch in a.chunks(500) {
            let (x, y) = tokio::join!(legacy.dump_batch(batch), candidate.dump_batch(batch));
            assert_eq!(x.unwrap(), y.unwrap());
        }
        seen += a.len();
        after = a.last().cloned();
    }
    println!("{seen} keys paged in {paging:?} of {:?}", started.elapsed());
    seen as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --release -p cutover-declared --test speed -- --ignored --nocapture"]
async fn verify_reads() {
    let pg = postgres(
        "CREATE TABLE kv (key text COLLATE \"C\" PRIMARY KEY, value text);
         INSERT INTO kv SELECT 'key' || lpad(i::text, 7, '0'), md5(i::text) FROM generate_series(1, 1000000) i;
         ANALYZE kv;",
    )
    .await;
    let (legacy, candidate) = (open(&pg.url(), KV).await, open(&pg.url(), KV).await);
    let sums = legacy.checksums().unwrap();
    let small = KeyRange {
        after: Some("key0400000".into()),
        upto: Some("key0401000".into()),
    };
    for range in [KeyRange::all(), small] {
        let started = Instant::now();
        let sum = sums.checksum(&range).await.unwrap();
        println!(
            "PostgreSQL checksum {} of {} rows: {:?}",
            range.describe(),
            sum.count,
            started.elapsed()
        );
    }
    let started = Instant::now();
    let bounds = sums.split(&KeyRange::all(), 100_000).await.unwrap();
    println!(
        "split into {} bounds: {:?}",
        bounds.len(),
        started.elapsed()
    );
    let rate = dump_rate(&legacy, &candidate, 200_000).await;
    println!("keys and batch dumps, both sides: {rate:.0} aggregates/s");
    let my = mariadb(
        "CREATE TABLE kv (`key` VARCHAR(16) COLLATE utf8mb4_bin PRIMARY KEY, value VARCHAR(32));
         INSERT INTO kv SELECT CONCAT('key', LPAD(seq, 7, '0')), MD5(seq) FROM seq_1_to_1000000;",
    )
    .await;
    let my_kv = KV
        .replace("SELECT key, value AS text", "SELECT `key`, value AS `text`")
        .replace(
            "SELECT key, value FROM kv WHERE key = ANY(:keys)",
            "SELECT `key`, value FROM kv WHERE `key` IN (:keys)",
        )
        .replace("key = :key", "`key` = :key")
        .replace(
            "SELECT key FROM kv WHERE (:after::text IS NULL OR key > :after) ORDER BY key",
            "SELECT `key` FROM kv WHERE (:after IS NULL OR `key` > :after) ORDER BY `key`",
        );
    let my_target = open(&my.url, &my_kv).await;
    let started = Instant::now();
    let my_sum = my_target
        .checksums()
        .unwrap()
        .checksum(&KeyRange::all())
        .await
        .unwrap();
    println!(
        "MariaDB checksum of {} rows: {:?}",
        my_sum.count,
        started.elapsed()
    );
    assert_eq!(my_sum, sums.checksum(&KeyRange::all()).await.unwrap());
    assert!(rate > 20_000.0, "{rate:.0} aggregates/s");
}
