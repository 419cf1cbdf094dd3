"""Loading the Leeds test geography quickly: files parsed once per process, rows into the test's session."""

from functools import cache
from pathlib import Path

import pytest
from sqlmodel import Session

from signpost.geography import importers
from signpost.geography import service as geography
from signpost.geography.starter import LEEDS_FILES
from tests.conftest import SHARED_DATA

GEO_DATA = SHARED_DATA / "geo"
SYNTHETIC_NSPL = Path(__file__).resolve().parent / "data" / "nspl_synthetic_leeds.csv"
LEEDS = "E08000035"


def require_geo_data() -> Path:
    """The shared geography folder, or skip the test saying why."""
    if not all((GEO_DATA / name).is_file() for _, name in LEEDS_FILES):
        pytest.skip(f"shared Leeds geography files not found in {GEO_DATA}")
    return GEO_DATA


@cache
def _parsed() -> tuple[importers.Parsed, ...]:
    files = [(kind, GEO_DATA / name) for kind, name in LEEDS_FILES] + [("nspl", SYNTHETIC_NSPL)]
    return tuple(
        importers.parse(kind, path, local_authorities=[LEEDS], preferred_vintages=[2011]) for kind, path in files
    )


def load_leeds_geography(session: Session) -> None:
    """Write the parsed Leeds lookups and synthetic postcodes into the session (no commit)."""
    require_geo_data()
    for parsed in _parsed():
        importers.write(session, parsed)
    geography.invalidate_cache()


def clear_geography(session: Session) -> None:
    """Empty the geography tables inside the test's session (rolled back with it)."""
    from sqlalchemy import delete

    from signpost.geography import models

    for model in (models.Postcode, models.Lsoa, models.Ward, models.WardCrosswalk, models.GeographyImport):
        session.execute(delete(model))
    session.flush()
    geography.invalidate_cache()
