//! The `cutover` command. Exit codes are the contract: 0 equivalent, 1 divergent, 2 error.

mod cli;

/// Replays and diffs allocate and free many small values; mimalloc does that faster than the
/// system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
