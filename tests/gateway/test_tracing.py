"""W3C trace context from the caller, through nginx and the assignment service, to proximity.

Real processes: nginx in front of assignment, which calls proximity for a territory whose
distribution rule is ``proximity``. With OpenTelemetry export off, proximity's request log names
the trace id it received; with export on, an OTLP/HTTP collector of the test receives the spans
of both services and their parent links.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.assignment.territory_factories import (
    add_member,
    make_account,
    make_alignment,
    make_rep,
    make_territory,
)
from tests.factories import TenantWithKey
from tests.harness import LOCALHOST, NginxProcess, ServiceProcess, free_port


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str


class OtlpCollector:
    """The OTLP/HTTP traces endpoint (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    attributes = {
                        a.key: a.value.string_value for a in resource_spans.resource.attributes
                    }
                    for scope_spans in resource_spans.scope_spans:
                        collector.spans.extend(
                            ExportedSpan(
                                service=attributes.get("service.name", ""),
                                name=span.name,
                                kind=span.kind,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                            )
                            for span in scope_spans.spans
                        )
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.url = f"http://{LOCALHOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(
        self, trace_id: str, *, spans: set[tuple[str, str]], timeout: float = 15.0
    ) -> list[Any]:
        """The trace's spans once every (service, span name) in ``spans`` has arrived: each
        process exports in its own batches, so a server span may come after its child's."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [span for span in self.spans if span.trace_id == trace_id]
            if spans <= {(span.service, span.name) for span in found}:
                return found
            time.sleep(0.05)
        raise AssertionError(f"not all of {spans} arrived for trace {trace_id}: {self.spans}")


@dataclass(frozen=True)
class TracedPlatform:
    url: str
    proximity_log: Path


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpCollector]:
    collector = OtlpCollector()
    yield collector
    collector.close()


def _start(
    service_env: dict[str, str], logs: Path, runtime: Path, otel: dict[str, str]
) -> Iterator[TracedPlatform]:
    """Proximity (request log at DEBUG, JSON lines), assignment calling it, nginx in front."""
    proximity = ServiceProcess(
        "proximity",
        env={**service_env, **otel, "TERRITORY_LOG_LEVEL": "DEBUG", "TERRITORY_LOG_JSON": "true"},
        log_dir=logs,
    )
    assignment = ServiceProcess(
        "assignment",
        env={**service_env, **otel, "TERRITORY_PROXIMITY_URL": proximity.url},
        log_dir=logs,
    )
    absent = f"{LOCALHOST}:{free_port()}"  # the services this test does not need
    with proximity, assignment:
        upstreams = {
            "gateway": absent,
            "assignment": assignment.address,
            "planning": absent,
            "proximity": proximity.address,
            "metrics": absent,
        }
        with NginxProcess(runtime_dir=runtime, upstreams=upstreams) as nginx:
            yield TracedPlatform(url=nginx.url, proximity_log=proximity.log_path)


@pytest.fixture(scope="module")
def untraced(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TracedPlatform]:
    """OpenTelemetry export off (the default): propagation only."""
    yield from _start(
        service_env,
        tmp_path_factory.mktemp("untraced-logs"),
        tmp_path_factory.mktemp("untraced-nginx"),
        {"TERRITORY_OTEL_ENABLED": "false"},
    )


@pytest.fixture(scope="module")
def traced(
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    collector: OtlpCollector,
) -> Iterator[TracedPlatform]:
    """OpenTelemetry export on, to the test's collector, flushed every 50 ms."""
    yield from _start(
        service_env,
        tmp_path_factory.mktemp("traced-logs"),
        tmp_path_factory.mktemp("traced-nginx"),
        {
            "TERRITORY_OTEL_ENABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
        },
    )


