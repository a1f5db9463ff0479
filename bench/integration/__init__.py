"""Benchmark of the outbox, the event feed and webhook delivery (``make bench-integration``)."""
