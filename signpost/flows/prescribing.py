"""Prescribing: signposts and referrals made by social prescribers, checked, made anonymous and counted once; a
referral also checks the offer and issues a token."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlmodel import Session

from signpost import db
from signpost.auth.service import Actor
from signpost.config import Settings
from signpost.directory import capacity as directory_capacity
from signpost.directory import service as directory
from signpost.directory.models import Service, ServiceTaxonomy, TaxonomyTerm
from signpost.errors import Problem
from signpost.events import vocabulary
from signpost.events.models import NewEvent
from signpost.events.recorder import Recorder
from signpost.events.schemas import SignpostBatchItem, SignpostCreate
from signpost.events.service import key_hmac, record_many
from signpost.geography import service as geography
from signpost.ods import service as ods
from signpost.referrals import notices
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral
from signpost.template import conformance

# A batch's problem JSON lists every error; its one-line detail names the first few.
_ERRORS_IN_DETAIL = 10


@lru_cache
def _categories_query() -> Select:  # type: ignore[type-arg]
    """Each asked-for service that exists, with each of its service-category codes (None when it has none)."""
    services = Service.__table__  # type: ignore[attr-defined]
    links = ServiceTaxonomy.__table__  # type: ignore[attr-defined]
    terms = TaxonomyTerm.__table__  # type: ignore[attr-defined]
    return (
        select(services.c.id, terms.c.code)
        .select_from(services)
        .outerjoin(links, links.c.service_id == services.c.id)
        .outerjoin(terms, and_(terms.c.id == links.c.taxonomy_term_id, terms.c.taxonomy == "service-category"))
        .where(services.c.id.in_(bindparam("ids", expanding=True)))
    )


def service_categories(*, session: Session, service_ids: list[str]) -> dict[str, list[str]]:
    """service id -> its service-category codes, for the ids the directory holds (unknown ids are absent)."""
    found: dict[str, list[str]] = {}
    # One query, built once: this runs on every signpost recorded.
    for service_id, code in session.connection().execute(_categories_query(), {"ids": service_ids}):
        codes = found.setdefault(service_id, [])
        if code is not None:
            codes.append(code)
    return found


def category_for(need: str, offered: list[list[str]]) -> str | None:
    """The category an event counts under: the need's preferred category among the services' taxonomy."""
    held = [code for codes in offered for code in sorted(codes)]
    for preferred in conformance.need_categories().get(need, ()):
        if preferred in held:
            return preferred
    return held[0] if held else None


def _place(
    session: Session, postcode: str | None, birth_date: date | None, on: date
) -> tuple[dict[str, object], list[dict[str, str]]]:
    """Coarse attributes from the identifying ones, computed in memory (the inputs go no further), and errors."""
    found: dict[str, object] = {"age_band": "unknown"}
    errors = []
    if postcode:
        try:
            normalised = geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            errors.append({"loc": "postcode", "message": "not a UK postcode"})
        else:
            place = geography.resolve(session, normalised)
            found.update(
                ward_code=place.ward_code,
                ward_vintage=place.ward_vintage,
                imd_decile=place.imd_decile,
                imd_year=place.imd_year,
            )
    if birth_date:
        if birth_date > on:
            errors.append({"loc": "birth_date", "message": "after occurred_on"})
        else:
            found["age_band"] = geography.age_band(birth_date, on)
    return found, errors


def _events(
    *, session: Session, data: SignpostCreate, categories: dict[str, list[str]], today: date
) -> tuple[list[NewEvent], list[dict[str, str]]]:
    """The anonymised events one signposting counts as (one per need), or the errors that stop it."""
    occurred_on = data.occurred_on or today
    errors = []
    if occurred_on > today:
        errors.append({"loc": "occurred_on", "message": "is in the future"})
    known_needs = vocabulary.need_codes()
    errors += [
        {"loc": f"needs[{i}]", "message": f"unknown need code '{code}'"}
        for i, code in enumerate(data.needs)
        if code not in known_needs
    ]
    errors += [
        {"loc": f"services[{i}]", "message": f"unknown service '{sid}'"}
        for i, sid in enumerate(data.services)
        if sid not in categories
    ]
    if data.practice_ods and (problem := ods.practice_problem(session=session, code=data.practice_ods)):
        errors.append({"loc": "practice_ods", "message": problem})
    if errors:
        return [], errors
    place, errors = _place(session, data.postcode, data.birth_date, occurred_on)
    if errors:
        return [], errors
    services = list(dict.fromkeys(data.services))
    offered = [categories[sid] for sid in services]
    practice_ods = ods.normalise(data.practice_ods) if data.practice_ods else None
    return [
        NewEvent(
            occurred_on=occurred_on,
            kind=data.kind,
            source="prescriber",
            need_code=need,
            category_code=category_for(need, offered),
            services_offered=services,
            practice_ods=practice_ods,
            **place,  # type: ignore[arg-type]
        )
        for need in dict.fromkeys(data.needs)
    ], []


def _unprocessable(errors: list[dict[str, str]]) -> Problem:
    shown = "; ".join(f"{e['loc']}: {e['message']}" for e in errors[:_ERRORS_IN_DETAIL])
    more = len(errors) - _ERRORS_IN_DETAIL
    return Problem(422, shown + (f"; and {more} more" if more > 0 else ""), errors=errors)


def record_signpost(
    *, session: Session, data: SignpostCreate, idempotency_key: str, scope: str, secret_key: str
) -> tuple[int, bool]:
    """Check and record one prescriber submission; (events, replayed). The caller commits."""
    key, events = _checked(
        session=session, data=data, idempotency_key=idempotency_key, scope=scope, secret_key=secret_key
    )
    return _record(session, key, events)


async def signpost(
    *,
    session: Session,
    recorder: Recorder | None,
    data: SignpostCreate,
    idempotency_key: str,
    scope: str,
    secret_key: str,
) -> tuple[int, bool]:
    """`record_signpost` for an async route; committed by the time this returns; (events, replayed).

    The checks read the directory. On SQLite they run on the event loop (a read waits for no writer there) and the
    events go with other requests' in one commit (`recorder`: the app's; None outside its lifespan). On PostgreSQL
    the read needs a worker thread, and that thread writes and commits too: one trip, where the group commit would
    add a wait for a batch shared with `$signpost`'s (bench/README.md, "Soak").
    """

    def checked() -> tuple[str, list[NewEvent]]:
        return _checked(session=session, data=data, idempotency_key=idempotency_key, scope=scope, secret_key=secret_key)

    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if recorder is None or not recorder.reaches(session) or on_postgresql:
        return await db.run_and_commit(session, lambda: _record(session, *checked()))
    key, events = await db.run_reads(session, checked)
    fresh = await recorder.record(key=key, source="prescriber", events=events)
    return len(events), not fresh


def _record(session: Session, key: str, events: list[NewEvent]) -> tuple[int, bool]:
    """Store one checked submission; (events, replayed). The caller commits."""
    (fresh,) = record_many(session=session, source="prescriber", submissions=[(key, events)])
    return len(events), not fresh


def _checked(
    *, session: Session, data: SignpostCreate, idempotency_key: str, scope: str, secret_key: str
) -> tuple[str, list[NewEvent]]:
    """The submission's key and events, after every check (422 listing each problem); only reads the database."""
    categories = service_categories(session=session, service_ids=list(dict.fromkeys(data.services)))
    events, errors = _events(session=session, data=data, categories=categories, today=datetime.now(UTC).date())
    if errors:
        raise _unprocessable(errors)
    return key_hmac(secret_key, scope, idempotency_key), events


