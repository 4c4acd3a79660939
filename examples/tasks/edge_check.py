#!/usr/bin/env python3
"""Sends the same edge requests to the SQLite legacy and to the PostgreSQL store, and compares.

    VENV_PY edge_check.py --url postgres://postgres@127.0.0.1:5432/tasks_edge

(VENV_PY: the python `setup.sh` prints; the database must exist and be UTF8.) The requests go
in-process through the adapter (`adapter.Adapter`) to `SqliteTasks` and `PostgresTasks`, as a
replay's would, with no cutover in between: ok answers are compared exactly, errors by kind,
and after every write the stored state of its key (and at the end every key's).

It checks that the correct PostgreSQL store answers every edge request exactly as the legacy
does, and that each planted defect (tasks.py's, and the adapter's `list-unordered`) answers
at least one of them otherwise. It prints one line per run and exits 1 if an expectation
fails. `--defect NAME` runs that defect alone; `--verbose` prints every difference.
"""

import argparse
import sys

from adapter import ADAPTER_DEFECTS, Adapter
from tasks import PG_DEFECTS, PostgresTasks, SqliteTasks

NFD_CAFE = "Cafe\u0301"  # "Café" decomposed: e + COMBINING ACUTE ACCENT
LONG = "x" * 10_000
DAY1 = "2026-03-01T10:00:00.000Z"
DAY2 = "2026-03-02T09:00:00.000Z"


def create(title, due=None, project="work", priority="normal"):
    args = {"project": project, "title": title, "priority": priority}
    if due is not None:
        args["due"] = due
    return ("create_task", None, args)


def listing(**args):
    return ("list_tasks", None, {"project": "work", "limit": 100, **args})


def keyed(op, key, **args):
    return (op, key, args)


SETUP = [
    create("Write the report", DAY1),  # 1
    create("Review the REPORT", DAY1, priority="high"),  # 2: ties task 1 on due
    create("Call Zoë"),  # 3: no due
    create("call zoë", None, priority="low"),  # 4: no due, other case
    create("ÉCOLE visit", DAY2),  # 5
    create("école trip", "2026-03-02T11:00:00+02:00"),  # 6: the same instant as 5, with an offset
    create("100% done", "2026-03-03T00:00:00.000Z"),  # 7
    create("a_b test", "2026-03-04T12:30:00Z"),  # 8
    create("axb test", "2026-03-04T12:30:00.000000Z"),  # 9: like-unescaped's `a_b` matches it
    create("back\\slash", "2026-03-05T00:00:00.000Z"),  # 10
    create("  padded title  ", "2026-03-06T00:00:00.000Z"),  # 11: surrounding whitespace
    create(NFD_CAFE, "2026-03-07T00:00:00.000Z"),  # 12: NFD
    create("Café", "2026-03-07T00:00:00.000Z"),  # 13: NFC
    create(LONG, "2026-03-08T00:00:00.000Z"),  # 14: 10,000 characters
    create(" ", None, project="home"),  # 15: a title of one space is not empty
    create("Tab\tand\nnewline", "1999-12-31T23:59:59.999Z", project="home"),  # 16
]

REQUESTS = [
    # creates the legacy refuses
    create(""),
    create("x", priority="urgent"),
    create("x", priority="HIGH"),
    create("x", priority=5),
    create("x", priority=""),
    create("nul\0inside"),
    create("x", due="2026-03-01T10:00:00.0001Z"),
    create("x", due="tomorrow"),
    create("x", due="2026-02-30T00:00:00Z"),
    create("x", due=12),
    ("create_task", None, {"title": "no project", "priority": "low"}),
    ("create_task", None, {"project": "work", "priority": "low"}),
    ("create_task", "1", {"project": "work", "title": "x", "priority": "low"}),
    # reads of absent ids
    keyed("get_task", "1"),
    keyed("get_task", "999"),
    keyed("get_task", "abc"),
    keyed("get_task", "0"),
    keyed("get_task", "007"),
    keyed("get_task", "99999999999999999999"),
    keyed("get_task", "9223372036854775807"),
    ("get_task", None, {}),
    # orders: nulls first, ties by id
    listing(),
    listing(project="home"),
    listing(project="nobody"),
    # searches
    listing(search="%"),
    listing(search="_"),
    listing(search="a_b"),
    listing(search="100%"),
    listing(search="\\"),
    listing(search="report"),
    listing(search="REPORT"),
    listing(search="Report"),
    listing(search="zoë"),
    listing(search="ZOË"),
    listing(search="Zoë"),
    listing(search="école"),
    listing(search="ÉCOLE"),
    listing(search="École"),
    listing(search="Écol"),
    listing(search="e\u0301"),
    listing(search="é"),
    listing(search=""),
    listing(search="  padded"),
    listing(search="x" * 10_000),
    listing(search="%" * 30_000),
    # due bounds at stored values, a millisecond beside, crossed
    listing(due_from=DAY1),
    listing(due_to=DAY1),
    listing(due_from=DAY1, due_to=DAY1),
    listing(due_to="2026-03-01T09:59:59.999Z"),
    listing(due_to="2026-03-01T10:00:00.001Z"),
    listing(due_from="2026-03-01T10:00:00.001Z"),
    listing(due_to=DAY2),
    listing(due_to="2026-03-02T10:00:00+01:00"),
    listing(due_from=DAY2, due_to=DAY1),
    listing(due_from="2026-03-04T12:30:00.000Z", due_to="2026-03-04T12:30:00.000Z"),
    listing(due_to="2026-03-01T10:00:00.0001Z"),
    listing(due_from="soon"),
    # limits and offsets
    listing(limit=0),
    listing(limit=1),
    listing(limit=14),
    listing(limit=15),
    listing(limit=2, offset=13),
    listing(limit=5, offset=14),
    listing(limit=5, offset=100),
    listing(limit=0, offset=100),
    listing(limit=5, offset=0),
    listing(limit=-1),
    listing(offset=-1),
    listing(limit=2**63),
    listing(limit=2**63 - 1, offset=2**63 - 1),
    listing(limit=True),
    listing(limit="5"),
    listing(limit=5.0),
    ("list_tasks", None, {"project": "work"}),
    listing(search="a", limit=3, offset=1),
    listing(search="%", limit=0),
    listing(search="zz", offset=1),
    ("count_tasks", None, {"project": "work"}),
    ("count_tasks", None, {"project": "nobody"}),
    ("count_tasks", None, {}),
    # state changes and their errors
    keyed("complete_task", "1"),
    keyed("complete_task", "1"),
    keyed("reopen_task", "1"),
    keyed("reopen_task", "1"),
    keyed("reopen_task", "2"),
    keyed("complete_task", "999"),
    keyed("reopen_task", "abc"),
    keyed("rename_task", "2", title=""),
    keyed("rename_task", "2", title="  spaced out  "),
    keyed("rename_task", "2", title=LONG),
    keyed("rename_task", "2", title=NFD_CAFE),
    keyed("rename_task", "2"),
    keyed("rename_task", "999", title="x"),
    keyed("delete_task", "3"),
    keyed("delete_task", "3"),
    keyed("get_task", "3"),
    keyed("complete_task", "3"),
    create("after the delete"),  # id 17, not 3
    keyed("get_task", "17"),
    listing(),
    listing(search="  "),
    listing(due_from="2026-03-06T00:00:00.000Z", due_to="2026-03-07T00:00:00.000Z"),
    ("frobnicate", None, {}),
    ("get_task", "1", []),
    # ids start again at 1 after a reset
    "reset",
    create("first again", DAY1),
    create("second again"),
    listing(),
]


