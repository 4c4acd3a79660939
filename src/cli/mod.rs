//! Command-line front end: argument parsing, exit codes, terminal output (progress bars,
//! colours: [`style`]). The only part of cutover that knows about any of those.

mod check_target;
mod coverage;
mod demo;
mod diff;
mod domain;
mod gate;
mod generate;
mod inspect;
mod merge;
mod probe;
mod progress;
mod races;
mod replay;
mod report;
mod sample;
mod shell;
mod shrink;
mod verify;

use clap::{Parser, ValueEnum};
use cutover::Registry;
use std::process::ExitCode;

/// Golden-master differential testing for repository migrations.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// A domain declaration (TOML: docs/src/domain.md): a team's own domain, or one that
    /// replaces a built-in's of the same name. Coverage, probes, check-target, replays and
    /// samples know the domain from it; repeat for several.
    #[arg(long = "domain", global = true, value_name = "FILE")]
    domains: Vec<std::path::PathBuf>,
    #[command(subcommand)]
    command: Subcommand,
}

/// `cutover <subcommand>`: one per module of this front end.
#[derive(Debug, clap::Subcommand)]
enum Subcommand {
    /// Replay a cassette against a legacy and a candidate target and compare every outcome.
    Replay(replay::Args),
    /// Compare two JSON documents structurally.
    Diff(diff::Args),
    /// The reference migration: replay conversations on MongoDB (legacy) and PostgreSQL (new).
    Demo(demo::Args),
    /// Write a synthetic conversations cassette.
    Generate(generate::Args),
    /// Export conversations sampled from a live legacy MongoDB into a cassette.
    Sample(sample::Args),
    /// Reduce a cassette that shows a divergence to a minimal one that still shows it.
    Shrink(shrink::Args),
    /// Judge a replay's report by a policy: APPROVED (0) or REJECTED (1), with every reason.
    Gate(gate::Args),
    /// Compare every aggregate of two stores, key by key (and by checksum where both
    /// declare one form): missing, extra, divergent keys (docs/src/verify.md).
    Verify(verify::Args),
    /// Fold the outputs of a sharded replay (`replay --shard i/n`) into one.
    Merge(merge::Args),
    /// A replay's output as Markdown, HTML, JUnit XML or JSON, optionally judged by a policy.
    Report(report::Args),
    /// Summarize a cassette: operations, keys, time span, sampling, redactions, truncation.
    Inspect(inspect::Args),
    /// Append probes to a cassette: requests derived from the recorded ones that reach the
    /// edges the traffic missed (range ends, limits, absent ids, writes that must fail).
    Probe(probe::Args),
    /// What a cassette's traffic exercises of its domain's declared features, and the gaps.
    Coverage(coverage::Args),
    /// Domain declarations: `infer` drafts one from a recorded cassette, every guess marked.
    Domain(domain::Args),
    /// Check an adapter (`exec:` or `http:`) against the target protocol: handshake, reset,
    /// unknown operation, requests in flight, dump, and its domain's script.
    CheckTarget(check_target::Args),
    /// Print the completion script for a shell (`cutover completions bash > ...`).
    Completions(shell::CompletionsArgs),
    /// Print the man page (`cutover man > cutover.1`).
    Man(shell::ManArgs),
}

/// How a command reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// How a replaying command (`replay`, `merge`, `demo`) prints its report.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Printing {
    /// `human`: a summary for people (the whole report with --verbose); `json`: the report
    /// as report.json holds it.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Print the whole human report: every divergence group and example, every rule, noise
    /// path and suggested rule (the default is a summary).
    #[arg(long, short)]
    verbose: bool,
}

impl Printing {
    /// The report as these options print it: JSON, or text for people in the terminal's
    /// colours ([`style`]).
    fn render(&self, report: &cutover::report::Report) -> anyhow::Result<String> {
        use cutover::report::render::{self, Options};
        Ok(match self.format {
            Format::Json => format!("{}\n", serde_json::to_string_pretty(report)?),
            Format::Human => render::text(
                report,
                Options {
                    verbose: self.verbose,
                    style: style(),
                },
            ),
        })
    }
}

