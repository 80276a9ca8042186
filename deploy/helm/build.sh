#!/usr/bin/env bash
# Builds helm at a pinned release from its official Go module (helm.sh/helm/v3) through the Go
# module proxy; cached (scripts/go-tool.sh): a second run prints the binary's path at once.
#
#   deploy/helm/build.sh                # builds if needed, prints the helm path
#   HELM_VERSION=v3.21.4 deploy/helm/build.sh
set -euo pipefail
source "$(dirname "$0")/../../scripts/go-tool.sh"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
VERSION_ARGS="version --short" go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
