#!/usr/bin/env python3
"""Measure the structure of the cutover workspace from its source text (no compilation).

Reports, per crate, the .rs files and lines of its module tree; its public items and the
names re-exported at its root; the import circles between modules; imports against the
layer order (`LAYERS` for the core crate's top-level modules, `CRATE_LAYERS` between
crates); the ten longest functions; and the lines of README.md.

    python3 scripts/layers.py                 # every figure, as text
    python3 scripts/layers.py --json          # the same as JSON
    python3 scripts/layers.py --check         # exit 1, listing them, if any circle or upward import
    python3 scripts/layers.py --root DIR      # another checkout (default: this script's repository)
    python3 scripts/layers.py --circles all   # circles over every import (see below)
    python3 scripts/layers.py --with-tests    # test functions ranked among the longest too

Python 3.11, standard library only. Rust is read with a small lexer (comments, strings, raw
strings, chars and lifetimes told apart), not parsed: `mod`, `use`, paths and braces are
found in its tokens. What it does not see: modules or paths made by macros, and items
reached through a glob import or a type alias.

Definitions (the figures depend on them):

* Crates: every Cargo.toml with a [package] (target/ and hidden directories skipped); its
  lib (src/lib.rs or [lib] path) and each bin (src/main.rs or [[bin]] path) are crates of
  their own. Packages under examples/ are included and labelled. tests/, benches/ and
  examples/*.rs targets are counted apart, outside the graph.
* A node is a file module: a .rs file reached through `mod x;` (x.rs or x/mod.rs) from a
  crate root. An inline `mod x { ... }` belongs to its file's node. Modules declared
  `#[cfg(test)]` (and everything below them) are test modules; they and every
  `#[cfg(test)]` item inside other files count in files and lines, and in nothing else.
* An edge A -> B is a use of B in A's code: a `use` (re-exports `pub use` included), or a
  path in code (`crate::a::b::f()`, `super::x::Y`, `other_crate::m::T`, or a path that
  starts with a name a `use` brought in or with a child module's name). A path goes to the
  deepest module it names: `crate::a::b::Item` is an edge to `a::b`. A `mod x;`
  declaration is not an edge.
* Circles are the strongly connected components of more than one node, over the edges of
  the rule `--circles` picks. The default, `up`, leaves out a module's uses of its own
  ancestors' items (a child's `super::Exit`): a parent mod.rs that calls into its children
  while they use its types is how every directory module here is built, not a circle.
  Everything else counts: siblings importing each other, and a parent's code using a
  descendant when that descendant reaches back through another module (the
  `targets` <-> `capture::adapter` circle: targets/mod.rs opens declared/sql.rs, which
  calls capture::adapter, which uses targets' `Target`). `all` keeps every edge, `tree`
  drops every edge between a module and its ancestors or descendants. The elementary
  cycles inside the components are listed as well (a component may hold several).
* An upward import is an edge from a core top-level module to a higher one in LAYERS, or
  from a crate to a higher one in CRATE_LAYERS; a [dependencies] entry on a higher crate
  is one too. Listed once per (importing file, imported module) with every site.
* Public items: `pub fn|struct|enum|trait|mod|type|const|static` (`pub const fn`, `pub
  async fn` as fn; not `pub(crate)`/`pub(super)`), methods included, test code left out;
  `pub use` statements are counted beside them. Root re-exports: each name of the
  `pub use` statements of the crate root.
* Functions: from `fn` to the brace that closes its body, in lines; test code left out
  unless --with-tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import tomllib
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------
# The layer order of the core crate's top-level modules. Lower numbers are lower layers; a
# module may import from its own layer and the ones below, never from a higher one. It
# follows the dependencies ARCHITECTURE.md describes rather than the data-flow stage
# numbers of its code map (the replay, stage 3, uses `normalize` and `diff`, stages 3½ and
# 4): the value comparison and the formats at the bottom, the targets above them, the
# replay machinery above the targets, what folds and judges its results above that, and
# the front ends (capture, shrinking, `cargo test`) on top.
LAYERS: dict[str, int] = {
    # Foundation: located errors, input hashes; no dependency on any stage.
    "located": 0,
    "digest": 0,
    # Starting the real servers: a module of the core in the single-crate layout (its own
    # crate, cutover-servers, in the workspace). Depends on no stage.
    "services": 0,
    # Formats and the pure comparison: the cassette, the structural diff (which reads the
    # cassette's outcomes). No IO in diff.
    "cassette": 1,
    "diff": 1,
    # Declared rules applied before the diff (no IO, not async).
    "normalize": 2,
    # Stage 2: the `Target` trait, the specs, the built-in targets.
    "targets": 3,
    # Stage 3: the replay over two targets, then what runs on its comparison: the race
    # check (3b), and probes derived from the cassette (1b in data flow; they only need the
    # cassette and the domains' models).
    "replay": 4,
    "races": 5,
    "probe": 5,
    # `cutover verify`: every aggregate of both stores, over the same targets, rules and
    # diff as a replay, its results in the replay's form.
    "verify": 5,
    # Coverage, "beside" the replay: it observes the legacy target during a replay and
    # counts only what the replay's shard reports (`replay::shard`).
    "coverage": 6,
    # Domain declarations: the features, probes and check-target expectations any domain's
    # declaration gives; beside coverage, below the domain kits that use them.
    "declaration": 6,
    # The workspace layout's domain kit (a domain's features, probes, conformance script),
    # the built-in kv domain, the registry that lists domains and specs, and the conformance
    # session of `check-target` that finds them there.
    "domain": 7,
    "kv": 7,
    "registry": 8,
    "conformance": 9,
    # Stages 5 to 7: the report folds results (and coverage, races); the run directory
    # (workspace layout) writes and reads results.jsonl and report.json and merges shards;
    # the gate judges a run; the documents are published from both.
    "report": 10,
    "rundir": 11,
    "gate": 12,
    "publish": 13,
    # Front ends: shrinking (a replay per try) and capture from a running service (stage 0
    # in data flow, but its shadow compares as a replay does and writes results.jsonl and
    # report.json, so it depends on replay and report); the `cargo test` front end on top.
    "shrink": 14,
    "capture": 14,
    "testing": 15,
    # The fuzz targets' entry points: every input cutover reads, read as its front ends do.
    "fuzzing": 15,
}

# The crates' order: the core `cutover` lowest, then the test servers, the declared targets,
# the reference domain, and the command line on top (servers <- declared <- conversations
# <- cli, cutover below all). Binaries are command lines; example crates are consumers of
# everything (above the command line).
CRATE_LAYERS: dict[str, int] = {
    "cutover": 0,
    "cutover-servers": 1,
    "cutover-events": 1,
    "cutover-declared": 2,
    "cutover-conversations": 3,
    "cutover-cli": 4,
}
BIN_LAYER = 4
EXAMPLE_LAYER = 5

SKIP_DIRS = {"target", ".git", "node_modules", ".jj", "__pycache__"}

# ---------------------------------------------------------------------------------------
# Lexer

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<line>//[^\n]*)
  | (?P<block>/\*)
  | (?P<raw>b?r\#*")
  | (?P<str>b?"(?:[^"\\]|\\.)*")
  | (?P<char>b?'(?:[^'\\\n]|\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F_]+\}|.))')
  | (?P<life>'[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>r\#[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>[0-9][0-9A-Za-z_]*(?:\.(?![.A-Za-z_])[0-9A-Za-z_]*)?)
  | (?P<path>::)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def lex(text: str) -> tuple[list[str], list[str], list[int]]:
    """Tokens of Rust source: kinds ('i' ident, 'p' punctuation, 's' string, 'c' char,
    'l' lifetime, 'n' number), texts and line numbers. Comments are dropped."""
    kinds: list[str] = []
    texts: list[str] = []
    lines: list[int] = []
    pos = 0
    line = 1
    n = len(text)
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        kind = m.lastgroup
        end = m.end()
        if kind == "block":
            depth = 1
            j = end
            while depth and j < n:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            end = j
        elif kind == "raw":
            hashes = m.group("raw").count("#")
            close = '"' + "#" * hashes
            j = text.find(close, end)
            end = n if j < 0 else j + len(close)
            kinds.append("s")
            texts.append('""')
            lines.append(line)
        elif kind in ("ws", "line"):
            pass
        else:
            kinds.append({"str": "s", "char": "c", "life": "l", "ident": "i", "num": "n",
                          "path": "p", "punct": "p"}[kind])
            texts.append(m.group())
            lines.append(line)
        line += text.count("\n", pos, end)
        pos = end
    return kinds, texts, lines


# ---------------------------------------------------------------------------------------
# Model


@dataclass(eq=False)
class Module:
    crate: "Crate"
    path: tuple[str, ...]          # from the crate root
    file: str                      # relative to the root
    inline: bool = False
    test: bool = False
    children: dict[str, "Module"] = field(default_factory=dict)
    parent: "Module | None" = None
    file_module: "Module | None" = None  # the module of the file (itself unless inline)
    imports: dict[str, tuple] = field(default_factory=dict)  # name -> (module, [segments]) or None

    @property
    def node(self) -> "Module":
        return self.file_module or self

    def name(self) -> str:
        return "::".join((self.crate.key,) + self.path)


@dataclass(eq=False)
class Crate:
    key: str            # how reports name it: the package, `[bin NAME]` for binaries
    package: str
    kind: str           # lib | bin
    root_file: str
    name_in_code: str   # the identifier other crates use (`cutover_declared`)
    example: bool
    layer: int | None
    manifest: str
    root: Module | None = None
    modules: list[Module] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class FileInfo:
    path: str
    lines: int
    kinds: list[str]
    texts: list[str]
    tlines: list[int]
    masked: list[bool]   # tokens inside #[cfg(test)] items


# ---------------------------------------------------------------------------------------
# Discovery


def find_manifests(root: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if "Cargo.toml" in filenames:
            found.append(os.path.join(dirpath, "Cargo.toml"))
    return found


def discover_crates(root: str) -> tuple[list[Crate], list[dict]]:
    crates: list[Crate] = []
    packages: list[dict] = []
    for manifest in find_manifests(root):
        with open(manifest, "rb") as f:
            try:
                data = tomllib.load(f)
            except tomllib.TOMLDecodeError as e:
                print(f"warning: {manifest}: {e}", file=sys.stderr)
                continue
        pkg = data.get("package")
        if not pkg or "name" not in pkg:
            continue
        name = pkg["name"]
        pdir = os.path.dirname(manifest)
        rel_manifest = os.path.relpath(manifest, root)
        example = rel_manifest.split(os.sep)[0] == "examples"
        deps = {}
        for section in ("dependencies", "build-dependencies"):
            for dep, spec in (data.get(section) or {}).items():
                real = spec.get("package", dep) if isinstance(spec, dict) else dep
                deps[real] = section
        packages.append({"name": name, "manifest": rel_manifest, "deps": deps,
                         "example": example})
        layer = EXAMPLE_LAYER if example else CRATE_LAYERS.get(name)
        lib = data.get("lib")
        lib_path = (lib or {}).get("path", "src/lib.rs")
        if os.path.exists(os.path.join(pdir, lib_path)):
            lib_name = (lib or {}).get("name", name).replace("-", "_")
            crates.append(Crate(name, name, "lib",
                                os.path.relpath(os.path.join(pdir, lib_path), root),
                                lib_name, example, layer, rel_manifest))
        bins = list(data.get("bin") or [])
        if not bins and os.path.exists(os.path.join(pdir, "src/main.rs")):
            bins = [{"name": name, "path": "src/main.rs"}]
        for b in bins:
            bname = b.get("name", name)
            bpath = b.get("path") or (
                "src/main.rs" if bname == name else f"src/bin/{bname}.rs")
            if not os.path.exists(os.path.join(pdir, bpath)):
                continue
            crates.append(Crate(f"{name}[bin {bname}]", name, "bin",
                                os.path.relpath(os.path.join(pdir, bpath), root),
                                bname.replace("-", "_"), example,
                                EXAMPLE_LAYER if example else BIN_LAYER, rel_manifest))
    crates.sort(key=lambda c: (c.example, c.layer if c.layer is not None else 99, c.key))
    return crates, packages


# ---------------------------------------------------------------------------------------
# Files


_FILES: dict[str, FileInfo] = {}


def load(root: str, rel: str) -> FileInfo:
    info = _FILES.get(rel)
    if info is None:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        kinds, texts, tlines = lex(text)
        info = FileInfo(rel, text.count("\n") + (0 if text.endswith("\n") or not text else 1),
                        kinds, texts, tlines, mask_tests(kinds, texts))
        _FILES[rel] = info
    return info


ITEM_KEYWORDS = {"fn", "pub", "mod", "use", "impl", "struct", "enum", "trait", "type",
                 "const", "static", "async", "unsafe", "extern", "macro_rules", "let", "union"}


def attribute_end(texts: list[str], i: int) -> int:
    """i at '#': the index after the attribute's closing ']' (or i when not an attribute)."""
    j = i + 1
    if j < len(texts) and texts[j] == "!":
        j += 1
    if j >= len(texts) or texts[j] != "[":
        return i
    depth = 0
    while j < len(texts):
        t = texts[j]
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


