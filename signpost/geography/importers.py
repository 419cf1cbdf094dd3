"""Importers for the official ONS and MHCLG files: streaming, idempotent, all-or-nothing.

Each importer is a pure `parse_*` (reads and checks the whole file, keeps only what will be loaded, in memory
bounded by the configured local authorities, never by the file) and a `write` that loads the result into a
session. A bad file raises GeographyImportError naming file, line and column before anything is written.
"""

import csv
import gzip
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, SQLModel, col, select

from signpost.geography import models
from signpost.geography import service as geography

Progress = Callable[[int], None]  # called with bytes read so far

GSS_CODE = re.compile(r"^[EWSNLMK]\d{8}$")
_CHUNK = 5000


class GeographyImportError(ValueError):
    """A file that cannot be imported, with where the problem is."""

    def __init__(self, file: str | Path, line: int, column: str | None, message: str) -> None:
        self.file, self.line, self.column, self.message = str(file), line, column, message
        where = f"{self.file}, line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class Parsed:
    """A checked file, ready to load: the rows and what was skipped and why."""

    kind: str
    path: Path
    digest: str
    rows_read: int = 0
    vintage: int | None = None
    year: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    local_authorities: tuple[str, ...] = ()

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass
class Summary:
    """What an import did, for the command's last lines."""

    kind: str
    file: str
    rows_read: int
    loaded: dict[str, int]
    skipped: dict[str, int]
    vintage: int | None
    year: int | None


# --- reading -----------------------------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_binary(path: Path) -> Any:
    """The file's bytes, decompressed when it is gzipped (the packaged starter geography is)."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _open_text(path: Path) -> tuple[Any, io.TextIOWrapper]:
    raw = open_binary(path)
    return raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _rows(path: Path, progress: Progress | None) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, header, row) for each data row; checks encoding, CSV syntax and field counts."""
    if not path.is_file():
        raise GeographyImportError(path, 0, None, "no such file")
    raw, text = _open_text(path)
    with raw, text:
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise GeographyImportError(path, 1, None, f"not a UTF-8 CSV file ({exc.__class__.__name__})") from None
        if not header or not any(h.strip() for h in header):
            raise GeographyImportError(path, 1, None, "empty file: expected a CSV header line")
        header = [h.strip() for h in header]
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (UnicodeDecodeError, csv.Error) as exc:
                raise GeographyImportError(path, line + 1, None, f"not a UTF-8 CSV line ({exc})") from None
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise GeographyImportError(
                    path, line, None, f"expected {len(header)} fields, found {len(row)} (truncated or malformed line)"
                )
            if progress and line % 5000 == 0:
                progress(raw.tell())
            yield line, header, row
        if progress:
            progress(raw.tell())


def _find(header: Sequence[str], *patterns: str) -> tuple[int, re.Match[str]] | None:
    """The first column whose name matches one of the patterns (case-insensitive, in pattern order)."""
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        for index, name in enumerate(header):
            match = regex.fullmatch(name.strip())
            if match:
                return index, match
    return None


def _need(path: Path, header: Sequence[str], what: str, *patterns: str) -> tuple[int, re.Match[str]]:
    found = _find(header, *patterns)
    if found is None:
        names = ", ".join(header[:12]) + (", …" if len(header) > 12 else "")
        raise GeographyImportError(path, 1, what, f"missing column {what}; the header has: {names}")
    return found


def _code(path: Path, line: int, column: str, value: str, *, required: bool = True) -> str | None:
    value = value.strip()
    if not value and not required:
        return None
    if not GSS_CODE.match(value):
        raise GeographyImportError(path, line, column, f"{value!r} is not a GSS code (a letter and 8 digits)")
    return value


def _int(path: Path, line: int, column: str, value: str, low: int = 0, high: int | None = None) -> int:
    try:
        number = int(value.strip().replace(",", ""))
    except ValueError:
        raise GeographyImportError(path, line, column, f"{value!r} is not a whole number") from None
    if number < low or (high is not None and number > high):
        raise GeographyImportError(path, line, column, f"{number} is out of range")
    return number


def _year(two_or_four: str) -> int:
    return int(two_or_four) + 2000 if len(two_or_four) == 2 else int(two_or_four)


