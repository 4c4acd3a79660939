#!/usr/bin/env python3
"""A cutover adapter for the `kv` domain over sqlite3 (Python 3.11, standard library only).

Copy it as a template: `KvRepository` stands for your team's repository class, and the rest
is the adapter that speaks cutover's target protocol, version 1 (docs/src/protocol.md).

How cutover runs it:

    cutover replay fixtures/kv-demo.jsonl --out /tmp/kv --legacy recorded \\
      --candidate 'exec:python3 examples/adapters/kv.py'
    cutover check-target 'exec:python3 examples/adapters/kv.py'

* `exec:` (the default): JSON Lines on stdin/stdout, one message at a time, in order
  (it declares `"concurrency": 1`); it exits when stdin closes.
* `--http PORT`: serves the `http:` endpoints (POST .../hello, .../reset, .../execute,
  .../dump, .../keys) on 127.0.0.1 with a ThreadingHTTPServer and declares `"concurrency": 8`.
  PORT 0 picks a free port. The one line `listening on PORT` is written to stdout, which is
  otherwise unused; then run `cutover replay ... --candidate http://127.0.0.1:PORT`.
* `--db FILE`: keep the store in a sqlite file instead of in memory.
* `--nats nats://HOST:PORT/PREFIX`: after each write commits, publish its events
  (`value_put`, `value_inserted`, `value_deleted`, `value_stamped`, each `{"key": ..,
  "value": ..}`) on `PREFIX.<name>`, flushed (PING/PONG) before answering
  (docs/src/events.md). Messages are then handled on a thread each (`"concurrency": 32`)
  and `dump` reads the last commit on a connection of its own (WAL; a temporary file when
  `--db` is not given), so cutover can read an aggregate while a write is in flight.

stdout carries only answers (or the `listening on` line); stderr is the log.

Values are stored as JSON text, keys as TEXT PRIMARY KEY: sqlite compares TEXT bytewise
(UTF-8, the BINARY collation), which is the key order of the reference `memory` target (Rust
String order) and the `"key_order": "bytes"` it declares: `keys` pages through them with
`WHERE key > ? ORDER BY key LIMIT ?`, and `dump` with `keys` reads several in one message.
Numbers keep their exact digits: non-integers are decoded as Decimal, not float.

Planted defects, for cutover's own tests (KV_DEFECT=NAME; unset means correct):

* `scan-order`      scan answers the selected items (the first `limit`, in key order) reversed;
* `not-found-null`  get of an absent key answers {"ok": null} instead of a not_found error;
* `drop-tags`       put and insert store an object value without its top-level "tags" member;
* `die-after=N`     the process kills itself (SIGKILL) on receiving the (N+1)-th execute;
* `garbage-after=N` the (N+1)-th execute answer is replaced by the line `this is not json`
                    (over http: that text as the body, status 200);
* `hang-after=N`    after N execute answers it answers nothing more (it keeps reading stdin
                    and exits when stdin closes; over http the exchanges are left open);
* `keys-skip`       `keys` leaves the second key (in key order) out of every page;
* `die-after-dumps=N` the process kills itself (SIGKILL) on receiving the (N+1)-th dump
                    (one key or a batch): a store lost in the middle of `cutover verify`;
* `hang-after-dumps=N` from the (N+1)-th dump on it answers nothing more: a store that
                    stalls in the middle of `cutover verify`;
* `events-forget`   delete publishes no `value_deleted`;
* `events-swap`     a put of a new key (or an insert) publishes `value_put` before `key_created`;
* `events-rename`   `value_put`'s payload names the value `new_value` instead of `value`.
* `events-before-commit` with `--nats`: a write publishes its events inside its transaction,
                    then waits 20 ms before committing.

Events: it declares `"events": true` and every `execute` answer carries the events the
request published, in order (`[]`: none), as the reference `memory` target publishes them:
a successful write publishes `key_created {"key"}` when it made the key (a put of a new key,
an insert), then `value_put {"key", "value"}` (put, insert), `value_deleted {"key"}` (delete)
or `value_stamped {"key", "value"}` (stamp). Reads and refused writes publish none.
"""

