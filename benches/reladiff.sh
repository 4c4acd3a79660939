#!/bin/sh
# reladiff (PyPI) in a virtualenv under the build directory, for `cargo bench --bench verify`.
#
#   benches/reladiff.sh --install      installs it unless there, prints the program's path
#   benches/reladiff.sh ARGS...        runs it (installing first)
#
# The build directory is $CARGO_TARGET_DIR, else the workspace's target/. PostgreSQL is
# reached through psycopg2 (the binary wheel).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv="${CARGO_TARGET_DIR:-$here/target}/reladiff-venv"
if [ ! -x "$venv/bin/reladiff" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check reladiff psycopg2-binary >&2
fi
if [ "${1:-}" = "--install" ]; then
    echo "$venv/bin/reladiff"
    exit 0
fi
exec "$venv/bin/reladiff" "$@"
