"""Render the gateway's nginx configuration for local runs and tests.

Fills ``gateway.conf.template`` (the same file the nginx container image fills with envsubst) and
writes a small main ``nginx.conf`` that keeps every path nginx writes inside one runtime directory.
Usable as ``deploy.nginx.render`` and as ``python -m deploy.nginx.render [RUNTIME_DIR] [options]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

TEMPLATE_PATH = Path(__file__).resolve().with_name("gateway.conf.template")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUNTIME_DIR = REPO_ROOT / ".run" / "nginx"

# Service name -> the template's upstream placeholder.
UPSTREAM_PLACEHOLDERS = {
    "gateway": "GATEWAY_APP_UPSTREAM",
    "assignment": "ASSIGNMENT_UPSTREAM",
    "planning": "PLANNING_UPSTREAM",
    "proximity": "PROXIMITY_UPSTREAM",
    "metrics": "METRICS_UPSTREAM",
}
PLACEHOLDERS = frozenset(
    {
        "LISTEN_ADDRESS",
        *UPSTREAM_PLACEHOLDERS.values(),
        "RATE_LIMIT_RPS",
        "RATE_LIMIT_BURST",
        "HIGH_RATE_LIMIT_RPS",
        "HIGH_RATE_LIMIT_BURST",
        "ANON_RATE_LIMIT_RPS",
        "ANON_RATE_LIMIT_BURST",
        "MAX_BODY_SIZE",
        "MAX_BULK_BODY_SIZE",
        "MAX_CONNS_PER_SERVICE",
        "PROXY_CONNECT_TIMEOUT",
        "PROXY_READ_TIMEOUT",
        "ACCESS_LOG",
    }
)
# Local defaults, the ports of the contract; each overridable by the variable deploy/local uses.
DEFAULT_PORTS = {
    "listen": ("GATEWAY_PORT", 8080),
    "gateway": ("GATEWAY_APP_PORT", 8090),
    "assignment": ("ASSIGNMENT_PORT", 8091),
    "planning": ("PLANNING_PORT", 8092),
    "proximity": ("PROXIMITY_PORT", 8093),
    "metrics": ("METRICS_PORT", 8094),
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Values land inside directives and inside the JSON of error pages: nothing that could end either.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:/\[\]-]+$")
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class RenderError(ValueError):
    """The configuration cannot be rendered from the given values."""


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``${NAME}`` of the template by its value; unknown or missing names fail."""
    unknown = sorted(set(values) - PLACEHOLDERS)
    if unknown:
        raise RenderError(f"not placeholders of the gateway template: {', '.join(unknown)}")
    for name, value in values.items():
        if not _SAFE_VALUE.match(value):
            raise RenderError(f"{name}={value!r}: only letters, digits and . _ : / [ ] - allowed")
    missing: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            missing.add(name)
            return match.group(0)
        return values[name]

    rendered = _PLACEHOLDER.sub(substitute, template)
    if missing:
        raise RenderError(f"no value for placeholders: {', '.join(sorted(missing))}")
    return rendered