def is_cfg_test(texts: list[str], start: int, end: int) -> bool:
    inner = texts[start:end]
    # '#', ['!'], '[', 'cfg', '(' ... ')' ']'
    k = inner.index("[") + 1
    if k >= len(inner) or inner[k] != "cfg":
        return False
    body = inner[k + 1:]
    return "test" in body and "not" not in body


def item_end(texts: list[str], kinds: list[str], i: int) -> int:
    """The index of the last token of the item (or field, or statement) starting at i."""
    n = len(texts)
    keyword = texts[i] in ITEM_KEYWORDS if i < n else True
    depth = 0
    j = i
    while j < n:
        t = texts[j]
        if kinds[j] == "p":
            if t in "([":
                depth += 1
            elif t in ")]":
                depth -= 1
            elif t == "{" and depth == 0:
                return match_brace(texts, kinds, j)
            elif t == "{":
                depth += 1
            elif t == "}":
                if depth == 0:
                    return j - 1
                depth -= 1
            elif t == ";" and depth == 0:
                return j
            elif t == "," and depth == 0 and not keyword:
                return j
        j += 1
    return n - 1


def match_brace(texts: list[str], kinds: list[str], j: int) -> int:
    depth = 0
    n = len(texts)
    while j < n:
        if kinds[j] == "p":
            t = texts[j]
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    return j
        j += 1
    return n - 1