import argparse
import datetime
import json
import os
import secrets
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = "kv-sqlite"
DOMAIN = "kv"
PROTOCOL = 1
KEYED_OPS = {"get", "put", "insert", "delete", "stamp"}
MAX_COUNT = 2**64 - 1  # scan's limit is an unsigned 64-bit count in the reference
DEFECTS = {"scan-order", "not-found-null", "drop-tags", "die-after", "garbage-after", "hang-after", "keys-skip", "die-after-dumps", "hang-after-dumps", "events-before-commit"}
EVENT_DEFECTS = {"events-forget", "events-swap", "events-rename"}
MAX_LIMIT = 2**63 - 1  # sqlite's LIMIT is a signed 64-bit integer


def log(text):
    print(f"{NAME}: {text}", file=sys.stderr, flush=True)


# --- JSON that keeps numbers exact --------------------------------------------------------


def from_json(text):
    """Decodes JSON text; numbers with a fraction or an exponent become Decimal, exactly."""
    return json.loads(text, parse_float=Decimal)


def to_json(value):
    """Encodes a decoded value as compact JSON text, Decimal numbers with their own digits."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        members = (json.dumps(str(k)) + ":" + to_json(v) for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(to_json, value)) + "]"
    return json.dumps(value)


# --- The repository (stands for the team's class) -----------------------------------------


class KvError(Exception):
    """What the repository refuses: answered as an `error` outcome, never as a failure."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


