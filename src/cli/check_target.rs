//! `cutover check-target SPEC`: the conformance session against an adapter
//! (`docs/src/protocol.md`), each check with what was wrong in the adapter's terms. Exit 0 when
//! every check passed, 1 when one failed, 2 when the adapter could not be started.

use super::Shared;

use super::{print, Exit, Format};
use anyhow::Result;
use cutover::conformance;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The adapter: `exec:PROGRAM ARGS...` or `http:URL`.
    spec: String,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args, cx: &Shared) -> Result<Exit> {
    let runtime = &cx.runtime;
    let session = runtime.block_on(conformance::run(&cx.registry, &args.spec));
    match args.format {
        Format::Json => print(&(serde_json::to_string_pretty(&session)? + "\n"))?,
        Format::Human => {
            let mut text = format!("check-target {}\n", session.spec);
            for c in &session.checks {
                let mark = if c.passed { "ok  " } else { "FAIL" };
                text += &format!("  {mark} {}: {}\n", c.name, c.detail);
            }
            let failed = session.checks.iter().filter(|c| !c.passed).count();
            text += &match failed {
                0 => format!("all {} checks passed\n", session.checks.len()),
                n => format!("{n} of {} checks failed\n", session.checks.len()),
            };
            print(&text)?;
        }
    }
    Ok(match (session.hello.is_some(), session.passed()) {
        (false, _) => Exit::Inconclusive,
        (true, true) => Exit::Equivalent,
        (true, false) => Exit::Divergent,
    })
}
