"""Request counts and latency histograms in Prometheus text format (per process)."""

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[tuple[str, str, str], int] = defaultdict(int)
        self._sum: dict[tuple[str, str], float] = defaultdict(float)
        self._buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self._observations: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._count[(method, route, str(status))] += 1
            key = (method, route)
            self._sum[key] += seconds
            self._observations[key] += 1
            counts = self._buckets[key]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1

    def render(self) -> str:
        def esc(value: str) -> str:
            return value.replace("\\", "\\\\").replace('"', '\\"')

        lines = [
            "# HELP signpost_requests_total Requests answered, by route template and status.",
            "# TYPE signpost_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._count.items()):
                lines.append(f'signpost_requests_total{{method="{method}",route="{esc(route)}",status="{status}"}} {n}')
            lines += [
                "# HELP signpost_request_duration_seconds Time to answer, by route template.",
                "# TYPE signpost_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self._buckets.items()):
                labels = f'method="{method}",route="{esc(route)}"'
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(f'signpost_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}')
                total = self._observations[(method, route)]
                lines.append(f'signpost_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}')
                lines.append(f"signpost_request_duration_seconds_sum{{{labels}}} {self._sum[(method, route)]:.6f}")
                lines.append(f"signpost_request_duration_seconds_count{{{labels}}} {total}")
        return "\n".join(lines) + "\n"
