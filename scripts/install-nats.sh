#!/usr/bin/env bash
# Makes a NATS server available to the events' tests and the demo (docs/src/events.md):
# nothing to do when one answers on 127.0.0.1:4222 or `nats-server` is installed (the tests
# then start it on a free port); else installs Debian's `nats-server`. Needs root and the
# Debian package archive; says so otherwise.
set -euo pipefail
if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || command -v nats-server >/dev/null 2>&1 \
  || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-nats.sh: no NATS server answers on 127.0.0.1:4222 and nats-server is missing; run this script as root to install Debian's nats-server" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nats-server