class KvRepository:
    """A key-value store over sqlite3. Every method holds one lock: one connection, many threads."""

    def __init__(self, path=":memory:"):
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        self.reads, self.read_lock = self.db, self.lock  # `load`'s connection: see open_reader
        self.inside = lambda key: None  # called inside a write's transaction, before its commit
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def open_reader(self):
        """`load` on a connection of its own in WAL mode: the last commit, never waiting for a write."""
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
        self.reads, self.read_lock = sqlite3.connect(self.path, check_same_thread=False), threading.Lock()

    def _row(self, key):
        return self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()

    def get(self, key):
        with self.lock:
            row = self._row(key)
        if row is None:
            raise KvError("not_found", f"no value at {key}")
        return from_json(row[0])

    def load(self, key):
        """The stored value, or None when nothing is stored (the `dump` answer)."""
        with self.read_lock:
            row = self.reads.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else from_json(row[0])

    def put(self, key, value):
        """Stores value under key; True when the key was new."""
        with self.lock, self.db:
            created = self._row(key) is None
            self.db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, to_json(value)))
            self.inside(key)
        return created

    def insert(self, key, value):
        try:
            with self.lock, self.db:
                self.db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (key, to_json(value)))
                self.inside(key)
        except sqlite3.IntegrityError:
            raise KvError("conflict", f"{key} exists") from None

    def delete(self, key):
        with self.lock, self.db:
            deleted = self.db.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount
            if deleted:
                self.inside(key)
        if deleted == 0:
            raise KvError("not_found", f"no value at {key}")

    def scan(self, prefix="", limit=None):
        """[(key, value)] of the keys starting with prefix, in key order, at most limit of them.

        The keys with a prefix are the run of keys that starts at the first key >= prefix."""
        sql_limit = -1 if limit is None or limit > 2**63 - 1 else limit
        items = []
        with self.lock:
            rows = self.db.execute(
                "SELECT key, value FROM kv WHERE key >= ? ORDER BY key LIMIT ?", (prefix, sql_limit)
            )
            for key, value in rows:
                if not key.startswith(prefix):
                    break
                items.append((key, from_json(value)))
        return items

    def keys(self, after, limit):
        """Up to limit keys after `after` (None: from the first), in key order (bytewise)."""
        with self.lock:
            if after is None:
                rows = self.db.execute("SELECT key FROM kv ORDER BY key LIMIT ?", (limit,))
            else:
                rows = self.db.execute("SELECT key FROM kv WHERE key > ? ORDER BY key LIMIT ?", (after, limit))
            return [key for (key,) in rows]

    def stamp(self, key, value):
        """Stores and returns {"id": generated, "at": now, "value": value}."""
        now = datetime.datetime.now(datetime.timezone.utc)
        stamped = {"id": secrets.token_hex(8), "at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "value": value}
        self.put(key, stamped)
        return stamped

    def clear(self):
        with self.lock, self.db:
            self.db.execute("DELETE FROM kv")

    def close(self):
        self.db.close()


# --- Planted defects ----------------------------------------------------------------------


class Defect:
    """The defect KV_DEFECT plants (see the top of this file); a blank one plants nothing."""

    def __init__(self, spec):
        name, _, count = (spec or "").partition("=")
        if name and name not in DEFECTS | EVENT_DEFECTS:
            raise ValueError(f"unknown KV_DEFECT `{spec}`; known: {', '.join(sorted(DEFECTS | EVENT_DEFECTS))}")
        if name.endswith("-after") and not count.isdigit():
            raise ValueError(f"KV_DEFECT `{spec}` needs a count: {name}=N")
        self.name = name
        self.count = int(count or 0)
        self.received = 0  # execute messages received
        self.dumps = 0  # dump messages received
        self.answered = 0  # execute answers written (or replaced)
        self.hanging = False
        self.lock = threading.Lock()

    def on_execute(self):
        """Called as an execute message arrives: die-after kills the process."""
        with self.lock:
            self.received += 1
            if self.name == "die-after" and self.received > self.count:
                log(f"KV_DEFECT die-after={self.count}: killing myself")
                os.kill(os.getpid(), signal.SIGKILL)

    def on_dump(self):
        """Called as a dump message arrives: die-after-dumps kills the process."""
        with self.lock:
            self.dumps += 1
            if self.name == "die-after-dumps" and self.dumps > self.count:
                log(f"KV_DEFECT die-after-dumps={self.count}: killing myself")
                os.kill(os.getpid(), signal.SIGKILL)
            if self.name == "hang-after-dumps" and self.dumps > self.count:
                self.hanging = True

    def answer_text(self, text, is_execute):
        """The text to send for an answer: its own, garbage, or None to answer nothing."""
        with self.lock:
            if self.hanging:
                return None
            if not is_execute:
                return text
            if self.name == "hang-after" and self.answered >= self.count:
                self.hanging = True
                return None
            self.answered += 1
            if self.name == "garbage-after" and self.answered == self.count + 1:
                return "this is not json"
            return text


def without_tags(value):
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "tags"}
    return value


# --- Events: what a request published (supports.events) ---------------------------------


def event(name, payload):
    return {"name": name, "payload": payload}


def published(request, answer):
    """The events of a request answered `answer` (its `ok` value), in order."""
    op, key, args = request.get("op"), request.get("key"), request.get("args")
    args = args if isinstance(args, dict) else {}
    created = op == "insert" or (op == "put" and answer["created"])
    events = [event("key_created", {"key": key})] if created else []
    if op in ("put", "insert"):
        events.append(event("value_put", {"key": key, "value": args.get("value")}))
    elif op == "delete":
        events.append(event("value_deleted", {"key": key}))
    elif op == "stamp":
        events.append(event("value_stamped", {"key": key, "value": args.get("value")}))
    return events


def planted_events(defect, events):
    """The events as an `events-*` defect changes them."""
    if defect == "events-forget":
        return [e for e in events if e["name"] != "value_deleted"]
    if defect == "events-swap":
        return events[::-1]
    if defect == "events-rename":
        renamed = lambda p: {("new_value" if k == "value" else k): v for k, v in p.items()}
        return [event(e["name"], renamed(e["payload"])) if e["name"] == "value_put" else e for e in events]
    return events


