"""A small task repository, implemented twice: the legacy over SQLite, the new one over PostgreSQL.

`SqliteTasks` (standard library `sqlite3`) is the legacy: its behaviour is the reference.
`PostgresTasks` (psycopg 3, installed by `setup.sh`) is the migration, and must answer exactly
as the legacy does on every input. Both implement `Tasks`:

    create_task(project, title, priority, due=None) -> task      # the store generates the id
    get_task(id) -> task                                          # NotFound
    complete_task(id) -> task                                     # NotFound, Conflict if done
    reopen_task(id) -> task                                       # NotFound, Conflict if not done
    rename_task(id, title) -> task                                # NotFound, Invalid (empty title)
    delete_task(id) -> None                                       # NotFound
    list_tasks(project, search=None, due_from=None, due_to=None, limit=..., offset=0) -> [task]
    count_tasks(project) -> {"count": n}
    load(id) -> task | None                                       # the stored state, for dump
    reset()                                                       # empty the store, ids from 1

A task is `{"id": int, "project": str, "title": str, "priority": str, "due": str | None,
"done": bool}`; `due` is RFC 3339 UTC text with milliseconds (`2026-03-01T10:00:00.000Z`).

The legacy's rules, which the new store keeps:

* arguments are checked before the store is touched (`Invalid`): text must be a string without
  U+0000 or lone surrogates (neither store can hold them alike); a title must not be empty
  (it is not trimmed: " x " is stored as given); priority is one of low, normal, high;
  timestamps are RFC 3339 with at most millisecond precision (more digits must be zeros);
  limit and offset are integers from 0 to 2^63 - 1;
* text is stored exactly as given: no trimming, no Unicode normalization;
* `search` matches a title containing it, ASCII letters folded to lower case and every other
  character compared exactly (SQLite's LIKE); `%`, `_` and `\\` in it are literal; a search
  longer than SQLite's LIKE pattern limit (50,000 bytes once escaped) is `Invalid`;
* `due_from` and `due_to` are inclusive; a task without a due date matches neither;
* lists are ordered by due date, tasks without one first, then by id; `limit` 0 answers an
  empty list, an offset past the end an empty list;
* ids start at 1 after `reset` and are never reused after a delete.

Planted defects of `PostgresTasks` (`defect=NAME`, the adapter passes `TASKS_DEFECT`), each a
migration bug at an edge:

* `bound-exclusive`         due_to is exclusive (`<` instead of `<=`);
* `like-unescaped`          `%` and `_` in a search act as wildcards;
* `case-sensitive-search`   a search is case-sensitive;
* `offset-past-end-error`   an offset past the end raises Invalid instead of an empty list;
* `complete-twice-ok`       completing a done task succeeds;
* `invalid-priority-accepted` any priority text is stored;
* `limit-zero-all`          limit 0 answers every task;
* `title-trimmed`           titles are stored stripped of surrounding whitespace;
* `nulls-last`              tasks without a due date sort last (PostgreSQL's default);
* `create-drops-due`        a create answers the due date it was given but stores none.

`PostgresTasks(url, id_start=N)` numbers new tasks from N after each reset, as a new store
whose sequence continues past the legacy's ids would: the ids differ on every task, and a
replay pairs them with the recorded ones (docs/src/cassette.md, generated keys).
"""

import datetime
import re
import sqlite3

PRIORITIES = ("low", "normal", "high")
MAX_BIGINT = 2**63 - 1
LIKE_PATTERN_LIMIT = 50_000  # SQLITE_MAX_LIKE_PATTERN_LENGTH, in bytes
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
ASCII_FOLD = str.maketrans(UPPER, LOWER)
PG_DEFECTS = {
    "bound-exclusive",
    "like-unescaped",
    "case-sensitive-search",
    "offset-past-end-error",
    "complete-twice-ok",
    "invalid-priority-accepted",
    "limit-zero-all",
    "title-trimmed",
    "nulls-last",
    "create-drops-due",
}


# --- Errors -------------------------------------------------------------------------------


class TaskError(Exception):
    """What the repository refuses; `kind` is the cassette's error kind."""

    kind = "internal"

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NotFound(TaskError):
    kind = "not_found"


class Conflict(TaskError):
    kind = "conflict"


class Invalid(TaskError):
    kind = "invalid"


# --- Argument checks, shared by both stores -----------------------------------------------


def check_text(name, value):
    """value, if it is text both stores hold alike; Invalid otherwise."""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    if "\0" in value:
        raise Invalid(f"{name} must not contain U+0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{name} must be valid Unicode (no lone surrogates)") from None
    return value


def check_title(value):
    """A title: text, not empty. Not trimmed."""
    check_text("title", value)
    if value == "":
        raise Invalid("title must not be empty")
    return value


