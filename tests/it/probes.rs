//! Probes on real servers: defects planted in the PostgreSQL candidate at edges the recorded
//! traffic of `fixtures/conversations-100.jsonl` never reaches are equivalent on the fixture
//! and divergent once its probes are appended; the correct candidate stays equivalent; and
//! on the legacy every error-path probe fails with the kind it names and changes nothing.
//!
//! The probed fixture is recorded once on the legacy (MongoDB), and every candidate is
//! replayed against that recording (`recorded` legacy): the fixture without its probes is
//! the recording's prefix.

use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Header, Kind, Outcome, Reader, Request, Writer};
use cutover::normalize::Rules;
use cutover::probe;
use cutover::replay::{self, Collect, Pair, ReplayOptions, RequestResult, Status};
use cutover::replay_collect;
use cutover::report::{Report, Verdict};
use cutover::targets::recorded::Recorded;
use cutover::targets::Target;
use cutover_conversations::model::Conversation;
use cutover_conversations::ops::{Command, Operation, ReadOp, WriteOp};
use cutover_conversations::postgres::{Postgres, Queries};
use cutover_conversations::setup::Servers;
use cutover_conversations::{DomainTarget, Failure, Repository};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A defect planted in the candidate, at an edge the fixture's traffic does not reach.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Defect {
    /// `find_by_date_range`'s upper bound made exclusive (`<=` became `<`).
    ExclusiveUpperBound,
    /// `remove_participant` of an identity not taking part answers ok, not `not_found`.
    RemoveAbsentParticipantOk,
    /// The search text concatenated into the LIKE pattern, its `%`, `_` and `\` unescaped.
    UnescapedLike,
    /// A page of messages silently capped at 100, whatever the limit asked for.
    PageCappedAt100,
    /// `delete_conversation` of an absent conversation answers ok, not `not_found`.
    DeleteAbsentOk,
}

impl Defect {
    const ALL: [Defect; 5] = [
        Defect::ExclusiveUpperBound,
        Defect::RemoveAbsentParticipantOk,
        Defect::UnescapedLike,
        Defect::PageCappedAt100,
        Defect::DeleteAbsentOk,
    ];

    fn queries(self) -> Queries {
        let mut q = Queries::default();
        match self {
            Defect::ExclusiveUpperBound => {
                q.created_between = "created_at >= $1 AND created_at < $2".into()
            }
            Defect::PageCappedAt100 => q.page = "OFFSET $2 LIMIT LEAST($3, 100)".into(),
            Defect::RemoveAbsentParticipantOk | Defect::UnescapedLike | Defect::DeleteAbsentOk => {}
        }
        q
    }

    /// The operation whose probes must show the defect.
    fn op(self) -> &'static str {
        match self {
            Defect::ExclusiveUpperBound => "find_by_date_range",
            Defect::RemoveAbsentParticipantOk => "remove_participant",
            Defect::UnescapedLike => "search_messages",
            Defect::PageCappedAt100 => "messages_page",
            Defect::DeleteAbsentOk => "delete_conversation",
        }
    }
}

/// The candidate with a defect that lives outside its SQL fragments.
struct Planted {
    inner: Postgres,
    defect: Defect,
}

#[async_trait]
impl Repository for Planted {
    fn name(&self) -> &str {
        "planted postgres"
    }

    async fn reset(&self) -> Result<(), Failure> {
        self.inner.reset().await
    }

