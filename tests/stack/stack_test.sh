#!/usr/bin/env bash
# stack_lifecycle: two full local stacks (Kafka, Redis and the four services) side by side
# on free ports, in two temporary stack directories. Checks that both come up and print
# their endpoints, that each answers on its own ports, that one can be stopped without
# touching the other and leaves no process behind, that `up` works again after `down`,
# that `up` on a running stack starts nothing new, and that nothing is left at the end.
#
# Needs HUB_BUILD_DIR (set by ctest) with bin/hub-* and bin/hubctl built. Fails loudly on
# any deviation; always stops both stacks (EXIT trap).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
stack="$repo/deploy/local/stack"
export HUB_BUILD_DIR="${HUB_BUILD_DIR:-$repo/build}"
unset HUB_STACK_SERVICES HUB_STACK_DIR
# Services ready within the stack's own timeout, but never longer than ctest allows.
export HUB_STACK_TIMEOUT="${HUB_STACK_TIMEOUT:-90}"

SERVICES=(intake triage routing notification)
work="$(mktemp -d "${TMPDIR:-/tmp}/hub-stack-test.XXXXXX")"
dir_a="$work/a"
dir_b="$work/b"
failed=0

log() { printf 'stack_test: %s\n' "$*" >&2; }
fail() {
  printf 'stack_test: FAIL: %s\n' "$*" >&2
  failed=1
  exit 1
}

# Processes still running for the stack in DIR (by marker environment or command line).
leftovers() {
  local dir="$1" proc pid
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if grep -qzxF "HUB_STACK_OWNER=$dir" "$proc/environ" 2>/dev/null ||
      grep -qzF "$dir/" "$proc/cmdline" 2>/dev/null; then
      echo "$pid"
    fi
  done
}

