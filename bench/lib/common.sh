# shellcheck shell=bash
# Shared pieces of the benchmark scripts (bench/pipeline/run, bench/intake/run); sourced,
# never executed. See docs/benchmarks.md.
#
# Offers: checks of the settings and binaries, a temporary work directory, a private full
# stack (deploy/local/stack up) and hub-bench-echo on free loopback ports, hub-loadgen runs
# whose JSON lines go to a results file, small helpers to read those lines, and an EXIT
# trap that always stops the load, the echo server and the stack, and fails the run if
# any of their processes is left.
#
# Sets: repo, stack (the stack script), build_dir, bin, and after bench_start: work,
# stack_dir, intake, redis, echo_addr, intake_http (host:port of intake's /metrics) and
# HUB_*_PORT. The script sets `results` (the JSON lines file) before bench_start.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
stack="$repo/deploy/local/stack"
build_dir="$(realpath -m "${HUB_BUILD_DIR:-$repo/build}")"
export HUB_BUILD_DIR="$build_dir"
bin="$build_dir/bin"
export HUB_NAMESPACE="${HUB_NAMESPACE:-hub}"

work=""
stack_dir=""
echo_pid=""
loadgen_pid=""
last_line=""
failed=0
# Stack services stopped with bench_stop_services (for the summary).
stopped_services=()

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  printf 'bench: error: %s\n' "$*" >&2
  exit 1
}

