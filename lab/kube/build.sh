#!/usr/bin/env bash
# Builds kube-apiserver at a pinned Kubernetes release from the official Go modules, through the
# Go module proxy: k8s.io/kubernetes with each of its staging modules (k8s.io/api, k8s.io/client-go,
# ...) mapped to the published k8s.io/* module of the same release. The binary is cached under
# $CAUSEWAY_CACHE (default ~/.cache/causeway): a second run prints its path at once.
#
#   lab/kube/build.sh            # builds if needed, prints the kube-apiserver path
#   KUBE_VERSION=v1.35.2 lab/kube/build.sh
set -euo pipefail
source "$(dirname "$0")/../../scripts/go-tool.sh"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CACHE="$(go_cache)/kube/$KUBE_VERSION"
BIN="$CACHE/bin/kube-apiserver"
go_lock "$CACHE"
if go_cached "$BIN" "Kubernetes $KUBE_VERSION" --version; then
  echo "$BIN"
  exit 0
fi
go_needed kube-apiserver
# Staging modules are published as v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
WORK="$CACHE/src"
mkdir -p "$WORK" "$CACHE/bin"
cd "$WORK"
# The project's module and build caches (scripts/go-tool.sh) and the local toolchain.
root="$(go_cache)"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOMODCACHE="$root/go/mod" GOCACHE="$root/go/build"
echo "build.sh: building kube-apiserver $KUBE_VERSION (staging modules $STAGING_VERSION) in $WORK" >&2
# The release's own go.mod names its staging modules; each becomes a replace to the published one.
KMOD="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
[ -f "$KMOD" ] || { echo "build.sh: could not fetch k8s.io/kubernetes@$KUBE_VERSION from the Go module proxy ($(go env GOPROXY))" >&2; exit 2; }
GO_LINE="$(grep -m1 '^go ' "$KMOD")"
{
  echo "module causeway.local/kubebuild"
  echo
  echo "$GO_LINE"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/[a-z0-9-]*$#\t\1 => \1 '"$STAGING_VERSION"'#p' "$KMOD"
  echo ")"
} >go.mod
cat >main.go <<'EOF'
// Command kube-apiserver: the upstream API server, built unchanged from its published modules.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
EOF
go mod tidy >&2
go build -trimpath -o "$BIN.tmp" \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" .
mv "$BIN.tmp" "$BIN"
echo "$BIN"