def check_priority(value, any_text=False):
    """One of PRIORITIES (any text with the invalid-priority-accepted defect)."""
    check_text("priority", value)
    if not any_text and value not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}, not {value!r}")
    return value


def check_count(name, value):
    """A count from 0 to 2^63 - 1 (booleans are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if not 0 <= value <= MAX_BIGINT:
        raise Invalid(f"{name} must be from 0 to {MAX_BIGINT}")
    return value


def check_id(value):
    """A task id: an integer; NotFound beyond 64 bits, where no store holds one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("id must be an integer")
    if not -MAX_BIGINT - 1 <= value <= MAX_BIGINT:
        raise NotFound(f"no task {value}")
    return value


RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def parse_timestamp(name, value):
    """An aware UTC datetime at millisecond precision from RFC 3339 text; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be RFC 3339 text")
    match = RFC3339.fullmatch(value)
    if not match:
        raise Invalid(f"{name} must be RFC 3339 text, not {value!r}")
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    fraction = fraction or ""
    if fraction[3:].strip("0"):
        raise Invalid(f"{name} has more than millisecond precision")
    millis = int((fraction + "000")[:3])
    try:
        offset = datetime.timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        if offset >= datetime.timedelta(days=1):
            raise ValueError("offset out of range")
        zone = datetime.timezone(-offset if sign == "-" else offset)
        local = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), millis * 1000, zone
        )
        utc = local.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):
        raise Invalid(f"{name} is not a valid time: {value!r}") from None
    return utc


def format_timestamp(moment):
    """The canonical text of an aware datetime: UTC, milliseconds, `Z`, a 4-digit year."""
    if moment is None:
        return None
    t = moment.astimezone(datetime.timezone.utc)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond // 1000:03d}Z"
    )


def canonical_timestamp(name, value):
    """RFC 3339 text in its canonical form (what SQLite stores and compares), or None."""
    return format_timestamp(parse_timestamp(name, value))


def ascii_lower(text):
    """text with A-Z folded to a-z and nothing else changed (SQLite's LIKE folding)."""
    return text.translate(ASCII_FOLD)


def like_escape(text):
    """text as a LIKE pattern matching itself: `\\`, `%` and `_` escaped with `\\`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_search(value):
    """A search text (or None); Invalid when SQLite's LIKE would refuse its pattern."""
    if value is None:
        return None
    check_text("search", value)
    if len(("%" + like_escape(value) + "%").encode("utf-8")) > LIKE_PATTERN_LIMIT:
        raise Invalid("search is too long")
    return value


def check_list_args(project, search, due_from, due_to, limit, offset):
    """list_tasks' arguments checked, the bounds in canonical text."""
    check_text("project", project)
    check_search(search)
    check_count("limit", limit)
    check_count("offset", offset)
    return canonical_timestamp("due_from", due_from), canonical_timestamp("due_to", due_to)


# --- The interface ------------------------------------------------------------------------


class Tasks:
    """The repository's interface; `SqliteTasks` and `PostgresTasks` implement it."""

    def create_task(self, project, title, priority, due=None):
        raise NotImplementedError

    def get_task(self, id):
        raise NotImplementedError

    def complete_task(self, id):
        raise NotImplementedError

    def reopen_task(self, id):
        raise NotImplementedError

    def rename_task(self, id, title):
        raise NotImplementedError

    def delete_task(self, id):
        raise NotImplementedError

    def list_tasks(self, project, search=None, due_from=None, due_to=None, *, limit, offset=0):
        raise NotImplementedError

    def count_tasks(self, project):
        raise NotImplementedError

    def ids(self, after, limit):
        """Up to `limit` stored ids greater than `after` (a 64-bit integer), ascending."""
        raise NotImplementedError

    def load(self, id):
        """The stored task, or None (the adapter's `dump`)."""
        try:
            return self.get_task(id)
        except NotFound:
            return None

    def reset(self):
        raise NotImplementedError

    def close(self):
        pass


def task(id, project, title, priority, due, done):
    """A task answer; `due` already canonical text or None."""
    return {"id": id, "project": project, "title": title, "priority": priority, "due": due, "done": bool(done)}


# --- The legacy: SQLite -------------------------------------------------------------------


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    project  TEXT NOT NULL,
    title    TEXT NOT NULL,
    priority TEXT NOT NULL,
    due      TEXT,                      -- canonical RFC 3339 UTC text: sorts as time does
    done     INTEGER NOT NULL DEFAULT 0
)
"""
COLUMNS = "id, project, title, priority, due, done"


class SqliteTasks(Tasks):
    """The legacy repository over one sqlite3 file (":memory:" works too)."""

    def __init__(self, path=":memory:"):
        self.db = sqlite3.connect(path)
        with self.db:
            self.db.execute(SQLITE_SCHEMA)

    def _row(self, id):
        return self.db.execute(f"SELECT {COLUMNS} FROM tasks WHERE id = ?", (id,)).fetchone()

    def _existing(self, id):
        row = self._row(check_id(id))
        if row is None:
            raise NotFound(f"no task {id}")
        return task(*row)

    def create_task(self, project, title, priority, due=None):
        check_text("project", project)
        check_title(title)
        check_priority(priority)
        due = canonical_timestamp("due", due)
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO tasks (project, title, priority, due) VALUES (?, ?, ?, ?)",
                (project, title, priority, due),
            )
        return task(cursor.lastrowid, project, title, priority, due, False)

    def get_task(self, id):
        return self._existing(id)

    def _set_done(self, id, done):
        with self.db:
            current = self._existing(id)
            if current["done"] == done:
                raise Conflict(f"task {id} is {'already done' if done else 'not done'}")
            self.db.execute("UPDATE tasks SET done = ? WHERE id = ?", (int(done), id))
        return {**current, "done": done}

    def complete_task(self, id):
        return self._set_done(id, True)

    def reopen_task(self, id):
        return self._set_done(id, False)

    def rename_task(self, id, title):
        check_title(title)
        with self.db:
            current = self._existing(id)
            self.db.execute("UPDATE tasks SET title = ? WHERE id = ?", (title, id))
        return {**current, "title": title}

    def delete_task(self, id):
        with self.db:
            if self.db.execute("DELETE FROM tasks WHERE id = ?", (check_id(id),)).rowcount == 0:
                raise NotFound(f"no task {id}")

    def list_tasks(self, project, search=None, due_from=None, due_to=None, *, limit, offset=0):
        due_from, due_to = check_list_args(project, search, due_from, due_to, limit, offset)
        where, params = ["project = ?"], [project]
        if search is not None:
            where.append("title LIKE ? ESCAPE '\\'")
            params.append("%" + like_escape(search) + "%")
        if due_from is not None:
            where.append("due >= ?")
            params.append(due_from)
        if due_to is not None:
            where.append("due <= ?")
            params.append(due_to)
        sql = f"SELECT {COLUMNS} FROM tasks WHERE {' AND '.join(where)} ORDER BY due, id LIMIT ? OFFSET ?"
        return [task(*row) for row in self.db.execute(sql, (*params, limit, offset))]

    def count_tasks(self, project):
        check_text("project", project)
        (count,) = self.db.execute("SELECT count(*) FROM tasks WHERE project = ?", (project,)).fetchone()
        return {"count": count}

    def ids(self, after, limit):
        rows = self.db.execute("SELECT id FROM tasks WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        return [id for (id,) in rows]

    def reset(self):
        with self.db:
            self.db.execute("DELETE FROM tasks")
            self.db.execute("DELETE FROM sqlite_sequence WHERE name = 'tasks'")

    def close(self):
        self.db.close()


# --- The new store: PostgreSQL ------------------------------------------------------------


POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project  text NOT NULL,
    title    text NOT NULL,
    priority text NOT NULL,
    due      timestamptz,
    done     boolean NOT NULL DEFAULT false
)
"""
# A title folded as SQLite's LIKE folds it: ASCII letters only (lower()/ILIKE would fold É too).
PG_FOLDED_TITLE = f"translate(title, '{UPPER}', '{LOWER}')"