def with_events(answer, request, defect):
    """An execute answer with its `events`: none unless a write succeeded."""
    outcome = answer.get("outcome", {})
    write = request.get("kind") == "write" and "ok" in outcome
    events = published(request, outcome["ok"]) if write else []
    return {**answer, "events": planted_events(defect, events)}
# --- Events published to NATS ------------------------------------------------------------

EVENT_NAMES = {"put": "value_put", "insert": "value_inserted", "delete": "value_deleted", "stamp": "value_stamped"}


def events_of(request):
    """[(name, payload)] a write publishes when it succeeds."""
    name = EVENT_NAMES.get(request.get("op"))
    if name is None:
        return []
    args = request.get("args") if isinstance(request.get("args"), dict) else {}
    payload = {"key": request.get("key")}
    if request.get("op") != "delete":
        payload["value"] = args.get("value")
    return [(name, payload)]


class Nats:
    """A NATS publisher in a few lines of its protocol: CONNECT, PUB, and PING/PONG to flush."""

    def __init__(self, url):
        address, _, self.prefix = url.removeprefix("nats://").partition("/")
        host, _, port = address.rpartition(":")
        if not url.startswith("nats://") or not self.prefix or not port.isdigit():
            raise ValueError(f"--nats `{url}`: expected nats://HOST:PORT/PREFIX")
        self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=5)
        self.reader = self.sock.makefile("rb")
        self.lock = threading.Lock()
        with self.lock:
            self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"kv.py"}\r\nPING\r\n')
            self.pong()

    def publish(self, events):
        """Publishes [(name, payload)] on PREFIX.name, returning once the server has them."""
        data = b""
        for name, payload in events:
            body = to_json(payload).encode()
            data += f"PUB {self.prefix}.{name} {len(body)}\r\n".encode() + body + b"\r\n"
        with self.lock:
            self.sock.sendall(data + b"PING\r\n")
            self.pong()

    def pong(self):
        """Reads up to the server's PONG, answering its PINGs."""
        while True:
            line = self.reader.readline()
            if not line:
                raise ConnectionError("the NATS server closed the connection")
            if line.startswith(b"PONG"):
                return
            if line.startswith(b"PING"):
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise ConnectionError(f"NATS: {line.decode().strip()}")


class Publishing:
    """Each successful write's events published: after its commit, or, with the defect
    `events-before-commit`, inside its transaction 20 ms before the commit."""

    def __init__(self, nats, repo, before_commit):
        self.nats = nats
        self.pending = threading.local()  # the events of the request on this thread
        if before_commit:
            repo.inside = self.inside

    def execute(self, apply, request):
        self.pending.events = events_of(request)
        try:
            result = apply(request)
        finally:
            events, self.pending.events = self.pending.events, []
        if events:
            self.nats.publish(events)
        return result

    def inside(self, key):
        events, self.pending.events = getattr(self.pending, "events", []), []
        if events:
            self.nats.publish(events)
            time.sleep(0.02)


# --- The adapter: protocol messages onto the repository -----------------------------------


def invalid(message):
    return KvError("invalid", message)


def scan_args(args):
    """(prefix, limit) from scan's args, as the reference checks them."""
    prefix = args.get("prefix")
    if prefix is None:
        prefix = ""
    elif not isinstance(prefix, str):
        raise invalid("scan args.prefix must be a string")
    limit = args.get("limit")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_COUNT:
            raise invalid("scan args.limit must be a count")
    return prefix, limit


