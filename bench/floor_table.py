"""The framework-floor table, side by side in one run: `python -m bench.floor_table`.

Rows: the bare floor on uvloop and httptools (1.00), the same bare app on asyncio and h11, the project's floor (its
app and middleware), the bare floor paced at a quarter of its rate (the machine's own tail at that rate), and
`$signpost` on SQLite and on PostgreSQL: closed-loop with wrk at 32 connections, then paced at a quarter of the bare
floor's rate; after each database's rows, how long the disk took to make a small write durable while they ran
(PostgreSQL's commits wait for it, so a disk that stalls shows in its tails). Each run lasts BENCH_SECONDS (default
10; the whole table takes about four minutes at 10); the floors take turns BENCH_FLOOR_ROUNDS times (default 2), each
keeping its best. PostgreSQL: BENCH_SIGNPOST_PG_URL (dropped and created afresh; the row is skipped when unreachable).
"""

import os
import sys
import tempfile

from bench import floor, signpost
from bench.common import PLAIN, LoadResult, Row, cpu_ticks, disk_syncs, load_generator, print_table

ROUNDS = int(os.environ.get("BENCH_FLOOR_ROUNDS", "2"))


def main() -> None:
    load_before = os.getloadavg()[0]
    stolen_before, ticks_before = cpu_ticks()

    def step(what: str) -> None:
        print(f"running {what} …", file=sys.stderr, flush=True)

    # The three floors take turns, ROUNDS times, and each keeps its best run: on a shared machine a burst of
    # someone else's work then lowers one round of all three rather than one floor alone.
    runs: dict[str, list[LoadResult]] = {"bare": [], "plain": [], "project": []}
    for round_number in range(1, ROUNDS + 1):
        step(f"floors, round {round_number} of {ROUNDS}")
        runs["bare"].append(floor.measure(floor.BARE))
        runs["plain"].append(floor.measure(floor.BARE, stack=PLAIN))
        runs["project"].append(floor.measure(floor.PROJECT))
    bare, plain, project = (max(runs[name], key=lambda run: run.rps) for name in ("bare", "plain", "project"))
    rows = [
        Row("bare FastAPI echo, uvloop + httptools", {**bare.figures(), "x bare": "1.00"}, "reference"),
        Row("bare FastAPI echo, asyncio + h11", {**plain.figures(), "x bare": floor.share(plain.rps, bare.rps)}),
        Row(
            "project floor (bench.floor: its app and middleware)",
            {**project.figures(), "x bare": floor.share(project.rps, bare.rps)},
            "≥ 0.90 bare",
        ),
    ]
    # The same schedule as the paced `$signpost` rows, on the bare floor: the tail a request has on this machine at
    # that rate before the service does anything.
    step("the bare floor, paced")
    rate = floor.PACED_SHARE * bare.rps
    bare_paced = floor.measure(floor.BARE, rate=rate)
    paced_figures = bare_paced.figures()
    paced_figures["req/s"] = f"{bare_paced.rps:,.0f} of {rate:,.0f}"
    rows.append(Row(f"bare FastAPI echo, paced at {floor.PACED}", paced_figures, "reference for the paced rows"))

    def signpost_rows(name: str, url: str) -> list[Row]:
        with disk_syncs() as syncs:
            found = signpost.load_run(name, url, bare.rps, project.rps, half=False)
        return [*found, Row(f"  {syncs.label()}", syncs.figures(), "the machine's, while the rows above ran")]

    step("$signpost on SQLite")
    rows += signpost_rows("$signpost SQLite", f"sqlite:///{tempfile.mkdtemp(prefix='signpost-bench-floor-')}/bench.db")
    step("$signpost on PostgreSQL")
    pg_url = signpost.fresh_pg()
    if pg_url:
        rows += signpost_rows("$signpost PostgreSQL", pg_url)
    else:
        rows.append(Row("$signpost PostgreSQL", {"errors": "skipped: PostgreSQL unreachable"}))
    stolen_after, ticks_after = cpu_ticks()
    ticks = ticks_after - ticks_before
    stolen = (stolen_after - stolen_before) / ticks if ticks else 0.0
    print()
    print(
        f"Framework floor and $signpost, one run ({os.cpu_count()} cores, {load_generator()}, {floor.SECONDS} s a run,"
        f" floors best of {ROUNDS}; load average before: {load_before:.1f}; CPU time stolen by the host:"
        f" {stolen:.0%})"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
