#!/usr/bin/env bash
# `make stop`: stops nginx, the five services, the job worker and the embedded PostGIS cluster. Safe when nothing
# runs; only processes recorded in .run/ (and still running what we started) are signalled.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STOP_TIMEOUT="${STOP_TIMEOUT:-10}"
NGINX_DIR="$RUN_DIR/nginx"

# Sends TERM to pid $1, then KILL after STOP_TIMEOUT. With $3 = group, signals its whole process
# group instead when it leads one (services are started with setsid, so their pid is their group).
terminate() {
    local pid="$1" what="$2" target="$1"
    if [[ "${3:-}" == group && "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]]; then
        target="-$pid"
    fi
    log "stopping $what (pid $pid)"
    kill -TERM -- "$target" 2>/dev/null || return 0
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while pid_alive "$pid"; do
        if [[ $SECONDS -ge $deadline ]]; then
            warn "$what did not stop within ${STOP_TIMEOUT}s; killing it"
            kill -KILL -- "$target" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}

nginx_pid="$(read_pid "$NGINX_DIR/nginx.pid")"
if pid_matches "$nginx_pid" nginx; then
    # TERM is nginx's fast shutdown: the master stops its workers itself.
    terminate "$nginx_pid" nginx
fi
rm -f "$NGINX_DIR/nginx.pid" "$NGINX_DIR/port"

# The services shut down in parallel; each takes a moment to close its pools.
for name in "${SERVICES[@]}"; do
    pid="$(read_pid "$PID_DIR/$name.pid")"
    if pid_matches "$pid" "services.$name.app:app"; then
        terminate "$pid" "the $name service" group &
    fi
done
# The worker gets longer: on TERM it lets running jobs finish (TERRITORY_WORKER_SHUTDOWN_SECONDS,
# 60), then puts them back in the queue.
worker_pid="$(read_pid "$PID_DIR/worker.pid")"
if pid_matches "$worker_pid" "shared.jobs.worker"; then
    STOP_TIMEOUT=$((STOP_TIMEOUT > 75 ? STOP_TIMEOUT : 75)) terminate "$worker_pid" "the job worker" group &
fi
wait
for name in "${SERVICES[@]}"; do
    rm -f "$PID_DIR/$name.pid" "$PID_DIR/$name.port"
done
rm -f "$PID_DIR/worker.pid"

"$LOCAL_DIR/pg.sh" stop
