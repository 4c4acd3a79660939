//! A network link to a server that fails on demand, for the fault tests (`docs/src/faults.md`):
//! a TCP proxy in front of the server, on its own thread, that forwards bytes both ways
//! until a [`Fault`] trips.
//!
//! * A fault trips on an answer byte (server to client), counted from when it is armed
//!   ([`Link::fail`]), so it lands in the middle of an answer: the bytes before it are
//!   forwarded, the ones after it are not.
//! * [`Fault::Stall`]: from then on the link forwards nothing, on any connection, old or
//!   new; every connection stays open and silent, as behind a dead router.
//! * [`Fault::Reset`] resets the connection that carries the byte (a TCP RST to both
//!   ends) and the link goes on; [`Fault::ResetAll`] resets every connection from then on,
//!   and every new one at once, as a server that went away would.
//! * [`Fault::Delay`] holds every chunk, both ways, that long before it is forwarded (in
//!   order), from the moment it is armed.
//!
//! Packet loss is not a proxy's to make: `netns::Netns::lose` drops packets in the kernel.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How a [`Link`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing more is forwarded, on any connection; connections stay open.
    Stall,
    /// The connection carrying the tripping byte is reset; the link goes on.
    Reset,
    /// That connection and every connection after it are reset.
    ResetAll,
    /// Every chunk is held this long each way (armed at once, whatever the byte count).
    Delay(Duration),
}

/// A TCP proxy to one server; closed (every connection with it) when dropped.
pub struct Link {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the connections of one link share.
#[derive(Default)]
struct Shared {
    /// Answer bytes forwarded so far.
    answered: AtomicU64,
    /// The armed fault and the answer byte it trips on.
    armed: Mutex<Option<(Fault, u64)>>,
    stalled: AtomicBool,
    resetting: AtomicBool,
    /// The delay of every chunk, in microseconds.
    delay_us: AtomicU64,
    tripped: AtomicBool,
    connections: AtomicU64,
}

impl Link {
    /// A link listening on `bind` (a free port) to `upstream`.
    pub fn open(bind: IpAddr, upstream: SocketAddr) -> io::Result<Link> {
        let listener = std::net::TcpListener::bind((bind, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let accepting = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("link {addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        _ = stopped => {}
                        _ = accept(listener, upstream, accepting) => {}
                    }
                });
                // Dropping the runtime drops every connection's task, and so its sockets.
            })?;
        Ok(Link {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Arms `fault` to trip on the answer byte `after` bytes from now (a delay: at once).
    pub fn fail(&self, fault: Fault, after: u64) {
        if let Fault::Delay(d) = fault {
            let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
            self.shared.delay_us.store(us, Ordering::SeqCst);
            self.shared.tripped.store(true, Ordering::SeqCst);
            return;
        }
        let at = self.shared.answered.load(Ordering::SeqCst) + after;
        *self.shared.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some((fault, at));
    }

    /// Answer bytes forwarded so far.
    pub fn answered(&self) -> u64 {
        self.shared.answered.load(Ordering::SeqCst)
    }

    /// Whether the armed fault has tripped.
    pub fn tripped(&self) -> bool {
        self.shared.tripped.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(connection(client, upstream, Arc::clone(&shared)));
    }
}

/// Forwards one connection both ways until both ends close or a fault ends it.
async fn connection(client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    if shared.stalled.load(Ordering::SeqCst) {
        // Held open, never answered.
        let _held = client;
        return std::future::pending().await;
    }
    if shared.resetting.load(Ordering::SeqCst) {
        return reset(client);
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let requests = pump(client_read, server_write, false, Arc::clone(&shared));
    let answers = pump(server_read, client_write, true, Arc::clone(&shared));
    tokio::pin!(requests, answers);
    // A reset ends both directions at once; an end of stream ends one, the other goes on.
    let (mut requests_done, mut answers_done) = (false, false);
    while !(requests_done && answers_done) {
        tokio::select! {
            end = &mut requests, if !requests_done => {
                if end == End::Reset { return; }
                requests_done = true;
            }
            end = &mut answers, if !answers_done => {
                if end == End::Reset { return; }
                answers_done = true;
            }
        }
    }
}

/// Resets a connection: closes it with a zero linger, which sends a TCP RST.
fn reset(stream: TcpStream) {
    let _ = socket_zero_linger(&stream);
}

fn socket_zero_linger(stream: &TcpStream) -> io::Result<()> {
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO))
}

/// How one direction of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Closed,
    Reset,
}

/// One direction: reads chunks, holds each for the link's delay, writes them in order.
/// `answers` is the server-to-client direction, where faults trip.
async fn pump(from: OwnedReadHalf, to: OwnedWriteHalf, answers: bool, shared: Arc<Shared>) -> End {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = async move {
        let mut to = to;
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        to
    };
    let ((end, from), mut to) = tokio::join!(read(from, tx, answers, shared), writer);
    match end {
        // What came before the fault has been written: now the RST, to both ends.
        End::Reset => {
            let _ = socket_zero_linger(from.as_ref());
            let _ = socket_zero_linger(to.as_ref());
        }
        End::Closed => {
            let _ = to.shutdown().await;
        }
    }
    end
}

/// Reads chunks and queues them for the writer, each due after the link's delay; trips
/// the armed fault on the answer byte it waits for, sending only the bytes before it.
async fn read(
    mut from: OwnedReadHalf,
    tx: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    answers: bool,
    shared: Arc<Shared>,
) -> (End, OwnedReadHalf) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return (End::Closed, from),
            Ok(n) => n,
        };
        if shared.stalled.load(Ordering::SeqCst) {
            return std::future::pending().await;
        }
        if shared.resetting.load(Ordering::SeqCst) {
            return (End::Reset, from);
        }
        let (send, fault) = if answers { trip(&shared, n) } else { (n, None) };
        let delay = Duration::from_micros(shared.delay_us.load(Ordering::SeqCst));
        if send > 0
            && tx
                .send((Instant::now() + delay, buf[..send].to_vec()))
                .is_err()
        {
            return (End::Closed, from);
        }
        match fault {
            None | Some(Fault::Delay(_)) => {}
            Some(Fault::Stall) => {
                shared.stalled.store(true, Ordering::SeqCst);
                return std::future::pending().await;
            }
            Some(Fault::ResetAll) => {
                shared.resetting.store(true, Ordering::SeqCst);
                return (End::Reset, from);
            }
            Some(Fault::Reset) => return (End::Reset, from),
        }
    }
}

/// Counts `n` answer bytes; when the armed fault's byte is among them, disarms it and
/// says how many bytes go before it (at least one of the chunk is held back).
fn trip(shared: &Shared, n: usize) -> (usize, Option<Fault>) {
    let before = shared.answered.fetch_add(n as u64, Ordering::SeqCst);
    let mut armed = shared.armed.lock().unwrap_or_else(|p| p.into_inner());
    match *armed {
        Some((fault, at)) if before + n as u64 > at => {
            *armed = None;
            shared.tripped.store(true, Ordering::SeqCst);
            let send = usize::try_from(at.saturating_sub(before)).unwrap_or(n);
            (send.min(n - 1), Some(fault))
        }
        _ => (n, None),
    }
}
