#!/usr/bin/env bash
# Mutation score of the candidate repository (crates/conversations/src/postgres/) with the
# README's demo (recorded traffic and probes, no race check) as the test: a mutant is caught
# when the demo is no longer EQUIVALENT. Installs cargo-mutants (pinned) if it is missing.
#
#   scripts/mutants.sh                 # every mutant (about 80; hours on 2 cores)
#   scripts/mutants.sh --shard 0/4     # a quarter of them (cargo-mutants' own sharding)
#
# Extra arguments go to cargo-mutants. Results: mutants.out/ (outcomes.json, caught.txt,
# missed.txt, timeout.txt, unviable.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
version=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
  cargo install --locked --version "$version" cargo-mutants
fi
exec cargo mutants \
  --file 'crates/conversations/src/postgres/*.rs' \
  --test-package cutover-cli \
  --timeout 600 \
  "$@" \
  -- --test it -- --ignored --exact mutants::the_demo_replay_with_probes_is_equivalent
