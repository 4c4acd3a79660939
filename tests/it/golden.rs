//! Golden masters (insta snapshots under `snapshots/`): the legacy outcomes of
//! `fixtures/conversations-golden.jsonl`, redacted by the domain's rules, checked against
//! the legacy itself and against the candidate with no MongoDB at all.

use cutover::targets::Target;
use cutover::testing::GoldenMaster;
use cutover_conversations::postgres::{Postgres, Queries};
use cutover_conversations::setup::Servers;
use cutover_conversations::DomainTarget;
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden(dir: &Path) -> GoldenMaster {
    GoldenMaster::new("conversations-golden", dir)
        .cassette(root().join("fixtures/conversations-golden.jsonl"))
        .rules(root().join("fixtures/conversations.rules.toml"))
}

/// The candidate on a fresh database of a PostgreSQL server; nothing else is started.
async fn candidate(queries: Queries) -> (Arc<dyn Target>, FreshPostgres, PostgresServer) {
    let server = PostgresServer::start()
        .await
        .expect("PostgreSQL starts (see the error for what to install)");
    let db = server.fresh_database().await.unwrap();
    let repo = Postgres::connect(&db.url()).await.unwrap();
    (
        Arc::new(DomainTarget(repo.with_queries(queries))),
        db,
        server,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_golden_master_is_the_legacy_behaviour() {
    // Recorded with `INSTA_UPDATE=always cargo test the_golden_master_is_the_legacy`.
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let (legacy, _db) = servers.legacy().await.unwrap();
    let report = golden(&root().join("snapshots"))
        .assert_matches(&DomainTarget(legacy))
        .await;
    assert_eq!(report.totals.total, 212);
    assert_eq!(report.totals.equal, 212);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidate_matches_the_golden_master_without_mongodb() {
    let (target, _db, _server) = candidate(Queries::default()).await;
    let report = golden(&root().join("snapshots"))
        .assert_matches(target.as_ref())
        .await;
    assert_eq!(report.totals.equal, 212);
    // The rules are redactions here: the candidate's microsecond timestamps were cut.
    assert!(
        report.rules.iter().all(|r| r.fired > 0),
        "{:?}",
        report.rules
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_candidate_fails_the_golden_master_with_a_readable_report() {
    // A copy of the snapshot, so that insta's `.snap.new` lands outside the repository.
    let dir = tempfile::tempdir().unwrap();
    let snapshots: PathBuf = dir.path().to_path_buf();
    std::fs::copy(
        root().join("snapshots/conversations-golden.snap"),
        snapshots.join("conversations-golden.snap"),
    )
    .unwrap();
    let off_by_one = Queries {
        page: "OFFSET $2 + 1 LIMIT $3".into(),
        ..Queries::default()
    };
    let (target, _db, _server) = candidate(off_by_one).await;
    let failure = tokio::spawn(async move {
        golden(&snapshots).assert_matches(target.as_ref()).await;
    })
    .await
    .expect_err("the golden master fails");
    let payload = failure.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.starts_with("golden master `conversations-golden`"),
        "{message}"
    );
    assert!(message.contains("requests differ"), "{message}");
    assert!(message.contains("messages_page"), "{message}");
    assert!(message.contains("missing"), "{message}");
    assert!(message.contains("cargo insta review"), "{message}");
    println!("{message}");
    // For review: insta leaves the candidate's version beside the snapshot, except in CI.
    let in_ci = match std::env::var("CI").ok().as_deref() {
        Some("false" | "0" | "") => false,
        None => std::env::var_os("TF_BUILD").is_some(),
        Some(_) => true,
    };
    let pending = dir.path().join("conversations-golden.snap.new");
    assert_eq!(
        pending.exists(),
        !in_ci,
        "a .snap.new for `cargo insta review`"
    );
    // Grouped and cut, not every document in full.
    assert!(
        message.lines().count() < 400,
        "{} lines",
        message.lines().count()
    );
}
