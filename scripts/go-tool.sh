# Sourced by the build scripts of the Go tools the lab and the tests use (kube-apiserver, CoreDNS,
# helm, wireguard-go). Everything they download and build lives under $CAUSEWAY_CACHE (default
# ~/.cache/causeway): the Go module cache and build cache too, so a scratch CAUSEWAY_CACHE
# measures a truly cold build and nothing outside it is touched.

# The cache root; fails naming it (and the variable that moves it) when it cannot be written.
go_cache() {
  local root="${CAUSEWAY_CACHE:-$HOME/.cache/causeway}"
  if ! mkdir -p "$root" 2>/dev/null || [ ! -w "$root" ]; then
    echo "build: cache directory $root is not writable; set CAUSEWAY_CACHE to a writable directory" >&2
    return 2
  fi
  echo "$root"
}

# go_cached <bin> <expect> <version args…>: true when <bin> exists and its version output contains <expect>.
go_cached() {
  local bin="$1" expect="$2"
  shift 2
  # Output captured first: with pipefail, grep -q closing the pipe early would fail the check.
  [ -x "$bin" ] && [[ "$("$bin" "$@" 2>/dev/null)" == *"$expect"* ]]
}

# go_lock <dir>: holds an exclusive lock on <dir>.lock until the script ends, so two runs that need
# the same tool at once (a demo building CoreDNS while its lab starts, tests in parallel) build it
# once: the second waits, then finds it cached.
go_lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1.lock"
  flock 9
}

# Fails naming the tool when Go is missing.
go_needed() {
  command -v go >/dev/null || { echo "build: Go is needed to build $1 (https://go.dev/dl)" >&2; return 2; }
}

# Runs a go command with the project's caches, the local toolchain, no cgo.
go_env() {
  local root
  root="$(go_cache)"
  GOMODCACHE="$root/go/mod" GOCACHE="$root/go/build" GOTOOLCHAIN=local CGO_ENABLED=0 "$@"
}

# go_tool <name> <package> <version> <expect> [ldflags]: builds <package>@<version> from its official
# module through the Go module proxy into $CAUSEWAY_CACHE/<name>/<version>/bin unless a binary there
# already prints <expect> for `<name> <version-args>` ($VERSION_ARGS, default --version); prints its path.
go_tool() {
  local name="$1" pkg="$2" version="$3" expect="$4" ldflags="${5:-}"
  local cache
  cache="$(go_cache)/$name/$version"
  local bin="$cache/bin/$name"
  go_lock "$cache"
  # shellcheck disable=SC2086 # VERSION_ARGS is a word list
  if go_cached "$bin" "$expect" ${VERSION_ARGS:---version}; then
    echo "$bin"
    return 0
  fi
  go_needed "$name"
  mkdir -p "$cache/bin"
  echo "build: building $name $version into $cache/bin" >&2
  GOBIN="$cache/bin" go_env go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version" >&2
  echo "$bin"
}
