"""Prometheus metrics of one process: HTTP requests, store writes, polls and webhook deliveries."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Metric, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from timeline.logs import dropped_records

CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar adds the charset to text/* types


class Metrics:
    """One registry per app, so tests and several apps in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = _Requests()
        self.registry.register(self.http)
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


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)  # seconds


class _Requests(Collector):
    """HTTP requests by method, route and status, their latency by method and route, and the 304s answered
    from memory: plain numbers, made metrics only when scraped. A prometheus_client child takes a lock and
    checks its kind on every increment, and looking children up by label costs more again: that was a
    fifth of a 304 answered from memory. Counted on the event loop only, so no lock is needed."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        # Per (method, route): a count per bucket (the last one past every bound), then the sum.
        self._latency: dict[tuple[str, str], list[float]] = {}
        self._not_modified = 0

    def count(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request (`route`: its template, so that labels stay bounded) and its latency."""
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        observed = self._latency.get((method, route))
        if observed is None:
            observed = self._latency[method, route] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        observed[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # each bucket holds what is <= its bound
        observed[-1] += seconds

    def not_modified(self) -> None:
        """A read answered 304 from the in-process seq cache."""
        self._not_modified += 1

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "timeline_http_requests",
            "HTTP requests by route and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "timeline_http_request_duration_seconds",
            "HTTP request latency by route.",
            labels=["method", "route"],
        )
        bounds = [*map(floatToGoString, LATENCY_BUCKETS), "+Inf"]
        for (method, route), observed in list(self._latency.items()):
            cumulative: list[tuple[str, float]] = []
            total = 0.0
            for bound, in_bucket in zip(bounds, observed[:-1], strict=True):
                total += in_bucket
                cumulative.append((bound, total))
            latency.add_metric([method, route], cumulative, sum_value=observed[-1])
        yield latency
        yield CounterMetricFamily(
            "timeline_http_not_modified",
            "Reads answered 304 from the in-process seq cache.",
            value=self._not_modified,
        )


class _LogRecordsDropped(Collector):
    """Counted by the process's logging (`timeline.logs`), which every registry in it reports."""

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "timeline_log_records_dropped",
            "Log records dropped because the log output was blocked and its queue full.",
            value=dropped_records(),
        )
