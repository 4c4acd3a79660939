#!/usr/bin/env bash
# `cutover diff` beside its peers on the same two large documents, in one run: jsondiffpatch
# (npm), deepdiff (PyPI), and Python's own json.load and ==. Prints a markdown table of wall
# time and peak memory (/usr/bin/time) for each, with the date and the commit.
#
#   benches/peers.sh [SIZE_MB] [RUNS]      (defaults: 38 MB a document, 3 runs; the best is shown)
#
# Installs the peers into target/peers/ (npm and a Python venv) when missing; writes the
# documents with benches/large_json.py (one deep field changed).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-38}
runs=${2:-3}
peers=target/peers
mkdir -p "$peers/docs"
if [ ! -d "$peers/node_modules/jsondiffpatch" ]; then
  npm install --silent --prefix "$peers" jsondiffpatch@0.7 >/dev/null
fi
if [ ! -x "$peers/venv/bin/python" ]; then
  python3 -m venv "$peers/venv"
  "$peers/venv/bin/pip" install --quiet deepdiff
fi
python3 benches/large_json.py "$peers/docs" "$size"
left="$peers/docs/left.json"
right="$peers/docs/right.json"
cargo build --release --quiet -p cutover-cli --bin cutover

cat >"$peers/jdp.mjs" <<'EOF'
import { readFileSync } from "node:fs";
import { create } from "jsondiffpatch";
const [l, r] = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, "utf8")));
const delta = create().diff(l, r);
console.log(delta ? "different" : "equal");
EOF
cat >"$peers/load.py" <<'EOF'
import json, sys
l, r = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
print("equal" if l == r else "different")
EOF
cat >"$peers/deep.py" <<'EOF'
import json, sys
from deepdiff import DeepDiff
l, r = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:3])
print("different" if DeepDiff(l, r) else "equal")
EOF

# Best wall time and its peak RSS over RUNS runs: "SECONDS MB".
best() {
  local out=() t
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$peers/time" -f "%e %M" "$@" >/dev/null 2>&1 || true
    out+=("$(tail -1 "$peers/time")")
  done
  printf '%s\n' "${out[@]}" | sort -n | head -1 | awk '{printf "%.2f s | %.0f MB", $1, $2 / 1024}'
}

input=$(( $(stat -c %s "$left") + $(stat -c %s "$right") ))
echo "Two documents of $(( input / 2000000 )) MB each ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD), best of $runs):"
echo
echo "| tool | wall time | peak memory |"
echo "|---|---|---|"
echo "| \`cutover diff\` | $(best target/release/cutover diff "$left" "$right") |"
echo "| jsondiffpatch (Node $(node --version)) | $(best node "$peers/jdp.mjs" "$left" "$right") |"
echo "| Python json.load + == | $(best python3 "$peers/load.py" "$left" "$right") |"
echo "| deepdiff (one run) | $(runs=1 best "$peers/venv/bin/python" "$peers/deep.py" "$left" "$right") |"
