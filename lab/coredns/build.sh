#!/usr/bin/env bash
# Builds CoreDNS at a pinned release from its official Go module (github.com/coredns/coredns),
# with its default plugin set, through the Go module proxy; cached (scripts/go-tool.sh): a second
# run prints the binary's path at once.
#
#   lab/coredns/build.sh                 # builds if needed, prints the coredns path
#   COREDNS_VERSION=v1.14.7 lab/coredns/build.sh
set -euo pipefail
source "$(dirname "$0")/../../scripts/go-tool.sh"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
VERSION_ARGS=-version go_tool coredns github.com/coredns/coredns "$COREDNS_VERSION" "CoreDNS-${COREDNS_VERSION#v}"
