#!/usr/bin/env bash
# Builds the Kubernetes binaries the lab runs — kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy — at one pinned release from the official Go modules, through
# the Go module proxy: a wrapper module requires k8s.io/kubernetes, each of its staging modules
# (k8s.io/api, k8s.io/client-go, ...) mapped to the published k8s.io/* module of the same release,
# and one `go build` of the upstream cmd/ packages (shared packages compile once). Cached under
# $CAUSEWAY_CACHE/kube/<version>/bin: a second run prints the directory at once.
#
# v1.34: Debian's containerd is 1.6, and Kubernetes 1.35 is the last release that supports
# containerd 1.x; kubelet ≥ 1.35 also refuses cgroup v1 (this machine's) by default. One release
# for every binary keeps the build to one module tree.
#
#   lab/kube/build.sh            # builds if needed, prints the directory holding the binaries
#   KUBE_VERSION=v1.34.3 lab/kube/build.sh
set -euo pipefail
source "$(dirname "$0")/../../scripts/go-tool.sh"
KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
CACHE="$(go_cache)/kube/$KUBE_VERSION"
BIN="$CACHE/bin"
go_lock "$CACHE"
cached=1
for b in "${BINARIES[@]}"; do go_cached "$BIN/$b" "Kubernetes $KUBE_VERSION" --version || cached=0; done
if [ "$cached" = 1 ]; then
  echo "$BIN"
  exit 0
fi
go_needed kube-apiserver
# Staging modules are published as v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
WORK="$CACHE/src"
mkdir -p "$WORK" "$BIN"
cd "$WORK"
echo "build.sh: building ${BINARIES[*]} $KUBE_VERSION (staging modules $STAGING_VERSION) in $WORK" >&2
# The release's own go.mod names its staging modules; each becomes a replace to the published one.
KMOD="$(go_env go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
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
rm -f main.go
pkgs=()
for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
mkdir -p "$BIN.tmp"
GOFLAGS=-mod=mod go_env go build -trimpath -o "$BIN.tmp/" \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" \
  "${pkgs[@]}" >&2
for b in "${BINARIES[@]}"; do mv "$BIN.tmp/$b" "$BIN/$b"; done
rmdir "$BIN.tmp"
echo "$BIN"
