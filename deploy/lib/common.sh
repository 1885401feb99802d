# shellcheck shell=bash
# Shared helpers for the project's bash tooling (sourced, never executed).
#
# Sets HUB_REPO_DIR (the repository root) and HUB_CACHE_DIR (downloads and compiler cache,
# outside the tracked tree), and offers small logging and privilege helpers.

HUB_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export HUB_REPO_DIR
if [[ -z "${HUB_CACHE_DIR:-}" ]]; then
  HUB_CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache}/victim-hub"
fi
export HUB_CACHE_DIR
# shellcheck disable=SC2034  # used by the scripts that source this file
HUB_KAFKA_VERSION=3.9.1
# shellcheck disable=SC2034
HUB_KAFKA_LIBS="$HUB_CACHE_DIR/kafka/$HUB_KAFKA_VERSION/libs"

# hub_log MESSAGE...: progress on stderr, prefixed with the script's name.
hub_log() { printf '%s: %s\n' "${HUB_LOG_PREFIX:-${0##*/}}" "$*" >&2; }

# hub_die MESSAGE...: the error on stderr, then exit 1.
hub_die() {
  printf '%s: error: %s\n' "${HUB_LOG_PREFIX:-${0##*/}}" "$*" >&2
  exit 1
}

# hub_as_root CMD...: runs CMD as root, through sudo only when not already root.
hub_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  else
    command -v sudo >/dev/null 2>&1 || hub_die "not root and sudo is not installed; run: $*"
    sudo "$@"
  fi
}

# hub_port_listening PORT: true when some socket listens on TCP PORT (IPv4 or IPv6, any
# address). Reads /proc/net so it needs no tools and sees other users' sockets too.
hub_port_listening() {
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1; exit }
                    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
