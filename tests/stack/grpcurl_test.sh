#!/usr/bin/env bash
# grpcurl_reflection: an ordinary gRPC client (grpcurl) discovers intake's API by server
# reflection alone — no .proto files — and calls it: lists the services, describes
# IntakeService, checks health, submits a sample report and reads the receipt, and submits
# a bad report and sees INVALID_ARGUMENT with google.rpc.BadRequest field violations
# decoded from the error details.
#
# Starts one full local stack on free ports in a temporary directory; always stops it.
# Needs HUB_BUILD_DIR (set by ctest) and grpcurl (deploy/setup/install-grpcurl).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
stack="$repo/deploy/local/stack"
export HUB_BUILD_DIR="${HUB_BUILD_DIR:-$repo/build}"
export HUB_STACK_TIMEOUT="${HUB_STACK_TIMEOUT:-90}"
unset HUB_STACK_SERVICES HUB_MASTER_KEY_FILE
grpcurl="$("$repo/deploy/setup/install-grpcurl")"

work="$(mktemp -d "${TMPDIR:-/tmp}/hub-grpcurl-test.XXXXXX")"
export HUB_STACK_DIR="$work/stack"
fail() {
  printf 'grpcurl_test: FAIL: %s\n' "$*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  trap - EXIT
  "$stack" down >/dev/null 2>&1 || true
  if ((rc != 0)); then
    for f in "$HUB_STACK_DIR"/logs/intake.log; do
      [[ -s "$f" ]] && { printf -- '--- tail of %s ---\n' "$f" >&2; tail -n 25 "$f" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

mapfile -t ports < <("$repo/deploy/local/free-port" 13)
VARS=(HUB_KAFKA_PORT HUB_KAFKA_CONTROLLER_PORT HUB_REDIS_PORT HUB_SMTP_PORT HUB_NOTIFY_PORT
  HUB_INTAKE_GRPC_PORT HUB_INTAKE_HTTP_PORT HUB_TRIAGE_GRPC_PORT HUB_TRIAGE_HTTP_PORT
  HUB_ROUTING_GRPC_PORT HUB_ROUTING_HTTP_PORT HUB_NOTIFICATION_GRPC_PORT HUB_NOTIFICATION_HTTP_PORT)
for i in "${!VARS[@]}"; do export "${VARS[$i]}=${ports[$i]}"; done
"$stack" up >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "stack did not come up"; }
intake="127.0.0.1:$HUB_INTAKE_GRPC_PORT"

services="$("$grpcurl" -plaintext "$intake" list)" || fail "list failed: $services"
for want in hub.intake.v1.IntakeService grpc.health.v1.Health; do
  grep -qx "$want" <<<"$services" || fail "list does not show $want: $services"
done

described="$("$grpcurl" -plaintext "$intake" describe hub.intake.v1.IntakeService)" ||
  fail "describe failed: $described"
for rpc in SubmitCrimeReport UpdateCrimeReport BulkSubmitCrimeReports SubmitSelfReferral \
  RequestErasure; do
  grep -q "rpc $rpc" <<<"$described" || fail "describe does not show $rpc: $described"
done
message="$("$grpcurl" -plaintext "$intake" describe hub.intake.v1.Victim)" ||
  fail "describe Victim failed: $message"
grep -q "date_of_birth" <<<"$message" || fail "Victim has no date_of_birth: $message"

health="$("$grpcurl" -plaintext -d '{"service": ""}' "$intake" \
  grpc.health.v1.Health/Check)" || fail "health check failed: $health"
grep -q SERVING <<<"$health" || fail "intake not SERVING: $health"

# A sample report, wrapped as a SubmitCrimeReportRequest, from its own force's system.
sample="$(ls "$repo"/deploy/samples/*.json | head -n 1)"
force="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forceCode"])' "$sample")"
request="$(python3 -c 'import json,sys; print(json.dumps({"report": json.load(open(sys.argv[1]))}))' "$sample")"
receipt="$("$grpcurl" -plaintext -H "x-hub-caller: police:$force:grpcurl" -d "$request" "$intake" \
  hub.intake.v1.IntakeService/SubmitCrimeReport 2>&1)" || fail "submit failed: $receipt"
grep -q "\"case_id\": \"c_" <<<"$receipt" || fail "no case id in the receipt: $receipt"

# The same again: the original receipt, marked duplicate.
again="$("$grpcurl" -plaintext -H "x-hub-caller: police:$force:grpcurl" -d "$request" "$intake" \
  hub.intake.v1.IntakeService/SubmitCrimeReport 2>&1)" || fail "resubmit failed: $again"
grep -q '"duplicate": true' <<<"$again" || fail "resubmission not marked duplicate: $again"

# A bad report: INVALID_ARGUMENT, and the BadRequest details decoded by grpcurl.
if bad="$("$grpcurl" -plaintext -H "x-hub-caller: police:$force:grpcurl" \
  -d '{"report": {"forceCode": "cambs", "victims": []}}' "$intake" \
  hub.intake.v1.IntakeService/SubmitCrimeReport 2>&1)"; then
  fail "a bad report was accepted: $bad"
fi
grep -q "InvalidArgument" <<<"$bad" || fail "bad report not INVALID_ARGUMENT: $bad"
grep -q "google.rpc.BadRequest" <<<"$bad" || fail "no BadRequest in the error details: $bad"
for field in report.force_code report.source_system report.victims; do
  grep -q "\"field\": \"$field\"" <<<"$bad" || fail "no violation for $field: $bad"
done
printf 'grpcurl_test: ok (reflection list/describe, health, submit, duplicate, BadRequest)\n' >&2