    async fn run(&self, command: &Command) -> Result<Value, Failure> {
        match (self.defect, &command.op) {
            (Defect::UnescapedLike, Operation::Read(ReadOp::SearchMessages(s))) => {
                let rows: Vec<(String, String)> = sqlx::query_as(&Queries::default().search())
                    .bind(format!("%{}%", s.text))
                    .bind(s.limit as i64)
                    .fetch_all(self.inner.pool())
                    .await
                    .map_err(|e| Failure::invalid(e.to_string()))?;
                let hits = rows
                    .into_iter()
                    .map(|(c, m)| json!({ "conversation_id": c, "message_id": m }));
                Ok(Value::Array(hits.collect()))
            }
            (
                Defect::RemoveAbsentParticipantOk,
                Operation::Write(WriteOp::RemoveParticipant(_)),
            ) => match self.inner.run(command).await {
                Err(Failure::Domain(ErrorKind::NotFound, m)) if m.starts_with("participant") => {
                    Ok(Value::Null)
                }
                answer => answer,
            },
            (Defect::DeleteAbsentOk, Operation::Write(WriteOp::DeleteConversation)) => {
                match self.inner.run(command).await {
                    Err(Failure::Domain(ErrorKind::NotFound, _)) => Ok(Value::Null),
                    answer => answer,
                }
            }
            _ => self.inner.run(command).await,
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

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations-100.jsonl")
}

/// Replays `cassette` with the domain's rules, the recording as the legacy.
async fn replay(cassette: &Path, candidate: Arc<dyn Target>) -> (Vec<RequestResult>, Report) {
    let rules = Rules::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml"),
    )
    .unwrap();
    let options = ReplayOptions {
        rules: Some(Arc::new(rules)),
        // Three replays run at once: fewer requests in flight each keep PostgreSQL's
        // connections few.
        concurrency: 8,
        ..ReplayOptions::default()
    };
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        candidate,
    };
    let replayed = replay_collect(Reader::open(cassette).unwrap(), &pair, &options)
        .await
        .unwrap();
    (replayed.results, replayed.report)
}

/// The error kind an error-path probe names at the end of its text: `... (not_found)`.
fn named_kind(why: &str) -> ErrorKind {
    let kind = why.rsplit_once('(').unwrap().1.trim_end_matches(')');
    serde_json::from_value(json!(kind)).unwrap()
}

