"""Geography: import one local authority from a national-size postcode directory; resolutions per second.

A synthetic file in the NSPL column layout (2.7 million rows by default, about a third terminated, Leeds about
1 % of rows as in the real file) is generated in a temporary folder. The import runs in its own process so its
peak RSS is the importer's alone. Then postcodes are resolved in process, cold (first lookup of each) and warm.

Sizes: GEO_BENCH_ROWS (default 2,700,000), GEO_BENCH_RESOLUTIONS (default 500,000).
`python -m bench.run geography` runs it alone.
"""

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Row

ROWS = int(os.environ.get("GEO_BENCH_ROWS", "2700000"))
RESOLUTIONS = int(os.environ.get("GEO_BENCH_RESOLUTIONS", "500000"))
LEEDS = "E08000035"
HEADER = (
    "pcd,pcd2,pcds,dointr,doterm,usertype,oseast1m,osnrth1m,osgrdind,oa11,cty,ced,laua,ward,hlthau,nhser,ctry,rgn,"
    "pcon,eer,ttwa,itl,npark,lsoa11,msoa11,wz11,sicbl,bua24,ru11ind,oac11,oa21,lsoa21,msoa21,lat,long,lep1,lep2,"
    "pfa,imd,icb"
)
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Write the synthetic directory; returns how many live Leeds postcodes it holds."""
    rng = random.Random(seed)
    leeds_lsoas = [f"E0101{1300 + i:04d}" for i in range(482)]
    live_leeds = 0
    areas = ["AB", "BD", "BS", "CF", "DN", "EX", "HU", "KT", "M", "NE", "OX", "PL", "S", "SW", "TN", "WF", "YO"]
    with path.open("w", newline="") as out:
        out.write(HEADER + "\r\n")
        buffer: list[str] = []
        leeds_n = 0
        for n in range(rows):
            leeds = n % 90 == 0  # about 1.1 % of rows, as Leeds is of the national file
            # Unique postcodes: 4,000 inward codes per outward district.
            k = leeds_n if leeds else n
            inward = f"{k % 10}{LETTERS[(k // 10) % 20]}{LETTERS[(k // 200) % 20]}"
            district = k // 4000
            if leeds:
                leeds_n += 1
                outward = f"LS{district + 1}"
                la, lsoa = LEEDS, leeds_lsoas[n % 482]
            else:
                outward = f"{areas[district % len(areas)]}{district % 98 + 1}"
                la, lsoa = f"E0{6 + n % 3}000{(n % 400) + 100:03d}", f"E01{(n * 7) % 999999:06d}"
            terminated = "201905" if rng.random() < 0.33 else ""
            if leeds and not terminated:
                live_leeds += 1
            pcds = f"{outward} {inward}"
            lat, lon = 50 + rng.random() * 5, -5 + rng.random() * 5
            buffer.append(
                f'"{outward.ljust(4)}{inward}","{outward.ljust(5)}{inward}","{pcds}","198001","{terminated}","0",'
                f'"430000","433000","1","E00000001","E99999999","E99999999","{la}","E05000001","E18000003",'
                f'"E40000012","E92000001","E12000003","E14000001","E15000003","E30000001","E06000001","E65000001",'
                f'"{lsoa}","E02000001","E33000001","E38000225","E63000001","A1","1A1","E00000001","{lsoa}",'
                f'"E02000001","{lat:.6f}","{lon:.6f}","E37000062","","E23000010","1","E54000054"\r\n'
            )
            if len(buffer) >= 50_000:
                out.write("".join(buffer))
                buffer.clear()
        out.write("".join(buffer))
    return live_leeds


def _import(url: str, path: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run `signpost geography import nspl` as its own process: (seconds, peak RSS in MB, its output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "signpost.cli", "geography", "import", "nspl", str(path)],
        cwd=ROOT,
        env={**env, "SIGNPOST_DATABASE_URL": url, "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"import failed: {output}")
    return seconds, usage.ru_maxrss / 1024, output


def _resolutions(url: str) -> tuple[int, float, float]:
    """(postcodes, cold lookups/s, warm lookups/s), in this process."""
    from sqlmodel import Session, select

    from signpost import db
    from signpost.geography import models
    from signpost.geography import service as geography

    engine = db.make_engine(url)
    with Session(engine) as session:
        postcodes = list(session.exec(select(models.Postcode.postcode)).all())
        geography.invalidate_cache()
        started = time.perf_counter()
        for postcode in postcodes:
            geography.resolve(session, postcode)
        cold = len(postcodes) / (time.perf_counter() - started)
        # Mixed forms, as callers send them: half normalised, half lower case without the space.
        lookups = [
            postcodes[i % len(postcodes)] if i % 2 else postcodes[i % len(postcodes)].lower().replace(" ", "")
            for i in range(RESOLUTIONS)
        ]
        started = time.perf_counter()
        for postcode in lookups:
            geography.resolve(session, postcode)
        warm = RESOLUTIONS / (time.perf_counter() - started)
    engine.dispose()
    return len(postcodes), cold, warm


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    from signpost import db

    with tempfile.TemporaryDirectory(prefix="signpost-geo-bench-") as folder:
        path = Path(folder) / "NSPL_SYNTHETIC_UK.csv"
        started = time.perf_counter()
        live = generate(path, ROWS)
        generated_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        url = f"sqlite:///{folder}/geo.db"
        env = {**os.environ, "SIGNPOST_VAR_DIR": folder, "SIGNPOST_SECRET_KEY": "bench"}
        db.upgrade(url)
        seconds, peak_mb, _ = _import(url, path, env)
        loaded, cold, warm = _resolutions(url)
    assert loaded == live, (loaded, live)
    return [
        Row(
            f"geography: import NSPL, 1 LA of {ROWS:,} rows ({size_mb:,.0f} MB, made in {generated_s:.0f} s)",
            {"seconds": f"{seconds:.1f}", "peak RSS MB": f"{peak_mb:.0f}", "postcodes": f"{loaded:,}"},
            "< 60 s, < 200 MB",
        ),
        Row(
            f"geography: resolve in process ({RESOLUTIONS:,} lookups)",
            {"warm/s": f"{warm:,.0f}", "cold/s": f"{cold:,.0f}"},
            "> 100,000/s",
        ),
    ]