cleanup() {
  local rc=$?
  trap - EXIT
  set +e
  for dir in "$dir_a" "$dir_b"; do
    [[ -d "$dir" ]] || continue
    HUB_STACK_DIR="$dir" "$stack" down >/dev/null 2>&1
    local left
    left="$(leftovers "$dir" | tr '\n' ' ')"
    if [[ -n "$left" ]]; then
      printf 'stack_test: FAIL: cleanup found processes of %s still running: %s\n' "$dir" "$left" >&2
      # shellcheck disable=SC2086  # one word per pid
      kill -KILL $left 2>/dev/null
      rc=1
    fi
  done
  if ((rc != 0 || failed != 0)); then
    for dir in "$dir_a" "$dir_b"; do
      for f in "$dir"/logs/*.log; do
        [[ -s "$f" ]] || continue
        printf -- '--- tail of %s ---\n' "$f" >&2
        tail -n 25 "$f" >&2
      done
    done
    rc=1
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---- ports: 13 per stack
mapfile -t ports < <("$repo/deploy/local/free-port" 26)
((${#ports[@]} == 26)) || fail "free-port gave ${#ports[@]} ports, wanted 26"

VARS=(HUB_KAFKA_PORT HUB_KAFKA_CONTROLLER_PORT HUB_REDIS_PORT HUB_SMTP_PORT HUB_NOTIFY_PORT
  HUB_INTAKE_GRPC_PORT HUB_INTAKE_HTTP_PORT HUB_TRIAGE_GRPC_PORT HUB_TRIAGE_HTTP_PORT
  HUB_ROUTING_GRPC_PORT HUB_ROUTING_HTTP_PORT HUB_NOTIFICATION_GRPC_PORT HUB_NOTIFICATION_HTTP_PORT)
declare -A A=() B=()
for i in "${!VARS[@]}"; do
  A[${VARS[$i]}]="${ports[$i]}"
  B[${VARS[$i]}]="${ports[$((i + 13))]}"
done

# run_stack a|b ARGS...: the stack script with that stack's directory and ports.
run_stack() {
  local which="$1" var
  shift
  local -a env_args=()
  if [[ "$which" == a ]]; then
    env_args+=("HUB_STACK_DIR=$dir_a")
    for var in "${VARS[@]}"; do env_args+=("$var=${A[$var]}"); done
  else
    env_args+=("HUB_STACK_DIR=$dir_b")
    for var in "${VARS[@]}"; do env_args+=("$var=${B[$var]}"); done
  fi
  env "${env_args[@]}" "$stack" "$@"
}

port_of() {
  local which="$1" var="$2"
  if [[ "$which" == a ]]; then echo "${A[$var]}"; else echo "${B[$var]}"; fi
}

# expected_endpoints a|b: the NAME=host:port lines `up` must end with.
expected_endpoints() {
  local which="$1" name upper dir
  dir="$([[ "$which" == a ]] && echo "$dir_a" || echo "$dir_b")"
  echo "kafka=127.0.0.1:$(port_of "$which" HUB_KAFKA_PORT)"
  echo "redis=127.0.0.1:$(port_of "$which" HUB_REDIS_PORT)"
  for name in "${SERVICES[@]}"; do
    upper="${name^^}"
    echo "${name}_grpc=127.0.0.1:$(port_of "$which" "HUB_${upper}_GRPC_PORT")"
    echo "${name}_http=127.0.0.1:$(port_of "$which" "HUB_${upper}_HTTP_PORT")"
  done
  echo "smtp=127.0.0.1:$(port_of "$which" HUB_SMTP_PORT) (mail in $dir/mail)"
  echo "notify=http://127.0.0.1:$(port_of "$which" HUB_NOTIFY_PORT) (requests in $dir/notify/requests.jsonl)"
}

check_endpoints() {
  local which="$1" out_file="$2" want got
  want="$(expected_endpoints "$which")"
  got="$(tail -n 12 "$out_file")"
  [[ "$got" == "$want" ]] || fail "stack $which: up's last lines are
$got
but should be
$want"
}

# check_answers a|b: Kafka, Redis and every service of the stack answer on its ports,
# and they are that stack's (its Redis's dir is in its stack dir).
check_answers() {
  local which="$1" dir kp rp out name upper hp
  dir="$([[ "$which" == a ]] && echo "$dir_a" || echo "$dir_b")"
  kp="$(port_of "$which" HUB_KAFKA_PORT)"
  rp="$(port_of "$which" HUB_REDIS_PORT)"
  out="$(kcat -b "127.0.0.1:$kp" -L -m 5 2>&1)" || fail "stack $which: Kafka on $kp does not answer: $out"
  [[ "$out" == *"broker 1 at 127.0.0.1:$kp"* ]] || fail "stack $which: Kafka on $kp answered oddly: $out"
  out="$(redis-cli -h 127.0.0.1 -p "$rp" ping 2>&1)"
  [[ "$out" == PONG ]] || fail "stack $which: Redis on $rp does not answer PING: $out"
  out="$(redis-cli -h 127.0.0.1 -p "$rp" config get dir 2>&1 | tail -n 1)"
  [[ "$out" == "$dir/redis" ]] || fail "stack $which: Redis on $rp serves $out, not $dir/redis"
  for name in "${SERVICES[@]}"; do
    upper="${name^^}"
    hp="$(port_of "$which" "HUB_${upper}_HTTP_PORT")"
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$hp/readyz" ||
      fail "stack $which: $name is not ready on http port $hp"
  done
  run_stack "$which" status >/dev/null || fail "stack $which: status says not all up"
}

# check_gone a|b: no process of the stack remains and none of its ports listens.
check_gone() {
  local which="$1" dir left var port
  dir="$([[ "$which" == a ]] && echo "$dir_a" || echo "$dir_b")"
  left="$(leftovers "$dir" | tr '\n' ' ')"
  [[ -z "$left" ]] || fail "stack $which: processes still running after down: $left"
  for var in "${VARS[@]}"; do
    port="$(port_of "$which" "$var")"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      fail "stack $which: port $port ($var) still accepts connections after down"
    fi
  done
  local rc=0
  run_stack "$which" status >/dev/null || rc=$?
  ((rc == 3)) || fail "stack $which: status after down exited $rc, want 3"
}

# pids_of a|b: the sorted pids of the stack's processes.
pids_of() {
  local dir
  dir="$([[ "$1" == a ]] && echo "$dir_a" || echo "$dir_b")"
  leftovers "$dir" | sort -n | tr '\n' ' '
}

for bin in hub-intake hub-triage hub-routing hub-notification hubctl; do
  [[ -x "$HUB_BUILD_DIR/bin/$bin" ]] || fail "$HUB_BUILD_DIR/bin/$bin is missing: build the project first"
done

# ---- 1. both stacks up at once
log "bringing up stacks a ($dir_a) and b ($dir_b) together"
run_stack a up >"$work/up-a.out" 2>"$work/up-a.err" &
pid_a=$!
run_stack b up >"$work/up-b.out" 2>"$work/up-b.err" &
pid_b=$!
rc_a=0 rc_b=0
wait "$pid_a" || rc_a=$?
wait "$pid_b" || rc_b=$?
((rc_a == 0)) || fail "stack a: up exited $rc_a: $(cat "$work/up-a.err")"
((rc_b == 0)) || fail "stack b: up exited $rc_b: $(cat "$work/up-b.err")"
check_endpoints a "$work/up-a.out"
check_endpoints b "$work/up-b.out"
check_answers a
check_answers b
log "both stacks are up and answer on their own ports"

# ---- 2. stop a; b keeps running
run_stack a down >/dev/null 2>"$work/down-a.err" || fail "stack a: down failed: $(cat "$work/down-a.err")"
check_gone a
check_answers b
log "stack a is down with nothing left; stack b still answers"

# ---- 3. a comes back after down
run_stack a up >"$work/up-a2.out" 2>"$work/up-a2.err" || fail "stack a: up after down failed: $(cat "$work/up-a2.err")"
check_endpoints a "$work/up-a2.out"
check_answers a
log "stack a is up again after down"

# ---- 3b. the stack tells a victim: a report with a safe email address is acknowledged by
# an email that reaches the stack's SMTP server over STARTTLS, and a letter to a safe address
# reaches its Notify stand-in. Only once each, whatever else happens.
intake_a="127.0.0.1:$(port_of a HUB_INTAKE_GRPC_PORT)"
"$HUB_BUILD_DIR/bin/hubctl" submit --intake "$intake_a" "$repo/deploy/samples/01-violence-with-injury.json" \
  "$repo/deploy/samples/06-burglary-elderly-victim.json" >"$work/submit-a.out" 2>&1 ||
  fail "stack a: submitting samples failed: $(cat "$work/submit-a.out")"
deadline=$((SECONDS + 60))
until compgen -G "$dir_a/mail/*.eml" >/dev/null &&
  grep -q '"type":"letter"' "$dir_a/notify/requests.jsonl" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "stack a: no email in $dir_a/mail or no letter in $dir_a/notify/requests.jsonl within 60s"
  sleep 0.5
done
grep -lq "X-Sink-TLS: yes" "$dir_a"/mail/*.eml || fail "stack a: the email did not arrive over TLS"
grep -l "Subject: Information for you" "$dir_a"/mail/*.eml >/dev/null ||
  fail "stack a: no acknowledgement email in $dir_a/mail"
log "stack a acknowledged the reports by email (SMTP, STARTTLS) and by letter (Notify stand-in)"

# ---- 4. up on a running stack starts nothing
before="$(pids_of a)"
run_stack a up >"$work/up-a3.out" 2>"$work/up-a3.err" || fail "stack a: second up failed: $(cat "$work/up-a3.err")"
after="$(pids_of a)"
check_endpoints a "$work/up-a3.out"
[[ "$before" == "$after" ]] || fail "stack a: second up changed the processes: before [$before] after [$after]"
grep -q "starting" "$work/up-a3.err" && fail "stack a: second up started something: $(cat "$work/up-a3.err")"
check_answers a
log "a second up on a running stack started nothing"

# ---- 5. both down, nothing left
run_stack a down >/dev/null 2>"$work/down-a2.err" || fail "stack a: final down failed: $(cat "$work/down-a2.err")"
run_stack b down >/dev/null 2>"$work/down-b.err" || fail "stack b: down failed: $(cat "$work/down-b.err")"
check_gone a
check_gone b
log "PASS: both stacks stopped, nothing left"
