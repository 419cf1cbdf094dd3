"""What geography is loaded: per table, vintages, row counts, local authorities, IMD years."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from signpost.geography import models


@dataclass(frozen=True)
class TableStatus:
    """One line of `signpost geography status`."""

    table: str
    vintage: int | None
    rows: int
    local_authorities: list[str]
    detail: str = ""


@dataclass(frozen=True)
class LastImport:
    kind: str
    source_name: str
    rows: int
    imported_at: datetime


def table_status(session: Session) -> list[TableStatus]:
    """Row counts per table and vintage, with their local authorities and (for LSOAs) IMD years."""
    lines: list[TableStatus] = []
    query = select(models.Postcode.lsoa_vintage, models.Postcode.local_authority, func.count()).group_by(
        col(models.Postcode.lsoa_vintage), col(models.Postcode.local_authority)
    )
    by_vintage: dict[int | None, tuple[int, set[str]]] = {}
    for vintage, la, count in session.exec(query).all():
        rows, las = by_vintage.get(vintage, (0, set()))
        by_vintage[vintage] = (rows + count, las | {la})
    for vintage, (rows, postcode_las) in sorted(by_vintage.items(), key=lambda item: item[0] or 0):
        lines.append(TableStatus("postcodes", vintage, rows, sorted(postcode_las), "vintage = LSOA boundaries"))

    lsoa_query = select(models.Lsoa.vintage, models.Lsoa.local_authority, models.Lsoa.imd_year, func.count()).group_by(
        col(models.Lsoa.vintage), col(models.Lsoa.local_authority), col(models.Lsoa.imd_year)
    )
    lsoa_las: dict[int, set[str]] = {}
    imd_years: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for vintage, lsoa_la, imd_year, count in session.exec(lsoa_query).all():
        lsoa_las.setdefault(vintage, set()).update([lsoa_la] if lsoa_la else [])
        imd_years.setdefault(vintage, set()).update([imd_year] if imd_year else [])
        counts[vintage] = counts.get(vintage, 0) + count
    for vintage in sorted(counts):
        ward_query_v = select(models.Lsoa.ward_vintage).where(models.Lsoa.vintage == vintage).distinct()
        ward_years = sorted(y for y in session.exec(ward_query_v).all() if y)
        imd = ", ".join(str(y) for y in sorted(imd_years[vintage])) or "none"
        wards = ", ".join(str(y) for y in ward_years) or "none"
        detail = f"IMD year {imd}; ward codes of {wards}"
        lines.append(TableStatus("lsoas", vintage, counts[vintage], sorted(lsoa_las[vintage]), detail))

    ward_query = select(
        models.Ward.vintage,
        func.count(),
        func.count(col(models.Ward.population)),
        func.max(models.Ward.population_year),
    ).group_by(col(models.Ward.vintage))
    for vintage, count, with_population, population_year in session.exec(ward_query).all():
        las_query = select(models.Ward.local_authority).where(models.Ward.vintage == vintage).distinct()
        ward_las = sorted(la for la in session.exec(las_query).all() if la)
        detail = f"{with_population} with population" + (f" (mid-{population_year})" if population_year else "")
        lines.append(TableStatus("wards", vintage, count, ward_las, detail))

    cross_query = select(models.WardCrosswalk.from_vintage, models.WardCrosswalk.to_vintage, func.count()).group_by(
        col(models.WardCrosswalk.from_vintage), col(models.WardCrosswalk.to_vintage)
    )
    for from_vintage, to_vintage, count in session.exec(cross_query).all():
        lines.append(TableStatus("ward crosswalk", to_vintage, count, [], f"{from_vintage} → {to_vintage}"))
    return lines


def last_imports(session: Session, limit: int = 10) -> list[LastImport]:
    """The most recent imports, newest first."""
    query = select(models.GeographyImport).order_by(col(models.GeographyImport.id).desc()).limit(limit)
    return [LastImport(i.kind, i.source_name, i.rows, i.imported_at) for i in session.exec(query).all()]
