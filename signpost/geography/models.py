"""Geography tables: postcodes, LSOAs, wards and the ward crosswalk, every code keyed with its vintage."""

from datetime import datetime

from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class Postcode(SQLModel, table=True):
    """A live postcode of a configured local authority, from the ONS postcode directory (NSPL/ONSPD)."""

    __tablename__ = "geo_postcode"

    postcode: str = Field(primary_key=True, max_length=8)  # normalised, "LS1 1AB"
    lsoa_code: str | None = Field(default=None, max_length=9)
    lsoa_vintage: int | None = None  # 2011 or 2021 (census year of the LSOA boundaries)
    local_authority: str = Field(max_length=9, index=True)
    latitude: float | None = None
    longitude: float | None = None


class Lsoa(SQLModel, table=True):
    """A Lower layer Super Output Area with its ward (of a stated vintage) and IMD rank and decile."""

    __tablename__ = "geo_lsoa"

    code: str = Field(primary_key=True, max_length=9)
    vintage: int = Field(primary_key=True)
    name: str | None = Field(default=None, max_length=100)
    local_authority: str | None = Field(default=None, max_length=9, index=True)
    ward_code: str | None = Field(default=None, max_length=9)
    ward_vintage: int | None = None
    imd_rank: int | None = None
    imd_decile: int | None = None  # national decile, 1 = most deprived
    imd_year: int | None = None


class Ward(SQLModel, table=True):
    """An electoral ward as coded in a given year (codes change without boundary change: key on both)."""

    __tablename__ = "geo_ward"

    code: str = Field(primary_key=True, max_length=9)
    vintage: int = Field(primary_key=True)
    name: str = Field(max_length=100)
    local_authority: str | None = Field(default=None, max_length=9)
    population: int | None = None
    population_year: int | None = None


class WardCrosswalk(SQLModel, table=True):
    """The same ward under an earlier and a later code."""

    __tablename__ = "geo_ward_crosswalk"

    from_code: str = Field(primary_key=True, max_length=9)
    from_vintage: int = Field(primary_key=True)
    to_code: str = Field(primary_key=True, max_length=9)
    to_vintage: int = Field(primary_key=True)


class GeographyImport(SQLModel, table=True):
    """One completed import: what was loaded, from which file, when (also the caches' generation)."""

    __tablename__ = "geo_import"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # nspl | lsoa-ward | imd | ward-population | ward-crosswalk
    source_name: str = Field(max_length=255)
    digest: str = Field(max_length=64)  # sha256 of the file, so a starter re-run can skip it
    vintage: int | None = None
    rows: int = 0
    imported_at: datetime
