#!/usr/bin/env bash
# Builds helm at a pinned release from its official Go module (helm.sh/helm/v3), through the Go
# module proxy. Cached under $CAUSEWAY_CACHE (default ~/.cache/causeway): a second run prints the
# binary's path at once.
#
#   deploy/helm/build.sh                # builds if needed, prints the helm path
#   HELM_VERSION=v3.21.4 deploy/helm/build.sh
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${CAUSEWAY_CACHE:-$HOME/.cache/causeway}/helm/$HELM_VERSION"
BIN="$CACHE/bin/helm"
if [ -x "$BIN" ] && [[ "$("$BIN" version --short 2>/dev/null)" == "${HELM_VERSION}"* ]]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "build.sh: Go is needed to build helm (https://go.dev/dl)" >&2; exit 2; }
mkdir -p "$CACHE/bin"
export GOTOOLCHAIN=local GOBIN="$CACHE/bin" CGO_ENABLED=0
echo "build.sh: building helm $HELM_VERSION into $CACHE/bin" >&2
go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "$BIN"
