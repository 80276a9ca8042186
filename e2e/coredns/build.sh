#!/usr/bin/env bash
# Builds CoreDNS at a pinned release from its official Go module (github.com/coredns/coredns),
# through the Go module proxy, with its default plugin set. Cached under $CAUSEWAY_CACHE
# (default ~/.cache/causeway): a second run prints the binary's path at once.
#
#   e2e/coredns/build.sh                 # builds if needed, prints the coredns path
#   COREDNS_VERSION=v1.14.7 e2e/coredns/build.sh
set -euo pipefail
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CACHE="${CAUSEWAY_CACHE:-$HOME/.cache/causeway}/coredns/$COREDNS_VERSION"
BIN="$CACHE/bin/coredns"
# (Output captured first: with pipefail, grep -q closing the pipe early would fail the check.)
if [ -x "$BIN" ] && [[ "$("$BIN" -version 2>/dev/null)" == *"CoreDNS-${COREDNS_VERSION#v}"* ]]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go is needed to build CoreDNS (https://go.dev/dl)" >&2; exit 2; }
mkdir -p "$CACHE/bin"
export GOTOOLCHAIN=local GOBIN="$CACHE/bin" CGO_ENABLED=0
echo "build.sh: building CoreDNS $COREDNS_VERSION into $CACHE/bin" >&2
go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
echo "$BIN"
