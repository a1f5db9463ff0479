"""Metrics (Prometheus) and tracing (W3C trace context, OpenTelemetry) for every process."""

from shared.observability.install import install_observability
from shared.observability.tracing import telemetry_config

__all__ = ["install_observability", "telemetry_config"]