def mask_tests(kinds: list[str], texts: list[str]) -> list[bool]:
    n = len(texts)
    masked = [False] * n
    i = 0
    while i < n:
        if texts[i] == "#" and kinds[i] == "p":
            end = attribute_end(texts, i)
            if end > i:
                if is_cfg_test(texts, i, end) and texts[i + 1] != "!":
                    start = i
                    # further attributes of the same item
                    while end < n and texts[end] == "#" and attribute_end(texts, end) > end:
                        end = attribute_end(texts, end)
                    last = item_end(texts, kinds, end)
                    for k in range(start, last + 1):
                        masked[k] = True
                    i = last + 1
                    continue
                i = end
                continue
        i += 1
    return masked


# ---------------------------------------------------------------------------------------
# Module trees


def child_dir(module: Module, current: Module) -> str:
    """Where `mod x;` in current (module's file, or an inline module inside it) looks."""
    base = os.path.basename(module.file)
    d = os.path.dirname(module.file)
    if module.path == () or base == "mod.rs":
        out = d  # a crate root or a mod.rs: its children beside it
    else:
        out = os.path.join(d, base[:-3])  # name.rs: its children in name/
    for name in current.path[len(module.path):]:
        out = os.path.join(out, name)
    return out


def build_tree(root: str, crate: Crate) -> None:
    """Follow `mod x;` from the crate root: x.rs or x/mod.rs (or `#[path]`)."""
    crate.root = Module(crate, (), crate.root_file)
    crate.root.file_module = crate.root
    queue = [crate.root]
    while queue:
        module = queue.pop()
        crate.modules.append(module)
        crate.files.append(module.file)
        if module.test:
            crate.test_files.append(module.file)
        info = load(root, module.file)
        kinds, texts = info.kinds, info.texts
        stack: list[Module | None] = []  # per open brace: the inline module it opens, or None
        current = module
        path_attr = None
        i = 0
        n = len(texts)
        while i < n:
            t = texts[i]
            k = kinds[i]
            if k == "p":
                if t == "{":
                    stack.append(None)
                elif t == "}" and stack:
                    stack.pop()
                    current = next((f for f in reversed(stack) if f is not None), module)
                elif t == "#":
                    end = attribute_end(texts, i)
                    if end > i:
                        inner = texts[i + 2:end - 1]
                        if len(inner) == 3 and inner[0] == "path" and inner[1] == "=":
                            path_attr = inner[2][1:-1]
                        i = end
                        continue
                i += 1
                continue
            if k == "i" and t == "mod" and i + 2 < n and kinds[i + 1] == "i":
                name = texts[i + 1]
                nxt = texts[i + 2]
                test = module.test or info.masked[i] or current.test
                if nxt == ";":
                    d = child_dir(module, current)
                    if path_attr is not None:
                        base = (os.path.dirname(module.file)
                                if current is module else d)
                        cand = [os.path.normpath(os.path.join(base, path_attr))]
                    else:
                        cand = [os.path.join(d, name + ".rs"), os.path.join(d, name, "mod.rs")]
                    found = next((c for c in cand if os.path.exists(os.path.join(root, c))), None)
                    if found is None:
                        crate.missing.append(f"{module.file}: mod {name}; (no {' or '.join(cand)})")
                    else:
                        child = Module(crate, current.path + (name,), found, test=test,
                                       parent=current)
                        child.file_module = child
                        current.children[name] = child
                        queue.append(child)
                    path_attr = None
                    i += 3
                    continue
                if nxt == "{":
                    child = Module(crate, current.path + (name,), module.file, inline=True,
                                   test=test, parent=current, file_module=module)
                    current.children[name] = child
                    crate.modules.append(child)
                    stack.append(child)
                    current = child
                    path_attr = None
                    i += 3
                    continue
            if k == "i" and t in ("fn", "struct", "enum", "use", "impl", "trait", "const",
                                  "static", "type"):
                path_attr = None
            i += 1
    crate.files.sort()
    crate.test_files.sort()


