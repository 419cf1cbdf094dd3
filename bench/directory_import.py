"""Import of a synthetic ORUK 3.0 feed (default 20,000 services; the target is stated for 50,000): seconds,
services per second, peak RSS.

Runs `signpost directory import` in a child process on a fresh SQLite database (and on PostgreSQL when
BENCH_POSTGRES_URL is set; it must name an empty database), then imports the same feed again (everything
unchanged). BENCH_IMPORT_SIZE sets the number of services.

Peak RSS is the child's own high-water mark (VmHWM). `ru_maxrss` would not do: a child started by a
process holding the generated feed inherits the parent's peak through fork and exec.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row

SIZE = int(os.environ.get("BENCH_IMPORT_SIZE", "20000"))  # BENCH_IMPORT_SIZE=50000 for the full size
WORDS = [
    "advice",
    "housing",
    "debt",
    "benefits",
    "food",
    "bank",
    "energy",
    "carers",
    "support",
    "group",
    "drop-in",
    "community",
    "centre",
    "family",
    "employment",
    "skills",
    "legal",
    "immigration",
    "language",
    "digital",
    "library",
    "walk",
    "health",
    "wellbeing",
    "youth",
    "older",
    "people",
]


def synthetic_feed(size: int, seed: int = 7) -> list[dict[str, Any]]:
    """A seeded feed shaped like a council's ORUK 3.0 export: 1 organisation per 10 services, shared premises."""
    rng = random.Random(seed)

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    orgs = [
        {"id": uid(), "name": f"Organisation {i}", "description": "A local provider."} for i in range(size // 10 + 1)
    ]
    locations = [
        {
            "id": uid(),
            "name": f"Premises {i}",
            "latitude": 53.7 + rng.random() * 0.2,
            "longitude": -1.7 + rng.random() * 0.3,
            "addresses": [
                {"address_1": f"{i} High Street", "city": "Leeds", "postal_code": f"LS{rng.randint(1, 29)} 1AA"}
            ],
        }
        for i in range(size // 5 + 1)
    ]
    terms = [{"id": f"bench-term-{i}", "term": f"Category {i}", "taxonomy": "bench"} for i in range(40)]
    feed = []
    for i in range(size):
        words = " ".join(rng.choice(WORDS) for _ in range(30))
        feed.append(
            {
                "id": uid(),
                "name": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} service {i}",
                "description": f"<p>{words}</p>",
                "url": f"https://service{i}.example.org/",
                "status": "active",
                "minimum_age": rng.choice([None, 0, 16, 18, 65]),
                "assured_date": f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "organization": orgs[i // 10],
                "service_at_locations": [{"id": uid(), "location": rng.choice(locations)}],
                "attributes": [{"id": uid(), "taxonomy_term": rng.choice(terms)}],
                "contacts": [{"id": uid(), "name": "Reception", "phones": [{"id": uid(), "number": "0113 000 0000"}]}],
                "schedules": [{"id": uid(), "byday": "MO,WE,FR", "opens_at": "09:00", "closes_at": "17:00"}],
                "languages": [{"id": uid(), "name": "English", "code": "en"}],
            }
        )
    return feed


_CHILD = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('PEAK_RSS_KB', next(line.split()[1] for line in open('/proc/self/status')\n"
    "                                                  if line.startswith('VmHWM')), file=sys.stderr))\n"
    "sys.argv = ['signpost', 'directory', 'import', sys.argv[1]]\n"
    "from signpost.cli import app\n"
    "app()\n"
)


def _import(feed_path: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one `signpost directory import` in a child process."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(feed_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"import failed: {out.stderr[-2000:]}")
    peak_kb = next(int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return seconds, peak_kb / 1024


def _run_on(label: str, url: str, feed_path: Path) -> list[Row]:
    env = {**os.environ, "SIGNPOST_DATABASE_URL": url, "SIGNPOST_LOG_LEVEL": "WARNING"}
    env.setdefault("SIGNPOST_VAR_DIR", tempfile.mkdtemp(prefix="signpost-bench-import-"))
    subprocess.run(
        [sys.executable, "-m", "signpost.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    from sqlalchemy import create_engine, text

    from signpost.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        held = connection.execute(text("SELECT count(*) FROM service")).scalar_one()
    engine.dispose()
    if held:
        raise RuntimeError(f"{label}: the benchmark needs an empty database; {url} holds {held} services")
    rows = []
    for run in ("first import", "re-import (unchanged)"):
        seconds, rss = _import(feed_path, env)
        print(f"  {label} {run}: {seconds:.1f} s, peak RSS {rss:.0f} MB", file=sys.stderr, flush=True)
        rows.append(
            Row(
                f"directory import {SIZE:,} ({label}, {run})",
                {"seconds": f"{seconds:.1f}", "services/s": f"{SIZE / seconds:,.0f}", "peak RSS MB": f"{rss:.0f}"},
                "first import < 60 s" if run == "first import" else "",
            )
        )
    return rows


def run(context: dict[str, Any]) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="signpost-import-") as tmp:
        feed_path = Path(tmp) / "feed.json"
        feed_path.write_text(json.dumps(synthetic_feed(SIZE)))  # the feed is not kept in this process
        rows = _run_on("SQLite", f"sqlite:///{tmp}/bench.db", feed_path)
        if os.environ.get("BENCH_POSTGRES_URL"):
            rows += _run_on("PostgreSQL", os.environ["BENCH_POSTGRES_URL"], feed_path)
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
