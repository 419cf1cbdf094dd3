"""Request counts and latency histograms, one registry per app, per process, exposed with prometheus_client.

Exposed at /metrics as `signpost_requests_total{method,route,status}` and
`signpost_request_duration_seconds{method,route}` (a histogram: `_bucket`, `_sum`, `_count`).

Each request is counted here in plain lists, on the event loop, and prometheus_client reads them through a custom
collector when /metrics is scraped. Its own Counter and Histogram take three locks a request, which cost the project
floor's echo about 1.5 % of its instructions (bench/README.md).
"""

from bisect import bisect_left
from collections.abc import Iterator

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BUCKET_NAMES = (*(floatToGoString(b) for b in BUCKETS), "+Inf")
# A method outside these is counted as "other": a client's made-up method must not make a series of its own.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

Key = tuple[str, str, int]  # method, route template, status


class Metrics(Collector):
    """The app's request metrics; `observe` is called once per request (on the event loop), `render` by /metrics."""

    def __init__(self) -> None:
        # For each (method, route, status): how many answers fell in each bucket (not cumulative; the last is above
        # every bound), then their seconds in all.
        self._series: dict[Key, list[float]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "other", route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = [0.0] * (len(BUCKETS) + 2)
        series[bisect_left(BUCKETS, seconds)] += 1  # a bucket counts answers up to and including its bound
        series[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        """The counter and the histogram as they stand (a scrape runs in a worker thread while requests are counted:
        each series is copied whole, so its count, buckets and sum agree)."""
        requests = CounterMetricFamily(
            "signpost_requests",
            "Requests answered, by route template and status.",
            labels=["method", "route", "status"],
        )
        duration = HistogramMetricFamily(
            "signpost_request_duration_seconds", "Time to answer, by route template.", labels=["method", "route"]
        )
        by_route: dict[tuple[str, str], list[float]] = {}
        for (method, route, status), series in list(self._series.items()):
            counts = list(series)
            requests.add_metric([method, route, str(status)], sum(counts[:-1]))
            merged = by_route.setdefault((method, route), [0.0] * len(counts))
            for i, value in enumerate(counts):
                merged[i] += value
        for (method, route), counts in by_route.items():
            cumulative, running = [], 0.0
            for name, count in zip(BUCKET_NAMES, counts[:-1], strict=True):
                running += count
                cumulative.append((name, running))
            duration.add_metric([method, route], cumulative, sum_value=counts[-1])
        yield requests
        yield duration

    def render(self) -> bytes:
        """The Prometheus text exposition of everything observed so far."""
        return generate_latest(self.registry)
