"""Signposts and referrals recorded by social prescribers: checked, made anonymous, counted once."""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlmodel import Session

from signpost.errors import Problem
from signpost.events import vocabulary
from signpost.events.schemas import SignpostCreate
from signpost.events.service import NewEvent, key_hmac, record


def service_categories(*, session: Session, service_ids: list[str]) -> dict[str, list[str]]:
    """service id -> its service-category codes, for the ids the directory holds (unknown ids are absent)."""
    from signpost.directory.models import Service, ServiceTaxonomy, TaxonomyTerm

    services = Service.__table__.c  # type: ignore[attr-defined]
    links = ServiceTaxonomy.__table__.c  # type: ignore[attr-defined]
    term_table = TaxonomyTerm.__table__  # type: ignore[attr-defined]
    terms = term_table.c
    found: dict[str, list[str]] = {
        sid: [] for sid in session.execute(select(services.id).where(services.id.in_(service_ids))).scalars()
    }
    rows = session.execute(
        select(links.service_id, terms.code)
        .join(term_table, terms.id == links.taxonomy_term_id)
        .where(links.service_id.in_(list(found)), terms.taxonomy == "service-category")
    )
    for service_id, code in rows:
        found[service_id].append(code)
    return found


def category_for(need: str, offered: list[list[str]]) -> str | None:
    """The category an event counts under: the need's preferred category among the services' taxonomy."""
    held = [code for codes in offered for code in sorted(codes)]
    for preferred in vocabulary.categories_for_need().get(need, ()):
        if preferred in held:
            return preferred
    return held[0] if held else None


def _place(session: Session, postcode: str | None, birth_date: date | None, on: date) -> dict[str, object]:
    """Coarse attributes from the identifying ones, computed in memory; the inputs go no further."""
    from signpost.geography import service as geography

    found: dict[str, object] = {"age_band": "unknown"}
    if postcode:
        try:
            normalised = geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            raise Problem(
                422, "postcode is not a UK postcode.", errors=[{"loc": "postcode", "message": "not a UK postcode"}]
            ) from None
        place = geography.resolve(session, normalised)
        found.update(
            ward_code=place.ward_code,
            ward_vintage=place.ward_vintage,
            imd_decile=place.imd_decile,
            imd_year=place.imd_year,
        )
    if birth_date:
        if birth_date > on:
            raise Problem(
                422,
                "birth_date is after the day of the signpost.",
                errors=[{"loc": "birth_date", "message": "after occurred_on"}],
            )
        found["age_band"] = geography.age_band(birth_date, on)
    return found


def record_signpost(
    *, session: Session, data: SignpostCreate, idempotency_key: str, scope: str, secret_key: str
) -> tuple[int, bool]:
    """Check and record one prescriber submission; (events, replayed). The caller commits."""
    today = datetime.now(UTC).date()
    occurred_on = data.occurred_on or today
    errors = []
    if occurred_on > today:
        errors.append({"loc": "occurred_on", "message": "is in the future"})
    known_needs = set(vocabulary.need_codes())
    needs = list(dict.fromkeys(data.needs))
    errors += [
        {"loc": f"needs[{i}]", "message": f"unknown need code '{code}'"}
        for i, code in enumerate(data.needs)
        if code not in known_needs
    ]
    services = list(dict.fromkeys(data.services))
    categories = service_categories(session=session, service_ids=services)
    errors += [
        {"loc": f"services[{i}]", "message": f"unknown service '{sid}'"}
        for i, sid in enumerate(data.services)
        if sid not in categories
    ]
    if errors:
        raise Problem(422, "; ".join(f"{e['loc']}: {e['message']}" for e in errors), errors=errors)
    place = _place(session, data.postcode, data.birth_date, occurred_on)
    offered = [categories[sid] for sid in services]
    events = [
        NewEvent(
            occurred_on=occurred_on,
            kind=data.kind,
            source="prescriber",
            need_code=need,
            category_code=category_for(need, offered),
            services_offered=services,
            practice_ods=data.practice_ods.upper() if data.practice_ods else None,
            **place,  # type: ignore[arg-type]
        )
        for need in needs
    ]
    key = key_hmac(secret_key, scope, idempotency_key)
    fresh = record(session=session, key=key, source="prescriber", events=events)
    return len(events), not fresh
