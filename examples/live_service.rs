//! A small conversations service during a migration's experimental period, wired as a team
//! would wire it: the legacy repository (MongoDB) answers every call; a recorder samples
//! whole conversations into redacted cassettes; a shadow mirrors the writes of a sample of
//! conversations to a PostgreSQL database of its own and compares every answer the new
//! repository gives with the legacy's, off the callers' path.
//!
//! Usage: `cargo run --release --example live_service -- OUT [CONVERSATIONS [CLIENTS]]`
//!
//! Starts the bundled servers, serves the generated traffic of CONVERSATIONS conversations
//! (default 200) from CLIENTS concurrent clients (default 8), then prints what each part
//! saw. Afterwards:
//!
//! * `cutover inspect OUT/cassettes/conversations-000001.jsonl`: the recording;
//! * `cutover report OUT/shadow`, `cutover gate OUT/shadow --policy POLICY`: the experiment;
//! * `cutover replay OUT/cassettes/conversations-000001.jsonl ...`: the recording replayed.
//!
//! Set `RUST_LOG`-style filtering with `CUTOVER_LOG=warn` to see each divergence as a
//! tracing event.

use cutover::capture::recorder::{Recorder, RecorderConfig};
use cutover::capture::redact::{Redactor, Secret};
use cutover::capture::shadow::{as_client, Shadow, ShadowConfig, Writes};
use cutover::normalize::Rules;
use cutover::targets::Target;
use cutover_conversations::postgres::Queries;
use cutover_conversations::setup::Servers;
use cutover_conversations::{generate, DomainTarget};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What is personal in a conversation: names and message texts are replaced by a keyed
/// hash (equal stays equal, so answers still compare and requests still join).
const REDACTIONS: &str = r#"
[[redact]]
path = "$..name"
action = "hash"
on = "both"

[[redact]]
path = "$..text"
action = "hash"
on = "both"
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .ok_or_else(|| anyhow::anyhow!("usage: live_service OUT [CONVERSATIONS [CLIENTS]]"))?,
    );
    let conversations: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let clients: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(8);
    let level = std::env::var("CUTOVER_LOG").unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt()
        .with_max_level(
            level
                .parse::<tracing::Level>()
                .unwrap_or(tracing::Level::ERROR),
        )
        .with_writer(std::io::stderr)
        .init();

    let servers = Servers::start().await?;
    let (legacy, _legacy_db) = servers.legacy().await?;
    // The experiment's own database: mirrored writes never reach a production store.
    let (candidate, _candidate_db) = servers.candidate(Queries::default()).await?;

    // A key for this run only; a team keeps theirs in CUTOVER_REDACTION_KEY.
    let key = random_key()?;
    let redactor = || {
        Redactor::parse(REDACTIONS, "live_service redactions", |_| {
            Some(Secret::new(key.clone()))
        })
    };

    let mut recording = RecorderConfig::new(out.join("cassettes"), "conversations");
    recording.name = "conversations".into();
    recording.rate = 0.25;
    let recorder = Recorder::start(DomainTarget(legacy), recording, Some(redactor()?))?;

    let mut experiment = ShadowConfig::new("postgres-read-path", "conversations");
    experiment.rate = 0.5;
    experiment.timeout = Duration::from_secs(2);
    experiment.lanes = 8;
    experiment.writes = Writes::Mirror {
        separate_store: "PostgreSQL (the experiment's own database)".into(),
        creates: HashSet::from(["create_conversation".to_string()]),
    };
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml");
    experiment.rules = Some(Arc::new(Rules::load(&rules)?));
    experiment.out = Some(out.join("shadow"));
    experiment.publish_every = Duration::from_secs(5);
    let shadow = Arc::new(Shadow::start(
        Arc::new(DomainTarget(candidate)),
        experiment,
        Some(redactor()?),
    )?);

    // The service's repository: the legacy, recorded, with the experiment around it.
    let repository = Arc::new(shadow.wrap(recorder));

    // The traffic: each conversation belongs to one client, which sends its requests in
    // order; cross-conversation reads go to the first client.
    let traffic = generate::cassette(conversations, 7);
    let mut per_client: BTreeMap<usize, Vec<_>> = BTreeMap::new();
    for request in traffic {
        let client = request.key.as_deref().map_or(0, |k| {
            cutover::replay::shard::Shard::of_key(k, clients as u32) as usize - 1
        });
        per_client.entry(client).or_default().push(request);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (client, requests) in per_client {
        let repository = Arc::clone(&repository);
        tasks.push(tokio::spawn(as_client(
            format!("client-{client}"),
            async move {
                let mut took = Vec::with_capacity(requests.len());
                for request in requests {
                    let t = Instant::now();
                    // What the service answers its caller: always the legacy's answer.
                    let _answer = repository.execute(&request).await;
                    took.push(t.elapsed());
                }
                took
            },
        )));
    }
    let mut took = Vec::new();
    for task in tasks {
        took.extend(task.await?);
    }
    let elapsed = start.elapsed();
    took.sort_unstable();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "served {} calls from {clients} clients in {:.1} s; per call p50 {:.2} ms, p99 {:.2} ms",
        took.len(),
        elapsed.as_secs_f64(),
        at(0.5),
        at(0.99)
    );

    let report = shadow
        .finish()
        .await?
        .expect("the shadow has an output directory");
    let recorder = repository.legacy();
    recorder.finish()?;
    println!("recorder: {}", recorder.stats());
    println!("shadow: {}", shadow.stats());
    println!(
        "verdict of the experiment: {:?} ({} requests); results in {}",
        report.verdict,
        report.totals.total,
        out.join("shadow").display()
    );
    Ok(())
}

/// 32 bytes of the operating system's entropy.
fn random_key() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}