def _year_in_name(path: Path) -> int | None:
    match = re.search(r"(?:imd|iod|mid)[_-]?(20\d\d)", path.name, re.IGNORECASE) or re.search(r"(20\d\d)", path.name)
    return int(match.group(1)) if match else None


# --- postcode directory (NSPL / ONSPD) -----------------------------------------------------------------------

_POSTCODE_COLUMNS = (r"pcds", r"pcd2", r"pcd8", r"pcd", r"pcd7", r"postcode")
_LA_COLUMNS = (r"laua", r"oslaua", r"lad(\d\d)cd", r"lad")
_LSOA_COLUMNS = {2021: (r"lsoa21", r"lsoa21cd"), 2011: (r"lsoa11", r"lsoa11cd")}
_NO_LOCATION = 99.0  # NSPL gives 99.999999 latitude / 0 longitude when a postcode has no grid reference


def parse_postcodes(
    path: Path,
    *,
    local_authorities: Sequence[str],
    lsoa_vintage: int | None = None,
    preferred_vintages: Sequence[int] = (),
    progress: Progress | None = None,
) -> Parsed:
    """Read an NSPL or ONSPD CSV, keeping live postcodes of the given local authorities only."""
    path = Path(path)
    if not path.is_file():
        raise GeographyImportError(path, 0, None, "no such file")
    las = tuple(local_authorities)
    parsed = Parsed(kind="nspl", path=path, digest="", local_authorities=las)
    digest = hashlib.sha256()
    with open_binary(path) as handle:
        first = handle.readline()
        digest.update(first)
        try:
            header = [h.strip() for h in next(csv.reader([first.decode("utf-8-sig")]))]
        except (UnicodeDecodeError, csv.Error, StopIteration):
            raise GeographyImportError(path, 1, None, "not a UTF-8 CSV file") from None
        reader = _DirectoryReader(path, header, las, lsoa_vintage, preferred_vintages, parsed)
        read, line, leftover = len(first), 1, b""
        while block := handle.read(_BLOCK):
            digest.update(block)
            read += len(block)
            data = leftover + block
            cut = data.rfind(b"\n") + 1
            if cut:
                line = reader.block(data[:cut], line)
            leftover = data[cut:]
            if progress:
                progress(read)
        if leftover.strip():
            line = reader.block(leftover + b"\n", line)
    if not reader.kept:
        raise GeographyImportError(
            path, line, header[reader.la_i], f"no live postcodes for {', '.join(las)} in this file; nothing was changed"
        )
    parsed.digest = digest.hexdigest()
    parsed.records["postcode"] = list(reader.kept.values())
    parsed.skipped = {
        "other local authority": parsed.rows_read - len(reader.kept) - reader.terminated,
        "terminated": reader.terminated,
    }
    return parsed


_BLOCK = 8 << 20


