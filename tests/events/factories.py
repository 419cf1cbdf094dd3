"""Plain factory functions for the events and indicators tests."""

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from signpost import events
from signpost.events.models import EventSubmission, SignpostEvent


def make_directory_service(session: Session, *, category: str | None = "housing", name: str = "Advice Line") -> str:
    """A directory service (with its organisation and, optionally, one service-category term); returns its id."""
    from signpost.directory.models import Organization, Service, ServiceTaxonomy, TaxonomyTerm

    now = datetime.now(UTC)
    organisation = Organization(name=f"{name} Trust", last_modified=now)
    session.add(organisation)
    session.flush()
    service = Service(organization_id=organisation.id, name=name, created_at=now, last_modified=now)
    session.add(service)
    session.flush()
    if category:
        term = TaxonomyTerm(code=category, name=category.title(), taxonomy="service-category")
        session.add(term)
        session.flush()
        session.add(ServiceTaxonomy(service_id=service.id, taxonomy_term_id=term.id))
        session.flush()
    return service.id


def make_event(**overrides: object) -> events.NewEvent:
    """One anonymised event; any field may be overridden."""
    fields: dict[str, object] = {
        "occurred_on": date(2026, 10, 3),
        "kind": "signposted",
        "source": "template",
        "need_code": "homeless",
        "category_code": "homelessness",
        "ward_code": "E05011386",
        "ward_vintage": 2018,
        "imd_decile": 1,
        "imd_year": 2019,
        "age_band": "25-34",
        "practice_ods": "B86001",
    }
    fields.update(overrides)
    return events.NewEvent(**fields)  # type: ignore[arg-type]


def record_events(session: Session, new_events: list[events.NewEvent], *, key: str = "k") -> None:
    """Record events as one submission under a fresh key."""
    assert events.record(session=session, key=events.key_hmac("s", "test", key), source="template", events=new_events)


def stored(engine: Engine) -> tuple[int, int]:
    """How many submissions and events `engine`'s database holds, read on a connection of its own."""
    with Session(engine) as session:
        submissions = session.exec(select(func.count()).select_from(EventSubmission)).one()
        held = session.exec(select(func.count()).select_from(SignpostEvent)).one()
    return submissions, held
