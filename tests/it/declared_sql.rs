//! Declared SQL targets on the real PostgreSQL and MariaDB servers, as `cutover verify`
//! reads them: keys paged in the declared order (bytes or integers, whatever the column's
//! collation), batch dumps equal to `[state]` key by key (absent keys nothing, an
//! unreadable value unreadable on its key alone), and checksums of key ranges equal across
//! both engines for the same texts, with the keys that split a range. `[events]` on
//! PostgreSQL: each write's own outbox rows.

use cutover::targets::{Dumped, KeyRange, RangeSum, Target};
use cutover_declared::sql::SqlTarget;
use cutover_servers::mysql::{FreshMySql, MySqlServer};
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use serde_json::json;
use sqlx::Connection;

/// The declared target for `text` (written to a file) on `url`.
async fn open(url: &str, text: &str) -> SqlTarget {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.toml");
    std::fs::write(&path, text).unwrap();
    SqlTarget::open(url, &path).await.unwrap()
}

/// Handles whose byte order differs from a locale's: `B`, `Z`, `a`, `é` by bytes.
const HANDLES: [&str; 8] = ["a", "B", "é", "Z", "b", "zz", "Émile", "0"];

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

/// The users table's rows, as SQL values both engines read alike.
fn users_rows() -> String {
    HANDLES
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let theme = if i % 3 == 0 {
                "NULL".into()
            } else {
                format!("'t{i}'")
            };
            format!(
                "({}, '{h}', '{h}@example.com', 'plan{}', {theme})",
                i as i64 * 7 - 10,
                i % 2
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pg_schema() -> String {
    format!(
        "CREATE TABLE users (id int8 PRIMARY KEY, handle text COLLATE \"en-x-icu\" UNIQUE NOT NULL, \
         email text, plan text, theme text, extra interval);
         CREATE INDEX users_handle_c ON users (handle COLLATE \"C\");
         INSERT INTO users (id, handle, email, plan, theme) VALUES {};
         UPDATE users SET extra = '1 day' WHERE handle = 'zz';",
        users_rows()
    )
}

fn my_schema() -> String {
    format!(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, handle VARCHAR(64) NOT NULL, \
         email VARCHAR(64), plan VARCHAR(16), theme VARCHAR(16), extra POINT NULL, INDEX (handle)) \
         DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         INSERT INTO users (id, handle, email, plan, theme) VALUES {};
         UPDATE users SET extra = POINT(1, 2) WHERE handle = 'zz';",
        users_rows()
    )
}

const PG_USERS: &str = r#"
domain = "users"
[op.get]
kind = "read"
sql = "SELECT 1"
result = "row"
[state]
sql = "SELECT id, handle, email, plan, theme, extra FROM users WHERE handle = :key"
result = "row"
[keys]
sql = "SELECT handle FROM users WHERE (:after::text IS NULL OR handle COLLATE \"C\" > :after) ORDER BY handle COLLATE \"C\" LIMIT :limit"
[dump]
sql = "SELECT handle AS key, id, handle, email, plan, theme, extra FROM users WHERE handle = ANY(:keys)"
result = "row"
[checksum]
form = "users-v1"
sql = "SELECT handle AS key, concat_ws('|', id, handle, email, plan, coalesce(theme, '~')) AS text FROM users"
"#;

const MY_USERS: &str = r#"
domain = "users"
[op.get]
kind = "read"
sql = "SELECT 1"
result = "row"
[state]
sql = "SELECT id, handle, email, plan, theme, extra FROM users WHERE handle = :key COLLATE utf8mb4_bin"
result = "row"
[keys]
sql = "SELECT handle FROM users WHERE (:after IS NULL OR handle COLLATE utf8mb4_bin > :after) ORDER BY handle COLLATE utf8mb4_bin LIMIT :limit"
[dump]
sql = "SELECT handle AS `key`, id, handle, email, plan, theme, extra FROM users WHERE handle COLLATE utf8mb4_bin IN (:keys)"
result = "row"
[checksum]
form = "users-v1"
sql = "SELECT handle AS `key`, CONCAT_WS('|', id, handle, email, plan, COALESCE(theme, '~')) AS `text` FROM users"
"#;

/// Every key of `target`, `page` at a time.
async fn all_keys(target: &SqlTarget, page: usize) -> Vec<String> {
    let (mut keys, mut after) = (Vec::new(), None::<String>);
    loop {
        let got = target.keys(after.as_deref(), page).await.unwrap().unwrap();
        assert!(got.len() <= page);
        keys.extend(got.iter().cloned());
        if got.len() < page {
            return keys;
        }
        after = got.last().cloned();
    }
}

fn by_bytes(keys: &[&str]) -> Vec<String> {
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    sorted
}

#[tokio::test]
async fn keys_are_paged_in_byte_order_whatever_the_collation() {
    let pg = postgres(&pg_schema()).await;
    let my = mariadb(&my_schema()).await;
    let expected = by_bytes(&HANDLES);
    assert_eq!(expected[..5], ["0", "B", "Z", "a", "b"]);
    for target in [
        open(&pg.url(), PG_USERS).await,
        open(&my.url, MY_USERS).await,
    ] {
        for page in [1, 3, 8, 100] {
            assert_eq!(all_keys(&target, page).await, expected, "pages of {page}");
        }
        assert_eq!(target.keys(Some("é"), 10).await.unwrap(), Some(vec![]));
    }
}

#[tokio::test]
async fn integer_keys_are_paged_by_value() {
    let ids = [-10, 3, 10, 200, 9, -2];
    let rows: Vec<String> = ids.iter().map(|i| format!("({i})")).collect();
    let insert = format!("INSERT INTO t (id) VALUES {};", rows.join(", "));
    let pg = postgres(&format!("CREATE TABLE t (id int4 PRIMARY KEY); {insert}")).await;
    let my = mariadb(&format!("CREATE TABLE t (id INT PRIMARY KEY); {insert}")).await;
    let declared = |sql: &str, text: &str| {
        format!(
            "domain = \"t\"\n[op.get]\nkind = \"read\"\nsql = \"SELECT 1\"\nresult = \"row\"\n\
             [keys]\norder = \"integer\"\nsql = \"{sql}\"\n\
             [checksum]\nform = \"t-v1\"\nsql = \"SELECT id AS `key`, {text} AS `text` FROM t\"\n"
        )
    };
    let pg_sql =
        "SELECT id FROM t WHERE (:after::int8 IS NULL OR id > :after) ORDER BY id LIMIT :limit";
    let my_sql = "SELECT id FROM t WHERE (:after IS NULL OR id > :after) ORDER BY id LIMIT :limit";
    let (pg_target, my_target) = (
        open(&pg.url(), &declared(pg_sql, "id::text").replace('`', "")).await,
        open(&my.url, &declared(my_sql, "CAST(id AS CHAR)")).await,
    );
    let range = KeyRange {
        after: Some("-2".into()),
        upto: Some("10".into()),
    };
    let (pg_sums, my_sums) = (
        pg_target.checksums().unwrap(),
        my_target.checksums().unwrap(),
    );
    let sum = pg_sums.checksum(&range).await.unwrap();
    assert_eq!(sum.count, 3);
    assert_eq!(my_sums.checksum(&range).await.unwrap(), sum);
    for sums in [pg_sums, my_sums] {
        assert_eq!(
            sums.split(&KeyRange::all(), 2).await.unwrap(),
            ["-2", "9", "200"]
        );
        assert_eq!(sums.split(&range, 2).await.unwrap(), ["9"]);
    }
    for target in [pg_target, my_target] {
        assert_eq!(target.key_order(), cutover::targets::KeyOrder::Integer);
        assert_eq!(
            all_keys(&target, 2).await,
            ["-10", "-2", "3", "9", "10", "200"]
        );
        assert_eq!(
            target.keys(Some("9"), 5).await.unwrap().unwrap(),
            ["10", "200"]
        );
    }
}

/// The batch dump of `keys` against `[state]` read key by key.
async fn assert_dump_is_state(target: &SqlTarget, keys: &[String]) -> Vec<Dumped> {
    let dumped = target.dump_batch(keys).await.unwrap();
    assert_eq!(dumped.len(), keys.len());
    for (key, dumped) in keys.iter().zip(&dumped) {
        match (dumped, target.dump(key).await) {
            (Dumped::State(state), Ok(Some(each))) => assert_eq!(state, &each, "{key}"),
            (Dumped::Unreadable(_), Err(_)) => {}
            (dumped, each) => panic!("{key}: {dumped:?} in the batch, {each:?} by [state]"),
        }
    }
    dumped
}

#[tokio::test]
async fn a_batch_dump_is_each_keys_state_and_an_unreadable_value_stays_on_its_key() {
    let pg = postgres(&pg_schema()).await;
    let my = mariadb(&my_schema()).await;
    let mut keys = by_bytes(&HANDLES);
    keys.push("nobody".into());
    for target in [
        open(&pg.url(), PG_USERS).await,
        open(&my.url, MY_USERS).await,
    ] {
        let dumped = assert_dump_is_state(&target, &keys).await;
        let at = |key: &str| &dumped[keys.iter().position(|k| k == key).unwrap()];
        assert_eq!(at("nobody"), &Dumped::State(json!(null)));
        assert!(
            matches!(at("zz"), Dumped::Unreadable(why) if why.contains("extra")),
            "{:?}",
            at("zz")
        );
        assert_eq!(
            at("B"),
            &Dumped::State(
                json!({"id": -3, "handle": "B", "email": "B@example.com", "plan": "plan1", "theme": "t1", "extra": null})
            )
        );
        let unreadable = dumped
            .iter()
            .filter(|d| matches!(d, Dumped::Unreadable(_)))
            .count();
        assert_eq!(unreadable, 1);
        assert!(target.dump_batch(&[]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn without_dump_a_batch_is_read_by_state_and_rows_keep_their_order() {
    let pg = postgres(
        "CREATE TABLE lines (handle text, n int4, what text);
         INSERT INTO lines VALUES ('a', 2, 'x'), ('b', 1, 'y'), ('a', 1, 'z'), ('c', 5, NULL);",
    )
    .await;
    let declared = |dump: &str| {
        format!(
            "domain = \"lines\"\n[op.get]\nkind = \"read\"\nsql = \"SELECT 1\"\nresult = \"row\"\n\
             [state]\nsql = \"SELECT n, what FROM lines WHERE handle = :key ORDER BY n\"\nresult = \"rows\"\n{dump}"
        )
    };
    let batched = open(
        &pg.url(),
        &declared("[dump]\nsql = \"SELECT handle AS k, n, what FROM lines WHERE handle = ANY(:keys) ORDER BY handle, n\"\nkey = \"k\"\nresult = \"rows\"\n"),
    )
    .await;
    let each = open(&pg.url(), &declared("")).await;
    assert_eq!(each.keys(None, 10).await.unwrap(), None);
    let keys: Vec<String> = ["c", "a", "none", "b"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    let dumped = assert_dump_is_state(&batched, &keys).await;
    assert_eq!(dumped, each.dump_batch(&keys).await.unwrap());
    assert_eq!(
        dumped[1],
        Dumped::State(json!([{"n": 1, "what": "z"}, {"n": 2, "what": "x"}]))
    );
    assert_eq!(dumped[2], Dumped::State(json!([])));
}

#[tokio::test]
async fn checksums_agree_across_engines_and_split_ranges() {
    let pg = postgres(&pg_schema()).await;
    let my = mariadb(&my_schema()).await;
    let (pg_target, my_target) = (
        open(&pg.url(), PG_USERS).await,
        open(&my.url, MY_USERS).await,
    );
    let (pg_sums, my_sums) = (
        pg_target.checksums().unwrap(),
        my_target.checksums().unwrap(),
    );
    assert_eq!((pg_sums.form(), my_sums.form()), ("users-v1", "users-v1"));
    let keys = by_bytes(&HANDLES);
    let range = |after: Option<usize>, upto: Option<usize>| KeyRange {
        after: after.map(|i| keys[i].clone()),
        upto: upto.map(|i| keys[i].clone()),
    };
    for (r, count) in [
        (KeyRange::all(), 8),
        (range(Some(1), None), 6),
        (range(None, Some(3)), 4),
        (range(Some(2), Some(5)), 3),
        (range(Some(7), None), 0),
    ] {
        let pg_sum = pg_sums.checksum(&r).await.unwrap();
        assert_eq!(pg_sum.count, count, "{}", r.describe());
        assert_eq!(
            my_sums.checksum(&r).await.unwrap(),
            pg_sum,
            "{}",
            r.describe()
        );
    }
    let empty = pg_sums.checksum(&range(Some(7), None)).await.unwrap();
    assert_eq!(
        empty,
        RangeSum {
            count: 0,
            sum: "0".into()
        }
    );
    for (every, expected) in [(3, vec![2, 5]), (1, (0..8).collect()), (9, vec![])] {
        let bounds: Vec<String> = expected.iter().map(|&i: &usize| keys[i].clone()).collect();
        assert_eq!(
            pg_sums.split(&KeyRange::all(), every).await.unwrap(),
            bounds
        );
        assert_eq!(
            my_sums.split(&KeyRange::all(), every).await.unwrap(),
            bounds
        );
    }
    let tail = vec![keys[3].clone(), keys[5].clone(), keys[7].clone()];
    assert_eq!(pg_sums.split(&range(Some(1), None), 2).await.unwrap(), tail);
    assert_eq!(my_sums.split(&range(Some(1), None), 2).await.unwrap(), tail);

    let mut conn = sqlx::MySqlConnection::connect(&my.url).await.unwrap();
    sqlx::query("UPDATE users SET theme = 'other' WHERE handle = 'é'")
        .execute(&mut conn)
        .await
        .unwrap();
    let all = KeyRange::all();
    let (pg_all, my_all) = (
        pg_sums.checksum(&all).await.unwrap(),
        my_sums.checksum(&all).await.unwrap(),
    );
    assert_eq!(pg_all.count, my_all.count);
    assert_ne!(pg_all.sum, my_all.sum);
    let without = range(None, Some(6));
    assert_eq!(keys[7], "é");
    assert_eq!(
        pg_sums.checksum(&without).await.unwrap(),
        my_sums.checksum(&without).await.unwrap()
    );
}

#[tokio::test]
async fn a_wrong_verify_section_fails_at_open_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.toml");
    let declared = PG_USERS.replace("ANY(:keys)", "ANY(:handles)");
    std::fs::write(&path, declared).unwrap();
    let pg = postgres(&pg_schema()).await;
    let err = SqlTarget::open(&pg.url(), &path)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("line 12") && err.contains(":handles"), "{err}");
    std::fs::write(&path, PG_USERS.replace("AS text", "AS txt")).unwrap();
    let err = SqlTarget::open(&pg.url(), &path)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[checksum]") && err.contains("text"), "{err}");
}

/// `[events]` on PostgreSQL: the outbox rows a write's own statements inserted, read in
/// its transaction; a refused write published none; writes at once never see each other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_are_each_writes_own_outbox_rows() {
    use cutover::cassette::{Event, Kind, Request};
    let db = postgres(
        "CREATE TABLE accounts (id text PRIMARY KEY);
         CREATE TABLE outbox (id bigserial PRIMARY KEY, name text NOT NULL, body jsonb);",
    )
    .await;
    let target = open(
        &db.url(),
        r#"domain = "accounts"
[errors]
"23505" = "conflict"
[op.open]
kind = "write"
sql = ["INSERT INTO accounts (id) VALUES (:key)",
       "INSERT INTO outbox (name, body) VALUES ('opened', jsonb_build_object('id', :key::text))"]
result = "affected"
[events]
before = "SELECT COALESCE(MAX(id), 0) AS last FROM outbox"
sql = "SELECT name, body FROM outbox WHERE id > :last ORDER BY id"
name = "name"
json = ["body"]
"#,
    )
    .await;
    let target = std::sync::Arc::new(target);
    let open_account = |key: String| {
        let target = target.clone();
        async move {
            let request = Request::new(
                1,
                Some(&key),
                "open",
                Kind::Write,
                json!({}),
                "2026-03-01T00:00:00.000Z",
            );
            target
                .execute_events(&request)
                .await
                .unwrap()
                .events
                .unwrap()
        }
    };
    let opened = |key: &str| vec![Event::new("opened", json!({"body": {"id": key}}))];
    assert_eq!(open_account("a0".into()).await, opened("a0"));
    assert_eq!(
        open_account("a0".into()).await,
        vec![],
        "a duplicate is refused"
    );
    let at_once: Vec<_> = (1..=24)
        .map(|i| tokio::spawn(open_account(format!("a{i}"))))
        .collect();
    for (i, handle) in at_once.into_iter().enumerate() {
        assert_eq!(handle.await.unwrap(), opened(&format!("a{}", i + 1)));
    }
}
