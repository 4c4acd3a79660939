//! `cutover completions SHELL` and `cutover man`: shell completions and a man page,
//! generated from the same clap definitions the command parses with.

use super::{Cli, Exit};
use anyhow::Result;
use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {}

/// Prints the completion script for the shell.
pub fn completions(args: CompletionsArgs) -> Result<Exit> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "cutover", &mut out);
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Equivalent)
}

/// Prints the man page (roff): `cutover man > cutover.1`.
pub fn man(_args: ManArgs) -> Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Equivalent)
}
