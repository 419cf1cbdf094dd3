"""The directory's use of geography: postcodes and places, through the geography domain when it is installed.

Until `signpost.geography.service` exists, postcodes are checked with the UK format alone and a postcode can
be placed only if a directory location holds it with coordinates.
"""

import importlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from sqlmodel import Session, col, select

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def _geography() -> ModuleType | None:
    try:
        return importlib.import_module("signpost.geography.service")
    except ImportError:
        return None


def normalise_postcode(text: str) -> str:
    """'ls1 4ap' -> 'LS1 4AP'; ValueError for what cannot be a UK postcode."""
    geography = _geography()
    if geography is not None:
        return str(geography.normalise_postcode(text))
    compact = re.sub(r"\s+", "", text or "").upper()
    match = _POSTCODE.match(compact)
    if not match:
        raise ValueError(f"{text!r} is not a UK postcode")
    return f"{match.group(1)} {match.group(2)}"


def normalise_postcode_or_none(text: str | None) -> str | None:
    try:
        return normalise_postcode(text or "")
    except ValueError:
        return None


@dataclass(frozen=True)
class Point:
    postcode: str
    latitude: float
    longitude: float
    ward_code: str | None = None
    ward_vintage: int | None = None
    local_authority: str | None = None


def locate(session: Session, postcode: str) -> Point | None:
    """Where a (normalised) postcode is, or None when it is not known."""
    geography = _geography()
    if geography is not None:
        place: Any = geography.resolve(session, postcode)
        if place.known and place.latitude is not None and place.longitude is not None:
            return Point(
                postcode,
                float(place.latitude),
                float(place.longitude),
                place.ward_code,
                place.ward_vintage,
                place.local_authority,
            )
        return None
    from signpost.directory.models import Location

    row = session.exec(
        select(Location.latitude, Location.longitude).where(
            col(Location.postal_code) == postcode, col(Location.latitude).is_not(None)
        )
    ).first()
    return Point(postcode, float(row[0] or 0.0), float(row[1] or 0.0)) if row else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    geography = _geography()
    if geography is not None and hasattr(geography, "distance_km"):
        return float(geography.distance_km(lat1, lon1, lat2, lon2))
    from math import asin, cos, radians, sin, sqrt

    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 6371.0088 * 2 * asin(sqrt(a))