class _DirectoryReader:
    """Reads a postcode directory a block of lines at a time.

    A national file is 99 % other local authorities: whole blocks are checked in C (every line has the header's
    number of commas) and only the lines holding a wanted local authority code are parsed. A block that fails
    the quick check (quoted commas, blank or truncated lines) is read line by line to find the bad line.
    """

    def __init__(
        self,
        path: Path,
        header: list[str],
        las: tuple[str, ...],
        lsoa_vintage: int | None,
        preferred_vintages: Sequence[int],
        parsed: Parsed,
    ) -> None:
        self.path, self.header, self.las, self.parsed = path, header, las, parsed
        self.width = len(header)
        self.pc_i = _need(path, header, "pcds", *_POSTCODE_COLUMNS)[0]
        self.la_i = _need(path, header, "laua", *_LA_COLUMNS)[0]
        self.term_i = _need(path, header, "doterm", r"doterm")[0]
        self.lat_i = _need(path, header, "lat", r"lat", r"latitude")[0]
        self.lon_i = _need(path, header, "long", r"long", r"longitude")[0]
        available = {v: found[0] for v, pats in _LSOA_COLUMNS.items() if (found := _find(header, *pats))}
        if not available:
            raise GeographyImportError(path, 1, "lsoa21", "missing column lsoa21 or lsoa11")
        if lsoa_vintage is not None:
            if lsoa_vintage not in available:
                raise GeographyImportError(path, 1, f"lsoa{lsoa_vintage % 100}", "no LSOA column of that vintage")
            self.vintage = lsoa_vintage
        else:
            self.vintage = next((v for v in preferred_vintages if v in available), max(available))
        self.lsoa_i = available[self.vintage]
        parsed.vintage = self.vintage
        self.codes = [la.encode() for la in las]
        self.kept: dict[str, dict[str, Any]] = {}
        self.terminated = 0

    def block(self, data: bytes, line: int) -> int:
        """Read whole lines `data` whose first is line `line + 1`; returns the number of the last."""
        lines = data.count(b"\n")
        if data.count(b",") != lines * (self.width - 1) or b"\n\n" in data or b"\n\r\n" in data:
            return self._line_by_line(data, line)
        self.parsed.rows_read += lines
        starts: set[int] = set()
        for code in self.codes:
            at = data.find(code)
            while at != -1:
                start = data.rfind(b"\n", 0, at) + 1
                if start not in starts:
                    starts.add(start)
                    end = data.find(b"\n", at)
                    self._row(data[start:end], partial(_line_of, data, start, line))
                at = data.find(code, at + len(code))
        return line + lines

    def _line_by_line(self, data: bytes, line: int) -> int:
        for raw in data.split(b"\n")[:-1]:
            line += 1
            if not raw.strip():
                continue
            self.parsed.rows_read += 1
            if raw.count(b",") != self.width - 1 or any(code in raw for code in self.codes):
                self._row(raw, partial(int, line))
        return line

    def _row(self, raw: bytes, where: Callable[[], int]) -> None:
        try:
            self._check_row(raw.rstrip(b"\r"))
        except GeographyImportError as exc:
            # The line number is worked out only when needed: counting lines on every row would cost O(n²).
            raise GeographyImportError(self.path, where(), exc.column, exc.message) from None

    def _check_row(self, raw: bytes) -> None:
        path = self.path
        fields = _split(path, 0, raw) if b'"' in raw else None
        if fields is None:
            try:
                fields = raw.decode("utf-8").split(",")
            except UnicodeDecodeError:
                raise GeographyImportError(path, 0, None, "not a UTF-8 CSV line") from None
        if len(fields) != self.width:
            message = f"expected {self.width} fields, found {len(fields)} (truncated or malformed line)"
            raise GeographyImportError(path, 0, None, message)
        la = fields[self.la_i].strip()
        if la not in self.las:
            return
        if fields[self.term_i].strip():
            self.terminated += 1
            return
        names = self.header
        try:
            postcode = geography.normalise_postcode(fields[self.pc_i])
        except geography.InvalidPostcode:
            message = f"{fields[self.pc_i]!r} is not a UK postcode"
            raise GeographyImportError(path, 0, names[self.pc_i], message) from None
        lsoa = _code(path, 0, names[self.lsoa_i], fields[self.lsoa_i], required=False)
        lat = _float(path, 0, names[self.lat_i], fields[self.lat_i])
        lon = _float(path, 0, names[self.lon_i], fields[self.lon_i])
        if lat is None or lon is None or lat >= _NO_LOCATION:
            lat = lon = None
        self.kept[postcode] = {
            "postcode": postcode,
            "lsoa_code": lsoa,
            "lsoa_vintage": self.vintage if lsoa else None,
            "local_authority": la,
            "latitude": lat,
            "longitude": lon,
        }


def _line_of(data: bytes, start: int, before: int) -> int:
    """The line number of the line starting at `start` in a block that follows line `before`."""
    return before + 1 + data.count(b"\n", 0, start)


