#!/usr/bin/env python3
"""A cutover adapter for the `tasks` domain: protocol 1, JSON Lines on stdin/stdout (exec:).

    python3 adapter.py --store sqlite [--db PATH]          # the legacy (default: a temp file)
    VENV_PY adapter.py --store postgres --url URL           # the new store (VENV_PY: setup.sh)
    ... --declare                                           # hello carries domain.toml's text
    ... --id-start 1000                                     # postgres: ids from 1000, unlike the legacy's

It answers one message at a time, in order (`"concurrency": 1`), and exits when stdin closes.
stdout carries only answers; stderr is the log.

How requests map onto the repository (tasks.py):

* `create_task` is keyless (`key` null): its answer is the new task, whose `id` the store chose;
* `get_task`, `complete_task`, `reopen_task`, `rename_task`, `delete_task` take the task id from
  the request's `key`, the id as decimal text ("3"); a key that is not such text names nothing
  stored (`not_found`);
* `list_tasks` and `count_tasks` are keyless;
* `dump` of a key answers the task, as `get_task` does, or null; `dump` with `keys` answers
  each of them in one message;
* `keys` pages through the stored ids in ascending order (`"key_order": "integer"`: "9"
  comes before "10"), as decimal text.

The repository's refusals are `error` outcomes (not_found, conflict, invalid); an unknown
operation is `unsupported`; a store that fails (connection lost, a bug) answers a `failure`.
For PostgreSQL, the database at URL must exist (UTF8); the table `tasks` is created if missing
and `reset` empties that table alone.

TASKS_DEFECT=NAME plants a defect: one of tasks.py's PostgreSQL defects (with `--store postgres`
only), or the adapter's own conformance defect, on either store:

* `list-unordered`  list_tasks answers its page in id-descending order, not the declared one.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from tasks import PG_DEFECTS, Invalid, NotFound, SqliteTasks, TaskError

DOMAIN = "tasks"
PROTOCOL = 1
DECLARATION = Path(__file__).with_name("domain.toml")
ADAPTER_DEFECTS = {"list-unordered"}
KEYED_OPS = {"get_task", "complete_task", "reopen_task", "rename_task", "delete_task"}
KEYLESS_OPS = {"create_task", "list_tasks", "count_tasks"}
ID_KEY = re.compile(r"[1-9][0-9]{0,18}")
INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
INT64 = (-(2**63), 2**63 - 1)

NAME = "tasks"  # set by main: tasks-sqlite or tasks-postgres


def log(text):
    print(f"{NAME}: {text}", file=sys.stderr, flush=True)


def from_json(text):
    """Decodes JSON text; numbers with a fraction or an exponent become Decimal, exactly."""
    return json.loads(text, parse_float=Decimal)


def to_json(value):
    """Compact JSON text (ASCII, so any text the repository echoes can be written)."""
    return json.dumps(value, separators=(",", ":"), default=str)


class Unsupported(TaskError):
    """An operation the domain does not have."""

    kind = "unsupported"


def key_id(key):
    """The task id a key names, or None when it is not an id's decimal text."""
    if isinstance(key, str) and ID_KEY.fullmatch(key):
        return int(key)
    return None


