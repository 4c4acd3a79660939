//! Generated request sequences (proptest) on both real repositories: equivalent for the
//! correct candidate; a planted defect is found and shrinks to a minimal cassette, kept
//! under `fixtures/regressions/` and replayed from then on.

use cutover::cassette::{Header, Reader, Request, Writer};
use cutover::replay::{Pair, ReplayOptions};
use cutover::replay_report;
use cutover::targets::Target;
use cutover_conversations::postgres::Queries;
use cutover_conversations::setup::Servers;
use cutover_conversations::strategy::{self, Step};
use cutover_conversations::DomainTarget;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The defects a regression cassette may name (`meta.defect`), as candidate queries.
pub(crate) fn defect(name: &str) -> Queries {
    match name {
        "off_by_one_paging" => Queries {
            page: "OFFSET $2 + 1 LIMIT $3".into(),
            ..Queries::default()
        },
        "no_row_lock" => Queries {
            lock: "SELECT 1 FROM conversation WHERE id = $1".into(),
            ..Queries::default()
        },
        "attach_index_before_lock" => Queries {
            attach_index_locked: false,
            ..Queries::default()
        },
        other => panic!("unknown defect `{other}` in a regression cassette"),
    }
}

fn write(path: &Path, header: &Header, requests: &[Request]) {
    let mut w = Writer::create(path, header).unwrap();
    requests.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();
}

/// Divergent requests of `cassette` between the two targets (reset first).
async fn divergent(cassette: &Path, legacy: Arc<dyn Target>, candidate: Arc<dyn Target>) -> u64 {
    let pair = Pair { legacy, candidate };
    let reader = Reader::open(cassette).unwrap();
    let report = replay_report(reader, &pair, &rules(), &mut [])
        .await
        .unwrap()
        .report;
    assert_eq!(report.totals.inconclusive, 0, "{:#?}", report.examples);
    if report.totals.divergent > 0 {
        eprintln!("{}", cutover::testing::failure(&report));
    }
    report.totals.divergent
}

fn rules() -> ReplayOptions {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml");
    ReplayOptions {
        rules: Some(Arc::new(cutover::normalize::Rules::load(path).unwrap())),
        ..ReplayOptions::default()
    }
}

/// Runs generated sequences against the legacy and `queries` as the candidate.
fn run(queries: Queries, config: Config) -> Result<(), TestError<Vec<Step>>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers = runtime
        .block_on(Servers::start())
        .expect("the servers start (see the error for what to install)");
    let (legacy, _mongo) = runtime.block_on(servers.legacy()).unwrap();
    let (candidate, _pg) = runtime.block_on(servers.candidate(queries)).unwrap();
    let (legacy, candidate): (Arc<dyn Target>, Arc<dyn Target>) = (
        Arc::new(DomainTarget(legacy)),
        Arc::new(DomainTarget(candidate)),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner.run(&strategy::steps(), |steps| {
        let requests = strategy::requests(&steps);
        if requests.is_empty() {
            // Nothing existed to refer to: no request to compare.
            return Ok(());
        }
        let cassette = dir.path().join("case.jsonl");
        write(&cassette, &Header::new("conversations"), &requests);
        let n = runtime.block_on(divergent(&cassette, legacy.clone(), candidate.clone()));
        if n > 0 {
            return Err(TestCaseError::fail(format!("{n} divergent requests")));
        }
        Ok(())
    })
}

#[test]
fn generated_sequences_are_equivalent_on_both_repositories() {
    let config = Config {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/generated.txt",
        ))),
        ..Config::default()
    };
    if let Err(e) = run(Queries::default(), config) {
        panic!("{e}");
    }
}

#[test]
fn a_planted_defect_shrinks_to_a_regression_cassette_that_replays_it() {
    let config = Config {
        cases: 64,
        max_shrink_iters: 2_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/planted-defect.txt",
        ))),
        ..Config::default()
    };
    let minimal = match run(defect("off_by_one_paging"), config) {
        Err(TestError::Fail(_, steps)) => steps,
        other => panic!("the off-by-one paging defect is found: {other:?}"),
    };
    let requests = strategy::requests(&minimal);
    assert!(
        requests.len() <= 5,
        "shrunk to {} requests: {requests:#?}",
        requests.len()
    );
    assert!(
        requests.iter().any(|r| r.op == "messages_page"),
        "{requests:#?}"
    );

    // Kept as a regression cassette (written once, then replayed by the test below).
    let path = regressions().join("off_by_one_paging.jsonl");
    if !path.exists() {
        let mut header = Header::new("conversations");
        header
            .meta
            .insert("defect".into(), "off_by_one_paging".into());
        std::fs::create_dir_all(regressions()).unwrap();
        write(&path, &header, &requests);
    }
    replays_its_defect(&path);
}

pub(crate) fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/regressions")
}

/// A regression cassette diverges on the defect it names and is equivalent on the correct
/// candidate (a race regression, `meta.check = "races"`: atomicity, and serializable).
fn replays_its_defect(path: &Path) {
    let header = Reader::open(path).unwrap().header().clone();
    let name = header.meta["defect"]
        .as_str()
        .expect("meta.defect names the defect");
    // A race shows only when its group runs concurrently: the race check judges it.
    if header.meta.get("check").and_then(|c| c.as_str()) == Some("races") {
        return crate::races::shows_its_race(path, name);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let servers = Servers::start().await.expect("the servers start");
        let (legacy, _m) = servers.legacy().await.unwrap();
        let legacy: Arc<dyn Target> = Arc::new(DomainTarget(legacy));
        let (faulty, _f) = servers.candidate(defect(name)).await.unwrap();
        let (good, _g) = servers.candidate(Queries::default()).await.unwrap();
        let shown = divergent(path, legacy.clone(), Arc::new(DomainTarget(faulty))).await;
        assert!(shown > 0, "{}: {name} shows", path.display());
        let fixed = divergent(path, legacy, Arc::new(DomainTarget(good))).await;
        assert_eq!(
            fixed,
            0,
            "{}: the correct candidate is equivalent",
            path.display()
        );
    });
}

#[test]
fn every_regression_cassette_replays_its_defect() {
    let mut found = 0;
    for entry in std::fs::read_dir(regressions()).expect("fixtures/regressions exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            replays_its_defect(&path);
            found += 1;
        }
    }
    assert!(found > 0, "no regression cassette in fixtures/regressions");
}
