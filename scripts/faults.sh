#!/usr/bin/env bash
# The fault table of docs/src/faults.md: every store (PostgreSQL, MariaDB, the MongoDB-wire
# server, an http: adapter) under every fault (stall mid-answer, reset once, reset for
# good, 10x latency, 5% packet loss) on long cassettes, with a release build; the checks of
# `cargo test`'s short runs apply to each. Writes target/faults/table.md. Needs root (a
# network namespace per run) and nft (installed by scripts/install-nft.sh when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-nft.sh
cargo test --release --test it -- --ignored --exact faults::the_fault_table_on_long_cassettes --nocapture
echo "written: target/faults/table.md ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
