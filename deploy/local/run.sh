#!/usr/bin/env bash
# `make run`: installs what is missing, starts PostGIS (unless DATABASE_URL is set), migrates,
# ensures the demo tenant, starts the five services, the job worker and nginx, waits until the
# gateway is ready, loads the demo organisation (once) and writes .run/env. Safe to run again:
# what already runs is left running (nginx is reloaded).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NGINX=/usr/sbin/nginx
NGINX_DIR="$RUN_DIR/nginx"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
# The demo organisation's seed (python -m demo): another seed replaces the loaded demo.
DEMO_SEED="${DEMO_SEED:-2027}"
GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"

cd "$ROOT"
"$LOCAL_DIR/bootstrap.sh"
mkdir -p "$LOG_DIR" "$PID_DIR" "$NGINX_DIR"

service_pid() { read_pid "$PID_DIR/$1.pid"; }
service_running() { pid_matches "$(service_pid "$1")" "services.$1.app:app"; }
worker_pid() { read_pid "$PID_DIR/worker.pid"; }
worker_running() { pid_matches "$(worker_pid)" "shared.jobs.worker"; }
nginx_pid() { read_pid "$NGINX_DIR/nginx.pid"; }
nginx_running() { pid_matches "$(nginx_pid)" "nginx"; }

port_variable() {
    if [[ "$1" == gateway ]]; then echo GATEWAY_APP_PORT; else tr '[:lower:]' '[:upper:]' <<<"$1_PORT"; fi
}

# Every port we are about to listen on must be free unless our own process already holds it; a
# process of ours on another port than asked for must be stopped first.
check_ports() {
    local name port old_port
    for name in "${SERVICES[@]}"; do
        port="$(service_port "$name")"
        if service_running "$name"; then
            old_port="$(read_pid "$PID_DIR/$name.port")"
            [[ "$old_port" == "$port" ]] ||
                die "the $name service runs on port ${old_port:-?}, not $port: make stop first"
        elif ! port_free "$port"; then
            die "port $port (the $name service) is taken by another program;" \
                "free it or choose another with $(port_variable "$name")=..."
        fi
    done
    if nginx_running; then
        old_port="$(read_pid "$NGINX_DIR/port")"
        [[ "$old_port" == "$GATEWAY_PORT" ]] ||
            die "nginx listens on port ${old_port:-?}, not $GATEWAY_PORT: make stop first"
    elif ! port_free "$GATEWAY_PORT"; then
        die "port $GATEWAY_PORT (the nginx gateway) is taken by another program;" \
            "free it or choose another with GATEWAY_PORT=..."
    fi
}

