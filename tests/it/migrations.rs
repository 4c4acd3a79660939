//! The bundled migrations (`fixtures/migrations/`) on the real servers: each correct pair is
//! equivalent with its declared rules counted, and a planted candidate defect per trap is
//! reported on the operation, path and class the trap shows as. Declared targets keep
//! arguments as data.

use cutover::diff::pattern;
use cutover::normalize::Rules;
use cutover::replay::ReplayOptions;
use cutover::replay_collect;
use cutover::report::Verdict;
use cutover_declared::migration::Migration;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// (operation, path pattern, class) of every divergence of a run.
type Found = BTreeSet<(String, String, String)>;

/// A planted defect: in `file`, `from` replaced by `to`; found as (operation, path, class).
type Trap<'a> = (&'a str, &'a str, &'a str, (&'a str, &'a str, &'a str));

/// Replays the migration `name`, its `file` patched (`from` replaced by `to`, which must
/// occur exactly once), with its rules unless `without_rules`.
async fn run(
    name: &str,
    patch: Option<(&str, &str, &str)>,
    without_rules: bool,
) -> (Verdict, Found, u64) {
    let (report, found) = run_report(name, patch, without_rules).await;
    let used: u64 = report.rules.iter().map(|r| r.fired).sum();
    (report.verdict, found, used)
}

/// As [`run`], with the whole report.
async fn run_report(
    name: &str,
    patch: Option<(&str, &str, &str)>,
    without_rules: bool,
) -> (cutover::report::Report, Found) {
    let dir = crate::util::migration_copy(name, patch);
    let migration = Migration::load(dir.path()).unwrap();
    let running = migration
        .start()
        .await
        .unwrap_or_else(|e| panic!("{name}: the servers start and the schemas apply: {e}"));
    let rules = match (&migration.rules, without_rules) {
        (Some(path), false) => Some(Arc::new(Rules::load(path).unwrap())),
        _ => None,
    };
    let options = ReplayOptions {
        concurrency: migration.concurrency.unwrap_or(16),
        rules,
        ..ReplayOptions::default()
    };
    let pair = running.pair.clone();
    let reader = cutover::cassette::Reader::open(&migration.cassette).unwrap();
    let replayed = replay_collect(reader, &pair, &options).await.unwrap();
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
    (report, found)
}

/// Each planted defect makes the run divergent, with its (operation, path, class) among
/// what was found.
async fn assert_traps(name: &str, traps: &[Trap<'_>]) {
    for &(file, from, to, (op, path, class)) in traps {
        let (verdict, found, _) = run(name, Some((file, from, to)), false).await;
        assert_eq!(verdict, Verdict::Divergent, "{to}");
        assert!(
            has(&found, op, path, class),
            "`{to}`: expected {op} {path} {class}, found {found:?}"
        );
    }
}

fn has(found: &Found, op: &str, path: &str, class: &str) -> bool {
    found.contains(&(op.to_string(), path.to_string(), class.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_to_postgres_is_equivalent_and_each_trap_is_found() {
    let name = "mysql-to-postgres";
    let (verdict, found, used) = run(name, None, false).await;
    assert_eq!(verdict, Verdict::Equivalent, "{found:?}");
    assert!(used > 0, "the declared rules did the mapping");
    // Without the mapping rules, every mapped column differs: the rules are needed.
    let (_, found, _) = run(name, None, true).await;
    assert!(
        has(&found, "get_customer", "$.is_active", "missing"),
        "{found:?}"
    );
    assert!(
        has(&found, "get_customer", "$.active", "extra"),
        "{found:?}"
    );
    assert!(has(&found, "get_order", "$.state", "value"), "{found:?}");
    assert!(has(&found, "get_order", "$.paid", "type"), "{found:?}");

    let traps: [Trap; 9] = [
        // Nullable booleans: NULL became true, not false.
        ("new.toml", "COALESCE(:active, false)", "COALESCE(:active, true)", ("get_customer", "$.active", "value")),
        // A renamed column answered under its old name.
        ("new.toml", "SELECT id, email, name, active FROM customers WHERE id = :key\"\nresult = \"row\"\nnone", "SELECT id, email, name, active AS is_active FROM customers WHERE id = :key\"\nresult = \"row\"\nnone", ("get_customer", "$.active", "missing")),
        // Renamed enum values answered in the old spelling.
        ("new.toml", "SELECT id, customer_id, state, status, ROUND", "SELECT id, customer_id, lower(state) AS state, status, ROUND", ("get_order", "$.state", "value")),
        // TINYINT(1) answered as a number.
        ("new.toml", "AS unit_cents, paid, COALESCE", "AS unit_cents, paid::int AS paid, COALESCE", ("get_order", "$.paid", "type")),
        // A zero date answered as NULL.
        ("new.toml", "AS unit_cents, paid, COALESCE(to_char(shipped_on, 'YYYY-MM-DD'), '0000-00-00') AS shipped_on", "AS unit_cents, paid, shipped_on", ("get_order", "$.shipped_on", "value")),
        // A case- and space-sensitive comparison where MySQL's collation was neither.
        ("new.toml", "WHERE lower(rtrim(email)) = lower(rtrim(:email))", "WHERE email = :email", ("find_customer_by_email", "$", "error")),
        // NULL sorted last.
        ("new.toml", "ORDER BY name ASC NULLS FIRST, id", "ORDER BY name, id", ("list_customers", "$", "ordering")),
        // Integer division.
        ("new.toml", "ROUND(total_cents::numeric / quantity, 4)", "total_cents / quantity", ("get_order", "$.unit_cents", "value")),
        // LIMIT without ORDER BY: the heap's order, not the primary key's.
        ("new.toml", "ORDER BY id LIMIT 5", "LIMIT 5", ("recent_orders", "$", "ordering")),
    ];
    assert_traps(name, &traps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres_is_equivalent_and_each_trap_is_found() {
    let name = "postgres-to-postgres";
    let (verdict, found, used) = run(name, None, false).await;
    assert_eq!(verdict, Verdict::Equivalent, "{found:?}");
    assert!(used > 0);
    // The order that was never specified: without the declared rule, the split table's
    // join answers in another order.
    let (_, found, _) = run(name, None, true).await;
    assert!(has(&found, "users_on_plan", "$", "ordering"), "{found:?}");
    let traps: [Trap; 2] = [
        // now() is the transaction's time; clock_timestamp() is not.
        (
            "new.toml",
            "SELECT id, :plan, :theme, now() FROM users",
            "SELECT id, :plan, :theme, clock_timestamp() FROM users",
            ("get_user", "$.untouched", "value"),
        ),
        // A sequence that does not continue the old numbering.
        (
            "new.sql",
            "START WITH 1;",
            "START WITH 1001;",
            ("create_user", "$.id", "value"),
        ),
    ];
    assert_traps(name, &traps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_full_of_quotes_and_sql_stay_data_on_both_stores() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/migrations/mysql-to-postgres");
    let running = Migration::load(&dir).unwrap().start().await.unwrap();
    let hostile = "Robert'); DROP TABLE customers; -- \" ` \\' :key $1 ?";
    let request = |seq, op, kind, args| {
        cutover::cassette::Request::new(seq, Some("c1"), op, kind, args, "2026-03-01T00:00:00.000Z")
    };
    use cutover::cassette::{Kind, Outcome};
    use serde_json::json;
    for target in [&running.pair.legacy, &running.pair.candidate] {
        target.reset().await.unwrap();
        let create = request(
            1,
            "create_customer",
            Kind::Write,
            json!({"email": hostile, "name": hostile, "active": true}),
        );
        assert_eq!(
            target.execute(&create).await.unwrap(),
            Outcome::Ok(json!(1)),
            "{}",
            target.name()
        );
        let got = target
            .execute(&request(2, "get_customer", Kind::Read, json!({})))
            .await
            .unwrap();
        let Outcome::Ok(row) = got else {
            panic!("{}: {got:?}", target.name())
        };
        assert_eq!(row["name"], hostile, "{}", target.name());
        assert_eq!(row["email"], hostile, "{}", target.name());
        // The table is still there, with the one row.
        let list = target
            .execute(&request(
                3,
                "list_customers",
                Kind::Read,
                json!({"limit": 10}),
            ))
            .await
            .unwrap();
        assert_eq!(
            list,
            Outcome::Ok(json!([{"id": "c1", "name": hostile}])),
            "{}",
            target.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_to_mongodb_converges_within_the_settle_window_and_a_stopped_sync_diverges() {
    let name = "mysql-to-mongodb";
    let delay = "delay = \"50ms\"";
    // The sync as bundled, and slowed: every request equal, the writes' state read-backs
    // settled after a lag inside the window, recorded per operation.
    for setting in [delay, "delay = \"400ms\""] {
        let (report, found) =
            run_report(name, Some(("migration.toml", delay, setting)), false).await;
        assert_eq!(report.verdict, Verdict::Equivalent, "{setting}: {found:?}");
        let settle = report.operations["create_user"]
            .settle
            .as_ref()
            .expect("settled writes");
        assert!(settle.settled > 0, "{setting}");
        assert!(
            settle.lag_us.max > 0 && settle.lag_us.max <= 2_000_000,
            "{setting}"
        );
    }
    // The sync stopped: reads after writes never agree: divergent, not inconclusive.
    let never = Some(("migration.toml", delay, "delay = \"never\""));
    let (report, found) = run_report(name, never, false).await;
    assert_eq!(report.verdict, Verdict::Divergent);
    assert_eq!(report.totals.inconclusive, 0);
    assert!(has(&found, "get_user", "$", "error"), "{found:?}");
    assert!(has(&found, "create_user", "$", "state"), "{found:?}");
    // A sync that loses a field converges to the wrong document: divergent after the window.
    let from = "'plan', NEW.plan, 'active', NEW.active));\nCREATE TRIGGER users_updated";
    let to = "'active', NEW.active));\nCREATE TRIGGER users_updated";
    let (report, found) = run_report(name, Some(("outbox.sql", from, to)), false).await;
    assert_eq!(report.verdict, Verdict::Divergent);
    assert!(has(&found, "get_user", "$.plan", "missing"), "{found:?}");
}
