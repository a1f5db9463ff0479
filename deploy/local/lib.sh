# shellcheck shell=bash
# Helpers shared by the deploy/local scripts; sourced, never run.
# shellcheck disable=SC2034  # variables used by the scripts that source this file

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
RUN_DIR="$ROOT/.run"
LOG_DIR="$RUN_DIR/logs"
PID_DIR="$RUN_DIR/pids"
VENV="$ROOT/.venv"
LOCAL_DIR="$ROOT/deploy/local"

SERVICES=(gateway assignment planning proximity metrics)

# Ports, each overridable from the environment.
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
GATEWAY_APP_PORT="${GATEWAY_APP_PORT:-8090}"
ASSIGNMENT_PORT="${ASSIGNMENT_PORT:-8091}"
PLANNING_PORT="${PLANNING_PORT:-8092}"
PROXIMITY_PORT="${PROXIMITY_PORT:-8093}"
METRICS_PORT="${METRICS_PORT:-8094}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

service_port() {
    case "$1" in
        gateway) echo "$GATEWAY_APP_PORT" ;;
        assignment) echo "$ASSIGNMENT_PORT" ;;
        planning) echo "$PLANNING_PORT" ;;
        proximity) echo "$PROXIMITY_PORT" ;;
        metrics) echo "$METRICS_PORT" ;;
        *) die "unknown service $1" ;;
    esac
}

# True when nothing listens on 127.0.0.1:$1 (a bind test, so it also sees wildcard listeners).
port_free() {
    python3 - "$1" <<'EOF' 2>/dev/null
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    sock.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    sock.close()
EOF
}

# True while process $1 runs. A zombie counts as gone: the init of some containers reaps orphans
# only after a while.
pid_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" != Z ]]
}

# True when $1 is the pid of a live process whose command line contains $2.
pid_matches() {
    local pid="$1" pattern="$2" cmdline
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$pattern"* ]]
}

read_pid() {
    [[ -f "$1" ]] && tr -dc '0-9' <"$1"
    return 0
}

# Prints the HTTP status of GET $1 (000 when there is no answer); uses no tool beyond python3.
http_status() {
    python3 - "$1" <<'EOF' 2>/dev/null || echo 000
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        print(response.status)
except urllib.error.HTTPError as error:
    print(error.code)
except Exception:
    print("000")
EOF
}
