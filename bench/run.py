"""`make bench`: every benchmark in bench/, one table. The floor runs first; ratios are to it."""

import importlib
import os
import sys

from bench.common import Row, print_table

# Order matters: the floor first, so later throughput can be a ratio to it.
BENCHMARKS = [
    "bench.floor",  # the bare floor and the project's
    "bench.floor_instructions",  # the same two floors in instructions a request (callgrind), which noise does not move
    "bench.geography",
    "bench.signpost",
    "bench.signpost_cpu",  # the same route's CPU per request, in process
    "bench.indicators",
    "bench.web",
    "bench.directory",
    "bench.directory_import",
    "bench.referrals",
]


def main() -> None:
    only = set(sys.argv[1:])
    context: dict = {}  # type: ignore[type-arg]
    rows: list[Row] = []
    for name in BENCHMARKS:
        if only and name.split(".")[-1] not in only and name != "bench.floor":
            continue
        print(f"running {name} …", file=sys.stderr, flush=True)
        rows += importlib.import_module(name).run(context)
    print()
    print(f"Signpost benchmarks ({os.cpu_count()} cores)")
    print_table(rows)


if __name__ == "__main__":
    main()
