//! The reference domain's events, as `cutover demo` compares them: both repositories publish
//! to a real NATS server, each side watched through a subscription of its own. The shipped
//! repositories are equivalent with every write's events compared and none published before
//! its commit; each planted defect of the new repository's events is found with its class
//! on the operation it hits. The servers start here, or the test fails with what is missing.

use cutover::cassette::{Reader, Writer};
use cutover::diff::Class;
use cutover::normalize::Rules;
use cutover::replay::{Pair, ReplayOptions, RequestResult, StateCheck};
use cutover::replay_collect;
use cutover::targets::Target;
use cutover::Verdict;
use cutover_conversations::events::Defect;
use cutover_conversations::setup::Servers;
use cutover_servers::nats::NatsServer;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// (operation, path, class, detail) of every divergence, counted.
type Found = BTreeMap<(String, String, Class, Option<Class>), u64>;

/// The fixture replayed on both repositories publishing to `nats`, the candidate with
/// `defect`: its results and verdict.
async fn replay(
    servers: &Servers,
    nats: &NatsServer,
    defect: Option<Defect>,
) -> (Vec<RequestResult>, Verdict) {
    let fresh = servers
        .pair_publishing(&nats.url, defect)
        .await
        .expect("both repositories publish");
    let events = fresh.events.clone().expect("the pair publishes");
    let watch = |target: Arc<dyn Target>, url: String| async move {
        let url = format!("{url}?key=conversation_id");
        let watched = cutover_events::watch(target, &url).await.unwrap();
        Arc::new(watched) as Arc<dyn Target>
    };
    let pair = Pair {
        legacy: watch(fresh.pair.legacy.clone(), events.legacy).await,
        candidate: watch(fresh.pair.candidate.clone(), events.candidate).await,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = Rules::load(root.join("fixtures/conversations.rules.toml")).unwrap();
    let options = ReplayOptions {
        rules: Some(Arc::new(rules)),
        ..ReplayOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let cassette = some_conversations(&root.join("fixtures/conversations-100.jsonl"), dir.path());
    let replayed = replay_collect(Reader::open(cassette).unwrap(), &pair, &options)
        .await
        .unwrap();
    (replayed.results, replayed.report.verdict)
}

/// Every request of a few conversations of `fixture`: those updated with two changes at
/// once (where a swap shows), written into `dir`.
fn some_conversations(fixture: &Path, dir: &Path) -> std::path::PathBuf {
    let mut reader = Reader::open(fixture).unwrap();
    let mut requests = Vec::new();
    while let Some(request) = reader.next_request().unwrap() {
        requests.push(request);
    }
    let mut keys = BTreeSet::new();
    for r in &requests {
        let changes = r.args["changes"].as_array().map_or(0, Vec::len);
        if r.op == "update_conversation" && changes >= 2 && keys.len() < 8 {
            keys.extend(r.key.clone());
        }
    }
    let path = dir.join("some.jsonl");
    let mut writer = Writer::create(&path, reader.header()).unwrap();
    for r in requests
        .iter()
        .filter(|r| r.key.as_ref().is_some_and(|k| keys.contains(k)))
    {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn found(results: &[RequestResult]) -> Found {
    let mut found = Found::new();
    for r in results {
        for d in &r.divergences {
            let key = (r.op.clone(), d.path.clone(), d.class, d.detail);
            *found.entry(key).or_default() += 1;
        }
    }
    found
}

/// The distinct (operation, class, detail) of `found`.
fn kinds(found: &Found) -> BTreeSet<(String, Class, Option<Class>)> {
    found
        .keys()
        .map(|(op, _, class, detail)| (op.clone(), *class, *detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_repositories_publish_alike_and_each_planted_event_defect_has_its_class() {
    let servers = Servers::start()
        .await
        .expect("the servers start (see the error for what to install)");
    let nats = NatsServer::start()
        .await
        .expect("a NATS server answers or starts (see the error for what to install)");

    let (results, verdict) = replay(&servers, &nats, None).await;
    assert_eq!(verdict, Verdict::Equivalent, "{:?}", found(&results));
    let writes: Vec<_> = results
        .iter()
        .filter(|r| r.kind == cutover::cassette::Kind::Write)
        .collect();
    assert!(writes.len() > 50, "{}", writes.len());
    assert!(
        writes.iter().all(|r| r.events == Some(StateCheck::Equal)),
        "every write's events were compared, and agreed"
    );

    let cases = [
        ("in-transaction", "post_message", Class::BeforeCommit, None),
        (
            "forget",
            "post_message",
            Class::Events,
            Some(Class::Missing),
        ),
        (
            "swap",
            "update_conversation",
            Class::Events,
            Some(Class::Ordering),
        ),
        (
            "rename",
            "add_participant",
            Class::Events,
            Some(Class::Missing),
        ),
    ];
    for (name, op, class, detail) in cases {
        let defect = Defect::parse(name).unwrap();
        let (results, verdict) = replay(&servers, &nats, Some(defect)).await;
        assert_eq!(verdict, Verdict::Divergent, "{name}");
        let found = found(&results);
        let kinds = kinds(&found);
        assert!(
            kinds.contains(&(op.to_string(), class, detail)),
            "{name}: {op} {class} {detail:?} among {kinds:?}"
        );
        // Only the events diverge: no answer or state does, on any operation.
        assert!(
            kinds
                .iter()
                .all(|(_, c, _)| matches!(c, Class::Events | Class::BeforeCommit)),
            "{name}: {kinds:?}"
        );
        // Visibility is judged on the side where the event was published: never the legacy.
        let on_legacy = results
            .iter()
            .flat_map(|r| &r.divergences)
            .filter(|d| d.class == Class::BeforeCommit && d.left.is_some())
            .count();
        assert_eq!(on_legacy, 0, "{name}");
    }
}
