//! The recorder: wraps the legacy repository (any [`Target`]) in production, answers every
//! call from it unchanged, and writes a sample of whole conversations to cassettes.
//!
//! * **Sampling by key**: a key is in or out for the whole recording (SHA-256 of the key
//!   against the rate), plus an allow-list. Keyless (cross-aggregate) requests are left out:
//!   a sample cannot answer them.
//! * **Never on the caller's path**: the call's request, outcome and latency go to a bounded
//!   queue with a non-blocking send; redaction, serialization and IO happen on the writer
//!   thread. When the queue is full the request's key is dropped for the rest of the window
//!   and counted (in a fixed table of dropped keys: no lock, no allocation).
//! * **Whole keys only**: lines stream to `NAME-000001.jsonl.partial`, a new file every
//!   `rotate_bytes`. When the sampling window ends (`window`) or the recorder finishes, each
//!   file of the window is copied to `NAME-000001.jsonl` without the keys the window dropped,
//!   so finished files never hold half a conversation of their window: a key's calls in a
//!   window's files follow each other without a gap. The dropped keys are fixed when the
//!   window ends (the table is taken whole), and a call queued before the end whose key
//!   the ended window dropped is not carried into the next one. A key's history before its
//!   window is not in the window's files. Headers say the window's number (`window`), and
//!   a finished file's what it left out (`dropped_keys`, `left_out_requests`).
//! * **Crashes** (a SIGKILL at any point): a `.partial` file is created under a temporary
//!   name with its header and first request, so it always holds a whole request; its last
//!   line at most is cut, and `cutover inspect` and `replay` read it and report the cut. A
//!   finished file is written under `NAME.jsonl.tmp`, renamed over its `.partial` file,
//!   then to its final name: it is whole, and its lines are never under two cassette names.
//!   A recorder started in the directory removes the `.tmp` files, gives a finished file
//!   left under its `.partial` name its final name, keeps every other file as it is, and
//!   numbers its own after them. `scripts/recorder-crash.sh` kills a recording at 100
//!   points and checks what each kill left.
//! * **Redaction before disk** ([`super::redact`]), and the header records the sampling and
//!   the redactions (never the key).

use super::adapter::{self, DomainError};
use super::dropped::{DroppedKeys, DroppedSet};
use super::redact::Redactor;
use crate::cassette::{Header, Outcome, Request};
use crate::targets::{Executed, InfraError, Target};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How to record.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Directory of the cassettes (`NAME-000001.jsonl`, ...).
    pub dir: PathBuf,
    /// The files' name before their number.
    pub name: String,
    /// The domain written in each cassette's header.
    pub domain: String,
    /// Fraction of keys recorded, 0 to 1.
    pub rate: f64,
    /// Keys always recorded.
    pub allow: HashSet<String>,
    /// Calls queued for the writer, at most.
    pub queue: usize,
    /// A new file after this many bytes.
    pub rotate_bytes: u64,
    /// The sampling window: a key is in or out for all of it. When it ends, its files are
    /// finished (without the keys it dropped) and the next window starts afresh.
    pub window: Duration,
    /// Time the writer spends per line on top of writing it: simulates a slow disk.
    pub slow_writer: Option<Duration>,
}

impl RecorderConfig {
    /// Recording 1% of the keys of `domain` into `dir`, files of 256 MiB, windows of an hour.
    pub fn new(dir: impl Into<PathBuf>, domain: &str) -> RecorderConfig {
        RecorderConfig {
            dir: dir.into(),
            name: "cassette".into(),
            domain: domain.into(),
            rate: 0.01,
            allow: HashSet::new(),
            queue: 4096,
            rotate_bytes: 256 << 20,
            window: Duration::from_secs(3600),
            slow_writer: None,
        }
    }
}

/// Counters of a recording.
#[derive(Debug, Default)]
pub struct RecorderStats {
    /// Calls answered.
    pub calls: AtomicU64,
    /// Calls whose key is sampled.
    pub sampled: AtomicU64,
    /// Requests written to a finished file.
    pub recorded: AtomicU64,
    /// Keys dropped because the writer fell behind, and their requests that were not kept
    /// (refused, or left out of the finished file): `sampled = recorded + dropped_requests`.
    pub dropped_keys: AtomicU64,
    /// The dropped keys' requests that were not kept.
    pub dropped_requests: AtomicU64,
    /// Cassette files finished.
    pub files: AtomicU64,
}