@pytest.fixture
async def social_account(db: asyncpg.Connection, tenant: TenantWithKey) -> str:
    """A proximity territory whose one owner knows the contact of account ``social.example``;
    returns a lead email of that account, so assigning it calls the proximity service."""
    t = tenant.tenant_id
    alignment = await make_alignment(db, tenant_id=t)
    territory = await make_territory(
        db, tenant_id=t, alignment_id=alignment, name="Social", is_fallback=True, rule="proximity"
    )
    rep = await make_rep(db, tenant_id=t, name="Warm")
    await add_member(db, tenant_id=t, territory_id=territory, rep_id=rep)
    account = await make_account(
        db, tenant_id=t, external_id="acct-social", name="Social Co", domain="social.example"
    )
    insert_person = (
        "INSERT INTO person (tenant_id, kind, name, rep_id, account_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    contact = await db.fetchval(insert_person, t, "contact", "Casey", None, account)
    warm = await db.fetchval(insert_person, t, "rep", "Warm", rep, None)
    low, high = sorted((contact, warm))
    await db.execute(
        "INSERT INTO connection (tenant_id, person_a_id, person_b_id, kind, strength)"
        " VALUES ($1, $2, $3, 'colleague', 0.9)",
        t,
        low,
        high,
    )
    return "buyer@social.example"


def _assign(url: str, tenant: TenantWithKey, email: str, **headers: str) -> httpx.Response:
    response = httpx.post(
        f"{url}/assignment/leads",
        json={"email": email},
        headers={**tenant.headers, **headers},
        timeout=30.0,
    )
    assert response.status_code == 201, response.text
    step = next(s for s in response.json()["explanation"] if s["step"] == "proximity")
    assert step["outcome"] == "ranked", step  # the proximity service was called and answered
    return response


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _trace_ids_logged_for(log: Path, path: str, *, timeout: float = 5.0) -> list[str]:
    """Trace ids of proximity's request log lines for ``path`` (JSON lines, DEBUG)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == "request" and record.get("path") == path:
                found.append(record.get("trace_id"))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


async def test_proximity_receives_the_callers_trace_id_with_export_off(
    untraced: TracedPlatform, tenant: TenantWithKey, social_account: str
) -> None:
    traceparent, trace_id, _ = _traceparent()
    response = _assign(untraced.url, tenant, social_account, traceparent=traceparent)
    # The answer names the caller's trace (and assignment's own span in it).
    assert response.headers["traceresponse"].split("-")[1] == trace_id
    assert trace_id in _trace_ids_logged_for(untraced.proximity_log, "/proximity/rankings")


async def test_a_trace_is_started_when_the_caller_sends_none(
    untraced: TracedPlatform, tenant: TenantWithKey, social_account: str
) -> None:
    response = _assign(untraced.url, tenant, social_account)
    version, trace_id, span_id, _flags = response.headers["traceresponse"].split("-")
    assert version == "00" and len(trace_id) == 32 and int(trace_id, 16) != 0
    assert len(span_id) == 16
    assert trace_id in _trace_ids_logged_for(untraced.proximity_log, "/proximity/rankings")


async def test_spans_of_both_services_are_exported_as_one_trace(
    traced: TracedPlatform,
    collector: OtlpCollector,
    tenant: TenantWithKey,
    social_account: str,
) -> None:
    traceparent, trace_id, caller_span_id = _traceparent()
    response = _assign(traced.url, tenant, social_account, traceparent=traceparent)
    assignment_server_name = ("assignment", "POST /assignment/leads")
    client_name = ("assignment", "POST proximity")
    proximity_server_name = ("proximity", "POST /proximity/rankings")
    spans = collector.wait_for(
        trace_id, spans={assignment_server_name, client_name, proximity_server_name}
    )
    by_name = {(span.service, span.name): span for span in spans}
    assignment_server = by_name[assignment_server_name]
    client = by_name[client_name]
    proximity_server = by_name[proximity_server_name]
    # server <- caller, client <- assignment's server span, proximity's server <- that client.
    assert assignment_server.parent_span_id == caller_span_id
    assert client.parent_span_id == assignment_server.span_id
    assert proximity_server.parent_span_id == client.span_id
    assert response.headers["traceresponse"] == f"00-{trace_id}-{assignment_server.span_id}-01"
    assert trace_id in _trace_ids_logged_for(traced.proximity_log, "/proximity/rankings")
    assert uuid.UUID(response.json()["assignment_id"])