class Adapter:
    """Protocol messages onto a `Tasks` repository."""

    def __init__(self, repo, name, defect="", declaration=None):
        self.repo = repo
        self.name = name
        self.defect = defect
        self.declaration = declaration

    def handle(self, message):
        """The answer to one message, without its id."""
        kind = message.get("type")
        try:
            if kind == "hello":
                return self.hello()
            if kind == "reset":
                self.repo.reset()
                return {"ok": True}
            if kind == "execute":
                return self.execute(message.get("request"))
            if kind == "dump" and "keys" in message:
                return self.dump_batch(message["keys"])
            if kind == "dump":
                return self.dump(message.get("key"))
            if kind == "keys":
                return self.keys(message.get("after"), message.get("limit"))
            return {"failure": f"unknown message type {kind}"}
        except Exception as e:  # the store failed: not the repository's answer
            log(f"{kind} failed: {e!r}")
            return {"failure": f"{type(e).__name__}: {e}"}

    def hello(self):
        supports = {"reset": True, "dump": True, "concurrency": 1, "keys": True, "dump_batch": True}
        answer = {"protocol": PROTOCOL, "name": self.name, "domain": DOMAIN, "supports": supports}
        answer["key_order"] = "integer"
        if self.declaration is not None:
            answer["declaration"] = self.declaration
        return answer

    def dump(self, key):
        if not isinstance(key, str):
            return {"failure": "dump needs a key"}
        return {"state": self.load(key)}

    def load(self, key):
        id = key_id(key)
        return None if id is None else self.repo.load(id)

    def dump_batch(self, keys):
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return {"failure": "dump needs `keys`: an array of strings"}
        return {"states": [{"state": self.load(key)} for key in keys]}

    def keys(self, after, limit):
        """A page of ids as keys, after the integer `after` (null: from the first)."""
        if after is not None and not (isinstance(after, str) and INTEGER.fullmatch(after)):
            return {"failure": f"keys needs `after`: a decimal integer or null, not {after!r}"}
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            return {"failure": "keys needs `limit`: a count"}
        low = INT64[0] if after is None else max(int(after), INT64[0])
        if low >= INT64[1]:
            return {"keys": []}
        return {"keys": [str(id) for id in self.repo.ids(low, min(limit, INT64[1]))]}

    def execute(self, request):
        if not isinstance(request, dict):
            return {"failure": "execute needs a request"}
        try:
            return {"outcome": {"ok": self.apply(request)}}
        except TaskError as e:
            return {"outcome": {"error": {"kind": e.kind, "message": e.message}}}

    def apply(self, request):
        """The repository's answer to one request."""
        op, key = request.get("op"), request.get("key")
        args = request.get("args")
        if not isinstance(args, dict):
            raise Invalid("args must be an object")
        if op in KEYLESS_OPS:
            if key is not None:
                raise Invalid(f"{op} takes no key")
            return getattr(self, "op_" + op)(args)
        if op in KEYED_OPS:
            if not isinstance(key, str):
                raise Invalid(f"{op} needs a key")
            id = key_id(key)
            if id is None:
                raise NotFound(f"no task {key}")
            return getattr(self, "op_" + op)(id, args)
        raise Unsupported(f"unknown operation `{op}`")

    def op_create_task(self, args):
        return self.repo.create_task(args.get("project"), args.get("title"), args.get("priority"), args.get("due"))

    def op_get_task(self, id, args):
        return self.repo.get_task(id)

    def op_complete_task(self, id, args):
        return self.repo.complete_task(id)

    def op_reopen_task(self, id, args):
        return self.repo.reopen_task(id)

    def op_rename_task(self, id, args):
        return self.repo.rename_task(id, args.get("title"))

    def op_delete_task(self, id, args):
        self.repo.delete_task(id)
        return None

    def op_list_tasks(self, args):
        offset = args.get("offset")
        page = self.repo.list_tasks(
            args.get("project"),
            search=args.get("search"),
            due_from=args.get("due_from"),
            due_to=args.get("due_to"),
            limit=args.get("limit"),
            offset=0 if offset is None else offset,
        )
        if self.defect == "list-unordered":
            page.sort(key=lambda t: t["id"], reverse=True)
        return page

    def op_count_tasks(self, args):
        return self.repo.count_tasks(args.get("project"))


def serve_stdio(adapter):
    """JSON Lines on stdin/stdout, one message at a time; returns when stdin closes."""
    log("serving protocol 1 on stdin/stdout")
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            message = from_json(line)
            ident = message["id"]
        except (ValueError, TypeError, KeyError):
            log(f"ignoring a line that is not a message: {line[:200]!r}")
            continue
        out.write(to_json({"id": ident, **adapter.handle(message)}).encode() + b"\n")
        out.flush()
    log("stdin closed, exiting")


def open_repo(options, defect):
    """(repository, name, cleanup) for the store the options name."""
    if options.store == "sqlite":
        if defect in PG_DEFECTS:
            raise ValueError(f"TASKS_DEFECT={defect} is a defect of the PostgreSQL store")
        if options.db:
            return SqliteTasks(options.db), "tasks-sqlite", lambda: None
        folder = tempfile.mkdtemp(prefix="tasks-sqlite-")
        return SqliteTasks(os.path.join(folder, "tasks.db")), "tasks-sqlite", lambda: shutil.rmtree(folder)
    if not options.url:
        raise ValueError("--store postgres needs --url")
    try:
        from tasks import PostgresTasks
        import psycopg  # noqa: F401  (PostgresTasks imports it when opened)
    except ImportError:
        raise ValueError("psycopg is not installed here: run examples/tasks/setup.sh and use the python it prints")

    repo_defect = defect if defect in PG_DEFECTS else ""
    return PostgresTasks(options.url, defect=repo_defect, id_start=options.id_start), "tasks-postgres", lambda: None


def main():
    global NAME
    parser = argparse.ArgumentParser(description="cutover adapter for the tasks domain")
    parser.add_argument("--store", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--db", help="sqlite: the database file (default: a temp file, removed at exit)")
    parser.add_argument("--url", help="postgres: the database URL, e.g. postgres://postgres@127.0.0.1:5432/tasks")
    parser.add_argument("--declare", action="store_true", help="send domain.toml in the hello answer")
    parser.add_argument("--id-start", type=int, default=1, help="postgres: number new tasks from this id after each reset")
    options = parser.parse_args()
    NAME = f"tasks-{options.store}"
    defect = os.environ.get("TASKS_DEFECT", "")
    if defect and defect not in PG_DEFECTS | ADAPTER_DEFECTS:
        log(f"unknown TASKS_DEFECT `{defect}`; known: {', '.join(sorted(PG_DEFECTS | ADAPTER_DEFECTS))}")
        return 2
    try:
        repo, NAME, cleanup = open_repo(options, defect)
    except ValueError as e:
        log(str(e))
        return 2
    except Exception as e:  # the database is unreachable, does not exist, is not UTF8
        log(f"cannot open the store: {type(e).__name__}: {e}")
        return 2
    if defect:
        log(f"planted defect: {defect}")
    declaration = DECLARATION.read_text(encoding="utf-8") if options.declare else None
    try:
        serve_stdio(Adapter(repo, NAME, defect, declaration))
    except BrokenPipeError:
        log("stdout closed, exiting")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
    finally:
        repo.close()
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