# Prints the end of the given logs, or of every service's log and nginx's error log.
show_logs() {
    local file files=("$@")
    if [[ ${#files[@]} -eq 0 ]]; then
        files=("$LOG_DIR"/*.log "$NGINX_DIR/logs/error.log")
    fi
    for file in "${files[@]}"; do
        [[ -s "$file" ]] || continue
        printf '\n----- %s (end) -----\n' "${file#"$ROOT"/}" >&2
        tail -n 20 "$file" >&2
    done
}

check_ports

# The platform's environment, shared by every process started below. TERRITORY_DATABASE_URL wins
# over DATABASE_URL, as in shared/settings.py.
DATABASE_URL="${TERRITORY_DATABASE_URL:-${DATABASE_URL:-}}"
if [[ -z "$DATABASE_URL" ]]; then
    "$LOCAL_DIR/pg.sh" start
    DATABASE_URL="$("$LOCAL_DIR/pg.sh" url)"
fi
export DATABASE_URL
export TERRITORY_GATEWAY_APP_URL="http://127.0.0.1:$GATEWAY_APP_PORT"
export TERRITORY_ASSIGNMENT_URL="http://127.0.0.1:$ASSIGNMENT_PORT"
export TERRITORY_PLANNING_URL="http://127.0.0.1:$PLANNING_PORT"
export TERRITORY_PROXIMITY_URL="http://127.0.0.1:$PROXIMITY_PORT"
export TERRITORY_METRICS_URL="http://127.0.0.1:$METRICS_PORT"
export GATEWAY_PORT GATEWAY_APP_PORT ASSIGNMENT_PORT PLANNING_PORT PROXIMITY_PORT METRICS_PORT

log "migrating the database"
"$VENV/bin/alembic" upgrade head
log "loading US postal codes (idempotent)"
"$VENV/bin/python" -m services.assignment.postal_codes load-us >/dev/null

OLD_KEY=""
if [[ -f "$RUN_DIR/env" ]]; then
    # shellcheck disable=SC1091
    OLD_KEY="$(unset API_KEY && source "$RUN_DIR/env" >/dev/null 2>&1 && printf '%s' "${API_KEY:-}")" ||
        OLD_KEY=""
fi
log "ensuring the demo tenant"
ensure_demo_args=(ensure-demo --seed "$DEMO_SEED")
[[ -z "$OLD_KEY" ]] || ensure_demo_args+=(--existing-key "$OLD_KEY")
API_KEY="$("$VENV/bin/python" -m shared.cli "${ensure_demo_args[@]}")"
[[ -n "$API_KEY" ]] || die "shared.cli ensure-demo printed no API key"

for name in "${SERVICES[@]}"; do
    if service_running "$name"; then
        log "$name service already running (pid $(service_pid "$name"))"
        continue
    fi
    port="$(service_port "$name")"
    log "starting the $name service on 127.0.0.1:$port"
    printf '\n===== %s: starting on port %s =====\n' "$(date -Is)" "$port" >>"$LOG_DIR/$name.log"
    # setsid: its own session, so that closing this terminal does not stop it.
    setsid nohup "$VENV/bin/uvicorn" "services.$name.app:app" --host 127.0.0.1 --port "$port" \
        >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$PID_DIR/$name.pid"
    echo "$port" >"$PID_DIR/$name.port"
done

# The job worker: runs what the services queue (bulk uploads above the inline size).
if worker_running; then
    log "job worker already running (pid $(worker_pid))"
else
    log "starting the job worker"
    printf '\n===== %s: starting =====\n' "$(date -Is)" >>"$LOG_DIR/worker.log"
    setsid nohup "$VENV/bin/python" -m shared.jobs.worker >>"$LOG_DIR/worker.log" 2>&1 </dev/null &
    echo $! >"$PID_DIR/worker.pid"
fi

log "rendering the nginx configuration"
# Ports come from the *_PORT variables exported above.
"$VENV/bin/python" -m deploy.nginx.render "$NGINX_DIR" --check >/dev/null ||
    die "could not render a valid nginx configuration into .run/nginx"
nginx_cmd=("$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/logs/error.log")
if nginx_running; then
    log "reloading nginx"
    "${nginx_cmd[@]}" -s reload
else
    log "starting nginx on 127.0.0.1:$GATEWAY_PORT"
    "${nginx_cmd[@]}" </dev/null || {
        show_logs "$NGINX_DIR/logs/error.log"
        die "nginx did not start"
    }
    echo "$GATEWAY_PORT" >"$NGINX_DIR/port"
fi

log "waiting for $GATEWAY_URL/readyz"
deadline=$((SECONDS + READY_TIMEOUT))
until [[ "$(http_status "$GATEWAY_URL/readyz")" == 200 ]]; do
    if [[ $SECONDS -ge $deadline ]]; then
        show_logs
        die "the platform was not ready after ${READY_TIMEOUT}s ($GATEWAY_URL/readyz); logs above"
    fi
    for name in "${SERVICES[@]}"; do
        if ! service_running "$name"; then
            show_logs "$LOG_DIR/$name.log"
            die "the $name service exited; see .run/logs/$name.log"
        fi
    done
    if ! worker_running; then
        show_logs "$LOG_DIR/worker.log"
        die "the job worker exited; see .run/logs/worker.log"
    fi
    sleep 0.5
done

# Through the gateway, so it needs the platform up; a no-op once this seed's demo is loaded.
log "loading the demo organisation (seed $DEMO_SEED; once)"
"$VENV/bin/python" -m demo load --seed "$DEMO_SEED" --gateway-url "$GATEWAY_URL" \
    --api-key "$API_KEY" || die "loading the demo failed (see above); make run again retries it"

umask 077 # .run/env holds a key
printf 'export DATABASE_URL=%q\nexport GATEWAY_URL=%q\nexport API_KEY=%q\n' \
    "$DATABASE_URL" "$GATEWAY_URL" "$API_KEY" >"$RUN_DIR/env"

cat <<EOF

The territory platform is running.
  gateway      $GATEWAY_URL
  map          $GATEWAY_URL/map  (enter the demo key below once; it stays for the browser tab)
  API docs     $GATEWAY_URL/docs  (merged OpenAPI: $GATEWAY_URL/openapi.json)
  assignment   $GATEWAY_URL/assignment/docs
  planning     $GATEWAY_URL/planning/docs
  proximity    $GATEWAY_URL/proximity/docs
  metrics      $GATEWAY_URL/metrics/docs
  job worker   pid $(worker_pid) (python -m shared.jobs.worker)
  database     $DATABASE_URL
  logs         .run/logs/   (make logs)

Try it (the demo tenant's key; .run/env holds it with DATABASE_URL and GATEWAY_URL):
  curl -H 'X-API-Key: $API_KEY' $GATEWAY_URL/assignment/reps
  curl -H 'X-API-Key: $API_KEY' -H 'Content-Type: application/json' \\
       -d '{"postal_code": "28202", "country": "US", "employee_count": 40}' \\
       $GATEWAY_URL/assignment/leads

Stop everything with: make stop

Open the territory map: $GATEWAY_URL/map   (API key: $API_KEY)
EOF