impl std::fmt::Display for RecorderStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            f,
            "{} calls, {} sampled, {} recorded in {} files, {} keys dropped ({} requests)",
            n(&self.calls),
            n(&self.sampled),
            n(&self.recorded),
            n(&self.files),
            n(&self.dropped_keys),
            n(&self.dropped_requests)
        )
    }
}

/// What the queue carries.
struct Call {
    /// The window the caller saw: a call still queued when its window ends is judged by
    /// that window's dropped keys.
    window: u64,
    request: Request,
    outcome: Outcome,
    latency_us: u64,
    started_us: u64,
}

/// The legacy target, recorded.
pub struct Recorder<T> {
    inner: T,
    config: RecorderConfig,
    tx: RwLock<Option<SyncSender<Call>>>,
    dropped: Arc<DroppedKeys>,
    /// The current window's number, the writer's to change.
    window: Arc<AtomicU64>,
    stats: Arc<RecorderStats>,
    writer: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
    /// The start of the recording: calls' `started_us` count from it.
    epoch: Instant,
}

impl<T> Recorder<T> {
    /// Starts the writer thread; `redactor` applies to every request before it is written.
    /// Files a killed recorder left in the directory are kept (see `recover`), and the
    /// new files are numbered after them.
    pub fn start(
        inner: T,
        config: RecorderConfig,
        redactor: Option<Redactor>,
    ) -> std::io::Result<Recorder<T>> {
        std::fs::create_dir_all(&config.dir)?;
        let index = recover(&config.dir, &config.name)?;
        let (tx, rx) = mpsc::sync_channel(config.queue.max(1));
        let dropped = Arc::new(DroppedKeys::new());
        let window = Arc::new(AtomicU64::new(1));
        let stats = Arc::new(RecorderStats::default());
        let writer = Writer {
            config: config.clone(),
            redactor,
            dropped: Arc::clone(&dropped),
            stats: Arc::clone(&stats),
            index,
            seq: 0,
            window: 1,
            current: Arc::clone(&window),
            previous: None,
            written: DroppedKeys::new(),
            left_out: HashSet::new(),
        };
        let handle = std::thread::Builder::new()
            .name("cutover-recorder".into())
            .spawn(move || writer.run(rx))?;
        Ok(Recorder {
            inner,
            config,
            tx: RwLock::new(Some(tx)),
            dropped,
            window,
            stats,
            writer: Mutex::new(Some(handle)),
            epoch: Instant::now(),
        })
    }