def record_signposts(
    *, session: Session, items: list[SignpostBatchItem], scope: str, secret_key: str
) -> list[tuple[int, bool]]:
    """Check a batch as a whole, then record every item or none; (events, replayed) per item. The caller commits.

    Each item is recognised on retry by its own key, in the same scope as the single form's Idempotency-Key.
    """
    errors: list[dict[str, Any]] = []
    first_at: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.idempotency_key in first_at:
            errors.append(
                {
                    "loc": f"signposts[{i}].idempotency_key",
                    "message": f"repeats the key of signposts[{first_at[item.idempotency_key]}]",
                }
            )
        first_at.setdefault(item.idempotency_key, i)
    # One directory query for the whole batch, not one per item.
    categories = service_categories(
        session=session, service_ids=list(dict.fromkeys(sid for item in items for sid in item.services))
    )
    today = datetime.now(UTC).date()
    submissions = []
    for i, item in enumerate(items):
        events, item_errors = _events(session=session, data=item, categories=categories, today=today)
        errors += [{"loc": f"signposts[{i}].{e['loc']}", "message": e["message"]} for e in item_errors]
        submissions.append((key_hmac(secret_key, scope, item.idempotency_key), events))
    if errors:
        raise _unprocessable(errors)
    fresh = record_many(session=session, source="prescriber", submissions=submissions)
    return [(len(events), not new) for (_, events), new in zip(submissions, fresh, strict=True)]


