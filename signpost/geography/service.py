"""Postcode → LSOA → ward and IMD decile, age bands and distances, at memory speed.

Others call this as `from signpost.geography import service as geography`. Nothing here stores or logs a
postcode: a resolved Place lives in memory only.
"""

import math
import re
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from signpost.config import Settings, get_settings
from signpost.geography import models

__all__ = [
    "AGE_BANDS",
    "InvalidPostcode",
    "Place",
    "Ward",
    "age_band",
    "current_ward_vintage",
    "distance_km",
    "invalidate_cache",
    "list_wards",
    "normalise_postcode",
    "resolve",
    "warm",
]

# Outward code (area, district, optional sub-district) then inward code (sector digit, two unit letters).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_NON_ALNUM = re.compile(r"[^A-Z0-9]")

AGE_BANDS: tuple[str, ...] = ("0-15", "16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
UNKNOWN_AGE_BAND = "unknown"
_AGE_BAND_FLOORS = (0, 16, 25, 35, 45, 55, 65, 75)

# How long a process trusts its cache before checking whether another process imported something.
_RECHECK_SECONDS = 30.0
_MAX_MEMO = 500_000
_PRELOAD_POSTCODES = 300_000


class InvalidPostcode(ValueError):
    """What was given cannot be a UK postcode."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a postcode is, as coarse attributes (held in memory only, never stored)."""

    postcode: str
    known: bool
    lsoa_code: str | None = None
    ward_code: str | None = None
    ward_name: str | None = None
    ward_vintage: int | None = None
    imd_decile: int | None = None
    imd_year: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    local_authority: str | None = None


@dataclass(frozen=True, slots=True)
class Ward:
    """An electoral ward of the current vintage, with its population estimate."""

    code: str
    name: str
    vintage: int
    population: int | None
    population_year: int | None
    local_authority: str | None = None


def normalise_postcode(text: str) -> str:
    """`ls11ab` → `LS1 1AB`; raises InvalidPostcode for what cannot be a UK postcode."""
    if not isinstance(text, str):
        raise InvalidPostcode("a postcode must be text")
    compact = _NON_ALNUM.sub("", text.upper())
    if len(text) > 16 or not _POSTCODE.match(compact):
        raise InvalidPostcode("not a UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def age_band(birth_date: date | None, on: date) -> str:
    """The age band (one of AGE_BANDS, or `unknown`) of someone born on `birth_date`, on the day `on`."""
    if birth_date is None or birth_date > on:
        return UNKNOWN_AGE_BAND
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years > 130:
        return UNKNOWN_AGE_BAND
    band = UNKNOWN_AGE_BAND
    for floor, name in zip(_AGE_BAND_FLOORS, AGE_BANDS, strict=True):
        if years >= floor:
            band = name
    return band


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


# --- the cache -------------------------------------------------------------------------------------------


@dataclass
class _Area:
    """What an LSOA resolves to, with its ward already carried to the current vintage."""

    ward_code: str | None
    ward_name: str | None
    ward_vintage: int | None
    imd_decile: int | None
    imd_year: int | None


@dataclass
class _Snapshot:
    generation: int
    checked_at: float
    current_vintage: int | None
    areas: dict[tuple[str, int], _Area]
    areas_by_code: dict[str, _Area]
    wards: list[Ward]
    # Every loaded postcode when there are not too many (one local authority has ~35,000), else None: look up.
    postcodes: dict[str, tuple[str | None, int | None, float | None, float | None, str]] | None = None
    places: dict[str, Place] = field(default_factory=dict)


# One snapshot per engine (per connection in tests, whose sessions are rolled back).
_snapshots: "weakref.WeakKeyDictionary[Any, _Snapshot]" = weakref.WeakKeyDictionary()


_epoch = 0  # bumped by invalidate_cache, so sessions drop the snapshot they hold
_SESSION_KEY = "signpost.geography.snapshot"


def invalidate_cache() -> None:
    """Forget every cached lookup (importers call this after loading)."""
    global _epoch
    _epoch += 1
    _snapshots.clear()


def _generation(session: Session) -> int:
    return int(session.exec(select(func.max(models.GeographyImport.id))).one() or 0)


def _carry_forward(
    code: str, vintage: int, target: int | None, links: dict[tuple[str, int], list[tuple[str, int]]]
) -> tuple[str, int]:
    """Follow the crosswalk from a ward code to its code in the target vintage (as far as it goes)."""
    seen = {(code, vintage)}
    while target is not None and vintage < target:
        nexts = [link for link in links.get((code, vintage), []) if link[1] <= target and link not in seen]
        if not nexts:
            break
        code, vintage = max(nexts, key=lambda link: link[1])
        seen.add((code, vintage))
    return code, vintage


def _build(session: Session, generation: int) -> _Snapshot:
    ward_rows = session.exec(select(models.Ward)).all()
    wards = {(w.code, w.vintage): w for w in ward_rows}
    current = max((w.vintage for w in ward_rows), default=None)
    links: dict[tuple[str, int], list[tuple[str, int]]] = {}
    backlinks: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for link in session.exec(select(models.WardCrosswalk)).all():
        links.setdefault((link.from_code, link.from_vintage), []).append((link.to_code, link.to_vintage))
        backlinks.setdefault((link.to_code, link.to_vintage), []).append((link.from_code, link.from_vintage))

    areas: dict[tuple[str, int], _Area] = {}
    areas_by_code: dict[str, _Area] = {}
    for lsoa in session.exec(select(models.Lsoa)).all():
        ward_code, ward_vintage, ward_name = lsoa.ward_code, lsoa.ward_vintage, None
        if ward_code and ward_vintage:
            ward_code, ward_vintage = _carry_forward(ward_code, ward_vintage, current, links)
            ward = wards.get((ward_code, ward_vintage))
            ward_name = ward.name if ward else None
        area = _Area(ward_code, ward_name, ward_vintage, lsoa.imd_decile, lsoa.imd_year)
        areas[(lsoa.code, lsoa.vintage)] = area
        # LSOAs unchanged between 2011 and 2021 keep their code: a match on code alone is the fallback.
        if lsoa.code not in areas_by_code or area.imd_decile is not None:
            areas_by_code[lsoa.code] = area

    listed = []
    for w in ward_rows:
        if w.vintage != current:
            continue
        population, year = w.population, w.population_year
        if population is None:
            # The same ward under an earlier code may carry the estimate (e.g. mid-2020 on 2019 codes).
            stack, seen = list(backlinks.get((w.code, w.vintage), [])), set()
            while stack and population is None:
                key = stack.pop()
                if key in seen:
                    continue
                seen.add(key)
                earlier = wards.get(key)
                if earlier is not None and earlier.population is not None:
                    population, year = earlier.population, earlier.population_year
                stack.extend(backlinks.get(key, []))
        listed.append(Ward(w.code, w.name, w.vintage, population, year, w.local_authority))
    listed.sort(key=lambda w: (w.name, w.code))
    postcodes = None
    if session.exec(select(func.count()).select_from(models.Postcode)).one() <= _PRELOAD_POSTCODES:
        postcodes = {row[0]: row[1:] for row in session.connection().execute(_POSTCODE_COLUMNS).all()}
    return _Snapshot(generation, time.monotonic(), current, areas, areas_by_code, listed, postcodes)


_POSTCODE_COLUMNS = sa_select(
    col(models.Postcode.postcode),
    col(models.Postcode.lsoa_code),
    col(models.Postcode.lsoa_vintage),
    col(models.Postcode.latitude),
    col(models.Postcode.longitude),
    col(models.Postcode.local_authority),
)


# One loader at a time per engine: requests that find no snapshot wait for the one being built rather than each
# building their own (ten at once, sharing the interpreter, held a server's event loop for a second), and requests
# that find it due for its check carry on with it while one request checks.
_loading: "weakref.WeakKeyDictionary[Any, threading.Lock]" = weakref.WeakKeyDictionary()
_loading_guard = threading.Lock()


def _snapshot(session: Session) -> _Snapshot:
    now = time.monotonic()
    # The session holds its snapshot: finding the bind on every call would cost more than the lookup itself.
    held = session.info.get(_SESSION_KEY)
    if held is not None and held[0] == _epoch and now - held[1].checked_at < _RECHECK_SECONDS:
        return held[1]  # type: ignore[no-any-return]
    bind = session.get_bind()
    snap = _snapshots.get(bind)
    if snap is None or now - snap.checked_at >= _RECHECK_SECONDS:
        snap = _refreshed(session, bind, snap)
    session.info[_SESSION_KEY] = (_epoch, snap)
    return snap


def _refreshed(session: Session, bind: Any, snap: _Snapshot | None) -> _Snapshot:
    """`snap` checked against the imports held (or built, when there is none), by one caller at a time."""
    with _loading_guard:
        lock = _loading.setdefault(bind, threading.Lock())
    # The connection first: whoever holds the lock must never wait for one that a request waiting for it holds.
    session.connection()
    if snap is not None and not lock.acquire(blocking=False):
        return snap  # another request is checking it: this one's answer is at most one check older
    if snap is None:
        lock.acquire()
    try:
        now, epoch = time.monotonic(), _epoch
        latest = _snapshots.get(bind)
        if latest is not None and now - latest.checked_at < _RECHECK_SECONDS:
            return latest  # built or checked by the request this one waited for
        generation = _generation(session)
        if latest is not None and latest.generation == generation:
            latest.checked_at = now
            return latest
        built = _build(session, generation)
        if epoch == _epoch:  # no import was finished meanwhile (it may have begun after this read)
            _snapshots[bind] = built
        return built
    finally:
        lock.release()


def warm(session: Session) -> None:
    """Load this engine's geography now (every postcode, when there are few enough to hold): a server does it before
    its first request, which would otherwise wait for it, and on SQLite hold up every other request meanwhile."""
    _snapshot(session)


def _place(postcode: str, area: _Area | None, **extra: Any) -> Place:
    if area is None:
        return Place(postcode=postcode, known=True, **extra)
    return Place(
        postcode=postcode,
        known=True,
        ward_code=area.ward_code,
        ward_name=area.ward_name,
        ward_vintage=area.ward_vintage,
        imd_decile=area.imd_decile,
        imd_year=area.imd_year,
        **extra,
    )


def resolve(session: Session, postcode: str, *, settings: Settings | None = None) -> Place:
    """A postcode's LSOA, ward and IMD decile; a well-formed postcode not loaded is `known=False`, not an error."""
    snap = _snapshot(session)
    cached = snap.places.get(postcode)  # callers mostly pass postcodes already normalised
    if cached is not None:
        return cached
    normal = normalise_postcode(postcode)
    cached = snap.places.get(normal)
    if cached is not None:
        if len(snap.places) < _MAX_MEMO:
            snap.places[postcode] = cached
        return cached
    if snap.postcodes is not None:
        row = snap.postcodes.get(normal)
    else:
        found = session.connection().execute(_POSTCODE_COLUMNS.where(col(models.Postcode.postcode) == normal)).first()
        row = tuple(found)[1:] if found is not None else None  # type: ignore[assignment]
    if row is not None:
        lsoa_code, lsoa_vintage, lat, lon, la = row
        area = None
        if lsoa_code:
            area = snap.areas.get((lsoa_code, lsoa_vintage or 0)) or snap.areas_by_code.get(lsoa_code)
        place = _place(normal, area, lsoa_code=lsoa_code, latitude=lat, longitude=lon, local_authority=la)
    else:
        place = _resolve_online(normal, snap, settings or get_settings())
    if len(snap.places) >= _MAX_MEMO:
        snap.places.clear()
    snap.places[normal] = place
    snap.places[postcode] = place  # the text as given, too: the next identical call skips normalising
    return place


def _resolve_online(postcode: str, snap: _Snapshot, settings: Settings) -> Place:
    if not settings.postcode_resolver_url:
        return Place(postcode=postcode, known=False)
    from signpost.geography import online

    found = online.lookup(
        postcode, base_url=settings.postcode_resolver_url, timeout=settings.postcode_resolver_timeout_s
    )
    if found is None:
        return Place(postcode=postcode, known=False)
    area = snap.areas_by_code.get(found.lsoa_code) if found.lsoa_code else None
    return _place(
        postcode,
        area,
        lsoa_code=found.lsoa_code,
        latitude=found.latitude,
        longitude=found.longitude,
        local_authority=found.local_authority,
    )


def current_ward_vintage(session: Session) -> int | None:
    """The newest ward vintage loaded: the one events and reports use."""
    return _snapshot(session).current_vintage


def list_wards(session: Session) -> list[Ward]:
    """The wards of the current vintage, by name, with population (carried through the crosswalk if needed)."""
    return list(_snapshot(session).wards)