# ---------------------------------------------------------------------------------------
# Uses and paths


def parse_use(texts: list[str], kinds: list[str], i: int):
    """i after 'use'. Returns ([(segments, alias, glob)], index of ';')."""
    out = []

    def tree(j: int, prefix: list[str]) -> int:
        segs = list(prefix)
        if texts[j] == "::":
            segs.append("::")
            j += 1
        while True:
            t = texts[j]
            if t == "{":
                j += 1
                while texts[j] != "}":
                    j = tree(j, segs)
                    if texts[j] == ",":
                        j += 1
                return j + 1
            if t == "*":
                out.append((segs, None, True))
                return j + 1
            if kinds[j] == "i":
                segs.append(t)
                j += 1
                if texts[j] == "::":
                    j += 1
                    continue
                alias = None
                if texts[j] == "as":
                    alias = texts[j + 1]
                    j += 2
                out.append((segs, alias, False))
                return j
            # unexpected: give up on this tree
            return j + 1

    try:
        j = tree(i, [])
        while texts[j] != ";":
            j += 1
    except IndexError:
        j = len(texts) - 1
    return out, j


class Resolver:
    def __init__(self, crates: list[Crate]):
        self.crates = crates
        self.by_lib_name = {c.name_in_code: c for c in crates if c.kind == "lib"}

    def lookup_head(self, module: Module, head: str):
        """Resolve a path's first segment in module's scope: (module to continue from) or
        ('alias', target) or None (not a workspace path)."""
        crate = module.crate
        if head in ("crate", "$crate"):
            return crate.root
        if head == "self":
            return module
        if head == "super":
            return module.parent
        if head in module.children:
            return module.children[head]
        if head in module.imports:
            return ("alias", module.imports[head])
        lib = self.by_lib_name.get(head)
        if lib is not None:
            return lib.root
        return None

    def walk(self, start: Module, segs: list[str]) -> Module:
        m = start
        for s in segs:
            if s == "super":
                if m.parent is None:
                    break
                m = m.parent
            elif s == "self":
                continue
            elif s in m.children:
                m = m.children[s]
            else:
                break
        return m

    def resolve(self, module: Module, segs: list[str]):
        """The module a path names (deepest existing), or None if outside the workspace."""
        if not segs:
            return None
        if segs[0] == "::":
            lib = self.by_lib_name.get(segs[1]) if len(segs) > 1 else None
            return self.walk(lib.root, segs[2:]) if lib else None
        head = self.lookup_head(module, segs[0])
        if head is None:
            return None
        if isinstance(head, tuple):
            target = head[1]
            if target is None:
                return None
            base, rest = target
            return self.walk(base, rest + segs[1:])
        return self.walk(head, segs[1:])

    def absolute(self, module: Module, segs: list[str]):
        """A use path as (module, remaining segments) for the imports map, or None."""
        if not segs:
            return None
        if segs[0] == "::":
            lib = self.by_lib_name.get(segs[1]) if len(segs) > 1 else None
            return (lib.root, segs[2:]) if lib else None
        head = self.lookup_head(module, segs[0])
        if head is None:
            return None
        if isinstance(head, tuple):
            target = head[1]
            if target is None:
                return None
            return (target[0], target[1] + segs[1:])
        return (head, segs[1:])


