#!/usr/bin/env bash
# Kills a recording at N random points and checks what each kill left (issue 30): every
# cassette file readable by cutover itself, a cut last line reported as cut by `cutover
# inspect`, no key half-sampled in a finished file, the dropped keys' counts adding up.
#
#   scripts/recorder-crash.sh [--kills N] [--seed S]      (defaults: 100 kills, seed 1)
#
# Builds once (release): the `cutover` binary and the `recorder_crash` example. Then, N
# times, in a fresh directory under target/recorder-crash/: starts `recorder_crash record`
# (windows of 300 ms, files of 32 KiB, a slow writer that a bursty caller overflows), sleeps
# a time drawn from the seed between 0.05 and 3 s (so kills land while lines are written,
# while a file is opened, while a window's files are finished), SIGKILLs it, and runs
# `recorder_crash check` on the directory (what it checks is in examples/recorder_crash.rs).
# Prints a table of the figures summed over the kills; exits 1 if any check found a
# violation (each is printed, with its directory, which is then kept).
set -euo pipefail
cd "$(dirname "$0")/.."

kills=100
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done

cargo build --release --quiet -p cutover-cli --bin cutover --example recorder_crash
bin=target/release/cutover
example=target/release/examples/recorder_crash
root=target/recorder-crash
rm -rf "$root"
mkdir -p "$root"

RANDOM=$seed
started=$(date +%s.%N)
declare -A sum=()
declare -A phases=()
failed=0
for ((k = 1; k <= kills; k++)); do
  dir="$root/kill-$k"
  mkdir "$dir"
  "$example" record "$dir" --seed "$k" >/dev/null &
  pid=$!
  # 50 to 3000 ms, from two draws of the seeded $RANDOM.
  ms=$(( 50 + (RANDOM * 32768 + RANDOM) % 2951 ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  if figures=$("$example" check "$dir" --seed "$k" --cutover "$bin" 2>"$dir.violations"); then
    rm -rf "$dir" "$dir.violations"
  else
    failed=$((failed + 1))
    echo "kill $k at ${ms} ms: $dir" >&2
    sed 's/^/  /' "$dir.violations" >&2
  fi
  for pair in $figures; do
    name=${pair%%=*}
    value=${pair#*=}
    if [ "$name" = phase ]; then
      phases[$value]=$(( ${phases[$value]:-0} + 1 ))
    else
      sum[$name]=$(( ${sum[$name]:-0} + value ))
    fi
  done
done
took=$(echo "$(date +%s.%N) - $started" | bc)

row() { printf '  %-44s %10s\n' "$1" "$2"; }
echo "recorder killed at $kills points (seed $seed) in ${took%.*} s"
row "kills" "$kills"
row "  landed while writing lines" "${phases[writing]:-0}"
row "  landed while opening a file" "${phases[opening]:-0}"
row "  landed while finishing a window" "${phases[finishing]:-0}"
row "cassette files checked" "${sum[files]:-0}"
row "  partial files" "${sum[partial]:-0}"
row "  finished files" "${sum[finished]:-0}"
row "  finished, still under their .partial name" "${sum[finished_as_partial]:-0}"
row "temporary files left (.tmp)" "${sum[tmp]:-0}"
row "cut last lines" "${sum[cut]:-0}"
row "  reported as cut by cutover inspect" "${sum[cut_reported]:-0}"
row "cut copies of a last partial file" "${sum[cut_copies]:-0}"
row "  reported as cut by cutover inspect" "${sum[cut_copies_reported]:-0}"
row "request lines read" "${sum[lines]:-0}"
row "keys checked (window, key)" "${sum[keys]:-0}"
row "windows" "${sum[windows]:-0}"
row "dropped keys counted by finished files" "${sum[dropped_keys]:-0}"
row "requests they left out" "${sum[left_out_requests]:-0}"
row "violations" "${sum[violations]:-0}"
row "kills with a violation" "$failed"
[ "$failed" -eq 0 ]
