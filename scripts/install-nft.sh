#!/usr/bin/env bash
# Installs Debian's nftables for the fault tests' packet loss (docs/src/faults.md), if `nft`
# is not installed yet; the tests run it when it is missing. Needs root and the Debian
# package archive; says so otherwise.
set -euo pipefail
if command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-nft.sh: nft is missing; run this script as root to install Debian's nftables" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nftables
command -v nft >/dev/null || [ -x /usr/sbin/nft ]