def render_local_config(
    *,
    runtime_dir: Path,
    listen_port: int,
    upstreams: Mapping[str, str],
    rate_limit_rps: int = 100,
    rate_limit_burst: int = 200,
    max_body_size: str = "1m",
    max_bulk_body_size: str = "512m",
    max_conns_per_service: int = 512,
    proxy_connect_timeout: str = "2s",
    proxy_read_timeout: str = "30s",
    anon_rate_limit_rps: int | None = None,
    anon_rate_limit_burst: int | None = None,
    high_rate_limit_rps: int | None = None,
    high_rate_limit_burst: int | None = None,
    listen_host: str = "127.0.0.1",
    daemon: bool = True,
    worker_processes: int | str = "auto",
) -> Path:
    """Write ``nginx.conf`` and ``gateway.conf`` into ``runtime_dir``; return the main config.

    ``upstreams`` maps each service (gateway, assignment, planning, proximity, metrics) to its
    ``host:port``. Requests without an API key get twice the keyed rate and burst per client
    address unless ``anon_rate_limit_*`` say otherwise; keys of the high tier ten times the
    keyed rate and burst unless ``high_rate_limit_*`` say otherwise.
    """
    missing = sorted(set(UPSTREAM_PLACEHOLDERS) - set(upstreams))
    extra = sorted(set(upstreams) - set(UPSTREAM_PLACEHOLDERS))
    if missing or extra:
        raise RenderError(f"upstreams: missing {missing or 'none'}, unknown {extra or 'none'}")
    runtime_dir = runtime_dir.resolve()
    logs_dir = runtime_dir / "logs"
    temp_dir = runtime_dir / "temp"
    for directory in (runtime_dir, logs_dir, *(temp_dir / name for name in _TEMP_PATHS)):
        directory.mkdir(parents=True, exist_ok=True)

    values = {
        "LISTEN_ADDRESS": f"{listen_host}:{listen_port}",
        **{UPSTREAM_PLACEHOLDERS[name]: address for name, address in upstreams.items()},
        "RATE_LIMIT_RPS": str(rate_limit_rps),
        "RATE_LIMIT_BURST": str(rate_limit_burst),
        "HIGH_RATE_LIMIT_RPS": str(high_rate_limit_rps or 10 * rate_limit_rps),
        "HIGH_RATE_LIMIT_BURST": str(high_rate_limit_burst or 10 * rate_limit_burst),
        "ANON_RATE_LIMIT_RPS": str(anon_rate_limit_rps or 2 * rate_limit_rps),
        "ANON_RATE_LIMIT_BURST": str(anon_rate_limit_burst or 2 * rate_limit_burst),
        "MAX_BODY_SIZE": max_body_size,
        "MAX_BULK_BODY_SIZE": max_bulk_body_size,
        "MAX_CONNS_PER_SERVICE": str(max_conns_per_service),
        "PROXY_CONNECT_TIMEOUT": proxy_connect_timeout,
        "PROXY_READ_TIMEOUT": proxy_read_timeout,
        "ACCESS_LOG": str(logs_dir / "access.log"),
    }
    gateway_conf = runtime_dir / "gateway.conf"
    gateway_conf.write_text(render_template(TEMPLATE_PATH.read_text(), values))

    # As root the workers would run as nobody, who may not reach a runtime dir under a private
    # parent (pytest's tmp dirs are 0700); local runs keep the invoking user instead.
    user_line = "user root;\n" if os.geteuid() == 0 else ""
    temp_lines = "".join(f"    {name}_temp_path {temp_dir / name};\n" for name in _TEMP_PATHS)
    main_conf = runtime_dir / "nginx.conf"
    main_conf.write_text(
        "# Rendered by deploy/nginx/render.py for a local run; edit the template instead.\n"
        f"{user_line}"
        f"worker_processes {worker_processes};\n"
        f"daemon {'on' if daemon else 'off'};\n"
        f"pid {runtime_dir / 'nginx.pid'};\n"
        f"error_log {logs_dir / 'error.log'} warn;\n"
        "worker_rlimit_nofile 16384;\n"
        "\n"
        "events {\n"
        "    worker_connections 4096;\n"
        "}\n"
        "\n"
        "http {\n"
        f"{temp_lines}"
        f"    include {gateway_conf};\n"
        "}\n"
    )
    return main_conf


def nginx_binary() -> str:
    """The nginx to run: ``$NGINX``, else the one on PATH, else Debian's /usr/sbin/nginx."""
    return os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_command(config_path: Path, *args: str) -> list[str]:
    """The nginx command line for a rendered config (prefix and startup error log in its dir)."""
    runtime_dir = config_path.resolve().parent
    return [
        nginx_binary(),
        "-p",
        str(runtime_dir),
        "-c",
        str(config_path.resolve()),
        "-e",
        str(runtime_dir / "logs" / "error.log"),
        *args,
    ]