# bench_require_whole NAME...: each variable NAME holds a positive whole number.
bench_require_whole() {
  local var
  for var in "$@"; do
    [[ "${!var}" =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive whole number (got '${!var}')"
  done
}

# bench_require_binaries EXE...: each is built in $bin.
bench_require_binaries() {
  local exe
  for exe in "$@"; do
    [[ -x "$bin/$exe" ]] ||
      die "$bin/$exe is missing; build first (make build, or cmake --build $build_dir --target $exe)"
  done
}

# Processes of this run still alive: the stack's (by its marker variable or a command line
# naming the stack dir) and the echo server (by its own marker).
leftovers() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if grep -qzxF -e "HUB_STACK_OWNER=$stack_dir" -e "HUB_BENCH_OWNER=$work" "$proc/environ" 2>/dev/null ||
      grep -qzF "$work/" "$proc/cmdline" 2>/dev/null; then
      echo "$pid"
    fi
  done
}

stop_echo() {
  [[ -n "$echo_pid" ]] || return 0
  kill -TERM "$echo_pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$echo_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$echo_pid" 2>/dev/null || true
  wait "$echo_pid" 2>/dev/null || true
  echo_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  ((rc != 0)) && failed=1
  [[ -n "$work" ]] || exit "$rc"
  log "stopping the echo server and the stack"
  if [[ -n "$loadgen_pid" ]]; then
    kill -TERM "$loadgen_pid" 2>/dev/null
    wait "$loadgen_pid" 2>/dev/null
  fi
  stop_echo
  if [[ -f "$stack_dir/stack.env" ]]; then
    HUB_STACK_DIR="$stack_dir" "$stack" down >"$work/stack-down.log" 2>&1 ||
      { log "stack down failed:"; tail -n 20 "$work/stack-down.log" >&2; failed=1; }
  fi
  local left
  left="$(leftovers | tr '\n' ' ')"
  if [[ -n "${left// /}" ]]; then
    log "FAIL: processes of this run still running after stop: $left; killing them"
    # shellcheck disable=SC2086  # one word per pid
    kill -KILL $left 2>/dev/null
    failed=1
  fi
  if ((failed != 0)); then
    for f in "$stack_dir"/logs/*.log "$work"/echo.log; do
      [[ -s "$f" ]] || continue
      printf -- '--- tail of %s ---\n' "$f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if ((failed != 0)) || [[ "${HUB_BENCH_KEEP:-0}" == 1 ]]; then
    log "kept $work (stack logs in $work/stack/logs)"
  else
    rm -rf "$work"
  fi
  ((failed != 0 && rc == 0)) && rc=1
  exit "$rc"
}

# bench_start: the work directory and traps, then a private full stack on 11 free ports
# and hub-bench-echo on a 12th; empties the results file.
bench_start() {
  work="$(mktemp -d "${TMPDIR:-/tmp}/hub-bench.XXXXXX")"
  stack_dir="$work/stack"
  trap cleanup EXIT
  trap 'log "interrupted"; exit 130' INT
  trap 'log "terminated"; exit 143' TERM

  local -a ports
  mapfile -t ports < <("$repo/deploy/local/free-port" 14)
  ((${#ports[@]} == 14)) || die "free-port gave ${#ports[@]} ports, wanted 14"
  local port_vars=(HUB_KAFKA_PORT HUB_KAFKA_CONTROLLER_PORT HUB_REDIS_PORT HUB_SMTP_PORT HUB_NOTIFY_PORT
    HUB_INTAKE_GRPC_PORT HUB_INTAKE_HTTP_PORT HUB_TRIAGE_GRPC_PORT HUB_TRIAGE_HTTP_PORT
    HUB_ROUTING_GRPC_PORT HUB_ROUTING_HTTP_PORT HUB_NOTIFICATION_GRPC_PORT HUB_NOTIFICATION_HTTP_PORT)
  local i
  for i in "${!port_vars[@]}"; do
    export "${port_vars[$i]}=${ports[$i]}"
  done
  local echo_port="${ports[13]}"
  # shellcheck disable=SC2034  # used by the scripts that source this file
  intake="127.0.0.1:$HUB_INTAKE_GRPC_PORT"
  # shellcheck disable=SC2034
  intake_http="127.0.0.1:$HUB_INTAKE_HTTP_PORT"
  # shellcheck disable=SC2034
  redis="127.0.0.1:$HUB_REDIS_PORT"
  echo_addr="127.0.0.1:$echo_port"

  log "starting a private stack in $stack_dir (namespace $HUB_NAMESPACE)"
  unset HUB_STACK_SERVICES
  local up_start="$EPOCHREALTIME"
  HUB_STACK_DIR="$stack_dir" "$stack" up >"$work/stack-up.out" 2>"$work/stack-up.log" ||
    { tail -n 30 "$work/stack-up.log" >&2; die "stack up failed"; }
  log "stack up in $(awk -v a="$up_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"

  # Bounded lifetime: even a run killed with SIGKILL leaves the echo server for 30 min at most.
  HUB_BENCH_OWNER="$work" "$bin/hub-bench-echo" --port="$echo_port" --lifetime=30m \
    </dev/null >"$work/echo.log" 2>&1 &
  echo_pid=$!
  for ((i = 0; i < 100; i++)); do
    kill -0 "$echo_pid" 2>/dev/null || die "hub-bench-echo exited: $(cat "$work/echo.log")"
    (exec 3<>"/dev/tcp/127.0.0.1/$echo_port") 2>/dev/null && break
    sleep 0.1
  done
  ((i < 100)) || die "hub-bench-echo did not listen on $echo_addr within 10 s"

  # shellcheck disable=SC2154  # set by the script before bench_start
  mkdir -p "$(dirname "$results")"
  : >"$results"
}

# bench_stop_services NAME...: stops these services of the running stack (SIGTERM to the
# process group the stack started each in, SIGKILL after 20 s). `stack down` at the end
# skips what is no longer running.
bench_stop_services() {
  local name pid i
  for name in "$@"; do
    pid="$(cat "$stack_dir/run/$name.pid" 2>/dev/null)" || die "no pid file for $name"
    [[ "$pid" =~ ^[0-9]+$ ]] || die "bad pid file for $name"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
    stopped_services+=("$name")
  done
}

# loadgen LABEL ARGS...: one hub-loadgen run; appends its JSON line to the results file and
# leaves it in $last_line. Failed requests are reported, not fatal; a run that cannot start
# is. Runs in the background and is waited for, so a signal to this script interrupts the
# wait at once and cleanup stops the run, instead of bash deferring the trap until it ends.
loadgen() {
  local label="$1" out="$work/loadgen-$1.json" rc=0
  shift
  "$bin/hub-loadgen" --label="$label" "$@" >"$out" &
  loadgen_pid=$!
  wait "$loadgen_pid" || rc=$?
  loadgen_pid=""
  last_line="$(head -n 1 "$out")"
  if ((rc > 1)) || [[ -z "$last_line" ]]; then
    die "hub-loadgen ($label) could not run (exit $rc)"
  fi
  printf '%s\n' "$last_line" >>"$results"
}

# field JSON_LINE KEY: a number (or true/false) from a hub-loadgen line; its keys are flat.
field() {
  if [[ "$1" =~ \"$2\":(-?[0-9.eE+]+|true|false) ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  else
    printf 'n/a'
  fi
}

# median_line LINE...: the line with the median throughput_per_s (the lower middle one
# for an even count).
median_line() {
  local line
  for line in "$@"; do
    printf '%s %s\n' "$(field "$line" throughput_per_s)" "$line"
  done | sort -g | awk -v n="$#" 'NR == int((n + 1) / 2) { sub(/^[^ ]+ /, ""); print }'
}

# ratio A B: A / B to 4 places, or n/a.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a != "n/a" && b != "n/a" && b > 0) printf "%.4f", a / b; else print "n/a" }'
}

# verdict VALUE TARGET OP: "met" or "NOT MET" for VALUE OP TARGET (OP is >= or <).
verdict() {
  awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
    if (v == "n/a") { print "n/a"; exit }
    ok = (op == ">=") ? (v >= t) : (v < t); print ok ? "met" : "NOT MET" }'
}

# machine_line TITLE: TITLE, the time, the cores, the load average and the commit.
machine_line() {
  printf '%s, %s, %s cores, load average at end %s, commit %s\n' "$1" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
