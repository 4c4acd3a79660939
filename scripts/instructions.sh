#!/usr/bin/env bash
# The hot paths counted in instructions (benches/instructions.rs: parse, diff, normalize,
# the cassette reader, the protocol codec), which do not move with the machine's load.
# Installs gungraun-runner at the version of the gungraun library in Cargo.lock (the two
# must match) and valgrind when missing, then runs the bench; extra arguments go to it
# (`-- --save-baseline=main`, `-- --baseline=main` to compare with a saved run).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  apt-get update -qq && apt-get install -y -qq valgrind
fi
version=$(cargo metadata --format-version 1 --locked 2>/dev/null |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "gungraun"))')
root=target/gungraun-runner-$version
if [ ! -x "$root/bin/gungraun-runner" ]; then
  cargo install --quiet --locked --version "$version" --root "$root" gungraun-runner
fi
GUNGRAUN_RUNNER="$PWD/$root/bin/gungraun-runner" cargo bench --bench instructions "$@"
