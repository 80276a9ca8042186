#!/usr/bin/env bash
# Installs what Causeway needs on a fresh Debian machine: system packages (when root) and the
# npm dependencies, which bring Node 24. Idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(iproute2 iptables ipset iperf3 iputils-ping procps ethtool etcd-server openssl wireguard-tools wireguard-go tcpdump dnsperf zsh nats-server)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The package enables a host-wide nats-server; Causeway starts its own inside lab namespaces.
    if command -v systemctl >/dev/null && systemctl is-enabled nats-server >/dev/null 2>&1; then systemctl disable --now nats-server >/dev/null 2>&1 || true; fi
  else
    echo "setup: missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  fi
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
