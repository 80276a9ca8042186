# Sourced by setup.sh: run_step "label" cmd args… — one line per step with its time (a spinner
# while it runs on a terminal), the command's output in a log under $CAUSEWAY_CACHE/logs; on
# failure the log's last lines and its path, and exit 1.
STEP_LOG_DIR="${CAUSEWAY_CACHE:-$HOME/.cache/causeway}/logs"
if ! mkdir -p "$STEP_LOG_DIR" 2>/dev/null || [ ! -w "$STEP_LOG_DIR" ]; then
  echo "✗ cache directory ${CAUSEWAY_CACHE:-$HOME/.cache/causeway} is not writable; set CAUSEWAY_CACHE to a writable directory" >&2
  exit 2
fi
STEP_LOG="$STEP_LOG_DIR/setup-$(date +%Y%m%dT%H%M%S).log"

run_step() {
  local label="$1"
  shift
  local t0 spinner="" rc=0
  t0=$(date +%s.%N)
  echo "\$ $*" >>"$STEP_LOG"
  if [ -t 1 ]; then
    (
      local frames="⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" i=0
      while :; do
        printf '\r%s %s %ss…\033[K' "${frames:i++%10:1}" "$label" "$(awk "BEGIN{printf \"%d\", $(date +%s.%N)-$t0}")"
        sleep 0.1
      done
    ) &
    spinner=$!
  fi
  "$@" >>"$STEP_LOG" 2>&1 || rc=$?
  [ -n "$spinner" ] && { kill "$spinner" 2>/dev/null; wait "$spinner" 2>/dev/null || true; printf '\r'; }
  local took
  took=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")
  if [ "$rc" -ne 0 ]; then
    printf '✗ %s (%s s)\033[K\n' "$label" "$took"
    echo "  last lines of the log:" >&2
    tail -n 20 "$STEP_LOG" | sed 's/^/    /' >&2
    echo "  full log: $STEP_LOG" >&2
    exit 1
  fi
  printf '✓ %s (%s s)\033[K\n' "$label" "$took"
}
