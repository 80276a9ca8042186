#!/usr/bin/env bash
# Installs what Causeway needs on a fresh Debian machine: system packages (when root) and the
# npm dependencies, which bring Node 24. Idempotent and quick when everything is there. One line
# per step; the tools' own output goes to a log under $CAUSEWAY_CACHE/logs (shown when a step fails).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
PKGS=(iproute2 iptables ipset iperf3 iputils-ping procps ethtool etcd-server openssl wireguard-tools wireguard-go tcpdump dnsperf zsh nats-server mmdebstrap containerd runc containernetworking-plugins conntrack nftables gcc libc6-dev chromium-headless-shell)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
install_packages() {
  # A package index that cannot be reached fails within a minute, naming it, instead of hanging.
  apt-get -o Acquire::http::Timeout=20 -o Acquire::Retries=1 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The package enables a host-wide nats-server; Causeway starts its own inside lab namespaces.
  if command -v systemctl >/dev/null && systemctl is-enabled nats-server >/dev/null 2>&1; then systemctl disable --now nats-server >/dev/null 2>&1 || true; fi
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "✓ system packages (all ${#PKGS[@]} installed)"
else
  if [ "$(id -u)" = 0 ]; then
    run_step "system packages (${#missing[@]}: ${missing[*]})" install_packages
  else
    echo "setup: missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  fi
fi
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  run_step "npm dependencies (Node 24 included)" npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=30000 --fetch-retries=1
else
  echo "✓ npm dependencies (up to date)"
fi
