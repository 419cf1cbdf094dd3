"""Directory search: full text with ranking, filters, proximity, paging, and why each hit matched.

`search_services(session=, query=ServiceQuery(...)) -> ServicePage` is what routing and the API call.
Filters read `service_facet` (one narrow row per service, kept by triggers; see `fulltext`), so a search
touches one table besides the full-text index, and only the services that pass are ranked, sorted and counted.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Float, and_, bindparam, case, column, func, literal, literal_column, or_, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from signpost.directory import fulltext, places
from signpost.directory.models import (
    HolidaySchedule,
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceFacet,
    ServiceFacetCategory,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.schemas import WEEKDAYS
from signpost.directory.service import CATEGORY_TAXONOMY
from signpost.errors import Problem
from signpost.template import conformance

UK = ZoneInfo("Europe/London")
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
    # The areas whose city-wide services a ward search keeps when local_authority is not given (the deployment's).
    local_authorities: list[str] = field(default_factory=list)
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


def need_categories(need: str) -> list[str]:
    """The service categories a need routes to, from the need→category ConceptMap; 422 if unknown."""
    mapping = conformance.need_categories()
    if not mapping:
        raise Problem(503, "The need-to-category map is not installed; search by category instead.")
    if need not in mapping:
        raise _bad("need", f"unknown need {need!r}")
    return list(mapping[need])


def _category_ids(session: Session, codes: list[str], loc: str) -> dict[str, str]:
    if not codes:
        return {}
    terms = dict(session.execute(_CATEGORY_IDS, {"codes": codes}).tuples().all())
    for code in codes:
        if code not in terms:
            raise _bad(loc, f"unknown category {code!r}")
    return terms


_CATEGORY_IDS = select(TaxonomyTerm.code, TaxonomyTerm.id).where(
    col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY, col(TaxonomyTerm.code).in_(bindparam("codes", expanding=True))
)


@dataclass(frozen=True)
class _Shape:
    """What decides a search statement's SQL; its values are bound apart (`_values`), so one built statement, with
    its cache key, serves every search of that shape."""

    dialect: str
    include_retired: bool
    statuses: bool
    categories: bool
    age: bool
    delivery: str | None
    free: bool
    language: bool
    open_now: bool
    ward: bool
    words: bool
    point: bool


@dataclass(frozen=True)
class _Statements:
    page: Select[Any]  # the page's service ids
    count: Select[Any]  # how many match
    page_and_count: Select[Any]  # both in one pass


def _shape(dialect: str, query: ServiceQuery, category_ids: dict[str, str], words: list[str], point: bool) -> _Shape:
    return _Shape(
        dialect=dialect,
        include_retired=query.include_retired,
        statuses=bool(query.statuses),
        categories=bool(category_ids),
        age=query.age is not None,
        delivery=query.delivery,
        free=bool(query.free),
        language=bool(query.language),
        open_now=query.open_now,
        ward=bool(query.ward_code),
        words=bool(words),
        point=point,
    )


def _values(
    shape: _Shape,
    query: ServiceQuery,
    category_ids: dict[str, str],
    at: datetime,
    words: list[str],
    point: places.Point | None,
) -> dict[str, Any]:
    """The values the statement of `shape` binds, by name."""
    values: dict[str, Any] = {"offset": query.offset, "limit": query.limit}
    if shape.statuses:
        values["statuses"] = query.statuses
    if shape.categories and (shape.dialect != "sqlite" or not words):  # else the words' MATCH names them
        values["category_ids"] = list(category_ids.values())
    if shape.age:
        values["age"] = query.age
    if shape.language:
        values["language"] = (query.language or "").strip().lower()
    if shape.open_now:
        values.update(weekday=WEEKDAYS[at.weekday()], moment=at.time().replace(microsecond=0), day=at.date())
    if shape.ward:
        values["ward"] = query.ward_code
        values["authorities"] = [query.local_authority] if query.local_authority else query.local_authorities
    if point is not None:
        lat0, lon0 = point.latitude, point.longitude
        kx = KM_PER_DEGREE * math.cos(math.radians(lat0))
        dlat, dlon = query.radius_km / KM_PER_DEGREE, query.radius_km / kx
        values.update(
            lat0=lat0,
            lon0=lon0,
            kx=kx,
            lat_low=lat0 - dlat,
            lat_high=lat0 + dlat,
            lon_low=lon0 - dlon,
            lon_high=lon0 + dlon,
            radius_squared=query.radius_km * query.radius_km,
        )
    if words:
        if shape.dialect == "sqlite":
            values["match"] = fulltext.fts5_match(words, category_ids.values())
        else:
            values["tsquery"] = fulltext.pg_tsquery(words)
    return values


@lru_cache(maxsize=256)
def _statements(shape: _Shape) -> _Statements:
    """The search statements of one shape, built once: building the main one took 2 ms of a combined search's 11
    (bench/README.md, "Directory search: statements built once")."""
    conditions = _conditions(shape)
    narrowed = shape.point or len(conditions) > (not shape.include_retired) + shape.statuses
    matched = _matches(shape, conditions, narrowed).subquery()
    where: list[Any] = []
    order: list[Any] = []
    if shape.point:
        # Within the radius, or no premises at all (phone and online services serve everyone).
        where.append(or_(matched.c.d2 <= bindparam("radius_squared"), matched.c.premises.is_(False)))
        order += [matched.c.d2.is_(None), func.coalesce(matched.c.d2, literal(0.0, Float))]
    if shape.words:
        order.append(matched.c.score)
    order += [matched.c.name, matched.c.service_id]
    page = (
        select(matched.c.service_id)
        .where(*where)
        .order_by(*order)
        .offset(bindparam("offset", type_=sa.Integer))
        .limit(bindparam("limit", type_=sa.Integer))
    )
    count = select(func.count()).select_from(matched).where(*where)
    return _Statements(page=page, count=count, page_and_count=page.add_columns(func.count().over()))


def _conditions(shape: _Shape) -> list[Any]:
    """The filters as conditions on `service_facet` (and, for the rarer ones, subqueries keyed on its service_id)."""
    facet_service = col(ServiceFacet.service_id)
    conditions: list[Any] = []
    if not shape.include_retired:
        conditions.append(col(ServiceFacet.retired).is_(False))
    if shape.statuses:
        conditions.append(col(ServiceFacet.status).in_(bindparam("statuses", expanding=True)))
    if shape.categories:
        # A search for one of several categories needs only one of them.
        if shape.dialect == "sqlite":
            # With words, the full-text expression names the categories too (`_matches`). Without, the facets'
            # row ids from one index range of the links.
            if not shape.words:
                linked = select(ServiceFacetCategory.facet_id).where(
                    col(ServiceFacetCategory.taxonomy_term_id).in_(bindparam("category_ids", expanding=True))
                )
                conditions.append(col(ServiceFacet.id).in_(linked))
        else:
            # `categories` holds " id id ", under a GIN index of its array.
            array = postgresql.ARRAY(sa.Text)
            wanted = sa.cast(bindparam("category_ids", type_=array), array)
            conditions.append(literal_column(fulltext.PG_CATEGORIES).op("&&")(wanted))
    if shape.age:
        minimum, maximum = col(ServiceFacet.minimum_age), col(ServiceFacet.maximum_age)
        conditions.append(or_(minimum.is_(None), minimum <= bindparam("age", type_=sa.Integer)))
        conditions.append(or_(maximum.is_(None), maximum >= bindparam("age", type_=sa.Integer)))
    if shape.delivery:
        flag = {"in_person": ServiceFacet.in_person, "phone": ServiceFacet.by_phone, "online": ServiceFacet.online}
        conditions.append(col(flag[shape.delivery]).is_(True))
    if shape.free:
        conditions.append(col(ServiceFacet.free).is_(True))
    if shape.language:
        spoken = select(Language.service_id).where(func.lower(Language.code) == bindparam("language", type_=sa.String))
        conditions.append(facet_service.in_(spoken))
    if shape.open_now:
        moment, day = bindparam("moment", type_=sa.Time), bindparam("day", type_=sa.Date)
        regular = select(Schedule.service_id).where(
            col(Schedule.byday) == bindparam("weekday", type_=sa.String),
            col(Schedule.opens_at) <= moment,
            col(Schedule.closes_at) > moment,
        )
        # A holiday or special opening covering today replaces the day's regular hours; a closure wins.
        today = (col(HolidaySchedule.valid_from) <= day, col(HolidaySchedule.valid_to) >= day)
        excepted = select(HolidaySchedule.service_id).where(*today)
        closed = select(HolidaySchedule.service_id).where(*today, col(HolidaySchedule.closed).is_(True))
        special = select(HolidaySchedule.service_id).where(
            *today,
            col(HolidaySchedule.closed).is_(False),
            col(HolidaySchedule.opens_at) <= moment,
            col(HolidaySchedule.closes_at) > moment,
        )
        conditions.append(
            or_(
                and_(facet_service.in_(regular), facet_service.not_in(excepted)),
                and_(facet_service.in_(special), facet_service.not_in(closed)),
            )
        )
    if shape.ward:
        authorities: Any = bindparam("authorities", expanding=True)
        conditions.append(
            facet_service.in_(
                select(ServiceArea.service_id).where(
                    or_(
                        col(ServiceArea.scope) == "national",
                        and_(col(ServiceArea.scope) == "ward", col(ServiceArea.area_code) == bindparam("ward")),
                        and_(col(ServiceArea.scope) == "local_authority", col(ServiceArea.area_code).in_(authorities)),
                    )
                )
            )
        )
    return conditions


def _squared_km(latitude: Any, longitude: Any) -> Any:
    """Equirectangular squared distance from the bound point (lat0, lon0; kx: km per degree of longitude there):
    exact enough to order and bound within 200 km (shown figures use haversine)."""
    lat0, lon0, kx = (bindparam(name, type_=Float) for name in ("lat0", "lon0", "kx"))
    north, east = (latitude - lat0) * KM_PER_DEGREE, (longitude - lon0) * kx
    return north * north + east * east


def _nearest_squared() -> Any:
    """The squared distance to the service's nearest location inside the radius's bounding box (bound as lat_low,
    lat_high, lon_low, lon_high), else NULL.

    The facet's bounding box of the service's locations settles most services without a look-up: none inside
    the box is NULL, and a single point is its own nearest location; only services with several places ask
    `location`.
    """
    lat_low, lat_high, lon_low, lon_high = (
        bindparam(name, type_=Float) for name in ("lat_low", "lat_high", "lon_low", "lon_high")
    )
    latitude, longitude = col(Location.latitude), col(Location.longitude)
    overlaps = and_(
        col(ServiceFacet.max_latitude) >= lat_low,
        col(ServiceFacet.min_latitude) <= lat_high,
        col(ServiceFacet.max_longitude) >= lon_low,
        col(ServiceFacet.min_longitude) <= lon_high,
    )
    one_place = and_(
        col(ServiceFacet.min_latitude) == col(ServiceFacet.max_latitude),
        col(ServiceFacet.min_longitude) == col(ServiceFacet.max_longitude),
    )
    nearest = (
        select(func.min(_squared_km(latitude, longitude)))
        .select_from(ServiceAtLocation)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .where(
            col(ServiceAtLocation.service_id) == ServiceFacet.service_id,
            latitude.between(lat_low, lat_high),
            longitude.between(lon_low, lon_high),
        )
        .scalar_subquery()
    )
    alone = _squared_km(col(ServiceFacet.min_latitude), col(ServiceFacet.min_longitude))
    return case(
        (and_(overlaps, one_place), alone),
        (overlaps, nearest),
        else_=literal(None, Float),
    )


def _matches(shape: _Shape, conditions: list[Any], narrowed: bool) -> Select[Any]:
    """(service_id, name, d2, premises, score) of every service that passes the filters and the text.

    With words, SQLite walks the full-text matches (of the words and of any category asked for, in one FTS5
    expression) and reads each one's facet row by its integer id, scoring (bm25) only those that pass. PostgreSQL
    does the same when only the status filters apply; when the query is `narrowed` by other filters it filters the
    facets first and then checks and ranks the text of those left. Neither counts, sorts or ranks more than the
    filters let through.
    """
    d2: Any = _nearest_squared() if shape.point else literal(None, Float)
    facet = [
        col(ServiceFacet.id),
        col(ServiceFacet.service_id),
        col(ServiceFacet.name),
        col(ServiceFacet.premises),
        d2.label("d2"),
    ]
    if not shape.words:
        return sa.select(*facet, literal(None, Float).label("score")).where(*conditions)
    if shape.dialect == "sqlite":
        fts = table("service_fts", column("rowid"))
        score: Any = literal_column("bm25(service_fts, 10.0, 1.0, 3.0, 5.0, 0.0)")  # the term words weigh nothing
        return (
            sa.select(*facet, score.label("score"))
            .select_from(fts)
            .join(ServiceFacet, col(ServiceFacet.id) == fts.c.rowid)
            .where(literal_column("service_fts").op("MATCH")(bindparam("match", type_=sa.String)), *conditions)
        )
    query = func.to_tsquery("english", bindparam("tsquery", type_=sa.String))
    vector: Any = literal_column(fulltext.PG_VECTOR)
    weights: Any = literal_column("'{0.1, 0.2, 0.4, 1.0}'::float4[]")
    rank = (-func.ts_rank(weights, vector, query)).label("score")
    if not narrowed:
        return (
            sa.select(*facet, rank)
            .select_from(ServiceSearch)
            .join(ServiceFacet, col(ServiceFacet.id) == ServiceSearch.id)
            .where(vector.op("@@")(query), *conditions)
        )
    # A LATERAL look-up of each filtered service's text (LIMIT 1 stops PostgreSQL flattening it into a join), not
    # a hash of every text match: the planner cannot estimate how many a prefix query matches.
    filtered = sa.select(*facet).where(*conditions).cte("filtered").prefix_with("MATERIALIZED")
    ranked = (
        sa.select(rank).where(col(ServiceSearch.id) == filtered.c.id, vector.op("@@")(query)).limit(1).lateral("ranked")
    )
    return sa.select(
        filtered.c.id,
        filtered.c.service_id,
        filtered.c.name,
        filtered.c.premises,
        filtered.c.d2,
        ranked.c.score,
    ).select_from(filtered.join(ranked, sa.true()))


def search_services(*, session: Session, query: ServiceQuery) -> ServicePage:
    """Services matching the query, best first (nearest first when a postcode is given), with reasons."""
    categories = list(query.categories)
    need_codes: list[str] = []
    if query.need:
        need_codes = need_categories(query.need)
    wanted = list(dict.fromkeys(categories + need_codes))
    category_ids: dict[str, str] = {}
    if wanted:
        category_ids = _category_ids(session, categories, "category")
        category_ids.update(_category_ids(session, need_codes, "need"))
    if query.age is not None and (query.age < 0 or query.age > 130):
        raise _bad("age", "must be between 0 and 130")
    if query.delivery and query.delivery not in DELIVERY:
        raise _bad("delivery", "must be in_person, phone or online")
    at = (query.at or datetime.now(UK)).astimezone(UK)

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

    words = fulltext.query_words(query.text or "")
    if query.text and not words:
        raise _bad("text", "has no words to search for")

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The per-service distance subquery lifts the planner's estimate over JIT's threshold, and compiling costs
        # far more than the query (bench/README.md). LOCAL: this transaction only.
        session.execute(text("SET LOCAL jit = off"))
    shape = _shape(dialect, query, category_ids, words, point is not None)
    statements = _statements(shape)
    values = _values(shape, query, category_ids, at, words, point)
    if words or dialect != "sqlite":
        # One pass gives the page and the total: the text is matched (and the facets filtered) once.
        rows = session.execute(statements.page_and_count, values).all()
        ids = [row[0] for row in rows]
        total = int(rows[0][1]) if rows else int(session.execute(statements.count, values).scalar_one())  # past the end
    else:
        # Without text SQLite is quicker in two passes: a count, then a sort that keeps only the page's rows.
        total = int(session.execute(statements.count, values).scalar_one())
        ids = list(session.execute(statements.page, values).scalars())

    if not ids:
        return ServicePage(hits=[], total=total, offset=query.offset, limit=query.limit, place=point)
    # One query each for the hits, their categories and their premises, not one per hit. With words, each hit's
    # text (which says where the words matched) comes with it.
    texts: dict[str, ServiceSearch] = {}
    if words:
        found = session.exec(_HITS_AND_TEXTS, params={"ids": ids}).all()
        services = {service.id: service for service, _ in found}
        texts = {service.id: words_at for service, words_at in found if words_at is not None}
    else:
        services = {s.id: s for s in session.exec(_HITS, params={"ids": ids}).all()}
    codes = _hit_categories(session, ids)
    premises_of: dict[str, list[Location]] = {sid: [] for sid in ids}
    if point is not None:
        for sid, loc in session.exec(_PREMISES, params={"ids": ids}).all():
            premises_of[sid].append(loc)
    starts = _word_starts(words)
    hits = [
        _explain(services[sid], codes[sid], query, starts, category_ids, at, point, texts.get(sid), premises_of[sid])
        for sid in ids
        if sid in services
    ]
    return ServicePage(hits=hits, total=total, offset=query.offset, limit=query.limit, place=point)


# The statements that read a page's hits, built once (see `_statements`).
_HITS = select(Service).where(col(Service.id).in_(bindparam("ids", expanding=True)))
_HITS_AND_TEXTS = (
    select(Service, ServiceSearch)
    .outerjoin(ServiceSearch, col(ServiceSearch.service_id) == Service.id)
    .where(col(Service.id).in_(bindparam("ids", expanding=True)))
)
_PREMISES = (
    select(ServiceAtLocation.service_id, Location)
    .join(Location, col(Location.id) == ServiceAtLocation.location_id)
    .where(
        col(ServiceAtLocation.service_id).in_(bindparam("ids", expanding=True)),
        col(Location.location_type) != "virtual",
    )
)
_LINKS = select(ServiceTaxonomy.service_id, ServiceTaxonomy.taxonomy_term_id).where(
    col(ServiceTaxonomy.service_id).in_(bindparam("ids", expanding=True))
)
_CATEGORY_TERMS = (
    select(TaxonomyTerm.id, TaxonomyTerm.code)
    .where(
        col(TaxonomyTerm.id).in_(bindparam("terms", expanding=True)), col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY
    )
    .order_by(TaxonomyTerm.code)
)


def _hit_categories(session: Session, ids: list[str]) -> dict[str, list[str]]:
    """Each hit's category codes, as `directory.category_codes` gives them, read from the hits' links outwards.

    (Joined the other way round, SQLite walks every link of every category term to find twenty services.)
    """
    out: dict[str, list[str]] = {sid: [] for sid in ids}
    links = session.exec(_LINKS, params={"ids": ids}).all()
    if not links:
        return out
    terms = session.exec(_CATEGORY_TERMS, params={"terms": list({term for _, term in links})}).all()
    rank = {term: i for i, (term, _) in enumerate(terms)}
    code = dict(terms)
    for sid, term in sorted((link for link in links if link[1] in rank), key=lambda link: rank[link[1]]):
        out[sid].append(code[term])
    return out


def _word_starts(words: list[str]) -> list[re.Pattern[str]]:
    """For each searched word, a pattern that finds a word of a lower-cased text beginning as it does: the full-text
    index's prefix match, give or take its stemming (the stem drops up to two letters of a longer word)."""
    stems = (word[: max(4, len(word) - 2)] if len(word) > 4 else word for word in words)
    return [re.compile(r"\b" + re.escape(stem)) for stem in stems]


def _explain(
    service: Service,
    codes: list[str],
    query: ServiceQuery,
    starts: list[re.Pattern[str]],
    category_ids: dict[str, str],
    at: datetime,
    point: places.Point | None,
    row: ServiceSearch | None,
    locs: list[Location],
) -> ServiceHit:
    """Why a hit matched, in words a social prescriber can check."""
    reasons: list[str] = []
    if starts and row is not None:
        fields = [("name", row.name), ("category", row.taxonomy), ("organisation", row.organization)]
        fields.append(("description", row.description))
        lowered = [(label, (value or "").lower()) for label, value in fields]
        where = [label for label, value in lowered if any(start.search(value) for start in starts)]
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
