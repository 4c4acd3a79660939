//! The bundled migrations' data (`[data]`): seeded, copied, replayed over, then every
//! aggregate of both stores verified on the real servers (PostgreSQL, MariaDB, the
//! MongoDB-wire server). The faithful copies are equivalent, by checksum where declared and
//! by dump; each planted copy defect is found with its key and class.

use cutover::normalize::Rules;
use cutover::replay::ReplayOptions;
use cutover::verify::{self, VerifyInfo, VerifyOptions};
use cutover_declared::migration::Migration;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// (key, class: the state divergence's structural class, or the key's own) of each key
/// that is not equal.
type Found = BTreeMap<String, String>;

/// The migration `name` (its `file` patched: `from` replaced by `to`) loaded, replayed and
/// verified, with the dump path only when `dump_only`.
async fn verified(
    name: &str,
    patch: Option<(&str, &str, &str)>,
    dump_only: bool,
) -> (VerifyInfo, Found) {
    let dir = crate::util::migration_copy(name, patch);
    let migration = Migration::load(dir.path()).unwrap();
    let running = migration
        .start()
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let data = migration.data.as_ref().expect("the migration holds data");
    running
        .load(data)
        .await
        .unwrap_or_else(|e| panic!("{name}: the copy: {e}"));
    running.settled(Duration::from_secs(300)).await.unwrap();
    let rules = migration
        .rules
        .as_ref()
        .map(|p| Arc::new(Rules::load(p).unwrap()));
    let options = ReplayOptions {
        concurrency: migration.concurrency.unwrap_or(16),
        rules: rules.clone(),
        reset: false,
        ..ReplayOptions::default()
    };
    let reader = cutover::cassette::Reader::open(&migration.cassette).unwrap();
    let replayed = cutover::replay_collect(reader, &running.pair, &options)
        .await
        .unwrap();
    assert_eq!(
        replayed.report.totals.inconclusive, 0,
        "{name}: the traffic"
    );
    running.settled(Duration::from_secs(120)).await.unwrap();
    let options = VerifyOptions {
        rules,
        hashing: !dump_only,
        ..VerifyOptions::default()
    };
    let mut kept = crate::util::KeptVerify::default();
    let run = verify::verify(&running.pair, &options, &mut kept)
        .await
        .unwrap();
    assert!(run.stopped.is_none(), "{name}: {:?}", run.stopped);
    let found = kept
        .0
        .iter()
        .map(|r| {
            let d = &r.divergences[0];
            let class = d.detail.unwrap_or(d.class).to_string();
            (
                r.key.clone().unwrap(),
                format!("{} {class}", cutover::diff::pattern(&d.path)),
            )
        })
        .collect();
    (run.info, found)
}

fn one(key: &str, found: &str) -> Found {
    [(key.to_string(), found.to_string())].into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres_copies_are_verified_by_checksum_and_a_reordered_list_is_found() {
    let name = "postgres-to-postgres";
    let (info, found) = verified(name, None, false).await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(info.keys.equal, info.keys.legacy);
    assert!(
        info.keys.legacy > 20_000,
        "the seeded users and the traffic's"
    );
    assert!(info.hashing_off.is_none(), "{:?}", info.hashing_off);
    assert!(
        info.hashed_keys > 19_000,
        "equal ranges checksummed: {}",
        info.hashed_keys
    );
    // The same data by the dump path.
    let (info, found) = verified(name, None, true).await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(info.dumped_keys, info.keys.legacy);
    // A copy that writes one user's tags sorted.
    let reorder = (
        "new.toml",
        "VALUES (:id, :plan, :theme, :tags, :updated_at)",
        "VALUES (:id, :plan, :theme, CASE WHEN :handle::text = 'user-012345' THEN ARRAY(SELECT t FROM unnest(:tags::text[]) AS t ORDER BY t) ELSE :tags END, :updated_at)",
    );
    for dump_only in [false, true] {
        let (info, found) = verified(name, Some(reorder), dump_only).await;
        assert_eq!(
            found,
            one("user-012345", "$.tags ordering"),
            "dump only: {dump_only}"
        );
        assert_eq!(info.keys.divergent, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_to_postgres_copies_are_verified_across_engines_and_a_truncated_value_is_found() {
    let name = "mysql-to-postgres";
    let (info, found) = verified(name, None, false).await;
    assert!(found.is_empty(), "{found:?}");
    assert!(info.keys.legacy > 20_000);
    assert!(
        info.hashed_keys > 19_000,
        "MariaDB and PostgreSQL make the same text: {info:?}"
    );
    // The copy casts the name to the new column's old width: one long name cut.
    let truncate = (
        "new.toml",
        "VALUES (:id, :email, :name, COALESCE(:is_active",
        "VALUES (:id, :email, :name::varchar(32), COALESCE(:is_active",
    );
    let (info, found) = verified(name, Some(truncate), false).await;
    assert_eq!(found, one("cust-012345", "$.name value"));
    assert_eq!(
        (info.keys.divergent, info.keys.equal + 1),
        (1, info.keys.legacy)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_to_mongodb_sync_is_verified_once_settled_and_a_lost_row_is_found() {
    let name = "mysql-to-mongodb";
    let (info, found) = verified(name, None, false).await;
    assert!(found.is_empty(), "{found:?}");
    assert!(info.keys.legacy >= 100_000);
    assert!(info.hashing_off.is_some(), "MongoDB declares no checksums");
    // The outbox trigger skips one user in 100,000: the sync never carries it.
    let lose = (
        "outbox.sql",
        "FOR EACH ROW\n  INSERT INTO outbox (collection, doc_id, doc) VALUES ('users', NEW.id,\n    JSON_OBJECT('_id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'plan', NEW.plan, 'active', NEW.active));\nCREATE TRIGGER users_updated",
        "FOR EACH ROW\n  INSERT INTO outbox (collection, doc_id, doc) SELECT 'users', NEW.id,\n    JSON_OBJECT('_id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'plan', NEW.plan, 'active', NEW.active) FROM DUAL WHERE NEW.id <> 'u054321';\nCREATE TRIGGER users_updated",
    );
    let (info, found) = verified(name, Some(lose), false).await;
    assert_eq!(found, one("u054321", "$ missing"));
    assert_eq!(info.keys.missing, 1);
}
