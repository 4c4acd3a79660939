#!/usr/bin/env python3
"""Records a realistic `tasks` cassette by running requests against a fresh legacy store.

    python3 generate.py --seed 1 --requests 300 --out /tmp/tasks-1.jsonl

Every request is run on a new in-memory `SqliteTasks` (the legacy) and written with the
outcome it gave and, after a write with a key, the key's stored state (the task, or null once
deleted). A create is keyless (`key` null); later requests name the task by the id the legacy
answered, as text ("3"). The same seed gives the same cassette, byte for byte: one
`random.Random(seed)`, and `at` times increasing from a fixed base.

The traffic is what a task app's clients do, and like real traffic it stays away from the
edges where a migration goes wrong:

* due dates fall on whole minutes (a quarter of the tasks have none); `due_from` and `due_to`
  are always at :30 seconds, so never equal to a stored due date;
* searches are lower-case pieces of lower-case ASCII words of the titles, never with `%` or
  `_`, and never a piece a capitalised word holds in another case;
* limits are 5, 10 or 20; an offset is 0 or a page start inside the list;
* a task is completed only when open, reopened only when done; priorities are always valid;
  titles never have surrounding whitespace (some have accented words: Zoë, café, naïve);
* the errors clients do meet: reading, completing or renaming a task deleted earlier
  (`not_found`).

Lists without bounds include tasks without a due date, so the order of those (first) is
exercised by the traffic itself.
"""

import argparse
import datetime
import json
import random
import sys

from tasks import SqliteTasks, TaskError, format_timestamp

BASE = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.timezone.utc)
PROJECTS = ["work", "home", "launch-2026", "café"]
VERBS = ["Write", "Fix", "Review", "Call", "Email", "Update", "Check", "Send", "Prepare", "Clean", "Plan"]
NOUNS = [
    "report", "budget", "invoice", "slides", "roadmap", "backlog", "dentist", "menu", "garage",
    "tickets", "contract", "newsletter", "tests", "deploy", "minutes", "offsite", "printer",
]
SUFFIXES = [
    "", "", "", "", " for Zoë", " at the café", " with Ana", " before Friday", " (naïve version)",
    " for Müller", " again", " for the team", " résumé draft",
]
PRIORITY_WEIGHTS = {"low": 2, "normal": 5, "high": 2}
SEARCHES = sorted({word for noun in NOUNS for word in (noun, noun[:3], noun[:4], noun[1:5]) if len(word) >= 3})


def check_vocabulary():
    """Every search matches the same titles with and without ASCII case folding."""
    words = {w for text in VERBS + NOUNS + SUFFIXES for w in text.replace("(", " ").replace(")", " ").split()}
    for search in SEARCHES:
        assert search == search.lower() and search.isascii() and not set(search) & set("%_\\"), search
        for word in words:
            assert (search in word.lower()) == (search in word), (search, word)


