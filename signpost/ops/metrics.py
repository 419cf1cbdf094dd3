"""Request counts and latency histograms (prometheus_client), one registry per app, per process.

Exposed at /metrics as `signpost_requests_total{method,route,status}` and
`signpost_request_duration_seconds{method,route}` (a histogram: `_bucket`, `_sum`, `_count`).
"""

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A method outside these is counted as "other": a client's made-up method must not make a series of its own.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

# The `_created` series (when each label set was first seen) are left out: nothing reads them, and they would
# double what a scrape carries.
prometheus_client.disable_created_metrics()


class Metrics:
    """The app's request metrics; `observe` is called once per request, `render` by /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "signpost_requests",
            "Requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "signpost_request_duration_seconds",
            "Time to answer, by route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Each label set's children, found once: `labels()` costs more than the count and the observation together.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, status)
        children = self._children.get(key)
        if children is None:
            children = self._requests.labels(key[0], route, str(status)), self._duration.labels(key[0], route)
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything observed so far."""
        return generate_latest(self.registry)
