#!/usr/bin/env bash
# Builds wireguard-go (the userspace WireGuard the lab uses where the kernel has no module) at a
# pinned release from its official Go module, golang.zx2c4.com/wireguard, through the Go module
# proxy. Debian's wireguard-go is from 2022 and has no UDP GSO/GRO: on a small machine it moves a
# fifth of what the current release does. Cached under $CAUSEWAY_CACHE (default ~/.cache/causeway);
# a second run prints the binary's path at once.
#
#   lab/wireguard/build.sh       # builds if needed, prints the wireguard-go path
set -euo pipefail
source "$(dirname "$0")/../../scripts/go-tool.sh"
# The module's newest version (a pseudo-version: upstream tags releases in the binary, not the module);
# the binary reports it as wireguard-go v0.0.20250522.
WG_MODULE_VERSION="${WG_MODULE_VERSION:-v0.0.0-20260522210424-ecfc5a8d5446}"
WG_VERSION="${WG_VERSION:-v0.0.20250522}"
CACHE="$(go_cache)/wireguard-go/$WG_MODULE_VERSION"
BIN="$CACHE/wireguard-go"
go_lock "$CACHE"
if go_cached "$BIN" "wireguard-go $WG_VERSION" --version; then
  echo "$BIN"
  exit 0
fi
go_needed wireguard-go
mkdir -p "$CACHE"
echo "build.sh: building wireguard-go $WG_VERSION" >&2
GOBIN="$CACHE/bin.tmp" go_env go install -trimpath -ldflags "-s -w" "golang.zx2c4.com/wireguard@$WG_MODULE_VERSION" >&2
mv "$CACHE/bin.tmp/wireguard" "$BIN"
rmdir "$CACHE/bin.tmp"
echo "$BIN"