fn verdict(report: &Report) -> String {
    format!(
        "{:?} ({} divergent of {}; probes {} divergent of {}; {} ms)",
        report.verdict,
        report.totals.divergent,
        report.totals.total,
        report.probes.divergent,
        report.probes.total,
        report.elapsed_ms
    )
    .to_uppercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_catch_planted_defects_the_recorded_traffic_misses() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let dir = tempfile::tempdir().unwrap();

    // The fixture with its probes, recorded once on the legacy.
    let probed = dir.path().join("probed.jsonl");
    let appended =
        probe::append(&fixture(), &probed, |d| cutover_cli::registry().prober(d)).unwrap();
    assert_eq!(appended.recorded, 3812);
    let recorded = dir.path().join("recorded.jsonl");
    let header = Reader::open(&probed).unwrap().header().clone();
    assert_eq!(header.meta["probes"], json!(appended.probes()));
    let (legacy, _mongo_db) = servers.legacy().await.unwrap();
    let mut w = Writer::create(&recorded, &header).unwrap();
    replay::record(
        Reader::open(&probed).unwrap(),
        &DomainTarget(legacy),
        &mut w,
    )
    .await
    .unwrap();
    w.finish().unwrap();

    // On the legacy, every error-path probe fails with the kind it names and leaves its
    // key's state as the last recorded write left it.
    let requests: Vec<Request> = Reader::open(&recorded)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut last_state: BTreeMap<String, Value> = BTreeMap::new();
    let mut checked = 0;
    for r in &requests {
        let key = r.key.clone().unwrap_or_default();
        match r.probe.as_deref() {
            Some(why) if r.kind == Kind::Write && why.starts_with("error path: ") => {
                let outcome = r.outcome.as_ref().unwrap();
                assert!(
                    matches!(outcome, Outcome::Error(e) if e.kind == named_kind(why)),
                    "seq {} {} ({why}): {outcome:?}",
                    r.seq,
                    r.op
                );
                let before = last_state.get(&key).cloned().unwrap_or(Value::Null);
                assert_eq!(
                    r.state.as_ref(),
                    Some(&before),
                    "seq {} changed nothing",
                    r.seq
                );
                checked += 1;
            }
            _ => {}
        }
        if let (Kind::Write, Some(state)) = (r.kind, &r.state) {
            last_state.insert(key, state.clone());
        }
    }
    assert!(checked > 40, "{checked} error-path probes checked");

    // The fixture alone: the recording without its probes.
    let plain = dir.path().join("plain.jsonl");
    let mut w = Writer::create(&plain, &Header::new("conversations")).unwrap();
    requests
        .iter()
        .filter(|r| r.probe.is_none())
        .for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();

    // Three replays at a time, each on its own database: they are independent, and together
    // they wait less on PostgreSQL's commits. The correct candidate first.
    let runs = std::iter::once((None, &recorded)).chain(
        Defect::ALL
            .iter()
            .flat_map(|d| [(Some(*d), &plain), (Some(*d), &recorded)]),
    );
    let runs = runs.map(|(defect, cassette)| {
        let servers = &servers;
        async move {
            let queries = defect.map_or_else(Queries::default, Defect::queries);
            let (repo, db) = servers.candidate(queries).await.unwrap();
            let target: Arc<dyn Target> = match defect {
                None => Arc::new(DomainTarget(repo)),
                Some(defect) => Arc::new(DomainTarget(Planted {
                    inner: repo,
                    defect,
                })),
            };
            let done = replay(cassette, target).await;
            drop(db);
            done
        }
    });
    use futures::StreamExt;
    let done: Vec<_> = futures::stream::iter(runs).buffered(3).collect().await;
    let mut done = done.into_iter();

    // The correct candidate is equivalent with every probe.
    let (_, report) = done.next().unwrap();
    eprintln!("correct candidate, with probes: {}", verdict(&report));

    assert_eq!(
        report.verdict,
        Verdict::Equivalent,
        "{:#?}",
        report.examples
    );
    assert_eq!(report.probes.total, appended.probes());
    assert_eq!(report.probes.equal, appended.probes());

    for defect in Defect::ALL {
        let (_, without) = done.next().unwrap();
        let (results, with) = done.next().unwrap();
        eprintln!(
            "{defect:?}: without probes {}; with probes {}",
            verdict(&without),
            verdict(&with)
        );
        assert_eq!(
            without.verdict,
            Verdict::Equivalent,
            "{defect:?}: {:#?}",
            without.examples
        );
        assert_eq!(with.verdict, Verdict::Divergent, "{defect:?}");
        let divergent: Vec<&RequestResult> = results
            .iter()
            .filter(|r| r.status == Status::Divergent)
            .collect();
        assert!(
            divergent.iter().all(|r| r.probe),
            "{defect:?}: only probes diverge"
        );
        assert!(
            divergent.iter().any(|r| r.op == defect.op()),
            "{defect:?}: a probe of {} diverges: {:?}",
            defect.op(),
            divergent.iter().map(|r| &r.op).collect::<Vec<_>>()
        );
        assert_eq!(with.probes.divergent, with.totals.divergent);
    }
}