def coarse_place(*, session: Session, postcode: str | None, on: date) -> tuple[dict[str, object], list[dict[str, str]]]:
    """A postcode's ward and IMD decile (unknown when not held), worked out in memory; the postcode is not kept."""
    return _place(session, postcode, None, on)


@dataclass(frozen=True)
class Issued:
    """A referral just made, with the token the person takes to the provider (shown this once only)."""

    referral: Referral
    token: str
    service_name: str


def make_referral(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    service_id: str,
    need_code: str,
    postcode: str | None,
    source: str,
    on: date | None = None,
) -> Issued:
    """Refer to one service for one need: a 422 names what is wrong; a service not taking referrals is a 409."""
    on = on or referrals.today()
    errors = []
    if need_code not in vocabulary.need_codes():
        errors.append({"loc": "need", "message": f"unknown need code '{need_code}'"})
    try:
        service = directory.get_service(session=session, service_id=service_id)
    except Problem:
        errors.append({"loc": "service", "message": f"unknown service '{service_id}'"})
        service = None
    if errors:
        raise Problem(422, "; ".join(f"{e['loc']}: {e['message']}" for e in errors), errors=errors)
    assert service is not None
    if not directory.is_active(service):
        raise Problem(409, f"{service.name} is not active in the directory, so it cannot take referrals.")
    stated = directory_capacity.capacities(session=session, service_ids=[service.id]).get(service.id)
    if stated is not None and not stated.taking:
        raise Problem(409, f"{service.name} says it is not taking referrals (since {stated.set_on.isoformat()}).")
    # The postcode becomes a ward and decile here and goes no further (the same rule as a signposting event).
    place, place_errors = coarse_place(session=session, postcode=postcode, on=on)
    if place_errors:
        raise Problem(422, "postcode: not a UK postcode", errors=place_errors)
    categories = service_categories(session=session, service_ids=[service.id])
    data = referrals.NewReferral(
        service_id=service.id,
        organization_id=service.organization_id,
        need_code=need_code,
        category_code=category_for(need_code, [categories.get(service.id, [])]),
        ward_code=place.get("ward_code"),  # type: ignore[arg-type]
        ward_vintage=place.get("ward_vintage"),  # type: ignore[arg-type]
        imd_decile=place.get("imd_decile"),  # type: ignore[arg-type]
        imd_year=place.get("imd_year"),  # type: ignore[arg-type]
        practice_ods=actor.practice_ods,
        referrer=notices.referrer_of(actor),
        source=source,
    )
    referral, token = referrals.create(session=session, secret_key=settings.secret_key, data=data, on=on)
    # Retention without a scheduler: each new referral clears those closed longer ago than the period.
    referrals.purge(session=session, on=on, months=settings.referral_retention_months)
    return Issued(referral=referral, token=token, service_name=service.name)


@dataclass(frozen=True)
class Standing:
    """What a reader is told about services' referrals: stated capacity and reply time, by service id."""

    capacity: dict[str, directory_capacity.Capacity]
    reply_time: dict[str, referrals.ReplyTime]


def standing(*, session: Session, service_ids: list[str]) -> Standing:
    """Capacity and reply times for services shown in search and on their pages."""
    return Standing(
        capacity=directory_capacity.capacities(session=session, service_ids=service_ids),
        reply_time=referrals.reply_times(session=session, service_ids=service_ids, on=referrals.today()),
    )
