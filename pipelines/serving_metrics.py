"""The model server's Prometheus metrics, exposed at ``/metrics`` by prometheus-client.

Each app has its own registry (two servers in one process, as in tests, never share counts).
Requests are counted by route, method, status and the model version that answered; the model
state (version served, stale or not) and the prediction log's writes are read at scrape time,
so they can never drift from what the server reports elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from components.core.prediction_log import PredictionLog
from pipelines.alias_follower import AliasFollower
from pipelines.shadow import ShadowScorer

PREFIX = "seqpipe_serve"
MODEL_VERSION_HEADER = b"x-model-version"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LOAD_BUCKETS = (0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServerMetrics:
    """The counters, gauges and histograms of one server, in their own registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        follower: AliasFollower,
        prediction_log: PredictionLog | None,
        shadow: ShadowScorer | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        labels = ["route", "method", "status", "model_version"]
        self.requests = Counter(
            f"{PREFIX}_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from a request's arrival to its response's last byte",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_requests_in_flight", "Requests being answered now", registry=self.registry
        )
        self.load_seconds = Histogram(
            f"{PREFIX}_model_load_duration_seconds",
            "Time to load a model version, successful or not",
            ["outcome"],
            buckets=LOAD_BUCKETS,
            registry=self.registry,
        )
        self.swaps = Counter(
            f"{PREFIX}_model_swaps",
            "Times a newly loaded version replaced the served one",
            registry=self.registry,
        )
        self.load_failures = Counter(
            f"{PREFIX}_model_load_failures",
            "Versions the alias pointed at that failed to load",
            registry=self.registry,
        )
        self.batch_sizes = Histogram(
            f"{PREFIX}_prediction_batch_size",
            "Requests predicted together in one call of a batching model",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StateCollector(follower, prediction_log, shadow))

    # LoadEvents, heard from the follower.
    def loaded(self, seconds: float, swapped: bool) -> None:
        self.load_seconds.labels("loaded").observe(seconds)
        if swapped:
            self.swaps.inc()

    def load_failed(self, seconds: float) -> None:
        self.load_seconds.labels("failed").observe(seconds)
        self.load_failures.inc()

    def exposition(self) -> bytes:
        """The text format a Prometheus server scrapes."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """The served version and the prediction log's counts, read when scraped."""

    def __init__(
        self,
        follower: AliasFollower,
        prediction_log: PredictionLog | None,
        shadow: ShadowScorer | None,
    ) -> None:
        self.follower, self.prediction_log, self.shadow = follower, prediction_log, shadow

    def collect(self) -> Iterable[Metric]:
        status = self.follower.status()
        info = GaugeMetricFamily(
            f"{PREFIX}_model_info",
            "1 for the version served, labelled with whether it is stale",
            labels=["registered_model", "alias", "version", "stale"],
        )
        if status.served is not None:
            served = status.served
            info.add_metric([served.name, served.alias, served.version, str(status.stale)], 1)
        yield info
        yield GaugeMetricFamily(
            f"{PREFIX}_model_ready", "1 once a version is served", value=int(bool(status.served))
        )
        writes = CounterMetricFamily(
            f"{PREFIX}_prediction_log_writes",
            "Prediction records appended to the log, or that failed to be",
            labels=["outcome"],
        )
        if self.prediction_log is not None:
            writes.add_metric(["written"], self.prediction_log.written)
            writes.add_metric(["failed"], self.prediction_log.failures)
        yield writes
        if self.shadow is not None:
            shadowed = CounterMetricFamily(
                f"{PREFIX}_shadow_predictions",
                "Requests the shadow model scored, failed on, dropped (it fell behind) or "
                "met unloaded",
                labels=["outcome"],
            )
            for outcome in ("scored", "failed", "dropped", "unloaded"):
                shadowed.add_metric([outcome], self.shadow.outcomes[outcome])
            yield shadowed
            shadowing = self.shadow.follower.served
            version = shadowing.version if shadowing is not None else ""
            yield GaugeMetricFamily(
                f"{PREFIX}_shadow_model_version",
                "The shadow's version (0 before it loads)",
                value=int(version) if version.isdigit() else 0,
            )


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request.

    The route label is the path when the app has that route and "other" otherwise, so a
    scanner trying random paths cannot grow the series without bound.
    """

    def __init__(
        self, app: Callable[..., Awaitable[None]], metrics: ServerMetrics, routes: Iterable[str]
    ) -> None:
        self.app, self.metrics, self.routes = app, metrics, frozenset(routes)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in self.routes else "other"
        status, version = "500", ""  # what an exception before the response start means
        started = time.perf_counter()

        async def watched_send(message: dict) -> None:
            nonlocal status, version
            if message["type"] == "http.response.start":
                status = str(message["status"])
                version = _header(message.get("headers", ()), MODEL_VERSION_HEADER)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, watched_send)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(route, scope["method"], status, version).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    found: Iterator[bytes] = (value for key, value in headers if key.lower() == name)
    return next(found, b"").decode("latin-1")
