//! `exec:` an adapter program driven over its stdin and stdout (`docs/src/protocol.md`).
//!
//! One [`Exec`] owns the running program (a `Process`): a writer (stdin, one line per
//! message, behind a lock), a reader task pairing each answer line with the call waiting
//! for its id, and a task keeping the last lines of stderr. The program dying, a line that
//! is not an answer, or an answer to an id never sent marks the process dead and fails
//! every call in flight with the cause; a call never waits past the spec's timeout. A dead
//! program is started again at the next call only while `--restarts` allows.

use super::{answer, excerpt, AdapterError, Answer, Call, Hello};
use crate::targets::InfraError;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{oneshot, Semaphore};

mod spec;
pub use spec::ExecSpec;

/// How long an adapter has to answer the handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Lines of stderr kept, and shown in a failure.
const TAIL: usize = 50;
const SHOWN: usize = 5;

/// A target answered by an adapter program.
pub struct Exec {
    spec: ExecSpec,
    hello: Hello,
    current: tokio::sync::Mutex<Arc<Process>>,
    restarts_left: AtomicU32,
    slots: Semaphore,
    ids: AtomicU64,
}

impl Exec {
    /// Starts the adapter and reads its handshake; `Err` says why it cannot be used.
    pub async fn start(spec: ExecSpec) -> Result<Exec, AdapterError> {
        let (process, hello) = Process::start(&spec).await.map_err(AdapterError::Start)?;
        if !hello.supports.reset {
            eprintln!(
                "adapter `{}` does not reset: a replay starts from what its store holds",
                hello.name
            );
        }
        Ok(Exec {
            restarts_left: AtomicU32::new(spec.restarts),
            slots: Semaphore::new(hello.supports.concurrency),
            ids: AtomicU64::new(1),
            current: tokio::sync::Mutex::new(process),
            hello,
            spec,
        })
    }

    /// The adapter's handshake.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// The running process, started again if it died and restarts are left.
    async fn process(&self) -> Result<Arc<Process>, InfraError> {
        let mut current = self.current.lock().await;
        let Some(reason) = current.dead() else {
            return Ok(Arc::clone(&current));
        };
        let left = self.restarts_left.load(Ordering::Relaxed);
        if left == 0 {
            return Err(InfraError::Disconnected(reason));
        }
        self.restarts_left.store(left - 1, Ordering::Relaxed);
        eprintln!("{reason}; starting it again ({} restarts left)", left - 1);
        let (process, hello) = Process::start(&self.spec)
            .await
            .map_err(InfraError::Refused)?;
        if hello.name != self.hello.name || hello.domain != self.hello.domain {
            return Err(InfraError::Other(format!(
                "adapter `{}` came back as `{}` of domain `{}`",
                self.hello.name, hello.name, hello.domain
            )));
        }
        *current = process;
        Ok(Arc::clone(&current))
    }

    /// One message and its answer, within the spec's timeout from the call on: waiting for
    /// one of the adapter's slots counts, so a hung adapter fails every queued call in time.
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<Answer, InfraError> {
        let timeout = self.spec.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let _slot = tokio::time::timeout_at(deadline, self.slots.acquire())
            .await
            .map_err(|_| {
                InfraError::Other(format!(
                    "adapter `{}` ({}) did not take `{}` within {timeout:?}: all {} of its \
                     slots stayed busy",
                    self.hello.name,
                    self.spec.command,
                    call.kind(),
                    self.hello.supports.concurrency
                ))
            })?
            .expect("the slots are never closed");
        loop {
            let process = self.process().await?;
            let id = self.ids.fetch_add(1, Ordering::Relaxed);
            match process.exchange(id, &call, (deadline, timeout)).await {
                Ok(members) => return answer(&process.label(), &call, &members),
                Err(Failed::Answer(e)) => return Err(e),
                // The message never reached the process, which was ending: once it is
                // marked dead, `process` starts it again (if allowed) or says why not.
                Err(Failed::NotSent) => {
                    if tokio::time::timeout_at(deadline, process.ended())
                        .await
                        .is_err()
                    {
                        return Err(process.timed_out(&call, timeout));
                    }
                }
            }
        }
    }
}

impl Drop for Exec {
    /// Closes the adapter's stdin: a well-behaved adapter exits; the process is killed
    /// when the last handle to it goes.
    fn drop(&mut self) {
        if let Ok(mut stdin) = self.current.get_mut().stdin.try_lock() {
            stdin.take();
        }
    }
}

super::protocol_target!(Exec);

type Waiter = oneshot::Sender<Result<Map<String, Value>, InfraError>>;

