"""The framework-floor table, side by side in one run: `python -m bench.floor_table`.

Rows: the bare floor on uvloop and httptools (1.00), the same bare app on asyncio and h11, the project's floor (its
app and middleware), and `$signpost` on SQLite and on PostgreSQL: closed-loop with wrk at 32 connections, then paced
at a quarter of the bare floor's rate. Each run lasts BENCH_SECONDS (default 10; the whole table takes about three
minutes at 10). PostgreSQL: BENCH_SIGNPOST_PG_URL (dropped and created afresh; the row is skipped when unreachable).
"""

import os
import sys
import tempfile

from bench import floor, signpost
from bench.common import PLAIN, Row, print_table


def main() -> None:
    def step(what: str) -> None:
        print(f"running {what} …", file=sys.stderr, flush=True)

    step("bare floor (uvloop, httptools)")
    bare = floor.measure(floor.BARE)
    step("bare floor (asyncio, h11)")
    plain = floor.measure(floor.BARE, stack=PLAIN)
    step("project floor")
    project = floor.measure(floor.PROJECT)
    rows = [
        Row("bare FastAPI echo, uvloop + httptools", {**bare.figures(), "x bare": "1.00"}, "reference"),
        Row("bare FastAPI echo, asyncio + h11", {**plain.figures(), "x bare": floor.share(plain.rps, bare.rps)}),
        Row(
            "project floor (bench.floor: its app and middleware)",
            {**project.figures(), "x bare": floor.share(project.rps, bare.rps)},
            "≥ 0.90 bare",
        ),
    ]
    step("$signpost on SQLite")
    sqlite_url = f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-floor-')}/bench.db"
    rows += signpost.load_run("$signpost SQLite", sqlite_url, bare.rps, project.rps, half=False)
    step("$signpost on PostgreSQL")
    pg_url = signpost.fresh_pg()
    if pg_url:
        rows += signpost.load_run("$signpost PostgreSQL", pg_url, bare.rps, project.rps, half=False)
    else:
        rows.append(Row("$signpost PostgreSQL", {"errors": "skipped: PostgreSQL unreachable"}))
    print()
    print(f"Framework floor and $signpost, one run ({os.cpu_count()} cores, wrk 2 threads, {floor.SECONDS} s a run)")
    print_table(rows)


if __name__ == "__main__":
    main()