def scan_uses_and_paths(root: str, crate: Crate, resolver: Resolver, edges: dict,
                        reexports: dict) -> None:
    """Two passes over every file module: the imports (so paths can use the names they
    bring), then the edges."""
    file_modules = [m for m in crate.modules if not m.inline]
    for phase in ("imports", "edges"):
        for module in file_modules:
            if module.test:
                continue
            info = _FILES[module.file]
            walk_file(module, info, resolver, phase, edges, reexports)


def walk_file(module: Module, info: FileInfo, resolver: Resolver, phase: str, edges: dict,
              reexports: dict) -> None:
    kinds, texts, tlines, masked = info.kinds, info.texts, info.tlines, info.masked
    n = len(texts)
    stack: list[Module | None] = []
    current = module
    i = 0
    while i < n:
        t = texts[i]
        k = kinds[i]
        if k == "p":
            if t == "{":
                stack.append(None)
            elif t == "}":
                if stack:
                    stack.pop()
                    current = next((f for f in reversed(stack) if f is not None), module)
            i += 1
            continue
        if k != "i":
            i += 1
            continue
        if masked[i]:
            i += 1
            continue
        if t == "mod" and i + 2 < n and kinds[i + 1] == "i" and texts[i + 2] == "{":
            child = current.children.get(texts[i + 1])
            stack.append(child)
            if child is not None:
                current = child
            i += 3
            continue
        if t == "use" and (i == 0 or texts[i - 1] != "::"):
            leaves, end = parse_use(texts, kinds, i + 1)
            public = i > 0 and texts[i - 1] == "pub"
            for segs, alias, glob in leaves:
                if phase == "imports":
                    if glob:
                        continue
                    name = alias or (segs[-1] if segs[-1] != "self" else
                                     (segs[-2] if len(segs) > 1 else None))
                    if name and name != "_":
                        if segs[-1] == "self":
                            segs = segs[:-1]
                        current.imports[name] = resolver.absolute(current, segs)
                else:
                    target = resolver.resolve(current, segs)
                    add_edge(edges, current, target, info.path, tlines[i],
                             "reexport" if public else "use")
                    if public and current is module and module.path == ():
                        reexports.setdefault(module.crate.key, []).append(
                            "::".join(segs) + (" as " + alias if alias else "")
                            + ("::*" if glob else ""))
            i = end + 1
            continue
        if phase == "edges" and i + 1 < n and texts[i + 1] == "::" and (
                i == 0 or texts[i - 1] != "::"):
            segs = [t]
            j = i + 1
            while j + 1 < n and texts[j] == "::" and kinds[j + 1] == "i":
                segs.append(texts[j + 1])
                j += 2
            if i > 0 and texts[i - 1] == "$" and t == "crate":
                segs[0] = "crate"
            if len(segs) > 1 and segs[0] != "Self":
                target = resolver.resolve(current, segs)
                add_edge(edges, current, target, info.path, tlines[i], "path")
            i = j
            continue
        i += 1


def add_edge(edges: dict, source: Module, target: Module | None, file: str, line: int,
             how: str) -> None:
    if target is None:
        return
    a, b = source.node, target.node
    if a is b or b.test or a.test:
        return
    sites = edges.setdefault((a, b), [])
    if (file, line, how) not in sites:
        sites.append((file, line, how))


# ---------------------------------------------------------------------------------------
# Figures


PUB_KINDS = ("fn", "struct", "enum", "trait", "mod", "type", "const", "static", "use")


def public_items(crate: Crate) -> dict[str, int]:
    counts = {k: 0 for k in PUB_KINDS}
    for file in sorted({m.file for m in crate.modules if not m.test}):
        info = _FILES[file]
        texts, kinds, masked = info.texts, info.kinds, info.masked
        n = len(texts)
        for i in range(n - 1):
            if texts[i] != "pub" or kinds[i] != "i" or masked[i]:
                continue
            j = i + 1
            # qualifiers before fn: const / async / unsafe / extern "C"
            while j < n and (texts[j] in ("async", "unsafe", "extern") or kinds[j] == "s"
                             or (texts[j] == "const" and j + 1 < n
                                 and texts[j + 1] in ("fn", "async", "unsafe", "extern"))):
                j += 1
            if j < n and texts[j] in counts and kinds[j] == "i":
                counts[texts[j]] += 1
    counts["items"] = sum(counts[k] for k in PUB_KINDS if k != "use")
    counts["with_use"] = counts["items"] + counts["use"]
    return counts