def check_config(config_path: Path) -> None:
    """Run ``nginx -t`` on a rendered config; raise RenderError with nginx's message on failure."""
    result = subprocess.run(
        nginx_command(config_path, "-t", "-q"), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RenderError(f"nginx rejects {config_path}:\n{result.stderr.strip()}")


def _default_address(name: str) -> str:
    variable, port = DEFAULT_PORTS[name]
    return f"127.0.0.1:{os.environ.get(variable, port)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.nginx.render",
        description="Render the gateway nginx config into a runtime dir and print its path. "
        "Ports default to GATEWAY_PORT, GATEWAY_APP_PORT, ASSIGNMENT_PORT, PLANNING_PORT, "
        "PROXIMITY_PORT and METRICS_PORT, else 8080 and 8090-8094.",
    )
    parser.add_argument("runtime_dir_arg", nargs="?", type=Path, metavar="RUNTIME_DIR")
    parser.add_argument("--runtime-dir", type=Path, help=f"default {DEFAULT_RUNTIME_DIR}")
    parser.add_argument(
        "--listen",
        type=int,
        default=int(os.environ.get(DEFAULT_PORTS["listen"][0], DEFAULT_PORTS["listen"][1])),
        help="port nginx listens on (127.0.0.1)",
    )
    parser.add_argument("--listen-host", default="127.0.0.1")
    for name in UPSTREAM_PLACEHOLDERS:
        parser.add_argument(f"--{name}", default=_default_address(name), metavar="HOST:PORT")
    parser.add_argument("--rate", type=int, default=100, help="requests/s per standard key")
    parser.add_argument("--burst", type=int, default=200, help="burst per standard key")
    parser.add_argument("--high-rate", type=int, help="requests/s per high-tier key")
    parser.add_argument("--high-burst", type=int, help="burst per high-tier key")
    parser.add_argument("--anon-rate", type=int, help="requests/s per address without a key")
    parser.add_argument("--anon-burst", type=int, help="burst per address without a key")
    parser.add_argument("--max-body-size", default="1m")
    parser.add_argument("--max-bulk-body-size", default="512m")
    parser.add_argument("--max-conns-per-service", type=int, default=512)
    parser.add_argument("--connect-timeout", default="2s")
    parser.add_argument("--read-timeout", default="30s")
    parser.add_argument("--worker-processes", default="auto")
    parser.add_argument("--foreground", action="store_true", help="daemon off")
    parser.add_argument("--check", action="store_true", help="also run nginx -t on the result")
    args = parser.parse_args(argv)
    if args.runtime_dir_arg and args.runtime_dir and args.runtime_dir_arg != args.runtime_dir:
        parser.error("give the runtime dir once")
    runtime_dir: Path = args.runtime_dir_arg or args.runtime_dir or DEFAULT_RUNTIME_DIR

    try:
        config_path = render_local_config(
            runtime_dir=runtime_dir,
            listen_port=args.listen,
            listen_host=args.listen_host,
            upstreams={name: getattr(args, name) for name in UPSTREAM_PLACEHOLDERS},
            rate_limit_rps=args.rate,
            rate_limit_burst=args.burst,
            anon_rate_limit_rps=args.anon_rate,
            anon_rate_limit_burst=args.anon_burst,
            high_rate_limit_rps=args.high_rate,
            high_rate_limit_burst=args.high_burst,
            max_body_size=args.max_body_size,
            max_bulk_body_size=args.max_bulk_body_size,
            max_conns_per_service=args.max_conns_per_service,
            proxy_connect_timeout=args.connect_timeout,
            proxy_read_timeout=args.read_timeout,
            worker_processes=args.worker_processes,
            daemon=not args.foreground,
        )
        if args.check:
            check_config(config_path)
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