    /// The recording's counters so far.
    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }

    /// Whether `key` is in the sample.
    pub fn sampled(&self, key: &str) -> bool {
        super::key_sampled(key, self.config.rate, &self.config.allow)
    }

    /// Stops taking calls, writes what is queued and finishes the last file.
    pub fn finish(&self) -> std::io::Result<()> {
        self.tx.write().unwrap_or_else(|p| p.into_inner()).take();
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        match handle.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the recorder's writer panicked")),
            None => Ok(()),
        }
    }

    /// Records a typed call of a team's own repository: runs `call` and, when the request's
    /// key is sampled, hands its answer (serialized, see [`adapter::outcome`]) to the
    /// writer. The answer is returned unchanged; an infrastructure failure is not recorded.
    pub async fn around<V: Serialize, E: DomainError>(
        &self,
        request: &Request,
        call: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        let start = Instant::now();
        let answer = call.await;
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.offer(request, start.elapsed(), || adapter::outcome(&answer).ok());
        answer
    }

    /// Hands a finished call to the writer without waiting; `outcome` is asked only for a
    /// sampled key.
    fn offer(&self, request: &Request, took: Duration, outcome: impl FnOnce() -> Option<Outcome>) {
        let Some(key) = request.key.as_deref() else {
            return;
        };
        if !self.sampled(key) {
            return;
        }
        let Some(outcome) = outcome() else { return };
        self.stats.sampled.fetch_add(1, Ordering::Relaxed);
        // Read before the table: a call tagged with a window is refused or queued by what
        // that window (or a later one) dropped.
        let window = self.window.load(Ordering::Acquire);
        if self.dropped.contains(key) {
            self.stats.dropped_requests.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let started = Instant::now()
            .checked_sub(took)
            .map_or(Duration::ZERO, |s| s.saturating_duration_since(self.epoch));
        let call = Call {
            window,
            request: request.clone(),
            outcome,
            latency_us: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            started_us: u64::try_from(started.as_micros()).unwrap_or(u64::MAX),
        };
        let sent = match self.tx.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(tx) => tx.try_send(call),
            None => return,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sent {
            // The key goes whole: nothing more of it is taken, and what was taken is left
            // out of the finished file.
            if self.dropped.insert(key) {
                self.stats.dropped_keys.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.dropped_requests.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl<T: Target> Target for Recorder<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn databases(&self) -> Vec<String> {
        self.inner.databases()
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.inner.reset().await
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        Ok(self.execute_events(request).await?.outcome)
    }

    /// The call recorded with the events the target reports, when it reports them.
    async fn execute_events(&self, request: &Request) -> Result<Executed, InfraError> {
        let start = Instant::now();
        let answer = self.inner.execute_events(request).await;
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        if let Ok(executed) = &answer {
            let took = start.elapsed();
            match &executed.events {
                None => self.offer(request, took, || Some(executed.outcome.clone())),
                Some(events) => {
                    let request = Request {
                        events: Some(events.clone()),
                        ..request.clone()
                    };
                    self.offer(&request, took, || Some(executed.outcome.clone()))
                }
            }
        }
        answer
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        self.inner.dump(key).await
    }
}

impl Recorder<()> {
    /// A recorder for a team's own repository type, whose typed calls it records with
    /// [`Recorder::around`]. It wraps no repository, so it is not a [`Target`]: only a
    /// recorder of a target is one.
    pub fn typed(
        config: RecorderConfig,
        redactor: Option<Redactor>,
    ) -> std::io::Result<Recorder<()>> {
        Recorder::start((), config, redactor)
    }
}

/// The writer thread's state.
struct Writer {
    config: RecorderConfig,
    redactor: Option<Redactor>,
    dropped: Arc<DroppedKeys>,
    stats: Arc<RecorderStats>,
    /// The number of the last file opened.
    index: u64,
    /// The cassette's own numbering, in the order calls were written.
    seq: u64,
    /// The current window's number, from 1; the callers read it from `current`.
    window: u64,
    current: Arc<AtomicU64>,
    /// The previous window's number and the keys it dropped: its calls still queued when it
    /// ended are judged by them.
    previous: Option<(u64, DroppedSet)>,
    /// The keys (their slots) the current window has written a line of.
    written: DroppedKeys,
    /// The dropped keys' slots ([`DroppedKeys::slot_of`]) the current window's finished
    /// files left out so far: each is counted in the first file that leaves it out, so the
    /// files' `dropped_keys` add up to the keys the window dropped, never more.
    left_out: HashSet<usize>,
}

/// The open `.partial` file.
struct Open {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
}

/// What a finished file's header says it left out.
struct LeftOut {
    keys: u64,
    requests: u64,
}

/// The one field of a line the finishing reads.
#[derive(serde::Deserialize)]
struct KeyOnly {
    key: Option<String>,
}

/// How the writer waits for calls. While they arrive it drains the queue, then naps
/// instead of sleeping on the queue: a caller whose call finds the writer asleep on the
/// queue must wake it, a system call on the caller's path that costs more than the rest of
/// the recording (and a wake-up on the other CPU). After `IDLE_NAPS` naps in a row found
/// nothing, it sleeps on the queue again, so an idle recorder costs nothing.
#[derive(Default)]
struct Waiting {
    /// Naps in a row that found the queue empty.
    naps: u32,
}

/// How long a nap lasts: the queue holds what arrives meanwhile (4,096 calls by default,
/// 400 at 200,000 calls a second).
const NAP: Duration = Duration::from_millis(2);
/// Empty naps before the writer sleeps on the queue.
const IDLE_NAPS: u32 = 5;
/// The longest sleep on the queue, so a window ends on time when no call comes.
const IDLE_WAIT: Duration = Duration::from_millis(200);

impl Waiting {
    /// The next call, `Some(None)` when none came in a while, `None` when every sender
    /// has gone and the queue is empty.
    fn next(&mut self, rx: &Receiver<Call>) -> Option<Option<Call>> {
        if self.naps >= IDLE_NAPS {
            return match rx.recv_timeout(IDLE_WAIT) {
                Ok(call) => {
                    self.naps = 0;
                    Some(Some(call))
                }
                Err(RecvTimeoutError::Timeout) => Some(None),
                Err(RecvTimeoutError::Disconnected) => None,
            };
        }
        match rx.try_recv() {
            Ok(call) => {
                self.naps = 0;
                Some(Some(call))
            }
            Err(TryRecvError::Empty) => {
                std::thread::sleep(NAP);
                self.naps += 1;
                Some(None)
            }
            Err(TryRecvError::Disconnected) => None,
        }
    }
}

impl Writer {
    fn run(mut self, rx: Receiver<Call>) -> std::io::Result<()> {
        let mut open: Option<Open> = None;
        // The `.partial` files of the current window, closed or open.
        let mut files: Vec<PathBuf> = Vec::new();
        let mut window_started = Instant::now();
        let mut waiting = Waiting::default();
        loop {
            let Some(call) = waiting.next(&rx) else { break };
            if window_started.elapsed() >= self.config.window {
                if let Some(file) = open.take() {
                    close(file)?;
                }
                self.end_window(&mut files)?;
                window_started = Instant::now();
            }
            if open
                .as_ref()
                .is_some_and(|f| f.bytes >= self.config.rotate_bytes)
            {
                close(open.take().expect("open"))?;
            }
            let Some(call) = call else { continue };
            if !self.admit(&call) {
                continue;
            }
            if let Some(key) = call.request.key.as_deref() {
                self.written.insert(key);
            }
            let line = self.line(call);
            match open.as_mut() {
                Some(file) => {
                    file.out.write_all(line.as_bytes())?;
                    file.bytes += line.len() as u64;
                }
                None => {
                    let file = self.open(&line)?;
                    files.push(file.path.clone());
                    open = Some(file);
                }
            }
            if let Some(delay) = self.config.slow_writer {
                std::thread::sleep(delay);
            }
        }
        if let Some(file) = open {
            close(file)?;
        }
        // No caller is left: the last window's keys are final.
        let dropped = self.dropped.take();
        self.finish_window(&mut files, self.window, &dropped)
    }

    /// Ends the window: callers tag their calls with the next one from now on and drop keys
    /// afresh, and the window's files are finished without the keys it dropped (fixed
    /// first, so every file leaves out the same ones).
    fn end_window(&mut self, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let ended = self.window;
        self.window += 1;
        self.current.store(self.window, Ordering::Release);
        let dropped = self.dropped.take();
        self.written.clear();
        self.finish_window(files, ended, &dropped)?;
        self.previous = Some((ended, dropped));
        Ok(())
    }

    /// Whether a call is written. A call of an ended window (queued before it ended) whose
    /// key that window dropped is not: its key's calls after it were refused, so written
    /// into this window it would be followed by a gap. It is counted as dropped, and when
    /// this window already wrote a line of its key (callers on several threads), the key
    /// is dropped from this window too. A call older than the previous window is judged
    /// the same way, its window's keys being forgotten.
    fn admit(&self, call: &Call) -> bool {
        let Some(key) = call.request.key.as_deref() else {
            return true;
        };
        if call.window >= self.window {
            return true;
        }
        let dropped = match &self.previous {
            Some((window, keys)) if *window == call.window => keys.contains(key),
            _ => true,
        };
        if !dropped {
            return true;
        }
        self.stats.dropped_requests.fetch_add(1, Ordering::Relaxed);
        if self.written.contains(key) && self.dropped.insert(key) {
            self.stats.dropped_keys.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    fn finish_window(
        &mut self,
        files: &mut Vec<PathBuf>,
        window: u64,
        dropped: &DroppedSet,
    ) -> std::io::Result<()> {
        for path in files.drain(..) {
            self.finish_file(&path, window, dropped)?;
        }
        self.left_out.clear();
        Ok(())
    }

    fn line(&mut self, call: Call) -> String {
        self.seq += 1;
        let mut request = call.request;
        request.seq = self.seq;
        request.outcome = Some(call.outcome);
        request.state = None;
        if let Some(r) = &self.redactor {
            r.apply(&mut request);
        }
        request.latency_us = Some(call.latency_us);
        request.started_us = Some(call.started_us);
        // Written straight from the request, as the cassette writer writes it.
        let mut line = serde_json::to_string(&request).expect("a request serializes");
        line.push('\n');
        line
    }

    fn header(&self, window: u64, left_out: Option<LeftOut>) -> Header {
        let mut header = Header::new(self.config.domain.clone());
        let meta = &mut header.meta;
        meta.insert(
            "recorder".into(),
            format!("cutover {}", env!("CARGO_PKG_VERSION")).into(),
        );
        meta.insert(
            "sampling".into(),
            format!(
                "{}; keyless requests not recorded",
                super::describe_sampling(self.config.rate, &self.config.allow)
            )
            .into(),
        );
        if let Some(r) = &self.redactor {
            meta.insert("redactions".into(), r.describe().into());
        }
        meta.insert("window".into(), window.into());
        if let Some(left_out) = left_out {
            meta.insert("dropped_keys".into(), left_out.keys.into());
            meta.insert("left_out_requests".into(), left_out.requests.into());
        }
        header
    }

    /// A new `.partial` file holding the header and `first`: written under a temporary
    /// name and renamed, so a `.partial` file always holds a whole request at least.
    fn open(&mut self, first: &str) -> std::io::Result<Open> {
        self.index += 1;
        let path = self.config.dir.join(format!(
            "{}-{:06}.jsonl.partial",
            self.config.name, self.index
        ));
        let tmp = path.with_extension("partial.tmp");
        let mut text =
            serde_json::to_string(&self.header(self.window, None)).expect("a header serializes");
        text.push('\n');
        text.push_str(first);
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        std::fs::rename(&tmp, &path)?;
        Ok(Open {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            bytes: text.len() as u64,
        })
    }

    /// Finishes a closed `.partial` file of `window` without the keys it dropped: the
    /// finished lines go to `NAME.jsonl.tmp`, which replaces the `.partial` file (one
    /// rename), which takes its final name (another). A kill at any point leaves each line
    /// under one cassette name only, in a whole file: the `.partial` (unfinished, or
    /// finished when killed between the renames) or the `.jsonl`.
    fn finish_file(
        &mut self,
        path: &Path,
        window: u64,
        dropped: &DroppedSet,
    ) -> std::io::Result<()> {
        use std::io::BufRead;
        let lines = || -> std::io::Result<_> {
            Ok(std::io::BufReader::new(File::open(path)?).lines().skip(1))
        };
        // Which lines stay: the header counts the keys left out, so it is known first.
        let mut keep = Vec::new();
        let (mut kept, mut left_out, mut slots) = (0u64, 0u64, HashSet::new());
        for line in lines()? {
            let line = line?;
            let key = serde_json::from_str::<KeyOnly>(&line)
                .ok()
                .and_then(|k| k.key);
            let stays = match key {
                _ if line.trim().is_empty() => false,
                Some(k) if dropped.contains(&k) => {
                    let slot = DroppedKeys::slot_of(&k);
                    if !self.left_out.contains(&slot) {
                        slots.insert(slot);
                    }
                    left_out += 1;
                    false
                }
                _ => true,
            };
            kept += u64::from(stays);
            keep.push(stays);
        }
        self.stats
            .dropped_requests
            .fetch_add(left_out, Ordering::Relaxed);
        if kept == 0 {
            // Every key of this file was dropped: no cassette (one without requests is
            // not a cassette); the drops are counted.
            return std::fs::remove_file(path);
        }
        self.left_out.extend(slots.iter().copied());
        let done = final_path(path);
        let tmp = done.with_extension("jsonl.tmp");
        let mut out = BufWriter::new(File::create(&tmp)?);
        let header = self.header(
            window,
            Some(LeftOut {
                keys: slots.len() as u64,
                requests: left_out,
            }),
        );
        writeln!(
            out,
            "{}",
            serde_json::to_string(&header).expect("a header serializes")
        )?;
        for (line, stays) in lines()?.zip(keep) {
            let line = line?;
            if stays {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, path)?;
        std::fs::rename(path, &done)?;
        self.stats.recorded.fetch_add(kept, Ordering::Relaxed);
        self.stats.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Flushes and closes an open file.
fn close(open: Open) -> std::io::Result<()> {
    let Open { mut out, .. } = open;
    out.flush()?;
    out.get_ref().sync_data()
}

/// `NAME.jsonl` for `NAME.jsonl.partial`.
fn final_path(partial: &Path) -> PathBuf {
    partial.with_extension("")
}

/// Puts in order a directory a killed recorder may have left, and returns the number of its
/// last file: temporary files go (what they were made from is still there), a `.partial`
/// file that holds a finished file (killed between the two renames) takes its final name.
/// The other `.partial` files stay as they are, and the new recording numbers its files
/// after every file there, so it overwrites nothing.
fn recover(dir: &Path, name: &str) -> std::io::Result<u64> {
    let mut last = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some((index, rest)) = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_prefix(name)?.strip_prefix('-')?.split_once('.'))
        else {
            continue;
        };
        let Ok(index) = index.parse::<u64>() else {
            continue;
        };
        last = last.max(index);
        match rest {
            "jsonl.tmp" | "jsonl.partial.tmp" => std::fs::remove_file(&path)?,
            "jsonl.partial" if holds_finished(&path) && !final_path(&path).exists() => {
                std::fs::rename(&path, final_path(&path))?;
            }
            _ => {}
        }
    }
    Ok(last)
}

/// Whether a cassette's header is a finished file's (it counts the keys left out).
fn holds_finished(path: &Path) -> bool {
    crate::cassette::Reader::open(path).is_ok_and(|r| r.header().meta.contains_key("dropped_keys"))
}
