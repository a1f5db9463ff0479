"""A real HTTP receiver on loopback for webhook tests: records every request it gets, answers
per path with a status it is told, or holds a request until the test lets it go."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.assignment.webhooks import signing


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    def verifies(self, secret: str) -> bool:
        return signing.verify(
            secret=secret,
            body=self.body,
            timestamp_header=self.headers["webhook-timestamp"],
            signature_header=self.headers["webhook-signature"],
        )


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    # path → status to answer (200 when not set)
    statuses: dict[str, int] = field(default_factory=dict)
    # path → an event that a request to it waits for before answering
    holds: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.received if request.path == path]

    def hold(self, path: str) -> threading.Event:
        release = threading.Event()
        self.holds[path] = release
        return release


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            request = Received(
                path=self.path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
            with receiver.lock:
                receiver.received.append(request)
            release = receiver.holds.get(self.path)
            if release is not None:
                release.wait(timeout=120)
            status = receiver.statuses.get(self.path, 200)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender gave up (killed, timed out)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        for release in receiver.holds.values():
            release.set()
        server.shutdown()
        server.server_close()