/// The calls waiting for an answer, and whether the process is dead.
#[derive(Default)]
struct Waiting {
    pending: HashMap<u64, Waiter>,
    /// Ids whose caller stopped waiting (timed out): a late answer is dropped.
    abandoned: HashSet<u64>,
    dead: Option<String>,
    /// Its stdout ended: nothing more is sent, the cause is being found.
    closing: bool,
}

/// Why an exchange gave no answer.
enum Failed {
    /// The message was never delivered (the process was ending): safe to send again.
    NotSent,
    /// The request's failure.
    Answer(InfraError),
}

impl From<InfraError> for Failed {
    fn from(e: InfraError) -> Failed {
        Failed::Answer(e)
    }
}

/// One running adapter program.
struct Process {
    command: String,
    /// `adapter `name` (command)` once the handshake named it, for messages.
    named: OnceLock<String>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    waiting: Mutex<Waiting>,
    child: tokio::sync::Mutex<Child>,
    tail: Arc<Mutex<VecDeque<String>>>,
    /// Becomes true when the process is marked dead.
    ended: tokio::sync::watch::Sender<bool>,
}

impl Process {
    /// Starts the program and reads its handshake.
    async fn start(spec: &ExecSpec) -> Result<(Arc<Process>, Hello), String> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|e| {
            format!(
                "adapter `{}`: cannot start `{}`: {e}",
                spec.command, spec.program
            )
        })?;
        let (stdin, stdout, stderr) = (
            child.stdin.take().expect("piped"),
            child.stdout.take().expect("piped"),
            child.stderr.take().expect("piped"),
        );
        let process = Arc::new(Process {
            command: spec.command.clone(),
            named: OnceLock::new(),
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            waiting: Mutex::new(Waiting::default()),
            child: tokio::sync::Mutex::new(child),
            tail: Arc::default(),
            ended: tokio::sync::watch::Sender::new(false),
        });
        let logging = tokio::spawn(keep_stderr(
            stderr,
            Arc::clone(&process.tail),
            spec.log.clone(),
            spec.command.clone(),
        ));
        tokio::spawn(read_answers(Arc::clone(&process), stdout, logging));
        let deadline = tokio::time::Instant::now() + HANDSHAKE;
        let members = match process
            .exchange(0, &Call::Hello, (deadline, HANDSHAKE))
            .await
        {
            Ok(members) => Ok(members),
            Err(Failed::Answer(e)) => Err(e),
            Err(Failed::NotSent) => {
                let _ = tokio::time::timeout_at(deadline, process.ended()).await;
                Err(InfraError::Disconnected(process.dead().unwrap_or_else(
                    || format!("adapter {} closed its stdout", process.label()),
                )))
            }
        };
        let hello = members
            .and_then(|m| answer(&process.label(), &Call::Hello, &m))
            .map_err(|e| format!("{e} (the handshake)"))?;
        let Answer::Hello(hello) = hello else {
            unreachable!("`answer` reads a handshake for hello")
        };
        let _ = process
            .named
            .set(format!("`{}` ({})", hello.name, process.command));
        Ok((process, hello))
    }

    /// `adapter `name` (command)`, for messages.
    fn label(&self) -> std::borrow::Cow<'_, str> {
        match self.named.get() {
            Some(named) => named.into(),
            None => format!("`{}`", self.command).into(),
        }
    }

    /// Why the process is dead, `None` while it runs.
    fn dead(&self) -> Option<String> {
        self.lock().dead.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends message `id` and waits for its answer's members, until `deadline` (`timeout`
    /// after the call began, for messages).
    async fn exchange(
        &self,
        id: u64,
        call: &Call<'_>,
        (deadline, timeout): (tokio::time::Instant, Duration),
    ) -> Result<Map<String, Value>, Failed> {
        let (sender, receiver) = oneshot::channel();
        {
            let mut waiting = self.lock();
            if waiting.dead.is_some() || waiting.closing {
                return Err(Failed::NotSent);
            }
            waiting.pending.insert(id, sender);
        }
        let _guard = Abandon { process: self, id };
        let line = super::message_line(id, call);
        let exchange = async {
            self.write(&line).await?;
            match receiver.await {
                Ok(answer) => answer.map_err(Failed::Answer),
                // The reader dropped the waiter: the process died.
                Err(_) => Err(Failed::Answer(InfraError::Disconnected(
                    self.dead()
                        .unwrap_or_else(|| format!("adapter {} stopped", self.label())),
                ))),
            }
        };
        tokio::time::timeout_at(deadline, exchange)
            .await
            .unwrap_or_else(|_| Err(Failed::Answer(self.timed_out(call, timeout))))
    }

    fn timed_out(&self, call: &Call<'_>, timeout: Duration) -> InfraError {
        InfraError::Other(format!(
            "adapter {} did not answer `{}` within {timeout:?}",
            self.label(),
            call.kind()
        ))
    }

    /// Waits until the process is marked dead.
    async fn ended(&self) {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(|dead| *dead).await;
    }

    /// Writes one message line; a closed or broken pipe means it was never delivered.
    async fn write(&self, line: &str) -> Result<(), Failed> {
        let mut stdin = self.stdin.lock().await;
        let Some(pipe) = stdin.as_mut() else {
            return Err(Failed::NotSent);
        };
        let written = async {
            pipe.write_all(line.as_bytes()).await?;
            pipe.flush().await
        };
        written.await.map_err(|_| Failed::NotSent)
    }

    /// Marks the process dead for `reason` and fails every call in flight with it.
    fn die(&self, reason: String, disconnected: bool) {
        let mut waiting = self.lock();
        if waiting.dead.is_some() {
            return;
        }
        let reason = format!("{reason}{}", self.stderr_tail());
        waiting.dead = Some(reason.clone());
        self.ended.send_replace(true);
        for (_, waiter) in waiting.pending.drain() {
            let error = match disconnected {
                true => InfraError::Disconnected(reason.clone()),
                false => InfraError::Other(reason.clone()),
            };
            let _ = waiter.send(Err(error));
        }
    }

    fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.is_empty() {
            return "; it wrote nothing to stderr".into();
        }
        let shown: Vec<&str> = tail
            .iter()
            .rev()
            .take(SHOWN)
            .rev()
            .map(String::as_str)
            .collect();
        format!("; its stderr ended with: {}", shown.join(" | "))
    }

    /// One answer line: to the call waiting for its id, dropped if that call gave up,
    /// otherwise the process is broken.
    fn deliver(&self, line: &str) -> Result<(), String> {
        let members = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(members)) => members,
            _ => return Err(format!("answered garbage: `{}`", excerpt(line))),
        };
        let Some(id) = members.get("id").and_then(Value::as_u64) else {
            return Err(format!("answered without an id: `{}`", excerpt(line)));
        };
        let mut waiting = self.lock();
        match waiting.pending.remove(&id) {
            Some(waiter) => {
                let _ = waiter.send(Ok(members));
                Ok(())
            }
            None if waiting.abandoned.remove(&id) => Ok(()),
            None => Err(format!(
                "answered id {id}, which it was never sent (or answered twice)"
            )),
        }
    }
}

