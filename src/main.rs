//! The `cutover` command. Exit codes are the contract: 0 equivalent, 1 divergent, 2 error.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
