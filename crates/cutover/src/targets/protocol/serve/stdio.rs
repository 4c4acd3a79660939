//! The adapter's stdin and stdout as the served protocol reads and writes them.
//!
//! `tokio::io::stdin` and `stdout` hand every read and write to a blocking thread, two
//! thread wake-ups per message on each side. When they are pipes (as under `exec:`), they
//! are read and written in non-blocking mode on the runtime's own reactor instead; a file
//! or a terminal keeps tokio's blocking handles.

use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};

/// The adapter's stdin, for reading messages.
pub(super) type Input = Pin<Box<dyn AsyncRead + Send>>;
/// The adapter's stdout, for writing answers.
pub(super) type Output = Pin<Box<dyn AsyncWrite + Send>>;

/// Stdin and stdout, on the reactor where they are pipes.
pub(super) fn streams() -> (Input, Output) {
    (input(), output())
}

/// The stream `fd` as a pipe on the reactor, `None` when it is not a pipe.
#[cfg(unix)]
fn pipe<P>(fd: impl std::os::fd::AsFd, open: fn(std::fs::File) -> std::io::Result<P>) -> Option<P> {
    let fd = fd.as_fd().try_clone_to_owned().ok()?;
    open(std::fs::File::from(fd)).ok()
}

#[cfg(unix)]
fn input() -> Input {
    match pipe(
        std::io::stdin(),
        tokio::net::unix::pipe::Receiver::from_file,
    ) {
        Some(pipe) => Box::pin(pipe),
        None => Box::pin(tokio::io::stdin()),
    }
}

#[cfg(unix)]
fn output() -> Output {
    match pipe(std::io::stdout(), tokio::net::unix::pipe::Sender::from_file) {
        Some(pipe) => Box::pin(pipe),
        None => Box::pin(tokio::io::stdout()),
    }
}

#[cfg(not(unix))]
fn input() -> Input {
    Box::pin(tokio::io::stdin())
}

#[cfg(not(unix))]
fn output() -> Output {
    Box::pin(tokio::io::stdout())
}