def dump_keys():
    return [str(i) for i in range(0, 20)] + ["abc", "007"]


def same(legacy, candidate):
    """Whether two answers are equal as a replay compares them: errors by kind only."""
    def norm(answer):
        if "outcome" in answer and "error" in answer["outcome"]:
            return {"error": answer["outcome"]["error"]["kind"]}
        return answer
    return norm(legacy) == norm(candidate)


def short(value, width=160):
    text = repr(value)
    return text if len(text) <= width else text[:width] + "..."


def run(legacy, candidate):
    """[(what, legacy answer, candidate answer)] of every difference on the edge requests."""
    diffs = []
    ident = 0

    def both(message, what):
        nonlocal ident
        ident += 1
        a, b = legacy.handle({**message, "id": ident}), candidate.handle({**message, "id": ident})
        for side, answer in (("legacy", a), ("candidate", b)):
            if "failure" in answer:
                diffs.append((what, f"{side} failure", answer["failure"]))
        if not same(a, b):
            diffs.append((what, a, b))
        return a

    both({"type": "reset"}, "reset")
    for seq, request in enumerate(SETUP + REQUESTS, start=1):
        if request == "reset":
            both({"type": "reset"}, "reset")
            continue
        op, key, args = request
        kind = "read" if op in ("get_task", "list_tasks", "count_tasks") else "write"
        message = {"seq": seq, "key": key, "op": op, "kind": kind, "args": args, "at": "2026-03-09T00:00:00.000Z"}
        what = f"{op} key={key} args={short(args, 100)}"
        both({"type": "execute", "request": message}, what)
        if kind == "write" and isinstance(key, str):
            both({"type": "dump", "key": key}, f"dump {key} after {what}")
    for key in dump_keys():
        both({"type": "dump", "key": key}, f"final dump {key}")
    return diffs


def check(url, defect, verbose):
    """(expectation met, line) for one run: no defect must match, a defect must not."""
    legacy_repo = SqliteTasks(":memory:")
    candidate_repo = PostgresTasks(url, defect=defect if defect in PG_DEFECTS else "")
    try:
        legacy = Adapter(legacy_repo, "tasks-sqlite")
        candidate = Adapter(candidate_repo, "tasks-postgres", defect if defect in ADAPTER_DEFECTS else "")
        diffs = run(legacy, candidate)
    finally:
        legacy_repo.close()
        candidate_repo.close()
    name = defect or "correct"
    if verbose:
        for what, a, b in diffs:
            print(f"  {name}: {what}\n    legacy:    {short(a)}\n    candidate: {short(b)}")
    if not defect:
        return not diffs, f"{name:26} {'IDENTICAL' if not diffs else f'{len(diffs)} DIFFERENCES'}"
    first = f" first: {diffs[0][0]}" if diffs else ""
    return bool(diffs), f"{name:26} {len(diffs):3} differences{first}" if diffs else f"{name:26} NOT CAUGHT"


def main():
    parser = argparse.ArgumentParser(description="edge requests on SqliteTasks and PostgresTasks")
    parser.add_argument("--url", required=True, help="an existing UTF8 PostgreSQL database")
    parser.add_argument("--defect", help="run this defect alone ('' for the correct store)")
    parser.add_argument("--verbose", action="store_true", help="print every difference")
    options = parser.parse_args()
    defects = [options.defect] if options.defect is not None else [""] + sorted(PG_DEFECTS | ADAPTER_DEFECTS)
    ok = True
    for defect in defects:
        met, line = check(options.url, defect, options.verbose)
        print(("ok    " if met else "FAIL  ") + line, flush=True)
        ok &= met
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