class Adapter:
    def __init__(self, repo, defect, concurrency, publishing=None):
        self.repo = repo
        self.defect = defect
        self.concurrency = concurrency
        self.publishing = publishing

    def handle(self, message):
        """The answer to one message, without its id."""
        kind = message.get("type")
        try:
            if kind == "hello":
                supports = {"reset": True, "dump": True, "concurrency": self.concurrency, "keys": True, "dump_batch": True, "events": True}
                hello = {"protocol": PROTOCOL, "name": NAME, "domain": DOMAIN, "supports": supports}
                return {**hello, "key_order": "bytes"}
            if kind == "reset":
                self.repo.clear()
                return {"ok": True}
            if kind == "execute":
                self.defect.on_execute()
                answer = self.execute(message.get("request"))
                return answer if "failure" in answer else with_events(answer, message["request"], self.defect.name)
            if kind == "dump":
                self.defect.on_dump()
            if kind == "dump" and "keys" in message:
                return self.dump_batch(message["keys"])
            if kind == "dump":
                return self.dump(message.get("key"))
            if kind == "keys":
                return self.keys(message.get("after"), message.get("limit"))
            return {"failure": f"unknown message type {kind}"}
        except Exception as e:  # the store failed (sqlite error, a bug): not the repository's answer
            log(f"{kind} failed: {e!r}")
            return {"failure": f"{type(e).__name__}: {e}"}

    def dump(self, key):
        if not isinstance(key, str):
            return {"failure": "dump needs a key"}
        return {"state": self.repo.load(key)}

    def dump_batch(self, keys):
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return {"failure": "dump needs `keys`: an array of strings"}
        return {"states": [{"state": self.repo.load(key)} for key in keys]}

    def keys(self, after, limit):
        if after is not None and not isinstance(after, str):
            return {"failure": "keys needs `after`: a key or null"}
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            return {"failure": "keys needs `limit`: a count"}
        if self.defect.name != "keys-skip":
            return {"keys": self.repo.keys(after, limit)}
        skipped = self.repo.keys(None, 2)[1:]
        page = [k for k in self.repo.keys(after, min(limit + 1, MAX_LIMIT)) if k not in skipped]
        return {"keys": page[:limit]}

    def execute(self, request):
        if not isinstance(request, dict):
            return {"failure": "execute needs a request"}
        try:
            return {"outcome": {"ok": self.published(request)}}
        except KvError as e:
            return {"outcome": {"error": {"kind": e.kind, "message": e.message}}}

    def published(self, request):
        """apply, with the write's events published when --nats is given."""
        if self.publishing is None:
            return self.apply(request)
        return self.publishing.execute(self.apply, request)

    def apply(self, request):
        """The repository's answer to one request, in the reference's order of checks."""
        op, key = request.get("op"), request.get("key")
        args = request.get("args")
        args = args if isinstance(args, dict) else {}
        if op == "scan":
            if key is not None:
                raise invalid("scan takes no key")
            return self.scan(args)
        if op not in KEYED_OPS:
            raise KvError("unsupported", f"unknown operation `{op}`")
        if key is None:
            raise invalid(f"{op} needs a key")
        if not isinstance(key, str):
            raise invalid(f"{op} needs a string key")
        return getattr(self, "op_" + op)(key, args)

    def op_get(self, key, args):
        try:
            return self.repo.get(key)
        except KvError as e:
            if e.kind == "not_found" and self.defect.name == "not-found-null":
                return None
            raise

    def op_put(self, key, args):
        if "value" not in args:
            raise invalid("put needs args.value")
        return {"created": self.repo.put(key, self.stored(args["value"]))}

    def op_insert(self, key, args):
        if "value" not in args:
            raise invalid("insert needs args.value")
        self.repo.insert(key, self.stored(args["value"]))
        return None

    def op_delete(self, key, args):
        self.repo.delete(key)
        return None

    def op_stamp(self, key, args):
        return self.repo.stamp(key, args.get("value"))

    def scan(self, args):
        items = [{"key": k, "value": v} for k, v in self.repo.scan(*scan_args(args))]
        if self.defect.name == "scan-order":
            items.reverse()
        return items

    def stored(self, value):
        return without_tags(value) if self.defect.name == "drop-tags" else value


# --- Transports ---------------------------------------------------------------------------


def serve_stdio(adapter, threaded=False):
    """JSON Lines on stdin/stdout, one message at a time (threaded: a thread each); returns
    when stdin closes."""
    log("serving protocol 1 on stdin/stdout")
    out = sys.stdout.buffer
    lock = threading.Lock()
    for line in sys.stdin.buffer:
        if threaded:
            threading.Thread(target=answer_line, args=(adapter, line, out, lock), daemon=True).start()
        else:
            answer_line(adapter, line, out, lock)
    log("stdin closed, exiting")