def functions(root: str, crates: list[Crate], with_tests: bool) -> list[dict]:
    out = []
    seen = set()
    for crate in crates:
        for module in crate.modules:
            if module.inline or module.file in seen or (module.test and not with_tests):
                continue
            seen.add(module.file)
            info = _FILES[module.file]
            texts, kinds, tlines, masked = info.texts, info.kinds, info.tlines, info.masked
            n = len(texts)
            for i in range(n - 2):
                if texts[i] != "fn" or kinds[i] != "i" or kinds[i + 1] != "i":
                    continue
                if masked[i] and not with_tests:
                    continue
                depth = 0
                j = i + 2
                body = None
                while j < n:
                    t = texts[j]
                    if kinds[j] == "p":
                        if t in "([":
                            depth += 1
                        elif t in ")]":
                            depth -= 1
                        elif t == ";" and depth == 0:
                            break
                        elif t == "{" and depth == 0:
                            body = j
                            break
                    j += 1
                if body is None:
                    continue
                end = match_brace(texts, kinds, body)
                length = tlines[end] - tlines[i] + 1
                out.append({"function": texts[i + 1], "file": module.file,
                            "line": tlines[i], "lines": length,
                            "test": bool(module.test or masked[i])})
    out.sort(key=lambda f: (-f["lines"], f["file"], f["line"]))
    return out


def strongly_connected(nodes: list, succ: dict) -> list[list]:
    """Tarjan's algorithm, iterative."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    result: list[list] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(succ.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w is v:
                        break
                result.append(comp)
    return result


def label(m: Module) -> str:
    return m.file


def is_ancestor(a: Module, b: Module) -> bool:
    """a is a (strict) ancestor of b in one crate's module tree."""
    return a.crate is b.crate and len(a.path) < len(b.path) and b.path[:len(a.path)] == a.path


CIRCLE_RULES = {
    # The default, which finds the circles counted before: a module's use of an ancestor's items (a child's
    # `super::Item`, `crate::parent::Item`) is not an edge of the circle graph; everything
    # else is (a parent's code or `pub use` using its child, siblings, other modules).
    "up": "edges from a module to its ancestors dropped",
    # Every import is an edge: each mod.rs whose children use its items and which uses (or
    # re-exports) them forms a circle with them.
    "all": "every edge",
    # Neither direction between a module and its ancestors or descendants.
    "tree": "edges between a module and its ancestors or descendants dropped",
}


def circle_graph(edges: dict, rule: str) -> dict:
    succ: dict = {}
    for (a, b) in edges:
        if rule == "up" and is_ancestor(b, a):
            continue
        if rule == "tree" and (is_ancestor(b, a) or is_ancestor(a, b)):
            continue
        succ.setdefault(a, []).append(b)
    return succ


def elementary_cycles(comp: list, succ: dict, limit: int = 10000) -> list[list]:
    """Every elementary cycle inside one strongly connected component (small ones here),
    each starting at its least member: a depth-first search per start node over the nodes
    after it. Stops at limit."""
    order = sorted(comp, key=label)
    rank = {m: i for i, m in enumerate(order)}
    out: list[list] = []
    for s in order:
        stack = [(s, iter(sorted((w for w in succ.get(s, ()) if w in rank
                                  and rank[w] >= rank[s]), key=label)))]
        path = [s]
        on_path = {s}
        while stack and len(out) < limit:
            v, it = stack[-1]
            w = next(it, None)
            if w is None:
                stack.pop()
                on_path.discard(path.pop())
                continue
            if w is s:
                out.append(list(path))
            elif w not in on_path:
                path.append(w)
                on_path.add(w)
                stack.append((w, iter(sorted((x for x in succ.get(w, ()) if x in rank
                                              and rank[x] >= rank[s]), key=label))))
    return out


def find_circles(nodes: list, edges: dict, rule: str):
    succ = circle_graph(edges, rule)
    comps = [c for c in strongly_connected(nodes, succ) if len(c) > 1]
    circles = []
    cycles = []
    for comp in comps:
        members = sorted(comp, key=label)
        inside = set(comp)
        links = []
        for a in members:
            for b in sorted(succ.get(a, ()), key=label):
                if b in inside:
                    f, l, how = edges[(a, b)][0]
                    links.append({"from": label(a), "to": label(b), "at": f"{f}:{l}",
                                  "how": how, "sites": len(edges[(a, b)])})
        circles.append({"size": len(members), "members": [label(m) for m in members],
                        "modules": [m.name() for m in members], "edges": links})
        cycles.extend([label(m) for m in cyc] for cyc in elementary_cycles(comp, succ))
    circles.sort(key=lambda c: c["members"])
    cycles.sort()
    kept = sum(len(v) for v in succ.values())
    return circles, cycles, kept


