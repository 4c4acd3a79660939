#!/usr/bin/env bash
# Runs `cutover demo` (the conversations migration, events compared) many times and counts
# what each run found: its exit code, its verdict, its `before_commit` divergences and its
# other event divergences, and its duration. Each run starts its own servers' databases, so
# runs are independent; a run's results stay in target/demo-runs/NAME/RUN.
#
#   scripts/demo-runs.sh [--runs N] [--name NAME] [--expect CLASS] [--resume] [-- DEMO ARGS...]
#
# --resume keeps the runs already in target/demo-runs/NAME and goes on up to N in all (the
# same arguments each time), so 100 runs can be made in several sittings.
#
# CUTOVER_BIN names a binary to run instead of building target/release/cutover (to go on
# building while the runs go on).
#
# Without --expect, every run must be EQUIVALENT (exit 0) with no `before_commit`
# divergence: the script exits 1 otherwise. With --expect CLASS (e.g. before_commit, or
# events for a forgotten, swapped or renamed event), every run must be DIVERGENT with a
# divergence of that class; the script prints how many were and exits 1 when one was not.
# Example: the shipped repositories over 100 runs, then the planted in-transaction publish:
#
#   scripts/demo-runs.sh --runs 100 --name shipped
#   scripts/demo-runs.sh --runs 100 --name in-transaction --expect before_commit -- \
#     --events-defect in-transaction
set -euo pipefail
cd "$(dirname "$0")/.."

runs=100
name=shipped
expect=""
resume=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --expect) expect="$2"; shift 2 ;;
    --resume) resume=1; shift ;;
    --) shift; break ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done

bin="${CUTOVER_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=target/release/cutover
fi
dir="target/demo-runs/$name"
summary="$dir/summary.tsv"
if [ "$resume" = 0 ] || [ ! -f "$summary" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  printf 'run\texit\tseconds\tbefore_commit\tevents\tas_expected\n' > "$summary"
fi
done_runs=$(($(wc -l < "$summary") - 1))
for i in $(seq $((done_runs + 1)) "$runs"); do
  out="$dir/$i"
  start=$(date +%s.%N)
  set +e
  "$bin" demo --out "$out" --format json "$@" > "$out.json" 2> "$out.log"
  code=$?
  set -e
  seconds=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
  read -r early events < <(python3 - "$out/results.jsonl" <<'EOF'
import json, sys
early = events = 0
try:
    for line in open(sys.argv[1]):
        for d in json.loads(line).get("divergences", []):
            early += d["class"] == "before_commit"
            events += d["class"] == "events"
except FileNotFoundError:
    early = events = -1
print(early, events)
EOF
)
  if [ -z "$expect" ]; then
    ok=$([ "$code" -eq 0 ] && [ "$early" -eq 0 ] && [ "$events" -eq 0 ] && echo 1 || echo 0)
  elif [ "$expect" = before_commit ]; then
    ok=$([ "$code" -eq 1 ] && [ "$early" -gt 0 ] && echo 1 || echo 0)
  else
    ok=$([ "$code" -eq 1 ] && [ "$events" -gt 0 ] && echo 1 || echo 0)
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$code" "$seconds" "$early" "$events" "$ok" >> "$summary"
  echo "run $i/$runs: exit $code, ${seconds}s, before_commit $early, events $events$([ "$ok" = 1 ] || echo '  <-- not as expected')"
done
python3 - "$summary" "${expect:-none}" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
secs = [float(r["seconds"]) for r in rows]
good = sum(r["as_expected"] == "1" for r in rows)
print(f"{len(rows)} runs, expected {sys.argv[2]}: {good} as expected, "
      f"{len(rows) - good} not; duration median {statistics.median(secs):.1f}s, "
      f"min {min(secs):.1f}s, max {max(secs):.1f}s; runs with before_commit: "
      f"{sum(int(r['before_commit']) > 0 for r in rows)}")
sys.exit(0 if good == len(rows) else 1)
EOF
