"""Real processes for tests: services under uvicorn, the job worker, and nginx in front.

Every process gets its own process group, so stopping it (or freezing it with SIGSTOP to play a
stalled upstream) reaches all of it, and its output goes to a log file quoted when it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psycopg

from deploy.nginx.render import nginx_command, render_local_config

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICE_NAMES = ("gateway", "assignment", "planning", "proximity", "metrics")
# The setting each service's base URL is read from (shared/settings.py).
SERVICE_URL_ENV = {
    "gateway": "TERRITORY_GATEWAY_APP_URL",
    "assignment": "TERRITORY_ASSIGNMENT_URL",
    "planning": "TERRITORY_PLANNING_URL",
    "proximity": "TERRITORY_PROXIMITY_URL",
    "metrics": "TERRITORY_METRICS_URL",
}
LOCALHOST = "127.0.0.1"


class ProcessFailed(RuntimeError):
    """A test process did not start, or died, or did not stop."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def inherited_environment() -> dict[str, str]:
    """This process's environment minus the platform's settings, which tests state explicitly.

    A developer's shell may point TERRITORY_DATABASE_URL (which wins over DATABASE_URL) or the
    service URLs at a running platform; test processes must not follow it there.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TERRITORY_") and name != "DATABASE_URL"
    }


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class ManagedProcess:
    """A child process in its own process group, its output in ``log_path``."""

    def __init__(self, *, label: str, log_path: Path) -> None:
        self.label = label
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._paused = False

    def _spawn(self, command: list[str], *, env: Mapping[str, str], cwd: Path) -> None:
        if self._popen is not None and self._popen.poll() is None:
            raise ProcessFailed(f"{self.label} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._paused = False

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise ProcessFailed(f"{self.label} was never started")
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def failure(self, message: str) -> ProcessFailed:
        """An error quoting the end of the process's log."""
        return ProcessFailed(
            f"{self.label}: {message}\n--- {self.log_path} ---\n{_log_tail(self.log_path)}"
        )

    def _wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running:
                raise self.failure(f"exited (code {self._popen and self._popen.returncode}) {what}")
            if time.monotonic() > deadline:
                raise self.failure(f"not ready after {timeout:.0f} s {what}")
            time.sleep(0.05)

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it accepts connections but answers nothing."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self._paused = False

    def stop(self, *, timeout: float = 10.0) -> None:
        """TERM the process group, KILL it if it has not exited within ``timeout``."""
        if self._popen is None or self._popen.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        if self._paused:
            self.resume()  # a stopped process handles TERM only once it runs again
        try:
            self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._popen.wait(timeout=timeout)


class ServiceProcess(ManagedProcess):
    """``uvicorn services.<name>.app:app`` on 127.0.0.1, ready once ``GET /healthz`` answers 200."""

    def __init__(
        self,
        name: str,
        *,
        env: Mapping[str, str],
        port: int | None = None,
        app: str | None = None,
        log_dir: Path | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.app = app or f"services.{name}.app:app"
        self.env = {**inherited_environment(), **env}
        self.cwd = cwd
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="territory-test-logs-"))
        super().__init__(
            label=f"{name} service on port {self.port}",
            log_path=log_dir / f"{name}-{self.port}.log",
        )

    @property
    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def spawn(self) -> None:
        """Start the process without waiting for it (see ``wait_ready``)."""
        # The interpreter running the tests is the one whose packages the services need.
        command = [sys.executable, "-m", "uvicorn", self.app, "--host", LOCALHOST]
        command += ["--port", str(self.port)]
        self._spawn(command, env=self.env, cwd=self.cwd)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        self._wait_until(self.healthy, timeout=timeout, what="before /healthz answered")

    def start(self, *, timeout: float = 30.0) -> ServiceProcess:
        self.spawn()
        try:
            self.wait_ready(timeout=timeout)
        except ProcessFailed:
            self.stop()
            raise
        return self

    def __enter__(self) -> ServiceProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_services(
    names: Iterable[str] = SERVICE_NAMES,
    *,
    env: Mapping[str, str],
    log_dir: Path | None = None,
    timeout: float = 30.0,
) -> dict[str, ServiceProcess]:
    """Start services side by side on free ports, each told where the others are; wait for all.

    Services not in ``names`` keep whatever URL ``env`` gives them.
    """
    processes = {name: ServiceProcess(name, env=env, log_dir=log_dir) for name in names}
    urls = {SERVICE_URL_ENV[name]: process.url for name, process in processes.items()}
    try:
        for process in processes.values():
            process.env.update(urls)
            process.spawn()
        for process in processes.values():
            process.wait_ready(timeout=timeout)
    except BaseException:
        stop_all(processes.values())
        raise
    return processes