def measure(root: str, with_tests: bool = False, circle_rule: str = "up") -> dict:
    started = time.perf_counter()
    _FILES.clear()
    crates, packages = discover_crates(root)
    for crate in crates:
        build_tree(root, crate)
    resolver = Resolver(crates)
    edges: dict = {}
    reexports: dict = {}
    # per crate: its imports first (so paths can start with an imported name), then edges
    for crate in crates:
        scan_uses_and_paths(root, crate, resolver, edges, reexports)

    # (a) crates
    crate_rows = []
    for c in crates:
        files = sorted(set(c.files))
        tests = sorted(set(c.test_files))
        crate_rows.append({
            "crate": c.key, "kind": c.kind, "root": c.root_file, "example": c.example,
            "layer": c.layer, "files": len(files),
            "lines": sum(_FILES[f].lines for f in files),
            "test_files": len(tests), "test_lines": sum(_FILES[f].lines for f in tests),
            "missing_modules": c.missing,
        })
    # .rs files under the packages' dirs that no crate's module tree reaches
    reached = {f for c in crates for f in c.files}
    outside = {"tests": [0, 0], "benches": [0, 0], "examples": [0, 0], "src": [0, 0],
               "other": [0, 0]}
    orphans = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in filenames:
            if not fn.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            if rel in reached:
                continue
            parts = rel.split(os.sep)
            where = next((p for p in parts[:-1] if p in outside), "other")
            with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
                nlines = sum(1 for _ in f)
            outside[where][0] += 1
            outside[where][1] += nlines
            if where == "src" and "bin" not in parts:
                orphans.append(rel)

    # (b) public items and re-exports
    pub_rows = []
    for c in crates:
        counts = public_items(c)
        names = reexports.get(c.key, [])
        pub_rows.append({"crate": c.key, "items": counts, "root_reexports": len(names),
                         "root_reexport_names": names})

    # (c) circles
    nodes = [m for c in crates for m in c.modules if not m.inline and not m.test]
    circles, cycles, kept = find_circles(nodes, edges, circle_rule)

    # (d) upward imports
    core = next((c for c in crates if c.kind == "lib" and c.name_in_code == "cutover"), None)
    upward = []
    unlayered = set()
    for (a, b), sites in sorted(edges.items(), key=lambda e: (label(e[0][0]), label(e[0][1]))):
        ca, cb = a.crate, b.crate
        if ca is cb:
            if ca is not core or not a.path or not b.path:
                continue
            ta, tb = a.path[0], b.path[0]
            if ta == tb:
                continue
            la, lb = LAYERS.get(ta), LAYERS.get(tb)
            if la is None:
                unlayered.add(ta)
            if lb is None:
                unlayered.add(tb)
            if la is not None and lb is not None and la < lb:
                upward.append({"kind": "module", "from": label(a), "to": label(b),
                               "from_layer": f"{ta} ({la})", "to_layer": f"{tb} ({lb})",
                               "at": sorted({f"{f}:{l}" for f, l, _ in sites})})
        else:
            la, lb = ca.layer, cb.layer
            if la is not None and lb is not None and la < lb:
                upward.append({"kind": "crate", "from": label(a), "to": label(b),
                               "from_layer": f"{ca.key} ({la})", "to_layer": f"{cb.key} ({lb})",
                               "at": sorted({f"{f}:{l}" for f, l, _ in sites})})
    # Cargo dependencies against the crate order
    for p in packages:
        lp = EXAMPLE_LAYER if p["example"] else CRATE_LAYERS.get(p["name"])
        for dep, section in sorted(p["deps"].items()):
            ld = CRATE_LAYERS.get(dep)
            if lp is not None and ld is not None and lp < ld:
                upward.append({"kind": "cargo", "from": p["manifest"], "to": dep,
                               "from_layer": f"{p['name']} ({lp})", "to_layer": f"{dep} ({ld})",
                               "at": [f"{p['manifest']} [{section}]"]})
    unknown_crates = sorted(c.key for c in crates if c.layer is None)
    upward_summary = {
        "importing_files": len(upward),
        "imported_modules": len({(u["from_layer"], u["to"]) for u in upward}),
        "module_pairs": len({(u["from_layer"], u["to_layer"]) for u in upward}),
        "sites": sum(len(u["at"]) for u in upward),
    }

    # (e) functions
    funcs = functions(root, crates, with_tests)
    # (f) README
    readme = os.path.join(root, "README.md")
    readme_lines = None
    if os.path.exists(readme):
        with open(readme, encoding="utf-8", errors="replace") as f:
            readme_lines = sum(1 for _ in f)

    return {
        "root": os.path.abspath(root),
        "crates": crate_rows,
        "outside_crates": {k: {"files": v[0], "lines": v[1]} for k, v in outside.items() if v[0]},
        "orphan_files": sorted(orphans),
        "public_items": pub_rows,
        "graph": {"nodes": len(nodes), "edges": len(edges), "circle_rule": circle_rule,
                  "edges_in_circle_graph": kept},
        "circles": circles,
        "elementary_cycles": cycles,
        "upward_imports": upward,
        "upward_summary": upward_summary,
        "unlayered_modules": sorted(unlayered),
        "crates_without_layer": unknown_crates,
        "longest_functions": funcs[:10],
        "readme_lines": readme_lines,
        "seconds": round(time.perf_counter() - started, 2),
    }


# ---------------------------------------------------------------------------------------
# Output


