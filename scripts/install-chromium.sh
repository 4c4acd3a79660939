#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the HTML report's browser test, if it is
# not installed yet. Needs root and the Debian package archive; says so otherwise.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium.sh: Chromium is missing; run this script as root to install Debian's chromium" >&2
  exit 1
fi
run() { "$@"; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -q
run apt-get install -y -q --no-install-recommends chromium
command -v chromium >/dev/null
