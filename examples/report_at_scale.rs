//! The HTML report at scale, measured (not a check): a `kv` cassette of 50,000 requests with
//! divergences planted in about 62% of them (the cassette `tests/it/browser.rs` filters,
//! made by the same code), replayed as `cutover replay CASSETTE --out OUT` does (legacy
//! `recorded`, candidate `memory`, the default options), about 10,000 divergences found;
//! then the page made as `cutover report OUT --format html --out PAGE` makes it, its size,
//! and how long headless Chromium takes to load it and list the first page, unfiltered and
//! filtered to the third page of `get` type divergences.
//!
//! Usage: `cargo run --release --example report_at_scale`. Headless Chromium is Debian's
//! `chromium`, installed by `scripts/install-chromium.sh` when it is not on PATH. The page
//! is kept in `target/e2e/scale.html`.
//!
//! Everything runs through the library, in this process: "made in" is the time to read
//! `results.jsonl` and `report.json` back, render the page and write it, without the start
//! of a `cutover` process.

#[path = "../tests/it/util/page.rs"]
mod page;

use anyhow::{bail, Context, Result};
use cutover::cassette::Reader;
use cutover::coverage::observe::Observed;
use cutover::digest::FileRef;
use cutover::publish::{self, html::Workspace};
use cutover::replay::{Pair, ReplayOptions};
use cutover::report::{replay_report, Inputs, Replayed, Verdict};
use cutover::targets::Target;
use cutover::RunDir;
use page::{divergences, headless, listed, planted};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Requests in the cassette, keys they touch, and the percentage planted on.
const REQUESTS: u64 = 50_000;
const KEYS: u64 = 2_000;
const PERCENT: u64 = 62;

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cassette = dir.path().join("scale.jsonl");
    planted(&cassette, REQUESTS, KEYS, PERCENT);
    let out = dir.path().join("out");
    let runtime = tokio::runtime::Runtime::new()?;
    let verdict = runtime.block_on(replay(&cassette, &RunDir::new(&out)))?;
    if verdict != Verdict::Divergent {
        bail!("the planted cassette replayed {verdict:?}, not divergent");
    }
    let found = divergences(&out);

    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&e2e)?;
    let page = e2e.join("scale.html");
    let start = Instant::now();
    html_page(&out, &page)?;
    let made_in = start.elapsed();
    let size = std::fs::metadata(&page)?.len();
    let results = std::fs::metadata(out.join("results.jsonl"))?.len();
    println!(
        "50,000 requests, {} divergences: results.jsonl {:.1} MB, report.html {:.1} MB, made in {:.2} s",
        found.len(),
        results as f64 / 1e6,
        size as f64 / 1e6,
        made_in.as_secs_f64()
    );
    for (n, fragment) in ["", "op=get&class=type&page=3"].iter().enumerate() {
        let url = PathBuf::from(format!("{}#{fragment}", page.display()));
        let start = Instant::now();
        // The budget lets the page's timers run, so that it can note its first paint.
        let dom = headless(
            &url,
            &dir.path().join(format!("p{n}")),
            &["--dump-dom", "--virtual-time-budget=3000"],
        );
        let wall = start.elapsed();
        let ms = &dom[dom.find("data-listed-ms=\"").context("the page listed")? + 16..];
        let ms = &ms[..ms.find('"').context("the listed time ends")?];
        let paint = &dom[dom
            .find("data-first-paint-ms=\"")
            .context("a first paint")?
            + 21..];
        let paint = &paint[..paint.find('"').context("the first paint ends")?];
        let (items, count) = listed(&dom);
        println!(
            "#{fragment}: first contentful paint {paint} ms, first page listed {ms} ms after navigation; chromium started, loaded and dumped it in {:.2} s; {count} match, {} listed",
            wall.as_secs_f64(),
            items.len()
        );
    }
    Ok(())
}

/// `cutover replay CASSETTE --out OUT`: the default targets and options, coverage counted
/// on the legacy's answers, `results.jsonl` and `report.json` written; the verdict.
async fn replay(cassette: &Path, out: &RunDir) -> Result<Verdict> {
    let registry = cutover_cli::registry();
    let pair = Pair {
        legacy: registry.open("recorded").await?,
        candidate: registry.open("memory").await?,
    };
    let options = ReplayOptions::default();
    let reader = Reader::open(cassette)?;
    let observed = registry
        .tally(&reader.header().domain)
        .map(|tally| Arc::new(Observed::new(pair.legacy.clone(), tally, None)));
    let counting = Pair {
        legacy: observed
            .clone()
            .map_or_else(|| pair.legacy.clone(), |o| o as Arc<dyn Target>),
        candidate: pair.candidate.clone(),
    };
    out.create()?;
    let mut results = out.results_writer()?;
    let Replayed { mut report, .. } =
        replay_report(reader, &counting, &options, &mut [&mut results]).await?;
    results.commit()?;
    report.coverage = observed.map(|o| o.coverage());
    report.inputs = Some(Inputs {
        cassette: FileRef::of(cassette)?,
        rules: None,
        tool: env!("CARGO_PKG_VERSION").to_string(),
    });
    out.write_report(&report)?;
    if let Some(stop) = &report.stopped {
        bail!("the replay stopped: {stop}");
    }
    Ok(report.verdict)
}

/// `cutover report OUT --format html --out PAGE`: the report and every result read back
/// (the results folded into the page's workspace), the page rendered and written.
fn html_page(out: &Path, page: &Path) -> Result<()> {
    let run = RunDir::locate(out);
    let report = run.read_report()?;
    let mut workspace = Workspace::default();
    for result in run.results()? {
        workspace.add(&result?);
    }
    let text = publish::html::render(&report, None, Some(&workspace));
    cutover::rundir::write_atomically(page, text.as_bytes())
        .with_context(|| format!("writing {}", page.display()))?;
    if publish::passed(&report, None) {
        bail!("the page of a divergent replay passed");
    }
    Ok(())
}
