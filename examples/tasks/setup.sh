#!/usr/bin/env bash
# Creates (once) the virtualenv the PostgreSQL side of the tasks example runs in, and prints
# its python on the last line of stdout:
#
#   VENV_PY=$(examples/tasks/setup.sh | tail -n 1)
#
# The venv is ${CARGO_TARGET_DIR:-<repo>/target}/tasks-venv, with exact pins. A marker file
# names the pins installed: when it is there, nothing is done (quick and idempotent). Callers
# running at once take turns under flock, so two of them never build the venv together.
# pip's output goes to stderr; stdout holds only the python's path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
mkdir -p "$target"
target=$(cd "$target" && pwd)
venv=$target/tasks-venv
python=${PYTHON:-python3}

# Exact pins: psycopg 3 and its compiled libpq wheel (no system libpq needed).
pins=(psycopg==3.3.9 psycopg-binary==3.3.9 typing-extensions==4.16.0)
marker=$venv/.installed-$(printf '%s\n' "${pins[@]}" | sha256sum | cut -c1-16)

exec 9>"$target/tasks-venv.lock"
flock 9
if [ ! -e "$marker" ]; then
    echo "tasks: creating $venv with ${pins[*]}" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${pins[@]}" >&2
    "$venv/bin/python" -c 'import psycopg; print("tasks: psycopg", psycopg.__version__, psycopg.pq.__impl__)' >&2
    touch "$marker"
fi
flock -u 9
echo "$venv/bin/python"