/// Removes a call from the waiting table when its caller stops waiting.
struct Abandon<'a> {
    process: &'a Process,
    id: u64,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        let mut waiting = self.process.lock();
        if waiting.pending.remove(&self.id).is_some() {
            waiting.abandoned.insert(self.id);
        }
    }
}

/// The reader task: answers until stdout ends or the adapter misbehaves.
async fn read_answers(
    process: Arc<Process>,
    stdout: tokio::process::ChildStdout,
    logging: tokio::task::JoinHandle<()>,
) {
    let mut lines = BufReader::new(stdout).lines();
    let broken = loop {
        match lines.next_line().await {
            Ok(Some(line)) if line.trim().is_empty() => continue,
            Ok(Some(line)) => match process.deliver(&line) {
                Ok(()) => continue,
                Err(why) => break Some(why),
            },
            Ok(None) => break None,
            Err(e) => break Some(format!("answered garbage (not UTF-8 text: {e})")),
        }
    };
    process.lock().closing = true;
    let mut child = process.child.lock().await;
    if let Some(why) = broken {
        let _ = child.start_kill();
        drop(child);
        process.die(
            format!("adapter {} {why}; it was stopped", process.label()),
            false,
        );
        return;
    }
    let status = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    if status.is_err() {
        // Alive without a stdout: of no further use.
        let _ = child.start_kill();
    }
    drop(child);
    // The last lines of stderr, written just before it exited.
    let _ = tokio::time::timeout(Duration::from_millis(500), logging).await;
    let how = match status {
        Ok(Ok(status)) => format!("exited ({status})"),
        _ => "closed its stdout".to_string(),
    };
    process.die(format!("adapter {} {how}", process.label()), true);
}

/// The stderr task: keeps the last lines, and copies each to the log or cutover's stderr.
async fn keep_stderr(
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    log: Option<PathBuf>,
    command: String,
) {
    let mut file = match &log {
        Some(path) => tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .map_err(|e| tracing::warn!("adapter log {}: {e}", path.display()))
            .ok(),
        None => None,
    };
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match &mut file {
            Some(file) => {
                let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            }
            None if log.is_none() => eprintln!("[{command}] {line}"),
            None => {}
        }
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}
