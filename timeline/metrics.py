"""Prometheus metrics of one process: HTTP requests, store writes, polls and webhook deliveries."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Metric, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from timeline.logs import dropped_records

CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar adds the charset to text/* types


class Metrics:
    """One registry per app, so tests and several apps in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "timeline_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "timeline_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.not_modified = Counter(
            "timeline_http_not_modified",
            "Reads answered 304 from the in-process seq cache.",
            registry=self.registry,
        )
        self.changes = Counter(
            "timeline_changes_applied",
            "Event changes written to the store, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.polls = Counter(
            "timeline_polls", "Source polls by outcome.", ["outcome"], registry=self.registry
        )
        self.fetch_latency = Histogram(
            "timeline_poll_duration_seconds",
            "Time of one poll: fetch, parse, apply.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
            registry=self.registry,
        )
        self.bytes_fetched = Counter(
            "timeline_fetched_bytes", "Bytes fetched from upstreams.", registry=self.registry
        )
        self.late_polls = Counter(
            "timeline_late_polls", "Polls started more than 2 s after they were due.", registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "timeline_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered (2xx), rejected (another status), unreachable "
            "(no answer: refused address, connect error, timeout).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_lag = Histogram(
            "timeline_webhook_lag_seconds",
            "From this process hearing of a change to the receiver's 2xx for it.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

        self.sse_clients = Gauge("timeline_sse_clients", "Open SSE streams.", registry=self.registry)
        self.registry.register(_LogRecordsDropped())

    def count_changes(self, new: int, updated: int, deleted: int) -> None:
        for kind, count in (("new", new), ("updated", updated), ("deleted", deleted)):
            if count:
                self.changes.labels(kind).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LogRecordsDropped(Collector):
    """Counted by the process's logging (`timeline.logs`), which every registry in it reports."""

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "timeline_log_records_dropped",
            "Log records dropped because the log output was blocked and its queue full.",
            value=dropped_records(),
        )
