#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of every input cutover reads from outside:
# the cassette, a rules file, a policy, a domain declaration, an adapter's protocol answers,
# a document as `cutover diff` parses it (against serde_json), and a run directory as
# `report`, `gate` and `merge` read it (cutover::fuzzing, fuzz/).
#
#   scripts/fuzz.sh [--runs N] [TARGET...]     default: 1000000 executions of each target
#
# Each corpus starts from the project's own files (fixtures/, examples/, fuzz/seeds/) and
# from what earlier runs kept (target/fuzz/corpus/TARGET). A crash, a hang (over 10 s for
# one input) or an allocation over 2 GiB stops that target: its input is written to
# fuzz/artifacts/TARGET/; keep it as fuzz/regressions/TARGET/NAME once fixed, and
# `cargo test` (tests/it/fuzzed.rs) replays it from then on.
#
# Prints one line per target: executions, corpus size, seconds, crashes. Exits 1 if any
# target found one. Needs the nightly toolchain; installs cargo-fuzz from crates.io when
# it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(cassette rules policy declaration protocol rundir document)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)..." >&2
  cargo install --locked cargo-fuzz >&2
fi
rustup toolchain list | grep -q '^nightly' || {
  echo "cargo fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
}

# The seeds of each target, from the project's own files.
seed() {
  local target="$1" dir="$2"
  case "$target" in
    cassette)
      for f in fixtures/*.jsonl fixtures/regressions/*.jsonl; do
        [ -f "$f" ] && head -n 40 "$f" > "$dir/$(basename "$f")"
      done ;;
    rules) cp fixtures/*.rules.toml "$dir/" ;;
    policy) cp fixtures/*.policy.toml "$dir/" ;;
    declaration)
      cp examples/tasks/domain.toml "$dir/tasks.toml"
      cp crates/conversations/domain.toml "$dir/conversations.toml"
      cp crates/cutover/src/kv/domain.toml "$dir/kv.toml" ;;
    protocol) ;;
    rundir) ;;
    document) ;;
  esac
  if [ -d "fuzz/seeds/$target" ]; then cp fuzz/seeds/"$target"/* "$dir/"; fi
  if [ -d "fuzz/regressions/$target" ]; then cp fuzz/regressions/"$target"/* "$dir/"; fi
}

cargo +nightly fuzz build -O >&2
failed=0
for target in "${targets[@]}"; do
  corpus="target/fuzz/corpus/$target"
  seeds="target/fuzz/seeds/$target"
  rm -rf "$seeds"
  mkdir -p "$corpus" "$seeds" "fuzz/artifacts/$target"
  seed "$target" "$seeds"
  log="target/fuzz/$target.log"
  start=$(date +%s)
  set +e
  cargo +nightly fuzz run -O "$target" "$corpus" "$seeds" -- \
    -runs="$runs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1 > "$log" 2>&1
  code=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  size=$(ls "$corpus" | wc -l)
  crashes=$(ls "fuzz/artifacts/$target" | wc -l)
  echo "$target: $execs executions, corpus $size inputs, ${seconds}s, exit $code, artifacts $crashes"
  if [ "$code" != 0 ]; then
    failed=1
    grep -E 'ERROR|panicked|SUMMARY' "$log" | head -5 >&2
  fi
done
exit "$failed"
