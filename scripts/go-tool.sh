# Sourced by the build scripts of Go tools the tests use (CoreDNS, helm): go_tool <name> <package>
# <version> <expect> [ldflags] builds <package>@<version> from its official module through the Go
# module proxy into $CAUSEWAY_CACHE/<name>/<version>/bin (default ~/.cache/causeway) unless a binary
# there already prints <expect> for `<name> <version-args>` ($VERSION_ARGS, default --version),
# and prints the binary's path.
go_tool() {
  local name="$1" pkg="$2" version="$3" expect="$4" ldflags="${5:-}"
  local cache="${CAUSEWAY_CACHE:-$HOME/.cache/causeway}/$name/$version"
  local bin="$cache/bin/$name"
  # Output captured first: with pipefail, grep -q closing the pipe early would fail the check.
  if [ -x "$bin" ] && [[ "$("$bin" ${VERSION_ARGS:---version} 2>/dev/null)" == *"$expect"* ]]; then
    echo "$bin"
    return 0
  fi
  command -v go >/dev/null || { echo "build: Go is needed to build $name (https://go.dev/dl)" >&2; return 2; }
  mkdir -p "$cache/bin"
  echo "build: building $name $version into $cache/bin" >&2
  GOTOOLCHAIN=local GOBIN="$cache/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version" >&2
  echo "$bin"
}