def stop_all(processes: Iterable[ManagedProcess]) -> None:
    for process in processes:
        process.stop()


class WorkerProcess(ManagedProcess):
    """The job worker (``python -m shared.jobs.worker``), ready once it has registered itself
    in the queue's table of workers (the first thing it does)."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        database_url: str,
        log_dir: Path | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.metrics_port = free_port()
        self.env = {
            **inherited_environment(),
            **env,
            "DATABASE_URL": database_url,
            "TERRITORY_WORKER_METRICS_PORT": str(self.metrics_port),
        }
        self.database_url = database_url
        self.cwd = cwd
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="territory-test-logs-"))
        super().__init__(label="job worker", log_path=log_dir / "worker.log")
        self._started_after = 0

    def _last_worker_id(self) -> int:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT coalesce(max(id), 0) FROM procrastinate.procrastinate_workers"
            ).fetchone()
        return int(row[0]) if row else 0

    def registered(self) -> bool:
        return self._last_worker_id() > self._started_after

    @property
    def metrics_url(self) -> str:
        """The worker's Prometheus registry (it has no HTTP app of its own)."""
        return f"http://{LOCALHOST}:{self.metrics_port}/-/metrics"

    def start(self, *, timeout: float = 30.0) -> WorkerProcess:
        self._started_after = self._last_worker_id()
        command = [sys.executable, "-m", "shared.jobs.worker"]
        self._spawn(command, env=self.env, cwd=self.cwd)
        try:
            self._wait_until(self.registered, timeout=timeout, what="before it registered")
        except ProcessFailed:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, as an OOM kill or a lost node would: no cleanup of any kind."""
        self._signal(signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait(timeout=10)

    def __enter__(self) -> WorkerProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class NginxProcess(ManagedProcess):
    """nginx (in the foreground, one worker) rendered by ``render_local_config`` into a dir."""

    def __init__(
        self,
        *,
        runtime_dir: Path,
        upstreams: Mapping[str, str],
        port: int | None = None,
        **render_options: Any,
    ) -> None:
        self.runtime_dir = runtime_dir
        self.port = port or free_port()
        self.upstreams = dict(upstreams)
        self.render_options = {"worker_processes": 1, **render_options}
        super().__init__(
            label=f"nginx on port {self.port}", log_path=runtime_dir / "logs" / "error.log"
        )

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self, *, timeout: float = 10.0) -> NginxProcess:
        config_path = render_local_config(
            runtime_dir=self.runtime_dir,
            listen_port=self.port,
            upstreams=self.upstreams,
            daemon=False,
            **self.render_options,
        )
        self._spawn(nginx_command(config_path), env=os.environ, cwd=self.runtime_dir)
        try:
            self._wait_until(
                lambda: port_accepts(self.port), timeout=timeout, what="before it listened"
            )
        except ProcessFailed:
            self.stop()
            raise
        return self

    def __enter__(self) -> NginxProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def upstreams_of(services: Mapping[str, ServiceProcess]) -> dict[str, str]:
    """The ``upstreams`` argument of ``render_local_config`` for running services."""
    return {name: process.address for name, process in services.items()}
