#!/usr/bin/env bash
# Installs what a local run needs, idempotently: Debian packages (PostGIS, nginx, wrk, chromium) when
# missing, and the project's virtualenv in .venv when pyproject.toml changed since the last install.
#
# Usage: deploy/local/bootstrap.sh [all|apt|venv]   (default: all)
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.territory-install-stamp"

# postgresql-15-postgis-3 pulls postgresql-15 (initdb, pg_ctl) and its client (psql, pg_isready).
# chromium: the map page's browser test (tests/gateway/test_map_page.py) drives it headless
# through Playwright, which cannot download a browser of its own here.
APT_PACKAGES=(postgresql-15-postgis-3 nginx wrk chromium)

package_installed() {
    # Any nginx flavour (nginx-light, nginx-full...) will do.
    if [[ "$1" == nginx && -x /usr/sbin/nginx ]]; then
        return 0
    fi
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        # Without a terminal sudo cannot ask for a password; fail at once instead of hanging.
        if [[ -t 0 ]]; then sudo "$@"; else sudo -n "$@"; fi
    else
        die "need root to run: $* (no sudo found)"
    fi
}

# Installs those of the given Debian packages that are missing.
install_apt_packages() {
    local missing=() package
    for package in "$@"; do
        package_installed "$package" || missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    log "installing Debian packages: ${missing[*]}"

    # Package scripts must not start system services (no systemd in containers, port 80 may be
    # taken): a policy-rc.d that denies every start, removed again unless it was already there.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "$policy" ]]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        created_policy=1
    fi
    local status=0
    {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                --no-install-recommends "${missing[@]}" </dev/null
    } || status=$?
    if [[ $created_policy -eq 1 ]]; then
        as_root rm -f "$policy"
    fi
    [[ $status -eq 0 ]] || die "apt-get failed (exit $status)"
}

install_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        # Debian's own python3 makes venvs only with python3-venv installed.
        if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
            install_apt_packages python3-venv
        fi
        log "creating virtualenv in .venv"
        "$PYTHON" -m venv "$VENV"
        rm -f "$STAMP"
    fi
    local want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        return 0
    fi
    log "installing Python dependencies (pyproject.toml changed)"
    (cd "$ROOT" && "$VENV/bin/pip" install --disable-pip-version-check -q -e '.[dev]' </dev/null)
    printf '%s\n' "$want" >"$STAMP"
}

case "${1:-all}" in
    all)
        install_apt_packages "${APT_PACKAGES[@]}"
        install_venv
        ;;
    apt) install_apt_packages "${APT_PACKAGES[@]}" ;;
    venv) install_venv ;;
    *) die "usage: $0 [all|apt|venv]" ;;
esac