def _split(path: Path, line: int, raw: bytes) -> list[str]:
    try:
        return next(csv.reader([raw.decode("utf-8").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise GeographyImportError(path, line, None, "not a UTF-8 CSV line") from None


def _float(path: Path, line: int, column: str, value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise GeographyImportError(path, line, column, f"{value!r} is not a number") from None


# --- LSOA → ward lookups ---------------------------------------------------------------------------------------


def parse_lsoa_ward(path: Path, *, local_authorities: Sequence[str], progress: Progress | None = None) -> Parsed:
    """Read an ONS LSOA → ward lookup of any year (LSOA11CD/LSOA21CD, WDyyCD, WDyyNM, LADyyCD)."""
    path = Path(path)
    parsed = Parsed(kind="lsoa-ward", path=path, digest=file_digest(path) if path.is_file() else "")
    las = set(local_authorities)
    lsoas: dict[tuple[str, int], dict[str, Any]] = {}
    wards: dict[tuple[str, int], dict[str, Any]] = {}
    columns: dict[str, Any] = {}
    for line, header, row in _rows(path, progress):
        if not columns:
            lsoa_i, lsoa_m = _need(path, header, "LSOA11CD", r"lsoa(\d\d)cd")
            ward_i, ward_m = _need(path, header, "WD18CD", r"wd(\d\d)cd")
            yy = ward_m.group(1)
            name_i, _ = _need(path, header, f"WD{yy}NM", rf"wd{yy}nm")
            columns = {
                "lsoa": lsoa_i,
                "lsoa_vintage": _year(lsoa_m.group(1)),
                "lsoa_name": (_find(header, r"lsoa\d\dnm") or (None,))[0],
                "ward": ward_i,
                "ward_vintage": _year(yy),
                "ward_name": name_i,
                "la": (_find(header, r"lad(\d\d)cd") or (None,))[0],
            }
            parsed.vintage = columns["lsoa_vintage"]
        parsed.rows_read += 1
        la = row[columns["la"]].strip() if columns["la"] is not None else None
        if la is not None and las and la not in las:
            parsed.skip("other local authority")
            continue
        code = _code(path, line, header[columns["lsoa"]], row[columns["lsoa"]])
        ward = _code(path, line, header[columns["ward"]], row[columns["ward"]])
        ward_name = row[columns["ward_name"]].strip()
        if not ward_name:
            raise GeographyImportError(path, line, header[columns["ward_name"]], "the ward has no name")
        assert code is not None and ward is not None
        lsoas[(code, columns["lsoa_vintage"])] = {
            "code": code,
            "vintage": columns["lsoa_vintage"],
            "name": row[columns["lsoa_name"]].strip() or None if columns["lsoa_name"] is not None else None,
            "local_authority": la,
            "ward_code": ward,
            "ward_vintage": columns["ward_vintage"],
        }
        wards[(ward, columns["ward_vintage"])] = {
            "code": ward,
            "vintage": columns["ward_vintage"],
            "name": ward_name,
            "local_authority": la,
        }
    if not columns:
        raise GeographyImportError(path, 2, None, "no data rows")
    parsed.records = {"lsoa": list(lsoas.values()), "ward": list(wards.values())}
    return parsed


# --- English Indices of Deprivation ------------------------------------------------------------------------------

_IMD_LSOA = (r"lsoa code \((\d{4})\)", r"lsoa(\d\d)cd", r"lsoa_code", r"lsoa")
_IMD_DECILE = (
    r"index of multiple deprivation \(imd\) decile.*",
    r"imd(\d{4})?_decile",
    r"imd decile",
)
_IMD_RANK = (
    r"index of multiple deprivation \(imd\) rank.*",
    r"imd(\d{4})?_rank",
    r"imd rank",
)
_IMD_LA = (r"local authority district code \((\d{4})\)", r"lad(\d\d)cd")


def parse_imd(
    path: Path,
    *,
    local_authorities: Sequence[str],
    year: int | None = None,
    progress: Progress | None = None,
) -> Parsed:
    """Read the IoD File 1 or File 7 (2019 or 2025) or the simplified LSOA file: rank and decile per LSOA."""
    path = Path(path)
    parsed = Parsed(kind="imd", path=path, digest=file_digest(path) if path.is_file() else "")
    las = set(local_authorities)
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    columns: dict[str, Any] = {}
    for line, header, row in _rows(path, progress):
        if not columns:
            lsoa_i, lsoa_m = _need(path, header, "LSOA code (2011)", *_IMD_LSOA)
            decile_i, decile_m = _need(path, header, "IMD decile", *_IMD_DECILE)
            rank = _find(header, *_IMD_RANK)
            stated = year or _year_from(decile_m) or _year_in_name(path)
            lsoa_vintage = _year(lsoa_m.group(1)) if lsoa_m.groups() and lsoa_m.group(1) else None
            if stated is None:
                raise GeographyImportError(path, 1, header[decile_i], "cannot tell the IMD year: give --year")
            if lsoa_vintage is None:
                # IMD 2015 and 2019 rank 2011 LSOAs; IMD 2025 ranks 2021 LSOAs.
                lsoa_vintage = 2011 if stated < 2025 else 2021
            la = _find(header, *_IMD_LA)
            columns = {
                "lsoa": lsoa_i,
                "decile": decile_i,
                "rank": rank[0] if rank else None,
                "la": la[0] if la else None,
            }
            parsed.year, parsed.vintage = stated, lsoa_vintage
        parsed.rows_read += 1
        la_code = row[columns["la"]].strip() if columns["la"] is not None else None
        if la_code is not None and las and la_code not in las:
            parsed.skip("other local authority")
            continue
        code = _code(path, line, header[columns["lsoa"]], row[columns["lsoa"]])
        assert code is not None
        decile = _int(path, line, header[columns["decile"]], row[columns["decile"]], 1, 10)
        rank_value = (
            _int(path, line, header[columns["rank"]], row[columns["rank"]], 1) if columns["rank"] is not None else None
        )
        rows[(code, parsed.vintage or 0)] = {
            "code": code,
            "vintage": parsed.vintage,
            "local_authority": la_code,
            "imd_rank": rank_value,
            "imd_decile": decile,
            "imd_year": parsed.year,
        }
    if not columns:
        raise GeographyImportError(path, 2, None, "no data rows")
    parsed.records = {"imd": list(rows.values())}
    return parsed


def _year_from(match: re.Match[str]) -> int | None:
    return int(match.group(1)) if match.groups() and match.group(1) else None


# --- ward populations and the crosswalk ----------------------------------------------------------------------------

_POPULATION = (r".*population.*", r".*all[ _]ages.*")


def parse_ward_population(
    path: Path, *, local_authorities: Sequence[str], year: int | None = None, progress: Progress | None = None
) -> Parsed:
    """Read ward population estimates (WDyyCD, optional WDyyNM, a population column such as mid2020_…)."""
    path = Path(path)
    parsed = Parsed(kind="ward-population", path=path, digest=file_digest(path) if path.is_file() else "")
    las = set(local_authorities)
    wards: dict[tuple[str, int], dict[str, Any]] = {}
    columns: dict[str, Any] = {}
    for line, header, row in _rows(path, progress):
        if not columns:
            ward_i, ward_m = _need(path, header, "WD19CD", r"wd(\d\d)cd")
            yy = ward_m.group(1)
            pop_i, _ = _need(path, header, "population", *_POPULATION)
            found = re.search(r"(20\d\d)", header[pop_i])
            stated = year or (int(found.group(1)) if found else None) or _year_in_name(path)
            if stated is None:
                raise GeographyImportError(path, 1, header[pop_i], "cannot tell the estimate's year: give --year")
            columns = {
                "ward": ward_i,
                "name": (_find(header, rf"wd{yy}nm") or (None,))[0],
                "population": pop_i,
                "la": (_find(header, r"lad(\d\d)cd") or (None,))[0],
            }
            parsed.vintage, parsed.year = _year(yy), stated
        parsed.rows_read += 1
        la = row[columns["la"]].strip() if columns["la"] is not None else None
        if la is not None and las and la not in las:
            parsed.skip("other local authority")
            continue
        code = _code(path, line, header[columns["ward"]], row[columns["ward"]])
        assert code is not None
        wards[(code, parsed.vintage or 0)] = {
            "code": code,
            "vintage": parsed.vintage,
            "name": row[columns["name"]].strip() if columns["name"] is not None else None,
            "local_authority": la,
            "population": _int(path, line, header[columns["population"]], row[columns["population"]]),
            "population_year": parsed.year,
        }
    if not columns:
        raise GeographyImportError(path, 2, None, "no data rows")
    parsed.records = {"ward": list(wards.values())}
    return parsed


def parse_ward_crosswalk(path: Path, *, progress: Progress | None = None) -> Parsed:
    """Read a ward code crosswalk: one ward per row, its codes in two or more years (WDyyCD columns)."""
    path = Path(path)
    parsed = Parsed(kind="ward-crosswalk", path=path, digest=file_digest(path) if path.is_file() else "")
    links: dict[tuple[str, int, str, int], dict[str, Any]] = {}
    wards: dict[tuple[str, int], dict[str, Any]] = {}
    columns: dict[str, Any] = {}
    for line, header, row in _rows(path, progress):
        if not columns:
            codes = sorted(
                (_year(m.group(1)), i)
                for i, name in enumerate(header)
                if (m := re.fullmatch(r"wd(\d\d)cd", name.strip(), re.IGNORECASE))
            )
            if len(codes) < 2:
                raise GeographyImportError(
                    path, 1, "WDyyCD", "a crosswalk needs ward code columns of two years or more"
                )
            name = _find(header, r"ward_?name", r"wd\d\dnm", r"name")
            pop_column = _find(header, *_POPULATION)
            pop_year = re.search(r"(20\d\d)", header[pop_column[0]]) if pop_column else None
            columns = {
                "codes": codes,
                "name": name[0] if name else None,
                "population": pop_column[0] if pop_column else None,
                "population_year": int(pop_year.group(1)) if pop_year else None,
            }
            parsed.vintage = codes[-1][0]
        parsed.rows_read += 1
        found = [(v, _code(path, line, header[i], row[i]) or "") for v, i in columns["codes"]]
        name_value = row[columns["name"]].strip() if columns["name"] is not None else None
        population = (
            _int(path, line, header[columns["population"]], row[columns["population"]])
            if columns["population"] is not None and row[columns["population"]].strip()
            else None
        )
        for (v1, c1), (v2, c2) in zip(found, found[1:], strict=False):
            links[(c1, v1, c2, v2)] = {"from_code": c1, "from_vintage": v1, "to_code": c2, "to_vintage": v2}
        for vintage, code in found:
            wards[(code, vintage)] = {
                "code": code,
                "vintage": vintage,
                "name": name_value,
                "population": population,
                "population_year": columns["population_year"] if population is not None else None,
            }
    if not columns:
        raise GeographyImportError(path, 2, None, "no data rows")
    parsed.records = {"crosswalk": list(links.values()), "ward": list(wards.values())}
    return parsed


# --- writing -------------------------------------------------------------------------------------------------------


def _upsert(
    session: Session,
    model: type[SQLModel],
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    insert_ok: bool = True,
) -> tuple[int, int]:
    """Update the rows that exist (only the non-None values given), insert the others. (updated, inserted)."""
    existing = {tuple(getattr(obj, k) for k in keys): obj for obj in session.exec(select(model)).all()}
    updated = inserted = 0
    new: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        obj = existing.get(key)
        if obj is not None:
            for name, value in row.items():
                if value is not None and getattr(obj, name) != value:
                    setattr(obj, name, value)
            updated += 1
        elif insert_ok:
            new.append(row)
    session.flush()
    for start in range(0, len(new), _CHUNK):
        session.execute(insert(model), new[start : start + _CHUNK])
        inserted += len(new[start : start + _CHUNK])
    return updated, inserted


def write(session: Session, parsed: Parsed) -> Summary:
    """Load a parsed file into the session (the caller commits) and note the import; idempotent."""
    loaded: dict[str, int] = {}
    skipped = dict(parsed.skipped)
    if parsed.kind == "nspl":
        rows = parsed.records["postcode"]
        session.execute(
            delete(models.Postcode).where(col(models.Postcode.local_authority).in_(parsed.local_authorities))
        )
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(models.Postcode), rows[start : start + _CHUNK])
        loaded["postcodes"] = len(rows)
    elif parsed.kind == "lsoa-ward":
        loaded["lsoas"] = sum(_upsert(session, models.Lsoa, ("code", "vintage"), parsed.records["lsoa"]))
        loaded["wards"] = sum(_upsert(session, models.Ward, ("code", "vintage"), parsed.records["ward"]))
    elif parsed.kind == "imd":
        # Without a local authority column, only LSOAs already loaded (from a ward lookup) take the decile.
        loaded["lsoas"], missing = _upsert_known(session, models.Lsoa, parsed.records["imd"], "local_authority")
        if missing:
            skipped["LSOA not loaded (import its ward lookup first)"] = missing
    elif parsed.kind == "ward-population":
        loaded["wards"], missing = _upsert_known(session, models.Ward, parsed.records["ward"], "name")
        if missing:
            skipped["ward unknown and unnamed"] = missing
    elif parsed.kind == "ward-crosswalk":
        wards = parsed.records["ward"]
        _upsert_known(session, models.Ward, wards, "name")
        keys = ("from_code", "from_vintage", "to_code", "to_vintage")
        loaded["crosswalk links"] = sum(_upsert(session, models.WardCrosswalk, keys, parsed.records["crosswalk"]))
        loaded["wards"] = len(wards)
        _share_local_authority(session, parsed.records["crosswalk"])
    else:  # pragma: no cover - kinds are fixed above
        raise ValueError(parsed.kind)
    session.add(
        models.GeographyImport(
            kind=parsed.kind,
            source_name=parsed.path.name[:255],
            digest=parsed.digest,
            vintage=parsed.vintage,
            rows=sum(loaded.values()),
            imported_at=datetime.now(UTC),
        )
    )
    session.flush()
    geography.invalidate_cache()
    return Summary(parsed.kind, str(parsed.path), parsed.rows_read, loaded, skipped, parsed.vintage, parsed.year)


def _upsert_known(
    session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], needed: str
) -> tuple[int, int]:
    """Upsert on (code, vintage); rows without `needed` may only update rows that exist. (loaded, not found)."""
    whole = [r for r in rows if r[needed]]
    lacking = [r for r in rows if not r[needed]]
    updated, inserted = _upsert(session, model, ("code", "vintage"), whole)
    found, _ = _upsert(session, model, ("code", "vintage"), lacking, insert_ok=False)
    return updated + inserted + found, len(lacking) - found


def _share_local_authority(session: Session, links: Sequence[dict[str, Any]]) -> None:
    """A ward keeps its local authority under every code the crosswalk gives it."""
    wards = {(w.code, w.vintage): w for w in session.exec(select(models.Ward)).all()}
    for _ in range(2):  # both directions along chains of vintages
        for link in links:
            a = wards.get((link["from_code"], link["from_vintage"]))
            b = wards.get((link["to_code"], link["to_vintage"]))
            if a is None or b is None:
                continue
            if a.local_authority and not b.local_authority:
                b.local_authority = a.local_authority
            elif b.local_authority and not a.local_authority:
                a.local_authority = b.local_authority
    session.flush()


def already_imported(session: Session, kind: str, digest: str) -> bool:
    """Whether this exact file was imported before (the starter loader skips it)."""
    query = select(models.GeographyImport.id).where(
        models.GeographyImport.kind == kind, models.GeographyImport.digest == digest
    )
    return session.exec(query).first() is not None


KINDS = ("nspl", "lsoa-ward", "imd", "ward-population", "ward-crosswalk")


def parse(
    kind: str,
    path: Path,
    *,
    local_authorities: Sequence[str],
    year: int | None = None,
    lsoa_vintage: int | None = None,
    preferred_vintages: Sequence[int] = (),
    progress: Progress | None = None,
) -> Parsed:
    """Parse a file of the given kind (one of KINDS)."""
    if kind == "nspl":
        return parse_postcodes(
            path,
            local_authorities=local_authorities,
            lsoa_vintage=lsoa_vintage,
            preferred_vintages=preferred_vintages,
            progress=progress,
        )
    if kind == "lsoa-ward":
        return parse_lsoa_ward(path, local_authorities=local_authorities, progress=progress)
    if kind == "imd":
        return parse_imd(path, local_authorities=local_authorities, year=year, progress=progress)
    if kind == "ward-population":
        return parse_ward_population(path, local_authorities=local_authorities, year=year, progress=progress)
    if kind == "ward-crosswalk":
        return parse_ward_crosswalk(path, progress=progress)
    raise ValueError(f"unknown import kind {kind!r}; one of {', '.join(KINDS)}")


def loaded_lsoa_vintages(session: Session) -> list[int]:
    """LSOA vintages loaded, the most rows first (a postcode import picks the matching LSOA column)."""
    from sqlalchemy import func

    query = select(models.Lsoa.vintage, func.count()).group_by(col(models.Lsoa.vintage)).order_by(func.count().desc())
    return [vintage for vintage, _ in session.exec(query).all()]


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    local_authorities: Sequence[str],
    year: int | None = None,
    lsoa_vintage: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Parse then load one file; on a bad file nothing is written (GeographyImportError)."""
    parsed = parse(
        kind,
        Path(path),
        local_authorities=local_authorities,
        year=year,
        lsoa_vintage=lsoa_vintage,
        preferred_vintages=loaded_lsoa_vintages(session) if kind == "nspl" else (),
        progress=progress,
    )
    return write(session, parsed)