def print_text(r: dict) -> None:
    p = print
    p(f"root: {r['root']}")
    p("")
    p("(a) crates")
    p(f"  {'crate':<34} {'kind':<4} {'files':>5} {'lines':>7}  test files/lines  root")
    for c in r["crates"]:
        name = c["crate"] + (" (example)" if c["example"] else "")
        p(f"  {name:<34} {c['kind']:<4} {c['files']:>5} {c['lines']:>7}  "
          f"{c['test_files']:>5} {c['test_lines']:>6}     {c['root']}")
        for miss in c["missing_modules"]:
            p(f"      missing module file: {miss}")
    tf = sum(c["files"] for c in r["crates"] if not c["example"])
    tl = sum(c["lines"] for c in r["crates"] if not c["example"])
    p(f"  {'total (examples apart)':<34} {'':<4} {tf:>5} {tl:>7}")
    if r["outside_crates"]:
        p("  outside the crates' module trees: " + ", ".join(
            f"{k}/ {v['files']} files {v['lines']} lines" for k, v in r["outside_crates"].items()))
    for o in r["orphan_files"]:
        p(f"  orphan (under src/, no `mod` reaches it): {o}")
    p("")
    p("(b) public items (pub, not pub(crate)/pub(super); test code apart)")
    kinds = [k for k in PUB_KINDS if k != "use"]
    p(f"  {'crate':<26} " + " ".join(f"{k:>6}" for k in kinds)
      + "  items  +pub use =  all   root re-exported names")
    for row in r["public_items"]:
        it = row["items"]
        p(f"  {row['crate']:<26} " + " ".join(f"{it[k]:>6}" for k in kinds)
          + f" {it['items']:>6} {it['use']:>8} {it['with_use']:>6}  {row['root_reexports']:>5}")
    for row in r["public_items"]:
        if row["root_reexport_names"]:
            p(f"  {row['crate']} re-exports: " + ", ".join(row["root_reexport_names"]))
    p("")
    g = r["graph"]
    p(f"(c) import circles: {len(r['circles'])} strongly connected components, "
      f"{len(r['elementary_cycles'])} elementary cycles in them")
    p(f"    module graph: {g['nodes']} file modules, {g['edges']} edges; circles over "
      f"{g['edges_in_circle_graph']} of them ({g['circle_rule']}: "
      f"{CIRCLE_RULES[g['circle_rule']]})")
    for n, c in enumerate(r["circles"], 1):
        p(f"  {n}. {c['size']} modules: " + " <-> ".join(c["members"]))
        for e in c["edges"]:
            more = f", +{e['sites'] - 1} more" if e["sites"] > 1 else ""
            p(f"       {e['from']} -> {e['to']}   ({e['how']} at {e['at']}{more})")
    if r["elementary_cycles"]:
        p("    elementary cycles:")
        for cyc in r["elementary_cycles"][:50]:
            p("      " + " -> ".join(cyc + cyc[:1]))
        if len(r["elementary_cycles"]) > 50:
            p(f"      ... {len(r['elementary_cycles']) - 50} more")
    p("")
    up = r["upward_imports"]
    sm = r["upward_summary"]
    p(f"(d) upward imports: {len(up)} (importing file -> imported module); "
      f"{sm['imported_modules']} imported modules (from top-level module / crate), "
      f"{sm['module_pairs']} top-level module or crate pairs, {sm['sites']} sites")
    for u in up:
        p(f"  [{u['kind']}] {u['from']} ({u['from_layer']}) -> {u['to']} ({u['to_layer']})")
        for a in u["at"][:3]:
            p(f"       at {a}")
        if len(u["at"]) > 3:
            p(f"       ... {len(u['at']) - 3} more")
    if r["unlayered_modules"]:
        p(f"  not in LAYERS (not checked): {', '.join(r['unlayered_modules'])}")
    if r["crates_without_layer"]:
        p(f"  crates not in CRATE_LAYERS (not checked): {', '.join(r['crates_without_layer'])}")
    p("")
    p("(e) ten longest functions")
    for f in r["longest_functions"]:
        p(f"  {f['lines']:>5}  {f['function']:<32} {f['file']}:{f['line']}"
          + ("  (test)" if f["test"] else ""))
    p("")
    p(f"(f) README.md: {r['readme_lines']} lines")
    p("")
    p(f"({r['seconds']} s)")


def main(argv: list[str] | None = None) -> int:
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=default_root,
                    help="the repository to measure (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--check", action="store_true",
                    help="exit 1, listing them, if there is any import circle or upward import")
    ap.add_argument("--with-tests", action="store_true",
                    help="rank test functions too in the longest functions")
    ap.add_argument("--circles", choices=sorted(CIRCLE_RULES), default="up",
                    help="which edges make circles: 'up' (default: a module's uses of its "
                         "ancestors' items left out; finds the circles counted before), "
                         "'all' (every import), 'tree' (nothing between a module and its "
                         "ancestors or descendants)")
    args = ap.parse_args(argv)
    r = measure(args.root, args.with_tests, args.circles)
    if args.check:
        bad = bool(r["circles"] or r["upward_imports"])
        for what, names in (("top-level modules not in LAYERS", r["unlayered_modules"]),
                            ("crates not in CRATE_LAYERS", r["crates_without_layer"])):
            if names:
                print(f"warning: {what} (not checked): {', '.join(names)}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": not bad, "circles": r["circles"],
                              "upward_imports": r["upward_imports"]}, indent=2))
        elif bad:
            print(f"{len(r['circles'])} import circle(s), "
                  f"{len(r['upward_imports'])} upward import(s)")
            for c in r["circles"]:
                print("  circle: " + " <-> ".join(c["members"]))
                for e in c["edges"]:
                    print(f"      {e['from']} -> {e['to']}  at {e['at']}")
            for u in r["upward_imports"]:
                print(f"  upward [{u['kind']}]: {u['from']} ({u['from_layer']}) -> "
                      f"{u['to']} ({u['to_layer']})  at {u['at'][0]}")
        else:
            print("no import circle, no upward import")
        return 1 if bad else 0
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print_text(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
