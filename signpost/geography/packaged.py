"""The Leeds starter geography shipped inside the package (gzipped CSVs under `geography/data/`), used when no
geography data folder is at hand, so that a fresh install places every live Leeds postcode.

Rebuild it from ../shared/data/geo with `python -m signpost.geography.packaged ../shared/data/geo`.
"""

import csv
import gzip
import io
import sys
from pathlib import Path

FOLDER = Path(__file__).parent / "data"
POSTCODES = "NSPL_leeds_live_postcodes_2025-10.csv"
# Only the columns the postcode importer reads: the wheel stays small.
POSTCODE_COLUMNS = ("pcds", "doterm", "laua", "lsoa11", "lsoa21", "lat", "long")
LOOKUPS = (
    "leeds_LSOA11_to_WD18.csv",
    "leeds_LSOA11_WD18_IMD2019_decile.csv",
    "leeds_ward_population_mid2020_WD19_nomis.csv",
    "leeds_ward_codes.csv",
)


def folder() -> Path:
    """Where the packaged starter geography lives."""
    return FOLDER


def _write_gzip(path: Path, text: str) -> None:
    # mtime 0: the same data gives the same bytes, so a rebuild changes nothing in git.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(text.encode("utf-8"))


def build(source: Path, target: Path = FOLDER) -> list[Path]:
    """Write the gzipped starter files from the shared data folder; returns what was written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LOOKUPS:
        path = target / f"{name}.gz"
        _write_gzip(path, (source / name).read_text(encoding="utf-8-sig"))
        written.append(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with (source / POSTCODES).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        writer.writerow(POSTCODE_COLUMNS)
        for row in reader:
            writer.writerow([row[c] for c in POSTCODE_COLUMNS])
    path = target / f"{POSTCODES}.gz"
    _write_gzip(path, buffer.getvalue())
    written.append(path)
    return written


if __name__ == "__main__":
    for made in build(Path(sys.argv[1])):
        print(f"{made.name}: {made.stat().st_size:,} bytes")
