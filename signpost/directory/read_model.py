"""The directory as its readers see it: a service with what is listed about it, read for a whole page at once.

A reader that shows many services (FHIR HealthcareService search) reads each related table once for the page,
not once per service.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from signpost.directory.models import (
    Language,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.service import CATEGORY_TAXONOMY


@dataclass
class ServiceView:
    """One service and what is listed about it, each list in the order it is shown."""

    service: Service
    categories: list[TaxonomyTerm] = field(default_factory=list)  # by code
    location_ids: list[str] = field(default_factory=list)  # by id
    phones: list[str] = field(default_factory=list)  # as entered
    languages: list[Language] = field(default_factory=list)  # by code
    schedules: list[Schedule] = field(default_factory=list)  # as entered


def views(*, session: Session, services: Sequence[Service]) -> list[ServiceView]:
    """The services, each with its categories, locations, phones, languages and opening times: five queries in all."""
    found = {s.id: ServiceView(s) for s in services}
    ids = list(found)
    if not ids:
        return []
    for service_id, term in session.exec(
        select(ServiceTaxonomy.service_id, TaxonomyTerm)
        .join(ServiceTaxonomy, col(ServiceTaxonomy.taxonomy_term_id) == TaxonomyTerm.id)
        .where(col(ServiceTaxonomy.service_id).in_(ids), col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
        .order_by(TaxonomyTerm.code)
    ).all():
        found[service_id].categories.append(term)
    for service_id, location_id in session.exec(
        select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
        .where(col(ServiceAtLocation.service_id).in_(ids))
        .order_by(ServiceAtLocation.location_id)
    ).all():
        found[service_id].location_ids.append(location_id)
    for phone in session.exec(select(Phone).where(col(Phone.service_id).in_(ids)).order_by(Phone.id)).all():
        found[phone.service_id].phones.append(phone.number)
    for language in session.exec(
        select(Language).where(col(Language.service_id).in_(ids)).order_by(Language.code)
    ).all():
        found[language.service_id].languages.append(language)
    for schedule in session.exec(select(Schedule).where(col(Schedule.service_id).in_(ids)).order_by(Schedule.id)).all():
        found[schedule.service_id].schedules.append(schedule)
    return [found[s.id] for s in services]
