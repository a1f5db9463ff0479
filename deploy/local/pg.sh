#!/usr/bin/env bash
# The embedded PostGIS cluster used when DATABASE_URL is unset: a throwaway development server in
# .run/pg that listens on 127.0.0.1 only.
#
# Usage: deploy/local/pg.sh start|stop|status|url|psql [psql args...]|destroy
#
# Layout: .run/pg/{data/,port}. As root the cluster runs as the unprivileged `postgres` user
# (initdb refuses root); when that user cannot reach the checkout (say a clone under a mode-700
# directory), .run/pg is a symlink to /var/lib/territory-pg/<hash of the checkout path>.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PG_LINK="$RUN_DIR/pg"
PG_LOG="$LOG_DIR/postgres.log"
PREFERRED_PORT="${PG_PORT:-54329}"
FALLBACK_BASE=/var/lib/territory-pg

[[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL 15 not found in $PG_BIN: run deploy/local/bootstrap.sh"

if [[ $EUID -eq 0 ]]; then
    getent passwd postgres >/dev/null || die "running as root needs the 'postgres' system user"
fi

# Runs a command as the cluster's owner, from / so that an unreachable cwd does not matter.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Resolves (creating on first use) the directory holding data/ and port.
pg_home() {
    if [[ -L "$PG_LINK" || -d "$PG_LINK" ]]; then
        local home
        home="$(readlink -f "$PG_LINK")"
        if [[ ! -d "$home" ]]; then
            # The symlink target was wiped (e.g. /var/lib cleaned): recreate it empty.
            mkdir -p "$home"
            [[ $EUID -ne 0 ]] || chown postgres: "$home"
            chmod 700 "$home"
        fi
        echo "$home"
        return
    fi
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$RUN_DIR" 2>/dev/null; then
        local hash home
        hash="$(printf '%s' "$ROOT" | sha256sum | cut -c1-16)"
        home="$FALLBACK_BASE/$hash"
        install -d -m 755 "$FALLBACK_BASE"
        install -d -m 700 -o postgres -g postgres "$home"
        ln -sfn "$home" "$PG_LINK"
        log "postgres cannot reach $ROOT; cluster lives in $home (symlinked from .run/pg)"
    else
        install -d -m 700 "$PG_LINK"
        [[ $EUID -ne 0 ]] || chown postgres: "$PG_LINK"
    fi
    readlink -f "$PG_LINK"
}

pick_port() {
    local port="$PREFERRED_PORT"
    while ! port_free "$port"; do
        port=$((port + 1))
        [[ $port -lt $((PREFERRED_PORT + 200)) ]] || die "no free port in $PREFERRED_PORT..$port"
    done
    echo "$port"
}

port_of() {
    local home="$1"
    [[ -f "$home/port" ]] || die "embedded cluster not initialised: run deploy/local/pg.sh start"
    tr -dc '0-9' <"$home/port"
}

is_running() {
    local home="$1"
    [[ -f "$home/data/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$home/data" status >/dev/null 2>&1
}

init_cluster() {
    local home="$1"
    log "initialising embedded PostGIS cluster in $home/data"
    as_pg "$PG_BIN/initdb" -D "$home/data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth=trust >>"$PG_LOG" 2>&1 || {
        tail -n 20 "$PG_LOG" >&2
        die "initdb failed (log: $PG_LOG)"
    }
    as_pg tee -a "$home/data/postgresql.conf" >/dev/null <<'EOF'

# --- embedded development cluster (deploy/local/pg.sh); the port is given on the command line ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
EOF
    # A local development cluster: it listens on 127.0.0.1 only and trusts every connection from
    # there without a password. Never use this for a shared or production server.
    as_pg tee "$home/data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  trust
EOF
}

# Memory and WAL settings, sized to the machine, (re)written at every start into a file the
# cluster's postgresql.conf includes (clusters made before it get the include line added).
# Sized for bulk assignment of a million leads: its working tables and the indexes it fills stay
# in shared buffers, its gigabytes of WAL cause no checkpoint (and full-page images) mid-job, and
# its parallel hash joins (hundreds of MB) fit in preallocated dynamic shared memory rather than
# /dev/shm (64 MB in a default container).
write_settings() {
    local home="$1" ram_mb shared_mb
    ram_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
    shared_mb=$((ram_mb / 8))
    ((shared_mb <= 2048)) || shared_mb=2048
    ((shared_mb >= 128)) || shared_mb=128
    as_pg tee "$home/data/territory-dev.conf" >/dev/null <<EOF
# Written by deploy/local/pg.sh at every start ($ram_mb MB of RAM): edit the script, not this file.
shared_buffers = ${shared_mb}MB
min_dynamic_shared_memory = $((shared_mb / 2))MB
effective_cache_size = $((ram_mb / 2))MB
maintenance_work_mem = 512MB
wal_buffers = 64MB
wal_compression = lz4
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 30min
random_page_cost = 1.1
effective_io_concurrency = 200
EOF
    if ! grep -q "^include_if_exists = 'territory-dev.conf'" "$home/data/postgresql.conf"; then
        as_pg tee -a "$home/data/postgresql.conf" >/dev/null <<'EOF'
include_if_exists = 'territory-dev.conf'
EOF
    fi
}

psql_as() {
    local port="$1" user="$2" database="$3"
    shift 3
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$user" -d "$database" "$@"
}

ensure_role_and_database() {
    local port="$1"
    psql_as "$port" postgres postgres <<'EOF'
SELECT 'CREATE ROLE territory LOGIN SUPERUSER'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'territory')\gexec
SELECT 'CREATE DATABASE territory OWNER territory'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'territory')\gexec
EOF
}

cmd_start() {
    local home port
    home="$(pg_home)"
    mkdir -p "$LOG_DIR"
    if [[ ! -f "$home/data/PG_VERSION" ]]; then
        # A half-made data dir (initdb interrupted) is thrown away.
        as_pg rm -rf "$home/data"
        init_cluster "$home"
    fi
    write_settings "$home"
    if is_running "$home"; then
        port="$(port_of "$home")"
        # What can change without a restart does; shared memory waits for the next start.
        as_pg "$PG_BIN/pg_ctl" -D "$home/data" reload >/dev/null
    else
        if [[ -f "$home/port" ]]; then
            port="$(port_of "$home")"
            if ! port_free "$port"; then
                local taken="$port"
                port="$(PREFERRED_PORT=$((taken + 1)) pick_port)"
                warn "port $taken is taken by another program; the embedded cluster moves to $port"
            fi
        else
            port="$(pick_port)"
        fi
        as_pg tee "$home/port" >/dev/null <<<"$port"
        log "starting embedded PostGIS on 127.0.0.1:$port (log: .run/logs/postgres.log)"
        # The server inherits this redirection, so its log needs no path the postgres user can
        # reach.
        as_pg "$PG_BIN/pg_ctl" -D "$home/data" -o "-p $port" -w -t 60 start \
            >>"$PG_LOG" 2>&1 </dev/null || {
            tail -n 30 "$PG_LOG" >&2
            die "PostgreSQL did not start (log: $PG_LOG)"
        }
    fi
    local tries=0
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; do
        tries=$((tries + 1))
        [[ $tries -lt 120 ]] || die "PostgreSQL on port $port is not ready after 60 s"
        sleep 0.5
    done
    ensure_role_and_database "$port"
}

cmd_stop() {
    local home
    [[ -L "$PG_LINK" || -d "$PG_LINK" ]] || return 0
    home="$(readlink -f "$PG_LINK")"
    if is_running "$home"; then
        log "stopping embedded PostGIS"
        as_pg "$PG_BIN/pg_ctl" -D "$home/data" -m fast -w -t 60 stop >/dev/null
    fi
}

cmd_status() {
    local home
    [[ -L "$PG_LINK" || -d "$PG_LINK" ]] || {
        echo "embedded cluster: not initialised"
        return 3
    }
    home="$(readlink -f "$PG_LINK")"
    if is_running "$home"; then
        echo "embedded cluster: running on 127.0.0.1:$(port_of "$home") (data: $home/data)"
    else
        echo "embedded cluster: stopped (data: $home/data)"
        return 3
    fi
}

cmd_url() {
    [[ -L "$PG_LINK" || -d "$PG_LINK" ]] || die "embedded cluster not initialised: run $0 start"
    echo "postgresql://territory@127.0.0.1:$(port_of "$(readlink -f "$PG_LINK")")/territory"
}

cmd_destroy() {
    cmd_stop
    if [[ -L "$PG_LINK" ]]; then
        local home
        home="$(readlink -f "$PG_LINK")"
        # Only ever remove our own fallback directories.
        if [[ "$home" == "$FALLBACK_BASE"/* ]]; then
            rm -rf "$home"
        fi
        rm -f "$PG_LINK"
    elif [[ -d "$PG_LINK" ]]; then
        rm -rf "$PG_LINK"
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    psql)
        shift
        [[ -L "$PG_LINK" || -d "$PG_LINK" ]] || die "embedded cluster not initialised: run $0 start"
        exec "$PG_BIN/psql" -h 127.0.0.1 -p "$(port_of "$(readlink -f "$PG_LINK")")" \
            -U territory -d territory "$@"
        ;;
    destroy) cmd_destroy ;;
    *) die "usage: $0 start|stop|status|url|psql [args...]|destroy" ;;
esac
