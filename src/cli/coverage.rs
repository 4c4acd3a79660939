//! `cutover coverage`: what a cassette's traffic exercises of its domain's declared
//! features, and the gaps. A cassette with the legacy's outcomes is counted as it is; one
//! without is first run on the legacy (`--legacy SPEC`, or the domain's own: the in-memory
//! store for `kv`, a fresh MongoDB database for `conversations`).

use super::Shared;

use super::{Exit, Format};
use anyhow::{bail, Context, Result};
use cutover::cassette::Reader;
use cutover::coverage::{self, Coverage};
use cutover::replay::record_each;
use cutover::targets::Target;
use cutover::Registry;
use cutover_conversations::setup::Servers;
use cutover_conversations::DomainTarget;
use cutover_servers::mongo::FreshMongo;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cassette (JSON Lines, optionally gzip).
    cassette: PathBuf,
    /// Run the cassette on this target to learn the outcomes and states it lacks (by
    /// default the domain's legacy: `memory` for kv, MongoDB for conversations).
    #[arg(long)]
    legacy: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let coverage = count(cx, &args.cassette, args.legacy.as_deref())?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&coverage)? + "\n",
        Format::Human => coverage::render(&coverage),
    };
    super::print(&text)?;
    Ok(Exit::Equivalent)
}

/// The coverage of `path`: from its recorded outcomes if every request has one, else from
/// a recording on the legacy.
pub fn count(cx: &Shared, path: &Path, legacy: Option<&str>) -> Result<Coverage> {
    let mut reader = Reader::open(path)?;
    let domain = reader.header().domain.clone();
    let Some(mut tally) = cx.registry.tally(&domain) else {
        bail!(
            "cassette {}: domain `{domain}` is not declared (declared: {}); declare it with \
             `--domain FILE` (docs/src/domain.md)",
            path.display(),
            cx.registry.with_features().join(", ")
        );
    };
    let mut recorded = true;
    while let Some(request) = reader.next_request()? {
        if request.outcome.is_none() {
            recorded = false;
            break;
        }
        tally.observe(&request, request.outcome.as_ref(), request.state.as_ref());
    }
    if recorded && legacy.is_none() {
        return Ok(tally.coverage());
    }
    let mut tally = cx
        .registry
        .tally(&domain)
        .expect("the domain was found above");
    let runtime = &cx.runtime;
    runtime.block_on(async {
        let legacy = Legacy::start(&cx.registry, &domain, legacy).await?;
        let n = record_each(Reader::open(path)?, legacy.target.as_ref(), |request| {
            tally.observe(&request, request.outcome.as_ref(), request.state.as_ref());
            Ok(())
        })
        .await
        .with_context(|| format!("running {} on the legacy", path.display()))?;
        eprintln!("counted {n} requests with the legacy's outcomes");
        Ok(tally.coverage())
    })
}

/// The legacy a cassette without outcomes is run on to learn them: `spec`, or the
/// domain's own on an empty store; what it runs on lives as long as this.
pub struct Legacy {
    /// The target, empty.
    pub target: Arc<dyn Target>,
    // Dropped in this order: the database, then the servers.
    _db: Option<FreshMongo>,
    _servers: Option<Servers>,
}

impl Legacy {
    /// `spec` if given, else `memory` for `kv` and a fresh MongoDB database for
    /// `conversations`.
    pub async fn start(registry: &Registry, domain: &str, spec: Option<&str>) -> Result<Legacy> {
        let target = |target| Legacy {
            target,
            _db: None,
            _servers: None,
        };
        Ok(match (spec, domain) {
            (Some(spec), _) => target(registry.open(spec).await?),
            (None, "kv") => target(registry.open("memory").await?),
            (None, "conversations") => {
                eprintln!("running the cassette on a fresh MongoDB database (the legacy)...");
                let servers = Servers::start().await?;
                let (repo, db) = servers.legacy().await?;
                Legacy {
                    target: Arc::new(DomainTarget(repo)),
                    _db: Some(db),
                    _servers: Some(servers),
                }
            }
            (None, other) => bail!("no default legacy for domain `{other}`: give --legacy SPEC"),
        })
    }
}