class Recorder:
    """Runs requests on the legacy and writes them, with what it answered, as cassette lines."""

    def __init__(self, out, seed):
        self.out = out
        self.rng = random.Random(seed)
        self.repo = SqliteTasks(":memory:")
        self.clock = BASE
        self.seq = 0
        self.open = []  # ids of tasks not done
        self.done = []  # ids of tasks done
        self.deleted = []  # ids deleted

    def at(self):
        self.clock += datetime.timedelta(seconds=self.rng.randint(1, 120), milliseconds=self.rng.randint(0, 999))
        return format_timestamp(self.clock)

    def record(self, op, kind, key, args, call, generated=False):
        """Runs call() on the legacy and writes the request line; returns the answer or None.
        A `generated` create's key is the id its answer carries (the store chose it)."""
        self.seq += 1
        request = {"seq": self.seq, "key": key, "op": op, "kind": kind, "args": args, "at": self.at()}
        try:
            answer = call()
            request["outcome"] = {"ok": answer}
            if generated:
                key = request["key"] = str(answer["id"])
        except TaskError as e:
            answer = None
            request["outcome"] = {"error": {"kind": e.kind, "message": e.message}}
        if kind == "write" and key is not None:
            request["state"] = self.repo.load(int(key))
        self.out.write(json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n")
        return answer

    # --- the requests ---------------------------------------------------------------------

    def due(self):
        """A due date on a whole minute in the next weeks, or None for a quarter of the tasks."""
        if self.rng.random() < 0.25:
            return None
        minutes = self.rng.randrange(0, 60 * 24 * 45, 15)
        text = format_timestamp(BASE + datetime.timedelta(days=1, minutes=minutes))
        return text if self.rng.random() < 0.8 else text.replace(".000Z", "Z")  # clients vary

    def title(self):
        return f"{self.rng.choice(VERBS)} the {self.rng.choice(NOUNS)}{self.rng.choice(SUFFIXES)}"

    def create(self):
        args = {
            "project": self.rng.choice(PROJECTS),
            "title": self.title(),
            "priority": self.rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0],
        }
        due = self.due()
        if due is not None or self.rng.random() < 0.5:
            args["due"] = due
        made = self.record("create_task", "write", None, args, lambda: self.repo.create_task(**args), generated=True)
        self.open.append(made["id"])

    def keyed(self, op, kind, id, args, call):
        return self.record(op, kind, str(id), args, call)

    def get(self):
        id = self.rng.choice(self.open + self.done)
        self.keyed("get_task", "read", id, {}, lambda: self.repo.get_task(id))

    def complete(self):
        id = self.rng.choice(self.open)
        self.keyed("complete_task", "write", id, {}, lambda: self.repo.complete_task(id))
        self.open.remove(id)
        self.done.append(id)

    def reopen(self):
        id = self.rng.choice(self.done)
        self.keyed("reopen_task", "write", id, {}, lambda: self.repo.reopen_task(id))
        self.done.remove(id)
        self.open.append(id)

    def rename(self):
        id = self.rng.choice(self.open + self.done)
        args = {"title": self.title()}
        self.keyed("rename_task", "write", id, args, lambda: self.repo.rename_task(id, args["title"]))

    def delete(self):
        id = self.rng.choice(self.open + self.done)
        self.keyed("delete_task", "write", id, {}, lambda: self.repo.delete_task(id))
        (self.open if id in self.open else self.done).remove(id)
        self.deleted.append(id)

    def stale(self):
        """What a client with a stale screen does: a request on a task deleted since."""
        id = self.rng.choice(self.deleted)
        op = self.rng.choice(["get_task", "get_task", "complete_task", "rename_task"])
        if op == "get_task":
            self.keyed(op, "read", id, {}, lambda: self.repo.get_task(id))
        elif op == "complete_task":
            self.keyed(op, "write", id, {}, lambda: self.repo.complete_task(id))
        else:
            args = {"title": self.title()}
            self.keyed(op, "write", id, args, lambda: self.repo.rename_task(id, args["title"]))

    def bound(self):
        """A due bound at :30 seconds: never equal to a due date, which are whole minutes."""
        minutes = self.rng.randrange(0, 60 * 24 * 47)
        return format_timestamp(BASE + datetime.timedelta(minutes=minutes, seconds=30))

    def list(self):
        args = {"project": self.rng.choice(PROJECTS), "limit": self.rng.choice([5, 10, 10, 20])}
        if self.rng.random() < 0.3:
            args["search"] = self.rng.choice(SEARCHES)
        if self.rng.random() < 0.3:
            low, high = sorted([self.bound(), self.bound()])
            shape = self.rng.random()
            if shape < 0.6:
                args["due_from"], args["due_to"] = low, high
            elif shape < 0.8:
                args["due_from"] = low
            else:
                args["due_to"] = high
        total = len(self.repo.list_tasks(**{**args, "limit": 10**9}))
        pages = [start for start in range(0, total, args["limit"])]
        if len(pages) > 1 and self.rng.random() < 0.5:
            args["offset"] = self.rng.choice(pages[1:])
        elif self.rng.random() < 0.3:
            args["offset"] = 0
        self.record("list_tasks", "read", None, args, lambda: self.repo.list_tasks(**args))

    def count(self):
        args = {"project": self.rng.choice(PROJECTS)}
        self.record("count_tasks", "read", None, args, lambda: self.repo.count_tasks(**args))

    def next(self):
        """One request, of an operation drawn by weight among those possible now."""
        live = len(self.open) + len(self.done)
        if self.seq < 12 or live < 3:
            return self.create()
        choices = {self.create: 22, self.get: 14, self.rename: 6, self.delete: 5, self.list: 26, self.count: 7}
        if self.open:
            choices[self.complete] = 9
        if self.done:
            choices[self.reopen] = 5
        if self.deleted:
            choices[self.stale] = 3
        self.rng.choices(list(choices), list(choices.values()))[0]()


def main():
    parser = argparse.ArgumentParser(description="record a tasks cassette from the SQLite legacy")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--out", required=True, help="the cassette to write (JSON Lines)")
    options = parser.parse_args()
    check_vocabulary()
    with open(options.out, "w", encoding="utf-8", newline="\n") as out:
        meta = {"source": "examples/tasks/generate.py", "legacy": "SqliteTasks", "seed": options.seed}
        out.write(json.dumps({"cutover": 1, "domain": "tasks", "meta": meta}, separators=(",", ":")) + "\n")
        recorder = Recorder(out, options.seed)
        while recorder.seq < options.requests:
            recorder.next()
    return 0


if __name__ == "__main__":
    sys.exit(main())