/// `cutover probe` on the key-value fixture: the probes appended and counted, replayed and
/// counted apart; bad input refused with where and why.
#[test]
fn the_probe_command_appends_counts_and_refuses_bad_input() {
    use crate::util::{cutover, fixture, write, HEADER};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("probed.jsonl");
    let done = cutover()
        .args(["probe", fixture("kv-demo.jsonl").to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("300 recorded requests"), "{stdout}");
    assert!(
        stdout.contains("error path: delete on an absent key (not_found)"),
        "{stdout}"
    );
    let reader = Reader::open(&out).unwrap();
    let n = reader.header().meta["probes"].as_u64().unwrap();
    let requests: Vec<Request> = reader.map(Result::unwrap).collect();
    assert_eq!(requests.len() as u64, 300 + n);
    assert!(requests[300..].iter().all(|r| r.probe.is_some()));

    // Replayed (two fresh stores), the report counts the probes apart.
    let replayed = crate::util::replay(
        &out,
        &dir.path().join("run"),
        &["--legacy", "memory", "--candidate", "memory"],
    );
    assert_eq!(replayed.code, Some(0), "{}", replayed.stderr);
    assert_eq!(replayed.report["probes"]["total"], json!(n));
    assert_eq!(replayed.report["probes"]["equal"], json!(n));
    assert_eq!(replayed.report["totals"]["total"], json!(300 + n));
    // Sharded and merged, the probes are counted alike: each result says it was one.
    let mut shards = Vec::new();
    for spec in ["1/2", "2/2"] {
        let shard = dir.path().join(format!("shard{}", &spec[..1]));
        let args = [
            "--legacy",
            "memory",
            "--candidate",
            "memory",
            "--shard",
            spec,
        ];
        let done = crate::util::replay(&out, &shard, &args);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        shards.push(shard);
    }
    let merged = dir.path().join("merged");
    let done = cutover()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(0));
    let report: Value =
        serde_json::from_slice(&std::fs::read(merged.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["probes"], replayed.report["probes"]);

    let refused = |cassette: &Path, says: &str| {
        let done = cutover()
            .args(["probe", cassette.to_str().unwrap(), "--out"])
            .arg(dir.path().join("again.jsonl"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    };
    refused(&out, "already holds");
    let bad = write(
        dir.path(),
        "bad.jsonl",
        format!("{HEADER}{{\"seq\":1,\"key\":\n{{}}\n"),
    );
    refused(&bad, "bad.jsonl line 2");
    let other = write(
        dir.path(),
        "ledger.jsonl",
        "{\"cutover\":1,\"domain\":\"ledger\"}\n{\"seq\":1,\"key\":null,\"op\":\"x\",\"kind\":\"read\",\"args\":{},\"at\":\"2026-01-01T00:00:00Z\"}\n",
    );
    refused(&other, "domain `ledger`");
}

/// Regression: the candidate kept a saved `created_at` at microseconds where the legacy
/// keeps milliseconds, so a range ending at the stored millisecond missed it on PostgreSQL
/// only. The fixture has none; the probes of a cassette that saves one found it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_at_finer_than_a_millisecond_is_in_a_range_ending_at_its_millisecond() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let request = |seq, key, op, kind, args| {
        Request::new(seq, key, op, kind, args, "2024-01-03T00:00:00.000Z")
    };
    let mut requests = vec![
        request(
            1,
            Some("c1"),
            "create_conversation",
            Kind::Write,
            json!({ "conversation": {
                "id": "c1", "kind": "group", "created_at": "2024-01-02T00:00:00.123456Z",
            } }),
        ),
        request(
            2,
            None,
            "find_by_date_range",
            Kind::Read,
            json!({ "from": "2024-01-01T00:00:00.000Z", "to": "2024-01-05T00:00:00.000Z" }),
        ),
    ];
    let prober = cutover_cli::registry().prober("conversations").unwrap();
    let probes = probe::derive(prober, &requests);
    requests.extend(probes);
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("fine.jsonl");
    let mut w = Writer::create(&cassette, &Header::new("conversations")).unwrap();
    requests.iter().for_each(|r| w.write(r).unwrap());
    w.finish().unwrap();

    let pair = servers.pair().await.unwrap();
    let rules = Rules::load(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml"),
    )
    .unwrap();
    let options = ReplayOptions {
        rules: Some(Arc::new(rules)),
        keep_outcomes: true,
        ..ReplayOptions::default()
    };
    let targets = Pair {
        legacy: pair.legacy.clone(),
        candidate: pair.candidate.clone(),
    };
    let mut all = Collect::default();
    replay::replay(
        Reader::open(&cassette).unwrap(),
        &targets,
        &options,
        &mut [&mut all],
    )
    .await
    .unwrap();
    let on_the_end: Vec<&RequestResult> = all
        .0
        .iter()
        .filter(|r| r.op == "find_by_date_range" && r.probe)
        .filter(|r| r.seq == 3)
        .collect();
    assert_eq!(
        on_the_end.len(),
        1,
        "the first probe ends on the stored created_at"
    );
    let found = |o: &Option<Outcome>| match o {
        Some(Outcome::Ok(Value::Array(found))) => found.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(found(&on_the_end[0].legacy.outcome), 1);
    assert_eq!(found(&on_the_end[0].candidate.outcome), 1);
    let divergent: Vec<(u64, &str)> = all
        .0
        .iter()
        .filter(|r| r.status != Status::Equal)
        .map(|r| (r.seq, r.op.as_str()))
        .collect();
    assert!(divergent.is_empty(), "{divergent:?}");
}