def answer_line(adapter, line, out, lock):
    """Answers one line of stdin on stdout."""
    if not line.strip():
        return
    try:
        message = from_json(line)
        ident = message["id"]
    except (ValueError, TypeError, KeyError):
        log(f"ignoring a line that is not a message: {line[:200]!r}")
        return
    answer = {"id": ident, **adapter.handle(message)}
    text = adapter.defect.answer_text(to_json(answer), message.get("type") == "execute")
    if text is not None:
        with lock:
            out.write(text.encode() + b"\n")
            out.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # several exchanges connect at once


class Handler(BaseHTTPRequestHandler):
    """POST URL/hello, URL/reset, URL/execute, URL/dump, URL/keys: the message is the body."""

    protocol_version = "HTTP/1.1"  # keep-alive: cutover reuses its connections
    adapter = None  # set by serve_http
    ENDPOINTS = {"hello", "reset", "execute", "dump", "keys"}

    def do_POST(self):
        endpoint = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        if endpoint not in self.ENDPOINTS:
            return self.reply(404, to_json({"failure": f"no endpoint {self.path}"}))
        if "Content-Length" not in self.headers and "Transfer-Encoding" in self.headers:
            return self.reply(411, to_json({"failure": "send a Content-Length"}))
        try:
            body = from_json(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            message = {**body, "type": endpoint}
        except (ValueError, TypeError) as e:
            return self.reply(400, to_json({"failure": f"bad body: {e}"}))
        answer = to_json(self.adapter.handle(message))
        text = self.adapter.defect.answer_text(answer, endpoint == "execute")
        if text is None:
            threading.Event().wait()  # hang-after: never answer
        self.reply(200, text)

    def reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # no line per exchange; errors are logged by Adapter.handle


def serve_http(adapter, port):
    """Serves the http: endpoints until SIGTERM or Ctrl-C."""
    Handler.adapter = adapter
    server = Server(("127.0.0.1", port), Handler)
    port = server.server_address[1]
    print(f"listening on {port}", flush=True)
    log(f"serving protocol 1 on http://127.0.0.1:{port}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def open_store(options, defect):
    """The repository, and with --nats its publishing and a reader of the last commit."""
    if options.nats is None:
        return KvRepository(options.db), None
    path = options.db
    if path == ":memory:":  # WAL needs a file: one that goes with the process
        path = os.path.join(tempfile.mkdtemp(prefix="kv-"), "kv.sqlite")
    repo = KvRepository(path)
    repo.open_reader()
    nats = Nats(options.nats)
    return repo, Publishing(nats, repo, defect.name == "events-before-commit")


def main():
    parser = argparse.ArgumentParser(description="cutover adapter for the kv domain over sqlite3")
    parser.add_argument("--db", default=":memory:", help="sqlite file (default: in memory)")
    parser.add_argument("--http", type=int, metavar="PORT", help="serve http: on PORT (0: any free port)")
    parser.add_argument("--nats", metavar="URL", help="publish each write's events to nats://HOST:PORT/PREFIX")
    options = parser.parse_args()
    try:
        defect = Defect(os.environ.get("KV_DEFECT"))
    except ValueError as e:
        log(str(e))
        return 2
    if defect.name:
        log(f"planted defect: {os.environ['KV_DEFECT']}")
    try:
        repo, publishing = open_store(options, defect)
    except (ValueError, OSError) as e:
        log(str(e))
        return 2
    try:
        if options.http is None:
            concurrency = 1 if publishing is None else 32
            serve_stdio(Adapter(repo, defect, concurrency, publishing), threaded=concurrency > 1)
        else:
            serve_http(Adapter(repo, defect, concurrency=8, publishing=publishing), options.http)
    except BrokenPipeError:
        log("stdout closed, exiting")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
    finally:
        repo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
