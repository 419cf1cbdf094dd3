"""Directory search: full text with ranking, filters, proximity, paging, and why each hit matched.

`search_services(session=, query=ServiceQuery(...)) -> ServicePage` is what routing and the API call.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, and_, column, func, literal, literal_column, or_, table
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from signpost.config import data_dir, get_settings
from signpost.directory import fulltext, places
from signpost.directory.models import (
    CostOption,
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.service import CATEGORY_TAXONOMY, category_codes
from signpost.errors import Problem

UK = ZoneInfo("Europe/London")
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DELIVERY = {"in_person": "in person", "phone": "by phone", "online": "online"}
KM_PER_DEGREE = 111.32


@dataclass
class ServiceQuery:
    """What a searcher asks for; every filter optional. Statuses default to active only."""

    text: str | None = None
    categories: list[str] = field(default_factory=list)
    need: str | None = None
    age: int | None = None
    ward_code: str | None = None
    local_authority: str | None = None
    delivery: str | None = None  # in_person | phone | online
    language: str | None = None  # ISO 639-1 code
    free: bool | None = None
    open_now: bool = False
    at: datetime | None = None  # "now" for open_now; defaults to the clock
    statuses: list[str] = field(default_factory=lambda: ["active"])
    postcode: str | None = None
    radius_km: float = 5.0
    include_retired: bool = False
    offset: int = 0
    limit: int = 20


@dataclass
class ServiceHit:
    service: Service
    reasons: list[str]
    distance_km: float | None = None
    no_premises: bool = False
    categories: list[str] = field(default_factory=list)


@dataclass
class ServicePage:
    hits: list[ServiceHit]
    total: int
    offset: int
    limit: int
    place: places.Point | None = None


def _bad(loc: str, message: str) -> Problem:
    return Problem(422, f"{loc}: {message}", errors=[{"loc": loc, "message": message}])


@lru_cache(maxsize=4)
def _need_map(path: str, mtime: float) -> dict[str, list[str]]:
    resource = json.loads(open(path, encoding="utf-8").read())
    out: dict[str, list[str]] = {}
    for group in resource.get("group", []):
        for element in group.get("element", []):
            out[element["code"]] = [t["code"] for t in element.get("target", []) if t.get("code")]
    return out


def need_categories(need: str) -> list[str]:
    """The service categories a need routes to, from the need→category ConceptMap; 422 if unknown."""
    path = data_dir("fhir") / "ConceptMap-need-to-service-category.json"
    if not path.exists():
        raise Problem(503, "The need-to-category map is not installed; search by category instead.")
    mapping = _need_map(str(path), path.stat().st_mtime)
    if need not in mapping:
        raise _bad("need", f"unknown need {need!r}")
    return mapping[need]


def _category_ids(session: Session, codes: list[str], loc: str) -> dict[str, str]:
    terms = dict(
        session.exec(
            select(TaxonomyTerm.code, TaxonomyTerm.id).where(
                col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY, col(TaxonomyTerm.code).in_(codes)
            )
        ).all()
    )
    for code in codes:
        if code not in terms:
            raise _bad(loc, f"unknown category {code!r}")
    return terms


def _text_match(session: Session, words: list[str]) -> tuple[ColumnElement[bool], Any]:
    """(join condition on Service.id, matches with a score where smaller is better) for the dialect in use.

    The matches are a MATERIALIZED CTE: the full-text engine runs once, not once per candidate service.
    """
    if session.get_bind().dialect.name == "sqlite":
        fts = table("service_fts", column("rowid"))
        matched = (
            select(ServiceSearch.service_id, literal_column("bm25(service_fts, 10.0, 1.0, 3.0, 5.0)").label("score"))
            .select_from(fts)
            .join(ServiceSearch, col(ServiceSearch.id) == fts.c.rowid)
            .where(literal_column("service_fts").op("MATCH")(fulltext.fts5_match(words)))
            .cte("text_match")
            .prefix_with("MATERIALIZED")
        )
    else:
        query = func.to_tsquery("english", fulltext.pg_tsquery(words))
        vector: Any = literal_column(fulltext.PG_VECTOR)
        weights: Any = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
        matched = (
            select(ServiceSearch.service_id, (-func.ts_rank(weights, vector, query)).label("score"))
            .where(vector.op("@@")(query))
            .cte("text_match")
            .prefix_with("MATERIALIZED")
        )
    return col(Service.id) == matched.c.service_id, matched


def search_services(*, session: Session, query: ServiceQuery) -> ServicePage:
    """Services matching the query, best first (nearest first when a postcode is given), with reasons."""
    conditions: list[ColumnElement[bool]] = []
    if not query.include_retired:
        conditions.append(col(Service.retired_at).is_(None))
    if query.statuses:
        conditions.append(col(Service.status).in_(query.statuses))

    categories = list(query.categories)
    need_codes: list[str] = []
    if query.need:
        need_codes = need_categories(query.need)
    wanted = list(dict.fromkeys(categories + need_codes))
    category_ids: dict[str, str] = {}
    if wanted:
        category_ids = _category_ids(session, categories, "category")
        category_ids.update(_category_ids(session, need_codes, "need"))
        conditions.append(
            col(Service.id).in_(
                select(ServiceTaxonomy.service_id).where(
                    col(ServiceTaxonomy.taxonomy_term_id).in_(list(category_ids.values()))
                )
            )
        )
    if query.age is not None:
        if query.age < 0 or query.age > 130:
            raise _bad("age", "must be between 0 and 130")
        conditions.append(or_(col(Service.minimum_age).is_(None), col(Service.minimum_age) <= query.age))
        conditions.append(or_(col(Service.maximum_age).is_(None), col(Service.maximum_age) >= query.age))
    if query.delivery:
        column = {"in_person": Service.in_person, "phone": Service.by_phone, "online": Service.online}.get(
            query.delivery
        )
        if column is None:
            raise _bad("delivery", "must be in_person, phone or online")
        conditions.append(col(column).is_(True))
    if query.language:
        code = query.language.strip().lower()
        conditions.append(col(Service.id).in_(select(Language.service_id).where(func.lower(Language.code) == code)))
    if query.free:
        conditions.append(col(Service.id).in_(select(CostOption.service_id).where(col(CostOption.amount) == 0)))
        conditions.append(col(Service.id).not_in(select(CostOption.service_id).where(col(CostOption.amount) > 0)))

    at = (query.at or datetime.now(UK)).astimezone(UK)
    if query.open_now:
        conditions.append(
            col(Service.id).in_(
                select(Schedule.service_id).where(
                    col(Schedule.byday) == WEEKDAYS[at.weekday()],
                    col(Schedule.opens_at) <= at.time().replace(microsecond=0),
                    col(Schedule.closes_at) > at.time().replace(microsecond=0),
                )
            )
        )

    point: places.Point | None = None
    if query.postcode:
        try:
            postcode = places.normalise_postcode(query.postcode)
        except ValueError:
            raise _bad("postcode", f"{query.postcode!r} is not a UK postcode") from None
        point = places.locate(session, postcode)
        if point is None:
            raise _bad("postcode", f"{postcode} is not a postcode this directory can place")
        if not (0 < query.radius_km <= 200):
            raise _bad("radius_km", "must be above 0 and at most 200")

    if query.ward_code:
        authorities = [query.local_authority] if query.local_authority else get_settings().local_authorities
        conditions.append(
            col(Service.id).in_(
                select(ServiceArea.service_id).where(
                    or_(
                        col(ServiceArea.scope) == "national",
                        and_(col(ServiceArea.scope) == "ward", col(ServiceArea.area_code) == query.ward_code),
                        and_(col(ServiceArea.scope) == "local_authority", col(ServiceArea.area_code).in_(authorities)),
                    )
                )
            )
        )

    statement: Select[Any] = select(Service.id)
    score_column: Any = None
    words = fulltext.query_words(query.text or "")
    if query.text and not words:
        raise _bad("text", "has no words to search for")
    if words:
        on, matched = _text_match(session, words)
        statement = statement.join(matched, on)
        score_column = matched.c.score

    distance_column: Any = None
    if point is not None:
        # Equirectangular distance is exact enough to order and bound within 200 km; shown figures use haversine.
        lat0, lon0 = point.latitude, point.longitude
        kx = KM_PER_DEGREE * math.cos(math.radians(lat0))
        dlat = query.radius_km / KM_PER_DEGREE
        dlon = query.radius_km / kx
        squared = func.min(
            ((col(Location.latitude) - lat0) * KM_PER_DEGREE) * ((col(Location.latitude) - lat0) * KM_PER_DEGREE)
            + ((col(Location.longitude) - lon0) * kx) * ((col(Location.longitude) - lon0) * kx)
        )
        nearby = (
            select(ServiceAtLocation.service_id, squared.label("d2"))
            .join(Location, col(Location.id) == ServiceAtLocation.location_id)
            .where(
                col(Location.latitude).between(lat0 - dlat, lat0 + dlat),
                col(Location.longitude).between(lon0 - dlon, lon0 + dlon),
            )
            .group_by(ServiceAtLocation.service_id)
            .subquery()
        )
        premises = col(Service.id).in_(
            select(ServiceAtLocation.service_id)
            .join(Location, col(Location.id) == ServiceAtLocation.location_id)
            .where(col(Location.location_type) != "virtual")
        )
        statement = statement.outerjoin(nearby, nearby.c.service_id == Service.id)
        conditions.append(
            or_(
                and_(col(nearby.c.d2).is_not(None), nearby.c.d2 <= query.radius_km * query.radius_km),
                ~premises,
            )
        )
        distance_column = nearby.c.d2

    statement = statement.where(*conditions)
    total = int(session.exec(select(func.count()).select_from(statement.subquery())).one())

    order: list[Any] = []
    if distance_column is not None:
        order += [col(distance_column).is_(None), func.coalesce(distance_column, literal(0.0, Float))]
    if score_column is not None:
        order.append(score_column)
    order += [Service.name, Service.id]
    ids = list(session.execute(statement.order_by(*order).offset(query.offset).limit(query.limit)).scalars())

    services = {s.id: s for s in session.exec(select(Service).where(col(Service.id).in_(ids))).all()}
    codes = category_codes(session=session, service_ids=ids)
    # One query each for the hits' texts and premises, not one per hit.
    texts: dict[str, ServiceSearch] = {}
    if words and ids:
        rows = session.exec(select(ServiceSearch).where(col(ServiceSearch.service_id).in_(ids))).all()
        texts = {row.service_id: row for row in rows}
    premises_of: dict[str, list[Location]] = {sid: [] for sid in ids}
    if point is not None and ids:
        for sid, loc in session.exec(
            select(ServiceAtLocation.service_id, Location)
            .join(Location, col(Location.id) == ServiceAtLocation.location_id)
            .where(col(ServiceAtLocation.service_id).in_(ids), col(Location.location_type) != "virtual")
        ).all():
            premises_of[sid].append(loc)
    hits = [
        _explain(services[sid], codes[sid], query, words, category_ids, at, point, texts.get(sid), premises_of[sid])
        for sid in ids
        if sid in services
    ]
    return ServicePage(hits=hits, total=total, offset=query.offset, limit=query.limit, place=point)


def _word_in(word: str, text_value: str) -> bool:
    stem = word[: max(4, len(word) - 2)] if len(word) > 4 else word
    return any(token.startswith(stem) for token in fulltext.query_words(text_value or "") or [])


def _explain(
    service: Service,
    codes: list[str],
    query: ServiceQuery,
    words: list[str],
    category_ids: dict[str, str],
    at: datetime,
    point: places.Point | None,
    row: ServiceSearch | None,
    locs: list[Location],
) -> ServiceHit:
    """Why a hit matched, in words a social prescriber can check."""
    reasons: list[str] = []
    if words and row is not None:
        fields = [("name", row.name), ("category", row.taxonomy), ("organisation", row.organization)]
        fields.append(("description", row.description))
        where = [label for label, value in fields if any(_word_in(w, value) for w in words)]
        reasons.append(f"'{query.text}' found in " + (", ".join(where) if where else "the record"))
    matched_categories = [c for c in codes if c in category_ids]
    if matched_categories:
        prefix = f"meets need {query.need}: " if query.need else ""
        reasons.append(prefix + "category " + ", ".join(matched_categories))
    if query.age is not None:
        lo = service.minimum_age if service.minimum_age is not None else 0
        hi = f"{service.maximum_age}" if service.maximum_age is not None else "any age"
        reasons.append(
            f"age {query.age} is within {lo}–{hi}" if service.maximum_age is not None else f"age {query.age}: from {lo}"
        )
    if query.delivery:
        reasons.append(f"offered {DELIVERY[query.delivery]}")
    if query.language:
        reasons.append(f"offered in language {query.language}")
    if query.free:
        reasons.append("free of charge")
    if query.open_now:
        reasons.append(f"open now ({at.strftime('%a %H:%M')})")
    if query.ward_code:
        reasons.append(f"serves ward {query.ward_code}")

    distance = None
    no_premises = False
    if point is not None:
        located = [loc for loc in locs if loc.latitude is not None and loc.longitude is not None]
        if located:
            distance = round(
                min(
                    places.distance_km(point.latitude, point.longitude, loc.latitude or 0.0, loc.longitude or 0.0)
                    for loc in located
                ),  # type: ignore[arg-type]
                2,
            )
            reasons.append(f"{distance:.1f} km from {point.postcode}")
        else:
            no_premises = True
            how = [DELIVERY[m] for m, on in (("phone", service.by_phone), ("online", service.online)) if on]
            reasons.append("no premises: offered " + (" and ".join(how) if how else "without a place to visit"))
    if not reasons:
        reasons.append("matches the filters given" if (query.statuses != ["active"]) else "active service")
    if service.assured_date is None:
        reasons.append("unverified: not yet checked by the directory team")
    return ServiceHit(service, reasons, distance, no_premises, codes)


def organization_names(session: Session, ids: list[str]) -> dict[str, str]:
    return dict(session.exec(select(Organization.id, Organization.name).where(col(Organization.id).in_(ids))).all())
