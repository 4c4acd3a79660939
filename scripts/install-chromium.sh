#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the HTML report's browser test, if it is
# not installed yet. Needs root (or sudo) and the Debian package archive.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q
run apt-get install -y -q --no-install-recommends chromium
command -v chromium >/dev/null