/// Colours on stdout, decided once from the environment: never with `NO_COLOR` set and not
/// empty (<https://no-color.org>), always with `CLICOLOR_FORCE` set and not `0`, else when
/// stdout is a terminal that is not `TERM=dumb`.
pub fn style() -> cutover::report::render::Style {
    use std::io::IsTerminal;
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let colour = colour(
        env("NO_COLOR").is_some(),
        env("CLICOLOR_FORCE").is_some_and(|v| v != "0"),
        std::io::stdout().is_terminal() && env("TERM").is_none_or(|t| t != "dumb"),
    );
    match colour {
        true => cutover::report::render::Style::Colour,
        false => cutover::report::render::Style::Plain,
    }
}

/// Whether to colour: `NO_COLOR` wins over everything, then `CLICOLOR_FORCE`, then a terminal.
fn colour(no_color: bool, forced: bool, terminal: bool) -> bool {
    !no_color && (forced || terminal)
}

/// What a command concluded, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Equivalent (0).
    Equivalent,
    /// Divergent (1).
    Divergent,
    /// Could not establish equivalence or divergence (2), the reason already printed.
    Inconclusive,
}

impl Exit {
    /// The worse of two conclusions: inconclusive over divergent over equivalent.
    pub fn worst(self, other: Exit) -> Exit {
        let rank = |e: Exit| match e {
            Exit::Equivalent => 0,
            Exit::Divergent => 1,
            Exit::Inconclusive => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Prints to stdout. A reader that has gone (`cutover ... | head`) is not an error: the
/// verdict still decides the exit code.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// What every command runs with: the one tokio runtime of the process, and the registry of
/// every domain and target spec the command line knows.
pub struct Shared {
    /// The runtime commands block on.
    pub runtime: tokio::runtime::Runtime,
    /// The built-in domains and specs, the reference domain, the declared targets.
    pub registry: Registry,
}

impl Shared {
    /// The runtime, and the registry with the declared domains of `--domain` (a file that
    /// cannot be used is an error naming its line).
    fn new(domains: &[std::path::PathBuf]) -> anyhow::Result<Shared> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let mut registry = cutover_cli::registry();
        for path in domains {
            registry = registry.with_domain(cutover::domain::DeclaredDomain::load(path)?);
        }
        Ok(Shared { runtime, registry })
    }
}

/// A duration argument: `500ms`, `30s`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    cutover::targets::parse_duration(text)
        .ok_or_else(|| format!("`{text}`: expected a duration such as 500ms or 30s"))
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let cx = match Shared::new(&cli.domains) {
        Ok(cx) => cx,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command {
        Subcommand::Replay(args) => replay::run(args, &cx),
        Subcommand::Diff(args) => diff::run(args, &cx),
        Subcommand::Demo(args) => demo::run(args, &cx),
        Subcommand::Generate(args) => generate::run(args, &cx),
        Subcommand::Sample(args) => sample::run(args, &cx),
        Subcommand::Shrink(args) => shrink::run(args, &cx),
        Subcommand::Gate(args) => gate::run(args, &cx),
        Subcommand::Merge(args) => merge::run(args, &cx),
        Subcommand::Verify(args) => verify::run(args, &cx),
        Subcommand::Report(args) => report::run(args, &cx),
        Subcommand::Inspect(args) => inspect::run(args, &cx),
        Subcommand::Coverage(args) => coverage::run(args, &cx),
        Subcommand::Domain(args) => domain::run(args, &cx),
        Subcommand::Probe(args) => probe::run(args, &cx),
        Subcommand::CheckTarget(args) => check_target::run(args, &cx),
        Subcommand::Completions(args) => shell::completions(args),
        Subcommand::Man(args) => shell::man(args),
    };
    match outcome {
        Ok(Exit::Equivalent) => ExitCode::SUCCESS,
        Ok(Exit::Divergent) => ExitCode::from(1),
        Ok(Exit::Inconclusive) => ExitCode::from(2),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_color_wins_over_a_terminal_and_over_clicolor_force() {
        assert!(!super::colour(true, true, true));
        assert!(!super::colour(true, false, true));
        assert!(super::colour(false, true, false));
        assert!(super::colour(false, false, true));
        assert!(!super::colour(false, false, false));
    }
}