class PostgresTasks(Tasks):
    """The new repository over PostgreSQL (one psycopg 3 connection, table `tasks`)."""

    def __init__(self, url, defect="", id_start=1):
        import psycopg  # installed by setup.sh; the legacy needs only the standard library

        if defect and defect not in PG_DEFECTS:
            raise ValueError(f"unknown defect `{defect}`; known: {', '.join(sorted(PG_DEFECTS))}")
        self.defect = defect or ""
        self.id_start = int(id_start)
        self.db = psycopg.connect(url, autocommit=True)
        encoding = self.db.execute("SHOW server_encoding").fetchone()[0]
        if encoding != "UTF8":
            raise RuntimeError(f"the database's encoding is {encoding}; create it with ENCODING 'UTF8'")
        self.db.execute(POSTGRES_SCHEMA)

    def _task(self, row):
        id, project, title, priority, due, done = row
        return task(id, project, title, priority, format_timestamp(due), done)

    def _row(self, id, lock=False):
        sql = f"SELECT {COLUMNS} FROM tasks WHERE id = %s" + (" FOR UPDATE" if lock else "")
        return self.db.execute(sql, (id,)).fetchone()

    def _existing(self, id, lock=False):
        row = self._row(check_id(id), lock)
        if row is None:
            raise NotFound(f"no task {id}")
        return self._task(row)

    def _title(self, title):
        check_title(title)
        return title.strip() if self.defect == "title-trimmed" else title

    def create_task(self, project, title, priority, due=None):
        check_text("project", project)
        title = self._title(title)
        check_priority(priority, any_text=self.defect == "invalid-priority-accepted")
        due = parse_timestamp("due", due)
        stored_due = None if self.defect == "create-drops-due" else due
        row = self.db.execute(
            f"INSERT INTO tasks (project, title, priority, due) VALUES (%s, %s, %s, %s) RETURNING {COLUMNS}",
            (project, title, priority, stored_due),
        ).fetchone()
        if self.defect == "create-drops-due":
            row = (*row[:4], due, row[5])
        return self._task(row)

    def get_task(self, id):
        return self._existing(id)

    def _set_done(self, id, done):
        with self.db.transaction():
            current = self._existing(id, lock=True)
            repeat_ok = done and self.defect == "complete-twice-ok"
            if current["done"] == done and not repeat_ok:
                raise Conflict(f"task {id} is {'already done' if done else 'not done'}")
            self.db.execute("UPDATE tasks SET done = %s WHERE id = %s", (done, id))
        return {**current, "done": done}

    def complete_task(self, id):
        return self._set_done(id, True)

    def reopen_task(self, id):
        return self._set_done(id, False)

    def rename_task(self, id, title):
        title = self._title(title)
        with self.db.transaction():
            current = self._existing(id, lock=True)
            self.db.execute("UPDATE tasks SET title = %s WHERE id = %s", (title, id))
        return {**current, "title": title}

    def delete_task(self, id):
        if self.db.execute("DELETE FROM tasks WHERE id = %s", (check_id(id),)).rowcount == 0:
            raise NotFound(f"no task {id}")

    def _search_condition(self, search):
        """(SQL, parameter) matching titles as SQLite's LIKE does (or as a defect does)."""
        if self.defect == "case-sensitive-search":
            return "title LIKE %s ESCAPE '\\'", "%" + like_escape(search) + "%"
        if self.defect == "like-unescaped":
            return f"{PG_FOLDED_TITLE} LIKE %s ESCAPE '\\'", "%" + ascii_lower(search) + "%"
        return f"{PG_FOLDED_TITLE} LIKE %s ESCAPE '\\'", "%" + like_escape(ascii_lower(search)) + "%"

    def list_tasks(self, project, search=None, due_from=None, due_to=None, *, limit, offset=0):
        check_list_args(project, search, due_from, due_to, limit, offset)
        where, params = ["project = %s"], [project]
        if search is not None:
            condition, pattern = self._search_condition(search)
            where.append(condition)
            params.append(pattern)
        if due_from is not None:
            where.append("due >= %s")
            params.append(parse_timestamp("due_from", due_from))
        if due_to is not None:
            where.append("due < %s" if self.defect == "bound-exclusive" else "due <= %s")
            params.append(parse_timestamp("due_to", due_to))
        nulls = "NULLS LAST" if self.defect == "nulls-last" else "NULLS FIRST"
        where_sql = " AND ".join(where)
        if self.defect == "offset-past-end-error" and offset > 0:
            (matched,) = self.db.execute(f"SELECT count(*) FROM tasks WHERE {where_sql}", params).fetchone()
            if offset >= matched:
                raise Invalid(f"offset {offset} is past the end ({matched} tasks)")
        page = "LIMIT %s OFFSET %s"
        if self.defect == "limit-zero-all" and limit == 0:
            page, limit = "LIMIT ALL OFFSET %s", None
        sql = f"SELECT {COLUMNS} FROM tasks WHERE {where_sql} ORDER BY due ASC {nulls}, id ASC {page}"
        page_params = (offset,) if limit is None else (limit, offset)
        return [self._task(row) for row in self.db.execute(sql, (*params, *page_params))]

    def count_tasks(self, project):
        check_text("project", project)
        (count,) = self.db.execute("SELECT count(*) FROM tasks WHERE project = %s", (project,)).fetchone()
        return {"count": count}

    def ids(self, after, limit):
        rows = self.db.execute("SELECT id FROM tasks WHERE id > %s ORDER BY id LIMIT %s", (after, limit))
        return [id for (id,) in rows]

    def reset(self):
        self.db.execute("TRUNCATE tasks RESTART IDENTITY")
        if self.id_start != 1:
            self.db.execute(f"ALTER TABLE tasks ALTER COLUMN id RESTART WITH {self.id_start}")

    def close(self):
        self.db.close()
