"""A dedicated nginx for the benchmark, in front of the services `make run` started.

The platform's gateway limits every API key to 100 requests/s, which a load test would hit at
once. Rather than change that default, the benchmark renders the same gateway template with
``deploy.nginx.render`` on its own port with a limit no run reaches, and stops it afterwards.
Everything else (proxying, keepalive pools, JSON access log, problem pages) is the template's.
"""

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.nginx.render import (
    DEFAULT_PORTS,
    UPSTREAM_PLACEHOLDERS,
    check_config,
    nginx_command,
    render_local_config,
)

BENCH_RATE_LIMIT = 1_000_000


def _upstreams() -> dict[str, str]:
    """The services' addresses, from the same *_PORT variables deploy/local/run.sh uses."""
    addresses = {}
    for name in UPSTREAM_PLACEHOLDERS:
        variable, port = DEFAULT_PORTS[name]
        addresses[name] = f"127.0.0.1:{os.environ.get(variable, port)}"
    return addresses


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def bench_gateway(
    runtime_dir: Path, *, port: int, assignment_upstream: str | None = None
) -> Iterator[str]:
    """Start the bench nginx on 127.0.0.1:``port``; yield its base URL; stop it on exit.

    ``assignment_upstream`` (host:port) points it at another assignment service than the one
    `make run` started, e.g. one started with other uvicorn flags for an A/B comparison."""
    upstreams = _upstreams()
    if assignment_upstream:
        upstreams["assignment"] = assignment_upstream
    config = render_local_config(
        runtime_dir=runtime_dir,
        listen_port=port,
        upstreams=upstreams,
        rate_limit_rps=BENCH_RATE_LIMIT,
        rate_limit_burst=BENCH_RATE_LIMIT,
    )
    check_config(config)
    pid_file = runtime_dir / "nginx.pid"
    if _pid_alive(pid_file):  # left over from an interrupted run
        subprocess.run(nginx_command(config, "-s", "quit"), check=False)
        deadline = time.monotonic() + 10
        while _pid_alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.1)
    # A fresh access log per run: it would otherwise grow by every request of every run.
    (runtime_dir / "logs" / "access.log").unlink(missing_ok=True)
    subprocess.run(nginx_command(config), check=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while not _ready(url):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the bench gateway on {url} is not ready; see {runtime_dir}/logs/error.log"
                )
            time.sleep(0.2)
        yield url
    finally:
        subprocess.run(nginx_command(config, "-s", "quit"), check=False)
