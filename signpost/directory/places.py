"""The directory's use of geography: postcodes and the points they place, through the geography domain."""

from dataclasses import dataclass

from sqlmodel import Session

from signpost.geography import service as geography


def normalise_postcode(text: str) -> str:
    """'ls1 4ap' -> 'LS1 4AP'; ValueError (geography.InvalidPostcode) for what cannot be a UK postcode."""
    return geography.normalise_postcode(text)


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
    place = geography.resolve(session, postcode)
    if not place.known or place.latitude is None or place.longitude is None:
        return None
    return Point(
        postcode,
        float(place.latitude),
        float(place.longitude),
        place.ward_code,
        place.ward_vintage,
        place.local_authority,
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return geography.distance_km(lat1, lon1, lat2, lon2)
